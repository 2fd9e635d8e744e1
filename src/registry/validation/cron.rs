//! The standard cron schedule syntax of `robfig/cron/v3` (`cron.ParseStandard`), which the API
//! server uses for CronJob schedules: five fields (minute, hour, day of month, month, day of
//! week) or a descriptor (`@daily`, `@every 1h30m`), with the library's error texts.

/// The allowed values of one field, and its names (months and weekdays).
struct Bounds {
    min: u32,
    max: u32,
    names: &'static [(&'static str, u32)],
}

const MINUTES: Bounds = Bounds { min: 0, max: 59, names: &[] };
const HOURS: Bounds = Bounds { min: 0, max: 23, names: &[] };
const DOM: Bounds = Bounds { min: 1, max: 31, names: &[] };
const MONTHS: Bounds = Bounds {
    min: 1,
    max: 12,
    names: &[
        ("jan", 1),
        ("feb", 2),
        ("mar", 3),
        ("apr", 4),
        ("may", 5),
        ("jun", 6),
        ("jul", 7),
        ("aug", 8),
        ("sep", 9),
        ("oct", 10),
        ("nov", 11),
        ("dec", 12),
    ],
};
const DOW: Bounds = Bounds {
    min: 0,
    max: 6,
    names: &[("sun", 0), ("mon", 1), ("tue", 2), ("wed", 3), ("thu", 4), ("fri", 5), ("sat", 6)],
};

/// A parsed schedule: the allowed values of each field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Schedule {
    /// Bit sets of minutes, hours, days of month, months, days of week; `star_dom`/`star_dow`
    /// record a `*` in the day fields (which changes how the two combine).
    Fields { minute: u64, hour: u64, dom: u64, month: u64, dow: u64, star_dom: bool, star_dow: bool },
    /// `@every <duration>`, in seconds (rounded down to whole seconds, at least 1).
    Every(u64),
}

/// Parse a schedule; the error text is the one the API server reports.
pub fn parse_standard(spec: &str) -> Result<Schedule, String> {
    if spec.is_empty() {
        return Err("empty spec string".into());
    }
    let mut spec = spec.to_string();
    if spec.starts_with("TZ=") || spec.starts_with("CRON_TZ=") {
        let (Some(eq), Some(space)) = (spec.find('='), spec.find(' ')) else {
            return Err(format!("failed to parse cron schedule {spec}: runtime error: slice bounds out of range"));
        };
        let loc = &spec[eq + 1..space];
        if jiff::tz::TimeZone::get(loc).is_err() {
            return Err(format!("provided bad location {loc}: unknown time zone {loc}"));
        }
        spec = spec[space..].trim().to_string();
    }
    if let Some(d) = spec.strip_prefix('@') {
        return parse_descriptor(d, &spec);
    }
    let fields: Vec<&str> = spec.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!("expected exactly 5 fields, found {}: [{}]", fields.len(), fields.join(" ")));
    }
    let (minute, _) = get_field(fields[0], &MINUTES)?;
    let (hour, _) = get_field(fields[1], &HOURS)?;
    let (dom, star_dom) = get_field(fields[2], &DOM)?;
    let (month, _) = get_field(fields[3], &MONTHS)?;
    let (dow, star_dow) = get_field(fields[4], &DOW)?;
    Ok(Schedule::Fields { minute, hour, dom, month, dow, star_dom, star_dow })
}

fn bits(min: u32, max: u32, step: u32) -> u64 {
    (min..=max).step_by(step as usize).fold(0, |acc, i| acc | (1u64 << i))
}

fn all(b: &Bounds) -> u64 {
    bits(b.min, b.max, 1)
}

fn parse_descriptor(d: &str, spec: &str) -> Result<Schedule, String> {
    let star = |minute, hour, dom: u64, month: u64, dow: u64| Schedule::Fields {
        minute,
        hour,
        dom,
        month,
        dow,
        star_dom: dom == all(&DOM),
        star_dow: dow == all(&DOW),
    };
    Ok(match d {
        "yearly" | "annually" => star(1, 1, 1 << 1, 1 << 1, all(&DOW)),
        "monthly" => star(1, 1, 1 << 1, all(&MONTHS), all(&DOW)),
        "weekly" => star(1, 1, all(&DOM), all(&MONTHS), 1),
        "daily" | "midnight" => star(1, 1, all(&DOM), all(&MONTHS), all(&DOW)),
        "hourly" => star(1, all(&HOURS), all(&DOM), all(&MONTHS), all(&DOW)),
        other => match other.strip_prefix("every ") {
            Some(dur) => {
                let secs = parse_go_duration(dur).map_err(|e| format!("failed to parse duration {spec}: {e}"))?;
                Schedule::Every(secs.max(1))
            }
            None => return Err(format!("unrecognized descriptor: {spec}")),
        },
    })
}

/// `getField`: comma-separated ranges; returns the bits and whether the field was `*`/`?`.
fn get_field(field: &str, b: &Bounds) -> Result<(u64, bool), String> {
    let mut out = 0;
    let mut star = false;
    for expr in field.split(',').filter(|s| !s.is_empty()) {
        let (bits, s) = get_range(expr, b)?;
        out |= bits;
        star |= s;
    }
    Ok((out, star))
}

