//! Shared server state: configuration, stored resources, idempotency
//! records, rate windows, fault rules and the request log.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, StatusCode};
use serde::Serialize;

use crate::clock::ServerClock;
use crate::config::{FaultConfig, FaultKind, FaultPhase, Propagation, RateLimit};
use crate::ids;
use crate::resources::Resources;
use crate::resources::webhooks::{DeliverySettings, Dispatch};

/// How long idempotency records live.
pub(crate) const IDEMPOTENCY_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// Settings fixed at start.
pub(crate) struct Settings {
    pub(crate) seed: u64,
    pub(crate) accept_keys: Vec<String>,
    pub(crate) max_body_bytes: usize,
    pub(crate) log_capacity: usize,
    /// Validate every response against the spec and log violations.
    pub(crate) self_check: bool,
    /// Largest JSON request body the log keeps (0: none).
    pub(crate) body_capture: usize,
    /// Deadline for a whole request body, counted from its head.
    pub(crate) body_read_timeout: Duration,
    /// Bearer token the admin API requires, when set.
    pub(crate) admin_token: Option<String>,
    /// Webhook delivery: plain-HTTP endpoints allowed, tries, backoff.
    pub(crate) webhooks: DeliverySettings,
    /// Where each listener is bound (known once both are).
    pub(crate) listeners: Listeners,
    /// Sending credits every team starts with, when set; else the seeded
    /// ledger's balance.
    pub(crate) sending_credits: Option<u64>,
    /// Largest Sending API attachment, in bytes.
    pub(crate) sending_attachment_limit: usize,
    /// Mailbox API: change-log and event-buffer sizes, upload limit.
    pub(crate) mailbox: crate::resources::mailbox_api::Settings,
}

/// The two listeners of a server: the Management and Mailbox host, and
/// the Sending host.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Listeners {
    pub(crate) main: std::net::SocketAddr,
    pub(crate) sending: std::net::SocketAddr,
}

/// Which listener a request arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Listener {
    /// The Management and Mailbox host.
    Main,
    /// The Sending host.
    Sending,
}

impl Listeners {
    /// The port of `listener`.
    pub(crate) fn port(&self, listener: Listener) -> u16 {
        match listener {
            Listener::Main => self.main.port(),
            Listener::Sending => self.sending.port(),
        }
    }
}

/// Everything the handlers share.
pub(crate) struct App {
    pub(crate) settings: Settings,
    pub(crate) clock: ServerClock,
    /// Every resource's collection (domains, ...).
    pub(crate) resources: Mutex<Resources>,
    /// Idempotency records.
    pub(crate) store: Mutex<Store>,
    pub(crate) rate: Mutex<RateState>,
    pub(crate) faults: Mutex<FaultState>,
    pub(crate) propagation: Mutex<Propagation>,
    pub(crate) log: Mutex<RequestLog>,
    pub(crate) request_counter: AtomicU64,
    pub(crate) fault_draws: AtomicU64,
    pub(crate) api_in_flight: AtomicUsize,
    /// Queue of webhook deliveries for the delivery worker.
    pub(crate) webhook_dispatch: Dispatch,
    /// Mailbox API event streams: adjustable settings, shutdown signal.
    pub(crate) mailbox_runtime: crate::resources::mailbox_api::Runtime,
    /// What a test arranged: stubs, expectations, setup problems.
    pub(crate) mocking: crate::mocking::Mocking,
}

/// Empty resources for `settings`.
fn fresh_resources(settings: &Settings) -> Resources {
    let mut resources = Resources::new(settings.seed);
    resources.billing.starting_credits = settings.sending_credits;
    resources
}

