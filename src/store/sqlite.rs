//! The SQLite backend.
//!
//! Two tables: `log`, one row per revision (kine's model: key, value, previous
//! value, create and previous revision, a deleted flag), and `kv`, the current
//! revision of every live key. Values live only in `log`; `kv` points at them.
//! One writer thread owns the write connection: requests that arrive together are
//! committed in one transaction (group commit, one fsync for many writes), then
//! published to watchers, then acknowledged. Reads use a small pool of read-only
//! connections (WAL lets them run beside the writer). `synchronous=FULL` means an
//! acknowledged write survives `kill -9` and power loss.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures::FutureExt;
use futures::future::BoxFuture;
use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, params};
use tokio::sync::{mpsc, oneshot};

use super::watch::{Hub, LogReader};
use super::{
    Event, EventKind, KeyValue, ListRequest, ListResult, Revision, Store, StoreError, StoreResult, WatchStream,
    WriteOptions, prefix_end,
};

/// Most writes committed in one transaction.
const MAX_BATCH: usize = 512;
/// Read connections kept open.
const READERS: usize = 4;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS log (
    rev         INTEGER PRIMARY KEY AUTOINCREMENT,
    key         TEXT    NOT NULL,
    created     INTEGER NOT NULL,
    deleted     INTEGER NOT NULL,
    create_rev  INTEGER NOT NULL,
    prev_rev    INTEGER NOT NULL,
    value       BLOB    NOT NULL,
    prev_value  BLOB
);
CREATE INDEX IF NOT EXISTS log_key_rev ON log (key, rev);
CREATE TABLE IF NOT EXISTS kv (
    key         TEXT    PRIMARY KEY,
    create_rev  INTEGER NOT NULL,
    mod_rev     INTEGER NOT NULL,
    expires_at  INTEGER
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS kv_expires ON kv (expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS meta (
    name        TEXT    PRIMARY KEY,
    value       INTEGER NOT NULL
) WITHOUT ROWID;
";

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

enum Op {
    Create { key: String, value: Bytes, expires_at: Option<i64> },
    Update { key: String, value: Bytes, expected: Revision, expires_at: Option<i64> },
    Delete { key: String, expected: Option<Revision> },
    Compact { revision: Revision },
}

struct WriteReq {
    op: Op,
    reply: oneshot::Sender<StoreResult<KeyValue>>,
}

/// A store in one SQLite database file.
pub struct SqliteStore {
    writer: mpsc::UnboundedSender<WriteReq>,
    readers: Arc<ReaderPool>,
    hub: Arc<Hub>,
    compacted: Arc<AtomicI64>,
}

struct ReaderPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl ReaderPool {
    fn open(&self) -> StoreResult<Connection> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
        )
        .map_err(backend)?;
        conn.busy_timeout(Duration::from_secs(10)).map_err(backend)?;
        Ok(conn)
    }

    /// Run `f` on a read connection, off the async threads.
    async fn with<T, F>(self: &Arc<Self>, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let pool = self.clone();
        tokio::task::spawn_blocking(move || {
            let taken = pool.idle.lock().map_err(backend)?.pop();
            let mut conn = match taken {
                Some(c) => c,
                None => pool.open()?,
            };
            let out = f(&mut conn);
            let mut idle = pool.idle.lock().map_err(backend)?;
            if idle.len() < READERS {
                idle.push(conn);
            }
            out
        })
        .await
        .map_err(backend)?
    }
}

