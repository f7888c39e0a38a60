//! Attachments of the Sending API: a direct upload (`POST
//! /emails/attachments`), the two-step signed upload (`POST
//! /emails/attachment-uploads` names the bytes, a `PUT` to the URL it
//! returns carries them, authorised by the one-time token it returns
//! instead of an API key), and the metadata read. A send names an upload
//! by its `att_` id.
//!
//! The mock keeps each file's size and SHA-256, not its bytes: nothing is
//! delivered anywhere, so only the facts a send and a repeated upload need
//! are stored.

use std::collections::HashMap;

use http::header::{CONTENT_TYPE, HOST, LOCATION};
use http::{HeaderName, StatusCode};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::message::{Uploaded, check_filename};
use crate::api::{ApiError, Out, header_value, ok_envelope};
use crate::app::App;
use crate::clock::rfc3339;
use crate::ids;
use crate::resources::{Ctx, Resources};

/// How long an uploaded attachment can be named by sends: 24 hours.
pub(crate) const ATTACHMENT_TTL_MS: u64 = 24 * 60 * 60 * 1000;
/// How long an upload URL and its token work: 15 minutes.
pub(crate) const UPLOAD_TTL_MS: u64 = 15 * 60 * 1000;
/// The header that carries an upload's token.
pub(crate) const UPLOAD_TOKEN: HeaderName = HeaderName::from_static("x-sendmux-upload-token");
/// Media type of a file uploaded without one.
const OCTET_STREAM: &str = "application/octet-stream";

/// Mixed into the seed for attachment ids, upload ids and tokens.
const ATTACHMENT_SALT: u64 = 0x6174_745f_6964_7300;
const UPLOAD_SALT: u64 = 0x7570_6c5f_6964_7300;
const TOKEN_SALT: u64 = 0x7570_6c5f_746f_6b00;

/// One stored file.
struct Attachment {
    team: String,
    filename: String,
    content_type: String,
    size_bytes: u64,
    /// Hex SHA-256 of the bytes.
    sha256: String,
    expires_at_ms: u64,
}

/// One started two-step upload.
struct Upload {
    team: String,
    /// The one-time token; never serialized.
    token: String,
    filename: String,
    content_type: String,
    size_bytes: u64,
    /// Hex SHA-256 the bytes must have, when the client named one.
    sha256: Option<String>,
    expires_at_ms: u64,
    /// The attachment the `PUT` made, once it came.
    completed: Option<String>,
}

/// The Sending API's files and upload intents. Holds tokens: no `Debug`.
#[derive(Default)]
pub(crate) struct Attachments {
    stored: HashMap<String, Attachment>,
    uploads: HashMap<String, Upload>,
    /// Ids handed out so far; ids and tokens derive from it and the seed.
    issued: u64,
}

/// `AttachmentUploadData`.
#[derive(Serialize)]
struct AttachmentView<'a> {
    attachment_id: &'a str,
    filename: &'a str,
    content_type: &'a str,
    size_bytes: u64,
    expires_at: String,
}

/// Finds a team's live attachments at one moment, for sends.
pub(crate) struct Uploads<'a> {
    store: &'a Resources,
    team: &'a str,
    now: u64,
}

impl<'a> Uploads<'a> {
    pub(crate) fn new(store: &'a Resources, team: &'a str, now: u64) -> Self {
        Self { store, team, now }
    }

    /// The attachment `id` of the team, unless it expired.
    pub(crate) fn find(&self, id: &str) -> Option<Uploaded> {
        let a = self.store.sending.attachments.stored.get(id)?;
        (a.team == self.team && self.now < a.expires_at_ms).then(|| Uploaded {
            filename: a.filename.clone(),
            size_bytes: a.size_bytes,
        })
    }
}

impl Attachments {
    fn next(&mut self, prefix: &str, salt: u64, seed: u64) -> String {
        self.issued += 1;
        ids::short_id(prefix, seed ^ salt, self.issued)
    }

    /// Stores a file; returns its id and the `201` answer with its
    /// metadata.
    fn store(
        &mut self,
        ctx: &Ctx<'_>,
        team: &str,
        file: (String, String, u64, String),
        now: u64,
    ) -> (String, Out) {
        let (filename, content_type, size_bytes, sha256) = file;
        let id = self.next("att_", ATTACHMENT_SALT, ctx.seed());
        let attachment = Attachment {
            team: team.to_owned(),
            filename,
            content_type,
            size_bytes,
            sha256,
            expires_at_ms: now.saturating_add(ATTACHMENT_TTL_MS),
        };
        let out = created(ctx, &id, &attachment);
        self.stored.insert(id.clone(), attachment);
        (id, out)
    }
}

