//! ServiceAccount tokens: ES256-signed JWTs with the claims Kubernetes puts in
//! them (bound tokens from TokenRequest, and the legacy ones of token Secrets),
//! their verification for authentication, and the public keys as JWKS for the
//! OIDC discovery endpoints.
//!
//! JWS compact serialization is a few lines over `ring` (already our TLS crypto);
//! a JWT crate would bring a second crypto stack for no gain.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ring::signature::{self, ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The issuer of bound tokens (k3s's).
pub const ISSUER: &str = "https://kubernetes.default.svc.cluster.local";
/// The issuer of legacy Secret tokens.
pub const LEGACY_ISSUER: &str = "kubernetes/serviceaccount";

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("service account signing key {path}: {message}")]
    Key { path: String, message: String },
    #[error("invalid bearer token")]
    Invalid,
    #[error("token has expired")]
    Expired,
    #[error("token audiences {0:?} do not match the API server's")]
    Audience(Vec<String>),
}

/// Signs and verifies ServiceAccount tokens with one P-256 key.
pub struct TokenIssuer {
    key: EcdsaKeyPair,
    kid: String,
    jwk: Value,
    public: Vec<u8>,
    pub issuer: String,
    /// Audiences the API server accepts (the issuer's by default, as k3s configures).
    pub api_audiences: Vec<String>,
}

impl std::fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenIssuer").field("kid", &self.kid).field("issuer", &self.issuer).finish()
    }
}

impl TokenIssuer {
    /// Load the signing key (PKCS#8 PEM) from `path`, creating it on first start.
    pub fn load_or_create(path: &Path) -> Result<TokenIssuer, TokenError> {
        let err = |m: String| TokenError::Key { path: path.display().to_string(), message: m };
        let pem = match std::fs::read_to_string(path) {
            Ok(p) => p,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let kp = rcgen::KeyPair::generate().map_err(|e| err(e.to_string()))?;
                let pem = kp.serialize_pem();
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
                }
                use std::io::Write;
                use std::os::unix::fs::OpenOptionsExt;
                let mut f = std::fs::OpenOptions::new()
                    .create_new(true)
                    .write(true)
                    .mode(0o600)
                    .open(path)
                    .map_err(|e| err(e.to_string()))?;
                f.write_all(pem.as_bytes()).and_then(|_| f.sync_all()).map_err(|e| err(e.to_string()))?;
                pem
            }
            Err(e) => return Err(err(e.to_string())),
        };
        let der = pem::parse(&pem).map_err(|e| err(e.to_string()))?;
        Self::from_pkcs8(der.contents()).map_err(err)
    }

    fn from_pkcs8(der: &[u8]) -> Result<TokenIssuer, String> {
        let rng = ring::rand::SystemRandom::new();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der, &rng).map_err(|e| e.to_string())?;
        let public = key.public_key().as_ref().to_vec();
        // SubjectPublicKeyInfo of a P-256 key: fixed prefix + the uncompressed point.
        const SPKI_PREFIX: [u8; 26] = [
            0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
            0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
        ];
        let spki: Vec<u8> = SPKI_PREFIX.iter().chain(public.iter()).copied().collect();
        // Kubernetes' key id: base64url of the SHA-256 of the public key's DER.
        let kid = B64.encode(Sha256::digest(&spki));
        let (x, y) = (&public[1..33], &public[33..65]);
        let jwk = json!({"use": "sig", "kty": "EC", "kid": kid, "crv": "P-256", "alg": "ES256", "x": B64.encode(x), "y": B64.encode(y)});
        Ok(TokenIssuer { key, kid, jwk, public, issuer: ISSUER.into(), api_audiences: vec![ISSUER.into()] })
    }

    /// The JSON Web Key Set (`/openid/v1/jwks`).
    pub fn jwks(&self) -> Value {
        json!({"keys": [self.jwk]})
    }

    /// The OIDC discovery document (`/.well-known/openid-configuration`).
    pub fn openid_configuration(&self) -> Value {
        json!({
            "issuer": self.issuer,
            "jwks_uri": format!("{}/openid/v1/jwks", self.issuer),
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256"],
        })
    }

    /// Sign a set of claims.
    pub fn sign(&self, claims: &Value) -> String {
        let header = json!({"alg": "ES256", "kid": self.kid});
        let input = format!("{}.{}", B64.encode(header.to_string()), B64.encode(claims.to_string()));
        let rng = ring::rand::SystemRandom::new();
        let sig = self.key.sign(&rng, input.as_bytes()).map(|s| s.as_ref().to_vec()).unwrap_or_default();
        format!("{input}.{}", B64.encode(sig))
    }

    /// Check a token's signature, time and audience (one of the API server's); returns its claims.
    pub fn verify(&self, token: &str, now: i64) -> Result<Value, TokenError> {
        self.verify_for(token, now, &self.api_audiences).map(|(claims, _)| claims)
    }

    /// Check a token for one of `audiences`; returns its claims and the audiences it is
    /// valid for among them (all of them for legacy tokens, which carry none).
    pub fn verify_for(&self, token: &str, now: i64, audiences: &[String]) -> Result<(Value, Vec<String>), TokenError> {
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(TokenError::Invalid);
        };
        let header: Value =
            B64.decode(h).ok().and_then(|b| serde_json::from_slice(&b).ok()).ok_or(TokenError::Invalid)?;
        if header["alg"] != "ES256" {
            return Err(TokenError::Invalid);
        }
        let sig = B64.decode(s).map_err(|_| TokenError::Invalid)?;
        signature::UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &self.public)
            .verify(format!("{h}.{p}").as_bytes(), &sig)
            .map_err(|_| TokenError::Invalid)?;
        let claims: Value =
            B64.decode(p).ok().and_then(|b| serde_json::from_slice(&b).ok()).ok_or(TokenError::Invalid)?;
        if claims["iss"] == LEGACY_ISSUER {
            return Ok((claims, audiences.to_vec()));
        }
        if claims["iss"] != self.issuer.as_str() {
            return Err(TokenError::Invalid);
        }
        if claims["exp"].as_i64().is_some_and(|exp| exp < now)
            || claims["nbf"].as_i64().is_some_and(|nbf| nbf > now + 60)
        {
            return Err(TokenError::Expired);
        }
        let aud: Vec<String> = match &claims["aud"] {
            Value::String(a) => vec![a.clone()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
            _ => vec![],
        };
        let matched: Vec<String> = audiences.iter().filter(|a| aud.contains(a)).cloned().collect();
        if matched.is_empty() {
            return Err(TokenError::Audience(aud));
        }
        Ok((claims, matched))
    }
}

