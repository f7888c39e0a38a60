//! What the client writes to `tracing`: call and attempt spans with their
//! fields, conformance warnings, and never the key.
//!
//! Its own test binary, with one global subscriber installed before any
//! call: tracing caches each callsite's interest process-wide, and a test
//! that installed a thread-local subscriber while other tests ran without
//! one could find its spans cached as uninteresting. Tests here run one at
//! a time and read the shared capture.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[allow(dead_code)]
#[path = "it/support.rs"]
mod support;

use std::sync::OnceLock;

use httpmock::prelude::*;
#[cfg(feature = "conformance")]
use sendmux_client::clock::VirtualClock;
#[cfg(feature = "conformance")]
use sendmux_client::conformance::ConformanceMode;
use tokio::sync::{Mutex, MutexGuard};
use tracing_subscriber::fmt::format::FmtSpan;

use support::*;

/// The global capture, installed once, and the lock that runs tests one at
/// a time over it; the capture is cleared for each test.
async fn capture() -> (MutexGuard<'static, ()>, Buffer) {
    static SERIAL: Mutex<()> = Mutex::const_new(());
    static BUFFER: OnceLock<Buffer> = OnceLock::new();
    let guard = SERIAL.lock().await;
    let buffer = BUFFER
        .get_or_init(|| {
            let buffer = Buffer::default();
            let subscriber = tracing_subscriber::fmt()
                .with_writer(buffer.clone())
                // Only this crate: the in-process test server logs request
                // headers (the key among them) at TRACE.
                .with_env_filter("sendmux_client=trace")
                .with_span_events(FmtSpan::CLOSE)
                .with_ansi(false)
                .finish();
            tracing::subscriber::set_global_default(subscriber).unwrap();
            buffer
        })
        .clone();
    buffer.clear();
    (guard, buffer)
}

#[tokio::test]
async fn traces_carry_call_and_attempt_fields_but_not_the_key() {
    let server = MockServer::start_async().await;
    let busy = Reply::json(
        503,
        &api_error("service_unavailable", "busy", true, "req_busy"),
    )
    .header("retry-after", 2);
    let done = Reply::json(
        201,
        &ok(domain("mdom_1", "mail.acme.com", "pending"), "req_created"),
    );
    let (_log, responder) = script(vec![busy, done]);
    server
        .mock_async(|when, then| {
            when.method(POST).path("/domains");
            then.respond_with(responder);
        })
        .await;
    let (client, _clock) = client(&server);

    let (_serial, buffer) = capture().await;
    client.domains().create("mail.acme.com").await.unwrap();
    let out = buffer.text();
    assert!(!out.contains(SECRET), "key leaked into traces:\n{out}");
    assert!(
        !out.to_ascii_lowercase().contains("bearer"),
        "auth header leaked:\n{out}"
    );
    for expected in [
        "sendmux.call",
        "sendmux.attempt",
        "managementCreateDomain",
        "attempt=1",
        "attempt=2",
        "status=503",
        "status=201",
        "req_busy",
        "req_created",
        "retry_delay_ms=2000",
        "elapsed_ms=",
        "attempts=2",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
}

#[cfg(feature = "conformance")]
#[tokio::test]
async fn warn_mode_logs_and_returns_the_value() {
    let server = MockServer::start_async().await;
    serve_domain(&server, false).await;
    let clock = VirtualClock::new();
    let client = builder(&server.base_url(), &clock)
        .conformance(ConformanceMode::Warn)
        .build()
        .unwrap();
    let (_serial, buffer) = capture().await;
    let got = client.domains().get("mdom_1").await.unwrap();
    assert_eq!(got.id, "mdom_1");
    let out = buffer.text();
    assert!(
        out.contains("WARN") && out.contains("does not conform"),
        "{out}"
    );
    assert!(!out.contains(SECRET));
}
