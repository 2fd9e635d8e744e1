//! The smaller core kinds: ConfigMap, Secret, Namespace, ServiceAccount, Node, Endpoints,
//! Event, LimitRange, ResourceQuota, ReplicationController and PodTemplate.

use serde_json::Value;

use super::pod::{validate_pod_template_spec, validate_taint_effect};
use super::resources::{
    is_overcommit_allowed, is_standard_quota_resource, quantity_at, validate_container_resource_name,
    validate_quantity_value, validate_quota_resource_name, validate_resource_name,
};
use crate::registry::field_error::{FieldError, Path};
use crate::registry::quantity::Quantity;
use crate::registry::validation::access::{Fields, metadata, semantic_eq};
use crate::registry::validation::meta::{
    self, MetaRules, immutable, non_negative, render_string_map, validate_finalizer_name, validate_label_name,
};
use crate::registry::validation::names;

/// Largest ConfigMap or Secret payload.
pub const MAX_SECRET_SIZE: usize = 1024 * 1024;

fn rules(namespaced: bool) -> MetaRules {
    MetaRules { name: names::name_is_dns_subdomain, namespaced: Some(namespaced), builtin: true }
}

/// Decode standard base64 (padding optional); `None` when malformed.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut buf, mut bits) = (0u32, 0u32);
    for c in s.bytes().filter(|c| *c != b'=') {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        buf = (buf << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
        }
    }
    Some(out)
}

// ---------------------------------------------------------------- ConfigMap and Secret

/// ConfigMap create and update.
pub fn validate_config_map(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some(old) = old {
        errs.extend(meta::validate_object_meta_update(obj, old, true));
        if old.flag("immutable") {
            if !obj.flag("immutable") {
                errs.push(FieldError::forbidden("immutable", "field is immutable when `immutable` is set"));
            }
            for f in ["data", "binaryData"] {
                if !semantic_eq(obj.field(f).unwrap_or(&Value::Null), old.field(f).unwrap_or(&Value::Null)) {
                    errs.push(FieldError::forbidden(f, "field is immutable when `immutable` is set"));
                }
            }
        }
    }
    errs.extend(meta::validate_object_meta(obj, rules(true)));
    let mut total = 0;
    let binary = obj.entries("binaryData");
    for (k, v) in obj.str_map("data") {
        let p = Path::new("data").key(k);
        errs.extend(names::is_config_map_key(k).into_iter().map(|m| FieldError::invalid(&p, k, m)));
        if binary.iter().any(|(b, _)| *b == k) {
            errs.push(FieldError::invalid(&p, k, "duplicate of key present in binaryData"));
        }
        total += v.len();
    }
    for (k, v) in &binary {
        let p = Path::new("binaryData").key(k);
        errs.extend(names::is_config_map_key(k).into_iter().map(|m| FieldError::invalid(&p, *k, m)));
        total += v.as_str().and_then(base64_decode).map_or(0, |b| b.len());
    }
    if total > MAX_SECRET_SIZE {
        errs.push(FieldError::too_long("", MAX_SECRET_SIZE));
    }
    errs
}

/// Secret create and update.
pub fn validate_secret(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if let Some(old) = old {
        errs.extend(meta::validate_object_meta_update(obj, old, true));
        errs.extend(immutable(
            obj.field("type").unwrap_or(&Value::Null),
            old.field("type").unwrap_or(&Value::Null),
            &Path::new("type"),
        ));
        if old.flag("immutable") {
            if !obj.flag("immutable") {
                errs.push(FieldError::forbidden("immutable", "field is immutable when `immutable` is set"));
            }
            if !semantic_eq(obj.field("data").unwrap_or(&Value::Null), old.field("data").unwrap_or(&Value::Null)) {
                errs.push(FieldError::forbidden("data", "field is immutable when `immutable` is set"));
            }
        }
    }
    errs.extend(meta::validate_object_meta(obj, rules(true)));
    let data_path = Path::new("data");
    let data = obj.entries("data");
    let mut total = 0;
    for (k, v) in &data {
        errs.extend(names::is_config_map_key(k).into_iter().map(|m| FieldError::invalid(data_path.key(k), *k, m)));
        total += v.as_str().and_then(base64_decode).map_or(0, |b| b.len());
    }
    if total > MAX_SECRET_SIZE {
        errs.push(FieldError::too_long(&data_path, MAX_SECRET_SIZE));
    }
    let get = |k: &str| {
        data.iter().find(|(d, _)| *d == k).map(|(_, v)| v.as_str().and_then(base64_decode).unwrap_or_default())
    };
    match obj.str_of("type") {
        "kubernetes.io/service-account-token"
            if metadata(obj).field("annotations").str_of("kubernetes.io/service-account.name").is_empty() =>
        {
            errs.push(FieldError::required(
                Path::new("metadata").child("annotations").key("kubernetes.io/service-account.name"),
                "",
            ));
        }
        "kubernetes.io/dockercfg" => errs.extend(json_key(get(".dockercfg"), &data_path.key(".dockercfg"))),
        "kubernetes.io/dockerconfigjson" => {
            errs.extend(json_key(get(".dockerconfigjson"), &data_path.key(".dockerconfigjson")))
        }
        "kubernetes.io/basic-auth" if get("username").is_none() && get("password").is_none() => {
            errs.push(FieldError::required(data_path.key("username"), ""));
            errs.push(FieldError::required(data_path.key("password"), ""));
        }
        "kubernetes.io/ssh-auth" if get("ssh-privatekey").is_none_or(|v| v.is_empty()) => {
            errs.push(FieldError::required(data_path.key("ssh-privatekey"), ""));
        }
        "kubernetes.io/tls" => {
            for k in ["tls.crt", "tls.key"] {
                if get(k).is_none() {
                    errs.push(FieldError::required(data_path.key(k), ""));
                }
            }
        }
        _ => {}
    }
    errs
}

