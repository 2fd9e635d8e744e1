//! The admission CEL environment, shared by ValidatingAdmissionPolicies and by the
//! `matchConditions` of admission webhooks (k8s.io/apiserver/pkg/admission/plugin/cel).
//!
//! Expressions see `object`, `oldObject`, `request` (the AdmissionRequest: kind, resource,
//! subResource, requestKind, requestResource, name, namespace, operation, userInfo, dryRun,
//! options), `authorizer`, and for policies `params`, `namespaceObject` and `variables`.
//! `object` is null on DELETE, `oldObject` null on CREATE.
//!
//! `authorizer` is a stub until RBAC is enforced: every check is allowed
//! (`authorizer.group('apps').resource('deployments').check('create').allowed()` is true).
//!
//! Use (webhook matchConditions):
//! ```ignore
//! let conds = webhook["matchConditions"].as_array().map(Vec::as_slice).unwrap_or(&[]);
//! // At validation: the field errors of the real server (names, duplicates, compile errors).
//! let compiled = MatchConditions::compile(conds, "webhooks[0].matchConditions", Decls::WEBHOOK)?;
//! // At admission (`obj` is None for a delete; `attrs.old` is the old object):
//! let act = Activation::new(&attrs, obj);
//! match compiled.matches(&act) {
//!     Ok(true) => { /* call the webhook */ }
//!     Ok(false) => { /* skip it */ }
//!     Err(message) => { /* failurePolicy decides; message is the real server's text */ }
//! }
//! ```

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::{Value, json};

use super::{env, libs, values::to_cel};
use crate::registry::admission::attributes::{Attributes, Operation};
use crate::registry::field_error::FieldError;
use crate::registry::validation::names;

/// Most match conditions a webhook or policy may have.
pub const MAX_MATCH_CONDITIONS: usize = 64;

/// Which variables an expression may use.
#[derive(Clone, Copy, Debug)]
pub struct Decls {
    /// `params` (the policy has a `paramKind`).
    pub params: bool,
    /// `authorizer` (not in messageExpressions).
    pub authorizer: bool,
    /// `namespaceObject` (policies).
    pub namespace_object: bool,
    /// `variables` (policies).
    pub variables: bool,
}

impl Decls {
    /// Webhook matchConditions: object, oldObject, request, authorizer.
    pub const WEBHOOK: Decls = Decls { params: false, authorizer: true, namespace_object: false, variables: false };

    /// Expressions of a policy (validations, variables, auditAnnotations, matchConditions).
    pub fn policy(params: bool) -> Decls {
        Decls { params, authorizer: true, namespace_object: true, variables: true }
    }

    fn allows(&self, var: &str) -> bool {
        match var {
            "object" | "oldObject" | "request" => true,
            "params" => self.params,
            "authorizer" => self.authorizer,
            "namespaceObject" => self.namespace_object,
            "variables" => self.variables,
            _ => false,
        }
    }
}

/// A compiled admission expression.
pub struct Expr {
    program: cel::Program,
    source: String,
    /// Names of `variables.<name>` the expression refers to.
    variables: Vec<String>,
}

impl std::fmt::Debug for Expr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Expr").field("source", &self.source).finish()
    }
}

/// Compile `source` for the given declarations; the error is cel-go's text
/// (`ERROR: <input>:1:1: undeclared reference to 'x' (in container '')`).
pub fn compile(source: &str, decls: Decls) -> Result<Expr, String> {
    let program = env().compile(source).map_err(|e| e.to_string())?;
    let bound = super::comprehension_vars(source);
    let mut undeclared: Vec<String> = Vec::new();
    for var in program.references().variables() {
        if !decls.allows(var) && !libs::is_namespace(var) && !bound.iter().any(|b| b == var) {
            undeclared.push(var.to_string());
        }
    }
    if let Some(var) = undeclared.first() {
        let col = source.find(var.as_str()).map(|i| i + 1).unwrap_or(1);
        return Err(format!(
            "ERROR: <input>:1:{col}: undeclared reference to '{var}' (in container '')\n | {source}\n | {}^",
            ".".repeat(col - 1)
        ));
    }
    let variables = variable_refs(source);
    Ok(Expr { program, source: source.to_string(), variables })
}

