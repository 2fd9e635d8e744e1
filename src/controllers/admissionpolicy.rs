//! The ValidatingAdmissionPolicy status controller (the real server's type-checking
//! controller): after each change of a policy's spec, `status.observedGeneration` and
//! `status.typeChecking` are set. There is no CEL type checker here, so `typeChecking`
//! never carries `expressionWarnings`; compilation errors are refused at write time.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::admissionregistration::v1::ValidatingAdmissionPolicy;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use serde_json::json;

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
    let policies: Api<ValidatingAdmissionPolicy> = Api::all(client.clone());
    Controller::new(policies, watcher::Config::default())
        .run(reconcile, error_policy, Arc::new(Ctx { client }))
        .for_each(|_| async {})
        .await;
}

fn error_policy(_p: Arc<ValidatingAdmissionPolicy>, err: &Error, _ctx: Arc<Ctx>) -> Action {
    tracing::warn!(error = %err, "updating a ValidatingAdmissionPolicy status failed; retrying");
    Action::requeue(Duration::from_secs(2))
}

async fn reconcile(p: Arc<ValidatingAdmissionPolicy>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    if p.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let generation = p.metadata.generation.unwrap_or(0);
    let status = p.status.as_ref();
    let current = status.and_then(|s| s.observed_generation) == Some(generation)
        && status.is_some_and(|s| s.type_checking.is_some());
    if current {
        return Ok(Action::await_change());
    }
    let name = p.metadata.name.clone().unwrap_or_default();
    let api: Api<ValidatingAdmissionPolicy> = Api::all(ctx.client.clone());
    let patch = json!({"status": {"observedGeneration": generation, "typeChecking": {}}});
    match api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch)).await {
        Ok(_) => Ok(Action::await_change()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(Action::await_change()),
        Err(e) => Err(e.into()),
    }
}
