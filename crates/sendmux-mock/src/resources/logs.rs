//! Handlers of the outbound (email) and inbound (inbox) log operations and
//! of the email metrics, over seeded logs.
//!
//! A team's logs are made on its first request to any of them, from the
//! server seed and the team id alone: about 120 delivery logs and 60 inbox
//! logs spread over the 30 days before that request, with every published
//! status, two sending accounts and three receiving mailboxes (made-up
//! ids, not mailboxes of the mailboxes collection). The metrics count the
//! same stored logs the list pages through, so for one period and sending
//! account they agree with the list exactly. [`record_email_log`] adds a
//! log for a message sent now.

use std::collections::HashSet;

use sendmux_operations::{Operation, ops};
use serde::{Serialize, Serializer};

use super::billing::usd;
use super::{Ctx, Handler, Resources};
use crate::api::{ApiError, Out, to_json};
use crate::clock::rfc3339;
use crate::collection::{Collection, Rendered};
use crate::ids::{self, Rng};

/// The operations this module implements.
pub(crate) const HANDLERS: &[(&Operation, Handler)] = &[
    (ops::MANAGEMENT_LIST_EMAIL_LOGS, list_email),
    (ops::MANAGEMENT_GET_EMAIL_LOG, get_email),
    (ops::MANAGEMENT_GET_EMAIL_METRICS, metrics),
    (ops::MANAGEMENT_LIST_INBOX_LOGS, list_inbox),
    (ops::MANAGEMENT_GET_INBOX_LOG, get_inbox),
];

/// Page size of both log lists when `limit` is omitted.
const DEFAULT_LIMIT: usize = 25;
const SEEDED_EMAIL: u64 = 120;
const SEEDED_INBOX: u64 = 60;
const HOUR_MS: u64 = 3_600_000;
const DAY_MS: u64 = 24 * HOUR_MS;
/// The seeded logs span this many days before the first request.
const SPAN_DAYS: u64 = 30;
/// Most buckets one metrics answer may hold.
const MAX_BUCKETS: u64 = 2_000;
/// Price of one received message, in micro-dollars.
const INBOUND_PRICE: i64 = 500;

/// `pending`, `sent`, `failed`, `rejected`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum DeliveryStatus {
    Pending,
    Sent,
    Failed,
    Rejected,
}

impl DeliveryStatus {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "sent" => Some(Self::Sent),
            "failed" => Some(Self::Failed),
            "rejected" => Some(Self::Rejected),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum RecipientType {
    To,
    Cc,
    Bcc,
}

/// What the sending account did with one recipient.
#[derive(Debug, Clone)]
struct Recipient {
    email: String,
    kind: RecipientType,
    accepted: bool,
    reason: Option<String>,
}

#[derive(Serialize)]
struct RecipientView<'a> {
    email: &'a str,
    #[serde(rename = "type")]
    kind: Option<RecipientType>,
    status: &'static str,
    reason: Option<&'a str>,
}

/// One outbound delivery log.
#[derive(Debug, Clone)]
pub(crate) struct EmailLog {
    id: String,
    provider: Option<(String, String)>,
    message_id: Option<String>,
    from_email: Option<String>,
    sent_from_email: Option<String>,
    to_email: Option<String>,
    subject: Option<String>,
    status: DeliveryStatus,
    status_reason: Option<String>,
    attempts: u32,
    sent_at_ms: Option<u64>,
    size_bytes: Option<u64>,
    created_at_ms: u64,
    /// `None` while nothing is recorded per recipient (pending messages).
    recipients: Option<Vec<Recipient>>,
}

/// Wire shape of `DeliveryLogItem` (what lists show).
#[derive(Serialize)]
struct EmailLogView<'a> {
    id: &'a str,
    provider_id: Option<&'a str>,
    provider_name: Option<&'a str>,
    message_id: Option<&'a str>,
    from_email: Option<&'a str>,
    sent_from_email: Option<&'a str>,
    to_email: Option<&'a str>,
    subject: Option<&'a str>,
    status: DeliveryStatus,
    status_reason: Option<&'a str>,
    attempts: u32,
    sent_at: Option<String>,
    size_bytes: Option<u64>,
    created_at: String,
    recipient_count: Option<usize>,
    accepted_recipient_count: Option<usize>,
    rejected_recipient_count: Option<usize>,
}

/// Wire shape of `DeliveryLogDetail`: the item and its recipients.
#[derive(Serialize)]
struct EmailLogDetail<'a> {
    #[serde(flatten)]
    item: EmailLogView<'a>,
    recipients: Option<Vec<RecipientView<'a>>>,
}

