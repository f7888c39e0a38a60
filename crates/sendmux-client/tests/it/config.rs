//! Construction: builder checks, environment, headers.

use std::time::Duration;

use httpmock::prelude::*;
use sendmux_client::clock::VirtualClock;
use sendmux_client::{Client, DEFAULT_BASE_URL, DEFAULT_SENDING_BASE_URL, Error, Surface};

use crate::support::*;

fn invalid_field(result: Result<Client, Error>) -> String {
    result
        .unwrap_err()
        .as_invalid_input()
        .expect("InvalidInput")
        .field
        .clone()
}

#[test]
fn the_builder_checks_its_settings() {
    assert_eq!(invalid_field(Client::builder().build()), "api_key");
    assert_eq!(
        invalid_field(Client::builder().api_key("not-a-key").build()),
        "api_key"
    );
    // A mailbox key alone builds (it serves the Mailbox and Sending APIs);
    // a root key given as the mailbox key, a malformed mailbox key, or two
    // mailbox keys do not.
    let agent_only = Client::builder().api_key("smx_agent_abc").build().unwrap();
    assert!(agent_only.has_key_for(Surface::Sending));
    assert!(!agent_only.has_key_for(Surface::Management));
    let wrong = Client::builder()
        .mailbox_key("smx_root_abc")
        .build()
        .unwrap_err();
    assert_eq!(wrong.as_invalid_input().unwrap().field, "mailbox_key");
    assert!(wrong.to_string().contains("smx_mbx_"), "{wrong}");
    assert_eq!(
        invalid_field(
            Client::builder()
                .api_key(KEY)
                .mailbox_key("smx_mbx_")
                .build()
        ),
        "mailbox_key"
    );
    assert_eq!(
        invalid_field(
            Client::builder()
                .api_key("smx_mbx_one")
                .mailbox_key("smx_agent_two")
                .build()
        ),
        "mailbox_key"
    );
    assert_eq!(
        invalid_field(
            Client::builder()
                .api_key(KEY)
                .sending_base_url("smtp.sendmux.ai")
                .build()
        ),
        "sending_base_url"
    );
    assert_eq!(
        invalid_field(
            Client::builder()
                .api_key(KEY)
                .base_url("mail.acme.com")
                .build()
        ),
        "base_url"
    );
    assert_eq!(
        invalid_field(
            Client::builder()
                .api_key(KEY)
                .timeout(Duration::ZERO)
                .build()
        ),
        "timeout"
    );
    assert_eq!(
        invalid_field(
            Client::builder()
                .api_key(KEY)
                .user_agent("bad\nagent")
                .build()
        ),
        "user_agent"
    );
    let client = Client::builder().api_key(KEY).build().unwrap();
    assert_eq!(client.base_url(), DEFAULT_BASE_URL);
    assert_eq!(client.sending_base_url(), DEFAULT_SENDING_BASE_URL);
    assert_eq!(client.retry_policy().max_attempts(), 3);
}

#[tokio::test]
async fn every_request_carries_key_and_agent() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/api/v1/domains/mdom_1")
                .header("authorization", BEARER)
                .header(
                    "user-agent",
                    concat!("sendmux-rust/", env!("CARGO_PKG_VERSION"), " my-app/1.0"),
                );
            then.status(200)
                .json_body(ok(domain("mdom_1", "a.com", "pending"), "req_1"));
        })
        .await;
    let clock = VirtualClock::new();
    let client = builder(&format!("{}/api/v1/", server.base_url()), &clock)
        .user_agent("my-app/1.0")
        .build()
        .unwrap();
    client.domains().get("mdom_1").await.unwrap();
    mock.assert_async().await;
}

#[tokio::test]
async fn an_own_http_client_still_gets_key_and_agent() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/domains/mdom_1")
                .header("authorization", BEARER)
                .header("x-custom", "kept")
                .header_prefix("user-agent", "sendmux-rust/");
            then.status(200)
                .json_body(ok(domain("mdom_1", "a.com", "pending"), "req_1"));
        })
        .await;
    let own = reqwest::Client::builder()
        .default_headers(
            [(
                reqwest::header::HeaderName::from_static("x-custom"),
                reqwest::header::HeaderValue::from_static("kept"),
            )]
            .into_iter()
            .collect(),
        )
        .build()
        .unwrap();
    let clock = VirtualClock::new();
    let client = builder(&server.base_url(), &clock)
        .with_http_client(own)
        .build()
        .unwrap();
    client.domains().get("mdom_1").await.unwrap();
    mock.assert_async().await;
}

/// Runs only as a child of `from_env_reads_the_variables` (environment set
/// by the parent; this crate forbids `unsafe`, so no `set_var`).
#[tokio::test]
async fn from_env_child() {
    if std::env::var_os("SENDMUX_CLIENT_TEST_CHILD").is_none() {
        return;
    }
    let client = Client::from_env().unwrap();
    assert_eq!(client.sending_base_url(), "http://127.0.0.1:9/sending");
    client.domains().get("mdom_env").await.unwrap();
}

#[tokio::test]
async fn from_env_reads_the_variables() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/domains/mdom_env")
                .header("authorization", BEARER);
            then.status(200)
                .json_body(ok(domain("mdom_env", "a.com", "pending"), "req_env"));
        })
        .await;
    let exe = std::env::current_exe().unwrap();
    let base = server.base_url();
    let run = move |with_key: bool| {
        let mut cmd = std::process::Command::new(&exe);
        cmd.args(["--exact", "config::from_env_child", "--test-threads=1"])
            .env("SENDMUX_CLIENT_TEST_CHILD", "1")
            .env("SENDMUX_BASE_URL", &base)
            .env("SENDMUX_SENDING_BASE_URL", "http://127.0.0.1:9/sending/")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        if with_key {
            cmd.env("SENDMUX_API_KEY", KEY);
        } else {
            cmd.env_remove("SENDMUX_API_KEY");
        }
        cmd.status().unwrap().success()
    };
    let run_ok = run.clone();
    assert!(
        tokio::task::spawn_blocking(move || run_ok(true))
            .await
            .unwrap()
    );
    mock.assert_async().await;
    let missing_ok = tokio::task::spawn_blocking(move || run(false))
        .await
        .unwrap();
    assert!(!missing_ok, "without a key, from_env must fail");
}

#[test]
fn public_types_are_thread_safe() {
    fn check<T: Send + Sync + 'static>() {}
    check::<Client>();
    check::<Error>();
    check::<sendmux_client::Domains>();
    check::<sendmux_client::Response<sendmux_client::Domain>>();
    check::<sendmux_client::domains::CreateDomain>();
    // Futures and streams can move into `tokio::spawn`.
    fn check_send<T: Send + 'static>() {}
    check_send::<futures::stream::BoxStream<'static, Result<sendmux_client::Domain, Error>>>();
    check_send::<<sendmux_client::domains::CreateDomain as std::future::IntoFuture>::IntoFuture>();
}
