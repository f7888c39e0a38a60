//! `client.mailbox().events()`: typed events in order, unknown and
//! undecodable ones handed over, reconnection with `Last-Event-ID` after
//! a cut, a close, a silence or a retryable status, the server's `retry:`
//! delay, and the answers that end the stream.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use sendmux_client::Client;
use sendmux_client::clock::VirtualClock;
use sendmux_client::mailbox::events::{MailboxEvent, MailboxRealtimeEventEventType as Type};
use sendmux_client::sse::Parser;
use serde_json::{Value, json};

use crate::stream_server::{Reply, Step, StreamServer};

pub(crate) const MAILBOX_KEY: &str = "smx_mbx_TOPSECRET0123456789";

pub(crate) fn client(server: &StreamServer, clock: &VirtualClock) -> Client {
    Client::builder()
        .mailbox_key(MAILBOX_KEY)
        .base_url(&server.base)
        .clock(clock.clone())
        .build()
        .unwrap()
}

/// A `MailboxRealtimeEvent` of `event_type` about a message with `subject`.
fn realtime(event_type: &str, subject: &str) -> Value {
    json!({
        "event_type": event_type,
        "team_public_id": "team_1",
        "mailbox_id": "mbx_1",
        "message_id": "<m@example.com>",
        "message_id_kind": "rfc5322",
        "sender": "ada@example.com",
        "recipients": ["agent@acme.com"],
        "is_spam": event_type == "message.received.spam",
        "message": {
            "id": "msg_1", "thread_id": "thr_1", "folder_ids": ["fld_inbox"],
            "subject": subject, "preview": "hi", "from": {"email": "ada@example.com", "name": null},
            "to": [], "cc": [], "bcc": [], "received_at": "2026-11-01T10:00:00Z",
            "sent_at": null, "size_bytes": 10, "has_attachments": false, "keywords": [],
            "flags": {"seen": false, "flagged": false, "draft": false, "answered": false},
            "rfc5322_message_id": "<m@example.com>",
            "body": {"text": "hi", "html": null, "is_truncated": false, "max_bytes": 16384}
        },
        "occurred_at": "2026-11-01T10:00:00Z"
    })
}

/// One SSE block.
fn block(id: u32, event_type: &str, subject: &str) -> String {
    format!(
        "id: {id}\nevent: {event_type}\ndata: {}\n\n",
        realtime(event_type, subject)
    )
}

fn stream_reply() -> Reply {
    Reply::new(200).header("content-type", "text/event-stream")
}

fn subject(event: &MailboxEvent) -> String {
    event
        .as_event()
        .and_then(|e| e.message.subject.clone())
        .unwrap_or_default()
}

/// The next `n` events, failing the test if they take more than 20 s.
async fn take(
    events: &mut futures::stream::BoxStream<'static, Result<MailboxEvent, sendmux_client::Error>>,
    n: usize,
) -> Vec<MailboxEvent> {
    let mut out = Vec::new();
    for _ in 0..n {
        let next = tokio::time::timeout(Duration::from_secs(20), events.try_next())
            .await
            .expect("no event within 20 s");
        out.push(next.unwrap().expect("an event, not the end"));
    }
    out
}

#[tokio::test]
async fn typed_events_arrive_in_order_and_pings_are_not_yielded() {
    let server = StreamServer::script(vec![
        stream_reply()
            .chunk(format!(
                "retry: 3000\n\n: hello\n\nevent: ping\ndata: {{}}\n\n{}",
                block(1, "message.received", "first")
            ))
            // The second event split mid-line, and a ping between.
            .chunk(block(2, "message.received.spam", "second")[..30].to_owned())
            .chunk(format!(
                "{}event: ping\ndata: {{}}\n\n",
                &block(2, "message.received.spam", "second")[30..]
            ))
            .step(Step::Hang),
    ])
    .await;
    let clock = VirtualClock::new();
    let mut events = client(&server, &clock)
        .mailbox()
        .events()
        .event_types([Type::MessageReceived, Type::MessageReceivedSpam])
        .close_after(Duration::from_secs(600))
        .stream();
    let got = take(&mut events, 2).await;
    assert_eq!(got[0].id(), Some("1"));
    assert_eq!(got[0].event_type(), Type::MessageReceived);
    assert_eq!(subject(&got[0]), "first");
    assert_eq!(got[1].id(), Some("2"));
    assert_eq!(got[1].event_type(), Type::MessageReceivedSpam);
    assert_eq!(got[1].as_event().unwrap().is_spam, Some(true));

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let first = &requests[0];
    assert_eq!(first.method, "GET");
    assert_eq!(first.path, "/api/v1/mailbox/events");
    assert_eq!(
        first.header("authorization"),
        Some(format!("Bearer {MAILBOX_KEY}").as_str())
    );
    assert_eq!(first.header("accept"), Some("text/event-stream"));
    assert_eq!(first.header("last-event-id"), None);
    assert!(
        first
            .query
            .contains("event_types=message.received%2Cmessage.received.spam"),
        "{}",
        first.query
    );
    assert!(first.query.contains("close_after=600"), "{}", first.query);
}

