//! Streams 100,000 domains over 1,000 pages from a canned loopback server
//! through `sendmux-client`'s item stream; reports items/s and the peak
//! memory growth while streaming, measured by a counting global allocator,
//! against the target of less than two pages' worth of bytes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs
)]

use std::time::Instant;

use futures::TryStreamExt;
use peak_alloc::PeakAlloc;
use sendmux_benches::{API_KEY, CannedServer, Paging, page_body};

#[global_allocator]
static ALLOCATOR: PeakAlloc = PeakAlloc;

const PAGING: Paging = Paging {
    pages: 1_000,
    per_page: 100,
};
const RUNS: usize = 3;

fn main() {
    // `cargo test --benches` runs bench binaries with `--bench` absent; keep
    // that quick.
    let quick = !std::env::args().any(|a| a == "--bench");
    let paging = if quick {
        Paging {
            pages: 5,
            per_page: 100,
        }
    } else {
        PAGING
    };

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = runtime.block_on(CannedServer::start(paging)).unwrap();
    let client = sendmux_client::Client::builder()
        .api_key(API_KEY)
        .base_url(server.base_url())
        .build()
        .unwrap();
    let page_bytes = page_body(paging.per_page).len();
    let expected = paging.pages * paging.per_page;

    // Warm-up: connection pool, lazy statics, allocator arenas.
    runtime.block_on(stream_all(&client, expected));

    let mut rates = Vec::new();
    let mut growths = Vec::new();
    for _ in 0..RUNS {
        let before = ALLOCATOR.current_usage();
        ALLOCATOR.reset_peak_usage();
        let started = Instant::now();
        runtime.block_on(stream_all(&client, expected));
        let elapsed = started.elapsed();
        let growth = ALLOCATOR.peak_usage().saturating_sub(before);
        rates.push(expected as f64 / elapsed.as_secs_f64());
        growths.push(growth);
    }
    rates.sort_by(f64::total_cmp);
    growths.sort_unstable();
    let median_rate = rates[rates.len() / 2];
    let max_growth = growths[growths.len() - 1];
    let ratio = max_growth as f64 / (2 * page_bytes) as f64;
    println!(
        "paginate: {expected} items over {} pages: median {median_rate:.0} items/s; peak memory growth {max_growth} B (max of {RUNS} runs) = {ratio:.2} x two pages ({} B each)",
        paging.pages, page_bytes
    );
    sendmux_benches::record_result(
        "paginate",
        &serde_json::json!({
            "items": expected,
            "items_per_second": median_rate,
            "peak_growth_bytes": max_growth,
            "page_bytes": page_bytes,
            "growth_over_two_pages": ratio,
            "quick": quick,
        }),
    );
    drop(server);
}

async fn stream_all(client: &sendmux_client::Client, expected: usize) {
    let mut stream = client.domains().list().limit(100).stream();
    let mut seen = 0usize;
    while let Some(domain) = stream.try_next().await.unwrap() {
        std::hint::black_box(&domain);
        seen += 1;
    }
    assert_eq!(seen, expected);
}
