//! Compares our OpenAPI 3.0 descriptions with the published OpenAPI 3.1
//! documents by meaning.
//!
//! We have one document per base URL (`openapi.yaml` for the Management and
//! Mailbox APIs, `openapi-sending.yaml` for the Sending API) and so does the
//! publisher; [`compare`] takes all of ours and all of theirs, pairs
//! operations by `operationId` (else by method and path), and compares each
//! pair within its own two documents, so references resolve against the
//! right components on each side.
//!
//! Both sides are reduced to the same normal form before comparing: every
//! `$ref` is resolved (component names do not matter), `allOf` members are
//! merged into one object, nullability is a flag whatever its spelling
//! (3.0 `nullable: true`, 3.1 `type: [X, "null"]`, `anyOf [X, {type: null}]`,
//! `null` in an `enum`), and prose (descriptions, summaries, examples,
//! titles) is dropped. Deliberate differences in our description are skipped
//! and listed, with a reason each, in [`ALLOWED_DIFFERENCES`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// A difference we made on purpose, which the comparison skips.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Allowance {
    /// Our operations add `4XX` and `5XX` range responses.
    RangeResponses,
    /// Our responses declare `X-Request-Id` and the `X-RateLimit-*` headers.
    CommonResponseHeaders,
    /// Our range responses declare `Retry-After`.
    RetryAfterOnRangeResponses,
    /// Our `429` and `503` responses declare `Retry-After`.
    RetryAfterOnThrottleResponses,
    /// Our operations declare `401`, `403` and `429` (in the error envelope)
    /// where the published document leaves them out.
    AuthAndRateLimitStatuses,
    /// Our attachment download declares an `application/octet-stream`
    /// binary body on a success response that publishes no content.
    BinaryDownloadBody,
    /// We read a published `allOf` whose inline member's `type` admits
    /// `null` as a nullable schema.
    NullableAllOfMember,
    /// Our request bodies say `required: true`.
    RequestBodyRequired,
    /// Our response headers say `required: true` where the API always sends them.
    ResponseHeaderRequired,
    /// Our string properties that hold points in time say `format: date-time`
    /// where the published document gives no format.
    DateTimeFormat,
    /// Descriptions, summaries, examples and titles are our own words.
    Prose,
}

impl Allowance {
    /// What is allowed to differ.
    pub fn what(self) -> &'static str {
        match self {
            Self::RangeResponses => "`4XX`/`5XX` range responses on every operation",
            Self::CommonResponseHeaders => {
                "response headers X-Request-Id, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset"
            }
            Self::RetryAfterOnRangeResponses => "`Retry-After` on the range responses",
            Self::RetryAfterOnThrottleResponses => "`Retry-After` on 429 and 503 responses",
            Self::AuthAndRateLimitStatuses => {
                "401, 403 and 429 responses with the error envelope as body, where not published"
            }
            Self::BinaryDownloadBody => {
                "an `application/octet-stream` binary body on a 2xx response that publishes no content"
            }
            Self::NullableAllOfMember => {
                "nullable where the published schema is `allOf [X, {type: [..., null], ...}]`"
            }
            Self::RequestBodyRequired => "`requestBody.required: true`",
            Self::ResponseHeaderRequired => "`required: true` on response headers",
            Self::DateTimeFormat => {
                "`format: date-time` on a string property where the published one has no format"
            }
            Self::Prose => "descriptions, summaries, examples, titles",
        }
    }

    /// Why it is allowed.
    pub fn reason(self) -> &'static str {
        match self {
            Self::RangeResponses => {
                "the API answers any operation with 401/403/404/429/5xx in the error envelope; ranges give the \
                 generated client a typed error for all of them (a `default` response would break generation)"
            }
            Self::CommonResponseHeaders => {
                "the API documents these as present on every response, but the published document does not \
                 repeat them per response; we declare them so conformance checks them"
            }
            Self::RetryAfterOnRangeResponses => {
                "429 and 503 carry `Retry-After`; the range responses are where those statuses land"
            }
            Self::RetryAfterOnThrottleResponses => {
                "throttled and unavailable answers tell the client when to come back; declaring the header \
                 lets the retry logic and conformance rely on it"
            }
            Self::AuthAndRateLimitStatuses => {
                "any call can be refused for a bad key, a missing permission or the rate limit; listing \
                 those statuses gives each a typed error in the generated client"
            }
            Self::BinaryDownloadBody => {
                "the download returns the file's bytes, but the published operation declares no body; \
                 without one the generated client could not hand the bytes back"
            }
            Self::NullableAllOfMember => {
                "the publisher's generator writes a nullable use of a shared object that way; read \
                 strictly the intersection admits no null, but the member only exists to add null"
            }
            Self::RequestBodyRequired => {
                "every operation with a body rejects a request without one; saying so gives the generated \
                 client a non-optional body argument"
            }
            Self::ResponseHeaderRequired => {
                "ETag on GETs and Location on 201 are always sent; marking them required lets conformance \
                 flag a response without them"
            }
            Self::DateTimeFormat => {
                "the API sends these points in time as RFC 3339 strings and the published document says so \
                 in prose; the format gives the generated models typed timestamps"
            }
            Self::Prose => "facts must agree, words are our own",
        }
    }
}

/// Every deliberate difference the comparison skips.
pub const ALLOWED_DIFFERENCES: &[Allowance] = &[
    Allowance::RangeResponses,
    Allowance::CommonResponseHeaders,
    Allowance::RetryAfterOnRangeResponses,
    Allowance::RetryAfterOnThrottleResponses,
    Allowance::AuthAndRateLimitStatuses,
    Allowance::BinaryDownloadBody,
    Allowance::NullableAllOfMember,
    Allowance::RequestBodyRequired,
    Allowance::ResponseHeaderRequired,
    Allowance::DateTimeFormat,
    Allowance::Prose,
];

/// Headers [`Allowance::CommonResponseHeaders`] covers.
const COMMON_RESPONSE_HEADERS: &[&str] = &[
    "X-Request-Id",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
];

/// Statuses [`Allowance::AuthAndRateLimitStatuses`] covers.
const AUTH_AND_RATE_LIMIT_STATUSES: &[&str] = &["401", "403", "429"];

/// Statuses [`Allowance::RetryAfterOnThrottleResponses`] covers.
const THROTTLE_STATUSES: &[&str] = &["429", "503"];

/// The media type [`Allowance::BinaryDownloadBody`] covers.
const BINARY_MEDIA_TYPE: &str = "application/octet-stream";

/// Why a drift comparison could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DriftError {
    /// A document could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A published document could not be fetched from its URL.
    #[error("cannot fetch {url}: {message}")]
    Fetch {
        /// Where it was asked for.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// A document is not JSON or YAML.
    #[error("cannot parse {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        message: String,
    },
}

/// One published document to compare against.
#[derive(Debug, Clone)]
pub struct Published {
    /// A short name for output (the file name).
    pub name: String,
    /// The document.
    pub document: Value,
}

impl Published {
    /// Reads a published document (JSON or YAML) from a file.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self, DriftError> {
        let path = path.as_ref();
        let document = read_document(path)?;
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        Ok(Self { name, document })
    }
}

impl Published {
    /// A published document from its text (JSON, or YAML with the `yaml`
    /// feature), e.g. as fetched
    /// from a live server's `/openapi.json`; `name` labels it in output.
    pub fn from_text(name: impl Into<String>, text: &str) -> Result<Self, DriftError> {
        let name = name.into();
        let document = crate::document::parse(text).map_err(|message| DriftError::Parse {
            path: PathBuf::from(&name),
            message,
        })?;
        Ok(Self { name, document })
    }

