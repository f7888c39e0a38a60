//! The `sendmux` command: manage Sendmux (domains, mailboxes, webhooks,
//! sending accounts, billing, logs) from a terminal or a script.
//!
//! Run `sendmux --help` for the commands and exit codes, and
//! `sendmux --mock domains add mail.acme.com` to try it without an account.
//!
//! The binary is [`main`]; this library also hands out the command-line
//! grammar ([`command`]) and writes its manual pages ([`man_pages`]), so
//! tools such as `cargo xtask man` need not run the binary.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

mod api;
mod args;
mod commands;
mod credentials;
mod failure;
mod groups;
mod jq;
mod output;
mod profiles;
mod records;
mod terminal;

use args::{Cli, OutputFormat};
use failure::Failure;

/// The whole `sendmux` grammar: every command, subcommand and flag, with
/// its help text.
///
/// ```
/// let sendmux = sendmux_cli::command();
/// assert!(sendmux.find_subcommand("domains").is_some());
/// ```
pub fn command() -> clap::Command {
    Cli::command()
}

/// Writes one manual page (roff) per command into `dir`: `sendmux.1`,
/// `sendmux-domains.1`, `sendmux-domains-add.1` and so on, and returns
/// their paths.
///
/// ```no_run
/// let pages = sendmux_cli::man_pages(std::path::Path::new("target/man"))?;
/// assert!(!pages.is_empty());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn man_pages(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    fn write(
        command: clap::Command,
        dir: &Path,
        written: &mut Vec<PathBuf>,
    ) -> std::io::Result<()> {
        for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
            write(sub.clone(), dir, written)?;
        }
        written.push(clap_mangen::Man::new(command).generate_to(dir)?);
        Ok(())
    }
    std::fs::create_dir_all(dir)?;
    // Built, so every page names its full command (`sendmux-domains-add`)
    // and lists the global flags too.
    let mut root = command().disable_help_subcommand(true);
    root.build();
    let mut written = Vec::new();
    write(root, dir, &mut written)?;
    Ok(written)
}

/// Runs `sendmux` with the process's arguments and returns its exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.global.verbose {
        init_tracing();
    }
    let jq = match cli.global.jq.as_deref().map(jq::Jq::new).transpose() {
        Ok(jq) => jq,
        Err(message) => return Failure::Usage(message).report(),
    };
    let format = match (cli.global.output, &jq) {
        (Some(OutputFormat::Table), Some(_)) => {
            return Failure::Usage(
                "--jq filters structured output: use it with -o json, jsonl or yaml (or no -o)"
                    .into(),
            )
            .report();
        }
        (Some(format), _) => format,
        (None, Some(_)) => OutputFormat::Json,
        (None, None) if std::io::stdout().is_terminal() => OutputFormat::Table,
        (None, None) => OutputFormat::Json,
    };
    output::configure(output::Settings {
        jq,
        raw: cli.global.raw_output,
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
    let mock = cli.global.mock;
    let code = match runtime.block_on(commands::run(cli, format)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    };
    if mock && output::suggested() {
        eprintln!("{MOCK_STATE_ENDS}");
    }
    code
}

/// Said after a `--mock` run that suggested a next command: that command
/// would meet a fresh mock, without what this one made.
const MOCK_STATE_ENDS: &str = "\
note: the embedded mock's state ended with this command, so a next command (like the one
  suggested) will not find what this one made. To keep state between commands, run a mock:
    sendmux-mock --port 8080
  and use --base-url http://127.0.0.1:8080/api/v1 instead of --mock.";

/// `--verbose`: the client's spans and events on stderr, coloured only on
/// a terminal without `NO_COLOR`. The client never records the API key,
/// so nothing here can print it.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("sendmux_client=debug,sendmux_cli=debug")
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(terminal::escapes_allowed(std::io::stderr().is_terminal()))
        .with_target(false)
        .try_init();
}
