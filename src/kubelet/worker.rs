//! One pod's life on this node. A worker task per pod runs [`PodWorker::sync`] whenever
//! the pod changes and once a second: it makes the sandbox and volumes, runs the init
//! containers in order (sidecars stay up), then the app containers, restarts them per
//! `restartPolicy` with the crash-loop back-off, and writes the pod status when it
//! changed. When the pod is deleted it stops the containers within the grace period,
//! tears everything down, and removes the pod object.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Container, LifecycleHandler, Pod, PodStatus};
use kube::api::{Api, DeleteParams, Patch, PatchParams, Preconditions};
use serde_json::json;
use tokio::sync::watch;

use super::Kubelet;
use super::backoff::{Backoff, go_duration};
use super::container::{self, LABEL_ATTEMPT, LABEL_CONTAINER_NAME, LABEL_POD_UID, RequestContext};
use super::env::{self, RuntimeInfo};
use super::objects::{self, PodObjects};
use super::probe::{self, ExecResult, ExecRunner, ProbeHandle, ProbeKind, ProbeReport, ProbeTarget};
use super::sandbox::{self, Sandbox};
use super::status;
use crate::runtime::container::state::{ContainerState, ContainerStatus as RtStatus};

/// How long a container that could not be configured or created waits before the next try.
const CONFIG_RETRY: Duration = Duration::from_secs(10);

/// One run of a container.
#[derive(Clone, Debug)]
pub struct Run {
    pub id: String,
    pub attempt: u32,
    /// When this kubelet saw it start (for the back-off reset); adopted runs count from adoption.
    pub seen_running: Instant,
    pub status: Option<RtStatus>,
    /// Read from the termination log (or the log tail) once it exited.
    pub message: Option<String>,
}

/// What the worker knows of one container of the pod.
#[derive(Debug, Default)]
pub struct Record {
    pub current: Option<Run>,
    pub previous: Option<Run>,
    /// Why it is not running (ContainerCreating, CrashLoopBackOff, ErrImagePull, …).
    pub waiting: Option<(String, String)>,
    /// The run whose exit was already counted.
    pub handled: Option<String>,
    pub backoff: Backoff,
    pub ready: bool,
    pub started: bool,
    /// A start that failed in the runtime: shown as a terminated last state (StartError, 128).
    pub start_error: Option<(String, jiff::Timestamp)>,
    /// After a config or create error, the next try is not before this (as the real kubelet's
    /// pod worker back-off: a missing ConfigMap is retried every 10 s, not every sync).
    pub retry_at: Option<Instant>,
    /// The run the probe workers below watch, and the workers (dropped: stopped).
    probes_for: Option<String>,
    probes: Vec<ProbeHandle>,
}

