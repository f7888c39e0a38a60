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
