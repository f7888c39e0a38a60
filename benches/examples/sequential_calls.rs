//! N sequential GET-domain calls through one variant, for instruction counts
//! under callgrind, which are repeatable on a noisy machine:
//!
//! ```sh
//! cargo build --release -p sendmux-benches --example sequential_calls
//! valgrind --tool=callgrind target/release/examples/sequential_calls c 2000
//! ```
//!
//! Variants: `a` reqwest + serde into a hand-written struct, `b` the
//! generated client, `c` sendmux-client. The per-call cost is the difference
//! of two runs with different N divided by the difference of N, which
//! cancels start-up.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs
)]

use std::hint::black_box;

use sendmux_benches::{API_KEY, CannedServer, DOMAIN_ID, HandDomain, HandEnvelope, Paging};

fn main() {
    let mut args = std::env::args().skip(1);
    let variant = args.next().unwrap_or_else(|| "c".into());
    let calls: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(1000);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let server = CannedServer::start(Paging {
            pages: 1,
            per_page: 1,
        })
        .await
        .unwrap();
        let base = server.base_url();
        let url = format!("{base}/domains/{DOMAIN_ID}");
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {API_KEY}").parse().unwrap(),
        );
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .build()
            .unwrap();
        let api = sendmux_api::Client::new_with_client(&base, http.clone());
        let client = sendmux_client::Client::builder()
            .api_key(API_KEY)
            .base_url(&base)
            .with_http_client(http.clone())
            .build()
            .unwrap();
        for _ in 0..calls {
            match variant.as_str() {
                "a" => {
                    let bytes = http.get(&url).send().await.unwrap().bytes().await.unwrap();
                    let envelope: HandEnvelope<HandDomain> =
                        serde_json::from_slice(&bytes).unwrap();
                    black_box(envelope);
                }
                "b" => {
                    let response = api
                        .management_get_domain()
                        .public_id(DOMAIN_ID)
                        .send()
                        .await
                        .unwrap();
                    black_box(response.into_inner());
                }
                _ => {
                    let response = client.domains().get(DOMAIN_ID).send().await.unwrap();
                    black_box(response.into_inner());
                }
            }
        }
        println!("{calls} calls through variant {variant}");
    });
}
