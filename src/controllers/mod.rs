//! Controllers: loops that drive the cluster toward what its objects say. All
//! but the store's own housekeeping talk to the API through `kube::Client`.

pub mod gc;
pub mod maintenance;
pub mod namespace;

use std::sync::Arc;

use crate::apiserver::{ApiState, local_client};
use crate::store::sqlite::SqliteStore;

/// Start every controller of the control plane.
pub fn start(state: Arc<ApiState>, store: Arc<SqliteStore>) {
    tokio::spawn(maintenance::run(store));
    let client = local_client::client(state, "system:kube-controller-manager");
    tokio::spawn(namespace::run(client.clone()));
    tokio::spawn(gc::run(client));
}
