//! `sendmux sending-accounts`: the accounts mail is sent through (the API's
//! `/providers`). The SMTP password is read from a file or stdin, never
//! taken as a flag value, and never printed.

use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use sendmux_client::sending_accounts::SmtpProtocol;
use sendmux_client::types::{ProviderStatus, ProviderType};
use sendmux_client::{Client, Json, Request, Secret};

use super::ListArgs;
use crate::args::OutputFormat;
use crate::failure::Failure;
use crate::records::{Column, col, detail, detail_with, done};
use crate::terminal::clean;

#[derive(Debug, Subcommand)]
pub(crate) enum SendingAccountsCommand {
    /// List sending accounts.
    #[command(
        after_help = "Examples:\n  sendmux sending-accounts list\n  sendmux sending-accounts list --status active --type smtp"
    )]
    List {
        /// Only accounts in this state.
        #[arg(long, value_enum)]
        status: Option<StatusArg>,
        /// Only accounts of this kind.
        #[arg(long = "type", value_enum)]
        kind: Option<KindArg>,
        #[command(flatten)]
        page: ListArgs,
    },
    /// Show one sending account.
    #[command(after_help = "Examples:\n  sendmux sending-accounts get dprov_...")]
    Get {
        /// Sending account id (`dprov_...`).
        id: String,
    },
    /// Add a custom SMTP account.
    #[command(
        after_help = "Examples:\n  sendmux sending-accounts create \"Office SMTP\" --host smtp.acme.com --port 587 --protocol starttls --username mailer --smtp-password-file ./smtp-password.txt\n  pass show smtp | sendmux sending-accounts create \"Office SMTP\" --host smtp.acme.com --port 465 --protocol ssl --username mailer --smtp-password -"
    )]
    Create {
        /// A name for people.
        name: String,
        #[command(flatten)]
        server: ServerArgs,
        #[command(flatten)]
        password: PasswordArgs,
        #[command(flatten)]
        defaults: DefaultsArgs,
        /// Idempotency key, to make a retried `create` safe; one is
        /// generated when omitted.
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// Change a sending account; what is not given stays.
    #[command(
        after_help = "Examples:\n  sendmux sending-accounts update dprov_... --name \"Office relay\"\n  sendmux sending-accounts update dprov_... --username mailer --smtp-password-file ./new-password.txt"
    )]
    Update {
        /// Sending account id (`dprov_...`).
        id: String,
        /// A new name.
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        password: PasswordArgs,
        /// The SMTP user name, required with a new password.
        #[arg(long, requires = "password_source")]
        username: Option<String>,
        #[command(flatten)]
        defaults: DefaultsArgs,
        /// Only update if the account still has this ETag (from `get`).
        #[arg(long)]
        if_match: Option<String>,
    },
    /// Test the connection and login now.
    #[command(after_help = "Examples:\n  sendmux sending-accounts test dprov_...")]
    Test {
        /// Sending account id (`dprov_...`).
        id: String,
    },
    /// Switch an account on.
    #[command(after_help = "Examples:\n  sendmux sending-accounts activate dprov_...")]
    Activate {
        /// Sending account id (`dprov_...`).
        id: String,
    },
    /// Switch an account off.
    #[command(after_help = "Examples:\n  sendmux sending-accounts deactivate dprov_...")]
    Deactivate {
        /// Sending account id (`dprov_...`).
        id: String,
    },
    /// How many accounts the team has and may have, and the shared Amazon SES
    /// daily limit.
    #[command(
        after_help = "Examples:\n  sendmux sending-accounts limits\n  sendmux sending-accounts limits -o json"
    )]
    Limits,
    /// Delete a sending account.
    #[command(
        after_help = "Examples:\n  sendmux sending-accounts delete dprov_...\n  sendmux sending-accounts delete dprov_... --yes"
    )]
    Delete {
        /// Sending account id (`dprov_...`).
        id: String,
        /// Do not ask for confirmation (required when stdin is not a terminal).
        #[arg(long, short = 'y')]
        yes: bool,
    },
}

