//! Schema-aware walks over objects, as structured-merge-diff's `typed` package does them:
//! validation, field sets, comparison, merging and removal of fields.
//!
//! The schema is the OpenAPI index ([`Node`]) read the way kube-openapi's `schemaconv`
//! converts it: `x-kubernetes-list-type` (or, without it, a `merge` patch strategy with its
//! merge key) makes a list associative, anything else is atomic; maps are granular unless
//! `x-kubernetes-map-type: atomic`; schemaless values are "deduced" (maps granular, lists
//! atomic).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::{Map, Value};

use super::fieldpath::{FieldSet, PathElement, go_quote, values_equal};
use crate::registry::schema::{Node, REF_PREFIX};

/// Where a value sits in the schema.
#[derive(Clone, Copy, Debug)]
pub enum Ty<'a> {
    /// A schema from the index; `preserve` when an ancestor keeps unknown fields.
    Schema(Node<'a>, bool),
    /// No schema: maps are granular with deduced values, lists atomic.
    Deduced,
    /// Atomic whatever it holds (`RawExtension`, items of untyped lists).
    Untyped,
}

/// The kind of scalar a schema allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scalar {
    Numeric,
    String,
    Boolean,
    Untyped,
}

/// How list items relate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListKind {
    /// Replaced as a whole.
    Atomic,
    /// Associative by the items' own (scalar) values.
    Set,
    /// Associative by the named key fields of its (map) items.
    Map(Vec<String>),
}

#[derive(Clone, Debug)]
pub struct ListAtom<'a> {
    pub kind: ListKind,
    pub elem: Ty<'a>,
}

#[derive(Clone, Debug)]
pub struct MapAtom<'a> {
    pub atomic: bool,
    /// The struct whose properties are the declared fields, if any.
    node: Option<Node<'a>>,
    preserve: bool,
    /// The type of keys that are not declared fields; `None` when they are not allowed.
    elem: Option<Ty<'a>>,
}

impl<'a> MapAtom<'a> {
    /// The declared field `name`, if the struct has it.
    pub fn field(&self, name: &str) -> Option<Ty<'a>> {
        self.node.and_then(|n| n.property(name)).map(|p| Ty::Schema(p, self.preserve))
    }

    /// The type of the value at `key`: its declared field or the map's element type.
    pub fn value_type(&self, key: &str) -> Option<Ty<'a>> {
        self.field(key).or(self.elem)
    }
}

/// The shapes a schema allows at one position (SMD's `schema.Atom`).
#[derive(Clone, Debug, Default)]
pub struct Atom<'a> {
    pub scalar: Option<Scalar>,
    pub list: Option<ListAtom<'a>>,
    pub map: Option<MapAtom<'a>>,
}

/// Which part of an atom handles a value.
enum Part<'a> {
    Map(MapAtom<'a>),
    Scalar(Scalar),
    List(ListAtom<'a>),
}

const RAW_EXTENSION: &str = "io.k8s.apimachinery.pkg.runtime.RawExtension";
const QUANTITY: &str = "io.k8s.apimachinery.pkg.api.resource.Quantity";
const APIEXT_JSON: &str = "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON";

/// The definition a raw schema refers to (`$ref`, bare or in a one-element `allOf`).
pub fn ref_name(raw: &Value) -> Option<&str> {
    let r = raw.get("$ref").or_else(|| match raw.get("allOf") {
        Some(Value::Array(all)) if all.len() == 1 => all[0].get("$ref"),
        _ => None,
    })?;
    let r = r.as_str()?;
    r.strip_prefix(REF_PREFIX).or_else(|| r.strip_prefix("#/definitions/"))
}

impl<'a> Ty<'a> {
    /// The definition this position refers to, when it is a named type.
    pub fn definition(&self) -> Option<&'a str> {
        match self {
            Ty::Schema(node, _) => ref_name(node.raw()),
            _ => None,
        }
    }

    /// The full atom for this position (all shapes it allows).
    pub fn atom(&self) -> Atom<'a> {
        match *self {
            Ty::Deduced => Atom {
                scalar: Some(Scalar::Untyped),
                list: Some(ListAtom { kind: ListKind::Atomic, elem: Ty::Untyped }),
                map: Some(MapAtom { atomic: false, node: None, preserve: true, elem: Some(Ty::Deduced) }),
            },
            Ty::Untyped => Atom {
                scalar: Some(Scalar::Untyped),
                list: Some(ListAtom { kind: ListKind::Atomic, elem: Ty::Untyped }),
                map: Some(MapAtom { atomic: true, node: None, preserve: true, elem: Some(Ty::Untyped) }),
            },
            Ty::Schema(node, preserve) => schema_atom(node, preserve, self.definition()),
        }
    }
}

