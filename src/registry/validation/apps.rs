//! The `apps` group: Deployments, ReplicaSets, DaemonSets, StatefulSets, ControllerRevisions.

use serde_json::Value;

use super::access::{Fields, int_or_string, semantic_eq};
use super::core::pod::validate_pod_template_spec;
use super::meta::{
    self, MetaRules, SelectorOpts, non_negative, render_label_selector, render_string_map, selector_is_empty,
    selector_matches, validate_annotations, validate_label_selector, validate_labels,
};
use super::names;
use crate::registry::field_error::{FieldError, Path};

fn rules(name: meta::NameFn) -> MetaRules {
    MetaRules { name, namespaced: Some(true), builtin: true }
}

/// Go's `%#v` of an `intstr.IntOrString`.
pub fn render_int_or_string(v: Option<&Value>) -> String {
    match int_or_string(v) {
        Some(Err(s)) => format!("intstr.IntOrString{{Type:1, IntVal:0, StrVal:{s:?}}}"),
        Some(Ok(n)) => format!("intstr.IntOrString{{Type:0, IntVal:{n}, StrVal:\"\"}}"),
        None => "intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}".into(),
    }
}

/// The number of an int-or-percent (`getIntOrPercentValue`).
fn int_or_percent_value(v: Option<&Value>) -> i64 {
    match int_or_string(v) {
        Some(Ok(n)) => n,
        Some(Err(s)) => s.strip_suffix('%').and_then(|d| d.parse().ok()).unwrap_or(0),
        None => 0,
    }
}

/// `ValidatePositiveIntOrPercent`.
pub fn validate_positive_int_or_percent(v: Option<&Value>, path: &Path) -> Vec<FieldError> {
    match int_or_string(v) {
        Some(Err(s)) => names::is_valid_percent(s)
            .into_iter()
            .map(|m| FieldError::invalid_rendered(path, render_int_or_string(v), m))
            .collect(),
        Some(Ok(n)) => non_negative(path, n),
        None => non_negative(path, 0),
    }
}

/// `IsNotMoreThan100Percent`.
fn not_more_than_100(v: Option<&Value>, path: &Path) -> Vec<FieldError> {
    match int_or_string(v) {
        Some(Err(s)) if names::is_valid_percent(s).is_empty() && int_or_percent_value(v) > 100 => {
            vec![FieldError::invalid_rendered(path, render_int_or_string(v), "must not be greater than 100%")]
        }
        _ => vec![],
    }
}

/// Selector checks shared by Deployments, ReplicaSets and StatefulSets.
fn selector_required(spec: Option<&Value>, kind: &str, path: &Path) -> Vec<FieldError> {
    let sp = path.child("selector");
    let Some(sel) = spec.obj("selector") else { return vec![FieldError::required(sp, "")] };
    let mut errs = validate_label_selector(Some(sel), SelectorOpts::default(), &sp);
    if selector_is_empty(sel) {
        errs.push(FieldError::invalid_rendered(
            &sp,
            render_label_selector(sel),
            format!("empty selector is invalid for {kind}"),
        ));
    }
    errs
}

/// `selector` must match the template labels (an unparsable selector is reported separately).
fn template_labels_match(spec: Option<&Value>, path: &Path, require_non_empty: bool) -> Vec<FieldError> {
    let template = spec.field("template");
    let labels = template.field("metadata").str_map("labels");
    let sel = spec.field("selector").unwrap_or(&Value::Null);
    let nothing = !sel.is_object();
    if require_non_empty && (nothing || selector_is_empty(sel)) {
        return vec![];
    }
    match (nothing, selector_matches(sel, &labels)) {
        (false, Some(true)) => vec![],
        (false, None) => vec![],
        _ => vec![FieldError::invalid_rendered(
            path.child("template").child("metadata").child("labels"),
            render_string_map(&labels, template.field("metadata").has("labels")),
            "`selector` does not match template `labels`",
        )],
    }
}