    /// Fetches a published document from `url` (a live API's
    /// `/openapi.json`), so drift can compare against what the server
    /// describes right now rather than a saved copy.
    #[cfg(feature = "check")]
    pub async fn fetch(url: &str, timeout: std::time::Duration) -> Result<Self, DriftError> {
        let failed = |message: String| DriftError::Fetch {
            url: url.to_owned(),
            message,
        };
        let client = crate::tls::with_tls(reqwest::Client::builder())
            .map_err(failed)?
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| failed(e.to_string()))?;
        let response = client
            .get(url)
            .header(http::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| failed(e.without_url().to_string()))?;
        let status = response.status();
        if !status.is_success() {
            return Err(failed(format!("the server answered {status}")));
        }
        let text = response
            .text()
            .await
            .map_err(|e| failed(e.without_url().to_string()))?;
        Self::from_text(url, &text)
    }
}

/// Reads a JSON document (ours or published) from a file, or a YAML one
/// with the `yaml` feature.
pub fn read_document(path: impl AsRef<Path>) -> Result<Value, DriftError> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|source| DriftError::Io {
        path: path.to_owned(),
        source,
    })?;
    crate::document::parse(&text).map_err(|message| DriftError::Parse {
        path: path.to_owned(),
        message,
    })
}

/// Our embedded documents, in the order drift compares them by default:
/// `openapi.yaml` (Management and Mailbox) and `openapi-sending.yaml`
/// (Sending).
pub fn embedded_documents() -> [&'static Value; 2] {
    [
        crate::Spec::embedded().document(),
        crate::Spec::embedded_sending().document(),
    ]
}

/// An operation identified by method and path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct OperationRef {
    /// Upper-case method.
    pub method: String,
    /// Path template as written in its document.
    pub path: String,
    /// `operationId`, when there is one.
    pub operation_id: Option<String>,
}

impl fmt::Display for OperationRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)?;
        if let Some(id) = &self.operation_id {
            write!(f, " ({id})")?;
        }
        Ok(())
    }
}

/// One fact that differs in a covered operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// The operation (ours).
    pub operation: OperationRef,
    /// Where in the operation: `parameter query limit`, `response 200 application/json /data/mode`, ...
    pub location: String,
    /// What differs, ours first, published second.
    pub message: String,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.operation, self.location, self.message)
    }
}

/// The outcome of a drift comparison.
#[derive(Debug, Clone, Default)]
pub struct DriftReport {
    /// Differences in operations both sides describe (and operations only we describe).
    pub differences: Vec<Difference>,
    /// Published operations we do not describe yet, with the document they are in.
    pub uncovered: Vec<(String, OperationRef)>,
    /// Published operations we describe.
    pub covered: usize,
    /// Published operations in all documents.
    pub published_total: usize,
}

impl DriftReport {
    /// `true` when no covered operation differs.
    pub fn is_clean(&self) -> bool {
        self.differences.is_empty()
    }
}

impl fmt::Display for DriftReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.differences.is_empty() {
            writeln!(f, "no differences in covered operations")?;
        } else {
            writeln!(
                f,
                "{} difference(s) in covered operations:",
                self.differences.len()
            )?;
            for difference in &self.differences {
                writeln!(f, "  {difference}")?;
            }
        }
        if !self.uncovered.is_empty() {
            writeln!(
                f,
                "published operations not covered yet ({}):",
                self.uncovered.len()
            )?;
            for (document, operation) in &self.uncovered {
                writeln!(f, "  [{document}] {operation}")?;
            }
        }
        write!(f, "covered {}/{}", self.covered, self.published_total)
    }
}

/// Reads the published documents and compares `ours` (OpenAPI 3.0
/// documents as JSON, e.g. [`embedded_documents`] or
/// [`Spec::document`](crate::Spec::document)) with them.
pub fn compare_files(
    ours: &[&Value],
    published: &[impl AsRef<Path>],
) -> Result<DriftReport, DriftError> {
    let documents = published
        .iter()
        .map(Published::from_path)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(compare(ours, &documents))
}

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// An operation found in a document, with enough context to resolve refs.
struct FoundOperation<'a> {
    /// The document the operation is in; its references resolve there.
    document: &'a Value,
    reference: OperationRef,
    /// Path with parameter names blanked (`/domains/{}`), for matching.
    shape: String,
    operation: &'a Value,
    path_item: &'a Value,
}

fn operations_of(document: &Value) -> Vec<FoundOperation<'_>> {
    let mut out = Vec::new();
    let Some(paths) = document.get("paths").and_then(Value::as_object) else {
        return out;
    };
    for (path, item) in paths {
        for method in METHODS {
            if let Some(operation) = item.get(*method) {
                out.push(FoundOperation {
                    document,
                    reference: OperationRef {
                        method: method.to_ascii_uppercase(),
                        path: path.clone(),
                        operation_id: operation
                            .get("operationId")
                            .and_then(Value::as_str)
                            .map(str::to_owned),
                    },
                    shape: path_shape(path),
                    operation,
                    path_item: item,
                });
            }
        }
    }
    out
}

fn path_shape(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push_str("{}");
            }
            '}' => in_param = false,
            _ if in_param => {}
            _ => out.push(c),
        }
    }
    out
}

/// Compares `ours` (OpenAPI 3.0 documents as JSON) with already-loaded
/// published documents.
///
/// Every operation of every document on one side is looked up among the
/// operations of all documents on the other side; each matched pair is
/// compared with references resolved in its own documents.
pub fn compare(ours: &[&Value], published: &[Published]) -> DriftReport {
    let our_operations: Vec<FoundOperation<'_>> = ours
        .iter()
        .flat_map(|document| operations_of(document))
        .collect();
    let mut report = DriftReport::default();
    let mut matched_ours = BTreeSet::new();
    for document in published {
        let envelope = error_envelope(&document.document);
        for theirs in operations_of(&document.document) {
            report.published_total += 1;
            // Same operationId first; else same method and path shape.
            let found = our_operations
                .iter()
                .enumerate()
                .find(|(_, o)| {
                    o.reference.operation_id.is_some()
                        && o.reference.operation_id == theirs.reference.operation_id
                })
                .or_else(|| {
                    our_operations.iter().enumerate().find(|(_, o)| {
                        o.reference.method == theirs.reference.method && o.shape == theirs.shape
                    })
                });
            match found {
                Some((index, ourop)) => {
                    report.covered += 1;
                    matched_ours.insert(index);
                    let mut cx = Comparison {
                        ours: ourop.document,
                        theirs: &document.document,
                        envelope: envelope.as_ref(),
                        operation: &ourop.reference,
                        differences: &mut report.differences,
                    };
                    cx.operation(ourop, &theirs);
                }
                None => report
                    .uncovered
                    .push((document.name.clone(), theirs.reference.clone())),
            }
        }
    }
    for (index, ourop) in our_operations.iter().enumerate() {
        if !matched_ours.contains(&index) {
            report.differences.push(Difference {
                operation: ourop.reference.clone(),
                location: "operation".to_owned(),
                message: "not in any published document".to_owned(),
            });
        }
    }
    report
}

