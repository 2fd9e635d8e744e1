//! The garbage collector: follows `ownerReferences` the way Kubernetes'
//! controller-manager does. It keeps a graph of every object's metadata (one
//! metadata watch per resource), and
//! - deletes dependents whose owners are all gone (background cascading),
//! - for an owner deleted with `propagationPolicy: Foreground` (finalizer
//!   `foregroundDeletion`), deletes its dependents first and releases the owner
//!   once no dependent with `blockOwnerDeletion` is left; a dependent that has
//!   another owner which stays only loses its reference, and one that closes an
//!   ownership cycle stops blocking before it goes (so the cycle cannot wait on itself),
//! - for an owner deleted with `propagationPolicy: Orphan` (finalizer `orphan`),
//!   removes the owner from its dependents' references, then releases it.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, PartialObjectMeta, Patch, PatchParams, PropagationPolicy,
};
use kube::discovery::{Discovery, Scope, verbs};
use kube::runtime::watcher;
use serde_json::json;
use tokio::sync::mpsc;

const ORPHAN: &str = "orphan";
const FOREGROUND: &str = "foregroundDeletion";

/// How often the set of resources is looked up again (new CRDs join the graph).
const REDISCOVER_EVERY: Duration = Duration::from_secs(30);

#[derive(Clone, Debug)]
struct Node {
    resource: ApiResource,
    namespaced: bool,
    namespace: Option<String>,
    name: String,
    resource_version: String,
    owners: Vec<OwnerReference>,
    deleting: bool,
    finalizers: Vec<String>,
}

enum Change {
    Upsert(ApiResource, bool, Box<ObjectMeta>),
    Delete(String),
    /// A resource's initial list is complete: these uids are all it has.
    Synced(ApiResource, HashSet<String>),
}

/// Kinds → where to find them, from discovery.
#[derive(Default, Clone)]
struct Kinds {
    by_group_kind: HashMap<(String, String), (ApiResource, bool)>,
}

impl Kinds {
    fn lookup(&self, api_version: &str, kind: &str) -> Option<(ApiResource, bool)> {
        let group = api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or("");
        self.by_group_kind.get(&(group.to_string(), kind.to_string())).cloned()
    }
}

struct Graph {
    nodes: HashMap<String, Node>,
    /// owner uid → dependent uids
    dependents: HashMap<String, BTreeSet<String>>,
}

impl Graph {
    fn new() -> Graph {
        Graph { nodes: HashMap::new(), dependents: HashMap::new() }
    }

    fn upsert(&mut self, uid: String, node: Node) {
        if let Some(old) = self.nodes.get(&uid) {
            for o in &old.owners {
                if let Some(d) = self.dependents.get_mut(&o.uid) {
                    d.remove(&uid);
                }
            }
        }
        for o in &node.owners {
            self.dependents.entry(o.uid.clone()).or_default().insert(uid.clone());
        }
        self.nodes.insert(uid, node);
    }

    fn remove(&mut self, uid: &str) -> Option<Node> {
        let node = self.nodes.remove(uid)?;
        for o in &node.owners {
            if let Some(d) = self.dependents.get_mut(&o.uid) {
                d.remove(uid);
                if d.is_empty() {
                    self.dependents.remove(&o.uid);
                }
            }
        }
        Some(node)
    }

    fn dependents_of(&self, uid: &str) -> Vec<String> {
        self.dependents.get(uid).map(|d| d.iter().cloned().collect()).unwrap_or_default()
    }
}

