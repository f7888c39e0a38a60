//! Attachments of the Mailbox API, streamed both ways.
//!
//! Downloads (`GET /mailbox/messages/{message_id}/attachments/{attachment_id}`)
//! hand the body over chunk by chunk as it arrives ([`Download::stream`],
//! [`Download::reader`]), take a byte range, and resume into a file after a
//! broken connection ([`Download::save_to`]). Uploads stream from memory,
//! a file or a reader with a known length: directly
//! (`POST /mailbox/attachments:upload`) or through a signed URL
//! (`POST /mailbox/attachment-uploads`, then a `PUT` without the API key).
//! Either answers with a blob id to send the file with.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::io;
use std::ops::{Bound, RangeBounds};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::{self, BoxStream, StreamExt};
use http::{HeaderValue, header};
use sendmux_api::types as wire;
use sendmux_operations::ops;
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncSeekExt, AsyncWriteExt, ReadBuf};
use tracing::{Instrument, field::Empty};

use super::Mailbox;
use crate::Client;
use crate::error::{Error, InvalidInput};
use crate::request::{Json, Request, data};
use crate::response::{Response, ResponseMeta};
use crate::transport::{Call, Payload, Raw, ReadError, read_capped};
use crate::uploads::{file_name, upload_url, without_query};

/// A stored upload: its blob id (what a send attaches), name, type and
/// size (the generated model).
pub type UploadedAttachment = wire::MailboxAttachmentUploadResult;

/// [`Attachments::create_upload`]: await it for the [`UploadIntent`].
pub type CreateUpload =
    Request<Response<UploadIntent>, Json<Option<wire::MailboxAttachmentUploadIntentBody>>>;

/// Default number of times [`Download::save_to`] resumes a broken
/// download before giving up.
pub const DEFAULT_MAX_RESUMES: u32 = 5;

/// Handle on a mailbox's attachments; get one from
/// [`Mailbox::attachments`].
#[derive(Debug, Clone)]
pub struct Attachments {
    client: Client,
    mailbox_id: Option<String>,
}

impl Mailbox {
    /// Attachment downloads and uploads.
    ///
    /// ```no_run
    /// # async fn run(client: sendmux_client::Client) -> Result<(), sendmux_client::Error> {
    /// let attachments = client.mailbox().attachments();
    /// let bytes = attachments.download("msg_1", "att_1").save_to("invoice.pdf").await?;
    /// let stored = attachments.upload_file("reply.pdf").await?;
    /// println!("saved {bytes} bytes; uploaded {}", stored.blob_id);
    /// # Ok(()) }
    /// ```
    pub fn attachments(&self) -> Attachments {
        Attachments {
            client: self.client.clone(),
            mailbox_id: self.mailbox_id.clone(),
        }
    }
}

impl Attachments {
    /// Downloads one attachment of a message: set a
    /// [`range`](Download::range) if you like, then
    /// [`stream`](Download::stream), [`reader`](Download::reader),
    /// [`save_to`](Download::save_to), or await it for the open body.
    pub fn download(
        &self,
        message_id: impl Into<String>,
        attachment_id: impl Into<String>,
    ) -> Download {
        Download {
            attachments: self.clone(),
            message_id: message_id.into(),
            attachment_id: attachment_id.into(),
            start: 0,
            end: None,
            max_resumes: DEFAULT_MAX_RESUMES,
            invalid: None,
        }
    }

    /// Uploads `bytes` as `filename` (`POST /mailbox/attachments:upload`).
    pub fn upload(&self, filename: impl Into<String>, bytes: impl Into<Bytes>) -> Upload {
        self.direct(filename.into(), Source::Bytes(bytes.into()))
    }

    /// Uploads the file at `path` under its file name, streamed from disk:
    /// its size is read first (and checked against
    /// [`max_size`](Upload::max_size)), then each attempt opens the file
    /// again.
    ///
    /// ```no_run
    /// # async fn run(mailbox: sendmux_client::mailbox::Mailbox) -> Result<(), sendmux_client::Error> {
    /// let stored = mailbox.attachments().upload_file("reports/2026-11.pdf").await?;
    /// println!("attach blob {}", stored.blob_id);
    /// # Ok(()) }
    /// ```
    pub fn upload_file(&self, path: impl AsRef<Path>) -> Upload {
        let path = path.as_ref().to_owned();
        match file_name(&path) {
            Ok(name) => self.direct(name, Source::File(path)),
            Err(problem) => self
                .direct("file".into(), Source::File(path))
                .check(Err(problem)),
        }
    }

    /// Uploads `length` bytes read from `reader` as `filename`, streamed. A
    /// reader is read once, so the call makes a single attempt.
    pub fn upload_reader(
        &self,
        filename: impl Into<String>,
        reader: impl AsyncRead + Send + Unpin + 'static,
        length: u64,
    ) -> Upload {
        self.direct(filename.into(), Source::Reader(Box::new(reader), length))
    }

