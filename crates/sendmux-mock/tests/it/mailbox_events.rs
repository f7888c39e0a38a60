//! `GET /mailbox/events` read as raw Server-Sent Events: delivered mail
//! on the stream, `Last-Event-ID` resumes, the resync event, the cut and
//! no-ping faults, pings, the type filter, and the end at shutdown.

use std::time::Duration;

use bytes::Bytes;
use http::Method;
use sendmux_mock::{EventStreamConfig, InboundMessage, MockServer};
use serde_json::{Value, json};

use crate::harness::{Resp, assert_no_violations, check};
use crate::mailbox_api::{Setup, mail, setup, setup_with, str_of};

/// One block of the stream.
#[derive(Debug, Default)]
struct Event {
    id: Option<String>,
    event: Option<String>,
    data: Option<String>,
    retry: Option<String>,
}

impl Event {
    fn kind(&self) -> &str {
        self.event.as_deref().unwrap_or("")
    }

    fn json(&self) -> Value {
        serde_json::from_str(self.data.as_deref().unwrap_or("null")).unwrap()
    }
}

/// An open stream, read chunk by chunk.
struct Stream {
    resp: reqwest::Response,
    buf: Vec<u8>,
}

/// Opens the stream with `query`, optionally resuming with the
/// `Last-Event-ID` header, and checks the answer's status and headers
/// against the spec (the body is a stream; the conformance check takes
/// its content type and leaves the rest).
async fn open(s: &Setup, query: &str, last_event_id: Option<&str>) -> Stream {
    let mut req = reqwest::Client::new()
        .get(format!("{}/mailbox/events{query}", s.server.base_url()))
        .bearer_auth(&s.key);
    if let Some(id) = last_event_id {
        req = req.header("last-event-id", id);
    }
    let resp = req.send().await.unwrap();
    let head = Resp {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        body: Bytes::new(),
    };
    check(
        &Method::GET,
        &format!("/api/v1/mailbox/events{query}"),
        &head,
    );
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-type"), Some("text/event-stream"));
    let mut stream = Stream {
        resp,
        buf: Vec::new(),
    };
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(first.retry.as_deref(), Some("3000"), "{first:?}");
    stream
}

impl Stream {
    /// The next block; `Ok(None)` at the end of the stream, `Err` when the
    /// connection broke.
    async fn next(&mut self) -> Result<Option<Event>, reqwest::Error> {
        loop {
            if let Some(at) = self.buf.windows(2).position(|w| w == b"\n\n") {
                let block: Vec<u8> = self.buf.drain(..at + 2).collect();
                let text = String::from_utf8(block).unwrap();
                let mut event = Event::default();
                for line in text.lines().filter(|l| !l.is_empty()) {
                    let (field, value) = line.split_once(": ").unwrap_or((line, ""));
                    let slot = match field {
                        "id" => &mut event.id,
                        "event" => &mut event.event,
                        "data" => &mut event.data,
                        "retry" => &mut event.retry,
                        other => panic!("unexpected field {other} in {text:?}"),
                    };
                    *slot = Some(value.to_owned());
                }
                return Ok(Some(event));
            }
            let chunk = tokio::time::timeout(Duration::from_secs(20), self.resp.chunk())
                .await
                .expect("the stream stalled for 20 s")?;
            match chunk {
                Some(bytes) => self.buf.extend_from_slice(&bytes),
                None => {
                    assert!(self.buf.is_empty(), "a partial block at the end");
                    return Ok(None);
                }
            }
        }
    }

    /// The next event that is not a ping.
    async fn event(&mut self) -> Event {
        loop {
            let event = self.next().await.unwrap().expect("an event, not the end");
            if event.kind() != "ping" {
                return event;
            }
        }
    }
}

/// `data` keys of `value` are all declared by `schema` (a component of
/// the document) and its required ones are all there; `message` is
/// checked the same way against its own schema.
fn assert_shape(value: &Value, schema: &str) {
    let doc = sendmux_conformance::Spec::embedded().document();
    let s = &doc["components"]["schemas"][schema];
    let declared = s["properties"].as_object().unwrap();
    let object = value.as_object().unwrap();
    for key in object.keys() {
        assert!(declared.contains_key(key), "{schema} has no {key}");
    }
    for required in s["required"].as_array().unwrap() {
        assert!(
            object.contains_key(required.as_str().unwrap()),
            "{schema} needs {required}"
        );
    }
}

