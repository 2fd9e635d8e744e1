//! The `certificates.k8s.io` group: CertificateSigningRequests (basics).

use serde_json::Value;

use super::access::Fields;
use super::core::objects::base64_decode;
use super::meta::{self, MetaRules};
use super::names;
use crate::registry::field_error::{FieldError, Path};

const USAGES: [&str; 23] = [
    "any",
    "cert sign",
    "client auth",
    "code signing",
    "content commitment",
    "crl sign",
    "data encipherment",
    "decipher only",
    "digital signature",
    "email protection",
    "encipher only",
    "ipsec end system",
    "ipsec tunnel",
    "ipsec user",
    "key agreement",
    "key encipherment",
    "microsoft sgc",
    "netscape sgc",
    "ocsp signing",
    "s/mime",
    "server auth",
    "signing",
    "timestamping",
];

/// `ValidateSignerName`.
pub fn validate_signer_name(path: &Path, signer: &str) -> Vec<FieldError> {
    if signer.is_empty() {
        return vec![FieldError::required(path, "")];
    }
    let segments: Vec<&str> = signer.split('/').collect();
    if segments.len() != 2 {
        return vec![FieldError::invalid(
            path,
            signer,
            "must be a fully qualified domain and path of the form 'example.com/signer-name'",
        )];
    }
    let mut errs = Vec::new();
    let (domain, rest) = (segments[0], segments[1]);
    if domain.len() > 253 {
        errs.push(FieldError::too_long(path, 253));
    }
    let labels: Vec<&str> = domain.split('.').collect();
    for l in &labels {
        let e = names::is_dns1123_label(l);
        if !e.is_empty() {
            errs.extend(
                e.into_iter().map(|m| FieldError::invalid(path, domain, format!("validating label {l:?}: {m}"))),
            );
            break;
        }
    }
    if labels.len() < 2 {
        errs.push(FieldError::invalid(path, domain, "should be a domain with at least two segments separated by dots"));
    }
    for l in rest.split('.') {
        let e = names::is_dns1123_label(l);
        if !e.is_empty() {
            errs.extend(e.into_iter().map(|m| FieldError::invalid(path, rest, format!("validating label {l:?}: {m}"))));
            break;
        }
    }
    if rest.len() > 253 - 63 - 1 {
        errs.push(FieldError::too_long(path, 253 - 63 - 1));
    }
    errs
}

/// CertificateSigningRequest create and update.
pub fn validate_csr(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let rules = MetaRules { name: |_, _| vec![], namespaced: Some(false), builtin: true };
    let mut errs = meta::validate_meta(obj, old, rules);
    let spec = obj.field("spec");
    let sp = Path::new("spec");
    let request = spec.str_of("request");
    let pem = base64_decode(request).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
    if !pem.contains("-----BEGIN CERTIFICATE REQUEST-----") {
        errs.push(FieldError::invalid(sp.child("request"), request, "PEM block type must be CERTIFICATE REQUEST"));
    }
    let usages = spec.strings("usages");
    if usages.is_empty() {
        errs.push(FieldError::required(sp.child("usages"), "usages must be provided"));
    }
    for (i, u) in usages.iter().enumerate() {
        if !USAGES.contains(u) {
            errs.push(FieldError::not_supported(sp.child("usages").index(i), *u, &USAGES));
        }
    }
    for (i, u) in usages.iter().enumerate() {
        if usages[..i].contains(u) {
            errs.push(FieldError::duplicate(sp.child("usages").index(i), *u));
        }
    }
    let signer = spec.str_of("signerName");
    if signer == "kubernetes.io/legacy-unknown" {
        errs.push(FieldError::invalid(
            sp.child("signerName"),
            signer,
            "the legacy signerName is not allowed via this API version",
        ));
    } else {
        errs.extend(validate_signer_name(&sp.child("signerName"), signer));
    }
    if let Some(e) = spec.int("expirationSeconds").filter(|e| *e < 600) {
        errs.push(FieldError::invalid(
            sp.child("expirationSeconds"),
            e,
            "may not specify a duration less than 600 seconds (10 minutes)",
        ));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn csrs() {
        let csr = json!({"metadata": {"name": "node-csr"}, "spec": {"request": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURSBSRVFVRVNULS0tLS0K",
            "signerName": "kubernetes.io/kube-apiserver-client", "usages": ["client auth"]}});
        assert!(validate_csr(&csr, None).is_empty());
        let bad = json!({"metadata": {"name": "x"}, "spec": {"request": "", "signerName": "bad", "usages": ["fly"]}});
        let m: Vec<String> = validate_csr(&bad, None).iter().map(ToString::to_string).collect();
        assert_eq!(m[0], "spec.request: Invalid value: \"\": PEM block type must be CERTIFICATE REQUEST");
        assert!(m[1].starts_with("spec.usages[0]: Unsupported value: \"fly\": supported values: \"any\""));
        assert_eq!(
            m[2],
            "spec.signerName: Invalid value: \"bad\": must be a fully qualified domain and path of the form 'example.com/signer-name'"
        );
    }
}
