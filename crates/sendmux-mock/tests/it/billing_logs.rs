//! Seeded billing, email (delivery) logs, inbox logs and email metrics.
//!
//! The server clock is fixed at 2026-01-01T00:00:00Z (`ManualClock`'s
//! default), so the seeded data and every window below are known.

use std::collections::HashSet;

use http::Method;
use sendmux_mock::{ManualClock, MockServer};
use serde_json::Value;

use crate::harness::{Api, assert_no_violations};

/// 2026-01-01T00:00:00Z minus one, seven, thirty and ninety days.
const NOW: &str = "2026-01-01T00:00:00Z";
const DAY_AGO: &str = "2025-12-31T00:00:00Z";
const WEEK_AGO: &str = "2025-12-25T00:00:00Z";
const MONTH_AGO: &str = "2025-12-02T00:00:00Z";
const QUARTER_AGO: &str = "2025-10-03T00:00:00Z";

async fn start(seed: u64) -> (MockServer, Api) {
    let server = MockServer::builder()
        .seed(seed)
        .clock(ManualClock::default())
        .self_check(true)
        .start()
        .await
        .unwrap();
    let api = Api::new(&server);
    (server, api)
}

/// Percent-encodes a query value.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Every item of a list, following `next_cursor`; asserts each page's
/// `has_more` and that no item comes twice.
async fn all(api: &Api, path: &str) -> Vec<Value> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut items = Vec::new();
    let mut url = path.to_owned();
    loop {
        let r = api.get(&url).await;
        assert_eq!(r.status, 200, "{url}: {}", String::from_utf8_lossy(&r.body));
        let v = r.json();
        items.extend(v["data"].as_array().unwrap().iter().cloned());
        match v["pagination"]["next_cursor"].as_str() {
            Some(cursor) => {
                assert_eq!(v["pagination"]["has_more"], true);
                url = format!("{path}{sep}cursor={cursor}");
            }
            None => {
                assert_eq!(v["pagination"]["has_more"], false);
                break;
            }
        }
    }
    let ids: HashSet<&str> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), items.len(), "{path}: an item came twice");
    items
}

/// A decimal USD string as micro-dollars.
fn micros(s: &Value) -> i64 {
    let s = s.as_str().unwrap();
    let (neg, s) = s.strip_prefix('-').map_or((false, s), |rest| (true, rest));
    let (whole, frac) = s.split_once('.').unwrap();
    assert_eq!(frac.len(), 6, "{s}");
    let v = whole.parse::<i64>().unwrap() * 1_000_000 + frac.parse::<i64>().unwrap();
    if neg { -v } else { v }
}

fn str_at<'v>(v: &'v Value, key: &str) -> &'v str {
    v[key].as_str().unwrap_or("")
}

#[tokio::test]
async fn transactions_page_once_newest_first_and_filter_by_type() {
    let (server, api) = start(21).await;
    let first = api.get("/billing/transactions").await.json();
    assert_eq!(
        first["data"].as_array().unwrap().len(),
        25,
        "default page size"
    );
    let txs = all(&api, "/billing/transactions?limit=7").await;
    assert_eq!(txs.len(), 40);
    for pair in txs.windows(2) {
        assert!(str_at(&pair[0], "created_at") >= str_at(&pair[1], "created_at"));
        assert_eq!(pair[0]["balance_before"], pair[1]["balance_after"]);
    }
    assert!(str_at(&txs[0], "created_at") < NOW);
    let mut total = 0;
    for kind in ["PURCHASE", "USAGE", "AUTO_TOPUP", "REFUND", "ADJUSTMENT"] {
        let some = all(
            &api,
            &format!("/billing/transactions?type={kind}&limit=100"),
        )
        .await;
        assert!(some.iter().all(|t| t["type"] == kind), "{kind}");
        let want = txs.iter().filter(|t| t["type"] == kind).count();
        assert_eq!(some.len(), want, "{kind}");
        total += some.len();
    }
    assert_eq!(total, 40);
    api.get("/billing/transactions?type=GIFT")
        .await
        .assert_error(400, "invalid_parameter");
    assert_no_violations(&server);
}

