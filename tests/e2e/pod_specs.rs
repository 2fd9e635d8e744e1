//! What a pod spec asks for, checked from inside the containers: every volume type, every
//! env source, init and sidecar order, probes and hooks, security context, resources and
//! QoS, a shared process namespace, eviction for an emptyDir over its size limit, attach —
//! and the statuses and events of bad specs. Needs root.

use std::time::Duration;

use crate::harness::Server;
use crate::pods::{assert_node_clean, jsonpath, root, wait_ready};

fn apply(s: &Server, yaml: &str) {
    s.kubectl("1.33").ok_stdin(&["apply", "-f", "-"], yaml);
}

fn exec(s: &Server, pod: &str, container: &str, script: &str) -> String {
    s.kubectl("1.33").ok(&["exec", pod, "-c", container, "--", "sh", "-c", script])
}

/// `eventually` for one pod: on a timeout, fail with `kubectl describe` of the pod.
#[track_caller]
fn until(s: &Server, pod: &str, secs: u64, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let describe = s.kubectl("1.33").run(&["describe", "pod", pod]);
    panic!("timed out waiting for {what}:\n{}", String::from_utf8_lossy(&describe.stdout));
}

fn events(s: &Server, pod: &str) -> String {
    crate::pods::events(&s.kubectl("1.33"), pod)
}

const VOLUMES: &str = r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {a.txt: alpha, b.txt: beta, COLOR: blue}
---
apiVersion: v1
kind: Secret
metadata: {name: sec}
stringData: {password: hunter2, USER: admin}
---
apiVersion: v1
kind: Service
metadata: {name: backend}
spec: {ports: [{port: 8080}]}
---
apiVersion: v1
kind: Pod
metadata:
  name: vol
  labels: {app: vol, tier: x}
  annotations: {note: hello}
spec:
  terminationGracePeriodSeconds: 1
  securityContext: {fsGroup: 2000}
  initContainers:
  - name: init1
    image: busybox
    imagePullPolicy: IfNotPresent
    command: [sh, -c, "echo init1 >> /work/order; sleep 1"]
    volumeMounts: [{name: work, mountPath: /work}]
  - name: init2
    image: busybox
    imagePullPolicy: IfNotPresent
    command: [sh, -c, "echo init2 >> /work/order"]
    volumeMounts: [{name: work, mountPath: /work}]
  - name: side
    image: busybox
    imagePullPolicy: IfNotPresent
    restartPolicy: Always
    command: [sh, -c, "echo side >> /work/order; sleep 3600"]
    volumeMounts: [{name: work, mountPath: /work}]
  containers:
  - name: main
    image: busybox
    imagePullPolicy: IfNotPresent
    command: [sh, -c, "echo main >> /work/order; echo $(GREETING) world; sleep 3600"]
    env:
    - {name: GREETING, value: hello}
    - {name: EXPANDED, value: "$(GREETING)-there"}
    - {name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
    - {name: POD_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
    - {name: NODE, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}
    - {name: MEM_LIMIT, valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: 1Mi}}}
    - {name: CM_A, valueFrom: {configMapKeyRef: {name: cfg, key: a.txt}}}
    - {name: PASS, valueFrom: {secretKeyRef: {name: sec, key: password}}}
    envFrom:
    - configMapRef: {name: cfg}
    - prefix: S_
      secretRef: {name: sec}
    resources: {limits: {memory: 64Mi, cpu: 200m}}
    volumeMounts:
    - {name: work, mountPath: /work}
    - {name: mem, mountPath: /mem}
    - {name: cm, mountPath: /cm}
    - {name: cmitems, mountPath: /cmitems}
    - {name: sec, mountPath: /sec}
    - {name: down, mountPath: /down}
    - {name: proj, mountPath: /proj}
    - {name: host, mountPath: /host}
    - {name: cm, mountPath: /etc/a.txt, subPath: a.txt}
    - {name: cm, mountPath: /ro, readOnly: true}
  volumes:
  - {name: work, emptyDir: {}}
  - {name: mem, emptyDir: {medium: Memory, sizeLimit: 8Mi}}
  - {name: cm, configMap: {name: cfg}}
  - {name: cmitems, configMap: {name: cfg, items: [{key: b.txt, path: sub/b, mode: 0600}], defaultMode: 0644}}
  - {name: sec, secret: {secretName: sec, defaultMode: 0400}}
  - name: down
    downwardAPI:
      items:
      - {path: labels, fieldRef: {fieldPath: metadata.labels}}
      - {path: cpu_limit, resourceFieldRef: {containerName: main, resource: limits.cpu, divisor: 1m}}
  - name: proj
    projected:
      sources:
      - configMap: {name: cfg, items: [{key: a.txt, path: a}]}
      - secret: {name: sec, items: [{key: USER, path: user}]}
      - serviceAccountToken: {path: token, expirationSeconds: 3600, audience: api}
  - {name: host, hostPath: {path: HOSTDIR, type: DirectoryOrCreate}}
