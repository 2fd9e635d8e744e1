//! The ResourceQuota admission plugin (kube-apiserver's
//! `admission/plugin/resourcequota` with the evaluators of `pkg/quota/v1/evaluator/core`),
//! and the usage computation the resource quota controller shares with it.
//!
//! For a create (and for services and claims an update) of a namespaced object, not of a
//! subresource, the namespace's ResourceQuotas that match the object are found: a quota
//! matches when its `status.hard` names a resource the object's evaluator tracks and the
//! object satisfies every scope (`spec.scopes`, `spec.scopeSelector`; only pods have
//! scopes). For each matching quota:
//! - pods must name requests/limits of the cpu and memory resources the quota constrains
//!   (`failed quota: q: must specify limits.cpu for: a,b; requests.memory for: a`);
//! - `status.used` must already know every constrained resource (`status unknown for
//!   quota: q, resources: pods`);
//! - `status.used + delta` (the object's usage, or for an update what grew) must stay
//!   within `status.hard`, else 403 `exceeded quota: q, requested: pods=1, used: pods=2,
//!   limited: pods=2`.
//!
//! On success the new `status.used` of each changed quota is written at once through the
//! registry (`resourcequotas/status`, with the read resourceVersion as precondition,
//! retried on conflicts), so concurrent creates cannot overshoot; a per-namespace lock is
//! held until the admitted write is stored. Dry runs are only checked. The quota
//! controller (`controllers/resourcequota.rs`) recomputes `status.used` from the objects
//! themselves and gives back what deleted objects held.
//!
//! Usage as Kubernetes counts it:
//! - pods: `count/pods` always; `pods`, `cpu`/`requests.cpu`, `limits.cpu`, memory,
//!   ephemeral storage, hugepages and `requests.<extended>` unless the pod is terminal
//!   (Succeeded/Failed) or past its deletion grace period; requests and limits are the
//!   pod's effective ones (init containers, sidecars, overhead);
//! - services: `services`, `count/services`, `services.nodeports` (ports of NodePort and
//!   LoadBalancer services), `services.loadbalancers`;
//! - persistentvolumeclaims: `persistentvolumeclaims`, `count/persistentvolumeclaims`,
//!   `requests.storage` (rounded up to whole bytes, or the allocated size if larger) and
//!   the same per storage class (`<class>.storageclass.storage.k8s.io/…`);
//! - everything else: `count/<resource>.<group>` (custom resources too), plus the legacy
//!   names `configmaps`, `secrets`, `resourcequotas` and `replicationcontrollers`.
//!
//! One deviation: a `PriorityClass` entry in `spec.scopes` (no operator) is taken as
//! `Exists` by the controller too, where the real controller fails to match it.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Map, Value};
use tokio::sync::Mutex;

use super::Allocation;
use super::attributes::{Attributes, Operation};
use crate::registry::Registry;
use crate::registry::error::{ApiError, ApiResult};
use crate::registry::list::ListOptions;
use crate::registry::meta;
use crate::registry::quantity::Quantity;
use crate::registry::resource::ResourceInfo;
use crate::registry::rest::Ctx;
use crate::registry::strategy::Subresource;
use crate::registry::validation::core::pod::qos_class;
use crate::registry::validation::core::resources::{is_extended, is_native};

/// Resource names to quantities, sorted by name (as `prettyPrint` sorts them).
pub type ResourceList = BTreeMap<String, Quantity>;

/// Per-namespace locks that serialize quota accounting, and which namespaces have quotas
/// at all (so that writes elsewhere cost no lookup; rebuilt after a quota is written).
#[derive(Default)]
pub struct Locks {
    by_namespace: std::sync::Mutex<HashMap<String, Arc<Mutex<()>>>>,
    /// Bumped by every write of a ResourceQuota.
    generation: AtomicU64,
    /// The namespaces that have quotas, and the generation they were read at.
    with_quotas: std::sync::RwLock<Option<(u64, Arc<HashSet<String>>)>>,
}

impl Locks {
    fn get(&self, ns: &str) -> Arc<Mutex<()>> {
        let mut map = self.by_namespace.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(ns.to_string()).or_default().clone()
    }

    /// A ResourceQuota was written: read the namespaces with quotas again when next needed.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    async fn namespaces_with_quotas(&self, reg: &Registry, rq: &ResourceInfo) -> ApiResult<Arc<HashSet<String>>> {
        let generation = self.generation.load(Ordering::Acquire);
        if let Ok(cached) = self.with_quotas.read()
            && let Some((g, set)) = cached.as_ref()
            && *g == generation
        {
            return Ok(set.clone());
        }
        let all = reg.list(rq, None, &ListOptions::default()).await?.items;
        let set: Arc<HashSet<String>> = Arc::new(all.iter().map(|q| meta::namespace(q).to_string()).collect());
        if self.generation.load(Ordering::Acquire) == generation
            && let Ok(mut cached) = self.with_quotas.write()
        {
            *cached = Some((generation, set.clone()));
        }
        Ok(set)
    }
}

