//! Metadata the server owns and the semantics around it: optimistic concurrency (409
//! Conflict / AlreadyExists), generateName, uid and creationTimestamp, generation bumps on
//! spec changes only, `dryRun=All` on every verb, and list resourceVersion semantics.

use serde_json::{Value, json};

use crate::harness::{Server, VERSIONS};
use crate::util;

const CMS: &str = "/api/v1/namespaces/default/configmaps";
const DEPLOYS: &str = "/apis/apps/v1/namespaces/default/deployments";

fn deployment(name: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [{"name": "c", "image": "busybox:1"}]}}
        }
    })
}

#[tokio::test]
async fn optimistic_concurrency() {
    let s = Server::start();
    let c = s.client().await;
    let created = util::post(&c, CMS, &util::configmap("default", "x", json!({"v": "1"}))).await.ok(201);

    // Create of an existing name: 409 AlreadyExists.
    let st =
        util::post(&c, CMS, &util::configmap("default", "x", json!({"v": "other"}))).await.status(409, "AlreadyExists");
    assert_eq!(st["message"], r#"configmaps "x" already exists"#);
    assert_eq!(st["details"], json!({"name": "x", "kind": "configmaps"}));
    let st = util::post(&c, DEPLOYS, &deployment("d")).await;
    st.ok(201);
    let st = util::post(&c, DEPLOYS, &deployment("d")).await.status(409, "AlreadyExists");
    assert_eq!(st["message"], r#"deployments.apps "d" already exists"#);
    assert_eq!(st["details"], json!({"name": "d", "group": "apps", "kind": "deployments"}));

    // An update naming the current resourceVersion succeeds; a stale one gets 409 Conflict.
    let mut first = created.clone();
    first["data"]["v"] = "2".into();
    let updated = util::put(&c, &format!("{CMS}/x"), &first).await.ok(200);
    assert_ne!(util::rv(&updated), util::rv(&created));
    let mut stale = created.clone();
    stale["data"]["v"] = "3".into();
    let st = util::put(&c, &format!("{CMS}/x"), &stale).await.status(409, "Conflict");
    assert_eq!(
        st["message"],
        r#"Operation cannot be fulfilled on configmaps "x": the object has been modified; please apply your changes to the latest version and try again"#
    );
    assert_eq!(st["details"], json!({"name": "x", "kind": "configmaps"}));
    let live = util::get(&c, &format!("{CMS}/x")).await.ok(200);
    assert_eq!(live, updated, "the refused update changed nothing");

    // Without a resourceVersion a ConfigMap update is unconditional.
    let mut blind = created.clone();
    blind["metadata"].as_object_mut().unwrap().remove("resourceVersion");
    blind["data"]["v"] = "4".into();
    assert_eq!(util::put(&c, &format!("{CMS}/x"), &blind).await.ok(200)["data"]["v"], "4");

    // Two writers racing from the same read: exactly one wins.
    let base = util::get(&c, &format!("{CMS}/x")).await.ok(200);
    let write = |v: &'static str| {
        let mut body = base.clone();
        body["data"]["v"] = v.into();
        let c = c.clone();
        async move { util::put(&c, &format!("{CMS}/x"), &body).await.status }
    };
    let (a, b) = tokio::join!(write("a"), write("b"));
    let mut codes = [a, b];
    codes.sort();
    assert_eq!(codes, [200, 409]);
}

#[tokio::test]
async fn server_owned_metadata_and_generate_name() {
    let s = Server::start();
    let c = s.client().await;
    let mut body = util::configmap("default", "owned", json!({}));
    body["metadata"]["uid"] = "fake-uid".into();
    body["metadata"]["creationTimestamp"] = "2000-01-01T00:00:00Z".into();
    let created = util::post(&c, CMS, &body).await.ok(201);
    let uid = created["metadata"]["uid"].as_str().unwrap().to_string();
    assert_ne!(uid, "fake-uid", "{created}");
    assert_eq!(uid.len(), 36, "a UUID: {uid}");
    assert_ne!(created["metadata"]["creationTimestamp"], "2000-01-01T00:00:00Z", "{created}");
    assert!(created["metadata"]["resourceVersion"].is_string(), "{created}");

    // On update, creationTimestamp changes are ignored (uid: see update_with_another_uid_conflicts).
    let mut upd = created.clone();
    upd["metadata"]["creationTimestamp"] = "2000-01-01T00:00:00Z".into();
    let after = util::put(&c, &format!("{CMS}/owned"), &upd).await.ok(200);
    assert_eq!(after["metadata"]["creationTimestamp"], created["metadata"]["creationTimestamp"]);
    assert_eq!(after["metadata"]["uid"], created["metadata"]["uid"]);

    // generateName: a prefix and five random characters from the real server's alphabet.
    let mut names = Vec::new();
    for _ in 0..3 {
        let gen_body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "g-"}});
        let made = util::post(&c, CMS, &gen_body).await.ok(201);
        assert_eq!(made["metadata"]["generateName"], "g-", "{made}");
        let name = made["metadata"]["name"].as_str().unwrap().to_string();
        let suffix = name.strip_prefix("g-").unwrap_or_else(|| panic!("{name}"));
        assert_eq!(suffix.len(), 5, "{name}");
        assert!(suffix.chars().all(|ch| "bcdfghjklmnpqrstvwxz2456789".contains(ch)), "{name}");
        util::get(&c, &format!("{CMS}/{name}")).await.ok(200);
        names.push(name);
    }
    names.dedup();
    assert_eq!(names.len(), 3);
    // A name given with generateName wins.
    let both = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "fixed", "generateName": "g-"}});
    assert_eq!(util::post(&c, CMS, &both).await.ok(201)["metadata"]["name"], "fixed");
}

