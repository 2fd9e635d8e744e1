//! PersistentVolumes and PersistentVolumeClaims.

use serde_json::Value;

use super::pod::validate_node_selector;
use super::resources::{quantity_at, validate_basic_resource, validate_positive_quantity, validate_quantity_value};
use super::volumes::validate_pv_source;
use crate::registry::field_error::{FieldError, Path};
use crate::registry::validation::access::{Fields, metadata, semantic_eq};
use crate::registry::validation::meta::{self, MetaRules, SelectorOpts, validate_label_selector};
use crate::registry::validation::names;

const ACCESS_MODES: [&str; 4] = ["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"];
const RECLAIM_POLICIES: [&str; 3] = ["Delete", "Recycle", "Retain"];
const VOLUME_MODES: [&str; 2] = ["Block", "Filesystem"];
const PV_SOURCE_FIELDS: [&str; 22] = [
    "hostPath",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "glusterfs",
    "flocker",
    "nfs",
    "rbd",
    "quobyte",
    "cephfs",
    "iscsi",
    "cinder",
    "fc",
    "flexVolume",
    "azureFile",
    "vsphereVolume",
    "photonPersistentDisk",
    "portworxVolume",
    "azureDisk",
    "scaleIO",
    "local",
    "storageos",
    "csi",
];

fn access_modes(modes: &[&str], path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let (mut rwop, mut other) = (false, false);
    for m in modes {
        if !ACCESS_MODES.contains(m) {
            errs.push(FieldError::not_supported(path, *m, &ACCESS_MODES));
        }
        if *m == "ReadWriteOncePod" {
            rwop = true;
        } else if ACCESS_MODES.contains(m) {
            other = true;
        }
    }
    if rwop && other {
        errs.push(FieldError::forbidden(path, "may not use ReadWriteOncePod with other access modes"));
    }
    errs
}

fn class_name(v: &str, path: &Path) -> Vec<FieldError> {
    names::is_dns1123_subdomain(v).into_iter().map(|m| FieldError::invalid(path, v, m)).collect()
}

/// `ValidatePersistentVolumeClaimSpec`.
pub fn validate_pvc_spec(spec: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let modes = spec.strings("accessModes");
    if modes.is_empty() {
        errs.push(FieldError::required(path.child("accessModes"), "at least 1 access mode is required"));
    }
    if spec.has("selector") {
        errs.extend(validate_label_selector(spec.field("selector"), SelectorOpts::default(), &path.child("selector")));
    }
    errs.extend(access_modes(&modes, &path.child("accessModes")));
    let sp = path.child("resources").key("storage");
    match spec.field("resources").field("requests").field("storage") {
        None => errs.push(FieldError::required(&sp, "")),
        Some(v) => match quantity_at(v, &sp) {
            Err(e) => errs.push(*e),
            Ok(q) => {
                let pos = validate_positive_quantity(&q, &sp);
                if pos.is_empty() {
                    errs.extend(validate_quantity_value("storage", &q, &sp));
                } else {
                    errs.extend(pos);
                }
            }
        },
    }
    if let Some(sc) = spec.opt_str("storageClassName").filter(|s| !s.is_empty()) {
        errs.extend(class_name(sc, &path.child("storageClassName")));
    }
    if let Some(vm) = spec.opt_str("volumeMode")
        && !VOLUME_MODES.contains(&vm)
    {
        errs.push(FieldError::not_supported(path.child("volumeMode"), vm, &VOLUME_MODES));
    }
    if let Some(ds) = spec.obj("dataSource") {
        errs.extend(validate_data_source(ds, &path.child("dataSource"), false));
    }
    if let Some(dsr) = spec.obj("dataSourceRef") {
        errs.extend(validate_data_source(dsr, &path.child("dataSourceRef"), true));
    }
    let ref_ns = spec.field("dataSourceRef").str_of("namespace");
    if !ref_ns.is_empty() {
        if spec.has("dataSource") {
            errs.push(FieldError::invalid(
                path,
                path.child("dataSource").as_str(),
                "may not be specified when dataSourceRef.namespace is specified",
            ));
        }
    } else if let (Some(ds), Some(dsr)) = (spec.obj("dataSource"), spec.obj("dataSourceRef"))
        && !(ds.opt_str("apiGroup") == dsr.opt_str("apiGroup")
            && ds.str_of("kind") == dsr.str_of("kind")
            && ds.str_of("name") == dsr.str_of("name"))
    {
        errs.push(FieldError::invalid(path, path.child("dataSource").as_str(), "must match dataSourceRef"));
    }
    errs
}

