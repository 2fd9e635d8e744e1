//! API server benchmark: starts the real `coracle server` (optimised build) on a
//! temporary data dir and prints
//! - time from start to `/readyz`,
//! - resident memory when idle (10 s after start),
//! - bytes written to disk per minute while idle,
//! - creates/s of ConfigMaps from 16 concurrent clients,
//! - p50/p99 latency of get, create and list (of 1,000 and 10,000 objects),
//! - latency from a write to its watch event.
//!
//! Run with `scripts/bench-api` (or `cargo bench --bench api`). `BENCH_IDLE_SECS`
//! shortens the idle-disk measurement (default 60).

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, ObjectMeta, PostParams, WatchEvent, WatchParams};

struct Server {
    child: Child,
    _dir: tempfile::TempDir,
    kubeconfig: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn start() -> (Server, Instant) {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let kubeconfig = dir.path().join("kubeconfig.yaml");
    let started = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_coracle"))
        .args(["server", "--disable-agent", "--bind-address", "127.0.0.1", "--https-listen-port"])
        .arg(port.to_string())
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .arg("--write-kubeconfig")
        .arg(&kubeconfig)
        .env("CORACLE_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start coracle");
    (Server { child, _dir: dir, kubeconfig }, started)
}

async fn client(kubeconfig: &std::path::Path) -> kube::Client {
    let kc = kube::config::Kubeconfig::read_from(kubeconfig).unwrap();
    let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default()).await.unwrap();
    kube::Client::try_from(cfg).unwrap()
}

fn proc_field(pid: u32, file: &str, key: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/{file}")).unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next().map(str::to_string))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    let idx = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[idx.min(samples.len() - 1)]
}

fn report(what: &str, samples: &mut [Duration]) {
    let p50 = percentile(samples, 0.50);
    let p99 = percentile(samples, 0.99);
    println!("{what:<32} p50 {:>8.2} ms   p99 {:>8.2} ms   (n={})", ms(p50), ms(p99), samples.len());
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn cm(name: String, size: usize) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta { name: Some(name), ..Default::default() },
        data: Some([("payload".to_string(), "x".repeat(size))].into_iter().collect()),
        ..Default::default()
    }
}

#[tokio::main]
async fn main() {
    let idle_secs: u64 = std::env::var("BENCH_IDLE_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(60);
    let (server, started) = start();
    let pid = server.child.id();
    // Start-up: until /readyz answers.
    let client = loop {
        if server.kubeconfig.exists() {
            let c = client(&server.kubeconfig).await;
            let req = http::Request::get("/readyz").body(Vec::new()).unwrap();
            if c.request_text(req).await.is_ok() {
                break c;
            }
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
        assert!(started.elapsed() < Duration::from_secs(60), "server did not start");
    };
    println!("coracle API benchmark (release build, SQLite, synchronous=FULL)");
    println!("{:<32} {:>8.1} ms", "start to /readyz", ms(started.elapsed()));

    tokio::time::sleep(Duration::from_secs(10).saturating_sub(started.elapsed())).await;
    println!("{:<32} {:>8.1} MiB", "resident memory, idle (10 s)", proc_field(pid, "status", "VmRSS:") as f64 / 1024.0);

    let before = proc_field(pid, "io", "write_bytes:");
    tokio::time::sleep(Duration::from_secs(idle_secs)).await;
    let written = proc_field(pid, "io", "write_bytes:") - before;
    println!(
        "{:<32} {:>8.0} bytes/min (measured over {idle_secs} s)",
        "disk writes while idle",
        written as f64 * 60.0 / idle_secs as f64
    );

    // Throughput: 16 clients creating ConfigMaps.
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let per_client = 250;
    let t = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..16 {
        let api = api.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..per_client {
                api.create(&PostParams::default(), &cm(format!("tp-{c}-{i}"), 100)).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let n = 16 * per_client;
    println!(
        "{:<32} {:>8.0} creates/s ({n} ConfigMaps, 16 clients)",
        "create throughput",
        n as f64 / t.elapsed().as_secs_f64()
    );

    // Latencies of single requests.
    let mut creates = Vec::new();
    for i in 0..500 {
        let t = Instant::now();
        api.create(&PostParams::default(), &cm(format!("lat-{i}"), 100)).await.unwrap();
        creates.push(t.elapsed());
    }
    report("create latency", &mut creates);
    let mut gets = Vec::new();
    for i in 0..1000 {
        let t = Instant::now();
        api.get(&format!("lat-{}", i % 500)).await.unwrap();
        gets.push(t.elapsed());
    }
    report("get latency", &mut gets);

    // Lists of 1,000 and 10,000 objects, each in its own namespace.
    for count in [1_000usize, 10_000] {
        let ns = format!("list-{count}");
        let nsapi: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
        let nsobj = k8s_openapi::api::core::v1::Namespace {
            metadata: ObjectMeta { name: Some(ns.clone()), ..Default::default() },
            ..Default::default()
        };
        nsapi.create(&PostParams::default(), &nsobj).await.unwrap();
        let api: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
        let fill = Arc::new(api.clone());
        futures::stream::iter(0..count)
            .map(|i| {
                let api = fill.clone();
                async move { api.create(&PostParams::default(), &cm(format!("o-{i}"), 100)).await.map(|_| ()) }
            })
            .buffer_unordered(32)
            .try_collect::<Vec<_>>()
            .await
            .unwrap();
        let rounds = if count > 1000 { 10 } else { 30 };
        let mut lists = Vec::new();
        for _ in 0..rounds {
            let t = Instant::now();
            let l = api.list(&ListParams::default()).await.unwrap();
            lists.push(t.elapsed());
            // The namespace also holds kube-root-ca.crt, published by a controller.
            let ours =
                l.items.iter().filter(|c| c.metadata.name.as_deref().is_some_and(|n| n.starts_with("o-"))).count();
            assert_eq!(ours, count);
        }
        report(&format!("list latency ({count} objects)"), &mut lists);
    }

    // Write-to-watch-event latency.
    let watch_api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let rv = watch_api.list(&ListParams::default().limit(1)).await.unwrap().metadata.resource_version.unwrap();
    let mut stream = watch_api.watch(&WatchParams::default(), &rv).await.unwrap().boxed();
    let mut lat = Vec::new();
    for i in 0..300 {
        let name = format!("w-{i}");
        let t = Instant::now();
        api.create(&PostParams::default(), &cm(name.clone(), 100)).await.unwrap();
        loop {
            match stream.next().await {
                Some(Ok(WatchEvent::Added(o))) if o.metadata.name.as_deref() == Some(&name) => break,
                Some(Ok(_)) => continue,
                other => panic!("watch ended: {other:?}"),
            }
        }
        lat.push(t.elapsed());
    }
    report("write to watch event", &mut lat);
    println!("{:<32} {:>8.1} MiB", "resident memory, end", proc_field(pid, "status", "VmRSS:") as f64 / 1024.0);
}
