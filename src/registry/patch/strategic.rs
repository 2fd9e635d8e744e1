//! Strategic merge patch (`application/strategic-merge-patch+json`), as the API
//! server applies it (apimachinery's `strategicpatch.StrategicMergeMapPatch`):
//! maps merge key by key, `null` deletes, lists with `x-kubernetes-patch-strategy: merge`
//! merge element-wise by their `x-kubernetes-patch-merge-key` (or as sets for
//! primitives), fields with strategy `replace` and all other lists are replaced.
//! Patches may carry the directives kubectl sends: `$patch: replace | delete` (in maps
//! and list elements; other values are rejected as the real server rejects them),
//! `$retainKeys`, `$setElementOrder/<list>` and `$deleteFromPrimitiveList/<list>`.
//! Results, element order included, and error messages match the real server's; each
//! error carries the HTTP status the server answers it with.

use std::fmt;

use serde_json::{Map, Value, json};

use crate::registry::error::ApiError;
use crate::registry::schema::Node;

const DIRECTIVE_MARKER: &str = "$patch";
const DELETE_DIRECTIVE: &str = "delete";
const REPLACE_DIRECTIVE: &str = "replace";
const MERGE_DIRECTIVE: &str = "merge";
const RETAIN_KEYS_STRATEGY: &str = "retainKeys";
const RETAIN_KEYS_DIRECTIVE: &str = "$retainKeys";
const DELETE_FROM_PRIMITIVE_LIST_PREFIX: &str = "$deleteFromPrimitiveList";
const SET_ELEMENT_ORDER_PREFIX: &str = "$setElementOrder";

/// How the API server answers a failed strategic merge patch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchErrorKind {
    /// 400 BadRequest: malformed directives (`invalid patch format of …`) or a non-object patch.
    BadRequest,
    /// 422 Invalid with the generic message (`lists of lists are not supported`).
    Unprocessable,
    /// Any other failure: a 500 whose message is the error text itself and whose
    /// reason is empty, as the apiserver reports errors that are not a `metav1.Status`
    /// (kubectl prints them as `Error from server: <message>`).
    Internal,
}

/// A strategic merge patch that cannot be applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatchError {
    pub kind: PatchErrorKind,
    /// The error text of apimachinery's `strategicpatch`/`mergepatch` packages.
    pub message: String,
}

impl PatchError {
    fn bad_request(message: impl Into<String>) -> Self {
        PatchError { kind: PatchErrorKind::BadRequest, message: message.into() }
    }

    fn internal(message: impl Into<String>) -> Self {
        PatchError { kind: PatchErrorKind::Internal, message: message.into() }
    }

    fn no_list_of_lists() -> Self {
        PatchError { kind: PatchErrorKind::Unprocessable, message: "lists of lists are not supported".into() }
    }

    fn bad_retain_keys() -> Self {
        Self::bad_request("invalid patch format of retainKeys")
    }

    fn bad_set_element_order() -> Self {
        Self::bad_request("invalid patch format of setElementOrder list")
    }

    fn bad_primitive_list() -> Self {
        Self::bad_request("invalid patch format of primitive list")
    }

    /// `mergepatch.ErrNoMergeKey`.
    fn no_merge_key(map: &Map<String, Value>, key: &str) -> Self {
        Self::internal(format!("map: {} does not contain declared merge key: {key}", go_map(map)))
    }

    /// `mergepatch.ErrBadArgType`: a value of the wrong JSON type where a map or list was required.
    fn bad_arg_type(expected: GoType, actual: &Value) -> Self {
        Self::internal(format!("expected a {}, but received a {}", expected.name(), GoType::of(actual).name()))
    }

    /// `mergepatch.ErrBadPatchType`: an unknown `$patch` value.
    fn bad_patch_type(directive: &Value, map: &Map<String, Value>) -> Self {
        Self::internal(format!("unknown patch type: {} in map: {}", go_s(directive), go_map(map)))
    }

    /// The HTTP status the API server answers with.
    pub fn code(&self) -> u16 {
        match self.kind {
            PatchErrorKind::BadRequest => 400,
            PatchErrorKind::Unprocessable => 422,
            PatchErrorKind::Internal => 500,
        }
    }

    /// The `metav1.Status` failure the API server sends for this error.
    pub fn to_api_error(&self) -> ApiError {
        match self.kind {
            PatchErrorKind::BadRequest => ApiError::bad_request(self.message.clone()),
            PatchErrorKind::Unprocessable => ApiError {
                code: 422,
                reason: "Invalid",
                message: "the server rejected our request due to an error in our request".into(),
                details: Some(Box::new(json!({}))),
                warnings: Vec::new(),
            },
            PatchErrorKind::Internal => ApiError::new(500, "", self.message.clone()),
        }
    }
}

impl fmt::Display for PatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PatchError {}

impl From<PatchError> for ApiError {
    fn from(e: PatchError) -> Self {
        e.to_api_error()
    }
}

type Result<T> = std::result::Result<T, PatchError>;

/// Apply a strategic merge patch to `original`, guided by the schema node of the object's type
/// (e.g. `schemas.node("io.k8s.api.apps.v1.Deployment")`). Fields the schema does not know (or
/// every field, when `node` is `None`) have no patch metadata: their maps merge and their lists
/// are replaced, as in a JSON merge patch, while directives still apply.
///
/// A `null` patch changes nothing; any other non-object patch is a 400, as the real server
/// fails to decode it into a map.
pub fn apply(original: &Value, patch: &Value, node: Option<Node<'_>>) -> std::result::Result<Value, PatchError> {
    let patch = match patch {
        Value::Object(p) => p.clone(),
        Value::Null => return Ok(original.clone()),
        other => {
            return Err(PatchError::bad_request(format!(
                "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                json_kind(other)
            )));
        }
    };
    let original = match original {
        Value::Object(o) => o.clone(),
        Value::Null => Map::new(),
        _ => return Err(PatchError::bad_request("invalid JSON document")),
    };
    merge_map(original, patch, Schema(node)).map(Value::Object)
}

// ---------------------------------------------------------------------------
// Schema lookups

/// The patch metadata of one field: its strategies and merge key.
#[derive(Default)]
struct PatchMeta<'a> {
    strategies: Vec<&'a str>,
    merge_key: &'a str,
}

impl<'a> PatchMeta<'a> {
    fn of(field: Option<Node<'a>>) -> Self {
        field
            .map(|f| PatchMeta { strategies: f.patch_strategies(), merge_key: f.patch_merge_key().unwrap_or("") })
            .unwrap_or_default()
    }

    /// The strategy other than `retainKeys` (which only matters when computing patches).
    fn strategy(&self) -> Result<&'a str> {
        match self.strategies.as_slice() {
            [] => Ok(""),
            [s] if *s == RETAIN_KEYS_STRATEGY => Ok(""),
            [s] => Ok(s),
            [a, b] if *a == RETAIN_KEYS_STRATEGY => Ok(b),
            [a, b] if *b == RETAIN_KEYS_STRATEGY => Ok(a),
            all => Err(PatchError::internal(format!("unexpected patch strategy: [{}]", all.join(" ")))),
        }
    }
}

