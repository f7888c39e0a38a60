//! The request pipeline every API route goes through: auth, rate limit,
//! the test's stubs, not-implemented, faults, body checks, idempotency,
//! handler, common headers, request log (and the test's expectations).
//!
//! Each step is a stage: a method of `Exchange` (the one context of a
//! request) that may answer early. `Exchange::run` calls them in order.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE};
use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode};
use serde::Serialize;
use sha2::Digest as _;

use sendmux_operations::{MediaType, Operation, Surface};

use crate::app::{
    App, IdemBegin, IdemKey, KeyClass, Listener, LogEntry, RateOutcome, StoredResponse, lock,
};
use crate::config::{FaultKind, FaultPhase};
use crate::mocking::expectations::CallSummary;
use crate::mocking::{Call, received, trimmed};
use crate::resources::sending::KeylessAuth;
use crate::resources::{self, Ctx, Handler};
use crate::serve::{AbortConnection, BodyTimeout};
use crate::validate;

/// Path of the API under the server root, as in the documents' server URL.
pub(crate) const BASE_PATH: &str = "/api/v1";

pub(crate) const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const X_RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
const X_RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
const X_RATELIMIT_RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");
const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");
pub(crate) const APPLICATION_JSON: HeaderValue = HeaderValue::from_static("application/json");

/// One problem with one request field (`errors[]` in the envelope).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(crate) struct FieldError {
    pub(crate) field: String,
    pub(crate) code: String,
    pub(crate) message: String,
}

/// An error response in the making.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    retryable: bool,
    param: Option<String>,
    errors: Vec<FieldError>,
    retry_after: Option<u64>,
    /// The request's input was refused before anything executed (see
    /// [`rejects_input`](Self::rejects_input)).
    input_rejection: bool,
}

impl ApiError {
    /// An error with the published default `retryable` for its status.
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        let retryable = matches!(status.as_u16(), 429 | 500 | 503);
        Self {
            status,
            code,
            message: message.into(),
            retryable,
            param: None,
            errors: Vec::new(),
            retry_after: None,
            input_rejection: false,
        }
    }

    /// Marks the error as a refusal of the request's input (a `400`/`422`
    /// validation answer), as opposed to the outcome of executing it.
    fn input(mut self) -> Self {
        self.input_rejection = true;
        self
    }

    /// Whether this error refuses the request's input before it executed.
    /// Such an answer is not stored under an `Idempotency-Key`, so the
    /// corrected request can reuse the key; any other answer of a handler
    /// (a `409` about state, a `404`, ...) is the outcome of executing the
    /// request and is stored for replay.
    pub(crate) fn rejects_input(&self) -> bool {
        self.input_rejection
    }

    pub(crate) fn with_param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    pub(crate) fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    pub(crate) fn with_retry_after(mut self, secs: Option<u64>) -> Self {
        self.retry_after = secs;
        self
    }

    pub(crate) fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_parameter", message).input()
    }

    /// `400 invalid_parameter` about one body field, with the field also
    /// listed in `errors[]`.
    pub(crate) fn invalid_field(field: &str, code: &str, message: String) -> Self {
        Self::invalid_parameter(message.clone())
            .with_param(field)
            .with_errors(vec![FieldError {
                field: field.to_owned(),
                code: code.to_owned(),
                message,
            }])
    }

    pub(crate) fn missing_parameter(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "missing_parameter", message).input()
    }

    pub(crate) fn validation_error(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_error",
            message,
        )
        .input()
    }

    pub(crate) fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    pub(crate) fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    fn idempotency_conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "idempotency_conflict", message)
    }

    pub(crate) fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("request body exceeds {limit} bytes"),
        )
    }

    /// `408`: the body did not arrive within the configured time. The
    /// spec's codes have no timeout; `invalid_parameter` is the closest (the
    /// request as received is incomplete), and the `4XX` range covers 408.
    fn body_timeout(timeout: Duration) -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "invalid_parameter",
            format!(
                "the request body did not arrive within {} ms; the connection is closed",
                timeout.as_millis()
            ),
        )
        .input()
    }

    fn rate_limited(retry_after: u64) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_exceeded",
            "too many requests for this API key; retry after the indicated delay",
        )
        .with_retry_after(Some(retry_after))
    }

    fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "unexpected server error (injected by sendmux-mock)",
        )
    }

    fn unavailable(retry_after: Option<u64>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            "service temporarily unavailable (injected by sendmux-mock)",
        )
        .with_retry_after(retry_after)
    }

    /// A published operation the mock has no handler for. `not_implemented`
    /// is the mock's own code (the API never sends it), so a client can tell
    /// a gap in the mock from an answer of the API.
    fn not_implemented(op: &Operation) -> Self {
        Self::new(
            StatusCode::NOT_IMPLEMENTED,
            "not_implemented",
            format!("{} is not implemented by the mock yet", op.id),
        )
    }

    #[cfg(test)]
    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }

    #[cfg(test)]
    pub(crate) fn code(&self) -> &'static str {
        self.code
    }

    #[cfg(test)]
    pub(crate) fn param(&self) -> Option<&str> {
        self.param.as_deref()
    }

    /// The error as an `ErrorDetail` object (`code`, `message`,
    /// `retryable`, `param`, `errors`), for answers that report an error
    /// per item (a batch send's results).
    pub(crate) fn detail(&self) -> serde_json::Value {
        let mut v = serde_json::json!({
            "code": self.code,
            "message": self.message,
            "retryable": self.retryable,
        });
        if let Some(param) = &self.param {
            v["param"] = param.as_str().into();
        }
        if !self.errors.is_empty() {
            v["errors"] = serde_json::to_value(&self.errors).unwrap_or_default();
        }
        v
    }

    /// The error as field issues under `prefix` (`messages.3.`): its own
    /// `errors[]`, or one issue with its code and message.
    pub(crate) fn issues(&self, prefix: &str) -> Vec<FieldError> {
        if self.errors.is_empty() {
            return vec![FieldError {
                field: format!("{prefix}{}", self.param.as_deref().unwrap_or_default())
                    .trim_end_matches('.')
                    .to_owned(),
                code: self.code.to_owned(),
                message: self.message.clone(),
            }];
        }
        self.errors
            .iter()
            .map(|e| FieldError {
                field: format!("{prefix}{}", e.field),
                ..e.clone()
            })
            .collect()
    }

    /// Renders the error envelope.
    pub(crate) fn into_out(self, request_id: &str) -> Out {
        #[derive(Serialize)]
        struct Body<'a> {
            ok: bool,
            error: ErrorBody<'a>,
            meta: Meta<'a>,
        }
        #[derive(Serialize)]
        struct ErrorBody<'a> {
            code: &'a str,
            message: &'a str,
            retryable: bool,
            #[serde(skip_serializing_if = "Option::is_none")]
            param: Option<&'a str>,
            #[serde(skip_serializing_if = "<[_]>::is_empty")]
            errors: &'a [FieldError],
        }
        let body = Body {
            ok: false,
            error: ErrorBody {
                code: self.code,
                message: &self.message,
                retryable: self.retryable,
                param: self.param.as_deref(),
                errors: &self.errors,
            },
            meta: Meta { request_id },
        };
        let mut out = Out::json(self.status, request_id, to_json(&body));
        if self.status == StatusCode::REQUEST_TIMEOUT {
            // The rest of the body may still be on its way; the connection
            // cannot carry another request after it.
            out.headers
                .push((http::header::CONNECTION, HeaderValue::from_static("close")));
        }
        if let Some(secs) = self.retry_after {
            out.headers
                .push((http::header::RETRY_AFTER, HeaderValue::from(secs)));
        }
        out
    }
}

