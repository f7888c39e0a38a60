//! GET-domain throughput and latency of the `sendmux-mock` binary on
//! loopback, driven by a Rust load generator (keep-alive connections, fixed
//! concurrency, fixed duration). The same generator against the canned
//! fixed-body server in the same run is the baseline.
//!
//! The binary is looked up next to this benchmark (`target/release`); build
//! it first (`cargo xtask bench` does). Without it the mock runs in-process
//! on its own runtime, which the output says.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs
)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use sendmux_benches::{API_KEY, CannedServer, DOMAIN_ID, Paging};

const CONCURRENCY: usize = 16;

struct Load {
    requests: u64,
    per_second: f64,
    p50_us: u64,
    p99_us: u64,
}

async fn drive(url: String, duration: Duration) -> Load {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CONCURRENCY)
        .build()
        .unwrap();
    let auth = format!("Bearer {API_KEY}");
    let deadline = Instant::now() + duration;
    let started = Instant::now();
    let workers: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let http = http.clone();
            let url = url.clone();
            let auth = auth.clone();
            tokio::spawn(async move {
                let mut histogram = Histogram::<u64>::new(3).unwrap();
                while Instant::now() < deadline {
                    let sent = Instant::now();
                    let response = http
                        .get(&url)
                        .header("authorization", &auth)
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(response.status().as_u16(), 200);
                    let _ = response.bytes().await.unwrap();
                    histogram.record(sent.elapsed().as_micros() as u64).unwrap();
                }
                histogram
            })
        })
        .collect();
    let mut total = Histogram::<u64>::new(3).unwrap();
    for worker in workers {
        total.add(worker.await.unwrap()).unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    Load {
        requests: total.len(),
        per_second: total.len() as f64 / elapsed,
        p50_us: total.value_at_quantile(0.50),
        p99_us: total.value_at_quantile(0.99),
    }
}

/// Starts the mock binary with rate limiting effectively off; returns it
/// and its base URL.
fn spawn_mock_binary() -> Option<(Child, String)> {
    let exe = std::env::current_exe().ok()?;
    // target/release/deps/mock_throughput-HASH -> target/release/sendmux-mock
    let binary = exe.parent()?.parent()?.join("sendmux-mock");
    if !binary.is_file() {
        return None;
    }
    let mut child = Command::new(binary)
        .args([
            "--port",
            "0",
            "--rate-limit",
            "4000000000",
            "--request-log",
            "1000",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take()?)
        .read_line(&mut line)
        .ok()?;
    Some((child, line.trim().to_string()))
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let duration = if quick {
        Duration::from_millis(200)
    } else {
        Duration::from_secs(5)
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    let canned = runtime
        .block_on(CannedServer::start(Paging {
            pages: 1,
            per_page: 1,
        }))
        .unwrap();
    let baseline = runtime.block_on(drive(
        format!("{}/domains/{DOMAIN_ID}", canned.base_url()),
        duration,
    ));
    drop(canned);

    // Prefer the release binary; fall back to an in-process server.
    let mut in_process = None;
    let (child, base_url, how) = match spawn_mock_binary() {
        Some((child, url)) => (Some(child), url, "binary"),
        None => {
            let server = Arc::new(
                runtime
                    .block_on(
                        sendmux_mock::MockServer::builder()
                            .rate_limit(u32::MAX, 60)
                            .start(),
                    )
                    .unwrap(),
            );
            let url = server.base_url();
            in_process = Some(server);
            (None, url, "in-process (binary not built)")
        }
    };
    let id = runtime.block_on(async {
        let created: serde_json::Value = reqwest::Client::new()
            .post(format!("{base_url}/domains"))
            .header("authorization", format!("Bearer {API_KEY}"))
            .json(&serde_json::json!({ "domain": "mail.acme.com" }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        created["data"]["id"].as_str().unwrap().to_string()
    });
    let mock = runtime.block_on(drive(format!("{base_url}/domains/{id}"), duration));
    if let Some(mut child) = child {
        let _ = child.kill();
        let _ = child.wait();
    }
    drop(in_process);

    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    println!(
        "mock_throughput ({how}, {CONCURRENCY} connections, {cores} cores): {:.0} GET/s, p50 {} us, p99 {} us over {} requests",
        mock.per_second, mock.p50_us, mock.p99_us, mock.requests
    );
    println!(
        "baseline canned server: {:.0} GET/s, p50 {} us, p99 {} us; mock/baseline = {:.2}",
        baseline.per_second,
        baseline.p50_us,
        baseline.p99_us,
        mock.per_second / baseline.per_second
    );
    sendmux_benches::record_result(
        "mock_throughput",
        &serde_json::json!({
            "how": how,
            "concurrency": CONCURRENCY,
            "cores": cores,
            "mock_per_second": mock.per_second,
            "mock_p50_us": mock.p50_us,
            "mock_p99_us": mock.p99_us,
            "baseline_per_second": baseline.per_second,
            "baseline_p99_us": baseline.p99_us,
            "quick": quick,
        }),
    );
}