#[tokio::test]
async fn balance_and_spend_summary_add_up_the_ledger() {
    let (server, api) = start(21).await;
    let balance = api.get("/billing/balance").await.json()["data"].clone();
    let txs = all(&api, "/billing/transactions?limit=100").await;
    let sums = |since: &str| {
        txs.iter()
            .filter(|t| str_at(t, "created_at") >= since)
            .fold((0, 0, 0), |(plus, minus, n), t| {
                let a = micros(&t["amount"]);
                if a >= 0 {
                    (plus + a, minus, n + 1)
                } else {
                    (plus, minus - a, n + 1)
                }
            })
    };
    let (purchased, consumed, _) = sums("");
    assert_eq!(micros(&balance["balance_purchased"]), purchased);
    assert_eq!(micros(&balance["balance_consumed"]), consumed);
    assert_eq!(micros(&balance["balance"]), purchased - consumed);
    assert_eq!(balance["balance"], txs[0]["balance_after"]);
    assert_eq!(balance["currency"], "USD");

    for (query, since, days) in [
        ("?days=7", WEEK_AGO, 7),
        ("?days=30", MONTH_AGO, 30),
        ("", MONTH_AGO, 30),
        ("?days=90", QUARTER_AGO, 90),
    ] {
        let s = api.get(&format!("/billing/summary{query}")).await.json()["data"].clone();
        let (plus, minus, n) = sums(since);
        assert_eq!(s["period_days"], days, "{query}");
        assert_eq!(micros(&s["total_purchased"]), plus, "{query}");
        assert_eq!(micros(&s["total_consumed"]), minus, "{query}");
        assert_eq!(s["transaction_count"], n, "{query}");
    }
    // The ledger spans 100 days: 90 do not hold it all.
    assert!(sums(QUARTER_AGO).2 < 40);
    api.get("/billing/summary?days=5")
        .await
        .assert_error(400, "invalid_parameter");
    assert_no_violations(&server);
}

#[tokio::test]
async fn email_logs_page_once_and_every_filter_narrows() {
    let (server, api) = start(21).await;
    let first = api.get("/emails/logs").await.json();
    assert_eq!(
        first["data"].as_array().unwrap().len(),
        25,
        "default page size"
    );
    let logs = all(&api, "/emails/logs?limit=100").await;
    assert_eq!(logs.len(), 120);
    assert!(
        logs.iter()
            .all(|l| str_at(l, "created_at") >= MONTH_AGO && str_at(l, "created_at") < NOW)
    );
    assert!(
        logs.iter().all(|l| l.get("recipients").is_none()),
        "lists carry no recipients"
    );

    let mut total = 0;
    for status in ["pending", "sent", "failed", "rejected"] {
        let some = all(&api, &format!("/emails/logs?status={status}&limit=100")).await;
        assert!(!some.is_empty(), "{status}");
        assert!(some.iter().all(|l| l["status"] == status));
        assert_eq!(
            some.len(),
            logs.iter().filter(|l| l["status"] == status).count()
        );
        total += some.len();
    }
    assert_eq!(total, 120);

    // A date range: whole UTC days, both ends included.
    let ranged = all(
        &api,
        "/emails/logs?from_date=2025-12-20&to_date=2025-12-24&limit=100",
    )
    .await;
    let want: Vec<&Value> = logs
        .iter()
        .filter(|l| {
            let at = str_at(l, "created_at");
            ("2025-12-20T00:00:00Z".."2025-12-25T00:00:00Z").contains(&at)
        })
        .collect();
    assert!(!want.is_empty());
    assert_eq!(ranged.iter().collect::<Vec<_>>(), want);

    // One sending account.
    let provider = logs.iter().find_map(|l| l["provider_id"].as_str()).unwrap();
    let mine = all(
        &api,
        &format!("/emails/logs?provider_id={provider}&limit=100"),
    )
    .await;
    assert!(mine.iter().all(|l| l["provider_id"] == provider));
    assert_eq!(
        mine.len(),
        logs.iter().filter(|l| l["provider_id"] == provider).count()
    );
    assert!(mine.len() < 120);

    // Free text over addresses, subject and message id, any case.
    let target = &logs[17];
    for needle in [
        str_at(target, "to_email"),
        str_at(target, "message_id"),
        str_at(target, "subject"),
    ] {
        let found = all(
            &api,
            &format!(
                "/emails/logs?search={}&limit=100",
                enc(&needle.to_uppercase())
            ),
        )
        .await;
        assert!(found.iter().any(|l| l["id"] == target["id"]), "{needle}");
        let needle = needle.to_lowercase();
        assert!(found.iter().all(|l| {
            [
                "to_email",
                "from_email",
                "sent_from_email",
                "subject",
                "message_id",
            ]
            .iter()
            .any(|k| str_at(l, k).to_lowercase().contains(&needle))
        }));
    }
    assert!(
        all(&api, "/emails/logs?search=nothing-like-this")
            .await
            .is_empty()
    );

    for bad in [
        "status=lost",
        "from_date=yesterday",
        "to_date=2026-02-30",
        "from_date=2025-12-24&to_date=2025-12-20",
    ] {
        api.get(&format!("/emails/logs?{bad}"))
            .await
            .assert_error(400, "invalid_parameter");
    }
    assert_no_violations(&server);
}

