//! Attachments: whole and ranged downloads (`206`, `416`, `400`), the
//! token-carrying download link, a large seeded attachment served without
//! copies, direct upload and the signed upload flow.

use bytes::Bytes;
use http::{HeaderMap, Method};
use sendmux_mock::{InboundMessage, MockServer};
use serde_json::{Value, json};

use crate::harness::{Resp, assert_no_violations, check};
use crate::mailbox_api::{Setup, data, mail, setup, setup_with, str_of};

/// Delivers a message with `bytes` attached; returns the message id, the
/// attachment id and its download URL.
async fn with_attachment(s: &Setup, bytes: Bytes) -> (String, String, String) {
    let id = s
        .server
        .deliver(
            &s.key,
            InboundMessage {
                attachments: vec![("report.bin".into(), "application/pdf".into(), bytes)],
                ..mail("Attached", "see file")
            },
        )
        .unwrap();
    let m = data(&s.mbx.get(&format!("/mailbox/messages/{id}")).await);
    let attachment = &m["attachments"][0];
    assert_eq!(attachment["content_type"], "application/pdf");
    assert_eq!(attachment["disposition"], "attachment");
    (
        id,
        str_of(attachment, "/id").to_owned(),
        str_of(attachment, "/download_url").to_owned(),
    )
}

/// A `GET` of the attachment with an optional `Range`, checked by the
/// harness against the operation's declared answers.
async fn fetch(s: &Setup, message: &str, attachment: &str, range: Option<&str>) -> Resp {
    let mut call = s.mbx.call(
        Method::GET,
        &format!("/mailbox/messages/{message}/attachments/{attachment}"),
    );
    if let Some(range) = range {
        call = call.header("range", range);
    }
    call.send().await
}

#[tokio::test]
async fn attachments_download_whole_and_by_range() {
    let s = setup().await;
    let content = s.server.generated_bytes(100_000);
    let (message, attachment, link) = with_attachment(&s, content.clone()).await;

    let whole = fetch(&s, &message, &attachment, None).await;
    assert_eq!(whole.status, 200);
    assert_eq!(whole.body, content);
    assert_eq!(
        whole.header("content-type"),
        Some("application/octet-stream")
    );
    assert_eq!(whole.header("accept-ranges"), Some("bytes"));
    assert_eq!(
        whole.header("content-disposition"),
        Some("attachment; filename=\"report.bin\"")
    );
    assert_eq!(whole.header("content-length"), Some("100000"));

    for (range, from, to) in [
        ("bytes=10-19", 10, 19),
        ("bytes=99990-", 99_990, 99_999),
        ("bytes=-5", 99_995, 99_999),
        ("bytes=65530-65545", 65_530, 65_545),
        ("bytes=99000-200000", 99_000, 99_999),
    ] {
        let part = fetch(&s, &message, &attachment, Some(range)).await;
        assert_eq!(part.status, 206, "{range}");
        assert_eq!(part.body, content.slice(from..=to), "{range}");
        assert_eq!(
            part.header("content-range"),
            Some(format!("bytes {from}-{to}/100000").as_str()),
            "{range}"
        );
    }
    let beyond = fetch(&s, &message, &attachment, Some("bytes=100000-")).await;
    beyond.assert_error(416, "invalid_parameter");
    assert_eq!(beyond.header("content-range"), Some("bytes */100000"));
    for bad in ["bytes=5-1", "lines=1-2", "bytes=0-1,5-6"] {
        fetch(&s, &message, &attachment, Some(bad))
            .await
            .assert_error(400, "invalid_parameter");
    }
    fetch(&s, &message, "att_nope", None)
        .await
        .assert_error(404, "not_found");

    // The link in the metadata works without a key, ranges included.
    let http = reqwest::Client::new();
    let linked = http
        .get(&link)
        .header("range", "bytes=0-3")
        .send()
        .await
        .unwrap();
    assert_eq!(linked.status(), 206);
    assert!(linked.headers().get("x-request-id").is_some());
    assert_eq!(linked.bytes().await.unwrap(), content.slice(0..4));
    let forged = link.replace("download_token=", "download_token=0");
    let refused = http.get(&forged).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "authentication_required");
    assert_no_violations(&s.server);
}

