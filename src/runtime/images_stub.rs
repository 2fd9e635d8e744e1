//! TEMPORARY stand-in for `crate::runtime::images` (the images helper's branch), with exactly
//! the interface agreed in RUNTIME.md, so the container side can be built and tested before the
//! merge. Images here are plain directories: `<content>/stub-images/<escaped reference>/image.json`
//! naming an OCI image config and unpacked layer dirs. Only the CLI (`coracle ctr`), the e2e tests
//! and the runtime bench use it; the container manager takes an [`Image`] value and never looks here.
//!
//! At merge time: delete this file, `pub mod images_stub;` in `src/runtime/mod.rs`, and switch the
//! `use crate::runtime::images_stub as images;` lines to `use crate::runtime::images;`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::paths::RuntimePaths;

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// Reading or writing the store failed.
    #[error("image store {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// A stored record could not be decoded.
    #[error("image store {path}: {message}")]
    Corrupt { path: PathBuf, message: String },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ImageError + '_ {
    move |source| ImageError::Io { path: path.to_path_buf(), source }
}

/// What the container side needs from an image.
#[derive(Clone, Debug)]
pub struct Image {
    pub reference: String,
    pub id: String,
    pub manifest_digest: String,
    pub config: oci_spec::image::ImageConfiguration,
    pub layers: Vec<PathBuf>,
}

/// The stand-in store.
pub struct ImageStore {
    root: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct Record {
    reference: String,
    id: String,
    manifest_digest: String,
    config: oci_spec::image::ImageConfiguration,
    layers: Vec<PathBuf>,
}

/// `busybox` → `docker.io/library/busybox:latest`, as the images side normalises.
pub fn normalise(reference: &str) -> String {
    let (name, suffix) = match reference.find('@') {
        Some(i) => (&reference[..i], reference[i..].to_string()),
        None => {
            let last_slash = reference.rfind('/').map(|i| i + 1).unwrap_or(0);
            match reference[last_slash..].find(':') {
                Some(i) => (&reference[..last_slash + i], reference[last_slash + i..].to_string()),
                None => (reference, ":latest".to_string()),
            }
        }
    };
    let first = name.split('/').next().unwrap_or("");
    let has_host = name.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    let full = if has_host {
        name.to_string()
    } else if name.contains('/') {
        format!("docker.io/{name}")
    } else {
        format!("docker.io/library/{name}")
    };
    format!("{full}{suffix}")
}

fn escape(reference: &str) -> String {
    reference.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' }).collect()
}

impl ImageStore {
    pub fn open(paths: &RuntimePaths) -> Result<ImageStore, ImageError> {
        let root = paths.content().join("stub-images");
        std::fs::create_dir_all(&root).map_err(io(&root))?;
        Ok(ImageStore { root })
    }

    /// An image by reference, full or short image id; None if not present locally.
    pub fn resolve(&self, reference: &str) -> Result<Option<Image>, ImageError> {
        let wanted = normalise(reference);
        let id_query = reference.strip_prefix("sha256:").unwrap_or(reference);
        let entries = std::fs::read_dir(&self.root).map_err(io(&self.root))?;
        for entry in entries {
            let entry = entry.map_err(io(&self.root))?;
            let file = entry.path().join("image.json");
            let Ok(bytes) = std::fs::read(&file) else { continue };
            let rec: Record = serde_json::from_slice(&bytes)
                .map_err(|e| ImageError::Corrupt { path: file.clone(), message: e.to_string() })?;
            let hex = rec.id.strip_prefix("sha256:").unwrap_or(&rec.id);
            let by_id = id_query.len() >= 6 && hex.starts_with(id_query);
            if rec.reference == wanted || by_id {
                let layers = rec.layers.iter().map(|l| entry.path().join(l)).collect();
                return Ok(Some(Image {
                    reference: rec.reference,
                    id: rec.id,
                    manifest_digest: rec.manifest_digest,
                    config: rec.config,
                    layers,
                }));
            }
        }
        Ok(None)
    }