impl EmailLog {
    fn view(&self) -> EmailLogView<'_> {
        let recipients = self.recipients.as_deref();
        let accepted = recipients.map(|r| r.iter().filter(|r| r.accepted).count());
        EmailLogView {
            id: &self.id,
            provider_id: self.provider.as_ref().map(|p| p.0.as_str()),
            provider_name: self.provider.as_ref().map(|p| p.1.as_str()),
            message_id: self.message_id.as_deref(),
            from_email: self.from_email.as_deref(),
            sent_from_email: self.sent_from_email.as_deref(),
            to_email: self.to_email.as_deref(),
            subject: self.subject.as_deref(),
            status: self.status,
            status_reason: self.status_reason.as_deref(),
            attempts: self.attempts,
            sent_at: self.sent_at_ms.map(rfc3339),
            size_bytes: self.size_bytes,
            created_at: rfc3339(self.created_at_ms),
            recipient_count: recipients.map(<[_]>::len),
            accepted_recipient_count: accepted,
            rejected_recipient_count: recipients
                .zip(accepted)
                .map(|(r, accepted)| r.len() - accepted),
        }
    }

    fn detail(&self) -> EmailLogDetail<'_> {
        EmailLogDetail {
            item: self.view(),
            recipients: self.recipients.as_ref().map(|rs| {
                rs.iter()
                    .map(|r| RecipientView {
                        email: &r.email,
                        kind: Some(r.kind),
                        status: if r.accepted { "accepted" } else { "rejected" },
                        reason: r.reason.as_deref(),
                    })
                    .collect()
            }),
        }
    }

    /// Whether the free-text `search` (lowercase) is in any searched field.
    fn matches(&self, search: &str) -> bool {
        [
            &self.to_email,
            &self.from_email,
            &self.sent_from_email,
            &self.subject,
            &self.message_id,
        ]
        .into_iter()
        .flatten()
        .any(|field| field.to_lowercase().contains(search))
    }
}

/// Lists show the item; the single read adds the recipients.
impl Serialize for EmailLog {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.view().serialize(serializer)
    }
}

/// `message.received` or `message.received.spam`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
enum EventType {
    #[serde(rename = "message.received")]
    Received,
    #[serde(rename = "message.received.spam")]
    Spam,
}

impl EventType {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "message.received" => Some(Self::Received),
            "message.received.spam" => Some(Self::Spam),
            _ => None,
        }
    }
}

/// One inbound message log.
#[derive(Debug, Clone)]
pub(crate) struct InboxLog {
    id: String,
    mailbox_id: Option<String>,
    mailbox_email: Option<String>,
    event_type: EventType,
    message_id: Option<String>,
    from_email: Option<String>,
    to_emails: Vec<String>,
    subject: Option<String>,
    size_bytes: Option<u64>,
    received_at_ms: u64,
}

/// Wire shape of `IncomingLogItem`.
#[derive(Serialize)]
struct InboxLogView<'a> {
    id: &'a str,
    mailbox_id: Option<&'a str>,
    mailbox_email: Option<&'a str>,
    event_type: EventType,
    message_id: Option<&'a str>,
    message_id_kind: Option<&'static str>,
    from_email: Option<&'a str>,
    to_emails: &'a [String],
    subject: Option<&'a str>,
    size_bytes: Option<u64>,
    received_at: String,
    is_spam: bool,
    billing_bucket_start: String,
    unit_amount: String,
    amount: String,
}

impl Serialize for InboxLog {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        InboxLogView {
            id: &self.id,
            mailbox_id: self.mailbox_id.as_deref(),
            mailbox_email: self.mailbox_email.as_deref(),
            event_type: self.event_type,
            message_id: self.message_id.as_deref(),
            message_id_kind: self.message_id.as_ref().map(|_| "header"),
            from_email: self.from_email.as_deref(),
            to_emails: &self.to_emails,
            subject: self.subject.as_deref(),
            size_bytes: self.size_bytes,
            received_at: rfc3339(self.received_at_ms),
            is_spam: self.event_type == EventType::Spam,
            // Inbound mail is billed by UTC day, one message at a time.
            billing_bucket_start: rfc3339(self.received_at_ms - self.received_at_ms % DAY_MS),
            unit_amount: usd(INBOUND_PRICE),
            amount: usd(INBOUND_PRICE),
        }
        .serialize(serializer)
    }
}