/// Whether an operation asks for credentials: its own `security` when it
/// has one (an empty list opens it), else the document's. Scheme names
/// differ between documents (`bearerAuth`, `BearerAuth`), so only the
/// yes/no is compared.
fn needs_key(document: &Value, operation: &Value) -> bool {
    operation
        .get("security")
        .or_else(|| document.get("security"))
        .and_then(Value::as_array)
        .is_some_and(|requirements| !requirements.is_empty())
}

struct Comparison<'a> {
    /// The document of our operation.
    ours: &'a Value,
    /// The published document of their operation.
    theirs: &'a Value,
    /// The published document's error envelope, when it has exactly one.
    envelope: Option<&'a Norm>,
    operation: &'a OperationRef,
    differences: &'a mut Vec<Difference>,
}

impl Comparison<'_> {
    fn differ(&mut self, location: impl Into<String>, message: impl Into<String>) {
        self.differences.push(Difference {
            operation: self.operation.clone(),
            location: location.into(),
            message: message.into(),
        });
    }

    fn operation(&mut self, ourop: &FoundOperation<'_>, theirs: &FoundOperation<'_>) {
        let (o, t) = (&ourop.reference, &theirs.reference);
        if o.method != t.method {
            self.differ(
                "method",
                format!("ours {}, published {}", o.method, t.method),
            );
        }
        if o.path != t.path {
            self.differ("path", format!("ours {}, published {}", o.path, t.path));
        }
        if o.operation_id != t.operation_id {
            self.differ(
                "operationId",
                format!("ours {:?}, published {:?}", o.operation_id, t.operation_id),
            );
        }
        let (our_key, their_key) = (
            needs_key(self.ours, ourop.operation),
            needs_key(self.theirs, theirs.operation),
        );
        if our_key != their_key {
            self.differ(
                "security",
                format!("API key required: ours {our_key}, published {their_key}"),
            );
        }
        self.parameters(ourop, theirs);
        self.request_body(ourop.operation, theirs.operation);
        self.responses(ourop.operation, theirs.operation);
    }

    fn parameters(&mut self, ourop: &FoundOperation<'_>, theirs: &FoundOperation<'_>) {
        let ours = collect_parameters(self.ours, ourop);
        let published = collect_parameters(self.theirs, theirs);
        for (key, our_param) in &ours {
            let location = format!("parameter {} {}", key.0, our_param.0);
            let Some(their_param) = published.get(key) else {
                self.differ(location, "only in ours");
                continue;
            };
            let our_required = our_param
                .1
                .get("required")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let their_required = their_param
                .1
                .get("required")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            if our_required != their_required {
                self.differ(
                    location.clone(),
                    format!("required: ours {our_required}, published {their_required}"),
                );
            }
            self.schemas(
                &location,
                our_param.1.get("schema"),
                their_param.1.get("schema"),
            );
        }
        for (key, their_param) in &published {
            if !ours.contains_key(key) {
                self.differ(
                    format!("parameter {} {}", key.0, their_param.0),
                    "only in published",
                );
            }
        }
    }

    fn request_body(&mut self, ours: &Value, theirs: &Value) {
        let our_body = ours.get("requestBody").map(|b| deref(self.ours, b));
        let their_body = theirs.get("requestBody").map(|b| deref(self.theirs, b));
        // `required` is not compared: Allowance::RequestBodyRequired.
        match (our_body, their_body) {
            (None, None) => {}
            (Some(_), None) => self.differ("request body", "only in ours"),
            (None, Some(_)) => self.differ("request body", "only in published"),
            (Some(o), Some(t)) => {
                self.content("request body", o.get("content"), t.get("content"), false);
            }
        }
    }

    fn responses(&mut self, ours: &Value, theirs: &Value) {
        let empty = serde_json::Map::new();
        let our_responses = ours
            .get("responses")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let their_responses = theirs
            .get("responses")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        for (status, our_response) in our_responses {
            if is_range(status) && !their_responses.contains_key(status) {
                // Allowance::RangeResponses, and with them their headers
                // (Allowance::RetryAfterOnRangeResponses).
                continue;
            }
            let location = format!("response {status}");
            let o = deref(self.ours, our_response);
            let Some(their_response) = their_responses.get(status) else {
                self.status_only_in_ours(&location, status, o);
                continue;
            };
            let t = deref(self.theirs, their_response);
            self.response_headers(&location, status, o, t);
            // Allowance::BinaryDownloadBody applies only where the publisher
            // gives a success response no content at all.
            let binary_allowed = status.starts_with('2') && is_empty_content(t.get("content"));
            self.content(
                &location,
                o.get("content"),
                t.get("content"),
                binary_allowed,
            );
        }
        for status in their_responses.keys() {
            if !our_responses.contains_key(status) {
                self.differ(format!("response {status}"), "status only in published");
            }
        }
    }

    /// A status we declare and the publisher does not: allowed only for
    /// [`AUTH_AND_RATE_LIMIT_STATUSES`] whose only body is the published
    /// error envelope and whose headers are ones we add everywhere.
    fn status_only_in_ours(&mut self, location: &str, status: &str, ours: &Value) {
        if !AUTH_AND_RATE_LIMIT_STATUSES.contains(&status) {
            self.differ(location, "status only in ours");
            return;
        }
        let is_envelope = match (
            self.envelope,
            ours.get("content").and_then(Value::as_object),
        ) {
            (Some(envelope), Some(content)) if content.len() == 1 => content
                .get("application/json")
                .and_then(|media| media.get("schema"))
                .is_some_and(|schema| {
                    let mut found = Vec::new();
                    diff(&normalize(self.ours, schema, 0), envelope, "", &mut found);
                    found.is_empty()
                }),
            _ => false,
        };
        if !is_envelope {
            self.differ(
                location,
                "status only in ours, and its body is not the published error envelope",
            );
            return;
        }
        // Allowance::AuthAndRateLimitStatuses; its headers must still be
        // ones an allowance covers.
        for (name, (spelling, _)) in header_map(ours) {
            if !is_common_header(&name) && !is_throttle_retry_after(status, &name) {
                self.differ(format!("{location} header {spelling}"), "only in ours");
            }
        }
    }

    fn response_headers(&mut self, location: &str, status: &str, ours: &Value, theirs: &Value) {
        let our_headers = header_map(ours);
        let their_headers = header_map(theirs);
        for (name, (spelling, our_header)) in &our_headers {
            let Some((_, their_header)) = their_headers.get(name) else {
                // Allowance::CommonResponseHeaders and
                // Allowance::RetryAfterOnThrottleResponses.
                if is_common_header(name) || is_throttle_retry_after(status, name) {
                    continue;
                }
                self.differ(format!("{location} header {spelling}"), "only in ours");
                continue;
            };
            // `required` is not compared: Allowance::ResponseHeaderRequired.
            let our_header = deref(self.ours, our_header);
            let their_header = deref(self.theirs, their_header);
            self.schemas(
                &format!("{location} header {spelling}"),
                our_header.get("schema"),
                their_header.get("schema"),
            );
        }
        for (name, (spelling, _)) in &their_headers {
            if !our_headers.contains_key(name) {
                self.differ(format!("{location} header {spelling}"), "only in published");
            }
        }
    }

    /// Compares two `content` maps. `binary_allowed`: the publisher gives
    /// this success response no content, so a binary body of ours is
    /// [`Allowance::BinaryDownloadBody`].
    fn content(
        &mut self,
        location: &str,
        ours: Option<&Value>,
        theirs: Option<&Value>,
        binary_allowed: bool,
    ) {
        let empty = serde_json::Map::new();
        let ours = ours.and_then(Value::as_object).unwrap_or(&empty);
        let theirs = theirs.and_then(Value::as_object).unwrap_or(&empty);
        for (media_type, our_media) in ours {
            let here = format!("{location} {media_type}");
            match theirs.get(media_type) {
                None if binary_allowed
                    && media_type.eq_ignore_ascii_case(BINARY_MEDIA_TYPE)
                    && our_media
                        .get("schema")
                        .is_some_and(|schema| is_binary(&normalize(self.ours, schema, 0))) => {}
                None => self.differ(here, "media type only in ours"),
                Some(their_media) => {
                    self.schemas(&here, our_media.get("schema"), their_media.get("schema"));
                }
            }
        }
        for media_type in theirs.keys() {
            if !ours.contains_key(media_type) {
                self.differ(
                    format!("{location} {media_type}"),
                    "media type only in published",
                );
            }
        }
    }

    fn schemas(&mut self, location: &str, ours: Option<&Value>, theirs: Option<&Value>) {
        let ours = ours.map(|s| normalize(self.ours, s, 0));
        let theirs = theirs.map(|s| normalize(self.theirs, s, 0));
        match (ours, theirs) {
            (None, None) => {}
            (Some(_), None) => self.differ(location, "schema only in ours"),
            (None, Some(_)) => self.differ(location, "schema only in published"),
            (Some(o), Some(t)) => {
                let mut found = Vec::new();
                diff(&o, &t, "", &mut found);
                for (pointer, message) in found {
                    let here = if pointer.is_empty() {
                        location.to_owned()
                    } else {
                        format!("{location} {pointer}")
                    };
                    self.differ(here, message);
                }
            }
        }
    }
}

