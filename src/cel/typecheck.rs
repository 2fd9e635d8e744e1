//! Best-effort static type checking of ValidatingAdmissionPolicy expressions, for
//! `status.typeChecking.expressionWarnings` (what the real server's type-checking
//! controller reports, k8s.io/apiserver …/policy/validating/typechecking.go).
//!
//! Types are inferred over the parsed AST: literals, `object`/`oldObject` (and `params`)
//! typed from the OpenAPI schema of each kind the policy matches, `variables` typed from
//! their own expressions, field selection (`undefined field 'x'` on objects whose schema
//! admits no other fields), the presence test, and the overloads of the comparison and
//! arithmetic operators (`found no matching overload for '_>_' applied to '(int, string)'`).
//! Everything not understood is `dyn`, which never fails: a missed warning is better than
//! a false one. Warnings are formatted as the real server formats them: one block per
//! checked kind, `apps/v1, Kind=Deployment: ERROR: <input>:1:22: …` followed by cel-go's
//! source snippet and caret.
//!
//! ```ignore
//! let targets = typecheck::types_to_check(&policy["spec"], |g, v, r| resolve(g, v, r));
//! let warnings = typecheck::policy_warnings(&schemas, &targets, params_def, &policy["spec"]);
//! ```

use std::collections::HashMap;

use cel::common::ast::{EntryExpr, Expr, IdedExpr, LiteralValue};
use serde_json::{Value, json};

use crate::registry::schema::{Node, REF_PREFIX, Schemas};

/// At most this many kinds are checked per policy (`maxTypesToCheck`).
const MAX_TYPES_TO_CHECK: usize = 10;

const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

/// A kind to check a policy's expressions against: its group-version-kind and the name of
/// its definition in the schema index.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct TypeTarget {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub definition: String,
}

impl TypeTarget {
    /// `apps/v1, Kind=Deployment` (Go's `GroupVersionKind.String()`; `/v1, Kind=Pod` for core).
    fn gvk_string(&self) -> String {
        format!("{}/{}, Kind={}", self.group, self.version, self.kind)
    }
}

/// The kinds a policy's `matchConstraints.resourceRules` name, as the real type checker
/// picks them: rules with a wildcard group or version are skipped, wildcard resources and
/// subresources are ignored, the search ends once one rule yields [`MAX_TYPES_TO_CHECK`];
/// sorted by group, version and kind. `resolve(group, version, resource)` finds the kind
/// served there (None: unknown).
pub fn types_to_check(spec: &Value, resolve: impl Fn(&str, &str, &str) -> Option<TypeTarget>) -> Vec<TypeTarget> {
    let mut found: Vec<TypeTarget> = Vec::new();
    let rules = spec.pointer("/matchConstraints/resourceRules").and_then(Value::as_array);
    let strings = |rule: &Value, key: &str| -> Vec<String> {
        let mut v: Vec<String> = rule
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(String::from)
            .collect();
        v.sort();
        v
    };
    for rule in rules.into_iter().flatten() {
        let groups = strings(rule, "apiGroups");
        let versions = strings(rule, "apiVersions");
        if groups.is_empty() || versions.is_empty() || groups.iter().chain(&versions).any(|s| s.contains('*')) {
            continue;
        }
        let resources: Vec<String> =
            strings(rule, "resources").into_iter().filter(|r| !r.contains('*') && !r.contains('/')).collect();
        let mut count = 0;
        for g in &groups {
            for v in &versions {
                for r in &resources {
                    let Some(t) = resolve(g, v, r) else { continue };
                    if !found.contains(&t) {
                        found.push(t);
                    }
                    count += 1;
                    if count == MAX_TYPES_TO_CHECK {
                        found.sort();
                        return found;
                    }
                }
            }
        }
    }
    found.sort();
    found
}