/// `meta` of every envelope.
#[derive(Serialize)]
pub(crate) struct Meta<'a> {
    pub(crate) request_id: &'a str,
}

/// Serialises a value we built ourselves; cannot fail for our types, and
/// falls back to an empty object rather than panicking.
pub(crate) fn to_json<T: Serialize>(v: &T) -> Bytes {
    serde_json::to_vec(v)
        .map(Bytes::from)
        .unwrap_or_else(|_| Bytes::from_static(b"{}"))
}

/// A success envelope around `data`.
pub(crate) fn ok_envelope<T: Serialize>(request_id: &str, data: T) -> Bytes {
    #[derive(Serialize)]
    struct Env<'a, T> {
        ok: bool,
        data: T,
        meta: Meta<'a>,
    }
    to_json(&Env {
        ok: true,
        data,
        meta: Meta { request_id },
    })
}

/// A complete response before the per-request headers (rate limit, cache)
/// are added. Storable for idempotent replay.
#[derive(Debug, Clone)]
pub(crate) struct Out {
    pub(crate) status: StatusCode,
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    pub(crate) body: Bytes,
    /// A streamed body (an event stream) sent instead of `body`, which
    /// stays empty: nothing buffers it, and the log and the self-check see
    /// only status and headers.
    pub(crate) stream: Option<Streamed>,
}

/// A body written as it is produced. Taken once, by the response.
#[derive(Clone, Default)]
pub(crate) struct Streamed(Arc<std::sync::Mutex<Option<Body>>>);

impl std::fmt::Debug for Streamed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("(event stream)")
    }
}

impl Out {
    pub(crate) fn json(status: StatusCode, request_id: &str, body: Bytes) -> Self {
        Self {
            status,
            headers: vec![
                (X_REQUEST_ID, header_value(request_id)),
                (CONTENT_TYPE, APPLICATION_JSON),
            ],
            body,
            stream: None,
        }
    }

    pub(crate) fn empty(status: StatusCode, request_id: &str) -> Self {
        Self {
            status,
            headers: vec![(X_REQUEST_ID, header_value(request_id))],
            body: Bytes::new(),
            stream: None,
        }
    }

    /// `200` with `text/event-stream` and `body` streamed as produced.
    pub(crate) fn event_stream(request_id: &str, body: Body) -> Self {
        Self {
            status: StatusCode::OK,
            headers: vec![
                (X_REQUEST_ID, header_value(request_id)),
                (CONTENT_TYPE, HeaderValue::from_static("text/event-stream")),
            ],
            body: Bytes::new(),
            stream: Some(Streamed(Arc::new(std::sync::Mutex::new(Some(body))))),
        }
    }

    pub(crate) fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    pub(crate) fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }
}

/// A header value from text we generated (ids, tags, numbers); anything
/// unrepresentable degrades to an empty value instead of panicking.
pub(crate) fn header_value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// What happened to a request beyond its response, for the log.
#[derive(Default)]
struct Trace {
    faults: Vec<&'static str>,
    abort: bool,
    handler_ran: bool,
    replayed: bool,
    /// The operation has no handler: answered 501.
    not_implemented: bool,
    /// The request body was read (by the body stage or the stub stage).
    body_read: bool,
    /// The stub that answered, and whether its answer is checked against
    /// the spec.
    stub: Option<(u64, bool)>,
}

