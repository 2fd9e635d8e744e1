//! The command line: one-line errors and non-zero exits for bad flags, unusable
//! data dirs and busy ports; health and version endpoints.

use std::process::Command;

use crate::harness::Server;

fn coracle(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_coracle")).args(args).output().expect("run coracle")
}

fn one_line_error(out: &std::process::Output) -> String {
    assert!(!out.status.success(), "should fail");
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(err.trim_end().lines().count(), 1, "one line, got: {err}");
    err
}

#[test]
fn bad_flag_is_one_line() {
    let err = one_line_error(&coracle(&["server", "--no-such-flag"]));
    assert!(err.contains("--no-such-flag") && err.contains("coracle server --help"), "{err}");
}

#[test]
fn unusable_data_dir_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let err = one_line_error(&coracle(&[
        "server",
        "--data-dir",
        file.to_str().unwrap(),
        "--https-listen-port",
        "0",
        "--write-kubeconfig",
        dir.path().join("kc").to_str().unwrap(),
    ]));
    assert!(err.contains("data dir") && err.contains("--data-dir"), "{err}");
}

#[test]
fn busy_port_is_one_line() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    let dir = tempfile::tempdir().unwrap();
    let err = one_line_error(&coracle(&[
        "server",
        "--data-dir",
        dir.path().join("d").to_str().unwrap(),
        "--bind-address",
        "127.0.0.1",
        "--https-listen-port",
        &port,
        "--write-kubeconfig",
        dir.path().join("kc").to_str().unwrap(),
    ]));
    assert!(err.contains("--https-listen-port") && err.contains(&port), "{err}");
}

#[test]
fn health_and_version() {
    let s = Server::start();
    let k = s.kubectl("1.33");
    assert_eq!(k.ok(&["get", "--raw", "/livez"]), "ok");
    assert_eq!(k.ok(&["get", "--raw", "/healthz"]), "ok");
    let verbose = k.ok(&["get", "--raw", "/readyz?verbose"]);
    assert!(verbose.contains("[+]etcd ok") && verbose.ends_with("readyz check passed\n"), "{verbose}");
    assert_eq!(k.ok(&["get", "--raw", "/livez/ping"]), "ok");
    let v = k.json(&["version", "-o", "json"]);
    assert!(v["serverVersion"]["gitVersion"].as_str().unwrap().starts_with("v1.33."));
    assert!(v["serverVersion"]["gitVersion"].as_str().unwrap().ends_with("+coracle"));
    let out = k.run(&["version"]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("WARNING"), "no skew warning for 1.33");
}
