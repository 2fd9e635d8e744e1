//! What the registry serves for a CustomResourceDefinition: one resource per served
//! version (with its schema, rules, subresources, printer columns, selectable fields,
//! deprecation and conversion), and the OpenAPI definitions of its kinds, named as the real
//! server names them (`com.example.v1.Widget`).

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::definition::{condition_true, storage_version};
use super::schema::Schema;
use crate::cel::RuleSet;
use crate::registry::catalog::Storage;
use crate::registry::resource::{Codec, ResourceInfo};
use crate::registry::schema::REF_PREFIX;

/// Verbs of custom resources, in the order the real server lists them.
pub const CR_VERBS: &[&str] = &["delete", "deletecollection", "get", "list", "patch", "create", "update", "watch"];

/// The scale subresource's paths.
#[derive(Clone, Debug)]
pub struct ScalePaths {
    pub spec_replicas: String,
    pub status_replicas: String,
    pub label_selector: Option<String>,
}

/// Where a conversion webhook is.
#[derive(Clone, Debug)]
pub enum WebhookTarget {
    Url(String),
    Service { namespace: String, name: String, path: String, port: u16 },
}

/// How objects convert between versions.
#[derive(Clone, Debug)]
pub enum Conversion {
    /// Only `apiVersion` changes.
    None,
    Webhook {
        target: WebhookTarget,
        ca_bundle: Option<Vec<u8>>,
        review_versions: Vec<String>,
    },
}

/// A custom resource in one version: what the registry needs beyond [`ResourceInfo`].
#[derive(Debug)]
pub struct CustomResource {
    pub crd_name: String,
    pub schema: Option<Arc<Schema>>,
    pub rules: Arc<RuleSet>,
    pub columns: Vec<Value>,
    pub scale: Option<ScalePaths>,
    /// `.spec.color` style paths usable in field selectors.
    pub selectable_fields: Vec<String>,
    /// The Warning header text for requests to a deprecated version.
    pub deprecation_warning: Option<String>,
    pub conversion: Conversion,
    /// The CRD is being deleted: no new objects.
    pub terminating: bool,
    /// Served versions (conversion targets).
    pub versions: Vec<String>,
}

