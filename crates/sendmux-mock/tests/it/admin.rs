//! The `/__mock/` admin and inspection endpoints.

use http::Method;
use sendmux_mock::MockServer;
use serde_json::{Value, json};

use crate::harness::{Api, KEY};

async fn admin(
    server: &MockServer,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let http = reqwest::Client::new();
    let mut req = http.request(method, format!("{}{path}", server.admin_url()));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

#[tokio::test]
async fn faults_can_be_changed_at_runtime() {
    let server = MockServer::start().await.unwrap();
    let api = Api::new(&server);
    let rules = json!({ "rules": [
        { "kind": "service_unavailable", "retry_after_secs": 1, "rate": 1.0, "operation": "managementListDomains" }
    ]});
    let (status, got) = admin(&server, Method::PUT, "/faults", Some(rules.clone())).await;
    assert_eq!(status, 200);
    assert_eq!(got, rules);
    assert_eq!(admin(&server, Method::GET, "/faults", None).await.1, rules);
    let r = api.get("/domains").await;
    r.assert_error(503, "service_unavailable");
    assert_eq!(r.header("retry-after"), Some("1"));
    admin(&server, Method::DELETE, "/faults", None).await;
    assert_eq!(api.get("/domains").await.status, 200);

    let (status, _) = admin(
        &server,
        Method::PUT,
        "/faults",
        Some(json!({ "rules": [{ "kind": "nope", "rate": 1 }] })),
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = admin(
        &server,
        Method::PUT,
        "/faults",
        Some(json!({ "rules": [{ "kind": "internal_error", "rate": 2 }] })),
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn inspection_counts_logs_and_resets() {
    let server = MockServer::start().await.unwrap();
    let api = Api::new(&server);
    let id = api.create_id("mail.acme.com", None).await;
    Api::with_key(&server, Some("smx_root_b"))
        .create("b.acme.com", None)
        .await;

    let (_, all) = admin(&server, Method::GET, "/domains", None).await;
    assert_eq!(all["count"], 2);
    let http = reqwest::Client::new();
    let mine: Value = http
        .get(format!("{}/domains", server.admin_url()))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(mine["count"], 1);
    assert_eq!(mine["domains"][0]["id"], id.as_str());
    assert_eq!(mine["domains"][0]["team"], server.team_of(KEY).as_str());

    // Mailboxes are listed the same way; there are none yet.
    let (status, mailboxes) = admin(&server, Method::GET, "/mailboxes", None).await;
    assert_eq!(status, 200);
    assert_eq!(mailboxes, json!({ "count": 0, "mailboxes": [] }));
    // A domain's mailbox count follows its mailboxes; it has no setter.
    let (status, _) = admin(
        &server,
        Method::PUT,
        &format!("/domains/{id}/mailbox_count"),
        Some(json!({ "mailbox_count": 4 })),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(
        api.get(&format!("/domains/{id}")).await.json()["data"]["mailbox_count"],
        0
    );

    let (_, log) = admin(&server, Method::GET, "/requests", None).await;
    let log = log["requests"].as_array().unwrap();
    assert_eq!(log.len(), 3);
    assert_eq!(log[0]["method"], "POST");
    assert_eq!(log[0]["operation"], "managementCreateDomain");
    assert_eq!(log[0]["status"], 201);
    let auth = log[0]["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h[0] == "authorization")
        .unwrap();
    assert_eq!(auth[1], "[redacted]");

    let (status, _) = admin(&server, Method::POST, "/reset", None).await;
    assert_eq!(status, 200);
    assert_eq!(server.total_domain_count(), 0);
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn propagation_rate_limit_and_clock_are_adjustable() {
    let server = MockServer::start().await.unwrap();
    let api = Api::new(&server);
    let (_, p) = admin(
        &server,
        Method::PUT,
        "/propagation",
        Some(json!({ "kind": "after_duration", "secs": 60 })),
    )
    .await;
    assert_eq!(p, json!({ "kind": "after_duration", "secs": 60 }));
    let id = api.create_id("mail.acme.com", None).await;
    let verify = format!("/domains/{id}/verify");
    assert_eq!(
        api.call(Method::POST, &verify).send().await.json()["data"]["status"],
        "pending"
    );
    let (status, _) = admin(
        &server,
        Method::POST,
        "/clock/advance",
        Some(json!({ "seconds": 60 })),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        api.call(Method::POST, &verify).send().await.json()["data"]["status"],
        "verified"
    );

    admin(
        &server,
        Method::PUT,
        "/rate_limit",
        Some(json!({ "limit": 1, "window_secs": 3600 })),
    )
    .await;
    api.get("/domains").await;
    api.get("/domains")
        .await
        .assert_error(429, "rate_limit_exceeded");
    let (_, rl) = admin(&server, Method::GET, "/rate_limit", None).await;
    assert_eq!(rl, json!({ "limit": 1, "window_secs": 3600 }));
}

#[tokio::test]
async fn unknown_routes_get_an_enveloped_404() {
    let server = MockServer::start().await.unwrap();
    // Outside the spec, so checked by hand rather than by the harness.
    let resp = reqwest::Client::new()
        .get(format!("{}/nope", server.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    let id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["error"]["code"], "not_found");
    assert_eq!(v["meta"]["request_id"], id.as_str());
    let resp = reqwest::Client::new()
        .put(format!("{}/domains", server.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
}

#[tokio::test]
async fn shutdown_is_graceful_and_frees_the_port() {
    let server = MockServer::start().await.unwrap();
    let addr = server.addr();
    assert_eq!(Api::new(&server).get("/domains").await.status, 200);
    server.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn self_check_validates_the_servers_own_output() {
    let server = MockServer::builder()
        .self_check(true)
        .start()
        .await
        .unwrap();
    let api = Api::new(&server);
    let id = api.create_id("mail.acme.com", None).await;
    api.get(&format!("/domains/{id}")).await;
    api.get(&format!("/domains/{id}/zone-file")).await;
    api.post("/domains", json!({ "domain": "Bad" })).await;
    api.get("/domains?limit=0").await;
    let log = server.requests();
    assert_eq!(log.len(), 5);
    for rec in &log {
        assert!(rec.violations.is_empty(), "{rec:?}");
    }
}
