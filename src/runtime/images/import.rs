//! Importing image archives: `docker save` archives and OCI image layouts, each as a plain,
//! gzip or zstd tarball; and the airgap drop folder, imported at start as k3s does.
//!
//! Every file of the archive is hashed as it is read; every blob an image needs is checked
//! against its digest, and every layer against the diff id of its config as it is unpacked.
//! Nothing reaches the store unless all of that succeeds.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File};
use std::io::{self, BufReader};
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::reference::ImageRef;
use super::store::{
    Descriptor, Ingest, MT_OCI_CONFIG, MT_OCI_MANIFEST, Manifest, NewEntry, Parsed, REF_NAME_ANNOTATION,
    parse_manifest, pick_platform, write_atomic,
};
use super::unpack::{Compression, HashingReader, decompress, unpack_layer};
use super::{ImageError, ImageStore};
use crate::runtime::images::store::NAME_ANNOTATION;

/// An image an import brought in.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Imported {
    /// Full reference, or None for an image the archive gives no name.
    pub reference: Option<String>,
    pub id: String,
    pub digest: String,
}

/// The files of an archive: path → digest of its content (the content is an ingest blob).
struct Files {
    by_path: HashMap<String, String>,
    links: HashMap<String, String>,
}

impl Files {
    fn get(&self, path: &str) -> Option<&String> {
        let mut p = normalise(path)?;
        for _ in 0..16 {
            if let Some(d) = self.by_path.get(&p) {
                return Some(d);
            }
            p = self.links.get(&p)?.clone();
        }
        None
    }
}

/// `./a/b` → `a/b`; None for names that climb out.
fn normalise(path: &str) -> Option<String> {
    let mut out: Vec<&str> = Vec::new();
    for c in Path::new(path).components() {
        match c {
            Component::Normal(s) => out.push(s.to_str()?),
            Component::ParentDir => {
                out.pop()?;
            }
            _ => {}
        }
    }
    Some(out.join("/"))
}

/// One image found in an archive, ready to be stored.
struct Found {
    name: Option<String>,
    target: Descriptor,
    manifest_digest: String,
    config_digest: String,
    layers: Vec<String>,
    diff_ids: Vec<String>,
}

pub(crate) fn import_archive(images: &ImageStore, archive: &Path) -> Result<Vec<Imported>, ImageError> {
    let label = archive.display().to_string();
    import_inner(images, archive, &label).map_err(|e| match e {
        ImageError::Archive { .. } => e,
        other => ImageError::Archive { archive: label.clone(), reason: other.to_string() },
    })
}

fn corrupt(e: impl std::fmt::Display) -> String {
    format!("the archive is corrupt or truncated ({e}): build or download it again")
}

fn import_inner(images: &ImageStore, archive: &Path, label: &str) -> Result<Vec<Imported>, ImageError> {
    let bad = |reason: String| ImageError::Archive { archive: label.to_string(), reason };
    let file = File::open(archive).map_err(|e| bad(format!("cannot open it: {e}")))?;
    let mut ingest = images.store().begin()?;

    let files = read_files(&mut ingest, file).map_err(|e| match e {
        ImageError::Read(reason) => bad(corrupt(reason)),
        other => other,
    })?;
    let found = if files.get("index.json").is_some() {
        oci_images(&ingest, &files)?
    } else if files.get("manifest.json").is_some() {
        docker_images(&mut ingest, &files)?
    } else {
        return Err(bad(
            "neither a docker-save archive (no manifest.json) nor an OCI image layout (no index.json)".into()
        ));
    };
    if found.is_empty() {
        return Err(bad("the archive holds no image".into()));
    }

    let mut entries = Vec::new();
    let mut out = Vec::new();
    for f in &found {
        let image = f.name.clone().unwrap_or_else(|| f.config_digest.clone());
        unpack_layers(&mut ingest, &image, &f.layers, &f.diff_ids)?;
        let mut blobs = vec![f.target.digest.clone(), f.manifest_digest.clone(), f.config_digest.clone()];
        blobs.extend(f.layers.iter().cloned());
        entries.push(NewEntry {
            name: f.name.clone(),
            target: f.target.clone(),
            manifest_digest: f.manifest_digest.clone(),
            image_id: f.config_digest.clone(),
            blobs,
            diff_ids: f.diff_ids.clone(),
        });
        out.push(Imported { reference: f.name.clone(), id: f.config_digest.clone(), digest: f.target.digest.clone() });
    }
    ingest.commit(&entries)?;
    for i in &out {
        tracing::info!(archive = %label, image = i.reference.as_deref().unwrap_or(&i.id), id = %i.id, "imported");
    }
    Ok(out)
}

