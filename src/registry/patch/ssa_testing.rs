//! Test fixtures for server-side apply and managedFields: schemas, realistic objects and
//! accessors for managedFields entries.

use std::sync::OnceLock;

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::registry::schema::{Node, Schemas};

/// The built-in schemas, with the list and map metadata of `patch_meta`.
pub fn schemas() -> &'static Schemas {
    static S: OnceLock<Schemas> = OnceLock::new();
    S.get_or_init(|| (*Schemas::builtin()).clone())
}

/// The schema node of a definition of [`schemas`].
pub fn node(def: &str) -> Node<'static> {
    schemas().node(def).expect("definition")
}

pub fn deployment_node() -> Node<'static> {
    node("io.k8s.api.apps.v1.Deployment")
}

/// A timestamp from RFC 3339 text.
pub fn ts(s: &str) -> Timestamp {
    s.parse().expect("timestamp")
}

/// The Deployment `kubectl create deployment nginx --image=nginx` sends, after the
/// server's defaulting.
pub fn created_deployment() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "nginx", "namespace": "default", "labels": {"app": "nginx"}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "nginx"}},
            "template": {
                "metadata": {"labels": {"app": "nginx"}},
                "spec": {
                    "containers": [{
                        "name": "nginx",
                        "image": "nginx",
                        "terminationMessagePath": "/dev/termination-log",
                        "terminationMessagePolicy": "File",
                        "imagePullPolicy": "Always"
                    }],
                    "restartPolicy": "Always",
                    "terminationGracePeriodSeconds": 30,
                    "dnsPolicy": "ClusterFirst",
                    "securityContext": {},
                    "schedulerName": "default-scheduler"
                }
            },
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600
        }
    })
}

/// `obj` as stored: with uid, resourceVersion and creationTimestamp.
pub fn stored(mut obj: Value) -> Value {
    obj["metadata"]["uid"] = json!("5b1a4ba5-3c7e-4a5e-9d43-3d1f1b0e2a11");
    obj["metadata"]["resourceVersion"] = json!("100");
    obj["metadata"]["creationTimestamp"] = json!("2024-05-01T10:00:00Z");
    obj["metadata"]["generation"] = json!(1);
    obj
}

/// The entries of an object's managedFields.
pub fn entries(obj: &Value) -> Vec<Value> {
    obj["metadata"]["managedFields"].as_array().cloned().unwrap_or_default()
}

/// The entry of `manager` (and operation).
pub fn entry<'a>(obj: &'a Value, manager: &str, operation: &str) -> &'a Value {
    obj["metadata"]["managedFields"]
        .as_array()
        .and_then(|l| l.iter().find(|e| e["manager"] == manager && e["operation"] == operation))
        .unwrap_or_else(|| panic!("no {operation} entry for {manager} in {}", obj["metadata"]["managedFields"]))
}
