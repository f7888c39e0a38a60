//! Request-body checks: content type, JSON syntax, then the schema of the
//! operation's request body.

use http::request::Parts;
use sendmux_conformance::Spec;
use sendmux_operations::{MediaType, Operation, RequestBody, Surface, ops};

use crate::api::{ApiError, FieldError};

/// Checks the body of `op` (which takes `request`) and returns it parsed
/// when it is JSON.
pub(crate) fn request_body(
    op: &Operation,
    request: RequestBody,
    parts: &Parts,
    bytes: &[u8],
) -> Result<Option<serde_json::Value>, ApiError> {
    if request.media_type != MediaType::Json {
        // Uploads: the spec check covers the content type; the bytes are
        // the handler's.
        schema_check(op, parts, bytes)?;
        return Ok(None);
    }
    let content_type = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence != "application/json" {
        return Err(ApiError::invalid_parameter(format!(
            "Content-Type must be application/json, got `{}`",
            if content_type.is_empty() {
                "(none)"
            } else {
                content_type
            }
        ))
        .with_param("Content-Type"));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(
            ApiError::invalid_parameter("a JSON request body is required").with_param("body"),
        );
    }
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::invalid_parameter(format!(
            "the request body is not valid JSON (line {}, column {})",
            e.line(),
            e.column()
        ))
        .with_param("body")
    })?;
    schema_check(op, parts, bytes)?;
    Ok(Some(value))
}

/// Maps schema violations to the published error codes: a missing
/// required field is `400 missing_parameter`; any other violation is
/// `422 validation_error` on operations that document 422, else
/// `400 invalid_parameter`. The Sending API answers every schema failure
/// of a body with `422 validation_error` (its document keeps `400` for
/// broken JSON and syntactic parameter errors), missing fields included.
/// `param` names the first offending field and `errors[]` lists them all.
pub(crate) fn schema_error(op: &Operation, errors: Vec<FieldError>) -> ApiError {
    let first = errors.first().cloned();
    let param = first.as_ref().map(|e| e.field.clone()).unwrap_or_default();
    let summary = first.map_or_else(
        || "the request body does not match the schema".to_owned(),
        |e| {
            format!(
                "{}: {}",
                if e.field.is_empty() { "body" } else { &e.field },
                e.message
            )
        },
    );
    let missing = errors.iter().any(|e| e.code == "required");
    let err = if op.surface == Surface::Sending {
        ApiError::validation_error(summary)
    } else if missing {
        ApiError::missing_parameter(summary)
    } else if declares_status(op, 422) {
        ApiError::validation_error(summary)
    } else {
        ApiError::invalid_parameter(summary)
    };
    let err = if param.is_empty() {
        err
    } else {
        err.with_param(param)
    };
    err.with_errors(errors)
}

/// Runs the spec's request check (headers and body) and maps what it finds.
fn schema_check(op: &Operation, parts: &Parts, bytes: &[u8]) -> Result<(), ApiError> {
    use sendmux_conformance::{Location, ViolationKind};
    let path = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path(), |pq| pq.as_str());
    let mut report = spec_for(op).validate_request(&parts.method, path, &parts.headers, bytes);
    report.violations.retain(|v| !left_to_handler(op, v));
    if report.is_ok() {
        return Ok(());
    }
    // Problems outside the body (a header such as an over-long
    // Idempotency-Key) are plain 400s whatever the operation.
    if let Some(v) = report
        .violations
        .iter()
        .find(|v| v.location != Location::Body && v.kind != ViolationKind::UndeclaredContentType)
    {
        let field = v.field_path();
        let message = safe_message(v);
        let code = if v.keyword() == "required" {
            ApiError::missing_parameter(message.clone())
        } else {
            ApiError::invalid_parameter(message.clone())
        };
        return Err(code.with_param(field.clone()).with_errors(vec![FieldError {
            field,
            code: v.keyword().to_owned(),
            message,
        }]));
    }
    let errors = report
        .violations
        .iter()
        .map(|v| FieldError {
            field: v.field_path(),
            code: v.keyword().to_owned(),
            message: safe_message(v),
        })
        .collect();
    Err(schema_error(op, errors))
}

