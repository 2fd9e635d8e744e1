//! A node's pod network: a network namespace per pod, wired by the reference
//! CNI plugins.

pub mod cni;
pub mod netns;

#[cfg(test)]
mod tests;
