//! The resource quota controller (kube-controller-manager's `resourcequota`): keeps
//! every ResourceQuota's `status.hard` a copy of `spec.hard` and `status.used` the usage
//! of the objects in its namespace, as the quota admission plugin counts it
//! (`registry::admission::quota` holds the shared evaluators).
//!
//! A namespace is recalculated when one of its quotas changes and when objects of the
//! kinds quota tracks closely change or go away (pods, services, configmaps, secrets,
//! persistentvolumeclaims, replicationcontrollers, resourcequotas) — that is how deleted
//! objects give their quota back; every namespace with quotas is also recalculated every
//! 30 seconds, which covers `count/<resource>.<group>` of any other kind and pods whose
//! deletion grace period ran out. The objects are listed through the API; status is
//! written only when it changes, with the read resourceVersion as precondition (a
//! conflict with admission's own charging means: read again and recount).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{
    ConfigMap, PersistentVolumeClaim, Pod, ReplicationController, ResourceQuota, Secret, Service,
};
use kube::api::{Api, ApiResource, DynamicObject, ListParams, PartialObjectMeta, PostParams};
use kube::discovery::Discovery;
use kube::runtime::watcher;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::registry::admission::quota::{
    Evaluator, ResourceList, add, counted_resource, mask, resource_list, scope_selectors, to_json,
};

/// How often every namespace with quotas is recounted.
const RESYNC: Duration = Duration::from_secs(30);

/// Failed namespaces are tried again after this long.
const RETRY: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("encoding: {0}")]
    Json(#[from] serde_json::Error),
}

/// Run until the process ends.
pub async fn run(client: kube::Client) {
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    for ar in [
        ApiResource::erase::<Pod>(&()),
        ApiResource::erase::<Service>(&()),
        ApiResource::erase::<ConfigMap>(&()),
        ApiResource::erase::<Secret>(&()),
        ApiResource::erase::<PersistentVolumeClaim>(&()),
        ApiResource::erase::<ReplicationController>(&()),
    ] {
        tokio::spawn(watch(client.clone(), ar, tx.clone()));
    }
    // Namespaces that have quotas: changes elsewhere need no recount (not even a lookup).
    let with_quotas: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    tokio::spawn(watch_quotas(client.clone(), tx.clone(), with_quotas.clone()));
    let mut resync = tokio::time::interval(RESYNC);
    let mut retry = tokio::time::interval(RETRY);
    let mut dirty: BTreeSet<String> = BTreeSet::new();
    let mut failed: BTreeSet<String> = BTreeSet::new();
    loop {
        tokio::select! {
            Some(ns) = rx.recv() => { dirty.insert(ns); }
            _ = resync.tick() => {
                match Api::<ResourceQuota>::all(client.clone()).list(&ListParams::default()).await {
                    Ok(list) => dirty.extend(list.items.into_iter().filter_map(|q| q.metadata.namespace)),
                    Err(e) => tracing::debug!(error = %e, "listing resource quotas failed"),
                }
            }
            _ = retry.tick() => dirty.append(&mut failed),
        }
        while let Ok(ns) = rx.try_recv() {
            dirty.insert(ns);
        }
        for ns in std::mem::take(&mut dirty) {
            if !with_quotas.lock().unwrap_or_else(|e| e.into_inner()).contains_key(&ns) {
                continue;
            }
            if let Err(e) = sync_namespace(&client, &ns).await {
                tracing::debug!(namespace = %ns, error = %e, "resource quota sync failed; will retry");
                failed.insert(ns);
            }
        }
    }
}

/// Report the namespace of every change of objects of one resource.
async fn watch(client: kube::Client, ar: ApiResource, tx: mpsc::UnboundedSender<String>) {
    let api: Api<PartialObjectMeta<DynamicObject>> = Api::all_with(client, &ar);
    let mut stream = watcher::watcher(api, watcher::Config::default()).boxed();
    while let Some(ev) = stream.next().await {
        let meta = match ev {
            Ok(watcher::Event::Apply(o) | watcher::Event::Delete(o) | watcher::Event::InitApply(o)) => o.metadata,
            Ok(_) => continue,
            Err(e) => {
                tracing::debug!(resource = %ar.plural, error = %e, "resource quota watch error");
                tokio::time::sleep(RETRY).await;
                continue;
            }
        };
        if let Some(ns) = meta.namespace
            && tx.send(ns).is_err()
        {
            return;
        }
    }
}