/// What a verified token says about its subject.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceAccountClaims {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    /// A bound object (Pod, Secret, Node): kind, name, uid.
    pub bound: Option<(String, String, String)>,
}

/// Read the ServiceAccount identity out of verified claims (bound or legacy).
pub fn service_account_of(claims: &Value) -> Option<ServiceAccountClaims> {
    if claims["iss"] == LEGACY_ISSUER {
        let ns = claims["kubernetes.io/serviceaccount/namespace"].as_str()?;
        let name = claims["kubernetes.io/serviceaccount/service-account.name"].as_str()?;
        let uid = claims["kubernetes.io/serviceaccount/service-account.uid"].as_str().unwrap_or("");
        let secret = claims["kubernetes.io/serviceaccount/secret.name"].as_str().unwrap_or("");
        return Some(ServiceAccountClaims {
            namespace: ns.into(),
            name: name.into(),
            uid: uid.into(),
            bound: Some(("Secret".into(), secret.into(), String::new())),
        });
    }
    let k = &claims["kubernetes.io"];
    let bound = ["pod", "secret", "node"].iter().find_map(|kind| {
        let o = k.get(*kind)?;
        let title = match *kind {
            "pod" => "Pod",
            "secret" => "Secret",
            _ => "Node",
        };
        Some((title.to_string(), o["name"].as_str()?.to_string(), o["uid"].as_str().unwrap_or("").to_string()))
    });
    Some(ServiceAccountClaims {
        namespace: k["namespace"].as_str()?.into(),
        name: k["serviceaccount"]["name"].as_str()?.into(),
        uid: k["serviceaccount"]["uid"].as_str().unwrap_or("").into(),
        bound,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_and_reject() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("service.key");
        let issuer = TokenIssuer::load_or_create(&path).unwrap();
        let again = TokenIssuer::load_or_create(&path).unwrap();
        assert_eq!(issuer.kid, again.kid, "the key is kept");
        let now = 1_700_000_000;
        let claims = json!({
            "iss": ISSUER, "aud": [ISSUER], "sub": "system:serviceaccount:default:default",
            "iat": now, "nbf": now, "exp": now + 3600,
            "kubernetes.io": {"namespace": "default", "serviceaccount": {"name": "default", "uid": "u"}, "pod": {"name": "p", "uid": "pu"}},
        });
        let t = issuer.sign(&claims);
        assert_eq!(again.verify(&t, now + 10).unwrap(), claims);
        let sa = service_account_of(&claims).unwrap();
        assert_eq!(
            (sa.namespace.as_str(), sa.name.as_str(), sa.bound.unwrap().0.as_str()),
            ("default", "default", "Pod")
        );
        assert!(matches!(issuer.verify(&t, now + 7200), Err(TokenError::Expired)));
        let mut tampered = t.clone();
        tampered.replace_range(t.len() - 4.., "AAAA");
        assert!(matches!(issuer.verify(&tampered, now), Err(TokenError::Invalid)));
        let other = issuer.sign(&json!({"iss": ISSUER, "aud": ["vault"], "exp": now + 10}));
        assert!(matches!(issuer.verify(&other, now), Err(TokenError::Audience(_))));
        assert_eq!(issuer.jwks()["keys"][0]["kid"], issuer.kid.as_str());
    }
}
