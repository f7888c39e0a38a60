//! Verifying webhook deliveries in your own HTTP handler.
//!
//! Sendmux posts each event to your endpoint with three headers:
//!
//! - `X-Sendmux-Signature: sha256=<hex>`: the HMAC-SHA256 of the raw request
//!   body, keyed with the subscription's signing secret (the whole `whsec_...`
//!   string you received when the subscription was created or its secret
//!   rotated), as lowercase hex;
//! - `X-Sendmux-Event-Id`: the event's id (`evt_...`), for dropping duplicates;
//! - `X-Sendmux-Event-Type`: the event type, such as `message.bounced`.
//!
//! A [`Verifier`] checks the signature, decodes the body into the generated
//! [`WebhookEventPayload`], and checks that the two other headers, which the
//! signature does not cover, agree with the signed body. The rules it keeps:
//!
//! - **The raw bytes are verified**, exactly as received and before any
//!   parsing; re-serialised JSON would not match.
//! - **Constant time**: the expected and received signatures are compared
//!   without an early exit, so timing tells an attacker nothing about how
//!   close a guess was.
//! - **A list of secrets** for rotation: a delivery verifies when it matches
//!   any of them. Rotating a secret invalidates the old one at once, so
//!   deploy the verifier with both, rotate, then drop the old one.
//! - **Replays are caught after verification**: with a [`ReplayGuard`], an
//!   event id seen before is [`VerifyError::Replay`]. An id is recorded only
//!   once the signature verified and the body decoded, so unsigned requests
//!   cannot use up ids. If your handler then fails and you want Sendmux's
//!   retry to go through, call [`Verifier::forget`].
//! - **Nothing secret in errors**: no error, `Debug` or `Display` shows a
//!   secret or the body.
//! - **Tolerant decoding**: an event type newer than this crate decodes as
//!   `WebhookEventType::Unknown(..)` and unknown fields are ignored.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use http::HeaderMap;
//! use sendmux_client::webhook::{self, ReplayGuard, Verifier, VerifyError, WebhookEventType};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let secret = "whsec_example";
//! let verifier = Verifier::new(secret)?
//!     .with_replay_guard(ReplayGuard::new(10_000, Duration::from_secs(24 * 60 * 60)));
//!
//! // What Sendmux would send.
//! let body = br#"{"id":"evt_1","type":"message.bounced","team_public_id":"team_1",
//!   "occurred_at":"2026-01-01T00:00:00Z","data":{"message_id":"m1","message_id_kind":"provider",
//!   "sendmux_message_id":null,"sender":"news@acme.com","recipients":["gone@example.com"],
//!   "mailbox_id":null,"bounce_type":"Permanent","bounce_subtype":null,"complaint_type":null,
//!   "complaint_subtype":null,"reject_reason":null,"delay_type":null,"delay_expires_at":null,
//!   "is_spam":null,"webhook_id":null}}"#;
//! let mut headers = HeaderMap::new();
//! headers.insert(webhook::SIGNATURE_HEADER, webhook::sign(secret, body).parse()?);
//! headers.insert(webhook::EVENT_ID_HEADER, "evt_1".parse()?);
//! headers.insert(webhook::EVENT_TYPE_HEADER, "message.bounced".parse()?);
//!
//! let event = verifier.verify(&headers, body)?;
//! assert_eq!(event.event_id(), "evt_1");
//! assert_eq!(event.event_type(), &WebhookEventType::MessageBounced);
//! assert_eq!(event.payload().data.recipients, ["gone@example.com"]);
//!
//! // The same delivery again is a replay; a changed body does not verify.
//! assert!(matches!(verifier.verify(&headers, body), Err(VerifyError::Replay { .. })));
//! assert_eq!(verifier.verify(&headers, b"{}"), Err(VerifyError::SignatureMismatch));
//! # Ok(())
//! # }
//! ```
//!
//! # In an axum handler
//!
//! With the `axum` feature, `VerifiedWebhook` is an extractor that reads the
//! body (up to [`Verifier::max_body_bytes`]), verifies it with the
//! [`Verifier`] in the router's state and answers `401` (signature), `400`
//! (headers or body), `413` (too large) or `200` (duplicate delivery) itself.
#![cfg_attr(
    feature = "axum",
    doc = r#"
