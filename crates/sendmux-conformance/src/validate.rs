//! Checking one request or one response against a compiled [`Spec`].

use http::{HeaderMap, Method};
use jsonschema::ValidationError;
use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::Value;

use crate::report::{Location, Report, ViolationKind};
use crate::spec::{
    CompiledMedia, CompiledOperation, CompiledResponse, CompiledValue, ParamIn, PathParams, Spec,
    StatusKey, media_type_essence,
};

/// Messages longer than this are cut: an error about a large value must not
/// copy the value into logs.
const MAX_MESSAGE: usize = 200;

/// The constraint of a violation that could not be checked because the
/// document's own schema does not compile (a bug in the document, not in
/// the message).
const SCHEMA_COMPILES: &str = "schema compiles";

impl Spec {
    /// Checks a request: route and method, path, query and header parameters
    /// (presence and schema), `Content-Type`, and the body against its schema.
    ///
    /// `path` may include the server base path and a query string (see
    /// [`Spec::match_route`]); query parameters are read from it.
    ///
    /// Header parameters give `MissingHeader`/`InvalidHeader`, path and query
    /// parameters `MissingParameter`/`InvalidParameter`, with the pointer
    /// `/<name>`. Query parameters the operation does not declare are
    /// ignored (OpenAPI does not forbid them). Authentication (`Authorization`) is
    /// a security scheme, not a parameter, and is not checked here. Header
    /// values never appear in the report.
    pub fn validate_request(
        &self,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Report {
        let (operation, path_params, mut report) = match self.operation_for(method, path) {
            Ok(found) => found,
            Err(report) => return report,
        };
        let query = query_pairs(path);
        for parameter in &operation.parameters {
            let (location, missing, invalid) = match parameter.location {
                ParamIn::Path => (
                    Location::Path,
                    ViolationKind::MissingParameter,
                    ViolationKind::InvalidParameter,
                ),
                ParamIn::Query => (
                    Location::Query,
                    ViolationKind::MissingParameter,
                    ViolationKind::InvalidParameter,
                ),
                ParamIn::Header => (
                    Location::Header,
                    ViolationKind::MissingHeader,
                    ViolationKind::InvalidHeader,
                ),
                // Cookies are not part of this API; nothing to read them from here.
                ParamIn::Cookie => continue,
            };
            let values: Vec<String> = match parameter.location {
                ParamIn::Path => path_params
                    .iter()
                    .filter(|(name, _)| *name == parameter.name)
                    .map(|(_, value)| value.clone())
                    .collect(),
                ParamIn::Query => query
                    .iter()
                    .filter(|(name, _)| *name == parameter.name)
                    .map(|(_, value)| value.clone())
                    .collect(),
                _ => header_values(headers, &parameter.name),
            };
            let pointer = format!("/{}", escape_token(&parameter.name));
            if values.is_empty() {
                if parameter.required {
                    report.push(
                        missing,
                        location,
                        pointer,
                        "required",
                        format!("required {} `{}` is missing", location, parameter.name),
                    );
                }
                continue;
            }
            check_value(
                &mut report,
                &parameter.value,
                &values,
                invalid,
                location,
                &pointer,
                &parameter.name,
            );
        }
        self.check_request_body(operation, headers, body, &mut report);
        report
    }

    /// Checks a response: is the status declared for the operation (exactly,
    /// by range such as `4XX`, or by `default`)? Are the required headers
    /// present and well-formed? Is the `Content-Type` declared, and does the
    /// body match its schema? A response declared without content (a `304`)
    /// must have an empty body.
    pub fn validate_response(
        &self,
        method: &Method,
        path: &str,
        status: u16,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Report {
        let (operation, _, mut report) = match self.operation_for(method, path) {
            Ok(found) => found,
            Err(report) => return report,
        };
        let Some(response) = declared_response(operation, status) else {
            report.push(
                ViolationKind::UndeclaredStatus,
                Location::Path,
                "",
                "status",
                format!(
                    "status {status} is not declared for {} (declared: {})",
                    operation.operation_id,
                    declared_statuses(operation)
                ),
            );
            return report;
        };
        for header in &response.headers {
            let pointer = format!("/{}", escape_token(&header.name));
            let values = header_values(headers, &header.name);
            if values.is_empty() {
                if header.required {
                    report.push(
                        ViolationKind::MissingHeader,
                        Location::Header,
                        pointer,
                        "required",
                        format!("required header `{}` is missing", header.name),
                    );
                }
                continue;
            }
            check_value(
                &mut report,
                &header.value,
                &values,
                ViolationKind::InvalidHeader,
                Location::Header,
                &pointer,
                &header.name,
            );
        }
        // 1xx, 204 and 304 never carry a body, whatever the document says.
        let bodiless = status == 204 || status == 304 || (100..200).contains(&status);
        if bodiless || response.content.is_empty() {
            if !body.is_empty() {
                report.push(
                    ViolationKind::UnexpectedBody,
                    Location::Body,
                    "",
                    "no content",
                    format!(
                        "status {status} must not have a body, got {} bytes",
                        body.len()
                    ),
                );
            }
            return report;
        }
        if *method == Method::HEAD {
            return report;
        }
        check_body(response.content.iter(), headers, body, &mut report);
        report
    }

    /// Finds the operation, or a report saying why there is none.
    fn operation_for(
        &self,
        method: &Method,
        path: &str,
    ) -> Result<(&CompiledOperation, PathParams, Report), Report> {
        let Some((route, params)) = self.find_route(path) else {
            let mut report = Report::new(None);
            report.push(
                ViolationKind::UnknownRoute,
                Location::Path,
                "",
                "path",
                format!(
                    "no path template matches `{}`",
                    self.strip_to_route_path(path)
                ),
            );
            return Err(report);
        };
        let Some((_, index)) = route.methods.iter().find(|(m, _)| m == method) else {
            let mut report = Report::new(None);
            let allowed: Vec<&str> = route.methods.iter().map(|(m, _)| m.as_str()).collect();
            report.push(
                ViolationKind::MethodNotAllowed,
                Location::Path,
                "",
                format!("method: {}", allowed.join(" | ")),
                format!("{method} is not defined for `{}`", route.template),
            );
            return Err(report);
        };
        let operation = self.operation_by_index(*index);
        Ok((
            operation,
            params,
            Report::new(Some(operation.operation_id.clone())),
        ))
    }

    fn check_request_body(
        &self,
        operation: &CompiledOperation,
        headers: &HeaderMap,
        body: &[u8],
        report: &mut Report,
    ) {
        let Some(request_body) = &operation.request_body else {
            if !body.is_empty() {
                report.push(
                    ViolationKind::UnexpectedBody,
                    Location::Body,
                    "",
                    "no content",
                    format!(
                        "{} takes no body, got {} bytes",
                        operation.operation_id,
                        body.len()
                    ),
                );
            }
            return;
        };
        if body.is_empty() {
            if request_body.required {
                report.push(
                    ViolationKind::MissingBody,
                    Location::Body,
                    "",
                    "required",
                    format!("{} requires a body", operation.operation_id),
                );
            }
            return;
        }
        check_body(request_body.content.iter(), headers, body, report);
    }
}

/// Content type, then JSON parsing, then the schema.
fn check_body<'a>(
    declared: impl Iterator<Item = &'a CompiledMedia> + Clone,
    headers: &HeaderMap,
    body: &[u8],
    report: &mut Report,
) {
    let content_type = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(media_type_essence);
    let declared_list: Vec<&str> = declared.clone().map(|m| m.media_type.as_str()).collect();
    let media = match &content_type {
        Some(ct) => declared
            .clone()
            .find(|m| m.media_type == *ct || m.media_type == "*/*"),
        None => None,
    };
    let Some(media) = media else {
        let got = content_type.as_deref().unwrap_or("no Content-Type");
        report.push(
            ViolationKind::UndeclaredContentType,
            Location::Header,
            "/Content-Type",
            format!("content-type: {}", declared_list.join(" | ")),
            format!("{got} is not a declared media type"),
        );
        return;
    };
    if !media.is_json() {
        if media.media_type.starts_with("text/") && std::str::from_utf8(body).is_err() {
            report.push(
                ViolationKind::InvalidBody,
                Location::Body,
                "",
                "utf-8",
                "a text body is not valid UTF-8",
            );
        }
        return;
    }
    let instance: Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(err) => {
            report.push(
                ViolationKind::InvalidBody,
                Location::Body,
                "",
                "json",
                format!("the body is not JSON: {err}"),
            );
            return;
        }
    };
    let Some(validator) = &media.validator else {
        return;
    };
    let validator = match validator.get() {
        Ok(validator) => validator,
        Err(err) => {
            report.push(
                ViolationKind::SchemaViolation,
                Location::Body,
                "",
                SCHEMA_COMPILES,
                truncate(&err.to_string()),
            );
            return;
        }
    };
    for error in validator.iter_errors(&instance) {
        push_schema_error(report, &error);
    }
}

