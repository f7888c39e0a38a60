//! Known-good and known-bad requests and responses against the embedded spec,
//! asserting the exact violations (kind and pointer).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use http::{HeaderMap, HeaderValue, Method};
use sendmux_conformance::{Location, Report, Spec, ViolationKind};
use serde_json::{Value, json};

fn spec() -> &'static Spec {
    Spec::embedded()
}

/// Headers every response of the API carries.
fn common_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert(
        "x-request-id",
        HeaderValue::from_static("req_test000000000000000000001"),
    );
    headers.insert("x-ratelimit-limit", HeaderValue::from_static("600"));
    headers.insert("x-ratelimit-remaining", HeaderValue::from_static("599"));
    headers.insert("x-ratelimit-reset", HeaderValue::from_static("1798675200"));
    headers
}

fn with(mut headers: HeaderMap, name: &'static str, value: &'static str) -> HeaderMap {
    headers.insert(name, HeaderValue::from_static(value));
    headers
}

fn json_request_headers() -> HeaderMap {
    with(HeaderMap::new(), "content-type", "application/json")
}

/// A complete domain, shaped like the seed page's example (which leaves out
/// the fields its renderer does not show).
fn domain() -> Value {
    json!({
        "id": "mdom_clxxxxxxxxxxxxxxxxxxxxxxxxx",
        "domain": "mail.acme.com",
        "mode": "send_receive",
        "verification_status": "pending",
        "ses_identity_verification_status": null,
        "ses_verified_for_sending": null,
        "ses_dkim_status": "Pending",
        "ses_dkim_signing_enabled": null,
        "ses_identity_checked_at": null,
        "ses_mail_from_status": null,
        "verified_at": null,
        "created_at": "2026-11-27T01:00:00Z",
        "mailbox_count": 14,
        "dns_records": {
            "mx": [{"priority": 10, "target": "mail.sendmux.ai"}],
            "mail_from": {
                "mx": {"name": "bounce.mail.acme.com", "priority": 10, "target": "feedback-smtp.eu-central-1.amazonses.com"},
                "spf": {"name": "bounce.mail.acme.com", "value": "v=spf1 include:amazonses.com ~all"}
            },
            "spf": {"name": "mail.acme.com", "value": "v=spf1 include:amazonses.com ~all"},
            "dmarc": {"name": "_dmarc.mail.acme.com", "value": "v=DMARC1; p=none"},
            "dkim": [{"name": "abc._domainkey.mail.acme.com", "value": "abc.dkim.amazonses.com"}],
            "verification": {"name": "_sendmux.mail.acme.com", "value": "sendmux-verify=team_abc123"}
        }
    })
}

fn envelope(data: Value) -> Value {
    json!({"ok": true, "data": data, "meta": {"request_id": "req_test000000000000000000001"}})
}

fn bytes(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap()
}

fn create_response(body: &Value, headers: &HeaderMap) -> Report {
    spec().validate_response(&Method::POST, "/domains", 201, headers, &bytes(body))
}

fn created_headers() -> HeaderMap {
    with(
        common_headers(),
        "location",
        "/api/v1/domains/mdom_clxxxxxxxxxxxxxxxxxxxxxxxxx",
    )
}

fn assert_violations(report: &Report, expected: &[(ViolationKind, &str)]) {
    assert_eq!(report.summary(), expected, "\n{report}");
}

// ---------------------------------------------------------------- requests

#[test]
fn seed_create_request_is_valid() {
    let report = spec().validate_request(
        &Method::POST,
        "/api/v1/domains",
        &with(
            json_request_headers(),
            "idempotency-key",
            "domains-create-20260424-001",
        ),
        br#"{"domain": "mail.acme.com"}"#,
    );
    assert!(report.is_ok(), "{report}");
    assert_eq!(
        report.operation_id.as_deref(),
        Some("managementCreateDomain")
    );
}

#[test]
fn create_request_missing_domain_and_extra_field() {
    let report = spec().validate_request(
        &Method::POST,
        "/domains",
        &json_request_headers(),
        br#"{"mode": "send_only", "colour": "blue"}"#,
    );
    assert_violations(
        &report,
        &[
            (ViolationKind::SchemaViolation, "/colour"),
            (ViolationKind::SchemaViolation, "/domain"),
        ],
    );
    let missing = &report.violations[1];
    assert_eq!(missing.constraint, "required");
    assert_eq!(missing.location, Location::Body);
    assert_eq!(missing.field_path(), "domain");
    assert_eq!(
        report.violations[0].constraint,
        "additionalProperties: false"
    );
}

