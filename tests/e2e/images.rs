//! `coracle images`: import of every archive format, pull from a real registry (Debian's
//! docker-registry on 127.0.0.1, images pushed with skopeo) by tag, digest and multi-arch index,
//! mirrors from registries.yaml, ls/rm/prune freeing disk, the airgap folder, and bad input
//! (corrupt archives, digest mismatches, unknown images, registries that refuse or hang) leaving
//! nothing behind.

use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::registry::{Registry, tls_registry_with_auth};
use crate::testimages::{archive, facts};

/// A temp data dir and the binary run against it.
struct Node {
    dir: tempfile::TempDir,
}

impl Node {
    fn new() -> Node {
        Node { dir: tempfile::tempdir().expect("tempdir") }
    }
    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }
    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_coracle"))
            .arg("images")
            .args(args)
            .arg("--data-dir")
            .arg(self.data())
            .stdin(Stdio::null())
            .output()
            .expect("run coracle")
    }
    #[track_caller]
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "coracle images {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
    /// Run a command that must fail with one line on stderr; returns that line.
    #[track_caller]
    fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            !out.status.success(),
            "coracle images {args:?} should fail; stdout: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "one line, got: {err}");
        assert!(err.starts_with("coracle: "), "{err}");
        err
    }
    fn inspect(&self, reference: &str) -> Value {
        serde_json::from_str(&self.ok(&["inspect", reference])).expect("inspect prints JSON")
    }
    /// (REF, IMAGE ID, DIGEST, SIZE) rows of `images ls`.
    fn ls(&self) -> Vec<Vec<String>> {
        let out = self.ok(&["ls"]);
        let mut lines = out.lines();
        let header: Vec<&str> =
            lines.next().expect("header").split("   ").map(str::trim).filter(|s| !s.is_empty()).collect();
        assert_eq!(header, ["REF", "IMAGE ID", "DIGEST", "SIZE"]);
        lines.map(|l| l.split_whitespace().map(str::to_string).collect()).collect()
    }
    fn refs(&self) -> Vec<String> {
        self.ls().into_iter().map(|r| r[0].clone()).collect()
    }
    #[track_caller]
    fn assert_clean_blobs_and_snapshots(&self, blobs: usize, snapshots: usize) {
        assert_eq!(self.blobs(), blobs, "blobs: {:?}", list(&self.content().join("blobs/sha256")));
        assert_eq!(self.snapshots(), snapshots, "snapshots: {:?}", list(&self.data().join("agent/snapshots")));
    }
    fn content(&self) -> PathBuf {
        self.data().join("agent/content")
    }
    fn blobs(&self) -> usize {
        count(&self.content().join("blobs/sha256"))
    }
    fn snapshots(&self) -> usize {
        count(&self.data().join("agent/snapshots"))
    }
    /// Nothing but what the images named in the index need; no work left over.
    #[track_caller]
    fn assert_clean(&self, blobs: usize, snapshots: usize) {
        self.assert_clean_blobs_and_snapshots(blobs, snapshots);
        assert_eq!(
            count(&self.content().join("ingest")),
            0,
            "work dirs left: {:?}",
            list(&self.content().join("ingest"))
        );
    }
}

fn count(dir: &Path) -> usize {
    std::fs::read_dir(dir).map(|rd| rd.count()).unwrap_or(0)
}

fn list(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|rd| rd.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default()
}

fn du(dir: &Path) -> u64 {
    let Ok(m) = std::fs::symlink_metadata(dir) else { return 0 };
    let mut n = m.blocks() * 512;
    if m.is_dir() {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            n += du(&e.path());
        }
    }
    n
}

/// Check that the layers of an image, stacked, are the busybox test image.
#[track_caller]
fn assert_busybox_layers(image: &Value) {
    let layers: Vec<PathBuf> =
        image["layers"].as_array().expect("layers").iter().map(|l| PathBuf::from(l.as_str().unwrap())).collect();
    assert_eq!(layers.len(), 2, "{image}");
    let base = &layers[0];
    let etc = &layers[1];
    let busybox = std::fs::metadata(base.join("bin/busybox")).expect("bin/busybox");
    assert!(busybox.is_file() && busybox.mode() & 0o777 == 0o755);
    assert_eq!(busybox.len(), std::fs::metadata("/bin/busybox").unwrap().len());
    for applet in ["sh", "ls", "echo", "cat", "httpd", "wget", "sleep", "id"] {
        assert_eq!(std::fs::read_link(base.join("bin").join(applet)).unwrap(), Path::new("busybox"), "{applet}");
    }
    let passwd = std::fs::read_to_string(etc.join("etc/passwd")).unwrap();
    assert!(passwd.contains("app:x:1000:1000:") && passwd.starts_with("root:x:0:0:"), "{passwd}");
    assert!(std::fs::read_to_string(etc.join("etc/group")).unwrap().contains("app:x:1000:"));
    let home = std::fs::metadata(etc.join("home/app")).unwrap();
    assert_eq!((home.uid(), home.gid()), (1000, 1000));
    assert_eq!(std::fs::metadata(etc.join("tmp")).unwrap().mode() & 0o7777, 0o1777);
    assert_eq!(std::fs::metadata(etc.join("root")).unwrap().mode() & 0o7777, 0o700);
    assert_eq!(image["config"]["config"]["Cmd"], serde_json::json!(["sh"]));
}

