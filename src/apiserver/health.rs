//! `/livez`, `/readyz`, `/healthz` (with `?verbose` and per-check paths) and `/version`.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use serde_json::{Value, json};

use super::ApiState;
use super::response::{bytes_response, json_response};

/// The Kubernetes version coracle speaks.
pub const KUBE_VERSION: &str = "v1.33.0";

/// `GET /version`.
pub fn version_info() -> Value {
    json!({
        "major": "1",
        "minor": "33",
        "emulationMajor": "1",
        "emulationMinor": "33",
        "minCompatibilityMajor": "1",
        "minCompatibilityMinor": "32",
        "gitVersion": format!("{KUBE_VERSION}+coracle"),
        "gitCommit": option_env!("CORACLE_GIT_COMMIT").unwrap_or("unknown"),
        "gitTreeState": "clean",
        "buildDate": "1970-01-01T00:00:00Z",
        "goVersion": "n/a (rust)",
        "compiler": "rustc",
        "platform": format!("linux/{}", go_arch()),
    })
}

/// The architecture in Go's naming (`amd64`, `arm64`…).
pub fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "arm" => "arm",
        "riscv64" => "riscv64",
        other => other,
    }
}

pub async fn version() -> Response {
    json_response(200, &version_info(), true)
}

/// The checks of one endpoint, each with its result.
async fn checks(state: &ApiState, endpoint: &str) -> Vec<(&'static str, Result<(), String>)> {
    let store = match state.registry.store().current_revision().await {
        Ok(_) => Ok(()),
        Err(e) => Err(e.to_string()),
    };
    let ready = if state.ready.load(Ordering::Acquire) { Ok(()) } else { Err("not finished".to_string()) };
    let mut out = vec![("ping", Ok(())), ("log", Ok(())), ("etcd", store)];
    if endpoint != "livez" {
        out.push(("poststarthook/bootstrap-controller", ready.clone()));
        out.push(("poststarthook/start-apiextensions-controllers", Ok(())));
    }
    if endpoint == "readyz" {
        out.push(("informer-sync", ready));
        out.push(("shutdown", Ok(())));
    }
    out
}

async fn report(state: &ApiState, endpoint: &str, only: Option<&str>, query: Option<&str>) -> Response {
    let results = checks(state, endpoint).await;
    let verbose = query.is_some_and(|q| q.split('&').any(|p| p == "verbose" || p.starts_with("verbose=")));
    let excluded: Vec<String> =
        query.unwrap_or("").split('&').filter_map(|p| p.strip_prefix("exclude=")).map(|s| s.to_string()).collect();
    if let Some(name) = only {
        return match results.iter().find(|(n, _)| *n == name) {
            Some((_, Ok(()))) => bytes_response(200, "text/plain; charset=utf-8", b"ok".to_vec()),
            Some((_, Err(e))) => {
                bytes_response(500, "text/plain; charset=utf-8", format!("internal server error: {e}\n").into_bytes())
            }
            None => bytes_response(404, "text/plain; charset=utf-8", b"404 page not found\n".to_vec()),
        };
    }
    let mut failed = false;
    let mut text = String::new();
    for (name, r) in &results {
        if excluded.iter().any(|e| e == name) {
            text.push_str(&format!("[+]{name} excluded: ok\n"));
            continue;
        }
        match r {
            Ok(()) => text.push_str(&format!("[+]{name} ok\n")),
            Err(_) => {
                failed = true;
                text.push_str(&format!("[-]{name} failed: reason withheld\n"));
            }
        }
    }
    if failed {
        text.push_str(&format!("{endpoint} check failed\n"));
        return bytes_response(500, "text/plain; charset=utf-8", text.into_bytes());
    }
    if verbose {
        text.push_str(&format!("{endpoint} check passed\n"));
        bytes_response(200, "text/plain; charset=utf-8", text.into_bytes())
    } else {
        bytes_response(200, "text/plain; charset=utf-8", b"ok".to_vec())
    }
}

pub async fn livez(State(s): State<Arc<ApiState>>, RawQuery(q): RawQuery) -> Response {
    report(&s, "livez", None, q.as_deref()).await
}

pub async fn readyz(State(s): State<Arc<ApiState>>, RawQuery(q): RawQuery) -> Response {
    report(&s, "readyz", None, q.as_deref()).await
}

pub async fn healthz(State(s): State<Arc<ApiState>>, RawQuery(q): RawQuery) -> Response {
    report(&s, "healthz", None, q.as_deref()).await
}

pub async fn livez_check(State(s): State<Arc<ApiState>>, Path(name): Path<String>) -> Response {
    report(&s, "livez", Some(&name), None).await
}

pub async fn readyz_check(State(s): State<Arc<ApiState>>, Path(name): Path<String>) -> Response {
    report(&s, "readyz", Some(&name), None).await
}

pub async fn healthz_check(State(s): State<Arc<ApiState>>, Path(name): Path<String>) -> Response {
    report(&s, "healthz", Some(&name), None).await
}
