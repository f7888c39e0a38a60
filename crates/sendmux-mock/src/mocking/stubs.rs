//! Stubbed answers: "the next calls of this operation answer that".
//!
//! A stub is armed for one operation, optionally with request matchers and
//! a number of answers; while armed, it answers matching calls after auth
//! and the rate limit, instead of the handler. The newest armed stub that
//! matches answers, so a `fail_next` arranged on top of a standing stub
//! goes first and the standing one resumes after it.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, ETAG, LOCATION, RETRY_AFTER};
use http::{HeaderName, HeaderValue, StatusCode};
use sendmux_operations::Operation;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Call, Matchers};
use crate::api::{APPLICATION_JSON, ApiError, BASE_PATH, Out, X_REQUEST_ID, header_value};
use crate::app::{App, lock};
use crate::validate;

/// The error codes the API answers with, each with its usual status: the
/// codes of the published `ApiErrorCode` enum, plus the Sending API's
/// `insufficient_credits` (`402`). What
/// [`MockServer::fail_next`](crate::MockServer::fail_next) takes (as does
/// its code's text, `"conflict"`).
///
/// ```
/// use sendmux_mock::ErrorCode;
///
/// assert_eq!(ErrorCode::Conflict.status(), 409);
/// assert_eq!("rate_limit_exceeded".parse(), Ok(ErrorCode::RateLimitExceeded));
/// assert!(ErrorCode::RateLimitExceeded.retryable());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// `400 invalid_parameter`.
    InvalidParameter,
    /// `400 missing_parameter`.
    MissingParameter,
    /// `401 authentication_required`.
    AuthenticationRequired,
    /// `402 insufficient_credits` (Sending API only).
    InsufficientCredits,
    /// `403 insufficient_permissions`.
    InsufficientPermissions,
    /// `404 not_found`.
    NotFound,
    /// `409 conflict`.
    Conflict,
    /// `409 limit_exceeded`.
    LimitExceeded,
    /// `409 idempotency_conflict`.
    IdempotencyConflict,
    /// `413 payload_too_large`.
    PayloadTooLarge,
    /// `422 validation_error`.
    ValidationError,
    /// `429 rate_limit_exceeded`, retryable, with `Retry-After: 1`.
    RateLimitExceeded,
    /// `500 internal_error`, retryable.
    InternalError,
    /// `503 service_unavailable`, retryable, with `Retry-After: 1`.
    ServiceUnavailable,
}

impl ErrorCode {
    /// Every code, in status order.
    pub const ALL: [ErrorCode; 14] = [
        Self::InvalidParameter,
        Self::MissingParameter,
        Self::AuthenticationRequired,
        Self::InsufficientCredits,
        Self::InsufficientPermissions,
        Self::NotFound,
        Self::Conflict,
        Self::LimitExceeded,
        Self::IdempotencyConflict,
        Self::PayloadTooLarge,
        Self::ValidationError,
        Self::RateLimitExceeded,
        Self::InternalError,
        Self::ServiceUnavailable,
    ];

