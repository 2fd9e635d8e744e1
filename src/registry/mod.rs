//! The catalogue of kinds and what happens to an object on its way to the store:
//! decoding, defaulting, validation, strategies, patches and selectors.
//!
//! The registry knows nothing of HTTP: the API server turns requests into calls
//! here ([`rest`], [`watch`]) and results back into responses.

pub mod admission;
pub mod catalog;
pub mod convert;
pub mod crd;
pub mod decode;
pub mod defaults;
pub mod error;
pub mod field_error;
pub mod list;
pub mod meta;
pub mod patch;
pub mod patch_meta;
pub mod quantity;
pub mod resource;
pub mod rest;
pub mod schema;
pub mod selector;
pub mod serviceaccount;
pub mod strategy;
pub mod tables;
pub mod tokens;
pub mod validation;
pub mod watch;
pub mod webhook_client;

#[cfg(test)]
mod store_tests;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use ipnet::Ipv4Net;

use crate::store::Store;
use catalog::{Storage, builtin_kinds, version_priority};
use resource::{Resource, ResourceInfo};
use schema::Schemas;

/// Settings of the registry that come from the server's configuration.
#[derive(Clone, Debug)]
pub struct RegistryConfig {
    /// Where Service cluster IPs come from (k3s: 10.43.0.0/16).
    pub service_cidr: Ipv4Net,
    /// NodePort range, inclusive.
    pub node_port_range: (u16, u16),
}

impl Default for RegistryConfig {
    fn default() -> Self {
        RegistryConfig { service_cidr: "10.43.0.0/16".parse().expect("valid CIDR"), node_port_range: (30000, 32767) }
    }
}

/// A served API group with its versions, preferred first.
#[derive(Clone, Debug)]
pub struct Group {
    pub name: String,
    pub versions: Vec<String>,
}

/// The set of served resources, replaced as a whole when it changes (CRDs).
#[derive(Default)]
struct Catalogue {
    by_path: HashMap<(String, String, String), Resource>,
    groups: Vec<Group>,
}

impl Catalogue {
    fn build(resources: Vec<ResourceInfo>) -> Catalogue {
        let mut by_path = HashMap::new();
        let mut versions: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut order: Vec<String> = Vec::new();
        for r in resources {
            let vs = versions.entry(r.group.clone()).or_default();
            if !vs.contains(&r.version) {
                vs.push(r.version.clone());
            }
            if !order.contains(&r.group) {
                order.push(r.group.clone());
            }
            by_path.insert((r.group.clone(), r.version.clone(), r.plural.clone()), Arc::new(r));
        }
        order.sort_by_key(|g| group_rank(g));
        let groups = order
            .into_iter()
            .map(|name| {
                let mut vs = versions.remove(&name).unwrap_or_default();
                vs.sort_by(|a, b| version_priority(a, b));
                Group { name, versions: vs }
            })
            .collect();
        Catalogue { by_path, groups }
    }
}

/// The order of groups in discovery, as the real API server lists them.
fn group_rank(group: &str) -> (usize, String) {
    const ORDER: &[&str] = &[
        "",
        "apiregistration.k8s.io",
        "apps",
        "events.k8s.io",
        "authentication.k8s.io",
        "authorization.k8s.io",
        "autoscaling",
        "batch",
        "certificates.k8s.io",
        "networking.k8s.io",
        "policy",
        "rbac.authorization.k8s.io",
        "storage.k8s.io",
        "admissionregistration.k8s.io",
        "apiextensions.k8s.io",
        "scheduling.k8s.io",
        "coordination.k8s.io",
        "node.k8s.io",
        "discovery.k8s.io",
        "flowcontrol.apiserver.k8s.io",
        "resource.k8s.io",
        "internal.apiserver.k8s.io",
        "storagemigration.k8s.io",
    ];
    (ORDER.iter().position(|g| *g == group).unwrap_or(ORDER.len()), group.to_string())
}

