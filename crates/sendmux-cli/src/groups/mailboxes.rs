//! `sendmux mailboxes`: hosted mailboxes, their keys and sender filters.

use clap::{Args, Subcommand};
use sendmux_client::mailboxes::QUOTA_TIERS;
use sendmux_client::types::UpdateMailboxBody;
use sendmux_client::{Client, MailboxCredential, Request, SendScope};
use serde_json::{Value, json};

use super::{FilterRulesArgs, ListArgs};
use crate::args::OutputFormat;
use crate::failure::Failure;
use crate::output::suggest;
use crate::records::{Column, col, detail, detail_with, done};
use crate::terminal::clean;

#[derive(Debug, Subcommand)]
pub(crate) enum MailboxesCommand {
    /// List mailboxes, newest first.
    #[command(
        after_help = "Examples:\n  sendmux mailboxes list\n  sendmux mailboxes list --include-deleted --all -o jsonl"
    )]
    List {
        #[command(flatten)]
        page: ListArgs,
        /// Include deleted mailboxes.
        #[arg(long)]
        include_deleted: bool,
    },
    /// Show one mailbox.
    #[command(after_help = "Examples:\n  sendmux mailboxes get mbx_...")]
    Get {
        /// Mailbox id.
        id: String,
    },
    /// Create a mailbox and print its first key (shown only this once).
    #[command(
        after_help = "Examples:\n  sendmux mailboxes create agent@mail.acme.com\n  sendmux mailboxes create agent@mail.acme.com --quota-bytes 5GiB --send-scope all"
    )]
    Create {
        /// The address, on a verified send-receive domain of the team.
        email: String,
        #[command(flatten)]
        settings: SettingsArgs,
        /// Idempotency key, to make a retried `create` safe; one is
        /// generated when omitted.
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// Change a mailbox's display name, quota or send scope.
    #[command(
        after_help = "Examples:\n  sendmux mailboxes update mbx_... --display-name \"Support agent\"\n  sendmux mailboxes update mbx_... --quota-bytes 50GiB"
    )]
    Update {
        /// Mailbox id.
        id: String,
        #[command(flatten)]
        settings: SettingsArgs,
        /// Remove the display name.
        #[arg(long, conflicts_with = "display_name")]
        clear_display_name: bool,
        /// Only update if the mailbox still has this ETag (from `get`).
        #[arg(long)]
        if_match: Option<String>,
    },
    /// Delete a mailbox; its keys stop working.
    #[command(
        after_help = "Examples:\n  sendmux mailboxes delete mbx_...\n  sendmux mailboxes delete mbx_... --yes"
    )]
    Delete {
        /// Mailbox id.
        id: String,
        /// Do not ask for confirmation (required when stdin is not a terminal).
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Suspend a mailbox: its keys stop working until `resume`.
    #[command(after_help = "Examples:\n  sendmux mailboxes suspend mbx_...")]
    Suspend {
        /// Mailbox id.
        id: String,
    },
    /// Resume a suspended mailbox.
    #[command(after_help = "Examples:\n  sendmux mailboxes resume mbx_...")]
    Resume {
        /// Mailbox id.
        id: String,
    },
    /// Check whether an address is free for a new mailbox.
    #[command(
        after_help = "Examples:\n  sendmux mailboxes available agent@mail.acme.com\n  sendmux mailboxes available agent@mail.acme.com --jq .available"
    )]
    Available {
        /// The address to check.
        email: String,
    },
    /// Mailbox keys (API bearer token and IMAP/SMTP password).
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  sendmux mailboxes keys create mbx_... --app-name \"ci runner\"\n  sendmux mailboxes keys revoke mbx_... KEY_ID"
    )]
    Keys(KeysCommand),
    /// The mailbox's sender filter.
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  sendmux mailboxes filters get mbx_...\n  sendmux mailboxes filters set mbx_... --mode allowlist --allow partner.com"
    )]
    Filters(FiltersCommand),
}