/// Counts API requests in progress.
struct InFlight<'a>(&'a App);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.api_in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Releases an idempotency reservation if the request never finishes
/// (client gone, handler future dropped).
struct Reservation<'a> {
    app: &'a App,
    key: Option<IdemKey>,
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.app.idem_abandon(&key);
        }
    }
}

/// Entry point of every request under [`BASE_PATH`] on the main listener
/// (Management and Mailbox APIs).
pub(crate) async fn route(
    axum::extract::State(app): axum::extract::State<Arc<App>>,
    req: Request<Body>,
) -> Response<Body> {
    route_on(app, Listener::Main, req).await
}

/// Entry point of every request under [`BASE_PATH`] on the sending
/// listener (the Sending API).
pub(crate) async fn route_sending(
    axum::extract::State(app): axum::extract::State<Arc<App>>,
    req: Request<Body>,
) -> Response<Body> {
    route_on(app, Listener::Sending, req).await
}

/// Whether `listener` stands for the host that serves `surface`.
fn serves(listener: Listener, surface: Surface) -> bool {
    match listener {
        Listener::Main => surface != Surface::Sending,
        Listener::Sending => surface == Surface::Sending,
    }
}

/// The operation table resolves method and path (literal segments win over
/// parameters), then the pipeline runs, if this listener stands for the
/// operation's host.
async fn route_on(app: Arc<App>, listener: Listener, req: Request<Body>) -> Response<Body> {
    let path = req.uri().path().strip_prefix(BASE_PATH).unwrap_or_default();
    match sendmux_operations::match_route(req.method(), path) {
        // Each API has its own host, so a client given the wrong base URL
        // fails here as it would in production; the message says where the
        // operation is served.
        Some((op, _)) if !serves(listener, op.surface) => {
            let (api, port) = match op.surface {
                Surface::Sending => ("the Sending API", "sending"),
                Surface::Management => ("the Management API", "main"),
                Surface::Mailbox => ("the Mailbox API", "main"),
            };
            let message = format!(
                "{} belongs to {api} ({}), which this listener does not serve; \
                 the mock serves it on its {port} port",
                op.id,
                op.surface.default_base_url()
            );
            not_found(&app, listener, message)
        }
        Some((op, _)) => dispatch(app, listener, op, req).await,
        None => {
            // A known path with another method is a 404 too, as for any
            // route outside the API; the message says which methods exist.
            let mut allowed: Vec<&str> = sendmux_operations::route_candidates(path)
                .filter(|(op, _)| serves(listener, op.surface))
                .map(|(op, _)| op.method.as_str())
                .collect();
            allowed.sort_unstable();
            allowed.dedup();
            let message = if allowed.is_empty() {
                format!("no route for {} {}", req.method(), req.uri().path())
            } else {
                format!(
                    "{} is not allowed on {} (it takes {})",
                    req.method(),
                    req.uri().path(),
                    allowed.join(", ")
                )
            };
            not_found(&app, listener, message)
        }
    }
}

/// Runs the pipeline for one request of `op`: the stages, then the
/// common headers and the log.
async fn dispatch(
    app: Arc<App>,
    listener: Listener,
    op: &'static Operation,
    req: Request<Body>,
) -> Response<Body> {
    app.api_in_flight.fetch_add(1, Ordering::Relaxed);
    let _in_flight = InFlight(&app);
    let request_id = app.next_request_id();
    let (parts, body) = req.into_parts();
    let mut exchange = Exchange::new(&app, listener, op, &parts, body, &request_id);
    let out = match exchange.run().await {
        Ok(out) | Err(Stop::Answer(out)) => out,
        Err(Stop::Fail(e)) => e.into_out(&request_id),
    };
    exchange.respond(out)
}

/// Answer for paths outside the API's base path (the main router's
/// fallback).
pub(crate) async fn route_not_found(
    axum::extract::State(app): axum::extract::State<Arc<App>>,
    req: Request<Body>,
) -> Response<Body> {
    let message = format!("no route for {} {}", req.method(), req.uri().path());
    not_found(&app, Listener::Main, message)
}

/// Answer for paths outside the API's base path on the sending listener.
pub(crate) async fn sending_route_not_found(
    axum::extract::State(app): axum::extract::State<Arc<App>>,
    req: Request<Body>,
) -> Response<Body> {
    let message = format!("no route for {} {}", req.method(), req.uri().path());
    not_found(&app, Listener::Sending, message)
}

/// A 404 in the usual envelope, with the usual headers. No operation, so no
/// auth and no log entry.
fn not_found(app: &App, listener: Listener, message: String) -> Response<Body> {
    let class = match listener {
        Listener::Main => KeyClass::Root,
        Listener::Sending => KeyClass::Mailbox,
    };
    error_response(
        app,
        class,
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message),
    )
}

/// An error envelope with the common headers, outside the pipeline (no
/// operation, so no auth, no counting, no log entry).
fn error_response(app: &App, class: KeyClass, error: ApiError) -> Response<Body> {
    let request_id = app.next_request_id();
    let rate = app.rate_check(None, class);
    finish(error.into_out(&request_id), rate)
}

/// A response of a route outside the operation table (a signed upload or
/// download link, authorised by its token): the common headers, counted
/// against no key.
pub(crate) fn outside_pipeline(app: &App, out: Out) -> Response<Body> {
    finish(out, app.rate_check(None, KeyClass::Mailbox))
}

