//! The application's tests against `sendmux-mock`: a stubbed answer, a
//! forced error, an expectation that holds and one that fails on purpose.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sendmux_client::{Client, RetryPolicy};
use sendmux_downstream_example::{RegisterError, register_domain};
use sendmux_mock::{ErrorCode, MockServer, ops};
use serde::Deserialize;

/// A client of `server`, with any well-formed root key (the mock gives
/// each key a team of its own).
fn client(server: &MockServer) -> Client {
    Client::builder()
        .api_key("smx_root_downstream")
        .base_url(server.base_url())
        // One attempt per call, so the counts below are the application's.
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap()
}

/// The body the application sends, in the test's own type.
#[derive(Debug, Deserialize)]
struct NewDomain {
    domain: String,
}

#[tokio::test]
async fn a_stubbed_answer_is_what_the_application_sees() {
    let server = MockServer::start().await.unwrap();
    let fixture: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/domain_created.json")).unwrap();
    let stub = server
        .stub(ops::MANAGEMENT_CREATE_DOMAIN, 201, fixture)
        .times(1);

    let registered = register_domain(&client(&server), "shop.example.com")
        .await
        .unwrap();
    assert_eq!(registered.id, "mdom_fixture0000000000000000001");
    assert_eq!(registered.records_to_publish, 6);
    assert_eq!(stub.served(), 1);
    // The stub's answer fits the published document, or verify says so.
    server.verify().unwrap();
}

#[tokio::test]
async fn a_conflict_means_the_name_is_taken_and_a_403_that_it_is_not_allowed() {
    let server = MockServer::start().await.unwrap();
    let client = client(&server);
    server.fail_next(ops::MANAGEMENT_CREATE_DOMAIN, ErrorCode::Conflict, 1);
    let err = register_domain(&client, "shop.example.com")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, RegisterError::AlreadyTaken(name) if name == "shop.example.com"),
        "{err:?}"
    );

    server.fail_next("managementCreateDomain", "insufficient_permissions", 1);
    let err = register_domain(&client, "shop.example.com")
        .await
        .unwrap_err();
    assert!(matches!(err, RegisterError::NotAllowed), "{err:?}");

    // The forced errors are used up: the mock's own handler answers.
    let registered = register_domain(&client, "shop.example.com").await.unwrap();
    assert!(registered.id.starts_with("mdom_"));
}

#[tokio::test]
async fn registering_calls_the_api_once_with_the_name_and_a_key() {
    let server = MockServer::start().await.unwrap();
    server
        .expect(ops::MANAGEMENT_CREATE_DOMAIN)
        .times(1)
        .with_body_field("/domain", "shop.example.com");
    server.expect(ops::MANAGEMENT_LIST_DOMAINS).never();

    register_domain(&client(&server), "shop.example.com")
        .await
        .unwrap();

    server.verify().unwrap();
    let sent = server.received(ops::MANAGEMENT_CREATE_DOMAIN);
    assert!(sent[0].header("idempotency-key").is_some());
    assert_eq!(sent[0].header("authorization"), Some("[redacted]"));
    let bodies: Vec<NewDomain> = server.received_as(ops::MANAGEMENT_CREATE_DOMAIN).unwrap();
    assert_eq!(bodies[0].domain, "shop.example.com");
}

#[tokio::test]
async fn an_expectation_that_fails_says_what_arrived() {
    let server = MockServer::start().await.unwrap();
    // On purpose: the application registers once, not twice.
    server.expect(ops::MANAGEMENT_CREATE_DOMAIN).times(2);

    register_domain(&client(&server), "shop.example.com")
        .await
        .unwrap();

    let report = server.verify().unwrap_err().to_string();
    assert!(
        report.contains(
            "expected exactly 2 calls of managementCreateDomain (POST /domains), got 1 matching"
        ),
        "{report}"
    );
    assert!(
        report.contains("1 call of managementCreateDomain arrived:"),
        "{report}"
    );
    assert!(
        report.contains(r#"1. POST /api/v1/domains -> 201, body {"domain":"shop.example.com"}"#),
        "{report}"
    );
    assert!(!report.contains("smx_root_downstream"), "{report}");
    // `verify` reported it, so dropping the server does not fail the test.
}
