//! Defaults of the core (`""`) group: pods and pod specs, services, namespaces, secrets,
//! volumes and claims, and the resource lists of every kind.

use serde_json::{Map, Value, json};

use super::{child, default_str, default_value, ensure, initial_status, items, missing, str_at};
use crate::registry::quantity::parse_quantity;
use crate::registry::validation::access::quantity_text;
use crate::registry::validation::core::pod::qos_class;

/// `SetDefaults_ResourceList`: every quantity rounded up to milli-units, in canonical form.
pub fn resource_list(v: Option<&mut Value>) {
    let Some(m) = v.and_then(Value::as_object_mut) else { return };
    for q in m.values_mut() {
        if let Some(p) = quantity_text(q).and_then(|t| parse_quantity(&t).ok()) {
            *q = Value::from(p.round_up(-3).to_string());
        }
    }
}

/// A single quantity field in canonical form.
pub fn quantity(v: Option<&mut Value>) {
    let Some(q) = v else { return };
    if let Some(p) = quantity_text(q).and_then(|t| parse_quantity(&t).ok()) {
        *q = Value::from(p.to_string());
    }
}

fn field<'a>(v: &'a mut Value, key: &str) -> Option<&'a mut Value> {
    v.as_object_mut()?.get_mut(key)
}

/// Apply the defaults of a core kind.
pub fn apply(kind: &str, obj: &mut Value) {
    match kind {
        "Pod" => pod(obj),
        "PodTemplate" => {
            if let Some(t) = child(obj, "template") {
                pod_template(t);
            }
        }
        "ReplicationController" => replication_controller(obj),
        "Service" => service(obj),
        "Namespace" => namespace(obj),
        "Secret" => secret(obj),
        "PersistentVolume" => persistent_volume(obj),
        "PersistentVolumeClaim" => persistent_volume_claim(obj),
        "Endpoints" => {
            for ss in items(obj, "subsets") {
                for p in items(ss, "ports") {
                    default_str(p, "protocol", "TCP");
                }
            }
        }
        "Node" => node(obj),
        "LimitRange" => limit_range(obj),
        "ResourceQuota" => {
            for part in ["spec", "status"] {
                if let Some(p) = child(obj, part) {
                    resource_list(field(p, "hard"));
                    resource_list(field(p, "used"));
                }
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------- pods

/// The tag of an image reference as the kubelet's `ParseImageName` reads it: `latest` when
/// neither tag nor digest is given, `""` for a digest alone or an unparsable name.
fn image_tag(image: &str) -> &str {
    let (name, digest) = match image.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (image, None),
    };
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    let (repo, tag) = match name[last_slash..].rfind(':') {
        Some(i) => (&name[..last_slash + i], Some(&name[last_slash + i + 1..])),
        None => (name, None),
    };
    let path = repo.split_once('/').map_or(repo, |(first, rest)| {
        if first.contains('.') || first.contains(':') || first == "localhost" { rest } else { repo }
    });
    let valid = !repo.is_empty()
        && !path.is_empty()
        && path.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"._-/".contains(&c))
        && tag.is_none_or(|t| {
            !t.is_empty() && t.len() <= 128 && t.bytes().all(|c| c.is_ascii_alphanumeric() || b"._-".contains(&c))
        });
    if !valid {
        return "";
    }
    match (tag, digest) {
        (Some(t), _) => t,
        (None, Some(_)) => "",
        (None, None) => "latest",
    }
}

fn probe(p: Option<&mut Value>) {
    let Some(p) = p.filter(|p| p.is_object()) else { return };
    for (k, v) in [("timeoutSeconds", 1), ("periodSeconds", 10), ("successThreshold", 1), ("failureThreshold", 3)] {
        if p.get(k).and_then(Value::as_i64).unwrap_or(0) == 0 {
            p[k] = Value::from(v);
        }
    }
    handler(p);
}

fn handler(h: &mut Value) {
    if let Some(g) = child(h, "httpGet") {
        default_str(g, "path", "/");
        default_str(g, "scheme", "HTTP");
    }
    if let Some(g) = child(h, "grpc") {
        default_value(g, "service", Value::from(""));
    }
}

fn field_ref(v: &mut Value) {
    if let Some(fr) = child(v, "fieldRef") {
        default_str(fr, "apiVersion", "v1");
    }
    if let Some(rf) = child(v, "resourceFieldRef") {
        quantity(field(rf, "divisor"));
    }
}

/// `SetDefaults_Container` and the defaults of its nested fields.
fn container(c: &mut Value) {
    if str_at(c, "imagePullPolicy").is_empty() {
        let policy = if image_tag(str_at(c, "image")) == "latest" { "Always" } else { "IfNotPresent" };
        c["imagePullPolicy"] = Value::from(policy);
    }
    default_str(c, "terminationMessagePath", "/dev/termination-log");
    default_str(c, "terminationMessagePolicy", "File");
    for p in items(c, "ports") {
        default_str(p, "protocol", "TCP");
    }
    for e in items(c, "env") {
        if let Some(vf) = child(e, "valueFrom") {
            field_ref(vf);
        }
    }
    for k in ["livenessProbe", "readinessProbe", "startupProbe"] {
        probe(field(c, k));
    }
    if let Some(lc) = child(c, "lifecycle") {
        for hook in ["postStart", "preStop"] {
            if let Some(h) = child(lc, hook) {
                handler(h);
            }
        }
    }
    if let Some(r) = ensure(c, "resources") {
        resource_list(field(r, "limits"));
        resource_list(field(r, "requests"));
    }
}

fn volume(v: &mut Value) {
    let has_source = v.as_object().is_some_and(|m| m.iter().any(|(k, val)| k != "name" && !val.is_null()));
    if !has_source {
        v["emptyDir"] = json!({});
    }
    if let Some(e) = child(v, "emptyDir") {
        quantity(field(e, "sizeLimit"));
    }
    if let Some(h) = child(v, "hostPath") {
        default_value(h, "type", Value::from(""));
    }
    for kind in ["secret", "configMap", "downwardAPI", "projected"] {
        if let Some(s) = child(v, kind) {
            default_value(s, "defaultMode", Value::from(420));
        }
    }
    if let Some(d) = child(v, "downwardAPI") {
        for item in items(d, "items") {
            field_ref(item);
        }
    }
    if let Some(p) = child(v, "projected") {
        for src in items(p, "sources") {
            if let Some(d) = child(src, "downwardAPI") {
                for item in items(d, "items") {
                    field_ref(item);
                }
            }
            if let Some(t) = child(src, "serviceAccountToken") {
                default_value(t, "expirationSeconds", Value::from(3600));
            }
        }
    }
    if let Some(i) = child(v, "iscsi") {
        default_str(i, "iscsiInterface", "default");
    }
    if let Some(r) = child(v, "rbd") {
        default_str(r, "pool", "rbd");
        default_str(r, "user", "admin");
        default_str(r, "keyring", "/etc/ceph/keyring");
    }
    if let Some(a) = child(v, "azureDisk") {
        default_value(a, "cachingMode", Value::from("ReadWrite"));
        default_value(a, "fsType", Value::from("ext4"));
        default_value(a, "readOnly", Value::from(false));
        default_value(a, "kind", Value::from("Shared"));
    }
    if let Some(s) = child(v, "scaleIO") {
        default_str(s, "storageMode", "ThinProvisioned");
        default_str(s, "fsType", "xfs");
    }
    if let Some(e) = child(v, "ephemeral")
        && let Some(t) = child(e, "volumeClaimTemplate")
        && let Some(spec) = child(t, "spec")
    {
        pvc_spec(spec);
    }
}

/// `SetDefaults_PodSpec` and the nested defaults of a pod spec (pods and templates).
pub fn pod_spec(spec: &mut Value) {
    default_str(spec, "dnsPolicy", "ClusterFirst");
    default_str(spec, "restartPolicy", "Always");
    default_value(spec, "securityContext", json!({}));
    default_value(spec, "terminationGracePeriodSeconds", Value::from(30));
    default_str(spec, "schedulerName", "default-scheduler");
    if str_at(spec, "serviceAccountName").is_empty() && !str_at(spec, "serviceAccount").is_empty() {
        spec["serviceAccountName"] = spec["serviceAccount"].clone();
    }
    if !str_at(spec, "serviceAccountName").is_empty() {
        spec["serviceAccount"] = spec["serviceAccountName"].clone();
    }
    for v in items(spec, "volumes") {
        volume(v);
    }
    for kind in ["initContainers", "containers", "ephemeralContainers"] {
        for c in items(spec, kind) {
            container(c);
        }
    }
    resource_list(field(spec, "overhead"));
    if let Some(r) = child(spec, "resources") {
        resource_list(field(r, "limits"));
        resource_list(field(r, "requests"));
    }
}

/// Defaults of a pod template (`spec.template` of workloads).
pub fn pod_template(t: &mut Value) {
    if let Some(spec) = ensure(t, "spec") {
        pod_spec(spec);
    }
}

const NOT_READY: &str = "node.kubernetes.io/not-ready";
const UNREACHABLE: &str = "node.kubernetes.io/unreachable";

/// The DefaultTolerationSeconds admission plugin.
fn default_tolerations(spec: &mut Value) {
    let tolerates = |spec: &Value, key: &str| {
        spec.get("tolerations").and_then(Value::as_array).is_some_and(|ts| {
            ts.iter().any(|t| {
                let (k, e) = (str_at(t, "key"), str_at(t, "effect"));
                (k == key || k.is_empty()) && (e == "NoExecute" || e.is_empty())
            })
        })
    };
    let mut add = Vec::new();
    for key in [NOT_READY, UNREACHABLE] {
        if !tolerates(spec, key) {
            add.push(json!({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}));
        }
    }
    if add.is_empty() {
        return;
    }
    match spec.get_mut("tolerations").and_then(Value::as_array_mut) {
        Some(list) => list.extend(add),
        None => spec["tolerations"] = Value::Array(add),
    }
}

/// The Priority admission plugin, for what it can resolve alone: no class (priority 0) and the
/// two system classes.
fn default_priority(spec: &mut Value) {
    let value = match str_at(spec, "priorityClassName") {
        "" => 0,
        "system-node-critical" => 2_000_001_000,
        "system-cluster-critical" => 2_000_000_000,
        _ => return,
    };
    default_value(spec, "priority", Value::from(value));
    default_value(spec, "preemptionPolicy", Value::from("PreemptLowerPriority"));
}

fn requests_from_limits(spec: &mut Value) {
    for kind in ["containers", "initContainers"] {
        for c in items(spec, kind) {
            let Some(r) = child(c, "resources") else { continue };
            let Some(limits) = r.get("limits").and_then(Value::as_object).cloned() else { continue };
            let Some(requests) = ensure(r, "requests").and_then(Value::as_object_mut) else { continue };
            for (k, v) in limits {
                requests.entry(k).or_insert(v);
            }
        }
    }
}

fn host_network_ports(spec: &mut Value) {
    if !spec.get("hostNetwork").and_then(Value::as_bool).unwrap_or(false) {
        return;
    }
    for kind in ["containers", "initContainers"] {
        for c in items(spec, kind) {
            for p in items(c, "ports") {
                if p.get("hostPort").and_then(Value::as_i64).unwrap_or(0) == 0
                    && let Some(cp) = p.get("containerPort").cloned()
                {
                    p["hostPort"] = cp;
                }
            }
        }
    }
}

fn pod(obj: &mut Value) {
    let creating = missing(obj, "status");
    let mirror = obj.pointer("/metadata/annotations/kubernetes.io~1config.mirror").is_some();
    let Some(spec) = ensure(obj, "spec") else { return };
    requests_from_limits(spec);
    default_value(spec, "enableServiceLinks", Value::from(true));
    host_network_ports(spec);
    pod_spec(spec);
    if !mirror {
        default_str(spec, "serviceAccountName", "default");
        spec["serviceAccount"] = spec["serviceAccountName"].clone();
    }
    if creating {
        default_tolerations(spec);
    }
    default_priority(spec);
    let gated = spec.get("schedulingGates").and_then(Value::as_array).is_some_and(|g| !g.is_empty());
    let qos = qos_class(obj.get("spec"));
    let Some(status) = ensure(obj, "status") else { return };
    default_str(status, "phase", "Pending");
    default_str(status, "qosClass", qos);
    if creating && gated {
        status["conditions"] = json!([{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated",
            "message": "Scheduling is blocked due to non-empty scheduling gates"}]);
    }
}

/// Mount the service account token of a pod (what the ServiceAccount admission plugin adds once
/// it has found the account): a projected volume `kube-api-access-<suffix>` with the token, the
/// cluster CA and the namespace, mounted read-only at
/// `/var/run/secrets/kubernetes.io/serviceaccount` in every container that has nothing there.
pub fn mount_service_account_token(pod: &mut Value, suffix: &str) {
    const MOUNT_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
    let Some(spec) = ensure(pod, "spec") else { return };
    if spec.get("automountServiceAccountToken") == Some(&Value::Bool(false)) {
        return;
    }
    let name = format!("kube-api-access-{suffix}");
    let volume = json!({"name": name, "projected": {"defaultMode": 420, "sources": [
        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}, "path": "namespace"}]}}]}});
    let mut mounted = false;
    for kind in ["initContainers", "containers"] {
        for c in items(spec, kind) {
            let has = c
                .get("volumeMounts")
                .and_then(Value::as_array)
                .is_some_and(|ms| ms.iter().any(|m| str_at(m, "mountPath") == MOUNT_PATH));
            if has {
                continue;
            }
            let m = json!({"name": name, "readOnly": true, "mountPath": MOUNT_PATH});
            match c.get_mut("volumeMounts").and_then(Value::as_array_mut) {
                Some(list) => list.push(m),
                None => c["volumeMounts"] = json!([m]),
            }
            mounted = true;
        }
    }
    if !mounted {
        return;
    }
    match spec.get_mut("volumes").and_then(Value::as_array_mut) {
        Some(list) => list.push(volume),
        None => spec["volumes"] = json!([volume]),
    }
}

