//! The Sending API on its own listener: routing, keys, sends, the outbox,
//! credits, batches, rate limits per key and faults around the commit.

use http::Method;
use sendmux_mock::{
    FaultConfig, FaultKind, FaultPhase, FaultRule, MockServer, MockServerBuilder, Propagation,
};
use serde_json::{Value, json};

use crate::harness::{Api, Resp, assert_no_violations, wait_until};
use crate::webhooks::Receiver;

/// A well-formed mailbox key the mock accepts leniently (no mailbox
/// behind it, a team of its own).
const LENIENT: &str = "smx_mbx_lenient";

/// Status and JSON of a request the harness cannot check (an answer
/// outside the document, such as a 404 for another host's route).
async fn raw(base: &str, method: Method, path: &str, key: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .request(method, format!("{base}{path}"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["meta"]["request_id"], id.as_str());
    (status, v)
}

#[tokio::test]
async fn each_api_answers_only_on_its_own_listener() {
    let server = MockServer::start().await.unwrap();
    let (main, sending) = (server.base_url(), server.sending_base_url());
    assert_ne!(main, sending);
    assert!(sending.starts_with("http://127.0.0.1:") && sending.ends_with("/api/v1"));
    assert_eq!(server.sending_addr().ip(), server.addr().ip());

    // Management and Mailbox routes are not on the sending port...
    let (status, v) = raw(&sending, Method::GET, "/domains", "smx_root_test").await;
    assert_eq!(status, 404, "{v}");
    let message = v["error"]["message"].as_str().unwrap();
    assert!(message.contains("belongs to the Management API"), "{v}");
    let (status, _) = raw(&sending, Method::GET, "/mailbox/me", LENIENT).await;
    assert_eq!(status, 404);
    // ...and Sending routes are not on the main one.
    let (status, v) = raw(&main, Method::POST, "/emails/send", LENIENT).await;
    assert_eq!(status, 404, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("belongs to the Sending API"),
        "{v}"
    );
    // A sending path with another method names the methods it takes.
    let (status, v) = raw(&sending, Method::GET, "/emails/send", LENIENT).await;
    assert_eq!(status, 404);
    assert_eq!(
        v["error"]["message"],
        "GET is not allowed on /api/v1/emails/send (it takes POST)"
    );
    assert!(
        server.requests().is_empty(),
        "404s outside the API are not logged"
    );
}

#[tokio::test]
async fn a_root_key_is_refused_on_the_sending_api_and_both_ports_share_the_log() {
    let server = MockServer::builder()
        .self_check(true)
        .start()
        .await
        .unwrap();
    let r = Api::sending(&server, Some("smx_root_test"))
        .get("/emails/attachments/att_000000000000000000000000")
        .await;
    r.assert_error(403, "insufficient_permissions");
    let r = Api::new(&server).get("/domains").await;
    assert_eq!(r.status, 200);
    let log = server.requests();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].surface.as_deref(), Some("sending"));
    assert_eq!(log[0].port, server.sending_addr().port());
    assert_eq!(log[1].surface.as_deref(), Some("management"));
    assert_eq!(log[1].port, server.addr().port());
    for r in &log {
        assert!(r.violations.is_empty(), "{:?}", r.violations);
    }
}

/// A builder whose domains verify on the first call and whose answers the
/// server checks itself.
fn builder() -> MockServerBuilder {
    MockServer::builder()
        .seed(11)
        .propagation(Propagation::AfterVerifyCalls { calls: 1 })
        .allow_http_webhooks(true)
        .self_check(true)
}

/// A team: its root client, and the mailbox `agent@acme.com` with the key
/// the mock issued for it, as a Sending API client.
struct Team {
    root: Api,
    sender: Api,
    key: String,
}

const SENDER: &str = "agent@acme.com";

async fn team(server: &MockServer) -> Team {
    let root = Api::new(server);
    root.verified_domain("acme.com", None).await;
    let created = root.create_mailbox(SENDER).await;
    let key = created["credential"]["secret"].as_str().unwrap().to_owned();
    Team {
        sender: Api::sending(server, Some(&key)),
        root,
        key,
    }
}

/// A minimal valid message.
fn message(from: &str, to: &str, subject: &str) -> Value {
    json!({
        "from": { "email": from, "name": "Agent" },
        "to": { "email": to },
        "subject": subject,
        "html_body": "<p>Hello</p>",
        "text_body": "Hello"
    })
}

