//! Watch: store events turned into ADDED / MODIFIED / DELETED / BOOKMARK events of
//! one resource, with selector transitions (an object that stops matching is
//! DELETED for the watcher, one that starts matching is ADDED), the initial
//! state when asked for, and progress bookmarks.

use std::collections::VecDeque;

use serde_json::{Value, json};

use super::Registry;
use super::error::{ApiError, ApiResult};
use super::list::{ListOptions, RvMatch, parse_rv};
use super::resource::Resource;
use super::rest::decode_stored;
use crate::store::{EventKind, Revision, StoreError, WatchStream};

/// The type of a watch event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
    Bookmark,
    Error,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
            EventType::Bookmark => "BOOKMARK",
            EventType::Error => "ERROR",
        }
    }
}

/// One event as the client sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct WatchEvent {
    pub kind: EventType,
    pub object: Value,
}

/// The annotation of the bookmark that ends the initial events.
pub const INITIAL_EVENTS_END: &str = "k8s.io/initial-events-end";

/// An open watch on one resource.
pub struct RegistryWatch {
    res: Resource,
    opts: ListOptions,
    stream: WatchStream,
    pending: VecDeque<WatchEvent>,
    /// Revision of the last event returned.
    last: Revision,
}

impl RegistryWatch {
    /// The next event; `None` when the store shuts down.
    pub async fn next(&mut self) -> Option<ApiResult<WatchEvent>> {
        loop {
            if let Some(ev) = self.pending.pop_front() {
                return Some(Ok(ev));
            }
            let ev = match self.stream.next().await? {
                Ok(ev) => ev,
                Err(StoreError::Compacted { requested, compacted }) => {
                    return Some(Err(ApiError::expired(format!(
                        "too old resource version: {requested} ({compacted})"
                    ))));
                }
                Err(e) => return Some(Err(ApiError::internal(e))),
            };
            self.last = ev.revision;
            match self.translate(&ev).await {
                Ok(Some(we)) => return Some(Ok(we)),
                Ok(None) => continue,
                Err(e) => return Some(Err(e)),
            }
        }
    }

    async fn translate(&self, ev: &crate::store::Event) -> ApiResult<Option<WatchEvent>> {
        let res = &self.res;
        let new = decode_stored(res, &ev.value, ev.revision).await?;
        let new_matches = self.opts.matches(res, &new);
        let out = match ev.kind {
            EventKind::Create => new_matches.then_some(EventType::Added),
            EventKind::Delete => new_matches.then_some(EventType::Deleted),
            EventKind::Update => {
                let old_matches = if self.opts.has_selectors() {
                    match &ev.prev_value {
                        Some(p) => self.opts.matches(res, &decode_stored(res, p, ev.revision).await?),
                        None => false,
                    }
                } else {
                    true
                };
                match (old_matches, new_matches) {
                    (true, true) => Some(EventType::Modified),
                    (true, false) => Some(EventType::Deleted),
                    (false, true) => Some(EventType::Added),
                    (false, false) => None,
                }
            }
        };
        Ok(out.map(|kind| WatchEvent { kind, object: new }))
    }

    /// A BOOKMARK carrying the revision the watch has reached.
    pub fn bookmark(&mut self) -> WatchEvent {
        let rev = self.stream.progress().max(self.last);
        bookmark(&self.res, rev, false)
    }

    /// Whether bookmarks were asked for.
    pub fn wants_bookmarks(&self) -> bool {
        self.opts.allow_watch_bookmarks
    }

    pub fn resource(&self) -> &Resource {
        &self.res
    }
}

fn bookmark(res: &Resource, rev: Revision, initial_end: bool) -> WatchEvent {
    let mut metadata = json!({"resourceVersion": rev.to_string()});
    if initial_end {
        metadata["annotations"] = json!({INITIAL_EVENTS_END: "true"});
    }
    WatchEvent {
        kind: EventType::Bookmark,
        object: json!({"kind": res.kind, "apiVersion": res.api_version(), "metadata": metadata}),
    }
}

fn invalid_watch(field: &str, message: &str) -> ApiError {
    let mut e = ApiError::new(422, "Invalid", format!("ListOptions.meta.k8s.io \"\" is invalid: {field}: {message}"));
    e.details = Some(Box::new(json!({"group": "meta.k8s.io", "kind": "ListOptions", "causes": [
        {"reason": "FieldValueForbidden", "message": message, "field": field}
    ]})));
    e
}

impl Registry {
    /// Open a watch with the real API server's start semantics.
    pub async fn watch(&self, res: &Resource, ns: Option<&str>, opts: &ListOptions) -> ApiResult<RegistryWatch> {
        if !res.has_verb("watch") {
            return Err(ApiError::method_not_supported(&res.group, &res.plural, "watch"));
        }
        match opts.send_initial_events {
            Some(_) => {
                if opts.resource_version_match != Some(RvMatch::NotOlderThan) {
                    return Err(invalid_watch(
                        "resourceVersionMatch",
                        "Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
                    ));
                }
                if !opts.allow_watch_bookmarks {
                    return Err(invalid_watch(
                        "allowWatchBookmarks",
                        "Forbidden: sendInitialEvents requires setting allowWatchBookmarks to true",
                    ));
                }
            }
            None if opts.resource_version_match.is_some() => {
                return Err(invalid_watch(
                    "resourceVersionMatch",
                    "Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
                ));
            }
            None => {}
        }
        let rv = opts.resource_version.as_deref().unwrap_or("");
        let from = if rv.is_empty() || rv == "0" { None } else { Some(parse_rv(rv)?) };
        let initial = match opts.send_initial_events {
            Some(send) => send,
            // Legacy: without a resourceVersion (or "0") the watch starts with the current state.
            None => from.is_none(),
        };
        let prefix = res.list_prefix(if res.namespaced { ns } else { None });
        let mut pending = VecDeque::new();
        let start = if initial {
            let mut lo = opts.clone();
            lo.limit = None;
            lo.continue_token = None;
            lo.resource_version = from.map(|r| r.to_string());
            lo.resource_version_match = from.map(|_| RvMatch::NotOlderThan);
            let page = self.list(res, ns, &lo).await?;
            for obj in page.items {
                pending.push_back(WatchEvent { kind: EventType::Added, object: obj });
            }
            if opts.send_initial_events == Some(true) {
                pending.push_back(bookmark(res, page.resource_version, true));
            }
            page.resource_version
        } else {
            match from {
                Some(r) => r,
                None => self.store.current_revision().await.map_err(ApiError::internal)?,
            }
        };
        let stream = self.store.watch(&prefix, start).await.map_err(|e| match e {
            StoreError::Compacted { requested, compacted } => {
                ApiError::expired(format!("too old resource version: {requested} ({compacted})"))
            }
            StoreError::FutureRevision { requested, current } => super::rest::too_large_rv(requested, current),
            e => ApiError::internal(e),
        })?;
        Ok(RegistryWatch { res: res.clone(), opts: opts.clone(), stream, pending, last: start })
    }
}