/// Reads string values as the JSON type of their schema, then validates them.
fn check_value(
    report: &mut Report,
    value: &CompiledValue,
    values: &[String],
    invalid: ViolationKind,
    location: Location,
    pointer: &str,
    name: &str,
) {
    let instance = match coerce(value.scalar.as_deref(), values) {
        Ok(instance) => instance,
        Err(expected) => {
            report.push(
                invalid,
                location,
                pointer,
                format!("type: {expected}"),
                format!("`{name}` must be {} {expected}", article(expected)),
            );
            return;
        }
    };
    let Some(validator) = &value.validator else {
        return;
    };
    let validator = match validator.get() {
        Ok(validator) => validator,
        Err(err) => {
            report.push(
                invalid,
                location,
                pointer,
                SCHEMA_COMPILES,
                truncate(&err.to_string()),
            );
            return;
        }
    };
    if validator.is_valid(&instance) {
        return;
    }
    for error in validator.iter_errors(&instance) {
        // Reported at the parameter itself, and without its value: header
        // values may be credentials.
        let constraint = constraint_of(error.kind());
        let message = format!("`{name}` does not satisfy {constraint}");
        report.push(invalid, location, pointer, constraint, message);
    }
}

fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

/// Turns the string form of a parameter into the JSON value its schema expects.
fn coerce(scalar: Option<&str>, values: &[String]) -> Result<Value, &'static str> {
    let first = values.first().map(String::as_str).unwrap_or_default();
    match scalar {
        Some("integer") => first
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| "integer"),
        Some("number") => first
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or("number"),
        Some("boolean") => match first.trim() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err("boolean"),
        },
        // Form style with `explode: true` (the 3.0 default) repeats the name.
        Some("array") => Ok(Value::Array(
            values
                .iter()
                .flat_map(|v| v.split(','))
                .map(|v| Value::String(v.to_owned()))
                .collect(),
        )),
        _ => Ok(Value::String(first.to_owned())),
    }
}

