//! Mail arriving in a mailbox, and storing any new message (arrived or
//! sent): thread grouping, folder, change logs, the live event and the
//! `message.received` webhook.

use std::collections::BTreeSet;
use std::fmt;

use bytes::Bytes;

use super::events;
use super::model::{Address, Attachment, Message, Thread, plausible_email, subject_key};
use super::store::{Kind, MailboxData, Op};
use crate::api::ApiError;
use crate::app::{App, lock};
use crate::clock::rfc3339;
use crate::ids;
use crate::resources::Resources;
use crate::resources::webhooks::EventType;
use crate::resources::webhooks::delivery;

/// A message arriving from outside, for
/// [`MockServer::deliver`](crate::MockServer::deliver). Only `from` is
/// required; `to` defaults to the mailbox's own address.
///
/// ```
/// use sendmux_mock::InboundMessage;
///
/// let message = InboundMessage {
///     from: "Ada <ada@example.com>".into(),
///     subject: "Invoice".into(),
///     text: Some("Please find it attached.".into()),
///     attachments: vec![(
///         "invoice.pdf".into(),
///         "application/pdf".into(),
///         bytes::Bytes::from_static(b"%PDF-1.7"),
///     )],
///     ..InboundMessage::default()
/// };
/// assert!(message.html.is_none());
/// ```
#[derive(Clone, Default)]
pub struct InboundMessage {
    /// The sender: `ada@example.com` or `Ada <ada@example.com>`.
    pub from: String,
    /// Recipients in the same forms; empty means the mailbox's address.
    pub to: Vec<String>,
    /// Carbon-copy recipients.
    pub cc: Vec<String>,
    /// The subject (empty for none).
    pub subject: String,
    /// The plain-text part.
    pub text: Option<String>,
    /// The HTML part.
    pub html: Option<String>,
    /// Attachments: file name, content type and bytes. The bytes are kept
    /// as given (a `Bytes` clone shares them), so a large attachment costs
    /// one copy however often it is downloaded.
    pub attachments: Vec<(String, String, Bytes)>,
    /// `In-Reply-To`: the `Message-ID` this answers, which puts the
    /// message in that message's thread.
    pub in_reply_to: Option<String>,
    /// Further headers, as `(name, value)`.
    pub headers: Vec<(String, String)>,
    /// Classified as spam: stored in Junk, announced as
    /// `message.received.spam`.
    pub spam: bool,
}

impl fmt::Debug for InboundMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Attachments by name and size: their bytes may be hundreds of MB.
        let attachments: Vec<(&str, &str, usize)> = self
            .attachments
            .iter()
            .map(|(name, ct, bytes)| (name.as_str(), ct.as_str(), bytes.len()))
            .collect();
        f.debug_struct("InboundMessage")
            .field("from", &self.from)
            .field("to", &self.to)
            .field("cc", &self.cc)
            .field("subject", &self.subject)
            .field("text", &self.text)
            .field("html", &self.html)
            .field("attachments", &attachments)
            .field("in_reply_to", &self.in_reply_to)
            .field("headers", &self.headers)
            .field("spam", &self.spam)
            .finish()
    }
}

/// Why [`MockServer::deliver`](crate::MockServer::deliver) stored nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeliverError {
    /// No mailbox has that id, and no live key of one is that key.
    UnknownMailbox,
    /// The mailbox is deleted.
    MailboxDeleted,
    /// The message itself is refused (an address that is not one).
    Invalid(String),
}

impl fmt::Display for DeliverError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownMailbox => f.write_str("no such mailbox (by id or live mailbox key)"),
            Self::MailboxDeleted => f.write_str("the mailbox is deleted"),
            Self::Invalid(why) => write!(f, "the message is refused: {why}"),
        }
    }
}

impl std::error::Error for DeliverError {}

/// The body of `POST /__mock/mailboxes/{id}/messages`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct AdminMessage {
    from: String,
    #[serde(default)]
    to: Vec<String>,
    #[serde(default)]
    cc: Vec<String>,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    html: Option<String>,
    #[serde(default)]
    in_reply_to: Option<String>,
    #[serde(default)]
    headers: Vec<(String, String)>,
    #[serde(default)]
    spam: bool,
    #[serde(default)]
    attachments: Vec<AdminAttachment>,
}