/// The registry: resources, their schemas, and the store behind them.
pub struct Registry {
    pub(crate) store: Arc<dyn Store>,
    catalogue: RwLock<Arc<Catalogue>>,
    schemas: RwLock<Arc<Schemas>>,
    pub(crate) config: RegistryConfig,
    /// Serializes Service IP and port allocation.
    pub(crate) alloc_lock: Arc<tokio::sync::Mutex<()>>,
    /// Signs and verifies ServiceAccount tokens (set by the server at start).
    pub(crate) tokens: std::sync::OnceLock<Arc<tokens::TokenIssuer>>,
    /// The built-in resources, the base every catalogue is built on.
    builtin: Vec<ResourceInfo>,
    /// Bumped whenever the served resources change (CRDs), so caches know to rebuild.
    generation: AtomicU64,
    /// Serializes rebuilds of the catalogue from the stored CRDs.
    crd_reload: tokio::sync::Mutex<()>,
    /// What admission keeps between requests.
    pub(crate) admission: admission::Caches,
}

impl Registry {
    pub fn new(store: Arc<dyn Store>, config: RegistryConfig) -> Arc<Registry> {
        let schemas = Schemas::builtin();
        let resources = builtin_resources(&schemas);
        Arc::new(Registry {
            store,
            catalogue: RwLock::new(Arc::new(Catalogue::build(resources.clone()))),
            schemas: RwLock::new(schemas),
            config,
            alloc_lock: Arc::new(tokio::sync::Mutex::new(())),
            tokens: std::sync::OnceLock::new(),
            builtin: resources,
            generation: AtomicU64::new(0),
            crd_reload: tokio::sync::Mutex::new(()),
            admission: admission::Caches::default(),
        })
    }

    /// A number that changes whenever the set of served resources changes.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Rebuild the catalogue and the schema index from the stored CRDs: the built-in
    /// resources plus every served version of every CRD whose names are accepted. Called
    /// at start and after every write of a CRD.
    pub async fn reload_crds(&self) -> error::ApiResult<()> {
        let _guard = self.crd_reload.lock().await;
        let page = self
            .store
            .list(crate::store::ListRequest {
                prefix: crd::CRD_PREFIX.to_string(),
                start_after: None,
                limit: None,
                revision: None,
            })
            .await
            .map_err(error::ApiError::internal)?;
        let mut resources = self.builtin.clone();
        let mut schemas = (*Schemas::builtin()).clone();
        let taken: std::collections::HashSet<(String, String)> =
            resources.iter().map(|r| (r.group.clone(), r.plural.clone())).collect();
        for kv in page.items {
            let Ok(crd_obj) = serde_json::from_slice::<serde_json::Value>(&kv.value) else { continue };
            for (info, v3, v2) in crd::serve::resources_of(&crd_obj) {
                // A CRD may not shadow a built-in resource.
                if taken.contains(&(info.group.clone(), info.plural.clone())) {
                    continue;
                }
                schemas.insert_with_v2(info.definition.clone(), v3, v2);
                resources.push(info);
            }
        }
        let catalogue = Arc::new(Catalogue::build(resources));
        if let Ok(mut c) = self.catalogue.write() {
            *c = catalogue;
        }
        if let Ok(mut s) = self.schemas.write() {
            *s = Arc::new(schemas);
        }
        self.generation.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }

    fn catalogue(&self) -> Arc<Catalogue> {
        self.catalogue.read().map(|c| c.clone()).unwrap_or_default()
    }

    /// The resource served at `/apis/<group>/<version>/<plural>`.
    pub fn resource(&self, group: &str, version: &str, plural: &str) -> Option<Resource> {
        self.catalogue().by_path.get(&(group.to_string(), version.to_string(), plural.to_string())).cloned()
    }

