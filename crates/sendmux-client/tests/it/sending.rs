//! The Sending API: its own host and key next to the Management API's,
//! sends with idempotency keys, batches split into chunks, uploads (direct,
//! streamed and signed), the published description, typed errors, and
//! validation before any I/O.

use httpmock::prelude::*;
use sendmux_client::clock::VirtualClock;
use sendmux_client::{Client, Error, Surface};

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
    let attachment = sending
        .mock_async(|when, then| {
            when.method(GET)
                .path("/emails/attachments/att_1")
                .header("authorization", MAILBOX_BEARER);
            then.status(200)
                .json_body(ok(attachment_data("att_1"), "req_2"));
        })
        .await;
    let client = both(&main, &sending);
    client.domains().get("mdom_1").await.unwrap();
    client
        .operation("sendingGetAttachment")
        .unwrap()
        .param("attachment_id", "att_1")
        .await
        .unwrap();
    domain.assert_async().await;
    attachment.assert_async().await;
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
