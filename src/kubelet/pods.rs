//! The pods of this node: a watch on `spec.nodeName=<node>` and the static pods of the
//! manifests folder (`static_pods.rs`), feeding one worker per pod, keyed by uid. Mirror
//! pods in the API are never run: they only stand for static pods. The static pods are read
//! once before the watch starts, so that after the first full list, anything of ours in the
//! runtime or on disk that belongs to neither a listed pod nor a static pod (a pod deleted
//! while we were down) is removed, and a restarted coracle adopts its static pods' containers.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::Api;
use kube::runtime::watcher::{self, Event};
use tokio::sync::{mpsc, watch};

use super::Kubelet;
use super::container::LABEL_POD_UID;
use super::sandbox;
use super::static_pods::{self, Update};

type Workers = HashMap<String, watch::Sender<Option<Pod>>>;

/// Watch this node's pods and the static pod manifests, and keep a worker per pod until the
/// kubelet stops.
pub async fn run(k: Arc<Kubelet>) {
    let mut workers: Workers = HashMap::new();
    let mut source = static_pods::Source::new(static_pods::manifest_dir(&k.cfg.data_dir), &k.cfg.node_name);
    for pod in source.load(&k).await.into_values() {
        start_static(&k, &mut workers, pod);
    }
    let (static_tx, mut static_rx) = mpsc::channel(64);
    tokio::spawn(source.run(k.clone(), static_tx));
    tokio::spawn(static_pods::run_mirrors(k.clone()));

    let api: Api<Pod> = Api::all(k.client.clone());
    let cfg = watcher::Config::default().fields(&format!("spec.nodeName={}", k.cfg.node_name));
    let mut stream = watcher::watcher(api, cfg).boxed();
    let mut listing: HashSet<String> = HashSet::new();
    loop {
        tokio::select! {
            ev = stream.next() => {
                let Some(ev) = ev else { break };
                on_api_event(&k, &mut workers, &mut listing, ev).await;
            }
            Some(update) = static_rx.recv() => match update {
                Update::Upsert(pod) => start_static(&k, &mut workers, pod),
                Update::Remove(pod) => stop_static(&mut workers, pod),
            },
        }
        workers.retain(|_, tx| !tx.is_closed());
    }
}

async fn on_api_event(
    k: &Arc<Kubelet>,
    workers: &mut Workers,
    listing: &mut HashSet<String>,
    ev: Result<Event<Pod>, watcher::Error>,
) {
    match ev {
        Ok(Event::Init) => listing.clear(),
        Ok(Event::InitApply(pod)) | Ok(Event::Apply(pod)) if static_pods::is_mirror(&pod) => {
            k.static_pods.observe_mirror(&pod);
        }
        Ok(Event::Delete(pod)) if static_pods::is_mirror(&pod) => k.static_pods.mirror_deleted(&pod),
        Ok(Event::InitApply(pod)) => {
            listing.insert(pod.metadata.uid.clone().unwrap_or_default());
            dispatch(k, workers, pod);
        }
        Ok(Event::InitDone) => {
            // Pods that vanished while the watch was down (static pods are not the API's).
            let statics = k.static_pods.live_uids();
            let gone: Vec<String> =
                workers.keys().filter(|u| !listing.contains(*u) && !statics.contains(*u)).cloned().collect();
            for uid in gone {
                if let Some(tx) = workers.remove(&uid) {
                    let _ = tx.send(None);
                }
            }
            let mut live = listing.clone();
            live.extend(statics);
            cleanup_orphans(k, &live).await;
        }
        Ok(Event::Apply(pod)) => dispatch(k, workers, pod),
        Ok(Event::Delete(pod)) => {
            let uid = pod.metadata.uid.clone().unwrap_or_default();
            if let Some(tx) = workers.remove(&uid) {
                let _ = tx.send(None);
            }
        }
        Err(e) => {
            tracing::debug!(error = %e, "pod watch error; retrying");
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    }
}

/// Start the worker of a static pod, once any older pod of its name has terminated.
fn start_static(k: &Arc<Kubelet>, workers: &mut Workers, pod: Pod) {
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    if workers.get(&uid).is_some_and(|tx| !tx.is_closed()) {
        return;
    }
    let ticket = k.static_pods.worker_added(&pod);
    let (tx, rx) = watch::channel(Some(pod));
    workers.insert(uid.clone(), tx);
    let k = k.clone();
    tokio::spawn(async move {
        /// Tells the static pods the worker ended, even if it panicked.
        struct Done(Arc<Kubelet>, u64);
        impl Drop for Done {
            fn drop(&mut self) {
                self.0.static_pods.worker_done(self.1);
            }
        }
        let _done = Done(k.clone(), ticket);
        k.static_pods.wait_turn(ticket).await;
        super::worker::run(k, uid, rx).await;
    });
}

/// Stop a static pod whose manifest is gone or changed: a graceful deletion, with the
/// pod's grace period, as for a pod deleted through the API.
fn stop_static(workers: &mut Workers, mut pod: Pod) {
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    let Some(tx) = workers.remove(&uid) else { return };
    let grace = pod.spec.as_ref().and_then(|s| s.termination_grace_period_seconds).unwrap_or(30);
    pod.metadata.deletion_timestamp = Some(Time(jiff::Timestamp::now()));
    pod.metadata.deletion_grace_period_seconds = Some(grace);
    let _ = tx.send(Some(pod));
}

fn dispatch(k: &Arc<Kubelet>, workers: &mut Workers, pod: Pod) {
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    if let Some(tx) = workers.get(&uid)
        && !tx.is_closed()
    {
        let _ = tx.send(Some(pod));
        return;
    }
    let (tx, rx) = watch::channel(Some(pod));
    workers.insert(uid.clone(), tx);
    tokio::spawn(super::worker::run(k.clone(), uid, rx));
}

/// Remove containers and sandboxes of pods that no longer exist.
async fn cleanup_orphans(k: &Arc<Kubelet>, live: &HashSet<String>) {
    let k = k.clone();
    let live = live.clone();
    let _ = tokio::task::spawn_blocking(move || {
        for s in k.runtime.list().unwrap_or_default() {
            match s.labels.get(LABEL_POD_UID) {
                Some(uid) if !live.contains(uid) => {
                    tracing::info!(id = %s.id, pod_uid = %uid, "removing the container of a pod that is gone");
                    let _ = k.runtime.stop(&s.id, std::time::Duration::from_secs(2));
                    let _ = k.runtime.remove(&s.id, true);
                }
                _ => {}
            }
        }
        for uid in sandbox::list(&k.sandbox) {
            if !live.contains(&uid) {
                tracing::info!(pod_uid = %uid, "removing the sandbox of a pod that is gone");
                let _ = sandbox::stop(&k.sandbox, &k.cni, &uid);
                sandbox::remove_dir(&k.sandbox, &uid);
                super::container::remove_pod_cgroups(&k.paths, &uid);
            }
        }
        let prefix = sandbox::netns_prefix(&k.sandbox);
        for ns in crate::network::netns::list(&prefix) {
            let uid = ns.trim_start_matches(&prefix).to_string();
            if !live.contains(&uid) {
                let _ = k.cni.del(&uid, &crate::network::netns::path(&ns));
                let _ = crate::network::netns::delete(&ns);
            }
        }
    })
    .await;
}
