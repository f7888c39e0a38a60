//! Routing by the operation table: every published operation resolves
//! and has a handler, keys must fit the operation's surface.

use http::Method;
use sendmux_mock::MockServer;
use sendmux_operations::{OPERATIONS, Surface};
use serde_json::{Value, json};

use crate::harness::{Api, KEY};

const MAILBOX_KEY: &str = "smx_mbx_test";
const AGENT_KEY: &str = "smx_agent_test";

/// Every operation has a handler now, so the pipeline's `501
/// not_implemented` answer is no longer reachable over HTTP; what stays
/// is the order: auth before the handler, whatever the operation.
#[tokio::test]
async fn auth_comes_before_any_handler() {
    let server = MockServer::builder()
        .self_check(true)
        .start()
        .await
        .unwrap();
    let root = Api::new(&server);
    let mailbox = Api::with_key(&server, Some(MAILBOX_KEY));

    // A key the mock did not issue reaches the handlers, which find no
    // mailbox behind it.
    mailbox
        .get("/mailbox/folders")
        .await
        .assert_error(404, "not_found");
    mailbox
        .get("/mailbox/session")
        .await
        .assert_error(404, "not_found");
    // The body is checked before the handler runs.
    let r = mailbox
        .call(Method::POST, "/mailbox/folders")
        .json(&json!({ "nonsense": true }))
        .send()
        .await;
    assert_eq!(r.status, 400);

    // Auth still comes first.
    Api::with_key(&server, None)
        .get("/mailbox/folders")
        .await
        .assert_error(401, "authentication_required");
    Api::with_key(&server, Some("smx_root_bad key"))
        .get("/mailbox/session")
        .await
        .assert_error(401, "authentication_required");
    root.get("/mailbox/folders")
        .await
        .assert_error(403, "insufficient_permissions");

    let log = server.requests();
    let ops: Vec<(&str, Option<u16>)> = log
        .iter()
        .map(|r| (r.operation.as_deref().unwrap(), r.status))
        .collect();
    assert_eq!(
        ops,
        [
            ("mailboxListFolders", Some(404)),
            ("mailboxGetSession", Some(404)),
            ("mailboxCreateFolder", Some(400)),
            ("mailboxListFolders", Some(401)),
            ("mailboxGetSession", Some(401)),
            ("mailboxListFolders", Some(403)),
        ]
    );
    // The server's own spec check finds nothing wrong.
    assert!(log.iter().all(|r| r.violations.is_empty()), "{log:?}");
}

#[tokio::test]
async fn keys_must_fit_the_operations_surface() {
    let server = MockServer::start().await.unwrap();
    Api::new(&server)
        .get("/mailbox/me")
        .await
        .assert_error(403, "insufficient_permissions");
    for key in [MAILBOX_KEY, AGENT_KEY] {
        Api::with_key(&server, Some(key))
            .get("/domains")
            .await
            .assert_error(403, "insufficient_permissions");
    }
    // An agent token is a Mailbox key: past auth, on to the handler, which
    // finds no mailbox the mock issued it for.
    Api::with_key(&server, Some(AGENT_KEY))
        .get("/mailbox/me")
        .await
        .assert_error(404, "not_found");
    Api::with_key(&server, Some(AGENT_KEY))
        .get("/mailbox/folders")
        .await
        .assert_error(404, "not_found");
}

#[tokio::test]
async fn literal_segments_win_over_parameters() {
    let server = MockServer::start().await.unwrap();
    let mailbox = Api::with_key(&server, Some(MAILBOX_KEY));
    let root = Api::new(&server);
    // Both answer 404 for a key without a mailbox; the log tells which
    // operation each reached.
    mailbox.get("/mailbox/messages/count").await;
    mailbox.get("/mailbox/messages/msg_1").await;
    // `availability` is a literal segment, not a mailbox id: the check
    // answers (missing `email`), not the mailbox lookup.
    root.get("/mailboxes/availability?local_part=a&domain_id=mdom_1")
        .await
        .assert_error(400, "missing_parameter");
    root.get("/mailboxes/mbx_1")
        .await
        .assert_error(404, "not_found");
    let ops: Vec<String> = server
        .requests()
        .into_iter()
        .filter_map(|r| r.operation)
        .collect();
    assert_eq!(
        ops,
        [
            "mailboxCountMessages",
            "mailboxGetMessage",
            "managementCheckMailboxAvailability",
            "managementGetMailbox"
        ]
    );
}