/// Read every file of the archive into the work dir as a blob.
fn read_files(ingest: &mut Ingest, file: File) -> Result<Files, ImageError> {
    let reader = decompress(BufReader::with_capacity(256 * 1024, file)).map_err(|e| ImageError::Read(e.to_string()))?;
    let mut tar = tar::Archive::new(reader);
    let mut files = Files { by_path: HashMap::new(), links: HashMap::new() };
    let entries = tar.entries().map_err(|e| ImageError::Read(e.to_string()))?;
    for entry in entries {
        let entry = entry.map_err(|e| ImageError::Read(e.to_string()))?;
        let path = entry.path().map_err(|e| ImageError::Read(e.to_string()))?.to_string_lossy().into_owned();
        let Some(path) = normalise(&path) else { continue };
        match entry.header().entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let (digest, _) = ingest.write_blob(&path, entry, None)?;
                files.by_path.insert(path, digest);
            }
            tar::EntryType::Symlink | tar::EntryType::Link => {
                let target = entry
                    .link_name()
                    .map_err(|e| ImageError::Read(e.to_string()))?
                    .map(|t| t.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let base = if entry.header().entry_type() == tar::EntryType::Symlink {
                    Path::new(&path).parent().map(|p| p.join(&target)).unwrap_or_else(|| PathBuf::from(&target))
                } else {
                    PathBuf::from(&target)
                };
                if let Some(t) = normalise(&base.to_string_lossy()) {
                    files.links.insert(path, t);
                }
            }
            _ => {}
        }
    }
    let mut rest = tar.into_inner();
    io::copy(&mut rest, &mut io::sink()).map_err(|e| ImageError::Read(e.to_string()))?;
    Ok(files)
}

/// The images of an OCI image layout.
fn oci_images(ingest: &Ingest, files: &Files) -> Result<Vec<Found>, ImageError> {
    let read = |path: &str| -> Result<Vec<u8>, ImageError> {
        let digest = files.get(path).ok_or_else(|| ImageError::Invalid(format!("{path} is missing")))?;
        ingest.read_blob(digest)
    };
    // A blob of the layout: present, and its content has the digest its name says.
    let blob = |digest: &str| -> Result<(), ImageError> {
        let (alg, hex) = digest.split_once(':').ok_or_else(|| ImageError::Invalid(format!("bad digest {digest}")))?;
        let path = format!("blobs/{alg}/{hex}");
        match files.get(&path) {
            None => Err(ImageError::Invalid(format!("{path} is missing: the archive is incomplete, build it again"))),
            Some(actual) if actual != digest => {
                Err(ImageError::DigestMismatch { what: path, expected: digest.to_string(), actual: actual.clone() })
            }
            Some(_) => Ok(()),
        }
    };
    let index: super::store::Index = serde_json::from_slice(&read("index.json")?)
        .map_err(|e| ImageError::Invalid(format!("index.json is not an image index: {e}")))?;
    let mut out = Vec::new();
    for d in &index.manifests {
        blob(&d.digest)?;
        let name = entry_name(d);
        let shown = name.clone().unwrap_or_else(|| d.digest.clone());
        let bytes = ingest.read_blob(&d.digest)?;
        let (manifest_desc, manifest) = match parse_manifest(&bytes)
            .map_err(|e| ImageError::Invalid(format!("{shown}: {e}")))?
        {
            Parsed::Manifest(m) => (d.clone(), m),
            Parsed::Index(idx) => {
                let chosen = pick_platform(&idx).map_err(|platforms| {
                    ImageError::Invalid(format!(
                        "{shown}: no linux/{} image in its index (it has {})",
                        super::store::this_arch(),
                        platforms.join(", ")
                    ))
                })?;
                blob(&chosen.digest)?;
                match parse_manifest(&ingest.read_blob(&chosen.digest)?)
                    .map_err(|e| ImageError::Invalid(format!("{shown}: {e}")))?
                {
                    Parsed::Manifest(m) => (chosen.clone(), m),
                    Parsed::Index(_) => {
                        return Err(ImageError::Invalid(format!("{shown}: nested image indexes are not supported")));
                    }
                }
            }
        };
        blob(&manifest.config.digest)?;
        for l in &manifest.layers {
            blob(&l.digest)?;
        }
        let config = ingest.read_blob(&manifest.config.digest)?;
        let diff_ids = diff_ids_of(&config, manifest.layers.len(), &shown)?;
        out.push(Found {
            name,
            target: Descriptor { annotations: None, platform: None, ..d.clone() },
            manifest_digest: manifest_desc.digest.clone(),
            config_digest: manifest.config.digest.clone(),
            layers: manifest.layers.iter().map(|l| l.digest.clone()).collect(),
            diff_ids,
        });
    }
    Ok(out)
}

