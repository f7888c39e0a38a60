//! `GET /mailbox/events`: a Server-Sent Events stream of a mailbox's new
//! mail, fed by the mailbox's broadcast channel, resumable from a
//! `Last-Event-ID` within the buffered events, with `ping` keep-alives.
//!
//! Wire format, one block per event:
//!
//! ```text
//! retry: 3000                 (once, first)
//!
//! id: 7
//! event: message.received     (or message.received.spam, sync_required)
//! data: {MailboxRealtimeEvent JSON}
//!
//! event: ping                 (keep-alive, no id)
//! data: {}
//! ```
//!
//! Ids count up per mailbox from 1. A client resuming from an id whose
//! successors are no longer buffered (or that was never issued) gets one
//! `sync_required` event, with the newest id, and should resynchronise
//! through `/mailbox/changes`; so does a client too slow to keep up.
//! The stream ends on `close_after`, at server shutdown and on reset.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use hyper::body::Frame;
use serde::Serialize;
use tokio::sync::{broadcast, watch};
use tokio::time::{Interval, MissedTickBehavior, Sleep};

use super::model::{Links, Message, truncate_bytes};
use super::store::{Resume, StreamEvent};
use super::{Ctx, check_params, mailbox_of, number, open};
use crate::api::{ApiError, Out, to_json};
use crate::app::lock;
use crate::clock::rfc3339;
use crate::config::EventStreamConfig;

/// Event type of mail arriving in the Inbox.
pub(crate) const RECEIVED: &str = "message.received";
/// Event type of mail arriving as spam.
pub(crate) const SPAM: &str = "message.received.spam";
/// Event type telling a client to resynchronise.
const SYNC_REQUIRED: &str = "sync_required";
/// Reconnection delay the stream suggests to clients, in milliseconds.
const RETRY_MS: u64 = 3000;
/// Bytes of each body part an event carries.
const EVENT_BODY_BYTES: usize = 16 * 1024;
/// Pause between the last event and a fault's cut, so that event is
/// written before the connection drops.
const CUT_GRACE: Duration = Duration::from_millis(20);

/// Event-stream behaviour that can change while the server runs, and the
/// shutdown signal every stream watches.
pub(crate) struct Runtime {
    config: Mutex<EventStreamConfig>,
    shutdown: OnceLock<watch::Receiver<bool>>,
}

impl Runtime {
    pub(crate) fn new(config: EventStreamConfig) -> Self {
        Self {
            config: Mutex::new(config),
            shutdown: OnceLock::new(),
        }
    }

    pub(crate) fn config(&self) -> EventStreamConfig {
        *lock(&self.config)
    }

    /// Applies to streams opened from now on.
    pub(crate) fn set_config(&self, config: EventStreamConfig) {
        *lock(&self.config) = config;
    }

    /// Streams end when this flips to `true` (set once, at start).
    pub(crate) fn watch_shutdown(&self, rx: watch::Receiver<bool>) {
        let _ = self.shutdown.set(rx);
    }
}

/// `MailboxRealtimeEvent`.
#[derive(Serialize)]
struct RealtimeEvent<'a> {
    event_type: &'static str,
    team_public_id: &'a str,
    mailbox_id: &'a str,
    message_id: Option<&'a str>,
    message_id_kind: Option<&'static str>,
    sender: Option<&'a str>,
    recipients: Vec<&'a str>,
    is_spam: Option<bool>,
    message: RealtimeMessage<'a>,
    occurred_at: String,
}

/// `MailboxRealtimeMessage`: the summary, a capped body and the
/// `Message-ID`.
#[derive(Serialize)]
struct RealtimeMessage<'a> {
    #[serde(flatten)]
    summary: super::model::Summary<'a>,
    body: RealtimeBody,
    rfc5322_message_id: Option<&'a str>,
}

#[derive(Serialize)]
struct RealtimeBody {
    text: Option<String>,
    html: Option<String>,
    is_truncated: bool,
    max_bytes: usize,
}

/// The event announcing message `m` of `mailbox_id`, as JSON.
pub(crate) fn message_event(team: &str, mailbox_id: &str, m: &Message, now: u64) -> Bytes {
    let mut is_truncated = false;
    let mut cap = |part: &Option<String>| {
        part.as_deref().map(|s| {
            let (kept, cut) = truncate_bytes(s, EVENT_BODY_BYTES);
            is_truncated |= cut;
            kept.to_owned()
        })
    };
    let body = RealtimeBody {
        text: cap(&m.text),
        html: cap(&m.html),
        is_truncated,
        max_bytes: EVENT_BODY_BYTES,
    };
    to_json(&RealtimeEvent {
        event_type: if m.spam { SPAM } else { RECEIVED },
        team_public_id: team,
        mailbox_id,
        message_id: Some(&m.rfc_message_id),
        message_id_kind: Some("rfc5322"),
        sender: m.from.as_ref().map(|a| a.email.as_str()),
        recipients: m.to.iter().chain(&m.cc).map(|a| a.email.as_str()).collect(),
        is_spam: Some(m.spam),
        message: RealtimeMessage {
            summary: m.summary(&Links::none()),
            body,
            rfc5322_message_id: Some(&m.rfc_message_id),
        },
        occurred_at: rfc3339(now),
    })
}

