//! Admission webhooks: MutatingWebhookConfiguration and ValidatingWebhookConfiguration,
//! called as the real API server's `MutatingAdmissionWebhook` and
//! `ValidatingAdmissionWebhook` plugins call them.
//!
//! - Which webhooks apply: namespaceSelector, objectSelector, rules (with `matchPolicy:
//!   Equivalent` matching any version of the resource), then matchConditions
//!   ([`super::matching`]). Webhook configurations and admission policies themselves are
//!   never sent to webhooks, so a broken webhook cannot lock them.
//! - The call: an AdmissionReview v1 (v1beta1 when that is all the webhook accepts) POSTed
//!   over HTTPS to `clientConfig.url`, or to `https://<service>.<namespace>.svc:<port><path>`
//!   for `clientConfig.service` (reachable once Services route), trusting `caBundle`, with
//!   `?timeout=<n>s` and a deadline of `timeoutSeconds`.
//! - Dry runs reach only webhooks whose `sideEffects` is `None` or `NoneOnDryRun`; for
//!   others the request is refused (`400 admission webhook "x" does not support dry run`).
//! - A webhook that cannot be called (unreachable, timed out, garbage answer) fails the
//!   request with `500 Internal error occurred: failed calling webhook "x": …` under
//!   `failurePolicy: Fail`, and is skipped under `Ignore`. A denial becomes the webhook's
//!   status (code at least 400) with `admission webhook "x" denied the request: …`.
//! - Mutating webhooks run one after another (configurations by name), their JSON patches
//!   applied and the object defaulted again; with `reinvocationPolicy: IfNeeded` a webhook
//!   runs once more when a later webhook changed the object. Validating webhooks run
//!   concurrently; the first error wins. Warnings go to the client.

mod config;
mod review;

use std::collections::HashSet;

use serde_json::Value;

pub use config::Cache;
use config::Hook;

use super::attributes::Attributes;
use super::matching;
use crate::cel::admission::Activation;
use crate::registry::Registry;
use crate::registry::error::{ApiError, ApiResult};
use crate::registry::webhook_client::PostError;

/// Resources whose writes never go to webhooks (`IsExemptAdmissionConfigurationResource`).
fn exempt(attrs: &Attributes<'_>) -> bool {
    attrs.res.group == "admissionregistration.k8s.io"
        && matches!(
            attrs.res.plural.as_str(),
            "validatingwebhookconfigurations"
                | "mutatingwebhookconfigurations"
                | "validatingadmissionpolicies"
                | "validatingadmissionpolicybindings"
                | "mutatingadmissionpolicies"
                | "mutatingadmissionpolicybindings"
        )
}

/// Why a call did not end in an allowed answer.
enum Failure {
    /// The webhook could not be called or answered nonsense (`ErrCallingWebhook`): the
    /// failure policy decides. The text follows `failed calling webhook "x": `.
    Calling(String),
    /// The webhook denied the request, or the request cannot go to it (dry run): final.
    Refused(ApiError),
}

/// `ShouldCallHook`: whether the webhook applies to this request.
async fn should_call(reg: &Registry, hook: &Hook, attrs: &Attributes<'_>, obj: Option<&Value>) -> ApiResult<bool> {
    let ns = matching::namespace_selector_matches(reg, hook.namespace_selector.as_ref(), attrs, obj).await;
    if matches!(ns, Ok(false)) {
        return Ok(false);
    }
    let objsel = matching::object_selector_matches(hook.object_selector.as_ref(), attrs, obj);
    if matches!(objsel, Ok(false)) {
        return Ok(false);
    }
    let rules = matching::any_rule_matches(&hook.rules, attrs, false)
        || (hook.equivalent && matching::any_rule_matches(&hook.rules, attrs, true));
    if !rules {
        return Ok(false);
    }
    ns?;
    objsel?;
    match_conditions(hook, attrs, obj)
}

