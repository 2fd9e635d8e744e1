//! A container's environment, as the kubelet builds it (`makeEnvironmentVariables`).
//!
//! Precedence and expansion follow the real kubelet:
//! - the service-link variables of the Services in the pod's namespace (unless
//!   `enableServiceLinks: false`) and always those of `default/kubernetes`;
//! - `envFrom` sources in order (ConfigMap `data`, Secret `data`, with their `prefix`);
//!   since 1.30 the kubelet no longer skips keys that are not C identifiers;
//! - `env` in order: a `value` has its `$(VAR)` references expanded against what is
//!   defined so far (earlier `env`, `envFrom`, then the service links), `$$` escapes a `$`,
//!   and an unknown reference stays as written; `valueFrom` resolves its source.
//!
//! A name defined twice keeps its last value; `env` and `envFrom` hide a service link of
//! the same name. Every error keeps the kubelet's message and is a
//! `CreateContainerConfigError` ([`EnvError::reason`]).

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::api::core::v1::{
    ConfigMap, Container, EnvFromSource, EnvVarSource, ObjectFieldSelector, Pod, ResourceFieldSelector, Secret, Service,
};

use crate::registry::quantity::Quantity;
use crate::registry::validation::names::is_qualified_name;

/// What the node knows about a pod that is not (yet) in its spec or status.
#[derive(Clone, Debug, Default)]
pub struct RuntimeInfo {
    /// This node's name (used when the pod has no `spec.nodeName`).
    pub node_name: String,
    /// The pod's primary IP, once its sandbox has one.
    pub pod_ip: Option<String>,
    /// All the pod's IPs, primary first.
    pub pod_ips: Vec<String>,
    /// The node's primary IP.
    pub host_ip: String,
    /// All the node's IPs, primary first.
    pub host_ips: Vec<String>,
    /// Allocatable CPU of the node, the limit of a container without one.
    pub node_allocatable_cpu_millis: u64,
    /// Allocatable memory of the node in bytes, the limit of a container without one.
    pub node_allocatable_memory: u64,
}

/// The ConfigMaps and Secrets the kubelet can see (its caches; a map in tests).
pub trait ObjectSource {
    /// The ConfigMap `namespace/name`, if it exists.
    fn config_map(&self, namespace: &str, name: &str) -> Option<ConfigMap>;
    /// The Secret `namespace/name`, if it exists.
    fn secret(&self, namespace: &str, name: &str) -> Option<Secret>;
}

/// The container waiting reason every environment error leads to.
pub const CREATE_CONTAINER_CONFIG_ERROR: &str = "CreateContainerConfigError";

/// Why a container's environment cannot be built, with the kubelet's messages.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    /// `configmap "x" not found` / `secret "x" not found`.
    #[error("{resource} \"{name}\" not found")]
    NotFound { resource: &'static str, name: String },
    /// `couldn't find key k in ConfigMap ns/x` / `… in Secret ns/x`.
    #[error("couldn't find key {key} in {kind} {namespace}/{name}")]
    MissingKey { kind: &'static str, namespace: String, name: String, key: String },
    /// A `fieldRef` the kubelet cannot resolve (`field label not supported: …`).
    #[error("{0}")]
    FieldRef(String),
    /// A `resourceFieldRef` the kubelet cannot resolve (`container x not found`, …).
    #[error("{0}")]
    ResourceFieldRef(String),
}

impl EnvError {
    /// The waiting reason the container shows: always `CreateContainerConfigError`.
    pub fn reason(&self) -> &'static str {
        CREATE_CONTAINER_CONFIG_ERROR
    }

    /// Whether this error leaves the container in `CreateContainerConfigError` (it always does).
    pub fn is_create_container_config_error(&self) -> bool {
        true
    }
}

/// Variables in definition order; a redefinition keeps the first position and the last value.
#[derive(Default)]
struct EnvList {
    vars: Vec<(String, String)>,
    index: HashMap<String, usize>,
}

impl EnvList {
    fn set(&mut self, name: String, value: String) {
        match self.index.get(&name) {
            Some(&i) => self.vars[i].1 = value,
            None => {
                self.index.insert(name.clone(), self.vars.len());
                self.vars.push((name, value));
            }
        }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.index.get(name).map(|&i| self.vars[i].1.as_str())
    }
}

/// The environment of `container` in `pod`: service links, `envFrom`, then `env`.
///
/// `services` are the Services the kubelet knows: those of the pod's namespace and
/// `default/kubernetes` (others are ignored).
pub fn container_env(
    pod: &Pod,
    container: &Container,
    services: &[Service],
    src: &dyn ObjectSource,
    info: &RuntimeInfo,
) -> Result<Vec<(String, String)>, EnvError> {
    let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
    let links = pod.spec.as_ref().and_then(|s| s.enable_service_links).unwrap_or(true);
    let service_env = service_env(ns, links, services);
    let mut cache = Cache::new(src, ns);
    let mut env = EnvList::default();
    for from in container.env_from.iter().flatten() {
        add_env_from(&mut env, from, &mut cache)?;
    }
    for var in container.env.iter().flatten() {
        let value = var.value.as_deref().unwrap_or_default();
        let resolved = if !value.is_empty() {
            Some(expand(value, |name| env.get(name).or_else(|| service_env.get(name).map(String::as_str))))
        } else if let Some(from) = &var.value_from {
            value_from(from, pod, container, &mut cache, info)?
        } else {
            Some(String::new())
        };
        if let Some(v) = resolved {
            env.set(var.name.clone(), v);
        }
    }
    let mut out: Vec<(String, String)> = service_env.into_iter().filter(|(k, _)| env.get(k).is_none()).collect();
    out.extend(env.vars);
    Ok(out)
}