impl InboxLog {
    fn matches(&self, search: &str) -> bool {
        [
            &self.mailbox_email,
            &self.from_email,
            &self.subject,
            &self.message_id,
        ]
        .into_iter()
        .flatten()
        .chain(&self.to_emails)
        .any(|field| field.to_lowercase().contains(search))
    }
}

/// Both kinds of log, and which teams have theirs already.
pub(crate) struct Logs {
    pub(crate) email: Collection<EmailLog>,
    pub(crate) inbox: Collection<InboxLog>,
    seeded: HashSet<String>,
}

impl Logs {
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            email: Collection::new("dlog_", "email log", seed),
            inbox: Collection::new("ilog_", "inbox log", seed),
            seeded: HashSet::new(),
        }
    }
}

/// A message to log as sent (or refused) now; see [`record_email_log`].
pub(crate) struct NewEmailLog {
    pub(crate) from_email: String,
    pub(crate) to: Vec<String>,
    pub(crate) cc: Vec<String>,
    pub(crate) bcc: Vec<String>,
    pub(crate) subject: Option<String>,
    pub(crate) message_id: Option<String>,
    pub(crate) size_bytes: Option<u64>,
    /// Id (`dprov_...`) and name of the sending account that took it.
    pub(crate) provider: Option<(String, String)>,
    pub(crate) status: DeliveryStatus,
    /// Why it failed or was rejected.
    pub(crate) status_reason: Option<String>,
}

/// Appends a delivery log for a message handled at `now` to `team`'s logs,
/// after the seeded ones (so it is the newest), and returns its id
/// (`dlog_...`). For the Sending API: each message it accepts or refuses
/// becomes a log that the list, the single read and the metrics show.
/// Recipients are recorded unless the message is still `pending`; they
/// count as accepted unless it was `failed` or `rejected`.
pub(crate) fn record_email_log(
    store: &mut Resources,
    seed: u64,
    team: &str,
    now: u64,
    log: NewEmailLog,
) -> String {
    ensure_seeded(store, seed, team, now);
    let now = now - now % 1000;
    let accepted = matches!(log.status, DeliveryStatus::Sent | DeliveryStatus::Pending);
    let reason = log.status_reason.clone().filter(|_| !accepted);
    let recipients = (log.status != DeliveryStatus::Pending).then(|| {
        let kinds = [
            (RecipientType::To, &log.to),
            (RecipientType::Cc, &log.cc),
            (RecipientType::Bcc, &log.bcc),
        ];
        kinds
            .into_iter()
            .flat_map(|(kind, emails)| emails.iter().map(move |email| (kind, email)))
            .map(|(kind, email)| Recipient {
                email: email.clone(),
                kind,
                accepted,
                reason: reason.clone(),
            })
            .collect()
    });
    store.logs.email.insert(team, |id| EmailLog {
        id: id.to_owned(),
        provider: log.provider,
        message_id: log.message_id,
        from_email: Some(log.from_email),
        sent_from_email: None,
        to_email: log.to.first().cloned(),
        subject: log.subject,
        status: log.status,
        status_reason: log.status_reason,
        attempts: u32::from(log.status != DeliveryStatus::Pending),
        sent_at_ms: (log.status == DeliveryStatus::Sent).then_some(now),
        size_bytes: log.size_bytes,
        created_at_ms: now,
        recipients,
    })
}

const SUBJECTS: [&str; 6] = [
    "Your receipt",
    "Welcome aboard",
    "Password reset",
    "Weekly report",
    "Invoice overdue",
    "Meeting notes",
];
const SENDERS: [&str; 3] = [
    "hello@acme-mail.example",
    "billing@acme-mail.example",
    "agent@myagent.mx",
];
const RECIPIENT_NAMES: [&str; 6] = ["ada", "grace", "linus", "ken", "barbara", "alan"];
const RECIPIENT_DOMAINS: [&str; 3] = ["example.com", "example.org", "example.net"];
const FAILURES: [&str; 3] = [
    "550 5.1.1 mailbox unavailable",
    "552 5.2.2 mailbox full",
    "421 4.4.2 connection timed out after 3 attempts",
];
const INBOXES: [&str; 3] = ["support", "sales", "agent"];

