//! Time as the client sees it: monotonic now, wall-clock now, and sleeping.
//!
//! Everything time-dependent in the client (backoff sleeps, the overall
//! deadline, `X-RateLimit-Reset`, polling) goes through a [`Clock`], so tests
//! can swap in a [`VirtualClock`] and run retries with long delays instantly.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A boxed sleep future.
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Source of time and sleeps for the client.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// Monotonic now, for deadlines and elapsed times.
    fn now(&self) -> Instant;
    /// Wall-clock now, for `X-RateLimit-Reset` (Unix seconds).
    fn unix_now(&self) -> SystemTime;
    /// A future that completes after `duration`.
    fn sleep(&self, duration: Duration) -> Sleep;
}

/// The default clock: tokio's timer (so it follows
/// `#[tokio::test(start_paused = true)]`) and the system wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }
    fn unix_now(&self) -> SystemTime {
        SystemTime::now()
    }
    fn sleep(&self, duration: Duration) -> Sleep {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// A clock for tests: sleeping returns at once and moves virtual time
/// forward, and every sleep is recorded.
///
/// Its wall clock starts at the whole second at or before creation, so a test
/// can compute exact `X-RateLimit-Reset` values from
/// [`VirtualClock::unix_now`].
///
/// ```
/// use std::time::Duration;
/// use sendmux_client::clock::{Clock, VirtualClock};
///
/// # tokio_test_block_on(async {
/// let clock = VirtualClock::new();
/// clock.sleep(Duration::from_secs(30)).await; // returns immediately
/// assert_eq!(clock.elapsed(), Duration::from_secs(30));
/// assert_eq!(clock.sleeps(), vec![Duration::from_secs(30)]);
/// # });
/// # fn tokio_test_block_on(f: impl std::future::Future<Output = ()>) {
/// #     futures::executor::block_on(f)
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct VirtualClock {
    inner: Arc<VirtualInner>,
}

#[derive(Debug)]
struct VirtualInner {
    start: Instant,
    wall_start: SystemTime,
    state: Mutex<VirtualState>,
}

#[derive(Debug, Default)]
struct VirtualState {
    offset: Duration,
    sleeps: Vec<Duration>,
}

impl VirtualClock {
    /// A virtual clock starting now.
    pub fn new() -> Self {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Self {
            inner: Arc::new(VirtualInner {
                start: Instant::now(),
                wall_start: UNIX_EPOCH + Duration::from_secs(secs),
                state: Mutex::new(VirtualState::default()),
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, VirtualState> {
        // A poisoned lock only means a test thread panicked; the data is fine.
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Virtual time slept so far.
    pub fn elapsed(&self) -> Duration {
        self.state().offset
    }

    /// Every sleep requested so far, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.state().sleeps.clone()
    }

    /// Moves virtual time forward without recording a sleep.
    pub fn advance(&self, by: Duration) {
        self.state().offset += by;
    }
}

impl Default for VirtualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> Instant {
        self.inner.start + self.elapsed()
    }
    fn unix_now(&self) -> SystemTime {
        self.inner.wall_start + self.elapsed()
    }
    fn sleep(&self, duration: Duration) -> Sleep {
        let mut state = self.state();
        state.offset += duration;
        state.sleeps.push(duration);
        Box::pin(std::future::ready(()))
    }
}
