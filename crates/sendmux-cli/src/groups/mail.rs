//! `sendmux mail`: one mailbox through the Mailbox API, with a mailbox key
//! (`smx_mbx_...`) or an agent token (`smx_agent_...`): who it is, its
//! messages, threads and folders, sending from it, attachments, and its
//! live events.
//!
//! The published message update changes flags and keywords only, so
//! `mv` cannot file a message into another folder: it resolves the folder
//! it is given as `ls --folder` does, moves the message to Trash (the
//! delete call) when that is Trash, and otherwise refuses, before
//! anything is changed.

mod download;
mod watch;

use std::path::PathBuf;

use clap::{ArgGroup, Args, Subcommand};
use futures::TryStreamExt;
use sendmux_client::mailbox::{Mailbox, MessageAttachment, MessageQuery, RawBodyPart};
use sendmux_client::types::{MailboxAddress, MailboxFolder, MailboxMessageContent};
use sendmux_client::{Client, Error, IdempotencyKey, Request, Surface};

use super::ListArgs;
use crate::args::OutputFormat;
use crate::failure::Failure;
use crate::output::{self, suggest};
use crate::records::{Column, col, detail, done};
use crate::terminal::{clean, printable};

/// Examples and notes printed by `sendmux mail --help`.
pub(crate) const HELP: &str = "\
Examples:
  sendmux mail ls --unread
  sendmux mail read msg_...
  sendmux mail send --to ada@example.com --subject Hi --text 'Hello Ada'
  sendmux mail watch -o json

The key must be a mailbox key (smx_mbx_...) or an agent token (smx_agent_...): the
Mailbox API refuses root keys. Issue one with `sendmux mailboxes keys create MAILBOX_ID
--app-name NAME` and give it as any other key (SENDMUX_API_KEY, --api-key-file, a profile).";

#[derive(Debug, Subcommand)]
pub(crate) enum MailCommand {
    /// Show the mailbox the key belongs to, with its storage use.
    #[command(after_help = "Examples:\n  sendmux mail me\n  sendmux mail me --jq .email -r")]
    Me,
    /// List messages (or threads with --threads), newest first.
    #[command(
        visible_alias = "list",
        after_help = "Examples:\n  sendmux mail ls --unread --from ada@example.com\n  sendmux mail ls --folder sent --all -o jsonl\n  sendmux mail ls --threads --search invoice\n\n--folder takes a folder id, a built-in role (inbox, sent, drafts, junk, trash, archive)\nor a folder's name (case aside; a name several folders share is refused: give the id);\n`sendmux mail folders ls` lists them."
    )]
    Ls(LsArgs),
    /// Print a message: From, To, Date and Subject, then its text.
    #[command(
        after_help = "Examples:\n  sendmux mail read msg_...\n  sendmux mail read msg_... --html > message.html\n  sendmux mail read msg_... -o json --jq .body.text -r"
    )]
    Read {
        /// Message id (`msg_...`).
        id: String,
        /// Print the message's HTML as stored instead of its cleaned text.
        #[arg(long)]
        html: bool,
    },
    /// Send a message from the mailbox.
    #[command(
        after_help = "Examples:\n  sendmux mail send --to ada@example.com --subject Hi --text 'Hello Ada'\n  sendmux mail send --to ada@example.com --cc grace@example.com --subject Report \\\n    --html '<p>Attached.</p>' --attach report.pdf\n\nFiles given with --attach are uploaded first, then sent by reference. Repeating a\ncommand with the same --idempotency-key never sends the message twice."
    )]
    Send(SendArgs),
    /// Move a message to Trash (the only move the API offers).
    #[command(
        after_help = "Examples:\n  sendmux mail mv msg_... --to trash\n\n--to takes a folder id, a built-in role (inbox, sent, drafts, junk, trash, archive)\nor a folder's name (case aside), found with one folder list call; a name that several\nfolders share is refused: give the id. The Mailbox API's message update changes flags\nand keywords, not folders, so `mv` moves a message to Trash (as `rm` does) and refuses\nany other folder. Either refusal exits 2 with nothing changed."
    )]
    Mv {
        /// Message id (`msg_...`).
        id: String,
        /// Where to: a folder id, a role or a name; only Trash is reachable.
        #[arg(long, value_name = "FOLDER")]
        to: String,
    },
    /// Mark a message read or unread, flag it, set or clear keywords.
    #[command(
        after_help = "Examples:\n  sendmux mail flag msg_... --seen\n  sendmux mail flag msg_... --flagged --keyword needs_reply\n  sendmux mail flag msg_... --unkeyword needs_reply --if-match 'W/\"...\"'"
    )]
    Flag(FlagArgs),
    /// Move a message to Trash, or delete it for good with --permanent.
    #[command(
        visible_alias = "delete",
        after_help = "Examples:\n  sendmux mail rm msg_...\n  sendmux mail rm msg_... --permanent --yes"
    )]
    Rm {
        /// Message id (`msg_...`).
        id: String,
        /// Delete for good instead of moving to Trash.
        #[arg(long)]
        permanent: bool,
        /// Do not ask before a --permanent delete (required when stdin is not a terminal).
        #[arg(long, short = 'y')]
        yes: bool,
        /// Only delete if the message still has this ETag.
        #[arg(long)]
        if_match: Option<String>,
    },
    /// The mailbox's folders.
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  sendmux mail folders ls\n  sendmux mail folders create Receipts"
    )]
    Folders(FoldersCommand),
    /// Download the attachments of a message.
    #[command(subcommand)]
    #[command(
        after_help = "Examples:\n  sendmux mail attachments get msg_... att_... -f invoice.pdf"
    )]
    Attachments(AttachmentsCommand),
    /// Follow the mailbox's live events, one line each, reconnecting on its own.
    #[command(after_help = watch::HELP)]
    Watch(watch::WatchArgs),
}