/// The name an OCI layout gives an entry: containerd's full name, or `ref.name` when that is a
/// full reference (a bare tag names nothing).
fn entry_name(d: &Descriptor) -> Option<String> {
    if let Some(n) = d.annotation(NAME_ANNOTATION)
        && let Ok(r) = ImageRef::parse(n)
    {
        return Some(r.to_string());
    }
    let r = d.annotation(REF_NAME_ANNOTATION)?;
    if r.contains('/') || r.contains(':') || r.contains('@') {
        ImageRef::parse(r).ok().map(|r| r.to_string())
    } else {
        None
    }
}

fn diff_ids_of(config: &[u8], layers: usize, shown: &str) -> Result<Vec<String>, ImageError> {
    let cfg: oci_spec::image::ImageConfiguration =
        serde_json::from_slice(config).map_err(|e| ImageError::Invalid(format!("{shown}: bad image config: {e}")))?;
    let diff_ids = cfg.rootfs().diff_ids().clone();
    if diff_ids.len() != layers {
        return Err(ImageError::Invalid(format!(
            "{shown}: the config lists {} layers, the manifest {layers}",
            diff_ids.len()
        )));
    }
    for d in &diff_ids {
        super::reference::check_digest(d)?;
    }
    Ok(diff_ids)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    #[serde(default)]
    layers: Vec<String>,
}

