//! Stubs for users' own tests: `MockServer::stub`, `fail_next`, their
//! admin API, and the check of a stub's answer against the spec.

use http::Method;
use sendmux_mock::{ErrorCode, MockServer, ops};
use serde_json::{Value, json};

use crate::harness::{Api, KEY};

/// A page of no domains, as `GET /domains` answers it.
fn empty_page() -> Value {
    json!({ "ok": true, "data": [], "pagination": { "has_more": false } })
}

/// Status and JSON of an admin call.
async fn admin(
    server: &MockServer,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = reqwest::Client::new().request(method, format!("{}{path}", server.admin_url()));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

#[tokio::test]
async fn a_stub_answers_the_next_calls_then_the_handler_resumes() {
    let server = MockServer::start().await.unwrap();
    let api = Api::new(&server);
    let real = api.create("mail.acme.com", None).await;
    let id = real["id"].as_str().unwrap().to_owned();
    let path = format!("/domains/{id}");

    // The real answer, with one field changed: still what the API could say.
    let mut data = real.clone();
    data["domain"] = "stubbed.acme.com".into();
    let stub = server
        .stub(
            ops::MANAGEMENT_GET_DOMAIN,
            200,
            json!({ "ok": true, "data": data }),
        )
        .times(2);
    assert_eq!(stub.remaining(), Some(2));
    for _ in 0..2 {
        // The harness checks the answer against the spec, the request id
        // against `meta.request_id` and the common headers.
        let r = api.get(&path).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["data"]["domain"], "stubbed.acme.com");
        assert!(r.header("etag").is_some_and(|t| t.starts_with("W/")));
    }
    let r = api.get(&path).await;
    assert_eq!(
        r.json()["data"]["domain"],
        "mail.acme.com",
        "the handler again"
    );
    assert_eq!((stub.served(), stub.remaining()), (2, Some(0)));

    let log = server.requests();
    let stubbed: Vec<Option<u64>> = log.iter().map(|r| r.stub).collect();
    assert_eq!(stubbed, [None, Some(stub.id()), Some(stub.id()), None]);
    for rec in &log {
        assert!(rec.violations.is_empty(), "{rec:?}");
    }
    server.verify().unwrap();
}

#[tokio::test]
async fn a_created_answer_gets_its_location_and_a_stub_without_times_answers_every_call() {
    let server = MockServer::start().await.unwrap();
    let api = Api::new(&server);
    let mut data = api.create("mail.acme.com", None).await;
    data["id"] = "mdom_stubbed".into();
    data["domain"] = "other.acme.com".into();
    server.stub(
        "managementCreateDomain",
        201,
        json!({ "ok": true, "data": data }),
    );
    for name in ["a.acme.com", "b.acme.com", "c.acme.com"] {
        let r = api.post("/domains", json!({ "domain": name })).await;
        assert_eq!(r.status, 201);
        assert_eq!(r.header("location"), Some("/api/v1/domains/mdom_stubbed"));
        assert_eq!(r.json()["data"]["id"], "mdom_stubbed");
    }
    assert_eq!(
        server.domain_count(KEY),
        1,
        "no stubbed create stored anything"
    );
    server.clear_stubs();
    assert_eq!(
        api.post("/domains", json!({ "domain": "d.acme.com" }))
            .await
            .status,
        201
    );
    assert_eq!(server.domain_count(KEY), 2);
}

#[tokio::test]
async fn stubs_answer_after_auth_and_after_the_body_check() {
    let server = MockServer::start().await.unwrap();
    let stub = server.stub(ops::MANAGEMENT_LIST_DOMAINS, 200, empty_page());
    Api::with_key(&server, None)
        .get("/domains")
        .await
        .assert_error(401, "authentication_required");
    Api::with_key(&server, Some("smx_mbx_lenient"))
        .get("/domains")
        .await
        .assert_error(403, "insufficient_permissions");
    assert_eq!(stub.served(), 0, "refused calls use up no answer");

    let conflict = server.fail_next(ops::MANAGEMENT_CREATE_DOMAIN, ErrorCode::Conflict, 1);
    let api = Api::new(&server);
    api.post("/domains", json!({ "domain": 5 }))
        .await
        .assert_error(400, "invalid_parameter");
    assert_eq!(conflict.served(), 0, "a request the API refuses is refused");
    api.post("/domains", json!({ "domain": "mail.acme.com" }))
        .await
        .assert_error(409, "conflict");
    assert_eq!(conflict.served(), 1);
}

