//! REST verbs on resources: turn a parsed request into a registry call and its
//! result into a response.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderMap, Method};
use serde_json::{Value, json};

use super::negotiate::{Output, choose_output, decode_body, render, wants_pretty};
use super::request::{ResourceRequest, Verb};
use super::response::{add_warnings, bytes_response, error_response, list_body, object_body};
use super::{ApiState, watch};
use crate::registry::error::{ApiError, ApiResult};
use crate::registry::list::{ListOptions, ListQuery};
use crate::registry::resource::Resource;
use crate::registry::rest::{Ctx, DeleteOptions, FieldValidation, PatchType, ScaleChange, UserInfo};
use crate::registry::strategy::Subresource;

/// Largest request body accepted (the real server's limit).
pub const MAX_BODY: usize = 3 * 1024 * 1024;

/// Query parameters as a map (last value wins).
pub type Query = HashMap<String, String>;

pub fn parse_query(q: Option<&str>) -> Query {
    form_urlencoded::parse(q.unwrap_or("").as_bytes()).into_owned().collect()
}

/// Everything a verb handler needs from the request.
pub struct Call<'a> {
    pub state: &'a Arc<ApiState>,
    pub req: ResourceRequest,
    pub res: Resource,
    pub query: Query,
    pub headers: HeaderMap,
    pub method: Method,
    pub body: Bytes,
    pub user: UserInfo,
}

impl Call<'_> {
    fn q(&self, k: &str) -> Option<&str> {
        self.query.get(k).map(String::as_str)
    }

    fn user_agent(&self) -> &str {
        self.headers.get(http::header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    fn pretty(&self) -> bool {
        wants_pretty(self.q("pretty"), self.user_agent())
    }

    fn ns(&self) -> Option<&str> {
        self.req.namespace.as_deref()
    }

    fn name(&self) -> &str {
        self.req.name.as_deref().unwrap_or("")
    }

    /// The options kind the write's query parameters belong to (for error messages).
    fn options_kind(&self) -> &'static str {
        match self.req.verb {
            Verb::Create => "CreateOptions",
            Verb::Update => "UpdateOptions",
            Verb::Patch => "PatchOptions",
            _ => "DeleteOptions",
        }
    }

    /// The write context, with the query parameters validated as the real server does
    /// (422 Invalid on `CreateOptions`/`UpdateOptions`/`PatchOptions`).
    fn ctx(&self) -> ApiResult<Ctx> {
        use crate::registry::field_error::FieldError;
        let mut errs = Vec::new();
        let dry_run = match self.query.get("dryRun").map(String::as_str) {
            None | Some("") => false,
            Some("All") => true,
            Some(other) => {
                errs.push(FieldError::not_supported("dryRun", json!([other]), &["All"]));
                false
            }
        };
        let field_manager = self.q("fieldManager").map(str::to_string);
        if let Some(m) = &field_manager {
            if m.len() > 128 {
                errs.push(FieldError::too_long("fieldManager", 128));
            } else if m.chars().any(|c| c.is_control()) {
                errs.push(FieldError::invalid("fieldManager", m.as_str(), "must only contain printable characters"));
            }
        }
        let field_validation = match FieldValidation::parse(self.q("fieldValidation")) {
            Ok(v) => v,
            Err(_) => {
                let v = self.q("fieldValidation").unwrap_or_default();
                errs.push(FieldError::not_supported("fieldValidation", v, &["", "Ignore", "Strict", "Warn"]));
                FieldValidation::default()
            }
        };
        let force = self.q("force").is_some_and(|f| matches!(f, "true" | "1"));
        let is_apply = super::negotiate::content_type(&self.headers).starts_with("application/apply-patch");
        if force && !(self.req.verb == Verb::Patch && is_apply) {
            errs.push(FieldError::forbidden("force", "may not be specified for non-apply patch"));
        }
        if !errs.is_empty() {
            return Err(ApiError::invalid("meta.k8s.io", self.options_kind(), "", &errs));
        }
        Ok(Ctx {
            user: self.user.clone(),
            dry_run,
            field_manager,
            user_agent: self.user_agent().to_string(),
            field_validation,
            duplicate_fields: Vec::new(),
        })
    }

    fn list_options(&self) -> ApiResult<ListOptions> {
        ListOptions::parse(
            &self.res,
            &ListQuery {
                label_selector: self.q("labelSelector"),
                field_selector: self.q("fieldSelector"),
                limit: self.q("limit"),
                continue_token: self.q("continue"),
                resource_version: self.q("resourceVersion"),
                resource_version_match: self.q("resourceVersionMatch"),
                timeout_seconds: self.q("timeoutSeconds"),
                allow_watch_bookmarks: self.q("allowWatchBookmarks"),
                send_initial_events: self.q("sendInitialEvents"),
            },
        )
    }

    /// The decoded body; duplicate keys are recorded in `ctx` for field validation.
    fn body_for(&self, ctx: &mut Ctx) -> ApiResult<Value> {
        let (v, dups) = self.json_body_with_duplicates()?;
        ctx.duplicate_fields = dups;
        Ok(v)
    }

    fn json_body(&self) -> ApiResult<Value> {
        self.json_body_with_duplicates().map(|(v, _)| v)
    }

    fn json_body_with_duplicates(&self) -> ApiResult<(Value, Vec<String>)> {
        if self.body.len() > MAX_BODY {
            return Err(ApiError::too_large(MAX_BODY));
        }
        decode_body(&self.headers, &self.body, &self.res.kind)
    }

    fn subresource(&self) -> ApiResult<Subresource> {
        match self.req.subresource.as_deref() {
            None => Ok(Subresource::Main),
            Some("status") if self.res.has_status => Ok(Subresource::Status),
            Some("finalize") if self.res.group.is_empty() && self.res.plural == "namespaces" => {
                Ok(Subresource::Finalize)
            }
            Some(_) => Err(ApiError::path_not_found()),
        }
    }

    fn respond(&self, code: u16, value: &Value, output: &Output) -> Response {
        let include = self.q("includeObject").unwrap_or("Metadata");
        let body = object_body(&self.res, value, output, include);
        let is_status = value.get("kind").and_then(Value::as_str) == Some("Status");
        let (out, ct) = if is_status {
            (Output::Json, "application/json".to_string())
        } else {
            (output.clone(), output.content_type())
        };
        bytes_response(code, &ct, render(if is_status { value } else { &body }, &out, self.pretty()))
    }
}

