//! Attachments: download (whole or one byte range), direct upload, and the
//! signed flow — a URL minted by `POST /mailbox/attachment-uploads` that
//! takes one `PUT` without an API key, with exactly the declared
//! `Content-Type` and `Content-Length`. Download links in attachment
//! metadata work the same way, with a token instead of a key.
//!
//! Bodies are `Bytes` slices of the stored attachment: a download, whole
//! or ranged, never copies it.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::routing::{get, put};
use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderName};
use http::{HeaderValue, Request, Response, StatusCode};
use serde::{Deserialize, Serialize};

use super::model::{Blob, PendingUpload, check_download_token};
use super::store::MailboxData;
use super::{Ctx, base_url, check_params, mailbox_of, missing, open};
use crate::api::{ApiError, BASE_PATH, Out, header_value, ok_envelope, outside_pipeline};
use crate::app::{App, lock};
use crate::clock::rfc3339;
use crate::ids;
use crate::serve::BodyTimeout;

/// How long a signed upload URL may be used: 15 minutes of server time.
const UPLOAD_URL_TTL_MS: u64 = 15 * 60 * 1000;

const ACCEPT_RANGES: HeaderName = HeaderName::from_static("accept-ranges");
const CONTENT_RANGE: HeaderName = HeaderName::from_static("content-range");
const CONTENT_DISPOSITION: HeaderName = HeaderName::from_static("content-disposition");

/// The routes outside the operation table: the signed `PUT` and the
/// download links.
pub(crate) fn routes() -> Router<Arc<App>> {
    Router::new()
        .route(
            &format!("{BASE_PATH}/mailbox/attachment-uploads/{{upload_id}}"),
            put(put_upload),
        )
        .route(
            &format!(
                "{BASE_PATH}/mailbox/messages/{{message_id}}/attachment-downloads/{{attachment_id}}"
            ),
            get(download_link),
        )
}

/// `bytes` of `len` made from `seed`: 64 KiB blocks of seeded noise, each
/// starting with its own index, so any range of a large attachment is
/// told from any other, at the cost of a copy per block.
pub(crate) fn generated(seed: u64, len: usize) -> Bytes {
    const BLOCK: usize = 64 * 1024;
    let mut noise = vec![0u8; BLOCK];
    for (i, chunk) in noise.chunks_exact_mut(8).enumerate() {
        chunk.copy_from_slice(&ids::mix64(seed ^ 0x6174_7461 ^ i as u64).to_le_bytes());
    }
    let mut out = vec![0u8; len];
    for (i, block) in out.chunks_mut(BLOCK).enumerate() {
        let n = block.len();
        block.copy_from_slice(&noise[..n]);
        let index = (i as u64).to_le_bytes();
        let head = n.min(8);
        block[..head].copy_from_slice(&index[..head]);
    }
    Bytes::from(out)
}

/// A content type for a file name's extension.
fn content_type_of(filename: &str) -> &'static str {
    let ext = filename
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        "csv" => "text/csv",
        "html" | "htm" => "text/html",
        "json" => "application/json",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "zip" => "application/zip",
        "ics" => "text/calendar",
        _ => "application/octet-stream",
    }
}

/// One `bytes=` range of a body of `len` bytes, as an inclusive span.
enum Range {
    Whole,
    Part(usize, usize),
    Unsatisfiable,
}

