//! What the runtime and pod benchmarks share: the test image, percentiles, process memory.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The busybox archive of `scripts/build-test-images` (built into `target/test-images` if needed).
pub fn busybox_archive() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = root.join("target/test-images");
    let st = Command::new(root.join("scripts/build-test-images")).arg(&out).status().expect("build-test-images");
    assert!(st.success(), "scripts/build-test-images failed");
    out.join("busybox-oci.tar")
}

/// The `p` quantile (0..=1) of sorted samples.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// `VmRSS` and PSS (shared pages divided among their users) of a process, in KiB.
pub fn memory_kib(pid: i32) -> (u64, u64) {
    let field = |text: &str, key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    (field(&status, "VmRSS:"), field(&rollup, "Pss:"))
}