const STORAGE_CLASS_SUFFIX: &str = ".storageclass.storage.k8s.io/";

/// The cpu and memory names a pod must request or limit explicitly when a quota constrains them.
const VALIDATION_SET: [&str; 6] = ["cpu", "memory", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory"];

const POD_RESOURCES: [&str; 11] = [
    "count/pods",
    "cpu",
    "memory",
    "ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.ephemeral-storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
    "pods",
];

const SERVICE_RESOURCES: [&str; 4] = ["count/services", "services", "services.nodeports", "services.loadbalancers"];

const CLAIM_RESOURCES: [&str; 2] = ["persistentvolumeclaims", "requests.storage"];

/// `count/<resource>` or `count/<resource>.<group>`.
pub fn object_count_name(group: &str, plural: &str) -> String {
    if group.is_empty() { format!("count/{plural}") } else { format!("count/{plural}.{group}") }
}

/// The (group, resource) a `count/…` quota name counts.
pub fn counted_resource(name: &str) -> Option<(String, String)> {
    let rest = name.strip_prefix("count/")?;
    Some(match rest.split_once('.') {
        Some((plural, group)) => (group.to_string(), plural.to_string()),
        None => (String::new(), rest.to_string()),
    })
}

/// How the usage of one resource is measured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Evaluator {
    Pods,
    Services,
    Claims,
    /// Object counting under these names.
    Count(Vec<String>),
}

impl Evaluator {
    /// The evaluator of a resource.
    pub fn for_resource(group: &str, plural: &str) -> Evaluator {
        match (group, plural) {
            ("", "pods") => Evaluator::Pods,
            ("", "services") => Evaluator::Services,
            ("", "persistentvolumeclaims") => Evaluator::Claims,
            ("", "configmaps" | "resourcequotas" | "replicationcontrollers" | "secrets") => {
                Evaluator::Count(vec![object_count_name(group, plural), plural.to_string()])
            }
            _ => Evaluator::Count(vec![object_count_name(group, plural)]),
        }
    }

    /// Whether a write with this operation can change usage.
    pub fn handles(&self, op: Operation) -> bool {
        match self {
            Evaluator::Pods | Evaluator::Count(_) => op == Operation::Create,
            Evaluator::Services | Evaluator::Claims => matches!(op, Operation::Create | Operation::Update),
        }
    }

    /// Which of `input` this evaluator tracks.
    pub fn matching_resources(&self, input: &[String]) -> Vec<String> {
        input
            .iter()
            .filter(|r| match self {
                Evaluator::Pods => {
                    POD_RESOURCES.contains(&r.as_str())
                        || r.starts_with("hugepages-")
                        || r.starts_with("requests.hugepages-")
                        || (!is_native(r) && r.starts_with("requests."))
                }
                Evaluator::Services => SERVICE_RESOURCES.contains(&r.as_str()),
                Evaluator::Claims => {
                    r.as_str() == "count/persistentvolumeclaims"
                        || CLAIM_RESOURCES.contains(&r.as_str())
                        || CLAIM_RESOURCES.iter().any(|c| r.ends_with(&format!("{STORAGE_CLASS_SUFFIX}{c}")))
                }
                Evaluator::Count(names) => names.contains(r),
            })
            .cloned()
            .collect()
    }

    /// Whether the object falls in a scope (only pods have scopes).
    pub fn matches_scope(&self, sel: &ScopeRequirement, obj: &Value) -> bool {
        match self {
            Evaluator::Pods => pod_matches_scope(sel, obj),
            _ => false,
        }
    }

    /// The object's usage.
    pub fn usage(&self, obj: &Value, now: jiff::Timestamp) -> ResourceList {
        match self {
            Evaluator::Pods => pod_usage(obj, now),
            Evaluator::Services => service_usage(obj),
            Evaluator::Claims => claim_usage(obj),
            Evaluator::Count(names) => names.iter().map(|n| (n.clone(), Quantity::from_units(1))).collect(),
        }
    }

    /// What the object must satisfy for a quota constraining `required` (pods only).
    pub fn constraints(&self, required: &[String], obj: &Value) -> Result<(), String> {
        match self {
            Evaluator::Pods => pod_constraints(required, obj),
            _ => Ok(()),
        }
    }
}

/// One scope of a quota: `spec.scopes` entries are `Exists` requirements.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScopeRequirement {
    pub scope: String,
    pub operator: String,
    pub values: Vec<String>,
}

