//! Pod benchmark (run as root): starts the real `coracle server` (optimised build) with its
//! node agent on a temporary data dir, its own ports and pod CIDR, with the busybox test image
//! imported, and prints
//! - pod start-up latency, from the create request to the watch showing `status.phase ==
//!   Running` (image present), p50/p99 for 1, 10 and 50 pods created at once,
//! - delete latency, from the delete request to the watch's DELETED event and to the pod torn
//!   down on the node (its folder under `<data-dir>/agent/pods` removed, which the kubelet does
//!   after stopping the containers and removing network, mounts and cgroups),
//! - the rate of a create → Running → delete → object gone churn of 5 concurrent loops (the
//!   node tears the pods down meanwhile) and how long after it the last one was torn down,
//! - RSS and PSS of the server and of all its `coracle shim` processes idle, with 50 pods
//!   running, before the churn and after it; then it deletes everything, stops the server with
//!   SIGTERM and checks that nothing of it is left on the host (netns, shims, mounts, cgroups).
//!
//! The pods have `terminationGracePeriodSeconds: 0`, so (as in Kubernetes) the API removes the
//! object at once and the kubelet tears the pod down afterwards; `sleep` as the container's
//! PID 1 ignores SIGTERM, so each teardown waits the 2 s minimum grace before SIGKILL (the
//! kubelet's `minimumGracePeriodInSeconds`).
//!
//! Kubernetes' own SLO for pod start-up (image present) is p99 ≤ 5 s.
//! `BENCH_CHURN_SECS` sets the churn duration (default 20). Under `cargo test --all-targets`
//! (no `--bench`) this is a quick smoke run (batches of 1 and 3, a 3 s churn).
//! Run with `scripts/bench-pods` (or `cargo bench --bench pods`).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Node, Pod, ServiceAccount};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::runtime::watcher;

mod common;
use common::{busybox_archive, memory_kib, percentile};

const BIN: &str = env!("CARGO_BIN_EXE_coracle");
const LABEL: &str = "app=bench-pods";
/// Outside the 10.200–10.254 range the e2e harness hands to its servers.
const CLUSTER_CIDR: &str = "10.198.0.0/16";
const NODE: &str = "bench-node";
/// How long one pod may take to be Running or gone before the bench gives up.
const POD_TIMEOUT: Duration = Duration::from_secs(180);

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The server process; on a failed run it shows the log's tail and removes what it can.
struct Server {
    child: Option<Child>,
    dir: tempfile::TempDir,
    paths: coracle::runtime::paths::RuntimePaths,
}

