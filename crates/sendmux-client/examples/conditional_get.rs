//! Conditional requests against a mock server started in this process: a
//! read returns the resource's `ETag`; reading again with it answers
//! `304 Not Modified` (no body) until the resource changes; a write with
//! `If-Match` applies only to the version it names.
//!
//! ```text
//! cargo run -p sendmux-client --example conditional_get
//! ```
#![allow(clippy::print_stdout)]

use sendmux_client::{Client, Conditional, DomainMode, Error as ClientError};
use sendmux_mock::MockServer;

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let server = MockServer::start().await?;
    let client = Client::builder()
        .api_key("smx_root_example")
        .base_url(server.base_url())
        .build()?;
    let domains = client.domains();
    let created = domains
        .create("mail.example.test")
        .mode(DomainMode::SendOnly)
        .await?;

    let read = domains.get(&created.id).await?;
    let etag = read
        .etag()
        .ok_or("the read came without an ETag")?
        .to_owned();
    println!("read {} (mode {}), ETag {etag}", read.domain, read.mode);

    // Nothing changed: 304, which is a value, not an error.
    match domains.get_if_changed(&created.id, etag.clone()).await? {
        Conditional::NotModified(answer) => {
            println!("unchanged (304), ETag {}", answer.etag().unwrap_or("-"));
        }
        Conditional::Modified(fresh) => println!("changed: {}", fresh.mode),
    }

    // A write that names the version it read.
    let upgraded = domains.upgrade(&created.id).if_match(etag.clone()).await?;
    println!(
        "upgraded to {} with If-Match {etag}, new ETag {}",
        upgraded.mode,
        upgraded.etag().unwrap_or("-")
    );

    // The old ETag is stale now: the read returns the new version...
    match domains.get_if_changed(&created.id, etag.clone()).await? {
        Conditional::Modified(fresh) => println!(
            "changed (200): mode {}, ETag {}",
            fresh.mode,
            fresh.etag().unwrap_or("-")
        ),
        Conditional::NotModified(_) => println!("unexpectedly unchanged"),
    }
    // ...and a write with it is refused instead of overwriting a change
    // this program has not seen.
    match domains.upgrade(&created.id).if_match(etag).await {
        Err(ClientError::Api(refused)) => println!(
            "write with the stale ETag refused: {} {} ({})",
            refused.status, refused.code, refused.message
        ),
        Err(other) => return Err(other.into()),
        Ok(_) => println!("unexpectedly accepted"),
    }
    server.shutdown().await;
    Ok(())
}
