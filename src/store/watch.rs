//! In-process fan-out of committed writes to watchers.
//!
//! The writer publishes every event on a broadcast channel right after commit, in
//! revision order. A watcher first subscribes, then reads the write log from its
//! start revision (so nothing between the two is missed), then follows the channel,
//! skipping what the log already gave it. A watcher that falls behind the channel's
//! buffer goes back to the log from the last revision it saw, so a slow client costs
//! a re-read, never a lost or repeated event.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use futures::future::BoxFuture;
use tokio::sync::broadcast;

use super::{Event, Revision, StoreResult};

/// How many events the channel keeps for slow watchers before they fall back to the log.
const CHANNEL_CAPACITY: usize = 4096;

/// Reads committed events back from the write log.
pub trait LogReader: Send + Sync + 'static {
    /// Events under `prefix` with revision > `after`, oldest first, and the revision read up to.
    fn read_after(&self, prefix: &str, after: Revision) -> BoxFuture<'_, StoreResult<(Vec<Event>, Revision)>>;
}

/// The publishing side, owned by the store.
pub struct Hub {
    tx: broadcast::Sender<Arc<Event>>,
    /// Revision of the last event published.
    published: AtomicI64,
}

impl Hub {
    pub fn new(current: Revision) -> Arc<Hub> {
        let (tx, _) = broadcast::channel(CHANNEL_CAPACITY);
        Arc::new(Hub { tx, published: AtomicI64::new(current) })
    }

    /// Publish events of one commit, in revision order.
    pub fn publish(&self, events: Vec<Event>) {
        for ev in events {
            let rev = ev.revision;
            // No receivers is fine: nobody is watching.
            let _ = self.tx.send(Arc::new(ev));
            self.published.store(rev, Ordering::Release);
        }
    }

    /// Mark `rev` published without an event (used when the revision advanced otherwise).
    pub fn advance(&self, rev: Revision) {
        self.published.fetch_max(rev, Ordering::AcqRel);
    }

    pub fn published(&self) -> Revision {
        self.published.load(Ordering::Acquire)
    }

    /// Start a watch of `prefix` from `after` (exclusive).
    pub async fn watch(
        self: &Arc<Self>,
        log: Arc<dyn LogReader>,
        prefix: &str,
        after: Revision,
    ) -> StoreResult<WatchStream> {
        let rx = self.tx.subscribe();
        let (events, read_to) = log.read_after(prefix, after).await?;
        Ok(WatchStream {
            prefix: prefix.to_string(),
            backlog: events.into_iter().map(Arc::new).collect(),
            rx,
            seen: read_to.max(after),
            delivered: after,
            lagged: false,
            hub: self.clone(),
            log,
        })
    }
}

/// One item of a watch.
pub type WatchItem = StoreResult<Arc<Event>>;

/// A live watch on a key prefix.
pub struct WatchStream {
    prefix: String,
    /// Events read from the log, not yet returned.
    backlog: VecDeque<Arc<Event>>,
    rx: broadcast::Receiver<Arc<Event>>,
    /// Every event at or below this revision is in the backlog or already returned.
    seen: Revision,
    /// Every event at or below this revision has been returned.
    delivered: Revision,
    /// The channel overflowed: read the log before following it again.
    lagged: bool,
    hub: Arc<Hub>,
    log: Arc<dyn LogReader>,
}

impl WatchStream {
    /// The next event, or `None` when the store shuts down.
    pub async fn next(&mut self) -> Option<WatchItem> {
        loop {
            if let Some(ev) = self.backlog.pop_front() {
                self.delivered = self.delivered.max(ev.revision);
                if self.backlog.is_empty() {
                    self.delivered = self.delivered.max(self.seen);
                }
                return Some(Ok(ev));
            }
            self.delivered = self.delivered.max(self.seen);
            if self.lagged {
                if let Err(e) = self.refill().await {
                    return Some(Err(e));
                }
                continue;
            }
            match self.rx.recv().await {
                Ok(ev) => {
                    if let Some(ev) = self.take(ev) {
                        return Some(Ok(ev));
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => self.lag(),
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    /// Account for an event from the channel; returns it if this watch wants it.
    fn take(&mut self, ev: Arc<Event>) -> Option<Arc<Event>> {
        if ev.revision <= self.seen {
            return None;
        }
        self.seen = ev.revision;
        if ev.key.starts_with(&self.prefix) {
            Some(ev)
        } else {
            if self.backlog.is_empty() {
                self.delivered = ev.revision;
            }
            None
        }
    }

    /// The channel dropped events for us: resubscribe now, catch up from the log next.
    fn lag(&mut self) {
        self.rx = self.hub.tx.subscribe();
        self.lagged = true;
    }

    async fn refill(&mut self) -> StoreResult<()> {
        let (events, read_to) = self.log.read_after(&self.prefix, self.seen).await?;
        self.seen = self.seen.max(read_to);
        self.backlog.extend(events.into_iter().map(Arc::new));
        self.lagged = false;
        Ok(())
    }

    /// A revision such that every event of this watch at or below it has been returned
    /// by [`next`](Self::next): what a BOOKMARK may carry. Never blocks.
    pub fn progress(&mut self) -> Revision {
        while self.backlog.is_empty() && !self.lagged {
            self.delivered = self.delivered.max(self.seen);
            // Read the published mark before looking at the channel: an event is sent
            // before the mark moves past it, so an empty channel means we have it all.
            let published = self.hub.published();
            match self.rx.try_recv() {
                Ok(ev) => {
                    if let Some(ev) = self.take(ev) {
                        self.backlog.push_back(ev);
                    }
                }
                Err(broadcast::error::TryRecvError::Empty) => {
                    self.seen = self.seen.max(published);
                    self.delivered = self.delivered.max(published);
                }
                Err(broadcast::error::TryRecvError::Lagged(_)) => self.lag(),
                Err(broadcast::error::TryRecvError::Closed) => break,
            }
            if self.delivered >= published {
                break;
            }
        }
        self.delivered
    }
}
