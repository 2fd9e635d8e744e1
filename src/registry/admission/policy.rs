//! ValidatingAdmissionPolicy and ValidatingAdmissionPolicyBinding (CEL), as the real API
//! server's `validatingadmissionpolicy` plugin: for each policy whose `matchConstraints`
//! match the request, each of its bindings whose `matchResources` match, and each param
//! the binding selects, the policy's `matchConditions`, `variables`, `validations` and
//! `auditAnnotations` are evaluated; failed validations act by the binding's
//! `validationActions` (Deny → the request is refused with the validation's reason,
//! Warn → a `Warning` header, Audit → nothing here: there is no audit log). Evaluation
//! errors and missing params follow the policy's `failurePolicy`.
//!
//! Policies and bindings are compiled once into [`Cache`] and rebuilt after any write of
//! either; with no policy stored a write costs one atomic load.
//!
//! `authorizer` checks are answered "allowed" (RBAC is not enforced yet). Expressions
//! are not type-checked (there is no CEL type checker here), so `status.typeChecking`
//! is not filled and type errors show at evaluation.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use serde_json::{Value, json};

use super::attributes::{Attributes, Operation};
use super::matching;
use crate::cel::admission::{Activation, Decls, Expr, MatchConditions, compile};
use crate::registry::Registry;
use crate::registry::error::{ApiError, ApiResult};
use crate::registry::list::ListOptions;
use crate::registry::resource::ResourceInfo;
use crate::registry::selector::LabelSelector;

const GROUP: &str = "admissionregistration.k8s.io";
const POLICIES: &str = "validatingadmissionpolicies";
const BINDINGS: &str = "validatingadmissionpolicybindings";
/// Longest message a messageExpression may produce.
const MAX_MESSAGE_LEN: usize = 5 * 1024;

/// The compiled policies with their bindings, rebuilt after a write of either kind.
#[derive(Default)]
pub struct Cache {
    /// Bumped by every invalidation; a compiled set is current while its number matches.
    generation: AtomicU64,
    /// The compiled set and the generation it was built at.
    state: RwLock<Option<(u64, Arc<Compiled>)>>,
}

impl Cache {
    /// An object of `res` was written: forget what was built from such objects.
    pub fn invalidate(&self, res: &ResourceInfo) {
        if res.plural == POLICIES || res.plural == BINDINGS {
            self.generation.fetch_add(1, Ordering::AcqRel);
        }
    }

    async fn get(&self, reg: &Registry) -> ApiResult<Arc<Compiled>> {
        let mut last = None;
        for _ in 0..3 {
            let generation = self.generation.load(Ordering::Acquire);
            if let Ok(s) = self.state.read()
                && let Some((g, c)) = s.as_ref()
                && *g == generation
            {
                return Ok(c.clone());
            }
            let compiled = Arc::new(load(reg).await?);
            if self.generation.load(Ordering::Acquire) == generation {
                if let Ok(mut s) = self.state.write() {
                    *s = Some((generation, compiled.clone()));
                }
                return Ok(compiled);
            }
            last = Some(compiled);
        }
        Ok(last.unwrap_or_default())
    }
}

#[derive(Default)]
struct Compiled {
    /// Policies that have at least one binding, by name.
    policies: Vec<Policy>,
}

struct Validation {
    expr: Result<Expr, String>,
    source: String,
    message: String,
    message_expr: Option<Expr>,
    reason: Option<String>,
}

struct Policy {
    name: String,
    fail: bool,
    /// `(group, version, kind)`.
    param_kind: Option<(String, String, String)>,
    constraints: Value,
    match_conditions: Result<MatchConditions, String>,
    variables: Vec<(String, Expr)>,
    /// Variables that did not compile: their errors.
    variable_errors: Vec<String>,
    validations: Vec<Validation>,
    audit: Vec<(String, Result<Expr, String>)>,
    bindings: Vec<Binding>,
}

struct Binding {
    name: String,
    param_ref: Option<Value>,
    match_resources: Option<Value>,
    actions: Vec<String>,
}

