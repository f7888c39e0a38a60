//! Fixtures and helpers shared by the test modules.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use httpmock::{HttpMockRequest, HttpMockResponse, MockServer};
use sendmux_client::clock::VirtualClock;
use sendmux_client::{Client, ClientBuilder, RetryPolicy};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tracing_subscriber::fmt::MakeWriter;

/// The key every test client uses; tests assert it never leaks.
pub(crate) const KEY: &str = "smx_root_TOPSECRET0123456789";
/// The secret part of [`KEY`], searched for in leaked output.
pub(crate) const SECRET: &str = "TOPSECRET0123456789";
pub(crate) const BEARER: &str = "Bearer smx_root_TOPSECRET0123456789";

/// A builder aimed at `base` with a virtual clock and quick backoff.
pub(crate) fn builder(base: &str, clock: &VirtualClock) -> ClientBuilder {
    Client::builder()
        .api_key(KEY)
        .base_url(base)
        .clock(clock.clone())
        .retry_policy(
            RetryPolicy::default().with_backoff(Duration::from_millis(100), Duration::from_secs(2)),
        )
}

/// A client for `server` and the virtual clock it sleeps on.
pub(crate) fn client(server: &MockServer) -> (Client, VirtualClock) {
    let clock = VirtualClock::new();
    let client = builder(&server.base_url(), &clock).build().unwrap();
    (client, clock)
}

pub(crate) fn domain(id: &str, name: &str, status: &str) -> Value {
    json!({
        "id": id,
        "domain": name,
        "mode": "send_receive",
        "verification_status": status,
        "ses_identity_verification_status": null,
        "ses_verified_for_sending": null,
        "ses_dkim_status": null,
        "ses_dkim_signing_enabled": null,
        "ses_identity_checked_at": null,
        "ses_mail_from_status": null,
        "verified_at": null,
        "created_at": "2026-11-01T10:00:00Z",
        "mailbox_count": 0,
        "dns_records": {
            "mx": [{"priority": 10, "target": "mail.sendmux.ai"}],
            "mail_from": {
                "mx": {"name": format!("bounce.{name}"), "priority": 10, "target": "feedback.example"},
                "spf": {"name": format!("bounce.{name}"), "value": "v=spf1 include:example ~all"}
            },
            "spf": {"name": name, "value": "v=spf1 include:sendmux.ai ~all"},
            "dmarc": {"name": format!("_dmarc.{name}"), "value": "v=DMARC1; p=none"},
            "dkim": [{"name": format!("s1._domainkey.{name}"), "value": "k=rsa; p=MIIB"}],
            "verification": {"name": format!("_sendmux.{name}"), "value": "sendmux-verify=team_1"}
        }
    })
}

pub(crate) fn ok(data: Value, request_id: &str) -> Value {
    json!({"ok": true, "data": data, "meta": {"request_id": request_id}})
}

pub(crate) fn api_error(code: &str, message: &str, retryable: bool, request_id: &str) -> Value {
    json!({
        "ok": false,
        "error": {"code": code, "message": message, "retryable": retryable},
        "meta": {"request_id": request_id}
    })
}

pub(crate) fn verify_result(status: &str) -> Value {
    json!({
        "status": status,
        "ses_identity_verification_status": "Pending",
        "ses_verified_for_sending": false,
        "ses_dkim_status": "Pending",
        "ses_dkim_signing_enabled": true,
        "ses_identity_checked_at": "2026-11-01T10:00:00Z",
        "ses_mail_from_status": "Pending",
        "checks": {
            "mx": true, "verification_txt": status == "verified", "spf": true,
            "dmarc": true, "mail_from_mx": true, "mail_from_spf": true
        }
    })
}

/// One scripted response.
#[derive(Clone)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl Reply {
    pub(crate) fn json(status: u16, body: &Value) -> Self {
        Self {
            status,
            headers: vec![
                ("content-type".into(), "application/json".into()),
                (
                    "x-request-id".into(),
                    body["meta"]["request_id"]
                        .as_str()
                        .unwrap_or("req_none")
                        .into(),
                ),
            ],
            body: body.to_string(),
        }
    }

    pub(crate) fn header(mut self, name: &str, value: impl ToString) -> Self {
        self.headers.push((name.into(), value.to_string()));
        self
    }
}