/// Makes `team`'s logs on first use, oldest first (so the collections'
/// newest-first order is time order), all before `now`.
fn ensure_seeded(store: &mut Resources, seed: u64, team: &str, now: u64) {
    if !store.logs.seeded.insert(team.to_owned()) {
        return;
    }
    let mut rng = Rng::new(seed, &format!("logs/{team}"));
    let id_seed = ids::hash_bytes(seed, format!("logs/{team}").as_bytes());
    let end = now - now % 1000;
    let start = end.saturating_sub(SPAN_DAYS * DAY_MS);
    let providers: Vec<(String, String)> = ["Shared Amazon SES", "Team SMTP relay"]
        .iter()
        .zip(0..)
        .map(|(name, k)| (ids::public_id("dprov_", id_seed, k), (*name).to_owned()))
        .collect();
    for i in 0..SEEDED_EMAIL {
        let at = spread(&mut rng, start, end, i, SEEDED_EMAIL);
        // The last few are still on their way.
        let pending = i + 3 >= SEEDED_EMAIL;
        let log = seeded_email(&mut rng, id_seed, i, at, pending, &providers);
        store.logs.email.insert_with_id(team, log.id.clone(), log);
    }
    let mailboxes: Vec<(String, String)> = INBOXES
        .iter()
        .zip(0..)
        .map(|(name, k)| {
            let id = ids::public_id("mbx_", id_seed ^ 0x006d_6278, k);
            (id, format!("{name}@acme-mail.example"))
        })
        .collect();
    for i in 0..SEEDED_INBOX {
        let at = spread(&mut rng, start, end, i, SEEDED_INBOX);
        let log = seeded_inbox(&mut rng, id_seed, i, at, &mailboxes);
        store.logs.inbox.insert_with_id(team, log.id.clone(), log);
    }
}

/// The `i`-th of `n` times spread over `[start, end)`, increasing, whole
/// seconds.
fn spread(rng: &mut Rng, start: u64, end: u64, i: u64, n: u64) -> u64 {
    let step = (end - start) / n;
    let at = start + i * step + rng.below(step.max(1));
    at - at % 1000
}

fn address(rng: &mut Rng) -> String {
    let name = rng.pick(&RECIPIENT_NAMES).copied().unwrap_or("ada");
    let domain = rng
        .pick(&RECIPIENT_DOMAINS)
        .copied()
        .unwrap_or("example.com");
    format!("{name}{}@{domain}", rng.below(100))
}

fn seeded_email(
    rng: &mut Rng,
    id_seed: u64,
    i: u64,
    at: u64,
    pending: bool,
    providers: &[(String, String)],
) -> EmailLog {
    let status = match (pending, rng.below(100)) {
        (true, _) => DeliveryStatus::Pending,
        (false, 0..=79) => DeliveryStatus::Sent,
        (false, 80..=89) => DeliveryStatus::Failed,
        (false, _) => DeliveryStatus::Rejected,
    };
    let reason = match status {
        DeliveryStatus::Failed => rng.pick(&FAILURES).map(|r| (*r).to_owned()),
        DeliveryStatus::Rejected => Some("the sending account refused the recipient".to_owned()),
        _ => None,
    };
    let to = address(rng);
    let accepted = status == DeliveryStatus::Sent;
    let recipients = (!pending).then(|| {
        let extra = rng.below(3);
        std::iter::once((to.clone(), RecipientType::To))
            .chain((0..extra).map(|k| {
                let kind = if k == 0 {
                    RecipientType::Cc
                } else {
                    RecipientType::Bcc
                };
                (address(rng), kind)
            }))
            .map(|(email, kind)| Recipient {
                email,
                kind,
                accepted,
                reason: reason.clone().filter(|_| !accepted),
            })
            .collect()
    });
    let from = rng
        .pick(&SENDERS)
        .copied()
        .unwrap_or("hello@acme-mail.example");
    let subject = rng.pick(&SUBJECTS).copied().unwrap_or("Hello");
    EmailLog {
        id: ids::public_id("dlog_", id_seed, i),
        provider: (!pending).then(|| rng.pick(providers).cloned()).flatten(),
        message_id: Some(format!(
            "<{}@sendmux.ai>",
            ids::token(id_seed, &i.to_be_bytes(), 20)
        )),
        from_email: Some(from.to_owned()),
        // Mail from the shared domain goes out under the team's own sender.
        sent_from_email: (from.ends_with("@myagent.mx"))
            .then(|| "agent@acme-mail.example".to_owned()),
        to_email: Some(to),
        subject: Some(format!("{subject} #{}", 1000 + i)),
        status,
        status_reason: reason,
        attempts: match status {
            DeliveryStatus::Pending => 0,
            DeliveryStatus::Failed => 3,
            _ => 1,
        },
        sent_at_ms: accepted.then_some(at + 1000 * (1 + rng.below(30))),
        size_bytes: Some(2_000 + rng.below(78_000)),
        created_at_ms: at,
        recipients,
    }
}

