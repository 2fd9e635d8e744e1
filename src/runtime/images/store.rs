//! The content store: blobs by digest and an OCI index of image names under `paths.content()`,
//! unpacked layers under `paths.snapshots()`.
//!
//! ```text
//! content/oci-layout, index.json      an OCI image layout: one index entry per image name
//! content/blobs/sha256/<hex>          manifests, indexes, configs, layers (verified)
//! content/ingest/<op>/                the work of one import or pull in progress
//! content/lock                        writers hold it (flock) while they change the store
//! snapshots/<diff-id hex>/fs/         one unpacked layer, an overlayfs lower dir
//! ```
//!
//! Every change is made in an ingest dir first and moved into place at the end, under the
//! lock, by renames; the index is replaced by a rename last. So a failed or killed import or
//! pull leaves nothing in the store: its ingest dir goes when it fails, or (after `kill -9`)
//! at the next write, which sees that no process holds the dir's owner lock any more.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::ImageError;
use super::reference::{digest_hex, is_hex64};
use super::unpack::hex;
use crate::runtime::paths::RuntimePaths;

/// The name of an image (a full reference) on an index entry, as containerd writes it.
pub const NAME_ANNOTATION: &str = "io.containerd.image.name";
/// The tag part of the name (OCI image layout convention).
pub const REF_NAME_ANNOTATION: &str = "org.opencontainers.image.ref.name";
/// The platform manifest chosen from a multi-arch index.
pub const MANIFEST_ANNOTATION: &str = "dev.coracle.image.manifest";
/// The image id (config digest).
pub const ID_ANNOTATION: &str = "dev.coracle.image.id";

pub const MT_OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const MT_OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const MT_OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const MT_DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const MT_DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// An OCI content descriptor (lenient: Docker's media types are accepted too).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

impl Descriptor {
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations.as_ref()?.get(key).map(String::as_str)
    }
    pub fn is_index(&self) -> bool {
        self.media_type == MT_OCI_INDEX || self.media_type == MT_DOCKER_LIST
    }
    /// The image name of an index entry, if it has one.
    pub fn name(&self) -> Option<&str> {
        self.annotation(NAME_ANNOTATION)
    }
    /// The image id of an index entry.
    pub fn image_id(&self) -> Option<&str> {
        self.annotation(ID_ANNOTATION)
    }
    /// The platform manifest of an index entry (the target itself unless it is an index).
    pub fn manifest_digest(&self) -> &str {
        self.annotation(MANIFEST_ANNOTATION).unwrap_or(&self.digest)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    pub architecture: String,
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(rename = "os.version", default, skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
}

/// An image manifest (OCI or Docker schema 2).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    pub config: Descriptor,
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// An image index (OCI) or manifest list (Docker), and the store's own `index.json`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// What a manifest-or-index blob turned out to be.
pub enum Parsed {
    Manifest(Manifest),
    Index(Index),
}

/// Parse a manifest or an index, telling them apart by media type or shape.
pub fn parse_manifest(bytes: &[u8]) -> Result<Parsed, String> {
    let v: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    let mt = v.get("mediaType").and_then(|m| m.as_str()).unwrap_or("");
    let schema = v.get("schemaVersion").and_then(|s| s.as_u64()).unwrap_or(0);
    if schema != 2 {
        return Err(format!("unsupported manifest schema version {schema} (only schema 2 / OCI manifests are)"));
    }
    if mt == MT_OCI_INDEX || mt == MT_DOCKER_LIST || (mt.is_empty() && v.get("manifests").is_some()) {
        serde_json::from_value(v).map(Parsed::Index).map_err(|e| format!("bad image index: {e}"))
    } else if mt == MT_OCI_MANIFEST || mt == MT_DOCKER_MANIFEST || (mt.is_empty() && v.get("config").is_some()) {
        serde_json::from_value(v).map(Parsed::Manifest).map_err(|e| format!("bad image manifest: {e}"))
    } else {
        Err(format!("unsupported manifest media type {mt:?}"))
    }
}

/// This machine's architecture, as OCI names it.
pub fn this_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "arm" => "arm",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        other => other,
    }
}

