//! Decodes the 100-domain list page N times into one model, for instruction
//! counts under callgrind (`cargo xtask bench` runs it when valgrind is
//! installed):
//!
//! ```sh
//! cargo build --release -p sendmux-benches --example decode_pages
//! valgrind --tool=callgrind target/release/examples/decode_pages typed 60
//! ```
//!
//! Models: `typed` (the generated types), `value` (`serde_json::Value`),
//! `hand` (a hand-written struct with every field).
#![allow(clippy::unwrap_used, clippy::print_stdout, missing_docs)]

use std::hint::black_box;

use sendmux_benches::{HandDomain, HandEnvelope, page_body};

fn main() {
    let mut args = std::env::args().skip(1);
    let model = args.next().unwrap_or_else(|| "typed".into());
    let pages: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(10);
    let body = page_body(100);
    for _ in 0..pages {
        match model.as_str() {
            "value" => {
                let page: serde_json::Value = serde_json::from_slice(black_box(&body)).unwrap();
                black_box(page);
            }
            "hand" => {
                let page: HandEnvelope<Vec<HandDomain>> =
                    serde_json::from_slice(black_box(&body)).unwrap();
                black_box(page);
            }
            _ => {
                let page: sendmux_api::types::DomainItemCursorListResponse =
                    serde_json::from_slice(black_box(&body)).unwrap();
                black_box(page);
            }
        }
    }
    println!("{pages} pages decoded into {model}");
}