    fn direct(&self, filename: String, source: Source) -> Upload {
        let checked = check_filename(&filename);
        Upload {
            attachments: self.clone(),
            filename,
            source,
            max_size: None,
            timeout: None,
            invalid: None,
        }
        .check(checked)
    }

    /// Starts a signed upload of `size_bytes` bytes of `content_type`
    /// named `filename` (`POST /mailbox/attachment-uploads`): the answer
    /// holds a short-lived URL that takes exactly those bytes, with
    /// exactly that type, and no API key. Finish it with
    /// [`complete_upload`](Self::complete_upload) or hand the URL to
    /// whatever holds the file.
    ///
    /// ```no_run
    /// # async fn run(mailbox: sendmux_client::mailbox::Mailbox) -> Result<(), sendmux_client::Error> {
    /// let attachments = mailbox.attachments();
    /// let size = std::fs::metadata("scan.png").map(|m| m.len()).unwrap_or_default();
    /// let intent = attachments.create_upload("scan.png", "image/png", size).await?;
    /// let stored = attachments.complete_upload_file(&intent, "scan.png").await?;
    /// # Ok(()) }
    /// ```
    pub fn create_upload(
        &self,
        filename: impl Into<String>,
        content_type: impl Into<String>,
        size_bytes: u64,
    ) -> CreateUpload {
        let filename = filename.into();
        let content_type = content_type.into();
        let body = check_filename(&filename)
            .and_then(|()| check_content_type(&content_type))
            .and_then(|()| {
                let size_bytes = std::num::NonZeroU64::new(size_bytes).ok_or_else(|| {
                    InvalidInput::new("size_bytes", "is 0", "upload at least one byte")
                })?;
                Ok(wire::MailboxAttachmentUploadIntentBody {
                    content_type,
                    filename,
                    size_bytes,
                })
            });
        // The URL in the answer carries the upload token: decoded as a
        // secret, so no error quotes it.
        let mut request = self
            .attachments_request(ops::MAILBOX_CREATE_ATTACHMENT_UPLOAD, crate::secret::data)
            .sensitive()
            .json(None)
            .set(body, |b, body| b.0 = Some(body));
        if let Some(id) = &self.mailbox_id {
            request = request.query("mailbox_id", id.clone());
        }
        request
    }

    fn attachments_request<T>(
        &self,
        op: &'static sendmux_operations::Operation,
        decode: fn(Raw) -> Result<T, Error>,
    ) -> Request<T> {
        self.client.request(op, &[], decode)
    }

    /// Sends `bytes` to a started signed upload (`PUT` to its URL) without
    /// the API key, with exactly the `Content-Type` and `Content-Length`
    /// the intent names. The bytes must be as long as announced.
    pub fn complete_upload(&self, intent: &UploadIntent, bytes: impl Into<Bytes>) -> SignedUpload {
        self.signed(intent, Source::Bytes(bytes.into()))
    }

    /// Sends the file at `path` to a started signed upload, streamed from
    /// disk; the file must be as long as announced.
    pub fn complete_upload_file(
        &self,
        intent: &UploadIntent,
        path: impl AsRef<Path>,
    ) -> SignedUpload {
        self.signed(intent, Source::File(path.as_ref().to_owned()))
    }

    /// Sends the announced number of bytes from `reader` to a started
    /// signed upload, streamed, in a single attempt.
    pub fn complete_upload_reader(
        &self,
        intent: &UploadIntent,
        reader: impl AsyncRead + Send + Unpin + 'static,
    ) -> SignedUpload {
        let length = intent.content_length().unwrap_or_default();
        self.signed(intent, Source::Reader(Box::new(reader), length))
    }

    fn signed(&self, intent: &UploadIntent, source: Source) -> SignedUpload {
        SignedUpload {
            client: self.client.clone(),
            intent: intent.clone(),
            source,
            timeout: None,
        }
    }

    /// Uploads the file at `path` through a signed URL in one go: starts
    /// the upload for the file's name, size and `content_type`, then sends
    /// the file.
    pub fn upload_file_signed(
        &self,
        path: impl AsRef<Path>,
        content_type: impl Into<String>,
    ) -> impl Future<Output = Result<Response<UploadedAttachment>, Error>> + Send + 'static {
        let this = self.clone();
        let path = path.as_ref().to_owned();
        let content_type = content_type.into();
        async move {
            let name = file_name(&path)?;
            let size = file_size(&path).await?;
            let intent = this.create_upload(name, content_type, size).await?;
            this.complete_upload_file(&intent, &path).send().await
        }
    }
}

/// A file name the server can store: not blank, on one line.
fn check_filename(name: &str) -> Result<(), InvalidInput> {
    if name.trim().is_empty() || name.chars().any(char::is_control) {
        return Err(InvalidInput::new(
            "filename",
            format!("{name:?} is blank or has control characters"),
            "pass a file name such as `invoice.pdf`",
        ));
    }
    Ok(())
}

