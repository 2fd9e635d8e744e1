//! Field paths and field sets as structured-merge-diff (`sigs.k8s.io/structured-merge-diff`,
//! package `fieldpath`) defines them, with the `fieldsV1` encoding the API server writes into
//! `metadata.managedFields`.
//!
//! A path is a sequence of elements: a field of a map or struct (`f:name`), an item of an
//! associative list picked by its key fields (`k:{"name":"web"}`), an item of a set picked
//! by its value (`v:"x"`), or an item of an atomic list picked by position (`i:0`). A set
//! is a trie of such elements where each node records whether the path ending there is a
//! member (`.` when the node also has children).

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::{Map, Value};

/// One step of a path.
#[derive(Clone, Debug)]
pub enum PathElement {
    /// A field of a struct or a key of a map.
    Field(String),
    /// An associative-list item, by its key fields (sorted by name).
    Key(Vec<(String, Value)>),
    /// A set item, by its value.
    Value(Value),
    /// An atomic-list item, by its position.
    Index(usize),
}

impl PathElement {
    /// A key element from unsorted key fields (sorted here, as `FieldList.Sort` does).
    pub fn key(mut fields: Vec<(String, Value)>) -> Self {
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        PathElement::Key(fields)
    }

    fn rank(&self) -> u8 {
        match self {
            PathElement::Field(_) => 0,
            PathElement::Key(_) => 1,
            PathElement::Value(_) => 2,
            PathElement::Index(_) => 3,
        }
    }

