//! What a pod asks of a node: its effective requests (the larger of the app
//! containers' sum and any init container, sidecars included, plus overhead, as
//! `resourcehelper.PodRequests` computes them) and its host ports.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, Pod};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use crate::registry::quantity::parse_quantity;

/// Amounts per resource name, in milli-units for cpu and whole units otherwise.
pub type Amounts = BTreeMap<String, i128>;

/// The amount of one quantity in the unit the scheduler counts in.
pub fn amount(resource: &str, q: &Quantity) -> i128 {
    match parse_quantity(&q.0) {
        Ok(v) if resource == "cpu" => v.to_millis(),
        Ok(v) => v.value(),
        Err(_) => 0,
    }
}

fn requests_of(c: &Container) -> Amounts {
    let mut out = Amounts::new();
    if let Some(r) = c.resources.as_ref().and_then(|r| r.requests.as_ref()) {
        for (k, q) in r {
            out.insert(k.clone(), amount(k, q));
        }
    }
    out
}

fn add(into: &mut Amounts, from: &Amounts) {
    for (k, v) in from {
        *into.entry(k.clone()).or_default() += v;
    }
}

fn max_into(into: &mut Amounts, from: &Amounts) {
    for (k, v) in from {
        let e = into.entry(k.clone()).or_default();
        *e = (*e).max(*v);
    }
}

/// The pod's effective requests.
pub fn pod_requests(pod: &Pod) -> Amounts {
    let Some(spec) = pod.spec.as_ref() else { return Amounts::new() };
    let mut apps = Amounts::new();
    for c in &spec.containers {
        add(&mut apps, &requests_of(c));
    }
    // Sidecars (init containers that keep running) add to everything after them;
    // ordinary init containers only need to fit one at a time.
    let mut sidecars = Amounts::new();
    let mut init_peak = Amounts::new();
    for c in spec.init_containers.iter().flatten() {
        let r = requests_of(c);
        if c.restart_policy.as_deref() == Some("Always") {
            add(&mut sidecars, &r);
            max_into(&mut init_peak, &sidecars);
        } else {
            let mut during = sidecars.clone();
            add(&mut during, &r);
            max_into(&mut init_peak, &during);
        }
    }
    add(&mut apps, &sidecars);
    max_into(&mut apps, &init_peak);
    if let Some(o) = &spec.overhead {
        for (k, q) in o {
            *apps.entry(k.clone()).or_default() += amount(k, q);
        }
    }
    apps
}

/// `(protocol, hostIP, hostPort)` of every container port that asks for one.
pub fn host_ports(pod: &Pod) -> Vec<(String, String, i32)> {
    let Some(spec) = pod.spec.as_ref() else { return vec![] };
    spec.containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .flat_map(|c| c.ports.iter().flatten())
        .filter_map(|p| {
            let hp = p.host_port.filter(|h| *h > 0)?;
            Some((
                p.protocol.clone().unwrap_or_else(|| "TCP".into()),
                p.host_ip.clone().filter(|ip| !ip.is_empty()).unwrap_or_else(|| "0.0.0.0".into()),
                hp,
            ))
        })
        .collect()
}

/// Whether two host ports collide (a wildcard address collides with every address).
pub fn ports_conflict(a: &(String, String, i32), b: &(String, String, i32)) -> bool {
    a.0 == b.0 && a.2 == b.2 && (a.1 == b.1 || a.1 == "0.0.0.0" || b.1 == "0.0.0.0")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(v: serde_json::Value) -> Pod {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn init_containers_count_at_their_peak() {
        let p = pod(json!({"spec": {
            "containers": [
                {"name": "a", "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}},
                {"name": "b", "resources": {"requests": {"cpu": "200m"}}}
            ],
            "initContainers": [
                {"name": "i", "resources": {"requests": {"cpu": "500m"}}},
                {"name": "side", "restartPolicy": "Always", "resources": {"requests": {"memory": "10Mi"}}}
            ]
        }}));
        let r = pod_requests(&p);
        assert_eq!(r["cpu"], 500);
        assert_eq!(r["memory"], 74 * 1024 * 1024);
    }

    #[test]
    fn host_port_conflicts() {
        let any = ("TCP".to_string(), "0.0.0.0".to_string(), 80);
        let one = ("TCP".to_string(), "10.0.0.1".to_string(), 80);
        let udp = ("UDP".to_string(), "0.0.0.0".to_string(), 80);
        assert!(ports_conflict(&any, &one));
        assert!(!ports_conflict(&any, &udp));
    }
}
