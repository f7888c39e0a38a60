//! When and how long the client waits before trying a call again.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use rand::Rng;

/// How the client retries failed attempts.
///
/// What is retried (the policy only bounds *how much*):
/// - attempts that provably never reached the server (connection refused);
/// - responses the server marks `retryable: true` (its verdict wins over the
///   status code); without a readable body, 408/429/502/503/504 on any call
///   and 500 on idempotent calls;
/// - timeouts and connections lost after writing, only for idempotent calls
///   (`GET`, or a call carrying an `Idempotency-Key`);
/// - `409 idempotency_conflict` on a *retry* of the call's own key: the first
///   attempt is still running on the server, so wait and ask again.
///
/// How long it waits: `Retry-After` (seconds) when the server sends it, else,
/// on 429, until `X-RateLimit-Reset`; otherwise exponential backoff with full
/// jitter. A server-requested wait longer than
/// [`max_retry_after`](RetryPolicy::max_retry_after) is not slept: the error is
/// returned at once with [`Error::retry_after`](crate::Error::retry_after) set.
///
/// ```
/// use std::time::Duration;
/// use sendmux_client::RetryPolicy;
///
/// let patient = RetryPolicy::default()
///     .with_max_attempts(5)
///     .with_deadline(Some(Duration::from_secs(300)));
/// assert_eq!(patient.max_attempts(), 5);
/// assert_eq!(RetryPolicy::none().max_attempts(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    max_retry_after: Duration,
    deadline: Option<Duration>,
    budget: Option<RetryBudget>,
}

impl Default for RetryPolicy {
    /// 3 attempts; backoff from 500 ms, capped at 20 s; server-requested waits
    /// up to 60 s; 120 s overall deadline; the default [`RetryBudget`].
    fn default() -> Self {
        Self {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(20),
            max_retry_after: Duration::from_secs(60),
            deadline: Some(Duration::from_secs(120)),
            budget: Some(RetryBudget::default()),
        }
    }
}

impl RetryPolicy {
    /// Never retry: one attempt per call.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            budget: None,
            ..Self::default()
        }
    }

    /// Total attempts per call, the first included (at least 1).
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Backoff base (the cap of the first retry's random delay) and the cap
    /// of any backoff delay.
    pub fn with_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max.max(initial);
        self
    }

    /// Longest server-requested wait (`Retry-After`, `X-RateLimit-Reset`) the
    /// client will sleep; longer requests end the call with the error.
    pub fn with_max_retry_after(mut self, ceiling: Duration) -> Self {
        self.max_retry_after = ceiling;
        self
    }

    /// Overall time limit of one call, attempts and waits included; `None`
    /// for no limit beyond the attempt count.
    pub fn with_deadline(mut self, deadline: Option<Duration>) -> Self {
        self.deadline = deadline;
        self
    }

    /// The retry budget shared by all calls of one client; `None` disables it.
    pub fn with_budget(mut self, budget: Option<RetryBudget>) -> Self {
        self.budget = budget;
        self
    }

    /// Total attempts per call.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// Backoff base.
    pub fn initial_backoff(&self) -> Duration {
        self.initial_backoff
    }

    /// Backoff cap.
    pub fn max_backoff(&self) -> Duration {
        self.max_backoff
    }

    /// Ceiling on server-requested waits.
    pub fn max_retry_after(&self) -> Duration {
        self.max_retry_after
    }

    /// Overall deadline of one call.
    pub fn deadline(&self) -> Option<Duration> {
        self.deadline
    }

    /// The retry budget.
    pub fn budget(&self) -> Option<&RetryBudget> {
        self.budget.as_ref()
    }

    /// The backoff cap for retry number `retry` (1 for the first retry).
    fn backoff_ceiling(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.saturating_sub(1));
        self.initial_backoff
            .checked_mul(factor)
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff)
    }

    /// Full jitter: uniform in `[0, ceiling]`.
    pub(crate) fn backoff(&self, retry: u32) -> Duration {
        let ceiling = self.backoff_ceiling(retry);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(rand::rng().random_range(0..=nanos))
    }

    /// Equal jitter, `[ceiling / 2, ceiling]`: used while our own key is still
    /// in flight, where retrying at once would only meet the same conflict.
    pub(crate) fn in_flight_backoff(&self, retry: u32) -> Duration {
        let ceiling = self.backoff_ceiling(retry).max(self.initial_backoff);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(rand::rng().random_range(nanos / 2..=nanos))
    }
}

/// A token bucket that limits retries across all calls of a client, so a
/// failing server sees a trickle of retries rather than a storm.
///
/// Each retry takes [`retry_cost`](RetryBudget::retry_cost) tokens
/// ([`timeout_retry_cost`](RetryBudget::timeout_retry_cost) after a timeout);
/// each successful call puts [`success_refill`](RetryBudget::success_refill)
/// back, up to the capacity. When a retry cannot be paid for, the call fails
/// with its last error. First attempts are never limited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryBudget {
    capacity: u32,
    retry_cost: u32,
    timeout_retry_cost: u32,
    success_refill: u32,
}

