//! Credentials given with a pull request (the kubelet passes those of a pod's image pull
//! secrets), and which of them apply to a registry endpoint: the matching rules of the
//! kubelet's credential keyring (`pkg/credentialprovider/keyring.go`).
//!
//! A key is what a docker config names a registry by:
//!
//! | key | matches |
//! |---|---|
//! | `registry.example.com` | images on that host (any repository), not on `registry.example.com:5000` |
//! | `registry.example.com:5000` | images on that host and port |
//! | `https://registry.example.com/team` | images under `team` on that host (a path prefix) |
//! | `*.example.com` | one label per `*`: `a.example.com`, not `a.b.example.com` or `example.com` |
//! | `https://index.docker.io/v1/` | Docker Hub (`docker.io`, `index.docker.io`, `registry-1.docker.io` alike) |
//!
//! A scheme (`http://`, `https://`) is ignored, and so is a leading `/v1` or `/v2` of the path.
//! Globs (`*`, `?`, `[a-z]`) work per host label, not in the port or path, as in the kubelet.
//!
//! The kubelet orders keys most specific first (reverse lexical order of the normalised keys:
//! `quay.io/team` before `quay.io`, `reg.example.com` before `*.example.com`); [`order`] does
//! the same, and a pull uses the first key that matches.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::Deserialize;

use super::registries::Credentials;

const DOCKER_HUB: &str = "docker.io";
const DOCKER_HUB_ALIASES: &[&str] = &["docker.io", "index.docker.io", "registry-1.docker.io"];

/// A key in the form the keyring indexes it: no scheme, `/v1/` or `/v2/` dropped, Docker
/// Hub's names folded into `docker.io`, e.g. `https://index.docker.io/v1/` → `docker.io`,
/// `https://quay.io/v2/team` → `quay.io/team`.
pub fn normalize_key(key: &str) -> String {
    let rest = key.strip_prefix("https://").or_else(|| key.strip_prefix("http://")).unwrap_or(key);
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let path = if path.starts_with("/v1/") || path.starts_with("/v2/") { &path[3..] } else { path };
    let host = fold_docker_hub(host);
    if path.is_empty() || path == "/" { host.to_string() } else { format!("{host}{path}") }
}

fn fold_docker_hub(host: &str) -> &str {
    if DOCKER_HUB_ALIASES.contains(&host) { DOCKER_HUB } else { host }
}

/// `host[:port]` → (labels, port), brackets of an IPv6 address dropped.
fn split_host(host: &str) -> (Vec<&str>, &str) {
    if let Some(rest) = host.strip_prefix('[')
        && let Some((addr, after)) = rest.split_once(']')
    {
        return (vec![addr], after.strip_prefix(':').unwrap_or(""));
    }
    match host.rsplit_once(':') {
        Some((h, port)) if !h.contains(':') => (h.split('.').collect(), port),
        _ => (host.split('.').collect(), ""),
    }
}

/// Whether `key` (a docker config key, see [`normalize_key`]) applies to the repository
/// `repository` on `host` (`host[:port]`, as the image reference or a mirror names it).
pub fn matches(key: &str, host: &str, repository: &str) -> bool {
    let key = normalize_key(key);
    let (key_host, key_path) = match key.find('/') {
        Some(i) => (&key[..i], &key[i..]),
        None => (key.as_str(), ""),
    };
    let target_path = format!("/{repository}");
    let (globs, key_port) = split_host(key_host);
    let (labels, port) = split_host(fold_docker_hub(host));
    key_port == port
        && globs.len() == labels.len()
        && target_path.starts_with(key_path)
        && globs.iter().zip(&labels).all(|(g, l)| glob(g.as_bytes(), l.as_bytes()))
}

/// The credentials of the first key in `creds` that matches the repository on `host`.
pub fn pick<'a>(creds: &'a [(String, Credentials)], host: &str, repository: &str) -> Option<&'a Credentials> {
    creds.iter().find(|(key, _)| matches(key, host, repository)).map(|(_, c)| c)
}

/// Sort as the kubelet's keyring does: most specific key first; credentials under the same
/// key keep their order (the order of the pod's `imagePullSecrets`).
pub fn order(creds: &mut [(String, Credentials)]) {
    creds.sort_by_cached_key(|(key, _)| std::cmp::Reverse(normalize_key(key)));
}

/// One label against a glob of Go's `filepath.Match`: `*`, `?`, `[…]` (with ranges and `^`),
/// `\` escapes. A malformed pattern matches nothing.
fn glob(p: &[u8], s: &[u8]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some((b'*', rest)) => (0..=s.len()).any(|i| glob(rest, &s[i..])),
        Some((b'?', rest)) => !s.is_empty() && glob(rest, &s[1..]),
        Some((b'[', rest)) => {
            let Some((&c, tail)) = s.split_first() else { return false };
            match class(rest, c) {
                Some((true, after)) => glob(after, tail),
                _ => false,
            }
        }
        Some((b'\\', rest)) => match rest.split_first() {
            Some((&e, after)) => s.first() == Some(&e) && glob(after, &s[1..]),
            None => false,
        },
        Some((&c, rest)) => s.first() == Some(&c) && glob(rest, &s[1..]),
    }
}