/// The scopes of a quota: `spec.scopes`, then `spec.scopeSelector.matchExpressions`.
pub fn scope_selectors(quota: &Value) -> Vec<ScopeRequirement> {
    let spec = &quota["spec"];
    let mut out: Vec<ScopeRequirement> = strings(&spec["scopes"])
        .into_iter()
        .map(|s| ScopeRequirement { scope: s, operator: "Exists".into(), values: vec![] })
        .collect();
    for e in spec["scopeSelector"]["matchExpressions"].as_array().into_iter().flatten() {
        out.push(ScopeRequirement {
            scope: e["scopeName"].as_str().unwrap_or("").to_string(),
            operator: e["operator"].as_str().unwrap_or("").to_string(),
            values: strings(&e["values"]),
        });
    }
    out
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect()).unwrap_or_default()
}

/// A resource list from JSON (`{"cpu": "1"}`); unparsable entries are left out.
pub fn resource_list(v: &Value) -> ResourceList {
    let mut out = ResourceList::new();
    for (k, q) in v.as_object().into_iter().flatten() {
        let text = match q {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => continue,
        };
        if let Ok(q) = Quantity::parse(&text) {
            out.insert(k.clone(), q);
        }
    }
    out
}

/// A resource list as JSON.
pub fn to_json(list: &ResourceList) -> Value {
    Value::Object(list.iter().map(|(k, q)| (k.clone(), Value::String(q.to_string()))).collect::<Map<_, _>>())
}

/// `a + b` as `resource.Quantity.Add` does it: a zero takes the other's format.
fn add_quantity(a: &Quantity, b: &Quantity) -> Quantity {
    if a.is_zero() {
        return b.clone();
    }
    a.checked_add(b).unwrap_or_else(|| a.clone())
}

/// `quota.Add`.
pub fn add(a: &ResourceList, b: &ResourceList) -> ResourceList {
    let mut out = a.clone();
    for (k, q) in b {
        let sum = match out.get(k) {
            Some(v) => add_quantity(v, q),
            None => q.clone(),
        };
        out.insert(k.clone(), sum);
    }
    out
}

/// `quota.SubtractWithNonNegativeResult`.
fn subtract_non_negative(a: &ResourceList, b: &ResourceList) -> ResourceList {
    let zero = Quantity::from_units(0);
    let mut out = ResourceList::new();
    for (k, v) in a {
        let d = match b.get(k) {
            Some(o) if v.is_zero() => o.neg(),
            Some(o) => v.checked_sub(o).unwrap_or_else(|| v.clone()),
            None => v.clone(),
        };
        out.insert(k.clone(), if d.signum() > 0 { d } else { zero.clone() });
    }
    for k in b.keys() {
        out.entry(k.clone()).or_insert_with(|| zero.clone());
    }
    out
}

/// `quota.Mask`: only the named entries.
pub fn mask(list: &ResourceList, names: &[String]) -> ResourceList {
    list.iter().filter(|(k, _)| names.contains(k)).map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// `prettyPrint`: `a=1,b=2Gi`, sorted by name.
pub fn pretty_print(list: &ResourceList) -> String {
    list.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
}

/// Whether the quota applies to the object: it constrains a resource the evaluator
/// tracks, and the object is in all its scopes.
pub fn quota_matches(ev: &Evaluator, quota: &Value, obj: &Value) -> bool {
    let hard: Vec<String> = resource_list(&quota["status"]["hard"]).into_keys().collect();
    !ev.matching_resources(&hard).is_empty() && scope_selectors(quota).iter().all(|s| ev.matches_scope(s, obj))
}

/// Check a write against the namespace's quotas. Returns each quota's `status.used` as
/// it will be once the write is stored, or the reason for refusing it.
pub fn check_request(
    quotas: &[Value],
    ev: &Evaluator,
    op: Operation,
    obj: &Value,
    old: Option<&Value>,
    now: jiff::Timestamp,
) -> Result<Vec<ResourceList>, String> {
    let used: Vec<ResourceList> = quotas.iter().map(|q| resource_list(&q["status"]["used"])).collect();
    let mut interesting = Vec::new();
    for (i, q) in quotas.iter().enumerate() {
        if !quota_matches(ev, q, obj) {
            continue;
        }
        let name = meta::name(q);
        let hard: Vec<String> = resource_list(&q["status"]["hard"]).into_keys().collect();
        let restricted = ev.matching_resources(&hard);
        ev.constraints(&restricted, obj).map_err(|e| format!("failed quota: {name}: {e}"))?;
        if restricted.iter().any(|r| !used[i].contains_key(r)) {
            let mut all = restricted.clone();
            all.sort();
            return Err(format!("status unknown for quota: {name}, resources: {}", all.join(",")));
        }
        interesting.push(i);
    }
    if interesting.is_empty() {
        return Ok(used);
    }
    let input = ev.usage(obj, now);
    let negative: Vec<&str> = input.iter().filter(|(_, q)| q.signum() < 0).map(|(k, _)| k.as_str()).collect();
    if !negative.is_empty() {
        return Err(format!("quota usage is negative for resource(s): {}", negative.join(",")));
    }
    let mut deltas: BTreeMap<usize, ResourceList> = interesting.iter().map(|i| (*i, input.clone())).collect();
    if op == Operation::Update
        && let Some(old) = old.filter(|o| !meta::resource_version(o).is_empty())
    {
        let delta = subtract_non_negative(&input, &ev.usage(old, now));
        for i in &interesting {
            if quota_matches(ev, &quotas[*i], old) {
                deltas.insert(*i, delta.clone());
            }
        }
    }
    let mut out = used.clone();
    for (i, delta) in deltas {
        let delta: ResourceList = delta.into_iter().filter(|(_, q)| !q.is_zero()).collect();
        if delta.is_empty() {
            continue;
        }
        let q = &quotas[i];
        let hard = resource_list(&q["status"]["hard"]);
        let hard_names: Vec<String> = hard.keys().cloned().collect();
        let requested = mask(&delta, &hard_names);
        let new_used = add(&used[i], &requested);
        let exceeded: Vec<String> = requested
            .keys()
            .filter(|k| matches!((new_used.get(*k), hard.get(*k)), (Some(u), Some(h)) if u > h))
            .cloned()
            .collect();
        if !exceeded.is_empty() {
            return Err(format!(
                "exceeded quota: {}, requested: {}, used: {}, limited: {}",
                meta::name(q),
                pretty_print(&mask(&requested, &exceeded)),
                pretty_print(&mask(&used[i], &exceeded)),
                pretty_print(&mask(&hard, &exceeded)),
            ));
        }
        out[i] = new_used;
    }
    Ok(out)
}

/// Refuse a create or update that would exceed a quota of its namespace, and charge the
/// quotas for what is admitted. (A boxed future with a named type: charging a quota is a
/// write that passes through admission again.)
pub fn admit<'a>(
    reg: &'a Registry,
    attrs: &'a Attributes<'a>,
    obj: &'a Value,
    alloc: &'a mut Allocation,
) -> Pin<Box<dyn Future<Output = ApiResult<()>> + Send + 'a>> {
    Box::pin(admit_write(reg, attrs, obj, alloc))
}