#[tokio::test]
async fn unknown_and_undecodable_events_reach_the_caller() {
    let server = StreamServer::script(vec![
        stream_reply()
            .chunk(block(1, "message.deleted", "gone"))
            .chunk("id: 2\nevent: mailbox.renamed\ndata: {\"name\": \"new\"}\n\n")
            .chunk(block(3, "message.received", "after"))
            .step(Step::Hang),
    ])
    .await;
    let clock = VirtualClock::new();
    let mut events = client(&server, &clock).mailbox().events().stream();
    let got = take(&mut events, 3).await;
    assert_eq!(got[0].event_type(), Type::Unknown("message.deleted".into()));
    assert_eq!(subject(&got[0]), "gone");
    match &got[1] {
        MailboxEvent::Undecodable {
            event,
            id,
            data,
            reason,
        } => {
            assert_eq!(event, "mailbox.renamed");
            assert_eq!(id.as_deref(), Some("2"));
            assert_eq!(data, "{\"name\": \"new\"}");
            assert!(!reason.is_empty());
        }
        other => panic!("expected an undecodable event, got {other:?}"),
    }
    assert_eq!(got[1].event_type(), Type::Unknown("mailbox.renamed".into()));
    assert_eq!(subject(&got[2]), "after");
}

#[tokio::test]
async fn a_cut_or_a_close_reconnects_with_the_last_event_id() {
    let server = StreamServer::script(vec![
        stream_reply()
            .chunk(block(1, "message.received", "one"))
            .chunk(block(2, "message.received", "two"))
            // Half an event, then the connection drops: not delivered.
            .chunk("id: 3\nevent: message.received\ndata: {\"half")
            .step(Step::Cut),
        // The server ends the body cleanly.
        stream_reply().chunk(block(3, "message.received", "three")),
        stream_reply()
            .chunk(block(4, "message.received", "four"))
            .step(Step::Hang),
    ])
    .await;
    let clock = VirtualClock::new();
    let mut events = client(&server, &clock)
        .mailbox()
        .events()
        .last_event_id("0")
        .stream();
    let got = take(&mut events, 4).await;
    let subjects: Vec<String> = got.iter().map(subject).collect();
    assert_eq!(subjects, ["one", "two", "three", "four"]);
    let resumed: Vec<Option<String>> = server
        .requests()
        .iter()
        .map(|r| r.header("last-event-id").map(str::to_owned))
        .collect();
    assert_eq!(
        resumed,
        [
            Some("0".to_owned()),
            Some("2".to_owned()),
            Some("3".to_owned())
        ]
    );
    // Two reconnections, each after the default delay (1 s) plus at most
    // a quarter of jitter.
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), 2, "{sleeps:?}");
    for sleep in sleeps {
        assert!(
            sleep >= Duration::from_secs(1) && sleep <= Duration::from_millis(1250),
            "{sleep:?}"
        );
    }
}