    /// The element as a `fieldsV1` key: `f:spec`, `k:{"name":"web"}`, `v:"x"`, `i:0`.
    pub fn serialize(&self) -> String {
        let mut out = String::new();
        match self {
            PathElement::Field(name) => {
                out.push_str("f:");
                out.push_str(name);
            }
            PathElement::Key(fields) => {
                out.push_str("k:{");
                for (i, (name, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    go_json::write_string(name, &mut out);
                    out.push(':');
                    go_json::write_value(value, &mut out);
                }
                out.push('}');
            }
            PathElement::Value(value) => {
                out.push_str("v:");
                go_json::write_value(value, &mut out);
            }
            PathElement::Index(i) => {
                out.push_str("i:");
                out.push_str(&i.to_string());
            }
        }
        out
    }

    /// Parse a `fieldsV1` key. `Ok(None)` for an unknown element type (skipped, as the
    /// real server does with types a future version might add).
    pub fn deserialize(s: &str) -> Result<Option<Self>, String> {
        let bytes = s.as_bytes();
        if bytes.len() < 2 {
            return Err("key must be 2 characters long:".to_string());
        }
        if bytes[1] != b':' {
            return Err(format!("missing colon: {s}"));
        }
        let rest = &s[2..];
        match bytes[0] {
            b'f' => Ok(Some(PathElement::Field(rest.to_string()))),
            b'v' => {
                let value: Value = serde_json::from_str(rest).map_err(|e| e.to_string())?;
                Ok(Some(PathElement::Value(value)))
            }
            b'k' => match serde_json::from_str::<Value>(rest).map_err(|e| e.to_string())? {
                Value::Object(map) => Ok(Some(PathElement::key(map.into_iter().collect()))),
                other => Err(format!("expected an object of key fields, got {other}")),
            },
            b'i' => rest.parse::<usize>().map(|i| Some(PathElement::Index(i))).map_err(|e| e.to_string()),
            _ => Ok(None),
        }
    }
}

impl PartialEq for PathElement {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for PathElement {}

impl PartialOrd for PathElement {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PathElement {
    /// Fields before keys before values before indexes, each compared as SMD does.
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (PathElement::Field(a), PathElement::Field(b)) => a.cmp(b),
            (PathElement::Key(a), PathElement::Key(b)) => compare_key_fields(a, b),
            (PathElement::Value(a), PathElement::Value(b)) => compare_values(a, b),
            (PathElement::Index(a), PathElement::Index(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl fmt::Display for PathElement {
    /// The human form used in conflict messages: `.spec`, `[name="web"]`, `[="x"]`, `[0]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathElement::Field(name) => write!(f, ".{name}"),
            PathElement::Key(fields) => {
                let parts: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={}", go_to_string(v))).collect();
                write!(f, "[{}]", parts.join(","))
            }
            PathElement::Value(v) => write!(f, "[={}]", go_to_string(v)),
            PathElement::Index(i) => write!(f, "[{i}]"),
        }
    }
}

fn compare_key_fields(a: &[(String, Value)], b: &[(String, Value)]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let c = x.0.cmp(&y.0).then_with(|| compare_values(&x.1, &y.1));
        if c != Ordering::Equal {
            return c;
        }
    }
    a.len().cmp(&b.len())
}

fn value_rank(v: &Value) -> u8 {
    match v {
        Value::Number(n) if n.is_f64() => 0,
        Value::Number(_) => 1,
        Value::String(_) => 2,
        Value::Bool(_) => 3,
        Value::Array(_) => 4,
        Value::Object(_) => 5,
        Value::Null => 6,
    }
}

/// A number as SMD sees it: an integer, or a float.
enum Num {
    Int(i128),
    Float(f64),
}

fn as_num(v: &Value) -> Option<Num> {
    let Value::Number(n) = v else { return None };
    if let Some(i) = n.as_i64() {
        Some(Num::Int(i128::from(i)))
    } else if let Some(u) = n.as_u64() {
        Some(Num::Int(i128::from(u)))
    } else {
        n.as_f64().map(Num::Float)
    }
}

fn num_as_f64(n: &Num) -> f64 {
    match n {
        Num::Int(i) => *i as f64,
        Num::Float(f) => *f,
    }
}

/// The total order SMD puts on values (`value.Compare`): floats (compared numerically with
/// ints), ints, strings, bools, lists, maps, null.
pub fn compare_values(a: &Value, b: &Value) -> Ordering {
    match (as_num(a), as_num(b)) {
        (Some(Num::Int(x)), Some(Num::Int(y))) => return x.cmp(&y),
        (Some(x), Some(y)) => return num_as_f64(&x).partial_cmp(&num_as_f64(&y)).unwrap_or(Ordering::Equal),
        _ => {}
    }
    match (a, b) {
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Array(x), Value::Array(y)) => {
            for (p, q) in x.iter().zip(y) {
                let c = compare_values(p, q);
                if c != Ordering::Equal {
                    return c;
                }
            }
            x.len().cmp(&y.len())
        }
        (Value::Object(x), Value::Object(y)) => compare_maps(x, y),
        _ => value_rank(a).cmp(&value_rank(b)),
    }
}

fn compare_maps(x: &Map<String, Value>, y: &Map<String, Value>) -> Ordering {
    let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
    keys.sort();
    keys.dedup();
    for k in keys {
        match (x.get(k), y.get(k)) {
            (Some(p), Some(q)) => {
                let c = compare_values(p, q);
                if c != Ordering::Equal {
                    return c;
                }
            }
            (None, _) => return Ordering::Greater,
            (_, None) => return Ordering::Less,
        }
    }
    Ordering::Equal
}

/// Value equality as SMD defines it (`value.Equals`): ints and floats compare numerically.
pub fn values_equal(a: &Value, b: &Value) -> bool {
    match (as_num(a), as_num(b)) {
        (Some(Num::Int(x)), Some(Num::Int(y))) => return x == y,
        (Some(x), Some(y)) => return num_as_f64(&x) == num_as_f64(&y),
        (Some(_), None) | (None, Some(_)) => return false,
        (None, None) => {}
    }
    match (a, b) {
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| values_equal(p, q)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, p)| y.get(k).is_some_and(|q| values_equal(p, q)))
        }
        (Value::Null, Value::Null) => true,
        _ => false,
    }
}

/// `value.ToString`: how a key or set value appears in a conflict path.
fn go_to_string(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::String(s) => go_quote(s),
        Value::Number(n) => match as_num(v) {
            Some(Num::Float(f)) => go_json::format_float_v(f),
            _ => n.to_string(),
        },
        Value::Bool(b) => b.to_string(),
        Value::Array(items) => format!("[{}]", items.iter().map(go_to_string).collect::<Vec<_>>().join(",")),
        Value::Object(m) => {
            format!("{{{}}}", m.iter().map(|(k, v)| format!("{k}={}", go_to_string(v))).collect::<Vec<_>>().join(","))
        }
    }
}

