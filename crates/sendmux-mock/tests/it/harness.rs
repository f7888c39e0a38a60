//! Test client: plain reqwest, plus a conformance check of every response.

use bytes::Bytes;
use http::{HeaderMap, Method};
use sendmux_mock::MockServer;
use serde_json::Value;

/// The default key of the tests.
pub(crate) const KEY: &str = "smx_root_test";

/// One response, already validated against the spec.
#[derive(Debug)]
pub(crate) struct Resp {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Resp {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.body))
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts an error envelope with `status` and `code`; returns the body.
    pub(crate) fn assert_error(&self, status: u16, code: &str) -> Value {
        let v = self.json();
        assert_eq!(self.status, status, "{v}");
        assert_eq!(v["ok"], false, "{v}");
        assert_eq!(v["error"]["code"], code, "{v}");
        v
    }
}

/// Client for one server and one API key.
#[derive(Clone)]
pub(crate) struct Api {
    http: reqwest::Client,
    base: String,
    key: Option<String>,
    /// Talks to the Sending API's listener, checked against its document.
    sending: bool,
}

/// A request under construction.
pub(crate) struct Call {
    api: Api,
    method: Method,
    path: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
}

impl Api {
    pub(crate) fn new(server: &MockServer) -> Self {
        Self::with_key(server, Some(KEY))
    }

    pub(crate) fn with_key(server: &MockServer, key: Option<&str>) -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .unwrap(),
            base: server.base_url(),
            key: key.map(str::to_owned),
            sending: false,
        }
    }

    /// A client of the Sending API (its own listener), whose answers are
    /// checked against `openapi-sending.yaml`.
    pub(crate) fn sending(server: &MockServer, key: Option<&str>) -> Self {
        Self {
            base: server.sending_base_url(),
            sending: true,
            ..Self::with_key(server, key)
        }
    }

    pub(crate) fn call(&self, method: Method, path: &str) -> Call {
        Call {
            api: self.clone(),
            method,
            path: path.to_owned(),
            headers: Vec::new(),
            body: None,
        }
    }

    pub(crate) async fn get(&self, path: &str) -> Resp {
        self.call(Method::GET, path).send().await
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> Resp {
        self.call(Method::POST, path).json(&body).send().await
    }

    /// Creates a domain and returns its JSON `data`.
    pub(crate) async fn create(&self, domain: &str, mode: Option<&str>) -> Value {
        let mut body = serde_json::json!({ "domain": domain });
        if let Some(mode) = mode {
            body["mode"] = mode.into();
        }
        let r = self.post("/domains", body).await;
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
        r.json()["data"].clone()
    }

    /// Creates a domain and returns only its id.
    pub(crate) async fn create_id(&self, domain: &str, mode: Option<&str>) -> String {
        self.create(domain, mode).await["id"]
            .as_str()
            .expect("a created domain has an id")
            .to_owned()
    }
}

impl Api {
    /// Creates a domain and verifies it (as often as the server's
    /// propagation needs, up to 10 calls); returns its id.
    pub(crate) async fn verified_domain(&self, domain: &str, mode: Option<&str>) -> String {
        let id = self.create_id(domain, mode).await;
        for _ in 0..10 {
            let r = self
                .call(Method::POST, &format!("/domains/{id}/verify"))
                .send()
                .await;
            if r.json()["data"]["status"] == "verified" {
                return id;
            }
        }
        panic!("{domain} did not verify");
    }

    /// Creates a mailbox at `email` and returns the create result's `data`
    /// (`mailbox`, `credential`, `warning`).
    pub(crate) async fn create_mailbox(&self, email: &str) -> Value {
        let r = self
            .post("/mailboxes", serde_json::json!({ "email": email }))
            .await;
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
        r.json()["data"].clone()
    }
}

impl Call {
    pub(crate) fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub(crate) fn json(self, v: &Value) -> Self {
        self.header("content-type", "application/json")
            .raw(serde_json::to_vec(v).unwrap())
    }

