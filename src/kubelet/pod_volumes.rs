//! A pod's volumes as directories on the node, under `<pod dir>/volumes/<kind>/<name>`:
//! emptyDir (on disk, or a tmpfs with `medium: Memory` and its `sizeLimit`), hostPath
//! (with its `type` check), and configMap, secret, downwardAPI and projected volumes
//! written atomically (so a running container sees an update whole) — secrets and
//! tokens on a tmpfs, never on disk. Called on every sync that is due, so updates of
//! the sources reach the containers and tokens are renewed before they expire.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use k8s_openapi::api::authentication::v1::{BoundObjectReference, TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{Pod, ServiceAccount, ServiceAccountTokenProjection};
use kube::api::{Api, PostParams};
use nix::mount::{MsFlags, mount};

use super::Kubelet;
use super::container::parse_quantity;
use super::env::RuntimeInfo;
use super::objects::PodObjects;
use super::sandbox::{self, is_mounted};
use super::volumes;

fn mount_tmpfs(dir: &Path, size: Option<u64>) -> Result<(), String> {
    if is_mounted(dir) {
        return Ok(());
    }
    let opts = match size {
        Some(s) => format!("mode=0777,size={s}"),
        None => "mode=0777".to_string(),
    };
    mount(Some("tmpfs"), dir, Some("tmpfs"), MsFlags::MS_NOSUID | MsFlags::MS_NODEV, Some(opts.as_str()))
        .map_err(|e| format!("mounting a tmpfs on {}: {e}", dir.display()))
}

fn make_dir(dir: &Path, mode: u32) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode)).map_err(|e| format!("{}: {e}", dir.display()))
}

/// Tokens of projected volumes, renewed at 80% of their life as the kubelet does.
#[derive(Default)]
pub struct TokenCache {
    tokens: std::sync::Mutex<BTreeMap<String, (String, Instant, Duration)>>,
}

impl TokenCache {
    fn get(&self, key: &str) -> Option<String> {
        let m = self.tokens.lock().ok()?;
        let (t, at, life) = m.get(key)?;
        (at.elapsed() < life.mul_f64(0.8)).then(|| t.clone())
    }
    fn put(&self, key: String, token: String, life: Duration) {
        if let Ok(mut m) = self.tokens.lock() {
            m.insert(key, (token, Instant::now(), life));
        }
    }
    /// Forget the tokens of a pod.
    pub fn forget(&self, uid: &str) {
        if let Ok(mut m) = self.tokens.lock() {
            m.retain(|k, _| !k.starts_with(uid));
        }
    }
}

/// A bound token for a pod's projected volume, through the TokenRequest API.
async fn token(k: &Kubelet, pod: &Pod, p: &ServiceAccountTokenProjection) -> Result<String, String> {
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    let audience = p.audience.clone().unwrap_or_default();
    let expiry = p.expiration_seconds.unwrap_or(3607);
    let key = format!("{uid}/{audience}/{expiry}");
    if let Some(t) = k.tokens.get(&key) {
        return Ok(t);
    }
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    let sa = pod.spec.as_ref().and_then(|s| s.service_account_name.clone()).unwrap_or_else(|| "default".into());
    let req = TokenRequest {
        spec: TokenRequestSpec {
            audiences: if audience.is_empty() { Vec::new() } else { vec![audience] },
            expiration_seconds: Some(expiry),
            bound_object_ref: Some(BoundObjectReference {
                api_version: Some("v1".into()),
                kind: Some("Pod".into()),
                name: pod.metadata.name.clone(),
                uid: Some(uid),
            }),
        },
        ..Default::default()
    };
    let api: Api<ServiceAccount> = Api::namespaced(k.client.clone(), &ns);
    let out: TokenRequest = api
        .create_subresource("token", &sa, &PostParams::default(), &req)
        .await
        .map_err(|e| format!("failed to fetch token: {e}"))?;
    let token = out.status.map(|s| s.token).unwrap_or_default();
    k.tokens.put(key, token.clone(), Duration::from_secs(expiry.max(600) as u64));
    Ok(token)
}

