//! Static pods: pods this node runs because a manifest file says so, not because the API
//! bound them here, as the real kubelet's file source (`pkg/kubelet/config/file.go`) and
//! mirror client (`pkg/kubelet/pod/mirror_client.go`) do.
//!
//! - [`Source`] reads `<data-dir>/agent/pod-manifests/` (`*.yaml`, `*.yml`, `*.json`, one
//!   Pod a file, dotfiles ignored) at start and then every 20 s (the kubelet's
//!   `fileCheckFrequency`), and sooner when a file's size, mtime or inode changed and stayed
//!   so for a second (a cheap stat poll in place of inotify, which also skips half-written
//!   files). A manifest becomes a static pod as the kubelet makes it: the scheme defaults of
//!   a v1 Pod (the registry's defaulting, without the admission-only service account), a
//!   toleration of every `NoExecute` taint, name `<name>-<node>`, namespace `default` when
//!   unset, `spec.nodeName` = this node, uid = the hex hash of the pod, the node and the
//!   file (stable across restarts, so a restarted coracle adopts the running containers),
//!   and the `kubernetes.io/config.{hash,source,seen}` annotations. A manifest that does not
//!   parse or validate is logged (naming the file) and skipped; the others run.
//! - The pod loop (`pods.rs`) runs each static pod through the ordinary per-pod worker,
//!   keyed by that uid. A new version of a static pod (same name, new hash) starts only once
//!   the previous one has terminated, as the kubelet's pod workers do.
//! - [`run_mirrors`] keeps a mirror pod in the API for every static pod whose worker runs:
//!   same name, namespace, labels, annotations and spec, plus `kubernetes.io/config.mirror:
//!   <hash>` and an ownerReference to this Node. A mirror with another hash, or one being
//!   deleted (a user's `kubectl delete`), is deleted with grace 0 and made again a second
//!   later (the real kubelet makes it at once; the pause lets the `kubectl delete` that waits
//!   for the pod see its name vanish instead of finding the new mirror and waiting on it); a mirror
//!   whose static pod is gone is deleted once that pod has finished terminating. The
//!   worker writes the static pod's status to its mirror ([`StaticPods::mirror_uid`]).
//!   Mirror pods themselves are never run.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Node, Pod, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, DeleteParams, ListParams, PostParams, Preconditions};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::{Notify, mpsc};

use super::Kubelet;

/// The static pod's hash (its uid).
pub const CONFIG_HASH: &str = "kubernetes.io/config.hash";
/// Where a pod came from: `file` for static pods (`api` for the others, left unset here).
pub const CONFIG_SOURCE: &str = "kubernetes.io/config.source";
/// When this kubelet first saw the pod.
pub const CONFIG_SEEN: &str = "kubernetes.io/config.seen";
/// On a mirror pod: the hash of the static pod it mirrors.
pub const CONFIG_MIRROR: &str = "kubernetes.io/config.mirror";

/// How often the manifests are read again in full (the kubelet's `fileCheckFrequency`).
const FILE_CHECK: Duration = Duration::from_secs(20);
/// How often the manifests' sizes and mtimes are looked at.
const STAT_POLL: Duration = Duration::from_secs(1);
/// How often the mirror pods are checked when nothing asked for it sooner.
const MIRROR_RESYNC: Duration = Duration::from_secs(10);
/// The kubelet's `maxConfigLength`.
const MAX_MANIFEST: u64 = 10 << 20;

/// The folder of static pod manifests.
pub fn manifest_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("agent").join("pod-manifests")
}

fn annotation<'a>(pod: &'a Pod, key: &str) -> Option<&'a str> {
    pod.metadata.annotations.as_ref().and_then(|a| a.get(key)).map(String::as_str)
}

/// A pod that came from a manifest (`kubetypes.IsStaticPod`).
pub fn is_static(pod: &Pod) -> bool {
    annotation(pod, CONFIG_SOURCE).is_some_and(|s| s != "api")
}

