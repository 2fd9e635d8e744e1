//! The kubelet's crash-loop back-off: 10 s after the first failure, doubling up to 5
//! minutes, forgotten once a container has run for 10 minutes.

use std::time::{Duration, Instant};

pub const INITIAL: Duration = Duration::from_secs(10);
pub const MAX: Duration = Duration::from_secs(300);
/// A container that ran this long starts over at [`INITIAL`].
pub const RESET_AFTER: Duration = Duration::from_secs(600);

/// Back-off state of one container of one pod. As in the kubelet, the first restart is
/// immediate; the next waits 10 s, then 20 s, 40 s, … 5 min.
#[derive(Clone, Debug, Default)]
pub struct Backoff {
    /// The wait in effect now.
    delay: Option<Duration>,
    /// The wait the next failure gets.
    next: Option<Duration>,
    until: Option<Instant>,
}

impl Backoff {
    /// Record that the container ended after running for `ran`; returns the wait before the
    /// next start.
    pub fn failed(&mut self, now: Instant, ran: Duration) -> Duration {
        if ran >= RESET_AFTER {
            self.next = None;
        }
        let wait = self.next.unwrap_or(Duration::ZERO);
        self.next = Some(if wait.is_zero() { INITIAL } else { (wait * 2).min(MAX) });
        self.delay = Some(wait);
        self.until = Some(now + wait);
        wait
    }

    /// Whether a restart must still wait, and how long.
    pub fn remaining(&self, now: Instant) -> Option<Duration> {
        self.until.and_then(|u| u.checked_duration_since(now)).filter(|d| !d.is_zero())
    }

    /// The current delay (for the `back-off 20s restarting failed container` message).
    pub fn delay(&self) -> Duration {
        self.delay.unwrap_or(INITIAL)
    }

    /// Whether this container is in a back-off at all.
    pub fn active(&self) -> bool {
        self.delay.is_some()
    }
}

/// Seconds the way Go prints a duration of whole seconds or minutes (`10s`, `2m40s`, `5m0s`).
pub fn go_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s < 60 { format!("{s}s") } else { format!("{}m{}s", s / 60, s % 60) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_to_five_minutes_and_resets() {
        let mut b = Backoff::default();
        let t = Instant::now();
        let delays: Vec<u64> = (0..8).map(|_| b.failed(t, Duration::from_secs(1)).as_secs()).collect();
        assert_eq!(delays, [0, 10, 20, 40, 80, 160, 300, 300]);
        assert_eq!(b.failed(t, Duration::from_secs(601)), Duration::ZERO);
        assert_eq!(b.failed(t, Duration::from_secs(1)), INITIAL);
        assert!(b.remaining(t).is_some());
        assert!(b.remaining(t + Duration::from_secs(11)).is_none());
        assert_eq!(go_duration(Duration::from_secs(160)), "2m40s");
        assert_eq!(go_duration(Duration::from_secs(300)), "5m0s");
    }
}