/// The `expressionWarnings` of a policy spec (`[{fieldRef, warning}]`): its validations'
/// `expression` and `messageExpression`, each checked against every target kind, with
/// `params` typed by `params_definition` (None: dyn). Empty when nothing is wrong.
pub fn policy_warnings(
    schemas: &Schemas,
    targets: &[TypeTarget],
    params_definition: Option<&str>,
    spec: &Value,
) -> Vec<Value> {
    let checkers: Vec<(&TypeTarget, Checker<'_>)> = targets
        .iter()
        .filter_map(|t| {
            let object = schemas.node(&t.definition)?;
            let params = params_definition.and_then(|d| schemas.node(d));
            let mut c = Checker::new(schemas, Some(object), params);
            for var in spec.get("variables").and_then(Value::as_array).into_iter().flatten() {
                if let (Some(name), Some(expr)) =
                    (var.get("name").and_then(Value::as_str), var.get("expression").and_then(Value::as_str))
                {
                    c.declare_variable(name, expr);
                }
            }
            Some((t, c))
        })
        .collect();
    let mut out = Vec::new();
    let mut check = |field_ref: String, source: &str| {
        let blocks: Vec<String> = checkers
            .iter()
            .filter_map(|(t, c)| {
                let issues = c.check(source);
                (!issues.is_empty()).then(|| format!("{}: {}\n", t.gvk_string(), display_issues(source, &issues)))
            })
            .collect();
        if !blocks.is_empty() {
            out.push(json!({"fieldRef": field_ref, "warning": blocks.join("\n")}));
        }
    };
    for (i, v) in spec.get("validations").and_then(Value::as_array).into_iter().flatten().enumerate() {
        if let Some(e) = v.get("expression").and_then(Value::as_str) {
            check(format!("spec.validations[{i}].expression"), e);
        }
        if let Some(m) = v.get("messageExpression").and_then(Value::as_str).filter(|m| !m.is_empty()) {
            check(format!("spec.validations[{i}].messageExpression"), m);
        }
    }
    out
}

/// A problem found in an expression: where (a character offset) and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issue {
    pub offset: usize,
    pub message: String,
}

/// cel-go's rendering of issues: `ERROR: <input>:L:C: msg`, the source line and a caret,
/// sorted by position, one after another.
pub fn display_issues(source: &str, issues: &[Issue]) -> String {
    let mut sorted = issues.to_vec();
    sorted.sort_by_key(|i| i.offset);
    sorted
        .iter()
        .map(|i| {
            let before: Vec<char> = source.chars().take(i.offset).collect();
            let line = before.iter().filter(|c| **c == '\n').count() + 1;
            let col = before.iter().rev().take_while(|c| **c != '\n').count();
            let snippet = source.lines().nth(line - 1).unwrap_or("").replace('\t', " ");
            format!("ERROR: <input>:{line}:{}: {}\n | {snippet}\n | {}^", col + 1, i.message, ".".repeat(col))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A static type.
#[derive(Clone, Debug)]
pub enum Ty<'a> {
    Dyn,
    Null,
    Bool,
    Int,
    Uint,
    Double,
    String,
    Bytes,
    Timestamp,
    Duration,
    List(Box<Ty<'a>>),
    Map(Box<Ty<'a>>, Box<Ty<'a>>),
    /// An object with declared properties. `root`: the root of a resource (`apiVersion`,
    /// `kind` and `metadata` always exist); `closed`: no other fields exist.
    Object {
        node: Node<'a>,
        root: bool,
        closed: bool,
    },
}

impl Ty<'_> {
    fn is_dyn(&self) -> bool {
        matches!(self, Ty::Dyn)
    }

    fn is_numeric(&self) -> bool {
        matches!(self, Ty::Int | Ty::Uint | Ty::Double)
    }

    /// Whether the type mentions an object type or dyn (whose rendering we cannot match,
    /// or which may match anything).
    fn is_vague(&self) -> bool {
        match self {
            Ty::Dyn | Ty::Object { .. } => true,
            Ty::List(e) => e.is_vague(),
            Ty::Map(k, v) => k.is_vague() || v.is_vague(),
            _ => false,
        }
    }

    fn same(&self, other: &Ty<'_>) -> bool {
        match (self, other) {
            (Ty::List(a), Ty::List(b)) => a.same(b),
            (Ty::Map(ak, av), Ty::Map(bk, bv)) => ak.same(bk) && av.same(bv),
            (Ty::Object { node: a, .. }, Ty::Object { node: b, .. }) => std::ptr::eq(a.schema(), b.schema()),
            (Ty::Object { .. }, _) | (_, Ty::Object { .. }) => false,
            _ => std::mem::discriminant(self) == std::mem::discriminant(other),
        }
    }
}

impl std::fmt::Display for Ty<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ty::Dyn => f.write_str("dyn"),
            Ty::Null => f.write_str("null_type"),
            Ty::Bool => f.write_str("bool"),
            Ty::Int => f.write_str("int"),
            Ty::Uint => f.write_str("uint"),
            Ty::Double => f.write_str("double"),
            Ty::String => f.write_str("string"),
            Ty::Bytes => f.write_str("bytes"),
            Ty::Timestamp => f.write_str("google.protobuf.Timestamp"),
            Ty::Duration => f.write_str("google.protobuf.Duration"),
            Ty::List(e) => write!(f, "list({e})"),
            Ty::Map(k, v) => write!(f, "map({k}, {v})"),
            Ty::Object { .. } => f.write_str("object"),
        }
    }
}