/// The key must exist and hold a JSON object.
fn json_key(content: Option<Vec<u8>>, path: &Path) -> Vec<FieldError> {
    let Some(bytes) = content else { return vec![FieldError::required(path, "")] };
    match serde_json::from_slice::<serde_json::Map<String, Value>>(&bytes) {
        Ok(_) => vec![],
        Err(e) => vec![FieldError::invalid(path, "<secret contents redacted>", go_json_error(&bytes, &e))],
    }
}

/// An approximation of Go's `encoding/json` error text.
fn go_json_error(bytes: &[u8], e: &serde_json::Error) -> String {
    let trimmed: Vec<u8> = bytes.iter().copied().skip_while(u8::is_ascii_whitespace).collect();
    match trimmed.first() {
        None => "unexpected end of JSON input".into(),
        Some(c) if !b"{[\"tfn-0123456789".contains(c) => {
            format!("invalid character '{}' looking for beginning of value", char::from(*c))
        }
        Some(_) if e.is_eof() => "unexpected end of JSON input".into(),
        Some(_) => e.to_string(),
    }
}

// ---------------------------------------------------------------- Namespace, ServiceAccount

/// Namespace create and update (also `/finalize`).
pub fn validate_namespace(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let ns_rules = MetaRules { name: names::name_is_dns_label, namespaced: Some(false), builtin: true };
    let Some(old) = old else {
        let mut errs = meta::validate_object_meta(obj, ns_rules);
        for f in obj.field("spec").strings("finalizers") {
            errs.extend(validate_finalizer_name(f, &Path::new("spec").child("finalizers")));
        }
        return errs;
    };
    let mut errs = meta::validate_object_meta_update(obj, old, true);
    for (i, f) in obj.field("spec").strings("finalizers").iter().enumerate() {
        errs.extend(validate_finalizer_name(f, &Path::new("spec").child("finalizers").index(i)));
    }
    errs
}

/// Namespace `/status`.
pub fn validate_namespace_status(obj: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = meta::validate_object_meta_update(obj, old, true);
    let phase = obj.field("status").str_of("phase");
    if !metadata(obj).has("deletionTimestamp") {
        if phase != "Active" {
            errs.push(FieldError::invalid(
                "status.Phase",
                phase,
                "may only be 'Active' if `deletionTimestamp` is empty",
            ));
        }
    } else if phase != "Terminating" {
        errs.push(FieldError::invalid(
            "status.Phase",
            phase,
            "may only be 'Terminating' if `deletionTimestamp` is not empty",
        ));
    }
    errs
}

/// Kinds whose only rules are the ObjectMeta ones (ServiceAccount and others).
pub fn validate_meta_only(obj: &Value, old: Option<&Value>, namespaced: bool) -> Vec<FieldError> {
    meta::validate_meta(obj, old, rules(namespaced))
}

// ---------------------------------------------------------------- Node

fn validate_taints(taints: &[Value], path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut unique: Vec<(&str, &str)> = Vec::new();
    for (i, t) in taints.iter().enumerate() {
        let p = path.index(i);
        let (key, value, effect) = (t.str_of("key"), t.str_of("value"), t.str_of("effect"));
        errs.extend(validate_label_name(key, &p.child("key")));
        let msgs = names::is_valid_label_value(value);
        if !msgs.is_empty() {
            errs.push(FieldError::invalid(p.child("value"), value, msgs.join(";")));
        }
        if effect.is_empty() {
            errs.push(FieldError::required(p.child("effect"), ""));
        } else {
            errs.extend(validate_taint_effect(effect, &p.child("effect")));
        }
        if unique.contains(&(effect, key)) {
            let mut e = FieldError::duplicate(&p, t.clone());
            e.detail = "taints must be unique by key and effect pair".into();
            errs.push(e);
            continue;
        }
        unique.push((effect, key));
    }
    errs
}

fn validate_node_resources(obj: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for list in ["capacity", "allocatable"] {
        for (k, v) in obj.field("status").entries(list) {
            let p = Path::new("status").child(list).child(k);
            match quantity_at(v, &p) {
                Ok(q) => errs.extend(validate_quantity_value(k, &q, &p)),
                Err(e) => errs.push(*e),
            }
        }
    }
    errs
}

fn validate_pod_cidrs(cidrs: &[&str]) -> Vec<FieldError> {
    let p = Path::new("spec").child("podCIDRs");
    let mut errs = Vec::new();
    for (i, c) in cidrs.iter().enumerate() {
        errs.extend(names::is_valid_cidr(p.index(i).as_str(), c));
    }
    if cidrs.len() > 1 {
        let v6 = cidrs.iter().filter(|c| c.contains(':')).count();
        if cidrs.len() > 2 || v6 != 1 {
            errs.push(FieldError::invalid_rendered(
                &p,
                meta::render_string_list(cidrs),
                "may specify no more than one CIDR for each IP family",
            ));
        }
        for (i, c) in cidrs.iter().enumerate() {
            if cidrs[..i].contains(c) {
                errs.push(FieldError::duplicate(p.index(i), *c));
            }
        }
    }
    errs
}

