//! The retry loop every call goes through.

use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use sendmux_api::types as wire;
use tokio::io::{AsyncRead, AsyncReadExt};
use tracing::{Instrument, field::Empty};

use crate::Client;
use crate::error::{ApiError, Error};
use crate::idempotency::{IdempotencyKey, IdempotencyPolicy};
use crate::key::Surface;
use crate::models::{ErrorCode, FieldError};
use crate::response::ResponseMeta;
use crate::retry;

/// An operation of the generated table: method, path, idempotency, paging
/// and media types all come from the OpenAPI documents.
pub(crate) use sendmux_operations::Operation;

const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
// Response headers read on every call; named once so lookups skip parsing.
pub(crate) const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
pub(crate) const X_RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
pub(crate) const X_RATELIMIT_REMAINING: HeaderName =
    HeaderName::from_static("x-ratelimit-remaining");
pub(crate) const X_RATELIMIT_RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");

/// A request body.
pub(crate) enum Payload {
    /// Bytes in memory, sent again as they are by a retry.
    Bytes(Bytes),
    /// A file, opened and streamed by each attempt (its length, read when
    /// the attempt opens it, is the `Content-Length`), which must be
    /// `expected` bytes long when that is set.
    File {
        path: PathBuf,
        expected: Option<u64>,
    },
    /// A reader streamed by the first attempt only; a call with one makes
    /// a single attempt.
    Reader {
        reader: Mutex<Option<Box<dyn AsyncRead + Send + Unpin>>>,
        length: u64,
    },
}

impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Payload::Bytes(bytes) => write!(f, "Bytes({} bytes)", bytes.len()),
            Payload::File { path, .. } => f.debug_tuple("File").field(path).finish(),
            Payload::Reader { length, .. } => write!(f, "Reader({length} bytes)"),
        }
    }
}

/// One logical call: everything needed to make (and repeat) its attempts.
#[derive(Debug)]
pub(crate) struct Call {
    pub(crate) op: &'static Operation,
    /// The path with its parameters filled in and encoded.
    pub(crate) path: String,
    /// An absolute URL the server handed out (a signed upload), used
    /// instead of the surface's base URL and `path`.
    pub(crate) url: Option<reqwest::Url>,
    pub(crate) query: Vec<(&'static str, String)>,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Option<Payload>,
    /// Sent without a key, through a client with no default
    /// `Authorization` (the operation takes none).
    pub(crate) anonymous: bool,
    /// The `Authorization` value, chosen by `execute` from the surface.
    pub(crate) auth: Option<HeaderValue>,
    /// Repeating the call cannot do the work twice although its method is
    /// not safe and it has no idempotency key (the signed upload's `PUT`).
    pub(crate) repeatable: bool,
    pub(crate) idempotency_key: Option<IdempotencyKey>,
    pub(crate) max_body: Option<usize>,
    /// This call's per-attempt timeout, instead of the client's.
    pub(crate) timeout: Option<Duration>,
    /// This call's retry policy, instead of the client's (boxed: rare, and
    /// the call is moved with every future that holds it).
    pub(crate) retry: Option<Box<crate::retry::RetryPolicy>>,
    /// The answer carries a secret: nothing quoting its body may be logged.
    pub(crate) sensitive: bool,
    /// A successful answer's body is handed over unread
    /// ([`Raw::stream`]): an event stream or a download, read by the
    /// caller as it arrives. The attempt's timeout then bounds the wait
    /// for the head only; the caller bounds the body's pauses.
    pub(crate) streamed: bool,
}

impl Call {
    pub(crate) fn new(op: &'static Operation, path: String) -> Self {
        Self {
            op,
            path,
            url: None,
            query: Vec::new(),
            headers: HeaderMap::new(),
            body: None,
            // Open operations (the table says so) never carry a key.
            anonymous: !op.requires_key,
            auth: None,
            repeatable: false,
            idempotency_key: None,
            max_body: None,
            timeout: None,
            retry: None,
            sensitive: false,
            streamed: false,
        }
    }

    pub(crate) fn header(mut self, name: HeaderName, value: &str) -> Result<Self, Error> {
        let value = HeaderValue::try_from(value).map_err(|_| {
            crate::error::InvalidInput::new(
                name.as_str().to_owned(),
                "is not a valid header value",
                "pass the value exactly as the API returned it",
            )
        })?;
        self.headers.insert(name, value);
        Ok(self)
    }

