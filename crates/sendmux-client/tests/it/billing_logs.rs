//! Billing, email logs and inbox logs: every operation's request with its
//! query parameters, the typed answers, cursor streams and validation.

use futures::TryStreamExt;
use httpmock::prelude::*;
use sendmux_client::Conditional;
use sendmux_client::billing::{SpendWindow, TransactionType};
use sendmux_client::logs::{DeliveryStatus, InboxEventType, MetricsGranularity, MetricsWindow};
use serde_json::{Value, json};

use crate::fixtures::*;

fn transaction(id: &str) -> Value {
    json!({
        "id": id,
        "amount": "-0.0040",
        "type": "USAGE",
        "description": "Outbound email",
        "quantity": 4,
        "balance_before": "25.0000",
        "balance_after": "24.9960",
        "created_at": "2026-11-01T10:00:00Z"
    })
}

fn email_log(id: &str) -> Value {
    json!({
        "id": id,
        "provider_id": "dprov_1",
        "provider_name": "Relay",
        "message_id": "<a1@mail.acme.com>",
        "from_email": "agent@mail.acme.com",
        "sent_from_email": "agent@mail.acme.com",
        "to_email": "someone@example.com",
        "subject": "Your invoice",
        "status": "failed",
        "status_reason": "mailbox full",
        "attempts": 3,
        "sent_at": null,
        "size_bytes": 2048,
        "created_at": "2026-11-01T10:00:00Z",
        "recipient_count": 1,
        "accepted_recipient_count": 0,
        "rejected_recipient_count": 1
    })
}

fn inbox_log(id: &str) -> Value {
    json!({
        "id": id,
        "mailbox_id": "mbx_1",
        "mailbox_email": "agent@mail.acme.com",
        "event_type": "message.received",
        "message_id": "<b2@example.com>",
        "message_id_kind": "rfc5322",
        "from_email": "someone@example.com",
        "to_emails": ["agent@mail.acme.com"],
        "subject": "Hello",
        "size_bytes": 4096,
        "received_at": "2026-11-01T10:00:00Z",
        "is_spam": false,
        "billing_bucket_start": "2026-11-01T00:00:00Z",
        "unit_amount": "0.0010",
        "amount": "0.0010"
    })
}

fn counts(total: u32) -> Value {
    json!({"total": total, "sent": total - 2, "failed": 1, "rejected": 1, "pending": 0})
}

#[tokio::test]
async fn balance_spend_summary_and_transactions() {
    let server = MockServer::start_async().await;
    let balance = server
        .mock_async(|when, then| {
            when.method(GET).path("/billing/balance");
            let data = json!({
                "balance": "24.9960",
                "balance_purchased": "50.0000",
                "balance_consumed": "25.0040",
                "currency": "USD",
                "auto_topup": {"enabled": false, "threshold": null, "amount": null, "monthly_limit": null, "monthly_used": "0.0000"}
            });
            reply(then, 200, data);
        })
        .await;
    let summary = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/billing/summary")
                .query_param("days", "30");
            let data = json!({
                "period_days": 30, "total_purchased": "50.0000", "total_consumed": "25.0040",
                "transaction_count": 6252, "currency": "USD"
            });
            reply(then, 200, data);
        })
        .await;
    let first = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/billing/transactions")
                .query_param("type", "USAGE")
                .query_param_missing("cursor");
            reply_page(
                then,
                vec![transaction("tx_3"), transaction("tx_2")],
                Some("t2"),
            );
        })
        .await;
    let second = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/billing/transactions")
                .query_param("type", "USAGE")
                .query_param("cursor", "t2");
            reply_page(then, vec![transaction("tx_1")], None);
        })
        .await;
    let billing = client(&server).billing();
    assert_eq!(billing.balance().await.unwrap().balance, "24.9960");
    let month = billing
        .spend_summary()
        .days(SpendWindow::X30)
        .await
        .unwrap();
    assert_eq!(month.transaction_count, 6252.0);
    let usage: Vec<_> = billing
        .transactions()
        .kind(TransactionType::Usage)
        .stream()
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<_> = usage.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["tx_3", "tx_2", "tx_1"]);
    assert_eq!(usage[0].type_, TransactionType::Usage);
    for mock in [balance, summary, first, second] {
        mock.assert_calls_async(1).await;
    }
}

#[tokio::test]
async fn email_logs_send_every_filter_and_stream_across_pages() {
    let server = MockServer::start_async().await;
    let filtered = |when: httpmock::When| {
        when.method(GET)
            .path("/emails/logs")
            .query_param("status", "failed")
            .query_param("from_date", "2026-11-01")
            .query_param("to_date", "2026-11-02T00:00:00Z")
            .query_param("provider_id", "dprov_1")
            .query_param("search", "invoice")
            .query_param("limit", "2")
    };
    let first = server
        .mock_async(|when, then| {
            filtered(when).query_param_missing("cursor");
            reply_page(
                then,
                vec![email_log("dlog_3"), email_log("dlog_2")],
                Some("e2"),
            );
        })
        .await;
    let second = server
        .mock_async(|when, then| {
            filtered(when).query_param("cursor", "e2");
            reply_page(then, vec![email_log("dlog_1")], None);
        })
        .await;
    let logs: Vec<_> = client(&server)
        .email_logs()
        .list()
        .status(DeliveryStatus::Failed)
        .from_date("2026-11-01")
        .to_date("2026-11-02T00:00:00Z")
        .provider_id("dprov_1")
        .search("invoice")
        .limit(2)
        .stream()
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<_> = logs.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(ids, ["dlog_3", "dlog_2", "dlog_1"]);
    assert_eq!(logs[0].status, DeliveryStatus::Failed);
    first.assert_calls_async(1).await;
    second.assert_calls_async(1).await;
}

