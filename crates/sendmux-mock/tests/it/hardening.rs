//! Hardening: the mock survives hostile admin input and slow clients,
//! applies one idempotency rule, and guards its admin API off loopback.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use http::Method;
use sendmux_mock::MockServer;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::harness::{Api, KEY};

async fn advance(server: &MockServer, seconds: u64) -> u16 {
    reqwest::Client::new()
        .post(format!("{}/clock/advance", server.admin_url()))
        .json(&json!({ "seconds": seconds }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn the_mock_survives_advancing_the_clock_by_u64_max() {
    let server = MockServer::start().await.unwrap();
    let api = Api::new(&server);
    assert_eq!(advance(&server, u64::MAX).await, 200);
    // Every stage that reads the clock: rate window, create, idempotency.
    let r = api.get("/domains").await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let r = api
        .call(Method::POST, "/domains")
        .header("idempotency-key", "far-future")
        .json(&json!({ "domain": "mail.acme.com" }))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let again = api
        .call(Method::POST, "/domains")
        .header("idempotency-key", "far-future")
        .json(&json!({ "domain": "mail.acme.com" }))
        .send()
        .await;
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    // A second advance saturates instead of overflowing.
    assert_eq!(advance(&server, u64::MAX).await, 200);
    assert_eq!(api.get("/domains").await.status, 200);
}

/// Sends `head` plus `body` on a raw connection and returns what the server
/// wrote until it closed the connection (or `wait` passed).
async fn raw_exchange(addr: SocketAddr, request: &[u8], wait: Duration) -> (String, bool) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut got = Vec::new();
    let closed = tokio::time::timeout(wait, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .is_ok();
    (String::from_utf8_lossy(&got).into_owned(), closed)
}

#[tokio::test]
async fn a_half_sent_body_is_answered_408_within_the_timeout() {
    let server = MockServer::builder()
        .body_read_timeout(Duration::from_millis(200))
        .start()
        .await
        .unwrap();
    let request = format!(
        "POST /api/v1/domains HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {KEY}\r\n\
         content-type: application/json\r\ncontent-length: 1000\r\n\r\n{{"
    );
    let started = Instant::now();
    let (got, closed) =
        raw_exchange(server.addr(), request.as_bytes(), Duration::from_secs(5)).await;
    assert!(closed, "the connection is still open after 5 s: {got:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(got.starts_with("HTTP/1.1 408 "), "{got}");
    let lower = got.to_ascii_lowercase();
    assert!(lower.contains("x-request-id: req_"), "{got}");
    assert!(lower.contains("x-ratelimit-limit: "), "{got}");
    let body = got.split("\r\n\r\n").nth(1).unwrap_or_default();
    let v: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {got}"));
    assert_eq!(v["ok"], false);
    assert_eq!(v["error"]["code"], "invalid_parameter");
    assert!(
        v["meta"]["request_id"]
            .as_str()
            .unwrap()
            .starts_with("req_")
    );
    // Nothing was created, and the server still answers.
    assert_eq!(server.domain_count(KEY), 0);
    assert_eq!(Api::new(&server).get("/domains").await.status, 200);
}

#[tokio::test]
async fn a_half_sent_admin_body_is_cut_off_too() {
    let server = MockServer::builder()
        .body_read_timeout(Duration::from_millis(200))
        .start()
        .await
        .unwrap();
    let request = b"PUT /__mock/faults HTTP/1.1\r\nhost: x\r\n\
        content-type: application/json\r\ncontent-length: 1000\r\n\r\n{";
    let started = Instant::now();
    let (got, closed) = raw_exchange(server.addr(), request, Duration::from_secs(5)).await;
    assert!(closed, "the connection is still open after 5 s: {got:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
    // Admin routes are plain JSON, not the API: axum's own 400.
    assert!(got.starts_with("HTTP/1.1 400 "), "{got}");
}

#[tokio::test]
async fn corrected_retry_after_a_rejected_input_is_not_a_conflict() {
    let server = MockServer::start().await.unwrap();
    let api = Api::new(&server);
    let send = |domain: &str| {
        api.call(Method::POST, "/domains")
            .header("idempotency-key", "fix-me")
            .json(&json!({ "domain": domain }))
            .send()
    };
    // Passes the schema, rejected by the handler's own input check.
    send("Mail.Acme.com")
        .await
        .assert_error(400, "invalid_parameter");
    let fixed = send("mail.acme.com").await;
    assert_eq!(
        fixed.status,
        201,
        "{}",
        String::from_utf8_lossy(&fixed.body)
    );
    assert_eq!(fixed.header("idempotent-replayed"), None);
    assert_eq!(server.domain_count(KEY), 1);
    assert_eq!(server.idempotency_in_flight(), 0);
}

#[tokio::test]
async fn an_executed_conflict_is_stored_and_replayed() {
    let server = MockServer::start().await.unwrap();
    let api = Api::new(&server);
    api.create("taken.acme.com", None).await;
    let send = || {
        api.call(Method::POST, "/domains")
            .header("idempotency-key", "dup")
            .json(&json!({ "domain": "taken.acme.com" }))
            .send()
    };
    let first = send().await;
    first.assert_error(409, "conflict");
    assert_eq!(first.header("idempotent-replayed"), None);
    // Even once the name is free again, the key answers what it executed.
    let id = server.domains(Some(KEY))[0].id.clone();
    api.call(Method::DELETE, &format!("/domains/{id}"))
        .send()
        .await;
    let again = send().await;
    again.assert_error(409, "conflict");
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.header("x-request-id"), first.header("x-request-id"));
    assert_eq!(again.body, first.body);
    assert_eq!(server.domain_count(KEY), 0);
}

#[tokio::test]
async fn a_public_bind_without_an_admin_token_refuses_to_start() {
    let err = MockServer::builder()
        .bind(SocketAddr::from(([0, 0, 0, 0], 0)))
        .start()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    let msg = err.to_string();
    assert!(
        msg.contains("0.0.0.0") && msg.contains("admin token"),
        "{msg}"
    );
}

async fn admin_get(server: &MockServer, path: &str, bearer: Option<&str>) -> reqwest::Response {
    // The server binds 0.0.0.0; reach it over loopback.
    let url = format!("http://127.0.0.1:{}/__mock{path}", server.addr().port());
    let mut req = reqwest::Client::new().get(url);
    if let Some(token) = bearer {
        req = req.bearer_auth(token);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn a_public_bind_with_an_admin_token_requires_it() {
    let server = MockServer::builder()
        .bind(SocketAddr::from(([0, 0, 0, 0], 0)))
        .admin_token("s3cret-admin")
        .start()
        .await
        .unwrap();
    for bearer in [None, Some("wrong"), Some(KEY)] {
        let r = admin_get(&server, "/domains", bearer).await;
        assert_eq!(r.status().as_u16(), 401);
        let request_id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["ok"], false);
        assert_eq!(v["error"]["code"], "authentication_required");
        assert_eq!(v["meta"]["request_id"], request_id.as_str());
    }
    let r = admin_get(&server, "/domains", Some("s3cret-admin")).await;
    assert_eq!(r.status().as_u16(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["count"], 0);
    // The API itself still takes API keys, not the admin token.
    let url = format!("http://127.0.0.1:{}/api/v1/domains", server.addr().port());
    let r = reqwest::Client::new()
        .get(url)
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
}

#[tokio::test]
async fn loopback_needs_no_admin_token_unless_one_is_set() {
    let open = MockServer::start().await.unwrap();
    let r = reqwest::Client::new()
        .post(format!("{}/reset", open.admin_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);

    let guarded = MockServer::builder()
        .admin_token("tok")
        .start()
        .await
        .unwrap();
    let url = format!("{}/reset", guarded.admin_url());
    let r = reqwest::Client::new().post(&url).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let r = reqwest::Client::new()
        .post(&url)
        .bearer_auth("tok")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
}