/// Dispatch a resource request to its verb.
pub async fn handle(call: Call<'_>) -> Response {
    let mut resp = match dispatch(&call).await {
        Ok(resp) => resp,
        Err(e) => error_response(&e),
    };
    // Requests to a deprecated version of a custom resource carry the deprecation warning.
    if let Some(w) = crate::registry::crd::custom(&call.res).and_then(|cr| cr.deprecation_warning.clone()) {
        add_warnings(&mut resp, &[w]);
    }
    resp
}

async fn dispatch(call: &Call<'_>) -> ApiResult<Response> {
    let reg = &call.state.registry;
    let res = &call.res;
    if res.namespaced && call.req.namespace.is_none() && !matches!(call.req.verb, Verb::List | Verb::Watch) {
        return Err(ApiError::path_not_found());
    }
    if !res.namespaced && call.req.namespace.is_some() {
        return Err(ApiError::path_not_found());
    }
    let has_name = call.req.name.is_some();
    let routed = match call.req.verb {
        Verb::Update | Verb::Patch | Verb::Delete | Verb::Get => has_name,
        Verb::Create => !has_name || call.req.subresource.is_some(),
        Verb::List | Verb::Watch | Verb::DeleteCollection => true,
    };
    if !routed {
        return Err(ApiError::method_not_allowed());
    }
    if call.req.subresource.as_deref() == Some("scale") {
        return scale(call).await;
    }
    let output = choose_output(&call.headers)?;
    // Create-only virtual resources (reviews, bindings) have no table converter: the real
    // server does not offer `as=Table` for them, so a client asking only for it gets 406.
    if matches!(output, Output::Table { .. })
        && matches!(res.storage, crate::registry::catalog::Storage::Review | crate::registry::catalog::Storage::Binding)
        && call.req.subresource.is_none()
    {
        return Err(ApiError::not_acceptable(&[
            "application/json",
            "application/yaml",
            "application/vnd.kubernetes.protobuf",
        ]));
    }
    if let Some(io) = call.q("includeObject") {
        crate::registry::tables::check_include_object(io).map_err(ApiError::bad_request)?;
    }
    match call.req.verb {
        Verb::Get => {
            call.subresource()?;
            let obj = reg.get(res, call.ns(), call.name()).await?;
            Ok(call.respond(200, &obj, &output))
        }
        Verb::List => {
            let opts = call.list_options()?;
            let page = reg.list(res, call.ns(), &opts).await?;
            let mut list_meta = json!({"resourceVersion": page.resource_version.to_string()});
            if let Some(c) = &page.continue_token {
                list_meta["continue"] = c.clone().into();
            }
            if let Some(r) = page.remaining {
                list_meta["remainingItemCount"] = r.into();
            }
            let include = call.q("includeObject").unwrap_or("Metadata");
            let body = list_body(res, page.items, list_meta, &output, include);
            Ok(bytes_response(200, &output.content_type(), render(&body, &output, call.pretty())))
        }
        Verb::Watch => {
            let opts = call.list_options()?;
            let include = call.q("includeObject").unwrap_or("Metadata").to_string();
            Ok(watch::serve(call.state.clone(), res.clone(), call.req.namespace.clone(), opts, output, include).await)
        }
        Verb::Create => {
            let mut ctx = call.ctx()?;
            let body = call.body_for(&mut ctx)?;
            let outcome = if call.req.subresource.as_deref() == Some("token")
                && res.plural == "serviceaccounts"
                && res.group.is_empty()
            {
                reg.create_token(&ctx, call.ns().unwrap_or("default"), call.name(), body).await?
            } else if call.req.subresource.as_deref() == Some("binding") && res.plural == "pods" {
                let binding = reg.resource("", "v1", "bindings").ok_or_else(ApiError::path_not_found)?;
                let mut body = body;
                if crate::registry::meta::name(&body).is_empty() {
                    crate::registry::meta::set(&mut body, "name", Some(call.name().into()));
                }
                reg.create(&ctx, &binding, call.ns(), body).await?
            } else if call.req.name.is_some() {
                return Err(ApiError::path_not_found());
            } else {
                reg.create(&ctx, res, call.ns(), body).await?
            };
            let mut resp = call.respond(outcome.code, &outcome.object, &output);
            add_warnings(&mut resp, &outcome.warnings);
            Ok(resp)
        }
        Verb::Update => {
            let sub = call.subresource()?;
            let mut ctx = call.ctx()?;
            let body = call.body_for(&mut ctx)?;
            let outcome = reg.update(&ctx, res, call.ns(), call.name(), sub, body).await?;
            let mut resp = call.respond(outcome.code, &outcome.object, &output);
            add_warnings(&mut resp, &outcome.warnings);
            Ok(resp)
        }
        Verb::Patch => {
            let sub = call.subresource()?;
            let ctx = call.ctx()?;
            let ct = super::negotiate::content_type(&call.headers);
            let patch_type = PatchType::from_content_type(&ct).ok_or_else(|| {
                ApiError::unsupported_media_type(
                    &ct,
                    &[
                        "application/json-patch+json",
                        "application/merge-patch+json",
                        "application/apply-patch+yaml",
                        "application/strategic-merge-patch+json",
                        "application/apply-patch+cbor",
                    ],
                )
            })?;
            if call.body.len() > MAX_BODY {
                return Err(ApiError::too_large(MAX_BODY));
            }
            let force = matches!(call.q("force"), Some("true" | "1"));
            let outcome = reg.patch(&ctx, res, call.ns(), call.name(), sub, patch_type, &call.body, force).await?;
            let mut resp = call.respond(outcome.code, &outcome.object, &output);
            add_warnings(&mut resp, &outcome.warnings);
            Ok(resp)
        }
        Verb::Delete => {
            if call.req.subresource.is_some() {
                return Err(ApiError::method_not_supported(&res.group, &res.plural, "delete"));
            }
            let mut ctx = call.ctx()?;
            let opts = delete_options(call)?;
            ctx.dry_run |= opts.dry_run;
            let outcome = reg.delete(&ctx, res, call.ns(), call.name(), &opts).await?;
            Ok(call.respond(outcome.code, &outcome.object, &output))
        }
        Verb::DeleteCollection => {
            let mut ctx = call.ctx()?;
            let opts = delete_options(call)?;
            ctx.dry_run |= opts.dry_run;
            let list_opts = call.list_options()?;
            let list = reg.delete_collection(&ctx, res, call.ns(), &list_opts, &opts).await?;
            Ok(bytes_response(200, "application/json", render(&list, &Output::Json, call.pretty())))
        }
    }
}

