//! CEL for Kubernetes: the expression environment of `x-kubernetes-validations` (and later
//! of ValidatingAdmissionPolicy) over the `cel` crate: the standard library and its
//! strings, lists and math extensions, plus the Kubernetes libraries operators use (lists,
//! regex, URLs, quantities), with values typed by their OpenAPI schema.
//!
//! [`RuleSet`] compiles the rules of a CRD version once; [`RuleSet::validate`] evaluates
//! them on an object (and its old version for transition rules), producing the field errors
//! the real API server produces.

pub mod admission;
mod libs;
pub mod typecheck;
mod values;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use serde_json::Value;

use crate::registry::crd::schema::{Additional, RuleSpec, Schema};
use crate::registry::field_error::FieldError;

pub use values::to_cel;

/// Per-expression static cost limit (`StaticEstimatedCostLimit`).
pub const STATIC_COST_LIMIT: u64 = 10_000_000;
/// Cost budget of all rules evaluated for one object (`RuntimeCELCostBudget`).
pub const RUNTIME_COST_BUDGET: u64 = 10_000_000;

/// The shared environment: standard library, extensions and macros.
fn env() -> Arc<cel::Env> {
    static ENV: OnceLock<Arc<cel::Env>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = cel::Env::stdlib();
        let _ = cel::extensions::strings(&mut env);
        let _ = cel::extensions::lists(&mut env);
        let _ = cel::extensions::math(&mut env);
        Arc::new(env)
    })
    .clone()
}

thread_local! {
    /// A root context with the Kubernetes library functions, shared by evaluations.
    static ROOT: cel::Context<'static, 'static> = {
        let mut ctx = cel::Context::with_env(env());
        libs::register(&mut ctx);
        ctx
    };
}

/// A compiled expression.
pub struct Expr {
    program: cel::Program,
    /// Whether the expression refers to `oldSelf` (a transition rule).
    pub uses_old_self: bool,
}

impl std::fmt::Debug for Expr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Expr").field("uses_old_self", &self.uses_old_self).finish()
    }
}

/// Compile an expression; the error is cel-go's text (`ERROR: <input>:1:5: …`).
pub fn compile(source: &str) -> Result<Expr, String> {
    let program = env().compile(source).map_err(|e| e.to_string())?;
    let refs = program.references();
    let uses_old_self = refs.has_variable("oldSelf");
    let bound = comprehension_vars(source);
    for var in refs.variables() {
        if !matches!(var, "self" | "oldSelf") && !libs::is_namespace(var) && !bound.iter().any(|b| b == var) {
            return Err(format!("ERROR: <input>:1:1: undeclared reference to '{var}' (in container '')"));
        }
    }
    Ok(Expr { program, uses_old_self })
}

/// How `oldSelf` is bound.
#[derive(Clone, Copy)]
pub enum OldSelf<'a> {
    /// Not bound (the rule does not use it).
    Absent,
    Plain(&'a cel::Value),
    /// `optionalOldSelf: true`: an optional, none on create.
    Optional(Option<&'a cel::Value>),
}

/// Variables the macros of an expression bind (`x` in `self.all(x, …)`).
fn comprehension_vars(source: &str) -> Vec<String> {
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(r"\.\s*(?:all|exists|exists_one|map|filter|sortBy|transformList|transformMap)\s*\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*,(?:\s*([A-Za-z_][A-Za-z0-9_]*)\s*,)?")
            .expect("valid regex")
    });
    let mut out = Vec::new();
    for c in re.captures_iter(source) {
        for i in [1, 2] {
            if let Some(m) = c.get(i) {
                out.push(m.as_str().to_string());
            }
        }
    }
    out.extend(["@it", "@ac", "__result__", "@result"].iter().map(|s| s.to_string()));
    out
}

/// The outcome of evaluating an expression.
#[derive(Debug)]
pub enum Outcome {
    Value(cel::Value),
    Error(String),
}

impl Expr {
    /// Evaluate with `self` and, for transition rules, `oldSelf`.
    pub fn eval(&self, this: &cel::Value, old: OldSelf<'_>) -> Outcome {
        ROOT.with(|root| {
            let mut ctx = root.new_inner_scope();
            ctx.add_variable_from_value("self", this.clone());
            match old {
                OldSelf::Absent => {}
                OldSelf::Plain(o) => ctx.add_variable_from_value("oldSelf", o.clone()),
                OldSelf::Optional(o) => {
                    let opt = match o.and_then(|v| Box::<dyn cel::common::value::Val>::try_from(v.clone()).ok()) {
                        Some(inner) => cel::common::types::CelOptional::of(inner),
                        None => cel::common::types::CelOptional::none(),
                    };
                    ctx.add_variable_as_val("oldSelf", Box::new(opt));
                }
            }
            match self.program.execute(&ctx) {
                Ok(v) => Outcome::Value(v),
                Err(e) => Outcome::Error(e.to_string()),
            }
        })
    }
}