impl SqliteStore {
    /// Open (or create) the database at `path` and start its writer.
    pub fn open(path: &Path) -> StoreResult<Arc<SqliteStore>> {
        let conn = Connection::open(path).map_err(backend)?;
        conn.busy_timeout(Duration::from_secs(10)).map_err(backend)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(backend)?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(backend)?;
        conn.execute_batch(SCHEMA).map_err(backend)?;
        let current = current_revision(&conn)?;
        let compacted: Revision = conn
            .query_row("SELECT value FROM meta WHERE name = 'compact_rev'", [], |r| r.get(0))
            .optional()
            .map_err(backend)?
            .unwrap_or(0);
        let hub = Hub::new(current);
        let compacted = Arc::new(AtomicI64::new(compacted));
        let (tx, rx) = mpsc::unbounded_channel();
        let writer = Writer { conn, hub: hub.clone(), compacted: compacted.clone(), next_rev: current + 1 };
        std::thread::Builder::new().name("store-writer".into()).spawn(move || writer.run(rx)).map_err(backend)?;
        let readers = Arc::new(ReaderPool { path: path.to_path_buf(), idle: Mutex::new(Vec::new()) });
        Ok(Arc::new(SqliteStore { writer: tx, readers, hub, compacted }))
    }

    async fn write(&self, op: Op) -> StoreResult<KeyValue> {
        let (reply, rx) = oneshot::channel();
        self.writer.send(WriteReq { op, reply }).map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Keys whose TTL has run out, with their revisions.
    pub async fn expired(&self) -> StoreResult<Vec<(String, Revision)>> {
        let now = unix_now();
        self.readers
            .with(move |c| {
                let mut st = c
                    .prepare_cached("SELECT key, mod_rev FROM kv WHERE expires_at IS NOT NULL AND expires_at <= ?1")
                    .map_err(backend)?;
                let rows = st.query_map([now], |r| Ok((r.get(0)?, r.get(1)?))).map_err(backend)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(backend)
            })
            .await
    }

    /// Delete what has expired (Events' TTL). Returns how many keys went.
    pub async fn reap_expired(&self) -> StoreResult<usize> {
        let mut n = 0;
        for (key, rev) in self.expired().await? {
            match self.delete(&key, Some(rev)).await {
                Ok(_) => n += 1,
                Err(StoreError::NotFound | StoreError::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(n)
    }
}

fn current_revision(conn: &Connection) -> StoreResult<Revision> {
    let seq: Option<i64> = conn
        .query_row("SELECT seq FROM sqlite_sequence WHERE name = 'log'", [], |r| r.get(0))
        .optional()
        .map_err(backend)?;
    let max: Option<i64> = conn.query_row("SELECT MAX(rev) FROM log", [], |r| r.get(0)).map_err(backend)?;
    Ok(seq.unwrap_or(0).max(max.unwrap_or(0)))
}

struct Writer {
    conn: Connection,
    hub: Arc<Hub>,
    compacted: Arc<AtomicI64>,
    next_rev: Revision,
}

impl Writer {
    fn run(mut self, mut rx: mpsc::UnboundedReceiver<WriteReq>) {
        while let Some(first) = rx.blocking_recv() {
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(req) => batch.push(req),
                    Err(_) => break,
                }
            }
            self.commit_batch(batch);
        }
    }

    fn commit_batch(&mut self, batch: Vec<WriteReq>) {
        let start_rev = self.next_rev;
        let mut events = Vec::new();
        let outcome = (|| -> StoreResult<Vec<StoreResult<KeyValue>>> {
            let tx = self.conn.transaction().map_err(backend)?;
            let mut results = Vec::with_capacity(batch.len());
            for req in &batch {
                results.push(apply_op(&tx, &req.op, &mut self.next_rev, &mut events, &self.compacted)?);
            }
            tx.commit().map_err(backend)?;
            Ok(results)
        })();
        match outcome {
            Ok(results) => {
                self.hub.publish(events);
                for (req, result) in batch.into_iter().zip(results) {
                    let _ = req.reply.send(result);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "store commit failed");
                self.next_rev = start_rev;
                for req in batch {
                    let _ = req.reply.send(Err(e.clone()));
                }
            }
        }
    }
}

/// Apply one operation inside the batch's transaction. The outer `Err` aborts the
/// whole batch (a database failure); the inner one is this operation's answer.
fn apply_op(
    tx: &Transaction<'_>,
    op: &Op,
    next_rev: &mut Revision,
    events: &mut Vec<Event>,
    compacted: &AtomicI64,
) -> StoreResult<StoreResult<KeyValue>> {
    match op {
        Op::Create { key, value, expires_at } => {
            if current(tx, key)?.is_some() {
                return Ok(Err(StoreError::AlreadyExists));
            }
            let rev = take_rev(next_rev);
            tx.prepare_cached(
                "INSERT INTO log (rev, key, created, deleted, create_rev, prev_rev, value) VALUES (?1, ?2, 1, 0, ?1, 0, ?3)",
            )
            .and_then(|mut s| s.execute(params![rev, key, &value[..]]))
            .map_err(backend)?;
            tx.prepare_cached("INSERT INTO kv (key, create_rev, mod_rev, expires_at) VALUES (?1, ?2, ?2, ?3)")
                .and_then(|mut s| s.execute(params![key, rev, expires_at]))
                .map_err(backend)?;
            events.push(Event {
                kind: EventKind::Create,
                key: key.clone(),
                revision: rev,
                value: value.clone(),
                prev_value: None,
            });
            Ok(Ok(KeyValue { key: key.clone(), value: value.clone(), create_revision: rev, mod_revision: rev }))
        }
        Op::Update { key, value, expected, expires_at } => {
            let Some(cur) = current(tx, key)? else { return Ok(Err(StoreError::NotFound)) };
            if cur.mod_revision != *expected {
                return Ok(Err(StoreError::Conflict(Some(Box::new(cur)))));
            }
            let rev = take_rev(next_rev);
            tx.prepare_cached(
                "INSERT INTO log (rev, key, created, deleted, create_rev, prev_rev, value, prev_value) \
                 VALUES (?1, ?2, 0, 0, ?3, ?4, ?5, ?6)",
            )
            .and_then(|mut s| {
                s.execute(params![rev, key, cur.create_revision, cur.mod_revision, &value[..], &cur.value[..]])
            })
            .map_err(backend)?;
            tx.prepare_cached("UPDATE kv SET mod_rev = ?2, expires_at = ?3 WHERE key = ?1")
                .and_then(|mut s| s.execute(params![key, rev, expires_at]))
                .map_err(backend)?;
            events.push(Event {
                kind: EventKind::Update,
                key: key.clone(),
                revision: rev,
                value: value.clone(),
                prev_value: Some(cur.value),
            });
            Ok(Ok(KeyValue {
                key: key.clone(),
                value: value.clone(),
                create_revision: cur.create_revision,
                mod_revision: rev,
            }))
        }
        Op::Delete { key, expected } => {
            let Some(cur) = current(tx, key)? else { return Ok(Err(StoreError::NotFound)) };
            if expected.is_some_and(|e| e != cur.mod_revision) {
                return Ok(Err(StoreError::Conflict(Some(Box::new(cur)))));
            }
            let rev = take_rev(next_rev);
            tx.prepare_cached(
                "INSERT INTO log (rev, key, created, deleted, create_rev, prev_rev, value) VALUES (?1, ?2, 0, 1, ?3, ?4, ?5)",
            )
            .and_then(|mut s| s.execute(params![rev, key, cur.create_revision, cur.mod_revision, &cur.value[..]]))
            .map_err(backend)?;
            tx.prepare_cached("DELETE FROM kv WHERE key = ?1").and_then(|mut s| s.execute([key])).map_err(backend)?;
            events.push(Event {
                kind: EventKind::Delete,
                key: key.clone(),
                revision: rev,
                value: cur.value.clone(),
                prev_value: Some(cur.value.clone()),
            });
            Ok(Ok(KeyValue {
                key: key.clone(),
                value: cur.value,
                create_revision: cur.create_revision,
                mod_revision: rev,
            }))
        }
        Op::Compact { revision } => {
            let prev = compacted.load(Ordering::Acquire);
            let target = (*revision).min(*next_rev - 1);
            if target <= prev {
                return Ok(Ok(KeyValue {
                    key: String::new(),
                    value: Bytes::new(),
                    create_revision: 0,
                    mod_revision: prev,
                }));
            }
            // Rows superseded by a newer row at or below the target, and deletions at or
            // below it, are history nobody can ask for any more.
            tx.execute(
                "DELETE FROM log WHERE rev IN (
                    SELECT o.rev FROM log AS n JOIN log AS o ON o.key = n.key AND o.rev < n.rev
                    WHERE n.rev > ?1 AND n.rev <= ?2)",
                params![prev, target],
            )
            .map_err(backend)?;
            tx.execute("DELETE FROM log WHERE deleted = 1 AND rev > ?1 AND rev <= ?2", params![prev, target])
                .map_err(backend)?;
            tx.execute(
                "UPDATE log SET prev_value = NULL WHERE rev > ?1 AND rev <= ?2 AND prev_value IS NOT NULL",
                params![prev, target],
            )
            .map_err(backend)?;
            tx.execute(
                "INSERT INTO meta (name, value) VALUES ('compact_rev', ?1) \
                 ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                [target],
            )
            .map_err(backend)?;
            compacted.store(target, Ordering::Release);
            Ok(Ok(KeyValue { key: String::new(), value: Bytes::new(), create_revision: 0, mod_revision: target }))
        }
    }
}

fn take_rev(next: &mut Revision) -> Revision {
    let r = *next;
    *next += 1;
    r
}

fn current(conn: &Connection, key: &str) -> StoreResult<Option<KeyValue>> {
    conn.prepare_cached(
        "SELECT kv.create_rev, kv.mod_rev, log.value FROM kv JOIN log ON log.rev = kv.mod_rev WHERE kv.key = ?1",
    )
    .and_then(|mut s| {
        s.query_row([key], |r| {
            Ok(KeyValue {
                key: key.to_string(),
                create_revision: r.get(0)?,
                mod_revision: r.get(1)?,
                value: Bytes::from(r.get::<_, Vec<u8>>(2)?),
            })
        })
        .optional()
    })
    .map_err(backend)
}

fn list_latest(conn: &mut Connection, req: &ListRequest) -> StoreResult<ListResult> {
    let tx = conn.transaction().map_err(backend)?;
    let revision = current_revision(&tx)?;
    let end = prefix_end(&req.prefix);
    let (lower, inclusive) = match &req.start_after {
        Some(k) if k.as_str() >= req.prefix.as_str() => (k.clone(), false),
        _ => (req.prefix.clone(), true),
    };
    let limit = req.limit.map(|l| l as i64 + 1).unwrap_or(-1);
    let sql = if inclusive {
        "SELECT kv.key, kv.create_rev, kv.mod_rev, log.value FROM kv JOIN log ON log.rev = kv.mod_rev \
         WHERE kv.key >= ?1 AND kv.key < ?2 ORDER BY kv.key LIMIT ?3"
    } else {
        "SELECT kv.key, kv.create_rev, kv.mod_rev, log.value FROM kv JOIN log ON log.rev = kv.mod_rev \
         WHERE kv.key > ?1 AND kv.key < ?2 ORDER BY kv.key LIMIT ?3"
    };
    let mut items = query_kvs(&tx, sql, params![lower, end, limit])?;
    let remaining =
        cut_page(&tx, &mut items, req.limit, &end, "SELECT COUNT(*) FROM kv WHERE key > ?1 AND key < ?2", None)?;
    Ok(ListResult { items, revision, remaining })
}

fn list_at(conn: &mut Connection, req: &ListRequest, at: Revision, compacted: Revision) -> StoreResult<ListResult> {
    let tx = conn.transaction().map_err(backend)?;
    let current = current_revision(&tx)?;
    if at > current {
        return Err(StoreError::FutureRevision { requested: at, current });
    }
    if at < compacted {
        return Err(StoreError::Compacted { requested: at, compacted });
    }
    let end = prefix_end(&req.prefix);
    let lower = match &req.start_after {
        Some(k) if k.as_str() >= req.prefix.as_str() => k.clone(),
        _ => String::new(),
    };
    let limit = req.limit.map(|l| l as i64 + 1).unwrap_or(-1);
    let sql = "SELECT l.key, l.create_rev, l.rev, l.value FROM log AS l JOIN (
            SELECT key, MAX(rev) AS r FROM log WHERE key >= ?1 AND key > ?2 AND key < ?3 AND rev <= ?4 GROUP BY key
        ) AS m ON l.rev = m.r WHERE l.deleted = 0 ORDER BY l.key LIMIT ?5";
    let mut items = query_kvs(&tx, sql, params![req.prefix, lower, end, at, limit])?;
    let count_sql = "SELECT COUNT(*) FROM log AS l JOIN (
            SELECT key, MAX(rev) AS r FROM log WHERE key > ?1 AND key < ?2 AND rev <= ?3 GROUP BY key
        ) AS m ON l.rev = m.r WHERE l.deleted = 0";
    let remaining = cut_page(&tx, &mut items, req.limit, &end, count_sql, Some(at))?;
    Ok(ListResult { items, revision: at, remaining })
}

