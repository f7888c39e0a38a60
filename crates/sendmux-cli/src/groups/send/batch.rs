//! `sendmux send --batch FILE`: every line checked, files uploaded, then
//! the messages sent in requests of 100, one JSON result line per input
//! line.
//!
//! Each request of 100 is its own `send_batch` call, so the progress bar
//! moves as requests complete. Request `i` carries the key one call over
//! the whole batch would give it (the batch's key for a single request,
//! else `chunk_idempotency_key(key, i)`), and, as in that call, a request
//! that fails stops the later ones: repeating the command with the same
//! key replays the requests that completed and sends the rest once.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};

use sendmux_client::models::FieldError;
use sendmux_client::sending::{
    Attachment, Email, ItemOutcome, MAX_ATTACHMENTS, MAX_BATCH_MESSAGES, SendState,
    chunk_idempotency_key,
};
use sendmux_client::{Client, Error, IdempotencyKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{address, keyed, readable_file};
use crate::args::OutputFormat;
use crate::failure::Failure;
use crate::output;

/// At most this many bad lines are listed; the rest are counted.
const SHOWN_PROBLEMS: usize = 10;

/// One input line: the fields of `sendmux send`'s flags.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    from: String,
    to: String,
    #[serde(default)]
    cc: Vec<String>,
    #[serde(default)]
    bcc: Vec<String>,
    #[serde(default)]
    reply_to: Option<String>,
    subject: String,
    html: String,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    /// Local files, uploaded before the first message is sent.
    #[serde(default)]
    attachments: Vec<PathBuf>,
}

/// A checked message: its line number (from 1), its sender's address,
/// the email, its files.
struct Message {
    line: usize,
    from: String,
    email: Email,
    files: Vec<PathBuf>,
}

/// How the messages fared.
#[derive(Default)]
struct Tally {
    queued: usize,
    refused: usize,
    not_sent: usize,
    maybe_sent: usize,
    /// The exit code: 3 for refusals and server errors, 4 for an unknown
    /// outcome or a request that never reached the server.
    code: u8,
}

/// Runs `sendmux send --batch PATH` with `key` as the batch's key.
pub(super) async fn run(
    client: &Client,
    path: &Path,
    key: IdempotencyKey,
    format: OutputFormat,
    mock: bool,
) -> Result<(), Failure> {
    let text = read_input(path)?;
    let messages = parse(&text, path)?;
    let from = messages.first().map(|m| m.from.clone()).unwrap_or_default();
    let sender = super::sender(client, mock, from).await?;
    let messages = upload(&sender, messages, &key).await?;
    send(&sender, messages, &key, path, format).await
}

/// The whole input: the file, or stdin for `-`.
fn read_input(path: &Path) -> Result<String, Failure> {
    let mut text = String::new();
    let read = if path.as_os_str() == "-" {
        std::io::stdin().read_to_string(&mut text).map(|_| ())
    } else {
        std::fs::read_to_string(path).map(|t| text = t)
    };
    read.map_err(|e| Failure::Usage(format!("--batch {}: cannot read it: {e}", path.display())))?;
    Ok(text)
}

/// Every non-blank line as a checked message, or every problem found
/// (with its line number) before anything is sent.
fn parse(text: &str, path: &Path) -> Result<Vec<Message>, Failure> {
    let mut messages = Vec::new();
    let mut problems = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Value>(raw)
            .map_err(|e| json_problem(&e))
            .and_then(fields)
            .and_then(|parsed| message(line, parsed))
        {
            Ok(message) => messages.push(message),
            Err(problem) => problems.push(format!("line {line}: {problem}")),
        }
    }
    if !problems.is_empty() {
        let more = problems.len().saturating_sub(SHOWN_PROBLEMS);
        let mut text = format!(
            "--batch {}: {} line(s) are not messages; nothing was sent:",
            path.display(),
            problems.len()
        );
        for problem in problems.iter().take(SHOWN_PROBLEMS) {
            text.push_str("\n  ");
            text.push_str(&crate::terminal::clean(problem));
        }
        if more > 0 {
            text.push_str(&format!("\n  ... and {more} more"));
        }
        return Err(Failure::Usage(text));
    }
    if messages.is_empty() {
        return Err(Failure::Usage(format!(
            "--batch {}: no messages (one JSON object per line)",
            path.display()
        )));
    }
    Ok(messages)
}

/// serde's message without its "line 1" (a line is parsed alone).
fn json_problem(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    let message = text.strip_suffix(&suffix).unwrap_or(&text);
    format!("not JSON: {message} at column {}", error.column())
}

