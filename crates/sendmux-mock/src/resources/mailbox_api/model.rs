//! What the Mailbox API stores per mailbox (messages, folders, threads,
//! submissions, blobs, the identity) and the wire views of it.

use std::collections::{BTreeSet, HashSet};

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::clock::rfc3339;
use crate::ids;

/// Characters of a message's `preview`.
pub(crate) const PREVIEW_CHARS: usize = 200;

/// A `MailboxAddress`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Address {
    pub(crate) email: String,
    pub(crate) name: Option<String>,
}

impl Address {
    /// `Name <email>`, `"Name" <email>` or a bare address.
    pub(crate) fn parse(raw: &str) -> Self {
        let raw = raw.trim();
        if let (Some(lt), true) = (raw.rfind('<'), raw.ends_with('>')) {
            let email = raw[lt + 1..raw.len() - 1].trim();
            let name = raw[..lt].trim().trim_matches('"').trim();
            return Self {
                email: email.to_owned(),
                name: (!name.is_empty()).then(|| name.to_owned()),
            };
        }
        Self {
            email: raw.to_owned(),
            name: None,
        }
    }

    /// `Name <email>` or the bare address, for headers.
    pub(crate) fn header(&self) -> String {
        match &self.name {
            Some(name) => format!("\"{name}\" <{}>", self.email),
            None => self.email.clone(),
        }
    }

    /// Address or name contains `needle` (lowercase), for filters.
    pub(crate) fn matches(&self, needle: &str) -> bool {
        self.email.to_lowercase().contains(needle)
            || self
                .name
                .as_deref()
                .is_some_and(|n| n.to_lowercase().contains(needle))
    }
}

/// A plausible address: one `@` with text on both sides and no spaces or
/// angle brackets (what the `email` format of the schema accepts).
pub(crate) fn plausible_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && email
            .chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, '<' | '>' | '(' | ')' | ',' | ';'))
}

/// One attachment of a stored message; the bytes are shared, never copied.
#[derive(Debug, Clone)]
pub(crate) struct Attachment {
    pub(crate) id: String,
    pub(crate) filename: Option<String>,
    pub(crate) content_type: String,
    pub(crate) disposition: Option<&'static str>,
    pub(crate) content_id: Option<String>,
    pub(crate) bytes: Bytes,
}

/// One stored message.
#[derive(Debug, Clone)]
pub(crate) struct Message {
    pub(crate) id: String,
    pub(crate) seq: u64,
    pub(crate) thread_id: String,
    pub(crate) folder_id: String,
    /// Lowercase keywords, system ones (`$seen`, `$flagged`, `$draft`,
    /// `$answered`) included.
    pub(crate) keywords: BTreeSet<String>,
    pub(crate) from: Option<Address>,
    pub(crate) to: Vec<Address>,
    pub(crate) cc: Vec<Address>,
    pub(crate) bcc: Vec<Address>,
    pub(crate) reply_to: Vec<Address>,
    pub(crate) subject: Option<String>,
    pub(crate) text: Option<String>,
    pub(crate) html: Option<String>,
    pub(crate) received_at_ms: u64,
    pub(crate) sent_at_ms: Option<u64>,
    /// The RFC 5322 `Message-ID`, with its angle brackets.
    pub(crate) rfc_message_id: String,
    pub(crate) in_reply_to: Option<String>,
    pub(crate) references: Vec<String>,
    /// Every header, in order.
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) attachments: Vec<Attachment>,
    pub(crate) size_bytes: u64,
    /// Arrived as spam (`message.received.spam`).
    pub(crate) spam: bool,
}

impl Message {
    pub(crate) fn seen(&self) -> bool {
        self.keywords.contains("$seen")
    }

    pub(crate) fn flags(&self) -> Flags {
        Flags {
            seen: self.seen(),
            flagged: self.keywords.contains("$flagged"),
            draft: self.keywords.contains("$draft"),
            answered: self.keywords.contains("$answered"),
        }
    }

    /// The body as plain text: the text part, else the HTML part without
    /// its markup.
    pub(crate) fn plain_text(&self) -> Option<String> {
        self.text
            .clone()
            .or_else(|| self.html.as_deref().map(html_to_text))
    }