/// Recovers the guard even if a panicking thread poisoned the lock: the
/// state stays usable for the next request instead of failing forever.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl App {
    pub(crate) fn new(
        settings: Settings,
        clock: ServerClock,
        rate: RateLimits,
        faults: FaultConfig,
        propagation: Propagation,
    ) -> Self {
        let events = settings.mailbox.events;
        Self {
            resources: Mutex::new(fresh_resources(&settings)),
            settings,
            clock,
            store: Mutex::new(Store::default()),
            rate: Mutex::new(RateState {
                config: rate,
                windows: HashMap::new(),
            }),
            faults: Mutex::new(FaultState {
                config: faults,
                fired: Vec::new(),
            }),
            propagation: Mutex::new(propagation),
            log: Mutex::new(RequestLog::default()),
            request_counter: AtomicU64::new(0),
            fault_draws: AtomicU64::new(0),
            api_in_flight: AtomicUsize::new(0),
            webhook_dispatch: Dispatch::new(),
            mailbox_runtime: crate::resources::mailbox_api::Runtime::new(events),
            mocking: crate::mocking::Mocking::default(),
        }
    }

    /// Next `req_...` id; deterministic for a given seed and request order.
    pub(crate) fn next_request_id(&self) -> String {
        let n = self.request_counter.fetch_add(1, Ordering::Relaxed);
        ids::public_id("req_", self.settings.seed ^ 0x7265_7175_6573_7473, n)
    }

    /// Team of an API key as the API sees it: a mailbox key the mock
    /// issued speaks for its mailbox's team, any other key is a team of
    /// its own ([`team_of`](Self::team_of)).
    pub(crate) fn team_for_key(&self, key: &str) -> String {
        let issued = lock(&self.resources).mailbox_keys.team_of_issued(key);
        issued.unwrap_or_else(|| self.team_of(key))
    }

    /// Team of an API key: one team per distinct key.
    pub(crate) fn team_of(&self, key: &str) -> String {
        format!(
            "team_{}",
            ids::token(self.settings.seed, key.as_bytes(), 20)
        )
    }

    /// The request log as public records, oldest first.
    pub(crate) fn records(&self) -> Vec<RequestRecord> {
        lock(&self.log)
            .entries
            .iter()
            .map(LogEntry::to_record)
            .collect()
    }

    /// Clears resources, idempotency records, rate windows and the log;
    /// configuration stays.
    pub(crate) fn reset(&self) {
        *lock(&self.resources) = fresh_resources(&self.settings);
        *lock(&self.store) = Store::default();
        lock(&self.rate).windows.clear();
        lock(&self.log).clear();
        lock(&self.faults).fired.clear();
    }

    pub(crate) fn record(&self, rec: LogEntry) {
        let cap = self.settings.log_capacity;
        if cap == 0 {
            return;
        }
        lock(&self.log).push(rec, cap);
    }

    /// Rate-limit accounting for one request made with the key `key` (its
    /// [`rate_key`](Self::rate_key)) of class `class`, or with none (an
    /// unauthenticated request, or one that needs no key), which is not
    /// counted but reported against the class's limit.
    pub(crate) fn rate_check(&self, key: Option<u64>, class: KeyClass) -> RateOutcome {
        let now_ms = self.clock.unix_millis();
        let mut rate = lock(&self.rate);
        let RateLimit { limit, window_secs } = rate.config.of(class);
        let window_ms = window_secs.max(1).saturating_mul(1000);
        // Saturating: the admin clock can be pushed to the end of time, and
        // the window arithmetic must keep answering rather than overflow.
        let start = now_ms - now_ms % window_ms;
        let end = start.saturating_add(window_ms);
        let reset_secs = end.div_ceil(1000);
        let Some(key) = key else {
            return RateOutcome {
                limit,
                remaining: limit,
                reset_unix: reset_secs,
                retry_after: None,
            };
        };
        let entry = rate.windows.entry(key).or_insert((start, 0));
        if entry.0 != start {
            *entry = (start, 0);
        }
        if entry.1 >= limit {
            let wait_ms = end.saturating_sub(now_ms);
            return RateOutcome {
                limit,
                remaining: 0,
                reset_unix: reset_secs,
                retry_after: Some(wait_ms.div_ceil(1000).max(1)),
            };
        }
        entry.1 = entry.1.saturating_add(1);
        RateOutcome {
            limit,
            remaining: limit.saturating_sub(entry.1),
            reset_unix: reset_secs,
            retry_after: None,
        }
    }

    /// What the rate windows are keyed by: a seeded hash of the API key,
    /// so the secret itself is not kept for this.
    pub(crate) fn rate_key(&self, key: &str) -> u64 {
        ids::hash_bytes(self.settings.seed ^ 0x7261_7465_6b65_7973, key.as_bytes())
    }

    /// Draws the faults of `phase` for one request of `operation`.
    pub(crate) fn draw_faults(&self, operation: &str, phase: FaultPhase) -> FaultDraw {
        let mut faults = lock(&self.faults);
        let mut draw = FaultDraw::default();
        if faults.config.rules.is_empty() {
            return draw;
        }
        let seed = self.settings.seed ^ 0x6661_756c_7473;
        let FaultState { config, fired } = &mut *faults;
        fired.resize(config.rules.len(), 0);
        for (i, rule) in config.rules.iter().enumerate() {
            if rule.phase() != phase || rule.operation.as_deref().is_some_and(|op| op != operation)
            {
                continue;
            }
            if rule.times.is_some_and(|t| fired[i] >= t) {
                continue;
            }
            let n = self.fault_draws.fetch_add(1, Ordering::Relaxed);
            if ids::unit(seed, n) >= rule.rate {
                continue;
            }
            match &rule.kind {
                FaultKind::Latency { ms } => {
                    fired[i] += 1;
                    draw.latency += Duration::from_millis(*ms);
                    draw.names.push(rule.kind.name());
                }
                other if draw.terminal.is_none() => {
                    fired[i] += 1;
                    draw.terminal = Some(other.clone());
                    draw.names.push(other.name());
                }
                _ => {}
            }
        }
        draw
    }

    /// Reserves an idempotency key, or reports why it cannot be.
    pub(crate) fn idem_begin(&self, key: &IdemKey, fingerprint: &[u8]) -> IdemBegin {
        let now = self.clock.unix_millis();
        let ttl = u64::try_from(IDEMPOTENCY_TTL.as_millis()).unwrap_or(u64::MAX);
        let mut store = lock(&self.store);
        if let Some(entry) = store.idempotency.get(key) {
            // Age rather than creation + TTL: at a clock saturated at its
            // end, a sum would make every record expire at once.
            let expired = now.saturating_sub(entry.created_ms) >= ttl;
            if !expired {
                if entry.fingerprint != fingerprint {
                    return IdemBegin::Mismatch;
                }
                return match &entry.state {
                    IdemState::InFlight => IdemBegin::InFlight,
                    IdemState::Done(stored) => IdemBegin::Replay(Arc::clone(stored)),
                };
            }
        }
        store.idempotency.insert(
            key.clone(),
            IdemEntry {
                fingerprint: fingerprint.to_vec(),
                created_ms: now,
                state: IdemState::InFlight,
            },
        );
        IdemBegin::Reserved
    }

    pub(crate) fn idem_finish(&self, key: &IdemKey, stored: StoredResponse) {
        let mut store = lock(&self.store);
        if let Some(entry) = store.idempotency.get_mut(key) {
            entry.state = IdemState::Done(Arc::new(stored));
        }
    }

    /// Drops an unfinished reservation (the request was abandoned).
    pub(crate) fn idem_abandon(&self, key: &IdemKey) {
        let mut store = lock(&self.store);
        if matches!(
            store.idempotency.get(key).map(|e| &e.state),
            Some(IdemState::InFlight)
        ) {
            store.idempotency.remove(key);
        }
    }
}

