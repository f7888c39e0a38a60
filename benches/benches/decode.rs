//! Decoding one 100-domain list page: into the generated types, into
//! `serde_json::Value`, into a hand-written struct with every field, and
//! into a minimal hand-written struct.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sendmux_benches::{HandDomain, HandEnvelope, MinimalDomain, page_body};

/// Interleaved measurement rounds: a shared machine drifts, and ratios of
/// neighbouring measurements drift less than ratios across a whole run.
const ROUNDS: usize = 5;

fn decode(c: &mut Criterion) {
    let body = page_body(100);
    for round in 1..=ROUNDS {
        let mut group = c.benchmark_group(format!("decode_page_100_r{round}"));
        group
            .throughput(Throughput::Bytes(body.len() as u64))
            .sample_size(30)
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_secs(1));
        group.bench_function("typed_sendmux_api", |b| {
            b.iter(|| {
                let page: sendmux_api::types::DomainItemCursorListResponse =
                    serde_json::from_slice(black_box(&body)).unwrap();
                black_box(page)
            });
        });
        group.bench_function("serde_json_value", |b| {
            b.iter(|| {
                let page: serde_json::Value = serde_json::from_slice(black_box(&body)).unwrap();
                black_box(page)
            });
        });
        group.bench_function("hand_struct", |b| {
            b.iter(|| {
                let page: HandEnvelope<Vec<HandDomain>> =
                    serde_json::from_slice(black_box(&body)).unwrap();
                black_box(page)
            });
        });
        group.bench_function("minimal_struct", |b| {
            b.iter(|| {
                let page: HandEnvelope<Vec<MinimalDomain>> =
                    serde_json::from_slice(black_box(&body)).unwrap();
                black_box(page)
            });
        });
        group.finish();
    }
}

criterion_group!(benches, decode);
criterion_main!(benches);
