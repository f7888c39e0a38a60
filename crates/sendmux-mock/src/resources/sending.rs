//! Handlers of the Sending API (its own listener): single and batch sends,
//! with the outbox every accepted message lands in once, the credits they
//! cost and the logs and webhook events they set off; attachments
//! (`attachments.rs`); and the API's own document (`GET /openapi.json`,
//! no key, weak ETag).
//!
//! Rules the mock applies beyond the schema:
//! - the sender: an `smx_mbx_` key the mock issued sends only as its own
//!   mailbox's address (`403 insufficient_permissions` otherwise); any
//!   other key it accepts (leniently) may use any sender;
//! - addresses, the 50-recipient cap, `X-` custom header names, inline
//!   base64 and attachment ids are checked in `message.rs` (`422
//!   validation_error`, every problem in `errors[]`);
//! - each accepted message costs one credit from the team's balance
//!   (`billing::MESSAGE_PRICE`), else `402 insufficient_credits`;
//! - delivery is decided at once: recipients at `bounce.invalid` bounce,
//!   all others are delivered; a recipient that is a mock mailbox receives
//!   it in its Inbox.

pub(crate) mod attachments;
mod batch;
mod message;
mod outbox;

use std::sync::OnceLock;

use bytes::Bytes;
use http::StatusCode;
use http::header::{CACHE_CONTROL, ETAG, IF_NONE_MATCH};
use sendmux_operations::{Operation, ops};
use serde::Serialize;

pub(crate) use attachments::Attachments;
use attachments::Uploads;
use outbox::Origin;
pub(crate) use outbox::Outbox;
pub use outbox::OutboxMessage;

use super::{Ctx, Handler, Resources, billing};
use crate::api::{ApiError, Out, header_value};
use crate::app::{App, IdemKey, lock};
use crate::collection::not_modified;
use message::{Message, SendRequest};

/// The operations this module implements.
pub(crate) const HANDLERS: &[(&Operation, Handler)] = &[
    (ops::SENDING_SEND_EMAIL, send),
    (ops::SENDING_SEND_EMAIL_BATCH, batch::send_batch),
    (ops::SENDING_UPLOAD_ATTACHMENT, attachments::upload),
    (
        ops::SENDING_CREATE_ATTACHMENT_UPLOAD,
        attachments::create_upload,
    ),
    (
        ops::SENDING_COMPLETE_ATTACHMENT_UPLOAD,
        attachments::complete_upload,
    ),
    (ops::SENDING_GET_ATTACHMENT, attachments::get),
    (ops::SENDING_GET_OPEN_API_SPEC, openapi),
];

/// Largest body of a send or a batch: 25 MiB, as published.
pub(crate) const MAX_SEND_BYTES: usize = 25 * 1024 * 1024;

/// The Sending API's state.
#[derive(Default)]
pub(crate) struct Sending {
    pub(crate) outbox: Outbox,
    pub(crate) attachments: Attachments,
}

/// How a Sending operation that takes no API key is authorised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeylessAuth {
    /// Anyone may call it (`GET /openapi.json`).
    Public,
    /// The upload URL's `PUT`: the token its upload returned, in
    /// `X-Sendmux-Upload-Token` (see [`attachments::authorise_upload`]).
    UploadToken,
}

/// `Some` for the operations the published document marks as taking no
/// API key (`security: []`), with what authorises them instead.
pub(crate) fn keyless(op: &Operation) -> Option<KeylessAuth> {
    if op.requires_key {
        None
    } else if std::ptr::eq(op, ops::SENDING_GET_OPEN_API_SPEC) {
        Some(KeylessAuth::Public)
    } else if std::ptr::eq(op, ops::SENDING_COMPLETE_ATTACHMENT_UPLOAD) {
        Some(KeylessAuth::UploadToken)
    } else {
        None
    }
}

/// An idempotent replay of `key` was answered: the messages its first
/// request stored count one more attempt.
pub(crate) fn replayed(app: &App, key: &IdemKey) {
    let sends = [ops::SENDING_SEND_EMAIL.id, ops::SENDING_SEND_EMAIL_BATCH.id];
    if sends.contains(&key.operation) {
        lock(&app.resources).sending.outbox.replayed(key);
    }
}

/// `SendSuccessData`.
#[derive(Serialize)]
struct Queued<'a> {
    message_id: &'a str,
    status: &'static str,
}

/// The sender rule: a mailbox key the mock issued sends as its own
/// mailbox only; other keys may use any sender.
fn sender_allowed(
    store: &Resources,
    team: &str,
    mailbox: Option<&str>,
    message: &Message,
) -> Result<(), ApiError> {
    let Some(id) = mailbox else {
        return Ok(());
    };
    let own = store.mailboxes.get(team, id)?;
    if own.email.eq_ignore_ascii_case(&message.from) {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        "insufficient_permissions",
        format!(
            "this key belongs to the mailbox {}; it can send only from that address",
            own.email
        ),
    )
    .with_param("from.email"))
}

/// The `Idempotency-Key` the request carried, when the operation takes one.
fn idempotency_key<'c>(ctx: &'c Ctx<'_>) -> Option<&'c str> {
    ctx.op
        .idempotency_key
        .then(|| ctx.header(http::HeaderName::from_static("idempotency-key")))
        .flatten()
}

fn send(mut ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let request: SendRequest = ctx.typed_body()?;
    let (seed, now) = (ctx.seed(), ctx.app.clock.unix_millis());
    let mut store = ctx.store();
    let uploads = Uploads::new(&store, ctx.team, now);
    let message = message::check(request, "", |id| uploads.find(id)).map_err(message::invalid)?;
    sender_allowed(&store, ctx.team, ctx.mailbox, &message)?;
    billing::charge(&mut store, seed, ctx.team, now, 1)?;
    let origin = Origin {
        team: ctx.team,
        operation: ctx.op.id,
        idempotency_key: idempotency_key(&ctx),
    };
    let id = outbox::accept(ctx.app, &mut store, &origin, message, now);
    Ok(ctx.ok(Queued {
        message_id: &id,
        status: "queued",
    }))
}

/// The Sending API's document (`openapi-sending.yaml`) as JSON, and its
/// weak ETag, made once.
fn document() -> &'static (Bytes, String) {
    static DOCUMENT: OnceLock<(Bytes, String)> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let json = crate::api::to_json(sendmux_conformance::Spec::embedded_sending().document());
        let etag = format!("W/\"{:016x}\"", crate::ids::hash_bytes(0, &json));
        (json, etag)
    })
}

/// `GET /openapi.json`: the document, cacheable for an hour (as
/// published), or `304` when `If-None-Match` names its ETag.
fn openapi(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let (json, etag) = document();
    if not_modified(ctx.header(IF_NONE_MATCH), etag) {
        return Ok(
            Out::empty(StatusCode::NOT_MODIFIED, ctx.request_id).header(ETAG, header_value(etag))
        );
    }
    Ok(Out::json(StatusCode::OK, ctx.request_id, json.clone())
        .header(ETAG, header_value(etag))
        .header(
            CACHE_CONTROL,
            http::HeaderValue::from_static("public, max-age=3600"),
        ))
}

#[cfg(test)]
mod keyless_tests {
    use super::*;

    /// The table (from the document's `security`) and this module agree on
    /// which operations take no key, so a newly opened operation cannot be
    /// served without saying what authorises it.
    #[test]
    fn every_operation_open_without_a_key_says_what_authorises_it() {
        for op in sendmux_operations::OPERATIONS.iter() {
            assert_eq!(keyless(op).is_some(), !op.requires_key, "{}", op.id);
        }
    }
}
