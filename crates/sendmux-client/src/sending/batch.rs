//! Batch sends of any size: split into requests the API takes, each with
//! an idempotency key derived from the call's, and merged back in input
//! order.

use std::future::{Future, IntoFuture};
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use sendmux_api::sending::types as wire;
use sendmux_operations::ops;
use sha2::{Digest, Sha256};

use super::codes::SendingErrorCode;
use super::email::{Email, MAX_REQUEST_BYTES};
use crate::Client;
use crate::error::{Error, InvalidInput};
use crate::idempotency::{IdempotencyKey, IdempotencyPolicy};
use crate::models::FieldError;
use crate::request::{Body, data};
use crate::response::Response;
use crate::retry::RetryPolicy;

/// Most messages in one request of the batch endpoint.
pub const MAX_BATCH_MESSAGES: usize = 100;
/// `{"messages":[` and `]}` around the messages.
const ENVELOPE_BYTES: usize = 15;

/// The idempotency key of request `index` of a batch whose key is `base`:
/// `{base}.{index}` when that fits in 255 characters, otherwise
/// `sha256-{hex}.{index}` with the SHA-256 of `base` in lowercase hex.
/// The same key and messages always give the same requests and keys.
///
/// ```
/// use sendmux_client::sending::chunk_idempotency_key;
///
/// assert_eq!(chunk_idempotency_key("newsletter-2026-11", 2), "newsletter-2026-11.2");
/// let long = chunk_idempotency_key(&"k".repeat(255), 0);
/// assert!(long.starts_with("sha256-") && long.ends_with(".0") && long.len() < 80);
/// ```
pub fn chunk_idempotency_key(base: &str, index: usize) -> String {
    derived_key(base, &index.to_string())
}

/// `{base}.{suffix}`, or `sha256-{hex of base}.{suffix}` when that would
/// pass 255 characters.
pub(crate) fn derived_key(base: &str, suffix: &str) -> String {
    let plain = format!("{base}.{suffix}");
    if plain.len() <= 255 {
        return plain;
    }
    let digest = Sha256::digest(base.as_bytes());
    let mut key = String::with_capacity(7 + 64 + 1 + suffix.len());
    key.push_str("sha256-");
    for byte in digest {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        key.push(char::from(HEX[usize::from(byte >> 4)]));
        key.push(char::from(HEX[usize::from(byte & 0xF)]));
    }
    key.push('.');
    key.push_str(suffix);
    key
}

/// [`Sending::send_batch`](super::Sending::send_batch): set options, then
/// await the [`BatchOutcome`].
#[derive(Debug, Clone)]
#[must_use = "builders do nothing until awaited"]
pub struct BatchSend {
    client: Client,
    messages: Vec<Email>,
    idempotency_key: Option<String>,
    timeout: Option<Duration>,
    retry: Option<RetryPolicy>,
}

impl BatchSend {
    pub(crate) fn new(client: Client, messages: Vec<Email>) -> Self {
        Self {
            client,
            messages,
            idempotency_key: None,
            timeout: None,
            retry: None,
        }
    }

