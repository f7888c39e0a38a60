//! The nine Domains operations and the domain lifecycle.

use std::time::Duration;

use http::Method;
use sendmux_mock::{ManualClock, MockServer, Propagation};
use serde_json::json;

use crate::harness::{Api, KEY};

#[tokio::test]
async fn create_computes_dns_records_and_location() {
    let server = MockServer::builder().seed(1).start().await.unwrap();
    let api = Api::new(&server);
    let r = api
        .post("/domains", json!({ "domain": "mail.acme.com" }))
        .await;
    assert_eq!(r.status, 201);
    let d = r.json()["data"].clone();
    let id = d["id"].as_str().unwrap();
    assert!(id.starts_with("mdom_"), "{id}");
    assert_eq!(
        r.header("location"),
        Some(format!("/api/v1/domains/{id}").as_str())
    );
    assert_eq!(d["mode"], "send_receive");
    assert_eq!(d["verification_status"], "pending");
    assert_eq!(d["mailbox_count"], 0);
    let dns = &d["dns_records"];
    assert_eq!(dns["mx"].as_array().unwrap().len(), 2);
    assert_eq!(dns["spf"]["name"], "mail.acme.com");
    assert_eq!(dns["dmarc"]["name"], "_dmarc.mail.acme.com");
    assert_eq!(dns["dkim"].as_array().unwrap().len(), 3);
    for k in dns["dkim"].as_array().unwrap() {
        assert!(
            k["name"]
                .as_str()
                .unwrap()
                .ends_with("._domainkey.mail.acme.com")
        );
    }
    assert_eq!(dns["verification"]["name"], "_sendmux.mail.acme.com");
    assert_eq!(dns["mail_from"]["mx"]["name"], "bounce.mail.acme.com");

    let so = api.create("out.acme.com", Some("send_only")).await;
    assert_eq!(so["mode"], "send_only");
    assert_eq!(so["dns_records"]["mx"], json!([]));
    assert_eq!(server.domain_count(KEY), 2);
}

#[tokio::test]
async fn ids_are_deterministic_for_a_seed() {
    let mut ids = Vec::new();
    for _ in 0..2 {
        let server = MockServer::builder().seed(42).start().await.unwrap();
        let api = Api::new(&server);
        let d = api.create("mail.acme.com", None).await;
        ids.push((d["id"].clone(), d["dns_records"].clone()));
    }
    assert_eq!(ids[0], ids[1]);
    let other = MockServer::builder().seed(43).start().await.unwrap();
    let d = Api::new(&other).create("mail.acme.com", None).await;
    assert_ne!(d["id"], ids[0].0);
}

#[tokio::test]
async fn duplicate_domain_conflicts_and_teams_are_isolated() {
    let server = MockServer::start().await.unwrap();
    let a = Api::new(&server);
    let b = Api::with_key(&server, Some("smx_root_other"));
    let d = a.create("mail.acme.com", None).await;
    a.post("/domains", json!({ "domain": "mail.acme.com" }))
        .await
        .assert_error(409, "conflict");
    // Another key is another team: it neither sees nor collides with it.
    let id = d["id"].as_str().unwrap();
    b.get(&format!("/domains/{id}"))
        .await
        .assert_error(404, "not_found");
    assert_eq!(b.get("/domains").await.json()["data"], json!([]));
    b.create("mail.acme.com", None).await;
    assert_eq!(server.domain_count(KEY), 1);
    assert_eq!(server.domain_count("smx_root_other"), 1);
    assert_eq!(server.total_domain_count(), 2);
}

#[tokio::test]
async fn get_uses_weak_etags_and_if_none_match() {
    let server = MockServer::start().await.unwrap();
    let api = Api::new(&server);
    let id = api.create_id("mail.acme.com", None).await;
    let path = format!("/domains/{id}");
    let r = api.get(&path).await;
    assert_eq!(r.status, 200);
    let etag = r.header("etag").unwrap().to_owned();
    assert!(etag.starts_with("W/\""), "{etag}");
    let r = api
        .call(Method::GET, &path)
        .header("if-none-match", &etag)
        .send()
        .await;
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());
    assert_eq!(r.header("etag"), Some(etag.as_str()));
    // A change gives a new tag and a full answer again: here a mailbox
    // on the domain, which shows in its count.
    let verified = api.verified_domain("in.acme.com", None).await;
    let path = format!("/domains/{verified}");
    let etag = api.get(&path).await.header("etag").unwrap().to_owned();
    api.create_mailbox("agent@in.acme.com").await;
    let r = api
        .call(Method::GET, &path)
        .header("if-none-match", &etag)
        .send()
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["data"]["mailbox_count"], 1);
    assert_ne!(r.header("etag"), Some(etag.as_str()));
    api.get("/domains/mdom_nope")
        .await
        .assert_error(404, "not_found");
}