impl Default for RetryBudget {
    /// Capacity 500, retry cost 5, timeout retry cost 10, refill 1.
    fn default() -> Self {
        Self {
            capacity: 500,
            retry_cost: 5,
            timeout_retry_cost: 10,
            success_refill: 1,
        }
    }
}

impl RetryBudget {
    /// A budget of `capacity` tokens with the default costs.
    pub fn new(capacity: u32) -> Self {
        Self {
            capacity,
            ..Self::default()
        }
    }

    /// Tokens one retry costs.
    pub fn with_retry_cost(mut self, cost: u32) -> Self {
        self.retry_cost = cost;
        self
    }

    /// Tokens one retry after a timeout costs.
    pub fn with_timeout_retry_cost(mut self, cost: u32) -> Self {
        self.timeout_retry_cost = cost;
        self
    }

    /// Tokens a successful call returns.
    pub fn with_success_refill(mut self, refill: u32) -> Self {
        self.success_refill = refill;
        self
    }

    /// Bucket size (and starting level).
    pub fn capacity(&self) -> u32 {
        self.capacity
    }

    /// Tokens one retry costs.
    pub fn retry_cost(&self) -> u32 {
        self.retry_cost
    }

    /// Tokens one retry after a timeout costs.
    pub fn timeout_retry_cost(&self) -> u32 {
        self.timeout_retry_cost
    }

    /// Tokens a successful call returns.
    pub fn success_refill(&self) -> u32 {
        self.success_refill
    }
}

/// The live bucket of one client. An atomic rather than a lock: every
/// successful call touches it, from any number of tasks at once.
#[derive(Debug)]
pub(crate) struct BudgetState {
    config: Option<RetryBudget>,
    tokens: AtomicU32,
}

impl BudgetState {
    pub(crate) fn new(config: Option<RetryBudget>) -> Self {
        let tokens = config.as_ref().map_or(0, |c| c.capacity);
        Self {
            config,
            tokens: AtomicU32::new(tokens),
        }
    }

    /// Takes the cost of one retry; false when the bucket cannot pay.
    pub(crate) fn try_acquire(&self, after_timeout: bool) -> bool {
        let Some(config) = &self.config else {
            return true;
        };
        let cost = if after_timeout {
            config.timeout_retry_cost
        } else {
            config.retry_cost
        };
        // Relaxed: the count guards nothing else.
        self.tokens
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |tokens| {
                tokens.checked_sub(cost)
            })
            .is_ok()
    }

    pub(crate) fn on_success(&self) {
        if let Some(config) = &self.config {
            // A full bucket (the steady state) is one load and no write, so
            // concurrent calls do not fight over the cache line.
            let _ = self
                .tokens
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |tokens| {
                    (tokens < config.capacity).then(|| {
                        tokens
                            .saturating_add(config.success_refill)
                            .min(config.capacity)
                    })
                });
        }
    }

    /// Tokens left (for diagnostics).
    pub(crate) fn available(&self) -> Option<u32> {
        self.config
            .as_ref()
            .map(|_| self.tokens.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_capped_full_jitter() {
        let p =
            RetryPolicy::default().with_backoff(Duration::from_millis(100), Duration::from_secs(1));
        for retry in 1..40 {
            let d = p.backoff(retry);
            assert!(d <= p.backoff_ceiling(retry));
            assert!(p.backoff_ceiling(retry) <= Duration::from_secs(1));
        }
        assert_eq!(p.backoff_ceiling(1), Duration::from_millis(100));
        assert_eq!(p.backoff_ceiling(3), Duration::from_millis(400));
        assert_eq!(p.backoff_ceiling(30), Duration::from_secs(1));
        let d = p.in_flight_backoff(2);
        assert!(d >= Duration::from_millis(100) && d <= Duration::from_millis(200));
    }

    #[test]
    fn budget_spends_and_refills() {
        let b = BudgetState::new(Some(
            RetryBudget::new(10)
                .with_retry_cost(5)
                .with_success_refill(5),
        ));
        assert!(b.try_acquire(false));
        assert!(b.try_acquire(false));
        assert!(!b.try_acquire(false));
        b.on_success();
        assert_eq!(b.available(), Some(5));
        assert!(b.try_acquire(false));
        assert!(!b.try_acquire(true));
        assert!(BudgetState::new(None).try_acquire(true));
    }

    /// Many tasks spending and refilling at once never overdraw the bucket
    /// nor lift it above capacity.
    #[test]
    fn budget_holds_under_concurrent_use() {
        let b = std::sync::Arc::new(BudgetState::new(Some(
            RetryBudget::new(100)
                .with_retry_cost(1)
                .with_success_refill(0),
        )));
        let granted: usize = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    let b = b.clone();
                    scope.spawn(move || (0..50).filter(|_| b.try_acquire(false)).count())
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
        });
        assert_eq!(granted, 100, "exactly the capacity is handed out");
        assert_eq!(b.available(), Some(0));

        let refill = BudgetState::new(Some(
            RetryBudget::new(10)
                .with_retry_cost(10)
                .with_success_refill(3),
        ));
        assert!(refill.try_acquire(false));
        assert_eq!(refill.available(), Some(0));
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| (0..100).for_each(|_| refill.on_success()));
            }
        });
        assert_eq!(refill.available(), Some(10), "refills stop at capacity");
    }
}
