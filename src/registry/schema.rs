//! The OpenAPI schemas of every kind, as one index of named definitions.
//!
//! One representation serves everything that needs to know a type's shape: the
//! OpenAPI documents kubectl reads, strategic merge patch (merge keys and
//! strategies), server-side apply (list types and map keys), and later the
//! schemas of custom resources. Built-in definitions come from k8s-openapi's
//! schemars output; the `x-kubernetes-*` extensions Kubernetes puts on fields
//! (which k8s-openapi does not carry) are added from [`super::patch_meta`].

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use serde_json::{Map, Value, json};

use super::catalog::KindInfo;

/// Prefix of a `$ref` into the definitions (OpenAPI v3 form).
pub const REF_PREFIX: &str = "#/components/schemas/";

/// Named schema definitions (`io.k8s.api.core.v1.Pod` → schema).
#[derive(Clone, Debug, Default)]
pub struct Schemas {
    defs: BTreeMap<String, Value>,
    /// Definitions whose OpenAPI v2 form is not the mechanical rewrite of the v3 one
    /// (custom resources: what v2 cannot express is left out).
    v2_overrides: BTreeMap<String, Value>,
}

impl Schemas {
    /// Build the definitions for the given kinds, with GVK and patch extensions.
    pub fn for_kinds(kinds: &[KindInfo]) -> Schemas {
        let mut generator = schemars::generate::SchemaSettings::openapi3().into_generator();
        for k in kinds {
            (k.schema)(&mut generator);
        }
        {
            use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
            // Types the API's documents refer to besides the kinds.
            generator.subschema_for::<meta::Status>();
            generator.subschema_for::<meta::DeleteOptions>();
            generator.subschema_for::<meta::Patch>();
            generator.subschema_for::<meta::WatchEvent<()>>();
            generator.subschema_for::<meta::ListMeta>();
            generator.subschema_for::<meta::APIResourceList>();
            generator.subschema_for::<meta::APIGroup>();
            generator.subschema_for::<meta::APIGroupList>();
            generator.subschema_for::<meta::APIVersions>();
            generator.subschema_for::<k8s_openapi::api::autoscaling::v1::Scale>();
        }
        let defs: BTreeMap<String, Value> = generator.take_definitions(true).into_iter().collect();
        let mut s = Schemas { defs, v2_overrides: BTreeMap::new() };
        s.add_gvk_extensions(kinds);
        s.unrequire_metadata();
        super::patch_meta::apply(&mut s);
        s
    }

    /// The schemas of every built-in kind (built once).
    pub fn builtin() -> Arc<Schemas> {
        static BUILTIN: OnceLock<Arc<Schemas>> = OnceLock::new();
        BUILTIN.get_or_init(|| Arc::new(Schemas::for_kinds(&super::catalog::builtin_kinds()))).clone()
    }

    fn add_gvk_extensions(&mut self, kinds: &[KindInfo]) {
        for k in kinds {
            if let Some(Value::Object(def)) = self.defs.get_mut(&k.definition) {
                let entry = json!({"group": k.group, "kind": k.kind, "version": k.version});
                match def.get_mut("x-kubernetes-group-version-kind") {
                    Some(Value::Array(list)) if !list.contains(&entry) => list.push(entry),
                    Some(_) => {}
                    None => {
                        def.insert("x-kubernetes-group-version-kind".into(), Value::Array(vec![entry]));
                    }
                }
            }
        }
        // Kinds that are not served as resources but carry a GVK in the real documents.
        for (def, group, version, kind) in [
            ("io.k8s.apimachinery.pkg.apis.meta.v1.Status", "", "v1", "Status"),
            ("io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions", "", "v1", "DeleteOptions"),
            ("io.k8s.api.autoscaling.v1.Scale", "autoscaling", "v1", "Scale"),
            ("io.k8s.api.policy.v1.Eviction", "policy", "v1", "Eviction"),
            ("io.k8s.api.authentication.v1.TokenRequest", "authentication.k8s.io", "v1", "TokenRequest"),
        ] {
            if let Some(Value::Object(d)) = self.defs.get_mut(def) {
                d.entry("x-kubernetes-group-version-kind")
                    .or_insert_with(|| json!([{"group": group, "kind": kind, "version": version}]));
            }
        }
    }