/// `ValidatePodTemplateSpecForReplicaSet` (also used for Deployments).
fn template_for_replica_set(spec: Option<&Value>, path: &Path, kind_label: &str) -> Vec<FieldError> {
    let tp = path.child("template");
    let Some(template) = spec.obj("template") else { return vec![FieldError::required(tp, "")] };
    let mut errs = template_labels_match(spec, path, true);
    errs.extend(validate_pod_template_spec(Some(template), &tp));
    let rp = template.field("spec").str_of("restartPolicy");
    if rp != "Always" {
        errs.push(FieldError::not_supported(tp.child("spec").child("restartPolicy"), rp, &["Always"]));
    }
    if template.field("spec").has("activeDeadlineSeconds") {
        errs.push(FieldError::forbidden(
            tp.child("spec").child("activeDeadlineSeconds"),
            format!("activeDeadlineSeconds in {kind_label} is not Supported"),
        ));
    }
    errs
}

fn selector_immutable(obj: &Value, old: &Value) -> Vec<FieldError> {
    let (n, o) = (obj.field("spec").field("selector"), old.field("spec").field("selector"));
    let (n, o) = (n.unwrap_or(&Value::Null), o.unwrap_or(&Value::Null));
    if semantic_eq(n, o) {
        vec![]
    } else {
        vec![FieldError::invalid_rendered("spec.selector", render_label_selector(n), meta::FIELD_IMMUTABLE)]
    }
}

fn collision_count(obj: &Value, old: &Value, path: &Path) -> Vec<FieldError> {
    let (n, o) = (obj.field("status").int("collisionCount"), old.field("status").int("collisionCount"));
    let decremented = match (n, o) {
        (None, Some(_)) => true,
        (Some(n), Some(o)) => n < o,
        _ => false,
    };
    if decremented {
        vec![FieldError::invalid(path.child("collisionCount"), n.unwrap_or(0), "cannot be decremented")]
    } else {
        vec![]
    }
}

fn status_counts(status: Option<&Value>, fields: &[&str], path: &Path) -> Vec<FieldError> {
    fields.iter().flat_map(|f| non_negative(&path.child(f), status.int_or_zero(f))).collect()
}

fn not_above(status: Option<&Value>, field: &str, limit: &str, msg: &str, path: &Path) -> Vec<FieldError> {
    let v = status.int_or_zero(field);
    if v > status.int_or_zero(limit) { vec![FieldError::invalid(path.child(field), v, msg)] } else { vec![] }
}

// ---------------------------------------------------------------- Deployment

fn deployment_strategy(strategy: Option<&Value>, path: &Path) -> Vec<FieldError> {
    let ru = strategy.field("rollingUpdate");
    match strategy.str_of("type") {
        "Recreate" if ru.is_some() => {
            vec![FieldError::forbidden(
                path.child("rollingUpdate"),
                "may not be specified when strategy `type` is 'Recreate'",
            )]
        }
        "Recreate" => vec![],
        "RollingUpdate" => {
            let Some(ru) = ru else {
                return vec![FieldError::required(
                    path.child("rollingUpdate"),
                    "this should be defaulted and never be nil",
                )];
            };
            let rp = path.child("rollingUpdate");
            let (mu, ms) = (ru.field("maxUnavailable"), ru.field("maxSurge"));
            let mut errs = validate_positive_int_or_percent(mu, &rp.child("maxUnavailable"));
            errs.extend(validate_positive_int_or_percent(ms, &rp.child("maxSurge")));
            if int_or_percent_value(mu) == 0 && int_or_percent_value(ms) == 0 {
                errs.push(FieldError::invalid_rendered(
                    rp.child("maxUnavailable"),
                    render_int_or_string(mu),
                    "may not be 0 when `maxSurge` is 0",
                ));
            }
            errs.extend(not_more_than_100(mu, &rp.child("maxUnavailable")));
            errs
        }
        other => vec![FieldError {
            kind: crate::registry::field_error::ErrorType::NotSupported,
            field: path.into(),
            bad_value: None,
            detail: format!(
                "apps.DeploymentStrategy{{Type:{other:?}, RollingUpdate:(*apps.RollingUpdateDeployment)({})}}: supported values: \"Recreate\", \"RollingUpdate\"",
                if ru.is_some() { "0xc000000000" } else { "nil" }
            ),
        }],
    }
}

