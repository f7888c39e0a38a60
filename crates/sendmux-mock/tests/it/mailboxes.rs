//! The Mailboxes operations, mailbox keys on the Mailbox API, and the
//! mailbox count of domains.

use std::time::Duration;

use http::Method;
use sendmux_mock::{MockServer, Propagation};
use serde_json::{Value, json};

use crate::harness::{Api, KEY, Resp, assert_no_violations};

/// A server whose domains verify on the first call, and a root client.
async fn start() -> (MockServer, Api) {
    let server = MockServer::builder()
        .seed(5)
        .propagation(Propagation::AfterVerifyCalls { calls: 1 })
        .self_check(true)
        .start()
        .await
        .unwrap();
    let api = Api::new(&server);
    (server, api)
}

fn str_of<'v>(v: &'v Value, pointer: &str) -> &'v str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no string at {pointer} in {v}"))
}

/// The id of the team's shared sending account (listing the accounts
/// makes it).
async fn shared_account(api: &Api) -> String {
    let r = api.get("/providers").await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    str_of(&r.json(), "/data/0/id").to_owned()
}

async fn availability(api: &Api, email: &str) -> Value {
    let r = api
        .get(&format!(
            "/mailboxes/availability?email={}",
            email.replace('+', "%2B")
        ))
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    r.json()["data"].clone()
}

#[tokio::test]
async fn a_mailbox_key_works_on_the_mailbox_api_until_it_is_revoked() {
    let (server, api) = start().await;
    api.verified_domain("acme.com", None).await;
    let r = api
        .post(
            "/mailboxes",
            json!({ "email": "Agent@Acme.com", "display_name": "Agent", "quota_bytes": 5_368_709_120_u64 }),
        )
        .await;
    assert_eq!(r.status, 201);
    let created = r.json()["data"].clone();
    let id = str_of(&created, "/mailbox/id").to_owned();
    assert!(id.starts_with("mbx_"), "{id}");
    assert_eq!(
        r.header("location"),
        Some(format!("/api/v1/mailboxes/{id}").as_str())
    );
    assert_eq!(created["mailbox"]["email"], "agent@acme.com");
    assert_eq!(created["mailbox"]["status"], "active");
    assert_eq!(created["mailbox"]["quota_bytes"], 5_368_709_120_u64);
    assert_eq!(created["warning"], Value::Null);
    let credential = &created["credential"];
    let secret = str_of(credential, "/secret").to_owned();
    assert!(secret.starts_with("smx_mbx_"), "{secret}");
    assert!(secret.starts_with(str_of(credential, "/key_prefix")));
    assert!(secret.ends_with(str_of(credential, "/key_suffix")));
    assert_eq!(credential["username"], "agent@acme.com");
    assert_eq!(credential["imap_port"], 993);

    // The secret is shown once: reads of the mailbox never carry it.
    let got = api.get(&format!("/mailboxes/{id}")).await;
    assert_eq!(got.json()["data"], created["mailbox"]);
    assert!(!String::from_utf8_lossy(&got.body).contains(&secret));
    let listed = api.get("/mailboxes").await;
    assert!(!String::from_utf8_lossy(&listed.body).contains(&secret));

    // The key authenticates as its mailbox.
    let mbx = Api::with_key(&server, Some(&secret));
    let me = mbx.get("/mailbox/me").await;
    assert_eq!(me.status, 200);
    let data = me.json()["data"].clone();
    assert_eq!(data["id"], id.as_str());
    assert_eq!(data["email"], "agent@acme.com");
    assert_eq!(data["display_name"], "Agent");
    assert_eq!(data["quota_used_bytes"], 0);
    let etag = me.header("etag").unwrap().to_owned();
    let again = mbx
        .call(Method::GET, "/mailbox/me")
        .header("if-none-match", &etag)
        .send()
        .await;
    assert_eq!(again.status, 304);
    assert_eq!(
        mbx.get(&format!("/mailbox/me?mailbox_id={id}"))
            .await
            .status,
        200
    );
    mbx.get("/mailbox/me?mailbox_id=mbx_other")
        .await
        .assert_error(404, "not_found");
    // It speaks for the mailbox's team, on the Mailbox API only.
    let log = server.requests();
    let last = log.last().unwrap();
    assert_eq!(last.team.as_deref(), Some(server.team_of(KEY).as_str()));
    mbx.get("/domains")
        .await
        .assert_error(403, "insufficient_permissions");
    api.get("/mailbox/me")
        .await
        .assert_error(403, "insufficient_permissions");

    // A second key, then revoke the first.
    let r = api
        .post(
            &format!("/mailboxes/{id}/keys"),
            json!({ "app_name": "ci" }),
        )
        .await;
    assert_eq!(r.status, 201);
    let second = r.json()["data"]["credential"].clone();
    let second_secret = str_of(&second, "/secret").to_owned();
    assert_ne!(second_secret, secret);
    let key_id = str_of(credential, "/public_id");
    assert_eq!(
        r.header("location"),
        Some(
            format!(
                "/api/v1/mailboxes/{id}/keys/{}",
                str_of(&second, "/public_id")
            )
            .as_str()
        )
    );
    let revoke = format!("/mailboxes/{id}/keys/{key_id}");
    let r = api.call(Method::DELETE, &revoke).send().await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["data"], json!({ "deleted": true, "id": key_id }));
    mbx.get("/mailbox/me")
        .await
        .assert_error(401, "authentication_required");
    // Revoking again is not an error; an unknown key is.
    assert_eq!(api.call(Method::DELETE, &revoke).send().await.status, 200);
    api.call(Method::DELETE, &format!("/mailboxes/{id}/keys/smx_nope"))
        .send()
        .await
        .assert_error(404, "not_found");
    let me = Api::with_key(&server, Some(&second_secret))
        .get("/mailbox/me")
        .await;
    assert_eq!(me.json()["data"]["id"], id.as_str());
    assert_eq!(server.mailboxes(Some(KEY))[0].active_keys, 1);
    assert_no_violations(&server);
}

