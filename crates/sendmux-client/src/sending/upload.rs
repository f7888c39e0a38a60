//! Attachment uploads: direct (bytes, a file streamed from disk, or a
//! reader), signed (an upload URL and token any client can `PUT` to
//! without the API key), and sending with local files.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use http::{HeaderName, HeaderValue, header};
use sendmux_api::sending::types as wire;
use sendmux_operations::ops;
use serde::Deserialize;
use tokio::io::AsyncRead;

use super::batch::derived_key;
use super::email::check_filename;
use super::{SendEmail, Sending, Sent};
use crate::error::{Error, InvalidInput};
use crate::idempotency::IdempotencyKey;
use crate::key::Surface;
use crate::request::{Body, Json, Request, data};
use crate::response::Response;
use crate::secret::Secret;
use crate::transport::{Call, Payload};
use crate::uploads::{file_name, upload_url, without_query};

/// An uploaded file's metadata: its id for `attachments`, name, type,
/// size and when the id expires (the generated model).
pub type AttachmentInfo = wire::AttachmentUploadData;

/// [`Sending::upload`] and [`Sending::upload_file`]: set
/// [`content_type`](UploadAttachment::content_type) if you like, then await.
pub type UploadAttachment = Request<Response<AttachmentInfo>, UploadBody>;
/// [`Sending::attachment`].
pub type GetAttachment = Request<Response<AttachmentInfo>>;
/// [`Sending::create_upload`]: set the content type or digest, then await.
pub type CreateUpload =
    Request<Response<UploadIntent>, Json<Option<wire::AttachmentUploadIntentRequest>>>;
/// [`Sending::complete_upload`] and [`Sending::complete_upload_file`].
pub type CompleteUpload = Request<Response<AttachmentInfo>, SignedBody>;

/// The token header of a signed upload.
const UPLOAD_TOKEN: &str = "x-sendmux-upload-token";

/// The bytes of a direct upload: in memory, or a file read from disk by
/// each attempt, a chunk at a time.
#[derive(Debug, Clone)]
pub struct UploadBody(Source);

#[derive(Debug, Clone)]
enum Source {
    Bytes(Bytes),
    File(PathBuf),
}

impl Source {
    fn payload(&self, expected: Option<u64>) -> Payload {
        match self {
            Source::Bytes(bytes) => Payload::Bytes(bytes.clone()),
            Source::File(path) => Payload::File {
                path: path.clone(),
                expected,
            },
        }
    }
}

impl Body for UploadBody {
    fn encode(&self) -> Result<Option<Bytes>, Error> {
        Ok(match &self.0 {
            Source::Bytes(bytes) => Some(bytes.clone()),
            // Streamed by `payload`; never encoded whole.
            Source::File(_) => None,
        })
    }

    #[allow(private_interfaces)]
    fn payload(&self) -> Result<Option<Payload>, Error> {
        Ok(Some(self.0.payload(None)))
    }
}

/// The bytes of a signed upload, checked against the length its intent
/// announced.
#[derive(Debug, Clone)]
pub struct SignedBody {
    source: Source,
    expected: Option<u64>,
}

impl Body for SignedBody {
    fn encode(&self) -> Result<Option<Bytes>, Error> {
        UploadBody(self.source.clone()).encode()
    }

    #[allow(private_interfaces)]
    fn payload(&self) -> Result<Option<Payload>, Error> {
        Ok(Some(self.source.payload(self.expected)))
    }
}

/// A started signed upload (`upl_...`): where to `PUT` the bytes and the
/// headers to send with them, the upload token among them.
///
/// Hand [`upload_url`](Self::upload_url) and [`headers`](Self::headers) to
/// whatever holds the file (a browser, another service), or finish here
/// with [`Sending::complete_upload`]. `Debug` shows neither the token nor
/// the URL's query.
#[derive(Clone, Deserialize)]
#[non_exhaustive]
pub struct UploadIntent {
    /// The upload's id.
    pub upload_id: String,
    /// The URL that takes the `PUT`.
    pub upload_url: String,
    /// When the URL and token expire.
    pub expires_at: crate::Timestamp,
    /// The largest upload the URL takes, in bytes.
    pub max_size_bytes: u64,
    method: String,
    headers: std::collections::BTreeMap<String, Secret>,
}