/// Go's `%q` for a string (`strconv.Quote`).
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if !is_go_printable(c) => {
                if (c as u32) < 0x10000 {
                    out.push_str(&format!("\\u{:04x}", c as u32));
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// An approximation of Go's `unicode.IsPrint`: letters, marks, numbers, punctuation,
/// symbols and the ASCII space; not other spaces, controls, format or private-use characters.
pub fn is_go_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let u = c as u32;
    let format = matches!(
        u,
        0xAD | 0x600..=0x605
            | 0x61C
            | 0x6DD
            | 0x70F
            | 0x180E
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
    );
    let private = matches!(u, 0xE000..=0xF8FF | 0xF0000..=0x10FFFF);
    let noncharacter = (u & 0xFFFE) == 0xFFFE || (0xFDD0..=0xFDEF).contains(&u);
    !(format || private || noncharacter)
}

/// A path from the root of an object.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Path(pub Vec<PathElement>);

impl Path {
    /// A path of field names (`["spec", "replicas"]`).
    pub fn fields(names: &[&str]) -> Path {
        Path(names.iter().map(|n| PathElement::Field((*n).to_string())).collect())
    }
}

impl fmt::Display for Path {
    /// `.spec.template.spec.containers[name="web"].image`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for pe in &self.0 {
            write!(f, "{pe}")?;
        }
        Ok(())
    }
}

/// A set of paths, stored as a trie (`fieldpath.Set`).
///
/// Invariant: no child set is empty.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSet {
    members: BTreeSet<PathElement>,
    children: BTreeMap<PathElement, FieldSet>,
}

