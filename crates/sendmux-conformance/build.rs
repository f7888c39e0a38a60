//! Picks the OpenAPI documents that `Spec::embedded()` (`openapi.yaml`,
//! Management and Mailbox) and `Spec::embedded_sending()`
//! (`openapi-sending.yaml`, Sending) compile in.
//!
//! Inside the workspace the root documents (the single source of truth) are
//! embedded, so the validator can never lag behind the spec while we work.
//! A published crate has no workspace around it, so it ships its own copies
//! (next to this file) and embeds those. The test
//! `packaged_specs_match_workspace_specs` fails whenever a copy differs, so
//! the copies cannot go stale unnoticed; this script also warns at build time.

use std::path::{Path, PathBuf};

/// The documents we embed, by file name (the same at the workspace root and
/// in the crate).
const DOCUMENTS: &[&str] = &["openapi.yaml", "openapi-sending.yaml"];

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());
    println!("cargo:rerun-if-changed=build.rs");
    // Only our own workspace counts: a vendored copy of this crate two levels
    // below some other project's `openapi.yaml` must not pick that file up.
    let in_our_workspace =
        std::fs::canonicalize(manifest_dir.join("../../crates/sendmux-conformance"))
            .ok()
            .zip(std::fs::canonicalize(&manifest_dir).ok())
            .is_some_and(|(a, b)| a == b);
    for name in DOCUMENTS {
        embed(&manifest_dir, &out_dir, name, in_our_workspace);
    }
}

fn embed(manifest_dir: &Path, out_dir: &Path, name: &str, in_our_workspace: bool) {
    let packaged = manifest_dir.join(name);
    let workspace = manifest_dir.join("../..").join(name);
    println!("cargo:rerun-if-changed={}", packaged.display());
    println!("cargo:rerun-if-changed={}", workspace.display());

    let packaged_text = std::fs::read_to_string(&packaged).ok();
    let workspace_text = in_our_workspace
        .then(|| std::fs::read_to_string(&workspace).ok())
        .flatten();
    let chosen = match (&workspace_text, &packaged_text) {
        (Some(text), _) | (None, Some(text)) => text.clone(),
        (None, None) => {
            eprintln!("sendmux-conformance: no {name} next to Cargo.toml or at the workspace root");
            std::process::exit(1);
        }
    };
    if let (Some(w), Some(p)) = (&workspace_text, &packaged_text)
        && w.replace("\r\n", "\n") != p.replace("\r\n", "\n")
    {
        println!(
            "cargo:warning=crates/sendmux-conformance/{name} differs from the workspace {name}; \
             run `cargo xtask codegen` before publishing (the test packaged_specs_match_workspace_specs fails until then)"
        );
    }
    if let Err(err) = std::fs::write(out_dir.join(name), chosen) {
        eprintln!("sendmux-conformance: cannot write the embedded {name}: {err}");
        std::process::exit(1);
    }
}
