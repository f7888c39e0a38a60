//! The Sending API: `client.sending()`.
//!
//! It lives on its own host ([`DEFAULT_SENDING_BASE_URL`](crate::DEFAULT_SENDING_BASE_URL),
//! or [`ClientBuilder::sending_base_url`](crate::ClientBuilder::sending_base_url))
//! and takes a mailbox key (`smx_mbx_...`) or an agent token
//! (`smx_agent_...`): give one with
//! [`ClientBuilder::mailbox_key`](crate::ClientBuilder::mailbox_key) or
//! [`Client::with_mailbox_key`]. Every send carries an idempotency key,
//! made once per call and reused by its retries, so a retry after a lost
//! answer cannot send twice. Emails are checked against the published
//! limits before any request is made.

mod batch;
mod codes;
mod email;
mod openapi;
mod upload;

use sendmux_api::sending::types as wire;
use sendmux_operations::ops;

use crate::Client;
use crate::request::{Request, data};
use crate::response::Response;

/// The generated models of the Sending API (from
/// [`sendmux_api::sending::types`]).
pub use sendmux_api::sending::types;

pub use batch::{
    BatchOutcome, BatchRequest, BatchSend, ChunkFailure, ItemOutcome, MAX_BATCH_MESSAGES,
    SendState, chunk_idempotency_key,
};
pub use codes::SendingErrorCode;
pub use email::{
    Address, Attachment, Email, MAX_ATTACHMENTS, MAX_BODY_CHARS, MAX_RECIPIENTS, MAX_REQUEST_BYTES,
    MAX_SUBJECT_CHARS,
};
pub use openapi::{GetOpenApiDocument, GetOpenApiDocumentIfChanged, OpenApiDocument};
pub use upload::{
    AttachmentInfo, CompleteUpload, CreateUpload, GetAttachment, SendWithFiles, SignedBody,
    UploadAttachment, UploadBody, UploadIntent, UploadReader,
};

/// A queued email: its id (`eml_...`) and status (the generated model).
pub type Sent = wire::SendSuccessData;

/// [`Sending::send`] and [`Sending::send_email`]: set the email's fields
/// and per-call options, then await.
pub type SendEmail = Request<Response<Sent>, Email>;

/// Handle on the Sending API; get one from [`Client::sending`].
///
/// ```no_run
/// # async fn run() -> Result<(), sendmux_client::Error> {
/// use sendmux_client::Client;
///
/// let client = Client::builder().mailbox_key("smx_mbx_...").build()?;
/// let sent = client
///     .sending()
///     .send("agent@mail.acme.com", "ada@example.com")
///     .subject("Your report")
///     .html("<p>It is ready.</p>")
///     .await?;
/// println!("queued {}", sent.message_id);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Sending {
    client: Client,
}

impl Sending {
    pub(crate) fn new(client: Client) -> Self {
        Self { client }
    }

    /// Sends one email from `from` to `to` (`POST /emails/send`); set at
    /// least [`subject`](SendEmail::subject) and [`html`](SendEmail::html).
    /// The answer is the queued message's id.
    ///
    /// The email is checked before any request: addresses, the subject
    /// (one line, 1 to 998 characters), the bodies, at most 50 recipients
    /// and 10 attachments, and a JSON body of at most 25 MiB. The call
    /// carries an automatic idempotency key, reused by its retries; give
    /// your own with [`idempotency_key`](Request::idempotency_key) to repeat
    /// the call safely later.
    ///
    /// ```no_run
    /// # async fn f(sending: sendmux_client::sending::Sending) -> Result<(), sendmux_client::Error> {
    /// use sendmux_client::sending::{Address, Attachment};
    ///
    /// let sent = sending
    ///     .send(Address::named("Acme", "agent@mail.acme.com"), "ada@example.com")
    ///     .cc("grace@example.com")
    ///     .subject("Invoice 42")
    ///     .html("<p>Your invoice is attached.</p>")
    ///     .text("Your invoice is attached.")
    ///     .attach(Attachment::bytes("invoice.txt", b"total: 42"))
    ///     .idempotency_key("invoice-42")
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn send(&self, from: impl Into<Address>, to: impl Into<Address>) -> SendEmail {
        self.send_email(Email::new(from, to))
    }

    /// Sends an email built beforehand (`POST /emails/send`), as
    /// [`send`](Self::send) does.
    ///
    /// ```no_run
    /// # async fn f(sending: sendmux_client::sending::Sending) -> Result<(), sendmux_client::Error> {
    /// use sendmux_client::sending::Email;
    ///
    /// let email = Email::new("agent@mail.acme.com", "ada@example.com")
    ///     .subject("Hello")
    ///     .html("<p>Hello</p>");
    /// sending.send_email(email).await?;
    /// # Ok(()) }
    /// ```
    pub fn send_email(&self, email: Email) -> SendEmail {
        self.client
            .request(ops::SENDING_SEND_EMAIL, &[], data)
            .with_body(email)
    }

    /// Sends any number of emails through the batch endpoint
    /// (`POST /emails/send/batch`), up to 100 per request, one request
    /// after another, and returns one [`ItemOutcome`] per email in input
    /// order.
    ///
    /// Every email is checked before any request. A request closes at 100
    /// emails, or earlier when the next would take its body over 25 MiB.
    /// Each carries an idempotency key derived from the call's (yours, or
    /// one generated per call): a call of one request sends the call's key
    /// as it is, larger calls send [`chunk_idempotency_key`]`(key, i)` for
    /// request `i`. When a request fails, later ones are not made and
    /// their emails are reported as [`SendState::NotSent`]; repeating the
    /// call with the same key and emails is safe, as the server replays
    /// the requests that completed.
    ///
    /// ```no_run
    /// # async fn f(sending: sendmux_client::sending::Sending) -> Result<(), sendmux_client::Error> {
    /// use sendmux_client::sending::Email;
    ///
    /// let emails: Vec<Email> = ["ada@example.com", "grace@example.com"]
    ///     .into_iter()
    ///     .map(|to| Email::new("news@mail.acme.com", to).subject("News").html("<p>News</p>"))
    ///     .collect();
    /// let outcome = sending.send_batch(emails).idempotency_key("news-2026-11").await?;
    /// println!("{} of {} queued", outcome.queued(), outcome.items.len());
    /// # Ok(()) }
    /// ```
    pub fn send_batch(&self, emails: impl IntoIterator<Item = Email>) -> BatchSend {
        BatchSend::new(self.client.clone(), emails.into_iter().collect())
    }
}