fn deployment_spec(spec: Option<&Value>) -> Vec<FieldError> {
    let sp = Path::new("spec");
    let mut errs = non_negative(&sp.child("replicas"), spec.int_or_zero("replicas"));
    errs.extend(selector_required(spec, "deployment", &sp));
    errs.extend(template_for_replica_set(spec, &sp, "ReplicaSet"));
    errs.extend(deployment_strategy(spec.field("strategy"), &sp.child("strategy")));
    let min_ready = spec.int_or_zero("minReadySeconds");
    errs.extend(non_negative(&sp.child("minReadySeconds"), min_ready));
    if let Some(r) = spec.int("revisionHistoryLimit") {
        errs.extend(non_negative(&sp.child("revisionHistoryLimit"), r));
    }
    if let Some(rb) = spec.obj("rollbackTo") {
        errs.extend(non_negative(&sp.child("rollback").child("version"), rb.int_or_zero("revision")));
    }
    if let Some(p) = spec.int("progressDeadlineSeconds") {
        errs.extend(non_negative(&sp.child("progressDeadlineSeconds"), p));
        if p <= min_ready {
            errs.push(FieldError::invalid(
                sp.child("progressDeadlineSeconds"),
                p,
                "must be greater than minReadySeconds",
            ));
        }
    }
    errs
}

/// Deployment create and update.
pub fn validate_deployment(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = match old {
        Some(old) => meta::validate_object_meta_update(obj, old, true),
        None => meta::validate_object_meta(obj, rules(names::name_is_dns_subdomain)),
    };
    errs.extend(deployment_spec(obj.field("spec")));
    if let Some(old) = old {
        errs.extend(selector_immutable(obj, old));
    }
    errs
}

/// Deployment `/status`.
pub fn validate_deployment_status(obj: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = meta::validate_object_meta_update(obj, old, true);
    let (status, sp) = (obj.field("status"), Path::new("status"));
    let fields = [
        "observedGeneration",
        "replicas",
        "updatedReplicas",
        "readyReplicas",
        "availableReplicas",
        "unavailableReplicas",
    ];
    errs.extend(status_counts(status, &fields, &sp));
    if let Some(c) = status.int("collisionCount") {
        errs.extend(non_negative(&sp.child("collisionCount"), c));
    }
    for f in ["updatedReplicas", "readyReplicas", "availableReplicas"] {
        errs.extend(not_above(status, f, "replicas", "cannot be greater than status.replicas", &sp));
    }
    errs.extend(not_above(status, "availableReplicas", "readyReplicas", "cannot be greater than readyReplicas", &sp));
    errs.extend(collision_count(obj, old, &sp));
    errs
}

// ---------------------------------------------------------------- ReplicaSet

/// ReplicaSet create and update.
pub fn validate_replica_set(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = match old {
        Some(old) => meta::validate_object_meta_update(obj, old, true),
        None => meta::validate_object_meta(obj, rules(names::name_is_dns_subdomain)),
    };
    let spec = obj.field("spec");
    let sp = Path::new("spec");
    errs.extend(non_negative(&sp.child("replicas"), spec.int_or_zero("replicas")));
    errs.extend(non_negative(&sp.child("minReadySeconds"), spec.int_or_zero("minReadySeconds")));
    errs.extend(selector_required(spec, "deployment", &sp));
    errs.extend(template_for_replica_set(spec, &sp, "ReplicaSet"));
    if let Some(old) = old {
        errs.extend(selector_immutable(obj, old));
    }
    errs
}

/// ReplicaSet `/status`.
pub fn validate_replica_set_status(obj: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = meta::validate_object_meta_update(obj, old, true);
    let (status, sp) = (obj.field("status"), Path::new("status"));
    errs.extend(status_counts(
        status,
        &["replicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas", "observedGeneration"],
        &sp,
    ));
    for f in ["fullyLabeledReplicas", "readyReplicas", "availableReplicas"] {
        errs.extend(not_above(status, f, "replicas", "cannot be greater than status.replicas", &sp));
    }
    errs.extend(not_above(status, "availableReplicas", "readyReplicas", "cannot be greater than readyReplicas", &sp));
    errs
}

// ---------------------------------------------------------------- DaemonSet

