//! The ValidatingAdmissionPolicy status controller (the real server's type-checking
//! controller): after each change of a policy's spec, `status.observedGeneration` and
//! `status.typeChecking` are set. `typeChecking.expressionWarnings` comes from the
//! best-effort static checker in [`crate::cel::typecheck`], against the schemas of the kinds
//! the policy matches (resolved in the registry); compilation errors are refused at write
//! time. As in Kubernetes, a policy is checked again only when its generation changes.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::admissionregistration::v1::ValidatingAdmissionPolicy;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use serde_json::{Value, json};

use crate::cel::typecheck::{self, TypeTarget};
use crate::registry::Registry;

struct Ctx {
    client: kube::Client,
    registry: Arc<Registry>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("kubernetes API: {0}")]
    Kube(#[from] kube::Error),
}

/// Run until the process ends.
pub async fn run(client: kube::Client, registry: Arc<Registry>) {
    let policies: Api<ValidatingAdmissionPolicy> = Api::all(client.clone());
    Controller::new(policies, watcher::Config::default())
        .run(reconcile, error_policy, Arc::new(Ctx { client, registry }))
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
    let warnings = expression_warnings(&ctx.registry, &p);
    let warnings = if warnings.is_empty() { Value::Null } else { Value::Array(warnings) };
    let patch = json!({"status": {"observedGeneration": generation, "typeChecking": {"expressionWarnings": warnings}}});
    match api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch)).await {
        Ok(_) => Ok(Action::await_change()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(Action::await_change()),
        Err(e) => Err(e.into()),
    }
}

/// The type-checking warnings of a policy (empty when nothing is wrong or nothing is known).
fn expression_warnings(registry: &Registry, p: &ValidatingAdmissionPolicy) -> Vec<Value> {
    let Ok(spec) = serde_json::to_value(&p.spec) else { return Vec::new() };
    let schemas = registry.schemas();
    let targets = typecheck::types_to_check(&spec, |group, version, plural| {
        let r = registry.resource(group, version, plural)?;
        schemas.get(&r.definition)?;
        Some(TypeTarget {
            group: r.group.clone(),
            version: r.version.clone(),
            kind: r.kind.clone(),
            definition: r.definition.clone(),
        })
    });
    let params = spec.pointer("/paramKind").and_then(|pk| {
        let api_version = pk.get("apiVersion")?.as_str()?;
        let kind = pk.get("kind")?.as_str()?;
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        registry.resource_for_kind(group, version, kind).map(|r| r.definition.clone())
    });
    typecheck::policy_warnings(&schemas, &targets, params.as_deref(), &spec)
}
