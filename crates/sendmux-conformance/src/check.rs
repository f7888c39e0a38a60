//! A read-only probe suite: calls a live server (or the mock) and validates
//! every response against a [`Spec`].
//!
//! The probes only read: list domains, then for a few of the listed domains
//! get the domain, get it again with `If-None-Match` (expecting `304`), and
//! fetch its zone file and sender filters.

use std::fmt;
use std::time::Duration;

use http::{HeaderMap, Method};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde_json::Value;

use crate::{Report, Spec};

/// Characters escaped in a path segment.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// An API key that never shows up in `Debug` or `Display`.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// What to probe and how.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// The server's base URL, including the API base path when it has one
    /// (`https://app.sendmux.ai/api/v1`, `http://127.0.0.1:8080/api/v1`).
    pub base_url: String,
    /// Sent as `Authorization: Bearer <key>` when present.
    pub api_key: Option<ApiKey>,
    /// How many of the listed domains to probe further.
    pub max_items: usize,
    /// Timeout of each call.
    pub timeout: Duration,
}

impl CheckOptions {
    /// Options with the defaults: no key, 3 domains, 30 s per call.
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            api_key: None,
            max_items: 3,
            timeout: Duration::from_secs(30),
        }
    }

    /// Sets the API key.
    #[must_use]
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(ApiKey::new(key));
        self
    }
}

/// Why the probe suite could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckError {
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    /// TLS could not be set up (the platform's certificate verifier).
    #[error("{0}")]
    Tls(String),
}

/// The outcome of one call.
#[derive(Debug, Clone)]
pub struct Probe {
    /// The operation probed.
    pub operation_id: String,
    /// The method used.
    pub method: Method,
    /// The path requested, relative to the base URL (with any query).
    pub path: String,
    /// The response status, when a response arrived.
    pub status: Option<u16>,
    /// The response's `X-Request-Id`, when it had one.
    pub request_id: Option<String>,
    /// The validation result, when a response arrived.
    pub report: Option<Report>,
    /// The transport error, when no response arrived.
    pub error: Option<String>,
}

impl Probe {
    /// `true` when a response arrived and conforms.
    pub fn passed(&self) -> bool {
        self.error.is_none() && self.report.as_ref().is_some_and(Report::is_ok)
    }
}

/// Every probe of one run.
#[derive(Debug, Clone, Default)]
pub struct CheckReport {
    /// The probes, in the order they ran.
    pub probes: Vec<Probe>,
}

impl CheckReport {
    /// `true` when every probe passed.
    pub fn is_ok(&self) -> bool {
        self.probes.iter().all(Probe::passed)
    }

    /// How many probes failed.
    pub fn failures(&self) -> usize {
        self.probes.iter().filter(|p| !p.passed()).count()
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self
            .probes
            .iter()
            .map(|p| p.operation_id.len())
            .max()
            .unwrap_or(9)
            .max(9);
        writeln!(
            f,
            "{:<6} {:<6} {:<width$} REQUEST",
            "RESULT", "STATUS", "OPERATION"
        )?;
        for probe in &self.probes {
            let status = probe
                .status
                .map_or_else(|| "-".to_owned(), |s| s.to_string());
            let result = if probe.passed() { "pass" } else { "FAIL" };
            write!(
                f,
                "{result:<6} {status:<6} {:<width$} {} {}",
                probe.operation_id, probe.method, probe.path
            )?;
            if let Some(id) = &probe.request_id {
                write!(f, "  [{id}]")?;
            }
            writeln!(f)?;
            if let Some(error) = &probe.error {
                writeln!(f, "       {error}")?;
            }
            for violation in probe.report.iter().flat_map(|r| &r.violations) {
                writeln!(f, "       {violation}")?;
            }
        }
        write!(
            f,
            "{} probes, {} failed",
            self.probes.len(),
            self.failures()
        )
    }
}

/// Runs the probe suite with a new HTTP client.
pub async fn run(spec: &Spec, options: &CheckOptions) -> Result<CheckReport, CheckError> {
    let client = crate::tls::with_tls(reqwest::Client::builder())
        .map_err(CheckError::Tls)?
        .timeout(options.timeout)
        .connect_timeout(options.timeout.min(Duration::from_secs(10)))
        .build()
        .map_err(CheckError::Client)?;
    Ok(run_with_client(spec, &client, options).await)
}