/// The filters and paging of `mail ls`.
#[derive(Debug, Args)]
pub(crate) struct LsArgs {
    /// List conversation threads instead of messages (they take --folder,
    /// --search, --participant, --unread, --has-attachment, --after, --before).
    #[arg(long)]
    threads: bool,
    /// Only this folder: an id, a role such as `inbox` or `sent`, or a name.
    #[arg(long, value_name = "FOLDER")]
    folder: Option<String>,
    #[command(flatten)]
    filters: FilterArgs,
    #[command(flatten)]
    page: ListArgs,
}

/// The message filters of `mail ls`.
#[derive(Debug, Args)]
pub(crate) struct FilterArgs {
    /// Only unread messages.
    #[arg(long, conflicts_with = "read")]
    unread: bool,
    /// Only read messages.
    #[arg(long)]
    read: bool,
    /// Only flagged messages.
    #[arg(long)]
    flagged: bool,
    /// The sender's address or name contains this.
    #[arg(long, value_name = "TEXT")]
    from: Option<String>,
    /// A recipient's address or name contains this.
    #[arg(long, value_name = "TEXT")]
    to: Option<String>,
    /// The subject contains this.
    #[arg(long, value_name = "TEXT")]
    subject: Option<String>,
    /// Full-text search.
    #[arg(long, value_name = "TEXT")]
    search: Option<String>,
    /// Threads with this participant (address or name contains this).
    #[arg(long, value_name = "TEXT", requires = "threads")]
    participant: Option<String>,
    /// Only messages carrying this keyword.
    #[arg(long, value_name = "KEYWORD")]
    keyword: Option<String>,
    /// Only messages with attachments.
    #[arg(long)]
    has_attachment: bool,
    /// Received after this time (RFC 3339, e.g. 2026-11-01T00:00:00Z).
    #[arg(long, value_name = "TIME")]
    after: Option<String>,
    /// Received before this time (RFC 3339).
    #[arg(long, value_name = "TIME")]
    before: Option<String>,
}

/// `mail send`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("body").required(true).multiple(true).args(["text", "html"])))]
pub(crate) struct SendArgs {
    /// A recipient, `ada@example.com` or `Ada <ada@example.com>` (repeatable).
    #[arg(long, value_name = "ADDRESS", required = true)]
    to: Vec<String>,
    /// A copy recipient (repeatable).
    #[arg(long, value_name = "ADDRESS")]
    cc: Vec<String>,
    /// A hidden copy recipient (repeatable).
    #[arg(long, value_name = "ADDRESS")]
    bcc: Vec<String>,
    /// The subject, one line.
    #[arg(long)]
    subject: String,
    /// The plain-text body.
    #[arg(long)]
    text: Option<String>,
    /// The HTML body.
    #[arg(long)]
    html: Option<String>,
    /// A file to attach, uploaded before the message is sent (repeatable).
    #[arg(long = "attach", value_name = "PATH")]
    attach: Vec<PathBuf>,
    /// Idempotency key of the send: the same command with the same key
    /// never sends twice. One is generated when omitted, and printed when
    /// the outcome is unknown.
    #[arg(long)]
    idempotency_key: Option<String>,
}

