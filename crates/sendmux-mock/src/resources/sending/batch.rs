//! `POST /emails/send/batch`: up to 100 messages, each checked on its own
//! (partial success). The request as a whole is refused only when its
//! shape is wrong (no `messages`, more than 100: `422 validation_error`),
//! when no message passes (`422 validation_error` listing every problem as
//! `messages.N.field`), or when the balance cannot pay for every message
//! that passed (`402 insufficient_credits`, nothing sent). Otherwise the
//! answer is `200` with one result per message, in order: `queued` with
//! its `message_id`, or `failed` with `message_id: null` and the error.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::message::{self, Message, SendRequest};
use super::outbox::{self, Origin};
use super::{Uploads, idempotency_key, sender_allowed};
use crate::api::{ApiError, Out};
use crate::resources::{Ctx, Resources, billing};
use crate::validate::{message_problems, schema_error};

/// `BatchSendRequest`; each message is checked on its own.
#[derive(Deserialize)]
struct BatchRequest {
    messages: Vec<Value>,
}

/// `BatchResultItem`.
#[derive(Serialize)]
struct ItemResult {
    index: usize,
    message_id: Option<String>,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<Value>,
}

/// `BatchSummary`.
#[derive(Serialize)]
struct Summary {
    total: usize,
    queued: usize,
    failed: usize,
}

/// `BatchSendSuccessData`.
#[derive(Serialize)]
struct BatchResult {
    results: Vec<ItemResult>,
    summary: Summary,
}

/// One message of the batch, checked as a single send would be: the
/// document's `EmailSendRequest`, then the mock's own rules, then the
/// sender rule.
fn check_one(ctx: &Ctx<'_>, store: &Resources, item: Value) -> Result<Message, ApiError> {
    let op = sendmux_operations::ops::SENDING_SEND_EMAIL;
    let problems = message_problems(&item);
    if !problems.is_empty() {
        return Err(schema_error(op, problems));
    }
    let request: SendRequest = serde_json::from_value(item).map_err(|e| {
        ApiError::validation_error(format!("the message does not match the schema: {e}"))
    })?;
    let uploads = Uploads::new(store, ctx.team, ctx.app.clock.unix_millis());
    let message = message::check(request, "", |id| uploads.find(id)).map_err(message::invalid)?;
    sender_allowed(store, ctx.team, ctx.mailbox, &message)?;
    Ok(message)
}

pub(crate) fn send_batch(mut ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let BatchRequest { messages } = ctx.typed_body()?;
    let (seed, now) = (ctx.seed(), ctx.app.clock.unix_millis());
    let mut store = ctx.store();
    let total = messages.len();
    let mut results = Vec::with_capacity(total);
    let mut passed = Vec::new();
    let mut problems = Vec::new();
    for (index, item) in messages.into_iter().enumerate() {
        match check_one(&ctx, &store, item) {
            Ok(message) => {
                passed.push((index, message));
                results.push(None);
            }
            Err(e) => {
                problems.extend(e.issues(&format!("messages.{index}.")));
                results.push(Some(e.detail()));
            }
        }
    }
    if passed.is_empty() {
        let summary = format!("none of the {total} messages can be sent; errors[] lists why");
        return Err(ApiError::validation_error(summary)
            .with_param("messages")
            .with_errors(problems));
    }
    let queued = passed.len();
    billing::charge(
        &mut store,
        seed,
        ctx.team,
        now,
        u64::try_from(queued).unwrap_or(u64::MAX),
    )?;
    let origin = Origin {
        team: ctx.team,
        operation: ctx.op.id,
        idempotency_key: idempotency_key(&ctx),
    };
    let mut ids: Vec<Option<String>> = vec![None; total];
    for (index, message) in passed {
        let id = outbox::accept(ctx.app, &mut store, &origin, message, now);
        if let Some(slot) = ids.get_mut(index) {
            *slot = Some(id);
        }
    }
    let results = results
        .into_iter()
        .zip(ids)
        .enumerate()
        .map(|(index, (error, message_id))| ItemResult {
            index,
            status: if message_id.is_some() {
                "queued"
            } else {
                "failed"
            },
            message_id,
            error,
        })
        .collect();
    Ok(ctx.ok(BatchResult {
        results,
        summary: Summary {
            total,
            queued,
            failed: total - queued,
        },
    }))
}
