//! Request-body checks: content type, JSON syntax, then the schema of the
//! operation's request body.

use http::request::Parts;

use crate::api::{ApiError, FieldError, Op};

/// Checks the body of `op` and returns it parsed.
pub(crate) fn request_body(
    op: Op,
    parts: &Parts,
    bytes: &[u8],
) -> Result<serde_json::Value, ApiError> {
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
    Ok(value)
}

/// Maps schema violations to the published error codes: a missing
/// required field is `400 missing_parameter`; any other violation is
/// `422 validation_error` on operations that document 422, else
/// `400 invalid_parameter`. `param` names the first offending field and
/// `errors[]` lists them all.
pub(crate) fn schema_error(op: Op, errors: Vec<FieldError>) -> ApiError {
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
    let err = if missing {
        ApiError::missing_parameter(summary)
    } else if op.uses_422() {
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
fn schema_check(op: Op, parts: &Parts, bytes: &[u8]) -> Result<(), ApiError> {
    use sendmux_conformance::{Location, ViolationKind};
    let path = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path(), |pq| pq.as_str());
    let report = sendmux_conformance::Spec::embedded().validate_request(
        &parts.method,
        path,
        &parts.headers,
        bytes,
    );
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
        let code = if v.keyword() == "required" {
            ApiError::missing_parameter(v.message.clone())
        } else {
            ApiError::invalid_parameter(v.message.clone())
        };
        return Err(code.with_param(field.clone()).with_errors(vec![FieldError {
            field,
            code: v.keyword().to_owned(),
            message: v.message.clone(),
        }]));
    }
    let errors = report
        .violations
        .iter()
        .map(|v| FieldError {
            field: v.field_path(),
            code: v.keyword().to_owned(),
            message: v.message.clone(),
        })
        .collect();
    Err(schema_error(op, errors))
}