/// Runs the probe suite with the given HTTP client.
pub async fn run_with_client(
    spec: &Spec,
    client: &reqwest::Client,
    options: &CheckOptions,
) -> CheckReport {
    let prober = Prober {
        spec,
        client,
        options,
    };
    let mut report = CheckReport::default();
    let limit = options.max_items.clamp(1, 100);
    let (list, body) = prober.call(&format!("/domains?limit={limit}"), None).await;
    report.probes.push(list);
    let ids: Vec<String> = body
        .as_ref()
        .and_then(|b| b.get("data"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|d| d.get("id").and_then(Value::as_str))
        .take(options.max_items)
        .map(str::to_owned)
        .collect();
    for id in ids {
        let base = format!("/domains/{}", utf8_percent_encode(&id, SEGMENT));
        let (get, _, etag) = prober.call_with_etag(&base, None).await;
        report.probes.push(get);
        if let Some(etag) = etag {
            let (not_modified, _) = prober.call(&base, Some(&etag)).await;
            report.probes.push(not_modified);
        }
        report
            .probes
            .push(prober.call(&format!("{base}/zone-file"), None).await.0);
        report
            .probes
            .push(prober.call(&format!("{base}/filters"), None).await.0);
    }
    report
}

struct Prober<'a> {
    spec: &'a Spec,
    client: &'a reqwest::Client,
    options: &'a CheckOptions,
}

impl Prober<'_> {
    async fn call(&self, path: &str, if_none_match: Option<&str>) -> (Probe, Option<Value>) {
        let (probe, body, _) = self.call_with_etag(path, if_none_match).await;
        (probe, body)
    }

    /// One GET: returns the probe, the JSON body (if any) and the `ETag`.
    async fn call_with_etag(
        &self,
        path: &str,
        if_none_match: Option<&str>,
    ) -> (Probe, Option<Value>, Option<String>) {
        let method = Method::GET;
        let operation_id = self
            .spec
            .match_route(&method, path)
            .map_or_else(|| "(unknown)".to_owned(), |m| m.operation_id);
        let mut probe = Probe {
            operation_id,
            method: method.clone(),
            path: if if_none_match.is_some() {
                format!("{path} (If-None-Match)")
            } else {
                path.to_owned()
            },
            status: None,
            request_id: None,
            report: None,
            error: None,
        };
        let url = format!("{}{path}", self.options.base_url.trim_end_matches('/'));
        let mut request = self.client.get(&url);
        if let Some(key) = &self.options.api_key {
            request = request.bearer_auth(key.expose());
        }
        if let Some(tag) = if_none_match {
            request = request.header(http::header::IF_NONE_MATCH, tag);
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(err) => {
                probe.error = Some(describe(&err));
                return (probe, None, None);
            }
        };
        let status = response.status().as_u16();
        let headers: HeaderMap = response.headers().clone();
        let body = match response.bytes().await {
            Ok(body) => body,
            Err(err) => {
                probe.status = Some(status);
                probe.error = Some(describe(&err));
                return (probe, None, None);
            }
        };
        probe.status = Some(status);
        probe.request_id = headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        probe.report = Some(
            self.spec
                .validate_response(&method, path, status, &headers, &body),
        );
        let etag = headers
            .get(http::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .filter(|_| status == 200)
            .map(str::to_owned);
        let json = serde_json::from_slice(&body).ok();
        (probe, json, etag)
    }
}

/// A transport error without the URL's query (which may carry cursors) and
/// never with headers (which carry the key).
fn describe(err: &reqwest::Error) -> String {
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    let mut text = kind.to_owned();
    let mut source = std::error::Error::source(err);
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_key_is_redacted() {
        let options = CheckOptions::new("http://127.0.0.1:1").api_key("smx_root_secret");
        let text = format!("{options:?}");
        assert!(!text.contains("smx_root_secret"), "{text}");
        assert!(text.contains("<redacted>"), "{text}");
    }
}
