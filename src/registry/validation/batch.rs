//! The `batch` group: Jobs and CronJobs.

use serde_json::Value;

use super::access::{Fields, metadata, semantic_eq};
use super::core::pod::validate_pod_template_spec;
use super::cron;
use super::meta::{
    self, MetaRules, SelectorOpts, non_negative, render_label_selector, render_string_map, selector_matches,
    validate_label_selector,
};
use super::names;
use crate::registry::field_error::{ErrorType, FieldError, Path};

const LEGACY_UID: &str = "controller-uid";
const LEGACY_NAME: &str = "job-name";
const UID_LABEL: &str = "batch.kubernetes.io/controller-uid";
const NAME_LABEL: &str = "batch.kubernetes.io/job-name";

fn rules() -> MetaRules {
    MetaRules { name: names::name_is_dns_subdomain, namespaced: Some(true), builtin: true }
}

/// `ValidateHasLabel`.
fn has_label(template_meta: Option<&Value>, path: &Path, key: &str, expected: &str) -> Vec<FieldError> {
    let labels = template_meta.str_map("labels");
    match labels.iter().find(|(k, _)| *k == key) {
        None => vec![FieldError::required(path.child("labels").key(key), format!("must be '{expected}'"))],
        Some((_, v)) if *v != expected => vec![FieldError::invalid_rendered(
            path.child("labels").key(key),
            render_string_map(&labels, true),
            format!("must be '{expected}'"),
        )],
        _ => vec![],
    }
}

/// `validateGeneratedSelector`.
fn generated_selector(obj: &Value, prefixed: bool) -> Vec<FieldError> {
    let spec = obj.field("spec");
    if spec.flag("manualSelector") {
        return vec![];
    }
    let Some(sel) = spec.obj("selector") else { return vec![] };
    let (uid, name) = (metadata(obj).str_of("uid"), metadata(obj).str_of("name"));
    let mut errs = Vec::new();
    if uid.is_empty() {
        errs.push(FieldError::required("metadata.uid", ""));
    }
    let tm = spec.field("template").field("metadata");
    let tp = Path::new("spec").child("template").child("metadata");
    errs.extend(has_label(tm, &tp, LEGACY_UID, uid));
    errs.extend(has_label(tm, &tp, LEGACY_NAME, name));
    let mut expected = vec![(LEGACY_UID, uid), (LEGACY_NAME, name)];
    if prefixed {
        errs.extend(has_label(tm, &tp, UID_LABEL, uid));
        errs.extend(has_label(tm, &tp, NAME_LABEL, name));
        expected.extend([(UID_LABEL, uid), (NAME_LABEL, name)]);
    }
    if selector_matches(sel, &expected) == Some(false) {
        errs.push(FieldError::invalid_rendered(
            "spec.selector",
            render_label_selector(sel),
            "`selector` not auto-generated",
        ));
    }
    errs
}

fn restart_policy(spec: Option<&Value>, path: &Path) -> Vec<FieldError> {
    let rp = spec.field("template").field("spec").str_of("restartPolicy");
    let p = path.child("template").child("spec").child("restartPolicy");
    match rp {
        "Always" | "" => vec![FieldError::required(p, "valid values: \"OnFailure\", \"Never\"")],
        "OnFailure" if spec.has("podFailurePolicy") => {
            vec![FieldError::invalid(p, rp, "only \"Never\" is supported when podFailurePolicy is specified")]
        }
        "OnFailure" | "Never" => vec![],
        other => vec![FieldError::not_supported(p, other, &["OnFailure", "Never"])],
    }
}