/// `401` for an admin call without the configured admin token.
pub(crate) fn admin_unauthorized(app: &App) -> Response<Body> {
    error_response(
        app,
        KeyClass::Root,
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "authentication_required",
            "this server's /__mock/ admin API needs `Authorization: Bearer` with its admin token",
        ),
    )
}

/// The answer when handling a request panicked: `500 internal_error` in the
/// envelope with the common headers, and a line on stderr, so a bug in the
/// mock shows up as an error and not as a silently closed connection.
pub(crate) fn panic_response(
    app: &App,
    method: &http::Method,
    path: &str,
    message: &str,
) -> Response<Body> {
    let error = ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal_error",
        "the mock failed while handling this request (a bug in sendmux-mock; its stderr has details)",
    );
    let request_id = app.next_request_id();
    #[allow(clippy::print_stderr)]
    {
        eprintln!(
            "sendmux-mock: {method} {path} panicked, answered 500 as {request_id}: {message}"
        );
    }
    // The panic may have come from the rate accounting itself; the answer
    // to a panic must not panic again, so fall back to bare figures.
    let rate = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        app.rate_check(None, KeyClass::Root)
    }))
    .unwrap_or(RateOutcome {
        limit: 0,
        remaining: 0,
        reset_unix: 0,
        retry_after: None,
    });
    finish(error.into_out(&request_id), rate)
}

/// Turns an `Out` into a response with the headers every response carries.
fn finish(out: Out, rate: RateOutcome) -> Response<Body> {
    let streamed = out.stream.and_then(|s| lock(&s.0).take());
    let mut resp = Response::new(streamed.unwrap_or_else(|| Body::from(out.body)));
    *resp.status_mut() = out.status;
    let h = resp.headers_mut();
    for (name, value) in out.headers {
        h.append(name, value);
    }
    // Every answer is `no-store` unless its handler said otherwise (the
    // Sending API's document is cacheable).
    if !h.contains_key(CACHE_CONTROL) {
        h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    h.insert(X_RATELIMIT_LIMIT, HeaderValue::from(rate.limit));
    h.insert(X_RATELIMIT_REMAINING, HeaderValue::from(rate.remaining));
    h.insert(X_RATELIMIT_RESET, HeaderValue::from(rate.reset_unix));
    resp
}

/// Why a stage ends the pipeline early.
enum Stop {
    /// An error answer.
    Fail(ApiError),
    /// A complete answer (an idempotent replay).
    Answer(Out),
}

impl From<ApiError> for Stop {
    fn from(e: ApiError) -> Self {
        Self::Fail(e)
    }
}

/// What a stage returns: carry on, or answer now.
type Stage = Result<(), Stop>;

/// One request as it moves through the pipeline: the request, what the
/// stages found so far, and what the log will report.
struct Exchange<'a> {
    app: &'a App,
    /// The listener the request arrived on.
    listener: Listener,
    op: &'static Operation,
    parts: &'a Parts,
    request_id: &'a str,
    /// The unread body, until the body stage takes it.
    body: Option<Body>,
    /// The key's team, once authenticated.
    team: Option<String>,
    /// The mailbox behind the key, for a mailbox key the mock issued.
    mailbox: Option<String>,
    /// The key's rate window and limit class, once authenticated.
    rate_key: Option<(u64, KeyClass)>,
    /// Rate accounting, once the rate stage ran.
    rate: Option<RateOutcome>,
    handler: Option<Handler>,
    /// Injected delay before the handler.
    latency: Duration,
    /// Parsed and schema-checked body, for operations with a JSON body.
    json: Option<serde_json::Value>,
    raw_body: Bytes,
    reservation: Reservation<'a>,
    trace: Trace,
}

impl<'a> Exchange<'a> {
    fn new(
        app: &'a App,
        listener: Listener,
        op: &'static Operation,
        parts: &'a Parts,
        body: Body,
        request_id: &'a str,
    ) -> Self {
        Self {
            app,
            listener,
            op,
            parts,
            request_id,
            body: Some(body),
            team: None,
            mailbox: None,
            rate_key: None,
            rate: None,
            handler: None,
            latency: Duration::ZERO,
            json: None,
            raw_body: Bytes::new(),
            reservation: Reservation { app, key: None },
            trace: Trace::default(),
        }
    }

    /// The stages in order; each may answer early.
    async fn run(&mut self) -> Result<Out, Stop> {
        self.authenticate()?;
        self.rate_limit()?;
        self.stub().await?;
        // After auth and rate limit, so an unimplemented operation still
        // answers a wrong key like the API would.
        self.find_handler()?;
        self.inject_faults()?;
        self.read_body().await?;
        self.idempotency()?;
        self.delay().await;
        let out = self.handle()?;
        self.commit(&out);
        Ok(self.after_commit(out).await)
    }

