//! Authentication: who a request comes from. Client certificates signed by the
//! cluster CA (CN = user, O = groups), requests made in-process by the server's
//! own components, and anonymous access to the public endpoints (health,
//! version, discovery of the OIDC keys) as the real server allows.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::sync::Arc;

use super::ApiState;
use super::response::error_response;
use crate::registry::error::ApiError;
use crate::registry::rest::UserInfo;

/// The identity in a verified client certificate, put on each request by the TLS layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerCertificate {
    pub common_name: String,
    pub organizations: Vec<String>,
}

/// Paths anyone may read (the real server's `system:public-info-viewer` role).
fn is_public(path: &str) -> bool {
    matches!(path, "/healthz" | "/livez" | "/readyz" | "/version" | "/version/")
        || path.starts_with("/healthz/")
        || path.starts_with("/livez/")
        || path.starts_with("/readyz/")
        || path == "/.well-known/openid-configuration"
        || path == "/openid/v1/jwks"
}

fn anonymous() -> UserInfo {
    UserInfo {
        username: "system:anonymous".into(),
        groups: vec!["system:unauthenticated".into()],
        ..Default::default()
    }
}

/// Middleware: attach a `UserInfo` to the request or answer 401.
pub async fn authenticate(State(state): State<Arc<ApiState>>, mut req: Request, next: Next) -> Response {
    // In-process clients come with their identity already attached.
    if req.extensions().get::<UserInfo>().is_some() {
        return next.run(req).await;
    }
    let user = if let Some(peer) = req.extensions().get::<PeerCertificate>() {
        let mut groups = peer.organizations.clone();
        groups.push("system:authenticated".into());
        Some(UserInfo { username: peer.common_name.clone(), groups, ..Default::default() })
    } else {
        None
    };
    let bearer = req
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(|t| t.trim().to_string());
    let has_bearer = req.headers().get(http::header::AUTHORIZATION).is_some();
    let user = match (user, bearer) {
        (Some(u), _) => Some(u),
        // A presented token must be valid, even for public paths (as the real server does).
        (None, Some(token)) => match state.registry.authenticate_token(&token).await {
            Some(u) => Some(u),
            None => return error_response(&ApiError::unauthorized()),
        },
        (None, None) => None,
    };
    match user {
        Some(u) => {
            req.extensions_mut().insert(u);
            next.run(req).await
        }
        None if is_public(req.uri().path()) && !has_bearer => {
            req.extensions_mut().insert(anonymous());
            next.run(req).await
        }
        None => error_response(&ApiError::unauthorized()),
    }
}
