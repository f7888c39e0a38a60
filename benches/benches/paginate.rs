//! Streams 100,000 domains over 1,000 pages from a canned loopback server
//! through `sendmux-client`'s item stream; reports items/s and the peak
//! memory growth while streaming, measured by a counting global allocator,
//! against two pages' worth of JSON and two decoded pages (bytes plus
//! models). The server runs in a child process (this binary, re-run) so the
//! allocator counts the client alone.
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
    // `--serve-canned PAGES`: this binary re-run as the server, so the
    // counting allocator of the measuring process sees the client only.
    let args: Vec<String> = std::env::args().collect();
    if let Some(position) = args.iter().position(|a| a == "--serve-canned") {
        let pages = args
            .get(position + 1)
            .and_then(|p| p.parse().ok())
            .unwrap_or(1);
        runtime.block_on(async {
            let server = CannedServer::start(Paging {
                pages,
                per_page: paging.per_page,
            })
            .await
            .unwrap();
            println!("{}", server.base_url());
            // Serve until the parent closes our stdin.
            let _ = tokio::task::spawn_blocking(|| {
                std::io::Read::read(&mut std::io::stdin(), &mut [0u8; 1])
            })
            .await;
        });
        return;
    }
    let mut server = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--serve-canned", &paging.pages.to_string()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut base_url = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(server.stdout.take().unwrap()),
        &mut base_url,
    )
    .unwrap();
    let client = sendmux_client::Client::builder()
        .api_key(API_KEY)
        .base_url(base_url.trim())
        .build()
        .unwrap();
    let page_bytes = page_body(paging.per_page).len();
    let expected = paging.pages * paging.per_page;

    // Warm-up: connection pool, lazy statics, allocator arenas.
    runtime.block_on(stream_all(&client, expected));

    // What one page costs in memory when simply decoded: its bytes plus the
    // decoded models, held together as during a decode.
    let page_footprint = {
        let body = page_body(paging.per_page);
        let before = ALLOCATOR.current_usage();
        ALLOCATOR.reset_peak_usage();
        let raw = body.to_vec();
        let decoded: sendmux_api::types::DomainItemCursorListResponse =
            serde_json::from_slice(&raw).unwrap();
        std::hint::black_box(&decoded);
        let footprint = ALLOCATOR.peak_usage().saturating_sub(before);
        drop(decoded);
        drop(raw);
        footprint
    };

    // Baseline in the same run: the same pages fetched with plain reqwest
    // and held as bytes only, no decoding. What the HTTP stack itself needs
    // (hyper's adaptive read buffer grows to 256 KiB for these bodies).
    let plain = reqwest::Client::new();
    let mut transport_growths = Vec::new();
    let mut rates = Vec::new();
    let mut growths = Vec::new();
    for _ in 0..RUNS {
        let before = ALLOCATOR.current_usage();
        ALLOCATOR.reset_peak_usage();
        runtime.block_on(fetch_bytes_only(&plain, base_url.trim(), paging.pages));
        transport_growths.push(ALLOCATOR.peak_usage().saturating_sub(before));

        let before = ALLOCATOR.current_usage();
        ALLOCATOR.reset_peak_usage();
        let started = Instant::now();
        runtime.block_on(stream_all(&client, expected));
        let elapsed = started.elapsed();
        let growth = ALLOCATOR.peak_usage().saturating_sub(before);
        rates.push(expected as f64 / elapsed.as_secs_f64());
        growths.push(growth);
    }
    transport_growths.sort_unstable();
    let transport_growth = transport_growths[transport_growths.len() - 1];
    rates.sort_by(f64::total_cmp);
    growths.sort_unstable();
    let median_rate = rates[rates.len() / 2];
    let max_growth = growths[growths.len() - 1];
    let ratio = max_growth as f64 / (2 * page_bytes) as f64;
    let footprint_ratio = max_growth as f64 / (2 * page_footprint) as f64;
    // What the SDK adds over the HTTP stack, against the same two pages.
    let sdk_growth = max_growth.saturating_sub(transport_growth);
    let sdk_ratio = sdk_growth as f64 / (2 * page_bytes) as f64;
    println!(
        "paginate: {expected} items over {} pages: median {median_rate:.0} items/s; peak memory growth {max_growth} B (max of {RUNS} runs) = {ratio:.2} x two pages of JSON ({page_bytes} B each) = {footprint_ratio:.2} x two decoded pages ({page_footprint} B each: bytes + models); plain reqwest holding the same pages as bytes: {transport_growth} B; the SDK's share {sdk_growth} B = {sdk_ratio:.2} x two pages of JSON",
        paging.pages
    );
    sendmux_benches::record_result(
        "paginate",
        &serde_json::json!({
            "items": expected,
            "items_per_second": median_rate,
            "peak_growth_bytes": max_growth,
            "page_bytes": page_bytes,
            "growth_over_two_pages": ratio,
            "page_footprint_bytes": page_footprint,
            "growth_over_two_decoded_pages": footprint_ratio,
            "transport_growth_bytes": transport_growth,
            "sdk_growth_bytes": sdk_growth,
            "sdk_growth_over_two_pages": sdk_ratio,
            "quick": quick,
        }),
    );
    drop(server.stdin.take());
    let _ = server.wait();
}

/// Every page through plain reqwest, each body held as bytes until the next
/// request; the canned server's cursors are `p1`, `p2`, ...
async fn fetch_bytes_only(http: &reqwest::Client, base_url: &str, pages: usize) {
    for page in 0..pages {
        let mut request = http
            .get(format!("{base_url}/domains"))
            .query(&[("limit", "100")]);
        if page > 0 {
            request = request.query(&[("cursor", format!("p{page}"))]);
        }
        let body = request.send().await.unwrap().bytes().await.unwrap();
        std::hint::black_box(&body);
    }
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