/// A uid in an update body is a precondition (upstream's `DefaultUpdatedObjectInfo`).
#[tokio::test]
async fn update_with_another_uid_conflicts() {
    let s = Server::start();
    let c = s.client().await;
    let mut upd = util::post(&c, CMS, &util::configmap("default", "owned", json!({}))).await.ok(201);
    upd["metadata"]["uid"] = "other-uid".into();
    upd["data"] = json!({"changed": "yes"});
    let st = util::put(&c, &format!("{CMS}/owned"), &upd).await.status(409, "Conflict");
    assert!(st["message"].as_str().unwrap().contains("Precondition failed: UID in precondition: other-uid"), "{st}");
    assert_eq!(util::get(&c, &format!("{CMS}/owned")).await.ok(200)["data"], json!({}));
}

#[tokio::test]
async fn generation_bumps_on_spec_changes_only() {
    let s = Server::start();
    let c = s.client().await;
    let path = format!("{DEPLOYS}/g");
    let gen_of = |v: &Value| v["metadata"]["generation"].as_i64().unwrap_or_else(|| panic!("no generation: {v}"));
    let d = util::post(&c, DEPLOYS, &deployment("g")).await.ok(201);
    assert_eq!(gen_of(&d), 1);

    // Metadata changes: no bump.
    let d = util::patch(
        &c,
        &path,
        "application/merge-patch+json",
        &json!({"metadata": {"labels": {"a": "b"}, "annotations": {"n": "x"}}}),
    )
    .await
    .ok(200);
    assert_eq!(gen_of(&d), 1);
    // Status changes through /status: no bump.
    let d = util::patch(
        &c,
        &format!("{path}/status"),
        "application/merge-patch+json",
        &json!({"status": {"observedGeneration": 1, "replicas": 1}}),
    )
    .await
    .ok(200);
    assert_eq!(gen_of(&d), 1);
    assert_eq!(d["status"]["replicas"], 1);
    // A client cannot set generation itself.
    let d =
        util::patch(&c, &path, "application/merge-patch+json", &json!({"metadata": {"generation": 42}})).await.ok(200);
    assert_eq!(gen_of(&d), 1);
    // A no-op update: no bump, no new resourceVersion.
    let same = util::put(&c, &path, &d).await.ok(200);
    assert_eq!(gen_of(&same), 1);
    assert_eq!(util::rv(&same), util::rv(&d), "a no-op update writes nothing");

    // Spec changes bump it, whatever the verb.
    let d = util::patch(
        &c,
        &path,
        "application/strategic-merge-patch+json",
        &json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox:2"}]}}}}),
    )
    .await
    .ok(200);
    assert_eq!(gen_of(&d), 2);
    let mut upd = d.clone();
    upd["spec"]["replicas"] = 3.into();
    assert_eq!(gen_of(&util::put(&c, &path, &upd).await.ok(200)), 3);
    let scale = json!({"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": {"name": "g", "namespace": "default"}, "spec": {"replicas": 5}});
    util::put(&c, &format!("{path}/scale"), &scale).await.ok(200);
    let d = util::get(&c, &path).await.ok(200);
    assert_eq!(gen_of(&d), 4);
    assert_eq!(d["spec"]["replicas"], 5);
    // The status kept what /status wrote.
    assert_eq!(d["status"]["replicas"], 1);

    // kubectl sees the same numbers.
    for v in VERSIONS {
        let k = s.kubectl(v);
        assert_eq!(k.ok(&["get", "deploy", "g", "-o", "jsonpath={.metadata.generation}"]), "4", "kubectl {v}");
        k.ok(&["annotate", "deploy", "g", &format!("seen-by-{}=yes", v.replace('.', "-"))]);
        assert_eq!(k.ok(&["get", "deploy", "g", "-o", "jsonpath={.metadata.generation}"]), "4", "kubectl {v}");
    }
}

