//! The sending accounts resource (`/providers`): every operation's request,
//! its typed answer, validation before I/O, and the SMTP password that must
//! never be printed.

use futures::TryStreamExt;
use httpmock::prelude::*;
use sendmux_client::Conditional;
use sendmux_client::sending_accounts::{SenderDefault, SmtpProtocol};
use sendmux_client::types::{
    ProviderQuotaRange, ProviderQuotaValue, ProviderQuotasInput, ProviderStatus, ProviderType,
};
use serde_json::{Value, json};

use crate::fixtures::*;

const SMTP_PASSWORD: &str = "Sm7pP4ssw0rdXYZ";

fn account(id: &str) -> Value {
    json!({
        "id": id,
        "name": "Relay",
        "type": "smtp",
        "status": "active",
        "status_reason": null,
        "is_active": true,
        "is_shared": false,
        "is_editable": true,
        "allowed_actions": {"activate": false, "deactivate": true, "delete": true, "test": true, "update": true},
        "smtp_host": "smtp.acme.com",
        "smtp_port": 587,
        "smtp_protocol": "starttls",
        "smtp_username": "relay",
        "has_smtp_password": true,
        "from_email": "noreply@acme.com",
        "from_name": "Acme",
        "reply_to_email": null,
        "reply_to_name": null,
        "oauth_email": null,
        "has_refresh_token": false,
        "quotas": {"per_second": null, "per_minute": {"min": 10, "max": 20}, "per_hour": null, "per_day": null},
        "percentage": 50,
        "tracking_domain": null,
        "created_at": "2026-11-01T10:00:00Z",
        "updated_at": "2026-11-01T10:00:00Z",
        "last_tested_at": null,
        "last_used_at": "2026-11-02T08:00:00Z"
    })
}

fn ses_limit() -> Value {
    json!({
        "provider_id": "dprov_ses",
        "daily_limit": 200,
        "sent_today": 150,
        "threshold_usage": 160,
        "usage_ratio": 0.75,
        "is_near_limit": false,
        "can_request_increase": true,
        "pending_request_id": null
    })
}

fn ses_request(status: &str) -> Value {
    json!({
        "id": "sesr_1",
        "status": status,
        "current_daily_limit": 200,
        "current_daily_sent": 150,
        "approved_daily_limit": null,
        "decision_note": null,
        "created_at": "2026-11-01T10:00:00Z",
        "decided_at": null
    })
}

fn accounts_snapshot() -> Value {
    json!({
        "resource_type": "providers",
        "usage": 3,
        "max_allowed": 5,
        "reserved": 0,
        "threshold_usage": 4,
        "usage_ratio": 0.6,
        "is_at_limit": false,
        "is_near_limit": false,
        "can_request_increase": true,
        "pending_request_id": null
    })
}

#[tokio::test]
async fn create_sends_every_field_with_an_idempotency_key() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/providers")
                .header_exists("idempotency-key")
                .json_body(json!({
                    "name": "Relay",
                    "smtp_host": "smtp.acme.com",
                    "smtp_port": 587,
                    "smtp_protocol": "starttls",
                    "smtp_username": "relay",
                    "smtp_password": SMTP_PASSWORD,
                    "from_email": "noreply@acme.com",
                    "from_name": "Acme",
                    "reply_to_email": "support@acme.com",
                    "reply_to_name": "Support",
                    "tracking_domain": "t.acme.com",
                    "percentage": 50,
                    "quotas": {"per_minute": {"min": 10, "max": 20}, "per_day": 5000}
                }));
            reply(then, 201, account("dprov_1"));
        })
        .await;
    let range = ProviderQuotaRange {
        min: 10.try_into().unwrap(),
        max: 20.try_into().unwrap(),
    };
    let quotas = ProviderQuotasInput {
        per_minute: Some(ProviderQuotaValue::ProviderQuotaRange(range)),
        per_day: Some(ProviderQuotaValue::Integer(5000.try_into().unwrap())),
        ..Default::default()
    };
    let created = client(&server)
        .sending_accounts()
        .create(
            "Relay",
            "smtp.acme.com",
            587,
            SmtpProtocol::Starttls,
            "relay",
            SMTP_PASSWORD,
        )
        .from_email("noreply@acme.com")
        .from_name("Acme")
        .reply_to_email("support@acme.com")
        .reply_to_name("Support")
        .tracking_domain("t.acme.com")
        .percentage(50)
        .quotas(quotas)
        .await
        .unwrap();
    mock.assert_async().await;
    assert_eq!(created.status(), 201);
    assert_eq!(created.id, "dprov_1");
    assert!(created.has_smtp_password);
    assert_eq!(created.type_, ProviderType::Smtp);
}

