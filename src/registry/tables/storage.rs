//! Printers of the storage.k8s.io group. (CSIStorageCapacities have a printer in printers.go,
//! but their storage registers the default table, so they are left to it.)

use serde_json::Value;

use super::descriptions as d;
use super::format::{Ctx, annotation, arr, at, boolean, name, s};
use super::{AGE, CellsFn, Column, NAME, col};

pub(super) fn printer(group: &str, resource: &str) -> Option<(&'static [Column], CellsFn)> {
    if group != "storage.k8s.io" {
        return None;
    }
    Some(match resource {
        "storageclasses" => (STORAGE_CLASS_COLUMNS, storage_class),
        "volumeattributesclasses" => (VAC_COLUMNS, volume_attributes_class),
        "volumeattachments" => (VOLUME_ATTACHMENT_COLUMNS, volume_attachment),
        "csinodes" => (CSI_NODE_COLUMNS, csi_node),
        "csidrivers" => (CSI_DRIVER_COLUMNS, csi_driver),
        _ => return None,
    })
}

const STORAGE_CLASS_COLUMNS: &[Column] = &[
    NAME,
    col("Provisioner", "string", d::SC_PROVISIONER),
    col("ReclaimPolicy", "string", d::SC_RECLAIM_POLICY),
    col("VolumeBindingMode", "string", d::SC_VOLUME_BINDING_MODE),
    col("AllowVolumeExpansion", "string", d::SC_ALLOW_VOLUME_EXPANSION),
    AGE,
];

fn storage_class(obj: &Value, ctx: &Ctx) -> Vec<Value> {
    let is_default =
        ["storageclass.kubernetes.io/is-default-class", "storageclass.beta.kubernetes.io/is-default-class"]
            .iter()
            .any(|k| annotation(obj, k) == Some("true"));
    let mut label = name(obj);
    if is_default {
        label.push_str(" (default)");
    }
    vec![
        label.into(),
        s(obj, &["provisioner"]).into(),
        at(obj, &["reclaimPolicy"]).and_then(Value::as_str).unwrap_or("Delete").into(),
        at(obj, &["volumeBindingMode"]).and_then(Value::as_str).unwrap_or("Immediate").into(),
        boolean(obj, &["allowVolumeExpansion"]).into(),
        ctx.age(obj).into(),
    ]
}

const VAC_COLUMNS: &[Column] = &[NAME, col("DriverName", "string", d::VAC_DRIVER_NAME), AGE];

fn volume_attributes_class(obj: &Value, ctx: &Ctx) -> Vec<Value> {
    let mut label = name(obj);
    if annotation(obj, "volumeattributesclass.alpha.kubernetes.io/is-default-class") == Some("true") {
        label.push_str(" (default)");
    }
    vec![label.into(), s(obj, &["driverName"]).into(), ctx.age(obj).into()]
}

const VOLUME_ATTACHMENT_COLUMNS: &[Column] = &[
    NAME,
    Column { format: "name", ..col("Attacher", "string", d::VA_SPEC_ATTACHER) },
    col("PV", "string", d::VA_SOURCE_PV_NAME),
    col("Node", "string", d::VA_SPEC_NODE_NAME),
    col("Attached", "boolean", d::VA_STATUS_ATTACHED),
    AGE,
];

fn volume_attachment(obj: &Value, ctx: &Ctx) -> Vec<Value> {
    vec![
        name(obj).into(),
        s(obj, &["spec", "attacher"]).into(),
        s(obj, &["spec", "source", "persistentVolumeName"]).into(),
        s(obj, &["spec", "nodeName"]).into(),
        boolean(obj, &["status", "attached"]).into(),
        ctx.age(obj).into(),
    ]
}

const CSI_NODE_COLUMNS: &[Column] =
    &[NAME, col("Drivers", "integer", "Drivers indicates the number of CSI drivers registered on the node"), AGE];

fn csi_node(obj: &Value, ctx: &Ctx) -> Vec<Value> {
    vec![name(obj).into(), (arr(obj, &["spec", "drivers"]).len() as i64).into(), ctx.age(obj).into()]
}

