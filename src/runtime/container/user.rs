//! The user a container process runs as: a numeric id or a name looked up in the image's
//! `/etc/passwd` and `/etc/group`, resolved as Docker and containerd do.

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// One `/etc/passwd` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasswdEntry {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
}

/// One `/etc/group` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupEntry {
    pub name: String,
    pub gid: u32,
    pub members: Vec<String>,
}

/// The resolved identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedUser {
    pub uid: u32,
    pub gid: u32,
    /// Groups from `/etc/group` that list the user, then the requested supplemental groups.
    pub additional_gids: Vec<u32>,
    /// From `/etc/passwd`; `/` when the user is not there.
    pub home: String,
}

/// Why a user could not be resolved.
#[derive(Debug, PartialEq, Eq)]
pub enum UserError {
    UnknownUser(String),
    UnknownGroup(String),
}

pub fn parse_passwd(text: &str) -> Vec<PasswdEntry> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 4 {
                return None;
            }
            Some(PasswdEntry {
                name: f[0].to_string(),
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
                home: f.get(5).map(|s| s.to_string()).unwrap_or_default(),
            })
        })
        .collect()
}

pub fn parse_group(text: &str) -> Vec<GroupEntry> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 3 {
                return None;
            }
            let members = f.get(3).map(|m| m.split(',').filter(|s| !s.is_empty()).map(String::from).collect());
            Some(GroupEntry { name: f[0].to_string(), gid: f[2].parse().ok()?, members: members.unwrap_or_default() })
        })
        .collect()
}

/// Resolve `spec` (`""` means root) against the given passwd and group entries.
pub fn resolve(
    spec: &str,
    passwd: &[PasswdEntry],
    groups: &[GroupEntry],
    supplemental: &[u32],
) -> Result<ResolvedUser, UserError> {
    let (user_part, group_part) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let user_part = if user_part.is_empty() { "0" } else { user_part };
    let entry = match user_part.parse::<u32>() {
        Ok(uid) => passwd.iter().find(|p| p.uid == uid).cloned().map(Ok).unwrap_or(Err(uid)),
        Err(_) => match passwd.iter().find(|p| p.name == user_part) {
            Some(p) => Ok(p.clone()),
            None => return Err(UserError::UnknownUser(user_part.to_string())),
        },
    };
    let (uid, mut gid, name, home) = match &entry {
        Ok(p) => (p.uid, p.gid, Some(p.name.clone()), p.home.clone()),
        Err(uid) => (*uid, 0, None, "/".to_string()),
    };
    if let Some(g) = group_part.filter(|g| !g.is_empty()) {
        gid = match g.parse::<u32>() {
            Ok(n) => n,
            Err(_) => match groups.iter().find(|e| e.name == g) {
                Some(e) => e.gid,
                None => return Err(UserError::UnknownGroup(g.to_string())),
            },
        };
    }
    let mut additional = Vec::new();
    // Docker: when a group was named explicitly the user's other groups are still added.
    if let Some(name) = &name {
        for g in groups.iter().filter(|g| g.members.iter().any(|m| m == name)) {
            if g.gid != gid && !additional.contains(&g.gid) {
                additional.push(g.gid);
            }
        }
    }
    for g in supplemental {
        if !additional.contains(g) {
            additional.push(*g);
        }
    }
    let home = if home.is_empty() { "/".to_string() } else { home };
    Ok(ResolvedUser { uid, gid, additional_gids: additional, home })
}

/// Read a small file inside a root filesystem without following symlinks out of it
/// (`etc` and the file itself must not be symlinks). Missing → empty.
pub fn read_rootfs_file(rootfs: &Path, rel: &str) -> String {
    let mut path = rootfs.to_path_buf();
    let parts: Vec<&str> = rel.split('/').filter(|p| !p.is_empty()).collect();
    for (i, part) in parts.iter().enumerate() {
        path.push(part);
        let Ok(meta) = std::fs::symlink_metadata(&path) else { return String::new() };
        if meta.file_type().is_symlink() || (i + 1 < parts.len() && !meta.is_dir()) {
            return String::new();
        }
    }
    let Ok(mut f) = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW).open(&path) else {
        return String::new();
    };
    let mut s = String::new();
    let _ = f.by_ref().take(4 << 20).read_to_string(&mut s);
    s
}

