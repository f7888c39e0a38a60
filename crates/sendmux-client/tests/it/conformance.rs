//! Response validation against the API description (feature `conformance`).

use httpmock::prelude::*;
use sendmux_client::Error;
use sendmux_client::clock::VirtualClock;
use sendmux_client::conformance::ConformanceMode;

use crate::support::*;

#[tokio::test]
async fn conforming_responses_pass_strict_mode() {
    let server = MockServer::start_async().await;
    serve_domain(&server, true).await;
    let clock = VirtualClock::new();
    let client = builder(&server.base_url(), &clock)
        .conformance(ConformanceMode::Strict)
        .build()
        .unwrap();
    client.domains().get("mdom_1").await.unwrap();
}

#[tokio::test]
async fn strict_mode_turns_violations_into_errors() {
    let server = MockServer::start_async().await;
    serve_domain(&server, false).await;
    let clock = VirtualClock::new();
    let client = builder(&server.base_url(), &clock)
        .conformance(ConformanceMode::Strict)
        .build()
        .unwrap();
    let err = client.domains().get("mdom_1").await.unwrap_err();
    match &err {
        Error::Conformance {
            operation,
            status,
            report,
            ..
        } => {
            assert_eq!(*operation, "managementGetDomain");
            assert_eq!(*status, 200);
            assert!(
                report.to_ascii_lowercase().contains("x-request-id"),
                "{report}"
            );
        }
        other => panic!("expected Conformance, got {other:?}"),
    }
    assert!(clock.sleeps().is_empty(), "violations are not retried");
}

#[tokio::test]
async fn sending_responses_are_checked_against_the_sending_document() {
    let server = MockServer::start_async().await;
    let answer = |then: httpmock::Then, data: serde_json::Value| {
        then.status(200)
            .header("content-type", "application/json")
            .header("x-request-id", "req_s")
            .header("x-ratelimit-limit", "1800")
            .header("x-ratelimit-remaining", "1799")
            .header("x-ratelimit-reset", "1790000000")
            .json_body(ok(data, "req_s"));
    };
    server
        .mock_async(|when, then| {
            when.method(POST).path("/emails/send").header("idempotency-key", "good");
            answer(
                then,
                serde_json::json!({"message_id": "eml_tz4a98xxat96iws9zmbrgj3a", "status": "queued"}),
            );
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/emails/send")
                .header("idempotency-key", "bad");
            answer(
                then,
                serde_json::json!({"message_id": "eml_tz4a98xxat96iws9zmbrgj3a"}),
            );
        })
        .await;
    let client = sendmux_client::Client::builder()
        .mailbox_key("smx_mbx_conformance")
        .sending_base_url(server.base_url())
        .clock(VirtualClock::new())
        .conformance(ConformanceMode::Strict)
        .build()
        .unwrap();
    let send = |key: &'static str| {
        client
            .sending()
            .send("agent@mail.acme.com", "ada@example.com")
            .subject("Hi")
            .html("<p>Hi</p>")
            .idempotency_key(key)
    };
    send("good").await.unwrap();
    match send("bad").await.unwrap_err() {
        Error::Conformance {
            operation, report, ..
        } => {
            assert_eq!(operation, "sendingSendEmail");
            assert!(report.contains("status"), "{report}");
        }
        other => panic!("expected Conformance, got {other:?}"),
    }
}