/// What `create` and `update` can set.
#[derive(Debug, Args)]
pub(crate) struct SettingsArgs {
    /// The From display name.
    #[arg(long)]
    display_name: Option<String>,
    /// Storage limit: 1GiB, 5GiB or 50GiB (or the same in bytes).
    #[arg(long, value_name = "SIZE", value_parser = parse_quota)]
    quota_bytes: Option<u64>,
    /// Which sending accounts outgoing mail may use: `all`,
    /// `providers:ID[,ID..]` or `groups:ID[,ID..]`.
    #[arg(long, value_name = "SCOPE", value_parser = parse_scope)]
    send_scope: Option<SendScope>,
}

impl SettingsArgs {
    fn is_empty(&self) -> bool {
        self.display_name.is_none() && self.quota_bytes.is_none() && self.send_scope.is_none()
    }

    fn apply<T, B: AsMut<UpdateMailboxBody>>(
        self,
        mut request: Request<T, sendmux_client::Json<B>>,
    ) -> Request<T, sendmux_client::Json<B>> {
        if let Some(name) = self.display_name {
            request = request.display_name(name);
        }
        if let Some(bytes) = self.quota_bytes {
            request = request.quota_bytes(bytes);
        }
        if let Some(scope) = self.send_scope {
            request = request.send_scope(scope);
        }
        request
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
    /// Issue another key (shown only this once).
    #[command(
        after_help = "Examples:\n  sendmux mailboxes keys create mbx_... --app-name \"ci runner\""
    )]
    Create {
        /// Mailbox id.
        id: String,
        /// What will use the key, e.g. `ci runner`.
        #[arg(long)]
        app_name: String,
        /// Idempotency key, to make a retried `create` safe.
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// Revoke a key and its IMAP/SMTP password.
    #[command(after_help = "Examples:\n  sendmux mailboxes keys revoke mbx_... KEY_ID")]
    Revoke {
        /// Mailbox id.
        id: String,
        /// Key id (from `keys create` or `create`).
        key_id: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum FiltersCommand {
    /// Show the filter mode and rules.
    #[command(after_help = "Examples:\n  sendmux mailboxes filters get mbx_...")]
    Get {
        /// Mailbox id.
        id: String,
    },
    /// Replace the filter mode and all rules.
    #[command(
        after_help = "Examples:\n  sendmux mailboxes filters set mbx_... --mode allowlist --allow partner.com --allow ceo@acme.com\n  sendmux mailboxes filters set mbx_... --mode off"
    )]
    Set {
        /// Mailbox id.
        id: String,
        #[command(flatten)]
        rules: FilterRulesArgs,
        /// Only replace if the filters still have this ETag.
        #[arg(long)]
        if_match: Option<String>,
    },
}

const LIST: &[Column] = &[
    col("ID", "/id"),
    col("EMAIL", "/email"),
    col("STATUS", "/status"),
    col("DISPLAY NAME", "/display_name"),
    col("QUOTA BYTES", "/quota_bytes"),
    col("CREATED", "/created_at"),
];

const DETAIL: &[Column] = &[
    col("Email", "/email"),
    col("ID", "/id"),
    col("Status", "/status"),
    col("Display name", "/display_name"),
    col("Quota bytes", "/quota_bytes"),
    col("Send scope", "/send_scope/type"),
    col("Providers", "/send_scope/provider_public_ids"),
    col("Groups", "/send_scope/group_public_ids"),
    col("Created", "/created_at"),
];

const CREDENTIAL: &[Column] = &[
    col("Key", "/secret"),
    col("Key ID", "/public_id"),
    col("Username", "/username"),
    col("Server", "/server"),
    col("IMAP port", "/imap_port"),
    col("SMTP port", "/smtp_port"),
];

/// What `create` prints: the mailbox, then its first key.
const CREATED: &[Column] = &[
    col("Email", "/mailbox/email"),
    col("ID", "/mailbox/id"),
    col("Status", "/mailbox/status"),
    col("Display name", "/mailbox/display_name"),
    col("Quota bytes", "/mailbox/quota_bytes"),
    col("Send scope", "/mailbox/send_scope/type"),
    col("Created", "/mailbox/created_at"),
    col("Key", "/credential/secret"),
    col("Key ID", "/credential/public_id"),
    col("Username", "/credential/username"),
    col("Server", "/credential/server"),
    col("IMAP port", "/credential/imap_port"),
    col("SMTP port", "/credential/smtp_port"),
];

