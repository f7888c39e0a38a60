//! `sendmux mail` against `sendmux-mock`: a verified domain and a mailbox
//! made with the root key through the mock's HTTP API, then the mailbox's
//! key given to the CLI and mail put in with `MockServer::deliver`.
//! Table output is compared with `tests/expected/mail-*.txt`
//! (regenerate with `EXPECTORATE=overwrite`).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::Read;
use std::process::Stdio;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use sendmux_mock::{InboundMessage, MockServer, MockServerBuilder};
use serde_json::Value;

use crate::support::{Harness, ok, run, start_with_mailbox};

const ROOT_KEY: &str = "smx_root_cli_tests";
const ADDRESS: &str = "agent@mail.acme.com";

/// A mock from `builder` with a verified domain and a mailbox on it, and
/// that mailbox's key.
fn start_with(builder: MockServerBuilder) -> (Harness, String) {
    start_with_mailbox(builder, ROOT_KEY, ADDRESS)
}

fn start() -> (Harness, String) {
    start_with(MockServer::builder().seed(11))
}

fn mail(harness: &Harness, key: &str, format: &str) -> Command {
    let mut command = harness.sendmux_with_key(key);
    command.args(["--output", format, "mail"]);
    command
}

fn json(harness: &Harness, key: &str, args: &[&str]) -> Value {
    serde_json::from_str(&ok(mail(harness, key, "json").args(args)).stdout).unwrap()
}

/// The `field` of every item of a list document.
fn column(list: &Value, field: &str) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item[field].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn expect(name: &str, actual: &str) {
    expectorate::assert_contents(format!("tests/expected/mail-{name}.txt"), actual);
}

fn deliver(harness: &Harness, key: &str, from: &str, subject: &str, text: &str) -> String {
    harness
        .mock()
        .deliver(
            key,
            InboundMessage {
                from: from.into(),
                subject: subject.into(),
                text: Some(text.into()),
                ..InboundMessage::default()
            },
        )
        .unwrap()
}

#[test]
fn me_shows_the_mailbox_of_the_key() {
    let (harness, key) = start();
    let table = ok(mail(&harness, &key, "table").arg("me")).stdout;
    assert!(table.contains(ADDRESS), "{table}");
    let me = json(&harness, &key, &["me"]);
    assert_eq!(me["email"], ADDRESS);
    assert!(me["id"].as_str().unwrap().starts_with("mbx_"), "{me}");
}

#[test]
fn ls_prints_messages_as_a_table_and_as_json() {
    let (harness, key) = start();
    let first = deliver(
        &harness,
        &key,
        "Ada <ada@example.com>",
        "Invoice 42",
        "Please pay.",
    );
    let second = deliver(&harness, &key, "grace@example.com", "Lunch?", "Noon works.");

    let table = ok(mail(&harness, &key, "table").arg("ls")).stdout;
    expect("ls", &table);
    assert!(table.contains(&first) && table.contains(&second), "{table}");

    let list = json(&harness, &key, &["ls"]);
    assert_eq!(
        column(&list, "id"),
        [second.as_str(), first.as_str()],
        "{list}"
    );
    assert_eq!(column(&list, "subject"), ["Lunch?", "Invoice 42"]);
    assert_eq!(list["items"][1]["from"]["email"], "ada@example.com");
    assert_eq!(list["next_cursor"], Value::Null);

    let from_ada = json(&harness, &key, &["ls", "--from", "ada@example.com"]);
    assert_eq!(column(&from_ada, "id"), [first.as_str()], "{from_ada}");
    let page = json(&harness, &key, &["ls", "--limit", "1"]);
    assert_eq!(column(&page, "id"), [second.as_str()]);
    let cursor = page["next_cursor"].as_str().unwrap();
    let next = json(&harness, &key, &["ls", "--limit", "1", "--cursor", cursor]);
    assert_eq!(column(&next, "id"), [first.as_str()]);

    let threads = json(&harness, &key, &["ls", "--threads"]);
    assert_eq!(
        column(&threads, "subject"),
        ["Lunch?", "Invoice 42"],
        "{threads}"
    );
}