    /// The code as the envelope writes it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidParameter => "invalid_parameter",
            Self::MissingParameter => "missing_parameter",
            Self::AuthenticationRequired => "authentication_required",
            Self::InsufficientCredits => "insufficient_credits",
            Self::InsufficientPermissions => "insufficient_permissions",
            Self::NotFound => "not_found",
            Self::Conflict => "conflict",
            Self::LimitExceeded => "limit_exceeded",
            Self::IdempotencyConflict => "idempotency_conflict",
            Self::PayloadTooLarge => "payload_too_large",
            Self::ValidationError => "validation_error",
            Self::RateLimitExceeded => "rate_limit_exceeded",
            Self::InternalError => "internal_error",
            Self::ServiceUnavailable => "service_unavailable",
        }
    }

    /// The status the API sends the code with.
    pub const fn status(self) -> u16 {
        match self {
            Self::InvalidParameter | Self::MissingParameter => 400,
            Self::AuthenticationRequired => 401,
            Self::InsufficientCredits => 402,
            Self::InsufficientPermissions => 403,
            Self::NotFound => 404,
            Self::Conflict | Self::LimitExceeded | Self::IdempotencyConflict => 409,
            Self::PayloadTooLarge => 413,
            Self::ValidationError => 422,
            Self::RateLimitExceeded => 429,
            Self::InternalError => 500,
            Self::ServiceUnavailable => 503,
        }
    }

    /// The envelope's `retryable`: true for `429`, `500` and `503`.
    pub const fn retryable(self) -> bool {
        matches!(self.status(), 429 | 500 | 503)
    }

    /// The `Retry-After` seconds the answer carries, if any.
    const fn retry_after(self) -> Option<u64> {
        match self {
            Self::RateLimitExceeded | Self::ServiceUnavailable => Some(1),
            _ => None,
        }
    }

    /// The envelope's `message`.
    fn message(self) -> &'static str {
        match self {
            Self::InvalidParameter => "a parameter is not valid (answer arranged by the test)",
            Self::MissingParameter => {
                "a required parameter is missing (answer arranged by the test)"
            }
            Self::AuthenticationRequired => {
                "a valid API key is required (answer arranged by the test)"
            }
            Self::InsufficientCredits => {
                "the balance does not cover this send (answer arranged by the test)"
            }
            Self::InsufficientPermissions => {
                "this key may not do that (answer arranged by the test)"
            }
            Self::NotFound => "not found (answer arranged by the test)",
            Self::Conflict => {
                "the request conflicts with the current state (answer arranged by the test)"
            }
            Self::LimitExceeded => "a limit has been reached (answer arranged by the test)",
            Self::IdempotencyConflict => {
                "this Idempotency-Key is in use (answer arranged by the test)"
            }
            Self::PayloadTooLarge => "the request body is too large (answer arranged by the test)",
            Self::ValidationError => "the request is not valid (answer arranged by the test)",
            Self::RateLimitExceeded => {
                "too many requests; retry after the indicated delay (answer arranged by the test)"
            }
            Self::InternalError => "unexpected server error (answer arranged by the test)",
            Self::ServiceUnavailable => {
                "service temporarily unavailable (answer arranged by the test)"
            }
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AsRef<str> for ErrorCode {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl FromStr for ErrorCode {
    type Err = String;

    /// The code named `s` (`"conflict"`), or a message listing them all.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown error code `{s}` (known: {})",
                    Self::ALL.map(Self::as_str).join(", ")
                )
            })
    }
}

/// What a stub answers.
#[derive(Debug, Clone)]
enum Reply {
    /// This status and JSON body, as given (`Null`: no body).
    Body { status: StatusCode, body: Value },
    /// The error envelope of this code.
    Error(ErrorCode),
}

/// One stub.
#[derive(Debug)]
struct StubState {
    id: u64,
    op: &'static Operation,
    reply: Reply,
    matchers: Matchers,
    /// Extra response headers, replacing any the mock would add.
    headers: Vec<(HeaderName, HeaderValue)>,
    /// Answers left; `None` for every matching call.
    remaining: Option<u64>,
    served: u64,
    /// Whether answers are checked against the spec.
    checked: bool,
    removed: bool,
    /// The first answer that broke the spec, and whether a verification
    /// reported it yet.
    violation: Option<(String, bool)>,
}

impl StubState {
    fn armed(&self) -> bool {
        !self.removed && self.remaining != Some(0)
    }

    fn describe(&self) -> String {
        let answer = match &self.reply {
            Reply::Body { status, .. } => status.as_u16().to_string(),
            Reply::Error(code) => format!("{} {code}", code.status()),
        };
        format!(
            "stub #{} ({} -> {answer}{})",
            self.id,
            self.op.id,
            self.matchers.describe()
        )
    }
}

/// Every stub of a server.
#[derive(Debug, Default)]
pub(crate) struct Stubs {
    stubs: Vec<StubState>,
}

