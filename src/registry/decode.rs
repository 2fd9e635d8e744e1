//! Decoding request bodies through the k8s-openapi types.
//!
//! A body is deserialized into its Rust type (which checks field types) and
//! serialized back (which drops what the type does not know). Fields the type
//! ignored are collected with their paths, so the registry can refuse them under
//! `fieldValidation=Strict`, warn under `Warn`, or drop them under `Ignore`,
//! exactly as the real API server does.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The outcome of decoding one object.
#[derive(Debug)]
pub struct Decoded {
    /// The object as the type serializes it.
    pub object: Value,
    /// Paths of fields the type does not have (`spec.containers[0].foo`).
    pub unknown_fields: Vec<String>,
}

/// `Err` carries the decoder's message (a type mismatch, say).
pub type DecodeResult = Result<Decoded, String>;

/// Decode `v` through `T` and back.
pub fn decode_typed<T: DeserializeOwned + Serialize>(v: Value) -> DecodeResult {
    let mut unknown = Vec::new();
    let typed: T = serde_ignored::deserialize(v, |path| unknown.push(render_path(&path))).map_err(|e| e.to_string())?;
    let object = serde_json::to_value(&typed).map_err(|e| e.to_string())?;
    Ok(Decoded { object, unknown_fields: unknown })
}

/// Render a serde_ignored path the way the API server's strict decoder does:
/// `spec.template.spec.containers[0].foo`.
fn render_path(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{}]", render_path(parent), index),
        Path::Map { parent, key } => {
            let p = render_path(parent);
            if p.is_empty() { key.clone() } else { format!("{p}.{key}") }
        }
        Path::Some { parent } | Path::NewtypeStruct { parent } | Path::NewtypeVariant { parent } => render_path(parent),
    }
}

/// The message the real API server puts in a 400 when a body fails to decode.
pub fn cannot_handle(kind: &str, version: &str, detail: &str) -> String {
    format!("{kind} in version {version:?} cannot be handled as a {kind}: {detail}")
}

/// The strict-decoding message for a set of problems (`unknown field "x"`, `duplicate field "y"`).
pub fn strict_error(problems: &[String]) -> String {
    format!("strict decoding error: {}", problems.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::Deployment;
    use serde_json::json;

    #[test]
    fn finds_unknown_fields_with_paths() {
        let d = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "x", "bogus": 1},
            "spec": {"selector": {}, "template": {"spec": {"containers": [{"name": "a", "imagee": "b"}]}}}
        });
        let out = decode_typed::<Deployment>(d).expect("decodes");
        assert_eq!(out.unknown_fields, vec!["metadata.bogus", "spec.template.spec.containers[0].imagee"]);
        assert!(out.object["spec"]["template"]["spec"]["containers"][0].get("imagee").is_none());
    }

    #[test]
    fn type_errors_are_reported() {
        let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"replicas": "three"}});
        assert!(decode_typed::<Deployment>(d).is_err());
    }
}
