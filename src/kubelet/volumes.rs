//! The contents of configMap, secret, downwardAPI and projected volumes, written the way
//! the kubelet's `AtomicWriter` does, and the checks of hostPath volumes and `subPath`s.
//!
//! A volume directory written by [`write_atomic`] looks like the real kubelet's:
//!
//! ```text
//! <dir>/..2024_05_01_10_00_00.123456789/   the files, with their modes
//! <dir>/..data -> ..2024_05_01_10_00_00.123456789
//! <dir>/key    -> ..data/key               one link per top-level name
//! ```
//!
//! An update writes a new timestamped directory and renames a fresh `..data_tmp` link over
//! `..data`, so a container sees the old content or the new one, never a mix. Mounting
//! (tmpfs, bind mounts) stays with the caller.
//!
//! Messages are the kubelet's, as they appear after `MountVolume.SetUp failed for volume "v" : `.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, DownwardAPIVolumeFile, DownwardAPIVolumeSource, KeyToPath, Pod,
    ProjectedVolumeSource, Secret, SecretVolumeSource, ServiceAccountTokenProjection,
};

use super::env::{ObjectSource, RuntimeInfo, extract_field_path, resource_field_value};

/// The mode of projected files when a volume sets none (the API default).
pub const DEFAULT_MODE: u32 = 0o644;

const DATA_DIR: &str = "..data";
const NEW_DATA_DIR: &str = "..data_tmp";
const MAX_FILE_NAME_LENGTH: usize = 255;
const MAX_PATH_LENGTH: usize = 4096;

/// Why a volume cannot be set up, with the kubelet's messages.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VolumeError {
    /// `configmap "x" not found` / `secret "x" not found`.
    #[error("{resource} \"{name}\" not found")]
    NotFound { resource: &'static str, name: String },
    /// A bad item key, an invalid path, an unresolvable field (several in `[a, b]`).
    #[error("{0}")]
    Payload(String),
    /// `hostPath type check failed: /x is not a directory`, or a failed create.
    #[error("{0}")]
    HostPath(String),
    /// An absolute or back-stepping `subPath`, with the kubelet's message.
    #[error("{0}")]
    SubPath(String),
    /// The `subPath` directory could not be created; see [`VolumeError::for_mount`].
    #[error("failed to create subPath directory")]
    SubPathCreate,
    /// The `subPath` escapes its volume or cannot be resolved; see [`VolumeError::for_mount`].
    #[error("failed to prepare subPath")]
    SubPathPrepare,
}

impl VolumeError {
    /// The message the kubelet gives for this error in a volume mount of a container
    /// (the subPath errors name both; the others are unchanged).
    pub fn for_mount(&self, mount: &str, container: &str) -> String {
        match self {
            VolumeError::SubPathCreate => {
                format!("failed to create subPath directory for volumeMount {mount:?} of container {container:?}")
            }
            VolumeError::SubPathPrepare => {
                format!("failed to prepare subPath for volumeMount {mount:?} of container {container:?}")
            }
            other => other.to_string(),
        }
    }
}

/// One file of a volume.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileEntry {
    pub data: Vec<u8>,
    /// Permission bits (`items[].mode` or `defaultMode`).
    pub mode: u32,
    /// The user owning the file (a projected token with a common `runAsUser`), else root.
    pub owner: Option<u32>,
}

/// The files of a volume by relative path (cleaned, validated).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Payload(pub BTreeMap<String, FileEntry>);

impl Payload {
    fn insert(&mut self, path: &str, data: Vec<u8>, mode: u32) {
        self.0.insert(path.to_string(), FileEntry { data, mode, owner: None });
    }

    /// Check every path as the `AtomicWriter` does and clean it (`a//b/./c` → `a/b/c`).
    fn validated(self) -> Result<Payload, VolumeError> {
        let mut out = BTreeMap::new();
        for (path, entry) in self.0 {
            validate_path(&path).map_err(VolumeError::Payload)?;
            out.insert(clean_path(&path), entry);
        }
        Ok(Payload(out))
    }
}

fn mode_of(mode: Option<i32>, default: u32) -> u32 {
    mode.map_or(default, |m| m as u32 & 0o7777)
}

fn default_mode(mode: Option<i32>) -> u32 {
    mode_of(mode, DEFAULT_MODE)
}

/// Files from keyed data (`MakePayload`): every key, or the listed `items`; a listed key
/// that is missing is skipped when `optional`, else `missing(key)` is the error.
fn keyed_payload(
    items: Option<&[KeyToPath]>,
    data: &BTreeMap<&str, &[u8]>,
    mode: u32,
    optional: bool,
    missing: impl Fn(&str) -> String,
) -> Result<Payload, VolumeError> {
    let mut p = Payload::default();
    match items.filter(|i| !i.is_empty()) {
        None => data.iter().for_each(|(k, v)| p.insert(k, v.to_vec(), mode)),
        Some(items) => {
            for item in items {
                match data.get(item.key.as_str()) {
                    Some(v) => p.insert(&item.path, v.to_vec(), mode_of(item.mode, mode)),
                    None if optional => {}
                    None => return Err(VolumeError::Payload(missing(&item.key))),
                }
            }
        }
    }
    Ok(p)
}

/// A ConfigMap's `data` and `binaryData` by key.
fn config_map_data(cm: Option<&ConfigMap>) -> BTreeMap<&str, &[u8]> {
    let Some(cm) = cm else { return BTreeMap::new() };
    let text = cm.data.iter().flatten().map(|(k, v)| (k.as_str(), v.as_bytes()));
    let binary = cm.binary_data.iter().flatten().map(|(k, v)| (k.as_str(), v.0.as_slice()));
    text.chain(binary).collect()
}

/// A Secret's `data` by key.
fn secret_data(s: Option<&Secret>) -> BTreeMap<&str, &[u8]> {
    s.and_then(|s| s.data.as_ref()).into_iter().flatten().map(|(k, v)| (k.as_str(), v.0.as_slice())).collect()
}