fn replication_controller(obj: &mut Value) {
    initial_status(obj, json!({"replicas": 0}));
    let labels = obj.pointer("/spec/template/metadata/labels").filter(|l| l.is_object()).cloned();
    if let Some(labels) = labels {
        let spec = ensure(obj, "spec");
        if let Some(spec) = spec
            && spec.get("selector").and_then(Value::as_object).is_none_or(Map::is_empty)
        {
            spec["selector"] = labels.clone();
        }
        if let Some(meta) = ensure(obj, "metadata")
            && meta.get("labels").and_then(Value::as_object).is_none_or(Map::is_empty)
        {
            meta["labels"] = labels;
        }
    }
    if let Some(spec) = ensure(obj, "spec") {
        default_value(spec, "replicas", Value::from(1));
        if let Some(t) = child(spec, "template") {
            pod_template(t);
        }
    }
}

// ---------------------------------------------------------------- services

fn service(obj: &mut Value) {
    let Some(spec) = ensure(obj, "spec") else { return };
    default_str(spec, "sessionAffinity", "None");
    if str_at(spec, "sessionAffinity") == "None" {
        if let Some(m) = spec.as_object_mut() {
            m.remove("sessionAffinityConfig");
        }
    } else if str_at(spec, "sessionAffinity") == "ClientIP"
        && spec.pointer("/sessionAffinityConfig/clientIP/timeoutSeconds").is_none_or(Value::is_null)
    {
        spec["sessionAffinityConfig"] = json!({"clientIP": {"timeoutSeconds": 10800}});
    }
    default_str(spec, "type", "ClusterIP");
    let svc_type = str_at(spec, "type").to_string();
    for p in items(spec, "ports") {
        default_str(p, "protocol", "TCP");
        let unset = match p.get("targetPort") {
            None | Some(Value::Null) => true,
            Some(Value::Number(n)) => n.as_i64() == Some(0),
            Some(Value::String(s)) => s.is_empty(),
            _ => false,
        };
        if unset && let Some(port) = p.get("port").cloned() {
            p["targetPort"] = port;
        }
    }
    let external_ips = spec.get("externalIPs").and_then(Value::as_array).is_some_and(|a| !a.is_empty());
    let externally_accessible =
        svc_type == "LoadBalancer" || svc_type == "NodePort" || (svc_type == "ClusterIP" && external_ips);
    if externally_accessible {
        default_str(spec, "externalTrafficPolicy", "Cluster");
    }
    if matches!(svc_type.as_str(), "NodePort" | "LoadBalancer" | "ClusterIP") {
        default_value(spec, "internalTrafficPolicy", Value::from("Cluster"));
    }
    if svc_type == "LoadBalancer" {
        default_value(spec, "allocateLoadBalancerNodePorts", Value::from(true));
    }
    if svc_type != "ExternalName" {
        ip_families(spec);
    }
    if let Some(status) = ensure(obj, "status") {
        default_value(status, "loadBalancer", json!({}));
        if svc_type == "LoadBalancer"
            && let Some(lb) = child(status, "loadBalancer")
        {
            for ing in items(lb, "ingress") {
                if !str_at(ing, "ip").is_empty() {
                    default_value(ing, "ipMode", Value::from("VIP"));
                }
            }
        }
    }
}

