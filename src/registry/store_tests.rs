//! Registry-level tests over a real SQLite store: what a client sees when history
//! has been compacted or a resourceVersion is ahead of the store.

use std::sync::Arc;

use serde_json::json;

use super::list::{ListOptions, RvMatch};
use super::rest::Ctx;
use super::{Registry, RegistryConfig};
use crate::store::Store;
use crate::store::sqlite::SqliteStore;

async fn registry(dir: &tempfile::TempDir) -> (Arc<Registry>, Arc<SqliteStore>) {
    let store = SqliteStore::open(&dir.path().join("state.db")).unwrap();
    let reg = Registry::new(store.clone(), RegistryConfig::default());
    let ns = reg.resource("", "v1", "namespaces").unwrap();
    reg.create(
        &Ctx::system("test"),
        &ns,
        None,
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}}),
    )
    .await
    .unwrap();
    (reg, store)
}

fn cm(name: &str) -> serde_json::Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}})
}

#[tokio::test]
async fn compacted_revisions_are_expired_for_watch_and_exact_list() {
    let dir = tempfile::tempdir().unwrap();
    let (reg, store) = registry(&dir).await;
    let res = reg.resource("", "v1", "configmaps").unwrap();
    let ctx = Ctx::system("test");
    let first = reg.create(&ctx, &res, Some("default"), cm("a")).await.unwrap();
    let old_rv = first.object["metadata"]["resourceVersion"].as_str().unwrap().to_string();
    reg.create(&ctx, &res, Some("default"), cm("b")).await.unwrap();
    let now = store.current_revision().await.unwrap();
    store.compact(now).await.unwrap();

    let opts = ListOptions { resource_version: Some(old_rv.clone()), ..Default::default() };
    let Err(err) = reg.watch(&res, Some("default"), &opts).await else { panic!("expected 410") };
    assert_eq!((err.code, err.reason), (410, "Expired"));
    assert!(err.message.starts_with(&format!("too old resource version: {old_rv} (")), "{}", err.message);

    let exact = ListOptions {
        resource_version: Some(old_rv),
        resource_version_match: Some(RvMatch::Exact),
        ..Default::default()
    };
    let err = reg.list(&res, Some("default"), &exact).await.expect_err("expired");
    assert_eq!((err.code, err.reason), (410, "Expired"));

    // From the compaction revision on, everything still works.
    let opts = ListOptions { resource_version: Some(now.to_string()), ..Default::default() };
    let mut w = reg.watch(&res, Some("default"), &opts).await.unwrap();
    reg.create(&ctx, &res, Some("default"), cm("c")).await.unwrap();
    let ev = w.next().await.unwrap().unwrap();
    assert_eq!(ev.object["metadata"]["name"], "c");
}

#[tokio::test]
async fn future_resource_versions_time_out() {
    let dir = tempfile::tempdir().unwrap();
    let (reg, store) = registry(&dir).await;
    let res = reg.resource("", "v1", "configmaps").unwrap();
    let ahead = (store.current_revision().await.unwrap() + 100).to_string();
    let opts = ListOptions {
        resource_version: Some(ahead.clone()),
        resource_version_match: Some(RvMatch::NotOlderThan),
        ..Default::default()
    };
    let err = reg.list(&res, Some("default"), &opts).await.expect_err("too large");
    assert_eq!((err.code, err.reason), (504, "Timeout"));
    assert!(err.message.starts_with(&format!("Too large resource version: {ahead}")), "{}", err.message);
}

#[tokio::test]
async fn events_expire_and_other_kinds_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let (reg, _store) = registry(&dir).await;
    let events = reg.resource("", "v1", "events").unwrap();
    let new_events = reg.resource("events.k8s.io", "v1", "events").unwrap();
    assert_eq!(events.ttl, Some(std::time::Duration::from_secs(3600)));
    assert_eq!(new_events.storage_prefix, events.storage_prefix, "both Event APIs share storage");
    assert_eq!(reg.resource("", "v1", "configmaps").unwrap().ttl, None);
}