impl Server {
    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }
    fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("kubeconfig.yaml")
    }
    fn log(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }
    fn pid(&self) -> i32 {
        self.child.as_ref().map(|c| c.id() as i32).unwrap_or(0)
    }

    fn start() -> Server {
        let dir = tempfile::Builder::new().prefix("coracle-bench-pods-").tempdir().expect("tempdir");
        let paths = coracle::runtime::paths::RuntimePaths::new(&dir.path().join("data"));
        let mut s = Server { child: None, dir, paths };
        let out = Command::new(BIN)
            .args(["images", "import", "--data-dir"])
            .arg(s.data_dir())
            .arg(busybox_archive())
            .output()
            .expect("coracle images import");
        assert!(out.status.success(), "import busybox: {}", String::from_utf8_lossy(&out.stderr));
        let log = std::fs::File::create(s.log()).expect("log file");
        let child = Command::new(BIN)
            .arg("server")
            .arg("--data-dir")
            .arg(s.data_dir())
            .args(["--https-listen-port", &free_port().to_string(), "--bind-address", "127.0.0.1"])
            .arg("--write-kubeconfig")
            .arg(s.kubeconfig())
            .args(["--node-name", NODE, "--kubelet-port", &free_port().to_string(), "--cluster-cidr", CLUSTER_CIDR])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start coracle server");
        s.child = Some(child);
        s
    }

    /// SIGTERM, then wait for the process to end (SIGKILL after 30 s). Returns how it ended.
    fn stop(&mut self) -> String {
        let Some(mut child) = self.child.take() else { return "not running".into() };
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(30) {
            if let Ok(Some(st)) = child.try_wait() {
                return format!("stopped by SIGTERM in {:.0} ms ({st})", t.elapsed().as_secs_f64() * 1e3);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
        "did not stop within 30 s of SIGTERM; killed".into()
    }

    fn ctr_ids(&self) -> Vec<String> {
        let out = Command::new(BIN)
            .args(["ctr", "ps", "-a", "-q", "--data-dir"])
            .arg(self.data_dir())
            .output()
            .expect("coracle ctr ps");
        String::from_utf8_lossy(&out.stdout).split_whitespace().map(str::to_string).collect()
    }

    /// This instance's network namespaces under /run/netns.
    fn netns(&self) -> Vec<String> {
        let prefix = format!("cni-{}-", self.paths.instance);
        std::fs::read_dir("/run/netns")
            .map(|rd| {
                rd.filter_map(|e| e.ok()?.file_name().into_string().ok()).filter(|n| n.starts_with(&prefix)).collect()
            })
            .unwrap_or_default()
    }

    /// Pids of the `coracle shim` processes of this data dir.
    fn shims(&self) -> Vec<i32> {
        let data = self.paths.data_dir.as_os_str().as_encoded_bytes();
        let mut pids = Vec::new();
        for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else { continue };
            let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) else { continue };
            let args: Vec<&[u8]> = cmd.split(|b| *b == 0).collect();
            let is_shim = args.get(1) == Some(&&b"shim"[..]);
            let ours = args.windows(2).any(|w| w[0] == b"--data-dir" && w[1] == data);
            if is_shim && ours {
                pids.push(pid);
            }
        }
        pids
    }

    /// Everything of this instance still on the host after the server stopped.
    fn leftovers(&self) -> Vec<String> {
        let mut out = Vec::new();
        for n in self.netns() {
            out.push(format!("netns /run/netns/{n}"));
        }
        for pid in self.shims() {
            out.push(format!("shim process {pid}"));
        }
        let data = self.paths.data_dir.display().to_string();
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        for l in mounts.lines() {
            if let Some(mp) = l.split(' ').nth(4).filter(|mp| mp.starts_with(&data)) {
                out.push(format!("mount {mp}"));
            }
        }
        let cg = Path::new("/sys/fs/cgroup").join(self.paths.cgroup_parent());
        if cg.exists() {
            out.push(format!("cgroup {} ({} sub-cgroups)", cg.display(), count_dirs(&cg)));
        }
        let run = self.paths.run_dir();
        if std::fs::read_dir(&run).map(|mut d| d.next().is_some()).unwrap_or(false) {
            out.push(format!("state {}", run.display()));
        }
        out
    }

    /// Remove the bridge of this instance (the server leaves it behind, as k3s leaves cni0).
    fn remove_bridge(&self) -> bool {
        let bridge = format!("cni-{}", self.paths.instance);
        let exists = Command::new("ip")
            .args(["link", "show", &bridge])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if exists {
            let _ = Command::new("ip").args(["link", "del", &bridge]).status();
        }
        exists
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.child.is_none() {
            return;
        }
        // Failed half-way: show why, then remove by force what the pods left.
        if std::thread::panicking() {
            let log = std::fs::read_to_string(self.log()).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            eprintln!("--- server log (last 40 lines) ---");
            for l in tail.into_iter().rev() {
                eprintln!("{l}");
            }
        }
        self.stop();
        let ids = self.ctr_ids();
        if !ids.is_empty() {
            let _ = Command::new(BIN)
                .args(["ctr", "--data-dir"])
                .arg(self.data_dir())
                .arg("rm")
                .arg("-f")
                .args(&ids)
                .status();
        }
        for n in self.netns() {
            let _ = Command::new("ip").args(["netns", "del", &n]).status();
        }
        self.remove_bridge();
    }
}