async fn send(api: &Api, body: &Value, key: Option<&str>) -> Resp {
    let mut call = api.call(Method::POST, "/emails/send");
    if let Some(key) = key {
        call = call.header("idempotency-key", key);
    }
    call.json(body).send().await
}

/// `message_id` of a successful send.
fn message_id(r: &Resp) -> String {
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let v = r.json();
    assert_eq!(v["data"]["status"], "queued", "{v}");
    v["data"]["message_id"].as_str().unwrap().to_owned()
}

/// The team's balance in micro-dollars.
async fn balance(root: &Api) -> i64 {
    let r = root.get("/billing/balance").await;
    assert_eq!(r.status, 200);
    let text = r.json()["data"]["balance"].as_str().unwrap().to_owned();
    text.replace('.', "").parse().unwrap()
}

#[tokio::test]
async fn a_send_is_stored_once_logged_paid_for_and_replayed_by_its_key() {
    let server = builder().start().await.unwrap();
    let team = team(&server).await;
    let before = balance(&team.root).await;
    let body = message(SENDER, "ada@example.com", "Welcome");

    let r = send(&team.sender, &body, Some("welcome-ada")).await;
    let id = message_id(&r);
    assert!(id.starts_with("eml_") && id.len() == 28, "{id}");
    let outbox = server.outbox();
    assert_eq!(outbox.len(), 1);
    let stored = &outbox[0];
    assert_eq!(stored.id, id);
    assert_eq!(
        (stored.from.as_str(), stored.to.as_str()),
        (SENDER, "ada@example.com")
    );
    assert_eq!(stored.subject, "Welcome");
    assert_eq!(stored.idempotency_key.as_deref(), Some("welcome-ada"));
    assert_eq!(stored.attempts, 1);
    // The mailbox key speaks for the team of the root key that made it.
    let log = server.requests();
    assert_eq!(Some(&stored.team), log.last().unwrap().team.as_ref());
    assert_eq!(Some(&stored.team), log[0].team.as_ref());

    // The Management API sees it: a delivery log, newest first, and one
    // credit less.
    let logs = team.root.get("/emails/logs").await.json();
    let newest = &logs["data"][0];
    assert_eq!(newest["message_id"], id.as_str(), "{newest}");
    assert_eq!(newest["from_email"], SENDER);
    assert_eq!(newest["to_email"], "ada@example.com");
    assert_eq!(newest["status"], "sent");
    assert_eq!(balance(&team.root).await, before - 400);
    let usage = team
        .root
        .get("/billing/transactions?type=USAGE&limit=1")
        .await
        .json();
    assert_eq!(usage["data"][0]["quantity"], 1, "{usage}");
    assert_eq!(usage["data"][0]["amount"], "-0.000400", "{usage}");

    // A retry with the same key and body is the same answer, not a second
    // message, and counts as an attempt.
    let replay = send(&team.sender, &body, Some("welcome-ada")).await;
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(message_id(&replay), id);
    let outbox = server.outbox();
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].attempts, 2);
    assert_eq!(balance(&team.root).await, before - 400);

    // The same key with another body is refused.
    let other = message(SENDER, "grace@example.com", "Welcome");
    send(&team.sender, &other, Some("welcome-ada"))
        .await
        .assert_error(409, "idempotency_conflict");
    assert_eq!(server.outbox().len(), 1);
    // Without a key, every send is a message of its own.
    message_id(&send(&team.sender, &body, None).await);
    assert_eq!(server.outbox().len(), 2);
    assert_no_violations(&server);
}

