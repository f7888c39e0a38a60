//! Attachments of the Sending API (direct and signed uploads, metadata,
//! sends that name them) and its own document at `GET /openapi.json`.

use std::time::Duration;

use http::Method;
use sendmux_mock::{ManualClock, MockServer, MockServerBuilder};
use serde_json::{Value, json};

use crate::harness::{Api, Resp, assert_no_violations};

const KEY: &str = "smx_mbx_uploader";

fn builder() -> MockServerBuilder {
    MockServer::builder().seed(21).self_check(true)
}

/// `POST /emails/attachments?filename=...` with `bytes`.
async fn upload(api: &Api, filename: &str, bytes: &[u8], key: Option<&str>) -> Resp {
    let mut call = api
        .call(
            Method::POST,
            &format!("/emails/attachments?filename={filename}"),
        )
        .header("content-type", "application/octet-stream");
    if let Some(key) = key {
        call = call.header("idempotency-key", key);
    }
    call.raw(bytes.to_vec()).send().await
}

/// Starts a signed upload and returns its `data`.
async fn intent(api: &Api, body: Value) -> Value {
    let r = api.post("/emails/attachment-uploads", body).await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    r.json()["data"].clone()
}

/// The `PUT` of a signed upload, with no API key: `token` (if any) and
/// `content_type` as given, the body as its `Content-Length`.
async fn put(
    server: &MockServer,
    data: &Value,
    token: Option<&str>,
    content_type: &str,
    bytes: &[u8],
) -> Resp {
    let url = data["upload_url"].as_str().unwrap();
    let path = url
        .strip_prefix(&server.sending_base_url())
        .expect("on the sending port");
    let mut call = Api::sending(server, None)
        .call(Method::PUT, path)
        .header("content-type", content_type);
    if let Some(token) = token {
        call = call.header("x-sendmux-upload-token", token);
    }
    call.raw(bytes.to_vec()).send().await
}