#[tokio::test]
async fn list_filters_and_streams_across_pages() {
    let server = MockServer::start_async().await;
    let first = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/providers")
                .query_param("status", "active")
                .query_param("type", "smtp")
                .query_param_missing("cursor");
            reply_page(then, vec![account("dprov_2")], Some("p2"));
        })
        .await;
    let second = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/providers")
                .query_param("status", "active")
                .query_param("cursor", "p2");
            reply_page(then, vec![account("dprov_1")], None);
        })
        .await;
    let all: Vec<_> = client(&server)
        .sending_accounts()
        .list()
        .status(ProviderStatus::Active)
        .kind(ProviderType::Smtp)
        .stream()
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<_> = all.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["dprov_2", "dprov_1"]);
    first.assert_calls_async(1).await;
    second.assert_calls_async(1).await;
}

#[tokio::test]
async fn get_if_changed_update_and_delete() {
    let server = MockServer::start_async().await;
    let (get, unchanged) =
        conditional_read(&server, "/providers/dprov_1", account("dprov_1")).await;
    let update = server
        .mock_async(|when, then| {
            when.method(PATCH)
                .path("/providers/dprov_1")
                .header("if-match", ETAG)
                .header_missing("idempotency-key")
                .json_body(json!({
                    "name": "Relay 2",
                    "smtp_host": "smtp2.acme.com",
                    "smtp_port": 465,
                    "smtp_protocol": "ssl",
                    "smtp_username": "relay2",
                    "smtp_password": SMTP_PASSWORD,
                    "from_name": null,
                    "tracking_domain": null
                }));
            reply(then, 200, account("dprov_1"));
        })
        .await;
    let delete = server
        .mock_async(|when, then| {
            when.method(DELETE).path("/providers/dprov_1");
            reply(then, 200, json!({"deleted": true, "id": "dprov_1"}));
        })
        .await;
    let accounts = client(&server).sending_accounts();
    let same = accounts.get_if_changed("dprov_1", ETAG).await.unwrap();
    assert!(matches!(same, Conditional::NotModified(_)));
    let current = accounts.get("dprov_1").await.unwrap();
    assert_eq!(current.smtp_port, Some(587));
    accounts
        .update("dprov_1")
        .name("Relay 2")
        .server("smtp2.acme.com", 465, SmtpProtocol::Ssl)
        .login("relay2", SMTP_PASSWORD)
        .from_name("gone soon")
        .clear(SenderDefault::FromName)
        .clear(SenderDefault::TrackingDomain)
        .if_match(current.etag().unwrap())
        .await
        .unwrap();
    assert!(accounts.delete("dprov_1").await.unwrap().deleted);
    for mock in [unchanged, get, update, delete] {
        mock.assert_calls_async(1).await;
    }
}

