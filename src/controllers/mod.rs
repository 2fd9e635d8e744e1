//! Controllers: loops that drive the cluster toward what its objects say. All
//! but the store's own housekeeping talk to the API through `kube::Client`.

pub mod admissionpolicy;
pub mod crd;
pub mod gc;
pub mod maintenance;
pub mod namespace;
pub mod nodeipam;
pub mod resourcequota;
pub mod serviceaccounts;

use std::sync::Arc;

use crate::apiserver::{ApiState, local_client};
use crate::store::sqlite::SqliteStore;

/// Start every controller of the control plane. `ca_pem` is the cluster CA that
/// namespaces get in `kube-root-ca.crt`.
pub fn start(state: Arc<ApiState>, store: Arc<SqliteStore>, ca_pem: String, cluster_cidr: ipnet::Ipv4Net) {
    tokio::spawn(maintenance::run(store));
    let issuer = state.registry.token_issuer().cloned();
    let registry = state.registry.clone();
    let client = local_client::client(state, "system:kube-controller-manager");
    tokio::spawn(namespace::run(client.clone()));
    tokio::spawn(gc::run(client.clone()));
    tokio::spawn(nodeipam::run(client.clone(), cluster_cidr));
    tokio::spawn(crd::run(client.clone()));
    tokio::spawn(admissionpolicy::run(client.clone(), registry));
    tokio::spawn(resourcequota::run(client.clone()));
    if let Some(issuer) = issuer {
        tokio::spawn(serviceaccounts::run(client, ca_pem, issuer));
    }
}