/// The images of a `docker save` archive; writes the OCI manifest each one lacks.
fn docker_images(ingest: &mut Ingest, files: &Files) -> Result<Vec<Found>, ImageError> {
    let digest_of = |path: &str| -> Result<String, ImageError> {
        files.get(path).cloned().ok_or_else(|| ImageError::Invalid(format!("{path} is missing from the archive")))
    };
    let entries: Vec<DockerEntry> = serde_json::from_slice(&ingest.read_blob(&digest_of("manifest.json")?)?)
        .map_err(|e| ImageError::Invalid(format!("manifest.json is not a docker-save manifest: {e}")))?;
    let mut out = Vec::new();
    for e in entries {
        let config_digest = digest_of(&e.config)?;
        // Docker names the config after its digest: check it.
        let stem = Path::new(&e.config).file_name().and_then(|s| s.to_str()).unwrap_or("");
        let stem = stem.strip_suffix(".json").unwrap_or(stem);
        if super::reference::is_hex64(stem) && config_digest != format!("sha256:{stem}") {
            return Err(ImageError::DigestMismatch {
                what: e.config.clone(),
                expected: format!("sha256:{stem}"),
                actual: config_digest,
            });
        }
        let names: Vec<String> = e
            .repo_tags
            .unwrap_or_default()
            .iter()
            .map(|t| ImageRef::parse(t).map(|r| r.to_string()))
            .collect::<Result<_, _>>()?;
        let shown = names.first().cloned().unwrap_or_else(|| config_digest.clone());
        let config = ingest.read_blob(&config_digest)?;
        let diff_ids = diff_ids_of(&config, e.layers.len(), &shown)?;
        let mut layer_descs = Vec::new();
        for l in &e.layers {
            let digest = digest_of(l)?;
            let path = ingest.blob_path(&digest).expect("archive files are blobs");
            let mut magic = [0u8; 4];
            let n = {
                use std::io::Read;
                let mut f = File::open(&path).map_err(|e| ImageError::io(&path, e))?;
                f.read(&mut magic).map_err(|e| ImageError::io(&path, e))?
            };
            let size = fs::metadata(&path).map_err(|e| ImageError::io(&path, e))?.len();
            layer_descs.push(Descriptor {
                media_type: Compression::detect(&magic[..n]).layer_media_type().to_string(),
                digest,
                size,
                platform: None,
                annotations: None,
            });
        }
        let manifest = Manifest {
            schema_version: 2,
            media_type: Some(MT_OCI_MANIFEST.to_string()),
            config: Descriptor {
                media_type: MT_OCI_CONFIG.to_string(),
                digest: config_digest.clone(),
                size: config.len() as u64,
                platform: None,
                annotations: None,
            },
            layers: layer_descs.clone(),
            annotations: None,
        };
        let bytes = serde_json::to_vec(&manifest).expect("manifest serializes");
        let manifest_digest = ingest.write_blob_bytes(&bytes)?;
        let target = Descriptor {
            media_type: MT_OCI_MANIFEST.to_string(),
            digest: manifest_digest.clone(),
            size: bytes.len() as u64,
            platform: None,
            annotations: None,
        };
        let layers: Vec<String> = layer_descs.iter().map(|l| l.digest.clone()).collect();
        if names.is_empty() {
            out.push(Found {
                name: None,
                target: target.clone(),
                manifest_digest: manifest_digest.clone(),
                config_digest: config_digest.clone(),
                layers: layers.clone(),
                diff_ids: diff_ids.clone(),
            });
        }
        for n in names {
            out.push(Found {
                name: Some(n),
                target: target.clone(),
                manifest_digest: manifest_digest.clone(),
                config_digest: config_digest.clone(),
                layers: layers.clone(),
                diff_ids: diff_ids.clone(),
            });
        }
    }
    Ok(out)
}

/// Unpack the layers that have no snapshot yet, checking each against its diff id.
pub(crate) fn unpack_layers(
    ingest: &mut Ingest,
    image: &str,
    layers: &[String],
    diff_ids: &[String],
) -> Result<(), ImageError> {
    for (blob, diff_id) in layers.iter().zip(diff_ids) {
        unpack_one(ingest, image, blob, diff_id)?;
    }
    Ok(())
}