/// An attachment of the admin body: base64 content, or a size of bytes
/// made from the seed (a large attachment without sending it).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct AdminAttachment {
    filename: String,
    #[serde(default = "octet_stream")]
    content_type: String,
    #[serde(default)]
    content_base64: Option<String>,
    #[serde(default)]
    generated_size_bytes: Option<usize>,
}

fn octet_stream() -> String {
    "application/octet-stream".to_owned()
}

/// `POST /__mock/mailboxes/{id}/messages`: `Ok` with the JSON answer, or
/// the status and message of a refusal.
pub(crate) fn admin_deliver(
    app: &App,
    mailbox_id: &str,
    body: &[u8],
) -> Result<serde_json::Value, (http::StatusCode, String)> {
    use base64::Engine as _;
    use http::StatusCode;
    let bad = |m: String| (StatusCode::BAD_REQUEST, m);
    let input: AdminMessage =
        serde_json::from_slice(body).map_err(|e| bad(format!("invalid JSON body: {e}")))?;
    let mut attachments = Vec::new();
    for a in input.attachments {
        let bytes = match (a.content_base64, a.generated_size_bytes) {
            (Some(b64), None) => base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .map(Bytes::from)
                .map_err(|e| bad(format!("attachment {}: content_base64: {e}", a.filename)))?,
            (None, Some(len)) => super::attachments::generated(app.settings.seed, len),
            _ => {
                return Err(bad(format!(
                    "attachment {}: give content_base64 or generated_size_bytes",
                    a.filename
                )));
            }
        };
        attachments.push((a.filename, a.content_type, bytes));
    }
    let message = InboundMessage {
        from: input.from,
        to: input.to,
        cc: input.cc,
        subject: input.subject,
        text: input.text,
        html: input.html,
        attachments,
        in_reply_to: input.in_reply_to,
        headers: input.headers,
        spam: input.spam,
    };
    match deliver_inbound(app, mailbox_id, &message) {
        Ok(d) => Ok(serde_json::json!({
            "mailbox_id": d.mailbox_id,
            "message_id": d.message_id,
            "thread_id": d.thread_id,
        })),
        Err(e @ DeliverError::UnknownMailbox) => Err((StatusCode::NOT_FOUND, e.to_string())),
        Err(e @ DeliverError::MailboxDeleted) => Err((StatusCode::CONFLICT, e.to_string())),
        Err(e) => Err((StatusCode::UNPROCESSABLE_ENTITY, e.to_string())),
    }
}

/// Where a delivered message was stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Delivered {
    pub(crate) mailbox_id: String,
    pub(crate) message_id: String,
    pub(crate) thread_id: String,
}

/// A new message, arrived or sent, before it is stored.
#[derive(Debug, Default)]
pub(crate) struct Draft {
    pub(crate) folder_role: &'static str,
    pub(crate) keywords: BTreeSet<String>,
    pub(crate) from: Option<Address>,
    pub(crate) to: Vec<Address>,
    pub(crate) cc: Vec<Address>,
    pub(crate) bcc: Vec<Address>,
    pub(crate) reply_to: Vec<Address>,
    pub(crate) subject: Option<String>,
    pub(crate) text: Option<String>,
    pub(crate) html: Option<String>,
    pub(crate) sent_at_ms: Option<u64>,
    pub(crate) rfc_message_id: Option<String>,
    pub(crate) in_reply_to: Option<String>,
    pub(crate) references: Vec<String>,
    pub(crate) extra_headers: Vec<(String, String)>,
    pub(crate) attachments: Vec<(String, String, Bytes)>,
    pub(crate) spam: bool,
}

