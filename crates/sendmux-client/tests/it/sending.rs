//! The Sending API: its own host and key next to the Management API's,
//! sends with idempotency keys, batches split into chunks, uploads (direct,
//! streamed and signed), the published description, typed errors, and
//! validation before any I/O.

use std::sync::{Arc, Mutex};

use httpmock::prelude::*;
use httpmock::{HttpMockRequest, HttpMockResponse};
use sendmux_client::clock::VirtualClock;
use sendmux_client::sending::types::SendSuccessDataStatus;
use sendmux_client::sending::{
    Address, Attachment, Email, ItemOutcome, SendEmail, SendState, SendingErrorCode,
};
use sendmux_client::{Client, Error, Surface};
use serde_json::json;

use crate::support::*;

/// The mailbox key of the tests; never printed.
const MAILBOX: &str = "smx_mbx_MBXSECRET0123456789";
const MAILBOX_SECRET: &str = "MBXSECRET0123456789";
const MAILBOX_BEARER: &str = "Bearer smx_mbx_MBXSECRET0123456789";

/// A client with both keys: Management calls to `main`, Sending calls to
/// `sending`.
fn both(main: &MockServer, sending: &MockServer) -> Client {
    builder(&main.base_url(), &VirtualClock::new())
        .mailbox_key(MAILBOX)
        .sending_base_url(sending.base_url())
        .build()
        .unwrap()
}

fn invalid(error: &Error) -> (&str, &str) {
    let input = error
        .as_invalid_input()
        .unwrap_or_else(|| panic!("not InvalidInput: {error:?}"));
    (input.field.as_str(), input.problem.as_str())
}

#[tokio::test]
async fn each_call_takes_the_host_and_key_of_its_surface() {
    let main = MockServer::start_async().await;
    let sending = MockServer::start_async().await;
    let domain = main
        .mock_async(|when, then| {
            when.method(GET)
                .path("/domains/mdom_1")
                .header("authorization", BEARER);
            then.status(200)
                .json_body(ok(domain("mdom_1", "a.com", "pending"), "req_1"));
        })
        .await;
    let send = sending
        .mock_async(|when, then| {
            when.method(POST)
                .path("/emails/send")
                .header("authorization", MAILBOX_BEARER)
                .header("content-type", "application/json")
                .header_exists("idempotency-key")
                .json_body(json!({
                    "from": {"email": "agent@mail.acme.com", "name": "Acme"},
                    "to": {"email": "ada@example.com"},
                    "cc": [{"email": "grace@example.com"}],
                    "reply_to": {"email": "support@acme.com"},
                    "subject": "Invoice 42",
                    "html_body": "<p>Attached.</p>",
                    "text_body": "Attached.",
                    "custom_headers": {"X-Campaign": "invoices"},
                    "attachments": [
                        {"filename": "a.txt", "content": "aGVsbG8=", "encoding": "base64"},
                        {"attachment_id": "att_1"}
                    ]
                }));
            then.status(200)
                .header("x-request-id", "req_send")
                .json_body(ok(sent("eml_1"), "req_send"));
        })
        .await;
    let client = both(&main, &sending);
    client.domains().get("mdom_1").await.unwrap();
    let queued = client
        .sending()
        .send(
            Address::named("Acme", "agent@mail.acme.com"),
            "ada@example.com",
        )
        .cc("grace@example.com")
        .reply_to("support@acme.com")
        .subject("Invoice 42")
        .html("<p>Attached.</p>")
        .text("Attached.")
        .custom_header("X-Campaign", "invoices")
        .attach(Attachment::bytes("a.txt", b"hello"))
        .attach(Attachment::uploaded("att_1"))
        .await
        .unwrap();
    domain.assert_async().await;
    send.assert_async().await;
    assert_eq!(queued.message_id, "eml_1");
    assert_eq!(queued.status, SendSuccessDataStatus::Queued);
    assert_eq!(queued.request_id(), Some("req_send"));
}