fn config_map_files(
    name: &str,
    items: Option<&[KeyToPath]>,
    cm: Option<&ConfigMap>,
    mode: u32,
    optional: bool,
) -> Result<Payload, VolumeError> {
    if cm.is_none() && !optional {
        return Err(VolumeError::NotFound { resource: "configmap", name: name.to_string() });
    }
    keyed_payload(items, &config_map_data(cm), mode, optional, |k| {
        format!("configmap references non-existent config key: {k}")
    })
}

fn secret_files(
    name: &str,
    items: Option<&[KeyToPath]>,
    s: Option<&Secret>,
    mode: u32,
    optional: bool,
) -> Result<Payload, VolumeError> {
    if s.is_none() && !optional {
        return Err(VolumeError::NotFound { resource: "secret", name: name.to_string() });
    }
    keyed_payload(items, &secret_data(s), mode, optional, |k| format!("references non-existent secret key: {k}"))
}

/// The files of a configMap volume; `cm` is the ConfigMap if it exists.
pub fn config_map_payload(src: &ConfigMapVolumeSource, cm: Option<&ConfigMap>) -> Result<Payload, VolumeError> {
    let mode = default_mode(src.default_mode);
    config_map_files(&src.name, src.items.as_deref(), cm, mode, src.optional.unwrap_or(false))?.validated()
}

/// The files of a secret volume; `s` is the Secret if it exists.
pub fn secret_payload(src: &SecretVolumeSource, s: Option<&Secret>) -> Result<Payload, VolumeError> {
    let name = src.secret_name.as_deref().unwrap_or_default();
    let mode = default_mode(src.default_mode);
    secret_files(name, src.items.as_deref(), s, mode, src.optional.unwrap_or(false))?.validated()
}

/// The files of a downwardAPI volume: metadata fields (maps as sorted `key="value"`
/// lines) and container resources (limits defaulted to the node's allocatable).
pub fn downward_api_payload(
    src: &DownwardAPIVolumeSource,
    pod: &Pod,
    info: &RuntimeInfo,
) -> Result<Payload, VolumeError> {
    downward_files(src.items.as_deref().unwrap_or_default(), pod, info, default_mode(src.default_mode))?.validated()
}

/// `CollectData`: every item is resolved; the errors come back together.
fn downward_files(
    items: &[DownwardAPIVolumeFile],
    pod: &Pod,
    info: &RuntimeInfo,
    mode: u32,
) -> Result<Payload, VolumeError> {
    let mut p = Payload::default();
    let mut errs = Vec::new();
    for item in items {
        let value = if let Some(f) = &item.field_ref {
            extract_field_path(pod, &f.field_path)
        } else if let Some(r) = &item.resource_field_ref {
            resource_field_value(r, pod, None, info).map_err(|e| e.to_string())
        } else {
            Ok(String::new())
        };
        match value {
            Ok(v) => p.insert(&item.path, v.into_bytes(), mode_of(item.mode, mode)),
            Err(e) => errs.push(VolumeError::Payload(e)),
        }
    }
    aggregate(errs).map(|()| p)
}

/// No error, the only one, or `[a, b]` with repeats left out (`utilerrors.NewAggregate`).
fn aggregate(errs: Vec<VolumeError>) -> Result<(), VolumeError> {
    match errs.len() {
        0 => Ok(()),
        1 => Err(errs.into_iter().next().unwrap_or(VolumeError::Payload(String::new()))),
        _ => {
            let mut seen: Vec<String> = Vec::new();
            for e in errs {
                let msg = e.to_string();
                if !seen.contains(&msg) {
                    seen.push(msg);
                }
            }
            if seen.len() == 1 {
                return Err(VolumeError::Payload(seen.remove(0)));
            }
            Err(VolumeError::Payload(format!("[{}]", seen.join(", "))))
        }
    }
}

/// The files of a projected volume: configMap, secret, downwardAPI and
/// serviceAccountToken sources merged in order (a later path wins). `token` fetches the
/// token of a projection (its error is the message). A token file is `0600` (owned by the
/// pods' common `runAsUser`) when the pod has an `fsGroup` or such a user, as in the kubelet.
pub fn projected_payload(
    src: &ProjectedVolumeSource,
    pod: &Pod,
    objs: &dyn ObjectSource,
    info: &RuntimeInfo,
    token: &dyn Fn(&ServiceAccountTokenProjection) -> Result<String, String>,
) -> Result<Payload, VolumeError> {
    let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
    let mode = default_mode(src.default_mode);
    let fs_user = fs_user(pod);
    let fs_group = pod.spec.as_ref().and_then(|s| s.security_context.as_ref()).and_then(|s| s.fs_group);
    let mut p = Payload::default();
    let mut errs = Vec::new();
    for source in src.sources.iter().flatten() {
        let files = if let Some(c) = &source.config_map {
            let cm = objs.config_map(ns, &c.name);
            config_map_files(&c.name, c.items.as_deref(), cm.as_ref(), mode, c.optional.unwrap_or(false))
        } else if let Some(s) = &source.secret {
            let secret = objs.secret(ns, &s.name);
            secret_files(&s.name, s.items.as_deref(), secret.as_ref(), mode, s.optional.unwrap_or(false))
        } else if let Some(d) = &source.downward_api {
            downward_files(d.items.as_deref().unwrap_or_default(), pod, info, mode)
        } else if let Some(t) = &source.service_account_token {
            let token_mode = if fs_user.is_some() || fs_group.is_some() { 0o600 } else { mode };
            token(t).map_err(VolumeError::Payload).map(|tok| {
                let entry = FileEntry { data: tok.into_bytes(), mode: token_mode, owner: fs_user };
                Payload(BTreeMap::from([(t.path.clone(), entry)]))
            })
        } else if source.cluster_trust_bundle.is_some() {
            Err(VolumeError::Payload("clusterTrustBundle projections are not supported on this node".into()))
        } else {
            Ok(Payload::default())
        };
        match files {
            Ok(f) => p.0.extend(f.0),
            Err(e) => errs.push(e),
        }
    }
    aggregate(errs)?;
    p.validated()
}