/// Node create and update (the kubelet's status writes use the update rules too).
pub fn validate_node(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let spec = obj.field("spec");
    let taint_path = Path::new("metadata").child("taints");
    let Some(old) = old else {
        let mut errs = meta::validate_object_meta(obj, rules(false));
        errs.extend(validate_taints(spec.list("taints"), &taint_path));
        errs.extend(validate_node_resources(obj));
        errs.extend(validate_pod_cidrs(&spec.strings("podCIDRs")));
        return errs;
    };
    let mut errs = meta::validate_object_meta_update(obj, old, true);
    errs.extend(validate_node_resources(obj));
    let addrs = obj.field("status").list("addresses");
    for (i, a) in addrs.iter().enumerate() {
        if addrs[..i].contains(a) {
            errs.push(FieldError::duplicate(Path::new("status").child("addresses").index(i), a.clone()));
        }
    }
    let old_spec = old.field("spec");
    let (old_cidrs, new_cidrs) = (old_spec.strings("podCIDRs"), spec.strings("podCIDRs"));
    if !old_cidrs.is_empty() {
        let msg = "node updates may not change podCIDR except from \"\" to valid";
        if old_cidrs.len() != new_cidrs.len() {
            errs.push(FieldError::forbidden("spec.podCIDRs", msg));
        } else {
            for (o, n) in old_cidrs.iter().zip(&new_cidrs) {
                if o != n {
                    errs.push(FieldError::forbidden("spec.podCIDRs", msg));
                }
            }
        }
    }
    let old_provider = old_spec.str_of("providerID");
    if !old_provider.is_empty() && old_provider != spec.str_of("providerID") {
        errs.push(FieldError::forbidden(
            "spec.providerID",
            "node updates may not change providerID except from \"\" to valid",
        ));
    }
    errs.extend(validate_taints(spec.list("taints"), &taint_path));
    if spec.str_of("externalID") != old_spec.str_of("externalID") {
        errs.push(FieldError::forbidden("spec.externalID", "may not be updated"));
    }
    errs
}

// ---------------------------------------------------------------- Endpoints

fn validate_endpoint_address(a: &Value, path: &Path) -> Vec<FieldError> {
    let ip = a.str_of("ip");
    let mut errs = names::is_valid_ip(path.child("ip").as_str(), ip);
    let host = a.str_of("hostname");
    if !host.is_empty() {
        errs.extend(
            names::is_dns1123_label(host).into_iter().map(|m| FieldError::invalid(path.child("hostname"), host, m)),
        );
    }
    if let Some(n) = a.opt_str("nodeName") {
        errs.extend(
            names::is_dns1123_subdomain(n).into_iter().map(|m| FieldError::invalid(path.child("nodeName"), n, m)),
        );
    }
    errs.extend(names::validate_non_special_ip(path.child("ip").as_str(), ip));
    errs
}

/// Endpoints create and update.
pub fn validate_endpoints(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = match old {
        Some(old) => meta::validate_object_meta_update(obj, old, true),
        None => Vec::new(),
    };
    errs.extend(meta::validate_object_meta(obj, rules(true)));
    for (i, ss) in obj.list("subsets").iter().enumerate() {
        let p = Path::new("subsets").index(i);
        let (addrs, not_ready) = (ss.list("addresses"), ss.list("notReadyAddresses"));
        if addrs.is_empty() && not_ready.is_empty() {
            errs.push(FieldError::required(&p, "must specify `addresses` or `notReadyAddresses`"));
        }
        for (j, a) in addrs.iter().enumerate() {
            errs.extend(validate_endpoint_address(a, &p.child("addresses").index(j)));
        }
        for (j, a) in not_ready.iter().enumerate() {
            errs.extend(validate_endpoint_address(a, &p.child("notReadyAddresses").index(j)));
        }
        let ports = ss.list("ports");
        for (j, port) in ports.iter().enumerate() {
            errs.extend(validate_endpoint_port(port, ports.len() > 1, &p.child("ports").index(j)));
        }
    }
    errs
}

/// A port of Endpoints (also used by EndpointSlices with their own rules).
pub fn validate_endpoint_port(port: &Value, require_name: bool, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let name = port.str_of("name");
    if require_name && name.is_empty() {
        errs.push(FieldError::required(path.child("name"), ""));
    } else if !name.is_empty() {
        errs.extend(
            names::is_dns1123_label(name).into_iter().map(|m| FieldError::invalid(path.child("name"), name, m)),
        );
    }
    let num = port.int_or_zero("port");
    errs.extend(names::is_valid_port_num(num).into_iter().map(|m| FieldError::invalid(path.child("port"), num, m)));
    errs.extend(super::pod::validate_protocol(port.str_of("protocol"), &path.child("protocol")));
    if let Some(ap) = port.opt_str("appProtocol") {
        errs.extend(
            names::is_qualified_name(ap).into_iter().map(|m| FieldError::invalid(path.child("appProtocol"), ap, m)),
        );
    }
    errs
}

// ---------------------------------------------------------------- Event

/// Event fields under their core/v1 names, whichever API version wrote them.
struct EventView<'a> {
    v: &'a Value,
    events_api: bool,
}

