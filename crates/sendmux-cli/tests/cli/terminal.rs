//! The built `sendmux` against a hostile server: text from the server never
//! reaches the terminal raw (no escape sequences, no `\r` overwrites, no
//! 5 MB message printed whole), while JSON output stays the same JSON.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::{Read, Write};
use std::net::TcpListener;

use serde_json::{Value, json};

use crate::support::{Harness, Outcome, bare_sendmux, run};

/// Serves `status` and `body` (JSON) to every request, on loopback, until
/// the test process ends; returns the base URL.
fn raw_server(status: u16, body: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/api/v1", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            // Requests here have no body: the head is all there is to read.
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            let reply = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream
                .write_all(reply.as_bytes())
                .and_then(|()| stream.write_all(body.as_bytes()));
        }
    });
    url
}

/// `sendmux <args>` against `url`, in `format`.
fn sendmux(url: &str, format: &str, args: &[&str]) -> Outcome {
    run(bare_sendmux()
        .args(["--base-url", url, "--api-key", "smx_root_terminal_tests"])
        .args(["--output", format])
        .args(args))
}

/// Neither stream carries a byte that acts on a terminal.
fn assert_inert(outcome: &Outcome) {
    for (name, text) in [("stdout", &outcome.stdout), ("stderr", &outcome.stderr)] {
        let bad: Vec<char> = text
            .chars()
            .filter(|c| (c.is_control() && *c != '\n') || matches!(c, '\u{202a}'..='\u{202e}'))
            .collect();
        assert!(bad.is_empty(), "{name} carries {bad:?}: {text:?}");
    }
}

fn error_envelope(message: &str) -> String {
    json!({
        "ok": false,
        "error": {
            "code": "validation_error",
            "message": message,
            "retryable": false,
            "param": "domain\u{1b}]0;pwned\u{7}",
            "doc_url": "https://docs.example/\u{9b}31m",
            "errors": [
                {"field": "rules[0]\r\n  - forged line", "code": "bad\u{1b}[1A", "message": "over\rwrite"},
            ],
        },
        "meta": {"request_id": "req_\u{1b}[2K"},
    })
    .to_string()
}

#[test]
fn error_text_from_the_server_is_escaped() {
    let url = raw_server(
        422,
        error_envelope("\u{1b}[2J\u{1b}[Hall clear\rforged\u{202e}txt.exe"),
    );
    let outcome = sendmux(&url, "table", &["domains", "get", "mdom_1"]);
    assert_eq!(outcome.code, 3, "{:?}", outcome.stderr);
    assert_inert(&outcome);
    let lines: Vec<&str> = outcome.stderr.lines().collect();
    assert_eq!(
        lines[0],
        "error: validation_error: \\u{1b}[2J\\u{1b}[Hall clear\\rforged\\u{202e}txt.exe \
         (param: domain\\u{1b}]0;pwned\\u{7}) [HTTP 422, request req_\\u{1b}[2K]",
    );
    // The field's `\r\n` cannot forge a line of its own.
    assert_eq!(
        lines[1],
        "  - rules[0]\\r\\n  - forged line: over\\rwrite (bad\\u{1b}[1A)"
    );
    assert_eq!(lines[2], "  docs: https://docs.example/\\u{9b}31m");
    assert_eq!(lines.len(), 3, "{:?}", outcome.stderr);
}

#[test]
fn a_huge_server_message_is_cut_with_a_marker() {
    let message = format!("\u{1b}[2J{}", "x".repeat(5_000_000));
    let url = raw_server(422, error_envelope(&message));
    let outcome = sendmux(&url, "json", &["domains", "get", "mdom_1"]);
    assert_eq!(outcome.code, 3, "{}", &outcome.stderr[..200]);
    assert_inert(&outcome);
    assert!(
        outcome.stderr.len() < 5_000,
        "{} bytes",
        outcome.stderr.len()
    );
    let first = outcome.stderr.lines().next().unwrap();
    assert!(
        first.contains(&format!(
            "\\u{{1b}}[2J{}… [cut 4,999,004 bytes] (param:",
            "x".repeat(996)
        )),
        "{first}"
    );
}

/// A domain as the mock answers it, its server-set strings made hostile.
fn hostile_domain() -> Value {
    let harness = Harness::start(sendmux_mock::MockServer::builder().seed(3));
    let added = run(harness.sendmux_with_key("smx_root_terminal_tests").args([
        "--output",
        "json",
        "domains",
        "add",
        "mail.acme.com",
    ]));
    assert_eq!(added.code, 0, "{}", added.stderr);
    let mut domain: Value = serde_json::from_str(&added.stdout).unwrap();
    domain["domain"] = json!("mail.acme.com\u{1b}[2J\rgotcha");
    domain["dns_records"]["dmarc"]["value"] = json!("2026\u{7f}\u{9b}31m\u{202e}");
    domain["dns_records"]["spf"]["value"] = json!("v=spf1\u{1b}]8;;http://evil\u{7}");
    domain
}

#[test]
fn table_cells_from_the_server_are_escaped() {
    let domain = hostile_domain();
    let body = json!({"ok": true, "data": domain, "meta": {"request_id": "req_1"}});
    let url = raw_server(200, body.to_string());
    let outcome = sendmux(&url, "table", &["domains", "get", "mdom_1"]);
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    assert_inert(&outcome);
    for shown in [
        "mail.acme.com\\u{1b}[2J\\rgotcha",
        "2026\\u{7f}\\u{9b}31m\\u{202e}",
        "v=spf1\\u{1b}]8;;http://evil\\u{7}",
    ] {
        assert!(
            outcome.stdout.contains(shown),
            "{shown}: {}",
            outcome.stdout
        );
    }
}

#[test]
fn json_output_is_inert_and_still_the_same_json() {
    let domain = hostile_domain();
    let body = json!({"ok": true, "data": domain, "meta": {"request_id": "req_1"}});
    let url = raw_server(200, body.to_string());
    let outcome = sendmux(&url, "json", &["domains", "get", "mdom_1"]);
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    assert_inert(&outcome);
    let printed: Value = serde_json::from_str(&outcome.stdout).unwrap();
    assert_eq!(printed, domain);

    // `sendmux api` prints whole bodies through the same path.
    let outcome = sendmux(&url, "json", &["api", "GET", "/domains/mdom_1"]);
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    assert_inert(&outcome);
    let printed: Value = serde_json::from_str(&outcome.stdout).unwrap();
    assert_eq!(printed, body);
}
