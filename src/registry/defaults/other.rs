//! Defaults of the smaller groups: networking, autoscaling, RBAC, storage, scheduling,
//! discovery, admission registration.

use serde_json::{Value, json};

use super::core::quantity;
use super::{child, default_str, default_value, ensure, initial_status, items, str_at};

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// Apply the defaults of a kind outside the core, apps and batch groups.
pub fn apply(group: &str, version: &str, kind: &str, obj: &mut Value) {
    match (group, kind) {
        ("networking.k8s.io", "NetworkPolicy") => network_policy(obj),
        ("networking.k8s.io", "IngressClass") => {
            if let Some(spec) = child(obj, "spec")
                && let Some(p) = child(spec, "parameters")
            {
                default_value(p, "scope", Value::from("Cluster"));
            }
        }
        ("networking.k8s.io", "Ingress") => {
            if let Some(status) = ensure(obj, "status") {
                default_value(status, "loadBalancer", json!({}));
            }
        }
        ("autoscaling", "HorizontalPodAutoscaler") => hpa(version, obj),
        ("policy", "PodDisruptionBudget") => initial_status(
            obj,
            json!({"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0}),
        ),
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => binding(obj),
        ("storage.k8s.io", "StorageClass") => {
            default_value(obj, "reclaimPolicy", Value::from("Delete"));
            default_value(obj, "volumeBindingMode", Value::from("Immediate"));
        }
        ("storage.k8s.io", "CSIDriver") => csi_driver(obj),
        ("storage.k8s.io", "CSIStorageCapacity") => {
            quantity(obj.get_mut("capacity"));
            quantity(obj.get_mut("maximumVolumeSize"));
        }
        ("scheduling.k8s.io", "PriorityClass") => {
            default_value(obj, "preemptionPolicy", Value::from("PreemptLowerPriority"))
        }
        ("discovery.k8s.io", "EndpointSlice") => {
            for p in items(obj, "ports") {
                default_value(p, "name", Value::from(""));
                default_value(p, "protocol", Value::from("TCP"));
            }
        }
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration") => webhooks(obj, true),
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration") => webhooks(obj, false),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy" | "ValidatingAdmissionPolicyBinding") => {
            crate::registry::admission::policy::apply_defaults(kind, obj)
        }
        _ => {}
    }
}

fn network_policy(obj: &mut Value) {
    let Some(spec) = ensure(obj, "spec") else { return };
    for rules in ["ingress", "egress"] {
        for rule in items(spec, rules) {
            for p in items(rule, "ports") {
                default_value(p, "protocol", Value::from("TCP"));
            }
        }
    }
    let empty = spec.get("policyTypes").and_then(Value::as_array).is_none_or(Vec::is_empty);
    if empty {
        let mut types = vec![Value::from("Ingress")];
        if spec.get("egress").and_then(Value::as_array).is_some_and(|e| !e.is_empty()) {
            types.push(Value::from("Egress"));
        }
        spec["policyTypes"] = Value::Array(types);
    }
    default_value(spec, "podSelector", json!({}));
}

fn scaling_rules(rules: &mut Value, up: bool) {
    default_value(rules, "stabilizationWindowSeconds", Value::from(if up { 0 } else { 300 }));
    default_value(rules, "selectPolicy", Value::from("Max"));
    let empty = rules.get("policies").and_then(Value::as_array).is_none_or(Vec::is_empty);
    if empty {
        rules["policies"] = if up {
            json!([{"type": "Pods", "value": 4, "periodSeconds": 15}, {"type": "Percent", "value": 100, "periodSeconds": 15}])
        } else {
            json!([{"type": "Percent", "value": 100, "periodSeconds": 15}])
        };
    }
}

fn hpa(version: &str, obj: &mut Value) {
    let status = if version == "v1" {
        json!({"currentReplicas": 0, "desiredReplicas": 0})
    } else {
        json!({"desiredReplicas": 0})
    };
    initial_status(obj, status);
    let Some(spec) = ensure(obj, "spec") else { return };
    default_value(spec, "minReplicas", Value::from(1));
    if version == "v1" {
        // Stored as autoscaling/v2, whose defaults add an 80% CPU target that reads back here.
        default_value(spec, "targetCPUUtilizationPercentage", Value::from(80));
        return;
    }
    let no_metrics = spec.get("metrics").and_then(Value::as_array).is_none_or(Vec::is_empty);
    if no_metrics {
        spec["metrics"] = json!([{"type": "Resource", "resource": {"name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": 80}}}]);
    }
    for m in items(spec, "metrics") {
        for source in ["object", "pods", "resource", "containerResource", "external"] {
            if let Some(s) = child(m, source)
                && let Some(t) = child(s, "target")
            {
                quantity(t.get_mut("value"));
                quantity(t.get_mut("averageValue"));
            }
        }
    }
    if let Some(b) = child(spec, "behavior") {
        if let Some(up) = ensure(b, "scaleUp") {
            scaling_rules(up, true);
        }
        if let Some(down) = ensure(b, "scaleDown") {
            scaling_rules(down, false);
        }
    }
}

