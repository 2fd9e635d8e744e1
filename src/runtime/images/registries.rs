//! `/etc/coracle/registries.yaml`, in k3s's format: mirrors (endpoints and repository
//! rewrites) per registry, and per-host configs (auth and TLS).
//!
//! ```yaml
//! mirrors:
//!   docker.io:
//!     endpoint: ["http://127.0.0.1:5000", "https://mirror.example:5000"]
//!     rewrite: {"^library/(.*)": "mirrored/$1"}
//!   "*":
//!     endpoint: ["https://mirror-for-everything.example"]
//! configs:
//!   "mirror.example:5000":
//!     auth: {username: u, password: p}        # or auth: base64(u:p), or identity_token
//!     tls: {ca_file: /etc/ssl/mirror-ca.pem, insecure_skip_verify: false}
//! ```
//!
//! A pull tries the mirror endpoints of the image's registry (or of `*` if it has none), in
//! order, then the registry itself, as containerd does for k3s.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::Deserialize;

use super::ImageError;
use super::reference::ImageRef;

/// Where registries.yaml lives by default.
pub const DEFAULT_PATH: &str = "/etc/coracle/registries.yaml";

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistriesConfig {
    #[serde(default)]
    pub mirrors: BTreeMap<String, Mirror>,
    #[serde(default)]
    pub configs: BTreeMap<String, HostConfig>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mirror {
    #[serde(default)]
    pub endpoint: Vec<String>,
    #[serde(default)]
    pub rewrite: BTreeMap<String, String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostConfig {
    #[serde(default)]
    pub auth: Option<AuthConfig>,
    #[serde(default)]
    pub tls: Option<TlsConfig>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    /// base64 of `username:password`.
    #[serde(default)]
    pub auth: Option<String>,
    #[serde(default)]
    pub identity_token: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    #[serde(default)]
    pub cert_file: Option<PathBuf>,
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    #[serde(default)]
    pub insecure_skip_verify: bool,
}

/// Credentials for one endpoint.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    Anonymous,
    Basic(String, String),
    Bearer(String),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Anonymous => write!(f, "Anonymous"),
            Credentials::Basic(u, _) => write!(f, "Basic({u}, ***)"),
            Credentials::Bearer(_) => write!(f, "Bearer(***)"),
        }
    }
}

/// One place to try to pull an image from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// As the user would recognise it, e.g. `http://127.0.0.1:5000`.
    pub url: String,
    /// `host[:port]` to connect to.
    pub host: String,
    pub plain_http: bool,
    /// The repository at this endpoint (rewritten for a mirror).
    pub repository: String,
    /// A mirror (as opposed to the image's own registry).
    pub mirror: bool,
    pub credentials: Credentials,
    pub ca_file: Option<PathBuf>,
    pub insecure_skip_verify: bool,
}