#[tokio::test]
async fn a_delivered_message_appears_on_the_stream_and_goes_to_webhooks() {
    let mut hook = crate::webhooks::Receiver::start().await;
    let s = setup_with(MockServer::builder().allow_http_webhooks(true)).await;
    let sub = s
        .root
        .post(
            "/webhooks",
            json!({ "url": hook.url("in"), "event_types": ["message.received"] }),
        )
        .await;
    assert_eq!(sub.status, 201);
    let mut stream = open(&s, "", None).await;
    let id = s
        .server
        .deliver(
            &s.key,
            InboundMessage {
                attachments: vec![(
                    "a.txt".into(),
                    "text/plain".into(),
                    Bytes::from_static(b"hi"),
                )],
                ..mail("Live", "Hello live")
            },
        )
        .unwrap();
    let event = stream.event().await;
    assert_eq!(event.id.as_deref(), Some("1"));
    assert_eq!(event.kind(), "message.received");
    let data = event.json();
    assert_shape(&data, "MailboxRealtimeEvent");
    assert_shape(&data["message"], "MailboxRealtimeMessage");
    assert_eq!(data["event_type"], "message.received");
    assert_eq!(data["mailbox_id"], s.mailbox_id.as_str());
    assert!(str_of(&data, "/team_public_id").starts_with("team_"));
    assert_eq!(data["message_id_kind"], "rfc5322");
    assert_eq!(data["message_id"], data["message"]["rfc5322_message_id"]);
    assert_eq!(data["sender"], "ada@example.com");
    assert_eq!(data["recipients"], json!(["agent@acme.com"]));
    assert_eq!(data["is_spam"], false);
    assert_eq!(data["message"]["id"], id.as_str());
    assert_eq!(data["message"]["subject"], "Live");
    assert_eq!(data["message"]["body"]["text"], "Hello live");
    assert_eq!(data["message"]["body"]["is_truncated"], false);
    assert_eq!(data["message"]["attachments"][0]["filename"], "a.txt");

    let delivery = hook.next().await;
    assert_eq!(delivery.header("x-sendmux-event-type"), "message.received");
    assert_no_violations(&s.server);
}

#[tokio::test]
async fn last_event_id_resumes_without_loss_or_duplicates() {
    let s = setup().await;
    for i in 1..=3 {
        s.server
            .deliver(&s.key, mail(&format!("M{i}"), "x"))
            .unwrap();
    }
    // A stream without an id starts with what comes next.
    let mut fresh = open(&s, "", None).await;
    let mut resumed = open(&s, "", Some("1")).await;
    for want in ["2", "3"] {
        assert_eq!(resumed.event().await.id.as_deref(), Some(want));
    }
    s.server.deliver(&s.key, mail("M4", "x")).unwrap();
    assert_eq!(resumed.event().await.id.as_deref(), Some("4"));
    assert_eq!(fresh.event().await.id.as_deref(), Some("4"));
    // The query form, for clients that cannot set headers.
    let mut by_query = open(&s, "?last_event_id=2", None).await;
    let got: Vec<String> = [by_query.event().await, by_query.event().await]
        .into_iter()
        .map(|e| e.id.unwrap())
        .collect();
    assert_eq!(got, ["3", "4"]);
    // Resuming at the newest id replays nothing: the next event is new.
    let mut caught_up = open(&s, "", Some("4")).await;
    s.server.deliver(&s.key, mail("M5", "x")).unwrap();
    let next = caught_up.event().await;
    assert_eq!(next.id.as_deref(), Some("5"));
    assert_eq!(next.json()["message"]["subject"], "M5");
}

#[tokio::test]
async fn a_resume_beyond_the_buffer_asks_for_a_resync() {
    let s = setup_with(MockServer::builder().mailbox_event_buffer(2)).await;
    for i in 1..=4 {
        s.server
            .deliver(&s.key, mail(&format!("M{i}"), "x"))
            .unwrap();
    }
    let mut stream = open(&s, "", Some("1")).await;
    let sync = stream.event().await;
    assert_eq!(sync.kind(), "sync_required");
    assert_eq!(sync.id.as_deref(), Some("4"));
    let data = sync.json();
    assert_shape(&data, "MailboxRealtimeEvent");
    assert_eq!(data["event_type"], "sync_required");
    assert_eq!(data["message"]["id"], "");
    s.server.deliver(&s.key, mail("M5", "x")).unwrap();
    assert_eq!(stream.event().await.id.as_deref(), Some("5"));
    // An id this stream never issued is a gap too.
    let mut future = open(&s, "", Some("99")).await;
    assert_eq!(future.event().await.kind(), "sync_required");
    // Still buffered: replayed as usual.
    let mut recent = open(&s, "", Some("3")).await;
    assert_eq!(recent.event().await.id.as_deref(), Some("4"));
}

