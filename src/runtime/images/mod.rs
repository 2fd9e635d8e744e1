//! OCI images: a content-addressed store under the data dir, import of `docker save` and OCI
//! archives, pull over the OCI distribution API, layers unpacked once into snapshots, and
//! removal/pruning that frees what no image and no container uses.
//!
//! The interface the containers side uses is [`ImageStore::open`], [`ImageStore::resolve`] and
//! [`Image`]; the rest serves `coracle images` and the node agent.

pub mod gc;
pub mod import;
pub mod keyring;
pub mod pull;
pub mod reference;
pub mod registries;
pub mod store;
pub mod unpack;

use std::io;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::runtime::paths::RuntimePaths;
pub use gc::{PruneReport, RemoveReport};
pub use import::{AirgapReport, Imported};
pub use pull::{PullEvent, PullOptions, PullProgress};
use reference::{ImageRef, Lookup, ReferenceError};
use store::{Descriptor, Parsed, Store, parse_manifest};

/// What went wrong with an image; every message names the image (or archive) and what to do.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    #[error("image {0} is not here: pull or import it first ('coracle images ls' lists what is here)")]
    NotFound(String),
    #[error("{prefix:?} matches several images ({ids}): give more of the id")]
    Ambiguous { prefix: String, ids: String },
    #[error("image {image} is in use by container {container}: remove the container first")]
    InUse { image: String, container: String },
    #[error("{archive}: {reason}")]
    Archive { archive: String, reason: String },
    #[error("{what}: digest mismatch (expected {expected}, got {actual}): the content is corrupt, get it again")]
    DigestMismatch { what: String, expected: String, actual: String },
    #[error("{image}: layer {layer}: {source}")]
    Unpack {
        image: String,
        layer: String,
        #[source]
        source: unpack::UnpackError,
    },
    #[error("cannot pull {image}: {reason}")]
    Pull { image: String, reason: String },
    #[error("registries config {path}: {reason}")]
    Registries { path: String, reason: String },
    #[error("the image store is damaged: {0}")]
    Corrupt(String),
    /// Content (of an archive or a registry) that is not what it should be.
    #[error("{0}")]
    Invalid(String),
    /// Reading the input failed (a truncated or corrupt stream).
    #[error("{0}")]
    Read(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl ImageError {
    pub(crate) fn io(path: &Path, source: io::Error) -> ImageError {
        ImageError::Io { path: path.to_path_buf(), source }
    }
}

/// What the container side needs from an image.
#[derive(Clone, Debug)]
pub struct Image {
    /// Normalised reference, e.g. `docker.io/library/busybox:latest` (the image id if untagged).
    pub reference: String,
    /// Config digest `sha256:…`.
    pub id: String,
    /// Digest of what the reference points at in its registry: the manifest, or the multi-arch
    /// index it was chosen from (`reference@manifest_digest` is the repo digest a kubelet reports).
    pub manifest_digest: String,
    pub config: oci_spec::image::ImageConfiguration,
    /// Unpacked snapshot dirs, lowest layer first.
    pub layers: Vec<PathBuf>,
}

/// One image of `images ls`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ImageSummary {
    /// Full reference, or None for an untagged image.
    pub reference: Option<String>,
    pub id: String,
    /// Digest of the target (manifest or index).
    pub digest: String,
    /// Bytes of content (manifests, config, compressed layers), as crictl counts it.
    pub size: u64,
}

/// The images of one data dir.
pub struct ImageStore {
    store: Store,
    paths: RuntimePaths,
}

impl ImageStore {
    /// Open (and create if needed) the store of this data dir.
    pub fn open(paths: &RuntimePaths) -> Result<ImageStore, ImageError> {
        Ok(ImageStore { store: Store::open(paths)?, paths: paths.clone() })
    }

    pub fn paths(&self) -> &RuntimePaths {
        &self.paths
    }
    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    /// An image by reference ("busybox", "docker.io/library/busybox:latest", "name@sha256:…"),
    /// full or short image id; None if not present locally.
    pub fn resolve(&self, reference: &str) -> Result<Option<Image>, ImageError> {
        // Readers wait for a commit or removal in progress (they are short), never for a download.
        let _lock = self.store.lock_shared()?;
        let Some(entry) = self.find_entry(reference)? else { return Ok(None) };
        self.image_of(&entry).map(Some)
    }

