//! The LimitRanger admission plugin (kube-apiserver's `plugin/pkg/admission/limitranger`).
//!
//! For every LimitRange in the object's namespace, in store order:
//! - pods on create are mutated first: each container and init container gets the
//!   `Container` item's `default` as limits and `defaultRequest` as requests for the
//!   resources it does not name, and the pod is annotated `kubernetes.io/limit-ranger`
//!   with what was set;
//! - then pods (create only: containers' resources are immutable on update, resizes go
//!   through a subresource, which the plugin ignores) are checked against the `Container`
//!   items (min, max, maxLimitRequestRatio per container and init container) and the `Pod`
//!   items (on the pod's effective requests and limits, sidecars and overhead included);
//! - PersistentVolumeClaims (create and update) are checked against the
//!   `PersistentVolumeClaim` items' min and max on `spec.resources.requests`.
//!
//! The first LimitRange a write violates refuses it with 403 Forbidden, the violations
//! aggregated as apimachinery's `NewAggregate` prints them (one message bare, several in
//! `[a, b]`, duplicates once). Objects being deleted are left alone.
//!
//! One deviation in order: the real server validates the object (422) before its
//! validating admission (403); here admission runs first, so a refusal is only reported
//! when the object is otherwise valid, leaving the 422 to the validation that follows.
//!
//! The defaulting and validation of LimitRange objects themselves live with the other
//! kinds (`defaults/core.rs`, `validation/core/objects.rs`).

use serde_json::{Map, Value};

use crate::registry::Registry;
use crate::registry::error::{ApiError, ApiResult};
use crate::registry::meta;
use crate::registry::quantity::Quantity;
use crate::registry::resource::ResourceInfo;
use crate::store::ListRequest;

/// The annotation the plugin writes on pods it defaulted.
pub const ANNOTATION: &str = "kubernetes.io/limit-ranger";

/// `resource.MaxMilliValue`: the largest value whose milli-value fits an int64.
const MAX_MILLI_VALUE: i128 = (i64::MAX / 1000) as i128;

/// Run the plugin on a create (`old` is `None`) or update of `obj`.
pub async fn admit(reg: &Registry, res: &ResourceInfo, obj: &mut Value, old: Option<&Value>) -> ApiResult<()> {
    if !res.group.is_empty() || !(res.plural == "pods" && old.is_none() || res.plural == "persistentvolumeclaims") {
        return Ok(());
    }
    // Deleted objects are left alone; so are writes of the status subresource, which the
    // plugin ignores (this hook does not see the subresource: an update that keeps the
    // spec stands in for it).
    if old.is_some_and(|o| meta::deletion_timestamp(o).is_some() || o.get("spec") == obj.get("spec")) {
        return Ok(());
    }
    let ranges = limit_ranges(reg, meta::namespace(obj)).await?;
    if ranges.is_empty() {
        return Ok(());
    }
    let pod = res.plural == "pods";
    if pod {
        for lr in &ranges {
            mutate_pod(lr, obj);
        }
    }
    for lr in &ranges {
        let errs = if pod { validate_pod(lr, obj) } else { validate_pvc(lr, obj) };
        if let Some(why) = aggregate(&errs) {
            // Leave an otherwise invalid object to validation's 422, which the real server reports first.
            if !crate::registry::validation::validate(&res.group, &res.version, &res.kind, obj, old).is_empty() {
                return Ok(());
            }
            let mut name = meta::name(obj);
            if name.is_empty() {
                name = obj["metadata"]["generateName"].as_str().unwrap_or("");
            }
            return Err(ApiError::forbidden(&res.group, &res.plural, name, why));
        }
    }
    Ok(())
}

/// The LimitRanges of a namespace.
async fn limit_ranges(reg: &Registry, ns: &str) -> ApiResult<Vec<Value>> {
    let Some(res) = reg.resource("", "v1", "limitranges") else { return Ok(vec![]) };
    let page = reg
        .store
        .list(ListRequest { prefix: res.list_prefix(Some(ns)), ..Default::default() })
        .await
        .map_err(ApiError::internal)?;
    Ok(page.items.iter().filter_map(|kv| serde_json::from_slice(&kv.value).ok()).collect())
}

/// The items of a LimitRange.
fn items(lr: &Value) -> &[Value] {
    lr["spec"]["limits"].as_array().map(Vec::as_slice).unwrap_or_default()
}

