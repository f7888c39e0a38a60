//! `sendmux api` (the built binary) against `sendmux-mock`: operations by
//! id and by METHOD PATH, `-f` parameters and body fields, `--input`,
//! `--paginate`, and the usage errors that send nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use assert_cmd::Command;
use sendmux_mock::MockServer;
use serde_json::Value;

use crate::support::{Harness, Outcome, run};

fn start() -> Harness {
    Harness::start(MockServer::builder().seed(11))
}

trait Api {
    fn api_with_key(&self, key: &str, args: &[&str]) -> Outcome;
    fn api(&self, args: &[&str]) -> Outcome;
    fn api_json(&self, args: &[&str]) -> Value;
    fn usage_error(&self, key: &str, args: &[&str]) -> String;
}

impl Api for Harness {
    /// `sendmux --base-url <mock> --api-key <key> api <args>`.
    fn api_with_key(&self, key: &str, args: &[&str]) -> Outcome {
        run(self.sendmux_with_key(key).arg("api").args(args))
    }

    fn api(&self, args: &[&str]) -> Outcome {
        self.api_with_key("smx_root_cli_api_tests", args)
    }

    /// Runs `api` expecting success and returns stdout as JSON.
    fn api_json(&self, args: &[&str]) -> Value {
        let outcome = self.api(args);
        assert_eq!(
            outcome.code, 0,
            "sendmux api {args:?}\nstderr: {}\nstdout: {}",
            outcome.stderr, outcome.stdout
        );
        serde_json::from_str(&outcome.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", outcome.stdout))
    }

    /// Asserts a usage error (exit 2) that sent nothing; returns stderr.
    fn usage_error(&self, key: &str, args: &[&str]) -> String {
        self.mock().clear_requests();
        let outcome = self.api_with_key(key, args);
        assert_eq!(
            outcome.code, 2,
            "sendmux api {args:?}\nstderr: {}\nstdout: {}",
            outcome.stderr, outcome.stdout
        );
        assert!(outcome.stdout.is_empty(), "{}", outcome.stdout);
        assert!(
            self.mock().requests().is_empty(),
            "sendmux api {args:?} sent {:?}",
            self.mock().requests()
        );
        outcome.stderr
    }
}

#[test]
fn create_get_and_paginate_by_id_and_by_path() {
    let harness = start();

    // A body field by `-f`; the 201 body is printed as received.
    harness.mock().clear_requests();
    let created = harness.api_json(&["managementCreateDomain", "-f", "domain=a.example.com"]);
    assert_eq!(created["ok"], true, "{created}");
    assert_eq!(created["data"]["domain"], "a.example.com", "{created}");
    let id = created["data"]["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("mdom_"), "{id}");
    let requests = harness.mock().requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0].status, Some(201));
    assert!(
        requests[0]
            .idempotency_key
            .as_deref()
            .is_some_and(|k| !k.is_empty()),
        "an Idempotency-Key is sent automatically: {:?}",
        requests[0]
    );

    // An explicit key, and JSON-typed body values.
    harness.mock().clear_requests();
    harness.api_json(&[
        "managementCreateDomain",
        "-f",
        "domain=b.example.com",
        "-f",
        "mode=send_only",
        "--idempotency-key",
        "cli-api-test-key-1",
    ]);
    let requests = harness.mock().requests();
    assert_eq!(
        requests[0].idempotency_key.as_deref(),
        Some("cli-api-test-key-1")
    );

