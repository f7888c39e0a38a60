//! `sendmux-mock`: runs the mock Sendmux API on loopback.
//!
//! Prints its two base URLs on stdout once it listens (the Management and
//! Mailbox APIs on the first line, the Sending API on the second), then
//! serves until Ctrl-C (graceful shutdown).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use clap::Parser;
use sendmux_mock::{FaultRule, MockServer, Propagation};

/// Stateful mock of the Sendmux API: the Management and Mailbox APIs under
/// /api/v1 on --port, the Sending API under /api/v1 on --sending-port
/// (operations without a handler answer 501), with admin endpoints under
/// /__mock/ on --port. Prints both base URLs, one per line.
#[derive(Debug, Parser)]
#[command(name = "sendmux-mock", version)]
struct Args {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 0, env = "SENDMUX_MOCK_PORT")]
    port: u16,

    /// Port of the Sending API (/emails/..., /openapi.json), on the same
    /// address (0 picks a free one).
    #[arg(long, default_value_t = 0, env = "SENDMUX_MOCK_SENDING_PORT")]
    sending_port: u16,

    /// Address to bind. Any address other than loopback needs
    /// --admin-token: the /__mock/ admin API can read every team's data.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    host: IpAddr,

    /// Require `Authorization: Bearer TOKEN` on /__mock/ admin calls
    /// (mandatory with a non-loopback --host).
    #[arg(
        long,
        value_name = "TOKEN",
        env = "SENDMUX_MOCK_ADMIN_TOKEN",
        hide_env_values = true
    )]
    admin_token: Option<String>,

    /// Milliseconds a client has to send a whole request body; a late API
    /// body gets 408 and the connection is closed.
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    body_timeout_ms: u64,

    /// Seed for ids, DNS tokens and fault draws.
    #[arg(long, default_value_t = 0)]
    seed: u64,

    /// Accept only this API key (repeatable); by default any well-formed
    /// smx_root_... key is accepted.
    #[arg(long = "accept-key", value_name = "KEY")]
    accept_keys: Vec<String>,

    /// Requests per window and root key (smx_root_...).
    #[arg(long, default_value_t = 600)]
    rate_limit: u32,

    /// Rate-limit window of root keys, in seconds.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    rate_window: u64,

    /// Requests per window and mailbox key or agent token (smx_mbx_...,
    /// smx_agent_...: the Mailbox and Sending APIs; a batch send is one).
    #[arg(long, default_value_t = 1800)]
    mailbox_rate_limit: u32,

    /// Rate-limit window of mailbox keys and agent tokens, in seconds.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    mailbox_rate_window: u64,

    /// Inject a fault (repeatable):
    /// KIND@RATE[,op=OPERATION_ID][,times=N][,ms=N][,retry_after=S][,when=PHASE].
    /// KIND is internal_error (500), service_unavailable (503), rate_limited (429),
    /// latency (needs ms=N), close_before_handler or close_after_commit. PHASE is
    /// before_handler (default) or after_commit: the change is made and stored for
    /// idempotent replay, then the fault replaces, delays or drops its answer.
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

    /// Largest Sending API attachment in bytes (direct upload or upload
    /// URL); bigger ones get 413.
    #[arg(long, value_name = "BYTES", default_value_t = sendmux_mock::DEFAULT_SENDING_ATTACHMENT_LIMIT)]
    sending_attachment_limit: usize,

    /// Sending credits every team starts with (one per accepted message);
    /// by default the seeded ledger's balance.
    #[arg(long, value_name = "N")]
    sending_credits: Option<u64>,

    /// Request-log entries kept for /__mock/requests (0 disables the log).
    #[arg(long, default_value_t = sendmux_mock::DEFAULT_LOG_CAPACITY)]
    request_log: usize,

    /// Validate every response against the spec and list violations in
    /// the request log (slower).
    #[arg(long)]
    self_check: bool,

    /// Accept plain http:// webhook URLs (by default only https:// ones,
    /// as the API), so a local test server can receive the deliveries.
    #[arg(long)]
    allow_http_webhooks: bool,
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
        .sending_port(args.sending_port)
        .seed(args.seed)
        .rate_limit(args.rate_limit, args.rate_window)
        .mailbox_rate_limit(args.mailbox_rate_limit, args.mailbox_rate_window)
        .propagation(propagation)
        .max_body_bytes(args.max_body_bytes)
        .request_log_capacity(args.request_log)
        .sending_attachment_limit(args.sending_attachment_limit)
        .self_check(args.self_check)
        .allow_http_webhooks(args.allow_http_webhooks)
        .body_read_timeout(std::time::Duration::from_millis(args.body_timeout_ms));
    if let Some(token) = args.admin_token {
        builder = builder.admin_token(token);
    }
    if let Some(credits) = args.sending_credits {
        builder = builder.sending_credits(credits);
    }
    for key in args.accept_keys {
        builder = builder.accept_key(key);
    }
    for rule in args.faults {
        builder = builder.fault(rule);
    }
    let server = match builder.start().await {
        Ok(s) => s,
        // Refused by our own rule (public address without an admin token):
        // the message says it all.
        Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => {
            eprintln!("sendmux-mock: {e}");
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!(
                "sendmux-mock: cannot listen on {} (ports {} and {}): {e}",
                args.host, args.port, args.sending_port
            );
            return ExitCode::FAILURE;
        }
    };
    #[allow(clippy::print_stdout)]
    {
        // The lines scripts read to find the server: the main base URL
        // first (as always), the Sending API's second.
        println!("{}", server.base_url());
        println!("{}", server.sending_base_url());
    }
    eprintln!(
        "sendmux-mock: serving the Management and Mailbox APIs at {}, the Sending API at {} \
         (admin: {}); Ctrl-C stops",
        server.base_url(),
        server.sending_base_url(),
        server.admin_url()
    );
    let _ = tokio::signal::ctrl_c().await;
    eprintln!("sendmux-mock: shutting down");
    server.shutdown().await;
    ExitCode::SUCCESS
}
