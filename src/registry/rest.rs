//! The verbs: get, list, create, update, patch, delete, deletecollection, and the
//! status, scale and finalize subresources, as the real API server's generic
//! registry performs them.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde_json::{Map, Value, json};

use super::Registry;
use super::catalog::Storage;
use super::decode::{cannot_handle, strict_error};
use super::error::{ApiError, ApiResult};
use super::field_error::FieldError;
use super::list::{CONTINUE_EXPIRED, ContinueToken, ListOptions, ListPage, RvMatch, parse_rv};
use super::meta;
use super::patch::managed_fields::{self, Operation};
use super::resource::{Codec, ResourceInfo};
use super::strategy::{self, Subresource};
use super::{admission, convert, crd, defaults, validation};
use crate::store::{ListRequest, Revision, StoreError, WriteOptions};

/// `fieldValidation`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FieldValidation {
    Ignore,
    #[default]
    Warn,
    Strict,
}

impl FieldValidation {
    pub fn parse(v: Option<&str>) -> ApiResult<FieldValidation> {
        match v.unwrap_or("") {
            "" | "Warn" => Ok(FieldValidation::Warn),
            "Strict" => Ok(FieldValidation::Strict),
            "Ignore" => Ok(FieldValidation::Ignore),
            other => Err(ApiError::bad_request(format!(
                "fieldValidation parameter unsupported: {other}. Supported values are Ignore, Warn, Strict"
            ))),
        }
    }
}

/// Who is asking.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserInfo {
    pub username: String,
    pub uid: String,
    pub groups: Vec<String>,
    pub extra: BTreeMap<String, Vec<String>>,
}

/// Per-request settings of a write.
#[derive(Clone, Debug, Default)]
pub struct Ctx {
    pub user: UserInfo,
    pub dry_run: bool,
    pub field_manager: Option<String>,
    pub user_agent: String,
    pub field_validation: FieldValidation,
    /// Keys the request body had twice (found while parsing it).
    pub duplicate_fields: Vec<String>,
}

impl Ctx {
    /// A context for the server's own writes (controllers).
    pub fn system(name: &str) -> Ctx {
        Ctx {
            user: UserInfo { username: name.to_string(), groups: vec!["system:masters".into()], ..Default::default() },
            field_manager: Some(name.to_string()),
            user_agent: name.to_string(),
            ..Default::default()
        }
    }

    fn manager(&self) -> String {
        match &self.field_manager {
            Some(m) if !m.is_empty() => m.clone(),
            _ => managed_fields::default_manager(&self.user_agent),
        }
    }
}

/// The result of a write: the object, the HTTP code, and warnings for the client.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub object: Value,
    pub code: u16,
    pub warnings: Vec<String>,
}

/// Patch content types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchType {
    Json,
    Merge,
    Strategic,
    Apply,
}

impl PatchType {
    pub fn from_content_type(ct: &str) -> Option<PatchType> {
        match ct.split(';').next().unwrap_or("").trim() {
            "application/json-patch+json" => Some(PatchType::Json),
            "application/merge-patch+json" => Some(PatchType::Merge),
            "application/strategic-merge-patch+json" => Some(PatchType::Strategic),
            "application/apply-patch+yaml" | "application/apply-patch+cbor" => Some(PatchType::Apply),
            _ => None,
        }
    }
}

/// DeleteOptions as they reach the registry.
#[derive(Clone, Debug, Default)]
pub struct DeleteOptions {
    pub grace_period_seconds: Option<i64>,
    /// `dryRun: ["All"]` in the body (the query parameter sets `Ctx::dry_run`).
    pub dry_run: bool,
    pub propagation_policy: Option<String>,
    pub orphan_dependents: Option<bool>,
    pub precondition_uid: Option<String>,
    pub precondition_resource_version: Option<String>,
}

impl DeleteOptions {
    /// From a DeleteOptions body (any of its API versions) plus query parameters.
    pub fn from_body(body: Option<&Value>) -> ApiResult<DeleteOptions> {
        let Some(b) = body else { return Ok(DeleteOptions::default()) };
        let pre = b.get("preconditions");
        let opts = DeleteOptions {
            grace_period_seconds: b.get("gracePeriodSeconds").and_then(Value::as_i64),
            propagation_policy: b.get("propagationPolicy").and_then(Value::as_str).map(str::to_string),
            orphan_dependents: b.get("orphanDependents").and_then(Value::as_bool),
            dry_run: match b.get("dryRun") {
                None | Some(Value::Null) => false,
                Some(Value::Array(a)) if a.is_empty() => false,
                Some(Value::Array(a)) if a.iter().all(|v| v == "All") => true,
                Some(other) => {
                    return Err(ApiError::invalid(
                        "meta.k8s.io",
                        "DeleteOptions",
                        "",
                        &[FieldError::not_supported("dryRun", other.to_string(), &["All"])],
                    ));
                }
            },
            precondition_uid: pre.and_then(|p| p.get("uid")).and_then(Value::as_str).map(str::to_string),
            precondition_resource_version: pre
                .and_then(|p| p.get("resourceVersion"))
                .and_then(Value::as_str)
                .map(str::to_string),
        };
        opts.check()?;
        Ok(opts)
    }

    fn check(&self) -> ApiResult<()> {
        let mut errs = Vec::new();
        if let Some(p) = &self.propagation_policy
            && !matches!(p.as_str(), "Orphan" | "Background" | "Foreground")
        {
            errs.push(FieldError::not_supported(
                "propagationPolicy",
                p.as_str(),
                &["Foreground", "Background", "Orphan", "nil"],
            ));
        }
        if self.orphan_dependents.is_some() && self.propagation_policy.is_some() {
            errs.push(FieldError::invalid(
                "propagationPolicy",
                self.propagation_policy.clone().unwrap_or_default(),
                "orphanDependents and deletionPropagation cannot be both set",
            ));
        }
        if let Some(g) = self.grace_period_seconds
            && g < 0
        {
            errs.push(FieldError::invalid("gracePeriodSeconds", g, "must be greater than or equal to 0"));
        }
        if errs.is_empty() { Ok(()) } else { Err(ApiError::invalid("meta.k8s.io", "DeleteOptions", "", &errs)) }
    }