impl FieldSet {
    /// The empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// A set holding the given paths.
    pub fn from_paths<'a>(paths: impl IntoIterator<Item = &'a Path>) -> Self {
        let mut s = Self::new();
        for p in paths {
            s.insert(&p.0);
        }
        s
    }

    /// Add a path (the empty path is ignored, as in SMD).
    pub fn insert(&mut self, path: &[PathElement]) {
        match path {
            [] => {}
            [last] => {
                self.members.insert(last.clone());
            }
            [first, rest @ ..] => self.children.entry(first.clone()).or_default().insert(rest),
        }
    }

    /// True when the set holds no path.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty() && self.children.values().all(FieldSet::is_empty)
    }

    /// Whether the exact path is a member.
    pub fn has(&self, path: &[PathElement]) -> bool {
        match path {
            [] => false,
            [last] => self.members.contains(last),
            [first, rest @ ..] => self.children.get(first).is_some_and(|c| c.has(rest)),
        }
    }

    /// Whether the single element is a member at this level.
    pub fn has_member(&self, pe: &PathElement) -> bool {
        self.members.contains(pe)
    }

    /// The subset under `pe` (empty when there is none).
    pub fn with_prefix(&self, pe: &PathElement) -> FieldSet {
        self.children.get(pe).cloned().unwrap_or_default()
    }

    /// The subset under `pe`, borrowed.
    pub fn child(&self, pe: &PathElement) -> Option<&FieldSet> {
        self.children.get(pe)
    }

    /// The members at this level.
    pub fn members(&self) -> impl Iterator<Item = &PathElement> {
        self.members.iter()
    }

    /// The children at this level.
    pub fn children(&self) -> impl Iterator<Item = (&PathElement, &FieldSet)> {
        self.children.iter()
    }

    /// Add a member at this level.
    pub fn insert_member(&mut self, pe: PathElement) {
        self.members.insert(pe);
    }

    /// Replace the child under `pe` (dropped when empty).
    pub fn set_child(&mut self, pe: PathElement, set: FieldSet) {
        if set.is_empty() {
            self.children.remove(&pe);
        } else {
            self.children.insert(pe, set);
        }
    }

    /// Paths in either set.
    pub fn union(&self, other: &FieldSet) -> FieldSet {
        let members = self.members.union(&other.members).cloned().collect();
        let mut children = self.children.clone();
        for (pe, set) in &other.children {
            let merged = match children.get(pe) {
                Some(mine) => mine.union(set),
                None => set.clone(),
            };
            children.insert(pe.clone(), merged);
        }
        FieldSet { members, children }
    }

    /// Paths in both sets.
    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        let members = self.members.intersection(&other.members).cloned().collect();
        let mut out = FieldSet { members, children: BTreeMap::new() };
        for (pe, set) in &self.children {
            if let Some(theirs) = other.children.get(pe) {
                out.set_child(pe.clone(), set.intersection(theirs));
            }
        }
        out
    }

    /// Paths in `self` but not in `other`.
    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        let members = self.members.difference(&other.members).cloned().collect();
        let mut out = FieldSet { members, children: BTreeMap::new() };
        for (pe, set) in &self.children {
            match other.children.get(pe) {
                Some(theirs) => out.set_child(pe.clone(), set.difference(theirs)),
                None => out.set_child(pe.clone(), set.clone()),
            }
        }
        out
    }

    /// Like [`difference`](Self::difference), but a member of `other` also removes
    /// everything below it.
    pub fn recursive_difference(&self, other: &FieldSet) -> FieldSet {
        let members = self.members.difference(&other.members).cloned().collect();
        let mut out = FieldSet { members, children: BTreeMap::new() };
        for (pe, set) in &self.children {
            if other.members.contains(pe) {
                continue;
            }
            match other.children.get(pe) {
                Some(theirs) => out.set_child(pe.clone(), set.recursive_difference(theirs)),
                None => out.set_child(pe.clone(), set.clone()),
            }
        }
        out
    }

    /// Every member path, in SMD's iteration order (members, then children, recursively).
    pub fn paths(&self) -> Vec<Path> {
        let mut out = Vec::new();
        self.collect_paths(&mut Vec::new(), &mut out);
        out
    }

    fn collect_paths(&self, prefix: &mut Vec<PathElement>, out: &mut Vec<Path>) {
        for m in &self.members {
            let mut p = prefix.clone();
            p.push(m.clone());
            out.push(Path(p));
        }
        for (pe, set) in &self.children {
            prefix.push(pe.clone());
            set.collect_paths(prefix, out);
            prefix.pop();
        }
    }

    /// The `fieldsV1` JSON of the set, keys in the order the real server writes them.
    pub fn to_fields_v1(&self) -> Value {
        Value::Object(self.emit(false))
    }

    fn emit(&self, include_self: bool) -> Map<String, Value> {
        let mut out = Map::new();
        if include_self && !(self.members.is_empty() && self.children.is_empty()) {
            out.insert(".".to_string(), Value::Object(Map::new()));
        }
        let mut keys: Vec<&PathElement> = self.members.iter().chain(self.children.keys()).collect();
        keys.sort();
        keys.dedup();
        for pe in keys {
            let value = match self.children.get(pe) {
                Some(child) => child.emit(self.members.contains(pe)),
                None => Map::new(),
            };
            out.insert(pe.serialize(), Value::Object(value));
        }
        out
    }

    /// Parse `fieldsV1` JSON (`FieldsToSet`).
    pub fn from_fields_v1(v: &Value) -> Result<FieldSet, String> {
        match v {
            Value::Object(map) => Ok(Self::read(map)?.0.unwrap_or_default()),
            other => Err(format!("expected an object, got {other}")),
        }
    }

    /// Returns the children (if any) and whether the node itself is a member.
    fn read(map: &Map<String, Value>) -> Result<(Option<FieldSet>, bool), String> {
        let mut children: Option<FieldSet> = None;
        let mut is_member = false;
        for (key, value) in map {
            if key == "." {
                is_member = true;
                continue;
            }
            let Some(pe) = PathElement::deserialize(key).map_err(|e| format!("parsing key as path element: {e}"))?
            else {
                continue;
            };
            let Value::Object(inner) = value else {
                return Err(format!("expected an object for {key}"));
            };
            let (grandchildren, child_is_member) = Self::read(inner)?;
            let set = children.get_or_insert_with(FieldSet::new);
            if child_is_member {
                set.members.insert(pe.clone());
            }
            if let Some(g) = grandchildren {
                let merged = match set.children.remove(&pe) {
                    Some(existing) => existing.union(&g),
                    None => g,
                };
                set.set_child(pe, merged);
            }
        }
        if children.is_none() {
            is_member = true;
        }
        Ok((children, is_member))
    }
}