/// The obvious mistakes (a subject on two lines, an address without `@`)
/// caught before files are uploaded for nothing; the client checks the
/// whole message before it is sent.
fn precheck(args: &SendArgs) -> Result<(), Failure> {
    if args.subject.contains(['\r', '\n']) {
        return Err(Failure::Usage(
            "--subject: keep the subject on one line. Nothing was sent.".into(),
        ));
    }
    let all = args.to.iter().chain(&args.cc).chain(&args.bcc);
    for given in all {
        let parsed = super::send::address(given);
        let shaped = parsed
            .email()
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty());
        if !shaped {
            return Err(Failure::Usage(format!(
                "{} is not an email address (expected ada@example.com or `Ada <ada@example.com>`). \
                 Nothing was sent.",
                clean(given)
            )));
        }
    }
    Ok(())
}

/// `mail flag`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("change").required(true).multiple(true)
    .args(["seen", "unseen", "flagged", "unflagged", "keyword", "unkeyword"])))]
pub(crate) struct FlagArgs {
    /// Message id (`msg_...`).
    id: String,
    /// Mark read.
    #[arg(long, conflicts_with = "unseen")]
    seen: bool,
    /// Mark unread.
    #[arg(long)]
    unseen: bool,
    /// Flag for attention.
    #[arg(long, conflicts_with = "unflagged")]
    flagged: bool,
    /// Remove the flag.
    #[arg(long)]
    unflagged: bool,
    /// Set this keyword (repeatable).
    #[arg(long = "keyword", value_name = "KEYWORD")]
    keyword: Vec<String>,
    /// Clear this keyword (repeatable).
    #[arg(long = "unkeyword", value_name = "KEYWORD")]
    unkeyword: Vec<String>,
    /// Only change the message if it still has this ETag (printed by an
    /// earlier `flag`).
    #[arg(long)]
    if_match: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum FoldersCommand {
    /// List the folders, built-in ones included.
    #[command(
        visible_alias = "list",
        after_help = "Examples:\n  sendmux mail folders ls\n  sendmux mail folders ls -o json --jq '.items[] | select(.unread_messages > 0) | .name'"
    )]
    Ls {
        #[command(flatten)]
        page: ListArgs,
    },
    /// Add a folder.
    #[command(
        after_help = "Examples:\n  sendmux mail folders create Receipts\n  sendmux mail folders create 2026 --parent fld_..."
    )]
    Create {
        /// The folder's name.
        name: String,
        /// Put it inside this folder (id).
        #[arg(long, value_name = "FOLDER_ID")]
        parent: Option<String>,
    },
    /// Rename a custom folder.
    #[command(after_help = "Examples:\n  sendmux mail folders rename fld_... Invoices")]
    Rename {
        /// Folder id (`fld_...`).
        id: String,
        /// The new name.
        name: String,
        /// Only rename if the folder still has this ETag.
        #[arg(long)]
        if_match: Option<String>,
    },
    /// Delete an empty custom folder.
    #[command(
        visible_alias = "delete",
        after_help = "Examples:\n  sendmux mail folders rm fld_...\n  sendmux mail folders rm fld_... --yes"
    )]
    Rm {
        /// Folder id (`fld_...`).
        id: String,
        /// Do not ask for confirmation (required when stdin is not a terminal).
        #[arg(long, short = 'y')]
        yes: bool,
        /// Only delete if the folder still has this ETag.
        #[arg(long)]
        if_match: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum AttachmentsCommand {
    /// Save one attachment into a file, resuming if the connection drops.
    #[command(
        after_help = "Examples:\n  sendmux mail attachments get msg_... att_... -f invoice.pdf\n\n`sendmux mail read MESSAGE_ID` lists a message's attachments with their ids. A progress\nbar is shown on a terminal for files over 1 MiB."
    )]
    Get {
        /// Message id (`msg_...`).
        message_id: String,
        /// Attachment id, as `read` lists it.
        attachment_id: String,
        /// The file to write (created or replaced).
        #[arg(long = "file", short = 'f', value_name = "PATH")]
        file: PathBuf,
    },
}

/// The columns of `mail ls`.
const MESSAGES: &[Column] = &[
    col("ID", "/id"),
    col("RECEIVED", "/received_at"),
    col("FROM", "/from/email"),
    col("SUBJECT", "/subject"),
    col("SEEN", "/flags/seen"),
    col("FLAGGED", "/flags/flagged"),
    col("ATTACHMENTS", "/has_attachments"),
];

