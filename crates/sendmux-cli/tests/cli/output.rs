//! Output for scripts, for every command group alike: the list object of
//! `-o json` with its cursor, `--all` streamed as JSON lines, YAML, `--jq`,
//! a reader that goes away early, and no terminal escapes in a pipe.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;

use assert_cmd::Command;
use sendmux_mock::{ManualClock, MockServer};
use serde_json::Value;

use crate::support::{Harness, ok, run};

fn start() -> Harness {
    Harness::start(MockServer::builder().seed(7).clock(ManualClock::default()))
}

fn cli(harness: &Harness) -> Command {
    harness.sendmux_with_key("smx_root_cli_tests")
}

fn json(harness: &Harness, args: &[&str]) -> Value {
    let outcome = ok(cli(harness).args(["-o", "json"]).args(args));
    serde_json::from_str(&outcome.stdout).unwrap()
}

fn add_domains(harness: &Harness, names: &[&str]) {
    for name in names {
        ok(cli(harness).args(["-o", "json", "domains", "add", name]));
    }
}

#[test]
fn a_json_list_carries_its_next_cursor() {
    let harness = start();
    add_domains(
        &harness,
        &["a.example.com", "b.example.com", "c.example.com"],
    );

    let first = ok(cli(&harness).args(["-o", "json", "domains", "list", "--limit", "2"]));
    assert!(
        first.stderr.is_empty(),
        "the cursor is in the output: {}",
        first.stderr
    );
    let first: Value = serde_json::from_str(&first.stdout).unwrap();
    assert_eq!(first["items"].as_array().unwrap().len(), 2, "{first}");
    let cursor = first["next_cursor"].as_str().unwrap();

    let rest = json(
        &harness,
        &["domains", "list", "--limit", "2", "--cursor", cursor],
    );
    assert_eq!(rest["items"].as_array().unwrap().len(), 1, "{rest}");
    assert_eq!(rest["next_cursor"], Value::Null, "{rest}");

    // `--all` streams the same document: every item, no cursor left.
    let all = json(&harness, &["domains", "list", "--all", "--limit", "1"]);
    assert_eq!(all["items"].as_array().unwrap().len(), 3, "{all}");
    assert_eq!(all["next_cursor"], Value::Null, "{all}");
    let mut streamed: Vec<Value> = all["items"].as_array().unwrap().clone();
    let mut paged: Vec<Value> = first["items"].as_array().unwrap().clone();
    paged.extend(rest["items"].as_array().unwrap().iter().cloned());
    let id = |v: &Value| v["id"].as_str().unwrap().to_owned();
    streamed.sort_by_key(id);
    paged.sort_by_key(id);
    assert_eq!(streamed, paged);

    // An empty `--all` is still one document.
    let other = Harness::start(MockServer::builder().seed(7));
    let empty = json(&other, &["domains", "list", "--all"]);
    assert_eq!(empty, serde_json::json!({"items": [], "next_cursor": null}));
}