#[tokio::test]
async fn patch_upgrades_send_only_and_honours_if_match() {
    let server = MockServer::builder()
        .propagation(Propagation::AfterVerifyCalls { calls: 1 })
        .start()
        .await
        .unwrap();
    let api = Api::new(&server);
    let id = api.create_id("out.acme.com", Some("send_only")).await;
    let path = format!("/domains/{id}");
    let verified = api.post(&format!("{path}/verify"), json!(null)).await;
    assert_eq!(verified.json()["data"]["status"], "verified");
    let etag = api.get(&path).await.header("etag").unwrap().to_owned();

    let stale = api
        .call(Method::PATCH, &path)
        .header("if-match", "W/\"0000000000000000\"")
        .json(&json!({ "mode": "send_receive" }))
        .send()
        .await;
    stale.assert_error(409, "conflict");

    let r = api
        .call(Method::PATCH, &path)
        .header("if-match", &etag)
        .json(&json!({ "mode": "send_receive" }))
        .send()
        .await;
    assert_eq!(r.status, 200);
    let d = r.json()["data"].clone();
    assert_eq!(d["mode"], "send_receive");
    assert_eq!(
        d["verification_status"], "pending",
        "upgrade goes back to pending"
    );
    assert_eq!(d["dns_records"]["mx"].as_array().unwrap().len(), 2);
    assert_ne!(r.header("etag"), Some(etag.as_str()));

    // Only send_only -> send_receive exists.
    api.call(Method::PATCH, &path)
        .json(&json!({ "mode": "send_receive" }))
        .send()
        .await
        .assert_error(409, "conflict");
}

#[tokio::test]
async fn verify_after_n_calls() {
    let server = MockServer::start().await.unwrap(); // default: 2 calls
    let api = Api::new(&server);
    let id = api.create_id("mail.acme.com", None).await;
    let verify = format!("/domains/{id}/verify");
    let first = api.call(Method::POST, &verify).send().await;
    assert_eq!(first.status, 200);
    assert_eq!(first.json()["data"]["status"], "pending");
    assert_eq!(first.json()["data"]["checks"]["mx"], false);
    let second = api.call(Method::POST, &verify).send().await.json();
    assert_eq!(second["data"]["status"], "verified");
    assert_eq!(second["data"]["checks"]["mx"], true);
    let d = api.get(&format!("/domains/{id}")).await.json()["data"].clone();
    assert_eq!(d["verification_status"], "verified");
    assert!(d["verified_at"].is_string());
    assert_eq!(d["ses_verified_for_sending"], true);
}

#[tokio::test]
async fn verify_after_a_duration_on_the_injected_clock() {
    let clock = ManualClock::default();
    let server = MockServer::builder()
        .clock(clock.clone())
        .propagation(Propagation::AfterDuration { secs: 300 })
        .start()
        .await
        .unwrap();
    let api = Api::new(&server);
    let id = api.create_id("mail.acme.com", None).await;
    let verify = format!("/domains/{id}/verify");
    for _ in 0..3 {
        let r = api.call(Method::POST, &verify).send().await.json();
        assert_eq!(r["data"]["status"], "pending");
    }
    clock.advance(Duration::from_secs(299));
    assert_eq!(
        api.call(Method::POST, &verify).send().await.json()["data"]["status"],
        "pending"
    );
    clock.advance(Duration::from_secs(1));
    assert_eq!(
        api.call(Method::POST, &verify).send().await.json()["data"]["status"],
        "verified"
    );
}

#[tokio::test]
async fn verify_can_be_forced_to_fail() {
    let server = MockServer::builder()
        .propagation(Propagation::Fail)
        .start()
        .await
        .unwrap();
    let api = Api::new(&server);
    let id = api.create_id("mail.acme.com", None).await;
    let verify = format!("/domains/{id}/verify");
    let r = api.call(Method::POST, &verify).send().await.json();
    assert_eq!(r["data"]["status"], "failed");
    assert_eq!(r["data"]["checks"]["spf"], false);
    // Failed stays failed until a full pass.
    server.set_propagation(Propagation::AfterVerifyCalls { calls: 100 });
    let r = api.call(Method::POST, &verify).send().await.json();
    assert_eq!(r["data"]["status"], "failed");
    server.set_propagation(Propagation::AfterVerifyCalls { calls: 1 });
    let r = api.call(Method::POST, &verify).send().await.json();
    assert_eq!(r["data"]["status"], "verified");
    api.call(Method::POST, "/domains/mdom_missing/verify")
        .send()
        .await
        .assert_error(404, "not_found");
}

