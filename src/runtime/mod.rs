//! The container runtime of a node: images in a content-addressed store, their
//! layers unpacked into snapshots, and containers run by youki's `libcontainer`
//! inside per-container shim processes.
//!
//! Everything an instance keeps is derived from its data dir ([`paths::RuntimePaths`]),
//! so instances with different data dirs never see each other's images or containers.

pub mod images;
pub mod paths;

pub mod container;