    /// The key must be well formed, accepted, and fit the surface.
    fn authenticate(&mut self) -> Stage {
        match resources::sending::keyless(self.op) {
            None => {}
            // No key, no team, not counted against any window.
            Some(KeylessAuth::Public) => return Ok(()),
            Some(KeylessAuth::UploadToken) => {
                let path = self
                    .parts
                    .uri
                    .path()
                    .strip_prefix(BASE_PATH)
                    .unwrap_or_default();
                let params = self.op.match_path(path).unwrap_or_default();
                let upload_id = params
                    .iter()
                    .find(|(name, _)| *name == "upload_id")
                    .map_or("", |(_, value)| value);
                let team = resources::sending::attachments::authorise_upload(
                    self.app,
                    &self.parts.headers,
                    upload_id,
                )?;
                self.team = Some(team);
                return Ok(());
            }
        }
        let identity = authenticate(self.app, &self.parts.headers, self.op.surface)?;
        self.team = Some(identity.team);
        self.mailbox = identity.mailbox;
        self.rate_key = Some((identity.rate_key, identity.class));
        Ok(())
    }

    /// Counts the request against its key's window (a batch send is one
    /// request like any other).
    fn rate_limit(&mut self) -> Stage {
        let class = KeyClass::of_surface(self.op.surface);
        let rate = match self.rate_key {
            Some((key, class)) => self.app.rate_check(Some(key), class),
            None => self.app.rate_check(None, class),
        };
        self.rate = Some(rate);
        match rate.retry_after {
            Some(retry) => Err(ApiError::rate_limited(retry).into()),
            None => Ok(()),
        }
    }

    /// A stub the test arranged for this operation answers instead of the
    /// handler. Only when one is armed, the body is read (and checked, so
    /// a request the API would refuse is refused, and uses up no stub) to
    /// match the stub's conditions against.
    async fn stub(&mut self) -> Stage {
        if !self.app.mocking.stubs_armed_for(self.op) {
            return Ok(());
        }
        self.read_body().await?;
        let answer = {
            let call = Call::new(&self.parts.headers, self.seen_body());
            self.app.mocking.take_stub(self.op, &call)
        };
        let Some(answer) = answer else {
            return Ok(());
        };
        self.trace.stub = Some((answer.id, answer.checked));
        let path = self.parts.uri.path();
        Err(Stop::Answer(answer.into_out(
            self.app,
            self.op,
            path,
            self.request_id,
        )))
    }

    /// The body as read: empty for an operation that takes none, `None`
    /// when the request was answered before its body was read.
    fn seen_body(&self) -> Option<&Bytes> {
        static EMPTY: Bytes = Bytes::new();
        if self.op.request.is_none() {
            Some(&EMPTY)
        } else {
            self.trace.body_read.then_some(&self.raw_body)
        }
    }

    /// `501 not_implemented` for an operation the mock has no handler for.
    fn find_handler(&mut self) -> Stage {
        self.handler = resources::handler(self.op);
        if self.handler.is_none() {
            self.trace.not_implemented = true;
            return Err(ApiError::not_implemented(self.op).into());
        }
        Ok(())
    }

    /// Draws the faults that fire before the handler: a terminal one
    /// answers now, latency acts after the idempotency reservation.
    fn inject_faults(&mut self) -> Stage {
        let draw = self.app.draw_faults(self.op.id, FaultPhase::BeforeHandler);
        self.trace.faults = draw.names;
        self.latency = draw.latency;
        match draw.terminal {
            None | Some(FaultKind::Latency { .. }) => Ok(()),
            Some(FaultKind::CloseBeforeHandler) => {
                self.trace.abort = true;
                // Never written: the connection closes first.
                Err(ApiError::internal().into())
            }
            Some(FaultKind::InternalError) => Err(ApiError::internal().into()),
            Some(FaultKind::ServiceUnavailable { retry_after_secs }) => {
                Err(ApiError::unavailable(retry_after_secs).into())
            }
            Some(FaultKind::RateLimited { retry_after_secs }) => {
                Err(ApiError::rate_limited(retry_after_secs).into())
            }
            // Drawn only after the commit (`FaultRule::phase`).
            Some(FaultKind::CloseAfterCommit) => Ok(()),
        }
    }

    /// Draws the faults that fire after the handler committed, in place of
    /// writing its answer (which is stored for replay already): latency
    /// delays the answer, a status fault replaces it, a connection fault
    /// drops it.
    async fn after_commit(&mut self, out: Out) -> Out {
        let draw = self.app.draw_faults(self.op.id, FaultPhase::AfterCommit);
        self.trace.faults.extend(draw.names);
        if !draw.latency.is_zero() {
            tokio::time::sleep(draw.latency).await;
        }
        match draw.terminal {
            None | Some(FaultKind::Latency { .. }) => out,
            Some(FaultKind::CloseBeforeHandler | FaultKind::CloseAfterCommit) => {
                self.trace.abort = true;
                out
            }
            Some(FaultKind::InternalError) => ApiError::internal().into_out(self.request_id),
            Some(FaultKind::ServiceUnavailable { retry_after_secs }) => {
                ApiError::unavailable(retry_after_secs).into_out(self.request_id)
            }
            Some(FaultKind::RateLimited { retry_after_secs }) => {
                ApiError::rate_limited(retry_after_secs).into_out(self.request_id)
            }
        }
    }

    /// Reads the body (size limit) and checks it against the schema, for
    /// operations that take one.
    async fn read_body(&mut self) -> Stage {
        let (Some(request), Some(body)) = (self.op.request, self.body.take()) else {
            return Ok(());
        };
        // Mailbox attachment uploads may be larger than a JSON body.
        let limit = if self.op.surface == Surface::Mailbox
            && request.media_type == MediaType::Binary
        {
            (self.app.settings.mailbox.attachment_max_bytes).max(self.app.settings.max_body_bytes)
        } else if self.op.surface == Surface::Sending {
            // The Sending API's own published limits: 25 MiB for a send,
            // the attachment cap for an upload.
            if request.media_type == MediaType::Binary {
                self.app.settings.sending_attachment_limit
            } else {
                resources::sending::MAX_SEND_BYTES
            }
        } else {
            self.app.settings.max_body_bytes
        };
        let bytes = read_limited(self.app, &self.parts.headers, body, limit).await?;
        self.raw_body = bytes;
        self.trace.body_read = true;
        self.json = validate::request_body(self.op, request, self.parts, &self.raw_body)?;
        Ok(())
    }