fn schema_atom<'a>(node: Node<'a>, preserve: bool, def: Option<&str>) -> Atom<'a> {
    match def {
        Some(RAW_EXTENSION) => return Ty::Untyped.atom(),
        Some(QUANTITY) => return Atom { scalar: Some(Scalar::Untyped), ..Atom::default() },
        Some(APIEXT_JSON) => return Ty::Deduced.atom(),
        _ => {}
    }
    let preserve = preserve || node.preserves_unknown_fields();
    match node.type_() {
        Some("object") => Atom { map: Some(map_atom(node, preserve)), ..Atom::default() },
        Some("array") => Atom { list: Some(list_atom(node, preserve)), ..Atom::default() },
        Some("integer" | "number") => Atom { scalar: Some(Scalar::Numeric), ..Atom::default() },
        Some("boolean") => Atom { scalar: Some(Scalar::Boolean), ..Atom::default() },
        Some("string") => {
            let format = node.schema().get("format").and_then(Value::as_str).unwrap_or("");
            let kind = if format.is_empty() || format == "byte" { Scalar::String } else { Scalar::Untyped };
            Atom { scalar: Some(kind), ..Atom::default() }
        }
        _ if node.is_int_or_string() => Atom { scalar: Some(Scalar::Untyped), ..Atom::default() },
        _ => Atom {
            scalar: Some(Scalar::Untyped),
            list: Some(list_atom(node, preserve)),
            map: Some(map_atom(node, preserve)),
        },
    }
}

fn map_atom<'a>(node: Node<'a>, preserve: bool) -> MapAtom<'a> {
    let has_properties = node.properties().is_some_and(|p| !p.is_empty());
    let elem = match node.schema().get("additionalProperties") {
        Some(Value::Object(_)) => node.additional_properties().map(|n| Ty::Schema(n, preserve)),
        Some(Value::Bool(true)) => Some(Ty::Deduced),
        Some(Value::Bool(false)) => None,
        _ if preserve || !has_properties => Some(Ty::Deduced),
        _ => None,
    };
    MapAtom { atomic: node.map_type() == Some("atomic"), node: Some(node), preserve, elem }
}

fn list_atom<'a>(node: Node<'a>, preserve: bool) -> ListAtom<'a> {
    let elem = node.items().map(|n| Ty::Schema(n, preserve)).unwrap_or(Ty::Untyped);
    ListAtom { kind: list_kind(node), elem }
}

/// `getListElementRelationship`: the list type, or the patch strategy when it is absent.
fn list_kind(node: Node<'_>) -> ListKind {
    match node.list_type() {
        Some("set") => return ListKind::Set,
        Some("map") => {
            let keys = node.list_map_keys();
            return if keys.is_empty() {
                ListKind::Atomic
            } else {
                ListKind::Map(keys.into_iter().map(str::to_string).collect())
            };
        }
        Some(_) => return ListKind::Atomic,
        None => {}
    }
    let strategies = node.patch_strategies();
    let merges = strategies.contains(&"merge") && strategies.iter().all(|s| *s == "merge" || *s == "retainKeys");
    if !merges {
        return ListKind::Atomic;
    }
    match node.patch_merge_key() {
        Some(key) => ListKind::Map(vec![key.to_string()]),
        None => ListKind::Set,
    }
}

impl<'a> Atom<'a> {
    /// `deduceAtom`: keep only the shape matching the value, when the atom has it.
    fn deduce(&self, v: Option<&Value>) -> Atom<'a> {
        match v {
            Some(Value::Bool(_) | Value::Number(_) | Value::String(_)) if self.scalar.is_some() => {
                Atom { scalar: self.scalar, ..Atom::default() }
            }
            Some(Value::Array(_)) if self.list.is_some() => Atom { list: self.list.clone(), ..Atom::default() },
            Some(Value::Object(_)) if self.map.is_some() => Atom { map: self.map.clone(), ..Atom::default() },
            _ => self.clone(),
        }
    }

    fn same_shape(&self, other: &Atom<'_>) -> bool {
        self.scalar.is_some() == other.scalar.is_some()
            && self.list.is_some() == other.list.is_some()
            && self.map.is_some() == other.map.is_some()
    }

    /// `handleAtom`'s choice: map, then scalar, then list.
    fn part(&self) -> Option<Part<'a>> {
        if let Some(m) = &self.map {
            Some(Part::Map(m.clone()))
        } else if let Some(s) = self.scalar {
            Some(Part::Scalar(s))
        } else {
            self.list.clone().map(Part::List)
        }
    }
}

/// A schema error at a path (`typed.ValidationError`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidationError {
    pub path: String,
    pub message: String,
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() { write!(f, "{}", self.message) } else { write!(f, "{}: {}", self.path, self.message) }
    }
}

