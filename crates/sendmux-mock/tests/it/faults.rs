//! Fault injection.

use http::Method;
use sendmux_mock::{FaultConfig, FaultKind, FaultRule, MockServer};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::{Api, KEY};

const CREATE: &str = "managementCreateDomain";

#[tokio::test]
async fn close_after_commit_then_replay_returns_the_original_201() {
    let server = MockServer::builder()
        .fault(
            FaultRule::new(FaultKind::CloseAfterCommit, 1.0)
                .on_operation(CREATE)
                .times(1),
        )
        .start()
        .await
        .unwrap();
    let api = Api::new(&server);
    let body = json!({ "domain": "mail.acme.com" });
    let call = || {
        api.call(Method::POST, "/domains")
            .header("idempotency-key", "create-mail-acme")
            .json(&body)
    };
    let err = call()
        .try_send()
        .await
        .expect_err("the connection is closed without a response");
    assert!(!err.is_status(), "{err}");
    // The change was committed anyway.
    assert_eq!(server.domain_count(KEY), 1);
    let stored = server.domains(Some(KEY));
    let log = server.requests();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].status, Some(201));
    assert!(log[0].connection_closed);
    assert_eq!(log[0].faults, vec!["close_after_commit".to_owned()]);

    // The retry with the same key gets the original 201, not a second
    // domain and not a 409.
    let replay = call().send().await;
    assert_eq!(replay.status, 201);
    assert_eq!(replay.json()["data"]["id"], stored[0].id.as_str());
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(server.domain_count(KEY), 1);
    // Without the key a retry would have hit the duplicate check.
    api.post("/domains", body.clone())
        .await
        .assert_error(409, "conflict");
}

/// Writes one raw HTTP/1.1 request and reads until the server closes.
async fn raw_exchange(server: &MockServer, request: &str) -> Vec<u8> {
    let mut stream = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    // A reset instead of a clean close is also "no response".
    let _ = stream.read_to_end(&mut got).await;
    got
}

