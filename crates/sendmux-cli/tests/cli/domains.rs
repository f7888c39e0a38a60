//! The built `sendmux` binary against `sendmux-mock`: the whole domain
//! lifecycle in table and JSON output, and every error path with its exit
//! code. Table output is compared with files under `tests/expected/`
//! (regenerate with `EXPECTORATE=overwrite cargo test -p sendmux-cli`).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use assert_cmd::Command;
use sendmux_mock::{ManualClock, MockServer, Propagation};

use crate::support::{Harness, bare_sendmux, run};

/// The mock with a fixed seed, a manual clock and `propagation`.
fn start(propagation: Propagation) -> Harness {
    Harness::start(
        MockServer::builder()
            .seed(7)
            .clock(ManualClock::default())
            .propagation(propagation),
    )
}

/// `sendmux` pointed at the mock with a fixed key, in `format`.
fn cli(harness: &Harness, format: &str) -> Command {
    let mut command = harness.sendmux_with_key("smx_root_cli_tests");
    command.args(["--output", format]);
    command
}

fn ok(command: &mut Command) -> String {
    let outcome = run(command);
    assert_eq!(
        outcome.code, 0,
        "stderr: {}\nstdout: {}",
        outcome.stderr, outcome.stdout
    );
    outcome.stdout
}

fn expect(name: &str, actual: &str) {
    expectorate::assert_contents(format!("tests/expected/{name}.txt"), actual);
}

/// Adds `mail.acme.com` through the CLI and returns its id.
fn add_domain(harness: &Harness) -> String {
    id_from_table(&ok(cli(harness, "table").args([
        "domains",
        "add",
        "mail.acme.com",
    ])))
}

/// The `ID` row of a domain table.
fn id_from_table(table: &str) -> String {
    table
        .lines()
        .find_map(|line| line.trim().strip_prefix("ID"))
        .map(|rest| rest.trim().to_string())
        .unwrap()
}

#[test]
fn domain_lifecycle_in_table_output() {
    let harness = start(Propagation::AfterVerifyCalls { calls: 2 });
    let sendmux = |args: &[&str]| ok(cli(&harness, "table").args(args));

    let added = sendmux(&["domains", "add", "mail.acme.com", "--mode", "send-only"]);
    expect("add", &added);
    let id = id_from_table(&added);
    assert!(id.starts_with("mdom_"), "{id}");

    expect("list", &sendmux(&["domains", "list"]));
    expect("get", &sendmux(&["domains", "get", &id]));
    expect(
        "verify-wait",
        &sendmux(&[
            "domains",
            "verify",
            &id,
            "--wait",
            "--interval",
            "5ms",
            "--timeout",
            "30s",
        ]),
    );
    expect("upgrade", &sendmux(&["domains", "upgrade", &id]));
    expect("zone-file", &sendmux(&["domains", "zone-file", &id]));
    expect(
        "filters-set",
        &sendmux(&[
            "domains",
            "filters",
            "set",
            &id,
            "--mode",
            "allowlist",
            "--allow",
            "partner.com",
            "--deny",
            "spam.example",
        ]),
    );
    expect("filters-get", &sendmux(&["domains", "filters", "get", &id]));
    expect("delete", &sendmux(&["domains", "delete", &id, "--yes"]));
    expect("list-empty", &sendmux(&["domains", "list"]));
}