/// Several schema errors, rendered as `typed.ValidationErrors` renders them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ValidationErrors(pub Vec<ValidationError>);

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_slice() {
            [one] => write!(f, "{one}"),
            errs => {
                write!(f, "errors:")?;
                for e in errs {
                    write!(f, "\n  {e}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ValidationErrors {}

impl ValidationErrors {
    fn one(message: impl Into<String>) -> Self {
        ValidationErrors(vec![ValidationError { path: String::new(), message: message.into() }])
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn extend(&mut self, other: ValidationErrors) {
        self.0.extend(other.0);
    }

    fn with_prefix(mut self, prefix: &str) -> Self {
        for e in &mut self.0 {
            e.path = format!("{prefix}{}", e.path);
        }
        self
    }

    fn into_result(self) -> Result<(), ValidationErrors> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }
}

fn invalid_atom() -> ValidationErrors {
    ValidationErrors::one("schema error: invalid atom: inlined")
}

/// Go's `%v` of an unstructured value.
fn go_v(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".to_string(),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Array(items) => format!("[{}]", items.iter().map(go_v).collect::<Vec<_>>().join(" ")),
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys.iter().map(|k| format!("{k}:{}", go_v(&m[k.as_str()]))).collect();
            format!("map[{}]", parts.join(" "))
        }
    }
}

/// Go's `%#v` of an unstructured value.
fn go_sharp_v(v: &Value) -> String {
    match v {
        Value::Null => "interface {}(nil)".to_string(),
        Value::String(s) => go_quote(s),
        Value::Array(items) => {
            format!("[]interface {{}}{{{}}}", items.iter().map(go_sharp_v).collect::<Vec<_>>().join(", "))
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> =
                keys.iter().map(|k| format!("{}:{}", go_quote(k), go_sharp_v(&m[k.as_str()]))).collect();
            format!("map[string]interface {{}}{{{}}}", parts.join(", "))
        }
        other => go_v(other),
    }
}

/// Go's `%T` of an unstructured value.
fn go_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::String(_) => "string",
        Value::Number(n) if n.is_f64() => "float64",
        Value::Number(_) => "int64",
        Value::Bool(_) => "bool",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

fn is_scalar(v: &Value) -> bool {
    matches!(v, Value::Bool(_) | Value::Number(_) | Value::String(_))
}

/// `validateScalar`.
fn validate_scalar(kind: Scalar, v: Option<&Value>, prefix: &str) -> ValidationErrors {
    let Some(v) = v else { return ValidationErrors::default() };
    let message = match (kind, v) {
        (_, Value::Null) => return ValidationErrors::default(),
        (Scalar::Numeric, Value::Number(_))
        | (Scalar::String, Value::String(_))
        | (Scalar::Boolean, Value::Bool(_)) => {
            return ValidationErrors::default();
        }
        (Scalar::Untyped, v) if is_scalar(v) => return ValidationErrors::default(),
        (Scalar::Numeric, v) => format!("{prefix}expected numeric (int or float), got {}", go_type(v)),
        (Scalar::String, v) => {
            format!("{prefix}expected string, got &value.valueUnstructured{{Value:{}}}", go_sharp_v(v))
        }
        (Scalar::Boolean, v) => format!("{prefix}expected boolean, got &{{{}}}", go_v(v)),
        (Scalar::Untyped, v) => format!("{prefix}expected any scalar, got &{{{}}}", go_v(v)),
    };
    ValidationErrors::one(message)
}

/// The default of a key field of an associative list's items, from the schema, or from
/// the `+default` markers Kubernetes puts on list-map keys (k8s-openapi drops defaults).
fn key_default(elem: &Ty<'_>, key: &str) -> Option<Value> {
    let atom = elem.atom();
    let field = atom.map.as_ref().and_then(|m| m.field(key));
    if let Some(Ty::Schema(node, _)) = field
        && let Some(d) = node.raw().get("default").or_else(|| node.schema().get("default"))
    {
        return Some(d.clone());
    }
    match (elem.definition()?, key) {
        ("io.k8s.api.core.v1.ContainerPort" | "io.k8s.api.core.v1.ServicePort", "protocol") => Some(Value::from("TCP")),
        ("io.k8s.api.core.v1.LocalObjectReference", "name") => Some(Value::from("")),
        _ => None,
    }
}

/// The path element of a list item (`listItemToPathElement`).
pub fn item_element(list: &ListAtom<'_>, item: &Value) -> Result<PathElement, String> {
    match &list.kind {
        ListKind::Atomic => Err("invalid indexing of non-associative list".to_string()),
        ListKind::Set => match item {
            Value::Object(_) => Err("associative list without keys has an element that's a map type".to_string()),
            Value::Array(_) => Err("not supported: associative list with lists as elements".to_string()),
            Value::Null => Err("associative list without keys has an element that's an explicit null".to_string()),
            v => Ok(PathElement::Value(v.clone())),
        },
        ListKind::Map(keys) => {
            let map = match item {
                Value::Null => return Err("associative list with keys may not have a null element".to_string()),
                Value::Object(m) => m,
                _ => return Err("associative list with keys may not have non-map elements".to_string()),
            };
            let mut fields = Vec::new();
            for key in keys {
                if let Some(v) = map.get(key) {
                    fields.push((key.clone(), v.clone()));
                } else if let Some(d) = key_default(&list.elem, key) {
                    fields.push((key.clone(), d));
                }
            }
            if fields.is_empty() {
                let quoted: Vec<String> = keys.iter().map(|k| go_quote(k)).collect();
                return Err(format!(
                    "associative list with keys has an element that omits all key fields [{}] (and doesn't have default values for any key fields)",
                    quoted.join(" ")
                ));
            }
            Ok(PathElement::key(fields))
        }
    }
}

/// Check a value against its schema (`TypedValue.Validate`).
pub fn validate(v: &Value, ty: Ty<'_>, allow_duplicates: bool) -> Result<(), ValidationErrors> {
    validate_value(v, ty, allow_duplicates).into_result()
}

fn validate_value(v: &Value, ty: Ty<'_>, allow_duplicates: bool) -> ValidationErrors {
    let atom = ty.atom().deduce(Some(v));
    match atom.part() {
        Some(Part::Map(m)) => validate_map(v, &m, allow_duplicates),
        Some(Part::Scalar(s)) => validate_scalar(s, Some(v), ""),
        Some(Part::List(l)) => validate_list(v, &l, allow_duplicates),
        None => invalid_atom(),
    }
}

fn validate_map(v: &Value, m: &MapAtom<'_>, allow_duplicates: bool) -> ValidationErrors {
    let map = match v {
        Value::Null => return ValidationErrors::default(),
        Value::Object(map) => map,
        other => return ValidationErrors::one(format!("expected map, got &{{{}}}", go_v(other))),
    };
    let mut errs = ValidationErrors::default();
    for (key, child) in map {
        let prefix = PathElement::Field(key.clone()).to_string();
        let Some(ty) = m.value_type(key) else {
            errs.extend(ValidationErrors::one("field not declared in schema").with_prefix(&prefix));
            break;
        };
        errs.extend(validate_value(child, ty, allow_duplicates).with_prefix(&prefix));
    }
    errs
}

fn validate_list(v: &Value, l: &ListAtom<'_>, allow_duplicates: bool) -> ValidationErrors {
    let items = match v {
        Value::Null => return ValidationErrors::default(),
        Value::Array(items) => items,
        other => return ValidationErrors::one(format!("expected list, got &{{{}}}", go_v(other))),
    };
    let mut errs = ValidationErrors::default();
    let mut seen = BTreeSet::new();
    for (i, child) in items.iter().enumerate() {
        let pe = if l.kind == ListKind::Atomic {
            PathElement::Index(i)
        } else {
            match item_element(l, child) {
                Ok(pe) => pe,
                Err(e) => {
                    errs.extend(ValidationErrors::one(format!("element {i}: {e}")));
                    return errs;
                }
            }
        };
        if l.kind != ListKind::Atomic {
            if seen.contains(&pe) && !allow_duplicates {
                errs.extend(ValidationErrors::one(format!("duplicate entries for key {pe}")));
            }
            seen.insert(pe.clone());
        }
        errs.extend(validate_value(child, l.elem, allow_duplicates).with_prefix(&pe.to_string()));
    }
    errs
}

/// The set of fields a value sets (`TypedValue.ToFieldSet`); the value should be valid.
pub fn to_field_set(v: &Value, ty: Ty<'_>) -> FieldSet {
    let mut set = FieldSet::new();
    field_set_walk(v, ty, &mut Vec::new(), &mut set);
    set
}

fn field_set_walk(v: &Value, ty: Ty<'_>, path: &mut Vec<PathElement>, set: &mut FieldSet) {
    let atom = ty.atom().deduce(Some(v));
    match atom.part() {
        Some(Part::Scalar(_)) => set.insert(path),
        Some(Part::List(l)) => {
            if l.kind == ListKind::Atomic {
                set.insert(path);
            } else if let Value::Array(items) = v {
                field_set_list(items, &l, path, set);
            }
        }
        Some(Part::Map(m)) => {
            if m.atomic {
                set.insert(path);
            } else if let Value::Object(map) = v {
                field_set_map(map, &m, path, set);
            }
        }
        None => {}
    }
}

fn field_set_list(items: &[Value], l: &ListAtom<'_>, path: &mut Vec<PathElement>, set: &mut FieldSet) {
    let elements: Vec<Option<PathElement>> = items.iter().map(|item| item_element(l, item).ok()).collect();
    let mut seen = BTreeSet::new();
    let mut duplicates = BTreeSet::new();
    for pe in elements.iter().flatten() {
        if !seen.insert(pe.clone()) && duplicates.insert(pe.clone()) {
            path.push(pe.clone());
            set.insert(path);
            path.pop();
        }
    }
    for (item, pe) in items.iter().zip(&elements) {
        let Some(pe) = pe else { continue };
        if duplicates.contains(pe) {
            continue;
        }
        path.push(pe.clone());
        field_set_walk(item, l.elem, path, set);
        set.insert(path);
        path.pop();
    }
}

fn field_set_map(map: &Map<String, Value>, m: &MapAtom<'_>, path: &mut Vec<PathElement>, set: &mut FieldSet) {
    for (key, child) in map {
        path.push(PathElement::Field(key.clone()));
        if let Some(ty) = m.value_type(key) {
            field_set_walk(child, ty, path, set);
        }
        let empty = match child {
            Value::Null => true,
            Value::Object(o) => o.is_empty(),
            _ => false,
        };
        if empty || m.field(key).is_none() {
            set.insert(path);
        }
        path.pop();
    }
}

/// The difference between two values (`typed.Comparison`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Comparison {
    pub removed: FieldSet,
    pub modified: FieldSet,
    pub added: FieldSet,
}

impl Comparison {
    /// Whether the two values were the same.
    pub fn is_same(&self) -> bool {
        self.removed.is_empty() && self.modified.is_empty() && self.added.is_empty()
    }

    /// Drop `exclude` (and everything below its members) from all three sets.
    pub fn exclude(self, exclude: &FieldSet) -> Comparison {
        if exclude.is_empty() {
            return self;
        }
        Comparison {
            removed: self.removed.recursive_difference(exclude),
            modified: self.modified.recursive_difference(exclude),
            added: self.added.recursive_difference(exclude),
        }
    }
}

/// Compare `lhs` (before) with `rhs` (after) (`TypedValue.Compare`).
pub fn compare(lhs: &Value, rhs: &Value, ty: Ty<'_>) -> Result<Comparison, ValidationErrors> {
    let mut c = Comparison::default();
    compare_walk(Some(lhs), Some(rhs), ty, &mut Vec::new(), &mut c).into_result()?;
    Ok(c)
}

fn compare_walk(
    lhs: Option<&Value>,
    rhs: Option<&Value>,
    ty: Ty<'_>,
    path: &mut Vec<PathElement>,
    c: &mut Comparison,
) -> ValidationErrors {
    let atom = ty.atom();
    let alhs = atom.deduce(lhs);
    let arhs = atom.deduce(rhs);
    let mut in_leaf = false;
    let mut errs = ValidationErrors::default();
    if rhs.is_none() {
        errs.extend(compare_part(&alhs, lhs, rhs, path, c, &mut in_leaf));
    } else if lhs.is_none() || alhs.same_shape(&arhs) {
        errs.extend(compare_part(&arhs, lhs, rhs, path, c, &mut in_leaf));
    } else {
        let mut other_leaf = false;
        errs.extend(compare_part(&alhs, lhs, rhs, path, c, &mut other_leaf));
        errs.extend(compare_part(&arhs, lhs, rhs, path, c, &mut in_leaf));
    }
    if !in_leaf {
        if lhs.is_none() {
            c.added.insert(path);
        } else if rhs.is_none() {
            c.removed.insert(path);
        }
    }
    errs
}

fn compare_leaf(
    lhs: Option<&Value>,
    rhs: Option<&Value>,
    path: &[PathElement],
    c: &mut Comparison,
    in_leaf: &mut bool,
) {
    if *in_leaf {
        return;
    }
    *in_leaf = true;
    match (lhs, rhs) {
        (None, _) => c.added.insert(path),
        (_, None) => c.removed.insert(path),
        (Some(l), Some(r)) if !values_equal(l, r) => c.modified.insert(path),
        _ => {}
    }
}

fn compare_part(
    atom: &Atom<'_>,
    lhs: Option<&Value>,
    rhs: Option<&Value>,
    path: &mut Vec<PathElement>,
    c: &mut Comparison,
    in_leaf: &mut bool,
) -> ValidationErrors {
    match atom.part() {
        Some(Part::Scalar(s)) => {
            let lerrs = validate_scalar(s, lhs, "lhs: ");
            let rerrs = validate_scalar(s, rhs, "rhs: ");
            if !lerrs.is_empty() && !rerrs.is_empty() {
                let mut errs = lerrs;
                errs.extend(rerrs);
                return errs;
            }
            compare_leaf(lhs, rhs, path, c, in_leaf);
            ValidationErrors::default()
        }
        Some(Part::List(l)) => {
            let litems = lhs.and_then(Value::as_array);
            let ritems = rhs.and_then(Value::as_array);
            let empty = litems.is_none_or(Vec::is_empty) && ritems.is_none_or(Vec::is_empty);
            if l.kind == ListKind::Atomic || empty {
                compare_leaf(lhs, rhs, path, c, in_leaf);
                return ValidationErrors::default();
            }
            compare_list(litems.map_or(&[][..], Vec::as_slice), ritems.map_or(&[][..], Vec::as_slice), &l, path, c)
        }
        Some(Part::Map(m)) => {
            let lmap = lhs.and_then(Value::as_object);
            let rmap = rhs.and_then(Value::as_object);
            let empty = lmap.is_none_or(Map::is_empty) && rmap.is_none_or(Map::is_empty);
            if m.atomic || empty {
                compare_leaf(lhs, rhs, path, c, in_leaf);
                return ValidationErrors::default();
            }
            let mut errs = ValidationErrors::default();
            for key in union_keys(lmap, rmap) {
                let pe = PathElement::Field(key.to_string());
                let Some(ty) = m.value_type(key) else {
                    errs.extend(invalid_atom().with_prefix(&pe.to_string()));
                    continue;
                };
                path.push(pe);
                let child = compare_walk(lmap.and_then(|x| x.get(key)), rmap.and_then(|x| x.get(key)), ty, path, c);
                let pe = path.pop();
                errs.extend(child.with_prefix(&pe.map(|p| p.to_string()).unwrap_or_default()));
            }
            errs
        }
        None => invalid_atom(),
    }
}

fn union_keys<'v>(l: Option<&'v Map<String, Value>>, r: Option<&'v Map<String, Value>>) -> Vec<&'v str> {
    let mut keys: Vec<&str> = l.map(|m| m.keys().map(String::as_str).collect()).unwrap_or_default();
    if let Some(r) = r {
        for k in r.keys() {
            if l.is_none_or(|l| !l.contains_key(k)) {
                keys.push(k);
            }
        }
    }
    keys
}

/// Items of a list grouped by path element, in order of first appearance.
struct Indexed<'v> {
    order: Vec<PathElement>,
    values: BTreeMap<PathElement, Vec<&'v Value>>,
}