fn variable_refs(source: &str) -> Vec<String> {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| regex::Regex::new(r"\bvariables\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)").expect("valid regex"));
    re.captures_iter(source).filter_map(|c| c.get(1)).map(|m| m.as_str().to_string()).collect()
}

/// The values an expression is evaluated against.
pub struct Activation {
    object: cel::Value,
    old_object: cel::Value,
    request: cel::Value,
    params: cel::Value,
    namespace_object: cel::Value,
    variables: HashMap<String, cel::Value>,
    /// Variables whose evaluation failed, with the error.
    failed: HashMap<String, String>,
}

impl Activation {
    /// The activation of a request: `obj` is the new object (`None` for a delete), the
    /// old object comes from `attrs.old`.
    pub fn new(attrs: &Attributes<'_>, obj: Option<&Value>) -> Activation {
        let object = match (attrs.operation, obj) {
            (Operation::Delete, _) | (_, None) => cel::Value::Null,
            (_, Some(o)) => to_cel(o, None, true),
        };
        let old_object = match (attrs.operation, attrs.old) {
            (Operation::Create, _) | (_, None) => cel::Value::Null,
            (_, Some(o)) => to_cel(o, None, true),
        };
        Activation {
            object,
            old_object,
            request: to_cel(&request_of(attrs), None, true),
            params: cel::Value::Null,
            namespace_object: cel::Value::Null,
            variables: HashMap::new(),
            failed: HashMap::new(),
        }
    }

    /// Bind `params` (null when `None`).
    pub fn with_params(mut self, params: Option<&Value>) -> Activation {
        self.params = params.map(|p| to_cel(p, None, true)).unwrap_or(cel::Value::Null);
        self
    }

    /// Bind `namespaceObject` (null for cluster-scoped requests).
    pub fn with_namespace(mut self, ns: Option<&Value>) -> Activation {
        self.namespace_object = ns.map(|n| to_cel(&namespace_object(n), None, true)).unwrap_or(cel::Value::Null);
        self
    }

    /// Evaluate the policy's variables in order (each sees the ones before it).
    pub fn bind_variables(&mut self, vars: &[(String, Expr)]) {
        self.variables.clear();
        self.failed.clear();
        for (name, expr) in vars {
            match expr.eval(self) {
                Ok(v) => {
                    self.variables.insert(name.clone(), v);
                }
                Err(e) => {
                    self.failed.insert(name.clone(), e);
                }
            }
        }
    }
}

/// The AdmissionRequest of `attrs` as CEL's `request` sees it.
pub fn request_of(attrs: &Attributes<'_>) -> Value {
    let res = attrs.res;
    let kind = json!({"group": res.group, "version": res.version, "kind": res.kind});
    let resource = json!({"group": res.group, "version": res.version, "resource": res.plural});
    let mut user = serde_json::Map::new();
    let u = &attrs.ctx.user;
    if !u.username.is_empty() {
        user.insert("username".into(), u.username.clone().into());
    }
    if !u.uid.is_empty() {
        user.insert("uid".into(), u.uid.clone().into());
    }
    if !u.groups.is_empty() {
        user.insert("groups".into(), json!(u.groups));
    }
    if !u.extra.is_empty() {
        user.insert("extra".into(), json!(u.extra));
    }
    let mut r = json!({
        "uid": uuid::Uuid::new_v4().to_string(),
        "kind": kind.clone(),
        "resource": resource.clone(),
        "requestKind": kind,
        "requestResource": resource,
        "operation": attrs.operation.as_str(),
        "userInfo": Value::Object(user),
        "dryRun": attrs.ctx.dry_run,
        "options": attrs.options.clone(),
    });
    if !attrs.subresource.is_empty() {
        r["subResource"] = attrs.subresource.into();
        r["requestSubResource"] = attrs.subresource.into();
    }
    if !attrs.name.is_empty() {
        r["name"] = attrs.name.clone().into();
    }
    if !attrs.namespace.is_empty() {
        r["namespace"] = attrs.namespace.clone().into();
    }
    r
}

/// What `namespaceObject` shows of a Namespace: metadata (without managedFields), spec, status.
fn namespace_object(ns: &Value) -> Value {
    let mut out = json!({"apiVersion": "v1", "kind": "Namespace"});
    if let Some(m) = ns.get("metadata") {
        let mut m = m.clone();
        if let Some(o) = m.as_object_mut() {
            o.remove("managedFields");
        }
        out["metadata"] = m;
    }
    for k in ["spec", "status"] {
        if let Some(v) = ns.get(k) {
            out[k] = v.clone();
        }
    }
    out
}