pub(crate) fn unpack_one(ingest: &mut Ingest, image: &str, blob: &str, diff_id: &str) -> Result<(), ImageError> {
    let path =
        ingest.blob_path(blob).ok_or_else(|| ImageError::Invalid(format!("{image}: layer {blob} is missing")))?;
    if ingest.has_snapshot(diff_id) {
        // No need to unpack it again, but a layer new to the store must still be what the config says.
        if ingest.is_new_blob(blob) {
            let file = File::open(&path).map_err(|e| ImageError::io(&path, e))?;
            let mut reader = HashingReader::new(decompress(file).map_err(|e| ImageError::Read(e.to_string()))?);
            io::copy(&mut reader, &mut io::sink()).map_err(|e| ImageError::Unpack {
                image: image.to_string(),
                layer: blob.to_string(),
                source: super::unpack::UnpackError::Read(e),
            })?;
            let (actual, _) = reader.finish();
            if actual != diff_id {
                return Err(ImageError::DigestMismatch {
                    what: format!("{image}: layer {blob}"),
                    expected: diff_id.to_string(),
                    actual,
                });
            }
        }
        return Ok(());
    }
    let file = File::open(&path).map_err(|e| ImageError::io(&path, e))?;
    let dest = ingest.new_snapshot(diff_id)?;
    let started = std::time::Instant::now();
    let unpacked = unpack_layer(file, &dest).map_err(|source| ImageError::Unpack {
        image: image.to_string(),
        layer: blob.to_string(),
        source,
    })?;
    if unpacked.diff_id != diff_id {
        return Err(ImageError::DigestMismatch {
            what: format!("{image}: layer {blob}"),
            expected: diff_id.to_string(),
            actual: unpacked.diff_id,
        });
    }
    tracing::debug!(image, layer = %blob, entries = unpacked.entries, ms = started.elapsed().as_millis() as u64, "unpacked");
    ingest.add_snapshot(diff_id, &dest);
    Ok(())
}

/// What an airgap import did.
#[derive(Debug, Default)]
pub struct AirgapReport {
    pub imported: Vec<Imported>,
    /// Tarballs already imported and unchanged.
    pub unchanged: usize,
    /// Tarballs that failed, with the error.
    pub failed: Vec<(PathBuf, String)>,
}

#[derive(Serialize, Deserialize, Default)]
struct AirgapState {
    files: BTreeMap<String, AirgapFile>,
}

#[derive(Serialize, Deserialize, Clone, PartialEq, Eq)]
struct AirgapFile {
    size: u64,
    mtime_ns: i128,
    inode: u64,
    images: Vec<Imported>,
}

/// Is this a tarball name the airgap folder takes?
pub fn is_airgap_tarball(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    !name.starts_with('.')
        && [".tar", ".tar.gz", ".tgz", ".tar.zst", ".tar.zstd", ".tzst"].iter().any(|ext| name.ends_with(ext))
}

pub(crate) fn import_airgap(images: &ImageStore) -> AirgapReport {
    let dir = images.paths().airgap_images();
    let mut report = AirgapReport::default();
    let Ok(rd) = fs::read_dir(&dir) else { return report };
    let mut tarballs: Vec<PathBuf> = rd.flatten().map(|e| e.path()).filter(|p| is_airgap_tarball(p)).collect();
    tarballs.sort();
    if tarballs.is_empty() {
        return report;
    }
    let state_path = images.store().content.join("airgap.json");
    let mut state: AirgapState =
        fs::read(&state_path).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
    let index = images.store().read_index().unwrap_or_default();
    let present = |i: &Imported| {
        index.manifests.iter().any(|d| d.image_id() == Some(&i.id) && d.name() == i.reference.as_deref())
    };
    for path in tarballs {
        let key = path.display().to_string();
        let Ok(meta) = fs::metadata(&path) else { continue };
        let mtime_ns = meta.mtime() as i128 * 1_000_000_000 + meta.mtime_nsec() as i128;
        if let Some(prev) = state.files.get(&key)
            && prev.size == meta.len()
            && prev.mtime_ns == mtime_ns
            && prev.inode == meta.ino()
            && prev.images.iter().all(present)
        {
            report.unchanged += 1;
            continue;
        }
        match import_archive(images, &path) {
            Ok(imported) => {
                state.files.insert(
                    key,
                    AirgapFile { size: meta.len(), mtime_ns, inode: meta.ino(), images: imported.clone() },
                );
                report.imported.extend(imported);
            }
            Err(e) => {
                tracing::warn!(archive = %path.display(), error = %e, "airgap image not imported");
                report.failed.push((path, e.to_string()));
            }
        }
    }
    state.files.retain(|k, _| Path::new(k).exists());
    if let Err(e) = write_atomic(&state_path, &serde_json::to_vec_pretty(&state).expect("state serializes")) {
        tracing::warn!(error = %e, "could not record the airgap import");
    }
    report
}