fn index_items<'v>(items: &'v [Value], l: &ListAtom<'_>, errs: &mut ValidationErrors) -> Indexed<'v> {
    let mut out = Indexed { order: Vec::new(), values: BTreeMap::new() };
    for (i, item) in items.iter().enumerate() {
        match item_element(l, item) {
            Ok(pe) => {
                let entry = out.values.entry(pe.clone()).or_default();
                if entry.is_empty() {
                    out.order.push(pe);
                }
                entry.push(item);
            }
            Err(e) => errs.extend(ValidationErrors::one(format!("element {i}: {e}"))),
        }
    }
    out
}

fn compare_list(
    litems: &[Value],
    ritems: &[Value],
    l: &ListAtom<'_>,
    path: &mut Vec<PathElement>,
    c: &mut Comparison,
) -> ValidationErrors {
    let mut errs = ValidationErrors::default();
    let lhs = index_items(litems, l, &mut errs);
    let rhs = index_items(ritems, l, &mut errs);
    let mut all = lhs.order.clone();
    all.extend(rhs.order.iter().filter(|pe| !lhs.values.contains_key(pe)).cloned());
    for pe in all {
        let lvals = lhs.values.get(&pe).map(Vec::as_slice).unwrap_or_default();
        let rvals = rhs.values.get(&pe).map(Vec::as_slice).unwrap_or_default();
        match (lvals.len(), rvals.len()) {
            (0, 0) => return errs,
            (0..=1, 0..=1) => {
                errs.extend(compare_item(lvals.first().copied(), rvals.first().copied(), &pe, l, path, c));
            }
            (2.., 2..) => {
                let same = lvals.len() == rvals.len() && lvals.iter().zip(rvals).all(|(a, b)| values_equal(a, b));
                if !same {
                    path.push(pe.clone());
                    c.modified.insert(path);
                    path.pop();
                }
            }
            (2.., _) => {
                if let Some(r) = rvals.first() {
                    errs.extend(compare_item(None, Some(r), &pe, l, path, c));
                }
                path.push(pe.clone());
                c.removed.insert(path);
                path.pop();
            }
            (_, _) => {
                if let Some(lv) = lvals.first() {
                    errs.extend(compare_item(Some(lv), None, &pe, l, path, c));
                }
                path.push(pe.clone());
                c.added.insert(path);
                path.pop();
            }
        }
    }
    errs
}