/// `$(VAR)` references in a container's command or args (or a `subPathExpr`), against
/// its environment; unknown references stay as written and `$$` becomes `$`.
pub fn expand_command(args: &[String], env: &[(String, String)]) -> Vec<String> {
    let map: HashMap<&str, &str> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    args.iter().map(|a| expand(a, |name| map.get(name).copied())).collect()
}

/// The kubelet's expansion (`third_party/forked/golang/expansion`): `$(NAME)` is replaced
/// by `lookup(NAME)` or kept when unknown; `$$` is a `$`; any other `$` stays as is.
fn expand<'a>(input: &str, lookup: impl Fn(&str) -> Option<&'a str>) -> String {
    let b = input.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let (mut cursor, mut checkpoint) = (0, 0);
    while cursor < b.len() {
        if b[cursor] == b'$' && cursor + 1 < b.len() {
            out.extend_from_slice(&b[checkpoint..cursor]);
            let rest = &b[cursor + 1..];
            let advance = match rest[0] {
                b'$' => {
                    out.push(b'$');
                    1
                }
                b'(' => match rest.iter().skip(1).position(|&c| c == b')') {
                    Some(p) => {
                        // `(` and `)` are ASCII, so the name is a str slice.
                        let name = &input[cursor + 2..cursor + 2 + p];
                        match lookup(name) {
                            Some(v) => out.extend_from_slice(v.as_bytes()),
                            None => out.extend_from_slice(format!("$({name})").as_bytes()),
                        }
                        p + 2
                    }
                    None => {
                        out.extend_from_slice(b"$(");
                        1
                    }
                },
                c => {
                    out.extend_from_slice(&[b'$', c]);
                    1
                }
            };
            cursor += advance;
            checkpoint = cursor + 1;
        }
        cursor += 1;
    }
    out.extend_from_slice(&b[checkpoint.min(b.len())..]);
    // Only whole UTF-8 sequences were copied, in order.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// ConfigMaps and Secrets looked up once per container, as the kubelet does.
struct Cache<'a> {
    src: &'a dyn ObjectSource,
    ns: &'a str,
    config_maps: HashMap<String, ConfigMap>,
    secrets: HashMap<String, Secret>,
}

impl<'a> Cache<'a> {
    fn new(src: &'a dyn ObjectSource, ns: &'a str) -> Self {
        Cache { src, ns, config_maps: HashMap::new(), secrets: HashMap::new() }
    }

    /// The ConfigMap `name`; `Ok(None)` when missing and `optional`.
    fn config_map(&mut self, name: &str, optional: bool) -> Result<Option<&ConfigMap>, EnvError> {
        if !self.config_maps.contains_key(name) {
            match self.src.config_map(self.ns, name) {
                Some(cm) => {
                    self.config_maps.insert(name.to_string(), cm);
                }
                None if optional => return Ok(None),
                None => return Err(EnvError::NotFound { resource: "configmap", name: name.to_string() }),
            }
        }
        Ok(self.config_maps.get(name))
    }

    /// The Secret `name`; `Ok(None)` when missing and `optional`.
    fn secret(&mut self, name: &str, optional: bool) -> Result<Option<&Secret>, EnvError> {
        if !self.secrets.contains_key(name) {
            match self.src.secret(self.ns, name) {
                Some(s) => {
                    self.secrets.insert(name.to_string(), s);
                }
                None if optional => return Ok(None),
                None => return Err(EnvError::NotFound { resource: "secret", name: name.to_string() }),
            }
        }
        Ok(self.secrets.get(name))
    }
}

/// One `envFrom` source: every `data` key, with the prefix.
fn add_env_from(env: &mut EnvList, from: &EnvFromSource, cache: &mut Cache<'_>) -> Result<(), EnvError> {
    let prefix = from.prefix.as_deref().unwrap_or_default();
    if let Some(r) = &from.config_map_ref {
        if let Some(cm) = cache.config_map(&r.name, r.optional.unwrap_or(false))? {
            for (k, v) in cm.data.iter().flatten() {
                env.set(format!("{prefix}{k}"), v.clone());
            }
        }
    } else if let Some(r) = &from.secret_ref
        && let Some(s) = cache.secret(&r.name, r.optional.unwrap_or(false))?
    {
        for (k, v) in s.data.iter().flatten() {
            env.set(format!("{prefix}{k}"), String::from_utf8_lossy(&v.0).into_owned());
        }
    }
    Ok(())
}

