//! `sendmux send` against `sendmux-mock`'s Sending API: a mailbox set up
//! through the Management API with the root key, then sends with its key.
//! Single sends (attachments, refusals before anything is sent, a lost
//! answer, an unknown outcome finished by the printed command) and
//! batches (three requests of at most 100 with their own keys, refused
//! lines, malformed lines, an unknown outcome). The table output of a send
//! is compared with `tests/expected/send.txt` (regenerate with
//! `EXPECTORATE=overwrite`).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::Path;

use assert_cmd::Command;
use sendmux_client::RetryPolicy;
use sendmux_client::operations::ops;
use sendmux_mock::{FaultConfig, FaultKind, FaultRule, MockServer};
use serde_json::Value;

use crate::support::{Harness, bare_sendmux, ok, run, start_with_mailbox};

const ROOT_KEY: &str = "smx_root_send_tests";
const FROM: &str = "agent@mail.acme.com";

/// The mock with a verified `mail.acme.com` and the mailbox `FROM`,
/// made through its API with the root key; and that mailbox's key.
fn start() -> (Harness, String) {
    start_with_mailbox(MockServer::builder().seed(7), ROOT_KEY, FROM)
}

/// `sendmux` pointed at both of the mock's listeners, with `key`.
fn sendmux(harness: &Harness, key: &str) -> Command {
    let mut command = sendmux_without_key(harness);
    command.args(["--api-key", key]);
    command
}

fn sendmux_without_key(harness: &Harness) -> Command {
    let mut command = bare_sendmux();
    command.env_remove("SENDMUX_SENDING_BASE_URL").args([
        "--base-url",
        &harness.mock().base_url(),
        "--sending-base-url",
        &harness.mock().sending_base_url(),
    ]);
    command
}

/// The flags of a simple send to Ada.
const HELLO: [&str; 8] = [
    "--from",
    FROM,
    "--to",
    "ada@example.com",
    "--subject",
    "Hello",
    "--html",
    "<p>Hello Ada</p>",
];

/// Requests of the Sending API the mock saw for `operation`.
fn requests_of(harness: &Harness, operation: &str) -> Vec<sendmux_mock::RequestRecord> {
    harness
        .mock()
        .requests()
        .into_iter()
        .filter(|r| r.operation.as_deref() == Some(operation))
        .collect()
}

/// Whether any request reached the Sending API's port.
fn sending_requests(harness: &Harness) -> usize {
    let port = harness.mock().sending_addr().port();
    harness
        .mock()
        .requests()
        .iter()
        .filter(|r| r.port == port)
        .count()
}

/// A rule on one operation.
fn rule(kind: FaultKind, operation: &str) -> FaultRule {
    FaultRule::new(kind, 1.0).on_operation(operation)
}

/// Faults that let the last attempt of a call commit and lose its answer,
/// every earlier attempt closed before the handler: the client's retries
/// cannot learn the outcome.
fn lost_after_every_retry(operation: &str) -> FaultConfig {
    let retries = u64::from(RetryPolicy::default().max_attempts() - 1);
    FaultConfig {
        rules: vec![
            rule(FaultKind::CloseBeforeHandler, operation).times(retries),
            rule(FaultKind::CloseAfterCommit, operation),
        ],
    }
}

/// The words of a command line as `failure::repeat_command` quotes them.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let (mut quoted, mut started) = (false, false);
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => (quoted, started) = (!quoted, true),
            '\\' if !quoted => {
                word.extend(chars.next());
                started = true;
            }
            c if c.is_whitespace() && !quoted => {
                if started {
                    words.push(std::mem::take(&mut word));
                    started = false;
                }
            }
            c => {
                word.push(c);
                started = true;
            }
        }
    }
    if started {
        words.push(word);
    }
    words
}

/// The command printed on the line after the one containing `marker`.
fn printed_command(stderr: &str, marker: &str) -> Vec<String> {
    let mut lines = stderr.lines();
    lines.find(|line| line.contains(marker)).unwrap();
    let words = shell_words(lines.next().unwrap());
    assert_eq!(words[0], "sendmux", "{stderr}");
    words[1..].to_vec()
}

/// The value after `--idempotency-key` in `words`.
fn key_in(words: &[String]) -> String {
    let at = words.iter().position(|w| w == "--idempotency-key").unwrap();
    words[at + 1].clone()
}

/// Writes `lines` as a JSON-lines file in `dir`.
fn batch_file(dir: &Path, lines: &[String]) -> String {
    let path = dir.join("batch.jsonl");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path.to_str().unwrap().to_owned()
}

fn line_to(n: usize) -> String {
    serde_json::json!({
        "from": FROM,
        "to": format!("reader{n}@example.com"),
        "subject": format!("Issue {n}"),
        "html": format!("<p>Issue {n}</p>"),
    })
    .to_string()
}

