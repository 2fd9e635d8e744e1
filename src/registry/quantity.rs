//! Kubernetes resource quantities (`resource.Quantity` of apimachinery).
//!
//! A quantity is a decimal number with an optional suffix: decimal SI (`m`, `k`, `M`, `G`…),
//! binary SI (`Ki`, `Mi`, `Gi`…) or a decimal exponent (`1e3`, `5E-2`). Values are kept exactly,
//! rounded up (away from zero) to nano precision like the real type, and print in the canonical
//! form the API server writes back (`0.5` → `500m`, `1024Mi` → `1Gi`, `1000` → `1k`), unless the
//! original text already was canonical, in which case it is kept as written.

use std::cmp::Ordering;
use std::fmt;

/// The regular expression the real parser quotes in its error.
const SPLIT_RE: &str = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$";

/// `quantities must match the regular expression '…'`.
pub fn format_error() -> String {
    format!("quantities must match the regular expression '{SPLIT_RE}'")
}

const ERR_NUMERIC: &str = "unable to parse numeric part of quantity";
const ERR_SUFFIX: &str = "unable to parse quantity's suffix";

/// The three ways a quantity can be written, which decide how it prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// `12e6`
    DecimalExponent,
    /// `12Mi` (powers of 1024)
    BinarySi,
    /// `12M` (powers of 1000)
    DecimalSi,
}

/// A parsed quantity: `mantissa × 10^exp`, with `exp >= -9` (nano precision).
#[derive(Clone, Debug)]
pub struct Quantity {
    mantissa: i128,
    exp: i32,
    format: Format,
    /// The text as written when it is already canonical (the real type keeps it).
    original: Option<String>,
}

/// Parse a quantity, with the real API server's error texts.
pub fn parse_quantity(s: &str) -> Result<Quantity, String> {
    Quantity::parse(s)
}

/// The pieces of a quantity string (`parseQuantityString`).
struct Parts<'a> {
    positive: bool,
    /// Sign, integer and fraction as written (`-012.50`).
    value: &'a str,
    /// Integer digits without leading zeros (`"0"` when none).
    num: &'a str,
    /// Fraction digits.
    denom: &'a str,
    suffix: &'a str,
}

fn split(s: &str) -> Result<Parts<'_>, String> {
    let b = s.as_bytes();
    let end = b.len();
    let mut positive = true;
    let mut pos = 0;
    if let Some(&c) = b.first() {
        if c == b'-' {
            positive = false;
            pos += 1;
        } else if c == b'+' {
            pos += 1;
        }
    }
    while pos < end && b[pos] == b'0' {
        pos += 1;
    }
    if pos >= end {
        return Ok(Parts { positive, value: "0", num: "0", denom: "", suffix: "" });
    }
    let num_start = pos;
    while pos < end && b[pos].is_ascii_digit() {
        pos += 1;
    }
    if pos >= end {
        return Ok(Parts { positive, value: s, num: &s[num_start..], denom: "", suffix: "" });
    }
    let num = if pos == num_start { "0" } else { &s[num_start..pos] };
    let mut denom = "";
    if b[pos] == b'.' {
        pos += 1;
        let denom_start = pos;
        while pos < end && b[pos].is_ascii_digit() {
            pos += 1;
        }
        if pos >= end {
            return Ok(Parts { positive, value: s, num, denom: &s[denom_start..], suffix: "" });
        }
        denom = &s[denom_start..pos];
    }
    let value = &s[..pos];
    let suffix_start = pos;
    while pos < end && b"eEinumkKMGTP".contains(&b[pos]) {
        pos += 1;
    }
    if pos < end && (b[pos] == b'-' || b[pos] == b'+') {
        pos += 1;
    }
    while pos < end && b[pos].is_ascii_digit() {
        pos += 1;
    }
    if pos < end {
        return Err(format_error());
    }
    Ok(Parts { positive, value, num, denom, suffix: &s[suffix_start..] })
}