/// A mirror pod in the API (`kubetypes.IsMirrorPod`).
pub fn is_mirror(pod: &Pod) -> bool {
    annotation(pod, CONFIG_MIRROR).is_some()
}

/// (namespace, name).
fn full_name(pod: &Pod) -> (String, String) {
    (pod.metadata.namespace.clone().unwrap_or_default(), pod.metadata.name.clone().unwrap_or_default())
}

fn uid(pod: &Pod) -> String {
    pod.metadata.uid.clone().unwrap_or_default()
}

// ---------------------------------------------------------------- shared state

/// What the manifest source, the pod loop, the mirror loop and the workers share.
#[derive(Default)]
pub struct StaticPods {
    state: Mutex<State>,
    /// Wakes the mirror loop.
    resync: Notify,
    /// Wakes static pod workers waiting for an older pod of the same name to finish.
    workers_changed: Notify,
}

#[derive(Default)]
struct State {
    /// The static pods the manifests describe, by uid.
    desired: BTreeMap<String, Pod>,
    /// Mirror pods in the API that are not being deleted: static pod hash → mirror uid.
    mirrors: HashMap<String, String>,
    /// Workers of static pods, terminating ones included, by the order they were made in
    /// (a pod can come back with the same uid while its old worker still terminates).
    workers: BTreeMap<u64, WorkerEntry>,
    next_seq: u64,
}

struct WorkerEntry {
    uid: String,
    name: (String, String),
    started: bool,
}

impl StaticPods {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The uid of the mirror pod of the static pod `hash`, if the API has one.
    pub fn mirror_uid(&self, hash: &str) -> Option<String> {
        self.lock().mirrors.get(hash).cloned()
    }

    /// Static pods this node has or still runs: their containers are not orphans.
    pub fn live_uids(&self) -> HashSet<String> {
        let st = self.lock();
        st.desired.keys().chain(st.workers.values().map(|w| &w.uid)).cloned().collect()
    }

    /// Check the mirror pods soon.
    pub fn request_resync(&self) {
        self.resync.notify_one();
    }

    fn set_desired(&self, pods: &BTreeMap<String, Pod>) {
        self.lock().desired = pods.clone();
        self.request_resync();
    }

    /// A mirror pod the pod watch saw added or changed.
    pub fn observe_mirror(&self, mirror: &Pod) {
        let Some(hash) = annotation(mirror, CONFIG_MIRROR) else { return };
        let mirror_uid = uid(mirror);
        let mut st = self.lock();
        if mirror.metadata.deletion_timestamp.is_some() {
            if st.mirrors.get(hash) == Some(&mirror_uid) {
                st.mirrors.remove(hash);
            }
            drop(st);
            // Someone deletes the mirror: make it again.
            self.request_resync();
        } else if st.mirrors.get(hash) != Some(&mirror_uid) {
            st.mirrors.insert(hash.to_string(), mirror_uid);
        }
    }

    /// A mirror pod the pod watch saw deleted.
    pub fn mirror_deleted(&self, mirror: &Pod) {
        let Some(hash) = annotation(mirror, CONFIG_MIRROR) else { return };
        let mut st = self.lock();
        if st.mirrors.get(hash) == Some(&uid(mirror)) {
            st.mirrors.remove(hash);
        }
        drop(st);
        self.request_resync();
    }

    /// A worker for the static pod `pod` was made (it may still wait for its turn); returns
    /// its ticket for [`StaticPods::wait_turn`] and [`StaticPods::worker_done`].
    pub fn worker_added(&self, pod: &Pod) -> u64 {
        let mut st = self.lock();
        st.next_seq += 1;
        let seq = st.next_seq;
        st.workers.insert(seq, WorkerEntry { uid: uid(pod), name: full_name(pod), started: false });
        seq
    }

