//! Profiles: `auth login` checks a key against the mock and saves it in a
//! private file, later commands use it with no key in the environment,
//! `--profile` picks one, a flag beats the environment which beats the
//! profile, `auth status` never shows a key, `auth logout` removes one.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::Path;

use assert_cmd::Command;
use sendmux_mock::{ManualClock, MockServer};
use serde_json::Value;

use crate::support::{Harness, Outcome, bare_sendmux, ok, run};

const KEY_A: &str = "smx_root_profile_a_0123456789AAAA";
const KEY_B: &str = "smx_root_profile_b_0123456789BBBB";
const KEY_C: &str = "smx_root_flag_key_c_0123456789CCCC";

fn start() -> Harness {
    Harness::start(MockServer::builder().seed(7).clock(ManualClock::default()))
}

/// `sendmux` with its profiles in `config`, no key, no base URL.
fn sendmux(config: &Path) -> Command {
    let mut command = bare_sendmux();
    command
        .env("SENDMUX_CONFIG_DIR", config)
        .args(["-o", "json"]);
    command
}

/// `auth login` with `key` on stdin, against the mock.
fn login(harness: &Harness, config: &Path, profile: Option<&str>, key: &str) -> Outcome {
    let mut command = sendmux(config);
    command.args(["auth", "login", "--base-url", &harness.mock().base_url()]);
    if let Some(profile) = profile {
        command.args(["--profile", profile]);
    }
    run(command.write_stdin(format!("{key}\n")))
}

/// Adds a domain with whatever key the settings give, and says in whose
/// team it landed (each key is a team of its own in the mock).
fn add_domain_lands_with(harness: &Harness, command: &mut Command, name: &str) -> &'static str {
    ok(command.args(["domains", "add", name]));
    for key in [KEY_A, KEY_B, KEY_C] {
        if harness
            .mock()
            .domains(Some(key))
            .iter()
            .any(|d| d.domain == name)
        {
            return key;
        }
    }
    panic!("{name} landed in no known team");
}

fn assert_no_key(outcome: &Outcome, key: &str) {
    assert!(!outcome.stdout.contains(key), "{}", outcome.stdout);
    assert!(!outcome.stderr.contains(key), "{}", outcome.stderr);
}

#[test]
fn login_saves_a_private_file_that_later_commands_use() {
    let harness = start();
    let config = tempfile::tempdir().unwrap();
    let dir = config.path().join("nested");

    let saved = login(&harness, &dir, None, KEY_A);
    assert_eq!(saved.code, 0, "{}", saved.stderr);
    assert_no_key(&saved, KEY_A);
    let answer: Value = serde_json::from_str(&saved.stdout).unwrap();
    assert_eq!(answer["profile"], "default");
    assert_eq!(answer["key"], "smx_root_…AAAA");
    // The check was one read-only call.
    let requests = harness.mock().requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0].method, "GET", "{requests:?}");

    let file = dir.join("config.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains(KEY_A), "the file holds the key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{mode:o}");
    }

    // No key and no base URL given: both come from the profile.
    let landed = add_domain_lands_with(&harness, &mut sendmux(&dir), "a.example.com");
    assert_eq!(landed, KEY_A);

    // Logging in again replaces the key and keeps the file private.
    let again = login(&harness, &dir, None, KEY_B);
    assert_eq!(again.code, 0, "{}", again.stderr);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains(KEY_B) && !text.contains(KEY_A), "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
}

#[test]
fn a_key_the_api_refuses_is_not_saved() {
    let harness = Harness::start(MockServer::builder().seed(7).accept_key(KEY_A));
    let config = tempfile::tempdir().unwrap();
    let refused = login(&harness, config.path(), None, KEY_B);
    assert_eq!(refused.code, 3, "{}", refused.stderr);
    assert!(refused.stderr.contains("not saved"), "{}", refused.stderr);
    assert_no_key(&refused, KEY_B);
    assert!(!config.path().join("config.toml").exists());

    let malformed = login(&harness, config.path(), None, "not-a-key");
    assert_eq!(malformed.code, 2, "{}", malformed.stderr);
    assert_no_key(&malformed, "not-a-key");
    assert!(!config.path().join("config.toml").exists());

    // --no-check saves without a call.
    harness.mock().clear_requests();
    let unchecked = run(sendmux(config.path())
        .args(["auth", "login", "--no-check"])
        .write_stdin(format!("{KEY_B}\n")));
    assert_eq!(unchecked.code, 0, "{}", unchecked.stderr);
    assert!(harness.mock().requests().is_empty());
    assert!(config.path().join("config.toml").exists());
}