#[test]
fn import_each_archive_format() {
    let f = facts();
    for name in [
        "busybox-docker.tar",
        "busybox-docker.tar.gz",
        "busybox-docker.tar.zst",
        "busybox-oci.tar",
        "busybox-oci.tar.gz",
        "busybox-oci.tar.zst",
    ] {
        let node = Node::new();
        let out = node.ok(&["import", archive(name).to_str().unwrap()]);
        assert!(out.contains("imported docker.io/library/busybox:latest"), "{name}: {out}");
        let rows = node.ls();
        assert_eq!(rows.len(), 1, "{name}: {rows:?}");
        assert_eq!(rows[0][0], "docker.io/library/busybox:latest");
        assert_eq!(rows[0][1], f["id"].as_str().unwrap()[7..20], "{name}: IMAGE ID is the short config digest");
        // By short name, full name, id and short id alike.
        let image = node.inspect("busybox");
        assert_eq!(image["id"], f["id"]);
        for word in ["docker.io/library/busybox:latest", f["id"].as_str().unwrap(), &f["id"].as_str().unwrap()[7..19]] {
            assert_eq!(node.inspect(word)["id"], f["id"], "{name}: {word}");
        }
        if name.starts_with("busybox-oci") {
            assert_eq!(image["digest"], f["oci_manifest_digest"], "{name}");
        }
        assert_busybox_layers(&image);
        // Two layers, one snapshot each; blobs: manifest, config, two layers.
        node.assert_clean(4, 2);
    }
}

#[test]
fn import_of_a_multi_arch_index_picks_this_platform() {
    let f = facts();
    let node = Node::new();
    node.ok(&["import", archive("busybox-multiarch-oci.tar").to_str().unwrap()]);
    let image = node.inspect("busybox:multiarch");
    assert_eq!(image["digest"], f["multiarch"]["index_digest"]);
    assert_eq!(image["manifestDigest"], f["oci_manifest_digest"]);
    assert_eq!(image["id"], f["id"]);
    assert_eq!(image["config"]["architecture"], f["arch"]);
    assert_busybox_layers(&image);
    // Index, this platform's manifest, config, two layers; nothing of the dummy platform.
    node.assert_clean(5, 2);
    let dummy = f["multiarch"]["dummy_manifest_digest"].as_str().unwrap();
    assert!(!node.content().join("blobs/sha256").join(&dummy[7..]).exists());
}

#[test]
fn imports_share_content_and_repeat_quietly() {
    let node = Node::new();
    node.ok(&["import", archive("busybox-oci.tar").to_str().unwrap()]);
    let snapshots: Vec<String> = list(&node.data().join("agent/snapshots"));
    let t = Instant::now();
    node.ok(&["import", archive("busybox-oci.tar.zst").to_str().unwrap()]);
    assert!(t.elapsed() < Duration::from_secs(10));
    assert_eq!(list(&node.data().join("agent/snapshots")), snapshots, "same layers, same snapshots");
    // A docker-save import of the same image: its own manifest and uncompressed layers, same snapshots;
    // what the OCI import had stored is freed as the name moves.
    node.ok(&["import", archive("busybox-docker.tar").to_str().unwrap()]);
    assert_eq!(node.refs(), ["docker.io/library/busybox:latest"]);
    node.assert_clean(4, 2);
    assert_eq!(list(&node.data().join("agent/snapshots")), snapshots);
    // Two imports at once into one data dir both succeed.
    let data = node.data();
    let spawn = move |name: &str| {
        Command::new(env!("CARGO_BIN_EXE_coracle"))
            .args(["images", "import", "--data-dir"])
            .arg(&data)
            .arg(archive(name))
            .output()
            .unwrap()
    };
    let a = std::thread::spawn({
        let spawn = spawn.clone();
        move || spawn("busybox-oci.tar.gz")
    });
    let b = spawn("busybox-multiarch-oci.tar");
    let a = a.join().unwrap();
    assert!(a.status.success() && b.status.success(), "{a:?} {b:?}");
    assert_eq!(node.refs(), ["docker.io/library/busybox:latest", "docker.io/library/busybox:multiarch"]);
    node.assert_clean(5, 2);
}