    /// Wait until every older worker of a static pod of the same name has finished (so a
    /// changed manifest's pod never overlaps the one it replaces: same ports, same files).
    pub async fn wait_turn(&self, ticket: u64) {
        loop {
            let changed = self.workers_changed.notified();
            {
                let mut st = self.lock();
                let Some(me) = st.workers.get(&ticket) else { return };
                let name = me.name.clone();
                let blocked = st.workers.range(..ticket).any(|(_, w)| w.name == name);
                if !blocked {
                    if let Some(me) = st.workers.get_mut(&ticket) {
                        me.started = true;
                    }
                    drop(st);
                    self.request_resync();
                    return;
                }
            }
            let _ = tokio::time::timeout(Duration::from_secs(1), changed).await;
        }
    }

    /// The worker of a static pod ended.
    pub fn worker_done(&self, ticket: u64) {
        self.lock().workers.remove(&ticket);
        self.workers_changed.notify_waiters();
        self.request_resync();
    }

    fn snapshot(&self) -> Snapshot {
        let st = self.lock();
        Snapshot {
            desired: st.desired.values().cloned().collect(),
            started: st.workers.values().filter(|w| w.started).map(|w| w.uid.clone()).collect(),
            running_names: st.workers.values().map(|w| w.name.clone()).collect(),
        }
    }

    fn replace_mirrors(&self, mirrors: &[Pod]) {
        let map = mirrors
            .iter()
            .filter(|m| m.metadata.deletion_timestamp.is_none())
            .filter_map(|m| Some((annotation(m, CONFIG_MIRROR)?.to_string(), uid(m))))
            .collect();
        self.lock().mirrors = map;
    }

    fn set_mirror(&self, hash: &str, mirror_uid: String) {
        self.lock().mirrors.insert(hash.to_string(), mirror_uid);
    }
}

struct Snapshot {
    desired: Vec<Pod>,
    started: HashSet<String>,
    running_names: HashSet<(String, String)>,
}

// ---------------------------------------------------------------- manifests

/// Turn one manifest into the static pod the kubelet makes of it (`tryDecodeSinglePod` and
/// `applyDefaults`), without the `config.seen` annotation.
pub fn parse_manifest(path: &Path, data: &[u8], node: &str) -> Result<Pod, String> {
    let text = std::str::from_utf8(data).map_err(|e| format!("not UTF-8: {e}"))?;
    let mut v: Value = serde_yaml_ng::from_str(text).map_err(|e| e.to_string())?;
    if !v.is_object() {
        return Err("not a Kubernetes object".into());
    }
    let (api_version, kind) = (v["apiVersion"].as_str().unwrap_or(""), v["kind"].as_str().unwrap_or(""));
    if kind.is_empty() || api_version.is_empty() {
        return Err("Object 'Kind' or 'apiVersion' is missing".into());
    }
    if kind != "Pod" || api_version != "v1" {
        return Err(format!("a {api_version} {kind}, not a v1 Pod"));
    }
    if v.pointer("/metadata/name").and_then(Value::as_str).is_none_or(str::is_empty) {
        return Err("metadata.name: Required value: name or generateName is required".into());
    }
    // The scheme defaults of a v1 Pod. The registry's defaulting also plays the admission
    // plugins that need no objects; of those, a static pod keeps none of the
    // ServiceAccount plugin's (the API never admits it), and the DefaultTolerationSeconds
    // ones are moot once it tolerates every NoExecute taint, as static pods do.
    let names_account = ["serviceAccountName", "serviceAccount"]
        .iter()
        .any(|k| v.pointer(&format!("/spec/{k}")).and_then(Value::as_str).is_some_and(|s| !s.is_empty()));
    if v.get("spec").is_none_or(|s| !s.is_object()) {
        v["spec"] = json!({});
    }
    let spec = &mut v["spec"];
    let tolerates_all = spec["tolerations"].as_array().is_some_and(|ts| {
        ts.iter().any(|t| {
            t["key"].as_str().unwrap_or("").is_empty()
                && t["operator"] == "Exists"
                && t["effect"] == "NoExecute"
                && t.get("tolerationSeconds").is_none_or(Value::is_null)
        })
    });
    if !tolerates_all {
        let all = json!({"operator": "Exists", "effect": "NoExecute"});
        match spec["tolerations"].as_array_mut() {
            Some(ts) => ts.push(all),
            None => spec["tolerations"] = json!([all]),
        }
    }
    crate::registry::defaults::apply_defaults("", "v1", "Pod", &mut v);
    if !names_account && let Some(spec) = v["spec"].as_object_mut() {
        spec.remove("serviceAccountName");
        spec.remove("serviceAccount");
    }
    if let Some(m) = v.as_object_mut() {
        m.remove("status");
    }
    let mut pod: Pod = serde_json::from_value(v).map_err(|e| e.to_string())?;
    pod.metadata.resource_version = None;
    if pod.metadata.uid.as_deref().is_none_or(str::is_empty) {
        let canonical = serde_json::to_vec(&pod).map_err(|e| e.to_string())?;
        let mut h = Sha256::new();
        h.update(&canonical);
        h.update(format!("host:{node}").as_bytes());
        h.update(format!("file:{}", path.display()).as_bytes());
        let digest = h.finalize();
        pod.metadata.uid = Some(digest.iter().take(16).map(|b| format!("{b:02x}")).collect());
    }
    let name = pod.metadata.name.clone().unwrap_or_default();
    pod.metadata.name = Some(format!("{name}-{}", node.to_lowercase()));
    if pod.metadata.namespace.as_deref().is_none_or(str::is_empty) {
        pod.metadata.namespace = Some("default".into());
    }
    pod.spec.get_or_insert_with(Default::default).node_name = Some(node.to_string());
    let hash = uid(&pod);
    let annotations = pod.metadata.annotations.get_or_insert_with(Default::default);
    annotations.insert(CONFIG_HASH.into(), hash);
    annotations.insert(CONFIG_SOURCE.into(), "file".into());
    pod.status = Some(PodStatus { phase: Some("Pending".into()), ..Default::default() });
    let as_value = serde_json::to_value(&pod).map_err(|e| e.to_string())?;
    let errs = crate::registry::validation::core::pod::validate_pod(&as_value, None);
    if !errs.is_empty() {
        return Err(format!("invalid pod: {}", crate::registry::field_error::aggregate(&errs)));
    }
    Ok(pod)
}

