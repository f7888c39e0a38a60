//! One email of the Sending API, checked against the published limits
//! before it is encoded.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use bytes::Bytes;
use sendmux_api::sending::types as wire;

use crate::error::{Error, InvalidInput};
use crate::request::{Body, Request};
use crate::validate;

/// Largest request body the Sending API takes (25 MiB), for one email or
/// one batch.
pub const MAX_REQUEST_BYTES: usize = 26_214_400;
/// Longest HTML or text body, in characters.
pub const MAX_BODY_CHARS: usize = 26_214_400;
/// Longest subject, in characters (RFC 5322's line limit).
pub const MAX_SUBJECT_CHARS: usize = 998;
/// Most recipients of one email, `to`, `cc` and `bcc` together.
pub const MAX_RECIPIENTS: usize = 50;
/// Most attachments of one email.
pub const MAX_ATTACHMENTS: usize = 10;
/// Longest display name, in characters.
const MAX_NAME_CHARS: usize = 100;
/// Longest custom header value, in characters.
const MAX_HEADER_VALUE_CHARS: usize = 500;
/// Longest attachment file name, in characters.
const MAX_FILENAME_CHARS: usize = 255;

/// An email address with an optional display name.
///
/// ```
/// use sendmux_client::sending::Address;
///
/// let plain: Address = "ada@example.com".into();
/// let named = Address::named("Ada Lovelace", "ada@example.com");
/// assert_eq!(named.email(), plain.email());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    email: String,
    name: Option<String>,
}

impl Address {
    /// An address without a display name.
    pub fn new(email: impl Into<String>) -> Self {
        Self {
            email: email.into(),
            name: None,
        }
    }

    /// An address shown as `name` (at most 100 characters, one line).
    pub fn named(name: impl Into<String>, email: impl Into<String>) -> Self {
        Self {
            email: email.into(),
            name: Some(name.into()),
        }
    }

    /// The address.
    pub fn email(&self) -> &str {
        &self.email
    }

    /// The display name, if any.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
}

impl From<&str> for Address {
    fn from(email: &str) -> Self {
        Self::new(email)
    }
}

impl From<String> for Address {
    fn from(email: String) -> Self {
        Self::new(email)
    }
}

impl From<&String> for Address {
    fn from(email: &String) -> Self {
        Self::new(email.as_str())
    }
}

/// A file attached to an email: its bytes, sent inline (base64 in the
/// JSON body), or a file uploaded before with
/// [`Sending::upload`](super::Sending::upload), by id. To attach a local
/// file, see [`SendEmail::attach_file`](super::SendEmail).
///
/// ```
/// use sendmux_client::sending::Attachment;
///
/// let inline = Attachment::bytes("hello.txt", b"hello").content_type("text/plain");
/// let uploaded = Attachment::uploaded("att_0123456789abcdefghijklmn");
/// # let _ = (inline, uploaded);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Attachment(Kind);

#[derive(Clone, PartialEq, Eq)]
enum Kind {
    Inline {
        filename: String,
        /// Base64, made once when the attachment is built.
        content: String,
        size: usize,
        content_type: Option<String>,
    },
    Uploaded(String),
}

impl Attachment {
    /// `content` sent inline under `filename`, whose extension must be one
    /// the API allows. Counts towards the 25 MiB request limit as base64
    /// (a third more than the bytes); upload large files instead.
    pub fn bytes(filename: impl Into<String>, content: impl AsRef<[u8]>) -> Self {
        let content = content.as_ref();
        Self(Kind::Inline {
            filename: filename.into(),
            content: base64::engine::general_purpose::STANDARD.encode(content),
            size: content.len(),
            content_type: None,
        })
    }

    /// A file uploaded earlier (`att_...`), by its id.
    pub fn uploaded(attachment_id: impl Into<String>) -> Self {
        Self(Kind::Uploaded(attachment_id.into()))
    }

