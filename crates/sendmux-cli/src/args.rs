//! Command-line grammar (clap derive).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Examples, where settings come from, and exit codes: printed by `--help`.
pub(crate) const ROOT_HELP: &str = "\
Examples:
  sendmux --mock domains add mail.acme.com      # try it without an account
  sendmux domains list -o json --jq '.items[].domain'

Where the API key and base URLs come from, first found wins:
  1. a flag: --api-key, --api-key-file, --base-url, --sending-base-url
  2. the environment: SENDMUX_API_KEY, SENDMUX_BASE_URL, SENDMUX_SENDING_BASE_URL
  3. the profile: --profile NAME, else SENDMUX_PROFILE, else `default`,
     saved by `sendmux auth login` (see `sendmux auth status`)
  4. the API's own: https://app.sendmux.ai/api/v1, and https://smtp.sendmux.ai/api/v1
     for the Sending API (`send`)

Exit codes:
  0  success
  1  unexpected internal failure
  2  usage error: bad flags or arguments, invalid input, missing API key, a folder name
     that matches no folder or several (nothing was sent); or a --jq expression that
     failed on the output
  3  API error: the server answered with an error (code, message and request id are printed)
  4  network error: the request could not be sent, or its outcome is unknown
  5  timed out: `domains verify --wait` gave up before the domain verified
  6  domain verification failed";

/// Manage Sendmux: domains, mailboxes, webhooks, sending accounts, billing and logs.
#[derive(Debug, Parser)]
#[command(name = "sendmux", version, after_help = ROOT_HELP)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Flags accepted before or after the subcommand, listed apart from each
/// command's own in `--help`.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub(crate) struct GlobalArgs {
    /// API key (a root key, `smx_root_...`), or `-` to read one line from
    /// stdin. A key given here is visible to every user of the machine (`ps`)
    /// and ends up in shell history: the environment (SENDMUX_API_KEY),
    /// --api-key-file, `--api-key -` or a profile (`sendmux auth login`)
    /// keep it out of the process list. Either flag wins over
    /// SENDMUX_API_KEY, which wins over the profile.
    // Not clap's `env`: clap counts an environment value as given, so
    // `conflicts_with` would reject `--api-key-file` whenever the variable is set.
    #[arg(long, global = true, value_name = "KEY|-")]
    pub(crate) api_key: Option<String>,

    /// Read the API key from the first line of this file (e.g. one readable
    /// only by you).
    #[arg(long, global = true, value_name = "PATH", conflicts_with = "api_key")]
    pub(crate) api_key_file: Option<PathBuf>,

    /// API base URL (default: the profile's, else https://app.sendmux.ai/api/v1).
    // `hide_env_values`: a URL may carry credentials (`user:pw@`); `--help` must not print them.
    #[arg(long, env = "SENDMUX_BASE_URL", global = true, hide_env_values = true)]
    pub(crate) base_url: Option<String>,

    /// Sending API base URL, for `send` (default: the profile's, else
    /// https://smtp.sendmux.ai/api/v1).
    #[arg(
        long,
        env = "SENDMUX_SENDING_BASE_URL",
        global = true,
        hide_env_values = true
    )]
    pub(crate) sending_base_url: Option<String>,

    /// The saved profile (`sendmux auth login --profile NAME`) whose key and
    /// base URLs to use when no flag or environment variable gives them.
    #[arg(long, env = "SENDMUX_PROFILE", global = true, value_name = "NAME")]
    pub(crate) profile: Option<String>,

    /// Output format: `table` for people; `json`, `jsonl` (one compact
    /// object per line; a list's items one per line) or `yaml` for scripts.
    /// A list in `json` or `yaml` is `{"items": [...], "next_cursor": ...}`.
    /// Default: `table` on a terminal, `json` otherwise (and with --jq).
    /// Given twice, the last one counts (an alias may set one).
    #[arg(
        long,
        short = 'o',
        value_enum,
        global = true,
        overrides_with = "output"
    )]
    pub(crate) output: Option<OutputFormat>,

    /// Filter the JSON output with a jq expression (e.g. `.items[].id`),
    /// applied to exactly what `-o json` prints; each result is printed as
    /// JSON (one line each with `-o jsonl`, YAML with `-o yaml`).
    #[arg(long, global = true, value_name = "EXPR")]
    pub(crate) jq: Option<String>,

    /// With --jq: print string results as their text, without JSON quotes.
    #[arg(long, short = 'r', global = true, requires = "jq")]
    pub(crate) raw_output: bool,

    /// Run against an embedded mock server on loopback instead of the real
    /// API; no account or key needed. State lasts for this one command.
    #[arg(long, global = true)]
    pub(crate) mock: bool,

    /// Log requests, retries and timings to stderr (never the API key).
    #[arg(long, short = 'v', global = true)]
    pub(crate) verbose: bool,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutputFormat {
    /// Aligned tables for people.
    Table,
    /// The API's `data` object as pretty JSON; a list as
    /// `{"items": [...], "next_cursor": ...}`.
    Json,
    /// One compact JSON object per line: a list's items, or the one object.
    Jsonl,
    /// The same document as `json`, in YAML.
    Yaml,
}

