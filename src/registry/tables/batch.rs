//! Printers of the batch, autoscaling and policy groups.

use jiff::SignedDuration;
use serde_json::{Value, json};

use super::core::int_or_string_or_na;
use super::descriptions as d;
use super::format::{
    Ctx, arr, at, bool_ptr, condition_true, containers, deleting, format_label_selector, human_nanos, int, name,
    parse_time, quantity, s,
};
use super::{AGE, CONTAINERS, CellsFn, Column, IMAGES, NAME, col, wide};

pub(super) fn printer(group: &str, resource: &str) -> Option<(&'static [Column], CellsFn)> {
    Some(match (group, resource) {
        ("batch", "jobs") => (JOB_COLUMNS, job),
        ("batch", "cronjobs") => (CRON_JOB_COLUMNS, cron_job),
        ("autoscaling", "horizontalpodautoscalers") => (HPA_COLUMNS, hpa),
        ("policy", "poddisruptionbudgets") => (PDB_COLUMNS, pdb),
        _ => return None,
    })
}

// ----- jobs -----

const JOB_COLUMNS: &[Column] = &[
    NAME,
    col("Status", "string", "Status of the job."),
    col("Completions", "string", d::JOB_STATUS_SUCCEEDED),
    col("Duration", "string", "Time required to complete the job."),
    AGE,
    CONTAINERS,
    IMAGES,
    wide("Selector", "string", d::JOB_SPEC_SELECTOR),
];

fn job_completions(job: &Value) -> String {
    let succeeded = int(job, &["status", "succeeded"]);
    if let Some(c) = at(job, &["spec", "completions"]) {
        return format!("{succeeded}/{}", super::format::as_int(c));
    }
    match int(job, &["spec", "parallelism"]) {
        p if p > 1 => format!("{succeeded}/1 of {p}"),
        _ => format!("{succeeded}/1"),
    }
}

fn job_duration(job: &Value, ctx: &Ctx) -> String {
    let Some(start_v) = at(job, &["status", "startTime"]) else { return String::new() };
    // An unparsable time reads as Go's zero time, far in the past.
    let start = parse_time(Some(start_v));
    match at(job, &["status", "completionTime"]) {
        None => start.map_or_else(|| human_nanos(SignedDuration::MAX), |t| ctx.since_ts(t)),
        Some(end_v) => match (start, parse_time(Some(end_v))) {
            (Some(a), Some(b)) => human_nanos(b.duration_since(a)),
            _ => human_nanos(SignedDuration::ZERO),
        },
    }
}

fn job_status(job: &Value) -> &'static str {
    let conditions = arr(job, &["status", "conditions"]);
    if condition_true(conditions, "Complete") {
        "Complete"
    } else if condition_true(conditions, "Failed") {
        "Failed"
    } else if deleting(job) {
        "Terminating"
    } else if condition_true(conditions, "Suspended") {
        "Suspended"
    } else if condition_true(conditions, "FailureTarget") {
        "FailureTarget"
    } else {
        "Running"
    }
}

fn job(job: &Value, ctx: &Ctx) -> Vec<Value> {
    let (names, images) = containers(arr(job, &["spec", "template", "spec", "containers"]));
    vec![
        name(job).into(),
        job_status(job).into(),
        job_completions(job).into(),
        job_duration(job, ctx).into(),
        ctx.age(job).into(),
        names.into(),
        images.into(),
        format_label_selector(at(job, &["spec", "selector"])).into(),
    ]
}

const CRON_JOB_COLUMNS: &[Column] = &[
    NAME,
    col("Schedule", "string", d::CRONJOB_SPEC_SCHEDULE),
    col("Timezone", "string", d::CRONJOB_SPEC_TIME_ZONE),
    col("Suspend", "boolean", d::CRONJOB_SPEC_SUSPEND),
    col("Active", "integer", d::CRONJOB_STATUS_ACTIVE),
    col("Last Schedule", "string", d::CRONJOB_STATUS_LAST_SCHEDULE),
    AGE,
    CONTAINERS,
    IMAGES,
    wide("Selector", "string", d::JOB_SPEC_SELECTOR),
];