    /// The MIME type of an inline attachment, instead of the one the API
    /// guesses from its name. An uploaded file keeps the type it was
    /// uploaded with.
    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        if let Kind::Inline {
            content_type: slot, ..
        } = &mut self.0
        {
            *slot = Some(content_type.into());
        }
        self
    }

    /// The wire form, or the first problem (`field` is `attachments[i]`).
    fn wire(&self, field: &str) -> Result<wire::Attachment, InvalidInput> {
        match &self.0 {
            Kind::Inline {
                filename,
                content,
                size,
                content_type,
            } => {
                check_filename(&format!("{field}.filename"), filename)?;
                if *size == 0 {
                    return Err(InvalidInput::new(
                        format!("{field}.content"),
                        "is empty",
                        "attach a file of at least one byte",
                    ));
                }
                let inline = wire::InlineAttachment {
                    content: convert(format!("{field}.content"), content.clone())?,
                    encoding: Some(wire::InlineAttachmentEncoding::Base64),
                    filename: convert(format!("{field}.filename"), filename.clone())?,
                    type_: content_type.clone(),
                };
                Ok(inline.into())
            }
            Kind::Uploaded(id) => {
                if let Err(mut problem) = validate::resource_id("attachment_id", id) {
                    problem.field = format!("{field}.attachment_id");
                    return Err(problem);
                }
                Ok(wire::UploadedAttachmentRef {
                    attachment_id: id.clone(),
                }
                .into())
            }
        }
    }
}

impl fmt::Debug for Attachment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The content can be megabytes: show its size only.
        match &self.0 {
            Kind::Inline {
                filename,
                size,
                content_type,
                ..
            } => f
                .debug_struct("Inline")
                .field("filename", filename)
                .field("bytes", size)
                .field("content_type", content_type)
                .finish(),
            Kind::Uploaded(id) => f.debug_tuple("Uploaded").field(id).finish(),
        }
    }
}

/// One email: sender, recipients, subject, bodies, headers and
/// attachments. Build one for [`Sending::send_batch`](super::Sending::send_batch)
/// or [`Sending::send_email`](super::Sending::send_email); [`Sending::send`](super::Sending::send)
/// builds one for you.
///
/// Setters never fail: everything is checked against the published limits
/// when the email is sent, and a problem is returned as
/// [`Error::InvalidInput`] before any request is made.
///
/// ```
/// use sendmux_client::sending::{Address, Email};
///
/// let email = Email::new(Address::named("Agent", "agent@mail.acme.com"), "ada@example.com")
///     .cc("grace@example.com")
///     .subject("Your report")
///     .html("<p>Attached.</p>")
///     .text("Attached.");
/// # let _ = email;
/// ```
#[derive(Clone)]
pub struct Email {
    pub(super) from: Address,
    pub(super) to: Address,
    pub(super) cc: Vec<Address>,
    pub(super) bcc: Vec<Address>,
    pub(super) reply_to: Option<Address>,
    pub(super) return_path: Option<String>,
    pub(super) subject: Option<String>,
    pub(super) html: Option<String>,
    pub(super) text: Option<String>,
    pub(super) headers: BTreeMap<String, String>,
    pub(super) attachments: Vec<Attachment>,
}

impl Email {
    /// An email from `from` to `to`; add a subject and an HTML body before
    /// sending.
    pub fn new(from: impl Into<Address>, to: impl Into<Address>) -> Self {
        Self {
            from: from.into(),
            to: to.into(),
            cc: Vec::new(),
            bcc: Vec::new(),
            reply_to: None,
            return_path: None,
            subject: None,
            html: None,
            text: None,
            headers: BTreeMap::new(),
            attachments: Vec::new(),
        }
    }

    fn email_mut(&mut self) -> &mut Email {
        self
    }

