//! The Webhooks resource: every operation's request, its typed answer,
//! validation before I/O, and the signing secret that must never be
//! printed.

use futures::TryStreamExt;
use httpmock::prelude::*;
use sendmux_client::WebhookEventType::{MessageBounced, MessageReceived};
use sendmux_client::types::ListDeliveryResult;
use sendmux_client::{Conditional, WebhookEventType};
use serde_json::{Value, json};

use crate::fixtures::*;

const SIGNING_SECRET: &str = "whsec_S1GN1NGS3CR3T99";

fn webhook(id: &str) -> Value {
    json!({
        "id": id,
        "name": "bounces",
        "url": "https://hooks.acme.com/sendmux",
        "event_types": ["message.bounced", "message.received"],
        "filters": {"mailbox_ids": ["mbx_1"]},
        "enabled": true,
        "failing": false,
        "created_at": "2026-11-01T10:00:00Z",
        "updated_at": "2026-11-01T10:00:00Z"
    })
}

fn with_secret(id: &str) -> Value {
    let mut created = webhook(id);
    created["secret"] = json!(SIGNING_SECRET);
    created
}

fn delivery(id: &str) -> Value {
    json!({
        "id": id,
        "event_id": "evt_1",
        "event_type": "message.bounced",
        "result": "failed",
        "response_status": 500,
        "response_ms": 120,
        "delivery_attempt": 1,
        "max_attempts": 8,
        "next_retry_at": "2026-11-01T10:05:00Z",
        "error_message": "endpoint answered 500",
        "response_body": "oops",
        "payload_available": true,
        "payload_expires_at": "2026-11-08T10:00:00Z",
        "request_payload_bytes": 512,
        "request_payload_sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "created_at": "2026-11-01T10:00:00Z"
    })
}

#[tokio::test]
async fn create_sends_the_body_and_decodes_the_secret() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/webhooks")
                .header_exists("idempotency-key")
                .json_body(json!({
                    "url": "https://hooks.acme.com/sendmux",
                    "event_types": ["message.bounced", "message.received"],
                    "name": "bounces",
                    "enabled": true,
                    "filters": {"mailbox_ids": ["mbx_1"]}
                }));
            reply(then, 201, with_secret("wh_1"));
        })
        .await;
    let created = client(&server)
        .webhooks()
        .create(
            "https://hooks.acme.com/sendmux",
            [MessageBounced, MessageReceived],
        )
        .name("bounces")
        .enabled(true)
        .mailbox_ids(["mbx_1"])
        .await
        .unwrap();
    mock.assert_async().await;
    assert_eq!(created.status(), 201);
    assert_eq!(created.webhook.id, "wh_1");
    assert_eq!(
        created.webhook.event_types,
        [MessageBounced, MessageReceived]
    );
    assert_eq!(created.secret.expose_secret(), SIGNING_SECRET);
}

#[tokio::test]
async fn list_get_if_changed_update_and_delete() {
    let server = MockServer::start_async().await;
    let list = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/webhooks")
                .query_param("limit", "10");
            reply_page(then, vec![webhook("wh_2"), webhook("wh_1")], None);
        })
        .await;
    let (get, unchanged) = conditional_read(&server, "/webhooks/wh_1", webhook("wh_1")).await;
    let update = server
        .mock_async(|when, then| {
            when.method(PATCH)
                .path("/webhooks/wh_1")
                .header("if-match", ETAG)
                .json_body(json!({
                    "url": "https://hooks.acme.com/v2",
                    "event_types": ["message.received"],
                    "name": null,
                    "enabled": false,
                    "filters": {"mailbox_ids": []}
                }));
            reply(then, 200, webhook("wh_1"));
        })
        .await;
    let delete = server
        .mock_async(|when, then| {
            when.method(DELETE).path("/webhooks/wh_1");
            reply(then, 200, json!({"deleted": true, "id": "wh_1"}));
        })
        .await;
    let webhooks = client(&server).webhooks();
    let page = webhooks.list().limit(10).await.unwrap();
    assert_eq!(page.items.len(), 2);
    assert!(!page.has_more);
    let fresh = webhooks.get_if_changed("wh_1", ETAG).await.unwrap();
    assert!(matches!(fresh, Conditional::NotModified(_)));
    let current = webhooks.get("wh_1").await.unwrap();
    assert_eq!(current.name.as_deref(), Some("bounces"));
    webhooks
        .update("wh_1")
        .url("https://hooks.acme.com/v2")
        .event_types([MessageReceived])
        .clear_name()
        .enabled(false)
        .mailbox_ids(Vec::<String>::new())
        .if_match(current.etag().unwrap())
        .await
        .unwrap();
    assert!(webhooks.delete("wh_1").await.unwrap().deleted);
    for mock in [list, unchanged, get, update, delete] {
        mock.assert_calls_async(1).await;
    }
}