/// `(base, exponent, format)` of a suffix.
fn interpret(suffix: &str) -> Option<(u32, i32, Format)> {
    let dec = |e| Some((10, e, Format::DecimalSi));
    let bin = |e| Some((2, e, Format::BinarySi));
    match suffix {
        "" => dec(0),
        "n" => dec(-9),
        "u" => dec(-6),
        "m" => dec(-3),
        "k" => dec(3),
        "M" => dec(6),
        "G" => dec(9),
        "T" => dec(12),
        "P" => dec(15),
        "E" => dec(18),
        "Ki" => bin(10),
        "Mi" => bin(20),
        "Gi" => bin(30),
        "Ti" => bin(40),
        "Pi" => bin(50),
        "Ei" => bin(60),
        _ => {
            let rest = suffix.strip_prefix(['e', 'E'])?;
            if rest.is_empty() {
                return None;
            }
            let e: i64 = go_parse_int(rest)?;
            let e = i32::try_from(e).ok()?;
            Some((10, e, Format::DecimalExponent))
        }
    }
}

/// `strconv.ParseInt(s, 10, 64)`: optional sign, decimal digits.
fn go_parse_int(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Parse a decimal string like `-012.50` into `(mantissa, exp10)`.
fn parse_decimal(value: &str) -> Option<(i128, i32)> {
    let (neg, body) = match value.as_bytes().first() {
        Some(b'-') => (true, &value[1..]),
        Some(b'+') => (false, &value[1..]),
        _ => (false, value),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut m: i128 = 0;
    for c in int.bytes().chain(frac.bytes()) {
        if !c.is_ascii_digit() {
            return None;
        }
        m = m.checked_mul(10)?.checked_add(i128::from(c - b'0'))?;
    }
    let exp = -i32::try_from(frac.len()).ok()?;
    Some((if neg { -m } else { m }, exp))
}

fn pow10(n: u32) -> Option<i128> {
    10i128.checked_pow(n)
}

/// Divide by `10^n`, rounding away from zero.
fn div_round_up(m: i128, n: u32) -> i128 {
    match pow10(n) {
        Some(d) => {
            let q = m / d;
            if m % d == 0 { q } else { q + m.signum() }
        }
        None => m.signum(),
    }
}

/// Strip trailing decimal zeros into the exponent.
fn normalize(mut m: i128, mut e: i32) -> (i128, i32) {
    if m == 0 {
        return (0, 0);
    }
    while m % 10 == 0 {
        m /= 10;
        e += 1;
    }
    (m, e)
}

/// The largest value a binary-SI quantity may hold (`2^63 - 1`).
const MAX_ALLOWED: i128 = i64::MAX as i128;

impl Quantity {
    /// Parse a quantity (`resource.ParseQuantity`).
    pub fn parse(s: &str) -> Result<Quantity, String> {
        if s.is_empty() {
            return Err(format_error());
        }
        if s == "0" {
            return Ok(Quantity { mantissa: 0, exp: 0, format: Format::DecimalSi, original: Some(s.into()) });
        }
        let parts = split(s)?;
        let (base, exponent, format) = interpret(parts.suffix).ok_or_else(|| ERR_SUFFIX.to_string())?;
        if let Some(q) = Self::parse_fast(s, &parts, exponent, format) {
            return Ok(q);
        }
        Self::parse_exact(&parts, base, exponent, format)
    }

    /// The int64 path of the real parser, which also decides whether the text is kept.
    fn parse_fast(s: &str, p: &Parts<'_>, exponent: i32, format: Format) -> Option<Quantity> {
        let digits = i32::try_from(p.num.len() + p.denom.len()).ok()?;
        let (precision, mut scale, mantissa) = match format {
            Format::DecimalExponent | Format::DecimalSi => (18 - digits, exponent, 1i64),
            Format::BinarySi if exponent >= 0 && p.denom.is_empty() => {
                let prec = 15 - p.num.len() as i32 - (exponent as f32 * 3.0 / 10.0) as i32 - 1;
                (prec, 0, 1i64.checked_shl(exponent as u32)?)
            }
            Format::BinarySi => (-1, 0, 1),
        };
        if precision < 0 {
            return None;
        }
        scale -= p.denom.len() as i32;
        if scale < -9 {
            return None;
        }
        let shifted = format!("{}{}", p.num, p.denom);
        let value: i64 = shifted.parse().ok()?;
        let result = value.checked_mul(mantissa)?;
        let result = if p.positive { result } else { -result };
        let keep = match format {
            Format::BinarySi => exponent % 10 == 0 && value & 0x07 != 0,
            _ => scale % 3 == 0 && !shifted.ends_with("000") && !shifted.starts_with('0'),
        };
        let (m, e) = normalize(i128::from(result), scale);
        Some(Quantity { mantissa: m, exp: e, format, original: keep.then(|| s.to_string()) })
    }

    /// The arbitrary-precision path: exact value, rounded up to nano.
    fn parse_exact(p: &Parts<'_>, base: u32, exponent: i32, mut format: Format) -> Result<Quantity, String> {
        let (mut m, mut e) = parse_decimal(p.value).ok_or_else(|| ERR_NUMERIC.to_string())?;
        if base == 10 {
            e = e.checked_add(exponent).ok_or_else(|| ERR_NUMERIC.to_string())?;
        } else {
            let factor = 1i128.checked_shl(exponent as u32).filter(|_| exponent < 127);
            m = factor.and_then(|f| m.checked_mul(f)).ok_or_else(|| ERR_NUMERIC.to_string())?;
        }
        if e < -9 {
            m = div_round_up(m, (-9 - e) as u32);
            e = -9;
        }
        let (mut m, mut e) = normalize(m, e);
        if format == Format::BinarySi {
            let q = Quantity { mantissa: m.abs(), exp: e, format, original: None };
            if q.cmp_value(&Quantity::from_units(MAX_ALLOWED)) == Ordering::Greater {
                (m, e) = (MAX_ALLOWED * m.signum(), 0);
            } else if q.cmp_value(&Quantity::from_units(1)) == Ordering::Less && m != 0 {
                format = Format::DecimalSi;
            }
        }
        Ok(Quantity { mantissa: m, exp: e, format, original: None })
    }

    /// A whole number of units in decimal SI format.
    pub fn from_units(n: i128) -> Quantity {
        let (m, e) = normalize(n, 0);
        Quantity { mantissa: m, exp: e, format: Format::DecimalSi, original: None }
    }

    /// A number of milli-units in decimal SI format (`1500` → `1500m`).
    pub fn from_millis(n: i128) -> Quantity {
        let (m, e) = normalize(n, -3);
        Quantity { mantissa: m, exp: e, format: Format::DecimalSi, original: None }
    }

    /// A number of units printed in binary SI (`1073741824` → `1Gi`).
    pub fn from_bytes(n: i128) -> Quantity {
        let (m, e) = normalize(n, 0);
        Quantity { mantissa: m, exp: e, format: Format::BinarySi, original: None }
    }

    /// The format the quantity was written in.
    pub fn format(&self) -> Format {
        self.format
    }

    pub fn is_zero(&self) -> bool {
        self.mantissa == 0
    }

    /// -1, 0 or 1.
    pub fn signum(&self) -> i32 {
        self.mantissa.signum() as i32
    }

    /// The value scaled to `10^scale` units, rounded away from zero (`ScaledValue`);
    /// saturates at the `i128` range.
    pub fn scaled(&self, scale: i32) -> i128 {
        let shift = self.exp - scale;
        if shift >= 0 {
            pow10(shift as u32).and_then(|p| self.mantissa.checked_mul(p)).unwrap_or(if self.mantissa < 0 {
                i128::MIN
            } else {
                i128::MAX
            })
        } else {
            div_round_up(self.mantissa, (-shift) as u32)
        }
    }

    /// Milli-units, rounded up (`MilliValue`).
    pub fn to_millis(&self) -> i128 {
        self.scaled(-3)
    }

    /// Whole units, rounded up (`Value`).
    pub fn value(&self) -> i128 {
        self.scaled(0)
    }

    /// Whole units (bytes for memory and storage), rounded up.
    pub fn to_bytes(&self) -> i128 {
        self.scaled(0)
    }

    /// Nano-units, exact.
    pub fn to_nanos(&self) -> i128 {
        self.scaled(-9)
    }

    /// An approximation as a float.
    pub fn as_f64(&self) -> f64 {
        self.mantissa as f64 * 10f64.powi(self.exp)
    }

    /// The value rounded up (away from zero) to `10^scale` (`RoundUp`); the result prints canonically.
    pub fn round_up(&self, scale: i32) -> Quantity {
        if self.exp >= scale {
            return self.clone();
        }
        let (m, e) = normalize(div_round_up(self.mantissa, (scale - self.exp) as u32), scale);
        Quantity { mantissa: m, exp: e, format: self.format, original: None }
    }

    /// Sum, keeping this quantity's format; `None` on overflow.
    pub fn checked_add(&self, other: &Quantity) -> Option<Quantity> {
        let e = self.exp.min(other.exp);
        let a = self.mantissa.checked_mul(pow10((self.exp - e) as u32)?)?;
        let b = other.mantissa.checked_mul(pow10((other.exp - e) as u32)?)?;
        let (m, e) = normalize(a.checked_add(b)?, e);
        Some(Quantity { mantissa: m, exp: e, format: self.format, original: None })
    }

    /// Difference, keeping this quantity's format; `None` on overflow.
    pub fn checked_sub(&self, other: &Quantity) -> Option<Quantity> {
        self.checked_add(&other.neg())
    }

    /// The negated value.
    pub fn neg(&self) -> Quantity {
        Quantity { mantissa: -self.mantissa, exp: self.exp, format: self.format, original: None }
    }

    /// Compare values, whatever the formats.
    fn cmp_value(&self, other: &Quantity) -> Ordering {
        let (sa, sb) = (self.mantissa.signum(), other.mantissa.signum());
        if sa != sb || sa == 0 {
            return sa.cmp(&sb);
        }
        let mag = cmp_magnitude(self.mantissa.unsigned_abs(), self.exp, other.mantissa.unsigned_abs(), other.exp);
        if sa > 0 { mag } else { mag.reverse() }
    }

    /// The canonical text, ignoring the original spelling.
    pub fn canonical(&self) -> String {
        if self.mantissa == 0 {
            return "0".into();
        }
        match self.format {
            Format::BinarySi => self.binary_canonical().unwrap_or_else(|| self.decimal_canonical(Format::DecimalSi)),
            f => self.decimal_canonical(f),
        }
    }

    fn decimal_canonical(&self, format: Format) -> String {
        let (mut m, mut e) = (self.mantissa, self.exp);
        let r = e.rem_euclid(3);
        if r != 0 {
            match pow10(r as u32).and_then(|p| m.checked_mul(p)) {
                Some(v) => {
                    m = v;
                    e -= r;
                }
                None => return format!("{m}e{e}"),
            }
        }
        let suffix = match (format, e) {
            (_, 0) => String::new(),
            (Format::DecimalExponent, e) => format!("e{e}"),
            (_, -9) => "n".into(),
            (_, -6) => "u".into(),
            (_, -3) => "m".into(),
            (_, 3) => "k".into(),
            (_, 6) => "M".into(),
            (_, 9) => "G".into(),
            (_, 12) => "T".into(),
            (_, 15) => "P".into(),
            (_, 18) => "E".into(),
            (_, e) => format!("e{e}"),
        };
        format!("{m}{suffix}")
    }

    /// Binary form: only for integers of magnitude 1024 or more.
    fn binary_canonical(&self) -> Option<String> {
        if self.exp < 0 {
            return None;
        }
        let v = self.mantissa.checked_mul(pow10(self.exp as u32)?)?;
        if v.unsigned_abs() < 1024 {
            return None;
        }
        let (mut v, mut power) = (v, 0usize);
        while v % 1024 == 0 && power < 6 {
            v /= 1024;
            power += 1;
        }
        const SUFFIXES: [&str; 7] = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"];
        Some(format!("{v}{}", SUFFIXES[power]))
    }
}

/// Compare `a × 10^ea` with `b × 10^eb` (both non-zero) exactly.
fn cmp_magnitude(a: u128, ea: i32, b: u128, eb: i32) -> Ordering {
    let (da, db) = (a.to_string(), b.to_string());
    let (pa, pb) = (da.len() as i64 + i64::from(ea), db.len() as i64 + i64::from(eb));
    if pa != pb {
        return pa.cmp(&pb);
    }
    let width = da.len().max(db.len());
    format!("{da:0<width$}").cmp(&format!("{db:0<width$}"))
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.original {
            Some(s) => f.write_str(s),
            None => f.write_str(&self.canonical()),
        }
    }
}

impl PartialEq for Quantity {
    fn eq(&self, other: &Self) -> bool {
        self.cmp_value(other) == Ordering::Equal
    }
}

impl Eq for Quantity {}

impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Quantity {
    fn cmp(&self, other: &Self) -> Ordering {
        self.cmp_value(other)
    }
}

impl std::str::FromStr for Quantity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Quantity::parse(s)
    }
}

