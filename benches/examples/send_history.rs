//! Whether a send costs the mock more as its history grows: `total`
//! sequential sends to one mock, timed in windows of `window` sends, each
//! window's time per send printed, then the last window against the second
//! (the first pays for warming up: connections, lazily built schemas).
//!
//! ```sh
//! cargo build --release -p sendmux-benches --example send_history
//! target/release/examples/send_history external 5000 100
//! ```
//!
//! Variants: `external`, single sends to an address outside the mock;
//! `local`, single sends to the sending mailbox itself, so each message is
//! also delivered into a mock mailbox; `batch`, batches of 100 messages
//! (`total` and `window` count messages) to the sending mailbox.
//!
//! Wall time repeats poorly on a busy machine; for counts that repeat,
//! run it under callgrind with two totals and divide the difference by the
//! difference of totals (start-up cancels out):
//!
//! ```sh
//! valgrind --tool=callgrind target/release/examples/send_history external 5100 5100
//! valgrind --tool=callgrind target/release/examples/send_history external 5000 5000
//! ```
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs
)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use sendmux_benches::{SENDER, SendFixture};

/// Messages per batch of the `batch` variant.
const BATCH: usize = 100;

fn main() {
    let mut args = std::env::args().skip(1);
    let variant = args.next().unwrap_or_else(|| "external".into());
    let total: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(5000);
    let window: usize = args
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100)
        .max(1);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let fixture = SendFixture::start().await;
        let mut windows: Vec<Duration> = Vec::new();
        let mut sent = 0;
        while sent < total {
            let size = window.min(total - sent);
            let started = Instant::now();
            match variant.as_str() {
                "batch" => {
                    let mut done = 0;
                    while done < size {
                        let n = BATCH.min(size - done);
                        let queued = fixture.send_batch_plain_to(sent + done, SENDER, n).await;
                        assert_eq!(queued, n, "every message of the batch is queued");
                        done += n;
                    }
                }
                "local" => {
                    for i in sent..sent + size {
                        black_box(fixture.send_plain_to(i, SENDER).await);
                    }
                }
                _ => {
                    for i in sent..sent + size {
                        black_box(fixture.send_plain_to(i, "reader@example.com").await);
                    }
                }
            }
            let took = started.elapsed();
            println!(
                "sends {sent:>6}..{:<6} {:>9.1} us/send",
                sent + size,
                per_send(took, size)
            );
            windows.push(took);
            sent += size;
        }
        if let (Some(second), Some(last)) = (windows.get(1), windows.last())
            && windows.len() > 2
        {
            let ratio = last.as_secs_f64() / second.as_secs_f64();
            println!("variant {variant}: last window / second window = {ratio:.2}");
        }
        fixture.shutdown().await;
    });
}

fn per_send(took: Duration, sends: usize) -> f64 {
    took.as_secs_f64() * 1e6 / sends as f64
}
