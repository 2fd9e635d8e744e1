//! Pods really run: `coracle server` with its node agent, real youki containers on a real
//! CNI network, driven by kubectl 1.33 and 1.27 (logs, exec, attach-free paths, port-forward,
//! cp), crash loops, completion, a hard restart of coracle, and cleanup. Needs root.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::harness::{Kubectl, Server, eventually};

pub(crate) fn root() -> bool {
    nix::unistd::geteuid().is_root() && std::path::Path::new("/usr/lib/cni/bridge").exists()
}

/// Per-instance network namespaces the server's sandboxes use.
pub(crate) fn netns_of(s: &Server) -> Vec<String> {
    let tag = instance(s);
    std::fs::read_dir("/run/netns")
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| n.starts_with(&format!("cni-{tag}-")))
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn instance(s: &Server) -> String {
    coracle::runtime::paths::RuntimePaths::new(&s.data_dir()).instance
}

pub(crate) fn ctr_ps(s: &Server) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_coracle"))
        .args(["ctr", "ps", "-a", "-q", "--data-dir"])
        .arg(s.data_dir())
        .output()
        .expect("coracle ctr ps");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `TYPE REASON MESSAGE` lines of the events about a pod.
pub(crate) fn events(k: &Kubectl, pod: &str) -> String {
    k.ok(&[
        "get",
        "events",
        "--field-selector",
        &format!("involvedObject.name={pod}"),
        "-o",
        "jsonpath={range .items[*]}{.type} {.reason} {.message}{\"\\n\"}{end}",
    ])
}

pub(crate) fn wait_ready(s: &Server, pod: &str) {
    s.kubectl("1.33").ok(&["wait", "--for=condition=Ready", &format!("pod/{pod}"), "--timeout=90s"]);
}

pub(crate) fn jsonpath(s: &Server, pod: &str, path: &str) -> String {
    s.kubectl("1.33").ok(&["get", "pod", pod, "-o", &format!("jsonpath={path}")])
}