async fn admit_write(reg: &Registry, attrs: &Attributes<'_>, obj: &Value, alloc: &mut Allocation) -> ApiResult<()> {
    if !attrs.subresource.is_empty() || attrs.namespace.is_empty() {
        return Ok(());
    }
    let res = attrs.res;
    if res.group.is_empty() && res.plural == "events" {
        return Ok(());
    }
    let ev = Evaluator::for_resource(&res.group, &res.plural);
    if !ev.handles(attrs.operation) {
        return Ok(());
    }
    let Some(rq) = reg.resource("", "v1", "resourcequotas") else { return Ok(()) };
    let ns = attrs.namespace.as_str();
    if !reg.admission.quota_locks.namespaces_with_quotas(reg, &rq).await?.contains(ns) {
        return Ok(());
    }
    let guard = reg.admission.quota_locks.get(ns).lock_owned().await;
    let refuse = |why: String| ApiError::forbidden(&res.group, &res.plural, &attrs.name, why);
    let mut pending: Option<HashSet<String>> = None;
    for attempt in 0..4 {
        let mut quotas = list_quotas(reg, &rq, ns).await?;
        if let Some(p) = &pending {
            quotas.retain(|q| p.contains(meta::name(q)));
        }
        let new_used =
            check_request(&quotas, &ev, attrs.operation, obj, attrs.old, jiff::Timestamp::now()).map_err(refuse)?;
        if attrs.ctx.dry_run {
            break;
        }
        let mut failed = HashSet::new();
        let mut last_err = None;
        for (q, used) in quotas.iter().zip(new_used) {
            if used == resource_list(&q["status"]["used"]) {
                continue;
            }
            let mut body = q.clone();
            body["apiVersion"] = "v1".into();
            body["kind"] = "ResourceQuota".into();
            body["status"]["used"] = to_json(&used);
            let ctx = Ctx::system("kube-apiserver");
            match reg.update(&ctx, &rq, Some(ns), meta::name(q), Subresource::Status, body).await {
                Ok(_) => {}
                Err(e) if e.reason == "Conflict" => {
                    failed.insert(meta::name(q).to_string());
                    last_err = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        if failed.is_empty() {
            break;
        }
        if attempt == 3 {
            return Err(last_err.unwrap_or_else(|| ApiError::internal("quota update failed")));
        }
        pending = Some(failed);
    }
    alloc.hold(guard);
    Ok(())
}

async fn list_quotas(reg: &Registry, rq: &ResourceInfo, ns: &str) -> ApiResult<Vec<Value>> {
    Ok(reg.list(rq, Some(ns), &ListOptions::default()).await?.items)
}

// ---------------------------------------------------------------- pods

fn pod_matches_scope(sel: &ScopeRequirement, pod: &Value) -> bool {
    let spec = &pod["spec"];
    match sel.scope.as_str() {
        "Terminating" => is_terminating(pod),
        "NotTerminating" => !is_terminating(pod),
        "BestEffort" => qos_class(Some(spec)) == "BestEffort",
        "NotBestEffort" => qos_class(Some(spec)) != "BestEffort",
        "PriorityClass" => {
            let class = spec["priorityClassName"].as_str().unwrap_or("");
            match sel.operator.as_str() {
                "Exists" => !class.is_empty(),
                "DoesNotExist" => class.is_empty(),
                "In" => !class.is_empty() && sel.values.iter().any(|v| v == class),
                "NotIn" => class.is_empty() || !sel.values.iter().any(|v| v == class),
                _ => false,
            }
        }
        "CrossNamespacePodAffinity" => uses_cross_namespace_affinity(spec),
        _ => false,
    }
}

fn is_terminating(pod: &Value) -> bool {
    pod["spec"]["activeDeadlineSeconds"].as_i64().is_some_and(|s| s >= 0)
}

fn uses_cross_namespace_affinity(spec: &Value) -> bool {
    let cross = |t: &Value| {
        t["namespaces"].as_array().is_some_and(|a| !a.is_empty())
            || t.get("namespaceSelector").is_some_and(|s| !s.is_null())
    };
    ["podAffinity", "podAntiAffinity"].iter().any(|kind| {
        let a = &spec["affinity"][kind];
        a["requiredDuringSchedulingIgnoredDuringExecution"].as_array().into_iter().flatten().any(cross)
            || a["preferredDuringSchedulingIgnoredDuringExecution"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|w| cross(&w["podAffinityTerm"]))
    })
}

/// Whether a pod is still charged for compute resources (`QuotaV1Pod`).
fn pod_counts(pod: &Value, now: jiff::Timestamp) -> bool {
    if matches!(pod["status"]["phase"].as_str(), Some("Succeeded" | "Failed")) {
        return false;
    }
    let deleted = pod["metadata"]["deletionTimestamp"].as_str().and_then(|t| t.parse::<jiff::Timestamp>().ok());
    if let (Some(at), Some(grace)) = (deleted, pod["metadata"]["deletionGracePeriodSeconds"].as_i64())
        && now > at + jiff::SignedDuration::from_secs(grace)
    {
        return false;
    }
    true
}

fn max_into(into: &mut ResourceList, from: &ResourceList) {
    for (k, q) in from {
        if into.get(k).is_none_or(|v| q > v) {
            into.insert(k.clone(), q.clone());
        }
    }
}

/// The pod's effective requests or limits (`PodRequests`/`PodLimits`): containers and
/// sidecars summed, or the largest init step if larger, plus overhead (for limits only
/// where a limit is set).
fn pod_resources(pod: &Value, field: &str) -> ResourceList {
    let spec = &pod["spec"];
    let mut total = ResourceList::new();
    for c in spec["containers"].as_array().into_iter().flatten() {
        total = add(&total, &resource_list(&c["resources"][field]));
    }
    let (mut sidecars, mut init_max) = (ResourceList::new(), ResourceList::new());
    for c in spec["initContainers"].as_array().into_iter().flatten() {
        let own = resource_list(&c["resources"][field]);
        let step = if c["restartPolicy"] == "Always" {
            total = add(&total, &own);
            sidecars = add(&sidecars, &own);
            sidecars.clone()
        } else {
            add(&own, &sidecars)
        };
        max_into(&mut init_max, &step);
    }
    max_into(&mut total, &init_max);
    let overhead = resource_list(&spec["overhead"]);
    if field == "requests" {
        total = add(&total, &overhead);
    } else {
        let present: ResourceList = overhead.into_iter().filter(|(k, _)| total.contains_key(k)).collect();
        total = add(&total, &present);
    }
    total
}

/// `podComputeUsageHelper`.
fn compute_usage(requests: &ResourceList, limits: &ResourceList) -> ResourceList {
    let mut out = ResourceList::new();
    out.insert("pods".into(), Quantity::from_units(1));
    for r in ["cpu", "memory", "ephemeral-storage"] {
        if let Some(q) = requests.get(r) {
            out.insert(r.to_string(), q.clone());
            out.insert(format!("requests.{r}"), q.clone());
        }
        if let Some(q) = limits.get(r) {
            out.insert(format!("limits.{r}"), q.clone());
        }
    }
    for (r, q) in requests {
        if r.starts_with("hugepages-") {
            out.insert(r.clone(), q.clone());
            out.insert(format!("requests.{r}"), q.clone());
        }
        if is_extended(r) {
            out.insert(format!("requests.{r}"), q.clone());
        }
    }
    out
}

fn pod_usage(pod: &Value, now: jiff::Timestamp) -> ResourceList {
    let mut out = ResourceList::new();
    out.insert("count/pods".into(), Quantity::from_units(1));
    if !pod_counts(pod, now) {
        return out;
    }
    add(&out, &compute_usage(&pod_resources(pod, "requests"), &pod_resources(pod, "limits")))
}

/// Every container must request or limit the cpu and memory resources a quota constrains.
fn pod_constraints(required: &[String], pod: &Value) -> Result<(), String> {
    let required: BTreeSet<&str> = required.iter().map(String::as_str).filter(|r| VALIDATION_SET.contains(r)).collect();
    let mut missing: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    let spec = &pod["spec"];
    let containers = spec["containers"].as_array().into_iter().flatten();
    for c in containers.chain(spec["initContainers"].as_array().into_iter().flatten()) {
        let usage =
            compute_usage(&resource_list(&c["resources"]["requests"]), &resource_list(&c["resources"]["limits"]));
        for r in &required {
            if !usage.contains_key(*r) {
                missing.entry(r).or_default().insert(c["name"].as_str().unwrap_or("").to_string());
            }
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    let parts: Vec<String> = missing
        .iter()
        .map(|(r, names)| format!("{r} for: {}", names.iter().cloned().collect::<Vec<_>>().join(",")))
        .collect();
    Err(format!("must specify {}", parts.join("; ")))
}

// ---------------------------------------------------------------- services and claims

fn service_usage(svc: &Value) -> ResourceList {
    let spec = &svc["spec"];
    let ports = spec["ports"].as_array().map(Vec::len).unwrap_or(0) as i128;
    let mut out = ResourceList::new();
    out.insert("count/services".into(), Quantity::from_units(1));
    out.insert("services".into(), Quantity::from_units(1));
    let (mut node_ports, mut balancers) = (0, 0);
    match spec["type"].as_str() {
        Some("NodePort") => node_ports = ports,
        Some("LoadBalancer") => {
            node_ports = if spec["allocateLoadBalancerNodePorts"] == Value::Bool(false) {
                spec["ports"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|p| p["nodePort"].as_i64().is_some_and(|n| n != 0))
                    .count() as i128
            } else {
                ports
            };
            balancers = 1;
        }
        _ => {}
    }
    out.insert("services.nodeports".into(), Quantity::from_units(node_ports));
    out.insert("services.loadbalancers".into(), Quantity::from_units(balancers));
    out
}

fn claim_usage(pvc: &Value) -> ResourceList {
    let mut out = ResourceList::new();
    out.insert("persistentvolumeclaims".into(), Quantity::from_units(1));
    out.insert("count/persistentvolumeclaims".into(), Quantity::from_units(1));
    let class = pvc["metadata"]["annotations"]["volume.beta.kubernetes.io/storage-class"]
        .as_str()
        .or_else(|| pvc["spec"]["storageClassName"].as_str())
        .unwrap_or("");
    if !class.is_empty() {
        out.insert(format!("{class}{STORAGE_CLASS_SUFFIX}persistentvolumeclaims"), Quantity::from_units(1));
    }
    let requested = resource_list(&pvc["spec"]["resources"]["requests"]).remove("storage").map(|q| q.round_up(0));
    let allocated = resource_list(&pvc["status"]["allocatedResources"]).remove("storage");
    let storage = match (requested, allocated) {
        (Some(r), Some(a)) if a > r => Some(a.round_up(0)),
        (r, _) => r,
    };
    if let Some(s) = storage {
        if !class.is_empty() {
            out.insert(format!("{class}{STORAGE_CLASS_SUFFIX}requests.storage"), s.clone());
        }
        out.insert("requests.storage".into(), s);
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn now() -> jiff::Timestamp {
        jiff::Timestamp::now()
    }

    fn quota(name: &str, hard: Value, used: Option<Value>) -> Value {
        let mut q = json!({"metadata": {"name": name, "namespace": "ns"}, "spec": {"hard": hard.clone()}, "status": {"hard": hard}});
        if let Some(u) = used {
            q["status"]["used"] = u;
        }
        q
    }

    fn pod(containers: Value) -> Value {
        json!({"metadata": {"name": "p", "namespace": "ns"}, "spec": {"containers": containers}})
    }

    fn list(v: Value) -> ResourceList {
        resource_list(&v)
    }

    #[test]
    fn pod_usage_counts_compute_resources() {
        let p = pod(json!([
            {"name": "a", "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "1"}}},
            {"name": "b", "resources": {"requests": {"cpu": "250m", "example.com/gpu": "1"}}},
        ]));
        let u = Evaluator::Pods.usage(&p, now());
        assert_eq!(
            to_json(&u),
            json!({
                "count/pods": "1", "pods": "1", "cpu": "750m", "requests.cpu": "750m", "limits.cpu": "1",
                "memory": "1Gi", "requests.memory": "1Gi", "requests.example.com/gpu": "1",
            })
        );
        let mut done = p.clone();
        done["status"]["phase"] = "Succeeded".into();
        assert_eq!(to_json(&Evaluator::Pods.usage(&done, now())), json!({"count/pods": "1"}));
    }

    #[test]
    fn pod_usage_with_init_containers_and_sidecars() {
        let p = json!({"spec": {
            "containers": [{"name": "a", "resources": {"requests": {"cpu": "1"}}}],
            "initContainers": [
                {"name": "side", "restartPolicy": "Always", "resources": {"requests": {"cpu": "500m"}}},
                {"name": "init", "resources": {"requests": {"cpu": "3"}}},
            ],
            "overhead": {"cpu": "100m"},
        }});
        // The init step (3 + the 500m sidecar) beats containers + sidecar (1.5), plus overhead.
        assert_eq!(Evaluator::Pods.usage(&p, now())["requests.cpu"].to_string(), "3600m");
    }

    #[test]
    fn services_and_claims() {
        let svc = json!({"spec": {"type": "NodePort", "ports": [{"port": 80}, {"port": 81}]}});
        assert_eq!(
            to_json(&Evaluator::Services.usage(&svc, now())),
            json!({
                "count/services": "1", "services": "1", "services.nodeports": "2", "services.loadbalancers": "0",
            })
        );
        let lb = json!({"spec": {"type": "LoadBalancer", "allocateLoadBalancerNodePorts": false, "ports": [{"port": 80, "nodePort": 30001}, {"port": 81}]}});
        let u = Evaluator::Services.usage(&lb, now());
        assert_eq!(
            (u["services.nodeports"].to_string(), u["services.loadbalancers"].to_string()),
            ("1".into(), "1".into())
        );
        let pvc = json!({"spec": {"storageClassName": "gold", "resources": {"requests": {"storage": "1.5"}}}});
        assert_eq!(
            to_json(&Evaluator::Claims.usage(&pvc, now())),
            json!({
                "persistentvolumeclaims": "1", "count/persistentvolumeclaims": "1", "requests.storage": "2",
                "gold.storageclass.storage.k8s.io/persistentvolumeclaims": "1",
                "gold.storageclass.storage.k8s.io/requests.storage": "2",
            })
        );
        let names = vec!["gold.storageclass.storage.k8s.io/requests.storage".to_string(), "pods".to_string()];
        assert_eq!(Evaluator::Claims.matching_resources(&names), vec![names[0].clone()]);
    }

    #[test]
    fn object_counts_and_aliases() {
        assert_eq!(
            Evaluator::for_resource("", "configmaps"),
            Evaluator::Count(vec!["count/configmaps".into(), "configmaps".into()])
        );
        assert_eq!(
            Evaluator::for_resource("example.com", "widgets"),
            Evaluator::Count(vec!["count/widgets.example.com".into()])
        );
        assert_eq!(counted_resource("count/deployments.apps"), Some(("apps".into(), "deployments".into())));
        assert_eq!(counted_resource("count/pods"), Some(("".into(), "pods".into())));
        assert_eq!(counted_resource("pods"), None);
    }

    #[test]
    fn exceeded_quota_message() {
        let q = quota("q", json!({"pods": "2", "requests.cpu": "1"}), Some(json!({"pods": "2", "requests.cpu": "0"})));
        let p = pod(json!([{"name": "a", "resources": {"requests": {"cpu": "500m"}}}]));
        let err =
            check_request(std::slice::from_ref(&q), &Evaluator::Pods, Operation::Create, &p, None, now()).unwrap_err();
        assert_eq!(err, "exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2");
        let q =
            quota("q", json!({"pods": "3", "requests.cpu": "1"}), Some(json!({"pods": "2", "requests.cpu": "700m"})));
        let err = check_request(&[q], &Evaluator::Pods, Operation::Create, &p, None, now()).unwrap_err();
        assert_eq!(
            err,
            "exceeded quota: q, requested: requests.cpu=500m, used: requests.cpu=700m, limited: requests.cpu=1"
        );
    }

    #[test]
    fn admitted_usage_is_added() {
        let q = quota(
            "q",
            json!({"pods": "2", "requests.memory": "1Gi"}),
            Some(json!({"pods": "0", "requests.memory": "0"})),
        );
        let p = pod(json!([{"name": "a", "resources": {"requests": {"memory": "100Mi"}}}]));
        let out = check_request(&[q], &Evaluator::Pods, Operation::Create, &p, None, now()).unwrap();
        assert_eq!(to_json(&out[0]), json!({"pods": "1", "requests.memory": "100Mi"}));
    }

    #[test]
    fn unknown_status_and_must_specify() {
        let q = quota("q", json!({"pods": "2", "configmaps": "1"}), None);
        let p = pod(json!([{"name": "a"}]));
        let err = check_request(&[q], &Evaluator::Pods, Operation::Create, &p, None, now()).unwrap_err();
        assert_eq!(err, "status unknown for quota: q, resources: pods");
        let q = quota("q", json!({"limits.cpu": "2", "requests.memory": "1Gi", "cpu": "1"}), Some(json!({})));
        let p = pod(json!([{"name": "c1", "resources": {"requests": {"cpu": "1"}}}, {"name": "c2"}]));
        let err = check_request(&[q], &Evaluator::Pods, Operation::Create, &p, None, now()).unwrap_err();
        assert_eq!(err, "failed quota: q: must specify cpu for: c2; limits.cpu for: c1,c2; requests.memory for: c1,c2");
        // A quota without status.hard constrains nothing yet.
        let q = json!({"metadata": {"name": "q"}, "spec": {"hard": {"pods": "0"}}});
        assert!(check_request(&[q], &Evaluator::Pods, Operation::Create, &p, None, now()).is_ok());
    }

    #[test]
    fn scopes_select_pods() {
        let best = quota("best", json!({"pods": "1"}), Some(json!({"pods": "1"})));
        let mut best = best;
        best["spec"]["scopes"] = json!(["BestEffort"]);
        let burstable = pod(json!([{"name": "a", "resources": {"requests": {"cpu": "1"}}}]));
        assert!(check_request(&[best.clone()], &Evaluator::Pods, Operation::Create, &burstable, None, now()).is_ok());
        let plain = pod(json!([{"name": "a"}]));
        assert!(check_request(&[best.clone()], &Evaluator::Pods, Operation::Create, &plain, None, now()).is_err());
        // A scoped quota never matches other kinds.
        let cm = json!({"metadata": {"name": "c"}});
        let mut scoped_cm = quota("c", json!({"count/configmaps": "0"}), Some(json!({"count/configmaps": "0"})));
        scoped_cm["spec"]["scopes"] = json!(["BestEffort"]);
        let ev = Evaluator::for_resource("", "configmaps");
        assert!(check_request(&[scoped_cm], &ev, Operation::Create, &cm, None, now()).is_ok());

        let mut prio = quota("prio", json!({"pods": "1"}), Some(json!({"pods": "1"})));
        prio["spec"]["scopeSelector"] =
            json!({"matchExpressions": [{"scopeName": "PriorityClass", "operator": "In", "values": ["high"]}]});
        let mut high = plain.clone();
        high["spec"]["priorityClassName"] = "high".into();
        assert!(check_request(&[prio.clone()], &Evaluator::Pods, Operation::Create, &high, None, now()).is_err());
        assert!(check_request(&[prio], &Evaluator::Pods, Operation::Create, &plain, None, now()).is_ok());
        let mut term = plain.clone();
        term["spec"]["activeDeadlineSeconds"] = 30.into();
        let sel = ScopeRequirement { scope: "Terminating".into(), operator: "Exists".into(), values: vec![] };
        assert!(Evaluator::Pods.matches_scope(&sel, &term));
        assert!(!Evaluator::Pods.matches_scope(&sel, &plain));
    }

    #[test]
    fn service_updates_charge_what_grew() {
        let q = quota(
            "q",
            json!({"services.nodeports": "1", "services": "5"}),
            Some(json!({"services.nodeports": "0", "services": "1"})),
        );
        let old = json!({"metadata": {"name": "s", "resourceVersion": "5"}, "spec": {"type": "ClusterIP", "ports": [{"port": 80}]}});
        let mut new = old.clone();
        new["spec"]["type"] = "NodePort".into();
        let out =
            check_request(std::slice::from_ref(&q), &Evaluator::Services, Operation::Update, &new, Some(&old), now())
                .unwrap();
        assert_eq!(to_json(&out[0]), json!({"services.nodeports": "1", "services": "1"}));
        new["spec"]["ports"] = json!([{"port": 80}, {"port": 81}]);
        let err = check_request(&[q], &Evaluator::Services, Operation::Update, &new, Some(&old), now()).unwrap_err();
        assert_eq!(
            err,
            "exceeded quota: q, requested: services.nodeports=2, used: services.nodeports=0, limited: services.nodeports=1"
        );
        assert!(!Evaluator::Pods.handles(Operation::Update));
    }

    #[test]
    fn quantities_add_like_go() {
        let a = list(json!({"memory": "0"}));
        let b = list(json!({"memory": "1Gi"}));
        assert_eq!(to_json(&add(&a, &b)), json!({"memory": "1Gi"}));
        let d = subtract_non_negative(&list(json!({"x": "1", "y": "2"})), &list(json!({"x": "3", "z": "1"})));
        assert_eq!(to_json(&d), json!({"x": "0", "y": "2", "z": "0"}));
    }
}