fn seeded_inbox(
    rng: &mut Rng,
    id_seed: u64,
    i: u64,
    at: u64,
    mailboxes: &[(String, String)],
) -> InboxLog {
    let (mailbox_id, mailbox_email) = rng
        .pick(mailboxes)
        .cloned()
        .unwrap_or_else(|| (String::new(), String::new()));
    let spam = rng.below(100) < 12;
    let has_id = rng.below(10) != 0;
    let subject = if spam {
        "You have won a prize"
    } else {
        rng.pick(&SUBJECTS).copied().unwrap_or("Hello")
    };
    InboxLog {
        id: ids::public_id("ilog_", id_seed, i),
        mailbox_id: Some(mailbox_id),
        to_emails: vec![mailbox_email.clone()],
        mailbox_email: Some(mailbox_email),
        event_type: if spam {
            EventType::Spam
        } else {
            EventType::Received
        },
        message_id: has_id.then(|| {
            format!(
                "<{}@mail.example.com>",
                ids::token(id_seed ^ 1, &i.to_be_bytes(), 20)
            )
        }),
        from_email: Some(address(rng)),
        subject: Some(format!("{subject} #{}", 5000 + i)),
        size_bytes: Some(1_000 + rng.below(50_000)),
        received_at_ms: at,
    }
}

/// Days from 1970-01-01 to a Gregorian date (proleptic calendar).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A `from_date`/`to_date` value as Unix milliseconds: an RFC 3339 time
/// (`Z` or an offset, optional fractions), or a bare date, which starts at
/// 00:00 UTC. With `end`, the result is exclusive: a bare date covers its
/// whole UTC day, a time itself is included.
fn parse_date(value: &str, end: bool) -> Option<u64> {
    // `+` in a query string that was not percent-encoded arrives as a space.
    let value = value.trim().replace(' ', "+");
    let num = |s: &str| -> Option<u32> {
        s.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let date = value.get(..10)?;
    let (y, m, d) = (
        num(date.get(..4)?)?,
        num(date.get(5..7)?)?,
        num(date.get(8..10)?)?,
    );
    if date.as_bytes().get(4) != Some(&b'-') || date.as_bytes().get(7) != Some(&b'-') {
        return None;
    }
    let y = i64::from(y);
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    let day_ms = days_from_civil(y, m, d).checked_mul(86_400_000)?;
    let rest = &value[10..];
    if rest.is_empty() {
        let ms = if end { day_ms + 86_400_000 } else { day_ms };
        return u64::try_from(ms).ok();
    }
    let rest = rest.strip_prefix(['T', 't'])?;
    let (h, min, s) = (
        num(rest.get(..2)?)?,
        num(rest.get(3..5)?)?,
        num(rest.get(6..8)?)?,
    );
    if rest.as_bytes().get(2) != Some(&b':') || rest.as_bytes().get(5) != Some(&b':') {
        return None;
    }
    if h > 23 || min > 59 || s > 59 {
        return None;
    }
    let mut rest = &rest[8..];
    let mut millis = 0;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let padded = format!("{:0<3}", &frac[..digits.min(3)]);
        millis = i64::from(num(&padded)?);
        rest = &frac[digits..];
    }
    let offset_min = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first() {
                Some(b'+') => 1,
                Some(b'-') => -1,
                _ => return None,
            };
            if rest.len() != 6 || rest.as_bytes().get(3) != Some(&b':') {
                return None;
            }
            let (oh, om) = (num(rest.get(1..3)?)?, num(rest.get(4..6)?)?);
            if oh > 23 || om > 59 {
                return None;
            }
            sign * i64::from(oh * 60 + om)
        }
    };
    let ms = day_ms + i64::from(h * 3600 + min * 60 + s) * 1000 + millis - offset_min * 60_000
        + i64::from(end);
    u64::try_from(ms).ok()
}

/// `from_date` and `to_date` of a request as `[from, to)` in milliseconds
/// (unbounded sides open).
fn date_range(ctx: &Ctx<'_>) -> Result<(Option<u64>, Option<u64>), ApiError> {
    let read = |name: &str, end: bool| -> Result<Option<u64>, ApiError> {
        ctx.query(name)
            .map(|v| {
                parse_date(&v, end).ok_or_else(|| {
                    ApiError::invalid_parameter(format!(
                        "{name} must be a date (2026-01-31) or an RFC 3339 time"
                    ))
                    .with_param(name)
                })
            })
            .transpose()
    };
    let (from, to) = (read("from_date", false)?, read("to_date", true)?);
    if let (Some(from), Some(to)) = (from, to)
        && from >= to
    {
        return Err(
            ApiError::invalid_parameter("from_date must be before to_date").with_param("from_date"),
        );
    }
    Ok((from, to))
}