thread_local! {
    /// A root context with the Kubernetes libraries and the authorizer stub.
    static ROOT: cel::Context<'static, 'static> = {
        let mut ctx = cel::Context::with_env(env());
        libs::register(&mut ctx);
        authz::register(&mut ctx);
        ctx
    };
}

impl Expr {
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Evaluate; the error is the real server's `expression '<src>' resulted in error: …`.
    pub fn eval(&self, act: &Activation) -> Result<cel::Value, String> {
        for v in &self.variables {
            if let Some(e) = act.failed.get(v) {
                return Err(format!("expression '{}' resulted in error: {e}", self.source));
            }
        }
        ROOT.with(|root| {
            let mut ctx = root.new_inner_scope();
            ctx.add_variable_from_value("object", act.object.clone());
            ctx.add_variable_from_value("oldObject", act.old_object.clone());
            ctx.add_variable_from_value("request", act.request.clone());
            ctx.add_variable_from_value("params", act.params.clone());
            ctx.add_variable_from_value("namespaceObject", act.namespace_object.clone());
            ctx.add_variable_from_value("authorizer", authz::authorizer());
            let vars: HashMap<cel::objects::Key, cel::Value> = act
                .variables
                .iter()
                .map(|(k, v)| (cel::objects::Key::String(Arc::new(k.clone())), v.clone()))
                .collect();
            ctx.add_variable_from_value("variables", cel::Value::Map(cel::objects::Map { map: Arc::new(vars) }));
            self.program.execute(&ctx).map_err(|e| {
                format!("expression '{}' resulted in error: {}", self.source, super::lower_first(&e.to_string()))
            })
        })
    }

    /// Evaluate to a bool; other results are errors.
    pub fn eval_bool(&self, act: &Activation) -> Result<bool, String> {
        match self.eval(act)? {
            cel::Value::Bool(b) => Ok(b),
            other => Err(format!(
                "expression '{}' resulted in error: expected a bool result, got {}",
                self.source,
                type_name(&other)
            )),
        }
    }
}

fn type_name(v: &cel::Value) -> &'static str {
    match v {
        cel::Value::Null => "null_type",
        cel::Value::Bool(_) => "bool",
        cel::Value::Int(_) => "int",
        cel::Value::UInt(_) => "uint",
        cel::Value::Float(_) => "double",
        cel::Value::String(_) => "string",
        cel::Value::List(_) => "list",
        cel::Value::Map(_) => "map",
        _ => "dyn",
    }
}

/// A compiled list of `matchConditions` (`{name, expression}`).
#[derive(Debug, Default)]
pub struct MatchConditions {
    conditions: Vec<(String, Expr)>,
}

impl MatchConditions {
    /// Check and compile `conds` as the real API server validates them: at most 64, each
    /// with a qualified `name` (unique) and an `expression` that compiles. `path` is the
    /// list's field path (`webhooks[0].matchConditions`) for the errors.
    pub fn compile(conds: &[Value], path: &str, decls: Decls) -> Result<MatchConditions, Vec<FieldError>> {
        let mut errs = Vec::new();
        if conds.len() > MAX_MATCH_CONDITIONS {
            errs.push(FieldError::too_many(path, conds.len(), MAX_MATCH_CONDITIONS));
        }
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for (i, c) in conds.iter().enumerate() {
            let p = format!("{path}[{i}]");
            let name = c.get("name").and_then(Value::as_str).unwrap_or("");
            let expression = c.get("expression").and_then(Value::as_str).unwrap_or("");
            let trimmed = expression.trim();
            if trimmed.is_empty() {
                errs.push(FieldError::required(format!("{p}.expression"), ""));
            } else {
                match compile(trimmed, decls) {
                    Ok(e) => out.push((name.to_string(), e)),
                    Err(e) => errs.push(FieldError::invalid(
                        format!("{p}.expression"),
                        trimmed,
                        format!("compilation failed: {e}"),
                    )),
                }
            }
            if name.is_empty() {
                errs.push(FieldError::required(format!("{p}.name"), ""));
            } else {
                for m in names::is_qualified_name(name) {
                    errs.push(FieldError::invalid(format!("{p}.name"), name, m));
                }
            }
            if !name.is_empty() && !seen.insert(name.to_string()) {
                errs.push(FieldError::duplicate(format!("{p}.name"), name));
            }
        }
        if errs.is_empty() { Ok(MatchConditions { conditions: out }) } else { Err(errs) }
    }