    /// Like `resolve`, but an absent image is an error naming it.
    pub fn get(&self, reference: &str) -> Result<Image, ImageError> {
        self.resolve(reference)?.ok_or_else(|| ImageError::NotFound(reference.to_string()))
    }

    /// The index entry a user's word names.
    pub(crate) fn find_entry(&self, reference: &str) -> Result<Option<Descriptor>, ImageError> {
        let index = self.store.read_index()?;
        let entries = &index.manifests;
        let by_id = |id: &str| -> Option<Descriptor> {
            let mut matching = entries.iter().filter(|d| d.image_id() == Some(id));
            let all: Vec<&Descriptor> = matching.by_ref().collect();
            all.iter().find(|d| d.name().is_some()).or(all.first()).map(|d| (*d).clone())
        };
        let by_prefix = |prefix: &str| -> Result<Option<Descriptor>, ImageError> {
            let mut ids: Vec<&str> = entries
                .iter()
                .filter_map(|d| d.image_id())
                .filter(|id| id.trim_start_matches("sha256:").starts_with(prefix))
                .collect();
            ids.sort();
            ids.dedup();
            match ids.as_slice() {
                [] => Ok(None),
                [one] => Ok(by_id(one)),
                many => Err(ImageError::Ambiguous {
                    prefix: prefix.to_string(),
                    ids: many.iter().map(|i| &i[7..19]).collect::<Vec<_>>().join(", "),
                }),
            }
        };
        match Lookup::parse(reference)? {
            Lookup::Id(id) => Ok(by_id(&id)),
            Lookup::IdPrefix(p) => by_prefix(&p),
            Lookup::Ref(r) => {
                if let Some(found) = find_by_ref(entries, &r) {
                    return Ok(Some(found));
                }
                match Lookup::as_id_prefix(reference) {
                    Some(p) => by_prefix(&p),
                    None => Ok(None),
                }
            }
        }
    }

    /// Build the [`Image`] of an index entry.
    pub(crate) fn image_of(&self, entry: &Descriptor) -> Result<Image, ImageError> {
        let name = entry.name().map(str::to_string).or(entry.image_id().map(str::to_string));
        let name = name.unwrap_or_else(|| entry.digest.clone());
        let damaged = |what: String| ImageError::Corrupt(format!("{name}: {what}; remove the image and get it again"));
        let manifest_digest = entry.manifest_digest().to_string();
        let bytes = self.store.read_blob(&manifest_digest).map_err(|e| damaged(e.to_string()))?;
        let manifest = match parse_manifest(&bytes).map_err(damaged)? {
            Parsed::Manifest(m) => m,
            Parsed::Index(_) => return Err(damaged("its platform manifest is an index".into())),
        };
        let config_bytes = self.store.read_blob(&manifest.config.digest).map_err(|e| damaged(e.to_string()))?;
        let config: oci_spec::image::ImageConfiguration =
            serde_json::from_slice(&config_bytes).map_err(|e| damaged(format!("bad config: {e}")))?;
        let mut layers = Vec::new();
        for diff_id in config.rootfs().diff_ids() {
            let dir = self.store.snapshot_fs(diff_id)?;
            if !dir.is_dir() {
                return Err(damaged(format!("the snapshot of layer {diff_id} is missing")));
            }
            layers.push(dir);
        }
        Ok(Image {
            reference: name,
            id: manifest.config.digest.clone(),
            manifest_digest: entry.digest.clone(),
            config,
            layers,
        })
    }

    /// Every image, named ones sorted by name, then untagged ones.
    pub fn list(&self) -> Result<Vec<ImageSummary>, ImageError> {
        let _lock = self.store.lock_shared()?;
        let index = self.store.read_index()?;
        let mut out: Vec<ImageSummary> = index
            .manifests
            .iter()
            .map(|d| ImageSummary {
                reference: d.name().map(str::to_string),
                id: d.image_id().unwrap_or("").to_string(),
                digest: d.digest.clone(),
                size: self.content_size(d),
            })
            .collect();
        out.sort_by(|a, b| {
            (a.reference.is_none(), &a.reference, &a.id).cmp(&(b.reference.is_none(), &b.reference, &b.id))
        });
        Ok(out)
    }

