//! Secrets the API shows once (mailbox keys, webhook signing secrets) and
//! the SMTP passwords we send never reach `tracing` output, on success or
//! failure.
//!
//! Its own test binary with one global subscriber at TRACE for this crate,
//! installed before any call (see `traces.rs` for why); the tests run one
//! at a time over the shared capture.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[allow(dead_code)]
#[path = "it/support.rs"]
mod support;

#[allow(dead_code)]
#[path = "it/fixtures.rs"]
mod fixtures;

use std::sync::OnceLock;

use httpmock::prelude::*;
use serde_json::json;
use tokio::sync::{Mutex, MutexGuard};
use tracing_subscriber::fmt::format::FmtSpan;

use fixtures::{credential, mailbox, reply, reply_error};
use sendmux_client::Client;
use sendmux_client::clock::VirtualClock;
use support::Buffer;

/// A client without response validation: these tests are about what this
/// crate's decoding and requests do with secrets (see the last test for
/// validation reports).
fn client(server: &MockServer) -> Client {
    support::builder(&server.base_url(), &VirtualClock::new())
        .build()
        .unwrap()
}

async fn capture() -> (MutexGuard<'static, ()>, Buffer) {
    static SERIAL: Mutex<()> = Mutex::const_new(());
    static BUFFER: OnceLock<Buffer> = OnceLock::new();
    let guard = SERIAL.lock().await;
    let buffer = BUFFER
        .get_or_init(|| {
            let buffer = Buffer::default();
            let subscriber = tracing_subscriber::fmt()
                .with_writer(buffer.clone())
                .with_env_filter("sendmux_client=trace")
                .with_span_events(FmtSpan::FULL)
                .with_ansi(false)
                .finish();
            tracing::subscriber::set_global_default(subscriber).unwrap();
            buffer
        })
        .clone();
    buffer.clear();
    (guard, buffer)
}

/// Checks that neither the capture nor the calls' outcomes, printed as an
/// application would log them, show `secret`.
fn assert_unseen(buffer: &Buffer, outcomes: &[String], secret: &str) {
    let out = buffer.text();
    assert!(out.contains("sendmux.call"), "nothing was traced:\n{out}");
    assert!(!out.contains(secret), "secret in traces:\n{out}");
    for outcome in outcomes {
        assert!(!outcome.contains(secret), "secret in an outcome: {outcome}");
    }
}

#[tokio::test]
async fn mailbox_keys_stay_out_of_traces() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/mailboxes");
            let data =
                json!({"mailbox": mailbox("mbx_1"), "credential": credential(), "warning": null});
            reply(then, 201, data);
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/mailboxes/mbx_1/keys");
            let mut broken = credential();
            broken["smtp_port"] = json!("four-six-five");
            reply(then, 201, json!({"credential": broken}));
        })
        .await;
    let mailboxes = client(&server).mailboxes();
    let (_serial, buffer) = capture().await;
    let created = mailboxes.create("agent@mail.acme.com").await;
    let broken = mailboxes.create_key("mbx_1", "ci").await;
    assert!(created.is_ok() && broken.is_err());
    let outcomes = [format!("{created:?}"), format!("{broken:?}")];
    assert_unseen(&buffer, &outcomes, fixtures::MAILBOX_KEY);
}

#[tokio::test]
async fn webhook_signing_secrets_stay_out_of_traces() {
    const SIGNING_SECRET: &str = "whsec_TR4C3DS1GN1NG";
    let subscription = |secret: serde_json::Value| {
        json!({
            "id": "wh_1", "name": null, "url": "https://hooks.acme.com/x",
            "event_types": ["message.received"], "filters": {"mailbox_ids": []},
            "enabled": true, "failing": false, "secret": secret,
            "created_at": "2026-11-01T10:00:00Z", "updated_at": "2026-11-01T10:00:00Z"
        })
    };
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/webhooks");
            reply(then, 201, subscription(json!(SIGNING_SECRET)));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/webhooks/wh_1/rotate-secret");
            // The secret where a number belongs: the decoder must not quote it.
            reply(
                then,
                200,
                json!({"secret": SIGNING_SECRET, "enabled": SIGNING_SECRET}),
            );
        })
        .await;
    let webhooks = client(&server).webhooks();
    let (_serial, buffer) = capture().await;
    let event = sendmux_client::WebhookEventType::MessageReceived;
    let created = webhooks.create("https://hooks.acme.com/x", [event]).await;
    let rotated = webhooks.rotate_secret("wh_1").await;
    assert!(created.is_ok() && rotated.is_err());
    let outcomes = [format!("{created:?}"), format!("{rotated:?}")];
    assert_unseen(&buffer, &outcomes, SIGNING_SECRET);
}