/// The IP family fields the service allocator of a single-stack IPv4 cluster fills.
fn ip_families(spec: &mut Value) {
    let headless_selectorless = str_at(spec, "clusterIP") == "None"
        && spec.get("selector").and_then(Value::as_object).is_none_or(Map::is_empty);
    let policy = if headless_selectorless { "RequireDualStack" } else { "SingleStack" };
    default_value(spec, "ipFamilyPolicy", Value::from(policy));
    let ips: Vec<String> = spec
        .get("clusterIPs")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    let mut families: Vec<Value> = spec.get("ipFamilies").and_then(Value::as_array).cloned().unwrap_or_default();
    for (i, ip) in ips.iter().enumerate() {
        if ip == "None" {
            break;
        }
        if i >= families.len() {
            families.push(Value::from(if ip.contains(':') { "IPv6" } else { "IPv4" }));
        }
    }
    if families.is_empty() {
        families.push(Value::from("IPv4"));
    }
    if headless_selectorless && families.len() < 2 && str_at(spec, "ipFamilyPolicy") != "SingleStack" {
        let alt = if families[0] == "IPv4" { "IPv6" } else { "IPv4" };
        families.push(Value::from(alt));
    }
    spec["ipFamilies"] = Value::Array(families);
}

// ---------------------------------------------------------------- namespaces, secrets