#[test]
fn create_request_unknown_mode_and_wrong_type() {
    let report = spec().validate_request(
        &Method::POST,
        "/domains",
        &json_request_headers(),
        br#"{"domain": 42, "mode": "receive_only"}"#,
    );
    assert_violations(
        &report,
        &[
            (ViolationKind::SchemaViolation, "/domain"),
            (ViolationKind::SchemaViolation, "/mode"),
        ],
    );
    assert_eq!(report.violations[0].constraint, "type: string");
    assert_eq!(
        report.violations[1].constraint,
        "enum: send_only | send_receive"
    );
}

#[test]
fn create_request_idempotency_key_too_long() {
    let long = "k".repeat(256);
    let mut headers = json_request_headers();
    headers.insert("idempotency-key", HeaderValue::from_str(&long).unwrap());
    let report = spec().validate_request(
        &Method::POST,
        "/domains",
        &headers,
        br#"{"domain": "a.com"}"#,
    );
    assert_violations(
        &report,
        &[(ViolationKind::InvalidHeader, "/Idempotency-Key")],
    );
    assert_eq!(report.violations[0].constraint, "maxLength: 255");
    assert_eq!(report.violations[0].field_path(), "Idempotency-Key");
    // Header values (possibly credentials) are never copied into the report.
    assert!(!report.to_string().contains("kkkk"), "{report}");
}

#[test]
fn create_request_needs_json_and_a_body() {
    let text = with(HeaderMap::new(), "content-type", "text/plain");
    let report = spec().validate_request(&Method::POST, "/domains", &text, b"mail.acme.com");
    assert_violations(
        &report,
        &[(ViolationKind::UndeclaredContentType, "/Content-Type")],
    );

    let report = spec().validate_request(&Method::POST, "/domains", &json_request_headers(), b"");
    assert_violations(&report, &[(ViolationKind::MissingBody, "")]);

    let report = spec().validate_request(
        &Method::POST,
        "/domains",
        &json_request_headers(),
        b"{domain:",
    );
    assert_violations(&report, &[(ViolationKind::InvalidBody, "")]);
}

#[test]
fn list_request_query_limits() {
    let ok = spec().validate_request(
        &Method::GET,
        "/api/v1/domains?limit=100&cursor=abc",
        &HeaderMap::new(),
        b"",
    );
    assert!(ok.is_ok(), "{ok}");
    for (query, constraint) in [
        ("limit=0", "minimum: 1"),
        ("limit=101", "maximum: 100"),
        ("limit=ten", "type: integer"),
    ] {
        let report = spec().validate_request(
            &Method::GET,
            &format!("/domains?{query}"),
            &HeaderMap::new(),
            b"",
        );
        assert_violations(&report, &[(ViolationKind::InvalidParameter, "/limit")]);
        assert_eq!(report.violations[0].constraint, constraint, "{query}");
        assert_eq!(report.violations[0].location, Location::Query);
    }
}

#[test]
fn filter_rules_point_at_the_offending_rule() {
    let body = json!({
        "mode": "allowlist",
        "rules": [
            {"type": "allow", "pattern": "partner.com"},
            {"type": "allow", "pattern": "a.com", "note": null},
            {"type": "deny", "pattern": "b.com", "note": "fine"},
            {"type": "block", "pattern": "c.com"}
        ]
    });
    let report = spec().validate_request(
        &Method::PUT,
        "/domains/mdom_1/filters",
        &with(json_request_headers(), "if-match", "W/\"abc\""),
        &bytes(&body),
    );
    assert_violations(
        &report,
        &[(ViolationKind::SchemaViolation, "/rules/3/type")],
    );
    assert_eq!(report.violations[0].field_path(), "rules.3.type");
    assert_eq!(
        report.operation_id.as_deref(),
        Some("managementSetDomainFilters")
    );
}

#[test]
fn unknown_route_and_method() {
    let report = spec().validate_request(&Method::GET, "/nothing/here", &HeaderMap::new(), b"");
    assert_violations(&report, &[(ViolationKind::UnknownRoute, "")]);
    assert_eq!(report.operation_id, None);
    let report = spec().validate_request(&Method::PUT, "/domains", &HeaderMap::new(), b"");
    assert_violations(&report, &[(ViolationKind::MethodNotAllowed, "")]);
}

#[test]
fn get_request_with_a_body_is_flagged() {
    let report = spec().validate_request(&Method::GET, "/domains/mdom_1", &HeaderMap::new(), b"{}");
    assert_violations(&report, &[(ViolationKind::UnexpectedBody, "")]);
}

// --------------------------------------------------------------- responses

