//! Sending accounts (`/providers`): the shared Amazon SES account, custom
//! SMTP accounts, connection tests, limits and limit requests.

use http::Method;
use sendmux_mock::MockServer;
use serde_json::{Value, json};

use crate::harness::{Api, assert_no_violations};

const PASSWORD: &str = "s3cret-smtp-password";

async fn server() -> MockServer {
    MockServer::builder()
        .self_check(true)
        .start()
        .await
        .unwrap()
}

fn smtp_body(name: &str, host: &str) -> Value {
    json!({
        "name": name,
        "smtp_host": host,
        "smtp_port": 587,
        "smtp_protocol": "starttls",
        "smtp_username": "api-user",
        "smtp_password": PASSWORD,
    })
}

async fn create(api: &Api, name: &str, host: &str) -> Value {
    let r = api.post("/providers", smtp_body(name, host)).await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    r.json()["data"].clone()
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

async fn list(api: &Api, query: &str) -> Vec<Value> {
    let r = api.get(&format!("/providers{query}")).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    r.json()["data"].as_array().unwrap().clone()
}

/// The team's shared Amazon SES account.
async fn shared(api: &Api) -> Value {
    let all = list(api, "?type=amazon_ses").await;
    assert_eq!(all.len(), 1, "{all:?}");
    all[0].clone()
}

#[tokio::test]
async fn every_team_has_a_shared_ses_account_that_only_switches_on_and_off() {
    let server = server().await;
    let api = Api::new(&server);
    let all = list(&api, "").await;
    assert_eq!(all.len(), 1);
    let ses = &all[0];
    let id = id_of(ses);
    assert!(id.starts_with("dprov_"), "{id}");
    assert_eq!(ses["type"], "amazon_ses");
    assert_eq!(ses["is_shared"], true);
    assert_eq!(ses["is_editable"], false);
    assert_eq!(ses["status"], "active");
    assert_eq!(ses["has_smtp_password"], false);
    assert_eq!(ses["allowed_actions"]["delete"], false);
    assert_eq!(ses["allowed_actions"]["update"], false);
    assert_eq!(ses["allowed_actions"]["test"], false);

    let path = format!("/providers/{id}");
    api.call(Method::DELETE, &path)
        .send()
        .await
        .assert_error(422, "validation_error");
    api.call(Method::PATCH, &path)
        .json(&json!({ "name": "Mine now" }))
        .send()
        .await
        .assert_error(422, "validation_error");
    api.post(&format!("{path}/test"), json!(null))
        .await
        .assert_error(422, "validation_error");

    let off = api.post(&format!("{path}/deactivate"), json!(null)).await;
    assert_eq!(off.json()["data"]["status"], "inactive");
    assert_eq!(off.json()["data"]["is_active"], false);
    let again = api.post(&format!("{path}/deactivate"), json!(null)).await;
    assert_eq!(again.status, 200, "deactivating twice is fine");
    assert_eq!(again.json()["data"], off.json()["data"]);
    let on = api.post(&format!("{path}/activate"), json!(null)).await;
    assert_eq!(on.json()["data"]["status"], "active");
    assert_eq!(api.get(&path).await.json()["data"]["name"], ses["name"]);

    // Each team has its own.
    let other = Api::with_key(&server, Some("smx_root_other"));
    let theirs = shared(&other).await;
    assert_ne!(theirs["id"], ses["id"]);
    other.get(&path).await.assert_error(404, "not_found");
    assert_no_violations(&server);
}

#[tokio::test]
async fn an_smtp_account_lives_its_whole_life_without_showing_its_password() {
    let server = server().await;
    let api = Api::new(&server);
    let r = api
        .call(Method::POST, "/providers")
        .header("idempotency-key", "create-1")
        .json(&json!({
            "name": "Transactional",
            "smtp_host": "smtp.acme.com",
            "smtp_port": 587,
            "smtp_protocol": "starttls",
            "smtp_username": "api-user",
            "smtp_password": PASSWORD,
            "from_email": "noreply@acme.com",
            "percentage": 40,
            "quotas": { "per_second": 5, "per_day": { "min": 100, "max": 1000 } },
        }))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let p = r.json()["data"].clone();
    let id = id_of(&p);
    let path = format!("/providers/{id}");
    assert_eq!(
        r.header("location"),
        Some(format!("/api/v1{path}").as_str())
    );
    assert_eq!(p["type"], "smtp");
    assert_eq!(p["status"], "active");
    assert_eq!(p["has_smtp_password"], true);
    assert_eq!(p["smtp_host"], "smtp.acme.com");
    assert_eq!(p["percentage"], 40);
    assert_eq!(p["from_email"], "noreply@acme.com");
    assert_eq!(p["quotas"]["per_second"], json!({ "min": 5, "max": 5 }));
    assert_eq!(p["quotas"]["per_day"], json!({ "min": 100, "max": 1000 }));
    assert_eq!(p["quotas"]["per_hour"], Value::Null);
    assert_eq!(p["allowed_actions"]["test"], true);

    // Get with its ETag, then an edit guarded by it.
    let got = api.get(&path).await;
    let etag = got.header("etag").unwrap().to_owned();
    let r = api
        .call(Method::PATCH, &path)
        .header("if-match", &etag)
        .json(&json!({
            "name": "Renamed",
            "smtp_password": "another-password",
            "from_email": null,
            "quotas": { "per_second": null },
        }))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let d = r.json()["data"].clone();
    assert_eq!(d["name"], "Renamed");
    assert_eq!(d["from_email"], Value::Null);
    assert_eq!(d["quotas"]["per_second"], Value::Null);
    assert_eq!(d["quotas"]["per_day"], json!({ "min": 100, "max": 1000 }));
    api.call(Method::PATCH, &path)
        .header("if-match", &etag)
        .json(&json!({ "name": "Stale" }))
        .send()
        .await
        .assert_error(409, "conflict");
    api.call(Method::PATCH, &path)
        .json(&json!({ "quotas": { "per_hour": { "min": 9, "max": 3 } } }))
        .send()
        .await
        .assert_error(422, "validation_error");

    // Off and on again, each twice.
    for (action, status) in [
        ("deactivate", "inactive"),
        ("deactivate", "inactive"),
        ("activate", "active"),
        ("activate", "active"),
    ] {
        let r = api.post(&format!("{path}/{action}"), json!(null)).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.json()["data"]["status"], status, "{action}");
    }

    let r = api.call(Method::DELETE, &path).send().await;
    assert_eq!(r.json()["data"], json!({ "deleted": true, "id": id }));
    api.get(&path).await.assert_error(404, "not_found");

    // The password is in no answer and in no record of the request log.
    for rec in server.requests() {
        let text = format!("{rec:?}");
        assert!(!text.contains(PASSWORD), "request log: {text}");
        assert!(!text.contains("another-password"), "request log: {text}");
    }
    assert_no_violations(&server);
}