#[tokio::test]
async fn fail_next_answers_each_code_with_its_status_envelope_and_retry_after() {
    let server = MockServer::start().await.unwrap();
    let api = Api::new(&server);
    let cases = [
        ("insufficient_permissions", 403, false, None),
        ("conflict", 409, false, None),
        ("validation_error", 422, false, None),
        ("rate_limit_exceeded", 429, true, Some("1")),
        ("service_unavailable", 503, true, Some("1")),
    ];
    for (code, status, retryable, retry_after) in cases {
        server.fail_next(ops::MANAGEMENT_CREATE_DOMAIN, code, 1);
        let r = api
            .post("/domains", json!({ "domain": "mail.acme.com" }))
            .await;
        let v = r.assert_error(status, code);
        assert_eq!(v["error"]["retryable"], retryable, "{v}");
        assert_eq!(r.header("retry-after"), retry_after, "{code}");
        assert_eq!(server.domain_count(KEY), 0, "{code}: nothing executed");
    }
    // `times` counts calls, and the handler answers after them.
    server.fail_next(
        ops::MANAGEMENT_CREATE_DOMAIN,
        ErrorCode::InsufficientPermissions,
        2,
    );
    for _ in 0..2 {
        api.post("/domains", json!({ "domain": "mail.acme.com" }))
            .await
            .assert_error(403, "insufficient_permissions");
    }
    assert_eq!(
        api.post("/domains", json!({ "domain": "mail.acme.com" }))
            .await
            .status,
        201
    );
    for rec in server.requests() {
        assert!(rec.violations.is_empty(), "{rec:?}");
    }
    server.verify().unwrap();
}

#[tokio::test]
async fn a_stubbed_answer_is_not_stored_under_an_idempotency_key() {
    let server = MockServer::start().await.unwrap();
    let api = Api::new(&server);
    server.fail_next(ops::MANAGEMENT_CREATE_DOMAIN, "service_unavailable", 1);
    let send = || {
        api.call(Method::POST, "/domains")
            .header("idempotency-key", "k-1")
            .json(&json!({ "domain": "mail.acme.com" }))
            .send()
    };
    send().await.assert_error(503, "service_unavailable");
    let r = send().await;
    assert_eq!(r.status, 201, "the retry with the same key executes");
    assert_eq!(r.header("idempotent-replayed"), None);
}

#[tokio::test]
async fn the_newest_stub_answers_first_and_matchers_pick_the_calls() {
    let server = MockServer::start().await.unwrap();
    let api = Api::new(&server);
    server.stub(ops::MANAGEMENT_LIST_DOMAINS, 200, empty_page());
    server.fail_next(ops::MANAGEMENT_LIST_DOMAINS, ErrorCode::InternalError, 1);
    api.get("/domains")
        .await
        .assert_error(500, "internal_error");
    assert_eq!(api.get("/domains").await.json()["data"], json!([]));

    let taken = server
        .fail_next(ops::MANAGEMENT_CREATE_DOMAIN, ErrorCode::Conflict, 5)
        .with_body_field("/domain", "taken.acme.com");
    let traced = server
        .fail_next(ops::MANAGEMENT_CREATE_DOMAIN, "limit_exceeded", 5)
        .with_header("x-trace", "quota");
    assert_eq!(
        api.post("/domains", json!({ "domain": "free.acme.com" }))
            .await
            .status,
        201
    );
    api.post("/domains", json!({ "domain": "taken.acme.com" }))
        .await
        .assert_error(409, "conflict");
    api.call(Method::POST, "/domains")
        .header("x-trace", "quota")
        .json(&json!({ "domain": "other.acme.com" }))
        .send()
        .await
        .assert_error(409, "limit_exceeded");
    assert_eq!((taken.served(), traced.served()), (1, 1));
    traced.remove();
    assert_eq!(
        api.call(Method::POST, "/domains")
            .header("x-trace", "quota")
            .json(&json!({ "domain": "other.acme.com" }))
            .send()
            .await
            .status,
        201
    );
}

#[tokio::test]
async fn a_stub_answers_on_the_sending_api_too() {
    let server = MockServer::start().await.unwrap();
    server.fail_next(ops::SENDING_SEND_EMAIL, ErrorCode::InsufficientCredits, 1);
    let api = Api::sending(&server, Some("smx_agent_tests"));
    let body = json!({
        "from": { "email": "agent@acme.com" },
        "to": { "email": "ada@example.com" },
        "subject": "Hi",
        "html_body": "<p>Hello</p>",
        "text_body": "Hello"
    });
    let r = api.post("/emails/send", body.clone()).await;
    let v = r.assert_error(402, "insufficient_credits");
    assert_eq!(v["error"]["retryable"], false);
    assert_eq!(api.post("/emails/send", body).await.status, 200);
    assert_eq!(server.outbox().len(), 1);
}

#[tokio::test]
async fn a_stub_that_breaks_the_spec_is_reported_unless_unchecked() {
    let server = MockServer::start().await.unwrap();
    // `data.id` must be a string, and most fields are missing.
    let stub = server.stub(
        ops::MANAGEMENT_GET_DOMAIN,
        200,
        json!({ "ok": true, "data": { "id": 5 } }),
    );
    // Outside the spec, so read without the harness.
    let resp = reqwest::Client::new()
        .get(format!("{}/domains/mdom_1", server.base_url()))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let log = server.requests();
    assert_eq!(log[0].stub, Some(stub.id()));
    assert!(!log[0].violations.is_empty(), "{:?}", log[0]);

    let report = server.verify().unwrap_err().to_string();
    assert!(report.contains("managementGetDomain -> 200"), "{report}");
    assert!(report.contains("/data/id"), "{report}");
    assert!(report.contains("stub_unchecked"), "{report}");
    // Checking again reports it again; dropping the server does not.
    assert!(server.verify().is_err());

    let server = MockServer::start().await.unwrap();
    server.stub_unchecked(
        ops::MANAGEMENT_GET_DOMAIN,
        200,
        json!({ "ok": true, "data": { "id": 5 } }),
    );
    let resp = reqwest::Client::new()
        .get(format!("{}/domains/mdom_1", server.base_url()))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["data"]["id"], 5);
    assert!(server.requests()[0].violations.is_empty());
    server.verify().unwrap();
}

