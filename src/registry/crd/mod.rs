//! CustomResourceDefinitions: the schemas of custom resources (validation, pruning,
//! defaulting), the validation and status of CRDs themselves, and the resources the
//! registry serves for them.
//!
//! How it plugs into the registry: a served CRD version is a [`ResourceInfo`] whose codec
//! is [`Codec::Custom`]; the generic verbs of [`super::rest`] call the functions here where
//! custom resources differ (decoding with pruning and defaulting, schema and CEL
//! validation, scale paths, conversion), and every write of a CRD rebuilds the catalogue
//! ([`super::Registry::reload_crds`]).

pub mod checks;
pub mod conversion;
pub mod definition;
pub mod formats;
pub mod prune;
pub mod schema;
pub mod serve;
pub mod structural;
pub mod validate;

use std::sync::Arc;

use serde_json::{Value, json};

use super::decode::{DecodeResult, Decoded};
use super::error::{ApiError, ApiResult};
use super::field_error::FieldError;
use super::resource::{Codec, ResourceInfo};
use super::strategy::Subresource;
use serve::CustomResource;

/// The group and resource of CRDs.
pub const GROUP: &str = "apiextensions.k8s.io";
/// Store prefix of CRDs.
pub const CRD_PREFIX: &str = "/apiextensions.k8s.io/customresourcedefinitions/";

/// The custom resource behind a resource, if it is one.
pub fn custom(res: &ResourceInfo) -> Option<&Arc<CustomResource>> {
    match &res.codec {
        Codec::Custom(cr) => Some(cr),
        Codec::Builtin(_) => None,
    }
}

/// Whether the resource is `customresourcedefinitions`.
pub fn is_crd(res: &ResourceInfo) -> bool {
    res.group == GROUP && res.plural == "customresourcedefinitions"
}

/// Decode a custom resource body: metadata coerced through ObjectMeta, unknown fields
/// pruned (and reported), nulls the schema does not allow dropped, defaults applied.
pub fn decode(cr: &CustomResource, mut body: Value) -> DecodeResult {
    let schema = cr.schema.as_deref();
    let mut unknown = prune::coerce_metadata(&mut body, schema)?;
    if let Some(s) = schema {
        unknown.extend(prune::prune(&mut body, Some(s), true));
        prune::prune_nulls(&mut body, Some(s));
        prune::default(&mut body, Some(s));
    }
    unknown.sort();
    Ok(Decoded { object: body, unknown_fields: unknown })
}

/// What reads from storage do to a custom resource: prune what the schema no longer
/// declares and apply defaults, as the real server's storage decoder does.
pub fn on_read(cr: &CustomResource, obj: &mut Value) {
    if let Some(s) = cr.schema.as_deref() {
        prune::prune(obj, Some(s), true);
        prune::default(obj, Some(s));
    }
}

/// Validation of a custom resource beyond its metadata: the schema, embedded resources,
/// list types, the scale paths, and (when nothing blocking was found) its CEL rules.
pub fn validate_custom(cr: &CustomResource, obj: &Value, old: Option<&Value>, sub: Subresource) -> Vec<FieldError> {
    let Some(schema) = cr.schema.as_deref() else { return Vec::new() };
    let mut errs = Vec::new();
    match sub {
        Subresource::Status => {
            if let (Some(status), Some(ss)) = (obj.get("status"), cr.status_schema()) {
                errs.extend(validate::validate(ss, status, Some("status")));
            }
            errs.extend(scale_status_errors(cr, obj));
        }
        _ => {
            errs.extend(validate::validate(schema, obj, None));
            errs.extend(scale_spec_errors(cr, obj));
            errs.extend(scale_status_errors(cr, obj));
        }
    }
    errs.extend(checks::embedded_resources(schema, obj));
    let old_lists_ok = old.is_none_or(|o| checks::list_sets_and_maps(schema, o).is_empty());
    if old_lists_ok {
        errs.extend(checks::list_sets_and_maps(schema, obj));
    }
    if !cr.rules.is_empty() {
        let blocking = errs.iter().any(|e| {
            use super::field_error::ErrorType::*;
            matches!(e.kind, NotSupported | Required | TooLong | TooMany | TypeInvalid)
        });
        if blocking {
            errs.push(FieldError::invalid(
                "<nil>",
                "null",
                "some validation rules were not checked because the object was invalid; correct the existing errors to complete validation",
            ));
        } else {
            errs.extend(cr.rules.validate(schema, obj, old));
        }
    }
    errs
}

fn path_parts(path: &str) -> Vec<&str> {
    path.trim_start_matches('.').split('.').filter(|p| !p.is_empty()).collect()
}

fn at<'a>(obj: &'a Value, path: &str) -> Option<&'a Value> {
    path_parts(path).iter().try_fold(obj, |v, k| v.get(*k))
}

