//! Printers of the cluster-level groups: RBAC, certificates, coordination, scheduling, node,
//! flow control, admission registration, apiserver internals, storage migration, dynamic
//! resource allocation and API registration.

use jiff::SignedDuration;
use serde_json::Value;

use super::descriptions as d;
use super::format::{
    Ctx, arr, as_int, at, condition, deleting, go_label_selector, human_nanos, int, list_with_more, name, or, s,
};
use super::{AGE, CellsFn, Column, NAME, col, wide};

pub(super) fn printer(group: &str, resource: &str) -> Option<(&'static [Column], CellsFn)> {
    Some(match (group, resource) {
        ("rbac.authorization.k8s.io", "rolebindings") => (ROLE_BINDING_COLUMNS, binding),
        ("rbac.authorization.k8s.io", "clusterrolebindings") => (CLUSTER_ROLE_BINDING_COLUMNS, binding),
        ("certificates.k8s.io", "certificatesigningrequests") => (CSR_COLUMNS, csr),
        ("certificates.k8s.io", "clustertrustbundles") => (CTB_COLUMNS, cluster_trust_bundle),
        ("coordination.k8s.io", "leases") => (LEASE_COLUMNS, lease),
        ("coordination.k8s.io", "leasecandidates") => (LEASE_CANDIDATE_COLUMNS, lease_candidate),
        ("scheduling.k8s.io", "priorityclasses") => (PRIORITY_CLASS_COLUMNS, priority_class),
        ("node.k8s.io", "runtimeclasses") => (RUNTIME_CLASS_COLUMNS, runtime_class),
        ("flowcontrol.apiserver.k8s.io", "flowschemas") => (FLOW_SCHEMA_COLUMNS, flow_schema),
        ("flowcontrol.apiserver.k8s.io", "prioritylevelconfigurations") => (PLC_COLUMNS, priority_level),
        ("admissionregistration.k8s.io", "mutatingwebhookconfigurations" | "validatingwebhookconfigurations") => {
            (WEBHOOK_COLUMNS, webhook_configuration)
        }
        ("admissionregistration.k8s.io", "validatingadmissionpolicies") => (VAP_COLUMNS, validating_policy),
        ("admissionregistration.k8s.io", "mutatingadmissionpolicies") => (MAP_COLUMNS, mutating_policy),
        ("admissionregistration.k8s.io", "validatingadmissionpolicybindings" | "mutatingadmissionpolicybindings") => {
            (POLICY_BINDING_COLUMNS, policy_binding)
        }
        ("internal.apiserver.k8s.io", "storageversions") => (STORAGE_VERSION_COLUMNS, storage_version),
        ("storagemigration.k8s.io", "storageversionmigrations") => (SVM_COLUMNS, storage_version_migration),
        ("resource.k8s.io", "deviceclasses" | "resourceclaimtemplates") => (NAME_AGE_COLUMNS, name_age),
        ("resource.k8s.io", "resourceclaims") => (RESOURCE_CLAIM_COLUMNS, resource_claim),
        ("resource.k8s.io", "resourceslices") => (RESOURCE_SLICE_COLUMNS, resource_slice),
        _ => return None,
    })
}

// ----- RBAC -----

const ROLE_BINDING_COLUMNS: &[Column] = &[
    NAME,
    col("Role", "string", d::RBAC_ROLE_BINDING_ROLE_REF),
    AGE,
    wide("Users", "string", "Users in the roleBinding"),
    wide("Groups", "string", "Groups in the roleBinding"),
    wide("ServiceAccounts", "string", "ServiceAccounts in the roleBinding"),
];

const CLUSTER_ROLE_BINDING_COLUMNS: &[Column] = &[
    NAME,
    col("Role", "string", d::RBAC_CLUSTER_ROLE_BINDING_ROLE_REF),
    AGE,
    wide("Users", "string", "Users in the clusterRoleBinding"),
    wide("Groups", "string", "Groups in the clusterRoleBinding"),
    wide("ServiceAccounts", "string", "ServiceAccounts in the clusterRoleBinding"),
];