fn compare_item(
    lhs: Option<&Value>,
    rhs: Option<&Value>,
    pe: &PathElement,
    l: &ListAtom<'_>,
    path: &mut Vec<PathElement>,
    c: &mut Comparison,
) -> ValidationErrors {
    path.push(pe.clone());
    let errs = compare_walk(lhs, rhs, l.elem, path, c);
    path.pop();
    errs.with_prefix(&pe.to_string())
}

/// Merge `rhs` into `lhs`, `rhs` winning on leaves (`TypedValue.Merge`).
pub fn merge(lhs: &Value, rhs: &Value, ty: Ty<'_>) -> Result<Value, ValidationErrors> {
    let mut errs = ValidationErrors::default();
    let out = merge_walk(Some(lhs), Some(rhs), ty, &mut errs);
    errs.into_result()?;
    Ok(out.unwrap_or(Value::Null))
}

fn merge_walk(lhs: Option<&Value>, rhs: Option<&Value>, ty: Ty<'_>, errs: &mut ValidationErrors) -> Option<Value> {
    let atom = ty.atom();
    let alhs = atom.deduce(lhs);
    let arhs = atom.deduce(rhs);
    if rhs.is_none() {
        merge_part(&alhs, lhs, rhs, errs)
    } else if lhs.is_none() || alhs.same_shape(&arhs) {
        merge_part(&arhs, lhs, rhs, errs)
    } else {
        let _ = merge_part(&alhs, lhs, rhs, errs);
        merge_part(&arhs, lhs, rhs, errs)
    }
}