    /// Your key for the whole call (1..=255 visible ASCII): repeat the
    /// call with the same key and messages after a failure, and the server
    /// replays the requests that completed instead of sending them again.
    /// Without one a key is generated (unless the client's
    /// [`IdempotencyPolicy`] is `CallerOnly`); it is in
    /// [`BatchOutcome::idempotency_key`].
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    /// Per-attempt timeout of each request.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Retry policy of each request.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// Checks every message, then sends the requests one after another.
    ///
    /// Fails only before any I/O: an empty batch, a message that fails its
    /// checks (the field is named `messages[i]....`), a bad key, or no
    /// mailbox key on the client. Everything after that is reported per
    /// message in the [`BatchOutcome`].
    #[allow(clippy::manual_async_fn)] // a plain fn keeps `self` once in the state
    pub fn send(self) -> impl Future<Output = Result<BatchOutcome, Error>> + Send + 'static {
        async move {
            let plan = self.plan()?;
            let mut outcome = BatchOutcome {
                items: Vec::with_capacity(self.messages.len()),
                idempotency_key: plan.key.as_ref().map(|k| k.as_str().to_owned()),
                requests: Vec::with_capacity(plan.chunks.len()),
            };
            let mut stopped: Option<Arc<Error>> = None;
            let total = plan.chunks.len();
            for (index, (range, body)) in plan.chunks.into_iter().enumerate() {
                let key = plan
                    .key
                    .as_ref()
                    .map(|base| crate::chunks::request_key(base.as_str(), index, total));
                let mut report = BatchRequest {
                    messages: range.clone(),
                    idempotency_key: key.clone(),
                    request_id: None,
                    sent: false,
                };
                if let Some(cause) = &stopped {
                    // An earlier request failed: this one is not made, so
                    // that a repeat of the call continues in order.
                    let failed = ChunkFailure {
                        request: index,
                        error: Arc::clone(cause),
                        state: SendState::NotSent,
                    };
                    outcome.fail(range.len(), &failed);
                    outcome.requests.push(report);
                    continue;
                }
                report.sent = true;
                let mut request = self
                    .client
                    .request(
                        ops::SENDING_SEND_EMAIL_BATCH,
                        &[],
                        data::<wire::BatchSendSuccessData>,
                    )
                    .with_body(RawJson(body));
                if let Some(key) = key {
                    request = request.idempotency_key(key);
                }
                if let Some(timeout) = self.timeout {
                    request = request.timeout(timeout);
                }
                if let Some(policy) = &self.retry {
                    request = request.retry_policy(policy.clone());
                }
                match request.send().await {
                    Ok(answer) => {
                        report.request_id = answer.request_id().map(str::to_owned);
                        outcome.merge(index, range.len(), answer);
                    }
                    Err(error) => {
                        report.request_id = error.request_id().map(str::to_owned);
                        let state = SendState::of(&error);
                        let error = Arc::new(error);
                        outcome.fail(
                            range.len(),
                            &ChunkFailure {
                                request: index,
                                error: Arc::clone(&error),
                                state,
                            },
                        );
                        stopped = Some(error);
                    }
                }
                outcome.requests.push(report);
            }
            Ok(outcome)
        }
    }

    /// Every check, the key, and the requests' bodies: nothing is sent.
    fn plan(&self) -> Result<Plan, Error> {
        if self.messages.is_empty() {
            return Err(
                InvalidInput::new("messages", "is empty", "pass at least one email").into(),
            );
        }
        self.client.credential(crate::key::Surface::Sending)?;
        let mut encoded = Vec::with_capacity(self.messages.len());
        for (i, email) in self.messages.iter().enumerate() {
            let json = email.encode_checked(0).map_err(|error| match error {
                Error::InvalidInput(mut problem) => {
                    problem.field = format!("messages[{i}].{}", problem.field);
                    Error::InvalidInput(problem)
                }
                other => other,
            })?;
            if json.len() + ENVELOPE_BYTES > MAX_REQUEST_BYTES {
                return Err(super::email::too_large(&format!("messages[{i}]"), json.len()).into());
            }
            encoded.push(json);
        }
        let key = match &self.idempotency_key {
            Some(key) => Some(IdempotencyKey::new(key.clone())?),
            None if self.client.inner.idempotency == IdempotencyPolicy::Automatic => {
                Some(IdempotencyKey::generate())
            }
            None => None,
        };
        Ok(Plan {
            key,
            chunks: chunks(&encoded),
        })
    }
}

