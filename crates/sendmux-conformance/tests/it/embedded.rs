//! The embedded documents: they load and compile, and the crate's packaged
//! copies are the workspace's `openapi.yaml` and `openapi-sending.yaml`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

#[cfg(feature = "yaml")]
use std::path::Path;

use sendmux_conformance::{EMBEDDED_SENDING_SPEC, EMBEDDED_SPEC, Spec};

#[test]
fn embedded_specs_load_and_compile() {
    let spec = Spec::from_text(EMBEDDED_SPEC).unwrap();
    assert_eq!(spec.base_path(), "/api/v1");
    assert_eq!(spec.operations().count(), 94);
    spec.compile_all().unwrap();
    // The shared instance is the same document.
    assert_eq!(Spec::embedded().document(), spec.document());

    let sending = Spec::from_text(EMBEDDED_SENDING_SPEC).unwrap();
    assert_eq!(sending.base_path(), "/api/v1");
    assert_eq!(sending.operations().count(), 7);
    sending.compile_all().unwrap();
    assert_eq!(Spec::embedded_sending().document(), sending.document());
    assert_eq!(
        Spec::embedded_sending()
            .match_route(
                &http::Method::POST,
                "https://smtp.sendmux.ai/api/v1/emails/send"
            )
            .unwrap()
            .operation_id,
        "sendingSendEmail"
    );
    // Each document holds its own surface only.
    assert!(
        Spec::embedded()
            .match_route(&http::Method::POST, "/api/v1/emails/send")
            .is_none()
    );
    assert!(
        Spec::embedded_sending()
            .match_route(&http::Method::GET, "/api/v1/domains")
            .is_none()
    );
}

#[test]
#[cfg(feature = "yaml")]
fn packaged_specs_match_workspace_specs() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (yaml, json) in [
        ("openapi.yaml", EMBEDDED_SPEC),
        ("openapi-sending.yaml", EMBEDDED_SENDING_SPEC),
    ] {
        let path = crate_dir.join("../..").join(yaml);
        if !path.is_file() {
            println!("skipped: no workspace {yaml} (a packaged crate)");
            continue;
        }
        let workspace = Spec::from_path(&path).unwrap();
        let packaged: serde_json::Value = serde_json::from_str(json).unwrap();
        assert!(
            workspace.document() == &packaged,
            "the embedded JSON of {yaml} is stale; run `cargo xtask codegen` at the workspace root"
        );
    }
}

#[test]
#[cfg(feature = "yaml")] // the documents below are YAML
fn a_schema_that_does_not_compile_is_reported_not_panicked_on() {
    // An invalid regular expression: loading succeeds (schemas compile on
    // first use), `compile_all` and validation say where the problem is.
    let spec = Spec::from_text(
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /x:\n    post:\n      operationId: x\n      requestBody:\n        required: true\n        content:\n          application/json:\n            schema: {type: string, pattern: '(['}\n      responses: {'204': {description: ok}}\n",
    )
    .unwrap();
    let err = spec.compile_all().unwrap_err().to_string();
    assert!(err.contains("x request body application/json"), "{err}");
    let mut headers = http::HeaderMap::new();
    headers.insert(
        "content-type",
        http::HeaderValue::from_static("application/json"),
    );
    let report = spec.validate_request(&http::Method::POST, "/x", &headers, br#""a""#);
    assert_eq!(report.violations.len(), 1, "{report}");
    assert_eq!(report.violations[0].constraint, "schema compiles");
}

#[test]
#[cfg(feature = "yaml")] // the documents below are YAML
fn other_documents_load_from_a_path_and_bad_ones_are_refused() {
    let dir = std::env::temp_dir().join(format!("sendmux-conformance-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("mini.yaml");
    std::fs::write(
        &file,
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /ping:\n    get:\n      operationId: ping\n      responses:\n        '204': {description: pong}\n",
    )
    .unwrap();
    let spec = Spec::from_path(&file).unwrap();
    assert_eq!(
        spec.match_route(&http::Method::GET, "/ping")
            .unwrap()
            .operation_id,
        "ping"
    );
    std::fs::remove_dir_all(&dir).ok();

    let not_30 = Spec::from_text("openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {}\n");
    assert!(not_30.unwrap_err().to_string().contains("3.0"));
    let dangling = Spec::from_text(
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /x:\n    get:\n      parameters: [{$ref: '#/components/parameters/Nope'}]\n      responses: {'200': {description: ok}}\n",
    );
    assert!(dangling.unwrap_err().to_string().contains("Nope"));
    assert!(Spec::from_path("/nonexistent/openapi.yaml").is_err());
}