impl EventView<'_> {
    fn get(&self, core: &str) -> Option<&Value> {
        let name = if self.events_api {
            match core {
                "message" => "note",
                "involvedObject" => "regarding",
                "source" => "deprecatedSource",
                "firstTimestamp" => "deprecatedFirstTimestamp",
                "lastTimestamp" => "deprecatedLastTimestamp",
                "count" => "deprecatedCount",
                other => other,
            }
        } else {
            core
        };
        self.v.field(name)
    }
    fn s(&self, core: &str) -> &str {
        self.get(core).and_then(Value::as_str).unwrap_or("")
    }
}

fn legacy_event(ev: &EventView<'_>) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let ns = metadata(ev.v).str_of("namespace");
    let involved_ns = ev.get("involvedObject").str_of("namespace");
    let mismatch = || FieldError::invalid("involvedObject.namespace", involved_ns, "does not match event.namespace");
    if ev.s("eventTime").is_empty() {
        if involved_ns.is_empty() {
            if !ns.is_empty() && ns != "default" {
                errs.push(mismatch());
            }
        } else if ns != involved_ns {
            errs.push(mismatch());
        }
    } else {
        if involved_ns.is_empty() && ns != "default" && ns != "kube-system" {
            errs.push(mismatch());
        }
        let rc_name = if ev.events_api { "reportingController" } else { "reportingComponent" };
        let rc = ev.v.str_of(if ev.events_api { "reportingController" } else { "reportingComponent" });
        if rc.is_empty() {
            errs.push(FieldError::required(rc_name, ""));
        }
        errs.extend(names::is_qualified_name(rc).into_iter().map(|m| FieldError::invalid(rc_name, rc, m)));
        for (field, limit) in [("reportingInstance", 128), ("action", 128), ("reason", 128), ("message", 1024)] {
            let v = ev.s(field);
            if v.is_empty() && field != "message" {
                errs.push(FieldError::required(field, ""));
            }
            if v.len() > limit {
                errs.push(FieldError::invalid(field, "", format!("can have at most {limit} characters")));
            }
        }
    }
    errs.extend(names::is_dns1123_subdomain(ns).into_iter().map(|m| FieldError::invalid("namespace", ns, m)));
    errs
}

fn event_series(ev: &EventView<'_>) -> Vec<FieldError> {
    let Some(series) = ev.get("series").filter(|s| s.is_object()) else { return vec![] };
    let mut errs = Vec::new();
    if series.int_or_zero("count") < 2 {
        errs.push(FieldError::invalid("series.count", "", "should be at least 2"));
    }
    if series.str_of("lastObservedTime").is_empty() {
        errs.push(FieldError::required("series.lastObservedTime", ""));
    }
    errs
}

/// Event create and update; `events_api` for writes through `events.k8s.io/v1`.
pub fn validate_event(obj: &Value, old: Option<&Value>, events_api: bool) -> Vec<FieldError> {
    let ev = EventView { v: obj, events_api };
    let mut errs = legacy_event(&ev);
    if !events_api {
        return errs;
    }
    match old {
        None => {
            errs.extend(meta::validate_object_meta(obj, rules(true)));
            errs.extend(event_series(&ev));
            if ev.s("eventTime").is_empty() {
                errs.push(FieldError::required("eventTime", ""));
            }
            let t = ev.s("type");
            if t != "Normal" && t != "Warning" {
                errs.push(FieldError::invalid("type", "", format!("has invalid value: {t}")));
            }
            for f in ["firstTimestamp", "lastTimestamp"] {
                if !ev.s(f).is_empty() {
                    errs.push(FieldError::invalid(f, "", "needs to be unset"));
                }
            }
            if ev.get("count").and_then(Value::as_i64).unwrap_or(0) != 0 {
                errs.push(FieldError::invalid("count", "", "needs to be unset"));
            }
            if !ev.get("source").str_of("component").is_empty() || !ev.get("source").str_of("host").is_empty() {
                errs.push(FieldError::invalid("source", "", "needs to be unset"));
            }
        }
        Some(old) => {
            let old_ev = EventView { v: old, events_api };
            errs.extend(meta::validate_object_meta_update(obj, old, true));
            if !semantic_eq(ev.get("series").unwrap_or(&Value::Null), old_ev.get("series").unwrap_or(&Value::Null)) {
                errs.extend(event_series(&ev));
            }
            for f in
                ["involvedObject", "reason", "message", "source", "firstTimestamp", "lastTimestamp", "count", "type"]
            {
                errs.extend(immutable(
                    ev.get(f).unwrap_or(&Value::Null),
                    old_ev.get(f).unwrap_or(&Value::Null),
                    &Path::new(f),
                ));
            }
        }
    }
    errs
}

// ---------------------------------------------------------------- LimitRange

const LIMIT_TYPES: [&str; 3] = ["Pod", "Container", "PersistentVolumeClaim"];

fn limit_resource_name(limit_type: &str, name: &str, path: &Path) -> Vec<FieldError> {
    if limit_type == "Pod" || limit_type == "Container" {
        validate_container_resource_name(name, path)
    } else {
        validate_resource_name(name, path)
    }
}

