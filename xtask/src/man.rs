//! `cargo xtask man [--out DIR]`: the manual pages of `sendmux`, one per
//! command, written by the CLI crate's `man` example (default folder
//! `target/man`).
//!
//! The pages come from the CLI's own grammar, which depends on the whole
//! client. xtask runs them through cargo instead of linking the CLI: a
//! stale generated client must never stop `cargo xtask codegen` from
//! building, and it would if xtask depended on it.

use std::path::Path;
use std::process::Command;

/// Writes the pages into `out` (relative to the workspace root unless
/// absolute).
pub(crate) fn run(root: &Path, out: Option<&str>) -> Result<(), String> {
    let out = root.join(out.unwrap_or("target/man"));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(root)
        .args([
            "run",
            "--quiet",
            "-p",
            "sendmux-cli",
            "--example",
            "man",
            "--",
        ])
        .arg(&out)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("writing the manual pages failed ({status})"))
    }
}