fn pod_failure_policy(spec: Option<&Value>, path: &Path) -> Vec<FieldError> {
    let Some(pfp) = spec.obj("podFailurePolicy") else { return vec![] };
    let mut errs = Vec::new();
    let rules_path = path.child("rules");
    let rules = pfp.list("rules");
    if rules.len() > 20 {
        errs.push(FieldError::too_many(&rules_path, rules.len(), 20));
    }
    let tspec = spec.field("template").field("spec");
    let containers: Vec<&str> =
        tspec.list("containers").iter().chain(tspec.list("initContainers")).map(|c| c.str_of("name")).collect();
    const ACTIONS: [&str; 4] = ["Count", "FailIndex", "FailJob", "Ignore"];
    for (i, rule) in rules.iter().enumerate() {
        let rp = rules_path.index(i);
        match rule.str_of("action") {
            "" => errs.push(FieldError::required(
                rp.child("action"),
                "valid values: [\"Count\" \"FailIndex\" \"FailJob\" \"Ignore\"]",
            )),
            "FailIndex" if !spec.has("backoffLimitPerIndex") => errs.push(FieldError::invalid(
                rp.child("action"),
                "FailIndex",
                "requires the backoffLimitPerIndex to be set",
            )),
            a if !ACTIONS.contains(&a) => errs.push(FieldError::not_supported(rp.child("action"), a, &ACTIONS)),
            _ => {}
        }
        if let Some(oec) = rule.obj("onExitCodes") {
            let p = rp.child("onExitCodes");
            match oec.str_of("operator") {
                "" => errs.push(FieldError::required(p.child("operator"), "valid values: [\"In\" \"NotIn\"]")),
                "In" | "NotIn" => {}
                o => errs.push(FieldError::not_supported(p.child("operator"), o, &["In", "NotIn"])),
            }
            if let Some(c) = oec.opt_str("containerName")
                && !containers.contains(&c)
            {
                errs.push(FieldError::invalid(
                    p.child("containerName"),
                    c,
                    "must be one of the container or initContainer names in the pod template",
                ));
            }
            let values: Vec<i64> = oec.list("values").iter().filter_map(Value::as_i64).collect();
            if values.is_empty() {
                errs.push(FieldError::invalid(
                    p.child("values"),
                    Value::from(Vec::<i64>::new()),
                    "at least one value is required",
                ));
            }
            for (j, v) in values.iter().enumerate() {
                if oec.str_of("operator") == "In" && *v == 0 {
                    errs.push(FieldError::invalid(p.child("values").index(j), *v, "must not be 0 for the In operator"));
                }
                if values[..j].contains(v) {
                    errs.push(FieldError::duplicate(p.child("values").index(j), *v));
                }
            }
            if values.windows(2).any(|w| w[0] > w[1]) {
                errs.push(FieldError::invalid(p.child("values"), Value::from(values.clone()), "must be ordered"));
            }
        }
        let conds = rule.list("onPodConditions");
        for (j, c) in conds.iter().enumerate() {
            let p = rp.child("onPodConditions").index(j);
            let t = c.str_of("type");
            errs.extend(names::is_qualified_name(t).into_iter().map(|m| FieldError::invalid(p.child("type"), t, m)));
            match c.str_of("status") {
                "" => {
                    errs.push(FieldError::required(p.child("status"), "valid values: [\"False\" \"True\" \"Unknown\"]"))
                }
                "False" | "True" | "Unknown" => {}
                s => errs.push(FieldError::not_supported(p.child("status"), s, &["False", "True", "Unknown"])),
            }
        }
        let has_codes = rule.has("onExitCodes");
        if has_codes && !conds.is_empty() {
            errs.push(omit(&rp, "specifying both OnExitCodes and OnPodConditions is not supported"));
        }
        if !has_codes && conds.is_empty() {
            errs.push(omit(&rp, "specifying one of OnExitCodes and OnPodConditions is required"));
        }
    }
    errs
}

/// An `Invalid value` whose value is omitted (Go's `field.OmitValueType`).
fn omit(path: &Path, detail: &str) -> FieldError {
    FieldError { kind: ErrorType::Invalid, field: path.into(), bad_value: None, detail: detail.into() }
}