    pub(crate) fn preview(&self) -> Option<String> {
        let text = self.plain_text()?;
        let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
        Some(truncate_chars(&collapsed, PREVIEW_CHARS).0.to_owned())
    }

    /// Every address on the message (from, to, cc), for participants.
    pub(crate) fn participants(&self) -> impl Iterator<Item = &Address> {
        self.from.iter().chain(&self.to).chain(&self.cc)
    }

    /// The value of header `name` (case-insensitive), if present.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Size of the message as it would be stored: headers, bodies and
    /// base64-encoded attachments.
    pub(crate) fn compute_size(&self) -> u64 {
        let headers: usize = self
            .headers
            .iter()
            .map(|(n, v)| n.len() + v.len() + 4)
            .sum();
        let bodies =
            self.text.as_ref().map_or(0, String::len) + self.html.as_ref().map_or(0, String::len);
        let attachments: u64 = self
            .attachments
            .iter()
            .map(|a| (a.bytes.len() as u64).div_ceil(3) * 4 + 200)
            .sum();
        (headers + bodies) as u64 + attachments
    }

    /// The wire summary (`MailboxMessageSummary`); attachment metadata
    /// carries download URLs when `links` can make them.
    pub(crate) fn summary<'a>(&'a self, links: &Links<'_>) -> Summary<'a> {
        Summary {
            id: &self.id,
            thread_id: Some(&self.thread_id),
            folder_ids: [&self.folder_id],
            subject: self.subject.as_deref(),
            preview: self.preview(),
            from: self.from.as_ref(),
            to: &self.to,
            cc: &self.cc,
            bcc: &self.bcc,
            received_at: Some(rfc3339(self.received_at_ms)),
            sent_at: self.sent_at_ms.map(rfc3339),
            size_bytes: Some(self.size_bytes),
            has_attachments: !self.attachments.is_empty(),
            keywords: self.keywords.iter().map(String::as_str).collect(),
            flags: self.flags(),
            attachments: self.attachment_views(links),
        }
    }

    pub(crate) fn attachment_views(&self, links: &Links<'_>) -> Vec<AttachmentView<'_>> {
        self.attachments
            .iter()
            .map(|a| AttachmentView {
                id: &a.id,
                filename: a.filename.as_deref(),
                content_type: &a.content_type,
                size_bytes: Some(a.bytes.len() as u64),
                disposition: a.disposition,
                content_id: a.content_id.as_deref(),
                download_url: links.download_url(&self.id, &a.id),
            })
            .collect()
    }

    /// The wire detail (`MailboxMessage`).
    pub(crate) fn detail<'a>(&'a self, links: &Links<'_>) -> Detail<'a> {
        Detail {
            summary: self.summary(links),
            text_body: self.text.as_deref(),
            html_body: self.html.as_deref(),
        }
    }
}

/// `MailboxMessageFlags`.
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct Flags {
    pub(crate) seen: bool,
    pub(crate) flagged: bool,
    pub(crate) draft: bool,
    pub(crate) answered: bool,
}

/// `MailboxAttachment`.
#[derive(Debug, Serialize)]
pub(crate) struct AttachmentView<'a> {
    id: &'a str,
    filename: Option<&'a str>,
    content_type: &'a str,
    size_bytes: Option<u64>,
    disposition: Option<&'a str>,
    content_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    download_url: Option<String>,
}

/// `MailboxMessageSummary`.
#[derive(Debug, Serialize)]
pub(crate) struct Summary<'a> {
    pub(crate) id: &'a str,
    pub(crate) thread_id: Option<&'a str>,
    pub(crate) folder_ids: [&'a str; 1],
    pub(crate) subject: Option<&'a str>,
    pub(crate) preview: Option<String>,
    pub(crate) from: Option<&'a Address>,
    pub(crate) to: &'a [Address],
    pub(crate) cc: &'a [Address],
    pub(crate) bcc: &'a [Address],
    pub(crate) received_at: Option<String>,
    pub(crate) sent_at: Option<String>,
    pub(crate) size_bytes: Option<u64>,
    pub(crate) has_attachments: bool,
    pub(crate) keywords: Vec<&'a str>,
    pub(crate) flags: Flags,
    pub(crate) attachments: Vec<AttachmentView<'a>>,
}

