//! The one error type of this crate.

use std::fmt;
use std::time::Duration;

use crate::models::{ErrorCode, FieldError, VerificationStatus};
use crate::sending::SendingErrorCode;

/// A boxed error kept as the [`source`](std::error::Error::source) of ours.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong in a call.
///
/// The variants tell apart what a caller must treat differently:
///
/// | variant | reached the server? |
/// | --- | --- |
/// | [`Error::InvalidInput`], [`Error::Setup`] | no: rejected before any I/O |
/// | [`Error::NotSent`] | no: the connection was never made |
/// | [`Error::MaybeSent`] | perhaps: timeout or connection lost after writing |
/// | [`Error::Api`], [`Error::Undecodable`] | yes: the server answered |
///
/// `Debug` and `Display` never include the API key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An argument failed client-side validation; nothing was sent.
    #[error("request not sent: {0}")]
    InvalidInput(InvalidInput),

    /// The HTTP client could not be set up (for example, no TLS backend).
    #[error("client setup failed: {message}")]
    Setup {
        /// What failed.
        message: String,
        /// The underlying error.
        #[source]
        source: BoxError,
    },

    /// The request provably never left this machine (the connection could not
    /// be opened). Safe to retry whatever the operation.
    #[error("request not sent after {attempts} attempt(s): {message}")]
    NotSent {
        /// What failed.
        message: String,
        /// Attempts made, all unsent.
        attempts: u32,
        /// The transport error.
        #[source]
        source: BoxError,
    },

    /// The request may have reached the server: the attempt timed out, or
    /// the connection failed after the request was written. Retrying is safe
    /// only for idempotent calls (safe methods or calls with an idempotency
    /// key); the client already did so where its policy allowed.
    #[error("request may have been sent (outcome unknown) after {attempts} attempt(s): {message}")]
    MaybeSent {
        /// What failed.
        message: String,
        /// Whether the attempt ran out of time (versus a lost connection).
        timeout: bool,
        /// Whether the call was idempotent, which makes a retry safe.
        idempotent: bool,
        /// The idempotency key every attempt carried, if the call had one:
        /// repeat the call with this key to finish it without a duplicate.
        idempotency_key: Option<String>,
        /// Attempts made.
        attempts: u32,
        /// The transport error.
        #[source]
        source: BoxError,
    },

    /// The server answered with an error in the standard error envelope.
    #[error("{0}")]
    Api(Box<ApiError>),

    /// The server answered, but the body could not be decoded (or exceeded
    /// the size limit).
    #[error(
        "undecodable{} response{}: {reason}; body starts: {snippet:?}",
        status.map(|s| format!(" HTTP {s}")).unwrap_or_default(),
        request_id.as_deref().map(|id| format!(" (request {id})")).unwrap_or_default()
    )]
    Undecodable {
        /// HTTP status code (always known, except for errors converted from
        /// the low-level client's `InvalidResponsePayload`).
        status: Option<u16>,
        /// `X-Request-Id` of the response, when present.
        request_id: Option<String>,
        /// Why decoding failed.
        reason: String,
        /// The first bytes of the body (at most 512), lossily decoded.
        snippet: String,
        /// Attempts made.
        attempts: u32,
        /// The decoding error, when there is one.
        #[source]
        source: Option<BoxError>,
    },

    /// The server answered with a redirect. The client never follows one: a
    /// redirect to another host would carry the request's body and
    /// idempotency key there, and a `302` would turn a write into a read.
    #[error(
        "the server redirected the request (HTTP {status}){}{}; redirects are not followed",
        location.as_deref().map(|l| format!(" to {l:?}")).unwrap_or_default(),
        request_id.as_deref().map(|id| format!(" (request {id})")).unwrap_or_default()
    )]
    Redirected {
        /// The 3xx status.
        status: u16,
        /// The `Location` header, if any.
        location: Option<String>,
        /// `X-Request-Id` of the response, when present.
        request_id: Option<String>,
    },

    /// A list handed back a cursor this stream had already followed;
    /// following it would repeat pages forever, so the stream ended. The
    /// pages before it were delivered.
    #[error(
        "the list repeats itself: cursor {cursor:?} came back after {pages} page(s){}",
        request_id.as_deref().map(|id| format!(" (request {id})")).unwrap_or_default()
    )]
    PaginationLoop {
        /// The cursor that came back.
        cursor: String,
        /// Pages fetched, the last included.
        pages: u32,
        /// `X-Request-Id` of the page that repeated the cursor.
        request_id: Option<String>,
    },

    /// [`wait_until_verified`](crate::domains::Domains::wait_until_verified)
    /// gave up before the domain verified.
    #[error(
        "domain {domain_id} not verified after {waited:?}{}",
        last_status.as_ref().map(|s| format!(" (last status: {s})")).unwrap_or_default()
    )]
    WaitTimeout {
        /// The domain waited for.
        domain_id: String,
        /// How long the wait lasted.
        waited: Duration,
        /// The last verification status seen, if any check completed.
        last_status: Option<VerificationStatus>,
        /// The last verification outcome seen (which DNS checks passed).
        last: Option<Box<sendmux_api::types::MailboxDomainVerifyResult>>,
    },

    /// The response broke the OpenAPI contract and the client runs in strict
    /// conformance mode.
    #[cfg(feature = "conformance")]
    #[error("response of {operation} violates the API description (HTTP {status}): {report}")]
    Conformance {
        /// Operation id.
        operation: &'static str,
        /// HTTP status code.
        status: u16,
        /// `X-Request-Id` of the response, when present.
        request_id: Option<String>,
        /// The violations, one per line.
        report: String,
    },
}