/// The answer a stub gave a call, rendered by the pipeline.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) id: u64,
    pub(crate) checked: bool,
    reply: Reply,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl Stubs {
    pub(crate) fn armed_for(&self, op: &'static Operation) -> bool {
        self.stubs
            .iter()
            .any(|s| std::ptr::eq(s.op, op) && s.armed())
    }

    /// Newest first: the last stub arranged answers before earlier ones.
    pub(crate) fn take(&mut self, op: &'static Operation, call: &Call<'_>) -> Option<Answer> {
        let stub = self
            .stubs
            .iter_mut()
            .rev()
            .find(|s| std::ptr::eq(s.op, op) && s.armed() && s.matchers.check(call).is_ok())?;
        if let Some(left) = &mut stub.remaining {
            *left -= 1;
        }
        stub.served += 1;
        Some(Answer {
            id: stub.id,
            checked: stub.checked,
            reply: stub.reply.clone(),
            headers: stub.headers.clone(),
        })
    }

    fn get_mut(&mut self, id: u64) -> Option<&mut StubState> {
        self.stubs.iter_mut().find(|s| s.id == id)
    }

    /// Keeps the first spec violation of stub `id`'s answers.
    pub(crate) fn violated(&mut self, id: u64, what: String) {
        if let Some(stub) = self.get_mut(id)
            && stub.violation.is_none()
        {
            stub.violation = Some((what, false));
        }
    }

    /// Reports of answers that broke the spec: all (`verify`) or only
    /// those not reported yet (on drop).
    pub(crate) fn violations(&mut self, all: bool) -> Vec<String> {
        let mut out = Vec::new();
        for stub in &mut self.stubs {
            let described = stub.describe();
            if let Some((what, reported)) = &mut stub.violation {
                if all || !*reported {
                    out.push(format!(
                        "{described} answered with what the API never sends:\n    {}\n    \
                         (fix the stub's status or body, or arrange it with stub_unchecked)",
                        what.replace('\n', "\n    ")
                    ));
                }
                *reported = true;
            }
        }
        out
    }

    /// Disarms every stub; returns how many were armed.
    pub(crate) fn clear(&mut self) -> usize {
        let armed = self.stubs.iter().filter(|s| s.armed()).count();
        for stub in &mut self.stubs {
            stub.removed = true;
        }
        armed
    }

    /// Disarms stub `id`; false when there is no such stub.
    pub(crate) fn remove(&mut self, id: u64) -> bool {
        match self.get_mut(id) {
            Some(stub) => {
                stub.removed = true;
                true
            }
            None => false,
        }
    }

    /// Every stub as the admin API lists it.
    pub(crate) fn listing(&self) -> Vec<StubInfo> {
        self.stubs
            .iter()
            .map(|s| StubInfo {
                id: s.id,
                operation: s.op.id,
                status: match &s.reply {
                    Reply::Body { status, .. } => status.as_u16(),
                    Reply::Error(code) => code.status(),
                },
                error: match &s.reply {
                    Reply::Body { .. } => None,
                    Reply::Error(code) => Some(code.as_str()),
                },
                remaining: s.remaining,
                served: s.served,
                armed: s.armed(),
                unchecked: !s.checked,
                violation: s.violation.as_ref().map(|(v, _)| v.clone()),
            })
            .collect()
    }
}

/// One stub as `GET /__mock/stubs` lists it.
#[derive(Debug, Serialize)]
pub(crate) struct StubInfo {
    pub(crate) id: u64,
    operation: &'static str,
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'static str>,
    /// Answers left; `null` for every call.
    remaining: Option<u64>,
    served: u64,
    armed: bool,
    unchecked: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    violation: Option<String>,
}

/// What a new stub answers, before it is armed.
pub(crate) enum NewReply {
    /// A status and a body.
    Body { status: u16, body: Value },
    /// An error code, by name or as the enum.
    Error(String),
}

/// Arms a stub for `op` (or records why it cannot be) and returns its
/// handle. `times: None` answers every matching call.
pub(crate) fn arm(
    app: &Arc<App>,
    op: Result<&'static Operation, String>,
    reply: NewReply,
    times: Option<u64>,
    checked: bool,
) -> Result<Stub, String> {
    let id = app.mocking.next_id();
    let handle = Stub {
        app: Arc::clone(app),
        id,
    };
    let reply = match reply {
        NewReply::Body { status, body } => {
            let status = StatusCode::from_u16(status)
                .ok()
                .filter(|s| (200..=599).contains(&s.as_u16()))
                .ok_or_else(|| {
                    format!("stub status {status} is not an HTTP status of 200..=599")
                })?;
            Reply::Body { status, body }
        }
        NewReply::Error(code) => Reply::Error(code.parse()?),
    };
    let op = op?;
    lock(&app.mocking.stubs).stubs.push(StubState {
        id,
        op,
        reply,
        matchers: Matchers::default(),
        headers: Vec::new(),
        remaining: times,
        served: 0,
        checked,
        removed: false,
        violation: None,
    });
    app.mocking.mark_stubs();
    Ok(handle)
}

