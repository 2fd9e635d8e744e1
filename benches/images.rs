//! Image benchmark: the busybox test image (scripts/build-test-images) through the library,
//! optimised build. Prints p50/p99 over `BENCH_RUNS` runs (default 20; 3 under `cargo test`) of
//! - import of the OCI archive into an empty store (read, verify, unpack, commit),
//! - import of the docker-save archive (uncompressed layers),
//! - import again into a store that has the image (nothing to unpack),
//! - unpack alone of each layer (gzip base layer of ~2 MB with 270 symlinks; zstd etc layer),
//! - resolve() of the image (what the container side calls before each run),
//! - rm of the image (freeing its blobs and snapshots).
//!
//! Run with `cargo bench --bench images` (scripts/bench-runtime runs it with the others).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use coracle::runtime::images::ImageStore;
use coracle::runtime::images::unpack::unpack_layer;
use coracle::runtime::paths::RuntimePaths;

fn test_images() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = root.join("target/test-images");
    let st = std::process::Command::new(root.join("scripts/build-test-images"))
        .arg(&out)
        .status()
        .expect("build-test-images");
    assert!(st.success(), "scripts/build-test-images failed");
    out
}

struct Stats(Vec<Duration>);

impl Stats {
    fn pct(&self, p: f64) -> Duration {
        let mut v = self.0.clone();
        v.sort();
        v[((v.len() as f64 - 1.0) * p).round() as usize]
    }
    fn print(&self, what: &str) {
        println!(
            "{what:<46} p50 {:>8.2} ms   p99 {:>8.2} ms   ({} runs)",
            self.pct(0.5).as_secs_f64() * 1e3,
            self.pct(0.99).as_secs_f64() * 1e3,
            self.0.len()
        );
    }
}

fn time<T>(runs: usize, mut setup: impl FnMut() -> T, mut f: impl FnMut(&T)) -> Stats {
    let mut out = Vec::with_capacity(runs);
    for _ in 0..runs {
        let s = setup();
        let t = Instant::now();
        f(&s);
        out.push(t.elapsed());
    }
    Stats(out)
}

fn fresh_store() -> (tempfile::TempDir, ImageStore) {
    let dir = tempfile::tempdir_in(std::env::var("BENCH_DIR").unwrap_or_else(|_| "/var/tmp".into())).unwrap();
    let store = ImageStore::open(&RuntimePaths::new(&dir.path().join("data"))).unwrap();
    (dir, store)
}

fn main() {
    // `cargo bench` passes --bench; under `cargo test --all-targets` this is a quick smoke run.
    let default_runs = if std::env::args().any(|a| a == "--bench") { 20 } else { 3 };
    let runs: usize = std::env::var("BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(default_runs);
    let dir = test_images();
    let oci = dir.join("busybox-oci.tar");
    let docker = dir.join("busybox-docker.tar");
    let facts: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("images.json")).unwrap()).unwrap();
    println!("busybox test image: {} layers, OCI archive {} bytes", 2, std::fs::metadata(&oci).unwrap().len());

    time(runs, fresh_store, |(_, s)| {
        s.import(&oci).unwrap();
    })
    .print("import OCI archive (empty store)");
    time(runs, fresh_store, |(_, s)| {
        s.import(&docker).unwrap();
    })
    .print("import docker-save archive (empty store)");
    time(
        runs,
        || {
            let (d, s) = fresh_store();
            s.import(&oci).unwrap();
            (d, s)
        },
        |(_, s)| {
            s.import(&oci).unwrap();
        },
    )
    .print("import OCI archive again (already there)");

    // Unpack alone, from the blobs of an imported store.
    let (_keep, store) = fresh_store();
    store.import(&oci).unwrap();
    let image = store.get("busybox").unwrap();
    let manifest: serde_json::Value =
        serde_json::from_str(&store.inspect("busybox").unwrap()["manifest"].to_string()).unwrap();
    for (i, layer) in manifest["layers"].as_array().unwrap().iter().enumerate() {
        let digest = layer["digest"].as_str().unwrap();
        let blob = store.paths().content().join("blobs/sha256").join(&digest[7..]);
        let kind = layer["mediaType"].as_str().unwrap().rsplit('+').next().unwrap().to_string();
        time(
            runs,
            || tempfile::tempdir_in("/var/tmp").unwrap(),
            |d| {
                let u = unpack_layer(std::fs::File::open(&blob).unwrap(), d.path()).unwrap();
                assert_eq!(u.diff_id, facts["diff_ids"][i].as_str().unwrap());
            },
        )
        .print(&format!("unpack layer {i} ({kind}, {} bytes)", layer["size"]));
    }
    time(
        runs * 10,
        || (),
        |_| {
            assert_eq!(store.resolve("busybox").unwrap().unwrap().id, image.id);
        },
    )
    .print("resolve(\"busybox\")");
    time(
        runs,
        || {
            let (d, s) = fresh_store();
            s.import(&oci).unwrap();
            (d, s)
        },
        |(_, s)| {
            s.remove(&["busybox".to_string()]).unwrap();
        },
    )
    .print("rm busybox (frees blobs and snapshots)");
}
