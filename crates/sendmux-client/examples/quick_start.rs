//! The first steps with the client, against a mock server started in this
//! process (no account or key needed): add a domain, show the DNS records
//! to publish, verify it, list the team's domains.
//!
//! ```text
//! cargo run -p sendmux-client --example quick_start
//! ```
//!
//! Against the real API, build the client with `Client::from_env()` and
//! `SENDMUX_API_KEY=smx_root_...` instead.
#![allow(clippy::print_stdout)]

use futures::TryStreamExt;
use sendmux_client::{Client, DomainMode};
use sendmux_mock::{MockServer, Propagation};

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    // The records "propagate" on the first verification call, so the
    // example needs no waiting; real DNS takes minutes.
    let server = MockServer::builder()
        .propagation(Propagation::AfterVerifyCalls { calls: 1 })
        .start()
        .await?;
    println!("mock server at {}", server.base_url());

    let client = Client::builder()
        .api_key("smx_root_example")
        .base_url(server.base_url())
        .build()?;
    let domains = client.domains();

    let created = domains
        .create("mail.example.test")
        .mode(DomainMode::SendReceive)
        .await?;
    println!(
        "added {} as {} ({}), request {}",
        created.domain,
        created.id,
        created.verification_status,
        created.request_id().unwrap_or("-")
    );
    let records = &created.dns_records;
    println!("publish these records:");
    for record in &records.dkim {
        println!("  DKIM   {} -> {}", record.name, record.value);
    }
    println!("  DMARC  {} -> {}", records.dmarc.name, records.dmarc.value);

    let outcome = domains.verify(&created.id).await?;
    println!("verification: {}", outcome.status);

    let mut all = domains.list().limit(50).stream();
    while let Some(domain) = all.try_next().await? {
        println!(
            "{} {} {} mode={}",
            domain.id, domain.domain, domain.verification_status, domain.mode
        );
    }
    server.shutdown().await;
    Ok(())
}