fn keep_rhs(lhs: Option<&Value>, rhs: Option<&Value>) -> Option<Value> {
    rhs.or(lhs).cloned()
}

fn merge_part(atom: &Atom<'_>, lhs: Option<&Value>, rhs: Option<&Value>, errs: &mut ValidationErrors) -> Option<Value> {
    match atom.part() {
        Some(Part::Scalar(s)) => {
            let lerrs = validate_scalar(s, lhs, "lhs: ");
            let rerrs = validate_scalar(s, rhs, "rhs: ");
            if !lerrs.is_empty() && !rerrs.is_empty() {
                errs.extend(lerrs);
                errs.extend(rerrs);
                return None;
            }
            keep_rhs(lhs, rhs)
        }
        Some(Part::List(l)) => {
            let litems = lhs.and_then(Value::as_array);
            let ritems = rhs.and_then(Value::as_array);
            let empty = litems.is_none_or(Vec::is_empty) && ritems.is_none_or(Vec::is_empty);
            if l.kind == ListKind::Atomic || empty {
                return keep_rhs(lhs, rhs);
            }
            merge_list(litems.map_or(&[][..], Vec::as_slice), ritems.map_or(&[][..], Vec::as_slice), &l, errs)
        }
        Some(Part::Map(m)) => {
            let lmap = lhs.and_then(Value::as_object);
            let rmap = rhs.and_then(Value::as_object);
            let empty = lmap.is_none_or(Map::is_empty) && rmap.is_none_or(Map::is_empty);
            if m.atomic || empty {
                return keep_rhs(lhs, rhs);
            }
            let mut out = Map::new();
            for key in union_keys(lmap, rmap) {
                let prefix = PathElement::Field(key.to_string()).to_string();
                let Some(ty) = m.value_type(key) else {
                    errs.extend(invalid_atom().with_prefix(&prefix));
                    continue;
                };
                let mut child_errs = ValidationErrors::default();
                let child =
                    merge_walk(lmap.and_then(|x| x.get(key)), rmap.and_then(|x| x.get(key)), ty, &mut child_errs);
                errs.extend(child_errs.with_prefix(&prefix));
                if let Some(child) = child {
                    out.insert(key.to_string(), child);
                }
            }
            if out.is_empty() { None } else { Some(Value::Object(out)) }
        }
        None => {
            errs.extend(invalid_atom());
            None
        }
    }
}