/// The columns of `mail ls --threads`.
const THREADS: &[Column] = &[
    col("ID", "/id"),
    col("SUBJECT", "/subject"),
    col("MESSAGES", "/message_count"),
    col("UNREAD", "/unread_count"),
    col("LAST", "/last_message/received_at"),
    col("FROM", "/last_message/from/email"),
];

/// The columns of `mail folders ls`.
const FOLDERS: &[Column] = &[
    col("ID", "/id"),
    col("NAME", "/name"),
    col("ROLE", "/role"),
    col("TOTAL", "/total_messages"),
    col("UNREAD", "/unread_messages"),
    col("PARENT", "/parent_id"),
];

/// One folder.
const FOLDER: &[Column] = &[
    col("Name", "/name"),
    col("ID", "/id"),
    col("Role", "/role"),
    col("Parent", "/parent_id"),
    col("Messages", "/total_messages"),
    col("Unread", "/unread_messages"),
];

/// What `mail me` shows.
const ME: &[Column] = &[
    col("Email", "/email"),
    col("ID", "/id"),
    col("Status", "/status"),
    col("Display name", "/display_name"),
    col("Quota bytes", "/quota_bytes"),
    col("Used bytes", "/quota_used_bytes"),
    col("Send scope", "/send_scope/type"),
    col("Created", "/created_at"),
];

/// One message after a change.
const MESSAGE: &[Column] = &[
    col("ID", "/id"),
    col("Subject", "/subject"),
    col("Seen", "/flags/seen"),
    col("Flagged", "/flags/flagged"),
    col("Keywords", "/keywords"),
    col("Folders", "/folder_ids"),
];

/// A queued message.
const SENT: &[Column] = &[col("Message ID", "/message_id"), col("Status", "/status")];

/// The address the embedded mock's mailbox gets (on its shared domain,
/// which needs no verification).
const MOCK_ADDRESS: &str = "agent@myagent.mx";

/// Runs `sendmux mail ...`; `mock` says the client points at the embedded mock.
pub(crate) async fn run(
    client: &Client,
    command: MailCommand,
    format: OutputFormat,
    mock: bool,
) -> Result<(), Failure> {
    let client = mailbox_client(client, mock).await?;
    let mailbox = client.mailbox();
    match command {
        MailCommand::Me => {
            let me = mailbox.me().send().await?;
            detail(format, me.value(), ME, None)
        }
        MailCommand::Ls(args) => ls(&mailbox, args, format).await,
        MailCommand::Read { id, html } => read(&mailbox, &id, html, format).await,
        MailCommand::Send(args) => send(&mailbox, args, format).await,
        MailCommand::Mv { id, to } => {
            // Resolved, and refused unless it is Trash, before any change.
            let target = trash_target(&mailbox, &to).await?;
            let deleted = mailbox.messages().delete(&id).send().await?;
            let message = format!(
                "Moved message {} to {}.",
                clean(&deleted.id),
                clean(&target)
            );
            done(format, deleted.value(), &message)
        }
        MailCommand::Flag(args) => flag(&mailbox, args, format).await,
        MailCommand::Rm {
            id,
            permanent,
            yes,
            if_match,
        } => {
            if permanent && !yes {
                super::confirm_delete("message", &id)?;
            }
            let mut request = mailbox.messages().delete(&id);
            if permanent {
                request = request.permanently();
            }
            if let Some(etag) = if_match {
                request = request.if_match(etag);
            }
            let deleted = request.send().await?;
            let message = if permanent {
                format!("Deleted message {} for good.", clean(&deleted.id))
            } else {
                format!("Moved message {} to Trash.", clean(&deleted.id))
            };
            done(format, deleted.value(), &message)
        }
        MailCommand::Folders(command) => folders(&mailbox, command, format).await,
        MailCommand::Attachments(AttachmentsCommand::Get {
            message_id,
            attachment_id,
            file,
        }) => download::run(&mailbox, &message_id, &attachment_id, &file, format).await,
        MailCommand::Watch(args) => watch::run(&mailbox, args, format).await,
    }
}

