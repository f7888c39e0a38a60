//! Automatic and caller-given idempotency keys.

use httpmock::prelude::*;
use sendmux_client::clock::VirtualClock;
use sendmux_client::{DomainMode, IdempotencyKey, IdempotencyPolicy};
use serde_json::json;

use crate::support::*;

fn created() -> Reply {
    Reply::json(
        201,
        &ok(domain("mdom_1", "mail.acme.com", "pending"), "req_created"),
    )
    .header("location", "/api/v1/domains/mdom_1")
}

fn unavailable() -> Reply {
    Reply::json(
        503,
        &api_error("service_unavailable", "try again", true, "req_busy"),
    )
}

#[tokio::test]
async fn one_generated_key_is_reused_by_every_attempt() {
    let server = MockServer::start_async().await;
    let (log, responder) = script(vec![unavailable(), unavailable(), created()]);
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/domains")
                .header("authorization", BEARER)
                .header("content-type", "application/json")
                .header_exists("idempotency-key")
                .json_body(json!({"domain": "mail.acme.com", "mode": "send_only"}));
            then.respond_with(responder);
        })
        .await;
    let (client, _clock) = client(&server);

    let created = client
        .domains()
        .create("mail.acme.com")
        .mode(DomainMode::SendOnly)
        .await
        .unwrap();

    mock.assert_calls_async(3).await;
    assert_eq!(created.attempts(), 3);
    assert_eq!(created.location(), Some("/api/v1/domains/mdom_1"));
    let keys: Vec<String> = log
        .header_values("idempotency-key")
        .into_iter()
        .map(Option::unwrap)
        .collect();
    assert_eq!(keys.len(), 3);
    assert!(keys.iter().all(|k| k == &keys[0]), "{keys:?}");
    let key = IdempotencyKey::new(keys[0].clone()).unwrap();
    assert!(key.is_generated(), "{key:?}");
    assert!(keys[0].starts_with(IdempotencyKey::AUTO_PREFIX));
}

#[tokio::test]
async fn two_calls_get_two_keys() {
    let server = MockServer::start_async().await;
    let (log, responder) = script(vec![created()]);
    server
        .mock_async(|when, then| {
            when.method(POST).path("/domains");
            then.respond_with(responder);
        })
        .await;
    let (client, _clock) = client(&server);
    client.domains().create("mail.acme.com").await.unwrap();
    client.domains().create("mail.acme.com").await.unwrap();
    let keys = log.header_values("idempotency-key");
    assert_eq!(keys.len(), 2);
    assert!(keys[0].is_some() && keys[1].is_some());
    assert_ne!(keys[0], keys[1]);
}

#[tokio::test]
async fn the_callers_key_is_sent_on_every_attempt() {
    let server = MockServer::start_async().await;
    let (log, responder) = script(vec![unavailable(), created()]);
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/domains")
                .header("idempotency-key", "create-acme-2026-11-27")
                .json_body(json!({"domain": "mail.acme.com"}));
            then.respond_with(responder);
        })
        .await;
    let (client, _clock) = client(&server);
    client
        .domains()
        .create("mail.acme.com")
        .idempotency_key("create-acme-2026-11-27")
        .send()
        .await
        .unwrap();
    mock.assert_calls_async(2).await;
    assert_eq!(log.len(), 2);
}

#[tokio::test]
async fn caller_only_policy_sends_no_key_unless_given() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/domains")
                .header_missing("idempotency-key");
            then.status(201)
                .header("content-type", "application/json")
                .json_body(ok(domain("mdom_1", "mail.acme.com", "pending"), "req_1"));
        })
        .await;
    let clock = VirtualClock::new();
    let client = builder(&server.base_url(), &clock)
        .idempotency(IdempotencyPolicy::CallerOnly)
        .build()
        .unwrap();
    client.domains().create("mail.acme.com").await.unwrap();
    mock.assert_async().await;
}
