//! `metadata.managedFields`: who owns which fields of an object, kept up to date on every
//! write the way the real API server's field manager does it
//! (`k8s.io/apimachinery/pkg/util/managedfields` over structured-merge-diff).
//!
//! Every create, update and non-apply patch goes through [`update_managed_fields`]: the
//! manager takes ownership of the fields its write changed, other managers lose the fields
//! whose values changed under them, and the entries are written back sorted as the real
//! server sorts them. Server-side apply lives in [`super::apply`] and shares the machinery
//! here.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde_json::{Map, Value};

use super::fieldpath::{FieldSet, Path, go_json, go_quote, is_go_printable};
use super::go_zero;
use super::typed::{self, Comparison, Ty};
use crate::registry::schema::Node;

/// `metadata.managedFields[].operation`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Operation {
    /// Server-side apply (`application/apply-patch+yaml`).
    Apply,
    /// Create, update (PUT) and the other patch types.
    Update,
}

impl Operation {
    /// The wire name (`Apply`, `Update`).
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Apply => "Apply",
            Operation::Update => "Update",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "Apply" => Some(Operation::Apply),
            "Update" => Some(Operation::Update),
            _ => None,
        }
    }
}

/// The longest field manager name the server accepts (`FieldManagerMaxLength`).
pub const FIELD_MANAGER_MAX_LENGTH: usize = 128;

/// The manager recorded when a request names none: the User-Agent up to its first `/`,
/// without unprintable characters, cut to 128 bytes (`prefixFromUserAgent`).
/// `kubectl/v1.33.0 (linux/amd64) kubernetes/…` gives `kubectl`.
pub fn default_manager(user_agent: &str) -> String {
    let prefix = user_agent.split('/').next().unwrap_or_default();
    let mut out = String::new();
    for c in prefix.chars().filter(|c| is_go_printable(*c)) {
        if out.len() + c.len_utf8() > FIELD_MANAGER_MAX_LENGTH {
            break;
        }
        out.push(c);
    }
    out
}

/// The `fieldManager` query parameter when given, else [`default_manager`] of the User-Agent
/// (`managerOrUserAgent`).
pub fn manager_or_user_agent(field_manager: Option<&str>, user_agent: &str) -> String {
    match field_manager {
        Some(m) if !m.is_empty() => m.to_string(),
        _ => default_manager(user_agent),
    }
}

/// Who an entry belongs to: the fields that make entries distinct (`BuildManagerIdentifier`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManagerId {
    pub manager: String,
    pub operation: Operation,
    /// The API version, for `Update` entries only (appliers keep one entry across versions).
    pub api_version: String,
    pub subresource: String,
}

impl ManagerId {
    /// An identifier for `manager` doing `operation` at `api_version` on `subresource`.
    pub fn new(manager: &str, operation: Operation, api_version: &str, subresource: &str) -> Self {
        let api_version = if operation == Operation::Apply { String::new() } else { api_version.to_string() };
        ManagerId { manager: manager.to_string(), operation, api_version, subresource: subresource.to_string() }
    }

    /// The identifier string the real server keys entries by (JSON of the entry's identity).
    pub fn key(&self) -> String {
        let mut m = Map::new();
        if !self.manager.is_empty() {
            m.insert("manager".into(), self.manager.clone().into());
        }
        m.insert("operation".into(), self.operation.as_str().into());
        if !self.api_version.is_empty() {
            m.insert("apiVersion".into(), self.api_version.clone().into());
        }
        if !self.subresource.is_empty() {
            m.insert("subresource".into(), self.subresource.clone().into());
        }
        // Struct field order, not sorted: write the fields one by one.
        let mut out = String::from("{");
        for (i, (k, v)) in m.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            go_json::write_string(k, &mut out);
            out.push(':');
            go_json::write_value(v, &mut out);
        }
        out.push('}');
        out
    }

    /// How conflict messages name the manager (`printManager`): `"kubectl"`,
    /// `"kube-controller-manager" with subresource "status" using apps/v1`.
    pub fn describe(&self) -> String {
        let mut s = go_quote(&self.manager);
        if !self.subresource.is_empty() {
            s = format!("{s} with subresource {}", go_quote(&self.subresource));
        }
        if self.operation == Operation::Update {
            s = format!("{s} using {}", self.api_version);
        }
        s
    }
}

/// One manager's fields (`fieldpath.VersionedSet`) and the time of its last change.
#[derive(Clone, Debug)]
pub struct Entry {
    pub id: ManagerId,
    pub set: FieldSet,
    pub api_version: String,
    pub applied: bool,
    pub time: Option<Timestamp>,
}

/// All entries of an object, by identifier key.
#[derive(Clone, Debug, Default)]
pub struct Managed {
    pub entries: BTreeMap<String, Entry>,
}

/// The key the real server uses while computing an update's own changes.
const CURRENT_OPERATION: &str = "current-operation";
/// The bucket old update entries are merged into.
const ANCIENT_CHANGES: &str = "ancient-changes";
/// How many `Update` entries an object keeps before merging the oldest.
pub const MAX_UPDATE_MANAGERS: usize = 10;

impl Managed {
    /// Decode `metadata.managedFields` (absent or `null`: no entries).
    pub fn decode(entries: Option<&Value>) -> Result<Managed, String> {
        let mut managed = Managed::default();
        let list = match entries {
            None | Some(Value::Null) => return Ok(managed),
            Some(Value::Array(list)) => list,
            Some(other) => return Err(format!("managedFields must be a list, got {other}")),
        };
        for (i, raw) in list.iter().enumerate() {
            let entry = decode_entry(i, raw)?;
            managed.entries.insert(entry.id.key(), entry);
        }
        Ok(managed)
    }