const CSI_DRIVER_COLUMNS: &[Column] = &[
    NAME,
    col("AttachRequired", "boolean", d::CSI_DRIVER_ATTACH_REQUIRED),
    col("PodInfoOnMount", "boolean", d::CSI_DRIVER_POD_INFO_ON_MOUNT),
    col("StorageCapacity", "boolean", d::CSI_DRIVER_STORAGE_CAPACITY),
    col("TokenRequests", "string", d::CSI_DRIVER_TOKEN_REQUESTS),
    col("RequiresRepublish", "boolean", d::CSI_DRIVER_REQUIRES_REPUBLISH),
    col("Modes", "string", d::CSI_DRIVER_MODES),
    AGE,
];

fn csi_driver(obj: &Value, ctx: &Ctx) -> Vec<Value> {
    let attach_required = at(obj, &["spec", "attachRequired"]).and_then(Value::as_bool).unwrap_or(true);
    let modes: Vec<&str> =
        arr(obj, &["spec", "volumeLifecycleModes"]).iter().map(|m| m.as_str().unwrap_or("")).collect();
    let modes = if modes.is_empty() { "<none>".to_string() } else { modes.join(",") };
    let tokens = at(obj, &["spec", "tokenRequests"]).and_then(Value::as_array).map_or_else(
        || "<unset>".to_string(),
        |ts| ts.iter().map(|t| s(t, &["audience"])).collect::<Vec<_>>().join(","),
    );
    vec![
        name(obj).into(),
        attach_required.into(),
        boolean(obj, &["spec", "podInfoOnMount"]).into(),
        boolean(obj, &["spec", "storageCapacity"]).into(),
        tokens.into(),
        boolean(obj, &["spec", "requiresRepublish"]).into(),
        modes.into(),
        ctx.age(obj).into(),
    ]
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::tests::now;
    use super::*;

    fn row(resource: &str, obj: Value) -> Vec<Value> {
        super::super::cells("storage.k8s.io", resource, &obj, now())
    }

    #[test]
    fn storage_classes() {
        let sc = json!({"metadata": {"name": "local-path", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            "provisioner": "rancher.io/local-path", "reclaimPolicy": "Delete", "volumeBindingMode": "WaitForFirstConsumer"});
        assert_eq!(
            row("storageclasses", sc),
            vec![
                json!("local-path (default)"),
                json!("rancher.io/local-path"),
                json!("Delete"),
                json!("WaitForFirstConsumer"),
                json!(false),
                json!("<unknown>")
            ]
        );
        let bare = json!({"metadata": {"name": "x"}, "provisioner": "p", "allowVolumeExpansion": true});
        assert_eq!(
            row("storageclasses", bare)[..5],
            [json!("x"), json!("p"), json!("Delete"), json!("Immediate"), json!(true)]
        );
    }

    #[test]
    fn csi_objects() {
        let drv = json!({"metadata": {"name": "csi.example.com"}, "spec": {"podInfoOnMount": true,
            "volumeLifecycleModes": ["Persistent", "Ephemeral"], "tokenRequests": [{"audience": "vault"}, {"audience": ""}]}});
        assert_eq!(
            row("csidrivers", drv),
            vec![
                json!("csi.example.com"),
                json!(true),
                json!(true),
                json!(false),
                json!("vault,"),
                json!(false),
                json!("Persistent,Ephemeral"),
                json!("<unknown>")
            ]
        );
        let bare = json!({"metadata": {"name": "d"}, "spec": {"attachRequired": false}});
        assert_eq!(
            row("csidrivers", bare)[1..7],
            [json!(false), json!(false), json!(false), json!("<unset>"), json!(false), json!("<none>")]
        );
        let node = json!({"metadata": {"name": "n1"}, "spec": {"drivers": [{"name": "a"}, {"name": "b"}]}});
        assert_eq!(row("csinodes", node)[1], json!(2));
        let va = json!({"metadata": {"name": "csi-123"}, "spec": {"attacher": "csi.example.com", "nodeName": "n1",
            "source": {"persistentVolumeName": "pv1"}}, "status": {"attached": true}});
        assert_eq!(
            row("volumeattachments", va)[..5],
            [json!("csi-123"), json!("csi.example.com"), json!("pv1"), json!("n1"), json!(true)]
        );
        assert_eq!(columns_of("volumeattachments")[1].format, "name");
    }

    fn columns_of(resource: &str) -> &'static [Column] {
        super::super::columns("storage.k8s.io", resource)
    }
}