/// The SMTP server of `create`.
#[derive(Debug, Args)]
pub(crate) struct ServerArgs {
    /// SMTP host name.
    #[arg(long)]
    host: String,
    /// SMTP port.
    #[arg(long)]
    port: u16,
    /// Connection security.
    #[arg(long, value_enum)]
    protocol: ProtocolArg,
    /// SMTP user name.
    #[arg(long)]
    username: String,
}

/// Where the SMTP password comes from: never the command line itself.
#[derive(Debug, Args)]
#[group(id = "password_source", multiple = false)]
pub(crate) struct PasswordArgs {
    /// Read the SMTP password from the first line of this file.
    #[arg(long, value_name = "PATH")]
    smtp_password_file: Option<PathBuf>,
    /// `-`: read the SMTP password from the first line of stdin. Nothing else
    /// is accepted: a password given here would show in `ps`.
    #[arg(long, value_name = "-", value_parser = password_flag)]
    smtp_password: Option<PasswordFlag>,
}

/// `--smtp-password`'s value, kept only as which kind it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PasswordFlag {
    Stdin,
    /// Anything but `-`; the value itself is dropped unread.
    Refused,
}

// Never fails: a clap error would quote the value.
fn password_flag(text: &str) -> Result<PasswordFlag, std::convert::Infallible> {
    Ok(if text == "-" {
        PasswordFlag::Stdin
    } else {
        PasswordFlag::Refused
    })
}

impl PasswordArgs {
    /// The password, when one of the flags was given. Errors never quote it.
    fn read(&self) -> Result<Option<Secret>, Failure> {
        let (line, source) = match (&self.smtp_password_file, self.smtp_password) {
            (Some(path), _) => (read_first_line(Some(path)), path.display().to_string()),
            (None, Some(PasswordFlag::Stdin)) => (read_first_line(None), "stdin".to_owned()),
            (None, Some(PasswordFlag::Refused)) => {
                return Err(Failure::Usage(
                    "--smtp-password takes only `-` (read it from stdin); use --smtp-password-file PATH, or pipe it in with --smtp-password -".into(),
                ));
            }
            (None, None) => return Ok(None),
        };
        let line = line.map_err(|e| {
            Failure::Usage(format!("cannot read the SMTP password from {source}: {e}"))
        })?;
        if line.is_empty() {
            return Err(Failure::Usage(format!(
                "the SMTP password from {source} is empty"
            )));
        }
        // Moved, not copied: the only copy is the one the `Secret` wipes.
        Ok(Some(Secret::from(line)))
    }
}

/// The first line of `path` (stdin when `None`) without its line ending,
/// reading at most 64 KiB.
fn read_first_line(path: Option<&Path>) -> std::io::Result<String> {
    let mut bytes = Vec::new();
    match path {
        Some(path) => std::io::BufReader::new(std::fs::File::open(path)?)
            .take(64 * 1024)
            .read_until(b'\n', &mut bytes)?,
        None => std::io::stdin()
            .lock()
            .take(64 * 1024)
            .read_until(b'\n', &mut bytes)?,
    };
    while bytes.last().is_some_and(|b| matches!(b, b'\n' | b'\r')) {
        bytes.pop();
    }
    // The I/O error for bad UTF-8 carries no content, unlike `FromUtf8Error`'s bytes.
    String::from_utf8(bytes)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "not valid UTF-8 text"))
}

/// Sender defaults and routing, for `create` and `update`.
#[derive(Debug, Args)]
pub(crate) struct DefaultsArgs {
    /// Default From address of messages that set none.
    #[arg(long)]
    from_email: Option<String>,
    /// Default From display name.
    #[arg(long)]
    from_name: Option<String>,
    /// Default Reply-To address.
    #[arg(long)]
    reply_to_email: Option<String>,
    /// Default Reply-To display name.
    #[arg(long)]
    reply_to_name: Option<String>,
    /// Host name used for tracking links.
    #[arg(long)]
    tracking_domain: Option<String>,
    /// Share of traffic routed to this account, 0 to 100.
    #[arg(long)]
    percentage: Option<u8>,
}

