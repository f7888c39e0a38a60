//! One message of the Sending API as sent (`EmailSendRequest`) and the
//! checks the schema cannot express: address shapes, the 50-recipient
//! cap, custom header names, inline attachment encoding and references to
//! uploaded attachments. The schema check ran before any of this.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::Deserialize;

use crate::api::{ApiError, FieldError};
use crate::resources::domains::check_domain_name;

/// Most recipients of one message, `to`, `cc` and `bcc` together.
pub(crate) const MAX_RECIPIENTS: usize = 50;

/// Recipients at this domain bounce (`message.bounced`); all others are
/// delivered (`message.delivered`).
pub(crate) const BOUNCE_DOMAIN: &str = "bounce.invalid";

/// `Address` and `Recipient` (the display name is not needed here).
#[derive(Debug, Deserialize)]
pub(crate) struct Address {
    pub(crate) email: String,
}

/// An entry of `attachments[]`: a file uploaded before, or inline bytes.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum AttachmentInput {
    /// `UploadedAttachmentRef`.
    Uploaded { attachment_id: String },
    /// `InlineAttachment`; `encoding` can only be `base64` (the schema
    /// says so) and the media type is not needed here.
    Inline { filename: String, content: String },
}

/// `EmailSendRequest`, the fields the mock acts on.
#[derive(Debug, Deserialize)]
pub(crate) struct SendRequest {
    pub(crate) from: Address,
    pub(crate) to: Address,
    pub(crate) subject: String,
    pub(crate) html_body: String,
    #[serde(default)]
    pub(crate) text_body: Option<String>,
    #[serde(default)]
    pub(crate) cc: Vec<Address>,
    #[serde(default)]
    pub(crate) bcc: Vec<Address>,
    #[serde(default)]
    pub(crate) reply_to: Option<Address>,
    #[serde(default)]
    pub(crate) return_path: Option<String>,
    #[serde(default)]
    pub(crate) custom_headers: BTreeMap<String, String>,
    #[serde(default)]
    pub(crate) attachments: Vec<AttachmentInput>,
}

/// An uploaded attachment a message may name: its file name and size.
pub(crate) struct Uploaded {
    pub(crate) filename: String,
    pub(crate) size_bytes: u64,
}

/// A message that passed every check, as the outbox keeps it.
#[derive(Debug, Clone)]
pub(crate) struct Message {
    pub(crate) from: String,
    pub(crate) to: String,
    pub(crate) cc: Vec<String>,
    pub(crate) bcc: Vec<String>,
    pub(crate) subject: String,
    /// The HTML body, and the plain-text one when given: what a mock
    /// mailbox among the recipients receives.
    pub(crate) html: String,
    pub(crate) text: Option<String>,
    /// Subject, bodies and attachments, in bytes.
    pub(crate) size_bytes: u64,
    /// File names of the attachments, in order.
    pub(crate) attachments: Vec<String>,
}

impl Message {
    /// Every recipient: `to`, then `cc`, then `bcc`.
    pub(crate) fn recipients(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.to.as_str())
            .chain(self.cc.iter().map(String::as_str))
            .chain(self.bcc.iter().map(String::as_str))
    }
}

/// Whether mail to `email` bounces in the mock.
pub(crate) fn bounces(email: &str) -> bool {
    email
        .rsplit_once('@')
        .is_some_and(|(_, domain)| domain.eq_ignore_ascii_case(BOUNCE_DOMAIN))
}

