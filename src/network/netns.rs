//! Named network namespaces, as `ip netns add` makes them: a new namespace
//! bind-mounted at `/run/netns/<name>`, so it outlives every process in it and
//! the CNI plugins, the runtime and `ip netns exec` can all find it by path.

use std::path::{Path, PathBuf};

use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sched::{CloneFlags, unshare};

/// Where named namespaces live.
pub const NETNS_DIR: &str = "/run/netns";

#[derive(Debug, thiserror::Error)]
pub enum NetnsError {
    #[error("network namespace {name}: {what}: {source}")]
    Sys { name: String, what: &'static str, source: nix::Error },
    #[error("network namespace {name}: {what}: {source}")]
    Io { name: String, what: &'static str, source: std::io::Error },
}

/// The path of a named namespace.
pub fn path(name: &str) -> PathBuf {
    Path::new(NETNS_DIR).join(name)
}

/// Make `/run/netns` a shared mount point, so namespace mounts made under it
/// propagate to other mount namespaces (what `ip netns` does).
fn prepare_dir(name: &str) -> Result<(), NetnsError> {
    std::fs::create_dir_all(NETNS_DIR).map_err(|source| NetnsError::Io {
        name: name.into(),
        what: "creating /run/netns",
        source,
    })?;
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mounted = mountinfo.lines().any(|l| l.split_whitespace().nth(4) == Some(NETNS_DIR));
    if !mounted {
        mount(Some(NETNS_DIR), NETNS_DIR, None::<&str>, MsFlags::MS_BIND | MsFlags::MS_REC, None::<&str>)
            .map_err(|source| NetnsError::Sys { name: name.into(), what: "bind-mounting /run/netns", source })?;
    }
    mount(None::<&str>, NETNS_DIR, None::<&str>, MsFlags::MS_SHARED | MsFlags::MS_REC, None::<&str>)
        .map_err(|source| NetnsError::Sys { name: name.into(), what: "sharing /run/netns", source })
}

/// Create a named namespace (idempotent: an existing one is kept).
pub fn create(name: &str) -> Result<PathBuf, NetnsError> {
    let target = path(name);
    if exists(name) {
        return Ok(target);
    }
    prepare_dir(name)?;
    std::fs::File::create(&target).map_err(|source| NetnsError::Io {
        name: name.into(),
        what: "creating the mount point",
        source,
    })?;
    // unshare(CLONE_NEWNET) changes only the calling thread: do it on a thread of
    // our own that ends right after, so no other thread ever runs in the new namespace.
    let n = name.to_string();
    let t = target.clone();
    let result = std::thread::spawn(move || -> Result<(), NetnsError> {
        unshare(CloneFlags::CLONE_NEWNET).map_err(|source| NetnsError::Sys {
            name: n.clone(),
            what: "unshare",
            source,
        })?;
        mount(Some("/proc/thread-self/ns/net"), &t, None::<&str>, MsFlags::MS_BIND, None::<&str>)
            .map_err(|source| NetnsError::Sys { name: n, what: "bind-mounting", source })
    })
    .join()
    .unwrap_or_else(|_| {
        Err(NetnsError::Io { name: name.into(), what: "namespace thread", source: std::io::Error::other("panicked") })
    });
    if let Err(e) = result {
        let _ = std::fs::remove_file(&target);
        return Err(e);
    }
    Ok(target)
}

/// Whether a named namespace exists (a mounted nsfs file).
pub fn exists(name: &str) -> bool {
    let p = path(name);
    let want = p.to_string_lossy().to_string();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split_whitespace().nth(4) == Some(want.as_str()))
}

/// Remove a named namespace (unmount and delete the file); absent is fine.
pub fn delete(name: &str) -> Result<(), NetnsError> {
    let p = path(name);
    if exists(name) {
        umount2(&p, MntFlags::MNT_DETACH).map_err(|source| NetnsError::Sys {
            name: name.into(),
            what: "unmounting",
            source,
        })?;
    }
    match std::fs::remove_file(&p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(NetnsError::Io { name: name.into(), what: "removing", source }),
    }
}

/// Names of the namespaces under `/run/netns` that start with `prefix`.
pub fn list(prefix: &str) -> Vec<String> {
    std::fs::read_dir(NETNS_DIR)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| n.starts_with(prefix))
                .collect()
        })
        .unwrap_or_default()
}
