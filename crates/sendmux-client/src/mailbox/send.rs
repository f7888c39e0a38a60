//! Sending from the mailbox: `POST /mailbox/messages/send`.

use base64::Engine as _;
use sendmux_api::types as wire;
use sendmux_operations::ops;

use super::Mailbox;
use crate::error::InvalidInput;
use crate::request::{Json, Request, data};
use crate::response::Response;
use crate::sending::Address;
use crate::validate;

/// [`Messages::send`](super::Messages::send): add recipients, a body and
/// attachments, then await the queued message's id.
pub type SendMessage =
    Request<Response<wire::SendMailboxMessageResult>, Json<wire::SendMailboxMessageBody>>;

/// A file attached to a message sent from the mailbox: small content
/// inline (base64 in the JSON body), or a file uploaded before by its
/// blob id (an upload's answer converts with `From`).
///
/// ```
/// use sendmux_client::mailbox::MessageAttachment;
///
/// let small = MessageAttachment::inline("notes.txt", "text/plain", b"hello");
/// let large = MessageAttachment::blob("blob_123", "report.pdf", "application/pdf");
/// # let _ = (small, large);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct MessageAttachment(wire::SendAttachment);

impl MessageAttachment {
    /// `content` sent inline, base64-encoded. Keep it small: the session
    /// reports the most an inline attachment may hold
    /// (`limits.inline_attachment_bytes_max`); upload larger files.
    pub fn inline(
        filename: impl Into<String>,
        content_type: impl Into<String>,
        content: impl AsRef<[u8]>,
    ) -> Self {
        Self(wire::SendAttachment::Inline(wire::SendAttachmentInline {
            content: base64::engine::general_purpose::STANDARD.encode(content),
            content_type: content_type.into(),
            filename: filename.into(),
        }))
    }

    /// A file uploaded before, by the blob id its upload answered.
    pub fn blob(
        blob_id: impl Into<String>,
        filename: impl Into<String>,
        content_type: impl Into<String>,
    ) -> Self {
        Self(wire::SendAttachment::Blob(wire::SendAttachmentBlob {
            blob_id: blob_id.into(),
            content_type: content_type.into(),
            filename: filename.into(),
        }))
    }

    fn check(&self, field: &str) -> Result<(), InvalidInput> {
        let (filename, content_type, blob) = match &self.0 {
            wire::SendAttachment::Inline(a) => (&a.filename, &a.content_type, None),
            wire::SendAttachment::Blob(a) => (&a.filename, &a.content_type, Some(&a.blob_id)),
        };
        if filename.trim().is_empty() {
            return Err(InvalidInput::new(
                format!("{field}.filename"),
                "is empty",
                "name the file, e.g. `report.pdf`",
            ));
        }
        let shaped = content_type
            .split_once('/')
            .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty())
            && !content_type.contains(char::is_whitespace);
        if !shaped {
            return Err(InvalidInput::new(
                format!("{field}.content_type"),
                format!("{content_type:?} is not a media type"),
                "pass a type such as `application/pdf`",
            ));
        }
        if let Some(blob) = blob {
            validate::resource_id("blob_id", blob).map_err(|mut problem| {
                problem.field = format!("{field}.blob_id");
                problem
            })?;
        }
        Ok(())
    }
}

impl From<wire::SendAttachment> for MessageAttachment {
    fn from(attachment: wire::SendAttachment) -> Self {
        Self(attachment)
    }
}

/// An uploaded file (the answer of an attachment upload), sent by its
/// blob id with the name and type it was uploaded with.
impl From<&wire::MailboxAttachmentUploadResult> for MessageAttachment {
    fn from(uploaded: &wire::MailboxAttachmentUploadResult) -> Self {
        Self::blob(
            uploaded.blob_id.clone(),
            uploaded.filename.clone(),
            uploaded.content_type.clone(),
        )
    }
}