impl Record {
    fn next_attempt(&self) -> u32 {
        self.current.as_ref().map(|r| r.attempt + 1).unwrap_or(0)
    }
    fn state(&self) -> RunState {
        if self.start_error.is_some() && self.current.is_some() {
            return RunState::Exited(128);
        }
        match self.current.as_ref().and_then(|r| r.status.as_ref()) {
            None => RunState::None,
            Some(s) if s.is_alive() => RunState::Running,
            Some(s) => {
                RunState::Exited(s.exit_code.unwrap_or(if s.state == ContainerState::Unknown { 255 } else { 0 }))
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RunState {
    None,
    Running,
    Exited(i32),
}

/// The per-pod worker.
pub struct PodWorker {
    k: Arc<Kubelet>,
    uid: String,
    pub records: BTreeMap<String, Record>,
    sandbox: Option<Sandbox>,
    sandbox_error: Option<String>,
    volumes: Option<BTreeMap<String, PathBuf>>,
    volume_error: Option<String>,
    volumes_refreshed: Option<Instant>,
    last_status: Option<serde_json::Value>,
    /// Set once the pod reached Succeeded or Failed.
    terminal: Option<&'static str>,
    /// Set when the pod was evicted (an emptyDir over its sizeLimit): the status message.
    evicted: Option<String>,
    storage_checked: Option<Instant>,
    start_time: Option<jiff::Timestamp>,
    probe_tx: tokio::sync::mpsc::Sender<ProbeReport>,
}

/// Run a pod's worker until the pod is gone. `rx` carries the latest pod object (None: deleted).
pub async fn run(k: Arc<Kubelet>, uid: String, mut rx: watch::Receiver<Option<Pod>>) {
    let (probe_tx, mut probe_rx) = tokio::sync::mpsc::channel(64);
    let mut w = PodWorker::new(k.clone(), uid.clone(), probe_tx).await;
    loop {
        let pod = rx.borrow_and_update().clone();
        match pod {
            None => {
                w.terminate(None, Duration::from_secs(2)).await;
                break;
            }
            Some(p) if p.metadata.deletion_timestamp.is_some() => {
                let grace = p.metadata.deletion_grace_period_seconds.unwrap_or(30).max(0) as u64;
                w.terminate(Some(&p), Duration::from_secs(grace)).await;
                break;
            }
            Some(p) => {
                let wait = w.sync(&p).await;
                tokio::select! {
                    changed = rx.changed() => if changed.is_err() { break },
                    Some(report) = probe_rx.recv() => w.on_probe(&p, report).await,
                    _ = tokio::time::sleep(wait) => {}
                }
            }
        }
    }
    k.recorder.forget(&uid);
}

fn field_path(pod: &Pod, name: &str) -> String {
    let init =
        pod.spec.as_ref().and_then(|s| s.init_containers.as_ref()).is_some_and(|v| v.iter().any(|c| c.name == name));
    if init { format!("spec.initContainers{{{name}}}") } else { format!("spec.containers{{{name}}}") }
}

fn pod_label(pod: &Pod) -> String {
    format!(
        "{}_{}({})",
        pod.metadata.name.as_deref().unwrap_or(""),
        pod.metadata.namespace.as_deref().unwrap_or(""),
        pod.metadata.uid.as_deref().unwrap_or("")
    )
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("blocking task panicked")
}

impl PodWorker {
    /// A worker, adopting the containers this pod already has in the runtime (after a restart).
    async fn new(k: Arc<Kubelet>, uid: String, probe_tx: tokio::sync::mpsc::Sender<ProbeReport>) -> PodWorker {
        let rt = k.runtime.clone();
        let all = blocking(move || rt.list().unwrap_or_default()).await;
        let mut records: BTreeMap<String, Record> = BTreeMap::new();
        let mut runs: Vec<(String, u32, RtStatus)> = all
            .into_iter()
            .filter(|s| s.labels.get(LABEL_POD_UID) == Some(&uid))
            .filter_map(|s| {
                let name = s.labels.get(LABEL_CONTAINER_NAME)?.clone();
                let attempt = s.labels.get(LABEL_ATTEMPT)?.parse().ok()?;
                Some((name, attempt, s))
            })
            .collect();
        runs.sort_by_key(|r| r.1);
        let now = Instant::now();
        for (name, attempt, st) in runs {
            let rec = records.entry(name).or_default();
            let run = Run { id: st.id.clone(), attempt, seen_running: now, status: Some(st.clone()), message: None };
            if !st.is_alive() {
                rec.handled = Some(st.id.clone());
            }
            rec.previous = rec.current.take();
            rec.current = Some(run);
        }
        let sandbox = sandbox::load(&k.sandbox, &uid);
        PodWorker {
            k,
            uid,
            records,
            sandbox,
            sandbox_error: None,
            volumes: None,
            volume_error: None,
            volumes_refreshed: None,
            last_status: None,
            terminal: None,
            evicted: None,
            storage_checked: None,
            start_time: None,
            probe_tx,
        }
    }

    fn runtime_info(&self, pod: &Pod) -> RuntimeInfo {
        let ips: Vec<String> =
            self.sandbox.as_ref().map(|s| s.ips.iter().map(|i| i.to_string()).collect()).unwrap_or_default();
        let (cpu, mem) = node_allocatable();
        RuntimeInfo {
            node_name: pod
                .spec
                .as_ref()
                .and_then(|s| s.node_name.clone())
                .unwrap_or_else(|| self.k.cfg.node_name.clone()),
            pod_ip: ips.first().cloned(),
            pod_ips: ips,
            host_ip: self.k.node_ip.to_string(),
            host_ips: vec![self.k.node_ip.to_string()],
            node_allocatable_cpu_millis: cpu,
            node_allocatable_memory: mem,
        }
    }

    /// Bring the pod one step closer to its spec; returns when to look again.
    pub async fn sync(&mut self, pod: &Pod) -> Duration {
        if self.start_time.is_none() {
            self.start_time = Some(
                pod.status
                    .as_ref()
                    .and_then(|s| s.start_time.clone())
                    .map(|t| t.0)
                    .unwrap_or_else(jiff::Timestamp::now),
            );
        }
        // A pod the API already shows finished (by an earlier process of ours) never runs again.
        if self.terminal.is_none()
            && let Some(st) = pod.status.as_ref()
        {
            match st.phase.as_deref() {
                Some("Succeeded") => self.terminal = Some("Succeeded"),
                Some("Failed") => {
                    self.terminal = Some("Failed");
                    if st.reason.as_deref() == Some("Evicted") {
                        self.evicted = st.message.clone();
                    }
                }
                _ => {}
            }
        }
        self.refresh().await;
        if self.terminal.is_some() {
            self.write_status(pod).await;
            return Duration::from_secs(10);
        }
        // Sandbox.
        if self.sandbox.is_none() || self.sandbox_error.is_some() {
            let (k, p) = (self.k.clone(), pod.clone());
            match blocking(move || sandbox::ensure(&k.sandbox, &k.cni, &p)).await {
                Ok(sb) => {
                    self.sandbox = Some(sb);
                    self.sandbox_error = None;
                }
                Err(e) => {
                    let msg = e.to_string();
                    if self.sandbox_error.as_deref() != Some(&msg) {
                        self.k.recorder.warning(pod, None, "FailedCreatePodSandBox", msg.clone()).await;
                    }
                    self.sandbox_error = Some(msg);
                    self.write_status(pod).await;
                    return Duration::from_secs(5);
                }
            }
        }
        // The ConfigMaps, Secrets and Services the pod refers to: read only when needed (a
        // volume refresh or a container start), not on every sync of a running pod.
        let mut objs: Option<PodObjects> = None;
        // Volumes: set up once, refreshed every 30 s (ConfigMap/Secret updates, token rotation).
        let due =
            self.volumes.is_none() || self.volumes_refreshed.is_none_or(|t| t.elapsed() >= Duration::from_secs(30));
        if due {
            let info = self.runtime_info(pod);
            let objs = self.objects(pod, &mut objs).await;
            match super::pod_volumes::setup(&self.k, pod, objs, &info).await {
                Ok(v) => {
                    self.volumes = Some(v);
                    self.volume_error = None;
                    self.volumes_refreshed = Some(Instant::now());
                }
                Err(e) => {
                    if self.volume_error.as_deref() != Some(&e) {
                        self.k.recorder.warning(pod, None, "FailedMount", e.clone()).await;
                    }
                    self.volume_error = Some(e);
                    if self.volumes.is_none() {
                        self.write_status(pod).await;
                        return Duration::from_secs(2);
                    }
                }
            }
        }
        // Local storage limits, checked every 10 s as the eviction manager does.
        if self.storage_checked.is_none_or(|t| t.elapsed() >= Duration::from_secs(10))
            && let Some(vols) = self.volumes.as_ref()
        {
            self.storage_checked = Some(Instant::now());
            let sized = super::pod_volumes::sized_empty_dirs(pod, vols);
            if !sized.is_empty()
                && let Some(msg) = blocking(move || super::pod_volumes::empty_dir_over_limit(&sized)).await
            {
                tracing::info!(pod = %pod_label(pod), reason = %msg, "evicting the pod");
                self.k.recorder.warning(pod, None, "Evicted", msg.clone()).await;
                self.evicted = Some(msg);
                self.terminal = Some("Failed");
                self.finish(pod, Duration::ZERO).await;
                self.write_status(pod).await;
                return Duration::from_secs(10);
            }
        }
        let spec = pod.spec.clone().unwrap_or_default();
        let policy = spec.restart_policy.clone().unwrap_or_else(|| "Always".into());
        let mut wait = Duration::from_secs(1);

        // Init containers, in order; sidecars (restartPolicy: Always) keep running.
        let mut initialized = true;
        let inits: Vec<Container> = spec.init_containers.clone().unwrap_or_default();
        for c in inits {
            let c = &c;
            let sidecar = c.restart_policy.as_deref() == Some("Always");
            let state = self.records.get(&c.name).map(Record::state).unwrap_or(RunState::None);
            match state {
                RunState::Running if sidecar => continue,
                RunState::Running => {
                    initialized = false;
                    break;
                }
                RunState::Exited(0) if !sidecar => {
                    self.mark_exit_handled(pod, c, false).await;
                    continue;
                }
                RunState::Exited(_) => {
                    self.mark_exit_handled(pod, c, true).await;
                    if !sidecar && policy == "Never" {
                        self.terminal = Some("Failed");
                        initialized = false;
                        break;
                    }
                    self.start(pod, c, &mut objs).await;
                    if !sidecar || self.records.get(&c.name).map(Record::state) != Some(RunState::Running) {
                        initialized = false;
                        break;
                    }
                }
                RunState::None => {
                    self.start(pod, c, &mut objs).await;
                    let running = self.records.get(&c.name).map(Record::state) == Some(RunState::Running);
                    if !(sidecar && running) {
                        initialized = false;
                        break;
                    }
                }
            }
        }
        if self.terminal.is_none() && initialized {
            for c in spec.containers.clone() {
                let c = &c;
                let state = self.records.get(&c.name).map(Record::state).unwrap_or(RunState::None);
                match state {
                    RunState::Running => {}
                    RunState::None => self.start(pod, c, &mut objs).await,
                    RunState::Exited(code) => {
                        let restart = match policy.as_str() {
                            "Never" => false,
                            "OnFailure" => code != 0,
                            _ => true,
                        };
                        self.mark_exit_handled(pod, c, restart).await;
                        if restart {
                            self.start(pod, c, &mut objs).await;
                        }
                    }
                }
            }
            // Terminal once nothing runs and nothing will be restarted.
            let states: Vec<RunState> = spec
                .containers
                .iter()
                .map(|c| self.records.get(&c.name).map(Record::state).unwrap_or(RunState::None))
                .collect();
            let all_exited = !states.is_empty() && states.iter().all(|s| matches!(s, RunState::Exited(_)));
            if all_exited {
                let all_ok = states.iter().all(|s| *s == RunState::Exited(0));
                let done = match policy.as_str() {
                    "Never" => true,
                    "OnFailure" => all_ok,
                    _ => false,
                };
                if done {
                    // A container that exited during this sync's start has not been looked at
                    // yet: read its termination message before the status becomes final.
                    for c in spec.containers.clone() {
                        self.mark_exit_handled(pod, &c, false).await;
                    }
                    self.terminal = Some(if all_ok { "Succeeded" } else { "Failed" });
                }
            }
        }
        if let Some(phase) = self.terminal {
            tracing::info!(pod = %pod_label(pod), phase, "pod finished");
            self.finish(pod, Duration::from_secs(spec.termination_grace_period_seconds.unwrap_or(30).max(0) as u64))
                .await;
        }
        if self.terminal.is_none() {
            self.ensure_probes(pod);
        }
        for r in self.records.values() {
            if let Some(at) = r.retry_at {
                wait = wait.min(at.saturating_duration_since(Instant::now()) + Duration::from_millis(50));
            }
            if let Some(left) = r.backoff.remaining(Instant::now())
                && r.waiting.as_ref().is_some_and(|w| w.0 == "CrashLoopBackOff")
            {
                wait = wait.min(left + Duration::from_millis(50));
            }
        }
        self.write_status(pod).await;
        wait
    }

    /// A pod that reached its end: stop what still runs, then take its network down.
    async fn finish(&mut self, pod: &Pod, grace: Duration) {
        self.stop_all(pod, grace).await;
        self.refresh().await;
        let (k, uid) = (self.k.clone(), self.uid.clone());
        let _ = blocking(move || sandbox::stop(&k.sandbox, &k.cni, &uid)).await;
    }

    /// Read the runtime status of every run we track.
    async fn refresh(&mut self) {
        let ids: Vec<String> = self
            .records
            .values()
            .flat_map(|r| [r.current.as_ref(), r.previous.as_ref()])
            .flatten()
            .filter(|run| run.status.as_ref().is_none_or(|s| s.is_alive()) || run.message.is_none())
            .map(|r| r.id.clone())
            .collect();
        if ids.is_empty() {
            return;
        }
        let rt = self.k.runtime.clone();
        let statuses: BTreeMap<String, RtStatus> =
            blocking(move || ids.into_iter().filter_map(|id| rt.status(&id).ok().map(|s| (id, s))).collect()).await;
        for rec in self.records.values_mut() {
            for run in [rec.current.as_mut(), rec.previous.as_mut()].into_iter().flatten() {
                if let Some(s) = statuses.get(&run.id) {
                    run.status = Some(s.clone());
                    if !s.is_alive() && run.message.is_none() {
                        run.message = Some(String::new());
                    }
                }
            }
            if rec.current.as_ref().and_then(|r| r.status.as_ref()).is_some_and(|s| s.is_alive()) {
                rec.waiting = None;
            }
        }
    }

    /// Count an exit once: events, back-off, termination message.
    async fn mark_exit_handled(&mut self, pod: &Pod, c: &Container, will_restart: bool) {
        let Some(rec) = self.records.get_mut(&c.name) else { return };
        let Some(run) = rec.current.as_mut() else { return };
        if rec.handled.as_deref() == Some(run.id.as_str()) {
            return;
        }
        rec.handled = Some(run.id.clone());
        rec.ready = false;
        let tm_file =
            self.sandbox.as_ref().map(|sb| sb.dir.join("containers").join(&c.name).join(run.attempt.to_string()));
        let log = run.status.as_ref().map(|s| s.log_path.clone());
        run.message = Some(termination_message(c, run, tm_file, log));
        if will_restart {
            let ran = run.seen_running.elapsed();
            rec.backoff.failed(Instant::now(), ran);
        }
        let _ = pod;
    }

    /// Start the next run of a container (unless backing off), recording why not otherwise.
    async fn objects<'a>(&self, pod: &Pod, cache: &'a mut Option<PodObjects>) -> &'a PodObjects {
        if cache.is_none() {
            let links = pod.spec.as_ref().and_then(|s| s.enable_service_links) != Some(false);
            *cache = Some(objects::fetch(&self.k.client, pod, links).await);
        }
        cache.as_ref().expect("just fetched")
    }

    async fn start(&mut self, pod: &Pod, c: &Container, objs: &mut Option<PodObjects>) {
        let field = field_path(pod, &c.name);
        let rec = self.records.entry(c.name.clone()).or_default();
        if let Some(_left) = rec.backoff.remaining(Instant::now()) {
            let msg = format!(
                "back-off {} restarting failed container={} pod={}",
                go_duration(rec.backoff.delay()),
                c.name,
                pod_label(pod)
            );
            let first = rec.waiting.as_ref().is_none_or(|w| w.0 != "CrashLoopBackOff" || w.1 != msg);
            rec.waiting = Some(("CrashLoopBackOff".into(), msg));
            if first {
                self.k
                    .recorder
                    .warning(
                        pod,
                        Some(&field),
                        "BackOff",
                        format!("Back-off restarting failed container {} in pod {}", c.name, pod_label(pod)),
                    )
                    .await;
            }
            return;
        }
        if rec.retry_at.is_some_and(|t| Instant::now() < t) {
            return;
        }
        rec.retry_at = None;
        let attempt = rec.next_attempt();
        let Some(sb) = self.sandbox.clone() else { return };
        let Some(volumes) = self.volumes.clone() else { return };

        let image = match super::images::ensure(&self.k, pod, c, &field).await {
            Ok(i) => i,
            Err(f) => {
                self.set_waiting(&c.name, f.reason, f.message);
                return;
            }
        };
        let info = self.runtime_info(pod);
        let objs = self.objects(pod, objs).await;
        let env = match env::container_env(pod, c, &objs.services, objs, &info) {
            Ok(e) => e,
            Err(e) => {
                let msg = e.to_string();
                self.k.recorder.warning(pod, Some(&field), "Failed", format!("Error: {msg}")).await;
                self.set_retry(&c.name, "CreateContainerConfigError", msg);
                return;
            }
        };
        let uid = self.uid.clone();
        let ns = pod.metadata.namespace.clone().unwrap_or_default();
        let name = pod.metadata.name.clone().unwrap_or_default();
        let term_dir = sb.dir.join("containers").join(&c.name);
        let termination_log = term_dir.join(format!("{attempt}"));
        let log_dir = self.k.pod_logs_dir(&ns, &name, &uid).join(&c.name);
        if let Err(e) = std::fs::create_dir_all(&term_dir)
            .and_then(|_| std::fs::write(&termination_log, b""))
            .and_then(|_| {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&termination_log, std::fs::Permissions::from_mode(0o666))
            })
            .and_then(|_| std::fs::create_dir_all(&log_dir))
        {
            self.set_retry(&c.name, "CreateContainerError", format!("preparing the container's files: {e}"));
            return;
        }
        let image_user = image.config.config().as_ref().and_then(|c| c.user().clone()).unwrap_or_default();
        let ctx = RequestContext {
            pod,
            container: c,
            sandbox: &sb,
            attempt,
            env,
            volumes: &volumes,
            termination_log: &termination_log,
            log_path: log_dir.join(format!("{attempt}.log")),
            image_user: &image_user,
        };
        let req = match container::request(&ctx) {
            Ok(r) => r,
            Err(e) => {
                self.k.recorder.warning(pod, Some(&field), "Failed", format!("Error: {e}")).await;
                self.set_retry(&c.name, "CreateContainerConfigError", e.to_string());
                return;
            }
        };
        let rt = self.k.runtime.clone();
        let (img, r) = (image.clone(), req.clone());
        let created = blocking(move || {
            // A run of this attempt left over from before a crash of ours: replace it.
            if let Ok(old) = rt.resolve(&r.name) {
                let _ = rt.remove(&old, true);
            }
            rt.create(&img, &r)
        })
        .await;
        let (id, started) = match created {
            Ok(id) => {
                self.k.recorder.normal(pod, Some(&field), "Created", format!("Created container: {}", c.name)).await;
                let rt = self.k.runtime.clone();
                let sid = id.clone();
                let started = blocking(move || {
                    let r = rt.start(&sid);
                    if r.is_err() {
                        let _ = rt.remove(&sid, true);
                    }
                    r
                })
                .await;
                (id, started)
            }
            // Our runtime finds a missing executable before the process exists; containerd finds
            // it when starting the task. Report it as Kubernetes users know it: a StartError run
            // (exit 128), RunContainerError, then CrashLoopBackOff.
            Err(e @ crate::runtime::container::ContainerError::ExecutableNotFound { .. }) => (req.name.clone(), Err(e)),
            Err(e) => {
                let msg = e.to_string();
                self.k.recorder.warning(pod, Some(&field), "Failed", format!("Error: {msg}")).await;
                self.set_retry(&c.name, "CreateContainerError", msg);
                return;
            }
        };
        let rec = self.records.entry(c.name.clone()).or_default();
        // Keep one earlier run (for `logs --previous` and lastState); remove older ones.
        if let Some(old) = rec.previous.take() {
            let rt = self.k.runtime.clone();
            tokio::task::spawn_blocking(move || {
                let _ = rt.remove(&old.id, true);
            });
        }
        rec.previous = rec.current.take();
        rec.current = Some(Run { id: id.clone(), attempt, seen_running: Instant::now(), status: None, message: None });
        rec.ready = false;
        rec.started = false;
        if let Err(e) = started {
            let msg = e.to_string();
            rec.start_error = Some((msg.clone(), jiff::Timestamp::now()));
            rec.waiting = Some(("RunContainerError".into(), msg.clone()));
            self.k.recorder.warning(pod, Some(&field), "Failed", format!("Error: {msg}")).await;
        } else {
            rec.start_error = None;
            rec.waiting = None;
            self.k.recorder.normal(pod, Some(&field), "Started", format!("Started container {}", c.name)).await;
            if let Some(h) = c.lifecycle.as_ref().and_then(|l| l.post_start.clone())
                && let Err(msg) = self.run_hook(c, &h, &id, Duration::from_secs(30)).await
            {
                self.k.recorder.warning(pod, Some(&field), "FailedPostStartHook", msg).await;
                let grace = pod.spec.as_ref().and_then(|s| s.termination_grace_period_seconds).unwrap_or(30).max(0);
                let rt = self.k.runtime.clone();
                let sid = id.clone();
                let _ = blocking(move || rt.stop(&sid, Duration::from_secs(grace as u64))).await;
            }
        }
        self.refresh().await;
    }

    fn set_waiting(&mut self, name: &str, reason: &str, message: String) {
        self.records.entry(name.to_string()).or_default().waiting = Some((reason.to_string(), message));
    }

    /// Waiting on an error that a later try may not have (a ConfigMap created, a name freed).
    fn set_retry(&mut self, name: &str, reason: &str, message: String) {
        let rec = self.records.entry(name.to_string()).or_default();
        rec.waiting = Some((reason.to_string(), message));
        rec.retry_at = Some(Instant::now() + CONFIG_RETRY);
    }

    /// Stop every running container of the pod: app containers first, then sidecars, each
    /// with the image's stop signal and SIGKILL after `grace`.
    async fn stop_all(&mut self, pod: &Pod, grace: Duration) {
        let spec = pod.spec.clone().unwrap_or_default();
        let sidecars: Vec<String> = spec
            .init_containers
            .iter()
            .flatten()
            .filter(|c| c.restart_policy.as_deref() == Some("Always"))
            .map(|c| c.name.clone())
            .collect();
        let deadline = Instant::now() + grace;
        for phase_sidecars in [false, true] {
            let mut tasks = Vec::new();
            for (name, rec) in &self.records {
                if sidecars.contains(name) != phase_sidecars {
                    continue;
                }
                let Some(run) = rec.current.as_ref() else { continue };
                if !run.status.as_ref().is_none_or(|s| s.is_alive()) {
                    continue;
                }
                let field = field_path(pod, name);
                self.k.recorder.normal(pod, Some(&field), "Killing", format!("Stopping container {name}")).await;
                let spec_c = spec
                    .init_containers
                    .iter()
                    .flatten()
                    .chain(spec.containers.iter())
                    .find(|c| &c.name == name)
                    .cloned();
                let hook = spec_c.as_ref().and_then(|c| c.lifecycle.as_ref()).and_then(|l| l.pre_stop.clone());
                let (k, id, pod_ip) = (self.k.clone(), run.id.clone(), self.pod_ip());
                let (pod2, field2) = (pod.clone(), field.clone());
                tasks.push(tokio::spawn(async move {
                    if let (Some(h), Some(c)) = (hook, spec_c) {
                        let left = deadline.saturating_duration_since(Instant::now());
                        if let Err(msg) = run_hook(&k, &pod_ip, &c, &h, &id, left).await {
                            k.recorder.warning(&pod2, Some(&field2), "FailedPreStopHook", msg).await;
                        }
                    }
                    let left =
                        deadline.saturating_duration_since(Instant::now()).max(Duration::from_secs(1).min(grace));
                    let rt = k.runtime.clone();
                    let _ = tokio::task::spawn_blocking(move || rt.stop(&id, left)).await;
                }));
            }
            for t in tasks {
                let _ = t.await;
            }
        }
    }

    /// Stop everything, remove what the pod made on this node, and remove the pod object.
    async fn terminate(&mut self, pod: Option<&Pod>, grace: Duration) {
        let fallback;
        let p = match pod {
            Some(p) => p,
            None => {
                fallback = Pod {
                    metadata: kube::api::ObjectMeta { uid: Some(self.uid.clone()), ..Default::default() },
                    ..Default::default()
                };
                &fallback
            }
        };
        self.stop_all(p, grace).await;
        self.refresh().await;
        if pod.is_some() {
            self.write_status(p).await;
        }
        let k = self.k.clone();
        let uid = self.uid.clone();
        let ids: Vec<String> = self
            .records
            .values()
            .flat_map(|r| [r.current.as_ref(), r.previous.as_ref()])
            .flatten()
            .map(|r| r.id.clone())
            .collect();
        let sb = self.sandbox.clone();
        blocking(move || {
            for id in ids {
                if let Err(e) = k.runtime.remove(&id, true) {
                    tracing::warn!(id, error = %e, "removing a container failed");
                }
            }
            // Containers this worker never knew about (a crash between create and record).
            for s in k.runtime.list().unwrap_or_default() {
                if s.labels.get(LABEL_POD_UID) == Some(&uid) {
                    let _ = k.runtime.remove(&s.id, true);
                }
            }
            if let Err(e) = sandbox::stop(&k.sandbox, &k.cni, &uid) {
                tracing::warn!(uid, error = %e, "tearing down the sandbox failed");
            }
            sandbox::remove_dir(&k.sandbox, &uid);
            super::container::remove_pod_cgroups(&k.paths, &uid);
            if let Some(sb) = sb {
                let _ = std::fs::remove_dir_all(k.pod_logs_dir(&sb.namespace, &sb.name, &uid));
            }
        })
        .await;
        if let Some(p) = pod {
            let ns = p.metadata.namespace.clone().unwrap_or_default();
            let api: Api<Pod> = Api::namespaced(self.k.client.clone(), &ns);
            let dp = DeleteParams {
                grace_period_seconds: Some(0),
                preconditions: Some(Preconditions { uid: Some(self.uid.clone()), resource_version: None }),
                ..Default::default()
            };
            if let Err(e) = api.delete(p.metadata.name.as_deref().unwrap_or(""), &dp).await {
                tracing::debug!(error = %e, "final pod delete");
            }
        }
    }

    fn pod_ip(&self) -> String {
        self.sandbox.as_ref().and_then(|s| s.pod_ip()).map(|i| i.to_string()).unwrap_or_default()
    }

    async fn run_hook(&self, c: &Container, h: &LifecycleHandler, id: &str, timeout: Duration) -> Result<(), String> {
        run_hook(&self.k, &self.pod_ip(), c, h, id, timeout).await
    }

    /// Probe workers for every running container that has probes: the startup probe first,
    /// liveness and readiness once it passed (or at once without one).
    fn ensure_probes(&mut self, pod: &Pod) {
        let spec = pod.spec.clone().unwrap_or_default();
        let pod_ip = self.sandbox.as_ref().and_then(|s| s.pod_ip()).map(|i| i.to_string()).unwrap_or_default();
        let all: Vec<Container> =
            spec.init_containers.clone().unwrap_or_default().into_iter().chain(spec.containers.clone()).collect();
        for c in all {
            let Some(rec) = self.records.get_mut(&c.name) else { continue };
            let Some(run) = rec.current.as_ref().filter(|r| r.status.as_ref().is_some_and(|s| s.is_alive())) else {
                rec.probes.clear();
                continue;
            };
            if rec.probes_for.as_deref() == Some(run.id.as_str()) {
                continue;
            }
            rec.probes_for = Some(run.id.clone());
            rec.probes.clear();
            rec.ready = false;
            let started_at = tokio::time::Instant::now();
            let exec: Arc<dyn ExecRunner> = Arc::new(RuntimeExec { k: self.k.clone(), id: run.id.clone() });
            let target = || ProbeTarget { pod_ip: pod_ip.clone(), container: c.clone(), started_at };
            match c.startup_probe.clone() {
                Some(p) => {
                    rec.started = false;
                    rec.probes.push(probe::spawn_worker(ProbeKind::Startup, p, target(), exec, self.probe_tx.clone()));
                }
                None => {
                    rec.started = true;
                    for (kind, p) in [
                        (ProbeKind::Liveness, c.liveness_probe.clone()),
                        (ProbeKind::Readiness, c.readiness_probe.clone()),
                    ] {
                        if let Some(p) = p {
                            rec.probes.push(probe::spawn_worker(
                                kind,
                                p,
                                target(),
                                exec.clone(),
                                self.probe_tx.clone(),
                            ));
                        }
                    }
                }
            }
        }
    }

    /// A probe result or event: readiness, the end of a startup probe, or a liveness failure
    /// that restarts the container.
    async fn on_probe(&mut self, pod: &Pod, report: ProbeReport) {
        match report {
            ProbeReport::Event(ev) => {
                let field = field_path(pod, &ev.container_name);
                self.k.recorder.warning(pod, Some(&field), ev.reason, ev.message).await;
            }
            ProbeReport::Result(r) => {
                let spec = pod.spec.clone().unwrap_or_default();
                let Some(c) = spec
                    .init_containers
                    .iter()
                    .flatten()
                    .chain(spec.containers.iter())
                    .find(|c| c.name == r.container_name)
                    .cloned()
                else {
                    return;
                };
                let pod_ip = self.sandbox.as_ref().and_then(|s| s.pod_ip()).map(|i| i.to_string()).unwrap_or_default();
                let Some(rec) = self.records.get_mut(&r.container_name) else { return };
                let Some(run_id) = rec.current.as_ref().map(|r| r.id.clone()) else { return };
                match (r.kind, r.success) {
                    (ProbeKind::Readiness, ok) => rec.ready = ok,
                    (ProbeKind::Startup, true) => {
                        rec.started = true;
                        let exec: Arc<dyn ExecRunner> = Arc::new(RuntimeExec { k: self.k.clone(), id: run_id });
                        let started_at = tokio::time::Instant::now();
                        for (kind, p) in [
                            (ProbeKind::Liveness, c.liveness_probe.clone()),
                            (ProbeKind::Readiness, c.readiness_probe.clone()),
                        ] {
                            if let Some(p) = p {
                                let target = ProbeTarget { pod_ip: pod_ip.clone(), container: c.clone(), started_at };
                                rec.probes.push(probe::spawn_worker(
                                    kind,
                                    p,
                                    target,
                                    exec.clone(),
                                    self.probe_tx.clone(),
                                ));
                            }
                        }
                    }
                    (ProbeKind::Liveness | ProbeKind::Startup, false) => {
                        let which = if r.kind == ProbeKind::Liveness { "liveness" } else { "startup" };
                        rec.ready = false;
                        let grace = [c.liveness_probe.as_ref(), c.startup_probe.as_ref()]
                            .into_iter()
                            .flatten()
                            .find_map(|p| p.termination_grace_period_seconds)
                            .or(spec.termination_grace_period_seconds)
                            .unwrap_or(30)
                            .max(0) as u64;
                        let field = field_path(pod, &c.name);
                        self.k
                            .recorder
                            .normal(
                                pod,
                                Some(&field),
                                "Killing",
                                format!("Container {} failed {which} probe, will be restarted", c.name),
                            )
                            .await;
                        let rt = self.k.runtime.clone();
                        tokio::task::spawn_blocking(move || {
                            let _ = rt.stop(&run_id, Duration::from_secs(grace));
                        });
                    }
                    _ => {}
                }
            }
        }
        self.write_status(pod).await;
    }

    /// Write the pod's status if it changed (or goes to another object: a static pod's
    /// status goes to its mirror pod, written again when the mirror is made anew).
    async fn write_status(&mut self, pod: &Pod) {
        let target = if super::static_pods::is_static(pod) {
            match self.k.static_pods.mirror_uid(&self.uid) {
                Some(mirror) => mirror,
                None => return,
            }
        } else {
            self.uid.clone()
        };
        let st = self.status(pod);
        let value = serde_json::to_value(&st).unwrap_or_default();
        let comparable = json!({"uid": target, "status": status::without_times(&value)});
        if self.last_status.as_ref() == Some(&comparable) {
            return;
        }
        let ns = pod.metadata.namespace.clone().unwrap_or_default();
        let api: Api<Pod> = Api::namespaced(self.k.client.clone(), &ns);
        let patch = json!({"metadata": {"uid": target}, "status": value});
        match api
            .patch_status(pod.metadata.name.as_deref().unwrap_or(""), &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => self.last_status = Some(comparable),
            Err(e) => tracing::debug!(pod = %pod_label(pod), error = %e, "status update failed"),
        }
    }

    fn status(&self, pod: &Pod) -> PodStatus {
        let view = status::PodView {
            pod,
            records: &self.records,
            sandbox: self.sandbox.as_ref(),
            sandbox_ready: self.sandbox.is_some() && self.sandbox_error.is_none() && self.terminal.is_none(),
            terminal: self.terminal,
            host_ip: self.k.node_ip.to_string(),
            start_time: self.start_time,
            volumes_ready: self.volumes.is_some(),
            evicted: self.evicted.as_deref(),
        };
        status::pod_status(&view)
    }
}

/// The termination message of a run that exited: the file at `terminationMessagePath`
/// (at most 4 KiB), or with `FallbackToLogsOnError` and a failure, the log's last lines.
fn termination_message(c: &Container, run: &Run, file: Option<PathBuf>, log: Option<PathBuf>) -> String {
    let mut msg = file
        .and_then(|f| std::fs::read(f).ok())
        .map(|b| String::from_utf8_lossy(&b[..b.len().min(4096)]).into_owned())
        .unwrap_or_default();
    let failed = run.status.as_ref().is_some_and(|s| s.exit_code != Some(0));
    if msg.is_empty() && failed && c.termination_message_policy.as_deref() == Some("FallbackToLogsOnError") {
        msg = log.map(|l| log_tail(&l, 80, 2048)).unwrap_or_default();
    }
    msg
}

/// The last `lines` lines (at most `bytes` bytes) of a CRI log, as plain text.
pub fn log_tail(path: &std::path::Path, lines: usize, bytes: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut out = String::new();
    for rec in text.lines() {
        // <time> <stream> <P|F> <content>
        let mut parts = rec.splitn(4, ' ');
        let (_, _, tag, content) = (parts.next(), parts.next(), parts.next(), parts.next().unwrap_or(""));
        out.push_str(content);
        if tag != Some("P") {
            out.push('\n');
        }
    }
    let kept: Vec<&str> = out.lines().collect();
    let start = kept.len().saturating_sub(lines);
    let mut tail = kept[start..].join("\n");
    if !tail.is_empty() {
        tail.push('\n');
    }
    if tail.len() > bytes {
        let mut cut = tail.len() - bytes;
        while !tail.is_char_boundary(cut) {
            cut += 1;
        }
        tail = tail[cut..].to_string();
    }
    tail
}

/// Run a lifecycle hook (exec, httpGet, tcpSocket or sleep) against a running container.
async fn run_hook(
    k: &Arc<Kubelet>,
    pod_ip: &str,
    c: &Container,
    h: &LifecycleHandler,
    id: &str,
    timeout: Duration,
) -> Result<(), String> {
    if let Some(s) = &h.sleep {
        tokio::time::sleep(Duration::from_secs(s.seconds.max(0) as u64).min(timeout)).await;
        return Ok(());
    }
    let p = k8s_openapi::api::core::v1::Probe {
        exec: h.exec.clone(),
        http_get: h.http_get.clone(),
        tcp_socket: h.tcp_socket.clone(),
        timeout_seconds: Some(timeout.as_secs().clamp(1, i32::MAX as u64) as i32),
        ..Default::default()
    };
    let exec = RuntimeExec { k: k.clone(), id: id.to_string() };
    match probe::run_once(&p, pod_ip, c, &exec).await {
        probe::ProbeOutcome::Success | probe::ProbeOutcome::Warning(_) => Ok(()),
        probe::ProbeOutcome::Failure(m) | probe::ProbeOutcome::Unknown(m) => {
            let what = if h.exec.is_some() { "Exec" } else { "HTTP" };
            Err(format!("{what} lifecycle hook ({}) for Container \"{}\" failed - error: {m}", hook_desc(h), c.name))
        }
    }
}

fn hook_desc(h: &LifecycleHandler) -> String {
    if let Some(e) = &h.exec {
        return format!("{:?}", e.command.clone().unwrap_or_default());
    }
    h.http_get.as_ref().map(|g| g.path.clone().unwrap_or_default()).unwrap_or_default()
}

/// Exec probes and hooks through the runtime.
struct RuntimeExec {
    k: Arc<Kubelet>,
    id: String,
}

impl ExecRunner for RuntimeExec {
    fn exec(&self, command: Vec<String>, timeout: Duration) -> probe::BoxFuture<'_, ExecResult> {
        let rt = self.k.runtime.clone();
        let id = self.id.clone();
        Box::pin(async move {
            let run = tokio::task::spawn_blocking(move || -> ExecResult {
                let req = crate::runtime::container::request::ExecRequest { command, ..Default::default() };
                let session = rt.exec(&id, &req).map_err(|e| match e {
                    // As containerd words it (the CLI's advice to start a new one means nothing here).
                    crate::runtime::container::ContainerError::NotRunning { state, .. } => {
                        format!("failed to exec in container: container is in {state} state")
                    }
                    e => e.to_string(),
                })?;
                let (mut out, err, st) = session.collect(&[]).map_err(|e| e.to_string())?;
                out.extend_from_slice(&err);
                let code =
                    st.map(|s| s.exit_code).ok_or_else(|| "the exec session ended without a status".to_string())?;
                Ok((code, out))
            });
            match tokio::time::timeout(timeout, run).await {
                Ok(Ok(r)) => r,
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err(format!("command timed out after {}s", timeout.as_secs())),
            }
        })
    }
}

/// The node's allocatable CPU (millicores) and memory (bytes), for resourceFieldRef defaults.
fn node_allocatable() -> (u64, u64) {
    let cpus = std::thread::available_parallelism().map(|n| n.get() as u64).unwrap_or(1);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("MemTotal:").map(|v| v.trim().trim_end_matches("kB").trim().to_string()))
        })
        .and_then(|kb| kb.parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .unwrap_or(0);
    (cpus * 1000, mem.saturating_sub(100 * 1024 * 1024))
}