fn daemon_set_strategy(strategy: Option<&Value>, path: &Path) -> Vec<FieldError> {
    match strategy.str_of("type") {
        "OnDelete" => vec![],
        "RollingUpdate" => {
            let Some(ru) = strategy.obj("rollingUpdate") else {
                return vec![FieldError::required(path.child("rollingUpdate"), "")];
            };
            let rp = path.child("rollingUpdate");
            let (mu, ms) = (ru.field("maxUnavailable"), ru.field("maxSurge"));
            let mut errs = validate_positive_int_or_percent(mu, &rp.child("maxUnavailable"));
            errs.extend(validate_positive_int_or_percent(ms, &rp.child("maxSurge")));
            errs.extend(not_more_than_100(mu, &rp.child("maxUnavailable")));
            errs.extend(not_more_than_100(ms, &rp.child("maxSurge")));
            let (has_u, has_s) = (int_or_percent_value(mu) != 0, int_or_percent_value(ms) != 0);
            if has_u && has_s {
                errs.push(FieldError::invalid_rendered(
                    rp.child("maxSurge"),
                    render_int_or_string(ms),
                    "may not be set when maxUnavailable is non-zero",
                ));
            } else if !has_u && !has_s {
                errs.push(FieldError::required(rp.child("maxUnavailable"), "cannot be 0 when maxSurge is 0"));
            }
            errs
        }
        other => vec![FieldError {
            kind: crate::registry::field_error::ErrorType::NotSupported,
            field: path.into(),
            bad_value: None,
            detail: format!(
                "apps.DaemonSetUpdateStrategy{{Type:{other:?}, RollingUpdate:(*apps.RollingUpdateDaemonSet)({})}}: supported values: \"RollingUpdate\", \"OnDelete\"",
                if strategy.has("rollingUpdate") { "0xc000000000" } else { "nil" }
            ),
        }],
    }
}

/// DaemonSet create and update.
pub fn validate_daemon_set(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = match old {
        Some(old) => meta::validate_object_meta_update(obj, old, true),
        None => meta::validate_object_meta(obj, rules(names::name_is_dns_subdomain)),
    };
    let spec = obj.field("spec");
    let sp = Path::new("spec");
    errs.extend(validate_label_selector(spec.field("selector"), SelectorOpts::default(), &sp.child("selector")));
    errs.extend(template_labels_match(spec, &sp, false));
    if let Some(sel) = spec.obj("selector")
        && selector_is_empty(sel)
    {
        errs.push(FieldError::invalid_rendered(
            sp.child("selector"),
            render_label_selector(sel),
            "empty selector is invalid for daemonset",
        ));
    }
    let tp = sp.child("template");
    errs.extend(validate_pod_template_spec(spec.field("template"), &tp));
    let rp = spec.field("template").field("spec").str_of("restartPolicy");
    if rp != "Always" {
        errs.push(FieldError::not_supported(tp.child("spec").child("restartPolicy"), rp, &["Always"]));
    }
    if spec.field("template").field("spec").has("activeDeadlineSeconds") {
        errs.push(FieldError::forbidden(
            tp.child("spec").child("activeDeadlineSeconds"),
            "activeDeadlineSeconds in DaemonSet is not Supported",
        ));
    }
    errs.extend(non_negative(&sp.child("minReadySeconds"), spec.int_or_zero("minReadySeconds")));
    errs.extend(non_negative(&sp.child("templateGeneration"), spec.int_or_zero("templateGeneration")));
    errs.extend(daemon_set_strategy(spec.field("updateStrategy"), &sp.child("updateStrategy")));
    if let Some(r) = spec.int("revisionHistoryLimit") {
        errs.extend(non_negative(&sp.child("revisionHistoryLimit"), r));
    }
    if let Some(old) = old {
        errs.extend(selector_immutable(obj, old));
    }
    errs
}

/// DaemonSet `/status`.
pub fn validate_daemon_set_status(obj: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = meta::validate_object_meta_update(obj, old, true);
    let (status, sp) = (obj.field("status"), Path::new("status"));
    let fields = [
        "currentNumberScheduled",
        "numberMisscheduled",
        "desiredNumberScheduled",
        "numberReady",
        "observedGeneration",
        "updatedNumberScheduled",
        "numberAvailable",
        "numberUnavailable",
    ];
    errs.extend(status_counts(status, &fields, &sp));
    if let Some(c) = status.int("collisionCount") {
        errs.extend(non_negative(&sp.child("collisionCount"), c));
    }
    errs.extend(collision_count(obj, old, &sp));
    errs
}