    /// The wire form, every field checked; fields are named as in the
    /// request body (`to.email`, `cc[1].name`, `attachments[0].filename`).
    pub(crate) fn wire(
        &self,
        extra_attachments: usize,
    ) -> Result<wire::EmailSendRequest, InvalidInput> {
        let recipients = 1 + self.cc.len() + self.bcc.len();
        if recipients > MAX_RECIPIENTS {
            return Err(InvalidInput::new(
                "cc",
                format!("makes {recipients} recipients with `to` and `bcc`"),
                format!("send to at most {MAX_RECIPIENTS} recipients per email; split the list"),
            ));
        }
        let attachments = self.attachments.len() + extra_attachments;
        if attachments > MAX_ATTACHMENTS {
            return Err(InvalidInput::new(
                "attachments",
                format!("has {attachments} files"),
                format!("attach at most {MAX_ATTACHMENTS} files per email"),
            ));
        }
        let subject = self.subject.as_deref().ok_or_else(|| {
            InvalidInput::new("subject", "is missing", "set it with .subject(..)")
        })?;
        check_line("subject", subject, 1, MAX_SUBJECT_CHARS)?;
        let html = self.html.as_deref().ok_or_else(|| {
            InvalidInput::new(
                "html_body",
                "is missing",
                "set it with .html(..): the Sending API requires an HTML body \
                 (.text(..) adds the plain-text alternative)",
            )
        })?;
        check_chars("html_body", html, 1, MAX_BODY_CHARS)?;
        if let Some(text) = &self.text {
            check_chars("text_body", text, 0, MAX_BODY_CHARS)?;
        }
        let mut custom_headers = std::collections::HashMap::with_capacity(self.headers.len());
        for (name, value) in &self.headers {
            let field = format!("custom_headers.{name}");
            check_header_name(&field, name)?;
            check_line(&field, value, 0, MAX_HEADER_VALUE_CHARS)?;
            custom_headers.insert(name.clone(), convert(field, value.clone())?);
        }
        let return_path = match &self.return_path {
            Some(address) => {
                validate::email("return_path", address)?;
                Some(convert("return_path".into(), address.clone())?)
            }
            None => None,
        };
        let mut wire_attachments = Vec::with_capacity(self.attachments.len());
        for (i, attachment) in self.attachments.iter().enumerate() {
            wire_attachments.push(attachment.wire(&format!("attachments[{i}]"))?);
        }
        Ok(wire::EmailSendRequest {
            attachments: wire_attachments,
            bcc: recipient_list("bcc", &self.bcc)?,
            cc: recipient_list("cc", &self.cc)?,
            custom_headers,
            from: address("from", &self.from)?,
            html_body: convert("html_body".into(), html.to_owned())?,
            reply_to: self
                .reply_to
                .as_ref()
                .map(|a| address("reply_to", a))
                .transpose()?,
            return_path,
            subject: convert("subject".into(), subject.to_owned())?,
            text_body: self
                .text
                .as_ref()
                .map(|t| convert("text_body".into(), t.clone()))
                .transpose()?,
            to: address("to", &self.to)?,
        })
    }

    /// The JSON of this email, checked, and no larger than one request may be.
    pub(crate) fn encode_checked(&self, extra_attachments: usize) -> Result<Vec<u8>, Error> {
        let wire = self.wire(extra_attachments)?;
        let json = serde_json::to_vec(&wire).map_err(|e| Error::Setup {
            message: "could not encode the email".into(),
            source: Box::new(e),
        })?;
        if json.len() > MAX_REQUEST_BYTES {
            return Err(too_large("email", json.len()).into());
        }
        Ok(json)
    }
}

/// The refusal of a body over [`MAX_REQUEST_BYTES`].
pub(crate) fn too_large(field: &str, bytes: usize) -> InvalidInput {
    InvalidInput::new(
        field,
        format!("is {bytes} bytes as JSON, over the {MAX_REQUEST_BYTES}-byte request limit"),
        "upload large files with sending().upload_file(..) and attach them by id",
    )
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Bodies can be megabytes: show their sizes.
        f.debug_struct("Email")
            .field("from", &self.from)
            .field("to", &self.to)
            .field("cc", &self.cc)
            .field("bcc", &self.bcc)
            .field("reply_to", &self.reply_to)
            .field("subject", &self.subject)
            .field("html_bytes", &self.html.as_ref().map(String::len))
            .field("text_bytes", &self.text.as_ref().map(String::len))
            .field("custom_headers", &self.headers.keys().collect::<Vec<_>>())
            .field("attachments", &self.attachments)
            .finish_non_exhaustive()
    }
}

impl Body for Email {
    fn encode(&self) -> Result<Option<Bytes>, Error> {
        self.encode_checked(0).map(|json| Some(Bytes::from(json)))
    }
}

/// Setters shared by [`Email`] and the request that sends one.
macro_rules! email_setters {
    ($(impl[$($generics:tt)*] $target:ty;)*) => {$(
        impl<$($generics)*> $target {
            /// Adds a `Cc` recipient (at most 49, and 50 recipients in all).
            pub fn cc(mut self, address: impl Into<Address>) -> Self {
                self.email_mut().cc.push(address.into());
                self
            }

            /// Adds a `Bcc` recipient (at most 49, and 50 recipients in all).
            pub fn bcc(mut self, address: impl Into<Address>) -> Self {
                self.email_mut().bcc.push(address.into());
                self
            }

            /// Where replies go (`Reply-To`).
            pub fn reply_to(mut self, address: impl Into<Address>) -> Self {
                self.email_mut().reply_to = Some(address.into());
                self
            }

            /// The envelope sender bounces go to, for VERP.
            pub fn return_path(mut self, address: impl Into<String>) -> Self {
                self.email_mut().return_path = Some(address.into());
                self
            }

            /// The subject: required, one line, 1 to 998 characters.
            pub fn subject(mut self, subject: impl Into<String>) -> Self {
                self.email_mut().subject = Some(subject.into());
                self
            }

            /// The HTML body: required, at most 25 MiB of text.
            pub fn html(mut self, html: impl Into<String>) -> Self {
                self.email_mut().html = Some(html.into());
                self
            }

            /// The plain-text alternative of the HTML body.
            pub fn text(mut self, text: impl Into<String>) -> Self {
                self.email_mut().text = Some(text.into());
                self
            }

            /// Adds a custom `X-...` header to the email (a value of at most
            /// 500 characters on one line); the same name again replaces it.
            pub fn custom_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
                self.email_mut().headers.insert(name.into(), value.into());
                self
            }

            /// Adds an attachment (at most 10 per email).
            pub fn attach(mut self, attachment: Attachment) -> Self {
                self.email_mut().attachments.push(attachment);
                self
            }
        }
    )*};
}