impl UploadIntent {
    /// The HTTP method of the upload (`PUT`).
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The headers the upload must carry, exactly: `Content-Type`,
    /// `Content-Length` and the upload token. The token is a credential:
    /// hand it only to what uploads the file.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.expose_secret()))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// The length the upload was started for.
    fn content_length(&self) -> Option<u64> {
        self.header(header::CONTENT_LENGTH.as_str())?
            .trim()
            .parse()
            .ok()
    }
}

impl fmt::Debug for UploadIntent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UploadIntent")
            .field("upload_id", &self.upload_id)
            .field("upload_url", &without_query(&self.upload_url))
            .field("expires_at", &self.expires_at)
            .field("max_size_bytes", &self.max_size_bytes)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Sending {
    /// Uploads `bytes` as `filename` (`POST /emails/attachments`, body
    /// `application/octet-stream`) and returns its metadata; send it with
    /// [`Attachment::uploaded`](super::Attachment::uploaded)`(id)`. Sent
    /// with an idempotency key, so a retry cannot store it twice.
    ///
    /// ```no_run
    /// # async fn f(sending: sendmux_client::sending::Sending) -> Result<(), sendmux_client::Error> {
    /// let stored = sending.upload("report.csv", b"a,b\n1,2\n".to_vec()).content_type("text/csv").await?;
    /// println!("{} expires {}", stored.attachment_id, stored.expires_at);
    /// # Ok(()) }
    /// ```
    pub fn upload(&self, filename: impl Into<String>, bytes: impl Into<Bytes>) -> UploadAttachment {
        let bytes = bytes.into();
        let empty = if bytes.is_empty() {
            Err(InvalidInput::new(
                "bytes",
                "is empty",
                "upload at least one byte",
            ))
        } else {
            Ok(())
        };
        self.direct(filename.into(), Source::Bytes(bytes))
            .check(empty)
    }

    /// Uploads the file at `path` (`POST /emails/attachments`) under its
    /// file name, streamed from disk a chunk at a time: each attempt opens
    /// the file again and sends its length as `Content-Length`.
    ///
    /// ```no_run
    /// # async fn f(sending: sendmux_client::sending::Sending) -> Result<(), sendmux_client::Error> {
    /// let stored = sending.upload_file("reports/2026-11.pdf").await?;
    /// # Ok(()) }
    /// ```
    pub fn upload_file(&self, path: impl AsRef<Path>) -> UploadAttachment {
        let path = path.as_ref();
        match file_name(path) {
            Ok(name) => self.direct(name, Source::File(path.to_owned())),
            Err(problem) => self
                .direct("file".into(), Source::File(path.to_owned()))
                .check(Err(problem)),
        }
    }

    /// Uploads `length` bytes read from `reader` as `filename`
    /// (`POST /emails/attachments`), streamed. A reader can be read only
    /// once, so the call makes a single attempt: on a failure that may be
    /// retried, call again with a new reader (and the same idempotency
    /// key).
    ///
    /// ```no_run
    /// # async fn f(sending: sendmux_client::sending::Sending) -> Result<(), sendmux_client::Error> {
    /// let file = tokio::fs::File::open("report.pdf").await.map_err(|e| sendmux_client::Error::Setup { message: "open".into(), source: Box::new(e) })?;
    /// let length = file.metadata().await.map_err(|e| sendmux_client::Error::Setup { message: "stat".into(), source: Box::new(e) })?.len();
    /// let stored = sending.upload_reader("report.pdf", file, length).await?;
    /// # Ok(()) }
    /// ```
    pub fn upload_reader(
        &self,
        filename: impl Into<String>,
        reader: impl AsyncRead + Send + Unpin + 'static,
        length: u64,
    ) -> UploadReader {
        UploadReader {
            sending: self.clone(),
            filename: filename.into(),
            content_type: None,
            reader: Box::new(reader),
            length,
            idempotency_key: None,
            timeout: None,
        }
    }

    /// Reads an uploaded file's metadata
    /// (`GET /emails/attachments/{attachment_id}`); the bytes are not
    /// returned.
    ///
    /// ```no_run
    /// # async fn f(sending: sendmux_client::sending::Sending) -> Result<(), sendmux_client::Error> {
    /// let info = sending.attachment("att_0123456789abcdefghijklmn").await?;
    /// # Ok(()) }
    /// ```
    pub fn attachment(&self, attachment_id: impl AsRef<str>) -> GetAttachment {
        let path = [("attachment_id", attachment_id.as_ref())];
        self.client
            .request(ops::SENDING_GET_ATTACHMENT, &path, data)
    }

    /// Starts a signed upload of `size_bytes` bytes named `filename`
    /// (`POST /emails/attachment-uploads`): the answer holds a short-lived
    /// URL and token that take the bytes without the API key. Finish it
    /// with [`complete_upload`](Self::complete_upload), or hand the URL and
    /// headers to the client that holds the file.
    ///
    /// ```no_run
    /// # async fn f(sending: sendmux_client::sending::Sending) -> Result<(), sendmux_client::Error> {
    /// let pdf = std::fs::read("report.pdf").unwrap_or_default();
    /// let intent = sending.create_upload("report.pdf", pdf.len() as u64).content_type("application/pdf").await?;
    /// let stored = sending.complete_upload(&intent, pdf).await?;
    /// # Ok(()) }
    /// ```
    pub fn create_upload(&self, filename: impl Into<String>, size_bytes: u64) -> CreateUpload {
        let filename = filename.into();
        let name = check_filename("filename", &filename)
            .and_then(|()| crate::validate::wire("filename", filename));
        let size = std::num::NonZeroU64::new(size_bytes)
            .ok_or_else(|| InvalidInput::new("size_bytes", "is 0", "upload at least one byte"));
        let body = name.and_then(|filename| {
            Ok(wire::AttachmentUploadIntentRequest {
                content_type: None,
                filename,
                sha256: None,
                size_bytes: size?,
            })
        });
        // The token in the answer is a credential: decoded as a secret.
        self.client
            .request(
                ops::SENDING_CREATE_ATTACHMENT_UPLOAD,
                &[],
                crate::secret::data,
            )
            .sensitive()
            .json(None)
            .set(body, |b, body| b.0 = Some(body))
    }

    /// Sends `bytes` to a started signed upload (`PUT` to its
    /// `upload_url`), with exactly the headers the intent lists and no API
    /// key, and returns the stored file's metadata. The bytes must be as
    /// long as announced and within `max_size_bytes`. Repeating it is
    /// harmless, so it is retried like a read.
    pub fn complete_upload(
        &self,
        intent: &UploadIntent,
        bytes: impl Into<Bytes>,
    ) -> CompleteUpload {
        let bytes = bytes.into();
        let length = bytes.len() as u64;
        let announced = intent.content_length();
        let fits = if announced.is_some_and(|n| n != length) {
            Err(InvalidInput::new(
                "bytes",
                format!(
                    "are {length} bytes, but the upload was started for {}",
                    announced.unwrap_or_default()
                ),
                "start a new upload with the right size",
            ))
        } else if length > intent.max_size_bytes {
            Err(InvalidInput::new(
                "bytes",
                format!(
                    "are {length} bytes, over the upload's {}-byte limit",
                    intent.max_size_bytes
                ),
                "upload a smaller file",
            ))
        } else {
            Ok(())
        };
        self.signed(intent, Source::Bytes(bytes), None).check(fits)
    }

    /// Sends the file at `path` to a started signed upload, streamed from
    /// disk; see [`complete_upload`](Self::complete_upload). The file must
    /// still be as long as the upload announced.
    pub fn complete_upload_file(
        &self,
        intent: &UploadIntent,
        path: impl AsRef<Path>,
    ) -> CompleteUpload {
        let expected = intent.content_length();
        self.signed(intent, Source::File(path.as_ref().to_owned()), expected)
    }

    fn direct(&self, filename: String, source: Source) -> UploadAttachment {
        let checked = check_filename("filename", &filename).and_then(|()| {
            crate::validate::wire::<wire::SendingUploadAttachmentFilename>(
                "filename",
                filename.clone(),
            )
            .map(drop)
        });
        self.client
            .request(ops::SENDING_UPLOAD_ATTACHMENT, &[], data)
            .with_body(UploadBody(source))
            .check(checked)
            .query("filename", filename)
    }

    fn signed(
        &self,
        intent: &UploadIntent,
        source: Source,
        expected: Option<u64>,
    ) -> CompleteUpload {
        let path = [("upload_id", intent.upload_id.as_str())];
        let mut request = self
            .client
            .request(ops::SENDING_COMPLETE_ATTACHMENT_UPLOAD, &path, data)
            .with_body(SignedBody { source, expected });
        let method = if intent.method.eq_ignore_ascii_case("PUT") {
            Ok(())
        } else {
            Err(InvalidInput::new(
                "intent",
                format!("asks for method {:?}", intent.method),
                "this client uploads with PUT; start a new upload",
            ))
        };
        request = request.check(method);
        match upload_url(&intent.upload_url) {
            Ok(url) => request = request.signed(url),
            Err(problem) => return request.check(Err(problem)),
        }
        for (name, value) in intent.headers() {
            let Ok(name) = HeaderName::from_bytes(name.as_bytes()) else {
                return request.check(Err(bad_header(name)));
            };
            // The body sets its own length (checked against the intent's);
            // the URL names the host; a key is never sent here.
            if [header::CONTENT_LENGTH, header::HOST, header::AUTHORIZATION].contains(&name) {
                continue;
            }
            let Ok(value) = HeaderValue::from_str(value) else {
                return request.check(Err(bad_header(name.as_str())));
            };
            let secret = name.as_str() == UPLOAD_TOKEN;
            request = request.raw_header(name, value, secret);
        }
        request
    }
}