    /// k8s-openapi marks `metadata` required on kinds (its Rust field is not optional);
    /// Kubernetes' own schemas do not, and clients validate against them.
    fn unrequire_metadata(&mut self) {
        for def in self.defs.values_mut() {
            if def.get("x-kubernetes-group-version-kind").is_none() {
                continue;
            }
            let Some(Value::Array(req)) = def.get_mut("required") else { continue };
            req.retain(|r| r != "metadata");
            if req.is_empty()
                && let Some(m) = def.as_object_mut()
            {
                m.remove("required");
            }
        }
    }

    /// Add (or replace) a definition: how custom resources join the index.
    pub fn insert(&mut self, name: impl Into<String>, schema: Value) {
        self.defs.insert(name.into(), schema);
    }

    /// Add a definition with a distinct OpenAPI v2 form.
    pub fn insert_with_v2(&mut self, name: impl Into<String>, schema: Value, v2: Value) {
        let name = name.into();
        self.v2_overrides.insert(name.clone(), v2);
        self.defs.insert(name, schema);
    }

    /// The OpenAPI v2 form of a definition, when it is not derived from the v3 one.
    pub fn v2_override(&self, name: &str) -> Option<&Value> {
        self.v2_overrides.get(name)
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.defs.get(name)
    }

    pub fn get_mut(&mut self, name: &str) -> Option<&mut Value> {
        self.defs.get_mut(name)
    }

    pub fn definitions(&self) -> &BTreeMap<String, Value> {
        &self.defs
    }

    /// The node for a named definition.
    pub fn node(&self, name: &str) -> Option<Node<'_>> {
        self.defs.get(name).map(|schema| Node { schemas: self, schema })
    }

    /// Follow `$ref` (bare or wrapped in a one-element `allOf`) to the schema it names.
    fn resolve<'a>(&'a self, mut schema: &'a Value) -> &'a Value {
        for _ in 0..16 {
            let target = schema
                .get("$ref")
                .or_else(|| match schema.get("allOf") {
                    Some(Value::Array(all)) if all.len() == 1 => all[0].get("$ref"),
                    _ => None,
                })
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix(REF_PREFIX).or_else(|| r.strip_prefix("#/definitions/")));
            match target.and_then(|name| self.defs.get(name)) {
                Some(next) => schema = next,
                None => break,
            }
        }
        schema
    }

    /// Names of every definition reachable from `root` (itself included).
    pub fn closure(&self, roots: &[&str]) -> Vec<String> {
        let mut seen = std::collections::BTreeSet::new();
        let mut stack: Vec<String> = roots.iter().map(|s| s.to_string()).collect();
        while let Some(name) = stack.pop() {
            if !seen.insert(name.clone()) {
                continue;
            }
            if let Some(schema) = self.defs.get(&name) {
                collect_refs(schema, &mut stack);
            }
        }
        seen.into_iter().collect()
    }
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref")
                && let Some(name) = r.strip_prefix(REF_PREFIX).or_else(|| r.strip_prefix("#/definitions/"))
            {
                out.push(name.to_string());
            }
            for child in m.values() {
                collect_refs(child, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|c| collect_refs(c, out)),
        _ => {}
    }
}

/// A position in a schema: what the value at some path of an object must look like.
///
/// Extensions are looked up on the field's own schema first (where Kubernetes puts
/// `x-kubernetes-patch-merge-key` and friends), then on the type it refers to.
#[derive(Clone, Copy, Debug)]
pub struct Node<'a> {
    schemas: &'a Schemas,
    schema: &'a Value,
}

impl<'a> Node<'a> {
    /// A node over a free-standing schema (e.g. a CRD's), resolving refs in `schemas`.
    pub fn new(schemas: &'a Schemas, schema: &'a Value) -> Self {
        Node { schemas, schema }
    }