fn validate_data_source(ds: &Value, path: &Path, is_ref: bool) -> Vec<FieldError> {
    let mut errs = Vec::new();
    if ds.str_of("name").is_empty() {
        errs.push(FieldError::required(path.child("name"), ""));
    }
    let kind = ds.str_of("kind");
    if kind.is_empty() {
        errs.push(FieldError::required(path.child("kind"), ""));
    }
    let group = ds.str_of("apiGroup");
    if group.is_empty() && kind != "PersistentVolumeClaim" {
        errs.push(FieldError::invalid(
            path,
            kind,
            "must be 'PersistentVolumeClaim' when referencing the default apiGroup",
        ));
    }
    if !group.is_empty() {
        errs.extend(
            names::is_dns1123_subdomain(group)
                .into_iter()
                .map(|m| FieldError::invalid(path.child("apiGroup"), group, m)),
        );
    }
    let ns = ds.str_of("namespace");
    if is_ref && !ns.is_empty() {
        errs.extend(
            names::is_dns1123_label(ns).into_iter().map(|m| FieldError::invalid(path.child("namespace"), ns, m)),
        );
    }
    errs
}

fn pvc_rules() -> MetaRules {
    MetaRules { name: names::name_is_dns_subdomain, namespaced: Some(true), builtin: true }
}

/// PersistentVolumeClaim create and update.
pub fn validate_pvc(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let spec = obj.field("spec").unwrap_or(&Value::Null);
    let Some(old) = old else {
        let mut errs = meta::validate_object_meta(obj, pvc_rules());
        errs.extend(validate_pvc_spec(spec, &Path::new("spec")));
        return errs;
    };
    let mut errs = meta::validate_meta(obj, Some(old), pvc_rules());
    errs.extend(validate_pvc_spec(spec, &Path::new("spec")));
    let old_spec = old.field("spec").cloned().unwrap_or_default();
    let mut new_clone = spec.clone();
    let mut old_clone = old_spec.clone();
    if old_spec.str_of("volumeName").is_empty() {
        old_clone["volumeName"] = spec.field("volumeName").cloned().unwrap_or(Value::Null);
    }
    if old_spec.opt_str("storageClassName").is_none() && spec.opt_str("storageClassName").is_some() {
        old_clone["storageClassName"] = spec["storageClassName"].clone();
    }
    let bound = obj.field("status").str_of("phase") == "Bound";
    if bound && new_clone.field("resources").has("requests") {
        new_clone["resources"]["requests"]["storage"] =
            old_spec.field("resources").field("requests").field("storage").cloned().unwrap_or(Value::Null);
    }
    if !semantic_eq(&new_clone, &old_clone) {
        errs.push(FieldError::forbidden(
            "spec",
            "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims",
        ));
    }
    let storage = |v: &Value, path: &[&str]| {
        crate::registry::validation::access::path(v, path)
            .as_str()
            .and_then(|s| crate::registry::quantity::parse_quantity(s).ok())
    };
    let new_size = storage(spec, &["resources", "requests", "storage"]);
    let old_size = storage(&old_spec, &["resources", "requests", "storage"]);
    let status_size = storage(old, &["status", "capacity", "storage"])
        .unwrap_or_else(|| crate::registry::quantity::Quantity::from_units(0));
    if let (Some(n), Some(o)) = (new_size, old_size)
        && n < o
        && n <= status_size
    {
        errs.push(FieldError::forbidden(
            "spec.resources.requests.storage",
            "field can not be less than status.capacity",
        ));
    }
    errs.extend(meta::immutable(
        spec.field("volumeMode").unwrap_or(&Value::Null),
        old_spec.field("volumeMode").unwrap_or(&Value::Null),
        &Path::new("volumeMode"),
    ));
    errs
}

/// PersistentVolumeClaim `/status`.
pub fn validate_pvc_status(obj: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = meta::validate_object_meta_update(obj, old, true);
    if metadata(obj).str_of("resourceVersion").is_empty() {
        errs.push(FieldError::required("resourceVersion", ""));
    }
    if obj.field("spec").list("accessModes").is_empty() {
        errs.push(FieldError::required("Spec.accessModes", ""));
    }
    let cap = Path::new("status").child("capacity");
    for (k, v) in obj.field("status").entries("capacity") {
        match quantity_at(v, &cap.key(k)) {
            Ok(q) => errs.extend(validate_basic_resource(&q, &cap.key(k))),
            Err(e) => errs.push(*e),
        }
    }
    errs
}

