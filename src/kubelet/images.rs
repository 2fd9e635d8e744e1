//! Getting a container's image per its `imagePullPolicy`, with the kubelet's pull
//! back-off (`ErrImagePull`, then `ImagePullBackOff` while waiting to retry).
//!
//! A pull uses the credentials of the pod's `imagePullSecrets` (Secrets of type
//! `kubernetes.io/dockerconfigjson` or `kubernetes.io/dockercfg` in the pod's namespace),
//! ordered and matched to registries as the kubelet's keyring does
//! ([`crate::runtime::images::keyring`]); they win over registries.yaml (`--private-registry`)
//! for the registries they match. A secret that cannot be read gives the kubelet's
//! `FailedToRetrieveImagePullSecret` Warning and the pull goes ahead with the others. The
//! secrets are read when a pull is about to happen (the kubelet reads them at every sync,
//! so it also warns about a missing secret of a pod whose images are all present).
//!
//! The back-off is per pod and image, as the kubelet's (`<pod uid>_<image>`): a pod that
//! has the right secret does not wait for another pod's failed pulls of the same image.
//!
//! One deviation, for air-gapped nodes: with `Always`, a failed pull of an image that
//! is present locally (imported from `agent/images/` or by `coracle images import`)
//! uses the local copy and says so in a Warning event, instead of failing the pod.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Container, Pod, Secret};
use kube::api::Api;

use super::Kubelet;
use super::backoff::Backoff;
use crate::runtime::images::Image;
use crate::runtime::images::keyring;
use crate::runtime::images::pull::PullOptions;
use crate::runtime::images::registries::{Credentials, DEFAULT_PATH};

/// Pull failures by `<pod uid>_<image reference>`.
#[derive(Default)]
pub struct PullBackoff {
    failures: Mutex<HashMap<String, Backoff>>,
}

impl PullBackoff {
    /// Record a failure; entries idle for twice the longest back-off are forgotten, as the
    /// kubelet's back-off garbage collection does (pods come and go, their keys with them).
    fn failed(&self, key: String) {
        let now = Instant::now();
        if let Ok(mut m) = self.failures.lock() {
            if let Some(old) = now.checked_sub(super::backoff::MAX * 2) {
                m.retain(|_, b| b.remaining(old).is_some());
            }
            m.entry(key).or_default().failed(now, Duration::ZERO);
        }
    }
}

/// Why there is no image to run (the container's waiting reason and message).
#[derive(Debug, Clone)]
pub struct ImageFailure {
    pub reason: &'static str,
    pub message: String,
}

/// The pull policy, with the API server's default when unset.
pub fn pull_policy(c: &Container) -> String {
    c.image_pull_policy.clone().unwrap_or_else(|| {
        let image = c.image.clone().unwrap_or_default();
        let last = image.rsplit('/').next().unwrap_or("");
        if image.contains('@') {
            "IfNotPresent".into()
        } else if !last.contains(':') || last.ends_with(":latest") {
            "Always".into()
        } else {
            "IfNotPresent".into()
        }
    })
}

