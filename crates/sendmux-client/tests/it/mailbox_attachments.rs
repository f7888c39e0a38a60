//! `client.mailbox().attachments()`: downloads streamed, by range and
//! resumed into a file after a broken connection; uploads streamed from a
//! file, and the signed upload's keyless `PUT`.

use std::time::Duration;

use bytes::Bytes;
use futures::TryStreamExt;
use sendmux_client::clock::VirtualClock;
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

use crate::mailbox_events::{MAILBOX_KEY, client};
use crate::stream_server::{Reply, Seen, Step, StreamServer};

const DOWNLOAD_PATH: &str = "/api/v1/mailbox/messages/msg_1/attachments/att_1";

/// `len` bytes that differ from block to block.
fn content(len: usize) -> Bytes {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[1])
        .collect::<Vec<u8>>()
        .into()
}

/// `bytes` as a body of 64 KiB chunks.
fn chunked(mut reply: Reply, bytes: &Bytes) -> Reply {
    for chunk in bytes.chunks(64 * 1024) {
        reply = reply.chunk(Bytes::copy_from_slice(chunk));
    }
    reply
}

fn whole(bytes: &Bytes) -> Reply {
    chunked(
        Reply::new(200)
            .header("content-type", "application/octet-stream")
            .header("content-length", bytes.len())
            .header("accept-ranges", "bytes"),
        bytes,
    )
}

/// The `Range: bytes=A-B` of a request, parsed.
fn range_of(request: &Seen) -> Option<(usize, Option<usize>)> {
    let spec = request.header("range")?.strip_prefix("bytes=")?;
    let (a, b) = spec.split_once('-')?;
    Some((a.parse().ok()?, b.parse().ok()))
}

/// A `206` of `bytes[a..=b]`.
fn partial(bytes: &Bytes, a: usize, b: Option<usize>) -> Reply {
    let b = b.unwrap_or(bytes.len() - 1).min(bytes.len() - 1);
    chunked(
        Reply::new(206)
            .header("content-type", "application/octet-stream")
            .header("content-length", b + 1 - a)
            .header("content-range", format!("bytes {a}-{b}/{}", bytes.len())),
        &bytes.slice(a..=b),
    )
}

/// A server that honours ranges like the API.
async fn ranged_server(bytes: Bytes) -> StreamServer {
    StreamServer::start(move |request, _| match range_of(request) {
        Some((a, b)) => partial(&bytes, a, b),
        None => whole(&bytes),
    })
    .await
}

fn sha256(bytes: &[u8]) -> Vec<u8> {
    Sha256::digest(bytes).to_vec()
}

#[tokio::test]
async fn a_download_streams_the_bytes_as_they_come() {
    let bytes = content(3 * 1024 * 1024 + 17);
    let server = ranged_server(bytes.clone()).await;
    let clock = VirtualClock::new();
    let mut chunks = client(&server, &clock)
        .mailbox()
        .attachments()
        .download("msg_1", "att_1")
        .stream();
    let mut got = Vec::new();
    let mut pieces = 0;
    while let Some(chunk) = chunks.try_next().await.unwrap() {
        got.extend_from_slice(&chunk);
        pieces += 1;
    }
    assert_eq!(sha256(&got), sha256(&bytes));
    assert!(pieces > 1, "the body came in one piece");
    let request = &server.requests()[0];
    assert_eq!(request.path, DOWNLOAD_PATH);
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {MAILBOX_KEY}").as_str())
    );
    assert_eq!(request.header("range"), None);
}

#[tokio::test]
async fn a_range_is_asked_for_and_checked() {
    let bytes = content(100_000);
    let server = ranged_server(bytes.clone()).await;
    let clock = VirtualClock::new();
    let attachments = client(&server, &clock).mailbox().attachments();

    let body = attachments
        .download("msg_1", "att_1")
        .range(10..20)
        .await
        .unwrap();
    assert_eq!(body.status(), 206);
    let range = body.content_range().unwrap();
    assert_eq!(
        (range.start, range.end, range.total),
        (10, 19, Some(100_000))
    );
    let got: Vec<Bytes> = body.into_stream().try_collect().await.unwrap();
    assert_eq!(got.concat(), bytes[10..20]);
    assert_eq!(server.requests()[0].header("range"), Some("bytes=10-19"));

    let tail: Vec<Bytes> = attachments
        .download("msg_1", "att_1")
        .resume_from(99_990)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(tail.concat(), bytes[99_990..]);
    assert_eq!(server.requests()[1].header("range"), Some("bytes=99990-"));
}