/// The handle of a stub arranged with [`MockServer::stub`],
/// [`MockServer::fail_next`] or [`MockServer::stub_unchecked`]: narrows
/// which calls it answers and how often, and tells how often it did.
///
/// The stub is armed as soon as it is arranged; the builder methods change
/// it in place, so dropping the handle changes nothing.
///
/// [`MockServer::stub`]: crate::MockServer::stub
/// [`MockServer::fail_next`]: crate::MockServer::fail_next
/// [`MockServer::stub_unchecked`]: crate::MockServer::stub_unchecked
#[derive(Clone)]
pub struct Stub {
    app: Arc<App>,
    id: u64,
}

impl fmt::Debug for Stub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stub").field("id", &self.id).finish()
    }
}

impl Stub {
    /// A handle that arranges nothing, for a stub that could not be
    /// arranged (the reason is kept for verification).
    pub(crate) fn inert(app: &Arc<App>) -> Self {
        Self {
            app: Arc::clone(app),
            id: 0,
        }
    }

    /// The stub's id (as in [`RequestRecord::stub`](crate::RequestRecord::stub)
    /// and `GET /__mock/stubs`); 0 for a stub that could not be arranged.
    pub fn id(&self) -> u64 {
        self.id
    }

    fn edit(&self, f: impl FnOnce(&mut StubState) -> Result<(), String>) {
        let result = match lock(&self.app.mocking.stubs).get_mut(self.id) {
            Some(stub) => f(stub).map_err(|e| format!("{}: {e}", stub.describe())),
            // An inert handle: its reason is reported already.
            None => Ok(()),
        };
        if let Err(problem) = result {
            self.app.mocking.problem(problem);
        }
    }

    /// Answers only the next `n` matching calls; the handler (or an older
    /// stub) answers the calls after them.
    pub fn times(self, n: u64) -> Self {
        self.edit(|s| {
            s.remaining = Some(n);
            Ok(())
        });
        self
    }

    /// Answers only calls that send header `name` with exactly `value`.
    pub fn with_header(self, name: &str, value: &str) -> Self {
        self.edit(|s| s.matchers.header(name, value));
        self
    }

    /// Answers only calls whose JSON body holds `value` at `pointer` (a
    /// JSON pointer: `/domain`, `/rules/0/type`).
    pub fn with_body_field(self, pointer: &str, value: impl Into<Value>) -> Self {
        let value = value.into();
        self.edit(|s| s.matchers.body_field(pointer, value));
        self
    }

    /// Sends response header `name: value`, in place of any the mock adds
    /// (such as the `ETag` or `Location` it derives for the answer).
    pub fn insert_header(self, name: &str, value: &str) -> Self {
        self.edit(|s| {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("`{name}` is not a valid header name"))?;
            let value = HeaderValue::from_str(value)
                .map_err(|_| format!("the value of `{name}` is not a valid header value"))?;
            s.headers.retain(|(n, _)| *n != name);
            s.headers.push((name, value));
            Ok(())
        });
        self
    }

    /// Disarms the stub: the handler answers from now on.
    pub fn remove(self) {
        lock(&self.app.mocking.stubs).remove(self.id);
    }

    /// How many calls the stub answered so far.
    pub fn served(&self) -> u64 {
        lock(&self.app.mocking.stubs)
            .get_mut(self.id)
            .map_or(0, |s| s.served)
    }

    /// Answers left: `Some(0)` once used up, `None` while it answers every
    /// matching call.
    pub fn remaining(&self) -> Option<u64> {
        lock(&self.app.mocking.stubs)
            .get_mut(self.id)
            .map_or(Some(0), |s| if s.removed { Some(0) } else { s.remaining })
    }
}

impl Answer {
    /// The response of this answer to a call of `op` at `path` (the path
    /// as sent, without the query).
    pub(crate) fn into_out(self, app: &App, op: &Operation, path: &str, request_id: &str) -> Out {
        let mut out = match self.reply {
            Reply::Error(code) => {
                let status = StatusCode::from_u16(code.status())
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                ApiError::new(status, code.as_str(), code.message())
                    .with_retry_after(code.retry_after())
                    .into_out(request_id)
            }
            Reply::Body { status, body } => body_out(app, op, path, request_id, status, body),
        };
        for (name, value) in self.headers {
            out.headers.retain(|(n, _)| *n != name);
            out.headers.push((name, value));
        }
        out
    }
}