```no_run
use std::time::Duration;
use axum::{Router, http::StatusCode, routing::post};
use sendmux_client::webhook::{ReplayGuard, VerifiedWebhook, Verifier, WebhookEventType};

async fn on_event(VerifiedWebhook(event): VerifiedWebhook) -> StatusCode {
    if let WebhookEventType::MessageBounced = event.event_type() {
        // Stop mailing event.payload().data.recipients.
    }
    StatusCode::NO_CONTENT
}

# async fn run() -> Result<(), Box<dyn std::error::Error>> {
let verifier = Verifier::new(std::env::var("SENDMUX_WEBHOOK_SECRET")?)?
    .with_replay_guard(ReplayGuard::new(100_000, Duration::from_secs(3 * 24 * 60 * 60)));
let app = Router::new()
    .route("/webhooks/sendmux", post(on_event))
    .with_state(verifier);
let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await?;
axum::serve(listener, app).await?;
# Ok(())
# }
```
"#
)]

#[cfg(feature = "axum")]
mod axum;
mod replay;

use std::fmt;
use std::sync::Arc;

use hmac::digest::{Key, KeyInit};
use hmac::{Hmac, Mac};
use http::{HeaderMap, HeaderName};
use sha2::{Digest, Sha256};

#[cfg(feature = "axum")]
pub use self::axum::{VerifiedWebhook, WebhookRejection};
pub use replay::ReplayGuard;
pub use sendmux_api::types::{
    WebhookEventData, WebhookEventDataBounceType, WebhookEventPayload, WebhookEventType,
};

/// `X-Sendmux-Signature`: `sha256=` and the hex HMAC-SHA256 of the body.
pub const SIGNATURE_HEADER: HeaderName = HeaderName::from_static("x-sendmux-signature");
/// `X-Sendmux-Event-Id`: the event's id, the same as the body's `id`.
pub const EVENT_ID_HEADER: HeaderName = HeaderName::from_static("x-sendmux-event-id");
/// `X-Sendmux-Event-Type`: the event's type, the same as the body's `type`.
pub const EVENT_TYPE_HEADER: HeaderName = HeaderName::from_static("x-sendmux-event-type");
/// What the signature header's value starts with.
pub const SIGNATURE_PREFIX: &str = "sha256=";
/// The default body cap of the `axum` extractor: 1 MiB, far above any event.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// Length of an HMAC-SHA256 in bytes.
const MAC_LEN: usize = 32;