impl RegistriesConfig {
    /// Read the file at `path`. A missing file is an empty config unless `required`.
    pub fn load(path: &Path, required: bool) -> Result<RegistriesConfig, ImageError> {
        let err = |reason: String| ImageError::Registries { path: path.display().to_string(), reason };
        match std::fs::read_to_string(path) {
            Ok(text) if text.trim().is_empty() => Ok(RegistriesConfig::default()),
            Ok(text) => {
                let cfg: RegistriesConfig =
                    serde_yaml_ng::from_str(&text).map_err(|e| err(format!("{e}; fix the file (k3s's format)")))?;
                cfg.check().map_err(err)?;
                Ok(cfg)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => Ok(RegistriesConfig::default()),
            Err(e) => Err(err(e.to_string())),
        }
    }

    fn check(&self) -> Result<(), String> {
        for (reg, m) in &self.mirrors {
            for ep in &m.endpoint {
                parse_endpoint(ep).map_err(|e| format!("mirrors.{reg}: {e}"))?;
            }
            for pattern in m.rewrite.keys() {
                regex::Regex::new(pattern).map_err(|e| format!("mirrors.{reg}.rewrite {pattern:?}: {e}"))?;
            }
        }
        for (host, c) in &self.configs {
            if let Some(a) = &c.auth
                && let Some(b64) = &a.auth
            {
                decode_auth(b64).map_err(|e| format!("configs.{host}.auth.auth: {e}"))?;
            }
        }
        Ok(())
    }

    /// The endpoints to try for `image`, in order: its mirrors, then its own registry.
    pub fn endpoints(&self, image: &ImageRef, plain_http: bool) -> Vec<Endpoint> {
        let registry = image.registry();
        let mut out = Vec::new();
        let mirror = self.mirrors.get(registry).or_else(|| self.mirrors.get("*"));
        if let Some(m) = mirror {
            for ep in &m.endpoint {
                let Ok((plain, host)) = parse_endpoint(ep) else { continue };
                let repository = rewrite(&m.rewrite, image.repository());
                let own = host == registry;
                out.push(self.endpoint(ep.trim_end_matches('/').to_string(), host, plain, repository, !own, registry));
            }
        }
        if !out.iter().any(|e| e.host == registry && !e.mirror) {
            let plain = plain_http;
            let url = format!("{}://{}", if plain { "http" } else { "https" }, registry);
            out.push(self.endpoint(url, registry.to_string(), plain, image.repository().to_string(), false, registry));
        }
        out
    }

    fn endpoint(
        &self,
        url: String,
        host: String,
        plain_http: bool,
        repository: String,
        mirror: bool,
        registry: &str,
    ) -> Endpoint {
        let cfg = self.configs.get(&host).or_else(|| self.configs.get(registry)).or_else(|| self.configs.get("*"));
        let credentials = cfg.and_then(|c| c.auth.as_ref()).map_or(Credentials::Anonymous, credentials_of);
        let tls = cfg.and_then(|c| c.tls.clone()).unwrap_or_default();
        if tls.cert_file.is_some() || tls.key_file.is_some() {
            tracing::warn!(host = %host, "client certificates in registries.yaml are not supported yet; ignored");
        }
        Endpoint {
            url,
            host,
            plain_http,
            repository,
            mirror,
            credentials,
            ca_file: tls.ca_file,
            insecure_skip_verify: tls.insecure_skip_verify,
        }
    }
}

fn credentials_of(a: &AuthConfig) -> Credentials {
    if let Some(b64) = &a.auth
        && let Ok((u, p)) = decode_auth(b64)
    {
        return Credentials::Basic(u, p);
    }
    if let Some(u) = &a.username {
        return Credentials::Basic(u.clone(), a.password.clone().unwrap_or_default());
    }
    if let Some(t) = &a.identity_token {
        return Credentials::Bearer(t.clone());
    }
    Credentials::Anonymous
}

fn decode_auth(b64: &str) -> Result<(String, String), String> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(b64.trim()).map_err(|e| e.to_string())?;
    let text = String::from_utf8(bytes).map_err(|_| "not UTF-8".to_string())?;
    let (u, p) = text.split_once(':').ok_or("expected base64 of username:password")?;
    Ok((u.to_string(), p.to_string()))
}

/// `http://host:port[/…]` → (plain, `host:port`); no scheme means https.
fn parse_endpoint(ep: &str) -> Result<(bool, String), String> {
    let (plain, rest) = if let Some(r) = ep.strip_prefix("http://") {
        (true, r)
    } else if let Some(r) = ep.strip_prefix("https://") {
        (false, r)
    } else if ep.contains("://") {
        return Err(format!("endpoint {ep:?}: only http:// and https:// are supported"));
    } else {
        (false, ep)
    };
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    if host.is_empty() {
        return Err(format!("endpoint {ep:?} has no host"));
    }
    let path = path.trim_end_matches('/');
    if !path.is_empty() && path != "v2" {
        return Err(format!("endpoint {ep:?}: a path other than /v2 is not supported"));
    }
    Ok((plain, host.to_string()))
}