#[tokio::test]
async fn a_server_ignoring_the_range_still_yields_just_the_range() {
    let bytes = content(300_000);
    let server = StreamServer::script(vec![whole(&bytes)]).await;
    let clock = VirtualClock::new();
    let got: Vec<Bytes> = client(&server, &clock)
        .mailbox()
        .attachments()
        .download("msg_1", "att_1")
        .range(70_000..=200_000)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(got.concat(), bytes[70_000..=200_000]);
}

#[tokio::test]
async fn a_wrong_content_range_is_refused() {
    let bytes = content(1000);
    let server = StreamServer::script(vec![partial(&bytes, 0, Some(99))]).await;
    let clock = VirtualClock::new();
    let error = client(&server, &clock)
        .mailbox()
        .attachments()
        .download("msg_1", "att_1")
        .range(500..600)
        .await
        .unwrap_err();
    assert!(
        matches!(error, sendmux_client::Error::Undecodable { .. }),
        "{error}"
    );
}

#[tokio::test]
async fn the_reader_reads_everything() {
    let bytes = content(500_000);
    let server = ranged_server(bytes.clone()).await;
    let clock = VirtualClock::new();
    let mut reader = client(&server, &clock)
        .mailbox()
        .attachments()
        .download("msg_1", "att_1")
        .reader();
    let mut got = Vec::new();
    reader.read_to_end(&mut got).await.unwrap();
    assert_eq!(sha256(&got), sha256(&bytes));
}

/// A server that drops the connection after `cut` bytes of a whole
/// download, and serves ranges with `206`, or ignores them when
/// `ignore_ranges`.
async fn breaking_server(bytes: Bytes, cut: usize, ignore_ranges: bool) -> StreamServer {
    StreamServer::start(move |request, index| {
        let broken = |reply: Reply, from: usize| {
            let kept = cut.saturating_sub(from).min(bytes.len() - from);
            chunked(reply, &bytes.slice(from..from + kept)).step(Step::Cut)
        };
        match (index, range_of(request)) {
            (0, _) => broken(Reply::new(200).header("content-length", bytes.len()), 0),
            (_, Some((a, b))) if !ignore_ranges => partial(&bytes, a, b),
            _ => whole(&bytes),
        }
    })
    .await
}

#[tokio::test]
async fn save_to_resumes_a_broken_download_byte_for_byte() {
    let bytes = content(2 * 1024 * 1024 + 5);
    let cut = 700_001;
    let server = breaking_server(bytes.clone(), cut, false).await;
    let clock = VirtualClock::new();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("attachment.bin");
    let written = client(&server, &clock)
        .mailbox()
        .attachments()
        .download("msg_1", "att_1")
        .save_to(&path)
        .await
        .unwrap();
    assert_eq!(written, bytes.len() as u64);
    let saved = std::fs::read(&path).unwrap();
    assert_eq!(sha256(&saved), sha256(&bytes));
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].header("range"), None);
    // From the bytes already written, which the cut decides.
    let resumed_at = range_of(&requests[1]).unwrap().0;
    assert!(resumed_at > 0 && resumed_at <= cut, "{resumed_at}");
    assert_eq!(
        requests[1].header("range"),
        Some(format!("bytes={resumed_at}-").as_str())
    );
    assert_eq!(clock.sleeps().len(), 1);
}

#[tokio::test]
async fn save_to_starts_over_when_the_server_ignores_the_range() {
    let bytes = content(1024 * 1024);
    let server = breaking_server(bytes.clone(), 300_000, true).await;
    let clock = VirtualClock::new();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("attachment.bin");
    let written = client(&server, &clock)
        .mailbox()
        .attachments()
        .download("msg_1", "att_1")
        .save_to(&path)
        .await
        .unwrap();
    assert_eq!(written, bytes.len() as u64);
    assert_eq!(sha256(&std::fs::read(&path).unwrap()), sha256(&bytes));
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert!(requests[1].header("range").is_some());
}

