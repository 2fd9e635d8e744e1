//! Defaults of the `apps` and `batch` groups.

use serde_json::{Map, Value, json};

use super::core::{persistent_volume_claim, pod_template};
use super::{child, default_str, default_value, ensure, initial_status, items, str_at};

fn template(spec: &mut Value) {
    if let Some(t) = ensure(spec, "template") {
        pod_template(t);
    }
}

/// Apply the defaults of an `apps` kind.
pub fn apply_apps(kind: &str, obj: &mut Value) {
    let status = match kind {
        "Deployment" => json!({}),
        "ReplicaSet" => json!({"replicas": 0}),
        "StatefulSet" => json!({"replicas": 0, "availableReplicas": 0}),
        "DaemonSet" => {
            json!({"currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0, "numberReady": 0})
        }
        _ => return,
    };
    initial_status(obj, status);
    let Some(spec) = ensure(obj, "spec") else { return };
    match kind {
        "Deployment" => {
            default_value(spec, "replicas", Value::from(1));
            let strategy = ensure(spec, "strategy");
            if let Some(s) = strategy {
                default_str(s, "type", "RollingUpdate");
                if str_at(s, "type") == "RollingUpdate"
                    && let Some(ru) = ensure(s, "rollingUpdate")
                {
                    default_value(ru, "maxUnavailable", Value::from("25%"));
                    default_value(ru, "maxSurge", Value::from("25%"));
                }
            }
            default_value(spec, "revisionHistoryLimit", Value::from(10));
            default_value(spec, "progressDeadlineSeconds", Value::from(600));
            template(spec);
        }
        "ReplicaSet" => {
            default_value(spec, "replicas", Value::from(1));
            template(spec);
        }
        "DaemonSet" => {
            if let Some(s) = ensure(spec, "updateStrategy") {
                default_str(s, "type", "RollingUpdate");
                if str_at(s, "type") == "RollingUpdate"
                    && let Some(ru) = ensure(s, "rollingUpdate")
                {
                    default_value(ru, "maxUnavailable", Value::from(1));
                    default_value(ru, "maxSurge", Value::from(0));
                }
            }
            default_value(spec, "revisionHistoryLimit", Value::from(10));
            template(spec);
        }
        "StatefulSet" => stateful_set(spec),
        _ => {}
    }
}

fn stateful_set(spec: &mut Value) {
    default_str(spec, "podManagementPolicy", "OrderedReady");
    if let Some(s) = ensure(spec, "updateStrategy") {
        if str_at(s, "type").is_empty() {
            s["type"] = Value::from("RollingUpdate");
            default_value(s, "rollingUpdate", json!({}));
        }
        if str_at(s, "type") == "RollingUpdate"
            && let Some(ru) = child(s, "rollingUpdate")
        {
            default_value(ru, "partition", Value::from(0));
        }
    }
    if let Some(p) = ensure(spec, "persistentVolumeClaimRetentionPolicy") {
        default_str(p, "whenDeleted", "Retain");
        default_str(p, "whenScaled", "Retain");
    }
    default_value(spec, "replicas", Value::from(1));
    default_value(spec, "revisionHistoryLimit", Value::from(10));
    template(spec);
    for vct in items(spec, "volumeClaimTemplates") {
        persistent_volume_claim(vct);
        if let Some(m) = vct.as_object_mut() {
            m.insert("apiVersion".into(), Value::from("v1"));
            m.insert("kind".into(), Value::from("PersistentVolumeClaim"));
        }
    }
}

/// Apply the defaults of a `batch` kind.
pub fn apply_batch(kind: &str, obj: &mut Value) {
    if matches!(kind, "Job" | "CronJob") {
        initial_status(obj, json!({}));
    }
    match kind {
        "Job" => job(obj),
        "CronJob" => {
            let Some(spec) = ensure(obj, "spec") else { return };
            default_str(spec, "concurrencyPolicy", "Allow");
            default_value(spec, "suspend", Value::from(false));
            default_value(spec, "successfulJobsHistoryLimit", Value::from(3));
            default_value(spec, "failedJobsHistoryLimit", Value::from(1));
            if let Some(jt) = ensure(spec, "jobTemplate")
                && let Some(js) = ensure(jt, "spec")
            {
                template(js);
            }
        }
        _ => {}
    }
}

const LEGACY_UID: &str = "controller-uid";
const LEGACY_NAME: &str = "job-name";
const UID_LABEL: &str = "batch.kubernetes.io/controller-uid";
const NAME_LABEL: &str = "batch.kubernetes.io/job-name";

fn job(obj: &mut Value) {
    let name = obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("").to_string();
    let uid = obj.pointer("/metadata/uid").and_then(Value::as_str).unwrap_or("").to_string();
    let Some(spec) = ensure(obj, "spec") else { return };
    if spec.get("manualSelector") != Some(&Value::Bool(true)) {
        generate_selector(spec, &name, &uid);
    }
    if spec.get("completions").is_none_or(Value::is_null) && spec.get("parallelism").is_none_or(Value::is_null) {
        spec["completions"] = Value::from(1);
        spec["parallelism"] = Value::from(1);
    }
    default_value(spec, "parallelism", Value::from(1));
    let limit = if spec.get("backoffLimitPerIndex").is_some_and(|v| !v.is_null()) { i64::from(i32::MAX) } else { 6 };
    default_value(spec, "backoffLimit", Value::from(limit));
    default_value(spec, "completionMode", Value::from("NonIndexed"));
    default_value(spec, "suspend", Value::from(false));
    let has_pfp = spec.get("podFailurePolicy").is_some_and(Value::is_object);
    default_value(spec, "podReplacementPolicy", Value::from(if has_pfp { "Failed" } else { "TerminatingOrFailed" }));
    default_value(spec, "manualSelector", Value::from(false));
    if let Some(pfp) = child(spec, "podFailurePolicy") {
        for rule in items(pfp, "rules") {
            for c in items(rule, "onPodConditions") {
                default_str(c, "status", "True");
            }
        }
    }
    template(spec);
    let labels = obj.pointer("/spec/template/metadata/labels").filter(|l| l.is_object()).cloned();
    if let Some(labels) = labels
        && let Some(meta) = ensure(obj, "metadata")
        && meta.get("labels").and_then(Value::as_object).is_none_or(Map::is_empty)
    {
        meta["labels"] = labels;
    }
}

/// `generateSelector`: the pods of a job get its name and uid as labels, and the job selects
/// them by uid.
fn generate_selector(spec: &mut Value, name: &str, uid: &str) {
    if let Some(t) = ensure(spec, "template")
        && let Some(m) = ensure(t, "metadata")
        && let Some(labels) = ensure(m, "labels").and_then(Value::as_object_mut)
    {
        for (k, v) in [(LEGACY_NAME, name), (NAME_LABEL, name), (LEGACY_UID, uid), (UID_LABEL, uid)] {
            labels.entry(k.to_string()).or_insert_with(|| Value::from(v));
        }
    }
    if let Some(sel) = ensure(spec, "selector")
        && let Some(ml) = ensure(sel, "matchLabels").and_then(Value::as_object_mut)
    {
        ml.entry(UID_LABEL.to_string()).or_insert_with(|| Value::from(uid));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployments() {
        let mut d = json!({"metadata": {"name": "web"}, "spec": {"selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}});
        apply_apps("Deployment", &mut d);
        let spec = &d["spec"];
        assert_eq!(spec["replicas"], 1);
        assert_eq!(
            spec["strategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
        );
        assert_eq!(spec["revisionHistoryLimit"], 10);
        assert_eq!(spec["progressDeadlineSeconds"], 600);
        assert_eq!(d["status"], json!({}));
        let ts = &spec["template"]["spec"];
        assert_eq!(ts["restartPolicy"], "Always");
        assert_eq!(ts["containers"][0]["imagePullPolicy"], "IfNotPresent");
        assert!(ts.get("enableServiceLinks").is_none());
        assert!(ts.get("serviceAccountName").is_none());
        let mut recreate = json!({"spec": {"strategy": {"type": "Recreate"}}});
        apply_apps("Deployment", &mut recreate);
        assert_eq!(recreate["spec"]["strategy"], json!({"type": "Recreate"}));
    }

    #[test]
    fn stateful_sets_and_daemon_sets() {
        let mut s = json!({"spec": {"volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"]}}]}});
        apply_apps("StatefulSet", &mut s);
        assert_eq!(s["spec"]["updateStrategy"], json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}));
        assert_eq!(s["spec"]["podManagementPolicy"], "OrderedReady");
        assert_eq!(
            s["spec"]["persistentVolumeClaimRetentionPolicy"],
            json!({"whenDeleted": "Retain", "whenScaled": "Retain"})
        );
        assert_eq!(
            s["spec"]["volumeClaimTemplates"][0],
            json!({"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"],
            "volumeMode": "Filesystem"}, "status": {"phase": "Pending"}, "apiVersion": "v1", "kind": "PersistentVolumeClaim"})
        );
        let mut d = json!({"spec": {}});
        apply_apps("DaemonSet", &mut d);
        assert_eq!(d["status"]["numberReady"], 0);
        assert_eq!(
            d["spec"]["updateStrategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
        );
    }

    #[test]
    fn jobs() {
        let mut j = json!({"metadata": {"name": "pi", "uid": "u1"}, "spec": {"template": {"spec": {"containers": [{"name": "pi", "image": "perl"}],
            "restartPolicy": "Never"}}}});
        apply_batch("Job", &mut j);
        let spec = &j["spec"];
        assert_eq!(spec["selector"], json!({"matchLabels": {"batch.kubernetes.io/controller-uid": "u1"}}));
        let labels = json!({"job-name": "pi", "batch.kubernetes.io/job-name": "pi", "controller-uid": "u1", "batch.kubernetes.io/controller-uid": "u1"});
        assert_eq!(spec["template"]["metadata"]["labels"], labels);
        assert_eq!(j["metadata"]["labels"], labels);
        for (k, v) in [
            ("completions", json!(1)),
            ("parallelism", json!(1)),
            ("backoffLimit", json!(6)),
            ("completionMode", json!("NonIndexed")),
            ("suspend", json!(false)),
            ("podReplacementPolicy", json!("TerminatingOrFailed")),
            ("manualSelector", json!(false)),
        ] {
            assert_eq!(spec[k], v, "{k}");
        }
        let mut manual = json!({"metadata": {"name": "m", "uid": "u"}, "spec": {"manualSelector": true, "selector": {"matchLabels": {"a": "b"}},
            "template": {"metadata": {"labels": {"a": "b"}}}}});
        apply_batch("Job", &mut manual);
        assert_eq!(manual["spec"]["selector"], json!({"matchLabels": {"a": "b"}}));
        let mut cj = json!({"spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": {"containers": []}}}}}});
        apply_batch("CronJob", &mut cj);
        assert_eq!(cj["spec"]["concurrencyPolicy"], "Allow");
        assert_eq!(cj["spec"]["successfulJobsHistoryLimit"], 3);
        assert!(cj["spec"]["jobTemplate"]["spec"].get("backoffLimit").is_none());
    }
}