/// Pick the manifest for linux/<this arch> from an index (the first one without a platform
/// if none says so). Returns the list of platforms seen when there is none.
pub fn pick_platform(index: &Index) -> Result<&Descriptor, Vec<String>> {
    let arch = this_arch();
    let wanted_variant = if arch == "arm64" { Some("v8") } else { None };
    let mut candidates: Vec<&Descriptor> = index
        .manifests
        .iter()
        .filter(|d| d.platform.as_ref().is_some_and(|p| p.os == "linux" && p.architecture == arch))
        .collect();
    candidates.sort_by_key(|d| {
        let v = d.platform.as_ref().and_then(|p| p.variant.as_deref());
        !(v.is_none() || v == wanted_variant)
    });
    if let Some(d) = candidates.first() {
        return Ok(d);
    }
    if let Some(d) = index.manifests.iter().find(|d| d.platform.is_none() && !d.is_index()) {
        return Ok(d);
    }
    Err(index
        .manifests
        .iter()
        .filter_map(|d| d.platform.as_ref())
        .map(|p| match &p.variant {
            Some(v) => format!("{}/{}/{}", p.os, p.architecture, v),
            None => format!("{}/{}", p.os, p.architecture),
        })
        .collect())
}

pub fn sha256_of(bytes: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(bytes)))
}

/// The store's folders.
#[derive(Clone, Debug)]
pub struct Store {
    pub content: PathBuf,
    pub snapshots: PathBuf,
    pub containers: PathBuf,
}