/// Parses `Range` for a body of `len` bytes: one range of the `bytes`
/// unit (`a-b`, `a-`, `-n`); anything else is `None` (a `400`).
fn parse_range(header: Option<&str>, len: usize) -> Option<Range> {
    let Some(raw) = header else {
        return Some(Range::Whole);
    };
    let spec = raw.trim().strip_prefix("bytes=")?.trim();
    if spec.contains(',') {
        return None;
    }
    let (start, end) = spec.split_once('-')?;
    let num = |s: &str| -> Option<usize> {
        let s = s.trim();
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let last = len.checked_sub(1);
    match (start.trim().is_empty(), end.trim().is_empty()) {
        (true, true) => None,
        (true, false) => {
            let n = num(end)?;
            Some(match last {
                Some(last) if n > 0 => Range::Part(len.saturating_sub(n), last),
                _ => Range::Unsatisfiable,
            })
        }
        (false, open_end) => {
            let a = num(start)?;
            let b = if open_end { None } else { Some(num(end)?) };
            if b.is_some_and(|b| b < a) {
                return None;
            }
            Some(match last {
                Some(last) if a <= last => Range::Part(a, b.map_or(last, |b| b.min(last))),
                _ => Range::Unsatisfiable,
            })
        }
    }
}

/// The answer for `bytes` under `range`: `200` whole, `206` one span,
/// `416` (in the error envelope, with `Content-Range: bytes */LEN`) when
/// the range misses the body, `400` when it does not parse.
fn serve(
    request_id: &str,
    bytes: &Bytes,
    filename: Option<&str>,
    range: Option<&str>,
) -> Result<Out, ApiError> {
    let len = bytes.len();
    let range = parse_range(range, len).ok_or_else(|| {
        ApiError::invalid_parameter("Range must be one byte range, such as bytes=0-1023")
            .with_param("Range")
    })?;
    let disposition = match filename {
        Some(name) => format!(
            "attachment; filename=\"{}\"",
            name.replace(['"', '\\', '\r', '\n'], "_")
        ),
        None => "attachment".to_owned(),
    };
    let base = |status| {
        Out::empty(status, request_id)
            .header(
                CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            )
            .header(ACCEPT_RANGES, HeaderValue::from_static("bytes"))
            .header(CONTENT_DISPOSITION, header_value(&disposition))
    };
    Ok(match range {
        Range::Whole => base(StatusCode::OK).body(bytes.clone()),
        Range::Part(a, b) => base(StatusCode::PARTIAL_CONTENT)
            .header(CONTENT_RANGE, header_value(&format!("bytes {a}-{b}/{len}")))
            .body(bytes.slice(a..=b)),
        Range::Unsatisfiable => ApiError::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "invalid_parameter",
            format!("the range lies outside the attachment's {len} bytes"),
        )
        .with_param("Range")
        .into_out(request_id)
        .header(CONTENT_RANGE, header_value(&format!("bytes */{len}"))),
    })
}

/// `GET /mailbox/messages/{message_id}/attachments/{attachment_id}`.
pub(crate) fn download(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    check_params(&ctx)?;
    let mailbox_id = mailbox_of(&ctx)?;
    let mut store = ctx.store();
    let (_, data) = open(&mut store, &ctx, mailbox_id)?;
    let m = data
        .message(ctx.param("message_id"))
        .ok_or_else(|| missing("message"))?;
    let attachment = m
        .attachments
        .iter()
        .find(|a| a.id == ctx.param("attachment_id"))
        .ok_or_else(|| missing("attachment"))?;
    serve(
        ctx.request_id,
        &attachment.bytes,
        attachment.filename.as_deref(),
        ctx.header(http::header::RANGE),
    )
}

/// Stores an uploaded attachment of `data` and returns its blob.
fn store_blob(
    data: &mut MailboxData,
    filename: String,
    content_type: String,
    bytes: Bytes,
) -> Blob {
    let blob = Blob {
        id: data.new_id("blob_"),
        filename,
        content_type,
        bytes,
    };
    data.blobs.insert(blob.id.clone(), blob.clone());
    blob
}

/// `POST /mailbox/attachments:upload?filename=...`.
pub(crate) fn upload(mut ctx: Ctx<'_>) -> Result<Out, ApiError> {
    check_params(&ctx)?;
    let mailbox_id = mailbox_of(&ctx)?;
    let filename = ctx.query("filename").unwrap_or_default().trim().to_owned();
    if filename.is_empty() {
        return Err(
            ApiError::invalid_parameter("filename must not be empty").with_param("filename")
        );
    }
    let bytes = std::mem::take(&mut ctx.raw_body);
    if bytes.is_empty() {
        return Err(ApiError::invalid_parameter("the attachment is empty").with_param("body"));
    }
    let mut store = ctx.store();
    let (_, data) = open(&mut store, &ctx, mailbox_id)?;
    let content_type = content_type_of(&filename).to_owned();
    let blob = store_blob(data, filename, content_type, bytes);
    Ok(ctx.ok(blob.view()))
}

/// `MailboxAttachmentUploadIntentBody`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IntentBody {
    filename: String,
    content_type: String,
    size_bytes: u64,
}

/// `MailboxAttachmentUploadIntentResult`.
#[derive(Serialize)]
struct Intent {
    upload_id: String,
    upload_url: String,
    method: &'static str,
    expires_at: String,
    headers: IntentHeaders,
    max_size_bytes: u64,
}

#[derive(Serialize)]
struct IntentHeaders {
    #[serde(rename = "Content-Type")]
    content_type: String,
    #[serde(rename = "Content-Length")]
    content_length: String,
}