// ---------------------------------------------------------------- StatefulSet

fn stateful_set_spec(spec: Option<&Value>) -> Vec<FieldError> {
    let sp = Path::new("spec");
    let mut errs = Vec::new();
    match spec.str_of("podManagementPolicy") {
        "" => errs.push(FieldError::required(sp.child("podManagementPolicy"), "")),
        "OrderedReady" | "Parallel" => {}
        other => errs.push(FieldError::invalid(
            sp.child("podManagementPolicy"),
            other,
            "must be 'OrderedReady' or 'Parallel'",
        )),
    }
    let us = spec.field("updateStrategy");
    let up = sp.child("updateStrategy");
    match us.str_of("type") {
        "" => errs.push(FieldError::required(&up, "")),
        "OnDelete" => {
            if let Some(ru) = us.obj("rollingUpdate") {
                errs.push(FieldError::invalid_rendered(
                    up.child("rollingUpdate"),
                    render_sts_rolling_update(ru),
                    "only allowed for updateStrategy 'RollingUpdate'",
                ));
            }
        }
        "RollingUpdate" => {
            if let Some(ru) = us.obj("rollingUpdate") {
                let rp = up.child("rollingUpdate");
                errs.extend(non_negative(&rp.child("partition"), ru.int_or_zero("partition")));
                if let Some(mu) = ru.field("maxUnavailable") {
                    errs.extend(validate_positive_int_or_percent(Some(mu), &rp.child("maxUnavailable")));
                    if int_or_percent_value(Some(mu)) == 0 {
                        errs.push(FieldError::invalid_rendered(rp.child("maxUnavailable"), render_int_or_string(Some(mu)), "cannot be 0"));
                    }
                    errs.extend(not_more_than_100(Some(mu), &rp.child("maxUnavailable")));
                }
            }
        }
        other => errs.push(FieldError::invalid_rendered(
            &up,
            format!(
                "apps.StatefulSetUpdateStrategy{{Type:{other:?}, RollingUpdate:(*apps.RollingUpdateStatefulSetStrategy)({})}}",
                if us.has("rollingUpdate") { "0xc000000000" } else { "nil" }
            ),
            "must be 'RollingUpdate' or 'OnDelete'",
        )),
    }
    if let Some(policy) = spec.obj("persistentVolumeClaimRetentionPolicy") {
        for f in ["whenDeleted", "whenScaled"] {
            let v = policy.str_of(f);
            if v != "Retain" && v != "Delete" {
                errs.push(FieldError::not_supported(
                    sp.child("persistentVolumeClaimRetentionPolicy").child(f),
                    v,
                    &["Retain", "Delete"],
                ));
            }
        }
    }
    errs.extend(non_negative(&sp.child("replicas"), spec.int_or_zero("replicas")));
    errs.extend(non_negative(&sp.child("minReadySeconds"), spec.int_or_zero("minReadySeconds")));
    if let Some(o) = spec.obj("ordinals") {
        errs.extend(non_negative(&sp.child("ordinals.start"), o.int_or_zero("start")));
    }
    errs.extend(selector_required(spec, "statefulset", &sp));
    let tp = sp.child("template");
    let template = spec.field("template");
    errs.extend(template_labels_match(spec, &sp, true));
    let tmeta = template.field("metadata");
    errs.extend(validate_labels(&tmeta.str_map("labels"), &tp.child("labels")));
    errs.extend(validate_annotations(&tmeta.str_map("annotations"), &tp.child("annotations")));
    errs.extend(super::core::pod::pod_specific_annotations(
        &tmeta.str_map("annotations"),
        template.field("spec"),
        &tp.child("annotations"),
        Default::default(),
    ));
    let rp = template.field("spec").str_of("restartPolicy");
    if rp != "Always" {
        errs.push(FieldError::not_supported(tp.child("spec").child("restartPolicy"), rp, &["Always"]));
    }
    if template.field("spec").has("activeDeadlineSeconds") {
        errs.push(FieldError::forbidden(
            tp.child("spec").child("activeDeadlineSeconds"),
            "activeDeadlineSeconds in StatefulSet is not Supported",
        ));
    }
    errs
}