/// A resource list as `(name, quantity)` pairs, in the object's order; unparsable values are skipped.
fn list(v: &Value) -> Vec<(String, Quantity)> {
    v.as_object()
        .map(|m| m.iter().filter_map(|(k, q)| Some((k.clone(), Quantity::parse(q.as_str()?).ok()?))).collect())
        .unwrap_or_default()
}

fn get<'a>(l: &'a [(String, Quantity)], k: &str) -> Option<&'a Quantity> {
    l.iter().find(|(n, _)| n == k).map(|(_, q)| q)
}

/// `mergePodResourceRequirements`: LimitRange defaults into containers that lack them.
pub fn mutate_pod(lr: &Value, pod: &mut Value) {
    // defaultContainerResourceRequirements: the Container items' default and defaultRequest.
    let (mut limits, mut requests) = (Map::new(), Map::new());
    for item in items(lr).iter().filter(|i| i["type"] == "Container") {
        for (k, v) in item["defaultRequest"].as_object().into_iter().flatten() {
            requests.insert(k.clone(), v.clone());
        }
        for (k, v) in item["default"].as_object().into_iter().flatten() {
            limits.insert(k.clone(), v.clone());
        }
    }
    let mut notes: Vec<String> = Vec::new();
    for (field, what) in [("containers", "container"), ("initContainers", "init container")] {
        let Some(containers) = pod["spec"][field].as_array_mut() else { continue };
        for c in containers {
            let name = c["name"].as_str().unwrap_or("").to_string();
            let set_limits = merge(c, "limits", &limits);
            let set_requests = merge(c, "requests", &requests);
            if !set_requests.is_empty() {
                notes.push(format!("{} request for {what} {name}", set_requests.join(", ")));
            }
            if !set_limits.is_empty() {
                notes.push(format!("{} limit for {what} {name}", set_limits.join(", ")));
            }
        }
    }
    if !notes.is_empty() {
        let ann = meta::meta_mut(pod).entry("annotations").or_insert_with(|| Value::Object(Map::new()));
        if !ann.is_object() {
            *ann = Value::Object(Map::new());
        }
        ann[ANNOTATION] = format!("LimitRanger plugin set: {}", notes.join("; ")).into();
    }
}

/// Put the defaults a container's `resources.<field>` lacks; the names set, sorted.
fn merge(container: &mut Value, field: &str, defaults: &Map<String, Value>) -> Vec<String> {
    let mut set = Vec::new();
    for (k, v) in defaults {
        if container["resources"][field].get(k).is_none() {
            if !container["resources"].is_object() {
                container["resources"] = Value::Object(Map::new());
            }
            if !container["resources"][field].is_object() {
                container["resources"][field] = Value::Object(Map::new());
            }
            container["resources"][field][k] = v.clone();
            set.push(k.clone());
        }
    }
    set.sort();
    set
}

/// `requestLimitEnforcedValues`: milli-values when none would overflow, whole units otherwise.
fn values(req: Option<&Quantity>, lim: Option<&Quantity>, enforced: &Quantity) -> (i128, i128, i128) {
    let units = |q: Option<&Quantity>| q.map_or(0, Quantity::value);
    let millis = |q: Option<&Quantity>| q.map_or(0, Quantity::to_millis);
    let (r, l, e) = (units(req), units(lim), enforced.value());
    if r <= MAX_MILLI_VALUE && l <= MAX_MILLI_VALUE && e <= MAX_MILLI_VALUE {
        (millis(req), millis(lim), enforced.to_millis())
    } else {
        (r, l, e)
    }
}

fn min_constraint(
    kind: &str,
    name: &str,
    enforced: &Quantity,
    requests: &[(String, Quantity)],
    limits: &[(String, Quantity)],
) -> Option<String> {
    let (req, lim) = (get(requests, name), get(limits, name));
    let (r, l, e) = values(req, lim, enforced);
    match (req, lim) {
        (None, _) => Some(format!("minimum {name} usage per {kind} is {enforced}.  No request is specified")),
        (Some(req), _) if r < e => Some(format!("minimum {name} usage per {kind} is {enforced}, but request is {req}")),
        (_, Some(lim)) if l < e => Some(format!("minimum {name} usage per {kind} is {enforced}, but limit is {lim}")),
        _ => None,
    }
}