/// LimitRange create and update.
pub fn validate_limit_range(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = meta::validate_meta(obj, old, rules(true));
    let lp = Path::new("spec").child("limits");
    let mut types: Vec<&str> = Vec::new();
    for (i, limit) in obj.field("spec").list("limits").iter().enumerate() {
        let p = lp.index(i);
        let t = limit.str_of("type");
        let tn: Vec<FieldError> =
            names::is_qualified_name(t).into_iter().map(|m| FieldError::invalid(p.child("type"), t, m)).collect();
        if !tn.is_empty() {
            errs.extend(tn);
        } else if !t.contains('/') && !LIMIT_TYPES.contains(&t) {
            errs.push(FieldError::invalid(p.child("type"), t, "must be a standard limit type or fully qualified"));
        }
        if types.contains(&t) {
            errs.push(FieldError::duplicate(p.child("type"), t));
        }
        types.push(t);
        let mut keys: Vec<&str> = Vec::new();
        let mut lists: Vec<Vec<(&str, Quantity)>> = Vec::new();
        for field in ["max", "min", "default", "defaultRequest", "maxLimitRequestRatio"] {
            let mut list = Vec::new();
            if t == "Pod" && (field == "default" || field == "defaultRequest") {
                if !limit.entries(field).is_empty() {
                    errs.push(FieldError::forbidden(p.child(field), "may not be specified when `type` is 'Pod'"));
                }
                lists.push(list);
                continue;
            }
            for (k, v) in limit.entries(field) {
                let kp = p.child(field).key(k);
                errs.extend(limit_resource_name(t, k, &kp));
                if !keys.contains(&k) {
                    keys.push(k);
                }
                match quantity_at(v, &kp) {
                    Ok(q) => list.push((k, q)),
                    Err(e) => errs.push(*e),
                }
            }
            lists.push(list);
        }
        if t == "PersistentVolumeClaim" && !limit.field("min").has("storage") && !limit.field("max").has("storage") {
            errs.push(FieldError::required(
                p.child("limits"),
                "either minimum or maximum storage value is required, but neither was provided",
            ));
        }
        let find = |i: usize, k: &str| lists[i].iter().find(|(n, _)| *n == k).map(|(_, q)| q.clone());
        for k in keys {
            let (max, min, def, def_req, ratio) = (find(0, k), find(1, k), find(2, k), find(3, k), find(4, k));
            if let (Some(mn), Some(mx)) = (&min, &max)
                && mn > mx
            {
                errs.push(FieldError::invalid(
                    p.child("min").key(k),
                    mn.to_string(),
                    format!("min value {mn} is greater than max value {mx}"),
                ));
            }
            if let (Some(dr), Some(mn)) = (&def_req, &min)
                && mn > dr
            {
                errs.push(FieldError::invalid(
                    p.child("defaultRequest").key(k),
                    dr.to_string(),
                    format!("min value {mn} is greater than default request value {dr}"),
                ));
            }
            if let (Some(dr), Some(mx)) = (&def_req, &max)
                && dr > mx
            {
                errs.push(FieldError::invalid(
                    p.child("defaultRequest").key(k),
                    dr.to_string(),
                    format!("default request value {dr} is greater than max value {mx}"),
                ));
            }
            if let (Some(dr), Some(d)) = (&def_req, &def)
                && dr > d
            {
                errs.push(FieldError::invalid(
                    p.child("defaultRequest").key(k),
                    dr.to_string(),
                    format!("default request value {dr} is greater than default limit value {d}"),
                ));
            }
            if let (Some(d), Some(mn)) = (&def, &min)
                && mn > d
            {
                errs.push(FieldError::invalid(
                    p.child("default").key(k),
                    mn.to_string(),
                    format!("min value {mn} is greater than default value {d}"),
                ));
            }
            if let (Some(d), Some(mx)) = (&def, &max)
                && d > mx
            {
                errs.push(FieldError::invalid(
                    p.child("default").key(k),
                    mx.to_string(),
                    format!("default value {d} is greater than max value {mx}"),
                ));
            }
            if let Some(r) = &ratio
                && *r < Quantity::from_units(1)
            {
                errs.push(FieldError::invalid(
                    p.child("maxLimitRequestRatio").key(k),
                    r.to_string(),
                    format!("ratio {r} is less than 1"),
                ));
            }
            if let (Some(r), Some(mn), Some(mx)) = (&ratio, &min, &max) {
                let limit_ratio = mx.as_f64() / mn.as_f64();
                if r.as_f64() > limit_ratio {
                    errs.push(FieldError::invalid(
                        p.child("maxLimitRequestRatio").key(k),
                        r.to_string(),
                        format!("ratio {r} is greater than max/min = {limit_ratio:.6}"),
                    ));
                }
            }
            if !is_overcommit_allowed(k)
                && let (Some(d), Some(dr)) = (&def, &def_req)
                && d != dr
            {
                errs.push(FieldError::invalid(
                    p.child("defaultRequest").key(k),
                    dr.to_string(),
                    format!("default value {d} must equal to defaultRequest value {dr} in {k}"),
                ));
            }
        }
    }
    errs
}

// ---------------------------------------------------------------- ResourceQuota

const QUOTA_SCOPES: [&str; 7] = [
    "Terminating",
    "NotTerminating",
    "BestEffort",
    "NotBestEffort",
    "PriorityClass",
    "CrossNamespacePodAffinity",
    "VolumeAttributesClass",
];