#[test]
fn a_pod_runs_and_kubectl_reaches_it() {
    if !root() {
        eprintln!("skipped: needs root and containernetworking-plugins");
        return;
    }
    let s = Server::start_with_agent();
    let k = s.kubectl("1.33");
    let k27 = s.kubectl("1.27");
    eventually(60, "node Ready", || {
        k.run(&["get", "node", "test-node", "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}"]).stdout
            == b"True"
    });
    let wide = k.ok(&["get", "nodes", "-o", "wide"]);
    assert!(wide.contains("control-plane") && wide.contains("coracle://"), "{wide}");

    k.ok(&[
        "run",
        "web",
        "--image=busybox",
        "--image-pull-policy=IfNotPresent",
        "--",
        "sh",
        "-c",
        "mkdir -p /www; echo served-by-web > /www/index.html; echo web-started; httpd -f -p 8080 -h /www",
    ]);
    wait_ready(&s, "web");
    let ip = jsonpath(&s, "web", "{.status.podIP}");
    let cidr: ipnet::Ipv4Net = s.args().iter().skip_while(|a| *a != "--cluster-cidr").nth(1).unwrap().parse().unwrap();
    assert!(cidr.contains(&ip.parse::<std::net::Ipv4Addr>().unwrap()), "{ip} not in {cidr}");
    let describe = k.ok(&["describe", "pod", "web"]);
    for ev in ["Scheduled", "Pulled", "Created", "Started"] {
        assert!(describe.contains(ev), "{ev} missing:\n{describe}");
    }

    // Pod-to-pod traffic over the pod network.
    k.ok(&[
        "run",
        "client",
        "--image=busybox",
        "--image-pull-policy=IfNotPresent",
        "--restart=Never",
        "--",
        "wget",
        "-qO-",
        &format!("http://{ip}:8080/"),
    ]);
    eventually(60, "client completed", || jsonpath(&s, "client", "{.status.phase}") == "Succeeded");
    assert_eq!(k.ok(&["logs", "client"]).trim(), "served-by-web");

    // Logs, exec (exit codes, stdin) and cp with both kubectl generations.
    for kc in [&k, &k27] {
        assert!(kc.ok(&["logs", "web"]).contains("web-started"));
        assert!(kc.ok(&["logs", "web", "--tail=1", "--timestamps"]).contains("Z web-started"));
        assert_eq!(kc.ok(&["exec", "web", "--", "cat", "/www/index.html"]).trim(), "served-by-web");
        let out = kc.run(&["exec", "web", "--", "sh", "-c", "exit 7"]);
        assert_eq!(out.status.code(), Some(7), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(kc.ok_stdin(&["exec", "-i", "web", "--", "cat"], "through stdin\n"), "through stdin\n");
    }
    let local = s.dir.path().join("up.txt");
    std::fs::write(&local, "copied in\n").unwrap();
    k.ok(&["cp", local.to_str().unwrap(), "web:/tmp/up.txt"]);
    assert_eq!(k27.ok(&["exec", "web", "--", "cat", "/tmp/up.txt"]), "copied in\n");
    let back = s.dir.path().join("hostname");
    k27.ok(&["cp", "web:/etc/hostname", back.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(&back).unwrap().trim(), "web");

    // Port-forward, SPDY (1.27) and WebSocket (1.33).
    for (kc, port) in [(&k, 0u16), (&k27, 1)] {
        let local_port = 19000 + (std::process::id() % 500) as u16 * 2 + port;
        let mut pf = kc
            .command(&["port-forward", "pod/web", &format!("{local_port}:8080")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("port-forward");
        let mut body = String::new();
        eventually(30, "port-forward answers", || {
            use std::io::{Read, Write};
            let Ok(mut c) = std::net::TcpStream::connect(("127.0.0.1", local_port)) else { return false };
            let _ = c.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = c.write_all(b"GET / HTTP/1.0\r\n\r\n");
            body.clear();
            let _ = c.read_to_string(&mut body);
            body.contains("served-by-web")
        });
        let _ = pf.kill();
        let _ = pf.wait();
    }

    // Delete everything: nothing of the pods is left on the node.
    k.ok(&["delete", "pod", "web", "client", "--grace-period=2"]);
    assert_node_clean(&s);
}

/// Wait until the server has no pods, then check that nothing of them is left on the node:
/// no network namespace, veth on the bridge, IP reservation, container, pod directory,
/// mount under the data dir or pod cgroup.
pub(crate) fn assert_node_clean(s: &Server) {
    let k = s.kubectl("1.33");
    eventually(90, "pods gone", || k.ok(&["get", "pods", "-A", "-o", "name"]).trim().is_empty());
    eventually(30, "sandboxes torn down", || netns_of(s).is_empty() && ctr_ps(s).trim().is_empty());
    let list = |dir: std::path::PathBuf| -> Vec<String> {
        std::fs::read_dir(dir)
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default()
    };
    let left = list(s.data_dir().join("agent/pods"));
    assert!(left.is_empty(), "pod dirs left: {left:?}");
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(&s.data_dir().display().to_string()), "mounts left under the data dir");
    let tag = instance(s);
    let ports = list(format!("/sys/class/net/cni-{tag}/brif").into());
    assert!(ports.is_empty(), "veths left on the bridge: {ports:?}");
    let ips: Vec<String> = list(s.data_dir().join("agent/cni/networks/coracle"))
        .into_iter()
        .filter(|f| f.parse::<std::net::IpAddr>().is_ok())
        .collect();
    assert!(ips.is_empty(), "IP reservations left: {ips:?}");
    for ctl in ["memory", "cpu", "pids"] {
        let root = std::path::PathBuf::from(format!("/sys/fs/cgroup/{ctl}/coracle-{tag}/kubepods"));
        let mut stack = vec![root];
        while let Some(d) = stack.pop() {
            for name in list(d.clone()) {
                let p = d.join(&name);
                if p.is_dir() {
                    assert!(!name.starts_with("pod"), "pod cgroup left: {}", p.display());
                    stack.push(p);
                }
            }
        }
    }
}

#[test]
fn crash_loops_back_off_and_finished_pods_complete() {
    if !root() {
        eprintln!("skipped: needs root and containernetworking-plugins");
        return;
    }
    let s = Server::start_with_agent();
    let k = s.kubectl("1.33");
    k.ok(&[
        "run",
        "crash",
        "--image=busybox",
        "--image-pull-policy=IfNotPresent",
        "--",
        "sh",
        "-c",
        "echo dying; exit 3",
    ]);
    k.ok(&[
        "run",
        "done",
        "--image=busybox",
        "--image-pull-policy=IfNotPresent",
        "--restart=Never",
        "--",
        "sh",
        "-c",
        "echo finished > /dev/termination-log",
    ]);
    k.ok(&["run", "fail", "--image=busybox", "--image-pull-policy=IfNotPresent", "--restart=Never", "--", "false"]);
    eventually(90, "CrashLoopBackOff", || {
        let st = jsonpath(&s, "crash", "{.status.containerStatuses[0].state.waiting.reason}");
        let rc: u32 = jsonpath(&s, "crash", "{.status.containerStatuses[0].restartCount}").parse().unwrap_or(0);
        st == "CrashLoopBackOff" && rc >= 2
    });
    assert_eq!(jsonpath(&s, "crash", "{.status.containerStatuses[0].lastState.terminated.exitCode}"), "3");
    // The table shows the waiting reason; the back-off can end (and the container run
    // again for a moment) between the check above and this one, so look again then.
    eventually(60, "kubectl get to show CrashLoopBackOff", || {
        k.ok(&["get", "pod", "crash"]).contains("CrashLoopBackOff")
    });
    assert!(k.ok(&["describe", "pod", "crash"]).contains("Back-off restarting failed container crash"));
    assert_eq!(k.ok(&["logs", "crash", "--previous"]).trim(), "dying");

    eventually(60, "done Succeeded", || jsonpath(&s, "done", "{.status.phase}") == "Succeeded");
    assert_eq!(jsonpath(&s, "done", "{.status.containerStatuses[0].state.terminated.reason}"), "Completed");
    assert_eq!(jsonpath(&s, "done", "{.status.containerStatuses[0].state.terminated.message}"), "finished\n");
    eventually(60, "fail Failed", || jsonpath(&s, "fail", "{.status.phase}") == "Failed");
    assert_eq!(jsonpath(&s, "fail", "{.status.containerStatuses[0].state.terminated.exitCode}"), "1");

    k.ok(&["delete", "pod", "--all", "--grace-period=1"]);
    assert_node_clean(&s);
}

#[test]
fn pods_keep_running_across_a_hard_restart() {
    if !root() {
        eprintln!("skipped: needs root and containernetworking-plugins");
        return;
    }
    let mut s = Server::start_with_agent();
    let k = s.kubectl("1.33");
    k.ok(&[
        "run",
        "keep",
        "--image=busybox",
        "--image-pull-policy=IfNotPresent",
        "--",
        "sh",
        "-c",
        "trap 'exit 0' TERM; echo up; while true; do sleep 1; done",
    ]);
    wait_ready(&s, "keep");
    let id = jsonpath(&s, "keep", "{.status.containerStatuses[0].containerID}");
    let ip = jsonpath(&s, "keep", "{.status.podIP}");
    s.restart_hard();
    let k = s.kubectl("1.33");
    // Same container, same IP, no restart; logs and exec still work.
    std::thread::sleep(Duration::from_secs(2));
    wait_ready(&s, "keep");
    assert_eq!(jsonpath(&s, "keep", "{.status.containerStatuses[0].containerID}"), id);
    assert_eq!(jsonpath(&s, "keep", "{.status.containerStatuses[0].restartCount}"), "0");
    assert_eq!(jsonpath(&s, "keep", "{.status.podIP}"), ip);
    assert!(k.ok(&["logs", "keep"]).contains("up"));
    assert_eq!(k.ok(&["exec", "keep", "--", "echo", "alive"]).trim(), "alive");
    k.ok(&["delete", "pod", "keep"]);
    eventually(60, "cleanup", || netns_of(&s).is_empty() && ctr_ps(&s).trim().is_empty());
}
