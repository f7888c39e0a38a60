//! The outbox: every message the Sending API accepted, once, with what
//! its acceptance set off: a delivery log on the Management API and a
//! webhook event per outcome.

use serde::Serialize;

use super::message::{Message, bounces};
use crate::app::{App, IdemKey};
use crate::resources::Resources;
use crate::resources::logs::{DeliveryStatus, NewEmailLog, record_email_log};
use crate::resources::mailbox_api::{InboundMessage, deliver_local};
use crate::resources::webhooks::delivery::emit_with;
use crate::resources::webhooks::{EventData, EventType};

/// One accepted message, as stored.
pub(crate) struct OutboxEntry {
    id: String,
    team: String,
    message: Message,
    /// The operation that accepted it (single or batch send).
    operation: &'static str,
    idempotency_key: Option<String>,
    /// Requests seen for it: the one that stored it and every replay.
    attempts: u32,
}

/// One message the Sending API accepted, as [`MockServer::outbox`] lists
/// it.
///
/// [`MockServer::outbox`]: crate::MockServer::outbox
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct OutboxMessage {
    /// `eml_...`, the `message_id` the send answered with.
    pub id: String,
    /// The team of the key that sent it (a mailbox key's team is its
    /// mailbox's).
    pub team: String,
    /// `from.email`.
    pub from: String,
    /// `to.email`.
    pub to: String,
    /// `cc` addresses, in order.
    pub cc: Vec<String>,
    /// `bcc` addresses, in order.
    pub bcc: Vec<String>,
    /// The subject.
    pub subject: String,
    /// File names of the attachments, inline or uploaded, in order.
    pub attachments: Vec<String>,
    /// The `Idempotency-Key` of the request that sent it, if any.
    pub idempotency_key: Option<String>,
    /// Requests seen for this message: 1 for the request that stored it,
    /// plus one per idempotent replay (a retry with the same key and
    /// body). A replay never stores the message again.
    pub attempts: u32,
}

/// Every accepted message, oldest first, with the counter its ids come
/// from.
#[derive(Default)]
pub(crate) struct Outbox {
    entries: Vec<OutboxEntry>,
    /// Messages accepted so far; feeds `eml_` ids.
    accepted: u64,
}

/// Mixed into the seed for message ids.
const MESSAGE_SALT: u64 = 0x656d_6c5f_6964_7300;

impl Outbox {
    /// The outbox as public summaries, oldest first.
    pub(crate) fn summaries(&self) -> Vec<OutboxMessage> {
        self.entries
            .iter()
            .map(|e| OutboxMessage {
                id: e.id.clone(),
                team: e.team.clone(),
                from: e.message.from.clone(),
                to: e.message.to.clone(),
                cc: e.message.cc.clone(),
                bcc: e.message.bcc.clone(),
                subject: e.message.subject.clone(),
                attachments: e.message.attachments.clone(),
                idempotency_key: e.idempotency_key.clone(),
                attempts: e.attempts,
            })
            .collect()
    }

    /// Counts a replay of the request `key` names against the messages it
    /// stored.
    pub(crate) fn replayed(&mut self, key: &IdemKey) {
        for e in self.entries.iter_mut().filter(|e| {
            e.team == key.team
                && e.operation == key.operation
                && e.idempotency_key.as_deref() == Some(key.key.as_str())
        }) {
            e.attempts = e.attempts.saturating_add(1);
        }
    }
}

/// Where an accepted message came from.
pub(crate) struct Origin<'a> {
    pub(crate) team: &'a str,
    pub(crate) operation: &'static str,
    pub(crate) idempotency_key: Option<&'a str>,
}

/// Stores a message that passed every check and was paid for, and sets
/// off what sending it does: a delivery log (`sent`, or `failed` when
/// every recipient bounces) and one webhook event per outcome,
/// `message.delivered` for recipients outside [`BOUNCE_DOMAIN`] and
/// `message.bounced` (`Permanent`, `General`) for those in it. Returns the
/// message id.
///
/// [`BOUNCE_DOMAIN`]: super::message::BOUNCE_DOMAIN
pub(crate) fn accept(
    app: &App,
    store: &mut Resources,
    origin: &Origin<'_>,
    message: Message,
    now: u64,
) -> String {
    let seed = app.settings.seed;
    let outbox = &mut store.sending.outbox;
    outbox.accepted += 1;
    let id = crate::ids::short_id("eml_", seed ^ MESSAGE_SALT, outbox.accepted);
    let (bounced, delivered): (Vec<String>, Vec<String>) = message
        .recipients()
        .map(str::to_owned)
        .partition(|r| bounces(r));
    let all_bounced = delivered.is_empty();
    record_email_log(
        store,
        seed,
        origin.team,
        now,
        NewEmailLog {
            from_email: message.from.clone(),
            to: vec![message.to.clone()],
            cc: message.cc.clone(),
            bcc: message.bcc.clone(),
            subject: Some(message.subject.clone()),
            message_id: Some(id.clone()),
            size_bytes: Some(message.size_bytes),
            provider: None,
            status: if all_bounced {
                DeliveryStatus::Failed
            } else {
                DeliveryStatus::Sent
            },
            status_reason: all_bounced
                .then(|| "permanent bounce: the recipient's domain accepts no mail".to_owned()),
        },
    );
    for (event_type, recipients) in [
        (EventType::Delivered, delivered),
        (EventType::Bounced, bounced),
    ] {
        if recipients.is_empty() {
            continue;
        }
        emit_with(app, store, origin.team, event_type, None, |_| EventData {
            message_id: Some(format!("{id}-provider")),
            message_id_kind: Some("provider"),
            sendmux_message_id: Some(id.clone()),
            sender: Some(message.from.clone()),
            recipients,
            bounce_type: (event_type == EventType::Bounced).then_some("Permanent"),
            bounce_subtype: (event_type == EventType::Bounced).then_some("General"),
            ..EventData::default()
        });
    }
    // Recipients that are mock mailboxes receive it (attachments travel
    // by name only: the mock keeps no uploaded bytes).
    let inbound = InboundMessage {
        from: message.from.clone(),
        to: vec![message.to.clone()],
        cc: message.cc.clone(),
        subject: message.subject.clone(),
        text: message.text.clone(),
        html: Some(message.html.clone()),
        headers: vec![("X-Sendmux-Message-Id".to_owned(), id.clone())],
        ..InboundMessage::default()
    };
    deliver_local(app, store, origin.team, &inbound, &message.bcc);
    store.sending.outbox.entries.push(OutboxEntry {
        id: id.clone(),
        team: origin.team.to_owned(),
        message,
        operation: origin.operation,
        idempotency_key: origin.idempotency_key.map(str::to_owned),
        attempts: 1,
    });
    id
}
