//! Rendering: tables for people, JSON (the API's `data` object) for scripts.

use std::io::Write;

use comfy_table::Table;
use sendmux_client::{Domain, DomainDeleted, FilterState, VerifyResult};
use serde::Serialize;

use crate::args::OutputFormat;
use crate::failure::Failure;
use crate::records::{bare_table as table, render};
use crate::terminal::{clean, json_safe};

/// The line printed above a domain in table output.
pub(crate) enum Heading<'a> {
    Created,
    Upgraded,
    Verified,
    Etag(Option<&'a str>),
}

/// Writes to stdout, turning a closed pipe (`sendmux ... | head`) into a
/// quiet failure instead of a panic.
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
        .map_err(|e| Failure::Io(format!("cannot write output: {e}")))
}

pub(crate) fn json<T: Serialize + ?Sized>(value: &T) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Failure::Internal(format!("cannot encode JSON: {e}")))?;
    write_stdout(&json_safe(text))
}

/// Writes bytes to stdout as they are (text and binary bodies of `api`).
pub(crate) fn write_bytes(bytes: &[u8]) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .map_err(|e| Failure::Io(format!("cannot write output: {e}")))
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
    if format == OutputFormat::Json {
        return json(domain);
    }
    let mut text = String::new();
    match heading {
        Heading::Created => text.push_str("Domain added. Publish these DNS records, then run `sendmux domains verify "),
        Heading::Upgraded => text.push_str("Domain upgraded to send_receive; it verifies again once its MX record is found. Then run `sendmux domains verify "),
        Heading::Verified => text.push_str("Domain verified. Check it any time with `sendmux domains get "),
        Heading::Etag(_) => {}
    }
    if !matches!(heading, Heading::Etag(_)) {
        text.push_str(&clean(&domain.id));
        text.push_str("`.\n\n");
    }
    let mut summary = table();
    summary.add_row(row(["Domain", domain.domain.as_str()]));
    summary.add_row(row(["ID", domain.id.as_str()]));
    let mode = domain.mode.to_string();
    summary.add_row(row(["Mode", mode.as_str()]));
    let status = domain.verification_status.to_string();
    summary.add_row(row(["Status", status.as_str()]));
    let mailboxes = domain.mailbox_count.to_string();
    summary.add_row(row(["Mailboxes", mailboxes.as_str()]));
    summary.add_row(row(["Created", domain.created_at.as_str()]));
    if let Some(verified_at) = &domain.verified_at {
        summary.add_row(row(["Verified", verified_at.as_str()]));
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

/// A page (or all pages) of domains.
pub(crate) fn domain_list(
    format: OutputFormat,
    domains: &[Domain],
    next_cursor: Option<&str>,
) -> Result<(), Failure> {
    if let Some(cursor) = next_cursor {
        eprintln!(
            "more domains follow: sendmux domains list --cursor {}  (or --all)",
            clean(cursor)
        );
    }
    if format == OutputFormat::Json {
        return json(domains);
    }
    if domains.is_empty() {
        return write_stdout("No domains yet. Add one with `sendmux domains add <domain>`.");
    }
    let mut table = table();
    table.set_header(vec![
        "ID",
        "DOMAIN",
        "MODE",
        "STATUS",
        "MAILBOXES",
        "CREATED",
    ]);
    for domain in domains {
        table.add_row(row([
            domain.id.clone(),
            domain.domain.clone(),
            domain.mode.to_string(),
            domain.verification_status.to_string(),
            domain.mailbox_count.to_string(),
            domain.created_at.clone(),
        ]));
    }
    write_stdout(&render(&table))
}

/// The outcome of one verification.
pub(crate) fn verify_result(
    format: OutputFormat,
    id: &str,
    result: &VerifyResult,
) -> Result<(), Failure> {
    if format == OutputFormat::Json {
        return json(result);
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
    if format == OutputFormat::Json {
        return json(deleted);
    }
    write_stdout(&format!("Deleted domain {}.", clean(&deleted.id)))
}

/// A filter mode and its rules.
pub(crate) fn filters(
    format: OutputFormat,
    state: &FilterState,
    etag: Option<&str>,
) -> Result<(), Failure> {
    if format == OutputFormat::Json {
        return json(state);
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