fn is_range(status: &str) -> bool {
    status.len() == 3 && status.ends_with("XX")
}

/// Whether `name` (lower-cased) is one of [`COMMON_RESPONSE_HEADERS`].
fn is_common_header(name: &str) -> bool {
    COMMON_RESPONSE_HEADERS
        .iter()
        .any(|h| h.eq_ignore_ascii_case(name))
}

/// Whether `name` is `Retry-After` on a [`THROTTLE_STATUSES`] response.
fn is_throttle_retry_after(status: &str, name: &str) -> bool {
    THROTTLE_STATUSES.contains(&status) && name.eq_ignore_ascii_case("retry-after")
}

fn is_empty_content(content: Option<&Value>) -> bool {
    content
        .and_then(Value::as_object)
        .is_none_or(serde_json::Map::is_empty)
}

/// `{type: string, format: binary}` and nothing else: raw bytes.
fn is_binary(norm: &Norm) -> bool {
    let expected = Norm {
        types: BTreeSet::from(["string".to_owned()]),
        facets: BTreeMap::from([("format", "\"binary\"".to_owned())]),
        ..Norm::default()
    };
    *norm == expected
}

/// The schema every JSON error body (status `4xx`/`5xx`) of a published
/// document has, when they all have the same one.
fn error_envelope(document: &Value) -> Option<Norm> {
    let mut envelope: Option<Norm> = None;
    for operation in operations_of(document) {
        let responses = operation
            .operation
            .get("responses")
            .and_then(Value::as_object);
        for (status, response) in responses.into_iter().flatten() {
            if !(status.starts_with('4') || status.starts_with('5')) {
                continue;
            }
            let response = deref(document, response);
            let Some(content) = response.get("content").and_then(Value::as_object) else {
                continue;
            };
            for (media_type, media) in content {
                if !media_type.eq_ignore_ascii_case("application/json") {
                    continue;
                }
                let norm = normalize(document, media.get("schema")?, 0);
                match &envelope {
                    None => envelope = Some(norm),
                    Some(known) => {
                        let mut found = Vec::new();
                        diff(&norm, known, "", &mut found);
                        if !found.is_empty() {
                            return None;
                        }
                    }
                }
            }
        }
    }
    envelope
}

/// Parameters keyed by `(in, name)` (header names lower-cased), operation
/// level winning over path level; values are `(spelling, parameter)`.
fn collect_parameters<'a>(
    document: &'a Value,
    found: &FoundOperation<'a>,
) -> BTreeMap<(String, String), (String, &'a Value)> {
    let mut out = BTreeMap::new();
    for source in [found.path_item, found.operation] {
        for parameter in source
            .get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let parameter = deref(document, parameter);
            let location = parameter
                .get("in")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let name = parameter
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let key_name = if location == "header" {
                name.to_ascii_lowercase()
            } else if location == "path" {
                // Path parameter names may differ only with the template; compare by position-free name.
                name.to_owned()
            } else {
                name.to_owned()
            };
            out.insert(
                (location.to_owned(), key_name),
                (name.to_owned(), parameter),
            );
        }
    }
    out
}

/// Response headers keyed by lower-cased name; values are `(spelling, header)`.
fn header_map(response: &Value) -> BTreeMap<String, (String, &Value)> {
    response
        .get("headers")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(name, header)| (name.to_ascii_lowercase(), (name.clone(), header)))
        .collect()
}

/// Follows `$ref`s to objects in the same document.
fn deref<'a>(document: &'a Value, mut value: &'a Value) -> &'a Value {
    for _ in 0..16 {
        let Some(reference) = value.get("$ref").and_then(Value::as_str) else {
            return value;
        };
        match reference
            .strip_prefix('#')
            .and_then(|p| document.pointer(p))
        {
            Some(target) => value = target,
            None => return value,
        }
    }
    value
}

/// Additional properties allowed on an object.
#[derive(Debug, Clone, PartialEq)]
enum Additional {
    Open,
    Closed,
    Schema(Box<Norm>),
}

/// A schema in normal form: only the facts that are compared.
#[derive(Debug, Clone, PartialEq)]
struct Norm {
    types: BTreeSet<String>,
    nullable: bool,
    enumeration: Option<BTreeSet<String>>,
    /// `format`, bounds, lengths, `pattern`, `default`, as canonical JSON text.
    facets: BTreeMap<&'static str, String>,
    properties: BTreeMap<String, Norm>,
    required: BTreeSet<String>,
    additional: Additional,
    items: Option<Box<Norm>>,
    /// Remaining non-null `anyOf`/`oneOf` alternatives.
    alternatives: Vec<Norm>,
    /// A reference that could not be resolved or recursion cut short.
    opaque: Option<String>,
    /// An inline `allOf` member admitted null that the intersection does
    /// not ([`Allowance::NullableAllOfMember`]).
    null_in_all_of_member: bool,
}

impl Default for Norm {
    fn default() -> Self {
        Self {
            types: BTreeSet::new(),
            nullable: false,
            enumeration: None,
            facets: BTreeMap::new(),
            properties: BTreeMap::new(),
            required: BTreeSet::new(),
            additional: Additional::Open,
            items: None,
            alternatives: Vec::new(),
            opaque: None,
            null_in_all_of_member: false,
        }
    }
}

const MAX_DEPTH: usize = 48;

const FACETS: &[&str] = &[
    "format",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "pattern",
    "multipleOf",
    "uniqueItems",
    "default",
];