#[tokio::test]
async fn a_send_keeps_its_idempotency_key_across_retries() {
    let sending = MockServer::start_async().await;
    let (log, responder) = script(vec![
        Reply::json(
            503,
            &api_error("service_unavailable", "busy", true, "req_a"),
        ),
        Reply::json(200, &ok(sent("eml_2"), "req_b")),
    ]);
    sending
        .mock_async(|when, then| {
            when.method(POST).path("/emails/send");
            then.respond_with(responder);
        })
        .await;
    let client = mailbox_client(&sending);
    let queued = hello(&client).await.unwrap();
    assert_eq!(queued.message_id, "eml_2");
    assert_eq!(queued.attempts(), 2);
    let keys = log.header_values("idempotency-key");
    assert_eq!(keys.len(), 2);
    let first = keys[0].clone().unwrap();
    assert!(first.starts_with("sendmux-rust-"), "{first}");
    assert_eq!(keys[1].as_deref(), Some(first.as_str()));

    // A caller's key is sent as given.
    hello(&client).idempotency_key("invoice-42").await.unwrap();
    assert_eq!(
        log.header_values("idempotency-key")[2].as_deref(),
        Some("invoice-42")
    );
}

#[tokio::test]
async fn insufficient_credits_is_a_typed_error() {
    let sending = MockServer::start_async().await;
    let refused = sending
        .mock_async(|when, then| {
            when.method(POST).path("/emails/send");
            then.status(402)
                .header("x-request-id", "req_402")
                .json_body(api_error(
                    "insufficient_credits",
                    "top up to keep sending",
                    false,
                    "req_402",
                ));
        })
        .await;
    let error = hello(&mailbox_client(&sending)).await.unwrap_err();
    refused.assert_calls_async(1).await;
    assert_eq!(error.status(), Some(402));
    assert_eq!(
        error.sending_code(),
        Some(SendingErrorCode::InsufficientCredits)
    );
    assert!(error.is_insufficient_credits());
    assert!(error.code().unwrap().is_unknown());
    assert_eq!(error.request_id(), Some("req_402"));
    assert!(!error.is_retryable());
}

#[tokio::test]
async fn invalid_emails_never_reach_the_network() {
    let sending = MockServer::start_async().await;
    let hits = anything(&sending).await;
    let client = mailbox_client(&sending);
    let s = client.sending();
    let to = "ada@example.com";
    let cases = [
        (s.send("agent", to).subject("s").html("h"), "from.email"),
        (
            s.send("agent@mail.acme.com", "ada@").subject("s").html("h"),
            "to.email",
        ),
        (s.send("agent@mail.acme.com", to).html("h"), "subject"),
        (hello(&client).subject("two\nlines"), "subject"),
        (
            s.send("agent@mail.acme.com", to).subject("s").text("t"),
            "html_body",
        ),
        (hello(&client).cc("grace"), "cc[0].email"),
        (
            hello(&client).custom_header("Subject", "x"),
            "custom_headers.Subject",
        ),
        (
            hello(&client).attach(Attachment::bytes("", b"x")),
            "attachments[0].filename",
        ),
        (hello(&client).idempotency_key(""), "idempotency_key"),
        (
            (0..50).fold(hello(&client), |r, i| r.bcc(format!("r{i}@example.com"))),
            "cc",
        ),
        (
            // 20 MiB of bytes is 26.7 MiB as base64: over the request limit.
            hello(&client).attach(Attachment::bytes("big.bin", vec![7u8; 20 << 20])),
            "email",
        ),
    ];
    for (request, field) in cases {
        let error = request.await.unwrap_err();
        assert_eq!(invalid(&error).0, field, "{error}");
        assert!(error.is_not_sent() && error.attempts() == 0);
    }
    hits.assert_calls_async(0).await;
}

#[tokio::test]
async fn a_root_only_client_cannot_send() {
    let sending = MockServer::start_async().await;
    let hits = anything(&sending).await;
    let root_only = builder("http://127.0.0.1:9", &VirtualClock::new())
        .sending_base_url(sending.base_url())
        .build()
        .unwrap();
    let error = hello(&root_only).await.unwrap_err();
    let (field, problem) = invalid(&error);
    assert_eq!(field, "api_key");
    assert!(
        problem.contains("smx_root_") && problem.contains("Sending API"),
        "{problem}"
    );
    hits.assert_calls_async(0).await;
}