#[tokio::test]
async fn save_to_gives_up_after_its_resumes() {
    let bytes = content(200_000);
    // Every answer breaks after 1,000 bytes of what it sends.
    let server = StreamServer::start(move |request, _| {
        let from = range_of(request).map_or(0, |(a, _)| a);
        let len = bytes.len();
        let mut reply =
            Reply::new(if from == 0 { 200 } else { 206 }).header("content-length", len - from);
        if from > 0 {
            reply = reply.header("content-range", format!("bytes {from}-{}/{len}", len - 1));
        }
        reply.chunk(bytes.slice(from..from + 1000)).step(Step::Cut)
    })
    .await;
    let clock = VirtualClock::new();
    let dir = tempfile::tempdir().unwrap();
    let error = client(&server, &clock)
        .mailbox()
        .attachments()
        .download("msg_1", "att_1")
        .max_resumes(2)
        .save_to(dir.path().join("a.bin"))
        .await
        .unwrap_err();
    assert!(error.is_retryable(), "{error}");
    assert_eq!(server.requests().len(), 3);
}

fn uploaded(name: &str, size: usize) -> serde_json::Value {
    json!({
        "ok": true,
        "data": {"blob_id": "blob_1", "filename": name, "content_type": "application/pdf", "size_bytes": size},
        "meta": {"request_id": "req_up"}
    })
}

#[tokio::test]
async fn upload_file_streams_the_file_with_its_length() {
    let bytes = content(1_500_000);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.pdf");
    std::fs::write(&path, &bytes).unwrap();
    let server =
        StreamServer::script(vec![Reply::json(200, &uploaded("report.pdf", bytes.len()))]).await;
    let clock = VirtualClock::new();
    let stored = client(&server, &clock)
        .mailbox()
        .attachments()
        .upload_file(&path)
        .await
        .unwrap();
    assert_eq!(stored.blob_id, "blob_1");
    let request = &server.requests()[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/api/v1/mailbox/attachments:upload");
    assert_eq!(request.query, "filename=report.pdf");
    assert_eq!(
        request.header("content-type"),
        Some("application/octet-stream")
    );
    assert_eq!(
        request.header("content-length"),
        Some(bytes.len().to_string().as_str())
    );
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {MAILBOX_KEY}").as_str())
    );
    assert_eq!(sha256(&request.body), sha256(&bytes));
}

#[tokio::test]
async fn upload_reader_streams_once() {
    let bytes = content(200_000);
    let server =
        StreamServer::script(vec![Reply::json(200, &uploaded("data.bin", bytes.len()))]).await;
    let clock = VirtualClock::new();
    let reader = std::io::Cursor::new(bytes.to_vec());
    client(&server, &clock)
        .mailbox()
        .attachments()
        .upload_reader("data.bin", reader, bytes.len() as u64)
        .await
        .unwrap();
    let request = &server.requests()[0];
    assert_eq!(request.header("content-length"), Some("200000"));
    assert_eq!(request.body, bytes);
}

#[tokio::test]
async fn uploads_are_checked_before_any_request() {
    let server = StreamServer::script(vec![Reply::json(200, &uploaded("x", 1))]).await;
    let clock = VirtualClock::new();
    let attachments = client(&server, &clock).mailbox().attachments();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.bin");
    std::fs::write(&path, vec![1u8; 2048]).unwrap();
    let too_big = attachments
        .upload_file(&path)
        .max_size(1024)
        .await
        .unwrap_err();
    assert!(too_big.to_string().contains("1024-byte limit"), "{too_big}");
    let empty = attachments.upload("a.txt", Bytes::new()).await.unwrap_err();
    assert!(empty.as_invalid_input().is_some(), "{empty}");
    let blank = attachments
        .upload(" ", Bytes::from_static(b"x"))
        .await
        .unwrap_err();
    assert_eq!(
        blank.as_invalid_input().map(|i| i.field.as_str()),
        Some("filename")
    );
    let missing = attachments
        .upload_file(dir.path().join("nope.bin"))
        .await
        .unwrap_err();
    assert!(missing.is_not_sent(), "{missing}");
    assert!(server.requests().is_empty());
}