/// The `X-Sendmux-Signature` value for `body` under `secret`:
/// `sha256=` and 64 lowercase hex digits.
///
/// Useful for testing your own handler with deliveries signed like real ones.
///
/// ```
/// let value = sendmux_client::webhook::sign("whsec_example", b"{}");
/// assert!(value.starts_with("sha256="));
/// assert_eq!(value.len(), "sha256=".len() + 64);
/// ```
pub fn sign(secret: impl AsRef<str>, body: &[u8]) -> String {
    let mut mac = keyed(secret.as_ref().as_bytes());
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let mut out = String::with_capacity(SIGNATURE_PREFIX.len() + 2 * MAC_LEN);
    out.push_str(SIGNATURE_PREFIX);
    for byte in digest {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// An HMAC-SHA256 keyed with `secret`.
///
/// RFC 2104 hashes a key longer than the hash's block and zero-pads a shorter
/// one to the block size; doing that here lets us use the infallible
/// block-sized constructor instead of one that returns a `Result` it never
/// fails.
fn keyed(secret: &[u8]) -> Hmac<Sha256> {
    let mut block = Key::<Hmac<Sha256>>::default();
    if secret.len() > block.len() {
        let digest = Sha256::digest(secret);
        block[..digest.len()].copy_from_slice(&digest);
    } else {
        block[..secret.len()].copy_from_slice(secret);
    }
    <Hmac<Sha256> as KeyInit>::new(&block)
}

/// A signing secret, kept only as the keyed HMAC state; its `Debug` is
/// redacted.
#[derive(Clone)]
struct SigningKey(Hmac<Sha256>);

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Checks webhook deliveries against one or more signing secrets.
///
/// Cheap to clone (clones share the secrets and the replay guard), so it can
/// sit in an axum router's state. See the [module docs](self) for an example.
#[derive(Clone)]
pub struct Verifier {
    keys: Arc<[SigningKey]>,
    replay: Option<Arc<ReplayGuard>>,
    max_body_bytes: usize,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field(
                "secrets",
                &format_args!("[<redacted>; {}]", self.keys.len()),
            )
            .field("replay_guard", &self.replay)
            .field("max_body_bytes", &self.max_body_bytes)
            .finish()
    }
}

impl Verifier {
    /// A verifier for one signing secret (the whole `whsec_...` string).
    ///
    /// Fails when the secret is empty or has leading or trailing whitespace
    /// (typically a newline from a file or an environment variable), which
    /// would otherwise fail every delivery. A [`Secret`](crate::Secret), as
    /// creating a webhook or rotating its secret returns it, goes in as
    /// `secret.expose_secret()`.
    pub fn new(secret: impl AsRef<str>) -> Result<Self, SecretError> {
        Self::from_secrets([secret])
    }

    /// A verifier accepting deliveries signed with any of `secrets`, for
    /// rolling out a rotation without dropping deliveries.
    ///
    /// ```
    /// use sendmux_client::webhook::{Verifier, sign};
    ///
    /// # fn main() -> Result<(), sendmux_client::webhook::SecretError> {
    /// let verifier = Verifier::from_secrets(["whsec_old", "whsec_new"])?;
    /// let signature = sign("whsec_old", b"{}");
    /// assert!(verifier.verify_signature(Some(&signature), b"{}").is_ok());
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_secrets<I>(secrets: I) -> Result<Self, SecretError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let mut keys = Vec::new();
        for (index, secret) in secrets.into_iter().enumerate() {
            let secret = secret.as_ref();
            if secret.is_empty() {
                return Err(SecretError::Empty { index });
            }
            if secret.trim() != secret {
                return Err(SecretError::Whitespace { index });
            }
            keys.push(SigningKey(keyed(secret.as_bytes())));
        }
        if keys.is_empty() {
            return Err(SecretError::NoSecrets);
        }
        Ok(Self {
            keys: keys.into(),
            replay: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        })
    }

    /// Reports an event id seen before as [`VerifyError::Replay`].
    ///
    /// Takes a guard or an `Arc` of one, so several verifiers can share it.
    pub fn with_replay_guard(mut self, guard: impl Into<Arc<ReplayGuard>>) -> Self {
        self.replay = Some(guard.into());
        self
    }

    /// Sets the body cap of the `axum` extractor (default
    /// [`DEFAULT_MAX_BODY_BYTES`]); [`Verifier::verify`] itself takes the
    /// bytes it is given.
    pub fn with_max_body_bytes(mut self, max: usize) -> Self {
        self.max_body_bytes = max;
        self
    }

    /// The body cap of the `axum` extractor.
    pub fn max_body_bytes(&self) -> usize {
        self.max_body_bytes
    }

    /// How many signing secrets this verifier accepts.
    pub fn secret_count(&self) -> usize {
        self.keys.len()
    }

    /// The replay guard, when one is set.
    pub fn replay_guard(&self) -> Option<&ReplayGuard> {
        self.replay.as_deref()
    }

    /// Forgets a recorded event id so that a redelivery of it verifies again;
    /// call it when your handler failed to process the event and you answer
    /// with an error so that Sendmux retries. Returns whether the id was
    /// recorded. Without a replay guard it does nothing.
    pub fn forget(&self, event_id: &str) -> bool {
        self.replay
            .as_ref()
            .is_some_and(|guard| guard.forget(event_id))
    }

    /// Verifies a delivery and decodes its event.
    ///
    /// In order: the `X-Sendmux-Signature` header against the raw `body`;
    /// the `X-Sendmux-Event-Id` header is present; the body decodes as a
    /// [`WebhookEventPayload`]; the event id header, and the event type header
    /// when present, equal the body's `id` and `type`; then, with a replay
    /// guard, the id has not been seen within its window (and is recorded).
    pub fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<VerifiedEvent, VerifyError> {
        let signature = headers
            .get(&SIGNATURE_HEADER)
            .ok_or(VerifyError::MissingSignature)?;
        self.check(signature.as_bytes(), body)?;

        let header_id = headers
            .get(&EVENT_ID_HEADER)
            .ok_or(VerifyError::MissingEventId)?;
        let payload: WebhookEventPayload =
            serde_json::from_slice(body).map_err(|e| VerifyError::InvalidPayload(e.into()))?;
        if header_id.as_bytes() != payload.id.as_bytes() {
            return Err(VerifyError::HeaderMismatch {
                header: "X-Sendmux-Event-Id",
            });
        }
        if let Some(header_type) = headers.get(&EVENT_TYPE_HEADER)
            && header_type.as_bytes() != payload.type_.as_str().as_bytes()
        {
            return Err(VerifyError::HeaderMismatch {
                header: "X-Sendmux-Event-Type",
            });
        }

        // Last, so only a verified, well-formed delivery records its id.
        if let Some(guard) = &self.replay
            && !guard.first_seen(&payload.id)
        {
            return Err(VerifyError::Replay {
                event_id: payload.id,
            });
        }
        Ok(VerifiedEvent { payload })
    }

    /// Checks only the signature: `signature_header` is the
    /// `X-Sendmux-Signature` value (`None` when the header is absent).
    ///
    /// For handlers that decode the body themselves; it neither decodes nor
    /// consults the replay guard.
    pub fn verify_signature(
        &self,
        signature_header: Option<&str>,
        body: &[u8],
    ) -> Result<(), VerifyError> {
        let value = signature_header.ok_or(VerifyError::MissingSignature)?;
        self.check(value.as_bytes(), body)
    }

    fn check(&self, header: &[u8], body: &[u8]) -> Result<(), VerifyError> {
        let expected = parse_signature(header).map_err(VerifyError::MalformedSignature)?;
        // Every secret is tried; `verify_slice` compares in constant time.
        let matched = self.keys.iter().any(|key| {
            let mut mac = key.0.clone();
            mac.update(body);
            mac.verify_slice(&expected).is_ok()
        });
        if matched {
            Ok(())
        } else {
            Err(VerifyError::SignatureMismatch)
        }
    }
}