/// `201` with an attachment's metadata and its `Location`.
fn created(ctx: &Ctx<'_>, id: &str, a: &Attachment) -> Out {
    let body = ok_envelope(ctx.request_id, view(id, a));
    Out::json(StatusCode::CREATED, ctx.request_id, body).header(
        LOCATION,
        header_value(&format!("/api/v1/emails/attachments/{id}")),
    )
}

fn view<'a>(id: &'a str, a: &'a Attachment) -> AttachmentView<'a> {
    AttachmentView {
        attachment_id: id,
        filename: &a.filename,
        content_type: &a.content_type,
        size_bytes: a.size_bytes,
        expires_at: rfc3339(a.expires_at_ms),
    }
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The media type part of a `Content-Type` value, lowercased.
fn essence(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// `422 validation_error` for a file name that is a path.
fn check_name(field: &str, filename: &str) -> Result<(), ApiError> {
    check_filename(filename)
        .map_err(|why| ApiError::validation_error(format!("{field} {why}")).with_param(field))
}

/// `413 payload_too_large` for a file over the server's cap.
fn too_large(max: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("an attachment may have at most {max} bytes"),
    )
}

/// `POST /emails/attachments?filename=..[&content_type=..]`: the body is
/// the file. Its media type is the `content_type` query parameter, else
/// the request's `Content-Type`.
pub(crate) fn upload(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let filename = ctx.query("filename").unwrap_or_default();
    check_name("filename", &filename)?;
    let content_type = ctx
        .query("content_type")
        .filter(|t| !t.trim().is_empty())
        .or_else(|| ctx.header(CONTENT_TYPE).map(essence))
        .unwrap_or_else(|| OCTET_STREAM.to_owned());
    // The body stage already refused a body over the cap (`413`).
    let file = (
        filename,
        content_type,
        ctx.raw_body.len() as u64,
        hex_sha256(&ctx.raw_body),
    );
    let now = ctx.app.clock.unix_millis();
    let mut store = ctx.store();
    let (_, out) = store.sending.attachments.store(&ctx, ctx.team, file, now);
    Ok(out)
}

/// `AttachmentUploadIntentRequest`.
#[derive(Deserialize)]
struct IntentRequest {
    filename: String,
    size_bytes: u64,
    #[serde(default)]
    content_type: Option<String>,
    #[serde(default)]
    sha256: Option<String>,
}

/// `AttachmentUploadIntentData`.
#[derive(Serialize)]
struct IntentView<'a> {
    upload_id: &'a str,
    upload_url: String,
    method: &'static str,
    expires_at: String,
    max_size_bytes: usize,
    headers: HashMap<&'static str, String>,
}

/// `POST /emails/attachment-uploads`: starts an upload of exactly
/// `size_bytes` bytes of `content_type` (`application/octet-stream` when
/// omitted) and answers with the URL, on the Sending API's listener, and
/// the headers its `PUT` must send, the one-time token among them.
pub(crate) fn create_upload(mut ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let request: IntentRequest = ctx.typed_body()?;
    check_name("filename", &request.filename)?;
    let max = ctx.app.settings.sending_attachment_limit;
    if request.size_bytes > max as u64 {
        return Err(too_large(max).with_param("size_bytes"));
    }
    let content_type = request
        .content_type
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| OCTET_STREAM.to_owned());
    let (seed, now) = (ctx.seed(), ctx.app.clock.unix_millis());
    let mut store = ctx.store();
    let attachments = &mut store.sending.attachments;
    let id = attachments.next("upl_", UPLOAD_SALT, seed);
    let token = format!(
        "smx_upload_{}",
        ids::token(seed ^ TOKEN_SALT, id.as_bytes(), 40)
    );
    let upload = Upload {
        team: ctx.team.to_owned(),
        token,
        filename: request.filename,
        content_type,
        size_bytes: request.size_bytes,
        sha256: request.sha256,
        expires_at_ms: now.saturating_add(UPLOAD_TTL_MS),
        completed: None,
    };
    let headers = HashMap::from([
        ("Content-Type", upload.content_type.clone()),
        ("Content-Length", upload.size_bytes.to_string()),
        ("X-Sendmux-Upload-Token", upload.token.clone()),
    ]);
    let path = format!("/api/v1/emails/attachment-uploads/{id}");
    let view = IntentView {
        upload_id: &id,
        upload_url: format!("http://{}{path}", sending_host(&ctx)),
        method: "PUT",
        expires_at: rfc3339(upload.expires_at_ms),
        max_size_bytes: max,
        headers,
    };
    let body = ok_envelope(ctx.request_id, view);
    attachments.uploads.insert(id, upload);
    Ok(Out::json(StatusCode::CREATED, ctx.request_id, body).header(LOCATION, header_value(&path)))
}

