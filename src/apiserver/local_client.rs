//! A `kube::Client` for the server's own components that calls the API router
//! in-process: the same code path as kubectl, minus TLS and sockets.

use std::sync::Arc;

use tower::ServiceExt;

use super::{ApiState, router};
use crate::registry::rest::UserInfo;

/// A client acting as `user` (e.g. `system:kube-controller-manager`).
pub fn client(state: Arc<ApiState>, user: &str) -> kube::Client {
    let identity = UserInfo {
        username: user.to_string(),
        groups: vec!["system:masters".into(), "system:authenticated".into()],
        ..Default::default()
    };
    let service = router(state).map_request(move |mut req: http::Request<kube::client::Body>| {
        req.extensions_mut().insert(identity.clone());
        if !req.headers().contains_key(http::header::USER_AGENT) {
            req.headers_mut().insert(http::header::USER_AGENT, http::HeaderValue::from_static("coracle"));
        }
        req
    });
    kube::Client::new(service, "default")
}