fn query_kvs(conn: &Connection, sql: &str, p: impl rusqlite::Params) -> StoreResult<Vec<KeyValue>> {
    let mut st = conn.prepare_cached(sql).map_err(backend)?;
    let rows = st
        .query_map(p, |r| {
            Ok(KeyValue {
                key: r.get(0)?,
                create_revision: r.get(1)?,
                mod_revision: r.get(2)?,
                value: Bytes::from(r.get::<_, Vec<u8>>(3)?),
            })
        })
        .map_err(backend)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(backend)
}

/// Trim a page fetched with one extra row to `limit`, and count what is left after it.
fn cut_page(
    conn: &Connection,
    items: &mut Vec<KeyValue>,
    limit: Option<usize>,
    end: &str,
    count_sql: &str,
    at: Option<Revision>,
) -> StoreResult<Option<i64>> {
    let Some(limit) = limit else { return Ok(None) };
    if items.len() <= limit {
        return Ok(None);
    }
    items.truncate(limit);
    let last = items.last().map(|kv| kv.key.clone()).unwrap_or_default();
    let mut st = conn.prepare_cached(count_sql).map_err(backend)?;
    let n: i64 = match at {
        None => st.query_row(params![last, end], |r| r.get(0)),
        Some(at) => st.query_row(params![last, end, at], |r| r.get(0)),
    }
    .map_err(backend)?;
    Ok(Some(n))
}

