//! The README's walk-through, with both kubectl versions.

use crate::harness::{Server, VERSIONS};

const APP: &str = r#"
apiVersion: v1
kind: Namespace
metadata:
  name: demo
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: demo}
data: {x: "1"}
---
apiVersion: v1
kind: Secret
metadata: {name: pw, namespace: demo}
stringData: {password: hunter2}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: demo, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: busybox
        ports: [{containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: demo}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
"#;

#[test]
fn readme_walkthrough() {
    for v in VERSIONS {
        let s = Server::start();
        let k = s.kubectl(v);
        let ns = k.ok(&["get", "ns"]);
        for n in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            assert!(ns.contains(n), "kubectl {v}: {ns}");
        }
        let out = k.ok_stdin(&["apply", "-f", "-"], APP);
        assert!(out.contains("deployment.apps/web created"), "kubectl {v}: {out}");
        let wide = k.ok(&["get", "deploy,svc,cm", "-n", "demo", "-o", "wide"]);
        assert!(
            wide.contains("deployment.apps/web") && wide.contains("service/web") && wide.contains("configmap/cfg"),
            "{wide}"
        );
        let svc = k.json(&["get", "svc", "web", "-n", "demo", "-o", "json"]);
        let ip = svc["spec"]["clusterIP"].as_str().unwrap();
        assert!(ip.starts_with("10.43."), "cluster IP from the service CIDR: {ip}");
    }
}