#[tokio::test]
async fn smtp_passwords_stay_out_of_traces() {
    const SMTP_PASSWORD: &str = "Tr4c3dSmtpP4ss";
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/providers");
            reply_error(then, 422, "validation_error", "login refused");
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(PATCH).path("/providers/dprov_1");
            reply_error(then, 503, "service_unavailable", "busy");
        })
        .await;
    let accounts = client(&server).sending_accounts();
    let (_serial, buffer) = capture().await;
    let protocol = sendmux_client::sending_accounts::SmtpProtocol::Starttls;
    let create = accounts.create(
        "Relay",
        "smtp.acme.com",
        587,
        protocol,
        "relay",
        SMTP_PASSWORD,
    );
    let created = create.await;
    let updated = accounts
        .update("dprov_1")
        .login("relay", SMTP_PASSWORD)
        .await;
    assert!(created.is_err() && updated.is_err());
    let outcomes = [format!("{created:?}"), format!("{updated:?}")];
    assert_unseen(&buffer, &outcomes, SMTP_PASSWORD);
}

#[tokio::test]
async fn both_keys_and_upload_tokens_stay_out_of_traces() {
    const MAILBOX_KEY: &str = "smx_mbx_TR4C3DM41LB0X";
    const UPLOAD_TOKEN: &str = "smx_upload_TR4C3DT0K3N";
    let server = MockServer::start_async().await;
    let upload_url = format!("{}/emails/attachment-uploads/upl_1", server.base_url());
    server
        .mock_async(|when, then| {
            when.method(POST).path("/emails/send");
            reply_error(then, 402, "insufficient_credits", "top up");
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/emails/attachment-uploads");
            let intent = json!({
                "upload_id": "upl_1", "upload_url": upload_url, "method": "PUT",
                "expires_at": "2026-11-01T10:15:00Z", "max_size_bytes": 100,
                "headers": {"Content-Length": "2", "X-Sendmux-Upload-Token": UPLOAD_TOKEN}
            });
            reply(then, 201, intent);
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(PUT).path("/emails/attachment-uploads/upl_1");
            reply_error(then, 401, "authentication_required", "token expired");
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/domains/mdom_1");
            reply_error(then, 404, "not_found", "no such domain");
        })
        .await;
    let client = support::builder(&server.base_url(), &VirtualClock::new())
        .mailbox_key(MAILBOX_KEY)
        .sending_base_url(server.base_url())
        .build()
        .unwrap();
    let (_serial, buffer) = capture().await;
    let sending = client.sending();
    let sent = sending
        .send("agent@mail.acme.com", "ada@example.com")
        .subject("Hi")
        .html("<p>Hi</p>")
        .await;
    let intent = sending.create_upload("a.txt", 2).await.unwrap();
    let put = sending.complete_upload(&intent, b"hi".to_vec()).await;
    let domain = client.domains().get("mdom_1").await;
    assert!(sent.is_err() && put.is_err() && domain.is_err());
    let outcomes = [
        format!("{sent:?}"),
        format!("{intent:?}"),
        format!("{put:?}"),
        format!("{domain:?}"),
        format!("{client:?}"),
    ];
    for secret in [MAILBOX_KEY, UPLOAD_TOKEN, support::SECRET] {
        assert_unseen(&buffer, &outcomes, secret);
    }
}

/// A secret-bearing answer that breaks the API description: the
/// `conformance` feature's reports quote the values they reject, so for
/// such answers the warn-mode warning and the strict-mode error (and the
/// "giving up" event printing it) keep only the count of violations.
#[cfg(feature = "conformance")]
#[tokio::test]
async fn conformance_reports_keep_secrets_out_of_traces() {
    use sendmux_client::conformance::ConformanceMode;
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/mailboxes/mbx_1/keys");
            let mut broken = credential();
            broken["imap_port"] = json!(fixtures::MAILBOX_KEY);
            reply(then, 201, json!({"credential": broken}));
        })
        .await;
    let (_serial, buffer) = capture().await;
    let mut outcomes = Vec::new();
    for mode in [ConformanceMode::Warn, ConformanceMode::Strict] {
        let client = support::builder(&server.base_url(), &VirtualClock::new())
            .conformance(mode)
            .build()
            .unwrap();
        let outcome = client.mailboxes().create_key("mbx_1", "ci").await;
        outcomes.push(format!("{outcome:?}"));
    }
    assert_unseen(&buffer, &outcomes, fixtures::MAILBOX_KEY);
}