/// `POST /mailbox/attachment-uploads`.
pub(crate) fn create_upload(mut ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let body: IntentBody = ctx.typed_body()?;
    let mailbox_id = mailbox_of(&ctx)?;
    let max = ctx.app.settings.mailbox.attachment_max_bytes as u64;
    let filename = body.filename.trim().to_owned();
    if filename.is_empty() {
        return Err(
            ApiError::invalid_parameter("filename must not be empty").with_param("filename")
        );
    }
    let content_type = body.content_type.trim().to_owned();
    let media_type = content_type
        .split_once('/')
        .is_some_and(|(t, s)| !t.is_empty() && !s.is_empty())
        && HeaderValue::from_str(&content_type).is_ok();
    if !media_type {
        return Err(ApiError::invalid_parameter(
            "content_type must be a media type such as application/pdf",
        )
        .with_param("content_type"));
    }
    if body.size_bytes > max {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("attachments may be at most {max} bytes"),
        )
        .with_param("size_bytes"));
    }
    let now = ctx.app.clock.unix_millis();
    let base = base_url(&ctx).unwrap_or_else(|| BASE_PATH.to_owned());
    let mut store = ctx.store();
    let (_, data) = open(&mut store, &ctx, mailbox_id)?;
    let id = data.new_id("upl_");
    let expires_ms = now.saturating_add(UPLOAD_URL_TTL_MS);
    let token = ids::token(data.seed, format!("{id}/{expires_ms}").as_bytes(), 40);
    data.uploads.insert(
        id.clone(),
        PendingUpload {
            filename,
            content_type: content_type.clone(),
            size_bytes: body.size_bytes,
            expires_ms,
            token: token.clone(),
        },
    );
    Ok(ctx.ok(Intent {
        upload_url: format!("{base}/mailbox/attachment-uploads/{id}?upload_token={token}"),
        upload_id: id,
        method: "PUT",
        expires_at: rfc3339(expires_ms),
        headers: IntentHeaders {
            content_type,
            content_length: body.size_bytes.to_string(),
        },
        max_size_bytes: max,
    }))
}

/// The first value of query parameter `name` of `req`.
fn query_param(req: &Request<Body>, name: &str) -> Option<String> {
    form_urlencoded::parse(req.uri().query()?.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// A path segment after `prefix` of `path` (`None` for anything deeper).
fn segment<'p>(path: &'p str, prefix: &str) -> Option<&'p str> {
    path.strip_prefix(prefix)
        .filter(|rest| !rest.is_empty() && !rest.contains('/'))
}

/// An error envelope outside the pipeline.
fn refuse(app: &App, error: ApiError) -> Response<Body> {
    let request_id = app.next_request_id();
    outside_pipeline(app, error.into_out(&request_id))
}

fn bad_token(what: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "authentication_required",
        format!("the {what} token is missing, wrong or expired; ask for a new URL"),
    )
}

/// `PUT` of a signed upload URL: no API key, the token in the URL, the
/// declared type and length exactly. Answers the stored blob
/// (`MailboxAttachmentUploadResult` in the success envelope); the URL is
/// then spent.
async fn put_upload(State(app): State<Arc<App>>, req: Request<Body>) -> Response<Body> {
    use http_body_util::BodyExt as _;
    let prefix = format!("{BASE_PATH}/mailbox/attachment-uploads/");
    let Some(upload_id) = segment(req.uri().path(), &prefix).map(str::to_owned) else {
        return refuse(&app, ApiError::not_found("upload"));
    };
    let token = query_param(&req, "upload_token").unwrap_or_default();
    let now = app.clock.unix_millis();
    let pending = {
        let store = lock(&app.resources);
        store.mailbox_api.find_upload(&upload_id)
    };
    let Some((mailbox_id, upload)) = pending else {
        return refuse(&app, ApiError::not_found("upload"));
    };
    if token != upload.token || now > upload.expires_ms {
        return refuse(&app, bad_token("upload"));
    }
    // Owned, so no borrow of the request lives across the body reads.
    let (content_type, content_length) = {
        let header = |name| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.trim().to_owned())
        };
        (header(CONTENT_TYPE), header(CONTENT_LENGTH))
    };
    if content_type.as_deref() != Some(upload.content_type.as_str()) {
        return refuse(
            &app,
            ApiError::invalid_parameter(format!(
                "Content-Type must be exactly {} as declared",
                upload.content_type
            ))
            .with_param("Content-Type"),
        );
    }
    let declared = upload.size_bytes.to_string();
    if content_length.as_deref() != Some(declared.as_str()) {
        return refuse(
            &app,
            ApiError::invalid_parameter(format!(
                "Content-Length must be exactly {declared} as declared"
            ))
            .with_param("Content-Length"),
        );
    }
    let mut body = req.into_body();
    let mut buf = bytes::BytesMut::new();
    let limit = usize::try_from(upload.size_bytes).unwrap_or(usize::MAX);
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(frame) => frame,
            Err(e) => {
                let late = e.into_inner().is::<BodyTimeout>();
                let message = if late {
                    "the upload did not arrive in time"
                } else {
                    "the upload could not be read"
                };
                return refuse(&app, ApiError::invalid_parameter(message));
            }
        };
        if let Some(data) = frame.data_ref() {
            if buf.len() + data.len() > limit {
                return refuse(
                    &app,
                    ApiError::invalid_parameter("the body is longer than declared"),
                );
            }
            buf.extend_from_slice(data);
        }
    }
    if buf.len() != limit {
        return refuse(
            &app,
            ApiError::invalid_parameter("the body is shorter than declared"),
        );
    }
    let request_id = app.next_request_id();
    let mut store = lock(&app.resources);
    let Some(data) = store.mailbox_api.existing_mut(&mailbox_id) else {
        return refuse(&app, ApiError::not_found("upload"));
    };
    // Spent once: a second PUT finds nothing.
    if data.uploads.remove(&upload_id).is_none() {
        return refuse(&app, ApiError::not_found("upload"));
    }
    let blob = store_blob(data, upload.filename, upload.content_type, buf.freeze());
    let body = ok_envelope(&request_id, blob.view());
    drop(store);
    outside_pipeline(&app, Out::json(StatusCode::OK, &request_id, body))
}