#[tokio::test]
async fn deliveries_filter_and_stream_across_pages_then_the_payload() {
    let server = MockServer::start_async().await;
    let first = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/webhooks/wh_1/deliveries")
                .query_param("event_type", "message.bounced")
                .query_param("result", "failed")
                .query_param_missing("cursor");
            reply_page(then, vec![delivery("whd_3"), delivery("whd_2")], Some("d2"));
        })
        .await;
    let second = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/webhooks/wh_1/deliveries")
                .query_param("event_type", "message.bounced")
                .query_param("cursor", "d2");
            reply_page(then, vec![delivery("whd_1")], None);
        })
        .await;
    let payload = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/webhooks/wh_1/deliveries/whd_1/payload");
            let data = json!({
                "id": "whd_1",
                "event_id": "evt_1",
                "event_type": "message.bounced",
                "delivery_attempt": 1,
                "created_at": "2026-11-01T10:00:00Z",
                "expires_at": "2026-11-08T10:00:00Z",
                "payload": {
                    "id": "evt_1",
                    "type": "message.bounced",
                    "occurred_at": "2026-11-01T09:59:58Z",
                    "team_public_id": "team_1",
                    "data": {
                        "message_id": "<a1@mail.acme.com>",
                        "message_id_kind": "rfc5322",
                        "sendmux_message_id": "msg_1",
                        "sender": "agent@mail.acme.com",
                        "recipients": ["someone@example.com"],
                        "mailbox_id": "mbx_1",
                        "bounce_type": "Permanent",
                        "bounce_subtype": "General",
                        "complaint_type": null,
                        "complaint_subtype": null,
                        "reject_reason": null,
                        "delay_type": null,
                        "delay_expires_at": null,
                        "is_spam": null,
                        "webhook_id": "wh_1"
                    }
                }
            });
            reply(then, 200, data);
        })
        .await;
    let webhooks = client(&server).webhooks();
    let failed: Vec<_> = webhooks
        .deliveries("wh_1")
        .event_type(WebhookEventType::MessageBounced)
        .result(ListDeliveryResult::Failed)
        .stream()
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<_> = failed.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["whd_3", "whd_2", "whd_1"]);
    assert_eq!(failed[0].response_status, Some(500));
    let sent = webhooks.delivery_payload("wh_1", "whd_1").await.unwrap();
    assert_eq!(sent.payload.id, "evt_1");
    for mock in [first, second, payload] {
        mock.assert_calls_async(1).await;
    }
}

#[tokio::test]
async fn rotate_and_test_carry_idempotency_keys() {
    let server = MockServer::start_async().await;
    let rotate = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/webhooks/wh_1/rotate-secret")
                .header("idempotency-key", "rotate-7");
            reply(then, 200, with_secret("wh_1"));
        })
        .await;
    let test = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/webhooks/wh_1/test")
                .header_exists("idempotency-key");
            reply(then, 200, json!({"event_id": "evt_test"}));
        })
        .await;
    let webhooks = client(&server).webhooks();
    let rotated = webhooks
        .rotate_secret("wh_1")
        .idempotency_key("rotate-7")
        .await
        .unwrap();
    assert_eq!(rotated.secret.expose_secret(), SIGNING_SECRET);
    assert_eq!(webhooks.test("wh_1").await.unwrap().event_id, "evt_test");
    rotate.assert_async().await;
    test.assert_async().await;
}

#[tokio::test]
async fn invalid_arguments_never_reach_the_server() {
    let server = MockServer::start_async().await;
    let any = server
        .mock_async(|when, then| {
            when.path_includes("/webhooks");
            reply(then, 200, webhook("wh_1"));
        })
        .await;
    let webhooks = client(&server).webhooks();
    let url = "https://hooks.acme.com/x";
    let failures = [
        webhooks
            .create("hooks.acme.com/x", [MessageReceived])
            .await
            .map(drop),
        webhooks
            .create("ftp://hooks.acme.com", [MessageReceived])
            .await
            .map(drop),
        webhooks.create(url, []).await.map(drop),
        webhooks
            .create(url, [MessageReceived])
            .name("")
            .await
            .map(drop),
        webhooks.update("wh_1").url("/relative").await.map(drop),
        webhooks.update("wh_1").event_types([]).await.map(drop),
        webhooks
            .update("wh_1")
            .name("n".repeat(256))
            .await
            .map(drop),
        webhooks.get("").await.map(drop),
        webhooks.delivery_payload("wh_1", "a/b").await.map(drop),
        webhooks.deliveries("wh_1").limit(0).await.map(drop),
        webhooks.rotate_secret(" ").await.map(drop),
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
            "url",
            "url",
            "event_types",
            "name",
            "url",
            "event_types",
            "name",
            "id",
            "delivery_id",
            "limit",
            "id"
        ]
    );
    any.assert_calls_async(0).await;
}

#[tokio::test]
async fn the_signing_secret_is_never_printed() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/webhooks");
            reply(then, 201, with_secret("wh_1"));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/webhooks/wh_1/rotate-secret");
            let mut broken = with_secret("wh_1");
            broken["enabled"] = json!("yes");
            reply(then, 200, broken);
        })
        .await;
    let webhooks = client(&server).webhooks();
    let create = webhooks.create("https://hooks.acme.com/sendmux", [MessageReceived]);
    let request_text = format!("{create:?}");
    let created = create.await.unwrap();
    let error = webhooks.rotate_secret("wh_1").await.unwrap_err();
    let secret = &created.secret;
    for text in [
        format!("{created:?} {created:#?} {secret} {secret:?}"),
        format!("{error} {error:?} {:?}", std::error::Error::source(&error)),
        request_text,
    ] {
        assert!(
            !leaks(&text, &[SIGNING_SECRET, "S1GN1NG"]),
            "leaked: {text}"
        );
    }
    assert_eq!(error.status(), Some(200));
    assert_eq!(created.secret.expose_secret(), SIGNING_SECRET);
}
