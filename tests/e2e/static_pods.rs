//! Static pods: manifests in `<data-dir>/agent/pod-manifests/` run on the node without the
//! API, and the kubelet keeps a mirror pod for each in the API (annotations, the Node as
//! owner, the status). Deleting the mirror brings it back without touching the containers;
//! editing the manifest replaces the pod; removing it stops the pod and deletes the mirror;
//! a broken manifest stops nothing else; a hard restart of coracle adopts the containers.
//! Needs root.

use std::path::PathBuf;

use crate::harness::{Server, eventually};
use crate::pods::{ctr_ps, netns_of, root};

fn manifests(s: &Server) -> PathBuf {
    let dir = s.data_dir().join("agent").join("pod-manifests");
    std::fs::create_dir_all(&dir).expect("manifests dir");
    dir
}

/// Write a manifest the way an editor or a config tool does: a temporary dotfile renamed
/// into place (the kubelet ignores dotfiles).
fn put(s: &Server, file: &str, contents: &str) {
    let dir = manifests(s);
    let tmp = dir.join(format!(".{file}.tmp"));
    std::fs::write(&tmp, contents).expect("write manifest");
    std::fs::rename(&tmp, dir.join(file)).expect("rename manifest");
}

fn web(page: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: web
  labels:
    app: static-web
spec:
  terminationGracePeriodSeconds: 3
  containers:
  - name: web
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "mkdir -p /www; echo {page} > /www/index.html; echo static-started; exec httpd -f -p 8080 -h /www"]
"#
    )
}

const OTHER: &str = r#"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "other", "namespace": "kube-system"},
 "spec": {"terminationGracePeriodSeconds": 2, "containers": [{"name": "c", "image": "busybox",
   "imagePullPolicy": "IfNotPresent", "command": ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]}]}}"#;

fn pod_json(s: &Server, ns: &str, name: &str) -> Option<serde_json::Value> {
    let out = s.kubectl("1.33").run(&["get", "pod", "-n", ns, name, "-o", "json"]);
    if !out.status.success() {
        return None;
    }
    serde_json::from_slice(&out.stdout).ok()
}