#[tokio::test]
async fn creation_is_refused_with_the_published_codes() {
    let (server, api) = start().await;
    let pending = api.create_id("pending.acme.com", None).await;
    api.verified_domain("out.acme.com", Some("send_only")).await;
    api.verified_domain("in.acme.com", None).await;
    Api::with_key(&server, Some("smx_root_other"))
        .verified_domain("theirs.acme.com", None)
        .await;
    api.create_mailbox("taken@in.acme.com").await;

    let refused = |email: &str, extra: Value| {
        let mut body = json!({ "email": email });
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        let api = api.clone();
        async move { api.post("/mailboxes", body).await }
    };
    let check = |r: Resp, status: u16, code: &str, param: &str| {
        let v = r.assert_error(status, code);
        assert_eq!(v["error"]["param"], param, "{v}");
    };
    for (email, why) in [
        ("a@pending.acme.com", "not verified"),
        ("a@out.acme.com", "send_only"),
        ("a@theirs.acme.com", "not one of this team's domains"),
        ("a@nowhere.acme.com", "not one of this team's domains"),
    ] {
        let v = refused(email, json!({}))
            .await
            .assert_error(422, "validation_error");
        assert!(
            v["error"]["message"].as_str().unwrap().contains(why),
            "{email}: {v}"
        );
    }
    check(
        refused("taken@in.acme.com", json!({})).await,
        409,
        "conflict",
        "email",
    );
    check(
        refused("TAKEN@in.acme.com ", json!({})).await,
        409,
        "conflict",
        "email",
    );
    check(
        refused("a..b@in.acme.com", json!({})).await,
        400,
        "invalid_parameter",
        "email",
    );
    check(
        refused("postmaster@myagent.mx", json!({})).await,
        422,
        "validation_error",
        "email",
    );
    for tier in [1, 1_000_000_000_u64, 2_147_483_648] {
        let r = refused("q@in.acme.com", json!({ "quota_bytes": tier })).await;
        check(r, 422, "validation_error", "quota_bytes");
    }
    let ours = shared_account(&api).await;
    let theirs = shared_account(&Api::with_key(&server, Some("smx_root_other"))).await;
    for scope in [
        json!({ "type": "providers" }),
        json!({ "type": "providers", "provider_public_ids": ["mdom_x"] }),
        // Unknown, and another team's, sending accounts.
        json!({ "type": "providers", "provider_public_ids": ["dprov_clnone"] }),
        json!({ "type": "providers", "provider_public_ids": [ours, theirs] }),
        json!({ "type": "group", "provider_public_ids": ["dprov_x"] }),
        json!({ "type": "all", "group_public_ids": ["grp_1"] }),
    ] {
        let r = refused("s@in.acme.com", json!({ "send_scope": scope })).await;
        check(r, 422, "validation_error", "send_scope");
    }
    // Each tier and scope as published is fine.
    for (i, tier) in [1_073_741_824_u64, 5_368_709_120, 53_687_091_200]
        .into_iter()
        .enumerate()
    {
        let scope = [
            json!({ "type": "all" }),
            json!({ "type": "providers", "provider_public_ids": [ours] }),
            json!({ "type": "group", "group_public_ids": ["grp_1"] }),
        ][i]
            .clone();
        let r = refused(
            &format!("t{i}@in.acme.com"),
            json!({ "quota_bytes": tier, "send_scope": scope }),
        )
        .await;
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
        assert_eq!(r.json()["data"]["mailbox"]["send_scope"], scope);
        assert_eq!(r.json()["data"]["mailbox"]["quota_bytes"], tier);
    }
    // Without a quota, the smallest tier.
    let m = api.create_mailbox("plain@in.acme.com").await;
    assert_eq!(m["mailbox"]["quota_bytes"], 1_073_741_824_u64);
    assert_eq!(m["mailbox"]["send_scope"], Value::Null);
    // Nothing refused was stored; the pending domain's count is still 0.
    assert_eq!(server.mailboxes(Some(KEY)).len(), 5);
    assert_eq!(
        api.get(&format!("/domains/{pending}")).await.json()["data"]["mailbox_count"],
        0
    );
    assert_no_violations(&server);
}

