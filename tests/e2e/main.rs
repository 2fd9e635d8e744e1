//! End-to-end tests: the real `coracle` binary, driven by real kubectl 1.27 and 1.33.

mod harness;
mod registry;
mod testimages;
mod util;

mod admission_policy;
mod apply;
mod bad_input;
mod cli;
mod conformance_apimachinery;
mod containers;
mod crds;
mod delete;
mod discovery;
mod images;
mod kubectl_read;
mod kubectl_write;
mod limitrange;
mod metadata;
mod patch;
mod pod_specs;
mod pods;
mod pull_secrets;
mod quota;
mod restart;
mod scheduler;
mod serviceaccounts;
mod smoke;
mod static_pods;
mod watch;
mod webhooks;