impl Error {
    /// HTTP status of the response behind this error, if there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api(api) => Some(api.status),
            Error::Undecodable { status, .. } => *status,
            Error::Redirected { status, .. } => Some(*status),
            #[cfg(feature = "conformance")]
            Error::Conformance { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The idempotency key the call carried when its outcome is unknown
    /// ([`Error::MaybeSent`]): repeating the same call with
    /// `.idempotency_key(key)` completes it at most once.
    pub fn idempotency_key(&self) -> Option<&str> {
        match self {
            Error::MaybeSent {
                idempotency_key, ..
            } => idempotency_key.as_deref(),
            _ => None,
        }
    }

    /// `X-Request-Id` of the response behind this error; quote it to support.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Api(api) => api.request_id.as_deref(),
            Error::Undecodable { request_id, .. }
            | Error::PaginationLoop { request_id, .. }
            | Error::Redirected { request_id, .. } => request_id.as_deref(),
            #[cfg(feature = "conformance")]
            Error::Conformance { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }

    /// Whether repeating the same call later may succeed.
    ///
    /// For API errors this is the server's own `retryable` verdict; for
    /// transport errors it is true when the request was not sent, or when it
    /// may have been sent but the call is idempotent.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::InvalidInput(_)
            | Error::Setup { .. }
            | Error::PaginationLoop { .. }
            | Error::Redirected { .. } => false,
            Error::NotSent { .. } | Error::WaitTimeout { .. } => true,
            Error::MaybeSent { idempotent, .. } => *idempotent,
            Error::Api(api) => api.retryable,
            Error::Undecodable { status, .. } => {
                matches!(status, Some(408 | 429 | 502..=504))
            }
            #[cfg(feature = "conformance")]
            Error::Conformance { .. } => false,
        }
    }

    /// How many HTTP attempts the call made (0 when rejected before sending).
    pub fn attempts(&self) -> u32 {
        match self {
            Error::NotSent { attempts, .. }
            | Error::MaybeSent { attempts, .. }
            | Error::Undecodable { attempts, .. } => *attempts,
            Error::Api(api) => api.attempts,
            _ => 0,
        }
    }

    /// The wait the server asked for (`Retry-After`, or `X-RateLimit-Reset`
    /// on a 429), when it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Api(api) => api.retry_after,
            _ => None,
        }
    }

    /// The API error code, for [`Error::Api`].
    pub fn code(&self) -> Option<&ErrorCode> {
        match self {
            Error::Api(api) => Some(&api.code),
            _ => None,
        }
    }

    /// The error code as the Sending API's, for [`Error::Api`]: its own
    /// codes (such as `insufficient_credits`) are `Unknown` in
    /// [`ErrorCode`], which only knows the codes every API shares.
    ///
    /// ```
    /// use sendmux_client::{Error, sending::SendingErrorCode};
    ///
    /// let body = br#"{"ok":false,"error":{"code":"insufficient_credits","message":"top up","retryable":false},"meta":{"request_id":"req_1"}}"#;
    /// let error = Error::from_response(402, &http::HeaderMap::new(), body);
    /// assert_eq!(error.sending_code(), Some(SendingErrorCode::InsufficientCredits));
    /// assert!(error.is_insufficient_credits());
    /// ```
    pub fn sending_code(&self) -> Option<SendingErrorCode> {
        self.code()
            .map(|code| SendingErrorCode::from(code.as_str()))
    }

    /// Whether the team's balance cannot pay for the send
    /// (`402 insufficient_credits`): top up, then repeat the call.
    pub fn is_insufficient_credits(&self) -> bool {
        self.sending_code() == Some(SendingErrorCode::InsufficientCredits)
    }

    /// The API error details, for [`Error::Api`].
    pub fn as_api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(api) => Some(api),
            _ => None,
        }
    }

    /// The validation failure, for [`Error::InvalidInput`].
    pub fn as_invalid_input(&self) -> Option<&InvalidInput> {
        match self {
            Error::InvalidInput(input) => Some(input),
            _ => None,
        }
    }

    /// True when the request certainly did not reach the server, so no
    /// side effect can have happened.
    pub fn is_not_sent(&self) -> bool {
        matches!(
            self,
            Error::InvalidInput(_) | Error::Setup { .. } | Error::NotSent { .. }
        )
    }

    /// True for [`Error::MaybeSent`] caused by a timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::MaybeSent { timeout: true, .. })
    }

    pub(crate) fn set_attempts(&mut self, n: u32) {
        match self {
            Error::NotSent { attempts, .. }
            | Error::MaybeSent { attempts, .. }
            | Error::Undecodable { attempts, .. } => *attempts = n,
            Error::Api(api) => api.attempts = n,
            _ => {}
        }
    }
}