/// A media type such as `application/pdf`, sendable as a header.
fn check_content_type(value: &str) -> Result<(), InvalidInput> {
    let shaped = value
        .split_once('/')
        .is_some_and(|(t, s)| !t.trim().is_empty() && !s.trim().is_empty());
    if shaped && HeaderValue::from_str(value).is_ok() {
        return Ok(());
    }
    Err(InvalidInput::new(
        "content_type",
        format!("{value:?} is not a media type"),
        "pass a type such as `application/pdf`",
    ))
}

async fn file_size(path: &Path) -> Result<u64, Error> {
    let meta = tokio::fs::metadata(path).await.map_err(|e| Error::Setup {
        message: format!("could not read the file {}", path.display()),
        source: Box::new(e),
    })?;
    if !meta.is_file() {
        return Err(InvalidInput::new(
            "file",
            format!("{} is not a file", path.display()),
            "pass the path of a file",
        )
        .into());
    }
    Ok(meta.len())
}

/// Where an upload's bytes come from.
enum Source {
    Bytes(Bytes),
    File(PathBuf),
    Reader(Box<dyn AsyncRead + Send + Unpin>, u64),
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Bytes(bytes) => write!(f, "Bytes({} bytes)", bytes.len()),
            Source::File(path) => f.debug_tuple("File").field(path).finish(),
            Source::Reader(_, length) => write!(f, "Reader({length} bytes)"),
        }
    }
}

impl Source {
    /// The length the upload will send, read from disk for a file. (A
    /// plain `fn` returning a future that holds no borrow of the source,
    /// whose reader is not `Sync`.)
    fn length(&self) -> impl Future<Output = Result<u64, Error>> + Send + 'static {
        let (path, known) = match self {
            Source::Bytes(bytes) => (None, bytes.len() as u64),
            Source::File(path) => (Some(path.clone()), 0),
            Source::Reader(_, length) => (None, *length),
        };
        async move {
            match path {
                Some(path) => file_size(&path).await,
                None => Ok(known),
            }
        }
    }

    /// The request body; a file must still be `length` bytes when each
    /// attempt opens it.
    fn payload(self, length: u64) -> Payload {
        match self {
            Source::Bytes(bytes) => Payload::Bytes(bytes),
            Source::File(path) => Payload::File {
                path,
                expected: Some(length),
            },
            Source::Reader(reader, length) => Payload::Reader {
                reader: Mutex::new(Some(reader)),
                length,
            },
        }
    }
}

/// Refuses an empty upload, or one over `max`, before any I/O.
fn check_size(length: u64, max: Option<u64>) -> Result<(), InvalidInput> {
    if length == 0 {
        return Err(InvalidInput::new(
            "file",
            "is empty",
            "upload at least one byte",
        ));
    }
    match max {
        Some(max) if length > max => Err(InvalidInput::new(
            "file",
            format!("is {length} bytes, over the {max}-byte limit"),
            "upload a smaller file",
        )),
        _ => Ok(()),
    }
}

/// [`Attachments::upload`], [`upload_file`](Attachments::upload_file) and
/// [`upload_reader`](Attachments::upload_reader): set options, then await.
#[must_use = "uploads do nothing until awaited"]
pub struct Upload {
    attachments: Attachments,
    filename: String,
    source: Source,
    max_size: Option<u64>,
    timeout: Option<Duration>,
    invalid: Option<InvalidInput>,
}

impl fmt::Debug for Upload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upload")
            .field("filename", &self.filename)
            .field("source", &self.source)
            .field("max_size", &self.max_size)
            .finish_non_exhaustive()
    }
}

impl Upload {
    fn check(mut self, outcome: Result<(), InvalidInput>) -> Self {
        if let Err(problem) = outcome {
            self.invalid.get_or_insert(problem);
        }
        self
    }

    /// Refuses, before sending, an upload over `bytes`: pass the
    /// session's `limits.attachment_upload_bytes_max`.
    pub fn max_size(mut self, bytes: u64) -> Self {
        self.max_size = Some(bytes);
        self
    }

    /// The time limit of each attempt, instead of the client's.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Checks the size, then streams the bytes.
    pub async fn send(self) -> Result<Response<UploadedAttachment>, Error> {
        if let Some(problem) = self.invalid {
            return Err(problem.into());
        }
        let length = self.source.length().await?;
        check_size(length, self.max_size)?;
        let op = ops::MAILBOX_UPLOAD_ATTACHMENT;
        let mut call = Call::new(op, op.path.to_owned());
        call.query.push(("filename", self.filename));
        if let Some(id) = self.attachments.mailbox_id {
            call.query.push(("mailbox_id", id));
        }
        call.timeout = self.timeout;
        call.body = Some(self.source.payload(length));
        let raw = self.attachments.client.execute(call).await?;
        data(raw)
    }
}