/// Result of rate accounting, rendered into `X-RateLimit-*` headers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RateOutcome {
    pub(crate) limit: u32,
    pub(crate) remaining: u32,
    pub(crate) reset_unix: u64,
    /// Set when the request is over the limit.
    pub(crate) retry_after: Option<u64>,
}

pub(crate) struct RateState {
    pub(crate) config: RateLimits,
    /// key (its [`App::rate_key`]) -> (window start ms, requests counted)
    windows: HashMap<u64, (u64, u32)>,
}

/// The limit of each class of key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RateLimits {
    /// Root keys (`smx_root_`): the Management API.
    pub(crate) root: RateLimit,
    /// Mailbox keys and agent tokens (`smx_mbx_`, `smx_agent_`): the
    /// Mailbox and Sending APIs.
    pub(crate) mailbox: RateLimit,
}

impl RateLimits {
    fn of(&self, class: KeyClass) -> RateLimit {
        match class {
            KeyClass::Root => self.root,
            KeyClass::Mailbox => self.mailbox,
        }
    }
}

/// Which published limit a key falls under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyClass {
    /// `smx_root_` keys.
    Root,
    /// `smx_mbx_` keys and `smx_agent_` tokens.
    Mailbox,
}

impl KeyClass {
    /// The class of the keys that may call `surface`, for requests that
    /// carry none of their own.
    pub(crate) fn of_surface(surface: sendmux_operations::Surface) -> Self {
        match surface {
            sendmux_operations::Surface::Management => Self::Root,
            sendmux_operations::Surface::Mailbox | sendmux_operations::Surface::Sending => {
                Self::Mailbox
            }
        }
    }
}