/// Checks `request` and returns the message it describes, or every
/// problem found, each `field` prefixed with `prefix` (`messages.3.` in a
/// batch, empty for a single send). `uploaded` finds an attachment id of
/// the sender's team that has not expired.
pub(crate) fn check(
    request: SendRequest,
    prefix: &str,
    uploaded: impl Fn(&str) -> Option<Uploaded>,
) -> Result<Message, Vec<FieldError>> {
    let mut problems = Vec::new();
    let mut issue = |field: String, code: &str, message: String| {
        problems.push(FieldError {
            field: format!("{prefix}{field}"),
            code: code.to_owned(),
            message,
        });
    };
    let mut address = |field: &str, email: &str| {
        if let Err(why) = check_email(email) {
            issue(
                field.to_owned(),
                "invalid_string",
                format!("{prefix}{field} {why}"),
            );
        }
    };
    address("from.email", &request.from.email);
    address("to.email", &request.to.email);
    for (list, entries) in [("cc", &request.cc), ("bcc", &request.bcc)] {
        for (i, r) in entries.iter().enumerate() {
            address(&format!("{list}.{i}.email"), &r.email);
        }
    }
    if let Some(reply_to) = &request.reply_to {
        address("reply_to.email", &reply_to.email);
    }
    if let Some(return_path) = &request.return_path {
        address("return_path", return_path);
    }
    let recipients = 1 + request.cc.len() + request.bcc.len();
    if recipients > MAX_RECIPIENTS {
        let field = if request.bcc.is_empty() { "cc" } else { "bcc" };
        issue(
            field.to_owned(),
            "too_big",
            format!(
                "a message takes at most {MAX_RECIPIENTS} recipients in to, cc and bcc together, got {recipients}"
            ),
        );
    }
    for name in request.custom_headers.keys() {
        if !custom_header_name(name) {
            issue(
                format!("custom_headers.{name}"),
                "invalid_key",
                "custom header names start with `X-` and hold only letters, digits and `-`"
                    .to_owned(),
            );
        }
    }
    let mut size = [
        &request.subject,
        &request.html_body,
        request.text_body.as_ref().unwrap_or(&String::new()),
    ]
    .iter()
    .map(|s| s.len() as u64)
    .sum::<u64>();
    let mut attachments = Vec::with_capacity(request.attachments.len());
    for (i, attachment) in request.attachments.into_iter().enumerate() {
        match attachment {
            AttachmentInput::Uploaded { attachment_id } => match uploaded(&attachment_id) {
                Some(found) => {
                    size += found.size_bytes;
                    attachments.push(found.filename);
                }
                None => issue(
                    format!("attachments.{i}.attachment_id"),
                    "not_found",
                    format!(
                        "{attachment_id} is not an uploaded attachment of this team, or it expired"
                    ),
                ),
            },
            AttachmentInput::Inline { filename, content } => {
                if let Err(why) = check_filename(&filename) {
                    issue(
                        format!("attachments.{i}.filename"),
                        "invalid_string",
                        format!("{prefix}attachments.{i}.filename {why}"),
                    );
                }
                match base64::engine::general_purpose::STANDARD.decode(content.trim()) {
                    Ok(bytes) if !bytes.is_empty() => size += bytes.len() as u64,
                    _ => issue(
                        format!("attachments.{i}.content"),
                        "invalid_base64",
                        "content must be the file's bytes in standard base64".to_owned(),
                    ),
                }
                attachments.push(filename);
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let emails = |list: Vec<Address>| list.into_iter().map(|a| a.email).collect();
    Ok(Message {
        from: request.from.email,
        to: request.to.email,
        cc: emails(request.cc),
        bcc: emails(request.bcc),
        subject: request.subject,
        html: request.html_body,
        text: request.text_body,
        size_bytes: size,
        attachments,
    })
}

/// `422 validation_error` listing `problems`, the first one in `param`.
pub(crate) fn invalid(problems: Vec<FieldError>) -> ApiError {
    let first = problems.first();
    let message = first.map_or_else(
        || "the message is not valid".to_owned(),
        |p| format!("{}: {}", p.field, p.message),
    );
    let param = first.map(|p| p.field.clone()).unwrap_or_default();
    ApiError::validation_error(message)
        .with_param(param)
        .with_errors(problems)
}

/// An address the mock accepts: a local part of 1 to 64 visible ASCII
/// characters (no space, quote, bracket, comma, colon, semicolon or `@`;
/// no leading, trailing or double dot), `@`, and a valid domain name in
/// any case.
pub(crate) fn check_email(email: &str) -> Result<(), &'static str> {
    let (local, domain) = email
        .rsplit_once('@')
        .ok_or("must be an address of the form name@domain")?;
    if local.is_empty() || local.len() > 64 {
        return Err("must have a local part of 1 to 64 characters");
    }
    let allowed = |b: u8| b.is_ascii_graphic() && !b"\"(),:;<>[\\]@".contains(&b);
    if !local.bytes().all(allowed) {
        return Err("has a character an unquoted local part cannot hold");
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err("must not start or end with a dot or hold two in a row");
    }
    check_domain_name(&domain.to_ascii_lowercase())
        .map_err(|_| "must have a valid domain after the @")
}

/// `X-` and then letters, digits and hyphens.
fn custom_header_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.len() > 2
        && lower.starts_with("x-")
        && lower
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// A file name, not a path: no `/`, `\` or control characters.
pub(crate) fn check_filename(name: &str) -> Result<(), &'static str> {
    if name.contains(['/', '\\']) || name.chars().any(char::is_control) {
        return Err("must be a plain file name, without path separators or control characters");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        for ok in [
            "a@acme.com",
            "O'Brien+tag@Mail.Acme.COM",
            "x@bounce.invalid",
        ] {
            assert!(check_email(ok).is_ok(), "{ok}");
        }
        for bad in [
            "acme.com",
            "@acme.com",
            "a@",
            "a b@acme.com",
            ".a@acme.com",
            "a..b@acme.com",
            "a@acme",
            "a@-acme.com",
        ] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
        assert!(bounces("someone@Bounce.Invalid"));
        assert!(!bounces("someone@bounce.invalid.example.com"));
    }

    fn request(value: serde_json::Value) -> SendRequest {
        serde_json::from_value(value).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn every_problem_is_listed_under_its_prefixed_field() {
        let cc: Vec<serde_json::Value> = (0..49)
            .map(|i| serde_json::json!({ "email": format!("c{i}@acme.com") }))
            .collect();
        let r = request(serde_json::json!({
            "from": { "email": "not-an-address" },
            "to": { "email": "to@acme.com" },
            "subject": "s",
            "html_body": "<p>b</p>",
            "cc": cc,
            "bcc": [{ "email": "b@acme.com" }],
            "custom_headers": { "Subject": "x" },
            "attachments": [
                { "attachment_id": "att_000000000000000000000000" },
                { "filename": "a/b.txt", "content": "!!" }
            ]
        }));
        let problems = check(r, "messages.2.", |_| None).err().unwrap_or_default();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "messages.2.from.email",
                "messages.2.bcc",
                "messages.2.custom_headers.Subject",
                "messages.2.attachments.0.attachment_id",
                "messages.2.attachments.1.filename",
                "messages.2.attachments.1.content",
            ]
        );
    }

    #[test]
    fn a_good_message_keeps_its_recipients_and_sizes() {
        let r = request(serde_json::json!({
            "from": { "email": "me@acme.com", "name": "Me" },
            "to": { "email": "you@example.com" },
            "subject": "hello",
            "html_body": "<p>hi</p>",
            "text_body": "hi",
            "bcc": [{ "email": "x@bounce.invalid" }],
            "custom_headers": { "X-Campaign": "spring" },
            "attachments": [
                { "attachment_id": "att_000000000000000000000000" },
                { "filename": "a.txt", "content": "aGVsbG8=" }
            ]
        }));
        let uploaded = |id: &str| {
            (id == "att_000000000000000000000000").then(|| Uploaded {
                filename: "big.pdf".to_owned(),
                size_bytes: 1000,
            })
        };
        let m = check(r, "", uploaded).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            m.recipients().collect::<Vec<_>>(),
            ["you@example.com", "x@bounce.invalid"]
        );
        assert_eq!(m.attachments, ["big.pdf", "a.txt"]);
        // 5 + 9 + 2 text bytes, 1000 uploaded, 5 inline.
        assert_eq!(m.size_bytes, 1021);
    }
}
