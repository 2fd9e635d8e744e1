//! The OpenAPI documents: v3 (an index and one document per group-version, as
//! kubectl 1.29+ reads them) and v2 (one Swagger document, served as JSON or in
//! the gnostic protobuf form kubectl 1.27/1.28 ask for). Both are generated from
//! the registry's schema index and catalogue, so they describe exactly what the
//! server serves, with the `x-kubernetes-*` extensions clients rely on.

pub mod paths;
pub mod proto_v2;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use http::HeaderMap;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha512};

use super::ApiState;
use super::health::KUBE_VERSION;
use super::negotiate::parse_accept;
use super::response::{bytes_response, error_response};
use crate::registry::Registry;
use crate::registry::error::ApiError;
use crate::registry::schema::REF_PREFIX;

/// Extra definitions every document may refer to.
const META_DEFS: &[&str] = &[
    "io.k8s.apimachinery.pkg.apis.meta.v1.Status",
    "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions",
    "io.k8s.apimachinery.pkg.apis.meta.v1.Patch",
    "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent",
    "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta",
    "io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList",
    "io.k8s.apimachinery.pkg.apis.meta.v1.APIGroup",
];

/// The v2 document as JSON, and as protobuf (or why that failed).
type V2Docs = (Vec<u8>, Result<Vec<u8>, String>);

struct V3Doc {
    hash: String,
    body: Vec<u8>,
}

/// The v3 documents by path, with the catalogue generation they were built for.
type V3Cache = Option<(u64, Arc<BTreeMap<String, V3Doc>>)>;

/// Documents are built on first use and rebuilt when the set of resources changes.
pub struct OpenApiCache {
    registry: Arc<Registry>,
    v3: Mutex<V3Cache>,
    v2: Mutex<Option<(u64, Arc<V2Docs>)>>,
}

impl OpenApiCache {
    pub fn new(registry: Arc<Registry>) -> OpenApiCache {
        OpenApiCache { registry, v3: Mutex::new(None), v2: Mutex::new(None) }
    }

    /// Forget the documents (the catalogue changed).
    pub fn invalidate(&self) {
        if let Ok(mut v) = self.v3.lock() {
            *v = None;
        }
        if let Ok(mut v) = self.v2.lock() {
            *v = None;
        }
    }

    fn v3_docs(&self) -> Arc<BTreeMap<String, V3Doc>> {
        let mut guard = self.v3.lock().unwrap_or_else(|e| e.into_inner());
        let generation = self.registry.generation();
        if let Some((g, d)) = guard.as_ref()
            && *g == generation
        {
            return d.clone();
        }
        let mut docs = BTreeMap::new();
        for g in self.registry.groups() {
            for v in &g.versions {
                let path = if g.name.is_empty() { format!("api/{v}") } else { format!("apis/{}/{v}", g.name) };
                let doc = build_v3(&self.registry, &g.name, v);
                let body = serde_json::to_vec(&doc).unwrap_or_default();
                let hash = hex_upper(&Sha512::digest(&body));
                docs.insert(path, V3Doc { hash, body });
            }
        }
        let docs = Arc::new(docs);
        *guard = Some((generation, docs.clone()));
        docs
    }

