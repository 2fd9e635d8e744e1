//! The scheduler: binds pending pods to nodes through the `binding` subresource,
//! as kube-scheduler's default profile does. A pod that fits nowhere stays
//! Pending with `PodScheduled=False` and a `FailedScheduling` event saying why,
//! and is tried again when the cluster changes (with a short back-off).

pub mod cache;
pub mod plugins;
pub mod resources;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Binding, Namespace, Node, ObjectReference, Pod};
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use rand::seq::IndexedRandom;
use serde_json::json;
use tokio::sync::mpsc;

use cache::snapshot;
use plugins::{NamespaceLabels, filter, score, unschedulable_message};

/// The scheduler name pods ask for by default.
pub const DEFAULT_SCHEDULER: &str = "default-scheduler";

/// Back-off of an unschedulable pod: 1 s doubling to 10 s (kube-scheduler's defaults).
const BACKOFF_START: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(10);

struct Backoff {
    next: Instant,
    delay: Duration,
    last_message: String,
    last_event: Option<Instant>,
}

/// Run until the process ends.
pub async fn run(client: kube::Client) {
    let (kick_tx, mut kick) = mpsc::channel::<()>(1);
    let pods = reflect::<Pod>(client.clone(), kick_tx.clone());
    let nodes = reflect::<Node>(client.clone(), kick_tx.clone());
    let namespaces = reflect::<Namespace>(client.clone(), kick_tx);
    for s in [
        pods.wait_until_ready().await.is_ok(),
        nodes.wait_until_ready().await.is_ok(),
        namespaces.wait_until_ready().await.is_ok(),
    ] {
        if !s {
            return;
        }
    }
    let mut backoff: HashMap<String, Backoff> = HashMap::new();
    // Pods bound by us that our watch has not shown bound yet: uid → (node, pod).
    let mut assumed: HashMap<String, (String, Pod)> = HashMap::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = kick.recv() => {}
            _ = tick.tick() => {}
        }
        let all_pods: Vec<Pod> = pods.state().iter().map(|p| (**p).clone()).collect();
        let all_nodes: Vec<Node> = nodes.state().iter().map(|n| (**n).clone()).collect();
        let ns_labels: NamespaceLabels = namespaces
            .state()
            .iter()
            .map(|n| (n.metadata.name.clone().unwrap_or_default(), n.metadata.labels.clone().unwrap_or_default()))
            .collect();
        assumed.retain(|uid, _| {
            all_pods.iter().any(|p| {
                p.metadata.uid.as_deref() == Some(uid.as_str())
                    && p.spec.as_ref().and_then(|s| s.node_name.as_ref()).is_none()
            })
        });
        let now = Instant::now();
        let mut pending: Vec<&Pod> = all_pods
            .iter()
            .filter(|p| needs_scheduling(p))
            .filter(|p| !assumed.contains_key(p.metadata.uid.as_deref().unwrap_or("")))
            .filter(|p| backoff.get(p.metadata.uid.as_deref().unwrap_or("")).is_none_or(|b| b.next <= now))
            .collect();
        pending.sort_by_key(|p| {
            let prio = p.spec.as_ref().and_then(|s| s.priority).unwrap_or(0);
            (std::cmp::Reverse(prio), p.metadata.creation_timestamp.as_ref().map(|t| t.0))
        });
        let live: Vec<String> = all_pods.iter().filter_map(|p| p.metadata.uid.clone()).collect();
        backoff.retain(|uid, _| live.contains(uid));
        for pod in pending {
            let uid = pod.metadata.uid.clone().unwrap_or_default();
            let infos = snapshot(&all_nodes, &all_pods, &assumed);
            match choose(pod, &infos, &ns_labels) {
                Ok(node) => match bind(&client, pod, &node).await {
                    Ok(()) => {
                        backoff.remove(&uid);
                        let mut bound = pod.clone();
                        if let Some(s) = bound.spec.as_mut() {
                            s.node_name = Some(node.clone());
                        }
                        assumed.insert(uid, (node, bound));
                    }
                    Err(e) => tracing::debug!(pod = ?pod.metadata.name, error = %e, "binding failed; will retry"),
                },
                Err(message) => {
                    let b = backoff.entry(uid).or_insert(Backoff {
                        next: now,
                        delay: BACKOFF_START / 2,
                        last_message: String::new(),
                        last_event: None,
                    });
                    b.delay = (b.delay * 2).min(BACKOFF_MAX);
                    b.next = Instant::now() + b.delay;
                    let repeat = b.last_message == message
                        && b.last_event.is_some_and(|t| t.elapsed() < Duration::from_secs(60));
                    if !repeat {
                        b.last_message = message.clone();
                        b.last_event = Some(Instant::now());
                        report_unschedulable(&client, pod, &message).await;
                    }
                }
            }
        }
    }
}

