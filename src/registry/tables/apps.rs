//! Printers of the apps group.

use serde_json::Value;

use super::descriptions as d;
use super::format::{
    Ctx, arr, at, containers, format_label_selector, format_labels, group_qualified, int, map, name, selector_string,
};
use super::{AGE, CONTAINERS, CellsFn, Column, IMAGES, NAME, col, wide};

pub(super) fn printer(group: &str, resource: &str) -> Option<(&'static [Column], CellsFn)> {
    if group != "apps" {
        return None;
    }
    Some(match resource {
        "deployments" => (DEPLOYMENT_COLUMNS, deployment),
        "replicasets" => (REPLICA_SET_COLUMNS, replica_set),
        "statefulsets" => (STATEFUL_SET_COLUMNS, stateful_set),
        "daemonsets" => (DAEMON_SET_COLUMNS, daemon_set),
        "controllerrevisions" => (CONTROLLER_REVISION_COLUMNS, controller_revision),
        _ => return None,
    })
}

fn template_containers(obj: &Value) -> (String, String) {
    containers(arr(obj, &["spec", "template", "spec", "containers"]))
}

const DEPLOYMENT_COLUMNS: &[Column] = &[
    NAME,
    col("Ready", "string", "Number of the pod with ready state"),
    col("Up-to-date", "string", d::EXT_DEPLOY_STATUS_UPDATED),
    col("Available", "string", d::EXT_DEPLOY_STATUS_AVAILABLE),
    AGE,
    CONTAINERS,
    IMAGES,
    wide("Selector", "string", d::EXT_DEPLOY_SPEC_SELECTOR),
];

fn deployment(obj: &Value, ctx: &Ctx) -> Vec<Value> {
    let (names, images) = template_containers(obj);
    let selector = selector_string(at(obj, &["spec", "selector"])).unwrap_or_else(|_| "<invalid>".to_string());
    vec![
        name(obj).into(),
        format!("{}/{}", int(obj, &["status", "readyReplicas"]), int(obj, &["spec", "replicas"])).into(),
        int(obj, &["status", "updatedReplicas"]).into(),
        int(obj, &["status", "availableReplicas"]).into(),
        ctx.age(obj).into(),
        names.into(),
        images.into(),
        selector.into(),
    ]
}

const REPLICA_SET_COLUMNS: &[Column] = &[
    NAME,
    col("Desired", "integer", d::EXT_RS_SPEC_REPLICAS),
    col("Current", "integer", d::EXT_RS_STATUS_REPLICAS),
    col("Ready", "integer", d::EXT_RS_STATUS_READY_REPLICAS),
    AGE,
    CONTAINERS,
    IMAGES,
    wide("Selector", "string", d::EXT_RS_SPEC_SELECTOR),
];

fn replica_set(obj: &Value, ctx: &Ctx) -> Vec<Value> {
    let (names, images) = template_containers(obj);
    vec![
        name(obj).into(),
        int(obj, &["spec", "replicas"]).into(),
        int(obj, &["status", "replicas"]).into(),
        int(obj, &["status", "readyReplicas"]).into(),
        ctx.age(obj).into(),
        names.into(),
        images.into(),
        format_label_selector(at(obj, &["spec", "selector"])).into(),
    ]
}

const STATEFUL_SET_COLUMNS: &[Column] =
    &[NAME, col("Ready", "string", "Number of the pod with ready state"), AGE, CONTAINERS, IMAGES];

fn stateful_set(obj: &Value, ctx: &Ctx) -> Vec<Value> {
    let (names, images) = template_containers(obj);
    vec![
        name(obj).into(),
        format!("{}/{}", int(obj, &["status", "readyReplicas"]), int(obj, &["spec", "replicas"])).into(),
        ctx.age(obj).into(),
        names.into(),
        images.into(),
    ]
}

const DAEMON_SET_COLUMNS: &[Column] = &[
    NAME,
    col("Desired", "integer", d::EXT_DS_STATUS_DESIRED),
    col("Current", "integer", d::EXT_DS_STATUS_CURRENT),
    col("Ready", "integer", d::EXT_DS_STATUS_READY),
    col("Up-to-date", "integer", d::EXT_DS_STATUS_UPDATED),
    col("Available", "integer", d::EXT_DS_STATUS_AVAILABLE),
    col("Node Selector", "string", d::POD_SPEC_NODE_SELECTOR),
    AGE,
    CONTAINERS,
    IMAGES,
    wide("Selector", "string", d::EXT_DS_SPEC_SELECTOR),
];

fn daemon_set(obj: &Value, ctx: &Ctx) -> Vec<Value> {
    let (names, images) = template_containers(obj);
    let status = |f: &str| int(obj, &["status", f]);
    vec![
        name(obj).into(),
        status("desiredNumberScheduled").into(),
        status("currentNumberScheduled").into(),
        status("numberReady").into(),
        status("updatedNumberScheduled").into(),
        status("numberAvailable").into(),
        format_labels(map(obj, &["spec", "template", "spec", "nodeSelector"])).into(),
        ctx.age(obj).into(),
        names.into(),
        images.into(),
        format_label_selector(at(obj, &["spec", "selector"])).into(),
    ]
}