email_setters! {
    impl[] Email;
    impl[T] Request<T, Email>;
}

impl<T> Request<T, Email> {
    fn email_mut(&mut self) -> &mut Email {
        &mut self.body
    }
}

/// `value` as the generated type, whose conversion checks the documented
/// lengths.
fn convert<T>(field: String, value: String) -> Result<T, InvalidInput>
where
    T: TryFrom<String>,
    T::Error: fmt::Display,
{
    T::try_from(value).map_err(|e| {
        InvalidInput::new(
            field,
            format!("is {e}"),
            "keep it within the documented length",
        )
    })
}

fn address(field: &str, value: &Address) -> Result<wire::Address, InvalidInput> {
    checked_address(field, value)?;
    Ok(wire::Address {
        email: convert(format!("{field}.email"), value.email.clone())?,
        name: value
            .name
            .clone()
            .map(|name| convert(format!("{field}.name"), name))
            .transpose()?,
    })
}

fn recipient_list(field: &str, list: &[Address]) -> Result<Vec<wire::Recipient>, InvalidInput> {
    list.iter()
        .enumerate()
        .map(|(i, value)| {
            let field = format!("{field}[{i}]");
            checked_address(&field, value)?;
            Ok(wire::Recipient {
                email: convert(format!("{field}.email"), value.email.clone())?,
                name: value
                    .name
                    .clone()
                    .map(|name| convert(format!("{field}.name"), name))
                    .transpose()?,
            })
        })
        .collect()
}

/// The address's shape and its name's length and line.
fn checked_address(field: &str, value: &Address) -> Result<(), InvalidInput> {
    validate::email("email", &value.email).map_err(|mut e| {
        e.field = format!("{field}.email");
        e
    })?;
    if let Some(name) = &value.name {
        check_line(&format!("{field}.name"), name, 0, MAX_NAME_CHARS)?;
    }
    Ok(())
}

fn check_chars(field: &str, value: &str, min: usize, max: usize) -> Result<(), InvalidInput> {
    // Byte length bounds the character count: skip counting when it can.
    if value.len() <= max && value.len() >= min.max(1) * 4 {
        return Ok(());
    }
    let n = value.chars().count();
    if (min..=max).contains(&n) {
        return Ok(());
    }
    Err(InvalidInput::new(
        field,
        format!("is {n} characters long"),
        format!("use {min} to {max} characters"),
    ))
}

/// One line of `min..=max` characters: a line break would start a new
/// header.
fn check_line(field: &str, value: &str, min: usize, max: usize) -> Result<(), InvalidInput> {
    if value.contains(['\r', '\n']) {
        return Err(InvalidInput::new(
            field,
            "contains a line break",
            "keep it on one line",
        ));
    }
    check_chars(field, value, min, max)
}

/// A bare file name of 1 to 255 characters on one line.
pub(super) fn check_filename(field: &str, value: &str) -> Result<(), InvalidInput> {
    check_line(field, value, 1, MAX_FILENAME_CHARS)?;
    if value.contains(['/', '\\']) {
        return Err(InvalidInput::new(
            field,
            format!("{value:?} contains a path separator"),
            "pass the bare file name, e.g. `report.pdf`",
        ));
    }
    Ok(())
}

