//! Getting a container's image per its `imagePullPolicy`, with the kubelet's pull
//! back-off (`ErrImagePull`, then `ImagePullBackOff` while waiting to retry).
//!
//! One deviation, for air-gapped nodes: with `Always`, a failed pull of an image that
//! is present locally (imported from `agent/images/` or by `coracle images import`)
//! uses the local copy and says so in a Warning event, instead of failing the pod.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Container, Pod};

use super::Kubelet;
use super::backoff::Backoff;
use crate::runtime::images::Image;
use crate::runtime::images::pull::PullOptions;

/// Pull failures by image reference.
#[derive(Default)]
pub struct PullBackoff {
    failures: Mutex<HashMap<String, Backoff>>,
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
    let backing_off = k
        .image_backoff
        .failures
        .lock()
        .ok()
        .is_some_and(|m| m.get(&reference).is_some_and(|b| b.remaining(Instant::now()).is_some()));
    if backing_off {
        let message = format!("Back-off pulling image \"{reference}\"");
        k.recorder.normal(pod, Some(field), "BackOff", message.clone()).await;
        return Err(ImageFailure { reason: "ImagePullBackOff", message });
    }
    k.recorder.normal(pod, Some(field), "Pulling", format!("Pulling image \"{reference}\"")).await;
    let started = Instant::now();
    let opts = PullOptions { timeout: Duration::from_secs(20), ..Default::default() };
    // The pull future is not `Send` (its layer-download closures borrow across awaits), so it
    // runs on a blocking thread that drives it with the runtime's handle.
    let (images, r, handle) = (k.images.clone(), reference.clone(), tokio::runtime::Handle::current());
    let pulled = tokio::task::spawn_blocking(move || handle.block_on(images.pull(&r, &opts)))
        .await
        .unwrap_or_else(|e| Err(crate::runtime::images::ImageError::Invalid(e.to_string())));
    match pulled {
        Ok(img) => {
            if let Ok(mut m) = k.image_backoff.failures.lock() {
                m.remove(&reference);
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
            if let Ok(mut m) = k.image_backoff.failures.lock() {
                m.entry(reference.clone()).or_default().failed(Instant::now(), Duration::ZERO);
            }
            let message = format!("Failed to pull image \"{reference}\": {e}");
            k.recorder.warning(pod, Some(field), "Failed", message.clone()).await;
            k.recorder.warning(pod, Some(field), "Failed", "Error: ErrImagePull").await;
            Err(ImageFailure { reason: "ErrImagePull", message })
        }
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
}