#[test]
fn read_prints_headers_and_body_and_escapes_hostile_text() {
    let (harness, key) = start();
    let id = deliver(
        &harness,
        &key,
        "Mallory <mallory@example.com>",
        "Urgent\u{1b}]0;owned\u{7}\u{1b}[2J now",
        "First line\nSecond\u{1b}[31m red\r\n\tindented",
    );
    let out = ok(mail(&harness, &key, "table").args(["read", &id])).stdout;
    assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'), "{out:?}");
    assert!(
        out.contains("Subject: Urgent\\u{1b}]0;owned\\u{7}\\u{1b}[2J now"),
        "{out}"
    );
    assert!(
        out.contains("From:    Mallory <mallory@example.com>"),
        "{out}"
    );
    assert!(out.contains(&format!("To:      {ADDRESS}")), "{out}");
    assert!(out.contains("Date:    "), "{out}");
    // Lines and tabs stay; other controls are escaped.
    assert!(
        out.contains("\n\nFirst line\nSecond\\u{1b}[31m red\n\tindented"),
        "{out}"
    );

    let content = json(&harness, &key, &["read", &id]);
    assert_eq!(content["id"], id.as_str());
    assert_eq!(content["subject"], "Urgent\u{1b}]0;owned\u{7}\u{1b}[2J now");

    let html_id = harness
        .mock()
        .deliver(
            &key,
            InboundMessage {
                from: "ada@example.com".into(),
                subject: "Styled".into(),
                html: Some("<p>Hello <b>Ada</b></p>".into()),
                ..InboundMessage::default()
            },
        )
        .unwrap();
    let html = ok(mail(&harness, &key, "table").args(["read", &html_id, "--html"])).stdout;
    assert_eq!(html, "<p>Hello <b>Ada</b></p>\n");
    let missing = run(mail(&harness, &key, "table").args(["read", "msg_missing"]));
    assert_eq!(missing.code, 3, "{}", missing.stderr);
}

#[test]
fn flag_seen_takes_a_message_off_the_unread_list() {
    let (harness, key) = start();
    let first = deliver(&harness, &key, "ada@example.com", "One", "1");
    let second = deliver(&harness, &key, "ada@example.com", "Two", "2");
    let unread = json(&harness, &key, &["ls", "--unread"]);
    assert_eq!(column(&unread, "id"), [second.as_str(), first.as_str()]);

    let flagged = json(
        &harness,
        &key,
        &["flag", &first, "--seen", "--flagged", "--keyword", "todo"],
    );
    assert_eq!(flagged["flags"]["seen"], true, "{flagged}");
    assert_eq!(flagged["flags"]["flagged"], true, "{flagged}");
    let unread = json(&harness, &key, &["ls", "--unread"]);
    assert_eq!(column(&unread, "id"), [second.as_str()], "{unread}");
    let read = json(&harness, &key, &["ls", "--read"]);
    assert_eq!(column(&read, "id"), [first.as_str()], "{read}");
    let starred = json(&harness, &key, &["ls", "--flagged"]);
    assert_eq!(column(&starred, "id"), [first.as_str()], "{starred}");

    let table = ok(mail(&harness, &key, "table").args(["flag", &first, "--unseen"])).stdout;
    assert!(table.starts_with("Message updated."), "{table}");
    let unread = json(&harness, &key, &["ls", "--unread"]);
    assert_eq!(column(&unread, "id").len(), 2, "{unread}");

    // Nothing to change is a usage error, before anything is sent.
    harness.mock().clear_requests();
    let nothing = run(mail(&harness, &key, "table").args(["flag", &first]));
    assert_eq!(nothing.code, 2, "{}", nothing.stderr);
    assert!(harness.mock().requests().is_empty());
}

