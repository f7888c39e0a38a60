//! The generated `sendmux-api` client against httpmock: exact requests and
//! tolerant decoding.

use httpmock::prelude::*;
use sendmux_api::types::{ApiErrorCode, CreateDomainBody, DomainMode, DomainVerificationStatus};

use crate::support::created_domain_body;

fn client(server: &MockServer, key: &str) -> sendmux_api::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    let mut auth = reqwest::header::HeaderValue::from_str(&format!("Bearer {key}")).unwrap();
    auth.set_sensitive(true);
    headers.insert(reqwest::header::AUTHORIZATION, auth);
    let http = reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap();
    sendmux_api::Client::new_with_client(&server.url("/api/v1"), http)
}

#[tokio::test]
async fn create_domain_sends_the_exact_request_and_decodes_the_201() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/api/v1/domains")
                .header("authorization", "Bearer smx_root_test")
                .header("idempotency-key", "domains-create-20261127-001")
                .header("content-type", "application/json")
                .json_body(serde_json::json!({ "domain": "mail.acme.com", "mode": "send_only" }));
            then.status(201)
                .header("content-type", "application/json")
                .header(
                    "location",
                    "/api/v1/domains/mdom_cl0000000000000000000000001",
                )
                .header("x-request-id", "req_cl0000000000000000000000001")
                .json_body(created_domain_body());
        })
        .await;

    let response = client(&server, "smx_root_test")
        .management_create_domain()
        .idempotency_key("domains-create-20261127-001")
        .body(
            CreateDomainBody::builder()
                .domain("mail.acme.com")
                .mode(Some(DomainMode::SendOnly)),
        )
        .send()
        .await
        .unwrap();

    mock.assert_async().await;
    assert_eq!(response.status().as_u16(), 201);
    assert_eq!(
        response.headers()["location"],
        "/api/v1/domains/mdom_cl0000000000000000000000001"
    );
    let body = response.into_inner();
    assert_eq!(body.meta.request_id, "req_cl0000000000000000000000001");
    assert_eq!(body.data.id, "mdom_cl0000000000000000000000001");
    assert_eq!(body.data.domain, "mail.acme.com");
    assert_eq!(
        body.data.verification_status,
        DomainVerificationStatus::Pending
    );
    assert_eq!(body.data.dns_records.dkim.len(), 3);
    assert_eq!(body.data.dns_records.mx[0].priority, 10);
    assert_eq!(body.data.ses_dkim_status, None);
}

#[tokio::test]
async fn an_over_long_idempotency_key_is_refused_before_sending() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(500);
        })
        .await;
    let error = client(&server, "smx_root_test")
        .management_create_domain()
        .idempotency_key("k".repeat(256))
        .body(CreateDomainBody::builder().domain("mail.acme.com"))
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(error, sendmux_api::Error::InvalidRequest(_)),
        "{error:?}"
    );
    assert_eq!(mock.calls_async().await, 0);
}

#[tokio::test]
async fn new_fields_and_new_enum_values_still_decode() {
    let mut body = created_domain_body();
    body["data"]["verification_status"] = "quarantined".into();
    body["data"]["mode"] = "receive_only".into();
    body["data"]["brand_new_field"] = serde_json::json!({ "nested": [1, 2, 3] });
    body["data"]["dns_records"]["mx"][0]["ttl"] = 300.into();
    body["meta"]["trace"] = "abc".into();
    body["extra_top_level"] = true.into();

    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/api/v1/domains/mdom_cl0000000000000000000000001");
            then.status(200)
                .header("content-type", "application/json")
                .header("etag", "W/\"a1\"")
                .json_body(body);
        })
        .await;

    let domain = client(&server, "smx_root_test")
        .management_get_domain()
        .public_id("mdom_cl0000000000000000000000001")
        .send()
        .await
        .unwrap()
        .into_inner()
        .data;
    assert_eq!(
        domain.verification_status,
        DomainVerificationStatus::Unknown("quarantined".into())
    );
    assert_eq!(domain.mode, DomainMode::Unknown("receive_only".into()));
    assert_eq!(domain.dns_records.mx[0].target, "mail.sendmux.ai");
}

#[tokio::test]
async fn errors_decode_into_api_error_even_with_an_unknown_code() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(DELETE).path("/api/v1/domains/mdom_x");
            then.status(409)
                .header("content-type", "application/json")
                .json_body(serde_json::json!({
                    "ok": false,
                    "error": { "code": "conflict", "message": "in use", "retryable": false },
                    "meta": { "request_id": "req_1" }
                }));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(DELETE).path("/api/v1/domains/mdom_y");
            then.status(418)
                .header("content-type", "application/json")
                .json_body(serde_json::json!({
                    "ok": false,
                    "error": { "code": "teapot_overflow", "message": "new", "retryable": true, "errors": [
                        { "field": "public_id", "code": "weird", "message": "odd" }
                    ] },
                    "meta": { "request_id": "req_2" }
                }));
        })
        .await;
    let api = client(&server, "smx_root_test");

    let conflict = api
        .management_delete_domain()
        .public_id("mdom_x")
        .send()
        .await
        .unwrap_err();
    let sendmux_api::Error::ErrorResponse(conflict) = conflict else {
        panic!("expected an API error, got {conflict:?}");
    };
    assert_eq!(conflict.status().as_u16(), 409);
    assert_eq!(conflict.error.code, ApiErrorCode::Conflict);

    let unknown = api
        .management_delete_domain()
        .public_id("mdom_y")
        .send()
        .await
        .unwrap_err();
    let sendmux_api::Error::ErrorResponse(unknown) = unknown else {
        panic!("expected an API error, got {unknown:?}");
    };
    assert_eq!(
        unknown.error.code,
        ApiErrorCode::Unknown("teapot_overflow".into())
    );
    assert!(unknown.error.retryable);
    assert_eq!(unknown.error.errors[0].field, "public_id");
}