impl IntoFuture for Upload {
    type Output = Result<Response<UploadedAttachment>, Error>;
    type IntoFuture = BoxFuture<'static, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

/// A started signed upload (`upl_...`): the URL that takes the bytes and
/// what the `PUT` must carry. `Debug` leaves out the URL's query, where
/// its token is.
#[derive(Clone, Deserialize)]
#[non_exhaustive]
pub struct UploadIntent {
    /// The upload's id.
    pub upload_id: String,
    /// When the URL expires.
    pub expires_at: crate::Timestamp,
    /// The largest upload the server takes, in bytes.
    pub max_size_bytes: u64,
    upload_url: String,
    method: String,
    headers: IntentHeaders,
}

#[derive(Clone, Deserialize)]
struct IntentHeaders {
    #[serde(rename = "Content-Type")]
    content_type: String,
    #[serde(rename = "Content-Length")]
    content_length: String,
}

impl UploadIntent {
    /// The URL that takes the `PUT`. Its token authorises the upload:
    /// hand it only to what uploads the file.
    pub fn upload_url(&self) -> &str {
        &self.upload_url
    }

    /// The HTTP method of the upload (`PUT`).
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The `Content-Type` the upload must carry, exactly.
    pub fn content_type(&self) -> &str {
        &self.headers.content_type
    }

    /// The `Content-Length` the upload must carry, exactly (`None` if the
    /// server's value is not a number).
    pub fn content_length(&self) -> Option<u64> {
        self.headers.content_length.trim().parse().ok()
    }
}

impl fmt::Debug for UploadIntent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UploadIntent")
            .field("upload_id", &self.upload_id)
            .field("upload_url", &without_query(&self.upload_url))
            .field("expires_at", &self.expires_at)
            .field("max_size_bytes", &self.max_size_bytes)
            .field("content_type", &self.headers.content_type)
            .field("content_length", &self.headers.content_length)
            .finish()
    }
}

/// [`Attachments::complete_upload`] and its file and reader forms: await
/// it (or set a [`timeout`](Self::timeout) first).
#[must_use = "uploads do nothing until awaited"]
pub struct SignedUpload {
    client: Client,
    intent: UploadIntent,
    source: Source,
    timeout: Option<Duration>,
}

impl fmt::Debug for SignedUpload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedUpload")
            .field("intent", &self.intent)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl SignedUpload {
    /// The time limit of each attempt, instead of the client's.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Checks the bytes against the intent, then sends them. Only an
    /// attempt that never reached the server is repeated: the URL takes
    /// one upload.
    pub async fn send(self) -> Result<Response<UploadedAttachment>, Error> {
        let SignedUpload {
            client,
            intent,
            source,
            timeout,
        } = self;
        let (url, content_type, length) = checked_intent(&intent)?;
        let actual = source.length().await?;
        if actual != length {
            return Err(InvalidInput::new(
                "file",
                format!("is {actual} bytes, but the upload was started for {length}"),
                "start a new upload with the right size",
            )
            .into());
        }
        let payload = source.payload(length);
        let span = tracing::info_span!(
            "sendmux.signed_upload",
            upload_id = intent.upload_id.as_str(),
            attempts = Empty,
            status = Empty,
            request_id = Empty,
        );
        put(&client, url, content_type, payload, timeout)
            .instrument(span)
            .await
    }
}

