//! Idempotency keys: replay, conflicts, in-flight, expiry.

use std::time::Duration;

use http::Method;
use sendmux_mock::{FaultKind, FaultRule, ManualClock, MockServer};
use serde_json::json;

use crate::harness::{Api, KEY, wait_until};

async fn create_with_key(api: &Api, key: &str, body: serde_json::Value) -> crate::harness::Resp {
    api.call(Method::POST, "/domains")
        .header("idempotency-key", key)
        .json(&body)
        .send()
        .await
}

#[tokio::test]
async fn same_key_and_body_replays_the_original_response() {
    let server = MockServer::start().await.unwrap();
    let api = Api::new(&server);
    let body = json!({ "domain": "mail.acme.com", "mode": "send_only" });
    let first = create_with_key(&api, "k-1", body.clone()).await;
    assert_eq!(first.status, 201);
    // Same fields in another order are the same body.
    let reordered = json!({ "mode": "send_only", "domain": "mail.acme.com" });
    let again = create_with_key(&api, "k-1", reordered).await;
    assert_eq!(again.status, 201);
    assert_eq!(again.body, first.body, "identical body");
    assert_eq!(again.header("location"), first.header("location"));
    assert_eq!(again.header("etag"), first.header("etag"));
    assert_eq!(again.header("x-request-id"), first.header("x-request-id"));
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(server.domain_count(KEY), 1);
    let log = server.requests();
    assert_eq!(log.len(), 2);
    assert!(
        log.iter()
            .all(|r| r.idempotency_key.as_deref() == Some("k-1"))
    );
    assert!(log[1].replayed && !log[0].replayed);

    // Errors produced by the handler are replayed too.
    let dup = create_with_key(&api, "k-2", body.clone()).await;
    dup.assert_error(409, "conflict");
    let dup_again = create_with_key(&api, "k-2", body).await;
    assert_eq!(dup_again.body, dup.body);
}

#[tokio::test]
async fn same_key_with_a_different_body_conflicts() {
    let server = MockServer::start().await.unwrap();
    let api = Api::new(&server);
    create_with_key(&api, "k", json!({ "domain": "a.acme.com" })).await;
    let r = create_with_key(&api, "k", json!({ "domain": "b.acme.com" })).await;
    let v = r.assert_error(409, "idempotency_conflict");
    assert_eq!(v["error"]["param"], "Idempotency-Key");
    assert_eq!(server.domain_count(KEY), 1);
}

#[tokio::test]
async fn keys_are_scoped_per_team() {
    let server = MockServer::start().await.unwrap();
    let a = Api::new(&server);
    let b = Api::with_key(&server, Some("smx_root_b"));
    create_with_key(&a, "k", json!({ "domain": "a.acme.com" })).await;
    let r = create_with_key(&b, "k", json!({ "domain": "b.acme.com" })).await;
    assert_eq!(r.status, 201);
}

#[tokio::test]
async fn same_key_while_in_flight_conflicts() {
    let server = MockServer::builder()
        // Holds the first create long enough to race it; the test never
        // waits for it to end.
        .fault(
            FaultRule::new(FaultKind::Latency { ms: 60_000 }, 1.0)
                .on_operation("managementCreateDomain")
                .times(1),
        )
        .start()
        .await
        .unwrap();
    let api = Api::new(&server);
    let body = json!({ "domain": "mail.acme.com" });
    let slow = {
        let api = api.clone();
        let body = body.clone();
        tokio::spawn(async move { create_with_key(&api, "k", body).await })
    };
    wait_until(|| server.idempotency_in_flight() == 1).await;
    let r = create_with_key(&api, "k", body).await;
    let v = r.assert_error(409, "idempotency_conflict");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("still being processed")
    );
    let r = create_with_key(&api, "k", json!({ "domain": "other.acme.com" })).await;
    r.assert_error(409, "idempotency_conflict");
    assert_eq!(server.domain_count(KEY), 0);
    slow.abort();
}

#[tokio::test]
async fn keys_expire_after_24_hours_on_the_injected_clock() {
    let clock = ManualClock::default();
    let server = MockServer::builder()
        .clock(clock.clone())
        .start()
        .await
        .unwrap();
    let api = Api::new(&server);
    let first = create_with_key(&api, "k", json!({ "domain": "a.acme.com" })).await;
    assert_eq!(first.status, 201);
    clock.advance(Duration::from_secs(24 * 3600 - 1));
    create_with_key(&api, "k", json!({ "domain": "b.acme.com" }))
        .await
        .assert_error(409, "idempotency_conflict");
    let replay = create_with_key(&api, "k", json!({ "domain": "a.acme.com" })).await;
    assert_eq!(replay.body, first.body);
    clock.advance(Duration::from_secs(1));
    // Forgotten: the key is free for a new request.
    let fresh = create_with_key(&api, "k", json!({ "domain": "b.acme.com" })).await;
    assert_eq!(fresh.status, 201);
    assert_ne!(fresh.body, first.body);
    assert_eq!(server.domain_count(KEY), 2);
}

#[tokio::test]
async fn malformed_keys_are_rejected() {
    let server = MockServer::start().await.unwrap();
    let api = Api::new(&server);
    let long = "k".repeat(256);
    let r = create_with_key(&api, &long, json!({ "domain": "a.acme.com" })).await;
    let v = r.assert_error(400, "invalid_parameter");
    assert_eq!(v["error"]["param"], "Idempotency-Key");
    assert_eq!(server.domain_count(KEY), 0);
}