/// Parses `sha256=<64 hex digits>`, with surrounding spaces allowed and the
/// prefix and digits in either case.
fn parse_signature(header: &[u8]) -> Result<[u8; MAC_LEN], Malformation> {
    let value = header.trim_ascii();
    let prefix = SIGNATURE_PREFIX.as_bytes();
    let digits = match value.split_at_checked(prefix.len()) {
        Some((head, rest)) if head.eq_ignore_ascii_case(prefix) => rest,
        _ => return Err(Malformation::MissingPrefix),
    };
    if !digits.iter().all(u8::is_ascii_hexdigit) {
        return Err(Malformation::NotHex);
    }
    if digits.len() != 2 * MAC_LEN {
        return Err(Malformation::WrongLength {
            digits: digits.len(),
        });
    }
    let mut out = [0u8; MAC_LEN];
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        *byte = (hex_value(pair[0]) << 4) | hex_value(pair[1]);
    }
    Ok(out)
}

/// The value of an ASCII hex digit (already checked by the caller).
fn hex_value(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        b'A'..=b'F' => digit - b'A' + 10,
        _ => 0,
    }
}

/// A delivery that verified: its signature matched, its headers agree with
/// its body, and (with a replay guard) its id is new.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedEvent {
    payload: WebhookEventPayload,
}

impl VerifiedEvent {
    /// The event id (`evt_...`): the `X-Sendmux-Event-Id` header, checked
    /// equal to the body's `id`. Use it to drop duplicates.
    pub fn event_id(&self) -> &str {
        &self.payload.id
    }

    /// The event type: the body's `type`, checked equal to the
    /// `X-Sendmux-Event-Type` header when that is present. A type newer than
    /// this crate is `WebhookEventType::Unknown` with the value kept.
    pub fn event_type(&self) -> &WebhookEventType {
        &self.payload.type_
    }

    /// The decoded body.
    pub fn payload(&self) -> &WebhookEventPayload {
        &self.payload
    }

    /// The decoded body, by value.
    pub fn into_payload(self) -> WebhookEventPayload {
        self.payload
    }
}

/// Why a delivery did not verify. No variant carries a secret or the body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// There is no `X-Sendmux-Signature` header.
    #[error("webhook delivery has no X-Sendmux-Signature header")]
    MissingSignature,
    /// The signature header is not `sha256=` and 64 hex digits.
    #[error("webhook signature header is malformed: {0}")]
    MalformedSignature(Malformation),
    /// The signature matches none of the signing secrets: the body was
    /// changed, the secret is wrong, or the sender is not Sendmux.
    #[error("webhook signature matches none of the signing secrets")]
    SignatureMismatch,
    /// The signature verified but there is no `X-Sendmux-Event-Id` header.
    #[error("webhook delivery has no X-Sendmux-Event-Id header")]
    MissingEventId,
    /// A header the signature does not cover disagrees with the signed body.
    #[error("webhook {header} header does not match the signed body")]
    HeaderMismatch {
        /// The header's name.
        header: &'static str,
    },
    /// The signed body is not a webhook event.
    #[error("webhook body is not a valid event: {0}")]
    InvalidPayload(PayloadError),
    /// This event id was already verified within the replay guard's window.
    #[error("webhook event {event_id} was already received")]
    Replay {
        /// The repeated event id (from the signed body).
        event_id: String,
    },
}