    /// Register a directory image: `layers` are directories (lowest first) that are moved into the store.
    pub fn install(
        &self,
        reference: &str,
        config: oci_spec::image::ImageConfiguration,
        layers: Vec<PathBuf>,
    ) -> Result<Image, ImageError> {
        let reference = normalise(reference);
        let dir = self.root.join(escape(&reference));
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(io(&dir))?;
        }
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let config_json =
            config.to_string().map_err(|e| ImageError::Corrupt { path: dir.clone(), message: e.to_string() })?;
        let id = format!("sha256:{:x}", Sha256::digest(config_json.as_bytes()));
        let manifest_digest = format!("sha256:{:x}", Sha256::digest(format!("manifest {id}").as_bytes()));
        let mut names = Vec::new();
        for (i, layer) in layers.iter().enumerate() {
            let name = PathBuf::from(format!("layer{i}"));
            std::fs::rename(layer, dir.join(&name)).map_err(io(layer))?;
            names.push(name);
        }
        let rec = Record { reference, id, manifest_digest, config, layers: names };
        let file = dir.join("image.json");
        std::fs::write(&file, serde_json::to_vec_pretty(&rec).expect("serialise")).map_err(io(&file))?;
        Ok(self.resolve(&rec.reference)?.expect("just installed"))
    }
}

/// Build `docker.io/library/busybox:latest` from the host's busybox-static (`/bin/busybox`) as two
/// layers: the binary with its applet links, then `/etc` (passwd, group) and a few directories.
/// Users: root (0), daemon (1), www-data (33), nobody (65534); groups likewise plus `staff` (50)
/// with member www-data.
pub fn install_busybox(paths: &RuntimePaths) -> Result<Image, ImageError> {
    let store = ImageStore::open(paths)?;
    let tmp = paths.content().join(format!("stub-tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let bin_layer = tmp.join("bin");
    let etc_layer = tmp.join("etc");
    let bin = bin_layer.join("bin");
    std::fs::create_dir_all(&bin).map_err(io(&bin))?;
    let busybox = Path::new("/bin/busybox");
    std::fs::copy(busybox, bin.join("busybox")).map_err(io(busybox))?;
    let list = std::process::Command::new(busybox).arg("--list").output().map_err(io(busybox))?;
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        let applet = applet.trim();
        if applet.is_empty() || applet == "busybox" {
            continue;
        }
        let link = bin.join(applet);
        std::os::unix::fs::symlink("busybox", &link).map_err(io(&link))?;
    }
    let etc = etc_layer.join("etc");
    for d in ["etc", "tmp", "root", "home", "var/www", "proc", "sys", "dev"] {
        let p = etc_layer.join(d);
        std::fs::create_dir_all(&p).map_err(io(&p))?;
    }
    use std::os::unix::fs::PermissionsExt;
    let tmpdir = etc_layer.join("tmp");
    std::fs::set_permissions(&tmpdir, std::fs::Permissions::from_mode(0o1777)).map_err(io(&tmpdir))?;
    let passwd = "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\n\
                  www-data:x:33:33:www-data:/var/www:/bin/false\nnobody:x:65534:65534:nobody:/home:/bin/false\n";
    let group = "root:x:0:\ndaemon:x:1:\nwww-data:x:33:\nstaff:x:50:www-data\nnogroup:x:65534:\n";
    for (name, text) in [("passwd", passwd), ("group", group)] {
        let p = etc.join(name);
        std::fs::write(&p, text).map_err(io(&p))?;
    }
    let config: oci_spec::image::ImageConfiguration = serde_json::from_value(serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": ["sh"]
        },
        "rootfs": {"type": "layers", "diff_ids": []},
        "history": []
    }))
    .map_err(|e| ImageError::Corrupt { path: tmp.clone(), message: e.to_string() })?;
    let image = store.install("busybox", config, vec![bin_layer, etc_layer]);
    let _ = std::fs::remove_dir_all(&tmp);
    image
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_like_docker() {
        assert_eq!(normalise("busybox"), "docker.io/library/busybox:latest");
        assert_eq!(normalise("busybox:1.36"), "docker.io/library/busybox:1.36");
        assert_eq!(normalise("me/app"), "docker.io/me/app:latest");
        assert_eq!(normalise("127.0.0.1:5000/busybox:1.36"), "127.0.0.1:5000/busybox:1.36");
        assert_eq!(normalise("localhost/x"), "localhost/x:latest");
        assert_eq!(normalise("docker.io/library/busybox:latest"), "docker.io/library/busybox:latest");
    }
}