pub(crate) struct FaultState {
    pub(crate) config: FaultConfig,
    /// How often each rule fired, for `times` limits.
    pub(crate) fired: Vec<u64>,
}

#[derive(Debug, Default)]
pub(crate) struct FaultDraw {
    pub(crate) latency: Duration,
    pub(crate) terminal: Option<FaultKind>,
    pub(crate) names: Vec<&'static str>,
}

/// Idempotency records.
#[derive(Default)]
pub(crate) struct Store {
    pub(crate) idempotency: HashMap<IdemKey, IdemEntry>,
}

/// (team, operation, key)
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct IdemKey {
    pub(crate) team: String,
    pub(crate) operation: &'static str,
    pub(crate) key: String,
}

pub(crate) struct IdemEntry {
    /// Canonical form of the request body.
    fingerprint: Vec<u8>,
    created_ms: u64,
    state: IdemState,
}

enum IdemState {
    InFlight,
    Done(Arc<StoredResponse>),
}

impl Store {
    pub(crate) fn idempotency_in_flight(&self) -> usize {
        self.idempotency
            .values()
            .filter(|e| matches!(e.state, IdemState::InFlight))
            .count()
    }
}

/// A response kept for replay.
#[derive(Debug)]
pub(crate) struct StoredResponse {
    pub(crate) status: StatusCode,
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    pub(crate) body: Bytes,
}

pub(crate) enum IdemBegin {
    Reserved,
    Replay(Arc<StoredResponse>),
    Mismatch,
    InFlight,
}

/// Request bodies the whole log keeps, at most: 64 MiB. Past it, the
/// oldest entries lose their bodies first.
pub(crate) const LOG_BODY_BUDGET: usize = 64 * 1024 * 1024;

/// The request log: entries oldest first, bounded by count, and their
/// kept bodies bounded in total ([`LOG_BODY_BUDGET`]).
pub(crate) struct RequestLog {
    pub(crate) entries: VecDeque<LogEntry>,
    /// Most body bytes kept over all entries.
    budget: usize,
    /// Bytes of the bodies the entries keep.
    body_bytes: usize,
    /// Leading entries already stripped of their bodies (or without one),
    /// so the budget never rescans them.
    stripped: usize,
}

impl Default for RequestLog {
    fn default() -> Self {
        Self::with_budget(LOG_BODY_BUDGET)
    }
}

impl RequestLog {
    fn with_budget(budget: usize) -> Self {
        Self {
            entries: VecDeque::new(),
            budget,
            body_bytes: 0,
            stripped: 0,
        }
    }