async fn list_all(reg: &Registry, plural: &str) -> ApiResult<Vec<Value>> {
    let Some(res) = reg.resource(GROUP, "v1", plural) else { return Ok(vec![]) };
    Ok(reg.list(&res, None, &ListOptions::default()).await?.items)
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

async fn load(reg: &Registry) -> ApiResult<Compiled> {
    let bindings = list_all(reg, BINDINGS).await?;
    if bindings.is_empty() {
        return Ok(Compiled::default());
    }
    let mut policies = list_all(reg, POLICIES).await?;
    policies.sort_by(|a, b| crate::registry::meta::name(a).cmp(crate::registry::meta::name(b)));
    let mut out = Vec::new();
    for p in &policies {
        let name = crate::registry::meta::name(p);
        let mut bs: Vec<Binding> = bindings
            .iter()
            .filter(|b| s(&b["spec"], "policyName") == name)
            .map(|b| Binding {
                name: crate::registry::meta::name(b).to_string(),
                param_ref: b["spec"].get("paramRef").filter(|v| v.is_object()).cloned(),
                match_resources: b["spec"].get("matchResources").filter(|v| v.is_object()).cloned(),
                actions: b["spec"]["validationActions"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
                    .unwrap_or_default(),
            })
            .collect();
        if bs.is_empty() {
            continue;
        }
        bs.sort_by(|a, b| a.name.cmp(&b.name));
        let mut policy = compile_policy(p);
        policy.bindings = bs;
        out.push(policy);
    }
    Ok(Compiled { policies: out })
}

fn compile_policy(p: &Value) -> Policy {
    let spec = &p["spec"];
    let param_kind = spec.get("paramKind").filter(|v| v.is_object()).map(|pk| {
        let (group, version) = match s(pk, "apiVersion").split_once('/') {
            Some((g, v)) => (g.to_string(), v.to_string()),
            None => (String::new(), s(pk, "apiVersion").to_string()),
        };
        (group, version, s(pk, "kind").to_string())
    });
    let decls = Decls::policy(param_kind.is_some());
    let list = |k: &str| spec.get(k).and_then(Value::as_array).cloned().unwrap_or_default();
    let match_conditions = MatchConditions::compile(&list("matchConditions"), "spec.matchConditions", decls)
        .map_err(|errs| errs.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "));
    let mut variables = Vec::new();
    let mut variable_errors = Vec::new();
    for v in list("variables") {
        match compile(s(&v, "expression"), decls) {
            Ok(e) => variables.push((s(&v, "name").to_string(), e)),
            Err(e) => variable_errors.push(format!("variable '{}': compilation failed: {e}", s(&v, "name"))),
        }
    }
    let validations = list("validations")
        .iter()
        .map(|v| {
            let source = s(v, "expression").to_string();
            let me = s(v, "messageExpression");
            let message_decls = Decls { authorizer: false, ..decls };
            Validation {
                expr: compile(&source, decls).map_err(|e| format!("compilation failed: {e}")),
                message: s(v, "message").trim().to_string(),
                message_expr: (!me.trim().is_empty()).then(|| compile(me, message_decls).ok()).flatten(),
                reason: v.get("reason").and_then(Value::as_str).map(str::to_string),
                source,
            }
        })
        .collect();
    let audit = list("auditAnnotations")
        .iter()
        .map(|a| {
            let src = s(a, "valueExpression").trim().to_string();
            let e = compile(&src, decls).map_err(|e| format!("compilation failed: {e}"));
            (src, e)
        })
        .collect();
    Policy {
        name: crate::registry::meta::name(p).to_string(),
        fail: s(spec, "failurePolicy") != "Ignore",
        param_kind,
        constraints: spec.get("matchConstraints").cloned().unwrap_or_else(|| json!({})),
        match_conditions,
        variables,
        variable_errors,
        validations,
        audit,
        bindings: Vec::new(),
    }
}

/// Resources that admission policies never apply to (so a bad policy cannot lock out its fix).
fn exempt(attrs: &Attributes<'_>) -> bool {
    attrs.res.group == GROUP
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

/// `matchConstraints` / `matchResources`: rules (none: all) and excluded rules, then the
/// object and namespace selectors (the latter may read the namespace, so it comes last).
async fn resources_match(reg: &Registry, mr: &Value, attrs: &Attributes<'_>, obj: Option<&Value>) -> ApiResult<bool> {
    let any_version = s(mr, "matchPolicy") != "Exact";
    let rules = |k: &str| mr.get(k).and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
    let include = rules("resourceRules");
    if !include.is_empty() && !matching::any_rule_matches(include, attrs, any_version) {
        return Ok(false);
    }
    if matching::any_rule_matches(rules("excludeResourceRules"), attrs, any_version) {
        return Ok(false);
    }
    if !matching::object_selector_matches(mr.get("objectSelector"), attrs, obj)? {
        return Ok(false);
    }
    matching::namespace_selector_matches(reg, mr.get("namespaceSelector"), attrs, obj).await
}

/// One failed check, to be acted on.
struct Decision {
    message: String,
    /// `None` for evaluation errors (reported as Invalid).
    reason: Option<String>,
}

/// The params a binding selects: `[None]` when the policy has no paramKind or the binding
/// no paramRef; `[]` when none is found and that is allowed.
async fn collect_params(
    reg: &Registry,
    p: &Policy,
    b: &Binding,
    attrs: &Attributes<'_>,
) -> Result<Vec<Option<Value>>, String> {
    let (Some((group, version, kind)), Some(pr)) = (&p.param_kind, &b.param_ref) else {
        return Ok(vec![None]);
    };
    let Some(res) = reg.resource_for_kind(group, version, kind) else {
        let gv = if group.is_empty() { version.clone() } else { format!("{group}/{version}") };
        return Err(format!("paramKind kind `{gv}, Kind={kind}` not known"));
    };
    let ref_ns = s(pr, "namespace");
    let ns = if res.namespaced {
        let ns = if ref_ns.is_empty() { attrs.namespace.as_str() } else { ref_ns };
        if ns.is_empty() {
            return Err("cannot use namespaced paramRef in policy binding that matches cluster-scoped resources".into());
        }
        Some(ns)
    } else if !ref_ns.is_empty() {
        return Err("paramRef.namespace must not be provided for a cluster-scoped `paramKind`".into());
    } else {
        None
    };
    let name = s(pr, "name");
    let params: Vec<Option<Value>> = if !name.is_empty() {
        reg.read(&res, ns, name)
            .await
            .map_err(|e| e.message)?
            .map(|(v, _)| Some(with_type(v, &res)))
            .into_iter()
            .collect()
    } else if let Some(sel) = pr.get("selector").filter(|v| v.is_object()) {
        let sel = LabelSelector::from_object(sel)?;
        let opts = ListOptions { label_selector: Some(sel), ..Default::default() };
        let items = reg.list(&res, ns, &opts).await.map_err(|e| e.message)?.items;
        items.into_iter().map(|v| Some(with_type(v, &res))).collect()
    } else {
        return Err("one of name or selector must be provided".into());
    };
    if params.is_empty() && s(pr, "parameterNotFoundAction") == "Deny" {
        return Err("no params found for policy binding with `Deny` parameterNotFoundAction".into());
    }
    Ok(params)
}

fn with_type(mut v: Value, res: &ResourceInfo) -> Value {
    let api_version = if res.group.is_empty() { res.version.clone() } else { format!("{}/{}", res.group, res.version) };
    if let Some(o) = v.as_object_mut() {
        o.insert("apiVersion".into(), api_version.into());
        o.insert("kind".into(), res.kind.clone().into());
    }
    v
}

/// Evaluate one policy for one binding and param: the failed checks, each either acted on
/// by the binding's actions (`false`) or always denying (`true`: audit annotation errors).
fn evaluate(p: &Policy, act: &mut Activation) -> Vec<(Decision, bool)> {
    let error = |message: String| Decision { message, reason: None };
    let mut out = Vec::new();
    match &p.match_conditions {
        Err(e) => {
            if p.fail {
                out.push((error(e.clone()), false));
            }
            return out;
        }
        Ok(mc) if !mc.is_empty() => match mc.matches(act) {
            Ok(true) => {}
            Ok(false) => return out,
            Err(e) => {
                if p.fail {
                    out.push((error(e), false));
                }
                return out;
            }
        },
        Ok(_) => {}
    }
    if let Some(e) = p.variable_errors.first() {
        if p.fail {
            out.push((error(e.clone()), false));
        }
        return out;
    }
    act.bind_variables(&p.variables);
    for v in &p.validations {
        let result = match &v.expr {
            Ok(e) => e.eval_bool(act),
            Err(e) => Err(e.clone()),
        };
        match result {
            Ok(true) => {}
            Ok(false) => {
                let mut message = String::new();
                if let Some(me) = &v.message_expr
                    && let Ok(cel::Value::String(m)) = me.eval(act)
                {
                    let t = m.trim();
                    if t.len() <= MAX_MESSAGE_LEN && !t.contains('\n') {
                        message = t.to_string();
                    }
                }
                if message.is_empty() {
                    message = v.message.clone();
                }
                if message.is_empty() {
                    message = format!("failed expression: {}", v.source.trim());
                }
                let reason = Some(v.reason.clone().unwrap_or_else(|| "Invalid".into()));
                out.push((Decision { message, reason }, false));
            }
            Err(e) => {
                if p.fail {
                    out.push((error(e), false));
                }
            }
        }
    }
    for (src, a) in &p.audit {
        let result = match a {
            Ok(e) => match e.eval(act) {
                Ok(cel::Value::String(_) | cel::Value::Null) => Ok(()),
                Ok(other) => Err(format!(
                    "valueExpression '{src}' resulted in unsupported return type: {}. Return type must be either string or null.",
                    type_of(&other)
                )),
                Err(e) => Err(e),
            },
            Err(e) => Err(e.clone()),
        };
        if let Err(e) = result
            && p.fail
        {
            out.push((error(e), true));
        }
    }
    out
}

fn type_of(v: &cel::Value) -> &'static str {
    match v {
        cel::Value::Bool(_) => "bool",
        cel::Value::Int(_) => "int",
        cel::Value::UInt(_) => "uint",
        cel::Value::Float(_) => "double",
        cel::Value::List(_) => "list",
        cel::Value::Map(_) => "map",
        _ => "dyn",
    }
}

/// HTTP code of a denial's reason (`reasonToCode`).
fn reason_code(reason: &str) -> (u16, &'static str) {
    match reason {
        "Forbidden" => (403, "Forbidden"),
        "Unauthorized" => (401, "Unauthorized"),
        "RequestEntityTooLarge" => (413, "RequestEntityTooLarge"),
        "Invalid" => (422, "Invalid"),
        _ => (500, "InternalError"),
    }
}

fn denial(attrs: &Attributes<'_>, message: String, reason: Option<&str>) -> ApiError {
    let mut e = ApiError::forbidden(&attrs.res.group, &attrs.res.plural, &attrs.name, &message);
    let (code, reason) = reason_code(reason.unwrap_or("Invalid"));
    e.code = code;
    e.reason = reason;
    if let Some(Value::Object(d)) = e.details.as_deref_mut() {
        d.insert("causes".into(), json!([{"message": message}]));
    }
    e
}

/// Evaluate the bound policies that match a create, update or delete (`obj` is `None` for a delete).
pub async fn validate(
    reg: &Registry,
    attrs: &Attributes<'_>,
    obj: Option<&Value>,
    warnings: &mut Vec<String>,
) -> ApiResult<()> {
    if attrs.operation == Operation::Connect || exempt(attrs) {
        return Ok(());
    }
    let compiled = reg.admission.policies.get(reg).await?;
    if compiled.policies.is_empty() {
        return Ok(());
    }
    // The first denial: message and reason.
    let mut denied: Option<(String, Option<String>)> = None;
    let mut namespace: Option<Option<Value>> = None;
    for p in &compiled.policies {
        let config = |binding: Option<&str>, err: String| match binding {
            Some(_) => format!("failed to configure binding: {err}"),
            None => format!("failed to configure policy: {err}"),
        };
        let deny_msg = |binding: Option<&str>, msg: &str| match binding {
            Some(b) => format!("ValidatingAdmissionPolicy '{}' with binding '{b}' denied request: {msg}", p.name),
            None => format!("ValidatingAdmissionPolicy '{}' denied request: {msg}", p.name),
        };
        match resources_match(reg, &p.constraints, attrs, obj).await {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => {
                if p.fail && denied.is_none() {
                    denied = Some((deny_msg(None, &config(None, e.message)), None));
                }
                continue;
            }
        }
        if let Some((group, version, kind)) = &p.param_kind
            && reg.resource_for_kind(group, version, kind).is_none()
        {
            if p.fail && denied.is_none() {
                let gv = if group.is_empty() { format!("/{version}") } else { format!("{group}/{version}") };
                let err = format!("failed to find resource referenced by paramKind: '{gv}, Kind={kind}'");
                denied = Some((deny_msg(None, &config(None, err)), None));
            }
            continue;
        }
        for b in &p.bindings {
            if let Some(mr) = &b.match_resources {
                match resources_match(reg, mr, attrs, obj).await {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(e) => {
                        if p.fail && denied.is_none() {
                            denied = Some((deny_msg(Some(&b.name), &config(Some(&b.name), e.message)), None));
                        }
                        continue;
                    }
                }
            }
            let params = match collect_params(reg, p, b, attrs).await {
                Ok(ps) => ps,
                Err(e) => {
                    if p.fail && denied.is_none() {
                        denied = Some((deny_msg(Some(&b.name), &config(Some(&b.name), e)), None));
                    }
                    continue;
                }
            };
            if params.is_empty() {
                continue;
            }
            if namespace.is_none() {
                let is_namespace = attrs.res.group.is_empty() && attrs.res.plural == "namespaces";
                let ns = if is_namespace || attrs.namespace.is_empty() {
                    None
                } else {
                    matching::namespace_object(reg, attrs, obj).await?
                };
                namespace = Some(ns);
            }
            let ns = namespace.as_ref().and_then(Option::as_ref);
            for param in &params {
                let mut act = Activation::new(attrs, obj).with_params(param.as_ref()).with_namespace(ns);
                for (d, always) in evaluate(p, &mut act) {
                    if always {
                        if denied.is_none() {
                            denied = Some((deny_msg(Some(&b.name), &d.message), d.reason.clone()));
                        }
                        continue;
                    }
                    for action in &b.actions {
                        match action.as_str() {
                            "Deny" if denied.is_none() => {
                                denied = Some((deny_msg(Some(&b.name), &d.message), d.reason.clone()));
                            }
                            "Warn" => warnings.push(format!(
                                "Validation failed for ValidatingAdmissionPolicy '{}' with binding '{}': {}",
                                p.name, b.name, d.message
                            )),
                            _ => {}
                        }
                    }
                }
            }
        }
    }
    match denied {
        Some((message, reason)) => Err(denial(attrs, message, reason.as_deref())),
        None => Ok(()),
    }
}

/// Defaults of a policy or binding (`SetDefaults_ValidatingAdmissionPolicySpec`,
/// `SetDefaults_MatchResources`, `SetDefaults_Rule`).
pub fn apply_defaults(kind: &str, obj: &mut Value) {
    let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) else { return };
    let field = match kind {
        "ValidatingAdmissionPolicy" => {
            spec.entry("failurePolicy").or_insert_with(|| "Fail".into());
            "matchConstraints"
        }
        "ValidatingAdmissionPolicyBinding" => "matchResources",
        _ => return,
    };
    if let Some(mr) = spec.get_mut(field).and_then(Value::as_object_mut) {
        mr.entry("matchPolicy").or_insert_with(|| "Equivalent".into());
        mr.entry("namespaceSelector").or_insert_with(|| json!({}));
        mr.entry("objectSelector").or_insert_with(|| json!({}));
        for rules in ["resourceRules", "excludeResourceRules"] {
            if let Some(list) = mr.get_mut(rules).and_then(Value::as_array_mut) {
                for r in list.iter_mut().filter_map(Value::as_object_mut) {
                    r.entry("scope").or_insert_with(|| "*".into());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn defaults() {
        let mut p = json!({"spec": {"matchConstraints": {"resourceRules": [{"operations": ["CREATE"]}]}}});
        apply_defaults("ValidatingAdmissionPolicy", &mut p);
        assert_eq!(
            p,
            json!({"spec": {"failurePolicy": "Fail", "matchConstraints": {"matchPolicy": "Equivalent",
                "namespaceSelector": {}, "objectSelector": {}, "resourceRules": [{"operations": ["CREATE"], "scope": "*"}]}}})
        );
        let mut b = json!({"spec": {"policyName": "p"}});
        apply_defaults("ValidatingAdmissionPolicyBinding", &mut b);
        assert_eq!(b, json!({"spec": {"policyName": "p"}}));
    }

    #[test]
    fn reasons_map_to_codes() {
        assert_eq!(reason_code("Forbidden").0, 403);
        assert_eq!(reason_code("Invalid").0, 422);
        assert_eq!(reason_code("RequestEntityTooLarge").0, 413);
        assert_eq!(reason_code("Unauthorized").0, 401);
    }
}
