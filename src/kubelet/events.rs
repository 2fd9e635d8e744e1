//! Events about pods, as the kubelet's recorder writes them: core/v1 Events from
//! component `kubelet` on this host, with repeats of the same event folded into one
//! object whose `count` and `lastTimestamp` grow (what `kubectl describe` shows as
//! "x5 over 2m").

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

/// (namespace, pod uid, field path, reason, message).
type EventKey = (String, String, String, String, String);

/// Posts events for one node; cheap to clone.
#[derive(Clone)]
pub struct Recorder {
    client: kube::Client,
    node: String,
    /// (namespace, pod uid, field path, reason, message) → (event name, count).
    seen: Arc<Mutex<HashMap<EventKey, (String, i32)>>>,
}

impl Recorder {
    pub fn new(client: kube::Client, node: &str) -> Recorder {
        Recorder { client, node: node.to_string(), seen: Default::default() }
    }

    /// `Normal` event about a pod (or one of its containers: `field_path` like `spec.containers{web}`).
    pub async fn normal(&self, pod: &Pod, field_path: Option<&str>, reason: &str, message: impl Into<String>) {
        self.record(pod, field_path, "Normal", reason, message.into()).await
    }

    pub async fn warning(&self, pod: &Pod, field_path: Option<&str>, reason: &str, message: impl Into<String>) {
        self.record(pod, field_path, "Warning", reason, message.into()).await
    }

    async fn record(&self, pod: &Pod, field_path: Option<&str>, kind: &str, reason: &str, message: String) {
        let ns = pod.metadata.namespace.clone().unwrap_or_else(|| "default".into());
        let name = pod.metadata.name.clone().unwrap_or_default();
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let key = (ns.clone(), uid.clone(), field_path.unwrap_or("").to_string(), reason.to_string(), message.clone());
        let api: Api<Event> = Api::namespaced(self.client.clone(), &ns);
        let now = Time(jiff::Timestamp::now());
        let existing = self.seen.lock().ok().and_then(|m| m.get(&key).cloned());
        if let Some((ev_name, count)) = existing {
            let patch = json!({"count": count + 1, "lastTimestamp": now});
            if api.patch(&ev_name, &PatchParams::default(), &Patch::Merge(&patch)).await.is_ok() {
                if let Ok(mut m) = self.seen.lock() {
                    m.insert(key, (ev_name, count + 1));
                }
                return;
            }
        }
        let ev_name = format!("{name}.{:x}", now.0.as_nanosecond());
        let ev = Event {
            metadata: ObjectMeta { name: Some(ev_name.clone()), namespace: Some(ns.clone()), ..Default::default() },
            involved_object: ObjectReference {
                api_version: Some("v1".into()),
                kind: Some("Pod".into()),
                name: Some(name),
                namespace: Some(ns),
                uid: Some(uid),
                resource_version: pod.metadata.resource_version.clone(),
                field_path: field_path.map(str::to_string),
            },
            reason: Some(reason.into()),
            message: Some(message),
            type_: Some(kind.into()),
            count: Some(1),
            first_timestamp: Some(now.clone()),
            last_timestamp: Some(now),
            source: Some(EventSource { component: Some("kubelet".into()), host: Some(self.node.clone()) }),
            reporting_component: Some("kubelet".into()),
            reporting_instance: Some(self.node.clone()),
            ..Default::default()
        };
        match api.create(&PostParams::default(), &ev).await {
            Ok(_) => {
                if let Ok(mut m) = self.seen.lock() {
                    if m.len() > 4096 {
                        m.clear();
                    }
                    m.insert(key, (ev_name, 1));
                }
            }
            Err(e) => tracing::debug!(error = %e, reason, "recording a kubelet event failed"),
        }
    }

    /// Forget the events of a pod that is gone.
    pub fn forget(&self, uid: &str) {
        if let Ok(mut m) = self.seen.lock() {
            m.retain(|k, _| k.1 != uid);
        }
    }
}
