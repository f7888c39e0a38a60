//! Real webhook deliveries: handlers publish events under the store lock
//! and queue one job per subscription; a background worker posts each
//! signed body, records every attempt and retries failures with backoff.
//!
//! Handlers never await, so they only queue ([`Dispatch::send`]); the
//! worker ([`run`]) lives as long as the server and stops with it.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::model::{Attempt, AttemptResult, Event, EventData, EventPayload, EventType};
use crate::app::{App, lock};
use crate::clock::rfc3339;
use crate::ids;
use crate::resources::Resources;

/// Longest wait between two tries, however the backoff grows.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How much of an endpoint's answer an attempt keeps.
const RESPONSE_PREVIEW: usize = 512;

/// How deliveries behave; fixed when the server starts.
#[derive(Debug, Clone)]
pub(crate) struct DeliverySettings {
    /// Accept `http://` endpoints (local test receivers).
    pub(crate) allow_http: bool,
    /// Tries per event and subscription, at least 1.
    pub(crate) max_attempts: u32,
    /// Wait before the second try; each later wait is four times longer,
    /// up to [`MAX_BACKOFF`].
    pub(crate) first_backoff: Duration,
    /// Deadline of one try, answer included.
    pub(crate) timeout: Duration,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        Self {
            allow_http: false,
            max_attempts: 3,
            first_backoff: Duration::from_millis(100),
            timeout: Duration::from_secs(5),
        }
    }
}

impl DeliverySettings {
    /// The wait after failed try number `attempt` (from 1).
    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 4u32.saturating_pow(attempt.saturating_sub(1));
        self.first_backoff
            .checked_mul(factor)
            .unwrap_or(MAX_BACKOFF)
            .min(MAX_BACKOFF)
    }
}

/// One event to deliver to one subscription.
#[derive(Debug)]
pub(crate) struct Job {
    team: String,
    webhook_id: String,
    event: Arc<Event>,
}

/// The queue between handlers and the worker, and its counters.
pub(crate) struct Dispatch {
    tx: mpsc::UnboundedSender<Job>,
    /// Taken by the worker when the server starts.
    rx: Mutex<Option<mpsc::UnboundedReceiver<Job>>>,
    /// Events published so far; feeds event ids.
    events: AtomicU64,
    /// Jobs queued or still being tried (waits between tries included).
    in_flight: AtomicUsize,
}

impl Dispatch {
    pub(crate) fn new() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Self {
            tx,
            rx: Mutex::new(Some(rx)),
            events: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
        }
    }

    /// Deliveries queued or in progress.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// A new `evt_` id; deterministic for a seed and publication order.
    fn next_event_id(&self, seed: u64) -> String {
        let n = self.events.fetch_add(1, Ordering::Relaxed);
        ids::public_id("evt_", seed ^ 0x6576_656e_7473, n)
    }

    /// Queues a job; `false` once the worker is gone (server stopping).
    fn send(&self, job: Job) -> bool {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        if self.tx.send(job).is_err() {
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            return false;
        }
        true
    }
}

/// Builds the event's payload once: the bytes every attempt posts.
fn publish(app: &App, team: &str, event_type: EventType, data: EventData, id: String) -> Event {
    let payload = EventPayload {
        id: &id,
        event_type,
        team_public_id: team,
        occurred_at: rfc3339(app.clock.unix_millis()),
        data,
    };
    let body = crate::api::to_json(&payload);
    let sha256 = hex(&Sha256::digest(&body));
    Event {
        id,
        event_type,
        body,
        sha256,
    }
}

/// Publishes a `sendmux.test` event to subscription `webhook_id`, which
/// the caller checked exists and listens for it. Returns the event id, or
/// `None` when events cannot be queued (the server is stopping). A paused
/// subscription gets the event published but not delivered.
pub(crate) fn emit_test(app: &App, team: &str, webhook_id: &str, enabled: bool) -> Option<String> {
    let id = app.webhook_dispatch.next_event_id(app.settings.seed);
    let data = EventData {
        webhook_id: Some(webhook_id.to_owned()),
        ..EventData::default()
    };
    let event = Arc::new(publish(app, team, EventType::Test, data, id.clone()));
    if !enabled {
        return Some(id);
    }
    let job = Job {
        team: team.to_owned(),
        webhook_id: webhook_id.to_owned(),
        event,
    };
    app.webhook_dispatch.send(job).then_some(id)
}

/// Publishes a message event of `team` to every subscription that wants
/// it (enabled, listening for the type, mailbox filter passed). Returns
/// the event id. `store` is the locked resources, so a subscription
/// created or changed concurrently is seen either entirely before or
/// entirely after.
pub(crate) fn emit(
    app: &App,
    store: &Resources,
    team: &str,
    event_type: EventType,
    mailbox_id: Option<&str>,
) -> String {
    let now = app.clock.unix_millis();
    emit_with(app, store, team, event_type, mailbox_id, |id| {
        EventData::sample(event_type, id, mailbox_id, now)
    })
}