/// The `$ref` target of a field schema (bare or in a one-element `allOf`).
fn ref_name(raw: &Value) -> Option<&str> {
    raw.get("$ref")
        .or_else(|| raw.get("allOf").and_then(Value::as_array).filter(|a| a.len() == 1).and_then(|a| a[0].get("$ref")))
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix(REF_PREFIX).or_else(|| r.strip_prefix("#/definitions/")))
}

/// The CEL type of values of a schema, as Kubernetes declares them (SchemaDeclType), with
/// every doubtful case made dyn.
pub fn type_of_schema(node: Node<'_>) -> Ty<'_> {
    let resolved = node.schema();
    if node.is_int_or_string()
        || ref_name(node.raw()).is_some_and(|r| r.ends_with(".Quantity") || r.ends_with(".IntOrString"))
        || ["oneOf", "anyOf", "not"].iter().any(|k| resolved.get(k).is_some() || node.raw().get(k).is_some())
    {
        return Ty::Dyn;
    }
    let has_props = node.properties().is_some_and(|p| !p.is_empty());
    match node.type_() {
        Some("object") | None if has_props || node.type_().is_some() => {
            if let Some(ap) = node.additional_properties() {
                return Ty::Map(Box::new(Ty::String), Box::new(type_of_schema(ap)));
            }
            if !has_props || resolved.get("additionalProperties").is_some_and(|a| a != &Value::Bool(false)) {
                return Ty::Dyn;
            }
            let open = node.preserves_unknown_fields();
            Ty::Object { node, root: node.is_embedded_resource(), closed: !open }
        }
        Some("array") => match node.items() {
            Some(items) => Ty::List(Box::new(type_of_schema(items))),
            None => Ty::Dyn,
        },
        Some("string") => {
            match node.schema().get("format").or_else(|| node.raw().get("format")).and_then(Value::as_str) {
                Some("byte") => Ty::Bytes,
                Some("date-time" | "date") => Ty::Timestamp,
                Some("duration") => Ty::Duration,
                Some("int-or-string") => Ty::Dyn,
                _ => Ty::String,
            }
        }
        Some("integer") => Ty::Int,
        Some("number") => Ty::Double,
        Some("boolean") => Ty::Bool,
        _ => Ty::Dyn,
    }
}

/// Types expressions in one environment: `object`/`oldObject`, `params`, `variables`.
pub struct Checker<'a> {
    schemas: &'a Schemas,
    object: Ty<'a>,
    params: Ty<'a>,
    variables: HashMap<String, Ty<'a>>,
}

type Scope<'s, 'a> = Vec<(&'s str, Ty<'a>)>;

impl<'a> Checker<'a> {
    /// A checker with `object` (and `oldObject`) of the resource schema `object`, and
    /// `params` of `params`; None makes them dyn.
    pub fn new(schemas: &'a Schemas, object: Option<Node<'a>>, params: Option<Node<'a>>) -> Checker<'a> {
        let root = |n: Option<Node<'a>>| match n.map(type_of_schema) {
            Some(Ty::Object { node, closed, .. }) => Ty::Object { node, root: true, closed },
            _ => Ty::Dyn,
        };
        Checker { schemas, object: root(object), params: root(params), variables: HashMap::new() }
    }

    /// Declare `variables.<name>` with the type of `source` (dyn if it has issues).
    pub fn declare_variable(&mut self, name: &str, source: &str) {
        let ty = match super::env().compile(source) {
            Ok(p) => {
                let mut issues = Vec::new();
                let t = self.infer(p.expression(), &p, &mut Vec::new(), &mut issues);
                if issues.is_empty() { t } else { Ty::Dyn }
            }
            Err(_) => Ty::Dyn,
        };
        self.variables.insert(name.to_string(), ty);
    }

    /// The issues of one expression (none if it does not parse: that is reported elsewhere).
    pub fn check(&self, source: &str) -> Vec<Issue> {
        let Ok(p) = super::env().compile(source) else { return Vec::new() };
        let mut issues = Vec::new();
        self.infer(p.expression(), &p, &mut Vec::new(), &mut issues);
        issues
    }

