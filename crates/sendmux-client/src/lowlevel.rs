//! Our error type for calls made through the low-level escape hatch.
//!
//! [`Client::api`](crate::Client::api) returns the generated client, whose
//! calls fail with `sendmux_api::Error<types::ApiError>`. Converting that
//! with `?` or [`Error::from`] gives the same classification this crate's own
//! calls use, so one error-handling path serves both.

use std::time::SystemTime;

use sendmux_api::types as wire;

use crate::error::{Error, InvalidInput};
use crate::transport::{api_error, header_request_id, retry_after, snippet};

impl From<sendmux_api::Error<wire::ApiError>> for Error {
    /// Maps the generated client's error variants:
    ///
    /// - `CommunicationError`: [`Error::NotSent`] when the connection could
    ///   not be opened, else [`Error::MaybeSent`] (timeouts included). The
    ///   low-level client does not know whether the call was idempotent, so
    ///   `idempotent` is `false`.
    /// - `ErrorResponse`: [`Error::Api`], with request id and retry-after
    ///   from the headers.
    /// - `ResponseBodyError`: [`Error::MaybeSent`] (the server answered but
    ///   the body was lost, so the outcome is unknown).
    /// - `InvalidResponsePayload`: [`Error::Undecodable`] with the snippet;
    ///   the low-level client does not keep the status or headers.
    /// - `UnexpectedResponse` (a status the description does not declare for
    ///   the operation, e.g. `304` where no `If-None-Match` was expected):
    ///   [`Error::Undecodable`] with the status and request id; the body is
    ///   not read.
    /// - `InvalidRequest`: [`Error::InvalidInput`]; `Custom` and
    ///   `InvalidUpgrade`: [`Error::Setup`] and [`Error::Undecodable`].
    ///
    /// Attempt counts are 1: the low-level client does not retry.
    fn from(err: sendmux_api::Error<wire::ApiError>) -> Self {
        use sendmux_api::Error as Low;
        match err {
            Low::InvalidRequest(message) => Error::InvalidInput(InvalidInput::new(
                "request",
                message,
                "check the values given to the low-level builder",
            )),
            Low::CommunicationError(e) if e.is_connect() => Error::NotSent {
                message: e.to_string(),
                attempts: 1,
                source: Box::new(e),
            },
            Low::CommunicationError(e) if e.is_builder() => Error::Setup {
                message: "could not build the request".into(),
                source: Box::new(e),
            },
            Low::CommunicationError(e) | Low::ResponseBodyError(e) => Error::MaybeSent {
                message: e.to_string(),
                timeout: e.is_timeout(),
                idempotent: false,
                idempotency_key: None,
                attempts: 1,
                source: Box::new(e),
            },
            Low::ErrorResponse(response) => {
                let status = response.status().as_u16();
                let request_id = header_request_id(response.headers());
                let wait = retry_after(status, response.headers(), SystemTime::now());
                Error::Api(Box::new(api_error(
                    status,
                    request_id,
                    response.into_inner(),
                    wait,
                    1,
                )))
            }
            Low::InvalidResponsePayload(body, e) => Error::Undecodable {
                status: None,
                request_id: None,
                reason: format!("body does not match the expected shape: {e}"),
                snippet: snippet(&body),
                attempts: 1,
                source: Some(Box::new(e)),
            },
            Low::UnexpectedResponse(response) => {
                let status = response.status().as_u16();
                Error::Undecodable {
                    status: Some(status),
                    request_id: header_request_id(response.headers()),
                    reason: format!("status {status} is not declared for this operation"),
                    snippet: String::new(),
                    attempts: 1,
                    source: None,
                }
            }
            Low::InvalidUpgrade(e) => Error::Undecodable {
                status: e.status().map(|s| s.as_u16()),
                request_id: None,
                reason: "connection upgrade failed".into(),
                snippet: String::new(),
                attempts: 1,
                source: Some(Box::new(e)),
            },
            Low::Custom(message) => Error::Setup {
                source: message.clone().into(),
                message,
            },
        }
    }
}
