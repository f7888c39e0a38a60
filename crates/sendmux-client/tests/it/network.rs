//! Transport failures: not sent, maybe sent, timeouts.

use std::time::Duration;

use sendmux_client::clock::VirtualClock;
use sendmux_client::{Error, IdempotencyPolicy};
use tokio::net::TcpListener;

use crate::support::*;

#[tokio::test]
async fn a_dropped_connection_after_writing_is_not_retried_without_a_key() {
    let (base, requests) = raw_server(vec![
        Conn::DropAfterRequest,
        Conn::Respond(200, ok(verify_result("pending"), "req_late")),
    ])
    .await;
    let clock = VirtualClock::new();
    let client = builder(&base, &clock).build().unwrap();

    let err = client.domains().verify("mdom_1").await.unwrap_err();

    assert_eq!(
        requests.lock().unwrap().len(),
        1,
        "a POST without a key must not be repeated"
    );
    assert!(requests.lock().unwrap()[0].starts_with("POST /domains/mdom_1/verify HTTP/1.1"));
    match &err {
        Error::MaybeSent {
            timeout,
            idempotent,
            attempts,
            ..
        } => {
            assert!(!timeout);
            assert!(!idempotent);
            assert_eq!(*attempts, 1);
        }
        other => panic!("expected MaybeSent, got {other:?}"),
    }
    assert!(!err.is_retryable());
    assert!(!err.is_not_sent());
    assert!(std::error::Error::source(&err).is_some());
}

#[tokio::test]
async fn a_create_without_a_key_is_not_retried_either() {
    let (base, requests) = raw_server(vec![Conn::DropAfterRequest, Conn::DropAfterRequest]).await;
    let clock = VirtualClock::new();
    let client = builder(&base, &clock)
        .idempotency(IdempotencyPolicy::CallerOnly)
        .build()
        .unwrap();
    let err = client.domains().create("mail.acme.com").await.unwrap_err();
    assert!(matches!(err, Error::MaybeSent { .. }), "{err:?}");
    let requests = requests.lock().unwrap();
    assert_eq!(requests.len(), 1);
    assert_eq!(raw_header(&requests[0], "idempotency-key"), None);
}

#[tokio::test]
async fn a_dropped_connection_is_retried_when_the_call_has_a_key() {
    let (base, requests) = raw_server(vec![
        Conn::DropAfterRequest,
        Conn::Respond(
            201,
            ok(domain("mdom_1", "mail.acme.com", "pending"), "req_2"),
        ),
    ])
    .await;
    let clock = VirtualClock::new();
    let client = builder(&base, &clock).build().unwrap();

    let created = client.domains().create("mail.acme.com").await.unwrap();

    assert_eq!(created.attempts(), 2);
    let requests = requests.lock().unwrap();
    assert_eq!(requests.len(), 2);
    let first = raw_header(&requests[0], "idempotency-key").unwrap();
    assert_eq!(
        raw_header(&requests[1], "idempotency-key").as_deref(),
        Some(first.as_str())
    );
    assert_eq!(clock.sleeps().len(), 1);
}

#[tokio::test]
async fn a_refused_connection_is_not_sent_and_retried_for_any_call() {
    // Bind, then free the port: connecting to it is refused.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let clock = VirtualClock::new();
    let client = builder(&base, &clock).build().unwrap();

    let err = client.domains().verify("mdom_1").await.unwrap_err();

    match &err {
        Error::NotSent { attempts, .. } => assert_eq!(*attempts, 3),
        other => panic!("expected NotSent, got {other:?}"),
    }
    assert!(err.is_not_sent() && err.is_retryable());
    assert_eq!(clock.sleeps().len(), 2);
}

#[tokio::test]
async fn a_timeout_is_maybe_sent() {
    let (base, requests) = raw_server(vec![Conn::Hang, Conn::Hang]).await;
    let clock = VirtualClock::new();
    let client = builder(&base, &clock)
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();

    let err = client.domains().verify("mdom_1").await.unwrap_err();

    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(err.attempts(), 1);
    assert_eq!(requests.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_timed_out_get_is_retried() {
    let (base, requests) = raw_server(vec![
        Conn::Hang,
        Conn::Respond(200, ok(domain("mdom_1", "a.com", "pending"), "req_ok")),
    ])
    .await;
    let clock = VirtualClock::new();
    let client = builder(&base, &clock)
        .timeout(Duration::from_millis(1000))
        .build()
        .unwrap();
    let got = client.domains().get("mdom_1").await.unwrap();
    assert_eq!(got.attempts(), 2);
    assert_eq!(got.request_id(), Some("req_raw"));
    assert_eq!(requests.lock().unwrap().len(), 2);
}
