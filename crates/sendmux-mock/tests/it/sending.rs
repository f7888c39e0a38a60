//! The Sending API on its own listener: routing, keys, sends, the outbox,
//! credits, batches, rate limits per key and faults around the commit.

use http::Method;
use sendmux_mock::MockServer;
use serde_json::Value;

use crate::harness::Api;

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