/// Violations the handler deals with itself instead of refusing the whole
/// request: a batch send checks each of its messages on its own (partial
/// success), and a Sending API upload's `Content-Type` is the file's media
/// type, which the handler reads (the document names only
/// `application/octet-stream`).
fn left_to_handler(op: &Operation, v: &sendmux_conformance::Violation) -> bool {
    use sendmux_conformance::{Location, ViolationKind};
    if op.surface != Surface::Sending {
        return false;
    }
    if v.kind == ViolationKind::UndeclaredContentType {
        return op
            .request
            .is_some_and(|r| r.media_type == MediaType::Binary);
    }
    let in_a_message = v
        .pointer
        .strip_prefix("/messages/")
        .and_then(|rest| rest.split('/').next())
        .is_some_and(|index| !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit()));
    std::ptr::eq(op, ops::SENDING_SEND_EMAIL_BATCH) && v.location == Location::Body && in_a_message
}

/// The problems the Sending API's document finds in one message of
/// `POST /emails/send` (a batch's item), as field errors.
pub(crate) fn message_problems(message: &serde_json::Value) -> Vec<FieldError> {
    let mut headers = http::HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    let bytes = serde_json::to_vec(message).unwrap_or_default();
    let path = format!("{}{}", crate::api::BASE_PATH, ops::SENDING_SEND_EMAIL.path);
    Spec::embedded_sending()
        .validate_request(&http::Method::POST, &path, &headers, &bytes)
        .violations
        .iter()
        .map(|v| FieldError {
            field: v.field_path(),
            code: v.keyword().to_owned(),
            message: safe_message(v),
        })
        .collect()
}

/// The violation's message, unless the field holds a secret (an SMTP
/// password, a key): the checker quotes the offending value, and an error
/// answer must never echo a secret back, so those name the rule only.
fn safe_message(v: &sendmux_conformance::Violation) -> String {
    let field = v.field_path();
    let last = field
        .rsplit(['.', '/'])
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let secret = ["password", "secret", "authorization", "token"]
        .iter()
        .any(|word| last.contains(word));
    if secret {
        format!(
            "{field} does not meet the `{}` rule (value not shown)",
            v.keyword()
        )
    } else {
        v.message.clone()
    }
}

/// Whether the spec lists `status` among the responses of `op`. The table
/// does not carry error statuses; the document is the one source for them.
fn declares_status(op: &Operation, status: u16) -> bool {
    // JSON Pointer escaping of the path template (RFC 6901).
    let template = op.path.replace('~', "~0").replace('/', "~1");
    let method = op.method.as_str().to_ascii_lowercase();
    let pointer = format!("/paths/{template}/{method}/responses/{status}");
    spec_for(op).document().pointer(&pointer).is_some()
}

/// The document that describes `op`: `openapi-sending.yaml` for the
/// Sending API, `openapi.yaml` for the rest.
pub(crate) fn spec_for(op: &Operation) -> &'static Spec {
    match op.surface {
        Surface::Sending => Spec::embedded_sending(),
        Surface::Management | Surface::Mailbox => Spec::embedded(),
    }
}

#[cfg(test)]
mod tests {
    use sendmux_operations::ops;

    use super::*;

    #[test]
    fn statuses_come_from_the_document() {
        assert!(declares_status(ops::MANAGEMENT_UPDATE_DOMAIN, 422));
        assert!(declares_status(ops::MANAGEMENT_SET_DOMAIN_FILTERS, 422));
        assert!(!declares_status(ops::MANAGEMENT_CREATE_DOMAIN, 422));
        assert!(declares_status(ops::MANAGEMENT_CREATE_DOMAIN, 400));
    }
}
