//! Validation of built-in kinds, as the Kubernetes 1.33 API server does it: the ObjectMeta
//! rules (names per kind, labels, annotations, finalizers, owner references), each kind's spec
//! rules, and on update the immutability rules. Errors carry the real field paths and messages.
//!
//! Objects are JSON in wire format, already decoded through their k8s-openapi type (so field
//! types are right) and already defaulted ([`crate::registry::defaults`]).

pub mod access;
pub mod admissionregistration;
pub mod apps;
pub mod autoscaling;
pub mod batch;
pub mod certificates;
pub mod coordination;
pub mod core;
pub mod cron;
pub mod discovery;
pub mod meta;
pub mod names;
pub mod networking;
pub mod policy;
pub mod rbac;
pub mod scheduling;
pub mod storage;

use serde_json::Value;

use self::access::{Fields, metadata};
use self::meta::{MetaRules, NameFn};
use crate::registry::field_error::FieldError;

/// Groups served by the API server itself (their kinds get the extra finalizer-name rule).
const BUILTIN_GROUPS: [&str; 21] = [
    "",
    "apps",
    "batch",
    "autoscaling",
    "networking.k8s.io",
    "policy",
    "rbac.authorization.k8s.io",
    "storage.k8s.io",
    "scheduling.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "events.k8s.io",
    "certificates.k8s.io",
    "admissionregistration.k8s.io",
    "flowcontrol.apiserver.k8s.io",
    "node.k8s.io",
    "resource.k8s.io",
    "internal.apiserver.k8s.io",
    "storagemigration.k8s.io",
    "authentication.k8s.io",
    "authorization.k8s.io",
];

/// Built-in kinds that live outside namespaces.
const CLUSTER_SCOPED: [&str; 36] = [
    "Namespace",
    "Node",
    "PersistentVolume",
    "ComponentStatus",
    "ClusterRole",
    "ClusterRoleBinding",
    "StorageClass",
    "CSIDriver",
    "CSINode",
    "VolumeAttachment",
    "VolumeAttributesClass",
    "PriorityClass",
    "IngressClass",
    "IPAddress",
    "ServiceCIDR",
    "CertificateSigningRequest",
    "ClusterTrustBundle",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "MutatingAdmissionPolicy",
    "MutatingAdmissionPolicyBinding",
    "CustomResourceDefinition",
    "APIService",
    "FlowSchema",
    "PriorityLevelConfiguration",
    "RuntimeClass",
    "DeviceClass",
    "ResourceSlice",
    "StorageVersion",
    "StorageVersionMigration",
    "TokenReview",
    "SelfSubjectReview",
    "SubjectAccessReview",
    "SelfSubjectAccessReview",
];

fn is_builtin_group(group: &str) -> bool {
    BUILTIN_GROUPS.contains(&group)
}

/// The name rule of a kind (`ValidateNameFunc`).
fn name_fn(group: &str, kind: &str) -> NameFn {
    match (group, kind) {
        ("", "Namespace") | ("apps", "StatefulSet") => names::name_is_dns_label,
        ("", "Service") => names::name_is_dns1035_label,
        ("rbac.authorization.k8s.io", _) => names::name_is_path_segment,
        ("networking.k8s.io", "IPAddress") => networking::ip_address_name,
        ("certificates.k8s.io", "CertificateSigningRequest") => |_, _| Vec::new(),
        _ => names::name_is_dns_subdomain,
    }
}

/// Name validation alone (also used for names in request paths): the messages of the kind's
/// name validator. `prefix` checks a `generateName` prefix.
pub fn validate_name(group: &str, kind: &str, name: &str, prefix: bool) -> Vec<String> {
    name_fn(group, kind)(name, prefix)
}

/// The metadata rules of a kind without specific validation here.
fn generic_rules(group: &str, kind: &str, obj: &Value) -> MetaRules {
    let namespaced = if is_builtin_group(group) {
        Some(!CLUSTER_SCOPED.contains(&kind))
    } else if metadata(obj).str_of("namespace").is_empty() {
        None
    } else {
        Some(true)
    };
    MetaRules { name: name_fn(group, kind), namespaced, builtin: is_builtin_group(group) }
}