impl OutputFormat {
    /// Whether this is the format for people rather than scripts.
    pub(crate) fn is_table(self) -> bool {
        self == OutputFormat::Table
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Mailbox domains: add, inspect, verify, upgrade, delete.
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  sendmux domains add mail.acme.com\n  sendmux domains list -o json --jq '.items[] | select(.verification_status == \"verified\") | .domain'"
    )]
    Domains(DomainsCommand),
    /// Hosted mailboxes: create, inspect, suspend, resume, keys, filters.
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  sendmux mailboxes create agent@mail.acme.com --display-name Agent\n  sendmux mailboxes list --all -o jsonl"
    )]
    Mailboxes(crate::groups::mailboxes::MailboxesCommand),
    /// Webhook subscriptions, deliveries and secrets; `listen` receives them locally.
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  sendmux webhooks create --url https://hooks.acme.com/sendmux --event message.received\n  sendmux webhooks listen --port 8787 --secret-file ./whsec.txt"
    )]
    Webhooks(crate::groups::webhooks::WebhooksCommand),
    /// Sending accounts (SMTP servers and connected accounts) and their limits.
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  sendmux sending-accounts list\n  sendmux sending-accounts test dprov_..."
    )]
    SendingAccounts(crate::groups::sending_accounts::SendingAccountsCommand),
    /// Credit balance, spend and transactions.
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  sendmux billing balance\n  sendmux billing transactions --type usage --all -o jsonl"
    )]
    Billing(crate::groups::billing::BillingCommand),
    /// Delivery logs, metrics and inbound logs; `tail` follows new deliveries.
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  sendmux logs emails --status failed\n  sendmux logs tail --interval 10s"
    )]
    Logs(crate::groups::logs::LogsCommand),
    /// Send an email, or a batch from a JSON-lines file (with a mailbox key).
    #[command(after_help = crate::groups::send::HELP)]
    Send(Box<crate::groups::send::SendArgs>),
    /// Read, send and watch one mailbox's mail (with a mailbox key).
    #[command(subcommand)]
    #[command(after_help = crate::groups::mail::HELP)]
    Mail(crate::groups::mail::MailCommand),
    /// Call any operation of the API by its operationId, or by METHOD and PATH.
    #[command(after_help = API_HELP)]
    Api(ApiArgs),
    /// Save API keys as profiles, show which key is in use, remove them.
    #[command(subcommand)]
    #[command(after_help = "Examples:\n  sendmux auth login\n  sendmux auth status")]
    Auth(crate::groups::auth::AuthCommand),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    #[command(after_help = COMPLETION_HELP)]
    Completion {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
}

/// Examples printed by `sendmux completion --help`.
pub(crate) const COMPLETION_HELP: &str = "\
Examples:
  source <(sendmux completion bash)          # this bash session; add it to ~/.bashrc to keep it
  sendmux completion zsh > \"${fpath[1]}/_sendmux\"
  sendmux completion fish > ~/.config/fish/completions/sendmux.fish
  sendmux completion powershell | Out-String | Invoke-Expression";

/// Examples and notes printed by `sendmux api --help`.
pub(crate) const API_HELP: &str = "\
Examples:
  sendmux api managementListDomains --paginate
  sendmux api GET /domains/{public_id} -f public_id=mdom_...
  sendmux api GET /domains/mdom_...
  sendmux api managementCreateDomain -f domain=mail.acme.com -f mode=send_only

