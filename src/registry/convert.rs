//! Conversion between the versions of a resource. Every version of a resource
//! shares one stored form; reads and writes through another version convert.
//! Versions with the same shape only change `apiVersion` (and lose the fields
//! the older shape lacks); HorizontalPodAutoscaler v1/v2 and core/events.k8s.io
//! Events have real mappings, as in Kubernetes.

use serde_json::{Map, Value, json};

use super::error::{ApiError, ApiResult};
use super::meta;
use super::resource::{Codec, ResourceInfo};

const HPA_METRICS: &str = "autoscaling.alpha.kubernetes.io/metrics";
const HPA_BEHAVIOR: &str = "autoscaling.alpha.kubernetes.io/behavior";
const HPA_CONDITIONS: &str = "autoscaling.alpha.kubernetes.io/conditions";
const HPA_CURRENT_METRICS: &str = "autoscaling.alpha.kubernetes.io/current-metrics";

/// Convert a stored object into the version `res` serves.
pub fn from_storage(res: &ResourceInfo, obj: Value) -> ApiResult<Value> {
    if !res.needs_conversion() {
        return Ok(obj);
    }
    let out = match (res.group.as_str(), res.kind.as_str(), res.version.as_str()) {
        ("autoscaling", "HorizontalPodAutoscaler", "v1") => hpa_v2_to_v1(obj),
        ("events.k8s.io", "Event", _) => core_event_to_events(obj),
        _ => obj,
    };
    retype(res, out)
}

/// Convert an object in the version `res` serves into the stored version.
pub fn to_storage(res: &ResourceInfo, obj: Value) -> ApiResult<Value> {
    if !res.needs_conversion() {
        return Ok(obj);
    }
    let mut out = match (res.group.as_str(), res.kind.as_str(), res.version.as_str()) {
        ("autoscaling", "HorizontalPodAutoscaler", "v1") => hpa_v1_to_v2(obj),
        ("events.k8s.io", "Event", _) => events_to_core_event(obj),
        _ => obj,
    };
    set_type(&mut out, &res.storage_group, &res.storage_version, &res.storage_kind);
    Ok(out)
}

fn set_type(obj: &mut Value, group: &str, version: &str, kind: &str) {
    if let Some(m) = obj.as_object_mut() {
        m.insert("apiVersion".into(), meta::api_version(group, version).into());
        m.insert("kind".into(), kind.into());
    }
}

/// Give the object the served version's type and drop what that version lacks.
fn retype(res: &ResourceInfo, mut obj: Value) -> ApiResult<Value> {
    set_type(&mut obj, &res.group, &res.version, &res.kind);
    match &res.codec {
        Codec::Builtin(decode) => decode(obj).map(|d| d.object).map_err(ApiError::internal),
        Codec::Custom(_) => Ok(obj),
    }
}

fn take(m: &mut Map<String, Value>, k: &str) -> Option<Value> {
    m.remove(k)
}

fn annotations_mut(obj: &mut Value) -> &mut Map<String, Value> {
    let m = meta::meta_mut(obj);
    let a = m.entry("annotations").or_insert_with(|| Value::Object(Map::new()));
    if !a.is_object() {
        *a = Value::Object(Map::new());
    }
    a.as_object_mut().expect("annotations object")
}

fn drop_empty_annotations(obj: &mut Value) {
    let m = meta::meta_mut(obj);
    if m.get("annotations").and_then(Value::as_object).is_some_and(Map::is_empty) {
        m.remove("annotations");
    }
}

fn is_cpu_utilization(metric: &Value) -> bool {
    metric.get("type").and_then(Value::as_str) == Some("Resource")
        && metric["resource"]["name"] == "cpu"
        && metric["resource"]["target"]["type"] == "Utilization"
}

fn hpa_v2_to_v1(mut obj: Value) -> Value {
    let mut spec = obj.get("spec").and_then(Value::as_object).cloned().unwrap_or_default();
    let mut status = obj.get("status").and_then(Value::as_object).cloned().unwrap_or_default();
    let metrics = take(&mut spec, "metrics").and_then(|m| m.as_array().cloned()).unwrap_or_default();
    let behavior = take(&mut spec, "behavior");
    let mut others = Vec::new();
    for m in metrics {
        if is_cpu_utilization(&m) && !spec.contains_key("targetCPUUtilizationPercentage") {
            spec.insert("targetCPUUtilizationPercentage".into(), m["resource"]["target"]["averageUtilization"].clone());
        } else {
            others.push(m);
        }
    }
    let current = take(&mut status, "currentMetrics").and_then(|m| m.as_array().cloned()).unwrap_or_default();
    let mut other_current = Vec::new();
    for m in current {
        if m.get("type").and_then(Value::as_str) == Some("Resource") && m["resource"]["name"] == "cpu" {
            if let Some(u) = m["resource"]["current"].get("averageUtilization") {
                status.insert("currentCPUUtilizationPercentage".into(), u.clone());
            }
        } else {
            other_current.push(m);
        }
    }
    let conditions = take(&mut status, "conditions");
    {
        let ann = annotations_mut(&mut obj);
        if !others.is_empty() {
            ann.insert(HPA_METRICS.into(), Value::String(Value::Array(others).to_string()));
        }
        if let Some(b) = behavior {
            ann.insert(HPA_BEHAVIOR.into(), Value::String(b.to_string()));
        }
        if let Some(c) = conditions.filter(|c| c.as_array().is_some_and(|a| !a.is_empty())) {
            ann.insert(HPA_CONDITIONS.into(), Value::String(c.to_string()));
        }
        if !other_current.is_empty() {
            ann.insert(HPA_CURRENT_METRICS.into(), Value::String(Value::Array(other_current).to_string()));
        }
    }
    drop_empty_annotations(&mut obj);
    obj["spec"] = Value::Object(spec);
    if obj.get("status").is_some() {
        obj["status"] = Value::Object(status);
    }
    obj
}

