//! What the resource tests share: a client that, with the `conformance`
//! feature, checks every mocked answer against the API description, the
//! headers every answer carries, and realistic models.

use httpmock::{Method::GET, Mock, MockServer, Then};
use sendmux_client::Client;
use sendmux_client::clock::VirtualClock;
use serde_json::{Value, json};

use crate::support::{builder, ok};

pub(crate) const ETAG: &str = "W/\"e1\"";

/// A client for `server`; strict about the API description when the
/// `conformance` feature is on, so every mocked body below is checked.
pub(crate) fn client(server: &MockServer) -> Client {
    let builder = builder(&server.base_url(), &VirtualClock::new());
    #[cfg(feature = "conformance")]
    let builder = builder.conformance(sendmux_client::conformance::ConformanceMode::Strict);
    builder.build().unwrap()
}

/// Answers `status` with `data` in the success envelope and the headers
/// the API sends (request id, rate limit, `ETag`, `Location`).
pub(crate) fn reply(then: Then, status: u16, data: Value) -> Then {
    headers(then.status(status)).json_body(ok(data, "req_1"))
}

/// Answers `status` with the error envelope and the usual headers.
pub(crate) fn reply_error(then: Then, status: u16, code: &str, message: &str) -> Then {
    let body = crate::support::api_error(code, message, false, "req_1");
    headers(then.status(status)).json_body(body)
}

/// A `304 Not Modified` with its headers.
pub(crate) fn not_modified(then: Then) -> Then {
    headers(then.status(304))
}

fn headers(then: Then) -> Then {
    then.header("content-type", "application/json")
        .header("x-request-id", "req_1")
        .header("x-ratelimit-limit", "600")
        .header("x-ratelimit-remaining", "599")
        .header("x-ratelimit-reset", "1790000000")
        .header("etag", ETAG)
        .header("location", "/api/v1/created")
}

/// A read of `path` in both forms: without `If-None-Match` it answers 200
/// with `data`; with [`ETAG`] it answers 304. Returns (read, unchanged).
pub(crate) async fn conditional_read<'a>(
    server: &'a MockServer,
    path: &str,
    data: Value,
) -> (Mock<'a>, Mock<'a>) {
    let read = server
        .mock_async(|when, then| {
            when.method(GET).path(path).header_missing("if-none-match");
            reply(then, 200, data);
        })
        .await;
    let unchanged = server
        .mock_async(|when, then| {
            when.method(GET).path(path).header("if-none-match", ETAG);
            not_modified(then);
        })
        .await;
    (read, unchanged)
}

/// A cursor list envelope.
pub(crate) fn list(items: Vec<Value>, next: Option<&str>) -> Value {
    let mut pagination = json!({"has_more": next.is_some()});
    if let Some(cursor) = next {
        pagination["next_cursor"] = json!(cursor);
    }
    json!({"ok": true, "data": items, "pagination": pagination, "meta": {"request_id": "req_1"}})
}

/// Answers with one page of a cursor list.
pub(crate) fn reply_page(then: Then, items: Vec<Value>, next: Option<&str>) -> Then {
    headers(then.status(200)).json_body(list(items, next))
}

/// Whether `text` shows any of `secrets`.
pub(crate) fn leaks(text: &str, secrets: &[&str]) -> bool {
    secrets.iter().any(|secret| text.contains(secret))
}

pub(crate) fn mailbox(id: &str) -> Value {
    json!({
        "id": id,
        "email": "agent@mail.acme.com",
        "display_name": "Agent",
        "quota_bytes": 5_368_709_120_u64,
        "send_scope": {"type": "providers", "provider_public_ids": ["dprov_1"]},
        "status": "active",
        "created_at": "2026-11-01T10:00:00Z"
    })
}

/// The plaintext mailbox key the create answers carry.
pub(crate) const MAILBOX_KEY: &str = "smx_mbx_S3CR3TMAILBOXKEY42";

pub(crate) fn credential() -> Value {
    json!({
        "public_id": "mkey_1",
        "secret": MAILBOX_KEY,
        "key_prefix": "smx_mbx_S3C",
        "key_suffix": "EY42",
        "server": "mx.sendmux.ai",
        "imap_port": 993,
        "smtp_port": 465,
        "username": "agent@mail.acme.com"
    })
}