/// A line's object as a [`Line`]; anything but an object is refused
/// (serde would read an array as the fields in order).
fn fields(value: Value) -> Result<Line, String> {
    if !value.is_object() {
        return Err("not a JSON object (one object per line, e.g. {\"from\": ..})".into());
    }
    serde_json::from_value(value).map_err(|e| e.to_string())
}

/// A parsed line as an email, checked as the client will check it.
fn message(line: usize, parsed: Line) -> Result<Message, String> {
    let from = address(&parsed.from).email().to_owned();
    let mut email = Email::new(address(&parsed.from), address(&parsed.to))
        .subject(parsed.subject)
        .html(parsed.html);
    if let Some(text) = parsed.text {
        email = email.text(text);
    }
    for cc in &parsed.cc {
        email = email.cc(address(cc));
    }
    for bcc in &parsed.bcc {
        email = email.bcc(address(bcc));
    }
    if let Some(reply_to) = &parsed.reply_to {
        email = email.reply_to(address(reply_to));
    }
    for (name, value) in parsed.headers {
        email = email.custom_header(name, value);
    }
    // The files become attachments after their upload: the limit counts them.
    if parsed.attachments.len() > MAX_ATTACHMENTS {
        return Err(format!(
            "{} attachments; an email takes at most {MAX_ATTACHMENTS}",
            parsed.attachments.len()
        ));
    }
    for file in &parsed.attachments {
        readable_file("attachment", file).map_err(|failure| match failure {
            Failure::Usage(problem) => problem,
            other => format!("{other:?}"),
        })?;
    }
    match super::check(&email) {
        Ok(_) => Ok(Message {
            line,
            from,
            email,
            files: parsed.attachments,
        }),
        Err(Error::InvalidInput(input)) => Err(format!(
            "invalid {}: {} ({})",
            input.field, input.problem, input.fix
        )),
        Err(other) => Err(other.to_string()),
    }
}

/// Uploads every message's files and attaches them by id. Upload `i` of
/// line `n` is keyed from the batch's key, so a repeated command gets the
/// same attachment ids and its requests replay.
async fn upload(
    sender: &Client,
    messages: Vec<Message>,
    key: &IdempotencyKey,
) -> Result<Vec<Message>, Failure> {
    let sending = sender.sending();
    let mut ready = Vec::with_capacity(messages.len());
    for mut message in messages {
        let files = std::mem::take(&mut message.files);
        let base = format!("{}.line{}", key.as_str(), message.line);
        for (i, path) in files.iter().enumerate() {
            let stored = sending
                .upload_file(path)
                .idempotency_key(chunk_idempotency_key(&base, i))
                .send()
                .await
                .map_err(|error| Failure::Client(keyed(error, key)))?;
            message.email = message
                .email
                .attach(Attachment::uploaded(stored.into_inner().attachment_id));
        }
        ready.push(message);
    }
    Ok(ready)
}

/// Sends the messages in requests of 100 and prints one result per line.
async fn send(
    sender: &Client,
    mut messages: Vec<Message>,
    key: &IdempotencyKey,
    path: &Path,
    format: OutputFormat,
) -> Result<(), Failure> {
    let total = messages.len();
    let requests = total.div_ceil(MAX_BATCH_MESSAGES);
    let bar = progress(total);
    let mut tally = Tally::default();
    // Why the requests after a failed one are not made.
    let mut stopped: Option<String> = None;
    for index in 0..requests {
        let take = messages.len().min(MAX_BATCH_MESSAGES);
        let (lines, emails): (Vec<usize>, Vec<Email>) =
            messages.drain(..take).map(|m| (m.line, m.email)).unzip();
        if let Some(why) = &stopped {
            for line in lines {
                tally.failed(SendState::NotSent, None);
                let result = ResultLine {
                    line,
                    status: "failed",
                    state: Some(state_name(SendState::NotSent)),
                    message: Some(why.clone()),
                    ..ResultLine::default()
                };
                output::event(format, &result)?;
            }
            continue;
        }
        let request_key = if requests == 1 {
            key.as_str().to_owned()
        } else {
            chunk_idempotency_key(key.as_str(), index)
        };
        let outcome = sender
            .sending()
            .send_batch(emails)
            .idempotency_key(request_key)
            .await
            .map_err(|error| Failure::Client(keyed(error, key)))?;
        for (line, item) in lines.into_iter().zip(&outcome.items) {
            let result = item_result(line, item, &mut tally);
            output::event(format, &result)?;
        }
        if let Some(error) = outcome.error() {
            stopped = Some(format!(
                "not sent: an earlier request of the batch failed ({error})"
            ));
        }
        bar.inc(u64::try_from(take).unwrap_or(u64::MAX));
    }
    bar.finish_and_clear();
    finish(&tally, total, requests, key, path)
}