fn count_dirs(p: &Path) -> usize {
    std::fs::read_dir(p)
        .map(|rd| rd.flatten().filter(|e| e.path().is_dir()).map(|e| 1 + count_dirs(&e.path())).sum())
        .unwrap_or(0)
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn report(what: &str, mut times: Vec<Duration>, note: &str) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{what:<38} p50 {:>7.0} ms   p99 {:>7.0} ms   max {:>7.0} ms   (n={}){note}",
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.99)),
        ms(times[times.len() - 1]),
        times.len()
    );
}

/// What the pod watch has seen, stamped when the event arrived.
#[derive(Default)]
struct Seen {
    running: HashMap<String, Instant>,
    gone: HashMap<String, Instant>,
    present: HashSet<String>,
    init: HashSet<String>,
}

impl Seen {
    fn apply(&mut self, pod: &Pod, now: Instant) {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
        if phase == Some("Running") {
            self.running.entry(name.clone()).or_insert(now);
        }
        self.present.insert(name);
    }
    fn delete(&mut self, name: String, now: Instant) {
        self.present.remove(&name);
        self.gone.entry(name).or_insert(now);
    }
}

struct Bench {
    api: Api<Pod>,
    seen: Arc<Mutex<Seen>>,
    watch: tokio::task::JoinHandle<()>,
    /// `<data-dir>/agent/pods`: the kubelet removes a pod's folder last when it tears it down.
    pods_dir: PathBuf,
    uids: Mutex<HashMap<String, String>>,
}

fn pod(name: &str) -> Pod {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "bench-pods"}},
        "spec": {
            "terminationGracePeriodSeconds": 0,
            "containers": [{
                "name": "sleep",
                "image": "busybox",
                "imagePullPolicy": "IfNotPresent",
                "command": ["sleep", "3600"],
            }],
        },
    }))
    .expect("pod")
}

impl Bench {
    /// Watch this bench's pods for the whole run.
    fn new(client: kube::Client, pods_dir: PathBuf) -> Bench {
        let api: Api<Pod> = Api::namespaced(client, "default");
        let seen = Arc::new(Mutex::new(Seen::default()));
        let (w, s) = (api.clone(), seen.clone());
        let watch = tokio::spawn(async move {
            let mut stream = watcher(w, watcher::Config::default().labels(LABEL)).boxed();
            while let Some(ev) = stream.next().await {
                let now = Instant::now();
                let ev = match ev {
                    Ok(ev) => ev,
                    Err(e) => {
                        // A watcher retries at once: pause, or a refused connection spins this task.
                        eprintln!("pod watch: {e} (retrying)");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        continue;
                    }
                };
                let mut s = s.lock().unwrap();
                match ev {
                    watcher::Event::Apply(p) => s.apply(&p, now),
                    watcher::Event::Delete(p) => s.delete(p.metadata.name.unwrap_or_default(), now),
                    watcher::Event::Init => s.init.clear(),
                    watcher::Event::InitApply(p) => {
                        s.init.insert(p.metadata.name.clone().unwrap_or_default());
                        s.apply(&p, now);
                    }
                    watcher::Event::InitDone => {
                        let missing: Vec<String> = s.present.difference(&s.init).cloned().collect();
                        for n in missing {
                            s.delete(n, now);
                        }
                    }
                }
            }
        });
        Bench { api, seen, watch, pods_dir, uids: Mutex::default() }
    }

