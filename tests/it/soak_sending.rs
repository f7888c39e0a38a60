//! Fault soak of the Sending API: sends and batch sends through the typed
//! client against the mock's sending listener while about 30% of requests
//! meet a fault (503 with Retry-After, 429, connections closed before and
//! after the commit, latency past the attempt timeout). With retries every
//! logical send reaches the outbox exactly once; without, every loss is an
//! error that says whether the message may have gone.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures::StreamExt;
use sendmux_client::sending::{Attachment, Email, ItemOutcome};
use sendmux_client::{Client, Error, RetryBudget, RetryPolicy};
use sendmux_mock::{FaultConfig, FaultKind, FaultRule, MockServer, Propagation};

const SENDS: usize = 1_000;
const BATCHES: usize = 20;
const BATCH_SIZE: usize = 100;
const CONCURRENCY: usize = 8;
const PER_ATTEMPT_TIMEOUT: Duration = Duration::from_millis(300);
const ROOT_KEY: &str = "smx_root_soak_sending";
const SENDER: &str = "agent@soak.example";

/// About 30% of attempts of `operation` get a fault, of every kind.
fn faults(operation: &str) -> FaultConfig {
    let rule = |kind, rate| FaultRule::new(kind, rate).on_operation(operation);
    FaultConfig {
        rules: vec![
            rule(FaultKind::Latency { ms: 700 }, 0.02),
            rule(
                FaultKind::ServiceUnavailable {
                    retry_after_secs: Some(0),
                },
                0.06,
            ),
            rule(
                FaultKind::RateLimited {
                    retry_after_secs: 0,
                },
                0.05,
            ),
            rule(FaultKind::InternalError, 0.05),
            rule(FaultKind::CloseBeforeHandler, 0.06),
            rule(FaultKind::CloseAfterCommit, 0.07),
        ],
    }
}

/// A mock with a verified domain and one mailbox; returns it and the
/// mailbox's key.
async fn mock(operation: &str) -> (MockServer, String) {
    let server = MockServer::builder()
        .seed(7)
        .propagation(Propagation::AfterVerifyCalls { calls: 1 })
        .rate_limit(u32::MAX, 60)
        .mailbox_rate_limit(u32::MAX, 60)
        .sending_credits(1_000_000)
        .request_log_capacity(20_000)
        .start()
        .await
        .unwrap();
    let root = Client::builder()
        .api_key(ROOT_KEY)
        .base_url(server.base_url())
        .build()
        .unwrap();
    let domain = root.domains().create("soak.example").await.unwrap();
    root.domains().verify(&domain.id).await.unwrap();
    let created = root.mailboxes().create(SENDER).await.unwrap();
    let key = created
        .credential
        .as_ref()
        .unwrap()
        .secret
        .expose_secret()
        .to_owned();
    // Faults start once the setup is done.
    server.set_faults(faults(operation));
    (server, key)
}

fn sender(server: &MockServer, key: &str, policy: RetryPolicy) -> Client {
    Client::builder()
        .mailbox_key(key)
        .base_url(server.base_url())
        .sending_base_url(server.sending_base_url())
        .timeout(PER_ATTEMPT_TIMEOUT)
        .retry_policy(policy)
        .build()
        .unwrap()
}

fn patient() -> RetryPolicy {
    RetryPolicy::default()
        .with_max_attempts(15)
        .with_backoff(Duration::from_millis(5), Duration::from_millis(100))
        .with_max_retry_after(Duration::from_secs(2))
        .with_deadline(Some(Duration::from_secs(60)))
        .with_budget(Some(RetryBudget::new(100_000)))
}

fn email(subject: String) -> Email {
    Email::new(SENDER, "reader@example.com")
        .subject(subject)
        .html("<p>soak</p>")
}

/// Subjects in the outbox, with how often each was stored.
fn stored(server: &MockServer) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for message in server.outbox() {
        *counts.entry(message.subject.clone()).or_default() += 1;
    }
    counts
}