fn namespace(obj: &mut Value) {
    let creating = obj.pointer("/status/phase").is_none_or(Value::is_null);
    let name = obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("").to_string();
    if !name.is_empty()
        && let Some(meta) = ensure(obj, "metadata")
        && let Some(labels) = ensure(meta, "labels")
    {
        labels["kubernetes.io/metadata.name"] = Value::from(name);
    }
    if creating {
        if let Some(spec) = ensure(obj, "spec") {
            let list = ensure_array(spec, "finalizers");
            if !list.iter().any(|f| f == "kubernetes") {
                list.push(Value::from("kubernetes"));
            }
        }
        if let Some(status) = ensure(obj, "status") {
            default_str(status, "phase", "Active");
        }
    }
}

fn ensure_array<'a>(v: &'a mut Value, key: &str) -> &'a mut Vec<Value> {
    if !v.get(key).is_some_and(Value::is_array) {
        v[key] = Value::Array(Vec::new());
    }
    match v.get_mut(key) {
        Some(Value::Array(a)) => a,
        _ => unreachable!("just set to an array"),
    }
}

/// Standard base64 with padding.
pub fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn secret(obj: &mut Value) {
    default_str(obj, "type", "Opaque");
    let string_data = obj.as_object_mut().and_then(|m| m.remove("stringData"));
    if let Some(Value::Object(sd)) = string_data
        && let Some(data) = ensure(obj, "data").and_then(Value::as_object_mut)
    {
        for (k, v) in sd {
            data.insert(k, Value::from(base64_encode(v.as_str().unwrap_or("").as_bytes())));
        }
    }
}