"#;

#[test]
fn volumes_env_and_init_order_from_inside_the_pod() {
    if !root() {
        eprintln!("skipped: needs root and containernetworking-plugins");
        return;
    }
    let s = Server::start_with_agent();
    let k = s.kubectl("1.33");
    let hostdir = s.dir.path().join("hostdir");
    apply(&s, &VOLUMES.replace("HOSTDIR", hostdir.to_str().unwrap()));
    wait_ready(&s, "vol");

    // Init containers in order, then the sidecar, then the app container.
    assert_eq!(exec(&s, "vol", "main", "cat /work/order"), "init1\ninit2\nside\nmain\n");
    assert_eq!(
        jsonpath(&s, "vol", "{.status.initContainerStatuses[?(@.name==\"init1\")].state.terminated.reason}"),
        "Completed"
    );
    assert_eq!(jsonpath(&s, "vol", "{.status.initContainerStatuses[?(@.name==\"side\")].started}"), "true");
    assert!(k.ok(&["logs", "vol", "-c", "main"]).contains("hello world"), "$(VAR) in command");

    // Env sources.
    let env = exec(&s, "vol", "main", "env");
    let ip = jsonpath(&s, "vol", "{.status.podIP}");
    for want in [
        "GREETING=hello".to_string(),
        "EXPANDED=hello-there".into(),
        "POD_NAME=vol".into(),
        format!("POD_IP={ip}"),
        "NODE=test-node".into(),
        "MEM_LIMIT=64".into(),
        "CM_A=alpha".into(),
        "PASS=hunter2".into(),
        "COLOR=blue".into(),
        "S_USER=admin".into(),
        "S_password=hunter2".into(),
        "BACKEND_SERVICE_PORT=8080".into(),
        "KUBERNETES_SERVICE_HOST=".into(),
    ] {
        assert!(env.lines().any(|l| l.starts_with(&want)), "{want} missing from:\n{env}");
    }

    // Volume contents, modes and mount options.
    let out = exec(
        &s,
        "vol",
        "main",
        "cat /cm/a.txt /cm/b.txt; echo; cat /cmitems/sub/b; echo; ls /cmitems | tr '\\n' ' '; echo; \
         stat -L -c %a /cmitems/sub/b /sec/password; cat /sec/password; echo; cat /etc/a.txt; echo; \
         cat /down/labels; echo; cat /down/cpu_limit; echo; cat /proj/a /proj/user; echo; \
         stat -c %g /work; stat -c %a /work; touch /work/f; stat -c %g /work/f",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "alphabeta");
    assert_eq!(lines[1], "beta");
    assert_eq!(lines[2].trim(), "sub", "only the listed items");
    assert_eq!(&lines[3..5], ["640", "440"], "item modes, group-readable for the fsGroup");
    assert_eq!(lines[5], "hunter2");
    assert_eq!(lines[6], "alpha", "subPath");
    assert_eq!(&lines[7..9], ["app=\"vol\"", "tier=\"x\""]);
    assert_eq!(lines[9], "200");
    assert_eq!(lines[10], "alphaadmin");
    assert_eq!(&lines[11..14], ["2000", "2777", "2000"], "emptyDir owned by the fsGroup, setgid");
    let token = exec(&s, "vol", "main", "cat /proj/token");
    assert_eq!(token.split('.').count(), 3, "a JWT: {token}");
    let mounts = exec(&s, "vol", "main", "cat /proc/mounts");
    assert!(mounts.lines().any(|l| l.starts_with("tmpfs /mem ") && l.contains("size=8192k")), "{mounts}");
    assert!(mounts.lines().any(|l| l.contains(" /ro ") && l.contains(" ro,")), "{mounts}");
    assert!(mounts.lines().any(|l| l.starts_with("tmpfs /sec ")), "secrets on tmpfs: {mounts}");
    let ro = k.run(&["exec", "vol", "-c", "main", "--", "touch", "/ro/x"]);
    assert!(!ro.status.success());
    exec(&s, "vol", "main", "echo from-pod > /host/f");
    assert_eq!(std::fs::read_to_string(hostdir.join("f")).unwrap(), "from-pod\n");

    // ConfigMap and Secret updates reach the running container.
    k.ok(&["patch", "configmap", "cfg", "-p", r#"{"data":{"a.txt":"changed"}}"#]);
    until(&s, "vol", 120, "configMap volume updated", || exec(&s, "vol", "main", "cat /cm/a.txt") == "changed");
    assert_eq!(exec(&s, "vol", "main", "cat /etc/a.txt"), "alpha", "a subPath mount does not follow updates");

    k.ok(&["delete", "pod", "vol"]);
    assert_node_clean(&s);
}

const PROBES: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: probes}
spec:
  terminationGracePeriodSeconds: 5
  containers:
  - name: web
    image: busybox
    imagePullPolicy: IfNotPresent
    command: [sh, -c, "mkdir -p /www; echo ok > /www/index.html; httpd -p 8080 -h /www; touch /tmp/alive; sleep 3600"]
    readinessProbe:
      exec: {command: [test, -f, /tmp/ready]}
      periodSeconds: 1
    livenessProbe:
      exec: {command: [test, -f, /tmp/alive]}
      periodSeconds: 1
      failureThreshold: 2
    startupProbe:
      httpGet: {path: /index.html, port: 8080}
      periodSeconds: 1
    lifecycle:
      postStart: {exec: {command: [sh, -c, "echo started > /tmp/poststart"]}}
      preStop: {exec: {command: [sh, -c, "echo bye > /host/prestop"]}}
    volumeMounts: [{name: host, mountPath: /host}]
  - name: tcp
    image: busybox
    imagePullPolicy: IfNotPresent
    command: [sh, -c, "mkdir -p /w; httpd -f -p 9090 -h /w"]
    readinessProbe: {tcpSocket: {port: 9090}, periodSeconds: 1}
  volumes:
  - {name: host, hostPath: {path: HOSTDIR, type: DirectoryOrCreate}}
"#;

#[test]
fn probes_gate_readiness_and_restart_and_hooks_run() {
    if !root() {
        eprintln!("skipped: needs root and containernetworking-plugins");
        return;
    }
    let s = Server::start_with_agent();
    let k = s.kubectl("1.33");
    let hostdir = s.dir.path().join("hooks");
    apply(&s, &PROBES.replace("HOSTDIR", hostdir.to_str().unwrap()));
    let ready = |c: &str| jsonpath(&s, "probes", &format!("{{.status.containerStatuses[?(@.name==\"{c}\")].ready}}"));
    until(&s, "probes", 90, "tcp ready, started", || {
        ready("tcp") == "true"
            && jsonpath(&s, "probes", "{.status.containerStatuses[?(@.name==\"web\")].started}") == "true"
    });
    // Readiness gates the pod: not Ready until the file exists.
    assert_eq!(ready("web"), "false");
    assert_eq!(jsonpath(&s, "probes", "{.status.conditions[?(@.type==\"Ready\")].status}"), "False");
    assert_eq!(exec(&s, "probes", "web", "cat /tmp/poststart"), "started\n", "postStart ran");
    exec(&s, "probes", "web", "touch /tmp/ready");
    wait_ready(&s, "probes");

    // Liveness: a failing probe restarts the container, with the events a user sees.
    exec(&s, "probes", "web", "rm /tmp/alive");
    until(&s, "probes", 90, "restarted by liveness", || {
        jsonpath(&s, "probes", "{.status.containerStatuses[?(@.name==\"web\")].restartCount}") == "1"
    });
    let ev = events(&s, "probes");
    assert!(ev.contains("Warning Unhealthy Liveness probe failed"), "{ev}");
    assert!(ev.contains("Normal Killing Container web failed liveness probe, will be restarted"), "{ev}");
    // The new container is not ready (the file is gone with the old one).
    until(&s, "probes", 60, "web unready after restart", || ready("web") == "false");

    // preStop runs on delete, before the container is stopped.
    k.ok(&["delete", "pod", "probes"]);
    assert_eq!(std::fs::read_to_string(hostdir.join("prestop")).unwrap(), "bye\n");
    assert_node_clean(&s);
}

const SECURITY: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: sec}
spec:
  terminationGracePeriodSeconds: 1
  securityContext: {runAsUser: 1000, runAsGroup: 3000, supplementalGroups: [4000], seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: c
    image: busybox
    imagePullPolicy: IfNotPresent
    command: [sh, -c, "id; grep -E 'Seccomp:|CapBnd|NoNewPrivs' /proc/self/status; touch /x || echo rootfs-ro; sleep 3600"]
    securityContext: {readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: {drop: [ALL], add: [NET_BIND_SERVICE]}}
    resources: {requests: {cpu: 100m, memory: 32Mi}, limits: {cpu: 100m, memory: 32Mi}}
---
apiVersion: v1
kind: Pod
metadata: {name: nonroot}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: busybox, imagePullPolicy: IfNotPresent, command: [sleep, "3600"], securityContext: {runAsNonRoot: true}}
---
apiVersion: v1
kind: Pod
metadata: {name: oom}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: busybox
    imagePullPolicy: IfNotPresent
    command: [sh, -c, "x=a; while true; do x=\"$x$x\"; done"]
    resources: {requests: {memory: 8Mi}, limits: {memory: 16Mi}}