/// matchConditions: all must hold. An evaluation error skips the webhook under
/// `failurePolicy: Ignore` and refuses the request (403) under `Fail`.
fn match_conditions(hook: &Hook, attrs: &Attributes<'_>, obj: Option<&Value>) -> ApiResult<bool> {
    let result = match &hook.match_conditions {
        Ok(conds) if conds.is_empty() => return Ok(true),
        Ok(conds) => conds.matches(&Activation::new(attrs, obj)),
        Err(e) => Err(e.clone()),
    };
    match result {
        Ok(m) => Ok(m),
        Err(_) if hook.ignore_failures => Ok(false),
        Err(e) => {
            tracing::warn!(webhook = %hook.name, error = %e, "failed evaluating match conditions, failing closed");
            Err(ApiError::forbidden(&attrs.res.group, &attrs.res.plural, &attrs.name, e))
        }
    }
}

/// Call one webhook. Returns its warnings and its checked answer.
async fn call(
    hook: &Hook,
    attrs: &Attributes<'_>,
    obj: Option<&Value>,
    mutating: bool,
) -> (Vec<String>, Result<review::Answer, Failure>) {
    if attrs.ctx.dry_run {
        match hook.side_effects.as_deref() {
            None => return (vec![], Err(Failure::Calling("Webhook SideEffects is nil".into()))),
            Some("None" | "NoneOnDryRun") => {}
            Some(_) => {
                let e = ApiError::bad_request(format!("admission webhook {:?} does not support dry run", hook.name));
                return (vec![], Err(Failure::Refused(e)));
            }
        }
    }
    let version = match review::pick_version(&hook.review_versions) {
        Ok(v) => v,
        Err(e) => return (vec![], Err(Failure::Calling(format!("could not create admission objects: {e}")))),
    };
    let client = match &hook.client {
        Ok(c) => c.clone(),
        Err(e) => return (vec![], Err(Failure::Calling(format!("could not get REST client: {e}")))),
    };
    let uid = uuid::Uuid::new_v4().to_string();
    let request = review::request(version, &uid, attrs, obj);
    let url = format!("{}?timeout={}s", hook.target.url(), hook.timeout.as_secs());
    let answer = match client.post_json(&url, &request, hook.timeout).await {
        Ok(a) => a,
        // A body that is not JSON fails where client-go reads the review's kind.
        Err(PostError::Decode(e)) => {
            let why = format!("failed to call webhook: couldn't get version/kind; json parse error: {e}");
            return (vec![], Err(Failure::Calling(why)));
        }
        Err(e) => return (vec![], Err(Failure::Calling(format!("failed to call webhook: {e}")))),
    };
    let answer = match review::verify(version, &uid, mutating, &answer) {
        Ok(a) => a,
        Err(e) => return (vec![], Err(Failure::Calling(format!("received invalid webhook response: {e}")))),
    };
    let warnings = answer.warnings.clone();
    if !answer.allowed {
        return (warnings, Err(Failure::Refused(review::denial(&hook.name, answer.status.as_ref()))));
    }
    (warnings, Ok(answer))
}

/// The error a call failure becomes under `failurePolicy: Fail`, `None` under `Ignore`.
fn failed(hook: &Hook, failure: Failure) -> Option<ApiError> {
    match failure {
        Failure::Refused(e) => Some(e),
        Failure::Calling(why) if hook.ignore_failures => {
            tracing::warn!(webhook = %hook.name, error = %why, "failed calling webhook, failing open");
            None
        }
        Failure::Calling(why) => {
            tracing::warn!(webhook = %hook.name, error = %why, "failed calling webhook, failing closed");
            Some(ApiError::internal(format!("failed calling webhook {:?}: {why}", hook.name)))
        }
    }
}