/// Where the patch is in the schema; `None` where the schema knows nothing.
#[derive(Clone, Copy)]
struct Schema<'a>(Option<Node<'a>>);

impl<'a> Schema<'a> {
    /// The schema of field (or map entry) `key`.
    fn field(&self, key: &str) -> Option<Node<'a>> {
        self.0.and_then(|n| n.property(key).or_else(|| n.additional_properties()))
    }

    /// Metadata of a map-valued field and the schema of its value.
    fn for_struct(&self, key: &str) -> (Schema<'a>, PatchMeta<'a>) {
        let field = self.field(key);
        (Schema(field), PatchMeta::of(field))
    }

    /// Metadata of a list-valued field and the schema of its elements.
    fn for_slice(&self, key: &str) -> (Schema<'a>, PatchMeta<'a>) {
        let field = self.field(key);
        (Schema(field.and_then(|f| f.items())), PatchMeta::of(field))
    }

    /// The Go kind of the type, as the real server names it in messages.
    fn name(&self) -> &'static str {
        match self.0 {
            Some(n) if n.properties().is_some() => "struct",
            Some(n) if n.additional_properties().is_some() => "map",
            _ => "interface",
        }
    }
}

// ---------------------------------------------------------------------------
// Maps

/// Merge `patch` into `original` (apimachinery's `mergeMap`).
fn merge_map(
    mut original: Map<String, Value>,
    mut patch: Map<String, Value>,
    schema: Schema<'_>,
) -> Result<Map<String, Value>> {
    if let Some(directive) = patch.get(DIRECTIVE_MARKER) {
        return directive_in_map(directive.clone(), patch);
    }
    apply_retain_keys(&mut original, &mut patch)?;
    apply_set_element_order(&mut original, &mut patch, schema)?;
    // Deletion lists go last, so that they win over additions of the same value.
    let (deletions, others): (Vec<_>, Vec<_>) =
        patch.into_iter().partition(|(k, _)| k.starts_with(DELETE_FROM_PRIMITIVE_LIST_PREFIX));
    for (key, value) in others.into_iter().chain(deletions) {
        merge_field(&mut original, key, value, schema)?;
    }
    Ok(original)
}

/// `$patch` in a map: `replace` keeps the patch alone, `delete` leaves an empty map.
fn directive_in_map(directive: Value, mut patch: Map<String, Value>) -> Result<Map<String, Value>> {
    match directive.as_str() {
        Some(REPLACE_DIRECTIVE) => {
            patch.shift_remove(DIRECTIVE_MARKER);
            Ok(patch)
        }
        Some(DELETE_DIRECTIVE) => Ok(Map::new()),
        _ => Err(PatchError::bad_patch_type(&directive, &patch)),
    }
}

/// `$retainKeys`: drop every key of `original` not listed, after checking that the
/// patch sets nothing outside the list.
fn apply_retain_keys(original: &mut Map<String, Value>, patch: &mut Map<String, Value>) -> Result<()> {
    let Some(retain) = patch.shift_remove(RETAIN_KEYS_DIRECTIVE) else { return Ok(()) };
    let Value::Array(retain) = retain else { return Err(PatchError::bad_retain_keys()) };
    let retained = |k: &str| retain.iter().any(|r| r.as_str() == Some(k));
    let outside = patch.iter().any(|(k, v)| {
        !v.is_null()
            && !k.starts_with(DELETE_FROM_PRIMITIVE_LIST_PREFIX)
            && !k.starts_with(SET_ELEMENT_ORDER_PREFIX)
            && !retained(k)
    });
    if outside {
        return Err(PatchError::bad_retain_keys());
    }
    original.retain(|k, _| retained(k));
    Ok(())
}

/// The field name after `<prefix>/`.
fn extract_key<'k>(key: &'k str, prefix: &str) -> Result<&'k str> {
    match key.split_once('/') {
        Some((p, rest)) if p == prefix => Ok(rest),
        _ if prefix == DELETE_FROM_PRIMITIVE_LIST_PREFIX => Err(PatchError::bad_primitive_list()),
        _ => Err(PatchError::bad_set_element_order()),
    }
}

/// Merge one key of a patch map into `original`.
fn merge_field(original: &mut Map<String, Value>, key: String, value: Value, schema: Schema<'_>) -> Result<()> {
    let (key, is_delete_list) = if key.starts_with(DELETE_FROM_PRIMITIVE_LIST_PREFIX) {
        (extract_key(&key, DELETE_FROM_PRIMITIVE_LIST_PREFIX)?.to_string(), true)
    } else {
        (key, false)
    };
    if value.is_null() {
        original.shift_remove(&key);
        return Ok(());
    }
    let Some(current) = original.get(&key) else {
        if !is_delete_list {
            set_patch_value(original, key, value);
        }
        return Ok(());
    };
    if GoType::of(current) != GoType::of(&value) {
        if !is_delete_list {
            set_patch_value(original, key, value);
        }
        return Ok(());
    }
    match (original.get_mut(&key), value) {
        (Some(Value::Object(cur)), Value::Object(p)) => {
            let (sub, meta) = schema.for_struct(&key);
            let strategy = meta.strategy()?;
            *cur = if strategy == REPLACE_DIRECTIVE { p } else { merge_map(std::mem::take(cur), p, sub)? };
        }
        (Some(Value::Array(cur)), Value::Array(p)) => {
            let (sub, meta) = schema.for_slice(&key);
            let strategy = meta.strategy()?;
            *cur = merge_slice_handler(std::mem::take(cur), p, sub, strategy, meta.merge_key, is_delete_list)?;
        }
        (_, p) => match remove_directives(p) {
            Some(v) => {
                original.insert(key, v);
            }
            None => {
                original.shift_remove(&key);
            }
        },
    }
    Ok(())
}

/// Take a patch value as it is (without nulls or directives) where there is nothing to merge with.
fn set_patch_value(original: &mut Map<String, Value>, key: String, mut value: Value) {
    discard_nulls(&mut value);
    match remove_directives(value) {
        Some(v) => {
            original.insert(key, v);
        }
        None => {
            original.shift_remove(&key);
        }
    }
}

/// Drop `null` map values, at every depth.
fn discard_nulls(value: &mut Value) {
    match value {
        Value::Object(m) => {
            m.retain(|_, v| !v.is_null());
            m.values_mut().for_each(discard_nulls);
        }
        Value::Array(a) => a.iter_mut().for_each(discard_nulls),
        _ => {}
    }
}

/// Drop every map carrying `$patch` (as a field value or list element); `None` if `value` itself is one.
fn remove_directives(value: Value) -> Option<Value> {
    match value {
        Value::Object(m) => {
            if m.contains_key(DIRECTIVE_MARKER) {
                return None;
            }
            Some(Value::Object(m.into_iter().filter_map(|(k, v)| remove_directives(v).map(|v| (k, v))).collect()))
        }
        Value::Array(a) => Some(Value::Array(a.into_iter().filter_map(remove_directives).collect())),
        other => Some(other),
    }
}

// ---------------------------------------------------------------------------
// $setElementOrder

