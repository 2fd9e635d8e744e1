//! Printers of the core group (`/api/v1`) and of events.k8s.io Events.

use jiff::Timestamp;
use serde_json::Value;

use super::descriptions as d;
use super::format::{
    Ctx, access_modes, annotation, arr, as_int, at, boolean, condition_true, containers, deleting, format_labels, int,
    int_or_string, map, name, or, parse_time, quantity, s,
};
use super::{AGE, CONTAINERS, CellsFn, Column, IMAGES, NAME, col, wide};

pub(super) fn printer(group: &str, resource: &str) -> Option<(&'static [Column], CellsFn)> {
    Some(match (group, resource) {
        ("", "pods") => (POD_COLUMNS, pod),
        ("", "podtemplates") => (POD_TEMPLATE_COLUMNS, pod_template),
        ("", "replicationcontrollers") => (RC_COLUMNS, replication_controller),
        ("", "services") => (SERVICE_COLUMNS, service),
        ("", "endpoints") => (ENDPOINTS_COLUMNS, endpoints),
        ("", "nodes") => (NODE_COLUMNS, node),
        ("", "namespaces") => (NAMESPACE_COLUMNS, namespace),
        ("", "events") | ("events.k8s.io", "events") => (EVENT_COLUMNS, event),
        ("", "secrets") => (SECRET_COLUMNS, secret),
        ("", "serviceaccounts") => (SERVICE_ACCOUNT_COLUMNS, service_account),
        ("", "persistentvolumes") => (PV_COLUMNS, persistent_volume),
        ("", "persistentvolumeclaims") => (PVC_COLUMNS, persistent_volume_claim),
        ("", "componentstatuses") => (COMPONENT_STATUS_COLUMNS, component_status),
        ("", "configmaps") => (CONFIGMAP_COLUMNS, config_map),
        ("", "resourcequotas") => (RESOURCE_QUOTA_COLUMNS, resource_quota),
        _ => return None,
    })
}

// ----- pods -----

const POD_COLUMNS: &[Column] = &[
    NAME,
    col("Ready", "string", "The aggregate readiness state of this pod for accepting traffic."),
    col("Status", "string", "The aggregate status of the containers in this pod."),
    col(
        "Restarts",
        "string",
        "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
    ),
    AGE,
    wide("IP", "string", d::POD_STATUS_POD_IP),
    wide("Node", "string", d::POD_SPEC_NODE_NAME),
    wide("Nominated Node", "string", d::POD_STATUS_NOMINATED_NODE_NAME),
    wide("Readiness Gates", "string", d::POD_SPEC_READINESS_GATES),
];

/// The latest of two restart dates (`metav1.Time.Before` semantics: unset never wins).
fn later(current: Option<Timestamp>, candidate: Option<Timestamp>) -> Option<Timestamp> {
    match (current, candidate) {
        (Some(c), Some(n)) if c < n => Some(n),
        (None, Some(n)) => Some(n),
        (c, _) => c,
    }
}

/// When a container last terminated, if it ever did.
fn last_termination(status: &Value) -> Option<Option<Timestamp>> {
    at(status, &["lastState", "terminated"]).map(|t| parse_time(at(t, &["finishedAt"])))
}

fn is_restartable_init(container: Option<&Value>) -> bool {
    container.is_some_and(|c| s(c, &["restartPolicy"]) == "Always")
}

/// The pieces of `printPod` that walk container statuses.
struct PodState {
    reason: String,
    ready: usize,
    total: usize,
    restarts: i64,
    last_restart: Option<Timestamp>,
}

fn pod_state(pod: &Value) -> PodState {
    let spec_inits = arr(pod, &["spec", "initContainers"]);
    let conditions = arr(pod, &["status", "conditions"]);
    let phase = s(pod, &["status", "phase"]);
    let mut reason = or(s(pod, &["status", "reason"]), phase);
    if conditions.iter().any(|c| s(c, &["type"]) == "PodScheduled" && s(c, &["reason"]) == "SchedulingGated") {
        reason = "SchedulingGated".to_string();
    }
    let init_spec = |n: &str| spec_inits.iter().find(|c| s(c, &["name"]) == n);
    let mut st = PodState {
        reason,
        ready: 0,
        total: arr(pod, &["spec", "containers"]).len()
            + spec_inits.iter().filter(|c| is_restartable_init(Some(c))).count(),
        restarts: 0,
        last_restart: None,
    };
    let mut restartable_restarts = 0;
    let mut last_restartable: Option<Timestamp> = None;
    let mut initializing = false;
    for (i, c) in arr(pod, &["status", "initContainerStatuses"]).iter().enumerate() {
        st.restarts += int(c, &["restartCount"]);
        let term = last_termination(c);
        if let Some(t) = term {
            st.last_restart = later(st.last_restart, t);
        }
        let restartable = is_restartable_init(init_spec(s(c, &["name"])));
        if restartable {
            restartable_restarts += int(c, &["restartCount"]);
            if let Some(t) = term {
                last_restartable = later(last_restartable, t);
            }
        }
        let terminated = at(c, &["state", "terminated"]);
        let waiting_reason = s(c, &["state", "waiting", "reason"]);
        if terminated.is_some_and(|t| int(t, &["exitCode"]) == 0) {
            continue;
        }
        if restartable && boolean(c, &["started"]) {
            if boolean(c, &["ready"]) {
                st.ready += 1;
            }
            continue;
        }
        st.reason = if let Some(t) = terminated {
            match s(t, &["reason"]) {
                "" if int(t, &["signal"]) != 0 => format!("Init:Signal:{}", int(t, &["signal"])),
                "" => format!("Init:ExitCode:{}", int(t, &["exitCode"])),
                r => format!("Init:{r}"),
            }
        } else if !waiting_reason.is_empty() && waiting_reason != "PodInitializing" {
            format!("Init:{waiting_reason}")
        } else {
            format!("Init:{i}/{}", spec_inits.len())
        };
        initializing = true;
        break;
    }
    if !initializing || condition_true(conditions, "Initialized") {
        st.restarts = restartable_restarts;
        st.last_restart = last_restartable;
        let mut has_running = false;
        for c in arr(pod, &["status", "containerStatuses"]).iter().rev() {
            st.restarts += int(c, &["restartCount"]);
            if let Some(t) = last_termination(c) {
                st.last_restart = later(st.last_restart, t);
            }
            let waiting_reason = s(c, &["state", "waiting", "reason"]);
            let terminated = at(c, &["state", "terminated"]);
            if !waiting_reason.is_empty() {
                st.reason = waiting_reason.to_string();
            } else if let Some(t) = terminated {
                st.reason = match s(t, &["reason"]) {
                    "" if int(t, &["signal"]) != 0 => format!("Signal:{}", int(t, &["signal"])),
                    "" => format!("ExitCode:{}", int(t, &["exitCode"])),
                    r => r.to_string(),
                };
            } else if boolean(c, &["ready"]) && at(c, &["state", "running"]).is_some() {
                has_running = true;
                st.ready += 1;
            }
        }
        if st.reason == "Completed" && has_running {
            st.reason = if condition_true(conditions, "Ready") { "Running" } else { "NotReady" }.to_string();
        }
    }
    if deleting(pod) && s(pod, &["status", "reason"]) == "NodeLost" {
        st.reason = "Unknown".to_string();
    } else if deleting(pod) && phase != "Failed" && phase != "Succeeded" {
        st.reason = "Terminating".to_string();
    }
    st
}