/// An uploaded file, as for the borrowed answer.
impl From<wire::MailboxAttachmentUploadResult> for MessageAttachment {
    fn from(uploaded: wire::MailboxAttachmentUploadResult) -> Self {
        Self::blob(uploaded.blob_id, uploaded.filename, uploaded.content_type)
    }
}

/// The wire form of `address`, checked as `field`.
fn address(field: &'static str, address: Address) -> Result<wire::MailboxAddress, InvalidInput> {
    validate::email(field, address.email())?;
    if address
        .name()
        .is_some_and(|name| name.contains(['\r', '\n']))
    {
        return Err(InvalidInput::new(
            field,
            "has a display name with a line break",
            "keep the name on one line",
        ));
    }
    Ok(wire::MailboxAddress {
        email: address.email().to_owned(),
        name: address.name().map(str::to_owned),
    })
}

pub(crate) fn new(mailbox: &Mailbox, to: Address, subject: String) -> SendMessage {
    let subject_checked = if subject.contains(['\r', '\n']) {
        Err(InvalidInput::new(
            "subject",
            "has a line break",
            "keep the subject on one line",
        ))
    } else {
        Ok(())
    };
    let body = wire::SendMailboxMessageBody {
        attachments: Vec::new(),
        bcc: Vec::new(),
        cc: Vec::new(),
        custom_headers: Default::default(),
        from: None,
        html_body: None,
        reply_to: Vec::new(),
        subject,
        text_body: None,
        to: Vec::new(),
    };
    mailbox
        .call(ops::MAILBOX_SEND_MESSAGE, &[], data)
        .check(subject_checked)
        .json(body)
        .to(to)
}

impl SendMessage {
    /// Another main recipient.
    pub fn to(self, recipient: impl Into<Address>) -> Self {
        let checked = address("to", recipient.into());
        self.set(checked, |body, a| body.0.to.push(a))
    }

    /// A copy recipient.
    pub fn cc(self, recipient: impl Into<Address>) -> Self {
        let checked = address("cc", recipient.into());
        self.set(checked, |body, a| body.0.cc.push(a))
    }

    /// A hidden copy recipient.
    pub fn bcc(self, recipient: impl Into<Address>) -> Self {
        let checked = address("bcc", recipient.into());
        self.set(checked, |body, a| body.0.bcc.push(a))
    }

    /// An address for `Reply-To`.
    pub fn reply_to(self, recipient: impl Into<Address>) -> Self {
        let checked = address("reply_to", recipient.into());
        self.set(checked, |body, a| body.0.reply_to.push(a))
    }

    /// The sender; the mailbox's default identity when left out.
    pub fn from(self, sender: impl Into<Address>) -> Self {
        let checked = address("from", sender.into());
        self.set(checked, |body, a| body.0.from = Some(a))
    }

    /// The plain-text body.
    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.body.0.text_body = Some(text.into());
        self
    }

    /// The HTML body.
    pub fn html(mut self, html: impl Into<String>) -> Self {
        self.body.0.html_body = Some(html.into());
        self
    }

    /// An extra header.
    pub fn custom_header(self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let (name, value) = (name.into(), value.into());
        let fine = !name.is_empty()
            && name.bytes().all(|b| b.is_ascii_graphic() && b != b':')
            && !value.contains(['\r', '\n']);
        let checked = if fine {
            Ok((name, value))
        } else {
            Err(InvalidInput::new(
                "custom_headers",
                format!("{name:?} is not a header name with a one-line value"),
                "use a name such as `X-Campaign` and a value without line breaks",
            ))
        };
        self.set(checked, |body, (name, value)| {
            body.0.custom_headers.insert(name, value);
        })
    }

    /// Attaches a file.
    pub fn attach(self, attachment: impl Into<MessageAttachment>) -> Self {
        let attachment = attachment.into();
        let field = format!("attachments[{}]", self.body.0.attachments.len());
        let checked = attachment.check(&field).map(|()| attachment.0);
        self.set(checked, |body, a| body.0.attachments.push(a))
    }
}