fn max_constraint(
    kind: &str,
    name: &str,
    enforced: &Quantity,
    requests: &[(String, Quantity)],
    limits: &[(String, Quantity)],
) -> Option<String> {
    let (req, lim) = (get(requests, name), get(limits, name));
    let (r, l, e) = values(req, lim, enforced);
    match (req, lim) {
        (_, None) => Some(format!("maximum {name} usage per {kind} is {enforced}.  No limit is specified")),
        (_, Some(lim)) if l > e => Some(format!("maximum {name} usage per {kind} is {enforced}, but limit is {lim}")),
        (Some(req), _) if r > e => Some(format!("maximum {name} usage per {kind} is {enforced}, but request is {req}")),
        _ => None,
    }
}

/// `maxRequestConstraint`: max against the request only (PersistentVolumeClaims).
fn max_request_constraint(
    kind: &str,
    name: &str,
    enforced: &Quantity,
    requests: &[(String, Quantity)],
) -> Option<String> {
    let req = get(requests, name);
    let (r, _, e) = values(req, None, enforced);
    match req {
        None => Some(format!("maximum {name} usage per {kind} is {enforced}.  No request is specified")),
        Some(req) if r > e => Some(format!("maximum {name} usage per {kind} is {enforced}, but request is {req}")),
        _ => None,
    }
}

fn ratio_constraint(
    kind: &str,
    name: &str,
    enforced: &Quantity,
    requests: &[(String, Quantity)],
    limits: &[(String, Quantity)],
) -> Option<String> {
    let (req, lim) = (get(requests, name), get(limits, name));
    let (r, l, _) = values(req, lim, enforced);
    if req.is_none() || r == 0 {
        return Some(format!(
            "{name} max limit to request ratio per {kind} is {enforced}, but no request is specified or request is 0"
        ));
    }
    if lim.is_none() || l == 0 {
        return Some(format!(
            "{name} max limit to request ratio per {kind} is {enforced}, but no limit is specified or limit is 0"
        ));
    }
    let shown = l as f64 / r as f64;
    let (observed, max) = if enforced.value() <= MAX_MILLI_VALUE {
        (shown * 1000.0, enforced.to_millis() as f64)
    } else {
        (shown, enforced.value() as f64)
    };
    (observed > max).then(|| {
        format!("{name} max limit to request ratio per {kind} is {enforced}, but provided ratio is {shown:.6}")
    })
}

/// Min, max and ratio of one item against one set of requests and limits, in the plugin's order.
fn check(
    item: &Value,
    kind: &str,
    requests: &[(String, Quantity)],
    limits: &[(String, Quantity)],
    errs: &mut Vec<String>,
) {
    for (k, v) in list(&item["min"]) {
        errs.extend(min_constraint(kind, &k, &v, requests, limits));
    }
    for (k, v) in list(&item["max"]) {
        errs.extend(max_constraint(kind, &k, &v, requests, limits));
    }
    for (k, v) in list(&item["maxLimitRequestRatio"]) {
        errs.extend(ratio_constraint(kind, &k, &v, requests, limits));
    }
}

/// `PodValidateLimitFunc`: the violations of one LimitRange by a pod.
pub fn validate_pod(lr: &Value, pod: &Value) -> Vec<String> {
    let mut errs = Vec::new();
    let containers = |f: &str| pod["spec"][f].as_array().map(Vec::as_slice).unwrap_or_default().to_vec();
    let (main, init) = (containers("containers"), containers("initContainers"));
    for item in items(lr) {
        match item["type"].as_str() {
            Some("Container") => {
                for c in main.iter().chain(&init) {
                    let r = &c["resources"];
                    check(item, "Container", &list(&r["requests"]), &list(&r["limits"]), &mut errs);
                }
            }
            Some("Pod") => {
                let (requests, limits) = pod_resources(pod, &main, &init);
                check(item, "Pod", &requests, &limits, &mut errs);
            }
            _ => {}
        }
    }
    errs
}

/// `PersistentVolumeClaimValidateLimitFunc`: min and max on the claim's requests.
pub fn validate_pvc(lr: &Value, pvc: &Value) -> Vec<String> {
    let mut errs = Vec::new();
    let requests = list(&pvc["spec"]["resources"]["requests"]);
    for item in items(lr).iter().filter(|i| i["type"] == "PersistentVolumeClaim") {
        for (k, v) in list(&item["min"]) {
            errs.extend(min_constraint("PersistentVolumeClaim", &k, &v, &requests, &[]));
        }
        for (k, v) in list(&item["max"]) {
            errs.extend(max_request_constraint("PersistentVolumeClaim", &k, &v, &requests));
        }
    }
    errs
}

type List = Vec<(String, Quantity)>;