#[tokio::test]
async fn activate_deactivate_and_test_carry_idempotency_keys() {
    let server = MockServer::start_async().await;
    let activate = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/providers/dprov_1/activate")
                .header_exists("idempotency-key");
            reply(then, 200, account("dprov_1"));
        })
        .await;
    let deactivate = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/providers/dprov_1/deactivate")
                .header_exists("idempotency-key");
            let mut off = account("dprov_1");
            off["is_active"] = json!(false);
            off["status"] = json!("inactive");
            reply(then, 200, off);
        })
        .await;
    let test = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/providers/dprov_1/test")
                .header("idempotency-key", "test-1");
            let data = json!({"success": false, "message": "login refused", "latency_ms": 85, "tested_at": "2026-11-01T10:00:00Z"});
            reply(then, 200, data);
        })
        .await;
    let accounts = client(&server).sending_accounts();
    assert!(accounts.activate("dprov_1").await.unwrap().is_active);
    let off = accounts.deactivate("dprov_1").await.unwrap();
    assert_eq!(off.status, ProviderStatus::Inactive);
    let outcome = accounts
        .test("dprov_1")
        .idempotency_key("test-1")
        .await
        .unwrap();
    assert!(!outcome.success);
    assert_eq!(outcome.latency_ms, 85);
    for mock in [activate, deactivate, test] {
        mock.assert_calls_async(1).await;
    }
}

#[tokio::test]
async fn limits_requests_stats_and_usage() {
    let server = MockServer::start_async().await;
    let limits = server
        .mock_async(|when, then| {
            when.method(GET).path("/providers/limits");
            let data =
                json!({"sending_accounts": accounts_snapshot(), "shared_amazon_ses": ses_limit()});
            reply(then, 200, data);
        })
        .await;
    let increase = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/providers/limits/sending-accounts/request-increase")
                .header_exists("idempotency-key");
            reply(
                then,
                200,
                json!({"request_id": "trir_1", "limit": accounts_snapshot()}),
            );
        })
        .await;
    let ses_get = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/providers/shared-amazon-ses-limit-request");
            let data = json!({"limit": ses_limit(), "pending_request": ses_request("pending")});
            reply(then, 200, data);
        })
        .await;
    let ses_create = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/providers/shared-amazon-ses-limit-request")
                .header_exists("idempotency-key");
            let data = json!({"limit": ses_limit(), "request": ses_request("pending")});
            reply(then, 200, data);
        })
        .await;
    let ses_cancel = server
        .mock_async(|when, then| {
            when.method(DELETE)
                .path("/providers/shared-amazon-ses-limit-request/sesr_1")
                .header_missing("idempotency-key");
            let data = json!({"limit": ses_limit(), "request": ses_request("cancelled")});
            reply(then, 200, data);
        })
        .await;
    let stats = server
        .mock_async(|when, then| {
            when.method(GET).path("/providers/stats");
            let counts = json!({"active": 2, "inactive": 1, "error": 0, "pending": 0});
            let data = json!({
                "total": 3, "active": 2, "inactive": 1, "error": 0, "pending": 0,
                "by_status": counts,
                "by_type": {"smtp": 2, "gmail_api": 0, "outlook_api": 0, "amazon_ses": 1}
            });
            reply(then, 200, data);
        })
        .await;
    let usage = server
        .mock_async(|when, then| {
            when.method(GET).path("/providers/usage");
            let item = json!({
                "provider_id": "dprov_1", "sent_today": 12, "total_7d": 90, "sent_7d": 85,
                "failed_7d": 3, "rejected_7d": 1, "pending_7d": 1
            });
            reply(then, 200, json!({"window_days": 7, "providers": [item]}));
        })
        .await;
    let accounts = client(&server).sending_accounts();
    let got = accounts.limits().await.unwrap();
    assert_eq!(got.sending_accounts.max_allowed.get(), 5);
    assert_eq!(got.shared_amazon_ses.daily_limit, Some(200));
    let filed = accounts.request_limit_increase().await.unwrap();
    assert_eq!(filed.request_id, "trir_1");
    let state = accounts.ses_limit_request().await.unwrap();
    assert_eq!(state.pending_request.as_ref().unwrap().id, "sesr_1");
    assert_eq!(
        accounts
            .create_ses_limit_request()
            .await
            .unwrap()
            .request
            .id,
        "sesr_1"
    );
    let cancelled = accounts.cancel_ses_limit_request("sesr_1").await.unwrap();
    assert_eq!(cancelled.request.status.as_str(), "cancelled");
    assert_eq!(accounts.stats().await.unwrap().total, 3.0);
    assert_eq!(accounts.usage().await.unwrap().providers[0].sent_7d, 85);
    for mock in [
        limits, increase, ses_get, ses_create, ses_cancel, stats, usage,
    ] {
        mock.assert_calls_async(1).await;
    }
}