/// `ValidatePersistentVolumeSpec` (not inline).
fn validate_pv_spec(spec: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let modes = spec.strings("accessModes");
    if modes.is_empty() {
        errs.push(FieldError::required(path.child("accessModes"), ""));
    }
    errs.extend(access_modes(&modes, &path.child("accessModes")));
    let capacity = spec.entries("capacity");
    let cp = path.child("capacity");
    if capacity.is_empty() {
        errs.push(FieldError::required(&cp, ""));
    }
    if !capacity.iter().any(|(k, _)| *k == "storage") || capacity.len() > 1 {
        errs.push(FieldError::not_supported(&cp, spec.field("capacity").cloned().unwrap_or(Value::Null), &["storage"]));
    }
    for (k, v) in &capacity {
        match quantity_at(v, &cp.key(k)) {
            Ok(q) => {
                errs.extend(validate_basic_resource(&q, &cp.key(k)));
                errs.extend(validate_positive_quantity(&q, &cp.key(k)));
            }
            Err(e) => errs.push(*e),
        }
    }
    let policy = spec.str_of("persistentVolumeReclaimPolicy");
    if !policy.is_empty() && !RECLAIM_POLICIES.contains(&policy) {
        errs.push(FieldError::not_supported(path.child("persistentVolumeReclaimPolicy"), policy, &RECLAIM_POLICIES));
    }
    let mut affinity = false;
    if let Some(na) = spec.obj("nodeAffinity") {
        affinity = true;
        match na.obj("required") {
            Some(req) => errs.extend(validate_node_selector(req, false, &path.child("nodeAffinity").child("required"))),
            None => errs.push(FieldError::required(
                path.child("nodeAffinity").child("required"),
                "must specify required node constraints",
            )),
        }
    }
    let (src_errs, local) = validate_pv_source(spec, path);
    errs.extend(src_errs);
    if local && !affinity {
        errs.push(FieldError::required(path.child("nodeAffinity"), "Local volume requires node affinity"));
    }
    let hp = spec.field("hostPath").str_of("path");
    if spec.has("hostPath") && hp.trim_end_matches('/').is_empty() && hp.starts_with('/') && policy == "Recycle" {
        errs.push(FieldError::forbidden(
            path.child("persistentVolumeReclaimPolicy"),
            "may not be 'recycle' for a hostPath mount of '/'",
        ));
    }
    let sc = spec.str_of("storageClassName");
    if !sc.is_empty() {
        errs.extend(class_name(sc, &path.child("storageClassName")));
    }
    if let Some(vm) = spec.opt_str("volumeMode")
        && !VOLUME_MODES.contains(&vm)
    {
        errs.push(FieldError::not_supported(path.child("volumeMode"), vm, &VOLUME_MODES));
    }
    errs
}

fn pv_rules() -> MetaRules {
    MetaRules { name: names::name_is_dns_subdomain, namespaced: Some(false), builtin: true }
}

/// PersistentVolume create and update.
pub fn validate_pv(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let spec = obj.field("spec").unwrap_or(&Value::Null);
    let mut errs = meta::validate_meta(obj, old, pv_rules());
    errs.extend(validate_pv_spec(spec, &Path::new("spec")));
    let Some(old) = old else { return errs };
    let old_spec = old.field("spec").unwrap_or(&Value::Null);
    let source = |s: &Value| {
        let mut out = serde_json::Map::new();
        for f in PV_SOURCE_FIELDS {
            if let Some(v) = s.field(f) {
                out.insert(f.into(), v.clone());
            }
        }
        Value::Object(out)
    };
    let (mut ns, os) = (source(spec), source(old_spec));
    if os.field("csi").is_some_and(|c| !c.has("controllerExpandSecretRef"))
        && let Some(csi) = ns.get_mut("csi").and_then(Value::as_object_mut)
    {
        csi.remove("controllerExpandSecretRef");
    }
    if !semantic_eq(&ns, &os) {
        errs.push(FieldError::forbidden(
            "spec.persistentvolumesource",
            "spec.persistentvolumesource is immutable after creation",
        ));
    }
    errs.extend(meta::immutable(
        spec.field("volumeMode").unwrap_or(&Value::Null),
        old_spec.field("volumeMode").unwrap_or(&Value::Null),
        &Path::new("volumeMode"),
    ));
    if let Some(old_na) = old_spec.field("nodeAffinity") {
        let new_na = spec.field("nodeAffinity").unwrap_or(&Value::Null);
        if !semantic_eq(new_na, old_na) {
            errs.push(FieldError::invalid(
                "nodeAffinity",
                new_na.clone(),
                "field is immutable, except for updating from beta label to GA",
            ));
        }
    }
    errs
}