/// `MailboxMessage`.
#[derive(Debug, Serialize)]
pub(crate) struct Detail<'a> {
    #[serde(flatten)]
    summary: Summary<'a>,
    text_body: Option<&'a str>,
    html_body: Option<&'a str>,
}

/// Where download URLs point and how long their tokens live. Without a
/// base (no `Host` header, or an ETag computation) no URL is made.
pub(crate) struct Links<'a> {
    pub(crate) base: Option<&'a str>,
    pub(crate) seed: u64,
    /// Expiry of tokens made now, unix seconds.
    pub(crate) expires: u64,
}

impl Links<'_> {
    /// No URLs: what ETags are computed from, so they stay stable while
    /// URLs are renewed.
    pub(crate) fn none() -> Links<'static> {
        Links {
            base: None,
            seed: 0,
            expires: 0,
        }
    }

    fn download_url(&self, message_id: &str, attachment_id: &str) -> Option<String> {
        let base = self.base?;
        let token = download_token(self.seed, message_id, attachment_id, self.expires);
        Some(format!(
            "{base}/mailbox/messages/{message_id}/attachment-downloads/{attachment_id}?download_token={token}"
        ))
    }
}

/// `{expiry in hex}.{mac}`: good for one attachment until the expiry.
pub(crate) fn download_token(
    seed: u64,
    message_id: &str,
    attachment_id: &str,
    expires: u64,
) -> String {
    let mac = ids::hash_bytes(
        seed ^ expires ^ 0x646f_776e,
        format!("{message_id}/{attachment_id}").as_bytes(),
    );
    format!("{expires:x}.{mac:016x}")
}

/// The expiry a valid token names, or `None` for a forged one.
pub(crate) fn check_download_token(
    seed: u64,
    message_id: &str,
    attachment_id: &str,
    token: &str,
) -> Option<u64> {
    let (hex, _) = token.split_once('.')?;
    let expires = u64::from_str_radix(hex, 16).ok()?;
    (download_token(seed, message_id, attachment_id, expires) == token).then_some(expires)
}

/// One folder. Counts are computed from the messages when rendered.
#[derive(Debug, Clone)]
pub(crate) struct Folder {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) parent_id: Option<String>,
    /// Set on built-in folders, which cannot be renamed, moved or deleted.
    pub(crate) role: Option<&'static str>,
    pub(crate) sort_order: i64,
}

/// `MailboxFolder`.
#[derive(Debug, Serialize)]
pub(crate) struct FolderView<'a> {
    pub(crate) id: &'a str,
    pub(crate) name: &'a str,
    pub(crate) parent_id: Option<&'a str>,
    pub(crate) role: Option<&'a str>,
    pub(crate) sort_order: Option<i64>,
    pub(crate) total_messages: u64,
    pub(crate) unread_messages: u64,
    pub(crate) can_add_items: bool,
}

impl Folder {
    pub(crate) fn view(&self, (total, unread): (u64, u64)) -> FolderView<'_> {
        FolderView {
            id: &self.id,
            name: &self.name,
            parent_id: self.parent_id.as_deref(),
            role: self.role,
            sort_order: Some(self.sort_order),
            total_messages: total,
            unread_messages: unread,
            can_add_items: true,
        }
    }
}

/// A conversation: its messages by storage position.
#[derive(Debug, Clone)]
pub(crate) struct Thread {
    pub(crate) id: String,
    /// Normalised subject new messages are grouped by.
    pub(crate) subject_key: String,
    pub(crate) messages: BTreeSet<u64>,
}

/// A subject without reply and forward prefixes, lowercase, for grouping.
pub(crate) fn subject_key(subject: Option<&str>) -> String {
    let mut s = subject.unwrap_or("").trim();
    loop {
        let lower = s.to_ascii_lowercase();
        let stripped = ["re:", "fwd:", "fw:", "aw:", "sv:"]
            .iter()
            .find(|p| lower.starts_with(*p))
            .map(|p| s[p.len()..].trim_start());
        match stripped {
            Some(rest) => s = rest,
            None => return s.to_lowercase(),
        }
    }
}

