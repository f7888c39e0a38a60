//! Requests as they arrived, as typed values for a test's assertions
//! (`MockServer::received`), and the body capture behind them: the log
//! keeps each JSON request body up to a size limit, with the values of
//! fields named like secrets replaced before it is stored.

use std::fmt;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::api::BASE_PATH;
use crate::app::LogEntry;

/// Default largest request body the log keeps: 64 KiB.
pub const DEFAULT_BODY_CAPTURE: usize = 64 * 1024;

/// What replaces a secret value.
pub(crate) const REDACTED: &str = "[redacted]";

/// Words that make a field a secret, as parts of its lower-case name.
const SECRET_WORDS: [&str; 5] = ["password", "secret", "token", "api_key", "authorization"];

/// Whether a JSON field called `name` holds a secret.
pub(crate) fn secret_field(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SECRET_WORDS.iter().any(|w| name.contains(w))
}

/// Whether a header carries a credential (the log already redacts these).
pub(crate) fn secret_header(name: &str) -> bool {
    name.eq_ignore_ascii_case("authorization")
        || name.eq_ignore_ascii_case("x-sendmux-upload-token")
        || name.eq_ignore_ascii_case("x-mock-api-key")
}

/// The body the log keeps: `None` when empty or over `limit`; else the
/// same bytes (no copy) unless they mention a secret word, in which case
/// the JSON is re-written with those fields redacted (and dropped if it is
/// not JSON, since it could not be redacted).
pub(crate) fn capture(body: &Bytes, limit: usize) -> Option<Bytes> {
    if body.is_empty() || body.len() > limit {
        return None;
    }
    if !mentions_secret_word(body) {
        return Some(body.clone());
    }
    let mut value: Value = serde_json::from_slice(body).ok()?;
    redact(&mut value);
    serde_json::to_vec(&value).ok().map(Bytes::from)
}

/// Replaces the value of every field named like a secret, at any depth.
pub(crate) fn redact(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (name, field) in map.iter_mut() {
                if secret_field(name) {
                    *field = Value::from(REDACTED);
                } else {
                    redact(field);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

/// A quick scan, so only bodies that may hold a secret are parsed: one
/// pass, a full comparison only where a word's first letter is.
fn mentions_secret_word(bytes: &[u8]) -> bool {
    (0..bytes.len()).any(|i| {
        let first = bytes[i].to_ascii_lowercase();
        SECRET_WORDS.iter().any(|word| {
            let word = word.as_bytes();
            word[0] == first
                && bytes
                    .get(i..i + word.len())
                    .is_some_and(|w| w.eq_ignore_ascii_case(word))
        })
    })
}

/// One request of an operation as the server received it
/// ([`MockServer::received`](crate::MockServer::received)).
///
/// Credentials never show: the `Authorization` and
/// `X-Sendmux-Upload-Token` headers hold `[redacted]`, and so does every
/// body field whose name contains `password`, `secret`, `token`,
/// `api_key` or `authorization`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ReceivedRequest {
    /// The `X-Request-Id` the server gave the answer.
    pub request_id: String,
    /// HTTP method.
    pub method: Method,
    /// The path as sent, without the query (`/api/v1/domains/mdom_1`).
    pub path: String,
    /// The path parameters by name (`[("public_id", "mdom_1")]`).
    pub path_params: Vec<(String, String)>,
    /// The query parameters, decoded, in order.
    pub query: Vec<(String, String)>,
    /// The request headers (credentials redacted).
    pub headers: HeaderMap,
    /// The JSON body, when the request had one that was read and kept
    /// (at most [`request_body_capture`](crate::MockServerBuilder::request_body_capture)
    /// bytes, 64 KiB by default; binary bodies are not kept).
    pub body: Option<Value>,
    /// The status of the answer; `None` when the connection was closed
    /// instead.
    pub status: Option<u16>,
}

impl ReceivedRequest {
    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// A query parameter's first value.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A path parameter's value (`public_id`, ...).
    pub fn path_param(&self, name: &str) -> Option<&str> {
        self.path_params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body decoded into `T`.
    pub fn body_as<T: DeserializeOwned>(&self) -> Result<T, ReceivedBodyError> {
        let body = self.body.clone().ok_or_else(|| ReceivedBodyError {
            request_id: self.request_id.clone(),
            reason: "no JSON body was kept for this request".to_owned(),
        })?;
        serde_json::from_value(body).map_err(|e| ReceivedBodyError {
            request_id: self.request_id.clone(),
            reason: e.to_string(),
        })
    }

    /// The record of `entry`, a request of `op`.
    pub(crate) fn from_entry(op: &sendmux_operations::Operation, entry: &LogEntry) -> Self {
        let (path, query) = entry
            .path
            .split_once('?')
            .unwrap_or((entry.path.as_str(), ""));
        let path_params = op
            .match_path(path.strip_prefix(BASE_PATH).unwrap_or(path))
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), decode_segment(v)))
            .collect();
        let mut headers = HeaderMap::new();
        for (name, value) in entry.header_pairs() {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                headers.append(name, value);
            }
        }
        Self {
            request_id: entry.request_id.clone(),
            method: entry.method.clone(),
            path: path.to_owned(),
            path_params,
            query: form_urlencoded::parse(query.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
            headers,
            body: entry.body_json(),
            status: entry.status,
        }
    }
}