    /// Whether there is no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries as the real server writes them, sorted; `None` when there is none.
    pub fn encode(&self) -> Option<Value> {
        if self.entries.is_empty() {
            return None;
        }
        let mut list: Vec<&Entry> = self.entries.values().collect();
        list.sort_by(|p, q| {
            let op = |e: &Entry| if e.applied { Operation::Apply } else { e.id.operation };
            let secs = |e: &Entry| e.time.map_or(0, |t| t.as_second());
            op(p)
                .as_str()
                .cmp(op(q).as_str())
                .then_with(|| secs(p).cmp(&secs(q)))
                .then_with(|| p.id.manager.cmp(&q.id.manager))
                .then_with(|| p.api_version.cmp(&q.api_version))
                .then_with(|| p.id.subresource.cmp(&q.id.subresource))
        });
        Some(Value::Array(list.into_iter().map(encode_entry).collect()))
    }

    fn insert(&mut self, key: String, entry: Entry) {
        self.entries.insert(key, entry);
    }
}

fn decode_entry(i: usize, raw: &Value) -> Result<Entry, String> {
    let field = |name: &str| raw.get(name).and_then(Value::as_str).unwrap_or_default();
    let operation = Operation::parse(field("operation")).ok_or("operation must be `Apply` or `Update`")?;
    let api_version = field("apiVersion");
    if api_version.is_empty() {
        return Err("apiVersion must not be empty".to_string());
    }
    match field("fieldsType") {
        "FieldsV1" => {}
        "" => return Err(format!("missing fieldsType in managed fields entry {i}")),
        other => return Err(format!("invalid fieldsType {other:?} in managed fields entry {i}")),
    }
    let set = match raw.get("fieldsV1") {
        None | Some(Value::Null) => FieldSet::new(),
        Some(v) => FieldSet::from_fields_v1(v).map_err(|e| format!("error decoding set: {e}"))?,
    };
    let time = match raw.get("time") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.parse::<Timestamp>().map_err(|e| format!("invalid time {s:?}: {e}"))?),
        Some(other) => return Err(format!("invalid time {other}")),
    };
    Ok(Entry {
        id: ManagerId::new(field("manager"), operation, api_version, field("subresource")),
        set,
        api_version: api_version.to_string(),
        applied: operation == Operation::Apply,
        time,
    })
}

fn encode_entry(e: &Entry) -> Value {
    let mut m = Map::new();
    if !e.id.manager.is_empty() {
        m.insert("manager".into(), e.id.manager.clone().into());
    }
    let operation = if e.applied { Operation::Apply } else { e.id.operation };
    m.insert("operation".into(), operation.as_str().into());
    m.insert("apiVersion".into(), e.api_version.clone().into());
    if let Some(t) = e.time {
        m.insert("time".into(), format_time(t).into());
    }
    m.insert("fieldsType".into(), "FieldsV1".into());
    m.insert("fieldsV1".into(), e.set.to_fields_v1());
    if !e.id.subresource.is_empty() {
        m.insert("subresource".into(), e.id.subresource.clone().into());
    }
    Value::Object(m)
}

/// The fields `obj` sets, as an applier of it would own them (`TypedValue.ToFieldSet`);
/// `field_set(obj, node).to_fields_v1()` is its `fieldsV1`.
pub fn field_set(obj: &Value, node: Node<'_>) -> FieldSet {
    typed::to_field_set(obj, Ty::Schema(node, false))
}

/// A `metav1.Time` on the wire: RFC 3339 in UTC, whole seconds.
pub fn format_time(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The managedFields of an object's metadata.
pub fn managed_fields_of(obj: &Value) -> Option<&Value> {
    obj.get("metadata").and_then(|m| m.get("managedFields"))
}

/// Replace (or, with `None`, remove) `metadata.managedFields`.
pub fn set_managed_fields(obj: &mut Value, fields: Option<Value>) {
    let Value::Object(obj) = obj else { return };
    match fields {
        Some(f) => {
            let meta = obj.entry("metadata").or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(meta) = meta {
                meta.insert("managedFields".into(), f);
            }
        }
        None => {
            if let Some(Value::Object(meta)) = obj.get_mut("metadata") {
                meta.remove("managedFields");
            }
        }
    }
}

/// Paths that never belong to a manager (`stripMetaManager`).
pub(crate) fn strip_paths() -> FieldSet {
    let paths = [
        Path::fields(&["apiVersion"]),
        Path::fields(&["kind"]),
        Path::fields(&["metadata"]),
        Path::fields(&["metadata", "name"]),
        Path::fields(&["metadata", "namespace"]),
        Path::fields(&["metadata", "creationTimestamp"]),
        Path::fields(&["metadata", "selfLink"]),
        Path::fields(&["metadata", "uid"]),
        Path::fields(&["metadata", "clusterName"]),
        Path::fields(&["metadata", "generation"]),
        Path::fields(&["metadata", "managedFields"]),
        Path::fields(&["metadata", "resourceVersion"]),
    ];
    FieldSet::from_paths(&paths)
}

/// The fields a write to `subresource` of a kind does not own, because the strategy resets
/// them (`GetResetFields` of the Kubernetes registry strategies): the main resource of a
/// kind with a status resets `status`; the status subresource resets `spec` (and for pods
/// `metadata.deletionTimestamp` and `metadata.ownerReferences`, for deployments
/// `metadata.labels`, for certificate signing requests `status.conditions`).
pub fn reset_fields(group: &str, kind: &str, subresource: &str, has_status: bool) -> FieldSet {
    let mut paths = Vec::new();
    match subresource {
        "" if has_status => paths.push(Path::fields(&["status"])),
        "status" => {
            paths.push(Path::fields(&["spec"]));
            match (group, kind) {
                ("", "Pod") => {
                    paths.push(Path::fields(&["metadata", "deletionTimestamp"]));
                    paths.push(Path::fields(&["metadata", "ownerReferences"]));
                }
                ("apps", "Deployment") => paths.push(Path::fields(&["metadata", "labels"])),
                ("certificates.k8s.io", "CertificateSigningRequest") => {
                    paths.push(Path::fields(&["status", "conditions"]));
                }
                _ => {}
            }
        }
        _ => {}
    }
    FieldSet::from_paths(&paths)
}

/// What one write is about: the kind's schema and version, the subresource, and the fields
/// its strategy resets.
pub(crate) struct Context<'a> {
    pub ty: Ty<'a>,
    /// The kind's OpenAPI definition, when it is a built-in one (for its Go zero value).
    pub definition: Option<String>,
    pub api_version: String,
    pub subresource: String,
    pub reset: FieldSet,
    pub now: Timestamp,
}

