//! `sendmux billing` and `sendmux logs` against `sendmux-mock`'s seeded
//! balance, transactions and logs (the same for one seed, team and clock).
//! Table output is compared with `tests/expected/billing-*.txt` and
//! `tests/expected/logs-*.txt` (regenerate with `EXPECTORATE=overwrite`).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use sendmux_mock::{ManualClock, MockServer};
use serde_json::Value;

use crate::support::{Harness, cli, json, ok, run};

fn start() -> Harness {
    Harness::start(MockServer::builder().seed(7).clock(ManualClock::default()))
}

fn table(harness: &Harness, args: &[&str]) -> String {
    ok(cli(harness, "table").args(args)).stdout
}

fn expect(name: &str, actual: &str) {
    expectorate::assert_contents(format!("tests/expected/{name}.txt"), actual);
}

/// The ids of a `-o json` list's items.
fn ids(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn billing_tables() {
    let harness = start();
    expect("billing-balance", &table(&harness, &["billing", "balance"]));
    expect(
        "billing-spend",
        &table(&harness, &["billing", "spend", "--days", "30"]),
    );
    let page = ok(cli(&harness, "table").args(["billing", "transactions", "--limit", "3"]));
    expect("billing-transactions", &page.stdout);
    assert!(page.stderr.contains("--cursor"), "{}", page.stderr);

    let purchases = json(
        &harness,
        &["billing", "transactions", "--type", "purchase", "--all"],
    );
    let purchases = purchases["items"].as_array().unwrap();
    assert!(!purchases.is_empty());
    for transaction in purchases {
        assert_eq!(transaction["type"], "PURCHASE", "{transaction}");
    }
    let bad = run(cli(&harness, "table").args(["billing", "spend", "--days", "14"]));
    assert_eq!(bad.code, 2, "{}", bad.stderr);
}

#[test]
fn log_tables() {
    let harness = start();
    let emails = ok(cli(&harness, "table").args(["logs", "emails", "--limit", "5"]));
    expect("logs-emails", &emails.stdout);
    assert!(
        emails.stderr.contains("logs emails --limit 5 --cursor"),
        "{}",
        emails.stderr
    );

    let listed = json(&harness, &["logs", "emails", "--limit", "40"]);
    // A log that was sent, so it has recipients to show.
    let sent = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|log| log["status"] == "sent")
        .unwrap();
    let one = table(&harness, &["logs", "email", sent["id"].as_str().unwrap()]);
    expect("logs-email", &one);
    assert!(one.contains("Recipients:"), "{one}");

    expect(
        "logs-metrics",
        &table(
            &harness,
            &[
                "logs",
                "metrics",
                "--window",
                "7d",
                "--granularity",
                "daily",
            ],
        ),
    );
    expect(
        "logs-inbox",
        &table(&harness, &["logs", "inbox", "--limit", "5"]),
    );
    let inbox = json(&harness, &["logs", "inbox", "--limit", "1"]);
    expect(
        "logs-inbox-get",
        &table(
            &harness,
            &[
                "logs",
                "inbox-get",
                inbox["items"][0]["id"].as_str().unwrap(),
            ],
        ),
    );
}

#[test]
fn log_filters_reach_the_api() {
    let harness = start();
    let failed = json(&harness, &["logs", "emails", "--status", "failed", "--all"]);
    assert!(!failed["items"].as_array().unwrap().is_empty());
    for log in failed["items"].as_array().unwrap() {
        assert_eq!(log["status"], "failed", "{log}");
    }
    let spam = json(
        &harness,
        &[
            "logs",
            "inbox",
            "--event-type",
            "message.received.spam",
            "--all",
        ],
    );
    for log in spam["items"].as_array().unwrap() {
        assert_eq!(log["event_type"], "message.received.spam", "{log}");
    }
    let bad_date = run(cli(&harness, "table").args(["logs", "emails", "--from-date", "yesterday"]));
    assert_eq!(bad_date.code, 3, "{}", bad_date.stderr);
    assert!(bad_date.stderr.contains("from_date"), "{}", bad_date.stderr);
}

#[test]
fn tail_prints_the_newest_logs_oldest_first_and_each_once() {
    let harness = start();
    let newest = ids(&json(&harness, &["logs", "emails", "--limit", "3"]));

    let tailed = ok(cli(&harness, "json").args([
        "logs",
        "tail",
        "--lines",
        "3",
        "--interval",
        "10ms",
        "--max-polls",
        "3",
    ]));
    let lines: Vec<Value> = tailed
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let printed: Vec<String> = lines
        .iter()
        .map(|log| log["id"].as_str().unwrap().to_owned())
        .collect();
    let mut oldest_first = newest.clone();
    oldest_first.reverse();
    assert_eq!(printed, oldest_first, "{}", tailed.stdout);
    let polls = harness
        .mock()
        .requests()
        .iter()
        .filter(|r| r.operation.as_deref() == Some("managementListEmailLogs"))
        .count();
    assert_eq!(polls, 1 + 3, "one list call above, then one per poll");

    let as_table = table(
        &harness,
        &[
            "logs",
            "tail",
            "--lines",
            "3",
            "--interval",
            "10ms",
            "--max-polls",
            "1",
        ],
    );
    expect("logs-tail", &as_table);
}