/// A download link from attachment metadata: the token instead of a key,
/// `Range` as on the authenticated route.
async fn download_link(State(app): State<Arc<App>>, req: Request<Body>) -> Response<Body> {
    let path = req.uri().path();
    let parsed = path
        .strip_prefix(&format!("{BASE_PATH}/mailbox/messages/"))
        .and_then(|rest| rest.split_once("/attachment-downloads/"))
        .filter(|(m, a)| !m.contains('/') && !a.contains('/'))
        .map(|(m, a)| (m.to_owned(), a.to_owned()));
    let Some((message_id, attachment_id)) = parsed else {
        return refuse(&app, ApiError::not_found("attachment"));
    };
    let token = query_param(&req, "download_token").unwrap_or_default();
    let now_secs = app.clock.unix_millis() / 1000;
    let request_id = app.next_request_id();
    let found = {
        let store = lock(&app.resources);
        store
            .mailbox_api
            .find_message(&message_id)
            .and_then(|(data, m)| {
                let valid = check_download_token(data.seed, &message_id, &attachment_id, &token)
                    .is_some_and(|expires| expires >= now_secs);
                let attachment = m.attachments.iter().find(|a| a.id == attachment_id)?;
                Some((valid, attachment.bytes.clone(), attachment.filename.clone()))
            })
    };
    let Some((valid, bytes, filename)) = found else {
        return refuse(&app, ApiError::not_found("attachment"));
    };
    if !valid {
        return refuse(&app, bad_token("download"));
    }
    let range = req
        .headers()
        .get(http::header::RANGE)
        .and_then(|v| v.to_str().ok());
    match serve(&request_id, &bytes, filename.as_deref(), range) {
        Ok(out) => outside_pipeline(&app, out),
        Err(e) => outside_pipeline(&app, e.into_out(&request_id)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(header: &str, len: usize) -> Option<(usize, usize)> {
        match parse_range(Some(header), len) {
            Some(Range::Part(a, b)) => Some((a, b)),
            _ => None,
        }
    }

    #[test]
    fn ranges_follow_rfc_9110() {
        assert_eq!(span("bytes=0-9", 100), Some((0, 9)));
        assert_eq!(span("bytes=90-", 100), Some((90, 99)));
        assert_eq!(span("bytes=90-500", 100), Some((90, 99)));
        assert_eq!(span("bytes=-10", 100), Some((90, 99)));
        assert_eq!(span("bytes=-500", 100), Some((0, 99)));
        assert!(matches!(
            parse_range(Some("bytes=100-"), 100),
            Some(Range::Unsatisfiable)
        ));
        assert!(matches!(
            parse_range(Some("bytes=-0"), 100),
            Some(Range::Unsatisfiable)
        ));
        assert!(matches!(
            parse_range(Some("bytes=0-"), 0),
            Some(Range::Unsatisfiable)
        ));
        for bad in [
            "bytes=5-1",
            "bytes=a-b",
            "items=0-1",
            "bytes=0-1,4-5",
            "bytes=-",
            "bytes=1",
        ] {
            assert!(parse_range(Some(bad), 100).is_none(), "{bad}");
        }
        assert!(matches!(parse_range(None, 100), Some(Range::Whole)));
    }

    #[test]
    fn generated_bytes_are_stable_and_tell_blocks_apart() {
        let a = generated(1, 200_000);
        assert_eq!(a, generated(1, 200_000));
        assert_ne!(a, generated(2, 200_000));
        assert_eq!(a.len(), 200_000);
        assert_ne!(a.slice(0..64), a.slice(65_536..65_600));
        assert_eq!(generated(1, 3).len(), 3);
    }
}