/// The user every container of the pod runs as, if they all name the same one (`FsUserFrom`).
fn fs_user(pod: &Pod) -> Option<u32> {
    let spec = pod.spec.as_ref()?;
    let pod_user = spec.security_context.as_ref().and_then(|s| s.run_as_user);
    let mut user = None;
    for c in spec.init_containers.iter().flatten().chain(spec.containers.iter()) {
        let u = c.security_context.as_ref().and_then(|s| s.run_as_user).or(pod_user)?;
        if user.is_some_and(|prev| prev != u) {
            return None;
        }
        user = Some(u);
    }
    user.and_then(|u| u32::try_from(u).ok())
}

// ---- paths ----

/// `validatePath` of the `AtomicWriter`.
fn validate_path(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err(format!("invalid path: must not be empty: {path:?}"));
    }
    if path.starts_with('/') {
        return Err(format!("invalid path: must be relative path: {path}"));
    }
    if path.len() > MAX_PATH_LENGTH {
        return Err(format!("invalid path: must be less than or equal to {MAX_PATH_LENGTH} characters"));
    }
    let items: Vec<&str> = path.split('/').collect();
    for item in &items {
        if *item == ".." {
            return Err(format!("invalid path: must not contain '..': {path}"));
        }
        if item.len() > MAX_FILE_NAME_LENGTH {
            return Err(format!(
                "invalid path: filenames must be less than or equal to {MAX_FILE_NAME_LENGTH} characters"
            ));
        }
    }
    if items[0].starts_with("..") && items[0].len() > 2 {
        return Err(format!("invalid path: must not start with '..': {path}"));
    }
    Ok(())
}

/// `filepath.Clean` of a relative path without `..` elements.
fn clean_path(path: &str) -> String {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    if parts.is_empty() { ".".to_string() } else { parts.join("/") }
}

// ---- AtomicWriter ----

/// Write `payload` into `dir` (which must exist) the way the kubelet's `AtomicWriter`
/// does; returns whether anything changed (an identical payload writes nothing). With
/// `fs_group`, the files and directories become group-owned by it and group-readable
/// (directories also setgid and group-searchable), as `SetVolumeOwnership` does for
/// read-only volumes.
pub fn write_atomic(dir: &Path, payload: &Payload, fs_group: Option<u32>) -> io::Result<bool> {
    let mut clean = BTreeMap::new();
    for (path, entry) in &payload.0 {
        validate_path(path).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        clean.insert(clean_path(path), entry);
    }
    fs::metadata(dir)?;
    let data_link = dir.join(DATA_DIR);
    let old_ts = match fs::read_link(&data_link) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let mut to_remove = BTreeSet::new();
    if let Some(old) = &old_ts {
        let old_dir = dir.join(old);
        to_remove = paths_to_remove(&clean, &old_dir)?;
        if !should_write(&clean, &old_dir)? && to_remove.is_empty() {
            return Ok(false);
        }
    }
    let ts_dir = new_timestamp_dir(dir)?;
    let ts_name = ts_dir.file_name().map(PathBuf::from).unwrap_or_default();
    let written = write_files(&clean, &ts_dir).and_then(|()| match fs_group {
        Some(gid) => set_group_ownership(dir, &ts_dir, gid),
        None => Ok(()),
    });
    if let Err(e) = written {
        let _ = fs::remove_dir_all(&ts_dir);
        return Err(e);
    }
    swap_data_link(dir, &ts_name, &ts_dir)?;
    create_visible_links(dir, &clean)?;
    remove_visible_paths(dir, &to_remove)?;
    if let Some(old) = old_ts {
        fs::remove_dir_all(dir.join(old))?;
    }
    Ok(true)
}

/// Whether any file is new or has different content than in the current version.
fn should_write(payload: &BTreeMap<String, &FileEntry>, old_dir: &Path) -> io::Result<bool> {
    for (path, entry) in payload {
        let p = old_dir.join(path);
        match fs::symlink_metadata(&p) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(true),
            Err(e) => return Err(e),
            Ok(_) => {
                if fs::read(&p)? != entry.data {
                    return Ok(true);
                }
            }
        }
    }
    Ok(false)
}

/// Paths of the current version that the new payload no longer has (its files' parents kept).
fn paths_to_remove(payload: &BTreeMap<String, &FileEntry>, old_dir: &Path) -> io::Result<BTreeSet<String>> {
    let mut old = BTreeSet::new();
    match walk(old_dir, old_dir, &mut old) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(BTreeSet::new()),
        other => other?,
    }
    let mut keep = BTreeSet::new();
    for path in payload.keys() {
        let mut p = path.as_str();
        keep.insert(p.to_string());
        while let Some((parent, _)) = p.rsplit_once('/') {
            keep.insert(parent.to_string());
            p = parent;
        }
    }
    Ok(old.difference(&keep).cloned().collect())
}

/// Every path under `dir`, relative to `base`.
fn walk(base: &Path, dir: &Path, out: &mut BTreeSet<String>) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if let Ok(rel) = path.strip_prefix(base) {
            out.insert(rel.to_string_lossy().into_owned());
        }
        if entry.file_type()?.is_dir() {
            walk(base, &path, out)?;
        }
    }
    Ok(())
}

