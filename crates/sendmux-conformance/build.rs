//! Picks the OpenAPI document that `Spec::embedded()` compiles in.
//!
//! Inside the workspace the root `openapi.yaml` (the single source of truth)
//! is embedded, so the validator can never lag behind the spec while we work.
//! A published crate has no workspace around it, so it ships its own copy
//! (`openapi.yaml` next to this file) and embeds that. The test
//! `packaged_spec_matches_workspace_spec` fails whenever the two differ, so the
//! copy cannot go stale unnoticed; this script also warns at build time.

use std::path::PathBuf;

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let packaged = manifest_dir.join("openapi.yaml");
    let workspace = manifest_dir.join("../../openapi.yaml");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed={}", packaged.display());
    println!("cargo:rerun-if-changed={}", workspace.display());

    let packaged_text = std::fs::read_to_string(&packaged).ok();
    // Only our own workspace counts: a vendored copy of this crate two levels
    // below some other project's `openapi.yaml` must not pick that file up.
    let in_our_workspace =
        std::fs::canonicalize(manifest_dir.join("../../crates/sendmux-conformance"))
            .ok()
            .zip(std::fs::canonicalize(&manifest_dir).ok())
            .is_some_and(|(a, b)| a == b);
    let workspace_text = in_our_workspace
        .then(|| std::fs::read_to_string(&workspace).ok())
        .flatten();
    let (chosen, origin) = match (&workspace_text, &packaged_text) {
        (Some(text), _) => (text.clone(), "workspace"),
        (None, Some(text)) => (text.clone(), "packaged"),
        (None, None) => {
            eprintln!(
                "sendmux-conformance: no openapi.yaml next to Cargo.toml or at the workspace root"
            );
            std::process::exit(1);
        }
    };
    if let (Some(w), Some(p)) = (&workspace_text, &packaged_text)
        && w.replace("\r\n", "\n") != p.replace("\r\n", "\n")
    {
        println!(
            "cargo:warning=crates/sendmux-conformance/openapi.yaml differs from the workspace openapi.yaml; \
             copy it over before publishing (the test packaged_spec_matches_workspace_spec fails until then)"
        );
    }
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());
    if let Err(err) = std::fs::write(out_dir.join("openapi.yaml"), chosen) {
        eprintln!("sendmux-conformance: cannot write the embedded spec: {err}");
        std::process::exit(1);
    }
    println!("cargo:rustc-env=SENDMUX_CONFORMANCE_SPEC_ORIGIN={origin}");
}
