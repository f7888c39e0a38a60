//! Sending through the mock's Sending API listener: 32 concurrent sends
//! through (plain) reqwest + serde with a hand-written body, key and answer,
//! and (client) `sendmux-client`'s `send`, in interleaved rounds so a busy
//! machine slows both alike. The summary reports requests per second and
//! the median ratio.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::future::join_all;
use sendmux_benches::SendFixture;

const CONCURRENCY: usize = 32;
const ROUNDS: usize = 3;

fn send(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let fixture = runtime.block_on(SendFixture::start());
    // Every send gets a new subject (and the plain one a new key), so the
    // mock never answers from its idempotency store.
    let next = AtomicUsize::new(0);
    for round in 1..=ROUNDS {
        let mut group = c.benchmark_group(format!("send_r{round}"));
        group
            .throughput(Throughput::Elements(CONCURRENCY as u64))
            .sample_size(20);
        group.bench_function("plain_reqwest_serde", |b| {
            b.to_async(&runtime).iter(|| async {
                let base = next.fetch_add(CONCURRENCY, Ordering::Relaxed);
                black_box(join_all((0..CONCURRENCY).map(|i| fixture.send_plain(base + i))).await);
            });
        });
        group.bench_function("sendmux_client", |b| {
            b.to_async(&runtime).iter(|| async {
                let base = next.fetch_add(CONCURRENCY, Ordering::Relaxed);
                black_box(join_all((0..CONCURRENCY).map(|i| fixture.send_client(base + i))).await);
            });
        });
        group.finish();
    }
    runtime.block_on(fixture.shutdown());
}

criterion_group!(benches, send);
criterion_main!(benches);
