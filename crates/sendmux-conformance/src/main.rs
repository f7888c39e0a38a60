//! `sendmux-conformance`: probe a server against the spec, or compare the
//! spec with the published API. See the library docs for details.
#![allow(clippy::print_stdout)] // A command-line tool prints its results.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sendmux_conformance::check::{self, CheckOptions};
use sendmux_conformance::{Spec, drift};

/// Exit code when the check or the comparison found problems.
const FOUND_PROBLEMS: u8 = 1;
/// Exit code when the command could not run (bad input, unreadable files).
const CANNOT_RUN: u8 = 2;

#[derive(Parser)]
#[command(
    name = "sendmux-conformance",
    version,
    about = "Checks Sendmux API traffic against openapi.yaml and openapi-sending.yaml"
)]
struct Cli {
    /// Use this OpenAPI 3.0 document instead of the embedded `openapi.yaml`
    /// (for `drift`: compare only this document, unless `--ours` is given).
    #[arg(long, global = true, value_name = "PATH")]
    spec: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Call a server with read-only requests and validate every response.
    Check {
        /// Base URL including the API path, e.g. https://app.sendmux.ai/api/v1.
        #[arg(long, env = "SENDMUX_BASE_URL")]
        base_url: String,
        /// API key, sent as a bearer token.
        #[arg(long, env = "SENDMUX_API_KEY", hide_env_values = true)]
        api_key: Option<String>,
        /// How many listed domains to probe further.
        #[arg(long, default_value_t = 3)]
        max_items: usize,
        /// Seconds before a call times out.
        #[arg(long, default_value_t = 30)]
        timeout: u64,
    },
    /// Compare our documents with published OpenAPI 3.1 documents by meaning.
    ///
    /// By default ours are both embedded documents, `openapi.yaml` and
    /// `openapi-sending.yaml`.
    Drift {
        /// A published document (repeat for several): a file, or an
        /// `http(s)://` URL such as a live API's `/openapi.json`.
        #[arg(long, required = true, num_args = 1.., value_name = "PATH|URL")]
        published: Vec<String>,
        /// Our OpenAPI 3.0 documents to compare instead of the embedded ones.
        #[arg(long, num_args = 1.., value_name = "PATH")]
        ours: Vec<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Drift { published, ours } => drift_command(cli.spec.as_deref(), &ours, &published),
        Command::Check {
            base_url,
            api_key,
            max_items,
            timeout,
        } => {
            let mut options = CheckOptions::new(base_url);
            options.api_key = api_key.map(check::ApiKey::new);
            options.max_items = max_items;
            options.timeout = std::time::Duration::from_secs(timeout.max(1));
            check_command(cli.spec.as_deref(), &options)
        }
    }
}

/// `check`: probes the server and validates against `--spec` or the
/// embedded `openapi.yaml`.
fn check_command(spec: Option<&Path>, options: &CheckOptions) -> ExitCode {
    let loaded;
    let spec = match spec {
        None => Spec::embedded(),
        Some(path) => match Spec::from_path(path) {
            Ok(spec) => {
                loaded = spec;
                &loaded
            }
            Err(err) => {
                eprintln!("error: {err}");
                return ExitCode::from(CANNOT_RUN);
            }
        },
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::from(CANNOT_RUN);
        }
    };
    let outcome = runtime.block_on(check::run(spec, options));
    finish(outcome, |report| report.is_ok())
}

/// `drift`: `--ours` files, else the `--spec` file, else both embedded
/// documents, against the published ones.
fn drift_command(spec: Option<&Path>, ours: &[PathBuf], published: &[String]) -> ExitCode {
    let paths: Vec<&Path> = if ours.is_empty() {
        spec.into_iter().collect()
    } else {
        ours.iter().map(PathBuf::as_path).collect()
    };
    let loaded = match paths
        .iter()
        .map(drift::read_document)
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(loaded) => loaded,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::from(CANNOT_RUN);
        }
    };
    let documents: Vec<&serde_json::Value> = if loaded.is_empty() {
        drift::embedded_documents().to_vec()
    } else {
        loaded.iter().collect()
    };
    let published = match load_published(published) {
        Ok(published) => published,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::from(CANNOT_RUN);
        }
    };
    let report = drift::compare(&documents, &published);
    finish(Ok::<_, drift::DriftError>(report), |report| {
        report.is_clean()
    })
}

/// Each `--published` value, read from its file or fetched from its URL.
fn load_published(sources: &[String]) -> Result<Vec<drift::Published>, drift::DriftError> {
    let is_url = |s: &str| s.starts_with("http://") || s.starts_with("https://");
    let mut runtime = None;
    sources
        .iter()
        .map(|source| {
            if !is_url(source) {
                return drift::Published::from_path(source);
            }
            let runtime = match &mut runtime {
                Some(runtime) => runtime,
                None => runtime.insert(
                    tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|e| drift::DriftError::Fetch {
                            url: source.clone(),
                            message: format!("cannot start the async runtime: {e}"),
                        })?,
                ),
            };
            runtime.block_on(drift::Published::fetch(
                source,
                std::time::Duration::from_secs(30),
            ))
        })
        .collect()
}

/// Prints a report and exits 0 when it is clean, else with the problem
/// code; an error that kept it from running exits with its own code.
fn finish<R: std::fmt::Display, E: std::fmt::Display>(
    outcome: Result<R, E>,
    clean: impl Fn(&R) -> bool,
) -> ExitCode {
    match outcome {
        Ok(report) => {
            println!("{report}");
            if clean(&report) {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(FOUND_PROBLEMS)
            }
        }
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(CANNOT_RUN)
        }
    }
}