fn render_sts_rolling_update(ru: &Value) -> String {
    let mu = match ru.field("maxUnavailable") {
        Some(_) => "(*intstr.IntOrString)(0xc000000000)".to_string(),
        None => "(*intstr.IntOrString)(nil)".to_string(),
    };
    format!("apps.RollingUpdateStatefulSetStrategy{{Partition:{}, MaxUnavailable:{mu}}}", ru.int_or_zero("partition"))
}

const STS_MUTABLE: [&str; 6] =
    ["replicas", "template", "updateStrategy", "minReadySeconds", "ordinals", "persistentVolumeClaimRetentionPolicy"];

/// StatefulSet create and update.
pub fn validate_stateful_set(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let spec = obj.field("spec");
    let Some(old) = old else {
        let mut errs = meta::validate_object_meta(obj, rules(names::name_is_dns_label));
        errs.extend(stateful_set_spec(spec));
        return errs;
    };
    let mut errs = meta::validate_object_meta_update(obj, old, true);
    errs.extend(stateful_set_spec(spec));
    let strip = |s: Option<&Value>| {
        let mut s = s.cloned().unwrap_or_default();
        if let Some(m) = s.as_object_mut() {
            for f in STS_MUTABLE {
                m.remove(f);
            }
        }
        s
    };
    if !semantic_eq(&strip(spec), &strip(old.field("spec"))) {
        errs.push(FieldError::forbidden(
            "spec",
            "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
        ));
    }
    errs
}

/// StatefulSet `/status`.
pub fn validate_stateful_set_status(obj: &Value, old: &Value) -> Vec<FieldError> {
    let (status, sp) = (obj.field("status"), Path::new("status"));
    let mut errs = status_counts(
        status,
        &["replicas", "readyReplicas", "currentReplicas", "updatedReplicas", "availableReplicas"],
        &sp,
    );
    for f in ["observedGeneration", "collisionCount"] {
        if let Some(v) = status.int(f) {
            errs.extend(non_negative(&sp.child(f), v));
        }
    }
    for f in ["readyReplicas", "currentReplicas", "updatedReplicas", "availableReplicas"] {
        errs.extend(not_above(status, f, "replicas", "cannot be greater than status.replicas", &sp));
    }
    errs.extend(not_above(
        status,
        "availableReplicas",
        "readyReplicas",
        "cannot be greater than status.readyReplicas",
        &sp,
    ));
    errs.extend(meta::validate_object_meta_update(obj, old, true));
    errs.extend(collision_count(obj, old, &sp));
    errs
}

// ---------------------------------------------------------------- ControllerRevision

/// ControllerRevision create and update.
pub fn validate_controller_revision(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let mut errs = match old {
        Some(old) => meta::validate_object_meta_update(obj, old, true),
        None => Vec::new(),
    };
    errs.extend(meta::validate_object_meta(obj, rules(names::name_is_dns_subdomain)));
    if !obj.has("data") {
        errs.push(FieldError::required("data", "data is mandatory"));
    }
    errs.extend(non_negative(&Path::new("revision"), obj.int_or_zero("revision")));
    if let Some(old) = old {
        errs.extend(meta::immutable(
            obj.field("data").unwrap_or(&Value::Null),
            old.field("data").unwrap_or(&Value::Null),
            &Path::new("data"),
        ));
    }
    errs
}

/// Validate an `apps` object; `None` when the kind has no specific rules here.
pub fn validate(kind: &str, obj: &Value, old: Option<&Value>) -> Option<Vec<FieldError>> {
    Some(match kind {
        "Deployment" => validate_deployment(obj, old),
        "ReplicaSet" => validate_replica_set(obj, old),
        "DaemonSet" => validate_daemon_set(obj, old),
        "StatefulSet" => validate_stateful_set(obj, old),
        "ControllerRevision" => validate_controller_revision(obj, old),
        _ => return None,
    })
}