/// A non-empty `search`, lowercased.
fn search(ctx: &Ctx<'_>) -> Option<String> {
    ctx.query("search")
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty())
}

fn in_range(at: u64, (from, to): (Option<u64>, Option<u64>)) -> bool {
    from.is_none_or(|from| at >= from) && to.is_none_or(|to| at < to)
}

fn list_email(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let status = ctx
        .query("status")
        .map(|s| {
            DeliveryStatus::parse(&s).ok_or_else(|| {
                ApiError::invalid_parameter("status must be pending, sent, failed or rejected")
                    .with_param("status")
            })
        })
        .transpose()?;
    let range = date_range(&ctx)?;
    let provider = ctx.query("provider_id");
    let search = search(&ctx);
    let now = ctx.app.clock.unix_millis();
    let mut store = ctx.store();
    ensure_seeded(&mut store, ctx.seed(), ctx.team, now);
    let page =
        store
            .logs
            .email
            .page_where(ctx.team, ctx.parts.uri.query(), DEFAULT_LIMIT, |log| {
                status.is_none_or(|s| log.status == s)
                    && in_range(log.created_at_ms, range)
                    && provider
                        .as_deref()
                        .is_none_or(|p| log.provider.as_ref().is_some_and(|(id, _)| id == p))
                    && search.as_deref().is_none_or(|s| log.matches(s))
            })?;
    Ok(ctx.page(&page))
}

fn get_email(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let now = ctx.app.clock.unix_millis();
    let mut store = ctx.store();
    ensure_seeded(&mut store, ctx.seed(), ctx.team, now);
    let id = ctx.param("public_id");
    // The list form's ETag: it moves whenever the log changes.
    let etag = store.logs.email.rendered(ctx.team, id)?.etag;
    let json = to_json(&store.logs.email.get(ctx.team, id)?.detail());
    Ok(ctx.conditional(&Rendered { json, etag }))
}

fn list_inbox(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let event_type = ctx
        .query("event_type")
        .map(|s| {
            EventType::parse(&s).ok_or_else(|| {
                ApiError::invalid_parameter(
                    "event_type must be message.received or message.received.spam",
                )
                .with_param("event_type")
            })
        })
        .transpose()?;
    let range = date_range(&ctx)?;
    let mailbox = ctx.query("mailbox_id");
    let search = search(&ctx);
    let now = ctx.app.clock.unix_millis();
    let mut store = ctx.store();
    ensure_seeded(&mut store, ctx.seed(), ctx.team, now);
    let page =
        store
            .logs
            .inbox
            .page_where(ctx.team, ctx.parts.uri.query(), DEFAULT_LIMIT, |log| {
                event_type.is_none_or(|t| log.event_type == t)
                    && in_range(log.received_at_ms, range)
                    && mailbox
                        .as_deref()
                        .is_none_or(|m| log.mailbox_id.as_deref() == Some(m))
                    && search.as_deref().is_none_or(|s| log.matches(s))
            })?;
    Ok(ctx.page(&page))
}

/// The inbox log read declares no conditional request: the item with its
/// ETag, never `304`.
fn get_inbox(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let now = ctx.app.clock.unix_millis();
    let mut store = ctx.store();
    ensure_seeded(&mut store, ctx.seed(), ctx.team, now);
    let rendered = store
        .logs
        .inbox
        .rendered(ctx.team, ctx.param("public_id"))?;
    Ok(ctx.item(http::StatusCode::OK, &rendered))
}

/// Counts by status (`EmailMetricsSummary`, and the counts of the other
/// metrics shapes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
struct Counts {
    total: u64,
    sent: u64,
    failed: u64,
    rejected: u64,
    pending: u64,
}

impl Counts {
    fn add(&mut self, status: DeliveryStatus) {
        self.total += 1;
        match status {
            DeliveryStatus::Sent => self.sent += 1,
            DeliveryStatus::Failed => self.failed += 1,
            DeliveryStatus::Rejected => self.rejected += 1,
            DeliveryStatus::Pending => self.pending += 1,
        }
    }
}

#[derive(Serialize)]
struct ChangePct {
    total: f64,
    sent: f64,
    failed: f64,
    rejected: f64,
    pending: f64,
}

