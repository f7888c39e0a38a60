//! What validating one message costs, next to just parsing its JSON.
//!
//! `cargo bench -p sendmux-conformance --bench validate`
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use divan::{Bencher, black_box};
use http::{HeaderMap, HeaderValue, Method};
use sendmux_conformance::Spec;
use serde_json::{Value, json};

fn main() {
    // Load and compile the embedded spec before timing anything (schemas
    // otherwise compile on first use, inside the first timed sample).
    Spec::embedded().compile_all().unwrap();
    divan::main();
}

fn domain(i: usize) -> Value {
    json!({
        "id": format!("mdom_{i:025}"), "domain": "mail.acme.com", "mode": "send_receive",
        "verification_status": "pending", "ses_identity_verification_status": null,
        "ses_verified_for_sending": null, "ses_dkim_status": null, "ses_dkim_signing_enabled": null,
        "ses_identity_checked_at": null, "ses_mail_from_status": null, "verified_at": null,
        "created_at": "2026-11-27T01:00:00Z", "mailbox_count": 3,
        "dns_records": {
            "mx": [{"priority": 10, "target": "mail.sendmux.ai"}],
            "mail_from": {
                "mx": {"name": "b.mail.acme.com", "priority": 10, "target": "feedback.example"},
                "spf": {"name": "b.mail.acme.com", "value": "v=spf1 ~all"}},
            "spf": {"name": "mail.acme.com", "value": "v=spf1 ~all"},
            "dmarc": {"name": "_dmarc.mail.acme.com", "value": "v=DMARC1; p=none"},
            "dkim": [{"name": "a._domainkey.mail.acme.com", "value": "a.dkim.example"}],
            "verification": {"name": "_sendmux.mail.acme.com", "value": "sendmux-verify=t"}
        }
    })
}

fn headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in [
        ("content-type", "application/json"),
        ("x-request-id", "req_bench"),
        ("x-ratelimit-limit", "600"),
        ("x-ratelimit-remaining", "599"),
        ("x-ratelimit-reset", "1798675200"),
        ("etag", "W/\"v1\""),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers
}

fn one_domain() -> Vec<u8> {
    serde_json::to_vec(&json!({"ok": true, "data": domain(1), "meta": {"request_id": "req_bench"}}))
        .unwrap()
}

fn page_of_50() -> Vec<u8> {
    let data: Vec<Value> = (0..50).map(domain).collect();
    serde_json::to_vec(&json!({
        "ok": true, "data": data, "pagination": {"has_more": true, "next_cursor": "c"},
        "meta": {"request_id": "req_bench"}
    }))
    .unwrap()
}

/// Baseline: parsing the body into a `serde_json::Value`, nothing else.
fn parse_only(bencher: Bencher<'_, '_>, body: Vec<u8>) {
    bencher.bench(|| black_box(serde_json::from_slice::<Value>(black_box(&body)).unwrap()));
}

/// Validating a 200 response to `GET path`, parsing included.
fn validate_get(bencher: Bencher<'_, '_>, path: &str, body: Vec<u8>) {
    let (spec, headers) = (Spec::embedded(), headers());
    bencher.bench(|| {
        let report = spec.validate_response(&Method::GET, path, 200, &headers, black_box(&body));
        assert!(report.is_ok());
        report
    });
}

#[divan::bench]
fn parse_only_get_domain(bencher: Bencher<'_, '_>) {
    parse_only(bencher, one_domain());
}

#[divan::bench]
fn validate_response_get_domain(bencher: Bencher<'_, '_>) {
    validate_get(bencher, "/api/v1/domains/mdom_1", one_domain());
}

#[divan::bench]
fn parse_only_list_50(bencher: Bencher<'_, '_>) {
    parse_only(bencher, page_of_50());
}

#[divan::bench]
fn validate_response_list_50(bencher: Bencher<'_, '_>) {
    validate_get(bencher, "/api/v1/domains?limit=50", page_of_50());
}

#[divan::bench]
fn validate_request_create_domain(bencher: Bencher<'_, '_>) {
    let spec = Spec::embedded();
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert("idempotency-key", HeaderValue::from_static("bench-key-1"));
    let body = br#"{"domain": "mail.acme.com", "mode": "send_only"}"#;
    bencher.bench(|| {
        let report =
            spec.validate_request(&Method::POST, "/api/v1/domains", &headers, black_box(body));
        assert!(report.is_ok());
        report
    });
}

/// Loading the whole document (what `Spec::embedded` does once); schemas
/// compile later, each on first use.
#[divan::bench(sample_count = 20)]
fn load_spec() -> Spec {
    Spec::from_text(sendmux_conformance::EMBEDDED_SPEC).unwrap()
}

/// The baseline for [`load_spec`]: the same document from the workspace's
/// YAML text, as the crate embedded it before it embedded JSON. Reads
/// nothing and measures nothing outside the workspace.
#[cfg(feature = "yaml")]
#[divan::bench(sample_count = 20)]
fn load_spec_from_yaml(bencher: Bencher<'_, '_>) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi.yaml");
    let Ok(yaml) = std::fs::read_to_string(path) else {
        return;
    };
    bencher.bench(|| Spec::from_text(black_box(&yaml)).unwrap());
}

/// Loading the whole document and compiling every schema up front.
#[divan::bench(sample_count = 20)]
fn load_and_compile_all_schemas() -> Spec {
    let spec = Spec::from_text(sendmux_conformance::EMBEDDED_SPEC).unwrap();
    spec.compile_all().unwrap();
    spec
}