/// `rbac.SubjectsStrings`: users, groups and `namespace/name` service accounts.
fn subjects(obj: &Value) -> [String; 3] {
    let (mut users, mut groups, mut sas) = (Vec::new(), Vec::new(), Vec::new());
    for subject in arr(obj, &["subjects"]) {
        let n = s(subject, &["name"]);
        match s(subject, &["kind"]) {
            "ServiceAccount" => sas.push(format!("{}/{n}", s(subject, &["namespace"]))),
            "User" => users.push(n.to_string()),
            "Group" => groups.push(n.to_string()),
            _ => {}
        }
    }
    [users.join(", "), groups.join(", "), sas.join(", ")]
}

fn binding(obj: &Value, ctx: &Ctx) -> Vec<Value> {
    let [users, groups, sas] = subjects(obj);
    vec![
        name(obj).into(),
        format!("{}/{}", s(obj, &["roleRef", "kind"]), s(obj, &["roleRef", "name"])).into(),
        ctx.age(obj).into(),
        users.into(),
        groups.into(),
        sas.into(),
    ]
}

// ----- certificates -----

const CSR_COLUMNS: &[Column] = &[
    NAME,
    AGE,
    col("SignerName", "string", d::CSR_SPEC_SIGNER_NAME),
    col("Requestor", "string", d::CSR_SPEC_REQUEST),
    col("RequestedDuration", "string", d::CSR_SPEC_EXPIRATION_SECONDS),
    col("Condition", "string", d::CSR_STATUS_CONDITIONS),
];

/// `extractCSRStatus`: Denied, Approved or Pending, then `,Failed` and `,Issued`.
fn csr_status(obj: &Value) -> String {
    let conditions = arr(obj, &["status", "conditions"]);
    let has = |t: &str| conditions.iter().any(|c| s(c, &["type"]) == t);
    let mut status = if has("Denied") {
        "Denied"
    } else if has("Approved") {
        "Approved"
    } else {
        "Pending"
    }
    .to_string();
    if has("Failed") {
        status.push_str(",Failed");
    }
    if !s(obj, &["status", "certificate"]).is_empty() {
        status.push_str(",Issued");
    }
    status
}

fn csr(obj: &Value, ctx: &Ctx) -> Vec<Value> {
    let duration = at(obj, &["spec", "expirationSeconds"])
        .map_or_else(|| "<none>".to_string(), |e| human_nanos(SignedDuration::from_secs(as_int(e))));
    vec![
        name(obj).into(),
        ctx.age(obj).into(),
        or(s(obj, &["spec", "signerName"]), "<none>").into(),
        s(obj, &["spec", "username"]).into(),
        duration.into(),
        csr_status(obj).into(),
    ]
}

const CTB_COLUMNS: &[Column] = &[NAME, col("SignerName", "string", d::CTB_SPEC_SIGNER_NAME)];

fn cluster_trust_bundle(obj: &Value, _: &Ctx) -> Vec<Value> {
    vec![name(obj).into(), or(s(obj, &["spec", "signerName"]), "<none>").into()]
}

// ----- coordination, scheduling, node -----

const LEASE_COLUMNS: &[Column] = &[NAME, col("Holder", "string", d::LEASE_SPEC_HOLDER_IDENTITY), AGE];

fn lease(obj: &Value, ctx: &Ctx) -> Vec<Value> {
    vec![name(obj).into(), s(obj, &["spec", "holderIdentity"]).into(), ctx.age(obj).into()]
}

const LEASE_CANDIDATE_COLUMNS: &[Column] = &[
    NAME,
    col("LeaseName", "string", d::LEASE_CANDIDATE_SPEC_LEASE_NAME),
    // The real printer looks these up in ObjectMeta's docs, which have no such fields.
    col("BinaryVersion", "string", ""),
    col("EmulationVersion", "string", ""),
    AGE,
];

fn lease_candidate(obj: &Value, ctx: &Ctx) -> Vec<Value> {
    let spec = |f: &str| s(obj, &["spec", f]);
    vec![
        name(obj).into(),
        spec("leaseName").into(),
        spec("binaryVersion").into(),
        spec("emulationVersion").into(),
        ctx.age(obj).into(),
    ]
}