/// The client to use: `client` when it holds a key the Mailbox API takes;
/// on the embedded mock, one with the key of a mailbox set up there;
/// otherwise a usage error, before anything is sent.
async fn mailbox_client(client: &Client, mock: bool) -> Result<Client, Failure> {
    if client.has_key_for(Surface::Mailbox) {
        return Ok(client.clone());
    }
    if !mock {
        return Err(Failure::Usage(
            "`sendmux mail` needs a mailbox key (smx_mbx_...) or an agent token (smx_agent_...), \
             not a root key: pass the mailbox's key with --api-key-file or SENDMUX_API_KEY \
             (`sendmux mailboxes keys create MAILBOX_ID --app-name NAME` issues one). \
             Nothing was sent."
                .into(),
        ));
    }
    let created = client
        .mailboxes()
        .create(MOCK_ADDRESS)
        .send()
        .await?
        .into_inner();
    let Some(credential) = created.credential else {
        return Err(Failure::Internal(
            "the embedded mock created the mailbox without a key".into(),
        ));
    };
    eprintln!(
        "note: the Mailbox API takes a mailbox key: set up the empty mailbox {MOCK_ADDRESS} \
         on the embedded mock (its key is used for this command only)"
    );
    Ok(client.with_mailbox_key(credential.secret.expose_secret())?)
}

/// `mail ls`: messages, or threads, with the filters given.
async fn ls(mailbox: &Mailbox, args: LsArgs, format: OutputFormat) -> Result<(), Failure> {
    let LsArgs {
        threads,
        folder,
        filters,
        page,
    } = args;
    let folder = match folder {
        Some(given) => Some(find_folder(mailbox, &given).await?.id),
        None => None,
    };
    if threads {
        let request = filtered(mailbox.threads().list(), filters, folder);
        return super::list(format, request, page, THREADS, "No threads match.").await;
    }
    let request = filtered(mailbox.messages().list(), filters, folder);
    super::list(format, request, page, MESSAGES, "No messages match.").await
}

/// `request` with the filters of `args`. A filter the list does not take
/// (threads have no `--from`) fails in the client, before any I/O.
fn filtered<T: MessageQuery>(
    mut request: Request<T>,
    args: FilterArgs,
    folder: Option<String>,
) -> Request<T> {
    if let Some(folder) = folder {
        request = request.folder_id(folder);
    }
    if args.unread || args.read {
        request = request.is_unread(args.unread);
    }
    if let Some(text) = args.search {
        request = request.text(text);
    }
    if let Some(text) = args.from {
        request = request.from(text);
    }
    if let Some(text) = args.to {
        request = request.to(text);
    }
    if let Some(text) = args.subject {
        request = request.subject(text);
    }
    if let Some(who) = args.participant {
        request = request.participant(who);
    }
    if let Some(keyword) = args.keyword {
        request = request.keyword(keyword);
    }
    if args.flagged {
        request = request.keyword("$flagged");
    }
    if args.has_attachment {
        request = request.has_attachment(true);
    }
    if let Some(time) = args.after {
        request = request.after(time);
    }
    if let Some(time) = args.before {
        request = request.before(time);
    }
    request
}

/// The folder `given` names, from one list of the folders (more calls
/// only past 100 folders): see [`pick_folder`].
async fn find_folder(mailbox: &Mailbox, given: &str) -> Result<MailboxFolder, Failure> {
    let folders: Vec<MailboxFolder> = mailbox
        .folders()
        .list()
        .limit(100)
        .stream()
        .try_collect()
        .await?;
    Ok(pick_folder(folders, given)?)
}

/// The folder `given` names among `folders`: the one with that id, else
/// the one with that built-in role (case aside), else the one with that
/// name (case aside). No match, or a name several folders share (under
/// different parents), is a [`FolderProblem`].
fn pick_folder(folders: Vec<MailboxFolder>, given: &str) -> Result<MailboxFolder, FolderProblem> {
    let wanted = given.trim();
    let by_id = |f: &MailboxFolder| f.id == wanted;
    let by_role = |f: &MailboxFolder| {
        f.role
            .as_deref()
            .is_some_and(|r| r.eq_ignore_ascii_case(wanted))
    };
    let by_name = |f: &MailboxFolder| f.name.eq_ignore_ascii_case(wanted);
    let tests: [&dyn Fn(&MailboxFolder) -> bool; 3] = [&by_id, &by_role, &by_name];
    for test in tests {
        let mut found: Vec<&MailboxFolder> = folders.iter().filter(|f| test(f)).collect();
        match found.len() {
            0 => {}
            1 => return Ok(found.swap_remove(0).clone()),
            _ => {
                return Err(FolderProblem::Ambiguous {
                    given: wanted.to_owned(),
                    matches: found
                        .into_iter()
                        .map(|f| (f.id.clone(), f.name.clone(), f.parent_id.clone()))
                        .collect(),
                });
            }
        }
    }
    Err(FolderProblem::NotFound {
        given: wanted.to_owned(),
        known: folders
            .into_iter()
            .map(|f| f.role.unwrap_or(f.name))
            .collect(),
    })
}