// ---------------------------------------------------------------- storage

/// `SetDefaults_PersistentVolumeClaimSpec` and its resource lists.
pub fn pvc_spec(spec: &mut Value) {
    default_value(spec, "volumeMode", Value::from("Filesystem"));
    if let Some(r) = child(spec, "resources") {
        resource_list(field(r, "limits"));
        resource_list(field(r, "requests"));
    }
}

/// Defaults of a PersistentVolumeClaim (also the claim templates of StatefulSets).
pub fn persistent_volume_claim(obj: &mut Value) {
    if let Some(spec) = ensure(obj, "spec") {
        pvc_spec(spec);
    }
    if let Some(status) = ensure(obj, "status") {
        default_str(status, "phase", "Pending");
        resource_list(field(status, "capacity"));
        resource_list(field(status, "allocatedResources"));
    }
}

fn persistent_volume(obj: &mut Value) {
    if let Some(spec) = ensure(obj, "spec") {
        default_str(spec, "persistentVolumeReclaimPolicy", "Retain");
        default_value(spec, "volumeMode", Value::from("Filesystem"));
        resource_list(field(spec, "capacity"));
        if let Some(h) = child(spec, "hostPath") {
            default_value(h, "type", Value::from(""));
        }
    }
    if let Some(status) = ensure(obj, "status")
        && missing(status, "phase")
    {
        status["phase"] = Value::from("Pending");
        let now = jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
        default_value(status, "lastPhaseTransitionTime", Value::from(now));
    }
}