#[test]
fn domain_lifecycle_in_json_output() {
    let harness = start(Propagation::AfterVerifyCalls { calls: 1 });
    let sendmux = |args: &[&str]| -> serde_json::Value {
        serde_json::from_str(&ok(cli(&harness, "json").args(args))).unwrap()
    };

    let added = sendmux(&["domains", "add", "mail.acme.com", "--mode", "send-only"]);
    let id = added["id"].as_str().unwrap().to_string();
    assert_eq!(added["domain"], "mail.acme.com");
    assert_eq!(added["mode"], "send_only");
    assert_eq!(added["verification_status"], "pending");
    assert!(added["dns_records"]["mx"].as_array().unwrap().is_empty());
    assert_eq!(added["dns_records"]["dkim"].as_array().unwrap().len(), 3);

    let listed = sendmux(&["domains", "list", "--all"]);
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed["items"][0]["id"], id.as_str());
    assert_eq!(listed["next_cursor"], serde_json::Value::Null);

    assert_eq!(sendmux(&["domains", "get", &id])["id"], id.as_str());
    let verified = sendmux(&["domains", "verify", &id, "--wait", "--interval", "5ms"]);
    assert_eq!(verified["verification_status"], "verified");

    let upgraded = sendmux(&["domains", "upgrade", &id]);
    assert_eq!(upgraded["mode"], "send_receive");
    assert_eq!(upgraded["verification_status"], "pending");

    let zone = ok(cli(&harness, "json").args(["domains", "zone-file", &id]));
    assert!(zone.contains("mail.acme.com"), "{zone}");
    // `-f` writes the same zone to a file; `-o` is the output format.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("zone.txt");
    let written = ok(cli(&harness, "json")
        .args(["domains", "zone-file", &id, "-f"])
        .arg(&path));
    assert!(written.is_empty(), "{written}");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap().trim_end(),
        zone.trim_end()
    );

    let filters = sendmux(&[
        "domains",
        "filters",
        "set",
        &id,
        "--mode",
        "denylist",
        "--deny",
        "spam.example",
    ]);
    assert_eq!(filters["mode"], "denylist");
    assert_eq!(filters["rules"][0]["type"], "deny");
    assert_eq!(sendmux(&["domains", "filters", "get", &id]), filters);

    let deleted = sendmux(&["domains", "delete", &id, "--yes"]);
    assert_eq!(deleted["deleted"], true);
    assert_eq!(
        sendmux(&["domains", "list"]),
        serde_json::json!({"items": [], "next_cursor": null})
    );
}

#[test]
fn invalid_domains_are_rejected_before_any_request() {
    let harness = start(Propagation::default());
    for bad in [
        "Mail.Acme.com",
        "https://mail.acme.com",
        "mail.acme.com/path",
        "mail..acme.com",
    ] {
        let outcome = run(cli(&harness, "table").args(["domains", "add", bad]));
        assert_eq!(outcome.code, 2, "{bad}: {}", outcome.stderr);
        assert!(
            outcome.stderr.contains("invalid domain"),
            "{bad}: {}",
            outcome.stderr
        );
        assert!(
            outcome.stderr.contains("nothing was sent"),
            "{}",
            outcome.stderr
        );
    }
    assert!(
        harness.mock().requests().is_empty(),
        "{:?}",
        harness.mock().requests()
    );
}

#[test]
fn a_missing_key_says_how_to_set_one_and_sends_nothing() {
    let harness = start(Propagation::default());
    let outcome =
        run(bare_sendmux().args(["--base-url", &harness.mock().base_url(), "domains", "list"]));
    assert_eq!(outcome.code, 2);
    assert!(
        outcome.stderr.contains("SENDMUX_API_KEY"),
        "{}",
        outcome.stderr
    );
    assert!(outcome.stderr.contains("--api-key"), "{}", outcome.stderr);
    assert!(outcome.stderr.contains("--mock"), "{}", outcome.stderr);
    assert!(harness.mock().requests().is_empty());
}

#[test]
fn api_errors_print_code_message_and_request_id() {
    let harness = start(Propagation::default());
    let outcome = run(cli(&harness, "table").args(["domains", "get", "mdom_doesnotexist"]));
    assert_eq!(outcome.code, 3, "{}", outcome.stderr);
    let line = outcome.stderr.lines().next().unwrap();
    assert!(line.starts_with("error: not_found: "), "{line}");
    let request_id = harness.mock().requests().last().unwrap().request_id.clone();
    assert!(
        line.contains(&format!("request {request_id}")),
        "{line} / {request_id}"
    );

    ok(cli(&harness, "table").args(["domains", "add", "mail.acme.com"]));
    let duplicate = run(cli(&harness, "table").args(["domains", "add", "mail.acme.com"]));
    assert_eq!(duplicate.code, 3);
    assert!(
        duplicate.stderr.starts_with("error: conflict: "),
        "{}",
        duplicate.stderr
    );
}

#[test]
fn network_errors_have_their_own_exit_code() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let outcome = run(bare_sendmux().args([
        "--base-url",
        &format!("http://127.0.0.1:{port}/api/v1"),
        "--api-key",
        "smx_root_cli_tests",
        "domains",
        "list",
    ]));
    assert_eq!(outcome.code, 4, "{}", outcome.stderr);
    assert!(outcome.stderr.contains("not sent"), "{}", outcome.stderr);
}