/// A fresh `..YYYY_MM_DD_HH_MM_SS.<n>` directory, mode 0755.
fn new_timestamp_dir(dir: &Path) -> io::Result<PathBuf> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let stamp = utc_stamp(now.as_secs());
    let mut n = u64::from(now.subsec_nanos()) ^ u64::from(std::process::id()) << 32;
    for _ in 0..1000 {
        let path = dir.join(format!("..{stamp}.{}", n % 10_000_000_000));
        match fs::DirBuilder::new().mode(0o755).create(&path) {
            Ok(()) => {
                fs::set_permissions(&path, fs::Permissions::from_mode(0o755))?;
                return Ok(path);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                n = n.wrapping_mul(6364136223846793005).wrapping_add(1)
            }
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(io::ErrorKind::AlreadyExists, "no free timestamped directory name"))
}

/// `2006_01_02_15_04_05` for a Unix time, in UTC.
fn utc_stamp(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Days to civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}_{month:02}_{day:02}_{:02}_{:02}_{:02}", rem / 3600, rem / 60 % 60, rem % 60)
}

/// The payload's files under `ts_dir`, with their exact modes and owners.
fn write_files(payload: &BTreeMap<String, &FileEntry>, ts_dir: &Path) -> io::Result<()> {
    for (path, entry) in payload {
        let full = ts_dir.join(path);
        if let Some(parent) = full.parent() {
            fs::DirBuilder::new().recursive(true).mode(0o777).create(parent)?;
        }
        // Created with its mode, so it is never readable by more than it should be.
        let mut file = fs::OpenOptions::new().write(true).create(true).truncate(true).mode(entry.mode).open(&full)?;
        file.write_all(&entry.data)?;
        fs::set_permissions(&full, fs::Permissions::from_mode(entry.mode))?;
        if let Some(uid) = entry.owner {
            std::os::unix::fs::chown(&full, Some(uid), None)?;
        }
    }
    Ok(())
}

/// `SetVolumeOwnership` of a read-only volume: group `gid`, `g+r` on files, `g+rx` and
/// setgid on directories (the volume directory and the new version).
fn set_group_ownership(dir: &Path, ts_dir: &Path, gid: u32) -> io::Result<()> {
    group_own(dir, gid)?;
    group_own(ts_dir, gid)?;
    let mut paths = BTreeSet::new();
    walk(ts_dir, ts_dir, &mut paths)?;
    for rel in paths {
        group_own(&ts_dir.join(rel), gid)?;
    }
    Ok(())
}

fn group_own(path: &Path, gid: u32) -> io::Result<()> {
    std::os::unix::fs::lchown(path, None, Some(gid))?;
    let meta = fs::symlink_metadata(path)?;
    if meta.file_type().is_symlink() {
        return Ok(());
    }
    let mut mask = 0o440;
    if meta.is_dir() {
        mask |= 0o2000 | 0o110;
    }
    fs::set_permissions(path, fs::Permissions::from_mode((meta.mode() & 0o7777) | mask))
}

/// Point `..data` at the new version: a new link renamed over the old one (atomic).
fn swap_data_link(dir: &Path, ts_name: &Path, ts_dir: &Path) -> io::Result<()> {
    let tmp = dir.join(NEW_DATA_DIR);
    match fs::remove_file(&tmp) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    if let Err(e) = std::os::unix::fs::symlink(ts_name, &tmp) {
        let _ = fs::remove_dir_all(ts_dir);
        return Err(e);
    }
    if let Err(e) = fs::rename(&tmp, dir.join(DATA_DIR)) {
        let _ = fs::remove_file(&tmp);
        let _ = fs::remove_dir_all(ts_dir);
        return Err(e);
    }
    Ok(())
}

/// `name -> ..data/name` for each top-level name of the payload that has no link yet.
fn create_visible_links(dir: &Path, payload: &BTreeMap<String, &FileEntry>) -> io::Result<()> {
    let tops: BTreeSet<&str> = payload.keys().map(|p| p.split('/').next().unwrap_or(p)).collect();
    for top in tops {
        let visible = dir.join(top);
        match fs::read_link(&visible) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                std::os::unix::fs::symlink(Path::new(DATA_DIR).join(top), &visible)?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// Remove the top-level links of paths that are gone.
fn remove_visible_paths(dir: &Path, paths: &BTreeSet<String>) -> io::Result<()> {
    let mut last = Ok(());
    for p in paths.iter().filter(|p| !p.contains('/')) {
        if let Err(e) = fs::remove_file(dir.join(p)) {
            last = Err(e);
        }
    }
    last
}

// ---- hostPath ----

/// The `type` check of a hostPath volume; `DirectoryOrCreate` and `FileOrCreate`
/// create what is missing (a 0755 directory with its parents, an empty 0644 file).
pub fn check_host_path(path: &Path, ty: Option<&str>) -> Result<(), VolumeError> {
    let shown = path.display();
    let meta = fs::metadata(path).ok();
    let ft = meta.as_ref().map(|m| m.file_type());
    let fail = |what: &str| Err(VolumeError::HostPath(format!("hostPath type check failed: {shown} is not {what}")));
    match ty.unwrap_or_default() {
        "" => Ok(()),
        "DirectoryOrCreate" if meta.is_none() => fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(path)
            .map_err(|e| VolumeError::HostPath(format!("mkdir {shown}: {}", go_err(&e)))),
        "FileOrCreate" if meta.is_none() => fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o644)
            .open(path)
            .map(drop)
            .map_err(|e| VolumeError::HostPath(format!("open {shown}: {}", go_err(&e)))),
        "Directory" | "DirectoryOrCreate" if !ft.is_some_and(|t| t.is_dir()) => fail("a directory"),
        "File" | "FileOrCreate" if !ft.is_some_and(|t| t.is_file()) => fail("a file"),
        "Socket" if !ft.is_some_and(|t| t.is_socket()) => fail("a socket file"),
        "CharDevice" if !ft.is_some_and(|t| t.is_char_device()) => fail("a character device"),
        "BlockDevice" if !ft.is_some_and(|t| t.is_block_device()) => fail("a block device"),
        "Directory" | "DirectoryOrCreate" | "File" | "FileOrCreate" | "Socket" | "CharDevice" | "BlockDevice" => Ok(()),
        other => Err(VolumeError::HostPath(format!("{other} is an invalid volume type"))),
    }
}

/// An OS error as Go prints it (`permission denied`).
fn go_err(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => nix::errno::Errno::from_raw(n).desc().to_lowercase(),
        None => e.to_string(),
    }
}

