//! Each class of malformed request gets its status, code, `param` and
//! `errors[]`, never a 500.

use http::Method;
use sendmux_mock::MockServer;
use serde_json::{Value, json};

use crate::harness::{Api, KEY};

async fn setup() -> (MockServer, Api, String) {
    let server = MockServer::builder()
        .max_body_bytes(1024 * 1024)
        .start()
        .await
        .unwrap();
    let api = Api::new(&server);
    let id = api.create_id("mail.acme.com", None).await;
    (server, api, id)
}

fn fields(v: &Value) -> Vec<&str> {
    v["error"]["errors"]
        .as_array()
        .map(|a| a.iter().map(|e| e["field"].as_str().unwrap()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn malformed_json_and_content_types_are_400() {
    let (server, api, id) = setup().await;
    let create = || api.call(Method::POST, "/domains");
    let v = create()
        .header("content-type", "application/json")
        .raw("{\"domain\": ")
        .send()
        .await
        .assert_error(400, "invalid_parameter");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not valid JSON")
    );
    create()
        .header("content-type", "text/plain")
        .raw("{\"domain\":\"a.acme.com\"}")
        .send()
        .await
        .assert_error(400, "invalid_parameter");
    create()
        .raw("{\"domain\":\"a.acme.com\"}")
        .send()
        .await
        .assert_error(400, "invalid_parameter");
    create()
        .header("content-type", "application/json")
        .send()
        .await
        .assert_error(400, "invalid_parameter");
    create()
        .header("content-type", "application/json")
        .raw(vec![0xff, 0xfe, b'{'])
        .send()
        .await
        .assert_error(400, "invalid_parameter");
    api.call(Method::PATCH, &format!("/domains/{id}"))
        .header("content-type", "application/json")
        .raw("[")
        .send()
        .await
        .assert_error(400, "invalid_parameter");
    assert_eq!(server.domain_count(KEY), 1);
}

#[tokio::test]
async fn schema_violations_name_the_field() {
    let (server, api, id) = setup().await;
    let v = api
        .post("/domains", json!({}))
        .await
        .assert_error(400, "missing_parameter");
    assert_eq!(v["error"]["param"], "domain");
    assert_eq!(fields(&v), vec!["domain"]);

    let v = api
        .post(
            "/domains",
            json!({ "domain": "a.acme.com", "colour": "blue" }),
        )
        .await
        .assert_error(400, "invalid_parameter");
    assert_eq!(v["error"]["param"], "colour");

    let v = api
        .post(
            "/domains",
            json!({ "domain": "a.acme.com", "mode": "both" }),
        )
        .await
        .assert_error(400, "invalid_parameter");
    assert_eq!(v["error"]["param"], "mode");

    let v = api
        .post("/domains", json!({ "domain": 42 }))
        .await
        .assert_error(400, "invalid_parameter");
    assert_eq!(v["error"]["param"], "domain");

    let v = api.post("/domains", json!(["a.acme.com"])).await;
    v.assert_error(400, "invalid_parameter");

    // PATCH documents 422 for what it cannot do.
    let path = format!("/domains/{id}");
    let v = api
        .call(Method::PATCH, &path)
        .json(&json!({ "mode": "send_only" }))
        .send()
        .await
        .assert_error(422, "validation_error");
    assert_eq!(v["error"]["param"], "mode");
    let v = api
        .call(Method::PATCH, &path)
        .json(&json!({ "mode": "send_receive", "domain": "x.acme.com" }))
        .send()
        .await
        .assert_error(422, "validation_error");
    assert_eq!(v["error"]["param"], "domain");
    let v = api
        .call(Method::PATCH, &path)
        .json(&json!({}))
        .send()
        .await
        .assert_error(400, "missing_parameter");
    assert_eq!(v["error"]["param"], "mode");
    assert_eq!(server.domain_count(KEY), 1);
}

#[tokio::test]
async fn domain_names_the_schema_cannot_judge_are_rejected() {
    let (server, api, _) = setup().await;
    for bad in [
        "Mail.Acme.com",
        "https://acme.com",
        "acme.com/path",
        "acme",
        "acme..com",
        "-acme.com",
        "",
    ] {
        let v = api
            .post("/domains", json!({ "domain": bad }))
            .await
            .assert_error(400, "invalid_parameter");
        assert_eq!(v["error"]["param"], "domain", "{bad}");
        assert_eq!(fields(&v), vec!["domain"], "{bad}");
    }
    assert_eq!(server.domain_count(KEY), 1);
}

#[tokio::test]
async fn filter_rules_are_checked_one_by_one() {
    let (_server, api, id) = setup().await;
    let path = format!("/domains/{id}/filters");
    let put = |body: Value| api.call(Method::PUT, &path).json(&body).send();

    let v = put(json!({ "mode": "allowlist", "rules": [
        { "type": "allow", "pattern": "a.com" },
        { "type": "allow", "pattern": "b.com" },
        { "type": "allow", "pattern": "c.com" },
        { "type": "maybe", "pattern": "d.com" }
    ]}))
    .await
    .assert_error(422, "validation_error");
    assert_eq!(v["error"]["param"], "rules.3.type");
    assert!(fields(&v).contains(&"rules.3.type"));

    let v = put(json!({ "mode": "allowlist", "rules": [
        { "type": "allow", "pattern": "not a pattern" },
        { "type": "deny", "pattern": "ok.com" },
        { "type": "deny", "pattern": "" }
    ]}))
    .await
    .assert_error(422, "validation_error");
    assert_eq!(fields(&v), vec!["rules.0.pattern", "rules.2.pattern"]);

    let too_many: Vec<_> = (0..1001)
        .map(|i| json!({ "type": "deny", "pattern": format!("s{i}.example.com") }))
        .collect();
    let v = put(json!({ "mode": "denylist", "rules": too_many }))
        .await
        .assert_error(422, "validation_error");
    assert_eq!(v["error"]["param"], "rules");

    let v = put(json!({ "mode": "allowlist", "rules": [
        { "type": "allow", "pattern": "a.com", "note": "n".repeat(256) }
    ]}))
    .await
    .assert_error(422, "validation_error");
    assert_eq!(v["error"]["param"], "rules.0.note");

    let v = put(json!({ "rules": [] }))
        .await
        .assert_error(400, "missing_parameter");
    assert_eq!(v["error"]["param"], "mode");
    // Nothing was stored.
    assert_eq!(api.get(&path).await.json()["data"]["rules"], json!([]));
}

#[tokio::test]
async fn oversize_bodies_get_413() {
    let server = MockServer::builder()
        .max_body_bytes(1024)
        .start()
        .await
        .unwrap();
    let api = Api::new(&server);
    let big = format!("{{\"domain\":\"{}.com\"}}", "a".repeat(2000));
    api.call(Method::POST, "/domains")
        .header("content-type", "application/json")
        .raw(big)
        .send()
        .await
        .assert_error(413, "payload_too_large");
    // The default limit is 1 MiB.
    let server = MockServer::start().await.unwrap();
    let api = Api::new(&server);
    let big = format!("{{\"domain\":\"{}.com\"}}", "a".repeat(1024 * 1024 + 10));
    api.call(Method::POST, "/domains")
        .header("content-type", "application/json")
        .raw(big)
        .send()
        .await
        .assert_error(413, "payload_too_large");
    assert_eq!(server.domain_count(KEY), 0);
}

#[tokio::test]
async fn bad_list_parameters_are_400() {
    let (_server, api, _) = setup().await;
    for q in ["limit=0", "limit=101", "limit=abc", "limit=-1"] {
        let v = api
            .get(&format!("/domains?{q}"))
            .await
            .assert_error(400, "invalid_parameter");
        assert_eq!(v["error"]["param"], "limit", "{q}");
    }
    let v = api
        .get("/domains?cursor=not-a-cursor")
        .await
        .assert_error(400, "invalid_parameter");
    assert_eq!(v["error"]["param"], "cursor");
    assert_eq!(api.get("/domains?limit=1").await.status, 200);
    assert_eq!(api.get("/domains?limit=100").await.status, 200);
}

#[tokio::test]
async fn garbage_never_gets_a_5xx() {
    let (server, api, id) = setup().await;
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let bodies: Vec<Vec<u8>> = vec![
        b"null".to_vec(),
        b"true".to_vec(),
        b"\"text\"".to_vec(),
        b"1e999999".to_vec(),
        deep.into_bytes(),
        b"{\"domain\":\"a.acme.com\",\"domain\":\"b.acme.com\"}".to_vec(),
        b"{\"domain\":\"\\u0000.acme.com\"}".to_vec(),
        "{\"domain\":\"b\u{fc}cher.de\"}".as_bytes().to_vec(),
        b"{\"mode\":null,\"rules\":null,\"domain\":null}".to_vec(),
        vec![0u8; 64],
    ];
    let targets = [
        (Method::POST, "/domains".to_owned()),
        (Method::PATCH, format!("/domains/{id}")),
        (Method::PUT, format!("/domains/{id}/filters")),
    ];
    for (method, path) in &targets {
        for body in &bodies {
            let r = api
                .call(method.clone(), path)
                .header("content-type", "application/json")
                .raw(body.clone())
                .send()
                .await;
            // Duplicate keys are read last-wins, like most JSON parsers:
            // a 201 is fine, a 5xx never is.
            assert!(
                matches!(r.status, 201 | 400 | 409 | 422),
                "{method} {path} {:?} -> {} {}",
                String::from_utf8_lossy(body),
                r.status,
                String::from_utf8_lossy(&r.body)
            );
        }
    }
    for path in [
        "/domains/%00",
        "/domains/..%2F..",
        "/domains/mdom_x/zone-file?x=%ff",
    ] {
        let r = api.get(path).await;
        assert!(r.status < 500, "{path}");
    }
    assert!(server.total_domain_count() <= 2);
}
