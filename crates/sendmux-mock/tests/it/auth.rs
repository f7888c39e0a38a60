//! Bearer auth and key prefixes.

use sendmux_mock::MockServer;
use serde_json::json;

use crate::harness::Api;

#[tokio::test]
async fn missing_or_malformed_keys_get_401() {
    let server = MockServer::start().await.unwrap();
    for key in [
        None,
        Some("nope"),
        Some("smx_root_"),
        Some("smx_root_bad key"),
        Some("sk_live_x"),
    ] {
        let api = Api::with_key(&server, key);
        api.get("/domains")
            .await
            .assert_error(401, "authentication_required");
    }
    let api = Api::with_key(&server, None);
    api.call(http::Method::GET, "/domains")
        .header("authorization", "Basic c214X3Jvb3RfdGVzdDo=")
        .send()
        .await
        .assert_error(401, "authentication_required");
    // Nothing leaks the key into the log.
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.headers.iter().all(|(_, v)| !v.contains("smx_root")))
    );
}

#[tokio::test]
async fn mailbox_and_agent_keys_get_403_on_management_routes() {
    let server = MockServer::start().await.unwrap();
    for key in ["smx_mbx_abc", "smx_agent_abc"] {
        let api = Api::with_key(&server, Some(key));
        api.post("/domains", json!({ "domain": "a.acme.com" }))
            .await
            .assert_error(403, "insufficient_permissions");
    }
    assert_eq!(server.total_domain_count(), 0);
}

#[tokio::test]
async fn accept_key_restricts_the_keys() {
    let server = MockServer::builder()
        .accept_key("smx_root_only")
        .start()
        .await
        .unwrap();
    Api::with_key(&server, Some("smx_root_test"))
        .get("/domains")
        .await
        .assert_error(401, "authentication_required");
    assert_eq!(
        Api::with_key(&server, Some("smx_root_only"))
            .get("/domains")
            .await
            .status,
        200
    );
}