#[tokio::test]
async fn the_retry_field_sets_the_reconnection_delay() {
    let server = StreamServer::script(vec![
        stream_reply()
            .chunk("retry: 5000\n\n")
            .chunk(block(1, "message.received", "one")),
        stream_reply()
            .chunk(block(2, "message.received", "two"))
            .step(Step::Hang),
    ])
    .await;
    let clock = VirtualClock::new();
    let mut events = client(&server, &clock).mailbox().events().stream();
    take(&mut events, 2).await;
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), 1, "{sleeps:?}");
    assert!(
        sleeps[0] >= Duration::from_secs(5) && sleeps[0] <= Duration::from_millis(6250),
        "{sleeps:?}"
    );
}

#[tokio::test]
async fn a_silent_connection_is_replaced_after_the_ping_timeout() {
    let server = StreamServer::script(vec![
        // One event, then nothing at all: no pings either.
        stream_reply()
            .chunk(block(1, "message.received", "one"))
            .step(Step::Hang),
        stream_reply()
            .chunk(block(2, "message.received", "two"))
            .step(Step::Hang),
    ])
    .await;
    let clock = VirtualClock::new();
    let mut events = client(&server, &clock)
        .mailbox()
        .events()
        .ping_timeout(Duration::from_millis(300))
        .stream();
    let got = take(&mut events, 2).await;
    assert_eq!(subject(&got[1]), "two");
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].header("last-event-id"), Some("1"));
}

#[tokio::test]
async fn pings_keep_a_quiet_connection_alive() {
    let ping = "event: ping\ndata: {}\n\n";
    let mut reply = stream_reply().chunk(block(1, "message.received", "one"));
    for _ in 0..6 {
        reply = reply
            .step(Step::Pause(Duration::from_millis(100)))
            .chunk(ping);
    }
    let server = StreamServer::script(vec![
        reply
            .chunk(block(2, "message.received", "two"))
            .step(Step::Hang),
    ])
    .await;
    let clock = VirtualClock::new();
    let mut events = client(&server, &clock)
        .mailbox()
        .events()
        .ping_timeout(Duration::from_millis(400))
        .stream();
    take(&mut events, 2).await;
    // 600 ms of pings, no silence over 400 ms: one connection.
    assert_eq!(server.requests().len(), 1);
}

fn error_body(code: &str, retryable: bool) -> Value {
    json!({
        "ok": false,
        "error": {"code": code, "message": "no", "retryable": retryable},
        "meta": {"request_id": "req_err"}
    })
}

#[tokio::test]
async fn final_answers_end_the_stream_with_the_error() {
    for (status, code) in [
        (401, "authentication_required"),
        (403, "insufficient_permissions"),
        (404, "not_found"),
        (400, "invalid_parameter"),
    ] {
        let server =
            StreamServer::script(vec![Reply::json(status, &error_body(code, false))]).await;
        let clock = VirtualClock::new();
        let mut events = client(&server, &clock).mailbox().events().stream();
        let error = events.next().await.unwrap().unwrap_err();
        assert_eq!(error.status(), Some(status));
        assert_eq!(error.code().map(|c| c.as_str()), Some(code));
        assert!(
            events.next().await.is_none(),
            "the stream ends after {status}"
        );
        assert_eq!(server.requests().len(), 1, "no reconnection after {status}");
        assert!(clock.sleeps().is_empty());
    }
}

#[tokio::test]
async fn retryable_answers_back_off_and_honour_retry_after() {
    let unavailable = Reply::json(503, &error_body("service_unavailable", true));
    let server = StreamServer::script(vec![
        unavailable.clone(),
        unavailable.clone(),
        unavailable.header("retry-after", "20"),
        stream_reply()
            .chunk(block(1, "message.received", "one"))
            .step(Step::Hang),
    ])
    .await;
    let clock = VirtualClock::new();
    let mut events = client(&server, &clock).mailbox().events().stream();
    take(&mut events, 1).await;
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), 3, "{sleeps:?}");
    // 1 s, then doubled, each with at most a quarter of jitter.
    assert!(sleeps[0] >= Duration::from_secs(1) && sleeps[0] <= Duration::from_millis(1250));
    assert!(sleeps[1] >= Duration::from_secs(2) && sleeps[1] <= Duration::from_millis(2500));
    // The server's Retry-After outweighs the backoff.
    assert!(sleeps[2] >= Duration::from_secs(20), "{sleeps:?}");
}