/// The JSON result lines of a batch.
fn results(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[test]
fn a_send_prints_its_message_id_and_the_outbox_has_it_once() {
    let (harness, key) = start();
    let table = ok(sendmux(&harness, &key)
        .args(["-o", "table", "send"])
        .args(HELLO));
    expectorate::assert_contents("tests/expected/send.txt", &table.stdout);
    let outbox = harness.mock().outbox();
    assert_eq!(outbox.len(), 1);
    assert!(table.stdout.contains(&outbox[0].id), "{}", table.stdout);
    assert_eq!(
        (outbox[0].from.as_str(), outbox[0].to.as_str()),
        (FROM, "ada@example.com")
    );
    let generated = outbox[0].idempotency_key.as_deref().unwrap();
    assert!(generated.starts_with("sendmux-rust-"), "{generated}");

    let json = ok(sendmux(&harness, &key)
        .args(["-o", "json", "send", "--cc", "Grace <grace@example.com>"])
        .args(["--header", "X-Campaign: welcome", "--text", "Hello Ada"])
        .args(HELLO));
    let sent: Value = serde_json::from_str(&json.stdout).unwrap();
    let outbox = harness.mock().outbox();
    assert_eq!(outbox.len(), 2);
    assert_eq!(sent["message_id"], outbox[1].id.as_str());
    assert_eq!(sent["status"], "queued");
    assert_eq!(outbox[1].cc, ["grace@example.com"]);
}

#[test]
fn attach_uploads_the_file_then_sends_it_by_id() {
    let (harness, key) = start();
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.txt");
    std::fs::write(&report, "total: 42\n").unwrap();
    let outcome = ok(sendmux(&harness, &key)
        .args(["-o", "json", "send", "--attach", report.to_str().unwrap()])
        .args(["--idempotency-key", "report-42"])
        .args(HELLO));
    let sent: Value = serde_json::from_str(&outcome.stdout).unwrap();
    let outbox = harness.mock().outbox();
    assert_eq!(outbox.len(), 1);
    assert_eq!(sent["message_id"], outbox[0].id.as_str());
    assert_eq!(outbox[0].attachments, ["report.txt"]);
    assert_eq!(outbox[0].idempotency_key.as_deref(), Some("report-42"));
    let uploads = requests_of(&harness, ops::SENDING_UPLOAD_ATTACHMENT.id);
    assert_eq!(uploads.len(), 1);
    assert_eq!(
        uploads[0].idempotency_key.as_deref(),
        Some("report-42.file0")
    );
}

#[test]
fn bad_input_exits_2_before_anything_is_sent() {
    let (harness, key) = start();
    let refused = |args: &[&str], says: &str| {
        let outcome = run(sendmux(&harness, &key).arg("send").args(args));
        assert_eq!(outcome.code, 2, "{args:?}: {}", outcome.stderr);
        assert!(
            outcome.stderr.contains(says),
            "{args:?}: {}",
            outcome.stderr
        );
        assert!(outcome.stdout.is_empty(), "{}", outcome.stdout);
    };
    let mut no_subject = HELLO.to_vec();
    no_subject.drain(4..6);
    refused(&no_subject, "--subject");
    let mut bad_to = HELLO.to_vec();
    bad_to[3] = "ada.example.com";
    refused(&bad_to, "nothing was sent");
    let mut no_body = HELLO.to_vec();
    no_body.drain(6..);
    refused(&no_body, "--html");
    let header = [HELLO.as_slice(), &["--header", "X-Campaign welcome"]].concat();
    refused(&header, "X-Name: value");
    let header = [HELLO.as_slice(), &["--header", "Campaign: welcome"]].concat();
    refused(&header, "custom_headers.Campaign");
    let attach = [HELLO.as_slice(), &["--attach", "no-such-file.pdf"]].concat();
    refused(&attach, "no-such-file.pdf");
    let key_flag = [HELLO.as_slice(), &["--idempotency-key", "has space"]].concat();
    refused(&key_flag, "idempotency_key");
    assert!(harness.mock().outbox().is_empty());
    assert_eq!(sending_requests(&harness), 0);
}

#[test]
fn a_root_key_is_refused_with_a_usage_error() {
    let (harness, _) = start();
    let outcome = run(sendmux(&harness, ROOT_KEY).arg("send").args(HELLO));
    assert_eq!(outcome.code, 2, "{}", outcome.stderr);
    assert!(
        outcome.stderr.contains("needs a mailbox key (smx_mbx_...)"),
        "{}",
        outcome.stderr
    );
    assert!(!outcome.stderr.contains(ROOT_KEY), "{}", outcome.stderr);
    assert_eq!(sending_requests(&harness), 0);
    assert!(harness.mock().outbox().is_empty());
}

#[test]
fn a_lost_answer_is_retried_with_the_same_key_and_sent_once() {
    let (harness, key) = start();
    harness.mock().set_faults(FaultConfig {
        rules: vec![rule(FaultKind::CloseAfterCommit, ops::SENDING_SEND_EMAIL.id).times(1)],
    });
    let outcome = ok(sendmux(&harness, &key)
        .args(["-o", "json", "send"])
        .args(HELLO));
    let sent: Value = serde_json::from_str(&outcome.stdout).unwrap();
    let outbox = harness.mock().outbox();
    assert_eq!(outbox.len(), 1, "{outbox:?}");
    assert_eq!(sent["message_id"], outbox[0].id.as_str());
    assert_eq!(outbox[0].attempts, 2, "the retry was a replay");
}

#[test]
fn an_unknown_outcome_prints_the_key_and_the_command_that_finishes_it() {
    let (harness, key) = start();
    harness
        .mock()
        .set_faults(lost_after_every_retry(ops::SENDING_SEND_EMAIL.id));
    let failed = run(sendmux(&harness, &key)
        .args(["-o", "json", "send"])
        .args(HELLO));
    assert_eq!(failed.code, 4, "{}", failed.stderr);
    assert!(failed.stdout.is_empty(), "{}", failed.stdout);
    assert!(!failed.stderr.contains(&key), "{}", failed.stderr);
    // The last attempt was stored: the message is out, its answer lost.
    let outbox = harness.mock().outbox();
    assert_eq!(outbox.len(), 1);
    let words = printed_command(&failed.stderr, "same idempotency key");
    let printed_key = key_in(&words);
    assert_eq!(outbox[0].idempotency_key.as_deref(), Some(&*printed_key));
    assert!(printed_key.starts_with("sendmux-rust-"), "{printed_key}");
    assert!(words.iter().any(|w| w == "<p>Hello Ada</p>"), "{words:?}");

    harness.mock().set_faults(FaultConfig::default());
    let repeated = ok(bare_sendmux().env("SENDMUX_API_KEY", &key).args(&words));
    let sent: Value = serde_json::from_str(&repeated.stdout).unwrap();
    assert_eq!(sent["message_id"], outbox[0].id.as_str());
    let outbox = harness.mock().outbox();
    assert_eq!(outbox.len(), 1, "{outbox:?}");
    assert_eq!(outbox[0].attempts, 2);
}

#[test]
fn mock_mode_sets_up_a_mailbox_and_sends() {
    let outcome = ok(bare_sendmux()
        .env_remove("SENDMUX_SENDING_BASE_URL")
        .args(["--mock", "-o", "json", "send"])
        .args(HELLO));
    let sent: Value = serde_json::from_str(&outcome.stdout).unwrap();
    assert!(
        sent["message_id"].as_str().unwrap().starts_with("eml_"),
        "{sent}"
    );
    assert!(
        outcome.stderr.contains(
            "set up the verified domain mail.acme.com and the mailbox agent@mail.acme.com"
        ),
        "{}",
        outcome.stderr
    );
}

#[test]
fn a_batch_of_250_goes_out_in_three_keyed_requests() {
    let (harness, key) = start();
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<String> = (1..=250).map(line_to).collect();
    let path = batch_file(dir.path(), &lines);
    let outcome = ok(sendmux(&harness, &key).args([
        "send",
        "--batch",
        &path,
        "--idempotency-key",
        "issue-7",
    ]));
    let results = results(&outcome.stdout);
    let outbox = harness.mock().outbox();
    assert_eq!((results.len(), outbox.len()), (250, 250));
    for (i, (result, sent)) in results.iter().zip(&outbox).enumerate() {
        assert_eq!(result["line"], i + 1);
        assert_eq!(result["status"], "queued", "{result}");
        assert_eq!(result["message_id"], sent.id.as_str());
        assert_eq!(sent.to, format!("reader{}@example.com", i + 1));
    }
    let keys: Vec<Option<String>> = requests_of(&harness, ops::SENDING_SEND_EMAIL_BATCH.id)
        .into_iter()
        .map(|r| r.idempotency_key)
        .collect();
    let expected = ["issue-7.0", "issue-7.1", "issue-7.2"].map(|k| Some(k.to_owned()));
    assert_eq!(keys, expected);
    assert!(
        outcome
            .stderr
            .contains("250 of 250 messages queued in 3 request(s)"),
        "{}",
        outcome.stderr
    );
}

#[test]
fn a_refused_line_is_reported_and_the_batch_exits_3() {
    let (harness, key) = start();
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.txt");
    std::fs::write(&report, "total: 42\n").unwrap();
    let mut with_file: Value = serde_json::from_str(&line_to(1)).unwrap();
    with_file["attachments"] = serde_json::json!([report.to_str().unwrap()]);
    // A mailbox key sends only as its own mailbox: the server refuses this
    // line alone.
    let other_sender = line_to(2).replace(FROM, "someone@mail.acme.com");
    let lines = [
        with_file.to_string(),
        other_sender,
        String::new(),
        line_to(4),
    ];
    let path = batch_file(dir.path(), &lines);
    let outcome = run(sendmux(&harness, &key).args(["send", "--batch", &path]));
    assert_eq!(outcome.code, 3, "{}", outcome.stderr);
    let results = results(&outcome.stdout);
    let statuses: Vec<(u64, &str)> = results
        .iter()
        .map(|r| (r["line"].as_u64().unwrap(), r["status"].as_str().unwrap()))
        .collect();
    assert_eq!(statuses, [(1, "queued"), (2, "refused"), (4, "queued")]);
    assert_eq!(results[1]["code"], "insufficient_permissions");
    assert!(
        outcome.stderr.contains("2 of 3 messages queued, 1 refused"),
        "{}",
        outcome.stderr
    );
    assert!(!outcome.stderr.contains("repeat it"), "{}", outcome.stderr);
    let outbox = harness.mock().outbox();
    assert_eq!(outbox.len(), 2);
    assert_eq!(outbox[0].attachments, ["report.txt"]);
}

#[test]
fn malformed_lines_are_named_and_nothing_is_sent() {
    let (harness, key) = start();
    let dir = tempfile::tempdir().unwrap();
    let no_subject = line_to(3).replace("\"subject\"", "\"subjct\"");
    let bad_address = line_to(4).replace("reader4@example.com", "reader4.example.com");
    let lines = [
        line_to(1),
        "{\"from\": \"agent@mail.acme.com\",".to_owned(),
        no_subject,
        bad_address,
        "[\"agent@mail.acme.com\", \"ada@example.com\"]".to_owned(),
        line_to(6),
    ];
    let path = batch_file(dir.path(), &lines);
    let outcome = run(sendmux(&harness, &key).args(["send", "--batch", &path]));
    assert_eq!(outcome.code, 2, "{}", outcome.stderr);
    assert!(outcome.stdout.is_empty(), "{}", outcome.stdout);
    for says in [
        "4 line(s) are not messages; nothing was sent",
        "line 2: not JSON: EOF while parsing",
        "line 3: unknown field `subjct`",
        "line 4: invalid to.email",
        "line 5: not a JSON object",
    ] {
        assert!(outcome.stderr.contains(says), "{says}: {}", outcome.stderr);
    }
    for fine in ["line 1:", "line 6:"] {
        assert!(!outcome.stderr.contains(fine), "{}", outcome.stderr);
    }
    assert_eq!(sending_requests(&harness), 0);
    assert!(harness.mock().outbox().is_empty());
}

#[test]
fn a_batch_of_unknown_outcome_exits_4_and_its_repeat_sends_each_message_once() {
    let (harness, key) = start();
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<String> = (1..=150).map(line_to).collect();
    let path = batch_file(dir.path(), &lines);
    harness
        .mock()
        .set_faults(lost_after_every_retry(ops::SENDING_SEND_EMAIL_BATCH.id));
    let failed = run(sendmux(&harness, &key).args(["send", "--batch", &path]));
    assert_eq!(failed.code, 4, "{}", failed.stderr);
    let results = results(&failed.stdout);
    assert_eq!(results.len(), 150);
    for (i, result) in results.iter().enumerate() {
        let state = if i < 100 { "maybe_sent" } else { "not_sent" };
        assert_eq!(
            (&result["status"], &result["state"]),
            (&"failed".into(), &state.into())
        );
    }
    // The first request was stored, its answer lost; the second never made.
    assert_eq!(harness.mock().outbox().len(), 100);
    let words = printed_command(&failed.stderr, "same idempotency key");
    let batch_key = key_in(&words);
    assert!(batch_key.starts_with("sendmux-rust-"), "{batch_key}");
    let first = requests_of(&harness, ops::SENDING_SEND_EMAIL_BATCH.id);
    assert!(
        first
            .iter()
            .all(|r| r.idempotency_key == Some(format!("{batch_key}.0"))),
        "{first:?}"
    );

    harness.mock().set_faults(FaultConfig::default());
    let repeated = ok(bare_sendmux().env("SENDMUX_API_KEY", &key).args(&words));
    let results = self::results(&repeated.stdout);
    let outbox = harness.mock().outbox();
    assert_eq!((results.len(), outbox.len()), (150, 150));
    for (result, sent) in results.iter().zip(&outbox) {
        assert_eq!(result["status"], "queued", "{result}");
        assert_eq!(result["message_id"], sent.id.as_str());
    }
    assert!(outbox[..100].iter().all(|m| m.attempts == 2));
}