#[tokio::test]
async fn shared_domain_addresses_are_unique_across_teams() {
    let (server, a) = start().await;
    let b = Api::with_key(&server, Some("smx_root_b"));
    // No team domain needed at myagent.mx.
    let m = a.create_mailbox("agent@myagent.mx").await;
    assert_eq!(server.mailboxes(Some(KEY))[0].domain_id, None);
    assert_eq!(m["mailbox"]["email"], "agent@myagent.mx");
    let r = b
        .post("/mailboxes", json!({ "email": "agent@myagent.mx" }))
        .await;
    r.assert_error(409, "conflict");
    assert_eq!(
        availability(&b, "agent@myagent.mx").await,
        json!({ "email": "agent@myagent.mx", "available": false, "reason": "taken" })
    );
    // A team domain is the team's own namespace: both teams may have
    // agent@ on a domain of the same name.
    a.verified_domain("acme.com", None).await;
    b.verified_domain("acme.com", None).await;
    a.create_mailbox("agent@acme.com").await;
    b.create_mailbox("agent@acme.com").await;
    b.create_mailbox("other@myagent.mx").await;
    assert_eq!(server.mailboxes(None).len(), 4);
    assert_eq!(server.mailboxes(Some("smx_root_b")).len(), 2);
    assert_no_violations(&server);
}

#[tokio::test]
async fn availability_agrees_with_creation() {
    let (server, api) = start().await;
    api.create_id("pending.acme.com", None).await;
    api.verified_domain("out.acme.com", Some("send_only")).await;
    api.verified_domain("in.acme.com", None).await;
    api.create_mailbox("taken@in.acme.com").await;
    Api::with_key(&server, Some("smx_root_b"))
        .create_mailbox("theirs@myagent.mx")
        .await;
    let cases = [
        ("new@in.acme.com", "available", 201),
        ("New+Tag@In.Acme.com", "available", 201),
        ("fresh@myagent.mx", "available", 201),
        ("taken@in.acme.com", "taken", 409),
        ("theirs@myagent.mx", "taken", 409),
        ("abuse@myagent.mx", "reserved", 422),
        ("a@pending.acme.com", "domain_not_available", 422),
        ("a@out.acme.com", "domain_not_available", 422),
        ("a@unknown.acme.com", "domain_not_available", 422),
        ("not-an-address", "invalid_email", 400),
        ("-a@in.acme.com", "invalid_email", 400),
    ];
    for (email, reason, status) in cases {
        let before = availability(&api, email).await;
        assert_eq!(before["reason"], reason, "{email}: {before}");
        assert_eq!(before["available"], reason == "available", "{email}");
        assert_eq!(before["email"], email.trim().to_lowercase());
        let r = api.post("/mailboxes", json!({ "email": email })).await;
        assert_eq!(
            r.status,
            status,
            "{email}: {}",
            String::from_utf8_lossy(&r.body)
        );
        if status == 201 {
            // Taken now, by this very check.
            assert_eq!(availability(&api, email).await["reason"], "taken");
        }
    }
    api.get("/mailboxes/availability")
        .await
        .assert_error(400, "missing_parameter");
    assert_no_violations(&server);
}