fn scope_valid_for(scope: &str, resource: &str) -> bool {
    const COMPUTE: [&str; 6] = ["cpu", "memory", "limits.cpu", "limits.memory", "requests.cpu", "requests.memory"];
    match scope {
        "Terminating" | "NotTerminating" | "NotBestEffort" | "PriorityClass" | "CrossNamespacePodAffinity" => {
            resource == "pods" || COMPUTE.contains(&resource)
        }
        "BestEffort" => resource == "pods",
        "VolumeAttributesClass" => matches!(resource, "persistentvolumeclaims" | "requests.storage"),
        _ => true,
    }
}

fn quota_hard(hard: &[(&str, &Value)], path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (k, v) in hard {
        let p = path.key(k);
        errs.extend(validate_quota_resource_name(k, &p));
        match quantity_at(v, &p) {
            Ok(q) => errs.extend(validate_quantity_value(k, &q, &p)),
            Err(e) => errs.push(*e),
        }
    }
    errs
}

/// A string slice as Go's `%#v` prints it: `[]T{"a", "b"}`, `[]T{}`, or `[]T(nil)` when absent.
fn go_string_slice(elem: &str, v: Option<&Value>) -> String {
    match v.and_then(Value::as_array) {
        None => format!("[]{elem}(nil)"),
        Some(items) => {
            let parts: Vec<String> = items.iter().map(|i| format!("{:?}", i.as_str().unwrap_or(""))).collect();
            format!("[]{elem}{{{}}}", parts.join(", "))
        }
    }
}

/// A scope selector as Go's `%#v` prints the internal `core.ScopeSelector`.
fn go_scope_selector(sel: &Value) -> String {
    let reqs: Vec<String> = sel
        .list("matchExpressions")
        .iter()
        .map(|r| {
            format!(
                "core.ScopedResourceSelectorRequirement{{ScopeName:{:?}, Operator:{:?}, Values:{}}}",
                r.str_of("scopeName"),
                r.str_of("operator"),
                go_string_slice("string", r.field("values"))
            )
        })
        .collect();
    let list = if sel.field("matchExpressions").and_then(Value::as_array).is_none() {
        "[]core.ScopedResourceSelectorRequirement(nil)".to_string()
    } else {
        format!("[]core.ScopedResourceSelectorRequirement{{{}}}", reqs.join(", "))
    };
    format!("core.ScopeSelector{{MatchExpressions:{list}}}")
}

fn quota_spec(spec: Option<&Value>, path: &Path) -> Vec<FieldError> {
    let hard = spec.entries("hard");
    let mut errs = quota_hard(&hard, &path.child("hard"));
    let scopes = spec.strings("scopes");
    let sp = path.child("scopes");
    let rendered = go_string_slice("core.ResourceQuotaScope", spec.field("scopes"));
    let mut sorted_hard: Vec<&str> = hard.iter().map(|(k, _)| *k).collect();
    sorted_hard.sort_unstable();
    for s in &scopes {
        if !QUOTA_SCOPES.contains(s) {
            errs.push(FieldError::invalid_rendered(&sp, &rendered, "unsupported scope"));
        }
        for k in &sorted_hard {
            if is_standard_quota_resource(k) && !scope_valid_for(s, k) {
                errs.push(FieldError::invalid_rendered(&sp, &rendered, "unsupported scope applied to resource"));
            }
        }
    }
    for (a, b) in [("BestEffort", "NotBestEffort"), ("Terminating", "NotTerminating")] {
        if scopes.contains(&a) && scopes.contains(&b) {
            errs.push(FieldError::invalid_rendered(&sp, &rendered, "conflicting scopes"));
        }
    }
    if let Some(sel) = spec.obj("scopeSelector") {
        let mp = path.child("scopeSelector").child("matchExpressions");
        let mut names_seen: Vec<&str> = Vec::new();
        let sel_rendered = go_scope_selector(sel);
        for req in sel.list("matchExpressions") {
            let scope = req.str_of("scopeName");
            if !QUOTA_SCOPES.contains(&scope) {
                errs.push(FieldError::invalid(mp.child("scopeName"), scope, "unsupported scope"));
            }
            for k in &sorted_hard {
                if is_standard_quota_resource(k) && !scope_valid_for(scope, k) {
                    errs.push(FieldError::invalid_rendered(
                        &mp,
                        &sel_rendered,
                        "unsupported scope applied to resource",
                    ));
                }
            }
            let op = req.str_of("operator");
            if matches!(
                scope,
                "BestEffort" | "NotBestEffort" | "Terminating" | "NotTerminating" | "CrossNamespacePodAffinity"
            ) && op != "Exists"
            {
                errs.push(FieldError::invalid(
                    mp.child("operator"),
                    op,
                    "must be 'Exists' when scope is any of ResourceQuotaScopeTerminating, ResourceQuotaScopeNotTerminating, ResourceQuotaScopeBestEffort, ResourceQuotaScopeNotBestEffort or ResourceQuotaScopeCrossNamespacePodAffinity",
                ));
            }
            let values = req.list("values");
            match op {
                "In" | "NotIn" if values.is_empty() => errs.push(FieldError::required(
                    mp.child("values"),
                    "must be at least one value when `operator` is 'In' or 'NotIn' for scope selector",
                )),
                "Exists" | "DoesNotExist" if !values.is_empty() => errs.push(FieldError::invalid_rendered(
                    mp.child("values"),
                    go_string_slice("string", req.field("values")),
                    "must be no value when `operator` is 'Exist' or 'DoesNotExist' for scope selector",
                )),
                "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
                other => errs.push(FieldError::invalid(mp.child("operator"), other, "not a valid selector operator")),
            }
            names_seen.push(scope);
        }
        for (a, b) in [("BestEffort", "NotBestEffort"), ("Terminating", "NotTerminating")] {
            if names_seen.contains(&a) && names_seen.contains(&b) {
                errs.push(FieldError::invalid_rendered(&mp, &rendered, "conflicting scopes"));
            }
        }
    }
    errs
}

