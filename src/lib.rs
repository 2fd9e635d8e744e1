//! coracle: a Kubernetes distribution in one binary.

pub mod registry;
pub mod store;
