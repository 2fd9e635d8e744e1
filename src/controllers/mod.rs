//! Controllers: loops that drive the cluster toward what its objects say. All
//! but the store's own housekeeping talk to the API through `kube::Client`.

pub mod maintenance;

use std::sync::Arc;

use crate::registry::Registry;
use crate::store::sqlite::SqliteStore;

/// Start every controller of the control plane.
pub fn start(registry: Arc<Registry>, store: Arc<SqliteStore>) {
    let _ = registry;
    tokio::spawn(maintenance::run(store));
}