#[tokio::test]
async fn an_issued_mailbox_key_sends_only_as_its_own_mailbox() {
    let server = builder().start().await.unwrap();
    let team = team(&server).await;
    let r = send(
        &team.sender,
        &message("boss@acme.com", "ada@example.com", "Hi"),
        None,
    )
    .await;
    let v = r.assert_error(403, "insufficient_permissions");
    assert_eq!(v["error"]["param"], "from.email");
    // The address compares without regard to case.
    message_id(
        &send(
            &team.sender,
            &message("Agent@Acme.com", "ada@example.com", "Hi"),
            None,
        )
        .await,
    );
    // A key the mock did not issue has no mailbox to hold it to.
    let lenient = Api::sending(&server, Some(LENIENT));
    message_id(
        &send(
            &lenient,
            &message("anyone@example.org", "ada@example.com", "Hi"),
            None,
        )
        .await,
    );
    assert_eq!(server.outbox().len(), 2);
    // A revoked key no longer sends.
    let mailbox = team.root.get("/mailboxes").await.json()["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    team.root
        .call(Method::DELETE, &format!("/mailboxes/{mailbox}"))
        .send()
        .await;
    send(
        &team.sender,
        &message(SENDER, "ada@example.com", "Hi"),
        None,
    )
    .await
    .assert_error(401, "authentication_required");
    assert_eq!(server.outbox().len(), 2);
    assert_no_violations(&server);
}

#[tokio::test]
async fn invalid_messages_are_422_with_every_problem_and_store_nothing() {
    let server = builder().start().await.unwrap();
    let api = Api::sending(&server, Some(LENIENT));
    // Beyond the schema: the recipient cap across cc and bcc, custom
    // header names.
    let mut body = message("me@acme.com", "ada@example.com", "Hi");
    body["cc"] = (0..30)
        .map(|i| json!({ "email": format!("c{i}@example.com") }))
        .collect();
    body["bcc"] = (0..20)
        .map(|i| json!({ "email": format!("b{i}@example.com") }))
        .collect();
    body["custom_headers"] = json!({ "Reply-To": "x" });
    let r = send(&api, &body, Some("fix-me")).await;
    let v = r.assert_error(422, "validation_error");
    let fields = |v: &Value| -> Vec<String> {
        v["error"]["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(fields(&v), ["bcc", "custom_headers.Reply-To"], "{v}");
    assert_eq!(v["error"]["param"], "bcc");
    // An address the document's format refuses.
    let bad = message("me@acme.com", "not an address", "Hi");
    let v = send(&api, &bad, None)
        .await
        .assert_error(422, "validation_error");
    assert_eq!(fields(&v), ["to.email"], "{v}");
    // The schema's own failures are 422 too, missing fields included.
    let mut missing = message("me@acme.com", "ada@example.com", "Hi");
    missing.as_object_mut().unwrap().remove("subject");
    let v = send(&api, &missing, None)
        .await
        .assert_error(422, "validation_error");
    assert_eq!(v["error"]["param"], "subject", "{v}");
    // Broken JSON is a 400.
    api.call(Method::POST, "/emails/send")
        .header("content-type", "application/json")
        .raw("{")
        .send()
        .await
        .assert_error(400, "invalid_parameter");
    assert!(server.outbox().is_empty());
    // A refused input stores nothing under its key: the corrected message
    // goes through with the same key.
    let fixed = message("me@acme.com", "ada@example.com", "Hi");
    message_id(&send(&api, &fixed, Some("fix-me")).await);
    assert_eq!(server.outbox().len(), 1);
    assert_no_violations(&server);
}

#[tokio::test]
async fn credits_run_out_with_402_and_nothing_is_stored() {
    let server = builder().sending_credits(2).start().await.unwrap();
    let team = team(&server).await;
    assert_eq!(balance(&team.root).await, 800);
    for to in ["a@example.com", "b@example.com"] {
        message_id(&send(&team.sender, &message(SENDER, to, "Hi"), None).await);
    }
    assert_eq!(balance(&team.root).await, 0);
    let r = send(
        &team.sender,
        &message(SENDER, "c@example.com", "Hi"),
        Some("c"),
    )
    .await;
    let v = r.assert_error(402, "insufficient_credits");
    assert_eq!(v["error"]["retryable"], false);
    assert_eq!(server.outbox().len(), 2);
    assert_eq!(balance(&team.root).await, 0);
    let logs = team.root.get("/emails/logs?limit=100").await.json();
    let sent: Vec<&Value> = logs["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["from_email"] == SENDER)
        .collect();
    assert_eq!(sent.len(), 2);

    // Credits added (here by the admin API) pay for the next message.
    let put = reqwest::Client::new()
        .put(format!("{}/credits", server.admin_url()))
        .header("x-mock-api-key", &team.key)
        .body(r#"{"credits": 1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(put.status().as_u16(), 200);
    assert_eq!(balance(&team.root).await, 400);
    message_id(
        &send(
            &team.sender,
            &message(SENDER, "d@example.com", "Hi"),
            Some("d"),
        )
        .await,
    );
    assert_eq!(balance(&team.root).await, 0);
    // And from Rust, for any key of the team.
    server.set_sending_credits("smx_root_test", 3);
    assert_eq!(balance(&team.root).await, 1200);
    assert_eq!(server.outbox().len(), 3);
    assert_no_violations(&server);
}

#[tokio::test]
async fn accepted_messages_are_delivered_or_bounce_to_webhooks() {
    let server = builder().start().await.unwrap();
    let team = team(&server).await;
    let mut receiver = Receiver::start().await;
    let r = team
        .root
        .post(
            "/webhooks",
            json!({
                "url": receiver.url("hook"),
                "event_types": ["message.delivered", "message.bounced"]
            }),
        )
        .await;
    assert_eq!(r.status, 201);
    let mut body = message(SENDER, "ada@example.com", "Hi");
    body["cc"] = json!([{ "email": "gone@bounce.invalid" }]);
    let id = message_id(&send(&team.sender, &body, None).await);
    let mut events = vec![receiver.next().await.json(), receiver.next().await.json()];
    events.sort_by_key(|e| e["type"].as_str().unwrap().to_owned());
    assert_eq!(events[0]["type"], "message.bounced");
    assert_eq!(
        events[0]["data"]["recipients"],
        json!(["gone@bounce.invalid"])
    );
    assert_eq!(events[0]["data"]["bounce_type"], "Permanent");
    assert_eq!(events[1]["type"], "message.delivered");
    assert_eq!(events[1]["data"]["recipients"], json!(["ada@example.com"]));
    for e in &events {
        assert_eq!(e["data"]["sendmux_message_id"], id.as_str());
        assert_eq!(e["data"]["sender"], SENDER);
    }
    // Every recipient bouncing makes the delivery log a failure.
    let id = message_id(
        &send(
            &team.sender,
            &message(SENDER, "x@bounce.invalid", "Hi"),
            None,
        )
        .await,
    );
    let e = receiver.next().await.json();
    assert_eq!(e["type"], "message.bounced");
    let logs = team.root.get("/emails/logs").await.json();
    assert_eq!(logs["data"][0]["message_id"], id.as_str());
    assert_eq!(logs["data"][0]["status"], "failed");
    wait_until(|| server.webhook_deliveries_in_flight() == 0).await;
    assert!(receiver.drain().is_empty());
    assert_no_violations(&server);
}

async fn batch(api: &Api, messages: Vec<Value>, key: Option<&str>) -> Resp {
    let mut call = api.call(Method::POST, "/emails/send/batch");
    if let Some(key) = key {
        call = call.header("idempotency-key", key);
    }
    call.json(&json!({ "messages": messages })).send().await
}

#[tokio::test]
async fn a_batch_queues_what_passes_and_reports_each_failure_in_place() {
    let server = builder().start().await.unwrap();
    let team = team(&server).await;
    let before = balance(&team.root).await;
    let messages = vec![
        message(SENDER, "ada@example.com", "One"),
        message(SENDER, "not an address", "Two"),
        message("boss@acme.com", "grace@example.com", "Three"),
        message(SENDER, "linus@example.com", "Four"),
    ];
    let r = batch(&team.sender, messages.clone(), Some("spring")).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let data = r.json()["data"].clone();
    assert_eq!(
        data["summary"],
        json!({ "total": 4, "queued": 2, "failed": 2 })
    );
    let results = data["results"].as_array().unwrap();
    let statuses: Vec<(u64, &str)> = results
        .iter()
        .map(|r| (r["index"].as_u64().unwrap(), r["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        statuses,
        [(0, "queued"), (1, "failed"), (2, "failed"), (3, "queued")]
    );
    assert_eq!(results[1]["message_id"], Value::Null);
    assert_eq!(results[1]["error"]["code"], "validation_error");
    assert_eq!(results[1]["error"]["errors"][0]["field"], "to.email");
    assert_eq!(results[2]["error"]["code"], "insufficient_permissions");
    assert!(results[0].get("error").is_none());
    let queued: Vec<&str> = [&results[0], &results[3]]
        .iter()
        .map(|r| r["message_id"].as_str().unwrap())
        .collect();
    let outbox = server.outbox();
    let stored: Vec<&str> = outbox.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(stored, queued);
    assert_eq!(outbox[1].subject, "Four");
    assert!(
        outbox
            .iter()
            .all(|m| m.idempotency_key.as_deref() == Some("spring"))
    );
    // Credits per accepted message.
    assert_eq!(balance(&team.root).await, before - 800);

    // The replay stores nothing more; each message counts the attempt.
    let replay = batch(&team.sender, messages, Some("spring")).await;
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.json()["data"], data);
    let outbox = server.outbox();
    assert_eq!(outbox.len(), 2);
    assert!(outbox.iter().all(|m| m.attempts == 2));
    assert_eq!(balance(&team.root).await, before - 800);
    assert_no_violations(&server);
}

#[tokio::test]
async fn a_batch_is_refused_whole_when_too_big_all_invalid_or_unpaid() {
    let server = builder().sending_credits(2).start().await.unwrap();
    let api = Api::sending(&server, Some(LENIENT));
    let ok = |i: usize| message("me@acme.com", &format!("r{i}@example.com"), "Hi");
    // More than 100 messages.
    let v = batch(&api, (0..101).map(ok).collect(), None)
        .await
        .assert_error(422, "validation_error");
    assert_eq!(v["error"]["param"], "messages", "{v}");
    // None at all.
    batch(&api, Vec::new(), None)
        .await
        .assert_error(422, "validation_error");
    // Not one message passes: every problem, under its message's index.
    let v = batch(
        &api,
        vec![
            message("me@acme.com", "nope", "Hi"),
            json!({ "from": { "email": "me@acme.com" } }),
        ],
        Some("all-bad"),
    )
    .await
    .assert_error(422, "validation_error");
    let fields: Vec<&str> = v["error"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"messages.0.to.email"), "{v}");
    assert!(fields.iter().any(|f| f.starts_with("messages.1.")), "{v}");
    // The credits must cover every message that passed.
    let v = batch(&api, (0..3).map(ok).collect(), None)
        .await
        .assert_error(402, "insufficient_credits");
    assert_eq!(v["error"]["retryable"], false);
    assert!(server.outbox().is_empty());
    let r = batch(&api, (0..2).map(ok).collect(), None).await;
    assert_eq!(r.json()["data"]["summary"]["queued"], 2);
    assert_eq!(server.outbox().len(), 2);
    // The refused input left its key free.
    let r = batch(
        &Api::sending(&server, Some("smx_mbx_other")),
        vec![ok(0)],
        Some("all-bad"),
    )
    .await;
    assert_eq!(r.status, 200);
    assert_no_violations(&server);
}

#[tokio::test]
async fn each_mailbox_key_has_its_own_window_and_a_batch_is_one_request() {
    let server = builder().mailbox_rate_limit(2, 60).start().await.unwrap();
    let team = team(&server).await;
    let second = team.root.create_mailbox("second@acme.com").await;
    let second_key = second["credential"]["secret"].as_str().unwrap().to_owned();
    let other = Api::sending(&server, Some(&second_key));
    // A batch of five is one request of the window.
    let five = (0..5)
        .map(|i| message(SENDER, &format!("r{i}@example.com"), "Hi"))
        .collect();
    let r = batch(&team.sender, five, None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-ratelimit-limit"), Some("2"));
    assert_eq!(r.header("x-ratelimit-remaining"), Some("1"));
    message_id(&send(&team.sender, &message(SENDER, "a@example.com", "Hi"), None).await);
    let r = send(&team.sender, &message(SENDER, "b@example.com", "Hi"), None).await;
    r.assert_error(429, "rate_limit_exceeded");
    assert!(r.header("retry-after").is_some());
    // The other mailbox's key is not held back by the first one's.
    let r = send(
        &other,
        &message("second@acme.com", "c@example.com", "Hi"),
        None,
    )
    .await;
    assert_eq!(r.header("x-ratelimit-remaining"), Some("1"));
    message_id(&r);
    assert_eq!(server.outbox().len(), 7);
    // Root keys keep their own limit on the main listener.
    let r = team.root.get("/domains").await;
    assert_eq!(r.header("x-ratelimit-limit"), Some("600"));
    assert_no_violations(&server);
}

#[tokio::test]
async fn a_connection_dropped_after_commit_is_recovered_by_the_same_key() {
    let server = builder()
        .fault(
            FaultRule::new(FaultKind::CloseAfterCommit, 1.0)
                .on_operation("sendingSendEmail")
                .times(1),
        )
        .start()
        .await
        .unwrap();
    let team = team(&server).await;
    let body = message(SENDER, "ada@example.com", "Exactly once");
    let call = || {
        team.sender
            .call(Method::POST, "/emails/send")
            .header("idempotency-key", "once")
            .json(&body)
    };
    let err = call()
        .try_send()
        .await
        .expect_err("no answer after the commit");
    assert!(!err.is_status(), "{err}");
    // The message is in the outbox although the client saw nothing.
    let outbox = server.outbox();
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].attempts, 1);
    let dropped = server.requests().pop().unwrap();
    assert!(dropped.connection_closed);
    assert_eq!(dropped.status, Some(200));
    assert_eq!(dropped.faults, ["close_after_commit"]);
    // The retry with the same key gets the original answer.
    let retry = call().send().await;
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    assert_eq!(message_id(&retry), outbox[0].id);
    let outbox = server.outbox();
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].attempts, 2);
    assert_no_violations(&server);
}

#[tokio::test]
async fn status_faults_fire_before_the_handler_or_after_the_commit() {
    let unavailable = FaultKind::ServiceUnavailable {
        retry_after_secs: Some(1),
    };
    let server = builder()
        .fault(
            FaultRule::new(unavailable.clone(), 1.0)
                .on_operation("sendingSendEmail")
                .times(1),
        )
        .start()
        .await
        .unwrap();
    let api = Api::sending(&server, Some(LENIENT));
    let body = message("me@acme.com", "ada@example.com", "Hi");
    // Before the handler: nothing stored, the retry stores it.
    let r = send(&api, &body, Some("before")).await;
    r.assert_error(503, "service_unavailable");
    assert_eq!(r.header("retry-after"), Some("1"));
    assert!(server.outbox().is_empty());
    let id = message_id(&send(&api, &body, Some("before")).await);
    assert_eq!(server.outbox().len(), 1);

    // After the commit: the client sees a 503 (or a 429) for a message
    // that was stored; the retry replays the stored answer.
    server.set_faults(FaultConfig {
        rules: vec![
            FaultRule::new(unavailable, 1.0)
                .on_operation("sendingSendEmail")
                .after_commit()
                .times(1),
            FaultRule::new(
                FaultKind::RateLimited {
                    retry_after_secs: 2,
                },
                1.0,
            )
            .on_operation("sendingSendEmailBatch")
            .after_commit()
            .times(1),
        ],
    });
    let later = message("me@acme.com", "grace@example.com", "Hi");
    send(&api, &later, Some("after"))
        .await
        .assert_error(503, "service_unavailable");
    assert_eq!(server.outbox().len(), 2);
    let again = send(&api, &later, Some("after")).await;
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    let second = message_id(&again);
    assert_ne!(second, id);
    assert_eq!(server.outbox()[1].id, second);
    let r = batch(&api, vec![body.clone()], Some("batch-after")).await;
    r.assert_error(429, "rate_limit_exceeded");
    assert_eq!(r.header("retry-after"), Some("2"));
    assert_eq!(server.outbox().len(), 3);
    let log = server.requests();
    let faults: Vec<&[String]> = log.iter().map(|r| r.faults.as_slice()).collect();
    assert!(
        faults.iter().filter(|f| !f.is_empty()).count() == 3,
        "{faults:?}"
    );

    // The admin API takes the phase too.
    let put = reqwest::Client::new()
        .put(format!("{}/faults", server.admin_url()))
        .body(r#"{"rules": [{"kind": "close_before_handler", "rate": 1.0, "when": "after_commit", "operation": "sendingSendEmail"}]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(put.status().as_u16(), 200);
    assert_eq!(server.faults().rules[0].when, FaultPhase::AfterCommit);
    let dropped = api
        .call(Method::POST, "/emails/send")
        .json(&message("me@acme.com", "linus@example.com", "Hi"))
        .try_send()
        .await;
    assert!(dropped.is_err());
    assert_eq!(server.outbox().len(), 4);
    assert_no_violations(&server);
}

#[tokio::test]
async fn a_retry_while_the_first_send_runs_is_refused_as_in_flight() {
    let server = builder()
        .fault(
            FaultRule::new(FaultKind::Latency { ms: 2_000 }, 1.0)
                .on_operation("sendingSendEmail")
                .times(1),
        )
        .start()
        .await
        .unwrap();
    let api = Api::sending(&server, Some(LENIENT));
    let body = message("me@acme.com", "ada@example.com", "Slow");
    let first = {
        let (api, body) = (api.clone(), body.clone());
        tokio::spawn(async move { send(&api, &body, Some("slow")).await })
    };
    // The first request holds the key (the latency comes after the
    // reservation) until it has stored its message.
    wait_until(|| server.idempotency_in_flight() == 1).await;
    let v = send(&api, &body, Some("slow"))
        .await
        .assert_error(409, "idempotency_conflict");
    assert_eq!(v["error"]["param"], "Idempotency-Key");
    let id = message_id(&first.await.unwrap());
    let outbox = server.outbox();
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].id, id);
    // Once it is done, the key replays.
    let replay = send(&api, &body, Some("slow")).await;
    assert_eq!(message_id(&replay), id);
    assert_eq!(server.outbox()[0].attempts, 2);
    assert_no_violations(&server);
}

#[tokio::test]
async fn mail_sent_to_a_mock_mailbox_arrives_in_it_once() {
    let server = builder().start().await.unwrap();
    let team = team(&server).await;
    let inbox = team.root.create_mailbox("ops@acme.com").await;
    let inbox_key = inbox["credential"]["secret"].as_str().unwrap().to_owned();
    let reader = Api::with_key(&server, Some(&inbox_key));

    let body = message(SENDER, "ops@acme.com", "Handover");
    message_id(&send(&team.sender, &body, Some("handover-1")).await);
    // A replay of the same send delivers nothing more.
    message_id(&send(&team.sender, &body, Some("handover-1")).await);

    let r = reader.get("/mailbox/messages").await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let messages = r.json()["data"].as_array().unwrap().clone();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0]["subject"], "Handover");
    // Mail to an address outside the mock is only logged.
    message_id(
        &send(
            &team.sender,
            &message(SENDER, "ada@example.com", "Out"),
            None,
        )
        .await,
    );
    let r = reader.get("/mailbox/messages").await;
    assert_eq!(r.json()["data"].as_array().unwrap().len(), 1);
    assert_no_violations(&server);
}