    fn v2_docs(&self) -> Arc<V2Docs> {
        let mut guard = self.v2.lock().unwrap_or_else(|e| e.into_inner());
        let generation = self.registry.generation();
        if let Some((g, d)) = guard.as_ref()
            && *g == generation
        {
            return d.clone();
        }
        let doc = build_v2(&self.registry);
        let json = serde_json::to_vec(&doc).unwrap_or_default();
        let proto = proto_v2::encode_document(&doc).map_err(|e| {
            tracing::error!(error = %e, "encoding the OpenAPI v2 document as protobuf failed");
            e
        });
        let docs = Arc::new((json, proto));
        *guard = Some((generation, docs.clone()));
        docs
    }
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// Turn a name like `rbac.authorization.k8s.io` into `RbacAuthorization` (operation ids and tags).
pub fn group_camel(group: &str) -> String {
    if group.is_empty() {
        return "Core".into();
    }
    let g = group.strip_suffix(".k8s.io").unwrap_or(group);
    g.split(['.', '-']).map(capitalize).collect()
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// The definitions a set of roots needs, in OpenAPI v3 form.
fn definitions_for(reg: &Registry, roots: &[String]) -> Map<String, Value> {
    let schemas = reg.schemas();
    let mut all: Vec<&str> = roots.iter().map(String::as_str).collect();
    all.extend(META_DEFS);
    let mut out = Map::new();
    for name in schemas.closure(&all) {
        if let Some(s) = schemas.get(&name) {
            out.insert(name, s.clone());
        }
    }
    out
}

/// A list definition (`io.k8s.api.apps.v1.DeploymentList`) for a kind's definition.
fn list_definition(def: &str, group: &str, version: &str, kind: &str) -> (String, Value) {
    let list_name = format!("{def}List");
    let schema = json!({
        "description": format!("{kind}List is a list of {kind} objects."),
        "type": "object",
        "required": ["items"],
        "properties": {
            "apiVersion": {"description": "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources", "type": "string"},
            "items": {"description": format!("items is the list of {kind}."), "type": "array", "items": {"$ref": format!("{REF_PREFIX}{def}")}},
            "kind": {"description": "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds", "type": "string"},
            "metadata": {"allOf": [{"$ref": format!("{REF_PREFIX}io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta")}], "description": "Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds"},
        },
        "x-kubernetes-group-version-kind": [{"group": group, "kind": format!("{kind}List"), "version": version}],
    });
    (list_name, schema)
}

/// The OpenAPI v3 document of one group-version.
pub fn build_v3(reg: &Registry, group: &str, version: &str) -> Value {
    let resources = reg.resources_in(group, version);
    let mut roots: Vec<String> = resources.iter().map(|r| r.definition.clone()).collect();
    if resources.iter().any(|r| r.has_scale) {
        roots.push("io.k8s.api.autoscaling.v1.Scale".into());
    }
    let mut schemas = definitions_for(reg, &roots);
    let mut path_map = Map::new();
    for r in &resources {
        if r.has_verb("list") {
            let (name, def) = list_definition(&r.definition, &r.group, &r.version, &r.kind);
            schemas.insert(name, def);
        }
        for (p, item) in paths::resource_paths(r) {
            path_map.insert(p, item);
        }
    }
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": KUBE_VERSION},
        "paths": path_map,
        "components": {"schemas": schemas, "securitySchemes": {"BearerToken": {"type": "apiKey", "description": "Bearer Token authentication", "name": "authorization", "in": "header"}}},
    })
}

/// Rewrite a v3 schema into Swagger 2.0 form: `#/definitions/` refs, no
/// `allOf` wrappers around refs, no `nullable`.
pub fn schema_to_v2(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            if let Some(Value::Array(all)) = m.get("allOf")
                && all.len() == 1
                && all[0].get("$ref").is_some()
            {
                let mut out = Map::new();
                out.insert("$ref".into(), schema_to_v2(&all[0]["$ref"]));
                for (k, val) in m {
                    if k != "allOf" && k != "default" {
                        out.insert(k.clone(), schema_to_v2(val));
                    }
                }
                return Value::Object(out);
            }
            let mut out = Map::new();
            for (k, val) in m {
                match (k.as_str(), val) {
                    ("nullable", _) => {}
                    ("$ref", Value::String(r)) => {
                        out.insert(k.clone(), r.replace(REF_PREFIX, "#/definitions/").into());
                    }
                    // Maps of named schemas: the names are data (JSONSchemaProps has a property called `$ref`).
                    ("properties" | "patternProperties" | "definitions", Value::Object(props)) => {
                        let converted: Map<String, Value> =
                            props.iter().map(|(name, schema)| (name.clone(), schema_to_v2(schema))).collect();
                        out.insert(k.clone(), Value::Object(converted));
                    }
                    _ => {
                        out.insert(k.clone(), schema_to_v2(val));
                    }
                }
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(schema_to_v2).collect()),
        Value::String(s) if s.starts_with(REF_PREFIX) => Value::String(s.replace(REF_PREFIX, "#/definitions/")),
        other => other.clone(),
    }
}