fn node(obj: &mut Value) {
    let Some(status) = child(obj, "status") else { return };
    resource_list(field(status, "capacity"));
    resource_list(field(status, "allocatable"));
    if missing(status, "allocatable")
        && let Some(cap) = status.get("capacity").filter(|c| c.is_object()).cloned()
    {
        status["allocatable"] = cap;
    }
}

fn limit_range(obj: &mut Value) {
    let Some(spec) = child(obj, "spec") else { return };
    for item in items(spec, "limits") {
        for k in ["max", "min", "default", "defaultRequest", "maxLimitRequestRatio"] {
            resource_list(field(item, k));
        }
        if str_at(item, "type") != "Container" {
            continue;
        }
        let get = |item: &Value, k: &str| item.get(k).and_then(Value::as_object).cloned().unwrap_or_default();
        let (max, min) = (get(item, "max"), get(item, "min"));
        let mut default = get(item, "default");
        for (k, v) in max {
            default.entry(k).or_insert(v);
        }
        let mut default_request = get(item, "defaultRequest");
        for (k, v) in default.iter().chain(min.iter()) {
            default_request.entry(k.clone()).or_insert_with(|| v.clone());
        }
        item["default"] = Value::Object(default);
        item["defaultRequest"] = Value::Object(default_request);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaulted(kind: &str, mut v: Value) -> Value {
        apply(kind, &mut v);
        v
    }

    #[test]
    fn pods_look_like_a_real_cluster() {
        let p = defaulted(
            "Pod",
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "nginx", "namespace": "default"},
            "spec": {"containers": [{"name": "nginx", "image": "nginx", "ports": [{"containerPort": 80}],
                "readinessProbe": {"httpGet": {"port": 80}}, "env": [{"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]}]}}),
        );
        assert_eq!(
            p["spec"],
            json!({
            "containers": [{"name": "nginx", "image": "nginx", "ports": [{"containerPort": 80, "protocol": "TCP"}],
                "readinessProbe": {"httpGet": {"port": 80, "path": "/", "scheme": "HTTP"}, "timeoutSeconds": 1, "periodSeconds": 10,
                    "successThreshold": 1, "failureThreshold": 3},
                "env": [{"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name", "apiVersion": "v1"}}}],
                "imagePullPolicy": "Always", "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
                "resources": {}}],
            "enableServiceLinks": true,
            "dnsPolicy": "ClusterFirst", "restartPolicy": "Always", "securityContext": {}, "terminationGracePeriodSeconds": 30,
            "schedulerName": "default-scheduler", "serviceAccountName": "default", "serviceAccount": "default",
            "tolerations": [
                {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}],
            "priority": 0, "preemptionPolicy": "PreemptLowerPriority"})
        );
        assert_eq!(p["status"], json!({"phase": "Pending", "qosClass": "BestEffort"}));
    }

    #[test]
    fn pod_resources_and_qos() {
        let p = defaulted(
            "Pod",
            json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "busybox:1.36",
            "resources": {"limits": {"cpu": "0.5", "memory": "1024Mi"}}}]}}),
        );
        let c = &p["spec"]["containers"][0];
        assert_eq!(c["imagePullPolicy"], "IfNotPresent");
        assert_eq!(
            c["resources"],
            json!({"limits": {"cpu": "500m", "memory": "1Gi"}, "requests": {"cpu": "500m", "memory": "1Gi"}})
        );
        assert_eq!(p["status"]["qosClass"], "Guaranteed");
    }

    #[test]
    fn image_tags() {
        assert_eq!(image_tag("nginx"), "latest");
        assert_eq!(image_tag("nginx:1.27"), "1.27");
        assert_eq!(image_tag("localhost:5000/app"), "latest");
        assert_eq!(image_tag("localhost:5000/app:v1"), "v1");
        assert_eq!(image_tag("nginx@sha256:abc"), "");
        assert_eq!(image_tag("NGINX"), "");
        assert_eq!(image_tag("docker.io/library/nginx:latest"), "latest");
    }

    #[test]
    fn volumes_and_tolerations() {
        let p = defaulted(
            "Pod",
            json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "i"}],
            "tolerations": [{"operator": "Exists"}],
            "volumes": [{"name": "a"}, {"name": "b", "secret": {"secretName": "s"}}, {"name": "c", "hostPath": {"path": "/x"}}]}}),
        );
        assert_eq!(
            p["spec"]["volumes"],
            json!([{"name": "a", "emptyDir": {}}, {"name": "b", "secret": {"secretName": "s", "defaultMode": 420}},
            {"name": "c", "hostPath": {"path": "/x", "type": ""}}])
        );
        assert_eq!(p["spec"]["tolerations"], json!([{"operator": "Exists"}]));
    }

    #[test]
    fn services() {
        let s = defaulted(
            "Service",
            json!({"metadata": {"name": "web"}, "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}),
        );
        assert_eq!(
            s["spec"],
            json!({"selector": {"app": "web"}, "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}],
            "sessionAffinity": "None", "type": "ClusterIP", "internalTrafficPolicy": "Cluster",
            "ipFamilyPolicy": "SingleStack", "ipFamilies": ["IPv4"]})
        );
        assert_eq!(s["status"], json!({"loadBalancer": {}}));
        let np =
            defaulted("Service", json!({"spec": {"type": "NodePort", "ports": [{"port": 80, "targetPort": "http"}]}}));
        assert_eq!(np["spec"]["externalTrafficPolicy"], "Cluster");
        assert_eq!(np["spec"]["ports"][0]["targetPort"], "http");
        let headless = defaulted("Service", json!({"spec": {"clusterIP": "None"}}));
        assert_eq!(headless["spec"]["ipFamilyPolicy"], "RequireDualStack");
        assert_eq!(headless["spec"]["ipFamilies"], json!(["IPv4", "IPv6"]));
        let ext = defaulted("Service", json!({"spec": {"type": "ExternalName", "externalName": "example.com"}}));
        assert!(ext["spec"].get("ipFamilies").is_none());
        assert!(ext["spec"].get("internalTrafficPolicy").is_none());
    }

    #[test]
    fn namespaces_secrets_claims() {
        let ns = defaulted("Namespace", json!({"metadata": {"name": "dev"}}));
        assert_eq!(
            ns,
            json!({"metadata": {"name": "dev", "labels": {"kubernetes.io/metadata.name": "dev"}},
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})
        );
        let terminating = defaulted(
            "Namespace",
            json!({"metadata": {"name": "dev"}, "spec": {}, "status": {"phase": "Terminating"}}),
        );
        assert_eq!(terminating["spec"], json!({}));
        let s = defaulted("Secret", json!({"metadata": {"name": "s"}, "stringData": {"user": "admin"}}));
        assert_eq!(s, json!({"metadata": {"name": "s"}, "type": "Opaque", "data": {"user": "YWRtaW4="}}));
        let pvc = defaulted(
            "PersistentVolumeClaim",
            json!({"spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1.5Gi"}}}}),
        );
        assert_eq!(
            pvc,
            json!({"spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1536Mi"}}, "volumeMode": "Filesystem"},
            "status": {"phase": "Pending"}})
        );
    }

    #[test]
    fn service_account_token_mount() {
        let mut p = json!({"spec": {"containers": [{"name": "c"}]}});
        mount_service_account_token(&mut p, "x7k2p");
        assert_eq!(
            p["spec"]["containers"][0]["volumeMounts"][0],
            json!({"name": "kube-api-access-x7k2p", "readOnly": true,
            "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"})
        );
        assert_eq!(
            p["spec"]["volumes"][0]["projected"]["sources"][0]["serviceAccountToken"]["expirationSeconds"],
            3607
        );
    }

    #[test]
    fn limit_ranges() {
        let lr = defaulted(
            "LimitRange",
            json!({"spec": {"limits": [{"type": "Container", "max": {"cpu": "2"}, "min": {"memory": "64Mi"}}]}}),
        );
        assert_eq!(lr["spec"]["limits"][0]["default"], json!({"cpu": "2"}));
        assert_eq!(lr["spec"]["limits"][0]["defaultRequest"], json!({"cpu": "2", "memory": "64Mi"}));
    }
}