/// PersistentVolume `/status`.
pub fn validate_pv_status(obj: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = meta::validate_object_meta_update(obj, old, true);
    if metadata(obj).str_of("resourceVersion").is_empty() {
        errs.push(FieldError::required("resourceVersion", ""));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn msgs(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(ToString::to_string).collect()
    }

    fn pvc() -> Value {
        json!({"metadata": {"name": "data", "namespace": "default", "uid": "u", "resourceVersion": "1"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}, "volumeMode": "Filesystem"},
            "status": {"phase": "Pending"}})
    }

    #[test]
    fn valid_pvc() {
        assert!(validate_pvc(&pvc(), None).is_empty());
    }

    #[test]
    fn pvc_mistakes() {
        let obj = json!({"metadata": {"name": "d", "namespace": "n"}, "spec": {"accessModes": ["ReadWriteSome"], "storageClassName": "Fast"}});
        let m = msgs(&validate_pvc(&obj, None));
        assert_eq!(
            m[0],
            "spec.accessModes: Unsupported value: \"ReadWriteSome\": supported values: \"ReadOnlyMany\", \"ReadWriteMany\", \"ReadWriteOnce\", \"ReadWriteOncePod\""
        );
        assert_eq!(m[1], "spec.resources[storage]: Required value");
        assert!(m[2].starts_with("spec.storageClassName: Invalid value: \"Fast\": a lowercase RFC 1123 subdomain"));
        let obj =
            json!({"metadata": {"name": "d", "namespace": "n"}, "spec": {"resources": {"requests": {"storage": "0"}}}});
        let m = msgs(&validate_pvc(&obj, None));
        assert_eq!(
            m,
            vec![
                "spec.accessModes: Required value: at least 1 access mode is required",
                "spec.resources[storage]: Invalid value: \"0\": must be greater than zero",
            ]
        );
    }

    #[test]
    fn pvc_spec_is_immutable() {
        let old = pvc();
        let mut new = pvc();
        new["spec"]["accessModes"] = json!(["ReadWriteMany"]);
        let m = msgs(&validate_pvc(&new, Some(&old)));
        assert_eq!(
            m,
            vec![
                "spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims"
            ]
        );
        let mut bound_old = pvc();
        bound_old["status"] = json!({"phase": "Bound", "capacity": {"storage": "1Gi"}});
        let mut grow = bound_old.clone();
        grow["spec"]["resources"]["requests"]["storage"] = json!("2Gi");
        assert!(validate_pvc(&grow, Some(&bound_old)).is_empty());
        let mut shrink = bound_old.clone();
        shrink["spec"]["resources"]["requests"]["storage"] = json!("500Mi");
        assert_eq!(
            msgs(&validate_pvc(&shrink, Some(&bound_old))),
            vec!["spec.resources.requests.storage: Forbidden: field can not be less than status.capacity"]
        );
    }

    #[test]
    fn pv() {
        let pv = json!({"metadata": {"name": "pv1"}, "spec": {"accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"},
            "hostPath": {"path": "/data", "type": ""}, "persistentVolumeReclaimPolicy": "Retain", "volumeMode": "Filesystem"}});
        assert!(validate_pv(&pv, None).is_empty());
        let bad = json!({"metadata": {"name": "pv1"}, "spec": {"accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}}});
        assert_eq!(msgs(&validate_pv(&bad, None)), vec!["spec: Required value: must specify a volume type"]);
        let local = json!({"metadata": {"name": "pv1"}, "spec": {"accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}, "local": {"path": "/mnt"}}});
        assert_eq!(
            msgs(&validate_pv(&local, None)),
            vec!["spec.nodeAffinity: Required value: Local volume requires node affinity"]
        );
    }
}