fn fault_counts(server: &MockServer) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for record in server.requests() {
        for fault in record.faults {
            *counts.entry(fault).or_default() += 1;
        }
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_send_reaches_the_outbox_exactly_once_under_faults() {
    let (server, key) = mock("sendingSendEmail").await;
    let client = sender(&server, &key, patient());
    let results: Vec<(String, Result<(), Error>)> = futures::stream::iter(0..SENDS)
        .map(|i| {
            let client = client.clone();
            async move {
                let subject = format!("send {i}");
                let email = email(subject.clone());
                let result = client.sending().send_email(email).await.map(|_| ());
                (subject, result)
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let failures: Vec<String> = results
        .iter()
        .filter_map(|(s, r)| r.as_ref().err().map(|e| format!("{s}: {e}")))
        .collect();
    assert!(
        failures.is_empty(),
        "{} failed: {failures:#?}",
        failures.len()
    );

    let stored = stored(&server);
    let twice: Vec<_> = stored.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "stored more than once: {twice:?}");
    assert_eq!(stored.len(), SENDS, "every send stored");

    let attempts = server
        .requests()
        .iter()
        .filter(|r| r.operation.as_deref() == Some("sendingSendEmail"))
        .count();
    let faults = fault_counts(&server);
    let injected: usize = faults.values().sum();
    eprintln!(
        "sending soak with retries: {SENDS} sends, {attempts} attempts, {injected} faults ({:.1}%): {faults:?}",
        100.0 * injected as f64 / attempts as f64
    );
    assert!(attempts > SENDS, "no retries: the faults did not fire");
    for kind in [
        "close_after_commit",
        "close_before_handler",
        "service_unavailable",
        "rate_limited",
        "latency",
    ] {
        assert!(
            faults.get(kind).copied().unwrap_or(0) > 0,
            "no {kind}: {faults:?}"
        );
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_retries_every_loss_says_whether_the_message_may_have_gone() {
    let (server, key) = mock("sendingSendEmail").await;
    let client = sender(&server, &key, RetryPolicy::none());
    let results: Vec<(String, Result<(), Error>)> = futures::stream::iter(0..SENDS)
        .map(|i| {
            let client = client.clone();
            async move {
                let subject = format!("once {i}");
                let result = client.sending().send_email(email(subject.clone())).await;
                (subject, result.map(|_| ()))
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    // Attempts the client gave up on may still finish on the server.
    tokio::time::sleep(Duration::from_millis(900)).await;
    let stored = stored(&server);
    let mut by_state: BTreeMap<&str, usize> = BTreeMap::new();
    for (subject, result) in &results {
        match result {
            Ok(()) => assert_eq!(stored.get(subject), Some(&1), "{subject} reported sent"),
            Err(error) => {
                let state = if error.is_not_sent() {
                    "not sent"
                } else if error.status().is_some() {
                    "refused"
                } else {
                    "maybe sent"
                };
                *by_state.entry(state).or_default() += 1;
                if stored.contains_key(subject) {
                    // Only an outcome-unknown error may hide a stored message,
                    // and it names the key that repeats it safely.
                    assert_eq!(state, "maybe sent", "{subject}: {error}");
                    assert!(error.idempotency_key().is_some(), "{subject}: {error}");
                }
            }
        }
    }
    assert!(
        stored.values().all(|n| *n == 1),
        "a message was stored twice"
    );
    eprintln!("sending soak without retries: failures by state {by_state:?}");
    assert!(by_state.get("maybe sent").copied().unwrap_or(0) > 0);
    assert!(
        by_state.get("not sent").copied().unwrap_or(0)
            + by_state.get("refused").copied().unwrap_or(0)
            > 0
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_with_refused_items_store_each_good_message_exactly_once() {
    let (server, key) = mock("sendingSendEmailBatch").await;
    // Besides the random mix, the first three batch requests lose their
    // answer after the server stored the messages.
    let mut config = faults("sendingSendEmailBatch");
    config.rules.insert(
        0,
        FaultRule::new(FaultKind::CloseAfterCommit, 1.0)
            .on_operation("sendingSendEmailBatch")
            .times(3),
    );
    server.set_faults(config);
    let client = sender(&server, &key, patient());
    // One message in ten names an attachment that was never uploaded: the
    // client cannot know, the server refuses that item and queues the rest
    // of its request.
    let refused = |i: usize| i % 10 == 3;
    let outcomes: Vec<(usize, Result<Vec<ItemOutcome>, Error>)> = futures::stream::iter(0..BATCHES)
        .map(|b| {
            let client = client.clone();
            async move {
                let emails = (0..BATCH_SIZE).map(|i| {
                    let email = email(format!("batch {b} item {i}"));
                    if refused(i) {
                        email.attach(Attachment::uploaded("att_never_uploaded"))
                    } else {
                        email
                    }
                });
                let result = client.sending().send_batch(emails).await;
                (b, result.map(|outcome| outcome.items))
            }
        })
        .buffer_unordered(4)
        .collect()
        .await;

    let stored = stored(&server);
    assert!(
        stored.values().all(|n| *n == 1),
        "a message was stored twice"
    );
    let mut queued = 0;
    for (b, result) in outcomes {
        let items = result.unwrap_or_else(|e| panic!("batch {b}: {e}"));
        assert_eq!(items.len(), BATCH_SIZE);
        for (i, item) in items.iter().enumerate() {
            let subject = format!("batch {b} item {i}");
            match item {
                ItemOutcome::Queued { .. } => {
                    assert!(!refused(i), "{subject} was queued");
                    assert_eq!(stored.get(&subject), Some(&1), "{subject}");
                    queued += 1;
                }
                ItemOutcome::Refused { .. } => {
                    assert!(refused(i), "{subject} refused: {item:?}");
                    assert!(!stored.contains_key(&subject), "{subject} stored");
                }
                ItemOutcome::Failed(failure) => {
                    panic!(
                        "{subject}: request failed ({:?}): {}",
                        failure.state, failure.error
                    )
                }
                other => panic!("{subject}: {other:?}"),
            }
        }
    }
    assert_eq!(queued, BATCHES * BATCH_SIZE * 9 / 10);
    assert_eq!(stored.len(), queued);
    let faults = fault_counts(&server);
    eprintln!("batch soak: {BATCHES} batches of {BATCH_SIZE}, faults {faults:?}");
    assert!(faults.values().sum::<usize>() > 0, "no fault fired");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_250_is_three_requests_and_repeating_it_sends_nothing_twice() {
    let (server, key) = mock("sendingSendEmailBatch").await;
    server.set_faults(FaultConfig::default());
    let client = sender(&server, &key, patient());
    let emails = || (0..250).map(|i| email(format!("big {i}")));
    let first = client
        .sending()
        .send_batch(emails())
        .idempotency_key("big-batch")
        .await
        .unwrap();
    assert_eq!(first.queued(), 250);
    let sizes: Vec<usize> = first.requests.iter().map(|r| r.messages.len()).collect();
    assert_eq!(sizes, [100, 100, 50]);
    let keys: BTreeSet<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.operation.as_deref() == Some("sendingSendEmailBatch"))
        .filter_map(|r| r.idempotency_key)
        .collect();
    assert_eq!(keys.len(), 3, "{keys:?}");

    // The whole call again, same key: the server replays every request.
    let again = client
        .sending()
        .send_batch(emails())
        .idempotency_key("big-batch")
        .await
        .unwrap();
    let ids = |o: &sendmux_client::sending::BatchOutcome| -> Vec<String> {
        o.items
            .iter()
            .filter_map(|i| i.message_id().map(str::to_owned))
            .collect()
    };
    assert_eq!(ids(&first), ids(&again));
    assert_eq!(server.outbox().len(), 250);
    assert!(stored(&server).values().all(|n| *n == 1));
    server.shutdown().await;
}
