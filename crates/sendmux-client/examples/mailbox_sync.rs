//! Keeps a local copy of a mailbox's messages in step with the server,
//! against the mock server started in this process: the recipe of the
//! `mailbox` module's "Keeping a local cache in sync", end to end.
//!
//! ```text
//! cargo run -p sendmux-client --example mailbox_sync
//! ```
#![allow(clippy::print_stdout)]

use std::collections::BTreeMap;

use futures::TryStreamExt;
use sendmux_client::Client;
use sendmux_client::mailbox::{Mailbox, ResourceType, States, SyncOutcome};
use sendmux_client::types::MailboxMessageSummary;
use sendmux_mock::{InboundMessage, MockServer, Propagation};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// The local copy: messages by id.
type Cache = BTreeMap<String, MailboxMessageSummary>;

/// Steps 1 and 2: the states first, then every message they cover.
async fn load(mailbox: &Mailbox, cache: &mut Cache) -> Result<States, Error> {
    let session = mailbox.session().await?;
    let states = States::from(&*session).only([ResourceType::Messages]);
    cache.clear();
    let mut all = mailbox.messages().list().limit(100).stream();
    while let Some(message) = all.try_next().await? {
        cache.insert(message.id.clone(), message);
    }
    Ok(states)
}

/// Steps 3 and 4: apply what changed since `states`, or load again.
async fn sync(mailbox: &Mailbox, cache: &mut Cache, states: States) -> Result<States, Error> {
    let changes = match mailbox.changes_since(states).await? {
        SyncOutcome::Changes(changes) => changes,
        SyncOutcome::ResyncRequired { resources } => {
            println!("  the server cannot replay {resources:?}: loading again");
            return load(mailbox, cache).await;
        }
        other => return Err(format!("unexpected outcome {other:?}").into()),
    };
    let Some(messages) = changes.get(ResourceType::Messages) else {
        return Ok(changes.states());
    };
    for id in &messages.destroyed {
        cache.remove(id);
        println!("  destroyed {id}");
    }
    if !messages.created.is_empty() || !messages.updated.is_empty() {
        let fetched = mailbox
            .messages()
            .batch_get(messages.created.iter().chain(&messages.updated))
            .await?;
        if let Some(error) = fetched.error() {
            return Err(format!("batch read failed: {error}").into());
        }
        for item in fetched.found() {
            let message = &item.message;
            let verb = if messages.created.contains(&message.id) {
                "created"
            } else {
                "updated"
            };
            println!(
                "  {verb} {} {:?} (seen: {})",
                message.id, message.subject, message.flags.seen
            );
            cache.insert(message.id.clone(), message.clone());
        }
    }
    if messages.is_empty() {
        println!("  nothing changed");
    }
    Ok(changes.states())
}

fn mail(subject: &str) -> InboundMessage {
    InboundMessage {
        from: "Ada Lovelace <ada@example.com>".into(),
        subject: subject.into(),
        text: Some(format!("{subject}: see the attached figures.")),
        ..InboundMessage::default()
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let server = MockServer::builder()
        .propagation(Propagation::AfterVerifyCalls { calls: 1 })
        .start()
        .await?;
    println!("mock server at {}", server.base_url());

    // The Management API, with a root key: a verified domain and a mailbox.
    let root = Client::builder()
        .api_key("smx_root_example")
        .base_url(server.base_url())
        .build()?;
    let domain = root.domains().create("mail.example.test").await?;
    root.domains().verify(&domain.id).await?;
    let created = root.mailboxes().create("agent@mail.example.test").await?;
    let key = created
        .into_inner()
        .credential
        .ok_or("the mailbox came without a key")?
        .secret
        .expose_secret()
        .to_owned();

    // The Mailbox API, with the mailbox's key.
    let mailbox = root.with_mailbox_key(&key)?.mailbox();
    server.deliver(&key, mail("Welcome"))?;

    let mut cache = Cache::new();
    let mut states = load(&mailbox, &mut cache).await?;
    println!("loaded {} message(s)", cache.len());

    println!("two messages arrive:");
    server.deliver(&key, mail("Quarterly numbers"))?;
    server.deliver(&key, mail("Re: Quarterly numbers"))?;
    states = sync(&mailbox, &mut cache, states).await?;

    println!("one is marked read, another deleted for good:");
    let mut ids = cache.keys().cloned();
    let (read, gone) = (
        ids.next().ok_or("empty cache")?,
        ids.next().ok_or("one message only")?,
    );
    mailbox.messages().update(&read).seen(true).await?;
    mailbox.messages().delete(&gone).permanently().await?;
    states = sync(&mailbox, &mut cache, states).await?;

    println!("and then nothing happens:");
    states = sync(&mailbox, &mut cache, states).await?;

    let stored = serde_json::to_string(&states)?;
    println!(
        "{} message(s) cached; states to store: {stored}",
        cache.len()
    );
    server.shutdown().await;
    Ok(())
}