---
apiVersion: v1
kind: Pod
metadata: {name: priv}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: busybox, imagePullPolicy: IfNotPresent, command: [sh, -c, "grep CapEff /proc/self/status; sleep 3600"], securityContext: {privileged: true}}
"#;

#[test]
fn security_context_resources_and_oom_kills() {
    if !root() {
        eprintln!("skipped: needs root and containernetworking-plugins");
        return;
    }
    let s = Server::start_with_agent();
    let k = s.kubectl("1.33");
    apply(&s, SECURITY);
    wait_ready(&s, "sec");
    wait_ready(&s, "priv");
    let out = k.ok(&["logs", "sec"]);
    assert!(out.contains("uid=1000(app) gid=3000 groups=4000"), "{out}");
    assert!(out.contains("CapBnd:\t0000000000000400"), "only NET_BIND_SERVICE: {out}");
    assert!(out.contains("NoNewPrivs:\t1") && out.contains("Seccomp:\t2"), "{out}");
    assert!(out.contains("rootfs-ro"), "{out}");
    // Privileged: every capability this host allows.
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let host_bnd = status.lines().find_map(|l| l.strip_prefix("CapBnd:")).unwrap().trim().to_string();
    let logs = k.ok(&["logs", "priv"]);
    assert!(logs.contains(&format!("CapEff:\t{host_bnd}")), "{logs} vs host {host_bnd}");

    // QoS classes, and the limits in the pod's cgroup.
    assert_eq!(jsonpath(&s, "sec", "{.status.qosClass}"), "Guaranteed");
    assert_eq!(jsonpath(&s, "priv", "{.status.qosClass}"), "BestEffort");
    assert_eq!(jsonpath(&s, "oom", "{.status.qosClass}"), "Burstable");
    assert_eq!(exec(&s, "sec", "c", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes").trim(), "33554432");

    // runAsNonRoot against an image that runs as root: the kubelet's refusal.
    until(&s, "nonroot", 90, "nonroot refused", || {
        jsonpath(&s, "nonroot", "{.status.containerStatuses[0].state.waiting.reason}") == "CreateContainerConfigError"
    });
    assert!(events(&s, "nonroot").contains("Error: container has runAsNonRoot and image will run as root"));

    // A memory limit is enforced: OOMKilled.
    until(&s, "oom", 90, "OOMKilled", || {
        jsonpath(&s, "oom", "{.status.containerStatuses[0].state.terminated.reason}") == "OOMKilled"
    });
    assert_eq!(jsonpath(&s, "oom", "{.status.phase}"), "Failed");
    assert!(k.ok(&["get", "pod", "oom"]).contains("OOMKilled"));

    k.ok(&["delete", "pod", "--all", "--grace-period=1"]);
    assert_node_clean(&s);
}

const SHARED: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: share}
spec:
  shareProcessNamespace: true
  terminationGracePeriodSeconds: 1
  containers:
  - {name: a, image: busybox, imagePullPolicy: IfNotPresent, command: [sleep, "3601"]}
  - {name: b, image: busybox, imagePullPolicy: IfNotPresent, command: [sleep, "3602"]}
---
apiVersion: v1
kind: Pod
metadata: {name: evict}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: a
    image: busybox
    imagePullPolicy: IfNotPresent
    command: [sh, -c, "sleep 2; dd if=/dev/zero of=/data/big bs=1024 count=3000; sleep 3600"]
    volumeMounts: [{name: d, mountPath: /data}]
  volumes: [{name: d, emptyDir: {sizeLimit: 1Mi}}]
---
apiVersion: v1
kind: Pod
metadata: {name: talk}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: busybox, imagePullPolicy: IfNotPresent, stdin: true, command: [sh, -c, "while read l; do echo \"got $l\"; done"]}
"#;