impl IntoFuture for SignedUpload {
    type Output = Result<Response<UploadedAttachment>, Error>;
    type IntoFuture = BoxFuture<'static, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

/// The intent's URL, type and length, checked before any I/O.
fn checked_intent(intent: &UploadIntent) -> Result<(reqwest::Url, HeaderValue, u64), InvalidInput> {
    let refused = |problem: String| InvalidInput::new("intent", problem, "start a new upload");
    if !intent.method.eq_ignore_ascii_case("PUT") {
        return Err(refused(format!(
            "asks for method {:?}; this client uploads with PUT",
            intent.method
        )));
    }
    let url = upload_url(&intent.upload_url)?;
    let content_type = HeaderValue::from_str(intent.content_type())
        .map_err(|_| refused("names a Content-Type that cannot be sent".into()))?;
    let length = intent
        .content_length()
        .filter(|n| *n > 0)
        .ok_or_else(|| refused("names no usable Content-Length".into()))?;
    if length > intent.max_size_bytes {
        return Err(InvalidInput::new(
            "file",
            format!(
                "is {length} bytes, over the upload's {}-byte limit",
                intent.max_size_bytes
            ),
            "upload a smaller file",
        ));
    }
    Ok((url, content_type, length))
}

/// The signed `PUT`: through the client without a default
/// `Authorization`, with exactly the intent's type and length. A
/// connection that could not be opened is tried again, up to the retry
/// policy's attempts (not for a reader, which is read once).
async fn put(
    client: &Client,
    url: reqwest::Url,
    content_type: HeaderValue,
    payload: Payload,
    timeout: Option<Duration>,
) -> Result<Response<UploadedAttachment>, Error> {
    let inner = &client.inner;
    let http = inner.anonymous_http()?;
    let once = matches!(payload, Payload::Reader { .. });
    let span = tracing::Span::current();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let (body, streamed_length) = crate::transport::body(&payload).await?;
        let mut request = http
            .put(url.clone())
            .timeout(timeout.unwrap_or(inner.timeout))
            .header(header::CONTENT_TYPE, content_type.clone())
            .header(header::ACCEPT, HeaderValue::from_static("application/json"));
        if inner.identity_per_request {
            request = request.header(header::USER_AGENT, inner.user_agent.clone());
        }
        if let Some(length) = streamed_length {
            request = request.header(header::CONTENT_LENGTH, length);
        }
        let response = match request.body(body).send().await {
            Ok(response) => response,
            Err(e) if e.is_connect() => {
                let error = Error::NotSent {
                    message: "could not connect".into(),
                    attempts: attempt,
                    source: Box::new(e),
                };
                if once || attempt >= inner.retry.max_attempts() {
                    return Err(error);
                }
                let delay = resume_delay(client, attempt);
                tracing::info!(attempt, retry_delay_ms = delay.as_millis() as u64, error = %error, "upload not sent; retrying");
                inner.clock.sleep(delay).await;
                continue;
            }
            Err(e) => {
                let timeout = e.is_timeout();
                return Err(Error::MaybeSent {
                    message: if timeout {
                        "the upload timed out".into()
                    } else {
                        "the connection failed after the upload was sent".into()
                    },
                    timeout,
                    // The URL takes one upload: a repeat may find it spent.
                    idempotent: false,
                    idempotency_key: None,
                    attempts: attempt,
                    source: Box::new(e),
                });
            }
        };
        let status = response.status().as_u16();
        let mut response = response;
        let headers = std::mem::take(response.headers_mut());
        span.record("attempts", attempt);
        span.record("status", status);
        let body = match read_capped(response, inner.max_response_bytes).await {
            Ok(body) => body,
            Err(ReadError::Transport(e)) => {
                return Err(Error::MaybeSent {
                    message: "the connection failed while reading the answer".into(),
                    timeout: e.is_timeout(),
                    idempotent: false,
                    idempotency_key: None,
                    attempts: attempt,
                    source: Box::new(e),
                });
            }
            Err(ReadError::TooLarge(_)) => {
                return Err(Error::Undecodable {
                    status: Some(status),
                    request_id: crate::transport::header_request_id(&headers),
                    reason: "the answer is larger than the response limit".into(),
                    snippet: String::new(),
                    attempts: attempt,
                    source: None,
                });
            }
        };
        if let Some(id) = crate::transport::header_request_id(&headers) {
            span.record("request_id", id.as_str());
        }
        if (200..300).contains(&status) {
            let mut meta = ResponseMeta::new(status, headers);
            meta.attempts = attempt;
            return data(Raw {
                status,
                body,
                meta,
                stream: None,
            });
        }
        let mut error = Error::from_response(status, &headers, &body);
        error.set_attempts(attempt);
        return Err(error);
    }
}

/// The wait before retry or resume number `n` (from 1): the retry
/// policy's backoff, doubled each time, half of it jittered.
fn resume_delay(client: &Client, n: u32) -> Duration {
    let policy = &client.inner.retry;
    let ceiling = policy
        .initial_backoff()
        .checked_mul(2u32.saturating_pow(n.saturating_sub(1)))
        .unwrap_or(policy.max_backoff())
        .min(policy.max_backoff());
    ceiling / 2 + (ceiling / 2).mul_f64(rand::random::<f64>())
}

/// [`Attachments::download`]: pick a range, then read the body.
#[derive(Debug, Clone)]
#[must_use = "a download does nothing until read"]
pub struct Download {
    attachments: Attachments,
    message_id: String,
    attachment_id: String,
    start: u64,
    /// The last byte wanted (inclusive), if not the end.
    end: Option<u64>,
    max_resumes: u32,
    invalid: Option<InvalidInput>,
}

impl Download {
    /// Only these bytes of the attachment (`Range: bytes=..`), e.g.
    /// `0..1024` for the first KiB or `1024..` for the rest.
    pub fn range(mut self, range: impl RangeBounds<u64>) -> Self {
        let start = match range.start_bound() {
            Bound::Included(&n) => Some(n),
            Bound::Excluded(&n) => n.checked_add(1),
            Bound::Unbounded => Some(0),
        };
        let end = match range.end_bound() {
            Bound::Included(&n) => Some(Some(n)),
            Bound::Excluded(&n) => n.checked_sub(1).map(Some),
            Bound::Unbounded => Some(None),
        };
        match (start, end) {
            (Some(start), Some(end)) if end.is_none_or(|end| end >= start) => {
                self.start = start;
                self.end = end;
            }
            _ => {
                self.invalid.get_or_insert(InvalidInput::new(
                    "range",
                    "is empty",
                    "ask for at least one byte, e.g. `0..1024`",
                ));
            }
        }
        self
    }