#[tokio::test]
async fn suspend_and_resume_are_idempotent_and_gate_the_key() {
    let (server, api) = start().await;
    let created = api.create_mailbox("agent@myagent.mx").await;
    let id = str_of(&created, "/mailbox/id");
    let secret = str_of(&created, "/credential/secret");
    let mbx = Api::with_key(&server, Some(secret));
    let suspend = format!("/mailboxes/{id}/suspend");
    let resume = format!("/mailboxes/{id}/resume");

    let first = api.call(Method::POST, &suspend).send().await;
    assert_eq!(first.status, 200);
    assert_eq!(first.json()["data"]["status"], "suspended");
    let second = api.call(Method::POST, &suspend).send().await;
    assert_eq!(second.status, 200);
    assert_eq!(second.json()["data"], first.json()["data"]);
    assert_eq!(second.header("etag"), first.header("etag"));
    // The key is genuine but barred: 403 while suspended.
    mbx.get("/mailbox/me")
        .await
        .assert_error(403, "insufficient_permissions");
    api.post(&format!("/mailboxes/{id}/keys"), json!({ "app_name": "x" }))
        .await
        .assert_error(422, "validation_error");

    for _ in 0..2 {
        let r = api.call(Method::POST, &resume).send().await;
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["data"]["status"], "active");
    }
    assert_eq!(
        mbx.get("/mailbox/me").await.json()["data"]["status"],
        "active"
    );
    api.call(Method::POST, "/mailboxes/mbx_missing/suspend")
        .send()
        .await
        .assert_error(404, "not_found");
    assert_no_violations(&server);
}

#[tokio::test]
async fn delete_revokes_every_key_and_holds_the_address_for_a_while() {
    let (server, api) = start().await;
    let created = api.create_mailbox("agent@myagent.mx").await;
    let id = str_of(&created, "/mailbox/id").to_owned();
    let first = str_of(&created, "/credential/secret").to_owned();
    let second = api
        .post(
            &format!("/mailboxes/{id}/keys"),
            json!({ "app_name": "two" }),
        )
        .await
        .json()["data"]["credential"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    for key in [&first, &second] {
        assert_eq!(
            Api::with_key(&server, Some(key))
                .get("/mailbox/me")
                .await
                .status,
            200
        );
    }
    let path = format!("/mailboxes/{id}");
    let r = api.call(Method::DELETE, &path).send().await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["data"], json!({ "deleted": true, "id": id }));
    for key in [&first, &second] {
        Api::with_key(&server, Some(key))
            .get("/mailbox/me")
            .await
            .assert_error(401, "authentication_required");
    }
    // Kept for the record, out of the default list, closed to changes.
    assert_eq!(api.get(&path).await.json()["data"]["status"], "deleted");
    assert_eq!(api.get("/mailboxes").await.json()["data"], json!([]));
    let all = api.get("/mailboxes?include_deleted=true").await.json();
    assert_eq!(all["data"][0]["id"], id.as_str());
    api.get("/mailboxes?include_deleted=yes")
        .await
        .assert_error(400, "invalid_parameter");
    api.call(Method::DELETE, &path)
        .send()
        .await
        .assert_error(404, "not_found");
    api.call(Method::POST, &format!("{path}/suspend"))
        .send()
        .await
        .assert_error(409, "conflict");
    api.call(Method::PATCH, &path)
        .json(&json!({ "display_name": "x" }))
        .send()
        .await
        .assert_error(409, "conflict");
    assert_eq!(server.mailboxes(Some(KEY))[0].active_keys, 0);

    // The address is held for ten minutes, then free again.
    assert_eq!(
        availability(&api, "agent@myagent.mx").await["reason"],
        "cleanup_pending"
    );
    api.post("/mailboxes", json!({ "email": "agent@myagent.mx" }))
        .await
        .assert_error(409, "conflict");
    server.advance_clock(Duration::from_secs(10 * 60));
    assert_eq!(
        availability(&api, "agent@myagent.mx").await["reason"],
        "available"
    );
    let again = api.create_mailbox("agent@myagent.mx").await;
    assert_ne!(again["mailbox"]["id"], id.as_str());
    assert_no_violations(&server);
}