#[test]
fn a_mailbox_key_is_checked_as_the_mailbox() {
    let harness = start();
    let created = ok(harness.sendmux_with_key(KEY_A).args([
        "-o",
        "json",
        "mailboxes",
        "create",
        "agent@myagent.mx",
    ]));
    let created: Value = serde_json::from_str(&created.stdout).unwrap();
    let key = created["credential"]["secret"].as_str().unwrap().to_owned();
    let config = tempfile::tempdir().unwrap();
    harness.mock().clear_requests();

    let saved = login(&harness, config.path(), Some("agent"), &key);
    assert_eq!(saved.code, 0, "{}", saved.stderr);
    assert_no_key(&saved, &key);
    let requests = harness.mock().requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert!(requests[0].path.ends_with("/mailbox/me"), "{requests:?}");
}

#[test]
fn profile_picks_between_two_and_a_flag_beats_the_environment_which_beats_the_profile() {
    let harness = start();
    let config = tempfile::tempdir().unwrap();
    let dir = config.path();
    assert_eq!(login(&harness, dir, None, KEY_A).code, 0);
    assert_eq!(login(&harness, dir, Some("work"), KEY_B).code, 0);

    let lands = |command: &mut Command, name: &str| add_domain_lands_with(&harness, command, name);
    assert_eq!(lands(&mut sendmux(dir), "default.example.com"), KEY_A);
    assert_eq!(
        lands(sendmux(dir).args(["--profile", "work"]), "flag.example.com"),
        KEY_B
    );
    assert_eq!(
        lands(
            sendmux(dir).env("SENDMUX_PROFILE", "work"),
            "env.example.com"
        ),
        KEY_B
    );
    // The flag names the profile over the environment.
    assert_eq!(
        lands(
            sendmux(dir)
                .env("SENDMUX_PROFILE", "work")
                .args(["--profile", "default"]),
            "both.example.com"
        ),
        KEY_A
    );

    // The environment's key beats the profile's, and says so when the
    // profile was chosen on purpose.
    let mut env_key = sendmux(dir);
    env_key
        .env("SENDMUX_API_KEY", KEY_C)
        .args(["--profile", "work"]);
    let outcome = ok(env_key.args(["domains", "add", "envkey.example.com"]));
    assert!(
        outcome.stderr.contains("SENDMUX_API_KEY wins"),
        "{}",
        outcome.stderr
    );
    assert_eq!(harness.mock().domain_count(KEY_C), 1);
    // A flag beats the environment.
    let mut flag_key = sendmux(dir);
    flag_key
        .env("SENDMUX_API_KEY", KEY_B)
        .args(["--api-key", KEY_A]);
    assert_eq!(lands(&mut flag_key, "flagkey.example.com"), KEY_A);

    // A profile named on purpose must exist.
    let missing = run(sendmux(dir).args(["--profile", "nope", "domains", "list"]));
    assert_eq!(missing.code, 2, "{}", missing.stderr);
    assert!(
        missing.stderr.contains("auth login --profile nope"),
        "{}",
        missing.stderr
    );
}

#[test]
fn status_shows_where_settings_come_from_but_never_a_key() {
    let harness = start();
    let config = tempfile::tempdir().unwrap();
    let dir = config.path();
    assert_eq!(login(&harness, dir, None, KEY_A).code, 0);
    assert_eq!(login(&harness, dir, Some("work"), KEY_B).code, 0);

    let status = ok(sendmux(dir).args(["auth", "status"]));
    for key in [KEY_A, KEY_B] {
        assert_no_key(&status, key);
    }
    let shown: Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(shown["profile"], "default", "{shown}");
    assert_eq!(shown["key"], "smx_root_…AAAA", "{shown}");
    assert_eq!(shown["key_from"], "profile default", "{shown}");
    assert_eq!(shown["base_url"], harness.mock().base_url(), "{shown}");
    assert_eq!(shown["profiles"].as_array().unwrap().len(), 2, "{shown}");
    assert_eq!(
        shown["config_file"],
        dir.join("config.toml").display().to_string()
    );

    let from_env = ok(sendmux(dir).env("SENDMUX_API_KEY", KEY_C).args([
        "-o",
        "table",
        "auth",
        "status",
        "--profile",
        "work",
    ]));
    for key in [KEY_A, KEY_B, KEY_C] {
        assert_no_key(&from_env, key);
    }
    assert!(
        from_env.stdout.contains("SENDMUX_API_KEY"),
        "{}",
        from_env.stdout
    );
    assert!(
        from_env.stdout.contains("smx_root_…CCCC"),
        "{}",
        from_env.stdout
    );
    assert!(from_env.stdout.contains("work"), "{}", from_env.stdout);

    // Nothing saved: status says how to log in.
    let empty = tempfile::tempdir().unwrap();
    let none = ok(sendmux(empty.path()).args(["-o", "table", "auth", "status"]));
    assert!(
        none.stdout.contains("sendmux auth login"),
        "{}",
        none.stdout
    );
}