#[tokio::test]
async fn max_retries_bounds_the_reconnections() {
    let server = StreamServer::script(vec![Reply::json(
        503,
        &error_body("service_unavailable", true),
    )])
    .await;
    let clock = VirtualClock::new();
    let mut events = client(&server, &clock)
        .mailbox()
        .events()
        .max_retries(3)
        .stream();
    let error = events.next().await.unwrap().unwrap_err();
    // The last answer, not a made-up error.
    assert_eq!(error.status(), Some(503), "{error}");
    assert!(events.next().await.is_none());
    assert_eq!(server.requests().len(), 4);
}

#[tokio::test]
async fn an_oversized_event_ends_the_stream() {
    let server = StreamServer::script(vec![
        stream_reply()
            .chunk(format!("data: {}\n\n", "x".repeat(200)))
            .step(Step::Hang),
    ])
    .await;
    let clock = VirtualClock::new();
    let mut events = client(&server, &clock)
        .mailbox()
        .events()
        .max_event_bytes(64)
        .stream();
    let error = events.next().await.unwrap().unwrap_err();
    assert!(
        matches!(error, sendmux_client::Error::Undecodable { .. }),
        "{error}"
    );
    assert!(events.next().await.is_none());
}

#[tokio::test]
async fn a_non_stream_answer_is_refused() {
    let server = StreamServer::script(vec![Reply::json(200, &json!({"ok": true}))]).await;
    let clock = VirtualClock::new();
    let mut events = client(&server, &clock).mailbox().events().stream();
    let error = events.next().await.unwrap().unwrap_err();
    assert!(error.to_string().contains("event stream"), "{error}");
    assert!(events.next().await.is_none());
}

#[tokio::test]
async fn invalid_options_fail_before_any_request() {
    let server = StreamServer::script(vec![stream_reply()]).await;
    let clock = VirtualClock::new();
    let mailbox = client(&server, &clock).mailbox();
    let cases = [
        (
            mailbox.events().close_after(Duration::from_secs(5)),
            "close_after",
        ),
        (
            mailbox.events().ping_interval(Duration::from_secs(1)),
            "ping",
        ),
        (
            mailbox.events().event_types([Type::SyncRequired]),
            "event_types",
        ),
        (
            mailbox.events().ping_timeout(Duration::ZERO),
            "ping_timeout",
        ),
        (mailbox.events().last_event_id("1\n2"), "last_event_id"),
    ];
    for (events, field) in cases {
        let error = events.stream().next().await.unwrap().unwrap_err();
        assert_eq!(
            error.as_invalid_input().map(|i| i.field.as_str()),
            Some(field)
        );
    }
    // A root key alone cannot open the stream.
    let root = Client::builder()
        .api_key("smx_root_TOPSECRET0123456789")
        .base_url(&server.base)
        .build()
        .unwrap();
    let error = root
        .mailbox()
        .events()
        .stream()
        .next()
        .await
        .unwrap()
        .unwrap_err();
    assert!(error.as_invalid_input().is_some(), "{error}");
    assert!(server.requests().is_empty());
}

/// Log lines written while the stream runs.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn connections_are_traced_without_the_key() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let server = StreamServer::script(vec![
        stream_reply()
            .chunk(block(7, "message.received", "one"))
            .step(Step::Cut),
        stream_reply()
            .chunk(block(8, "message.received", "two"))
            .step(Step::Hang),
    ])
    .await;
    let clock = VirtualClock::new();
    let mut events = client(&server, &clock).mailbox().events().stream();
    take(&mut events, 2).await;
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("sendmux.events"), "{text}");
    assert!(text.contains("attempt=2"), "{text}");
    assert!(
        text.contains("last_event_id=\"7\"") || text.contains("last_event_id=7"),
        "{text}"
    );
    assert!(!text.contains("TOPSECRET"), "{text}");
}

#[test]
fn the_parser_is_public_for_other_transports() {
    let mut parser = Parser::new();
    let mut input: &[u8] = b"id: 1\ndata: x\n\n";
    let event = parser.next(&mut input).unwrap().unwrap();
    assert_eq!((event.data.as_str(), event.id.as_deref()), ("x", Some("1")));
}