fn replicas_errors(obj: &Value, path: &str) -> Vec<FieldError> {
    match at(obj, path) {
        None | Some(Value::Null) => vec![],
        Some(v) => match v.as_i64() {
            Some(n) if n < 0 => vec![FieldError::invalid(path, n, "should be a non-negative integer")],
            Some(n) if n > i32::MAX as i64 => {
                vec![FieldError::invalid(path, n, format!("should be less than or equal to {}", i32::MAX))]
            }
            Some(_) => vec![],
            None => vec![FieldError::invalid(
                path,
                0,
                format!(
                    ".{} accessor error: {} is of the type {}, expected int64",
                    path_parts(path).join("."),
                    go_display(v),
                    go_type(v)
                ),
            )],
        },
    }
}

/// Go's `%v` of a decoded JSON value (strings unquoted).
fn go_display(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn go_type(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "string",
        Value::Bool(_) => "bool",
        Value::Number(_) => "float64",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
        Value::Null => "<nil>",
    }
}

fn scale_spec_errors(cr: &CustomResource, obj: &Value) -> Vec<FieldError> {
    cr.scale.as_ref().map(|s| replicas_errors(obj, &s.spec_replicas)).unwrap_or_default()
}

fn scale_status_errors(cr: &CustomResource, obj: &Value) -> Vec<FieldError> {
    let Some(s) = cr.scale.as_ref() else { return vec![] };
    let mut errs = replicas_errors(obj, &s.status_replicas);
    if let Some(ls) = &s.label_selector
        && let Some(v) = at(obj, ls)
        && !v.is_string()
        && !v.is_null()
    {
        errs.push(FieldError::invalid(
            ls.as_str(),
            "",
            format!("{ls} accessor error: {} is of the type {}, expected string", go_display(v), go_type(v)),
        ));
    }
    errs
}

/// The autoscaling/v1 Scale of a custom resource.
pub fn scale_of(cr: &CustomResource, obj: &Value) -> Value {
    let Some(paths) = cr.scale.as_ref() else { return Value::Null };
    let m = obj.get("metadata").cloned().unwrap_or_default();
    let mut metadata = serde_json::Map::new();
    for f in ["name", "namespace", "uid", "resourceVersion", "creationTimestamp"] {
        if let Some(v) = m.get(f) {
            metadata.insert(f.into(), v.clone());
        }
    }
    let spec = at(obj, &paths.spec_replicas).and_then(Value::as_i64).unwrap_or(0);
    let mut status = json!({"replicas": at(obj, &paths.status_replicas).and_then(Value::as_i64).unwrap_or(0)});
    if let Some(sel) = paths.label_selector.as_ref().and_then(|p| at(obj, p)).and_then(Value::as_str)
        && !sel.is_empty()
    {
        status["selector"] = sel.into();
    }
    json!({"kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": metadata, "spec": {"replicas": spec}, "status": status})
}

/// Write the desired replicas of a scale update into the custom resource.
pub fn set_spec_replicas(cr: &CustomResource, obj: &mut Value, replicas: i64) -> ApiResult<()> {
    let Some(paths) = cr.scale.as_ref() else { return Err(ApiError::path_not_found()) };
    let parts = path_parts(&paths.spec_replicas);
    let mut cur = obj;
    for (i, p) in parts.iter().enumerate() {
        let Some(m) = cur.as_object_mut() else {
            return Err(ApiError::bad_request(format!("{} is not an object", paths.spec_replicas)));
        };
        if i + 1 == parts.len() {
            m.insert(p.to_string(), replicas.into());
            return Ok(());
        }
        cur = m.entry(p.to_string()).or_insert_with(|| json!({}));
    }
    Ok(())
}

/// The value of a field label of a custom resource, for field selectors: metadata.name,
/// metadata.namespace (namespaced kinds) and the version's selectable fields.
pub fn field_value(
    res: &ResourceInfo,
    cr: &CustomResource,
    obj: &Value,
    field: &str,
) -> Result<Option<String>, String> {
    match field {
        "metadata.name" => Ok(Some(super::meta::name(obj).to_string())),
        "metadata.namespace" if res.namespaced => Ok(Some(super::meta::namespace(obj).to_string())),
        _ => {
            if !cr.selectable_fields.iter().any(|f| f.trim_start_matches('.') == field) {
                return Err(format!("field label not supported: {field}"));
            }
            Ok(Some(match at(obj, field) {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(s)) => s.clone(),
                Some(v) => v.to_string(),
            }))
        }
    }
}

/// The 405 for creating custom resources of a CRD being deleted.
pub fn terminating_error(res: &ResourceInfo) -> ApiError {
    let mut e = ApiError::method_not_supported(&res.group, &res.plural, "create");
    e.message = "create not allowed while custom resource definition is terminating".into();
    e
}

/// The 415 for strategic merge patches, which custom resources do not take.
pub fn smp_refused() -> ApiError {
    ApiError::unsupported_media_type(
        "application/strategic-merge-patch+json",
        &["application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml"],
    )
}
