//! Image references and digests: `busybox` → `docker.io/library/busybox:latest`.
//!
//! Parsing and normalisation follow Docker's (distribution/reference) rules, through
//! `oci_spec::distribution::Reference`; this module adds the checks and the forms the
//! store needs (image ids, short ids, digests).

use std::fmt;

use oci_spec::distribution::{ParseError, Reference};

/// Why a string is not an image reference or digest.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReferenceError {
    #[error("invalid image reference {reference:?}: {reason}")]
    Invalid { reference: String, reason: String },
    #[error("invalid digest {digest:?}: expected sha256:<64 hex digits>")]
    Digest { digest: String },
}

/// A normalised image reference: registry, repository, and a tag and/or a digest.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ImageRef {
    registry: String,
    repository: String,
    tag: Option<String>,
    digest: Option<String>,
}

impl ImageRef {
    /// Parse and normalise: a missing registry is `docker.io`, a single-component Docker Hub name
    /// gets `library/`, a missing tag (without a digest) is `latest`.
    pub fn parse(s: &str) -> Result<ImageRef, ReferenceError> {
        let invalid = |reason: &str| ReferenceError::Invalid { reference: s.to_string(), reason: reason.to_string() };
        if s.trim() != s || s.is_empty() {
            return Err(invalid("empty or surrounded by spaces"));
        }
        let r: Reference = s.parse().map_err(|e: ParseError| {
            // The regex rejects upper case before oci-spec can say so; say it ourselves.
            let name = s.split(['@']).next().unwrap_or(s);
            let path = match name.rsplit_once(':') {
                Some((p, t)) if !t.contains('/') => p,
                _ => name,
            };
            let repo = path.split_once('/').map(|(first, rest)| {
                if first.contains('.') || first.contains(':') || first == "localhost" { rest } else { path }
            });
            if repo.unwrap_or(path).chars().any(|c| c.is_ascii_uppercase()) {
                invalid("repository name must be lowercase")
            } else {
                invalid(&e.to_string())
            }
        })?;
        if let Some(d) = r.digest() {
            check_digest(d)?;
        }
        Ok(ImageRef {
            registry: r.registry().to_string(),
            repository: r.repository().to_string(),
            tag: r.tag().map(str::to_string),
            digest: r.digest().map(str::to_string),
        })
    }

    /// Registry host (and port), e.g. `docker.io`, `127.0.0.1:5000`.
    pub fn registry(&self) -> &str {
        &self.registry
    }
    /// Repository path inside the registry, e.g. `library/busybox`.
    pub fn repository(&self) -> &str {
        &self.repository
    }
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }
    pub fn digest(&self) -> Option<&str> {
        self.digest.as_deref()
    }
    /// `registry/repository`, e.g. `docker.io/library/busybox`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }
    /// The same repository at a digest (the tag dropped).
    pub fn with_digest(&self, digest: &str) -> ImageRef {
        ImageRef { tag: None, digest: Some(digest.to_string()), ..self.clone() }
    }
    /// The reference oci-client works with, pointing at `registry` (a mirror, or the registry itself)
    /// and `repository` (possibly rewritten for a mirror).
    pub(crate) fn to_oci(&self, registry: &str, repository: &str) -> Reference {
        match (&self.tag, &self.digest) {
            (Some(t), Some(d)) => {
                Reference::with_tag_and_digest(registry.to_string(), repository.to_string(), t.clone(), d.clone())
            }
            (None, Some(d)) => Reference::with_digest(registry.to_string(), repository.to_string(), d.clone()),
            (Some(t), None) => Reference::with_tag(registry.to_string(), repository.to_string(), t.clone()),
            (None, None) => Reference::with_tag(registry.to_string(), repository.to_string(), "latest".into()),
        }
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// Check a `sha256:<hex>` digest (the only algorithm the store keeps).
pub fn check_digest(d: &str) -> Result<(), ReferenceError> {
    match d.strip_prefix("sha256:") {
        Some(hex) if is_hex64(hex) => Ok(()),
        _ => Err(ReferenceError::Digest { digest: d.to_string() }),
    }
}

/// The hex part of a valid `sha256:` digest.
pub fn digest_hex(d: &str) -> Result<&str, ReferenceError> {
    check_digest(d)?;
    Ok(&d[7..])
}

pub(crate) fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// What a user may name an image by on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// A full image id (config digest), `sha256:<hex>` or the 64 hex digits alone.
    Id(String),
    /// A reference (by tag or by digest).
    Ref(ImageRef),
    /// A short id: a prefix of the hex digits of an image id (as `images ls` prints it).
    IdPrefix(String),
}