/// A compiled rule of a schema node.
#[derive(Debug)]
struct CompiledRule {
    spec: RuleSpec,
    rule: Result<Expr, String>,
    message: Option<Result<Expr, String>>,
}

/// The compiled rules of a CRD version's schema, keyed by rule text.
#[derive(Debug, Default)]
pub struct RuleSet {
    rules: HashMap<String, Arc<CompiledRule>>,
}

impl RuleSet {
    /// Compile every rule of a schema (nothing when it has none).
    pub fn new(schema: &Schema) -> RuleSet {
        let mut set = RuleSet::default();
        set.collect(schema);
        set
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    fn collect(&mut self, s: &Schema) {
        for r in &s.validations {
            self.rules.entry(r.rule.clone()).or_insert_with(|| {
                Arc::new(CompiledRule {
                    spec: r.clone(),
                    rule: compile(&r.rule),
                    message: (!r.message_expression.trim().is_empty()).then(|| compile(&r.message_expression)),
                })
            });
        }
        for p in s.properties.values() {
            self.collect(p);
        }
        if let Some(i) = &s.items {
            self.collect(i);
        }
        if let Some(Additional::Schema(a)) = &s.additional_properties {
            self.collect(a);
        }
        for a in &s.all_of {
            self.collect(a);
        }
    }

    /// Evaluate every rule on `obj` (the resource; `old` on update), as
    /// apiextensions' CEL validator does.
    pub fn validate(&self, schema: &Schema, obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
        let mut errs = Vec::new();
        let mut budget = RUNTIME_COST_BUDGET as i64;
        self.walk(schema, obj, old, "", true, &mut errs, &mut budget);
        errs
    }

    #[allow(clippy::too_many_arguments)]
    fn walk(
        &self,
        s: &Schema,
        obj: &Value,
        old: Option<&Value>,
        path: &str,
        root: bool,
        errs: &mut Vec<FieldError>,
        budget: &mut i64,
    ) {
        if obj.is_null() || *budget < 0 {
            return;
        }
        if !s.validations.is_empty() {
            self.node_rules(s, obj, old, path, root, errs, budget);
        }
        for a in &s.all_of {
            self.walk(a, obj, old, path, root, errs, budget);
        }
        match obj {
            Value::Object(map) => {
                let correlatable = s.map_type.as_deref().is_none_or(|t| t == "granular" || t == "atomic");
                for (k, v) in map {
                    let (child, p) = match s.properties.get(k) {
                        Some(c) => (Some(c), child_path(path, k)),
                        None => match &s.additional_properties {
                            Some(Additional::Schema(a)) => (Some(a.as_ref()), format!("{path}[{k}]")),
                            _ => (None, String::new()),
                        },
                    };
                    if let Some(c) = child {
                        let old_v = if correlatable { old.and_then(|o| o.get(k)) } else { None };
                        self.walk(c, v, old_v, &p, false, errs, budget);
                    }
                }
            }
            Value::Array(items) => {
                if let Some(item) = &s.items {
                    for (i, v) in items.iter().enumerate() {
                        let old_v = old.and_then(|o| correlated_item(s, o, v));
                        self.walk(item, v, old_v, &format!("{path}[{i}]"), false, errs, budget);
                    }
                }
            }
            _ => {}
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn node_rules(
        &self,
        s: &Schema,
        obj: &Value,
        old: Option<&Value>,
        path: &str,
        root: bool,
        errs: &mut Vec<FieldError>,
        budget: &mut i64,
    ) {
        let this = to_cel(obj, Some(s), root);
        let old_val = old.map(|o| to_cel(o, Some(s), root));
        let field = if path.is_empty() { "<nil>".to_string() } else { path.to_string() };
        let type_ = Value::String(if s.type_.is_empty() && s.int_or_string { String::new() } else { s.type_.clone() });
        for r in &s.validations {
            let Some(compiled) = self.rules.get(&r.rule) else { continue };
            let expr = match &compiled.rule {
                Ok(e) => e,
                Err(e) => {
                    errs.push(FieldError::invalid(&field, type_.clone(), format!("rule compile error: {e}")));
                    continue;
                }
            };
            let optional = r.optional_old_self == Some(true);
            if expr.uses_old_self && old_val.is_none() && !optional {
                continue;
            }
            *budget -= cost_of(obj);
            if *budget < 0 {
                errs.push(FieldError::invalid(
                    &field,
                    type_.clone(),
                    "validation failed due to running out of cost budget, no further validation rules will be run",
                ));
                return;
            }
            let binding = match (expr.uses_old_self, optional, old_val.as_ref()) {
                (false, _, _) => OldSelf::Absent,
                (true, true, o) => OldSelf::Optional(o),
                (true, false, Some(o)) => OldSelf::Plain(o),
                (true, false, None) => OldSelf::Absent,
            };
            match expr.eval(&this, binding) {
                Outcome::Value(cel::Value::Bool(true)) => {}
                Outcome::Value(_) => {
                    let target = if r.field_path.is_empty() {
                        field.clone()
                    } else {
                        format!("{}{}", path, normalize_field_path(&r.field_path))
                    };
                    let message = self.message(compiled, &this, binding);
                    errs.push(error_for_reason(&target, type_.clone(), message, r.reason.as_deref()));
                }
                Outcome::Error(e) => {
                    let text = rule_error_string(r);
                    if e.contains("found no matching overload") {
                        errs.push(FieldError::invalid(
                            &field,
                            type_.clone(),
                            format!("'no such overload': call arguments did not match a supported operator, function or macro signature for rule: {text}"),
                        ));
                    } else {
                        errs.push(FieldError::invalid(
                            &field,
                            type_.clone(),
                            format!("{} evaluating rule: {text}", lower_first(&e)),
                        ));
                    }
                }
            }
        }
    }

    fn message(&self, compiled: &CompiledRule, this: &cel::Value, old: OldSelf<'_>) -> String {
        if let Some(Ok(me)) = &compiled.message
            && let Outcome::Value(cel::Value::String(s)) = me.eval(this, old)
        {
            let t = s.trim();
            if !t.is_empty() && !t.contains('\n') && t.len() <= 5 * 1024 {
                return t.to_string();
            }
        }
        rule_message_or_default(&compiled.spec)
    }
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// A rough runtime cost of evaluating rules on a value: its size.
fn cost_of(v: &Value) -> i64 {
    match v {
        Value::Array(a) => 1 + a.iter().map(cost_of).sum::<i64>(),
        Value::Object(m) => 1 + m.values().map(cost_of).sum::<i64>(),
        Value::String(s) => 1 + (s.len() as i64) / 10,
        _ => 1,
    }
}

fn child_path(path: &str, k: &str) -> String {
    if path.is_empty() { k.to_string() } else { format!("{path}.{k}") }
}

/// Old items of `x-kubernetes-list-type: map` lists correlate by key; other lists do not.
fn correlated_item<'a>(s: &Schema, old: &'a Value, item: &Value) -> Option<&'a Value> {
    if s.list_type.as_deref() != Some("map") || s.list_map_keys.is_empty() {
        return None;
    }
    old.as_array()?.iter().find(|o| s.list_map_keys.iter().all(|k| o.get(k) == item.get(k)))
}

fn rule_error_string(r: &RuleSpec) -> String {
    if r.message.is_empty() { r.rule.trim().to_string() } else { r.message.trim().to_string() }
}

fn rule_message_or_default(r: &RuleSpec) -> String {
    if r.message.is_empty() { format!("failed rule: {}", rule_error_string(r)) } else { r.message.trim().to_string() }
}

fn error_for_reason(path: &str, value: Value, detail: String, reason: Option<&str>) -> FieldError {
    match reason {
        Some("FieldValueForbidden") => FieldError::forbidden(path, detail),
        Some("FieldValueRequired") => FieldError::required(path, detail),
        Some("FieldValueDuplicate") => FieldError::duplicate(path, value),
        _ => FieldError::invalid(path, value, detail),
    }
}

/// `.spec.x` or `['a.b']` field paths of rules, rendered as field path suffixes.
fn normalize_field_path(fp: &str) -> String {
    let mut out = String::new();
    let mut rest = fp.trim();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            out.push('.');
            out.push_str(&r[..end]);
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix("['") {
            let end = r.find("']").unwrap_or(r.len());
            out.push_str(&format!("[{}]", &r[..end]));
            rest = r.get(end + 2..).unwrap_or("");
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']').unwrap_or(r.len());
            out.push_str(&format!("[{}]", &r[..end]));
            rest = r.get(end + 1..).unwrap_or("");
        } else {
            break;
        }
    }
    out
}

