//! Retries and idempotency against a mock server started in this process,
//! told to lose the answer of the first domain creation: the domain is
//! stored, then the connection closes before the client hears back.
//!
//! The client cannot know whether that request reached the server. It
//! repeats it anyway, because every create carries an `Idempotency-Key`
//! (made once per call, sent again by each retry): the server recognises
//! the key and replays the stored answer instead of creating a second
//! domain.
//!
//! ```text
//! cargo run -p sendmux-client --example retries
//! ```
#![allow(clippy::print_stdout)]

use sendmux_client::operations::ops;
use sendmux_client::{Client, Error as ClientError, RetryPolicy};
use sendmux_mock::{FaultConfig, FaultKind, FaultRule, MockServer};

type Error = Box<dyn std::error::Error + Send + Sync>;

const KEY: &str = "smx_root_example";

#[tokio::main]
async fn main() -> Result<(), Error> {
    let create = ops::MANAGEMENT_CREATE_DOMAIN.id;
    let server = MockServer::builder()
        .fault(
            FaultRule::new(FaultKind::CloseAfterCommit, 1.0)
                .on_operation(create)
                .times(1),
        )
        .start()
        .await?;
    let client = Client::builder()
        .api_key(KEY)
        .base_url(server.base_url())
        .build()?;

    // The default policy: up to 3 attempts, jittered backoff from 500 ms.
    let created = client.domains().create("mail.example.test").await?;
    println!(
        "created {} after {} attempts",
        created.id,
        created.attempts()
    );
    println!("what the server saw:");
    for (n, request) in server
        .requests()
        .iter()
        .filter(|r| r.operation.as_deref() == Some(create))
        .enumerate()
    {
        println!(
            "  attempt {}: {} {} key={} status={} connection closed={} replayed={}",
            n + 1,
            request.method,
            request.path,
            request.idempotency_key.as_deref().unwrap_or("-"),
            request.status.map_or("-".to_owned(), |s| s.to_string()),
            request.connection_closed,
            request.replayed
        );
    }
    println!("domains stored: {}", server.domain_count(KEY));

    // Without retries the same loss surfaces as an error that says the
    // request may have been applied, with the key that finishes it safely.
    server.set_faults(FaultConfig {
        rules: vec![FaultRule::new(FaultKind::CloseAfterCommit, 1.0).on_operation(create)],
    });
    let once = client
        .domains()
        .create("other.example.test")
        .retry_policy(RetryPolicy::none())
        .await;
    let key = match once {
        Err(error @ ClientError::MaybeSent { .. }) => {
            println!("one attempt only: {error}");
            error
                .idempotency_key()
                .ok_or("a create always carries a key")?
                .to_owned()
        }
        Err(other) => return Err(other.into()),
        Ok(_) => return Err("the answer was not lost".into()),
    };
    println!("domains stored: {}", server.domain_count(KEY));

    // Repeating the call with that key finishes it: the server replays the
    // stored answer and creates nothing new.
    server.set_faults(FaultConfig::default());
    let finished = client
        .domains()
        .create("other.example.test")
        .idempotency_key(key.clone())
        .await?;
    println!(
        "repeated with key {key}: {} (request {}); domains stored: {}",
        finished.id,
        finished.request_id().unwrap_or("-"),
        server.domain_count(KEY)
    );
    server.shutdown().await;
    Ok(())
}