impl<'a> Context<'a> {
    pub fn new(node: Node<'a>, api_version: &str, kind: &str, subresource: &str, now: Timestamp) -> Self {
        let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
        let has_status = node.property("status").is_some();
        Context {
            ty: Ty::Schema(node, false),
            definition: definition_for(api_version, kind),
            api_version: api_version.to_string(),
            subresource: subresource.to_string(),
            reset: reset_fields(group, kind, subresource, has_status),
            now,
        }
    }

    /// The object as the real server sees it after decoding into its Go type: struct
    /// fields present, managedFields left out.
    pub fn normalized(&self, obj: Option<&Value>) -> Value {
        let mut v = match obj {
            Some(o) => o.clone(),
            None => Value::Object(Map::new()),
        };
        set_managed_fields(&mut v, None);
        go_zero::normalize(&mut v, self.ty, self.definition.as_deref());
        v
    }
}

/// The OpenAPI definition name of a built-in kind (`apps/v1`, `Deployment` →
/// `io.k8s.api.apps.v1.Deployment`).
pub fn definition_for(api_version: &str, kind: &str) -> Option<String> {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    if version.is_empty() || kind.is_empty() {
        return None;
    }
    let package = match group {
        "" => "io.k8s.api.core".to_string(),
        "apiextensions.k8s.io" => "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions".to_string(),
        "apiregistration.k8s.io" => "io.k8s.kube-aggregator.pkg.apis.apiregistration".to_string(),
        "internal.apiserver.k8s.io" => "io.k8s.api.apiserverinternal".to_string(),
        g => format!("io.k8s.api.{}", g.split('.').next().unwrap_or(g)),
    };
    Some(format!("{package}.{version}.{kind}"))
}

/// A conflict: a field another manager owns whose value the write would change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    pub manager: ManagerId,
    pub path: Path,
}

/// Why ownership could not be settled.
#[derive(Debug)]
pub(crate) enum OwnershipError {
    /// Fields of other managers would change (only when not forced).
    Conflicts(Vec<Conflict>),
    /// The objects could not be compared.
    Internal(String),
}

/// `Updater.update`: compare the objects; other managers lose the fields that changed
/// (or, unless `force`, the write is refused with the conflicts) and the fields removed.
pub(crate) fn take_ownership(
    live: &Value,
    new: &Value,
    managed: &mut Managed,
    workflow: &str,
    force: bool,
    ctx: &Context<'_>,
) -> Result<Comparison, OwnershipError> {
    let cmp = typed::compare(live, new, ctx.ty)
        .map_err(|e| OwnershipError::Internal(format!("failed to compare objects: {e}")))?
        .exclude(&ctx.reset);
    let changed = cmp.modified.union(&cmp.added);
    let conflicts: Vec<(&String, &ManagerId, FieldSet)> = managed
        .entries
        .iter()
        .filter(|(key, _)| key.as_str() != workflow)
        .map(|(key, entry)| (key, &entry.id, entry.set.intersection(&changed)))
        .filter(|(_, _, set)| !set.is_empty())
        .collect();
    if !force && !conflicts.is_empty() {
        let out = conflicts
            .iter()
            .flat_map(|(_, id, set)| set.paths().into_iter().map(|path| Conflict { manager: (*id).clone(), path }))
            .collect();
        return Err(OwnershipError::Conflicts(out));
    }
    let taken: Vec<(String, FieldSet)> = conflicts.into_iter().map(|(key, _, set)| (key.clone(), set)).collect();
    for (key, set) in taken {
        if let Some(e) = managed.entries.get_mut(&key) {
            e.set = e.set.difference(&set);
        }
    }
    if !cmp.removed.is_empty() {
        for (key, e) in managed.entries.iter_mut() {
            if key != workflow {
                e.set = e.set.difference(&cmp.removed);
            }
        }
    }
    managed.entries.retain(|_, e| !e.set.is_empty());
    Ok(cmp)
}

/// `Updater.Update` + `stripMetaManager` + `managedFieldsUpdater` for one manager.
fn record_update(
    live: &Value,
    new: &Value,
    managed: &mut Managed,
    id: ManagerId,
    ctx: &Context<'_>,
) -> Result<(), String> {
    typed::validate(new, ctx.ty, true).map_err(|e| format!("failed to convert new object to smd typed: {e}"))?;
    typed::validate(live, ctx.ty, true).map_err(|e| format!("failed to convert live object to smd typed: {e}"))?;
    let cmp = match take_ownership(live, new, managed, CURRENT_OPERATION, true, ctx) {
        Ok(cmp) => cmp,
        Err(OwnershipError::Internal(e)) => return Err(e),
        Err(OwnershipError::Conflicts(_)) => return Err("unexpected conflicts on a forced update".to_string()),
    };
    let own = cmp.modified.union(&cmp.added).recursive_difference(&ctx.reset).difference(&strip_paths());
    if own.is_empty() {
        return Ok(());
    }
    let key = id.key();
    let set = match managed.entries.get(&key) {
        Some(previous) => own.union(&previous.set),
        None => own,
    };
    let entry = Entry { id, set, api_version: ctx.api_version.clone(), applied: false, time: Some(ctx.now) };
    managed.insert(key, entry);
    Ok(())
}

