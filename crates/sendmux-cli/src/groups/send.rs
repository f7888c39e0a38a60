//! `sendmux send`: one email from flags, or many from a JSON-lines file
//! (`--batch`), through the Sending API. That API takes a mailbox key or
//! an agent token, never a root key; with `--mock` a mailbox is set up on
//! the embedded mock for the sender first.

mod batch;

use std::io::Read;
use std::path::{Path, PathBuf};

use clap::Args;
use sendmux_client::sending::{Address, Email};
use sendmux_client::{Client, Error, IdempotencyKey, Surface, VerificationStatus};

use crate::args::OutputFormat;
use crate::failure::Failure;
use crate::records::{Column, col, detail};
use crate::terminal::clean;

/// Examples and notes printed by `sendmux send --help`.
pub(crate) const HELP: &str = "\
Examples:
  sendmux send --from agent@mail.acme.com --to ada@example.com --subject Hi --html '<p>Hi Ada</p>'
  sendmux send --from 'Acme <agent@mail.acme.com>' --to ada@example.com --subject Report \\
    --html-file report.html --text-file report.txt --attach report.pdf --idempotency-key report-42
  sendmux send --batch newsletter.jsonl > results.jsonl

The key must be a mailbox key (smx_mbx_...) or an agent token (smx_agent_...) of the
sender's mailbox; the Sending API refuses root keys.