fn cron_job(cj: &Value, ctx: &Ctx) -> Vec<Value> {
    let job_spec = at(cj, &["spec", "jobTemplate", "spec"]).cloned().unwrap_or_else(|| json!({}));
    let (names, images) = containers(arr(&job_spec, &["template", "spec", "containers"]));
    let last = at(cj, &["status", "lastScheduleTime"]).map_or_else(|| "<none>".to_string(), |t| ctx.since(Some(t)));
    vec![
        name(cj).into(),
        s(cj, &["spec", "schedule"]).into(),
        at(cj, &["spec", "timeZone"]).and_then(Value::as_str).unwrap_or("<none>").into(),
        bool_ptr(at(cj, &["spec", "suspend"])).into(),
        (arr(cj, &["status", "active"]).len() as i64).into(),
        last.into(),
        ctx.age(cj).into(),
        names.into(),
        images.into(),
        format_label_selector(at(&job_spec, &["selector"])).into(),
    ]
}

// ----- horizontal pod autoscalers -----

const HPA_COLUMNS: &[Column] = &[
    NAME,
    col("Reference", "string", d::HPA_SPEC_SCALE_TARGET_REF),
    col("Targets", "string", d::HPA_SPEC_METRICS),
    col("MinPods", "string", d::HPA_SPEC_MIN_REPLICAS),
    col("MaxPods", "string", d::HPA_SPEC_MAX_REPLICAS),
    col("Replicas", "string", d::HPA_STATUS_CURRENT_REPLICAS),
    AGE,
];

/// `(*resource.Quantity).String()` of an optional quantity: `<nil>` when unset.
fn quantity_ptr(v: Option<&Value>) -> String {
    v.map_or_else(|| "<nil>".to_string(), |q| quantity(Some(q)))
}

/// The metrics of an HPA in the autoscaling/v2 shape; autoscaling/v1 objects are converted
/// (their CPU utilization target and current value become Resource metrics).
fn hpa_metrics(hpa: &Value) -> (Vec<Value>, Vec<Value>) {
    let target = at(hpa, &["spec", "targetCPUUtilizationPercentage"]);
    if at(hpa, &["spec", "metrics"]).is_some() || target.is_none() {
        return (arr(hpa, &["spec", "metrics"]).to_vec(), arr(hpa, &["status", "currentMetrics"]).to_vec());
    }
    let specs = target
        .map(|t| {
            vec![json!({"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": t}}})]
        })
        .unwrap_or_default();
    let statuses = at(hpa, &["status", "currentCPUUtilizationPercentage"])
        .map(|c| vec![json!({"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": c}}})])
        .unwrap_or_default();
    (specs, statuses)
}

/// An External or Object metric: a value or an average value against its target.
fn value_metric(spec: Option<&Value>, status: Option<&Value>) -> String {
    let target = spec.and_then(|s| at(s, &["target"]));
    if let Some(avg) = target.and_then(|t| at(t, &["averageValue"])) {
        let current = status
            .and_then(|st| at(st, &["current", "averageValue"]))
            .map_or_else(|| "<unknown>".to_string(), |q| quantity(Some(q)));
        return format!("{current}/{} (avg)", quantity(Some(avg)));
    }
    let current = status.map_or_else(|| "<unknown>".to_string(), |st| quantity_ptr(at(st, &["current", "value"])));
    format!("{current}/{}", quantity_ptr(target.and_then(|t| at(t, &["value"]))))
}

/// A Resource or ContainerResource metric: `name: current/target`.
fn resource_metric(spec: Option<&Value>, status: Option<&Value>) -> String {
    let res_name = spec.map_or("", |s| super::format::s(s, &["name"]));
    let target = spec.and_then(|s| at(s, &["target"]));
    if let Some(avg) = target.and_then(|t| at(t, &["averageValue"])) {
        let current =
            status.map_or_else(|| "<unknown>".to_string(), |st| quantity_ptr(at(st, &["current", "averageValue"])));
        return format!("{res_name}: {current}/{}", quantity(Some(avg)));
    }
    let current = status
        .and_then(|st| at(st, &["current", "averageUtilization"]))
        .map_or_else(|| "<unknown>".to_string(), |u| format!("{}%", super::format::as_int(u)));
    let wanted = target
        .and_then(|t| at(t, &["averageUtilization"]))
        .map_or_else(|| "<auto>".to_string(), |u| format!("{}%", super::format::as_int(u)));
    format!("{res_name}: {current}/{wanted}")
}