    /// Create the pods concurrently; returns when each create request was sent.
    async fn create(&self, names: &[String]) -> Vec<Instant> {
        let reqs = names.iter().map(|n| {
            let api = self.api.clone();
            let p = pod(n);
            async move {
                let t = Instant::now();
                let made = api.create(&PostParams::default(), &p).await.expect("create pod");
                (t, made.metadata.uid.unwrap_or_default())
            }
        });
        let made = futures::future::join_all(reqs).await;
        let mut uids = self.uids.lock().unwrap();
        for (n, (_, uid)) in names.iter().zip(&made) {
            uids.insert(n.clone(), uid.clone());
        }
        made.into_iter().map(|m| m.0).collect()
    }

    /// Delete the pods concurrently; returns when each delete request was sent.
    async fn delete(&self, names: &[String]) -> Vec<Instant> {
        let reqs = names.iter().map(|n| {
            let api = self.api.clone();
            async move {
                let t = Instant::now();
                api.delete(n, &DeleteParams::default()).await.expect("delete pod");
                t
            }
        });
        futures::future::join_all(reqs).await
    }

    /// Wait until the watch has seen every pod Running (`running`) or gone; the times it did.
    async fn wait(&self, names: &[String], running: bool) -> Vec<Instant> {
        let deadline = Instant::now() + POD_TIMEOUT;
        loop {
            {
                let s = self.seen.lock().unwrap();
                let map = if running { &s.running } else { &s.gone };
                let got: Vec<Instant> = names.iter().filter_map(|n| map.get(n).copied()).collect();
                if got.len() == names.len() {
                    return got;
                }
            }
            if Instant::now() > deadline {
                self.dump(names).await;
                panic!("pods not {} within {POD_TIMEOUT:?}", if running { "Running" } else { "gone" });
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    async fn dump(&self, names: &[String]) {
        let list = self.api.list(&ListParams::default().labels(LABEL)).await.map(|l| l.items).unwrap_or_default();
        for p in list.iter().filter(|p| names.contains(p.metadata.name.as_ref().unwrap())) {
            let st = p.status.as_ref();
            eprintln!(
                "{}: phase {:?} deletion {:?} containers {}",
                p.metadata.name.as_deref().unwrap_or(""),
                st.and_then(|s| s.phase.as_deref()),
                p.metadata.deletion_timestamp,
                serde_json::to_string(&st.and_then(|s| s.container_statuses.clone())).unwrap_or_default()
            );
        }
    }

    /// Create a batch at once, wait Running: the start-up latency of each pod.
    async fn start_batch(&self, names: &[String]) -> Vec<Duration> {
        let sent = self.create(names).await;
        let running = self.wait(names, true).await;
        running.iter().zip(&sent).map(|(r, s)| r.saturating_duration_since(*s)).collect()
    }

    /// Delete a batch at once, wait until the objects are gone and the node has torn the pods
    /// down: both latencies per pod.
    async fn delete_batch(&self, names: &[String]) -> (Vec<Duration>, Vec<Duration>) {
        let sent = self.delete(names).await;
        let gone = self.wait(names, false).await;
        let down = self.torn_down(names).await;
        let since = |t: &[Instant]| t.iter().zip(&sent).map(|(g, s)| g.saturating_duration_since(*s)).collect();
        (since(&gone), since(&down))
    }

    /// Wait until the node has torn the pods down: their folders under `<data-dir>/agent/pods`
    /// are gone, which the kubelet removes after the containers, network and mounts. When each was.
    async fn torn_down(&self, names: &[String]) -> Vec<Instant> {
        let dirs: Vec<PathBuf> = {
            let uids = self.uids.lock().unwrap();
            names.iter().map(|n| self.pods_dir.join(uids.get(n).map(String::as_str).unwrap_or("?"))).collect()
        };
        let mut down: Vec<Option<Instant>> = vec![None; names.len()];
        let deadline = Instant::now() + POD_TIMEOUT;
        while down.iter().any(Option::is_none) {
            let now = Instant::now();
            for (d, dir) in down.iter_mut().zip(&dirs) {
                if d.is_none() && !dir.exists() {
                    *d = Some(now);
                }
            }
            assert!(now < deadline, "pods not torn down on the node within {POD_TIMEOUT:?}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        down.into_iter().flatten().collect()
    }
}

/// Print RSS and PSS of the server and the sum over its shims (with the per-shim average).
fn print_memory(server: &Server, when: &str) {
    let (rss, pss) = memory_kib(server.pid());
    println!("{:<38} RSS {:>7.1} MiB   PSS {:>7.1} MiB", format!("coracle server, {when}"), mib(rss), mib(pss));
    let shims = server.shims();
    if shims.is_empty() {
        return;
    }
    let (srss, spss) = shims.iter().map(|p| memory_kib(*p)).fold((0, 0), |a, m| (a.0 + m.0, a.1 + m.1));
    let n = shims.len() as u64;
    println!(
        "{:<38} RSS {:>7.1} MiB   PSS {:>7.1} MiB   (per shim: RSS {:.2} MiB, PSS {:.2} MiB)",
        format!("{n} shims, {when}"),
        mib(srss),
        mib(spss),
        mib(srss / n),
        mib(spss / n)
    );
    println!("{:<38} RSS {:>7.1} MiB   PSS {:>7.1} MiB", "  server + shims", mib(rss + srss), mib(pss + spss));
}

fn names(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{i}")).collect()
}

#[tokio::main]
async fn main() {
    if !nix::unistd::geteuid().is_root() || !Path::new("/usr/lib/cni/bridge").exists() {
        println!("bench pods: skipped (needs root and containernetworking-plugins in /usr/lib/cni)");
        return;
    }
    // `cargo bench` passes --bench; under `cargo test --all-targets` this is a quick smoke run.
    let full = std::env::args().any(|a| a == "--bench");
    // (pods at once, rounds)
    let batches: &[(usize, usize)] = if full { &[(1, 10), (10, 3), (50, 1)] } else { &[(1, 1), (3, 1)] };
    let churn_secs: u64 =
        std::env::var("BENCH_CHURN_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(if full { 20 } else { 3 });
    let churn_loops = if full { 5 } else { 2 };

    let started = Instant::now();
    let mut server = Server::start();
    let client = loop {
        if server.kubeconfig().exists() {
            let kc = kube::config::Kubeconfig::read_from(server.kubeconfig()).unwrap();
            let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default()).await.unwrap();
            let c = kube::Client::try_from(cfg).unwrap();
            let req = http::Request::get("/readyz").body(Vec::new()).unwrap();
            if c.request_text(req).await.is_ok() {
                break c;
            }
        }
        assert!(started.elapsed() < Duration::from_secs(60), "server did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // Pods need the node Ready and the default service account.
    let nodes: Api<Node> = Api::all(client.clone());
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), "default");
    loop {
        let ready = nodes.get_opt(NODE).await.ok().flatten().is_some_and(|n| {
            n.status
                .and_then(|s| s.conditions)
                .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
        });
        if ready && sas.get_opt("default").await.ok().flatten().is_some() {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(90), "node not Ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ready_after = started.elapsed();

    println!(
        "coracle pod benchmark ({}; busybox `sleep 3600`, image present)",
        if full { "release build" } else { "smoke run" }
    );
    println!("{:<38} {:>7.0} ms", "server start to node Ready", ready_after.as_secs_f64() * 1e3);
    tokio::time::sleep(Duration::from_secs(2)).await;
    print_memory(&server, "idle");

    let bench = Bench::new(client.clone(), server.paths.agent().join("pods"));
    // The first pod makes the bridge and the cgroup parents.
    let first = names("first", 1);
    let t = bench.start_batch(&first).await;
    println!("{:<38} {:>7.0} ms", "first pod (cold) to Running", t[0].as_secs_f64() * 1e3);
    bench.delete_batch(&first).await;

    let largest = batches.iter().map(|b| b.0).max().unwrap();
    for &(size, rounds) in batches {
        let mut start = Vec::new();
        let mut del = Vec::new();
        let mut down = Vec::new();
        for r in 0..rounds {
            let batch = names(&format!("b{size}-r{r}"), size);
            start.extend(bench.start_batch(&batch).await);
            if size == largest {
                tokio::time::sleep(Duration::from_secs(2)).await;
                print_memory(&server, &format!("{size} pods running"));
            }
            let (d, t) = bench.delete_batch(&batch).await;
            del.extend(d);
            down.extend(t);
        }
        let pods = format!("{size} pod{} at once", if size == 1 { "" } else { "s" });
        report(&format!("{pods}: create→Running"), start, "   (k8s SLO: p99 <= 5000 ms)");
        report(&format!("{pods}: delete→object gone"), del, "");
        report(&format!("{pods}: delete→torn down"), down, "   (2 s minimum grace: sleep ignores SIGTERM)");
    }

    tokio::time::sleep(Duration::from_secs(2)).await;
    print_memory(&server, "before the churn");

    // Churn: create, Running, delete, object gone, in concurrent loops; the node tears the
    // pods down meanwhile (each takes the 2 s minimum grace), then the rest is waited for.
    let bench = Arc::new(bench);
    let t = Instant::now();
    let until = t + Duration::from_secs(churn_secs);
    let loops = (0..churn_loops).map(|l| {
        let bench = bench.clone();
        tokio::spawn(async move {
            let mut cycles = Vec::new();
            let mut made = Vec::new();
            let mut i = 0;
            while Instant::now() < until {
                let name = vec![format!("churn-{l}-{i}")];
                let c = Instant::now();
                bench.start_batch(&name).await;
                bench.delete(&name).await;
                bench.wait(&name, false).await;
                cycles.push(c.elapsed());
                made.extend(name);
                i += 1;
            }
            (cycles, made)
        })
    });
    let mut cycles = Vec::new();
    let mut made = Vec::new();
    for l in futures::future::join_all(loops).await {
        let (c, m) = l.expect("churn loop");
        cycles.extend(c);
        made.extend(m);
    }
    let elapsed = t.elapsed();
    let down = bench.torn_down(&made).await;
    let drained = down.iter().max().map(|d| d.saturating_duration_since(t + elapsed)).unwrap_or_default();
    println!(
        "{:<38} {:>7.2} pods/s   ({} pods in {:.1} s, {churn_loops} loops)",
        "churn create→Running→delete→gone",
        cycles.len() as f64 / elapsed.as_secs_f64(),
        cycles.len(),
        elapsed.as_secs_f64()
    );
    report("  one churn cycle", cycles, "");
    println!("{:<38} {:>7.0} ms after the churn", "  all churned pods torn down", drained.as_secs_f64() * 1e3);

    // Clean up: every pod gone, every container and sandbox removed, then SIGTERM.
    let rest: Vec<String> = bench
        .api
        .list(&ListParams::default().labels(LABEL))
        .await
        .expect("list pods")
        .items
        .into_iter()
        .filter_map(|p| p.metadata.name)
        .collect();
    if !rest.is_empty() {
        bench.delete_batch(&rest).await;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while !(server.ctr_ids().is_empty() && server.netns().is_empty() && server.shims().is_empty()) {
        assert!(Instant::now() < deadline, "containers or sandboxes left 60 s after the pods were deleted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    print_memory(&server, "after the churn");
    bench.watch.abort();
    println!("{:<38} {}", "server", server.stop());
    let left = server.leftovers();
    let bridge = server.remove_bridge();
    if left.is_empty() {
        println!(
            "{:<38} none (netns, shims, mounts, cgroups, run dir){}",
            "left on the host",
            if bridge { "; bridge removed" } else { "" }
        );
    } else {
        println!("{:<38} {}", "left on the host", left.join(", "));
    }
}