impl UploadAttachment {
    /// The stored MIME type, instead of the one guessed from the name.
    pub fn content_type(self, content_type: impl Into<String>) -> Self {
        let value = content_type.into();
        let checked = crate::validate::wire::<wire::SendingUploadAttachmentContentType>(
            "content_type",
            value.clone(),
        )
        .map(drop);
        self.check(checked).query("content_type", value)
    }
}

impl CreateUpload {
    /// The MIME type the upload will have.
    pub fn content_type(self, content_type: impl Into<String>) -> Self {
        let value = crate::validate::wire("content_type", content_type);
        self.set(value, |body, value| {
            if let Some(body) = &mut body.0 {
                body.content_type = Some(value);
            }
        })
    }

    /// The SHA-256 of the bytes (64 lowercase hex digits), for the server
    /// to check them against.
    pub fn sha256(self, hex: impl Into<String>) -> Self {
        let hex = hex.into();
        let checked = if hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            Ok(hex)
        } else {
            Err(InvalidInput::new(
                "sha256",
                "is not 64 lowercase hex digits",
                "pass the SHA-256 digest of the bytes in lowercase hex",
            ))
        };
        self.set(checked, |body, hex| {
            if let Some(body) = &mut body.0 {
                body.sha256 = Some(hex);
            }
        })
    }
}