/// A small docker-save archive of one image with one layer holding `file` with `content`.
fn tiny_image(dir: &Path, name: &str, tag: Option<&str>, content: &str) -> PathBuf {
    let mut layer = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(content.len() as u64);
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_uid(0);
    h.set_gid(0);
    layer.append_data(&mut h, "file", content.as_bytes()).unwrap();
    let layer = layer.into_inner().unwrap();
    let diff = format!("{:x}", Sha256::digest(&layer));
    let config = serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "config": {"Cmd": ["cat", "/file"]},
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{diff}")]},
    })
    .to_string();
    let cfg = format!("{:x}", Sha256::digest(config.as_bytes()));
    let manifest = serde_json::json!([{
        "Config": format!("{cfg}.json"),
        "RepoTags": tag.map(|t| vec![t]).unwrap_or_default(),
        "Layers": [format!("{diff}/layer.tar")],
    }])
    .to_string();
    let path = dir.join(name);
    let mut ar = tar::Builder::new(std::fs::File::create(&path).unwrap());
    for (n, data) in [
        (format!("{cfg}.json"), config.as_bytes()),
        (format!("{diff}/layer.tar"), &layer[..]),
        ("manifest.json".into(), manifest.as_bytes()),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        ar.append_data(&mut h, n, data).unwrap();
    }
    ar.finish().unwrap();
    path
}

#[test]
fn rm_and_prune_free_disk_but_never_what_a_container_uses() {
    let node = Node::new();
    let f = facts();
    let id = f["id"].as_str().unwrap();
    node.ok(&["import", archive("busybox-oci.tar").to_str().unwrap()]);
    let tmp = tempfile::tempdir().unwrap();
    node.ok(&["import", tiny_image(tmp.path(), "a.tar", Some("tiny:1"), "one").to_str().unwrap()]);
    // The tag moves to another image: the first stays, untagged.
    node.ok(&["import", tiny_image(tmp.path(), "b.tar", Some("tiny:1"), "two").to_str().unwrap()]);
    assert_eq!(node.refs(), ["docker.io/library/busybox:latest", "docker.io/library/tiny:1", "<none>"]);
    assert_eq!(node.ok(&["ls", "-q"]).lines().count(), 3);
    node.assert_clean(4 + 3 + 3, 2 + 1 + 1);

    // A container uses busybox: rm refuses, prune --all keeps it.
    let c = node.data().join("agent/containers/c1");
    std::fs::create_dir_all(&c).unwrap();
    std::fs::write(c.join("image-id"), id).unwrap();
    let err = node.fails(&["rm", "busybox"]);
    assert!(err.contains("in use by container c1") && err.contains("busybox"), "{err}");

    // prune: the untagged image goes.
    let before = du(&node.data());
    let out = node.ok(&["prune"]);
    assert!(out.contains("removed sha256:") && out.contains("freed 3 blob(s), 1 snapshot(s)"), "{out}");
    assert!(du(&node.data()) < before);
    assert_eq!(node.refs(), ["docker.io/library/busybox:latest", "docker.io/library/tiny:1"]);
    node.assert_clean(4 + 3, 2 + 1);

    // prune --all: every image no container uses.
    let out = node.ok(&["prune", "--all"]);
    assert!(out.contains("removed docker.io/library/tiny:1") && out.contains("kept 1 image(s) in use"), "{out}");
    assert_eq!(node.refs(), ["docker.io/library/busybox:latest"]);
    node.assert_clean(4, 2);

    // Once the container is gone, rm frees everything.
    std::fs::remove_dir_all(&c).unwrap();
    let out = node.ok(&["rm", "busybox"]);
    assert!(
        out.contains("removed docker.io/library/busybox:latest") && out.contains("freed 4 blob(s), 2 snapshot(s)"),
        "{out}"
    );
    assert!(node.refs().is_empty());
    node.assert_clean(0, 0);
    assert!(du(&node.content().join("blobs")) < 64 * 1024);

    // rm by id removes every name of the image.
    node.ok(&["import", archive("busybox-oci.tar").to_str().unwrap()]);
    node.ok(&["import", archive("busybox-multiarch-oci.tar").to_str().unwrap()]);
    node.ok(&["rm", &id[7..19]]);
    assert!(node.refs().is_empty());
    node.assert_clean(0, 0);
}