/// What is wrong with a signature header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Malformation {
    /// The value does not start with `sha256=`.
    #[error("it does not start with sha256=")]
    MissingPrefix,
    /// A character after the prefix is not a hex digit.
    #[error("it is not hex after sha256=")]
    NotHex,
    /// The hex is not 64 digits long.
    #[error("it has {digits} hex digits instead of 64")]
    WrongLength {
        /// How many hex digits there were.
        digits: usize,
    },
}

/// Where and how a signed body failed to decode.
///
/// It keeps the decoder's category and position, and the name of a missing
/// field, but never the decoder's message, which can quote the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadError {
    category: serde_json::error::Category,
    line: usize,
    column: usize,
    missing_field: Option<String>,
}

impl PayloadError {
    /// Syntax, data (a field missing or of the wrong type), or end of input.
    pub fn category(&self) -> serde_json::error::Category {
        self.category
    }

    /// Line of the failure, from 1.
    pub fn line(&self) -> usize {
        self.line
    }

    /// Column of the failure, from 1.
    pub fn column(&self) -> usize {
        self.column
    }

    /// The name of a required field the body lacks, when that was the failure.
    pub fn missing_field(&self) -> Option<&str> {
        self.missing_field.as_deref()
    }
}

impl From<serde_json::Error> for PayloadError {
    fn from(error: serde_json::Error) -> Self {
        // A field name in "missing field `x`" comes from our model, not the body.
        let message = error.to_string();
        let missing_field = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split_once('`'))
            .map(|(name, _)| name.to_owned());
        Self {
            category: error.classify(),
            line: error.line(),
            column: error.column(),
            missing_field,
        }
    }
}

impl fmt::Display for PayloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use serde_json::error::Category;
        match (&self.missing_field, self.category) {
            (Some(field), _) => write!(f, "field `{field}` is missing")?,
            (None, Category::Syntax) => f.write_str("it is not JSON")?,
            (None, Category::Eof) => f.write_str("it ends early")?,
            (None, Category::Data) => f.write_str("a field has the wrong type or value")?,
            (None, Category::Io) => f.write_str("it could not be read")?,
        }
        write!(f, " (line {}, column {})", self.line, self.column)
    }
}

/// A signing secret that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// The list of secrets is empty.
    #[error("no webhook signing secret was given")]
    NoSecrets,
    /// The secret at `index` (from 0) is empty.
    #[error("webhook signing secret {index} (from 0) is empty")]
    Empty {
        /// Position in the list, from 0.
        index: usize,
    },
    /// The secret at `index` (from 0) starts or ends with whitespace.
    #[error(
        "webhook signing secret {index} (from 0) starts or ends with whitespace; \
         was a newline read with it?"
    )]
    Whitespace {
        /// Position in the list, from 0.
        index: usize,
    },
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// The block-sized key gives the same MAC as the crate's own keying, on
    /// both sides of the 64-byte block.
    #[test]
    fn keyed_matches_hmac_keying_for_every_key_length() {
        for len in [0, 1, 31, 32, 63, 64, 65, 131, 300] {
            let key: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let mut ours = keyed(&key);
            let mut theirs = <Hmac<Sha256> as Mac>::new_from_slice(&key).unwrap();
            ours.update(b"body");
            theirs.update(b"body");
            assert_eq!(
                ours.finalize().into_bytes(),
                theirs.finalize().into_bytes(),
                "key length {len}"
            );
        }
    }

    /// RFC 4231 test case 2 (key "Jefe").
    #[test]
    fn sign_matches_rfc_4231() {
        assert_eq!(
            sign("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn parse_accepts_upper_case_and_spaces() {
        let lower = sign("k", b"x");
        let upper = format!(" SHA256={} ", lower["sha256=".len()..].to_uppercase());
        assert_eq!(
            parse_signature(lower.as_bytes()).unwrap(),
            parse_signature(upper.as_bytes()).unwrap()
        );
    }
}
