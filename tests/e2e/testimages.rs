//! The test images of `scripts/build-test-images` (busybox from Debian's busybox-static),
//! built once per test run into `target/test-images` (the script is quick when they are there).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The folder of the built archives.
pub fn dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let out = root.join("target/test-images");
        let res =
            Command::new(root.join("scripts/build-test-images")).arg(&out).output().expect("run build-test-images");
        assert!(res.status.success(), "scripts/build-test-images failed: {}", String::from_utf8_lossy(&res.stderr));
        out
    })
}

/// One archive, e.g. `busybox-oci.tar` (see the script for the list).
pub fn archive(name: &str) -> PathBuf {
    let p = dir().join(name);
    assert!(p.exists(), "no test image {name} in {}", dir().display());
    p
}

/// What the script built: `id`, `diff_ids`, `oci_manifest_digest`, `multiarch.index_digest`, …
pub fn facts() -> serde_json::Value {
    let bytes = std::fs::read(dir().join("images.json")).expect("images.json");
    serde_json::from_slice(&bytes).expect("images.json is JSON")
}

/// Import `docker.io/library/busybox:latest` into a data dir (for tests of other areas).
#[allow(dead_code)]
pub fn import_busybox(data_dir: &Path) {
    let out = Command::new(env!("CARGO_BIN_EXE_coracle"))
        .args(["images", "import", "--data-dir"])
        .arg(data_dir)
        .arg(archive("busybox-oci.tar"))
        .output()
        .expect("run coracle");
    assert!(out.status.success(), "import busybox: {}", String::from_utf8_lossy(&out.stderr));
}
