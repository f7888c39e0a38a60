//! `sendmux-mock`: runs the mock Sendmux API on loopback.
//!
//! Prints its base URL on stdout once it listens, then serves until
//! Ctrl-C (graceful shutdown).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use clap::Parser;
use sendmux_mock::{FaultRule, MockServer, Propagation};

/// Stateful mock of the Sendmux Management and Mailbox APIs (under /api/v1;
/// Domains implemented, other operations answer 501), with admin endpoints
/// under /__mock/.
#[derive(Debug, Parser)]
#[command(name = "sendmux-mock", version)]
struct Args {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 0, env = "SENDMUX_MOCK_PORT")]
    port: u16,

    /// Address to bind.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    host: IpAddr,

    /// Seed for ids, DNS tokens and fault draws.
    #[arg(long, default_value_t = 0)]
    seed: u64,

    /// Accept only this API key (repeatable); by default any well-formed
    /// smx_root_... key is accepted.
    #[arg(long = "accept-key", value_name = "KEY")]
    accept_keys: Vec<String>,

    /// Requests per window and key.
    #[arg(long, default_value_t = 600)]
    rate_limit: u32,

    /// Rate-limit window in seconds.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    rate_window: u64,

    /// Inject a fault (repeatable): KIND@RATE[,op=OPERATION_ID][,times=N][,ms=N][,retry_after=S].
    /// KIND is internal_error (500), service_unavailable (503), rate_limited (429),
    /// latency (needs ms=N), close_before_handler or close_after_commit.
    #[arg(long = "fault", value_name = "SPEC", value_parser = FaultRule::parse_cli)]
    faults: Vec<FaultRule>,

    /// Verify calls needed before a pending domain verifies.
    #[arg(long, value_name = "N", conflicts_with_all = ["verify_after_secs", "verify_fail"])]
    verify_after_calls: Option<u32>,

    /// Seconds of simulated DNS propagation before a domain can verify.
    #[arg(long, value_name = "SECS", conflicts_with = "verify_fail")]
    verify_after_secs: Option<u64>,

    /// Every verification fails.
    #[arg(long)]
    verify_fail: bool,

    /// Largest accepted request body in bytes.
    #[arg(long, default_value_t = sendmux_mock::DEFAULT_MAX_BODY_BYTES)]
    max_body_bytes: usize,

    /// Request-log entries kept for /__mock/requests (0 disables the log).
    #[arg(long, default_value_t = sendmux_mock::DEFAULT_LOG_CAPACITY)]
    request_log: usize,

    /// Validate every response against the spec and list violations in
    /// the request log (slower).
    #[arg(long)]
    self_check: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let propagation = if args.verify_fail {
        Propagation::Fail
    } else if let Some(secs) = args.verify_after_secs {
        Propagation::AfterDuration { secs }
    } else if let Some(calls) = args.verify_after_calls {
        Propagation::AfterVerifyCalls { calls }
    } else {
        Propagation::default()
    };
    let mut builder = MockServer::builder()
        .bind(SocketAddr::new(args.host, args.port))
        .seed(args.seed)
        .rate_limit(args.rate_limit, args.rate_window)
        .propagation(propagation)
        .max_body_bytes(args.max_body_bytes)
        .request_log_capacity(args.request_log)
        .self_check(args.self_check);
    for key in args.accept_keys {
        builder = builder.accept_key(key);
    }
    for rule in args.faults {
        builder = builder.fault(rule);
    }
    let server = match builder.start().await {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "sendmux-mock: cannot listen on {}:{}: {e}",
                args.host, args.port
            );
            return ExitCode::FAILURE;
        }
    };
    #[allow(clippy::print_stdout)]
    {
        // The one line scripts read to find the server.
        println!("{}", server.base_url());
    }
    eprintln!(
        "sendmux-mock: serving the API at {} (admin: {}); Ctrl-C stops",
        server.base_url(),
        server.admin_url()
    );
    let _ = tokio::signal::ctrl_c().await;
    eprintln!("sendmux-mock: shutting down");
    server.shutdown().await;
    ExitCode::SUCCESS
}