/// Process every `$setElementOrder/<list>` of a patch map: merge the list it names and
/// order the result (apimachinery's `mergePatchIntoOriginal`).
fn apply_set_element_order(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
    schema: Schema<'_>,
) -> Result<()> {
    let keys: Vec<String> = patch.keys().filter(|k| k.starts_with(SET_ELEMENT_ORDER_PREFIX)).cloned().collect();
    for key in keys {
        let Some(order) = patch.shift_remove(&key) else { continue };
        let Value::Array(order) = order else { return Err(PatchError::bad_arg_type(GoType::Array, &order)) };
        let list_key = extract_key(&key, SET_ELEMENT_ORDER_PREFIX)?.to_string();
        let original_list = list_at(original, &list_key)?;
        let patch_list = list_at(patch, &list_key)?;
        let (sub, meta) = schema.for_slice(&list_key);
        let strategy = meta.strategy()?;
        let merge_key = meta.merge_key;
        validate_patch_with_set_order(patch_list.as_deref().unwrap_or(&[]), &order, merge_key)?;
        // The live list, as the merge leaves its backing array, orders the server-only elements.
        let (merged, server_order) = match (original_list, patch_list.clone()) {
            (Some(o), None) => (o.clone(), o),
            (None, Some(p)) => (p.into_iter().filter_map(remove_directives).collect(), Vec::new()),
            (Some(o), Some(p)) if strategy == MERGE_DIRECTIVE => merge_slice(o, p, sub, merge_key, false)?,
            (Some(o), Some(p)) => (p, o),
            (None, None) => continue,
        };
        let (in_order, server_only) = partition(merged, &order, merge_key)?;
        let kind = slice_element_type(&[&server_order, patch_list.as_deref().unwrap_or(&[])])?;
        let sorted = normalize_element_order(in_order, server_only, &order, &server_order, merge_key, kind)?;
        original.insert(list_key.clone(), Value::Array(sorted));
        patch.shift_remove(&list_key);
    }
    Ok(())
}

/// The list at `key`, if present; anything else there is an error.
fn list_at(map: &Map<String, Value>, key: &str) -> Result<Option<Vec<Value>>> {
    match map.get(key) {
        None => Ok(None),
        Some(Value::Array(a)) => Ok(Some(a.clone())),
        Some(other) => Err(PatchError::bad_arg_type(GoType::Array, other)),
    }
}

/// The patch list must name its elements in the order `$setElementOrder` gives, and only
/// elements it lists (apimachinery's `validatePatchWithSetOrderList`).
fn validate_patch_with_set_order(patch_list: &[Value], order: &[Value], merge_key: &str) -> Result<()> {
    if order.is_empty() || patch_list.is_empty() {
        return Ok(());
    }
    let kept: Vec<&Value> =
        if merge_key.is_empty() { patch_list.iter().collect() } else { split_deletions(patch_list.iter())?.0 };
    let (mut p, mut o) = (0, 0);
    while p < kept.len() && o < order.len() {
        if has_directive(kept[p]) {
            p += 1;
            continue;
        }
        if merge_key_value_equal(kept[p], &order[o], merge_key)? {
            p += 1;
        }
        o += 1;
    }
    if p < kept.len() && o >= order.len() {
        return Err(PatchError::internal(format!(
            "The order in patch list:\n{}\n doesn't match {SET_ELEMENT_ORDER_PREFIX} list:\n{}\n",
            go_list(patch_list),
            go_list(order)
        )));
    }
    Ok(())
}

fn has_directive(v: &Value) -> bool {
    v.as_object().is_some_and(|m| m.contains_key(DIRECTIVE_MARKER))
}

/// Whether two elements are the same: by merge key for maps, by value otherwise.
fn merge_key_value_equal(left: &Value, right: &Value, merge_key: &str) -> Result<bool> {
    if merge_key.is_empty() {
        return Ok(left == right);
    }
    let key_of = |v: &Value| -> Result<Value> {
        let Value::Object(m) = v else { return Err(PatchError::bad_arg_type(GoType::Object, v)) };
        m.get(merge_key).cloned().ok_or_else(|| PatchError::no_merge_key(m, merge_key))
    };
    let l = key_of(left)?;
    let r = key_of(right)?;
    Ok(l == r)
}

// ---------------------------------------------------------------------------
// Lists

/// Merge a list field per its strategy: `merge` (or a deletion list) merges, anything
/// else replaces the list with the patch's.
fn merge_slice_handler(
    original: Vec<Value>,
    patch: Vec<Value>,
    schema: Schema<'_>,
    strategy: &str,
    merge_key: &str,
    is_delete_list: bool,
) -> Result<Vec<Value>> {
    if strategy == MERGE_DIRECTIVE || is_delete_list {
        merge_slice(original, patch, schema, merge_key, is_delete_list).map(|(merged, _)| merged)
    } else {
        Ok(patch)
    }
}

/// Merge two lists (apimachinery's `mergeSlice`). Also returns the live list as Go's
/// in-place edits leave its backing array (see [`Backing`]).
fn merge_slice(
    original: Vec<Value>,
    patch: Vec<Value>,
    schema: Schema<'_>,
    merge_key: &str,
    is_delete_list: bool,
) -> Result<(Vec<Value>, Vec<Value>)> {
    if original.is_empty() && patch.is_empty() {
        return Ok((original, Vec::new()));
    }
    let kind = slice_element_type(&[&original, &patch])?;
    let (original, patch, merged, backing) = if kind != GoType::Object {
        if is_delete_list {
            let kept = original.iter().filter(|v| !patch.contains(v)).cloned().collect();
            return Ok((kept, original));
        }
        let merged = dedup(original.iter().chain(&patch).cloned());
        let backing = original.clone();
        (original, patch, merged, backing)
    } else {
        if merge_key.is_empty() {
            return Err(PatchError::internal(format!("cannot merge lists without merge key for {}", schema.name())));
        }
        let mut backing = Backing::new(&original);
        let (original, patch) = merge_special_elements(original, patch, merge_key, &mut backing)?;
        let merged = merge_by_key(original.clone(), &patch, merge_key, schema, &mut backing)?;
        (original, patch, merged, backing.slots)
    };
    let (in_patch, server_only) = partition(merged, &patch, merge_key)?;
    let sorted = normalize_element_order(in_patch, server_only, &patch, &original, merge_key, kind)?;
    Ok((sorted, backing))
}

/// The backing array of the live list as apimachinery's in-place edits leave it.
///
/// Go deletes list elements by shifting the rest left (`append(l[:i], l[i+1:]...)`), which
/// leaves a stale copy in the last slot, and appends new elements into the slots so freed.
/// The `$setElementOrder` step then orders the server-only elements by that edited array
/// rather than by the list as it was, which decides where they land when the patch both
/// deletes and adds elements. Tracking it keeps the order identical to the real server's.
struct Backing {
    slots: Vec<Value>,
    len: usize,
    shared: bool,
}

impl Backing {
    fn new(list: &[Value]) -> Self {
        Backing { slots: list.to_vec(), len: list.len(), shared: true }
    }

    /// The list after a deletion: its elements moved to the front of the array.
    fn removed(&mut self, list: &[Value]) {
        if self.shared {
            self.slots[..list.len()].clone_from_slice(list);
            self.len = list.len();
        }
    }