#[tokio::test]
async fn no_answer_carries_the_password() {
    let server = server().await;
    let api = Api::new(&server);
    let p = create(&api, "A", "smtp.acme.com").await;
    let id = id_of(&p);
    let mut bodies = vec![serde_json::to_string(&p).unwrap()];
    for path in [
        format!("/providers/{id}"),
        "/providers".to_owned(),
        "/providers/stats".to_owned(),
        "/providers/usage".to_owned(),
        "/providers/limits".to_owned(),
    ] {
        bodies.push(String::from_utf8_lossy(&api.get(&path).await.body).into_owned());
    }
    let r = api
        .post(&format!("/providers/{id}/test"), json!(null))
        .await;
    bodies.push(String::from_utf8_lossy(&r.body).into_owned());
    // A refused create answers without echoing it either.
    let mut bad = smtp_body("B", "smtp.acme.com");
    bad["smtp_port"] = json!(0);
    let r = api.post("/providers", bad).await;
    r.assert_error(400, "invalid_parameter");
    bodies.push(String::from_utf8_lossy(&r.body).into_owned());
    for body in bodies {
        assert!(!body.contains(PASSWORD), "{body}");
    }
}

#[tokio::test]
async fn connection_tests_are_deterministic() {
    let server = server().await;
    let api = Api::new(&server);
    let good = id_of(&create(&api, "Good", "smtp.acme.com").await);
    let bad = id_of(&create(&api, "Bad", "smtp.fail.invalid").await);

    let r = api
        .post(&format!("/providers/{good}/test"), json!(null))
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let t = r.json()["data"].clone();
    assert_eq!(t["success"], true);
    assert!(t["tested_at"].is_string());
    assert!(t["latency_ms"].is_u64());
    let again = api
        .post(&format!("/providers/{good}/test"), json!(null))
        .await;
    assert_eq!(again.json()["data"]["latency_ms"], t["latency_ms"]);
    assert!(
        api.get(&format!("/providers/{good}")).await.json()["data"]["last_tested_at"].is_string()
    );

    let r = api
        .post(&format!("/providers/{bad}/test"), json!(null))
        .await;
    assert_eq!(r.json()["data"]["success"], false);
    let p = api.get(&format!("/providers/{bad}")).await.json()["data"].clone();
    assert_eq!(p["status"], "error");
    assert!(p["status_reason"].is_string());
    assert_eq!(list(&api, "?status=error").await.len(), 1);
    // Fixing the host clears the error.
    let r = api
        .call(Method::PATCH, &format!("/providers/{bad}"))
        .json(&json!({ "smtp_host": "smtp.acme.com" }))
        .send()
        .await;
    assert_eq!(r.json()["data"]["status"], "active");
    assert_eq!(r.json()["data"]["status_reason"], Value::Null);
    assert_no_violations(&server);
}