impl CustomResource {
    /// The schema of `status` (validation of `/status` writes).
    pub fn status_schema(&self) -> Option<&Schema> {
        self.schema.as_ref().and_then(|s| s.properties.get("status"))
    }
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

/// `com.example.v1.Widget` for group `example.com`.
pub fn definition_name(group: &str, version: &str, kind: &str) -> String {
    let mut parts: Vec<&str> = group.split('.').collect();
    parts.reverse();
    format!("{}.{version}.{kind}", parts.join("."))
}

/// Whether the CRD's resources are served (its names are accepted or it is established).
pub fn is_served(crd: &Value) -> bool {
    condition_true(crd, "NamesAccepted") || condition_true(crd, "Established")
}

fn conversion_of(crd: &Value) -> Conversion {
    let c = crd.pointer("/spec/conversion").cloned().unwrap_or_default();
    if s(&c, "strategy") != "Webhook" {
        return Conversion::None;
    }
    let cc = c.pointer("/webhook/clientConfig").cloned().unwrap_or_default();
    let target = match cc.get("url").and_then(Value::as_str) {
        Some(u) => WebhookTarget::Url(u.to_string()),
        None => {
            let svc = cc.get("service").cloned().unwrap_or_default();
            WebhookTarget::Service {
                namespace: s(&svc, "namespace").to_string(),
                name: s(&svc, "name").to_string(),
                path: s(&svc, "path").to_string(),
                port: svc.get("port").and_then(Value::as_u64).unwrap_or(443) as u16,
            }
        }
    };
    use base64::Engine;
    let ca_bundle = cc
        .get("caBundle")
        .and_then(Value::as_str)
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .filter(|b| !b.is_empty());
    Conversion::Webhook { target, ca_bundle, review_versions: strings(c.pointer("/webhook/conversionReviewVersions")) }
}

/// The resources a CRD serves (none until its names are accepted), each with its
/// OpenAPI definition (v3 form, and the v2 form when it differs).
pub fn resources_of(crd: &Value) -> Vec<(ResourceInfo, Value, Value)> {
    if !is_served(crd) {
        return Vec::new();
    }
    let spec = crd.get("spec").cloned().unwrap_or_default();
    let names = crd.pointer("/status/acceptedNames").filter(|n| !s(n, "plural").is_empty()).unwrap_or(&spec["names"]);
    let group = s(&spec, "group").to_string();
    let plural = s(names, "plural").to_string();
    let kind = s(names, "kind").to_string();
    let storage = storage_version(crd).unwrap_or("").to_string();
    let terminating = condition_true(crd, "Terminating");
    let conversion = conversion_of(crd);
    let versions: Vec<&Value> =
        spec.get("versions").and_then(Value::as_array).map(|a| a.iter().collect()).unwrap_or_default();
    let served: Vec<String> = versions
        .iter()
        .filter(|v| v.get("served") == Some(&Value::Bool(true)))
        .map(|v| s(v, "name").to_string())
        .collect();
    let mut out = Vec::new();
    for v in versions {
        if v.get("served") != Some(&Value::Bool(true)) {
            continue;
        }
        let version = s(v, "name").to_string();
        let raw_schema = v.pointer("/schema/openAPIV3Schema").cloned();
        let schema = raw_schema.as_ref().map(|r| Arc::new(Schema::from_value(r)));
        let rules = Arc::new(schema.as_deref().map(RuleSet::new).unwrap_or_default());
        let scale = v.pointer("/subresources/scale").filter(|x| x.is_object()).map(|sc| ScalePaths {
            spec_replicas: s(sc, "specReplicasPath").to_string(),
            status_replicas: s(sc, "statusReplicasPath").to_string(),
            label_selector: sc.get("labelSelectorPath").and_then(Value::as_str).map(str::to_string),
        });
        let deprecation_warning = (v.get("deprecated") == Some(&Value::Bool(true))).then(|| {
            v.get("deprecationWarning")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| format!("{group}/{version} {kind} is deprecated"))
        });
        let has_status = v.pointer("/subresources/status").is_some_and(|x| !x.is_null());
        let cr = CustomResource {
            crd_name: crate::registry::meta::name(crd).to_string(),
            schema,
            rules,
            columns: v.get("additionalPrinterColumns").and_then(Value::as_array).cloned().unwrap_or_default(),
            scale: scale.clone(),
            selectable_fields: v
                .get("selectableFields")
                .and_then(Value::as_array)
                .map(|a| a.iter().map(|f| s(f, "jsonPath").to_string()).collect())
                .unwrap_or_default(),
            deprecation_warning,
            conversion: conversion.clone(),
            terminating,
            versions: served.clone(),
        };
        let definition = definition_name(&group, &version, &kind);
        let info = ResourceInfo {
            group: group.clone(),
            version: version.clone(),
            kind: kind.clone(),
            list_kind: s(names, "listKind").to_string(),
            plural: plural.clone(),
            singular: s(names, "singular").to_string(),
            namespaced: s(&spec, "scope") == "Namespaced",
            short_names: strings(names.get("shortNames")),
            categories: strings(names.get("categories")),
            verbs: CR_VERBS.iter().map(|v| v.to_string()).collect(),
            storage: Storage::Stored,
            definition: definition.clone(),
            has_status,
            has_scale: scale.is_some(),
            tracks_generation: true,
            ttl: None,
            storage_prefix: format!("/{group}/{plural}"),
            storage_group: group.clone(),
            storage_version: storage.clone(),
            storage_kind: kind.clone(),
            codec: Codec::Custom(Arc::new(cr)),
        };
        let v3 = openapi_definition(raw_schema.as_ref(), &group, &version, &kind);
        let v2 = to_v2(&v3);
        out.push((info, v3, v2));
    }
    out
}

const API_VERSION_DOC: &str = "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources";
const KIND_DOC: &str = "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds";
const METADATA_DOC: &str = "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

