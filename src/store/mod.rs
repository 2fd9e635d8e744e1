//! The revisioned key-value store under the API server.
//!
//! One global revision counter orders every write; a write log lets a watch
//! resume from any revision not yet compacted; watchers are fed in-process right
//! after commit. [`Store`] is what the registry sees, so other backends (etcd,
//! PostgreSQL) can sit behind it later; [`sqlite::SqliteStore`] is the one we ship.

pub mod sqlite;
pub mod watch;

#[cfg(test)]
mod tests;

use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;

pub use watch::{WatchItem, WatchStream};

/// A store revision (an object's `resourceVersion`).
pub type Revision = i64;

/// A key and its current value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    pub value: Bytes,
    /// Revision of the write that created the key.
    pub create_revision: Revision,
    /// Revision of the last write to the key.
    pub mod_revision: Revision,
}

/// What a write did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    Create,
    Update,
    Delete,
}

/// One committed write, as watchers see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub kind: EventKind,
    pub key: String,
    pub revision: Revision,
    /// The value written; for a delete, the value the key had when deleted.
    pub value: Bytes,
    /// The value before this write (`None` for a create).
    pub prev_value: Option<Bytes>,
}

/// A page of a list.
#[derive(Clone, Debug, Default)]
pub struct ListResult {
    pub items: Vec<KeyValue>,
    /// The revision the list was read at.
    pub revision: Revision,
    /// Number of keys after the last returned one (only set when the page was cut by `limit`).
    pub remaining: Option<i64>,
}

/// Arguments of a list.
#[derive(Clone, Debug, Default)]
pub struct ListRequest {
    /// Keys that start with this prefix.
    pub prefix: String,
    /// Only keys strictly greater than this one (pagination).
    pub start_after: Option<String>,
    /// At most this many items (`None`: all).
    pub limit: Option<usize>,
    /// Read the state as of this revision (`None`: the latest).
    pub revision: Option<Revision>,
}

/// Store failures.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum StoreError {
    #[error("key not found")]
    NotFound,
    #[error("key already exists")]
    AlreadyExists,
    /// A precondition on the key's revision failed; carries the current value.
    #[error("revision mismatch")]
    Conflict(Option<Box<KeyValue>>),
    /// The requested revision has been compacted away.
    #[error("required revision {requested} has been compacted (oldest available is {compacted})")]
    Compacted { requested: Revision, compacted: Revision },
    /// The requested revision is newer than any the store has.
    #[error("revision {requested} is in the future (current is {current})")]
    FutureRevision { requested: Revision, current: Revision },
    #[error("storage is shutting down")]
    Closed,
    #[error("storage error: {0}")]
    Backend(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Options of a write.
#[derive(Clone, Debug, Default)]
pub struct WriteOptions {
    /// Delete the key automatically after this long (Events use it).
    pub ttl: Option<Duration>,
}

/// The storage interface the registry is written against.
pub trait Store: Send + Sync + 'static {
    /// The current value of a key.
    fn get(&self, key: &str) -> BoxFuture<'_, StoreResult<Option<KeyValue>>>;

    /// Keys under a prefix, in key order.
    fn list(&self, req: ListRequest) -> BoxFuture<'_, StoreResult<ListResult>>;

    /// Number of keys under a prefix.
    fn count(&self, prefix: &str) -> BoxFuture<'_, StoreResult<i64>>;

    /// Create a key that must not exist.
    fn create(&self, key: &str, value: Bytes, opts: WriteOptions) -> BoxFuture<'_, StoreResult<KeyValue>>;

    /// Replace a key's value if its mod revision is still `expected`.
    fn update(
        &self,
        key: &str,
        value: Bytes,
        expected: Revision,
        opts: WriteOptions,
    ) -> BoxFuture<'_, StoreResult<KeyValue>>;

    /// Delete a key (if `expected` is given, only at that mod revision). Returns the
    /// deleted value with `mod_revision` set to the revision of the delete.
    fn delete(&self, key: &str, expected: Option<Revision>) -> BoxFuture<'_, StoreResult<KeyValue>>;

    /// Events for keys under `prefix` with revisions greater than `after`.
    fn watch(&self, prefix: &str, after: Revision) -> BoxFuture<'_, StoreResult<WatchStream>>;

    /// The newest revision.
    fn current_revision(&self) -> BoxFuture<'_, StoreResult<Revision>>;

    /// The oldest revision a watch or list can still start from.
    fn compacted_revision(&self) -> Revision;

    /// Forget history at and before `revision` (state as of `revision` stays readable).
    fn compact(&self, revision: Revision) -> BoxFuture<'_, StoreResult<()>>;
}

/// The end of a key range: the smallest string greater than every string starting with `prefix`.
pub fn prefix_end(prefix: &str) -> String {
    // Keys are ASCII paths; '\u{10FFFF}' sorts after anything a key can contain.
    format!("{prefix}\u{10FFFF}")
}