/// Index the items of one side of a list merge (`indexListPathElements`).
struct MergeIndex<'v> {
    elements: Vec<PathElement>,
    observed: BTreeMap<PathElement, &'v Value>,
}

const NULL: Value = Value::Null;

fn merge_index<'v>(
    items: &'v [Value],
    l: &ListAtom<'_>,
    allow_duplicates: bool,
    errs: &mut ValidationErrors,
) -> MergeIndex<'v> {
    let mut out = MergeIndex { elements: Vec::new(), observed: BTreeMap::new() };
    for (i, item) in items.iter().enumerate() {
        let pe = match item_element(l, item) {
            Ok(pe) => pe,
            Err(e) => {
                errs.extend(ValidationErrors::one(format!("element {i}: {e}")));
                continue;
            }
        };
        if out.observed.contains_key(&pe) {
            if !allow_duplicates {
                errs.extend(ValidationErrors::one(format!("duplicate entries for key {pe}")));
                continue;
            }
            // Duplicated items are not merged with the new value.
            out.observed.insert(pe.clone(), &NULL);
        } else {
            out.observed.insert(pe.clone(), item);
        }
        out.elements.push(pe);
    }
    out
}

/// Merge two associative lists, keeping the order SMD produces: shared items follow the
/// applied order, items only in the live list stay where they were.
fn merge_list(litems: &[Value], ritems: &[Value], l: &ListAtom<'_>, errs: &mut ValidationErrors) -> Option<Value> {
    let mut index_errs = ValidationErrors::default();
    let rhs = merge_index(ritems, l, false, &mut index_errs);
    let lhs = merge_index(litems, l, true, &mut index_errs);
    if !index_errs.is_empty() {
        errs.extend(index_errs);
        return None;
    }
    let mut shared =
        rhs.elements.iter().filter(|pe| lhs.observed.contains_key(pe)).cloned().collect::<Vec<_>>().into_iter();
    let mut next_shared = shared.next();
    let mut merged_rhs: BTreeSet<PathElement> = BTreeSet::new();
    let mut out = Vec::new();
    let (llen, rlen) = (lhs.elements.len(), rhs.elements.len());
    let (mut li, mut ri) = (0, 0);
    let mut push = |pe: &PathElement, lchild: Option<&Value>, rchild: Option<&Value>, errs: &mut ValidationErrors| {
        let mut child_errs = ValidationErrors::default();
        if let Some(v) = merge_walk(lchild, rchild, l.elem, &mut child_errs) {
            out.push(v);
        }
        errs.extend(child_errs.with_prefix(&pe.to_string()));
    };
    while li < llen || ri < rlen {
        if li < llen && ri < rlen {
            let pe = &lhs.elements[li];
            if *pe == rhs.elements[ri] {
                merged_rhs.insert(pe.clone());
                push(pe, lhs.observed.get(pe).copied(), rhs.observed.get(pe).copied(), errs);
                li += 1;
                ri += 1;
                next_shared = shared.next();
                continue;
            }
            if rhs.observed.contains_key(pe) && next_shared.as_ref().is_some_and(|n| n != pe) {
                li += 1;
                continue;
            }
        }
        if li < llen {
            let pe = &lhs.elements[li];
            if !rhs.observed.contains_key(pe) {
                push(pe, litems.get(li), None, errs);
                li += 1;
                continue;
            } else if merged_rhs.contains(pe) {
                li += 1;
            }
        }
        if ri < rlen {
            let pe = rhs.elements[ri].clone();
            merged_rhs.insert(pe.clone());
            push(&pe, lhs.observed.get(&pe).copied(), rhs.observed.get(&pe).copied(), errs);
            ri += 1;
            if next_shared.as_ref() == Some(&pe) {
                next_shared = shared.next();
            }
        }
    }
    if out.is_empty() { None } else { Some(Value::Array(out)) }
}

