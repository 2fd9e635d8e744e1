//! Writing with kubectl: `create -f` (with generateName), `label`, `annotate`, `replace`,
//! `scale`, `--dry-run=server`, `--subresource=status`, and the generator commands.

use serde_json::Value;

use crate::harness::{Kubectl, Server, VERSIONS};

/// A namespace of its own for each kubectl version, so one server serves both loops.
fn namespace(k: &Kubectl, v: &str, what: &str) -> String {
    let ns = format!("{what}-{}", v.replace('.', "-"));
    k.ok_stdin(&["create", "-f", "-"], &format!("apiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}}}\n"));
    ns
}

fn objects(ns: &str) -> String {
    format!(
        r#"
apiVersion: v1
kind: ConfigMap
metadata: {{name: cfg, namespace: {ns}, labels: {{app: demo}}}}
data: {{x: "1"}}
---
apiVersion: v1
kind: Secret
metadata: {{name: pw, namespace: {ns}}}
stringData: {{password: hunter2}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {ns}}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers:
      - {{name: web, image: busybox}}
---
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: {ns}}}
spec:
  selector: {{app: web}}
  ports: [{{port: 80}}]
"#
    )
}

#[test]
fn create_from_file() {
    let s = Server::start();
    for v in VERSIONS {
        let k = s.kubectl(v);
        let ns = namespace(&k, v, "create");
        let file = crate::harness::write(s.dir.path(), &format!("objects-{v}.yaml"), &objects(&ns));
        let out = k.ok(&["create", "-f", file.to_str().unwrap()]);
        assert_eq!(
            out.lines().collect::<Vec<_>>(),
            ["configmap/cfg created", "secret/pw created", "deployment.apps/web created", "service/web created"],
            "kubectl {v}"
        );
        let cm = k.json(&["get", "cm", "cfg", "-n", &ns, "-o", "json"]);
        assert_eq!(cm["data"]["x"], "1", "kubectl {v}");
        assert_eq!(cm["metadata"]["labels"]["app"], "demo", "kubectl {v}");
        let d = k.json(&["get", "deploy", "web", "-n", &ns, "-o", "json"]);
        assert_eq!(d["metadata"]["generation"], 1, "kubectl {v}: {d}");
        assert_eq!(d["spec"]["replicas"], 2, "kubectl {v}");

        // Creating again: AlreadyExists for each object, nothing changed.
        let err = k.fails(&["create", "-f", file.to_str().unwrap()]);
        assert!(err.contains(r#"Error from server (AlreadyExists): error when creating"#), "kubectl {v}: {err}");
        assert!(err.contains(r#"configmaps "cfg" already exists"#), "kubectl {v}: {err}");
        assert!(err.contains(r#"deployments.apps "web" already exists"#), "kubectl {v}: {err}");
        let again = k.json(&["get", "cm", "cfg", "-n", &ns, "-o", "json"]);
        assert_eq!(again["metadata"]["resourceVersion"], cm["metadata"]["resourceVersion"], "kubectl {v}");

        // generateName: the server picks the name.
        let generated = format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{generateName: gen-, namespace: {ns}}}\n");
        let a = k.ok_stdin(&["create", "-f", "-", "-o", "name"], &generated);
        let b = k.ok_stdin(&["create", "-f", "-", "-o", "name"], &generated);
        for name in [&a, &b] {
            let n = name.trim().strip_prefix("configmap/gen-").unwrap_or_else(|| panic!("kubectl {v}: {name}"));
            assert_eq!(n.len(), 5, "kubectl {v}: {name}");
            assert!(n.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()), "kubectl {v}: {name}");
        }
        assert_ne!(a, b, "kubectl {v}");
        let listed = k.ok(&["get", "cm", "-n", &ns, "-o", "name"]);
        assert!(listed.contains(a.trim()) && listed.contains(b.trim()), "kubectl {v}: {listed}");

        // Into a namespace that does not exist: NotFound.
        let out = k.stdin(
            &["create", "-f", "-"],
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lost, namespace: nowhere}\n",
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "kubectl {v}");
        assert!(
            err.contains(r#"Error from server (NotFound)"#) && err.contains(r#"namespaces "nowhere" not found"#),
            "kubectl {v}: {err}"
        );
    }
}

#[test]
fn label_and_annotate() {
    let s = Server::start();
    for v in VERSIONS {
        let k = s.kubectl(v);
        let ns = namespace(&k, v, "label");
        k.ok_stdin(&["create", "-f", "-"], &objects(&ns));
        let n = ["-n", ns.as_str()];
        let run = |args: &[&str]| k.ok(&[args, &n].concat());
        let labels = || k.json(&["get", "cm", "cfg", "-n", &ns, "-o", "json"])["metadata"]["labels"].clone();

        assert_eq!(run(&["label", "cm", "cfg", "tier=front"]), "configmap/cfg labeled\n", "kubectl {v}");
        assert_eq!(labels(), serde_json::json!({"app": "demo", "tier": "front"}), "kubectl {v}");
        let err = k.fails(&[&["label", "cm", "cfg", "tier=back"][..], &n].concat());
        assert!(err.contains("'tier' already has a value (front), and --overwrite is false"), "kubectl {v}: {err}");
        run(&["label", "cm", "cfg", "tier=back", "--overwrite"]);
        assert_eq!(labels()["tier"], "back", "kubectl {v}");
        assert_eq!(run(&["label", "cm", "cfg", "tier-"]), "configmap/cfg unlabeled\n", "kubectl {v}");
        assert_eq!(labels(), serde_json::json!({"app": "demo"}), "kubectl {v}");
        // Several objects by selector, and every kind.
        run(&["label", "deploy,svc", "--all", "team=x"]);
        let sel = k.ok(&["get", "deploy,svc,cm", "-l", "team=x", "-o", "name", "-n", &ns]);
        assert_eq!(sel.lines().collect::<Vec<_>>(), ["deployment.apps/web", "service/web"], "kubectl {v}");
        // A label update that names a stale resourceVersion is refused.
        let rv = k.ok(&["get", "cm", "cfg", "-n", &ns, "-o", "jsonpath={.metadata.resourceVersion}"]);
        run(&["label", "cm", "cfg", "step=1"]);
        let err =
            k.fails(&[&["label", "cm", "cfg", "step=2", "--overwrite", "--resource-version", &rv][..], &n].concat());
        assert!(err.contains("Conflict") && err.contains("the object has been modified"), "kubectl {v}: {err}");
        assert_eq!(labels()["step"], "1", "kubectl {v}");

        let annotations = || k.json(&["get", "cm", "cfg", "-n", &ns, "-o", "json"])["metadata"]["annotations"].clone();
        // kubectl 1.27 prints "annotate", 1.33 "annotated".
        let out = run(&["annotate", "cm", "cfg", "note=hello world"]);
        assert!(out.starts_with("configmap/cfg annotate"), "kubectl {v}: {out}");
        assert_eq!(annotations()["note"], "hello world", "kubectl {v}");
        let err = k.fails(&[&["annotate", "cm", "cfg", "note=again"][..], &n].concat());
        assert!(err.contains("--overwrite is false"), "kubectl {v}: {err}");
        run(&["annotate", "cm", "cfg", "note=again", "--overwrite"]);
        assert_eq!(annotations()["note"], "again", "kubectl {v}");
        run(&["annotate", "cm", "cfg", "note-"]);
        assert!(annotations().get("note").is_none(), "kubectl {v}: {}", annotations());
    }
}

#[test]
fn replace() {
    let s = Server::start();
    for v in VERSIONS {
        let k = s.kubectl(v);
        let ns = namespace(&k, v, "replace");
        k.ok_stdin(&["create", "-f", "-"], &objects(&ns));
        let before = k.json(&["get", "cm", "cfg", "-n", &ns, "-o", "json"]);

        let mut edited = before.clone();
        edited["data"] = serde_json::json!({"y": "2"});
        let out = k.ok_stdin(&["replace", "-f", "-"], &edited.to_string());
        assert_eq!(out, "configmap/cfg replaced\n", "kubectl {v}");
        let after = k.json(&["get", "cm", "cfg", "-n", &ns, "-o", "json"]);
        assert_eq!(after["data"], serde_json::json!({"y": "2"}), "kubectl {v}: the whole object replaced");
        assert_eq!(after["metadata"]["uid"], before["metadata"]["uid"], "kubectl {v}");
        assert_ne!(after["metadata"]["resourceVersion"], before["metadata"]["resourceVersion"], "kubectl {v}");

        // The file still carries the old resourceVersion: Conflict.
        let out = k.stdin(&["replace", "-f", "-"], &edited.to_string());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "kubectl {v}");
        assert!(
            err.contains("Error from server (Conflict)")
                && err.contains(r#"Operation cannot be fulfilled on configmaps "cfg": the object has been modified; please apply your changes to the latest version and try again"#),
            "kubectl {v}: {err}"
        );

        // Without a resourceVersion the replace is unconditional.
        let mut plain = edited.clone();
        plain["metadata"].as_object_mut().unwrap().remove("resourceVersion");
        plain["data"] = serde_json::json!({"z": "3"});
        k.ok_stdin(&["replace", "-f", "-"], &plain.to_string());
        assert_eq!(k.ok(&["get", "cm", "cfg", "-n", &ns, "-o", "jsonpath={.data.z}"]), "3", "kubectl {v}");

        // --force deletes and creates again: a new uid.
        k.ok_stdin(&["replace", "--force", "-f", "-"], &plain.to_string());
        let forced = k.json(&["get", "cm", "cfg", "-n", &ns, "-o", "json"]);
        assert_ne!(forced["metadata"]["uid"], before["metadata"]["uid"], "kubectl {v}");

        // Replacing something that does not exist: NotFound.
        let mut missing = plain.clone();
        missing["metadata"]["name"] = "missing".into();
        let out = k.stdin(&["replace", "-f", "-"], &missing.to_string());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(r#"Error from server (NotFound)"#) && err.contains(r#"configmaps "missing" not found"#),
            "kubectl {v}: {err}"
        );
    }
}

#[test]
fn scale_through_the_scale_subresource() {
    let s = Server::start();
    for v in VERSIONS {
        let k = s.kubectl(v);
        let ns = namespace(&k, v, "scale");
        k.ok_stdin(&["create", "-f", "-"], &objects(&ns));
        let out = k.ok(&["scale", "deploy", "web", "-n", &ns, "--replicas=5"]);
        assert_eq!(out, "deployment.apps/web scaled\n", "kubectl {v}");
        let d = k.json(&["get", "deploy", "web", "-n", &ns, "-o", "json"]);
        assert_eq!(d["spec"]["replicas"], 5, "kubectl {v}");
        assert_eq!(d["metadata"]["generation"], 2, "kubectl {v}: a spec change bumps generation");

        let scale = k.json(&["get", "--raw", &format!("/apis/apps/v1/namespaces/{ns}/deployments/web/scale")]);
        assert_eq!(scale["kind"], "Scale", "kubectl {v}: {scale}");
        assert_eq!(scale["apiVersion"], "autoscaling/v1", "kubectl {v}: {scale}");
        assert_eq!(scale["metadata"]["name"], "web", "kubectl {v}: {scale}");
        assert_eq!(scale["spec"]["replicas"], 5, "kubectl {v}: {scale}");
        assert_eq!(scale["status"]["selector"], "app=web", "kubectl {v}: {scale}");
        assert_eq!(scale["metadata"]["resourceVersion"], d["metadata"]["resourceVersion"], "kubectl {v}");

        // The precondition kubectl checks, and scaling by patching the subresource.
        let err = k.fails(&["scale", "deploy", "web", "-n", &ns, "--current-replicas=3", "--replicas=1"]);
        assert!(err.contains("Expected replicas to be 3, was 5"), "kubectl {v}: {err}");
        k.ok(&[
            "patch",
            "deploy",
            "web",
            "-n",
            &ns,
            "--subresource=scale",
            "--type=merge",
            "-p",
            r#"{"spec":{"replicas":3}}"#,
        ]);
        assert_eq!(k.ok(&["get", "deploy", "web", "-n", &ns, "-o", "jsonpath={.spec.replicas}"]), "3", "kubectl {v}");
        assert_eq!(
            k.ok(&["get", "deploy", "web", "-n", &ns, "--subresource=scale", "-o", "jsonpath={.spec.replicas}"]),
            "3",
            "kubectl {v}"
        );
        // A negative count is refused by the server.
        let err = k.fails(&[
            "patch",
            "deploy",
            "web",
            "-n",
            &ns,
            "--subresource=scale",
            "--type=merge",
            "-p",
            r#"{"spec":{"replicas":-1}}"#,
        ]);
        assert!(err.contains("Invalid") && err.contains("spec.replicas"), "kubectl {v}: {err}");

        // Scaling by selector and to zero.
        k.ok(&["scale", "deploy", "--all", "-n", &ns, "--replicas=0"]);
        assert_eq!(k.ok(&["get", "deploy", "web", "-n", &ns, "-o", "jsonpath={.spec.replicas}"]), "0", "kubectl {v}");
    }
}

#[test]
fn server_side_dry_run_stores_nothing() {
    let s = Server::start();
    for v in VERSIONS {
        let k = s.kubectl(v);
        let ns = namespace(&k, v, "dry");
        k.ok_stdin(&["create", "-f", "-"], &objects(&ns));
        let n = ["-n", ns.as_str()];
        let snapshot = || k.ok(&["get", "cm,deploy,svc,secret", "-n", &ns, "-o", "json"]);
        let before = snapshot();

        let new =
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: ghost, namespace: {ns}}}\ndata: {{a: b}}\n");
        let out = k.ok_stdin(&["create", "-f", "-", "--dry-run=server", "-o", "json"], &new);
        let created: Value = serde_json::from_str(&out).unwrap();
        assert!(created["metadata"]["uid"].is_string(), "kubectl {v}: the server filled in the object: {created}");
        assert!(created["metadata"]["creationTimestamp"].is_string(), "kubectl {v}: {created}");
        let out = k.ok_stdin(&["apply", "-f", "-", "--dry-run=server"], &new);
        assert_eq!(out, "configmap/ghost created (server dry run)\n", "kubectl {v}");
        let out = k.ok_stdin(&["apply", "--server-side", "-f", "-", "--dry-run=server"], &new);
        assert!(out.contains("configmap/ghost serverside-applied (server dry run)"), "kubectl {v}: {out}");
        k.ok(&[&["label", "cm", "cfg", "dry=run", "--dry-run=server"][..], &n].concat());
        k.ok(&[&["annotate", "cm", "cfg", "dry=run", "--dry-run=server"][..], &n].concat());
        k.ok(&[&["patch", "cm", "cfg", "-p", r#"{"data":{"x":"2"}}"#, "--dry-run=server"][..], &n].concat());
        k.ok(&[&["scale", "deploy", "web", "--replicas=9", "--dry-run=server"][..], &n].concat());
        let out = k.ok(&[&["delete", "cm", "cfg", "--dry-run=server"][..], &n].concat());
        assert_eq!(out, "configmap \"cfg\" deleted (server dry run)\n", "kubectl {v}");
        k.ok(&[&["delete", "deploy", "--all", "--dry-run=server"][..], &n].concat());
        let mut edited: Value = k.json(&["get", "cm", "cfg", "-n", &ns, "-o", "json"]);
        edited["data"]["x"] = "changed".into();
        k.ok_stdin(&["replace", "-f", "-", "--dry-run=server"], &edited.to_string());

        assert_eq!(snapshot(), before, "kubectl {v}: nothing stored by the dry runs");
        let err = k.fails(&["get", "cm", "ghost", "-n", &ns]);
        assert!(err.contains(r#"configmaps "ghost" not found"#), "kubectl {v}: {err}");
    }
}

#[test]
fn status_subresource() {
    let s = Server::start();
    for v in VERSIONS {
        let k = s.kubectl(v);
        let ns = namespace(&k, v, "status");
        k.ok_stdin(&["create", "-f", "-"], &objects(&ns));
        let n = ["-n", ns.as_str()];
        let get = |path: &str| k.ok(&[&["get", "deploy", "web", "-o", &format!("jsonpath={path}")][..], &n].concat());

        // Through /status: the status changes, the spec does not (and no generation bump).
        let patch = r#"{"status":{"replicas":2,"readyReplicas":1,"observedGeneration":1},"spec":{"replicas":7}}"#;
        k.ok(&[&["patch", "deploy", "web", "--subresource=status", "--type=merge", "-p", patch][..], &n].concat());
        assert_eq!(get("{.status.readyReplicas}"), "1", "kubectl {v}");
        assert_eq!(get("{.spec.replicas}"), "2", "kubectl {v}: spec ignored on /status");
        assert_eq!(get("{.metadata.generation}"), "1", "kubectl {v}");
        let st = k.json(&[&["get", "deploy", "web", "--subresource=status", "-o", "json"][..], &n].concat());
        assert_eq!(st["status"]["replicas"], 2, "kubectl {v}: {st}");

        // Through the main resource: the status does not change.
        k.ok(&[&["patch", "deploy", "web", "--type=merge", "-p", r#"{"status":{"readyReplicas":2}}"#][..], &n].concat());
        assert_eq!(get("{.status.readyReplicas}"), "1", "kubectl {v}: status ignored on the main resource");

        // The table shows what the status says.
        let table = k.ok(&[&["get", "deploy", "web"][..], &n].concat());
        assert!(table.lines().nth(1).unwrap().split_whitespace().nth(1) == Some("1/2"), "kubectl {v}: {table}");

        // replace --subresource=status
        let mut d: Value = k.json(&[&["get", "deploy", "web", "-o", "json"][..], &n].concat());
        d["status"]["availableReplicas"] = 1.into();
        k.ok_stdin(&["replace", "--subresource=status", "-f", "-"], &d.to_string());
        assert_eq!(get("{.status.availableReplicas}"), "1", "kubectl {v}");
    }
}

#[test]
fn generators() {
    let s = Server::start();
    for v in VERSIONS {
        let k = s.kubectl(v);
        let ns = format!("gen-{}", v.replace('.', "-"));
        let out = k.ok(&["create", "namespace", &ns]);
        assert_eq!(out, format!("namespace/{ns} created\n"), "kubectl {v}");
        let n = ["-n", ns.as_str()];
        let run = |args: &[&str]| k.ok(&[args, &n].concat());
        assert_eq!(
            run(&["create", "configmap", "c", "--from-literal=a=1", "--from-literal=b=2"]),
            "configmap/c created\n"
        );
        assert_eq!(run(&["create", "secret", "generic", "s", "--from-literal=pw=x"]), "secret/s created\n");
        assert_eq!(
            run(&["create", "deployment", "d", "--image=busybox", "--replicas=2"]),
            "deployment.apps/d created\n"
        );
        assert_eq!(run(&["create", "service", "clusterip", "svc", "--tcp=80:8080"]), "service/svc created\n");
        assert_eq!(run(&["create", "serviceaccount", "sa"]), "serviceaccount/sa created\n");
        assert_eq!(run(&["create", "job", "j", "--image=busybox"]), "job.batch/j created\n");
        assert_eq!(
            run(&["create", "role", "r", "--verb=get", "--resource=pods"]),
            "role.rbac.authorization.k8s.io/r created\n"
        );
        let cm = k.json(&["get", "cm", "c", "-n", &ns, "-o", "json"]);
        assert_eq!(cm["data"], serde_json::json!({"a": "1", "b": "2"}), "kubectl {v}");
        let secret = k.json(&["get", "secret", "s", "-n", &ns, "-o", "json"]);
        assert_eq!(secret["data"]["pw"], "eA==", "kubectl {v}");
        assert_eq!(secret["type"], "Opaque", "kubectl {v}: defaulted");
        let d = k.json(&["get", "deploy", "d", "-n", &ns, "-o", "json"]);
        assert_eq!(d["spec"]["replicas"], 2, "kubectl {v}");
        assert_eq!(d["spec"]["selector"]["matchLabels"]["app"], "d", "kubectl {v}");
        let svc = k.json(&["get", "svc", "svc", "-n", &ns, "-o", "json"]);
        assert_eq!(svc["spec"]["ports"][0]["targetPort"], 8080, "kubectl {v}");
        assert_eq!(svc["spec"]["type"], "ClusterIP", "kubectl {v}: defaulted");
        // kubectl run makes a Pod (it does not run: no agent).
        assert_eq!(run(&["run", "p", "--image=busybox", "--restart=Never"]), "pod/p created\n");
        let pod = k.json(&["get", "pod", "p", "-n", &ns, "-o", "json"]);
        assert_eq!(pod["spec"]["restartPolicy"], "Never", "kubectl {v}");
    }
}
