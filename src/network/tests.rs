//! Real namespaces and real CNI plugins (needs root and containernetworking-plugins).

use std::path::Path;
use std::process::Command;

use super::cni::{Cni, PortMapping};
use super::netns;
use crate::runtime::paths::RuntimePaths;

fn in_ns(ns: &str, args: &[&str]) -> String {
    let out = Command::new("ip").args(["netns", "exec", ns]).args(args).output().expect("ip netns exec");
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

fn usable() -> bool {
    nix::unistd::geteuid().is_root() && Path::new("/usr/lib/cni/bridge").exists()
}

/// Removes what a test made even when it fails half-way.
struct Cleanup {
    cni: Cni,
    namespaces: Vec<(String, String)>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for (ns, id) in &self.namespaces {
            let _ = self.cni.del(id, &netns::path(ns));
            let _ = netns::delete(ns);
        }
        let _ = Command::new("ip").args(["link", "del", &self.cni.bridge]).status();
    }
}

#[test]
fn two_pods_talk_and_leave_nothing_behind() {
    if !usable() {
        eprintln!("skipped: needs root and /usr/lib/cni");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let paths = RuntimePaths::new(dir.path());
    let cni = Cni::new(&paths, Path::new("/usr/lib/cni"), "10.199.7.0/24".parse().unwrap());
    cni.install().unwrap();
    let (a, b) = (format!("ct-{}-a", paths.instance), format!("ct-{}-b", paths.instance));
    let _cleanup =
        Cleanup { cni: cni.clone(), namespaces: vec![(a.clone(), "pod-a".into()), (b.clone(), "pod-b".into())] };
    let pa = netns::create(&a).unwrap();
    let pb = netns::create(&b).unwrap();
    assert!(netns::exists(&a));
    let ipa = cni.add("pod-a", &pa, ("default", "a"), &[]).unwrap();
    let ipb = cni
        .add(
            "pod-b",
            &pb,
            ("default", "b"),
            &[PortMapping { host_port: 18089, container_port: 80, protocol: "tcp".into(), host_ip: String::new() }],
        )
        .unwrap();
    let ip_a = ipa.ips[0].to_string();
    let ip_b = ipb.ips[0].to_string();
    assert!(ip_a.starts_with("10.199.7.") && ip_b.starts_with("10.199.7.") && ip_a != ip_b, "{ip_a} {ip_b}");
    assert!(in_ns(&a, &["ip", "addr"]).contains(&ip_a));
    assert!(in_ns(&a, &["ip", "link", "show", "lo"]).contains("UP"));
    let ping = in_ns(&a, &["busybox", "ping", "-c", "1", "-W", "2", &ip_b]);
    assert!(ping.contains("1 received") || ping.contains("1 packets received"), "{ping}");
    // Host-local recorded the allocations under our own state dir.
    let records = cni.state_dir.join("networks").join("coracle");
    assert!(records.join(&ip_a).exists());
    assert_eq!(cni.attached().len(), 2);

    cni.del("pod-a", &pa).unwrap();
    cni.del("pod-b", &pb).unwrap();
    cni.del("pod-b", &pb).unwrap(); // repeating is fine
    netns::delete(&a).unwrap();
    netns::delete(&b).unwrap();
    assert!(!netns::exists(&a) && !records.join(&ip_a).exists() && !records.join(&ip_b).exists());
    assert!(cni.attached().is_empty());
    // No veth of ours is left on the bridge.
    let links = Command::new("ip").args(["link", "show", "master", &cni.bridge]).output().unwrap();
    assert!(String::from_utf8_lossy(&links.stdout).trim().is_empty(), "{}", String::from_utf8_lossy(&links.stdout));
}