#[test]
fn shared_pid_namespace_eviction_and_attach() {
    if !root() {
        eprintln!("skipped: needs root and containernetworking-plugins");
        return;
    }
    let s = Server::start_with_agent();
    let k = s.kubectl("1.33");
    apply(&s, SHARED);
    wait_ready(&s, "share");
    // Each container sees the other's processes.
    let ps = exec(&s, "share", "a", "ps -o comm,args");
    assert!(ps.contains("sleep 3601") && ps.contains("sleep 3602"), "{ps}");

    // An emptyDir over its sizeLimit gets the pod evicted, as the eviction manager does.
    until(&s, "evict", 90, "evicted", || jsonpath(&s, "evict", "{.status.reason}") == "Evicted");
    assert_eq!(jsonpath(&s, "evict", "{.status.phase}"), "Failed");
    assert_eq!(
        jsonpath(&s, "evict", "{.status.message}"),
        "Usage of EmptyDir volume \"d\" exceeds the limit \"1Mi\". "
    );
    assert_eq!(
        jsonpath(&s, "evict", "{.status.conditions[?(@.type==\"DisruptionTarget\")].reason}"),
        "TerminationByKubelet"
    );
    assert!(events(&s, "evict").contains("Warning Evicted Usage of EmptyDir volume"));

    // attach to a container's stdin, with kubectl 1.33 (WebSocket) and 1.27 (SPDY).
    wait_ready(&s, "talk");
    for v in ["1.33", "1.27"] {
        let text = attach(&s, v, "talk", &format!("hello-{v}\n"), &format!("got hello-{v}"));
        assert!(text.contains(&format!("got hello-{v}")), "kubectl {v} attach: {text}");
    }
    std::thread::sleep(Duration::from_millis(200));
    assert!(k.ok(&["logs", "talk"]).contains("got hello-1.27"));

    k.ok(&["delete", "pod", "--all", "--grace-period=1"]);
    assert_node_clean(&s);
}