`-f name=value` sets a path or query parameter when the operation declares one by
that name (a header parameter such as If-Match too); otherwise, for an operation
with a JSON body, a top-level field of the body, its value parsed as JSON when it
parses (numbers, true, false, null, objects, arrays) and a string otherwise.

The call is checked against the API description before anything is sent. A JSON
response is printed as pretty JSON; text and binary bodies are written as they are;
a 304 Not Modified prints nothing. With --paginate the `data` items of every page
are printed as the list commands print them with --all: {\"items\": [...],
\"next_cursor\": null} with -o json, one item per line with -o jsonl.";

/// `sendmux api`: generic access to every operation.
#[derive(Debug, Args)]
pub(crate) struct ApiArgs {
    /// An operationId such as `managementListDomains`, or an HTTP method
    /// followed by PATH.
    #[arg(value_name = "OPERATION|METHOD")]
    pub(crate) operation: String,
    /// Path relative to the base URL, concrete (`/domains/mdom_1`) or a
    /// template (`/domains/{public_id}`, values from `-f`).
    #[arg(value_name = "PATH")]
    pub(crate) path: Option<String>,
    /// A path, query or header parameter, or a top-level JSON body field
    /// (repeatable).
    #[arg(short = 'f', long = "field", value_name = "NAME=VALUE")]
    pub(crate) fields: Vec<String>,
    /// Read the request body from this file (`-` for stdin), sent as is;
    /// cannot be combined with `-f` body fields.
    #[arg(long, value_name = "FILE")]
    pub(crate) input: Option<PathBuf>,
    /// Follow every page of a cursor list; print every item, as `--all` does.
    #[arg(long)]
    pub(crate) paginate: bool,
    /// An extra request header, `Name: value` (repeatable).
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub(crate) headers: Vec<String>,
    /// Idempotency key to send; one is generated for operations that take
    /// one when omitted.
    #[arg(long)]
    pub(crate) idempotency_key: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum DomainsCommand {
    /// Add a domain and print the DNS records to publish.
    #[command(
        after_help = "Examples:\n  sendmux domains add mail.acme.com\n  sendmux domains add mail.acme.com --mode send-only --idempotency-key add-acme-1"
    )]
    Add {
        /// Fully qualified, lowercase domain name, e.g. `mail.acme.com`.
        domain: String,
        /// How the domain is used (the API defaults to send-receive).
        #[arg(long, value_enum)]
        mode: Option<ModeArg>,
        /// Idempotency key, to make a retried `add` safe; one is generated
        /// when omitted.
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// List domains, newest first.
    #[command(
        after_help = "Examples:\n  sendmux domains list --limit 20\n  sendmux domains list --all -o jsonl"
    )]
    List {
        #[command(flatten)]
        page: crate::groups::ListArgs,
    },
    /// Show one domain with its DNS records.
    #[command(
        after_help = "Examples:\n  sendmux domains get mdom_...\n  sendmux domains get mdom_... --jq '.dns_records.dkim[].name'"
    )]
    Get {
        /// Domain id (`mdom_...`).
        id: String,
    },
    /// Upgrade a send-only domain to send-receive.
    #[command(
        after_help = "Examples:\n  sendmux domains upgrade mdom_...\n  sendmux domains upgrade mdom_... --if-match 'W/\"...\"'"
    )]
    Upgrade {
        /// Domain id (`mdom_...`).
        id: String,
        /// Only upgrade if the domain still has this ETag (from `get`).
        #[arg(long)]
        if_match: Option<String>,
    },
    /// Check the domain's DNS records now.
    #[command(
        after_help = "Examples:\n  sendmux domains verify mdom_...\n  sendmux domains verify mdom_... --wait --timeout 30m"
    )]
    Verify {
        /// Domain id (`mdom_...`).
        id: String,
        /// Keep checking until the domain verifies, fails or the timeout passes.
        #[arg(long)]
        wait: bool,
        /// How long `--wait` keeps trying, e.g. `10m`, `90s`.
        #[arg(long, default_value = "10m", value_parser = parse_duration, requires = "wait")]
        timeout: Duration,
        /// Pause between checks with `--wait`, e.g. `10s`.
        #[arg(long, default_value = "10s", value_parser = parse_duration, requires = "wait")]
        interval: Duration,
    },
    /// Delete a domain (refused while mailboxes use it).
    #[command(
        after_help = "Examples:\n  sendmux domains delete mdom_...\n  sendmux domains delete mdom_... --yes"
    )]
    Delete {
        /// Domain id (`mdom_...`).
        id: String,
        /// Do not ask for confirmation (required when stdin is not a terminal).
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Print the domain's DNS records as a BIND zone file.
    #[command(
        after_help = "Examples:\n  sendmux domains zone-file mdom_...\n  sendmux domains zone-file mdom_... -f mail.acme.com.zone"
    )]
    ZoneFile {
        /// Domain id (`mdom_...`).
        id: String,
        /// Write to this file instead of stdout.
        #[arg(long, short = 'f', value_name = "PATH")]
        file: Option<PathBuf>,
    },
    /// Domain-wide sender filters.
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  sendmux domains filters get mdom_...\n  sendmux domains filters set mdom_... --mode allowlist --allow partner.com"
    )]
    Filters(FiltersCommand),
}

