//! The `autoscaling` group: HorizontalPodAutoscalers (v1 and v2).

use serde_json::Value;

use super::access::Fields;
use super::core::resources::{quantity_at, validate_container_resource_name};
use super::meta::{self, MetaRules, SelectorOpts, validate_label_selector};
use super::names;
use crate::registry::field_error::{FieldError, Path};

const METRIC_TYPES: [&str; 5] = ["Object", "Pods", "Resource", "External", "ContainerResource"];

fn cross_version_ref(r: Option<&Value>, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for f in ["kind", "name"] {
        let v = r.str_of(f);
        if v.is_empty() {
            errs.push(FieldError::required(path.child(f), ""));
        } else {
            errs.extend(
                names::is_valid_path_segment_name(v).into_iter().map(|m| FieldError::invalid(path.child(f), v, m)),
            );
        }
    }
    errs
}

fn replicas(spec: Option<&Value>, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let max = spec.int_or_zero("maxReplicas");
    if let Some(min) = spec.int("minReplicas").filter(|m| *m < 1) {
        errs.push(FieldError::invalid(path.child("minReplicas"), min, "must be greater than or equal to 1"));
    }
    if max < 1 {
        errs.push(FieldError::invalid(path.child("maxReplicas"), max, "must be greater than 0"));
    }
    if spec.int("minReplicas").is_some_and(|min| max < min) {
        errs.push(FieldError::invalid(
            path.child("maxReplicas"),
            max,
            "must be greater than or equal to `minReplicas`",
        ));
    }
    errs.extend(cross_version_ref(spec.field("scaleTargetRef"), &path.child("scaleTargetRef")));
    errs
}

fn positive_quantity(t: Option<&Value>, f: &str, path: &Path) -> Vec<FieldError> {
    let Some(v) = t.field(f) else { return vec![] };
    match quantity_at(v, &path.child(f)) {
        Ok(q) if q.signum() != 1 => vec![FieldError::invalid(path.child(f), q.to_string(), "must be positive")],
        Ok(_) => vec![],
        Err(e) => vec![*e],
    }
}

fn metric_target(t: Option<&Value>, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let ty = t.str_of("type");
    if ty.is_empty() {
        errs.push(FieldError::required(path.child("type"), "must specify a metric target type"));
    }
    if !["Utilization", "Value", "AverageValue"].contains(&ty) {
        errs.push(FieldError::invalid(path.child("type"), ty, "must be either Utilization, Value, or AverageValue"));
    }
    errs.extend(positive_quantity(t, "value", path));
    errs.extend(positive_quantity(t, "averageValue", path));
    if let Some(u) = t.int("averageUtilization").filter(|u| *u < 1) {
        errs.push(FieldError::invalid(path.child("averageUtilization"), u, "must be greater than 0"));
    }
    errs
}

fn metric_identifier(m: Option<&Value>, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let name = m.str_of("name");
    if name.is_empty() {
        errs.push(FieldError::required(path.child("name"), "must specify a metric name"));
    } else {
        errs.extend(
            names::is_valid_path_segment_name(name)
                .into_iter()
                .map(|msg| FieldError::invalid(path.child("name"), name, msg)),
        );
    }
    if let Some(sel) = m.field("selector") {
        errs.extend(validate_label_selector(Some(sel), SelectorOpts::default(), &path.child("selector")));
    }
    errs
}

fn resource_source(src: &Value, path: &Path, container: bool) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let name = src.str_of("name");
    if name.is_empty() {
        errs.push(FieldError::required(path.child("name"), "must specify a resource name"));
    } else {
        errs.extend(validate_container_resource_name(name, &path.child("name")));
    }
    if container {
        let c = src.str_of("container");
        if c.is_empty() {
            errs.push(FieldError::required(path.child("container"), "must specify a container"));
        } else {
            errs.extend(
                names::is_dns1123_label(c).into_iter().map(|m| FieldError::invalid(path.child("container"), c, m)),
            );
        }
    }
    let target = src.field("target");
    let tp = path.child("target");
    errs.extend(metric_target(target, &tp));
    let (util, avg) = (target.has("averageUtilization"), target.has("averageValue"));
    if !util && !avg {
        errs.push(FieldError::required(
            tp.child("averageUtilization"),
            "must set either a target raw value or a target utilization",
        ));
    }
    if util && avg {
        errs.push(FieldError::forbidden(
            tp.child("averageValue"),
            "may not set both a target raw value and a target utilization",
        ));
    }
    errs
}