/// `kubectl attach -i`: send `input`, read until `until` shows (or 30 s), then detach.
fn attach(s: &Server, version: &str, pod: &str, input: &str, until: &str) -> String {
    use std::io::{Read, Write};
    let mut child = s
        .kubectl(version)
        .command(&["attach", "-i", pod])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("kubectl attach");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut text = String::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    // The stream may not be attached yet when the first line goes out: repeat it until seen.
    while std::time::Instant::now() < deadline && !text.contains(until) {
        let _ = stdin.write_all(input.as_bytes());
        let _ = stdin.flush();
        while let Ok(chunk) = rx.recv_timeout(Duration::from_millis(500)) {
            text.push_str(&String::from_utf8_lossy(&chunk));
            if text.contains(until) {
                break;
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    text
}

const BAD: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: never}
spec:
  containers: [{name: c, image: "example.invalid/none:1", imagePullPolicy: Never}]
---
apiVersion: v1
kind: Pod
metadata: {name: nopull}
spec:
  containers: [{name: c, image: "127.0.0.1:9/none:1", imagePullPolicy: IfNotPresent}]
---
apiVersion: v1
kind: Pod
metadata: {name: nocmd}
spec:
  containers: [{name: c, image: busybox, imagePullPolicy: IfNotPresent, command: [/no/such/binary]}]
---
apiVersion: v1
kind: Pod
metadata: {name: nocm}
spec:
  terminationGracePeriodSeconds: 1
  containers: [{name: c, image: busybox, imagePullPolicy: IfNotPresent, command: [sleep, "3600"], volumeMounts: [{name: v, mountPath: /v}]}]
  volumes: [{name: v, configMap: {name: later}}]
---
apiVersion: v1
kind: Pod
metadata: {name: nokey}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: busybox
    imagePullPolicy: IfNotPresent
    command: [sleep, "3600"]
    env: [{name: X, valueFrom: {secretKeyRef: {name: missing, key: k}}}]
---
apiVersion: v1
kind: Pod
metadata: {name: port1}
spec:
  terminationGracePeriodSeconds: 1
  containers: [{name: c, image: busybox, imagePullPolicy: IfNotPresent, command: [sleep, "3600"], ports: [{containerPort: 80, hostPort: 18081}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: port2}
spec:
  containers: [{name: c, image: busybox, imagePullPolicy: IfNotPresent, command: [sleep, "3600"], ports: [{containerPort: 80, hostPort: 18081}]}]
"#;

#[test]
fn bad_specs_show_the_statuses_and_events_of_kubernetes() {
    if !root() {
        eprintln!("skipped: needs root and containernetworking-plugins");
        return;
    }
    let s = Server::start_with_agent();
    let k = s.kubectl("1.33");
    apply(&s, BAD);
    let waiting = |pod: &str| jsonpath(&s, pod, "{.status.containerStatuses[0].state.waiting.reason}");
    until(&s, "never", 90, "ErrImageNeverPull", || waiting("never") == "ErrImageNeverPull");
    assert!(events(&s, "never").contains("is not present with pull policy of Never"));
    until(&s, "nopull", 90, "ImagePullBackOff", || waiting("nopull") == "ImagePullBackOff");
    let ev = events(&s, "nopull");
    assert!(ev.contains("Warning Failed Failed to pull image \"127.0.0.1:9/none:1\""), "{ev}");
    assert!(ev.contains("Error: ErrImagePull"), "{ev}");
    until(&s, "nocmd", 90, "command not found", || {
        jsonpath(&s, "nocmd", "{.status.containerStatuses[0].lastState.terminated.reason}") == "StartError"
            || jsonpath(&s, "nocmd", "{.status.containerStatuses[0].state.terminated.reason}") == "StartError"
    });
    assert!(events(&s, "nocmd").contains("/no/such/binary"), "{}", events(&s, "nocmd"));
    until(&s, "nokey", 90, "missing secret", || waiting("nokey") == "CreateContainerConfigError");
    assert!(events(&s, "nokey").contains("Error: secret \"missing\" not found"), "{}", events(&s, "nokey"));

    // A missing ConfigMap: the pod waits with FailedMount, and starts once it exists.
    until(&s, "nocm", 90, "FailedMount", || events(&s, "nocm").contains("Warning FailedMount"));
    assert!(events(&s, "nocm").contains("configmap \"later\" not found"), "{}", events(&s, "nocm"));
    assert_eq!(waiting("nocm"), "ContainerCreating");
    k.ok(&["create", "configmap", "later", "--from-literal=k=v"]);
    wait_ready(&s, "nocm");

    // A host port already taken: the second pod is not scheduled, and says why.
    wait_ready(&s, "port1");
    until(&s, "port2", 90, "port2 unschedulable", || {
        jsonpath(&s, "port2", "{.status.conditions[?(@.type==\"PodScheduled\")].reason}") == "Unschedulable"
    });
    assert!(
        events(&s, "port2").contains("didn't have free ports for the requested pod ports"),
        "{}",
        events(&s, "port2")
    );

    k.ok(&["delete", "pod", "--all", "--grace-period=1"]);
    assert_node_clean(&s);
}

const TERMINALS: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: ticker}
spec:
  terminationGracePeriodSeconds: 1
  hostname: h1
  subdomain: sub
  hostAliases: [{ip: 10.1.2.3, hostnames: [foo.local, bar.local]}]
  containers:
  - {name: c, image: busybox, imagePullPolicy: IfNotPresent, command: [sh, -c, "i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.3; done"]}
---
apiVersion: v1
kind: Pod
metadata: {name: hostnet}
spec:
  terminationGracePeriodSeconds: 1
  hostNetwork: true
  containers:
  - {name: c, image: busybox, imagePullPolicy: IfNotPresent, command: [sleep, "3600"]}
---
apiVersion: v1
kind: Pod
metadata: {name: shell}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: busybox, imagePullPolicy: IfNotPresent, stdin: true, tty: true, command: [sh]}
"#;

/// Run a kubectl command line inside script(1), which gives it a terminal; `input` is typed.
fn in_terminal(kc: &crate::harness::Kubectl, args: &str, input: &str) -> std::process::Output {
    use std::io::Write;
    let cmd = format!("{} {args}", kc.bin.display());
    let mut child = std::process::Command::new("timeout")
        .args(["60", "script", "-qec", &cmd, "/dev/null"])
        .env("KUBECONFIG", &kc.kubeconfig)
        .env("HOME", &kc.home)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("script");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).unwrap();
    // Keep the terminal open until the remote side ends the session.
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(30));
        drop(stdin);
    });
    child.wait_with_output().expect("script")
}

