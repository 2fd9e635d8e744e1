//! A container's root filesystem: an overlayfs of the image's layer snapshots (read-only lower
//! dirs) and the container's own upper and work dirs.

use std::path::{Path, PathBuf};

use nix::mount::{MntFlags, MsFlags};

/// Why the rootfs could not be mounted.
#[derive(Debug, thiserror::Error)]
pub enum RootfsError {
    #[error("layer path {0} contains ':' or ',', which overlayfs options cannot carry")]
    BadPath(PathBuf),
    #[error("layer {0} is not a directory (is the image unpacked?)")]
    MissingLayer(PathBuf),
    #[error("overlay mount options are {0} bytes, over the page size; the image has too many layers")]
    TooLong(usize),
    #[error("mount overlay on {target}: {errno}")]
    Mount { target: PathBuf, errno: nix::Error },
    #[error("unmount {target}: {errno}")]
    Unmount { target: PathBuf, errno: nix::Error },
}

/// The overlay options for `layers` (lowest first, as images list them).
pub fn overlay_options(layers: &[PathBuf], upper: &Path, work: &Path) -> Result<String, RootfsError> {
    for p in layers.iter().map(|p| p.as_path()).chain([upper, work]) {
        let s = p.to_string_lossy();
        if s.contains(':') || s.contains(',') {
            return Err(RootfsError::BadPath(p.to_path_buf()));
        }
    }
    // overlayfs wants the highest layer first.
    let lower: Vec<String> = layers.iter().rev().map(|p| p.to_string_lossy().into_owned()).collect();
    let opts = format!("lowerdir={},upperdir={},workdir={}", lower.join(":"), upper.display(), work.display());
    let page = 4096;
    if opts.len() >= page {
        return Err(RootfsError::TooLong(opts.len()));
    }
    Ok(opts)
}

/// Mount the overlay at `target`. With no layers (a `scratch` image) an empty lower dir next to
/// `upper` is used.
pub fn mount(layers: &[PathBuf], upper: &Path, work: &Path, target: &Path) -> Result<(), RootfsError> {
    let mut layers = layers.to_vec();
    if layers.is_empty() {
        let empty = upper.with_file_name("empty");
        let _ = std::fs::create_dir_all(&empty);
        layers.push(empty);
    }
    for l in &layers {
        if !l.is_dir() {
            return Err(RootfsError::MissingLayer(l.clone()));
        }
    }
    let opts = overlay_options(&layers, upper, work)?;
    nix::mount::mount(Some("overlay"), target, Some("overlay"), MsFlags::empty(), Some(opts.as_str()))
        .map_err(|errno| RootfsError::Mount { target: target.to_path_buf(), errno })
}

/// Unmount `target` if it is a mount point; a busy mount is detached (lazily unmounted).
pub fn unmount(target: &Path) -> Result<(), RootfsError> {
    for _ in 0..50 {
        if !is_mount_point(target) {
            return Ok(());
        }
        match nix::mount::umount2(target, MntFlags::empty()) {
            Ok(()) => {}
            Err(nix::Error::EINVAL) | Err(nix::Error::ENOENT) => return Ok(()),
            Err(nix::Error::EBUSY) => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(errno) => return Err(RootfsError::Unmount { target: target.to_path_buf(), errno }),
        }
    }
    if is_mount_point(target) {
        nix::mount::umount2(target, MntFlags::MNT_DETACH)
            .map_err(|errno| RootfsError::Unmount { target: target.to_path_buf(), errno })?;
    }
    Ok(())
}

/// Mount points in this mount namespace (`/proc/self/mountinfo`, field 5, unescaped).
pub fn mount_points() -> Vec<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    text.lines().filter_map(|l| l.split(' ').nth(4)).map(|p| PathBuf::from(unescape(p))).collect()
}

pub fn is_mount_point(path: &Path) -> bool {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    mount_points().contains(&abs)
}

/// Mount points at or below `prefix`.
pub fn mounts_under(prefix: &Path) -> Vec<PathBuf> {
    mount_points().into_iter().filter(|m| m.starts_with(prefix)).collect()
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c)) {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highest_layer_comes_first() {
        let layers = vec![PathBuf::from("/s/base"), PathBuf::from("/s/mid"), PathBuf::from("/s/top")];
        let o = overlay_options(&layers, Path::new("/c/upper"), Path::new("/c/work")).unwrap();
        assert_eq!(o, "lowerdir=/s/top:/s/mid:/s/base,upperdir=/c/upper,workdir=/c/work");
        assert!(overlay_options(&[PathBuf::from("/a:b")], Path::new("/u"), Path::new("/w")).is_err());
    }

    #[test]
    fn mountinfo_paths_are_unescaped() {
        assert_eq!(unescape(r"/mnt/with\040space"), "/mnt/with space");
        assert_eq!(unescape("/plain"), "/plain");
        assert!(mount_points().contains(&PathBuf::from("/")));
    }
}
