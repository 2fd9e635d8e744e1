//! Unpacking one layer (a tar stream, plain, gzip or zstd) into a snapshot directory that
//! overlayfs can use as a lower layer.
//!
//! - Whiteouts become overlayfs whiteouts: `.wh.NAME` a 0/0 character device `NAME`,
//!   `.wh..wh..opq` the `trusted.overlay.opaque=y` attribute on its directory.
//! - Ownership (numeric), modes (setuid/setgid/sticky included), extended attributes
//!   (PAX `SCHILY.xattr.*`), modification times, hard links, device nodes and FIFOs are kept.
//! - Nothing is written outside the snapshot: entry names are cleaned lexically (a name that
//!   climbs above the root is refused), and symbolic links met on the way to an entry are
//!   followed as if the snapshot were `/` (as `chroot` would), never out of it. The last
//!   component of an entry is never followed: an existing link there is replaced.
//!
//! The snapshot does not depend on the layers below it, so each layer is unpacked once,
//! keyed by its diff id, and shared by every image that has it.

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::{self, BufRead, BufReader, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use filetime::FileTime;
use sha2::{Digest, Sha256};
use tar::EntryType;

/// Why a layer could not be unpacked.
#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    #[error("the layer is corrupt or truncated: {0}")]
    Read(io::Error),
    #[error("entry {0:?} would be written outside the root filesystem")]
    Escape(String),
    #[error("hard link {link:?} points at {target:?}, which is not an earlier file of this layer")]
    HardLink { link: String, target: String },
    #[error("entry {path:?}: {reason}")]
    Entry { path: String, reason: String },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> UnpackError + '_ {
    move |source| UnpackError::Io { path: path.to_path_buf(), source }
}

/// How a blob is compressed, told by its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    pub fn detect(magic: &[u8]) -> Compression {
        if magic.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }

    /// The OCI layer media type for this compression.
    pub fn layer_media_type(self) -> &'static str {
        match self {
            Compression::None => "application/vnd.oci.image.layer.v1.tar",
            Compression::Gzip => "application/vnd.oci.image.layer.v1.tar+gzip",
            Compression::Zstd => "application/vnd.oci.image.layer.v1.tar+zstd",
        }
    }
}

/// A reader that decompresses whatever `reader` holds (plain, gzip or zstd).
pub fn decompress<'a, R: Read + 'a>(reader: R) -> io::Result<Box<dyn Read + 'a>> {
    let mut buf = BufReader::with_capacity(256 * 1024, reader);
    Ok(match Compression::detect(buf.fill_buf()?) {
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(buf)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(buf)?),
        Compression::None => Box::new(buf),
    })
}

/// A reader that hashes and counts what passes through it.
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
}

