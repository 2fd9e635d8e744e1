//! The string formats CRD schemas may use (apiextensions-apiserver's supported set for
//! Kubernetes 1.33) and their checks, as kube-openapi's `strfmt` registry performs them.
//! Other formats are ignored, as the real server strips them before validating.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

use base64::Engine;
use regex::Regex;

const SUPPORTED: &[&str] = &[
    "bsonobjectid",
    "uri",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "cidr",
    "mac",
    "uuid",
    "uuid3",
    "uuid4",
    "uuid5",
    "isbn",
    "isbn10",
    "isbn13",
    "creditcard",
    "ssn",
    "hexcolor",
    "rgbcolor",
    "byte",
    "password",
    "date",
    "duration",
    "datetime",
];

fn normalize(format: &str) -> String {
    format.replace('-', "")
}

/// Whether a format is validated (`date-time` and `datetime` are the same format).
pub fn supported(format: &str) -> bool {
    !format.is_empty() && SUPPORTED.contains(&normalize(format).as_str())
}

fn re(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).expect("valid format regex"))
}

/// Whether `value` is of the (supported) format.
pub fn validates(format: &str, value: &str) -> bool {
    static HOSTNAME: OnceLock<Regex> = OnceLock::new();
    static UUID: OnceLock<Regex> = OnceLock::new();
    static UUID3: OnceLock<Regex> = OnceLock::new();
    static UUID4: OnceLock<Regex> = OnceLock::new();
    static UUID5: OnceLock<Regex> = OnceLock::new();
    static EMAIL: OnceLock<Regex> = OnceLock::new();
    static MAC: OnceLock<Regex> = OnceLock::new();
    static HEX: OnceLock<Regex> = OnceLock::new();
    static RGB: OnceLock<Regex> = OnceLock::new();
    static SSN: OnceLock<Regex> = OnceLock::new();
    static BSON: OnceLock<Regex> = OnceLock::new();
    static DATE: OnceLock<Regex> = OnceLock::new();
    static DURATION: OnceLock<Regex> = OnceLock::new();
    match normalize(format).as_str() {
        "password" => true,
        "hostname" => {
            value.len() <= 255
                && re(&HOSTNAME, r"^([a-zA-Z0-9\p{S}\p{L}]((-?[a-zA-Z0-9\p{S}\p{L}]{0,62})?)|([a-zA-Z0-9\p{S}\p{L}](([a-zA-Z0-9-\p{S}\p{L}]{0,61}[a-zA-Z0-9\p{S}\p{L}])?)(\.)){1,}([a-zA-Z\p{L}]){2,63})$").is_match(value)
        }
        "uuid" => re(&UUID, r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$").is_match(value),
        "uuid3" => {
            re(&UUID3, r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}$").is_match(value)
        }
        "uuid4" => {
            re(&UUID4, r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$").is_match(value)
        }
        "uuid5" => {
            re(&UUID5, r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$").is_match(value)
        }
        "email" => re(&EMAIL, r"^[^@\s<>]+@[^@\s<>]+$").is_match(value),
        "ipv4" => value.parse::<Ipv4Addr>().is_ok(),
        "ipv6" => value.parse::<Ipv6Addr>().is_ok(),
        "cidr" => value
            .split_once('/')
            .is_some_and(|(ip, bits)| ip.parse::<IpAddr>().is_ok() && bits.parse::<u8>().is_ok_and(|b| b <= 128)),
        "mac" => re(&MAC, r"^([0-9A-Fa-f]{2}[:-]){5}([0-9A-Fa-f]{2})$|^([0-9A-Fa-f]{4}\.){2}[0-9A-Fa-f]{4}$").is_match(value),
        "hexcolor" => re(&HEX, r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$").is_match(value),
        "rgbcolor" => re(&RGB, r"^rgb\(\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])\s*,\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])\s*,\s*(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])\s*\)$").is_match(value),
        "ssn" => re(&SSN, r"^\d{3}[- ]?\d{2}[- ]?\d{4}$").is_match(value),
        "bsonobjectid" => re(&BSON, r"^[0-9a-fA-F]{24}$").is_match(value),
        "byte" => base64::engine::general_purpose::STANDARD.decode(value).is_ok(),
        "date" => re(&DATE, r"^\d{4}-\d{2}-\d{2}$").is_match(value) && value.parse::<jiff::civil::Date>().is_ok(),
        "datetime" => value.parse::<jiff::Timestamp>().is_ok(),
        "duration" => {
            re(&DURATION, r"^(([+-]?(\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))+|0)$").is_match(value)
                || re(&DURATION, r"^(([+-]?(\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))+|0)$").is_match(&value.replace(' ', ""))
        }
        "uri" => uri(value),
        "isbn" => isbn10(value) || isbn13(value),
        "isbn10" => isbn10(value),
        "isbn13" => isbn13(value),
        "creditcard" => credit_card(value),
        _ => true,
    }
}

/// `url.ParseRequestURI`: an absolute URI or an absolute path.
fn uri(v: &str) -> bool {
    if v.is_empty() || v.contains(' ') {
        return false;
    }
    if v.starts_with('/') {
        return true;
    }
    match v.split_once(':') {
        Some((scheme, _)) => {
            !scheme.is_empty()
                && scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        }
        None => false,
    }
}

fn digits(v: &str) -> Vec<u32> {
    v.chars().filter(|c| *c != '-' && *c != ' ').filter_map(|c| c.to_digit(10)).collect()
}

fn isbn10(v: &str) -> bool {
    let s: String = v.chars().filter(|c| *c != '-' && *c != ' ').collect();
    if s.len() != 10 {
        return false;
    }
    let mut sum = 0;
    for (i, c) in s.chars().enumerate() {
        let d = match (i, c) {
            (9, 'X') => 10,
            (_, c) => match c.to_digit(10) {
                Some(d) => d,
                None => return false,
            },
        };
        sum += (i as u32 + 1) * d;
    }
    sum % 11 == 0
}

fn isbn13(v: &str) -> bool {
    let d = digits(v);
    if d.len() != 13 || v.chars().filter(|c| c.is_ascii_digit()).count() != 13 {
        return false;
    }
    let sum: u32 = d.iter().enumerate().map(|(i, x)| if i % 2 == 0 { *x } else { x * 3 }).sum();
    sum.is_multiple_of(10)
}

fn credit_card(v: &str) -> bool {
    let d: Vec<u32> = v.chars().filter(|c| c.is_ascii_digit()).filter_map(|c| c.to_digit(10)).collect();
    if d.len() < 13 || d.len() > 19 {
        return false;
    }
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(i, x)| {
            if i % 2 == 1 {
                let y = x * 2;
                if y > 9 { y - 9 } else { y }
            } else {
                *x
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert!(supported("date-time") && supported("email") && !supported("int32") && !supported(""));
        assert!(validates("date-time", "2024-05-01T12:00:00Z"));
        assert!(!validates("date-time", "yesterday"));
        assert!(validates("email", "a@b.c") && !validates("email", "nope"));
        assert!(validates("ipv4", "10.0.0.1") && !validates("ipv4", "10.0.0.300"));
        assert!(validates("cidr", "10.0.0.0/8") && !validates("cidr", "10.0.0.0"));
        assert!(validates("uuid", "0c5e1f6a-1111-2222-3333-444455556666"));
        assert!(validates("byte", "aGk=") && !validates("byte", "!!"));
        assert!(validates("duration", "1h30m") && !validates("duration", "soon"));
        assert!(validates("uri", "https://example.com/x") && !validates("uri", "example"));
        assert!(validates("hostname", "example.com"));
        assert!(validates("date", "2024-02-29") && !validates("date", "2023-02-29"));
    }
}