/// A custom header's name: a header token starting with `X-`.
fn check_header_name(field: &str, name: &str) -> Result<(), InvalidInput> {
    let token = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    let custom = name.len() > 2 && name.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("x-"));
    if token && custom {
        return Ok(());
    }
    Err(InvalidInput::new(
        field,
        format!("{name:?} is not a custom header name"),
        "use a name starting with `X-`, e.g. `X-Campaign`",
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn ready() -> Email {
        Email::new("agent@mail.acme.com", "ada@example.com")
            .subject("Hi")
            .html("<p>Hi</p>")
    }

    fn field_of(email: &Email) -> String {
        email.wire(0).unwrap_err().field
    }

    #[test]
    fn every_limit_names_its_field() {
        assert!(ready().wire(0).is_ok());
        let cases: Vec<(Email, &str)> = vec![
            (
                Email::new("agent", "ada@example.com")
                    .subject("s")
                    .html("h"),
                "from.email",
            ),
            (ready().cc("grace@example.com").cc("nope"), "cc[1].email"),
            (
                ready().bcc(Address::named("a\nb", "b@example.com")),
                "bcc[0].name",
            ),
            (
                ready().reply_to(Address::named("x".repeat(101), "r@example.com")),
                "reply_to.name",
            ),
            (
                Email::new("a@example.com", "b@example.com").html("h"),
                "subject",
            ),
            (ready().subject(""), "subject"),
            (ready().subject("a\r\nBcc: x@y.com"), "subject"),
            (ready().subject("s".repeat(999)), "subject"),
            (
                Email::new("a@example.com", "b@example.com")
                    .subject("s")
                    .text("t"),
                "html_body",
            ),
            (ready().html(""), "html_body"),
            (
                ready().custom_header("Subject", "x"),
                "custom_headers.Subject",
            ),
            (
                ready().custom_header("X-Bad", "a\nb"),
                "custom_headers.X-Bad",
            ),
            // A multi-byte character across the prefix must not panic.
            (
                ready().custom_header("a\u{e9}b", "x"),
                "custom_headers.a\u{e9}b",
            ),
            (
                ready().custom_header("X-\u{e9}", "x"),
                "custom_headers.X-\u{e9}",
            ),
            (
                ready().custom_header("X-Long", "v".repeat(501)),
                "custom_headers.X-Long",
            ),
            (ready().return_path("bounces"), "return_path"),
            (
                ready().attach(Attachment::bytes("", b"x")),
                "attachments[0].filename",
            ),
            (
                ready().attach(Attachment::bytes("a/b.txt", b"x")),
                "attachments[0].filename",
            ),
            (
                ready().attach(Attachment::bytes("a.txt", b"")),
                "attachments[0].content",
            ),
            (
                ready().attach(Attachment::uploaded("att 1")),
                "attachments[0].attachment_id",
            ),
        ];
        for (email, field) in cases {
            assert_eq!(field_of(&email), field, "{email:?}");
        }
        let crowded = (0..50).fold(ready(), |e, i| e.cc(format!("r{i}@example.com")));
        assert_eq!(field_of(&crowded), "cc");
        let heavy = (0..11).fold(ready(), |e, _| e.attach(Attachment::uploaded("att_1")));
        assert_eq!(field_of(&heavy), "attachments");
        assert!(ready().wire(10).is_ok());
        assert_eq!(ready().wire(11).unwrap_err().field, "attachments");
    }

    #[test]
    fn the_wire_form_has_the_published_names() {
        let email = ready()
            .text("Hi")
            .cc(Address::named("Grace", "grace@example.com"))
            .custom_header("X-Campaign", "spring")
            .attach(Attachment::bytes("a.txt", b"hello").content_type("text/plain"))
            .attach(Attachment::uploaded("att_1"));
        let json: serde_json::Value =
            serde_json::from_slice(&email.encode_checked(0).unwrap()).unwrap();
        assert_eq!(json["from"]["email"], "agent@mail.acme.com");
        assert_eq!(json["to"]["email"], "ada@example.com");
        assert_eq!(json["cc"][0]["name"], "Grace");
        assert_eq!(json["html_body"], "<p>Hi</p>");
        assert_eq!(json["text_body"], "Hi");
        assert_eq!(json["custom_headers"]["X-Campaign"], "spring");
        assert_eq!(json["attachments"][0]["content"], "aGVsbG8=");
        assert_eq!(json["attachments"][0]["type"], "text/plain");
        assert_eq!(json["attachments"][1]["attachment_id"], "att_1");
        assert!(json.get("bcc").is_none() && json.get("reply_to").is_none());
    }

    #[test]
    fn a_body_over_the_request_limit_is_refused() {
        let big = ready().attach(Attachment::bytes("big.bin", vec![0u8; 20 * 1024 * 1024]));
        let Error::InvalidInput(problem) = big.encode_checked(0).unwrap_err() else {
            panic!("not InvalidInput");
        };
        assert_eq!(problem.field, "email");
        let shown = format!("{big:?}");
        assert!(
            shown.len() < 1_000,
            "Debug prints the content: {} bytes",
            shown.len()
        );
    }
}