// ---- subPath ----

/// The host path to mount for `sub_path` of the volume at `volume_dir`: relative,
/// without `..`, created as a directory (with the volume directory's mode) when missing,
/// and resolved, so a symlink cannot lead outside the volume.
pub fn sub_path(volume_dir: &Path, sub_path: &str) -> Result<PathBuf, VolumeError> {
    if sub_path.starts_with('/') {
        return Err(VolumeError::SubPath(format!("error SubPath `{sub_path}` must not be an absolute path")));
    }
    if sub_path.split('/').any(|p| p == "..") {
        return Err(VolumeError::SubPath(format!("unable to provision SubPath `{sub_path}`: must not contain '..'")));
    }
    let base = fs::canonicalize(volume_dir).map_err(|_| VolumeError::SubPathPrepare)?;
    let host = volume_dir.join(sub_path);
    if fs::metadata(&host).is_err() {
        let perm = fs::metadata(volume_dir).map_err(|_| VolumeError::SubPathCreate)?.mode() & 0o7777;
        safe_make_dir(&base, sub_path, perm).map_err(|_| VolumeError::SubPathCreate)?;
    }
    let resolved = fs::canonicalize(&host).map_err(|_| VolumeError::SubPathPrepare)?;
    if !resolved.starts_with(&base) {
        return Err(VolumeError::SubPathPrepare);
    }
    Ok(resolved)
}