    fn policy(&self, res: &ResourceInfo) -> String {
        match (&self.propagation_policy, self.orphan_dependents) {
            (Some(p), _) => p.clone(),
            (None, Some(true)) => "Orphan".into(),
            (None, Some(false)) => "Background".into(),
            (None, None) => strategy::default_propagation(res).into(),
        }
    }
}

fn store_error(res: &ResourceInfo, name: &str, e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound => ApiError::not_found(&res.group, &res.plural, name),
        StoreError::AlreadyExists => ApiError::already_exists(&res.group, &res.plural, name),
        StoreError::Conflict(_) => ApiError::conflict_modified(&res.group, &res.plural, name),
        StoreError::Compacted { requested, compacted } => {
            ApiError::expired(format!("too old resource version: {requested} ({compacted})"))
        }
        StoreError::FutureRevision { requested, current } => too_large_rv(requested, current),
        StoreError::Closed => ApiError::service_unavailable("storage is shutting down"),
        StoreError::Backend(m) => ApiError::internal(m),
    }
}

/// 504 for a resourceVersion newer than the store has.
pub fn too_large_rv(requested: Revision, current: Revision) -> ApiError {
    let mut e = ApiError::timeout(format!("Too large resource version: {requested}, current: {current}"));
    e.details = Some(Box::new(
        json!({"causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}], "retryAfterSeconds": 1}),
    ));
    e
}

/// Stored bytes → object in the served version, with its resourceVersion. Custom
/// resources are converted (by their CRD's strategy), pruned and defaulted.
pub(crate) async fn decode_stored(res: &ResourceInfo, bytes: &[u8], revision: Revision) -> ApiResult<Value> {
    let mut obj: Value = serde_json::from_slice(bytes).map_err(ApiError::internal)?;
    meta::set(&mut obj, "resourceVersion", Some(Value::String(revision.to_string())));
    if let Some(cr) = crd::custom(res) {
        let converted = crd::conversion::convert(cr, &res.kind, vec![obj], &res.api_version()).await?;
        let mut out = converted.into_iter().next().ok_or_else(|| ApiError::internal("conversion returned nothing"))?;
        crd::on_read(cr, &mut out);
        return Ok(out);
    }
    convert::from_storage(res, obj)
}

async fn encode_for_storage(res: &ResourceInfo, obj: &Value) -> ApiResult<Bytes> {
    let mut stored = match crd::custom(res) {
        Some(cr) => {
            let target = meta::api_version(&res.storage_group, &res.storage_version);
            let out = crd::conversion::convert(cr, &res.kind, vec![obj.clone()], &target).await?;
            out.into_iter().next().ok_or_else(|| ApiError::internal("conversion returned nothing"))?
        }
        None => convert::to_storage(res, obj.clone())?,
    };
    meta::set(&mut stored, "resourceVersion", None);
    serde_json::to_vec(&stored).map(Bytes::from).map_err(ApiError::internal)
}

fn write_opts(res: &ResourceInfo) -> WriteOptions {
    WriteOptions { ttl: res.ttl }
}

fn check_verb(res: &ResourceInfo, verb: &str) -> ApiResult<()> {
    if res.has_verb(verb) { Ok(()) } else { Err(ApiError::method_not_supported(&res.group, &res.plural, verb)) }
}

impl Registry {
    fn namespace_arg<'a>(&self, res: &ResourceInfo, ns: Option<&'a str>) -> Option<&'a str> {
        if res.namespaced { ns } else { None }
    }

    /// Read one object in the served version.
    pub(crate) async fn read(
        &self,
        res: &ResourceInfo,
        ns: Option<&str>,
        name: &str,
    ) -> ApiResult<Option<(Value, Revision)>> {
        let key = res.key(self.namespace_arg(res, ns), name);
        match self.store.get(&key).await.map_err(|e| store_error(res, name, e))? {
            Some(kv) => Ok(Some((decode_stored(res, &kv.value, kv.mod_revision).await?, kv.mod_revision))),
            None => Ok(None),
        }
    }

    /// Validation of a write: the kind's rules, and for custom resources their schema and
    /// CEL rules; CRDs get the apiextensions rules.
    fn validate_object(
        &self,
        res: &ResourceInfo,
        obj: &Value,
        old: Option<&Value>,
        sub: Subresource,
    ) -> Vec<FieldError> {
        if crd::is_crd(res) {
            return crd::definition::validate(obj, old);
        }
        let mut errs = match (sub, old) {
            (Subresource::Status, Some(old)) => {
                validation::validate_status(&res.group, &res.version, &res.kind, obj, old)
            }
            _ => validation::validate(&res.group, &res.version, &res.kind, obj, old),
        };
        if let Some(cr) = crd::custom(res) {
            errs.extend(crd::validate_custom(cr, obj, old, sub));
        }
        errs
    }

    /// After a stored write: a changed CRD changes what is served.
    async fn after_write(&self, res: &ResourceInfo) {
        admission::after_write(self, res);
        if crd::is_crd(res)
            && let Err(e) = self.reload_crds().await
        {
            tracing::error!(error = %e, "rebuilding the catalogue after a CRD change failed");
        }
    }

    /// GET of one object.
    pub async fn get(&self, res: &ResourceInfo, ns: Option<&str>, name: &str) -> ApiResult<Value> {
        check_verb(res, "get")?;
        if res.storage == Storage::Computed {
            return admission::component_status(res, name);
        }
        self.read(res, ns, name)
            .await?
            .map(|(o, _)| o)
            .ok_or_else(|| ApiError::not_found(&res.group, &res.plural, name))
    }

    /// LIST with selectors, pagination and resourceVersion semantics.
    pub async fn list(&self, res: &ResourceInfo, ns: Option<&str>, opts: &ListOptions) -> ApiResult<ListPage> {
        check_verb(res, "list")?;
        if res.storage == Storage::Computed {
            let items = admission::component_statuses(res)?;
            let rv = self.store.current_revision().await.map_err(|e| store_error(res, "", e))?;
            return Ok(ListPage { items, resource_version: rv, ..Default::default() });
        }
        let prefix = res.list_prefix(self.namespace_arg(res, ns));
        let (mut revision, mut start_after) = (None, None);
        if let Some(token) = &opts.continue_token {
            let t = ContinueToken::decode(token)?;
            revision = Some(t.revision);
            start_after = Some(format!("{prefix}{}", t.start_after));
        } else if let Some(rv) = opts.resource_version.as_deref() {
            let n = parse_rv(rv)?;
            let exact = match opts.resource_version_match {
                Some(RvMatch::Exact) => true,
                Some(RvMatch::NotOlderThan) => false,
                // Legacy: a paginated list from a non-zero resourceVersion is exact.
                None => opts.limit.is_some() && n != 0,
            };
            if exact {
                revision = Some(n);
            } else if n != 0 {
                let current = self.store.current_revision().await.map_err(|e| store_error(res, "", e))?;
                if n > current {
                    // The real server waits up to 3s for the cache to catch up, then gives up.
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    let current = self.store.current_revision().await.map_err(|e| store_error(res, "", e))?;
                    if n > current {
                        return Err(too_large_rv(n, current));
                    }
                }
            }
        }
        let mut items = Vec::new();
        let mut read_at = None;
        // Fill the page: selectors may reject some of what a chunk brings, so keep reading.
        loop {
            let want = opts.limit.map(|l| l - items.len());
            let chunk = want.map(|w| if opts.has_selectors() { w.max(64) } else { w });
            let page = self
                .store
                .list(ListRequest {
                    prefix: prefix.clone(),
                    start_after: start_after.clone(),
                    limit: chunk,
                    revision: read_at.or(revision),
                })
                .await
                .map_err(|e| match e {
                    StoreError::Compacted { .. } if opts.continue_token.is_some() => {
                        ApiError::expired(CONTINUE_EXPIRED)
                    }
                    e => store_error(res, "", e),
                })?;
            read_at = Some(page.revision);
            let store_has_more = page.remaining.is_some();
            let fetched = page.items.len();
            for (i, kv) in page.items.iter().enumerate() {
                let obj = decode_stored(res, &kv.value, kv.mod_revision).await?;
                if !opts.matches(res, &obj) {
                    continue;
                }
                items.push(obj);
                let full = opts.limit.is_some_and(|l| items.len() >= l);
                // A full page gets a continue token unless nothing at all follows it.
                if full && (store_has_more || i + 1 < fetched) {
                    let rel = kv.key.strip_prefix(&prefix).unwrap_or("").to_string();
                    let token = ContinueToken { revision: page.revision, start_after: rel }.encode();
                    // The count of what follows is only known without selectors (as in Kubernetes).
                    let remaining = if opts.has_selectors() { None } else { page.remaining.filter(|r| *r > 0) };
                    return Ok(ListPage {
                        items,
                        resource_version: page.revision,
                        continue_token: Some(token),
                        remaining,
                    });
                }
                if full {
                    break;
                }
            }
            if !store_has_more || opts.limit.is_some_and(|l| items.len() >= l) {
                break;
            }
            start_after = page.items.last().map(|kv| kv.key.clone());
        }
        Ok(ListPage { items, resource_version: read_at.unwrap_or(0), continue_token: None, remaining: None })
    }

    /// Decode a request body into the served version's shape, checking its type,
    /// and apply the field validation directive.
    fn decode_body(&self, ctx: &Ctx, res: &ResourceInfo, body: Value) -> ApiResult<(Value, Vec<String>)> {
        if !body.is_object() {
            return Err(ApiError::bad_request(cannot_handle(
                &res.kind,
                &res.version,
                "json: cannot unmarshal non-object into Go value",
            )));
        }
        // Missing type information defaults to the endpoint's, as the real decoder does.
        let mut body = body;
        let expected = res.api_version();
        if body.get("apiVersion").and_then(Value::as_str).unwrap_or("").is_empty() {
            body["apiVersion"] = expected.clone().into();
        }
        if body.get("kind").and_then(Value::as_str).unwrap_or("").is_empty() {
            body["kind"] = res.kind.clone().into();
        }
        let api_version = body["apiVersion"].as_str().unwrap_or("").to_string();
        let kind = body["kind"].as_str().unwrap_or("").to_string();
        let (api_version, kind) = (api_version.as_str(), kind.as_str());
        if api_version != expected || kind != res.kind {
            let (group, version) = meta::split_api_version(api_version);
            if self.resource_for_kind(group, version, kind).is_none() {
                return Err(ApiError::bad_request(format!(
                    "{kind} in version {version:?} cannot be handled as a {}: no kind {kind:?} is registered for version {api_version:?} in scheme \"pkg/api/legacyscheme/scheme.go:30\"",
                    res.kind
                )));
            }
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({api_version}) does not match the expected API version ({expected})"
            ))
            .with_kind_mismatch(kind, &res.kind));
        }
        let decoded = match &res.codec {
            Codec::Builtin(decode) => decode(body),
            Codec::Custom(cr) => crd::decode(cr, body),
        }
        .map_err(|e| ApiError::bad_request(cannot_handle(&res.kind, &res.version, &e)))?;
        let mut warnings = Vec::new();
        let mut problems: Vec<String> = decoded.unknown_fields.iter().map(|f| format!("unknown field {f:?}")).collect();
        problems.extend(ctx.duplicate_fields.iter().map(|f| format!("duplicate field {f:?}")));
        if !problems.is_empty() {
            match ctx.field_validation {
                FieldValidation::Strict => {
                    return Err(ApiError::bad_request(cannot_handle(
                        &res.kind,
                        &res.version,
                        &strict_error(&problems),
                    )));
                }
                FieldValidation::Warn => warnings.extend(problems),
                FieldValidation::Ignore => {}
            }
        }
        Ok((decoded.object, warnings))
    }

    /// Check the namespace of a body against the URL's and fill it in.
    fn settle_namespace(&self, res: &ResourceInfo, ns: Option<&str>, obj: &mut Value) -> ApiResult<()> {
        if res.namespaced {
            let url_ns = ns.unwrap_or("");
            let body_ns = meta::namespace(obj).to_string();
            if !body_ns.is_empty() && !url_ns.is_empty() && body_ns != url_ns {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            let ns = if url_ns.is_empty() { body_ns } else { url_ns.to_string() };
            if ns.is_empty() {
                return Err(ApiError::bad_request("the server could not find the requested resource"));
            }
            meta::set(obj, "namespace", Some(ns.into()));
        } else {
            meta::set(obj, "namespace", None);
        }
        Ok(())
    }

    fn invalid(&self, res: &ResourceInfo, obj: &Value, errs: Vec<FieldError>) -> ApiResult<()> {
        if errs.is_empty() { Ok(()) } else { Err(ApiError::invalid(&res.group, &res.kind, meta::name(obj), &errs)) }
    }

    fn track_fields(&self, ctx: &Ctx, res: &ResourceInfo, old: Option<&Value>, new: &mut Value, sub: Subresource) {
        // A body without managedFields keeps the stored ones (an explicit list replaces them).
        if let Some(old) = old
            && new.get("metadata").and_then(|m| m.get("managedFields")).is_none()
        {
            meta::set(new, "managedFields", old.get("metadata").and_then(|m| m.get("managedFields")).cloned());
        }
        let schemas = self.schemas();
        if let Some(node) = schemas.node(&res.definition) {
            managed_fields::update_managed_fields(
                old,
                new,
                &ctx.manager(),
                Operation::Update,
                sub.name(),
                jiff::Timestamp::now(),
                node,
            );
        }
    }

    /// POST: create an object.
    pub async fn create(&self, ctx: &Ctx, res: &ResourceInfo, ns: Option<&str>, body: Value) -> ApiResult<Outcome> {
        check_verb(res, "create")?;
        match res.storage {
            Storage::Review => return admission::review(self, ctx, res, ns, body).await,
            Storage::Binding => return admission::bind(self, ctx, res, ns, body).await,
            Storage::Computed => return Err(ApiError::method_not_supported(&res.group, &res.plural, "create")),
            Storage::Stored => {}
        }
        if crd::custom(res).is_some_and(|cr| cr.terminating) {
            return Err(crd::terminating_error(res));
        }
        let (mut obj, warnings) = self.decode_body(ctx, res, body)?;
        self.settle_namespace(res, ns, &mut obj)?;
        self.create_decoded(ctx, res, obj, warnings, Fields::Track).await
    }

    /// The create path after decoding (shared with apply-creates and create-on-update).
    async fn create_decoded(
        &self,
        ctx: &Ctx,
        res: &ResourceInfo,
        mut obj: Value,
        warnings: Vec<String>,
        fields: Fields,
    ) -> ApiResult<Outcome> {
        if meta::name(&obj).is_empty() {
            let generate = meta::meta_str(&obj, "generateName").to_string();
            if generate.is_empty() {
                return Err(ApiError::invalid(
                    &res.group,
                    &res.kind,
                    "",
                    &[FieldError::required("metadata.name", "name or generateName is required")],
                ));
            }
            meta::set(&mut obj, "name", Some(meta::generate_name(&generate).into()));
        }
        if !meta::resource_version(&obj).is_empty() {
            return Err(ApiError::bad_request("resourceVersion should not be set on objects to be created"));
        }
        meta::set(&mut obj, "uid", Some(meta::new_uid().into()));
        meta::set(&mut obj, "creationTimestamp", Some(meta::now_rfc3339().into()));
        for f in ["deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"] {
            meta::set(&mut obj, f, None);
        }
        strategy::prepare_for_create(res, &mut obj);
        defaults::apply_defaults(&res.group, &res.version, &res.kind, &mut obj);
        let mut alloc = admission::admit_create(self, ctx, res, &mut obj).await?;
        let errs = self.validate_object(res, &obj, None, Subresource::Main);
        let checked = match self.invalid(res, &obj, errs) {
            Ok(()) => admission::validate_create(self, ctx, res, &obj, &mut alloc).await,
            Err(e) => Err(e),
        };
        if let Err(mut e) = checked {
            e.warnings.append(&mut alloc.warnings);
            alloc.release(self).await;
            return Err(e);
        }
        let mut warnings = warnings;
        warnings.append(&mut alloc.warnings);
        if fields == Fields::Track {
            self.track_fields(ctx, res, None, &mut obj, Subresource::Main);
        }
        let key = res.key(Some(meta::namespace(&obj)), meta::name(&obj));
        if ctx.dry_run {
            alloc.release(self).await;
            if self.store.get(&key).await.map_err(|e| store_error(res, meta::name(&obj), e))?.is_some() {
                return Err(ApiError::already_exists(&res.group, &res.plural, meta::name(&obj)));
            }
            return Ok(Outcome { object: obj, code: 201, warnings });
        }
        let bytes = encode_for_storage(res, &obj).await?;
        match self.store.create(&key, bytes, write_opts(res)).await {
            Ok(kv) => {
                self.after_write(res).await;
                meta::set(&mut obj, "resourceVersion", Some(kv.mod_revision.to_string().into()));
                Ok(Outcome { object: obj, code: 201, warnings })
            }
            Err(e) => {
                alloc.release(self).await;
                Err(store_error(res, meta::name(&obj), e))
            }
        }
    }

    /// PUT: replace an object (or its status / finalizers).
    pub async fn update(
        &self,
        ctx: &Ctx,
        res: &ResourceInfo,
        ns: Option<&str>,
        name: &str,
        sub: Subresource,
        body: Value,
    ) -> ApiResult<Outcome> {
        check_verb(res, "update")?;
        let (mut obj, warnings) = self.decode_body(ctx, res, body)?;
        self.settle_namespace(res, ns, &mut obj)?;
        let body_name = meta::name(&obj).to_string();
        if body_name.is_empty() {
            meta::set(&mut obj, "name", Some(name.into()));
        } else if body_name != name {
            return Err(name_mismatch(&body_name, name));
        }
        let precondition = meta::resource_version(&obj).to_string();
        for _ in 0..8 {
            let Some((current, rev)) = self.read(res, ns, name).await? else {
                if sub == Subresource::Main && allow_create_on_update(res) {
                    meta::set(&mut obj, "resourceVersion", None);
                    return self.create_decoded(ctx, res, obj, warnings, Fields::Track).await;
                }
                return Err(ApiError::not_found(&res.group, &res.plural, name));
            };
            if !precondition.is_empty() && precondition != rev.to_string() {
                return Err(ApiError::conflict_modified(&res.group, &res.plural, name));
            }
            let body_uid = meta::uid(&obj);
            if !body_uid.is_empty() && body_uid != meta::uid(&current) {
                return Err(ApiError::conflict(
                    &res.group,
                    &res.plural,
                    name,
                    &format!(
                        "Precondition failed: UID in precondition: {body_uid}, UID in object meta: {}",
                        meta::uid(&current)
                    ),
                ));
            }
            let mut new = obj.clone();
            strategy::prepare_for_update(res, &current, &mut new, sub);
            match self.finish_update(ctx, res, &current, new, rev, sub, warnings.clone(), Fields::Track).await {
                Err(e)
                    if e.reason == "Conflict"
                        && precondition.is_empty()
                        && e.details.as_ref().is_some_and(|d| d.get("retry").is_some()) =>
                {
                    continue;
                }
                other => {
                    return other.map(|mut o| {
                        o.code = 200;
                        o
                    });
                }
            }
        }
        Err(ApiError::conflict_modified(&res.group, &res.plural, name))
    }

    /// Default, admit, validate and store an updated object. A store conflict is
    /// reported with a `retry` marker so unconditional writes can try again.
    #[allow(clippy::too_many_arguments)]
    async fn finish_update(
        &self,
        ctx: &Ctx,
        res: &ResourceInfo,
        old: &Value,
        mut new: Value,
        rev: Revision,
        sub: Subresource,
        warnings: Vec<String>,
        fields: Fields,
    ) -> ApiResult<Outcome> {
        if sub == Subresource::Main {
            defaults::apply_defaults(&res.group, &res.version, &res.kind, &mut new);
        }
        meta::set(&mut new, "resourceVersion", Some(rev.to_string().into()));
        if meta::deletion_timestamp(old).is_some() {
            let before = meta::finalizers(old);
            let added: Vec<String> = meta::finalizers(&new).into_iter().filter(|f| !before.contains(f)).collect();
            if !added.is_empty() {
                let list = added.iter().map(|f| format!("{f:?}")).collect::<Vec<_>>().join(", ");
                return Err(ApiError::invalid(
                    &res.group,
                    &res.kind,
                    meta::name(old),
                    &[FieldError::forbidden(
                        "metadata.finalizers",
                        format!(
                            "no new finalizers can be added if the object is being deleted, found new finalizers []string{{{list}}}"
                        ),
                    )],
                ));
            }
        }
        let mut alloc = admission::admit_update(self, ctx, res, sub, old, &mut new).await?;
        let errs = self.validate_object(res, &new, Some(old), sub);
        let checked = match self.invalid(res, &new, errs) {
            Ok(()) => admission::validate_update(self, ctx, res, sub, old, &new, &mut alloc).await,
            Err(e) => Err(e),
        };
        if let Err(mut e) = checked {
            e.warnings.append(&mut alloc.warnings);
            alloc.release(self).await;
            return Err(e);
        }
        let mut warnings = warnings;
        warnings.append(&mut alloc.warnings);
        if fields == Fields::Track {
            self.track_fields(ctx, res, Some(old), &mut new, sub);
        }
        if without_managed_fields(&new) == without_managed_fields(old) {
            // Nothing changed: no write, no new resourceVersion.
            return Ok(Outcome { object: old.clone(), code: 200, warnings });
        }
        let name = meta::name(&new).to_string();
        let key = res.key(Some(meta::namespace(&new)), &name);
        if strategy::should_delete_on_update(res, &new) {
            if ctx.dry_run {
                return Ok(Outcome { object: new, code: 200, warnings });
            }
            return match self.store.delete(&key, Some(rev)).await {
                Ok(kv) => {
                    admission::after_delete(self, res, &new).await;
                    self.after_write(res).await;
                    meta::set(&mut new, "resourceVersion", Some(kv.mod_revision.to_string().into()));
                    Ok(Outcome { object: new, code: 200, warnings })
                }
                Err(e) => Err(retryable(store_error(res, &name, e))),
            };
        }
        if ctx.dry_run {
            alloc.release(self).await;
            return Ok(Outcome { object: new, code: 200, warnings });
        }
        let bytes = encode_for_storage(res, &new).await?;
        match self.store.update(&key, bytes, rev, write_opts(res)).await {
            Ok(kv) => {
                alloc.commit(self, old).await;
                self.after_write(res).await;
                meta::set(&mut new, "resourceVersion", Some(kv.mod_revision.to_string().into()));
                Ok(Outcome { object: new, code: 200, warnings })
            }
            Err(e) => {
                alloc.release(self).await;
                Err(retryable(store_error(res, &name, e)))
            }
        }
    }

    /// PATCH in any of the four patch types.
    #[allow(clippy::too_many_arguments)]
    pub async fn patch(
        &self,
        ctx: &Ctx,
        res: &ResourceInfo,
        ns: Option<&str>,
        name: &str,
        sub: Subresource,
        patch_type: PatchType,
        body: &[u8],
        force: bool,
    ) -> ApiResult<Outcome> {
        check_verb(res, "patch")?;
        if patch_type == PatchType::Strategic && crd::custom(res).is_some() {
            return Err(crd::smp_refused());
        }
        let patch = super::patch::parse_patch(patch_type, body)?;
        if patch_type == PatchType::Apply && ctx.field_validation == FieldValidation::Strict {
            let dups = super::patch::yaml_dups::duplicate_key_errors(body);
            if !dups.is_empty() {
                return Err(ApiError::bad_request(format!(
                    "error strict decoding YAML: error converting YAML to JSON: yaml: unmarshal errors:\n  {}",
                    dups.join("\n  ")
                )));
            }
        }
        if patch_type == PatchType::Apply {
            super::patch::check_apply_request(ctx, force)?;
        } else if force {
            return Err(ApiError::bad_request("force may not be specified for non-apply patch"));
        }
        for _ in 0..8 {
            let current = self.read(res, ns, name).await?;
            let Some((current, rev)) = current else {
                if patch_type == PatchType::Apply && sub == Subresource::Main {
                    return self.apply_create(ctx, res, ns, name, &patch, force).await;
                }
                return Err(ApiError::not_found(&res.group, &res.plural, name));
            };
            let patched = super::patch::apply_patch(self, ctx, res, &current, &patch, patch_type, force, sub)?;
            // A resourceVersion in the patch is a precondition.
            let patched_rv = meta::resource_version(&patched).to_string();
            if !patched_rv.is_empty() && patched_rv != rev.to_string() {
                return Err(ApiError::conflict_modified(&res.group, &res.plural, name));
            }
            let (mut obj, warnings) = self.decode_body(ctx, res, with_type(res, patched))?;
            if meta::name(&obj) != name {
                return Err(name_mismatch(meta::name(&obj), name));
            }
            self.settle_namespace(res, ns, &mut obj)?;
            strategy::prepare_for_update(res, &current, &mut obj, sub);
            let fields = if patch_type == PatchType::Apply { Fields::Precomputed } else { Fields::Track };
            let outcome = self.finish_update(ctx, res, &current, obj, rev, sub, warnings, fields).await;
            match outcome {
                Err(e) if e.details.as_ref().is_some_and(|d| d.get("retry").is_some()) && patched_rv.is_empty() => {
                    continue;
                }
                other => return other.map_err(strip_retry),
            }
        }
        Err(ApiError::conflict_modified(&res.group, &res.plural, name))
    }

    /// Server-side apply to an object that does not exist yet: create it.
    async fn apply_create(
        &self,
        ctx: &Ctx,
        res: &ResourceInfo,
        ns: Option<&str>,
        name: &str,
        patch: &Value,
        force: bool,
    ) -> ApiResult<Outcome> {
        let schemas = self.schemas();
        let node = schemas.node(&res.definition).ok_or_else(|| ApiError::internal("no schema"))?;
        let applied = super::patch::apply::apply(None, patch, &ctx.manager(), force, jiff::Timestamp::now(), node)
            .map_err(|e| super::patch::apply_error(res, name, e))?;
        let (mut obj, warnings) = self.decode_body(ctx, res, with_type(res, applied))?;
        if meta::name(&obj) != name {
            return Err(name_mismatch(meta::name(&obj), name));
        }
        self.settle_namespace(res, ns, &mut obj)?;
        self.create_decoded(ctx, res, obj, warnings, Fields::Precomputed).await
    }

    /// DELETE of one object.
    pub async fn delete(
        &self,
        ctx: &Ctx,
        res: &ResourceInfo,
        ns: Option<&str>,
        name: &str,
        opts: &DeleteOptions,
    ) -> ApiResult<Outcome> {
        check_verb(res, "delete")?;
        opts.check()?;
        for _ in 0..8 {
            let Some((current, rev)) = self.read(res, ns, name).await? else {
                return Err(ApiError::not_found(&res.group, &res.plural, name));
            };
            if let Some(uid) = &opts.precondition_uid
                && uid != meta::uid(&current)
            {
                return Err(ApiError::conflict(
                    &res.group,
                    &res.plural,
                    name,
                    &format!(
                        "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                        meta::uid(&current)
                    ),
                ));
            }
            if let Some(rv) = &opts.precondition_resource_version
                && *rv != rev.to_string()
            {
                return Err(ApiError::conflict(
                    &res.group,
                    &res.plural,
                    name,
                    &format!(
                        "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {rev}"
                    ),
                ));
            }
            let admission_warnings = admission::admit_delete(self, ctx, res, &current, opts).await?;
            match self.delete_once(ctx, res, current, rev, opts).await {
                Err(e) if e.details.as_ref().is_some_and(|d| d.get("retry").is_some()) => continue,
                other => {
                    return other.map_err(strip_retry).map(|mut o| {
                        o.warnings.extend(admission_warnings);
                        o
                    });
                }
            }
        }
        Err(ApiError::conflict_modified(&res.group, &res.plural, name))
    }

    async fn delete_once(
        &self,
        ctx: &Ctx,
        res: &ResourceInfo,
        current: Value,
        rev: Revision,
        opts: &DeleteOptions,
    ) -> ApiResult<Outcome> {
        let name = meta::name(&current).to_string();
        let key = res.key(Some(meta::namespace(&current)), &name);
        let policy = opts.policy(res);
        let mut updated = current.clone();
        let mut finalizers = meta::finalizers(&current);
        if crd::is_crd(res) && meta::deletion_timestamp(&current).is_none() {
            // The CRD stays until the finalizer has deleted its custom resources.
            if !finalizers.iter().any(|f| f == crd::definition::CLEANUP_FINALIZER) {
                finalizers.push(crd::definition::CLEANUP_FINALIZER.to_string());
            }
            crd::definition::set_condition(
                &mut updated,
                "Terminating",
                "True",
                "InstanceDeletionPending",
                "CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon",
            );
        }
        let gc_finalizer = match policy.as_str() {
            "Orphan" => Some("orphan"),
            "Foreground" => Some("foregroundDeletion"),
            _ => None,
        };
        let already = meta::deletion_timestamp(&current).is_some();
        if let Some(f) = gc_finalizer
            && !finalizers.iter().any(|x| x == f)
            && (!already || !finalizers.is_empty())
        {
            finalizers.push(f.to_string());
        }
        if policy == "Background" || policy == "Foreground" {
            finalizers.retain(|f| f != "orphan");
        }
        if policy != "Foreground" {
            finalizers.retain(|f| f != "foregroundDeletion" || gc_finalizer == Some("foregroundDeletion"));
        }
        let grace = strategy::grace_period(res, &current, opts.grace_period_seconds);
        let spec_finalizers = res.group.is_empty()
            && res.kind == "Namespace"
            && current
                .get("spec")
                .and_then(|s| s.get("finalizers"))
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty());
        let graceful = !finalizers.is_empty() || grace > 0 || spec_finalizers;
        if !graceful {
            if ctx.dry_run {
                return Ok(self.deleted_outcome(res, current, 200));
            }
            return match self.store.delete(&key, Some(rev)).await {
                Ok(kv) => {
                    admission::after_delete(self, res, &current).await;
                    self.after_write(res).await;
                    let mut obj = current;
                    meta::set(&mut obj, "resourceVersion", Some(kv.mod_revision.to_string().into()));
                    Ok(self.deleted_outcome(res, obj, 200))
                }
                Err(e) => Err(retryable(store_error(res, &name, e))),
            };
        }
        // Mark for deletion; finalizers, the kubelet or the namespace controller finish it.
        if !already {
            meta::set(&mut updated, "deletionTimestamp", Some(deletion_time(grace).into()));
            meta::set(&mut updated, "deletionGracePeriodSeconds", Some(grace.into()));
        } else {
            let cur_grace = current["metadata"]["deletionGracePeriodSeconds"].as_i64().unwrap_or(0);
            if grace < cur_grace {
                meta::set(&mut updated, "deletionTimestamp", Some(deletion_time(grace).into()));
                meta::set(&mut updated, "deletionGracePeriodSeconds", Some(grace.into()));
            }
        }
        meta::set_finalizers(&mut updated, &finalizers);
        if res.group.is_empty() && res.kind == "Namespace" {
            updated["status"]["phase"] = "Terminating".into();
        }
        // The real server answers 202 only when the client asked for cascading with orphanDependents=false.
        let code = if opts.orphan_dependents == Some(false) { 202 } else { 200 };
        if updated == current {
            return Ok(Outcome { object: current, code, warnings: vec![] });
        }
        if ctx.dry_run {
            return Ok(Outcome { object: updated, code, warnings: vec![] });
        }
        let bytes = encode_for_storage(res, &updated).await?;
        match self.store.update(&key, bytes, rev, write_opts(res)).await {
            Ok(kv) => {
                self.after_write(res).await;
                meta::set(&mut updated, "resourceVersion", Some(kv.mod_revision.to_string().into()));
                Ok(Outcome { object: updated, code, warnings: vec![] })
            }
            Err(e) => Err(retryable(store_error(res, &name, e))),
        }
    }

    fn deleted_outcome(&self, res: &ResourceInfo, obj: Value, code: u16) -> Outcome {
        if strategy::returns_deleted_object(res) {
            return Outcome { object: obj, code, warnings: vec![] };
        }
        let mut details = Map::new();
        details.insert("name".into(), meta::name(&obj).into());
        if !res.group.is_empty() {
            details.insert("group".into(), res.group.clone().into());
        }
        details.insert("kind".into(), res.plural.clone().into());
        details.insert("uid".into(), meta::uid(&obj).into());
        Outcome {
            object: json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}),
            code,
            warnings: vec![],
        }
    }

    /// DELETE of a collection: every object the list options select.
    pub async fn delete_collection(
        &self,
        ctx: &Ctx,
        res: &ResourceInfo,
        ns: Option<&str>,
        list_opts: &ListOptions,
        opts: &DeleteOptions,
    ) -> ApiResult<Value> {
        check_verb(res, "deletecollection")?;
        let mut lo = list_opts.clone();
        lo.limit = None;
        lo.continue_token = None;
        let page = self.list(res, ns, &lo).await?;
        let mut items = Vec::new();
        for obj in page.items {
            let name = meta::name(&obj).to_string();
            let ns = meta::namespace(&obj).to_string();
            match self.delete(ctx, res, Some(&ns), &name, opts).await {
                Ok(o) => items.push(if o.object.get("kind").and_then(Value::as_str) == Some("Status") {
                    obj
                } else {
                    o.object
                }),
                Err(e) if e.code == 404 => {}
                Err(e) => return Err(e),
            }
        }
        let rv = self.store.current_revision().await.map_err(|e| store_error(res, "", e))?;
        Ok(
            json!({"kind": res.list_kind, "apiVersion": res.api_version(), "metadata": {"resourceVersion": rv.to_string()}, "items": items}),
        )
    }

    /// GET of the scale subresource.
    pub async fn get_scale(&self, res: &ResourceInfo, ns: Option<&str>, name: &str) -> ApiResult<Value> {
        if !res.has_scale {
            return Err(ApiError::path_not_found());
        }
        let obj = self.get(res, ns, name).await?;
        Ok(match crd::custom(res) {
            Some(cr) => crd::scale_of(cr, &obj),
            None => scale_of(&obj),
        })
    }

    /// PUT or PATCH of the scale subresource: change `spec.replicas`.
    pub async fn update_scale(
        &self,
        ctx: &Ctx,
        res: &ResourceInfo,
        ns: Option<&str>,
        name: &str,
        change: ScaleChange<'_>,
    ) -> ApiResult<Outcome> {
        if !res.has_scale {
            return Err(ApiError::path_not_found());
        }
        for _ in 0..8 {
            let (current, rev) =
                self.read(res, ns, name).await?.ok_or_else(|| ApiError::not_found(&res.group, &res.plural, name))?;
            let scale = match crd::custom(res) {
                Some(cr) => crd::scale_of(cr, &current),
                None => scale_of(&current),
            };
            let new_scale = match &change {
                ScaleChange::Replace(body) => body.clone(),
                ScaleChange::Patch(pt, body) => {
                    let patch = super::patch::parse_patch(*pt, body)?;
                    super::patch::apply_plain(
                        &scale,
                        &patch,
                        *pt,
                        self.schemas().node("io.k8s.api.autoscaling.v1.Scale"),
                    )?
                }
            };
            let rv = meta::resource_version(&new_scale).to_string();
            if !rv.is_empty() && rv != rev.to_string() {
                return Err(ApiError::conflict_modified(&res.group, &res.plural, name));
            }
            if meta::name(&new_scale) != name && !meta::name(&new_scale).is_empty() {
                return Err(name_mismatch(meta::name(&new_scale), name));
            }
            let replicas = new_scale.get("spec").and_then(|s| s.get("replicas")).and_then(Value::as_i64).unwrap_or(0);
            if replicas < 0 {
                return Err(ApiError::invalid(
                    "autoscaling",
                    "Scale",
                    name,
                    &[FieldError::invalid("spec.replicas", replicas, "must be greater than or equal to 0")],
                ));
            }
            let mut new = current.clone();
            match crd::custom(res) {
                Some(cr) => crd::set_spec_replicas(cr, &mut new, replicas)?,
                None => new["spec"]["replicas"] = replicas.into(),
            }
            strategy::prepare_for_update(res, &current, &mut new, Subresource::Main);
            match self.finish_update(ctx, res, &current, new, rev, Subresource::Main, vec![], Fields::Track).await {
                Err(e) if e.details.as_ref().is_some_and(|d| d.get("retry").is_some()) && rv.is_empty() => continue,
                Err(e) => return Err(strip_retry(e)),
                Ok(mut o) => {
                    o.object = match crd::custom(res) {
                        Some(cr) => crd::scale_of(cr, &o.object),
                        None => scale_of(&o.object),
                    };
                    return Ok(o);
                }
            }
        }
        Err(ApiError::conflict_modified(&res.group, &res.plural, name))
    }
}

