//! Client overhead: 64 concurrent GET-domain calls against a canned loopback
//! server through (a) plain reqwest + serde into a hand-written struct,
//! (b) the generated `sendmux-api` client, (c) `sendmux-client` with its
//! default retry and idempotency policies. Plus one POST create with an
//! automatic idempotency key, (b) versus (c).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::future::join_all;
use sendmux_benches::{API_KEY, CannedServer, DOMAIN_ID, HandDomain, HandEnvelope, Paging};

const CONCURRENCY: usize = 64;
/// Interleaved measurement rounds of the GET comparison.
const ROUNDS: usize = 5;

fn authorised_http() -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    let mut auth = reqwest::header::HeaderValue::from_str(&format!("Bearer {API_KEY}")).unwrap();
    auth.set_sensitive(true);
    headers.insert(reqwest::header::AUTHORIZATION, auth);
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap()
}

fn overhead(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = runtime
        .block_on(CannedServer::start(Paging {
            pages: 1,
            per_page: 1,
        }))
        .unwrap();
    let base = server.base_url();
    let url = format!("{base}/domains/{DOMAIN_ID}");
    // One connection pool for all three, so they differ only in what runs
    // on top of reqwest.
    let plain = authorised_http();
    let api = sendmux_api::Client::new_with_client(&base, plain.clone());
    let client = sendmux_client::Client::builder()
        .api_key(API_KEY)
        .base_url(&base)
        .with_http_client(plain.clone())
        .build()
        .unwrap();

    // Shared machines drift: measure the three variants in interleaved
    // rounds, and let the summary take the median of the per-round ratios.
    for round in 1..=ROUNDS {
        let mut group = c.benchmark_group(format!("overhead_get_domain_r{round}"));
        group
            .throughput(Throughput::Elements(CONCURRENCY as u64))
            .sample_size(20)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2));
        group.bench_function("a_reqwest_serde", |b| {
            b.to_async(&runtime).iter(|| {
                join_all((0..CONCURRENCY).map(|_| async {
                    let response = plain.get(&url).send().await.unwrap();
                    let bytes = response.bytes().await.unwrap();
                    let envelope: HandEnvelope<HandDomain> =
                        serde_json::from_slice(&bytes).unwrap();
                    black_box(envelope);
                }))
            });
        });
        // (a) plus the per-request timeout the client always sets: shows how
        // much of (c)'s cost is that timer rather than the client's own work.
        group.bench_function("a2_reqwest_serde_timeout", |b| {
            b.to_async(&runtime).iter(|| {
                join_all((0..CONCURRENCY).map(|_| async {
                    let response = plain
                        .get(&url)
                        .timeout(Duration::from_secs(30))
                        .send()
                        .await
                        .unwrap();
                    let bytes = response.bytes().await.unwrap();
                    let envelope: HandEnvelope<HandDomain> =
                        serde_json::from_slice(&bytes).unwrap();
                    black_box(envelope);
                }))
            });
        });
        group.bench_function("b_sendmux_api", |b| {
            b.to_async(&runtime).iter(|| {
                join_all((0..CONCURRENCY).map(|_| async {
                    let response = api
                        .management_get_domain()
                        .public_id(DOMAIN_ID)
                        .send()
                        .await
                        .unwrap();
                    black_box(response.into_inner());
                }))
            });
        });
        group.bench_function("c_sendmux_client", |b| {
            b.to_async(&runtime).iter(|| {
                join_all((0..CONCURRENCY).map(|_| async {
                    let response = client.domains().get(DOMAIN_ID).send().await.unwrap();
                    black_box(response.into_inner());
                }))
            });
        });
        group.finish();
    }

    let mut group = c.benchmark_group("overhead_create_domain");
    group.throughput(Throughput::Elements(1));
    group.bench_function("b_sendmux_api_explicit_key", |b| {
        b.to_async(&runtime).iter(|| async {
            let response = api
                .management_create_domain()
                .idempotency_key("bench-key-0001")
                .body(sendmux_api::types::CreateDomainBody::builder().domain("mail.acme.com"))
                .send()
                .await
                .unwrap();
            black_box(response.into_inner());
        });
    });
    group.bench_function("c_sendmux_client_auto_key", |b| {
        b.to_async(&runtime).iter(|| async {
            let response = client
                .domains()
                .create("mail.acme.com")
                .send()
                .await
                .unwrap();
            black_box(response.into_inner());
        });
    });
    group.finish();
    drop(server);
}

criterion_group!(benches, overhead);
criterion_main!(benches);