/// One jsonschema error about a body becomes one or more violations.
fn push_schema_error(report: &mut Report, error: &ValidationError<'_>) {
    let (kind, location) = (ViolationKind::SchemaViolation, Location::Body);
    let at = |suffix: Option<&str>| -> String {
        let base = error.instance_path().as_str().to_owned();
        match suffix {
            Some(name) => format!("{base}/{}", escape_token(name)),
            None => base,
        }
    };
    match error.kind() {
        ValidationErrorKind::Required { property } => {
            let name = property
                .as_str()
                .map_or_else(|| property.to_string(), str::to_owned);
            report.push(
                kind,
                location,
                at(Some(&name)),
                "required",
                format!("required property `{name}` is missing"),
            );
        }
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            for name in unexpected {
                report.push(
                    kind,
                    location,
                    at(Some(name)),
                    "additionalProperties: false",
                    format!("property `{name}` is not allowed here"),
                );
            }
        }
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
            // `anyOf [X, {type: null}]` (a translated `nullable`) fails as a
            // whole; when only one branch fits the value's type, its errors
            // say much more than "matches none".
            let fitting: Vec<&Vec<ValidationError<'static>>> = context
                .iter()
                .filter(|branch| !is_type_mismatch_only(branch, error))
                .collect();
            if let [branch] = fitting.as_slice() {
                for inner in branch.iter() {
                    push_schema_error(report, inner);
                }
            } else {
                report.push(
                    kind,
                    location,
                    at(None),
                    error.kind().keyword().to_owned(),
                    truncate(&error.to_string()),
                );
            }
        }
        other => report.push(
            kind,
            location,
            at(None),
            constraint_of(other),
            truncate(&error.to_string()),
        ),
    }
}