    /// `Idempotency-Key`: reserves the key, or replays the stored answer,
    /// or refuses a reuse with another body or while the first is running.
    fn idempotency(&mut self) -> Stage {
        let Some(raw) = self
            .parts
            .headers
            .get(IDEMPOTENCY_KEY)
            .filter(|_| self.op.idempotency_key)
        else {
            return Ok(());
        };
        let key = IdemKey {
            team: self.team.clone().unwrap_or_default(),
            operation: self.op.id,
            key: idempotency_key(raw)?,
        };
        // The concrete path is part of the request: a key reused on another
        // resource of the same operation (another mailbox's `suspend`, with
        // the same empty body) is a conflict, never that resource's replay.
        let mut fingerprint = self.parts.uri.path().as_bytes().to_vec();
        fingerprint.push(0);
        fingerprint.extend(match &self.json {
            Some(json) => canonical_json(json),
            // A binary body (an upload): the query names the file, the
            // bytes are the file.
            None => {
                let mut f = self
                    .parts
                    .uri
                    .query()
                    .unwrap_or_default()
                    .as_bytes()
                    .to_vec();
                f.push(0);
                f.extend_from_slice(&sha2::Sha256::digest(&self.raw_body));
                f
            }
        });
        match self.app.idem_begin(&key, &fingerprint) {
            IdemBegin::Reserved => {
                self.reservation.key = Some(key);
                Ok(())
            }
            IdemBegin::Replay(stored) => {
                self.trace.replayed = true;
                resources::sending::replayed(self.app, &key);
                let mut out = Out {
                    status: stored.status,
                    headers: stored.headers.clone(),
                    body: stored.body.clone(),
                    stream: None,
                };
                out.headers
                    .push((IDEMPOTENT_REPLAYED, HeaderValue::from_static("true")));
                Err(Stop::Answer(out))
            }
            IdemBegin::Mismatch => Err(ApiError::idempotency_conflict(
                "this Idempotency-Key was already used with a different request (another path or body)",
            )
            .with_param("Idempotency-Key")
            .into()),
            IdemBegin::InFlight => Err(ApiError::idempotency_conflict(
                "a request with this Idempotency-Key is still being processed; retry later with the same key",
            )
            .with_param("Idempotency-Key")
            .into()),
        }
    }

    /// Injected latency, after the reservation so a concurrent retry with
    /// the same key sees the request in flight.
    async fn delay(&mut self) {
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
    }

    /// Runs the handler; its error is an answer like any other (and is
    /// stored for replay like one).
    fn handle(&mut self) -> Result<Out, Stop> {
        let handler = self
            .handler
            .ok_or_else(|| ApiError::not_implemented(self.op))?;
        // The route matched this operation's template, so this finds the
        // parameters again (on the path `parts` owns, which `Ctx` borrows).
        let path = self
            .parts
            .uri
            .path()
            .strip_prefix(BASE_PATH)
            .unwrap_or_default();
        let ctx = Ctx {
            app: self.app,
            team: self.team.as_deref().unwrap_or_default(),
            mailbox: self.mailbox.as_deref(),
            request_id: self.request_id,
            op: self.op,
            parts: self.parts,
            params: self.op.match_path(path).unwrap_or_default(),
            body: self.json.take(),
            // A reference count, not a copy: the log and the expectations
            // read the body after the handler.
            raw_body: self.raw_body.clone(),
        };
        let out = match handler(ctx) {
            Ok(out) => out,
            Err(e) => {
                if e.rejects_input() {
                    // Refused before executing: nothing to replay, so the
                    // key stays free for the corrected request.
                    if let Some(key) = self.reservation.key.take() {
                        self.app.idem_abandon(&key);
                    }
                }
                e.into_out(self.request_id)
            }
        };
        self.trace.handler_ran = true;
        Ok(out)
    }

    /// Stores the answer for idempotent replay.
    fn commit(&mut self, out: &Out) {
        if let Some(key) = self.reservation.key.take() {
            self.app.idem_finish(
                &key,
                StoredResponse {
                    status: out.status,
                    headers: out.headers.clone(),
                    body: out.body.clone(),
                },
            );
        }
    }

    /// Adds the common headers, logs the request, and marks the connection
    /// for closing when a fault said so.
    fn respond(mut self, out: Out) -> Response<Body> {
        // An unauthenticated request never reached the rate stage: report
        // the limit without counting it.
        let rate = self.rate.unwrap_or_else(|| {
            self.app
                .rate_check(None, KeyClass::of_surface(self.op.surface))
        });
        let status = out.status;
        // A checked stub's answer is always held against the spec: a test
        // should learn when its stub says what the API never would.
        let stub_checked = self.trace.stub.is_some_and(|(_, checked)| checked);
        let body_copy = (self.app.settings.self_check || stub_checked).then(|| out.body.clone());
        let mut resp = finish(out, rate);
        self.log(status, resp.headers(), body_copy);
        if self.trace.abort {
            resp.extensions_mut().insert(AbortConnection);
        }
        resp
    }