#[tokio::test]
async fn a_signed_upload_takes_no_key_only_its_token_and_the_named_headers() {
    let clock = ManualClock::at_unix(1_800_000_000);
    let server = builder().clock(clock.clone()).start().await.unwrap();
    let api = Api::sending(&server, Some(KEY));
    let bytes = b"%PDF-1.7 ten";
    let data = intent(
        &api,
        json!({ "filename": "report.pdf", "size_bytes": bytes.len(), "content_type": "application/pdf" }),
    )
    .await;
    let id = data["upload_id"].as_str().unwrap();
    assert!(id.starts_with("upl_") && id.len() == 28, "{id}");
    assert_eq!(data["method"], "PUT");
    assert_eq!(
        data["upload_url"],
        format!(
            "{}/emails/attachment-uploads/{id}",
            server.sending_base_url()
        )
    );
    assert_eq!(data["max_size_bytes"], 18 * 1024 * 1024);
    assert_eq!(data["headers"]["Content-Type"], "application/pdf");
    assert_eq!(data["headers"]["Content-Length"], bytes.len().to_string());
    let token = data["headers"]["X-Sendmux-Upload-Token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(token.starts_with("smx_upload_"), "{token}");

    // No token, or another one: 401.
    put(&server, &data, None, "application/pdf", bytes)
        .await
        .assert_error(401, "authentication_required");
    put(
        &server,
        &data,
        Some("smx_upload_guess"),
        "application/pdf",
        bytes,
    )
    .await
    .assert_error(401, "authentication_required");
    // The size and the type must be the ones the upload named.
    let v = put(&server, &data, Some(&token), "application/pdf", &bytes[1..])
        .await
        .assert_error(413, "payload_too_large");
    assert_eq!(v["error"]["param"], "Content-Length");
    let v = put(&server, &data, Some(&token), "image/png", bytes)
        .await
        .assert_error(400, "invalid_parameter");
    assert_eq!(v["error"]["param"], "Content-Type");
    // The right request, with no Authorization at all, stores the file.
    let r = put(&server, &data, Some(&token), "application/pdf", bytes).await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let stored = r.json()["data"].clone();
    let attachment = stored["attachment_id"].as_str().unwrap().to_owned();
    assert!(attachment.starts_with("att_") && attachment.len() == 28);
    assert_eq!(
        r.header("location"),
        Some(format!("/api/v1/emails/attachments/{attachment}").as_str())
    );
    assert_eq!(stored["filename"], "report.pdf");
    assert_eq!(stored["size_bytes"], bytes.len());
    // The same bytes again are the same attachment; other bytes conflict.
    let again = put(&server, &data, Some(&token), "application/pdf", bytes).await;
    assert_eq!(again.json()["data"]["attachment_id"], attachment.as_str());
    put(
        &server,
        &data,
        Some(&token),
        "application/pdf",
        b"%PDF-1.7 TEN",
    )
    .await
    .assert_error(409, "conflict");
    // The metadata, for the key's team only.
    let r = api.get(&format!("/emails/attachments/{attachment}")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["data"], stored);
    Api::sending(&server, Some("smx_mbx_someone_else"))
        .get(&format!("/emails/attachments/{attachment}"))
        .await
        .assert_error(404, "not_found");
    // The token never reaches the request log.
    let log = server.requests();
    let puts: Vec<_> = log.iter().filter(|r| r.method == "PUT").collect();
    assert_eq!(puts.len(), 7);
    for r in &puts {
        assert!(r.team.is_some() || r.status == Some(401));
        for (name, value) in &r.headers {
            assert!(!value.contains(&token), "{name} shows the token");
        }
    }

    // An upload URL lasts 15 minutes.
    let late = intent(&api, json!({ "filename": "late.txt", "size_bytes": 3 })).await;
    assert_eq!(late["headers"]["Content-Type"], "application/octet-stream");
    let late_token = late["headers"]["X-Sendmux-Upload-Token"]
        .as_str()
        .unwrap()
        .to_owned();
    clock.advance(Duration::from_secs(15 * 60));
    put(
        &server,
        &late,
        Some(&late_token),
        "application/octet-stream",
        b"abc",
    )
    .await
    .assert_error(404, "not_found");
    assert_no_violations(&server);
}

#[tokio::test]
async fn uploads_over_the_limit_are_413_and_the_rest_is_stored_once_per_key() {
    let server = builder()
        .sending_attachment_limit(1024)
        .start()
        .await
        .unwrap();
    let api = Api::sending(&server, Some(KEY));
    upload(&api, "big.bin", &[7u8; 2000], None)
        .await
        .assert_error(413, "payload_too_large");
    let v = api
        .post(
            "/emails/attachment-uploads",
            json!({ "filename": "big.bin", "size_bytes": 1025 }),
        )
        .await
        .assert_error(413, "payload_too_large");
    assert_eq!(v["error"]["param"], "size_bytes");
    // Metadata problems: no file name (400), a path for a name (422).
    api.call(Method::POST, "/emails/attachments")
        .header("content-type", "application/octet-stream")
        .raw(vec![1u8; 10])
        .send()
        .await
        .assert_error(400, "missing_parameter");
    upload(&api, "dir%2Fa.txt", &[1u8; 10], None)
        .await
        .assert_error(422, "validation_error");

    let r = upload(&api, "small.bin", &[7u8; 1024], Some("up-1")).await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let data = r.json()["data"].clone();
    assert_eq!(data["size_bytes"], 1024);
    assert_eq!(data["content_type"], "application/octet-stream");
    // The same key: the same bytes replay, other bytes conflict.
    let replay = upload(&api, "small.bin", &[7u8; 1024], Some("up-1")).await;
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.json()["data"], data);
    upload(&api, "small.bin", &[8u8; 1024], Some("up-1"))
        .await
        .assert_error(409, "idempotency_conflict");
    // The content_type parameter names the media type.
    let r = api
        .call(
            Method::POST,
            "/emails/attachments?filename=a.csv&content_type=text%2Fcsv",
        )
        .header("content-type", "application/octet-stream")
        .raw(b"a,b\n".to_vec())
        .send()
        .await;
    assert_eq!(r.json()["data"]["content_type"], "text/csv");
    assert_no_violations(&server);
}