/// The pod's primary IP as the internal type has it: `status.podIP` (authoritative when set),
/// else the first of `status.podIPs`.
fn pod_ip(pod: &Value) -> String {
    match s(pod, &["status", "podIP"]) {
        "" => arr(pod, &["status", "podIPs"]).first().map_or("", |p| s(p, &["ip"])).to_string(),
        ip => ip.to_string(),
    }
}

fn readiness_gates(pod: &Value) -> String {
    let gates = arr(pod, &["spec", "readinessGates"]);
    if gates.is_empty() {
        return "<none>".to_string();
    }
    let conditions = arr(pod, &["status", "conditions"]);
    let true_count = gates
        .iter()
        .filter(|g| {
            let wanted = s(g, &["conditionType"]);
            conditions.iter().find(|c| s(c, &["type"]) == wanted).is_some_and(|c| s(c, &["status"]) == "True")
        })
        .count();
    format!("{true_count}/{}", gates.len())
}

fn pod(pod: &Value, ctx: &Ctx) -> Vec<Value> {
    let st = pod_state(pod);
    let restarts = match st.last_restart {
        Some(t) if st.restarts != 0 => format!("{} ({} ago)", st.restarts, ctx.since_ts(t)),
        _ => st.restarts.to_string(),
    };
    vec![
        name(pod).into(),
        format!("{}/{}", st.ready, st.total).into(),
        st.reason.into(),
        restarts.into(),
        ctx.age(pod).into(),
        or(&pod_ip(pod), "<none>").into(),
        or(s(pod, &["spec", "nodeName"]), "<none>").into(),
        or(s(pod, &["status", "nominatedNodeName"]), "<none>").into(),
        readiness_gates(pod).into(),
    ]
}

const POD_TEMPLATE_COLUMNS: &[Column] = &[
    NAME,
    col("Containers", "string", "Names of each container in the template."),
    col("Images", "string", "Images referenced by each container in the template."),
    col("Pod Labels", "string", "The labels for the pod template."),
];

fn pod_template(obj: &Value, _: &Ctx) -> Vec<Value> {
    let (names, images) = containers(arr(obj, &["template", "spec", "containers"]));
    vec![
        name(obj).into(),
        names.into(),
        images.into(),
        format_labels(map(obj, &["template", "metadata", "labels"])).into(),
    ]
}

// ----- replication controllers -----

const RC_COLUMNS: &[Column] = &[
    NAME,
    col("Desired", "integer", d::RC_SPEC_REPLICAS),
    col("Current", "integer", d::RC_STATUS_REPLICAS),
    col("Ready", "integer", d::RC_STATUS_READY_REPLICAS),
    AGE,
    CONTAINERS,
    IMAGES,
    wide("Selector", "string", d::RC_SPEC_SELECTOR),
];

fn replication_controller(obj: &Value, ctx: &Ctx) -> Vec<Value> {
    let (names, images) = containers(arr(obj, &["spec", "template", "spec", "containers"]));
    vec![
        name(obj).into(),
        int(obj, &["spec", "replicas"]).into(),
        int(obj, &["status", "replicas"]).into(),
        int(obj, &["status", "readyReplicas"]).into(),
        ctx.age(obj).into(),
        names.into(),
        images.into(),
        format_labels(map(obj, &["spec", "selector"])).into(),
    ]
}

// ----- services and endpoints -----

const SERVICE_COLUMNS: &[Column] = &[
    NAME,
    col("Type", "string", d::SVC_SPEC_TYPE),
    col("Cluster-IP", "string", d::SVC_SPEC_CLUSTER_IP),
    col("External-IP", "string", d::SVC_SPEC_EXTERNAL_IPS),
    col("Port(s)", "string", d::SVC_SPEC_PORTS),
    AGE,
    wide("Selector", "string", d::SVC_SPEC_SELECTOR),
];

