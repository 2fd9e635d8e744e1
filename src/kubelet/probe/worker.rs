//! The periodic probe worker, as the kubelet's `prober/worker.go`: one task per
//! probe of one container instance, counting consecutive results against the
//! thresholds and reporting only flips, plus an event per failed attempt.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, Probe};
use tokio::sync::mpsc::Sender;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use super::{ExecRunner, ProbeKind, ProbeOutcome, positive_or, run_once};

/// The kubelet tries an attempt that errored (Unknown) this many times in a row.
const MAX_PROBE_RETRIES: usize = 3;

/// The event reason of a failed or errored probe.
pub const REASON_UNHEALTHY: &str = "Unhealthy";
/// The event reason of a probe that passed with a warning.
pub const REASON_PROBE_WARNING: &str = "ProbeWarning";

/// The probed container instance.
#[derive(Clone, Debug)]
pub struct ProbeTarget {
    pub pod_ip: String,
    pub container: Container,
    /// When this container instance started (`initialDelaySeconds` counts from here).
    pub started_at: Instant,
}

/// A container's probe result changed (after the thresholds).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeResultUpdate {
    pub kind: ProbeKind,
    pub container_name: String,
    /// Ready / alive / started.
    pub success: bool,
    /// The last attempt's text (empty on a plain success).
    pub message: String,
}

/// An event the kubelet records on the pod for one probe attempt; its type is
/// always `Warning`, and it names the container (`spec.containers{name}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeEvent {
    pub kind: ProbeKind,
    pub container_name: String,
    /// [`REASON_UNHEALTHY`] or [`REASON_PROBE_WARNING`].
    pub reason: &'static str,
    /// `Liveness probe failed: HTTP probe failed with statuscode: 500`, …
    pub message: String,
}

/// What a worker sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeReport {
    Result(ProbeResultUpdate),
    Event(ProbeEvent),
}

/// A probe's schedule and thresholds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProbeTiming {
    pub initial_delay: Duration,
    pub period: Duration,
    pub success_threshold: u32,
    pub failure_threshold: u32,
}

impl ProbeTiming {
    /// The probe's fields, with the API server's defaults (period 10 s,
    /// success 1, failure 3) for unset or zero ones.
    pub fn from_probe(probe: &Probe) -> Self {
        let threshold =
            |value: Option<i32>, default: u64| u32::try_from(positive_or(value, default)).unwrap_or(u32::MAX);
        ProbeTiming {
            initial_delay: Duration::from_secs(
                probe.initial_delay_seconds.and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
            ),
            period: Duration::from_secs(positive_or(probe.period_seconds, 10)),
            success_threshold: threshold(probe.success_threshold, 1),
            failure_threshold: threshold(probe.failure_threshold, 3),
        }
    }
}

/// The result bookkeeping of one worker, without I/O: feed it each attempt's
/// outcome with [`ProbeWorker::observe`].
#[derive(Clone, Debug)]
pub struct ProbeWorker {
    kind: ProbeKind,
    container_name: String,
    success_threshold: u32,
    failure_threshold: u32,
    /// The reported result: readiness starts not ready, liveness alive,
    /// startup unknown (not started).
    current: Option<bool>,
    last: Option<bool>,
    run: u32,
}

/// What one observed attempt produced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Observation {
    pub event: Option<ProbeEvent>,
    pub update: Option<ProbeResultUpdate>,
    /// The worker is finished: liveness failed, or startup decided.
    pub done: bool,
}

impl Observation {
    /// The reports to send, the event first.
    pub fn reports(&self) -> impl Iterator<Item = ProbeReport> {
        let event = self.event.clone().map(ProbeReport::Event);
        event.into_iter().chain(self.update.clone().map(ProbeReport::Result))
    }
}

