//! A subscriber installed after calls were already made still sees the
//! spans of later calls: the client's "is anyone listening" shortcut asks
//! tracing each time, and installing a subscriber rebuilds tracing's cached
//! interest. Its own test binary, so nothing else installs a subscriber.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[allow(dead_code)]
#[path = "it/support.rs"]
mod support;

use httpmock::prelude::*;

use support::*;

#[tokio::test]
async fn a_subscriber_installed_after_calls_still_sees_their_spans() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/domains/mdom_1");
            then.status(200)
                .json_body(ok(domain("mdom_1", "mail.acme.com", "pending"), "req_1"));
        })
        .await;
    let (client, _clock) = client(&server);
    // No subscriber yet: the call's callsites are registered as unwatched.
    client.domains().get("mdom_1").await.unwrap();

    let buffer = Buffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(buffer.clone())
        // Only this crate: the in-process test server logs request
        // headers (the key among them) at TRACE.
        .with_env_filter("sendmux_client=trace")
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_ansi(false)
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();
    client.domains().get("mdom_1").await.unwrap();

    let out = buffer.text();
    for expected in [
        "sendmux.call",
        "sendmux.attempt",
        "managementGetDomain",
        "status=200",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
    assert!(!out.contains(SECRET), "{out}");
}
