//! Remembering recent event ids, in bounded memory.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::clock::{Clock, SystemClock};

/// Remembers the event ids of recent deliveries, so a repeated one can be
/// told apart.
///
/// It holds at most `capacity` ids (the oldest is forgotten first) and
/// forgets an id once it is `window` old. It is thread-safe: every method
/// takes `&self`. Memory is per process; a fleet of instances needs a shared
/// store (keyed on [`VerifiedEvent::event_id`](super::VerifiedEvent::event_id))
/// to drop duplicates across instances.
///
/// Pick a window at least as long as the period over which Sendmux may
/// redeliver an event, and a capacity above the number of events you expect
/// in that window.
///
/// ```
/// use std::time::{Duration, Instant};
/// use sendmux_client::webhook::ReplayGuard;
///
/// let guard = ReplayGuard::new(2, Duration::from_secs(60));
/// let start = Instant::now();
/// assert!(guard.first_seen_at("evt_1", start));
/// assert!(!guard.first_seen_at("evt_1", start + Duration::from_secs(59)));
/// assert!(guard.first_seen_at("evt_1", start + Duration::from_secs(60)));
/// ```
pub struct ReplayGuard {
    capacity: usize,
    window: Duration,
    clock: Arc<dyn Clock>,
    state: Mutex<State>,
}

/// The ids, in a map for lookup and in arrival order for eviction; both
/// always hold the same entries.
#[derive(Default)]
struct State {
    seen: HashMap<Arc<str>, Instant>,
    order: VecDeque<(Arc<str>, Instant)>,
}

impl State {
    /// Drops the ids that are `window` old, oldest first.
    fn expire(&mut self, now: Instant, window: Duration) {
        while let Some((_, at)) = self.order.front() {
            if !is_expired(*at, now, window) {
                break;
            }
            if let Some((id, _)) = self.order.pop_front() {
                self.seen.remove(&id);
            }
        }
    }

    /// Removes one id wherever it is in the arrival order.
    fn remove(&mut self, id: &str) -> bool {
        if self.seen.remove(id).is_none() {
            return false;
        }
        self.order.retain(|(held, _)| &**held != id);
        true
    }
}

fn is_expired(at: Instant, now: Instant, window: Duration) -> bool {
    now.saturating_duration_since(at) >= window
}

impl ReplayGuard {
    /// A guard holding at most `capacity` ids (at least 1), each for
    /// `window`. Memory grows with use, up to `capacity` ids.
    pub fn new(capacity: usize, window: Duration) -> Self {
        Self {
            capacity: capacity.max(1),
            window,
            clock: Arc::new(SystemClock),
            state: Mutex::new(State::default()),
        }
    }

    /// Reads the time from `clock` instead of the system clock (for tests,
    /// with a [`VirtualClock`](crate::clock::VirtualClock)).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// How many ids it holds at most.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How long it remembers an id.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// Records `event_id` and returns `true` when it was not seen within the
    /// window; returns `false`, changing nothing, for a repeat.
    pub fn first_seen(&self, event_id: &str) -> bool {
        self.first_seen_at(event_id, self.clock.now())
    }

    /// [`ReplayGuard::first_seen`] at an explicit time.
    pub fn first_seen_at(&self, event_id: &str, now: Instant) -> bool {
        let mut state = self.state();
        state.expire(now, self.window);
        if let Some(&at) = state.seen.get(event_id) {
            if !is_expired(at, now, self.window) {
                return false;
            }
            // Expired but not yet dropped: `now` went back behind a later
            // entry. Start the id afresh.
            state.remove(event_id);
        }
        let id: Arc<str> = Arc::from(event_id);
        state.seen.insert(Arc::clone(&id), now);
        state.order.push_back((id, now));
        while state.order.len() > self.capacity {
            if let Some((oldest, _)) = state.order.pop_front() {
                state.seen.remove(&oldest);
            }
        }
        true
    }

    /// Whether `event_id` is held and within the window, without recording it.
    pub fn contains(&self, event_id: &str) -> bool {
        self.contains_at(event_id, self.clock.now())
    }

    /// [`ReplayGuard::contains`] at an explicit time.
    pub fn contains_at(&self, event_id: &str, now: Instant) -> bool {
        self.state()
            .seen
            .get(event_id)
            .is_some_and(|&at| !is_expired(at, now, self.window))
    }

    /// Forgets `event_id`, so its next delivery counts as new. Returns
    /// whether it was held.
    pub fn forget(&self, event_id: &str) -> bool {
        self.state().remove(event_id)
    }

    /// How many ids it holds now (expired ones are dropped first).
    pub fn len(&self) -> usize {
        let now = self.clock.now();
        let mut state = self.state();
        state.expire(now, self.window);
        state.order.len()
    }

    /// Whether it holds no id now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Nothing in a critical section can panic halfway through a change,
        // so the state behind a poisoned lock is still whole.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for ReplayGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplayGuard")
            .field("capacity", &self.capacity)
            .field("window", &self.window)
            .field("held", &self.state().order.len())
            .finish_non_exhaustive()
    }
}
