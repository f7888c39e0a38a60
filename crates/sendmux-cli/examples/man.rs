//! Writes the manual pages of `sendmux` into a folder (default
//! `target/man`); `cargo xtask man [--out DIR]` runs it.

use std::process::ExitCode;

fn main() -> ExitCode {
    let dir = std::env::args_os()
        .nth(1)
        .map_or_else(|| std::path::PathBuf::from("target/man"), Into::into);
    match sendmux_cli::man_pages(&dir) {
        Ok(pages) => {
            eprintln!("wrote {} manual pages to {}", pages.len(), dir.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!(
                "error: cannot write the manual pages to {}: {e}",
                dir.display()
            );
            ExitCode::FAILURE
        }
    }
}
