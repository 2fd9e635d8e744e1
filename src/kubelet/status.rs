//! The pod status the kubelet reports: phase, conditions, IPs, QoS class and a status
//! per container (waiting/running/terminated, last state, restart count, ids).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Container, ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting, ContainerStatus,
    HostIP, Pod, PodCondition, PodIP, PodStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::sandbox::Sandbox;
use super::worker::{Record, Run};

/// What the status is computed from.
pub struct PodView<'a> {
    pub pod: &'a Pod,
    pub records: &'a BTreeMap<String, Record>,
    pub sandbox: Option<&'a Sandbox>,
    pub sandbox_ready: bool,
    pub terminal: Option<&'static str>,
    pub host_ip: String,
    pub start_time: Option<jiff::Timestamp>,
    pub volumes_ready: bool,
    /// Why the kubelet evicted the pod (its status message; reason `Evicted`).
    pub evicted: Option<&'a str>,
}

/// A status with the timestamps of conditions removed, to tell real changes apart.
pub fn without_times(v: &serde_json::Value) -> serde_json::Value {
    let mut v = v.clone();
    if let Some(conds) = v.get_mut("conditions").and_then(|c| c.as_array_mut()) {
        for c in conds {
            if let Some(m) = c.as_object_mut() {
                m.remove("lastTransitionTime");
                m.remove("lastProbeTime");
            }
        }
    }
    v
}

fn is_sidecar(c: &Container) -> bool {
    c.restart_policy.as_deref() == Some("Always")
}

fn alive(run: Option<&Run>) -> bool {
    run.and_then(|r| r.status.as_ref()).is_some_and(|s| s.is_alive())
}

fn running(rec: Option<&Record>) -> bool {
    rec.is_some_and(|r| r.start_error.is_none() && alive(r.current.as_ref()))
}

fn succeeded(rec: Option<&Record>) -> bool {
    rec.and_then(|r| r.current.as_ref())
        .and_then(|r| r.status.as_ref())
        .is_some_and(|s| !s.is_alive() && s.exit_code == Some(0))
}

fn container_ready(c: &Container, rec: Option<&Record>) -> bool {
    running(rec) && (c.readiness_probe.is_none() || rec.is_some_and(|r| r.ready))
}

fn container_started(c: &Container, rec: Option<&Record>) -> bool {
    running(rec) && (c.startup_probe.is_none() || rec.is_some_and(|r| r.started))
}

fn terminated(run: &Run, prefix: &str) -> ContainerStateTerminated {
    let s = run.status.as_ref();
    ContainerStateTerminated {
        exit_code: s.and_then(|s| s.exit_code).unwrap_or(0),
        signal: s.and_then(|s| s.signal),
        reason: s.map(|s| s.reason.clone()).filter(|r| !r.is_empty()),
        message: run.message.clone().filter(|m| !m.is_empty()),
        started_at: s.and_then(|s| s.started_at).map(Time),
        finished_at: s.and_then(|s| s.finished_at).map(Time),
        container_id: Some(format!("{prefix}{}", run.id)),
    }
}

const ID_PREFIX: &str = "coracle://";

/// The status of one container.
fn container_status(c: &Container, rec: Option<&Record>, default_waiting: &str) -> ContainerStatus {
    let image = c.image.clone().unwrap_or_default();
    let mut st = ContainerStatus {
        name: c.name.clone(),
        image: image.clone(),
        image_id: String::new(),
        ready: container_ready(c, rec),
        started: Some(container_started(c, rec)),
        restart_count: 0,
        ..Default::default()
    };
    let waiting = |reason: &str, message: Option<String>| ContainerState {
        waiting: Some(ContainerStateWaiting { reason: Some(reason.into()), message }),
        ..Default::default()
    };
    let Some(rec) = rec else {
        st.state = Some(waiting(default_waiting, None));
        return st;
    };
    if let Some(cur) = rec.current.as_ref() {
        st.restart_count = cur.attempt as i32;
        st.container_id = Some(format!("{ID_PREFIX}{}", cur.id));
        if let Some(s) = cur.status.as_ref() {
            st.image = s.image.reference.clone();
            let repo = s
                .image
                .reference
                .rsplit_once(':')
                .filter(|(r, _)| !r.contains('/') || !r.ends_with(']'))
                .map(|(r, _)| r);
            st.image_id = match (repo, s.image.manifest_digest.is_empty()) {
                (Some(r), false) => format!("{r}@{}", s.image.manifest_digest),
                _ => s.image.id.clone(),
            };
        }
    }
    let prev_terminated = rec
        .previous
        .as_ref()
        .map(|p| ContainerState { terminated: Some(terminated(p, ID_PREFIX)), ..Default::default() });
    if let Some((msg, at)) = rec.start_error.as_ref() {
        st.last_state = Some(ContainerState {
            terminated: Some(ContainerStateTerminated {
                exit_code: 128,
                reason: Some("StartError".into()),
                message: Some(msg.clone()),
                started_at: Some(Time(jiff::Timestamp::UNIX_EPOCH)),
                finished_at: Some(Time(*at)),
                container_id: st.container_id.clone(),
                ..Default::default()
            }),
            ..Default::default()
        });
        let (reason, message) = rec.waiting.clone().unwrap_or(("RunContainerError".into(), msg.clone()));
        st.state = Some(waiting(&reason, Some(message)));
        return st;
    }
    match rec.current.as_ref() {
        Some(cur) if alive(Some(cur)) => {
            let s = cur.status.as_ref();
            st.state = Some(ContainerState {
                running: Some(ContainerStateRunning {
                    started_at: s.and_then(|s| s.started_at.or(Some(s.created_at))).map(Time),
                }),
                ..Default::default()
            });
            st.last_state = prev_terminated;
        }
        Some(cur) if cur.status.is_some() => {
            // Exited: waiting to restart, or terminated for good.
            match rec.waiting.as_ref() {
                Some((reason, message)) => {
                    st.state = Some(waiting(reason, Some(message.clone())));
                    st.last_state =
                        Some(ContainerState { terminated: Some(terminated(cur, ID_PREFIX)), ..Default::default() });
                }
                None => {
                    st.state =
                        Some(ContainerState { terminated: Some(terminated(cur, ID_PREFIX)), ..Default::default() });
                    st.last_state = prev_terminated;
                }
            }
        }
        _ => {
            let (reason, message) =
                rec.waiting.clone().map(|(r, m)| (r, Some(m))).unwrap_or((default_waiting.into(), None));
            st.state = Some(waiting(&reason, message));
            st.last_state = prev_terminated;
        }
    }
    st
}