/// A `sync_required` event. The published shape requires a message; this
/// one is empty (`id` `""`), as the event is about no message.
fn sync_event(team: &str, mailbox_id: &str, now: u64) -> Bytes {
    to_json(&serde_json::json!({
        "event_type": SYNC_REQUIRED,
        "team_public_id": team,
        "mailbox_id": mailbox_id,
        "message_id": null,
        "message_id_kind": null,
        "sender": null,
        "recipients": [],
        "is_spam": null,
        "message": {
            "id": "", "thread_id": null, "folder_ids": [], "subject": null,
            "preview": null, "from": null, "to": [], "cc": [], "bcc": [],
            "received_at": null, "sent_at": null, "size_bytes": null,
            "has_attachments": false, "keywords": [],
            "flags": {"seen": false, "flagged": false, "draft": false, "answered": false},
            "rfc5322_message_id": null,
            "body": {"text": null, "html": null, "is_truncated": false, "max_bytes": EVENT_BODY_BYTES},
        },
        "occurred_at": rfc3339(now),
    }))
}

/// One block of the stream and whether it counts as an event (for the
/// cut fault; the `retry` block and pings do not).
struct Block {
    bytes: Bytes,
    counts: bool,
}

fn event_block(id: u64, event_type: &str, data: &[u8]) -> Block {
    let mut out = Vec::with_capacity(data.len() + 48);
    out.extend_from_slice(format!("id: {id}\nevent: {event_type}\ndata: ").as_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\n\n");
    Block {
        bytes: out.into(),
        counts: true,
    }
}

fn ping_block() -> Block {
    Block {
        bytes: Bytes::from_static(b"event: ping\ndata: {}\n\n"),
        counts: false,
    }
}

/// The state of one open stream.
struct Streaming {
    queue: VecDeque<Block>,
    rx: broadcast::Receiver<Arc<StreamEvent>>,
    /// Event types the client asked for (`None`: all).
    filter: Option<Vec<String>>,
    ping: Option<Interval>,
    deadline: Option<Pin<Box<Sleep>>>,
    shutdown: Option<watch::Receiver<bool>>,
    /// For `sync_required` after a lag.
    team: String,
    mailbox_id: String,
    /// Event ids of this mailbox seen so far (for a lag's sync event).
    last_id: u64,
    sent: u64,
    cut_after: Option<u64>,
    cut_pending: bool,
}

enum Step {
    Data(Bytes),
    Cut,
    End,
}

impl Streaming {
    fn wants(&self, event: &StreamEvent) -> bool {
        self.filter
            .as_ref()
            .is_none_or(|types| types.iter().any(|t| t == event.event_type))
    }

    fn push_event(&mut self, event: &StreamEvent) {
        self.last_id = self.last_id.max(event.id);
        if self.wants(event) {
            self.queue
                .push_back(event_block(event.id, event.event_type, &event.data));
        }
    }

    async fn next(mut self) -> (Step, Self) {
        loop {
            if self.cut_pending {
                tokio::time::sleep(CUT_GRACE).await;
                return (Step::Cut, self);
            }
            if let Some(block) = self.queue.pop_front() {
                if block.counts {
                    self.sent += 1;
                    self.cut_pending = self.cut_after.is_some_and(|n| self.sent >= n);
                }
                return (Step::Data(block.bytes), self);
            }
            let Self {
                rx,
                ping,
                deadline,
                shutdown,
                ..
            } = &mut self;
            let woke = tokio::select! {
                received = rx.recv() => Woke::Received(received),
                () = tick(ping) => Woke::Ping,
                () = until(deadline) => Woke::End,
                () = stopped(shutdown) => Woke::End,
            };
            match woke {
                Woke::Received(Ok(event)) => self.push_event(&event),
                Woke::Received(Err(broadcast::error::RecvError::Lagged(_))) => {
                    let data = sync_event(&self.team, &self.mailbox_id, wall_millis());
                    self.queue
                        .push_back(event_block(self.last_id, SYNC_REQUIRED, &data));
                }
                Woke::Received(Err(broadcast::error::RecvError::Closed)) | Woke::End => {
                    return (Step::End, self);
                }
                Woke::Ping => self.queue.push_back(ping_block()),
            }
        }
    }
}

/// What woke a waiting stream.
enum Woke {
    Received(Result<Arc<StreamEvent>, broadcast::error::RecvError>),
    Ping,
    End,
}

fn wall_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

async fn tick(ping: &mut Option<Interval>) {
    match ping {
        Some(interval) => {
            interval.tick().await;
        }
        None => std::future::pending().await,
    }
}

async fn until(deadline: &mut Option<Pin<Box<Sleep>>>) {
    match deadline {
        Some(sleep) => sleep.as_mut().await,
        None => std::future::pending().await,
    }
}

/// Resolves once the server stops (or is gone).
async fn stopped(shutdown: &mut Option<watch::Receiver<bool>>) {
    let Some(rx) = shutdown else {
        return std::future::pending().await;
    };
    loop {
        if *rx.borrow() {
            return;
        }
        if rx.changed().await.is_err() {
            return;
        }
    }
}

type Pending = Pin<Box<dyn Future<Output = (Step, Streaming)> + Send>>;

/// The response body: one block per poll, an error for a cut.
struct SseBody {
    next: Option<Pending>,
}

impl hyper::body::Body for SseBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let Some(pending) = self.next.as_mut() else {
            return Poll::Ready(None);
        };
        match pending.as_mut().poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready((Step::Data(bytes), state)) => {
                self.next = Some(Box::pin(state.next()));
                Poll::Ready(Some(Ok(Frame::data(bytes))))
            }
            Poll::Ready((Step::Cut, _)) => {
                self.next = None;
                Poll::Ready(Some(Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionAborted,
                    "event stream cut by an injected fault",
                ))))
            }
            Poll::Ready((Step::End, _)) => {
                self.next = None;
                Poll::Ready(None)
            }
        }
    }
}