/// `loadBalancerStatusStringer` in wide mode (the server never truncates): IPs or
/// hostnames of the ingress points, unique, sorted, comma-joined.
pub(super) fn load_balancer_ingress(status: Option<&Value>) -> String {
    let mut out: Vec<String> = status
        .map(|st| arr(st, &["ingress"]))
        .unwrap_or(&[])
        .iter()
        .filter_map(|i| {
            let ip = s(i, &["ip"]);
            let host = s(i, &["hostname"]);
            if !ip.is_empty() {
                Some(ip.to_string())
            } else if !host.is_empty() {
                Some(host.to_string())
            } else {
                None
            }
        })
        .collect();
    out.sort();
    out.dedup();
    out.join(",")
}

fn strings(list: &[Value]) -> Vec<String> {
    list.iter().map(|v| v.as_str().unwrap_or("").to_string()).collect()
}

fn service_external_ip(svc: &Value) -> String {
    let external = strings(arr(svc, &["spec", "externalIPs"]));
    match s(svc, &["spec", "type"]) {
        "ClusterIP" | "NodePort" => or(&external.join(","), "<none>"),
        "LoadBalancer" => {
            let lb = load_balancer_ingress(at(svc, &["status", "loadBalancer"]));
            if !external.is_empty() {
                let mut results: Vec<String> =
                    if lb.is_empty() { Vec::new() } else { lb.split(',').map(str::to_string).collect() };
                results.extend(external);
                return results.join(",");
            }
            or(&lb, "<pending>")
        }
        "ExternalName" => s(svc, &["spec", "externalName"]).to_string(),
        _ => "<unknown>".to_string(),
    }
}

fn service_ports(svc: &Value) -> String {
    let pieces: Vec<String> = arr(svc, &["spec", "ports"])
        .iter()
        .map(|p| {
            let port = int(p, &["port"]);
            let proto = s(p, &["protocol"]);
            match int(p, &["nodePort"]) {
                n if n > 0 => format!("{port}:{n}/{proto}"),
                _ => format!("{port}/{proto}"),
            }
        })
        .collect();
    or(&pieces.join(","), "<none>")
}

fn service(svc: &Value, ctx: &Ctx) -> Vec<Value> {
    // clusterIP is authoritative when set; clusterIPs[0] otherwise.
    let cluster_ip = match s(svc, &["spec", "clusterIP"]) {
        "" => arr(svc, &["spec", "clusterIPs"]).first().and_then(Value::as_str).unwrap_or("<none>"),
        ip => ip,
    };
    vec![
        name(svc).into(),
        s(svc, &["spec", "type"]).into(),
        cluster_ip.into(),
        service_external_ip(svc).into(),
        service_ports(svc).into(),
        ctx.age(svc).into(),
        format_labels(map(svc, &["spec", "selector"])).into(),
    ]
}

const ENDPOINTS_COLUMNS: &[Column] = &[NAME, col("Endpoints", "string", d::ENDPOINTS_SUBSETS), AGE];

/// `net.JoinHostPort`.
fn join_host_port(host: &str, port: i64) -> String {
    if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") }
}

/// `formatEndpoints` with no port filter: up to three addresses, then `+ N more...`.
fn format_endpoints(obj: &Value) -> String {
    let subsets = arr(obj, &["subsets"]);
    if subsets.is_empty() {
        return "<none>".to_string();
    }
    const MAX: usize = 3;
    let mut list: Vec<String> = Vec::new();
    let mut more = false;
    let mut count = 0;
    for ss in subsets {
        let addresses = arr(ss, &["addresses"]);
        let ports = arr(ss, &["ports"]);
        if ports.is_empty() {
            count += addresses.len();
            for a in addresses {
                if list.len() == MAX {
                    more = true;
                    break;
                }
                list.push(s(a, &["ip"]).to_string());
            }
            continue;
        }
        for p in ports {
            count += addresses.len();
            for a in addresses {
                if list.len() == MAX {
                    more = true;
                    break;
                }
                list.push(join_host_port(s(a, &["ip"]), int(p, &["port"])));
            }
        }
    }
    let ret = list.join(",");
    if more { format!("{ret} + {} more...", count - MAX) } else { ret }
}

fn endpoints(obj: &Value, ctx: &Ctx) -> Vec<Value> {
    vec![name(obj).into(), format_endpoints(obj).into(), ctx.age(obj).into()]
}

// ----- nodes and namespaces -----

const NODE_COLUMNS: &[Column] = &[
    NAME,
    col("Status", "string", "The status of the node"),
    col("Roles", "string", "The roles of the node"),
    AGE,
    col("Version", "string", d::NODE_INFO_KUBELET_VERSION),
    wide("Internal-IP", "string", d::NODE_STATUS_ADDRESSES),
    wide("External-IP", "string", d::NODE_STATUS_ADDRESSES),
    wide("OS-Image", "string", d::NODE_INFO_OS_IMAGE),
    wide("Kernel-Version", "string", d::NODE_INFO_KERNEL_VERSION),
    wide("Container-Runtime", "string", d::NODE_INFO_CONTAINER_RUNTIME),
];

fn node_status(node: &Value) -> String {
    // The printer keys conditions by type, so the last Ready condition wins.
    let ready = arr(node, &["status", "conditions"]).iter().rev().find(|c| s(c, &["type"]) == "Ready");
    let mut status = vec![match ready {
        Some(c) if s(c, &["status"]) == "True" => "Ready",
        Some(_) => "NotReady",
        None => "Unknown",
    }];
    if boolean(node, &["spec", "unschedulable"]) {
        status.push("SchedulingDisabled");
    }
    status.join(",")
}

/// `findNodeRoles`: `node-role.kubernetes.io/<role>` keys and `kubernetes.io/role` values, sorted.
fn node_roles(node: &Value) -> String {
    let mut roles: Vec<&str> = map(node, &["metadata", "labels"])
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| match k.strip_prefix("node-role.kubernetes.io/") {
            Some(role) if !role.is_empty() => Some(role),
            Some(_) => None,
            None if k == "kubernetes.io/role" => v.as_str().filter(|v| !v.is_empty()),
            None => None,
        })
        .collect();
    roles.sort_unstable();
    roles.dedup();
    or(&roles.join(","), "<none>")
}