    /// The request body the log keeps: a JSON body that was read, up to
    /// the capture limit, secrets redacted.
    fn kept_body(&self) -> Option<Bytes> {
        let request = self.op.request?;
        if request.media_type != MediaType::Json || !self.trace.body_read {
            return None;
        }
        received::capture(&self.raw_body, self.app.settings.body_capture)
    }

    /// The request log entry, with the optional spec check of our answer,
    /// and the call counted for the test's expectations.
    fn log(&mut self, status: StatusCode, headers: &HeaderMap, body: Option<Bytes>) {
        let logging = self.app.settings.log_capacity > 0;
        let observed = self.app.mocking.observes(self.op);
        let stub = self.trace.stub;
        if !logging && !observed && stub.is_none_or(|(_, checked)| !checked) {
            return;
        }
        let parts = self.parts;
        let written = !self.trace.abort || self.trace.handler_ran;
        let path = parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.path().to_owned(), |pq| pq.as_str().to_owned());
        // The spec check of our own output is opt-in: it costs more than
        // the rest of the request. A 501 is skipped: its `not_implemented`
        // code is the mock's own, outside the spec's `ApiErrorCode` enum,
        // and would be reported on every request of an unimplemented
        // operation.
        let violations: Vec<String> = match body {
            Some(body) if written && !self.trace.not_implemented => validate::spec_for(self.op)
                .validate_response(&parts.method, &path, status.as_u16(), headers, &body)
                .violations
                .iter()
                .map(ToString::to_string)
                .collect(),
            _ => Vec::new(),
        };
        if let Some((id, true)) = stub
            && !violations.is_empty()
        {
            lock(&self.app.mocking.stubs).violated(
                id,
                format!(
                    "{} {path} -> {}: {}",
                    parts.method,
                    status.as_u16(),
                    violations.join("\n")
                ),
            );
        }
        let kept = self.kept_body();
        let body_size = if self.trace.body_read {
            self.raw_body.len()
        } else {
            0
        };
        if observed {
            let shown = match &kept {
                Some(kept) => trimmed(&String::from_utf8_lossy(kept), 200),
                None if body_size > 0 => format!("({body_size} bytes, not kept)"),
                None => String::new(),
            };
            let summary = CallSummary {
                method: parts.method.to_string(),
                path: path.clone(),
                status: written.then_some(status.as_u16()),
                body: shown,
                stub: stub.map(|(id, _)| id),
            };
            let call = Call::new(&parts.headers, self.seen_body());
            self.app.mocking.observe(self.op, &call, &summary);
        }
        if !logging {
            return;
        }
        let trace = &mut self.trace;
        self.app.record(LogEntry {
            request_id: self.request_id.to_owned(),
            method: parts.method.clone(),
            path,
            operation: self.op.id,
            surface: self.op.surface,
            port: self.app.settings.listeners.port(self.listener),
            team: self.team.clone(),
            headers: LogEntry::pack_headers(&parts.headers),
            status: written.then_some(status.as_u16()),
            faults: std::mem::take(&mut trace.faults),
            connection_closed: trace.abort,
            replayed: trace.replayed,
            violations,
            body: kept,
            body_size,
            stub: stub.map(|(id, _)| id),
        });
    }
}

/// Every key prefix the API issues; a key without one is not a key.
const KEY_PREFIXES: [&str; 3] = ["smx_root_", "smx_mbx_", "smx_agent_"];

/// Who a request's key speaks for.
struct Identity {
    team: String,
    /// Set for a mailbox key the mock issued.
    mailbox: Option<String>,
    /// The key's rate window.
    rate_key: u64,
    /// Which limit the key falls under.
    class: KeyClass,
}

/// Bearer auth: a well-formed key (one of the accepted ones, when the
/// server was given a list) whose prefix fits the operation's surface;
/// returns the key's team, and its mailbox for a mailbox key the mock
/// issued. Such a key speaks for its mailbox's team, is accepted whatever
/// the list says, and stops working once revoked or its mailbox deleted
/// (`401`) and while its mailbox is suspended (`403`). Any other
/// well-formed key is its own team.
fn authenticate(app: &App, headers: &HeaderMap, surface: Surface) -> Result<Identity, ApiError> {
    let wanted = || {
        surface
            .key_prefixes()
            .iter()
            .map(|p| format!("{p}..."))
            .collect::<Vec<_>>()
            .join(" or ")
    };
    let unauthenticated = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "authentication_required",
            format!(
                "a valid API key is required: send `Authorization: Bearer` with a {} key",
                wanted()
            ),
        )
    };
    let raw = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(unauthenticated)?;
    let (scheme, key) = raw.trim().split_once(' ').ok_or_else(unauthenticated)?;
    let key = key.trim();
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(unauthenticated());
    }
    let prefix = KEY_PREFIXES
        .into_iter()
        .find(|p| key.starts_with(p))
        .ok_or_else(unauthenticated)?;
    let rest = &key[prefix.len()..];
    let well_formed = !rest.is_empty()
        && rest.len() <= 200
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !well_formed {
        return Err(unauthenticated());
    }
    let issued = if prefix == "smx_mbx_" {
        resources::mailboxes::key_owner(&lock(&app.resources), key, unauthenticated)?
    } else {
        None
    };
    if issued.is_none()
        && !app.settings.accept_keys.is_empty()
        && !app.settings.accept_keys.iter().any(|k| k == key)
    {
        return Err(unauthenticated());
    }
    // A valid key of the wrong kind is a permission problem, not an
    // authentication one (the API answers 403, e.g. a root key on /mailbox/).
    if !surface.key_prefixes().contains(&prefix) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "insufficient_permissions",
            format!(
                "{} routes need a {} key; {prefix}... keys are not allowed",
                surface.as_str(),
                wanted()
            ),
        ));
    }
    let (rate_key, class) = (
        app.rate_key(key),
        if prefix == "smx_root_" {
            KeyClass::Root
        } else {
            KeyClass::Mailbox
        },
    );
    Ok(match issued {
        Some((team, mailbox)) => Identity {
            team,
            mailbox: Some(mailbox),
            rate_key,
            class,
        },
        None => Identity {
            team: app.team_of(key),
            mailbox: None,
            rate_key,
            class,
        },
    })
}

