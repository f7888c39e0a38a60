//! Per-key fixed-window rate limits.

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
