//! Streaming a watch: one JSON event per line, bookmarks when asked for, an
//! ERROR event for failures after the stream started, and the timeout.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use futures::StreamExt;
use rand::Rng;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::ApiState;
use super::negotiate::Output;
use super::response::{bytes_response, error_response, partial_metadata};
use crate::registry::error::ApiError;
use crate::registry::list::ListOptions;
use crate::registry::meta;
use crate::registry::resource::Resource;
use crate::registry::watch::{EventType, WatchEvent};

/// How often a watch that asked for bookmarks gets one.
const BOOKMARK_EVERY: Duration = Duration::from_secs(60);

fn encode_event(kind: &str, object: &Value) -> Bytes {
    let mut v = serde_json::to_vec(&json!({"type": kind, "object": object})).unwrap_or_default();
    v.push(b'\n');
    Bytes::from(v)
}

fn error_event(e: &ApiError) -> Bytes {
    encode_event("ERROR", &e.to_status())
}

/// Shapes each event's object for the negotiated output.
struct Renderer {
    res: Resource,
    output: Output,
    include_object: String,
    first_table: bool,
}

impl Renderer {
    fn render(&mut self, ev: &WatchEvent) -> Bytes {
        let object = match (&self.output, ev.kind) {
            (_, EventType::Bookmark | EventType::Error) => ev.object.clone(),
            (Output::Table { version }, _) => {
                let mut t = super::response::resource_table(
                    &self.res,
                    std::slice::from_ref(&ev.object),
                    &self.include_object,
                    json!({"resourceVersion": meta::resource_version(&ev.object)}),
                    self.first_table,
                );
                super::response::set_table_version(&mut t, version);
                self.first_table = false;
                t
            }
            (Output::Metadata { version }, _) => partial_metadata(&ev.object, version),
            _ => ev.object.clone(),
        };
        encode_event(ev.kind.as_str(), &object)
    }
}

/// Open the watch and stream it.
pub async fn serve(
    state: Arc<ApiState>,
    res: Resource,
    ns: Option<String>,
    opts: ListOptions,
    output: Output,
    include_object: String,
) -> Response {
    let content_type = match &output {
        Output::Yaml => "application/json".to_string(),
        o => o.content_type(),
    };
    let mut watch = match state.registry.watch(&res, ns.as_deref(), &opts).await {
        Ok(w) => w,
        // A watch from a compacted revision is answered inside the stream, as the real server does.
        Err(e) if e.code == 410 => return bytes_response(200, &content_type, error_event(&e).to_vec()),
        Err(e) => return error_response(&e),
    };
    let timeout = match opts.timeout_seconds {
        Some(t) => Duration::from_secs(t),
        None => Duration::from_secs(rand::rng().random_range(1800..3600)),
    };
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    let mut renderer = Renderer { res: res.clone(), output, include_object, first_table: true };
    tokio::spawn(async move {
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let mut bookmarks = tokio::time::interval_at(tokio::time::Instant::now() + BOOKMARK_EVERY, BOOKMARK_EVERY);
        loop {
            tokio::select! {
                ev = watch.next() => {
                    let bytes = match ev {
                        Some(Ok(ev)) => renderer.render(&ev),
                        Some(Err(e)) => {
                            let _ = tx.send(error_event(&e)).await;
                            break;
                        }
                        None => break,
                    };
                    if tx.send(bytes).await.is_err() {
                        break;
                    }
                }
                _ = bookmarks.tick(), if watch.wants_bookmarks() => {
                    let b = watch.bookmark();
                    if tx.send(renderer.render(&b)).await.is_err() {
                        break;
                    }
                }
                _ = &mut deadline => {
                    if watch.wants_bookmarks() {
                        let b = watch.bookmark();
                        let _ = tx.send(renderer.render(&b)).await;
                    }
                    break;
                }
                _ = tx.closed() => break,
            }
        }
    });
    let stream = ReceiverStream::new(rx).map(Ok::<_, std::convert::Infallible>);
    let mut resp = Response::new(Body::from_stream(stream));
    if let Ok(v) = http::HeaderValue::from_str(&content_type) {
        resp.headers_mut().insert(http::header::CONTENT_TYPE, v);
    }
    resp.headers_mut().insert(http::header::CACHE_CONTROL, http::HeaderValue::from_static("no-cache, private"));
    resp
}