    pub(crate) fn raw(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Sends the request; panics on a transport error.
    pub(crate) async fn send(self) -> Resp {
        match self.try_send().await {
            Ok(r) => r,
            Err(e) => panic!("request failed: {e}"),
        }
    }

    /// Sends the request; returns transport errors, validates responses.
    pub(crate) async fn try_send(self) -> Result<Resp, reqwest::Error> {
        let url = format!("{}{}", self.api.base, self.path);
        let mut req = self.api.http.request(self.method.clone(), &url);
        if let Some(key) = &self.api.key {
            req = req.header("authorization", format!("Bearer {key}"));
        }
        for (k, v) in &self.headers {
            req = req.header(k, v);
        }
        if let Some(body) = self.body {
            req = req.body(body);
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes().await?;
        let r = Resp {
            status,
            headers,
            body,
        };
        let spec = if self.api.sending {
            sendmux_conformance::Spec::embedded_sending()
        } else {
            sendmux_conformance::Spec::embedded()
        };
        check_with(spec, &self.method, &format!("/api/v1{}", self.path), &r);
        Ok(r)
    }
}

/// The checks every response of the mock must pass: the spec (through
/// `sendmux-conformance`), plus the cross-header rules the spec cannot
/// state.
pub(crate) fn check(method: &Method, path: &str, r: &Resp) {
    check_with(sendmux_conformance::Spec::embedded(), method, path, r);
}

/// [`check`] against the document `spec`.
pub(crate) fn check_with(spec: &sendmux_conformance::Spec, method: &Method, path: &str, r: &Resp) {
    let body = spec_view(r);
    let report = spec.validate_response(method, path, r.status, &r.headers, &body);
    assert!(
        report.is_ok(),
        "{method} {path} -> {}: response violates the spec:\n{report}\nbody: {}",
        r.status,
        String::from_utf8_lossy(&r.body)
    );
    let request_id = r.header("x-request-id").expect("X-Request-Id");
    assert!(request_id.starts_with("req_"), "{request_id}");
    // The one cacheable answer: the Sending API's own document.
    let cacheable = path.ends_with("/openapi.json") && r.status == 200;
    let cache = if cacheable {
        "public, max-age=3600"
    } else {
        "no-store"
    };
    assert_eq!(r.header("cache-control"), Some(cache));
    for h in [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
    ] {
        assert!(r.header(h).is_some(), "missing {h}");
    }
    let is_json = r
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/json"));
    // The Sending API's document is JSON but no envelope.
    if is_json && !cacheable {
        let v = r.json();
        assert_eq!(v["meta"]["request_id"], request_id, "meta.request_id");
        if let Some(code) = v["error"]["code"].as_str() {
            let default_retryable = matches!(r.status, 429 | 500 | 503);
            assert_eq!(v["error"]["retryable"], default_retryable, "{code}");
        }
    }
    if r.status == 429 || (r.status == 503 && r.header("retry-after").is_some()) {
        let secs: u64 = r
            .header("retry-after")
            .expect("Retry-After")
            .parse()
            .unwrap();
        assert!(secs <= 3600);
    }
}

/// The body the spec check sees. The mock answers an operation it does not
/// implement yet with `501` and the code `not_implemented`: its own code,
/// which the spec's closed `ApiErrorCode` enum does not list (the status is
/// covered by the `5XX` range). Everything else about that response is
/// still checked, with a published code in its place.
fn spec_view(r: &Resp) -> std::borrow::Cow<'_, [u8]> {
    if r.status == 501
        && let Ok(mut v) = serde_json::from_slice::<Value>(&r.body)
        && v["error"]["code"] == "not_implemented"
    {
        v["error"]["code"] = "internal_error".into();
        return std::borrow::Cow::Owned(serde_json::to_vec(&v).unwrap());
    }
    std::borrow::Cow::Borrowed(&r.body)
}

/// Polls `cond` (yielding to the server between tries) until it holds.
pub(crate) async fn wait_until(mut cond: impl FnMut() -> bool) {
    for _ in 0..2000 {
        if cond() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    panic!("condition not reached");
}

/// The harness must catch a bad response, or the checks above prove nothing.
#[test]
#[should_panic(expected = "response violates the spec")]
fn check_rejects_a_response_that_breaks_the_spec() {
    let mut headers = HeaderMap::new();
    headers.insert("x-request-id", "req_1".parse().unwrap());
    headers.insert("content-type", "application/json".parse().unwrap());
    let r = Resp {
        status: 200,
        headers,
        // No `meta`, and an `id` of the wrong type.
        body: Bytes::from_static(br#"{"ok":true,"data":{"id":5}}"#),
    };
    check(&Method::GET, "/api/v1/domains/mdom_x", &r);
}

#[test]
#[should_panic(expected = "meta.request_id")]
fn check_rejects_a_request_id_mismatch() {
    let mut headers = HeaderMap::new();
    for (k, v) in [
        ("x-request-id", "req_1"),
        ("content-type", "application/json"),
        ("cache-control", "no-store"),
        ("x-ratelimit-limit", "600"),
        ("x-ratelimit-remaining", "599"),
        ("x-ratelimit-reset", "1800000000"),
    ] {
        headers.insert(k, v.parse().unwrap());
    }
    let r = Resp {
        status: 404,
        headers,
        body: Bytes::from_static(
            br#"{"ok":false,"error":{"code":"not_found","message":"x","retryable":false},"meta":{"request_id":"req_2"}}"#,
        ),
    };
    check(&Method::GET, "/api/v1/domains/mdom_x", &r);
}

/// The `not_implemented` carve-out is that one code on a 501, nothing more.
#[test]
#[should_panic(expected = "response violates the spec")]
fn check_accepts_not_implemented_only_on_a_501() {
    let mut headers = HeaderMap::new();
    headers.insert("x-request-id", "req_1".parse().unwrap());
    headers.insert("content-type", "application/json".parse().unwrap());
    let r = Resp {
        status: 500,
        headers,
        body: Bytes::from_static(
            br#"{"ok":false,"error":{"code":"not_implemented","message":"x","retryable":false},"meta":{"request_id":"req_1"}}"#,
        ),
    };
    check(&Method::GET, "/api/v1/domains", &r);
}

/// The server logged at least one exchange, and every answer it logged
/// passed its own spec check.
pub(crate) fn assert_no_violations(server: &MockServer) {
    let log = server.requests();
    assert!(!log.is_empty(), "nothing was logged");
    for r in &log {
        assert!(
            r.violations.is_empty(),
            "{} {}: {:?}",
            r.method,
            r.path,
            r.violations
        );
    }
}