/// The image of a container, pulled if the policy says so.
pub async fn ensure(k: &Kubelet, pod: &Pod, c: &Container, field: &str) -> Result<Image, ImageFailure> {
    let reference = c.image.clone().unwrap_or_default();
    if reference.is_empty() {
        return Err(ImageFailure { reason: "InvalidImageName", message: "the image name is empty".into() });
    }
    let policy = pull_policy(c);
    let local = {
        let (images, r) = (k.images.clone(), reference.clone());
        tokio::task::spawn_blocking(move || images.resolve(&r)).await.ok().and_then(|r| r.ok()).flatten()
    };
    let never = policy == "Never";
    if let Some(img) = local.filter(|_| policy != "Always") {
        k.recorder
            .normal(pod, Some(field), "Pulled", format!("Container image \"{reference}\" already present on machine"))
            .await;
        return Ok(img);
    }
    if never {
        let message = format!("Container image \"{reference}\" is not present with pull policy of Never");
        k.recorder.warning(pod, Some(field), "ErrImageNeverPull", message.clone()).await;
        return Err(ImageFailure { reason: "ErrImageNeverPull", message });
    }
    let backoff_key = format!("{}_{reference}", pod.metadata.uid.as_deref().unwrap_or_default());
    let backing_off = k
        .image_backoff
        .failures
        .lock()
        .ok()
        .is_some_and(|m| m.get(&backoff_key).is_some_and(|b| b.remaining(Instant::now()).is_some()));
    if backing_off {
        let message = format!("Back-off pulling image \"{reference}\"");
        k.recorder.normal(pod, Some(field), "BackOff", message.clone()).await;
        return Err(ImageFailure { reason: "ImagePullBackOff", message });
    }
    let credentials = match pull_secret_credentials(k, pod).await {
        Ok(c) => c,
        Err(message) => {
            k.image_backoff.failed(backoff_key);
            k.recorder.warning(pod, Some(field), "Failed", format!("Error: {message}")).await;
            return Err(ImageFailure { reason: "ErrImagePull", message });
        }
    };
    k.recorder.normal(pod, Some(field), "Pulling", format!("Pulling image \"{reference}\"")).await;
    let started = Instant::now();
    // The default registries.yaml may be absent; one named with --private-registry must be there.
    let registries = &k.cfg.private_registry;
    let opts = PullOptions {
        timeout: Duration::from_secs(20),
        registries_config: (registries.as_path() != Path::new(DEFAULT_PATH)).then(|| registries.clone()),
        credentials,
        ..Default::default()
    };
    // The pull future is not `Send` (its layer-download closures borrow across awaits), so it
    // runs on a blocking thread that drives it with the runtime's handle.
    let (images, r, handle) = (k.images.clone(), reference.clone(), tokio::runtime::Handle::current());
    let pulled = tokio::task::spawn_blocking(move || handle.block_on(images.pull(&r, &opts)))
        .await
        .unwrap_or_else(|e| Err(crate::runtime::images::ImageError::Invalid(e.to_string())));
    match pulled {
        Ok(img) => {
            if let Ok(mut m) = k.image_backoff.failures.lock() {
                m.remove(&backoff_key);
            }
            k.recorder
                .normal(
                    pod,
                    Some(field),
                    "Pulled",
                    format!("Successfully pulled image \"{reference}\" in {:.3}s", started.elapsed().as_secs_f64()),
                )
                .await;
            Ok(img)
        }
        Err(e) => {
            let local = {
                let (images, r) = (k.images.clone(), reference.clone());
                tokio::task::spawn_blocking(move || images.resolve(&r)).await.ok().and_then(|r| r.ok()).flatten()
            };
            if let Some(img) = local {
                k.recorder
                    .warning(
                        pod,
                        Some(field),
                        "Pulled",
                        format!("Failed to pull image \"{reference}\" ({e}); using the copy present on the machine"),
                    )
                    .await;
                return Ok(img);
            }
            k.image_backoff.failed(backoff_key);
            let message = format!("Failed to pull image \"{reference}\": {e}");
            k.recorder.warning(pod, Some(field), "Failed", message.clone()).await;
            k.recorder.warning(pod, Some(field), "Failed", "Error: ErrImagePull").await;
            Err(ImageFailure { reason: "ErrImagePull", message })
        }
    }
}

/// The credentials of the pod's image pull secrets, most specific registry key first. A
/// secret that cannot be read is reported (the kubelet's event) and left out; one whose
/// docker config is malformed fails the pull, as in the kubelet.
async fn pull_secret_credentials(k: &Kubelet, pod: &Pod) -> Result<Vec<(String, Credentials)>, String> {
    let names: Vec<String> = pod
        .spec
        .as_ref()
        .and_then(|s| s.image_pull_secrets.as_ref())
        .into_iter()
        .flatten()
        .map(|r| r.name.clone())
        // The API allowed entries without a name; the kubelet ignores them.
        .filter(|n| !n.is_empty())
        .collect();
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let ns = pod.metadata.namespace.clone().unwrap_or_else(|| "default".into());
    let api: Api<Secret> = Api::namespaced(k.client.clone(), &ns);
    let mut failed = Vec::new();
    let mut creds = Vec::new();
    for name in names {
        let secret = match api.get_opt(&name).await {
            Ok(Some(s)) => s,
            Ok(None) => {
                failed.push(name);
                continue;
            }
            Err(e) => {
                tracing::info!(secret = %name, namespace = %ns, error = %e, "cannot read an image pull secret");
                failed.push(name);
                continue;
            }
        };
        creds.extend(docker_credentials(&secret).map_err(|e| format!("image pull secret \"{name}\": {e}"))?);
    }
    if !failed.is_empty() {
        let message = format!(
            "Unable to retrieve some image pull secrets ({}); attempting to pull the image may not succeed.",
            failed.join(", ")
        );
        k.recorder.warning(pod, None, "FailedToRetrieveImagePullSecret", message).await;
    }
    keyring::order(&mut creds);
    Ok(creds)
}