/// The Swagger 2.0 document of everything served.
pub fn build_v2(reg: &Registry) -> Value {
    let resources = reg.all_resources();
    let mut roots: Vec<String> = resources.iter().map(|r| r.definition.clone()).collect();
    roots.push("io.k8s.api.autoscaling.v1.Scale".into());
    let mut defs = definitions_for(reg, &roots);
    let mut path_map = BTreeMap::new();
    for r in &resources {
        if r.has_verb("list") {
            let (name, def) = list_definition(&r.definition, &r.group, &r.version, &r.kind);
            defs.insert(name, def);
        }
        for (p, item) in paths::resource_paths(r) {
            path_map.insert(p, paths::path_item_to_v2(&item));
        }
    }
    let schemas = reg.schemas();
    let defs: Map<String, Value> =
        defs.iter().map(|(k, v)| (k.clone(), schema_to_v2(schemas.v2_override(k).unwrap_or(v)))).collect();
    json!({
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": KUBE_VERSION},
        "paths": path_map,
        "definitions": defs,
        "securityDefinitions": {"BearerToken": {"type": "apiKey", "description": "Bearer Token authentication", "name": "authorization", "in": "header"}},
        "security": [{"BearerToken": []}],
    })
}

/// `GET /openapi/v3`: the index of group-version documents.
pub async fn serve_v3_index(State(s): State<Arc<ApiState>>) -> Response {
    let docs = s.openapi.v3_docs();
    let paths: Map<String, Value> = docs
        .iter()
        .map(|(p, d)| (p.clone(), json!({"serverRelativeURL": format!("/openapi/v3/{p}?hash={}", d.hash)})))
        .collect();
    bytes_response(200, "application/json", serde_json::to_vec(&json!({"paths": paths})).unwrap_or_default())
}

/// `GET /openapi/v3/<api|apis/group>/<version>`.
pub async fn serve_v3(State(s): State<Arc<ApiState>>, Path(path): Path<String>, RawQuery(q): RawQuery) -> Response {
    let docs = s.openapi.v3_docs();
    let Some(doc) = docs.get(path.trim_end_matches('/')) else {
        return error_response(&ApiError::path_not_found());
    };
    let mut resp = bytes_response(200, "application/json", doc.body.clone());
    let hashed = q.as_deref().is_some_and(|q| q.contains("hash="));
    let cache = if hashed { "public, immutable" } else { "no-cache, private" };
    resp.headers_mut().insert(http::header::CACHE_CONTROL, http::HeaderValue::from_static(cache));
    if let Ok(v) = http::HeaderValue::from_str(&format!("\"{}\"", doc.hash)) {
        resp.headers_mut().insert(http::header::ETAG, v);
    }
    resp
}

/// `GET /openapi/v2`: JSON, or gnostic protobuf when asked for.
pub async fn serve_v2(State(s): State<Arc<ApiState>>, headers: HeaderMap) -> Response {
    let accept = headers.get(http::header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    let docs = s.openapi.v2_docs();
    for r in parse_accept(accept) {
        let e = r.essence.to_ascii_lowercase();
        if e == "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
            || e == "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
        {
            // Go cannot parse the `@` form, so the real server answers with the dotted one.
            return match &docs.1 {
                Ok(pb) => bytes_response(200, "application/com.github.proto-openapi.spec.v2.v1.0+protobuf", pb.clone()),
                Err(e) => error_response(&ApiError::internal(format!("encoding the OpenAPI document: {e}"))),
            };
        }
        if matches!(e.as_str(), "application/json" | "*/*" | "application/*") {
            break;
        }
    }
    bytes_response(200, "application/json", docs.0.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(group_camel(""), "Core");
        assert_eq!(group_camel("apps"), "Apps");
        assert_eq!(group_camel("rbac.authorization.k8s.io"), "RbacAuthorization");
        assert_eq!(group_camel("flowcontrol.apiserver.k8s.io"), "FlowcontrolApiserver");
    }

    #[test]
    fn v2_refs() {
        let v3 = json!({"properties": {"spec": {"allOf": [{"$ref": "#/components/schemas/a.B"}], "description": "d", "default": {}}}});
        let v2 = schema_to_v2(&v3);
        assert_eq!(v2, json!({"properties": {"spec": {"$ref": "#/definitions/a.B", "description": "d"}}}));
        let props = json!({"properties": {"$ref": {"type": "string"}}});
        assert_eq!(schema_to_v2(&props), props, "a property named $ref is not a reference");
    }
}
