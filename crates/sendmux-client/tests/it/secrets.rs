//! The API key never shows up in Debug, Display, errors or traces.

use std::io::Write;
use std::sync::{Arc, Mutex};

use httpmock::prelude::*;
use sendmux_client::clock::VirtualClock;
use sendmux_client::{ApiKey, Client};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::FmtSpan;

use crate::support::*;

#[tokio::test]
async fn debug_output_is_redacted() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/domains/mdom_1");
            then.status(401).json_body(api_error(
                "authentication_required",
                "bad key",
                false,
                "req_401",
            ));
        })
        .await;
    let clock = VirtualClock::new();
    let builder = builder(&server.base_url(), &clock);
    let client = builder.clone().build().unwrap();
    let api_err = client.domains().get("mdom_1").await.unwrap_err();
    let bad_key_err = Client::builder()
        .api_key(format!("{KEY} "))
        .build()
        .unwrap_err();
    let wrong_surface = Client::builder()
        .api_key("smx_mbx_TOPSECRET0123456789")
        .build()
        .unwrap_err();
    let key = ApiKey::new(KEY).unwrap();

    for text in [
        format!("{builder:?}"),
        format!("{client:?}"),
        format!("{client:#?}"),
        format!("{api_err:?} {api_err}"),
        format!("{bad_key_err:?} {bad_key_err}"),
        format!("{wrong_surface:?} {wrong_surface}"),
        format!("{key:?} {key}"),
        format!("{:?}", client.domains()),
        format!("{:?}", client.domains().create("a.com")),
    ] {
        assert!(!text.contains(SECRET), "leaked: {text}");
    }
    assert!(format!("{client:?}").contains("smx_root_<redacted>"));
}

/// An in-memory log sink for one test's subscriber.
#[derive(Clone, Default)]
pub(crate) struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Buffer {
    pub(crate) fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn traces_carry_call_and_attempt_fields_but_not_the_key() {
    let server = MockServer::start_async().await;
    let busy = Reply::json(
        503,
        &api_error("service_unavailable", "busy", true, "req_busy"),
    )
    .header("retry-after", 2);
    let done = Reply::json(
        201,
        &ok(domain("mdom_1", "mail.acme.com", "pending"), "req_created"),
    );
    let (_log, responder) = script(vec![busy, done]);
    server
        .mock_async(|when, then| {
            when.method(POST).path("/domains");
            then.respond_with(responder);
        })
        .await;
    let (client, _clock) = client(&server);

    let buffer = Buffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(buffer.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(FmtSpan::CLOSE)
        .with_ansi(false)
        .finish();
    {
        // Current-thread runtime: the whole call runs under this guard.
        let _guard = tracing::subscriber::set_default(subscriber);
        client.domains().create("mail.acme.com").await.unwrap();
    }
    let out = buffer.text();
    assert!(!out.contains(SECRET), "key leaked into traces:\n{out}");
    assert!(
        !out.to_ascii_lowercase().contains("bearer"),
        "auth header leaked:\n{out}"
    );
    for expected in [
        "sendmux.call",
        "sendmux.attempt",
        "managementCreateDomain",
        "attempt=1",
        "attempt=2",
        "status=503",
        "status=201",
        "req_busy",
        "req_created",
        "retry_delay_ms=2000",
        "elapsed_ms=",
        "attempts=2",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
}