/// Validate an object being created (`old == None`) or updated (`old` = the stored object).
pub fn validate(group: &str, version: &str, kind: &str, obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let specific = match group {
        "" => core::validate(kind, obj, old),
        "apps" => apps::validate(kind, obj, old),
        "batch" => batch::validate(kind, obj, old),
        "networking.k8s.io" => networking::validate(kind, obj, old),
        "rbac.authorization.k8s.io" => rbac::validate(kind, obj, old),
        "storage.k8s.io" => storage::validate(kind, obj, old),
        "policy" if kind == "PodDisruptionBudget" => Some(policy::validate_pdb(obj, old)),
        "scheduling.k8s.io" if kind == "PriorityClass" => Some(scheduling::validate_priority_class(obj, old)),
        "coordination.k8s.io" if kind == "Lease" => Some(coordination::validate_lease(obj, old)),
        "discovery.k8s.io" if kind == "EndpointSlice" => Some(discovery::validate_endpoint_slice(obj, old)),
        "autoscaling" if kind == "HorizontalPodAutoscaler" => Some(autoscaling::validate_hpa(version, obj, old)),
        "events.k8s.io" if kind == "Event" => Some(core::objects::validate_event(obj, old, true)),
        "certificates.k8s.io" if kind == "CertificateSigningRequest" => Some(certificates::validate_csr(obj, old)),
        "admissionregistration.k8s.io" => admissionregistration::validate(kind, obj, old),
        _ => None,
    };
    dedup(specific.unwrap_or_else(|| meta::validate_meta(obj, old, generic_rules(group, kind, obj))))
}

/// Validate a write to the `/status` subresource: metadata rules and the kind's status rules.
pub fn validate_status(group: &str, _version: &str, kind: &str, obj: &Value, old: &Value) -> Vec<FieldError> {
    let specific = match group {
        "" => core::validate_status(kind, obj, old),
        "apps" => apps::validate_status(kind, obj, old),
        "batch" => batch::validate_status(kind, obj, old),
        "networking.k8s.io" => networking::validate_status(kind, obj, old),
        "policy" if kind == "PodDisruptionBudget" => Some(policy::validate_pdb_status(obj, old)),
        "autoscaling" if kind == "HorizontalPodAutoscaler" => Some(autoscaling::validate_hpa_status(obj, old)),
        _ => None,
    };
    dedup(specific.unwrap_or_else(|| meta::validate_object_meta_update(obj, old, is_builtin_group(group))))
}