/// The `event_types` filter: published values only.
fn event_types(ctx: &Ctx<'_>) -> Result<Option<Vec<String>>, ApiError> {
    let Some(raw) = ctx.query("event_types") else {
        return Ok(None);
    };
    let mut types = Vec::new();
    for t in raw.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        if t != RECEIVED && t != SPAM {
            return Err(ApiError::invalid_parameter(format!(
                "event_types takes {RECEIVED} and {SPAM}, not `{t}`"
            ))
            .with_param("event_types"));
        }
        types.push(t.to_owned());
    }
    Ok(Some(types))
}

/// `Last-Event-ID` (header, else the `last_event_id` query form).
fn last_event_id(ctx: &Ctx<'_>) -> Result<Option<u64>, ApiError> {
    let header = ctx
        .parts
        .headers
        .get("last-event-id")
        .map(|v| (v.to_str().unwrap_or("x").to_owned(), "Last-Event-ID"));
    let Some((raw, param)) =
        header.or_else(|| ctx.query("last_event_id").map(|v| (v, "last_event_id")))
    else {
        return Ok(None);
    };
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse().map(Some).map_err(|_| {
        ApiError::invalid_parameter(format!("{param} must be an event id this stream sent"))
            .with_param(param)
    })
}

/// `GET /mailbox/events`.
pub(crate) fn stream(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    check_params(&ctx)?;
    let mailbox_id = mailbox_of(&ctx)?;
    let filter = event_types(&ctx)?;
    let after = last_event_id(&ctx)?;
    let config = ctx.app.mailbox_runtime.config();
    let ping_every = number(&ctx, "ping")
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_millis(config.ping_interval_ms.max(1)));
    let close_after = number(&ctx, "close_after").map(Duration::from_secs);
    let now = ctx.app.clock.unix_millis();
    let mut store = ctx.store();
    let (_, data) = open(&mut store, &ctx, mailbox_id)?;
    let (resume, rx) = data.events.subscribe(after);
    let mut state = Streaming {
        queue: VecDeque::from([Block {
            bytes: Bytes::from(format!("retry: {RETRY_MS}\n\n")),
            counts: false,
        }]),
        rx,
        filter,
        ping: config.pings.then(|| {
            let start = tokio::time::Instant::now() + ping_every;
            let mut interval = tokio::time::interval_at(start, ping_every);
            interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
            interval
        }),
        deadline: close_after.map(|d| Box::pin(tokio::time::sleep(d))),
        shutdown: ctx.app.mailbox_runtime.shutdown.get().cloned(),
        team: ctx.team.to_owned(),
        mailbox_id: mailbox_id.to_owned(),
        last_id: after.unwrap_or(0),
        sent: 0,
        cut_after: config.cut_after,
        cut_pending: config.cut_after == Some(0),
    };
    match resume {
        Resume::Replay(events) => {
            for event in events {
                state.push_event(&event);
            }
        }
        Resume::Gap(newest) => {
            state.last_id = newest;
            let data = sync_event(ctx.team, mailbox_id, now);
            state
                .queue
                .push_back(event_block(newest, SYNC_REQUIRED, &data));
        }
    }
    drop(store);
    let body = SseBody {
        next: Some(Box::pin(state.next())),
    };
    Ok(Out::event_stream(ctx.request_id, Body::new(body)))
}
