//! Containers: an OCI runtime spec built from an image and a request, a rootfs that is an
//! overlayfs of the image's layers, and one `coracle shim` process per container that drives
//! youki's `libcontainer`, owns the container's stdio, writes its CRI log and records how it ended.
//!
//! The [`manager::Manager`] is the library API the CLI (`coracle ctr`) and the kubelet use. It never
//! calls libcontainer itself: it prepares the bundle, starts a shim and talks to it over a unix
//! socket ([`protocol`]); everything it knows it reads from disk, so a new process (after `kill -9`
//! of the old one) finds every container again.
//!
//! On disk, for a data dir D and container id I:
//! - `D/agent/containers/I/`: `meta.json` (the request and image), `state.json` (status, pid, exit),
//!   `config.json` (the OCI spec), `rootfs/` (the overlay mount point), `upper/`, `work/`,
//!   `image-id`, `hosts`, `hostname`, `resolv.conf`, `shim.log`, `container.log` (unless the request
//!   names another log path).
//! - `/run/coracle/<instance>/lc/I/`: libcontainer's state; `/run/coracle/<instance>/s/I.sock`: the shim.
//! - cgroups under `/<cgroup parent>/I` in each hierarchy.

pub mod cgroups;
pub mod exec;
pub mod logs;
pub mod manager;
pub mod protocol;
pub mod request;
pub mod rootfs;
pub mod seccomp;
pub mod shim;
pub mod spec;
pub mod state;
pub mod user;

pub use exec::Session;
pub use manager::Manager;
pub use request::{ContainerRequest, ExecRequest, NamespaceMode, Resources};
pub use state::{ContainerState, ContainerStatus};

use std::path::PathBuf;

/// The image type the manager takes (from [`crate::runtime::images::ImageStore::resolve`]).
pub use crate::runtime::images::Image;

/// Everything that can go wrong with a container. Messages are one line naming the container
/// and, where there is one, what to do next.
#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    #[error("container {0} not found; list containers with `coracle ctr ps -a`")]
    NotFound(String),
    #[error(
        "container name {name} is already in use by {id}; remove it with `coracle ctr rm {name}` or choose another name"
    )]
    NameInUse { name: String, id: String },
    #[error("invalid container name {0:?}: use letters, digits, '_', '.' and '-', starting with a letter or digit")]
    InvalidName(String),
    #[error("container {name}: {reason}")]
    InvalidRequest { name: String, reason: String },
    #[error("container {name}: the image has no ENTRYPOINT or CMD and no command was given; give one after `--`")]
    NoCommand { name: String },
    #[error("container {name}: user {user:?} is not in the image's /etc/passwd; use a numeric uid")]
    UnknownUser { name: String, user: String },
    #[error("container {name}: group {group:?} is not in the image's /etc/group; use a numeric gid")]
    UnknownGroup { name: String, group: String },
    #[error("container {name}: executable {executable:?} not found in the image (PATH or path); check the command")]
    ExecutableNotFound { name: String, executable: String },
    #[error(
        "container {name}: memory limit of {} is below the minimum of {}; ask for more memory",
        request::format_bytes(*limit),
        request::format_bytes(*minimum)
    )]
    MemoryTooLow { name: String, limit: u64, minimum: u64 },
    #[error("container {name} ran out of memory while starting (limit {}); raise the memory limit", request::format_bytes(*limit))]
    OomAtStart { name: String, limit: u64 },
    #[error("container {name} could not start: {message}")]
    StartFailed { name: String, message: String },
    #[error("container {name} is {state}, not running; start a new one with `coracle ctr run`")]
    NotRunning { name: String, state: String },
    #[error("container {name} is {state}; stop it first (`coracle ctr stop {name}`) or remove it with `rm -f`")]
    StillRunning { name: String, state: String },
    #[error("container {name}: its shim is not answering ({message}); remove it with `coracle ctr rm -f {name}`")]
    ShimGone { name: String, message: String },
    #[error("container {name}: {message}")]
    Shim { name: String, message: String },
    #[error("container {name}: cannot mount its root filesystem: {message}")]
    Mount { name: String, message: String },
    #[error("{context} {}: {source}", path.display())]
    Io { context: String, path: PathBuf, source: std::io::Error },
}

impl ContainerError {
    pub(crate) fn io(context: impl Into<String>, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let context = context.into();
        let path = path.into();
        move |source| ContainerError::Io { context, path, source }
    }

    /// The exit code a CLI should use: 125 for runtime failures, 126/127 as a shell would
    /// when the command cannot be run, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            ContainerError::ExecutableNotFound { .. } => 127,
            ContainerError::StartFailed { .. } | ContainerError::OomAtStart { .. } => 126,
            _ => 125,
        }
    }
}

pub type Result<T, E = ContainerError> = std::result::Result<T, E>;