/// Whether a write still has to record field ownership, or (server-side apply) already has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fields {
    Track,
    Precomputed,
}

/// How a scale write arrives.
pub enum ScaleChange<'a> {
    Replace(Value),
    Patch(PatchType, &'a [u8]),
}

/// The autoscaling/v1 Scale of a scalable object.
pub fn scale_of(obj: &Value) -> Value {
    let m = obj.get("metadata").cloned().unwrap_or_default();
    let selector = obj
        .get("spec")
        .and_then(|s| s.get("selector"))
        .map(|s| {
            if s.is_string() {
                s.as_str().unwrap_or("").to_string()
            } else {
                super::selector::LabelSelector::from_object(s).map(|l| l.to_string()).unwrap_or_default()
            }
        })
        .unwrap_or_default();
    let mut metadata = Map::new();
    for f in ["name", "namespace", "uid", "resourceVersion", "creationTimestamp"] {
        if let Some(v) = m.get(f) {
            metadata.insert(f.into(), v.clone());
        }
    }
    let mut status =
        json!({"replicas": obj.get("status").and_then(|s| s.get("replicas")).and_then(Value::as_i64).unwrap_or(0)});
    if !selector.is_empty() {
        status["selector"] = selector.into();
    }
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": metadata,
        "spec": {"replicas": obj.get("spec").and_then(|s| s.get("replicas")).and_then(Value::as_i64).unwrap_or(0)},
        "status": status,
    })
}