struct SqliteLog {
    readers: Arc<ReaderPool>,
    compacted: Arc<AtomicI64>,
}

impl LogReader for SqliteLog {
    fn read_after(&self, prefix: &str, after: Revision) -> BoxFuture<'_, StoreResult<(Vec<Event>, Revision)>> {
        let prefix = prefix.to_string();
        let compacted = self.compacted.load(Ordering::Acquire);
        async move {
            if after < compacted {
                return Err(StoreError::Compacted { requested: after, compacted });
            }
            self.readers
                .with(move |c| {
                    let tx = c.transaction().map_err(backend)?;
                    let current = current_revision(&tx)?;
                    if after > current {
                        return Err(StoreError::FutureRevision { requested: after, current });
                    }
                    let end = prefix_end(&prefix);
                    let mut st = tx
                        .prepare_cached(
                            "SELECT rev, key, created, deleted, value, prev_value FROM log \
                             WHERE rev > ?1 AND key >= ?2 AND key < ?3 ORDER BY rev",
                        )
                        .map_err(backend)?;
                    let rows = st
                        .query_map(params![after, prefix, end], |r| {
                            let created: bool = r.get(2)?;
                            let deleted: bool = r.get(3)?;
                            let value = Bytes::from(r.get::<_, Vec<u8>>(4)?);
                            let prev: Option<Vec<u8>> = r.get(5)?;
                            let kind = if deleted {
                                EventKind::Delete
                            } else if created {
                                EventKind::Create
                            } else {
                                EventKind::Update
                            };
                            let prev_value = if deleted { Some(value.clone()) } else { prev.map(Bytes::from) };
                            Ok(Event { kind, key: r.get(1)?, revision: r.get(0)?, value, prev_value })
                        })
                        .map_err(backend)?;
                    let events = rows.collect::<Result<Vec<_>, _>>().map_err(backend)?;
                    Ok((events, current))
                })
                .await
        }
        .boxed()
    }
}

