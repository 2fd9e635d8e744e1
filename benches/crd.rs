//! Custom resource benchmark: starts the real `coracle server` (optimised build) and
//! measures, side by side, a ConfigMap and a custom resource of the same size (a 100-byte
//! payload) whose CRD has a schema with validations, a default and a CEL rule:
//! - creates/s from 16 concurrent clients,
//! - p50/p99 latency of a list of 1,000 objects,
//! - p50/p99 latency from a write to its watch event,
//!
//! and prints the custom resource's figures as ratios of the ConfigMap's.
//! Run with `cargo bench --bench crd`.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use kube::api::{Api, ApiResource, DynamicObject, ListParams, PostParams, WatchEvent, WatchParams};
use serde_json::json;

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

fn start() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let kubeconfig = dir.path().join("kubeconfig.yaml");
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
    Server { child, _dir: dir, kubeconfig }
}

async fn client(server: &Server) -> kube::Client {
    let started = Instant::now();
    loop {
        if server.kubeconfig.exists() {
            let kc = kube::config::Kubeconfig::read_from(&server.kubeconfig).unwrap();
            let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default()).await.unwrap();
            let c = kube::Client::try_from(cfg).unwrap();
            if c.request_text(http::Request::get("/readyz").body(Vec::new()).unwrap()).await.is_ok() {
                return c;
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert!(started.elapsed() < Duration::from_secs(60), "server did not start");
    }
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    samples[(((samples.len() as f64 - 1.0) * p).round() as usize).min(samples.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The two kinds compared: their API and how to build an object of each.
struct Kind {
    api: Api<DynamicObject>,
    make: fn(String) -> DynamicObject,
}

fn configmap(name: String) -> DynamicObject {
    serde_json::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
        "data": {"payload": "x".repeat(100)}}))
    .unwrap()
}

fn widget(name: String) -> DynamicObject {
    serde_json::from_value(json!({"apiVersion": "bench.example.com/v1", "kind": "Widget", "metadata": {"name": name},
        "spec": {"payload": "x".repeat(100), "size": 5}}))
    .unwrap()
}

const CRD: &str = r#"{
  "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
  "metadata": {"name": "widgets.bench.example.com"},
  "spec": {"group": "bench.example.com", "scope": "Namespaced",
    "names": {"plural": "widgets", "kind": "Widget"},
    "versions": [{"name": "v1", "served": true, "storage": true,
      "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": {"type": "object",
        "x-kubernetes-validations": [{"rule": "self.minSize <= self.size", "message": "minSize must not exceed size"}],
        "properties": {"payload": {"type": "string", "maxLength": 1024},
          "size": {"type": "integer", "minimum": 0, "maximum": 10},
          "minSize": {"type": "integer", "default": 1}}}}}}}]}
}"#;

