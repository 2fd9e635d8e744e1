//! The pods bound to this node: a watch on `spec.nodeName=<node>` feeding one worker per
//! pod. After the first full list, anything of ours in the runtime or on disk that belongs
//! to no listed pod (a pod deleted while we were down) is removed.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use kube::runtime::watcher::{self, Event};
use tokio::sync::watch;

use super::Kubelet;
use super::container::LABEL_POD_UID;
use super::sandbox;

/// Watch this node's pods and keep a worker per pod until the kubelet stops.
pub async fn run(k: Arc<Kubelet>) {
    let api: Api<Pod> = Api::all(k.client.clone());
    let cfg = watcher::Config::default().fields(&format!("spec.nodeName={}", k.cfg.node_name));
    let mut stream = watcher::watcher(api, cfg).boxed();
    let mut workers: HashMap<String, watch::Sender<Option<Pod>>> = HashMap::new();
    let mut listing: HashSet<String> = HashSet::new();
    while let Some(ev) = stream.next().await {
        match ev {
            Ok(Event::Init) => listing.clear(),
            Ok(Event::InitApply(pod)) => {
                listing.insert(pod.metadata.uid.clone().unwrap_or_default());
                dispatch(&k, &mut workers, pod);
            }
            Ok(Event::InitDone) => {
                // Pods that vanished while the watch was down.
                let gone: Vec<String> = workers.keys().filter(|u| !listing.contains(*u)).cloned().collect();
                for uid in gone {
                    if let Some(tx) = workers.remove(&uid) {
                        let _ = tx.send(None);
                    }
                }
                cleanup_orphans(&k, &listing).await;
            }
            Ok(Event::Apply(pod)) => dispatch(&k, &mut workers, pod),
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
        workers.retain(|_, tx| !tx.is_closed());
    }
}

fn dispatch(k: &Arc<Kubelet>, workers: &mut HashMap<String, watch::Sender<Option<Pod>>>, pod: Pod) {
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
