//! Response validation against the API description (feature `conformance`).

use httpmock::prelude::*;
use sendmux_client::Error;
use sendmux_client::clock::VirtualClock;
use sendmux_client::conformance::ConformanceMode;

use crate::support::*;

async fn serve(server: &MockServer, with_headers: bool) {
    server
        .mock_async(|when, then| {
            when.method(GET).path("/domains/mdom_1");
            let mut body = ok(domain("mdom_1", "mail.acme.com", "pending"), "req_c");
            let then = then.status(200).header("content-type", "application/json");
            if with_headers {
                then.header("x-request-id", "req_c")
                    .header("x-ratelimit-limit", "600")
                    .header("x-ratelimit-remaining", "599")
                    .header("x-ratelimit-reset", "1790000000")
                    .header("etag", "W/\"c\"")
                    .json_body(body);
            } else {
                // Undeclared field and no required headers.
                body["data"]["surprise"] = serde_json::json!(1);
                then.json_body(body);
            }
        })
        .await;
}

#[tokio::test]
async fn conforming_responses_pass_strict_mode() {
    let server = MockServer::start_async().await;
    serve(&server, true).await;
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
    serve(&server, false).await;
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
async fn warn_mode_logs_and_returns_the_value() {
    let server = MockServer::start_async().await;
    serve(&server, false).await;
    let clock = VirtualClock::new();
    let client = builder(&server.base_url(), &clock)
        .conformance(ConformanceMode::Warn)
        .build()
        .unwrap();
    let buffer = crate::secrets::Buffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(buffer.clone())
        .with_ansi(false)
        .finish();
    let got = {
        let _guard = tracing::subscriber::set_default(subscriber);
        client.domains().get("mdom_1").await.unwrap()
    };
    assert_eq!(got.id, "mdom_1");
    let out = buffer.text();
    assert!(
        out.contains("WARN") && out.contains("does not conform"),
        "{out}"
    );
    assert!(!out.contains(SECRET));
}