/// Resolves `key_or_id` (a live `smx_mbx_` key the mock issued, or a
/// mailbox id) and delivers `message` to that mailbox: see [`deliver_to`].
pub(crate) fn deliver_inbound(
    app: &App,
    key_or_id: &str,
    message: &InboundMessage,
) -> Result<Delivered, DeliverError> {
    let mut store = lock(&app.resources);
    let team = if key_or_id.starts_with("smx_mbx_") {
        let owner = crate::resources::mailboxes::key_owner(&store, key_or_id, || {
            ApiError::not_found("mailbox")
        });
        match owner {
            Ok(Some((team, mailbox))) => Some((team, mailbox)),
            _ => None,
        }
    } else {
        store
            .mailboxes
            .iter_newest_first()
            .find(|(_, m)| m.id == key_or_id)
            .map(|(team, m)| (team.to_owned(), m.id.clone()))
    };
    let (team, mailbox_id) = team.ok_or(DeliverError::UnknownMailbox)?;
    let mailbox = store
        .mailboxes
        .get(&team, &mailbox_id)
        .map_err(|_| DeliverError::UnknownMailbox)?;
    if mailbox.deleted_at_ms.is_some() {
        return Err(DeliverError::MailboxDeleted);
    }
    let own = Address {
        email: mailbox.email.clone(),
        name: None,
    };
    parties(message, own).map_err(DeliverError::Invalid)?;
    // Checked above: what is left to fail is a mailbox gone meanwhile,
    // which the lock rules out.
    deliver_to(app, &mut store, &team, &mailbox_id, message)
        .map_err(|_| DeliverError::UnknownMailbox)
}

/// Sender, recipients (the mailbox itself when none) and copies of
/// `message`, or why one of them is not an address.
fn parties(
    message: &InboundMessage,
    own: Address,
) -> Result<(Address, Vec<Address>, Vec<Address>), String> {
    let from = Address::parse(&message.from);
    let parse_all = |list: &[String]| list.iter().map(|a| Address::parse(a)).collect::<Vec<_>>();
    let mut to = parse_all(&message.to);
    if to.is_empty() {
        to.push(own);
    }
    let cc = parse_all(&message.cc);
    match std::iter::once(&from)
        .chain(&to)
        .chain(&cc)
        .find(|a| !plausible_email(&a.email))
    {
        Some(bad) => Err(format!("`{}` is not an email address", bad.email)),
        None => Ok((from, to, cc)),
    }
}

/// Delivers `message` into the Inbox (Junk when `spam`) of mailbox
/// `mailbox_id` of `team`, as mail arriving from outside: a new unread
/// message in its thread (by `In-Reply-To`, else by subject), new states
/// and change records for messages, threads, folders and quotas, a live
/// event on the mailbox's event stream (`message.received` or
/// `message.received.spam`), and that webhook event to the team's
/// subscriptions.
///
/// The caller holds the store lock (`store`); this never awaits. For the
/// Sending API: deliver a message sent to an address of a mock mailbox
/// with [`deliver_local`], which finds the mailboxes and calls this.
///
/// Errors: `404` for an unknown mailbox, `409` for a deleted one, `422`
/// when `from` or a recipient is not an address.
pub(crate) fn deliver_to(
    app: &App,
    store: &mut Resources,
    team: &str,
    mailbox_id: &str,
    message: &InboundMessage,
) -> Result<Delivered, ApiError> {
    let mailbox = store.mailboxes.get(team, mailbox_id)?;
    if mailbox.deleted_at_ms.is_some() {
        return Err(ApiError::conflict("the mailbox is deleted"));
    }
    let own = Address {
        email: mailbox.email.clone(),
        name: mailbox.display_name.clone(),
    };
    let (from, to, cc) = parties(message, own).map_err(ApiError::validation_error)?;
    let now = app.clock.unix_millis();
    let caps = app.settings.mailbox.caps();
    let data = store.mailbox_api.data(mailbox_id, caps);
    let draft = Draft {
        folder_role: if message.spam { "junk" } else { "inbox" },
        from: Some(from),
        to,
        cc,
        subject: Some(message.subject.clone()).filter(|s| !s.is_empty()),
        text: message.text.clone(),
        html: message.html.clone(),
        sent_at_ms: Some(now),
        in_reply_to: message.in_reply_to.clone(),
        references: message.in_reply_to.iter().cloned().collect(),
        extra_headers: message.headers.clone(),
        attachments: message.attachments.clone(),
        spam: message.spam,
        ..Draft::default()
    };
    let (message_id, thread_id) = insert(data, draft, now);
    if let Some(stored) = data.message(&message_id) {
        let event = events::message_event(team, mailbox_id, stored, now);
        let kind = if message.spam {
            events::SPAM
        } else {
            events::RECEIVED
        };
        data.events.publish(kind, event);
    }
    let webhook = if message.spam {
        EventType::ReceivedSpam
    } else {
        EventType::Received
    };
    delivery::emit(app, store, team, webhook, Some(mailbox_id));
    Ok(Delivered {
        mailbox_id: mailbox_id.to_owned(),
        message_id,
        thread_id,
    })
}