fn message_with(attachments: Value) -> Value {
    json!({
        "from": { "email": "me@acme.com" },
        "to": { "email": "ada@example.com" },
        "subject": "The report",
        "html_body": "<p>Attached.</p>",
        "attachments": attachments
    })
}

#[tokio::test]
async fn a_send_names_uploaded_attachments_by_id_until_they_expire() {
    let clock = ManualClock::at_unix(1_800_000_000);
    let server = builder().clock(clock.clone()).start().await.unwrap();
    let api = Api::sending(&server, Some(KEY));
    let r = upload(&api, "report.pdf", b"%PDF", None).await;
    let id = r.json()["data"]["attachment_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let with_both = message_with(json!([
        { "attachment_id": id },
        { "filename": "note.txt", "content": "aGVsbG8=", "encoding": "base64", "type": "text/plain" }
    ]));
    let r = api.post("/emails/send", with_both).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let outbox = server.outbox();
    assert_eq!(outbox[0].attachments, ["report.pdf", "note.txt"]);
    // An id nobody uploaded, or another team's: 422, nothing sent.
    for key in [KEY, "smx_mbx_another_team"] {
        let unknown = if key == KEY {
            "att_000000000000000000000000"
        } else {
            id.as_str()
        };
        let v = Api::sending(&server, Some(key))
            .post(
                "/emails/send",
                message_with(json!([{ "attachment_id": unknown }])),
            )
            .await
            .assert_error(422, "validation_error");
        assert_eq!(v["error"]["param"], "attachments.0.attachment_id", "{v}");
    }
    // Inline content must be base64.
    let v = api
        .post(
            "/emails/send",
            message_with(json!([{ "filename": "a.txt", "content": "not base64!" }])),
        )
        .await
        .assert_error(422, "validation_error");
    assert_eq!(v["error"]["param"], "attachments.0.content", "{v}");
    // After 24 hours the upload is gone.
    clock.advance(Duration::from_secs(24 * 60 * 60));
    api.get(&format!("/emails/attachments/{id}"))
        .await
        .assert_error(404, "not_found");
    api.post(
        "/emails/send",
        message_with(json!([{ "attachment_id": id }])),
    )
    .await
    .assert_error(422, "validation_error");
    assert_eq!(server.outbox().len(), 1);
    assert_no_violations(&server);
}

#[tokio::test]
async fn the_document_is_served_without_a_key_with_a_weak_etag() {
    let server = builder().start().await.unwrap();
    let anyone = Api::sending(&server, None);
    let r = anyone.get("/openapi.json").await;
    assert_eq!(r.status, 200);
    let doc = r.json();
    assert_eq!(doc["info"]["title"], "Sendmux Sending API");
    assert!(doc["paths"]["/emails/send"]["post"].is_object());
    let etag = r.header("etag").unwrap().to_owned();
    assert!(etag.starts_with("W/\""), "{etag}");
    assert_eq!(r.header("cache-control"), Some("public, max-age=3600"));
    // A key is not needed, and not refused either.
    let with_key = Api::sending(&server, Some("smx_root_test"))
        .get("/openapi.json")
        .await;
    assert_eq!(with_key.header("etag"), Some(etag.as_str()));
    // The client's copy is current: 304 with no body.
    let r = anyone
        .call(Method::GET, "/openapi.json")
        .header("if-none-match", &etag)
        .send()
        .await;
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());
    assert_eq!(r.header("etag"), Some(etag.as_str()));
    let r = anyone
        .call(Method::GET, "/openapi.json")
        .header("if-none-match", "W/\"0000000000000000\"")
        .send()
        .await;
    assert_eq!(r.status, 200);
    // Not on the main listener: that host has no such route.
    let main = reqwest::get(format!("{}/openapi.json", server.base_url()))
        .await
        .unwrap();
    assert_eq!(main.status().as_u16(), 404);
    // Requests without a key are not counted against any window.
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.surface.as_deref() == Some("sending"))
    );
    assert_no_violations(&server);
}
