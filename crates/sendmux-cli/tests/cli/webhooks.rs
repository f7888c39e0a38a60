//! `sendmux webhooks` against `sendmux-mock`: the subscription lifecycle,
//! the signing secret printed once, and `webhooks listen` receiving the
//! mock's real signed deliveries (verified, rejected, forwarded).
//! Table output is compared with `tests/expected/webhooks-*.txt`
//! (regenerate with `EXPECTORATE=overwrite`).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use sendmux_mock::{ManualClock, MockServer};
use serde_json::Value;

use crate::support::{Harness, Outcome, cli, json, ok, row, run};

/// A mock that delivers to plain `http://` loopback endpoints, once per event.
fn start() -> Harness {
    Harness::start(
        MockServer::builder()
            .seed(7)
            .clock(ManualClock::default())
            .allow_http_webhooks(true)
            .webhook_retry(1, Duration::from_millis(10)),
    )
}

fn expect(name: &str, actual: &str) {
    expectorate::assert_contents(format!("tests/expected/webhooks-{name}.txt"), actual);
}

#[test]
fn webhook_lifecycle_in_table_output() {
    let harness = start();
    let sendmux = |args: &[&str]| ok(cli(&harness, "table").args(args)).stdout;

    let created = ok(cli(&harness, "table").args([
        "webhooks",
        "create",
        "--url",
        "https://hooks.acme.com/sendmux",
        "--event",
        "message.bounced,message.complained",
        "--event",
        "sendmux.test",
        "--name",
        "bounces",
    ]));
    expect("create", &created.stdout);
    let secret = row(&created.stdout, "Signing secret");
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert!(
        created
            .stderr
            .contains("only time the signing secret is shown"),
        "{}",
        created.stderr
    );
    assert!(!created.stderr.contains(&secret), "{}", created.stderr);
    let id = row(&created.stdout, "ID");

    let got = sendmux(&["webhooks", "get", &id]);
    expect("get", &got);
    assert!(!got.contains("whsec_"), "{got}");
    let listed = sendmux(&["webhooks", "list"]);
    expect("list", &listed);
    assert!(!listed.contains("whsec_"), "{listed}");

    expect(
        "update",
        &sendmux(&["webhooks", "update", &id, "--disable", "--clear-name"]),
    );

    let rotated = ok(cli(&harness, "table").args(["webhooks", "rotate-secret", &id]));
    let new_secret = row(&rotated.stdout, "Signing secret");
    assert!(new_secret.starts_with("whsec_") && new_secret != secret);
    assert!(
        rotated
            .stderr
            .contains("only time the signing secret is shown"),
        "{}",
        rotated.stderr
    );
    assert!(!sendmux(&["webhooks", "get", &id]).contains(&new_secret));

    expect("delete", &sendmux(&["webhooks", "delete", &id, "--yes"]));
    expect("list-empty", &sendmux(&["webhooks", "list"]));
}

#[test]
fn bad_input_is_refused_before_anything_is_sent() {
    let harness = start();
    for args in [
        &["webhooks", "create", "--url", "https://h.example/x"][..],
        &[
            "webhooks",
            "create",
            "--url",
            "https://h.example/x",
            "--event",
            "message.exploded",
        ],
        &[
            "webhooks",
            "create",
            "--url",
            "not a url",
            "--event",
            "sendmux.test",
        ],
        &["webhooks", "update", "whk_1"],
        &["webhooks", "delete", "whk_1"],
    ] {
        let outcome = run(cli(&harness, "table").args(args).write_stdin(""));
        assert_eq!(outcome.code, 2, "{args:?}: {}", outcome.stderr);
    }
    assert!(harness.mock().requests().is_empty());
}

/// A running `sendmux webhooks listen`, and the address it printed.
struct Listening {
    child: Child,
    url: String,
    stderr: BufReader<std::process::ChildStderr>,
}