#[test]
fn logout_removes_the_profile() {
    let harness = start();
    let config = tempfile::tempdir().unwrap();
    let dir = config.path();
    assert_eq!(login(&harness, dir, None, KEY_A).code, 0);
    assert_eq!(login(&harness, dir, Some("work"), KEY_B).code, 0);

    ok(sendmux(dir).args(["auth", "logout", "--profile", "work"]));
    let text = std::fs::read_to_string(dir.join("config.toml")).unwrap();
    assert!(!text.contains(KEY_B) && text.contains(KEY_A), "{text}");
    let gone = run(sendmux(dir).args(["auth", "logout", "--profile", "work"]));
    assert_eq!(gone.code, 2, "{}", gone.stderr);

    ok(sendmux(dir).args(["auth", "logout"]));
    let keyless = run(sendmux(dir).args(["domains", "list"]));
    assert_eq!(keyless.code, 2, "{}", keyless.stderr);
    assert!(keyless.stderr.contains("auth login"), "{}", keyless.stderr);
}

#[test]
fn a_broken_profile_file_is_refused_without_quoting_it() {
    let config = tempfile::tempdir().unwrap();
    let file = config.path().join("config.toml");
    std::fs::write(
        &file,
        format!("[profiles.default]\napi_key = \"{KEY_A}\"\nbase_url = [unclosed\n"),
    )
    .unwrap();
    let outcome = run(sendmux(config.path()).args(["domains", "list"]));
    assert_eq!(outcome.code, 2, "{}", outcome.stderr);
    assert!(outcome.stderr.contains("config.toml"), "{}", outcome.stderr);
    assert!(outcome.stderr.contains("line 3"), "{}", outcome.stderr);
    assert_no_key(&outcome, KEY_A);
}

/// Requests that reached the mock's Sending API port, and its main port.
fn requests_by_port(harness: &Harness) -> (usize, usize) {
    let sending = harness.mock().sending_addr().port();
    let requests = harness.mock().requests();
    let on_sending = requests.iter().filter(|r| r.port == sending).count();
    (on_sending, requests.len() - on_sending)
}

