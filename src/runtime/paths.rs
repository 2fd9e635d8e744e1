//! Where the runtime keeps things, all derived from the data dir.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The runtime's folders for one data dir.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuntimePaths {
    pub data_dir: PathBuf,
    /// Short tag of the data dir, for host-level names (run dir, cgroup parent, sockets).
    pub instance: String,
}

impl RuntimePaths {
    pub fn new(data_dir: &Path) -> RuntimePaths {
        let abs = std::path::absolute(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
        let digest = Sha256::digest(abs.as_os_str().as_encoded_bytes());
        let instance: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
        RuntimePaths { data_dir: abs, instance }
    }

    /// `<data-dir>/agent`
    pub fn agent(&self) -> PathBuf {
        self.data_dir.join("agent")
    }
    /// Blobs by digest and the index of image names: `<data-dir>/agent/content`.
    pub fn content(&self) -> PathBuf {
        self.agent().join("content")
    }
    /// Unpacked layers: `<data-dir>/agent/snapshots`.
    pub fn snapshots(&self) -> PathBuf {
        self.agent().join("snapshots")
    }
    /// The airgap drop folder, imported at start: `<data-dir>/agent/images`.
    pub fn airgap_images(&self) -> PathBuf {
        self.agent().join("images")
    }
    /// Per-container bundles (spec, rootfs upper dir, logs, image reference): `<data-dir>/agent/containers`.
    pub fn containers(&self) -> PathBuf {
        self.agent().join("containers")
    }
    /// Volatile state (libcontainer state, shim sockets): `/run/coracle/<instance>`; gone on reboot
    /// like the containers themselves.
    pub fn run_dir(&self) -> PathBuf {
        PathBuf::from("/run/coracle").join(&self.instance)
    }
    /// The cgroup parent of this instance's containers.
    pub fn cgroup_parent(&self) -> String {
        format!("coracle-{}", self.instance)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_from_the_data_dir() {
        let a = RuntimePaths::new(Path::new("/var/lib/coracle"));
        let b = RuntimePaths::new(Path::new("/tmp/other"));
        assert_ne!(a.instance, b.instance);
        assert_eq!(a.content(), Path::new("/var/lib/coracle/agent/content"));
        assert!(a.run_dir().starts_with("/run/coracle"));
        assert_eq!(a, RuntimePaths::new(Path::new("/var/lib/coracle")));
    }
}