const PRIORITY_CLASS_COLUMNS: &[Column] = &[
    NAME,
    col("Value", "integer", d::PRIORITY_CLASS_VALUE),
    col("Global-Default", "boolean", d::PRIORITY_CLASS_GLOBAL_DEFAULT),
    AGE,
    col("PreemptionPolicy", "string", d::PRIORITY_CLASS_PREEMPTION_POLICY),
];

fn priority_class(obj: &Value, ctx: &Ctx) -> Vec<Value> {
    vec![
        name(obj).into(),
        int(obj, &["value"]).into(),
        obj.get("globalDefault").and_then(Value::as_bool).unwrap_or(false).into(),
        ctx.age(obj).into(),
        s(obj, &["preemptionPolicy"]).into(),
    ]
}

const RUNTIME_CLASS_COLUMNS: &[Column] = &[NAME, col("Handler", "string", ""), AGE];

fn runtime_class(obj: &Value, ctx: &Ctx) -> Vec<Value> {
    vec![name(obj).into(), s(obj, &["handler"]).into(), ctx.age(obj).into()]
}

// ----- flow control -----

const FLOW_SCHEMA_COLUMNS: &[Column] = &[
    NAME,
    col("PriorityLevel", "string", d::FLOW_PL_REFERENCE_NAME),
    col("MatchingPrecedence", "string", d::FLOW_SCHEMA_MATCHING_PRECEDENCE),
    col("DistinguisherMethod", "string", d::FLOW_SCHEMA_DISTINGUISHER),
    AGE,
    col("MissingPL", "string", "references a broken or non-existent PriorityLevelConfiguration"),
];

fn flow_schema(obj: &Value, ctx: &Ctx) -> Vec<Value> {
    let distinguisher =
        at(obj, &["spec", "distinguisherMethod"]).map_or_else(|| "<none>".to_string(), |m| s(m, &["type"]).to_string());
    let dangling = condition(arr(obj, &["status", "conditions"]), "Dangling")
        .map_or_else(|| "?".to_string(), |c| s(c, &["status"]).to_string());
    vec![
        name(obj).into(),
        s(obj, &["spec", "priorityLevelConfiguration", "name"]).into(),
        int(obj, &["spec", "matchingPrecedence"]).into(),
        distinguisher.into(),
        ctx.age(obj).into(),
        dangling.into(),
    ]
}

const PLC_COLUMNS: &[Column] = &[
    NAME,
    col("Type", "string", d::PLC_SPEC_TYPE),
    col("NominalConcurrencyShares", "string", d::PLC_NOMINAL_SHARES),
    col("Queues", "string", d::PLC_QUEUES),
    col("HandSize", "string", d::PLC_HAND_SIZE),
    col("QueueLengthLimit", "string", d::PLC_QUEUE_LENGTH_LIMIT),
    AGE,
];

fn priority_level(obj: &Value, ctx: &Ctx) -> Vec<Value> {
    let none = || Value::from("<none>");
    let (mut ncs, mut queues, mut hand, mut qll) = (none(), none(), none(), none());
    if let Some(limited) = at(obj, &["spec", "limited"]) {
        ncs = int(limited, &["nominalConcurrencyShares"]).into();
        if let Some(q) = at(limited, &["limitResponse", "queuing"]) {
            queues = int(q, &["queues"]).into();
            hand = int(q, &["handSize"]).into();
            qll = int(q, &["queueLengthLimit"]).into();
        }
    }
    vec![name(obj).into(), s(obj, &["spec", "type"]).into(), ncs, queues, hand, qll, ctx.age(obj).into()]
}

// ----- admission registration -----

const WEBHOOK_COLUMNS: &[Column] = &[
    NAME,
    col("Webhooks", "integer", "Webhooks indicates the number of webhooks registered in this configuration"),
    AGE,
];

fn webhook_configuration(obj: &Value, ctx: &Ctx) -> Vec<Value> {
    vec![name(obj).into(), (arr(obj, &["webhooks"]).len() as i64).into(), ctx.age(obj).into()]
}