#[test]
fn verify_wait_exits_non_zero_on_failure_and_on_timeout() {
    let failing = start(Propagation::Fail);
    let id = add_domain(&failing);
    let failed =
        run(cli(&failing, "table").args(["domains", "verify", &id, "--wait", "--interval", "5ms"]));
    assert_eq!(failed.code, 6, "{}", failed.stderr);
    assert!(
        failed.stderr.contains("failed verification"),
        "{}",
        failed.stderr
    );

    let slow = start(Propagation::AfterVerifyCalls { calls: 1_000_000 });
    let id = add_domain(&slow);
    let timed_out = run(cli(&slow, "table").args([
        "domains",
        "verify",
        &id,
        "--wait",
        "--interval",
        "5ms",
        "--timeout",
        "100ms",
    ]));
    assert_eq!(timed_out.code, 5, "{}", timed_out.stderr);
    assert!(
        timed_out.stderr.contains("timed out"),
        "{}",
        timed_out.stderr
    );
    assert!(timed_out.stderr.contains("pending"), "{}", timed_out.stderr);
}

#[test]
fn usage_errors_exit_2_and_delete_needs_confirmation_in_scripts() {
    let harness = start(Propagation::default());
    let unknown_flag =
        run(cli(&harness, "table").args(["domains", "add", "mail.acme.com", "--colour"]));
    assert_eq!(unknown_flag.code, 2);

    let bad_limit = run(cli(&harness, "table").args(["domains", "list", "--limit", "0"]));
    assert_eq!(bad_limit.code, 2, "{}", bad_limit.stderr);
    assert!(bad_limit.stderr.contains("limit"), "{}", bad_limit.stderr);

    let unconfirmed = run(cli(&harness, "table")
        .args(["domains", "delete", "mdom_x"])
        .write_stdin(""));
    assert_eq!(unconfirmed.code, 2);
    assert!(
        unconfirmed.stderr.contains("--yes"),
        "{}",
        unconfirmed.stderr
    );
    assert!(harness.mock().requests().is_empty());
}

#[test]
fn mock_mode_runs_the_main_job_without_an_account() {
    let outcome = run(bare_sendmux().args([
        "--mock",
        "domains",
        "add",
        "mail.acme.com",
        "--output",
        "table",
    ]));
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    assert!(
        outcome.stderr.contains("embedded mock server"),
        "{}",
        outcome.stderr
    );
    assert!(
        outcome.stdout.contains("mail.acme.com"),
        "{}",
        outcome.stdout
    );
    assert!(outcome.stdout.contains("DNS records"), "{}", outcome.stdout);
    assert!(outcome.stdout.contains("CNAME"), "{}", outcome.stdout);
}

#[test]
fn mock_mode_says_how_to_keep_state_for_the_suggested_command() {
    let outcome =
        run(bare_sendmux().args(["--mock", "-o", "table", "domains", "add", "mail.acme.com"]));
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    assert!(
        outcome.stdout.contains("sendmux domains verify mdom_"),
        "{}",
        outcome.stdout
    );
    assert!(
        outcome.stderr.contains("state ended with this command"),
        "{}",
        outcome.stderr
    );
    assert!(
        outcome.stderr.contains("sendmux-mock --port 8080"),
        "{}",
        outcome.stderr
    );
    assert!(
        outcome
            .stderr
            .contains("--base-url http://127.0.0.1:8080/api/v1"),
        "{}",
        outcome.stderr
    );
    // Nothing suggested, nothing to say.
    let listed = run(bare_sendmux().args(["--mock", "-o", "json", "billing", "balance"]));
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    assert!(!listed.stderr.contains("sendmux-mock"), "{}", listed.stderr);
}

#[test]
fn a_base_url_without_api_v1_gets_a_hint() {
    let harness = start(Propagation::default());
    let base = harness.mock().base_url();
    let bare = base.strip_suffix("/api/v1").unwrap();
    let outcome = run(bare_sendmux().args([
        "--base-url",
        bare,
        "--api-key",
        "smx_root_cli_tests",
        "domains",
        "list",
    ]));
    assert_eq!(outcome.code, 3, "{}", outcome.stderr);
    assert!(
        outcome
            .stderr
            .contains(&format!("try --base-url {bare}/api/v1")),
        "{}",
        outcome.stderr
    );
    // A missing resource under the right base URL is no such case.
    let missing = run(cli(&harness, "table").args(["domains", "get", "mdom_nope"]));
    assert_eq!(missing.code, 3, "{}", missing.stderr);
    assert!(!missing.stderr.contains("hint"), "{}", missing.stderr);
}

#[test]
fn the_key_never_appears_in_verbose_output() {
    let harness = start(Propagation::default());
    let outcome = run(cli(&harness, "json").args(["--verbose", "domains", "list"]));
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    assert!(!outcome.stderr.is_empty(), "--verbose printed nothing");
    assert!(
        !outcome.stderr.contains("smx_root_cli_tests"),
        "{}",
        outcome.stderr
    );
    assert!(!outcome.stdout.contains("smx_root_cli_tests"));
}