    /// Everything from byte `offset` on: what a download that already has
    /// `offset` bytes asks for.
    pub fn resume_from(self, offset: u64) -> Self {
        self.range(offset..)
    }

    /// How many times [`save_to`](Self::save_to) resumes after a broken
    /// connection (default [`DEFAULT_MAX_RESUMES`]).
    pub fn max_resumes(mut self, resumes: u32) -> Self {
        self.max_resumes = resumes;
        self
    }

    /// Opens the download: the answer's head, with the body still to read.
    /// The client's retry policy covers opening it.
    pub async fn send(self) -> Result<AttachmentBody, Error> {
        if let Some(problem) = &self.invalid {
            return Err(problem.clone().into());
        }
        self.open(self.start, self.start).await
    }

    /// The bytes from `from` to the chosen end. A server that ignores the
    /// range (`200`) sends the whole attachment; the body then drops its
    /// first `skip` bytes itself.
    async fn open(&self, from: u64, skip: u64) -> Result<AttachmentBody, Error> {
        let attachments = &self.attachments;
        let path = [
            ("message_id", self.message_id.as_str()),
            ("attachment_id", self.attachment_id.as_str()),
        ];
        let request = attachments.client.request(
            ops::MAILBOX_GET_MESSAGE_ATTACHMENT,
            &path,
            Ok::<Raw, Error>,
        );
        let (mut call, client, _) = request.into_call()?;
        if let Some(id) = &attachments.mailbox_id {
            call.query.push(("mailbox_id", id.clone()));
        }
        let ranged = from > 0 || self.end.is_some();
        if ranged {
            let end = self.end.map(|e| e.to_string()).unwrap_or_default();
            call = call.header(header::RANGE, &format!("bytes={from}-{end}"))?;
        }
        call.streamed = true;
        let raw = client.execute(call).await?;
        let attempts = raw.meta.attempts;
        let mut body = AttachmentBody {
            status: raw.status,
            range: None,
            skip: 0,
            remaining: None,
            idle: client.inner.timeout,
            attempts,
            response: None,
            meta: raw.meta,
        };
        let refused = |reason: String, meta: &ResponseMeta| Error::Undecodable {
            status: Some(raw.status),
            request_id: meta.request_id().map(str::to_owned),
            reason,
            snippet: String::new(),
            attempts,
            source: None,
        };
        match raw.status {
            206 => {
                let range = body
                    .meta
                    .header(&header::CONTENT_RANGE)
                    .and_then(ContentRange::parse);
                let fits = range
                    .is_some_and(|r| r.start == from && self.end.is_none_or(|end| r.end <= end));
                if !fits {
                    return Err(refused(
                        format!(
                            "the server sent another range than bytes={from}- (Content-Range {range:?})"
                        ),
                        &body.meta,
                    ));
                }
                body.range = range;
            }
            200 => {
                if ranged {
                    body.skip = skip;
                    body.remaining = self.end.map(|end| end + 1 - skip);
                }
            }
            other => {
                return Err(refused(
                    format!("unexpected status {other} for a download"),
                    &body.meta,
                ));
            }
        }
        body.response = raw.stream;
        Ok(body)
    }