/// JSON encoding the way Go's `encoding/json` (and jsoniter's standard-library mode)
/// writes it: map keys sorted, `<`, `>` and `&` escaped, floats in Go's shortest form.
pub mod go_json {
    use serde_json::Value;

    /// Encode a value.
    pub fn to_string(v: &Value) -> String {
        let mut s = String::new();
        write_value(v, &mut s);
        s
    }

    /// Append the encoding of `v` to `out`.
    pub fn write_value(v: &Value, out: &mut String) {
        match v {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Number(n) => {
                if n.is_f64() {
                    out.push_str(&format_float(n.as_f64().unwrap_or_default()));
                } else {
                    out.push_str(&n.to_string());
                }
            }
            Value::String(s) => write_string(s, out),
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_value(item, out);
                }
                out.push(']');
            }
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                out.push('{');
                for (i, k) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_string(k, out);
                    out.push(':');
                    if let Some(value) = map.get(k) {
                        write_value(value, out);
                    }
                }
                out.push('}');
            }
        }
    }

    /// Append a quoted, escaped string.
    pub fn write_string(s: &str, out: &mut String) {
        out.push('"');
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('"');
    }

    /// A float as `encoding/json` writes it.
    pub fn format_float(f: f64) -> String {
        let abs = f.abs();
        if abs != 0.0 && !(1e-6..1e21).contains(&abs) { exponent_form(f) } else { format!("{f}") }
    }

    /// A float as Go's `%v` prints it (shortest `%g`).
    pub fn format_float_v(f: f64) -> String {
        let abs = f.abs();
        if abs != 0.0 && !(1e-4..1e21).contains(&abs) { exponent_form(f) } else { format!("{f}") }
    }

    fn exponent_form(f: f64) -> String {
        let s = format!("{f:e}");
        match s.split_once('e') {
            Some((mantissa, exp)) => {
                let (sign, digits) = match exp.strip_prefix('-') {
                    Some(d) => ('-', d),
                    None => ('+', exp),
                };
                let digits = if sign == '+' && digits.len() < 2 { format!("0{digits}") } else { digits.to_string() };
                format!("{mantissa}e{sign}{digits}")
            }
            None => s,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn f(name: &str) -> PathElement {
        PathElement::Field(name.to_string())
    }

    #[test]
    fn serializes_elements_like_the_real_server() {
        assert_eq!(f("spec").serialize(), "f:spec");
        let k = PathElement::key(vec![("protocol".into(), json!("TCP")), ("containerPort".into(), json!(80))]);
        assert_eq!(k.serialize(), r#"k:{"containerPort":80,"protocol":"TCP"}"#);
        assert_eq!(PathElement::Value(json!("a<b")).serialize(), r#"v:"a\u003cb""#);
        assert_eq!(PathElement::Index(3).serialize(), "i:3");
        assert_eq!(PathElement::Value(json!(1.5)).serialize(), "v:1.5");
    }

    #[test]
    fn parses_elements() {
        assert_eq!(PathElement::deserialize("f:a.b").unwrap(), Some(f("a.b")));
        let k = PathElement::deserialize(r#"k:{"protocol":"TCP","containerPort":80}"#).unwrap().unwrap();
        assert_eq!(k.serialize(), r#"k:{"containerPort":80,"protocol":"TCP"}"#);
        assert_eq!(PathElement::deserialize("z:foo").unwrap(), None);
        assert_eq!(PathElement::deserialize("x").unwrap_err(), "key must be 2 characters long:");
        assert_eq!(PathElement::deserialize("fo").unwrap_err(), "missing colon: fo");
    }

    #[test]
    fn orders_elements_as_smd() {
        let mut v = [
            PathElement::Index(0),
            PathElement::Value(json!("a")),
            PathElement::Value(json!(2)),
            PathElement::Value(json!(1.5)),
            PathElement::key(vec![("name".into(), json!("b"))]),
            PathElement::key(vec![("name".into(), json!("a"))]),
            f("z"),
            f("a"),
        ];
        v.sort();
        let s: Vec<String> = v.iter().map(PathElement::serialize).collect();
        assert_eq!(s, [r#"f:a"#, "f:z", r#"k:{"name":"a"}"#, r#"k:{"name":"b"}"#, "v:1.5", "v:2", r#"v:"a""#, "i:0"]);
    }

    #[test]
    fn displays_paths_as_conflict_messages_do() {
        let p = Path(vec![
            f("spec"),
            f("ports"),
            PathElement::key(vec![("port".into(), json!(80)), ("protocol".into(), json!("TCP"))]),
            f("targetPort"),
        ]);
        assert_eq!(p.to_string(), r#".spec.ports[port=80,protocol="TCP"].targetPort"#);
        let p = Path(vec![f("metadata"), f("finalizers"), PathElement::Value(json!("x"))]);
        assert_eq!(p.to_string(), r#".metadata.finalizers[="x"]"#);
    }

    #[test]
    fn round_trips_fields_v1_with_dot_entries() {
        let fields = json!({
            "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
            "f:spec": {
                "f:containers": {
                    "k:{\"name\":\"web\"}": {".": {}, "f:image": {}, "f:name": {}}
                },
                "f:replicas": {}
            }
        });
        let set = FieldSet::from_fields_v1(&fields).unwrap();
        assert!(set.has(&[f("metadata"), f("labels")]));
        assert!(set.has(&[f("metadata"), f("labels"), f("app")]));
        assert!(!set.has(&[f("metadata")]));
        assert_eq!(set.to_fields_v1(), fields);
        assert_eq!(serde_json::to_string(&set.to_fields_v1()).unwrap(), serde_json::to_string(&fields).unwrap());
        assert_eq!(FieldSet::new().to_fields_v1(), json!({}));
    }

    #[test]
    fn set_operations() {
        let a = FieldSet::from_paths(&[Path::fields(&["spec", "replicas"]), Path::fields(&["spec", "paused"])]);
        let b = FieldSet::from_paths(&[Path::fields(&["spec", "replicas"])]);
        assert_eq!(a.difference(&b), FieldSet::from_paths(&[Path::fields(&["spec", "paused"])]));
        assert_eq!(a.intersection(&b), b);
        assert_eq!(a.union(&b), a);
        assert!(b.difference(&a).is_empty());
        let spec = FieldSet::from_paths(&[Path::fields(&["spec"])]);
        assert!(a.recursive_difference(&spec).is_empty());
        assert_eq!(a.difference(&spec), a);
        let paths: Vec<String> = a.paths().iter().map(Path::to_string).collect();
        assert_eq!(paths, [".spec.paused", ".spec.replicas"]);
    }

    #[test]
    fn go_json_matches_encoding_json() {
        assert_eq!(
            go_json::to_string(&json!({"b": 1, "a": [true, null, "x&y"]})),
            r#"{"a":[true,null,"x\u0026y"],"b":1}"#
        );
        assert_eq!(go_json::format_float(1.0), "1");
        assert_eq!(go_json::format_float(1e21), "1e+21");
        assert_eq!(go_json::format_float(1e-7), "1e-7");
        assert_eq!(go_json::format_float(0.5), "0.5");
    }

    #[test]
    fn values_compare_numerically() {
        assert!(values_equal(&json!(1), &json!(1.0)));
        assert!(!values_equal(&json!(1), &json!("1")));
        assert!(values_equal(&json!({"a": [1, 2]}), &json!({"a": [1.0, 2]})));
        assert_eq!(compare_values(&json!(1), &json!(1.5)), Ordering::Less);
        assert_eq!(compare_values(&json!(null), &json!({})), Ordering::Greater);
    }
}