fn add(into: &mut List, from: &[(String, Quantity)]) {
    for (k, q) in from {
        match into.iter_mut().find(|(n, _)| n == k) {
            Some((_, v)) => *v = v.checked_add(q).unwrap_or_else(|| v.clone()),
            None => into.push((k.clone(), q.clone())),
        }
    }
}

fn max_into(into: &mut List, from: &[(String, Quantity)]) {
    for (k, q) in from {
        match into.iter_mut().find(|(n, _)| n == k) {
            Some((_, v)) => {
                if q > v {
                    *v = q.clone();
                }
            }
            None => into.push((k.clone(), q.clone())),
        }
    }
}

/// The pod's effective requests and limits (`podRequests`/`podLimits`): the sum over the
/// containers and sidecars, or the largest init container step if larger, plus overhead
/// (added to limits only for the resources that have one).
fn pod_resources(pod: &Value, main: &[Value], init: &[Value]) -> (List, List) {
    let mut out = [List::new(), List::new()];
    for (i, field) in ["requests", "limits"].into_iter().enumerate() {
        let total = &mut out[i];
        for c in main {
            add(total, &list(&c["resources"][field]));
        }
        let (mut sidecars, mut init_max) = (List::new(), List::new());
        for c in init {
            let own = list(&c["resources"][field]);
            let step = if c["restartPolicy"] == "Always" {
                add(total, &own);
                add(&mut sidecars, &own);
                sidecars.clone()
            } else {
                let mut tmp = own;
                add(&mut tmp, &sidecars);
                tmp
            };
            max_into(&mut init_max, &step);
        }
        max_into(total, &init_max);
        let overhead = list(&pod["spec"]["overhead"]);
        if field == "requests" {
            add(total, &overhead);
        } else {
            let present: List = overhead.into_iter().filter(|(k, _)| get(total, k).is_some()).collect();
            add(total, &present);
        }
    }
    let [requests, limits] = out;
    (requests, limits)
}

