//! The outbox: every message the Sending API accepted, once, with what
//! its acceptance set off: a delivery log on the Management API and a
//! webhook event per outcome.

use std::collections::HashMap;

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
    /// Only ever appended to, so a position stays valid.
    entries: Vec<OutboxEntry>,
    /// The positions of the messages each idempotent request stored, so a
    /// replay finds them without reading the whole outbox.
    by_request: HashMap<IdemKey, Vec<usize>>,
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
        let Some(positions) = self.by_request.get(key) else {
            return;
        };
        for &i in positions {
            if let Some(e) = self.entries.get_mut(i) {
                e.attempts = e.attempts.saturating_add(1);
            }
        }
    }

    /// Appends `entry`, indexed by the request that stored it.
    fn push(&mut self, entry: OutboxEntry) {
        if let Some(key) = &entry.idempotency_key {
            let request = IdemKey {
                team: entry.team.clone(),
                operation: entry.operation,
                key: key.clone(),
            };
            self.by_request
                .entry(request)
                .or_default()
                .push(self.entries.len());
        }
        self.entries.push(entry);
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
    store.sending.outbox.push(OutboxEntry {
        id: id.clone(),
        team: origin.team.to_owned(),
        message,
        operation: origin.operation,
        idempotency_key: origin.idempotency_key.map(str::to_owned),
        attempts: 1,
    });
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: u32, team: &str, operation: &'static str, key: Option<&str>) -> OutboxEntry {
        OutboxEntry {
            id: format!("eml_{n}"),
            team: team.to_owned(),
            message: Message {
                from: "me@acme.com".to_owned(),
                to: "you@example.com".to_owned(),
                cc: Vec::new(),
                bcc: Vec::new(),
                subject: format!("message {n}"),
                html: "<p>hi</p>".to_owned(),
                text: None,
                size_bytes: 10,
                attachments: Vec::new(),
            },
            operation,
            idempotency_key: key.map(str::to_owned),
            attempts: 1,
        }
    }

    fn key(team: &str, operation: &'static str, key: &str) -> IdemKey {
        IdemKey {
            team: team.to_owned(),
            operation,
            key: key.to_owned(),
        }
    }

    /// A replay counts against exactly the messages its own request
    /// stored: same team, same operation, same key.
    #[test]
    fn a_replay_counts_only_for_the_messages_of_its_request() {
        let (single, batch) = ("sendingSendEmail", "sendingSendEmailBatch");
        let mut outbox = Outbox::default();
        outbox.push(entry(0, "team_a", single, Some("k1")));
        outbox.push(entry(1, "team_a", batch, Some("k1")));
        outbox.push(entry(2, "team_a", batch, Some("k1")));
        outbox.push(entry(3, "team_b", single, Some("k1")));
        outbox.push(entry(4, "team_a", single, None));
        outbox.push(entry(5, "team_a", single, Some("k2")));
        outbox.replayed(&key("team_a", batch, "k1"));
        outbox.replayed(&key("team_a", batch, "k1"));
        outbox.replayed(&key("team_b", single, "k1"));
        outbox.replayed(&key("team_c", single, "k1"));
        outbox.replayed(&key("team_a", single, "k3"));
        let attempts: Vec<u32> = outbox.summaries().iter().map(|m| m.attempts).collect();
        assert_eq!(attempts, [1, 3, 3, 2, 1, 1]);
    }
}
