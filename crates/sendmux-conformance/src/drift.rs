//! Compares our OpenAPI 3.0 description with the published OpenAPI 3.1
//! documents by meaning.
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
    /// Our request bodies say `required: true`.
    RequestBodyRequired,
    /// Our response headers say `required: true` where the API always sends them.
    ResponseHeaderRequired,
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
            Self::RequestBodyRequired => "`requestBody.required: true`",
            Self::ResponseHeaderRequired => "`required: true` on response headers",
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
            Self::RequestBodyRequired => {
                "every operation with a body rejects a request without one; saying so gives the generated \
                 client a non-optional body argument"
            }
            Self::ResponseHeaderRequired => {
                "ETag on GETs and Location on 201 are always sent; marking them required lets conformance \
                 flag a response without them"
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
    Allowance::RequestBodyRequired,
    Allowance::ResponseHeaderRequired,
    Allowance::Prose,
];

/// Headers [`Allowance::CommonResponseHeaders`] covers.
const COMMON_RESPONSE_HEADERS: &[&str] = &[
    "X-Request-Id",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
];

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
        let text = std::fs::read_to_string(path).map_err(|source| DriftError::Io {
            path: path.to_owned(),
            source,
        })?;
        let document: Value = serde_yaml::from_str(&text).map_err(|err| DriftError::Parse {
            path: path.to_owned(),
            message: err.to_string(),
        })?;
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        Ok(Self { name, document })
    }
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

/// Reads the published documents and compares `ours` (an OpenAPI 3.0
/// document as JSON, e.g. [`Spec::document`](crate::Spec::document)) with them.
pub fn compare_files(
    ours: &Value,
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

/// Compares `ours` (OpenAPI 3.0 as JSON) with already-loaded published documents.
pub fn compare(ours: &Value, published: &[Published]) -> DriftReport {
    let our_operations = operations_of(ours);
    let mut report = DriftReport::default();
    let mut matched_ours = BTreeSet::new();
    for document in published {
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
                        ours,
                        theirs: &document.document,
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

struct Comparison<'a> {
    ours: &'a Value,
    theirs: &'a Value,
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
            (Some(o), Some(t)) => self.content("request body", o.get("content"), t.get("content")),
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
            let Some(their_response) = their_responses.get(status) else {
                self.differ(location, "status only in ours");
                continue;
            };
            let o = deref(self.ours, our_response);
            let t = deref(self.theirs, their_response);
            self.response_headers(&location, o, t);
            self.content(&location, o.get("content"), t.get("content"));
        }
        for status in their_responses.keys() {
            if !our_responses.contains_key(status) {
                self.differ(format!("response {status}"), "status only in published");
            }
        }
    }

    fn response_headers(&mut self, location: &str, ours: &Value, theirs: &Value) {
        let our_headers = header_map(ours);
        let their_headers = header_map(theirs);
        for (name, (spelling, our_header)) in &our_headers {
            let Some((_, their_header)) = their_headers.get(name) else {
                if COMMON_RESPONSE_HEADERS
                    .iter()
                    .any(|h| h.eq_ignore_ascii_case(name))
                {
                    continue; // Allowance::CommonResponseHeaders.
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

    fn content(&mut self, location: &str, ours: Option<&Value>, theirs: Option<&Value>) {
        let empty = serde_json::Map::new();
        let ours = ours.and_then(Value::as_object).unwrap_or(&empty);
        let theirs = theirs.and_then(Value::as_object).unwrap_or(&empty);
        for (media_type, our_media) in ours {
            let here = format!("{location} {media_type}");
            match theirs.get(media_type) {
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
                let branch = normalize(document, branch, depth + 1);
                if is_null_only(&branch) {
                    norm.nullable = true;
                } else {
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
    }
    // `unevaluatedProperties: false` over an `allOf` closes the merged object.
    if object.get("unevaluatedProperties") == Some(&Value::Bool(false)) {
        norm.additional = Additional::Closed;
    }
    norm
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
    if ours.nullable != theirs.nullable {
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
        if o != t {
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
}
