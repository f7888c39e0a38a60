//! Live mailbox events: `GET /mailbox/events` as a typed stream that
//! reconnects on its own.
//!
//! The server sends Server-Sent Events ([`crate::sse`]); each event's
//! `data` is a [`MailboxRealtimeEvent`]. [`Events::stream`] opens the
//! connection when first polled and keeps it going: after a network error,
//! a server close, a silence longer than
//! [`ping_timeout`](Events::ping_timeout) or a retryable error status it
//! waits (exponential backoff with jitter, from the server's `retry:`
//! delay) and reconnects with `Last-Event-ID`, so the server resumes after
//! the last event the caller saw. `401`, `403`, `404` and other answers the
//! server calls final end the stream with the error.
//!
//! The stream holds at most the parser's buffer and the one event being
//! handed over: it reads from the network only when polled, so a slow
//! caller slows the connection rather than filling memory.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};
use http::{HeaderName, HeaderValue, header};
use sendmux_operations::ops;
use tracing::Instrument;

use super::Mailbox;
use crate::Client;
use crate::error::{Error, InvalidInput};
use crate::retry::RetryPolicy;
use crate::sse::{ParseError, Parser};
use crate::transport::Call;

pub use sendmux_api::types::{MailboxRealtimeEvent, MailboxRealtimeEventEventType};

/// Default longest silence (no event, no ping) before the connection is
/// taken for dead: 45 s, three of the server's usual 15 s pings.
pub const DEFAULT_PING_TIMEOUT: Duration = Duration::from_secs(45);
/// Default longest wait between two connections: 30 s.
pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(30);
/// The reconnection delay until the server names one with `retry:`.
const DEFAULT_RECONNECT_DELAY: Duration = Duration::from_secs(1);
/// The SSE event type of keep-alives.
const PING: &str = "ping";
const LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");

/// One event of the stream.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum MailboxEvent {
    /// An event whose data decoded. Its `event_type` tells what happened;
    /// a type newer than this crate arrives as
    /// [`MailboxRealtimeEventEventType::Unknown`]. On
    /// [`SyncRequired`](MailboxRealtimeEventEventType::SyncRequired) the
    /// server could not replay what was missed: resynchronise through the
    /// mailbox's changes.
    Event {
        /// The event's id (what a resumed stream starts after).
        id: Option<String>,
        /// The decoded data.
        event: Box<MailboxRealtimeEvent>,
    },
    /// An event whose data is not a [`MailboxRealtimeEvent`] (a shape this
    /// crate does not know), handed over as it came rather than dropped.
    Undecodable {
        /// The SSE event type (`event:`), `message` when none was named.
        event: String,
        /// The event's id.
        id: Option<String>,
        /// The raw `data`.
        data: String,
        /// Why it did not decode.
        reason: String,
    },
}

impl MailboxEvent {
    /// The event's id, if the server gave one.
    pub fn id(&self) -> Option<&str> {
        match self {
            MailboxEvent::Event { id, .. } | MailboxEvent::Undecodable { id, .. } => id.as_deref(),
        }
    }

    /// What happened: the data's `event_type`, or for an undecodable event
    /// its SSE event type.
    pub fn event_type(&self) -> MailboxRealtimeEventEventType {
        match self {
            MailboxEvent::Event { event, .. } => event.event_type.clone(),
            MailboxEvent::Undecodable { event, .. } => event.as_str().into(),
        }
    }

    /// The decoded event, unless it was undecodable.
    pub fn as_event(&self) -> Option<&MailboxRealtimeEvent> {
        match self {
            MailboxEvent::Event { event, .. } => Some(event),
            MailboxEvent::Undecodable { .. } => None,
        }
    }

    fn decode(sse: crate::sse::Event) -> Self {
        match serde_json::from_str::<MailboxRealtimeEvent>(&sse.data) {
            Ok(event) => MailboxEvent::Event {
                id: sse.id,
                event: Box::new(event),
            },
            Err(e) => MailboxEvent::Undecodable {
                event: sse.event,
                id: sse.id,
                data: sse.data,
                reason: e.to_string(),
            },
        }
    }
}