/// Merge the oldest `Update` entries into `ancient-changes` buckets until at most
/// [`MAX_UPDATE_MANAGERS`] remain (`capManagersManager`).
fn cap_update_managers(managed: &mut Managed) {
    let mut updaters: Vec<String> =
        managed.entries.iter().filter(|(_, e)| !e.applied).map(|(k, _)| k.clone()).collect();
    if updaters.len() <= MAX_UPDATE_MANAGERS {
        return;
    }
    let secs = |m: &Managed, k: &String| m.entries.get(k).and_then(|e| e.time).map_or(0, |t| t.as_second());
    updaters.sort_by(|a, b| secs(managed, a).cmp(&secs(managed, b)).then_with(|| a.cmp(b)));
    let mut first_of_version: BTreeMap<String, String> = BTreeMap::new();
    let mut length = updaters.len();
    for key in updaters {
        if length <= MAX_UPDATE_MANAGERS {
            break;
        }
        let Some(entry) = managed.entries.get(&key).cloned() else { continue };
        let bucket_id = ManagerId::new(ANCIENT_CHANGES, Operation::Update, &entry.api_version, "");
        let bucket = bucket_id.key();
        match first_of_version.get(&entry.api_version) {
            Some(first) => {
                if !managed.entries.contains_key(&bucket)
                    && let Some(mut moved) = managed.entries.remove(first)
                {
                    moved.id = bucket_id.clone();
                    managed.entries.insert(bucket.clone(), moved);
                }
                let union = managed.entries.get(&bucket).map(|b| entry.set.union(&b.set)).unwrap_or(entry.set.clone());
                managed.entries.insert(
                    bucket.clone(),
                    Entry {
                        id: bucket_id,
                        set: union,
                        api_version: entry.api_version.clone(),
                        applied: entry.applied,
                        time: entry.time,
                    },
                );
                managed.entries.remove(&key);
                length -= 1;
            }
            None => {
                first_of_version.insert(entry.api_version.clone(), key);
            }
        }
    }
}

/// The Update chain below `skipNonAppliedManager`: build the identifier, record the
/// manager's changes, cap the update entries.
pub(crate) fn update_entries(
    live: &Value,
    new: &Value,
    managed: &mut Managed,
    manager: &str,
    ctx: &Context<'_>,
) -> Result<(), String> {
    let manager = if manager.is_empty() { "unknown" } else { manager };
    let id = ManagerId::new(manager, Operation::Update, &ctx.api_version, &ctx.subresource);
    record_update(live, new, managed, id, ctx)?;
    cap_update_managers(managed);
    Ok(())
}

/// Whether the request asks to clear managedFields: `[]`, or a single empty entry.
fn is_reset(fields: Option<&Value>) -> bool {
    match fields {
        Some(Value::Array(list)) if list.is_empty() => true,
        Some(Value::Array(list)) if list.len() == 1 => list[0].as_object().is_some_and(|o| o.values().all(is_zero)),
        _ => false,
    }
}