/// Call one mutating webhook and apply its patch. Returns whether the object changed.
async fn mutate_once(
    hook: &Hook,
    attrs: &Attributes<'_>,
    obj: &mut Value,
    warnings: &mut Vec<String>,
) -> ApiResult<bool> {
    let (w, result) = call(hook, attrs, Some(obj), true).await;
    warnings.extend(w);
    let answer = match result {
        Ok(a) => a,
        Err(f) => return failed(hook, f).map_or(Ok(false), Err),
    };
    let Some(patch) = answer.patch else { return Ok(false) };
    let ops: json_patch::Patch = match serde_json::from_slice(&patch) {
        Ok(p) => p,
        Err(e) => {
            let f = Failure::Calling(format!("received undecodable patch in webhook response: {e}"));
            return failed(hook, f).map_or(Ok(false), Err);
        }
    };
    if ops.0.is_empty() {
        return Ok(false);
    }
    let patch_type = answer.patch_type.unwrap_or_default();
    if patch_type != "JSONPatch" {
        let f = Failure::Calling(format!("unsupported patch type {patch_type:?}"));
        return failed(hook, f).map_or(Ok(false), Err);
    }
    let mut patched = obj.clone();
    json_patch::patch(&mut patched, &ops).map_err(ApiError::internal)?;
    if !patched.is_object() {
        return Err(ApiError::internal(format!(
            "admission webhook {:?} patched the object into something that is not an object",
            hook.name
        )));
    }
    if attrs.subresource.is_empty() {
        crate::registry::defaults::apply_defaults(&attrs.res.group, &attrs.res.version, &attrs.res.kind, &mut patched);
    }
    let changed = patched != *obj;
    *obj = patched;
    Ok(changed)
}

/// Call the mutating webhooks that match a create or update, applying their patches to `obj`.
pub async fn mutate(
    reg: &Registry,
    attrs: &Attributes<'_>,
    obj: &mut Value,
    warnings: &mut Vec<String>,
) -> ApiResult<()> {
    if exempt(attrs) {
        return Ok(());
    }
    let loaded = reg.admission.webhooks.get(reg).await?;
    if loaded.mutating.is_empty() {
        return Ok(());
    }
    // Reinvocation as the real dispatcher keeps it: a change re-arms the webhooks with
    // `IfNeeded` that ran before it; they run once more, in order, after the first round.
    let mut invoked_reinvocable: Vec<&str> = Vec::new();
    let mut reinvoke: HashSet<&str> = HashSet::new();
    for hook in &loaded.mutating {
        if !should_call(reg, hook, attrs, Some(obj)).await? {
            continue;
        }
        if mutate_once(hook, attrs, obj, warnings).await? {
            reinvoke.extend(invoked_reinvocable.drain(..));
        }
        if hook.reinvoke {
            invoked_reinvocable.push(&hook.uid);
        }
    }
    if reinvoke.is_empty() {
        return Ok(());
    }
    for hook in loaded.mutating.iter().filter(|h| reinvoke.contains(h.uid.as_str())) {
        if should_call(reg, hook, attrs, Some(obj)).await? {
            mutate_once(hook, attrs, obj, warnings).await?;
        }
    }
    Ok(())
}

