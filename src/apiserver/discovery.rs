//! Discovery: `/api`, `/apis`, `/apis/<group>`, the per-version resource lists,
//! and aggregated discovery (apidiscovery.k8s.io v2 and v2beta1), whose version
//! is echoed in the Content-Type because that is how clients tell which they got.

use base64::Engine;
use http::HeaderMap;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::negotiate::parse_accept;
use crate::registry::Registry;
use crate::registry::resource::ResourceInfo;

/// A subresource as discovery lists it.
struct Sub {
    name: &'static str,
    group: &'static str,
    version: &'static str,
    kind: Option<&'static str>,
    verbs: &'static [&'static str],
}

const GPU: &[&str] = &["get", "patch", "update"];

fn subresources(r: &ResourceInfo) -> Vec<Sub> {
    let mut subs = Vec::new();
    if r.group.is_empty() && r.plural == "pods" {
        subs.push(Sub { name: "binding", group: "", version: "", kind: Some("Binding"), verbs: &["create"] });
    }
    if r.group.is_empty() && r.plural == "serviceaccounts" {
        subs.push(Sub {
            name: "token",
            group: "authentication.k8s.io",
            version: "v1",
            kind: Some("TokenRequest"),
            verbs: &["create"],
        });
    }
    if r.group.is_empty() && r.plural == "namespaces" {
        subs.push(Sub { name: "finalize", group: "", version: "", kind: None, verbs: &["update"] });
    }
    if r.has_scale {
        subs.push(Sub { name: "scale", group: "autoscaling", version: "v1", kind: Some("Scale"), verbs: GPU });
    }
    if r.has_status {
        subs.push(Sub { name: "status", group: "", version: "", kind: None, verbs: GPU });
    }
    subs
}

fn storage_version_hash(r: &ResourceInfo) -> String {
    let id = format!("{}/{}/{}", r.storage_group, r.storage_version, r.storage_kind);
    let digest = Sha256::digest(id.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(&digest[..8])
}

fn gv(group: &str, version: &str) -> String {
    if group.is_empty() { version.to_string() } else { format!("{group}/{version}") }
}

/// Which discovery document the client asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Legacy,
    /// Aggregated, in apidiscovery.k8s.io/v2 or v2beta1.
    Aggregated(&'static str),
}

impl Format {
    pub fn content_type(self) -> String {
        match self {
            Format::Legacy => "application/json".into(),
            Format::Aggregated(v) => format!("application/json;g=apidiscovery.k8s.io;v={v};as=APIGroupDiscoveryList"),
        }
    }
}

/// The first acceptable format in the client's Accept header.
pub fn format(headers: &HeaderMap) -> Format {
    let accept = headers.get(http::header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    for r in parse_accept(accept) {
        if r.param("g") == Some("apidiscovery.k8s.io") && r.param("as") == Some("APIGroupDiscoveryList") {
            match r.param("v") {
                Some("v2") => return Format::Aggregated("v2"),
                Some("v2beta1") => return Format::Aggregated("v2beta1"),
                _ => continue,
            }
        }
        if matches!(r.essence, "application/json" | "*/*" | "application/*") && r.param("as").is_none() {
            return Format::Legacy;
        }
    }
    Format::Legacy
}

/// `GET /api`.
pub fn core_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    })
}

fn group_json(name: &str, versions: &[String]) -> Value {
    let vs: Vec<Value> = versions.iter().map(|v| json!({"groupVersion": gv(name, v), "version": v})).collect();
    let preferred = vs.first().cloned().unwrap_or_else(|| json!({}));
    json!({"name": name, "versions": vs, "preferredVersion": preferred})
}

/// `GET /apis`.
pub fn groups(reg: &Registry) -> Value {
    let groups: Vec<Value> =
        reg.groups().iter().filter(|g| !g.name.is_empty()).map(|g| group_json(&g.name, &g.versions)).collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `GET /apis/<group>`.
pub fn group(reg: &Registry, name: &str) -> Option<Value> {
    let g = reg.groups().into_iter().find(|g| g.name == name && !name.is_empty())?;
    let mut v = group_json(&g.name, &g.versions);
    let m = v.as_object_mut()?;
    m.insert("kind".into(), "APIGroup".into());
    m.insert("apiVersion".into(), "v1".into());
    Some(v)
}

/// `GET /api/v1`, `GET /apis/<group>/<version>`.
pub fn resource_list(reg: &Registry, group: &str, version: &str) -> Option<Value> {
    let resources = reg.resources_in(group, version);
    if resources.is_empty() {
        return None;
    }
    let mut list = Vec::new();
    for r in &resources {
        let mut entry = json!({
            "name": r.plural,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": r.verbs,
        });
        if !r.short_names.is_empty() {
            entry["shortNames"] = json!(r.short_names);
        }
        if !r.categories.is_empty() {
            entry["categories"] = json!(r.categories);
        }
        if r.storage == crate::registry::catalog::Storage::Stored {
            entry["storageVersionHash"] = storage_version_hash(r).into();
        }
        list.push(entry);
        for s in subresources(r) {
            let mut e = json!({
                "name": format!("{}/{}", r.plural, s.name),
                "singularName": "",
                "namespaced": r.namespaced,
                "kind": s.kind.unwrap_or(&r.kind),
                "verbs": s.verbs,
            });
            if !s.group.is_empty() {
                e["group"] = s.group.into();
                e["version"] = s.version.into();
            }
            list.push(e);
        }
    }
    Some(json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv(group, version), "resources": list}))
}

fn aggregated_resource(r: &ResourceInfo) -> Value {
    let mut e = json!({
        "resource": r.plural,
        "responseKind": {"group": "", "version": "", "kind": r.kind},
        "scope": if r.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": r.singular,
        "verbs": r.verbs,
    });
    if !r.short_names.is_empty() {
        e["shortNames"] = json!(r.short_names);
    }
    if !r.categories.is_empty() {
        e["categories"] = json!(r.categories);
    }
    let subs: Vec<Value> = subresources(r)
        .into_iter()
        .map(|s| {
            json!({
                "subresource": s.name,
                "responseKind": {"group": s.group, "version": s.version, "kind": s.kind.unwrap_or(&r.kind)},
                "verbs": s.verbs,
            })
        })
        .collect();
    if !subs.is_empty() {
        e["subresources"] = Value::Array(subs);
    }
    e
}

/// Aggregated discovery of the core group (`/api`) or of all others (`/apis`).
pub fn aggregated(reg: &Registry, core: bool, version: &str) -> Value {
    let mut items = Vec::new();
    for g in reg.groups() {
        if g.name.is_empty() != core {
            continue;
        }
        let versions: Vec<Value> = g
            .versions
            .iter()
            .map(|v| {
                let resources: Vec<Value> =
                    reg.resources_in(&g.name, v).iter().map(|r| aggregated_resource(r)).collect();
                json!({"version": v, "resources": resources, "freshness": "Current"})
            })
            .collect();
        let metadata = if g.name.is_empty() {
            json!({"creationTimestamp": null})
        } else {
            json!({"name": g.name, "creationTimestamp": null})
        };
        items.push(json!({"metadata": metadata, "versions": versions}));
    }
    json!({"kind": "APIGroupDiscoveryList", "apiVersion": format!("apidiscovery.k8s.io/{version}"), "metadata": {}, "items": items})
}
