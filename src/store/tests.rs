//! Tests of the SQLite store: revisions, preconditions, lists at revisions,
//! watch resume, compaction, TTLs, and durability across a killed writer.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::sqlite::SqliteStore;
use super::*;

fn open(dir: &tempfile::TempDir) -> Arc<SqliteStore> {
    SqliteStore::open(&dir.path().join("state.db")).expect("open store")
}

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

#[tokio::test]
async fn writes_and_preconditions() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    let a = s.create("/cm/ns/a", b("1"), WriteOptions::default()).await.unwrap();
    assert_eq!(a.create_revision, a.mod_revision);
    assert_eq!(s.create("/cm/ns/a", b("x"), WriteOptions::default()).await, Err(StoreError::AlreadyExists));
    let a2 = s.update("/cm/ns/a", b("2"), a.mod_revision, WriteOptions::default()).await.unwrap();
    assert!(a2.mod_revision > a.mod_revision);
    assert_eq!(a2.create_revision, a.create_revision);
    // A stale precondition fails and reports the current value.
    match s.update("/cm/ns/a", b("3"), a.mod_revision, WriteOptions::default()).await {
        Err(StoreError::Conflict(Some(cur))) => assert_eq!(cur.value, b("2")),
        other => panic!("expected conflict, got {other:?}"),
    }
    assert_eq!(s.update("/cm/ns/zz", b("3"), 1, WriteOptions::default()).await, Err(StoreError::NotFound));
    let got = s.get("/cm/ns/a").await.unwrap().unwrap();
    assert_eq!(got.value, b("2"));
    let del = s.delete("/cm/ns/a", Some(a2.mod_revision)).await.unwrap();
    assert!(del.mod_revision > a2.mod_revision);
    assert_eq!(del.value, b("2"));
    assert_eq!(s.get("/cm/ns/a").await.unwrap(), None);
    assert_eq!(s.delete("/cm/ns/a", None).await, Err(StoreError::NotFound));
    assert_eq!(s.current_revision().await.unwrap(), del.mod_revision);
}

#[tokio::test]
async fn lists_pages_and_history() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    for i in 0..10 {
        s.create(&format!("/cm/ns/k{i}"), b(&i.to_string()), WriteOptions::default()).await.unwrap();
    }
    s.create("/cm/other/k", b("o"), WriteOptions::default()).await.unwrap();
    s.create("/cmx/ns/k", b("x"), WriteOptions::default()).await.unwrap();
    let all = s.list(ListRequest { prefix: "/cm/ns/".into(), ..Default::default() }).await.unwrap();
    assert_eq!(all.items.len(), 10);
    assert_eq!(all.remaining, None);
    let at = all.revision;

    let page = s.list(ListRequest { prefix: "/cm/".into(), limit: Some(4), ..Default::default() }).await.unwrap();
    assert_eq!(page.items.len(), 4);
    assert_eq!(page.remaining, Some(7));

    // Change things, then read the old state page by page at the old revision.
    s.delete("/cm/ns/k3", None).await.unwrap();
    s.create("/cm/ns/k35", b("new"), WriteOptions::default()).await.unwrap();
    let cur = s.get("/cm/ns/k5").await.unwrap().unwrap();
    s.update("/cm/ns/k5", b("changed"), cur.mod_revision, WriteOptions::default()).await.unwrap();
    let mut keys = Vec::new();
    let mut start = None;
    loop {
        let p = s
            .list(ListRequest {
                prefix: "/cm/ns/".into(),
                start_after: start.clone(),
                limit: Some(3),
                revision: Some(at),
            })
            .await
            .unwrap();
        assert_eq!(p.revision, at);
        for kv in &p.items {
            if kv.key == "/cm/ns/k5" {
                assert_eq!(kv.value, b("5"));
            }
        }
        keys.extend(p.items.iter().map(|kv| kv.key.clone()));
        if p.remaining.is_none() {
            break;
        }
        start = keys.last().cloned();
    }
    let expected: Vec<String> = (0..10).map(|i| format!("/cm/ns/k{i}")).collect();
    assert_eq!(keys, expected);
    let now = s.list(ListRequest { prefix: "/cm/ns/".into(), ..Default::default() }).await.unwrap();
    assert!(now.items.iter().any(|kv| kv.key == "/cm/ns/k35"));
    assert!(!now.items.iter().any(|kv| kv.key == "/cm/ns/k3"));
    assert_eq!(s.count("/cm/ns/").await.unwrap(), 10);
    let future =
        s.list(ListRequest { prefix: "/cm/".into(), revision: Some(now.revision + 100), ..Default::default() });
    assert!(matches!(future.await, Err(StoreError::FutureRevision { .. })));
}

async fn next_event(w: &mut WatchStream) -> Arc<Event> {
    tokio::time::timeout(Duration::from_secs(5), w.next()).await.expect("event in time").expect("open").expect("ok")
}

#[tokio::test]
async fn watch_replays_then_follows_without_gaps_or_repeats() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    let first = s.create("/cm/ns/a", b("1"), WriteOptions::default()).await.unwrap();
    s.update("/cm/ns/a", b("2"), first.mod_revision, WriteOptions::default()).await.unwrap();
    s.create("/pods/ns/p", b("p"), WriteOptions::default()).await.unwrap();
    let mut w = s.watch("/cm/", first.mod_revision).await.unwrap();
    let e = next_event(&mut w).await;
    assert_eq!((e.kind, e.value.clone(), e.prev_value.clone()), (EventKind::Update, b("2"), Some(b("1"))));
    // Live events after the replay.
    let c = s.create("/cm/ns/c", b("c"), WriteOptions::default()).await.unwrap();
    let e = next_event(&mut w).await;
    assert_eq!((e.kind, e.revision), (EventKind::Create, c.mod_revision));
    let d = s.delete("/cm/ns/c", None).await.unwrap();
    let e = next_event(&mut w).await;
    assert_eq!((e.kind, e.revision, e.value.clone()), (EventKind::Delete, d.mod_revision, b("c")));
    // A write elsewhere moves the watch's progress without an event.
    let other = s.create("/pods/ns/q", b("q"), WriteOptions::default()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(w.progress(), other.mod_revision);
}

