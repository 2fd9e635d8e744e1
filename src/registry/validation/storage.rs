//! The `storage.k8s.io` group: StorageClasses, CSIDrivers, VolumeAttachments.

use serde_json::Value;

use super::access::{Fields, semantic_eq};
use super::core::volumes::validate_csi_driver_name;
use super::meta::{self, MetaRules};
use super::names;
use crate::registry::field_error::{FieldError, Path};

fn rules() -> MetaRules {
    MetaRules { name: names::name_is_dns_subdomain, namespaced: Some(false), builtin: true }
}

fn storage_class(obj: &Value) -> Vec<FieldError> {
    let mut errs = meta::validate_object_meta(obj, rules());
    let provisioner = obj.str_of("provisioner");
    if provisioner.is_empty() {
        errs.push(FieldError::required("provisioner", ""));
    } else {
        let lower = provisioner.to_lowercase();
        errs.extend(
            names::is_qualified_name(&lower).into_iter().map(|m| FieldError::invalid("provisioner", lower.as_str(), m)),
        );
    }
    let params = obj.str_map("parameters");
    if params.len() > 512 {
        errs.push(FieldError::too_long("parameters", 512));
    } else {
        for (k, _) in &params {
            if k.is_empty() {
                errs.push(FieldError::invalid("parameters", *k, "field can not be empty."));
            }
        }
        if params.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>() > 256 * 1024 {
            errs.push(FieldError::too_long("parameters", 256 * 1024));
        }
    }
    let rp = obj.str_of("reclaimPolicy");
    if !rp.is_empty() && rp != "Delete" && rp != "Retain" {
        errs.push(FieldError::not_supported("reclaimPolicy", rp, &["Delete", "Retain"]));
    }
    match obj.opt_str("volumeBindingMode") {
        None => errs.push(FieldError::required("volumeBindingMode", "")),
        Some(m) if m != "Immediate" && m != "WaitForFirstConsumer" => {
            errs.push(FieldError::not_supported("volumeBindingMode", m, &["Immediate", "WaitForFirstConsumer"]))
        }
        _ => {}
    }
    let mut terms: Vec<Vec<(String, Vec<String>)>> = Vec::new();
    for (i, term) in obj.list("allowedTopologies").iter().enumerate() {
        let tp = Path::new("allowedTopologies").index(i);
        let mut expr_map: Vec<(String, Vec<String>)> = Vec::new();
        for (j, req) in term.list("matchLabelExpressions").iter().enumerate() {
            let rp = tp.child("matchLabelExpressions").index(j);
            let values = req.strings("values");
            if values.is_empty() {
                errs.push(FieldError::required(rp.child("values"), ""));
            }
            for (k, v) in values.iter().enumerate() {
                if values[..k].contains(v) {
                    errs.push(FieldError::duplicate(rp.child("values").index(k), *v));
                }
            }
            let key = req.str_of("key");
            errs.extend(meta::validate_label_name(key, &rp.child("key")));
            if expr_map.iter().any(|(k, _)| k == key) {
                errs.push(FieldError::duplicate(rp.child("key"), key));
            }
            let mut sorted: Vec<String> = values.iter().map(|s| s.to_string()).collect();
            sorted.sort_unstable();
            sorted.dedup();
            expr_map.push((key.to_string(), sorted));
        }
        expr_map.sort();
        if terms.contains(&expr_map) {
            errs.push(FieldError::duplicate(tp.child("matchLabelExpressions"), ""));
        }
        terms.push(expr_map);
    }
    errs
}

fn storage_class_update(obj: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = meta::validate_object_meta_update(obj, old, true);
    if !semantic_eq(obj.field("parameters").unwrap_or(&Value::Null), old.field("parameters").unwrap_or(&Value::Null)) {
        errs.push(FieldError::forbidden("parameters", "updates to parameters are forbidden."));
    }
    if obj.str_of("provisioner") != old.str_of("provisioner") {
        errs.push(FieldError::forbidden("provisioner", "updates to provisioner are forbidden."));
    }
    if obj.str_of("reclaimPolicy") != old.str_of("reclaimPolicy") {
        errs.push(FieldError::forbidden("reclaimPolicy", "updates to reclaimPolicy are forbidden."));
    }
    errs.extend(meta::immutable(
        obj.field("volumeBindingMode").unwrap_or(&Value::Null),
        old.field("volumeBindingMode").unwrap_or(&Value::Null),
        &Path::new("volumeBindingMode"),
    ));
    errs
}