fn hpa_v1_to_v2(mut obj: Value) -> Value {
    let mut spec = obj.get("spec").and_then(Value::as_object).cloned().unwrap_or_default();
    let mut status = obj.get("status").and_then(Value::as_object).cloned().unwrap_or_default();
    let (metrics_ann, behavior_ann, conditions_ann, current_ann) = {
        let ann = annotations_mut(&mut obj);
        (ann.remove(HPA_METRICS), ann.remove(HPA_BEHAVIOR), ann.remove(HPA_CONDITIONS), ann.remove(HPA_CURRENT_METRICS))
    };
    drop_empty_annotations(&mut obj);
    let parse = |v: Option<Value>| v.and_then(|s| s.as_str().and_then(|s| serde_json::from_str::<Value>(s).ok()));
    let mut metrics = Vec::new();
    if let Some(t) = take(&mut spec, "targetCPUUtilizationPercentage") {
        metrics.push(json!({"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": t}}}));
    }
    if let Some(Value::Array(more)) = parse(metrics_ann) {
        metrics.extend(more);
    }
    if !metrics.is_empty() {
        spec.insert("metrics".into(), Value::Array(metrics));
    }
    if let Some(b) = parse(behavior_ann) {
        spec.insert("behavior".into(), b);
    }
    let mut current = Vec::new();
    if let Some(u) = take(&mut status, "currentCPUUtilizationPercentage") {
        current.push(json!({"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": u}}}));
    }
    if let Some(Value::Array(more)) = parse(current_ann) {
        current.extend(more);
    }
    if !current.is_empty() {
        status.insert("currentMetrics".into(), Value::Array(current));
    }
    if let Some(c) = parse(conditions_ann) {
        status.insert("conditions".into(), c);
    }
    obj["spec"] = Value::Object(spec);
    if obj.get("status").is_some() || !status.is_empty() {
        obj["status"] = Value::Object(status);
    }
    obj
}

/// Field pairs (core/v1 name, events.k8s.io/v1 name) that only change names.
const EVENT_RENAMES: &[(&str, &str)] = &[
    ("involvedObject", "regarding"),
    ("message", "note"),
    ("reportingComponent", "reportingController"),
    ("source", "deprecatedSource"),
    ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"),
    ("count", "deprecatedCount"),
];

fn rename(obj: Value, forward: bool) -> Value {
    let Value::Object(mut m) = obj else { return obj };
    for (core, events) in EVENT_RENAMES {
        let (from, to) = if forward { (core, events) } else { (events, core) };
        if let Some(v) = m.remove(*from) {
            m.insert(to.to_string(), v);
        }
    }
    Value::Object(m)
}

fn core_event_to_events(obj: Value) -> Value {
    rename(obj, true)
}

fn events_to_core_event(obj: Value) -> Value {
    rename(obj, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hpa_round_trip_keeps_metrics() {
        let v2 = json!({
            "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "h"},
            "spec": {"maxReplicas": 5, "scaleTargetRef": {"kind": "Deployment", "name": "d"},
                     "metrics": [
                        {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}}},
                        {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "100Mi"}}}
                     ]}
        });
        let v1 = hpa_v2_to_v1(v2.clone());
        assert_eq!(v1["spec"]["targetCPUUtilizationPercentage"], 60);
        assert!(v1["metadata"]["annotations"][HPA_METRICS].as_str().unwrap().contains("memory"));
        let back = hpa_v1_to_v2(v1);
        assert_eq!(back["spec"]["metrics"], v2["spec"]["metrics"]);
        assert!(back["metadata"].get("annotations").is_none());
    }

    #[test]
    fn events_rename() {
        let core = json!({"involvedObject": {"kind": "Pod"}, "message": "hi", "reason": "X"});
        let ev = core_event_to_events(core.clone());
        assert_eq!(ev["regarding"]["kind"], "Pod");
        assert_eq!(ev["note"], "hi");
        assert_eq!(events_to_core_event(ev), core);
    }
}