fn node_address(node: &Value, type_: &str) -> String {
    let a = arr(node, &["status", "addresses"]).iter().find(|a| s(a, &["type"]) == type_);
    a.map_or_else(|| "<none>".to_string(), |a| s(a, &["address"]).to_string())
}

fn node(node: &Value, ctx: &Ctx) -> Vec<Value> {
    let info = |f: &str| s(node, &["status", "nodeInfo", f]);
    vec![
        name(node).into(),
        node_status(node).into(),
        node_roles(node).into(),
        ctx.age(node).into(),
        info("kubeletVersion").into(),
        node_address(node, "InternalIP").into(),
        node_address(node, "ExternalIP").into(),
        or(info("osImage"), "<unknown>").into(),
        or(info("kernelVersion"), "<unknown>").into(),
        or(info("containerRuntimeVersion"), "<unknown>").into(),
    ]
}

const NAMESPACE_COLUMNS: &[Column] = &[NAME, col("Status", "string", "The status of the namespace"), AGE];

fn namespace(obj: &Value, ctx: &Ctx) -> Vec<Value> {
    vec![name(obj).into(), s(obj, &["status", "phase"]).into(), ctx.age(obj).into()]
}

// ----- events -----

const EVENT_COLUMNS: &[Column] = &[
    col("Last Seen", "string", d::EVENT_LAST_TIMESTAMP),
    col("Type", "string", d::EVENT_TYPE),
    col("Reason", "string", d::EVENT_REASON),
    col("Object", "string", d::EVENT_INVOLVED_OBJECT),
    wide("Subobject", "string", d::OBJECT_REFERENCE_FIELD_PATH),
    wide("Source", "string", d::EVENT_SOURCE),
    col("Message", "string", d::EVENT_MESSAGE),
    wide("First Seen", "string", d::EVENT_FIRST_TIMESTAMP),
    wide("Count", "string", d::EVENT_COUNT),
    Column { priority: 1, ..NAME },
];

/// A field of an Event in its core/v1 spelling, falling back to the events.k8s.io one.
fn event_field<'a>(ev: &'a Value, core: &[&str], events: &[&str]) -> Option<&'a Value> {
    at(ev, core).or_else(|| at(ev, events))
}

fn event_str<'a>(ev: &'a Value, core: &[&str], events: &[&str]) -> &'a str {
    event_field(ev, core, events).and_then(Value::as_str).unwrap_or("")
}

/// `formatEventSource`: component (or reporting controller), then host (or reporting instance).
fn event_source(ev: &Value) -> String {
    let component = match event_str(ev, &["source", "component"], &["deprecatedSource", "component"]) {
        "" => event_str(ev, &["reportingComponent"], &["reportingController"]),
        c => c,
    };
    let host = event_str(ev, &["source", "host"], &["deprecatedSource", "host"]);
    let instance = if host.is_empty() { s(ev, &["reportingInstance"]) } else { host };
    if instance.is_empty() { component.to_string() } else { format!("{component}, {instance}") }
}

fn event(ev: &Value, ctx: &Ctx) -> Vec<Value> {
    let first_ts = event_field(ev, &["firstTimestamp"], &["deprecatedFirstTimestamp"]);
    let first = if parse_time(first_ts).is_some() { ctx.since(first_ts) } else { ctx.since(at(ev, &["eventTime"])) };
    let last_ts = event_field(ev, &["lastTimestamp"], &["deprecatedLastTimestamp"]);
    let mut last = if parse_time(last_ts).is_some() { ctx.since(last_ts) } else { first.clone() };
    let mut count = event_field(ev, &["count"], &["deprecatedCount"]).map(as_int).unwrap_or(0);
    if let Some(series) = at(ev, &["series"]) {
        last = ctx.since(at(series, &["lastObservedTime"]));
        count = int(series, &["count"]);
    } else if count == 0 {
        count = 1;
    }
    let kind = event_str(ev, &["involvedObject", "kind"], &["regarding", "kind"]).to_lowercase();
    let obj_name = event_str(ev, &["involvedObject", "name"], &["regarding", "name"]);
    let target = if obj_name.is_empty() { kind } else { format!("{kind}/{obj_name}") };
    vec![
        last.into(),
        s(ev, &["type"]).into(),
        s(ev, &["reason"]).into(),
        target.into(),
        event_str(ev, &["involvedObject", "fieldPath"], &["regarding", "fieldPath"]).into(),
        event_source(ev).into(),
        event_str(ev, &["message"], &["note"]).trim().into(),
        first.into(),
        count.into(),
        name(ev).into(),
    ]
}

// ----- config -----

const SECRET_COLUMNS: &[Column] =
    &[NAME, col("Type", "string", d::SECRET_TYPE), col("Data", "string", d::SECRET_DATA), AGE];

fn secret(obj: &Value, ctx: &Ctx) -> Vec<Value> {
    // stringData is merged into data when the object is read.
    let mut keys: Vec<&String> = map(obj, &["data"]).into_iter().flatten().map(|(k, _)| k).collect();
    keys.extend(map(obj, &["stringData"]).into_iter().flatten().map(|(k, _)| k));
    keys.sort_unstable();
    keys.dedup();
    vec![name(obj).into(), s(obj, &["type"]).into(), (keys.len() as i64).into(), ctx.age(obj).into()]
}

const SERVICE_ACCOUNT_COLUMNS: &[Column] = &[NAME, col("Secrets", "string", d::SA_SECRETS), AGE];

fn service_account(obj: &Value, ctx: &Ctx) -> Vec<Value> {
    vec![name(obj).into(), (arr(obj, &["secrets"]).len() as i64).into(), ctx.age(obj).into()]
}