fn csi_driver(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let csi_rules = MetaRules {
        name: |n, _| {
            let mut m = Vec::new();
            if n.len() > 63 {
                m.push(names::max_len_error(63));
            }
            m.extend(names::is_dns1123_subdomain(&n.to_lowercase()));
            m
        },
        namespaced: Some(false),
        builtin: true,
    };
    let mut errs = meta::validate_meta(obj, old, csi_rules);
    let spec = obj.field("spec");
    if let Some(f) = spec.opt_str("fsGroupPolicy")
        && !["File", "None", "ReadWriteOnceWithFSType"].contains(&f)
    {
        errs.push(FieldError::not_supported("spec.fsGroupPolicy", f, &["File", "None", "ReadWriteOnceWithFSType"]));
    }
    for (i, m) in spec.strings("volumeLifecycleModes").iter().enumerate() {
        if *m != "Persistent" && *m != "Ephemeral" {
            errs.push(FieldError::not_supported(
                Path::new("spec").child("volumeLifecycleModes").index(i),
                *m,
                &["Ephemeral", "Persistent"],
            ));
        }
    }
    if let Some(old) = old {
        for f in ["attachRequired", "podInfoOnMount", "volumeLifecycleModes", "fsGroupPolicy"] {
            errs.extend(meta::immutable(
                spec.field(f).unwrap_or(&Value::Null),
                old.field("spec").field(f).unwrap_or(&Value::Null),
                &Path::new("spec").child(f),
            ));
        }
    }
    errs
}

fn volume_attachment(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = meta::validate_meta(obj, old, rules());
    let spec = obj.field("spec");
    let sp = Path::new("spec");
    errs.extend(validate_csi_driver_name(spec.str_of("attacher"), &sp.child("attacher")));
    let node = spec.str_of("nodeName");
    if node.is_empty() {
        errs.push(FieldError::required(sp.child("nodeName"), ""));
    } else {
        errs.extend(
            names::is_dns1123_subdomain(node).into_iter().map(|m| FieldError::invalid(sp.child("nodeName"), node, m)),
        );
    }
    if let Some(old) = old {
        errs.extend(meta::immutable(
            spec.cloned().as_ref().unwrap_or(&Value::Null),
            old.field("spec").unwrap_or(&Value::Null),
            &sp,
        ));
    }
    errs
}

/// Validate a `storage.k8s.io` object.
pub fn validate(kind: &str, obj: &Value, old: Option<&Value>) -> Option<Vec<FieldError>> {
    Some(match (kind, old) {
        ("StorageClass", None) => storage_class(obj),
        ("StorageClass", Some(old)) => storage_class_update(obj, old),
        ("CSIDriver", _) => csi_driver(obj, old),
        ("VolumeAttachment", _) => volume_attachment(obj, old),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn storage_classes() {
        let sc = json!({"metadata": {"name": "local-path", "resourceVersion": "1"}, "provisioner": "rancher.io/local-path",
            "reclaimPolicy": "Delete", "volumeBindingMode": "WaitForFirstConsumer"});
        assert_eq!(validate("StorageClass", &sc, None), Some(vec![]));
        let mut changed = sc.clone();
        changed["reclaimPolicy"] = json!("Retain");
        let m: Vec<String> =
            validate("StorageClass", &changed, Some(&sc)).unwrap_or_default().iter().map(ToString::to_string).collect();
        assert_eq!(m, vec!["reclaimPolicy: Forbidden: updates to reclaimPolicy are forbidden."]);
        let bad = json!({"metadata": {"name": "x"}, "provisioner": "", "reclaimPolicy": "Recycle", "volumeBindingMode": "Later"});
        let m: Vec<String> =
            validate("StorageClass", &bad, None).unwrap_or_default().iter().map(ToString::to_string).collect();
        assert_eq!(
            m,
            vec![
                "provisioner: Required value",
                "reclaimPolicy: Unsupported value: \"Recycle\": supported values: \"Delete\", \"Retain\"",
                "volumeBindingMode: Unsupported value: \"Later\": supported values: \"Immediate\", \"WaitForFirstConsumer\"",
            ]
        );
    }
}