/// The last `tick N` in a text.
fn last_tick(text: &str) -> u64 {
    text.lines().filter_map(|l| l.strip_prefix("tick ")).filter_map(|n| n.trim().parse().ok()).next_back().unwrap_or(0)
}

#[test]
fn terminals_follow_host_network_and_dns_files() {
    if !root() {
        eprintln!("skipped: needs root and containernetworking-plugins");
        return;
    }
    let s = Server::start_with_agent();
    let k = s.kubectl("1.33");
    apply(&s, TERMINALS);
    wait_ready(&s, "ticker");
    wait_ready(&s, "hostnet");

    // exec -it through a real terminal (script(1) gives kubectl one), both protocols.
    wait_ready(&s, "shell");
    for v in ["1.33", "1.27"] {
        let kc = s.kubectl(v);
        let out = in_terminal(&kc, "exec -it ticker -- sh -c 'tty; exit 3'", "");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(text.contains("/dev/pts/"), "kubectl {v} exec -it has a terminal: {text}");
        assert_eq!(out.status.code(), Some(3), "kubectl {v}: the exit code comes back: {text}");
        // attach -it to a container with a TTY: what is typed reaches its shell.
        let before = jsonpath(&s, "shell", "{.status.containerStatuses[0].restartCount}");
        let out = in_terminal(&kc, "attach -it shell", &format!("echo hi-$((40+2))-{v}; exit\n"));
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(text.contains(&format!("hi-42-{v}")), "kubectl {v} attach -it: {text}");
        until(&s, "shell", 60, "shell restarted and ready", || {
            jsonpath(&s, "shell", "{.status.containerStatuses[0].restartCount}") != before
                && jsonpath(&s, "shell", "{.status.containerStatuses[0].ready}") == "true"
        });
    }

    // logs -f keeps following: it shows lines written after it started.
    let seen = last_tick(&k.ok(&["logs", "ticker"]));
    let follow = crate::util::Background::start(&k, &["logs", "-f", "ticker"]);
    follow.wait_for(30, "logs -f follows", |out| last_tick(out) > seen + 3);
    drop(follow);
    let limited = k.ok(&["logs", "ticker", "--limit-bytes=7"]);
    assert_eq!(limited.len(), 7, "{limited:?}");
    let since = k.ok(&["logs", "ticker", "--since=1s"]);
    assert!(!since.contains("tick 1\n"), "--since drops old lines");

    // DNS files of a pod on the pod network.
    let resolv = exec(&s, "ticker", "c", "cat /etc/resolv.conf");
    assert!(resolv.contains("nameserver 10.43.0.10"), "{resolv}");
    assert!(resolv.contains("search default.svc.cluster.local svc.cluster.local cluster.local"), "{resolv}");
    assert!(resolv.contains("options ndots:5"), "{resolv}");
    let hosts = exec(&s, "ticker", "c", "cat /etc/hosts");
    let ip = jsonpath(&s, "ticker", "{.status.podIP}");
    assert!(hosts.contains(&format!("{ip}\th1.sub.default.svc.cluster.local\th1")), "{hosts}");
    assert!(hosts.contains("10.1.2.3\tfoo.local\tbar.local"), "{hosts}");
    assert_eq!(exec(&s, "ticker", "c", "hostname").trim(), "h1");

    // hostNetwork: the node's address and name.
    assert_eq!(jsonpath(&s, "hostnet", "{.status.podIP}"), jsonpath(&s, "hostnet", "{.status.hostIP}"));
    let host = nix::unistd::gethostname().unwrap().to_string_lossy().into_owned();
    assert_eq!(exec(&s, "hostnet", "c", "hostname").trim(), host);

    k.ok(&["delete", "pod", "--all", "--grace-period=1"]);
    assert_node_clean(&s);
}

