//! Walks a list of any length without holding it: first item by item, then
//! page by page with the cursor a later run could resume from, against a
//! mock server started in this process.
//!
//! ```text
//! cargo run -p sendmux-client --example paginate
//! ```
#![allow(clippy::print_stdout)]

use futures::TryStreamExt;
use sendmux_client::Client;
use sendmux_mock::MockServer;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// How many domains the example adds: more than fit on one page.
const DOMAINS: usize = 23;
/// Items per page, small so the stream has to follow cursors.
const PAGE: u32 = 5;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let server = MockServer::start().await?;
    let client = Client::builder()
        .api_key("smx_root_example")
        .base_url(server.base_url())
        .build()?;
    let domains = client.domains();
    for n in 1..=DOMAINS {
        domains.create(format!("d{n}.example.test")).await?;
    }

    // Items: the stream asks for the next page when the current one is
    // used up, and decodes each item only when it is reached.
    let mut items = domains.list().limit(PAGE).stream();
    let mut seen = 0;
    while let Some(domain) = items.try_next().await? {
        seen += 1;
        println!("{seen:>3} {} {}", domain.id, domain.domain);
    }
    println!("{seen} domains, newest first");

    // Pages: each with its cursor; storing `next_cursor` lets a later run
    // go on with `.cursor(..)` where this one stopped.
    let mut pages = domains.list().limit(PAGE).pages();
    let mut number = 0;
    while let Some(page) = pages.try_next().await? {
        number += 1;
        println!(
            "page {number}: {} items, next cursor {}",
            page.items.len(),
            page.next_cursor.as_deref().unwrap_or("(none: last page)")
        );
    }

    // Resuming: the first page only, then a stream from its cursor.
    let first = domains.list().limit(PAGE).await?;
    if let Some(cursor) = &first.next_cursor {
        let rest: Vec<_> = domains
            .list()
            .limit(PAGE)
            .cursor(cursor.clone())
            .stream()
            .try_collect()
            .await?;
        println!(
            "resumed after {} items: {} more",
            first.items.len(),
            rest.len()
        );
    }
    server.shutdown().await;
    Ok(())
}