#[test]
fn created_domain_is_valid() {
    let report = create_response(&envelope(domain()), &created_headers());
    assert!(report.is_ok(), "{report}");
}

#[test]
fn missing_location_on_201() {
    let report = create_response(&envelope(domain()), &common_headers());
    assert_violations(&report, &[(ViolationKind::MissingHeader, "/Location")]);
    assert_eq!(report.violations[0].location, Location::Header);
}

#[test]
fn missing_required_field() {
    let mut data = domain();
    data.as_object_mut().unwrap().remove("mailbox_count");
    let report = create_response(&envelope(data), &created_headers());
    assert_violations(
        &report,
        &[(ViolationKind::SchemaViolation, "/data/mailbox_count")],
    );
    assert_eq!(report.violations[0].constraint, "required");
}

#[test]
fn wrong_type() {
    let mut data = domain();
    data["mailbox_count"] = json!("14");
    let report = create_response(&envelope(data), &created_headers());
    assert_violations(
        &report,
        &[(ViolationKind::SchemaViolation, "/data/mailbox_count")],
    );
    assert_eq!(report.violations[0].constraint, "type: integer");
}

#[test]
fn null_where_not_nullable() {
    let mut data = domain();
    data["created_at"] = Value::Null;
    data["dns_records"]["mx"][0]["target"] = Value::Null;
    let report = create_response(&envelope(data), &created_headers());
    assert_violations(
        &report,
        &[
            (ViolationKind::SchemaViolation, "/data/created_at"),
            (
                ViolationKind::SchemaViolation,
                "/data/dns_records/mx/0/target",
            ),
        ],
    );
}

#[test]
fn nullable_fields_accept_null_and_values() {
    let mut data = domain();
    data["verified_at"] = json!("2026-11-27T01:05:00Z");
    data["ses_verified_for_sending"] = json!(true);
    assert!(create_response(&envelope(data), &created_headers()).is_ok());
}

#[test]
fn unknown_enum_value() {
    let mut data = domain();
    data["verification_status"] = json!("verifying");
    let report = create_response(&envelope(data), &created_headers());
    assert_violations(
        &report,
        &[(ViolationKind::SchemaViolation, "/data/verification_status")],
    );
    assert_eq!(
        report.violations[0].constraint,
        "enum: pending | verified | failed"
    );
}

#[test]
fn extra_field_where_additional_properties_is_false() {
    let mut data = domain();
    data["dns_records"]["mx"][0]["ttl"] = json!(300);
    let report = create_response(&envelope(data), &created_headers());
    assert_violations(
        &report,
        &[(ViolationKind::SchemaViolation, "/data/dns_records/mx/0/ttl")],
    );
    assert_eq!(
        report.violations[0].constraint,
        "additionalProperties: false"
    );
}

#[test]
fn undeclared_status() {
    let report = spec().validate_response(&Method::POST, "/domains", 302, &common_headers(), b"");
    assert_violations(&report, &[(ViolationKind::UndeclaredStatus, "")]);
}

#[test]
fn range_responses_cover_other_errors() {
    let body = json!({
        "ok": false,
        "error": {"code": "rate_limit_exceeded", "message": "Slow down.", "retryable": true},
        "meta": {"request_id": "req_x"}
    });
    let headers = with(common_headers(), "retry-after", "30");
    let report = spec().validate_response(&Method::GET, "/domains", 429, &headers, &bytes(&body));
    assert!(report.is_ok(), "{report}");
    let headers = with(common_headers(), "retry-after", "soon");
    let report = spec().validate_response(&Method::GET, "/domains", 429, &headers, &bytes(&body));
    assert_violations(&report, &[(ViolationKind::InvalidHeader, "/Retry-After")]);
}

#[test]
fn not_modified_must_have_no_body() {
    let headers = with(common_headers(), "etag", "W/\"abc\"");
    let ok = spec().validate_response(&Method::GET, "/domains/mdom_1", 304, &headers, b"");
    assert!(ok.is_ok(), "{ok}");
    let report = spec().validate_response(&Method::GET, "/domains/mdom_1", 304, &headers, b"{}");
    assert_violations(&report, &[(ViolationKind::UnexpectedBody, "")]);
}

#[test]
fn etag_is_required_on_get_and_missing_common_headers_are_named() {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    let report = spec().validate_response(
        &Method::GET,
        "https://app.sendmux.ai/api/v1/domains/mdom_1",
        200,
        &headers,
        &bytes(&envelope(domain())),
    );
    assert_violations(
        &report,
        &[
            // Headers are checked in name order.
            (ViolationKind::MissingHeader, "/ETag"),
            (ViolationKind::MissingHeader, "/X-RateLimit-Limit"),
            (ViolationKind::MissingHeader, "/X-RateLimit-Remaining"),
            (ViolationKind::MissingHeader, "/X-RateLimit-Reset"),
            (ViolationKind::MissingHeader, "/X-Request-Id"),
        ],
    );
}