/// The registry credentials of a Secret: `.dockerconfigjson` of a `kubernetes.io/dockerconfigjson`
/// Secret, `.dockercfg` of a `kubernetes.io/dockercfg` one; other Secrets have none.
fn docker_credentials(secret: &Secret) -> Result<Vec<(String, Credentials)>, String> {
    let data =
        |key: &str| secret.data.as_ref().and_then(|d| d.get(key)).map(|b| b.0.as_slice()).filter(|b| !b.is_empty());
    match secret.type_.as_deref() {
        Some("kubernetes.io/dockerconfigjson") => match data(".dockerconfigjson") {
            Some(bytes) => keyring::parse_docker_config(bytes, true).map_err(|e| format!(".dockerconfigjson: {e}")),
            None => Ok(Vec::new()),
        },
        Some("kubernetes.io/dockercfg") => match data(".dockercfg") {
            Some(bytes) => keyring::parse_docker_config(bytes, false).map_err(|e| format!(".dockercfg: {e}")),
            None => Ok(Vec::new()),
        },
        _ => Ok(Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_pull_policy() {
        let c = |img: &str| Container { name: "a".into(), image: Some(img.into()), ..Default::default() };
        assert_eq!(pull_policy(&c("busybox")), "Always");
        assert_eq!(pull_policy(&c("busybox:latest")), "Always");
        assert_eq!(pull_policy(&c("busybox:1.36")), "IfNotPresent");
        assert_eq!(pull_policy(&c("127.0.0.1:5000/busybox")), "Always");
        assert_eq!(pull_policy(&c("busybox@sha256:abc")), "IfNotPresent");
    }

    #[test]
    fn credentials_of_docker_secrets() {
        use k8s_openapi::ByteString;
        let secret = |type_: &str, key: &str, value: &str| Secret {
            type_: Some(type_.into()),
            data: Some([(key.to_string(), ByteString(value.as_bytes().to_vec()))].into()),
            ..Default::default()
        };
        let json =
            r#"{"auths":{"127.0.0.1:5000":{"username":"coracle","password":"s3cret","auth":"Y29yYWNsZTpzM2NyZXQ="}}}"#;
        let want = vec![("127.0.0.1:5000".to_string(), Credentials::Basic("coracle".into(), "s3cret".into()))];
        assert_eq!(
            docker_credentials(&secret("kubernetes.io/dockerconfigjson", ".dockerconfigjson", json)).unwrap(),
            want
        );
        let cfg = r#"{"127.0.0.1:5000":{"auth":"Y29yYWNsZTpzM2NyZXQ="}}"#;
        assert_eq!(docker_credentials(&secret("kubernetes.io/dockercfg", ".dockercfg", cfg)).unwrap(), want);
        // Other types, or the key of the other type: nothing.
        assert!(docker_credentials(&secret("Opaque", ".dockerconfigjson", json)).unwrap().is_empty());
        assert!(docker_credentials(&secret("kubernetes.io/dockercfg", ".dockerconfigjson", json)).unwrap().is_empty());
        let err = docker_credentials(&secret("kubernetes.io/dockerconfigjson", ".dockerconfigjson", "{")).unwrap_err();
        assert!(err.starts_with(".dockerconfigjson: not a docker config"), "{err}");
    }
}