    /// The body as a stream of chunks, as they arrive; nothing is
    /// buffered beyond the chunk in hand. The first poll opens the
    /// download.
    ///
    /// ```no_run
    /// use futures::TryStreamExt;
    /// # async fn run(mailbox: sendmux_client::mailbox::Mailbox) -> Result<(), sendmux_client::Error> {
    /// let mut chunks = mailbox.attachments().download("msg_1", "att_1").range(0..1_048_576).stream();
    /// let mut total = 0;
    /// while let Some(chunk) = chunks.try_next().await? {
    ///     total += chunk.len();
    /// }
    /// # Ok(()) }
    /// ```
    pub fn stream(self) -> BoxStream<'static, Result<Bytes, Error>> {
        enum State {
            Closed(Download),
            Open(AttachmentBody),
        }
        stream::unfold(Some(State::Closed(self)), |state| async move {
            let mut body = match state? {
                State::Closed(download) => match download.send().await {
                    Ok(body) => body,
                    Err(error) => return Some((Err(error), None)),
                },
                State::Open(body) => body,
            };
            match body.chunk().await {
                Ok(Some(chunk)) => Some((Ok(chunk), Some(State::Open(body)))),
                Ok(None) => None,
                Err(error) => Some((Err(error), None)),
            }
        })
        .boxed()
    }

    /// The body as an [`AsyncRead`]; errors come out as
    /// [`io::Error`]s wrapping this crate's [`Error`].
    pub fn reader(self) -> AttachmentReader {
        AttachmentReader::new(self.stream())
    }

    /// Writes the download into the file at `path` (created or truncated)
    /// and returns the bytes written. If the connection breaks, it asks
    /// for the rest (`Range: bytes=N-`, from what is already written) up to
    /// [`max_resumes`](Self::max_resumes) times, and checks that the
    /// server answers `206` with that range; a server answering `200`
    /// instead sends the whole attachment, which is written again from
    /// the start. On an error the file keeps what was written.
    ///
    /// ```no_run
    /// # async fn run(mailbox: sendmux_client::mailbox::Mailbox) -> Result<(), sendmux_client::Error> {
    /// let written = mailbox.attachments().download("msg_1", "att_1").save_to("invoice.pdf").await?;
    /// # Ok(()) }
    /// ```
    pub async fn save_to(self, path: impl AsRef<Path>) -> Result<u64, Error> {
        if let Some(problem) = &self.invalid {
            return Err(problem.clone().into());
        }
        let path = path.as_ref();
        let io_error = |e: io::Error| Error::Setup {
            message: format!("could not write the file {}", path.display()),
            source: Box::new(e),
        };
        let mut file = tokio::fs::File::create(path).await.map_err(io_error)?;
        let mut written: u64 = 0;
        let mut resumes = 0;
        let mut total = None;
        loop {
            let mut body = self.open(self.start + written, self.start).await?;
            if body.status == 200 && written > 0 {
                // The server ignored the range: it sends everything again.
                tracing::debug!(written, "download restarted from the start");
                file.set_len(0).await.map_err(io_error)?;
                file.seek(io::SeekFrom::Start(0)).await.map_err(io_error)?;
                written = 0;
            }
            let size = body.total_size();
            if total.is_some() && size.is_some() && size != total {
                return Err(Error::Undecodable {
                    status: Some(body.status),
                    request_id: body.request_id().map(str::to_owned),
                    reason: "the attachment changed size between attempts".into(),
                    snippet: String::new(),
                    attempts: body.attempts,
                    source: None,
                });
            }
            total = total.or(size);
            loop {
                match body.chunk().await {
                    Ok(Some(chunk)) => {
                        file.write_all(&chunk).await.map_err(io_error)?;
                        written += chunk.len() as u64;
                    }
                    Ok(None) => {
                        file.flush().await.map_err(io_error)?;
                        return Ok(written);
                    }
                    Err(error) if error.is_retryable() && resumes < self.max_resumes => {
                        resumes += 1;
                        let delay = resume_delay(&self.attachments.client, resumes);
                        tracing::info!(written, resumes, retry_delay_ms = delay.as_millis() as u64, error = %error, "download broke; resuming");
                        self.attachments.client.inner.clock.sleep(delay).await;
                        break;
                    }
                    Err(error) => return Err(error),
                }
            }
        }
    }
}

impl IntoFuture for Download {
    type Output = Result<AttachmentBody, Error>;
    type IntoFuture = BoxFuture<'static, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

/// A `Content-Range: bytes START-END/TOTAL` answer header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ContentRange {
    /// The first byte sent.
    pub start: u64,
    /// The last byte sent (inclusive).
    pub end: u64,
    /// The attachment's whole size, when the server says.
    pub total: Option<u64>,
}

impl ContentRange {
    fn parse(value: &str) -> Option<Self> {
        let (span, total) = value.trim().strip_prefix("bytes ")?.split_once('/')?;
        let (start, end) = span.trim().split_once('-')?;
        let number = |s: &str| {
            let s = s.trim();
            s.bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| s.parse::<u64>().ok())
                .flatten()
        };
        let range = ContentRange {
            start: number(start)?,
            end: number(end)?,
            total: match total.trim() {
                "*" => None,
                n => Some(number(n)?),
            },
        };
        let consistent =
            range.start <= range.end && range.total.is_none_or(|total| range.end < total);
        consistent.then_some(range)
    }
}

/// An open download: the answer's head, and the body to read chunk by
/// chunk with [`chunk`](Self::chunk), or as a stream or reader.
pub struct AttachmentBody {
    status: u16,
    meta: ResponseMeta,
    range: Option<ContentRange>,
    /// Bytes to drop before the first handed over.
    skip: u64,
    /// Bytes still to hand over, when the body runs past the range.
    remaining: Option<u64>,
    /// The longest pause allowed between two chunks.
    idle: Duration,
    attempts: u32,
    response: Option<reqwest::Response>,
}

impl fmt::Debug for AttachmentBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AttachmentBody")
            .field("status", &self.status)
            .field("range", &self.range)
            .field("request_id", &self.request_id())
            .finish_non_exhaustive()
    }
}

impl AttachmentBody {
    /// `200` for the whole attachment, `206` for a range.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The range the server sent (`206`).
    pub fn content_range(&self) -> Option<ContentRange> {
        self.range
    }

    /// The attachment's whole size, when the server says.
    pub fn total_size(&self) -> Option<u64> {
        match self.range {
            Some(range) => range.total,
            None => self
                .meta
                .header(&header::CONTENT_LENGTH)
                .and_then(|n| n.trim().parse().ok()),
        }
    }

    /// The `Content-Type` of the attachment.
    pub fn content_type(&self) -> Option<&str> {
        self.meta.header(&header::CONTENT_TYPE)
    }