/// The host the client reached the Sending API at (its `Host` header),
/// else the listener's address.
fn sending_host(ctx: &Ctx<'_>) -> String {
    ctx.header(HOST)
        .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()))
        .map_or_else(
            || ctx.app.settings.listeners.sending.to_string(),
            str::to_owned,
        )
}

/// Authorises a `PUT` to an upload URL: the upload must exist and be
/// live (`404 not_found` otherwise) and `X-Sendmux-Upload-Token` must be
/// its token (`401 authentication_required` otherwise). Returns the team
/// that started the upload. Runs in place of the API key check.
pub(crate) fn authorise_upload(
    app: &App,
    headers: &http::HeaderMap,
    upload_id: &str,
) -> Result<String, ApiError> {
    let store = crate::app::lock(&app.resources);
    let upload = store
        .sending
        .attachments
        .uploads
        .get(upload_id)
        .filter(|u| app.clock.unix_millis() < u.expires_at_ms)
        .ok_or_else(|| ApiError::not_found("upload"))?;
    let sent = headers
        .get(UPLOAD_TOKEN)
        .map(http::HeaderValue::as_bytes)
        .unwrap_or_default();
    if !same_secret(sent, upload.token.as_bytes()) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "authentication_required",
            "send the upload's token in X-Sendmux-Upload-Token; this URL takes no API key",
        ));
    }
    Ok(upload.team.clone())
}

/// Compares without stopping at the first difference, so the time taken
/// tells nothing about a guessed token.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `PUT /emails/attachment-uploads/{upload_id}`: the bytes promised,
/// with the `Content-Type` and `Content-Length` the upload named (`400
/// invalid_parameter` for another type, `413 payload_too_large` for
/// another size, `422 validation_error` for another SHA-256). A repeat
/// with the same bytes answers the same attachment again; other bytes
/// are `409 conflict`.
pub(crate) fn complete_upload(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let id = ctx.param("upload_id").to_owned();
    let now = ctx.app.clock.unix_millis();
    let sha256 = hex_sha256(&ctx.raw_body);
    let mut store = ctx.store();
    let attachments = &mut store.sending.attachments;
    let upload = attachments
        .uploads
        .get(&id)
        .filter(|u| u.team == ctx.team)
        .ok_or_else(|| ApiError::not_found("upload"))?;
    if let Some(done) = &upload.completed {
        let a = attachments
            .stored
            .get(done)
            .ok_or_else(|| ApiError::not_found("upload"))?;
        if a.sha256 != sha256 {
            return Err(ApiError::conflict(
                "this upload was already completed with other bytes",
            ));
        }
        return Ok(created(&ctx, done, a));
    }
    let sent_type = ctx.header(CONTENT_TYPE).map(essence).unwrap_or_default();
    if sent_type != essence(&upload.content_type) {
        return Err(ApiError::invalid_parameter(format!(
            "Content-Type must be {}, as the upload named",
            upload.content_type
        ))
        .with_param("Content-Type"));
    }
    if ctx.raw_body.len() as u64 != upload.size_bytes {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!(
                "the upload named {} bytes; Content-Length and the body must match it",
                upload.size_bytes
            ),
        )
        .with_param("Content-Length"));
    }
    if upload.sha256.as_ref().is_some_and(|want| *want != sha256) {
        return Err(ApiError::validation_error(
            "the bytes do not have the SHA-256 the upload named",
        )
        .with_param("sha256"));
    }
    let file = (
        upload.filename.clone(),
        upload.content_type.clone(),
        upload.size_bytes,
        sha256,
    );
    let team = upload.team.clone();
    let (attachment_id, out) = attachments.store(&ctx, &team, file, now);
    if let Some(upload) = attachments.uploads.get_mut(&id) {
        upload.completed = Some(attachment_id);
    }
    Ok(out)
}

/// `GET /emails/attachments/{attachment_id}`: the team's file, until it
/// expires (`404 not_found` after).
pub(crate) fn get(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let id = ctx.param("attachment_id");
    let now = ctx.app.clock.unix_millis();
    let store = ctx.store();
    let a = store
        .sending
        .attachments
        .stored
        .get(id)
        .filter(|a| a.team == ctx.team && now < a.expires_at_ms)
        .ok_or_else(|| ApiError::not_found("attachment"))?;
    Ok(ctx.ok(view(id, a)))
}
