//! When and how long the client waits before trying a call again.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

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

    /// Full jitter: `jitter` (0 to 1) of the window `[0, ceiling]`.
    fn backoff_at(&self, retry: u32, jitter: f64) -> Duration {
        self.backoff_ceiling(retry).mul_f64(jitter.clamp(0.0, 1.0))
    }

    /// Equal jitter, `jitter` (0 to 1) of the window `[ceiling / 2,
    /// ceiling]`: used while our own key is still in flight, where retrying
    /// at once would only meet the same conflict.
    fn in_flight_backoff_at(&self, retry: u32, jitter: f64) -> Duration {
        let ceiling = self.backoff_ceiling(retry).max(self.initial_backoff);
        ceiling / 2 + (ceiling / 2).mul_f64(jitter.clamp(0.0, 1.0))
    }
}

/// What a failed attempt tells the retry decision.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct FailedAttempt {
    /// Which attempt failed (1 for the first).
    pub(crate) number: u32,
    /// The failure may succeed if repeated (status default, the body's
    /// `retryable`, or a transport failure on an idempotent call).
    pub(crate) retryable: bool,
    /// The wait the server asked for, if any.
    pub(crate) retry_after: Option<Duration>,
    /// Our own idempotency key is still being processed by an earlier attempt.
    pub(crate) in_flight: bool,
    /// The attempt ran out of time.
    pub(crate) timeout: bool,
}

/// The retry decision's view of the shared budget at the moment of deciding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BudgetView {
    /// Tokens in the bucket; `None` when retries are not budgeted.
    pub(crate) tokens: Option<u32>,
    /// What this retry would cost.
    pub(crate) cost: u32,
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Decision {
    /// Wait this long, then try again.
    Retry(Duration),
    /// End the call with the attempt's error, for this reason.
    GiveUp(&'static str),
}

/// The retry decision, as a pure function: the same failed attempt, policy,
/// budget, time left and jitter (0 to 1, where the wait falls inside its
/// backoff window) always give the same answer. The caller draws the jitter
/// and pays the budget.
pub(crate) fn decide(
    policy: &RetryPolicy,
    attempt: &FailedAttempt,
    budget: BudgetView,
    time_left: Option<Duration>,
    jitter: f64,
) -> Decision {
    if !attempt.retryable {
        return Decision::GiveUp("not retryable");
    }
    if attempt
        .retry_after
        .is_some_and(|wait| wait > policy.max_retry_after())
    {
        return Decision::GiveUp("server-requested wait exceeds the ceiling");
    }
    if attempt.number >= policy.max_attempts() {
        return Decision::GiveUp("attempts exhausted");
    }
    let delay = match attempt.retry_after {
        Some(wait) => wait,
        None if attempt.in_flight => policy.in_flight_backoff_at(attempt.number, jitter),
        None => policy.backoff_at(attempt.number, jitter),
    };
    if time_left.is_some_and(|left| delay >= left) {
        return Decision::GiveUp("the wait would pass the call's deadline");
    }
    if budget.tokens.is_some_and(|tokens| tokens < budget.cost) {
        return Decision::GiveUp("retry budget exhausted");
    }
    Decision::Retry(delay)
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

    /// The bucket as the retry decision sees it, for a retry after a
    /// timeout or not.
    pub(crate) fn view(&self, after_timeout: bool) -> BudgetView {
        BudgetView {
            tokens: self.available(),
            cost: self.config.as_ref().map_or(0, |c| {
                if after_timeout {
                    c.timeout_retry_cost
                } else {
                    c.retry_cost
                }
            }),
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

    /// The retry decision, row by row: (what failed, budget, time left,
    /// jitter) to the decision.
    #[test]
    fn retry_decision_table() {
        let policy = RetryPolicy::default()
            .with_max_attempts(3)
            .with_backoff(Duration::from_millis(100), Duration::from_secs(1))
            .with_max_retry_after(Duration::from_secs(10));
        let failed =
            |number, retryable, retry_after: Option<u64>, in_flight, timeout| FailedAttempt {
                number,
                retryable,
                retry_after: retry_after.map(Duration::from_secs),
                in_flight,
                timeout,
            };
        let ms = Duration::from_millis;
        let plenty = BudgetView {
            tokens: Some(100),
            cost: 5,
        };
        let broke = BudgetView {
            tokens: Some(4),
            cost: 5,
        };
        let unbudgeted = BudgetView {
            tokens: None,
            cost: 5,
        };
        use Decision::{GiveUp, Retry};
        #[rustfmt::skip]
        let rows: &[(FailedAttempt, BudgetView, Option<Duration>, f64, Decision)] = &[
            // Not retryable: never, whatever else holds.
            (failed(1, false, None, false, false), plenty, None, 0.5, GiveUp("not retryable")),
            (failed(1, false, Some(1), false, false), plenty, None, 0.5, GiveUp("not retryable")),
            // Full jitter inside [0, 100 ms · 2^(n-1)], capped at 1 s.
            (failed(1, true, None, false, false), plenty, None, 0.0, Retry(ms(0))),
            (failed(1, true, None, false, false), plenty, None, 1.0, Retry(ms(100))),
            (failed(2, true, None, false, false), plenty, None, 0.5, Retry(ms(100))),
            (failed(2, true, None, false, true), plenty, None, 1.0, Retry(ms(200))),
            // Our key still in flight: equal jitter, never an instant retry.
            (failed(1, true, None, true, false), plenty, None, 0.0, Retry(ms(50))),
            (failed(1, true, None, true, false), plenty, None, 1.0, Retry(ms(100))),
            // The server's wait wins over backoff, up to the ceiling.
            (failed(1, true, Some(3), false, false), plenty, None, 0.0, Retry(ms(3_000))),
            (failed(1, true, Some(11), false, false), plenty, None, 0.0, GiveUp("server-requested wait exceeds the ceiling")),
            // Attempts, deadline and budget.
            (failed(3, true, None, false, false), plenty, None, 0.5, GiveUp("attempts exhausted")),
            (failed(1, true, Some(3), false, false), plenty, Some(ms(2_000)), 0.0, GiveUp("the wait would pass the call's deadline")),
            (failed(1, true, Some(1), false, false), plenty, Some(ms(2_000)), 0.0, Retry(ms(1_000))),
            (failed(1, true, None, false, false), broke, None, 0.5, GiveUp("retry budget exhausted")),
            (failed(1, true, None, false, false), unbudgeted, None, 0.5, Retry(ms(50))),
        ];
        for (index, (attempt, budget, left, jitter, expected)) in rows.iter().enumerate() {
            assert_eq!(
                decide(&policy, attempt, *budget, *left, *jitter),
                *expected,
                "row {index}: {attempt:?} {budget:?} {left:?} {jitter}"
            );
        }
    }

    #[test]
    fn backoff_is_capped_full_jitter() {
        let p =
            RetryPolicy::default().with_backoff(Duration::from_millis(100), Duration::from_secs(1));
        for retry in 1..40 {
            let d = p.backoff_at(retry, rand::random());
            assert!(d <= p.backoff_ceiling(retry));
            assert!(p.backoff_ceiling(retry) <= Duration::from_secs(1));
        }
        assert_eq!(p.backoff_ceiling(1), Duration::from_millis(100));
        assert_eq!(p.backoff_ceiling(3), Duration::from_millis(400));
        assert_eq!(p.backoff_ceiling(30), Duration::from_secs(1));
        let d = p.in_flight_backoff_at(2, rand::random());
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