/// Check a rule's `fieldPath` against the schema it sits on (`ValidFieldPath`).
pub fn rule_field_path(schema: &Schema, fp: &str) -> Result<String, String> {
    let mut cur = schema;
    let mut rest = fp.trim();
    if !rest.starts_with('.') && !rest.starts_with('[') {
        return Err(format!("expected [ or . but got: {}", rest.chars().next().unwrap_or(' ')));
    }
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            cur = cur.properties.get(&r[..end]).ok_or("does not refer to a valid field")?;
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix("['") {
            let end = r.find("']").ok_or("unexpected end of JSON path")?;
            let k = &r[..end];
            cur = cur.properties.get(k).or_else(|| cur.child(k)).ok_or("does not refer to a valid field")?;
            rest = &r[end + 2..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']').ok_or("unexpected end of JSON path")?;
            cur = cur.items.as_deref().ok_or("does not refer to a valid field")?;
            rest = &r[end + 1..];
        } else {
            return Err("unexpected end of JSON path".into());
        }
    }
    Ok(normalize_field_path(fp))
}

/// Render a rule the way Go's `%#v` prints an `apiextensions.ValidationRule`.
fn render_rule(r: &Value) -> String {
    let s = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let reason = match r.get("reason").and_then(Value::as_str) {
        Some(_) => "(*apiextensions.FieldValueErrorReason)(0xc000000000)".to_string(),
        None => "(*apiextensions.FieldValueErrorReason)(nil)".to_string(),
    };
    let optional = match r.get("optionalOldSelf").and_then(Value::as_bool) {
        Some(_) => "(*bool)(0xc000000000)".to_string(),
        None => "(*bool)(nil)".to_string(),
    };
    format!(
        "apiextensions.ValidationRule{{Rule:{:?}, Message:{:?}, MessageExpression:{:?}, Reason:{reason}, FieldPath:{:?}, OptionalOldSelf:{optional}}}",
        s("rule"),
        s("message"),
        s("messageExpression"),
        s("fieldPath")
    )
}

