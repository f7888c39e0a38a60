//! What the CLI test modules share: a mock server on its own runtime, the
//! built `sendmux` with no inherited configuration, and captured outcomes.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use assert_cmd::Command;
use sendmux_mock::{MockServer, MockServerBuilder};
use serde_json::Value;

/// A mock server on its own runtime, so the test thread can block on the CLI.
pub(crate) struct Harness {
    runtime: tokio::runtime::Runtime,
    mock: Option<MockServer>,
}

impl Harness {
    /// Starts the mock `builder` describes.
    pub(crate) fn start(builder: MockServerBuilder) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let mock = runtime.block_on(builder.start()).unwrap();
        Self {
            runtime,
            mock: Some(mock),
        }
    }

    pub(crate) fn mock(&self) -> &MockServer {
        self.mock.as_ref().unwrap()
    }

    /// `sendmux` pointed at the mock with `key`.
    pub(crate) fn sendmux_with_key(&self, key: &str) -> Command {
        let mut command = bare_sendmux();
        command.args(["--base-url", &self.mock().base_url(), "--api-key", key]);
        command
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(mock) = self.mock.take() {
            self.runtime.block_on(mock.shutdown());
        }
    }
}

/// The built `sendmux`, with no key, base URLs, profile or log filter
/// inherited (the configuration folder is one that does not exist).
pub(crate) fn bare_sendmux() -> Command {
    let mut command = Command::cargo_bin("sendmux").unwrap();
    command
        .env_remove("SENDMUX_API_KEY")
        .env_remove("SENDMUX_BASE_URL")
        .env_remove("SENDMUX_SENDING_BASE_URL")
        .env_remove("SENDMUX_PROFILE")
        .env("SENDMUX_CONFIG_DIR", no_config_dir())
        .env_remove("RUST_LOG")
        .timeout(Duration::from_secs(60));
    command
}

/// A configuration folder that does not exist, so no saved profile of the
/// machine's user reaches a test.
pub(crate) fn no_config_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("sendmux-tests-no-config-{}", std::process::id()))
}

/// Exit code and output of one run.
pub(crate) struct Outcome {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

pub(crate) fn run(command: &mut Command) -> Outcome {
    let output = command.output().unwrap();
    Outcome {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

pub(crate) fn cli(harness: &Harness, format: &str) -> Command {
    let mut command = harness.sendmux_with_key("smx_root_cli_tests");
    command.args(["--output", format]);
    command
}

pub(crate) fn ok(command: &mut Command) -> Outcome {
    let outcome = run(command);
    assert_eq!(
        outcome.code, 0,
        "stderr: {}\nstdout: {}",
        outcome.stderr, outcome.stdout
    );
    outcome
}

/// A mock from `builder` (on a manual clock, domains verified at the first
/// verify call) with a verified `mail.acme.com` and a mailbox `address` on
/// it, made through the CLI with `root_key`; and that mailbox's key.
pub(crate) fn start_with_mailbox(
    builder: MockServerBuilder,
    root_key: &str,
    address: &str,
) -> (Harness, String) {
    let harness = Harness::start(
        builder
            .clock(sendmux_mock::ManualClock::default())
            .propagation(sendmux_mock::Propagation::AfterVerifyCalls { calls: 1 }),
    );
    let root = |args: &[&str]| -> Value {
        let outcome = ok(harness
            .sendmux_with_key(root_key)
            .args(["-o", "json"])
            .args(args));
        serde_json::from_str(&outcome.stdout).unwrap()
    };
    let domain = root(&["domains", "add", "mail.acme.com"]);
    let domain_id = domain["id"].as_str().unwrap().to_owned();
    let verified = root(&["domains", "verify", &domain_id]);
    assert_eq!(verified["status"], "verified", "{verified}");
    let created = root(&["mailboxes", "create", address]);
    let key = created["credential"]["secret"].as_str().unwrap().to_owned();
    assert!(key.starts_with("smx_mbx_"), "{created}");
    (harness, key)
}

pub(crate) fn json(harness: &Harness, args: &[&str]) -> Value {
    serde_json::from_str(&ok(cli(harness, "json").args(args)).stdout).unwrap()
}

/// The value of the `title` row of a detail table.
pub(crate) fn row(table: &str, title: &str) -> String {
    table
        .lines()
        .find_map(|line| {
            let rest = line.trim().strip_prefix(title)?;
            rest.starts_with("  ").then(|| rest.trim().to_owned())
        })
        .unwrap_or_else(|| panic!("no {title} row in:\n{table}"))
}