#[test]
fn airgap_folder_is_imported_once() {
    let node = Node::new();
    let drop = node.data().join("agent/images");
    std::fs::create_dir_all(&drop).unwrap();
    std::fs::copy(archive("busybox-oci.tar.zst"), drop.join("busybox.tar.zst")).unwrap();
    std::fs::copy(archive("busybox-multiarch-oci.tar"), drop.join("multi.tar")).unwrap();
    std::fs::write(drop.join("README.txt"), "not an image").unwrap();
    let out = node.ok(&["import", "--airgap"]);
    assert!(out.contains("busybox:latest") && out.contains("busybox:multiarch"), "{out}");
    let t = Instant::now();
    let out = node.ok(&["import", "--airgap"]);
    assert!(out.contains("2 archive(s) already imported") && !out.contains("imported docker"), "{out}");
    assert!(t.elapsed() < Duration::from_secs(2), "a repeat is quick: {:?}", t.elapsed());
    // A removed image comes back, as with k3s.
    node.ok(&["rm", "busybox:multiarch"]);
    let out = node.ok(&["import", "--airgap"]);
    assert!(
        out.contains("imported docker.io/library/busybox:multiarch") && out.contains("1 archive(s) already"),
        "{out}"
    );
    // A bad tarball fails alone.
    std::fs::write(drop.join("broken.tar"), b"garbage").unwrap();
    let err = node.fails(&["import", "--airgap"]);
    assert!(err.contains("broken.tar"), "{err}");
    assert_eq!(node.refs().len(), 2);
}

/// A corrupt copy of `src`: `edit` changes the bytes.
fn damaged(dir: &Path, src: &Path, name: &str, edit: impl FnOnce(&mut Vec<u8>)) -> PathBuf {
    let mut bytes = std::fs::read(src).unwrap();
    edit(&mut bytes);
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Offset of the data of archive member `member` in an uncompressed tar.
fn member_offset(tar_bytes: &[u8], member: &str) -> usize {
    let mut ar = tar::Archive::new(tar_bytes);
    for e in ar.entries().unwrap() {
        let e = e.unwrap();
        if e.path().unwrap().to_string_lossy() == member {
            return e.raw_file_position() as usize;
        }
    }
    panic!("no {member}");
}

#[test]
fn bad_archives_leave_nothing_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let f = facts();
    let oci = archive("busybox-oci.tar");
    let docker = archive("busybox-docker.tar");
    let layer_hex = &f["diff_ids"][0].as_str().unwrap()[7..];
    let cases: Vec<(PathBuf, &str)> = vec![
        (damaged(tmp.path(), &oci, "truncated.tar", |b| b.truncate(b.len() / 2)), "corrupt or truncated"),
        (
            damaged(tmp.path(), &archive("busybox-oci.tar.gz"), "truncated.tar.gz", |b| b.truncate(b.len() - 1000)),
            "corrupt or truncated",
        ),
        (
            damaged(tmp.path(), &archive("busybox-docker.tar.zst"), "truncated.tar.zst", |b| b.truncate(b.len() / 3)),
            "corrupt or truncated",
        ),
        (
            damaged(tmp.path(), &oci, "flipped-blob.tar", |b| {
                // A byte inside the big gzip layer blob: its digest no longer matches its name.
                let off =
                    member_offset(b, "blobs/sha256/bc275b1455df68b302180413f5deaf7bdbda4235076b4e3bcc369296bd77b270");
                b[off + 5000] ^= 0x55;
            }),
            "digest mismatch",
        ),
        (
            damaged(tmp.path(), &docker, "flipped-layer.tar", |b| {
                // A byte of a file inside an uncompressed layer: the layer's diff id no longer matches.
                let off = member_offset(b, &format!("{layer_hex}/layer.tar"));
                b[off + 100_000] ^= 0x55;
            }),
            "digest mismatch",
        ),
        (damaged(tmp.path(), &oci, "garbage.tar", |b| *b = b"this is not a tarball at all".repeat(40)), "corrupt"),
        (
            {
                let p = tmp.path().join("empty-dir.tar");
                tar::Builder::new(std::fs::File::create(&p).unwrap()).finish().unwrap();
                p
            },
            "neither a docker-save archive",
        ),
        (tmp.path().join("missing.tar"), "cannot open"),
    ];
    for (path, expect) in cases {
        let node = Node::new();
        let err = node.fails(&["import", path.to_str().unwrap()]);
        assert!(err.contains(path.to_str().unwrap()), "names the archive: {err}");
        assert!(err.contains(expect), "{}: expected {expect:?} in: {err}", path.display());
        assert!(node.refs().is_empty());
        node.assert_clean(0, 0);
        // And a store that had an image keeps it as it was.
        node.ok(&["import", archive("busybox-oci.tar").to_str().unwrap()]);
        node.fails(&["import", path.to_str().unwrap()]);
        assert_eq!(node.refs(), ["docker.io/library/busybox:latest"]);
        node.assert_clean(4, 2);
    }
}