    pub fn is_empty(&self) -> bool {
        self.conditions.is_empty()
    }

    /// `Ok(false)` as soon as a condition is false; `Ok(true)` when all are true;
    /// otherwise the errors (one, or `[a, b]` for several), for the failure policy to decide.
    pub fn matches(&self, act: &Activation) -> Result<bool, String> {
        let mut errors = Vec::new();
        for (_, c) in &self.conditions {
            match c.eval(act) {
                Ok(cel::Value::Bool(false)) => return Ok(false),
                Ok(cel::Value::Bool(true)) => {}
                Ok(other) => errors.push(format!(
                    "expression '{}' resulted in error: expected a bool result, got {}",
                    c.source,
                    type_name(&other)
                )),
                Err(e) => errors.push(e),
            }
        }
        match errors.len() {
            0 => Ok(true),
            1 => Err(errors.remove(0)),
            _ => Err(format!("[{}]", errors.join(", "))),
        }
    }

    /// The names of the conditions, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.conditions.iter().map(|(n, _)| n.as_str())
    }
}

/// The `authorizer` library, answering every check with "allowed" until RBAC is enforced.
mod authz {
    use std::collections::HashMap;
    use std::sync::Arc;

    use cel::extractors::This;
    use cel::objects::{Key, Map};
    use cel::{ExecutionError, Value};

    const AUTHZ: &str = "__authorizer__";
    const DECISION: &str = "__decision__";

    fn marker(key: &str) -> Value {
        let mut m = HashMap::new();
        m.insert(Key::String(Arc::new(key.to_string())), Value::Bool(true));
        Value::Map(Map { map: Arc::new(m) })
    }

    fn is(v: &Value, key: &str) -> bool {
        matches!(v, Value::Map(m) if m.map.contains_key(&Key::String(Arc::new(key.to_string()))))
    }

    /// The `authorizer` variable (with its `requestResource`).
    pub fn authorizer() -> Value {
        let mut m = HashMap::new();
        m.insert(Key::String(Arc::new(AUTHZ.to_string())), Value::Bool(true));
        m.insert(Key::String(Arc::new("requestResource".to_string())), marker(AUTHZ));
        Value::Map(Map { map: Arc::new(m) })
    }

    fn check_authz(v: &Value, f: &str) -> Result<(), ExecutionError> {
        if is(v, AUTHZ) { Ok(()) } else { Err(ExecutionError::function_error(f, "no such overload")) }
    }

    fn chain1(This(this): This<Value>, _arg: Value) -> Result<Value, ExecutionError> {
        check_authz(&this, "authorizer")?;
        Ok(marker(AUTHZ))
    }

    fn chain2(This(this): This<Value>, _a: Value, _b: Value) -> Result<Value, ExecutionError> {
        check_authz(&this, "serviceAccount")?;
        Ok(marker(AUTHZ))
    }

    fn check(This(this): This<Value>, _verb: Value) -> Result<Value, ExecutionError> {
        check_authz(&this, "check")?;
        Ok(marker(DECISION))
    }

    fn decision(v: &Value, f: &str) -> Result<(), ExecutionError> {
        if is(v, DECISION) { Ok(()) } else { Err(ExecutionError::function_error(f, "no such overload")) }
    }

    fn allowed(This(this): This<Value>) -> Result<Value, ExecutionError> {
        decision(&this, "allowed")?;
        Ok(Value::Bool(true))
    }

    fn errored(This(this): This<Value>) -> Result<Value, ExecutionError> {
        decision(&this, "errored")?;
        Ok(Value::Bool(false))
    }

    fn text(This(this): This<Value>) -> Result<Value, ExecutionError> {
        decision(&this, "reason")?;
        Ok(Value::String(Arc::new(String::new())))
    }