#[tokio::test]
async fn a_large_seeded_attachment_is_served_whole_and_in_ranges() {
    const LEN: usize = 200 * 1024 * 1024;
    let s = setup().await;
    let content = s.server.generated_bytes(LEN);
    let (message, attachment, _) = with_attachment(&s, content.clone()).await;
    // Ranges anywhere, the end included.
    for (from, to) in [(0, 15), (LEN / 2, LEN / 2 + 1000), (LEN - 10, LEN - 1)] {
        let part = fetch(
            &s,
            &message,
            &attachment,
            Some(&format!("bytes={from}-{to}")),
        )
        .await;
        assert_eq!(part.status, 206);
        assert_eq!(part.body, content.slice(from..=to));
    }
    // The whole of it, compared as it streams in.
    let mut resp = reqwest::Client::new()
        .get(format!(
            "{}/mailbox/messages/{message}/attachments/{attachment}",
            s.server.base_url()
        ))
        .bearer_auth(&s.key)
        .send()
        .await
        .unwrap();
    let head = Resp {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        body: Bytes::new(),
    };
    check(
        &Method::GET,
        &format!("/api/v1/mailbox/messages/{message}/attachments/{attachment}"),
        &head,
    );
    assert_eq!(
        head.header("content-length"),
        Some(LEN.to_string().as_str())
    );
    let mut at = 0;
    while let Some(chunk) = resp.chunk().await.unwrap() {
        assert_eq!(chunk, content.slice(at..at + chunk.len()), "at {at}");
        at += chunk.len();
    }
    assert_eq!(at, LEN);
    // The admin route makes the same bytes from the seed.
    let r = reqwest::Client::new()
        .post(format!(
            "{}/mailboxes/{}/messages",
            s.server.admin_url(),
            s.mailbox_id
        ))
        .json(&json!({
            "from": "big@example.com",
            "attachments": [{ "filename": "big.bin", "generated_size_bytes": 1_000_000 }]
        }))
        .send()
        .await
        .unwrap();
    let created: Value = r.json().await.unwrap();
    let id = str_of(&created, "/message_id");
    let m = data(&s.mbx.get(&format!("/mailbox/messages/{id}")).await);
    let att = str_of(&m, "/attachments/0/id");
    let tail = fetch(&s, id, att, Some("bytes=999990-")).await;
    assert_eq!(
        tail.body,
        s.server.generated_bytes(1_000_000).slice(999_990..)
    );
}