/// A held store lock; released on drop.
pub struct StoreLock(#[allow(dead_code)] File);

impl Store {
    pub fn open(paths: &RuntimePaths) -> Result<Store, ImageError> {
        let store = Store { content: paths.content(), snapshots: paths.snapshots(), containers: paths.containers() };
        for dir in [store.content.join("blobs/sha256"), store.content.join("ingest"), store.snapshots.clone()] {
            fs::create_dir_all(&dir).map_err(|e| ImageError::io(&dir, e))?;
        }
        let layout = store.content.join("oci-layout");
        if !layout.exists() {
            write_atomic(&layout, br#"{"imageLayoutVersion":"1.0.0"}"#)?;
        }
        Ok(store)
    }

    pub fn blob_path(&self, digest: &str) -> Result<PathBuf, ImageError> {
        let hex = digest_hex(digest)?;
        Ok(self.content.join("blobs/sha256").join(hex))
    }
    pub fn has_blob(&self, digest: &str) -> bool {
        self.blob_path(digest).is_ok_and(|p| p.exists())
    }
    pub fn read_blob(&self, digest: &str) -> Result<Vec<u8>, ImageError> {
        let p = self.blob_path(digest)?;
        fs::read(&p).map_err(|e| ImageError::io(&p, e))
    }
    /// `snapshots/<hex>`: the snapshot of a layer, by diff id.
    pub fn snapshot_dir(&self, diff_id: &str) -> Result<PathBuf, ImageError> {
        let hex = digest_hex(diff_id)?;
        Ok(self.snapshots.join(hex))
    }
    /// `snapshots/<hex>/fs`: the directory overlayfs mounts.
    pub fn snapshot_fs(&self, diff_id: &str) -> Result<PathBuf, ImageError> {
        Ok(self.snapshot_dir(diff_id)?.join("fs"))
    }
    pub fn has_snapshot(&self, diff_id: &str) -> bool {
        self.snapshot_fs(diff_id).is_ok_and(|p| p.is_dir())
    }

    fn index_path(&self) -> PathBuf {
        self.content.join("index.json")
    }
    pub fn read_index(&self) -> Result<Index, ImageError> {
        let p = self.index_path();
        match fs::read(&p) {
            Ok(b) => serde_json::from_slice(&b)
                .map_err(|e| ImageError::Corrupt(format!("{}: {e}; remove it and import or pull again", p.display()))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Ok(Index { schema_version: 2, media_type: Some(MT_OCI_INDEX.into()), ..Index::default() })
            }
            Err(e) => Err(ImageError::io(&p, e)),
        }
    }
    pub fn write_index(&self, index: &Index) -> Result<(), ImageError> {
        let bytes = serde_json::to_vec_pretty(index).expect("index serializes");
        write_atomic(&self.index_path(), &bytes)
    }

    fn lock_file(&self) -> Result<File, ImageError> {
        let p = self.content.join("lock");
        fs::OpenOptions::new().create(true).truncate(false).write(true).open(&p).map_err(|e| ImageError::io(&p, e))
    }
    /// Held by whoever changes the store (short: moving finished work into place, removing).
    pub fn lock(&self) -> Result<StoreLock, ImageError> {
        let f = self.lock_file()?;
        f.lock().map_err(|e| ImageError::io(&self.content.join("lock"), e))?;
        Ok(StoreLock(f))
    }
    /// Held by readers that look at several files together.
    pub fn lock_shared(&self) -> Result<StoreLock, ImageError> {
        let f = self.lock_file()?;
        f.lock_shared().map_err(|e| ImageError::io(&self.content.join("lock"), e))?;
        Ok(StoreLock(f))
    }

    /// Start an import or pull: a private work dir, removed when dropped.
    pub fn begin(&self) -> Result<Ingest, ImageError> {
        let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_nanos();
        let name = format!("{}-{nanos}", std::process::id());
        // Made under a name cleaners leave alone, locked, then renamed: a cleaner never sees it unowned.
        let new = self.content.join("ingest").join(format!(".new-{name}"));
        fs::create_dir_all(new.join("blobs")).map_err(|e| ImageError::io(&new, e))?;
        let owner_path = new.join(".owner");
        let owner = File::create(&owner_path).map_err(|e| ImageError::io(&owner_path, e))?;
        owner.lock().map_err(|e| ImageError::io(&owner_path, e))?;
        let dir = self.content.join("ingest").join(name);
        fs::rename(&new, &dir).map_err(|e| ImageError::io(&dir, e))?;
        Ok(Ingest { store: self.clone(), dir, _owner: owner, blobs: HashMap::new(), snapshots: HashMap::new(), n: 0 })
    }

    /// Remove the work dirs of imports and pulls whose process is gone. Call with the lock held.
    pub fn clean_stale_ingests(&self) -> u64 {
        let mut freed = 0;
        let Ok(rd) = fs::read_dir(self.content.join("ingest")) else { return 0 };
        for e in rd.flatten() {
            let dir = e.path();
            let young = e
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| SystemTime::now().duration_since(t).unwrap_or_default() < Duration::from_secs(60));
            if e.file_name().to_string_lossy().starts_with(".new-") && young {
                continue;
            }
            let stale = match File::open(dir.join(".owner")) {
                Ok(f) => f.try_lock().is_ok(),
                // Not even an owner file yet: stale only if old.
                Err(_) => e
                    .metadata()
                    .and_then(|m| m.modified())
                    .is_ok_and(|t| SystemTime::now().duration_since(t).unwrap_or_default() > Duration::from_secs(60)),
            };
            if stale {
                freed += dir_size(&dir);
                tracing::info!(dir = %dir.display(), "removing an unfinished import or pull");
                let _ = fs::remove_dir_all(&dir);
            }
        }
        freed
    }

    /// Image ids used by containers (`<containers>/<id>/image-id`), with a container using each.
    pub fn images_in_use(&self) -> HashMap<String, String> {
        let mut out = HashMap::new();
        let Ok(rd) = fs::read_dir(&self.containers) else { return out };
        for e in rd.flatten() {
            if let Ok(id) = fs::read_to_string(e.path().join("image-id")) {
                out.entry(id.trim().to_string()).or_insert_with(|| e.file_name().to_string_lossy().into_owned());
            }
        }
        out
    }
}

/// An index entry naming an image, to be put in the store's index.
#[derive(Clone, Debug)]
pub struct NewEntry {
    /// Full reference, or None for an untagged image.
    pub name: Option<String>,
    /// The manifest (or index) the name points at.
    pub target: Descriptor,
    /// The platform manifest, when the target is an index.
    pub manifest_digest: String,
    pub image_id: String,
    /// Every blob the image needs (target, manifest, config, layers) and its snapshots.
    pub blobs: Vec<String>,
    pub diff_ids: Vec<String>,
}

/// The work of one import or pull. Nothing it holds is in the store until `commit`.
pub struct Ingest {
    store: Store,
    dir: PathBuf,
    _owner: File,
    blobs: HashMap<String, PathBuf>,
    snapshots: HashMap<String, PathBuf>,
    n: u64,
}

impl Ingest {
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A fresh file name in the work dir.
    pub fn temp_path(&mut self, hint: &str) -> PathBuf {
        self.n += 1;
        self.dir.join(format!("tmp-{}-{hint}", self.n))
    }

    /// Write `reader` as a blob; verify it has `expected` digest if given. Returns (digest, size).
    pub fn write_blob<R: Read>(
        &mut self,
        what: &str,
        mut reader: R,
        expected: Option<&str>,
    ) -> Result<(String, u64), ImageError> {
        let tmp = self.temp_path("blob");
        let mut f = File::create(&tmp).map_err(|e| ImageError::io(&tmp, e))?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 256 * 1024];
        let mut size = 0u64;
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(ImageError::Read(format!("{what}: {e}"))),
            };
            hasher.update(&buf[..n]);
            f.write_all(&buf[..n]).map_err(|e| ImageError::io(&tmp, e))?;
            size += n as u64;
        }
        let digest = format!("sha256:{}", hex(&hasher.finalize()));
        if let Some(exp) = expected
            && exp != digest
        {
            let _ = fs::remove_file(&tmp);
            return Err(ImageError::DigestMismatch { what: what.into(), expected: exp.into(), actual: digest });
        }
        f.sync_all().map_err(|e| ImageError::io(&tmp, e))?;
        self.adopt(&tmp, &digest)?;
        Ok((digest, size))
    }

    pub fn write_blob_bytes(&mut self, bytes: &[u8]) -> Result<String, ImageError> {
        Ok(self.write_blob("blob", bytes, None)?.0)
    }

    /// Take a file of the work dir, already verified to have `digest`, as that blob.
    pub fn adopt(&mut self, file: &Path, digest: &str) -> Result<(), ImageError> {
        let hex = digest_hex(digest)?;
        if self.blobs.contains_key(digest) {
            let _ = fs::remove_file(file);
            return Ok(());
        }
        let dest = self.dir.join("blobs").join(hex);
        fs::rename(file, &dest).map_err(|e| ImageError::io(&dest, e))?;
        self.blobs.insert(digest.to_string(), dest);
        Ok(())
    }

    /// Where a blob can be read now: this work's or the store's.
    pub fn blob_path(&self, digest: &str) -> Option<PathBuf> {
        if let Some(p) = self.blobs.get(digest) {
            return Some(p.clone());
        }
        self.store.blob_path(digest).ok().filter(|p| p.exists())
    }
    pub fn read_blob(&self, digest: &str) -> Result<Vec<u8>, ImageError> {
        let p = self.blob_path(digest).ok_or_else(|| ImageError::Invalid(format!("blob {digest} is missing")))?;
        fs::read(&p).map_err(|e| ImageError::io(&p, e))
    }
    pub fn has_blob(&self, digest: &str) -> bool {
        self.blob_path(digest).is_some()
    }
    /// Did this work bring the blob (it is not in the store yet)?
    pub fn is_new_blob(&self, digest: &str) -> bool {
        self.blobs.contains_key(digest) && !self.store.has_blob(digest)
    }

    /// Is the snapshot of this layer already there (in the store, or made by this work)?
    pub fn has_snapshot(&self, diff_id: &str) -> bool {
        self.snapshots.contains_key(diff_id) || self.store.has_snapshot(diff_id)
    }
    /// A new, empty snapshot dir for this work; returns the `fs` dir to unpack into.
    pub fn new_snapshot(&mut self, key: &str) -> Result<PathBuf, ImageError> {
        let d = self.temp_path(&format!("snapshot-{}", key.trim_start_matches("sha256:")));
        let fs_dir = d.join("fs");
        fs::create_dir_all(&fs_dir).map_err(|e| ImageError::io(&fs_dir, e))?;
        Ok(fs_dir)
    }
    /// Record that `fs_dir` (from `new_snapshot`) holds the layer with this diff id.
    pub fn add_snapshot(&mut self, diff_id: &str, fs_dir: &Path) {
        let dir = fs_dir.parent().expect("snapshot fs dir has a parent").to_path_buf();
        self.snapshots.insert(diff_id.to_string(), dir);
    }

    /// Move this work's blobs and snapshots into the store and name the images, atomically for
    /// readers of the index.
    pub fn commit(self, entries: &[NewEntry]) -> Result<(), ImageError> {
        let store = self.store.clone();
        let _lock = store.lock()?;
        // Our own work dir is locked through another open file, so it never looks stale.
        store.clean_stale_ingests();
        // Only what the images need (an archive's other files stay behind and go with the work dir).
        let needed: HashSet<&String> = entries.iter().flat_map(|e| e.blobs.iter()).collect();
        for (digest, path) in self.blobs.iter().filter(|(d, _)| needed.contains(d)) {
            let dest = store.blob_path(digest)?;
            if !dest.exists() {
                fs::rename(path, &dest).map_err(|e| ImageError::io(&dest, e))?;
            }
        }
        sync_dir(&store.content.join("blobs/sha256"));
        let needed: HashSet<&String> = entries.iter().flat_map(|e| e.diff_ids.iter()).collect();
        for (diff_id, path) in self.snapshots.iter().filter(|(d, _)| needed.contains(d)) {
            let dest = store.snapshot_dir(diff_id)?;
            if !dest.exists() {
                fs::rename(path, &dest).map_err(|e| ImageError::io(&dest, e))?;
            }
        }
        sync_dir(&store.snapshots);
        // Everything named must be there (a concurrent `rm` could have freed what we reused).
        for e in entries {
            for b in &e.blobs {
                if !store.has_blob(b) {
                    return Err(ImageError::Invalid(format!(
                        "blob {b} of {} vanished while it was being stored; try again",
                        e.name.as_deref().unwrap_or(&e.image_id)
                    )));
                }
            }
            for d in &e.diff_ids {
                if !store.has_snapshot(d) {
                    return Err(ImageError::Invalid(format!(
                        "layer {d} of {} vanished while it was being stored; try again",
                        e.name.as_deref().unwrap_or(&e.image_id)
                    )));
                }
            }
        }
        let mut index = store.read_index()?;
        for e in entries {
            add_entry(&mut index, e);
        }
        store.write_index(&index)?;
        // A name that moved can leave content nothing reaches any more (a manifest, the layers
        // of an older import of the same image): free it now, as containerd's GC would.
        super::gc::sweep(&store, &index);
        Ok(())
        // Dropping `self` removes the work dir and whatever was already in the store.
    }
}