impl IntoFuture for BatchSend {
    type Output = Result<BatchOutcome, Error>;
    type IntoFuture = BoxFuture<'static, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

/// What a batch call will send.
struct Plan {
    key: Option<IdempotencyKey>,
    /// Each request's messages (input positions) and body.
    chunks: Vec<(Range<usize>, Bytes)>,
}

/// The requests' bodies: in input order, a request closes at 100 messages
/// or when the next message would take its body over the 25 MiB limit.
fn chunks(encoded: &[Vec<u8>]) -> Vec<(Range<usize>, Bytes)> {
    let limits = crate::chunks::Limits {
        max_items: MAX_BATCH_MESSAGES,
        max_bytes: MAX_REQUEST_BYTES,
        overhead: ENVELOPE_BYTES,
    };
    crate::chunks::ranges(encoded.len(), limits, |i| encoded[i].len())
        .into_iter()
        .map(|range| {
            let items = &encoded[range.clone()];
            let size = ENVELOPE_BYTES + items.iter().map(|json| json.len() + 1).sum::<usize>();
            let mut body = Vec::with_capacity(size);
            body.extend_from_slice(b"{\"messages\":[");
            for (i, json) in items.iter().enumerate() {
                if i > 0 {
                    body.push(b',');
                }
                body.extend_from_slice(json);
            }
            body.extend_from_slice(b"]}");
            (range, Bytes::from(body))
        })
        .collect()
}

/// A JSON body encoded beforehand.
#[derive(Debug, Clone)]
pub(crate) struct RawJson(Bytes);

impl Body for RawJson {
    fn encode(&self) -> Result<Option<Bytes>, Error> {
        Ok(Some(self.0.clone()))
    }
}

/// The result of a batch call: one [`ItemOutcome`] per message, in input
/// order, and the requests that carried them.
///
/// ```no_run
/// # async fn f(sending: sendmux_client::sending::Sending, emails: Vec<sendmux_client::sending::Email>) -> Result<(), sendmux_client::Error> {
/// use sendmux_client::sending::ItemOutcome;
///
/// let outcome = sending.send_batch(emails.clone()).idempotency_key("digest-2026-11-02").await?;
/// for (i, item) in outcome.items.iter().enumerate() {
///     match item {
///         ItemOutcome::Queued { message_id } => println!("{i}: queued {message_id}"),
///         ItemOutcome::Refused { code, message, .. } => println!("{i}: refused ({code}): {message}"),
///         ItemOutcome::Failed(failure) => println!("{i}: not done: {}", failure.error),
///         _ => {}
///     }
/// }
/// if outcome.has_failures() {
///     // Safe: requests that completed are replayed, not sent again.
///     let again = sending.send_batch(emails).idempotency_key("digest-2026-11-02").await?;
/// #   let _ = again;
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BatchOutcome {
    /// One outcome per message, in the order they were given.
    pub items: Vec<ItemOutcome>,
    /// The key of the whole call (yours, or the generated one); `None`
    /// when the client sends keys only when given one. Repeat the call
    /// with it to finish a batch that failed part way.
    pub idempotency_key: Option<String>,
    /// The requests, in order.
    pub requests: Vec<BatchRequest>,
}

impl BatchOutcome {
    /// How many messages were queued.
    pub fn queued(&self) -> usize {
        self.items.iter().filter(|item| item.is_queued()).count()
    }

    /// Whether every message was queued.
    pub fn is_complete(&self) -> bool {
        self.items.iter().all(ItemOutcome::is_queued)
    }

    /// Whether a request failed as a whole; repeating the call with the
    /// same key and messages finishes it.
    pub fn has_failures(&self) -> bool {
        self.items
            .iter()
            .any(|item| matches!(item, ItemOutcome::Failed(_)))
    }

    /// The error that stopped the batch, if one did.
    pub fn error(&self) -> Option<&Error> {
        self.items.iter().find_map(|item| match item {
            ItemOutcome::Failed(failure) => Some(&*failure.error),
            _ => None,
        })
    }

    fn fail(&mut self, count: usize, failure: &ChunkFailure) {
        self.items
            .extend((0..count).map(|_| ItemOutcome::Failed(failure.clone())));
    }

    /// Appends request `request`'s `count` items from its answer.
    fn merge(
        &mut self,
        request: usize,
        count: usize,
        answer: Response<wire::BatchSendSuccessData>,
    ) {
        let request_id = answer.request_id().map(str::to_owned);
        let attempts = answer.attempts();
        let start = self.items.len();
        let mut slots: Vec<Option<ItemOutcome>> = vec![None; count];
        for result in answer.into_inner().results {
            let Some(slot) = usize::try_from(result.index)
                .ok()
                .and_then(|i| slots.get_mut(i))
            else {
                continue;
            };
            if slot.is_none() {
                *slot = Some(ItemOutcome::from_result(result));
            }
        }
        for (i, slot) in slots.into_iter().enumerate() {
            let item = slot.unwrap_or_else(|| {
                // Answered, but not about this message: whether it was
                // queued is unknown.
                let error = Error::Undecodable {
                    status: Some(200),
                    request_id: request_id.clone(),
                    reason: format!("the answer has no result for message {}", start + i),
                    snippet: String::new(),
                    attempts,
                    source: None,
                };
                ItemOutcome::Failed(ChunkFailure {
                    request,
                    error: Arc::new(error),
                    state: SendState::MaybeSent,
                })
            });
            self.items.push(item);
        }
    }
}

/// One request of a batch call.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BatchRequest {
    /// The input positions of its messages.
    pub messages: Range<usize>,
    /// The idempotency key it carried (see [`chunk_idempotency_key`]).
    pub idempotency_key: Option<String>,
    /// `X-Request-Id` of its answer, when it got one.
    pub request_id: Option<String>,
    /// Whether it was made (`false` after an earlier request failed).
    pub sent: bool,
}