    /// Safe method, or a key (or the operation itself) makes a repeat
    /// harmless.
    fn idempotent(&self) -> bool {
        self.op.method == Method::GET || self.idempotency_key.is_some() || self.repeatable
    }
}

/// A byte that stands for itself in a URL path segment (RFC 3986
/// "unreserved").
pub(crate) fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~')
}

/// Appends one encoded path segment (ids are validated first; this is
/// defence).
pub(crate) fn push_segment(out: &mut String, value: &str) {
    // Validated ids are almost always plain: copy them in one go.
    if value.bytes().all(is_unreserved) {
        out.push_str(value);
        return;
    }
    for b in value.bytes() {
        if is_unreserved(b) {
            out.push(char::from(b));
        } else {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xF)]));
        }
    }
}

/// A response the call accepts as its answer (2xx, or 304 where declared).
#[derive(Debug)]
pub(crate) struct Raw {
    pub(crate) status: u16,
    pub(crate) body: Bytes,
    pub(crate) meta: ResponseMeta,
    /// The unread body of a streamed call's answer (its headers are in
    /// `meta`); `None` otherwise.
    pub(crate) stream: Option<reqwest::Response>,
}

impl Raw {
    /// Decodes the JSON body, or reports it as undecodable.
    pub(crate) fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_slice(&self.body).map_err(|e| Error::Undecodable {
            status: Some(self.status),
            request_id: self.meta.request_id().map(str::to_owned),
            reason: format!("body does not match the expected shape: {e}"),
            snippet: snippet(&self.body),
            attempts: self.meta.attempts,
            source: Some(Box::new(e)),
        })
    }
}

/// The first 512 bytes of a body, for error messages.
pub(crate) fn snippet(body: &[u8]) -> String {
    const MAX: usize = 512;
    let cut = body.len().min(MAX);
    let mut text = String::from_utf8_lossy(&body[..cut]).into_owned();
    if body.len() > MAX {
        text.push('…');
    }
    text
}

/// Why an attempt failed, and what that means for retrying.
struct Failure {
    error: Error,
    retryable: bool,
    retry_after: Option<Duration>,
    /// Our own key is still being processed by an earlier attempt.
    in_flight: bool,
    timeout: bool,
}

impl Failure {
    /// A failure no retry can mend, found before anything was sent.
    fn fatal(error: Error) -> Self {
        Self {
            error,
            retryable: false,
            retry_after: None,
            in_flight: false,
            timeout: false,
        }
    }
}

/// The whole-request limit of a streamed call: in effect none (a year
/// keeps the timer's arithmetic far from overflowing).
const STREAMED_TOTAL: Duration = Duration::from_secs(365 * 24 * 3600);

/// A streamed call's head did not arrive within the attempt's timeout.
fn head_timeout(call: &Call, elapsed: tokio::time::error::Elapsed) -> Failure {
    let idempotent = call.idempotent();
    Failure {
        error: Error::MaybeSent {
            message: "the attempt timed out".into(),
            timeout: true,
            idempotent,
            idempotency_key: call.idempotency_key.as_ref().map(|k| k.as_str().to_owned()),
            attempts: 0,
            source: Box::new(elapsed),
        },
        retryable: idempotent,
        retry_after: None,
        in_flight: false,
        timeout: true,
    }
}

/// Size of the chunks a streamed body is read in.
const STREAM_CHUNK: usize = 64 * 1024;

/// The body of one attempt and, for a stream, its `Content-Length` (a
/// stream without one would go out chunked, which uploads refuse).
pub(crate) async fn body(payload: &Payload) -> Result<(reqwest::Body, Option<u64>), Error> {
    match payload {
        Payload::Bytes(bytes) => Ok((reqwest::Body::from(bytes.clone()), None)),
        Payload::File { path, expected } => {
            let unreadable = |e: std::io::Error| Error::Setup {
                message: format!("could not read the file {}", path.display()),
                source: Box::new(e),
            };
            let file = tokio::fs::File::open(path).await.map_err(unreadable)?;
            let length = file.metadata().await.map_err(unreadable)?.len();
            if length == 0 {
                return Err(crate::error::InvalidInput::new(
                    "file",
                    format!("{} is empty", path.display()),
                    "upload a file of at least one byte",
                )
                .into());
            }
            if let Some(expected) = expected
                && *expected != length
            {
                return Err(crate::error::InvalidInput::new(
                    "file",
                    format!(
                        "{} is {length} bytes, but the upload was started for {expected}",
                        path.display()
                    ),
                    "start a new upload with the file's current size",
                )
                .into());
            }
            Ok((stream(file, length), Some(length)))
        }
        Payload::Reader { reader, length } => {
            let taken = match reader.lock() {
                Ok(mut slot) => slot.take(),
                Err(poisoned) => poisoned.into_inner().take(),
            };
            let reader = taken.ok_or_else(|| Error::Setup {
                message: "the body reader was already read by an earlier attempt".into(),
                source: "a reader can be sent once".into(),
            })?;
            Ok((stream(reader, *length), Some(*length)))
        }
    }
}