/// [`Mailbox::events`]: set options, then call [`stream`](Self::stream).
#[derive(Clone)]
#[must_use = "an event stream does nothing until `.stream()` is polled"]
pub struct Events {
    client: Client,
    mailbox_id: Option<String>,
    event_types: Vec<MailboxRealtimeEventEventType>,
    close_after: Option<Duration>,
    ping: Option<Duration>,
    last_event_id: Option<String>,
    ping_timeout: Duration,
    max_backoff: Duration,
    max_retries: Option<u32>,
    max_event_bytes: usize,
    invalid: Option<InvalidInput>,
}

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Events")
            .field("mailbox_id", &self.mailbox_id)
            .field("event_types", &self.event_types)
            .field("close_after", &self.close_after)
            .field("ping", &self.ping)
            .field("last_event_id", &self.last_event_id)
            .field("ping_timeout", &self.ping_timeout)
            .field("max_backoff", &self.max_backoff)
            .field("max_retries", &self.max_retries)
            .field("max_event_bytes", &self.max_event_bytes)
            .finish_non_exhaustive()
    }
}

impl Mailbox {
    /// The mailbox's live events (`GET /mailbox/events`): set options on
    /// the builder, then [`stream`](Events::stream) them.
    ///
    /// ```no_run
    /// use futures::TryStreamExt;
    /// use sendmux_client::mailbox::events::{MailboxEvent, MailboxRealtimeEventEventType};
    ///
    /// # async fn run(client: sendmux_client::Client) -> Result<(), sendmux_client::Error> {
    /// let mut events = client
    ///     .mailbox()
    ///     .events()
    ///     .event_types([MailboxRealtimeEventEventType::MessageReceived])
    ///     .stream();
    /// while let Some(event) = events.try_next().await? {
    ///     match event {
    ///         MailboxEvent::Event { event, .. } => {
    ///             println!("{}: {:?}", event.event_type, event.message.subject);
    ///         }
    ///         other => println!("not understood: {other:?}"),
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn events(&self) -> Events {
        Events {
            client: self.client.clone(),
            mailbox_id: self.mailbox_id.clone(),
            event_types: Vec::new(),
            close_after: None,
            ping: None,
            last_event_id: None,
            ping_timeout: DEFAULT_PING_TIMEOUT,
            max_backoff: DEFAULT_MAX_BACKOFF,
            max_retries: None,
            max_event_bytes: crate::sse::DEFAULT_MAX_SIZE,
            invalid: None,
        }
    }
}

impl Events {
    fn check(mut self, outcome: Result<(), InvalidInput>) -> Self {
        if let Err(problem) = outcome {
            self.invalid.get_or_insert(problem);
        }
        self
    }

    /// Only these event types (`event_types`; the server's filter takes
    /// `message.received` and `message.received.spam`). `sync_required`
    /// is sent whatever the filter.
    pub fn event_types(
        mut self,
        types: impl IntoIterator<Item = MailboxRealtimeEventEventType>,
    ) -> Self {
        self.event_types = types.into_iter().collect();
        let refused = self.event_types.iter().find(|t| match t {
            MailboxRealtimeEventEventType::MessageReceived
            | MailboxRealtimeEventEventType::MessageReceivedSpam => false,
            MailboxRealtimeEventEventType::Unknown(name) => {
                name.is_empty() || name.contains(|c: char| c == ',' || c.is_whitespace())
            }
            _ => true,
        });
        let problem = refused.map(|t| {
            InvalidInput::new(
                "event_types",
                format!("cannot filter on {t:?}"),
                "filter on message.received and message.received.spam",
            )
        });
        self.check(problem.map_or(Ok(()), Err))
    }

    /// Asks the server to end each connection after `after` (`close_after`,
    /// 30 s to 1 h, whole seconds); the stream then reconnects and resumes.
    /// Useful behind proxies that cut long requests.
    pub fn close_after(mut self, after: Duration) -> Self {
        self.close_after = Some(after);
        let fits = after.subsec_nanos() == 0 && (30..=3600).contains(&after.as_secs());
        self.check(if fits {
            Ok(())
        } else {
            Err(InvalidInput::new(
                "close_after",
                format!("is {after:?}"),
                "use whole seconds from 30 to 3600",
            ))
        })
    }

