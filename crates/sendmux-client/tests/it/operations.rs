//! The remaining Domains operations, and waiting for verification.

use std::time::Duration;

use httpmock::prelude::*;
use sendmux_client::{Error, VerificationStatus};
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn create_sends_exactly_the_documented_request() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/domains")
                .header("authorization", BEARER)
                .header("accept", "application/json")
                .header("content-type", "application/json")
                // Only headers the API defines (and the agent) are sent.
                .header_missing("api-version")
                .json_body(json!({"domain": "mail.acme.com"}));
            then.status(201)
                .header("location", "/api/v1/domains/mdom_1")
                .header("x-request-id", "req_c")
                .json_body(ok(domain("mdom_1", "mail.acme.com", "pending"), "req_c"));
        })
        .await;
    let (client, _clock) = client(&server);
    let created = client
        .domains()
        .create("mail.acme.com")
        .send()
        .await
        .unwrap();
    mock.assert_async().await;
    assert_eq!(created.status(), 201);
    assert_eq!(created.dns_records.dkim.len(), 1);
    assert_eq!(created.verification_status, VerificationStatus::Pending);
}

#[tokio::test]
async fn delete_verify_and_zone_file() {
    let server = MockServer::start_async().await;
    let delete = server
        .mock_async(|when, then| {
            when.method(DELETE).path("/domains/mdom_1");
            then.status(200)
                .json_body(ok(json!({"deleted": true, "id": "mdom_1"}), "req_d"));
        })
        .await;
    let verify = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/domains/mdom_1/verify")
                .header_missing("idempotency-key");
            then.status(200)
                .json_body(ok(verify_result("failed"), "req_v"));
        })
        .await;
    let zone = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/domains/mdom_1/zone-file")
                .header("accept", "text/plain");
            then.status(200)
                .header("content-type", "text/plain")
                .header("x-request-id", "req_z")
                .body("mail.acme.com. 3600 IN MX 10 mail.sendmux.ai.\n");
        })
        .await;
    let (client, _clock) = client(&server);
    let domains = client.domains();

    let gone = domains.delete("mdom_1").await.unwrap();
    assert!(gone.deleted);
    assert_eq!(gone.id, "mdom_1");
    let checked = domains.verify("mdom_1").await.unwrap();
    assert_eq!(checked.status, VerificationStatus::Failed);
    assert!(!checked.checks.verification_txt);
    let text = domains.zone_file("mdom_1").await.unwrap();
    assert!(text.starts_with("mail.acme.com. 3600 IN MX"));
    assert_eq!(text.request_id(), Some("req_z"));

    let err = domains
        .zone_file("mdom_1")
        .max_response_bytes(10)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Undecodable {
                status: Some(200),
                ..
            }
        ),
        "{err:?}"
    );
    delete.assert_async().await;
    verify.assert_async().await;
    zone.assert_calls_async(2).await;
}

#[tokio::test]
async fn wait_until_verified_polls_then_returns_the_domain() {
    let server = MockServer::start_async().await;
    let pending = Reply::json(200, &ok(verify_result("pending"), "req_v1"));
    let verified = Reply::json(200, &ok(verify_result("verified"), "req_v2"));
    let (log, responder) = script(vec![pending.clone(), pending, verified]);
    server
        .mock_async(|when, then| {
            when.method(POST).path("/domains/mdom_1/verify");
            then.respond_with(responder);
        })
        .await;
    let get = server
        .mock_async(|when, then| {
            when.method(GET).path("/domains/mdom_1");
            then.status(200)
                .header("etag", "W/\"v\"")
                .json_body(ok(domain("mdom_1", "a.com", "verified"), "req_g"));
        })
        .await;
    let (client, clock) = client(&server);
    let domain = client
        .domains()
        .wait_until_verified("mdom_1", Duration::from_secs(600), Duration::from_secs(15))
        .await
        .unwrap();
    assert_eq!(log.len(), 3);
    get.assert_async().await;
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(15); 2]);
    assert_eq!(domain.verification_status, VerificationStatus::Verified);
    assert_eq!(domain.mode, sendmux_client::DomainMode::SendReceive);
    assert_eq!(domain.etag(), Some("W/\"v\""));
}

#[tokio::test]
async fn wait_until_verified_times_out_with_the_last_state() {
    let server = MockServer::start_async().await;
    let polls = server
        .mock_async(|when, then| {
            when.method(POST).path("/domains/mdom_1/verify");
            then.status(200)
                .json_body(ok(verify_result("failed"), "req_v"));
        })
        .await;
    let (client, clock) = client(&server);
    let err = client
        .domains()
        .wait_until_verified("mdom_1", Duration::from_secs(60), Duration::from_secs(25))
        .await
        .unwrap_err();
    // Polls at 0, 25 and 50 s; the next would pass 60 s.
    polls.assert_calls_async(3).await;
    assert_eq!(clock.sleeps().len(), 2);
    match &err {
        Error::WaitTimeout {
            domain_id,
            last_status,
            last,
            waited,
        } => {
            assert_eq!(domain_id, "mdom_1");
            assert_eq!(last_status, &Some(VerificationStatus::Failed));
            assert!(last.as_ref().is_some_and(|l| !l.checks.verification_txt));
            assert_eq!(*waited, Duration::from_secs(50));
        }
        other => panic!("expected WaitTimeout, got {other:?}"),
    }
    assert!(err.to_string().contains("last status: failed"), "{err}");
}

#[tokio::test]
async fn the_low_level_client_is_reachable_and_authenticated() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/domains/mdom_1")
                .header("authorization", BEARER);
            then.status(200)
                .json_body(ok(domain("mdom_1", "a.com", "pending"), "req_low"));
        })
        .await;
    let (client, _clock) = client(&server);
    let raw = client
        .api()
        .management_get_domain()
        .public_id("mdom_1")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.into_inner().data.id, "mdom_1");
    mock.assert_async().await;
}
