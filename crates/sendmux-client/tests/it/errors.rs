//! How responses map onto the error type.

use std::time::Duration;

use httpmock::prelude::*;
use sendmux_client::clock::VirtualClock;
use sendmux_client::{Error, ErrorCode};
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn api_errors_carry_every_detail() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(PUT).path("/domains/mdom_1/filters");
            then.status(422)
                .header("x-request-id", "req_422")
                .header("retry-after", "7")
                .json_body(json!({
                    "ok": false,
                    "error": {
                        "code": "validation_error",
                        "message": "bad rules",
                        "retryable": false,
                        "param": "rules",
                        "doc_url": "https://docs.example/errors#validation_error",
                        "errors": [{"field": "rules[0].pattern", "code": "invalid_string", "message": "not a sender"}]
                    },
                    "meta": {"request_id": "req_422"}
                }));
        })
        .await;
    let (client, _clock) = client(&server);
    let state = sendmux_client::FilterState::new(
        sendmux_client::FilterMode::Allowlist,
        [sendmux_client::FilterRule::allow("@@")],
    );
    let err = client
        .domains()
        .set_filters("mdom_1", state)
        .await
        .unwrap_err();
    let api = err.as_api().unwrap();
    assert_eq!(api.status, 422);
    assert_eq!(api.code, ErrorCode::ValidationError);
    assert_eq!(api.message, "bad rules");
    assert_eq!(api.param.as_deref(), Some("rules"));
    assert!(api.doc_url.is_some());
    assert_eq!(api.field_errors.len(), 1);
    assert_eq!(api.field_errors[0].field, "rules[0].pattern");
    assert_eq!(api.request_id.as_deref(), Some("req_422"));
    assert_eq!(api.retry_after, Some(Duration::from_secs(7)));
    let text = err.to_string();
    for part in [
        "422",
        "validation_error",
        "bad rules",
        "rules[0].pattern",
        "req_422",
    ] {
        assert!(text.contains(part), "{part} missing from {text}");
    }
}

#[tokio::test]
async fn unknown_error_codes_are_kept() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/domains/mdom_1");
            then.status(418).json_body(api_error(
                "teapot_mode",
                "short and stout",
                false,
                "req_418",
            ));
        })
        .await;
    let (client, _clock) = client(&server);
    let err = client.domains().get("mdom_1").await.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::Unknown("teapot_mode".into())));
    assert_eq!(
        err.request_id(),
        Some("req_418"),
        "falls back on meta.request_id"
    );
}

#[tokio::test]
async fn a_success_body_of_the_wrong_shape_is_undecodable() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET).path("/domains/mdom_1");
            then.status(200)
                .header("x-request-id", "req_odd")
                .json_body(json!({"ok": true, "data": {"id": 5}}));
        })
        .await;
    let (client, _clock) = client(&server);
    let err = client.domains().get("mdom_1").await.unwrap_err();
    mock.assert_calls_async(1).await;
    assert!(
        matches!(
            &err,
            Error::Undecodable {
                status: Some(200),
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.request_id(), Some("req_odd"));
    assert_eq!(err.status(), Some(200));
    assert!(std::error::Error::source(&err).is_some());
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/domains/mdom_1");
            then.status(200).body("x".repeat(10_000));
        })
        .await;
    let clock = VirtualClock::new();
    let client = builder(&server.base_url(), &clock)
        .max_response_bytes(1024)
        .build()
        .unwrap();
    let err = client.domains().get("mdom_1").await.unwrap_err();
    match err {
        Error::Undecodable {
            reason, snippet, ..
        } => {
            assert!(reason.contains("1024"), "{reason}");
            assert!(snippet.len() <= 520);
        }
        other => panic!("{other:?}"),
    }
}
