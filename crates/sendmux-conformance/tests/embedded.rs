//! The embedded document: it loads, and the crate's packaged copy is the
//! workspace's `openapi.yaml`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::path::Path;

use sendmux_conformance::{EMBEDDED_SPEC, Spec};

#[test]
fn embedded_spec_loads() {
    let spec = Spec::from_yaml_str(EMBEDDED_SPEC).unwrap();
    assert_eq!(spec.base_path(), "/api/v1");
    assert_eq!(spec.operations().count(), 9);
    // The shared instance is the same document.
    assert_eq!(Spec::embedded().document(), spec.document());
}

#[test]
fn packaged_spec_matches_workspace_spec() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let packaged = std::fs::read_to_string(crate_dir.join("openapi.yaml")).unwrap();
    let Ok(workspace) = std::fs::read_to_string(crate_dir.join("../../openapi.yaml")) else {
        println!("skipped: no workspace openapi.yaml (a packaged crate)");
        return;
    };
    assert!(
        packaged.replace("\r\n", "\n") == workspace.replace("\r\n", "\n"),
        "crates/sendmux-conformance/openapi.yaml is stale; run \
         `cp openapi.yaml crates/sendmux-conformance/openapi.yaml` at the workspace root"
    );
}

#[test]
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

    let not_30 = Spec::from_yaml_str("openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {}\n");
    assert!(not_30.unwrap_err().to_string().contains("3.0"));
    let dangling = Spec::from_yaml_str(
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /x:\n    get:\n      parameters: [{$ref: '#/components/parameters/Nope'}]\n      responses: {'200': {description: ok}}\n",
    );
    assert!(dangling.unwrap_err().to_string().contains("Nope"));
    assert!(Spec::from_path("/nonexistent/openapi.yaml").is_err());
}