#[tokio::test]
async fn slow_watcher_catches_up_from_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    let start = s.current_revision().await.unwrap();
    let mut w = s.watch("/cm/", start).await.unwrap();
    // More events than the broadcast channel holds, written concurrently.
    let mut tasks = Vec::new();
    for t in 0..8 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..700 {
                s.create(&format!("/cm/ns/{t}-{i}"), b("v"), WriteOptions::default()).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let mut last = start;
    for _ in 0..5600 {
        let e = next_event(&mut w).await;
        assert!(e.revision > last, "revisions strictly increase");
        last = e.revision;
    }
    assert_eq!(last, s.current_revision().await.unwrap());
}

#[tokio::test]
async fn compaction_keeps_state_and_refuses_old_revisions() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    let a = s.create("/cm/ns/a", b("1"), WriteOptions::default()).await.unwrap();
    let a2 = s.update("/cm/ns/a", b("2"), a.mod_revision, WriteOptions::default()).await.unwrap();
    s.create("/cm/ns/gone", b("g"), WriteOptions::default()).await.unwrap();
    let gone = s.delete("/cm/ns/gone", None).await.unwrap();
    let mid = s.current_revision().await.unwrap();
    let a3 = s.update("/cm/ns/a", b("3"), a2.mod_revision, WriteOptions::default()).await.unwrap();
    s.compact(mid).await.unwrap();
    assert_eq!(s.compacted_revision(), mid);
    assert!(matches!(s.watch("/cm/", a.mod_revision).await, Err(StoreError::Compacted { .. })));
    let old = s.list(ListRequest { prefix: "/cm/".into(), revision: Some(a2.mod_revision), ..Default::default() });
    assert!(matches!(old.await, Err(StoreError::Compacted { .. })));
    // The state at the compaction revision is still readable, and so is everything after.
    let at_mid =
        s.list(ListRequest { prefix: "/cm/".into(), revision: Some(mid), ..Default::default() }).await.unwrap();
    assert_eq!(at_mid.items.len(), 1);
    assert_eq!(at_mid.items[0].value, b("2"));
    let mut w = s.watch("/cm/", mid).await.unwrap();
    let e = next_event(&mut w).await;
    assert_eq!((e.revision, e.prev_value.clone()), (a3.mod_revision, Some(b("2"))));
    assert!(gone.mod_revision <= mid);
}

#[tokio::test]
async fn state_and_revisions_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let last = {
        let s = open(&dir);
        s.create("/cm/ns/keep", b("k"), WriteOptions::default()).await.unwrap();
        s.create("/cm/ns/tmp", b("t"), WriteOptions::default()).await.unwrap();
        let d = s.delete("/cm/ns/tmp", None).await.unwrap();
        s.compact(d.mod_revision).await.unwrap();
        d.mod_revision
    };
    let s = open(&dir);
    assert_eq!(s.current_revision().await.unwrap(), last);
    assert_eq!(s.compacted_revision(), last);
    let n = s.create("/cm/ns/new", b("n"), WriteOptions::default()).await.unwrap();
    assert!(n.mod_revision > last, "revisions are never reused");
    assert!(s.get("/cm/ns/keep").await.unwrap().is_some());
}

#[tokio::test]
async fn ttl_keys_expire() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(&dir);
    s.create("/ev/ns/e", b("e"), WriteOptions { ttl: Some(Duration::from_secs(1)) }).await.unwrap();
    s.create("/ev/ns/f", b("f"), WriteOptions::default()).await.unwrap();
    assert_eq!(s.reap_expired().await.unwrap(), 0);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(s.reap_expired().await.unwrap(), 1);
    assert!(s.get("/ev/ns/e").await.unwrap().is_none());
    assert!(s.get("/ev/ns/f").await.unwrap().is_some());
}

/// Runs only as the child of `acknowledged_writes_survive_kill_9`: writes keys
/// forever, printing each one once the store has acknowledged it.
#[test]
fn crash_child() {
    let Ok(path) = std::env::var("CORACLE_CRASH_DB") else { return };
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let s = SqliteStore::open(std::path::Path::new(&path)).unwrap();
        let mut tasks = Vec::new();
        for t in 0..4 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0.. {
                    let key = format!("/cm/ns/{t}-{i}");
                    s.create(&key, b("v"), WriteOptions::default()).await.unwrap();
                    println!("acked {key}");
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
}

#[test]
fn acknowledged_writes_survive_kill_9() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "store::tests::crash_child", "--nocapture", "--test-threads=1"])
        .env("CORACLE_CRASH_DB", &db)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut acked = Vec::new();
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(k) = line.strip_prefix("acked ") {
            acked.push(k.to_string());
            if acked.len() == 400 {
                child.kill().unwrap(); // SIGKILL
                break;
            }
        }
    }
    child.wait().unwrap();
    assert_eq!(acked.len(), 400);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let s = SqliteStore::open(&db).unwrap();
        for k in &acked {
            assert!(s.get(k).await.unwrap().is_some(), "acknowledged write {k} lost");
        }
    });
}