/// A `[…]` class (after its `[`): whether `c` is in it, and the pattern after its `]`; None
/// for a malformed class (empty, unclosed, or an unescaped `-` or `]` where a character goes).
fn class(mut p: &[u8], c: u8) -> Option<(bool, &[u8])> {
    let negated = p.first() == Some(&b'^');
    if negated {
        p = &p[1..];
    }
    let mut found = false;
    let mut ranges = 0;
    loop {
        if let Some(rest) = p.strip_prefix(b"]")
            && ranges > 0
        {
            return Some((found != negated, rest));
        }
        let (lo, rest) = class_char(p)?;
        let (hi, rest) = match rest.strip_prefix(b"-") {
            Some(r) => class_char(r)?,
            None => (lo, rest),
        };
        if lo <= c && c <= hi {
            found = true;
        }
        ranges += 1;
        p = rest;
    }
}

/// One character of a class, maybe escaped.
fn class_char(p: &[u8]) -> Option<(u8, &[u8])> {
    match p {
        [] | [b'-' | b']', ..] => None,
        [b'\\', e, rest @ ..] => Some((*e, rest)),
        [b'\\'] => None,
        [c, rest @ ..] => Some((*c, rest)),
    }
}

/// One registry's entry of a docker config.
#[derive(Deserialize, Default)]
struct Entry {
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    /// base64 of `username:password`; wins over the two above.
    #[serde(default)]
    auth: Option<String>,
}

#[derive(Deserialize)]
struct ConfigJson {
    #[serde(default)]
    auths: BTreeMap<String, Entry>,
}

/// The credentials in a docker config: `{"auths": {key: entry}}` (`.dockerconfigjson`,
/// `auths` true) or the map alone (the older `.dockercfg`). An entry has `auth` (base64 of
/// `user:password`) or `username` and `password`; one with neither is anonymous (it still
/// matches its registry, as in the kubelet).
pub fn parse_docker_config(bytes: &[u8], auths: bool) -> Result<Vec<(String, Credentials)>, String> {
    let map: BTreeMap<String, Entry> = if auths {
        serde_json::from_slice::<ConfigJson>(bytes).map_err(|e| format!("not a docker config: {e}"))?.auths
    } else {
        serde_json::from_slice(bytes).map_err(|e| format!("not a docker config: {e}"))?
    };
    let mut out = Vec::new();
    for (key, e) in map {
        let creds = match &e.auth {
            Some(b64) if !b64.is_empty() => {
                let (u, p) = decode_auth(b64).map_err(|err| format!("{key}: auth: {err}"))?;
                Credentials::Basic(u, p)
            }
            _ => match (&e.username, &e.password) {
                (Some(u), p) if !u.is_empty() || p.as_ref().is_some_and(|p| !p.is_empty()) => {
                    Credentials::Basic(u.clone(), p.clone().unwrap_or_default())
                }
                (None, Some(p)) if !p.is_empty() => Credentials::Basic(String::new(), p.clone()),
                _ => Credentials::Anonymous,
            },
        };
        out.push((key, creds));
    }
    Ok(out)
}