    /// Bytes of the blobs an entry uses.
    fn content_size(&self, d: &Descriptor) -> u64 {
        let mut size = d.size;
        if d.is_index() {
            size +=
                self.store.blob_path(d.manifest_digest()).ok().and_then(|p| p.metadata().ok()).map_or(0, |m| m.len());
        }
        if let Ok(bytes) = self.store.read_blob(d.manifest_digest())
            && let Ok(Parsed::Manifest(m)) = parse_manifest(&bytes)
        {
            size += m.config.size + m.layers.iter().map(|l| l.size).sum::<u64>();
        }
        size
    }

    /// All that is known of an image, as JSON (`images inspect`).
    pub fn inspect(&self, reference: &str) -> Result<serde_json::Value, ImageError> {
        let _lock = self.store.lock_shared()?;
        let entry = self.find_entry(reference)?.ok_or_else(|| ImageError::NotFound(reference.to_string()))?;
        let image = self.image_of(&entry)?;
        let index = self.store.read_index()?;
        let same: Vec<&Descriptor> = index.manifests.iter().filter(|d| d.image_id() == Some(&image.id)).collect();
        let tags: Vec<&str> = same.iter().filter_map(|d| d.name()).filter(|n| !n.contains('@')).collect();
        let mut digests: Vec<String> = same
            .iter()
            .filter_map(|d| {
                let n = d.name()?;
                let r = ImageRef::parse(n).ok()?;
                Some(format!("{}@{}", r.name(), d.digest))
            })
            .collect();
        digests.sort();
        digests.dedup();
        let manifest: serde_json::Value =
            serde_json::from_slice(&self.store.read_blob(entry.manifest_digest())?).unwrap_or_default();
        Ok(json!({
            "reference": image.reference,
            "id": image.id,
            "digest": entry.digest,
            "manifestDigest": entry.manifest_digest(),
            "mediaType": entry.media_type,
            "repoTags": tags,
            "repoDigests": digests,
            "size": self.content_size(&entry),
            "config": image.config,
            "manifest": manifest,
            "layers": image.layers,
        }))
    }

    /// Import a `docker save` or OCI archive (plain, gzip or zstd).
    pub fn import(&self, archive: &Path) -> Result<Vec<Imported>, ImageError> {
        import::import_archive(self, archive)
    }

    /// Import every tarball of the airgap drop folder (`paths.airgap_images()`) that changed
    /// since it was last imported, as k3s does at start.
    pub fn import_airgap(&self) -> AirgapReport {
        import::import_airgap(self)
    }

    /// Pull an image from its registry (or the mirrors of registries.yaml).
    pub async fn pull(&self, reference: &str, opts: &PullOptions) -> Result<Image, ImageError> {
        pull::pull(self, reference, opts).await
    }

    /// Remove images by reference or id; frees what no image and no container still uses.
    pub fn remove(&self, references: &[String]) -> Result<RemoveReport, ImageError> {
        gc::remove(self, references)
    }

    /// Free untagged images (or, with `all`, every image) that no container uses, and every
    /// blob and snapshot no image uses.
    pub fn prune(&self, all: bool) -> Result<PruneReport, ImageError> {
        gc::prune(self, all)
    }
}

/// The entry named by a reference: by name, or (for `name@digest`) any entry of that
/// repository whose target or platform manifest has the digest.
fn find_by_ref(entries: &[Descriptor], r: &ImageRef) -> Option<Descriptor> {
    let full = r.to_string();
    if let Some(d) = entries.iter().find(|d| d.name() == Some(full.as_str())) {
        return Some(d.clone());
    }
    let digest = r.digest()?;
    let repo = r.name();
    entries
        .iter()
        .filter(|d| d.digest == digest || d.manifest_digest() == digest)
        .find(|d| d.name().and_then(|n| ImageRef::parse(n).ok()).is_some_and(|n| n.name() == repo))
        .cloned()
}

/// Sizes as crictl prints them (decimal units, 4 significant digits): `2.15MB`.
pub fn human_size(bytes: u64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= 1000.0 && i < units.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    let s = format!("{v:.4}");
    let digits_before = s.find('.').unwrap_or(s.len());
    let keep = 4_usize.saturating_sub(digits_before);
    let s = format!("{v:.keep$}");
    let s = if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s };
    format!("{s}{}", units[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_like_crictl() {
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(999), "999B");
        assert_eq!(human_size(1000), "1kB");
        assert_eq!(human_size(1_032_889), "1.033MB");
        assert_eq!(human_size(2_150_400), "2.15MB");
        assert_eq!(human_size(123_456_789), "123.5MB");
    }
}