impl Error {
    /// Interprets an error response received outside this client (through
    /// [`Client::api`](crate::Client::api), a proxy, or a recorded
    /// exchange): [`Error::Api`] when the body is the standard error
    /// envelope, [`Error::Undecodable`] otherwise. Never panics, whatever
    /// the bytes.
    ///
    /// ```
    /// let body = br#"{"ok":false,"error":{"code":"not_found","message":"no such domain","retryable":false},"meta":{"request_id":"req_1"}}"#;
    /// let error = sendmux_client::Error::from_response(404, &http::HeaderMap::new(), body);
    /// assert_eq!(error.status(), Some(404));
    /// assert_eq!(error.request_id(), Some("req_1"));
    /// ```
    pub fn from_response(status: u16, headers: &http::HeaderMap, body: &[u8]) -> Error {
        let request_id = crate::transport::header_request_id(headers);
        let retry_after =
            crate::transport::retry_after(status, headers, std::time::SystemTime::now());
        match serde_json::from_slice::<sendmux_api::types::ApiError>(body) {
            Ok(envelope) => Error::Api(Box::new(crate::transport::api_error(
                status,
                request_id,
                envelope,
                retry_after,
                1,
            ))),
            Err(e) => Error::Undecodable {
                status: Some(status),
                request_id,
                reason: format!("error body is not the standard envelope: {e}"),
                snippet: crate::transport::snippet(body),
                attempts: 1,
                source: Some(Box::new(e)),
            },
        }
    }
}

impl From<InvalidInput> for Error {
    fn from(value: InvalidInput) -> Self {
        Error::InvalidInput(value)
    }
}

/// A value rejected by client-side validation, naming the field and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InvalidInput {
    /// The argument or field at fault, e.g. `domain` or `rules[3].pattern`.
    pub field: String,
    /// What is wrong with it.
    pub problem: String,
    /// How to fix it.
    pub fix: String,
}

impl InvalidInput {
    pub(crate) fn new(
        field: impl Into<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            field: field.into(),
            problem: problem.into(),
            fix: fix.into(),
        }
    }
}

impl fmt::Display for InvalidInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid `{}`: {}; {}",
            self.field, self.problem, self.fix
        )
    }
}

impl std::error::Error for InvalidInput {}

/// An error response from the API, decoded from its standard envelope.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ApiError {
    /// HTTP status code.
    pub status: u16,
    /// Machine-readable category.
    pub code: ErrorCode,
    /// Explanation for people.
    pub message: String,
    /// The server's verdict on whether the same request may succeed later.
    pub retryable: bool,
    /// The request parameter at fault, when there is one.
    pub param: Option<String>,
    /// Link to documentation about the error, when given.
    pub doc_url: Option<String>,
    /// Per-field problems, for validation failures.
    pub field_errors: Vec<FieldError>,
    /// `X-Request-Id` (or `meta.request_id`) of the response.
    pub request_id: Option<String>,
    /// The wait the server asked for, from `Retry-After` or, on 429,
    /// `X-RateLimit-Reset`.
    pub retry_after: Option<Duration>,
    /// Attempts the call made before giving up.
    pub attempts: u32,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {} {}: {}", self.status, self.code, self.message)?;
        if let Some(param) = &self.param {
            write!(f, " (param `{param}`)")?;
        }
        for e in &self.field_errors {
            write!(f, "; {}: {} ({})", e.field, e.message, e.code)?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " [request {id}]")?;
        }
        if let Some(wait) = self.retry_after {
            write!(f, " [retry after {}s]", wait.as_secs_f64())?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}