/// Create `sub` under `base` one directory at a time with `perm`, refusing to follow a
/// symlink out of `base` (`SafeMakeDir`).
fn safe_make_dir(base: &Path, sub: &str, perm: u32) -> io::Result<()> {
    let escape = || io::Error::new(io::ErrorKind::PermissionDenied, "path is outside of the volume");
    let mut cur = base.to_path_buf();
    for comp in Path::new(sub).components() {
        let Component::Normal(name) = comp else { continue };
        let next = cur.join(name);
        match fs::symlink_metadata(&next) {
            Ok(m) if m.file_type().is_symlink() => {
                let target = fs::canonicalize(&next)?;
                if !target.starts_with(base) {
                    return Err(escape());
                }
                cur = target;
            }
            Ok(m) if m.is_dir() => cur = next,
            Ok(_) => return Err(io::Error::from_raw_os_error(nix::libc::ENOTDIR)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::DirBuilder::new().mode(perm).create(&next)?;
                fs::set_permissions(&next, fs::Permissions::from_mode(perm))?;
                cur = next;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::ByteString;
    use k8s_openapi::api::core::v1::{
        ClusterTrustBundleProjection, ConfigMapProjection, Container, DownwardAPIProjection, ObjectFieldSelector,
        PodSecurityContext, PodSpec, ResourceFieldSelector, ResourceRequirements, SecretProjection, VolumeProjection,
    };
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity as Q;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn cm() -> ConfigMap {
        ConfigMap {
            metadata: ObjectMeta { name: Some("cfg".into()), namespace: Some("ns".into()), ..Default::default() },
            data: Some(BTreeMap::from([("a".into(), "1".into()), ("b".into(), "2".into())])),
            binary_data: Some(BTreeMap::from([("bin".into(), ByteString(vec![0, 1, 2]))])),
            ..Default::default()
        }
    }

    fn secret() -> Secret {
        Secret {
            metadata: ObjectMeta { name: Some("sec".into()), namespace: Some("ns".into()), ..Default::default() },
            data: Some(BTreeMap::from([("pw".into(), ByteString(b"hunter2".to_vec()))])),
            ..Default::default()
        }
    }

    fn ktp(key: &str, path: &str, mode: Option<i32>) -> KeyToPath {
        KeyToPath { key: key.into(), path: path.into(), mode }
    }

    fn files(p: &Payload) -> Vec<(&str, &[u8], u32)> {
        p.0.iter().map(|(k, v)| (k.as_str(), v.data.as_slice(), v.mode)).collect()
    }

    #[test]
    fn config_map_all_keys_and_binary() {
        let src = ConfigMapVolumeSource { name: "cfg".into(), ..Default::default() };
        let p = config_map_payload(&src, Some(&cm())).unwrap();
        assert_eq!(files(&p), vec![("a", &b"1"[..], 0o644), ("b", b"2", 0o644), ("bin", &[0, 1, 2], 0o644)]);
    }

    #[test]
    fn config_map_items_modes_and_errors() {
        let src = ConfigMapVolumeSource {
            name: "cfg".into(),
            default_mode: Some(0o400),
            items: Some(vec![ktp("a", "dir//x/./a.txt", Some(0o600)), ktp("b", "b", None)]),
            ..Default::default()
        };
        let p = config_map_payload(&src, Some(&cm())).unwrap();
        assert_eq!(files(&p), vec![("b", &b"2"[..], 0o400), ("dir/x/a.txt", b"1", 0o600)]);

        let bad = ConfigMapVolumeSource { items: Some(vec![ktp("zz", "z", None)]), ..src.clone() };
        let err = config_map_payload(&bad, Some(&cm())).unwrap_err();
        assert_eq!(err.to_string(), "configmap references non-existent config key: zz");
        let opt = ConfigMapVolumeSource { optional: Some(true), ..bad };
        assert_eq!(config_map_payload(&opt, Some(&cm())).unwrap(), Payload::default());
    }

    #[test]
    fn config_map_missing() {
        let src = ConfigMapVolumeSource { name: "x".into(), ..Default::default() };
        assert_eq!(config_map_payload(&src, None).unwrap_err().to_string(), "configmap \"x\" not found");
        let opt = ConfigMapVolumeSource { optional: Some(true), items: Some(vec![ktp("a", "a", None)]), ..src };
        assert_eq!(config_map_payload(&opt, None).unwrap(), Payload::default());
    }

    #[test]
    fn item_paths_are_validated() {
        let with = |path: &str| {
            let src = ConfigMapVolumeSource {
                name: "cfg".into(),
                items: Some(vec![ktp("a", path, None)]),
                ..Default::default()
            };
            config_map_payload(&src, Some(&cm())).map_err(|e| e.to_string())
        };
        assert_eq!(with("../x").unwrap_err(), "invalid path: must not contain '..': ../x");
        assert_eq!(with("a/../../x").unwrap_err(), "invalid path: must not contain '..': a/../../x");
        assert_eq!(with("/etc/x").unwrap_err(), "invalid path: must be relative path: /etc/x");
        assert_eq!(with("..data").unwrap_err(), "invalid path: must not start with '..': ..data");
        assert_eq!(with("").unwrap_err(), "invalid path: must not be empty: \"\"");
        assert!(with("..").is_err());
        assert!(with("ok/..fine").is_ok());
    }

    #[test]
    fn secret_payloads() {
        let src = SecretVolumeSource { secret_name: Some("sec".into()), ..Default::default() };
        let p = secret_payload(&src, Some(&secret())).unwrap();
        assert_eq!(files(&p), vec![("pw", &b"hunter2"[..], 0o644)]);
        assert_eq!(secret_payload(&src, None).unwrap_err().to_string(), "secret \"sec\" not found");
        let bad = SecretVolumeSource { items: Some(vec![ktp("nope", "n", None)]), ..src.clone() };
        assert_eq!(
            secret_payload(&bad, Some(&secret())).unwrap_err().to_string(),
            "references non-existent secret key: nope"
        );
        let opt = SecretVolumeSource { optional: Some(true), ..src };
        assert_eq!(secret_payload(&opt, None).unwrap(), Payload::default());
    }

    fn pod() -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some("web".into()),
                namespace: Some("ns".into()),
                uid: Some("u-1".into()),
                labels: Some(BTreeMap::from([("b".into(), "2".into()), ("a".into(), "1".into())])),
                ..Default::default()
            },
            spec: Some(PodSpec {
                containers: vec![Container {
                    name: "app".into(),
                    resources: Some(ResourceRequirements {
                        requests: Some(BTreeMap::from([("memory".into(), Q("32Mi".into()))])),
                        ..Default::default()
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn info() -> RuntimeInfo {
        RuntimeInfo { node_allocatable_cpu_millis: 2000, node_allocatable_memory: 1 << 30, ..Default::default() }
    }

    fn field_item(path: &str, field: &str) -> DownwardAPIVolumeFile {
        DownwardAPIVolumeFile {
            path: path.into(),
            field_ref: Some(ObjectFieldSelector { api_version: Some("v1".into()), field_path: field.into() }),
            ..Default::default()
        }
    }

    fn resource_item(path: &str, container: &str, res: &str, divisor: Option<&str>) -> DownwardAPIVolumeFile {
        DownwardAPIVolumeFile {
            path: path.into(),
            resource_field_ref: Some(ResourceFieldSelector {
                container_name: Some(container.into()),
                divisor: divisor.map(|d| Q(d.into())),
                resource: res.into(),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn downward_api_fields_and_resources() {
        let src = DownwardAPIVolumeSource {
            items: Some(vec![
                field_item("labels", "metadata.labels"),
                field_item("name", "metadata.name"),
                field_item("a", "metadata.labels['a']"),
                resource_item("cpu_limit", "app", "limits.cpu", Some("1m")),
                resource_item("mem_request", "app", "requests.memory", Some("1Mi")),
                DownwardAPIVolumeFile { mode: Some(0o400), ..field_item("uid", "metadata.uid") },
            ]),
            ..Default::default()
        };
        let p = downward_api_payload(&src, &pod(), &info()).unwrap();
        assert_eq!(
            files(&p),
            vec![
                ("a", &b"1"[..], 0o644),
                ("cpu_limit", b"2000", 0o644),
                ("labels", b"a=\"1\"\nb=\"2\"", 0o644),
                ("mem_request", b"32", 0o644),
                ("name", b"web", 0o644),
                ("uid", b"u-1", 0o400),
            ]
        );
    }

    #[test]
    fn downward_api_errors_aggregate() {
        let src = DownwardAPIVolumeSource {
            items: Some(vec![field_item("x", "spec.nodeName"), resource_item("y", "nope", "limits.cpu", None)]),
            ..Default::default()
        };
        let err = downward_api_payload(&src, &pod(), &info()).unwrap_err();
        assert_eq!(err.to_string(), "[unsupported fieldPath: spec.nodeName, container nope not found]");
        let one = DownwardAPIVolumeSource { items: Some(vec![field_item("x", "status.podIP")]), ..Default::default() };
        assert_eq!(
            downward_api_payload(&one, &pod(), &info()).unwrap_err().to_string(),
            "unsupported fieldPath: status.podIP"
        );
    }

    struct Objs;

    impl ObjectSource for Objs {
        fn config_map(&self, namespace: &str, name: &str) -> Option<ConfigMap> {
            (namespace == "ns" && name == "cfg").then(cm)
        }
        fn secret(&self, namespace: &str, name: &str) -> Option<Secret> {
            (namespace == "ns" && name == "sec").then(secret)
        }
    }

    fn projected(sources: Vec<VolumeProjection>) -> ProjectedVolumeSource {
        ProjectedVolumeSource { default_mode: Some(0o644), sources: Some(sources) }
    }

    fn token_source() -> VolumeProjection {
        VolumeProjection {
            service_account_token: Some(ServiceAccountTokenProjection {
                path: "token".into(),
                expiration_seconds: Some(3607),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn ok_token(_: &ServiceAccountTokenProjection) -> Result<String, String> {
        Ok("tok".into())
    }

    #[test]
    fn projected_merges_sources() {
        let src = projected(vec![
            token_source(),
            VolumeProjection {
                config_map: Some(ConfigMapProjection {
                    name: "cfg".into(),
                    items: Some(vec![ktp("a", "ca.crt", None)]),
                    optional: None,
                }),
                ..Default::default()
            },
            VolumeProjection {
                secret: Some(SecretProjection { name: "sec".into(), items: None, optional: None }),
                ..Default::default()
            },
            VolumeProjection {
                downward_api: Some(DownwardAPIProjection {
                    items: Some(vec![field_item("namespace", "metadata.namespace")]),
                }),
                ..Default::default()
            },
            VolumeProjection {
                secret: Some(SecretProjection { name: "gone".into(), items: None, optional: Some(true) }),
                ..Default::default()
            },
        ]);
        let p = projected_payload(&src, &pod(), &Objs, &info(), &ok_token).unwrap();
        assert_eq!(
            files(&p),
            vec![
                ("ca.crt", &b"1"[..], 0o644),
                ("namespace", b"ns", 0o644),
                ("pw", b"hunter2", 0o644),
                ("token", b"tok", 0o644)
            ]
        );
    }

    #[test]
    fn projected_token_mode_with_fs_group_and_user() {
        let mut pod = pod();
        if let Some(spec) = pod.spec.as_mut() {
            spec.security_context =
                Some(PodSecurityContext { fs_group: Some(2000), run_as_user: Some(1000), ..Default::default() });
        }
        let p = projected_payload(&projected(vec![token_source()]), &pod, &Objs, &info(), &ok_token).unwrap();
        assert_eq!(p.0["token"], FileEntry { data: b"tok".to_vec(), mode: 0o600, owner: Some(1000) });
    }

    #[test]
    fn projected_errors() {
        let src = projected(vec![
            VolumeProjection {
                config_map: Some(ConfigMapProjection { name: "x".into(), items: None, optional: None }),
                ..Default::default()
            },
            token_source(),
            VolumeProjection {
                cluster_trust_bundle: Some(ClusterTrustBundleProjection { path: "b".into(), ..Default::default() }),
                ..Default::default()
            },
        ]);
        let bad_token = |_: &ServiceAccountTokenProjection| Err("failed to fetch token: boom".to_string());
        let err = projected_payload(&src, &pod(), &Objs, &info(), &bad_token).unwrap_err();
        assert_eq!(
            err.to_string(),
            "[configmap \"x\" not found, failed to fetch token: boom, clusterTrustBundle projections are not supported on this node]"
        );
    }

    fn payload(entries: &[(&str, &str)]) -> Payload {
        Payload(
            entries
                .iter()
                .map(|(k, v)| (k.to_string(), FileEntry { data: v.as_bytes().to_vec(), mode: 0o644, owner: None }))
                .collect(),
        )
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> =
            fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    }

    #[test]
    fn atomic_writer_layout() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        assert!(write_atomic(dir, &payload(&[("a", "1"), ("sub/b", "2")]), None).unwrap());
        let ts = fs::read_link(dir.join("..data")).unwrap();
        let ts = ts.to_string_lossy().into_owned();
        assert!(
            ts.starts_with("..") && ts.len() == "..2024_01_01_00_00_00.".len() + ts.split('.').nth(3).unwrap().len()
        );
        assert_eq!(fs::read_link(dir.join("a")).unwrap(), Path::new("..data/a"));
        assert_eq!(fs::read_link(dir.join("sub")).unwrap(), Path::new("..data/sub"));
        assert_eq!(fs::read_to_string(dir.join("sub/b")).unwrap(), "2");
        assert_eq!(fs::metadata(dir.join(&ts)).unwrap().mode() & 0o7777, 0o755);
        assert_eq!(fs::metadata(dir.join("a")).unwrap().mode() & 0o7777, 0o644);
        assert_eq!(names(dir), vec![ts.clone(), "..data".into(), "a".into(), "sub".into()]);
    }

    #[test]
    fn atomic_writer_updates_and_skips_unchanged() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        assert!(write_atomic(dir, &payload(&[("a", "1"), ("b", "2")]), None).unwrap());
        let first = fs::read_link(dir.join("..data")).unwrap();
        assert!(!write_atomic(dir, &payload(&[("a", "1"), ("b", "2")]), None).unwrap());
        assert_eq!(fs::read_link(dir.join("..data")).unwrap(), first);

        assert!(write_atomic(dir, &payload(&[("a", "changed")]), None).unwrap());
        let second = fs::read_link(dir.join("..data")).unwrap();
        assert_ne!(first, second);
        assert_eq!(fs::read_to_string(dir.join("a")).unwrap(), "changed");
        assert!(fs::symlink_metadata(dir.join("b")).is_err());
        assert!(!dir.join(&first).exists());
        assert_eq!(names(dir), vec![second.to_string_lossy().into_owned(), "..data".into(), "a".into()]);

        assert!(write_atomic(dir, &Payload::default(), None).unwrap());
        assert_eq!(names(dir).len(), 2);
    }

    #[test]
    fn atomic_writer_rejects_bad_paths() {
        let tmp = tempfile::tempdir().unwrap();
        let err = write_atomic(tmp.path(), &payload(&[("../x", "1")]), None).unwrap_err();
        assert_eq!(err.to_string(), "invalid path: must not contain '..': ../x");
        assert!(write_atomic(&tmp.path().join("missing"), &payload(&[("a", "1")]), None).is_err());
    }

    #[test]
    fn atomic_writer_fs_group_and_owner() {
        if !nix::unistd::geteuid().is_root() {
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let mut p = payload(&[("cfg/a", "1")]);
        p.0.insert("token".into(), FileEntry { data: b"t".to_vec(), mode: 0o600, owner: Some(1000) });
        p.0.insert("ro".into(), FileEntry { data: b"r".to_vec(), mode: 0o400, owner: None });
        assert!(write_atomic(dir, &p, Some(2000)).unwrap());
        let meta = |rel: &str| fs::metadata(dir.join(rel)).unwrap();
        assert_eq!((meta("token").mode() & 0o7777, meta("token").uid(), meta("token").gid()), (0o640, 1000, 2000));
        assert_eq!((meta("ro").mode() & 0o7777, meta("ro").gid()), (0o440, 2000));
        assert_eq!(meta("cfg/a").mode() & 0o7777, 0o644);
        assert_eq!(meta("cfg").mode() & 0o7777, 0o2755);
        assert_eq!((meta("").gid(), meta("").mode() & 0o2000), (2000, 0o2000));
    }

    #[test]
    fn utc_stamps() {
        assert_eq!(utc_stamp(0), "1970_01_01_00_00_00");
        assert_eq!(utc_stamp(1_709_251_199), "2024_02_29_23_59_59");
        assert_eq!(utc_stamp(951_782_400), "2000_02_29_00_00_00");
    }

    #[test]
    fn host_path_types() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let file = dir.join("f");
        fs::write(&file, "x").unwrap();
        let msg = |p: &Path, ty: &str| check_host_path(p, Some(ty)).unwrap_err().to_string();
        assert!(check_host_path(&dir.join("nothing"), None).is_ok());
        assert!(check_host_path(&dir.join("nothing"), Some("")).is_ok());
        assert!(check_host_path(dir, Some("Directory")).is_ok());
        assert!(check_host_path(&file, Some("File")).is_ok());
        assert_eq!(
            msg(&file, "Directory"),
            format!("hostPath type check failed: {} is not a directory", file.display())
        );
        assert_eq!(msg(dir, "File"), format!("hostPath type check failed: {} is not a file", dir.display()));
        assert_eq!(
            msg(&file, "Socket"),
            format!("hostPath type check failed: {} is not a socket file", file.display())
        );
        assert_eq!(
            msg(&file, "CharDevice"),
            format!("hostPath type check failed: {} is not a character device", file.display())
        );
        assert_eq!(
            msg(&file, "BlockDevice"),
            format!("hostPath type check failed: {} is not a block device", file.display())
        );
        assert!(check_host_path(Path::new("/dev/null"), Some("CharDevice")).is_ok());
        assert_eq!(msg(&file, "Weird"), "Weird is an invalid volume type");
        assert_eq!(
            msg(&file, "DirectoryOrCreate"),
            format!("hostPath type check failed: {} is not a directory", file.display())
        );
        assert_eq!(msg(dir, "FileOrCreate"), format!("hostPath type check failed: {} is not a file", dir.display()));

        let sock = dir.join("s");
        let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        assert!(check_host_path(&sock, Some("Socket")).is_ok());
    }

    #[test]
    fn host_path_creates() {
        let tmp = tempfile::tempdir().unwrap();
        let new_dir = tmp.path().join("a/b");
        check_host_path(&new_dir, Some("DirectoryOrCreate")).unwrap();
        assert!(new_dir.is_dir());
        assert_eq!(fs::metadata(&new_dir).unwrap().mode() & 0o777, 0o755 & !umask());
        let new_file = tmp.path().join("a/f");
        check_host_path(&new_file, Some("FileOrCreate")).unwrap();
        let meta = fs::metadata(&new_file).unwrap();
        assert_eq!((meta.len(), meta.mode() & 0o777), (0, 0o644 & !umask()));
        let orphan = tmp.path().join("missing/f");
        assert_eq!(
            check_host_path(&orphan, Some("FileOrCreate")).unwrap_err().to_string(),
            format!("open {}: no such file or directory", orphan.display())
        );
    }

    fn umask() -> u32 {
        let old = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o022));
        nix::sys::stat::umask(old);
        old.bits()
    }

    #[test]
    fn sub_paths() {
        let tmp = tempfile::tempdir().unwrap();
        let vol = tmp.path().join("vol");
        fs::create_dir(&vol).unwrap();
        fs::set_permissions(&vol, fs::Permissions::from_mode(0o2777)).unwrap();
        let err = |s: &str| sub_path(&vol, s).unwrap_err().to_string();
        assert_eq!(err("/etc"), "error SubPath `/etc` must not be an absolute path");
        assert_eq!(err("a/../../x"), "unable to provision SubPath `a/../../x`: must not contain '..'");

        let made = sub_path(&vol, "x/y").unwrap();
        assert_eq!(made, fs::canonicalize(&vol).unwrap().join("x/y"));
        assert!(made.is_dir());
        assert_eq!(fs::metadata(vol.join("x")).unwrap().mode() & 0o7777, 0o2777);

        std::os::unix::fs::symlink("/etc", vol.join("out")).unwrap();
        assert_eq!(sub_path(&vol, "out").unwrap_err(), VolumeError::SubPathPrepare);
        assert_eq!(sub_path(&vol, "out/new").unwrap_err(), VolumeError::SubPathCreate);
        assert_eq!(
            VolumeError::SubPathCreate.for_mount("data", "app"),
            "failed to create subPath directory for volumeMount \"data\" of container \"app\""
        );
        assert_eq!(
            VolumeError::SubPathPrepare.for_mount("data", "app"),
            "failed to prepare subPath for volumeMount \"data\" of container \"app\""
        );
    }

    #[test]
    fn sub_path_into_atomic_volume() {
        let tmp = tempfile::tempdir().unwrap();
        let vol = tmp.path();
        write_atomic(vol, &payload(&[("app.conf", "x")]), None).unwrap();
        let resolved = sub_path(vol, "app.conf").unwrap();
        let ts = fs::read_link(vol.join("..data")).unwrap();
        assert_eq!(resolved, fs::canonicalize(vol).unwrap().join(ts).join("app.conf"));
        assert_eq!(fs::read_to_string(resolved).unwrap(), "x");
    }
}