const CONFIGMAP_COLUMNS: &[Column] = &[NAME, col("Data", "string", d::CONFIGMAP_DATA), AGE];

fn config_map(obj: &Value, ctx: &Ctx) -> Vec<Value> {
    let len = |k: &str| map(obj, &[k]).map_or(0, |m| m.len());
    vec![name(obj).into(), ((len("data") + len("binaryData")) as i64).into(), ctx.age(obj).into()]
}

// ----- storage -----

const PV_COLUMNS: &[Column] = &[
    NAME,
    col("Capacity", "string", d::PV_SPEC_CAPACITY),
    col("Access Modes", "string", d::PV_SPEC_ACCESS_MODES),
    col("Reclaim Policy", "string", d::PV_SPEC_RECLAIM_POLICY),
    col("Status", "string", d::PV_STATUS_PHASE),
    col("Claim", "string", d::PV_SPEC_CLAIM_REF),
    col("StorageClass", "string", "StorageClass of the pv"),
    col("VolumeAttributesClass", "string", "VolumeAttributesClass of the pv"),
    col("Reason", "string", d::PV_STATUS_REASON),
    AGE,
    wide("VolumeMode", "string", d::PV_SPEC_VOLUME_MODE),
];

const BETA_STORAGE_CLASS: &str = "volume.beta.kubernetes.io/storage-class";

/// `GetPersistentVolumeClass` / `GetPersistentVolumeClaimClass`: the beta annotation wins.
fn storage_class(obj: &Value) -> String {
    annotation(obj, BETA_STORAGE_CLASS).unwrap_or_else(|| s(obj, &["spec", "storageClassName"])).to_string()
}

fn unset_or(obj: &Value, path: &[&str]) -> String {
    at(obj, path).and_then(Value::as_str).unwrap_or("<unset>").to_string()
}

fn phase_or_terminating(obj: &Value) -> String {
    if deleting(obj) { "Terminating".to_string() } else { s(obj, &["status", "phase"]).to_string() }
}

fn persistent_volume(pv: &Value, ctx: &Ctx) -> Vec<Value> {
    let claim = at(pv, &["spec", "claimRef"])
        .map(|c| format!("{}/{}", s(c, &["namespace"]), s(c, &["name"])))
        .unwrap_or_default();
    vec![
        name(pv).into(),
        quantity(at(pv, &["spec", "capacity", "storage"])).into(),
        access_modes(arr(pv, &["spec", "accessModes"])).into(),
        s(pv, &["spec", "persistentVolumeReclaimPolicy"]).into(),
        phase_or_terminating(pv).into(),
        claim.into(),
        storage_class(pv).into(),
        unset_or(pv, &["spec", "volumeAttributesClassName"]).into(),
        s(pv, &["status", "reason"]).into(),
        ctx.age(pv).into(),
        unset_or(pv, &["spec", "volumeMode"]).into(),
    ]
}

const PVC_COLUMNS: &[Column] = &[
    NAME,
    col("Status", "string", d::PVC_STATUS_PHASE),
    col("Volume", "string", d::PVC_SPEC_VOLUME_NAME),
    col("Capacity", "string", d::PVC_STATUS_CAPACITY),
    col("Access Modes", "string", d::PVC_STATUS_ACCESS_MODES),
    col("StorageClass", "string", "StorageClass of the pvc"),
    col("VolumeAttributesClass", "string", "VolumeAttributesClass of the pvc"),
    AGE,
    wide("VolumeMode", "string", d::PVC_SPEC_VOLUME_MODE),
];

fn persistent_volume_claim(pvc: &Value, ctx: &Ctx) -> Vec<Value> {
    let volume = s(pvc, &["spec", "volumeName"]);
    let (capacity, modes) = if volume.is_empty() {
        (String::new(), String::new())
    } else {
        (quantity(at(pvc, &["status", "capacity", "storage"])), access_modes(arr(pvc, &["status", "accessModes"])))
    };
    vec![
        name(pvc).into(),
        phase_or_terminating(pvc).into(),
        volume.into(),
        capacity.into(),
        modes.into(),
        storage_class(pvc).into(),
        unset_or(pvc, &["spec", "volumeAttributesClassName"]).into(),
        ctx.age(pvc).into(),
        unset_or(pvc, &["spec", "volumeMode"]).into(),
    ]
}

// ----- cluster state -----

const COMPONENT_STATUS_COLUMNS: &[Column] = &[
    NAME,
    col("Status", "string", "Status of the component conditions"),
    col("Message", "string", "Message of the component conditions"),
    col("Error", "string", "Error of the component conditions"),
];

fn component_status(obj: &Value, _: &Ctx) -> Vec<Value> {
    let healthy = arr(obj, &["conditions"]).iter().find(|c| s(c, &["type"]) == "Healthy");
    let (status, message, error) = match healthy {
        Some(c) => {
            (if s(c, &["status"]) == "True" { "Healthy" } else { "Unhealthy" }, s(c, &["message"]), s(c, &["error"]))
        }
        None => ("Unknown", "", ""),
    };
    vec![name(obj).into(), status.into(), message.into(), error.into()]
}

const RESOURCE_QUOTA_COLUMNS: &[Column] = &[
    NAME,
    col("Request", "string", "Request represents a minimum amount of cpu/memory that a container may consume."),
    col(
        "Limit",
        "string",
        "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.",
    ),
    AGE,
];

