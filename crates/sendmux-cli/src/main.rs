//! `sendmux`: manage Sendmux (domains, mailboxes, webhooks, sending
//! accounts, billing, logs) from a terminal or a script.
//!
//! Run `sendmux --help` for the commands and exit codes, and
//! `sendmux --mock domains add mail.acme.com` to try it without an account.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

mod api;
mod args;
mod commands;
mod failure;
mod groups;
mod output;
mod records;
mod terminal;

use args::{Cli, OutputFormat};
use failure::Failure;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.global.verbose {
        init_tracing();
    }
    let format = cli
        .global
        .output
        .unwrap_or(if std::io::stdout().is_terminal() {
            OutputFormat::Table
        } else {
            OutputFormat::Json
        });
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            return Failure::Internal(format!("cannot start the async runtime: {e}")).report();
        }
    };
    match runtime.block_on(commands::run(cli, format)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}

/// `--verbose`: the client's spans and events on stderr. The client never
/// records the API key, so nothing here can print it.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("sendmux_client=debug,sendmux_cli=debug")
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