/// `validateJobSpec` (shared by Jobs and CronJob templates).
fn job_spec(spec: Option<&Value>, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for f in [
        "parallelism",
        "completions",
        "activeDeadlineSeconds",
        "backoffLimit",
        "ttlSecondsAfterFinished",
        "backoffLimitPerIndex",
        "maxFailedIndexes",
    ] {
        if let Some(v) = spec.int(f) {
            errs.extend(non_negative(&path.child(f), v));
        }
    }
    if spec.has("maxFailedIndexes") && !spec.has("backoffLimitPerIndex") {
        errs.push(FieldError::required(path.child("backoffLimitPerIndex"), "when maxFailedIndexes is specified"));
    }
    if let Some(mb) = spec.opt_str("managedBy") {
        errs.extend(names::is_domain_prefixed_path(path.child("managedBy").as_str(), mb));
        if mb.len() > 63 {
            errs.push(FieldError::too_long(path.child("managedBy"), 63));
        }
    }
    let mode = spec.opt_str("completionMode");
    if let Some(m) = mode {
        if m != "NonIndexed" && m != "Indexed" {
            errs.push(FieldError::not_supported(path.child("completionMode"), m, &["NonIndexed", "Indexed"]));
        }
        if m == "Indexed" {
            if !spec.has("completions") {
                errs.push(FieldError::required(path.child("completions"), "when completion mode is Indexed"));
            }
            if let Some(p) = spec.int("parallelism").filter(|p| *p > 100_000) {
                errs.push(FieldError::invalid(
                    path.child("parallelism"),
                    p,
                    "must be less than or equal to 100000 when completion mode is Indexed",
                ));
            }
            if let (Some(c), Some(mf)) = (spec.int("completions"), spec.int("maxFailedIndexes"))
                && mf > c
            {
                errs.push(FieldError::invalid(
                    path.child("maxFailedIndexes"),
                    mf,
                    "must be less than or equal to completions",
                ));
            }
        }
    }
    if mode.is_none_or(|m| m == "NonIndexed") {
        for f in ["backoffLimitPerIndex", "maxFailedIndexes"] {
            if let Some(v) = spec.int(f) {
                errs.push(FieldError::invalid(path.child(f), v, "requires indexed completion mode"));
            }
        }
    }
    errs.extend(pod_failure_policy(spec, &path.child("podFailurePolicy")));
    if let Some(sp) = spec.obj("successPolicy")
        && mode != Some("Indexed")
    {
        errs.push(FieldError::invalid(path.child("successPolicy"), sp.clone(), "requires indexed completion mode"));
    }
    if let Some(prp) = spec.opt_str("podReplacementPolicy") {
        if spec.has("podFailurePolicy") {
            if prp != "Failed" {
                errs.push(FieldError::not_supported(path.child("podReplacementPolicy"), prp, &["Failed"]));
            }
        } else if prp != "Failed" && prp != "TerminatingOrFailed" {
            errs.push(FieldError::not_supported(
                path.child("podReplacementPolicy"),
                prp,
                &["Failed", "TerminatingOrFailed"],
            ));
        }
    }
    errs.extend(validate_pod_template_spec(spec.field("template"), &path.child("template")));
    errs.extend(restart_policy(spec, path));
    errs
}

/// `ValidateJobSpec`: also the selector.
fn job_spec_with_selector(spec: Option<&Value>, path: &Path) -> Vec<FieldError> {
    let mut errs = job_spec(spec, path);
    match spec.obj("selector") {
        None => errs.push(FieldError::required(path.child("selector"), "")),
        Some(sel) => {
            errs.extend(validate_label_selector(Some(sel), SelectorOpts::default(), &path.child("selector")));
            let tm = spec.field("template").field("metadata");
            if selector_matches(sel, &tm.str_map("labels")) == Some(false) {
                errs.push(FieldError::invalid_rendered(
                    path.child("template").child("metadata").child("labels"),
                    render_string_map(&tm.str_map("labels"), tm.has("labels")),
                    "`selector` does not match template `labels`",
                ));
            }
        }
    }
    errs
}