/// Writes `contents` to a fresh file and returns it (deleted on drop).
fn key_file(contents: &[u8]) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(&mut file, contents).unwrap();
    file
}

/// `sendmux --base-url <mock> --output json` with no key.
fn keyless(harness: &Harness) -> Command {
    let mut command = bare_sendmux();
    command.args(["--base-url", &harness.mock().base_url(), "--output", "json"]);
    command
}

/// How many items a `-o json` list printed.
fn items(stdout: &str) -> usize {
    let list: serde_json::Value = serde_json::from_str(stdout).unwrap();
    list["items"].as_array().unwrap().len()
}

fn assert_no_secret(outcome: &crate::support::Outcome, secret: &str) {
    assert!(!outcome.stdout.contains(secret), "{}", outcome.stdout);
    assert!(!outcome.stderr.contains(secret), "{}", outcome.stderr);
}

#[test]
fn the_api_key_can_come_from_a_file() {
    let harness = start(Propagation::default());
    let secret = "smx_root_from_a_file_secret";
    let file = key_file(format!("{secret}\n").as_bytes());
    // The file wins over the environment (which holds no usable key here).
    let outcome = run(keyless(&harness)
        .env("SENDMUX_API_KEY", "not_a_key")
        .args(["--api-key-file"])
        .arg(file.path())
        .args(["domains", "list"]));
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    assert_eq!(items(&outcome.stdout), 0);
    assert_no_secret(&outcome, secret);
    assert_eq!(harness.mock().requests().len(), 1);
}

#[test]
fn the_api_key_can_come_from_stdin() {
    let harness = start(Propagation::default());
    let secret = "smx_root_from_stdin_secret";
    let outcome = run(keyless(&harness)
        .args(["--api-key", "-", "domains", "list"])
        .write_stdin(format!("{secret}\r\nnot the key\n")));
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    assert_eq!(items(&outcome.stdout), 0);
    assert_no_secret(&outcome, secret);

    let empty = run(keyless(&harness)
        .args(["--api-key", "-", "domains", "list"])
        .write_stdin(""));
    assert_eq!(empty.code, 2, "{}", empty.stderr);
    assert!(empty.stderr.contains("stdin"), "{}", empty.stderr);
    assert_eq!(harness.mock().requests().len(), 1);
}

#[test]
fn api_key_file_problems_are_usage_errors_that_name_the_path_only() {
    let harness = start(Propagation::default());
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-key");
    let leaky = key_file(b"smx_root_leaked_secret\xff\n");
    let empty = key_file(b"\n");
    for path in [missing.as_path(), dir.path(), leaky.path(), empty.path()] {
        let outcome = run(keyless(&harness)
            .arg("--api-key-file")
            .arg(path)
            .args(["domains", "list"]));
        assert_eq!(outcome.code, 2, "{}: {}", path.display(), outcome.stderr);
        assert!(
            outcome.stderr.contains(&path.display().to_string()),
            "{}",
            outcome.stderr
        );
        assert_no_secret(&outcome, "smx_root_leaked_secret");
    }

    let file = key_file(b"smx_root_from_a_file\n");
    let both = run(keyless(&harness)
        .args(["--api-key", "smx_root_flag", "--api-key-file"])
        .arg(file.path())
        .args(["domains", "list"]));
    assert_eq!(both.code, 2, "{}", both.stderr);
    assert!(both.stderr.contains("--api-key-file"), "{}", both.stderr);
    assert!(harness.mock().requests().is_empty());
}

#[test]
fn help_says_how_to_keep_the_key_out_of_the_process_list() {
    let outcome = run(bare_sendmux().arg("--help"));
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    // Help wraps to the terminal width; compare words, not lines.
    let words = outcome
        .stdout
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for needle in [
        "--api-key-file",
        "(SENDMUX_API_KEY)",
        "out of the process list",
    ] {
        assert!(words.contains(needle), "{needle}: {}", outcome.stdout);
    }
}