/// Why a folder given on the command line (`mv --to`, `ls --folder`)
/// cannot be used; found before any change is sent, so nothing was.
#[derive(Debug)]
pub(crate) enum FolderProblem {
    /// No folder has that id, role or name; `known` holds each folder's
    /// role, else its name.
    NotFound { given: String, known: Vec<String> },
    /// Several folders have that name: the id, name and parent id of each.
    Ambiguous {
        given: String,
        matches: Vec<(String, String, Option<String>)>,
    },
    /// `mv --to` named a folder other than Trash, which the API cannot
    /// move a message into.
    NotTrash { id: String, name: String },
}

impl std::fmt::Display for FolderProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FolderProblem::NotFound { given, known } => {
                let known: Vec<String> = known.iter().map(|k| clean(k)).collect();
                write!(
                    f,
                    "no folder {}: pass a folder id, a role or a name ({}). Nothing was changed.",
                    clean(given),
                    known.join(", ")
                )
            }
            FolderProblem::Ambiguous { given, matches } => {
                let each: Vec<String> = matches
                    .iter()
                    .map(|(id, name, parent)| match parent {
                        Some(parent) => {
                            format!("{} ({} in {})", clean(id), clean(name), clean(parent))
                        }
                        None => format!("{} ({})", clean(id), clean(name)),
                    })
                    .collect();
                write!(
                    f,
                    "{} folders are named {}: {}; give the id of the one you mean. \
                     Nothing was changed.",
                    matches.len(),
                    clean(given),
                    each.join(", ")
                )
            }
            FolderProblem::NotTrash { id, name } => write!(
                f,
                "cannot move a message into {} ({}): the Mailbox API's message update changes \
                 flags and keywords, not folders, so `mv` only moves to Trash (`--to trash`). \
                 Nothing was changed.",
                clean(name),
                clean(id)
            ),
        }
    }
}

/// `mv --to`: the name of the Trash folder when `to` names it (`trash`
/// itself needs no call); any other folder is refused, as the API cannot
/// file a message there.
async fn trash_target(mailbox: &Mailbox, to: &str) -> Result<String, Failure> {
    if to.trim().eq_ignore_ascii_case("trash") {
        return Ok("Trash".into());
    }
    let folder = find_folder(mailbox, to).await?;
    if folder.role.as_deref() == Some("trash") {
        Ok(folder.name)
    } else {
        Err(FolderProblem::NotTrash {
            id: folder.id,
            name: folder.name,
        }
        .into())
    }
}

/// `mail read`: the cleaned message for people, the model for scripts.
async fn read(
    mailbox: &Mailbox,
    id: &str,
    html: bool,
    format: OutputFormat,
) -> Result<(), Failure> {
    let messages = mailbox.messages();
    if html {
        let raw = messages.body(id).part(RawBodyPart::Html).send().await?;
        if !format.is_table() {
            return output::value(format, raw.value());
        }
        return match &raw.body.html {
            Some(html) => output::write_stdout(&body_text(html)),
            None => Err(Failure::Usage(format!(
                "message {} has no HTML part; read its text with `{}`",
                clean(id),
                suggest(&format!("sendmux mail read {}", clean(id)))
            ))),
        };
    }
    let content = messages.content(id).send().await?;
    if !format.is_table() {
        return output::value(format, content.value());
    }
    output::write_stdout(&render_message(content.value()))
}

/// A message as a person reads it: headers (each cleaned), a blank line,
/// the text body (controls escaped, lines kept), and its attachments.
fn render_message(message: &MailboxMessageContent) -> String {
    let people = &message.participants;
    let mut text = String::new();
    let mut header = |name: &str, value: String| {
        if !value.is_empty() {
            text.push_str(&format!("{name:<8} {value}\n"));
        }
    };
    header(
        "From:",
        people.from.as_ref().map(address).unwrap_or_default(),
    );
    header("To:", addresses(&people.to));
    header("Cc:", addresses(&people.cc));
    let date = message
        .dates
        .sent_at
        .as_ref()
        .or(message.dates.received_at.as_ref());
    header("Date:", date.map(ToString::to_string).unwrap_or_default());
    header(
        "Subject:",
        clean(message.subject.as_deref().unwrap_or("(no subject)")),
    );
    text.push('\n');
    match &message.body.text {
        Some(body) => text.push_str(&body_text(body)),
        None => text.push_str("(no text body; try --html)"),
    }
    if !text.ends_with('\n') {
        text.push('\n');
    }
    if message.body.is_truncated {
        text.push_str("[the body was cut short]\n");
    }
    if !message.attachments.is_empty() {
        text.push_str("\nAttachments:\n");
        for a in &message.attachments {
            let size = a
                .size_bytes
                .map(|n| format!("{n} bytes"))
                .unwrap_or_default();
            text.push_str(&format!(
                "  {}  {}  {}  {}\n",
                clean(&a.id),
                clean(a.filename.as_deref().unwrap_or("(unnamed)")),
                clean(&a.content_type),
                size
            ));
        }
        text.push_str(&format!(
            "Save one with `{}`.\n",
            suggest(&format!(
                "sendmux mail attachments get {} ATTACHMENT_ID -f PATH",
                clean(&message.id)
            ))
        ));
    }
    text
}