/// Whether a folder entry is a manifest: `*.yaml`, `*.yml` or `*.json`, no dotfile.
fn is_manifest_name(name: &str) -> bool {
    !name.starts_with('.') && [".yaml", ".yml", ".json"].iter().any(|ext| name.ends_with(ext))
}

/// What a stat of the folder says: (file, size, mtime, inode) of each manifest.
type Signature = Vec<(PathBuf, u64, i128, u64)>;

fn manifest_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_str().is_some_and(is_manifest_name))
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

fn signature(dir: &Path) -> Signature {
    use std::os::unix::fs::MetadataExt;
    manifest_files(dir)
        .into_iter()
        .filter_map(|p| {
            let m = std::fs::metadata(&p).ok()?;
            let mtime = i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec());
            Some((p, m.len(), mtime, m.ino()))
        })
        .collect()
}

/// Read every manifest; the ones that fail are logged and left out.
fn read_manifests(dir: &Path, node: &str) -> Vec<Pod> {
    let mut pods: Vec<Pod> = Vec::new();
    for path in manifest_files(dir) {
        let parsed = match std::fs::metadata(&path) {
            Ok(m) if m.len() > MAX_MANIFEST => Err(format!("larger than {MAX_MANIFEST} bytes")),
            Ok(_) => std::fs::read(&path).map_err(|e| e.to_string()).and_then(|b| parse_manifest(&path, &b, node)),
            Err(e) => Err(e.to_string()),
        };
        match parsed {
            Ok(pod) if pods.iter().any(|p| full_name(p) == full_name(&pod)) => {
                let (ns, name) = full_name(&pod);
                tracing::warn!(file = %path.display(), pod = %format!("{ns}/{name}"),
                    "skipping a static pod manifest: another manifest already defines a pod of that name");
            }
            Ok(pod) => pods.push(pod),
            Err(error) => {
                tracing::warn!(file = %path.display(), %error, "skipping a static pod manifest that does not parse");
            }
        }
    }
    pods
}