/// Beyond the limit, a body is still read and discarded up to this size so
/// the client gets to read the 413 instead of a reset connection.
const DRAIN_MAX: usize = 16 * 1024 * 1024;

/// Reads the body up to the configured limit.
async fn read_limited(
    app: &App,
    headers: &HeaderMap,
    mut body: Body,
    limit: usize,
) -> Result<Bytes, ApiError> {
    use http_body_util::BodyExt as _;
    let drain_max = DRAIN_MAX.max(limit);
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > drain_max as u64) {
        return Err(ApiError::payload_too_large(limit));
    }
    let mut buf = bytes::BytesMut::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            if e.into_inner().is::<BodyTimeout>() {
                ApiError::body_timeout(app.settings.body_read_timeout)
            } else {
                ApiError::invalid_parameter("the request body could not be read")
            }
        })?;
        if let Some(data) = frame.data_ref() {
            seen = seen.saturating_add(data.len());
            if seen <= limit {
                buf.extend_from_slice(data);
            } else if seen > drain_max {
                break;
            }
        }
    }
    if seen > limit {
        return Err(ApiError::payload_too_large(limit));
    }
    Ok(buf.freeze())
}

/// `Idempotency-Key`: 1..=255 visible ASCII characters.
fn idempotency_key(raw: &HeaderValue) -> Result<String, ApiError> {
    let bytes = raw.as_bytes();
    let ok = !bytes.is_empty() && bytes.len() <= 255 && bytes.iter().all(|b| b.is_ascii_graphic());
    if !ok {
        return Err(ApiError::invalid_parameter(
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
        )
        .with_param("Idempotency-Key"));
    }
    Ok(String::from_utf8_lossy(bytes).into_owned())
}

/// Key-order-independent serialisation, so `{"a":1,"b":2}` and
/// `{"b":2,"a":1}` count as the same body whatever map order serde_json
/// was built with.
fn canonical_json(v: &serde_json::Value) -> Vec<u8> {
    fn walk(v: &serde_json::Value, out: &mut Vec<u8>) {
        match v {
            serde_json::Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                out.push(b'{');
                for (i, k) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(&to_json(k));
                    out.push(b':');
                    if let Some(child) = map.get(k) {
                        walk(child, out);
                    }
                }
                out.push(b'}');
            }
            serde_json::Value::Array(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    walk(item, out);
                }
                out.push(b']');
            }
            other => out.extend_from_slice(&to_json(other)),
        }
    }
    let mut out = Vec::new();
    walk(v, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `route` answers a Sending match with 404 after the table resolved
    /// it; that is only right if no Sending path could also be a Management
    /// or Mailbox one.
    #[test]
    fn no_sending_route_overlaps_the_main_hosts_routes() {
        fn overlap(a: &str, b: &str) -> bool {
            let (a, b): (Vec<_>, Vec<_>) = (a.split('/').collect(), b.split('/').collect());
            a.len() == b.len()
                && a.iter()
                    .zip(&b)
                    .all(|(x, y)| x == y || x.starts_with('{') || y.starts_with('{'))
        }
        let all = &sendmux_operations::OPERATIONS;
        for sending in all.iter().filter(|op| op.surface == Surface::Sending) {
            for other in all.iter().filter(|op| op.surface != Surface::Sending) {
                assert!(
                    sending.method != other.method || !overlap(sending.path, other.path),
                    "{} and {} share a route",
                    sending.id,
                    other.id
                );
            }
        }
    }

    #[test]
    fn canonical_json_ignores_key_order() {
        let a: serde_json::Value = serde_json::json!({"b": [1, {"y": 1, "x": 2}], "a": "s"});
        let b: serde_json::Value = serde_json::json!({"a": "s", "b": [1, {"x": 2, "y": 1}]});
        assert_eq!(canonical_json(&a), canonical_json(&b));
        let c: serde_json::Value = serde_json::json!({"a": "t", "b": [1, {"x": 2, "y": 1}]});
        assert_ne!(canonical_json(&a), canonical_json(&c));
    }

    #[test]
    fn idempotency_key_rules() {
        assert!(idempotency_key(&HeaderValue::from_static("k-1")).is_ok());
        assert!(idempotency_key(&HeaderValue::from_static("")).is_err());
        assert!(idempotency_key(&HeaderValue::from_static("has space")).is_err());
        let long = "k".repeat(256);
        assert!(idempotency_key(&header_value(&long)).is_err());
        let max = "k".repeat(255);
        assert!(idempotency_key(&header_value(&max)).is_ok());
    }
}