    /// Asks the server for a keep-alive every `every` (`ping`, 10 s to
    /// 300 s, whole seconds); keep [`ping_timeout`](Self::ping_timeout)
    /// above it.
    pub fn ping_interval(mut self, every: Duration) -> Self {
        self.ping = Some(every);
        let fits = every.subsec_nanos() == 0 && (10..=300).contains(&every.as_secs());
        self.check(if fits {
            Ok(())
        } else {
            Err(InvalidInput::new(
                "ping",
                format!("is {every:?}"),
                "use whole seconds from 10 to 300",
            ))
        })
    }

    /// Starts after the event with this id (sent as `Last-Event-ID`), to
    /// pick up where an earlier stream stopped.
    pub fn last_event_id(self, id: impl Into<String>) -> Self {
        let id = id.into();
        let problem = id.contains(['\0', '\r', '\n']).then(|| {
            InvalidInput::new(
                "last_event_id",
                "contains a NUL or line break",
                "pass an id the stream handed out",
            )
        });
        let mut this = self.check(problem.map_or(Ok(()), Err));
        this.last_event_id = Some(id);
        this
    }

    /// The longest silence (neither an event nor a ping) before the
    /// connection is taken for dead and replaced (default 45 s). This is
    /// time on the network, not the client's clock.
    pub fn ping_timeout(mut self, timeout: Duration) -> Self {
        self.ping_timeout = timeout;
        self.check(if timeout.is_zero() {
            Err(InvalidInput::new(
                "ping_timeout",
                "is zero",
                "use a positive duration",
            ))
        } else {
            Ok(())
        })
    }

    /// The longest wait between connections (default 30 s), the server's
    /// `retry:` delay included; a quarter more of jitter may be added.
    pub fn max_backoff(mut self, max: Duration) -> Self {
        self.max_backoff = max;
        self
    }

    /// Gives up after this many reconnections in a row that delivered no
    /// event (default: never give up).
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = Some(retries);
        self
    }

    /// The largest line or event the stream accepts (default 1 MiB); a
    /// larger one ends the stream with [`Error::Undecodable`].
    pub fn max_event_bytes(mut self, bytes: usize) -> Self {
        self.max_event_bytes = bytes;
        self
    }

    /// The events, as they arrive. The first poll opens the connection;
    /// the stream ends only with an error that reconnecting cannot mend
    /// (or an invalid option, before any I/O).
    pub fn stream(self) -> BoxStream<'static, Result<MailboxEvent, Error>> {
        if let Some(problem) = self.invalid {
            return stream::once(async move { Err(problem.into()) }).boxed();
        }
        let mut parser = Parser::with_max_size(self.max_event_bytes);
        if let Some(id) = &self.last_event_id {
            parser.set_last_event_id(id.clone());
        }
        let mut query = Vec::new();
        if !self.event_types.is_empty() {
            let types: Vec<&str> = self.event_types.iter().map(|t| t.as_str()).collect();
            query.push(("event_types", types.join(",")));
        }
        if let Some(after) = self.close_after {
            query.push(("close_after", after.as_secs().to_string()));
        }
        if let Some(every) = self.ping {
            query.push(("ping", every.as_secs().to_string()));
        }
        if let Some(id) = &self.mailbox_id {
            query.push(("mailbox_id", id.clone()));
        }
        let state = Connection {
            client: self.client,
            query,
            ping_timeout: self.ping_timeout,
            max_backoff: self.max_backoff,
            max_retries: self.max_retries,
            parser,
            open: None,
            connections: 0,
            failures: 0,
            server_wait: None,
            last_error: None,
            done: false,
        };
        stream::unfold(state, |mut state| async move {
            let item = state.next().await?;
            Some((item, state))
        })
        .boxed()
    }
}

