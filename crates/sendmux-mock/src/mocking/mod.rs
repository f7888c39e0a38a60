//! What a user's own tests arrange and check against the mock: stubbed
//! answers ([`stubs`]), expected calls ([`expectations`]) and the requests
//! as they arrived ([`received`]).
//!
//! The pipeline calls in twice: the stub stage (`api.rs`, after auth and
//! the rate limit) asks [`Mocking::take_stub`] for an answer, and the last
//! stage hands every finished call to [`Mocking::observe`]. Mistakes in a
//! test's setup (an unknown operation id, a bad header name) never panic
//! where they are made: they are kept as problems and reported by
//! `MockServer::verify` and when the server is dropped.

pub(crate) mod expectations;
pub(crate) mod received;
pub(crate) mod stubs;

use std::cell::OnceCell;
use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use bytes::Bytes;
use http::{HeaderMap, HeaderName};
use sendmux_operations::Operation;
use serde_json::Value;

use crate::app::lock;

/// An operation, named by its descriptor (`ops::MANAGEMENT_CREATE_DOMAIN`)
/// or by its `operationId` (`"managementCreateDomain"`). Every method of
/// [`MockServer`](crate::MockServer) that takes an operation takes
/// anything that converts into this.
///
/// An id that names no operation is not a panic where it is written: the
/// call arranges nothing, and [`MockServer::verify`](crate::MockServer::verify)
/// (or dropping the server) reports it, with the closest known ids.
///
/// ```
/// use sendmux_mock::{OperationRef, ops};
///
/// let by_id = OperationRef::from("managementCreateDomain");
/// let by_descriptor = OperationRef::from(ops::MANAGEMENT_CREATE_DOMAIN);
/// assert_eq!(by_id.operation(), by_descriptor.operation());
/// assert!(OperationRef::from("managementCreateDomian").operation().is_none());
/// ```
#[derive(Debug, Clone)]
pub struct OperationRef {
    resolved: Result<&'static Operation, String>,
}

impl OperationRef {
    /// The operation, when the name is one of the table.
    pub fn operation(&self) -> Option<&'static Operation> {
        self.resolved.as_ref().ok().copied()
    }

    /// The operation, or the problem to report.
    pub(crate) fn resolve(&self) -> Result<&'static Operation, String> {
        self.resolved
            .as_ref()
            .copied()
            .map_err(|id| unknown_operation(id))
    }
}

impl From<&'static Operation> for OperationRef {
    fn from(op: &'static Operation) -> Self {
        Self { resolved: Ok(op) }
    }
}

impl From<&str> for OperationRef {
    fn from(id: &str) -> Self {
        Self {
            resolved: sendmux_operations::find(id).ok_or_else(|| id.to_owned()),
        }
    }
}

impl From<String> for OperationRef {
    fn from(id: String) -> Self {
        Self::from(id.as_str())
    }
}

impl From<&String> for OperationRef {
    fn from(id: &String) -> Self {
        Self::from(id.as_str())
    }
}

/// "unknown operation `x`", with the closest ids of the table.
fn unknown_operation(id: &str) -> String {
    let mut near: Vec<(usize, &str)> = sendmux_operations::OPERATIONS
        .iter()
        .map(|op| {
            (
                edit_distance(&id.to_ascii_lowercase(), &op.id.to_ascii_lowercase()),
                op.id,
            )
        })
        .filter(|(d, _)| *d <= 3)
        .collect();
    near.sort_unstable();
    let hint = match near.as_slice() {
        [] => " (GET /__mock/operations lists every operation id)".to_owned(),
        near => format!(
            " (did you mean {}?)",
            near.iter()
                .take(3)
                .map(|(_, id)| format!("`{id}`"))
                .collect::<Vec<_>>()
                .join(" or ")
        ),
    };
    format!("unknown operation `{id}`{hint}")
}