const PARAM_KIND: Column =
    col("ParamKind", "string", "ParamKind specifies the kind of resources used to parameterize this policy");

const VAP_COLUMNS: &[Column] = &[
    NAME,
    col("Validations", "integer", "Validations indicates the number of validation rules defined in this configuration"),
    PARAM_KIND,
    AGE,
];

const MAP_COLUMNS: &[Column] = &[
    NAME,
    col("Mutations", "integer", "Mutation indicates the number of mutations rules defined in this configuration"),
    PARAM_KIND,
    AGE,
];

fn param_kind(obj: &Value) -> String {
    at(obj, &["spec", "paramKind"])
        .map_or_else(|| "<unset>".to_string(), |k| format!("{}/{}", s(k, &["apiVersion"]), s(k, &["kind"])))
}

fn validating_policy(obj: &Value, ctx: &Ctx) -> Vec<Value> {
    let n = arr(obj, &["spec", "validations"]).len() as i64;
    vec![name(obj).into(), n.into(), param_kind(obj).into(), ctx.age(obj).into()]
}

fn mutating_policy(obj: &Value, ctx: &Ctx) -> Vec<Value> {
    let n = arr(obj, &["spec", "mutations"]).len() as i64;
    vec![name(obj).into(), n.into(), param_kind(obj).into(), ctx.age(obj).into()]
}

const POLICY_BINDING_COLUMNS: &[Column] = &[
    NAME,
    col("PolicyName", "string", "PolicyName indicates the policy definition which the policy binding binded to"),
    col("ParamRef", "string", "ParamRef indicates the param resource which sets the configration param"),
    AGE,
];

fn param_ref(obj: &Value) -> String {
    let Some(pr) = at(obj, &["spec", "paramRef"]) else { return "<unset>".to_string() };
    let n = s(pr, &["name"]);
    if !n.is_empty() {
        let ns = s(pr, &["namespace"]);
        // Without a namespace it cannot tell whether the param is cluster-scoped.
        return if ns.is_empty() { format!("*/{n}") } else { format!("{ns}/{n}") };
    }
    at(pr, &["selector"]).map_or_else(|| "<unset>".to_string(), go_label_selector)
}

fn policy_binding(obj: &Value, ctx: &Ctx) -> Vec<Value> {
    vec![name(obj).into(), s(obj, &["spec", "policyName"]).into(), param_ref(obj).into(), ctx.age(obj).into()]
}

// ----- apiserver internals and storage migration -----

const STORAGE_VERSION_COLUMNS: &[Column] = &[
    NAME,
    col("CommonEncodingVersion", "string", d::SV_COMMON_ENCODING_VERSION),
    col("StorageVersions", "string", d::SV_STORAGE_VERSIONS),
    AGE,
];

fn storage_version(obj: &Value, ctx: &Ctx) -> Vec<Value> {
    const MAX: usize = 3;
    let versions = arr(obj, &["status", "storageVersions"]);
    let list: Vec<String> = versions
        .iter()
        .take(MAX)
        .map(|v| format!("{}={}", s(v, &["apiServerID"]), s(v, &["encodingVersion"])))
        .collect();
    let common = at(obj, &["status", "commonEncodingVersion"]).and_then(Value::as_str).unwrap_or("<unset>");
    vec![
        name(obj).into(),
        common.into(),
        list_with_more(&list, versions.len() > MAX, versions.len(), MAX).into(),
        ctx.age(obj).into(),
    ]
}

const SVM_COLUMNS: &[Column] =
    &[col("Name", "string", d::OBJECT_META_NAME), col("Resource", "string", "Fully qualified resource to migrate")];

fn storage_version_migration(obj: &Value, _: &Ctx) -> Vec<Value> {
    let r = |f: &str| s(obj, &["spec", "resource", f]);
    vec![name(obj).into(), format!("{}.{}.{}", r("resource"), r("version"), r("group")).into()]
}

// ----- dynamic resource allocation -----

const NAME_AGE_COLUMNS: &[Column] = &[NAME, AGE];

fn name_age(obj: &Value, ctx: &Ctx) -> Vec<Value> {
    vec![name(obj).into(), ctx.age(obj).into()]
}