/// One result line, its fields in this order.
#[derive(Debug, Default, Serialize)]
struct ResultLine<'a> {
    line: usize,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [FieldError],
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a str>,
}

/// The result line of one message, counted in `tally`.
fn item_result<'a>(line: usize, item: &'a ItemOutcome, tally: &mut Tally) -> ResultLine<'a> {
    match item {
        ItemOutcome::Queued { message_id } => {
            tally.queued += 1;
            ResultLine {
                line,
                status: "queued",
                message_id: Some(message_id),
                ..ResultLine::default()
            }
        }
        ItemOutcome::Refused {
            code,
            message,
            field_errors,
            ..
        } => {
            tally.refused += 1;
            tally.code = tally.code.max(3);
            ResultLine {
                line,
                status: "refused",
                code: Some(code.as_str()),
                message: Some(message.clone()),
                errors: field_errors,
                ..ResultLine::default()
            }
        }
        ItemOutcome::Failed(failure) => {
            tally.failed(failure.state, Some(&failure.error));
            ResultLine {
                line,
                status: "failed",
                state: Some(state_name(failure.state)),
                message: Some(failure.error.to_string()),
                request_id: failure.error.request_id(),
                ..ResultLine::default()
            }
        }
        // A kind of outcome this version does not know: not a success.
        _ => {
            tally.failed(SendState::MaybeSent, None);
            ResultLine {
                line,
                status: "failed",
                state: Some(state_name(SendState::MaybeSent)),
                message: Some("unknown outcome".into()),
                ..ResultLine::default()
            }
        }
    }
}

fn state_name(state: SendState) -> &'static str {
    match state {
        SendState::NotSent => "not_sent",
        _ => "maybe_sent",
    }
}

impl Tally {
    /// Counts a message whose request failed with `error` (none: not made).
    fn failed(&mut self, state: SendState, error: Option<&Error>) {
        let code = match (state, error) {
            (SendState::NotSent, None) => 0,
            (SendState::NotSent, Some(Error::Api(_) | Error::Undecodable { .. })) => 3,
            _ => 4,
        };
        if state == SendState::NotSent {
            self.not_sent += 1;
        } else {
            self.maybe_sent += 1;
        }
        self.code = self.code.max(code);
    }
}

/// A bar of messages sent, on stderr when it is a terminal that takes
/// escape sequences; hidden otherwise.
fn progress(total: usize) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(u64::try_from(total).unwrap_or(u64::MAX));
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} messages sent ({elapsed})")
    {
        bar.set_style(style);
    }
    if !crate::terminal::escapes_allowed(std::io::stderr().is_terminal()) {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar
}

/// The summary on stderr, and the exit code: 0 only when every message
/// was queued.
fn finish(
    tally: &Tally,
    total: usize,
    requests: usize,
    key: &IdempotencyKey,
    path: &Path,
) -> Result<(), Failure> {
    if tally.queued == total {
        eprintln!("{total} of {total} messages queued in {requests} request(s).");
        return Ok(());
    }
    let mut summary = format!("{} of {total} messages queued", tally.queued);
    for (count, what) in [
        (tally.refused, "refused"),
        (tally.maybe_sent, "of unknown outcome"),
        (tally.not_sent, "not sent"),
    ] {
        if count > 0 {
            summary.push_str(&format!(", {count} {what}"));
        }
    }
    summary.push_str(" (one result line each on stdout)");
    if tally.maybe_sent + tally.not_sent > 0 {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let again = output::suggest(&crate::failure::repeat_command(&args, key.as_str()));
        let stdin = if path.as_os_str() == "-" {
            " (with the same lines on stdin)"
        } else {
            ""
        };
        summary.push_str(&format!(
            "\n  the batch did not finish{}. To finish it without sending any message twice, \
             repeat it with the same idempotency key{stdin}:\n    {again}",
            if tally.maybe_sent > 0 {
                " and the server may have queued some of it"
            } else {
                ""
            }
        ));
    }
    if tally.refused > 0 {
        summary.push_str(
            "\n  refused lines are refused again when repeated: fix them and send them as a new \
             batch, without this idempotency key",
        );
    }
    Err(Failure::Incomplete {
        summary,
        code: tally.code.max(1),
    })
}
