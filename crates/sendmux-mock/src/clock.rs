//! Time source of the mock. Everything time-based (timestamps, rate-limit
//! windows, idempotency expiry, simulated DNS propagation) reads this clock,
//! so tests can move time forward instead of sleeping.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of "now" for the mock server.
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The real wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that only moves when told to; clones share the same time.
///
/// ```
/// use std::time::Duration;
/// use sendmux_mock::{Clock, ManualClock};
///
/// let clock = ManualClock::at_unix(1_800_000_000);
/// let before = clock.now();
/// clock.advance(Duration::from_secs(60));
/// assert_eq!(clock.now().duration_since(before).ok(), Some(Duration::from_secs(60)));
/// ```
#[derive(Clone)]
pub struct ManualClock {
    // Milliseconds since the Unix epoch; shared so clones move together.
    millis: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock stopped at `unix_seconds`.
    pub fn at_unix(unix_seconds: u64) -> Self {
        Self {
            millis: Arc::new(AtomicU64::new(unix_seconds.saturating_mul(1000))),
        }
    }

    /// Moves the clock forward by `by` (millisecond resolution).
    pub fn advance(&self, by: Duration) {
        let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        let _ = self
            .millis
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |cur| {
                Some(cur.saturating_add(ms))
            });
    }
}

impl Default for ManualClock {
    /// 2026-01-01T00:00:00Z, a fixed and readable starting point.
    fn default() -> Self {
        Self::at_unix(1_767_225_600)
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManualClock")
            .field("unix_millis", &self.millis.load(Ordering::SeqCst))
            .finish()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        let since = Duration::from_millis(self.millis.load(Ordering::SeqCst));
        UNIX_EPOCH.checked_add(since).unwrap_or(UNIX_EPOCH)
    }
}

/// The clock the server reads: the configured clock plus an offset that the
/// admin endpoint can push forward (so the binary can be time-travelled too).
pub(crate) struct ServerClock {
    inner: Arc<dyn Clock>,
    offset_ms: AtomicU64,
}

impl ServerClock {
    pub(crate) fn new(inner: Arc<dyn Clock>) -> Self {
        Self {
            inner,
            offset_ms: AtomicU64::new(0),
        }
    }

    pub(crate) fn now(&self) -> SystemTime {
        let base = self.inner.now();
        let offset = Duration::from_millis(self.offset_ms.load(Ordering::Relaxed));
        // An absurd offset from the admin endpoint must not panic.
        base.checked_add(offset).unwrap_or(base)
    }

    pub(crate) fn advance(&self, by: Duration) {
        let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        let _ = self
            .offset_ms
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |cur| {
                Some(cur.saturating_add(ms))
            });
    }

    /// Milliseconds since the Unix epoch (0 for clocks set before 1970).
    pub(crate) fn unix_millis(&self) -> u64 {
        self.now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0)
    }
}

/// Formats Unix milliseconds as RFC 3339 UTC with second precision.
pub(crate) fn rfc3339(unix_millis: u64) -> String {
    // RFC 3339 has four-digit years: a clock pushed past 9999 (tests move
    // it by u64::MAX) stops at the last second it can write.
    const LAST_WRITABLE_SECOND: u64 = 253_402_300_799; // 9999-12-31T23:59:59Z
    let secs = (unix_millis / 1000).min(LAST_WRITABLE_SECOND);
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Gregorian date of a day count since 1970-01-01 (proleptic calendar,
/// eras of 400 years).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        u32::try_from(m).unwrap_or(1),
        u32::try_from(d).unwrap_or(1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_767_225_600_000), "2026-01-01T00:00:00Z");
        // 2024-02-29T12:34:56Z, a leap day.
        assert_eq!(rfc3339(1_709_210_096_000), "2024-02-29T12:34:56Z");
    }

    #[test]
    fn huge_advances_saturate_instead_of_panicking() {
        let clock = ServerClock::new(Arc::new(ManualClock::default()));
        clock.advance(Duration::from_secs(u64::MAX));
        clock.advance(Duration::from_secs(u64::MAX));
        let _ = clock.now();
        assert_eq!(rfc3339(clock.unix_millis()), "9999-12-31T23:59:59Z");
    }

    #[test]
    fn manual_clock_clones_share_time() {
        let a = ManualClock::at_unix(10);
        let b = a.clone();
        a.advance(Duration::from_secs(5));
        assert_eq!(b.now(), UNIX_EPOCH + Duration::from_secs(15));
    }
}
