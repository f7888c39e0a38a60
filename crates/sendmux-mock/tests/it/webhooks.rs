//! Webhook subscriptions and real signed deliveries, received by a plain
//! HTTP server inside the test.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use http::{HeaderMap, Method, StatusCode};
use sendmux_mock::{ManualClock, MockServer};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use crate::harness::{Api, KEY, assert_no_violations, wait_until};

/// One POST the receiver got.
#[derive(Debug)]
pub(crate) struct Delivery {
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

impl Delivery {
    pub(crate) fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    /// Whether `X-Sendmux-Signature` is the HMAC-SHA256 of the raw body
    /// under `secret`, checked in constant time as receivers should.
    fn signed_with(&self, secret: &str) -> bool {
        let Some(hex) = self.header("x-sendmux-signature").strip_prefix("sha256=") else {
            return false;
        };
        let Some(tag) = decode_hex(hex) else {
            return false;
        };
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(&self.body);
        mac.verify_slice(&tag).is_ok()
    }
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    s.len().is_multiple_of(2).then_some(())?;
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A local plain-HTTP endpoint: every POST lands in a channel and is
/// answered with the next queued status (200 once the queue is empty).
pub(crate) struct Receiver {
    base: String,
    rx: mpsc::UnboundedReceiver<Delivery>,
    statuses: Arc<Mutex<VecDeque<u16>>>,
}

#[derive(Clone)]
struct Shared {
    tx: mpsc::UnboundedSender<Delivery>,
    statuses: Arc<Mutex<VecDeque<u16>>>,
}

impl Receiver {
    pub(crate) async fn start() -> Self {
        async fn hook(
            State(s): State<Shared>,
            uri: http::Uri,
            headers: HeaderMap,
            body: Bytes,
        ) -> StatusCode {
            let _ = s.tx.send(Delivery {
                path: uri.path().to_owned(),
                headers,
                body,
            });
            let next = s.statuses.lock().unwrap().pop_front().unwrap_or(200);
            StatusCode::from_u16(next).unwrap()
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let statuses = Arc::new(Mutex::new(VecDeque::new()));
        let shared = Shared {
            tx,
            statuses: Arc::clone(&statuses),
        };
        let app = axum::Router::new()
            .route("/{*path}", axum::routing::post(hook))
            .with_state(shared);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { base, rx, statuses }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.base)
    }

    /// Answers the next POSTs with these statuses, in order.
    fn answer(&self, statuses: &[u16]) {
        self.statuses.lock().unwrap().extend(statuses);
    }

    pub(crate) async fn next(&mut self) -> Delivery {
        tokio::time::timeout(Duration::from_secs(30), self.rx.recv())
            .await
            .expect("a delivery within 30 s")
            .expect("receiver open")
    }