#[tokio::test]
async fn one_email_log_with_recipients_and_its_etag() {
    let (server, api) = start(21).await;
    let logs = all(&api, "/emails/logs?status=sent&limit=100").await;
    let id = str_at(&logs[0], "id");
    let path = format!("/emails/logs/{id}");
    let r = api.get(&path).await;
    assert_eq!(r.status, 200);
    let d = r.json()["data"].clone();
    let recipients = d["recipients"].as_array().unwrap();
    assert_eq!(d["recipient_count"], recipients.len());
    assert_eq!(recipients[0]["email"], d["to_email"]);
    assert!(recipients.iter().all(|r| r["status"] == "accepted"));
    // The detail is the list item plus its recipients.
    let mut item = d.clone();
    item.as_object_mut().unwrap().remove("recipients");
    assert_eq!(item, logs[0]);
    let etag = r.header("etag").unwrap().to_owned();
    let again = api
        .call(Method::GET, &path)
        .header("if-none-match", &etag)
        .send()
        .await;
    assert_eq!(again.status, 304);
    let pending = all(&api, "/emails/logs?status=pending").await;
    let p = api
        .get(&format!("/emails/logs/{}", str_at(&pending[0], "id")))
        .await
        .json();
    assert_eq!(p["data"]["recipients"], Value::Null);
    assert_eq!(p["data"]["recipient_count"], Value::Null);
    api.get("/emails/logs/dlog_missing")
        .await
        .assert_error(404, "not_found");
    // Another team has its own logs and cannot read these.
    Api::with_key(&server, Some("smx_root_other"))
        .get(&path)
        .await
        .assert_error(404, "not_found");
    assert_no_violations(&server);
}

#[tokio::test]
async fn inbox_logs_page_once_and_filter() {
    let (server, api) = start(21).await;
    let logs = all(&api, "/inboxes/logs?limit=9").await;
    assert_eq!(logs.len(), 60);
    let spam = all(
        &api,
        "/inboxes/logs?event_type=message.received.spam&limit=100",
    )
    .await;
    assert!(!spam.is_empty());
    assert!(
        spam.iter()
            .all(|l| l["is_spam"] == true && l["event_type"] == "message.received.spam")
    );
    let ham = all(&api, "/inboxes/logs?event_type=message.received&limit=100").await;
    assert_eq!(spam.len() + ham.len(), 60);
    let mailbox = str_at(&logs[0], "mailbox_id");
    let one = all(
        &api,
        &format!("/inboxes/logs?mailbox_id={mailbox}&limit=100"),
    )
    .await;
    assert_eq!(
        one.len(),
        logs.iter().filter(|l| l["mailbox_id"] == mailbox).count()
    );
    assert!(one.len() < 60);
    let sender = str_at(&logs[5], "from_email");
    let found = all(&api, &format!("/inboxes/logs?search={}", enc(sender))).await;
    assert!(found.iter().any(|l| l["id"] == logs[5]["id"]));
    assert!(
        found
            .iter()
            .all(|l| str_at(l, "from_email").contains(sender)
                || str_at(l, "mailbox_email").contains(sender))
    );
    let week = all(
        &api,
        &format!("/inboxes/logs?from_date={}&limit=100", enc(WEEK_AGO)),
    )
    .await;
    assert_eq!(
        week.len(),
        logs.iter()
            .filter(|l| str_at(l, "received_at") >= WEEK_AGO)
            .count()
    );
    let r = api
        .get(&format!("/inboxes/logs/{}", str_at(&logs[3], "id")))
        .await;
    assert_eq!(r.json()["data"], logs[3]);
    api.get("/inboxes/logs/ilog_missing")
        .await
        .assert_error(404, "not_found");
    api.get("/inboxes/logs?event_type=bounce")
        .await
        .assert_error(400, "invalid_parameter");
    assert_no_violations(&server);
}

/// Counts by status of `logs`, in the metrics' field order.
fn counts(logs: &[Value]) -> [u64; 5] {
    let n = |s: &str| logs.iter().filter(|l| l["status"] == s).count() as u64;
    [
        logs.len() as u64,
        n("sent"),
        n("failed"),
        n("rejected"),
        n("pending"),
    ]
}

fn metric_counts(v: &Value) -> [u64; 5] {
    ["total", "sent", "failed", "rejected", "pending"].map(|k| v[k].as_u64().unwrap())
}