/// The state of a stream between polls.
struct Connection {
    client: Client,
    query: Vec<(&'static str, String)>,
    ping_timeout: Duration,
    max_backoff: Duration,
    max_retries: Option<u32>,
    parser: Parser,
    open: Option<Open>,
    /// Connections attempted so far.
    connections: u32,
    /// Connections in a row that ended without delivering an event.
    failures: u32,
    /// The wait the server asked for with its last error (`Retry-After`).
    server_wait: Option<Duration>,
    /// Why the last connection attempt failed, returned if the stream
    /// gives up.
    last_error: Option<Error>,
    done: bool,
}

/// An open connection: its body and the chunk being parsed.
struct Open {
    body: reqwest::Response,
    chunk: Bytes,
    at: usize,
    span: tracing::Span,
}

/// Why a connection was given up.
#[derive(Debug, Clone, Copy)]
enum Break {
    Closed,
    Network,
    Silent,
}

impl Connection {
    async fn next(&mut self) -> Option<Result<MailboxEvent, Error>> {
        if self.done {
            return None;
        }
        loop {
            let Some(open) = self.open.as_mut() else {
                if let Err(error) = self.connect().await {
                    self.done = true;
                    return Some(Err(error));
                }
                continue;
            };
            let mut rest = &open.chunk[open.at..];
            let parsed = self.parser.next(&mut rest);
            open.at = open.chunk.len() - rest.len();
            match parsed {
                Some(Ok(event)) if event.event == PING => continue,
                Some(Ok(event)) => {
                    self.failures = 0;
                    return Some(Ok(MailboxEvent::decode(event)));
                }
                Some(Err(error)) => {
                    self.done = true;
                    return Some(Err(too_large(error, self.connections)));
                }
                None => {}
            }
            // Bytes, or a silence longer than a ping interval allows.
            let read = tokio::time::timeout(self.ping_timeout, open.body.chunk())
                .instrument(open.span.clone())
                .await;
            let ended = match read {
                Ok(Ok(Some(chunk))) => {
                    open.chunk = chunk;
                    open.at = 0;
                    continue;
                }
                Ok(Ok(None)) => Break::Closed,
                Ok(Err(_)) => Break::Network,
                Err(_) => Break::Silent,
            };
            tracing::debug!(parent: &open.span, reason = ?ended, "event stream connection ended");
            self.open = None;
            self.parser.reset();
        }
    }