#[test]
fn unknown_images_and_stale_work_dirs() {
    let node = Node::new();
    for args in [&["rm", "nope"][..], &["inspect", "busybox"], &["rm", "sha256:abcdef"]] {
        let err = node.fails(args);
        assert!(err.contains("is not here") && err.contains("pull or import"), "{err}");
    }
    let err = node.fails(&["inspect", "Not/Valid"]);
    assert!(err.contains("invalid image reference"), "{err}");
    // A work dir left by a killed import (no process holds its lock) goes at the next prune.
    let stale = node.content().join("ingest/999999-1");
    std::fs::create_dir_all(stale.join("blobs")).unwrap();
    std::fs::write(stale.join(".owner"), "").unwrap();
    std::fs::write(stale.join("blobs/x"), vec![0u8; 100_000]).unwrap();
    node.ok(&["prune"]);
    assert!(!stale.exists());
}

#[test]
fn pull_by_tag_digest_and_multi_arch_index() {
    let f = facts();
    let reg = Registry::start();
    reg.push(&archive("busybox-oci.tar"), "busybox:1.36", None);
    reg.push(&archive("busybox-multiarch-oci.tar"), "busybox:multi", None);
    let host = reg.host();
    let node = Node::new();

    let by_tag = format!("{host}/busybox:1.36");
    let out = node.run(&["pull", &by_tag, "--plain-http"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains(&format!("pulled {by_tag}")), "{stdout}");
    let progress = stdout.clone();
    // Not a terminal: plain progress lines, one per step.
    assert!(progress.contains("downloading") && progress.contains("done"), "{progress}");
    let image = node.inspect(&by_tag);
    assert_eq!(image["id"], f["id"]);
    assert_eq!(image["digest"], f["oci_manifest_digest"]);
    assert_eq!(image["repoDigests"][0], format!("{host}/busybox@{}", f["oci_manifest_digest"].as_str().unwrap()));
    assert_busybox_layers(&image);
    node.assert_clean(4, 2);

    // By digest: nothing new to download.
    let by_digest = format!("{host}/busybox@{}", f["oci_manifest_digest"].as_str().unwrap());
    let out = node.run(&["pull", &by_digest, "--plain-http"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let progress = String::from_utf8_lossy(&out.stdout);
    assert!(progress.contains("already here") && !progress.contains("downloading"), "{progress}");
    assert_eq!(node.inspect(&by_digest)["id"], f["id"]);
    // A digest reference also finds the image pulled by tag.
    assert_eq!(node.inspect(&format!("{host}/busybox@{}", f["oci_manifest_digest"].as_str().unwrap()))["id"], f["id"]);

    // A multi-arch index: linux/<this arch> is the real image.
    let multi = format!("{host}/busybox:multi");
    node.ok(&["pull", &multi, "--plain-http", "-q"]);
    let image = node.inspect(&multi);
    assert_eq!(image["digest"], f["multiarch"]["index_digest"]);
    assert_eq!(image["manifestDigest"], f["oci_manifest_digest"]);
    assert_busybox_layers(&image);
    // And the index by digest.
    let index_digest = format!("{host}/busybox@{}", f["multiarch"]["index_digest"].as_str().unwrap());
    node.ok(&["pull", &index_digest, "--plain-http", "-q"]);
    assert_eq!(node.inspect(&index_digest)["id"], f["id"]);
    // Blobs: index + manifest + config + 2 layers; one set of snapshots for all four names.
    assert_eq!(node.refs().len(), 4);
    node.assert_clean(5, 2);

    // Removing every name frees it all.
    for r in node.refs() {
        node.ok(&["rm", &r]);
    }
    node.assert_clean(0, 0);
}

#[test]
fn pull_through_a_mirror_from_registries_yaml() {
    let f = facts();
    let reg = Registry::start();
    // The mirror keeps docker.io's library images under mirrored/ (a rewrite).
    reg.push(&archive("busybox-oci.tar"), "mirrored/busybox:1.36", None);
    let node = Node::new();
    let cfg = node.dir.path().join("registries.yaml");
    std::fs::write(
        &cfg,
        format!(
            "mirrors:\n  docker.io:\n    endpoint:\n      - \"http://127.0.0.1:1\"\n      - \"http://{}\"\n    rewrite:\n      \
             \"^library/(.*)\": \"mirrored/$1\"\n",
            reg.host()
        ),
    )
    .unwrap();
    let out = node.run(&["pull", "busybox:1.36", "--registries-config", cfg.to_str().unwrap(), "--timeout", "5"]);
    let progress = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{progress}{}", String::from_utf8_lossy(&out.stderr));
    // The first endpoint is down: the next one serves.
    assert!(progress.contains("http://127.0.0.1:1 failed") && progress.contains("connection refused"), "{progress}");
    assert_eq!(node.inspect("busybox:1.36")["id"], f["id"]);
    assert_eq!(node.refs(), ["docker.io/library/busybox:1.36"]);

    // A broken registries.yaml is one line naming the file.
    std::fs::write(&cfg, "mirrors: [not, a, map]\n").unwrap();
    let err = node.fails(&["pull", "busybox:1.36", "--registries-config", cfg.to_str().unwrap()]);
    assert!(err.contains("registries config") && err.contains(cfg.to_str().unwrap()), "{err}");
    let err = node.fails(&["pull", "busybox:1.36", "--registries-config", "/nonexistent/registries.yaml"]);
    assert!(err.contains("/nonexistent/registries.yaml"), "{err}");
}

#[test]
fn pulls_that_fail_leave_nothing_behind() {
    let reg = Registry::start();
    reg.push(&archive("busybox-oci.tar"), "busybox:1.36", None);
    let host = reg.host();
    let node = Node::new();

    // Unknown repository and unknown tag.
    for r in [format!("{host}/nope:1"), format!("{host}/busybox:nope")] {
        let err = node.fails(&["pull", &r, "--plain-http"]);
        assert!(err.contains(&r) && err.contains("not found") && err.contains("check the name and tag"), "{err}");
    }
    // An unknown digest.
    let r = format!("{host}/busybox@sha256:{}", "0".repeat(64));
    let err = node.fails(&["pull", &r, "--plain-http"]);
    assert!(err.contains("not found"), "{err}");
    // Plain HTTP registry spoken to over HTTPS.
    let err = node.fails(&["pull", &format!("{host}/busybox:1.36")]);
    assert!(err.contains("TLS") && err.contains("--plain-http"), "{err}");
    // Nothing listening.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let err = node.fails(&["pull", &format!("127.0.0.1:{closed}/busybox"), "--plain-http"]);
    assert!(err.contains("connection refused") && err.contains(&format!("127.0.0.1:{closed}/busybox:latest")), "{err}");
    // A registry that accepts connections and never answers.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let t = Instant::now();
    let err = node.fails(&["pull", &format!("127.0.0.1:{silent_port}/busybox"), "--plain-http", "--timeout", "1"]);
    assert!(err.contains("did not answer in time"), "{err}");
    assert!(t.elapsed() < Duration::from_secs(15), "{:?}", t.elapsed());
    drop(silent);
    // A bad reference.
    let err = node.fails(&["pull", "Upper/Case"]);
    assert!(err.contains("invalid image reference") && err.contains("lowercase"), "{err}");

    assert!(node.refs().is_empty());
    node.assert_clean(0, 0);

    // The same pull works once the registry is reachable: restartable.
    node.ok(&["pull", &format!("{host}/busybox:1.36"), "--plain-http", "-q"]);
    node.assert_clean(4, 2);
}

#[test]
fn pull_over_tls_with_basic_auth_from_registries_yaml() {
    let f = facts();
    let tmp = tempfile::tempdir().unwrap();
    let (reg, ca) = tls_registry_with_auth(tmp.path());
    let image = format!("{}/private/busybox:1.36", reg.host());
    let node = Node::new();
    let cfg = node.dir.path().join("registries.yaml");
    let pull = |yaml: &str| {
        std::fs::write(&cfg, yaml).unwrap();
        node.run(&["pull", &image, "-q", "--registries-config", cfg.to_str().unwrap()])
    };
    let err_of = |out: Output| {
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let host = reg.host();

    // Our CA is not trusted by default.
    let err = err_of(pull(""));
    assert!(err.contains("TLS") && err.contains("tls.ca_file"), "{err}");
    // Trusted, but no credentials.
    let err = err_of(pull(&format!("configs:\n  \"{host}\":\n    tls:\n      ca_file: {}\n", ca.display())));
    assert!(err.contains("refused access") && err.contains("registries.yaml"), "{err}");
    // A wrong password.
    let err = err_of(pull(&format!(
        "configs:\n  \"{host}\":\n    auth:\n      username: coracle\n      password: nope\n    tls:\n      ca_file: {}\n",
        ca.display()
    )));
    assert!(err.contains("refused access"), "{err}");
    node.assert_clean(0, 0);
    // Right: with a CA file, and with insecure_skip_verify and base64 auth.
    let out = pull(&format!(
        "configs:\n  \"{host}\":\n    auth:\n      username: coracle\n      password: s3cret\n    tls:\n      ca_file: {}\n",
        ca.display()
    ));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(node.inspect(&image)["id"], f["id"]);
    node.ok(&["rm", &image]);
    let out = pull(&format!(
        "configs:\n  \"{host}\":\n    auth:\n      auth: Y29yYWNsZTpzM2NyZXQ=\n    tls:\n      insecure_skip_verify: true\n"
    ));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    node.assert_clean(4, 2);
}

/// A TCP proxy to a registry that cuts the first connection to carry more than `cut_after`
/// bytes towards the client (a dropped download), and counts the bytes it carried.
struct FlakyProxy {
    port: u16,
    carried: std::sync::Arc<std::sync::atomic::AtomicU64>,
    cuts: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl FlakyProxy {
    fn start(upstream: u16, cut_after: u64) -> FlakyProxy {
        use std::io::{Read, Write};
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let carried = Arc::new(AtomicU64::new(0));
        let cuts = Arc::new(AtomicU64::new(0));
        let armed = Arc::new(AtomicBool::new(true));
        let (c2, k2) = (carried.clone(), cuts.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(mut client) = client else { return };
                let Ok(mut server) = std::net::TcpStream::connect(("127.0.0.1", upstream)) else { return };
                let (mut c_in, mut s_out) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut c_in, &mut s_out);
                    let _ = s_out.shutdown(std::net::Shutdown::Write);
                });
                let (carried, cuts, armed) = (c2.clone(), k2.clone(), armed.clone());
                std::thread::spawn(move || {
                    let mut buf = [0u8; 16 * 1024];
                    let mut here = 0u64;
                    loop {
                        let n = match server.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        if client.write_all(&buf[..n]).is_err() {
                            break;
                        }
                        here += n as u64;
                        carried.fetch_add(n as u64, Ordering::SeqCst);
                        if here > cut_after && armed.swap(false, Ordering::SeqCst) {
                            cuts.fetch_add(1, Ordering::SeqCst);
                            break;
                        }
                    }
                    let _ = client.shutdown(std::net::Shutdown::Both);
                    let _ = server.shutdown(std::net::Shutdown::Both);
                });
            }
        });
        FlakyProxy { port, carried, cuts }
    }
}

