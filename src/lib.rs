//! coracle: a Kubernetes distribution in one binary.

pub mod apiserver;
pub mod cel;
pub mod cli;
pub mod controllers;
pub mod kubelet;
pub mod network;
pub mod registry;
pub mod runtime;
pub mod scheduler;
pub mod server;
pub mod store;
pub mod streams;