fn expires_at(opts: &WriteOptions) -> Option<i64> {
    opts.ttl.map(|t| unix_now() + t.as_secs().max(1) as i64)
}

impl Store for SqliteStore {
    fn get(&self, key: &str) -> BoxFuture<'_, StoreResult<Option<KeyValue>>> {
        let key = key.to_string();
        async move { self.readers.with(move |c| current(c, &key)).await }.boxed()
    }

    fn list(&self, req: ListRequest) -> BoxFuture<'_, StoreResult<ListResult>> {
        let compacted = self.compacted.load(Ordering::Acquire);
        async move {
            self.readers
                .with(move |c| match req.revision {
                    None => list_latest(c, &req),
                    Some(at) => {
                        let latest = current_revision(c)?;
                        if at == latest { list_latest(c, &req) } else { list_at(c, &req, at, compacted) }
                    }
                })
                .await
        }
        .boxed()
    }

    fn count(&self, prefix: &str) -> BoxFuture<'_, StoreResult<i64>> {
        let prefix = prefix.to_string();
        async move {
            self.readers
                .with(move |c| {
                    c.prepare_cached("SELECT COUNT(*) FROM kv WHERE key >= ?1 AND key < ?2")
                        .and_then(|mut s| s.query_row(params![prefix, prefix_end(&prefix)], |r| r.get(0)))
                        .map_err(backend)
                })
                .await
        }
        .boxed()
    }

    fn create(&self, key: &str, value: Bytes, opts: WriteOptions) -> BoxFuture<'_, StoreResult<KeyValue>> {
        let op = Op::Create { key: key.to_string(), value, expires_at: expires_at(&opts) };
        self.write(op).boxed()
    }

    fn update(
        &self,
        key: &str,
        value: Bytes,
        expected: Revision,
        opts: WriteOptions,
    ) -> BoxFuture<'_, StoreResult<KeyValue>> {
        let op = Op::Update { key: key.to_string(), value, expected, expires_at: expires_at(&opts) };
        self.write(op).boxed()
    }

    fn delete(&self, key: &str, expected: Option<Revision>) -> BoxFuture<'_, StoreResult<KeyValue>> {
        self.write(Op::Delete { key: key.to_string(), expected }).boxed()
    }

    fn watch(&self, prefix: &str, after: Revision) -> BoxFuture<'_, StoreResult<WatchStream>> {
        let prefix = prefix.to_string();
        async move {
            let log = Arc::new(SqliteLog { readers: self.readers.clone(), compacted: self.compacted.clone() });
            self.hub.watch(log, &prefix, after).await
        }
        .boxed()
    }

    fn current_revision(&self) -> BoxFuture<'_, StoreResult<Revision>> {
        async move { self.readers.with(|c| current_revision(c)).await }.boxed()
    }

    fn compacted_revision(&self) -> Revision {
        self.compacted.load(Ordering::Acquire)
    }

    fn compact(&self, revision: Revision) -> BoxFuture<'_, StoreResult<()>> {
        async move { self.write(Op::Compact { revision }).await.map(|_| ()) }.boxed()
    }
}