#[tokio::test]
async fn an_email_log_carries_its_etag_and_answers_not_modified() {
    let server = MockServer::start_async().await;
    let mut detail = email_log("dlog_1");
    detail["recipients"] = json!([
        {"email": "someone@example.com", "type": "to", "status": "rejected", "reason": "mailbox full"}
    ]);
    let (get, unchanged) = conditional_read(&server, "/emails/logs/dlog_1", detail).await;
    let logs = client(&server).email_logs();
    let detail = logs.get("dlog_1").await.unwrap();
    assert_eq!(detail.etag(), Some(ETAG));
    assert_eq!(detail.recipients.as_ref().map(Vec::len), Some(1));
    let again = logs.get_if_changed("dlog_1", ETAG).await.unwrap();
    assert!(matches!(again, Conditional::NotModified(ref r) if r.status() == 304));
    get.assert_calls_async(1).await;
    unchanged.assert_calls_async(1).await;
}

#[tokio::test]
async fn metrics_send_their_period_and_filters() {
    let server = MockServer::start_async().await;
    let windowed = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/emails/metrics")
                .query_param("window", "7d")
                .query_param("granularity", "daily")
                .query_param("provider_id", "dprov_1")
                .query_param_missing("from_date");
            let mut comparison = counts(90);
            comparison["change_pct"] = json!({"total": 11.1, "sent": 12.5, "failed": 0.0, "rejected": 0.0, "pending": 0.0});
            let mut point = counts(14);
            point["timestamp"] = json!("2026-11-01T00:00:00Z");
            let data = json!({"summary": counts(100), "comparison": comparison, "timeseries": [point]});
            reply(then, 200, data);
        })
        .await;
    let ranged = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/emails/metrics")
                .query_param("from_date", "2026-10-01")
                .query_param("to_date", "2026-10-31")
                .query_param_missing("window");
            let mut comparison = counts(10);
            comparison["change_pct"] =
                json!({"total": 0.0, "sent": 0.0, "failed": 0.0, "rejected": 0.0, "pending": 0.0});
            let data = json!({"summary": counts(10), "comparison": comparison, "timeseries": []});
            reply(then, 200, data);
        })
        .await;
    let logs = client(&server).email_logs();
    let week = logs
        .metrics()
        .window(MetricsWindow::X7d)
        .granularity(MetricsGranularity::Daily)
        .provider_id("dprov_1")
        .await
        .unwrap();
    assert_eq!(week.summary.total, 100.0);
    assert_eq!(week.timeseries.len(), 1);
    let october = logs
        .metrics()
        .from_date("2026-10-01")
        .to_date("2026-10-31")
        .await
        .unwrap();
    assert!(october.timeseries.is_empty());
    windowed.assert_calls_async(1).await;
    ranged.assert_calls_async(1).await;
}

#[tokio::test]
async fn inbox_logs_filter_stream_and_get() {
    let server = MockServer::start_async().await;
    let first = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/inboxes/logs")
                .query_param("mailbox_id", "mbx_1")
                .query_param("event_type", "message.received")
                .query_param("from_date", "2026-11-01")
                .query_param("to_date", "2026-11-30")
                .query_param("search", "hello")
                .query_param_missing("cursor");
            reply_page(then, vec![inbox_log("ilog_2")], Some("i2"));
        })
        .await;
    let second = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/inboxes/logs")
                .query_param("mailbox_id", "mbx_1")
                .query_param("cursor", "i2");
            reply_page(then, vec![inbox_log("ilog_1")], None);
        })
        .await;
    let get = server
        .mock_async(|when, then| {
            when.method(GET).path("/inboxes/logs/ilog_1");
            reply(then, 200, inbox_log("ilog_1"));
        })
        .await;
    let logs = client(&server).inbox_logs();
    let received: Vec<_> = logs
        .list()
        .mailbox_id("mbx_1")
        .event_type(InboxEventType::MessageReceived)
        .from_date("2026-11-01")
        .to_date("2026-11-30")
        .search("hello")
        .stream()
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<_> = received.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(ids, ["ilog_2", "ilog_1"]);
    let one = logs.get("ilog_1").await.unwrap();
    assert_eq!(one.event_type, InboxEventType::MessageReceived);
    assert_eq!(one.to_emails, ["agent@mail.acme.com"]);
    for mock in [first, second, get] {
        mock.assert_calls_async(1).await;
    }
}

#[tokio::test]
async fn invalid_arguments_never_reach_the_server() {
    let server = MockServer::start_async().await;
    let any = server
        .mock_async(|when, then| {
            when.method(GET);
            reply(then, 200, json!({}));
        })
        .await;
    let client = client(&server);
    let (billing, emails, inbox) = (client.billing(), client.email_logs(), client.inbox_logs());
    let failures = [
        billing.transactions().limit(0).await.map(drop),
        billing.transactions().cursor("").await.map(drop),
        emails.list().search("").await.map(drop),
        emails.list().from_date("").await.map(drop),
        emails.get("dlog 1").await.map(drop),
        emails.get_if_changed("dlog_1", "").await.map(drop),
        emails.metrics().provider_id("").await.map(drop),
        inbox.list().mailbox_id("").await.map(drop),
        inbox.list().limit(500).await.map(drop),
        inbox.get("").await.map(drop),
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
            "limit",
            "cursor",
            "search",
            "from_date",
            "id",
            "etag",
            "provider_id",
            "mailbox_id",
            "limit",
            "id"
        ]
    );
    any.assert_calls_async(0).await;
}
