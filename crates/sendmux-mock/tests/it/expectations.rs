//! Expectations (`MockServer::expect`, `verify`, the check on drop) and
//! the requests as received (`received`, `received_as`).

use std::panic::{AssertUnwindSafe, catch_unwind};

use http::Method;
use sendmux_mock::{MockServer, ReceivedRequest, ops};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::harness::{Api, KEY};

const PASSWORD: &str = "s3cret-smtp-password";

/// The text of a panic payload.
fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

#[tokio::test]
async fn met_expectations_verify() {
    let server = MockServer::start().await.unwrap();
    let api = Api::new(&server);
    let create = server.expect(ops::MANAGEMENT_CREATE_DOMAIN).times(2);
    let list = server.expect("managementListDomains");
    server.expect(ops::MANAGEMENT_DELETE_DOMAIN).never();
    server.expect(ops::MANAGEMENT_GET_DOMAIN).at_most(1);
    server
        .expect(ops::MANAGEMENT_LIST_DOMAINS)
        .at_least(2)
        .at_most(3);
    api.create("a.acme.com", None).await;
    api.create("b.acme.com", None).await;
    api.get("/domains").await;
    api.get("/domains?limit=1").await;
    assert_eq!((create.calls(), list.calls()), (2, 2));
    server.verify().unwrap();
    create.verify().unwrap();
}

#[tokio::test]
async fn an_unmet_expectation_lists_the_calls_that_arrived() {
    let server = MockServer::start().await.unwrap();
    let api = Api::new(&server);
    let expectation = server
        .expect(ops::MANAGEMENT_CREATE_DOMAIN)
        .times(2)
        .with_header("x-trace", "a")
        .named("creates twice, traced");
    for trace in ["a", "b"] {
        let r = api
            .call(Method::POST, "/domains")
            .header("x-trace", trace)
            .json(&json!({ "domain": format!("{trace}.acme.com") }))
            .send()
            .await;
        assert_eq!(r.status, 201);
    }
    Api::with_key(&server, None)
        .post("/domains", json!({ "domain": "c.acme.com" }))
        .await
        .assert_error(401, "authentication_required");
    assert_eq!(expectation.calls(), 1);

    let failed = server.verify().unwrap_err();
    assert_eq!(failed.problems().len(), 1);
    let text = failed.to_string();
    let expected_head = "sendmux-mock: 1 problem with what the test arranged:\n\n1) \
        \"creates twice, traced\": expected exactly 2 calls of managementCreateDomain \
        (POST /domains) with header `x-trace: a`, got 1 matching\n    \
        3 calls of managementCreateDomain arrived:\n    \
        1. POST /api/v1/domains -> 201, body {\"domain\":\"a.acme.com\"}\n    \
        2. POST /api/v1/domains -> 201, body {\"domain\":\"b.acme.com\"}\n       \
        not matched: header `x-trace` is \"b\", not \"a\"\n    \
        3. POST /api/v1/domains -> 401\n       \
        not matched: header `x-trace` is absent";
    assert_eq!(text, expected_head);
    assert!(!text.contains(KEY));
    // The same expectation checked alone fails the same way.
    assert!(expectation.verify().is_err());
}

#[tokio::test]
async fn body_field_conditions_count_only_matching_calls_and_never_show_secrets() {
    let server = MockServer::start().await.unwrap();
    let api = Api::new(&server);
    server
        .expect(ops::MANAGEMENT_CREATE_PROVIDER)
        .times(1)
        .with_body_field("/smtp_host", "smtp.other.com");
    server
        .expect(ops::MANAGEMENT_CREATE_DOMAIN)
        .at_least(1)
        .with_body_field("/mode", "send_only");
    let r = api
        .post(
            "/providers",
            json!({
                "name": "Relay",
                "smtp_host": "smtp.acme.com",
                "smtp_port": 587,
                "smtp_protocol": "starttls",
                "smtp_username": "api-user",
                "smtp_password": PASSWORD,
            }),
        )
        .await;
    assert_eq!(r.status, 201);
    api.create("a.acme.com", Some("send_only")).await;

    let text = server.verify().unwrap_err().to_string();
    assert!(text.contains("1 problem"), "{text}");
    assert!(
        text.contains(
            "not matched: body `/smtp_host` is \"smtp.acme.com\", not \"smtp.other.com\""
        ),
        "{text}"
    );
    assert!(text.contains("\"smtp_password\":\"[redacted]\""), "{text}");
    assert!(!text.contains(PASSWORD), "{text}");
}