/// Starts `sendmux webhooks listen --port 0 --max-events 1 ARGS` and waits
/// for its `listening on` line.
fn listen(format: &str, args: &[&str], env_secret: Option<&str>) -> Listening {
    let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("sendmux"));
    command
        .env_remove("SENDMUX_API_KEY")
        .env_remove("SENDMUX_WEBHOOK_SECRET")
        .env_remove("RUST_LOG")
        .args(["--output", format, "webhooks", "listen", "--port", "0"])
        .args(["--max-events", "1"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(secret) = env_secret {
        command.env("SENDMUX_WEBHOOK_SECRET", secret);
    }
    let mut child = command.spawn().unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    // Owned by `Listening` from here on, whose `drop` ends it.
    let mut listening = Listening {
        child,
        url: String::new(),
        stderr,
    };
    let mut line = String::new();
    loop {
        line.clear();
        let read = listening.stderr.read_line(&mut line).unwrap_or(0);
        assert_ne!(read, 0, "listen exited before listening");
        if let Some(url) = line.trim().strip_prefix("listening on ") {
            listening.url = format!("{url}/hooks");
            return listening;
        }
    }
}

/// A test that failed half way leaves no receiver running.
impl Drop for Listening {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Listening {
    /// Waits for the listener to exit on its own; its exit code and output.
    fn finish(mut self) -> Outcome {
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("listen did not exit after its delivery");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut stdout = String::new();
        self.child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut stdout)
            .unwrap();
        let mut stderr = String::new();
        self.stderr.read_to_string(&mut stderr).unwrap();
        Outcome {
            code: status.code().unwrap_or(-1),
            stdout,
            stderr,
        }
    }
}

/// A subscription to `sendmux.test` at a placeholder URL; its id and secret.
fn subscription(harness: &Harness) -> (String, String) {
    let created = json(
        harness,
        &[
            "webhooks",
            "create",
            "--url",
            "http://127.0.0.1:9/placeholder",
            "--event",
            "sendmux.test",
        ],
    );
    (
        created["id"].as_str().unwrap().to_owned(),
        created["secret"].as_str().unwrap().to_owned(),
    )
}

/// Points the subscription at `url` and has the mock send it a test event;
/// the event id.
fn send_test(harness: &Harness, id: &str, url: &str) -> String {
    json(harness, &["webhooks", "update", id, "--url", url]);
    let published = json(harness, &["webhooks", "test", id]);
    published["event_id"].as_str().unwrap().to_owned()
}

fn secret_file(secret: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    writeln!(file, "whsec_an_old_one\n{secret}").unwrap();
    file
}

#[test]
fn listen_verifies_the_mock_test_delivery() {
    let harness = start();
    let (id, secret) = subscription(&harness);
    let file = secret_file(&secret);
    let listener = listen(
        "table",
        &["--secret-file", file.path().to_str().unwrap()],
        None,
    );
    let event_id = send_test(&harness, &id, &listener.url);
    let outcome = listener.finish();
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    let line = outcome.stdout.lines().next().unwrap_or_default();
    assert!(line.contains(&event_id), "{}", outcome.stdout);
    assert!(line.contains("sendmux.test"), "{line}");
    assert!(line.trim_end().ends_with("verified"), "{line}");
    assert!(!outcome.stdout.contains(&secret) && !outcome.stderr.contains(&secret));

    // The mock saw the 200.
    while harness.mock().webhook_deliveries_in_flight() > 0 {
        std::thread::sleep(Duration::from_millis(10));
    }
    let deliveries = json(&harness, &["webhooks", "deliveries", &id])["items"].clone();
    assert_eq!(deliveries[0]["result"], "success", "{deliveries}");
    assert_eq!(deliveries[0]["response_status"], 200, "{deliveries}");
    let delivery = deliveries[0]["id"].as_str().unwrap();
    let sent = json(&harness, &["webhooks", "payload", &id, delivery]);
    assert_eq!(sent["payload"]["id"], event_id.as_str(), "{sent}");
    let table = ok(cli(&harness, "table").args(["webhooks", "payload", &id, delivery])).stdout;
    assert!(table.contains(&event_id), "{table}");
}

#[test]
fn listen_rejects_a_delivery_signed_with_another_secret() {
    let harness = start();
    let (id, _) = subscription(&harness);
    let listener = listen("table", &[], Some("whsec_not_the_right_one"));
    let event_id = send_test(&harness, &id, &listener.url);
    let outcome = listener.finish();
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);
    assert!(outcome.stdout.contains(&event_id), "{}", outcome.stdout);
    assert!(
        outcome
            .stdout
            .contains("REJECTED: webhook signature matches none"),
        "{}",
        outcome.stdout
    );
    assert!(!outcome.stdout.contains("whsec_") && !outcome.stderr.contains("whsec_"));

    while harness.mock().webhook_deliveries_in_flight() > 0 {
        std::thread::sleep(Duration::from_millis(10));
    }
    let deliveries = json(&harness, &["webhooks", "deliveries", &id])["items"].clone();
    assert_eq!(deliveries[0]["response_status"], 401, "{deliveries}");
}