#[tokio::test]
async fn the_cut_fault_drops_the_stream_after_n_events() {
    let s = setup_with(MockServer::builder().sse_cut_after(2)).await;
    for i in 1..=3 {
        s.server
            .deliver(&s.key, mail(&format!("M{i}"), "x"))
            .unwrap();
    }
    let mut stream = open(&s, "?last_event_id=0", None).await;
    assert_eq!(stream.event().await.id.as_deref(), Some("1"));
    assert_eq!(stream.event().await.id.as_deref(), Some("2"));
    assert!(stream.next().await.is_err(), "the connection must break");
    // The client resumes from the last id it saw, and loses nothing.
    let mut again = open(&s, "", Some("2")).await;
    assert_eq!(again.event().await.id.as_deref(), Some("3"));
    s.server.deliver(&s.key, mail("M4", "x")).unwrap();
    assert_eq!(again.event().await.id.as_deref(), Some("4"));
    assert!(again.next().await.is_err());
    // Turned off at run time, streams last again.
    s.server.set_event_stream(EventStreamConfig::default());
    let mut calm = open(&s, "?last_event_id=1", None).await;
    for want in ["2", "3", "4"] {
        assert_eq!(calm.event().await.id.as_deref(), Some(want));
    }
    s.server.deliver(&s.key, mail("M5", "x")).unwrap();
    assert_eq!(calm.event().await.id.as_deref(), Some("5"));
}

#[tokio::test]
async fn pings_arrive_at_the_configured_interval() {
    let s = setup_with(MockServer::builder().sse_ping_interval(Duration::from_millis(30))).await;
    let mut stream = open(&s, "", None).await;
    for _ in 0..3 {
        let ping = stream.next().await.unwrap().unwrap();
        assert_eq!(ping.kind(), "ping");
        assert_eq!(ping.data.as_deref(), Some("{}"));
        assert_eq!(ping.id, None, "pings do not move Last-Event-ID");
    }
}

#[tokio::test]
async fn without_pings_nothing_but_events_arrives() {
    let s = setup_with(
        MockServer::builder()
            .sse_ping_interval(Duration::from_millis(10))
            .sse_pings(false),
    )
    .await;
    let mut stream = open(&s, "", None).await;
    // With pings on, about thirty would come before this message.
    let (event, _) = tokio::join!(stream.next(), async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        s.server.deliver(&s.key, mail("Only", "x")).unwrap();
    });
    assert_eq!(event.unwrap().unwrap().kind(), "message.received");

    // And the admin route turns them on again for new streams.
    let http = reqwest::Client::new();
    let config = json!({ "ping_interval_ms": 10, "pings": true, "cut_after": null });
    let r = http
        .put(format!("{}/event_stream", s.server.admin_url()))
        .json(&config)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(s.server.event_stream().pings);
    let mut pinged = open(&s, "", None).await;
    assert_eq!(pinged.next().await.unwrap().unwrap().kind(), "ping");
}

#[tokio::test]
async fn event_types_filter_what_a_stream_carries() {
    let s = setup().await;
    let mut spam_only = open(&s, "?event_types=message.received.spam", None).await;
    s.server.deliver(&s.key, mail("Ham", "x")).unwrap();
    s.server
        .deliver(
            &s.key,
            InboundMessage {
                spam: true,
                ..mail("Spam", "x")
            },
        )
        .unwrap();
    let event = spam_only.event().await;
    assert_eq!(event.kind(), "message.received.spam");
    assert_eq!(event.id.as_deref(), Some("2"));
    assert_eq!(event.json()["is_spam"], true);

    for bad in [
        "?event_types=message.bounced",
        "?ping=5",
        "?close_after=10",
        "?last_event_id=abc",
    ] {
        s.mbx
            .get(&format!("/mailbox/events{bad}"))
            .await
            .assert_error(400, "invalid_parameter");
    }
    s.mbx
        .call(Method::GET, "/mailbox/events")
        .header("last-event-id", "x1")
        .send()
        .await
        .assert_error(400, "invalid_parameter");
    s.root
        .get("/mailbox/events")
        .await
        .assert_error(403, "insufficient_permissions");
}

#[tokio::test]
async fn streams_end_when_the_server_shuts_down() {
    let s = setup().await;
    let mut stream = open(&s, "", None).await;
    let Setup { server, .. } = s;
    let stopping = tokio::spawn(server.shutdown());
    // A clean end of the body, not a broken connection.
    assert!(stream.next().await.unwrap().is_none());
    stopping.await.unwrap();
}
