//! Bodies built from the published documents' own examples must validate
//! against our spec.
//!
//! The published documents carry examples per field, not per body, so each
//! body is assembled from them: every property present, each value taken from
//! its `example` when there is one and otherwise the first `enum` value or a
//! plain value of its type. Skips when `../shared/reference` is absent.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::path::PathBuf;

use http::{HeaderMap, HeaderValue, Method};
use sendmux_conformance::Spec;
use serde_json::{Map, Value, json};

fn published_app() -> Option<Value> {
    let file = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/reference/openapi-app.json"
    ));
    match std::fs::read_to_string(&file) {
        Ok(text) => Some(serde_json::from_str(&text).unwrap()),
        Err(_) => {
            println!("skipped: ../shared/reference/openapi-app.json is not present");
            None
        }
    }
}

/// Builds an instance of a published (3.1) schema from its examples.
fn instance(document: &Value, schema: &Value, depth: usize) -> Value {
    assert!(depth < 32, "schema too deep");
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let target = document.pointer(reference.trim_start_matches('#')).unwrap();
        return instance(document, target, depth + 1);
    }
    if let Some(example) = schema.get("example") {
        return example.clone();
    }
    if let Some(Value::Array(members)) = schema.get("allOf") {
        let mut merged = Map::new();
        for member in members {
            if let Value::Object(part) = instance(document, member, depth + 1) {
                merged.extend(part);
            }
        }
        return Value::Object(merged);
    }
    if let Some(Value::Array(branches)) = schema.get("anyOf").or_else(|| schema.get("oneOf")) {
        let branch = branches
            .iter()
            .find(|b| b.get("type") != Some(&json!("null")))
            .unwrap();
        return instance(document, branch, depth + 1);
    }
    if let Some(first) = schema
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
    {
        return first.clone();
    }
    let ty = match schema.get("type") {
        Some(Value::String(ty)) => ty.as_str(),
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap(),
        _ => "object",
    };
    match ty {
        "object" => {
            let mut object = Map::new();
            if let Some(Value::Object(properties)) = schema.get("properties") {
                for (name, property) in properties {
                    object.insert(name.clone(), instance(document, property, depth + 1));
                }
            }
            Value::Object(object)
        }
        "array" => Value::Array(vec![instance(document, &schema["items"], depth + 1)]),
        "string" => json!("text"),
        "integer" => json!(1),
        "number" => json!(1.5),
        "boolean" => json!(true),
        other => panic!("unexpected type {other}"),
    }
}

fn response_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in [
        ("content-type", "application/json"),
        ("x-request-id", "req_clxxxxxxxxxxxxxxxxxxxxxxxxx"),
        ("x-ratelimit-limit", "600"),
        ("x-ratelimit-remaining", "599"),
        ("x-ratelimit-reset", "1798675200"),
        ("etag", "W/\"a1b2c3d4e5f60718\""),
        (
            "location",
            "/api/v1/domains/mdom_clxxxxxxxxxxxxxxxxxxxxxxxxx",
        ),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers
}

#[test]
fn published_examples_validate_against_our_spec() {
    let Some(document) = published_app() else {
        return;
    };
    let spec = Spec::embedded();
    let mut checked = 0;
    for (method, template, operation_id) in spec.operations() {
        let concrete = template.replace("{public_id}", "mdom_clxxxxxxxxxxxxxxxxxxxxxxxxx");
        let published = &document["paths"][template][method.as_str().to_ascii_lowercase()];
        assert!(published.is_object(), "{operation_id} is not published");
        if let Some(schema) = published.pointer("/requestBody/content/application~1json/schema") {
            let body = serde_json::to_vec(&instance(&document, schema, 0)).unwrap();
            let mut headers = HeaderMap::new();
            headers.insert("content-type", HeaderValue::from_static("application/json"));
            let report = spec.validate_request(method, &concrete, &headers, &body);
            assert!(report.is_ok(), "request: {report}");
            checked += 1;
        }
        for (status, response) in published["responses"].as_object().unwrap() {
            let status: u16 = status.parse().unwrap();
            let Some(content) = response.get("content").and_then(Value::as_object) else {
                continue;
            };
            for (media_type, media) in content {
                let mut headers = response_headers();
                headers.insert("content-type", HeaderValue::from_str(media_type).unwrap());
                let value = instance(&document, &media["schema"], 0);
                let body = match &value {
                    Value::String(text) if media_type.starts_with("text/") => {
                        text.clone().into_bytes()
                    }
                    other => serde_json::to_vec(other).unwrap(),
                };
                let report = spec.validate_response(method, &concrete, status, &headers, &body);
                assert!(report.is_ok(), "response {status} {media_type}: {report}");
                checked += 1;
            }
        }
    }
    println!("{checked} published example bodies validate");
    assert!(checked >= 40, "only {checked} bodies checked");
}

#[test]
fn seed_example_request_validates() {
    // The seed page's request body, written out here.
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert(
        "idempotency-key",
        HeaderValue::from_static("domains-create-20260424-001"),
    );
    let report = Spec::embedded().validate_request(
        &Method::POST,
        "https://app.sendmux.ai/api/v1/domains",
        &headers,
        br#"{"domain": "mail.acme.com"}"#,
    );
    assert!(report.is_ok(), "{report}");
}