/// Run until the process ends.
pub async fn run(client: kube::Client) {
    let (tx, mut rx) = mpsc::unbounded_channel::<Change>();
    let mut watched: HashSet<String> = HashSet::new();
    let mut pending_sync: HashSet<String> = HashSet::new();
    let mut kinds = Kinds::default();
    let mut graph = Graph::new();
    let mut queue: VecDeque<String> = VecDeque::new();
    let mut queued: HashSet<String> = HashSet::new();
    let mut rediscover = tokio::time::interval(REDISCOVER_EVERY);
    let mut retry = tokio::time::interval(Duration::from_secs(1));
    let mut failed: HashSet<String> = HashSet::new();
    loop {
        tokio::select! {
            _ = rediscover.tick() => {
                match discover(&client).await {
                    Ok(found) => {
                        for (ar, namespaced) in found {
                            kinds.by_group_kind.insert((ar.group.clone(), ar.kind.clone()), (ar.clone(), namespaced));
                            let key = format!("{}/{}", ar.group, ar.plural);
                            if watched.insert(key.clone()) {
                                pending_sync.insert(key);
                                tokio::spawn(watch_resource(client.clone(), ar, namespaced, tx.clone()));
                            }
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "garbage collector discovery failed"),
                }
            }
            Some(change) = rx.recv() => {
                apply_change(&mut graph, change, &mut pending_sync, &mut |uid| {
                    if queued.insert(uid.clone()) {
                        queue.push_back(uid);
                    }
                });
            }
            _ = retry.tick() => {
                for uid in failed.drain() {
                    if queued.insert(uid.clone()) {
                        queue.push_back(uid);
                    }
                }
            }
        }
        // Act only on a complete picture.
        if !pending_sync.is_empty() {
            continue;
        }
        while let Some(uid) = queue.pop_front() {
            queued.remove(&uid);
            if let Err(e) = process(&client, &kinds, &graph, &uid).await {
                tracing::debug!(%uid, error = %e, "garbage collection step failed; will retry");
                failed.insert(uid);
            }
        }
    }
}

async fn discover(client: &kube::Client) -> Result<Vec<(ApiResource, bool)>, kube::Error> {
    let discovery = Discovery::new(client.clone()).run().await?;
    let mut out = Vec::new();
    for group in discovery.groups() {
        for (ar, caps) in group.recommended_resources() {
            if caps.supports_operation(verbs::LIST)
                && caps.supports_operation(verbs::WATCH)
                && caps.supports_operation(verbs::DELETE)
            {
                out.push((ar, caps.scope == Scope::Namespaced));
            }
        }
    }
    Ok(out)
}

async fn watch_resource(client: kube::Client, ar: ApiResource, namespaced: bool, tx: mpsc::UnboundedSender<Change>) {
    let api: Api<PartialObjectMeta<DynamicObject>> = Api::all_with(client, &ar);
    let mut stream = watcher::watcher(api, watcher::Config::default()).boxed();
    let mut initial: HashSet<String> = HashSet::new();
    while let Some(ev) = stream.next().await {
        let sent = match ev {
            Ok(watcher::Event::Apply(o)) => tx.send(Change::Upsert(ar.clone(), namespaced, Box::new(o.metadata))),
            Ok(watcher::Event::Delete(o)) => tx.send(Change::Delete(o.metadata.uid.unwrap_or_default())),
            Ok(watcher::Event::Init) => {
                initial.clear();
                Ok(())
            }
            Ok(watcher::Event::InitApply(o)) => {
                initial.insert(o.metadata.uid.clone().unwrap_or_default());
                tx.send(Change::Upsert(ar.clone(), namespaced, Box::new(o.metadata)))
            }
            Ok(watcher::Event::InitDone) => tx.send(Change::Synced(ar.clone(), std::mem::take(&mut initial))),
            Err(e) => {
                tracing::debug!(resource = %ar.plural, error = %e, "garbage collector watch error");
                tokio::time::sleep(Duration::from_secs(1)).await;
                Ok(())
            }
        };
        if sent.is_err() {
            return;
        }
    }
}

fn apply_change(graph: &mut Graph, change: Change, pending: &mut HashSet<String>, enqueue: &mut impl FnMut(String)) {
    match change {
        Change::Upsert(ar, namespaced, meta) => {
            let Some(uid) = meta.uid.clone() else { return };
            let node = Node {
                resource: ar,
                namespaced,
                namespace: meta.namespace.clone(),
                name: meta.name.clone().unwrap_or_default(),
                resource_version: meta.resource_version.clone().unwrap_or_default(),
                owners: meta.owner_references.clone().unwrap_or_default(),
                deleting: meta.deletion_timestamp.is_some(),
                finalizers: meta.finalizers.clone().unwrap_or_default(),
            };
            let interesting = !node.owners.is_empty()
                || (node.deleting && node.finalizers.iter().any(|f| f == ORPHAN || f == FOREGROUND));
            if node.deleting {
                // A dependent on its way out may unblock a foreground-deleting owner.
                for o in &node.owners {
                    enqueue(o.uid.clone());
                }
            }
            graph.upsert(uid.clone(), node);
            if interesting {
                enqueue(uid);
            }
        }
        Change::Delete(uid) => {
            if let Some(node) = graph.remove(&uid) {
                for o in &node.owners {
                    enqueue(o.uid.clone());
                }
            }
            for d in graph.dependents_of(&uid) {
                enqueue(d);
            }
        }
        Change::Synced(ar, present) => {
            let gone: Vec<String> = graph
                .nodes
                .iter()
                .filter(|(uid, n)| {
                    n.resource.group == ar.group && n.resource.plural == ar.plural && !present.contains(*uid)
                })
                .map(|(uid, _)| uid.clone())
                .collect();
            for uid in gone {
                apply_change(graph, Change::Delete(uid), pending, enqueue);
            }
            pending.remove(&format!("{}/{}", ar.group, ar.plural));
        }
    }
}

fn api_for(client: &kube::Client, node: &Node) -> Api<DynamicObject> {
    match (&node.namespace, node.namespaced) {
        (Some(ns), true) => Api::namespaced_with(client.clone(), ns, &node.resource),
        _ => Api::all_with(client.clone(), &node.resource),
    }
}

/// Whether an owner still exists (by uid), asking the API when the graph does not know it.
async fn owner_state(
    client: &kube::Client,
    kinds: &Kinds,
    graph: &Graph,
    dependent: &Node,
    owner: &OwnerReference,
) -> Result<OwnerState, kube::Error> {
    if let Some(n) = graph.nodes.get(&owner.uid) {
        return Ok(if n.deleting && n.finalizers.iter().any(|f| f == FOREGROUND) {
            OwnerState::Waiting
        } else {
            OwnerState::Solid
        });
    }
    let Some((ar, namespaced)) = kinds.lookup(&owner.api_version, &owner.kind) else {
        // Unknown kind: can't tell; keep the dependent.
        return Ok(OwnerState::Solid);
    };
    let api: Api<DynamicObject> = match (namespaced, &dependent.namespace) {
        (true, Some(ns)) => Api::namespaced_with(client.clone(), ns, &ar),
        (true, None) => return Ok(OwnerState::Dangling),
        (false, _) => Api::all_with(client.clone(), &ar),
    };
    match api.get_metadata_opt(&owner.name).await? {
        Some(o) if o.metadata.uid.as_deref() == Some(owner.uid.as_str()) => {
            let fg = o.metadata.finalizers.iter().flatten().any(|f| f == FOREGROUND);
            Ok(if o.metadata.deletion_timestamp.is_some() && fg { OwnerState::Waiting } else { OwnerState::Solid })
        }
        _ => Ok(OwnerState::Dangling),
    }
}

#[derive(Debug, PartialEq, Eq)]
enum OwnerState {
    Solid,
    Dangling,
    Waiting,
}

async fn process(client: &kube::Client, kinds: &Kinds, graph: &Graph, uid: &str) -> Result<(), kube::Error> {
    let Some(node) = graph.nodes.get(uid) else { return Ok(()) };
    let api = api_for(client, node);
    if node.deleting && node.finalizers.iter().any(|f| f == ORPHAN) {
        for d in graph.dependents_of(uid) {
            let Some(dep) = graph.nodes.get(&d) else { continue };
            let refs: Vec<&OwnerReference> = dep.owners.iter().filter(|o| o.uid != uid).collect();
            let patch = json!({"metadata": {"ownerReferences": list_or_null(&refs), "uid": d}});
            ignore_gone(api_for(client, dep).patch(&dep.name, &PatchParams::default(), &Patch::Merge(&patch)).await)?;
        }
        return remove_finalizer(&api, node, ORPHAN).await;
    }
    if node.deleting && node.finalizers.iter().any(|f| f == FOREGROUND) {
        let mut blocking = 0;
        for d in graph.dependents_of(uid) {
            let Some(dep) = graph.nodes.get(&d) else { continue };
            let mut blocks = dep.owners.iter().any(|o| o.uid == uid && o.block_owner_deletion == Some(true));
            if !dep.deleting {
                // A dependent with another owner that stays is not deleted: it only loses its
                // references to the owners on their way out (upstream's attemptToDeleteItem).
                let states = owner_states(client, kinds, graph, dep).await?;
                if states.iter().any(|(o, s)| o.uid != uid && *s == OwnerState::Solid) {
                    drop_owner_refs(client, dep, &d, &states).await?;
                    continue;
                }
                // A dependent that is itself the owner of something deleting in the foreground
                // may close a cycle: it stops blocking its owners before it goes, as upstream's
                // collector does, so that the cycle cannot wait for itself.
                let cycle = in_foreground_cycle(graph, &d);
                if blocks && cycle {
                    unblock_owner_refs(client, dep, &d).await?;
                    blocks = false;
                }
                let dp = if blocks || cycle { DeleteParams::foreground() } else { DeleteParams::background() };
                let dp = DeleteParams {
                    preconditions: Some(kube::api::Preconditions { uid: Some(d.clone()), resource_version: None }),
                    ..dp
                };
                ignore_gone(api_for(client, dep).delete(&dep.name, &dp).await.map(|_| ()))?;
            }
            if blocks {
                blocking += 1;
            }
        }
        if blocking == 0 {
            return remove_finalizer(&api, node, FOREGROUND).await;
        }
        return Ok(());
    }
    if node.owners.is_empty() || node.deleting {
        return Ok(());
    }
    let states = owner_states(client, kinds, graph, node).await?;
    if states.iter().any(|(_, s)| *s == OwnerState::Solid) {
        return drop_owner_refs(client, node, uid, &states).await;
    }
    let waiting = states.iter().filter(|(_, s)| *s == OwnerState::Waiting).count();
    if waiting > 0 && in_foreground_cycle(graph, uid) {
        unblock_owner_refs(client, node, uid).await?;
    }
    let policy = if waiting > 0 || node.finalizers.iter().any(|f| f == FOREGROUND) {
        PropagationPolicy::Foreground
    } else if node.finalizers.iter().any(|f| f == ORPHAN) {
        PropagationPolicy::Orphan
    } else {
        PropagationPolicy::Background
    };
    let dp = DeleteParams {
        propagation_policy: Some(policy),
        preconditions: Some(kube::api::Preconditions { uid: Some(uid.to_string()), resource_version: None }),
        ..Default::default()
    };
    tracing::debug!(object = %node.name, resource = %node.resource.plural, "deleting dependent whose owners are gone");
    ignore_gone(api.delete(&node.name, &dp).await.map(|_| ()))
}

/// The state of each of a node's owners.
async fn owner_states(
    client: &kube::Client,
    kinds: &Kinds,
    graph: &Graph,
    node: &Node,
) -> Result<Vec<(OwnerReference, OwnerState)>, kube::Error> {
    let mut out = Vec::with_capacity(node.owners.len());
    for o in &node.owners {
        out.push((o.clone(), owner_state(client, kinds, graph, node, o).await?));
    }
    Ok(out)
}

/// Keep only the owners that stay (upstream removes the dangling references and those to
/// owners waiting for their dependents' deletion); nothing to do when all stay.
async fn drop_owner_refs(
    client: &kube::Client,
    node: &Node,
    uid: &str,
    states: &[(OwnerReference, OwnerState)],
) -> Result<(), kube::Error> {
    if states.iter().all(|(_, s)| *s == OwnerState::Solid) {
        return Ok(());
    }
    let refs: Vec<&OwnerReference> = states.iter().filter(|(_, s)| *s == OwnerState::Solid).map(|(o, _)| o).collect();
    let patch = json!({"metadata": {"ownerReferences": list_or_null(&refs), "uid": uid}});
    ignore_gone(api_for(client, node).patch(&node.name, &PatchParams::default(), &Patch::Merge(&patch)).await)
}

/// Whether one of the node's own dependents is already being deleted in the foreground:
/// deleting the node in the foreground while it blocks its owners could close a cycle.
fn in_foreground_cycle(graph: &Graph, uid: &str) -> bool {
    graph
        .dependents_of(uid)
        .iter()
        .filter_map(|d| graph.nodes.get(d))
        .any(|d| d.deleting && d.finalizers.iter().any(|f| f == FOREGROUND))
}

/// Set `blockOwnerDeletion: false` on every reference of the node that blocks.
async fn unblock_owner_refs(client: &kube::Client, node: &Node, uid: &str) -> Result<(), kube::Error> {
    if !node.owners.iter().any(|o| o.block_owner_deletion == Some(true)) {
        return Ok(());
    }
    let refs: Vec<OwnerReference> = node
        .owners
        .iter()
        .cloned()
        .map(|mut o| {
            if o.block_owner_deletion == Some(true) {
                o.block_owner_deletion = Some(false);
            }
            o
        })
        .collect();
    let patch = json!({"metadata": {"ownerReferences": refs, "uid": uid}});
    ignore_gone(api_for(client, node).patch(&node.name, &PatchParams::default(), &Patch::Merge(&patch)).await)
}

async fn remove_finalizer(api: &Api<DynamicObject>, node: &Node, finalizer: &str) -> Result<(), kube::Error> {
    let rest: Vec<&String> = node.finalizers.iter().filter(|f| f.as_str() != finalizer).collect();
    let patch = json!({"metadata": {"finalizers": list_or_null(&rest), "resourceVersion": node.resource_version}});
    ignore_gone(api.patch(&node.name, &PatchParams::default(), &Patch::Merge(&patch)).await)
}

/// A list for a merge patch; an empty one removes the field (as Go's `omitempty` would leave it).
fn list_or_null<T: serde::Serialize>(items: &[T]) -> serde_json::Value {
    if items.is_empty() { serde_json::Value::Null } else { json!(items) }
}

/// Not found and conflicts (the object changed or went) are not failures: the
/// graph will bring the object back if there is more to do.
fn ignore_gone<T>(r: Result<T, kube::Error>) -> Result<(), kube::Error> {
    match r {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(e) => Err(e),
    }
}
