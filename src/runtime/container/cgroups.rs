//! The cgroup side a container runtime needs besides what libcontainer does: finding a container's
//! cgroup dirs in every hierarchy (v1 and v2), its OOM kill count, and removing what a dead shim
//! left behind.

use std::path::{Path, PathBuf};

const ROOT: &str = "/sys/fs/cgroup";

/// Whether the host has only the unified (v2) hierarchy.
pub fn is_v2() -> bool {
    nix::sys::statfs::statfs(ROOT)
        .map(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC)
        .unwrap_or(false)
}

/// The mount points of every cgroup hierarchy (v1 controllers, named and unified ones).
pub fn hierarchies() -> Vec<PathBuf> {
    if is_v2() {
        return vec![PathBuf::from(ROOT)];
    }
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut out: Vec<PathBuf> = text
        .lines()
        .filter_map(|l| {
            let (pre, post) = l.split_once(" - ")?;
            let fstype = post.split(' ').next()?;
            if fstype != "cgroup" && fstype != "cgroup2" {
                return None;
            }
            Some(PathBuf::from(pre.split(' ').nth(4)?))
        })
        .filter(|p| p.starts_with(ROOT))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// `cgroups_path` (e.g. `/coracle-1a2b/abc`) in each hierarchy.
pub fn dirs(cgroups_path: &str) -> Vec<PathBuf> {
    let rel = cgroups_path.trim_start_matches('/');
    hierarchies().into_iter().map(|h| h.join(rel)).collect()
}

/// The dirs of `cgroups_path` that exist.
pub fn existing(cgroups_path: &str) -> Vec<PathBuf> {
    dirs(cgroups_path).into_iter().filter(|d| d.is_dir()).collect()
}

fn counter(file: &Path, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        if k == key { v.trim().parse().ok() } else { None }
    })
}

/// How many processes the kernel's OOM killer ended in this cgroup (v1 `memory.oom_control`,
/// v2 `memory.events`).
pub fn oom_kills(cgroups_path: &str) -> u64 {
    let rel = cgroups_path.trim_start_matches('/');
    if is_v2() {
        return counter(&Path::new(ROOT).join(rel).join("memory.events"), "oom_kill").unwrap_or(0);
    }
    counter(&Path::new(ROOT).join("memory").join(rel).join("memory.oom_control"), "oom_kill").unwrap_or(0)
}

/// The processes in the cgroup (from any hierarchy that has the dir).
pub fn procs(cgroups_path: &str) -> Vec<i32> {
    let mut out = Vec::new();
    for d in existing(cgroups_path) {
        let text = std::fs::read_to_string(d.join("cgroup.procs")).unwrap_or_default();
        for p in text.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    out
}

/// Kill whatever is still in the cgroup and remove its dirs everywhere (deepest first).
/// Used when a shim died and could not clean up; returns the dirs that could not be removed.
pub fn remove(cgroups_path: &str) -> Vec<PathBuf> {
    for _ in 0..100 {
        let pids = procs(cgroups_path);
        if pids.is_empty() {
            break;
        }
        for p in pids {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(p), nix::sys::signal::Signal::SIGKILL);
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let mut left = Vec::new();
    for d in existing(cgroups_path) {
        if let Err(e) = remove_tree(&d) {
            tracing::warn!(dir = %d.display(), error = %e, "cannot remove cgroup");
            left.push(d);
        }
    }
    left
}

/// cgroup dirs are removed with rmdir, children first.
fn remove_tree(dir: &Path) -> std::io::Result<()> {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                remove_tree(&e.path())?;
            }
        }
    }
    let mut last = Ok(());
    for _ in 0..50 {
        last = std::fs::remove_dir(dir);
        match &last {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
        }
    }
    last
}

/// Remove the instance's parent cgroup dirs if they are empty (no error when they are not).
pub fn remove_parent_if_empty(parent: &str) {
    for d in existing(parent) {
        let has_children = std::fs::read_dir(&d)
            .map(|es| es.flatten().any(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false)))
            .unwrap_or(true);
        if !has_children {
            let _ = std::fs::remove_dir(&d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_read_by_key() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("memory.oom_control");
        std::fs::write(&f, "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n").unwrap();
        assert_eq!(counter(&f, "oom_kill"), Some(2));
        assert_eq!(counter(&f, "missing"), None);
    }

    #[test]
    fn every_hierarchy_is_found() {
        let h = hierarchies();
        assert!(!h.is_empty());
        let d = dirs("/coracle-x/abc");
        assert!(d.iter().all(|p| p.ends_with("coracle-x/abc")));
    }
}