#[tokio::test]
async fn a_call_without_a_fitting_key_fails_before_any_io() {
    let main = MockServer::start_async().await;
    let sending = MockServer::start_async().await;
    let main_hits = anything(&main).await;
    let sending_hits = anything(&sending).await;
    let root_only = builder(&main.base_url(), &VirtualClock::new())
        .sending_base_url(sending.base_url())
        .build()
        .unwrap();
    let error = root_only
        .operation("sendingGetAttachment")
        .unwrap()
        .param("attachment_id", "att_1")
        .await
        .unwrap_err();
    let (field, problem) = invalid(&error);
    assert_eq!(field, "api_key");
    assert!(problem.contains("smx_root_"), "{problem}");
    assert!(error.to_string().contains("mailbox_key"), "{error}");
    assert!(error.is_not_sent());

    let mailbox_only = Client::builder()
        .api_key(MAILBOX)
        .base_url(main.base_url())
        .sending_base_url(sending.base_url())
        .build()
        .unwrap();
    let error = mailbox_only.domains().get("mdom_1").await.unwrap_err();
    let (field, problem) = invalid(&error);
    assert_eq!(field, "api_key");
    assert!(problem.contains("smx_mbx_"), "{problem}");
    assert!(error.to_string().contains("smx_root_"), "{error}");
    assert!(!error.to_string().contains(MAILBOX_SECRET));
    assert!(!mailbox_only.has_key_for(Surface::Management));
    assert!(mailbox_only.has_key_for(Surface::Mailbox));

    main_hits.assert_calls_async(0).await;
    sending_hits.assert_calls_async(0).await;
}

#[tokio::test]
async fn with_mailbox_key_acts_for_another_mailbox_on_the_same_client() {
    let main = MockServer::start_async().await;
    let sending = MockServer::start_async().await;
    let other = sending
        .mock_async(|when, then| {
            when.method(GET)
                .path("/emails/attachments/att_2")
                .header("authorization", "Bearer smx_agent_OTHERAGENT");
            then.status(200)
                .json_body(ok(attachment_data("att_2"), "req_1"));
        })
        .await;
    let root_only = builder(&main.base_url(), &VirtualClock::new())
        .sending_base_url(sending.base_url())
        .build()
        .unwrap();
    let agent = root_only.with_mailbox_key("smx_agent_OTHERAGENT").unwrap();
    agent
        .operation("sendingGetAttachment")
        .unwrap()
        .param("attachment_id", "att_2")
        .await
        .unwrap();
    other.assert_async().await;
    // The copy keeps the root key; the original gained nothing.
    assert!(agent.has_key_for(Surface::Management));
    assert!(!root_only.has_key_for(Surface::Sending));
    let refused = root_only.with_mailbox_key(KEY).unwrap_err();
    assert_eq!(invalid(&refused).0, "mailbox_key");
    assert!(!format!("{refused} {refused:?}").contains(SECRET));
    let text = format!("{agent:?}");
    assert!(text.contains("smx_agent_<redacted>"), "{text}");
    assert!(!text.contains("OTHERAGENT"), "{text}");
}

#[tokio::test]
async fn both_keys_stay_out_of_debug_and_errors() {
    let main = MockServer::start_async().await;
    let sending = MockServer::start_async().await;
    let client = both(&main, &sending);
    let builder = builder(&main.base_url(), &VirtualClock::new()).mailbox_key(MAILBOX);
    let debug = format!("{client:?} {client:#?} {builder:?}");
    assert!(debug.contains("smx_root_<redacted>"), "{debug}");
    assert!(debug.contains("smx_mbx_<redacted>"), "{debug}");
    for secret in [SECRET, MAILBOX_SECRET] {
        assert!(!debug.contains(secret), "{debug}");
    }
    let credentials_in_url = Client::builder()
        .mailbox_key(MAILBOX)
        .sending_base_url("https://user:s3cr3tpass@smtp.example.com/api/v1");
    let shown = format!("{credentials_in_url:?}");
    assert!(!shown.contains("s3cr3tpass"), "{shown}");
    let error = credentials_in_url.build().unwrap_err();
    assert!(!format!("{error} {error:?}").contains("s3cr3tpass"));
}

/// A client with only a mailbox key, its Sending calls to `sending`.
fn mailbox_client(sending: &MockServer) -> Client {
    Client::builder()
        .mailbox_key(MAILBOX)
        .base_url("http://127.0.0.1:9")
        .sending_base_url(sending.base_url())
        .clock(VirtualClock::new())
        .build()
        .unwrap()
}