impl Lookup {
    /// Classify `s`: a full id, else a reference, else (hex digits only) a short id.
    pub fn parse(s: &str) -> Result<Lookup, ReferenceError> {
        if let Some(hex) = s.strip_prefix("sha256:") {
            return if is_hex64(hex) {
                Ok(Lookup::Id(s.to_string()))
            } else if !hex.is_empty() && hex.len() < 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                Ok(Lookup::IdPrefix(hex.to_ascii_lowercase()))
            } else {
                Err(ReferenceError::Digest { digest: s.to_string() })
            };
        }
        if is_hex64(s) {
            return Ok(Lookup::Id(format!("sha256:{s}")));
        }
        match ImageRef::parse(s) {
            Ok(r) => Ok(Lookup::Ref(r)),
            Err(e) => {
                if !s.is_empty() && s.len() < 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
                    Ok(Lookup::IdPrefix(s.to_ascii_lowercase()))
                } else {
                    Err(e)
                }
            }
        }
    }

    /// Could this also be a short id (a reference made only of hex digits, like `abc123`)?
    pub fn as_id_prefix(s: &str) -> Option<String> {
        (s.len() >= 3 && s.len() < 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| s.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        ImageRef::parse(s).unwrap_or_else(|e| panic!("{s}: {e}")).to_string()
    }

    const D: &str = "sha256:8448ca538c3445cc317fd5f4284ae0a44978241753e8dab124161601ad3bb57b";

    #[test]
    fn normalisation() {
        assert_eq!(norm("busybox"), "docker.io/library/busybox:latest");
        assert_eq!(norm("busybox:1.36"), "docker.io/library/busybox:1.36");
        assert_eq!(norm("library/busybox"), "docker.io/library/busybox:latest");
        assert_eq!(norm("docker.io/busybox"), "docker.io/library/busybox:latest");
        assert_eq!(norm("index.docker.io/library/busybox"), "docker.io/library/busybox:latest");
        assert_eq!(norm("rancher/k3s:v1.30"), "docker.io/rancher/k3s:v1.30");
        assert_eq!(norm("127.0.0.1:5000/busybox:1.36"), "127.0.0.1:5000/busybox:1.36");
        assert_eq!(norm("localhost/a/b"), "localhost/a/b:latest");
        assert_eq!(norm("registry.k8s.io/pause:3.10"), "registry.k8s.io/pause:3.10");
        assert_eq!(norm("quay.io/a/b/c:Tag_1.x-y"), "quay.io/a/b/c:Tag_1.x-y");
    }

    #[test]
    fn digests() {
        let r = ImageRef::parse(&format!("busybox@{D}")).unwrap();
        assert_eq!(r.to_string(), format!("docker.io/library/busybox@{D}"));
        assert_eq!(r.tag(), None);
        assert_eq!(r.digest(), Some(D));
        let r = ImageRef::parse(&format!("busybox:1.36@{D}")).unwrap();
        assert_eq!(r.tag(), Some("1.36"));
        assert_eq!(r.with_digest(D).to_string(), format!("docker.io/library/busybox@{D}"));
        assert!(ImageRef::parse("busybox@sha256:abc").is_err());
        assert!(ImageRef::parse(&format!("busybox@sha512:{}", "a".repeat(128))).is_err());
        assert!(check_digest(D).is_ok());
        assert!(check_digest("sha256:ABC").is_err());
        assert_eq!(digest_hex(D).unwrap().len(), 64);
    }

    #[test]
    fn invalid() {
        for bad in ["", " busybox", "Busybox", "docker.io/Library/busybox", "busybox:", "a//b", "busybox:-x", "-a"] {
            assert!(ImageRef::parse(bad).is_err(), "{bad:?} should be invalid");
        }
        let e = ImageRef::parse("Busybox").unwrap_err().to_string();
        assert!(e.contains("lowercase"), "{e}");
        // Upper case in a registry host or a tag is fine.
        assert!(ImageRef::parse("Registry.Example:5000/busybox:Latest").is_ok());
    }

    #[test]
    fn lookups() {
        let hex = &D[7..];
        assert_eq!(Lookup::parse(D).unwrap(), Lookup::Id(D.into()));
        assert_eq!(Lookup::parse(hex).unwrap(), Lookup::Id(D.into()));
        assert_eq!(Lookup::parse("sha256:8448ca").unwrap(), Lookup::IdPrefix("8448ca".into()));
        assert!(matches!(Lookup::parse("busybox").unwrap(), Lookup::Ref(_)));
        // Hex-only strings parse as references too; callers try them as short ids as well.
        assert!(matches!(Lookup::parse("8448ca538c34").unwrap(), Lookup::Ref(_)));
        assert_eq!(Lookup::as_id_prefix("8448ca538c34"), Some("8448ca538c34".into()));
        assert_eq!(Lookup::as_id_prefix("busybox"), None);
        assert!(Lookup::parse("sha256:xyz").is_err());
    }
}