/// ResourceQuota create and update.
pub fn validate_resource_quota(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let spec = obj.field("spec");
    let Some(old) = old else {
        let mut errs = meta::validate_object_meta(obj, rules(true));
        errs.extend(quota_spec(spec, &Path::new("spec")));
        errs.extend(quota_status(obj));
        return errs;
    };
    let mut errs = meta::validate_object_meta_update(obj, old, true);
    errs.extend(quota_spec(spec, &Path::new("spec")));
    let mut new_scopes = spec.strings("scopes");
    let mut old_scopes = old.field("spec").strings("scopes");
    new_scopes.sort_unstable();
    new_scopes.dedup();
    old_scopes.sort_unstable();
    old_scopes.dedup();
    if new_scopes != old_scopes {
        let rendered = go_string_slice("core.ResourceQuotaScope", spec.field("scopes"));
        errs.push(FieldError::invalid_rendered("spec.scopes", rendered, meta::FIELD_IMMUTABLE));
    }
    errs
}

fn quota_status(obj: &Value) -> Vec<FieldError> {
    let status = obj.field("status");
    let mut errs = quota_hard(&status.entries("hard"), &Path::new("status").child("hard"));
    errs.extend(quota_hard(&status.entries("used"), &Path::new("status").child("used")));
    errs
}

/// ResourceQuota `/status`.
pub fn validate_resource_quota_status(obj: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = meta::validate_object_meta_update(obj, old, true);
    if metadata(obj).str_of("resourceVersion").is_empty() {
        errs.push(FieldError::required("resourceVersion", ""));
    }
    errs.extend(quota_status(obj));
    errs
}

// ---------------------------------------------------------------- ReplicationController, PodTemplate

fn rc_spec(spec: Option<&Value>) -> Vec<FieldError> {
    let sp = Path::new("spec");
    let mut errs = non_negative(&sp.child("minReadySeconds"), spec.int_or_zero("minReadySeconds"));
    let selector = spec.str_map("selector");
    if selector.is_empty() {
        errs.push(FieldError::required(sp.child("selector"), ""));
    }
    errs.extend(non_negative(&sp.child("replicas"), spec.int_or_zero("replicas")));
    let tp = sp.child("template");
    let Some(t) = spec.obj("template") else {
        errs.push(FieldError::required(&tp, ""));
        return errs;
    };
    let labels = t.field("metadata").str_map("labels");
    if !selector.is_empty() && selector.iter().any(|kv| !labels.contains(kv)) {
        errs.push(FieldError::invalid_rendered(
            tp.child("metadata").child("labels"),
            render_string_map(&labels, t.field("metadata").has("labels")),
            "`selector` does not match template `labels`",
        ));
    }
    errs.extend(validate_pod_template_spec(Some(t), &tp));
    let rp = t.field("spec").str_of("restartPolicy");
    if rp != "Always" {
        errs.push(FieldError::not_supported(tp.child("spec").child("restartPolicy"), rp, &["Always"]));
    }
    if t.field("spec").has("activeDeadlineSeconds") {
        errs.push(FieldError::forbidden(
            tp.child("spec").child("activeDeadlineSeconds"),
            "activeDeadlineSeconds in ReplicationController is not Supported",
        ));
    }
    errs
}

/// ReplicationController create and update.
pub fn validate_replication_controller(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = match old {
        Some(old) => meta::validate_object_meta_update(obj, old, true),
        None => meta::validate_object_meta(obj, rules(true)),
    };
    errs.extend(rc_spec(obj.field("spec")));
    errs
}

/// Replica counts of a workload status (`ValidateReplicationControllerStatus` and friends).
pub fn replica_status(status: Option<&Value>, fields: &[&str], path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for f in fields {
        errs.extend(non_negative(&path.child(f), status.int_or_zero(f)));
    }
    errs
}

/// ReplicationController `/status`.
pub fn validate_replication_controller_status(obj: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = meta::validate_object_meta_update(obj, old, true);
    let status = obj.field("status");
    let sp = Path::new("status");
    errs.extend(replica_status(
        status,
        &["replicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas", "observedGeneration"],
        &sp,
    ));
    let replicas = status.int_or_zero("replicas");
    for f in ["fullyLabeledReplicas", "readyReplicas", "availableReplicas"] {
        let v = status.int_or_zero(f);
        if v > replicas {
            errs.push(FieldError::invalid(sp.child(f), v, "cannot be greater than status.replicas"));
        }
    }
    let (avail, ready) = (status.int_or_zero("availableReplicas"), status.int_or_zero("readyReplicas"));
    if avail > ready {
        errs.push(FieldError::invalid(sp.child("availableReplicas"), avail, "cannot be greater than readyReplicas"));
    }
    errs
}