fn metric_spec(m: &Value, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let ty = m.str_of("type");
    if ty.is_empty() {
        errs.push(FieldError::required(path.child("type"), "must specify a metric source type"));
    }
    if !METRIC_TYPES.contains(&ty) {
        errs.push(FieldError::not_supported(path.child("type"), ty, &METRIC_TYPES));
    }
    let present: Vec<&str> =
        ["object", "pods", "resource", "external", "containerResource"].into_iter().filter(|k| m.has(k)).collect();
    if let Some(first) = present.first()
        && let Some(src) = m.field(first)
    {
        let p = path.child(first);
        errs.extend(match *first {
            "resource" => resource_source(src, &p, false),
            "containerResource" => resource_source(src, &p, true),
            "object" => {
                let mut e = cross_version_ref(src.field("describedObject"), &p.child("describedObject"));
                e.extend(metric_identifier(src.field("metric"), &p.child("metric")));
                e.extend(metric_target(src.field("target"), &p.child("target")));
                e
            }
            _ => {
                let mut e = metric_identifier(src.field("metric"), &p.child("metric"));
                e.extend(metric_target(src.field("target"), &p.child("target")));
                e
            }
        });
    }
    let expected = match ty {
        "Object" => "object",
        "Pods" => "pods",
        "Resource" => "resource",
        "External" => "external",
        "ContainerResource" => "containerResource",
        _ => {
            errs.push(FieldError::not_supported(path.child("type"), ty, &METRIC_TYPES));
            ""
        }
    };
    if !expected.is_empty() && !m.has(expected) {
        errs.push(FieldError::required(path.child(expected), "must populate information for the given metric source"));
    }
    if present.len() != 1 {
        for t in present.iter().filter(|t| **t != expected) {
            errs.push(FieldError::forbidden(path.child(t), "must populate the given metric source only"));
        }
    }
    errs
}

fn scaling_rules(rules: Option<&Value>, path: &Path) -> Vec<FieldError> {
    let Some(rules) = rules else { return vec![] };
    let mut errs = Vec::new();
    if let Some(w) = rules.int("stabilizationWindowSeconds") {
        if w < 0 {
            errs.push(FieldError::invalid(
                path.child("stabilizationWindowSeconds"),
                w,
                "must be greater than or equal to zero",
            ));
        }
        if w > 3600 {
            errs.push(FieldError::invalid(
                path.child("stabilizationWindowSeconds"),
                w,
                "must be less than or equal to 3600",
            ));
        }
    }
    if let Some(sp) = rules.opt_str("selectPolicy")
        && !["Max", "Min", "Disabled"].contains(&sp)
    {
        errs.push(FieldError::not_supported(path.child("selectPolicy"), sp, &["Max", "Min", "Disabled"]));
    }
    let pp = path.child("policies");
    let policies = rules.list("policies");
    if policies.is_empty() {
        errs.push(FieldError::required(&pp, "must specify at least one Policy"));
    }
    for (i, p) in policies.iter().enumerate() {
        let ip = pp.index(i);
        let t = p.str_of("type");
        if t != "Pods" && t != "Percent" {
            errs.push(FieldError::not_supported(ip.child("type"), t, &["Pods", "Percent"]));
        }
        let v = p.int_or_zero("value");
        if v <= 0 {
            errs.push(FieldError::invalid(ip.child("value"), v, "must be greater than zero"));
        }
        let ps = p.int_or_zero("periodSeconds");
        if ps <= 0 {
            errs.push(FieldError::invalid(ip.child("periodSeconds"), ps, "must be greater than zero"));
        }
        if ps > 1800 {
            errs.push(FieldError::invalid(ip.child("periodSeconds"), ps, "must be less than or equal to 1800"));
        }
    }
    errs
}

/// HorizontalPodAutoscaler create and update (autoscaling/v1 or v2 wire format).
pub fn validate_hpa(version: &str, obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let rules = MetaRules { name: names::name_is_dns_subdomain, namespaced: Some(true), builtin: true };
    let mut errs = match old {
        Some(old) => meta::validate_object_meta_update(obj, old, true),
        None => Vec::new(),
    };
    errs.extend(meta::validate_object_meta(obj, rules));
    let spec = obj.field("spec");
    let sp = Path::new("spec");
    errs.extend(replicas(spec, &sp));
    if version == "v1" {
        if let Some(t) = spec.int("targetCPUUtilizationPercentage").filter(|t| *t < 1) {
            let p = sp.child("metrics").index(0).child("resource").child("target").child("averageUtilization");
            errs.push(FieldError::invalid(p, t, "must be greater than 0"));
        }
        return errs;
    }
    for (i, m) in spec.list("metrics").iter().enumerate() {
        errs.extend(metric_spec(m, &sp.child("metrics").index(i)));
    }
    if let Some(b) = spec.obj("behavior") {
        errs.extend(scaling_rules(b.field("scaleUp"), &sp.child("behavior").child("scaleUp")));
        errs.extend(scaling_rules(b.field("scaleDown"), &sp.child("behavior").child("scaleDown")));
    }
    errs
}

/// HorizontalPodAutoscaler `/status`.
pub fn validate_hpa_status(obj: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = meta::validate_object_meta_update(obj, old, true);
    let status = obj.field("status");
    for f in ["currentReplicas", "desiredReplicas"] {
        errs.extend(meta::non_negative(&Path::new("status").child(f), status.int_or_zero(f)));
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hpas() {
        let hpa = json!({"metadata": {"name": "web", "namespace": "default"}, "spec": {"minReplicas": 1, "maxReplicas": 5,
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]}});
        assert!(validate_hpa("v2", &hpa, None).is_empty());
        let bad = json!({"metadata": {"name": "web", "namespace": "default"}, "spec": {"minReplicas": 3, "maxReplicas": 2,
            "scaleTargetRef": {"kind": "Deployment"},
            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization"}}}]}});
        let m: Vec<String> = validate_hpa("v2", &bad, None).iter().map(ToString::to_string).collect();
        assert_eq!(
            m,
            vec![
                "spec.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`",
                "spec.scaleTargetRef.name: Required value",
                "spec.metrics[0].resource.target.averageUtilization: Required value: must set either a target raw value or a target utilization",
            ]
        );
    }
}