    /// Element `i` replaced in place (a merged element).
    fn set(&mut self, i: usize, v: &Value) {
        if self.shared && i < self.len {
            self.slots[i] = v.clone();
        }
    }

    /// An element appended: it reuses a freed slot, if any.
    fn pushed(&mut self, v: &Value) {
        if !self.shared {
            return;
        }
        if self.len < self.slots.len() {
            self.slots[self.len] = v.clone();
            self.len += 1;
        } else {
            self.shared = false;
        }
    }

    /// The list no longer lives in this array (`$patch: replace` made a new one).
    fn detach(&mut self) {
        self.shared = false;
    }
}

/// Primitive values, first occurrence kept.
fn dedup(values: impl Iterator<Item = Value>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for v in values {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

/// Handle list elements carrying `$patch`: `delete` removes the original elements with
/// the same merge key, `replace` makes the rest of the patch the whole list. Returns the
/// updated original and the patch without such elements.
fn merge_special_elements(
    mut original: Vec<Value>,
    patch: Vec<Value>,
    merge_key: &str,
    backing: &mut Backing,
) -> Result<(Vec<Value>, Vec<Value>)> {
    let mut plain = Vec::with_capacity(patch.len());
    let mut replace = false;
    for v in patch {
        let Value::Object(m) = &v else { return Err(PatchError::bad_arg_type(GoType::Object, &v)) };
        let Some(directive) = m.get(DIRECTIVE_MARKER) else {
            plain.push(v);
            continue;
        };
        match directive.as_str() {
            Some(DELETE_DIRECTIVE) => {
                let key = m.get(merge_key).ok_or_else(|| PatchError::no_merge_key(m, merge_key))?;
                while let Some(i) = find_by_key(&original, merge_key, key)? {
                    original.remove(i);
                    backing.removed(&original);
                }
            }
            Some(REPLACE_DIRECTIVE) => replace = true,
            Some(MERGE_DIRECTIVE) => {
                return Err(PatchError::internal("merging lists cannot yet be specified in the patch"));
            }
            _ => return Err(PatchError::bad_patch_type(directive, m)),
        }
    }
    if replace {
        backing.detach();
        return Ok((plain, Vec::new()));
    }
    Ok((original, plain))
}

/// Merge each patch element into the original element with the same merge key, or append it.
fn merge_by_key(
    mut original: Vec<Value>,
    patch: &[Value],
    merge_key: &str,
    schema: Schema<'_>,
    backing: &mut Backing,
) -> Result<Vec<Value>> {
    for v in patch {
        let Value::Object(m) = v else { return Err(PatchError::bad_arg_type(GoType::Object, v)) };
        let key = m.get(merge_key).ok_or_else(|| PatchError::no_merge_key(m, merge_key))?;
        match find_by_key(&original, merge_key, key)? {
            Some(i) => {
                if let Value::Object(target) = &mut original[i] {
                    *target = merge_map(std::mem::take(target), m.clone(), schema)?;
                }
                backing.set(i, &original[i]);
            }
            None => {
                backing.pushed(v);
                original.push(v.clone());
            }
        }
    }
    Ok(original)
}

/// The index of the first map whose merge key has `value`; every element must be a map.
fn find_by_key(list: &[Value], merge_key: &str, value: &Value) -> Result<Option<usize>> {
    for (i, v) in list.iter().enumerate() {
        let Value::Object(m) = v else { return Err(PatchError::internal(format!("value for key {i} is not a map"))) };
        if m.get(merge_key) == Some(value) {
            return Ok(Some(i));
        }
    }
    Ok(None)
}

/// Split `merged` into the elements present in `by` and the others, keeping their order.
fn partition(merged: Vec<Value>, by: &[Value], merge_key: &str) -> Result<(Vec<Value>, Vec<Value>)> {
    let mut present = Vec::with_capacity(merged.len());
    let mut others = Vec::new();
    for v in merged {
        let found = if merge_key.is_empty() {
            by.contains(&v)
        } else {
            let Value::Object(m) = &v else { return Err(PatchError::bad_arg_type(GoType::Object, &v)) };
            let key = m.get(merge_key).ok_or_else(|| PatchError::no_merge_key(m, merge_key))?;
            find_by_key(by, merge_key, key)?.is_some()
        };
        if found { present.push(v) } else { others.push(v) }
    }
    Ok((present, others))
}

/// Order the patch's elements as `patch_order` lists them and the server-only ones as in
/// the live list, then interleave them (apimachinery's `normalizeElementOrder`).
fn normalize_element_order(
    in_patch: Vec<Value>,
    server_only: Vec<Value>,
    patch_order: &[Value],
    server_order: &[Value],
    merge_key: &str,
    kind: GoType,
) -> Result<Vec<Value>> {
    let in_patch = normalize_slice_order(in_patch, patch_order, merge_key, kind)?;
    let server_only = normalize_slice_order(server_only, server_order, merge_key, kind)?;
    Ok(merge_sorted(server_only, in_patch, server_order, merge_key, kind))
}

/// Sort `items` by their position in `order`; elements deleted by `$patch: delete` go last.
fn normalize_slice_order(items: Vec<Value>, order: &[Value], merge_key: &str, kind: GoType) -> Result<Vec<Value>> {
    let (mut items, deleted) = if kind == GoType::Object {
        validate_merge_keys(merge_key, &items)?;
        validate_merge_keys(merge_key, order)?;
        let (kept, deleted) = split_deletions(items.iter())?;
        let deleted: Vec<Value> = deleted.into_iter().cloned().collect();
        (kept.into_iter().cloned().collect::<Vec<_>>(), deleted)
    } else {
        (items, Vec::new())
    };
    items.sort_by_key(|v| position(order, v, merge_key, kind).unwrap_or(usize::MAX));
    items.extend(deleted);
    Ok(items)
}

/// Every element must be a map with the merge key.
fn validate_merge_keys(merge_key: &str, list: &[Value]) -> Result<()> {
    for v in list {
        let Value::Object(m) = v else { return Err(PatchError::bad_arg_type(GoType::Object, v)) };
        if !m.contains_key(merge_key) {
            return Err(PatchError::no_merge_key(m, merge_key));
        }
    }
    Ok(())
}

/// Elements without and with `$patch: delete`; every element must be a map.
fn split_deletions<'v>(list: impl Iterator<Item = &'v Value>) -> Result<(Vec<&'v Value>, Vec<&'v Value>)> {
    let mut kept = Vec::new();
    let mut deleted = Vec::new();
    for v in list {
        let Value::Object(m) = v else { return Err(PatchError::bad_arg_type(GoType::Object, v)) };
        if m.get(DIRECTIVE_MARKER).and_then(Value::as_str) == Some(DELETE_DIRECTIVE) {
            deleted.push(v);
        } else {
            kept.push(v);
        }
    }
    Ok((kept, deleted))
}

/// Where `v` is in `list`: by merge key value for maps (a missing key matches a missing
/// key, as Go's nil does), by value otherwise.
fn position(list: &[Value], v: &Value, merge_key: &str, kind: GoType) -> Option<usize> {
    if kind == GoType::Object {
        let wanted = merge_key_of(v, merge_key);
        list.iter().position(|x| merge_key_of(x, merge_key) == wanted)
    } else {
        list.iter().position(|x| x == v)
    }
}

/// The merge key value of an element; `None` when missing or null.
fn merge_key_of<'v>(v: &'v Value, merge_key: &str) -> Option<&'v Value> {
    v.get(merge_key).filter(|k| !k.is_null())
}