/// A body for the terminal: line breaks and tabs kept (CRLF as LF), every
/// other control character escaped, never cut.
fn body_text(body: &str) -> String {
    printable(&body.replace("\r\n", "\n"))
}

/// `Name <email>`, or the email alone, cleaned.
fn address(address: &MailboxAddress) -> String {
    match address.name.as_deref().filter(|n| !n.trim().is_empty()) {
        Some(name) => format!("{} <{}>", clean(name), clean(&address.email)),
        None => clean(&address.email),
    }
}

fn addresses(list: &[MailboxAddress]) -> String {
    list.iter().map(address).collect::<Vec<_>>().join(", ")
}

/// `mail send`: files uploaded first, then the message, with one
/// idempotency key for every attempt of the send.
async fn send(mailbox: &Mailbox, args: SendArgs, format: OutputFormat) -> Result<(), Failure> {
    let key = match &args.idempotency_key {
        Some(key) => IdempotencyKey::new(key.as_str()).map_err(Error::from)?,
        None => IdempotencyKey::generate(),
    };
    let mut recipients = args.to.iter().map(|to| super::send::address(to));
    let Some(first) = recipients.next() else {
        return Err(Failure::Usage("--to is required".into()));
    };
    let mut request = mailbox.messages().send(first, args.subject.as_str());
    for to in recipients {
        request = request.to(to);
    }
    for cc in &args.cc {
        request = request.cc(super::send::address(cc));
    }
    for bcc in &args.bcc {
        request = request.bcc(super::send::address(bcc));
    }
    if let Some(text) = &args.text {
        request = request.text(text.as_str());
    }
    if let Some(html) = &args.html {
        request = request.html(html.as_str());
    }
    for path in &args.attach {
        super::send::readable_file("--attach", path)?;
    }
    if !args.attach.is_empty() {
        precheck(&args)?;
    }
    request = request.idempotency_key(key.as_str());
    for path in &args.attach {
        let uploaded = mailbox
            .attachments()
            .upload_file(path)
            .send()
            .await
            .map_err(|e| Failure::Client(super::send::keyed(e, &key)))?;
        let stored = uploaded.value();
        request = request.attach(MessageAttachment::blob(
            stored.blob_id.as_str(),
            stored.filename.as_str(),
            stored.content_type.as_str(),
        ));
    }
    let sent = request
        .send()
        .await
        .map_err(|e| Failure::Client(super::send::keyed(e, &key)))?;
    detail(format, sent.value(), SENT, Some("Message queued."))
}

/// `mail flag`.
async fn flag(mailbox: &Mailbox, args: FlagArgs, format: OutputFormat) -> Result<(), Failure> {
    let mut request = mailbox.messages().update(&args.id);
    if args.seen || args.unseen {
        request = request.seen(args.seen);
    }
    if args.flagged || args.unflagged {
        request = request.flagged(args.flagged);
    }
    for keyword in args.keyword {
        request = request.add_keyword(keyword);
    }
    for keyword in args.unkeyword {
        request = request.remove_keyword(keyword);
    }
    if let Some(etag) = args.if_match {
        request = request.if_match(etag);
    }
    let updated = request.send().await?;
    let etag = [("ETag", updated.etag())];
    crate::records::detail_with(
        format,
        updated.value(),
        MESSAGE,
        Some("Message updated."),
        &etag,
    )
}

