//! The datastore's housekeeping: periodic compaction (history older than one
//! interval is dropped, as the real API server asks etcd to do every five
//! minutes) and expiry of keys with a TTL (Events). Idle means quiet: nothing is
//! written unless something changed or expired.

use std::sync::Arc;
use std::time::Duration;

use crate::store::Store;
use crate::store::sqlite::SqliteStore;

/// How often history is compacted.
pub const COMPACT_EVERY: Duration = Duration::from_secs(300);
/// How often expired keys are looked for.
pub const EXPIRE_EVERY: Duration = Duration::from_secs(60);

pub async fn run(store: Arc<SqliteStore>) {
    let mut compact = tokio::time::interval(COMPACT_EVERY);
    let mut expire = tokio::time::interval(EXPIRE_EVERY);
    compact.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    expire.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Compact to the revision seen one interval ago, so watchers have a full
    // interval to resume from where they were.
    let mut previous: Option<i64> = None;
    loop {
        tokio::select! {
            _ = compact.tick() => {
                let current = match store.current_revision().await {
                    Ok(r) => r,
                    Err(e) => {
                        tracing::warn!(error = %e, "reading the revision for compaction failed");
                        continue;
                    }
                };
                if let Some(target) = previous
                    && target > store.compacted_revision()
                {
                    match store.compact(target).await {
                        Ok(()) => tracing::debug!(revision = target, "compacted"),
                        Err(e) => tracing::warn!(error = %e, "compaction failed"),
                    }
                }
                previous = Some(current);
            }
            _ = expire.tick() => {
                match store.reap_expired().await {
                    Ok(0) => {}
                    Ok(n) => tracing::debug!(count = n, "expired keys deleted"),
                    Err(e) => tracing::warn!(error = %e, "expiring keys failed"),
                }
            }
        }
    }
}