    // The body from a file with --input, and an extra header with -H.
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("body.json");
    std::fs::write(&body, r#"{"domain": "c.example.com"}"#).unwrap();
    harness.mock().clear_requests();
    let third = harness.api_json(&[
        "POST",
        "/domains",
        "--input",
        body.to_str().unwrap(),
        "-H",
        "X-Cli-Test: yes",
    ]);
    assert_eq!(third["data"]["domain"], "c.example.com", "{third}");
    let requests = harness.mock().requests();
    assert!(
        requests[0]
            .headers
            .iter()
            .any(|(n, v)| n.eq_ignore_ascii_case("x-cli-test") && v == "yes"),
        "{:?}",
        requests[0].headers
    );

    // By template with `-f`, and by concrete path.
    for args in [
        vec!["GET", "/domains/{public_id}", "-f"],
        vec!["managementGetDomain", "-f"],
    ] {
        let field = format!("public_id={id}");
        let mut args = args;
        args.push(&field);
        let got = harness.api_json(&args);
        assert_eq!(got["data"]["id"], id.as_str(), "{args:?}: {got}");
    }
    let path = format!("/domains/{id}");
    let got = harness.api_json(&["GET", &path]);
    assert_eq!(got["data"]["id"], id.as_str(), "{got}");
    assert_eq!(got["data"]["domain"], "a.example.com", "{got}");
    let got = harness.api_json(&[&path]);
    assert_eq!(
        got["data"]["id"],
        id.as_str(),
        "a lone PATH is a GET: {got}"
    );

    // --paginate with 2 per page: all 3 domains, in the list shape of the
    // typed commands.
    harness.mock().clear_requests();
    let all = harness.api_json(&["managementListDomains", "--paginate", "-f", "limit=2"]);
    assert_eq!(all["next_cursor"], Value::Null, "{all}");
    let domains: Vec<&str> = all["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items array: {all}"))
        .iter()
        .map(|d| d["domain"].as_str().unwrap())
        .collect();
    assert_eq!(domains.len(), 3, "{all}");
    for name in ["a.example.com", "b.example.com", "c.example.com"] {
        assert!(domains.contains(&name), "{name} missing from {domains:?}");
    }
    assert_eq!(harness.mock().requests().len(), 2, "two pages of two");

    // Without --paginate: the first page's envelope as received.
    let page = harness.api_json(&["managementListDomains", "-f", "limit=2"]);
    assert_eq!(page["data"].as_array().unwrap().len(), 2, "{page}");
    assert_eq!(page["pagination"]["has_more"], true, "{page}");

    // A text/plain body is written as it is.
    let zone = harness.api(&[
        "managementGetDomainZoneFile",
        "-f",
        &format!("public_id={id}"),
    ]);
    assert_eq!(zone.code, 0, "{}", zone.stderr);
    assert!(zone.stdout.contains("a.example.com"), "{}", zone.stdout);
    assert!(serde_json::from_str::<Value>(&zone.stdout).is_err());
}

#[test]
fn api_errors_exit_3_with_code_and_request_id() {
    let harness = start();
    let outcome = harness.api(&["GET", "/domains/mdom_does_not_exist"]);
    assert_eq!(outcome.code, 3, "{}", outcome.stderr);
    assert!(outcome.stderr.contains("not_found"), "{}", outcome.stderr);

    // A refusal with a body: a mailbox on a domain the team does not have.
    let outcome = harness.api(&[
        "managementCreateMailbox",
        "-f",
        "email=a@nowhere.example.com",
    ]);
    assert_eq!(outcome.code, 3, "{}", outcome.stderr);
    assert!(
        outcome.stderr.contains("validation_error") && outcome.stderr.contains("HTTP 422"),
        "{}",
        outcome.stderr
    );
    assert!(outcome.stdout.is_empty(), "{}", outcome.stdout);
}