/// Runs `sendmux mailboxes ...`.
pub(crate) async fn run(
    client: &Client,
    command: MailboxesCommand,
    format: OutputFormat,
) -> Result<(), Failure> {
    let mailboxes = client.mailboxes();
    match command {
        MailboxesCommand::List {
            page,
            include_deleted,
        } => {
            let mut request = mailboxes.list();
            if include_deleted {
                request = request.include_deleted();
            }
            let empty = "No mailboxes yet. Create one with `sendmux mailboxes create <email>`.";
            super::list(format, request, page, LIST, empty).await
        }
        MailboxesCommand::Get { id } => {
            let response = mailboxes.get(id).send().await?;
            let etag = [("ETag", response.etag())];
            detail_with(format, response.value(), DETAIL, None, &etag)
        }
        MailboxesCommand::Create {
            email,
            settings,
            idempotency_key,
        } => {
            let mut request = settings.apply(mailboxes.create(email));
            if let Some(key) = idempotency_key {
                request = request.idempotency_key(key);
            }
            let created = request.send().await?.into_inner();
            let id = created.mailbox.id.clone();
            let credential = created.credential.as_ref().map(credential_json);
            let shown = json!({
                "mailbox": super::to_json(&created.mailbox)?,
                "credential": credential,
                "warning": created.warning,
            });
            match &created.credential {
                Some(_) => super::warn_shown_once("mailbox key", &reissue(&id)),
                None => eprintln!(
                    "warning: the mailbox has no key yet ({}); {}",
                    clean(created.warning.as_deref().unwrap_or("no reason given")),
                    reissue(&id)
                ),
            }
            if !format.is_table() {
                return crate::output::value(format, &shown);
            }
            detail(format, &shown, CREATED, Some("Mailbox created."))
        }
        MailboxesCommand::Update {
            id,
            settings,
            clear_display_name,
            if_match,
        } => {
            if settings.is_empty() && !clear_display_name {
                return Err(Failure::Usage(
                    "nothing to update: pass --display-name, --clear-display-name, --quota-bytes or --send-scope".into(),
                ));
            }
            let mut request = settings.apply(mailboxes.update(id));
            if clear_display_name {
                request = request.clear_display_name();
            }
            if let Some(etag) = if_match {
                request = request.if_match(etag);
            }
            let response = request.send().await?;
            detail(format, response.value(), DETAIL, Some("Mailbox updated."))
        }
        MailboxesCommand::Delete { id, yes } => {
            if !yes {
                super::confirm_delete("mailbox", &id)?;
            }
            let deleted = mailboxes.delete(id).send().await?;
            let message = format!("Deleted mailbox {}.", clean(&deleted.id));
            done(format, deleted.value(), &message)
        }
        MailboxesCommand::Suspend { id } => {
            let mailbox = mailboxes.suspend(&id).send().await?;
            let heading = format!(
                "Mailbox suspended; its keys stop working until `{}`.",
                suggest(&format!("sendmux mailboxes resume {}", clean(&id)))
            );
            detail(format, mailbox.value(), DETAIL, Some(&heading))
        }
        MailboxesCommand::Resume { id } => {
            let mailbox = mailboxes.resume(id).send().await?;
            detail(format, mailbox.value(), DETAIL, Some("Mailbox resumed."))
        }
        MailboxesCommand::Available { email } => {
            let result = mailboxes.check_availability(email).send().await?;
            let fields = [
                col("Email", "/email"),
                col("Available", "/available"),
                col("Reason", "/reason"),
            ];
            detail(format, result.value(), &fields, None)
        }
        MailboxesCommand::Keys(KeysCommand::Create {
            id,
            app_name,
            idempotency_key,
        }) => {
            let mut request = mailboxes.create_key(&id, app_name);
            if let Some(key) = idempotency_key {
                request = request.idempotency_key(key);
            }
            let credential = request.send().await?.into_inner();
            super::warn_shown_once("mailbox key", &reissue(&id));
            let shown = credential_json(&credential);
            detail(format, &shown, CREDENTIAL, Some("Key issued."))
        }
        MailboxesCommand::Keys(KeysCommand::Revoke { id, key_id }) => {
            let revoked = mailboxes.revoke_key(&id, key_id).send().await?;
            let message = format!(
                "Revoked key {} of mailbox {}.",
                clean(&revoked.id),
                clean(&id)
            );
            done(format, revoked.value(), &message)
        }
        MailboxesCommand::Filters(FiltersCommand::Get { id }) => {
            let response = mailboxes.filters(id).send().await?;
            crate::output::filters(format, response.value(), response.etag())
        }
        MailboxesCommand::Filters(FiltersCommand::Set {
            id,
            rules,
            if_match,
        }) => {
            let mut request = mailboxes.set_filters(id, rules.into_state()?);
            if let Some(etag) = if_match {
                request = request.if_match(etag);
            }
            let response = request.send().await?;
            crate::output::filters(format, response.value(), response.etag())
        }
    }
}