#[tokio::test]
async fn dry_run_on_every_verb_stores_nothing() {
    let s = Server::start();
    let c = s.client().await;
    let snapshot = || {
        let c = c.clone();
        // (Leaving out the root CA the controllers publish, whenever they do.)
        async move { util::get(&c, &format!("{CMS}?{}", util::NOT_ROOT_CA_QUERY)).await.ok(200)["items"].clone() }
    };
    util::post(&c, CMS, &util::configmap("default", "real", json!({"v": "1"}))).await.ok(201);
    let before = snapshot().await;

    let made =
        util::post(&c, &format!("{CMS}?dryRun=All"), &util::configmap("default", "ghost", json!({}))).await.ok(201);
    assert!(made["metadata"]["uid"].is_string() && made["metadata"]["creationTimestamp"].is_string(), "{made}");
    util::get(&c, &format!("{CMS}/ghost")).await.status(404, "NotFound");
    // A dry run is still checked: an existing name is refused.
    util::post(&c, &format!("{CMS}?dryRun=All"), &util::configmap("default", "real", json!({})))
        .await
        .status(409, "AlreadyExists");

    let mut upd = util::get(&c, &format!("{CMS}/real")).await.ok(200);
    upd["data"]["v"] = "2".into();
    assert_eq!(util::put(&c, &format!("{CMS}/real?dryRun=All"), &upd).await.ok(200)["data"]["v"], "2");
    let patched = util::patch(
        &c,
        &format!("{CMS}/real?dryRun=All"),
        "application/merge-patch+json",
        &json!({"data": {"v": "3"}}),
    )
    .await
    .ok(200);
    assert_eq!(patched["data"]["v"], "3");
    let apply = b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: real}\ndata: {v: '4'}\n".to_vec();
    util::send(
        &c,
        "PATCH",
        &format!("{CMS}/real?dryRun=All&fieldManager=m&force=true"),
        Some("application/apply-patch+yaml"),
        apply,
    )
    .await
    .ok(200);
    util::send(&c, "DELETE", &format!("{CMS}/real?dryRun=All"), None, Vec::new()).await.ok(200);

    assert_eq!(snapshot().await, before);
}

/// A dry run goes through the same checks as the real write.
#[tokio::test]
async fn dry_run_create_of_an_existing_name() {
    let s = Server::start();
    let c = s.client().await;
    util::post(&c, CMS, &util::configmap("default", "real", json!({}))).await.ok(201);
    let st = util::post(&c, &format!("{CMS}?dryRun=All"), &util::configmap("default", "real", json!({})))
        .await
        .status(409, "AlreadyExists");
    assert_eq!(st["message"], r#"configmaps "real" already exists"#);
}

#[tokio::test]
async fn list_resource_version_semantics() {
    let s = Server::start();
    let c = s.client().await;
    util::post(&c, CMS, &util::configmap("default", "a", json!({}))).await.ok(201);
    let list1 = util::get(&c, CMS).await.ok(200);
    let rv1 = list1["metadata"]["resourceVersion"].as_str().unwrap().to_string();
    util::post(&c, CMS, &util::configmap("default", "b", json!({}))).await.ok(201);
    util::patch(&c, &format!("{CMS}/a"), "application/merge-patch+json", &json!({"data": {"v": "late"}})).await.ok(200);

    // The current list, and the list as it was at rv1.
    let now = util::get(&c, CMS).await.ok(200);
    assert_eq!(util::names(&now), ["a", "b"]);
    assert!(now["metadata"]["resourceVersion"].as_str().unwrap().parse::<u64>().unwrap() > rv1.parse::<u64>().unwrap());
    let then = util::get(&c, &format!("{CMS}?resourceVersion={rv1}&resourceVersionMatch=Exact")).await.ok(200);
    assert_eq!(util::names(&then), ["a"], "{then}");
    let old_a = then["items"].as_array().unwrap().iter().find(|i| i["metadata"]["name"] == "a").unwrap();
    assert!(old_a["data"].get("v").is_none(), "the old state of a: {then}");
    assert_eq!(then["metadata"]["resourceVersion"], rv1.as_str());
    // resourceVersion=0: any state is fine; NotOlderThan an old revision: at least that new.
    util::get(&c, &format!("{CMS}?resourceVersion=0")).await.ok(200);
    let newer = util::get(&c, &format!("{CMS}?resourceVersion={rv1}&resourceVersionMatch=NotOlderThan")).await.ok(200);
    assert!(
        newer["metadata"]["resourceVersion"].as_str().unwrap().parse::<u64>().unwrap() >= rv1.parse::<u64>().unwrap()
    );
    // resourceVersionMatch without resourceVersion is invalid for a list.
    let st = util::get(&c, &format!("{CMS}?resourceVersionMatch=Exact")).await.status(422, "Invalid");
    assert!(
        st["message"].as_str().unwrap().contains(
            "resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided"
        ),
        "{st}"
    );
    // A single object at resourceVersion 0 is served too.
    util::get(&c, &format!("{CMS}/a?resourceVersion=0")).await.ok(200);
}

/// A `field.Forbidden` error is reported with the cause reason `FieldValueForbidden`.
#[tokio::test]
async fn list_option_errors_have_forbidden_causes() {
    let s = Server::start();
    let c = s.client().await;
    let st = util::get(&c, &format!("{CMS}?resourceVersionMatch=Exact")).await.status(422, "Invalid");
    assert_eq!(
        st["details"]["causes"],
        json!([{
            "reason": "FieldValueForbidden",
            "message": "Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided",
            "field": "resourceVersionMatch"
        }]),
        "{st}"
    );
}
