//! Refuses to build a client generated from another version of the spec.
//!
//! Each `src/generated*.rs` names its document and that document's hash on
//! its second line (`// spec: openapi.yaml sha256:<hex>`). When the document
//! is present (a workspace checkout; a published crate has none), its hash
//! must match, or the build fails and says how to regenerate.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let workspace_root = manifest_dir.join("../..");
    let src = manifest_dir.join("src");
    println!("cargo:rerun-if-changed=build.rs");
    let Ok(entries) = std::fs::read_dir(&src) else {
        return;
    };
    let mut generated: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("generated") && n.ends_with(".rs"))
        })
        .collect();
    generated.sort();
    let mut stale = Vec::new();
    for file in &generated {
        println!("cargo:rerun-if-changed={}", file.display());
        if let Some(problem) = check(file, &workspace_root) {
            stale.push(problem);
        }
    }
    if !stale.is_empty() {
        for problem in &stale {
            println!("cargo:warning={problem}");
        }
        eprintln!(
            "sendmux-api is stale:\n  {}\nRun `cargo xtask codegen` at the workspace root and commit the result.",
            stale.join("\n  ")
        );
        std::process::exit(1);
    }
}

/// Returns a description of the mismatch, if any.
fn check(generated: &Path, workspace_root: &Path) -> Option<String> {
    let text = std::fs::read_to_string(generated).ok()?;
    let spec_line = text
        .lines()
        .take(5)
        .find_map(|l| l.strip_prefix("// spec: "))?;
    let (spec_name, recorded) = spec_line.split_once(" sha256:")?;
    let spec_path = workspace_root.join(spec_name);
    // Outside the workspace (a published crate) the document is absent.
    let spec_text = std::fs::read_to_string(&spec_path).ok()?;
    println!("cargo:rerun-if-changed={}", spec_path.display());
    let actual = hex(&Sha256::digest(spec_text.replace("\r\n", "\n").as_bytes()));
    (actual != recorded.trim()).then(|| {
        format!(
            "{} was generated from a different {spec_name} (recorded sha256 {}, current {actual})",
            generated
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("generated.rs"),
            recorded.trim()
        )
    })
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    bytes
        .iter()
        .flat_map(|b| [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 0xf)]])
        .map(char::from)
        .collect()
}