/// What happened to one message of a batch.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ItemOutcome {
    /// Queued for delivery.
    Queued {
        /// Its id (`eml_...`).
        message_id: String,
    },
    /// The server refused this message; the others of its request went
    /// on. Sending it again as it is fails again: fix it first.
    Refused {
        /// Why.
        code: SendingErrorCode,
        /// Explanation for people.
        message: String,
        /// The server's verdict on whether the same message may succeed
        /// later.
        retryable: bool,
        /// Per-field problems, for validation failures.
        field_errors: Vec<FieldError>,
    },
    /// The request carrying it failed as a whole, or was not made after an
    /// earlier one failed.
    Failed(ChunkFailure),
}

impl ItemOutcome {
    /// Whether the message was queued.
    pub fn is_queued(&self) -> bool {
        matches!(self, ItemOutcome::Queued { .. })
    }

    /// The queued message's id.
    pub fn message_id(&self) -> Option<&str> {
        match self {
            ItemOutcome::Queued { message_id } => Some(message_id),
            _ => None,
        }
    }

    fn from_result(result: wire::BatchResultItem) -> Self {
        let status = result.status;
        match (result.message_id, result.error) {
            (Some(message_id), None) if status != wire::BatchResultItemStatus::Failed => {
                ItemOutcome::Queued { message_id }
            }
            (_, Some(error)) => ItemOutcome::Refused {
                code: SendingErrorCode::from(error.code.as_str()),
                message: error.message,
                retryable: error.retryable,
                field_errors: error
                    .errors
                    .into_iter()
                    .map(|issue| FieldError {
                        field: issue.field,
                        code: issue.code,
                        message: issue.message,
                    })
                    .collect(),
            },
            (_, None) => ItemOutcome::Refused {
                code: SendingErrorCode::Unknown(status.as_str().to_owned()),
                message: format!("the message's status is {status}, without details"),
                retryable: false,
                field_errors: Vec::new(),
            },
        }
    }
}

/// Why a message's request did not complete, shared by all its messages.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ChunkFailure {
    /// The request's position in [`BatchOutcome::requests`].
    pub request: usize,
    /// What failed; for a request that was not made, the failure that
    /// stopped the batch.
    pub error: Arc<Error>,
    /// Whether the message may have been queued.
    pub state: SendState,
}

/// Whether a failed request may have queued its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendState {
    /// Certainly not queued: the request was never made, never reached the
    /// server, or was refused as a whole (for example `402
    /// insufficient_credits` or `429`).
    NotSent,
    /// Perhaps queued: the answer was lost, or the server failed while
    /// handling it. Repeat the call with the same idempotency key to learn
    /// the outcome without sending twice.
    MaybeSent,
}

impl SendState {
    fn of(error: &Error) -> Self {
        if error.is_not_sent() {
            return SendState::NotSent;
        }
        match error {
            // Our key, still running: the first request may well queue.
            Error::Api(api) if api.code.as_str() == "idempotency_conflict" => SendState::MaybeSent,
            Error::Api(api) if (400..500).contains(&api.status) => SendState::NotSent,
            _ => SendState::MaybeSent,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn chunk_keys_are_short_and_stable() {
        assert_eq!(chunk_idempotency_key("k", 0), "k.0");
        let base = "x".repeat(253);
        assert_eq!(chunk_idempotency_key(&base, 9).len(), 255);
        let long = chunk_idempotency_key(&base, 10);
        assert!(
            long.starts_with("sha256-") && long.ends_with(".10"),
            "{long}"
        );
        assert_eq!(long, chunk_idempotency_key(&base, 10));
        assert_ne!(long, chunk_idempotency_key(&"y".repeat(253), 10));
        assert!(IdempotencyKey::new(long).is_ok());
    }

    #[test]
    fn chunks_close_at_100_messages_or_25_mib() {
        let small = vec![b"{}".to_vec(); 250];
        let sizes: Vec<usize> = chunks(&small).iter().map(|(r, _)| r.len()).collect();
        assert_eq!(sizes, [100, 100, 50]);
        let (range, body) = &chunks(&small[..2])[0];
        assert_eq!(
            (range.clone(), &body[..]),
            (0..2, &b"{\"messages\":[{},{}]}"[..])
        );
        assert_eq!(body.len(), ENVELOPE_BYTES + 5);

        let big = vec![vec![b'1'; MAX_REQUEST_BYTES / 3]; 7];
        let split: Vec<Range<usize>> = chunks(&big).into_iter().map(|(r, _)| r).collect();
        assert_eq!(split, [0..2, 2..4, 4..6, 6..7]);
        for (_, body) in chunks(&big) {
            assert!(body.len() <= MAX_REQUEST_BYTES);
        }
    }
}