#[tokio::test]
async fn update_honours_if_match_and_the_published_rules() {
    let (server, api) = start().await;
    let created = api.create_mailbox("agent@myagent.mx").await;
    let path = format!("/mailboxes/{}", str_of(&created, "/mailbox/id"));
    let account = shared_account(&api).await;
    let etag = api.get(&path).await.header("etag").unwrap().to_owned();
    api.call(Method::PATCH, &path)
        .header("if-match", "W/\"0000000000000000\"")
        .json(&json!({ "display_name": "New" }))
        .send()
        .await
        .assert_error(409, "conflict");
    let r = api
        .call(Method::PATCH, &path)
        .header("if-match", &etag)
        .json(&json!({
            "display_name": "New",
            "quota_bytes": 53_687_091_200_u64,
            "send_scope": { "type": "providers", "provider_public_ids": [account] }
        }))
        .send()
        .await;
    assert_eq!(r.status, 200);
    let d = r.json()["data"].clone();
    assert_eq!(d["display_name"], "New");
    assert_eq!(d["quota_bytes"], 53_687_091_200_u64);
    assert_eq!(d["send_scope"]["provider_public_ids"], json!([account]));
    assert_ne!(r.header("etag"), Some(etag.as_str()));
    // Omitted fields stay; null removes the name.
    let r = api
        .call(Method::PATCH, &path)
        .json(&json!({ "display_name": null }))
        .send()
        .await;
    assert_eq!(r.json()["data"]["display_name"], Value::Null);
    assert_eq!(r.json()["data"]["quota_bytes"], 53_687_091_200_u64);
    api.call(Method::PATCH, &path)
        .json(&json!({ "quota_bytes": 3 }))
        .send()
        .await
        .assert_error(422, "validation_error");
    let foreign = shared_account(&Api::with_key(&server, Some("smx_root_other"))).await;
    api.call(Method::PATCH, &path)
        .json(&json!({ "send_scope": { "type": "providers", "provider_public_ids": [foreign] } }))
        .send()
        .await
        .assert_error(422, "validation_error");
    api.call(Method::PATCH, "/mailboxes/mbx_missing")
        .json(&json!({}))
        .send()
        .await
        .assert_error(404, "not_found");
    assert_no_violations(&server);
}

#[tokio::test]
async fn filters_round_trip_with_if_match() {
    let (server, api) = start().await;
    let created = api.create_mailbox("agent@myagent.mx").await;
    let path = format!("/mailboxes/{}/filters", str_of(&created, "/mailbox/id"));
    let r = api.get(&path).await;
    assert_eq!(r.json()["data"], json!({ "mode": "off", "rules": [] }));
    let etag = r.header("etag").unwrap().to_owned();
    let state = json!({
        "mode": "denylist",
        "rules": [{ "type": "deny", "pattern": "*.spam.example", "note": "noise" }]
    });
    let r = api
        .call(Method::PUT, &path)
        .header("if-match", &etag)
        .json(&state)
        .send()
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["data"], state);
    let new_etag = r.header("etag").unwrap().to_owned();
    assert_ne!(new_etag, etag);
    api.call(Method::PUT, &path)
        .header("if-match", &etag)
        .json(&state)
        .send()
        .await
        .assert_error(409, "conflict");
    let r = api
        .call(Method::GET, &path)
        .header("if-none-match", &new_etag)
        .send()
        .await;
    assert_eq!(r.status, 304);
    assert_eq!(api.get(&path).await.json()["data"], state);
    api.call(Method::PUT, &path)
        .json(&json!({ "mode": "allowlist", "rules": [{ "type": "allow", "pattern": "a b" }] }))
        .send()
        .await
        .assert_error(422, "validation_error");
    api.get("/mailboxes/mbx_missing/filters")
        .await
        .assert_error(404, "not_found");
    assert_no_violations(&server);
}

#[tokio::test]
async fn an_idempotent_create_replays_the_same_credential() {
    let (server, api) = start().await;
    let create = || {
        api.call(Method::POST, "/mailboxes")
            .header("idempotency-key", "create-agent-1")
            .json(&json!({ "email": "agent@myagent.mx" }))
            .send()
    };
    let first = create().await;
    assert_eq!(first.status, 201);
    let replay = create().await;
    assert_eq!(replay.status, 201);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.json()["data"], first.json()["data"]);
    assert_eq!(server.mailboxes(Some(KEY)).len(), 1);
    let secret = first.json()["data"]["credential"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        Api::with_key(&server, Some(&secret))
            .get("/mailbox/me")
            .await
            .status,
        200
    );
    assert_no_violations(&server);
}

