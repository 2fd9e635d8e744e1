//! What kubectl learns about the server: `version`, `api-resources`, `api-versions`,
//! `explain` (OpenAPI v3, and v2 for kubectl 1.27), and `auth can-i`.

use std::collections::BTreeSet;

use crate::harness::{Server, VERSIONS};
use crate::util::Table;

#[test]
fn version_reports_1_33_coracle() {
    let s = Server::start();
    for v in VERSIONS {
        let k = s.kubectl(v);
        let j = k.json(&["version", "-o", "json"]);
        assert_eq!(j["clientVersion"]["minor"], v.split('.').nth(1).unwrap(), "kubectl {v}: {j}");
        let server = &j["serverVersion"];
        let git = server["gitVersion"].as_str().unwrap_or_default();
        assert!(git.starts_with("v1.33.") && git.ends_with("+coracle"), "kubectl {v}: {server}");
        assert_eq!(server["major"], "1", "kubectl {v}: {server}");
        assert_eq!(server["minor"], "33", "kubectl {v}: {server}");
        assert!(server["platform"].as_str().unwrap_or_default().contains('/'), "kubectl {v}: {server}");
        // 1.33 prints "Server Version: v1.33.0+coracle"; 1.27 prints the Go struct.
        let plain = k.ok(&["version"]);
        assert!(plain.contains("Server Version: ") && plain.contains(git), "kubectl {v}: {plain}");
    }
}

