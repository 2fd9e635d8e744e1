//! Interim environment builder (replaced by the full one).

use k8s_openapi::api::core::v1::{ConfigMap, Container, Pod, Secret, Service};

pub struct RuntimeInfo {
    pub node_name: String,
    pub pod_ip: Option<String>,
    pub pod_ips: Vec<String>,
    pub host_ip: String,
    pub host_ips: Vec<String>,
    pub node_allocatable_cpu_millis: u64,
    pub node_allocatable_memory: u64,
}

pub trait ObjectSource {
    fn config_map(&self, namespace: &str, name: &str) -> Option<ConfigMap>;
    fn secret(&self, namespace: &str, name: &str) -> Option<Secret>;
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct EnvError(pub String);

pub fn container_env(
    pod: &Pod,
    container: &Container,
    _services: &[Service],
    src: &dyn ObjectSource,
    info: &RuntimeInfo,
) -> Result<Vec<(String, String)>, EnvError> {
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    let mut out: Vec<(String, String)> = Vec::new();
    for e in container.env.iter().flatten() {
        let v = if let Some(vf) = &e.value_from {
            if let Some(r) = &vf.config_map_key_ref {
                let cm = src
                    .config_map(&ns, &r.name)
                    .ok_or_else(|| EnvError(format!("configmap \"{}\" not found", r.name)))?;
                cm.data.unwrap_or_default().get(&r.key).cloned().unwrap_or_default()
            } else if let Some(r) = &vf.secret_key_ref {
                let s = src.secret(&ns, &r.name).ok_or_else(|| EnvError(format!("secret \"{}\" not found", r.name)))?;
                s.data
                    .unwrap_or_default()
                    .get(&r.key)
                    .map(|b| String::from_utf8_lossy(&b.0).into_owned())
                    .unwrap_or_default()
            } else if let Some(f) = &vf.field_ref {
                match f.field_path.as_str() {
                    "metadata.name" => pod.metadata.name.clone().unwrap_or_default(),
                    "metadata.namespace" => ns.clone(),
                    "status.podIP" => info.pod_ip.clone().unwrap_or_default(),
                    "spec.nodeName" => info.node_name.clone(),
                    _ => String::new(),
                }
            } else {
                String::new()
            }
        } else {
            expand_command(&[e.value.clone().unwrap_or_default()], &out).pop().unwrap_or_default()
        };
        out.push((e.name.clone(), v));
    }
    Ok(out)
}

pub fn expand_command(args: &[String], env: &[(String, String)]) -> Vec<String> {
    args.iter()
        .map(|a| {
            let mut s = a.clone();
            for (k, v) in env.iter().rev() {
                s = s.replace(&format!("$({k})"), v);
            }
            s
        })
        .collect()
}
