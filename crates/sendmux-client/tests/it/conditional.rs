//! ETags, 304 as a value, If-Match on writes.

use httpmock::prelude::*;
use sendmux_client::{Conditional, FilterMode, FilterRule, FilterState};
use serde_json::json;

use crate::support::*;

const ETAG: &str = "W/\"a1b2c3\"";

#[tokio::test]
async fn get_returns_the_etag() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/domains/mdom_1")
                .header("accept", "application/json")
                .header_missing("if-none-match");
            then.status(200)
                .header("etag", ETAG)
                .header("x-request-id", "req_get")
                .header("x-ratelimit-limit", "600")
                .header("x-ratelimit-remaining", "599")
                .header("x-ratelimit-reset", "1790000000")
                .json_body(ok(domain("mdom_1", "mail.acme.com", "pending"), "req_get"));
        })
        .await;
    let (client, _clock) = client(&server);
    let got = client.domains().get("mdom_1").await.unwrap();
    mock.assert_async().await;
    assert_eq!(got.etag(), Some(ETAG));
    assert_eq!(got.request_id(), Some("req_get"));
    assert_eq!(got.status(), 200);
    let limit = got.rate_limit().unwrap();
    assert_eq!(
        (limit.limit, limit.remaining, limit.reset),
        (600, 599, 1_790_000_000)
    );
    assert_eq!(
        got.headers()
            .get("x-ratelimit-remaining")
            .map(|v| v.as_bytes()),
        Some(&b"599"[..]),
        "every header stays readable"
    );
    assert_eq!(got.domain, "mail.acme.com");
}

#[tokio::test]
async fn not_modified_is_a_value() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/domains/mdom_1")
                .header("if-none-match", ETAG);
            then.status(304)
                .header("etag", ETAG)
                .header("x-request-id", "req_304");
        })
        .await;
    let (client, clock) = client(&server);
    let answer = client
        .domains()
        .get_if_changed("mdom_1", ETAG)
        .await
        .unwrap();
    mock.assert_calls_async(1).await;
    assert!(clock.sleeps().is_empty());
    assert!(!answer.is_modified());
    assert_eq!(answer.request_id(), Some("req_304"));
    assert_eq!(answer.etag(), Some(ETAG));
    assert!(matches!(answer, Conditional::NotModified(ref r) if r.status() == 304));
}

#[tokio::test]
async fn a_changed_resource_comes_back_modified() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/domains/mdom_1")
                .header("if-none-match", ETAG);
            then.status(200)
                .header("etag", "W/\"new\"")
                .json_body(ok(domain("mdom_1", "mail.acme.com", "verified"), "req_200"));
        })
        .await;
    let (client, _clock) = client(&server);
    let answer = client
        .domains()
        .get_if_changed("mdom_1", ETAG)
        .await
        .unwrap();
    let fresh = answer.modified().unwrap();
    assert_eq!(fresh.etag(), Some("W/\"new\""));
    // No X-Request-Id header: the envelope's copy is used.
    assert_eq!(fresh.request_id(), Some("req_200"));
}

#[tokio::test]
async fn filters_round_trip_with_etags() {
    let server = MockServer::start_async().await;
    let state = json!({"mode": "allowlist", "rules": [
        {"type": "allow", "pattern": "partner.com", "note": "billing"},
        {"type": "deny", "pattern": "spam.example", "note": null}
    ]});
    let get = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/domains/mdom_1/filters")
                .header_missing("if-none-match");
            then.status(200)
                .header("etag", ETAG)
                .json_body(ok(state.clone(), "req_f1"));
        })
        .await;
    let unchanged = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/domains/mdom_1/filters")
                .header("if-none-match", "W/\"new\"");
            then.status(304)
                .header("etag", "W/\"new\"")
                .header("x-request-id", "req_f3");
        })
        .await;
    let put = server
        .mock_async(|when, then| {
            when.method(PUT)
                .path("/domains/mdom_1/filters")
                .header("if-match", ETAG)
                .json_body(json!({"mode": "denylist", "rules": [
                    {"type": "deny", "pattern": "spam.example", "note": "no more"}
                ]}));
            then.status(200).header("etag", "W/\"new\"").json_body(ok(
                json!({"mode": "denylist", "rules": [
                    {"type": "deny", "pattern": "spam.example", "note": "no more"}
                ]}),
                "req_f2",
            ));
        })
        .await;
    let (client, _clock) = client(&server);
    let domains = client.domains();

    let current = domains.filters("mdom_1").await.unwrap();
    assert_eq!(current.mode, FilterMode::Allowlist);
    assert_eq!(
        current.rules[0],
        FilterRule::allow("partner.com").with_note("billing")
    );
    assert_eq!(current.rules[1], FilterRule::deny("spam.example"));

    let new_state = FilterState::new(
        FilterMode::Denylist,
        [FilterRule::deny("spam.example").with_note("no more")],
    );
    let saved = domains
        .set_filters("mdom_1", new_state.clone())
        .if_match(current.etag().unwrap())
        .await
        .unwrap();
    assert_eq!(*saved, new_state);
    assert_eq!(saved.etag(), Some("W/\"new\""));

    let again = domains
        .filters_if_changed("mdom_1", saved.etag().unwrap())
        .await
        .unwrap();
    assert!(!again.is_modified());
    get.assert_calls_async(1).await;
    put.assert_calls_async(1).await;
    unchanged.assert_calls_async(1).await;
}

#[tokio::test]
async fn upgrade_sends_if_match_and_the_only_mode() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method("PATCH")
                .path("/domains/mdom_1")
                .header("if-match", ETAG)
                .json_body(json!({"mode": "send_receive"}));
            then.status(200)
                .header("etag", "W/\"up\"")
                .json_body(ok(domain("mdom_1", "a.com", "pending"), "req_up"));
        })
        .await;
    let bare = server
        .mock_async(|when, then| {
            when.method("PATCH")
                .path("/domains/mdom_2")
                .header_missing("if-match");
            then.status(200)
                .json_body(ok(domain("mdom_2", "b.com", "pending"), "req_up2"));
        })
        .await;
    let (client, _clock) = client(&server);
    let up = client
        .domains()
        .upgrade("mdom_1")
        .if_match(ETAG)
        .await
        .unwrap();
    assert_eq!(up.etag(), Some("W/\"up\""));
    client.domains().upgrade("mdom_2").await.unwrap();
    mock.assert_async().await;
    bare.assert_async().await;
}

#[tokio::test]
async fn a_stale_if_match_is_a_conflict_error() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method("PATCH").path("/domains/mdom_1");
            then.status(409)
                .json_body(api_error("conflict", "stale etag", false, "req_stale"));
        })
        .await;
    let (client, _clock) = client(&server);
    let err = client
        .domains()
        .upgrade("mdom_1")
        .if_match(ETAG)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&sendmux_client::ErrorCode::Conflict));
    assert_eq!(err.request_id(), Some("req_stale"));
    assert_eq!(err.attempts(), 1);
}
