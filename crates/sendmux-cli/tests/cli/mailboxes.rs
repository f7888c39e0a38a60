//! `sendmux mailboxes` against `sendmux-mock`: the lifecycle in table and
//! JSON output, the key printed once and never again, and paging.
//! Table output is compared with `tests/expected/mailboxes-*.txt`
//! (regenerate with `EXPECTORATE=overwrite`).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use sendmux_mock::{ManualClock, MockServer};
use serde_json::Value;

use crate::support::{Harness, cli, json, ok, row, run};

fn start() -> Harness {
    Harness::start(MockServer::builder().seed(7).clock(ManualClock::default()))
}

fn expect(name: &str, actual: &str) {
    expectorate::assert_contents(format!("tests/expected/mailboxes-{name}.txt"), actual);
}

/// `GET base+path` with `key` as the bearer token, over a plain socket:
/// the whole answer, status line first.
fn get_as(base: &str, key: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let rest = base.strip_prefix("http://").unwrap();
    let (host, prefix) = rest.split_once('/').unwrap();
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(
        stream,
        "GET /{prefix}{path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {key}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

#[test]
fn mailbox_lifecycle_in_table_output() {
    let harness = start();
    let sendmux = |args: &[&str]| ok(cli(&harness, "table").args(args)).stdout;

    let created = ok(cli(&harness, "table").args([
        "mailboxes",
        "create",
        "agent@myagent.mx",
        "--display-name",
        "Agent",
    ]));
    expect("create", &created.stdout);
    let key = row(&created.stdout, "Key");
    assert!(key.starts_with("smx_mbx_"), "{key}");
    assert!(
        created
            .stderr
            .contains("only time the mailbox key is shown"),
        "{}",
        created.stderr
    );
    assert!(!created.stderr.contains(&key), "{}", created.stderr);
    let id = row(&created.stdout, "ID");

    let got = sendmux(&["mailboxes", "get", &id]);
    expect("get", &got);
    assert!(!got.contains(&key), "{got}");
    let listed = sendmux(&["mailboxes", "list"]);
    expect("list", &listed);
    assert!(!listed.contains(&key), "{listed}");

    expect("suspend", &sendmux(&["mailboxes", "suspend", &id]));
    assert_eq!(
        row(&sendmux(&["mailboxes", "get", &id]), "Status"),
        "suspended"
    );
    expect("resume", &sendmux(&["mailboxes", "resume", &id]));
    assert_eq!(
        row(&sendmux(&["mailboxes", "get", &id]), "Status"),
        "active"
    );

    expect(
        "update",
        &sendmux(&[
            "mailboxes",
            "update",
            &id,
            "--quota-bytes",
            "5GiB",
            "--clear-display-name",
        ]),
    );
    expect(
        "available",
        &sendmux(&["mailboxes", "available", "agent@myagent.mx"]),
    );
    expect(
        "filters-set",
        &sendmux(&[
            "mailboxes",
            "filters",
            "set",
            &id,
            "--mode",
            "denylist",
            "--deny",
            "spam.example",
        ]),
    );
    expect(
        "filters-get",
        &sendmux(&["mailboxes", "filters", "get", &id]),
    );

    let issued = ok(cli(&harness, "table").args([
        "mailboxes",
        "keys",
        "create",
        &id,
        "--app-name",
        "ci runner",
    ]));
    let second = row(&issued.stdout, "Key");
    assert!(second.starts_with("smx_mbx_") && second != key, "{second}");
    assert!(
        issued.stderr.contains("only time the mailbox key is shown"),
        "{}",
        issued.stderr
    );
    let key_id = row(&issued.stdout, "Key ID");
    expect(
        "keys-revoke",
        &sendmux(&["mailboxes", "keys", "revoke", &id, &key_id]),
    );

    expect("delete", &sendmux(&["mailboxes", "delete", &id, "--yes"]));
    expect("list-empty", &sendmux(&["mailboxes", "list"]));
}

#[test]
fn the_key_printed_by_create_is_the_working_key_and_never_shown_again() {
    let harness = start();
    let created = json(&harness, &["mailboxes", "create", "agent@myagent.mx"]);
    let key = created["credential"]["secret"].as_str().unwrap().to_owned();
    assert!(key.starts_with("smx_mbx_"), "{created}");
    assert_eq!(created["mailbox"]["email"], "agent@myagent.mx");
    let id = created["mailbox"]["id"].as_str().unwrap().to_owned();

    // The printed key authenticates as the mailbox.
    let me = get_as(&harness.mock().base_url(), &key, "/mailbox/me");
    assert!(me.starts_with("HTTP/1.1 200"), "{me}");
    assert!(me.contains(&id), "{me}");

    for args in [
        &["mailboxes", "get", &id][..],
        &["mailboxes", "list", "--all"],
        &["mailboxes", "suspend", &id],
        &["mailboxes", "resume", &id],
    ] {
        let outcome = ok(cli(&harness, "json").args(args));
        assert!(
            !outcome.stdout.contains(&key),
            "{args:?}: {}",
            outcome.stdout
        );
        assert!(
            !outcome.stderr.contains(&key),
            "{args:?}: {}",
            outcome.stderr
        );
    }
}

#[test]
fn verbose_create_never_logs_the_key() {
    let harness = start();
    let outcome =
        ok(cli(&harness, "json").args(["--verbose", "mailboxes", "create", "agent@myagent.mx"]));
    let created: Value = serde_json::from_str(&outcome.stdout).unwrap();
    let key = created["credential"]["secret"].as_str().unwrap();
    assert!(
        outcome.stderr.contains("sendmux.call") || outcome.stderr.contains("DEBUG"),
        "--verbose printed no log: {}",
        outcome.stderr
    );
    assert!(!outcome.stderr.contains(key), "{}", outcome.stderr);
    assert_eq!(outcome.stdout.matches(key).count(), 1, "{}", outcome.stdout);

    let issued = ok(cli(&harness, "json").args([
        "--verbose",
        "mailboxes",
        "keys",
        "create",
        created["mailbox"]["id"].as_str().unwrap(),
        "--app-name",
        "ci",
    ]));
    let second: Value = serde_json::from_str(&issued.stdout).unwrap();
    let second = second["secret"].as_str().unwrap();
    assert!(second.starts_with("smx_mbx_"));
    assert!(!issued.stderr.contains(second), "{}", issued.stderr);
}

#[test]
fn a_page_says_how_to_get_the_next_one() {
    let harness = start();
    for email in ["one@myagent.mx", "two@myagent.mx"] {
        json(&harness, &["mailboxes", "create", email]);
    }
    // A table says on stderr how to read on; JSON carries the cursor.
    let first = ok(cli(&harness, "table").args(["mailboxes", "list", "--limit", "1"]));
    let hint = first
        .stderr
        .lines()
        .find(|line| line.contains("--cursor"))
        .unwrap_or_else(|| panic!("no cursor hint: {}", first.stderr));
    assert!(hint.contains("sendmux"), "{hint}");
    assert!(hint.contains("mailboxes list"), "{hint}");
    assert!(hint.contains("--limit 1"), "{hint}");
    assert!(!hint.contains("smx_root_cli_tests"), "{hint}");
    let cursor = hint
        .split("--cursor ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap();

    let page = json(&harness, &["mailboxes", "list", "--limit", "1"]);
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");
    assert_eq!(page["next_cursor"], cursor, "{page}");
    let next = json(
        &harness,
        &["mailboxes", "list", "--limit", "1", "--cursor", cursor],
    );
    assert_eq!(next["items"].as_array().unwrap().len(), 1);
    assert_ne!(next["items"][0]["id"], page["items"][0]["id"]);
    assert_eq!(next["next_cursor"], Value::Null, "{next}");
    let all = json(&harness, &["mailboxes", "list", "--all", "--limit", "1"]);
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
}

#[test]
fn bad_input_is_refused_before_anything_is_sent() {
    let harness = start();
    for args in [
        &[
            "mailboxes",
            "create",
            "agent@myagent.mx",
            "--quota-bytes",
            "2GiB",
        ][..],
        &[
            "mailboxes",
            "create",
            "agent@myagent.mx",
            "--send-scope",
            "some",
        ],
        &["mailboxes", "update", "mbx_1"],
        &["mailboxes", "delete", "mbx_1"],
        &["mailboxes", "filters", "set", "mbx_1"],
    ] {
        let outcome = run(cli(&harness, "table").args(args).write_stdin(""));
        assert_eq!(outcome.code, 2, "{args:?}: {}", outcome.stderr);
    }
    assert!(harness.mock().requests().is_empty());

    let missing = run(cli(&harness, "table").args(["mailboxes", "get", "mbx_missing"]));
    assert_eq!(missing.code, 3, "{}", missing.stderr);
    assert!(
        missing.stderr.starts_with("error: not_found"),
        "{}",
        missing.stderr
    );
}