/// Report the namespace of quotas that are new, gone, or whose `spec.hard` changed;
/// changes of status alone are left to the periodic resync, as in Kubernetes.
async fn watch_quotas(
    client: kube::Client,
    tx: mpsc::UnboundedSender<String>,
    with_quotas: Arc<Mutex<HashMap<String, usize>>>,
) {
    let api: Api<ResourceQuota> = Api::all(client);
    let mut stream = watcher::watcher(api, watcher::Config::default()).boxed();
    let mut seen: HashMap<String, Option<Value>> = HashMap::new();
    while let Some(ev) = stream.next().await {
        let (rq, deleted) = match ev {
            Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o)) => (o, false),
            Ok(watcher::Event::Delete(o)) => (o, true),
            Ok(_) => continue,
            Err(e) => {
                tracing::debug!(error = %e, "resource quota watch error");
                tokio::time::sleep(RETRY).await;
                continue;
            }
        };
        let uid = rq.metadata.uid.clone().unwrap_or_default();
        let hard = rq.spec.as_ref().and_then(|s| serde_json::to_value(&s.hard).ok());
        let ns = rq.metadata.namespace.clone().unwrap_or_default();
        let changed = if deleted {
            if seen.remove(&uid).is_some() {
                let mut counts = with_quotas.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(n) = counts.get_mut(&ns) {
                    *n -= 1;
                    if *n == 0 {
                        counts.remove(&ns);
                    }
                }
            }
            true
        } else {
            let missing_status = rq.status.as_ref().is_none_or(|s| s.hard.is_none());
            let before = seen.insert(uid, hard.clone());
            if before.is_none() {
                *with_quotas.lock().unwrap_or_else(|e| e.into_inner()).entry(ns.clone()).or_default() += 1;
            }
            before != Some(hard) || missing_status
        };
        if changed
            && let Some(ns) = rq.metadata.namespace
            && tx.send(ns).is_err()
        {
            return;
        }
    }
}

/// What one pass over a namespace has looked up: resources by (group, plural), and
/// the objects listed of each.
#[derive(Default)]
struct Lookups {
    resources: HashMap<(String, String), Option<ApiResource>>,
    objects: HashMap<(String, String), Vec<Value>>,
}

impl Lookups {
    async fn resource(&mut self, client: &kube::Client, group: &str, plural: &str) -> Option<ApiResource> {
        let key = (group.to_string(), plural.to_string());
        if let Some(found) = self.resources.get(&key) {
            return found.clone();
        }
        let found = match (group, plural) {
            ("", "pods") => Some(ApiResource::erase::<Pod>(&())),
            ("", "services") => Some(ApiResource::erase::<Service>(&())),
            ("", "persistentvolumeclaims") => Some(ApiResource::erase::<PersistentVolumeClaim>(&())),
            ("", "configmaps") => Some(ApiResource::erase::<ConfigMap>(&())),
            ("", "secrets") => Some(ApiResource::erase::<Secret>(&())),
            ("", "replicationcontrollers") => Some(ApiResource::erase::<ReplicationController>(&())),
            ("", "resourcequotas") => Some(ApiResource::erase::<ResourceQuota>(&())),
            ("", _) => Some(ApiResource {
                group: String::new(),
                version: "v1".into(),
                api_version: "v1".into(),
                kind: String::new(),
                plural: plural.to_string(),
            }),
            _ => discover(client, group, plural).await,
        };
        self.resources.insert(key, found.clone());
        found
    }

    async fn objects(&mut self, client: &kube::Client, ns: &str, ar: &ApiResource) -> Result<&[Value], Error> {
        let key = (ar.group.clone(), ar.plural.clone());
        if !self.objects.contains_key(&key) {
            let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, ar);
            let list = api.list(&ListParams::default()).await?;
            let items = list.items.iter().map(serde_json::to_value).collect::<Result<Vec<_>, _>>()?;
            self.objects.insert(key.clone(), items);
        }
        Ok(self.objects.get(&key).map(Vec::as_slice).unwrap_or_default())
    }
}

/// A namespaced resource that can be listed, found by discovery.
async fn discover(client: &kube::Client, group: &str, plural: &str) -> Option<ApiResource> {
    let discovery = Discovery::new(client.clone()).filter(&[group]).run().await.ok()?;
    for g in discovery.groups() {
        for (ar, caps) in g.recommended_resources() {
            if ar.plural == plural && caps.scope == kube::discovery::Scope::Namespaced {
                return Some(ar);
            }
        }
    }
    None
}

/// Recount every quota of a namespace and write the statuses that changed.
async fn sync_namespace(client: &kube::Client, ns: &str) -> Result<(), Error> {
    let api: Api<ResourceQuota> = Api::namespaced(client.clone(), ns);
    let quotas = api.list(&ListParams::default()).await?;
    if quotas.items.is_empty() {
        return Ok(());
    }
    let mut lookups = Lookups::default();
    for rq in quotas.items {
        let quota = serde_json::to_value(&rq)?;
        let Some(status) = status_of(client, ns, &quota, &mut lookups).await? else { continue };
        let mut body = quota.clone();
        body["apiVersion"] = "v1".into();
        body["kind"] = "ResourceQuota".into();
        body["status"] = status;
        let name = rq.metadata.name.clone().unwrap_or_default();
        let updated: ResourceQuota = serde_json::from_value(body)?;
        api.replace_status(&name, &PostParams::default(), &updated).await?;
    }
    Ok(())
}