/// Remove the fields in `set` from `v` (`TypedValue.RemoveItems`). `None` when nothing is left.
pub fn remove_items(v: &Value, set: &FieldSet, ty: Ty<'_>) -> Option<Value> {
    let atom = ty.atom().deduce(Some(v));
    match atom.part() {
        Some(Part::Scalar(_)) => Some(v.clone()),
        Some(Part::List(l)) => {
            let items = v.as_array().filter(|items| !items.is_empty())?;
            if l.kind == ListKind::Atomic {
                return None;
            }
            let mut out = Vec::new();
            for item in items {
                let Ok(pe) = item_element(&l, item) else {
                    out.push(item.clone());
                    continue;
                };
                if set.has_member(&pe) {
                    continue;
                }
                match set.child(&pe) {
                    Some(sub) => out.push(remove_items(item, sub, l.elem).unwrap_or(Value::Null)),
                    None => out.push(item.clone()),
                }
            }
            if out.is_empty() { None } else { Some(Value::Array(out)) }
        }
        Some(Part::Map(m)) => {
            let map = v.as_object().filter(|map| !map.is_empty())?;
            if m.atomic {
                return None;
            }
            let mut out = Map::new();
            for (key, child) in map {
                let pe = PathElement::Field(key.clone());
                if set.has_member(&pe) {
                    continue;
                }
                let value = match (set.child(&pe), m.value_type(key)) {
                    (Some(sub), Some(ty)) => remove_items(child, sub, ty).unwrap_or(Value::Null),
                    (Some(_), None) => Value::Null,
                    (None, _) => child.clone(),
                };
                out.insert(key.clone(), value);
            }
            if out.is_empty() { None } else { Some(Value::Object(out)) }
        }
        None => None,
    }
}

/// Make every declared struct field on the set's paths a member (`EnsureNamedFieldsAreMembers`).
pub fn ensure_named_fields_are_members(set: &FieldSet, ty: Option<Ty<'_>>) -> FieldSet {
    let atom = ty.map(|t| t.atom()).unwrap_or_default();
    let mut out = FieldSet::new();
    for m in set.members() {
        out.insert_member(m.clone());
    }
    for (pe, child) in set.children() {
        let child_ty = match pe {
            PathElement::Field(name) => atom.map.as_ref().and_then(|m| {
                if m.field(name).is_some() {
                    out.insert_member(pe.clone());
                }
                m.value_type(name)
            }),
            PathElement::Key(_) => atom.list.as_ref().map(|l| l.elem),
            _ => None,
        };
        out.set_child(pe.clone(), ensure_named_fields_are_members(child, child_ty));
    }
    out
}