fn binding(obj: &mut Value) {
    if let Some(rr) = ensure(obj, "roleRef") {
        default_str(rr, "apiGroup", RBAC_GROUP);
    }
    for s in items(obj, "subjects") {
        if str_at(s, "apiGroup").is_empty() {
            let group = match str_at(s, "kind") {
                "User" | "Group" => RBAC_GROUP,
                _ => continue,
            };
            s["apiGroup"] = Value::from(group);
        }
    }
}

fn csi_driver(obj: &mut Value) {
    let Some(spec) = ensure(obj, "spec") else { return };
    default_value(spec, "attachRequired", Value::from(true));
    default_value(spec, "podInfoOnMount", Value::from(false));
    default_value(spec, "storageCapacity", Value::from(false));
    default_value(spec, "fsGroupPolicy", Value::from("ReadWriteOnceWithFSType"));
    let empty = spec.get("volumeLifecycleModes").and_then(Value::as_array).is_none_or(Vec::is_empty);
    if empty {
        spec["volumeLifecycleModes"] = json!(["Persistent"]);
    }
    default_value(spec, "requiresRepublish", Value::from(false));
    default_value(spec, "seLinuxMount", Value::from(false));
}

fn webhooks(obj: &mut Value, mutating: bool) {
    for w in items(obj, "webhooks") {
        default_value(w, "failurePolicy", Value::from("Fail"));
        default_value(w, "matchPolicy", Value::from("Equivalent"));
        default_value(w, "namespaceSelector", json!({}));
        default_value(w, "objectSelector", json!({}));
        default_value(w, "timeoutSeconds", Value::from(10));
        if mutating {
            default_value(w, "reinvocationPolicy", Value::from("Never"));
        }
        for r in items(w, "rules") {
            default_value(r, "scope", Value::from("*"));
        }
        if let Some(cc) = child(w, "clientConfig")
            && let Some(svc) = child(cc, "service")
        {
            default_value(svc, "port", Value::from(443));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hpa_v2() {
        let mut h = json!({"spec": {"maxReplicas": 5, "behavior": {"scaleDown": {"stabilizationWindowSeconds": 60}}}});
        apply("autoscaling", "v2", "HorizontalPodAutoscaler", &mut h);
        assert_eq!(h["spec"]["minReplicas"], 1);
        assert_eq!(h["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"], 80);
        assert_eq!(
            h["spec"]["behavior"]["scaleDown"],
            json!({"stabilizationWindowSeconds": 60, "selectPolicy": "Max",
            "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]})
        );
        assert_eq!(
            h["spec"]["behavior"]["scaleUp"]["policies"][0],
            json!({"type": "Pods", "value": 4, "periodSeconds": 15})
        );
    }

    #[test]
    fn network_policies_and_bindings() {
        let mut np = json!({"spec": {"podSelector": {}, "egress": [{"ports": [{"port": 53}]}]}});
        apply("networking.k8s.io", "v1", "NetworkPolicy", &mut np);
        assert_eq!(np["spec"]["policyTypes"], json!(["Ingress", "Egress"]));
        assert_eq!(np["spec"]["egress"][0]["ports"][0]["protocol"], "TCP");
        let mut rb = json!({"roleRef": {"kind": "ClusterRole", "name": "view"}, "subjects": [{"kind": "User", "name": "a"},
            {"kind": "ServiceAccount", "name": "d", "namespace": "n"}]});
        apply(RBAC_GROUP, "v1", "RoleBinding", &mut rb);
        assert_eq!(rb["roleRef"]["apiGroup"], RBAC_GROUP);
        assert_eq!(rb["subjects"][0]["apiGroup"], RBAC_GROUP);
        assert!(rb["subjects"][1].get("apiGroup").is_none());
    }

    #[test]
    fn storage_and_scheduling() {
        let mut sc = json!({"provisioner": "rancher.io/local-path"});
        apply("storage.k8s.io", "v1", "StorageClass", &mut sc);
        assert_eq!(
            sc,
            json!({"provisioner": "rancher.io/local-path", "reclaimPolicy": "Delete", "volumeBindingMode": "Immediate"})
        );
        let mut pc = json!({"value": 10});
        apply("scheduling.k8s.io", "v1", "PriorityClass", &mut pc);
        assert_eq!(pc["preemptionPolicy"], "PreemptLowerPriority");
    }
}