/// `formatHPAMetrics`: at most two metrics, then `+ N more...`.
fn format_hpa_metrics(specs: &[Value], statuses: &[Value]) -> String {
    if specs.is_empty() {
        return "<none>".to_string();
    }
    let list: Vec<String> = specs
        .iter()
        .enumerate()
        .map(|(i, spec)| {
            let field = |f: &str| (at(spec, &[f]), statuses.get(i).and_then(|st| at(st, &[f])));
            match s(spec, &["type"]) {
                "External" => {
                    let (sp, st) = field("external");
                    value_metric(sp, st)
                }
                "Object" => {
                    let (sp, st) = field("object");
                    value_metric(sp, st)
                }
                "Pods" => {
                    let (sp, st) = field("pods");
                    let current = st.map_or_else(
                        || "<unknown>".to_string(),
                        |st| quantity_ptr(at(st, &["current", "averageValue"])),
                    );
                    format!("{current}/{}", quantity_ptr(sp.and_then(|sp| at(sp, &["target", "averageValue"]))))
                }
                "Resource" => {
                    let (sp, st) = field("resource");
                    resource_metric(sp, st)
                }
                "ContainerResource" => {
                    let (sp, st) = field("containerResource");
                    resource_metric(sp, st)
                }
                _ => "<unknown type>".to_string(),
            }
        })
        .collect();
    const MAX: usize = 2;
    if list.len() > MAX {
        return format!("{} + {} more...", list[..MAX].join(", "), list.len() - MAX);
    }
    list.join(", ")
}

fn hpa(hpa: &Value, ctx: &Ctx) -> Vec<Value> {
    let (specs, statuses) = hpa_metrics(hpa);
    let min = at(hpa, &["spec", "minReplicas"])
        .map_or_else(|| "<unset>".to_string(), |m| super::format::as_int(m).to_string());
    vec![
        name(hpa).into(),
        format!("{}/{}", s(hpa, &["spec", "scaleTargetRef", "kind"]), s(hpa, &["spec", "scaleTargetRef", "name"]))
            .into(),
        format_hpa_metrics(&specs, &statuses).into(),
        min.into(),
        int(hpa, &["spec", "maxReplicas"]).into(),
        int(hpa, &["status", "currentReplicas"]).into(),
        ctx.age(hpa).into(),
    ]
}

// ----- pod disruption budgets -----

const PDB_COLUMNS: &[Column] = &[
    NAME,
    col("Min Available", "string", "The minimum number of pods that must be available."),
    col("Max Unavailable", "string", "The maximum number of pods that may be unavailable."),
    col("Allowed Disruptions", "integer", "Calculated number of pods that may be disrupted at this time."),
    AGE,
];

fn pdb(obj: &Value, ctx: &Ctx) -> Vec<Value> {
    vec![
        name(obj).into(),
        int_or_string_or_na(obj, &["spec", "minAvailable"]).into(),
        int_or_string_or_na(obj, &["spec", "maxUnavailable"]).into(),
        int(obj, &["status", "disruptionsAllowed"]).into(),
        ctx.age(obj).into(),
    ]
}

#[cfg(test)]
mod tests {
    use super::super::tests::now;
    use super::*;

    fn row(group: &str, resource: &str, obj: Value) -> Vec<Value> {
        super::super::cells(group, resource, &obj, now())
    }

    #[test]
    fn jobs() {
        let done = json!({
            "metadata": {"name": "pi", "creationTimestamp": "2024-05-01T11:00:00Z"},
            "spec": {"completions": 1, "parallelism": 1, "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "u1"}},
                "template": {"spec": {"containers": [{"name": "pi", "image": "perl"}]}}},
            "status": {"succeeded": 1, "startTime": "2024-05-01T11:00:00Z", "completionTime": "2024-05-01T11:00:42Z",
                "conditions": [{"type": "SuccessCriteriaMet", "status": "True"}, {"type": "Complete", "status": "True"}]}
        });
        assert_eq!(
            row("batch", "jobs", done),
            vec![
                json!("pi"),
                json!("Complete"),
                json!("1/1"),
                json!("42s"),
                json!("60m"),
                json!("pi"),
                json!("perl"),
                json!("batch.kubernetes.io/controller-uid=u1")
            ]
        );
        let running = json!({"metadata": {"name": "w"}, "spec": {"parallelism": 3},
            "status": {"startTime": "2024-05-01T11:55:00Z", "active": 3}});
        assert_eq!(row("batch", "jobs", running)[1..4], [json!("Running"), json!("0/1 of 3"), json!("5m")]);
        let new = json!({"metadata": {"name": "n", "deletionTimestamp": "2024-05-01T11:55:00Z"}, "spec": {}});
        assert_eq!(row("batch", "jobs", new)[1..4], [json!("Terminating"), json!("0/1"), json!("")]);
        let failed = json!({"metadata": {"name": "f"}, "spec": {"completions": 3},
            "status": {"succeeded": 1, "conditions": [{"type": "Failed", "status": "True"}]}});
        assert_eq!(row("batch", "jobs", failed)[1..3], [json!("Failed"), json!("1/3")]);
        let suspended =
            json!({"metadata": {"name": "s"}, "status": {"conditions": [{"type": "Suspended", "status": "True"}]}});
        assert_eq!(row("batch", "jobs", suspended)[1], json!("Suspended"));
    }