    /// Everything received so far, without waiting.
    pub(crate) fn drain(&mut self) -> Vec<Delivery> {
        std::iter::from_fn(|| self.rx.try_recv().ok()).collect()
    }
}

async fn server() -> MockServer {
    MockServer::builder()
        .allow_http_webhooks(true)
        .webhook_retry(3, Duration::from_millis(10))
        .self_check(true)
        .start()
        .await
        .unwrap()
}

/// Creates a subscription and returns its `data` (with the secret).
async fn subscribe(api: &Api, url: &str, events: &[&str]) -> Value {
    let r = api
        .post("/webhooks", json!({ "url": url, "event_types": events }))
        .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    r.json()["data"].clone()
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

/// Waits until the worker has finished every delivery.
async fn settled(server: &MockServer) {
    wait_until(|| server.webhook_deliveries_in_flight() == 0).await;
}

async fn attempts(api: &Api, id: &str, query: &str) -> Vec<Value> {
    let r = api.get(&format!("/webhooks/{id}/deliveries{query}")).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    r.json()["data"].as_array().unwrap().clone()
}

/// Polls the subscription's attempts until `n` are listed.
async fn recorded(api: &Api, id: &str, n: usize) -> Vec<Value> {
    for _ in 0..2000 {
        let list = attempts(api, id, "").await;
        if list.len() >= n {
            return list;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("{n} attempts never recorded");
}

#[tokio::test]
async fn the_secret_is_shown_on_create_only() {
    let server = server().await;
    let api = Api::new(&server);
    let r = api
        .post(
            "/webhooks",
            json!({
                "url": "https://hooks.acme.com/sendmux",
                "event_types": ["message.bounced", "sendmux.test", "message.bounced"],
                "name": "Bounces",
            }),
        )
        .await;
    assert_eq!(r.status, 201);
    let w = r.json()["data"].clone();
    let id = id_of(&w);
    assert!(id.starts_with("whk_"), "{id}");
    assert_eq!(
        r.header("location"),
        Some(format!("/api/v1/webhooks/{id}").as_str())
    );
    let secret = w["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert_eq!(w["event_types"], json!(["message.bounced", "sendmux.test"]));
    assert_eq!(w["enabled"], true);
    assert_eq!(w["failing"], false);
    assert_eq!(w["filters"], json!({ "mailbox_ids": [] }));

    let got = api.get(&format!("/webhooks/{id}")).await;
    assert_eq!(got.status, 200);
    assert!(got.json()["data"].get("secret").is_none());
    assert_eq!(got.json()["data"]["name"], "Bounces");
    let etag = got.header("etag").unwrap().to_owned();
    let again = api
        .call(Method::GET, &format!("/webhooks/{id}"))
        .header("if-none-match", &etag)
        .send()
        .await;
    assert_eq!(again.status, 304);

    let list = api.get("/webhooks").await.json();
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert!(list["data"][0].get("secret").is_none());
    for rec in server.requests() {
        let text = format!("{rec:?}");
        assert!(!text.contains(&secret), "the request log holds the secret");
    }
    // Another team sees nothing.
    let other = Api::with_key(&server, Some("smx_root_other"));
    other
        .get(&format!("/webhooks/{id}"))
        .await
        .assert_error(404, "not_found");
    assert_no_violations(&server);
}

#[tokio::test]
async fn update_edits_fields_and_honours_if_match() {
    let server = server().await;
    let api = Api::new(&server);
    let w = subscribe(&api, "https://hooks.acme.com/a", &["message.delivered"]).await;
    let path = format!("/webhooks/{}", id_of(&w));
    let etag = api.get(&path).await.header("etag").unwrap().to_owned();
    let r = api
        .call(Method::PATCH, &path)
        .header("if-match", &etag)
        .json(&json!({
            "url": "https://hooks.acme.com/b",
            "name": "B",
            "filters": { "mailbox_ids": ["mbx_1"] },
            "enabled": false,
        }))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let d = r.json()["data"].clone();
    assert_eq!(d["url"], "https://hooks.acme.com/b");
    assert_eq!(d["name"], "B");
    assert_eq!(d["enabled"], false);
    assert_eq!(d["filters"]["mailbox_ids"], json!(["mbx_1"]));
    assert_eq!(d["event_types"], json!(["message.delivered"]));
    assert!(d.get("secret").is_none());
    // The old tag is stale now.
    api.call(Method::PATCH, &path)
        .header("if-match", &etag)
        .json(&json!({ "name": "C" }))
        .send()
        .await
        .assert_error(409, "conflict");
    // `name: null` removes the name; an empty event list is refused.
    let r = api
        .call(Method::PATCH, &path)
        .json(&json!({ "name": null }))
        .send()
        .await;
    assert_eq!(r.json()["data"]["name"], Value::Null);
    api.call(Method::PATCH, &path)
        .json(&json!({ "event_types": [] }))
        .send()
        .await
        .assert_error(422, "validation_error");
    let r = api.call(Method::DELETE, &path).send().await;
    assert_eq!(
        r.json()["data"],
        json!({ "deleted": true, "id": id_of(&w) })
    );
    api.get(&path).await.assert_error(404, "not_found");
}

#[tokio::test]
async fn only_https_urls_without_credentials_are_accepted_by_default() {
    let server = MockServer::start().await.unwrap();
    let api = Api::new(&server);
    for url in [
        "http://hooks.acme.com/x",
        "ftp://hooks.acme.com/x",
        "https://user:hunter2@hooks.acme.com/x",
        "not a url",
    ] {
        let r = api
            .post(
                "/webhooks",
                json!({ "url": url, "event_types": ["sendmux.test"] }),
            )
            .await;
        let v = r.assert_error(422, "validation_error");
        assert_eq!(v["error"]["param"], "url", "{url}: {v}");
        assert!(!String::from_utf8_lossy(&r.body).contains("hunter2"));
    }
    // Unknown event types are refused by the schema, with the same code.
    api.post(
        "/webhooks",
        json!({ "url": "https://hooks.acme.com/x", "event_types": ["domain.verified"] }),
    )
    .await
    .assert_error(422, "validation_error");
    let w = subscribe(&api, "https://hooks.acme.com/x", &["sendmux.test"]).await;
    api.call(Method::PATCH, &format!("/webhooks/{}", id_of(&w)))
        .json(&json!({ "url": "http://hooks.acme.com/x" }))
        .send()
        .await
        .assert_error(422, "validation_error");

    // With the flag, plain http is fine, credentials still are not.
    let local = server_with_http().await;
    let api = Api::new(&local);
    subscribe(&api, "http://127.0.0.1:9/hook", &["sendmux.test"]).await;
    api.post(
        "/webhooks",
        json!({ "url": "http://u:p@127.0.0.1:9/hook", "event_types": ["sendmux.test"] }),
    )
    .await
    .assert_error(422, "validation_error");
}

async fn server_with_http() -> MockServer {
    MockServer::builder()
        .allow_http_webhooks(true)
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_test_event_is_delivered_signed_and_recorded() {
    let server = server().await;
    let api = Api::new(&server);
    let mut hooks = Receiver::start().await;
    let w = subscribe(&api, &hooks.url("hook"), &["sendmux.test"]).await;
    let (id, secret) = (id_of(&w), w["secret"].as_str().unwrap().to_owned());

    let r = api.post(&format!("/webhooks/{id}/test"), json!(null)).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let event_id = r.json()["data"]["event_id"].as_str().unwrap().to_owned();
    assert!(event_id.starts_with("evt_"), "{event_id}");

    let d = hooks.next().await;
    assert!(d.signed_with(&secret), "signature does not verify");
    assert!(!d.signed_with("whsec_wrong"));
    assert_eq!(d.header("x-sendmux-event-id"), event_id);
    assert_eq!(d.header("x-sendmux-event-type"), "sendmux.test");
    assert_eq!(d.header("content-type"), "application/json");
    let body = d.json();
    assert_eq!(body["id"], event_id.as_str());
    assert_eq!(body["type"], "sendmux.test");
    assert_eq!(body["team_public_id"], server.team_of(KEY).as_str());
    assert_eq!(body["data"]["webhook_id"], id.as_str());
    assert_eq!(body["data"]["recipients"], json!([]));

    settled(&server).await;
    let list = attempts(&api, &id, "").await;
    assert_eq!(list.len(), 1, "{list:?}");
    let a = &list[0];
    assert!(a["id"].as_str().unwrap().starts_with("whda_"));
    assert_eq!(a["event_id"], event_id.as_str());
    assert_eq!(a["event_type"], "sendmux.test");
    assert_eq!(a["result"], "success");
    assert_eq!(a["response_status"], 200);
    assert_eq!(a["delivery_attempt"], 1);
    assert_eq!(a["max_attempts"], 3);
    assert_eq!(a["next_retry_at"], Value::Null);
    assert_eq!(a["payload_available"], true);
    assert_eq!(a["request_payload_bytes"], d.body.len());
    let digest: String = Sha256::digest(&d.body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(a["request_payload_sha256"], digest.as_str());

    let attempt_id = a["id"].as_str().unwrap();
    let r = api
        .get(&format!("/webhooks/{id}/deliveries/{attempt_id}/payload"))
        .await;
    // The harness checks this answer against the spec, so the delivered
    // body, returned here as `payload`, is a valid `WebhookEventPayload`.
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let p = r.json()["data"].clone();
    assert_eq!(p["payload"], body);
    assert_eq!(p["event_id"], event_id.as_str());
    assert_eq!(p["delivery_attempt"], 1);
    api.get(&format!("/webhooks/{id}/deliveries/whda_nope/payload"))
        .await
        .assert_error(404, "not_found");
    assert_no_violations(&server);
}

#[tokio::test]
async fn an_idempotent_test_is_published_once() {
    let server = server().await;
    let api = Api::new(&server);
    let mut hooks = Receiver::start().await;
    let id = id_of(&subscribe(&api, &hooks.url("hook"), &["sendmux.test"]).await);
    let path = format!("/webhooks/{id}/test");
    let send = || {
        api.call(Method::POST, &path)
            .header("idempotency-key", "t-1")
            .send()
    };
    let first = send().await.json()["data"]["event_id"].clone();
    let replay = send().await;
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.json()["data"]["event_id"], first);
    settled(&server).await;
    assert_eq!(hooks.drain().len(), 1);
}

#[tokio::test]
async fn rotating_the_secret_signs_the_next_delivery_with_the_new_one_only() {
    let server = server().await;
    let api = Api::new(&server);
    let mut hooks = Receiver::start().await;
    let w = subscribe(&api, &hooks.url("hook"), &["sendmux.test"]).await;
    let (id, old) = (id_of(&w), w["secret"].as_str().unwrap().to_owned());
    let r = api
        .post(&format!("/webhooks/{id}/rotate-secret"), json!(null))
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let new = r.json()["data"]["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert!(
        api.get(&format!("/webhooks/{id}")).await.json()["data"]
            .get("secret")
            .is_none()
    );

    api.post(&format!("/webhooks/{id}/test"), json!(null)).await;
    let d = hooks.next().await;
    assert!(d.signed_with(&new));
    assert!(!d.signed_with(&old), "the old secret still verifies");
}

#[tokio::test]
async fn a_failed_delivery_is_retried_and_both_attempts_are_recorded() {
    let server = server().await;
    let api = Api::new(&server);
    let mut hooks = Receiver::start().await;
    hooks.answer(&[500]);
    let w = subscribe(&api, &hooks.url("hook"), &["sendmux.test"]).await;
    let (id, secret) = (id_of(&w), w["secret"].as_str().unwrap().to_owned());
    api.post(&format!("/webhooks/{id}/test"), json!(null)).await;
    let first = hooks.next().await;
    let second = hooks.next().await;
    assert_eq!(first.body, second.body, "a retry posts the same body");
    assert_eq!(
        first.header("x-sendmux-event-id"),
        second.header("x-sendmux-event-id")
    );
    assert!(second.signed_with(&secret));
    settled(&server).await;

    let list = attempts(&api, &id, "").await;
    assert_eq!(list.len(), 2, "{list:?}");
    // Newest first.
    assert_eq!(list[0]["delivery_attempt"], 2);
    assert_eq!(list[0]["result"], "success");
    assert_eq!(list[1]["delivery_attempt"], 1);
    assert_eq!(list[1]["result"], "retrying");
    assert_eq!(list[1]["response_status"], 500);
    assert!(list[1]["next_retry_at"].is_string());
    assert_eq!(list[0]["event_id"], list[1]["event_id"]);

    let retrying = attempts(&api, &id, "?result=retrying").await;
    assert_eq!(retrying.len(), 1);
    assert_eq!(retrying[0]["delivery_attempt"], 1);
    assert_eq!(
        attempts(&api, &id, "?event_type=message.bounced")
            .await
            .len(),
        0
    );
    // One per page, walked with the cursor.
    let page = api
        .get(&format!("/webhooks/{id}/deliveries?limit=1"))
        .await
        .json();
    assert_eq!(page["pagination"]["has_more"], true);
    let cursor = page["pagination"]["next_cursor"].as_str().unwrap();
    let rest = attempts(&api, &id, &format!("?limit=1&cursor={cursor}")).await;
    assert_eq!(rest[0]["delivery_attempt"], 1);
    api.get(&format!("/webhooks/{id}/deliveries?result=maybe"))
        .await
        .assert_error(400, "invalid_parameter");
    assert_eq!(
        api.get(&format!("/webhooks/{id}")).await.json()["data"]["failing"],
        false
    );
    assert_no_violations(&server);
}

#[tokio::test]
async fn exhausted_retries_mark_the_subscription_failing_until_re_enabled() {
    let server = server().await;
    let api = Api::new(&server);
    let mut hooks = Receiver::start().await;
    hooks.answer(&[503, 500, 502]);
    let id = id_of(&subscribe(&api, &hooks.url("hook"), &["sendmux.test"]).await);
    api.post(&format!("/webhooks/{id}/test"), json!(null)).await;
    settled(&server).await;
    assert_eq!(hooks.drain().len(), 3);
    let list = attempts(&api, &id, "").await;
    let results: Vec<&str> = list.iter().map(|a| a["result"].as_str().unwrap()).collect();
    assert_eq!(results, ["permanent_failure", "retrying", "retrying"]);
    assert_eq!(list[0]["next_retry_at"], Value::Null);
    let path = format!("/webhooks/{id}");
    assert_eq!(api.get(&path).await.json()["data"]["failing"], true);
    let r = api
        .call(Method::PATCH, &path)
        .json(&json!({ "enabled": true }))
        .send()
        .await;
    assert_eq!(r.json()["data"]["failing"], false);
}

#[tokio::test]
async fn an_unreachable_endpoint_records_a_connection_error() {
    let server = MockServer::builder()
        .allow_http_webhooks(true)
        .webhook_retry(1, Duration::from_millis(10))
        .start()
        .await
        .unwrap();
    let api = Api::new(&server);
    // A port that was free a moment ago: nothing listens there.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/hook");
    let id = id_of(&subscribe(&api, &url, &["sendmux.test"]).await);
    api.post(&format!("/webhooks/{id}/test"), json!(null)).await;
    settled(&server).await;
    let list = attempts(&api, &id, "").await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["result"], "permanent_failure");
    assert_eq!(list[0]["response_status"], Value::Null);
    assert_eq!(list[0]["error_message"], "connection_failed");
    assert_eq!(list[0]["max_attempts"], 1);
}

#[tokio::test]
async fn event_types_filters_and_pauses_decide_who_receives() {
    let server = server().await;
    let api = Api::new(&server);
    let mut hooks = Receiver::start().await;
    let delivered = id_of(&subscribe(&api, &hooks.url("delivered"), &["message.delivered"]).await);
    subscribe(&api, &hooks.url("test-only"), &["sendmux.test"]).await;
    let r = api
        .post(
            "/webhooks",
            json!({
                "url": hooks.url("inbound-a"),
                "event_types": ["message.received"],
                "filters": { "mailbox_ids": ["mbx_a"] },
            }),
        )
        .await;
    assert_eq!(r.status, 201);
    let r = api
        .post(
            "/webhooks",
            json!({
                "url": hooks.url("paused"),
                "event_types": ["message.delivered", "sendmux.test"],
                "enabled": false,
            }),
        )
        .await;
    let paused = id_of(&r.json()["data"]);
    // Another team's subscription hears nothing of this team.
    let other = Api::with_key(&server, Some("smx_root_other"));
    subscribe(&other, &hooks.url("other-team"), &["message.delivered"]).await;

    // The test event needs `sendmux.test` in the list.
    api.post(&format!("/webhooks/{delivered}/test"), json!(null))
        .await
        .assert_error(409, "conflict");
    // A paused subscription publishes the test event but gets nothing.
    let r = api
        .post(&format!("/webhooks/{paused}/test"), json!(null))
        .await;
    assert_eq!(r.status, 200);

    let event = server
        .emit_webhook_event(KEY, "message.delivered", None)
        .unwrap();
    server
        .emit_webhook_event(KEY, "message.received", Some("mbx_b"))
        .unwrap();
    let inbound = server
        .emit_webhook_event(KEY, "message.received", Some("mbx_a"))
        .unwrap();
    assert_eq!(
        server.emit_webhook_event(KEY, "domain.verified", None),
        None
    );
    assert_eq!(server.emit_webhook_event(KEY, "sendmux.test", None), None);
    settled(&server).await;

    let mut got: Vec<(String, String)> = hooks
        .drain()
        .iter()
        .map(|d| (d.path.clone(), d.header("x-sendmux-event-id").to_owned()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("/delivered".to_owned(), event),
            ("/inbound-a".to_owned(), inbound)
        ]
    );
    assert_no_violations(&server);
}

#[tokio::test]
async fn verifying_a_domain_publishes_no_webhook_event() {
    // The published event types are message events and `sendmux.test`;
    // there is no domain event to subscribe to.
    let server = server().await;
    let api = Api::new(&server);
    let mut hooks = Receiver::start().await;
    let all = [
        "message.delivered",
        "message.bounced",
        "message.complained",
        "message.rejected",
        "message.delivery_delayed",
        "message.received",
        "message.received.spam",
        "sendmux.test",
    ];
    let id = id_of(&subscribe(&api, &hooks.url("all"), &all).await);
    let domain = api.create_id("mail.acme.com", None).await;
    for _ in 0..2 {
        api.post(&format!("/domains/{domain}/verify"), json!(null))
            .await;
    }
    let d = api.get(&format!("/domains/{domain}")).await.json();
    assert_eq!(d["data"]["verification_status"], "verified");
    let test = api.post(&format!("/webhooks/{id}/test"), json!(null)).await;
    settled(&server).await;
    let got = hooks.drain();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(
        got[0].header("x-sendmux-event-id"),
        test.json()["data"]["event_id"].as_str().unwrap()
    );
}

#[tokio::test]
async fn deleting_a_subscription_abandons_its_retries() {
    let server = MockServer::builder()
        .allow_http_webhooks(true)
        .webhook_retry(5, Duration::from_secs(3600))
        .start()
        .await
        .unwrap();
    let api = Api::new(&server);
    let mut hooks = Receiver::start().await;
    hooks.answer(&[500]);
    let id = id_of(&subscribe(&api, &hooks.url("hook"), &["sendmux.test"]).await);
    api.post(&format!("/webhooks/{id}/test"), json!(null)).await;
    hooks.next().await;
    // The first try is recorded, then the worker waits an hour.
    let first = recorded(&api, &id, 1).await;
    assert_eq!(first[0]["result"], "retrying");
    assert_eq!(server.webhook_deliveries_in_flight(), 1);
    let path = format!("/webhooks/{id}/deliveries");
    api.call(Method::DELETE, &format!("/webhooks/{id}"))
        .send()
        .await;
    api.get(&path).await.assert_error(404, "not_found");
    // Shutting down ends the waiting retry instead of waiting an hour.
    server.shutdown().await;
}

#[tokio::test]
async fn attempts_expire_after_seven_days() {
    let clock = ManualClock::default();
    let server = MockServer::builder()
        .allow_http_webhooks(true)
        .clock(clock.clone())
        .start()
        .await
        .unwrap();
    let api = Api::new(&server);
    let mut hooks = Receiver::start().await;
    let id = id_of(&subscribe(&api, &hooks.url("hook"), &["sendmux.test"]).await);
    api.post(&format!("/webhooks/{id}/test"), json!(null)).await;
    hooks.next().await;
    settled(&server).await;
    let list = attempts(&api, &id, "").await;
    assert_eq!(list[0]["created_at"], "2026-01-01T00:00:00Z");
    assert_eq!(list[0]["payload_expires_at"], "2026-01-08T00:00:00Z");
    let attempt = list[0]["id"].as_str().unwrap().to_owned();
    clock.advance(Duration::from_secs(7 * 24 * 3600));
    assert!(attempts(&api, &id, "").await.is_empty());
    api.get(&format!("/webhooks/{id}/deliveries/{attempt}/payload"))
        .await
        .assert_error(404, "not_found");
}

#[tokio::test]
async fn pausing_a_subscription_drops_its_planned_retry() {
    let clock = ManualClock::default();
    let server = MockServer::builder()
        .allow_http_webhooks(true)
        .clock(clock.clone())
        .webhook_retry(3, Duration::from_secs(3))
        .start()
        .await
        .unwrap();
    let api = Api::new(&server);
    let mut hooks = Receiver::start().await;
    hooks.answer(&[500]);
    let id = id_of(&subscribe(&api, &hooks.url("hook"), &["sendmux.test"]).await);
    api.post(&format!("/webhooks/{id}/test"), json!(null)).await;
    hooks.next().await;
    let first = recorded(&api, &id, 1).await;
    assert_eq!(first[0]["result"], "retrying");
    // The retry is due one backoff after the try, on the server clock.
    assert_eq!(first[0]["next_retry_at"], "2026-01-01T00:00:03Z");
    let r = api
        .call(Method::PATCH, &format!("/webhooks/{id}"))
        .json(&json!({ "enabled": false }))
        .send()
        .await;
    assert_eq!(r.json()["data"]["enabled"], false);
    settled(&server).await;
    let list = attempts(&api, &id, "").await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["result"], "failed");
    assert_eq!(list[0]["next_retry_at"], Value::Null);
    assert!(hooks.drain().is_empty(), "the retry was still sent");
}

#[tokio::test]
async fn the_admin_api_publishes_a_message_event_to_the_named_team() {
    let server = server().await;
    let api = Api::new(&server);
    let mut hooks = Receiver::start().await;
    let hook = subscribe(&api, &hooks.url("/bounces"), &["message.bounced"]).await;
    let http = reqwest::Client::new();
    let emit = |body: Value, key: Option<&str>| {
        let mut request = http
            .post(format!("{}/webhooks/events", server.admin_url()))
            .json(&body);
        if let Some(key) = key {
            request = request.header("X-Mock-Api-Key", key);
        }
        request.send()
    };

    let r = emit(json!({ "event_type": "message.bounced" }), Some(KEY))
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let event_id = r.json::<Value>().await.unwrap()["event_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let delivery = hooks.next().await;
    assert_eq!(delivery.header("x-sendmux-event-id"), event_id);
    assert!(delivery.signed_with(hook["secret"].as_str().unwrap()));

    // Without a team, or with an event type that is not a message event,
    // nothing is published.
    let r = emit(json!({ "event_type": "message.bounced" }), None)
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = emit(json!({ "event_type": "sendmux.test" }), Some(KEY))
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    settled(&server).await;
    assert!(hooks.drain().is_empty());
}