/// Set up (or refresh) every volume of a pod; returns volume name → directory. The error
/// is the kubelet's FailedMount message.
pub async fn setup(
    k: &Kubelet,
    pod: &Pod,
    objs: &PodObjects,
    info: &RuntimeInfo,
) -> Result<BTreeMap<String, PathBuf>, String> {
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    let root = sandbox::pod_dir(&k.sandbox, &uid).join("volumes");
    let spec = pod.spec.clone().unwrap_or_default();
    let fs_group = spec.security_context.as_ref().and_then(|s| s.fs_group).map(|g| g as u32);
    let mut out = BTreeMap::new();
    for v in spec.volumes.iter().flatten() {
        let fail = |e: String| format!("MountVolume.SetUp failed for volume \"{}\" : {e}", v.name);
        let dir_of = |kind: &str| root.join(kind).join(&v.name);
        let dir = if let Some(ed) = &v.empty_dir {
            let dir = dir_of("kubernetes.io~empty-dir");
            make_dir(&dir, 0o777).map_err(fail)?;
            if ed.medium.as_deref() == Some("Memory") {
                let size = ed.size_limit.as_ref().and_then(|q| parse_quantity(&q.0)).map(|b| b as u64);
                mount_tmpfs(&dir, size).map_err(fail)?;
            }
            if let Some(gid) = fs_group {
                // As SetVolumeOwnership: group-owned by fsGroup, setgid so new files inherit it.
                nix::unistd::chown(&dir, None, Some(nix::unistd::Gid::from_raw(gid)))
                    .map_err(|e| fail(format!("{}: {e}", dir.display())))?;
                make_dir(&dir, 0o2777).map_err(fail)?;
            }
            dir
        } else if let Some(hp) = &v.host_path {
            let path = PathBuf::from(&hp.path);
            volumes::check_host_path(&path, hp.type_.as_deref()).map_err(|e| fail(e.to_string()))?;
            path
        } else if let Some(cm) = &v.config_map {
            let dir = dir_of("kubernetes.io~configmap");
            make_dir(&dir, 0o755).map_err(fail)?;
            let payload = volumes::config_map_payload(cm, objs.config_maps.get(&(ns.clone(), cm.name.clone())))
                .map_err(|e| fail(e.to_string()))?;
            volumes::write_atomic(&dir, &payload, fs_group).map_err(|e| fail(e.to_string()))?;
            dir
        } else if let Some(s) = &v.secret {
            let dir = dir_of("kubernetes.io~secret");
            make_dir(&dir, 0o755).map_err(fail)?;
            mount_tmpfs(&dir, None).map_err(fail)?;
            let name = s.secret_name.clone().unwrap_or_default();
            let payload =
                volumes::secret_payload(s, objs.secrets.get(&(ns.clone(), name))).map_err(|e| fail(e.to_string()))?;
            volumes::write_atomic(&dir, &payload, fs_group).map_err(|e| fail(e.to_string()))?;
            dir
        } else if let Some(d) = &v.downward_api {
            let dir = dir_of("kubernetes.io~downward-api");
            make_dir(&dir, 0o755).map_err(fail)?;
            let payload = volumes::downward_api_payload(d, pod, info).map_err(|e| fail(e.to_string()))?;
            volumes::write_atomic(&dir, &payload, fs_group).map_err(|e| fail(e.to_string()))?;
            dir
        } else if let Some(p) = &v.projected {
            let dir = dir_of("kubernetes.io~projected");
            make_dir(&dir, 0o755).map_err(fail)?;
            mount_tmpfs(&dir, None).map_err(fail)?;
            let mut tokens = BTreeMap::new();
            for src in p.sources.iter().flatten() {
                if let Some(t) = &src.service_account_token {
                    let tok = token(k, pod, t).await.map_err(fail)?;
                    tokens.insert(t.path.clone(), tok);
                }
            }
            let token_fn =
                |t: &ServiceAccountTokenProjection| tokens.get(&t.path).cloned().ok_or_else(|| "no token".to_string());
            let payload = volumes::projected_payload(p, pod, objs, info, &token_fn).map_err(|e| fail(e.to_string()))?;
            volumes::write_atomic(&dir, &payload, fs_group).map_err(|e| fail(e.to_string()))?;
            dir
        } else if v.ephemeral.is_some() || v.persistent_volume_claim.is_some() {
            return Err(fail("persistent volumes are not supported on this node yet (no storage provisioner); use emptyDir or hostPath".into()));
        } else {
            return Err(fail("unsupported volume source on this node; supported: emptyDir, hostPath, configMap, secret, downwardAPI, projected".into()));
        };
        out.insert(v.name.clone(), dir);
    }
    Ok(out)
}

/// A disk-backed emptyDir with a `sizeLimit`: its name, the limit as written, in bytes, and its
/// directory. (A memory-backed one is a tmpfs of that size: writes beyond it fail with ENOSPC.)
pub struct SizedEmptyDir {
    name: String,
    limit: String,
    bytes: f64,
    dir: PathBuf,
}

/// The pod's disk-backed emptyDirs that have a `sizeLimit` (none for most pods: nothing to
/// measure).
pub fn sized_empty_dirs(pod: &Pod, volumes: &BTreeMap<String, PathBuf>) -> Vec<SizedEmptyDir> {
    let mut out = Vec::new();
    for v in pod.spec.iter().flat_map(|s| s.volumes.iter().flatten()) {
        let Some(ed) = &v.empty_dir else { continue };
        if ed.medium.as_deref() == Some("Memory") {
            continue;
        }
        let Some(limit) = ed.size_limit.as_ref() else { continue };
        let Some(bytes) = parse_quantity(&limit.0) else { continue };
        let Some(dir) = volumes.get(&v.name) else { continue };
        out.push(SizedEmptyDir { name: v.name.clone(), limit: limit.0.clone(), bytes, dir: dir.clone() });
    }
    out
}

/// The eviction message for the first emptyDir that holds more than its `sizeLimit`, as the
/// kubelet's eviction manager words it. Walks the directories: call it off the async runtime.
pub fn empty_dir_over_limit(dirs: &[SizedEmptyDir]) -> Option<String> {
    dirs.iter()
        .find(|d| disk_usage(&d.dir) as f64 > d.bytes)
        .map(|d| format!("Usage of EmptyDir volume \"{}\" exceeds the limit \"{}\". ", d.name, d.limit))
}

/// Bytes a directory tree takes on disk (allocated blocks, like `du`), not following links.
pub fn disk_usage(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let Ok(md) = e.path().symlink_metadata() else { continue };
            total += md.blocks() * 512;
            if md.is_dir() {
                stack.push(e.path());
            }
        }
    }
    total
}