#[test]
fn all_as_json_lines_prints_one_object_per_line() {
    let harness = start();
    let all = json(&harness, &["logs", "emails", "--all"]);
    let expected: Vec<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|log| log["id"].as_str().unwrap())
        .collect();
    assert!(expected.len() > 20, "{}", expected.len());

    let lines = ok(cli(&harness).args(["-o", "jsonl", "logs", "emails", "--all", "--limit", "20"]));
    let ids: Vec<String> = lines
        .stdout
        .lines()
        .map(|line| {
            let log: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not one JSON object ({e}): {line}"));
            assert!(log.is_object(), "{line}");
            log["id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(ids, expected);

    // One page as JSON lines: its items, and the cursor on stderr.
    let page = ok(cli(&harness).args(["-o", "jsonl", "logs", "emails", "--limit", "3"]));
    assert_eq!(page.stdout.lines().count(), 3, "{}", page.stdout);
    assert!(page.stderr.contains("--cursor"), "{}", page.stderr);
    // A single item is one line too.
    let one = ok(cli(&harness).args(["-o", "jsonl", "logs", "email", &ids[0]]));
    assert_eq!(one.stdout.lines().count(), 1, "{}", one.stdout);
}

#[test]
fn yaml_parses_to_the_json_document() {
    let harness = start();
    add_domains(&harness, &["a.example.com", "b.example.com"]);
    for args in [
        &["domains", "list"][..],
        &["billing", "balance"],
        &["logs", "emails", "--limit", "2"],
    ] {
        let yaml = ok(cli(&harness).args(["-o", "yaml"]).args(args)).stdout;
        let parsed: Value = serde_norway::from_str(&yaml)
            .unwrap_or_else(|e| panic!("{args:?}: not YAML ({e}):\n{yaml}"));
        assert_eq!(parsed, json(&harness, args), "{args:?}");
    }
    let list: Value =
        serde_norway::from_str(&ok(cli(&harness).args(["-o", "yaml", "domains", "list"])).stdout)
            .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 2, "{list}");
}

#[test]
fn jq_filters_what_json_would_print() {
    let harness = start();
    add_domains(&harness, &["a.example.com", "b.example.com"]);

    let count = ok(cli(&harness).args(["domains", "list", "--jq", ".items | length"]));
    assert_eq!(count.stdout, "2\n");

    let names = ok(cli(&harness).args(["domains", "list", "--jq", ".items[].domain"]));
    let mut names: Vec<&str> = names.stdout.lines().collect();
    names.sort_unstable();
    assert_eq!(names, [r#""a.example.com""#, r#""b.example.com""#]);

    let raw = ok(cli(&harness).args(["domains", "list", "-r", "--jq", ".items[].domain"]));
    let mut raw: Vec<&str> = raw.stdout.lines().collect();
    raw.sort_unstable();
    assert_eq!(raw, ["a.example.com", "b.example.com"]);

    // A single item is the document; `-o jsonl` prints each result on a line.
    let id = json(&harness, &["domains", "list"])["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let dns = ok(cli(&harness).args([
        "-o",
        "jsonl",
        "domains",
        "get",
        &id,
        "--jq",
        ".dns_records.dkim[]",
    ]));
    assert_eq!(dns.stdout.lines().count(), 3, "{}", dns.stdout);
    for line in dns.stdout.lines() {
        let record: Value = serde_json::from_str(line).unwrap();
        assert!(record["name"].is_string(), "{line}");
    }
}

#[test]
fn an_invalid_jq_expression_is_a_usage_error_before_any_request() {
    let harness = start();
    for expression in [".items[", ".items | no_such_filter", "{a:}"] {
        let outcome = run(cli(&harness).args(["domains", "list", "--jq", expression]));
        assert_eq!(outcome.code, 2, "{expression}: {}", outcome.stderr);
        assert!(
            outcome.stderr.contains("invalid --jq expression"),
            "{}",
            outcome.stderr
        );
        assert!(outcome.stdout.is_empty(), "{}", outcome.stdout);
    }
    let table = run(cli(&harness).args(["-o", "table", "domains", "list", "--jq", "."]));
    assert_eq!(table.code, 2, "{}", table.stderr);
    let raw_alone = run(cli(&harness).args(["domains", "list", "-r"]));
    assert_eq!(raw_alone.code, 2, "{}", raw_alone.stderr);
    assert!(
        harness.mock().requests().is_empty(),
        "{:?}",
        harness.mock().requests()
    );

    // A filter that fails on the output says so, after the call.
    let failed = run(cli(&harness).args(["domains", "list", "--jq", ".items.id"]));
    assert_eq!(failed.code, 2, "{}", failed.stderr);
    assert!(failed.stderr.contains("--jq failed"), "{}", failed.stderr);
}

/// `sendmux ... | head -1`: the reader takes one line and goes away.
fn first_line_then_close(harness: &Harness, args: &[&str]) -> (String, i32, String) {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("sendmux"))
        .env_remove("SENDMUX_API_KEY")
        .env_remove("SENDMUX_BASE_URL")
        .env_remove("SENDMUX_PROFILE")
        .env("SENDMUX_CONFIG_DIR", crate::support::no_config_dir())
        .env_remove("RUST_LOG")
        .args(["--base-url", &harness.mock().base_url()])
        .args(["--api-key", "smx_root_cli_tests"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    drop(stdout);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    (line, status.code().unwrap_or(-1), stderr)
}

/// Adds `count` domains straight through the API (over a plain socket:
/// quicker than one `sendmux` run each).
fn add_many_domains(harness: &Harness, count: usize) {
    use std::io::Write;
    let base = harness.mock().base_url();
    let rest = base.strip_prefix("http://").unwrap();
    let (host, prefix) = rest.split_once('/').unwrap();
    for i in 0..count {
        let body = format!(r#"{{"domain":"d{i}.example.com"}}"#);
        let mut stream = std::net::TcpStream::connect(host).unwrap();
        write!(
            stream,
            "POST /{prefix}/domains HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer smx_root_cli_tests\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    }
}

#[test]
fn a_reader_that_goes_away_ends_the_command_quietly() {
    let harness = start();
    add_many_domains(&harness, 150);
    // Well over a pipe's buffer in every structured format, so the writer
    // is still writing when the reader leaves.
    let lines = ok(cli(&harness).args(["-o", "jsonl", "domains", "list", "--all"]));
    assert!(lines.stdout.len() > 128 * 1024, "{}", lines.stdout.len());
    for format in ["json", "jsonl", "yaml", "table"] {
        let (line, code, stderr) = first_line_then_close(
            &harness,
            &["-o", format, "domains", "list", "--all", "--limit", "20"],
        );
        assert!(!line.is_empty(), "{format}: no first line");
        assert_eq!(code, 0, "{format}: {stderr}");
        assert!(stderr.is_empty(), "{format}: {stderr}");
    }
}

#[test]
fn no_terminal_escapes_in_a_pipe() {
    let harness = start();
    add_domains(&harness, &["a.example.com"]);
    let runs: [&[&str]; 7] = [
        &["-o", "table", "domains", "list"],
        &["-o", "table", "--verbose", "domains", "list"],
        &["-o", "json", "--verbose", "domains", "list"],
        &["-o", "yaml", "domains", "list"],
        &["-o", "table", "domains", "get", "mdom_missing"],
        &["domains", "list", "--limit", "0"],
        &["domains", "--help"],
    ];
    for no_color in [false, true] {
        for args in runs {
            let mut command = cli(&harness);
            if no_color {
                command.env("NO_COLOR", "1");
            } else {
                command.env_remove("NO_COLOR");
            }
            // Colour forced on must still lose to a pipe and to NO_COLOR.
            command.env("CLICOLOR", "1");
            let outcome = run(command.args(args));
            for (name, text) in [("stdout", &outcome.stdout), ("stderr", &outcome.stderr)] {
                assert!(
                    !text.contains("\u{1b}["),
                    "{args:?} (NO_COLOR {no_color}) {name}: {text:?}"
                );
            }
        }
    }
}