/// A credential as the API sent it, key included: printed once, by the
/// command that received it.
fn credential_json(credential: &MailboxCredential) -> Value {
    json!({
        "public_id": credential.public_id,
        "secret": super::reveal(&credential.secret),
        "key_prefix": credential.key_prefix,
        "key_suffix": credential.key_suffix,
        "server": credential.server,
        "imap_port": credential.imap_port,
        "smtp_port": credential.smtp_port,
        "username": credential.username,
    })
}

/// How to get a new key when this one is lost.
fn reissue(id: &str) -> String {
    format!(
        "if it is lost, issue a new one with `{}`",
        suggest(&format!(
            "sendmux mailboxes keys create {} --app-name NAME",
            clean(id)
        ))
    )
}

/// `1GiB`, `5GiB`, `50GiB` or a number of bytes, one of the tiers.
fn parse_quota(text: &str) -> Result<u64, String> {
    let tiers = "1GiB, 5GiB or 50GiB";
    let trimmed = text.trim();
    let bytes = match trimmed.strip_suffix("GiB") {
        Some(gib) => gib
            .trim()
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(1 << 30)),
        None => trimmed.parse::<u64>().ok(),
    };
    match bytes {
        Some(bytes) if QUOTA_TIERS.contains(&bytes) => Ok(bytes),
        _ => Err(format!("must be {tiers} (in bytes: {QUOTA_TIERS:?})")),
    }
}

/// `all`, `providers:ID[,ID..]` or `groups:ID[,ID..]`.
fn parse_scope(text: &str) -> Result<SendScope, String> {
    let usage = "expected `all`, `providers:ID[,ID..]` or `groups:ID[,ID..]`";
    if text == "all" {
        return Ok(SendScope::All);
    }
    let (kind, ids) = text.split_once(':').ok_or(usage)?;
    let ids: Vec<String> = ids
        .split(',')
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .collect();
    if ids.is_empty() {
        return Err(format!("no ids after `{kind}:`; {usage}"));
    }
    match kind {
        "providers" => Ok(SendScope::Providers(ids)),
        "groups" => Ok(SendScope::Groups(ids)),
        _ => Err(usage.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotas_are_tiers_in_bytes_or_gib() {
        assert_eq!(parse_quota("5GiB"), Ok(5 << 30));
        assert_eq!(parse_quota("1073741824"), Ok(1 << 30));
        assert!(parse_quota("2GiB").is_err());
        assert!(parse_quota("lots").is_err());
    }

    #[test]
    fn scopes_parse_with_their_ids() {
        assert_eq!(parse_scope("all"), Ok(SendScope::All));
        assert_eq!(
            parse_scope("providers:dprov_1, dprov_2"),
            Ok(SendScope::Providers(vec![
                "dprov_1".into(),
                "dprov_2".into()
            ]))
        );
        assert_eq!(
            parse_scope("groups:g1"),
            Ok(SendScope::Groups(vec!["g1".into()]))
        );
        assert!(parse_scope("providers:").is_err());
        assert!(parse_scope("everyone").is_err());
    }
}