impl ProbeWorker {
    /// A worker for `kind` of the container `container_name`.
    pub fn new(kind: ProbeKind, container_name: impl Into<String>, timing: &ProbeTiming) -> Self {
        let current = match kind {
            ProbeKind::Readiness => Some(false),
            ProbeKind::Liveness => Some(true),
            ProbeKind::Startup => None,
        };
        ProbeWorker {
            kind,
            container_name: container_name.into(),
            success_threshold: timing.success_threshold.max(1),
            failure_threshold: timing.failure_threshold.max(1),
            current,
            last: None,
            run: 0,
        }
    }

    /// The result as last reported (`None`: startup not decided yet).
    pub fn current(&self) -> Option<bool> {
        self.current
    }

    /// Records one attempt's outcome.
    pub fn observe(&mut self, outcome: &ProbeOutcome) -> Observation {
        let event = self.event_for(outcome);
        let Some(passed) = outcome.passed() else {
            return Observation { event, ..Observation::default() };
        };
        if self.last == Some(passed) {
            self.run = self.run.saturating_add(1);
        } else {
            self.last = Some(passed);
            self.run = 1;
        }
        let threshold = if passed { self.success_threshold } else { self.failure_threshold };
        if self.run < threshold {
            return Observation { event, ..Observation::default() };
        }
        let update = (self.current != Some(passed)).then(|| ProbeResultUpdate {
            kind: self.kind,
            container_name: self.container_name.clone(),
            success: passed,
            message: outcome_text(outcome).to_string(),
        });
        self.current = Some(passed);
        let done = match self.kind {
            ProbeKind::Liveness => !passed,
            ProbeKind::Startup => true,
            ProbeKind::Readiness => false,
        };
        Observation { event, update, done }
    }

    fn event_for(&self, outcome: &ProbeOutcome) -> Option<ProbeEvent> {
        let kind = self.kind;
        let (reason, message) = match outcome {
            ProbeOutcome::Success => return None,
            ProbeOutcome::Failure(text) => (REASON_UNHEALTHY, format!("{kind} probe failed: {text}")),
            ProbeOutcome::Warning(text) => (REASON_PROBE_WARNING, format!("{kind} probe warning: {text}")),
            ProbeOutcome::Unknown(text) => {
                (REASON_UNHEALTHY, format!("{kind} probe errored and resulted in unknown state: {text}"))
            }
        };
        Some(ProbeEvent { kind, container_name: self.container_name.clone(), reason, message })
    }
}

fn outcome_text(outcome: &ProbeOutcome) -> &str {
    match outcome {
        ProbeOutcome::Success => "",
        ProbeOutcome::Failure(text) | ProbeOutcome::Warning(text) | ProbeOutcome::Unknown(text) => text,
    }
}

/// A running worker; dropping it (or [`ProbeHandle::abort`]) stops it.
#[derive(Debug)]
pub struct ProbeHandle {
    task: JoinHandle<()>,
}

impl ProbeHandle {
    /// Stops the worker.
    pub fn abort(&self) {
        self.task.abort();
    }

    /// Whether the worker ended (after a liveness failure or a startup decision,
    /// or when the report channel closed).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

impl Drop for ProbeHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts probing `target` with `probe` as its `kind` probe: first at
/// `started_at + initialDelaySeconds` (at once if that has passed), then every
/// `periodSeconds`. Reports go to `reports`; see the module docs for what the
/// caller does with them.
pub fn spawn_worker(
    kind: ProbeKind,
    probe: Probe,
    target: ProbeTarget,
    exec: Arc<dyn ExecRunner>,
    reports: Sender<ProbeReport>,
) -> ProbeHandle {
    let timing = ProbeTiming::from_probe(&probe);
    spawn_worker_with_timing(kind, probe, timing, target, exec, reports)
}

/// [`spawn_worker`] with an explicit schedule (the probe's timing fields are
/// ignored; its `timeoutSeconds` still bounds each attempt).
pub fn spawn_worker_with_timing(
    kind: ProbeKind,
    probe: Probe,
    timing: ProbeTiming,
    target: ProbeTarget,
    exec: Arc<dyn ExecRunner>,
    reports: Sender<ProbeReport>,
) -> ProbeHandle {
    let task = tokio::spawn(run_worker(kind, probe, timing, target, exec, reports));
    ProbeHandle { task }
}

async fn run_worker(
    kind: ProbeKind,
    probe: Probe,
    timing: ProbeTiming,
    target: ProbeTarget,
    exec: Arc<dyn ExecRunner>,
    reports: Sender<ProbeReport>,
) {
    let mut worker = ProbeWorker::new(kind, target.container.name.clone(), &timing);
    let period = timing.period.max(Duration::from_millis(1));
    let mut ticks = tokio::time::interval_at(target.started_at + timing.initial_delay, period);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        ticks.tick().await;
        let outcome = attempt(&probe, &target, exec.as_ref()).await;
        tracing::debug!(%kind, container = %target.container.name, ?outcome, "probe");
        let observation = worker.observe(&outcome);
        for report in observation.reports() {
            if reports.send(report).await.is_err() {
                return;
            }
        }
        if observation.done {
            return;
        }
    }
}

