//! The API objects a pod's containers draw on (ConfigMaps, Secrets, Services), fetched
//! once per sync so the environment and volume builders can stay synchronous.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ConfigMap, Pod, Secret, Service};
use kube::api::{Api, ListParams};

use super::env::ObjectSource;

/// ConfigMaps and Secrets by (namespace, name); absent ones are simply missing.
#[derive(Default)]
pub struct PodObjects {
    pub config_maps: BTreeMap<(String, String), ConfigMap>,
    pub secrets: BTreeMap<(String, String), Secret>,
    /// The Services of the pod's namespace and `default/kubernetes`, for service links.
    pub services: Vec<Service>,
}

impl ObjectSource for PodObjects {
    fn config_map(&self, namespace: &str, name: &str) -> Option<ConfigMap> {
        self.config_maps.get(&(namespace.to_string(), name.to_string())).cloned()
    }
    fn secret(&self, namespace: &str, name: &str) -> Option<Secret> {
        self.secrets.get(&(namespace.to_string(), name.to_string())).cloned()
    }
}

/// Names of the ConfigMaps and Secrets a pod refers to (env, envFrom, volumes, projections).
pub fn references(pod: &Pod) -> (Vec<String>, Vec<String>) {
    let (mut cms, mut secrets) = (Vec::new(), Vec::new());
    let Some(spec) = pod.spec.as_ref() else { return (cms, secrets) };
    let containers = spec.init_containers.iter().flatten().chain(spec.containers.iter());
    for c in containers {
        for e in c.env.iter().flatten() {
            if let Some(v) = &e.value_from {
                if let Some(r) = &v.config_map_key_ref {
                    cms.push(r.name.clone());
                }
                if let Some(r) = &v.secret_key_ref {
                    secrets.push(r.name.clone());
                }
            }
        }
        for f in c.env_from.iter().flatten() {
            if let Some(r) = &f.config_map_ref {
                cms.push(r.name.clone());
            }
            if let Some(r) = &f.secret_ref {
                secrets.push(r.name.clone());
            }
        }
    }
    for v in spec.volumes.iter().flatten() {
        if let Some(c) = &v.config_map {
            cms.push(c.name.clone());
        }
        if let Some(s) = &v.secret {
            secrets.extend(s.secret_name.clone());
        }
        if let Some(p) = &v.projected {
            for src in p.sources.iter().flatten() {
                if let Some(c) = &src.config_map {
                    cms.push(c.name.clone());
                }
                if let Some(s) = &src.secret {
                    secrets.push(s.name.clone());
                }
            }
        }
    }
    cms.sort();
    cms.dedup();
    secrets.sort();
    secrets.dedup();
    (cms, secrets)
}

/// Fetch what a pod refers to. API errors other than NotFound leave the object out too;
/// the caller reports it as missing and retries on its next sync.
pub async fn fetch(client: &kube::Client, pod: &Pod, with_services: bool) -> PodObjects {
    let ns = pod.metadata.namespace.clone().unwrap_or_else(|| "default".into());
    let (cms, secrets) = references(pod);
    let mut out = PodObjects::default();
    let cm_api: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
    for name in cms {
        if let Ok(Some(cm)) = cm_api.get_opt(&name).await {
            out.config_maps.insert((ns.clone(), name), cm);
        }
    }
    let s_api: Api<Secret> = Api::namespaced(client.clone(), &ns);
    for name in secrets {
        if let Ok(Some(s)) = s_api.get_opt(&name).await {
            out.secrets.insert((ns.clone(), name), s);
        }
    }
    if with_services {
        let svc: Api<Service> = Api::namespaced(client.clone(), &ns);
        if let Ok(list) = svc.list(&ListParams::default()).await {
            out.services = list.items;
        }
        if ns != "default" {
            let d: Api<Service> = Api::namespaced(client.clone(), "default");
            if let Ok(Some(k)) = d.get_opt("kubernetes").await {
                out.services.push(k);
            }
        }
    }
    out
}