#[test]
fn rm_and_mv_move_a_message_to_trash() {
    let (harness, key) = start();
    let first = deliver(&harness, &key, "ada@example.com", "Old news", "..");
    let second = deliver(&harness, &key, "ada@example.com", "Older news", "..");

    let removed = ok(mail(&harness, &key, "table").args(["rm", &first])).stdout;
    assert_eq!(removed.trim(), format!("Moved message {first} to Trash."));
    let trash = json(&harness, &key, &["ls", "--folder", "trash"]);
    assert_eq!(column(&trash, "id"), [first.as_str()], "{trash}");
    let inbox = json(&harness, &key, &["ls", "--folder", "Inbox"]);
    assert_eq!(column(&inbox, "id"), [second.as_str()], "{inbox}");

    // Only Trash is a place `mv` can reach.
    harness.mock().clear_requests();
    let refused = run(mail(&harness, &key, "table").args(["mv", &second, "--to", "archive"]));
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("--to trash"), "{}", refused.stderr);
    assert!(
        harness.mock().requests().iter().all(|r| r.method == "GET"),
        "mv to another folder changed something"
    );
    ok(mail(&harness, &key, "table").args(["mv", &second, "--to", "trash"]));
    let trash = json(&harness, &key, &["ls", "--folder", "trash"]);
    assert_eq!(column(&trash, "id").len(), 2, "{trash}");

    // For good, only with --yes when stdin is not a terminal.
    let unconfirmed = run(mail(&harness, &key, "table")
        .args(["rm", &first, "--permanent"])
        .write_stdin(""));
    assert_eq!(unconfirmed.code, 2, "{}", unconfirmed.stderr);
    ok(mail(&harness, &key, "table").args(["rm", &first, "--permanent", "--yes"]));
    let trash = json(&harness, &key, &["ls", "--folder", "trash"]);
    assert_eq!(column(&trash, "id"), [second.as_str()], "{trash}");

    let unknown = run(mail(&harness, &key, "table").args(["ls", "--folder", "nowhere"]));
    assert_eq!(unknown.code, 2, "{}", unknown.stderr);
    assert!(unknown.stderr.contains("inbox"), "{}", unknown.stderr);
}

/// The operations the mock saw since its log was last cleared.
fn operations(harness: &Harness) -> Vec<String> {
    harness
        .mock()
        .requests()
        .into_iter()
        .map(|r| r.operation.unwrap_or(r.path))
        .collect()
}