/// Levenshtein distance, for "did you mean".
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != *cb))
                .min(above + 1)
                .min(row[j] + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

/// Conditions on a request, shared by stubs and expectations: every one
/// must hold.
#[derive(Debug, Clone, Default)]
pub(crate) struct Matchers {
    /// A header equal to this value (names compare case-insensitively).
    headers: Vec<(HeaderName, String)>,
    /// The JSON value at this pointer of the body equals this one.
    body_fields: Vec<(String, Value)>,
}

impl Matchers {
    /// Adds a header condition, or says why the name is not one.
    pub(crate) fn header(&mut self, name: &str, value: &str) -> Result<(), String> {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("`{name}` is not a valid header name"))?;
        self.headers.push((name, value.to_owned()));
        Ok(())
    }

    /// Adds a body-field condition, or says why the pointer is not one.
    pub(crate) fn body_field(&mut self, pointer: &str, value: Value) -> Result<(), String> {
        if !pointer.is_empty() && !pointer.starts_with('/') {
            return Err(format!(
                "`{pointer}` is not a JSON pointer: it must be empty or start with `/` (e.g. `/domain`)"
            ));
        }
        self.body_fields.push((pointer.to_owned(), value));
        Ok(())
    }

    /// Why `call` does not match, or `Ok` when it does.
    pub(crate) fn check(&self, call: &Call<'_>) -> Result<(), String> {
        for (name, want) in &self.headers {
            let shown = |v| shown_header_value(name, v).to_owned();
            match call.headers.get(name).map(|v| v.to_str()) {
                None => return Err(format!("header `{name}` is absent")),
                Some(Ok(got)) if got == want => {}
                Some(Ok(got)) => {
                    return Err(format!(
                        "header `{name}` is {:?}, not {:?}",
                        shown(got),
                        shown(want)
                    ));
                }
                Some(Err(_)) => return Err(format!("header `{name}` is not text")),
            }
        }
        if self.body_fields.is_empty() {
            return Ok(());
        }
        let Some(body) = call.json() else {
            return Err(match call.body {
                None => "the body was not read (answered before the body stage)".to_owned(),
                Some(_) => "the body is not JSON".to_owned(),
            });
        };
        for (pointer, want) in &self.body_fields {
            match body.pointer(pointer) {
                None => return Err(format!("body has no `{pointer}`")),
                Some(got) if got == want => {}
                Some(_) if secret_name(pointer) => {
                    return Err(format!("body `{pointer}` differs (value not shown)"));
                }
                Some(got) => {
                    return Err(format!(
                        "body `{pointer}` is {}, not {}",
                        trimmed(&got.to_string(), 80),
                        trimmed(&want.to_string(), 80)
                    ));
                }
            }
        }
        Ok(())
    }

    /// " with header `a: b` and body `/x` = 1", or "" without conditions.
    pub(crate) fn describe(&self) -> String {
        let parts: Vec<String> = self
            .headers
            .iter()
            .map(|(name, value)| format!("header `{name}: {}`", shown_header_value(name, value)))
            .chain(self.body_fields.iter().map(|(pointer, value)| {
                if secret_name(pointer) {
                    format!("body `{pointer}` = (value not shown)")
                } else {
                    format!("body `{pointer}` = {}", trimmed(&value.to_string(), 80))
                }
            }))
            .collect();
        if parts.is_empty() {
            String::new()
        } else {
            format!(" with {}", parts.join(" and "))
        }
    }
}

/// A header value as messages show it: credentials never.
fn shown_header_value<'a>(name: &HeaderName, value: &'a str) -> &'a str {
    if received::secret_header(name.as_str()) {
        "[redacted]"
    } else {
        value
    }
}

/// Whether the last token of a JSON pointer names a secret field.
fn secret_name(pointer: &str) -> bool {
    received::secret_field(pointer.rsplit('/').next().unwrap_or_default())
}

/// At most `max` characters of `text`, with `…` when cut.
pub(crate) fn trimmed(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// One request as the matchers see it.
pub(crate) struct Call<'a> {
    pub(crate) headers: &'a HeaderMap,
    /// The raw body; `None` when the request was answered before its body
    /// was read.
    pub(crate) body: Option<&'a Bytes>,
    json: OnceCell<Option<Value>>,
}

impl<'a> Call<'a> {
    pub(crate) fn new(headers: &'a HeaderMap, body: Option<&'a Bytes>) -> Self {
        Self {
            headers,
            body,
            json: OnceCell::new(),
        }
    }

    /// The body as JSON, parsed once on first use.
    fn json(&self) -> Option<&Value> {
        self.json
            .get_or_init(|| self.body.and_then(|b| serde_json::from_slice(b).ok()))
            .as_ref()
    }
}

/// A setup mistake, kept until reported.
#[derive(Debug)]
struct SetupProblem {
    message: String,
    reported: bool,
}

/// Everything a test arranged, shared by the server's handles.
#[derive(Default)]
pub(crate) struct Mocking {
    pub(crate) stubs: Mutex<stubs::Stubs>,
    pub(crate) expectations: Mutex<expectations::Expectations>,
    setup: Mutex<Vec<SetupProblem>>,
    /// Whether any stub was ever added (the pipeline skips the lock
    /// otherwise).
    any_stubs: AtomicBool,
    /// Whether any expectation was ever added.
    any_expectations: AtomicBool,
    /// Ids of stubs and expectations.
    next_id: AtomicU64,
}

impl fmt::Debug for Mocking {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mocking").finish_non_exhaustive()
    }
}

impl Mocking {
    /// A fresh id for a stub or an expectation (from 1).
    pub(crate) fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Keeps a setup mistake for the next verification.
    pub(crate) fn problem(&self, message: String) {
        lock(&self.setup).push(SetupProblem {
            message,
            reported: false,
        });
    }