#[derive(Debug, Subcommand)]
pub(crate) enum FiltersCommand {
    /// Show the filter mode and rules.
    #[command(after_help = "Examples:\n  sendmux domains filters get mdom_...")]
    Get {
        /// Domain id (`mdom_...`).
        id: String,
    },
    /// Replace the filter mode and all rules.
    #[command(
        after_help = "Examples:\n  sendmux domains filters set mdom_... --mode denylist --deny spam.example\n  sendmux domains filters set mdom_... --from-file filters.json"
    )]
    Set {
        /// Domain id (`mdom_...`).
        id: String,
        #[command(flatten)]
        rules: crate::groups::FilterRulesArgs,
        /// Only replace if the filters still have this ETag.
        #[arg(long)]
        if_match: Option<String>,
    },
}

/// `--mode` of `domains add`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ModeArg {
    /// Outbound mail only; MX records stay as they are.
    SendOnly,
    /// Outbound mail and hosted mailboxes.
    SendReceive,
}

/// `--mode` of `domains filters set`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum FilterModeArg {
    /// Accept every sender.
    Off,
    /// Accept only senders matching an allow rule.
    Allowlist,
    /// Accept everyone except senders matching a deny rule.
    Denylist,
}

pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|e| format!("{e} (examples: 90s, 10m, 1h)"))
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn help_names_the_client_default_urls() {
        assert!(super::ROOT_HELP.contains(sendmux_client::DEFAULT_BASE_URL));
        assert!(super::ROOT_HELP.contains(sendmux_client::DEFAULT_SENDING_BASE_URL));
    }

    #[test]
    fn grammar_is_consistent() {
        super::Cli::command().debug_assert();
    }

    /// Every command, groups and future ones too, shows examples in its
    /// `--help`, and keeps the global flags under their own heading.
    #[test]
    fn every_command_has_examples_and_global_options_apart() {
        fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
            let path = format!("{path} {}", command.get_name());
            let examples = command.get_after_help().is_some_and(|help| {
                let help = help.to_string();
                help.starts_with("Examples:\n  ") && help.contains("sendmux")
            });
            if !examples {
                missing.push(path.clone());
            }
            for sub in command.get_subcommands() {
                walk(sub, &path, missing);
            }
        }
        let mut root = super::Cli::command();
        root.build();
        let mut missing = Vec::new();
        walk(&root, "", &mut missing);
        // clap's own `help` subcommands print other commands' help.
        missing.retain(|path| !path.contains(" help"));
        assert!(missing.is_empty(), "no examples in: {missing:?}");

        let list = root
            .find_subcommand("domains")
            .and_then(|d| d.find_subcommand("list"))
            .map(|l| l.clone().render_help().to_string())
            .unwrap_or_default();
        let global = list.find("Global options:").unwrap_or(0);
        assert!(global > 0, "{list}");
        let jq = list.find("--jq").unwrap_or(0);
        let limit = list.find("--limit").unwrap_or(usize::MAX);
        assert!(limit < global && global < jq, "{list}");
    }
}