    /// Waits if a connection came before, then opens the next one.
    /// Retryable failures are retried here; the error is final.
    async fn connect(&mut self) -> Result<(), Error> {
        loop {
            if self.connections > 0 {
                self.failures = self.failures.saturating_add(1);
                if self.max_retries.is_some_and(|max| self.failures > max) {
                    let attempts = self.connections;
                    return Err(self.last_error.take().unwrap_or_else(|| Error::NotSent {
                        message: "the event stream kept breaking; reconnection limit reached"
                            .into(),
                        attempts,
                        source: "reconnection limit reached".into(),
                    }));
                }
                let base = self.parser.retry().unwrap_or(DEFAULT_RECONNECT_DELAY);
                let mut delay =
                    reconnect_delay(base, self.failures, self.max_backoff, rand::random());
                if let Some(wait) = self.server_wait.take() {
                    delay = delay.max(wait.min(self.client.inner.retry.max_retry_after()));
                }
                tracing::debug!(
                    delay_ms = delay.as_millis() as u64,
                    failures = self.failures,
                    "reconnecting the event stream"
                );
                self.client.inner.clock.sleep(delay).await;
            }
            self.connections += 1;
            let last_event_id = self.parser.last_event_id().to_owned();
            let span = tracing::info_span!(
                "sendmux.events",
                attempt = self.connections,
                last_event_id = last_event_id.as_str(),
            );
            let call = self.call(&last_event_id);
            let opened = self.client.execute(call).instrument(span.clone()).await;
            match opened.and_then(|raw| event_stream(raw, self.connections)) {
                Ok(body) => {
                    self.last_error = None;
                    self.open = Some(Open {
                        body,
                        chunk: Bytes::new(),
                        at: 0,
                        span,
                    });
                    return Ok(());
                }
                Err(error) if reconnectable(&error) => {
                    tracing::debug!(parent: &span, error = %error, "event stream connection refused; retrying");
                    self.server_wait = error.retry_after();
                    self.last_error = Some(error);
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// One connection attempt: the runtime's single attempt, as this
    /// stream does its own reconnecting.
    fn call(&self, last_event_id: &str) -> Call {
        let op = ops::MAILBOX_STREAM_EVENTS;
        let mut call = Call::new(op, op.path.to_owned());
        call.query = self.query.clone();
        call.streamed = true;
        call.retry = Some(Box::new(RetryPolicy::none()));
        if !last_event_id.is_empty() {
            // The header where it can carry the id, else the query form.
            match HeaderValue::from_str(last_event_id) {
                Ok(value) => {
                    call.headers.insert(LAST_EVENT_ID, value);
                }
                Err(_) => call.query.push(("last_event_id", last_event_id.to_owned())),
            }
        }
        call
    }
}

/// The body of a successful answer, if it is an event stream.
fn event_stream(raw: crate::transport::Raw, attempt: u32) -> Result<reqwest::Response, Error> {
    let media_type = raw.meta.header(&header::CONTENT_TYPE).unwrap_or_default();
    let is_stream = media_type
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("text/event-stream"));
    match raw.stream {
        Some(body) if is_stream => Ok(body),
        _ => Err(Error::Undecodable {
            status: Some(raw.status),
            request_id: raw.meta.request_id().map(str::to_owned),
            reason: format!("expected an event stream, got content type {media_type:?}"),
            snippet: String::new(),
            attempts: attempt,
            source: None,
        }),
    }
}

/// Whether opening the stream again may work: transport failures, and
/// answers the server calls retryable (or, without its verdict, 408, 429
/// and 5xx).
fn reconnectable(error: &Error) -> bool {
    match error {
        Error::NotSent { .. } | Error::MaybeSent { .. } => true,
        Error::Api(api) => api.retryable,
        Error::Undecodable {
            status: Some(status),
            ..
        } => matches!(status, 408 | 429 | 500 | 502..=504),
        _ => false,
    }
}

fn too_large(error: ParseError, attempts: u32) -> Error {
    Error::Undecodable {
        status: Some(200),
        request_id: None,
        reason: format!("the event stream broke its limits: {error}"),
        snippet: String::new(),
        attempts,
        source: Some(Box::new(error)),
    }
}

/// The wait before reconnection number `failures` (1 for the first after
/// a break): `base` doubled per failure in a row, capped at `max`, plus up
/// to a quarter of jitter (`jitter` from 0 to 1), so clients cut off
/// together do not come back together. `base` (the server's `retry:`) is
/// capped at `max` as well.
fn reconnect_delay(base: Duration, failures: u32, max: Duration, jitter: f64) -> Duration {
    let factor = 2u32.saturating_pow(failures.saturating_sub(1));
    let delay = base.checked_mul(factor).unwrap_or(max).min(max);
    delay + delay.mul_f64(jitter.clamp(0.0, 1.0) / 4.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_from_the_server_delay_and_stay_capped() {
        let s = Duration::from_secs;
        let max = s(30);
        assert_eq!(reconnect_delay(s(3), 1, max, 0.0), s(3));
        assert_eq!(
            reconnect_delay(s(3), 1, max, 1.0),
            Duration::from_millis(3750)
        );
        assert_eq!(reconnect_delay(s(3), 2, max, 0.0), s(6));
        assert_eq!(reconnect_delay(s(3), 4, max, 0.0), s(24));
        assert_eq!(reconnect_delay(s(3), 5, max, 0.0), max);
        assert_eq!(reconnect_delay(s(3), 60, max, 0.5), max + max / 8);
        // A server asking for more than the cap gets the cap.
        assert_eq!(reconnect_delay(s(600), 1, max, 0.0), max);
        assert_eq!(reconnect_delay(Duration::MAX, u32::MAX, max, 0.0), max);
    }

    #[test]
    fn final_errors_end_the_stream() {
        let api = |status: u16, retryable: bool| {
            let body = format!(
                r#"{{"ok":false,"error":{{"code":"x","message":"m","retryable":{retryable}}},"meta":{{"request_id":"req_1"}}}}"#
            );
            Error::from_response(status, &http::HeaderMap::new(), body.as_bytes())
        };
        assert!(!reconnectable(&api(401, false)));
        assert!(!reconnectable(&api(403, false)));
        assert!(!reconnectable(&api(404, false)));
        assert!(reconnectable(&api(503, true)));
        assert!(reconnectable(&api(429, true)));
        let bare = |status| Error::from_response(status, &http::HeaderMap::new(), b"<html>");
        assert!(reconnectable(&bare(502)));
        assert!(!reconnectable(&bare(401)));
    }
}