#[test]
fn api_resources_lists_every_group_with_short_names_and_scope() {
    let s = Server::start();
    for v in VERSIONS {
        let k = s.kubectl(v);
        let out = k.ok(&["api-resources"]);
        let t = Table::parse(&out);
        assert_eq!(t.headers, ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"], "kubectl {v}");
        for (name, short, api, namespaced, kind) in [
            ("pods", "po", "v1", "true", "Pod"),
            ("services", "svc", "v1", "true", "Service"),
            ("configmaps", "cm", "v1", "true", "ConfigMap"),
            ("namespaces", "ns", "v1", "false", "Namespace"),
            ("nodes", "no", "v1", "false", "Node"),
            ("persistentvolumes", "pv", "v1", "false", "PersistentVolume"),
            ("deployments", "deploy", "apps/v1", "true", "Deployment"),
            ("statefulsets", "sts", "apps/v1", "true", "StatefulSet"),
            ("cronjobs", "cj", "batch/v1", "true", "CronJob"),
            ("horizontalpodautoscalers", "hpa", "autoscaling/v2", "true", "HorizontalPodAutoscaler"),
            ("ingresses", "ing", "networking.k8s.io/v1", "true", "Ingress"),
            ("clusterroles", "", "rbac.authorization.k8s.io/v1", "false", "ClusterRole"),
            ("storageclasses", "sc", "storage.k8s.io/v1", "false", "StorageClass"),
            ("customresourcedefinitions", "crd,crds", "apiextensions.k8s.io/v1", "false", "CustomResourceDefinition"),
        ] {
            let r = t.row(name);
            assert_eq!(r["SHORTNAMES"], short, "kubectl {v}: {name}");
            assert_eq!(r["APIVERSION"], api, "kubectl {v}: {name}");
            assert_eq!(r["NAMESPACED"], namespaced, "kubectl {v}: {name}");
            assert_eq!(r["KIND"], kind, "kubectl {v}: {name}");
        }
        // Every group kubectl knows from api-versions appears among the resources.
        let groups_of = |apis: Vec<&str>| -> BTreeSet<String> {
            apis.into_iter().map(|a| a.rsplit_once('/').map(|(g, _)| g).unwrap_or("").to_string()).collect()
        };
        let versions = k.ok(&["api-versions"]);
        let from_versions = groups_of(versions.lines().collect());
        let from_resources = groups_of(t.rows.iter().map(|r| r[2].1.as_str()).collect());
        assert_eq!(from_resources, from_versions, "kubectl {v}");
        for g in
            ["", "apps", "batch", "autoscaling", "policy", "networking.k8s.io", "events.k8s.io", "discovery.k8s.io"]
        {
            assert!(from_resources.contains(g), "kubectl {v}: group {g:?} missing from {from_resources:?}");
        }

        // Scope filter, group filter, and the wide columns (verbs, categories).
        let cluster = Table::parse(&k.ok(&["api-resources", "--namespaced=false"]));
        let cluster_names: BTreeSet<&str> = cluster.rows.iter().map(|r| r[0].1.as_str()).collect();
        assert!(cluster_names.contains("namespaces") && cluster_names.contains("nodes"), "kubectl {v}");
        assert!(!cluster_names.contains("pods") && !cluster_names.contains("configmaps"), "kubectl {v}");
        let apps = Table::parse(&k.ok(&["api-resources", "--api-group=apps"]));
        let app_names: BTreeSet<&str> = apps.rows.iter().map(|r| r[0].1.as_str()).collect();
        assert_eq!(
            app_names,
            BTreeSet::from(["controllerrevisions", "daemonsets", "deployments", "replicasets", "statefulsets"]),
            "kubectl {v}"
        );
        let wide = Table::parse(&k.ok(&["api-resources", "-o", "wide"]));
        let pods = wide.row("pods");
        assert_eq!(pods["VERBS"], "create,delete,deletecollection,get,list,patch,update,watch", "kubectl {v}");
        assert_eq!(pods["CATEGORIES"], "all", "kubectl {v}");
        assert_eq!(wide.row("bindings")["VERBS"], "create", "kubectl {v}");
        let names = k.ok(&["api-resources", "-o", "name", "--verbs=list", "--namespaced"]);
        assert!(names.lines().any(|l| l == "deployments.apps"), "kubectl {v}: {names}");
        assert!(!names.lines().any(|l| l == "bindings" || l == "nodes"), "kubectl {v}: {names}");
    }
}

#[test]
fn api_versions_lists_group_versions() {
    let s = Server::start();
    for v in VERSIONS {
        let out = s.kubectl(v).ok(&["api-versions"]);
        let got: BTreeSet<&str> = out.lines().collect();
        for gv in [
            "v1",
            "apps/v1",
            "batch/v1",
            "autoscaling/v1",
            "autoscaling/v2",
            "policy/v1",
            "networking.k8s.io/v1",
            "rbac.authorization.k8s.io/v1",
            "storage.k8s.io/v1",
            "coordination.k8s.io/v1",
            "discovery.k8s.io/v1",
            "events.k8s.io/v1",
            "authorization.k8s.io/v1",
            "authentication.k8s.io/v1",
            "certificates.k8s.io/v1",
            "scheduling.k8s.io/v1",
            "node.k8s.io/v1",
            "admissionregistration.k8s.io/v1",
            "apiextensions.k8s.io/v1",
            "flowcontrol.apiserver.k8s.io/v1",
        ] {
            assert!(got.contains(gv), "kubectl {v}: {gv} missing from\n{out}");
        }
        // Sorted and unique, as kubectl prints the server's list.
        assert_eq!(got.len(), out.lines().count(), "kubectl {v}: duplicates in\n{out}");
    }
}

#[test]
fn explain_from_openapi() {
    let s = Server::start();
    for v in VERSIONS {
        let k = s.kubectl(v);
        let pod = k.ok(&["explain", "pods"]);
        assert!(pod.contains("KIND:") && pod.contains("Pod") && pod.contains("VERSION:"), "kubectl {v}: {pod}");
        assert!(pod.contains("Pod is a collection of containers that can run on a host."), "kubectl {v}: {pod}");
        for field in ["apiVersion", "kind", "metadata", "spec", "status"] {
            assert!(pod.contains(&format!("  {field}\t<")), "kubectl {v}: field {field} in\n{pod}");
        }

        let replicas = k.ok(&["explain", "deploy.spec.replicas"]);
        assert!(replicas.contains("apps") && replicas.contains("Deployment"), "kubectl {v}: {replicas}");
        assert!(replicas.contains("replicas <integer>"), "kubectl {v}: {replicas}");
        assert!(replicas.contains("Number of desired pods."), "kubectl {v}: {replicas}");

        // Nested lists of objects, and required fields.
        let ports = k.ok(&["explain", "deployment.spec.template.spec.containers.ports"]);
        assert!(ports.contains("ports <[]ContainerPort>"), "kubectl {v}: {ports}");
        assert!(ports.contains("containerPort\t<integer> -required-"), "kubectl {v}: {ports}");

        let recursive = k.ok(&["explain", "svc.spec", "--recursive"]);
        for f in ["clusterIP\t<string>", "ports\t<[]ServicePort>", "targetPort\t<IntOrString>", "type\t<string>"] {
            assert!(recursive.contains(f), "kubectl {v}: {f} in\n{recursive}");
        }

        let hpa = k.ok(&["explain", "hpa.spec", "--api-version=autoscaling/v1"]);
        assert!(hpa.contains("autoscaling") && hpa.contains("HorizontalPodAutoscaler"), "kubectl {v}: {hpa}");
        assert!(hpa.contains("targetCPUUtilizationPercentage\t<integer>"), "kubectl {v}: {hpa}");

        let err = k.fails(&["explain", "pods.spec.nosuchfield"]);
        assert!(err.contains("nosuchfield"), "kubectl {v}: {err}");
        let err = k.fails(&["explain", "nosuchkind"]);
        assert!(err.contains("nosuchkind"), "kubectl {v}: {err}");
    }
    // kubectl 1.27 can still use the OpenAPI v2 (protobuf) document.
    let k = s.kubectl("1.27");
    let v2 = k.ok(&["explain", "deploy.spec.replicas", "--output", "plaintext-openapiv2"]);
    assert!(v2.contains("KIND:     Deployment") && v2.contains("VERSION:  apps/v1"), "{v2}");
    assert!(v2.contains("FIELD:    replicas <integer>") && v2.contains("Number of desired pods."), "{v2}");
    let v2 = k.ok(&["explain", "pods.spec.containers", "--output", "plaintext-openapiv2"]);
    assert!(v2.contains("RESOURCE: containers <[]Object>"), "{v2}");
    assert!(v2.contains("name\t<string> -required-"), "{v2}");
}

#[test]
fn auth_can_i() {
    let s = Server::start();
    for v in VERSIONS {
        let k = s.kubectl(v);
        for args in [
            &["auth", "can-i", "create", "pods"][..],
            &["auth", "can-i", "delete", "deployments.apps", "-n", "kube-system"],
            &["auth", "can-i", "*", "*"],
            &["auth", "can-i", "get", "pods", "--subresource=log"],
            &["auth", "can-i", "list", "nodes"],
        ] {
            let out = k.run(args);
            assert!(
                out.status.success(),
                "kubectl {v} {}: {}{}",
                args.join(" "),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(String::from_utf8_lossy(&out.stdout), "yes\n", "kubectl {v} {}", args.join(" "));
        }
        let list = Table::parse(&k.ok(&["auth", "can-i", "--list"]));
        assert_eq!(list.headers, ["Resources", "Non-Resource URLs", "Resource Names", "Verbs"], "kubectl {v}");
        assert!(list.rows.iter().any(|r| r[0].1 == "*.*" && r[3].1 == "[*]"), "kubectl {v}: {:?}", list.rows);
    }
}