/// [`emit`] with the event's `data` made by `data` from the new event id,
/// for events about a real message (a send of the Sending API).
pub(crate) fn emit_with(
    app: &App,
    store: &Resources,
    team: &str,
    event_type: EventType,
    mailbox_id: Option<&str>,
    data: impl FnOnce(&str) -> EventData,
) -> String {
    let id = app.webhook_dispatch.next_event_id(app.settings.seed);
    let data = data(&id);
    let event = Arc::new(publish(app, team, event_type, data, id.clone()));
    let targets: Vec<String> = store
        .webhooks
        .iter_team(team)
        .filter(|w| w.wants(event_type, mailbox_id))
        .map(|w| w.id.clone())
        .collect();
    for webhook_id in targets {
        app.webhook_dispatch.send(Job {
            team: team.to_owned(),
            webhook_id,
            event: Arc::clone(&event),
        });
    }
    id
}

/// The key under which the attempts of one subscription are stored.
pub(crate) fn attempts_key(team: &str, webhook_id: &str) -> String {
    format!("{team}/{webhook_id}")
}

/// `sha256=` and the hex HMAC-SHA256 of `body` under `secret`.
pub(crate) fn signature(secret: &str, body: &[u8]) -> String {
    // HMAC takes keys of any length; the error branch cannot happen.
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(body);
    format!("sha256={}", hex(&mac.finalize().into_bytes()))
}

/// Lowercase hex.
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