/// PodTemplate create and update.
pub fn validate_pod_template(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = match old {
        Some(old) => meta::validate_object_meta_update(obj, old, true),
        None => meta::validate_object_meta(obj, rules(true)),
    };
    errs.extend(validate_pod_template_spec(obj.field("template"), &Path::new("template")));
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn msgs(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn config_maps() {
        let cm = json!({"metadata": {"name": "c", "namespace": "d"}, "data": {"a.b": "x", "bad key": "y"}});
        let m = msgs(&validate_config_map(&cm, None));
        assert_eq!(m.len(), 1);
        assert!(m[0].starts_with("data[bad key]: Invalid value: \"bad key\": a valid config key must consist of alphanumeric characters, '-', '_' or '.'"));
        let big = json!({"metadata": {"name": "c", "namespace": "d"}, "data": {"k": "x".repeat(MAX_SECRET_SIZE + 1)}});
        assert_eq!(msgs(&validate_config_map(&big, None)), vec![": Too long: may not be more than 1048576 bytes"]);
        let old = json!({"metadata": {"name": "c", "namespace": "d", "resourceVersion": "1"}, "immutable": true, "data": {"a": "1"}});
        let new = json!({"metadata": {"name": "c", "namespace": "d", "resourceVersion": "1"}, "immutable": true, "data": {"a": "2"}});
        assert_eq!(
            msgs(&validate_config_map(&new, Some(&old))),
            vec!["data: Forbidden: field is immutable when `immutable` is set"]
        );
    }

    #[test]
    fn secrets() {
        let tls = json!({"metadata": {"name": "s", "namespace": "d"}, "type": "kubernetes.io/tls", "data": {"tls.crt": "YQ=="}});
        assert_eq!(msgs(&validate_secret(&tls, None)), vec!["data[tls.key]: Required value"]);
        let dc = json!({"metadata": {"name": "s", "namespace": "d"}, "type": "kubernetes.io/dockerconfigjson", "data": {".dockerconfigjson": "eHl6"}});
        assert_eq!(
            msgs(&validate_secret(&dc, None)),
            vec![
                "data[.dockerconfigjson]: Invalid value: \"<secret contents redacted>\": invalid character 'x' looking for beginning of value"
            ]
        );
        let old = json!({"metadata": {"name": "s", "namespace": "d", "resourceVersion": "1"}, "type": "Opaque"});
        let new = json!({"metadata": {"name": "s", "namespace": "d", "resourceVersion": "1"}, "type": "kubernetes.io/basic-auth", "data": {"username": "YQ=="}});
        assert_eq!(
            msgs(&validate_secret(&new, Some(&old))),
            vec!["type: Invalid value: \"kubernetes.io/basic-auth\": field is immutable"]
        );
        assert_eq!(base64_decode("aGVsbG8="), Some(b"hello".to_vec()));
    }

    #[test]
    fn namespaces_and_nodes() {
        let ns = json!({"metadata": {"name": "my.ns"}, "spec": {"finalizers": ["kubernetes"]}});
        assert_eq!(
            msgs(&validate_namespace(&ns, None)),
            vec!["metadata.name: Invalid value: \"my.ns\": must not contain dots"]
        );
        let node = json!({"metadata": {"name": "n1"}, "spec": {"taints": [{"key": "a", "effect": "Maybe"}, {"key": "b", "effect": "NoSchedule"}, {"key": "b", "effect": "NoSchedule"}]}});
        let m = msgs(&validate_node(&node, None));
        assert_eq!(
            m[0],
            "metadata.taints[0].effect: Unsupported value: \"Maybe\": supported values: \"NoSchedule\", \"PreferNoSchedule\", \"NoExecute\""
        );
        assert!(m[1].starts_with("metadata.taints[2]: Duplicate value: "));
        assert!(m[1].ends_with(": taints must be unique by key and effect pair"));
    }

    #[test]
    fn limit_ranges_and_quotas() {
        let lr = json!({"metadata": {"name": "l", "namespace": "d"}, "spec": {"limits": [{"type": "Container", "min": {"cpu": "2"}, "max": {"cpu": "1"}}]}});
        assert_eq!(
            msgs(&validate_limit_range(&lr, None)),
            vec!["spec.limits[0].min[cpu]: Invalid value: \"2\": min value 2 is greater than max value 1"]
        );
        let rq =
            json!({"metadata": {"name": "q", "namespace": "d"}, "spec": {"hard": {"pods": "1.5", "storage": "1Gi"}}});
        assert_eq!(
            msgs(&validate_resource_quota(&rq, None)),
            vec![
                "spec.hard[pods]: Invalid value: \"1500m\": must be an integer",
                "spec.hard[storage]: Invalid value: \"storage\": must be a standard resource for quota",
            ]
        );
    }

    #[test]
    fn replication_controllers() {
        let rc = json!({"metadata": {"name": "r", "namespace": "d"}, "spec": {"replicas": 1, "selector": {"app": "a"},
            "template": {"metadata": {"labels": {"app": "b"}}, "spec": {"containers": [{"name": "c", "image": "i",
            "terminationMessagePolicy": "File", "imagePullPolicy": "Always"}], "restartPolicy": "Always", "dnsPolicy": "ClusterFirst",
            "terminationGracePeriodSeconds": 30}}}});
        assert_eq!(
            msgs(&validate_replication_controller(&rc, None)),
            vec![
                "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"b\"}: `selector` does not match template `labels`"
            ]
        );
    }
}