#[tokio::test]
async fn uploads_direct_and_signed_make_blobs_to_send() {
    let s = setup_with(MockServer::builder().attachment_upload_limit(2 * 1024 * 1024)).await;
    // Direct upload: the raw bytes.
    let pdf = b"%PDF-1.7 uploaded".to_vec();
    let up = s
        .mbx
        .call(
            Method::POST,
            "/mailbox/attachments:upload?filename=invoice.pdf",
        )
        .header("content-type", "application/octet-stream")
        .raw(pdf.clone())
        .send()
        .await;
    let blob = data(&up);
    assert_eq!(blob["filename"], "invoice.pdf");
    assert_eq!(blob["content_type"], "application/pdf");
    assert_eq!(blob["size_bytes"], pdf.len());
    let blob_id = str_of(&blob, "/blob_id").to_owned();
    s.mbx
        .call(Method::POST, "/mailbox/attachments:upload?filename=x.bin")
        .header("content-type", "application/octet-stream")
        .raw(vec![0u8; 2 * 1024 * 1024 + 1])
        .send()
        .await
        .assert_error(413, "payload_too_large");
    s.mbx
        .call(Method::POST, "/mailbox/attachments:upload?filename=x.bin")
        .header("content-type", "application/json")
        .raw(b"{}".to_vec())
        .send()
        .await
        .assert_error(400, "invalid_parameter");
    s.mbx
        .call(Method::POST, "/mailbox/attachments:upload")
        .header("content-type", "application/octet-stream")
        .raw(b"x".to_vec())
        .send()
        .await
        .assert_error(400, "missing_parameter");

    // Signed upload: mint, then PUT without a key.
    let big = s.server.generated_bytes(1_500_000);
    let intent = data(
        &s.mbx
            .post(
                "/mailbox/attachment-uploads",
                json!({ "filename": "scan.png", "content_type": "image/png", "size_bytes": big.len() }),
            )
            .await,
    );
    assert_eq!(intent["method"], "PUT");
    assert_eq!(intent["headers"]["Content-Type"], "image/png");
    assert_eq!(intent["headers"]["Content-Length"], big.len().to_string());
    assert_eq!(intent["max_size_bytes"], 2 * 1024 * 1024);
    let url = str_of(&intent, "/upload_url").to_owned();
    assert!(url.starts_with(&s.server.base_url()), "{url}");
    let http = reqwest::Client::new();
    let put = |body: Bytes, content_type: &'static str| {
        let http = http.clone();
        let url = url.clone();
        async move {
            let resp = http
                .put(&url)
                .header("content-type", content_type)
                .body(body)
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            let headers: HeaderMap = resp.headers().clone();
            let body = resp.bytes().await.unwrap();
            Resp {
                status,
                headers,
                body,
            }
        }
    };
    put(big.clone(), "image/jpeg")
        .await
        .assert_error(400, "invalid_parameter");
    put(big.slice(1..), "image/png")
        .await
        .assert_error(400, "invalid_parameter");
    let wrong_token = http
        .put(url.replace("upload_token=", "upload_token=x"))
        .header("content-type", "image/png")
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_token.status().as_u16(), 401);
    let stored = put(big.clone(), "image/png").await;
    // Same shape as a direct upload's answer.
    check(&Method::POST, "/api/v1/mailbox/attachments:upload", &stored);
    let signed = data(&stored);
    assert_eq!(signed["size_bytes"], big.len());
    assert_eq!(signed["content_type"], "image/png");
    let signed_blob = str_of(&signed, "/blob_id").to_owned();
    // Spent: a second PUT finds nothing.
    put(big.clone(), "image/png")
        .await
        .assert_error(404, "not_found");
    s.mbx
        .post(
            "/mailbox/attachment-uploads",
            json!({ "filename": "huge.bin", "content_type": "application/octet-stream", "size_bytes": 3 * 1024 * 1024 }),
        )
        .await
        .assert_error(413, "payload_too_large");

    // Both blobs go out with a send, and the sent copy serves their bytes.
    let sent = data(
        &s.mbx
            .post(
                "/mailbox/messages/send",
                json!({
                    "to": [{ "email": "client@example.com", "name": null }],
                    "subject": "Files",
                    "attachments": [
                        { "filename": "invoice.pdf", "content_type": "application/pdf", "blob_id": blob_id },
                        { "filename": "scan.png", "content_type": "image/png", "blob_id": signed_blob }
                    ]
                }),
            )
            .await,
    );
    let message = str_of(&sent, "/message_id").to_owned();
    let m = data(&s.mbx.get(&format!("/mailbox/messages/{message}")).await);
    let second = str_of(&m, "/attachments/1/id").to_owned();
    let first = str_of(&m, "/attachments/0/id").to_owned();
    assert_eq!(fetch(&s, &message, &first, None).await.body, pdf);
    assert_eq!(fetch(&s, &message, &second, None).await.body, big);
    assert_no_violations(&s.server);
}