/// The definition of a custom resource kind in the OpenAPI v3 document (the builder of
/// apiextensions' OpenAPI controller): the CRD's schema with apiVersion, kind and the
/// standard ObjectMeta, and the group-version-kind extension.
pub fn openapi_definition(schema: Option<&Value>, group: &str, version: &str, kind: &str) -> Value {
    let mut root = schema.and_then(Value::as_object).cloned().unwrap_or_else(|| {
        let mut m = Map::new();
        m.insert("type".into(), "object".into());
        m.insert("x-kubernetes-preserve-unknown-fields".into(), true.into());
        m
    });
    root.remove("x-kubernetes-validations");
    let props = root.entry("properties").or_insert_with(|| json!({}));
    if let Some(p) = props.as_object_mut() {
        p.insert("apiVersion".into(), json!({"description": API_VERSION_DOC, "type": "string"}));
        p.insert("kind".into(), json!({"description": KIND_DOC, "type": "string"}));
        p.insert(
            "metadata".into(),
            json!({"allOf": [{"$ref": format!("{REF_PREFIX}io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")}], "description": METADATA_DOC}),
        );
    }
    root.entry("type").or_insert_with(|| "object".into());
    root.insert("x-kubernetes-group-version-kind".into(), json!([{"group": group, "kind": kind, "version": version}]));
    Value::Object(root)
}

/// `ToStructuralOpenAPIV2`: what OpenAPI v2 cannot say is left out (junctors, nullable
/// types, the insides of schemaless parts).
pub fn to_v2(v: &Value) -> Value {
    let Some(m) = v.as_object() else { return v.clone() };
    let mut out = m.clone();
    for k in ["allOf", "oneOf", "anyOf", "not"] {
        // `allOf` with a single $ref is the reference form, not a junctor.
        if k == "allOf"
            && out.get(k).and_then(Value::as_array).is_some_and(|a| a.len() == 1 && a[0].get("$ref").is_some())
        {
            continue;
        }
        out.remove(k);
    }
    out.remove("x-kubernetes-validations");
    if out.get("nullable") == Some(&Value::Bool(true)) {
        for k in ["type", "nullable", "items", "properties"] {
            out.remove(k);
        }
    }
    let preserve = out.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    if preserve {
        out.remove("items");
        out.remove("properties");
    }
    if out.get("items").is_none() && out.get("type").and_then(Value::as_str) == Some("array") {
        out.remove("type");
    }
    if preserve && out.get("type").and_then(Value::as_str) == Some("object") {
        out.remove("type");
    }
    let nullable_props: Vec<String> = out
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| {
            p.iter().filter(|(_, s)| s.get("nullable") == Some(&Value::Bool(true))).map(|(k, _)| k.clone()).collect()
        })
        .unwrap_or_default();
    if let Some(Value::Array(req)) = out.get_mut("required") {
        req.retain(|r| !nullable_props.iter().any(|n| r == n));
    }
    if let Some(Value::Object(props)) = out.get_mut("properties") {
        for p in props.values_mut() {
            *p = to_v2(p);
        }
    }
    if let Some(items) = out.get_mut("items") {
        *items = to_v2(items);
    }
    if let Some(add) = out.get_mut("additionalProperties").filter(|a| a.is_object()) {
        *add = to_v2(add);
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_definitions() {
        assert_eq!(definition_name("stable.example.com", "v1", "CronTab"), "com.example.stable.v1.CronTab");
        let d = openapi_definition(
            Some(&json!({"type": "object", "properties": {"spec": {"type": "object"}}})),
            "example.com",
            "v1",
            "Widget",
        );
        assert_eq!(d["x-kubernetes-group-version-kind"][0]["kind"], "Widget");
        assert_eq!(d["properties"]["kind"]["type"], "string");
        let v2 = to_v2(&json!({"type": "object", "properties": {
            "a": {"type": "string", "nullable": true}, "b": {"type": "object", "x-kubernetes-preserve-unknown-fields": true,
            "properties": {"x": {"type": "string"}}}, "c": {"anyOf": [{"type": "integer"}, {"type": "string"}], "x-kubernetes-int-or-string": true}},
            "required": ["a", "c"]}));
        assert_eq!(v2["properties"]["a"], json!({}));
        assert_eq!(v2["properties"]["b"], json!({"x-kubernetes-preserve-unknown-fields": true}));
        assert_eq!(v2["properties"]["c"], json!({"x-kubernetes-int-or-string": true}));
        assert_eq!(v2["required"], json!(["c"]));
    }
}
