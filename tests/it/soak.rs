//! Fault soak: many create-domain calls through `sendmux-mock` injecting
//! faults of every kind. With the default-shaped retry policy every call
//! succeeds exactly once; with `RetryPolicy::none()` the losses surface as
//! errors, never as silent successes.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures::StreamExt;
use sendmux_client::{Client, RetryBudget, RetryPolicy};
use sendmux_mock::{FaultConfig, FaultKind, FaultRule, MockServer};

const CALLS: usize = 1_000;
const CONCURRENCY: usize = 8;
const PER_ATTEMPT_TIMEOUT: Duration = Duration::from_millis(300);

/// About 30% of requests get a fault, spread across kinds (rules fire in
/// order; the first non-latency rule that fires decides).
fn faults() -> FaultConfig {
    let create = |kind, rate| FaultRule::new(kind, rate).on_operation("managementCreateDomain");
    FaultConfig {
        rules: vec![
            // Slower than the per-attempt timeout: the client gives up while
            // the server still runs the first attempt.
            create(FaultKind::Latency { ms: 700 }, 0.02),
            create(
                FaultKind::ServiceUnavailable {
                    retry_after_secs: Some(0),
                },
                0.05,
            ),
            create(
                FaultKind::ServiceUnavailable {
                    retry_after_secs: Some(1),
                },
                0.01,
            ),
            create(
                FaultKind::RateLimited {
                    retry_after_secs: 0,
                },
                0.05,
            ),
            create(FaultKind::InternalError, 0.06),
            create(FaultKind::CloseBeforeHandler, 0.06),
            create(FaultKind::CloseAfterCommit, 0.07),
        ],
    }
}

async fn mock() -> MockServer {
    MockServer::builder()
        .seed(42)
        .rate_limit(u32::MAX, 60)
        .request_log_capacity(20_000)
        .faults(faults())
        .start()
        .await
        .unwrap()
}

fn client(mock: &MockServer, key: &str, policy: RetryPolicy) -> Client {
    Client::builder()
        .api_key(key)
        .base_url(mock.base_url())
        .timeout(PER_ATTEMPT_TIMEOUT)
        .retry_policy(policy)
        .build()
        .unwrap()
}

fn name(i: usize) -> String {
    format!("d{i}.soak.example")
}

/// Runs every call, CONCURRENCY at a time; returns (name, succeeded).
async fn create_all(client: &Client) -> Vec<(String, Result<(), sendmux_client::Error>)> {
    futures::stream::iter(0..CALLS)
        .map(|i| async move {
            let result = client.domains().create(name(i)).send().await.map(|_| ());
            (name(i), result)
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await
}

fn fault_counts(mock: &MockServer) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for record in mock.requests() {
        for fault in record.faults {
            *counts.entry(fault).or_default() += 1;
        }
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_create_lands_exactly_once_under_faults() {
    let mock = mock().await;
    let key = "smx_root_soak_retry";
    let policy = RetryPolicy::default()
        .with_max_attempts(15)
        .with_backoff(Duration::from_millis(5), Duration::from_millis(100))
        .with_max_retry_after(Duration::from_secs(2))
        .with_deadline(Some(Duration::from_secs(60)))
        .with_budget(Some(RetryBudget::new(100_000)));
    let client = client(&mock, key, policy);

    let results = create_all(&client).await;
    let failures: Vec<_> = results
        .iter()
        .filter_map(|(name, result)| result.as_ref().err().map(|e| format!("{name}: {e}")))
        .collect();
    assert!(
        failures.is_empty(),
        "{} calls failed: {failures:#?}",
        failures.len()
    );

    let domains = mock.domains(Some(key));
    let names: BTreeSet<_> = domains.iter().map(|d| d.domain.clone()).collect();
    assert_eq!(domains.len(), CALLS, "domains created");
    assert_eq!(names.len(), CALLS, "a domain name was created twice");
    assert_eq!(names, (0..CALLS).map(name).collect());

    let creates: Vec<_> = mock
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.operation.as_deref() == Some("managementCreateDomain"))
        .collect();
    assert!(
        creates.iter().all(|r| r.idempotency_key.is_some()),
        "a create went out without a key"
    );
    let keys: BTreeSet<_> = creates
        .iter()
        .filter_map(|r| r.idempotency_key.clone())
        .collect();
    // Retries happened, yet there is exactly one key per call: every retry
    // carried its call's original key.
    assert!(creates.len() > CALLS, "no retries: the faults did not fire");
    assert_eq!(keys.len(), CALLS, "distinct idempotency keys");

    let faults = fault_counts(&mock);
    let injected: usize = faults.values().sum();
    eprintln!(
        "soak with retries: {CALLS} calls, {} attempts, {injected} faults injected ({:.1}% of attempts): {faults:?}",
        creates.len(),
        100.0 * injected as f64 / creates.len() as f64
    );
    for kind in [
        "latency",
        "service_unavailable",
        "rate_limited",
        "internal_error",
        "close_before_handler",
        "close_after_commit",
    ] {
        assert!(
            faults.get(kind).copied().unwrap_or(0) > 0,
            "no {kind} fault fired: {faults:?}"
        );
    }
    mock.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_retries_losses_are_reported_as_errors() {
    let mock = mock().await;
    let key = "smx_root_soak_none";
    let client = client(&mock, key, RetryPolicy::none());

    let results = create_all(&client).await;
    // Let attempts the client gave up on (latency faults) finish server-side.
    tokio::time::sleep(Duration::from_millis(900)).await;
    let created: BTreeSet<_> = mock
        .domains(Some(key))
        .into_iter()
        .map(|d| d.domain)
        .collect();

    let mut succeeded = 0;
    let mut failed_not_created = 0;
    let mut failed_but_created = 0;
    let mut by_class: BTreeMap<&str, usize> = BTreeMap::new();
    for (name, result) in &results {
        match result {
            Ok(()) => {
                succeeded += 1;
                assert!(
                    created.contains(name),
                    "{name} reported created but does not exist"
                );
            }
            Err(error) => {
                let class = if error.is_not_sent() {
                    "not sent"
                } else if error.status().is_some() {
                    "api error"
                } else {
                    "maybe sent"
                };
                *by_class.entry(class).or_default() += 1;
                if created.contains(name) {
                    failed_but_created += 1;
                    // Only an outcome-unknown error may hide a committed change.
                    assert_eq!(class, "maybe sent", "{name}: {error}");
                } else {
                    failed_not_created += 1;
                }
            }
        }
    }
    eprintln!(
        "soak without retries: {succeeded} succeeded, {failed_not_created} failed (nothing created), \
         {failed_but_created} failed although the domain was created; errors by class {by_class:?}; faults {:?}",
        fault_counts(&mock)
    );
    assert!(succeeded < CALLS);
    assert!(failed_not_created > 0);
    assert!(
        failed_but_created > 0,
        "close-after-commit and slow attempts should leave created-but-failed calls"
    );
    assert_eq!(succeeded + failed_not_created + failed_but_created, CALLS);
    mock.shutdown().await;
}
