//! The HTTP face of the cluster: routing, content negotiation, authentication,
//! discovery, OpenAPI and streaming, over the registry.

pub mod auth;
pub mod discovery;
pub mod handlers;
pub mod health;
pub mod local_client;
pub mod negotiate;
pub mod openapi;
pub mod protobuf;
pub mod proxy;
pub mod request;
pub mod response;
pub mod strict_json;
pub mod watch;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware;
use axum::response::Response;
use axum::routing::get;

use crate::registry::Registry;
use crate::registry::error::ApiError;
use crate::registry::rest::UserInfo;
use request::{Route, route};
use response::{bytes_response, error_response};

/// Shared state of the API server.
pub struct ApiState {
    pub registry: Arc<Registry>,
    /// Set once bootstrap objects exist and controllers run.
    pub ready: AtomicBool,
    /// `host:port` clients reach the server at (discovery's serverAddressByClientCIDRs).
    pub server_address: String,
    pub openapi: openapi::OpenApiCache,
    /// How to reach kubelets (pods/log, exec, attach, portforward); set at start.
    pub kubelet_tls: std::sync::OnceLock<Arc<rustls::ClientConfig>>,
}

impl ApiState {
    pub fn new(registry: Arc<Registry>, server_address: String) -> Arc<ApiState> {
        Arc::new(ApiState {
            openapi: openapi::OpenApiCache::new(registry.clone()),
            registry,
            ready: AtomicBool::new(false),
            server_address,
            kubelet_tls: std::sync::OnceLock::new(),
        })
    }
}

/// The router of every endpoint the API server answers.
pub fn router(state: Arc<ApiState>) -> Router {
    Router::new()
        .route("/version", get(health::version))
        .route("/version/", get(health::version))
        .route("/livez", get(health::livez))
        .route("/readyz", get(health::readyz))
        .route("/healthz", get(health::healthz))
        .route("/livez/{*check}", get(health::livez_check))
        .route("/readyz/{*check}", get(health::readyz_check))
        .route("/healthz/{*check}", get(health::healthz_check))
        .route("/.well-known/openid-configuration", get(oidc_configuration))
        .route("/openid/v1/jwks", get(oidc_jwks))
        .route("/openapi/v2", get(openapi::serve_v2))
        .route("/openapi/v3", get(openapi::serve_v3_index))
        .route("/openapi/v3/{*path}", get(openapi::serve_v3))
        .fallback(api)
        .layer(middleware::from_fn_with_state(state.clone(), auth::authenticate))
        .with_state(state)
}

/// `/.well-known/openid-configuration`: where ServiceAccount token issuers are described.
async fn oidc_configuration(State(state): State<Arc<ApiState>>) -> Response {
    match state.registry.token_issuer() {
        Some(i) => response::json_response(200, &i.openid_configuration(), false),
        None => error_response(&ApiError::path_not_found()),
    }
}

/// `/openid/v1/jwks`: the public keys that verify ServiceAccount tokens.
async fn oidc_jwks(State(state): State<Arc<ApiState>>) -> Response {
    match state.registry.token_issuer() {
        Some(i) => {
            let mut r = response::json_response(200, &i.jwks(), false);
            r.headers_mut()
                .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/jwk-set+json"));
            r
        }
        None => error_response(&ApiError::path_not_found()),
    }
}

/// Everything under `/api` and `/apis`.
async fn api(State(state): State<Arc<ApiState>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let query = handlers::parse_query(parts.uri.query());
    let watch_param = matches!(query.get("watch").map(String::as_str), Some("true" | "1" | "True" | ""));
    let reg = &state.registry;
    let pretty = negotiate::wants_pretty(
        query.get("pretty").map(String::as_str),
        parts.headers.get(http::header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or(""),
    );
    let discovery_response = |value: Option<serde_json::Value>, fmt: discovery::Format| match value {
        Some(v) => bytes_response(200, &fmt.content_type(), negotiate::render(&v, &negotiate::Output::Json, pretty)),
        None => error_response(&ApiError::path_not_found()),
    };
    match route(&parts.method, parts.uri.path(), watch_param) {
        Route::CoreVersions => match discovery::format(&parts.headers) {
            discovery::Format::Aggregated(v) => {
                discovery_response(Some(discovery::aggregated(reg, true, v)), discovery::Format::Aggregated(v))
            }
            f => discovery_response(Some(discovery::core_versions(&state.server_address)), f),
        },
        Route::Groups => match discovery::format(&parts.headers) {
            discovery::Format::Aggregated(v) => {
                discovery_response(Some(discovery::aggregated(reg, false, v)), discovery::Format::Aggregated(v))
            }
            f => discovery_response(Some(discovery::groups(reg)), f),
        },
        Route::Group(g) => discovery_response(discovery::group(reg, &g), discovery::Format::Legacy),
        Route::ResourceList { group, version } => {
            discovery_response(discovery::resource_list(reg, &group, &version), discovery::Format::Legacy)
        }
        Route::Resource(r)
            if r.group.is_empty()
                && r.resource == "pods"
                && r.name.is_some()
                && matches!(r.subresource.as_deref(), Some("log" | "exec" | "attach" | "portforward")) =>
        {
            proxy::pod_subresource(state.clone(), r, Request::from_parts(parts, body)).await
        }
        Route::Resource(r) => {
            let Some(res) = reg.resource(&r.group, &r.version, &r.resource) else {
                return error_response(&ApiError::path_not_found());
            };
            let user = parts.extensions.get::<UserInfo>().cloned().unwrap_or_default();
            let bytes = match axum::body::to_bytes(body, handlers::MAX_BODY + 1).await {
                Ok(b) => b,
                Err(_) => return error_response(&ApiError::too_large(handlers::MAX_BODY)),
            };
            if bytes.len() > handlers::MAX_BODY {
                return error_response(&ApiError::too_large(handlers::MAX_BODY));
            }
            handlers::handle(handlers::Call {
                state: &state,
                req: r,
                res,
                query,
                headers: parts.headers,
                method: parts.method,
                body: bytes,
                user,
            })
            .await
        }
        Route::Other => {
            let _ = Body::empty();
            error_response(&ApiError::path_not_found())
        }
    }
}