--batch reads one JSON object per line (`-` for stdin), with the fields of the flags:
  {\"from\": \"agent@mail.acme.com\", \"to\": \"ada@example.com\", \"cc\": [\"..\"], \"bcc\": [\"..\"],
   \"reply_to\": \"..\", \"subject\": \"..\", \"html\": \"..\", \"text\": \"..\",
   \"headers\": {\"X-Campaign\": \"nov\"}, \"attachments\": [\"path/to/file.pdf\"]}
Every line is checked before anything is sent, and files are uploaded before the first
message. Messages go out in requests of 100; one JSON line per input line is printed:
  {\"line\": 1, \"status\": \"queued\", \"message_id\": \"eml_...\"}
  {\"line\": 2, \"status\": \"refused\", \"code\": \"..\", \"message\": \"..\"}
  {\"line\": 3, \"status\": \"failed\", \"state\": \"not_sent\" | \"maybe_sent\", \"message\": \"..\"}
Exit status 0 when every message was queued, 3 when some were refused, 4 when the outcome
of a request is unknown. Repeating a command with the same --idempotency-key never sends a
message twice: a failed run prints the command to repeat.";

/// `sendmux send`.
#[derive(Debug, Args)]
pub(crate) struct SendArgs {
    /// The sender, `agent@mail.acme.com` or `Name <agent@mail.acme.com>`:
    /// the mailbox of the key.
    #[arg(long, value_name = "ADDRESS", required_unless_present = "batch")]
    from: Option<String>,
    /// The recipient.
    #[arg(long, value_name = "ADDRESS", required_unless_present = "batch")]
    to: Option<String>,
    /// A copy recipient (repeatable; 50 recipients in all).
    #[arg(long, value_name = "ADDRESS")]
    cc: Vec<String>,
    /// A blind copy recipient (repeatable).
    #[arg(long, value_name = "ADDRESS")]
    bcc: Vec<String>,
    /// Where replies go.
    #[arg(long, value_name = "ADDRESS")]
    reply_to: Option<String>,
    /// The subject: one line, 1 to 998 characters.
    #[arg(long, required_unless_present = "batch")]
    subject: Option<String>,
    /// The HTML body.
    #[arg(long, required_unless_present_any = ["html_file", "batch"], conflicts_with = "html_file")]
    html: Option<String>,
    /// Read the HTML body from this file (`-` for stdin).
    #[arg(long, value_name = "PATH")]
    html_file: Option<PathBuf>,
    /// The plain-text alternative of the HTML body.
    #[arg(long, conflicts_with = "text_file")]
    text: Option<String>,
    /// Read the plain-text body from this file (`-` for stdin).
    #[arg(long, value_name = "PATH")]
    text_file: Option<PathBuf>,
    /// A custom header, `X-Name: value` (repeatable).
    #[arg(long = "header", value_name = "X-NAME: VALUE")]
    headers: Vec<String>,
    /// A file to attach, uploaded before the email is sent (repeatable, at
    /// most 10).
    #[arg(long = "attach", value_name = "PATH")]
    attach: Vec<PathBuf>,
    /// Send every email of this JSON-lines file (`-` for stdin) instead of
    /// one from the flags; see below.
    #[arg(
        long,
        value_name = "FILE.jsonl",
        conflicts_with_all = [
            "from", "to", "cc", "bcc", "reply_to", "subject", "html", "html_file",
            "text", "text_file", "headers", "attach",
        ]
    )]
    batch: Option<PathBuf>,
    /// Idempotency key of the send (of the whole batch with --batch): the
    /// same command with the same key never sends twice. One is generated
    /// when omitted, and printed when the outcome is unknown.
    #[arg(long)]
    idempotency_key: Option<String>,
}

/// What a queued email shows in a table.
const SENT: &[Column] = &[col("Message ID", "/message_id"), col("Status", "/status")];

/// Runs `sendmux send`; `mock` says the client points at the embedded mock.
pub(crate) async fn run(
    client: &Client,
    args: SendArgs,
    format: OutputFormat,
    mock: bool,
) -> Result<(), Failure> {
    // Checked before anything else, so a bad key is the first thing said.
    let key = match &args.idempotency_key {
        Some(key) => IdempotencyKey::new(key.as_str()).map_err(Error::from)?,
        None => IdempotencyKey::generate(),
    };
    if let Some(path) = &args.batch {
        return batch::run(client, path, key, format, mock).await;
    }
    let email = single_email(&args)?;
    check(&email).map_err(Failure::Client)?;
    for path in &args.attach {
        readable_file("--attach", path)?;
    }
    let sender = sender(client, mock, email_address(&args.from)).await?;
    let request = sender
        .sending()
        .send_email(email)
        .idempotency_key(key.as_str());
    let sent = match args.attach.split_first() {
        None => request.send().await,
        Some((first, rest)) => {
            let files = rest.iter().fold(request.attach_file(first), |send, path| {
                send.attach_file(path)
            });
            files.send().await
        }
    }
    .map_err(|error| Failure::Client(keyed(error, &key)))?;
    detail(format, sent.value(), SENT, Some("Email queued."))
}

/// The email the flags describe; the client checks it before sending.
fn single_email(args: &SendArgs) -> Result<Email, Failure> {
    let (Some(from), Some(to), Some(subject)) = (&args.from, &args.to, &args.subject) else {
        return Err(Failure::Usage(
            "--from, --to and --subject are required (or --batch FILE)".into(),
        ));
    };
    let html = match (&args.html, &args.html_file) {
        (Some(html), _) => html.clone(),
        (None, Some(path)) => read_text("--html-file", path)?,
        (None, None) => {
            return Err(Failure::Usage(
                "an HTML body is required: --html or --html-file".into(),
            ));
        }
    };
    let text = match (&args.text, &args.text_file) {
        (Some(text), _) => Some(text.clone()),
        (None, Some(path)) => Some(read_text("--text-file", path)?),
        (None, None) => None,
    };
    let mut email = Email::new(address(from), address(to))
        .subject(subject.as_str())
        .html(html);
    if let Some(text) = text {
        email = email.text(text);
    }
    for cc in &args.cc {
        email = email.cc(address(cc));
    }
    for bcc in &args.bcc {
        email = email.bcc(address(bcc));
    }
    if let Some(reply_to) = &args.reply_to {
        email = email.reply_to(address(reply_to));
    }
    for header in &args.headers {
        let (name, value) = header.split_once(':').ok_or_else(|| {
            Failure::Usage(format!(
                "--header {}: expected `X-Name: value`",
                clean(header)
            ))
        })?;
        email = email.custom_header(name.trim(), value.trim());
    }
    Ok(email)
}

/// Runs every check the client makes before sending `email` (but the
/// count of files still to attach), without sending it: encoding the
/// body is where the client checks an email.
pub(crate) fn check(email: &Email) -> Result<(), Error> {
    sendmux_client::Body::encode(email).map(drop)
}

/// `agent@mail.acme.com` or `Name <agent@mail.acme.com>` (the name may be
/// quoted) as an address; the client checks the address itself.
pub(crate) fn address(text: &str) -> Address {
    let text = text.trim();
    if let Some(rest) = text.strip_suffix('>')
        && let Some((name, email)) = rest.rsplit_once('<')
    {
        let name = name.trim().trim_matches('"').trim();
        let email = email.trim();
        return if name.is_empty() {
            Address::new(email)
        } else {
            Address::named(name, email)
        };
    }
    Address::new(text)
}

/// The address part of `--from`, for the mock's setup.
fn email_address(from: &Option<String>) -> String {
    from.as_deref()
        .map(|f| address(f).email().to_owned())
        .unwrap_or_default()
}

/// A file's text; `-` reads stdin.
fn read_text(flag: &str, path: &Path) -> Result<String, Failure> {
    let mut text = String::new();
    let read = if path.as_os_str() == "-" {
        std::io::stdin().read_to_string(&mut text).map(|_| ())
    } else {
        std::fs::read_to_string(path).map(|t| text = t)
    };
    read.map_err(|e| Failure::Usage(format!("{flag} {}: cannot read it: {e}", path.display())))?;
    Ok(text)
}

/// Fails unless `path` is a regular file this process can open, so a
/// typo is caught before anything is uploaded or sent.
pub(crate) fn readable_file(what: &str, path: &Path) -> Result<(), Failure> {
    let problem = match std::fs::File::open(path).and_then(|f| f.metadata()) {
        Ok(meta) if meta.is_file() => return Ok(()),
        Ok(_) => "not a regular file".to_owned(),
        Err(e) => e.to_string(),
    };
    Err(Failure::Usage(format!(
        "{what} {}: {problem}",
        path.display()
    )))
}

/// `error` with `key` as the key to repeat with: an upload that failed
/// before the send carries a key derived from the send's, and repeating
/// the whole command needs the send's own.
pub(crate) fn keyed(mut error: Error, key: &IdempotencyKey) -> Error {
    if let Error::MaybeSent {
        idempotency_key, ..
    } = &mut error
    {
        *idempotency_key = Some(key.as_str().to_owned());
    }
    error
}

/// The client to send with: `client` when it holds a key the Sending API
/// takes; on the embedded mock, one with the key of a mailbox set up for
/// `from`; otherwise a usage error, before anything is sent.
pub(crate) async fn sender(client: &Client, mock: bool, from: String) -> Result<Client, Failure> {
    if client.has_key_for(Surface::Sending) {
        return Ok(client.clone());
    }
    if !mock {
        return Err(Failure::Usage(
            "sending needs a mailbox key (smx_mbx_...) or an agent token (smx_agent_...), \
             not a root key: pass the key of the sender's mailbox with --api-key-file or \
             SENDMUX_API_KEY (`sendmux mailboxes keys create MAILBOX_ID --app-name NAME` issues one). \
             Nothing was sent."
                .into(),
        ));
    }
    mock_mailbox(client, &from).await
}

/// On the embedded mock: a verified domain and a mailbox for `from`, made
/// with the root key, and a client with that mailbox's key.
async fn mock_mailbox(client: &Client, from: &str) -> Result<Client, Failure> {
    let Some((_, domain)) = from.rsplit_once('@') else {
        return Err(Failure::Usage(format!(
            "--from {}: expected an address such as agent@mail.acme.com",
            clean(from)
        )));
    };
    let domain = domain.to_ascii_lowercase();
    let id = client
        .domains()
        .create(domain.as_str())
        .send()
        .await?
        .value()
        .id
        .clone();
    // The mock's DNS "propagates" after a verify call or two.
    let mut verified = false;
    for _ in 0..5 {
        let checked = client.domains().verify(&id).send().await?;
        if checked.value().status == VerificationStatus::Verified {
            verified = true;
            break;
        }
    }
    if !verified {
        return Err(Failure::Internal(format!(
            "the embedded mock did not verify {domain}"
        )));
    }
    let created = client.mailboxes().create(from).send().await?.into_inner();
    let Some(credential) = created.credential else {
        return Err(Failure::Internal(
            "the embedded mock created the mailbox without a key".into(),
        ));
    };
    eprintln!(
        "note: the embedded mock sends only with a mailbox key: set up the verified domain {} \
         and the mailbox {} (its key is used for this command only)",
        clean(&domain),
        clean(from)
    );
    Ok(client.with_mailbox_key(credential.secret.expose_secret())?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn addresses_with_and_without_a_display_name() {
        let plain = address(" ada@example.com ");
        assert_eq!((plain.email(), plain.name()), ("ada@example.com", None));
        let named = address("Ada Lovelace <ada@example.com>");
        assert_eq!(
            (named.email(), named.name()),
            ("ada@example.com", Some("Ada Lovelace"))
        );
        let quoted = address("\"Acme, Inc.\" <agent@mail.acme.com>");
        assert_eq!(quoted.name(), Some("Acme, Inc."));
        let bare = address("<ada@example.com>");
        assert_eq!((bare.email(), bare.name()), ("ada@example.com", None));
    }

    #[test]
    fn an_unknown_outcome_names_the_key_of_the_whole_send() {
        let key = IdempotencyKey::new("send-1").unwrap();
        let error = Error::MaybeSent {
            message: "lost".into(),
            timeout: false,
            idempotent: true,
            idempotency_key: Some("send-1.file0".into()),
            attempts: 3,
            source: "closed".into(),
        };
        assert_eq!(keyed(error, &key).idempotency_key(), Some("send-1"));
        let invalid = Error::from(IdempotencyKey::new("").unwrap_err());
        assert_eq!(keyed(invalid, &key).idempotency_key(), None);
    }
}