/// Validate a `/status` write of an `apps` object.
pub fn validate_status(kind: &str, obj: &Value, old: &Value) -> Option<Vec<FieldError>> {
    Some(match kind {
        "Deployment" => validate_deployment_status(obj, old),
        "ReplicaSet" => validate_replica_set_status(obj, old),
        "DaemonSet" => validate_daemon_set_status(obj, old),
        "StatefulSet" => validate_stateful_set_status(obj, old),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn msgs(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(ToString::to_string).collect()
    }

    fn template(labels: Value) -> Value {
        json!({"metadata": {"labels": labels}, "spec": {"containers": [{"name": "web", "image": "nginx",
            "terminationMessagePolicy": "File", "terminationMessagePath": "/dev/termination-log", "imagePullPolicy": "Always",
            "resources": {}}], "restartPolicy": "Always", "dnsPolicy": "ClusterFirst", "terminationGracePeriodSeconds": 30,
            "schedulerName": "default-scheduler", "securityContext": {}}})
    }

    fn deployment() -> Value {
        json!({"metadata": {"name": "web", "namespace": "default", "uid": "u", "resourceVersion": "1", "generation": 1},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "template": template(json!({"app": "web"})),
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
                "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600}})
    }

    #[test]
    fn valid_deployment() {
        assert!(validate_deployment(&deployment(), None).is_empty());
    }

    #[test]
    fn deployment_mistakes() {
        let mut d = deployment();
        d["spec"]["replicas"] = json!(-1);
        d["spec"]["template"] = template(json!({"app": "other"}));
        d["spec"]["strategy"]["rollingUpdate"] = json!({"maxUnavailable": 0, "maxSurge": "abc"});
        assert_eq!(
            msgs(&validate_deployment(&d, None)),
            vec![
                "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
                "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"other\"}: `selector` does not match template `labels`",
                "spec.strategy.rollingUpdate.maxSurge: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"abc\"}: a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
                "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}: may not be 0 when `maxSurge` is 0",
            ]
        );
        let mut empty = deployment();
        empty["spec"]["selector"] = json!({});
        let m = msgs(&validate_deployment(&empty, None));
        assert_eq!(
            m,
            vec![
                "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment"
            ]
        );
    }

    #[test]
    fn selector_is_immutable() {
        let old = deployment();
        let mut new = deployment();
        new["spec"]["selector"] = json!({"matchLabels": {"app": "web2"}});
        new["spec"]["template"]["metadata"]["labels"] = json!({"app": "web2"});
        assert_eq!(
            msgs(&validate_deployment(&new, Some(&old))),
            vec![
                "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"web2\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable"
            ]
        );
    }

    #[test]
    fn stateful_sets() {
        let sts = json!({"metadata": {"name": "db", "namespace": "default", "resourceVersion": "1"},
            "spec": {"replicas": 1, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}}, "template": template(json!({"app": "db"})),
                "podManagementPolicy": "OrderedReady", "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}}});
        assert!(validate_stateful_set(&sts, None).is_empty());
        let mut new = sts.clone();
        new["spec"]["serviceName"] = json!("other");
        assert_eq!(
            msgs(&validate_stateful_set(&new, Some(&sts))),
            vec![
                "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"
            ]
        );
        let mut scaled = sts.clone();
        scaled["spec"]["replicas"] = json!(3);
        assert!(validate_stateful_set(&scaled, Some(&sts)).is_empty());
    }

    #[test]
    fn daemon_sets() {
        let ds = json!({"metadata": {"name": "agent", "namespace": "kube-system"},
            "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": template(json!({"app": "agent"})),
                "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}, "revisionHistoryLimit": 10}});
        assert!(validate_daemon_set(&ds, None).is_empty());
        let mut bad = ds.clone();
        bad["spec"]["updateStrategy"]["rollingUpdate"] = json!({"maxUnavailable": 1, "maxSurge": 1});
        assert_eq!(
            msgs(&validate_daemon_set(&bad, None)),
            vec![
                "spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: intstr.IntOrString{Type:0, IntVal:1, StrVal:\"\"}: may not be set when maxUnavailable is non-zero"
            ]
        );
    }
}
