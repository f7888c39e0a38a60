//! Rendering: tables for people; JSON, JSON lines or YAML for scripts,
//! optionally through `--jq`. Every byte of stdout goes through this module,
//! so a closed pipe and the structured formats are handled once for every
//! command.

use std::io::{IsTerminal, Write};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use comfy_table::Table;
use sendmux_client::{Domain, DomainDeleted, FilterState, VerifyResult};
use serde::{Deserialize, Serialize};

use crate::args::OutputFormat;
use crate::failure::Failure;
use crate::jq::{self, Jq};
use crate::records::{bare_table as table, render};
use crate::terminal::{clean, json_safe, printable};

/// The line printed above a domain in table output.
pub(crate) enum Heading<'a> {
    Created,
    Upgraded,
    Verified,
    Etag(Option<&'a str>),
}

/// What every structured print of this run applies: `--jq` and `-r`.
#[derive(Debug, Default)]
pub(crate) struct Settings {
    /// The `--jq` filter, checked before any request.
    pub(crate) jq: Option<Jq>,
    /// `-r`: a string result of `--jq` printed as its text, not as JSON.
    pub(crate) raw: bool,
}

// One process prints with one set of flags: `main` sets them once before
// any command runs, and every printer reads them, so a command group
// gets `--jq` without passing it along.
static SETTINGS: OnceLock<Settings> = OnceLock::new();

/// Fixes the output settings of this run (the first call wins).
pub(crate) fn configure(settings: Settings) {
    let _ = SETTINGS.set(settings);
}

fn settings() -> &'static Settings {
    static NONE: Settings = Settings {
        jq: None,
        raw: false,
    };
    SETTINGS.get().unwrap_or(&NONE)
}

// Whether this run printed a command to run next (see `suggest`).
static SUGGESTED: AtomicBool = AtomicBool::new(false);

/// A command the user may run next, as a hint shows it. Noted, so that a
/// `--mock` run, whose state ends with it, can say how to keep a mock
/// running for that next command.
pub(crate) fn suggest(command: &str) -> String {
    SUGGESTED.store(true, Ordering::Relaxed);
    command.to_owned()
}

/// Whether [`suggest`] was called in this run.
pub(crate) fn suggested() -> bool {
    SUGGESTED.load(Ordering::Relaxed)
}

/// The failure for a write to stdout that failed: a reader that went away
/// (`sendmux ... | head -1`) ends the command quietly.
fn write_failed(error: std::io::Error) -> Failure {
    if error.kind() == std::io::ErrorKind::BrokenPipe {
        Failure::PipeClosed
    } else {
        Failure::Io(format!("cannot write output: {error}"))
    }
}

/// Writes `text` and a line break (unless it ends with one) to stdout.
pub(crate) fn write_stdout(text: &str) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| {
            if text.ends_with('\n') {
                Ok(())
            } else {
                stdout.write_all(b"\n")
            }
        })
        .and_then(|()| stdout.flush())
        .map_err(write_failed)
}

/// Writes bytes to stdout as they are (text and binary bodies of `api`).
pub(crate) fn write_bytes(bytes: &[u8]) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .map_err(write_failed)
}

fn encode_failed(error: impl std::fmt::Display) -> Failure {
    Failure::Internal(format!("cannot encode the output: {error}"))
}

/// `value` as pretty JSON, safe for a terminal.
fn pretty_json<T: Serialize + ?Sized>(value: &T) -> Result<String, Failure> {
    serde_json::to_string_pretty(value)
        .map(json_safe)
        .map_err(encode_failed)
}

/// `value` as one line of JSON, safe for a terminal.
fn json_line<T: Serialize + ?Sized>(value: &T) -> Result<String, Failure> {
    serde_json::to_string(value)
        .map(json_safe)
        .map_err(encode_failed)
}

