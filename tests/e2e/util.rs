//! Helpers shared by the API tests: raw HTTP requests through a kube::Client (status
//! codes and `metav1.Status` bodies checked exactly), kubectl running in the background,
//! and small object builders.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};

use http_body_util::BodyExt;
use serde_json::{Value, json};

use crate::harness::Kubectl;

/// A raw HTTP response.
pub struct Resp {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("HTTP {}: body is not JSON ({e}): {}", self.status, self.text()))
    }

    /// Require a success code; return the JSON body.
    #[track_caller]
    pub fn ok(&self, code: u16) -> Value {
        assert_eq!(self.status, code, "expected HTTP {code}, got {}: {}", self.status, self.text());
        self.json()
    }

    /// Require an error `metav1.Status` with exactly this code and reason; return it.
    #[track_caller]
    pub fn status(&self, code: u16, reason: &str) -> Value {
        assert_eq!(self.status, code, "expected HTTP {code} {reason}, got {}: {}", self.status, self.text());
        let ct = self.headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        assert!(ct.starts_with("application/json"), "Status as JSON, got Content-Type {ct:?}: {}", self.text());
        let s = self.json();
        assert_eq!(s["kind"], "Status", "{s}");
        assert_eq!(s["apiVersion"], "v1", "{s}");
        assert_eq!(s["status"], "Failure", "{s}");
        assert_eq!(s["code"], code, "{s}");
        assert_eq!(s["reason"], reason, "{s}");
        s
    }

    /// The values of every `Warning` header.
    pub fn warnings(&self) -> Vec<String> {
        self.headers.get_all("warning").iter().map(|v| v.to_str().unwrap_or("").to_string()).collect()
    }
}

/// Send one request and read the whole response.
pub async fn send(client: &kube::Client, method: &str, path: &str, content_type: Option<&str>, body: Vec<u8>) -> Resp {
    send_accept(client, method, path, "application/json", content_type, body).await
}

/// Send one request with an explicit Accept header.
pub async fn send_accept(
    client: &kube::Client,
    method: &str,
    path: &str,
    accept: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> Resp {
    let mut b = http::Request::builder().method(method).uri(path).header("Accept", accept);
    if let Some(ct) = content_type {
        b = b.header("Content-Type", ct);
    }
    let req = b.body(kube::client::Body::from(body)).expect("request");
    let res = client.send(req).await.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.expect("read body").to_bytes().to_vec();
    Resp { status, headers, body }
}

pub async fn get(client: &kube::Client, path: &str) -> Resp {
    send(client, "GET", path, None, Vec::new()).await
}

pub async fn post(client: &kube::Client, path: &str, body: &Value) -> Resp {
    send(client, "POST", path, Some("application/json"), body.to_string().into_bytes()).await
}

pub async fn put(client: &kube::Client, path: &str, body: &Value) -> Resp {
    send(client, "PUT", path, Some("application/json"), body.to_string().into_bytes()).await
}

pub async fn patch(client: &kube::Client, path: &str, content_type: &str, body: &Value) -> Resp {
    send(client, "PATCH", path, Some(content_type), body.to_string().into_bytes()).await
}

pub async fn delete(client: &kube::Client, path: &str) -> Resp {
    send(client, "DELETE", path, None, Vec::new()).await
}

/// A ConfigMap body.
pub fn configmap(ns: &str, name: &str, data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}, "data": data})
}

/// The path of the ConfigMap collection of a namespace, or of one ConfigMap.
pub fn cm_path(ns: &str, name: Option<&str>) -> String {
    match name {
        Some(n) => format!("/api/v1/namespaces/{ns}/configmaps/{n}"),
        None => format!("/api/v1/namespaces/{ns}/configmaps"),
    }
}

/// The ConfigMap the root-CA publisher puts into every namespace a moment after it appears
/// (and puts back when deleted), as on a real cluster.
pub const ROOT_CA: &str = "kube-root-ca.crt";

