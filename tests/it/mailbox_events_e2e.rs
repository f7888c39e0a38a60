//! Live mailbox events end to end: the typed client's stream against the
//! stateful mock, through forced cuts, silent connections, resumption
//! gaps and refused keys.

use std::time::Duration;

use futures::StreamExt;
use futures::stream::BoxStream;
use sendmux_client::clock::VirtualClock;
use sendmux_client::mailbox::events::{MailboxEvent, MailboxRealtimeEventEventType as Type};
use sendmux_client::{Client, Error};
use sendmux_mock::{InboundMessage, MockServer, MockServerBuilder, Propagation, RequestRecord};

use crate::support::assert_conformant;

const ROOT_KEY: &str = "smx_root_events_e2e";

/// A started mock, its root client, and a mailbox's id and key.
pub(crate) struct Setup {
    pub(crate) server: MockServer,
    pub(crate) root: Client,
    pub(crate) mailbox_id: String,
    pub(crate) key: String,
}

pub(crate) async fn setup(builder: MockServerBuilder) -> Setup {
    let server = builder
        .propagation(Propagation::AfterVerifyCalls { calls: 1 })
        .self_check(true)
        .start()
        .await
        .unwrap();
    let root = Client::builder()
        .api_key(ROOT_KEY)
        .base_url(server.base_url())
        .build()
        .unwrap();
    let domain = root.domains().create("live.example.com").await.unwrap();
    root.domains().verify(&domain.id).await.unwrap();
    let created = root
        .mailboxes()
        .create("agent@live.example.com")
        .await
        .unwrap();
    let key = created
        .credential
        .as_ref()
        .expect("a first key")
        .secret
        .expose_secret()
        .to_owned();
    Setup {
        mailbox_id: created.mailbox.id.clone(),
        server,
        root,
        key,
    }
}

impl Setup {
    /// A mailbox client sleeping on `clock`.
    pub(crate) fn client(&self, clock: &VirtualClock) -> Client {
        Client::builder()
            .mailbox_key(&self.key)
            .base_url(self.server.base_url())
            .clock(clock.clone())
            .build()
            .unwrap()
    }

    fn deliver(&self, subject: &str) {
        self.server
            .deliver(
                &self.key,
                InboundMessage {
                    from: "Ada <ada@example.com>".into(),
                    subject: subject.into(),
                    text: Some(format!("{subject} body")),
                    ..InboundMessage::default()
                },
            )
            .unwrap();
    }

    fn event_requests(&self) -> Vec<RequestRecord> {
        self.server
            .requests()
            .into_iter()
            .filter(|r| r.operation.as_deref() == Some("mailboxStreamEvents"))
            .collect()
    }
}

fn header<'r>(record: &'r RequestRecord, name: &str) -> Option<&'r str> {
    record
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

type Events = BoxStream<'static, Result<MailboxEvent, Error>>;

async fn next(events: &mut Events) -> MailboxEvent {
    tokio::time::timeout(Duration::from_secs(20), events.next())
        .await
        .expect("no event within 20 s")
        .expect("an item, not the end")
        .unwrap()
}

fn subject(event: &MailboxEvent) -> String {
    event
        .as_event()
        .and_then(|e| e.message.subject.clone())
        .unwrap_or_default()
}

#[tokio::test]
async fn every_event_arrives_once_in_order_across_100_forced_reconnects() {
    // Every connection is cut right after its first event.
    let s = setup(MockServer::builder().sse_cut_after(1)).await;
    // Half the mail is there before the stream opens (replayed from
    // Last-Event-ID), half arrives while it runs.
    for i in 1..=50 {
        s.deliver(&format!("m{i}"));
    }
    let clock = VirtualClock::new();
    let mut events = s
        .client(&clock)
        .mailbox()
        .events()
        .last_event_id("0")
        .stream();
    for i in 1..=101u32 {
        let event = next(&mut events).await;
        assert_eq!(event.id(), Some(i.to_string().as_str()));
        assert_eq!(subject(&event), format!("m{i}"));
        assert_eq!(event.event_type(), Type::MessageReceived);
        if (50..101).contains(&i) {
            s.deliver(&format!("m{}", i + 1));
        }
    }
    drop(events);

    let requests = s.event_requests();
    assert_eq!(requests.len(), 101, "one connection per event");
    for (i, request) in requests.iter().enumerate() {
        assert_eq!(
            header(request, "last-event-id"),
            Some(i.to_string().as_str())
        );
    }
    // 100 reconnections, each after the mock's `retry: 3000` plus at most
    // a quarter of jitter.
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), 100);
    for sleep in sleeps {
        assert!(
            sleep >= Duration::from_secs(3) && sleep <= Duration::from_millis(3750),
            "{sleep:?}"
        );
    }
    assert_conformant(&s.server);
}

#[tokio::test]
async fn a_stream_without_pings_is_replaced_after_the_ping_timeout() {
    let s = setup(MockServer::builder().sse_pings(false)).await;
    let clock = VirtualClock::new();
    let mut events = s
        .client(&clock)
        .mailbox()
        .events()
        .ping_timeout(Duration::from_millis(400))
        .stream();
    // The first poll opens the connection; mail delivered before that
    // would not be on it.
    let first = tokio::spawn(async move {
        let event = next(&mut events).await;
        (event, events)
    });
    wait_for(|| s.event_requests().len() == 1).await;
    s.deliver("one");
    let (event, mut events) = first.await.unwrap();
    assert_eq!(subject(&event), "one");
    // Silence: the client gives up on the connection and opens another.
    let poll = tokio::spawn(async move { next(&mut events).await });
    wait_for(|| s.event_requests().len() >= 2).await;
    s.deliver("two");
    assert_eq!(subject(&poll.await.unwrap()), "two");
    let requests = s.event_requests();
    assert_eq!(header(&requests[1], "last-event-id"), Some("1"));
}

/// Waits (in real time, up to 20 s) until `done` holds.
async fn wait_for(done: impl Fn() -> bool) {
    for _ in 0..2_000 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("condition not reached in 20 s");
}

#[tokio::test]
async fn a_resume_the_mock_cannot_replay_asks_for_a_resync() {
    let s = setup(MockServer::builder()).await;
    s.deliver("one");
    let clock = VirtualClock::new();
    let mut events = s
        .client(&clock)
        .mailbox()
        .events()
        .last_event_id("999")
        .stream();
    let event = next(&mut events).await;
    assert_eq!(event.event_type(), Type::SyncRequired);
    assert_eq!(event.id(), Some("1"));
    assert!(matches!(event, MailboxEvent::Event { .. }), "{event:?}");
}

#[tokio::test]
async fn refused_keys_end_the_stream() {
    let s = setup(MockServer::builder()).await;
    let clock = VirtualClock::new();
    // A well-formed key with no mailbox behind it.
    let stranger = Client::builder()
        .mailbox_key("smx_mbx_nobody0000000000000000")
        .base_url(s.server.base_url())
        .clock(clock.clone())
        .build()
        .unwrap();
    let mut events = stranger.mailbox().events().stream();
    let error = events.next().await.unwrap().unwrap_err();
    assert_eq!(error.status(), Some(404));
    assert!(events.next().await.is_none());

    // The mailbox deleted: its key is revoked.
    s.root.mailboxes().delete(&s.mailbox_id).await.unwrap();
    let mut events = s.client(&clock).mailbox().events().stream();
    let error = events.next().await.unwrap().unwrap_err();
    assert_eq!(error.status(), Some(401));
    assert!(events.next().await.is_none());
    assert!(clock.sleeps().is_empty(), "no reconnection after a refusal");
}