/// A path segment with its percent-escapes decoded.
fn decode_segment(segment: &str) -> String {
    // `form_urlencoded` would turn `+` into a space, which a path keeps.
    let escaped = segment.replace('+', "%2B");
    form_urlencoded::parse(format!("v={escaped}").as_bytes())
        .next()
        .map_or_else(|| segment.to_owned(), |(_, v)| v.into_owned())
}

/// A received body that does not decode into the type asked for
/// ([`MockServer::received_as`](crate::MockServer::received_as),
/// [`ReceivedRequest::body_as`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedBodyError {
    request_id: String,
    reason: String,
}

impl ReceivedBodyError {
    /// The request whose body it is.
    pub fn request_id(&self) -> &str {
        &self.request_id
    }
}

impl fmt::Display for ReceivedBodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the body of request {} does not decode: {}",
            self.request_id, self.reason
        )
    }
}

impl std::error::Error for ReceivedBodyError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_redacts_secret_fields_at_any_depth() {
        let body = Bytes::from_static(
            br#"{"name":"relay","smtp_password":"hunter2","nested":[{"Api_Key":"k","ok":1}],"token":{"a":1}}"#,
        );
        let kept = capture(&body, DEFAULT_BODY_CAPTURE).unwrap_or_default();
        let text = String::from_utf8_lossy(&kept);
        assert!(
            !text.contains("hunter2") && !text.contains("\"k\""),
            "{text}"
        );
        let v: Value = serde_json::from_slice(&kept).unwrap_or_default();
        assert_eq!(v["smtp_password"], REDACTED);
        assert_eq!(v["nested"][0]["Api_Key"], REDACTED);
        assert_eq!(v["nested"][0]["ok"], 1);
        assert_eq!(v["token"], REDACTED);
        assert_eq!(v["name"], "relay");
    }

    #[test]
    fn capture_keeps_plain_bodies_as_they_are_and_drops_large_ones() {
        let body = Bytes::from_static(br#"{"domain":"a.example.com"}"#);
        assert_eq!(capture(&body, 100), Some(body.clone()));
        assert_eq!(capture(&body, 10), None);
        assert_eq!(capture(&Bytes::new(), 100), None);
        // Not JSON and mentions a secret: not kept, since it cannot be
        // redacted.
        assert_eq!(capture(&Bytes::from_static(b"password=x"), 100), None);
    }

    #[test]
    fn the_scan_finds_words_in_any_case_and_at_the_edges() {
        assert!(mentions_secret_word(b"PassWord"));
        assert!(mentions_secret_word(b"{\"x_token\""));
        assert!(!mentions_secret_word(b"{\"domain\":\"tok\"}"));
        assert!(!mentions_secret_word(b""));
    }

    #[test]
    fn path_segments_decode_but_keep_plus() {
        assert_eq!(decode_segment("a%20b+c"), "a b+c");
        assert_eq!(decode_segment("mdom_1"), "mdom_1");
    }
}