fn deletion_time(grace: i64) -> String {
    let t = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(grace.max(0));
    meta::format_time(t)
}

fn allow_create_on_update(res: &ResourceInfo) -> bool {
    matches!(
        (res.group.as_str(), res.plural.as_str()),
        ("", "endpoints" | "events" | "nodes") | ("coordination.k8s.io", "leases") | ("events.k8s.io", "events")
    )
}

fn with_type(res: &ResourceInfo, mut obj: Value) -> Value {
    if let Some(m) = obj.as_object_mut() {
        m.entry("apiVersion").or_insert_with(|| res.api_version().into());
        m.entry("kind").or_insert_with(|| res.kind.clone().into());
    }
    obj
}

fn retryable(mut e: ApiError) -> ApiError {
    if e.reason == "Conflict" {
        let mut d = e.details.take().unwrap_or_else(|| Box::new(json!({})));
        d["retry"] = true.into();
        e.details = Some(d);
    }
    e
}

fn strip_retry(mut e: ApiError) -> ApiError {
    if let Some(Value::Object(d)) = e.details.as_deref_mut() {
        d.remove("retry");
    }
    e
}

/// 400 for a body whose name is not the one in the URL.
fn name_mismatch(body_name: &str, url_name: &str) -> ApiError {
    ApiError::bad_request(format!(
        "the name of the object ({body_name}) does not match the name on the URL ({url_name})"
    ))
}

fn without_managed_fields(v: &Value) -> Value {
    let mut v = v.clone();
    meta::set(&mut v, "managedFields", None);
    v
}

trait KindMismatch {
    fn with_kind_mismatch(self, got: &str, want: &str) -> Self;
}

impl KindMismatch for ApiError {
    /// A body of another kind gets the decoder's message rather than the version one.
    fn with_kind_mismatch(self, got: &str, want: &str) -> Self {
        if got != want && !got.is_empty() {
            let mut e = self;
            e.message = format!(
                "{got} in version {:?} cannot be handled as a {want}: no kind {got:?} is registered for the expected kind",
                "v1"
            );
            return e;
        }
        self
    }
}