/// `reader` as a streamed body of at most `length` bytes, read a chunk at
/// a time, so a large file never sits in memory whole.
fn stream(reader: impl AsyncRead + Send + Unpin + 'static, length: u64) -> reqwest::Body {
    let chunks = futures::stream::try_unfold(reader.take(length), |mut reader| async move {
        let mut chunk = BytesMut::with_capacity(STREAM_CHUNK);
        if reader.read_buf(&mut chunk).await? == 0 {
            return Ok::<_, std::io::Error>(None);
        }
        Ok(Some((chunk.freeze(), reader)))
    });
    reqwest::Body::wrap_stream(chunks)
}

impl Client {
    /// Runs a call: attempts, classification, waits, budget, tracing.
    #[allow(clippy::manual_async_fn)] // see `run`
    pub(crate) fn execute(
        &self,
        mut call: Call,
    ) -> impl Future<Output = Result<Raw, Error>> + Send + '_ {
        async move {
            // The key of the operation's surface, or the error naming the
            // key to add: before any I/O.
            if !call.anonymous {
                call.auth = Some(self.credential(call.op.surface.into())?.clone());
            }
            // A reader cannot be read twice.
            if matches!(call.body, Some(Payload::Reader { .. })) {
                let policy = call.retry.as_deref().unwrap_or(&self.inner.retry);
                call.retry = Some(Box::new(policy.clone().with_max_attempts(1)));
            }
            // Made once, before the first attempt, and reused by every retry.
            if call.op.idempotency_key
                && call.idempotency_key.is_none()
                && self.inner.idempotency == IdempotencyPolicy::Automatic
            {
                call.idempotency_key = Some(IdempotencyKey::generate());
            }
            let span = tracing::info_span!(
                "sendmux.call",
                operation = call.op.id,
                method = %call.op.method,
                route = call.op.path,
                idempotency_key = call.idempotency_key.as_ref().map(IdempotencyKey::as_str),
                attempts = Empty,
                status = Empty,
                request_id = Empty,
                elapsed_ms = Empty,
            );
            // Wrapping a future moves it, and these futures are kilobytes:
            // only pay for the span's context when a subscriber listens.
            if span.is_disabled() {
                self.run(call, span).await
            } else {
                self.run(call, span.clone()).instrument(span).await
            }
        }
    }

    // A plain fn returning an `async move` block: an `async fn` would keep
    // its by-value arguments twice in its state (as captures and as
    // locals), and this state is copied whenever the future moves.
    #[allow(clippy::manual_async_fn)]
    fn run(
        &self,
        call: Call,
        span: tracing::Span,
    ) -> impl Future<Output = Result<Raw, Error>> + Send + '_ {
        async move {
            let inner = &self.inner;
            let policy = call.retry.as_deref().unwrap_or(&inner.retry);
            let clock = &inner.clock;
            let started = clock.now();
            // A deadline too large for `Instant` means none.
            let deadline = policy.deadline().and_then(|d| started.checked_add(d));

            let mut attempt: u32 = 0;
            loop {
                attempt += 1;
                let attempt_span = tracing::debug_span!(
                    "sendmux.attempt",
                    operation = call.op.id,
                    attempt,
                    status = Empty,
                    request_id = Empty,
                    elapsed_ms = Empty,
                    retry_delay_ms = Empty,
                );
                // Timing and span fields cost clock reads and header lookups:
                // skip them when no subscriber listens.
                let traced = !attempt_span.is_disabled() || !span.is_disabled();
                // Network time is real even under a virtual clock.
                let attempt_started = traced.then(Instant::now);
                let mut timeout = call.timeout.unwrap_or(inner.timeout);
                if let Some(deadline) = deadline {
                    timeout = timeout.min(deadline.saturating_duration_since(clock.now()));
                }
                let outcome = if attempt_span.is_disabled() {
                    self.attempt(&call, self.url(&call), attempt, timeout).await
                } else {
                    self.attempt(&call, self.url(&call), attempt, timeout)
                        .instrument(attempt_span.clone())
                        .await
                };
                if let Some(started) = attempt_started {
                    attempt_span.record("elapsed_ms", started.elapsed().as_millis() as u64);
                }

                let failure = match outcome {
                    Ok(mut raw) => {
                        inner.budget.on_success();
                        raw.meta.attempts = attempt;
                        if traced {
                            attempt_span.record("status", raw.status);
                            span.record("attempts", attempt);
                            span.record("status", raw.status);
                            if let Some(id) = raw.meta.request_id() {
                                attempt_span.record("request_id", id);
                                span.record("request_id", id);
                            }
                            span.record(
                                "elapsed_ms",
                                clock.now().saturating_duration_since(started).as_millis() as u64,
                            );
                        }
                        tracing::debug!(parent: &attempt_span, status = raw.status, "attempt succeeded");
                        return Ok(raw);
                    }
                    Err(failure) => failure,
                };
                if let Some(status) = failure.error.status() {
                    attempt_span.record("status", status);
                    span.record("status", status);
                }
                if let Some(id) = failure.error.request_id() {
                    attempt_span.record("request_id", id);
                    span.record("request_id", id);
                }

                let decision = self.plan_retry(&call, attempt, &failure, deadline);
                match decision {
                    Ok(delay) => {
                        attempt_span.record("retry_delay_ms", delay.as_millis() as u64);
                        // Contextual parent (the call span), so the event shows at
                        // INFO even when DEBUG attempt spans are filtered out.
                        tracing::info!(
                            attempt,
                            status = failure.error.status(),
                            request_id = failure.error.request_id(),
                            retry_delay_ms = delay.as_millis() as u64,
                            error = %failure.error,
                            "attempt failed; retrying"
                        );
                        clock.sleep(delay).await;
                    }
                    Err(reason) => {
                        let mut error = failure.error;
                        error.set_attempts(attempt);
                        span.record("attempts", attempt);
                        span.record(
                            "elapsed_ms",
                            clock.now().saturating_duration_since(started).as_millis() as u64,
                        );
                        tracing::debug!(parent: &attempt_span, reason, error = %error, "giving up");
                        return Err(error);
                    }
                }
            }
        }
    }

    /// The wait before the next attempt, or why there is none: the pure
    /// decision of [`retry::decide`], then the budget paid.
    fn plan_retry(
        &self,
        call: &Call,
        attempt: u32,
        failure: &Failure,
        deadline: Option<Instant>,
    ) -> Result<Duration, &'static str> {
        let inner = &self.inner;
        let failed = retry::FailedAttempt {
            number: attempt,
            retryable: failure.retryable,
            retry_after: failure.retry_after,
            in_flight: failure.in_flight,
            timeout: failure.timeout,
        };
        let now = inner.clock.now();
        let time_left = deadline.map(|d| d.saturating_duration_since(now));
        let jitter = rand::random::<f64>();
        match retry::decide(
            call.retry.as_deref().unwrap_or(&inner.retry),
            &failed,
            inner.budget.view(failure.timeout),
            time_left,
            jitter,
        ) {
            retry::Decision::Retry(delay) if inner.budget.try_acquire(failure.timeout) => Ok(delay),
            retry::Decision::Retry(_) | retry::Decision::GiveUp("retry budget exhausted") => {
                tracing::warn!(
                    operation = call.op.id,
                    "retry budget exhausted; not retrying"
                );
                Err("retry budget exhausted")
            }
            retry::Decision::GiveUp(reason) => Err(reason),
        }
    }

    fn url(&self, call: &Call) -> reqwest::Url {
        let mut url = match &call.url {
            Some(url) => url.clone(),
            None => {
                // Cheaper than parsing a whole URL string: scheme, host and
                // port are already parsed in the base.
                let mut url = match Surface::from(call.op.surface) {
                    Surface::Sending => self.inner.sending_base.clone(),
                    Surface::Management | Surface::Mailbox => self.inner.base.clone(),
                };
                let base_path = url.path().trim_end_matches('/');
                let mut path = String::with_capacity(base_path.len() + call.path.len());
                path.push_str(base_path);
                path.push_str(&call.path);
                url.set_path(&path);
                url
            }
        };
        if !call.query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (name, value) in &call.query {
                pairs.append_pair(name, value);
            }
        }
        url
    }

    #[allow(clippy::manual_async_fn)] // see `run`
    fn attempt<'a>(
        &'a self,
        call: &'a Call,
        url: reqwest::Url,
        attempt: u32,
        timeout: Duration,
    ) -> impl Future<Output = Result<Raw, Failure>> + Send + 'a {
        async move {
            let inner = &self.inner;
            let http = if call.anonymous {
                match inner.anonymous_http() {
                    Ok(http) => http,
                    Err(error) => return Err(Failure::fatal(error)),
                }
            } else {
                &inner.http
            };
            // A streamed body may flow for hours: the timeout bounds the
            // head here, and the caller each pause of the body.
            let total = if call.streamed {
                STREAMED_TOTAL
            } else {
                timeout
            };
            let mut request = http
                .request(call.op.method.clone(), url)
                .timeout(total)
                .header(
                    header::ACCEPT,
                    HeaderValue::from_static(call.op.accept().as_str()),
                );
            // Every call sets its key: which one depends on its surface.
            if let Some(auth) = &call.auth {
                request = request.header(header::AUTHORIZATION, auth.clone());
            }
            if inner.identity_per_request {
                request = request.header(header::USER_AGENT, inner.user_agent.clone());
            }
            // Most calls carry no extra headers; skip the map copy then.
            if !call.headers.is_empty() {
                request = request.headers(call.headers.clone());
            }
            if let Some(key) = &call.idempotency_key {
                request = request.header(IDEMPOTENCY_KEY, key.as_str());
            }
            if let Some(payload) = &call.body {
                // The operation's own media type (JSON, or bytes for
                // uploads), unless the call names one (a signed upload
                // sends the type its intent fixed).
                if !call.headers.contains_key(header::CONTENT_TYPE) {
                    let media_type = call
                        .op
                        .request
                        .map_or("application/json", |r| r.media_type.as_str());
                    request =
                        request.header(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
                }
                request = match body(payload).await {
                    Ok((body, None)) => request.body(body),
                    Ok((body, Some(length))) => {
                        request.header(header::CONTENT_LENGTH, length).body(body)
                    }
                    Err(error) => return Err(Failure::fatal(error)),
                };
            }

            let sent = if call.streamed {
                match tokio::time::timeout(timeout, request.send()).await {
                    Ok(sent) => sent,
                    Err(elapsed) => return Err(head_timeout(call, elapsed)),
                }
            } else {
                request.send().await
            };
            let mut response = match sent {
                Ok(response) => response,
                Err(e) => return Err(self.transport_failure(call, e)),
            };
            let status = response.status().as_u16();
            // Moved, not copied: reading the body does not need the headers.
            let meta = ResponseMeta::new(status, std::mem::take(response.headers_mut()));
            let accepted = (200..300).contains(&status) || (status == 304 && call.op.if_none_match);
            if accepted && call.streamed {
                #[cfg(feature = "conformance")]
                if let Some(checker) = &inner.conformance
                    && let Err(error) =
                        checker.check(call, status, &meta.headers, &[], meta.request_id())
                {
                    return Err(Failure::fatal(error));
                }
                return Ok(Raw {
                    status,
                    body: Bytes::new(),
                    meta,
                    stream: Some(response),
                });
            }
            let cap = call.max_body.unwrap_or(inner.max_response_bytes);
            let body = match read_capped(response, cap).await {
                Ok(body) => body,
                Err(ReadError::Transport(e)) => return Err(self.transport_failure(call, e)),
                Err(ReadError::TooLarge(partial)) => {
                    return Err(Failure {
                        error: Error::Undecodable {
                            status: Some(status),
                            request_id: meta.request_id().map(str::to_owned),
                            reason: format!("body is larger than the {cap}-byte limit"),
                            snippet: snippet(&partial),
                            attempts: attempt,
                            source: None,
                        },
                        retryable: false,
                        retry_after: None,
                        in_flight: false,
                        timeout: false,
                    });
                }
            };

            #[cfg(feature = "conformance")]
            if let Some(checker) = &inner.conformance
                && let Err(error) =
                    checker.check(call, status, &meta.headers, &body, meta.request_id())
            {
                return Err(Failure {
                    error,
                    retryable: false,
                    retry_after: None,
                    in_flight: false,
                    timeout: false,
                });
            }

            if accepted {
                return Ok(Raw {
                    status,
                    body,
                    meta,
                    stream: None,
                });
            }
            if (300..400).contains(&status) {
                return Err(Failure {
                    error: Error::Redirected {
                        status,
                        location: meta
                            .headers
                            .get(header::LOCATION)
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_owned),
                        request_id: meta.request_id().map(str::to_owned),
                    },
                    retryable: false,
                    retry_after: None,
                    in_flight: false,
                    timeout: false,
                });
            }
            Err(self.response_failure(call, attempt, status, body, meta))
        }
    }

    fn transport_failure(&self, call: &Call, e: reqwest::Error) -> Failure {
        // Connection never opened: nothing reached the server.
        if e.is_connect() {
            return Failure {
                error: Error::NotSent {
                    // The cause (with the URL) is the source: not repeated here.
                    message: "could not connect".into(),
                    attempts: 0,
                    source: Box::new(e),
                },
                retryable: true,
                retry_after: None,
                in_flight: false,
                timeout: false,
            };
        }
        if e.is_builder() {
            return Failure {
                error: Error::Setup {
                    message: "could not build the request".into(),
                    source: Box::new(e),
                },
                retryable: false,
                retry_after: None,
                in_flight: false,
                timeout: false,
            };
        }
        let timeout = e.is_timeout();
        let idempotent = call.idempotent();
        Failure {
            error: Error::MaybeSent {
                message: if timeout {
                    "the attempt timed out".into()
                } else {
                    "the connection failed after the request was sent".into()
                },
                timeout,
                idempotent,
                idempotency_key: call.idempotency_key.as_ref().map(|k| k.as_str().to_owned()),
                attempts: 0,
                source: Box::new(e),
            },
            retryable: idempotent,
            retry_after: None,
            in_flight: false,
            timeout,
        }
    }

    fn response_failure(
        &self,
        call: &Call,
        attempt: u32,
        status: u16,
        body: Bytes,
        meta: ResponseMeta,
    ) -> Failure {
        let retry_after = self.retry_after(status, &meta.headers);
        let request_id = meta.request_id().map(str::to_owned);
        match serde_json::from_slice::<wire::ApiError>(&body) {
            Ok(envelope) => {
                let code = envelope.error.code.clone();
                let retryable = envelope.error.retryable;
                // Our key, on a repeat: the first attempt is still running.
                let in_flight = code == ErrorCode::IdempotencyConflict
                    && attempt > 1
                    && call.idempotency_key.is_some();
                let retryable = retryable || in_flight;
                let error = api_error(status, request_id, envelope, retry_after, attempt);
                Failure {
                    error: Error::Api(Box::new(error)),
                    retryable,
                    retry_after,
                    in_flight,
                    timeout: false,
                }
            }
            Err(e) => {
                // No verdict from the server: fall back on the status. 500 may
                // mean the work happened, so only idempotent calls repeat it.
                let retryable = match status {
                    408 | 429 | 502..=504 => true,
                    500 => call.idempotent(),
                    _ => false,
                };
                Failure {
                    error: Error::Undecodable {
                        status: Some(status),
                        request_id,
                        reason: format!("error body is not the standard envelope: {e}"),
                        snippet: snippet(&body),
                        attempts: attempt,
                        source: Some(Box::new(e)),
                    },
                    retryable,
                    retry_after,
                    in_flight: false,
                    timeout: false,
                }
            }
        }
    }

    fn retry_after(&self, status: u16, headers: &HeaderMap) -> Option<Duration> {
        retry_after(status, headers, self.inner.clock.unix_now())
    }
}