#[tokio::test]
async fn stats_usage_and_lists_agree() {
    let server = server().await;
    let api = Api::new(&server);
    let a = id_of(&create(&api, "A", "smtp.a.com").await);
    create(&api, "B", "smtp.b.com").await;
    let c = id_of(&create(&api, "C", "smtp.c.invalid").await);
    api.post(&format!("/providers/{a}/deactivate"), json!(null))
        .await;
    api.post(&format!("/providers/{c}/test"), json!(null)).await;

    let all = list(&api, "").await;
    let count = |field: &str, value: &str| all.iter().filter(|p| p[field] == value).count();
    let stats = api.get("/providers/stats").await.json()["data"].clone();
    assert_eq!(stats["total"], all.len());
    assert_eq!(stats["total"], 4);
    for status in ["active", "inactive", "error", "pending"] {
        assert_eq!(stats[status], count("status", status), "{status}");
        assert_eq!(
            stats["by_status"][status],
            count("status", status),
            "{status}"
        );
        let filtered = list(&api, &format!("?status={status}")).await;
        assert_eq!(filtered.len(), count("status", status), "{status}");
    }
    for kind in ["smtp", "gmail_api", "outlook_api", "amazon_ses"] {
        assert_eq!(stats["by_type"][kind], count("type", kind), "{kind}");
        assert_eq!(
            list(&api, &format!("?type={kind}")).await.len(),
            count("type", kind)
        );
    }
    assert_eq!(
        (stats["active"].as_u64(), stats["inactive"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(list(&api, "?status=active&type=smtp").await.len(), 1);
    api.get("/providers?status=sleeping")
        .await
        .assert_error(400, "invalid_parameter");

    // Filtered pages walk with cursors like any list.
    let page = api.get("/providers?type=smtp&limit=2").await.json();
    assert_eq!(page["data"].as_array().unwrap().len(), 2);
    let cursor = page["pagination"]["next_cursor"].as_str().unwrap();
    let rest = list(&api, &format!("?type=smtp&limit=2&cursor={cursor}")).await;
    assert_eq!(rest.len(), 1);

    let usage = api.get("/providers/usage").await.json()["data"].clone();
    assert_eq!(usage["window_days"], 7);
    let ids: Vec<&Value> = usage["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| &u["provider_id"])
        .collect();
    let listed: Vec<&Value> = all.iter().map(|p| &p["id"]).collect();
    assert_eq!(ids, listed);

    let limits = api.get("/providers/limits").await.json()["data"].clone();
    assert_eq!(
        limits["sending_accounts"]["usage"], 3,
        "the shared account is not counted"
    );
    assert_eq!(
        limits["shared_amazon_ses"]["provider_id"],
        shared(&api).await["id"]
    );
    assert_no_violations(&server);
}

#[tokio::test]
async fn the_account_allowance_and_its_increase_request() {
    let server = server().await;
    let api = Api::new(&server);
    let limits = api.get("/providers/limits").await.json()["data"].clone();
    let max = limits["sending_accounts"]["max_allowed"].as_u64().unwrap();
    assert_eq!(limits["sending_accounts"]["usage"], 0);
    assert_eq!(limits["sending_accounts"]["can_request_increase"], true);
    for i in 0..max {
        create(&api, &format!("P{i}"), "smtp.acme.com").await;
    }
    let snapshot = api.get("/providers/limits").await.json()["data"]["sending_accounts"].clone();
    assert_eq!(snapshot["is_at_limit"], true);
    assert_eq!(snapshot["is_near_limit"], true);
    api.post("/providers", smtp_body("One too many", "smtp.acme.com"))
        .await
        .assert_error(409, "limit_exceeded");

    let path = "/providers/limits/sending-accounts/request-increase";
    let r = api.post(path, json!(null)).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let filed = r.json()["data"].clone();
    let request = filed["request_id"].as_str().unwrap();
    assert!(request.starts_with("trir_"), "{request}");
    assert_eq!(filed["limit"]["pending_request_id"], request);
    assert_eq!(filed["limit"]["can_request_increase"], false);
    api.post(path, json!(null))
        .await
        .assert_error(409, "conflict");
    assert_no_violations(&server);
}

#[tokio::test]
async fn one_shared_ses_limit_request_at_a_time_cancellable_while_pending() {
    let server = server().await;
    let api = Api::new(&server);
    let base = "/providers/shared-amazon-ses-limit-request";
    let page = api.get(base).await.json()["data"].clone();
    assert_eq!(page["pending_request"], Value::Null);
    assert_eq!(page["limit"]["can_request_increase"], true);
    assert_eq!(page["limit"]["provider_id"], shared(&api).await["id"]);

    let r = api.post(base, json!(null)).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let created = r.json()["data"].clone();
    let id = created["request"]["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("slir_"), "{id}");
    assert_eq!(created["request"]["status"], "pending");
    assert_eq!(created["limit"]["pending_request_id"], id.as_str());
    assert_eq!(created["limit"]["can_request_increase"], false);
    assert_eq!(
        created["request"]["current_daily_limit"],
        created["limit"]["daily_limit"]
    );
    api.post(base, json!(null))
        .await
        .assert_error(409, "conflict");
    let page = api.get(base).await.json()["data"].clone();
    assert_eq!(page["pending_request"]["id"], id.as_str());

    let r = api
        .call(Method::DELETE, &format!("{base}/{id}"))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let cancelled = r.json()["data"].clone();
    assert_eq!(cancelled["request"]["status"], "cancelled");
    assert_eq!(cancelled["limit"]["pending_request_id"], Value::Null);
    assert_eq!(cancelled["limit"]["can_request_increase"], true);
    api.call(Method::DELETE, &format!("{base}/{id}"))
        .send()
        .await
        .assert_error(409, "conflict");
    api.call(Method::DELETE, &format!("{base}/slir_nope"))
        .send()
        .await
        .assert_error(404, "not_found");
    // Another team cannot see or cancel it.
    Api::with_key(&server, Some("smx_root_other"))
        .call(Method::DELETE, &format!("{base}/{id}"))
        .send()
        .await
        .assert_error(404, "not_found");
    // A new one may be filed now.
    assert_eq!(api.post(base, json!(null)).await.status, 200);
    assert_eq!(
        api.get(base).await.json()["data"]["pending_request"]["status"],
        "pending"
    );
    assert_no_violations(&server);
}

#[tokio::test]
async fn a_password_the_schema_refuses_is_not_quoted_in_the_error() {
    let server = server().await;
    let api = Api::new(&server);
    // Over the published 500-character limit: refused by the schema check,
    // whose messages normally quote the offending value.
    let long = format!("pw-{}", "x".repeat(600));
    let mut bad = smtp_body("Long", "smtp.acme.com");
    bad["smtp_password"] = json!(long);
    let r = api.post("/providers", bad).await;
    assert_eq!(r.status / 100, 4, "{}", String::from_utf8_lossy(&r.body));
    let body = String::from_utf8_lossy(&r.body);
    assert!(!body.contains("pw-xxxx"), "{body}");
    assert!(
        body.contains("smtp_password"),
        "the field is still named: {body}"
    );
}
