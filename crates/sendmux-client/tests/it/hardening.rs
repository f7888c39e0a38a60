//! Hostile and unlucky cases: redirects, credentials in the base URL,
//! deadlines that must bound what runs under them, and a maybe-sent create
//! that says how to finish it safely.

use std::time::Duration;

use httpmock::prelude::*;
use sendmux_client::clock::VirtualClock;
use sendmux_client::{Client, Error, IdempotencyPolicy, RetryPolicy};

use crate::support::*;

/// A redirect is an error naming the status and the target; the second hop
/// receives nothing, neither the body nor the idempotency key.
#[tokio::test]
async fn redirects_are_not_followed() {
    let elsewhere = MockServer::start_async().await;
    let catch_all = elsewhere
        .mock_async(|when, then| {
            when.any_request();
            then.status(201).json_body(ok(
                domain("mdom_x", "mail.acme.com", "pending"),
                "req_elsewhere",
            ));
        })
        .await;
    let server = MockServer::start_async().await;
    let target = format!("{}/domains", elsewhere.base_url());
    for (status, is_post) in [(307u16, true), (302, true), (301, false)] {
        let target = target.clone();
        let hop = server
            .mock_async(|when, then| {
                when.method(if is_post { POST } else { GET });
                then.status(status)
                    .header("location", &target)
                    .header("x-request-id", "req_hop");
            })
            .await;
        let (client, _clock) = client(&server);
        let error = if is_post {
            client.domains().create("mail.acme.com").await.unwrap_err()
        } else {
            client.domains().get("mdom_1").await.unwrap_err()
        };
        let Error::Redirected {
            status: got,
            location,
            request_id,
        } = &error
        else {
            panic!("expected Redirected for {status}, got {error:?}");
        };
        assert_eq!(*got, status);
        assert_eq!(location.as_deref(), Some(target.as_str()));
        assert_eq!(request_id.as_deref(), Some("req_hop"));
        assert!(error.to_string().contains(&target), "{error}");
        hop.assert_calls_async(1).await;
        hop.delete_async().await;
    }
    catch_all.assert_calls_async(0).await;
}

#[test]
fn base_urls_with_credentials_are_refused_without_echoing_them() {
    for url in [
        "http://:pw-secret@127.0.0.1:1/api/v1",
        "http://user:pw-secret@127.0.0.1:1/api/v1",
        "http://pw-secret@127.0.0.1:1/api/v1",
    ] {
        let error = Client::builder()
            .api_key(KEY)
            .base_url(url)
            .build()
            .unwrap_err();
        let text = format!("{error} | {error:?}");
        assert!(matches!(error, Error::InvalidInput(_)), "{text}");
        assert!(!text.contains("pw-secret"), "{text}");
        assert!(text.contains("credentials"), "{text}");
    }
}

/// A server that stalls on the check: the wait's own timeout ends it, with
/// the timeout outcome, not the attempt timeout of the call under it.
#[tokio::test]
async fn the_wait_deadline_cuts_a_stalled_check() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/domains/mdom_1/verify");
            then.status(200)
                .json_body(ok(verify_result("pending"), "req_slow"))
                .delay(Duration::from_secs(60));
        })
        .await;
    // The system clock: the deadline must cut real network time.
    let client = Client::builder()
        .api_key(KEY)
        .base_url(server.base_url())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let error = client
        .domains()
        .wait_until_verified("mdom_1", Duration::from_millis(500), Duration::from_secs(1))
        .await
        .unwrap_err();
    match error {
        Error::WaitTimeout {
            domain_id, last, ..
        } => {
            assert_eq!(domain_id, "mdom_1");
            assert!(last.is_none(), "no check completed");
        }
        other => panic!("expected WaitTimeout, got {other:?}"),
    }
}

/// Durations too large for `Instant` arithmetic saturate: no deadline.
#[tokio::test]
async fn huge_durations_saturate_instead_of_panicking() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/domains/mdom_1/verify");
            then.status(200)
                .json_body(ok(verify_result("verified"), "req_v"));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/domains/mdom_1");
            then.status(200)
                .json_body(ok(domain("mdom_1", "mail.acme.com", "verified"), "req_g"));
        })
        .await;
    let clock = VirtualClock::new();
    let client = builder(&server.base_url(), &clock)
        .retry_policy(RetryPolicy::default().with_deadline(Some(Duration::MAX)))
        .build()
        .unwrap();
    let domain = client
        .domains()
        .wait_until_verified("mdom_1", Duration::MAX, Duration::MAX)
        .await
        .unwrap();
    assert_eq!(domain.id, "mdom_1");
    let again = client
        .domains()
        .get("mdom_1")
        .retry_policy(RetryPolicy::default().with_deadline(Some(Duration::MAX)))
        .await
        .unwrap();
    assert_eq!(again.id, "mdom_1");
}

/// A create whose outcome is unknown exposes the key it carried, and that
/// key, passed back, is what the repeat sends.
#[tokio::test]
async fn a_maybe_sent_create_exposes_the_key_that_finishes_it() {
    let (base, requests) = raw_server(vec![
        Conn::DropAfterRequest,
        Conn::DropAfterRequest,
        Conn::DropAfterRequest,
        Conn::Respond(
            201,
            ok(domain("mdom_1", "mail.acme.com", "pending"), "req_ok"),
        ),
    ])
    .await;
    let clock = VirtualClock::new();
    let client = builder(&base, &clock)
        .idempotency(IdempotencyPolicy::Automatic)
        .build()
        .unwrap();

    let error = client.domains().create("mail.acme.com").await.unwrap_err();
    assert!(matches!(error, Error::MaybeSent { .. }), "{error:?}");
    let key = error
        .idempotency_key()
        .expect("the key the call carried")
        .to_owned();
    let sent: Vec<String> = requests
        .lock()
        .unwrap()
        .iter()
        .map(|r| raw_header(r, "idempotency-key").unwrap())
        .collect();
    assert!(!sent.is_empty());
    assert!(sent.iter().all(|k| *k == key), "{sent:?} vs {key}");
    // The message carries the cause once: as the source, not repeated.
    let message = error.to_string();
    let source = std::error::Error::source(&error).unwrap().to_string();
    assert!(!message.contains(&source), "{message} / {source}");

    let created = client
        .domains()
        .create("mail.acme.com")
        .idempotency_key(&key)
        .await
        .unwrap();
    assert_eq!(created.id, "mdom_1");
    let last = requests.lock().unwrap().last().cloned().unwrap();
    assert_eq!(
        raw_header(&last, "idempotency-key").as_deref(),
        Some(key.as_str())
    );
}
