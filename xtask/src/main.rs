//! Workspace maintenance tasks, run as `cargo xtask <task>`.
//!
//! Tasks:
//! - `codegen`: regenerate the low-level client from the OpenAPI documents.
//! - `codegen --check`: fail (with a diff) when the checked-in output is stale.
//! - `bench [--summary]`: run every benchmark and print one summary table
//!   (`--summary` only re-reads the last results).

use std::path::PathBuf;
use std::process::ExitCode;

mod bench;
mod codegen;

const USAGE: &str = "usage: cargo xtask codegen [--check] | cargo xtask bench [--summary]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let root = workspace_root();
    let outcome = match args.as_slice() {
        ["codegen"] => codegen::write_all(&root).map(|written| {
            for path in written {
                eprintln!("wrote {path}");
            }
        }),
        ["codegen", "--check"] => codegen::check_all(&root).map(|()| {
            eprintln!("generated code is up to date");
        }),
        ["bench"] => bench::run(&root, false),
        ["bench", "--summary"] => bench::run(&root, true),
        ["help" | "--help" | "-h"] => {
            eprintln!("{USAGE}");
            Ok(())
        }
        _ => Err(format!("unknown task: {}\n{USAGE}", args.join(" "))),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: the parent of this crate's manifest directory.
fn workspace_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(PathBuf::from)
        .unwrap_or(manifest_dir)
}