/// A server minting signed uploads whose URL points back at itself, and
/// taking the `PUT`.
async fn signed_server() -> StreamServer {
    let base = std::sync::Arc::new(std::sync::OnceLock::<String>::new());
    let url_base = base.clone();
    let server = StreamServer::start(move |request, _| {
        if request.method == "POST" {
            let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
            return Reply::json(
                200,
                &json!({
                    "ok": true,
                    "data": {
                        "upload_id": "upl_1",
                        "upload_url": format!("{}/signed/upl_1?upload_token=T0K3N", url_base.get().unwrap()),
                        "method": "PUT",
                        "expires_at": "2026-11-01T10:15:00Z",
                        "headers": {
                            "Content-Type": body["content_type"],
                            "Content-Length": body["size_bytes"].to_string(),
                        },
                        "max_size_bytes": 26_214_400
                    },
                    "meta": {"request_id": "req_mint"}
                }),
            );
        }
        Reply::json(200, &uploaded("scan.png", request.body.len()))
    })
    .await;
    base.set(server.base.clone()).unwrap();
    server
}

#[tokio::test]
async fn the_signed_upload_puts_without_the_key() {
    let server = signed_server().await;
    let clock = VirtualClock::new();
    let attachments = client(&server, &clock).mailbox().attachments();
    let bytes = content(300_000);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scan.png");
    std::fs::write(&path, &bytes).unwrap();

    let stored = attachments
        .upload_file_signed(&path, "image/png")
        .await
        .unwrap();
    assert_eq!(stored.blob_id, "blob_1");
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let (mint, put) = (&requests[0], &requests[1]);
    assert_eq!(mint.path, "/api/v1/mailbox/attachment-uploads");
    assert_eq!(
        mint.header("authorization"),
        Some(format!("Bearer {MAILBOX_KEY}").as_str())
    );
    let minted: serde_json::Value = serde_json::from_slice(&mint.body).unwrap();
    assert_eq!(
        minted,
        json!({"filename": "scan.png", "content_type": "image/png", "size_bytes": 300_000})
    );

    assert_eq!(put.method, "PUT");
    assert_eq!(put.path, "/api/v1/signed/upl_1");
    assert_eq!(put.query, "upload_token=T0K3N");
    assert_eq!(put.header("authorization"), None);
    assert_eq!(put.header("content-type"), Some("image/png"));
    assert_eq!(put.header("content-length"), Some("300000"));
    assert_eq!(sha256(&put.body), sha256(&bytes));
}

#[tokio::test]
async fn a_signed_upload_sends_exactly_what_the_intent_says() {
    let server = signed_server().await;
    let clock = VirtualClock::new();
    let attachments = client(&server, &clock).mailbox().attachments();
    let intent = attachments
        .create_upload("note.txt", "text/plain", 5)
        .await
        .unwrap();
    let shown = format!("{intent:?}");
    assert!(!shown.contains("T0K3N"), "{shown}");
    assert_eq!(intent.content_length(), Some(5));
    assert_eq!(intent.content_type(), "text/plain");

    // The wrong length is refused before the PUT.
    let error = attachments
        .complete_upload(&intent, "too long")
        .await
        .unwrap_err();
    assert!(error.as_invalid_input().is_some(), "{error}");
    assert!(!error.to_string().contains("T0K3N"));
    assert_eq!(server.requests().len(), 1);

    attachments.complete_upload(&intent, "hello").await.unwrap();
    let put = &server.requests()[1];
    assert_eq!(put.header("authorization"), None);
    assert_eq!(put.header("content-length"), Some("5"));
    assert_eq!(put.body, "hello");

    let reader = std::io::Cursor::new(b"hello".to_vec());
    attachments
        .complete_upload_reader(&intent, reader)
        .timeout(Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(server.requests()[2].body, "hello");
}

#[tokio::test]
async fn the_intent_limit_is_checked_before_the_put() {
    let server = StreamServer::start(|request, _| {
        if request.method == "POST" {
            return Reply::json(
                200,
                &json!({"ok": true, "data": {
                    "upload_id": "upl_1", "upload_url": "http://127.0.0.1:9/gone?upload_token=T0K3N",
                    "method": "PUT", "expires_at": "2026-11-01T10:15:00Z",
                    "headers": {"Content-Type": "text/plain", "Content-Length": "2"},
                    "max_size_bytes": 1
                }, "meta": {"request_id": "req_mint"}}),
            );
        }
        Reply::json(500, &json!({}))
    })
    .await;
    let clock = VirtualClock::new();
    let attachments = client(&server, &clock).mailbox().attachments();
    let intent = attachments
        .create_upload("a.txt", "text/plain", 2)
        .await
        .unwrap();
    // Over the intent's own limit: refused before any I/O.
    let error = attachments
        .complete_upload(&intent, "hi")
        .await
        .unwrap_err();
    assert!(error.to_string().contains("1-byte limit"), "{error}");
}
