//! N sequential sends through one variant against the in-process mock's
//! Sending API listener, for instruction counts under callgrind:
//!
//! ```sh
//! cargo build --release -p sendmux-benches --example sequential_sends
//! valgrind --tool=callgrind target/release/examples/sequential_sends client 600
//! ```
//!
//! Variants: `plain`, reqwest + serde with a hand-written body, a fresh
//! idempotency key and a hand-written answer struct (what a careful caller
//! writes without the SDK); `client`, `sendmux-client`'s `send`, which also
//! validates the message, retries and traces. Both talk to the same mock,
//! so its share of the count is the same; the per-call cost is the
//! difference of two runs with different N divided by the difference of N.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs
)]

use std::hint::black_box;

use sendmux_benches::SendFixture;

fn main() {
    let mut args = std::env::args().skip(1);
    let variant = args.next().unwrap_or_else(|| "client".into());
    let calls: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(500);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let fixture = SendFixture::start().await;
        for i in 0..calls {
            match variant.as_str() {
                "plain" => black_box(fixture.send_plain(i).await),
                _ => black_box(fixture.send_client(i).await),
            };
        }
        println!("{calls} sends through variant {variant}");
        fixture.shutdown().await;
    });
}