fn bad_header(name: &str) -> InvalidInput {
    InvalidInput::new(
        "intent",
        format!("lists a header {name:?} that cannot be sent"),
        "start a new upload",
    )
}

/// [`Sending::upload_reader`]: set options, then await. One attempt only.
#[must_use = "uploads do nothing until awaited"]
pub struct UploadReader {
    sending: Sending,
    filename: String,
    content_type: Option<String>,
    reader: Box<dyn AsyncRead + Send + Unpin>,
    length: u64,
    idempotency_key: Option<String>,
    timeout: Option<Duration>,
}

impl fmt::Debug for UploadReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UploadReader")
            .field("filename", &self.filename)
            .field("content_type", &self.content_type)
            .field("length", &self.length)
            .field("idempotency_key", &self.idempotency_key)
            .finish_non_exhaustive()
    }
}

impl UploadReader {
    /// The stored MIME type, instead of the one guessed from the name.
    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }

    /// Your idempotency key, to repeat the upload safely with a new reader.
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    /// The time limit of the attempt.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Checks the arguments, then streams the reader.
    pub async fn send(self) -> Result<Response<AttachmentInfo>, Error> {
        // The same checks as the in-memory upload, on a request never sent.
        let probe = self
            .sending
            .direct(self.filename.clone(), Source::Bytes(Bytes::new()));
        let probe = match &self.content_type {
            Some(content_type) => probe.content_type(content_type.clone()),
            None => probe,
        };
        if let Some(problem) = probe.problem() {
            return Err(problem.clone().into());
        }
        if self.length == 0 {
            return Err(InvalidInput::new("length", "is 0", "upload at least one byte").into());
        }
        let client = &self.sending.client;
        client.credential(Surface::Sending)?;
        let mut call = Call::new(
            ops::SENDING_UPLOAD_ATTACHMENT,
            ops::SENDING_UPLOAD_ATTACHMENT.path.to_owned(),
        );
        call.query.push(("filename", self.filename));
        if let Some(content_type) = self.content_type {
            call.query.push(("content_type", content_type));
        }
        call.idempotency_key = self.idempotency_key.map(IdempotencyKey::new).transpose()?;
        call.timeout = self.timeout;
        call.body = Some(Payload::Reader {
            reader: Mutex::new(Some(self.reader)),
            length: self.length,
        });
        let raw = client.execute(call).await?;
        data(raw)
    }
}