/// `utilerrors.NewAggregate(errs).Error()`: nothing, one message, or `[a, b]` without repeats.
pub fn aggregate(errs: &[String]) -> Option<String> {
    match errs {
        [] => None,
        [one] => Some(one.clone()),
        _ => {
            let mut seen: Vec<&str> = Vec::new();
            for e in errs {
                if !seen.contains(&e.as_str()) {
                    seen.push(e);
                }
            }
            Some(if seen.len() == 1 { seen[0].to_string() } else { format!("[{}]", seen.join(", ")) })
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A LimitRange as it is stored (defaulted).
    fn lr(limits: Value) -> Value {
        let mut v = json!({"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "lr", "namespace": "default"}, "spec": {"limits": limits}});
        crate::registry::defaults::apply_defaults("", "v1", "LimitRange", &mut v);
        v
    }

    fn pod(containers: Value) -> Value {
        json!({"metadata": {"name": "p", "namespace": "default"}, "spec": {"containers": containers}})
    }

    #[test]
    fn defaulting_of_container_items() {
        let l = lr(json!([{"type": "Container", "max": {"cpu": "2", "memory": "1Gi"}, "min": {"cpu": "100m"}}]));
        let item = &l["spec"]["limits"][0];
        assert_eq!(item["default"], json!({"cpu": "2", "memory": "1Gi"}));
        assert_eq!(item["defaultRequest"], json!({"cpu": "2", "memory": "1Gi"}));
        let l =
            lr(json!([{"type": "Container", "default": {"cpu": "500m"}, "min": {"cpu": "100m", "memory": "64Mi"}}]));
        assert_eq!(l["spec"]["limits"][0]["defaultRequest"], json!({"cpu": "500m", "memory": "64Mi"}));
        let l = lr(json!([{"type": "Pod", "max": {"cpu": "2"}}]));
        assert!(l["spec"]["limits"][0].get("default").is_none());
    }

    #[test]
    fn pods_get_defaults_and_the_annotation() {
        let l = lr(
            json!([{"type": "Container", "default": {"memory": "512Mi", "cpu": "1"}, "defaultRequest": {"cpu": "250m", "memory": "256Mi"}}]),
        );
        let mut p = pod(json!([
            {"name": "a", "image": "busybox"},
            {"name": "b", "image": "busybox", "resources": {"limits": {"cpu": "2"}, "requests": {"cpu": "2"}}},
        ]));
        p["spec"]["initContainers"] = json!([{"name": "i", "image": "busybox", "resources": {}}]);
        mutate_pod(&l, &mut p);
        let c = &p["spec"]["containers"];
        assert_eq!(
            c[0]["resources"],
            json!({"limits": {"memory": "512Mi", "cpu": "1"}, "requests": {"cpu": "250m", "memory": "256Mi"}})
        );
        assert_eq!(c[1]["resources"]["limits"], json!({"cpu": "2", "memory": "512Mi"}));
        assert_eq!(c[1]["resources"]["requests"], json!({"cpu": "2", "memory": "256Mi"}));
        assert_eq!(p["spec"]["initContainers"][0]["resources"]["limits"]["cpu"], "1");
        assert_eq!(
            p["metadata"]["annotations"][ANNOTATION],
            "LimitRanger plugin set: cpu, memory request for container a; cpu, memory limit for container a; \
             memory request for container b; memory limit for container b; \
             cpu, memory request for init container i; cpu, memory limit for init container i"
        );
        // Nothing to set, no annotation.
        let mut q = pod(
            json!([{"name": "a", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1", "memory": "1Gi"}}}]),
        );
        mutate_pod(&l, &mut q);
        assert!(q["metadata"].get("annotations").is_none());
    }

    #[test]
    fn container_max_and_min() {
        let l = lr(json!([{"type": "Container", "max": {"memory": "1Gi"}, "min": {"cpu": "100m"}}]));
        let p = pod(
            json!([{"name": "a", "resources": {"limits": {"memory": "2Gi"}, "requests": {"cpu": "50m", "memory": "2Gi"}}}]),
        );
        assert_eq!(
            aggregate(&validate_pod(&l, &p)).unwrap(),
            "[minimum cpu usage per Container is 100m, but request is 50m, maximum memory usage per Container is 1Gi, but limit is 2Gi]"
        );
        let p = pod(json!([{"name": "a", "resources": {"requests": {"memory": "512Mi"}}}]));
        assert_eq!(
            validate_pod(&l, &p),
            vec![
                "minimum cpu usage per Container is 100m.  No request is specified",
                "maximum memory usage per Container is 1Gi.  No limit is specified",
            ]
        );
        let p = pod(
            json!([{"name": "a", "resources": {"limits": {"memory": "1Gi", "cpu": "50m"}, "requests": {"cpu": "100m", "memory": "3Gi"}}}]),
        );
        assert_eq!(
            validate_pod(&l, &p),
            vec![
                "minimum cpu usage per Container is 100m, but limit is 50m",
                "maximum memory usage per Container is 1Gi, but request is 3Gi",
            ]
        );
        let ok = pod(
            json!([{"name": "a", "resources": {"limits": {"memory": "1Gi"}, "requests": {"cpu": "0.1", "memory": "1Gi"}}}]),
        );
        assert!(validate_pod(&l, &ok).is_empty());
    }

    #[test]
    fn repeated_messages_appear_once() {
        let l = lr(json!([{"type": "Container", "max": {"memory": "1Gi"}}]));
        let c = json!({"name": "a", "resources": {"limits": {"memory": "2Gi"}}});
        let mut c2 = c.clone();
        c2["name"] = "b".into();
        let errs = validate_pod(&l, &pod(json!([c, c2])));
        assert_eq!(errs.len(), 2);
        assert_eq!(aggregate(&errs).unwrap(), "maximum memory usage per Container is 1Gi, but limit is 2Gi");
    }

    #[test]
    fn limit_request_ratio() {
        let l = lr(json!([{"type": "Container", "maxLimitRequestRatio": {"cpu": "2"}}]));
        let p = |req: &str, lim: &str| {
            pod(json!([{"name": "a", "resources": {"limits": {"cpu": lim}, "requests": {"cpu": req}}}]))
        };
        assert_eq!(
            validate_pod(&l, &p("100m", "300m")),
            vec!["cpu max limit to request ratio per Container is 2, but provided ratio is 3.000000"]
        );
        assert!(validate_pod(&l, &p("100m", "200m")).is_empty());
        assert_eq!(
            validate_pod(&l, &p("0", "200m")),
            vec!["cpu max limit to request ratio per Container is 2, but no request is specified or request is 0"]
        );
        let no_limit = pod(json!([{"name": "a", "resources": {"requests": {"cpu": "1"}}}]));
        assert_eq!(
            validate_pod(&l, &no_limit),
            vec!["cpu max limit to request ratio per Container is 2, but no limit is specified or limit is 0"]
        );
    }

    #[test]
    fn pod_items_check_the_sums() {
        let l = lr(json!([{"type": "Pod", "max": {"cpu": "1", "memory": "1Gi"}, "min": {"memory": "100Mi"}}]));
        let p = pod(json!([
            {"name": "a", "resources": {"limits": {"cpu": "600m", "memory": "512Mi"}, "requests": {"cpu": "600m", "memory": "512Mi"}}},
            {"name": "b", "resources": {"limits": {"cpu": "600m", "memory": "512Mi"}, "requests": {"cpu": "600m", "memory": "512Mi"}}},
        ]));
        assert_eq!(validate_pod(&l, &p), vec!["maximum cpu usage per Pod is 1, but limit is 1200m"]);
        // An init container counts when it is the largest step; a sidecar adds up.
        let mut q = pod(
            json!([{"name": "a", "resources": {"limits": {"cpu": "200m", "memory": "200Mi"}, "requests": {"cpu": "200m", "memory": "200Mi"}}}]),
        );
        q["spec"]["initContainers"] = json!([
            {"name": "i", "resources": {"limits": {"cpu": "900m", "memory": "2Gi"}, "requests": {"cpu": "900m", "memory": "2Gi"}}},
        ]);
        assert_eq!(validate_pod(&l, &q), vec!["maximum memory usage per Pod is 1Gi, but limit is 2Gi"]);
        q["spec"]["initContainers"] = json!([
            {"name": "s", "restartPolicy": "Always", "resources": {"limits": {"cpu": "900m", "memory": "20Mi"}, "requests": {"cpu": "900m", "memory": "20Mi"}}},
        ]);
        assert_eq!(validate_pod(&l, &q), vec!["maximum cpu usage per Pod is 1, but limit is 1100m"]);
        let none = pod(json!([{"name": "a"}]));
        assert_eq!(
            validate_pod(&l, &none),
            vec![
                "minimum memory usage per Pod is 100Mi.  No request is specified",
                "maximum cpu usage per Pod is 1.  No limit is specified",
                "maximum memory usage per Pod is 1Gi.  No limit is specified",
            ]
        );
    }

    #[test]
    fn claims_min_and_max_storage() {
        let l = lr(json!([{"type": "PersistentVolumeClaim", "max": {"storage": "2Gi"}, "min": {"storage": "1Gi"}}]));
        let pvc = |s: &str| json!({"spec": {"resources": {"requests": {"storage": s}}}});
        assert_eq!(
            validate_pvc(&l, &pvc("5Gi")),
            vec!["maximum storage usage per PersistentVolumeClaim is 2Gi, but request is 5Gi"]
        );
        assert_eq!(
            validate_pvc(&l, &pvc("500Mi")),
            vec!["minimum storage usage per PersistentVolumeClaim is 1Gi, but request is 500Mi"]
        );
        assert!(validate_pvc(&l, &pvc("2Gi")).is_empty());
        assert_eq!(
            validate_pvc(&l, &json!({"spec": {}})),
            vec![
                "minimum storage usage per PersistentVolumeClaim is 1Gi.  No request is specified",
                "maximum storage usage per PersistentVolumeClaim is 2Gi.  No request is specified",
            ]
        );
        // Container items do not apply to claims.
        let c = lr(json!([{"type": "Container", "max": {"cpu": "1"}}]));
        assert!(validate_pvc(&c, &pvc("5Gi")).is_empty());
    }

    #[test]
    fn limit_range_validation_messages() {
        let check = |limits: Value| {
            let l = lr(limits);
            crate::registry::validation::validate("", "v1", "LimitRange", &l, None)
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
        };
        let errs = check(json!([{"type": "Container", "max": {"cpu": "1"}, "min": {"cpu": "2"}}]));
        assert!(
            errs.iter()
                .any(|e| e == "spec.limits[0].min[cpu]: Invalid value: \"2\": min value 2 is greater than max value 1"),
            "{errs:?}"
        );
        let errs = check(json!([{"type": "Container", "default": {"cpu": "1"}, "defaultRequest": {"cpu": "2"}}]));
        assert!(
            errs.iter().any(|e| e
                == "spec.limits[0].defaultRequest[cpu]: Invalid value: \"2\": default request value 2 is greater than default limit value 1"),
            "{errs:?}"
        );
        assert!(check(json!([{"type": "Container", "max": {"cpu": "2"}, "min": {"cpu": "1"}}])).is_empty());
    }
}