    /// Appends `entry`, dropping the oldest entries beyond `cap` and the
    /// oldest bodies beyond the budget.
    fn push(&mut self, entry: LogEntry, cap: usize) {
        while self.entries.len() >= cap {
            let Some(old) = self.entries.pop_front() else {
                break;
            };
            self.body_bytes -= old.body.as_ref().map_or(0, Bytes::len);
            self.stripped = self.stripped.saturating_sub(1);
        }
        self.body_bytes += entry.body.as_ref().map_or(0, Bytes::len);
        self.entries.push_back(entry);
        while self.body_bytes > self.budget {
            let Some(old) = self.entries.get_mut(self.stripped) else {
                break;
            };
            self.body_bytes -= old.body.take().map_or(0, |b| b.len());
            self.stripped += 1;
        }
    }

    pub(crate) fn clear(&mut self) {
        *self = Self::with_budget(self.budget);
    }
}

/// What the log keeps per request: few allocations on the hot path; the
/// public [`RequestRecord`] is built when someone asks.
pub(crate) struct LogEntry {
    pub(crate) request_id: String,
    pub(crate) method: http::Method,
    pub(crate) path: String,
    pub(crate) operation: &'static str,
    /// The operation's surface.
    pub(crate) surface: sendmux_operations::Surface,
    /// The port the request arrived on.
    pub(crate) port: u16,
    pub(crate) team: Option<String>,
    /// `name:value\n` per header, credentials (`Authorization`, the upload
    /// token) already redacted.
    pub(crate) headers: String,
    pub(crate) status: Option<u16>,
    pub(crate) faults: Vec<&'static str>,
    pub(crate) connection_closed: bool,
    pub(crate) replayed: bool,
    pub(crate) violations: Vec<String>,
    /// The JSON request body as kept: at most the capture limit, fields
    /// named like secrets already redacted (`mocking::received::capture`).
    pub(crate) body: Option<Bytes>,
    /// Size of the request body as read (0 when none was read).
    pub(crate) body_size: usize,
    /// The stub that answered, if one did.
    pub(crate) stub: Option<u64>,
}

impl LogEntry {
    /// Flattens request headers into one string, hiding the credential.
    pub(crate) fn pack_headers(headers: &http::HeaderMap) -> String {
        let mut out = String::with_capacity(256);
        for (name, value) in headers {
            out.push_str(name.as_str());
            out.push(':');
            if name == http::header::AUTHORIZATION || name.as_str() == "x-sendmux-upload-token" {
                out.push_str("[redacted]");
            } else {
                out.push_str(&String::from_utf8_lossy(value.as_bytes()));
            }
            out.push('\n');
        }
        out
    }

    /// The packed headers as (name, value) pairs, in order.
    pub(crate) fn header_pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers.lines().filter_map(|l| l.split_once(':'))
    }

    /// The kept body decoded, when it is JSON.
    pub(crate) fn body_json(&self) -> Option<serde_json::Value> {
        self.body
            .as_ref()
            .and_then(|b| serde_json::from_slice(b).ok())
    }

    fn to_record(&self) -> RequestRecord {
        let headers: Vec<(String, String)> = self
            .header_pairs()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let idempotency_key = headers
            .iter()
            .find(|(k, _)| k == "idempotency-key")
            .map(|(_, v)| v.clone());
        RequestRecord {
            request_id: self.request_id.clone(),
            method: self.method.to_string(),
            path: self.path.clone(),
            operation: Some(self.operation.to_owned()),
            surface: Some(self.surface.as_str().to_owned()),
            port: self.port,
            team: self.team.clone(),
            headers,
            idempotency_key,
            status: self.status,
            faults: self.faults.iter().map(|f| (*f).to_owned()).collect(),
            connection_closed: self.connection_closed,
            replayed: self.replayed,
            violations: self.violations.clone(),
            body: self.body_json(),
            body_size: self.body_size,
            stub: self.stub,
        }
    }
}

