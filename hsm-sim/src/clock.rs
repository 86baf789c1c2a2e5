//! Injectable time, so tests can cross a lifespan or a lockout in milliseconds.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The simulator's source of time, in milliseconds since the Unix epoch.
pub trait Clock: Send + Sync + 'static {
    /// Simulated time now, in milliseconds since the Unix epoch.
    fn now_unix_ms(&self) -> u64;
    /// Moves simulated time forward by `by`.
    fn advance(&self, by: Duration);
    /// How far simulated time is ahead of the system clock (persisted across restarts).
    fn offset(&self) -> Duration;
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// The system clock plus an offset that only grows: the process's clock.
#[derive(Debug, Default)]
pub struct SystemClock {
    offset_ms: AtomicU64,
}

impl SystemClock {
    /// The system clock shifted `offset` into the future.
    pub fn with_offset(offset: Duration) -> Self {
        SystemClock {
            offset_ms: AtomicU64::new(millis(offset)),
        }
    }
}

impl Clock for SystemClock {
    fn now_unix_ms(&self) -> u64 {
        // A system clock before 1970 is a broken machine; treat it as the epoch.
        let system = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        millis(system).saturating_add(self.offset_ms.load(Ordering::SeqCst))
    }

    fn advance(&self, by: Duration) {
        self.offset_ms.fetch_add(millis(by), Ordering::SeqCst);
    }

    fn offset(&self) -> Duration {
        Duration::from_millis(self.offset_ms.load(Ordering::SeqCst))
    }
}

/// A clock that moves only when told to: for in-process tests.
#[derive(Debug)]
pub struct ManualClock {
    start_ms: u64,
    now_ms: AtomicU64,
}

impl ManualClock {
    /// A clock standing at `start_unix_ms`.
    pub fn new(start_unix_ms: u64) -> Self {
        ManualClock {
            start_ms: start_unix_ms,
            now_ms: AtomicU64::new(start_unix_ms),
        }
    }
}

impl Clock for ManualClock {
    fn now_unix_ms(&self) -> u64 {
        self.now_ms.load(Ordering::SeqCst)
    }

    fn advance(&self, by: Duration) {
        self.now_ms.fetch_add(millis(by), Ordering::SeqCst);
    }

    fn offset(&self) -> Duration {
        Duration::from_millis(self.now_unix_ms() - self.start_ms)
    }
}