/// Job create and update.
pub fn validate_job(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let sp = Path::new("spec");
    let spec = obj.field("spec");
    let mut errs = match old {
        Some(old) => meta::validate_object_meta_update(obj, old, true),
        None => Vec::new(),
    };
    errs.extend(meta::validate_object_meta(obj, rules()));
    let prefixed =
        old.is_none_or(|o| o.field("spec").field("template").field("metadata").field("labels").has(UID_LABEL));
    errs.extend(generated_selector(obj, prefixed));
    errs.extend(job_spec_with_selector(spec, &sp));
    if spec.str_of("completionMode") == "Indexed"
        && let Some(c) = spec.int("completions").filter(|c| *c > 0)
    {
        let name = metadata(obj).str_of("name");
        let host = format!("{name}-{}", c - 1);
        if !names::is_dns1123_label(&host).is_empty() {
            errs.push(FieldError::invalid(
                "metadata.name",
                name,
                format!("will not able to create pod with invalid DNS label: {host}"),
            ));
        }
    }
    let Some(old) = old else { return errs };
    let old_spec = old.field("spec");
    let imm = |f: &str, errs: &mut Vec<FieldError>| {
        errs.extend(meta::immutable(
            spec.field(f).unwrap_or(&Value::Null),
            old_spec.field(f).unwrap_or(&Value::Null),
            &sp.child(f),
        ));
    };
    if spec.str_of("completionMode") != "Indexed" {
        imm("completions", &mut errs);
    } else if spec.int("completions") != old_spec.int("completions")
        && let Some(c) = spec.int("completions")
        && Some(c) != spec.int("parallelism")
    {
        errs.push(FieldError::invalid(
            sp.child("completions"),
            c,
            "can only be modified in tandem with spec.parallelism",
        ));
    }
    let (ns, os) = (spec.field("selector").unwrap_or(&Value::Null), old_spec.field("selector").unwrap_or(&Value::Null));
    if !semantic_eq(ns, os) {
        errs.push(FieldError::invalid_rendered(sp.child("selector"), render_label_selector(ns), meta::FIELD_IMMUTABLE));
    }
    errs.extend(template_update(spec, old_spec, old, &sp));
    for f in ["completionMode", "podFailurePolicy", "backoffLimitPerIndex", "managedBy", "successPolicy"] {
        imm(f, &mut errs);
    }
    errs
}

/// The template is immutable, except scheduling directives of a suspended job that never started.
fn template_update(spec: Option<&Value>, old_spec: Option<&Value>, old: &Value, sp: &Path) -> Vec<FieldError> {
    let (new_t, old_t) =
        (spec.field("template").cloned().unwrap_or_default(), old_spec.field("template").cloned().unwrap_or_default());
    let mut old_t = old_t;
    let suspended = old_spec.flag("suspend");
    if suspended && !old.field("status").has("startTime") {
        for (parent, key) in [
            ("spec", "nodeSelector"),
            ("spec", "tolerations"),
            ("spec", "schedulingGates"),
            ("metadata", "annotations"),
            ("metadata", "labels"),
        ] {
            let v = new_t.field(parent).field(key).cloned();
            let slot = &mut old_t[parent];
            if let Some(m) = slot.as_object_mut() {
                match v {
                    Some(v) => {
                        m.insert(key.into(), v);
                    }
                    None => {
                        m.remove(key);
                    }
                }
            }
        }
        let node_aff = new_t.field("spec").field("affinity").field("nodeAffinity").cloned();
        if let Some(aff) = old_t["spec"].get_mut("affinity").and_then(Value::as_object_mut) {
            match node_aff {
                Some(na) => {
                    aff.insert("nodeAffinity".into(), na);
                }
                None => {
                    aff.remove("nodeAffinity");
                }
            }
        } else if let Some(na) = node_aff
            && let Some(s) = old_t["spec"].as_object_mut()
        {
            s.insert("affinity".into(), serde_json::json!({"nodeAffinity": na}));
        }
    }
    meta::immutable(&new_t, &old_t, &sp.child("template"))
}

/// Job `/status`.
pub fn validate_job_status(obj: &Value, old: &Value) -> Vec<FieldError> {
    let mut errs = meta::validate_object_meta_update(obj, old, true);
    let (status, p) = (obj.field("status"), Path::new("status"));
    for f in ["active", "succeeded", "failed"] {
        errs.extend(non_negative(&p.child(f), status.int_or_zero(f)));
    }
    for f in ["ready", "terminating"] {
        if let Some(v) = status.int(f) {
            errs.extend(non_negative(&p.child(f), v));
        }
    }
    errs
}