/// A `valueFrom` source; `Ok(None)` when an optional source or key is missing (no variable).
fn value_from(
    from: &EnvVarSource,
    pod: &Pod,
    container: &Container,
    cache: &mut Cache<'_>,
    info: &RuntimeInfo,
) -> Result<Option<String>, EnvError> {
    if let Some(f) = &from.field_ref {
        return field_ref_value(f, pod, info).map(Some);
    }
    if let Some(r) = &from.resource_field_ref {
        return resource_field_value(r, pod, Some(container), info).map(Some);
    }
    if let Some(r) = &from.config_map_key_ref {
        let optional = r.optional.unwrap_or(false);
        let Some(cm) = cache.config_map(&r.name, optional)? else { return Ok(None) };
        return match cm.data.as_ref().and_then(|d| d.get(&r.key)) {
            Some(v) => Ok(Some(v.clone())),
            None if optional => Ok(None),
            None => Err(missing_key("ConfigMap", cache.ns, &r.name, &r.key)),
        };
    }
    if let Some(r) = &from.secret_key_ref {
        let optional = r.optional.unwrap_or(false);
        let Some(s) = cache.secret(&r.name, optional)? else { return Ok(None) };
        return match s.data.as_ref().and_then(|d| d.get(&r.key)) {
            Some(v) => Ok(Some(String::from_utf8_lossy(&v.0).into_owned())),
            None if optional => Ok(None),
            None => Err(missing_key("Secret", cache.ns, &r.name, &r.key)),
        };
    }
    Ok(Some(String::new()))
}

fn missing_key(kind: &'static str, ns: &str, name: &str, key: &str) -> EnvError {
    EnvError::MissingKey { kind, namespace: ns.to_string(), name: name.to_string(), key: key.to_string() }
}

// ---- service links (pkg/kubelet/envvars) ----

/// The service-link variables a pod in `ns` sees, by name.
fn service_env(ns: &str, enable_links: bool, services: &[Service]) -> BTreeMap<String, String> {
    let mut chosen: BTreeMap<&str, &Service> = BTreeMap::new();
    for svc in services.iter().filter(|s| cluster_ip(s).is_some()) {
        let name = svc.metadata.name.as_deref().unwrap_or_default();
        let svc_ns = svc.metadata.namespace.as_deref().unwrap_or_default();
        if svc_ns == "default" && name == "kubernetes" {
            chosen.entry(name).or_insert(svc);
        } else if svc_ns == ns && enable_links {
            chosen.insert(name, svc);
        }
    }
    chosen.values().flat_map(|svc| service_vars(svc)).collect()
}

/// The ClusterIP of a Service that has one (not empty, not `None`).
fn cluster_ip(svc: &Service) -> Option<&str> {
    svc.spec.as_ref()?.cluster_ip.as_deref().filter(|ip| !ip.is_empty() && *ip != "None")
}

/// `FOO_SERVICE_HOST`, `FOO_SERVICE_PORT[_NAME]` and the Docker-link variables of one Service.
fn service_vars(svc: &Service) -> Vec<(String, String)> {
    let (Some(ip), Some(spec)) = (cluster_ip(svc), svc.spec.as_ref()) else { return Vec::new() };
    let prefix = env_var_name(svc.metadata.name.as_deref().unwrap_or_default());
    let ports = spec.ports.as_deref().unwrap_or_default();
    let mut out = vec![(format!("{prefix}_SERVICE_HOST"), ip.to_string())];
    let Some(first) = ports.first() else { return out };
    out.push((format!("{prefix}_SERVICE_PORT"), first.port.to_string()));
    for p in ports {
        if let Some(name) = p.name.as_deref().filter(|n| !n.is_empty()) {
            out.push((format!("{prefix}_SERVICE_PORT_{}", env_var_name(name)), p.port.to_string()));
        }
    }
    for (i, p) in ports.iter().enumerate() {
        let proto = p.protocol.as_deref().filter(|s| !s.is_empty()).unwrap_or("TCP");
        let (lower, upper) = (proto.to_lowercase(), proto.to_uppercase());
        let url = format!("{lower}://{ip}:{}", p.port);
        if i == 0 {
            out.push((format!("{prefix}_PORT"), url.clone()));
        }
        let port_prefix = format!("{prefix}_PORT_{}_{upper}", p.port);
        out.push((format!("{port_prefix}_PROTO"), lower));
        out.push((format!("{port_prefix}_PORT"), p.port.to_string()));
        out.push((format!("{port_prefix}_ADDR"), ip.to_string()));
        out.push((port_prefix, url));
    }
    out
}

/// `my-svc` → `MY_SVC`; a leading digit gets a `_`.
fn env_var_name(s: &str) -> String {
    let name = s.replace(['.', '-'], "_").to_uppercase();
    if name.starts_with(|c: char| c.is_ascii_digit()) { format!("_{name}") } else { name }
}

// ---- fieldRef (podFieldSelectorRuntimeValue, fieldpath) ----