/// A change of the static pods, for the pod loop.
#[derive(Debug)]
pub enum Update {
    /// A static pod to run (new, or a new hash of a name).
    Upsert(Pod),
    /// A static pod whose manifest is gone or changed: stop it.
    Remove(Pod),
}

/// The manifests folder as a source of static pods.
pub struct Source {
    dir: PathBuf,
    node: String,
    /// When each static pod (by uid) was first seen.
    seen: HashMap<String, String>,
    current: BTreeMap<String, Pod>,
    loaded: Option<Signature>,
    last: Option<Signature>,
    loaded_at: Instant,
}

impl Source {
    /// A source for the folder, which is made if missing.
    pub fn new(dir: PathBuf, node: &str) -> Source {
        if let Err(e) = std::fs::create_dir_all(&dir) {
            tracing::warn!(dir = %dir.display(), error = %e, "cannot make the static pod manifests folder");
        }
        Source {
            dir,
            node: node.to_string(),
            seen: HashMap::new(),
            current: BTreeMap::new(),
            loaded: None,
            last: None,
            loaded_at: Instant::now(),
        }
    }

    /// Read the folder now; returns the static pods (also made known to `k.static_pods`).
    pub async fn load(&mut self, k: &Kubelet) -> BTreeMap<String, Pod> {
        let (dir, node) = (self.dir.clone(), self.node.clone());
        let (sig, pods) = tokio::task::spawn_blocking(move || (signature(&dir), read_manifests(&dir, &node)))
            .await
            .unwrap_or_default();
        let now = jiff::Timestamp::now().to_string();
        let mut out = BTreeMap::new();
        for mut pod in pods {
            let id = uid(&pod);
            let seen = self.seen.entry(id.clone()).or_insert_with(|| now.clone()).clone();
            pod.metadata.annotations.get_or_insert_with(Default::default).insert(CONFIG_SEEN.into(), seen);
            out.insert(id, pod);
        }
        self.seen.retain(|u, _| out.contains_key(u));
        self.loaded = Some(sig.clone());
        self.last = Some(sig);
        self.loaded_at = Instant::now();
        self.current = out.clone();
        k.static_pods.set_desired(&out);
        out
    }