fn decode_auth(b64: &str) -> Result<(String, String), String> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(b64.trim()).map_err(|e| e.to_string())?;
    let text = String::from_utf8(bytes).map_err(|_| "not UTF-8".to_string())?;
    let (u, p) = text.split_once(':').ok_or("expected base64 of username:password")?;
    Ok((u.to_string(), p.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_normalised_as_the_keyring_indexes_them() {
        assert_eq!(normalize_key("https://index.docker.io/v1/"), "docker.io");
        assert_eq!(normalize_key("registry-1.docker.io"), "docker.io");
        assert_eq!(normalize_key("http://quay.io/v2/team"), "quay.io/team");
        assert_eq!(normalize_key("quay.io/"), "quay.io");
        assert_eq!(normalize_key("127.0.0.1:5000"), "127.0.0.1:5000");
        assert_eq!(normalize_key("https://reg.example.com/a/b"), "reg.example.com/a/b");
    }

    #[test]
    fn host_port_path_and_glob_matching() {
        let m = |key: &str, image_host: &str, repo: &str| matches(key, image_host, repo);
        // Host alone: any repository, no port.
        assert!(m("reg.example.com", "reg.example.com", "a/b"));
        assert!(!m("reg.example.com", "reg.example.com:5000", "a/b"));
        assert!(!m("reg.example.com", "other.example.com", "a/b"));
        // host:port: the port must be the same, both ways.
        assert!(m("127.0.0.1:5000", "127.0.0.1:5000", "private/busybox"));
        assert!(!m("127.0.0.1:5000", "127.0.0.1:5001", "private/busybox"));
        assert!(!m("127.0.0.1:5000", "127.0.0.1", "private/busybox"));
        assert!(m("https://127.0.0.1:5000/v2/", "127.0.0.1:5000", "x"));
        // A path is a prefix of the repository (a string prefix, as in the kubelet).
        assert!(m("https://reg.example.com/team", "reg.example.com", "team/app"));
        assert!(m("reg.example.com/team", "reg.example.com", "teamwork/app"));
        assert!(!m("reg.example.com/team", "reg.example.com", "other/app"));
        // Globs: one label per *, the same number of labels.
        assert!(m("*.example.com", "reg.example.com", "a"));
        assert!(!m("*.example.com", "a.reg.example.com", "a"));
        assert!(!m("*.example.com", "example.com", "a"));
        assert!(m("*.*.example.com", "a.reg.example.com", "a"));
        assert!(m("reg.*", "reg.io", "a"));
        assert!(m("app*.example.com", "app1.example.com", "a"));
        assert!(m("reg?.example.com", "reg1.example.com", "a"));
        assert!(m("reg[0-9].example.com", "reg7.example.com", "a"));
        assert!(!m("reg[^0-9].example.com", "reg7.example.com", "a"));
        assert!(!m("*.example.com:5000", "reg.example.com", "a"), "no glob in the port");
        assert!(!m("reg[.example.com", "reg[.example.com", "a"), "a malformed glob matches nothing");
        // Docker Hub, by any of its names.
        for key in ["https://index.docker.io/v1/", "docker.io", "index.docker.io", "registry-1.docker.io"] {
            assert!(m(key, "docker.io", "library/busybox"), "{key}");
            assert!(m(key, "registry-1.docker.io", "library/busybox"), "{key}");
        }
        assert!(!m("https://index.docker.io/v1/", "quay.io", "library/busybox"));
        // IPv6.
        assert!(m("[::1]:5000", "[::1]:5000", "a"));
        assert!(!m("[::1]:5000", "[::1]:5001", "a"));
    }

    #[test]
    fn most_specific_key_first_and_first_match_wins() {
        let basic = |u: &str| Credentials::Basic(u.into(), "p".into());
        let mut creds = vec![
            ("*.example.com".to_string(), basic("glob")),
            ("reg.example.com".to_string(), basic("host")),
            ("https://reg.example.com/team".to_string(), basic("team")),
            ("reg.example.com".to_string(), basic("host-second-secret")),
        ];
        order(&mut creds);
        let users: Vec<String> = creds
            .iter()
            .map(|(_, c)| match c {
                Credentials::Basic(u, _) => u.clone(),
                _ => String::new(),
            })
            .collect();
        assert_eq!(users, ["team", "host", "host-second-secret", "glob"]);
        assert_eq!(pick(&creds, "reg.example.com", "team/app"), Some(&basic("team")));
        assert_eq!(pick(&creds, "reg.example.com", "other/app"), Some(&basic("host")));
        assert_eq!(pick(&creds, "x.example.com", "app"), Some(&basic("glob")));
        assert_eq!(pick(&creds, "quay.io", "app"), None);
    }

    #[test]
    fn docker_configs() {
        let json = br#"{"auths": {"127.0.0.1:5000": {"username": "coracle", "password": "s3cret", "auth": "Y29yYWNsZTpzM2NyZXQ="},
            "https://index.docker.io/v1/": {"auth": "dTpwOnE="}, "quay.io": {"username": "u", "password": "p"},
            "anon.example.com": {}}}"#;
        let creds = parse_docker_config(json, true).unwrap();
        assert_eq!(
            creds,
            vec![
                ("127.0.0.1:5000".to_string(), Credentials::Basic("coracle".into(), "s3cret".into())),
                ("anon.example.com".to_string(), Credentials::Anonymous),
                ("https://index.docker.io/v1/".to_string(), Credentials::Basic("u".into(), "p:q".into())),
                ("quay.io".to_string(), Credentials::Basic("u".into(), "p".into())),
            ]
        );
        // .dockercfg: the map without "auths".
        let old = br#"{"reg.example.com": {"auth": "YTpi", "email": "a@b.c"}}"#;
        assert_eq!(
            parse_docker_config(old, false).unwrap(),
            vec![("reg.example.com".to_string(), Credentials::Basic("a".into(), "b".into()))]
        );
        assert!(parse_docker_config(b"not json", true).is_err());
        assert!(parse_docker_config(br#"{"auths": {"x": {"auth": "!!"}}}"#, true).unwrap_err().contains("x: auth"));
        assert!(parse_docker_config(br#"{"auths": {"x": {"auth": "bm9jb2xvbg=="}}}"#, true).is_err());
    }
}