#[test]
fn the_node_registers_and_heartbeats_like_a_kubelet() {
    if !root() {
        eprintln!("skipped: needs root and containernetworking-plugins");
        return;
    }
    let s = Server::start_with_agent();
    let k = s.kubectl("1.33");
    let ready =
        || k.ok(&["get", "node", "test-node", "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}"]);
    crate::harness::eventually(60, "node Ready", || ready() == "True");
    let node = k.json(&["get", "node", "test-node", "-o", "json"]);
    let st = &node["status"];
    for key in ["cpu", "memory", "pods", "ephemeral-storage"] {
        assert!(st["capacity"][key].is_string() && st["allocatable"][key].is_string(), "{key}: {st}");
    }
    assert_eq!(st["capacity"]["pods"], "110");
    let cpus = std::thread::available_parallelism().unwrap().get().to_string();
    assert_eq!(st["capacity"]["cpu"], cpus.as_str());
    let types: Vec<&str> = st["addresses"].as_array().unwrap().iter().map(|a| a["type"].as_str().unwrap()).collect();
    assert!(types.contains(&"InternalIP") && types.contains(&"Hostname"), "{types:?}");
    let info = &st["nodeInfo"];
    assert_eq!(info["operatingSystem"], "linux");
    assert_eq!(info["architecture"], "amd64");
    assert!(info["containerRuntimeVersion"].as_str().unwrap().starts_with("coracle://"));
    assert!(info["kubeletVersion"].as_str().unwrap().starts_with("v1.33"));
    assert!(!info["kernelVersion"].as_str().unwrap().is_empty() && !info["osImage"].as_str().unwrap().is_empty());
    let conds: Vec<(String, String)> = st["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["type"].as_str().unwrap().to_string(), c["status"].as_str().unwrap().to_string()))
        .collect();
    for (t, want) in
        [("Ready", "True"), ("MemoryPressure", "False"), ("DiskPressure", "False"), ("PIDPressure", "False")]
    {
        assert!(conds.contains(&(t.to_string(), want.to_string())), "{t}={want} in {conds:?}");
    }
    assert_eq!(node["metadata"]["labels"]["node-role.kubernetes.io/control-plane"], "true");
    assert_eq!(node["metadata"]["labels"]["kubernetes.io/hostname"], "test-node");

    // The Lease is renewed every 10 s; the Node itself is not rewritten while nothing changes.
    let renew = || k.ok(&["get", "lease", "-n", "kube-node-lease", "test-node", "-o", "jsonpath={.spec.renewTime}"]);
    let first = renew();
    let node_rv = k.ok(&["get", "node", "test-node", "-o", "jsonpath={.metadata.resourceVersion}"]);
    crate::harness::eventually(30, "lease renewed", || renew() != first);
    assert_eq!(k.ok(&["get", "node", "test-node", "-o", "jsonpath={.metadata.resourceVersion}"]), node_rv);
}