async fn throughput(k: &Kind) -> f64 {
    let per_client = 250;
    let t = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..16 {
        let (api, make) = (k.api.clone(), k.make);
        tasks.push(tokio::spawn(async move {
            for i in 0..per_client {
                api.create(&PostParams::default(), &make(format!("tp-{c}-{i}"))).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    (16 * per_client) as f64 / t.elapsed().as_secs_f64()
}

async fn list_latency(k: &Kind, count: usize) -> (Duration, Duration) {
    let mut lists = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let l = k.api.list(&ListParams::default()).await.unwrap();
        lists.push(t.elapsed());
        // A ConfigMap namespace also holds kube-root-ca.crt, published by a controller.
        let ours = l.items.iter().filter(|o| o.metadata.name.as_deref().is_some_and(|n| n.starts_with("o-"))).count();
        assert_eq!(ours, count);
    }
    (percentile(&mut lists, 0.5), percentile(&mut lists, 0.99))
}

async fn watch_latency(k: &Kind) -> (Duration, Duration) {
    let rv = k.api.list(&ListParams::default().limit(1)).await.unwrap().metadata.resource_version.unwrap();
    let mut stream = k.api.watch(&WatchParams::default(), &rv).await.unwrap().boxed();
    let mut lat = Vec::new();
    for i in 0..300 {
        let name = format!("w-{i}");
        let t = Instant::now();
        k.api.create(&PostParams::default(), &(k.make)(name.clone())).await.unwrap();
        loop {
            match stream.next().await {
                Some(Ok(WatchEvent::Added(o))) if o.metadata.name.as_deref() == Some(&name) => break,
                Some(Ok(_)) => continue,
                other => panic!("watch ended: {other:?}"),
            }
        }
        lat.push(t.elapsed());
    }
    (percentile(&mut lat, 0.5), percentile(&mut lat, 0.99))
}

async fn fill(k: &Kind, count: usize) {
    futures::stream::iter(0..count)
        .map(|i| {
            let (api, make) = (k.api.clone(), k.make);
            async move { api.create(&PostParams::default(), &make(format!("o-{i}"))).await.map(|_| ()) }
        })
        .buffer_unordered(32)
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
}

#[tokio::main]
async fn main() {
    let server = start();
    let c = client(&server).await;
    let crd: serde_json::Value = serde_json::from_str(CRD).unwrap();
    let crds: Api<DynamicObject> = Api::all_with(
        c.clone(),
        &ApiResource::from_gvk_with_plural(
            &kube::api::GroupVersionKind::gvk("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
            "customresourcedefinitions",
        ),
    );
    crds.create(&PostParams::default(), &serde_json::from_value(crd).unwrap()).await.unwrap();
    for ns in ["tp-cm", "tp-cr", "list-cm", "list-cr", "watch-cm", "watch-cr"] {
        let nsapi: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(c.clone());
        let obj = serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap();
        nsapi.create(&PostParams::default(), &obj).await.unwrap();
    }
    let cm_res =
        ApiResource::from_gvk_with_plural(&kube::api::GroupVersionKind::gvk("", "v1", "ConfigMap"), "configmaps");
    let cr_res = ApiResource::from_gvk_with_plural(
        &kube::api::GroupVersionKind::gvk("bench.example.com", "v1", "Widget"),
        "widgets",
    );
    let kind = |ns: &str, res: &ApiResource, make: fn(String) -> DynamicObject| Kind {
        api: Api::namespaced_with(c.clone(), ns, res),
        make,
    };
    println!(
        "coracle custom resource benchmark (release build): ConfigMap vs Widget (schema + CEL rule), 100-byte payload"
    );
    let tp_cm = throughput(&kind("tp-cm", &cm_res, configmap)).await;
    let tp_cr = throughput(&kind("tp-cr", &cr_res, widget)).await;
    println!("{:<34} {:>9.0} /s   {:>9.0} /s   ratio {:.2}", "creates, 16 clients", tp_cm, tp_cr, tp_cr / tp_cm);
    let (lc, lr) = (kind("list-cm", &cm_res, configmap), kind("list-cr", &cr_res, widget));
    fill(&lc, 1000).await;
    fill(&lr, 1000).await;
    let (c50, c99) = list_latency(&lc, 1000).await;
    let (r50, r99) = list_latency(&lr, 1000).await;
    println!(
        "{:<34} {:>6.2} / {:>6.2} ms   {:>6.2} / {:>6.2} ms   ratio {:.2}",
        "list of 1,000, p50 / p99",
        ms(c50),
        ms(c99),
        ms(r50),
        ms(r99),
        ms(r50) / ms(c50)
    );
    let (wc, wr) = (kind("watch-cm", &cm_res, configmap), kind("watch-cr", &cr_res, widget));
    let (c50, c99) = watch_latency(&wc).await;
    let (r50, r99) = watch_latency(&wr).await;
    println!(
        "{:<34} {:>6.2} / {:>6.2} ms   {:>6.2} / {:>6.2} ms   ratio {:.2}",
        "write to watch event, p50 / p99",
        ms(c50),
        ms(c99),
        ms(r50),
        ms(r99),
        ms(r50) / ms(c50)
    );
}