fn delete_options(call: &Call<'_>) -> ApiResult<DeleteOptions> {
    let body = if call.body.iter().all(|b| b.is_ascii_whitespace()) { None } else { Some(call.json_body()?) };
    let mut opts = DeleteOptions::from_body(body.as_ref())?;
    if let Some(g) = call.q("gracePeriodSeconds") {
        opts.grace_period_seconds =
            Some(g.parse().map_err(|_| ApiError::bad_request(format!("invalid gracePeriodSeconds {g:?}")))?);
    }
    if let Some(p) = call.q("propagationPolicy") {
        opts.propagation_policy = Some(p.to_string());
    }
    if let Some(o) = call.q("orphanDependents") {
        opts.orphan_dependents = Some(o == "true");
    }
    Ok(opts)
}

async fn scale(call: &Call<'_>) -> ApiResult<Response> {
    let reg = &call.state.registry;
    let res = &call.res;
    let output = Output::Json;
    let pretty = call.pretty();
    let render_scale = |code: u16, v: &Value| bytes_response(code, "application/json", render(v, &output, pretty));
    match call.req.verb {
        Verb::Get => Ok(render_scale(200, &reg.get_scale(res, call.ns(), call.name()).await?)),
        Verb::Update => {
            let ctx = call.ctx()?;
            let body = call.json_body()?;
            if body.get("kind").and_then(Value::as_str).is_some_and(|k| k != "Scale") {
                return Err(ApiError::bad_request("the body of a scale update must be a Scale"));
            }
            let o = reg.update_scale(&ctx, res, call.ns(), call.name(), ScaleChange::Replace(body)).await?;
            Ok(render_scale(200, &o.object))
        }
        Verb::Patch => {
            let ctx = call.ctx()?;
            let ct = super::negotiate::content_type(&call.headers);
            let pt = PatchType::from_content_type(&ct).filter(|p| *p != PatchType::Apply).ok_or_else(|| {
                ApiError::unsupported_media_type(
                    &ct,
                    &[
                        "application/json-patch+json",
                        "application/merge-patch+json",
                        "application/strategic-merge-patch+json",
                    ],
                )
            })?;
            let o = reg.update_scale(&ctx, res, call.ns(), call.name(), ScaleChange::Patch(pt, &call.body)).await?;
            Ok(render_scale(200, &o.object))
        }
        _ => Err(ApiError::method_not_supported("autoscaling", "scale", call.req.verb.as_str())),
    }
}

/// An empty response body, for HEAD and friends.
pub fn empty(code: u16) -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = http::StatusCode::from_u16(code).unwrap_or(http::StatusCode::OK);
    r
}