#[test]
fn undeclared_content_type_and_non_json_body() {
    let headers = with(common_headers(), "content-type", "text/html");
    let report = create_response(&envelope(domain()), &with(headers, "location", "/x"));
    assert_violations(
        &report,
        &[(ViolationKind::UndeclaredContentType, "/Content-Type")],
    );
    let report = spec().validate_response(
        &Method::POST,
        "/domains",
        201,
        &created_headers(),
        b"<html>",
    );
    assert_violations(&report, &[(ViolationKind::InvalidBody, "")]);
}

#[test]
fn zone_file_is_text() {
    let headers = with(
        common_headers(),
        "content-type",
        "text/plain; charset=utf-8",
    );
    let report = spec().validate_response(
        &Method::GET,
        "/domains/mdom_1/zone-file",
        200,
        &headers,
        b"mail.acme.com. 3600 IN MX 10 mail.sendmux.ai.\n",
    );
    assert!(report.is_ok(), "{report}");
}

#[test]
fn verify_and_delete_and_filters_bodies() {
    let verify = envelope(json!({
        "status": "verified",
        "ses_identity_verification_status": "Success",
        "ses_verified_for_sending": true,
        "ses_dkim_status": "Success",
        "ses_dkim_signing_enabled": true,
        "ses_identity_checked_at": "2026-11-27T01:00:00Z",
        "ses_mail_from_status": "Success",
        "checks": {"mx": true, "verification_txt": true, "spf": true, "dmarc": true, "mail_from_mx": true, "mail_from_spf": true}
    }));
    let report = spec().validate_response(
        &Method::POST,
        "/domains/mdom_1/verify",
        200,
        &common_headers(),
        &bytes(&verify),
    );
    assert!(report.is_ok(), "{report}");

    let deleted = envelope(json!({"deleted": true, "id": "mdom_1"}));
    let report = spec().validate_response(
        &Method::DELETE,
        "/domains/mdom_1",
        200,
        &common_headers(),
        &bytes(&deleted),
    );
    assert!(report.is_ok(), "{report}");
    let not_deleted = envelope(json!({"deleted": false, "id": "mdom_1"}));
    let report = spec().validate_response(
        &Method::DELETE,
        "/domains/mdom_1",
        200,
        &common_headers(),
        &bytes(&not_deleted),
    );
    assert_violations(
        &report,
        &[(ViolationKind::SchemaViolation, "/data/deleted")],
    );

    let filters = envelope(json!({"mode": "off", "rules": []}));
    let headers = with(common_headers(), "etag", "W/\"f1\"");
    let report = spec().validate_response(
        &Method::GET,
        "/domains/mdom_1/filters",
        200,
        &headers,
        &bytes(&filters),
    );
    assert!(report.is_ok(), "{report}");
}

#[test]
fn list_page_is_valid() {
    let page = json!({
        "ok": true,
        "data": [domain(), domain()],
        "pagination": {"has_more": true, "next_cursor": "c2"},
        "meta": {"request_id": "req_1"}
    });
    let report = spec().validate_response(
        &Method::GET,
        "/api/v1/domains?limit=2",
        200,
        &common_headers(),
        &bytes(&page),
    );
    assert!(report.is_ok(), "{report}");
}

#[test]
fn route_matching() {
    let found = spec()
        .match_route(&Method::POST, "/api/v1/domains/mdom_abc/verify?x=1")
        .unwrap();
    assert_eq!(found.operation_id, "managementVerifyDomain");
    assert_eq!(found.template, "/domains/{public_id}/verify");
    assert_eq!(
        found.path_params,
        vec![("public_id".to_owned(), "mdom_abc".to_owned())]
    );
    assert!(
        spec()
            .match_route(&Method::GET, "/domains/mdom_abc/verify")
            .is_none()
    );
    let found = spec()
        .match_route(&Method::GET, "/domains/mdom%20x")
        .unwrap();
    assert_eq!(found.path_params[0].1, "mdom x");
}

#[test]
fn display_is_readable() {
    let report = create_response(&envelope(json!({})), &common_headers());
    let text = report.to_string();
    assert!(text.starts_with("managementCreateDomain: "), "{text}");
    assert!(
        text.contains("header missing header /Location [required]"),
        "{text}"
    );
}