impl<R: Read> HashingReader<R> {
    pub fn new(inner: R) -> Self {
        HashingReader { inner, hasher: Sha256::new(), count: 0 }
    }
    /// `sha256:<hex>` of everything read so far, and its length.
    pub fn finish(self) -> (String, u64) {
        (format!("sha256:{}", hex(&self.hasher.finalize())), self.count)
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What unpacking a layer found.
#[derive(Clone, Debug)]
pub struct Unpacked {
    /// `sha256:` of the uncompressed tar stream (the layer's diff id).
    pub diff_id: String,
    /// Bytes of the uncompressed tar stream.
    pub size: u64,
    pub entries: u64,
}

/// Unpack the layer read from `reader` into `dest`, an existing (normally empty) directory.
pub fn unpack_layer<R: Read>(reader: R, dest: &Path) -> Result<Unpacked, UnpackError> {
    let stream = HashingReader::new(decompress(reader).map_err(UnpackError::Read)?);
    let mut archive = tar::Archive::new(stream);
    let mut dirs: Vec<(PathBuf, FileTime)> = Vec::new();
    let mut entries = 0;
    for entry in archive.entries().map_err(UnpackError::Read)? {
        let mut entry = entry.map_err(UnpackError::Read)?;
        apply_entry(&mut entry, dest, &mut dirs)?;
        entries += 1;
    }
    // The diff id covers the whole stream, padding after the end-of-archive marker included.
    let mut stream = archive.into_inner();
    io::copy(&mut stream, &mut io::sink()).map_err(UnpackError::Read)?;
    // A directory's time changes as entries are made inside it: set them last.
    for (dir, mtime) in dirs.iter().rev() {
        filetime::set_symlink_file_times(dir, *mtime, *mtime).map_err(io_err(dir))?;
    }
    let (diff_id, size) = stream.finish();
    Ok(Unpacked { diff_id, size, entries })
}

/// Split an entry name into clean components; `None` if it climbs above the root.
fn clean(name: &Path) -> Option<Vec<OsString>> {
    let mut out: Vec<OsString> = Vec::new();
    for c in name.components() {
        match c {
            Component::Normal(s) => out.push(s.to_os_string()),
            Component::ParentDir => {
                out.pop()?;
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    Some(out)
}

/// The real directory that `comps` (relative to `root`) names, following symbolic links as if
/// `root` were `/`. Missing directories are made when `create` is set.
fn resolve_dir(root: &Path, comps: &[OsString], create: bool) -> Result<PathBuf, UnpackError> {
    let mut todo: VecDeque<OsString> = comps.iter().cloned().collect();
    let mut dir = root.to_path_buf();
    let mut depth = 0usize;
    let mut links = 0;
    while let Some(c) = todo.pop_front() {
        if c == ".." {
            if depth > 0 {
                dir.pop();
                depth -= 1;
            }
            continue;
        }
        if c.is_empty() || c == "." {
            continue;
        }
        let next = dir.join(&c);
        match fs::symlink_metadata(&next) {
            Ok(m) if m.file_type().is_symlink() => {
                links += 1;
                if links > 40 {
                    return Err(UnpackError::Entry {
                        path: display(comps),
                        reason: "too many levels of symbolic links".into(),
                    });
                }
                let target = fs::read_link(&next).map_err(io_err(&next))?;
                if target.is_absolute() {
                    dir = root.to_path_buf();
                    depth = 0;
                }
                for t in target.components().rev() {
                    match t {
                        Component::Normal(s) => todo.push_front(s.to_os_string()),
                        Component::ParentDir => todo.push_front("..".into()),
                        _ => {}
                    }
                }
            }
            Ok(m) if m.is_dir() => {
                dir = next;
                depth += 1;
            }
            Ok(_) => {
                return Err(UnpackError::Entry { path: display(comps), reason: "a parent is not a directory".into() });
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound && create => {
                fs::create_dir(&next).map_err(io_err(&next))?;
                fs::set_permissions(&next, fs::Permissions::from_mode(0o755)).map_err(io_err(&next))?;
                dir = next;
                depth += 1;
            }
            Err(e) => return Err(UnpackError::Io { path: next, source: e }),
        }
    }
    Ok(dir)
}

fn display(comps: &[OsString]) -> String {
    comps.iter().map(|c| c.to_string_lossy()).collect::<Vec<_>>().join("/")
}

/// Remove whatever is at `path` (never following a link), unless it is a directory and `keep_dir`.
fn clear(path: &Path, keep_dir: bool) -> Result<(), UnpackError> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => {
            if keep_dir {
                Ok(())
            } else {
                fs::remove_dir_all(path).map_err(io_err(path))
            }
        }
        Ok(_) => fs::remove_file(path).map_err(io_err(path)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(UnpackError::Io { path: path.to_path_buf(), source: e }),
    }
}

const WHITEOUT_PREFIX: &str = ".wh.";
const OPAQUE: &str = ".wh..wh..opq";
const OVERLAY_OPAQUE_XATTR: &str = "trusted.overlay.opaque";

fn apply_entry<R: Read>(
    entry: &mut tar::Entry<'_, R>,
    root: &Path,
    dirs: &mut Vec<(PathBuf, FileTime)>,
) -> Result<(), UnpackError> {
    let raw_name = entry.path().map_err(UnpackError::Read)?.into_owned();
    let name_str = raw_name.to_string_lossy().into_owned();
    let comps = clean(&raw_name).ok_or_else(|| UnpackError::Escape(name_str.clone()))?;
    let kind = entry.header().entry_type();
    if matches!(kind, EntryType::XGlobalHeader | EntryType::XHeader | EntryType::GNULongName | EntryType::GNULongLink) {
        return Ok(());
    }
    let header = entry.header();
    let mode = header.mode().map_err(UnpackError::Read)? & 0o7777;
    // Some writers leave owner and time fields empty; GNU tar reads those as 0, and so do we.
    let uid = header.uid().unwrap_or(0);
    let gid = header.gid().unwrap_or(0);
    let mtime = FileTime::from_unix_time(header.mtime().unwrap_or(0) as i64, 0);
    let (uid, gid) = match (u32::try_from(uid), u32::try_from(gid)) {
        (Ok(u), Ok(g)) => (u, g),
        _ => return Err(UnpackError::Entry { path: name_str, reason: "owner id out of range".into() }),
    };

    let Some((base, parent)) = comps.split_last() else {
        // The root directory itself ("./"): take its metadata.
        if kind == EntryType::Directory {
            set_owner_mode(root, uid, gid, Some(mode))?;
            dirs.push((root.to_path_buf(), mtime));
        }
        return Ok(());
    };

    // Whiteouts.
    let base_bytes = base.as_bytes();
    if base_bytes.starts_with(WHITEOUT_PREFIX.as_bytes()) {
        let dir = resolve_dir(root, parent, true)?;
        if base == OPAQUE {
            xattr::set(&dir, OVERLAY_OPAQUE_XATTR, b"y").map_err(io_err(&dir))?;
        } else if base_bytes.starts_with(b".wh..wh.") {
            // aufs metadata (.wh..wh.plnk and the like): nothing to do on overlayfs.
        } else {
            let hidden = OsStr::from_bytes(&base_bytes[WHITEOUT_PREFIX.len()..]);
            if hidden.is_empty() || hidden == "." || hidden == ".." {
                return Err(UnpackError::Entry { path: name_str, reason: "invalid whiteout".into() });
            }
            let target = dir.join(hidden);
            clear(&target, false)?;
            nix::sys::stat::mknod(
                &target,
                nix::sys::stat::SFlag::S_IFCHR,
                nix::sys::stat::Mode::empty(),
                nix::sys::stat::makedev(0, 0),
            )
            .map_err(|e| UnpackError::Io { path: target.clone(), source: e.into() })?;
            set_owner_mode(&target, uid, gid, None)?;
        }
        return Ok(());
    }

    let dir = resolve_dir(root, parent, true)?;
    let target = dir.join(base);
    let xattrs = pax_xattrs(entry)?;

    match kind {
        EntryType::Directory => {
            match fs::symlink_metadata(&target) {
                Ok(m) if m.is_dir() => {}
                _ => {
                    clear(&target, false)?;
                    fs::create_dir(&target).map_err(io_err(&target))?;
                }
            }
            set_owner_mode(&target, uid, gid, Some(mode))?;
            set_xattrs(&target, &xattrs)?;
            dirs.push((target, mtime));
            return Ok(());
        }
        EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
            clear(&target, false)?;
            let mut f = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(nix::libc::O_NOFOLLOW)
                .open(&target)
                .map_err(io_err(&target))?;
            io::copy(entry, &mut f).map_err(UnpackError::Read)?;
            set_owner_mode(&target, uid, gid, Some(mode))?;
        }
        EntryType::Symlink => {
            let link = entry
                .link_name()
                .map_err(UnpackError::Read)?
                .ok_or_else(|| UnpackError::Entry {
                    path: name_str.clone(),
                    reason: "symbolic link without target".into(),
                })?
                .into_owned();
            clear(&target, false)?;
            std::os::unix::fs::symlink(&link, &target).map_err(io_err(&target))?;
            set_owner_mode(&target, uid, gid, None)?;
        }
        EntryType::Link => {
            let link = entry
                .link_name()
                .map_err(UnpackError::Read)?
                .ok_or_else(|| UnpackError::Entry {
                    path: name_str.clone(),
                    reason: "hard link without target".into(),
                })?
                .into_owned();
            let link_str = link.to_string_lossy().into_owned();
            let bad = || UnpackError::HardLink { link: name_str.clone(), target: link_str.clone() };
            let lcomps = clean(&link).ok_or_else(|| UnpackError::Escape(link_str.clone()))?;
            let (lbase, lparent) = lcomps.split_last().ok_or_else(bad)?;
            let source = resolve_dir(root, lparent, false).map_err(|_| bad())?.join(lbase);
            match fs::symlink_metadata(&source) {
                Ok(m) if !m.is_dir() => {}
                _ => return Err(bad()),
            }
            if source == target {
                return Ok(());
            }
            clear(&target, false)?;
            fs::hard_link(&source, &target).map_err(io_err(&target))?;
            // A hard link shares its inode (owner, mode, times) with its target.
            return Ok(());
        }
        EntryType::Char | EntryType::Block | EntryType::Fifo => {
            use nix::sys::stat::SFlag;
            let flag = match kind {
                EntryType::Char => SFlag::S_IFCHR,
                EntryType::Block => SFlag::S_IFBLK,
                _ => SFlag::S_IFIFO,
            };
            let major = entry.header().device_major().map_err(UnpackError::Read)?.unwrap_or(0);
            let minor = entry.header().device_minor().map_err(UnpackError::Read)?.unwrap_or(0);
            clear(&target, false)?;
            nix::sys::stat::mknod(
                &target,
                flag,
                nix::sys::stat::Mode::from_bits_truncate(0o600),
                nix::sys::stat::makedev(major.into(), minor.into()),
            )
            .map_err(|e| UnpackError::Io { path: target.clone(), source: e.into() })?;
            set_owner_mode(&target, uid, gid, Some(mode))?;
        }
        other => {
            tracing::debug!(entry = %name_str, kind = ?other, "skipping unsupported tar entry");
            return Ok(());
        }
    }
    set_xattrs(&target, &xattrs)?;
    filetime::set_symlink_file_times(&target, mtime, mtime).map_err(io_err(&target))?;
    Ok(())
}

/// Owner first (it clears set-id bits), then the mode (links have none of their own).
fn set_owner_mode(path: &Path, uid: u32, gid: u32, mode: Option<u32>) -> Result<(), UnpackError> {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid)).map_err(io_err(path))?;
    if let Some(mode) = mode {
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(io_err(path))?;
    }
    Ok(())
}

fn pax_xattrs<R: Read>(entry: &mut tar::Entry<'_, R>) -> Result<Vec<(String, Vec<u8>)>, UnpackError> {
    let mut out = Vec::new();
    if let Some(exts) = entry.pax_extensions().map_err(UnpackError::Read)? {
        for ext in exts {
            let ext = ext.map_err(UnpackError::Read)?;
            if let Ok(key) = ext.key()
                && let Some(name) = key.strip_prefix("SCHILY.xattr.")
            {
                out.push((name.to_string(), ext.value_bytes().to_vec()));
            }
        }
    }
    Ok(out)
}

fn set_xattrs(path: &Path, xattrs: &[(String, Vec<u8>)]) -> Result<(), UnpackError> {
    for (name, value) in xattrs {
        if let Err(e) = xattr::set(path, name, value) {
            // A file system without that namespace (or without xattrs) is not a reason to fail the image.
            if matches!(e.raw_os_error(), Some(nix::libc::ENOTSUP) | Some(nix::libc::EPERM)) {
                tracing::warn!(path = %path.display(), xattr = %name, error = %e, "extended attribute not kept");
            } else {
                return Err(UnpackError::Io { path: path.to_path_buf(), source: e });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::fs::{FileTypeExt, MetadataExt};

    fn is_root() -> bool {
        fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false)
    }

    /// A tar builder with helpers for the entry kinds the tests need.
    struct Layer(tar::Builder<Vec<u8>>);

    impl Layer {
        fn new() -> Layer {
            Layer(tar::Builder::new(Vec::new()))
        }
        fn header(kind: EntryType, mode: u32, size: u64) -> tar::Header {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(kind);
            h.set_mode(mode);
            h.set_size(size);
            h.set_mtime(1_700_000_000);
            h.set_uid(0);
            h.set_gid(0);
            h
        }
        fn file(mut self, name: &str, data: &[u8], mode: u32, uid: u64) -> Self {
            let mut h = Self::header(EntryType::Regular, mode, data.len() as u64);
            h.set_uid(uid);
            h.set_gid(uid);
            self.raw(h, name, data);
            self
        }
        fn dir(mut self, name: &str, mode: u32) -> Self {
            self.raw(Self::header(EntryType::Directory, mode, 0), name, &[]);
            self
        }
        fn symlink(mut self, name: &str, target: &str) -> Self {
            let mut h = Self::header(EntryType::Symlink, 0o777, 0);
            self.0.append_link(&mut h, name, target).unwrap();
            self
        }
        fn hardlink(mut self, name: &str, target: &str) -> Self {
            let mut h = Self::header(EntryType::Link, 0o644, 0);
            self.0.append_link(&mut h, name, target).unwrap();
            self
        }
        /// Writes the name into the header by hand, so that names tar::Builder refuses (`..`) get in.
        fn raw(&mut self, mut h: tar::Header, name: &str, data: &[u8]) {
            let bytes = name.as_bytes();
            let field = &mut h.as_old_mut().name;
            field.fill(0);
            field[..bytes.len()].copy_from_slice(bytes);
            h.set_cksum();
            self.0.append(&h, data).unwrap();
        }
        fn tar(self) -> Vec<u8> {
            self.0.into_inner().unwrap()
        }
    }

    fn unpack(tar: &[u8]) -> (tempfile::TempDir, Result<Unpacked, UnpackError>) {
        let dir = tempfile::tempdir().unwrap();
        let r = unpack_layer(tar, dir.path());
        (dir, r)
    }

    fn sha(data: &[u8]) -> String {
        format!("sha256:{}", hex(&Sha256::digest(data)))
    }

    #[test]
    fn files_dirs_links_modes_owners() {
        let tar = Layer::new()
            .dir("etc/", 0o755)
            .file("etc/passwd", b"root:x:0:0::/root:/bin/sh\n", 0o644, 0)
            .file("bin/su", b"#!", 0o4755, 0)
            .dir("tmp", 0o1777)
            .file("home/app/notes", b"hi", 0o600, 1000)
            .symlink("bin/sh", "busybox")
            .symlink("abs", "/etc/passwd")
            .tar();
        let (dir, r) = unpack(&tar);
        let u = r.unwrap();
        assert_eq!(u.diff_id, sha(&tar));
        assert_eq!(u.size, tar.len() as u64);
        let root = dir.path();
        assert_eq!(fs::read(root.join("etc/passwd")).unwrap(), b"root:x:0:0::/root:/bin/sh\n");
        let m = |p: &str| fs::symlink_metadata(root.join(p)).unwrap();
        assert_eq!(m("bin/su").mode() & 0o7777, 0o4755);
        assert_eq!(m("tmp").mode() & 0o7777, 0o1777);
        assert!(m("tmp").is_dir());
        assert_eq!(m("etc/passwd").mtime(), 1_700_000_000);
        assert_eq!(m("etc").mtime(), 1_700_000_000, "directory times are set after their content");
        // Parents missing from the tar are made.
        assert!(m("home/app").is_dir());
        assert_eq!(fs::read_link(root.join("bin/sh")).unwrap(), Path::new("busybox"));
        assert_eq!(fs::read_link(root.join("abs")).unwrap(), Path::new("/etc/passwd"));
        if is_root() {
            assert_eq!((m("home/app/notes").uid(), m("home/app/notes").gid()), (1000, 1000));
        }
    }

    #[test]
    fn gzip_and_zstd_layers_have_the_plain_diff_id() {
        let tar = Layer::new().file("a", b"data", 0o644, 0).dir("d", 0o755).tar();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar).unwrap();
        let gz = gz.finish().unwrap();
        let zst = zstd::encode_all(&tar[..], 3).unwrap();
        assert_eq!(Compression::detect(&gz), Compression::Gzip);
        assert_eq!(Compression::detect(&zst), Compression::Zstd);
        assert_eq!(Compression::detect(&tar), Compression::None);
        for blob in [&tar, &gz, &zst] {
            let (dir, r) = unpack(blob);
            assert_eq!(r.unwrap().diff_id, sha(&tar));
            assert_eq!(fs::read(dir.path().join("a")).unwrap(), b"data");
        }
    }

    #[test]
    fn corrupt_and_truncated_layers_fail() {
        let tar = Layer::new().file("a", &[7u8; 5000], 0o644, 0).tar();
        let (_d, r) = unpack(&tar[..1200]);
        assert!(matches!(r, Err(UnpackError::Read(_))), "{r:?}");
        let zst = zstd::encode_all(&tar[..], 3).unwrap();
        let (_d, r) = unpack(&zst[..zst.len() / 2]);
        assert!(matches!(r, Err(UnpackError::Read(_))), "{r:?}");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar).unwrap();
        let mut gz = gz.finish().unwrap();
        let n = gz.len();
        gz[n / 2] ^= 0xff;
        let (_d, r) = unpack(&gz);
        assert!(r.is_err());
    }

    #[test]
    fn whiteouts_and_opaque_dirs() {
        if !is_root() {
            eprintln!("skipped: overlayfs whiteouts need root");
            return;
        }
        let tar = Layer::new()
            .file("etc/.wh.motd", b"", 0o644, 0)
            .dir("var/cache", 0o755)
            .file("var/cache/.wh..wh..opq", b"", 0o644, 0)
            .file("var/cache/new", b"n", 0o644, 0)
            .file(".wh..wh.plnk", b"", 0o644, 0)
            .tar();
        let (dir, r) = unpack(&tar);
        r.unwrap();
        let w = fs::symlink_metadata(dir.path().join("etc/motd")).unwrap();
        assert!(w.file_type().is_char_device());
        assert_eq!(w.rdev(), 0);
        assert!(!dir.path().join("etc/.wh.motd").exists());
        assert_eq!(xattr::get(dir.path().join("var/cache"), OVERLAY_OPAQUE_XATTR).unwrap(), Some(b"y".to_vec()));
        assert!(!dir.path().join("var/cache/.wh..wh..opq").exists());
        assert!(dir.path().join("var/cache/new").exists());
        assert!(!dir.path().join(".wh..wh.plnk").exists());
    }

    #[test]
    fn names_that_climb_out_are_refused() {
        for name in ["../evil", "a/../../evil", "./../evil"] {
            let outside = tempfile::tempdir().unwrap();
            let root = outside.path().join("root");
            fs::create_dir(&root).unwrap();
            let tar = Layer::new().file(name, b"x", 0o644, 0).tar();
            let r = unpack_layer(&tar[..], &root);
            assert!(matches!(r, Err(UnpackError::Escape(_))), "{name}: {r:?}");
            assert!(!outside.path().join("evil").exists(), "{name}");
        }
        // An absolute name or a harmless `..` stays inside.
        let tar = Layer::new().file("/abs/file", b"x", 0o644, 0).file("a/../b", b"y", 0o644, 0).tar();
        let (dir, r) = unpack(&tar);
        r.unwrap();
        assert!(dir.path().join("abs/file").exists());
        assert!(dir.path().join("b").exists());
    }

    #[test]
    fn symlinks_are_followed_inside_the_root_only() {
        let outside = tempfile::tempdir().unwrap();
        let root = outside.path().join("root");
        fs::create_dir(&root).unwrap();
        let victim = outside.path().join("victim");
        fs::create_dir(&victim).unwrap();
        let tar = Layer::new()
            .symlink("abs", "/")
            .symlink("up", "../../../../..")
            .symlink("out", victim.to_str().unwrap())
            .file("abs/etc/a", b"1", 0o644, 0)
            .file("up/b", b"2", 0o644, 0)
            .file("out/c", b"3", 0o644, 0)
            // A link at the last component is replaced, not written through.
            .symlink("passwd", victim.join("target").to_str().unwrap())
            .file("passwd", b"new", 0o644, 0)
            .tar();
        let r = unpack_layer(&tar[..], &root);
        r.unwrap();
        assert_eq!(fs::read(root.join("etc/a")).unwrap(), b"1");
        assert_eq!(fs::read(root.join("b")).unwrap(), b"2");
        // `out` points at an absolute host path: inside the root that is <root><victim>.
        assert_eq!(fs::read(root.join(victim.strip_prefix("/").unwrap()).join("c")).unwrap(), b"3");
        assert_eq!(fs::read_dir(&victim).unwrap().count(), 0, "nothing written outside the root");
        assert!(!fs::symlink_metadata(root.join("passwd")).unwrap().file_type().is_symlink());
        assert_eq!(fs::read(root.join("passwd")).unwrap(), b"new");
    }

    #[test]
    fn hard_links() {
        let tar = Layer::new()
            .file("bin/busybox", b"ELF", 0o755, 0)
            .hardlink("bin/ls", "bin/busybox")
            .hardlink("usr/bin/cat", "./bin/busybox")
            .tar();
        let (dir, r) = unpack(&tar);
        r.unwrap();
        let ino = |p: &str| fs::metadata(dir.path().join(p)).unwrap().ino();
        assert_eq!(ino("bin/ls"), ino("bin/busybox"));
        assert_eq!(ino("usr/bin/cat"), ino("bin/busybox"));
        assert_eq!(fs::metadata(dir.path().join("bin/busybox")).unwrap().nlink(), 3);

        // A target outside the root, or missing, is refused.
        let outside = tempfile::tempdir().unwrap();
        let root = outside.path().join("root");
        fs::create_dir(&root).unwrap();
        fs::write(outside.path().join("secret"), b"s").unwrap();
        let tar = Layer::new().hardlink("x", "../secret").tar();
        assert!(matches!(unpack_layer(&tar[..], &root), Err(UnpackError::Escape(_))));
        let tar = Layer::new().hardlink("x", "missing").tar();
        assert!(matches!(unpack_layer(&tar[..], &root), Err(UnpackError::HardLink { .. })));
        // Through a symlink to the host's root: resolved inside the snapshot, where it is missing.
        let tar = Layer::new().symlink("host", "/").hardlink("y", "host/etc/passwd").tar();
        assert!(matches!(unpack_layer(&tar[..], &root), Err(UnpackError::HardLink { .. })));
        assert!(!root.join("y").exists());
    }

    #[test]
    fn xattrs_from_pax_headers() {
        let mut b = tar::Builder::new(Vec::new());
        b.append_pax_extensions([("SCHILY.xattr.user.coracle", b"yes".as_slice())]).unwrap();
        let mut h = Layer::header(EntryType::Regular, 0o644, 1);
        b.append_data(&mut h, "f", &b"x"[..]).unwrap();
        let tar = b.into_inner().unwrap();
        let (dir, r) = unpack(&tar);
        r.unwrap();
        let got = xattr::get(dir.path().join("f"), "user.coracle").unwrap();
        // tmpfs without user xattrs keeps none; everywhere else the value is there.
        if let Some(v) = got {
            assert_eq!(v, b"yes");
        }
    }

    #[test]
    fn replacing_entries_across_kinds() {
        let tar = Layer::new()
            .file("x", b"file", 0o644, 0)
            .dir("x", 0o700)
            .file("x/inner", b"i", 0o644, 0)
            .file("x", b"file again", 0o644, 0)
            .dir("d", 0o755)
            .dir("d", 0o700)
            .tar();
        let (dir, r) = unpack(&tar);
        r.unwrap();
        assert_eq!(fs::read(dir.path().join("x")).unwrap(), b"file again");
        assert_eq!(fs::metadata(dir.path().join("d")).unwrap().mode() & 0o777, 0o700);
    }
}