    /// The resource of a kind in a group-version.
    pub fn resource_for_kind(&self, group: &str, version: &str, kind: &str) -> Option<Resource> {
        self.catalogue()
            .by_path
            .values()
            .find(|r| r.group == group && r.version == version && r.kind == kind && r.storage != Storage::Computed)
            .cloned()
    }

    /// The resource of a plural name in a group, in the group's preferred version.
    pub fn preferred(&self, group: &str, plural: &str) -> Option<Resource> {
        let cat = self.catalogue();
        let g = cat.groups.iter().find(|g| g.name == group)?;
        g.versions.iter().find_map(|v| cat.by_path.get(&(group.to_string(), v.clone(), plural.to_string())).cloned())
    }

    /// Served groups, in discovery order, each with its versions (preferred first).
    pub fn groups(&self) -> Vec<Group> {
        self.catalogue().groups.clone()
    }

    /// Resources of one group-version, sorted by name.
    pub fn resources_in(&self, group: &str, version: &str) -> Vec<Resource> {
        let mut out: Vec<Resource> =
            self.catalogue().by_path.values().filter(|r| r.group == group && r.version == version).cloned().collect();
        out.sort_by(|a, b| a.plural.cmp(&b.plural));
        out
    }

    /// Every served resource.
    pub fn all_resources(&self) -> Vec<Resource> {
        self.catalogue().by_path.values().cloned().collect()
    }

    pub fn schemas(&self) -> Arc<Schemas> {
        self.schemas.read().map(|s| s.clone()).unwrap_or_default()
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }
}

/// Resources of the built-in kinds, with their storage versions chosen: every
/// version of a resource shares the storage of its preferred version, and
/// events.k8s.io Events share core/v1's, as in Kubernetes.
fn builtin_resources(schemas: &Schemas) -> Vec<ResourceInfo> {
    let kinds = builtin_kinds();
    let mut resources: Vec<ResourceInfo> = kinds
        .iter()
        .map(|k| {
            let has_status = k.storage == Storage::Stored
                && schemas.node(&k.definition).and_then(|n| n.property("status")).is_some()
                && k.plural != "componentstatuses";
            ResourceInfo::from_kind(k, has_status)
        })
        .collect();
    // Preferred version per (group, plural).
    let mut preferred: HashMap<(String, String), (String, String)> = HashMap::new();
    for r in &resources {
        let key = (r.group.clone(), r.plural.clone());
        match preferred.get(&key) {
            Some((v, _)) if version_priority(v, &r.version).is_le() => {}
            _ => {
                preferred.insert(key, (r.version.clone(), r.kind.clone()));
            }
        }
    }
    for r in &mut resources {
        if r.group == "events.k8s.io" && r.plural == "events" {
            r.storage_prefix = "/core/events".into();
            r.storage_group = String::new();
            r.storage_version = "v1".into();
            r.storage_kind = "Event".into();
        } else if let Some((v, k)) = preferred.get(&(r.group.clone(), r.plural.clone())) {
            r.storage_version = v.clone();
            r.storage_kind = k.clone();
        }
    }
    resources
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_versions_are_shared() {
        let s = Schemas::builtin();
        let rs = builtin_resources(&s);
        let hpa1 = rs.iter().find(|r| r.plural == "horizontalpodautoscalers" && r.version == "v1").unwrap();
        assert_eq!(hpa1.storage_version, "v2");
        assert_eq!(hpa1.storage_prefix, "/autoscaling/horizontalpodautoscalers");
        let ev = rs.iter().find(|r| r.group == "events.k8s.io").unwrap();
        assert_eq!(ev.storage_prefix, "/core/events");
        let pods = rs.iter().find(|r| r.plural == "pods").unwrap();
        assert!(pods.has_status);
        let cms = rs.iter().find(|r| r.plural == "configmaps").unwrap();
        assert!(!cms.has_status);
        let deps = rs.iter().find(|r| r.plural == "deployments").unwrap();
        assert!(deps.has_status && deps.has_scale && deps.tracks_generation);
    }
}