/// Reduces a 3.0 or 3.1 schema to [`Norm`].
fn normalize(document: &Value, schema: &Value, depth: usize) -> Norm {
    if depth > MAX_DEPTH {
        return Norm {
            opaque: Some("(too deep)".to_owned()),
            ..Norm::default()
        };
    }
    let Value::Object(object) = schema else {
        // `true`/`{}`-like schemas accept anything.
        return Norm::default();
    };
    if let Some(reference) = object.get("$ref").and_then(Value::as_str) {
        let Some(target) = reference
            .strip_prefix('#')
            .and_then(|p| document.pointer(p))
        else {
            return Norm {
                opaque: Some(reference.to_owned()),
                ..Norm::default()
            };
        };
        let resolved = normalize(document, target, depth + 1);
        // 3.1 allows siblings next to `$ref`; they apply on top.
        let siblings: serde_json::Map<String, Value> = object
            .iter()
            .filter(|(k, _)| k.as_str() != "$ref")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if siblings.keys().any(|k| !is_prose(k)) {
            return merge(
                resolved,
                normalize(document, &Value::Object(siblings), depth + 1),
            );
        }
        return resolved;
    }
    let mut norm = Norm::default();
    match object.get("type") {
        Some(Value::String(ty)) => {
            norm.types.insert(ty.clone());
        }
        Some(Value::Array(types)) => {
            for ty in types.iter().filter_map(Value::as_str) {
                norm.types.insert(ty.to_owned());
            }
        }
        _ => {}
    }
    if norm.types.remove("null") {
        norm.nullable = true;
    }
    if object.get("nullable").and_then(Value::as_bool) == Some(true) {
        norm.nullable = true;
    }
    // `integer` is a `number`; keep both spellings distinct (they are different facts).
    let options = object
        .get("enum")
        .and_then(Value::as_array)
        .cloned()
        .or_else(|| object.get("const").map(|c| vec![c.clone()]));
    if let Some(options) = options {
        let mut set = BTreeSet::new();
        for option in options {
            if option.is_null() {
                norm.nullable = true;
            } else {
                set.insert(option.to_string());
            }
        }
        norm.enumeration = Some(set);
    }
    for facet in FACETS {
        if let Some(value) = object.get(*facet) {
            norm.facets.insert(facet, value.to_string());
        }
    }
    // 3.0 spells exclusive bounds as booleans next to minimum/maximum; 3.1 as numbers.
    for (flag, bound) in [
        ("exclusiveMinimum", "minimum"),
        ("exclusiveMaximum", "maximum"),
    ] {
        if let Some(Value::Bool(exclusive)) = object.get(flag) {
            norm.facets.remove(flag);
            if *exclusive && let Some(limit) = norm.facets.remove(bound) {
                norm.facets.insert(flag, limit);
            }
        }
    }
    if let Some(Value::Object(properties)) = object.get("properties") {
        for (name, property) in properties {
            norm.properties
                .insert(name.clone(), normalize(document, property, depth + 1));
        }
    }
    if let Some(Value::Array(required)) = object.get("required") {
        norm.required = required
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect();
    }
    norm.additional = match object.get("additionalProperties") {
        Some(Value::Bool(false)) => Additional::Closed,
        Some(Value::Object(schema)) if !schema.is_empty() => Additional::Schema(Box::new(
            normalize(document, &Value::Object(schema.clone()), depth + 1),
        )),
        _ => Additional::Open,
    };
    if let Some(items) = object.get("items") {
        norm.items = Some(Box::new(normalize(document, items, depth + 1)));
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(branches)) = object.get(key) {
            for branch in branches {
                let mut branch = normalize(document, branch, depth + 1);
                if is_null_only(&branch) {
                    norm.nullable = true;
                } else {
                    // `anyOf` admits null when any branch does; where the null
                    // sits (a `{type: null}` branch or a nullable one) is
                    // spelling. (`oneOf` is left alone: two branches admitting
                    // null would reject it.)
                    if key == "anyOf" && branch.nullable {
                        norm.nullable = true;
                        branch.nullable = false;
                    }
                    norm.alternatives.push(branch);
                }
            }
        }
    }
    // One remaining alternative is the schema itself (`anyOf [X, null]`).
    if norm.alternatives.len() == 1 {
        let nullable = norm.nullable;
        let alternative = norm.alternatives.remove(0);
        norm = merge(norm, alternative);
        norm.nullable = nullable || norm.nullable;
    }
    if let Some(Value::Array(members)) = object.get("allOf") {
        // `nullable: true` beside an `allOf` (3.0) still admits null.
        let explicit_nullable = norm.nullable;
        for member in members {
            norm = merge(norm, normalize(document, member, depth + 1));
        }
        norm.nullable |= explicit_nullable;
        norm.null_in_all_of_member = !norm.nullable
            && (norm.null_in_all_of_member || members.iter().any(inline_type_admits_null));
    }
    // `unevaluatedProperties: false` over an `allOf` closes the merged object.
    if object.get("unevaluatedProperties") == Some(&Value::Bool(false)) {
        norm.additional = Additional::Closed;
    }
    norm
}

/// An inline (not `$ref`) schema whose `type` list includes `null`.
fn inline_type_admits_null(schema: &Value) -> bool {
    schema.get("$ref").is_none()
        && schema
            .get("type")
            .and_then(Value::as_array)
            .is_some_and(|types| types.iter().any(|t| t.as_str() == Some("null")))
}

fn is_prose(keyword: &str) -> bool {
    matches!(
        keyword,
        "description" | "summary" | "example" | "examples" | "title" | "deprecated"
    ) || keyword.starts_with("x-")
}

/// Whether a schema constrains nothing (ignoring its nullability).
fn is_unconstrained(norm: &Norm) -> bool {
    norm.types.is_empty()
        && norm.enumeration.is_none()
        && norm.facets.is_empty()
        && norm.properties.is_empty()
        && norm.required.is_empty()
        && norm.additional == Additional::Open
        && norm.items.is_none()
        && norm.alternatives.is_empty()
        && norm.opaque.is_none()
}

fn is_null_only(norm: &Norm) -> bool {
    norm.nullable
        && norm.types.is_empty()
        && norm.enumeration.is_none()
        && norm.properties.is_empty()
        && norm.alternatives.is_empty()
        && norm.items.is_none()
}

/// The intersection of two schemas (what `allOf` means), as far as the
/// compared facts go.
fn merge(mut a: Norm, b: Norm) -> Norm {
    let nullable = match (is_unconstrained(&a), is_unconstrained(&b)) {
        (true, _) => b.nullable,
        (_, true) => a.nullable,
        _ => a.nullable && b.nullable,
    };
    // The flag describes one schema; it survives only prose-like wrappers.
    let null_in_all_of_member = (a.null_in_all_of_member && is_unconstrained(&b))
        || (b.null_in_all_of_member && is_unconstrained(&a));
    a.types = match (a.types.is_empty(), b.types.is_empty()) {
        (true, _) => b.types,
        (_, true) => a.types,
        _ => a.types.intersection(&b.types).cloned().collect(),
    };
    a.nullable = nullable;
    a.enumeration = match (a.enumeration, b.enumeration) {
        (Some(x), Some(y)) => Some(x.intersection(&y).cloned().collect()),
        (x, y) => x.or(y),
    };
    for (facet, value) in b.facets {
        a.facets.entry(facet).or_insert(value);
    }
    for (name, property) in b.properties {
        let merged = match a.properties.remove(&name) {
            Some(existing) => merge(existing, property),
            None => property,
        };
        a.properties.insert(name, merged);
    }
    a.required.extend(b.required);
    a.additional = match (a.additional, b.additional) {
        (Additional::Closed, _) | (_, Additional::Closed) => Additional::Closed,
        (Additional::Open, other) | (other, Additional::Open) => other,
        (Additional::Schema(x), Additional::Schema(y)) => {
            Additional::Schema(Box::new(merge(*x, *y)))
        }
    };
    a.items = match (a.items, b.items) {
        (Some(x), Some(y)) => Some(Box::new(merge(*x, *y))),
        (x, y) => x.or(y),
    };
    a.alternatives.extend(b.alternatives);
    a.opaque = a.opaque.or(b.opaque);
    a.null_in_all_of_member = null_in_all_of_member;
    a
}