/// Delivers `message` (sent by a mailbox of `sender_team`) to every mock
/// mailbox among its `to` and `cc` recipients and `bcc`: a mailbox of the
/// sender's team with that address, else the one mailbox of any team
/// with it (addresses on `myagent.mx` are unique anyway). Deleted
/// mailboxes get nothing; other recipients are outside the mock.
/// Returns where copies were stored. The caller holds the store lock.
pub(crate) fn deliver_local(
    app: &App,
    store: &mut Resources,
    sender_team: &str,
    message: &InboundMessage,
    bcc: &[String],
) -> Vec<Delivered> {
    let mut targets: Vec<(String, String)> = Vec::new();
    for raw in message.to.iter().chain(&message.cc).chain(bcc) {
        let email = Address::parse(raw).email.to_lowercase();
        let holders: Vec<(String, String)> = store
            .mailboxes
            .iter_newest_first()
            .filter(|(_, m)| m.email == email && m.deleted_at_ms.is_none())
            .map(|(team, m)| (team.to_owned(), m.id.clone()))
            .collect();
        let own = holders.iter().find(|(team, _)| team == sender_team);
        let target = match (own, holders.as_slice()) {
            (Some(own), _) => Some(own.clone()),
            (None, [only]) => Some(only.clone()),
            _ => None,
        };
        if let Some(target) = target.filter(|t| !targets.contains(t)) {
            targets.push(target);
        }
    }
    targets
        .into_iter()
        .filter_map(|(team, mailbox)| deliver_to(app, store, &team, &mailbox, message).ok())
        .collect()
}

/// Stores `draft` as a new message of `data`: its thread (by `In-Reply-To`
/// or `References`, else by subject), its folder, and one change record
/// each for the message, its thread, its folder and the quotas. Returns
/// the message and thread ids.
pub(crate) fn insert(data: &mut MailboxData, draft: Draft, now: u64) -> (String, String) {
    let id = data.new_id("msg_");
    let seq = data.next_seq();
    let folder_id = data.role_folder_id(draft.folder_role);
    let domain = draft
        .from
        .as_ref()
        .and_then(|a| a.email.split_once('@').map(|(_, d)| d.to_owned()))
        .unwrap_or_else(|| "mock.sendmux.ai".to_owned());
    let rfc_message_id = draft
        .rfc_message_id
        .clone()
        .unwrap_or_else(|| format!("<{}@{domain}>", ids::token(data.seed, id.as_bytes(), 24)));
    let key = subject_key(draft.subject.as_deref());
    let by_reference = draft
        .in_reply_to
        .iter()
        .chain(&draft.references)
        .find_map(|r| data.rfc_threads.get(r.trim()).cloned());
    let by_subject = || {
        (!key.is_empty())
            .then(|| data.newest_thread_with_subject(&key).map(|t| t.id.clone()))
            .flatten()
    };
    let (thread_id, new_thread) = match by_reference.or_else(by_subject) {
        Some(thread_id) => (thread_id, false),
        None => (data.new_id("thr_"), true),
    };
    let attachments = draft
        .attachments
        .into_iter()
        .map(|(filename, content_type, bytes)| Attachment {
            id: data.new_id("att_"),
            filename: Some(filename).filter(|f| !f.is_empty()),
            content_type,
            disposition: Some("attachment"),
            content_id: None,
            bytes,
        })
        .collect::<Vec<_>>();
    let mut message = Message {
        id: id.clone(),
        seq,
        thread_id: thread_id.clone(),
        folder_id: folder_id.clone(),
        keywords: draft.keywords,
        from: draft.from,
        to: draft.to,
        cc: draft.cc,
        bcc: draft.bcc,
        reply_to: draft.reply_to,
        subject: draft.subject,
        text: draft.text,
        html: draft.html,
        received_at_ms: now,
        sent_at_ms: draft.sent_at_ms,
        rfc_message_id: rfc_message_id.clone(),
        in_reply_to: draft.in_reply_to,
        references: draft.references,
        headers: Vec::new(),
        attachments,
        size_bytes: 0,
        spam: draft.spam,
    };
    message.headers = headers_of(&message, draft.extra_headers);
    message.size_bytes = message.compute_size();
    data.messages.insert(seq, message);
    data.message_index.insert(id.clone(), seq);
    data.rfc_threads.insert(rfc_message_id, thread_id.clone());
    if new_thread {
        data.add_thread(Thread {
            id: thread_id.clone(),
            subject_key: key,
            messages: BTreeSet::from([seq]),
        });
    } else if let Some(thread) = data.thread_mut(&thread_id) {
        thread.messages.insert(seq);
    }
    data.record(Kind::Messages, &id, Op::Created);
    let thread_op = if new_thread { Op::Created } else { Op::Updated };
    data.record(Kind::Threads, &thread_id, thread_op);
    data.record(Kind::Folders, &folder_id, Op::Updated);
    data.record_usage_change();
    (id, thread_id)
}