/// An `Idempotency-Key` of the Sending API is scoped per team, endpoint
/// and key: on the other send endpoint or from another team the same key
/// is a new request; from another key of the same team it is the same one.
#[tokio::test]
async fn idempotency_keys_are_scoped_per_team_and_endpoint() {
    let server = builder().start().await.unwrap();
    let team = team(&server).await;
    let body = message(SENDER, "ada@example.com", "Scoped");
    let first = message_id(&send(&team.sender, &body, Some("shared")).await);

    // The batch endpoint has a scope of its own.
    let r = batch(&team.sender, vec![body.clone()], Some("shared")).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("idempotent-replayed"), None);
    let batched = r.json()["data"]["results"][0]["message_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(batched, first);

    // So has another team (a key the mock did not issue is a team of its
    // own), even with the same body.
    let r = send(&Api::sending(&server, Some(LENIENT)), &body, Some("shared")).await;
    assert_eq!(r.header("idempotent-replayed"), None);
    let theirs = message_id(&r);
    assert_ne!(theirs, first);

    // Another mailbox key of the same team shares the scope: the same body
    // replays the first answer, another body conflicts.
    let ops = team.root.create_mailbox("ops@acme.com").await;
    let ops_key = ops["credential"]["secret"].as_str().unwrap();
    let ops_sender = Api::sending(&server, Some(ops_key));
    let replay = send(&ops_sender, &body, Some("shared")).await;
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(message_id(&replay), first);
    let other = message("ops@acme.com", "ada@example.com", "Scoped");
    send(&ops_sender, &other, Some("shared"))
        .await
        .assert_error(409, "idempotency_conflict");

    // Three messages, and the replay counted for the first one only.
    let attempts: Vec<(String, u32)> = server
        .outbox()
        .into_iter()
        .map(|m| (m.id, m.attempts))
        .collect();
    assert_eq!(attempts, [(first, 2), (batched, 1), (theirs, 1)]);
    assert_no_violations(&server);
}