/// One HTTP request as a loopback endpoint received it.
struct Received {
    head: String,
    body: Vec<u8>,
}

/// A loopback endpoint that takes one request, answers `204`, and hands
/// the request back.
fn one_shot_endpoint() -> (String, std::thread::JoinHandle<Received>) {
    let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/app/events", socket.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let (stream, _) = socket.accept().unwrap();
        let mut reader = BufReader::new(stream);
        let mut head = String::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
            head.push_str(&line.to_ascii_lowercase());
        }
        let length = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .map_or(0, |n| n.trim().parse::<usize>().unwrap());
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        reader
            .get_mut()
            .write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            .unwrap();
        Received { head, body }
    });
    (url, handle)
}

#[test]
fn listen_forwards_verified_deliveries_unchanged_and_prints_json() {
    let harness = start();
    let (id, secret) = subscription(&harness);
    let (app, received) = one_shot_endpoint();
    let file = secret_file(&secret);
    let listener = listen(
        "json",
        &[
            "--secret-file",
            file.path().to_str().unwrap(),
            "--forward-to",
            &app,
        ],
        None,
    );
    let event_id = send_test(&harness, &id, &listener.url);
    let outcome = listener.finish();
    assert_eq!(outcome.code, 0, "{}", outcome.stderr);

    let line: Value = serde_json::from_str(outcome.stdout.trim()).unwrap();
    assert_eq!(line["event_id"], event_id.as_str());
    assert_eq!(line["event_type"], "sendmux.test");
    assert_eq!(line["result"], "verified");
    assert_eq!(line["payload"]["id"], event_id.as_str());
    assert_eq!(line["payload"]["type"], "sendmux.test");
    assert_eq!(line["forward"]["status"], 204);
    assert!(!outcome.stdout.contains(&secret) && !outcome.stderr.contains(&secret));

    // Same body, signed as the mock signed it, with the event headers.
    let received = received.join().unwrap();
    let signature = sendmux_client::webhook::sign(&secret, &received.body);
    assert!(
        received
            .head
            .contains(&format!("x-sendmux-signature: {signature}")),
        "{}",
        received.head
    );
    assert!(
        received
            .head
            .contains(&format!("x-sendmux-event-id: {event_id}")),
        "{}",
        received.head
    );
    assert!(received.head.contains("x-sendmux-event-type: sendmux.test"));
    assert!(received.head.contains("content-type: application/json"));
    assert!(
        received.head.starts_with("post /app/events "),
        "{}",
        received.head
    );
}

#[test]
fn listen_needs_a_secret_and_warns_about_the_command_line() {
    let outcome = run(crate::support::bare_sendmux()
        .env_remove("SENDMUX_WEBHOOK_SECRET")
        .args(["webhooks", "listen", "--port", "0"]));
    assert_eq!(outcome.code, 2, "{}", outcome.stderr);
    assert!(
        outcome.stderr.contains("SENDMUX_WEBHOOK_SECRET"),
        "{}",
        outcome.stderr
    );

    let help = run(crate::support::bare_sendmux().args(["webhooks", "listen", "--help"]));
    let words = help.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(words.contains("(`ps`)"), "{}", help.stdout);
    assert!(words.contains("--secret-file"), "{}", help.stdout);
}
