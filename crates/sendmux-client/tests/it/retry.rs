//! Retry policy: server waits, verdicts, budget, in-flight keys, deadlines.

use std::time::{Duration, UNIX_EPOCH};

use httpmock::prelude::*;
use sendmux_client::clock::{Clock, VirtualClock};
use sendmux_client::{Error, ErrorCode, RetryBudget, RetryPolicy};

use crate::support::*;

fn created() -> Reply {
    Reply::json(
        201,
        &ok(domain("mdom_1", "mail.acme.com", "pending"), "req_created"),
    )
}

#[tokio::test]
async fn retry_after_is_honoured_then_success() {
    let server = MockServer::start_async().await;
    let busy = Reply::json(
        503,
        &api_error("service_unavailable", "busy", true, "req_busy"),
    )
    .header("retry-after", 1);
    let (log, responder) = script(vec![busy, created()]);
    let mock = server
        .mock_async(|when, then| {
            when.method(POST).path("/domains");
            then.respond_with(responder);
        })
        .await;
    let (client, clock) = client(&server);

    let created = client.domains().create("mail.acme.com").await.unwrap();

    mock.assert_calls_async(2).await;
    assert_eq!(log.len(), 2);
    assert_eq!(created.id, "mdom_1");
    assert_eq!(created.attempts(), 2);
    assert_eq!(created.request_id(), Some("req_created"));
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(1)]);
    assert!(clock.elapsed() >= Duration::from_secs(1));
}

#[tokio::test]
async fn body_retryable_false_overrides_a_5xx() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET).path("/domains/mdom_1");
            then.status(500)
                .header("x-request-id", "req_500")
                .json_body(api_error(
                    "internal_error",
                    "broken for good",
                    false,
                    "req_500",
                ));
        })
        .await;
    let (client, clock) = client(&server);
    let err = client.domains().get("mdom_1").await.unwrap_err();
    mock.assert_calls_async(1).await;
    assert!(clock.sleeps().is_empty());
    assert_eq!(err.status(), Some(500));
    assert_eq!(err.code(), Some(&ErrorCode::InternalError));
    assert!(!err.is_retryable());
    assert_eq!(err.attempts(), 1);
    assert_eq!(err.request_id(), Some("req_500"));
}

#[tokio::test]
async fn body_retryable_true_overrides_a_4xx() {
    let server = MockServer::start_async().await;
    let conflict = Reply::json(409, &api_error("conflict", "changing", true, "req_409"));
    let (log, responder) = script(vec![
        conflict,
        Reply::json(200, &ok(verify_result("pending"), "req_ok")),
    ]);
    server
        .mock_async(|when, then| {
            when.method(POST).path("/domains/mdom_1/verify");
            then.respond_with(responder);
        })
        .await;
    let (client, clock) = client(&server);
    client.domains().verify("mdom_1").await.unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(clock.sleeps().len(), 1);
    assert!(
        clock.sleeps()[0] <= Duration::from_millis(100),
        "first backoff is capped by the base"
    );
}

#[tokio::test]
async fn rate_limit_reset_is_waited_for_when_retry_after_is_absent() {
    let server = MockServer::start_async().await;
    let clock = VirtualClock::new();
    let now = clock
        .unix_now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let limited = Reply::json(
        429,
        &api_error("rate_limit_exceeded", "slow down", true, "req_429"),
    )
    .header("x-ratelimit-limit", 600)
    .header("x-ratelimit-remaining", 0)
    .header("x-ratelimit-reset", now + 5);
    let (log, responder) = script(vec![
        limited,
        Reply::json(200, &ok(domain("mdom_1", "a.com", "pending"), "req_ok")),
    ]);
    server
        .mock_async(|when, then| {
            when.method(GET).path("/domains/mdom_1");
            then.respond_with(responder);
        })
        .await;
    let client = builder(&server.base_url(), &clock).build().unwrap();
    let got = client.domains().get("mdom_1").await.unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(got.attempts(), 2);
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(5)]);
}

#[tokio::test]
async fn retry_after_above_the_ceiling_fails_at_once_with_the_value() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(DELETE).path("/domains/mdom_1");
            then.status(503)
                .header("retry-after", "3600")
                .header("x-request-id", "req_paused")
                .json_body(api_error(
                    "service_unavailable",
                    "deletions paused",
                    true,
                    "req_paused",
                ));
        })
        .await;
    let clock = VirtualClock::new();
    let client = builder(&server.base_url(), &clock)
        .retry_policy(RetryPolicy::default().with_max_retry_after(Duration::from_secs(30)))
        .build()
        .unwrap();
    let err = client.domains().delete("mdom_1").await.unwrap_err();
    mock.assert_calls_async(1).await;
    assert!(
        clock.sleeps().is_empty(),
        "must not sleep: {:?}",
        clock.sleeps()
    );
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3600)));
    assert!(err.is_retryable());
    assert_eq!(err.attempts(), 1);
    assert!(err.to_string().contains("retry after 3600s"), "{err}");
}