/// A kubectl flag that leaves [`ROOT_CA`] out of a list or watch.
pub const NOT_ROOT_CA: &str = "--field-selector=metadata.name!=kube-root-ca.crt";

/// The same as a query parameter, for raw lists and watches.
pub const NOT_ROOT_CA_QUERY: &str = "fieldSelector=metadata.name%21%3Dkube-root-ca.crt";

/// Wait until the controllers have published [`ROOT_CA`] (and so have run) in `ns`.
#[track_caller]
pub fn wait_root_ca(k: &Kubectl, ns: &str) {
    crate::harness::eventually(20, &format!("{ROOT_CA} in namespace {ns}"), || {
        k.run(&["get", "cm", ROOT_CA, "-n", ns]).status.success()
    });
}

/// The names of the items of a list, in order, leaving out the published [`ROOT_CA`].
pub fn names(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap_or_default().to_string())
        .filter(|n| n != ROOT_CA)
        .collect()
}

/// A kubectl left running (e.g. `get -w`); its stdout and stderr are collected as they come.
/// Killed when dropped.
pub struct Background {
    child: Child,
    out: Arc<Mutex<String>>,
    err: Arc<Mutex<String>>,
    pumps: Vec<std::thread::JoinHandle<()>>,
}

impl Background {
    pub fn start(k: &Kubectl, args: &[&str]) -> Background {
        let mut child = k
            .command(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start kubectl");
        let out = Arc::new(Mutex::new(String::new()));
        let err = Arc::new(Mutex::new(String::new()));
        fn pump(r: impl std::io::Read + Send + 'static, into: Arc<Mutex<String>>) -> std::thread::JoinHandle<()> {
            std::thread::spawn(move || {
                for line in BufReader::new(r).lines() {
                    let Ok(line) = line else { break };
                    let mut s = into.lock().unwrap();
                    s.push_str(&line);
                    s.push('\n');
                }
            })
        }
        let pumps = vec![
            pump(child.stdout.take().expect("stdout"), out.clone()),
            pump(child.stderr.take().expect("stderr"), err.clone()),
        ];
        Background { child, out, err, pumps }
    }

    pub fn stdout(&self) -> String {
        self.out.lock().unwrap().clone()
    }

    pub fn stderr(&self) -> String {
        self.err.lock().unwrap().clone()
    }

    /// Wait (up to `secs`) until stdout satisfies `f`; fail with both streams otherwise.
    #[track_caller]
    pub fn wait_for(&self, secs: u64, what: &str, f: impl Fn(&str) -> bool) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            if f(&self.stdout()) {
                return;
            }
            if std::time::Instant::now() > deadline {
                panic!("timed out waiting for {what}\nstdout:\n{}\nstderr:\n{}", self.stdout(), self.stderr());
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// Wait (up to `secs`) until stderr satisfies `f`.
    #[track_caller]
    pub fn wait_for_stderr(&self, secs: u64, what: &str, f: impl Fn(&str) -> bool) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        while !f(&self.stderr()) {
            if std::time::Instant::now() > deadline {
                panic!("timed out waiting for {what}\nstdout:\n{}\nstderr:\n{}", self.stdout(), self.stderr());
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Wait (up to `secs`) for the process to exit; returns its exit code.
    #[track_caller]
    pub fn wait_exit(&mut self, secs: u64) -> Option<i32> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                // The pipes are closed: let the readers finish what is left.
                for p in self.pumps.drain(..) {
                    let _ = p.join();
                }
                return status.code();
            }
            if std::time::Instant::now() > deadline {
                panic!("still running after {secs}s\nstdout:\n{}\nstderr:\n{}", self.stdout(), self.stderr());
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A kubectl table: the header cells, and each row as (header, cell) pairs. Cells are
/// cut at the offsets where the header cells start, so empty cells stay empty.
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<(String, String)>>,
}

impl Table {
    #[track_caller]
    pub fn parse(out: &str) -> Table {
        let mut lines = out.lines().filter(|l| !l.trim().is_empty());
        let header = lines.next().unwrap_or_else(|| panic!("no table in {out:?}"));
        // Header cells are separated by at least two spaces (a cell may hold one, e.g. "NOMINATED NODE").
        let mut starts = Vec::new();
        let bytes = header.as_bytes();
        for i in 0..bytes.len() {
            let after_gap = i == 0 || (i >= 2 && bytes[i - 1] == b' ' && bytes[i - 2] == b' ');
            if bytes[i] != b' ' && after_gap {
                starts.push(i);
            }
        }
        let cut = |line: &str| -> Vec<String> {
            (0..starts.len())
                .map(|j| {
                    let from = starts[j].min(line.len());
                    let to = starts.get(j + 1).copied().unwrap_or(line.len()).min(line.len());
                    line.get(from..to).unwrap_or("").trim().to_string()
                })
                .collect()
        };
        let headers = cut(header);
        let rows = lines.map(|l| headers.iter().cloned().zip(cut(l)).collect()).collect();
        Table { headers, rows }
    }

    /// The row whose first cell is `name`.
    #[track_caller]
    pub fn row(&self, name: &str) -> std::collections::HashMap<String, String> {
        self.rows
            .iter()
            .find(|r| r.first().is_some_and(|(_, c)| c == name))
            .unwrap_or_else(|| panic!("no row {name} in {:?} / {:?}", self.headers, self.rows))
            .iter()
            .cloned()
            .collect()
    }
}

/// A watch opened with a raw GET; events are read one JSON line at a time.
pub struct Watch {
    body: kube::client::Body,
    buf: Vec<u8>,
    done: bool,
}

impl Watch {
    /// Open `path` (which must carry `watch=true` or `watch=1`); requires HTTP 200.
    pub async fn open(client: &kube::Client, path: &str) -> Watch {
        let req = http::Request::builder()
            .method("GET")
            .uri(path)
            .header("Accept", "application/json")
            .body(kube::client::Body::empty())
            .expect("request");
        let res = client.send(req).await.unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let status = res.status().as_u16();
        if status != 200 {
            let body = res.into_body().collect().await.map(|b| b.to_bytes().to_vec()).unwrap_or_default();
            panic!("watch {path}: HTTP {status}: {}", String::from_utf8_lossy(&body));
        }
        Watch { body: res.into_body(), buf: Vec::new(), done: false }
    }

    /// The next event, or None when the server ends the stream (or the connection drops).
    /// Fails the test if nothing arrives within `secs`.
    pub async fn next(&mut self, secs: u64) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=i).collect();
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                return Some(
                    serde_json::from_slice(&line).unwrap_or_else(|e| {
                        panic!("watch event is not JSON ({e}): {}", String::from_utf8_lossy(&line))
                    }),
                );
            }
            if self.done {
                return None;
            }
            match tokio::time::timeout_at(deadline, self.body.frame()).await {
                Err(_) => panic!("no watch event within {secs}s (buffered: {:?})", String::from_utf8_lossy(&self.buf)),
                Ok(None) | Ok(Some(Err(_))) => self.done = true,
                Ok(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        self.buf.extend_from_slice(&data);
                    }
                }
            }
        }
    }

    /// The next event, which must exist; returns (type, object).
    pub async fn expect(&mut self, secs: u64) -> (String, Value) {
        let e = self.next(secs).await.expect("watch ended early");
        (e["type"].as_str().unwrap_or_default().to_string(), e["object"].clone())
    }
}

/// `(type, name)` of a watch event's object, for compact assertions.
pub fn ev(t: &str, name: &str) -> (String, String) {
    (t.to_string(), name.to_string())
}

/// The resourceVersion of an object.
#[track_caller]
pub fn rv(obj: &Value) -> String {
    obj["metadata"]["resourceVersion"].as_str().unwrap_or_else(|| panic!("no resourceVersion: {obj}")).to_string()
}