/// Insert the server-only elements (`left`) among the patch's (`right`), keeping both
/// relative orders: a server-only element goes before the first patch element that
/// comes after it in the live list (apimachinery's `mergeSortedSlice`).
fn merge_sorted(
    left: Vec<Value>,
    right: Vec<Value>,
    server_order: &[Value],
    merge_key: &str,
    kind: GoType,
) -> Vec<Value> {
    let before = |l: &Value, r: &Value| match (
        position(server_order, l, merge_key, kind),
        position(server_order, r, merge_key, kind),
    ) {
        (Some(li), Some(ri)) => li < ri,
        _ => false,
    };
    let mut out = Vec::with_capacity(left.len() + right.len());
    let mut left = left.into_iter().peekable();
    let mut right = right.into_iter().peekable();
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (Some(l), Some(r)) => before(l, r),
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        let next = if take_left { left.next() } else { right.next() };
        out.extend(next);
    }
    out
}

/// The common type of the elements of the lists (apimachinery's `sliceElementType`).
fn slice_element_type(lists: &[&[Value]]) -> Result<GoType> {
    let mut seen: Option<GoType> = None;
    for v in lists.iter().flat_map(|l| l.iter()) {
        let t = GoType::of(v);
        match seen {
            None if t == GoType::Array => return Err(PatchError::no_list_of_lists()),
            None => seen = Some(t),
            Some(prev) if prev != t => {
                let all: Vec<String> = lists.iter().map(|l| go_list(l)).collect();
                return Err(PatchError::internal(format!("list element types are not identical: [{}]", all.join(" "))));
            }
            Some(_) => {}
        }
    }
    seen.ok_or_else(|| PatchError::internal("no elements in any of the given slices"))
}

// ---------------------------------------------------------------------------
// Go's view of JSON values, for type checks and messages

/// The Go type a JSON value decodes to in the API server (`map[string]interface{}` etc.).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum GoType {
    Nil,
    Bool,
    Int,
    Float,
    String,
    Array,
    Object,
}

impl GoType {
    fn of(v: &Value) -> GoType {
        match v {
            Value::Null => GoType::Nil,
            Value::Bool(_) => GoType::Bool,
            Value::Number(n) if n.is_i64() || n.is_u64() => GoType::Int,
            Value::Number(_) => GoType::Float,
            Value::String(_) => GoType::String,
            Value::Array(_) => GoType::Array,
            Value::Object(_) => GoType::Object,
        }
    }

    /// `reflect.Type` as `%s` prints it.
    fn name(self) -> &'static str {
        match self {
            GoType::Nil => "%!s(<nil>)",
            GoType::Bool => "bool",
            GoType::Int => "int64",
            GoType::Float => "float64",
            GoType::String => "string",
            GoType::Array => "[]interface {}",
            GoType::Object => "map[string]interface {}",
        }
    }
}

/// What encoding/json calls a value's kind in `cannot unmarshal X into …`.
fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A value as Go's `%v` prints it (`map[a:1 b:[x y]]`, `<nil>`).
fn go_v(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => go_number(n),
        Value::String(s) => s.clone(),
        Value::Array(a) => go_list(a),
        Value::Object(m) => go_map(m),
    }
}

fn go_list(list: &[Value]) -> String {
    let items: Vec<String> = list.iter().map(go_v).collect();
    format!("[{}]", items.join(" "))
}

/// Go prints maps with their keys sorted.
fn go_map(map: &Map<String, Value>) -> String {
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    let items: Vec<String> = entries.into_iter().map(|(k, v)| format!("{k}:{}", go_v(v))).collect();
    format!("map[{}]", items.join(" "))
}

/// A value as Go's `%s` prints it: strings as they are, other scalars flagged as
/// `%!s(int64=5)`, containers element by element.
fn go_s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "%!s(<nil>)".into(),
        Value::Array(a) => format!("[{}]", a.iter().map(go_s).collect::<Vec<_>>().join(" ")),
        Value::Object(m) => {
            let mut entries: Vec<(&String, &Value)> = m.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let items: Vec<String> = entries.into_iter().map(|(k, v)| format!("{k}:{}", go_s(v))).collect();
            format!("map[{}]", items.join(" "))
        }
        other => format!("%!s({}={})", GoType::of(other).name(), go_v(other)),
    }
}