#[test]
fn mv_finds_the_folder_with_one_list_call_and_changes_nothing_it_cannot_move() {
    let (harness, key) = start();
    let message = deliver(&harness, &key, "ada@example.com", "Receipt", "..");
    let receipts = json(&harness, &key, &["folders", "create", "Receipts"]);
    let receipts = receipts["id"].as_str().unwrap().to_owned();
    for parent in ["Projects", "Clients"] {
        let parent = json(&harness, &key, &["folders", "create", parent]);
        let parent = parent["id"].as_str().unwrap();
        json(
            &harness,
            &key,
            &["folders", "create", "2026", "--parent", parent],
        );
    }
    let only_the_list = vec!["mailboxListFolders".to_owned()];

    // A created folder, by name (case aside) and by id: found, then
    // refused, as the API files messages into Trash only.
    for to in ["receipts", receipts.as_str()] {
        harness.mock().clear_requests();
        let refused = run(mail(&harness, &key, "table").args(["mv", &message, "--to", to]));
        assert_eq!(refused.code, 2, "{}", refused.stderr);
        assert!(
            refused
                .stderr
                .contains(&format!("cannot move a message into Receipts ({receipts})")),
            "{}",
            refused.stderr
        );
        assert!(refused.stderr.contains("--to trash"), "{}", refused.stderr);
        assert_eq!(operations(&harness), only_the_list);
    }

    // No such folder: named as such, with what there is.
    harness.mock().clear_requests();
    let unknown = run(mail(&harness, &key, "table").args(["mv", &message, "--to", "Invoices"]));
    assert_eq!(unknown.code, 2, "{}", unknown.stderr);
    assert!(
        unknown.stderr.starts_with("error: no folder Invoices:"),
        "{}",
        unknown.stderr
    );
    assert!(unknown.stderr.contains("Receipts"), "{}", unknown.stderr);
    assert_eq!(operations(&harness), only_the_list);

    // A name two folders share: both ids listed, nothing moved.
    harness.mock().clear_requests();
    let ambiguous = run(mail(&harness, &key, "table").args(["mv", &message, "--to", "2026"]));
    assert_eq!(ambiguous.code, 2, "{}", ambiguous.stderr);
    assert!(
        ambiguous.stderr.contains("2 folders are named 2026"),
        "{}",
        ambiguous.stderr
    );
    let folders = json(&harness, &key, &["folders", "ls"]);
    let shared: Vec<&str> = folders["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["name"] == "2026")
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(shared.len(), 2, "{folders}");
    for id in &shared {
        assert!(ambiguous.stderr.contains(id), "{}", ambiguous.stderr);
    }
    // The same rule for `ls --folder`.
    let listed = run(mail(&harness, &key, "table").args(["ls", "--folder", "2026"]));
    assert_eq!(listed.code, 2, "{}", listed.stderr);
    let inbox = json(&harness, &key, &["ls", "--folder", "inbox"]);
    assert_eq!(column(&inbox, "id"), [message.as_str()], "{inbox}");

    // Trash by its id: the list, then the move.
    let trash = folders["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["role"] == "trash")
        .map(|f| f["id"].as_str().unwrap().to_owned())
        .unwrap();
    harness.mock().clear_requests();
    let moved = ok(mail(&harness, &key, "table").args(["mv", &message, "--to", &trash]));
    assert_eq!(
        moved.stdout.trim(),
        format!("Moved message {message} to Trash.")
    );
    assert_eq!(
        operations(&harness),
        ["mailboxListFolders", "mailboxDeleteMessage"]
    );
    let in_trash = json(&harness, &key, &["ls", "--folder", "trash"]);
    assert_eq!(column(&in_trash, "id"), [message.as_str()], "{in_trash}");

    // `--to trash` needs no list call.
    let other = deliver(&harness, &key, "ada@example.com", "Other", "..");
    harness.mock().clear_requests();
    ok(mail(&harness, &key, "table").args(["mv", &other, "--to", "TRASH"]));
    assert_eq!(operations(&harness), ["mailboxDeleteMessage"]);
}

#[test]
fn folders_are_created_renamed_and_removed() {
    let (harness, key) = start();
    let created = json(&harness, &key, &["folders", "create", "Receipts"]);
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["name"], "Receipts");
    assert_eq!(created["role"], Value::Null);

    let renamed = ok(mail(&harness, &key, "table").args(["folders", "rename", &id, "Invoices"]));
    assert!(
        renamed.stdout.starts_with("Folder renamed."),
        "{}",
        renamed.stdout
    );
    let listed = json(&harness, &key, &["folders", "ls"]);
    let names = column(&listed, "name");
    assert!(names.contains(&"Invoices".to_owned()), "{names:?}");
    assert!(!names.contains(&"Receipts".to_owned()), "{names:?}");
    assert!(names.contains(&"Sent".to_owned()), "{names:?}");

    // Filed by name too.
    let empty = json(&harness, &key, &["ls", "--folder", "invoices"]);
    assert_eq!(column(&empty, "id").len(), 0);

    let unconfirmed = run(mail(&harness, &key, "table")
        .args(["folders", "rm", &id])
        .write_stdin(""));
    assert_eq!(unconfirmed.code, 2, "{}", unconfirmed.stderr);
    let removed = ok(mail(&harness, &key, "table").args(["folders", "rm", &id, "--yes"]));
    assert_eq!(removed.stdout.trim(), format!("Deleted folder {id}."));
    let listed = json(&harness, &key, &["folders", "ls"]);
    assert!(!column(&listed, "id").contains(&id), "{listed}");
}

#[test]
fn send_puts_the_message_in_the_sent_folder() {
    let (harness, key) = start();
    let sent = json(
        &harness,
        &key,
        &[
            "send",
            "--to",
            "Ada <ada@example.com>",
            "--subject",
            "Quarterly report",
            "--text",
            "Numbers inside.",
        ],
    );
    assert_eq!(sent["status"], "queued", "{sent}");
    let message_id = sent["message_id"].as_str().unwrap().to_owned();
    let folder = json(&harness, &key, &["ls", "--folder", "sent"]);
    assert_eq!(column(&folder, "id"), [message_id.as_str()], "{folder}");
    assert_eq!(column(&folder, "subject"), ["Quarterly report"]);
    assert_eq!(folder["items"][0]["to"][0]["email"], "ada@example.com");
    let sends: Vec<_> = harness
        .mock()
        .requests()
        .into_iter()
        .filter(|r| r.operation.as_deref() == Some("mailboxSendMessage"))
        .collect();
    assert_eq!(sends.len(), 1);

    // A file given with --attach is uploaded, then sent by reference.
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.csv");
    std::fs::write(&report, b"quarter,total\nq3,42\n").unwrap();
    let with_file = json(
        &harness,
        &key,
        &[
            "send",
            "--to",
            "ada@example.com",
            "--subject",
            "The file",
            "--html",
            "<p>Attached.</p>",
            "--attach",
            report.to_str().unwrap(),
        ],
    );
    let sent_id = with_file["message_id"].as_str().unwrap().to_owned();
    let content = json(&harness, &key, &["read", &sent_id]);
    assert_eq!(
        content["attachments"][0]["filename"], "report.csv",
        "{content}"
    );
    let attachment = content["attachments"][0]["id"].as_str().unwrap().to_owned();
    let copy = dir.path().join("copy.csv");
    json(
        &harness,
        &key,
        &[
            "attachments",
            "get",
            &sent_id,
            &attachment,
            "-f",
            copy.to_str().unwrap(),
        ],
    );
    assert_eq!(
        std::fs::read(&copy).unwrap(),
        std::fs::read(&report).unwrap()
    );
    let uploads = harness
        .mock()
        .requests()
        .into_iter()
        .filter(|r| r.operation.as_deref() == Some("mailboxUploadAttachment"))
        .count();
    assert_eq!(uploads, 1);

    // A body is required; nothing is sent without one.
    let bodiless = run(mail(&harness, &key, "json").args([
        "send",
        "--to",
        "ada@example.com",
        "--subject",
        "Empty",
    ]));
    assert_eq!(bodiless.code, 2, "{}", bodiless.stderr);
}

#[test]
fn a_root_key_is_refused_before_anything_is_sent() {
    let (harness, _key) = start();
    harness.mock().clear_requests();
    for args in [&["me"][..], &["ls"], &["watch"], &["folders", "ls"]] {
        let outcome = run(mail(&harness, ROOT_KEY, "table").args(args));
        assert_eq!(outcome.code, 2, "{args:?}: {}", outcome.stderr);
        assert!(
            outcome.stderr.contains("mailbox key (smx_mbx_...)"),
            "{}",
            outcome.stderr
        );
        assert!(!outcome.stderr.contains(ROOT_KEY), "{}", outcome.stderr);
    }
    assert!(harness.mock().requests().is_empty());
}

#[test]
fn attachments_get_writes_the_delivered_bytes() {
    let (harness, key) = start();
    let bytes = harness.mock().generated_bytes(3 * 1024 * 1024 + 17);
    let id = harness
        .mock()
        .deliver(
            &key,
            InboundMessage {
                from: "ada@example.com".into(),
                subject: "The data".into(),
                text: Some("Attached.".into()),
                attachments: vec![(
                    "data.bin".into(),
                    "application/octet-stream".into(),
                    bytes.clone(),
                )],
                ..InboundMessage::default()
            },
        )
        .unwrap();
    let content = json(&harness, &key, &["read", &id]);
    let attachment = content["attachments"][0]["id"].as_str().unwrap().to_owned();
    let table = ok(mail(&harness, &key, "table").args(["read", &id])).stdout;
    assert!(
        table.contains(&attachment) && table.contains("data.bin"),
        "{table}"
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.bin");
    let saved = json(
        &harness,
        &key,
        &[
            "attachments",
            "get",
            &id,
            &attachment,
            "-f",
            path.to_str().unwrap(),
        ],
    );
    assert_eq!(saved["bytes"], bytes.len(), "{saved}");
    let written = std::fs::read(&path).unwrap();
    assert!(
        written == bytes,
        "the saved file differs from the delivered bytes"
    );
}

/// Waits (bounded) until `done` holds, polling.
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "gave up waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

fn event_streams(harness: &Harness) -> usize {
    harness
        .mock()
        .requests()
        .iter()
        .filter(|r| r.operation.as_deref() == Some("mailboxStreamEvents"))
        .count()
}

/// `sendmux --base-url .. --api-key KEY ARGS..` started in the
/// background, with no inherited configuration.
fn spawn(harness: &Harness, key: &str, args: &[&str]) -> std::process::Child {
    std::process::Command::new(assert_cmd::cargo::cargo_bin("sendmux"))
        .env_remove("SENDMUX_API_KEY")
        .env_remove("SENDMUX_BASE_URL")
        .env_remove("SENDMUX_PROFILE")
        .env_remove("RUST_LOG")
        .env("SENDMUX_CONFIG_DIR", crate::support::no_config_dir())
        .args(["--base-url", &harness.mock().base_url(), "--api-key", key])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits (bounded) for `child` to exit: its status, stdout and stderr.
fn finish(mut child: std::process::Child) -> (std::process::ExitStatus, String, String) {
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("the command did not end");
        }
        std::thread::sleep(Duration::from_millis(25));
    };
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (status, stdout, stderr)
}

#[test]
fn watch_prints_events_through_a_cut_connection() {
    let (harness, key) = start_with(MockServer::builder().seed(11).sse_cut_after(1));
    let child = spawn(
        &harness,
        &key,
        &["-o", "json", "mail", "watch", "--max-events", "2"],
    );
    // Mail delivered before the stream is open would not be announced on it.
    wait_for("the event stream to open", || event_streams(&harness) >= 1);
    let first = deliver(&harness, &key, "ada@example.com", "First", "1");
    let second = deliver(&harness, &key, "grace@example.com", "Second", "2");

    let (status, stdout, stderr) = finish(child);
    assert!(status.success(), "stderr: {stderr}\nstdout: {stdout}");

    let events: Vec<Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(events.len(), 2, "{stdout}");
    assert_eq!(events[0]["event_type"], "message.received");
    assert_eq!(events[0]["message"]["id"], first.as_str(), "{stdout}");
    assert_eq!(events[0]["message"]["subject"], "First");
    assert_eq!(events[1]["message"]["id"], second.as_str(), "{stdout}");
    assert_eq!(events[1]["message"]["subject"], "Second");
    assert!(events[0]["id"].is_string(), "{stdout}");
    // The cut after the first event forced a second connection.
    assert!(event_streams(&harness) >= 2, "no reconnection was needed");
}

#[test]
fn watch_prints_one_line_per_event_for_people() {
    let (harness, key) = start();
    let child = spawn(
        &harness,
        &key,
        &[
            "-o",
            "table",
            "mail",
            "watch",
            "--max-events",
            "1",
            "--types",
            "message.received",
        ],
    );
    wait_for("the event stream to open", || event_streams(&harness) >= 1);
    let id = deliver(&harness, &key, "ada@example.com", "Hi\u{1b}[2J there", "..");
    let (status, stdout, stderr) = finish(child);
    assert!(status.success(), "{stderr}");
    let line = stdout.trim_end();
    assert_eq!(line.lines().count(), 1, "{stdout}");
    assert!(line.contains("  message.received  "), "{line}");
    assert!(line.contains(&id), "{line}");
    assert!(line.ends_with("Hi\\u{1b}[2J there"), "{line}");
}