/// The value of an env `fieldRef`, with the node's view of IPs.
fn field_ref_value(f: &ObjectFieldSelector, pod: &Pod, info: &RuntimeInfo) -> Result<String, EnvError> {
    let path = convert_field_label(f.api_version.as_deref().unwrap_or("v1"), &f.field_path)?;
    let spec = pod.spec.as_ref();
    let host_ips = if info.host_ips.is_empty() { vec![info.host_ip.clone()] } else { info.host_ips.clone() };
    let pod_ips: Vec<String> =
        if info.pod_ips.is_empty() { info.pod_ip.iter().cloned().collect() } else { info.pod_ips.clone() };
    Ok(match path.as_str() {
        "spec.nodeName" => {
            spec.and_then(|s| s.node_name.clone()).filter(|n| !n.is_empty()).unwrap_or_else(|| info.node_name.clone())
        }
        "spec.serviceAccountName" => spec.and_then(|s| s.service_account_name.clone()).unwrap_or_default(),
        "status.hostIP" => host_ips[0].clone(),
        "status.hostIPs" => host_ips.join(","),
        "status.podIP" => pod_ips.first().cloned().unwrap_or_default(),
        "status.podIPs" => pod_ips.join(","),
        _ => extract_field_path(pod, &path).map_err(EnvError::FieldRef)?,
    })
}

/// The field labels a pod's downward API accepts (`ConvertDownwardAPIFieldLabel`).
fn convert_field_label(version: &str, label: &str) -> Result<String, EnvError> {
    if version != "v1" {
        return Err(EnvError::FieldRef(format!("unsupported pod version: {version}")));
    }
    if let Some((path, _)) = split_subscript(label) {
        return match path {
            "metadata.annotations" | "metadata.labels" => Ok(label.to_string()),
            _ => Err(EnvError::FieldRef(format!("field label does not support subscript: {label}"))),
        };
    }
    match label {
        "metadata.annotations"
        | "metadata.labels"
        | "metadata.name"
        | "metadata.namespace"
        | "metadata.uid"
        | "spec.nodeName"
        | "spec.restartPolicy"
        | "spec.serviceAccountName"
        | "spec.schedulerName"
        | "status.phase"
        | "status.hostIP"
        | "status.hostIPs"
        | "status.podIP"
        | "status.podIPs" => Ok(label.to_string()),
        "spec.host" => Ok("spec.nodeName".to_string()),
        _ => Err(EnvError::FieldRef(format!("field label not supported: {label}"))),
    }
}

/// `metadata.labels['k']` → `("metadata.labels", "k")` (`SplitMaybeSubscriptedPath`).
fn split_subscript(path: &str) -> Option<(&str, &str)> {
    let (head, key) = path.strip_suffix("']")?.split_once("['")?;
    (!head.is_empty()).then_some((head, key))
}

/// A metadata field of the pod as text (`fieldpath.ExtractFieldPathAsString`): maps print
/// as sorted `key="value"` lines; a missing label or annotation is empty.
pub(crate) fn extract_field_path(pod: &Pod, path: &str) -> Result<String, String> {
    let meta = &pod.metadata;
    if let Some((head, key)) = split_subscript(path) {
        let (map, check) = match head {
            "metadata.annotations" => (&meta.annotations, key.to_lowercase()),
            "metadata.labels" => (&meta.labels, key.to_string()),
            _ => return Err(format!("fieldPath {path:?} does not support subscript")),
        };
        let errs = is_qualified_name(&check);
        if !errs.is_empty() {
            return Err(format!("invalid key subscript in {path}: {}", errs.join(";")));
        }
        return Ok(map.as_ref().and_then(|m| m.get(key)).cloned().unwrap_or_default());
    }
    match path {
        "metadata.annotations" => Ok(format_map(meta.annotations.as_ref())),
        "metadata.labels" => Ok(format_map(meta.labels.as_ref())),
        "metadata.name" => Ok(meta.name.clone().unwrap_or_default()),
        "metadata.namespace" => Ok(meta.namespace.clone().unwrap_or_default()),
        "metadata.uid" => Ok(meta.uid.clone().unwrap_or_default()),
        _ => Err(format!("unsupported fieldPath: {path}")),
    }
}

/// Sorted `key="value"` lines, values quoted as Go's `%q` does.
fn format_map(m: Option<&BTreeMap<String, String>>) -> String {
    m.into_iter().flatten().map(|(k, v)| format!("{k}={}", go_quote(v))).collect::<Vec<_>>().join("\n")
}

/// Go's `strconv.Quote` for the characters labels and annotations can hold.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x80 && c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() && (c as u32) <= 0xffff => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if c.is_control() => out.push_str(&format!("\\U{:08x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

// ---- resourceFieldRef (pkg/api/v1/resource) ----