#[tokio::test]
async fn invalid_arguments_never_reach_the_server() {
    let server = MockServer::start_async().await;
    let any = server
        .mock_async(|when, then| {
            when.path_includes("/providers");
            reply(then, 200, account("dprov_1"));
        })
        .await;
    let accounts = client(&server).sending_accounts();
    let smtp = |port, password: &str| {
        accounts.create(
            "Relay",
            "smtp.acme.com",
            port,
            SmtpProtocol::Tls,
            "relay",
            password,
        )
    };
    let inverted = ProviderQuotaRange {
        min: 30.try_into().unwrap(),
        max: 20.try_into().unwrap(),
    };
    let bad_quotas = ProviderQuotasInput {
        per_hour: Some(ProviderQuotaValue::ProviderQuotaRange(inverted)),
        ..Default::default()
    };
    let failures = [
        smtp(0, SMTP_PASSWORD).await.map(drop),
        smtp(587, "").await.map(drop),
        smtp(587, &"p".repeat(501)).await.map(drop),
        smtp(587, SMTP_PASSWORD).percentage(101).await.map(drop),
        smtp(587, SMTP_PASSWORD)
            .from_email("not an address")
            .await
            .map(drop),
        smtp(587, SMTP_PASSWORD).quotas(bad_quotas).await.map(drop),
        accounts
            .create("", "smtp.acme.com", 25, SmtpProtocol::None, "u", "p")
            .await
            .map(drop),
        accounts
            .create("Relay", "", 25, SmtpProtocol::None, "u", "p")
            .await
            .map(drop),
        accounts
            .update("dprov_1")
            .login("", SMTP_PASSWORD)
            .await
            .map(drop),
        accounts
            .update("dprov_1")
            .name("x".repeat(256))
            .await
            .map(drop),
        accounts.update("").await.map(drop),
        accounts.cancel_ses_limit_request("").await.map(drop),
        accounts.list().limit(101).await.map(drop),
    ];
    let fields: Vec<String> = failures
        .into_iter()
        .map(|outcome| {
            outcome
                .unwrap_err()
                .as_invalid_input()
                .unwrap()
                .field
                .clone()
        })
        .collect();
    assert_eq!(
        fields,
        [
            "smtp_port",
            "smtp_password",
            "smtp_password",
            "percentage",
            "from_email",
            "quotas.per_hour.min",
            "name",
            "smtp_host",
            "smtp_username",
            "name",
            "id",
            "request_id",
            "limit"
        ]
    );
    any.assert_calls_async(0).await;
}

#[tokio::test]
async fn the_smtp_password_is_never_printed() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/providers");
            reply_error(then, 422, "validation_error", "bad login");
        })
        .await;
    let accounts = client(&server).sending_accounts();
    let create = accounts.create(
        "Relay",
        "smtp.acme.com",
        587,
        SmtpProtocol::Tls,
        "relay",
        SMTP_PASSWORD,
    );
    let update = accounts.update("dprov_1").login("relay", SMTP_PASSWORD);
    let too_long = "p".repeat(501);
    let refused = accounts.update("dprov_1").login("relay", too_long.as_str());
    let texts = [
        format!("{create:?}"),
        format!("{create:#?}"),
        format!("{update:?}"),
        format!("{refused:?}"),
    ];
    assert!(
        texts[0].contains("smtp_password: Some(Secret(<redacted>))"),
        "{}",
        texts[0]
    );
    let answered = create.await.unwrap_err();
    let invalid = refused.await.unwrap_err();
    for text in texts.into_iter().chain([
        format!("{answered} {answered:?}"),
        format!("{invalid} {invalid:?}"),
    ]) {
        assert!(!leaks(&text, &[SMTP_PASSWORD, "ppppp"]), "leaked: {text}");
    }
    assert_eq!(answered.status(), Some(422));
}