    pub fn register(ctx: &mut cel::Context<'static, 'static>) {
        let results = [
            ctx.add_function("group", chain1),
            ctx.add_function("resource", chain1),
            ctx.add_function("subresource", chain1),
            ctx.add_function("namespace", chain1),
            ctx.add_function("name", chain1),
            ctx.add_function("path", chain1),
            ctx.add_function("serviceAccount", chain2),
            ctx.add_function("check", check),
            ctx.add_function("allowed", allowed),
            ctx.add_function("errored", errored),
            ctx.add_function("reason", text),
            ctx.add_function("error", text),
        ];
        for r in results {
            if let Err(e) = r {
                tracing::warn!(error = %e, "an authorizer CEL function could not be registered");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::registry::resource::ResourceInfo;
    use crate::registry::rest::Ctx;

    fn res(plural: &str, kind: &str, group: &str) -> ResourceInfo {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::sqlite::SqliteStore::open(&dir.path().join("s.db")).unwrap();
        let reg = crate::registry::Registry::new(store, crate::registry::RegistryConfig::default());
        let r = reg.resource(group, "v1", plural).unwrap();
        assert_eq!(r.kind, kind);
        (*r).clone()
    }

    #[test]
    fn expressions_see_object_request_and_variables() {
        let r = res("configmaps", "ConfigMap", "");
        let ctx = Ctx::default();
        let obj = json!({"metadata": {"name": "c", "namespace": "default", "labels": {"a": "b"}}, "data": {"k": "v"}});
        let attrs = Attributes::new(Operation::Create, &r, "", &ctx, &obj, None);
        let mut act = Activation::new(&attrs, Some(&obj)).with_params(Some(&json!({"data": {"max": "3"}})));
        let d = Decls::policy(true);
        let vars = vec![("n".to_string(), compile("size(object.data)", d).unwrap())];
        act.bind_variables(&vars);
        let t = |s: &str| compile(s, d).unwrap().eval_bool(&act);
        assert_eq!(t("object.metadata.name == 'c' && oldObject == null"), Ok(true));
        assert_eq!(
            t("request.operation == 'CREATE' && request.kind.kind == 'ConfigMap' && request.namespace == 'default'"),
            Ok(true)
        );
        assert_eq!(t("variables.n == 1 && int(params.data.max) == 3"), Ok(true));
        assert_eq!(t("authorizer.group('apps').resource('deployments').check('create').allowed()"), Ok(true));
        assert_eq!(
            t("object.data.missing == 'x'"),
            Err("expression 'object.data.missing == 'x'' resulted in error: no such key: missing".into())
        );
        assert!(compile("params.x", Decls::policy(false)).unwrap_err().contains("undeclared reference to 'params'"));
        assert!(compile("object.", d).is_err());
    }

    #[test]
    fn match_conditions() {
        let r = res("configmaps", "ConfigMap", "");
        let ctx = Ctx::default();
        let obj = json!({"metadata": {"name": "c", "namespace": "default"}});
        let attrs = Attributes::new(Operation::Create, &r, "", &ctx, &obj, None);
        let act = Activation::new(&attrs, Some(&obj));
        let mc = |c: Value| MatchConditions::compile(c.as_array().unwrap(), "matchConditions", Decls::WEBHOOK);
        assert_eq!(
            mc(json!([{"name": "a", "expression": "object.metadata.name == 'c'"}])).unwrap().matches(&act),
            Ok(true)
        );
        assert_eq!(
            mc(json!([{"name": "a", "expression": "true"}, {"name": "b", "expression": "false"}]))
                .unwrap()
                .matches(&act),
            Ok(false)
        );
        assert!(mc(json!([{"name": "a", "expression": "object.nope"}])).unwrap().matches(&act).is_err());
        let errs: Vec<String> = mc(json!([{"name": "a", "expression": "params.x"}, {"name": "a", "expression": ""}, {"name": "", "expression": "true"}]))
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(errs[0].starts_with("matchConditions[0].expression: Invalid value: \"params.x\": compilation failed: ERROR: <input>:1:1: undeclared reference to 'params'"), "{errs:?}");
        assert_eq!(errs[1], "matchConditions[1].expression: Required value");
        assert_eq!(errs[2], "matchConditions[1].name: Duplicate value: \"a\"");
        assert_eq!(errs[3], "matchConditions[2].name: Required value");
    }
}