impl DefaultsArgs {
    fn is_empty(&self) -> bool {
        self.from_email.is_none()
            && self.from_name.is_none()
            && self.reply_to_email.is_none()
            && self.reply_to_name.is_none()
            && self.tracking_domain.is_none()
            && self.percentage.is_none()
    }

    fn apply<T, B>(self, mut request: Request<T, Json<B>>) -> Request<T, Json<B>>
    where
        B: AsMut<sendmux_client::sending_accounts::SmtpFields>,
    {
        if let Some(email) = self.from_email {
            request = request.from_email(email);
        }
        if let Some(name) = self.from_name {
            request = request.from_name(name);
        }
        if let Some(email) = self.reply_to_email {
            request = request.reply_to_email(email);
        }
        if let Some(name) = self.reply_to_name {
            request = request.reply_to_name(name);
        }
        if let Some(host) = self.tracking_domain {
            request = request.tracking_domain(host);
        }
        if let Some(percent) = self.percentage {
            request = request.percentage(percent);
        }
        request
    }
}

/// `--protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ProtocolArg {
    /// STARTTLS upgrade (usually port 587).
    Starttls,
    /// Implicit TLS (usually port 465).
    Ssl,
    /// TLS.
    Tls,
    /// No encryption.
    None,
}

/// `--status` of `list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum StatusArg {
    Active,
    Inactive,
    Error,
    Pending,
}

/// `--type` of `list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum KindArg {
    Smtp,
    GmailApi,
    OutlookApi,
    AmazonSes,
}

const LIST: &[Column] = &[
    col("ID", "/id"),
    col("NAME", "/name"),
    col("TYPE", "/type"),
    col("STATUS", "/status"),
    col("ACTIVE", "/is_active"),
    col("HOST", "/smtp_host"),
    col("PERCENT", "/percentage"),
    col("CREATED", "/created_at"),
];

const DETAIL: &[Column] = &[
    col("ID", "/id"),
    col("Name", "/name"),
    col("Type", "/type"),
    col("Status", "/status"),
    col("Status reason", "/status_reason"),
    col("Active", "/is_active"),
    col("Shared", "/is_shared"),
    col("SMTP host", "/smtp_host"),
    col("SMTP port", "/smtp_port"),
    col("Protocol", "/smtp_protocol"),
    col("Username", "/smtp_username"),
    col("Password set", "/has_smtp_password"),
    col("From email", "/from_email"),
    col("From name", "/from_name"),
    col("Reply-To email", "/reply_to_email"),
    col("Reply-To name", "/reply_to_name"),
    col("Tracking domain", "/tracking_domain"),
    col("Percentage", "/percentage"),
    col("Last tested", "/last_tested_at"),
    col("Last used", "/last_used_at"),
    col("Created", "/created_at"),
    col("Updated", "/updated_at"),
];

const TEST: &[Column] = &[
    col("Success", "/success"),
    col("Message", "/message"),
    col("Latency ms", "/latency_ms"),
    col("Tested", "/tested_at"),
];

const LIMITS: &[Column] = &[
    col("Accounts", "/sending_accounts/usage"),
    col("Accounts allowed", "/sending_accounts/max_allowed"),
    col("At limit", "/sending_accounts/is_at_limit"),
    col("Can request more", "/sending_accounts/can_request_increase"),
    col("Pending request", "/sending_accounts/pending_request_id"),
    col("Shared SES daily limit", "/shared_amazon_ses/daily_limit"),
    col("Shared SES sent today", "/shared_amazon_ses/sent_today"),
    col(
        "Shared SES pending request",
        "/shared_amazon_ses/pending_request_id",
    ),
];

