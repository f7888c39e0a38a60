//! Workspace maintenance tasks, run as `cargo xtask <task>`.
//!
//! Tasks:
//! - `codegen`: regenerate the low-level client from the OpenAPI documents.
//! - `codegen --check`: fail (with a diff) when the checked-in output is stale.
//! - `spec import [--reference DIR]`: rewrite our OpenAPI documents from the
//!   published ones and `spec/*.yaml`.
//! - `spec check [--reference DIR]`: fail when a fresh import would change
//!   them (skipped with a message when the reference folder is absent).
//! - `bench [--summary]`: run every benchmark and print one summary table
//!   (`--summary` only re-reads the last results; `--instructions` runs
//!   only the callgrind instruction counts, which repeat exactly).
//! - `man [--out DIR]`: write a manual page per `sendmux` command
//!   (default `target/man`).

use std::path::PathBuf;
use std::process::ExitCode;

mod bench;
mod codegen;
mod man;
mod operations;
mod spec;

const USAGE: &str = "usage: cargo xtask codegen [--check] | cargo xtask spec import|check [--reference DIR] | cargo xtask bench [--summary | --instructions] | cargo xtask man [--out DIR]";

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
        ["spec", task, rest @ ..] => spec_task(&root, task, rest),
        ["bench"] => bench::run(&root, false),
        ["bench", "--summary"] => bench::run(&root, true),
        ["bench", "--instructions"] => bench::run_instructions(&root),
        ["man"] => man::run(&root, None),
        ["man", "--out", dir] => man::run(&root, Some(dir)),
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

fn spec_task(root: &std::path::Path, task: &str, rest: &[&str]) -> Result<(), String> {
    let given = match rest {
        [] => None,
        ["--reference", dir] => Some(*dir),
        _ => return Err(format!("unknown arguments: {}\n{USAGE}", rest.join(" "))),
    };
    let reference = spec::reference_dir(root, given);
    match task {
        "import" => spec::write(root, &reference).map(|written| {
            for path in written {
                eprintln!("wrote {path}");
            }
        }),
        "check" => {
            if given.is_none() && !reference.is_dir() {
                eprintln!(
                    "spec check skipped: {} is absent (pass --reference DIR to check against another copy)",
                    spec::DEFAULT_REFERENCE
                );
                return Ok(());
            }
            spec::check(root, &reference).map(|()| {
                eprintln!("our OpenAPI documents are what a fresh import writes");
            })
        }
        other => Err(format!("unknown spec task: {other}\n{USAGE}")),
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