// ---------------------------------------------------------------- CronJob

fn job_template_spec(t: Option<&Value>, path: &Path) -> Vec<FieldError> {
    let spec = t.field("spec");
    let sp = path.child("spec");
    let mut errs = job_spec(spec, &sp);
    if let Some(sel) = spec.obj("selector") {
        errs.push(FieldError::invalid_rendered(
            sp.child("selector"),
            render_label_selector(sel),
            "`selector` will be auto-generated",
        ));
    }
    if spec.flag("manualSelector") {
        errs.push(FieldError::not_supported(sp.child("manualSelector"), true, &["nil", "false"]));
    }
    errs
}

fn validate_time_zone(tz: Option<&str>, path: &Path) -> Vec<FieldError> {
    let Some(tz) = tz else { return vec![] };
    if tz.is_empty() {
        return vec![FieldError::invalid(path, tz, "timeZone must be nil or non-empty string")];
    }
    let part_ok = |p: &str| {
        p != "."
            && p != ".."
            && !p.starts_with('-')
            && (1..=14).contains(&p.len())
            && p.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_' | b'+'))
    };
    if !tz.split('/').all(part_ok) {
        return vec![FieldError::invalid(path, tz, format!("unknown time zone {tz}"))];
    }
    let mut errs = Vec::new();
    if tz.eq_ignore_ascii_case("local") {
        errs.push(FieldError::invalid(
            path,
            tz,
            "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones",
        ));
    }
    if tz != "UTC" && jiff::tz::TimeZone::get(tz).is_err() {
        errs.push(FieldError::invalid(path, tz, format!("unknown time zone {tz}")));
    }
    errs
}

fn cron_spec(spec: Option<&Value>, old_spec: Option<&Value>, path: &Path) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let schedule = spec.str_of("schedule");
    let sp = path.child("schedule");
    if schedule.is_empty() {
        errs.push(FieldError::required(&sp, ""));
    } else {
        if let Err(e) = cron::parse_standard(schedule) {
            errs.push(FieldError::invalid(&sp, schedule, e));
        }
        let allow_tz = old_spec.str_of("schedule").contains("TZ");
        if allow_tz && schedule.contains("TZ") && spec.has("timeZone") {
            errs.push(FieldError::invalid(
                &sp,
                schedule,
                "cannot use both timeZone field and TZ or CRON_TZ in schedule",
            ));
        } else if !allow_tz && schedule.contains("TZ") {
            errs.push(FieldError::invalid(
                &sp,
                schedule,
                "cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
            ));
        }
    }
    if let Some(s) = spec.int("startingDeadlineSeconds") {
        errs.extend(non_negative(&path.child("startingDeadlineSeconds"), s));
    }
    if old_spec.is_none() || old_spec.opt_str("timeZone") != spec.opt_str("timeZone") {
        errs.extend(validate_time_zone(spec.opt_str("timeZone"), &path.child("timeZone")));
    }
    match spec.str_of("concurrencyPolicy") {
        "Allow" | "Forbid" | "Replace" => {}
        "" => errs.push(FieldError::required(path.child("concurrencyPolicy"), "")),
        other => errs.push(FieldError::not_supported(
            path.child("concurrencyPolicy"),
            other,
            &["Allow", "Forbid", "Replace"],
        )),
    }
    errs.extend(job_template_spec(spec.field("jobTemplate"), &path.child("jobTemplate")));
    for f in ["successfulJobsHistoryLimit", "failedJobsHistoryLimit"] {
        if let Some(v) = spec.int(f) {
            errs.extend(non_negative(&path.child(f), v));
        }
    }
    errs
}

/// CronJob create and update.
pub fn validate_cron_job(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let sp = Path::new("spec");
    let Some(old) = old else {
        let mut errs = meta::validate_object_meta(obj, rules());
        errs.extend(cron_spec(obj.field("spec"), None, &sp));
        let name = metadata(obj).str_of("name");
        if name.len() > 52 {
            errs.push(FieldError::invalid("metadata.name", name, names::max_len_error(52)));
        }
        return errs;
    };
    let mut errs = meta::validate_object_meta_update(obj, old, true);
    errs.extend(cron_spec(obj.field("spec"), old.field("spec"), &sp));
    errs
}