/// Start a reflector for a kind; every change kicks the scheduling loop.
fn reflect<K>(client: kube::Client, kick: mpsc::Sender<()>) -> Store<K>
where
    K: kube::Resource<DynamicType = ()> + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + Sync + 'static,
{
    let (reader, writer) = reflector::store();
    let api: Api<K> = Api::all(client);
    let stream =
        reflector::reflector(writer, watcher(api, watcher::Config::default())).default_backoff().touched_objects();
    tokio::spawn(async move {
        futures::pin_mut!(stream);
        while let Some(ev) = stream.next().await {
            if ev.is_ok() {
                let _ = kick.try_send(());
            }
        }
    });
    reader
}

fn needs_scheduling(pod: &Pod) -> bool {
    let Some(spec) = pod.spec.as_ref() else { return false };
    let ours = spec.scheduler_name.as_deref().is_none_or(|s| s.is_empty() || s == DEFAULT_SCHEDULER);
    let unbound = spec.node_name.as_deref().is_none_or(str::is_empty);
    let gated = spec.scheduling_gates.as_ref().is_some_and(|g| !g.is_empty());
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref()).unwrap_or("");
    ours && unbound && !gated && pod.metadata.deletion_timestamp.is_none() && !matches!(phase, "Succeeded" | "Failed")
}

/// Pick a node, or say why none fits.
fn choose(pod: &Pod, infos: &[cache::NodeInfo], ns: &NamespaceLabels) -> Result<String, String> {
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    let mut feasible = Vec::new();
    for n in infos {
        let why = filter(pod, n, infos, ns);
        if why.is_empty() {
            feasible.push(n);
        } else {
            for r in why {
                *reasons.entry(r).or_default() += 1;
            }
        }
    }
    if feasible.is_empty() {
        return Err(unschedulable_message(infos.len(), &reasons));
    }
    let scored: Vec<(f64, &str)> = feasible.iter().map(|n| (score(pod, n, infos, ns), n.name())).collect();
    let best = scored.iter().map(|(s, _)| *s).fold(f64::MIN, f64::max);
    let top: Vec<&str> = scored.iter().filter(|(s, _)| (best - s).abs() < 1e-9).map(|(_, n)| *n).collect();
    Ok(top.choose(&mut rand::rng()).copied().unwrap_or(top[0]).to_string())
}

async fn bind(client: &kube::Client, pod: &Pod, node: &str) -> Result<(), kube::Error> {
    let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
    let name = pod.metadata.name.as_deref().unwrap_or("");
    let api: Api<Pod> = Api::namespaced(client.clone(), ns);
    let binding = Binding {
        metadata: ObjectMeta { name: Some(name.to_string()), uid: pod.metadata.uid.clone(), ..Default::default() },
        target: ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Node".into()),
            name: Some(node.to_string()),
            ..Default::default()
        },
    };
    api.create_subresource::<Binding, serde_json::Value>("binding", name, &PostParams::default(), &binding).await?;
    event(client, pod, "Normal", "Scheduled", "Binding", format!("Successfully assigned {ns}/{name} to {node}")).await;
    Ok(())
}

async fn report_unschedulable(client: &kube::Client, pod: &Pod, message: &str) {
    let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
    let name = pod.metadata.name.as_deref().unwrap_or("");
    let api: Api<Pod> = Api::namespaced(client.clone(), ns);
    let status = json!({"status": {"conditions": [{
        "type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message,
        "lastProbeTime": null, "lastTransitionTime": crate::registry::meta::now_rfc3339(),
    }]}});
    if let Err(e) = api.patch_status(name, &PatchParams::default(), &Patch::Strategic(&status)).await {
        tracing::debug!(pod = name, error = %e, "recording PodScheduled=False failed");
    }
    event(client, pod, "Warning", "FailedScheduling", "Scheduling", message.to_string()).await;
}

/// Record an events.k8s.io/v1 Event about a pod, reported by the default scheduler.
async fn event(client: &kube::Client, pod: &Pod, kind: &str, reason: &str, action: &str, note: String) {
    let ns = pod.metadata.namespace.clone().unwrap_or_else(|| "default".into());
    let name = pod.metadata.name.clone().unwrap_or_default();
    let now = jiff::Timestamp::now();
    let ev = Event {
        metadata: ObjectMeta {
            name: Some(format!("{name}.{:x}", now.as_nanosecond())),
            namespace: Some(ns.clone()),
            ..Default::default()
        },
        event_time: Some(MicroTime(now)),
        reporting_controller: Some(DEFAULT_SCHEDULER.into()),
        reporting_instance: Some(DEFAULT_SCHEDULER.into()),
        action: Some(action.into()),
        reason: Some(reason.into()),
        type_: Some(kind.into()),
        note: Some(note),
        regarding: Some(ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Pod".into()),
            name: Some(name),
            namespace: Some(ns.clone()),
            uid: pod.metadata.uid.clone(),
            resource_version: pod.metadata.resource_version.clone(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let api: Api<Event> = Api::namespaced(client.clone(), &ns);
    if let Err(e) = api.create(&PostParams::default(), &ev).await {
        tracing::debug!(error = %e, "recording a scheduler event failed");
    }
}