#[test]
fn a_dropped_download_resumes_where_it_stopped() {
    use std::sync::atomic::Ordering;
    let f = facts();
    let reg = Registry::start();
    reg.push(&archive("busybox-oci.tar"), "busybox:1.36", None);
    let proxy = FlakyProxy::start(reg.port, 300_000);
    let node = Node::new();
    let image = format!("127.0.0.1:{}/busybox:1.36", proxy.port);
    let out = node.run(&["pull", &image, "--plain-http"]);
    let progress = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{progress}{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(proxy.cuts.load(Ordering::SeqCst), 1, "the download was cut once");
    assert!(progress.contains("attempt 1 failed") && progress.contains("resuming"), "{progress}");
    assert_eq!(node.inspect(&image)["id"], f["id"]);
    assert_busybox_layers(&node.inspect(&image));
    // Resumed, not started over: about one copy of the 1 MB layer went through, not 1.3.
    let carried = proxy.carried.load(Ordering::SeqCst);
    assert!(carried < 1_031_289 + 150_000, "carried {carried} bytes");
    node.assert_clean(4, 2);
}

/// A token server for a registry's `auth: token` (what Docker Hub and most registries use):
/// answers `GET /token?scope=…&service=…` with a JWT signed by `key_pem` (whose certificate
/// `cert_pem` chains to the CA the registry trusts), for the user `coracle:s3cret` only.
struct TokenServer {
    port: u16,
    requests: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl TokenServer {
    fn start(cert_pem: String, key_pem: String) -> TokenServer {
        use base64::Engine as _;
        use std::io::{BufRead, BufReader, Write};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = requests.clone();
        let der = rcgen::KeyPair::from_pem(&key_pem).unwrap().serialize_der();
        let rng = ring::rand::SystemRandom::new();
        let key =
            ring::signature::EcdsaKeyPair::from_pkcs8(&ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING, &der, &rng)
                .expect("an ECDSA P-256 key");
        let cert_der = rustls_pem_der(&cert_pem);
        std::thread::spawn(move || {
            let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { return };
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut request_line = String::new();
                let _ = reader.read_line(&mut request_line);
                let mut authorized = false;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    let good = base64::engine::general_purpose::STANDARD.encode("coracle:s3cret");
                    if line.to_ascii_lowercase().starts_with("authorization:") && line.contains(&good) {
                        authorized = true;
                    }
                }
                if !authorized {
                    let _ =
                        conn.write_all(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                    continue;
                }
                // scope=repository:NAME:ACTIONS (url-encoded ':' and ',')
                let query = request_line.split_whitespace().nth(1).unwrap_or("").split('?').nth(1).unwrap_or("");
                let mut access = Vec::new();
                for pair in query.split('&') {
                    if let Some(scope) = pair.strip_prefix("scope=") {
                        let scope =
                            scope.replace("%3A", ":").replace("%3a", ":").replace("%2C", ",").replace("%2c", ",");
                        let parts: Vec<&str> = scope.splitn(3, ':').collect();
                        if parts.len() == 3 {
                            access.push(serde_json::json!({"type": parts[0], "name": parts[1],
                                "actions": parts[2].split(',').collect::<Vec<_>>()}));
                        }
                    }
                }
                let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
                let header = serde_json::json!({"typ": "JWT", "alg": "ES256",
                    "x5c": [base64::engine::general_purpose::STANDARD.encode(&cert_der)]});
                let claims = serde_json::json!({"iss": "coracle-test", "sub": "coracle", "aud": "coracle-registry",
                    "exp": now + 600, "nbf": now - 60, "iat": now, "jti": now.to_string(), "access": access});
                let input = format!("{}.{}", b64.encode(header.to_string()), b64.encode(claims.to_string()));
                let sig = key.sign(&rng, input.as_bytes()).unwrap();
                let token = format!("{input}.{}", b64.encode(sig.as_ref()));
                let body = serde_json::json!({"token": token, "access_token": token, "expires_in": 600}).to_string();
                let _ = conn.write_all(
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    )
                    .as_bytes(),
                );
            }
        });
        TokenServer { port, requests }
    }
}