/// `value` as a YAML document. The emitter escapes control characters
/// but keeps the bidirectional ones as printable text: those are written
/// as `\uXXXX` (an escape inside a double-quoted scalar, visible text
/// elsewhere), so YAML cannot reorder what a terminal shows either.
fn yaml<T: Serialize + ?Sized>(value: &T) -> Result<String, Failure> {
    let text = serde_norway::to_string(value).map_err(encode_failed)?;
    Ok(crate::terminal::bidi_escaped(text))
}

/// Prints one document (an item, a list object, an event) in `format`
/// (`table` counts as `json`: callers print tables themselves), through
/// `--jq` when given.
pub(crate) fn value<T: Serialize + ?Sized>(format: OutputFormat, value: &T) -> Result<(), Failure> {
    let settings = settings();
    if let Some(filter) = &settings.jq {
        let input = serde_json::to_vec(value).map_err(encode_failed)?;
        let results = filter.run(&input).map_err(Failure::JqRun)?;
        return jq_results(format, &results, settings.raw);
    }
    let text = match format {
        OutputFormat::Table | OutputFormat::Json => pretty_json(value)?,
        OutputFormat::Jsonl => json_line(value)?,
        OutputFormat::Yaml => yaml(value)?,
    };
    write_stdout(&text)
}

/// The results of `--jq`, each in `format`: pretty JSON (as jq prints),
/// one line each for `jsonl`, YAML documents; with `-r`, strings as text.
fn jq_results(format: OutputFormat, results: &[jaq_json::Val], raw: bool) -> Result<(), Failure> {
    let mut out = String::new();
    for (i, result) in results.iter().enumerate() {
        let is_text = matches!(result, jaq_json::Val::TStr(_) | jaq_json::Val::BStr(_));
        let text = if raw && is_text {
            let text = jq::render(result, false, true);
            // Server text outside JSON: a terminal gets it escaped.
            if std::io::stdout().is_terminal() {
                printable(&text)
            } else {
                text
            }
        } else {
            match format {
                OutputFormat::Table | OutputFormat::Json => {
                    json_safe(jq::render(result, true, false))
                }
                OutputFormat::Jsonl => json_safe(jq::render(result, false, false)),
                OutputFormat::Yaml => {
                    let json = jq::render(result, false, false);
                    // Through serde_norway's own value, which keeps the key order.
                    let value = serde_norway::Value::deserialize(
                        &mut serde_json::Deserializer::from_str(&json),
                    )
                    .map_err(encode_failed)?;
                    let doc = yaml(&value)?;
                    if i == 0 { doc } else { format!("---\n{doc}") }
                }
            }
        };
        out.push_str(&text);
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    if out.is_empty() {
        return Ok(());
    }
    write_stdout(&out)
}

/// One event of a stream that has no end (`logs tail`, `webhooks listen`):
/// one compact line in `json` and `jsonl` (a stream cannot be one JSON
/// document), a YAML document starting with `---` in `yaml`; through
/// `--jq` when given.
pub(crate) fn event<T: Serialize + ?Sized>(format: OutputFormat, event: &T) -> Result<(), Failure> {
    match format {
        OutputFormat::Yaml if settings().jq.is_none() => {
            write_stdout(&format!("---\n{}", yaml(event)?))
        }
        OutputFormat::Yaml => value(format, event),
        _ => value(OutputFormat::Jsonl, event),
    }
}

/// A list in the structured formats: `{"items": [...], "next_cursor": ..}`
/// (what `--jq` sees too), or one item per line for `jsonl`.
#[derive(Serialize)]
struct ListDocument<'a, T> {
    items: &'a [T],
    next_cursor: Option<&'a str>,
}

/// Prints a page (or every page) of items in a structured `format`.
pub(crate) fn page<T: Serialize>(
    format: OutputFormat,
    items: &[T],
    next_cursor: Option<&str>,
) -> Result<(), Failure> {
    if format == OutputFormat::Jsonl && settings().jq.is_none() {
        let mut out = String::new();
        for item in items {
            out.push_str(&json_line(item)?);
            out.push('\n');
        }
        if out.is_empty() {
            return Ok(());
        }
        return write_stdout(&out);
    }
    value(format, &ListDocument { items, next_cursor })
}