/// The text the API server stores for a quantity written as `s` (its `String()` after a
/// round trip), or `None` when `s` does not parse.
pub fn canonicalize(s: &str) -> Option<String> {
    Quantity::parse(s).ok().map(|q| q.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        parse_quantity(s).unwrap_or_else(|e| panic!("{s}: {e}")).to_string()
    }

    #[test]
    fn prints_like_the_api_server() {
        let cases = [
            ("0", "0"),
            ("500m", "500m"),
            ("0.5", "500m"),
            ("1.5", "1500m"),
            ("1000m", "1"),
            ("2000m", "2"),
            ("1000", "1k"),
            ("1024", "1024"),
            ("1", "1"),
            ("10", "10"),
            ("100Mi", "100Mi"),
            ("128Mi", "128Mi"),
            ("1024Mi", "1Gi"),
            ("8192Mi", "8Gi"),
            ("1.5Gi", "1536Mi"),
            ("0.5Gi", "512Mi"),
            ("1Gi", "1Gi"),
            ("1e3", "1e3"),
            ("1.5e3", "1500"),
            ("12e6", "12e6"),
            ("1M", "1M"),
            ("1500k", "1500k"),
            ("1.5M", "1500k"),
            ("0.1", "100m"),
            ("-1", "-1"),
            ("1n", "1n"),
            ("0.0000000001", "1n"),
            ("1.0000000001", "1000000001n"),
            ("100", "100"),
            ("0.25", "250m"),
            ("512Ki", "512Ki"),
            ("0.5Ki", "512"),
            ("+1", "+1"),
        ];
        for (input, want) in cases {
            assert_eq!(canon(input), want, "{input}");
        }
    }

    #[test]
    fn errors_match_the_api_server() {
        let re = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
        for bad in ["", "abc", " 1", "1 ", "1.2.3", "1Gix", "1/2"] {
            assert_eq!(parse_quantity(bad).unwrap_err(), re, "{bad:?}");
        }
        for bad in ["1Ki2", "1e", "1m3", "1KK", "1ki", "--1"] {
            assert_eq!(parse_quantity(bad).unwrap_err(), "unable to parse quantity's suffix", "{bad:?}");
        }
    }

    #[test]
    fn values_and_ordering() {
        let q = |s| parse_quantity(s).expect("valid");
        assert_eq!(q("1Gi").to_bytes(), 1 << 30);
        assert_eq!(q("1.5").to_millis(), 1500);
        assert_eq!(q("1n").to_millis(), 1);
        assert_eq!(q("100m").value(), 1);
        assert_eq!(q("2k").value(), 2000);
        assert_eq!(q("1e30").scaled(27), 1000);
        assert!(q("1Gi") > q("1G"));
        assert!(q("500m") < q("1"));
        assert_eq!(q("1000m"), q("1"));
        assert_eq!(q("1Ki"), q("1024"));
        assert!(q("-1") < q("0"));
        assert!(q("-2") < q("-1"));
        assert!(q("1e30") > q("1E"));
        assert_eq!(q("1").checked_add(&q("500m")).map(|x| x.to_string()), Some("1500m".into()));
        assert_eq!(q("1n").round_up(-3).to_string(), "1m");
        assert_eq!(Quantity::from_bytes(3 << 30).to_string(), "3Gi");
        assert_eq!(Quantity::from_millis(250).to_string(), "250m");
    }

    #[test]
    fn binary_values_are_capped() {
        assert_eq!(canon("1024Ei"), "9223372036854775807");
        assert_eq!(canon("0.0001Ki"), "102400u");
    }
}