#[tokio::test]
async fn every_domains_operation_reaches_its_handler() {
    let server = MockServer::start().await.unwrap();
    let api = Api::new(&server);
    let id = api.create_id("mail.acme.com", Some("send_only")).await;
    let one = format!("/domains/{id}");
    api.get("/domains").await;
    api.get(&one).await;
    api.call(Method::PATCH, &one)
        .json(&json!({ "mode": "send_receive" }))
        .send()
        .await;
    api.call(Method::POST, &format!("{one}/verify"))
        .send()
        .await;
    api.get(&format!("{one}/zone-file")).await;
    api.get(&format!("{one}/filters")).await;
    api.call(Method::PUT, &format!("{one}/filters"))
        .json(&json!({ "mode": "off", "rules": [] }))
        .send()
        .await;
    api.call(Method::DELETE, &one).send().await;
    let seen: Vec<(String, Option<u16>)> = server
        .requests()
        .into_iter()
        .map(|r| (r.operation.unwrap(), r.status))
        .collect();
    let expected = [
        ("managementCreateDomain", 201),
        ("managementListDomains", 200),
        ("managementGetDomain", 200),
        ("managementUpdateDomain", 200),
        ("managementVerifyDomain", 200),
        ("managementGetDomainZoneFile", 200),
        ("managementGetDomainFilters", 200),
        ("managementSetDomainFilters", 200),
        ("managementDeleteDomain", 200),
    ]
    .map(|(op, status)| (op.to_owned(), Some(status)));
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn admin_lists_every_operation_and_what_is_implemented() {
    let server = MockServer::start().await.unwrap();
    let resp = reqwest::get(format!("{}/operations", server.admin_url()))
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let v: Value = resp.json().await.unwrap();
    let listed = v["operations"].as_array().unwrap();
    assert_eq!(listed.len(), 101);
    assert_eq!(listed.len(), OPERATIONS.len());
    for (entry, op) in listed.iter().zip(&OPERATIONS) {
        assert_eq!(entry["id"], op.id);
        assert_eq!(entry["method"], op.method.as_str());
        assert_eq!(entry["path"], op.path);
        assert_eq!(entry["surface"], op.surface.as_str());
    }
    let mut implemented: Vec<&str> = listed
        .iter()
        .filter(|e| e["implemented"] == true)
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    implemented.sort_unstable();
    // Whole groups are implemented: every Management operation under
    // these paths, and the whole Mailbox API.
    let groups = [
        "/domains",
        "/mailboxes",
        "/billing",
        "/emails/logs",
        "/emails/metrics",
        "/inboxes/logs",
    ];
    for op in OPERATIONS.iter().filter(|op| {
        groups
            .iter()
            .any(|g| op.path == *g || op.path.starts_with(&format!("{g}/")))
    }) {
        assert!(implemented.contains(&op.id), "{} is not implemented", op.id);
    }
    let mailbox_api = implemented
        .iter()
        .filter(|id| id.starts_with("mailbox"))
        .count();
    assert_eq!(mailbox_api, 41);
    let count = |s: Surface| listed.iter().filter(|e| e["surface"] == s.as_str()).count();
    assert_eq!(
        (
            count(Surface::Management),
            count(Surface::Mailbox),
            count(Surface::Sending)
        ),
        (53, 41, 7)
    );
}

/// Answers outside `openapi.yaml` are checked by hand: the harness would
/// (rightly) call them unknown routes.
async fn raw(server: &MockServer, method: Method, path: &str, key: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .request(method, format!("{}{path}", server.base_url()))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(resp.headers().contains_key("x-ratelimit-limit"));
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["meta"]["request_id"], id.as_str());
    (status, v)
}

#[tokio::test]
async fn sending_routes_and_wrong_methods_are_404s_on_this_host() {
    let server = MockServer::start().await.unwrap();
    // The Sending API has its own host; this one does not serve it.
    let (status, v) = raw(&server, Method::POST, "/emails/send", MAILBOX_KEY).await;
    assert_eq!(status, 404, "{v}");
    assert_eq!(v["error"]["code"], "not_found");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("sendingSendEmail belongs to the Sending API"),
        "{v}"
    );
    // A known path with another method: 404, naming the methods it takes.
    let (status, v) = raw(&server, Method::PUT, "/domains", KEY).await;
    assert_eq!(status, 404, "{v}");
    assert_eq!(v["error"]["code"], "not_found");
    assert_eq!(
        v["error"]["message"],
        "PUT is not allowed on /api/v1/domains (it takes GET, POST)"
    );
    let (status, _) = raw(&server, Method::GET, "/nothing/here", KEY).await;
    assert_eq!(status, 404);
    assert!(server.requests().is_empty());
}