    #[test]
    fn cron_jobs() {
        let cj = json!({
            "metadata": {"name": "hello", "creationTimestamp": "2024-04-30T12:00:00Z"},
            "spec": {"schedule": "*/5 * * * *", "suspend": false,
                "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "hello", "image": "busybox"}]}}}}},
            "status": {"active": [{"name": "hello-1"}], "lastScheduleTime": "2024-05-01T11:55:00Z"}
        });
        assert_eq!(
            row("batch", "cronjobs", cj),
            vec![
                json!("hello"),
                json!("*/5 * * * *"),
                json!("<none>"),
                json!("False"),
                json!(1),
                json!("5m"),
                json!("24h"),
                json!("hello"),
                json!("busybox"),
                json!("<none>")
            ]
        );
        let bare = json!({"metadata": {"name": "x"}, "spec": {"timeZone": "Etc/UTC"}});
        assert_eq!(
            row("batch", "cronjobs", bare)[2..6],
            [json!("Etc/UTC"), json!("<unset>"), json!(0), json!("<none>")]
        );
    }

    #[test]
    fn autoscalers() {
        let v2 = json!({
            "metadata": {"name": "web"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 1, "maxReplicas": 10,
                "metrics": [
                    {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}},
                    {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "500Mi"}}},
                    {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "1k"}}}
                ]},
            "status": {"currentReplicas": 2, "currentMetrics": [
                {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 12}}}]}
        });
        assert_eq!(
            row("autoscaling", "horizontalpodautoscalers", v2),
            vec![
                json!("web"),
                json!("Deployment/web"),
                json!("cpu: 12%/80%, memory: <unknown>/500Mi + 1 more..."),
                json!("1"),
                json!(10),
                json!(2),
                json!("<unknown>")
            ]
        );
        let v1 = json!({"apiVersion": "autoscaling/v1", "metadata": {"name": "web"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 5, "targetCPUUtilizationPercentage": 50},
            "status": {"currentReplicas": 1, "currentCPUUtilizationPercentage": 7}});
        assert_eq!(row("autoscaling", "horizontalpodautoscalers", v1)[2..4], [json!("cpu: 7%/50%"), json!("<unset>")]);
        let ext = json!({"metadata": {"name": "q"}, "spec": {"metrics": [
            {"type": "External", "external": {"target": {"type": "Value", "value": "100"}}},
            {"type": "Object", "object": {"target": {"type": "AverageValue", "averageValue": "2"}}}]},
            "status": {"currentMetrics": [{"type": "External", "external": {"current": {"value": "42"}}}]}});
        assert_eq!(row("autoscaling", "horizontalpodautoscalers", ext)[2], json!("42/100, <unknown>/2 (avg)"));
        let none = json!({"metadata": {"name": "n"}, "spec": {"metrics": []}});
        assert_eq!(row("autoscaling", "horizontalpodautoscalers", none)[2], json!("<none>"));
    }

    #[test]
    fn disruption_budgets() {
        let pdb =
            json!({"metadata": {"name": "web"}, "spec": {"minAvailable": "50%"}, "status": {"disruptionsAllowed": 1}});
        assert_eq!(
            row("policy", "poddisruptionbudgets", pdb),
            vec![json!("web"), json!("50%"), json!("N/A"), json!(1), json!("<unknown>")]
        );
        let pdb = json!({"metadata": {"name": "db"}, "spec": {"maxUnavailable": 1}});
        assert_eq!(row("policy", "poddisruptionbudgets", pdb)[1..4], [json!("N/A"), json!("1"), json!(0)]);
    }
}