#[test]
fn a_profile_sending_base_url_is_used_by_send_unless_a_flag_or_the_environment_says_otherwise() {
    let harness = start();
    let created = ok(harness.sendmux_with_key(KEY_A).args([
        "-o",
        "json",
        "mailboxes",
        "create",
        "agent@myagent.mx",
    ]));
    let created: Value = serde_json::from_str(&created.stdout).unwrap();
    let key = created["credential"]["secret"].as_str().unwrap().to_owned();
    let config = tempfile::tempdir().unwrap();
    let dir = config.path();
    let sending_url = harness.mock().sending_base_url();

    // Saved with the profile, after the usual check on the main port.
    let saved = ok(sendmux(dir)
        .args(["auth", "login", "--profile", "agent"])
        .args(["--base-url", &harness.mock().base_url()])
        .args(["--sending-base-url", &sending_url])
        .write_stdin(format!("{key}\n")));
    assert_no_key(&saved, &key);
    let answer: Value = serde_json::from_str(&saved.stdout).unwrap();
    assert_eq!(answer["sending_base_url"], sending_url.as_str(), "{answer}");
    let text = std::fs::read_to_string(dir.join("config.toml")).unwrap();
    assert!(
        text.contains(&format!("sending_base_url = \"{sending_url}\"")),
        "{text}"
    );

    // No flag, no environment: `send` goes to the profile's Sending API.
    harness.mock().clear_requests();
    let send = |command: &mut Command| {
        run(command
            .args(["--profile", "agent", "send", "--from", "agent@myagent.mx"])
            .args([
                "--to",
                "ada@example.com",
                "--subject",
                "Hi",
                "--html",
                "<p>Hello</p>",
            ]))
    };
    let sent = send(&mut sendmux(dir));
    assert_eq!(sent.code, 0, "{}", sent.stderr);
    assert_eq!(requests_by_port(&harness), (1, 0));
    assert_eq!(harness.mock().outbox().len(), 1);

    // A batch too, one request for both lines.
    let batch = dir.join("batch.jsonl");
    let line = |to: &str| {
        serde_json::json!({
            "from": "agent@myagent.mx", "to": to, "subject": "Hi", "html": "<p>Hello</p>",
        })
        .to_string()
    };
    std::fs::write(
        &batch,
        format!(
            "{}\n{}\n",
            line("ada@example.com"),
            line("grace@example.com")
        ),
    )
    .unwrap();
    harness.mock().clear_requests();
    ok(sendmux(dir).args([
        "--profile",
        "agent",
        "send",
        "--batch",
        batch.to_str().unwrap(),
    ]));
    assert_eq!(requests_by_port(&harness), (1, 0));
    assert_eq!(harness.mock().outbox().len(), 3);

    // The flag, and the environment, win over the profile: the send goes
    // to another mock's Sending API, and none reaches this one.
    let other = start();
    let other_url = other.mock().sending_base_url();
    for (sent, command) in [
        sendmux(dir).args(["--sending-base-url", &other_url]),
        sendmux(dir).env("SENDMUX_SENDING_BASE_URL", &other_url),
    ]
    .into_iter()
    .enumerate()
    {
        harness.mock().clear_requests();
        other.mock().clear_requests();
        let elsewhere = send(command);
        assert_eq!(elsewhere.code, 0, "{}", elsewhere.stderr);
        assert_eq!(requests_by_port(&harness), (0, 0));
        assert_eq!(requests_by_port(&other), (1, 0));
        assert_eq!(other.mock().outbox().len(), sent + 1);
        assert_eq!(harness.mock().outbox().len(), 3);
    }
    let main_url = harness.mock().base_url();

    // Logging in again without the flag keeps the saved URL.
    ok(sendmux(dir)
        .args(["auth", "login", "--profile", "agent", "--no-check"])
        .write_stdin(format!("{key}\n")));

    // `auth status` shows it, and where it came from.
    let status = |command: &mut Command| -> Value {
        let shown = ok(command.args(["auth", "status", "--profile", "agent"]));
        assert_no_key(&shown, &key);
        serde_json::from_str(&shown.stdout).unwrap()
    };
    let shown = status(&mut sendmux(dir));
    assert_eq!(shown["sending_base_url"], sending_url.as_str(), "{shown}");
    assert_eq!(shown["sending_base_url_from"], "profile agent", "{shown}");
    assert_eq!(
        shown["profiles"][0]["sending_base_url"],
        sending_url.as_str(),
        "{shown}"
    );
    let shown = status(sendmux(dir).args(["--sending-base-url", &main_url]));
    assert_eq!(shown["sending_base_url"], main_url.as_str(), "{shown}");
    assert_eq!(
        shown["sending_base_url_from"], "--sending-base-url",
        "{shown}"
    );
    let shown = status(sendmux(dir).env("SENDMUX_SENDING_BASE_URL", &main_url));
    assert_eq!(
        shown["sending_base_url_from"], "SENDMUX_SENDING_BASE_URL",
        "{shown}"
    );
    let table = ok(sendmux(dir).args(["-o", "table", "auth", "status", "--profile", "agent"]));
    assert_eq!(
        crate::support::row(&table.stdout, "Sending base URL"),
        sending_url
    );
    assert_eq!(
        crate::support::row(&table.stdout, "Sending base URL from"),
        "profile agent"
    );

    // A profile without one: the Sending API's own host.
    assert_eq!(login(&harness, dir, None, KEY_A).code, 0);
    let shown = ok(sendmux(dir).args(["auth", "status"]));
    let shown: Value = serde_json::from_str(&shown.stdout).unwrap();
    assert_eq!(
        shown["sending_base_url"],
        sendmux_client::DEFAULT_SENDING_BASE_URL,
        "{shown}"
    );
    assert_eq!(shown["sending_base_url_from"], "default", "{shown}");
}

#[test]
fn a_malformed_sending_base_url_is_not_saved() {
    let harness = start();
    let config = tempfile::tempdir().unwrap();
    let refused = run(sendmux(config.path())
        .args(["auth", "login", "--base-url", &harness.mock().base_url()])
        .args(["--sending-base-url", "not a url"])
        .write_stdin(format!("{KEY_A}\n")));
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(harness.mock().requests().is_empty());
    assert!(!config.path().join("config.toml").exists());
}