impl Drop for Ingest {
    fn drop(&mut self) {
        if let Err(e) = fs::remove_dir_all(&self.dir)
            && e.kind() != io::ErrorKind::NotFound
        {
            tracing::warn!(dir = %self.dir.display(), error = %e, "could not remove a work dir");
        }
    }
}

/// Put `e` into the index: the name moves to the new image; an image left without a name
/// stays as an untagged entry (it may be in use), to be removed by `prune`.
pub fn add_entry(index: &mut Index, e: &NewEntry) {
    let mut annotations = BTreeMap::new();
    annotations.insert(ID_ANNOTATION.to_string(), e.image_id.clone());
    if e.target.is_index() {
        annotations.insert(MANIFEST_ANNOTATION.to_string(), e.manifest_digest.clone());
    }
    if let Some(name) = &e.name {
        annotations.insert(NAME_ANNOTATION.to_string(), name.clone());
        if let Some(tag) = tag_of(name) {
            annotations.insert(REF_NAME_ANNOTATION.to_string(), tag.to_string());
        }
    }
    let entry = Descriptor {
        media_type: e.target.media_type.clone(),
        digest: e.target.digest.clone(),
        size: e.target.size,
        platform: None,
        annotations: Some(annotations),
    };
    let mut displaced: Option<Descriptor> = None;
    index.manifests.retain(|d| {
        if e.name.is_some() && d.name() == e.name.as_deref() {
            if d.image_id() != Some(&e.image_id) {
                displaced = Some(d.clone());
            }
            return false;
        }
        // An untagged entry of the same image is replaced by the new one.
        !(d.name().is_none() && d.image_id() == Some(&e.image_id) && d.digest == e.target.digest)
    });
    if e.name.is_none() && index.manifests.iter().any(|d| d.image_id() == Some(&e.image_id)) {
        // The image is already there under a name: nothing to add.
    } else {
        index.manifests.push(entry);
    }
    if let Some(old) = displaced {
        let id = old.image_id().map(str::to_string);
        let still_named = index.manifests.iter().any(|d| d.image_id().is_some() && d.image_id() == id.as_deref());
        if !still_named {
            let mut ann = old.annotations.clone().unwrap_or_default();
            ann.remove(NAME_ANNOTATION);
            ann.remove(REF_NAME_ANNOTATION);
            index.manifests.push(Descriptor { annotations: Some(ann), ..old });
        }
    }
}