#[tokio::test]
async fn metrics_count_what_the_list_returns() {
    let (server, api) = start(21).await;
    for (window, since, granularity, buckets) in [
        ("24h", DAY_AGO, "hourly", 25),
        ("7d", WEEK_AGO, "daily", 8),
        ("30d", MONTH_AGO, "daily", 31),
        ("30d", MONTH_AGO, "hourly", 721),
    ] {
        let m = api
            .get(&format!(
                "/emails/metrics?window={window}&granularity={granularity}"
            ))
            .await
            .json()["data"]
            .clone();
        let listed = all(
            &api,
            &format!(
                "/emails/logs?from_date={}&to_date={}&limit=100",
                enc(since),
                enc(NOW)
            ),
        )
        .await;
        assert_eq!(metric_counts(&m["summary"]), counts(&listed), "{window}");
        let series = m["timeseries"].as_array().unwrap();
        assert_eq!(series.len(), buckets, "{window} {granularity}");
        let mut sum = [0; 5];
        for b in series {
            for (s, c) in sum.iter_mut().zip(metric_counts(b)) {
                *s += c;
            }
        }
        assert_eq!(
            sum,
            counts(&listed),
            "{window} {granularity}: the series adds up"
        );
    }
    // The 30-day window holds every seeded log.
    let month = api.get("/emails/metrics?window=30d").await.json()["data"].clone();
    assert_eq!(month["summary"]["total"], 120);

    // The comparison is the week before, counted the same way.
    let week = api.get("/emails/metrics?window=7d").await.json()["data"].clone();
    let before = all(
        &api,
        "/emails/logs?from_date=2025-12-18T00:00:00Z&to_date=2025-12-24T23:59:59Z&limit=100",
    )
    .await;
    assert_eq!(metric_counts(&week["comparison"]), counts(&before));
    let (now, was) = (
        counts(&all(&api, &format!("/emails/logs?from_date={}", enc(WEEK_AGO))).await)[0],
        counts(&before)[0],
    );
    let pct = week["comparison"]["change_pct"]["total"].as_f64().unwrap();
    let want = if was == 0 {
        100.0
    } else {
        ((now as f64 - was as f64) / was as f64 * 1000.0).round() / 10.0
    };
    assert_eq!(pct, want);

    // An explicit range and one sending account, on both sides.
    let logs = all(&api, "/emails/logs?limit=100").await;
    let provider = logs.iter().find_map(|l| l["provider_id"].as_str()).unwrap();
    let q = format!("from_date=2025-12-10&to_date=2025-12-20&provider_id={provider}");
    let m = api.get(&format!("/emails/metrics?{q}")).await.json()["data"].clone();
    let listed = all(&api, &format!("/emails/logs?{q}&limit=100")).await;
    assert!(!listed.is_empty());
    assert_eq!(metric_counts(&m["summary"]), counts(&listed));
    assert_eq!(m["timeseries"].as_array().unwrap().len(), 11);
    assert_eq!(m["timeseries"][0]["timestamp"], "2025-12-10T00:00:00Z");

    for bad in [
        "window=1y",
        "granularity=weekly",
        "from_date=2025-01-01&granularity=hourly",
        "from_date=2026-02-01",
    ] {
        api.get(&format!("/emails/metrics?{bad}"))
            .await
            .assert_error(400, "invalid_parameter");
    }
    assert_no_violations(&server);
}

#[tokio::test]
async fn same_seed_same_data_and_another_seed_or_team_other_data() {
    let paths = [
        "/billing/transactions?limit=100",
        "/emails/logs?limit=100",
        "/inboxes/logs?limit=100",
    ];
    let data = |api: Api| async move {
        let mut out = Vec::new();
        for path in paths {
            out.push(api.get(path).await.json()["data"].clone());
        }
        out.push(api.get("/billing/balance").await.json()["data"].clone());
        out
    };
    let (a, api_a) = start(21).await;
    // Another team asks first: it must not change this team's data.
    Api::with_key(&a, Some("smx_root_first"))
        .get("/emails/logs")
        .await;
    let (_b, api_b) = start(21).await;
    let (_c, api_c) = start(22).await;
    let one = data(api_a).await;
    assert_eq!(one, data(api_b).await);
    let other_seed = data(api_c).await;
    for (x, y) in one.iter().zip(&other_seed) {
        assert_ne!(x, y);
    }
    let other_team = data(Api::with_key(&a, Some("smx_root_first"))).await;
    for (x, y) in one.iter().zip(&other_team) {
        assert_ne!(x, y);
    }
    assert_no_violations(&a);
}