/// The value of a `resourceFieldRef`: the named container (or `container` when the
/// selector names none), limits defaulted to the node's allocatable, divided by the
/// divisor and rounded up.
pub(crate) fn resource_field_value(
    sel: &ResourceFieldSelector,
    pod: &Pod,
    container: Option<&Container>,
    info: &RuntimeInfo,
) -> Result<String, EnvError> {
    let name = sel.container_name.as_deref().unwrap_or_default();
    let found = if name.is_empty() { container } else { find_container(pod, name) };
    let Some(c) = found else {
        return Err(EnvError::ResourceFieldRef(format!("container {name} not found")));
    };
    let divisor = sel.divisor.as_ref().and_then(|d| Quantity::parse(&d.0).ok()).filter(|d| !d.is_zero());
    let divisor = divisor.unwrap_or_else(|| Quantity::from_units(1));
    let (kind, resource) = sel
        .resource
        .split_once('.')
        .filter(|(k, _)| matches!(*k, "limits" | "requests"))
        .ok_or_else(|| unsupported_resource(&sel.resource))?;
    let amount = resource_amount(c, kind, resource, info);
    match resource {
        "cpu" => Ok(ceil_div(amount.to_millis(), divisor.to_millis()).to_string()),
        "memory" | "ephemeral-storage" => Ok(ceil_div(amount.value(), divisor.value()).to_string()),
        r if r.starts_with("hugepages-") => Ok(ceil_div(amount.value(), divisor.value()).to_string()),
        _ => Err(unsupported_resource(&sel.resource)),
    }
}

fn unsupported_resource(resource: &str) -> EnvError {
    EnvError::ResourceFieldRef(format!("Unsupported container resource : {resource}"))
}

/// A container of the pod by name (app containers, then init containers).
fn find_container<'a>(pod: &'a Pod, name: &str) -> Option<&'a Container> {
    let spec = pod.spec.as_ref()?;
    spec.containers.iter().chain(spec.init_containers.iter().flatten()).find(|c| c.name == name)
}

/// A container's request or limit; an unset or zero CPU or memory limit is the node's allocatable.
fn resource_amount(c: &Container, kind: &str, resource: &str, info: &RuntimeInfo) -> Quantity {
    let res = c.resources.as_ref();
    let list =
        if kind == "limits" { res.and_then(|r| r.limits.as_ref()) } else { res.and_then(|r| r.requests.as_ref()) };
    let set = list.and_then(|l| l.get(resource)).and_then(|q| Quantity::parse(&q.0).ok()).filter(|q| !q.is_zero());
    match (set, kind, resource) {
        (Some(q), _, _) => q,
        (None, "limits", "cpu") => Quantity::from_millis(i128::from(info.node_allocatable_cpu_millis)),
        (None, "limits", "memory") => Quantity::from_units(i128::from(info.node_allocatable_memory)),
        (None, _, _) => Quantity::from_units(0),
    }
}