    fn resolved(&self) -> &'a Value {
        self.schemas.resolve(self.schema)
    }

    /// The raw schema at this node (before following `$ref`).
    pub fn raw(&self) -> &'a Value {
        self.schema
    }

    /// The schema at this node after following `$ref`.
    pub fn schema(&self) -> &'a Value {
        self.resolved()
    }

    /// `type` of the value (`object`, `array`, `string`, …), if declared.
    pub fn type_(&self) -> Option<&'a str> {
        self.schema.get("type").or_else(|| self.resolved().get("type")).and_then(Value::as_str)
    }

    /// The schema of property `name` of an object.
    pub fn property(&self, name: &str) -> Option<Node<'a>> {
        self.resolved().get("properties").and_then(|p| p.get(name)).map(|schema| Node { schemas: self.schemas, schema })
    }

    /// Declared properties of an object, if any.
    pub fn properties(&self) -> Option<&'a Map<String, Value>> {
        self.resolved().get("properties").and_then(Value::as_object)
    }

    /// The schema of a list's items.
    pub fn items(&self) -> Option<Node<'a>> {
        self.resolved().get("items").map(|schema| Node { schemas: self.schemas, schema })
    }

    /// The schema of a map's values (`additionalProperties`), if it is a schema.
    pub fn additional_properties(&self) -> Option<Node<'a>> {
        match self.resolved().get("additionalProperties") {
            Some(schema @ Value::Object(_)) => Some(Node { schemas: self.schemas, schema }),
            _ => None,
        }
    }

    /// An extension (`x-…`) on the field or on the type it refers to.
    pub fn ext(&self, key: &str) -> Option<&'a Value> {
        self.schema.get(key).or_else(|| self.resolved().get(key))
    }

    /// `x-kubernetes-patch-strategy`, split on commas (`merge`, `retainKeys`, `replace`).
    pub fn patch_strategies(&self) -> Vec<&'a str> {
        self.ext("x-kubernetes-patch-strategy")
            .and_then(Value::as_str)
            .map(|s| s.split(',').map(str::trim).filter(|s| !s.is_empty()).collect())
            .unwrap_or_default()
    }

    /// `x-kubernetes-patch-merge-key`.
    pub fn patch_merge_key(&self) -> Option<&'a str> {
        self.ext("x-kubernetes-patch-merge-key").and_then(Value::as_str)
    }

    /// `x-kubernetes-list-type` (`atomic`, `set`, `map`).
    pub fn list_type(&self) -> Option<&'a str> {
        self.ext("x-kubernetes-list-type").and_then(Value::as_str)
    }

    /// `x-kubernetes-list-map-keys`.
    pub fn list_map_keys(&self) -> Vec<&'a str> {
        self.ext("x-kubernetes-list-map-keys")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }

    /// `x-kubernetes-map-type` (`atomic`, `granular`).
    pub fn map_type(&self) -> Option<&'a str> {
        self.ext("x-kubernetes-map-type").and_then(Value::as_str)
    }

    pub fn preserves_unknown_fields(&self) -> bool {
        self.ext("x-kubernetes-preserve-unknown-fields").and_then(Value::as_bool).unwrap_or(false)
    }

    pub fn is_int_or_string(&self) -> bool {
        self.ext("x-kubernetes-int-or-string").and_then(Value::as_bool).unwrap_or(false)
    }

    pub fn is_embedded_resource(&self) -> bool {
        self.ext("x-kubernetes-embedded-resource").and_then(Value::as_bool).unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn navigates_pod_schema() {
        let s = Schemas::builtin();
        let pod = s.node("io.k8s.api.core.v1.Pod").expect("pod");
        assert_eq!(pod.ext("x-kubernetes-group-version-kind").unwrap()[0]["kind"], "Pod");
        let containers = pod.property("spec").and_then(|n| n.property("containers")).expect("containers");
        assert_eq!(containers.type_(), Some("array"));
        let image = containers.items().and_then(|n| n.property("image")).expect("image");
        assert_eq!(image.type_(), Some("string"));
        let labels = pod.property("metadata").and_then(|m| m.property("labels")).expect("labels");
        assert_eq!(labels.additional_properties().and_then(|n| n.type_()), Some("string"));
    }
}