/// `X-Request-Id`, when present and readable.
pub(crate) fn header_request_id(headers: &HeaderMap) -> Option<String> {
    header_str(headers, &X_REQUEST_ID).map(str::to_owned)
}

/// `Retry-After` (seconds), else on 429 the time from `now` until
/// `X-RateLimit-Reset` (Unix seconds).
pub(crate) fn retry_after(status: u16, headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    if let Some(secs) =
        header_str(headers, &header::RETRY_AFTER).and_then(|v| v.trim().parse::<f64>().ok())
        && secs.is_finite()
        && secs >= 0.0
    {
        return Some(Duration::from_secs_f64(secs.min(1e9)));
    }
    if status == 429 {
        let reset = header_str(headers, &X_RATELIMIT_RESET)?
            .trim()
            .parse::<u64>()
            .ok()?;
        let now = now.duration_since(UNIX_EPOCH).unwrap_or_default();
        let wait = Duration::from_secs(reset).saturating_sub(now);
        // A reset already past (or clock skew) says nothing useful: let the
        // backoff pace the retry rather than retrying at once.
        return (!wait.is_zero()).then_some(wait);
    }
    None
}

/// Our [`ApiError`] from the decoded error envelope.
pub(crate) fn api_error(
    status: u16,
    header_request_id: Option<String>,
    envelope: wire::ApiError,
    retry_after: Option<Duration>,
    attempts: u32,
) -> ApiError {
    ApiError {
        status,
        code: envelope.error.code,
        message: envelope.error.message,
        retryable: envelope.error.retryable,
        param: envelope.error.param,
        doc_url: envelope.error.doc_url,
        field_errors: envelope
            .error
            .errors
            .into_iter()
            .map(FieldError::from)
            .collect(),
        // The header, else the envelope's copy.
        request_id: header_request_id.or(Some(envelope.meta.request_id)),
        retry_after,
        attempts,
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

pub(crate) enum ReadError {
    Transport(reqwest::Error),
    TooLarge(Bytes),
}

/// Reads the body, refusing to buffer more than `cap` bytes. A body that
/// arrives in one chunk is returned without a copy; otherwise the buffer is
/// sized from `Content-Length` when the server sends one, so reading never
/// holds more than the body plus one chunk.
pub(crate) async fn read_capped(
    mut response: reqwest::Response,
    cap: usize,
) -> Result<Bytes, ReadError> {
    let declared = response.content_length();
    if let Some(len) = declared
        && len > cap as u64
    {
        let first = response.chunk().await.ok().flatten().unwrap_or_default();
        return Err(ReadError::TooLarge(first));
    }
    let Some(first) = response.chunk().await.map_err(ReadError::Transport)? else {
        return Ok(Bytes::new());
    };
    if first.len() > cap {
        return Err(ReadError::TooLarge(first.slice(..cap)));
    }
    let Some(second) = response.chunk().await.map_err(ReadError::Transport)? else {
        return Ok(first);
    };
    let expected = declared
        .and_then(|len| usize::try_from(len).ok())
        .unwrap_or(first.len() + second.len());
    let mut buf = Vec::with_capacity(expected.min(cap));
    buf.extend_from_slice(&first);
    drop(first);
    let mut next = Some(second);
    while let Some(chunk) = next {
        if buf.len() + chunk.len() > cap {
            buf.extend_from_slice(&chunk[..cap - buf.len()]);
            return Err(ReadError::TooLarge(Bytes::from(buf)));
        }
        buf.extend_from_slice(&chunk);
        next = response.chunk().await.map_err(ReadError::Transport)?;
    }
    Ok(Bytes::from(buf))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn server_requested_waits() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000);
        let headers = |pairs: &[(&'static str, &str)]| {
            let mut map = HeaderMap::new();
            for (k, v) in pairs {
                map.insert(*k, HeaderValue::from_str(v).unwrap());
            }
            map
        };
        let both = headers(&[("retry-after", "3"), ("x-ratelimit-reset", "1010")]);
        assert_eq!(retry_after(429, &both, now), Some(Duration::from_secs(3)));
        let reset = headers(&[("x-ratelimit-reset", "1010")]);
        assert_eq!(retry_after(429, &reset, now), Some(Duration::from_secs(10)));
        assert_eq!(
            retry_after(503, &reset, now),
            None,
            "reset counts on 429 only"
        );
        let past = headers(&[("x-ratelimit-reset", "900")]);
        assert_eq!(retry_after(429, &past, now), None);
        let fractional = headers(&[("retry-after", "1.5")]);
        assert_eq!(
            retry_after(503, &fractional, now),
            Some(Duration::from_millis(1500))
        );
        let date = headers(&[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")]);
        assert_eq!(retry_after(503, &date, now), None);
    }

    #[test]
    fn segments_and_snippets() {
        let segment = |value: &str| {
            let mut out = String::new();
            push_segment(&mut out, value);
            out
        };
        assert_eq!(segment("mdom_a-b.c~"), "mdom_a-b.c~");
        assert_eq!(segment("a b/c"), "a%20b%2Fc");
        assert_eq!(segment("é%"), "%C3%A9%25");
        assert_eq!(snippet(&[b'x'; 600]).chars().count(), 513);
    }
}