/// CRD-time checks of every `x-kubernetes-validations` rule of a schema: each compiles,
/// its messageExpression too, `oldSelf` only where old and new values correlate, and
/// `optionalOldSelf` only with `oldSelf`. `root` is the schema's path
/// (`spec.validation.openAPIV3Schema`).
pub fn validate_schema_rules(schema: &Value, root: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    check_rules(schema, root, None, &mut errs);
    errs
}

fn check_rules(v: &Value, path: &str, uncorrelatable: Option<&str>, errs: &mut Vec<FieldError>) {
    let Some(m) = v.as_object() else { return };
    for (i, rule) in m.get("x-kubernetes-validations").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let rp = format!("{path}.x-kubernetes-validations[{i}]");
        let text = rule.get("rule").and_then(Value::as_str).unwrap_or("");
        if text.trim().is_empty() {
            continue;
        }
        match compile(text) {
            Err(e) => errs.push(FieldError::invalid_rendered(
                format!("{rp}.rule"),
                render_rule(rule),
                format!("compilation failed: {e}"),
            )),
            Ok(expr) => {
                if expr.uses_old_self {
                    if let Some(p) = uncorrelatable {
                        errs.push(FieldError::invalid(
                            format!("{rp}.rule"),
                            text,
                            format!("oldSelf cannot be used on the uncorrelatable portion of the schema within {p}"),
                        ));
                    }
                } else if let Some(b) = rule.get("optionalOldSelf").and_then(Value::as_bool) {
                    errs.push(FieldError::invalid(
                        format!("{rp}.optionalOldSelf"),
                        b,
                        "may not be set if oldSelf is not used in rule",
                    ));
                }
            }
        }
        if let Some(me) = rule.get("messageExpression").and_then(Value::as_str).filter(|m| !m.trim().is_empty())
            && let Err(e) = compile(me)
        {
            errs.push(FieldError::invalid_rendered(
                format!("{rp}.messageExpression"),
                render_rule(rule),
                format!("messageExpression compilation failed: {e}"),
            ));
        }
    }
    let map_correlatable =
        m.get("x-kubernetes-map-type").and_then(Value::as_str).is_none_or(|t| t == "granular" || t == "atomic");
    if let Some(props) = m.get("properties").and_then(Value::as_object) {
        for (k, p) in props {
            let unc = if map_correlatable { uncorrelatable } else { uncorrelatable.or(Some(path)) };
            check_rules(p, &format!("{path}.properties[{k}]"), unc, errs);
        }
    }
    if let Some(add) = m.get("additionalProperties").filter(|a| a.is_object()) {
        check_rules(add, &format!("{path}.additionalProperties"), uncorrelatable, errs);
    }
    if let Some(items) = m.get("items").filter(|i| i.is_object()) {
        let is_map = m.get("x-kubernetes-list-type").and_then(Value::as_str) == Some("map");
        let unc = if is_map { uncorrelatable } else { uncorrelatable.or(Some(path)) };
        check_rules(items, &format!("{path}.items"), unc, errs);
    }
}

#[cfg(test)]
mod tests;
