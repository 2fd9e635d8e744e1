//! The webhook configurations as admission uses them: parsed once from the stored
//! MutatingWebhookConfigurations and ValidatingWebhookConfigurations (ordered by
//! configuration name, then by position, as the real server's webhook source orders
//! them), each with its HTTPS client ready, kept until an admissionregistration write
//! invalidates them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use base64::Engine;
use serde_json::Value;

use crate::cel::admission::{Decls, MatchConditions};
use crate::registry::Registry;
use crate::registry::error::{ApiError, ApiResult};
use crate::registry::resource::ResourceInfo;
use crate::registry::webhook_client::Client;
use crate::store::ListRequest;

const GROUP: &str = "admissionregistration.k8s.io";
const MUTATING: &str = "mutatingwebhookconfigurations";
const VALIDATING: &str = "validatingwebhookconfigurations";

/// Where a webhook is reached.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    Url(String),
    /// Reached at `https://<name>.<namespace>.svc:<port><path>` (works once Services route:
    /// the name is what the webhook's serving certificate carries).
    Service {
        namespace: String,
        name: String,
        port: i64,
        path: String,
    },
}

impl Target {
    pub fn url(&self) -> String {
        match self {
            Target::Url(u) => u.clone(),
            Target::Service { namespace, name, port, path } => format!("https://{name}.{namespace}.svc:{port}{path}"),
        }
    }
}

/// One webhook of a configuration.
#[derive(Debug)]
pub struct Hook {
    /// `<configuration>/<index>`: identifies the webhook for reinvocation.
    pub uid: String,
    pub name: String,
    pub configuration: String,
    pub rules: Vec<Value>,
    pub ignore_failures: bool,
    /// `matchPolicy: Equivalent`.
    pub equivalent: bool,
    pub namespace_selector: Option<Value>,
    pub object_selector: Option<Value>,
    pub side_effects: Option<String>,
    pub timeout: Duration,
    pub review_versions: Vec<String>,
    /// `reinvocationPolicy: IfNeeded` (mutating webhooks).
    pub reinvoke: bool,
    /// The compiled matchConditions, or why they do not compile (then every request the
    /// webhook's rules match fails by the failure policy).
    pub match_conditions: Result<MatchConditions, String>,
    pub target: Target,
    /// The client, or why none could be made (reported when the webhook is called).
    pub client: Result<Arc<Client>, String>,
}

/// The webhooks of every configuration, mutating and validating.
#[derive(Debug, Default)]
pub struct Loaded {
    pub mutating: Vec<Arc<Hook>>,
    pub validating: Vec<Arc<Hook>>,
}

/// What is kept between requests: the parsed webhooks, reloaded lazily after a write of
/// a webhook configuration.
#[derive(Default)]
pub struct Cache {
    loaded: RwLock<Option<Arc<Loaded>>>,
    /// Bumped by every invalidation, so a load that raced one is not kept.
    generation: AtomicU64,
}

impl Cache {
    /// An object of `res` was written: forget what was built from such objects.
    pub fn invalidate(&self, res: &ResourceInfo) {
        if res.group == GROUP && (res.plural == MUTATING || res.plural == VALIDATING) {
            self.generation.fetch_add(1, Ordering::AcqRel);
            if let Ok(mut l) = self.loaded.write() {
                *l = None;
            }
        }
    }

    /// The current webhooks, loading them from the store when needed.
    pub async fn get(&self, reg: &Registry) -> ApiResult<Arc<Loaded>> {
        if let Some(l) = self.loaded.read().ok().and_then(|l| l.clone()) {
            return Ok(l);
        }
        let generation = self.generation.load(Ordering::Acquire);
        let loaded = Arc::new(Loaded {
            mutating: load(reg, MUTATING, true).await?,
            validating: load(reg, VALIDATING, false).await?,
        });
        if let Ok(mut l) = self.loaded.write()
            && self.generation.load(Ordering::Acquire) == generation
        {
            *l = Some(loaded.clone());
        }
        Ok(loaded)
    }
}

async fn load(reg: &Registry, plural: &str, mutating: bool) -> ApiResult<Vec<Arc<Hook>>> {
    let Some(res) = reg.resource(GROUP, "v1", plural) else { return Ok(Vec::new()) };
    let page = reg
        .store
        .list(ListRequest { prefix: res.list_prefix(None), start_after: None, limit: None, revision: None })
        .await
        .map_err(ApiError::internal)?;
    let mut configs: Vec<Value> = page.items.iter().filter_map(|kv| serde_json::from_slice(&kv.value).ok()).collect();
    configs.sort_by(|a, b| name_of(a).cmp(name_of(b)));
    Ok(configs.iter().flat_map(|c| parse_configuration(c, mutating)).map(Arc::new).collect())
}