/// Whether a branch failed only because the value has the wrong type for it.
fn is_type_mismatch_only(
    branch: &[ValidationError<'static>],
    parent: &ValidationError<'_>,
) -> bool {
    matches!(branch, [only] if matches!(only.kind(), ValidationErrorKind::Type { .. })
        && only.instance_path() == parent.instance_path())
}

fn constraint_of(kind: &ValidationErrorKind) -> String {
    let keyword = kind.keyword();
    match kind {
        ValidationErrorKind::Type { kind } => format!("type: {}", type_names(kind)),
        ValidationErrorKind::Enum { options } => {
            let names: Vec<String> = options
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            format!("enum: {}", names.join(" | "))
        }
        ValidationErrorKind::Constant { expected_value } => format!("const: {expected_value}"),
        ValidationErrorKind::MaxLength { limit }
        | ValidationErrorKind::MinLength { limit }
        | ValidationErrorKind::MaxItems { limit }
        | ValidationErrorKind::MinItems { limit }
        | ValidationErrorKind::MaxProperties { limit }
        | ValidationErrorKind::MinProperties { limit } => format!("{keyword}: {limit}"),
        ValidationErrorKind::Maximum { limit }
        | ValidationErrorKind::Minimum { limit }
        | ValidationErrorKind::ExclusiveMaximum { limit }
        | ValidationErrorKind::ExclusiveMinimum { limit } => format!("{keyword}: {limit}"),
        ValidationErrorKind::Pattern { pattern } => format!("pattern: {pattern}"),
        ValidationErrorKind::Format { format } => format!("format: {format}"),
        _ => keyword.to_owned(),
    }
}

fn type_names(kind: &TypeKind) -> String {
    match kind {
        TypeKind::Single(ty) => ty.to_string(),
        TypeKind::Multiple(set) => set
            .iter()
            .map(|t| t.to_string())
            .collect::<Vec<_>>()
            .join(" | "),
    }
}

fn truncate(message: &str) -> String {
    if message.len() <= MAX_MESSAGE {
        return message.to_owned();
    }
    let mut end = MAX_MESSAGE;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &message[..end])
}

/// The response declared for `status`: exact code, then `NXX`, then `default`.
fn declared_response(operation: &CompiledOperation, status: u16) -> Option<&CompiledResponse> {
    let find = |wanted: StatusKey| {
        operation
            .responses
            .iter()
            .find(|(key, _)| *key == wanted)
            .map(|(_, response)| response)
    };
    find(StatusKey::Code(status))
        .or_else(|| find(StatusKey::Range(status / 100)))
        .or_else(|| find(StatusKey::Default))
}

fn declared_statuses(operation: &CompiledOperation) -> String {
    operation
        .responses
        .iter()
        .map(|(key, _)| match key {
            StatusKey::Code(code) => code.to_string(),
            StatusKey::Range(range) => format!("{range}XX"),
            StatusKey::Default => "default".to_owned(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn header_values(headers: &HeaderMap, name: &str) -> Vec<String> {
    headers
        .get_all(name)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect()
}

fn query_pairs(path: &str) -> Vec<(String, String)> {
    let Some((_, query)) = path.split_once('?') else {
        return Vec::new();
    };
    let query = query.split_once('#').map_or(query, |(q, _)| q);
    form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// JSON pointer escaping of one reference token.
fn escape_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}