/// The status a quota should have, or `None` when it has it already.
async fn status_of(
    client: &kube::Client,
    ns: &str,
    quota: &Value,
    lookups: &mut Lookups,
) -> Result<Option<Value>, Error> {
    let hard = resource_list(&quota["spec"]["hard"]);
    let hard_names: Vec<String> = hard.keys().cloned().collect();
    let mut used = resource_list(&quota["status"]["used"]);
    for (k, v) in calculate_usage(client, ns, quota, &hard_names, lookups).await? {
        used.insert(k, v);
    }
    let used = mask(&used, &hard_names);
    let status = &quota["status"];
    let unchanged = status.get("hard").is_some_and(|h| h.is_object())
        && resource_list(&status["hard"]) == hard
        && status.get("used").is_some_and(|u| u.is_object())
        && resource_list(&status["used"]) == used;
    if unchanged {
        return Ok(None);
    }
    let spec_hard = quota["spec"]["hard"].clone();
    let hard_json = if spec_hard.is_object() { spec_hard } else { json!({}) };
    Ok(Some(json!({"hard": hard_json, "used": to_json(&used)})))
}

/// The evaluators that may count something for these quota names, with the resource each counts.
fn evaluators(hard_names: &[String]) -> Vec<(Evaluator, String, String)> {
    let mut out: Vec<(Evaluator, String, String)> = vec![
        (Evaluator::Pods, String::new(), "pods".into()),
        (Evaluator::Services, String::new(), "services".into()),
        (Evaluator::Claims, String::new(), "persistentvolumeclaims".into()),
    ];
    for name in hard_names {
        let (group, plural) = match counted_resource(name) {
            Some(gr) => gr,
            None if matches!(name.as_str(), "configmaps" | "secrets" | "resourcequotas" | "replicationcontrollers") => {
                (String::new(), name.clone())
            }
            None => continue,
        };
        if !out.iter().any(|(_, g, p)| *g == group && *p == plural) {
            out.push((Evaluator::for_resource(&group, &plural), group, plural));
        }
    }
    out
}

/// The usage of the namespace's objects for the quota's resources (`quota.CalculateUsage`):
/// every tracked resource starts at zero; only objects in all the quota's scopes count.
async fn calculate_usage(
    client: &kube::Client,
    ns: &str,
    quota: &Value,
    hard_names: &[String],
    lookups: &mut Lookups,
) -> Result<ResourceList, Error> {
    let scopes = scope_selectors(quota);
    let now = jiff::Timestamp::now();
    let mut total = ResourceList::new();
    for (ev, group, plural) in evaluators(hard_names) {
        let tracked = ev.matching_resources(hard_names);
        if tracked.is_empty() {
            continue;
        }
        let Some(ar) = lookups.resource(client, &group, &plural).await else { continue };
        let mut used: ResourceList =
            tracked.iter().map(|r| (r.clone(), crate::registry::quantity::Quantity::from_units(0))).collect();
        // A resource that cannot be listed is left out, as the real controller does.
        let objects = match lookups.objects(client, ns, &ar).await {
            Ok(objects) => objects,
            Err(e) => {
                tracing::debug!(resource = %plural, error = %e, "listing for quota usage failed");
                continue;
            }
        };
        for obj in objects {
            if scopes.iter().all(|s| ev.matches_scope(s, obj)) {
                used = add(&used, &ev.usage(obj, now));
            }
        }
        total = add(&total, &mask(&used, &tracked));
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evaluators_for_names() {
        let names: Vec<String> =
            ["pods", "configmaps", "count/secrets", "count/deployments.apps", "count/pods", "requests.cpu"]
                .iter()
                .map(|s| s.to_string())
                .collect();
        let evs = evaluators(&names);
        let resources: Vec<(String, String)> = evs.iter().map(|(_, g, p)| (g.clone(), p.clone())).collect();
        assert_eq!(
            resources,
            vec![
                ("".into(), "pods".into()),
                ("".into(), "services".into()),
                ("".into(), "persistentvolumeclaims".into()),
                ("".into(), "configmaps".into()),
                ("".into(), "secrets".into()),
                ("apps".into(), "deployments".into()),
            ]
        );
        assert_eq!(evs[3].0.matching_resources(&names), vec!["configmaps".to_string()]);
        assert_eq!(evs[4].0.matching_resources(&names), vec!["count/secrets".to_string()]);
    }
}