/// A key is scoped to its request, path included: reused on another
/// mailbox's `suspend` (the same empty body) it is a conflict, and that
/// mailbox is left as it was instead of getting the first one's answer.
#[tokio::test]
async fn an_idempotency_key_reused_on_another_mailbox_conflicts() {
    let (server, api) = start().await;
    let a = api.create_mailbox("a@myagent.mx").await;
    let b = api.create_mailbox("b@myagent.mx").await;
    let suspend = |id: &str| {
        api.call(Method::POST, &format!("/mailboxes/{id}/suspend"))
            .header("idempotency-key", "suspend-1")
            .send()
    };
    let first = suspend(str_of(&a, "/mailbox/id")).await;
    assert_eq!(first.status, 200);
    let replay = suspend(str_of(&a, "/mailbox/id")).await;
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    suspend(str_of(&b, "/mailbox/id"))
        .await
        .assert_error(409, "idempotency_conflict");
    let b_now = api
        .get(&format!("/mailboxes/{}", str_of(&b, "/mailbox/id")))
        .await;
    assert_eq!(b_now.json()["data"]["status"], "active");
    assert_no_violations(&server);
}

#[tokio::test]
async fn keys_are_capped_and_repeat_for_a_seed() {
    let (server, api) = start().await;
    let created = api.create_mailbox("agent@myagent.mx").await;
    let id = str_of(&created, "/mailbox/id");
    let keys = format!("/mailboxes/{id}/keys");
    for _ in 1..10 {
        assert_eq!(
            api.post(&keys, json!({ "app_name": "k" })).await.status,
            201
        );
    }
    api.post(&keys, json!({ "app_name": "k" }))
        .await
        .assert_error(409, "limit_exceeded");
    // Same seed, same requests: the same key.
    let (again, api2) = start().await;
    let twin = api2.create_mailbox("agent@myagent.mx").await;
    assert_eq!(twin["credential"], created["credential"]);
    let other = MockServer::builder().seed(6).start().await.unwrap();
    let different = Api::new(&other).create_mailbox("agent@myagent.mx").await;
    assert_ne!(
        different["credential"]["secret"],
        created["credential"]["secret"]
    );
    assert_no_violations(&server);
    assert_no_violations(&again);
}

#[tokio::test]
async fn issued_keys_pass_a_restricted_key_list_and_others_stay_lenient() {
    let server = MockServer::builder()
        .accept_key("smx_root_only")
        .start()
        .await
        .unwrap();
    let api = Api::with_key(&server, Some("smx_root_only"));
    let created = api.create_mailbox("agent@myagent.mx").await;
    let secret = str_of(&created, "/credential/secret");
    assert_eq!(
        Api::with_key(&server, Some(secret))
            .get("/mailbox/me")
            .await
            .status,
        200
    );
    Api::with_key(&server, Some("smx_mbx_unknown"))
        .get("/mailbox/me")
        .await
        .assert_error(401, "authentication_required");

    // Without a list, an unknown well-formed mailbox key is accepted as its
    // own team, but has no mailbox behind it.
    let (open, _) = start().await;
    Api::with_key(&open, Some("smx_mbx_unknown"))
        .get("/mailbox/me")
        .await
        .assert_error(404, "not_found");
}

#[tokio::test]
async fn inspection_lists_mailboxes_without_their_keys() {
    let (server, api) = start().await;
    let created = api.create_mailbox("agent@myagent.mx").await;
    Api::with_key(&server, Some("smx_root_b"))
        .create_mailbox("b@myagent.mx")
        .await;
    let http = reqwest::Client::new();
    let url = format!("{}/mailboxes", server.admin_url());
    let all: Value = http.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(all["count"], 2);
    let text = all.to_string();
    assert!(
        !text.contains(str_of(&created, "/credential/secret")),
        "{text}"
    );
    let mine: Value = http
        .get(&url)
        .header("x-mock-api-key", KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(mine["count"], 1);
    assert_eq!(mine["mailboxes"][0]["email"], "agent@myagent.mx");
    assert_eq!(mine["mailboxes"][0]["status"], "active");
    assert_eq!(mine["mailboxes"][0]["active_keys"], 1);
    assert_eq!(mine["mailboxes"][0]["team"], server.team_of(KEY).as_str());
}