fn raw_create(domain: &str) -> String {
    let body = format!("{{\"domain\":\"{domain}\"}}");
    format!(
        "POST /api/v1/domains HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {KEY}\r\n\
         Content-Type: application/json\r\nIdempotency-Key: raw-1\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

#[tokio::test]
async fn connection_closes_send_no_bytes_at_all() {
    let server = MockServer::builder()
        .fault(
            FaultRule::new(FaultKind::CloseAfterCommit, 1.0)
                .on_operation(CREATE)
                .times(1),
        )
        .start()
        .await
        .unwrap();
    let got = raw_exchange(&server, &raw_create("a.acme.com")).await;
    assert!(got.is_empty(), "{}", String::from_utf8_lossy(&got));
    assert_eq!(server.domain_count(KEY), 1);

    server.set_faults(FaultConfig {
        rules: vec![FaultRule::new(FaultKind::CloseBeforeHandler, 1.0)],
    });
    let got = raw_exchange(&server, &raw_create("b.acme.com")).await;
    assert!(got.is_empty(), "{}", String::from_utf8_lossy(&got));
    assert_eq!(server.domain_count(KEY), 1, "nothing committed");
    let last = server.requests().pop().unwrap();
    assert_eq!(last.status, None);
    assert!(last.connection_closed);

    // Control: without faults the same raw exchange gets a response.
    server.set_faults(FaultConfig::default());
    let got = raw_exchange(
        &server,
        "GET /api/v1/domains HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer smx_root_test\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(
        got.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&got)
    );
}

#[tokio::test]
async fn close_before_handler_commits_nothing() {
    let server = MockServer::builder()
        .fault(
            FaultRule::new(FaultKind::CloseBeforeHandler, 1.0)
                .on_operation(CREATE)
                .times(1),
        )
        .start()
        .await
        .unwrap();
    let api = Api::new(&server);
    let call = || {
        api.call(Method::POST, "/domains")
            .header("idempotency-key", "k")
            .json(&json!({ "domain": "mail.acme.com" }))
    };
    assert!(call().try_send().await.is_err());
    assert_eq!(server.domain_count(KEY), 0);
    assert_eq!(server.idempotency_in_flight(), 0);
    assert_eq!(call().send().await.status, 201);
}

#[tokio::test]
async fn status_faults_use_published_codes_and_headers() {
    let server = MockServer::builder()
        .fault(FaultRule::new(FaultKind::InternalError, 1.0).on_operation("managementGetDomain"))
        .fault(
            FaultRule::new(
                FaultKind::ServiceUnavailable {
                    retry_after_secs: Some(1),
                },
                1.0,
            )
            .on_operation("managementDeleteDomain"),
        )
        .fault(
            FaultRule::new(
                FaultKind::ServiceUnavailable {
                    retry_after_secs: Some(0),
                },
                1.0,
            )
            .on_operation("managementVerifyDomain"),
        )
        .fault(
            FaultRule::new(
                FaultKind::RateLimited {
                    retry_after_secs: 2,
                },
                1.0,
            )
            .on_operation("managementGetDomainZoneFile"),
        )
        .start()
        .await
        .unwrap();
    let api = Api::new(&server);
    let id = api.create_id("mail.acme.com", None).await;
    let path = format!("/domains/{id}");

    let v = api.get(&path).await.assert_error(500, "internal_error");
    assert_eq!(v["error"]["retryable"], true);

    let r = api.call(Method::DELETE, &path).send().await;
    r.assert_error(503, "service_unavailable");
    assert_eq!(r.header("retry-after"), Some("1"));
    assert_eq!(
        server.domain_count(KEY),
        1,
        "the fault ran instead of the handler"
    );

    let r = api
        .call(Method::POST, &format!("{path}/verify"))
        .send()
        .await;
    r.assert_error(503, "service_unavailable");
    assert_eq!(r.header("retry-after"), Some("0"));

    let r = api.get(&format!("{path}/zone-file")).await;
    r.assert_error(429, "rate_limit_exceeded");
    assert_eq!(r.header("retry-after"), Some("2"));

    // Other routes are untouched.
    assert_eq!(api.get("/domains").await.status, 200);
}

#[tokio::test]
async fn latency_is_recorded_and_the_request_still_succeeds() {
    let server = MockServer::builder()
        .fault(FaultRule::new(FaultKind::Latency { ms: 5 }, 1.0))
        .start()
        .await
        .unwrap();
    let api = Api::new(&server);
    assert_eq!(api.get("/domains").await.status, 200);
    assert_eq!(server.requests()[0].faults, vec!["latency".to_owned()]);
}

async fn statuses(seed: u64) -> Vec<u16> {
    let server = MockServer::builder()
        .seed(seed)
        .fault(FaultRule::new(FaultKind::InternalError, 0.5))
        .start()
        .await
        .unwrap();
    let api = Api::new(&server);
    let mut out = Vec::new();
    for _ in 0..40 {
        out.push(api.get("/domains").await.status);
    }
    out
}

#[tokio::test]
async fn fault_draws_are_deterministic_per_seed() {
    let a = statuses(5).await;
    assert_eq!(a, statuses(5).await);
    assert!(a.contains(&500) && a.contains(&200), "{a:?}");
    assert_ne!(a, statuses(6).await);
}

#[tokio::test]
async fn times_limits_how_often_a_rule_fires() {
    let server = MockServer::builder()
        .fault(FaultRule::new(FaultKind::InternalError, 1.0).times(2))
        .start()
        .await
        .unwrap();
    let api = Api::new(&server);
    let got: Vec<u16> = [
        api.get("/domains").await.status,
        api.get("/domains").await.status,
        api.get("/domains").await.status,
    ]
    .to_vec();
    assert_eq!(got, vec![500, 500, 200]);
}
