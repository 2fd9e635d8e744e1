//! Removing images and freeing what nothing uses.
//!
//! An image is in use while a container dir `<containers>/<id>/image-id` names its id; such an
//! image is never removed (`rm` refuses, `prune` skips it). After every removal the blobs and
//! snapshots that no index entry reaches any more are deleted, so disk space comes back at once.

use std::collections::HashSet;
use std::fs;

use serde::Serialize;

use super::reference::{ImageRef, Lookup, is_hex64};
use super::store::{Descriptor, Index, Parsed, Store, dir_size, parse_manifest};
use super::{ImageError, ImageStore};

/// What `rm` did.
#[derive(Debug, Default, Serialize)]
pub struct RemoveReport {
    /// Names (or ids, for untagged images) removed.
    pub removed: Vec<String>,
    pub freed: Freed,
}

/// What `prune` did.
#[derive(Debug, Default, Serialize)]
pub struct PruneReport {
    pub removed: Vec<String>,
    /// Images kept because a container uses them (only counted with `--all` or untagged).
    pub kept_in_use: usize,
    pub freed: Freed,
}

/// Disk space given back.
#[derive(Debug, Default, Serialize, Clone, Copy)]
pub struct Freed {
    pub blobs: usize,
    pub snapshots: usize,
    pub bytes: u64,
}

fn label(d: &Descriptor) -> String {
    d.name().or(d.image_id()).unwrap_or(&d.digest).to_string()
}

/// The entries a user's word names, for removal.
fn entries_for(index: &Index, word: &str) -> Result<Vec<usize>, ImageError> {
    let ids_matching = |pred: &dyn Fn(&str) -> bool| -> Vec<usize> {
        (0..index.manifests.len()).filter(|&i| index.manifests[i].image_id().is_some_and(pred)).collect()
    };
    let by_prefix = |prefix: &str| -> Result<Vec<usize>, ImageError> {
        let found = ids_matching(&|id: &str| id.trim_start_matches("sha256:").starts_with(prefix));
        let mut ids: Vec<&str> = found.iter().filter_map(|&i| index.manifests[i].image_id()).collect();
        ids.sort();
        ids.dedup();
        if ids.len() > 1 {
            return Err(ImageError::Ambiguous {
                prefix: prefix.to_string(),
                ids: ids.iter().map(|i| &i[7..19]).collect::<Vec<_>>().join(", "),
            });
        }
        Ok(found)
    };
    let found = match Lookup::parse(word)? {
        Lookup::Id(id) => ids_matching(&|i: &str| i == id),
        Lookup::IdPrefix(p) => by_prefix(&p)?,
        Lookup::Ref(r) => {
            let full = r.to_string();
            let mut found: Vec<usize> =
                (0..index.manifests.len()).filter(|&i| index.manifests[i].name() == Some(full.as_str())).collect();
            if found.is_empty()
                && let Some(digest) = r.digest()
            {
                let repo = r.name();
                found = (0..index.manifests.len())
                    .filter(|&i| {
                        let d = &index.manifests[i];
                        (d.digest == digest || d.manifest_digest() == digest)
                            && d.name().and_then(|n| ImageRef::parse(n).ok()).is_some_and(|n| n.name() == repo)
                    })
                    .collect();
            }
            if found.is_empty()
                && let Some(p) = Lookup::as_id_prefix(word)
            {
                found = by_prefix(&p)?;
            }
            found
        }
    };
    if found.is_empty() {
        return Err(ImageError::NotFound(word.to_string()));
    }
    Ok(found)
}

pub(crate) fn remove(images: &ImageStore, words: &[String]) -> Result<RemoveReport, ImageError> {
    let store = images.store();
    let _lock = store.lock()?;
    let mut index = store.read_index()?;
    let in_use = store.images_in_use();
    let mut doomed: HashSet<usize> = HashSet::new();
    for w in words {
        doomed.extend(entries_for(&index, w)?);
    }
    // An image whose every entry goes must not be in use.
    for &i in &doomed {
        let d = &index.manifests[i];
        let Some(id) = d.image_id() else { continue };
        let survives =
            index.manifests.iter().enumerate().any(|(j, e)| !doomed.contains(&j) && e.image_id() == Some(id));
        if !survives && let Some(c) = in_use.get(id) {
            return Err(ImageError::InUse { image: label(d), container: c.clone() });
        }
    }
    let mut removed: Vec<String> = doomed.iter().map(|&i| label(&index.manifests[i])).collect();
    removed.sort();
    let mut i = 0;
    index.manifests.retain(|_| {
        i += 1;
        !doomed.contains(&(i - 1))
    });
    store.write_index(&index)?;
    let freed = sweep(store, &index);
    Ok(RemoveReport { removed, freed })
}