/// Runs `sendmux sending-accounts ...`.
pub(crate) async fn run(
    client: &Client,
    command: SendingAccountsCommand,
    format: OutputFormat,
) -> Result<(), Failure> {
    let accounts = client.sending_accounts();
    match command {
        SendingAccountsCommand::List { status, kind, page } => {
            let mut request = accounts.list();
            if let Some(status) = status {
                request = request.status(match status {
                    StatusArg::Active => ProviderStatus::Active,
                    StatusArg::Inactive => ProviderStatus::Inactive,
                    StatusArg::Error => ProviderStatus::Error,
                    StatusArg::Pending => ProviderStatus::Pending,
                });
            }
            if let Some(kind) = kind {
                request = request.kind(match kind {
                    KindArg::Smtp => ProviderType::Smtp,
                    KindArg::GmailApi => ProviderType::GmailApi,
                    KindArg::OutlookApi => ProviderType::OutlookApi,
                    KindArg::AmazonSes => ProviderType::AmazonSes,
                });
            }
            let empty = "No sending accounts. Add an SMTP one with `sendmux sending-accounts create NAME --host ...`.";
            super::list(format, request, page, LIST, empty).await
        }
        SendingAccountsCommand::Get { id } => {
            let response = accounts.get(id).send().await?;
            let etag = [("ETag", response.etag())];
            detail_with(format, response.value(), DETAIL, None, &etag)
        }
        SendingAccountsCommand::Create {
            name,
            server,
            password,
            defaults,
            idempotency_key,
        } => {
            let Some(password) = password.read()? else {
                return Err(Failure::Usage(
                    "an SMTP password is needed: pass --smtp-password-file PATH, or --smtp-password - to read it from stdin".into(),
                ));
            };
            let protocol = match server.protocol {
                ProtocolArg::Starttls => SmtpProtocol::Starttls,
                ProtocolArg::Ssl => SmtpProtocol::Ssl,
                ProtocolArg::Tls => SmtpProtocol::Tls,
                ProtocolArg::None => SmtpProtocol::None,
            };
            let request = accounts.create(
                name,
                server.host,
                server.port,
                protocol,
                server.username,
                password,
            );
            let mut request = defaults.apply(request);
            if let Some(key) = idempotency_key {
                request = request.idempotency_key(key);
            }
            let created = request.send().await?;
            let heading = format!(
                "Sending account added. Check the login with `{}`.",
                crate::output::suggest(&format!(
                    "sendmux sending-accounts test {}",
                    clean(&created.id)
                ))
            );
            detail(format, created.value(), DETAIL, Some(&heading))
        }
        SendingAccountsCommand::Update {
            id,
            name,
            password,
            username,
            defaults,
            if_match,
        } => {
            let password = password.read()?;
            if name.is_none() && password.is_none() && defaults.is_empty() {
                return Err(Failure::Usage(
                    "nothing to update: pass --name, a new password (--smtp-password-file or --smtp-password -), or a sender default".into(),
                ));
            }
            let mut request = defaults.apply(accounts.update(&id));
            if let Some(name) = name {
                request = request.name(name);
            }
            match (username, password) {
                (Some(username), Some(password)) => request = request.login(username, password),
                (None, Some(_)) => {
                    return Err(Failure::Usage(
                        "a new SMTP password goes with the user name: add --username".into(),
                    ));
                }
                _ => {}
            }
            if let Some(etag) = if_match {
                request = request.if_match(etag);
            }
            let updated = request.send().await?;
            detail(
                format,
                updated.value(),
                DETAIL,
                Some("Sending account updated."),
            )
        }
        SendingAccountsCommand::Test { id } => {
            let result = accounts.test(id).send().await?;
            detail(format, result.value(), TEST, None)
        }
        SendingAccountsCommand::Activate { id } => {
            let account = accounts.activate(id).send().await?;
            detail(
                format,
                account.value(),
                DETAIL,
                Some("Sending account activated."),
            )
        }
        SendingAccountsCommand::Deactivate { id } => {
            let account = accounts.deactivate(id).send().await?;
            detail(
                format,
                account.value(),
                DETAIL,
                Some("Sending account deactivated."),
            )
        }
        SendingAccountsCommand::Limits => {
            let limits = accounts.limits().send().await?;
            detail(format, limits.value(), LIMITS, None)
        }
        SendingAccountsCommand::Delete { id, yes } => {
            if !yes {
                super::confirm_delete("sending account", &id)?;
            }
            let deleted = accounts.delete(id).send().await?;
            let message = format!("Deleted sending account {}.", clean(&deleted.id));
            done(format, deleted.value(), &message)
        }
    }
}