#[tokio::test]
async fn setup_mistakes_in_expectations_are_reported() {
    let server = MockServer::start().await.unwrap();
    let handle = server.expect("managementCreateDomian").times(1);
    assert_eq!(handle.calls(), 0);
    server
        .expect(ops::MANAGEMENT_LIST_DOMAINS)
        .at_most(5)
        .with_body_field("domain", "x");
    assert!(server.received("nope").is_empty());
    let failed = server.verify().unwrap_err();
    let text = failed.to_string();
    assert_eq!(failed.problems().len(), 3, "{text}");
    assert!(
        text.contains("did you mean `managementCreateDomain`"),
        "{text}"
    );
    assert!(text.contains("`domain` is not a JSON pointer"), "{text}");
    assert!(
        text.contains("received: unknown operation `nope`"),
        "{text}"
    );
}

/// A server with an expectation no call meets, built on `rt`.
fn server_with_unmet_expectation(rt: &tokio::runtime::Runtime) -> MockServer {
    rt.block_on(async {
        let server = MockServer::start().await.unwrap();
        server.expect(ops::MANAGEMENT_CREATE_DOMAIN).times(1);
        server.expect(ops::MANAGEMENT_LIST_DOMAINS).at_most(1);
        Api::new(&server).get("/domains").await;
        server
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn dropping_an_unverified_server_panics_with_the_report() {
    let rt = runtime();
    let server = server_with_unmet_expectation(&rt);
    let payload = catch_unwind(AssertUnwindSafe(|| drop(server))).unwrap_err();
    let text = panic_text(payload.as_ref());
    assert!(
        text.contains(
            "expected exactly 1 call of managementCreateDomain (POST /domains), got 0 matching\n    \
             no call of managementCreateDomain arrived"
        ),
        "{text}"
    );
    assert!(!text.contains("managementListDomains"), "met: {text}");
}

#[test]
fn dropping_a_verified_or_satisfied_server_is_quiet() {
    let rt = runtime();
    let server = server_with_unmet_expectation(&rt);
    assert!(server.verify().is_err());
    assert!(catch_unwind(AssertUnwindSafe(|| drop(server))).is_ok());

    let server = rt.block_on(async {
        let server = MockServer::start().await.unwrap();
        server.expect(ops::MANAGEMENT_LIST_DOMAINS).times(1);
        Api::new(&server).get("/domains").await;
        server
    });
    assert!(catch_unwind(AssertUnwindSafe(|| drop(server))).is_ok());

    // An expectation arranged after `verify` is still checked on drop.
    let server = rt.block_on(async { MockServer::start().await.unwrap() });
    server.verify().unwrap();
    server.expect(ops::MANAGEMENT_GET_DOMAIN);
    assert!(catch_unwind(AssertUnwindSafe(|| drop(server))).is_err());
}

#[test]
fn a_thread_already_panicking_keeps_its_own_panic() {
    let rt = runtime();
    let server = server_with_unmet_expectation(&rt);
    let joined = std::thread::spawn(move || {
        let _server = server;
        panic!("the test's own failure");
    })
    .join();
    assert_eq!(
        panic_text(joined.unwrap_err().as_ref()),
        "the test's own failure"
    );
}

#[tokio::test]
async fn received_requests_are_typed_and_redacted() {
    let server = MockServer::start().await.unwrap();
    let api = Api::new(&server);
    let id = api.create("mail.acme.com", Some("send_only")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    api.call(Method::POST, "/domains")
        .header("idempotency-key", "k-7")
        .json(&json!({ "domain": "b.acme.com" }))
        .send()
        .await;
    api.get(&format!("/domains/{id}")).await;
    api.get("/domains?limit=1&status=pending").await;
    api.post(
        "/providers",
        json!({
            "name": "Relay",
            "smtp_host": "smtp.acme.com",
            "smtp_port": 587,
            "smtp_protocol": "starttls",
            "smtp_username": "api-user",
            "smtp_password": PASSWORD,
        }),
    )
    .await;

    let created = server.received(ops::MANAGEMENT_CREATE_DOMAIN);
    assert_eq!(created.len(), 2);
    let first: &ReceivedRequest = &created[0];
    assert_eq!(first.method, Method::POST);
    assert_eq!(first.path, "/api/v1/domains");
    assert_eq!(first.status, Some(201));
    assert!(first.request_id.starts_with("req_"));
    assert_eq!(
        first.body,
        Some(json!({ "domain": "mail.acme.com", "mode": "send_only" }))
    );
    assert_eq!(first.header("authorization"), Some("[redacted]"));
    assert_eq!(created[1].header("idempotency-key"), Some("k-7"));

    #[derive(Debug, Deserialize, PartialEq)]
    struct NewDomain {
        domain: String,
        mode: Option<String>,
    }
    let bodies: Vec<NewDomain> = server.received_as("managementCreateDomain").unwrap();
    assert_eq!(
        bodies,
        [
            NewDomain {
                domain: "mail.acme.com".into(),
                mode: Some("send_only".into())
            },
            NewDomain {
                domain: "b.acme.com".into(),
                mode: None
            },
        ]
    );

    let get = server.received(ops::MANAGEMENT_GET_DOMAIN);
    assert_eq!(get[0].path_param("public_id"), Some(id.as_str()));
    assert_eq!(get[0].body, None);
    let list = server.received(ops::MANAGEMENT_LIST_DOMAINS);
    assert_eq!(
        list[0].query,
        [
            ("limit".to_owned(), "1".to_owned()),
            ("status".to_owned(), "pending".to_owned())
        ]
    );
    assert_eq!(list[0].query_param("status"), Some("pending"));
    // A body-less request does not decode.
    let err = server
        .received_as::<NewDomain>(ops::MANAGEMENT_GET_DOMAIN)
        .unwrap_err();
    assert_eq!(err.request_id(), get[0].request_id);

    let provider = &server.received(ops::MANAGEMENT_CREATE_PROVIDER)[0];
    let body = provider.body.clone().unwrap();
    assert_eq!(body["smtp_password"], "[redacted]");
    assert_eq!(body["smtp_host"], "smtp.acme.com");
    let shown = format!("{provider:?} {:?}", server.requests());
    assert!(!shown.contains(PASSWORD), "{shown}");
    assert!(!shown.contains(KEY), "{shown}");
    // The admin log shows the same redacted bodies.
    let log: Value = reqwest::get(format!("{}/requests", server.admin_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let text = log.to_string();
    assert!(text.contains("\"smtp_password\":\"[redacted]\""), "{text}");
    assert!(!text.contains(PASSWORD));
}

#[tokio::test]
async fn body_capture_is_bounded() {
    let server = MockServer::builder()
        .request_body_capture(16)
        .start()
        .await
        .unwrap();
    let api = Api::new(&server);
    api.create("a.acme.com", None).await;
    let rec = &server.requests()[0];
    assert_eq!(rec.body, None);
    assert_eq!(rec.body_size, br#"{"domain":"a.acme.com"}"#.len());
    assert_eq!(server.received(ops::MANAGEMENT_CREATE_DOMAIN)[0].body, None);
}

#[tokio::test]
async fn expectations_and_stub_checks_do_not_need_the_log() {
    let server = MockServer::builder()
        .request_log_capacity(0)
        .start()
        .await
        .unwrap();
    let api = Api::new(&server);
    let expectation = server.expect(ops::MANAGEMENT_CREATE_DOMAIN).times(1);
    server.stub(
        ops::MANAGEMENT_GET_DOMAIN,
        200,
        json!({ "ok": true, "data": { "id": 5 } }),
    );
    api.create("a.acme.com", None).await;
    reqwest::Client::new()
        .get(format!("{}/domains/mdom_1", server.base_url()))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    assert!(server.requests().is_empty());
    assert_eq!(expectation.calls(), 1);
    let failed = server.verify().unwrap_err();
    assert_eq!(failed.problems().len(), 1, "{failed}");
    assert!(
        failed.problems()[0].contains("managementGetDomain -> 200"),
        "{failed}"
    );
}