/// One attempt, retried while it errors, as the kubelet's `runProbeWithRetries`.
async fn attempt(probe: &Probe, target: &ProbeTarget, exec: &dyn ExecRunner) -> ProbeOutcome {
    let mut outcome = ProbeOutcome::Unknown(String::new());
    for _ in 0..MAX_PROBE_RETRIES {
        outcome = run_once(probe, &target.pod_ip, &target.container, exec).await;
        if outcome.passed().is_some() {
            break;
        }
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::super::{BoxFuture, ExecResult};
    use super::*;
    use k8s_openapi::api::core::v1::ExecAction;
    use std::collections::VecDeque;
    use std::sync::Mutex;
    use tokio::sync::mpsc;

    fn timing(success: u32, failure: u32) -> ProbeTiming {
        ProbeTiming {
            initial_delay: Duration::ZERO,
            period: Duration::from_secs(10),
            success_threshold: success,
            failure_threshold: failure,
        }
    }

    fn fail(text: &str) -> ProbeOutcome {
        ProbeOutcome::Failure(text.into())
    }

    fn update(kind: ProbeKind, success: bool, message: &str) -> ProbeResultUpdate {
        ProbeResultUpdate { kind, container_name: "web".into(), success, message: message.into() }
    }

    #[test]
    fn timing_defaults_match_the_api_server() {
        let t = ProbeTiming::from_probe(&Probe::default());
        assert_eq!(t, ProbeTiming { initial_delay: Duration::ZERO, ..timing(1, 3) });
        let probe = Probe {
            initial_delay_seconds: Some(5),
            period_seconds: Some(2),
            success_threshold: Some(2),
            failure_threshold: Some(0),
            ..Default::default()
        };
        let t = ProbeTiming::from_probe(&probe);
        assert_eq!(t.initial_delay, Duration::from_secs(5));
        assert_eq!(t.period, Duration::from_secs(2));
        assert_eq!((t.success_threshold, t.failure_threshold), (2, 3));
    }

    #[test]
    fn readiness_starts_unready_and_flips_after_the_success_threshold() {
        let mut w = ProbeWorker::new(ProbeKind::Readiness, "web", &timing(2, 3));
        assert_eq!(w.current(), Some(false));
        assert_eq!(w.observe(&ProbeOutcome::Success), Observation::default());
        let second = w.observe(&ProbeOutcome::Success);
        assert_eq!(second.update, Some(update(ProbeKind::Readiness, true, "")));
        assert!(!second.done);
        assert_eq!(w.observe(&ProbeOutcome::Success).update, None);
    }

    #[test]
    fn failures_flip_only_after_the_failure_threshold_in_a_row() {
        let mut w = ProbeWorker::new(ProbeKind::Readiness, "web", &timing(1, 3));
        assert!(w.observe(&ProbeOutcome::Success).update.is_some());
        for _ in 0..2 {
            let o = w.observe(&fail("HTTP probe failed with statuscode: 503"));
            assert_eq!(o.update, None);
            assert_eq!(
                o.event.map(|e| (e.reason, e.message)),
                Some((REASON_UNHEALTHY, "Readiness probe failed: HTTP probe failed with statuscode: 503".into()))
            );
        }
        // A success in between restarts the count.
        assert_eq!(w.observe(&ProbeOutcome::Success).update, None);
        assert_eq!(w.observe(&fail("x")).update, None);
        assert_eq!(w.observe(&fail("x")).update, None);
        let third = w.observe(&fail("x"));
        assert_eq!(third.update, Some(update(ProbeKind::Readiness, false, "x")));
        assert!(!third.done);
    }

    #[test]
    fn liveness_failure_is_reported_once_and_ends_the_worker() {
        let mut w = ProbeWorker::new(ProbeKind::Liveness, "web", &timing(1, 1));
        assert_eq!(w.observe(&ProbeOutcome::Success), Observation::default());
        let o = w.observe(&fail("dial tcp 10.42.0.5:81: connect: connection refused"));
        assert_eq!(
            o.update,
            Some(update(ProbeKind::Liveness, false, "dial tcp 10.42.0.5:81: connect: connection refused"))
        );
        assert!(o.done);
    }

    #[test]
    fn startup_reports_its_first_decision_and_ends() {
        let mut w = ProbeWorker::new(ProbeKind::Startup, "web", &timing(1, 2));
        assert_eq!(w.current(), None);
        assert!(!w.observe(&fail("x")).done);
        let o = w.observe(&fail("x"));
        assert_eq!(o.update, Some(update(ProbeKind::Startup, false, "x")));
        assert!(o.done);
        let mut w = ProbeWorker::new(ProbeKind::Startup, "web", &timing(1, 2));
        let o = w.observe(&ProbeOutcome::Success);
        assert_eq!(o.update, Some(update(ProbeKind::Startup, true, "")));
        assert!(o.done);
    }

    #[test]
    fn warnings_pass_with_an_event_and_errors_do_not_count() {
        let mut w = ProbeWorker::new(ProbeKind::Readiness, "web", &timing(1, 1));
        let o = w.observe(&ProbeOutcome::Unknown("strconv.Atoi: parsing \"http\": invalid syntax".into()));
        assert_eq!(o.update, None);
        assert_eq!(
            o.event.map(|e| e.message),
            Some(
                "Readiness probe errored and resulted in unknown state: strconv.Atoi: parsing \"http\": invalid syntax"
                    .into()
            )
        );
        let o = w.observe(&ProbeOutcome::Warning("Probe terminated redirects, Response body: ".into()));
        assert_eq!(
            o.event.map(|e| (e.reason, e.message)),
            Some((REASON_PROBE_WARNING, "Readiness probe warning: Probe terminated redirects, Response body: ".into()))
        );
        assert_eq!(o.update.map(|u| u.success), Some(true));
    }

    /// Plays back scripted exec results (the last one repeats) and records when
    /// each call happened.
    struct Script {
        results: Mutex<VecDeque<ExecResult>>,
        calls: Mutex<Vec<Instant>>,
    }

    impl Script {
        fn new(results: Vec<ExecResult>) -> Arc<Self> {
            Arc::new(Script { results: Mutex::new(results.into()), calls: Mutex::new(Vec::new()) })
        }

        fn calls(&self) -> Vec<Instant> {
            self.calls.lock().map(|c| c.clone()).unwrap_or_default()
        }
    }

    impl ExecRunner for Script {
        fn exec(&self, _: Vec<String>, _: Duration) -> BoxFuture<'_, ExecResult> {
            self.calls.lock().map(|mut c| c.push(Instant::now())).ok();
            let result = self
                .results
                .lock()
                .ok()
                .and_then(|mut r| if r.len() > 1 { r.pop_front() } else { r.front().cloned() })
                .unwrap_or_else(|| Err("no script".into()));
            Box::pin(async move { result })
        }
    }

    fn exec_probe() -> Probe {
        Probe { exec: Some(ExecAction { command: Some(vec!["check".into()]) }), ..Default::default() }
    }

    fn target() -> ProbeTarget {
        ProbeTarget {
            pod_ip: "10.42.0.5".into(),
            container: Container { name: "web".into(), ..Default::default() },
            started_at: Instant::now(),
        }
    }

    fn fast(initial_ms: u64, success: u32, failure: u32) -> ProbeTiming {
        ProbeTiming {
            initial_delay: Duration::from_millis(initial_ms),
            period: Duration::from_millis(20),
            success_threshold: success,
            failure_threshold: failure,
        }
    }

    #[tokio::test]
    async fn the_worker_waits_for_the_initial_delay_then_probes_every_period() {
        let script = Script::new(vec![Ok((0, Vec::new()))]);
        let (tx, mut rx) = mpsc::channel(16);
        let target = target();
        let started = target.started_at;
        let _handle =
            spawn_worker_with_timing(ProbeKind::Readiness, exec_probe(), fast(100, 1, 3), target, script.clone(), tx);
        let first = rx.recv().await;
        assert_eq!(first, Some(ProbeReport::Result(update(ProbeKind::Readiness, true, ""))));
        tokio::time::sleep(Duration::from_millis(70)).await;
        let calls = script.calls();
        assert!(calls[0] - started >= Duration::from_millis(100), "{:?}", calls[0] - started);
        assert!(calls.len() >= 3, "{}", calls.len());
        assert!(calls[2] - calls[1] >= Duration::from_millis(15));
    }

    #[tokio::test]
    async fn a_failing_liveness_probe_reports_events_then_the_flip_and_stops() {
        let script = Script::new(vec![Ok((0, Vec::new())), Ok((1, b"unhealthy\n".to_vec()))]);
        let (tx, mut rx) = mpsc::channel(16);
        let handle =
            spawn_worker_with_timing(ProbeKind::Liveness, exec_probe(), fast(0, 1, 2), target(), script.clone(), tx);
        let mut reports = Vec::new();
        while let Some(report) = rx.recv().await {
            reports.push(report);
        }
        let event = ProbeEvent {
            kind: ProbeKind::Liveness,
            container_name: "web".into(),
            reason: REASON_UNHEALTHY,
            message: "Liveness probe failed: unhealthy\n".into(),
        };
        let flip = update(ProbeKind::Liveness, false, "unhealthy\n");
        assert_eq!(
            reports,
            vec![ProbeReport::Event(event.clone()), ProbeReport::Event(event), ProbeReport::Result(flip)]
        );
        assert!(handle.is_finished());
        assert_eq!(script.calls().len(), 3);
    }

    #[tokio::test]
    async fn errored_attempts_are_retried_three_times() {
        let script = Script::new(vec![Err("container is stopping".into())]);
        let (tx, mut rx) = mpsc::channel(16);
        let _handle =
            spawn_worker_with_timing(ProbeKind::Readiness, exec_probe(), fast(0, 1, 1), target(), script.clone(), tx);
        let report = rx.recv().await;
        let Some(ProbeReport::Event(event)) = report else { panic!("unexpected {report:?}") };
        assert_eq!(event.message, "Readiness probe errored and resulted in unknown state: container is stopping");
        assert_eq!(script.calls().len(), 3);
    }

    #[tokio::test]
    async fn dropping_the_handle_stops_the_worker() {
        let script = Script::new(vec![Ok((0, Vec::new()))]);
        let (tx, mut rx) = mpsc::channel(16);
        let handle =
            spawn_worker_with_timing(ProbeKind::Readiness, exec_probe(), fast(0, 1, 1), target(), script.clone(), tx);
        assert!(rx.recv().await.is_some());
        drop(handle);
        assert_eq!(rx.recv().await, None);
        let calls = script.calls().len();
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(script.calls().len(), calls);
    }
}
