//! The namespace controller: when a Namespace is deleted, delete everything in
//! it, report progress in the namespace's conditions (as the real controller
//! does), and once it is empty remove the `kubernetes` finalizer through
//! `/finalize`, which lets the Namespace itself go.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::discovery::{Discovery, Scope, verbs};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use serde_json::{Value, json};

/// The finalizer the API server puts in `spec.finalizers`.
const FINALIZER: &str = "kubernetes";

struct Ctx {
    client: kube::Client,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("kubernetes API: {0}")]
    Kube(#[from] kube::Error),
}

/// Run until the process ends.
pub async fn run(client: kube::Client) {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    Controller::new(namespaces, watcher::Config::default())
        .run(reconcile, error_policy, Arc::new(Ctx { client }))
        .for_each(|_| async {})
        .await;
}

fn error_policy(_ns: Arc<Namespace>, err: &Error, _ctx: Arc<Ctx>) -> Action {
    tracing::warn!(error = %err, "namespace cleanup failed; retrying");
    Action::requeue(Duration::from_secs(2))
}

/// What is left in a namespace after a round of deletion.
#[derive(Default)]
struct Remaining {
    /// `resource.group` → count
    resources: BTreeMap<String, usize>,
    /// finalizer → count of objects holding it
    finalizers: BTreeMap<String, usize>,
    failures: Vec<String>,
}

async fn reconcile(ns: Arc<Namespace>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let name = ns.metadata.name.clone().unwrap_or_default();
    if ns.metadata.deletion_timestamp.is_none() {
        return Ok(Action::await_change());
    }
    let finalizers = ns.spec.as_ref().and_then(|s| s.finalizers.clone()).unwrap_or_default();
    if !finalizers.iter().any(|f| f == FINALIZER) {
        return Ok(Action::await_change());
    }
    let discovery = Discovery::new(ctx.client.clone()).run().await?;
    let mut left = Remaining::default();
    for group in discovery.groups() {
        for (ar, caps) in group.recommended_resources() {
            if caps.scope != Scope::Namespaced || !caps.supports_operation(verbs::LIST) {
                continue;
            }
            if !caps.supports_operation(verbs::DELETE) && !caps.supports_operation(verbs::DELETE_COLLECTION) {
                continue;
            }
            let api: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), &name, &ar);
            // The real controller prints `resource.group`, so core resources read `pods.`.
            let label = format!("{}.{}", ar.plural, ar.group);
            if caps.supports_operation(verbs::DELETE_COLLECTION)
                && let Err(e) = api.delete_collection(&DeleteParams::background(), &ListParams::default()).await
            {
                left.failures.push(format!("{label}: {e}"));
            }
            match api.list_metadata(&ListParams::default()).await {
                Ok(list) => {
                    for obj in &list.items {
                        if obj.metadata.deletion_timestamp.is_none()
                            && !caps.supports_operation(verbs::DELETE_COLLECTION)
                        {
                            let n = obj.metadata.name.clone().unwrap_or_default();
                            let _ = api.delete(&n, &DeleteParams::background()).await;
                        }
                        for f in obj.metadata.finalizers.iter().flatten() {
                            *left.finalizers.entry(f.clone()).or_default() += 1;
                        }
                    }
                    if !list.items.is_empty() {
                        *left.resources.entry(label).or_default() += list.items.len();
                    }
                }
                Err(e) => left.failures.push(format!("{label}: {e}")),
            }
        }
    }
    let namespaces: Api<Namespace> = Api::all(ctx.client.clone());
    let status = json!({"status": {"phase": "Terminating", "conditions": conditions(&left)}});
    if let Err(e) = namespaces.patch_status(&name, &PatchParams::default(), &Patch::Merge(&status)).await {
        tracing::debug!(namespace = %name, error = %e, "updating namespace conditions failed");
    }
    if !left.resources.is_empty() || !left.failures.is_empty() {
        return Ok(Action::requeue(Duration::from_secs(1)));
    }
    // Empty: drop our finalizer; the API server deletes the namespace when none remain.
    let mut latest = namespaces.get(&name).await?;
    if let Some(spec) = latest.spec.as_mut()
        && let Some(f) = spec.finalizers.as_mut()
    {
        f.retain(|x| x != FINALIZER);
    }
    match namespaces.replace_subresource("finalize", &name, &PostParams::default(), &latest).await {
        Ok(_) => {}
        Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => {
            return Ok(Action::requeue(Duration::from_millis(200)));
        }
        Err(e) => return Err(e.into()),
    }
    Ok(Action::await_change())
}

fn condition(kind: &str, status: bool, reason: &str, message: String) -> Value {
    json!({
        "type": kind,
        "status": if status { "True" } else { "False" },
        "lastTransitionTime": crate::registry::meta::now_rfc3339(),
        "reason": reason,
        "message": message,
    })
}

/// The conditions the real namespace controller reports while it works.
fn conditions(left: &Remaining) -> Vec<Value> {
    let mut out = vec![
        condition(
            "NamespaceDeletionDiscoveryFailure",
            false,
            "ResourcesDiscovered",
            "All resources successfully discovered".into(),
        ),
        condition(
            "NamespaceDeletionGroupVersionParsingFailure",
            false,
            "ParsedGroupVersions",
            "All legacy kube types successfully parsed".into(),
        ),
    ];
    out.push(if left.failures.is_empty() {
        condition(
            "NamespaceDeletionContentFailure",
            false,
            "ContentDeleted",
            "All content successfully deleted, may be waiting on finalization".into(),
        )
    } else {
        condition(
            "NamespaceDeletionContentFailure",
            true,
            "ContentDeletionFailed",
            format!(
                "Failed to delete all resource types, {} remaining: {}",
                left.failures.len(),
                left.failures.join(", ")
            ),
        )
    });
    out.push(if left.resources.is_empty() {
        condition("NamespaceContentRemaining", false, "ContentRemoved", "All content successfully removed".into())
    } else {
        let parts: Vec<String> =
            left.resources.iter().map(|(r, n)| format!("{r} has {n} resource instances")).collect();
        condition(
            "NamespaceContentRemaining",
            true,
            "SomeResourcesRemain",
            format!("Some resources are remaining: {}", parts.join(", ")),
        )
    });
    out.push(if left.finalizers.is_empty() {
        condition(
            "NamespaceFinalizersRemaining",
            false,
            "ContentHasNoFinalizers",
            "All content-preserving finalizers finished".into(),
        )
    } else {
        let parts: Vec<String> =
            left.finalizers.iter().map(|(f, n)| format!("{f} in {n} resource instances")).collect();
        condition(
            "NamespaceFinalizersRemaining",
            true,
            "SomeFinalizersRemain",
            format!("Some content in the namespace has finalizers remaining: {}", parts.join(", ")),
        )
    });
    out
}