/// Apply the first rewrite rule whose pattern matches.
fn rewrite(rules: &BTreeMap<String, String>, repository: &str) -> String {
    for (pattern, replacement) in rules {
        if let Ok(re) = regex::Regex::new(pattern)
            && re.is_match(repository)
        {
            return re.replace(repository, replacement.as_str()).into_owned();
        }
    }
    repository.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(yaml: &str) -> RegistriesConfig {
        let c: RegistriesConfig = serde_yaml_ng::from_str(yaml).unwrap();
        c.check().unwrap();
        c
    }

    #[test]
    fn mirrors_then_the_registry() {
        let c = cfg(r#"
mirrors:
  docker.io:
    endpoint: ["http://127.0.0.1:5000", "https://mirror.example:8443/v2"]
    rewrite:
      "^library/(.*)": "mirrored/$1"
configs:
  "mirror.example:8443":
    auth: {username: u, password: p}
    tls: {ca_file: /tmp/ca.pem, insecure_skip_verify: true}
  docker.io:
    auth: {auth: "dTI6cDI="}
"#);
        let eps = c.endpoints(&ImageRef::parse("busybox").unwrap(), false);
        assert_eq!(eps.len(), 3);
        assert_eq!((eps[0].host.as_str(), eps[0].plain_http, eps[0].mirror), ("127.0.0.1:5000", true, true));
        assert_eq!(eps[0].repository, "mirrored/busybox");
        assert_eq!(eps[1].host, "mirror.example:8443");
        assert!(!eps[1].plain_http && eps[1].insecure_skip_verify);
        assert_eq!(eps[1].credentials, Credentials::Basic("u".into(), "p".into()));
        assert_eq!(eps[1].ca_file.as_deref(), Some(Path::new("/tmp/ca.pem")));
        assert_eq!((eps[2].host.as_str(), eps[2].mirror), ("docker.io", false));
        assert_eq!(eps[2].repository, "library/busybox");
        assert_eq!(eps[2].credentials, Credentials::Basic("u2".into(), "p2".into()));
        // Another registry has no mirror: only itself, over plain HTTP when asked.
        let eps = c.endpoints(&ImageRef::parse("127.0.0.1:5000/x:1").unwrap(), true);
        assert_eq!(eps.len(), 1);
        assert_eq!(eps[0].url, "http://127.0.0.1:5000");
    }

    #[test]
    fn wildcard_mirror_and_own_endpoint() {
        let c = cfg(r#"
mirrors:
  "*":
    endpoint: ["http://127.0.0.1:5000"]
  "127.0.0.1:5000":
    endpoint: ["http://127.0.0.1:5000"]
"#);
        let eps = c.endpoints(&ImageRef::parse("quay.io/a/b").unwrap(), false);
        assert_eq!(eps.iter().map(|e| e.host.as_str()).collect::<Vec<_>>(), ["127.0.0.1:5000", "quay.io"]);
        // A registry listing itself as an http endpoint is reached over HTTP, once.
        let eps = c.endpoints(&ImageRef::parse("127.0.0.1:5000/b").unwrap(), false);
        assert_eq!(eps.len(), 1);
        assert!(eps[0].plain_http && !eps[0].mirror);
    }

    #[test]
    fn bad_files_are_refused() {
        for bad in [
            "mirrors: {docker.io: {endpoint: [\"ftp://x\"]}}",
            "mirrors: {docker.io: {endpoints: [\"http://x\"]}}",
            "mirrors: {docker.io: {rewrite: {\"(\": \"x\"}}}",
            "configs: {x: {auth: {auth: \"!!\"}}}",
        ] {
            let parsed: Result<RegistriesConfig, _> = serde_yaml_ng::from_str(bad);
            assert!(parsed.map_err(|e| e.to_string()).and_then(|c| c.check()).is_err(), "{bad}");
        }
        let dir = tempfile::tempdir().unwrap();
        assert!(RegistriesConfig::load(&dir.path().join("none.yaml"), false).is_ok());
        assert!(RegistriesConfig::load(&dir.path().join("none.yaml"), true).is_err());
    }
}