#[test]
fn usage_errors_exit_2_and_send_nothing() {
    let harness = start();
    let root = "smx_root_cli_api_tests";

    let stderr = harness.usage_error(root, &["managementNoSuchThing"]);
    assert!(stderr.contains("managementNoSuchThing"), "{stderr}");
    assert!(stderr.contains("is not an operation"), "{stderr}");

    let stderr = harness.usage_error(root, &["GET", "/no/such/path"]);
    assert!(stderr.contains("no operation answers"), "{stderr}");

    let stderr = harness.usage_error(root, &["GET"]);
    assert!(stderr.contains("give the PATH"), "{stderr}");

    // Missing path parameter, by id and by template.
    for args in [
        &["managementGetDomain"][..],
        &["GET", "/domains/{public_id}"][..],
    ] {
        let stderr = harness.usage_error(root, args);
        assert!(stderr.contains("public_id"), "{args:?}: {stderr}");
        assert!(stderr.contains("nothing was sent"), "{args:?}: {stderr}");
    }

    // An unknown -f name on an operation without a body.
    let stderr = harness.usage_error(root, &["managementListDomains", "-f", "colour=blue"]);
    assert!(stderr.contains("colour"), "{stderr}");
    assert!(stderr.contains("cursor, limit"), "{stderr}");
    let stderr = harness.usage_error(root, &["managementListDomains", "-f", "limit"]);
    assert!(stderr.contains("NAME=VALUE"), "{stderr}");

    // A key of the wrong surface, both ways.
    let stderr = harness.usage_error(root, &["mailboxGetMe"]);
    assert!(stderr.contains("smx_root_"), "{stderr}");
    assert!(stderr.contains("smx_mbx_"), "{stderr}");
    let stderr = harness.usage_error("smx_mbx_cli_api_tests", &["managementListDomains"]);
    assert!(stderr.contains("smx_root_"), "{stderr}");

    // --paginate on an operation that is not a list.
    let stderr = harness.usage_error(
        root,
        &[
            "managementGetDomain",
            "-f",
            "public_id=mdom_1",
            "--paginate",
        ],
    );
    assert!(stderr.contains("--paginate"), "{stderr}");

    // Body fields and --input together; a body that is not JSON.
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("body.json");
    std::fs::write(&body, "domain: not json").unwrap();
    let stderr = harness.usage_error(
        root,
        &[
            "managementCreateDomain",
            "-f",
            "domain=x.example.com",
            "--input",
            body.to_str().unwrap(),
        ],
    );
    assert!(stderr.contains("--input"), "{stderr}");
    let stderr = harness.usage_error(
        root,
        &["managementCreateDomain", "--input", body.to_str().unwrap()],
    );
    assert!(stderr.contains("not JSON"), "{stderr}");

    // A body where the operation takes none; a header that is not `Name: value`.
    let stderr = harness.usage_error(
        root,
        &["managementListDomains", "--input", body.to_str().unwrap()],
    );
    assert!(stderr.contains("body"), "{stderr}");
    let stderr = harness.usage_error(root, &["managementListDomains", "-H", "no colon"]);
    assert!(stderr.contains("Name: value"), "{stderr}");

    // An idempotency key where the operation takes none.
    let stderr = harness.usage_error(root, &["managementListDomains", "--idempotency-key", "k1"]);
    assert!(stderr.contains("Idempotency-Key"), "{stderr}");
}

#[test]
fn api_works_with_the_embedded_mock_and_has_examples_in_help() {
    let mut command = Command::cargo_bin("sendmux").unwrap();
    command
        .env_remove("SENDMUX_API_KEY")
        .env_remove("SENDMUX_BASE_URL")
        .env_remove("RUST_LOG")
        .timeout(Duration::from_secs(60))
        .args(["--mock", "api", "managementListDomains", "--paginate"]);
    let outcome = run(&mut command);
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    let list: Value = serde_json::from_str(&outcome.stdout).unwrap();
    assert_eq!(list, serde_json::json!({"items": [], "next_cursor": null}));

    let mut command = Command::cargo_bin("sendmux").unwrap();
    command.args(["api", "--help"]);
    let help = run(&mut command);
    assert_eq!(help.code, 0);
    assert!(
        help.stdout
            .contains("sendmux api managementListDomains --paginate"),
        "{}",
        help.stdout
    );
    assert!(
        help.stdout
            .contains("sendmux api GET /domains/{public_id} -f public_id=mdom_..."),
        "{}",
        help.stdout
    );
}