fn get_range(expr: &str, b: &Bounds) -> Result<(u64, bool), String> {
    let range_and_step: Vec<&str> = expr.split('/').collect();
    let low_high: Vec<&str> = range_and_step[0].split('-').collect();
    let single = low_high.len() == 1;
    let mut star = false;
    let (start, mut end) = if low_high[0] == "*" || low_high[0] == "?" {
        star = true;
        (b.min, b.max)
    } else {
        let start = parse_int_or_name(low_high[0], b)?;
        let end = match low_high.len() {
            1 => start,
            2 => parse_int_or_name(low_high[1], b)?,
            _ => return Err(format!("too many hyphens: {expr}")),
        };
        (start, end)
    };
    let step = match range_and_step.len() {
        1 => 1,
        2 => {
            let step = must_parse_int(range_and_step[1])?;
            if single {
                end = b.max;
            }
            if step > 1 {
                star = false;
            }
            step
        }
        _ => return Err(format!("too many slashes: {expr}")),
    };
    if start < b.min {
        return Err(format!("beginning of range ({start}) below minimum ({}): {expr}", b.min));
    }
    if end > b.max {
        return Err(format!("end of range ({end}) above maximum ({}): {expr}", b.max));
    }
    if start > end {
        return Err(format!("beginning of range ({start}) beyond end of range ({end}): {expr}"));
    }
    if step == 0 {
        return Err(format!("step of range should be a positive number: {expr}"));
    }
    Ok((bits(start, end, step), star))
}

fn parse_int_or_name(expr: &str, b: &Bounds) -> Result<u32, String> {
    let lower = expr.to_lowercase();
    if let Some((_, v)) = b.names.iter().find(|(n, _)| *n == lower) {
        return Ok(*v);
    }
    must_parse_int(expr)
}

/// `mustParseInt`: Go's `strconv.Atoi`, then non-negative.
fn must_parse_int(expr: &str) -> Result<u32, String> {
    let digits = expr.strip_prefix(['+', '-']).unwrap_or(expr);
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return Err(format!("failed to parse int from {expr}: strconv.Atoi: parsing {expr:?}: invalid syntax"));
    }
    let n: i64 = expr
        .parse()
        .map_err(|_| format!("failed to parse int from {expr}: strconv.Atoi: parsing {expr:?}: value out of range"))?;
    if n < 0 {
        return Err(format!("negative number ({n}) not allowed: {expr}"));
    }
    u32::try_from(n).map_err(|_| format!("end of range ({n}) above maximum: {expr}"))
}

/// Go's `time.ParseDuration`, to whole seconds.
fn parse_go_duration(s: &str) -> Result<u64, String> {
    let invalid = || format!("time: invalid duration {s:?}");
    let mut rest = s.strip_prefix('+').unwrap_or(s);
    if rest.starts_with('-') {
        rest = &rest[1..];
    }
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total_nanos: f64 = 0.0;
    while !rest.is_empty() {
        let num_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        if num_end == 0 {
            return Err(invalid());
        }
        let num: f64 = rest[..num_end].parse().map_err(|_| invalid())?;
        rest = &rest[num_end..];
        let unit_end = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let unit = &rest[..unit_end];
        rest = &rest[unit_end..];
        let scale = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => return Err(format!("time: missing unit in duration {s:?}")),
            u => return Err(format!("time: unknown unit {u:?} in duration {s:?}")),
        };
        total_nanos += num * scale;
    }
    Ok((total_nanos / 1e9) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_schedules() {
        for s in [
            "*/5 * * * *",
            "0 0 * * *",
            "15 3 1 jan-mar mon-fri",
            "0 */2 * * 0",
            "@hourly",
            "@every 1h30m",
            "0 0 ? * *",
            "5,10,15 * * * *",
        ] {
            assert!(parse_standard(s).is_ok(), "{s}");
        }
    }

    #[test]
    fn errors_match_robfig_cron() {
        assert_eq!(parse_standard("").unwrap_err(), "empty spec string");
        assert_eq!(parse_standard("* * * *").unwrap_err(), "expected exactly 5 fields, found 4: [* * * *]");
        assert_eq!(parse_standard("60 * * * *").unwrap_err(), "end of range (60) above maximum (59): 60");
        assert_eq!(parse_standard("* * 0 * *").unwrap_err(), "beginning of range (0) below minimum (1): 0");
        assert_eq!(
            parse_standard("x * * * *").unwrap_err(),
            "failed to parse int from x: strconv.Atoi: parsing \"x\": invalid syntax"
        );
        assert_eq!(parse_standard("5-1 * * * *").unwrap_err(), "beginning of range (5) beyond end of range (1): 5-1");
        assert_eq!(parse_standard("*/0 * * * *").unwrap_err(), "step of range should be a positive number: */0");
        assert_eq!(parse_standard("@sometimes").unwrap_err(), "unrecognized descriptor: @sometimes");
        assert_eq!(parse_standard("* * * * 7").unwrap_err(), "end of range (7) above maximum (6): 7");
    }
}