fn is_zero(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

/// The entries an update starts from (`decodeLiveOrNew`): the request's own when it sets
/// valid ones (letting clients edit managedFields), else the live object's. Writes to a
/// subresource always use the live object's.
fn starting_entries(old: Option<&Value>, new: &Value, subresource: &str) -> Managed {
    let live = || Managed::decode(old.and_then(managed_fields_of)).unwrap_or_default();
    if !subresource.is_empty() {
        return live();
    }
    let requested = managed_fields_of(new);
    if is_reset(requested) {
        return Managed::default();
    }
    match Managed::decode(requested) {
        Ok(m) if !m.is_empty() => m,
        _ => live(),
    }
}

fn has_uid(obj: Option<&Value>) -> bool {
    obj.and_then(|o| o.get("metadata"))
        .and_then(|m| m.get("uid"))
        .and_then(Value::as_str)
        .is_some_and(|s| !s.is_empty())
}

/// Update `metadata.managedFields` of `new` for a create (`old == None`), update or
/// non-apply patch by `manager` (`FieldManager.UpdateNoErrors`).
///
/// `operation` is the operation recorded (`Update` for every write but apply, which goes
/// through [`super::apply::apply`]). `subresource` is `""` for the main resource, `status`,
/// `scale`… `node` is the kind's schema (its root definition). On an internal error the
/// live object's entries are kept, as the real server does.
pub fn update_managed_fields(
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    operation: Operation,
    subresource: &str,
    now: Timestamp,
    node: Node<'_>,
) {
    let api_version = new.get("apiVersion").and_then(Value::as_str).unwrap_or_default().to_string();
    let kind = new.get("kind").and_then(Value::as_str).unwrap_or_default().to_string();
    let ctx = Context::new(node, &api_version, &kind, subresource, now);
    let mut managed = starting_entries(old, new, subresource);
    set_managed_fields(new, None);
    // Objects whose entries were cleared are tracked again only from their next apply.
    if managed.is_empty() && has_uid(old) {
        return;
    }
    let live = ctx.normalized(old);
    let next = ctx.normalized(Some(new));
    let result = update_entries(&live, &next, &mut managed, manager, &ctx).map(|()| {
        if operation == Operation::Apply {
            mark_applied(&mut managed, manager, &ctx);
        }
    });
    match result {
        Ok(()) => set_managed_fields(new, managed.encode()),
        Err(_) => set_managed_fields(new, old.and_then(managed_fields_of).cloned()),
    }
}

/// Re-key an update entry as an apply entry (for callers recording `Operation::Apply`).
fn mark_applied(managed: &mut Managed, manager: &str, ctx: &Context<'_>) {
    let from = ManagerId::new(manager, Operation::Update, &ctx.api_version, &ctx.subresource).key();
    if let Some(mut e) = managed.entries.remove(&from) {
        e.id = ManagerId::new(manager, Operation::Apply, &ctx.api_version, &ctx.subresource);
        e.applied = true;
        let key = e.id.key();
        let merged = match managed.entries.remove(&key) {
            Some(prev) => Entry { set: e.set.union(&prev.set), ..e },
            None => e,
        };
        managed.entries.insert(key, merged);
    }
}

/// Keep the previous timestamps when a write changed nothing but them
/// (`IgnoreManagedFieldsTimestampsTransformer`): a no-op update must not touch the object.
pub fn keep_timestamps_on_noop(old: &Value, new: &mut Value) {
    let (Some(Value::Array(old_fields)), Some(Value::Array(new_fields))) =
        (managed_fields_of(old), managed_fields_of(new))
    else {
        return;
    };
    if old_fields.len() != new_fields.len() || new_fields.is_empty() {
        return;
    }
    let without_time = |e: &Value| {
        let mut e = e.clone();
        if let Value::Object(m) = &mut e {
            m.remove("time");
        }
        e
    };
    let same_entries = old_fields.iter().zip(new_fields).all(|(a, b)| without_time(a) == without_time(b));
    let times_changed = old_fields.iter().zip(new_fields).any(|(a, b)| a.get("time") != b.get("time"));
    if !same_entries || !times_changed {
        return;
    }
    let mut a = old.clone();
    let mut b = new.clone();
    set_managed_fields(&mut a, None);
    set_managed_fields(&mut b, None);
    if a != b {
        return;
    }
    let restored = old_fields.clone();
    set_managed_fields(new, Some(Value::Array(restored)));
}

/// The API version of the `autoscaling/v1` Scale subresource.
pub const SCALE_API_VERSION: &str = "autoscaling/v1";

/// The entries of a Scale built from its parent's (`ScaleHandler.ToSubresource`): the
/// managers of the parent's replicas field, now owning the Scale's `spec.replicas`.
/// `versions` are the parent's API versions whose replicas live at `replicas_path`.
pub fn scale_entries_from_parent(
    parent: &Value,
    versions: &[&str],
    replicas_path: &Path,
) -> Result<Option<Value>, String> {
    let parent_managed = Managed::decode(managed_fields_of(parent))?;
    let scale_path = Path::fields(&["spec", "replicas"]);
    let mut out = Managed::default();
    for (key, e) in parent_managed.entries {
        if versions.contains(&e.api_version.as_str()) && e.set.has(&replicas_path.0) {
            let entry =
                Entry { set: FieldSet::from_paths([&scale_path]), api_version: SCALE_API_VERSION.to_string(), ..e };
            out.insert(key, entry);
        }
    }
    Ok(out.encode())
}

/// The parent's entries after a write to its Scale (`ScaleHandler.ToParent`): managers
/// that no longer own the Scale's replicas lose the parent's replicas field, new owners
/// get an entry for it at the parent's `api_version`.
pub fn parent_entries_from_scale(
    parent: &Value,
    scale_entries: Option<&Value>,
    api_version: &str,
    versions: &[&str],
    replicas_path: &Path,
) -> Result<Option<Value>, String> {
    let parent_managed = Managed::decode(managed_fields_of(parent))?;
    let mut scale = Managed::decode(scale_entries)?;
    let mut out = Managed::default();
    for (key, e) in parent_managed.entries.iter() {
        if !versions.contains(&e.api_version.as_str()) {
            continue;
        }
        if !e.set.has(&replicas_path.0) {
            out.insert(key.clone(), e.clone());
            continue;
        }
        if scale.entries.remove(key).is_some() {
            out.insert(key.clone(), e.clone());
        } else {
            let set = e.set.difference(&FieldSet::from_paths([replicas_path]));
            if !set.is_empty() {
                out.insert(key.clone(), Entry { set, ..e.clone() });
            }
        }
    }
    let scale_path = Path::fields(&["spec", "replicas"]);
    for (key, e) in scale.entries {
        if !e.set.has(&scale_path.0) {
            continue;
        }
        let time = parent_managed.entries.get(&key).and_then(|p| p.time);
        let entry =
            Entry { set: FieldSet::from_paths([replicas_path]), api_version: api_version.to_string(), time, ..e };
        out.insert(key, entry);
    }
    Ok(out.encode())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::registry::patch::ssa_testing::*;

    const T0: &str = "2024-05-01T10:00:00Z";
    const T1: &str = "2024-05-01T11:00:00Z";

    fn create(obj: &Value, manager: &str, node: Node<'_>) -> Value {
        let mut new = obj.clone();
        update_managed_fields(None, &mut new, manager, Operation::Update, "", ts(T0), node);
        stored(new)
    }

    #[test]
    fn kubectl_create_deployment_matches_a_real_cluster() {
        let created = create(&created_deployment(), "kubectl-create", deployment_node());
        let expected = json!([{
            "manager": "kubectl-create",
            "operation": "Update",
            "apiVersion": "apps/v1",
            "time": "2024-05-01T10:00:00Z",
            "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                "f:spec": {
                    "f:progressDeadlineSeconds": {},
                    "f:replicas": {},
                    "f:revisionHistoryLimit": {},
                    "f:selector": {},
                    "f:strategy": {
                        "f:rollingUpdate": {".": {}, "f:maxSurge": {}, "f:maxUnavailable": {}},
                        "f:type": {}
                    },
                    "f:template": {
                        "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                        "f:spec": {
                            "f:containers": {
                                "k:{\"name\":\"nginx\"}": {
                                    ".": {},
                                    "f:image": {},
                                    "f:imagePullPolicy": {},
                                    "f:name": {},
                                    "f:resources": {},
                                    "f:terminationMessagePath": {},
                                    "f:terminationMessagePolicy": {}
                                }
                            },
                            "f:dnsPolicy": {},
                            "f:restartPolicy": {},
                            "f:schedulerName": {},
                            "f:securityContext": {},
                            "f:terminationGracePeriodSeconds": {}
                        }
                    }
                }
            }
        }]);
        assert_eq!(created["metadata"]["managedFields"], expected);
        // Key order as the real server writes it.
        assert_eq!(
            serde_json::to_string(&created["metadata"]["managedFields"]).unwrap(),
            serde_json::to_string(&expected).unwrap()
        );
    }

    #[test]
    fn kubectl_create_configmap_and_secret() {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "default"}, "data": {"a": "1", "b": "2"}});
        let cm = create(&cm, "kubectl-create", node("io.k8s.api.core.v1.ConfigMap"));
        assert_eq!(
            entry(&cm, "kubectl-create", "Update")["fieldsV1"],
            json!({"f:data": {".": {}, "f:a": {}, "f:b": {}}})
        );
        let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"auth": "eA=="}, "type": "Opaque"});
        let secret = create(&secret, "kubectl-create", node("io.k8s.api.core.v1.Secret"));
        assert_eq!(
            entry(&secret, "kubectl-create", "Update")["fieldsV1"],
            json!({"f:data": {".": {}, "f:auth": {}}, "f:type": {}})
        );
    }

    #[test]
    fn a_create_that_sets_nothing_ownable_records_no_entry() {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "default"}});
        let cm = create(&cm, "kubectl-create", node("io.k8s.api.core.v1.ConfigMap"));
        assert!(cm["metadata"].get("managedFields").is_none());
    }

    #[test]
    fn another_manager_takes_replicas_on_update() {
        let live = create(&created_deployment(), "kubectl-create", deployment_node());
        let mut new = live.clone();
        new["spec"]["replicas"] = json!(3);
        update_managed_fields(Some(&live), &mut new, "kubectl", Operation::Update, "", ts(T1), deployment_node());
        let create_entry = entry(&new, "kubectl-create", "Update");
        assert!(create_entry["fieldsV1"]["f:spec"].get("f:replicas").is_none());
        assert_eq!(create_entry["time"], T0);
        assert_eq!(
            entry(&new, "kubectl", "Update"),
            &json!({
                "manager": "kubectl",
                "operation": "Update",
                "apiVersion": "apps/v1",
                "time": T1,
                "fieldsType": "FieldsV1",
                "fieldsV1": {"f:spec": {"f:replicas": {}}}
            })
        );
        // Sorted by time: the older entry first.
        let managers: Vec<Value> = entries(&new).iter().map(|e| e["manager"].clone()).collect();
        assert_eq!(managers, [json!("kubectl-create"), json!("kubectl")]);
    }

    #[test]
    fn an_update_that_changes_nothing_keeps_entries_and_times() {
        let live = create(&created_deployment(), "kubectl-create", deployment_node());
        let mut new = live.clone();
        update_managed_fields(Some(&live), &mut new, "kubectl-edit", Operation::Update, "", ts(T1), deployment_node());
        assert_eq!(new["metadata"]["managedFields"], live["metadata"]["managedFields"]);
    }

    #[test]
    fn the_same_manager_accumulates_fields_and_refreshes_its_time() {
        let live = create(&created_deployment(), "kubectl-create", deployment_node());
        let mut new = live.clone();
        new["metadata"]["labels"]["tier"] = json!("web");
        update_managed_fields(
            Some(&live),
            &mut new,
            "kubectl-create",
            Operation::Update,
            "",
            ts(T1),
            deployment_node(),
        );
        let e = entry(&new, "kubectl-create", "Update");
        assert_eq!(e["time"], T1);
        assert_eq!(e["fieldsV1"]["f:metadata"], json!({"f:labels": {".": {}, "f:app": {}, "f:tier": {}}}));
        assert_eq!(entries(&new).len(), 1);
    }

    #[test]
    fn removed_fields_leave_every_manager() {
        let live = create(&created_deployment(), "kubectl-create", deployment_node());
        let mut new = live.clone();
        new["metadata"].as_object_mut().unwrap().remove("labels");
        update_managed_fields(Some(&live), &mut new, "kubectl-edit", Operation::Update, "", ts(T1), deployment_node());
        assert!(entry(&new, "kubectl-create", "Update")["fieldsV1"].get("f:metadata").is_none());
        assert_eq!(entries(&new).len(), 1, "removing owns nothing");
    }

    #[test]
    fn status_is_not_owned_through_the_main_resource() {
        let live = create(&created_deployment(), "kubectl-create", deployment_node());
        let mut new = live.clone();
        new["status"] = json!({"replicas": 1});
        update_managed_fields(Some(&live), &mut new, "kubectl-edit", Operation::Update, "", ts(T1), deployment_node());
        assert_eq!(entries(&new).len(), 1);
    }

    #[test]
    fn status_subresource_updates_own_status_only() {
        let live = create(&created_deployment(), "kubectl-create", deployment_node());
        let mut new = live.clone();
        new["status"] = json!({
            "observedGeneration": 1,
            "replicas": 1,
            "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"}]
        });
        new["spec"]["replicas"] = json!(5);
        update_managed_fields(
            Some(&live),
            &mut new,
            "kube-controller-manager",
            Operation::Update,
            "status",
            ts(T1),
            deployment_node(),
        );
        let e = entry(&new, "kube-controller-manager", "Update");
        assert_eq!(e["subresource"], "status");
        assert_eq!(
            e["fieldsV1"],
            json!({"f:status": {
                "f:conditions": {
                    ".": {},
                    "k:{\"type\":\"Available\"}": {
                        ".": {},
                        "f:lastTransitionTime": {},
                        "f:lastUpdateTime": {},
                        "f:reason": {},
                        "f:status": {},
                        "f:type": {}
                    }
                },
                "f:observedGeneration": {},
                "f:replicas": {}
            }})
        );
        // The spec change is reset by the status strategy and takes nothing from its owner.
        assert!(entry(&new, "kubectl-create", "Update")["fieldsV1"]["f:spec"].get("f:replicas").is_some());
        let keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["manager", "operation", "apiVersion", "time", "fieldsType", "fieldsV1", "subresource"]);
    }

    #[test]
    fn request_managed_fields_are_honoured_or_reset() {
        let live = create(&created_deployment(), "kubectl-create", deployment_node());
        // Reset with an empty list: no tracking until the next apply.
        let mut new = live.clone();
        new["metadata"]["managedFields"] = json!([]);
        update_managed_fields(Some(&live), &mut new, "kubectl-edit", Operation::Update, "", ts(T1), deployment_node());
        assert!(new["metadata"].get("managedFields").is_none());
        let untracked = new.clone();
        let mut next = untracked.clone();
        next["spec"]["replicas"] = json!(2);
        update_managed_fields(Some(&untracked), &mut next, "kubectl", Operation::Update, "", ts(T1), deployment_node());
        assert!(next["metadata"].get("managedFields").is_none());
        // Entries edited by the client are kept.
        let mut edited = live.clone();
        let mut list = entries(&live);
        list[0]["manager"] = json!("renamed");
        edited["metadata"]["managedFields"] = json!(list);
        update_managed_fields(
            Some(&live),
            &mut edited,
            "kubectl-edit",
            Operation::Update,
            "",
            ts(T1),
            deployment_node(),
        );
        assert_eq!(entries(&edited)[0]["manager"], "renamed");
        // Garbage falls back to the live entries.
        let mut garbage = live.clone();
        garbage["metadata"]["managedFields"] = json!([{"manager": "x", "operation": "Bogus"}]);
        update_managed_fields(
            Some(&live),
            &mut garbage,
            "kubectl-edit",
            Operation::Update,
            "",
            ts(T1),
            deployment_node(),
        );
        assert_eq!(garbage["metadata"]["managedFields"], live["metadata"]["managedFields"]);
    }

    #[test]
    fn subresource_writes_ignore_request_managed_fields() {
        let live = create(&created_deployment(), "kubectl-create", deployment_node());
        let mut new = live.clone();
        new["metadata"]["managedFields"] = json!([]);
        update_managed_fields(Some(&live), &mut new, "kubelet", Operation::Update, "status", ts(T1), deployment_node());
        assert_eq!(new["metadata"]["managedFields"], live["metadata"]["managedFields"]);
    }

    #[test]
    fn update_entries_are_capped_at_ten() {
        let cm_node = node("io.k8s.api.core.v1.ConfigMap");
        let mut live = stored(create(
            &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k0": "v"}}),
            "m00",
            cm_node,
        ));
        for i in 1..=11 {
            let mut new = live.clone();
            new["data"][format!("k{i}")] = json!("v");
            let now = Timestamp::from_second(1_714_557_600 + i64::from(i) * 60).unwrap();
            update_managed_fields(Some(&live), &mut new, &format!("m{i:02}"), Operation::Update, "", now, cm_node);
            live = new;
        }
        let list = entries(&live);
        assert_eq!(list.len(), 10);
        let bucket = entry(&live, "ancient-changes", "Update");
        assert_eq!(bucket["fieldsV1"], json!({"f:data": {".": {}, "f:k0": {}, "f:k1": {}, "f:k2": {}}}));
        assert_eq!(bucket["time"], "2024-05-01T10:02:00Z");
        assert!(list.iter().all(|e| e["manager"] != "m00" && e["manager"] != "m01" && e["manager"] != "m02"));
    }

    #[test]
    fn entries_sort_apply_first_then_by_time_and_manager() {
        let m = json!([
            {"manager": "b", "operation": "Update", "apiVersion": "v1", "time": "2024-05-01T10:00:00Z", "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:b": {}}}},
            {"manager": "a", "operation": "Update", "apiVersion": "v1", "time": "2024-05-01T10:00:00Z", "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:a": {}}}},
            {"manager": "z", "operation": "Apply", "apiVersion": "v1", "time": "2024-05-01T12:00:00Z", "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:z": {}}}},
            {"manager": "c", "operation": "Update", "apiVersion": "v1", "time": "2024-05-01T09:00:00+01:00", "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:c": {}}}}
        ]);
        let managed = Managed::decode(Some(&m)).unwrap();
        let out = managed.encode().unwrap();
        let order: Vec<&str> = out.as_array().unwrap().iter().map(|e| e["manager"].as_str().unwrap()).collect();
        assert_eq!(order, ["z", "c", "a", "b"]);
        assert_eq!(out[1]["time"], "2024-05-01T08:00:00Z");
    }

    #[test]
    fn decode_errors_name_the_problem() {
        let bad = |e: Value| Managed::decode(Some(&json!([e]))).unwrap_err();
        assert_eq!(bad(json!({"manager": "a", "operation": "Get"})), "operation must be `Apply` or `Update`");
        assert_eq!(bad(json!({"manager": "a", "operation": "Update"})), "apiVersion must not be empty");
        assert_eq!(
            bad(json!({"operation": "Update", "apiVersion": "v1"})),
            "missing fieldsType in managed fields entry 0"
        );
        assert_eq!(
            bad(json!({"operation": "Update", "apiVersion": "v1", "fieldsType": "FieldsV2"})),
            "invalid fieldsType \"FieldsV2\" in managed fields entry 0"
        );
    }

    #[test]
    fn manager_identifiers_and_descriptions() {
        let id = ManagerId::new("kubectl", Operation::Update, "apps/v1", "");
        assert_eq!(id.key(), r#"{"manager":"kubectl","operation":"Update","apiVersion":"apps/v1"}"#);
        assert_eq!(id.describe(), r#""kubectl" using apps/v1"#);
        let id = ManagerId::new("kubectl", Operation::Apply, "apps/v1", "status");
        assert_eq!(id.key(), r#"{"manager":"kubectl","operation":"Apply","subresource":"status"}"#);
        assert_eq!(id.describe(), r#""kubectl" with subresource "status""#);
    }

    #[test]
    fn default_manager_is_the_user_agent_program() {
        assert_eq!(default_manager("kubectl/v1.33.0 (linux/amd64) kubernetes/60a317e"), "kubectl");
        assert_eq!(default_manager("kubectl.1.33/v1.33.0 (linux/amd64)"), "kubectl.1.33");
        assert_eq!(default_manager("Go-http-client/1.1"), "Go-http-client");
        assert_eq!(default_manager("bad\u{7}agent/1"), "badagent");
        assert_eq!(default_manager(&"x".repeat(200)).len(), 128);
        assert_eq!(default_manager(""), "");
        assert_eq!(manager_or_user_agent(Some("kubectl-edit"), "kubectl/v1.33.0"), "kubectl-edit");
        assert_eq!(manager_or_user_agent(None, "kubectl/v1.33.0"), "kubectl");
    }

    #[test]
    fn unnamed_manager_is_unknown() {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}});
        let cm = create(&cm, "", node("io.k8s.api.core.v1.ConfigMap"));
        assert_eq!(entries(&cm)[0]["manager"], "unknown");
    }

    #[test]
    fn reset_fields_per_kind() {
        let paths = |s: FieldSet| s.paths().iter().map(|p| p.to_string()).collect::<Vec<_>>();
        assert_eq!(paths(reset_fields("apps", "Deployment", "", true)), [".status"]);
        assert_eq!(paths(reset_fields("", "ConfigMap", "", false)), Vec::<String>::new());
        assert_eq!(paths(reset_fields("apps", "Deployment", "status", true)), [".spec", ".metadata.labels"]);
        assert_eq!(
            paths(reset_fields("", "Pod", "status", true)),
            [".spec", ".metadata.deletionTimestamp", ".metadata.ownerReferences"]
        );
    }

    #[test]
    fn definitions_of_builtin_kinds() {
        for (name, def) in schemas().definitions() {
            if name.starts_with("io.k8s.apimachinery.") {
                continue;
            }
            let Some(gvks) = def.get("x-kubernetes-group-version-kind").and_then(Value::as_array) else { continue };
            if gvks.len() != 1 {
                continue;
            }
            let g = |k: &str| gvks[0][k].as_str().unwrap_or_default().to_string();
            let api_version =
                if g("group").is_empty() { g("version") } else { format!("{}/{}", g("group"), g("version")) };
            assert_eq!(definition_for(&api_version, &g("kind")).as_deref(), Some(name.as_str()));
        }
    }

    #[test]
    fn scale_subresource_moves_replicas_ownership() {
        let live = create(&created_deployment(), "kubectl-create", deployment_node());
        let versions = ["apps/v1"];
        let replicas = Path::fields(&["spec", "replicas"]);
        let scale_entries = scale_entries_from_parent(&live, &versions, &replicas).unwrap().unwrap();
        assert_eq!(
            scale_entries,
            json!([{
                "manager": "kubectl-create", "operation": "Update", "apiVersion": "autoscaling/v1",
                "time": T0, "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:replicas": {}}}
            }])
        );
        // `kubectl scale --replicas=3` updates the Scale.
        let scale_node = node("io.k8s.api.autoscaling.v1.Scale");
        let old_scale = json!({
            "apiVersion": "autoscaling/v1", "kind": "Scale",
            "metadata": {"name": "nginx", "namespace": "default", "uid": "u", "managedFields": scale_entries},
            "spec": {"replicas": 1}, "status": {"replicas": 1, "selector": "app=nginx"}
        });
        let mut new_scale = old_scale.clone();
        new_scale["spec"]["replicas"] = json!(3);
        update_managed_fields(
            Some(&old_scale),
            &mut new_scale,
            "kubectl",
            Operation::Update,
            "scale",
            ts(T1),
            scale_node,
        );
        let parent = parent_entries_from_scale(&live, managed_fields_of(&new_scale), "apps/v1", &versions, &replicas)
            .unwrap()
            .unwrap();
        let mut updated = live.clone();
        updated["metadata"]["managedFields"] = parent;
        assert!(entry(&updated, "kubectl-create", "Update")["fieldsV1"]["f:spec"].get("f:replicas").is_none());
        let scaler = entry(&updated, "kubectl", "Update");
        assert_eq!(scaler["subresource"], "scale");
        assert_eq!(scaler["apiVersion"], "apps/v1");
        assert_eq!(scaler["fieldsV1"], json!({"f:spec": {"f:replicas": {}}}));
    }

    #[test]
    fn noop_writes_keep_old_timestamps() {
        let old =
            json!({"metadata": {"name": "a", "managedFields": [{"manager": "m", "time": T0}]}, "data": {"a": "1"}});
        let mut new =
            json!({"metadata": {"name": "a", "managedFields": [{"manager": "m", "time": T1}]}, "data": {"a": "1"}});
        keep_timestamps_on_noop(&old, &mut new);
        assert_eq!(new["metadata"]["managedFields"][0]["time"], T0);
        let mut changed =
            json!({"metadata": {"name": "a", "managedFields": [{"manager": "m", "time": T1}]}, "data": {"a": "2"}});
        keep_timestamps_on_noop(&old, &mut changed);
        assert_eq!(changed["metadata"]["managedFields"][0]["time"], T1);
    }

    #[test]
    fn an_update_recorded_as_apply_gets_an_apply_entry() {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}});
        let mut new = cm.clone();
        update_managed_fields(
            None,
            &mut new,
            "tool",
            Operation::Apply,
            "",
            ts(T0),
            node("io.k8s.api.core.v1.ConfigMap"),
        );
        assert_eq!(
            new["metadata"]["managedFields"],
            json!([{"manager": "tool", "operation": "Apply", "apiVersion": "v1", "time": T0, "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {".": {}, "f:a": {}}}}])
        );
    }

    #[test]
    fn field_set_of_a_service() {
        let svc = json!({
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": "http"}]}
        });
        assert_eq!(
            field_set(&svc, node("io.k8s.api.core.v1.Service")).to_fields_v1(),
            json!({
                "f:apiVersion": {},
                "f:kind": {},
                "f:metadata": {"f:labels": {"f:app": {}}, "f:name": {}},
                "f:spec": {
                    "f:ports": {"k:{\"port\":80,\"protocol\":\"TCP\"}": {".": {}, "f:name": {}, "f:port": {}, "f:protocol": {}, "f:targetPort": {}}},
                    "f:selector": {}
                }
            })
        );
    }
}