/// `ceil(a / b)` for a positive divisor.
fn ceil_div(a: i128, b: i128) -> i128 {
    let b = b.max(1);
    a.div_euclid(b) + i128::from(a.rem_euclid(b) != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::ByteString;
    use k8s_openapi::api::core::v1::{
        ConfigMapEnvSource, ConfigMapKeySelector, EnvVar, PodSpec, ResourceRequirements, SecretEnvSource,
        SecretKeySelector, ServicePort, ServiceSpec,
    };
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity as Q;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    #[derive(Default)]
    struct Objects {
        cms: BTreeMap<(String, String), ConfigMap>,
        secrets: BTreeMap<(String, String), Secret>,
    }

    impl ObjectSource for Objects {
        fn config_map(&self, namespace: &str, name: &str) -> Option<ConfigMap> {
            self.cms.get(&(namespace.into(), name.into())).cloned()
        }
        fn secret(&self, namespace: &str, name: &str) -> Option<Secret> {
            self.secrets.get(&(namespace.into(), name.into())).cloned()
        }
    }

    fn objects() -> Objects {
        let mut o = Objects::default();
        let cm = ConfigMap {
            metadata: ObjectMeta { name: Some("cfg".into()), namespace: Some("ns".into()), ..Default::default() },
            data: Some(BTreeMap::from([
                ("a".into(), "1".into()),
                ("b".into(), "2".into()),
                ("app.properties".into(), "x=y".into()),
            ])),
            ..Default::default()
        };
        o.cms.insert(("ns".into(), "cfg".into()), cm);
        let s = Secret {
            metadata: ObjectMeta { name: Some("sec".into()), namespace: Some("ns".into()), ..Default::default() },
            data: Some(BTreeMap::from([("pw".into(), ByteString(b"hunter2".to_vec()))])),
            ..Default::default()
        };
        o.secrets.insert(("ns".into(), "sec".into()), s);
        o
    }

    fn pod(c: Container) -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some("web".into()),
                namespace: Some("ns".into()),
                uid: Some("u-1".into()),
                labels: Some(BTreeMap::from([("app".into(), "web".into()), ("tier".into(), "fe \"x\"".into())])),
                annotations: Some(BTreeMap::from([("note".into(), "hi".into())])),
                ..Default::default()
            },
            spec: Some(PodSpec {
                node_name: Some("node1".into()),
                service_account_name: Some("sa".into()),
                containers: vec![c],
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn info() -> RuntimeInfo {
        RuntimeInfo {
            node_name: "node1".into(),
            pod_ip: Some("10.42.0.5".into()),
            pod_ips: vec!["10.42.0.5".into(), "fd00::5".into()],
            host_ip: "192.168.1.2".into(),
            host_ips: vec!["192.168.1.2".into()],
            node_allocatable_cpu_millis: 4000,
            node_allocatable_memory: 8 * 1024 * 1024 * 1024,
        }
    }

    fn var(name: &str, value: &str) -> EnvVar {
        EnvVar { name: name.into(), value: Some(value.into()), value_from: None }
    }

    fn var_from(name: &str, from: EnvVarSource) -> EnvVar {
        EnvVar { name: name.into(), value: None, value_from: Some(from) }
    }

    fn field(path: &str) -> EnvVarSource {
        EnvVarSource {
            field_ref: Some(ObjectFieldSelector { api_version: Some("v1".into()), field_path: path.into() }),
            ..Default::default()
        }
    }

    fn run(c: Container) -> Result<Vec<(String, String)>, EnvError> {
        let p = pod(c.clone());
        container_env(&p, &c, &[], &objects(), &info())
    }

    fn env_of(vars: Vec<EnvVar>) -> Vec<(String, String)> {
        run(Container { name: "c".into(), env: Some(vars), ..Default::default() }).unwrap()
    }

    fn get<'a>(env: &'a [(String, String)], k: &str) -> Option<&'a str> {
        env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
    }

    #[test]
    fn expansion_rules() {
        let vars = [("A".to_string(), "a".to_string()), ("B".to_string(), "b".to_string())];
        let cases = [
            ("$(A)", "a"),
            ("x$(A)y$(B)z", "xaybz"),
            ("$(C)", "$(C)"),
            ("$$(A)", "$(A)"),
            ("$$$(A)", "$a"),
            ("$$", "$"),
            ("$", "$"),
            ("a$", "a$"),
            ("$(A", "$(A"),
            ("$A", "$A"),
            ("$()", "$()"),
            ("é$(A)ü", "éaü"),
            ("$(A)$(B)", "ab"),
            ("$$$$", "$$"),
        ];
        for (input, want) in cases {
            assert_eq!(expand_command(&[input.to_string()], &vars), vec![want.to_string()], "{input}");
        }
    }

    #[test]
    fn env_value_expands_earlier_vars_only() {
        let env = env_of(vec![var("A", "x"), var("B", "$(A)-$(C)"), var("C", "c"), var("D", "$$(A)")]);
        assert_eq!(get(&env, "B"), Some("x-$(C)"));
        assert_eq!(get(&env, "D"), Some("$(A)"));
    }

    #[test]
    fn env_from_with_prefix_and_override() {
        let c = Container {
            name: "c".into(),
            env_from: Some(vec![
                EnvFromSource {
                    config_map_ref: Some(ConfigMapEnvSource { name: "cfg".into(), optional: None }),
                    prefix: Some("P_".into()),
                    ..Default::default()
                },
                EnvFromSource {
                    secret_ref: Some(SecretEnvSource { name: "sec".into(), optional: None }),
                    ..Default::default()
                },
                EnvFromSource {
                    config_map_ref: Some(ConfigMapEnvSource { name: "gone".into(), optional: Some(true) }),
                    ..Default::default()
                },
            ]),
            env: Some(vec![var("P_a", "override"), var("X", "$(P_b)")]),
            ..Default::default()
        };
        let env = run(c).unwrap();
        assert_eq!(
            env,
            vec![
                ("P_a".to_string(), "override".to_string()),
                ("P_app.properties".to_string(), "x=y".to_string()),
                ("P_b".to_string(), "2".to_string()),
                ("pw".to_string(), "hunter2".to_string()),
                ("X".to_string(), "2".to_string()),
            ]
        );
    }

    #[test]
    fn env_from_missing_is_an_error() {
        let c = Container {
            name: "c".into(),
            env_from: Some(vec![EnvFromSource {
                secret_ref: Some(SecretEnvSource { name: "nope".into(), optional: Some(false) }),
                ..Default::default()
            }]),
            ..Default::default()
        };
        let err = run(c).unwrap_err();
        assert_eq!(err.to_string(), "secret \"nope\" not found");
        assert_eq!(err.reason(), "CreateContainerConfigError");
    }

    fn cm_key(name: &str, key: &str, optional: Option<bool>) -> EnvVarSource {
        EnvVarSource {
            config_map_key_ref: Some(ConfigMapKeySelector { name: name.into(), key: key.into(), optional }),
            ..Default::default()
        }
    }

    fn secret_key(name: &str, key: &str, optional: Option<bool>) -> EnvVarSource {
        EnvVarSource {
            secret_key_ref: Some(SecretKeySelector { name: name.into(), key: key.into(), optional }),
            ..Default::default()
        }
    }

    #[test]
    fn key_refs() {
        let env = env_of(vec![
            var_from("A", cm_key("cfg", "a", None)),
            var_from("PW", secret_key("sec", "pw", None)),
            var_from("OPT1", cm_key("cfg", "zzz", Some(true))),
            var_from("OPT2", secret_key("missing", "k", Some(true))),
        ]);
        assert_eq!(env, vec![("A".to_string(), "1".to_string()), ("PW".to_string(), "hunter2".to_string())]);
    }

    #[test]
    fn key_ref_errors() {
        let one = |v: EnvVarSource| {
            run(Container { name: "c".into(), env: Some(vec![var_from("X", v)]), ..Default::default() })
                .unwrap_err()
                .to_string()
        };
        assert_eq!(one(cm_key("nope", "a", None)), "configmap \"nope\" not found");
        assert_eq!(one(cm_key("cfg", "y", None)), "couldn't find key y in ConfigMap ns/cfg");
        assert_eq!(one(secret_key("nope", "a", Some(false))), "secret \"nope\" not found");
        assert_eq!(one(secret_key("sec", "y", None)), "couldn't find key y in Secret ns/sec");
    }

    #[test]
    fn field_refs() {
        let env = env_of(vec![
            var_from("NAME", field("metadata.name")),
            var_from("NS", field("metadata.namespace")),
            var_from("UID", field("metadata.uid")),
            var_from("APP", field("metadata.labels['app']")),
            var_from("NONE", field("metadata.labels['missing']")),
            var_from("NOTE", field("metadata.annotations['note']")),
            var_from("LABELS", field("metadata.labels")),
            var_from("NODE", field("spec.nodeName")),
            var_from("SA", field("spec.serviceAccountName")),
            var_from("HOST", field("status.hostIP")),
            var_from("HOSTS", field("status.hostIPs")),
            var_from("IP", field("status.podIP")),
            var_from("IPS", field("status.podIPs")),
        ]);
        let want = [
            ("NAME", "web"),
            ("NS", "ns"),
            ("UID", "u-1"),
            ("APP", "web"),
            ("NONE", ""),
            ("NOTE", "hi"),
            ("LABELS", "app=\"web\"\ntier=\"fe \\\"x\\\"\""),
            ("NODE", "node1"),
            ("SA", "sa"),
            ("HOST", "192.168.1.2"),
            ("HOSTS", "192.168.1.2"),
            ("IP", "10.42.0.5"),
            ("IPS", "10.42.0.5,fd00::5"),
        ];
        for (k, v) in want {
            assert_eq!(get(&env, k), Some(v), "{k}");
        }
    }

    #[test]
    fn field_ref_errors() {
        let one = |path: &str| {
            run(Container { name: "c".into(), env: Some(vec![var_from("X", field(path))]), ..Default::default() })
                .unwrap_err()
                .to_string()
        };
        assert_eq!(one("spec.containers"), "field label not supported: spec.containers");
        assert_eq!(one("spec.restartPolicy"), "unsupported fieldPath: spec.restartPolicy");
        assert_eq!(one("metadata.name['x']"), "field label does not support subscript: metadata.name['x']");
    }

    fn resource(res: &str, divisor: Option<&str>, container: Option<&str>) -> EnvVarSource {
        EnvVarSource {
            resource_field_ref: Some(ResourceFieldSelector {
                container_name: container.map(Into::into),
                divisor: divisor.map(|d| Q(d.into())),
                resource: res.into(),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn resource_field_refs() {
        let c = Container {
            name: "c".into(),
            resources: Some(ResourceRequirements {
                limits: Some(BTreeMap::from([("cpu".into(), Q("1500m".into())), ("memory".into(), Q("0".into()))])),
                requests: Some(BTreeMap::from([
                    ("cpu".into(), Q("250m".into())),
                    ("memory".into(), Q("64Mi".into())),
                    ("ephemeral-storage".into(), Q("1Gi".into())),
                ])),
                ..Default::default()
            }),
            env: Some(vec![
                var_from("CPU_LIMIT", resource("limits.cpu", None, None)),
                var_from("CPU_LIMIT_M", resource("limits.cpu", Some("1m"), None)),
                var_from("CPU_REQ", resource("requests.cpu", None, None)),
                var_from("MEM_LIMIT", resource("limits.memory", Some("1Mi"), None)),
                var_from("MEM_REQ", resource("requests.memory", None, None)),
                var_from("MEM_REQ_M", resource("requests.memory", Some("1M"), None)),
                var_from("EPH", resource("requests.ephemeral-storage", Some("1Ki"), Some("c"))),
                var_from("EPH_LIMIT", resource("limits.ephemeral-storage", None, None)),
            ]),
            ..Default::default()
        };
        let env = run(c).unwrap();
        let want = [
            ("CPU_LIMIT", "2"),
            ("CPU_LIMIT_M", "1500"),
            ("CPU_REQ", "1"),
            ("MEM_LIMIT", "8192"),
            ("MEM_REQ", "67108864"),
            ("MEM_REQ_M", "68"),
            ("EPH", "1048576"),
            ("EPH_LIMIT", "0"),
        ];
        for (k, v) in want {
            assert_eq!(get(&env, k), Some(v), "{k}");
        }
    }

    #[test]
    fn resource_field_ref_errors() {
        let one = |v: EnvVarSource| {
            run(Container { name: "c".into(), env: Some(vec![var_from("X", v)]), ..Default::default() })
                .unwrap_err()
                .to_string()
        };
        assert_eq!(one(resource("limits.cpu", None, Some("other"))), "container other not found");
        assert_eq!(one(resource("limits.gpu", None, None)), "Unsupported container resource : limits.gpu");
        assert_eq!(one(resource("cpu", None, None)), "Unsupported container resource : cpu");
    }

    fn service(ns: &str, name: &str, ip: &str, ports: Vec<ServicePort>) -> Service {
        Service {
            metadata: ObjectMeta { name: Some(name.into()), namespace: Some(ns.into()), ..Default::default() },
            spec: Some(ServiceSpec { cluster_ip: Some(ip.into()), ports: Some(ports), ..Default::default() }),
            ..Default::default()
        }
    }

    fn port(name: Option<&str>, port: i32, proto: Option<&str>) -> ServicePort {
        ServicePort { name: name.map(Into::into), port, protocol: proto.map(Into::into), ..Default::default() }
    }

    #[test]
    fn service_links() {
        let services = vec![
            service("default", "kubernetes", "10.43.0.1", vec![port(Some("https"), 443, Some("TCP"))]),
            service("ns", "my-svc", "10.43.0.20", vec![port(None, 80, None), port(Some("dns-udp"), 53, Some("UDP"))]),
            service("ns", "headless", "None", vec![port(None, 80, None)]),
            service("other", "elsewhere", "10.43.0.30", vec![port(None, 80, None)]),
            service("ns", "9lives", "10.43.0.40", vec![port(None, 8080, None)]),
        ];
        let c =
            Container { name: "c".into(), env: Some(vec![var("X", "$(MY_SVC_SERVICE_HOST)")]), ..Default::default() };
        let p = pod(c.clone());
        let env = container_env(&p, &c, &services, &objects(), &info()).unwrap();
        let want = [
            ("KUBERNETES_SERVICE_HOST", "10.43.0.1"),
            ("KUBERNETES_SERVICE_PORT", "443"),
            ("KUBERNETES_SERVICE_PORT_HTTPS", "443"),
            ("KUBERNETES_PORT", "tcp://10.43.0.1:443"),
            ("KUBERNETES_PORT_443_TCP", "tcp://10.43.0.1:443"),
            ("KUBERNETES_PORT_443_TCP_PROTO", "tcp"),
            ("KUBERNETES_PORT_443_TCP_PORT", "443"),
            ("KUBERNETES_PORT_443_TCP_ADDR", "10.43.0.1"),
            ("MY_SVC_SERVICE_HOST", "10.43.0.20"),
            ("MY_SVC_SERVICE_PORT", "80"),
            ("MY_SVC_SERVICE_PORT_DNS_UDP", "53"),
            ("MY_SVC_PORT", "tcp://10.43.0.20:80"),
            ("MY_SVC_PORT_80_TCP", "tcp://10.43.0.20:80"),
            ("MY_SVC_PORT_53_UDP", "udp://10.43.0.20:53"),
            ("MY_SVC_PORT_53_UDP_PROTO", "udp"),
            ("_9LIVES_SERVICE_HOST", "10.43.0.40"),
            ("X", "10.43.0.20"),
        ];
        for (k, v) in want {
            assert_eq!(get(&env, k), Some(v), "{k}");
        }
        assert!(get(&env, "HEADLESS_SERVICE_HOST").is_none());
        assert!(get(&env, "ELSEWHERE_SERVICE_HOST").is_none());
        assert_eq!(env.len(), 8 + 3 + 5 + 4 + 7 + 1, "{env:?}");
        assert_eq!(env.last().map(|(k, _)| k.as_str()), Some("X"));
    }

    #[test]
    fn service_links_disabled_keep_kubernetes() {
        let services = vec![
            service("default", "kubernetes", "10.43.0.1", vec![port(Some("https"), 443, None)]),
            service("ns", "my-svc", "10.43.0.20", vec![port(None, 80, None)]),
        ];
        let c = Container { name: "c".into(), env: Some(vec![var("KUBERNETES_PORT", "mine")]), ..Default::default() };
        let mut p = pod(c.clone());
        if let Some(s) = p.spec.as_mut() {
            s.enable_service_links = Some(false);
        }
        let env = container_env(&p, &c, &services, &objects(), &info()).unwrap();
        assert_eq!(get(&env, "KUBERNETES_SERVICE_HOST"), Some("10.43.0.1"));
        assert_eq!(get(&env, "KUBERNETES_PORT"), Some("mine"));
        assert_eq!(env.iter().filter(|(k, _)| k == "KUBERNETES_PORT").count(), 1);
        assert!(get(&env, "MY_SVC_SERVICE_HOST").is_none());
    }

    #[test]
    fn empty_value_and_duplicates() {
        let env =
            env_of(vec![EnvVar { name: "E".into(), value: None, value_from: None }, var("D", "1"), var("D", "2")]);
        assert_eq!(env, vec![("E".to_string(), String::new()), ("D".to_string(), "2".to_string())]);
    }

    #[test]
    fn go_quote_escapes() {
        assert_eq!(go_quote("a\"b\\c\nd\té\u{1}"), "\"a\\\"b\\\\c\\nd\\té\\x01\"");
    }
}