    /// Watch the folder and send the changes until the pod loop is gone.
    pub async fn run(mut self, k: Arc<Kubelet>, tx: mpsc::Sender<Update>) {
        loop {
            tokio::time::sleep(STAT_POLL).await;
            if tx.is_closed() {
                return;
            }
            let dir = self.dir.clone();
            let sig = tokio::task::spawn_blocking(move || signature(&dir)).await.unwrap_or_default();
            // A change is read once it held still for a poll: no half-written files.
            let settled = self.loaded.as_ref() != Some(&sig) && self.last.as_ref() == Some(&sig);
            self.last = Some(sig);
            if !settled && self.loaded_at.elapsed() < FILE_CHECK {
                continue;
            }
            let before = std::mem::take(&mut self.current);
            let now = self.load(&k).await;
            for (id, pod) in &before {
                if !now.contains_key(id) {
                    let (ns, name) = full_name(pod);
                    tracing::info!(pod = %format!("{ns}/{name}"), uid = %id, "static pod removed");
                    if tx.send(Update::Remove(pod.clone())).await.is_err() {
                        return;
                    }
                }
            }
            for (id, pod) in &now {
                if !before.contains_key(id) {
                    let (ns, name) = full_name(pod);
                    tracing::info!(pod = %format!("{ns}/{name}"), uid = %id, "static pod added");
                    if tx.send(Update::Upsert(pod.clone())).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------- mirror pods

/// How long a mirror pod that was deleted to be replaced stays away.
const RECREATE_PAUSE: Duration = Duration::from_secs(1);

/// What the mirror loop remembers between passes.
#[derive(Default)]
struct MirrorLoop {
    /// The last error of creating the mirror of a static pod (by uid), logged once.
    errors: HashMap<String, String>,
    /// Names whose mirror was deleted to be replaced: not made again before then.
    paused: HashMap<(String, String), Instant>,
}

/// Keep the mirror pods in line with the static pods until the agent stops.
pub async fn run_mirrors(k: Arc<Kubelet>) {
    let mut state = MirrorLoop::default();
    loop {
        if let Err(e) = sync_mirrors(&k, &mut state).await {
            tracing::debug!(error = %e, "mirror pod sync failed; retrying");
        }
        let now = Instant::now();
        state.paused.retain(|_, until| *until > now);
        let wait = state.paused.values().map(|until| *until - now).min().unwrap_or(MIRROR_RESYNC).min(MIRROR_RESYNC);
        tokio::select! {
            _ = k.static_pods.resync.notified() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// The mirror pod of a static pod (`CreateMirrorPod`).
fn mirror_of(pod: &Pod, node: &Node) -> Pod {
    let mut m = pod.clone();
    let hash = uid(pod);
    m.metadata.uid = None;
    m.metadata.resource_version = None;
    m.metadata.creation_timestamp = None;
    m.metadata.annotations.get_or_insert_with(Default::default).insert(CONFIG_MIRROR.into(), hash);
    m.metadata.owner_references = Some(vec![OwnerReference {
        api_version: "v1".into(),
        kind: "Node".into(),
        name: node.metadata.name.clone().unwrap_or_default(),
        uid: node.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: None,
    }]);
    m.status = None;
    m
}

/// Delete a mirror pod at once, if it is still the one we saw (`DeleteMirrorPod`).
async fn delete_mirror(k: &Kubelet, m: &Pod) {
    let (ns, name) = full_name(m);
    let api: Api<Pod> = Api::namespaced(k.client.clone(), &ns);
    let dp = DeleteParams {
        grace_period_seconds: Some(0),
        preconditions: Some(Preconditions { uid: Some(uid(m)), resource_version: None }),
        ..Default::default()
    };
    match api.delete(&name, &dp).await {
        Ok(_) => tracing::info!(pod = %format!("{ns}/{name}"), "deleted a mirror pod"),
        Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => {}
        Err(e) => tracing::warn!(pod = %format!("{ns}/{name}"), error = %e, "deleting a mirror pod failed"),
    }
}

async fn sync_mirrors(k: &Kubelet, state: &mut MirrorLoop) -> Result<(), kube::Error> {
    let node_name = &k.cfg.node_name;
    let all: Api<Pod> = Api::all(k.client.clone());
    let on_node = all.list(&ListParams::default().fields(&format!("spec.nodeName={node_name}"))).await?;
    let mirrors: Vec<Pod> = on_node.items.into_iter().filter(is_mirror).collect();
    k.static_pods.replace_mirrors(&mirrors);
    let snap = k.static_pods.snapshot();
    let by_name: HashMap<(String, String), &Pod> = snap.desired.iter().map(|p| (full_name(p), p)).collect();
    // Names whose mirror is right, or must be left as it is for now.
    let mut settled: HashSet<(String, String)> = HashSet::new();
    for m in &mirrors {
        let key = full_name(m);
        let hash = annotation(m, CONFIG_MIRROR).unwrap_or("");
        match by_name.get(&key) {
            Some(sp) => {
                let sp_uid = uid(sp);
                // Its worker waits for the previous pod of the name: the mirror still shows that one.
                if !snap.started.contains(&sp_uid) {
                    settled.insert(key);
                    continue;
                }
                if hash == sp_uid && m.metadata.deletion_timestamp.is_none() {
                    settled.insert(key);
                    continue;
                }
                delete_mirror(k, m).await;
                state.paused.insert(key, Instant::now() + RECREATE_PAUSE);
            }
            // Its static pod is still terminating: the mirror goes once it is done.
            None if snap.running_names.contains(&key) => {}
            None => delete_mirror(k, m).await,
        }
    }
    let mut node: Option<Node> = None;
    for sp in &snap.desired {
        let (key, sp_uid) = (full_name(sp), uid(sp));
        let paused = state.paused.get(&key).is_some_and(|until| *until > Instant::now());
        if paused || settled.contains(&key) || !snap.started.contains(&sp_uid) {
            continue;
        }
        if node.is_none() {
            let nodes: Api<Node> = Api::all(k.client.clone());
            match nodes.get_opt(node_name).await? {
                Some(n) if n.metadata.deletion_timestamp.is_none() && n.metadata.uid.is_some() => node = Some(n),
                // No Node (yet), or it is being removed: no mirror pods.
                _ => return Ok(()),
            }
        }
        let Some(n) = node.as_ref() else { return Ok(()) };
        let api: Api<Pod> = Api::namespaced(k.client.clone(), &key.0);
        let pod_name = format!("{}/{}", key.0, key.1);
        match api.create(&PostParams::default(), &mirror_of(sp, n)).await {
            Ok(created) => {
                tracing::info!(pod = %pod_name, "created the mirror pod of a static pod");
                k.static_pods.set_mirror(&sp_uid, uid(&created));
                state.errors.remove(&sp_uid);
            }
            Err(e) => {
                let msg = e.to_string();
                if state.errors.get(&sp_uid) != Some(&msg) {
                    tracing::warn!(pod = %pod_name, error = %msg, "creating the mirror pod of a static pod failed");
                }
                state.errors.insert(sp_uid, msg);
            }
        }
    }
    state.errors.retain(|u, _| snap.desired.iter().any(|p| &uid(p) == u));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const WEB: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  labels: {app: web}\nspec:\n  containers:\n  - name: web\n    image: busybox\n";

    #[test]
    fn a_manifest_becomes_a_static_pod() {
        let path = Path::new("/m/web.yaml");
        let pod = parse_manifest(path, WEB.as_bytes(), "node-1").unwrap();
        assert_eq!(pod.metadata.name.as_deref(), Some("web-node-1"));
        assert_eq!(pod.metadata.namespace.as_deref(), Some("default"));
        let id = uid(&pod);
        assert_eq!(id.len(), 32);
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(annotation(&pod, CONFIG_HASH), Some(id.as_str()));
        assert_eq!(annotation(&pod, CONFIG_SOURCE), Some("file"));
        assert!(is_static(&pod) && !is_mirror(&pod));
        let spec = pod.spec.as_ref().unwrap();
        assert_eq!(spec.node_name.as_deref(), Some("node-1"));
        assert_eq!(spec.restart_policy.as_deref(), Some("Always"));
        assert_eq!(spec.dns_policy.as_deref(), Some("ClusterFirst"));
        assert_eq!(spec.termination_grace_period_seconds, Some(30));
        assert_eq!(spec.service_account_name, None);
        assert_eq!(spec.containers[0].image_pull_policy.as_deref(), Some("Always"));
        assert_eq!(spec.containers[0].termination_message_path.as_deref(), Some("/dev/termination-log"));
        let tol = spec.tolerations.as_ref().unwrap();
        assert_eq!(tol.len(), 1, "{tol:?}");
        assert_eq!((tol[0].operator.as_deref(), tol[0].effect.as_deref()), (Some("Exists"), Some("NoExecute")));

        // Stable, and depends on the content, the node and the file.
        assert_eq!(uid(&parse_manifest(path, WEB.as_bytes(), "node-1").unwrap()), id);
        assert_ne!(uid(&parse_manifest(path, WEB.as_bytes(), "node-2").unwrap()), id);
        assert_ne!(uid(&parse_manifest(Path::new("/m/other.yaml"), WEB.as_bytes(), "node-1").unwrap()), id);
        let changed = WEB.replace("app: web", "app: web2");
        assert_ne!(uid(&parse_manifest(path, changed.as_bytes(), "node-1").unwrap()), id);

        // JSON works too, and keeps a namespace and an explicit account.
        let j = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"j","namespace":"kube-system"},
            "spec":{"serviceAccountName":"sa","containers":[{"name":"c","image":"busybox:1"}]}}"#;
        let pod = parse_manifest(Path::new("/m/j.json"), j.as_bytes(), "n").unwrap();
        assert_eq!(full_name(&pod), ("kube-system".into(), "j-n".into()));
        assert_eq!(pod.spec.as_ref().unwrap().service_account_name.as_deref(), Some("sa"));
        assert_eq!(pod.spec.as_ref().unwrap().containers[0].image_pull_policy.as_deref(), Some("IfNotPresent"));
    }

    #[test]
    fn bad_manifests_are_refused() {
        let p = Path::new("/m/x.yaml");
        for bad in [
            "not: [valid",
            "- a list",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n",
            "kind: Pod\nmetadata: {name: d}\n",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: d}\nspec: {containers: []}\n",
            "apiVersion: v1\nkind: Pod\nmetadata: {name: Bad_Name}\nspec: {containers: [{name: c, image: i}]}\n",
            "apiVersion: v1\nkind: Pod\nspec: {containers: [{name: c, image: i}]}\n",
        ] {
            assert!(parse_manifest(p, bad.as_bytes(), "n").is_err(), "{bad}");
        }
        assert!(is_manifest_name("a.yaml") && is_manifest_name("b.yml") && is_manifest_name("c.json"));
        assert!(!is_manifest_name(".a.yaml") && !is_manifest_name("a.yaml.swp") && !is_manifest_name("README"));
    }

    #[test]
    fn mirror_pods() {
        let pod = parse_manifest(Path::new("/m/web.yaml"), WEB.as_bytes(), "n").unwrap();
        let node = Node {
            metadata: kube::api::ObjectMeta {
                name: Some("n".into()),
                uid: Some("node-uid".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let m = mirror_of(&pod, &node);
        assert!(is_mirror(&m));
        assert_eq!(annotation(&m, CONFIG_MIRROR), Some(uid(&pod).as_str()));
        assert_eq!(m.metadata.uid, None);
        assert_eq!(m.status, None);
        let owner = &m.metadata.owner_references.as_ref().unwrap()[0];
        assert_eq!((owner.kind.as_str(), owner.name.as_str(), owner.uid.as_str()), ("Node", "n", "node-uid"));
        assert_eq!(owner.controller, Some(true));

        let sp = StaticPods::default();
        let mut mirror = m.clone();
        mirror.metadata.uid = Some("m1".into());
        sp.observe_mirror(&mirror);
        assert_eq!(sp.mirror_uid(&uid(&pod)).as_deref(), Some("m1"));
        mirror.metadata.deletion_timestamp =
            Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(jiff::Timestamp::now()));
        sp.observe_mirror(&mirror);
        assert_eq!(sp.mirror_uid(&uid(&pod)), None);
    }

    #[tokio::test]
    async fn a_new_version_waits_for_the_old_one() {
        let sp = Arc::new(StaticPods::default());
        let old = parse_manifest(Path::new("/m/web.yaml"), WEB.as_bytes(), "n").unwrap();
        let new =
            parse_manifest(Path::new("/m/web.yaml"), WEB.replace("busybox", "busybox:1").as_bytes(), "n").unwrap();
        assert_eq!(full_name(&old), full_name(&new));
        let old_ticket = sp.worker_added(&old);
        sp.wait_turn(old_ticket).await;
        let new_ticket = sp.worker_added(&new);
        let sp2 = sp.clone();
        let waiter = tokio::spawn(async move { sp2.wait_turn(new_ticket).await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiter.is_finished());
        assert!(!sp.snapshot().started.contains(&uid(&new)));
        sp.worker_done(old_ticket);
        tokio::time::timeout(Duration::from_secs(5), waiter).await.unwrap().unwrap();
        assert!(sp.snapshot().started.contains(&uid(&new)));
    }
}