fn name_of(v: &Value) -> &str {
    v.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("")
}

fn strings(v: &Value, field: &str) -> Vec<String> {
    v.get(field)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

/// The webhooks of one configuration object.
pub fn parse_configuration(config: &Value, mutating: bool) -> Vec<Hook> {
    let configuration = name_of(config).to_string();
    let hooks = config.get("webhooks").and_then(Value::as_array).cloned().unwrap_or_default();
    hooks.iter().enumerate().map(|(i, w)| parse_hook(w, &configuration, i, mutating)).collect()
}

fn parse_hook(w: &Value, configuration: &str, index: usize, mutating: bool) -> Hook {
    let str_of = |f: &str| w.get(f).and_then(Value::as_str).map(str::to_string);
    let cc = w.get("clientConfig").cloned().unwrap_or_default();
    let target = match cc.get("url").and_then(Value::as_str) {
        Some(u) => Target::Url(u.to_string()),
        None => {
            let svc = cc.get("service").cloned().unwrap_or_default();
            Target::Service {
                namespace: svc.get("namespace").and_then(Value::as_str).unwrap_or("").to_string(),
                name: svc.get("name").and_then(Value::as_str).unwrap_or("").to_string(),
                port: svc.get("port").and_then(Value::as_i64).unwrap_or(443),
                path: svc.get("path").and_then(Value::as_str).unwrap_or("").to_string(),
            }
        }
    };
    let client = match cc.get("caBundle").and_then(Value::as_str).filter(|s| !s.is_empty()) {
        Some(b64) => match base64::engine::general_purpose::STANDARD.decode(b64) {
            Ok(pem) => Client::new(Some(&pem)),
            Err(e) => Err(format!("invalid caBundle: {e}")),
        },
        None => Client::new(None),
    }
    .map(Arc::new);
    let conds = w.get("matchConditions").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let match_conditions =
        MatchConditions::compile(conds, &format!("webhooks[{index}].matchConditions"), Decls::WEBHOOK)
            .map_err(|errs| crate::registry::field_error::aggregate(&errs));
    Hook {
        uid: format!("{configuration}/{index}"),
        name: str_of("name").unwrap_or_default(),
        configuration: configuration.to_string(),
        rules: w.get("rules").and_then(Value::as_array).cloned().unwrap_or_default(),
        ignore_failures: str_of("failurePolicy").as_deref() == Some("Ignore"),
        equivalent: str_of("matchPolicy").as_deref() != Some("Exact"),
        namespace_selector: w.get("namespaceSelector").cloned(),
        object_selector: w.get("objectSelector").cloned(),
        side_effects: str_of("sideEffects"),
        timeout: Duration::from_secs(w.get("timeoutSeconds").and_then(Value::as_u64).unwrap_or(10).clamp(1, 30)),
        review_versions: strings(w, "admissionReviewVersions"),
        reinvoke: mutating && str_of("reinvocationPolicy").as_deref() == Some("IfNeeded"),
        match_conditions,
        target,
        client,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn parses_hooks_with_their_defaults_and_targets() {
        let cfg = json!({"metadata": {"name": "c"}, "webhooks": [
            {"name": "a.example.com", "clientConfig": {"url": "https://127.0.0.1:8443/a"}, "sideEffects": "None",
             "admissionReviewVersions": ["v1"], "failurePolicy": "Ignore", "timeoutSeconds": 3,
             "reinvocationPolicy": "IfNeeded", "matchConditions": [{"name": "n", "expression": "true"}]},
            {"name": "b.example.com", "clientConfig": {"service": {"namespace": "ns", "name": "svc", "path": "/v"}},
             "matchPolicy": "Exact", "caBundle": "!!"}
        ]});
        let hooks = parse_configuration(&cfg, true);
        assert_eq!(hooks.len(), 2);
        assert_eq!(hooks[0].uid, "c/0");
        assert!(hooks[0].ignore_failures && hooks[0].reinvoke && hooks[0].equivalent);
        assert_eq!(hooks[0].timeout, Duration::from_secs(3));
        assert_eq!(hooks[0].match_conditions.as_ref().unwrap().names().collect::<Vec<_>>(), vec!["n"]);
        assert!(hooks[1].match_conditions.as_ref().unwrap().is_empty());
        assert_eq!(hooks[1].target.url(), "https://svc.ns.svc:443/v");
        assert!(!hooks[1].ignore_failures && !hooks[1].equivalent);
        assert_eq!(hooks[1].timeout, Duration::from_secs(10));
        assert!(hooks[0].client.is_ok());
    }
}