#[tokio::test]
async fn stub_setup_mistakes_are_reported_by_verify() {
    let server = MockServer::start().await.unwrap();
    let stub = server.fail_next("managementCreateDomian", ErrorCode::Conflict, 1);
    assert_eq!((stub.id(), stub.remaining()), (0, Some(0)));
    server.fail_next(ops::MANAGEMENT_CREATE_DOMAIN, "no_such_code", 1);
    server.stub(ops::MANAGEMENT_LIST_DOMAINS, 42, empty_page());
    server
        .stub(ops::MANAGEMENT_LIST_DOMAINS, 200, empty_page())
        .with_header("bad header", "x");
    let report = server.verify().unwrap_err();
    assert_eq!(report.problems().len(), 4, "{report}");
    let text = report.to_string();
    assert!(text.contains("4 problems"), "{text}");
    assert!(
        text.contains(
            "unknown operation `managementCreateDomian` (did you mean `managementCreateDomain`?)"
        ),
        "{text}"
    );
    assert!(
        text.contains("unknown error code `no_such_code` (known: invalid_parameter"),
        "{text}"
    );
    assert!(text.contains("stub status 42"), "{text}");
    assert!(
        text.contains("`bad header` is not a valid header name"),
        "{text}"
    );
}

#[tokio::test]
async fn the_admin_api_arms_lists_and_clears_stubs() {
    let server = MockServer::start().await.unwrap();
    let api = Api::new(&server);
    let (status, stub) = admin(
        &server,
        Method::POST,
        "/stubs",
        Some(json!({ "operation": "managementCreateDomain", "error": "conflict", "times": 2 })),
    )
    .await;
    assert_eq!(status, 201, "{stub}");
    assert_eq!(stub["operation"], "managementCreateDomain");
    assert_eq!(
        (stub["status"].clone(), stub["remaining"].clone()),
        (json!(409), json!(2))
    );
    for _ in 0..2 {
        api.post("/domains", json!({ "domain": "mail.acme.com" }))
            .await
            .assert_error(409, "conflict");
    }
    assert_eq!(
        api.post("/domains", json!({ "domain": "mail.acme.com" }))
            .await
            .status,
        201
    );

    let (status, page) = admin(
        &server,
        Method::POST,
        "/stubs",
        Some(json!({
            "operation": "managementListDomains",
            "status": 200,
            "body": empty_page(),
            "headers": { "x-stubbed": "yes" }
        })),
    )
    .await;
    assert_eq!(status, 201, "{page}");
    let r = api.get("/domains").await;
    assert_eq!(r.json()["data"], json!([]));
    assert_eq!(r.header("x-stubbed"), Some("yes"));

    let (_, listed) = admin(&server, Method::GET, "/stubs", None).await;
    let listed = listed["stubs"].as_array().unwrap().clone();
    assert_eq!(listed.len(), 2);
    assert_eq!(
        (listed[0]["served"].clone(), listed[0]["armed"].clone()),
        (json!(2), json!(false))
    );
    assert_eq!(
        (listed[1]["served"].clone(), listed[1]["armed"].clone()),
        (json!(1), json!(true))
    );

    let (status, cleared) = admin(&server, Method::DELETE, "/stubs", None).await;
    assert_eq!((status, cleared["removed"].clone()), (200, json!(1)));
    assert_eq!(
        api.get("/domains").await.json()["data"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    let (status, v) = admin(
        &server,
        Method::POST,
        "/stubs",
        Some(json!({ "operation": "managementListDomain", "status": 200, "body": {} })),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("did you mean `managementListDomains`"),
        "{v}"
    );
    for bad in [
        json!({ "operation": "managementListDomains", "error": "nope" }),
        json!({ "operation": "managementListDomains", "error": "conflict", "status": 409 }),
        json!({ "operation": "managementListDomains", "error": "conflict", "body": {} }),
        json!({ "operation": "managementListDomains" }),
        json!({ "operation": "managementListDomains", "status": 200, "headers": { "bad header": "x" } }),
    ] {
        let (status, v) = admin(&server, Method::POST, "/stubs", Some(bad.clone())).await;
        assert_eq!(status, 400, "{bad} -> {v}");
    }
    let (status, _) = admin(&server, Method::DELETE, "/stubs/999", None).await;
    assert_eq!(status, 404);
    let id = page["id"].as_u64().unwrap();
    let (status, _) = admin(&server, Method::DELETE, &format!("/stubs/{id}"), None).await;
    assert_eq!(status, 200);
}