/// Integers print as they are; floats as Go's `%v` (shortest `%g`, exponent from 1e+06 or below 1e-04).
fn go_number(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    let f = n.as_f64().unwrap_or_default();
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..6).contains(&exp) {
        format!("{f}")
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::schema::Schemas;

    fn smp(def: &str, original: Value, patch: Value) -> std::result::Result<Value, PatchError> {
        let schemas = Schemas::builtin();
        apply(&original, &patch, schemas.node(def))
    }

    fn deployment(original: Value, patch: Value) -> Value {
        smp("io.k8s.api.apps.v1.Deployment", original, patch).expect("patch applies")
    }

    fn pod(original: Value, patch: Value) -> Value {
        smp("io.k8s.api.core.v1.Pod", original, patch).expect("patch applies")
    }

    fn pod_err(original: Value, patch: Value) -> PatchError {
        smp("io.k8s.api.core.v1.Pod", original, patch).expect_err("patch fails")
    }

    fn containers(cs: Value) -> Value {
        json!({"spec": {"containers": cs}})
    }

    fn web_deployment() -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"app": "web", "tier": "front"}},
            "spec": {
                "replicas": 2,
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [
                        {"name": "nginx", "image": "nginx:1.25", "ports": [
                            {"containerPort": 80, "protocol": "TCP"}, {"containerPort": 443, "protocol": "TCP"}
                        ], "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]},
                        {"name": "sidecar", "image": "busybox"}
                    ]}
                }
            }
        })
    }

    fn template_spec(d: &Value) -> &Value {
        &d["spec"]["template"]["spec"]
    }

    // ---- kubectl apply shaped patches

    #[test]
    fn changes_an_image_by_container_name() {
        let patch = json!({"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "nginx"}, {"name": "sidecar"}],
            "containers": [{"name": "nginx", "image": "nginx:1.27"}]
        }}}});
        let out = deployment(web_deployment(), patch);
        let cs = &template_spec(&out)["containers"];
        assert_eq!(cs[0]["image"], "nginx:1.27");
        assert_eq!(cs[0]["ports"].as_array().map(Vec::len), Some(2), "other fields kept");
        assert_eq!(cs[1], json!({"name": "sidecar", "image": "busybox"}));
    }

    #[test]
    fn removes_a_container_port() {
        let patch = json!({"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "nginx"}, {"name": "sidecar"}],
            "containers": [{
                "name": "nginx",
                "$setElementOrder/ports": [{"containerPort": 80}],
                "ports": [{"$patch": "delete", "containerPort": 443}]
            }]
        }}}});
        let out = deployment(web_deployment(), patch);
        assert_eq!(template_spec(&out)["containers"][0]["ports"], json!([{"containerPort": 80, "protocol": "TCP"}]));
    }

    #[test]
    fn removes_an_env_var_with_patch_delete() {
        let patch = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "nginx", "env": [{"$patch": "delete", "name": "A"}]}
        ]}}}});
        let out = deployment(web_deployment(), patch);
        assert_eq!(template_spec(&out)["containers"][0]["env"], json!([{"name": "B", "value": "2"}]));
    }

    #[test]
    fn adds_an_env_var_in_set_element_order() {
        let patch = json!({"spec": {"template": {"spec": {"containers": [{
            "name": "nginx",
            "$setElementOrder/env": [{"name": "A"}, {"name": "C"}, {"name": "B"}],
            "env": [{"name": "C", "value": "3"}]
        }]}}}});
        let out = deployment(web_deployment(), patch);
        let names: Vec<&str> = template_spec(&out)["containers"][0]["env"]
            .as_array()
            .map(|a| a.iter().filter_map(|e| e["name"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(names, ["A", "C", "B"]);
    }

    #[test]
    fn reorders_containers_with_set_element_order() {
        let patch = json!({"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "sidecar"}, {"name": "nginx"}]
        }}}});
        let out = deployment(web_deployment(), patch);
        let cs = &template_spec(&out)["containers"];
        assert_eq!(cs[0]["name"], "sidecar");
        assert_eq!(cs[1]["name"], "nginx");
        assert_eq!(cs[1]["image"], "nginx:1.25");
    }

    #[test]
    fn new_patch_items_follow_the_order_directive_and_server_only_items_keep_their_place() {
        let original = containers(json!([{"name": "a"}, {"name": "b"}, {"name": "c"}]));
        let patch = json!({"spec": {
            "$setElementOrder/containers": [{"name": "c"}, {"name": "x"}, {"name": "a"}],
            "containers": [{"name": "x", "image": "new"}]
        }});
        let out = pod(original, patch);
        let names: Vec<&str> =
            out["spec"]["containers"].as_array().unwrap().iter().filter_map(|c| c["name"].as_str()).collect();
        // The server-only "b" goes before "c", which followed it in the live list.
        assert_eq!(names, ["b", "c", "x", "a"]);
    }

    #[test]
    fn retain_keys_switches_rolling_update_to_recreate() {
        let patch = json!({"spec": {"strategy": {
            "$retainKeys": ["type"],
            "rollingUpdate": null,
            "type": "Recreate"
        }}});
        let out = deployment(web_deployment(), patch);
        assert_eq!(out["spec"]["strategy"], json!({"type": "Recreate"}));
    }

    #[test]
    fn retain_keys_rejects_fields_outside_the_list() {
        let patch = json!({"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {"maxSurge": 1}}}});
        let err = smp("io.k8s.api.apps.v1.Deployment", web_deployment(), patch).unwrap_err();
        assert_eq!(err.message, "invalid patch format of retainKeys");
        assert_eq!(err.code(), 400);
        let err = smp(
            "io.k8s.api.apps.v1.Deployment",
            web_deployment(),
            json!({"spec": {"strategy": {"$retainKeys": "type"}}}),
        )
        .unwrap_err();
        assert_eq!(err.message, "invalid patch format of retainKeys");
    }

    #[test]
    fn null_removes_a_label() {
        let patch = json!({"metadata": {"labels": {"tier": null, "new": "x"}}});
        let out = deployment(web_deployment(), patch);
        assert_eq!(out["metadata"]["labels"], json!({"app": "web", "new": "x"}));
    }

    #[test]
    fn null_for_a_missing_field_is_dropped() {
        let out = deployment(web_deployment(), json!({"spec": {"paused": null, "minReadySeconds": 5}}));
        assert!(out["spec"].get("paused").is_none());
        assert_eq!(out["spec"]["minReadySeconds"], 5);
    }

    #[test]
    fn nulls_inside_new_values_are_dropped() {
        let out = deployment(web_deployment(), json!({"metadata": {"annotations": {"a": "1", "b": null}}}));
        assert_eq!(out["metadata"]["annotations"], json!({"a": "1"}));
    }

    // ---- lists of the well-known types

    #[test]
    fn service_ports_merge_by_port() {
        let original = json!({"spec": {"ports": [
            {"name": "http", "port": 80, "targetPort": 8080},
            {"name": "https", "port": 443, "targetPort": 8443}
        ]}});
        let patch = json!({"spec": {"ports": [{"port": 443, "targetPort": 9443}, {"port": 8000, "name": "alt"}]}});
        let out = smp("io.k8s.api.core.v1.Service", original, patch).unwrap();
        assert_eq!(
            out["spec"]["ports"],
            json!([
                {"name": "http", "port": 80, "targetPort": 8080},
                {"name": "https", "port": 443, "targetPort": 9443},
                {"port": 8000, "name": "alt"}
            ])
        );
    }

    #[test]
    fn service_port_without_merge_key_is_an_error() {
        let original = json!({"spec": {"ports": [{"port": 80}]}});
        let err =
            smp("io.k8s.api.core.v1.Service", original, json!({"spec": {"ports": [{"targetPort": 441}]}})).unwrap_err();
        assert_eq!(err.message, "map: map[targetPort:441] does not contain declared merge key: port");
        assert_eq!(err.kind, PatchErrorKind::Internal);
    }

    #[test]
    fn volumes_merge_by_name() {
        let original = json!({"spec": {"volumes": [
            {"name": "data", "emptyDir": {}},
            {"name": "conf", "configMap": {"name": "c1"}}
        ]}});
        let patch = json!({"spec": {"volumes": [
            {"name": "conf", "configMap": {"name": "c2"}},
            {"name": "data", "$patch": "delete"}
        ]}});
        let out = pod(original, patch);
        assert_eq!(out["spec"]["volumes"], json!([{"name": "conf", "configMap": {"name": "c2"}}]));
    }

    #[test]
    fn volume_source_switch_with_retain_keys() {
        let original = json!({"spec": {"volumes": [{"name": "v", "emptyDir": {}}]}});
        let patch = json!({"spec": {"volumes": [
            {"name": "v", "$retainKeys": ["hostPath", "name"], "hostPath": {"path": "/x"}}
        ]}});
        let out = pod(original, patch);
        assert_eq!(out["spec"]["volumes"], json!([{"name": "v", "hostPath": {"path": "/x"}}]));
    }

    #[test]
    fn volume_without_name_is_the_real_error() {
        let original = json!({"spec": {"volumes": [{"name": "v", "emptyDir": {}}]}});
        let err = pod_err(original, json!({"spec": {"volumes": [{"hostPath": {"path": "/var/lib/kubelet/pods"}}]}}));
        assert_eq!(
            err.message,
            "map: map[hostPath:map[path:/var/lib/kubelet/pods]] does not contain declared merge key: name"
        );
    }

    #[test]
    fn tolerations_have_no_merge_key_and_are_replaced() {
        let original = json!({"spec": {"tolerations": [{"key": "a", "operator": "Exists"}]}});
        let patch = json!({"spec": {"tolerations": [{"key": "b", "operator": "Exists", "effect": "NoSchedule"}]}});
        let out = pod(original, patch);
        assert_eq!(out["spec"]["tolerations"], json!([{"key": "b", "operator": "Exists", "effect": "NoSchedule"}]));
    }

    #[test]
    fn finalizers_merge_as_a_set() {
        let original = json!({"metadata": {"finalizers": ["a", "b"]}});
        let out = pod(original.clone(), json!({"metadata": {"finalizers": ["b", "c"]}}));
        assert_eq!(out["metadata"]["finalizers"], json!(["a", "b", "c"]));
        let out = pod(original, json!({"metadata": {"finalizers": ["c", "a"]}}));
        assert_eq!(out["metadata"]["finalizers"], json!(["c", "a", "b"]));
    }

    #[test]
    fn finalizers_removed_with_delete_from_primitive_list() {
        let original = json!({"metadata": {"finalizers": ["a", "b", "c"]}});
        let patch = json!({"metadata": {
            "$deleteFromPrimitiveList/finalizers": ["b"],
            "$setElementOrder/finalizers": ["c", "a", "d"],
            "finalizers": ["d"]
        }});
        let out = pod(original, patch);
        assert_eq!(out["metadata"]["finalizers"], json!(["c", "a", "d"]));
    }

    #[test]
    fn delete_list_for_a_missing_field_does_nothing() {
        let out = pod(
            json!({"metadata": {"name": "p"}}),
            json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["x"]}}),
        );
        assert_eq!(out, json!({"metadata": {"name": "p"}}));
    }

    #[test]
    fn bad_delete_from_primitive_list_key() {
        let err = pod_err(json!({"metadata": {}}), json!({"metadata": {"$deleteFromPrimitiveListfinalizers": ["x"]}}));
        assert_eq!(err.message, "invalid patch format of primitive list");
        assert_eq!(err.code(), 400);
    }

    #[test]
    fn owner_references_merge_by_uid() {
        let original = json!({"metadata": {"ownerReferences": [{"uid": "1", "name": "a"}]}});
        let out = pod(original, json!({"metadata": {"ownerReferences": [{"uid": "2", "name": "b"}]}}));
        // Without $setElementOrder, new elements come first (as `kubectl patch` shows).
        assert_eq!(out["metadata"]["ownerReferences"], json!([{"uid": "2", "name": "b"}, {"uid": "1", "name": "a"}]));
    }

    #[test]
    fn pdb_selector_is_replaced() {
        let original = json!({"spec": {"selector": {"matchLabels": {"a": "1"}}, "minAvailable": 1}});
        let patch = json!({"spec": {"selector": {"matchLabels": {"b": "2"}}}});
        let out = smp("io.k8s.api.policy.v1.PodDisruptionBudget", original, patch).unwrap();
        assert_eq!(out["spec"]["selector"], json!({"matchLabels": {"b": "2"}}));
        assert_eq!(out["spec"]["minAvailable"], 1);
    }

    #[test]
    fn maps_of_maps_merge() {
        let original = json!({"data": {"a": "1"}, "metadata": {"annotations": {"x": "1"}}});
        let patch = json!({"data": {"b": "2"}, "metadata": {"annotations": {"y": "2"}}});
        let out = smp("io.k8s.api.core.v1.ConfigMap", original, patch).unwrap();
        assert_eq!(out["data"], json!({"a": "1", "b": "2"}));
        assert_eq!(out["metadata"]["annotations"], json!({"x": "1", "y": "2"}));
        let original = json!({"spec": {"containers": [{"name": "c", "resources": {"limits": {"cpu": "1"}}}]}});
        let patch = json!({"spec": {"containers": [{"name": "c", "resources": {"limits": {"memory": "1Gi"}}}]}});
        assert_eq!(
            pod(original, patch)["spec"]["containers"][0]["resources"]["limits"],
            json!({"cpu": "1", "memory": "1Gi"})
        );
    }

    // ---- directives

    #[test]
    fn patch_replace_in_a_map() {
        let original = json!({"metadata": {"labels": {"a": "1", "b": "2"}}});
        let out = pod(original, json!({"metadata": {"labels": {"$patch": "replace", "c": "3"}}}));
        assert_eq!(out["metadata"]["labels"], json!({"c": "3"}));
    }

    #[test]
    fn patch_delete_in_a_map_leaves_it_empty() {
        let original = json!({"metadata": {"labels": {"a": "1"}}});
        let out = pod(original, json!({"metadata": {"labels": {"$patch": "delete"}}}));
        assert_eq!(out["metadata"]["labels"], json!({}));
        let out = pod(json!({"metadata": {}}), json!({"metadata": {"labels": {"$patch": "delete"}}}));
        assert_eq!(out["metadata"], json!({}), "a directive for a missing field adds nothing");
    }

    #[test]
    fn patch_merge_or_unknown_in_a_map_is_an_error() {
        let original = json!({"metadata": {"labels": {"a": "1"}}});
        let err = pod_err(original.clone(), json!({"metadata": {"labels": {"$patch": "merge"}}}));
        assert_eq!(err.message, "unknown patch type: merge in map: map[$patch:merge]");
        let err = pod_err(original, json!({"metadata": {"labels": {"$patch": 5, "b": "x"}}}));
        assert_eq!(err.message, "unknown patch type: %!s(int64=5) in map: map[$patch:5 b:x]");
    }

    #[test]
    fn patch_replace_in_a_list() {
        let original = containers(json!([{"name": "a", "image": "1"}, {"name": "b", "image": "2"}]));
        let patch = containers(json!([{"name": "c", "image": "3"}, {"$patch": "replace"}]));
        assert_eq!(pod(original, patch)["spec"]["containers"], json!([{"name": "c", "image": "3"}]));
    }

    #[test]
    fn patch_merge_or_unknown_in_a_list_is_an_error() {
        let original = containers(json!([{"name": "a"}]));
        let err = pod_err(original.clone(), containers(json!([{"name": "a", "$patch": "merge"}])));
        assert_eq!(err.message, "merging lists cannot yet be specified in the patch");
        let err = pod_err(original.clone(), containers(json!([{"name": "a", "$patch": "drop"}])));
        assert_eq!(err.message, "unknown patch type: drop in map: map[$patch:drop name:a]");
        let err = pod_err(original, containers(json!([{"$patch": "delete"}])));
        assert_eq!(err.message, "map: map[$patch:delete] does not contain declared merge key: name");
    }

    #[test]
    fn element_without_merge_key_is_an_error() {
        let err = pod_err(containers(json!([{"name": "a"}])), containers(json!([{"image": "nginx:1.25"}])));
        assert_eq!(err.message, "map: map[image:nginx:1.25] does not contain declared merge key: name");
        assert_eq!(err.to_api_error().code, 500);
    }

    #[test]
    fn set_element_order_listing_unknown_elements_in_wrong_order() {
        let original = containers(json!([{"name": "a"}, {"name": "b"}]));
        let patch = json!({"spec": {
            "$setElementOrder/containers": [{"name": "a"}, {"name": "b"}],
            "containers": [{"name": "b", "image": "x"}, {"name": "a", "image": "y"}]
        }});
        let err = pod_err(original, patch);
        assert_eq!(
            err.message,
            "The order in patch list:\n[map[image:x name:b] map[image:y name:a]]\n doesn't match $setElementOrder list:\n[map[name:a] map[name:b]]\n"
        );
        let err = pod_err(
            containers(json!([{"name": "a"}])),
            json!({"spec": {"$setElementOrder/containers": [{"name": "a"}], "containers": [{"name": "z"}]}}),
        );
        assert!(err.message.starts_with("The order in patch list:\n[map[name:z]]"), "{}", err.message);
    }

    #[test]
    fn set_element_order_errors() {
        let err = pod_err(json!({"spec": {}}), json!({"spec": {"$setElementOrder": [{"name": "a"}]}}));
        assert_eq!(err.message, "invalid patch format of setElementOrder list");
        assert_eq!(err.code(), 400);
        let err = pod_err(json!({"spec": {}}), json!({"spec": {"$setElementOrder/containers": "a"}}));
        assert_eq!(err.message, "expected a []interface {}, but received a string");
        let err = pod_err(
            containers(json!([{"name": "a"}])),
            json!({"spec": {"$setElementOrder/containers": [{"image": "a"}]}}),
        );
        assert_eq!(err.message, "map: map[image:a] does not contain declared merge key: name");
    }

    #[test]
    fn set_element_order_on_primitive_list() {
        let original = json!({"metadata": {"finalizers": ["a", "b", "c"]}});
        let out = pod(original, json!({"metadata": {"$setElementOrder/finalizers": ["c", "b", "a"]}}));
        assert_eq!(out["metadata"]["finalizers"], json!(["c", "b", "a"]));
    }

    #[test]
    fn set_element_order_with_a_new_list() {
        let patch = json!({"spec": {
            "$setElementOrder/containers": [{"name": "b"}, {"name": "a"}],
            "containers": [{"name": "b"}, {"name": "a"}, {"name": "gone", "$patch": "delete"}]
        }});
        let out = pod(json!({"spec": {}}), patch);
        assert_eq!(out["spec"]["containers"], json!([{"name": "b"}, {"name": "a"}]));
    }

    // ---- type problems

    #[test]
    fn lists_of_lists_are_unprocessable() {
        let original = json!({"metadata": {"finalizers": [["a"]]}});
        let err = pod_err(original, json!({"metadata": {"finalizers": [["b"]]}}));
        assert_eq!(err.message, "lists of lists are not supported");
        assert_eq!(err.code(), 422);
        assert_eq!(err.to_api_error().message, "the server rejected our request due to an error in our request");
    }

    #[test]
    fn mixed_element_types_are_an_error() {
        let original = json!({"metadata": {"finalizers": ["a"]}});
        let err = pod_err(original, json!({"metadata": {"finalizers": [1]}}));
        assert_eq!(err.message, "list element types are not identical: [[a] [1]]");
        let err = pod_err(containers(json!([{"name": "a"}])), containers(json!(["x"])));
        assert_eq!(err.message, "list element types are not identical: [[map[name:a]] [x]]");
    }

    #[test]
    fn a_value_of_another_type_replaces() {
        let out = pod(json!({"metadata": {"labels": {"a": "1"}}}), json!({"metadata": {"labels": "x"}}));
        assert_eq!(out["metadata"]["labels"], "x");
        let out = pod(containers(json!([{"name": "a"}])), json!({"spec": {"containers": {"name": "b"}}}));
        assert_eq!(out["spec"]["containers"], json!({"name": "b"}));
    }

    #[test]
    fn non_object_patches() {
        let schemas = Schemas::builtin();
        let node = schemas.node("io.k8s.api.core.v1.Pod");
        let err = apply(&json!({}), &json!([1]), node).unwrap_err();
        assert_eq!(err.message, "json: cannot unmarshal array into Go value of type map[string]interface {}");
        assert_eq!(err.code(), 400);
        assert_eq!(apply(&json!({"a": 1}), &Value::Null, node).unwrap(), json!({"a": 1}));
    }

    #[test]
    fn whole_object_patch_delete_and_replace() {
        assert_eq!(pod(json!({"a": 1}), json!({"$patch": "delete"})), json!({}));
        assert_eq!(pod(json!({"a": 1}), json!({"$patch": "replace", "b": 2})), json!({"b": 2}));
    }

    // ---- without a schema

    #[test]
    fn without_a_schema_lists_are_replaced_and_maps_merge() {
        let original = json!({"spec": {"containers": [{"name": "a", "image": "1"}], "x": {"a": 1, "b": 2}}});
        let patch = json!({"spec": {"containers": [{"name": "b"}], "x": {"a": null, "c": 3}}});
        let out = apply(&original, &patch, None).unwrap();
        assert_eq!(out, json!({"spec": {"containers": [{"name": "b"}], "x": {"b": 2, "c": 3}}}));
    }

    #[test]
    fn nulls_of_new_values_are_dropped_but_not_null_list_elements() {
        let out = apply(&json!({"thing": null}), &json!({"c": {"k": {"a": "v", "b": null}}, "l": ["a", null]}), None);
        assert_eq!(out.unwrap(), json!({"thing": null, "c": {"k": {"a": "v"}}, "l": ["a", null]}));
        let out = apply(&json!({}), &json!({"l": [{"inner": {"a": null}}]}), None);
        assert_eq!(out.unwrap(), json!({"l": [{"inner": {}}]}));
    }

    #[test]
    fn delete_and_add_with_server_only_elements_keeps_the_real_order() {
        // The live list has "4", which the user never applied; kubectl deletes "1" and adds "3".
        let original = containers(json!([{"name": "1"}, {"name": "2", "image": "b"}, {"name": "4", "image": "c"}]));
        let patch = json!({"spec": {
            "$setElementOrder/containers": [{"name": "2"}, {"name": "3"}],
            "containers": [{"name": "3"}, {"name": "1", "$patch": "delete"}]
        }});
        assert_eq!(
            pod(original, patch)["spec"]["containers"],
            json!([{"name": "2", "image": "b"}, {"name": "4", "image": "c"}, {"name": "3"}])
        );
    }

    #[test]
    fn unknown_fields_have_no_metadata() {
        let original = json!({"spec": {"custom": [{"name": "a"}]}});
        let out = pod(original, json!({"spec": {"custom": [{"name": "b"}]}}));
        assert_eq!(out["spec"]["custom"], json!([{"name": "b"}]));
    }

    // ---- Go formatting

    #[test]
    fn go_formatting() {
        assert_eq!(go_v(&json!({"b": [1, "x", null], "a": {"c": true}})), "map[a:map[c:true] b:[1 x <nil>]]");
        assert_eq!(go_v(&json!(2.5)), "2.5");
        assert_eq!(go_v(&json!(1e6)), "1e+06");
        assert_eq!(go_v(&json!(1234567.5)), "1.2345675e+06");
        assert_eq!(go_v(&json!(0.00001)), "1e-05");
        assert_eq!(go_v(&json!(0.0001)), "0.0001");
        assert_eq!(go_s(&json!(true)), "%!s(bool=true)");
        assert_eq!(go_s(&Value::Null), "%!s(<nil>)");
    }
}
