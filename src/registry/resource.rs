//! Resources as the registry serves them: a kind in one group-version, where its
//! objects are stored, and the behaviours that differ between kinds.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::catalog::{KindInfo, Storage};
use super::decode::DecodeResult;

/// How bodies of a resource are decoded.
#[derive(Clone)]
pub enum Codec {
    /// Through a k8s-openapi type.
    Builtin(fn(Value) -> DecodeResult),
    /// A custom resource: through its CRD version's schema.
    Custom(Arc<super::crd::serve::CustomResource>),
}

impl std::fmt::Debug for Codec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Codec::Builtin(_) => f.write_str("Builtin"),
            Codec::Custom(cr) => write!(f, "Custom({})", cr.crd_name),
        }
    }
}

/// One served resource (group, version, plural).
#[derive(Clone, Debug)]
pub struct ResourceInfo {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub list_kind: String,
    pub plural: String,
    pub singular: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    pub verbs: Vec<String>,
    pub storage: Storage,
    /// The OpenAPI definition of the kind.
    pub definition: String,
    pub has_status: bool,
    pub has_scale: bool,
    /// Whether `metadata.generation` is kept (bumped on spec changes).
    pub tracks_generation: bool,
    /// Objects expire this long after their last write (Events).
    pub ttl: Option<Duration>,
    /// Key prefix of the objects in the store, shared by every version (`/apps/deployments`).
    pub storage_prefix: String,
    /// The group and version objects are stored in.
    pub storage_group: String,
    pub storage_version: String,
    pub storage_kind: String,
    pub codec: Codec,
}

impl ResourceInfo {
    pub fn from_kind(k: &KindInfo, has_status: bool) -> ResourceInfo {
        ResourceInfo {
            group: k.group.to_string(),
            version: k.version.to_string(),
            kind: k.kind.to_string(),
            list_kind: k.list_kind.clone(),
            plural: k.plural.to_string(),
            singular: k.singular.clone(),
            namespaced: k.namespaced,
            short_names: k.short_names.iter().map(|s| s.to_string()).collect(),
            categories: k.categories.iter().map(|s| s.to_string()).collect(),
            verbs: k.verbs.iter().map(|s| s.to_string()).collect(),
            storage: k.storage,
            definition: k.definition.clone(),
            has_status,
            has_scale: k.has_scale,
            tracks_generation: tracks_generation(k.group, k.plural),
            ttl: (k.plural == "events").then_some(Duration::from_secs(3600)),
            storage_prefix: format!("/{}/{}", if k.group.is_empty() { "core" } else { k.group }, k.plural),
            storage_group: k.group.to_string(),
            storage_version: k.version.to_string(),
            storage_kind: k.kind.to_string(),
            codec: Codec::Builtin(k.decode),
        }
    }

    pub fn api_version(&self) -> String {
        super::meta::api_version(&self.group, &self.version)
    }

    /// `deployments.apps`, or `pods` for the core group.
    pub fn qualified(&self) -> String {
        super::error::qualified(&self.group, &self.plural)
    }

    pub fn has_verb(&self, verb: &str) -> bool {
        self.verbs.iter().any(|v| v == verb)
    }

    /// Whether objects are stored in another version than this one.
    pub fn needs_conversion(&self) -> bool {
        self.group != self.storage_group || self.version != self.storage_version
    }

    /// Store key of an object.
    pub fn key(&self, namespace: Option<&str>, name: &str) -> String {
        match namespace {
            Some(ns) if self.namespaced => format!("{}/{}/{}", self.storage_prefix, ns, name),
            _ => format!("{}/{}", self.storage_prefix, name),
        }
    }

    /// Store prefix of a list (all namespaces when `namespace` is `None`).
    pub fn list_prefix(&self, namespace: Option<&str>) -> String {
        match namespace {
            Some(ns) if self.namespaced => format!("{}/{}/", self.storage_prefix, ns),
            _ => format!("{}/", self.storage_prefix),
        }
    }
}

/// Kinds whose strategies keep `metadata.generation` (set to 1 on create, bumped
/// when anything outside metadata and status changes).
fn tracks_generation(group: &str, plural: &str) -> bool {
    matches!(
        (group, plural),
        ("apps", "deployments" | "replicasets" | "statefulsets" | "daemonsets")
            | ("batch", _)
            | ("", "replicationcontrollers")
            | ("autoscaling", _)
            | ("policy", "poddisruptionbudgets")
            | ("networking.k8s.io", "ingresses" | "networkpolicies")
            | ("admissionregistration.k8s.io", _)
            | ("flowcontrol.apiserver.k8s.io", _)
            | ("apiextensions.k8s.io", _)
            | ("resource.k8s.io", "resourceclaims" | "deviceclasses")
    )
}

/// The shared handle type.
pub type Resource = Arc<ResourceInfo>;