/// A valid send.
fn hello(client: &Client) -> SendEmail {
    client
        .sending()
        .send("agent@mail.acme.com", "ada@example.com")
        .subject("Hello")
        .html("<p>Hello</p>")
}

fn sent(id: &str) -> serde_json::Value {
    json!({"message_id": id, "status": "queued"})
}

/// A catch-all mock, to count requests that should never be made.
async fn anything(server: &MockServer) -> httpmock::Mock<'_> {
    server
        .mock_async(|when, then| {
            when.any_request();
            then.status(500);
        })
        .await
}

fn attachment_data(id: &str) -> serde_json::Value {
    serde_json::json!({
        "attachment_id": id,
        "filename": "report.pdf",
        "content_type": "application/pdf",
        "size_bytes": 11,
        "expires_at": "2026-11-01T11:00:00Z"
    })
}

/// `n` valid emails, the `i`th to `r{i}@example.com`.
fn emails(n: usize) -> Vec<Email> {
    (0..n)
        .map(|i| {
            Email::new("news@mail.acme.com", format!("r{i}@example.com"))
                .subject("News")
                .html("<p>News</p>")
        })
        .collect()
}

/// Requests a batch responder saw: idempotency key and message count.
type Seen = Arc<Mutex<Vec<(Option<String>, usize)>>>;

/// A batch endpoint that queues every message as `eml_<local part of to>`,
/// and answers `failing` keys with `status` and `code` instead.
fn batch_responder(
    failing: &'static [&'static str],
    status: u16,
    code: &'static str,
) -> (
    Seen,
    impl Fn(&HttpMockRequest) -> HttpMockResponse + Send + Sync + 'static,
) {
    let seen = Seen::default();
    let log = seen.clone();
    let responder = move |req: &HttpMockRequest| {
        let key = req
            .headers()
            .get("idempotency-key")
            .map(|v| v.to_str().unwrap().to_owned());
        let body: serde_json::Value = serde_json::from_slice(req.body_ref()).unwrap();
        let messages = body["messages"].as_array().unwrap();
        log.lock().unwrap().push((key.clone(), messages.len()));
        if key.as_deref().is_some_and(|k| failing.contains(&k)) {
            return HttpMockResponse::builder()
                .status(status)
                .header("content-type", "application/json")
                .body(api_error(code, "refused", false, "req_fail").to_string())
                .build();
        }
        let results: Vec<serde_json::Value> = messages
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let to = m["to"]["email"].as_str().unwrap();
                let local = to.split('@').next().unwrap();
                json!({"index": i, "message_id": format!("eml_{local}"), "status": "queued"})
            })
            .collect();
        let n = results.len();
        let data = json!({"results": results, "summary": {"total": n, "queued": n, "failed": 0}});
        HttpMockResponse::builder()
            .status(200)
            .header("content-type", "application/json")
            .header("x-request-id", format!("req_{}", key.unwrap_or_default()))
            .body(ok(data, "req_batch").to_string())
            .build()
    };
    (seen, responder)
}

#[tokio::test]
async fn a_batch_of_250_is_three_requests_with_derived_keys_merged_in_order() {
    let sending = MockServer::start_async().await;
    let (seen, responder) = batch_responder(&[], 200, "");
    sending
        .mock_async(|when, then| {
            when.method(POST)
                .path("/emails/send/batch")
                .header("authorization", MAILBOX_BEARER);
            then.respond_with(responder);
        })
        .await;
    let client = mailbox_client(&sending);
    let outcome = client
        .sending()
        .send_batch(emails(250))
        .idempotency_key("digest")
        .await
        .unwrap();
    let expected = [
        (Some("digest.0".to_owned()), 100),
        (Some("digest.1".to_owned()), 100),
        (Some("digest.2".to_owned()), 50),
    ];
    assert_eq!(*seen.lock().unwrap(), expected);
    assert!(outcome.is_complete() && !outcome.has_failures());
    assert_eq!(outcome.queued(), 250);
    for (i, item) in outcome.items.iter().enumerate() {
        assert_eq!(item.message_id(), Some(format!("eml_r{i}").as_str()));
    }
    assert_eq!(outcome.idempotency_key.as_deref(), Some("digest"));
    let ranges: Vec<_> = outcome
        .requests
        .iter()
        .map(|r| r.messages.clone())
        .collect();
    assert_eq!(ranges, [0..100, 100..200, 200..250]);
    assert_eq!(
        outcome.requests[1].request_id.as_deref(),
        Some("req_digest.1")
    );

    // The same call again sends the same three keys.
    client
        .sending()
        .send_batch(emails(250))
        .idempotency_key("digest")
        .await
        .unwrap();
    assert_eq!(seen.lock().unwrap()[3..], expected);

    // Without a key, one is generated per call and derived the same way.
    let outcome = client.sending().send_batch(emails(150)).await.unwrap();
    let base = outcome.idempotency_key.clone().unwrap();
    assert!(base.starts_with("sendmux-rust-"), "{base}");
    let keys: Vec<_> = seen.lock().unwrap()[6..]
        .iter()
        .map(|(k, _)| k.clone().unwrap())
        .collect();
    assert_eq!(keys, [format!("{base}.0"), format!("{base}.1")]);

    // One request carries the call's key as it is.
    client
        .sending()
        .send_batch(emails(3))
        .idempotency_key("small")
        .await
        .unwrap();
    assert_eq!(seen.lock().unwrap()[8], (Some("small".to_owned()), 3));
}