/// Validate a `batch` object.
pub fn validate(kind: &str, obj: &Value, old: Option<&Value>) -> Option<Vec<FieldError>> {
    Some(match kind {
        "Job" => validate_job(obj, old),
        "CronJob" => validate_cron_job(obj, old),
        _ => return None,
    })
}

/// Validate a `/status` write of a `batch` object.
pub fn validate_status(kind: &str, obj: &Value, old: &Value) -> Option<Vec<FieldError>> {
    Some(match kind {
        "Job" => validate_job_status(obj, old),
        "CronJob" => meta::validate_object_meta_update(obj, old, true),
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

    fn pod_template(restart: &str) -> Value {
        json!({"metadata": {"labels": {}}, "spec": {"containers": [{"name": "pi", "image": "perl",
            "terminationMessagePolicy": "File", "imagePullPolicy": "Always", "resources": {}}],
            "restartPolicy": restart, "dnsPolicy": "ClusterFirst", "terminationGracePeriodSeconds": 30, "securityContext": {}}})
    }

    fn job() -> Value {
        let mut t = pod_template("Never");
        t["metadata"]["labels"] = json!({"controller-uid": "u1", "job-name": "pi", UID_LABEL: "u1", NAME_LABEL: "pi"});
        json!({"metadata": {"name": "pi", "namespace": "default", "uid": "u1", "resourceVersion": "1"},
            "spec": {"selector": {"matchLabels": {UID_LABEL: "u1"}}, "template": t, "completions": 1, "parallelism": 1,
                "backoffLimit": 6, "completionMode": "NonIndexed", "suspend": false, "podReplacementPolicy": "TerminatingOrFailed"}})
    }

    #[test]
    fn valid_job() {
        assert!(validate_job(&job(), None).is_empty());
    }

    #[test]
    fn job_mistakes() {
        let mut j = job();
        j["spec"]["template"]["spec"]["restartPolicy"] = json!("Always");
        j["spec"]["backoffLimit"] = json!(-1);
        assert_eq!(
            msgs(&validate_job(&j, None)),
            vec![
                "spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0",
                "spec.template.spec.restartPolicy: Required value: valid values: \"OnFailure\", \"Never\"",
            ]
        );
        let mut t = job();
        t["spec"]["template"]["spec"]["containers"][0]["image"] = json!("perl:2");
        assert_eq!(msgs(&validate_job(&t, Some(&job())))[0].split(": ").nth(1), Some("Invalid value"));
        assert!(msgs(&validate_job(&t, Some(&job())))[0].ends_with("field is immutable"));
    }

    #[test]
    fn cron_jobs() {
        let cj = json!({"metadata": {"name": "hello", "namespace": "default"}, "spec": {"schedule": "*/1 * * * *",
            "concurrencyPolicy": "Allow", "suspend": false, "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 1,
            "jobTemplate": {"spec": {"template": pod_template("OnFailure")}}}});
        assert!(validate_cron_job(&cj, None).is_empty());
        let mut bad = cj.clone();
        bad["spec"]["schedule"] = json!("61 * * * *");
        bad["spec"]["timeZone"] = json!("Mars/Olympus");
        assert_eq!(
            msgs(&validate_cron_job(&bad, None)),
            vec![
                "spec.schedule: Invalid value: \"61 * * * *\": end of range (61) above maximum (59): 61",
                "spec.timeZone: Invalid value: \"Mars/Olympus\": unknown time zone Mars/Olympus",
            ]
        );
        let mut tz = cj.clone();
        tz["spec"]["schedule"] = json!("CRON_TZ=UTC 0 * * * *");
        assert_eq!(
            msgs(&validate_cron_job(&tz, None)),
            vec![
                "spec.schedule: Invalid value: \"CRON_TZ=UTC 0 * * * *\": cannot use TZ or CRON_TZ in schedule, use timeZone field instead"
            ]
        );
    }
}
