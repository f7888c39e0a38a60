//! `sendmux sending-accounts` against `sendmux-mock`: the lifecycle of a
//! custom SMTP account, and the SMTP password, which is read from a file
//! or stdin and never printed, `--verbose` included.
//! Table output is compared with `tests/expected/sending-accounts-*.txt`
//! (regenerate with `EXPECTORATE=overwrite`).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::Write;

use sendmux_mock::{ManualClock, MockServer};
use serde_json::Value;

use crate::support::{Harness, Outcome, cli, ok, row, run};

const PASSWORD: &str = "correct horse battery staple";

fn start() -> Harness {
    Harness::start(MockServer::builder().seed(7).clock(ManualClock::default()))
}

fn expect(name: &str, actual: &str) {
    expectorate::assert_contents(
        format!("tests/expected/sending-accounts-{name}.txt"),
        actual,
    );
}

fn password_file() -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    writeln!(file, "{PASSWORD}").unwrap();
    file
}

/// `create Relay` with the SMTP flags, then `extra`.
fn create_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "sending-accounts",
        "create",
        "Relay",
        "--host",
        "smtp.acme.com",
        "--port",
        "587",
        "--protocol",
        "starttls",
        "--username",
        "relay",
    ];
    args.extend_from_slice(extra);
    args
}

fn assert_no_password(outcome: &Outcome) {
    assert!(!outcome.stdout.contains(PASSWORD), "{}", outcome.stdout);
    assert!(!outcome.stderr.contains(PASSWORD), "{}", outcome.stderr);
    assert!(!outcome.stderr.contains("horse"), "{}", outcome.stderr);
}

#[test]
fn sending_account_lifecycle_in_table_output() {
    let harness = start();
    let sendmux = |args: &[&str]| ok(cli(&harness, "table").args(args)).stdout;
    let file = password_file();
    let path = file.path().to_str().unwrap();

    let created = ok(cli(&harness, "table").args(create_args(&[
        "--smtp-password-file",
        path,
        "--from-email",
        "news@acme.com",
    ])));
    assert_no_password(&created);
    expect("create", &created.stdout);
    assert_eq!(row(&created.stdout, "Password set"), "true");
    let id = row(&created.stdout, "ID");

    expect("get", &sendmux(&["sending-accounts", "get", &id]));
    expect("list", &sendmux(&["sending-accounts", "list"]));
    expect(
        "list-smtp",
        &sendmux(&["sending-accounts", "list", "--type", "smtp"]),
    );
    expect("test", &sendmux(&["sending-accounts", "test", &id]));
    expect(
        "deactivate",
        &sendmux(&["sending-accounts", "deactivate", &id]),
    );
    assert_eq!(
        row(&sendmux(&["sending-accounts", "activate", &id]), "Status"),
        "active"
    );
    expect("limits", &sendmux(&["sending-accounts", "limits"]));
    let updated = ok(cli(&harness, "table")
        .args([
            "sending-accounts",
            "update",
            &id,
            "--name",
            "Relay 2",
            "--username",
            "relay2",
            "--smtp-password",
            "-",
        ])
        .write_stdin(format!("{PASSWORD}\n")));
    assert_no_password(&updated);
    assert_eq!(row(&updated.stdout, "Name"), "Relay 2");
    assert_eq!(row(&updated.stdout, "Username"), "relay2");
    expect(
        "delete",
        &sendmux(&["sending-accounts", "delete", &id, "--yes"]),
    );
}

#[test]
fn verbose_create_never_prints_the_password() {
    let harness = start();
    for format in ["json", "table"] {
        let outcome = ok(cli(&harness, format)
            .arg("--verbose")
            .args(create_args(&["--smtp-password", "-"]))
            .write_stdin(format!("{PASSWORD}\r\n")));
        assert!(!outcome.stderr.is_empty(), "--verbose printed nothing");
        assert_no_password(&outcome);
    }
    let file = password_file();
    let outcome = ok(cli(&harness, "json").arg("--verbose").args(create_args(&[
        "--smtp-password-file",
        file.path().to_str().unwrap(),
    ])));
    assert_no_password(&outcome);
    let created: Value = serde_json::from_str(&outcome.stdout).unwrap();
    assert_eq!(created["has_smtp_password"], true);
}

#[test]
fn a_password_is_never_taken_from_the_command_line() {
    let harness = start();
    let outcome = run(cli(&harness, "table").args(create_args(&["--smtp-password", PASSWORD])));
    assert_eq!(outcome.code, 2, "{}", outcome.stderr);
    assert!(
        outcome.stderr.contains("--smtp-password-file"),
        "{}",
        outcome.stderr
    );
    assert_no_password(&outcome);

    let missing = run(cli(&harness, "table").args(create_args(&[])));
    assert_eq!(missing.code, 2, "{}", missing.stderr);
    assert!(
        missing.stderr.contains("SMTP password"),
        "{}",
        missing.stderr
    );

    let empty = run(cli(&harness, "table")
        .args(create_args(&["--smtp-password", "-"]))
        .write_stdin("\n"));
    assert_eq!(empty.code, 2, "{}", empty.stderr);

    let both = run(cli(&harness, "table").args(create_args(&[
        "--smtp-password",
        "-",
        "--smtp-password-file",
        "x",
    ])));
    assert_eq!(both.code, 2, "{}", both.stderr);

    let without_user = run(cli(&harness, "table")
        .args([
            "sending-accounts",
            "update",
            "dprov_1",
            "--smtp-password",
            "-",
        ])
        .write_stdin(format!("{PASSWORD}\n")));
    assert_eq!(without_user.code, 2, "{}", without_user.stderr);
    assert_no_password(&without_user);
    assert!(harness.mock().requests().is_empty());
}