    fn offset(p: &cel::Program, e: &IdedExpr) -> usize {
        p.source_info().offset_for(e.id).map(|(s, _)| s as usize).unwrap_or(0)
    }

    fn infer<'s>(
        &self,
        e: &'s IdedExpr,
        p: &cel::Program,
        scope: &mut Scope<'s, 'a>,
        issues: &mut Vec<Issue>,
    ) -> Ty<'a> {
        match &e.expr {
            Expr::Literal(l) => match l {
                LiteralValue::Boolean(_) => Ty::Bool,
                LiteralValue::Bytes(_) => Ty::Bytes,
                LiteralValue::Double(_) => Ty::Double,
                LiteralValue::Int(_) => Ty::Int,
                LiteralValue::Null => Ty::Null,
                LiteralValue::String(_) => Ty::String,
                LiteralValue::UInt(_) => Ty::Uint,
            },
            Expr::Ident(name) => self.ident(name, scope),
            Expr::Select(sel) => {
                if let Expr::Ident(root) = &sel.operand.expr
                    && root == "variables"
                    && !scope.iter().any(|(n, _)| *n == "variables")
                {
                    let t = self.variables.get(&sel.field).cloned().unwrap_or(Ty::Dyn);
                    return if sel.test { Ty::Bool } else { t };
                }
                let operand = self.infer(&sel.operand, p, scope, issues);
                let t = self.select(&operand, &sel.field, Self::offset(p, e), issues);
                if sel.test { Ty::Bool } else { t }
            }
            Expr::Call(call) => {
                let target = call.target.as_ref().map(|t| self.infer(t, p, scope, issues));
                let args: Vec<Ty<'a>> = call.args.iter().map(|a| self.infer(a, p, scope, issues)).collect();
                self.call(&call.func_name, target.as_ref(), &args, Self::offset(p, e), issues)
            }
            Expr::Comprehension(c) => {
                let range = self.infer(&c.iter_range, p, scope, issues);
                let (first, second) = match (&range, c.iter_var2.is_some()) {
                    (Ty::List(t), false) => ((**t).clone(), Ty::Dyn),
                    (Ty::List(t), true) => (Ty::Int, (**t).clone()),
                    (Ty::Map(k, v), _) => ((**k).clone(), (**v).clone()),
                    _ => (Ty::Dyn, Ty::Dyn),
                };
                self.infer(&c.accu_init, p, scope, issues);
                let depth = scope.len();
                scope.push((c.accu_var.as_str(), Ty::Dyn));
                let result = self.infer(&c.result, p, scope, issues);
                scope.push((c.iter_var.as_str(), first));
                if let Some(v2) = &c.iter_var2 {
                    scope.push((v2.as_str(), second));
                }
                self.infer(&c.loop_cond, p, scope, issues);
                self.infer(&c.loop_step, p, scope, issues);
                scope.truncate(depth);
                result
            }
            Expr::List(l) => {
                let elems: Vec<Ty<'a>> = l.elements.iter().map(|x| self.infer(x, p, scope, issues)).collect();
                let elem = match elems.split_first() {
                    Some((first, rest)) if l.optional_indices.is_empty() && rest.iter().all(|t| t.same(first)) => {
                        first.clone()
                    }
                    _ => Ty::Dyn,
                };
                Ty::List(Box::new(elem))
            }
            Expr::Map(m) => {
                let mut keys = Vec::new();
                let mut values = Vec::new();
                let mut optional = false;
                for entry in &m.entries {
                    if let EntryExpr::MapEntry(me) = &entry.expr {
                        keys.push(self.infer(&me.key, p, scope, issues));
                        values.push(self.infer(&me.value, p, scope, issues));
                        optional |= me.optional;
                    }
                }
                let join = |ts: &[Ty<'a>]| match ts.split_first() {
                    Some((first, rest)) if !optional && rest.iter().all(|t| t.same(first)) => first.clone(),
                    _ => Ty::Dyn,
                };
                Ty::Map(Box::new(join(&keys)), Box::new(join(&values)))
            }
            Expr::Struct(s) => {
                for entry in &s.entries {
                    match &entry.expr {
                        EntryExpr::StructField(f) => {
                            self.infer(&f.value, p, scope, issues);
                        }
                        EntryExpr::MapEntry(me) => {
                            self.infer(&me.key, p, scope, issues);
                            self.infer(&me.value, p, scope, issues);
                        }
                    }
                }
                Ty::Dyn
            }
            Expr::Unspecified => Ty::Dyn,
        }
    }

    fn ident(&self, name: &str, scope: &Scope<'_, 'a>) -> Ty<'a> {
        if let Some((_, t)) = scope.iter().rev().find(|(n, _)| *n == name) {
            return t.clone();
        }
        match name {
            "object" | "oldObject" => self.object.clone(),
            "params" => self.params.clone(),
            _ => Ty::Dyn,
        }
    }

    fn select(&self, operand: &Ty<'a>, field: &str, offset: usize, issues: &mut Vec<Issue>) -> Ty<'a> {
        match operand {
            Ty::Object { node, root, closed } => {
                if let Some(prop) = node.property(field) {
                    if *root && field == "metadata" {
                        return self.metadata(Some(prop));
                    }
                    return type_of_schema(prop);
                }
                match (*root, field) {
                    (true, "apiVersion" | "kind") => Ty::String,
                    (true, "metadata") => self.metadata(None),
                    _ if *closed => {
                        issues.push(Issue { offset, message: format!("undefined field '{field}'") });
                        Ty::Dyn
                    }
                    _ => Ty::Dyn,
                }
            }
            Ty::Map(_, v) => (**v).clone(),
            Ty::Dyn | Ty::Null => Ty::Dyn,
            other => {
                issues.push(Issue { offset, message: format!("type '{other}' does not support field selection") });
                Ty::Dyn
            }
        }
    }

    /// `metadata` at the root of a resource: its declared schema when that is an object
    /// with properties, otherwise ObjectMeta.
    fn metadata(&self, declared: Option<Node<'a>>) -> Ty<'a> {
        if let Some(t @ Ty::Object { .. }) = declared.map(type_of_schema) {
            return t;
        }
        match self.schemas.node(OBJECT_META).map(type_of_schema) {
            Some(t @ Ty::Object { .. }) => t,
            _ => Ty::Dyn,
        }
    }

    fn call(
        &self,
        name: &str,
        target: Option<&Ty<'a>>,
        args: &[Ty<'a>],
        offset: usize,
        issues: &mut Vec<Issue>,
    ) -> Ty<'a> {
        if target.is_none() && args.len() == 2 {
            let (a, b) = (&args[0], &args[1]);
            let result = match name {
                "_==_" | "_!=_" => Some(equality(a, b)),
                "_<_" | "_<=_" | "_>_" | "_>=_" => Some(ordering(a, b)),
                "_+_" | "_-_" | "_*_" | "_/_" | "_%_" => Some(arithmetic(name, a, b)),
                "_&&_" | "_||_" => Some(logic(a, b)),
                _ => None,
            };
            if let Some(result) = result {
                return match result {
                    Ok(t) => t,
                    Err(()) => {
                        issues.push(Issue {
                            offset,
                            message: format!("found no matching overload for '{name}' applied to '({a}, {b})'"),
                        });
                        Ty::Dyn
                    }
                };
            }
        }
        match (name, target, args) {
            ("_?_:_", None, [_, a, b]) if a.same(b) => a.clone(),
            ("_[_]", None, [Ty::List(e), _]) => (**e).clone(),
            ("_[_]", None, [Ty::Map(_, v), _]) => (**v).clone(),
            ("!_" | "@in", None, _) => Ty::Bool,
            ("-_", None, [t @ (Ty::Int | Ty::Double)]) => t.clone(),
            ("size", _, _) => Ty::Int,
            ("int", None, [_]) => Ty::Int,
            ("uint", None, [_]) => Ty::Uint,
            ("double", None, [_]) => Ty::Double,
            ("string", None, [_]) => Ty::String,
            ("bytes", None, [_]) => Ty::Bytes,
            ("bool", None, [_]) => Ty::Bool,
            ("startsWith" | "endsWith" | "contains" | "matches", Some(Ty::String), [_]) => Ty::Bool,
            ("lowerAscii" | "upperAscii" | "trim", Some(Ty::String), []) => Ty::String,
            ("replace", Some(Ty::String), [_, _] | [_, _, _]) => Ty::String,
            ("substring", Some(Ty::String), [_] | [_, _]) => Ty::String,
            ("split", Some(Ty::String), [_] | [_, _]) => Ty::List(Box::new(Ty::String)),
            ("indexOf" | "lastIndexOf", Some(Ty::String), [_] | [_, _]) => Ty::Int,
            ("join", Some(Ty::List(_)), [] | [_]) => Ty::String,
            _ => Ty::Dyn,
        }
    }
}

/// `_==_`/`_!=_`: both sides of one type (numbers and null compare with anything here).
fn equality<'a>(a: &Ty<'a>, b: &Ty<'a>) -> Result<Ty<'a>, ()> {
    let lenient = a.is_vague()
        || b.is_vague()
        || matches!(a, Ty::Null)
        || matches!(b, Ty::Null)
        || (a.is_numeric() && b.is_numeric())
        || std::mem::discriminant(a) == std::mem::discriminant(b);
    if lenient { Ok(Ty::Bool) } else { Err(()) }
}

/// `_<_` and friends: one orderable type on both sides, or numbers of any kind.
fn ordering<'a>(a: &Ty<'a>, b: &Ty<'a>) -> Result<Ty<'a>, ()> {
    if a.is_vague() || b.is_vague() || (a.is_numeric() && b.is_numeric()) {
        return Ok(Ty::Bool);
    }
    let orderable = matches!(a, Ty::Bool | Ty::String | Ty::Bytes | Ty::Timestamp | Ty::Duration);
    if orderable && a.same(b) { Ok(Ty::Bool) } else { Err(()) }
}

fn arithmetic<'a>(op: &str, a: &Ty<'a>, b: &Ty<'a>) -> Result<Ty<'a>, ()> {
    if a.is_dyn() || b.is_dyn() {
        return Ok(Ty::Dyn);
    }
    if let (Ty::List(x), Ty::List(y)) = (a, b)
        && op == "_+_"
    {
        return Ok(if x.same(y) { a.clone() } else { Ty::List(Box::new(Ty::Dyn)) });
    }
    if a.is_vague() || b.is_vague() {
        return Ok(Ty::Dyn);
    }
    use Ty::*;
    let t = match (op, a, b) {
        (_, Int, Int) => Int,
        (_, Uint, Uint) => Uint,
        ("_+_" | "_-_" | "_*_" | "_/_", Double, Double) => Double,
        ("_+_", String, String) => String,
        ("_+_", Bytes, Bytes) => Bytes,
        ("_+_", Timestamp, Duration) | ("_+_", Duration, Timestamp) | ("_-_", Timestamp, Duration) => Timestamp,
        ("_+_" | "_-_", Duration, Duration) | ("_-_", Timestamp, Timestamp) => Duration,
        _ => return Err(()),
    };
    Ok(t)
}

fn logic<'a>(a: &Ty<'a>, b: &Ty<'a>) -> Result<Ty<'a>, ()> {
    let ok = |t: &Ty<'_>| t.is_vague() || matches!(t, Ty::Bool);
    if ok(a) && ok(b) { Ok(Ty::Bool) } else { Err(()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment_checker(schemas: &Schemas) -> Checker<'_> {
        Checker::new(schemas, schemas.node("io.k8s.api.apps.v1.Deployment"), None)
    }

    fn messages(c: &Checker<'_>, src: &str) -> Vec<String> {
        c.check(src).into_iter().map(|i| i.message).collect()
    }

    fn deployment_target() -> TypeTarget {
        TypeTarget {
            group: "apps".into(),
            version: "v1".into(),
            kind: "Deployment".into(),
            definition: "io.k8s.api.apps.v1.Deployment".into(),
        }
    }

    #[test]
    fn well_typed_deployment_expressions_have_no_warnings() {
        let s = Schemas::builtin();
        let c = deployment_checker(&s);
        for src in [
            "object.spec.replicas > 1",
            "object.spec.replicas > 1.5 && object.spec.replicas != 3u",
            "object.metadata.name.startsWith('x')",
            "has(object.spec.replicas) && object.spec.replicas <= 5",
            "object.metadata.labels['app'] == 'x' && object.metadata.labels.app + 'y' == 'xy'",
            "object.spec.template.spec.containers.all(c, c.image.startsWith('busybox') && c.name != '')",
            "object.spec.template.spec.containers.exists(c, has(c.resources.limits) && c.resources.limits.cpu == '1')",
            "object.spec.template.spec.containers.map(c, c.name).size() > 0",
            "object.spec.strategy.rollingUpdate.maxSurge == 1 || object.spec.strategy.rollingUpdate.maxSurge == '25%'",
            "object.spec.template.spec.containers[0].resources.limits['memory'] > 1",
            "object.kind == 'Deployment' && object.apiVersion.startsWith('apps')",
            "oldObject == null || oldObject.spec.replicas < object.spec.replicas",
            "params.anything.goes > 'x' && request.userInfo.username + 1 == 2",
            "variables.foo.bar + 1 > 'x'",
            "object.metadata.creationTimestamp < timestamp('2030-01-01T00:00:00Z')",
            "[1, 2].map(x, x * 2) + [3] == [2, 4, 3]",
            "{'a': 1}.a + 1 == 2 && {'a': 'b'}['a'] == 'b'",
            "size(object.spec.template.spec.containers) + object.spec.replicas > 2",
            "int(object.spec.replicas) - 1 >= 0 && string(object.spec.replicas) + 'x' != ''",
        ] {
            assert_eq!(messages(&c, src), Vec::<String>::new(), "{src}");
        }
    }

    #[test]
    fn confused_deployment_expressions_warn_as_the_real_server() {
        let s = Schemas::builtin();
        let spec = json!({
            "matchConstraints": {"resourceRules": [{"apiGroups": ["apps"], "apiVersions": ["v1"], "resources": ["deployments"], "operations": ["CREATE"]}]},
            "validations": [{"expression": "object.spec.replicas > '1'",
                             "messageExpression": "'wants replicas > 1, got ' + object.spec.replicas"}]
        });
        let targets =
            types_to_check(&spec, |g, v, r| (g == "apps" && v == "v1" && r == "deployments").then(deployment_target));
        assert_eq!(targets, vec![deployment_target()]);
        let w = policy_warnings(&s, &targets, None, &spec);
        assert_eq!(w.len(), 2, "{w:?}");
        assert_eq!(w[0]["fieldRef"], "spec.validations[0].expression");
        assert_eq!(
            w[0]["warning"],
            "apps/v1, Kind=Deployment: ERROR: <input>:1:22: found no matching overload for '_>_' applied to '(int, string)'\n | object.spec.replicas > '1'\n | .....................^\n"
        );
        assert_eq!(w[1]["fieldRef"], "spec.validations[0].messageExpression");
        assert!(
            w[1]["warning"]
                .as_str()
                .unwrap()
                .contains("ERROR: <input>:1:28: found no matching overload for '_+_' applied to '(string, int)'"),
            "{w:?}"
        );
        // Well-typed: nothing.
        let ok = json!({"matchConstraints": spec["matchConstraints"], "validations": [{"expression": "object.spec.replicas > 1"}]});
        assert!(policy_warnings(&s, &targets, None, &ok).is_empty());
    }

    #[test]
    fn other_confusions() {
        let s = Schemas::builtin();
        let c = deployment_checker(&s);
        assert_eq!(messages(&c, "object.spec.maxRetries < 10"), vec!["undefined field 'maxRetries'"]);
        assert_eq!(messages(&c, "has(object.spec.nope)"), vec!["undefined field 'nope'"]);
        assert_eq!(
            messages(&c, "object.metadata.name == 1"),
            vec!["found no matching overload for '_==_' applied to '(string, int)'"]
        );
        assert_eq!(
            messages(&c, "object.spec.paused + 1 > 0"),
            vec!["found no matching overload for '_+_' applied to '(bool, int)'"]
        );
        // CEL has no mixed-type arithmetic (but compares numbers of any kind).
        assert_eq!(
            messages(&c, "object.spec.replicas + 0.5 > 1"),
            vec!["found no matching overload for '_+_' applied to '(int, double)'"]
        );
        assert_eq!(messages(&c, "object.spec.replicas.foo"), vec!["type 'int' does not support field selection"]);
        assert_eq!(messages(&c, "variables.x > 0"), Vec::<String>::new());
        let mut c = deployment_checker(&s);
        c.declare_variable("name", "object.metadata.name");
        assert_eq!(
            messages(&c, "variables.name > 0"),
            vec!["found no matching overload for '_>_' applied to '(string, int)'"]
        );
        assert_eq!(
            display_issues("a &&\n\tb", &[Issue { offset: 6, message: "m".into() }]),
            "ERROR: <input>:2:2: m\n |  b\n | .^"
        );
    }

    #[test]
    fn custom_resource_fields_and_wildcards() {
        let mut s = (*Schemas::builtin()).clone();
        s.insert(
            "com.example.stable.v1.CronTab",
            json!({"type": "object", "properties": {
                "apiVersion": {"type": "string"}, "kind": {"type": "string"},
                "metadata": {"type": "object"},
                "spec": {"type": "object", "properties": {"replicas": {"type": "integer"},
                    "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                    "open": {"type": "object", "x-kubernetes-preserve-unknown-fields": true, "properties": {"a": {"type": "string"}}},
                    "port": {"x-kubernetes-int-or-string": true}}}}}),
        );
        let target = TypeTarget {
            group: "stable.example.com".into(),
            version: "v1".into(),
            kind: "CronTab".into(),
            definition: "com.example.stable.v1.CronTab".into(),
        };
        let spec = json!({
            "matchConstraints": {"resourceRules": [{"apiGroups": ["stable.example.com"], "apiVersions": ["v1"], "resources": ["crontabs"]}]},
            "validations": [{"expression": "object.spec.replicas > 1"}, {"expression": "object.spec.maxRetries < 10"}]
        });
        let targets = types_to_check(&spec, |_, _, r| (r == "crontabs").then(|| target.clone()));
        let w = policy_warnings(&s, &targets, None, &spec);
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(w[0]["fieldRef"], "spec.validations[1].expression");
        assert_eq!(
            w[0]["warning"],
            "stable.example.com/v1, Kind=CronTab: ERROR: <input>:1:12: undefined field 'maxRetries'\n | object.spec.maxRetries < 10\n | ...........^\n"
        );
        let c = Checker::new(&s, s.node("com.example.stable.v1.CronTab"), None);
        for src in [
            "object.spec.free.x.y > 'z'",
            "object.spec.open.b == 1 && object.spec.open.a == 'x'",
            "object.spec.port > 1 || object.spec.port == 'http'",
            "object.metadata.name.startsWith('x') && object.metadata.labels.a == 'b'",
        ] {
            assert_eq!(messages(&c, src), Vec::<String>::new(), "{src}");
        }
        // Wildcards and subresources are not checked.
        let wild = json!({"matchConstraints": {"resourceRules": [
            {"apiGroups": ["*"], "apiVersions": ["v1"], "resources": ["crontabs"]},
            {"apiGroups": ["stable.example.com"], "apiVersions": ["v1"], "resources": ["*", "crontabs/status"]}]}});
        assert!(types_to_check(&wild, |_, _, _| Some(target.clone())).is_empty());
    }

    #[test]
    fn params_and_other_builtin_kinds_without_false_warnings() {
        let mut s = (*Schemas::builtin()).clone();
        s.insert(
            "com.example.rules.v1.ReplicaLimit",
            json!({"type": "object", "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                "metadata": {"allOf": [{"$ref": format!("{REF_PREFIX}{OBJECT_META}")}]},
                "maxReplicas": {"type": "integer"}}}),
        );
        let c = Checker::new(&s, s.node("io.k8s.api.apps.v1.Deployment"), s.node("com.example.rules.v1.ReplicaLimit"));
        for src in [
            "object.spec.replicas <= params.maxReplicas",
            "params.kind + ' ' + params.metadata.name + ' allows ' + string(params.maxReplicas)",
        ] {
            assert_eq!(messages(&c, src), Vec::<String>::new(), "{src}");
        }
        assert_eq!(
            messages(&c, "params.maxReplicas + 'x'"),
            vec!["found no matching overload for '_+_' applied to '(int, string)'"]
        );
        let pod = Checker::new(&s, s.node("io.k8s.api.core.v1.Pod"), None);
        for src in [
            "object.spec.containers.all(c, c.ports.exists(p, p.containerPort == 80 && p.protocol == 'TCP'))",
            "object.spec.containers.exists(c, c.securityContext.privileged == true)",
            "object.status.phase == 'Running' && object.status.conditions.exists(c, c.status == 'True')",
            "object.spec.containers.all(c, c.livenessProbe.httpGet.port == 8080 || c.livenessProbe.httpGet.port == 'http')",
            "object.spec.volumes.exists(v, has(v.hostPath))",
            "object.spec.?nodeName.orValue('') == ''",
            "object.metadata.?labels.app.orValue('') != 'x'",
            "object.spec.containers.map(c, c.name).exists(n, n == 'x')",
            "object.spec.containers.filter(c, c.image.contains(':latest')).size() == 0",
            "object.spec.containers[0].resources.requests.cpu == '100m'",
            "type(object.spec.containers) == list",
        ] {
            assert_eq!(messages(&pod, src), Vec::<String>::new(), "{src}");
        }
        let cm = Checker::new(&s, s.node("io.k8s.api.core.v1.ConfigMap"), None);
        for src in
            ["object.data.key == 'v' && object.data['k'].size() < 10", "!has(object.immutable) || !object.immutable"]
        {
            assert_eq!(messages(&cm, src), Vec::<String>::new(), "{src}");
        }
    }
}
