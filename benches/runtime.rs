//! Container runtime figures (run as root): the time to run `busybox true` from a warm image,
//! through the library (create, start, wait, remove) and through `coracle ctr run --rm`, as
//! p50/p99 over 50 runs each; and the memory of one idle shim.
//!
//! `BENCH_RUNS=N` changes the number of runs; under `cargo test --all-targets` (no `--bench`)
//! this is a quick smoke run of 3. Run with `cargo bench --bench runtime` or `scripts/bench-runtime`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use coracle::runtime::container::{ContainerRequest, Manager};
use coracle::runtime::images::ImageStore;
use coracle::runtime::paths::RuntimePaths;

mod common;
use common::{busybox_archive, memory_kib, percentile};

const BIN: &str = env!("CARGO_BIN_EXE_coracle");

fn report(what: &str, mut times: Vec<Duration>) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{what:<44} p50 {:>7.1} ms   p99 {:>7.1} ms   min {:>7.1} ms   (n={})",
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.99)),
        ms(times[0]),
        times.len()
    );
}

/// Removes every container of the data dir, even when the bench fails half-way.
struct Cleanup<'a>(&'a Manager);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        if let Ok(list) = self.0.list() {
            for c in list {
                let _ = self.0.remove(&c.id, true);
            }
        }
    }
}

fn main() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("bench runtime: needs root (namespaces, cgroups, mounts)");
        std::process::exit(1);
    }
    // `cargo bench` passes --bench; under `cargo test --all-targets` this is a quick smoke run.
    let default_runs = if std::env::args().any(|a| a == "--bench") { 50 } else { 3 };
    let runs: usize = std::env::var("BENCH_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(default_runs);
    let dir = tempfile::Builder::new().prefix("coracle-bench-").tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let paths = RuntimePaths::new(&data);
    let store = ImageStore::open(&paths).expect("image store");
    store.import(&busybox_archive()).expect("import busybox");
    let image = store.get("busybox").expect("busybox image");
    let manager = Manager::new(&paths).with_shim_binary(BIN);
    let _cleanup = Cleanup(&manager);

    println!("coracle container runtime ({} runs; {})", runs, std::env::consts::ARCH);

    // Warm up: page cache, cgroup parents.
    let req =
        |name: &str| ContainerRequest { name: name.to_string(), command: vec!["true".into()], ..Default::default() };
    for i in 0..3 {
        let id = manager.run(&image, &req(&format!("warm{i}"))).expect("run");
        manager.wait(&id, Some(Duration::from_secs(30))).expect("wait");
        manager.remove(&id, true).expect("remove");
    }

    let mut total = Vec::new();
    let mut create = Vec::new();
    let mut start_to_exit = Vec::new();
    let mut remove = Vec::new();
    for i in 0..runs {
        let t0 = Instant::now();
        let id = manager.create(&image, &req(&format!("lib{i}"))).expect("create");
        let t1 = Instant::now();
        manager.start(&id).expect("start");
        let st = manager.wait(&id, Some(Duration::from_secs(30))).expect("wait").expect("exited");
        assert_eq!(st.exit_code, Some(0));
        let t2 = Instant::now();
        manager.remove(&id, false).expect("remove");
        let t3 = Instant::now();
        create.push(t1 - t0);
        start_to_exit.push(t2 - t1);
        remove.push(t3 - t2);
        total.push(t3 - t0);
    }
    report("library: run `busybox true` (all steps)", total);
    report("  create (mount, spec, shim, libcontainer)", create);
    report("  start until exit recorded", start_to_exit);
    report("  remove", remove);

    let mut cli = Vec::new();
    for i in 0..runs {
        let t = Instant::now();
        let out = Command::new(BIN)
            .args(["ctr", "--data-dir"])
            .arg(&data)
            .args(["run", "--rm", "busybox", &format!("cli{i}"), "--", "true"])
            .output()
            .expect("coracle ctr run");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        cli.push(t.elapsed());
    }
    report("cli: coracle ctr run --rm busybox true", cli);

    // One idle shim.
    let id = manager
        .run(
            &image,
            &ContainerRequest {
                name: "idle".into(),
                command: vec!["sleep".into(), "1000".into()],
                ..Default::default()
            },
        )
        .expect("run idle");
    std::thread::sleep(Duration::from_secs(2));
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(manager.container_dir(&id).join("state.json")).expect("state"))
            .expect("json");
    let shim = state["shimPid"].as_i64().expect("shim pid") as i32;
    let (rss, pss) = memory_kib(shim);
    println!("idle shim memory: RSS {:.1} MiB, PSS {:.1} MiB", rss as f64 / 1024.0, pss as f64 / 1024.0);
    let binary = std::fs::metadata(Path::new(BIN)).map(|m| m.len()).unwrap_or(0);
    println!("  (the shim is a re-exec of the {:.0} MiB coracle binary)", binary as f64 / (1 << 20) as f64);
}
