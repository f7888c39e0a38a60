//! Downloads a 200 MB attachment from the mock through
//! `download(..).stream()` and reports the peak heap growth while it
//! streams, measured by a counting global allocator, as bytes and as a
//! share of the file (target: under 2 MB). The baseline in the same run is
//! plain reqwest's `bytes()` of the same URL, which holds the whole body.
//! The mock runs in a child process (this binary, re-run), so the
//! allocator counts the client alone. One download of each is enough for
//! a memory figure; the time of the streamed one is reported too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs
)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Instant;

use futures::TryStreamExt;
use peak_alloc::PeakAlloc;
use sendmux_mock::{InboundMessage, MockServer, Propagation};

#[global_allocator]
static ALLOCATOR: PeakAlloc = PeakAlloc;

const SIZE: usize = 200 * 1000 * 1000;
/// Target peak growth of the streamed download.
const TARGET_BYTES: usize = 2 * 1024 * 1024;
const ROOT_KEY: &str = "smx_root_bench_download";

/// What the child process hands over, one per line.
struct Served {
    base_url: String,
    key: String,
    message_id: String,
    attachment_id: String,
}

fn main() {
    // `cargo test --benches` runs bench binaries without `--bench`: keep
    // that quick.
    let quick = !std::env::args().any(|a| a == "--bench");
    let size = if quick { 8 * 1000 * 1000 } else { SIZE };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let args: Vec<String> = std::env::args().collect();
    if let Some(position) = args.iter().position(|a| a == "--serve-mock") {
        let size = args
            .get(position + 1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(size);
        runtime.block_on(serve(size));
        return;
    }

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--serve-mock", &size.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut line = || lines.next().unwrap().unwrap();
    let served = Served {
        base_url: line(),
        key: line(),
        message_id: line(),
        attachment_id: line(),
    };
    let client = sendmux_client::Client::builder()
        .mailbox_key(&served.key)
        .base_url(&served.base_url)
        .build()
        .unwrap();
    let plain = reqwest::Client::new();
    let url = format!(
        "{}/mailbox/messages/{}/attachments/{}",
        served.base_url, served.message_id, served.attachment_id
    );

    // Warm-up: connection pools, lazy statics, allocator arenas.
    runtime.block_on(async {
        let head = download(&client, &served, Some(1024 * 1024)).await;
        assert_eq!(head, 1024 * 1024);
        let _ = plain_bytes(&plain, &url, &served.key, Some(1024 * 1024)).await;
    });

    let before = ALLOCATOR.current_usage();
    ALLOCATOR.reset_peak_usage();
    let started = Instant::now();
    let streamed = runtime.block_on(download(&client, &served, None));
    let elapsed = started.elapsed();
    let growth = ALLOCATOR.peak_usage().saturating_sub(before);
    assert_eq!(streamed, size);

    let before = ALLOCATOR.current_usage();
    ALLOCATOR.reset_peak_usage();
    let buffered = runtime.block_on(plain_bytes(&plain, &url, &served.key, None));
    let baseline_growth = ALLOCATOR.peak_usage().saturating_sub(before);
    assert_eq!(buffered, size);

    let share = growth as f64 / size as f64;
    let baseline_share = baseline_growth as f64 / size as f64;
    let throughput = size as f64 / elapsed.as_secs_f64() / 1e6;
    let met = if growth < TARGET_BYTES {
        "met"
    } else {
        "MISSED"
    };
    println!(
        "attachment_download: {size} B through download().stream(): peak heap growth {growth} B = {share:.5} of the file ({:.2} MiB; target < 2 MiB: {met}), {throughput:.0} MB/s; baseline reqwest bytes(): {baseline_growth} B = {baseline_share:.3} of the file; ratio baseline/stream {:.0}x",
        growth as f64 / 1024.0 / 1024.0,
        baseline_growth as f64 / growth.max(1) as f64
    );
    sendmux_benches::record_result(
        "attachment_download",
        &serde_json::json!({
            "size_bytes": size,
            "peak_growth_bytes": growth,
            "growth_share_of_file": share,
            "target_bytes": TARGET_BYTES,
            "megabytes_per_second": throughput,
            "baseline_peak_growth_bytes": baseline_growth,
            "baseline_share_of_file": baseline_share,
            "quick": quick,
        }),
    );
    drop(child.stdin.take());
    let _ = child.wait();
}

/// Streams the attachment (or its first `limit` bytes), keeping only a
/// count.
async fn download(client: &sendmux_client::Client, served: &Served, limit: Option<u64>) -> usize {
    let mut request = client
        .mailbox()
        .attachments()
        .download(&served.message_id, &served.attachment_id);
    if let Some(limit) = limit {
        request = request.range(..limit);
    }
    let mut chunks = request.stream();
    let mut total = 0;
    while let Some(chunk) = chunks.try_next().await.unwrap() {
        total += std::hint::black_box(chunk).len();
    }
    total
}

/// The same download through plain reqwest, buffered whole.
async fn plain_bytes(http: &reqwest::Client, url: &str, key: &str, limit: Option<u64>) -> usize {
    let mut request = http.get(url).bearer_auth(key);
    if let Some(limit) = limit {
        request = request.header("range", format!("bytes=0-{}", limit - 1));
    }
    let body = request.send().await.unwrap().bytes().await.unwrap();
    std::hint::black_box(&body).len()
}

/// The child: a mock with a mailbox holding one message with a `size`
/// byte attachment; prints where to find it, then serves until its stdin
/// closes.
async fn serve(size: usize) {
    let server = MockServer::builder()
        .propagation(Propagation::AfterVerifyCalls { calls: 1 })
        .start()
        .await
        .unwrap();
    let root = sendmux_client::Client::builder()
        .api_key(ROOT_KEY)
        .base_url(server.base_url())
        .build()
        .unwrap();
    let domain = root.domains().create("bench.example.com").await.unwrap();
    root.domains().verify(&domain.id).await.unwrap();
    let created = root
        .mailboxes()
        .create("agent@bench.example.com")
        .await
        .unwrap();
    let key = created
        .credential
        .as_ref()
        .unwrap()
        .secret
        .expose_secret()
        .to_owned();
    let bytes = server.generated_bytes(size);
    let message_id = server
        .deliver(
            &key,
            InboundMessage {
                from: "Ada <ada@example.com>".into(),
                subject: "Large".into(),
                text: Some("attached".into()),
                attachments: vec![("large.bin".into(), "application/octet-stream".into(), bytes)],
                ..InboundMessage::default()
            },
        )
        .unwrap();
    let mailbox = sendmux_client::Client::builder()
        .mailbox_key(&key)
        .base_url(server.base_url())
        .build()
        .unwrap();
    let message = mailbox.mailbox().messages().get(&message_id).await.unwrap();
    println!("{}", server.base_url());
    println!("{key}");
    println!("{message_id}");
    println!("{}", message.attachments[0].id);
    let _ =
        tokio::task::spawn_blocking(|| std::io::Read::read(&mut std::io::stdin(), &mut [0u8; 1]))
            .await;
}