impl IntoFuture for UploadReader {
    type Output = Result<Response<AttachmentInfo>, Error>;
    type IntoFuture = BoxFuture<'static, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

impl SendEmail {
    /// Attaches the local file at `path`: when the send is awaited, the
    /// file is uploaded first ([`Sending::upload_file`], streamed) and then
    /// attached by its id. Set every other option before this call: the
    /// result only takes more files.
    ///
    /// With your own [`idempotency_key`](Request::idempotency_key) on the
    /// send, upload `i` carries `{key}.file{i}`, so repeating the whole
    /// call with the same key and files sends the email once. If an upload
    /// fails, the email is not sent.
    ///
    /// ```no_run
    /// # async fn f(sending: sendmux_client::sending::Sending) -> Result<(), sendmux_client::Error> {
    /// let sent = sending
    ///     .send("agent@mail.acme.com", "ada@example.com")
    ///     .subject("Your report")
    ///     .html("<p>Attached.</p>")
    ///     .idempotency_key("report-2026-11")
    ///     .attach_file("reports/2026-11.pdf")
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn attach_file(self, path: impl AsRef<Path>) -> SendWithFiles {
        SendWithFiles {
            send: self,
            files: vec![path.as_ref().to_owned()],
        }
    }
}

/// A send with local files to upload first; see [`SendEmail::attach_file`].
#[derive(Debug, Clone)]
#[must_use = "requests do nothing until awaited"]
pub struct SendWithFiles {
    send: SendEmail,
    files: Vec<PathBuf>,
}

impl SendWithFiles {
    /// Attaches another local file.
    pub fn attach_file(mut self, path: impl AsRef<Path>) -> Self {
        self.files.push(path.as_ref().to_owned());
        self
    }

    /// Checks the email, uploads the files one after another, then sends.
    #[allow(clippy::manual_async_fn)] // a plain fn keeps `self` once in the state
    pub fn send(self) -> impl Future<Output = Result<Response<Sent>, Error>> + Send + 'static {
        async move {
            let SendWithFiles { mut send, files } = self;
            // Everything the send will check, before any upload.
            if let Some(problem) = send.problem() {
                return Err(problem.clone().into());
            }
            send.body.wire(files.len())?;
            let sending = Sending::new(send.client().clone());
            sending.client.credential(Surface::Sending)?;
            let base = send.caller_idempotency_key().map(str::to_owned);
            for (i, path) in files.iter().enumerate() {
                let mut upload = sending.upload_file(path);
                if let Some(base) = &base {
                    upload = upload.idempotency_key(derived_key(base, &format!("file{i}")));
                }
                let stored = upload.send().await?;
                send = send.attach(super::Attachment::uploaded(
                    stored.into_inner().attachment_id,
                ));
            }
            send.send().await
        }
    }
}

impl IntoFuture for SendWithFiles {
    type Output = Result<Response<Sent>, Error>;
    type IntoFuture = BoxFuture<'static, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn intent(headers: serde_json::Value) -> UploadIntent {
        serde_json::from_value(serde_json::json!({
            "upload_id": "upl_1",
            "upload_url": "https://up.example.com/u/upl_1?sig=s3cr3t",
            "method": "PUT",
            "expires_at": "2026-11-01T10:15:00Z",
            "max_size_bytes": 100,
            "headers": headers,
        }))
        .unwrap()
    }

    #[test]
    fn an_intent_never_shows_its_token() {
        let intent = intent(serde_json::json!({
            "Content-Type": "text/plain",
            "Content-Length": "5",
            "X-Sendmux-Upload-Token": "smx_upload_T0K3N"
        }));
        let shown = format!("{intent:?} {intent:#?}");
        assert!(
            !shown.contains("T0K3N") && !shown.contains("s3cr3t"),
            "{shown}"
        );
        assert_eq!(intent.content_length(), Some(5));
        assert_eq!(
            intent.header("x-sendmux-upload-token"),
            Some("smx_upload_T0K3N")
        );
    }

    #[test]
    fn upload_urls_are_http_without_credentials() {
        assert!(upload_url("https://up.example.com/u/1").is_ok());
        for bad in ["ftp://x.y/u", "/relative", "https://me:pw@x.y/u"] {
            let problem = upload_url(bad).unwrap_err();
            assert_eq!(problem.field, "upload_url");
            assert!(!problem.to_string().contains(":pw"), "{problem}");
        }
        assert_eq!(
            file_name(Path::new("a/b/report.pdf")).unwrap(),
            "report.pdf"
        );
        assert!(file_name(Path::new("/")).is_err());
    }
}