fn ready(p: &serde_json::Value) -> bool {
    p["status"]["conditions"]
        .as_array()
        .is_some_and(|cs| cs.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
}

fn container_id(p: &serde_json::Value) -> String {
    p["status"]["containerStatuses"][0]["containerID"].as_str().unwrap_or("").to_string()
}

/// Wait for the mirror pod `ns/name` to be Ready (optionally: with a container other than
/// `not_id`), and return it.
#[track_caller]
fn wait_mirror_ready(s: &Server, ns: &str, name: &str, not_id: Option<&str>) -> serde_json::Value {
    let mut last = None;
    eventually(120, &format!("mirror pod {ns}/{name} Ready"), || {
        last = pod_json(s, ns, name);
        last.as_ref().is_some_and(|p| {
            ready(p)
                && p["metadata"]["deletionTimestamp"].is_null()
                && !container_id(p).is_empty()
                && not_id.is_none_or(|id| container_id(p) != id)
        })
    });
    last.unwrap()
}

fn annotation(p: &serde_json::Value, key: &str) -> String {
    p["metadata"]["annotations"][key].as_str().unwrap_or("").to_string()
}

#[test]
fn static_pods_have_mirror_pods() {
    if !root() {
        eprintln!("skipped: needs root and containernetworking-plugins");
        return;
    }
    let s = Server::start_with_agent();
    let k = s.kubectl("1.33");
    let k27 = s.kubectl("1.27");
    // The kubelet makes the folder.
    let dir = s.data_dir().join("agent").join("pod-manifests");
    eventually(30, "manifests folder", || dir.is_dir());

    put(&s, "web.yaml", &web("v1"));
    let m = wait_mirror_ready(&s, "default", "web-test-node", None);
    let node_uid = k.ok(&["get", "node", "test-node", "-o", "jsonpath={.metadata.uid}"]);
    let hash = annotation(&m, "kubernetes.io/config.hash");
    assert_eq!(hash.len(), 32, "{m}");
    assert_eq!(annotation(&m, "kubernetes.io/config.mirror"), hash);
    assert_eq!(annotation(&m, "kubernetes.io/config.source"), "file");
    assert!(!annotation(&m, "kubernetes.io/config.seen").is_empty());
    assert_ne!(m["metadata"]["uid"].as_str().unwrap(), hash, "the mirror has its own uid");
    assert_eq!(m["metadata"]["labels"]["app"], "static-web");
    let owner = &m["metadata"]["ownerReferences"][0];
    assert_eq!(owner["apiVersion"], "v1");
    assert_eq!(owner["kind"], "Node");
    assert_eq!(owner["name"], "test-node");
    assert_eq!(owner["uid"].as_str(), Some(node_uid.as_str()));
    assert_eq!(owner["controller"], true);
    assert_eq!(m["spec"]["nodeName"], "test-node");
    assert_eq!(m["spec"]["restartPolicy"], "Always");
    assert_eq!(m["spec"]["dnsPolicy"], "ClusterFirst");
    assert!(m["spec"]["serviceAccountName"].is_null(), "{}", m["spec"]);
    assert_eq!(m["status"]["phase"], "Running");
    assert!(!m["status"]["podIP"].as_str().unwrap_or("").is_empty());
    let id = container_id(&m);

    // Logs and exec reach the static pod through its mirror, with both kubectl generations.
    for kc in [&k, &k27] {
        assert!(kc.ok(&["logs", "web-test-node"]).contains("static-started"));
        assert_eq!(kc.ok(&["exec", "web-test-node", "--", "cat", "/www/index.html"]).trim(), "v1");
    }
    // The kubelet's events name the static pod (its own uid, the hash).
    let events = k.json(&["get", "events", "-o", "json"]);
    let ours: Vec<&serde_json::Value> =
        events["items"].as_array().unwrap().iter().filter(|e| e["involvedObject"]["name"] == "web-test-node").collect();
    assert!(ours.iter().any(|e| e["reason"] == "Started"), "{ours:?}");
    assert!(ours.iter().all(|e| e["involvedObject"]["uid"].as_str() == Some(hash.as_str())), "{ours:?}");

    // A user deleting the mirror gets it back; the container keeps running.
    let mirror_uid = m["metadata"]["uid"].as_str().unwrap().to_string();
    k.ok(&["delete", "pod", "web-test-node", "--timeout=60s"]);
    let mut back = None;
    eventually(60, "the mirror pod comes back", || {
        back = pod_json(&s, "default", "web-test-node");
        back.as_ref().is_some_and(|p| p["metadata"]["uid"].as_str() != Some(&mirror_uid) && ready(p))
    });
    let back = back.unwrap();
    assert_eq!(annotation(&back, "kubernetes.io/config.mirror"), hash);
    assert_eq!(container_id(&back), id, "the container was not restarted");
    assert_eq!(back["status"]["containerStatuses"][0]["restartCount"], 0);

    // A broken manifest stops nothing; a JSON one in another namespace runs beside.
    put(&s, "broken.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: [broken\n");
    put(&s, "other.json", OTHER);
    wait_mirror_ready(&s, "kube-system", "other-test-node", None);
    eventually(30, "the broken manifest is reported", || {
        s.log().lines().any(|l| l.contains("broken.yaml") && l.contains("WARN"))
    });
    assert!(pod_json(&s, "default", "broken-test-node").is_none());
    let still = pod_json(&s, "default", "web-test-node").unwrap();
    assert_eq!(container_id(&still), id);

    // Editing the manifest replaces the pod: new hash, new container, new content.
    put(&s, "web.yaml", &web("v2"));
    let edited = wait_mirror_ready(&s, "default", "web-test-node", Some(&id));
    let new_hash = annotation(&edited, "kubernetes.io/config.mirror");
    assert_ne!(new_hash, hash);
    assert_eq!(annotation(&edited, "kubernetes.io/config.hash"), new_hash);
    assert_eq!(k.ok(&["exec", "web-test-node", "--", "cat", "/www/index.html"]).trim(), "v2");
    assert!(!ctr_ps(&s).contains(id.trim_start_matches("coracle://")), "the old container is gone");

    // Removing the manifests stops the pods and deletes their mirrors.
    for f in ["web.yaml", "other.json", "broken.yaml"] {
        std::fs::remove_file(dir.join(f)).unwrap();
    }
    eventually(60, "mirror pods gone", || k.ok(&["get", "pods", "-A", "-o", "name"]).trim().is_empty());
    eventually(30, "containers and sandboxes gone", || ctr_ps(&s).trim().is_empty() && netns_of(&s).is_empty());
}

#[test]
fn static_pods_start_with_the_server_and_survive_a_hard_restart() {
    if !root() {
        eprintln!("skipped: needs root and containernetworking-plugins");
        return;
    }
    let mut s = Server::start_with_agent();
    // A manifest that is there when coracle starts.
    s.kill9();
    put(&s, "web.yml", &web("boot"));
    s.restart_hard();
    let k = s.kubectl("1.33");
    let m = wait_mirror_ready(&s, "default", "web-test-node", None);
    let id = container_id(&m);
    let ip = m["status"]["podIP"].as_str().unwrap().to_string();

    s.restart_hard();
    // The same container and IP; the mirror is kept (same hash) and its status written.
    std::thread::sleep(std::time::Duration::from_secs(2));
    let after = wait_mirror_ready(&s, "default", "web-test-node", None);
    assert_eq!(container_id(&after), id);
    assert_eq!(after["status"]["podIP"].as_str(), Some(ip.as_str()));
    assert_eq!(after["status"]["containerStatuses"][0]["restartCount"], 0);
    assert_eq!(after["metadata"]["uid"], m["metadata"]["uid"]);
    // The mirror can show Ready (its status from before the restart) a moment before the
    // restarted kubelet listens again: exec may be refused until then.
    eventually(20, "exec into the adopted container", || {
        let out = k.run(&["exec", "web-test-node", "--", "cat", "/www/index.html"]);
        out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "boot"
    });

    std::fs::remove_file(manifests(&s).join("web.yml")).unwrap();
    eventually(60, "mirror pod gone", || k.ok(&["get", "pods", "-A", "-o", "name"]).trim().is_empty());
    eventually(30, "containers and sandboxes gone", || ctr_ps(&s).trim().is_empty() && netns_of(&s).is_empty());
}