/// Whether `--all` in `format` prints items as they arrive ([`ItemStream`])
/// rather than after the last page: JSON and JSON lines without `--jq`.
pub(crate) fn streams(format: OutputFormat) -> bool {
    matches!(format, OutputFormat::Json | OutputFormat::Jsonl) && settings().jq.is_none()
}

/// `--all` printed as pages arrive, so memory holds about one page: JSON
/// lines one item per line; JSON the list object written piece by piece,
/// the same text as [`page`] prints for the whole list, ending with
/// `"next_cursor": null`.
pub(crate) struct ItemStream {
    format: OutputFormat,
    written: usize,
}

impl ItemStream {
    /// Starts a stream; nothing is written before the first item or the end.
    pub(crate) fn new(format: OutputFormat) -> Self {
        Self { format, written: 0 }
    }

    /// Writes one item.
    pub(crate) fn push<T: Serialize>(&mut self, item: &T) -> Result<(), Failure> {
        let text = if self.format == OutputFormat::Jsonl {
            let mut line = json_line(item)?;
            line.push('\n');
            line
        } else {
            let lead = if self.written == 0 {
                "{\n  \"items\": [\n"
            } else {
                ",\n"
            };
            let body = pretty_json(item)?;
            let mut text = String::with_capacity(lead.len() + body.len() + 64);
            text.push_str(lead);
            for (i, line) in body.lines().enumerate() {
                if i > 0 {
                    text.push('\n');
                }
                text.push_str("    ");
                text.push_str(line);
            }
            text
        };
        self.written += 1;
        write_bytes(text.as_bytes())
    }

    /// Closes the list.
    pub(crate) fn finish(self) -> Result<(), Failure> {
        match self.format {
            OutputFormat::Jsonl => Ok(()),
            _ if self.written == 0 => {
                write_stdout("{\n  \"items\": [],\n  \"next_cursor\": null\n}")
            }
            _ => write_stdout("\n  ],\n  \"next_cursor\": null\n}"),
        }
    }
}

/// One table row, each cell cleaned: cells hold server text.
fn row<S: AsRef<str>>(cells: impl IntoIterator<Item = S>) -> Vec<String> {
    cells.into_iter().map(|cell| clean(cell.as_ref())).collect()
}

/// One domain: its summary and the DNS records to publish.
pub(crate) fn domain(
    format: OutputFormat,
    domain: &Domain,
    heading: Heading<'_>,
) -> Result<(), Failure> {
    if !format.is_table() {
        return value(format, domain);
    }
    let id = clean(&domain.id);
    let mut text = match heading {
        Heading::Created => format!(
            "Domain added. Publish these DNS records, then run `{}`.\n\n",
            suggest(&format!("sendmux domains verify {id}"))
        ),
        Heading::Upgraded => format!(
            "Domain upgraded to send_receive; it verifies again once its MX record is found. Then run `{}`.\n\n",
            suggest(&format!("sendmux domains verify {id}"))
        ),
        Heading::Verified => format!(
            "Domain verified. Check it any time with `{}`.\n\n",
            suggest(&format!("sendmux domains get {id}"))
        ),
        Heading::Etag(_) => String::new(),
    };
    let mut summary = table();
    summary.add_row(row(["Domain", domain.domain.as_str()]));
    summary.add_row(row(["ID", domain.id.as_str()]));
    let mode = domain.mode.to_string();
    summary.add_row(row(["Mode", mode.as_str()]));
    let status = domain.verification_status.to_string();
    summary.add_row(row(["Status", status.as_str()]));
    let mailboxes = domain.mailbox_count.to_string();
    summary.add_row(row(["Mailboxes", mailboxes.as_str()]));
    let created = domain.created_at.to_string();
    summary.add_row(row(["Created", created.as_str()]));
    if let Some(verified_at) = &domain.verified_at {
        let verified = verified_at.to_string();
        summary.add_row(row(["Verified", verified.as_str()]));
    }
    if let Heading::Etag(Some(etag)) = heading {
        summary.add_row(row(["ETag", etag]));
    }
    text.push_str(&render(&summary));
    text.push_str("\n\nDNS records:\n");
    text.push_str(&render(&dns_table(domain)));
    write_stdout(&text)
}