    /// The setup problems to report: all of them (`verify`), or only those
    /// not reported yet (on drop). Either way they count as reported now.
    pub(crate) fn take_setup_problems(&self, all: bool) -> Vec<String> {
        let mut setup = lock(&self.setup);
        let out = setup
            .iter()
            .filter(|p| all || !p.reported)
            .map(|p| format!("setup: {}", p.message))
            .collect();
        for p in setup.iter_mut() {
            p.reported = true;
        }
        out
    }

    pub(crate) fn mark_stubs(&self) {
        self.any_stubs.store(true, Ordering::Relaxed);
    }

    pub(crate) fn mark_expectations(&self) {
        self.any_expectations.store(true, Ordering::Relaxed);
    }

    /// Whether a stub may answer a request of `op`: one is armed for it.
    pub(crate) fn stubs_armed_for(&self, op: &'static Operation) -> bool {
        self.any_stubs.load(Ordering::Relaxed) && lock(&self.stubs).armed_for(op)
    }

    /// The answer of the newest armed stub of `op` that matches `call`,
    /// counted as served.
    pub(crate) fn take_stub(
        &self,
        op: &'static Operation,
        call: &Call<'_>,
    ) -> Option<stubs::Answer> {
        lock(&self.stubs).take(op, call)
    }

    /// Whether finished calls of `op` are of interest to an expectation.
    pub(crate) fn observes(&self, op: &'static Operation) -> bool {
        self.any_expectations.load(Ordering::Relaxed) && lock(&self.expectations).observes(op)
    }

    /// Counts a finished call of `op` for the expectations about it.
    pub(crate) fn observe(
        &self,
        op: &'static Operation,
        call: &Call<'_>,
        summary: &expectations::CallSummary,
    ) {
        lock(&self.expectations).observe(op, call, summary);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_ids_name_the_closest_operations() {
        let message = OperationRef::from("managementCreateDomian")
            .resolve()
            .err()
            .unwrap_or_default();
        assert!(message.contains("`managementCreateDomain`"), "{message}");
        let message = OperationRef::from("nothing at all")
            .resolve()
            .err()
            .unwrap_or_default();
        assert!(message.contains("/__mock/operations"), "{message}");
    }

    #[test]
    fn edit_distance_counts_single_changes() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }

    #[test]
    fn matchers_explain_the_first_mismatch() {
        let mut m = Matchers::default();
        m.header("X-Trace", "a").unwrap_or_default();
        m.body_field("/domain", Value::from("a.example.com"))
            .unwrap_or_default();
        let mut headers = HeaderMap::new();
        headers.insert("x-trace", http::HeaderValue::from_static("b"));
        let body = Bytes::from_static(br#"{"domain":"b.example.com"}"#);
        let why = m.check(&Call::new(&headers, Some(&body))).err();
        assert_eq!(why.as_deref(), Some(r#"header `x-trace` is "b", not "a""#));
        headers.insert("x-trace", http::HeaderValue::from_static("a"));
        let why = m.check(&Call::new(&headers, Some(&body))).err();
        assert_eq!(
            why.as_deref(),
            Some(r#"body `/domain` is "b.example.com", not "a.example.com""#)
        );
        let why = m
            .check(&Call::new(&headers, None))
            .err()
            .unwrap_or_default();
        assert!(why.contains("not read"), "{why}");
        let good = Bytes::from_static(br#"{"domain":"a.example.com"}"#);
        assert_eq!(m.check(&Call::new(&headers, Some(&good))), Ok(()));
        assert!(m.body_field("domain", Value::Null).is_err());
        assert!(m.header("bad header", "x").is_err());
    }

    #[test]
    fn secret_values_are_never_shown() {
        let mut m = Matchers::default();
        m.header("authorization", "Bearer smx_root_secret")
            .unwrap_or_default();
        m.body_field("/smtp_password", Value::from("hunter2"))
            .unwrap_or_default();
        let described = m.describe();
        assert!(!described.contains("smx_root_secret"), "{described}");
        assert!(!described.contains("hunter2"), "{described}");
        let mut headers = HeaderMap::new();
        headers.insert(
            "authorization",
            http::HeaderValue::from_static("Bearer smx_root_other"),
        );
        let why = m
            .check(&Call::new(&headers, None))
            .err()
            .unwrap_or_default();
        assert!(!why.contains("smx_root"), "{why}");
        let mut only_body = Matchers::default();
        only_body
            .body_field("/smtp_password", Value::from("hunter2"))
            .unwrap_or_default();
        let body = Bytes::from_static(br#"{"smtp_password":"other-secret"}"#);
        let why = only_body
            .check(&Call::new(&headers, Some(&body)))
            .err()
            .unwrap_or_default();
        assert!(
            !why.contains("other-secret") && !why.contains("hunter2"),
            "{why}"
        );
    }
}