/// The message's header lines, as a mail server would have stored them.
fn headers_of(m: &Message, extra: Vec<(String, String)>) -> Vec<(String, String)> {
    let list = |addresses: &[Address]| {
        addresses
            .iter()
            .map(Address::header)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut headers = Vec::new();
    if let Some(from) = &m.from {
        headers.push(("From".to_owned(), from.header()));
    }
    if !m.to.is_empty() {
        headers.push(("To".to_owned(), list(&m.to)));
    }
    if !m.cc.is_empty() {
        headers.push(("Cc".to_owned(), list(&m.cc)));
    }
    if !m.reply_to.is_empty() {
        headers.push(("Reply-To".to_owned(), list(&m.reply_to)));
    }
    if let Some(subject) = &m.subject {
        headers.push(("Subject".to_owned(), subject.clone()));
    }
    headers.push((
        "Date".to_owned(),
        mail_date(m.sent_at_ms.unwrap_or(m.received_at_ms)),
    ));
    headers.push(("Message-ID".to_owned(), m.rfc_message_id.clone()));
    if let Some(parent) = &m.in_reply_to {
        headers.push(("In-Reply-To".to_owned(), parent.clone()));
    }
    if !m.references.is_empty() {
        headers.push(("References".to_owned(), m.references.join(" ")));
    }
    headers.push(("MIME-Version".to_owned(), "1.0".to_owned()));
    let content_type = match (&m.text, &m.html, m.attachments.is_empty()) {
        (_, _, false) => "multipart/mixed",
        (Some(_), Some(_), true) => "multipart/alternative",
        (None, Some(_), true) => "text/html; charset=utf-8",
        _ => "text/plain; charset=utf-8",
    };
    headers.push(("Content-Type".to_owned(), content_type.to_owned()));
    headers.extend(extra);
    headers
}

/// RFC 5322 date (`Thu, 01 Jan 2026 00:00:00 +0000`).
fn mail_date(unix_millis: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    // `rfc3339` does the calendar; this only reorders its fields.
    let iso = rfc3339(unix_millis);
    let weekday = DAYS[usize::try_from((unix_millis / 86_400_000) % 7).unwrap_or(0)];
    let month = iso
        .get(5..7)
        .and_then(|m| m.parse::<usize>().ok())
        .and_then(|m| MONTHS.get(m.wrapping_sub(1)))
        .copied()
        .unwrap_or("Jan");
    format!(
        "{weekday}, {} {month} {} {} +0000",
        iso.get(8..10).unwrap_or("01"),
        iso.get(..4).unwrap_or("1970"),
        iso.get(11..19).unwrap_or("00:00:00")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mail_dates_read_like_mail() {
        assert_eq!(mail_date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
        assert_eq!(
            mail_date(1_767_225_600_000),
            "Thu, 01 Jan 2026 00:00:00 +0000"
        );
        assert_eq!(
            mail_date(1_709_210_096_000),
            "Thu, 29 Feb 2024 12:34:56 +0000"
        );
    }
}