/// Decrements the in-flight count however a job ends (panics included).
struct InFlight<'a>(&'a Dispatch);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The delivery worker: takes jobs until `shutdown` flips (or its sender
/// is dropped), each job in its own task so one slow endpoint does not
/// hold up the others. Unfinished jobs are dropped when it stops.
pub(crate) async fn run(app: Arc<App>, mut shutdown: watch::Receiver<bool>) {
    let Some(mut rx) = lock(&app.webhook_dispatch.rx).take() else {
        return;
    };
    let settings = app.settings.webhooks.clone();
    // No redirects (a redirect would carry a signed body elsewhere) and no
    // proxy from the environment: deliveries go straight to the endpoint.
    let client = crate::tls::with_tls(reqwest::Client::builder())
        .ok()
        .and_then(|builder| {
            builder
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .timeout(settings.timeout)
                .user_agent(concat!("sendmux-mock/", env!("CARGO_PKG_VERSION")))
                .build()
                .ok()
        });
    let mut tasks = JoinSet::new();
    loop {
        if *shutdown.borrow() {
            break;
        }
        tokio::select! {
            changed = shutdown.changed() => {
                if changed.is_err() {
                    break;
                }
            }
            job = rx.recv() => match job {
                Some(job) => {
                    tasks.spawn(deliver(Arc::clone(&app), client.clone(), job));
                }
                None => break,
            },
            // A panicking task ends as an error here and is forgotten.
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
    // Jobs still queued are dropped with the receiver.
    while let Ok(job) = rx.try_recv() {
        drop(job);
        app.webhook_dispatch
            .in_flight
            .fetch_sub(1, Ordering::SeqCst);
    }
}

/// What one try found.
struct Outcome {
    status: Option<u16>,
    error: Option<&'static str>,
    body: Option<String>,
    ms: u64,
}

impl Outcome {
    fn success(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// Tries one job until it succeeds, runs out of tries, or the
/// subscription stops taking it (deleted, paused, or no longer listening
/// for the event's type).
async fn deliver(app: Arc<App>, client: Option<reqwest::Client>, job: Job) {
    let _in_flight = InFlight(&app.webhook_dispatch);
    let settings = &app.settings.webhooks;
    let max = settings.max_attempts.max(1);
    let mut retrying: Option<String> = None;
    for attempt in 1..=max {
        let Some((url, secret)) = current_target(&app, &job) else {
            abandon(&app, &job, retrying.as_deref());
            return;
        };
        let at = app.clock.unix_millis();
        let outcome = post(client.as_ref(), &url, &secret, &job.event).await;
        let success = outcome.success();
        let last = attempt == max;
        let backoff = settings.backoff(attempt);
        let (result, next_retry_at_ms) = match (success, last) {
            (true, _) => (AttemptResult::Success, None),
            (false, true) => (AttemptResult::PermanentFailure, None),
            (false, false) => {
                let wait = u64::try_from(backoff.as_millis()).unwrap_or(u64::MAX);
                (AttemptResult::Retrying, Some(at.saturating_add(wait)))
            }
        };
        let recorded = record(
            &app,
            &job,
            Attempt {
                id: String::new(),
                event: Arc::clone(&job.event),
                result,
                response_status: outcome.status,
                response_ms: outcome.ms,
                delivery_attempt: attempt,
                max_attempts: max,
                next_retry_at_ms,
                error_message: outcome.error,
                response_body: outcome.body,
                created_at_ms: at,
            },
            result == AttemptResult::PermanentFailure,
        );
        if success || last || recorded.is_none() {
            return;
        }
        retrying = recorded;
        tokio::time::sleep(backoff).await;
    }
}

/// URL and secret of the job's subscription as they are now, if it still
/// takes the event. The secret is read per try, so a rotation applies to
/// the very next one.
fn current_target(app: &App, job: &Job) -> Option<(String, String)> {
    let store = lock(&app.resources);
    let w = store.webhooks.get(&job.team, &job.webhook_id).ok()?;
    let takes = w.enabled && w.event_types.contains(&job.event.event_type);
    takes.then(|| (w.url.clone(), w.secret.expose().to_owned()))
}

/// Stores an attempt (unless the subscription is gone) and returns its
/// id; marks the subscription failing after the last failed try.
fn record(app: &App, job: &Job, mut attempt: Attempt, exhausted: bool) -> Option<String> {
    let mut store = lock(&app.resources);
    let key = attempts_key(&job.team, &job.webhook_id);
    if exhausted {
        store
            .webhooks
            .get_mut(&job.team, &job.webhook_id)
            .ok()?
            .failing = true;
    } else {
        store.webhooks.get(&job.team, &job.webhook_id).ok()?;
    }
    let id = store.webhook_attempts.insert(&key, |id| {
        attempt.id = id.to_owned();
        attempt
    });
    Some(id)
}

/// The retry planned after attempt `retrying` will not happen: that
/// attempt becomes `failed`, without a next try.
fn abandon(app: &App, job: &Job, retrying: Option<&str>) {
    let Some(id) = retrying else { return };
    let mut store = lock(&app.resources);
    let key = attempts_key(&job.team, &job.webhook_id);
    if let Ok(a) = store.webhook_attempts.get_mut(&key, id) {
        a.result = AttemptResult::Failed;
        a.next_retry_at_ms = None;
    }
}

/// One signed POST.
async fn post(client: Option<&reqwest::Client>, url: &str, secret: &str, event: &Event) -> Outcome {
    let started = Instant::now();
    let elapsed =
        |started: Instant| u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let Some(client) = client else {
        return Outcome {
            status: None,
            error: Some("client_unavailable"),
            body: None,
            ms: 0,
        };
    };
    let sent = client
        .post(url)
        .header(http::header::CONTENT_TYPE, "application/json")
        .header("x-sendmux-signature", signature(secret, &event.body))
        .header("x-sendmux-event-id", event.id.as_str())
        .header("x-sendmux-event-type", event.event_type.as_str())
        .body(Bytes::clone(&event.body))
        .send()
        .await;
    let mut resp = match sent {
        Ok(resp) => resp,
        Err(e) => {
            return Outcome {
                status: None,
                error: Some(error_kind(&e)),
                body: None,
                ms: elapsed(started),
            };
        }
    };
    let status = resp.status().as_u16();
    // Only the start of the answer is kept; the rest is not read.
    let mut preview = Vec::new();
    let mut error = None;
    while preview.len() < RESPONSE_PREVIEW {
        match resp.chunk().await {
            Ok(Some(chunk)) => preview.extend_from_slice(&chunk),
            Ok(None) => break,
            Err(e) => {
                error = Some(error_kind(&e));
                break;
            }
        }
    }
    preview.truncate(RESPONSE_PREVIEW);
    let body = (!preview.is_empty()).then(|| String::from_utf8_lossy(&preview).into_owned());
    Outcome {
        status: Some(status),
        error,
        body,
        ms: elapsed(started),
    }
}

/// A category for a failed try, never the error's text (which may carry
/// the URL).
fn error_kind(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connection_failed"
    } else if e.is_body() || e.is_decode() {
        "response_read_failed"
    } else {
        "request_failed"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_hex() {
        // RFC 4231 test case 2.
        let sig = signature("Jefe", b"what do ya want for nothing?");
        assert_eq!(
            sig,
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn backoff_grows_fourfold_and_is_capped() {
        let s = DeliverySettings::default();
        assert_eq!(s.backoff(1), Duration::from_millis(100));
        assert_eq!(s.backoff(2), Duration::from_millis(400));
        assert_eq!(s.backoff(3), Duration::from_millis(1600));
        assert_eq!(s.backoff(40), MAX_BACKOFF);
    }
}