#[tokio::test]
async fn the_budget_stops_retries_and_refills_on_success() {
    let server = MockServer::start_async().await;
    let failing = server
        .mock_async(|when, then| {
            when.method(POST).path("/domains/mdom_fail/verify");
            then.status(503)
                .json_body(api_error("service_unavailable", "down", true, "req_down"));
        })
        .await;
    let healthy = server
        .mock_async(|when, then| {
            when.method(GET).path("/domains/mdom_ok");
            then.status(200)
                .json_body(ok(domain("mdom_ok", "a.com", "verified"), "req_ok"));
        })
        .await;
    let clock = VirtualClock::new();
    let policy = RetryPolicy::default()
        .with_max_attempts(10)
        .with_budget(Some(
            RetryBudget::new(10)
                .with_retry_cost(5)
                .with_success_refill(5),
        ));
    let client = builder(&server.base_url(), &clock)
        .retry_policy(policy)
        .build()
        .unwrap();
    let domains = client.domains();

    // 10 tokens pay for two retries: three attempts.
    assert_eq!(domains.verify("mdom_fail").await.unwrap_err().attempts(), 3);
    assert_eq!(client.retry_budget_available(), Some(0));
    // Spent: no retry at all.
    assert_eq!(domains.verify("mdom_fail").await.unwrap_err().attempts(), 1);
    failing.assert_calls_async(4).await;

    // A success refills 5 tokens: one retry again.
    domains.get("mdom_ok").await.unwrap();
    healthy.assert_calls_async(1).await;
    assert_eq!(client.retry_budget_available(), Some(5));
    assert_eq!(domains.verify("mdom_fail").await.unwrap_err().attempts(), 2);
    failing.assert_calls_async(6).await;
    // Clones share the bucket.
    assert_eq!(client.clone().retry_budget_available(), Some(0));
}

#[tokio::test]
async fn idempotency_conflict_on_a_retry_means_in_flight() {
    let server = MockServer::start_async().await;
    let busy = Reply::json(
        503,
        &api_error("service_unavailable", "busy", true, "req_1"),
    );
    let in_flight = Reply::json(
        409,
        &api_error("idempotency_conflict", "still running", false, "req_2"),
    );
    let (log, responder) = script(vec![busy, in_flight, created()]);
    server
        .mock_async(|when, then| {
            when.method(POST).path("/domains");
            then.respond_with(responder);
        })
        .await;
    let (client, clock) = client(&server);
    let created = client.domains().create("mail.acme.com").await.unwrap();
    assert_eq!(created.attempts(), 3);
    assert_eq!(log.len(), 3);
    let keys = log.header_values("idempotency-key");
    assert!(keys.iter().all(|k| k.is_some() && *k == keys[0]));
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), 2);
    // The in-flight wait never collapses to zero (equal jitter, retry 2: 100..=200 ms).
    assert!(sleeps[1] >= Duration::from_millis(100), "{sleeps:?}");
}

#[tokio::test]
async fn idempotency_conflict_on_a_first_attempt_is_an_error() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/domains")
                .header("idempotency-key", "reused-key");
            then.status(409)
                .header("x-request-id", "req_conf")
                .json_body(api_error(
                    "idempotency_conflict",
                    "key used with another body",
                    false,
                    "req_conf",
                ));
        })
        .await;
    let (client, clock) = client(&server);
    let err = client
        .domains()
        .create("mail.acme.com")
        .idempotency_key("reused-key")
        .await
        .unwrap_err();
    mock.assert_calls_async(1).await;
    assert!(clock.sleeps().is_empty());
    assert_eq!(err.code(), Some(&ErrorCode::IdempotencyConflict));
    assert_eq!(err.status(), Some(409));
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn undecodable_gateway_errors_are_retried_then_reported() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET).path("/domains/mdom_1");
            then.status(502)
                .header("x-request-id", "req_gw")
                .body(format!("<html>{}</html>", "x".repeat(2000)));
        })
        .await;
    let (client, clock) = client(&server);
    let err = client.domains().get("mdom_1").await.unwrap_err();
    mock.assert_calls_async(3).await;
    assert_eq!(clock.sleeps().len(), 2);
    match &err {
        Error::Undecodable {
            status,
            request_id,
            snippet,
            attempts,
            ..
        } => {
            assert_eq!(*status, Some(502));
            assert_eq!(request_id.as_deref(), Some("req_gw"));
            assert!(snippet.starts_with("<html>"));
            assert!(snippet.len() <= 520, "{}", snippet.len());
            assert_eq!(*attempts, 3);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(std::error::Error::source(&err).is_some());
}

#[tokio::test]
async fn the_overall_deadline_stops_waiting() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET).path("/domains/mdom_1");
            then.status(503)
                .header("retry-after", "20")
                .json_body(api_error("service_unavailable", "busy", true, "req_busy"));
        })
        .await;
    let clock = VirtualClock::new();
    let policy = RetryPolicy::default()
        .with_max_attempts(10)
        .with_deadline(Some(Duration::from_secs(45)));
    let client = builder(&server.base_url(), &clock)
        .retry_policy(policy)
        .build()
        .unwrap();
    let err = client.domains().get("mdom_1").await.unwrap_err();
    // Waits at 0 s and 20 s fit; a third would end at 60 s, past 45 s.
    mock.assert_calls_async(3).await;
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(20); 2]);
    assert_eq!(err.attempts(), 3);
}

#[tokio::test]
async fn policy_none_never_retries() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET).path("/domains/mdom_1");
            then.status(503)
                .json_body(api_error("service_unavailable", "busy", true, "req_busy"));
        })
        .await;
    let clock = VirtualClock::new();
    let client = builder(&server.base_url(), &clock)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let err = client.domains().get("mdom_1").await.unwrap_err();
    mock.assert_calls_async(1).await;
    assert!(err.is_retryable());
    assert!(clock.sleeps().is_empty());
}