/// Requests a scripted mock received, in order.
#[derive(Clone, Default)]
pub(crate) struct Log(Arc<Mutex<Vec<HttpMockRequest>>>);

impl Log {
    pub(crate) fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    pub(crate) fn header_values(&self, name: &str) -> Vec<Option<String>> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|r| {
                r.headers()
                    .get(name)
                    .map(|v| v.to_str().unwrap().to_owned())
            })
            .collect()
    }
}

/// A responder that plays `replies` in order (repeating the last one) and
/// logs every request.
pub(crate) fn script(
    replies: Vec<Reply>,
) -> (
    Log,
    impl Fn(&HttpMockRequest) -> HttpMockResponse + Send + Sync + 'static,
) {
    let log = Log::default();
    let seen = log.clone();
    let responder = move |req: &HttpMockRequest| {
        let mut all = seen.0.lock().unwrap();
        all.push(req.clone());
        let reply = replies[(all.len() - 1).min(replies.len() - 1)].clone();
        let mut builder = HttpMockResponse::builder().status(reply.status);
        for (k, v) in reply.headers {
            builder = builder.header(k, v);
        }
        builder.body(reply.body).build()
    };
    (log, responder)
}

/// What the raw server does with each connection, in order.
pub(crate) enum Conn {
    /// Read the whole request, then close without answering.
    DropAfterRequest,
    /// Read the whole request, then hold the socket open without answering.
    Hang,
    /// Read the whole request, then answer with this status and JSON body.
    Respond(u16, Value),
}

/// A loopback HTTP/1.1 server playing `script`, one connection each; it
/// stops accepting afterwards. Returns its base URL and the requests read.
pub(crate) async fn raw_server(script: Vec<Conn>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(Mutex::new(Vec::new()));
    let log = requests.clone();
    tokio::spawn(async move {
        for conn in script {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let request = read_request(&mut socket).await;
            log.lock().unwrap().push(request);
            match conn {
                Conn::DropAfterRequest => drop(socket),
                Conn::Hang => {
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_secs(10)).await;
                        drop(socket);
                    });
                }
                Conn::Respond(status, body) => {
                    let body = body.to_string();
                    let head = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nx-request-id: req_raw\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = socket.write_all(head.as_bytes()).await;
                    let _ = socket.write_all(body.as_bytes()).await;
                    let _ = socket.shutdown().await;
                }
            }
        }
    });
    (base, requests)
}

/// Reads one request (headers plus `content-length` bytes of body).
async fn read_request(socket: &mut tokio::net::TcpStream) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&buf).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let len = text[..end]
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                return text;
            }
        }
        match tokio::time::timeout(Duration::from_secs(5), socket.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            _ => return String::from_utf8_lossy(&buf).to_string(),
        }
    }
}

/// The value of `name` in a raw request, case-insensitively.
pub(crate) fn raw_header(request: &str, name: &str) -> Option<String> {
    request.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
    })
}

/// An in-memory log sink for a test's subscriber (used by the tracing test
/// binaries, which include this file).
#[allow(dead_code)]
#[derive(Clone, Default)]
pub(crate) struct Buffer(Arc<Mutex<Vec<u8>>>);

#[allow(dead_code)]
impl Buffer {
    pub(crate) fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }

    /// Forgets what was written so far.
    pub(crate) fn clear(&self) {
        self.0.lock().unwrap().clear();
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

#[cfg_attr(not(feature = "conformance"), allow(dead_code))]
pub(crate) async fn serve_domain(server: &MockServer, with_headers: bool) {
    server
        .mock_async(|when, then| {
            when.method(httpmock::Method::GET).path("/domains/mdom_1");
            let mut body = ok(domain("mdom_1", "mail.acme.com", "pending"), "req_c");
            let then = then.status(200).header("content-type", "application/json");
            if with_headers {
                then.header("x-request-id", "req_c")
                    .header("x-ratelimit-limit", "600")
                    .header("x-ratelimit-remaining", "599")
                    .header("x-ratelimit-reset", "1790000000")
                    .header("etag", "W/\"c\"")
                    .json_body(body);
            } else {
                // Undeclared field and no required headers.
                body["data"]["surprise"] = serde_json::json!(1);
                then.json_body(body);
            }
        })
        .await;
}