fn resource_quota(obj: &Value, ctx: &Ctx) -> Vec<Value> {
    let hard = map(obj, &["status", "hard"]);
    let mut resources: Vec<&String> = hard.into_iter().flatten().map(|(k, _)| k).collect();
    resources.sort_unstable();
    let (mut requests, mut limits) = (Vec::new(), Vec::new());
    for r in resources {
        let used = quantity(at(obj, &["status", "used", r]));
        let limit = quantity(hard.and_then(|h| h.get(r)));
        let entry = format!("{r}: {used}/{limit}");
        let pieces: Vec<&str> = r.split('.').collect();
        if pieces.len() > 1 && pieces[0] == "limits" { limits.push(entry) } else { requests.push(entry) }
    }
    vec![name(obj).into(), requests.join(", ").into(), limits.join(", ").into(), ctx.age(obj).into()]
}

/// `intstr` fields of a PodDisruptionBudget, `N/A` when unset (used by the policy printer).
pub(super) fn int_or_string_or_na(obj: &Value, path: &[&str]) -> String {
    at(obj, path).map_or_else(|| "N/A".to_string(), int_or_string)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::tests::now;
    use super::*;

    fn row(resource: &str, obj: Value) -> Vec<Value> {
        super::super::cells("", resource, &obj, now())
    }

    fn container_status(name: &str, state: Value, ready: bool, restarts: i64) -> Value {
        json!({"name": name, "state": state, "ready": ready, "restartCount": restarts})
    }

    #[test]
    fn running_pod_with_restarts() {
        let pod = json!({
            "metadata": {"name": "web-1", "creationTimestamp": "2024-05-01T10:00:00Z"},
            "spec": {"nodeName": "node-a", "containers": [{"name": "a"}, {"name": "b"}]},
            "status": {"phase": "Running", "podIP": "10.42.0.7", "podIPs": [{"ip": "10.42.0.7"}],
                "conditions": [{"type": "Ready", "status": "False"}],
                "containerStatuses": [
                    {"name": "a", "ready": true, "restartCount": 3, "state": {"running": {}},
                     "lastState": {"terminated": {"exitCode": 1, "finishedAt": "2024-05-01T11:55:00Z"}}},
                    container_status("b", json!({"waiting": {"reason": "ContainerCreating"}}), false, 0)
                ]}
        });
        assert_eq!(
            row("pods", pod),
            vec![
                json!("web-1"),
                json!("1/2"),
                json!("ContainerCreating"),
                json!("3 (5m ago)"),
                json!("120m"),
                json!("10.42.0.7"),
                json!("node-a"),
                json!("<none>"),
                json!("<none>")
            ]
        );
    }

    #[test]
    fn crash_loop_and_terminating() {
        let crash = json!({
            "metadata": {"name": "c"},
            "spec": {"containers": [{"name": "a"}]},
            "status": {"phase": "Running", "containerStatuses": [
                container_status("a", json!({"waiting": {"reason": "CrashLoopBackOff"}}), false, 7)]}
        });
        let cells = row("pods", crash.clone());
        assert_eq!(
            (&cells[1], &cells[2], &cells[3], &cells[4]),
            (&json!("0/1"), &json!("CrashLoopBackOff"), &json!("7"), &json!("<unknown>"))
        );
        let mut deleting = crash;
        deleting["metadata"]["deletionTimestamp"] = json!("2024-05-01T11:00:00Z");
        assert_eq!(row("pods", deleting)[2], json!("Terminating"));
        let lost = json!({"metadata": {"name": "l", "deletionTimestamp": "2024-05-01T11:00:00Z"},
            "status": {"phase": "Running", "reason": "NodeLost"}});
        assert_eq!(row("pods", lost)[2], json!("Unknown"));
    }

    #[test]
    fn init_containers() {
        let pending = json!({
            "metadata": {"name": "p"},
            "spec": {"initContainers": [{"name": "i1"}, {"name": "i2"}], "containers": [{"name": "a"}]},
            "status": {"phase": "Pending", "initContainerStatuses": [
                container_status("i1", json!({"terminated": {"exitCode": 0}}), false, 0),
                container_status("i2", json!({"running": {}}), false, 0)],
                "containerStatuses": [container_status("a", json!({"waiting": {"reason": "PodInitializing"}}), false, 0)]}
        });
        assert_eq!(row("pods", pending)[1..3], [json!("0/1"), json!("Init:1/2")]);
        let failed = json!({
            "metadata": {"name": "p"},
            "spec": {"initContainers": [{"name": "i1"}], "containers": [{"name": "a"}]},
            "status": {"phase": "Pending", "initContainerStatuses": [
                container_status("i1", json!({"terminated": {"exitCode": 2}}), false, 1)]}
        });
        assert_eq!(row("pods", failed)[2..4], [json!("Init:ExitCode:2"), json!("1")]);
        let waiting = json!({
            "metadata": {"name": "p"},
            "spec": {"initContainers": [{"name": "i1"}], "containers": [{"name": "a"}]},
            "status": {"phase": "Pending", "initContainerStatuses": [
                container_status("i1", json!({"waiting": {"reason": "ImagePullBackOff"}}), false, 0)]}
        });
        assert_eq!(row("pods", waiting)[2], json!("Init:ImagePullBackOff"));
        let sidecar = json!({
            "metadata": {"name": "p"},
            "spec": {"initContainers": [{"name": "proxy", "restartPolicy": "Always"}], "containers": [{"name": "a"}]},
            "status": {"phase": "Running", "conditions": [{"type": "Initialized", "status": "True"}],
                "initContainerStatuses": [{"name": "proxy", "started": true, "ready": true, "restartCount": 2, "state": {"running": {}}}],
                "containerStatuses": [container_status("a", json!({"running": {}}), true, 1)]}
        });
        assert_eq!(row("pods", sidecar)[1..4], [json!("2/2"), json!("Running"), json!("3")]);
    }

    #[test]
    fn completed_and_gated_pods() {
        let completed = json!({
            "metadata": {"name": "job-x"},
            "spec": {"containers": [{"name": "a"}]},
            "status": {"phase": "Succeeded", "containerStatuses": [
                container_status("a", json!({"terminated": {"exitCode": 0, "reason": "Completed"}}), false, 0)]}
        });
        assert_eq!(row("pods", completed)[1..3], [json!("0/1"), json!("Completed")]);
        let signal = json!({"metadata": {"name": "s"}, "spec": {"containers": [{"name": "a"}]},
            "status": {"phase": "Failed", "containerStatuses": [container_status("a", json!({"terminated": {"exitCode": 137, "signal": 9}}), false, 0)]}});
        assert_eq!(row("pods", signal)[2], json!("Signal:9"));
        let gated = json!({"metadata": {"name": "g"}, "spec": {"containers": [{"name": "a"}],
            "readinessGates": [{"conditionType": "x/ready"}, {"conditionType": "y/ready"}]},
            "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"},
                {"type": "x/ready", "status": "True"}]}});
        let cells = row("pods", gated);
        assert_eq!(cells[2], json!("SchedulingGated"));
        assert_eq!(cells[8], json!("1/2"));
    }

    #[test]
    fn services() {
        let svc = json!({
            "metadata": {"name": "web", "creationTimestamp": "2024-04-30T12:00:00Z"},
            "spec": {"type": "NodePort", "clusterIP": "10.43.0.12", "clusterIPs": ["10.43.0.12"],
                "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}],
                "selector": {"app": "web"}}
        });
        assert_eq!(
            row("services", svc),
            vec![
                json!("web"),
                json!("NodePort"),
                json!("10.43.0.12"),
                json!("<none>"),
                json!("80:30080/TCP,53/UDP"),
                json!("24h"),
                json!("app=web")
            ]
        );
        let lb = json!({"metadata": {"name": "lb"}, "spec": {"type": "LoadBalancer", "clusterIP": "10.43.0.9", "externalIPs": ["1.2.3.4"]},
            "status": {"loadBalancer": {"ingress": [{"ip": "192.168.1.20"}, {"hostname": "lb.example.com"}]}}});
        let cells = row("services", lb);
        assert_eq!(cells[2], json!("10.43.0.9"));
        assert_eq!(cells[3], json!("192.168.1.20,lb.example.com,1.2.3.4"));
        assert_eq!(cells[4], json!("<none>"));
        let pending = json!({"metadata": {"name": "lb"}, "spec": {"type": "LoadBalancer"}});
        assert_eq!(row("services", pending)[3], json!("<pending>"));
        let ext = json!({"metadata": {"name": "e"}, "spec": {"type": "ExternalName", "externalName": "example.com"}});
        assert_eq!(row("services", ext)[2..4], [json!("<none>"), json!("example.com")]);
        let headless = json!({"metadata": {"name": "h"}, "spec": {"type": "ClusterIP", "clusterIP": "None", "clusterIPs": ["None"]}});
        assert_eq!(row("services", headless)[2], json!("None"));
    }

    #[test]
    fn endpoints_list() {
        let ep = json!({"metadata": {"name": "web"}, "subsets": [
            {"addresses": [{"ip": "10.42.0.1"}, {"ip": "10.42.0.2"}], "ports": [{"port": 80}, {"port": 443}]},
            {"addresses": [{"ip": "fd00::1"}]}]});
        assert_eq!(row("endpoints", ep)[1], json!("10.42.0.1:80,10.42.0.2:80,10.42.0.1:443 + 2 more..."));
        let v6 = json!({"metadata": {"name": "v6"}, "subsets": [{"addresses": [{"ip": "fd00::1"}], "ports": [{"port": 80}]}]});
        assert_eq!(row("endpoints", v6)[1], json!("[fd00::1]:80"));
        assert_eq!(row("endpoints", json!({"metadata": {"name": "e"}}))[1], json!("<none>"));
    }

    #[test]
    fn nodes() {
        let node = json!({
            "metadata": {"name": "n1", "creationTimestamp": "2024-04-20T12:00:00Z",
                "labels": {"node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/master": "true", "kubernetes.io/role": "etcd"}},
            "spec": {"unschedulable": true},
            "status": {"conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True"}],
                "addresses": [{"type": "InternalIP", "address": "192.168.1.10"}, {"type": "Hostname", "address": "n1"}],
                "nodeInfo": {"kubeletVersion": "v1.33.0+coracle", "osImage": "Debian GNU/Linux 12 (bookworm)",
                    "kernelVersion": "6.1.0", "containerRuntimeVersion": ""}}
        });
        assert_eq!(
            row("nodes", node),
            vec![
                json!("n1"),
                json!("Ready,SchedulingDisabled"),
                json!("control-plane,etcd,master"),
                json!("11d"),
                json!("v1.33.0+coracle"),
                json!("192.168.1.10"),
                json!("<none>"),
                json!("Debian GNU/Linux 12 (bookworm)"),
                json!("6.1.0"),
                json!("<unknown>")
            ]
        );
        let unknown = json!({"metadata": {"name": "n2"}});
        assert_eq!(row("nodes", unknown)[1..3], [json!("Unknown"), json!("<none>")]);
        let not_ready =
            json!({"metadata": {"name": "n3"}, "status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}});
        assert_eq!(row("nodes", not_ready)[1], json!("NotReady"));
    }

    #[test]
    fn events_core_and_new() {
        let ev = json!({
            "metadata": {"name": "web.17a", "namespace": "default"},
            "involvedObject": {"kind": "Pod", "name": "web", "fieldPath": "spec.containers{web}"},
            "reason": "Pulled", "message": " Successfully pulled image \n", "type": "Normal",
            "source": {"component": "kubelet", "host": "n1"},
            "firstTimestamp": "2024-05-01T11:00:00Z", "lastTimestamp": "2024-05-01T11:58:00Z", "count": 4
        });
        assert_eq!(
            row("events", ev),
            vec![
                json!("2m"),
                json!("Normal"),
                json!("Pulled"),
                json!("pod/web"),
                json!("spec.containers{web}"),
                json!("kubelet, n1"),
                json!("Successfully pulled image"),
                json!("60m"),
                json!(4),
                json!("web.17a")
            ]
        );
        let new = json!({
            "metadata": {"name": "e2"}, "eventTime": "2024-05-01T11:59:30.000000Z",
            "regarding": {"kind": "Node", "name": ""}, "note": "rebooted", "type": "Warning", "reason": "Rebooted",
            "reportingController": "kubelet", "reportingInstance": "n1",
            "series": {"count": 5, "lastObservedTime": "2024-05-01T11:59:50.000000Z"}
        });
        let cells = super::super::cells("events.k8s.io", "events", &new, now());
        assert_eq!(
            cells,
            vec![
                json!("10s"),
                json!("Warning"),
                json!("Rebooted"),
                json!("node"),
                json!(""),
                json!("kubelet, n1"),
                json!("rebooted"),
                json!("30s"),
                json!(5),
                json!("e2")
            ]
        );
        let bare = json!({"metadata": {"name": "e3"}, "involvedObject": {"kind": "Pod", "name": "x"}});
        let cells = row("events", bare);
        assert_eq!((&cells[0], &cells[7], &cells[8]), (&json!("<unknown>"), &json!("<unknown>"), &json!(1)));
    }

    #[test]
    fn config_objects() {
        let secret = json!({"metadata": {"name": "s"}, "type": "Opaque", "data": {"a": "eA==", "b": "eQ=="}, "stringData": {"b": "y", "c": "z"}});
        assert_eq!(row("secrets", secret), vec![json!("s"), json!("Opaque"), json!(3), json!("<unknown>")]);
        let cm = json!({"metadata": {"name": "c"}, "data": {"a": "1"}, "binaryData": {"b": "AA=="}});
        assert_eq!(row("configmaps", cm)[1], json!(2));
        let sa = json!({"metadata": {"name": "default"}});
        assert_eq!(row("serviceaccounts", sa)[1], json!(0));
        let ns = json!({"metadata": {"name": "kube-system"}, "status": {"phase": "Active"}});
        assert_eq!(row("namespaces", ns)[1], json!("Active"));
    }

    #[test]
    fn volumes() {
        let pv = json!({
            "metadata": {"name": "pv1", "annotations": {"volume.beta.kubernetes.io/storage-class": "old"}},
            "spec": {"capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteMany", "ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": "Retain", "claimRef": {"namespace": "default", "name": "data"},
                "storageClassName": "local-path", "volumeMode": "Filesystem"},
            "status": {"phase": "Bound"}
        });
        assert_eq!(
            row("persistentvolumes", pv),
            vec![
                json!("pv1"),
                json!("10Gi"),
                json!("RWO,RWX"),
                json!("Retain"),
                json!("Bound"),
                json!("default/data"),
                json!("old"),
                json!("<unset>"),
                json!(""),
                json!("<unknown>"),
                json!("Filesystem")
            ]
        );
        let pvc = json!({
            "metadata": {"name": "data"},
            "spec": {"volumeName": "pv1", "storageClassName": "local-path", "resources": {"requests": {"storage": "1Gi"}}},
            "status": {"phase": "Bound", "capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteOnce"]}
        });
        assert_eq!(
            row("persistentvolumeclaims", pvc),
            vec![
                json!("data"),
                json!("Bound"),
                json!("pv1"),
                json!("10Gi"),
                json!("RWO"),
                json!("local-path"),
                json!("<unset>"),
                json!("<unknown>"),
                json!("<unset>")
            ]
        );
        let pending = json!({"metadata": {"name": "p", "deletionTimestamp": "2024-05-01T11:00:00Z"}, "spec": {}, "status": {"phase": "Pending"}});
        assert_eq!(
            row("persistentvolumeclaims", pending)[1..5],
            [json!("Terminating"), json!(""), json!(""), json!("")]
        );
    }

    #[test]
    fn quotas_and_component_statuses() {
        let rq = json!({"metadata": {"name": "q"}, "status": {
            "hard": {"requests.cpu": "2", "limits.memory": "2Gi", "pods": "10", "limits.cpu": "4"},
            "used": {"requests.cpu": "500m", "pods": "3", "limits.cpu": "1"}}});
        assert_eq!(
            row("resourcequotas", rq)[1..3],
            [json!("pods: 3/10, requests.cpu: 500m/2"), json!("limits.cpu: 1/4, limits.memory: 0/2Gi")]
        );
        let cs = json!({"metadata": {"name": "etcd-0"}, "conditions": [{"type": "Healthy", "status": "True", "message": "ok"}]});
        assert_eq!(row("componentstatuses", cs), vec![json!("etcd-0"), json!("Healthy"), json!("ok"), json!("")]);
    }

    #[test]
    fn templates_and_controllers() {
        let pt = json!({"metadata": {"name": "t"}, "template": {"metadata": {"labels": {"app": "x"}},
            "spec": {"containers": [{"name": "a", "image": "i1"}, {"name": "b", "image": "i2"}]}}});
        assert_eq!(row("podtemplates", pt), vec![json!("t"), json!("a,b"), json!("i1,i2"), json!("app=x")]);
        let rc = json!({"metadata": {"name": "rc"}, "spec": {"replicas": 3, "selector": {"app": "x"},
            "template": {"spec": {"containers": [{"name": "a", "image": "i1"}]}}}, "status": {"replicas": 3, "readyReplicas": 2}});
        assert_eq!(
            row("replicationcontrollers", rc),
            vec![
                json!("rc"),
                json!(3),
                json!(3),
                json!(2),
                json!("<unknown>"),
                json!("a"),
                json!("i1"),
                json!("app=x")
            ]
        );
    }
}