/// The DER of the first certificate of a PEM text.
fn rustls_pem_der(pem: &str) -> Vec<u8> {
    use base64::Engine as _;
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD.decode(b64).unwrap()
}

#[test]
fn pull_with_token_auth() {
    let f = facts();
    let tmp = tempfile::tempdir().unwrap();
    let certs = coracle::server::certs::CertPaths::new(tmp.path());
    let c = coracle::server::certs::ensure(&certs, &["127.0.0.1".to_string()]).expect("test certificates");
    let tokens = TokenServer::start(c.serving_cert_pem.clone(), c.serving_key_pem.clone());
    let reg = Registry::start_with(&format!(
        "auth:\n  token:\n    realm: http://127.0.0.1:{}/token\n    service: coracle-registry\n    issuer: coracle-test\n    \
         rootcertbundle: {}\n",
        tokens.port,
        certs.ca_cert().display()
    ));
    reg.push(&archive("busybox-oci.tar"), "busybox:1.36", Some("coracle:s3cret"));
    let image = format!("{}/busybox:1.36", reg.host());
    let node = Node::new();
    let cfg = node.dir.path().join("registries.yaml");

    // Anonymous: the token server says no.
    let err = node.fails(&["pull", &image, "--plain-http"]);
    assert!(err.contains("refused access"), "{err}");
    node.assert_clean(0, 0);
    // With credentials: a token, then the image.
    std::fs::write(
        &cfg,
        format!("configs:\n  \"{}\":\n    auth:\n      username: coracle\n      password: s3cret\n", reg.host()),
    )
    .unwrap();
    let before = tokens.requests.load(std::sync::atomic::Ordering::SeqCst);
    node.ok(&["pull", &image, "--plain-http", "-q", "--registries-config", cfg.to_str().unwrap()]);
    assert!(tokens.requests.load(std::sync::atomic::Ordering::SeqCst) > before, "a token was asked for");
    assert_eq!(node.inspect(&image)["id"], f["id"]);
    node.assert_clean(4, 2);
}

#[test]
fn a_killed_import_leaves_nothing_after_the_next_write() {
    use std::io::Write;
    let node = Node::new();
    node.ok(&["ls"]);
    // The archive comes through a FIFO: the import reads half of it, then waits for more.
    let fifo = node.dir.path().join("busybox.fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_coracle"))
        .args(["images", "import", "--data-dir"])
        .arg(node.data())
        .arg(&fifo)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let bytes = std::fs::read(archive("busybox-docker.tar")).unwrap();
    let mut w = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    w.write_all(&bytes[..bytes.len() / 2]).unwrap();
    w.flush().unwrap();
    let ingest = node.content().join("ingest");
    let deadline = Instant::now() + Duration::from_secs(10);
    while du(&ingest) < 500_000 {
        assert!(Instant::now() < deadline, "the import did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL: no cleanup of its own
    child.wait().unwrap();
    drop(w);
    assert_eq!(count(&ingest), 1, "the killed import's work dir is there");
    assert!(node.refs().is_empty(), "but no image");
    node.assert_clean_blobs_and_snapshots(0, 0);
    // The next write removes it.
    node.ok(&["import", archive("busybox-oci.tar").to_str().unwrap()]);
    node.assert_clean(4, 2);
}
