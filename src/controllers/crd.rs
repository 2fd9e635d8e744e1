//! The CRD finalizer (apiextensions' `CRDFinalizer`): when a CustomResourceDefinition is
//! deleted, delete every custom resource it defines, reporting progress in its
//! `Terminating` condition, then remove the `customresourcecleanup.apiextensions.k8s.io`
//! finalizer so the CRD itself goes (and stops being served).

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use serde_json::json;

use crate::registry::crd::definition::CLEANUP_FINALIZER;

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
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    Controller::new(crds, watcher::Config::default())
        .run(reconcile, error_policy, Arc::new(Ctx { client }))
        .for_each(|_| async {})
        .await;
}

fn error_policy(_crd: Arc<CustomResourceDefinition>, err: &Error, _ctx: Arc<Ctx>) -> Action {
    tracing::warn!(error = %err, "custom resource cleanup failed; retrying");
    Action::requeue(Duration::from_secs(2))
}

async fn set_terminating(
    api: &Api<CustomResourceDefinition>,
    name: &str,
    status: &str,
    reason: &str,
    message: &str,
) -> Result<(), Error> {
    let crd = api.get_status(name).await?;
    let mut conditions: Vec<serde_json::Value> = crd
        .status
        .and_then(|s| s.conditions)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|c| serde_json::to_value(c).ok())
        .filter(|c| c["type"] != "Terminating")
        .collect();
    conditions.push(json!({
        "type": "Terminating", "status": status, "reason": reason, "message": message,
        "lastTransitionTime": crate::registry::meta::now_rfc3339(),
    }));
    let patch = json!({"status": {"conditions": conditions}});
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(&patch)).await?;
    Ok(())
}

async fn reconcile(crd: Arc<CustomResourceDefinition>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let name = crd.metadata.name.clone().unwrap_or_default();
    let finalizers = crd.metadata.finalizers.clone().unwrap_or_default();
    if crd.metadata.deletion_timestamp.is_none() || !finalizers.iter().any(|f| f == CLEANUP_FINALIZER) {
        return Ok(Action::await_change());
    }
    let crds: Api<CustomResourceDefinition> = Api::all(ctx.client.clone());
    let spec = &crd.spec;
    let version = spec.versions.iter().find(|v| v.served).or_else(|| spec.versions.iter().find(|v| v.storage));
    let established = crd
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Established" && c.status == "True"));
    if let (Some(version), true) = (version, established) {
        set_terminating(&crds, &name, "True", "InstanceDeletionInProgress", "CustomResource deletion is in progress")
            .await?;
        let names = crd.status.as_ref().and_then(|s| s.accepted_names.clone()).unwrap_or_else(|| spec.names.clone());
        let ar = ApiResource {
            group: spec.group.clone(),
            version: version.name.clone(),
            api_version: format!("{}/{}", spec.group, version.name),
            kind: names.kind.clone(),
            plural: names.plural.clone(),
        };
        let all: Api<DynamicObject> = Api::all_with(ctx.client.clone(), &ar);
        let items = all.list(&ListParams::default()).await?.items;
        let mut failures = Vec::new();
        for item in &items {
            if item.metadata.deletion_timestamp.is_some() {
                continue;
            }
            let obj_name = item.metadata.name.clone().unwrap_or_default();
            let api: Api<DynamicObject> = match &item.metadata.namespace {
                Some(ns) if spec.scope == "Namespaced" => Api::namespaced_with(ctx.client.clone(), ns, &ar),
                _ => Api::all_with(ctx.client.clone(), &ar),
            };
            match api.delete(&obj_name, &DeleteParams::background()).await {
                Ok(_) => {}
                Err(kube::Error::Api(e)) if e.code == 404 => {}
                Err(e) => failures.push(e.to_string()),
            }
        }
        if !failures.is_empty() {
            let message = format!("could not issue all deletes: [{}]", failures.join(", "));
            set_terminating(&crds, &name, "True", "InstanceDeletionFailed", &message).await?;
            return Ok(Action::requeue(Duration::from_secs(1)));
        }
        let left = all.list(&ListParams::default()).await?.items.len();
        if left > 0 {
            // Objects with finalizers of their own go when those are removed.
            return Ok(Action::requeue(Duration::from_millis(500)));
        }
        set_terminating(&crds, &name, "False", "InstanceDeletionCompleted", "removed all instances").await?;
    }
    let fresh = match crds.get(&name).await {
        Ok(c) => c,
        Err(kube::Error::Api(e)) if e.code == 404 => return Ok(Action::await_change()),
        Err(e) => return Err(e.into()),
    };
    let remaining: Vec<String> =
        fresh.metadata.finalizers.unwrap_or_default().into_iter().filter(|f| f != CLEANUP_FINALIZER).collect();
    let patch = json!({"metadata": {"finalizers": remaining, "resourceVersion": fresh.metadata.resource_version}});
    match crds.patch(&name, &PatchParams::default(), &Patch::Merge(&patch)).await {
        Ok(_) => {}
        Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => {
            return Ok(Action::requeue(Duration::from_millis(200)));
        }
        Err(e) => return Err(e.into()),
    }
    Ok(Action::await_change())
}