/// A stub's own status and body, with the headers the API would send: the
/// request id (also in an envelope's `meta`), and the `ETag` and `Location`
/// the document declares for that answer.
fn body_out(
    app: &App,
    op: &Operation,
    path: &str,
    request_id: &str,
    status: StatusCode,
    mut body: Value,
) -> Out {
    let code = status.as_u16();
    if body.is_null() {
        let mut out = Out::empty(status, request_id);
        if declares_header(op, code, "ETag") {
            let tag = crate::resources::mailbox_api::etag_of(app.settings.seed, b"");
            out.headers.push((ETAG, header_value(&tag)));
        }
        return out;
    }
    // An envelope (`ok` is a boolean) carries this request's id in `meta`,
    // like every answer of the API; nothing else of the body changes.
    if let Some(envelope) = body.as_object_mut()
        && envelope.get("ok").is_some_and(Value::is_boolean)
    {
        let meta = envelope
            .entry("meta")
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
        if let Some(meta) = meta.as_object_mut() {
            meta.insert("request_id".to_owned(), Value::from(request_id));
        }
    }
    let id = body
        .pointer("/data/id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let bytes = Bytes::from(serde_json::to_vec(&body).unwrap_or_default());
    let mut out = Out {
        status,
        headers: vec![
            (X_REQUEST_ID, header_value(request_id)),
            (CONTENT_TYPE, APPLICATION_JSON),
        ],
        body: Bytes::new(),
        stream: None,
    };
    if declares_header(op, code, "ETag") {
        let tag = crate::resources::mailbox_api::etag_of(app.settings.seed, &bytes);
        out.headers.push((ETAG, header_value(&tag)));
    }
    if let Some(id) = id.filter(|_| declares_header(op, code, "Location")) {
        let base = path.trim_end_matches('/');
        let location = if base.starts_with(BASE_PATH) {
            format!("{base}/{id}")
        } else {
            format!("{BASE_PATH}{base}/{id}")
        };
        out.headers.push((LOCATION, header_value(&location)));
    }
    if matches!(code, 429 | 503) {
        out.headers.push((RETRY_AFTER, HeaderValue::from(1u64)));
    }
    out.body(bytes)
}

/// Whether the document declares response header `name` for `status` of
/// `op` (exactly that status; ranges declare only the common headers).
fn declares_header(op: &Operation, status: u16, name: &str) -> bool {
    let document = validate::spec_for(op).document();
    let template = op.path.replace('~', "~0").replace('/', "~1");
    let method = op.method.as_str().to_ascii_lowercase();
    let Some(mut response) =
        document.pointer(&format!("/paths/{template}/{method}/responses/{status}"))
    else {
        return false;
    };
    if let Some(target) = response
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix('#'))
        .and_then(|p| document.pointer(p))
    {
        response = target;
    }
    response
        .get("headers")
        .and_then(Value::as_object)
        .is_some_and(|h| h.keys().any(|k| k.eq_ignore_ascii_case(name)))
}

#[cfg(test)]
mod tests {
    use sendmux_operations::ops;

    use super::*;

    /// The enum is the document's `ApiErrorCode` plus the Sending API's
    /// own `insufficient_credits`: a new published code fails here.
    #[test]
    fn codes_are_the_published_ones() {
        let document = sendmux_conformance::Spec::embedded().document();
        let published: Vec<&str> = document
            .pointer("/components/schemas/ApiErrorCode/enum")
            .and_then(Value::as_array)
            .map(|codes| codes.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        assert_eq!(published.len(), 13, "{published:?}");
        let mut ours: Vec<&str> = ErrorCode::ALL
            .iter()
            .map(|c| c.as_str())
            .filter(|c| *c != "insufficient_credits")
            .collect();
        let mut published = published;
        ours.sort_unstable();
        published.sort_unstable();
        assert_eq!(ours, published);
        for code in ErrorCode::ALL {
            assert_eq!(code.as_str().parse::<ErrorCode>(), Ok(code));
            assert_eq!(
                serde_json::to_value(code).ok(),
                Some(Value::from(code.as_str()))
            );
        }
        assert!("nope".parse::<ErrorCode>().is_err());
    }

    #[test]
    fn declared_headers_come_from_the_document() {
        assert!(declares_header(
            ops::MANAGEMENT_CREATE_DOMAIN,
            201,
            "Location"
        ));
        assert!(declares_header(ops::MANAGEMENT_GET_DOMAIN, 200, "ETag"));
        assert!(!declares_header(ops::MANAGEMENT_LIST_DOMAINS, 200, "ETag"));
        assert!(!declares_header(
            ops::MANAGEMENT_CREATE_DOMAIN,
            409,
            "Location"
        ));
    }
}
