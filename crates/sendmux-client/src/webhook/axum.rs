//! The axum extractor (feature `axum`).

use axum::extract::{FromRef, FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};

use super::{VerifiedEvent, Verifier, VerifyError};

/// An axum extractor for a verified webhook delivery.
///
/// It takes the [`Verifier`] from the router's state (through [`FromRef`], so
/// the state can be the verifier itself or a struct holding one), reads the
/// body up to [`Verifier::max_body_bytes`], and runs [`Verifier::verify`].
/// It must be the handler's last argument, as it consumes the body. A
/// delivery that does not verify never reaches the handler; see
/// [`WebhookRejection`] for the answers. To answer differently, take
/// `Result<VerifiedWebhook, WebhookRejection>` instead.
///
/// ```no_run
/// use axum::{Router, extract::FromRef, http::StatusCode, routing::post};
/// use sendmux_client::webhook::{VerifiedWebhook, Verifier};
///
/// #[derive(Clone)]
/// struct AppState {
///     verifier: Verifier,
/// }
///
/// impl FromRef<AppState> for Verifier {
///     fn from_ref(state: &AppState) -> Verifier {
///         state.verifier.clone()
///     }
/// }
///
/// async fn on_event(VerifiedWebhook(event): VerifiedWebhook) -> StatusCode {
///     println!("{} {}", event.event_id(), event.event_type());
///     StatusCode::NO_CONTENT
/// }
///
/// # fn app(verifier: Verifier) -> Router {
/// Router::new()
///     .route("/webhooks/sendmux", post(on_event))
///     .with_state(AppState { verifier })
/// # }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedWebhook(pub VerifiedEvent);

impl<S> FromRequest<S> for VerifiedWebhook
where
    Verifier: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = WebhookRejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let verifier = Verifier::from_ref(state);
        let (parts, body) = req.into_parts();
        let limit = verifier.max_body_bytes();
        let body = match Limited::new(body, limit).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(error) if error.is::<LengthLimitError>() => {
                return Err(WebhookRejection::TooLarge { limit });
            }
            Err(_) => return Err(WebhookRejection::BodyRead),
        };
        verifier
            .verify(&parts.headers, &body)
            .map(Self)
            .map_err(WebhookRejection::Verify)
    }
}

/// Why [`VerifiedWebhook`] turned a request away, and the answer it gives:
/// a status and a short plain-text message.
///
/// | Failure | Status |
/// |---|---|
/// | missing, malformed or mismatched signature | `401` |
/// | missing or mismatched event headers, body not an event | `400` |
/// | body over the cap | `413` |
/// | body could not be read | `400` |
/// | event id already received ([`VerifyError::Replay`]) | `200` |
///
/// A replay is answered `200` because a repeated id is most often Sendmux
/// redelivering an event whose first answer it did not get; an error would
/// make it retry again.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookRejection {
    /// The delivery did not verify.
    #[error(transparent)]
    Verify(VerifyError),
    /// The body is larger than the verifier's cap.
    #[error("webhook body is larger than {limit} bytes")]
    TooLarge {
        /// The cap, in bytes.
        limit: usize,
    },
    /// The body could not be read from the connection.
    #[error("webhook body could not be read")]
    BodyRead,
}

impl WebhookRejection {
    /// The status of the answer.
    pub fn status(&self) -> StatusCode {
        match self {
            WebhookRejection::Verify(error) => match error {
                VerifyError::MissingSignature
                | VerifyError::MalformedSignature(_)
                | VerifyError::SignatureMismatch => StatusCode::UNAUTHORIZED,
                VerifyError::MissingEventId
                | VerifyError::HeaderMismatch { .. }
                | VerifyError::InvalidPayload(_) => StatusCode::BAD_REQUEST,
                VerifyError::Replay { .. } => StatusCode::OK,
            },
            WebhookRejection::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            WebhookRejection::BodyRead => StatusCode::BAD_REQUEST,
        }
    }

    /// The text of the answer.
    pub fn message(&self) -> &'static str {
        match self {
            WebhookRejection::Verify(error) => match error {
                VerifyError::MissingSignature => "missing signature",
                VerifyError::MalformedSignature(_) => "malformed signature",
                VerifyError::SignatureMismatch => "signature mismatch",
                VerifyError::MissingEventId => "missing event id",
                VerifyError::HeaderMismatch { .. } => "event headers do not match the body",
                VerifyError::InvalidPayload(_) => "invalid event payload",
                VerifyError::Replay { .. } => "duplicate delivery",
            },
            WebhookRejection::TooLarge { .. } => "body too large",
            WebhookRejection::BodyRead => "cannot read body",
        }
    }

    /// The verification failure, when that was the reason.
    pub fn verify_error(&self) -> Option<&VerifyError> {
        match self {
            WebhookRejection::Verify(error) => Some(error),
            _ => None,
        }
    }
}

impl IntoResponse for WebhookRejection {
    fn into_response(self) -> Response {
        (self.status(), self.message()).into_response()
    }
}
