//! Per-key fixed-window rate limits: root keys and mailbox keys each have
//! their published limit, and every key a window of its own.

use std::time::Duration;

use sendmux_mock::{ManualClock, MockServer};

use crate::harness::Api;

#[tokio::test]
async fn limit_remaining_reset_and_429() {
    let clock = ManualClock::at_unix(1_800_000_010);
    let server = MockServer::builder()
        .clock(clock.clone())
        .rate_limit(3, 60)
        .start()
        .await
        .unwrap();
    let api = Api::new(&server);
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let r = api.get("/domains").await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("x-ratelimit-limit"), Some("3"));
        // Window [1_800_000_000, 1_800_000_060).
        assert_eq!(r.header("x-ratelimit-reset"), Some("1800000060"));
        remaining.push(r.header("x-ratelimit-remaining").unwrap().to_owned());
    }
    assert_eq!(remaining, ["2", "1", "0"]);
    let r = api.get("/domains").await;
    let v = r.assert_error(429, "rate_limit_exceeded");
    assert_eq!(v["error"]["retryable"], true);
    assert_eq!(r.header("retry-after"), Some("50"));
    assert_eq!(r.header("x-ratelimit-remaining"), Some("0"));

    // Another key has its own window.
    let other = Api::with_key(&server, Some("smx_root_other"));
    assert_eq!(other.get("/domains").await.status, 200);

    clock.advance(Duration::from_secs(50));
    let r = api.get("/domains").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-ratelimit-remaining"), Some("2"));
}

#[tokio::test]
async fn default_is_600_per_minute() {
    let server = MockServer::start().await.unwrap();
    let r = Api::new(&server).get("/domains").await;
    assert_eq!(r.header("x-ratelimit-limit"), Some("600"));
    assert_eq!(r.header("x-ratelimit-remaining"), Some("599"));
}

#[tokio::test]
async fn mailbox_keys_have_their_own_limit_and_every_key_its_own_window() {
    let clock = ManualClock::at_unix(1_800_000_010);
    let server = MockServer::builder()
        .clock(clock.clone())
        .rate_limit(2, 60)
        .mailbox_rate_limit(3, 60)
        .start()
        .await
        .unwrap();
    let root = Api::new(&server);
    for _ in 0..2 {
        assert_eq!(root.get("/domains").await.status, 200);
    }
    root.get("/domains")
        .await
        .assert_error(429, "rate_limit_exceeded");

    // A mailbox key counts against the mailbox limit, in one window for
    // both listeners: the Mailbox API on the main port...
    let a = Api::with_key(&server, Some("smx_mbx_a"));
    let r = a.get("/mailbox/me").await;
    assert_eq!(r.status, 404, "a lenient key has no mailbox");
    assert_eq!(r.header("x-ratelimit-limit"), Some("3"));
    assert_eq!(r.header("x-ratelimit-remaining"), Some("2"));
    // ...and the Sending API on its own.
    let a_sending = Api::sending(&server, Some("smx_mbx_a"));
    let attachment = "/emails/attachments/att_000000000000000000000000";
    let r = a_sending.get(attachment).await;
    assert_ne!(r.status, 429);
    assert_eq!(r.header("x-ratelimit-remaining"), Some("1"));
    assert_ne!(a_sending.get(attachment).await.status, 429);
    let r = a_sending.get(attachment).await;
    r.assert_error(429, "rate_limit_exceeded");
    assert_eq!(r.header("retry-after"), Some("50"));

    // Another mailbox key has a window of its own.
    let b = Api::sending(&server, Some("smx_agent_b"));
    let r = b.get(attachment).await;
    assert_ne!(r.status, 429);
    assert_eq!(r.header("x-ratelimit-remaining"), Some("2"));

    // The admin API changes the mailbox limit alone.
    let http = reqwest::Client::new();
    let put = http
        .put(format!("{}/rate_limit/mailbox", server.admin_url()))
        .body(r#"{"limit": 10, "window_secs": 60}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(put.status().as_u16(), 200);
    let r = b.get(attachment).await;
    assert_eq!(r.header("x-ratelimit-limit"), Some("10"));
    assert_eq!(r.header("x-ratelimit-remaining"), Some("8"));
    let root_limit: serde_json::Value = http
        .get(format!("{}/rate_limit", server.admin_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(root_limit["limit"], 2);

    // Windows roll over for every key.
    clock.advance(Duration::from_secs(50));
    assert_eq!(
        a_sending
            .get(attachment)
            .await
            .header("x-ratelimit-remaining"),
        Some("9")
    );
    assert_eq!(root.get("/domains").await.status, 200);
}

#[tokio::test]
async fn mailbox_keys_default_to_1800_per_minute() {
    let server = MockServer::start().await.unwrap();
    let r = Api::with_key(&server, Some("smx_mbx_default"))
        .get("/mailbox/me")
        .await;
    assert_eq!(r.header("x-ratelimit-limit"), Some("1800"));
    assert_eq!(r.header("x-ratelimit-remaining"), Some("1799"));
}