pub(crate) fn prune(images: &ImageStore, all: bool) -> Result<PruneReport, ImageError> {
    let store = images.store();
    let _lock = store.lock()?;
    let mut index = store.read_index()?;
    let in_use = store.images_in_use();
    let mut report = PruneReport::default();
    index.manifests.retain(|d| {
        if !all && d.name().is_some() {
            return true;
        }
        if d.image_id().is_some_and(|id| in_use.contains_key(id)) {
            report.kept_in_use += 1;
            return true;
        }
        report.removed.push(label(d));
        false
    });
    if !report.removed.is_empty() {
        store.write_index(&index)?;
    }
    let stale = store.clean_stale_ingests();
    report.freed = sweep(store, &index);
    report.freed.bytes += stale;
    Ok(report)
}

/// Delete every blob and snapshot no entry of `index` reaches. Call with the lock held.
pub(crate) fn sweep(store: &Store, index: &Index) -> Freed {
    let (blobs, snapshots) = reachable(store, index);
    let mut freed = Freed::default();
    if let Ok(rd) = fs::read_dir(store.content.join("blobs/sha256")) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !is_hex64(&name) || blobs.contains(&format!("sha256:{name}")) {
                continue;
            }
            let size = e.metadata().map(|m| m.len()).unwrap_or(0);
            match fs::remove_file(e.path()) {
                Ok(()) => {
                    freed.blobs += 1;
                    freed.bytes += size;
                }
                Err(err) => tracing::warn!(blob = %name, error = %err, "could not free a blob"),
            }
        }
    }
    if let Ok(rd) = fs::read_dir(&store.snapshots) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !is_hex64(&name) || snapshots.contains(&format!("sha256:{name}")) {
                continue;
            }
            let size = dir_size(&e.path());
            match fs::remove_dir_all(e.path()) {
                Ok(()) => {
                    freed.snapshots += 1;
                    freed.bytes += size;
                }
                Err(err) => tracing::warn!(snapshot = %name, error = %err, "could not free a snapshot"),
            }
        }
    }
    if freed.blobs + freed.snapshots > 0 {
        tracing::info!(blobs = freed.blobs, snapshots = freed.snapshots, bytes = freed.bytes, "freed image content");
    }
    freed
}

/// Blobs and snapshots (by diff id) that the index reaches.
fn reachable(store: &Store, index: &Index) -> (HashSet<String>, HashSet<String>) {
    let mut blobs = HashSet::new();
    let mut snapshots = HashSet::new();
    let mut todo: Vec<String> = index.manifests.iter().map(|d| d.digest.clone()).collect();
    while let Some(digest) = todo.pop() {
        if !blobs.insert(digest.clone()) {
            continue;
        }
        let Ok(bytes) = store.read_blob(&digest) else { continue };
        match parse_manifest(&bytes) {
            Ok(Parsed::Index(idx)) => {
                // Only the platforms that are here (the others were never fetched).
                todo.extend(idx.manifests.iter().filter(|m| store.has_blob(&m.digest)).map(|m| m.digest.clone()));
            }
            Ok(Parsed::Manifest(m)) => {
                blobs.insert(m.config.digest.clone());
                blobs.extend(m.layers.iter().map(|l| l.digest.clone()));
                if let Ok(cfg) = store.read_blob(&m.config.digest)
                    && let Ok(cfg) = serde_json::from_slice::<oci_spec::image::ImageConfiguration>(&cfg)
                {
                    snapshots.extend(cfg.rootfs().diff_ids().iter().cloned());
                }
            }
            Err(_) => {}
        }
    }
    (blobs, snapshots)
}