/// Drop repeated errors (the real server reports each once in its aggregate).
fn dedup(errs: Vec<FieldError>) -> Vec<FieldError> {
    let mut out: Vec<FieldError> = Vec::with_capacity(errs.len());
    for e in errs {
        if !out.contains(&e) {
            out.push(e);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn name_rules_per_kind() {
        assert!(validate_name("", "Pod", "web.example", false).is_empty());
        assert_eq!(validate_name("", "Namespace", "a.b", false), vec!["must not contain dots"]);
        assert_eq!(validate_name("", "Service", "1abc", false).len(), 1);
        assert!(
            validate_name("rbac.authorization.k8s.io", "ClusterRole", "system:aggregate-to-view", false).is_empty()
        );
        assert_eq!(validate_name("rbac.authorization.k8s.io", "Role", "a%b", false), vec!["may not contain '%'"]);
        assert_eq!(validate_name("apps", "StatefulSet", "db.primary", false), vec!["must not contain dots"]);
        assert!(validate_name("", "ConfigMap", "cfg-", true).is_empty());
        assert!(validate_name("networking.k8s.io", "IPAddress", "10.43.0.1", false).is_empty());
    }

    #[test]
    fn kinds_without_rules_get_metadata_checks() {
        let obj = json!({"metadata": {"name": "Bad"}});
        let errs = validate("example.com", "v1", "Widget", &obj, None);
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].field, "metadata.name");
        let obj = json!({"metadata": {"name": "x", "finalizers": ["custom"]}});
        assert!(validate("example.com", "v1", "Widget", &obj, None).is_empty());
        assert_eq!(validate("node.k8s.io", "v1", "RuntimeClass", &obj, None).len(), 1);
    }

    #[test]
    fn status_writes() {
        let old = json!({"metadata": {"name": "web", "namespace": "d", "uid": "1", "resourceVersion": "3"},
            "status": {"replicas": 1}});
        let mut new = old.clone();
        new["status"]["updatedReplicas"] = json!(2);
        let errs: Vec<String> =
            validate_status("apps", "v1", "Deployment", &new, &old).iter().map(ToString::to_string).collect();
        assert_eq!(errs, vec!["status.updatedReplicas: Invalid value: 2: cannot be greater than status.replicas"]);
    }

    /// Objects as users write them pass validation once defaulted, as on a real cluster.
    #[test]
    fn defaulted_objects_validate() {
        let meta = |name: &str| json!({"name": name, "namespace": "default", "uid": "0c5e1f6a-1", "generation": 1});
        let cluster_meta = |name: &str| json!({"name": name, "uid": "0c5e1f6a-2"});
        let pod_spec = json!({"containers": [{"name": "app", "image": "nginx:1.27", "ports": [{"containerPort": 80}],
            "resources": {"limits": {"cpu": "0.5", "memory": "128Mi"}},
            "livenessProbe": {"httpGet": {"port": 80}}, "volumeMounts": [{"name": "cfg", "mountPath": "/etc/app"}]}],
            "volumes": [{"name": "cfg", "configMap": {"name": "app"}}]});
        let template = json!({"metadata": {"labels": {"app": "web"}}, "spec": pod_spec});
        let mut job_template = template.clone();
        job_template["spec"]["restartPolicy"] = json!("Never");
        let cases: Vec<(&str, &str, &str, Value)> = vec![
            ("", "v1", "Pod", json!({"metadata": meta("web"), "spec": pod_spec})),
            (
                "",
                "v1",
                "Service",
                json!({"metadata": meta("web"), "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}),
            ),
            (
                "",
                "v1",
                "Service",
                json!({"metadata": meta("db"), "spec": {"clusterIP": "None", "clusterIPs": ["None"], "ports": [{"port": 5432}]}}),
            ),
            (
                "",
                "v1",
                "Service",
                json!({"metadata": meta("ext"), "spec": {"type": "ExternalName", "externalName": "example.com."}}),
            ),
            (
                "",
                "v1",
                "Service",
                json!({"metadata": meta("lb"), "spec": {"type": "LoadBalancer", "selector": {"app": "web"},
                "ports": [{"name": "http", "port": 80}, {"name": "https", "port": 443}]}}),
            ),
            ("", "v1", "Namespace", json!({"metadata": cluster_meta("dev")})),
            ("", "v1", "ConfigMap", json!({"metadata": meta("app"), "data": {"app.conf": "x=1"}})),
            ("", "v1", "Secret", json!({"metadata": meta("creds"), "stringData": {"password": "hunter2"}})),
            ("", "v1", "ServiceAccount", json!({"metadata": meta("builder")})),
            (
                "",
                "v1",
                "PersistentVolumeClaim",
                json!({"metadata": meta("data"), "spec": {"accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "1Gi"}}, "storageClassName": "local-path"}}),
            ),
            (
                "",
                "v1",
                "PersistentVolume",
                json!({"metadata": cluster_meta("pv1"), "spec": {"accessModes": ["ReadWriteOnce"],
                "capacity": {"storage": "5Gi"}, "hostPath": {"path": "/data/pv1"}}}),
            ),
            ("", "v1", "ReplicationController", json!({"metadata": meta("rc"), "spec": {"template": template}})),
            ("", "v1", "PodTemplate", json!({"metadata": meta("pt"), "template": template})),
            (
                "",
                "v1",
                "Endpoints",
                json!({"metadata": meta("web"), "subsets": [{"addresses": [{"ip": "10.42.0.7"}], "ports": [{"port": 80}]}]}),
            ),
            (
                "",
                "v1",
                "LimitRange",
                json!({"metadata": meta("lr"), "spec": {"limits": [{"type": "Container", "max": {"cpu": "2"}, "min": {"cpu": "100m"}}]}}),
            ),
            (
                "",
                "v1",
                "ResourceQuota",
                json!({"metadata": meta("rq"), "spec": {"hard": {"pods": "10", "requests.cpu": "4", "count/deployments.apps": "5"}}}),
            ),
            (
                "",
                "v1",
                "Node",
                json!({"metadata": cluster_meta("node-1"), "status": {"capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"}}}),
            ),
            (
                "apps",
                "v1",
                "Deployment",
                json!({"metadata": meta("web"), "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": template}}),
            ),
            (
                "apps",
                "v1",
                "ReplicaSet",
                json!({"metadata": meta("web-1"), "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": template}}),
            ),
            (
                "apps",
                "v1",
                "DaemonSet",
                json!({"metadata": meta("agent"), "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": template}}),
            ),
            (
                "apps",
                "v1",
                "StatefulSet",
                json!({"metadata": meta("db"), "spec": {"selector": {"matchLabels": {"app": "web"}}, "serviceName": "db",
                "template": template, "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "1Gi"}}}}]}}),
            ),
            ("batch", "v1", "Job", json!({"metadata": meta("pi"), "spec": {"template": job_template}})),
            (
                "batch",
                "v1",
                "CronJob",
                json!({"metadata": meta("hello"), "spec": {"schedule": "*/5 * * * *", "timeZone": "Europe/Paris",
                "jobTemplate": {"spec": {"template": job_template}}}}),
            ),
            (
                "networking.k8s.io",
                "v1",
                "Ingress",
                json!({"metadata": meta("web"), "spec": {"rules": [{"host": "web.example.com",
                "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"name": "http"}}}}]}}]}}),
            ),
            (
                "networking.k8s.io",
                "v1",
                "NetworkPolicy",
                json!({"metadata": meta("deny"), "spec": {"podSelector": {}}}),
            ),
            (
                "networking.k8s.io",
                "v1",
                "IngressClass",
                json!({"metadata": cluster_meta("traefik"), "spec": {"controller": "traefik.io/ingress-controller"}}),
            ),
            (
                "autoscaling",
                "v2",
                "HorizontalPodAutoscaler",
                json!({"metadata": meta("web"), "spec": {"maxReplicas": 5,
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "behavior": {}}}),
            ),
            (
                "autoscaling",
                "v1",
                "HorizontalPodAutoscaler",
                json!({"metadata": meta("web"), "spec": {"maxReplicas": 5,
                "scaleTargetRef": {"kind": "Deployment", "name": "web"}}}),
            ),
            (
                "policy",
                "v1",
                "PodDisruptionBudget",
                json!({"metadata": meta("web"), "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "web"}}}}),
            ),
            ("scheduling.k8s.io", "v1", "PriorityClass", json!({"metadata": cluster_meta("high"), "value": 1000})),
            (
                "storage.k8s.io",
                "v1",
                "StorageClass",
                json!({"metadata": cluster_meta("local-path"), "provisioner": "rancher.io/local-path"}),
            ),
            (
                "rbac.authorization.k8s.io",
                "v1",
                "Role",
                json!({"metadata": meta("reader"), "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]}),
            ),
            (
                "rbac.authorization.k8s.io",
                "v1",
                "RoleBinding",
                json!({"metadata": meta("reader"), "roleRef": {"kind": "Role", "name": "reader"},
                "subjects": [{"kind": "User", "name": "jane"}, {"kind": "ServiceAccount", "name": "default"}]}),
            ),
            (
                "coordination.k8s.io",
                "v1",
                "Lease",
                json!({"metadata": meta("leader"), "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15}}),
            ),
            (
                "discovery.k8s.io",
                "v1",
                "EndpointSlice",
                json!({"metadata": meta("web-x1"), "addressType": "IPv4",
                "endpoints": [{"addresses": ["10.42.0.7"]}], "ports": [{"port": 80}]}),
            ),
            (
                "events.k8s.io",
                "v1",
                "Event",
                json!({"metadata": meta("web.1"), "eventTime": "2025-01-01T00:00:00.000000Z",
                "reportingController": "coracle.io/kubelet", "reportingInstance": "node-1", "action": "Pulling", "reason": "Pulling",
                "type": "Normal", "note": "Pulling image", "regarding": {"kind": "Pod", "namespace": "default", "name": "web"}}),
            ),
            (
                "",
                "v1",
                "Event",
                json!({"metadata": meta("web.2"), "involvedObject": {"kind": "Pod", "namespace": "default", "name": "web"},
                "reason": "Scheduled", "message": "assigned", "type": "Normal", "source": {"component": "default-scheduler"}}),
            ),
            (
                "certificates.k8s.io",
                "v1",
                "CertificateSigningRequest",
                json!({"metadata": cluster_meta("csr-1"), "spec": {
                "request": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURSBSRVFVRVNULS0tLS0K", "signerName": "kubernetes.io/kube-apiserver-client",
                "usages": ["client auth"]}}),
            ),
        ];
        for (group, version, kind, mut obj) in cases {
            crate::registry::defaults::apply_defaults(group, version, kind, &mut obj);
            let errs: Vec<String> =
                validate(group, version, kind, &obj, None).iter().map(ToString::to_string).collect();
            assert!(errs.is_empty(), "{group}/{kind}: {errs:?}\n{obj:#}");
            let mut again = obj.clone();
            again["metadata"]["resourceVersion"] = json!("5");
            let mut old = again.clone();
            crate::registry::defaults::apply_defaults(group, version, kind, &mut again);
            old["metadata"]["resourceVersion"] = json!("5");
            let errs: Vec<String> =
                validate(group, version, kind, &again, Some(&old)).iter().map(ToString::to_string).collect();
            assert!(errs.is_empty(), "update of {group}/{kind}: {errs:?}");
            assert_eq!(again, old, "defaults of {group}/{kind} are idempotent");
        }
    }
}