const RESOURCE_CLAIM_COLUMNS: &[Column] =
    &[NAME, col("State", "string", "A summary of the current state (allocated, pending, reserved, etc.)."), AGE];

fn resource_claim(obj: &Value, ctx: &Ctx) -> Vec<Value> {
    let mut states = Vec::new();
    if deleting(obj) {
        states.push("deleted");
    }
    if at(obj, &["status", "allocation"]).is_none() {
        if !deleting(obj) {
            states.push("pending");
        }
    } else {
        states.push("allocated");
        if !arr(obj, &["status", "reservedFor"]).is_empty() {
            states.push("reserved");
        }
    }
    vec![name(obj).into(), states.join(",").into(), ctx.age(obj).into()]
}

const RESOURCE_SLICE_COLUMNS: &[Column] = &[
    NAME,
    col("Node", "string", d::RS_SPEC_NODE_NAME),
    col("Driver", "string", d::RS_SPEC_DRIVER),
    col("Pool", "string", d::RS_POOL_NAME),
    AGE,
];

fn resource_slice(obj: &Value, ctx: &Ctx) -> Vec<Value> {
    vec![
        name(obj).into(),
        s(obj, &["spec", "nodeName"]).into(),
        s(obj, &["spec", "driver"]).into(),
        s(obj, &["spec", "pool", "name"]).into(),
        ctx.age(obj).into(),
    ]
}

// ----- API registration -----

/// kube-aggregator's APIService columns.
pub(super) const APISERVICE_COLUMNS: &[Column] = &[
    NAME,
    col("Service", "string", "The reference to the service that hosts this API endpoint."),
    col("Available", "string", "Whether this service is available."),
    AGE,
];