/// Resolve a user spec inside a root filesystem.
pub fn resolve_in_rootfs(rootfs: &Path, spec: &str, supplemental: &[u32]) -> Result<ResolvedUser, UserError> {
    let passwd = parse_passwd(&read_rootfs_file(rootfs, "etc/passwd"));
    let groups = parse_group(&read_rootfs_file(rootfs, "etc/group"));
    resolve(spec, &passwd, &groups, supplemental)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33:www-data:/var/www:/bin/false\n\
                          # comment\nbroken\nnobody:x:65534:65534:nobody:/home:/bin/false\n";
    const GROUP: &str = "root:x:0:\nwww-data:x:33:\nstaff:x:50:www-data,other\naudio:x:29:www-data\nnogroup:x:65534:\n";

    fn r(spec: &str) -> Result<ResolvedUser, UserError> {
        resolve(spec, &parse_passwd(PASSWD), &parse_group(GROUP), &[])
    }

    #[test]
    fn root_by_default() {
        let u = r("").unwrap();
        assert_eq!((u.uid, u.gid, u.home.as_str()), (0, 0, "/root"));
        assert!(u.additional_gids.is_empty());
    }

    #[test]
    fn names_come_from_passwd_and_group() {
        let u = r("www-data").unwrap();
        assert_eq!((u.uid, u.gid), (33, 33));
        assert_eq!(u.additional_gids, vec![50, 29]);
        assert_eq!(u.home, "/var/www");
        let u = r("www-data:staff").unwrap();
        assert_eq!((u.uid, u.gid), (33, 50));
        assert_eq!(u.additional_gids, vec![29]);
        let u = r("nobody:0").unwrap();
        assert_eq!((u.uid, u.gid), (65534, 0));
    }

    #[test]
    fn numbers_need_no_entry() {
        let u = r("1234").unwrap();
        assert_eq!((u.uid, u.gid, u.home.as_str()), (1234, 0, "/"));
        let u = r("1234:5678").unwrap();
        assert_eq!((u.uid, u.gid), (1234, 5678));
        // A numeric uid that is in passwd takes its primary group.
        let u = r("33").unwrap();
        assert_eq!((u.uid, u.gid), (33, 33));
        let u = r("33:nogroup").unwrap();
        assert_eq!((u.uid, u.gid), (33, 65534));
    }

    #[test]
    fn unknown_names_are_errors() {
        assert_eq!(r("alice"), Err(UserError::UnknownUser("alice".into())));
        assert_eq!(r("0:wheel"), Err(UserError::UnknownGroup("wheel".into())));
    }

    #[test]
    fn supplemental_groups_are_added_once() {
        let u = resolve("www-data", &parse_passwd(PASSWD), &parse_group(GROUP), &[50, 7]).unwrap();
        assert_eq!(u.additional_gids, vec![50, 29, 7]);
    }

    #[test]
    fn files_are_read_without_following_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("etc")).unwrap();
        std::fs::write(dir.path().join("etc/passwd"), PASSWD).unwrap();
        std::os::unix::fs::symlink("/etc/hostname", dir.path().join("etc/group")).unwrap();
        assert!(read_rootfs_file(dir.path(), "etc/passwd").contains("www-data"));
        assert_eq!(read_rootfs_file(dir.path(), "etc/group"), "");
        assert_eq!(read_rootfs_file(dir.path(), "etc/shadow"), "");
        let u = resolve_in_rootfs(dir.path(), "www-data", &[]).unwrap();
        assert_eq!(u.uid, 33);
    }
}