/// Change from `before` to `now` in percent, one decimal; from nothing to
/// something is `100`, from nothing to nothing `0`.
fn change(before: u64, now: u64) -> f64 {
    if before == 0 {
        return if now == 0 { 0.0 } else { 100.0 };
    }
    let pct = (now as f64 - before as f64) / before as f64 * 100.0;
    (pct * 10.0).round() / 10.0
}

#[derive(Serialize)]
struct Comparison {
    #[serde(flatten)]
    counts: Counts,
    change_pct: ChangePct,
}

#[derive(Serialize)]
struct TimeseriesItem {
    timestamp: String,
    #[serde(flatten)]
    counts: Counts,
}

#[derive(Serialize)]
struct Metrics {
    summary: Counts,
    comparison: Comparison,
    timeseries: Vec<TimeseriesItem>,
}

/// Counts of the stored delivery logs by creation time: the period is
/// `from_date`..`to_date` when given (each bound as the list reads it),
/// else the `window` (24 h by default) up to and including now, or up to
/// `to_date`. The comparison is the period of the same length just
/// before; the time series has a bucket per UTC hour or day (`daily` by
/// default) from the one holding the start.
fn metrics(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let window = match ctx.query("window").as_deref() {
        None | Some("24h") => DAY_MS,
        Some("7d") => 7 * DAY_MS,
        Some("30d") => 30 * DAY_MS,
        Some(_) => {
            return Err(
                ApiError::invalid_parameter("window must be 24h, 7d or 30d").with_param("window")
            );
        }
    };
    let bucket = match ctx.query("granularity").as_deref() {
        None | Some("daily") => DAY_MS,
        Some("hourly") => HOUR_MS,
        Some(_) => {
            return Err(
                ApiError::invalid_parameter("granularity must be hourly or daily")
                    .with_param("granularity"),
            );
        }
    };
    let (from, to) = date_range(&ctx)?;
    let now = ctx.app.clock.unix_millis();
    let to = to.unwrap_or(now.saturating_add(1));
    let from = from.unwrap_or_else(|| to.saturating_sub(1).saturating_sub(window));
    if from >= to {
        return Err(
            ApiError::invalid_parameter("from_date must be before to_date").with_param("from_date"),
        );
    }
    let first = from - from % bucket;
    let buckets = (to - first).div_ceil(bucket);
    if buckets > MAX_BUCKETS {
        return Err(ApiError::invalid_parameter(format!(
            "the period holds more than {MAX_BUCKETS} {} buckets; choose a shorter one or daily granularity",
            if bucket == HOUR_MS { "hourly" } else { "daily" }
        ))
        .with_param("granularity"));
    }
    let provider = ctx.query("provider_id");
    let len = to - from;
    let before = (from.saturating_sub(len), from);
    let mut store = ctx.store();
    ensure_seeded(&mut store, ctx.seed(), ctx.team, now);
    let mut summary = Counts::default();
    let mut previous = Counts::default();
    let mut series = vec![Counts::default(); usize::try_from(buckets).unwrap_or(0)];
    let logs = store.logs.email.iter_team(ctx.team).filter(|log| {
        provider
            .as_deref()
            .is_none_or(|p| log.provider.as_ref().is_some_and(|(id, _)| id == p))
    });
    for log in logs {
        let at = log.created_at_ms;
        if in_range(at, (Some(from), Some(to))) {
            summary.add(log.status);
            let slot = usize::try_from((at - first) / bucket).unwrap_or(usize::MAX);
            if let Some(counts) = series.get_mut(slot) {
                counts.add(log.status);
            }
        } else if in_range(at, (Some(before.0), Some(before.1))) {
            previous.add(log.status);
        }
    }
    let timeseries = series
        .into_iter()
        .zip(0..)
        .map(|(counts, i)| TimeseriesItem {
            timestamp: rfc3339(first + i * bucket),
            counts,
        })
        .collect();
    Ok(ctx.ok(Metrics {
        summary,
        comparison: Comparison {
            counts: previous,
            change_pct: ChangePct {
                total: change(previous.total, summary.total),
                sent: change(previous.sent, summary.sent),
                failed: change(previous.failed, summary.failed),
                rejected: change(previous.rejected, summary.rejected),
                pending: change(previous.pending, summary.pending),
            },
        },
        timeseries,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times_parse_as_the_lists_read_them() {
        let day = 1_767_225_600_000; // 2026-01-01T00:00:00Z
        assert_eq!(parse_date("2026-01-01", false), Some(day));
        assert_eq!(parse_date("2026-01-01", true), Some(day + DAY_MS));
        assert_eq!(parse_date("2026-01-01T00:00:00Z", false), Some(day));
        assert_eq!(parse_date("2026-01-01T00:00:00Z", true), Some(day + 1));
        assert_eq!(parse_date("2026-01-01T01:30:00+01:30", false), Some(day));
        assert_eq!(parse_date("2026-01-01T01:30:00 01:30", false), Some(day));
        assert_eq!(parse_date("2025-12-31T23:00:00-01:00", false), Some(day));
        assert_eq!(
            parse_date("2026-01-01T00:00:00.25Z", false),
            Some(day + 250)
        );
        assert_eq!(parse_date("2024-02-29", false).map(|d| d % DAY_MS), Some(0));
        for bad in [
            "",
            "2026",
            "2026-13-01",
            "2026-02-29",
            "2026-01-01T24:00:00Z",
            "2026-01-01T00:00:00",
            "2026-01-01T00:00Z",
            "2026/01/01",
            "1969-12-31",
            "2026-01-01T00:00:00.Z",
            "2026-01-01T00:00:00+0100",
        ] {
            assert_eq!(parse_date(bad, false), None, "{bad}");
        }
        assert_eq!(
            rfc3339(parse_date("2031-07-15T08:09:10Z", false).unwrap_or(0)),
            "2031-07-15T08:09:10Z"
        );
    }

    #[test]
    fn changes_in_percent() {
        assert_eq!(change(0, 0), 0.0);
        assert_eq!(change(0, 5), 100.0);
        assert_eq!(change(4, 5), 25.0);
        assert_eq!(change(3, 1), -66.7);
    }

    #[test]
    fn seeded_logs_cover_every_status_and_a_recorded_log_comes_first() {
        let now = 1_767_225_600_000;
        let mut store = Resources::new(9);
        ensure_seeded(&mut store, 9, "team_a", now);
        let statuses: HashSet<&str> = store
            .logs
            .email
            .iter_team("team_a")
            .map(|l| match l.status {
                DeliveryStatus::Pending => "pending",
                DeliveryStatus::Sent => "sent",
                DeliveryStatus::Failed => "failed",
                DeliveryStatus::Rejected => "rejected",
            })
            .collect();
        assert_eq!(statuses.len(), 4, "{statuses:?}");
        assert_eq!(store.logs.email.team_len("team_a"), 120);
        assert_eq!(store.logs.inbox.team_len("team_a"), 60);
        assert!(
            store
                .logs
                .email
                .iter_team("team_a")
                .all(|l| l.created_at_ms < now)
        );

        let id = record_email_log(
            &mut store,
            9,
            "team_a",
            now + 5_000,
            NewEmailLog {
                from_email: "hello@acme.com".to_owned(),
                to: vec!["a@example.com".to_owned()],
                cc: vec!["b@example.com".to_owned()],
                bcc: Vec::new(),
                subject: Some("Hi".to_owned()),
                message_id: None,
                size_bytes: Some(1234),
                provider: None,
                status: DeliveryStatus::Rejected,
                status_reason: Some("blocked".to_owned()),
            },
        );
        assert!(id.starts_with("dlog_"), "{id}");
        assert_eq!(
            store.logs.email.team_len("team_a"),
            121,
            "no second seeding"
        );
        let newest = store.logs.email.iter_team("team_a").next();
        let json = newest.map(|l| serde_json::to_value(l.detail()).unwrap_or_default());
        let json = json.unwrap_or_default();
        assert_eq!(json["id"], id.as_str());
        assert_eq!(json["status"], "rejected");
        assert_eq!(json["to_email"], "a@example.com");
        assert_eq!(json["recipient_count"], 2);
        assert_eq!(json["rejected_recipient_count"], 2);
        assert_eq!(json["recipients"][1]["type"], "cc");
        assert_eq!(json["recipients"][1]["reason"], "blocked");
        assert_eq!(json["sent_at"], serde_json::Value::Null);
        // A team that never asked gets its logs seeded first.
        record_email_log(
            &mut store,
            9,
            "team_b",
            now,
            NewEmailLog {
                from_email: "x@acme.com".to_owned(),
                to: vec!["c@example.com".to_owned()],
                cc: Vec::new(),
                bcc: Vec::new(),
                subject: None,
                message_id: None,
                size_bytes: None,
                provider: None,
                status: DeliveryStatus::Sent,
                status_reason: None,
            },
        );
        assert_eq!(store.logs.email.team_len("team_b"), 121);
    }
}