/// Unique addresses in order of appearance.
pub(crate) fn unique_addresses<'a>(all: impl Iterator<Item = &'a Address>) -> Vec<&'a Address> {
    let mut seen = HashSet::new();
    all.filter(|a| seen.insert(a.email.to_lowercase()))
        .collect()
}

/// One send submission.
#[derive(Debug, Clone)]
pub(crate) struct Submission {
    pub(crate) id: String,
    pub(crate) identity_id: String,
    pub(crate) email_id: String,
    pub(crate) thread_id: String,
    pub(crate) send_at_ms: u64,
    pub(crate) mail_from: String,
    pub(crate) rcpt_to: Vec<String>,
}

/// `MailboxSubmission` and its parts.
#[derive(Debug, Serialize)]
pub(crate) struct SubmissionView<'a> {
    id: &'a str,
    identity_id: Option<&'a str>,
    email_id: Option<&'a str>,
    thread_id: Option<&'a str>,
    send_at: Option<String>,
    undo_status: Option<&'a str>,
    envelope: Option<Envelope<'a>>,
    delivery_status: Vec<DeliveryStatus<'a>>,
    dsn_blob_ids: [&'a str; 0],
    mdn_blob_ids: [&'a str; 0],
}

#[derive(Debug, Serialize)]
struct Envelope<'a> {
    mail_from: Option<EnvelopeAddress<'a>>,
    rcpt_to: Vec<EnvelopeAddress<'a>>,
}

#[derive(Debug, Serialize)]
struct EnvelopeAddress<'a> {
    email: &'a str,
    parameters: Option<()>,
}

#[derive(Debug, Serialize)]
struct DeliveryStatus<'a> {
    email: &'a str,
    smtp_reply: Option<&'a str>,
    delivered: Option<&'a str>,
    displayed: Option<&'a str>,
}

impl Submission {
    pub(crate) fn view(&self) -> SubmissionView<'_> {
        SubmissionView {
            id: &self.id,
            identity_id: Some(&self.identity_id),
            email_id: Some(&self.email_id),
            thread_id: Some(&self.thread_id),
            send_at: Some(rfc3339(self.send_at_ms)),
            // Sent at once: nothing left to undo.
            undo_status: Some("final"),
            envelope: Some(Envelope {
                mail_from: Some(EnvelopeAddress {
                    email: &self.mail_from,
                    parameters: None,
                }),
                rcpt_to: self
                    .rcpt_to
                    .iter()
                    .map(|email| EnvelopeAddress {
                        email,
                        parameters: None,
                    })
                    .collect(),
            }),
            delivery_status: self
                .rcpt_to
                .iter()
                .map(|email| DeliveryStatus {
                    email,
                    smtp_reply: None,
                    delivered: Some("queued"),
                    displayed: Some("unknown"),
                })
                .collect(),
            dsn_blob_ids: [],
            mdn_blob_ids: [],
        }
    }
}

/// The mailbox's one sender identity; the name follows the mailbox's
/// display name until set here.
#[derive(Debug, Clone, Default)]
pub(crate) struct Identity {
    pub(crate) id: String,
    pub(crate) name: Option<String>,
    pub(crate) text_signature: String,
    pub(crate) html_signature: String,
}

/// `MailboxIdentity`.
#[derive(Debug, Serialize)]
pub(crate) struct IdentityView<'a> {
    pub(crate) id: &'a str,
    pub(crate) name: &'a str,
    pub(crate) email: &'a str,
    pub(crate) reply_to: [&'a str; 0],
    pub(crate) bcc: [&'a str; 0],
    pub(crate) text_signature: &'a str,
    pub(crate) html_signature: &'a str,
    pub(crate) may_delete: bool,
}

/// An uploaded attachment waiting to be sent.
#[derive(Debug, Clone)]
pub(crate) struct Blob {
    pub(crate) id: String,
    pub(crate) filename: String,
    pub(crate) content_type: String,
    pub(crate) bytes: Bytes,
}

/// `MailboxAttachmentUploadResult`.
#[derive(Debug, Serialize)]
pub(crate) struct BlobView<'a> {
    pub(crate) blob_id: &'a str,
    pub(crate) filename: &'a str,
    pub(crate) content_type: &'a str,
    pub(crate) size_bytes: u64,
}