    /// `X-Request-Id` of the answer; quote it to support.
    pub fn request_id(&self) -> Option<&str> {
        self.meta.request_id()
    }

    /// The next chunk of the body, `None` at its end. A pause longer than
    /// the client's timeout fails the read.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, Error> {
        loop {
            if self.remaining == Some(0) {
                // The range is complete; the rest of a whole body is dropped.
                self.response = None;
            }
            let Some(response) = self.response.as_mut() else {
                return Ok(None);
            };
            let started = Instant::now();
            let read = tokio::time::timeout(self.idle, response.chunk()).await;
            let mut chunk = match read {
                Ok(Ok(Some(chunk))) => chunk,
                Ok(Ok(None)) => {
                    self.response = None;
                    return Ok(None);
                }
                Ok(Err(e)) => return Err(self.broken(e.is_timeout(), Box::new(e))),
                Err(elapsed) => {
                    tracing::debug!(
                        waited_ms = started.elapsed().as_millis() as u64,
                        "download stalled"
                    );
                    return Err(self.broken(true, Box::new(elapsed)));
                }
            };
            if self.skip > 0 {
                let dropped = usize::try_from(self.skip)
                    .unwrap_or(usize::MAX)
                    .min(chunk.len());
                chunk = chunk.slice(dropped..);
                self.skip -= dropped as u64;
            }
            if let Some(remaining) = self.remaining.as_mut() {
                let kept = usize::try_from(*remaining)
                    .unwrap_or(usize::MAX)
                    .min(chunk.len());
                chunk.truncate(kept);
                *remaining -= kept as u64;
            }
            if !chunk.is_empty() {
                return Ok(Some(chunk));
            }
        }
    }

    fn broken(&mut self, timeout: bool, source: crate::error::BoxError) -> Error {
        self.response = None;
        Error::MaybeSent {
            message: if timeout {
                "the download stalled".into()
            } else {
                "the connection broke during the download".into()
            },
            timeout,
            idempotent: true,
            idempotency_key: None,
            attempts: self.attempts,
            source,
        }
    }

    /// The rest of the body as a stream of chunks.
    pub fn into_stream(self) -> BoxStream<'static, Result<Bytes, Error>> {
        stream::unfold(Some(self), |body| async move {
            let mut body = body?;
            match body.chunk().await {
                Ok(Some(chunk)) => Some((Ok(chunk), Some(body))),
                Ok(None) => None,
                Err(error) => Some((Err(error), None)),
            }
        })
        .boxed()
    }

    /// The rest of the body as an [`AsyncRead`].
    pub fn into_reader(self) -> AttachmentReader {
        AttachmentReader::new(self.into_stream())
    }
}

/// A download as an [`AsyncRead`] ([`Download::reader`]).
pub struct AttachmentReader {
    chunks: BoxStream<'static, Result<Bytes, Error>>,
    chunk: Bytes,
}

impl fmt::Debug for AttachmentReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AttachmentReader")
            .field("buffered", &self.chunk.len())
            .finish_non_exhaustive()
    }
}

impl AttachmentReader {
    fn new(chunks: BoxStream<'static, Result<Bytes, Error>>) -> Self {
        Self {
            chunks,
            chunk: Bytes::new(),
        }
    }
}

impl AsyncRead for AttachmentReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        while self.chunk.is_empty() {
            match self.chunks.poll_next_unpin(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => return Poll::Ready(Ok(())),
                Poll::Ready(Some(Err(error))) => return Poll::Ready(Err(io::Error::other(error))),
                Poll::Ready(Some(Ok(chunk))) => self.chunk = chunk,
            }
        }
        let n = self.chunk.len().min(buf.remaining());
        let chunk = self.chunk.split_to(n);
        buf.put_slice(&chunk);
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn content_ranges() {
        let range = |start, end, total| ContentRange { start, end, total };
        assert_eq!(
            ContentRange::parse("bytes 0-9/100"),
            Some(range(0, 9, Some(100)))
        );
        assert_eq!(
            ContentRange::parse("bytes 10-19/*"),
            Some(range(10, 19, None))
        );
        for bad in [
            "bytes 9-0/100",
            "bytes 0-100/100",
            "bytes a-b/1",
            "items 0-1/2",
            "bytes */100",
            "bytes -1-2/9",
        ] {
            assert_eq!(ContentRange::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn sizes_and_names_are_checked_before_sending() {
        assert!(check_size(0, None).is_err());
        assert!(check_size(10, Some(9)).is_err());
        assert!(check_size(9, Some(9)).is_ok());
        assert!(check_filename(" ").is_err());
        assert!(check_filename("a\nb").is_err());
        assert!(check_filename("invoice.pdf").is_ok());
        assert!(check_content_type("application/pdf").is_ok());
        for bad in ["pdf", "/x", "a/", "text/plain\n"] {
            assert!(check_content_type(bad).is_err(), "{bad}");
        }
    }
}