/// Call the validating webhooks that match a create, update or delete (`obj` is `None` for a delete).
pub async fn validate(
    reg: &Registry,
    attrs: &Attributes<'_>,
    obj: Option<&Value>,
    warnings: &mut Vec<String>,
) -> ApiResult<()> {
    if exempt(attrs) {
        return Ok(());
    }
    let loaded = reg.admission.webhooks.get(reg).await?;
    if loaded.validating.is_empty() {
        return Ok(());
    }
    let mut relevant = Vec::new();
    for hook in &loaded.validating {
        if should_call(reg, hook, attrs, obj).await? {
            relevant.push(hook);
        }
    }
    let results = futures::future::join_all(relevant.iter().map(|h| call(h, attrs, obj, false))).await;
    let mut first = None;
    for (hook, (w, result)) in relevant.iter().zip(results) {
        warnings.extend(w);
        if let Err(f) = result
            && let Some(e) = failed(hook, f)
        {
            first.get_or_insert(e);
        }
    }
    first.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::attributes::Operation;
    use super::*;
    use crate::registry::rest::Ctx;

    fn registry() -> (tempfile::TempDir, std::sync::Arc<Registry>) {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::sqlite::SqliteStore::open(&dir.path().join("state.db")).unwrap();
        (dir, Registry::new(store, crate::registry::RegistryConfig::default()))
    }

    fn hooks() -> Vec<Hook> {
        let w = |name: &str, side: Option<&str>, policy: &str| {
            let mut w = json!({"name": name, "clientConfig": {"url": "https://127.0.0.1:1/x"},
                "admissionReviewVersions": ["v1"], "failurePolicy": policy});
            if let Some(s) = side {
                w["sideEffects"] = s.into();
            }
            w
        };
        config::parse_configuration(
            &json!({"metadata": {"name": "c"}, "webhooks": [
                w("some.example.com", Some("Some"), "Fail"), w("nil.example.com", None, "Fail"),
                w("none.example.com", Some("None"), "Fail"), w("ignored.example.com", Some("None"), "Ignore")]}),
            false,
        )
    }

    #[tokio::test]
    async fn dry_runs_reach_only_webhooks_without_side_effects() {
        let (_dir, reg) = registry();
        let res = reg.resource("", "v1", "configmaps").unwrap();
        let obj = json!({"metadata": {"name": "c", "namespace": "default"}});
        let hooks = hooks();
        let dry = Ctx { dry_run: true, ..Default::default() };
        let attrs = Attributes::new(Operation::Create, &res, "", &dry, &obj, None);
        let Err(Failure::Refused(e)) = call(&hooks[0], &attrs, Some(&obj), false).await.1 else { panic!("refused") };
        assert_eq!((e.code, e.reason), (400, "BadRequest"));
        assert_eq!(e.message, r#"admission webhook "some.example.com" does not support dry run"#);
        let Err(f) = call(&hooks[1], &attrs, Some(&obj), false).await.1 else { panic!("fails") };
        let e = failed(&hooks[1], f).unwrap();
        assert_eq!(
            e.message,
            r#"Internal error occurred: failed calling webhook "nil.example.com": Webhook SideEffects is nil"#
        );
        // Without side effects the call is made (and fails here: nothing listens).
        let Err(f) = call(&hooks[2], &attrs, Some(&obj), false).await.1 else { panic!("fails") };
        let e = failed(&hooks[2], f).unwrap();
        assert_eq!((e.code, e.reason), (500, "InternalError"));
        assert_eq!(
            e.message,
            r#"Internal error occurred: failed calling webhook "none.example.com": failed to call webhook: Post "https://127.0.0.1:1/x?timeout=10s": dial tcp 127.0.0.1:1: connect: connection refused"#
        );
        let Err(f) = call(&hooks[3], &attrs, Some(&obj), false).await.1 else { panic!("fails") };
        assert!(failed(&hooks[3], f).is_none());
    }

    #[tokio::test]
    async fn configurations_are_exempt_and_an_empty_cache_is_quick() {
        let (_dir, reg) = registry();
        let ctx = Ctx::default();
        let res = reg.resource("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations").unwrap();
        let obj = json!({"metadata": {"name": "c"}});
        assert!(exempt(&Attributes::new(Operation::Delete, &res, "", &ctx, &obj, Some(&obj))));
        let cms = reg.resource("", "v1", "configmaps").unwrap();
        let mut cm = json!({"metadata": {"name": "c", "namespace": "default"}});
        let attrs = Attributes::new(Operation::Create, &cms, "", &ctx, &cm.clone(), None);
        let mut warnings = Vec::new();
        mutate(&reg, &attrs, &mut cm, &mut warnings).await.unwrap();
        validate(&reg, &attrs, Some(&cm), &mut warnings).await.unwrap();
        let loaded = reg.admission.webhooks.get(&reg).await.unwrap();
        assert!(loaded.mutating.is_empty() && loaded.validating.is_empty());
    }
}