/// The tag of a full reference (`…:tag`), if it has one.
fn tag_of(name: &str) -> Option<&str> {
    let without_digest = name.split('@').next().unwrap_or(name);
    let (_, last) = without_digest.rsplit_once('/').unwrap_or(("", without_digest));
    last.split_once(':').map(|(_, t)| t)
}

/// Write a file atomically: a temporary beside it, synced, then renamed over it.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ImageError> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let mut f = File::create(&tmp).map_err(|e| ImageError::io(&tmp, e))?;
    f.write_all(bytes).and_then(|_| f.sync_all()).map_err(|e| ImageError::io(&tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| ImageError::io(path, e))?;
    if let Some(dir) = path.parent() {
        sync_dir(dir);
    }
    Ok(())
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Bytes used by the files under `path` (blocks actually allocated, each inode once).
pub fn dir_size(path: &Path) -> u64 {
    fn walk(p: &Path, seen: &mut HashSet<(u64, u64)>) -> u64 {
        let Ok(m) = fs::symlink_metadata(p) else { return 0 };
        if m.nlink() > 1 && !m.is_dir() && !seen.insert((m.dev(), m.ino())) {
            return 0;
        }
        let mut n = m.blocks() * 512;
        if m.is_dir()
            && let Ok(rd) = fs::read_dir(p)
        {
            for e in rd.flatten() {
                n += walk(&e.path(), seen);
            }
        }
        n
    }
    walk(path, &mut HashSet::new())
}

/// Is this an index entry whose digest looks sane?
pub fn valid_entry(d: &Descriptor) -> bool {
    d.digest.strip_prefix("sha256:").is_some_and(is_hex64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desc(digest: &str) -> Descriptor {
        Descriptor {
            media_type: MT_OCI_MANIFEST.into(),
            digest: digest.into(),
            size: 1,
            platform: None,
            annotations: None,
        }
    }

    fn entry(name: Option<&str>, digest: &str, id: &str) -> NewEntry {
        NewEntry {
            name: name.map(str::to_string),
            target: desc(digest),
            manifest_digest: digest.into(),
            image_id: id.into(),
            blobs: vec![],
            diff_ids: vec![],
        }
    }

    #[test]
    fn names_move_and_leave_untagged_images() {
        let mut idx = Index::default();
        add_entry(&mut idx, &entry(Some("docker.io/library/busybox:latest"), "sha256:m1", "sha256:i1"));
        add_entry(&mut idx, &entry(Some("docker.io/library/busybox:1"), "sha256:m1", "sha256:i1"));
        assert_eq!(idx.manifests.len(), 2);
        // :latest moves to a new image; i1 is still named by :1, so nothing is left untagged.
        add_entry(&mut idx, &entry(Some("docker.io/library/busybox:latest"), "sha256:m2", "sha256:i2"));
        assert_eq!(idx.manifests.len(), 2);
        // :1 moves too: i1 stays, untagged.
        add_entry(&mut idx, &entry(Some("docker.io/library/busybox:1"), "sha256:m2", "sha256:i2"));
        assert_eq!(idx.manifests.len(), 3);
        let untagged: Vec<_> = idx.manifests.iter().filter(|d| d.name().is_none()).collect();
        assert_eq!(untagged.len(), 1);
        assert_eq!(untagged[0].image_id(), Some("sha256:i1"));
        // Naming it again replaces the untagged entry.
        add_entry(&mut idx, &entry(Some("x.io/a:b"), "sha256:m1", "sha256:i1"));
        assert_eq!(idx.manifests.iter().filter(|d| d.name().is_none()).count(), 0);
        // An untagged import of a named image adds nothing.
        add_entry(&mut idx, &entry(None, "sha256:m1", "sha256:i1"));
        assert_eq!(idx.manifests.len(), 3);
        assert_eq!(tag_of("127.0.0.1:5000/a/b:1.2"), Some("1.2"));
        assert_eq!(tag_of("127.0.0.1:5000/a/b@sha256:00"), None);
    }

    #[test]
    fn platforms() {
        let mk = |arch: &str, variant: Option<&str>, d: &str| Descriptor {
            platform: Some(Platform {
                architecture: arch.into(),
                os: "linux".into(),
                variant: variant.map(str::to_string),
                os_version: None,
            }),
            ..desc(d)
        };
        let idx = Index {
            schema_version: 2,
            manifests: vec![mk("s390x", None, "sha256:a"), mk(this_arch(), None, "sha256:b")],
            ..Index::default()
        };
        assert_eq!(pick_platform(&idx).unwrap().digest, "sha256:b");
        let idx = Index { schema_version: 2, manifests: vec![mk("s390x", None, "sha256:a")], ..Index::default() };
        assert_eq!(pick_platform(&idx).unwrap_err(), vec!["linux/s390x".to_string()]);
    }

    #[test]
    fn manifests_and_indexes_are_told_apart() {
        let m = br#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
            "config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"sha256:00","size":1},
            "layers":[]}"#;
        assert!(matches!(parse_manifest(m), Ok(Parsed::Manifest(_))));
        let i = br#"{"schemaVersion":2,"manifests":[]}"#;
        assert!(matches!(parse_manifest(i), Ok(Parsed::Index(_))));
        assert!(parse_manifest(br#"{"schemaVersion":1}"#).is_err());
        assert!(parse_manifest(b"nope").is_err());
    }
}