fn condition(
    pod: &Pod,
    kind: &str,
    ok: bool,
    reason: Option<&str>,
    message: Option<String>,
    now: &jiff::Timestamp,
) -> PodCondition {
    let status = if ok { "True" } else { "False" };
    let old =
        pod.status.as_ref().and_then(|s| s.conditions.as_ref()).and_then(|cs| cs.iter().find(|c| c.type_ == kind));
    let since = match old {
        Some(o) if o.status == status => o.last_transition_time.clone(),
        _ => None,
    }
    .unwrap_or(Time(*now));
    PodCondition {
        type_: kind.into(),
        status: status.into(),
        reason: if ok { None } else { reason.map(str::to_string) },
        message: if ok { None } else { message },
        last_transition_time: Some(since),
        last_probe_time: None,
        observed_generation: None,
    }
}

/// The pod's status.
pub fn pod_status(v: &PodView) -> PodStatus {
    let pod = v.pod;
    let spec = pod.spec.clone().unwrap_or_default();
    let now = jiff::Timestamp::now();
    let inits: Vec<&Container> = spec.init_containers.iter().flatten().collect();
    let mut incomplete = Vec::new();
    for c in &inits {
        let rec = v.records.get(&c.name);
        let done = if is_sidecar(c) { container_started(c, rec) } else { succeeded(rec) };
        if !done {
            incomplete.push(c.name.clone());
        }
    }
    let initialized = incomplete.is_empty();
    let app_waiting = if initialized { "ContainerCreating" } else { "PodInitializing" };
    let init_statuses: Vec<ContainerStatus> = inits
        .iter()
        .map(|c| {
            container_status(
                c,
                v.records.get(&c.name),
                if v.sandbox_ready { "PodInitializing" } else { "ContainerCreating" },
            )
        })
        .collect();
    let mut statuses: Vec<ContainerStatus> =
        spec.containers.iter().map(|c| container_status(c, v.records.get(&c.name), app_waiting)).collect();
    statuses.sort_by(|a, b| a.name.cmp(&b.name));
    let unready: Vec<String> = spec
        .containers
        .iter()
        .filter(|c| !container_ready(c, v.records.get(&c.name)))
        .map(|c| c.name.clone())
        .collect();
    let phase = match v.terminal {
        Some(p) => p.to_string(),
        None => {
            let all_started = initialized
                && spec.containers.iter().all(|c| v.records.get(&c.name).is_some_and(|r| r.current.is_some()));
            if all_started { "Running".into() } else { "Pending".into() }
        }
    };
    let mut conditions = Vec::new();
    let scheduled = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "PodScheduled").cloned());
    conditions.push(condition(pod, "PodReadyToStartContainers", v.sandbox_ready, None, None, &now));
    let init_msg = format!("containers with incomplete status: [{}]", incomplete.join(" "));
    conditions.push(condition(pod, "Initialized", initialized, Some("ContainersNotInitialized"), Some(init_msg), &now));
    let completed = v.terminal == Some("Succeeded");
    let (reason, msg) = if completed {
        ("PodCompleted", None)
    } else {
        ("ContainersNotReady", Some(format!("containers with unready status: [{}]", unready.join(" "))))
    };
    let ready = unready.is_empty() && v.terminal.is_none();
    conditions.push(condition(pod, "Ready", ready, Some(reason), msg.clone(), &now));
    conditions.push(condition(pod, "ContainersReady", ready, Some(reason), msg, &now));
    conditions.push(scheduled.unwrap_or_else(|| condition(pod, "PodScheduled", true, None, None, &now)));
    if let Some(msg) = v.evicted {
        let mut c = condition(pod, "DisruptionTarget", true, None, None, &now);
        c.reason = Some("TerminationByKubelet".into());
        c.message = Some(msg.to_string());
        conditions.push(c);
    }
    let ips: Vec<String> = v.sandbox.map(|s| s.ips.iter().map(|i| i.to_string()).collect()).unwrap_or_default();
    PodStatus {
        phase: Some(phase),
        conditions: Some(conditions),
        host_ip: Some(v.host_ip.clone()),
        host_ips: Some(vec![HostIP { ip: v.host_ip.clone() }]),
        pod_ip: ips.first().cloned(),
        pod_ips: if ips.is_empty() { None } else { Some(ips.iter().map(|ip| PodIP { ip: ip.clone() }).collect()) },
        start_time: v.start_time.map(Time),
        container_statuses: Some(statuses),
        init_container_statuses: if inits.is_empty() { None } else { Some(init_statuses) },
        qos_class: Some(super::container::qos_class(pod).to_string()),
        reason: v.evicted.map(|_| "Evicted".to_string()),
        message: v.evicted.map(str::to_string),
        ..Default::default()
    }
}