/// `mail folders ...`.
async fn folders(
    mailbox: &Mailbox,
    command: FoldersCommand,
    format: OutputFormat,
) -> Result<(), Failure> {
    let folders = mailbox.folders();
    match command {
        FoldersCommand::Ls { page } => {
            super::list(format, folders.list(), page, FOLDERS, "No folders.").await
        }
        FoldersCommand::Create { name, parent } => {
            let mut request = folders.create(name);
            if let Some(parent) = parent {
                request = request.parent(parent);
            }
            let created = request.send().await?;
            detail(format, created.value(), FOLDER, Some("Folder created."))
        }
        FoldersCommand::Rename { id, name, if_match } => {
            let mut request = folders.update(&id).name(name);
            if let Some(etag) = if_match {
                request = request.if_match(etag);
            }
            let renamed = request.send().await?;
            detail(format, renamed.value(), FOLDER, Some("Folder renamed."))
        }
        FoldersCommand::Rm { id, yes, if_match } => {
            if !yes {
                super::confirm_delete("folder", &id)?;
            }
            let mut request = folders.delete(&id);
            if let Some(etag) = if_match {
                request = request.if_match(etag);
            }
            let deleted = request.send().await?;
            let message = format!("Deleted folder {}.", clean(&deleted.id));
            done(format, deleted.value(), &message)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn folder(id: &str, name: &str, role: Option<&str>, parent: Option<&str>) -> MailboxFolder {
        serde_json::from_value(serde_json::json!({
            "id": id, "name": name, "role": role, "parent_id": parent,
            "can_add_items": true, "sort_order": null,
            "total_messages": 0, "unread_messages": 0,
        }))
        .unwrap()
    }

    fn folders() -> Vec<MailboxFolder> {
        vec![
            folder("fld_inbox", "Inbox", Some("inbox"), None),
            folder("fld_trash", "Trash", Some("trash"), None),
            folder("fld_archive", "Archive", Some("archive"), None),
            folder("fld_old", "archive", None, Some("fld_projects")),
            folder("fld_projects", "Projects", None, None),
            folder("fld_clients", "Clients", None, None),
            folder("fld_p2026", "2026", None, Some("fld_projects")),
            folder("fld_c2026", "2026", None, Some("fld_clients")),
        ]
    }

    fn picked(given: &str) -> Result<String, FolderProblem> {
        pick_folder(folders(), given).map(|f| f.id)
    }

    #[test]
    fn a_folder_is_picked_by_id_then_role_then_name_case_aside() {
        assert_eq!(picked("fld_p2026").unwrap(), "fld_p2026");
        assert_eq!(picked(" INBOX ").unwrap(), "fld_inbox");
        assert_eq!(picked("projects").unwrap(), "fld_projects");
        // A role names its built-in folder, even when a custom folder
        // shares the word as its name.
        assert_eq!(picked("Archive").unwrap(), "fld_archive");
        // An id is matched exactly.
        assert!(matches!(
            picked("FLD_P2026"),
            Err(FolderProblem::NotFound { .. })
        ));
    }

    #[test]
    fn a_name_several_folders_share_or_none_has_is_refused() {
        let Err(FolderProblem::Ambiguous { given, matches }) = picked("2026") else {
            panic!("2026 is two folders");
        };
        assert_eq!(given, "2026");
        let ids: Vec<&str> = matches.iter().map(|m| m.0.as_str()).collect();
        assert_eq!(ids, ["fld_p2026", "fld_c2026"]);
        let text = FolderProblem::Ambiguous { given, matches }.to_string();
        assert!(text.contains("fld_p2026 (2026 in fld_projects)"), "{text}");

        let Err(missing) = picked("Receipts") else {
            panic!("no Receipts folder");
        };
        let text = missing.to_string();
        assert!(text.starts_with("no folder Receipts:"), "{text}");
        assert!(
            text.contains("inbox, trash, archive, archive, Projects"),
            "{text}"
        );
        assert_eq!(Failure::from(missing).exit_code(), 2);
    }

    #[test]
    fn a_body_keeps_its_lines_and_escapes_controls() {
        assert_eq!(
            body_text("Hi\r\nthere\u{1b}[2J\tok\rx\u{202e}"),
            "Hi\nthere\\u{1b}[2J\tok\\rx\\u{202e}"
        );
    }

    #[test]
    fn an_address_shows_its_name_when_it_has_one() {
        let named = MailboxAddress {
            email: "ada@example.com".into(),
            name: Some("Ada\u{1b}[31m".into()),
        };
        assert_eq!(address(&named), "Ada\\u{1b}[31m <ada@example.com>");
        let bare = MailboxAddress {
            email: "ada@example.com".into(),
            name: Some(" ".into()),
        };
        assert_eq!(address(&bare), "ada@example.com");
    }
}