const CONTROLLER_REVISION_COLUMNS: &[Column] = &[
    NAME,
    col("Controller", "string", "Controller of the object"),
    col("Revision", "string", d::CONTROLLER_REVISION_REVISION),
    AGE,
];

/// The controlling owner as `kind.group/name` (lower-cased), `<none>` without one.
fn controller_of(obj: &Value) -> String {
    let owner = arr(obj, &["metadata", "ownerReferences"])
        .iter()
        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true));
    let Some(owner) = owner else { return "<none>".to_string() };
    let api_version = owner.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let group = api_version.split_once('/').map_or("", |(g, _)| g);
    let kind = owner.get("kind").and_then(Value::as_str).unwrap_or("");
    let owner_name = owner.get("name").and_then(Value::as_str).unwrap_or("");
    if group.is_empty() && kind.is_empty() {
        return owner_name.to_string();
    }
    format!("{}/{owner_name}", group_qualified(kind, group).to_lowercase())
}

fn controller_revision(obj: &Value, ctx: &Ctx) -> Vec<Value> {
    vec![name(obj).into(), controller_of(obj).into(), int(obj, &["revision"]).into(), ctx.age(obj).into()]
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::tests::now;
    use super::*;

    fn row(resource: &str, obj: Value) -> Vec<Value> {
        super::super::cells("apps", resource, &obj, now())
    }

    fn template() -> Value {
        json!({"spec": {"containers": [{"name": "web", "image": "nginx:1.27"}, {"name": "log", "image": "busybox"}]}})
    }

    #[test]
    fn deployments() {
        let dep = json!({
            "metadata": {"name": "web", "creationTimestamp": "2024-05-01T11:30:00Z"},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}}, "template": template()},
            "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}
        });
        assert_eq!(
            row("deployments", dep),
            vec![
                json!("web"),
                json!("2/3"),
                json!(3),
                json!(2),
                json!("30m"),
                json!("web,log"),
                json!("nginx:1.27,busybox"),
                json!("app=web")
            ]
        );
        let bare = json!({"metadata": {"name": "b"}});
        assert_eq!(row("deployments", bare)[7], json!(""));
        let bad = json!({"metadata": {"name": "b"}, "spec": {"selector": {"matchLabels": {"a": "b c"}}}});
        assert_eq!(row("deployments", bad)[7], json!("<invalid>"));
    }

    #[test]
    fn replica_and_daemon_sets() {
        let rs = json!({
            "metadata": {"name": "web-5d4f"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web", "pod-template-hash": "5d4f"}}, "template": template()},
            "status": {"replicas": 2, "readyReplicas": 1}
        });
        assert_eq!(
            row("replicasets", rs),
            vec![
                json!("web-5d4f"),
                json!(2),
                json!(2),
                json!(1),
                json!("<unknown>"),
                json!("web,log"),
                json!("nginx:1.27,busybox"),
                json!("app=web,pod-template-hash=5d4f")
            ]
        );
        let ds = json!({
            "metadata": {"name": "agent"},
            "spec": {"selector": {"matchExpressions": [{"key": "app", "operator": "Exists"}]},
                "template": {"spec": {"nodeSelector": {"kubernetes.io/os": "linux"}, "containers": [{"name": "a", "image": "i"}]}}},
            "status": {"desiredNumberScheduled": 2, "currentNumberScheduled": 2, "numberReady": 1, "updatedNumberScheduled": 2, "numberAvailable": 1}
        });
        assert_eq!(
            row("daemonsets", ds),
            vec![
                json!("agent"),
                json!(2),
                json!(2),
                json!(1),
                json!(2),
                json!(1),
                json!("kubernetes.io/os=linux"),
                json!("<unknown>"),
                json!("a"),
                json!("i"),
                json!("app")
            ]
        );
        let no_sel = json!({"metadata": {"name": "x"}});
        assert_eq!(
            row("daemonsets", no_sel)[6..],
            [json!("<none>"), json!("<unknown>"), json!(""), json!(""), json!("<none>")]
        );
    }

    #[test]
    fn stateful_sets_and_revisions() {
        let sts = json!({"metadata": {"name": "db"}, "spec": {"replicas": 3, "template": template()}, "status": {"readyReplicas": 3}});
        assert_eq!(row("statefulsets", sts)[..3], [json!("db"), json!("3/3"), json!("<unknown>")]);
        let cr = json!({"metadata": {"name": "db-7c9", "ownerReferences": [
            {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db", "controller": true}]}, "revision": 2});
        assert_eq!(row("controllerrevisions", cr)[..3], [json!("db-7c9"), json!("statefulset.apps/db"), json!(2)]);
        let orphan = json!({"metadata": {"name": "x"}, "revision": 1});
        assert_eq!(row("controllerrevisions", orphan)[1], json!("<none>"));
    }
}