impl Blob {
    pub(crate) fn view(&self) -> BlobView<'_> {
        BlobView {
            blob_id: &self.id,
            filename: &self.filename,
            content_type: &self.content_type,
            size_bytes: self.bytes.len() as u64,
        }
    }
}

/// A signed upload URL that was issued and not used yet.
#[derive(Debug, Clone)]
pub(crate) struct PendingUpload {
    pub(crate) filename: String,
    pub(crate) content_type: String,
    pub(crate) size_bytes: u64,
    pub(crate) expires_ms: u64,
    pub(crate) token: String,
}

/// The text of an HTML body: tags dropped (script and style with their
/// content), block ends as line breaks, the common entities decoded.
pub(crate) fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        let after = &rest[lt..];
        let Some(gt) = after.find('>') else {
            rest = "";
            break;
        };
        let tag = after[1..gt].trim().to_ascii_lowercase();
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        rest = &after[gt + 1..];
        if (name == "script" || name == "style") && !tag.starts_with('/') {
            let close = format!("</{name}");
            match rest.to_ascii_lowercase().find(&close) {
                Some(end) => {
                    rest = &rest[end..];
                    rest = rest.find('>').map_or("", |gt| &rest[gt + 1..]);
                }
                None => rest = "",
            }
            continue;
        }
        if matches!(
            name.as_str(),
            "br" | "p" | "div" | "li" | "tr" | "h1" | "h2" | "h3"
        ) && (name == "br" || tag.starts_with('/'))
        {
            out.push('\n');
        }
    }
    out.push_str(rest);
    decode_entities(&out).trim().to_owned()
}

fn decode_entities(s: &str) -> String {
    s.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// At most `max` characters of `s` and whether it was cut.
pub(crate) fn truncate_chars(s: &str, max: usize) -> (&str, bool) {
    match s.char_indices().nth(max) {
        Some((at, _)) => (&s[..at], true),
        None => (s, false),
    }
}

/// At most `max` bytes of `s`, cut at a character boundary.
pub(crate) fn truncate_bytes(s: &str, max: usize) -> (&str, bool) {
    if s.len() <= max {
        return (s, false);
    }
    let mut at = max;
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    (&s[..at], true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_with_and_without_names() {
        let a = Address::parse("\"Ada L\" <ada@example.com>");
        assert_eq!(a.email, "ada@example.com");
        assert_eq!(a.name.as_deref(), Some("Ada L"));
        let b = Address::parse(" bob@example.com ");
        assert_eq!((b.email.as_str(), b.name), ("bob@example.com", None));
        assert!(plausible_email("a@b.co"));
        for bad in ["a@b", "@b.co", "a b@c.co", "a@@b.co", "a@.co"] {
            assert!(!plausible_email(bad), "{bad}");
        }
    }

    #[test]
    fn subjects_group_without_reply_prefixes() {
        assert_eq!(subject_key(Some("Re: FWD: re:  Hello")), "hello");
        assert_eq!(subject_key(Some("Hello")), "hello");
        assert_eq!(subject_key(None), "");
    }

    #[test]
    fn html_becomes_text() {
        let text = html_to_text(
            "<html><style>p{}</style><p>Hi &amp; welcome</p><script>x()</script><p>Bye<br>now</p>",
        );
        assert_eq!(text, "Hi & welcome\nBye\nnow");
    }

    #[test]
    fn truncation_respects_characters() {
        assert_eq!(truncate_chars("héllo", 2), ("hé", true));
        assert_eq!(truncate_chars("hé", 2), ("hé", false));
        assert_eq!(truncate_bytes("hé", 2), ("h", true));
    }

    #[test]
    fn download_tokens_bind_message_attachment_and_expiry() {
        let t = download_token(1, "msg_a", "att_b", 100);
        assert_eq!(check_download_token(1, "msg_a", "att_b", &t), Some(100));
        assert_eq!(check_download_token(1, "msg_a", "att_c", &t), None);
        assert_eq!(check_download_token(2, "msg_a", "att_b", &t), None);
        let forged = t.replacen("64", "65", 1);
        assert_eq!(check_download_token(1, "msg_a", "att_b", &forged), None);
    }
}