#[tokio::test]
async fn delete_is_blocked_while_mailboxes_use_the_domain() {
    let server = MockServer::start().await.unwrap();
    let api = Api::new(&server);
    let id = api.verified_domain("mail.acme.com", None).await;
    let path = format!("/domains/{id}");
    let first = api.create_mailbox("a@mail.acme.com").await;
    api.create_mailbox("b@mail.acme.com").await;
    assert_eq!(api.get(&path).await.json()["data"]["mailbox_count"], 2);
    let blocked = api
        .call(Method::DELETE, &path)
        .send()
        .await
        .assert_error(409, "conflict");
    assert!(
        blocked["error"]["message"]
            .as_str()
            .unwrap()
            .contains("2 active mailbox"),
        "{blocked}"
    );
    assert_eq!(server.domain_count(KEY), 1);
    // A suspended mailbox still uses the domain.
    let mailboxes = server.mailboxes(Some(KEY));
    let ids: Vec<&str> = mailboxes.iter().map(|m| m.id.as_str()).collect();
    let suspend = format!("/mailboxes/{}/suspend", ids[0]);
    assert_eq!(api.call(Method::POST, &suspend).send().await.status, 200);
    api.call(Method::DELETE, &path)
        .send()
        .await
        .assert_error(409, "conflict");
    for mailbox in &ids {
        let r = api
            .call(Method::DELETE, &format!("/mailboxes/{mailbox}"))
            .send()
            .await;
        assert_eq!(r.status, 200);
    }
    assert_eq!(first["mailbox"]["email"], "a@mail.acme.com");
    assert_eq!(api.get(&path).await.json()["data"]["mailbox_count"], 0);
    let r = api.call(Method::DELETE, &path).send().await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["data"], json!({ "deleted": true, "id": id }));
    api.get(&path).await.assert_error(404, "not_found");
    api.call(Method::DELETE, &path)
        .send()
        .await
        .assert_error(404, "not_found");
    assert_eq!(server.domain_count(KEY), 0);
    // The name is free again.
    api.create("mail.acme.com", None).await;
}

#[tokio::test]
async fn zone_file_is_text_with_a_file_name() {
    let server = MockServer::start().await.unwrap();
    let api = Api::new(&server);
    let d = api.create("mail.acme.com", None).await;
    let id = d["id"].as_str().unwrap();
    let r = api.get(&format!("/domains/{id}/zone-file")).await;
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    assert_eq!(
        r.header("content-disposition"),
        Some("attachment; filename=\"mail.acme.com.zone\"")
    );
    let text = String::from_utf8(r.body.to_vec()).unwrap();
    assert!(
        text.contains("mail.acme.com.\tIN\tMX\t10 mx1.sendmux.ai."),
        "{text}"
    );
    for k in d["dns_records"]["dkim"].as_array().unwrap() {
        assert!(text.contains(k["name"].as_str().unwrap()), "{text}");
    }
    api.get("/domains/mdom_missing/zone-file")
        .await
        .assert_error(404, "not_found");
}

#[tokio::test]
async fn filters_get_and_put_with_etags() {
    let server = MockServer::start().await.unwrap();
    let api = Api::new(&server);
    let id = api.create_id("mail.acme.com", None).await;
    let path = format!("/domains/{id}/filters");
    let r = api.get(&path).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["data"], json!({ "mode": "off", "rules": [] }));
    let etag = r.header("etag").unwrap().to_owned();
    let r = api
        .call(Method::GET, &path)
        .header("if-none-match", &etag)
        .send()
        .await;
    assert_eq!(r.status, 304);

    let state = json!({
        "mode": "allowlist",
        "rules": [
            { "type": "allow", "pattern": "partner.com", "note": "billing" },
            { "type": "deny", "pattern": "spam@partner.com" }
        ]
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
    // The old tag is stale now.
    api.call(Method::PUT, &path)
        .header("if-match", &etag)
        .json(&state)
        .send()
        .await
        .assert_error(409, "conflict");
    assert_eq!(api.get(&path).await.json()["data"], state);

    // Exactly 1000 rules is allowed.
    let rules: Vec<_> = (0..1000)
        .map(|i| json!({ "type": "deny", "pattern": format!("s{i}.example.com") }))
        .collect();
    let r = api
        .call(Method::PUT, &path)
        .json(&json!({ "mode": "denylist", "rules": rules }))
        .send()
        .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn filters_are_refused_on_send_only_domains() {
    let server = MockServer::start().await.unwrap();
    let api = Api::new(&server);
    let id = api.create_id("out.acme.com", Some("send_only")).await;
    let path = format!("/domains/{id}/filters");
    api.get(&path).await.assert_error(409, "conflict");
    api.call(Method::PUT, &path)
        .json(&json!({ "mode": "off", "rules": [] }))
        .send()
        .await
        .assert_error(409, "conflict");
    api.get("/domains/mdom_missing/filters")
        .await
        .assert_error(404, "not_found");
}
