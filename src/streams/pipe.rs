//! Back-pressure for writers that hand their bytes to a connection's single writer task.
//!
//! Neither kubectl's SPDY implementation (moby/spdystream ignores WINDOW_UPDATE and never sends one) nor
//! the WebSocket channel protocol has per-stream flow control, so writes are bounded by a per-connection
//! byte budget instead: a writer takes permits for the bytes it queues and the writer task returns them
//! once the bytes are on the wire.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use tokio::sync::{AcquireError, OwnedSemaphorePermit, Semaphore};

/// The most bytes one write call queues as a single frame or message.
pub(crate) const CHUNK: usize = 32 * 1024;
/// The bytes a connection may have queued but not yet written.
pub(crate) const BUDGET: usize = 1024 * 1024;

type Acquire = Pin<Box<dyn Future<Output = Result<OwnedSemaphorePermit, AcquireError>> + Send>>;

/// A new budget for one connection.
pub(crate) fn new_budget() -> Arc<Semaphore> {
    Arc::new(Semaphore::new(BUDGET))
}

/// One writer's handle on its connection's budget.
pub(crate) struct WriteBudget {
    budget: Arc<Semaphore>,
    pending: Option<Acquire>,
}

impl WriteBudget {
    pub(crate) fn new(budget: Arc<Semaphore>) -> Self {
        Self { budget, pending: None }
    }

    /// Waits for room to queue up to `want` bytes; returns the permit and how many bytes it covers.
    pub(crate) fn poll_reserve(
        &mut self,
        cx: &mut Context<'_>,
        want: usize,
    ) -> Poll<io::Result<(OwnedSemaphorePermit, usize)>> {
        let budget = &self.budget;
        let acquire = self.pending.get_or_insert_with(|| {
            let permits = want.clamp(1, CHUNK) as u32;
            Box::pin(budget.clone().acquire_many_owned(permits))
        });
        let permit = ready!(acquire.as_mut().poll(cx));
        self.pending = None;
        let permit = permit.map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))?;
        let covered = (permit.num_permits()).min(want);
        Poll::Ready(Ok((permit, covered)))
    }
}