fn set_text(set: &BTreeSet<String>) -> String {
    if set.is_empty() {
        "(any)".to_owned()
    } else {
        set.iter().cloned().collect::<Vec<_>>().join(", ")
    }
}

fn additional_text(additional: &Additional) -> &'static str {
    match additional {
        Additional::Open => "allowed",
        Additional::Closed => "false",
        Additional::Schema(_) => "a schema",
    }
}

/// Lists the differences between two normal forms, with JSON-pointer-like paths.
fn diff(ours: &Norm, theirs: &Norm, at: &str, out: &mut Vec<(String, String)>) {
    if ours.opaque != theirs.opaque {
        out.push((
            at.to_owned(),
            format!(
                "unresolved: ours {:?}, published {:?}",
                ours.opaque, theirs.opaque
            ),
        ));
    }
    if ours.types != theirs.types {
        out.push((
            at.to_owned(),
            format!(
                "type: ours {}, published {}",
                set_text(&ours.types),
                set_text(&theirs.types)
            ),
        ));
    }
    // Allowance::NullableAllOfMember: ours nullable where the published
    // `allOf` drops the null its inline member adds.
    let allowed_nullable = ours.nullable && !theirs.nullable && theirs.null_in_all_of_member;
    if ours.nullable != theirs.nullable && !allowed_nullable {
        out.push((
            at.to_owned(),
            format!(
                "nullable: ours {}, published {}",
                ours.nullable, theirs.nullable
            ),
        ));
    }
    if ours.enumeration != theirs.enumeration {
        let text =
            |e: &Option<BTreeSet<String>>| e.as_ref().map_or_else(|| "(none)".to_owned(), set_text);
        out.push((
            at.to_owned(),
            format!(
                "enum: ours [{}], published [{}]",
                text(&ours.enumeration),
                text(&theirs.enumeration)
            ),
        ));
    }
    let facets: BTreeSet<&&str> = ours.facets.keys().chain(theirs.facets.keys()).collect();
    for facet in facets {
        let (o, t) = (ours.facets.get(*facet), theirs.facets.get(*facet));
        // Allowance::DateTimeFormat: ours names the format of a string the
        // published document leaves without one.
        let date_time_added = *facet == "format"
            && o.is_some_and(|f| f == "\"date-time\"")
            && t.is_none()
            && ours.types.len() == 1
            && ours.types.contains("string");
        if o != t && !date_time_added {
            out.push((
                at.to_owned(),
                format!(
                    "{facet}: ours {}, published {}",
                    o.map_or("(none)", String::as_str),
                    t.map_or("(none)", String::as_str)
                ),
            ));
        }
    }
    if ours.required != theirs.required {
        let only_ours: Vec<&String> = ours.required.difference(&theirs.required).collect();
        let only_theirs: Vec<&String> = theirs.required.difference(&ours.required).collect();
        out.push((
            at.to_owned(),
            format!("required: only ours {only_ours:?}, only published {only_theirs:?}"),
        ));
    }
    if ours.additional != theirs.additional {
        match (&ours.additional, &theirs.additional) {
            (Additional::Schema(o), Additional::Schema(t)) => {
                diff(o, t, &format!("{at}/*"), out);
            }
            (o, t) => out.push((
                at.to_owned(),
                format!(
                    "additionalProperties: ours {}, published {}",
                    additional_text(o),
                    additional_text(t)
                ),
            )),
        }
    }
    for (name, our_property) in &ours.properties {
        let here = format!("{at}/{name}");
        match theirs.properties.get(name) {
            Some(their_property) => diff(our_property, their_property, &here, out),
            None => out.push((here, "property only in ours".to_owned())),
        }
    }
    for name in theirs.properties.keys() {
        if !ours.properties.contains_key(name) {
            out.push((
                format!("{at}/{name}"),
                "property only in published".to_owned(),
            ));
        }
    }
    match (&ours.items, &theirs.items) {
        (Some(o), Some(t)) => diff(o, t, &format!("{at}/items"), out),
        (Some(_), None) => out.push((at.to_owned(), "items: only in ours".to_owned())),
        (None, Some(_)) => out.push((at.to_owned(), "items: only in published".to_owned())),
        (None, None) => {}
    }
    if ours.alternatives.len() != theirs.alternatives.len() {
        out.push((
            at.to_owned(),
            format!(
                "alternatives (anyOf/oneOf): ours {}, published {}",
                ours.alternatives.len(),
                theirs.alternatives.len()
            ),
        ));
    } else {
        for (index, (o, t)) in ours
            .alternatives
            .iter()
            .zip(&theirs.alternatives)
            .enumerate()
        {
            diff(o, t, &format!("{at}/anyOf/{index}"), out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn norm(schema: Value) -> Norm {
        normalize(&json!({}), &schema, 0)
    }

    #[test]
    fn nullable_spellings_agree() {
        let v30 = norm(json!({"type": "string", "nullable": true}));
        let v31 = norm(json!({"type": ["string", "null"]}));
        let any = norm(json!({"anyOf": [{"type": "string"}, {"type": "null"}]}));
        assert_eq!(v30, v31);
        assert_eq!(v30, any);
        assert!(v30.nullable);
    }

    #[test]
    fn exclusive_bounds_agree() {
        assert_eq!(
            norm(json!({"type": "integer", "minimum": 0, "exclusiveMinimum": true})),
            norm(json!({"type": "integer", "exclusiveMinimum": 0}))
        );
    }

    #[test]
    fn all_of_envelope_equals_flat_object() {
        let published = json!({"components": {"schemas": {
            "Env": {"type": "object", "required": ["ok", "meta"], "properties": {
                "ok": {"type": "boolean", "enum": [true]},
                "meta": {"type": "object", "properties": {}, "additionalProperties": {}}}},
            "Meta": {"type": "object", "required": ["request_id"], "additionalProperties": false,
                "properties": {"request_id": {"type": "string"}}}
        }}});
        let wrapped = json!({"allOf": [
            {"$ref": "#/components/schemas/Env"},
            {"type": "object", "required": ["data"], "properties": {
                "data": {"type": "string"}, "meta": {"$ref": "#/components/schemas/Meta"}}}
        ], "unevaluatedProperties": false});
        let flat = json!({"type": "object", "required": ["ok", "data", "meta"], "additionalProperties": false,
            "properties": {
                "ok": {"type": "boolean", "enum": [true]},
                "data": {"type": "string", "description": "words"},
                "meta": {"type": "object", "required": ["request_id"], "additionalProperties": false,
                    "properties": {"request_id": {"type": "string"}}}}});
        let a = normalize(&published, &wrapped, 0);
        let b = norm(flat);
        let mut out = Vec::new();
        diff(&b, &a, "", &mut out);
        assert!(out.is_empty(), "{out:?}");
    }

    #[test]
    fn differences_are_named() {
        let mut out = Vec::new();
        diff(
            &norm(
                json!({"type": "object", "properties": {"a": {"type": "string", "enum": ["x"]}}}),
            ),
            &norm(
                json!({"type": "object", "properties": {"a": {"type": "string", "enum": ["x", "y"]}, "b": {}}}),
            ),
            "",
            &mut out,
        );
        assert_eq!(
            out,
            vec![
                (
                    "/a".to_owned(),
                    "enum: ours [\"x\"], published [\"x\", \"y\"]".to_owned()
                ),
                ("/b".to_owned(), "property only in published".to_owned()),
            ]
        );
    }

    #[test]
    fn path_shape_blanks_parameter_names() {
        assert_eq!(
            path_shape("/domains/{public_id}/verify"),
            "/domains/{}/verify"
        );
    }

    // ---- fabricated documents for the allowances ----

    /// A minimal document with these paths and schemas.
    fn document(paths: Value, schemas: Value) -> Value {
        json!({"openapi": "3.0.3", "paths": paths, "components": {"schemas": schemas}})
    }

    fn published(document: Value) -> Published {
        Published {
            name: "published.json".to_owned(),
            document,
        }
    }

    /// `location: message` of every difference.
    fn found(ours: &[&Value], theirs: Value) -> Vec<String> {
        compare(ours, &[published(theirs)])
            .differences
            .iter()
            .map(|d| format!("{}: {}", d.location, d.message))
            .collect()
    }

    fn error_schemas() -> Value {
        json!({"Err": {"type": "object", "required": ["error"], "additionalProperties": false,
            "properties": {"error": {"type": "string"}}}})
    }

    fn json_body(schema: Value) -> Value {
        json!({"description": "d", "content": {"application/json": {"schema": schema}}})
    }

    fn err_ref() -> Value {
        json!({"$ref": "#/components/schemas/Err"})
    }

    /// The published side: one operation with a 200 and a 404 in the envelope.
    fn published_with_errors() -> Value {
        document(
            json!({"/things": {"get": {"operationId": "listThings", "responses": {
                "200": json_body(json!({"type": "string"})),
                "404": json_body(err_ref()),
            }}}}),
            error_schemas(),
        )
    }

    fn ours_with_responses(extra: &[(&str, Value)]) -> Value {
        let mut responses = serde_json::Map::new();
        responses.insert("200".into(), json_body(json!({"type": "string"})));
        responses.insert("404".into(), json_body(err_ref()));
        for (status, response) in extra {
            responses.insert((*status).to_owned(), response.clone());
        }
        document(
            json!({"/things": {"get": {"operationId": "listThings", "responses": responses}}}),
            error_schemas(),
        )
    }

    fn with_headers(mut response: Value, names: &[&str]) -> Value {
        let headers: serde_json::Map<String, Value> = names
            .iter()
            .map(|name| ((*name).to_owned(), json!({"schema": {"type": "string"}})))
            .collect();
        response["headers"] = Value::Object(headers);
        response
    }

    #[test]
    fn added_auth_and_rate_limit_statuses_in_the_envelope_are_allowed() {
        let ours = ours_with_responses(&[
            ("401", with_headers(json_body(err_ref()), &["X-Request-Id"])),
            ("403", json_body(err_ref())),
            (
                "429",
                with_headers(json_body(err_ref()), &["Retry-After", "X-RateLimit-Reset"]),
            ),
        ]);
        assert_eq!(
            found(&[&ours], published_with_errors()),
            Vec::<String>::new()
        );
    }

    #[test]
    fn other_added_statuses_bodies_and_headers_are_reported() {
        let not_envelope = json_body(json!({"type": "object"}));
        let ours = ours_with_responses(&[
            // Not one of 401/403/429.
            ("409", json_body(err_ref())),
            // The right status, the wrong body.
            ("401", not_envelope),
            // `Retry-After` belongs on 429/503 only.
            ("403", with_headers(json_body(err_ref()), &["Retry-After"])),
            // A second media type besides the envelope.
            (
                "429",
                json!({"description": "d", "content": {
                    "application/json": {"schema": err_ref()},
                    "text/plain": {"schema": {"type": "string"}}}}),
            ),
        ]);
        assert_eq!(
            found(&[&ours], published_with_errors()),
            vec![
                "response 401: status only in ours, and its body is not the published error envelope",
                "response 403 header Retry-After: only in ours",
                "response 409: status only in ours",
                "response 429: status only in ours, and its body is not the published error envelope",
            ]
        );
    }

    #[test]
    fn added_statuses_are_reported_when_published_errors_disagree() {
        let mut theirs = published_with_errors();
        theirs["paths"]["/things"]["get"]["responses"]["400"] =
            json_body(json!({"type": "object"}));
        let mut ours = ours_with_responses(&[("401", json_body(err_ref()))]);
        ours["paths"]["/things"]["get"]["responses"]["400"] = json_body(json!({"type": "object"}));
        assert_eq!(
            found(&[&ours], theirs),
            vec![
                "response 401: status only in ours, and its body is not the published error envelope"
            ]
        );
    }

    #[test]
    fn retry_after_is_allowed_on_429_and_503_only() {
        let theirs = document(
            json!({"/things": {"get": {"operationId": "listThings", "responses": {
                "200": json_body(json!({"type": "string"})),
                "429": json_body(err_ref()),
                "503": json_body(err_ref()),
            }}}}),
            error_schemas(),
        );
        let ours = document(
            json!({"/things": {"get": {"operationId": "listThings", "responses": {
                "200": with_headers(json_body(json!({"type": "string"})), &["Retry-After"]),
                "429": with_headers(json_body(err_ref()), &["Retry-After"]),
                "503": with_headers(json_body(err_ref()), &["retry-after"]),
            }}}}),
            error_schemas(),
        );
        assert_eq!(
            found(&[&ours], theirs),
            vec!["response 200 header Retry-After: only in ours"]
        );
    }

    fn download(responses: Value) -> Value {
        document(
            json!({"/files/{id}": {"get": {"operationId": "getFile", "responses": responses}}}),
            json!({}),
        )
    }

    fn binary(media_type: &str, schema: Value) -> Value {
        json!({"description": "d", "content": {media_type: {"schema": schema}}})
    }

    #[test]
    fn a_binary_body_on_a_bodiless_success_response_is_allowed() {
        let theirs = download(json!({"200": {"description": "d"}, "206": {"description": "d"}}));
        let bytes = json!({"type": "string", "format": "binary"});
        let ours = download(json!({
            "200": binary("application/octet-stream", bytes.clone()),
            "206": binary("application/octet-stream", bytes),
        }));
        assert_eq!(found(&[&ours], theirs), Vec::<String>::new());
    }

    #[test]
    fn other_bodies_where_none_is_published_are_reported() {
        let theirs = download(json!({
            "200": {"description": "d"},
            "206": {"description": "d"},
            "400": {"description": "d"},
            "202": json_body(json!({"type": "string"})),
            "203": {"description": "d"},
        }));
        let bytes = json!({"type": "string", "format": "binary"});
        let ours = download(json!({
            // Another media type.
            "200": binary("application/pdf", bytes.clone()),
            // Not bytes.
            "206": binary("application/octet-stream", json!({"type": "string"})),
            // Not a success.
            "400": binary("application/octet-stream", bytes.clone()),
            // The published response has a body already.
            "202": {"description": "d", "content": {
                "application/json": {"schema": {"type": "string"}},
                "application/octet-stream": {"schema": bytes.clone()}}},
            // A binary body is fine, but not beside a second one.
            "203": {"description": "d", "content": {
                "application/octet-stream": {"schema": bytes},
                "text/plain": {"schema": {"type": "string"}}}},
        }));
        assert_eq!(
            found(&[&ours], theirs),
            vec![
                "response 200 application/pdf: media type only in ours",
                "response 202 application/octet-stream: media type only in ours",
                "response 203 text/plain: media type only in ours",
                "response 206 application/octet-stream: media type only in ours",
                "response 400 application/octet-stream: media type only in ours",
            ]
        );
    }

    #[test]
    fn a_null_admitting_all_of_member_allows_ours_to_be_nullable() {
        let theirs = json!({"components": {"schemas": {
            "Addr": {"type": "object", "properties": {"email": {"type": "string"}}},
            "Nullable": {"type": ["object", "null"], "properties": {"email": {"type": "string"}}},
            "Extended": {"allOf": [{"$ref": "#/components/schemas/Addr"},
                {"type": ["object", "null"], "properties": {"name": {"type": "string"}}}]},
        }}});
        let ours = json!({"components": {"schemas": {
            "Addr": {"type": "object", "properties": {"email": {"type": "string"}}},
            "Extended": {"type": "object", "nullable": true, "properties": {
                "email": {"type": "string"}, "name": {"type": "string"}}},
        }}});
        let check = |our_schema: Value, their_schema: Value| {
            let mut out = Vec::new();
            diff(
                &normalize(&ours, &our_schema, 0),
                &normalize(&theirs, &their_schema, 0),
                "",
                &mut out,
            );
            out
        };
        let nullable_addr =
            json!({"nullable": true, "allOf": [{"$ref": "#/components/schemas/Addr"}]});
        // Allowed: an annotation member, and an extension member, that add null.
        assert_eq!(
            check(
                nullable_addr.clone(),
                json!({"allOf": [{"$ref": "#/components/schemas/Addr"}, {"type": ["object", "null"]}]})
            ),
            vec![]
        );
        assert_eq!(
            check(
                json!({"$ref": "#/components/schemas/Extended"}),
                json!({"description": "d", "allOf": [{"$ref": "#/components/schemas/Extended"}]})
            ),
            vec![]
        );
        let nullable_difference = vec![(
            String::new(),
            "nullable: ours true, published false".to_owned(),
        )];
        // Reported: a member that narrows a nullable schema to an object.
        assert_eq!(
            check(
                nullable_addr.clone(),
                json!({"allOf": [{"$ref": "#/components/schemas/Nullable"}, {"type": "object"}]})
            ),
            nullable_difference
        );
        // Reported: the null comes from a referenced member, not an inline one.
        assert_eq!(
            check(
                nullable_addr.clone(),
                json!({"allOf": [{"$ref": "#/components/schemas/Addr"}, {"$ref": "#/components/schemas/Nullable"}]})
            ),
            nullable_difference
        );
        // Reported: the flagged schema is narrowed again by another member.
        assert_eq!(
            check(
                nullable_addr,
                json!({"allOf": [{"$ref": "#/components/schemas/Extended"}, {"type": "object"}]})
            ),
            vec![
                (
                    String::new(),
                    "nullable: ours true, published false".to_owned()
                ),
                ("/name".to_owned(), "property only in published".to_owned()),
            ]
        );
        // Never the other way round: published nullable, ours not.
        assert_eq!(
            check(
                json!({"$ref": "#/components/schemas/Addr"}),
                json!({"type": ["object", "null"], "properties": {"email": {"type": "string"}}})
            ),
            vec![(
                String::new(),
                "nullable: ours false, published true".to_owned()
            )]
        );
    }

    #[test]
    fn any_of_nullability_is_the_same_wherever_the_null_sits() {
        let branch_null = norm(json!({"anyOf": [
            {"type": "integer"},
            {"type": ["object", "null"], "properties": {"min": {"type": "integer"}}}
        ]}));
        let separate_null = norm(json!({"anyOf": [
            {"type": "integer"},
            {"type": "object", "properties": {"min": {"type": "integer"}}},
            {"type": "null"}
        ]}));
        let outer_null = norm(json!({"nullable": true, "anyOf": [
            {"type": "integer"},
            {"type": "object", "nullable": true, "properties": {"min": {"type": "integer"}}}
        ]}));
        assert_eq!(branch_null, separate_null);
        assert_eq!(outer_null, separate_null);
        assert!(separate_null.nullable);
        // `oneOf` is not rewritten: there the place of the null matters.
        let one_of = norm(json!({"oneOf": [
            {"type": "integer"},
            {"type": ["object", "null"], "properties": {"min": {"type": "integer"}}}
        ]}));
        let mut out = Vec::new();
        diff(&one_of, &separate_null, "", &mut out);
        assert_eq!(
            out,
            vec![
                (
                    String::new(),
                    "nullable: ours false, published true".to_owned()
                ),
                (
                    "/anyOf/1".to_owned(),
                    "nullable: ours true, published false".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn each_operation_resolves_in_its_own_documents() {
        // Both sides have a `Thing` in each document, with different types.
        let op = |id: &str, path: &str| {
            json!({path: {"get": {"operationId": id, "responses": {
                "200": json_body(json!({"$ref": "#/components/schemas/Thing"}))}}}})
        };
        let ours_app = document(op("getApp", "/app"), json!({"Thing": {"type": "string"}}));
        let ours_send = document(
            op("getSend", "/send"),
            json!({"Thing": {"type": "integer"}}),
        );
        let theirs = [
            Published {
                name: "app.json".to_owned(),
                document: document(op("getApp", "/app"), json!({"Thing": {"type": "string"}})),
            },
            Published {
                name: "send.json".to_owned(),
                document: document(
                    op("getSend", "/send"),
                    json!({"Thing": {"type": "integer"}}),
                ),
            },
        ];
        let report = compare(&[&ours_app, &ours_send], &theirs);
        assert!(report.is_clean(), "{report}");
        assert_eq!((report.covered, report.published_total), (2, 2));
        assert!(report.to_string().ends_with("covered 2/2"));

        // Only one of ours: the other published operation is uncovered.
        let report = compare(&[&ours_send], &theirs);
        assert!(report.is_clean(), "{report}");
        assert_eq!(report.uncovered.len(), 1);
        assert_eq!(report.uncovered[0].0, "app.json");
        assert!(report.to_string().ends_with("covered 1/2"));
    }

    #[test]
    fn every_allowance_is_listed_and_explained() {
        for allowance in ALLOWED_DIFFERENCES {
            assert!(!allowance.what().is_empty());
            let reason = allowance.reason();
            assert!(
                !reason.is_empty() && !reason.contains('\n'),
                "{allowance:?}"
            );
        }
        assert!(ALLOWED_DIFFERENCES.contains(&Allowance::AuthAndRateLimitStatuses));
        assert!(ALLOWED_DIFFERENCES.contains(&Allowance::BinaryDownloadBody));
        assert!(ALLOWED_DIFFERENCES.contains(&Allowance::RetryAfterOnThrottleResponses));
        assert!(ALLOWED_DIFFERENCES.contains(&Allowance::NullableAllOfMember));
    }
}