#[test]
fn help_never_prints_configuration_from_the_environment() {
    for args in [
        &["--help"][..],
        &["domains", "list", "--help"],
        &["api", "--help"],
    ] {
        let outcome = run(bare_sendmux()
            .env("SENDMUX_BASE_URL", "http://user:pw@example.invalid/api/v1")
            .env("SENDMUX_API_KEY", "smx_root_secret")
            .args(args));
        assert_eq!(outcome.code, 0, "{args:?}: {}", outcome.stderr);
        let all = format!("{}{}", outcome.stdout, outcome.stderr);
        assert!(all.contains("SENDMUX_BASE_URL"), "{args:?}: {all}");
        assert!(!all.contains("pw@"), "{args:?}: {all}");
        assert!(!all.contains("example.invalid"), "{args:?}: {all}");
        assert!(!all.contains("smx_root_secret"), "{args:?}: {all}");
    }
}

/// A server that accepts connections and never answers.
fn stalled_server() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    format!("http://{address}/api/v1")
}

/// `verify --wait --timeout 2s` against a server that stalls ends with the
/// timeout outcome (exit 5), cut by its own deadline rather than by the 30 s
/// attempt timeout under it (which would be exit 4).
#[test]
fn verify_wait_timeout_cuts_a_stalled_check() {
    let base = stalled_server();
    let outcome = run(bare_sendmux()
        .timeout(std::time::Duration::from_secs(25))
        .args([
            "--base-url",
            &base,
            "--api-key",
            "smx_root_cli_tests",
            "domains",
            "verify",
            "mdom_1",
            "--wait",
            "--timeout",
            "2s",
        ]));
    assert_eq!(outcome.code, 5, "stderr: {}", outcome.stderr);
    assert!(outcome.stderr.contains("timed out"), "{}", outcome.stderr);
}

/// A create whose attempts all lose their connection, the first after the
/// mock committed it: the CLI prints the key it used and the command that
/// finishes the create; running that command creates nothing twice.
#[test]
fn a_maybe_sent_add_prints_the_command_that_finishes_it() {
    use sendmux_mock::{FaultKind, FaultRule};
    // The first attempt commits, then every retry loses its connection
    // before the mock reads it: the outcome stays unknown.
    let harness = Harness::start(
        MockServer::builder()
            .seed(7)
            .fault(
                FaultRule::new(FaultKind::CloseAfterCommit, 1.0)
                    .on_operation("managementCreateDomain")
                    .times(1),
            )
            .fault(
                FaultRule::new(FaultKind::CloseBeforeHandler, 1.0)
                    .on_operation("managementCreateDomain")
                    .times(2),
            ),
    );
    let failed = run(cli(&harness, "table").args(["domains", "add", "mail.acme.com"]));
    assert_eq!(failed.code, 4, "stderr: {}", failed.stderr);
    let command = failed
        .stderr
        .lines()
        .map(str::trim)
        .find(|line| line.starts_with("sendmux "))
        .unwrap_or_else(|| panic!("no repeat command in:\n{}", failed.stderr))
        .to_owned();
    assert!(!command.contains("smx_root"), "{command}");
    let key = command
        .rsplit_once("--idempotency-key ")
        .map(|(_, key)| key.trim_matches('\''))
        .unwrap()
        .to_owned();
    // "caused by" appears once per cause: the message does not repeat it.
    let first = failed.stderr.lines().next().unwrap_or_default();
    let causes: Vec<&str> = failed
        .stderr
        .lines()
        .filter(|l| l.trim_start().starts_with("caused by:"))
        .collect();
    for cause in &causes {
        let text = cause.trim_start().trim_start_matches("caused by: ");
        assert!(!first.contains(text), "{first} repeats {text}");
    }

    let repeated = run(cli(&harness, "table").args([
        "domains",
        "add",
        "mail.acme.com",
        "--idempotency-key",
        &key,
    ]));
    assert_eq!(repeated.code, 0, "stderr: {}", repeated.stderr);
    let domains = harness.mock().domains(Some("smx_root_cli_tests"));
    assert_eq!(domains.len(), 1, "{domains:?}");
}

/// A base URL carrying credentials is refused before anything is sent, and
/// the password appears nowhere in the output.
#[test]
fn a_base_url_with_credentials_is_refused_without_echoing_it() {
    for url in [
        "http://:pw-hidden@127.0.0.1:9/api/v1",
        "http://user:pw-hidden@127.0.0.1:9/api/v1",
    ] {
        let outcome = run(bare_sendmux().args([
            "--base-url",
            url,
            "--api-key",
            "smx_root_cli_tests",
            "domains",
            "list",
        ]));
        assert_eq!(outcome.code, 2, "stderr: {}", outcome.stderr);
        let all = format!("{}{}", outcome.stdout, outcome.stderr);
        assert!(!all.contains("pw-hidden"), "{all}");
        assert!(all.contains("credentials"), "{all}");
    }
}
