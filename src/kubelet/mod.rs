//! The node agent: registers this machine as a Node, keeps its Lease, and runs
//! the pods bound to it.

pub mod node;