/// kube-aggregator's APIService row: the backing service (or `Local`) and availability.
pub(super) fn apiservice(obj: &Value, ctx: &Ctx) -> Vec<Value> {
    let service = at(obj, &["spec", "service"])
        .map_or_else(|| "Local".to_string(), |svc| format!("{}/{}", s(svc, &["namespace"]), s(svc, &["name"])));
    let available = match condition(arr(obj, &["status", "conditions"]), "Available") {
        None => "Unknown".to_string(),
        Some(c) => {
            let status = s(c, &["status"]);
            let reason = s(c, &["reason"]);
            if status == "True" || reason.is_empty() { status.to_string() } else { format!("{status} ({reason})") }
        }
    };
    vec![name(obj).into(), service.into(), available.into(), ctx.age(obj).into()]
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::tests::now;
    use super::*;

    fn row(group: &str, resource: &str, obj: Value) -> Vec<Value> {
        super::super::cells(group, resource, &obj, now())
    }

    #[test]
    fn role_bindings() {
        let rb = json!({"metadata": {"name": "admins"}, "roleRef": {"kind": "ClusterRole", "name": "admin"},
            "subjects": [{"kind": "User", "name": "alice"}, {"kind": "Group", "name": "ops"},
                {"kind": "ServiceAccount", "namespace": "ci", "name": "deployer"}, {"kind": "User", "name": "bob"}]});
        assert_eq!(
            row("rbac.authorization.k8s.io", "rolebindings", rb),
            vec![
                json!("admins"),
                json!("ClusterRole/admin"),
                json!("<unknown>"),
                json!("alice, bob"),
                json!("ops"),
                json!("ci/deployer")
            ]
        );
        assert_eq!(
            super::super::columns("rbac.authorization.k8s.io", "clusterrolebindings")[3].description,
            "Users in the clusterRoleBinding"
        );
    }

    #[test]
    fn certificate_requests() {
        let csr = json!({"metadata": {"name": "node-csr-1", "creationTimestamp": "2024-05-01T11:59:00Z"},
            "spec": {"signerName": "kubernetes.io/kube-apiserver-client-kubelet", "username": "system:node:n1", "expirationSeconds": 86400},
            "status": {"conditions": [{"type": "Approved", "status": "True"}], "certificate": "LS0t"}});
        assert_eq!(
            row("certificates.k8s.io", "certificatesigningrequests", csr),
            vec![
                json!("node-csr-1"),
                json!("60s"),
                json!("kubernetes.io/kube-apiserver-client-kubelet"),
                json!("system:node:n1"),
                json!("24h"),
                json!("Approved,Issued")
            ]
        );
        let pending = json!({"metadata": {"name": "p"}, "spec": {}, "status": {"conditions": [{"type": "Failed"}, {"type": "Denied"}]}});
        assert_eq!(
            row("certificates.k8s.io", "certificatesigningrequests", pending)[2..],
            [json!("<none>"), json!(""), json!("<none>"), json!("Denied,Failed")]
        );
    }

    #[test]
    fn scheduling_and_flow_control() {
        let pc = json!({"metadata": {"name": "system-node-critical"}, "value": 2000001000, "globalDefault": false,
            "preemptionPolicy": "PreemptLowerPriority"});
        assert_eq!(
            row("scheduling.k8s.io", "priorityclasses", pc),
            vec![
                json!("system-node-critical"),
                json!(2000001000),
                json!(false),
                json!("<unknown>"),
                json!("PreemptLowerPriority")
            ]
        );
        let fs = json!({"metadata": {"name": "exempt"}, "spec": {"priorityLevelConfiguration": {"name": "exempt"}, "matchingPrecedence": 1},
            "status": {"conditions": [{"type": "Dangling", "status": "False"}]}});
        assert_eq!(
            row("flowcontrol.apiserver.k8s.io", "flowschemas", fs)[1..],
            [json!("exempt"), json!(1), json!("<none>"), json!("<unknown>"), json!("False")]
        );
        let plc = json!({"metadata": {"name": "workload-low"}, "spec": {"type": "Limited", "limited": {"nominalConcurrencyShares": 100,
            "limitResponse": {"type": "Queue", "queuing": {"queues": 128, "handSize": 6, "queueLengthLimit": 50}}}}});
        assert_eq!(
            row("flowcontrol.apiserver.k8s.io", "prioritylevelconfigurations", plc)[1..6],
            [json!("Limited"), json!(100), json!(128), json!(6), json!(50)]
        );
        let exempt = json!({"metadata": {"name": "exempt"}, "spec": {"type": "Exempt", "exempt": {}}});
        assert_eq!(row("flowcontrol.apiserver.k8s.io", "prioritylevelconfigurations", exempt)[2], json!("<none>"));
    }

    #[test]
    fn flow_schemas_are_sorted() {
        let fs = |n: &str, p: i64| json!({"metadata": {"name": n}, "spec": {"matchingPrecedence": p}});
        let t = super::super::table(
            "flowcontrol.apiserver.k8s.io",
            "flowschemas",
            &[fs("global-default", 9900), fs("b", 1000), fs("a", 1000), fs("exempt", 1)],
            "None",
            json!({}),
            now(),
            true,
        );
        let names: Vec<&Value> = t["rows"].as_array().into_iter().flatten().map(|r| &r["cells"][0]).collect();
        assert_eq!(names, [&json!("exempt"), &json!("a"), &json!("b"), &json!("global-default")]);
    }

    #[test]
    fn admission() {
        let vap = json!({"metadata": {"name": "p"}, "spec": {"paramKind": {"apiVersion": "v1", "kind": "ConfigMap"},
            "validations": [{"expression": "true"}]}});
        assert_eq!(
            row("admissionregistration.k8s.io", "validatingadmissionpolicies", vap)[1..3],
            [json!(1), json!("v1/ConfigMap")]
        );
        let b = |pr: Value| json!({"metadata": {"name": "b"}, "spec": {"policyName": "p", "paramRef": pr}});
        assert_eq!(
            row("admissionregistration.k8s.io", "validatingadmissionpolicybindings", b(json!({"name": "cfg"})))[2],
            json!("*/cfg")
        );
        assert_eq!(
            row(
                "admissionregistration.k8s.io",
                "mutatingadmissionpolicybindings",
                b(json!({"name": "cfg", "namespace": "ns"}))
            )[2],
            json!("ns/cfg")
        );
        assert_eq!(
            row(
                "admissionregistration.k8s.io",
                "validatingadmissionpolicybindings",
                b(json!({"selector": {"matchLabels": {"a": "b"}}}))
            )[2],
            json!(
                "&LabelSelector{MatchLabels:map[string]string{a: b,},MatchExpressions:[]LabelSelectorRequirement{},}"
            )
        );
        let wh = json!({"metadata": {"name": "w"}, "webhooks": [{"name": "a"}, {"name": "b"}]});
        assert_eq!(row("admissionregistration.k8s.io", "validatingwebhookconfigurations", wh)[1], json!(2));
        let unset = json!({"metadata": {"name": "b"}, "spec": {"policyName": "p"}});
        assert_eq!(
            row("admissionregistration.k8s.io", "validatingadmissionpolicybindings", unset)[2],
            json!("<unset>")
        );
    }

    #[test]
    fn internals_and_resources() {
        let sv = json!({"metadata": {"name": "apps.deployments"}, "status": {"commonEncodingVersion": "apps/v1",
            "storageVersions": [{"apiServerID": "a", "encodingVersion": "apps/v1"}, {"apiServerID": "b", "encodingVersion": "apps/v1"},
                {"apiServerID": "c", "encodingVersion": "apps/v1"}, {"apiServerID": "d", "encodingVersion": "apps/v1"}]}});
        assert_eq!(
            row("internal.apiserver.k8s.io", "storageversions", sv)[1..3],
            [json!("apps/v1"), json!("a=apps/v1,b=apps/v1,c=apps/v1 + 1 more...")]
        );
        let svm = json!({"metadata": {"name": "m"}, "spec": {"resource": {"group": "apps", "version": "v1", "resource": "deployments"}}});
        assert_eq!(
            row("storagemigration.k8s.io", "storageversionmigrations", svm),
            vec![json!("m"), json!("deployments.v1.apps")]
        );
        assert_eq!(super::super::columns("storagemigration.k8s.io", "storageversionmigrations")[0].format, "");
        let claim = json!({"metadata": {"name": "c"}, "status": {"allocation": {}, "reservedFor": [{"name": "pod"}]}});
        assert_eq!(row("resource.k8s.io", "resourceclaims", claim)[1], json!("allocated,reserved"));
        let gone = json!({"metadata": {"name": "c", "deletionTimestamp": "2024-05-01T11:00:00Z"}});
        assert_eq!(row("resource.k8s.io", "resourceclaims", gone)[1], json!("deleted"));
        let slice = json!({"metadata": {"name": "s"}, "spec": {"nodeName": "n1", "driver": "gpu.example.com", "pool": {"name": "n1"}}});
        assert_eq!(
            row("resource.k8s.io", "resourceslices", slice)[1..4],
            [json!("n1"), json!("gpu.example.com"), json!("n1")]
        );
        let lease = json!({"metadata": {"name": "n1"}, "spec": {"holderIdentity": "n1"}});
        assert_eq!(row("coordination.k8s.io", "leases", lease)[1], json!("n1"));
        let ctb = json!({"metadata": {"name": "b"}, "spec": {"signerName": ""}});
        assert_eq!(row("certificates.k8s.io", "clustertrustbundles", ctb), vec![json!("b"), json!("<none>")]);
    }

    #[test]
    fn apiservices() {
        let remote = json!({"metadata": {"name": "v1beta1.metrics.k8s.io"},
            "spec": {"service": {"namespace": "kube-system", "name": "metrics-server"}},
            "status": {"conditions": [{"type": "Available", "status": "False", "reason": "MissingEndpoints"}]}});
        assert_eq!(
            row("apiregistration.k8s.io", "apiservices", remote),
            vec![
                json!("v1beta1.metrics.k8s.io"),
                json!("kube-system/metrics-server"),
                json!("False (MissingEndpoints)"),
                json!("<unknown>")
            ]
        );
        let unknown = json!({"metadata": {"name": "v1."}, "spec": {}});
        assert_eq!(row("apiregistration.k8s.io", "apiservices", unknown)[1..3], [json!("Local"), json!("Unknown")]);
    }
}