/// Every DNS record of a domain as (type, name, value, priority) rows.
fn dns_table(domain: &Domain) -> Table {
    let records = &domain.dns_records;
    let mut table = table();
    table.set_header(vec!["TYPE", "NAME", "VALUE", "PRIORITY"]);
    for mx in &records.mx {
        table.add_row(row([
            "MX".to_string(),
            domain.domain.clone(),
            mx.target.clone(),
            mx.priority.to_string(),
        ]));
    }
    let txt = |name: &str, value: &str| row(["TXT", name, value, ""]);
    table.add_row(txt(&records.verification.name, &records.verification.value));
    table.add_row(txt(&records.spf.name, &records.spf.value));
    table.add_row(txt(&records.dmarc.name, &records.dmarc.value));
    for dkim in &records.dkim {
        table.add_row(row([
            "CNAME".to_string(),
            dkim.name.clone(),
            dkim.value.clone(),
            String::new(),
        ]));
    }
    let bounce = &records.mail_from;
    table.add_row(row([
        "MX".to_string(),
        bounce.mx.name.clone(),
        bounce.mx.target.clone(),
        bounce.mx.priority.to_string(),
    ]));
    table.add_row(txt(&bounce.spf.name, &bounce.spf.value));
    table
}

/// The outcome of one verification.
pub(crate) fn verify_result(
    format: OutputFormat,
    id: &str,
    result: &VerifyResult,
) -> Result<(), Failure> {
    if !format.is_table() {
        return value(format, result);
    }
    let yes_no = |ok: bool| if ok { "found" } else { "missing" };
    let checks = &result.checks;
    let mut table = table();
    table.set_header(vec!["CHECK", "RESULT"]);
    table.add_row(vec!["verification TXT", yes_no(checks.verification_txt)]);
    table.add_row(vec!["MX", yes_no(checks.mx)]);
    table.add_row(vec!["SPF", yes_no(checks.spf)]);
    table.add_row(vec!["DMARC", yes_no(checks.dmarc)]);
    table.add_row(vec!["MAIL FROM MX", yes_no(checks.mail_from_mx)]);
    table.add_row(vec!["MAIL FROM SPF", yes_no(checks.mail_from_spf)]);
    write_stdout(&format!(
        "Domain {}: {}\n\n{}",
        clean(id),
        clean(result.status.as_str()),
        render(&table)
    ))
}

/// Confirmation of a deletion.
pub(crate) fn deleted(format: OutputFormat, deleted: &DomainDeleted) -> Result<(), Failure> {
    if !format.is_table() {
        return value(format, deleted);
    }
    write_stdout(&format!("Deleted domain {}.", clean(&deleted.id)))
}

/// A filter mode and its rules.
pub(crate) fn filters(
    format: OutputFormat,
    state: &FilterState,
    etag: Option<&str>,
) -> Result<(), Failure> {
    if !format.is_table() {
        return value(format, state);
    }
    let mut text = format!("Mode: {}\n", clean(state.mode.as_str()));
    if let Some(etag) = etag {
        text.push_str(&format!("ETag: {}\n", clean(etag)));
    }
    if state.rules.is_empty() {
        text.push_str("No rules.");
    } else {
        let mut table = table();
        table.set_header(vec!["TYPE", "PATTERN", "NOTE"]);
        for rule in &state.rules {
            table.add_row(row([
                rule.kind.to_string(),
                rule.pattern.clone(),
                rule.note.clone().unwrap_or_default(),
            ]));
        }
        text.push('\n');
        text.push_str(&render(&table));
    }
    write_stdout(&text)
}