#[tokio::test]
async fn partial_success_is_decoded_per_message() {
    let sending = MockServer::start_async().await;
    sending
        .mock_async(|when, then| {
            when.method(POST).path("/emails/send/batch");
            // Results out of order: each lands on its own message.
            let data = json!({
                "results": [
                    {"index": 2, "message_id": "eml_c", "status": "queued"},
                    {"index": 1, "message_id": null, "status": "failed", "error": {
                        "code": "validation_error",
                        "message": "bad recipient",
                        "retryable": false,
                        "errors": [{"field": "to.email", "code": "invalid_string", "message": "not an address"}]
                    }},
                    {"index": 0, "message_id": "eml_a", "status": "queued"}
                ],
                "summary": {"total": 3, "queued": 2, "failed": 1}
            });
            then.status(200).json_body(ok(data, "req_p"));
        })
        .await;
    let outcome = mailbox_client(&sending)
        .sending()
        .send_batch(emails(3))
        .await
        .unwrap();
    assert_eq!(outcome.items[0].message_id(), Some("eml_a"));
    assert_eq!(outcome.items[2].message_id(), Some("eml_c"));
    match &outcome.items[1] {
        ItemOutcome::Refused {
            code,
            message,
            retryable,
            field_errors,
        } => {
            assert_eq!(*code, SendingErrorCode::ValidationError);
            assert_eq!(message, "bad recipient");
            assert!(!retryable);
            assert_eq!(field_errors[0].field, "to.email");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(outcome.queued(), 2);
    assert!(!outcome.is_complete() && !outcome.has_failures());
}

#[tokio::test]
async fn a_failed_request_is_reported_on_each_of_its_messages() {
    let sending = MockServer::start_async().await;
    let (seen, responder) = batch_responder(&["weekly.1"], 402, "insufficient_credits");
    sending
        .mock_async(|when, then| {
            when.method(POST).path("/emails/send/batch");
            then.respond_with(responder);
        })
        .await;
    let outcome = mailbox_client(&sending)
        .sending()
        .send_batch(emails(250))
        .idempotency_key("weekly")
        .await
        .unwrap();
    // The third request is not made after the second failed.
    assert_eq!(seen.lock().unwrap().len(), 2);
    assert!(outcome.items[..100].iter().all(ItemOutcome::is_queued));
    for (i, item) in outcome.items[100..].iter().enumerate() {
        let ItemOutcome::Failed(failure) = item else {
            panic!("{i}: {item:?}");
        };
        assert_eq!(failure.state, SendState::NotSent);
        assert!(failure.error.is_insufficient_credits());
        assert_eq!(failure.request, if i < 100 { 1 } else { 2 });
    }
    assert!(outcome.requests[1].sent && !outcome.requests[2].sent);
    assert_eq!(
        outcome.requests[2].idempotency_key.as_deref(),
        Some("weekly.2")
    );
    assert!(outcome.has_failures());
    assert!(outcome.error().unwrap().is_insufficient_credits());

    // A server failure leaves the outcome unknown: maybe sent.
    let (_, responder) = batch_responder(&["retry-me"], 500, "internal_error");
    let failing = MockServer::start_async().await;
    failing
        .mock_async(|when, then| {
            when.method(POST).path("/emails/send/batch");
            then.respond_with(responder);
        })
        .await;
    let outcome = mailbox_client(&failing)
        .sending()
        .send_batch(emails(2))
        .idempotency_key("retry-me")
        .await
        .unwrap();
    let ItemOutcome::Failed(failure) = &outcome.items[1] else {
        panic!("{:?}", outcome.items[1]);
    };
    assert_eq!(failure.state, SendState::MaybeSent);
    assert_eq!(failure.error.status(), Some(500));
}

#[tokio::test]
async fn a_batch_is_checked_before_any_request() {
    let sending = MockServer::start_async().await;
    let hits = anything(&sending).await;
    let client = mailbox_client(&sending);
    let empty = client.sending().send_batch(Vec::new()).await.unwrap_err();
    assert_eq!(invalid(&empty).0, "messages");
    let mut list = emails(3);
    list[1] = Email::new("news@mail.acme.com", "r1@example.com").html("<p>x</p>");
    let error = client.sending().send_batch(list).await.unwrap_err();
    assert_eq!(invalid(&error).0, "messages[1].subject");
    let error = client
        .sending()
        .send_batch(emails(2))
        .idempotency_key("bad key")
        .await
        .unwrap_err();
    assert_eq!(invalid(&error).0, "idempotency_key");
    let root_only = builder("http://127.0.0.1:9", &VirtualClock::new())
        .sending_base_url(sending.base_url())
        .build()
        .unwrap();
    let error = root_only.sending().send_batch(emails(2)).await.unwrap_err();
    assert_eq!(invalid(&error).0, "api_key");
    hits.assert_calls_async(0).await;
}

/// Bytes with a pattern, long enough to arrive in several chunks.
fn patterned(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// Bodies an upload responder saw.
type Bodies = Arc<Mutex<Vec<Vec<u8>>>>;

/// An upload endpoint answering 201 with `id`, keeping the bodies it saw.
fn upload_responder(
    id: &'static str,
) -> (
    Bodies,
    impl Fn(&HttpMockRequest) -> HttpMockResponse + Send + Sync + 'static,
) {
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let seen = bodies.clone();
    let responder = move |req: &HttpMockRequest| {
        seen.lock().unwrap().push(req.body_vec());
        HttpMockResponse::builder()
            .status(201)
            .header("content-type", "application/json")
            .body(ok(attachment_data(id), "req_up").to_string())
            .build()
    };
    (bodies, responder)
}

#[tokio::test]
async fn uploads_send_the_bytes_with_name_type_and_key() {
    let sending = MockServer::start_async().await;
    let upload = sending
        .mock_async(|when, then| {
            when.method(POST)
                .path("/emails/attachments")
                .query_param("filename", "report.csv")
                .query_param("content_type", "text/csv")
                .header("authorization", MAILBOX_BEARER)
                .header("content-type", "application/octet-stream")
                .header("content-length", "8")
                .header_exists("idempotency-key")
                .body("a,b\n1,2\n");
            then.status(201)
                .json_body(ok(attachment_data("att_1"), "req_1"));
        })
        .await;
    let metadata = sending
        .mock_async(|when, then| {
            when.method(GET)
                .path("/emails/attachments/att_1")
                .header("authorization", MAILBOX_BEARER);
            then.status(200)
                .json_body(ok(attachment_data("att_1"), "req_2"));
        })
        .await;
    let client = mailbox_client(&sending);
    let stored = client
        .sending()
        .upload("report.csv", b"a,b\n1,2\n".to_vec())
        .content_type("text/csv")
        .await
        .unwrap();
    assert_eq!(stored.status(), 201);
    assert_eq!(stored.attachment_id, "att_1");
    let info = client.sending().attachment("att_1").await.unwrap();
    assert_eq!(info.size_bytes, 11);
    upload.assert_async().await;
    metadata.assert_async().await;
}

#[tokio::test]
async fn a_file_upload_streams_the_file_intact() {
    let sending = MockServer::start_async().await;
    let content = patterned(300 * 1024);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scan.bin");
    std::fs::write(&path, &content).unwrap();
    let (bodies, responder) = upload_responder("att_f");
    let upload = sending
        .mock_async(|when, then| {
            when.method(POST)
                .path("/emails/attachments")
                .query_param("filename", "scan.bin")
                .header("content-length", content.len().to_string())
                .header_missing("transfer-encoding");
            then.respond_with(responder);
        })
        .await;
    let stored = mailbox_client(&sending)
        .sending()
        .upload_file(&path)
        .await
        .unwrap();
    assert_eq!(stored.attachment_id, "att_f");
    upload.assert_async().await;
    assert!(
        bodies.lock().unwrap()[0] == content,
        "the body arrived altered"
    );

    // A reader streams the same way, in one attempt (it cannot be re-read).
    let (log, responder) = script(vec![Reply::json(
        503,
        &api_error("service_unavailable", "busy", true, "req_r"),
    )]);
    let busy = MockServer::start_async().await;
    busy.mock_async(|when, then| {
        when.method(POST)
            .path("/emails/attachments")
            .header("content-length", "1000");
        then.respond_with(responder);
    })
    .await;
    let reader = std::io::Cursor::new(patterned(1000));
    let error = mailbox_client(&busy)
        .sending()
        .upload_reader("scan.bin", reader, 1000)
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(503));
    assert_eq!(log.len(), 1, "a reader was read twice");

    let missing = mailbox_client(&sending)
        .sending()
        .upload_file(dir.path().join("missing.bin"))
        .await
        .unwrap_err();
    assert!(missing.is_not_sent(), "{missing:?}");
}

#[tokio::test]
async fn a_signed_upload_puts_the_bytes_without_the_key() {
    let sending = MockServer::start_async().await;
    let storage = MockServer::start_async().await;
    let upload_url = format!("{}/emails/attachment-uploads/upl_1", storage.base_url());
    let intent = sending
        .mock_async(|when, then| {
            when.method(POST)
                .path("/emails/attachment-uploads")
                .header("authorization", MAILBOX_BEARER)
                .header_exists("idempotency-key")
                .json_body(json!({
                    "filename": "report.pdf",
                    "size_bytes": 11,
                    "content_type": "application/pdf"
                }));
            then.status(201).json_body(ok(
                json!({
                    "upload_id": "upl_1",
                    "upload_url": upload_url,
                    "method": "PUT",
                    "expires_at": "2026-11-01T10:15:00Z",
                    "max_size_bytes": 1024,
                    "headers": {
                        "Content-Type": "application/pdf",
                        "Content-Length": "11",
                        "X-Sendmux-Upload-Token": "smx_upload_T0K3N"
                    }
                }),
                "req_i",
            ));
        })
        .await;
    let put = storage
        .mock_async(|when, then| {
            when.method(PUT)
                .path("/emails/attachment-uploads/upl_1")
                .header_missing("authorization")
                .header_missing("idempotency-key")
                .header("content-type", "application/pdf")
                .header("content-length", "11")
                .header("x-sendmux-upload-token", "smx_upload_T0K3N")
                .body("%PDF-1.7 ok");
            then.status(201)
                .json_body(ok(attachment_data("att_s"), "req_p"));
        })
        .await;
    // Both keys on the client: neither may reach the upload URL.
    let client = both(&MockServer::start_async().await, &sending);
    let sending_api = client.sending();
    let started = sending_api
        .create_upload("report.pdf", 11)
        .content_type("application/pdf")
        .await
        .unwrap();
    let shown = format!("{started:?}");
    assert!(!shown.contains("T0K3N"), "{shown}");
    assert_eq!(started.method(), "PUT");
    let stored = sending_api
        .complete_upload(&started, b"%PDF-1.7 ok".to_vec())
        .await
        .unwrap();
    assert_eq!(stored.attachment_id, "att_s");
    intent.assert_async().await;
    put.assert_async().await;

    // The file form sends the same request, streamed.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.pdf");
    std::fs::write(&path, b"%PDF-1.7 ok").unwrap();
    sending_api
        .complete_upload_file(&started, &path)
        .await
        .unwrap();
    put.assert_calls_async(2).await;

    // Bytes that differ from what was announced are never sent.
    let error = sending_api
        .complete_upload(&started, b"longer than announced".to_vec())
        .await
        .unwrap_err();
    assert_eq!(invalid(&error).0, "bytes");
    std::fs::write(&path, b"grown since it started").unwrap();
    let error = sending_api
        .complete_upload_file(&started, &path)
        .await
        .unwrap_err();
    assert_eq!(invalid(&error).0, "file");
    put.assert_calls_async(2).await;
}

#[tokio::test]
async fn a_local_file_is_uploaded_then_sent_by_id() {
    let sending = MockServer::start_async().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.txt");
    std::fs::write(&path, b"quarterly numbers").unwrap();
    let (bodies, responder) = upload_responder("att_9");
    let upload = sending
        .mock_async(|when, then| {
            when.method(POST)
                .path("/emails/attachments")
                .query_param("filename", "report.txt")
                .header("idempotency-key", "report-q3.file0");
            then.respond_with(responder);
        })
        .await;
    let send = sending
        .mock_async(|when, then| {
            when.method(POST)
                .path("/emails/send")
                .header("idempotency-key", "report-q3")
                .json_body(json!({
                    "from": {"email": "agent@mail.acme.com"},
                    "to": {"email": "ada@example.com"},
                    "subject": "Hello",
                    "html_body": "<p>Hello</p>",
                    "attachments": [{"attachment_id": "att_9"}]
                }));
            then.status(200).json_body(ok(sent("eml_9"), "req_s"));
        })
        .await;
    let client = mailbox_client(&sending);
    let queued = hello(&client)
        .idempotency_key("report-q3")
        .attach_file(&path)
        .await
        .unwrap();
    assert_eq!(queued.message_id, "eml_9");
    upload.assert_async().await;
    send.assert_async().await;
    assert_eq!(bodies.lock().unwrap()[0], b"quarterly numbers");

    // An email that fails its checks uploads nothing.
    let error = client
        .sending()
        .send("agent@mail.acme.com", "ada@example.com")
        .html("<p>no subject</p>")
        .attach_file(&path)
        .await
        .unwrap_err();
    assert_eq!(invalid(&error).0, "subject");
    let ten = (0..10).fold(hello(&client), |r, _| {
        r.attach(Attachment::uploaded("att_1"))
    });
    let error = ten.attach_file(&path).await.unwrap_err();
    assert_eq!(invalid(&error).0, "attachments");
    upload.assert_calls_async(1).await;
}

#[tokio::test]
async fn the_published_description_is_read_without_a_key_with_its_etag() {
    let sending = MockServer::start_async().await;
    let document = json!({"openapi": "3.1.0", "info": {"title": "Sending", "version": "1"}});
    let fresh = sending
        .mock_async(|when, then| {
            when.method(GET)
                .path("/openapi.json")
                .header_missing("authorization")
                .header_missing("if-none-match");
            then.status(200)
                .header("content-type", "application/json")
                .header("etag", "W/\"d1\"")
                .json_body(document.clone());
        })
        .await;
    let unchanged = sending
        .mock_async(|when, then| {
            when.method(GET)
                .path("/openapi.json")
                .header_missing("authorization")
                .header("if-none-match", "W/\"d1\"");
            then.status(304).header("etag", "W/\"d1\"");
        })
        .await;
    let changed = sending
        .mock_async(|when, then| {
            when.method(GET)
                .path("/openapi.json")
                .header("if-none-match", "W/\"old\"");
            then.status(200)
                .header("etag", "W/\"d1\"")
                .json_body(document.clone());
        })
        .await;
    // Both keys on the client, and neither is sent.
    let client = both(&MockServer::start_async().await, &sending);
    let first = client.sending().openapi_document().await.unwrap();
    assert_eq!(first.0, document);
    assert_eq!(first.etag(), Some("W/\"d1\""));
    let again = client
        .sending()
        .openapi_document()
        .if_none_match("W/\"d1\"")
        .await
        .unwrap();
    assert!(!again.is_modified());
    assert_eq!(again.etag(), Some("W/\"d1\""));
    let newer = client
        .sending()
        .openapi_document()
        .if_none_match("W/\"old\"")
        .await
        .unwrap();
    assert_eq!(newer.modified().unwrap().into_inner().into_json(), document);
    fresh.assert_async().await;
    unchanged.assert_async().await;
    changed.assert_async().await;

    // A client without a mailbox key may read it too.
    let root_only = builder("http://127.0.0.1:9", &VirtualClock::new())
        .sending_base_url(sending.base_url())
        .build()
        .unwrap();
    root_only.sending().openapi_document().await.unwrap();
    fresh.assert_calls_async(2).await;
}