/// One request as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct RequestRecord {
    /// `X-Request-Id` the server assigned (replays keep the original id in
    /// the response; this is always the new one).
    pub request_id: String,
    /// HTTP method.
    pub method: String,
    /// Path and query, as sent.
    pub path: String,
    /// `operationId` of the matched route, if any.
    pub operation: Option<String>,
    /// The API the operation belongs to: `management`, `mailbox` or
    /// `sending`.
    pub surface: Option<String>,
    /// The server port the request arrived on: [`MockServer::addr`]'s for
    /// the Management and Mailbox APIs, [`MockServer::sending_addr`]'s for
    /// the Sending API.
    ///
    /// [`MockServer::addr`]: crate::MockServer::addr
    /// [`MockServer::sending_addr`]: crate::MockServer::sending_addr
    pub port: u16,
    /// Team the key belongs to, when the key was accepted.
    pub team: Option<String>,
    /// Request headers in order; `Authorization` and
    /// `X-Sendmux-Upload-Token` are redacted.
    pub headers: Vec<(String, String)>,
    /// The `Idempotency-Key` header, when sent.
    pub idempotency_key: Option<String>,
    /// Status the server produced; `None` when the connection was closed
    /// before the handler ran.
    pub status: Option<u16>,
    /// Names of the faults injected into this request.
    pub faults: Vec<String>,
    /// Whether the connection was closed instead of writing the response.
    pub connection_closed: bool,
    /// Whether this response was an idempotent replay.
    pub replayed: bool,
    /// Spec violations of the response, when the server checks its own
    /// output ([`MockServerBuilder::self_check`](crate::MockServerBuilder::self_check)),
    /// and always for an answer of a checked stub ([`MockServer::stub`]).
    ///
    /// [`MockServer::stub`]: crate::MockServer::stub
    pub violations: Vec<String>,
    /// The JSON request body, when it was read and is at most
    /// [`MockServerBuilder::request_body_capture`](crate::MockServerBuilder::request_body_capture)
    /// bytes (64 KiB by default). Every field whose name contains
    /// `password`, `secret`, `token`, `api_key` or `authorization` holds
    /// `"[redacted]"` instead of its value.
    pub body: Option<serde_json::Value>,
    /// Size in bytes of the request body as read; 0 when the request had
    /// none or was answered before its body was read.
    pub body_size: usize,
    /// Id of the stub that answered ([`Stub::id`](crate::Stub::id)), when
    /// one did.
    pub stub: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(body: Option<&'static [u8]>) -> LogEntry {
        LogEntry {
            request_id: String::new(),
            method: http::Method::POST,
            path: String::new(),
            operation: "managementCreateDomain",
            surface: sendmux_operations::Surface::Management,
            port: 0,
            team: None,
            headers: String::new(),
            status: Some(201),
            faults: Vec::new(),
            connection_closed: false,
            replayed: false,
            violations: Vec::new(),
            body: body.map(Bytes::from_static),
            body_size: body.map_or(0, <[u8]>::len),
            stub: None,
        }
    }

    fn kept(log: &RequestLog) -> Vec<bool> {
        log.entries.iter().map(|e| e.body.is_some()).collect()
    }

    #[test]
    fn the_oldest_bodies_go_first_when_over_the_budget() {
        let mut log = RequestLog::with_budget(10);
        log.push(entry(Some(b"1234")), 100);
        log.push(entry(None), 100);
        log.push(entry(Some(b"5678")), 100);
        assert_eq!(kept(&log), [true, false, true]);
        log.push(entry(Some(b"abcd")), 100);
        assert_eq!(kept(&log), [false, false, true, true]);
        assert_eq!(log.body_bytes, 8);
        // Entries beyond the count go with their bodies.
        log.push(entry(Some(b"efgh")), 3);
        assert_eq!(kept(&log), [false, true, true]);
        assert_eq!(log.body_bytes, 8);
        // The size as read stays known without the body.
        assert_eq!(log.entries[0].body_size, 4);
        log.clear();
        assert_eq!((log.entries.len(), log.body_bytes, log.budget), (0, 0, 10));
    }
}
