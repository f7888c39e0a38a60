//! `sendmux mail watch`: the mailbox's live events, one line each. The
//! client's event stream reconnects on its own after a dropped
//! connection or a silent one and resumes after the last event seen, so
//! this only prints.

use clap::Args;
use futures::TryStreamExt;
use sendmux_client::mailbox::Mailbox;
use sendmux_client::mailbox::events::{MailboxEvent, MailboxRealtimeEventEventType};
use serde_json::{Value, json};

use crate::args::OutputFormat;
use crate::failure::Failure;
use crate::output;
use crate::terminal::clean;

/// Examples and notes printed by `sendmux mail watch --help`.
pub(crate) const HELP: &str = "\
Examples:
  sendmux mail watch
  sendmux mail watch --types message.received -o json | while read -r event; do ...; done
  sendmux mail watch --max-events 1 --jq .message.subject -r

One line per event: time, type, message id and subject. With -o json (or jsonl) each
line is the event's JSON as the API sends it, with its stream `id` added; pass that id
to --last-event-id to pick up after it later. A `sync_required` event means events
were missed: read the mailbox again (`sendmux mail ls`). The command reconnects by
itself when the connection drops and runs until stopped, or until --max-events.";

/// `mail watch`.
#[derive(Debug, Args)]
pub(crate) struct WatchArgs {
    /// Only these event types, comma-separated: `message.received`,
    /// `message.received.spam` (`sync_required` always comes through).
    #[arg(long, value_name = "TYPE,..", value_delimiter = ',')]
    types: Vec<String>,
    /// Exit after this many events.
    #[arg(long, value_name = "N")]
    max_events: Option<u64>,
    /// Start after the event with this id (from an earlier `-o json` line).
    #[arg(long, value_name = "ID")]
    last_event_id: Option<String>,
}

/// Runs `sendmux mail watch`.
pub(crate) async fn run(
    mailbox: &Mailbox,
    args: WatchArgs,
    format: OutputFormat,
) -> Result<(), Failure> {
    if args.max_events == Some(0) {
        return Err(Failure::Usage("--max-events must be at least 1".into()));
    }
    let mut events = mailbox.events();
    if !args.types.is_empty() {
        let types = args
            .types
            .iter()
            .map(|t| MailboxRealtimeEventEventType::from(t.trim()));
        events = events.event_types(types);
    }
    if let Some(id) = args.last_event_id {
        events = events.last_event_id(id);
    }
    let mut stream = events.stream();
    eprintln!("watching the mailbox's events (Ctrl-C to stop)");
    let mut seen = 0;
    while let Some(event) = stream.try_next().await? {
        if format.is_table() {
            output::write_stdout(&line(&event))?;
        } else {
            output::event(format, &document(&event)?)?;
        }
        seen += 1;
        if args.max_events.is_some_and(|max| seen >= max) {
            break;
        }
    }
    Ok(())
}

/// One event for people: time, type, message id and subject, each cleaned.
fn line(event: &MailboxEvent) -> String {
    let kind = clean(event.event_type().as_str());
    match event.as_event() {
        Some(data) => {
            // The stored message's id is what `mail read` takes; the
            // event's own `message_id` may be the `Message-ID` header.
            let message_id = Some(data.message.id.as_str())
                .filter(|id| !id.is_empty())
                .or(data.message_id.as_deref())
                .unwrap_or_default();
            let mut text = format!("{}  {kind}", data.occurred_at);
            if !message_id.is_empty() {
                text.push_str(&format!("  {}", clean(message_id)));
            }
            if let Some(subject) = data.message.subject.as_deref() {
                text.push_str(&format!("  {}", clean(subject)));
            }
            if data.event_type == MailboxRealtimeEventEventType::SyncRequired {
                text.push_str("  (events were missed: read the mailbox again)");
            }
            text
        }
        None => {
            let id = event.id().map(clean).unwrap_or_default();
            format!("-  {kind}  {id}  (not understood by this version)")
        }
    }
}

/// One event for scripts: the event's data with its stream id; an event
/// this version cannot read as its raw data and why.
fn document(event: &MailboxEvent) -> Result<Value, Failure> {
    match event {
        MailboxEvent::Event { id, event } => {
            let mut value = super::super::to_json(event)?;
            if let Value::Object(fields) = &mut value {
                fields.insert("id".into(), json!(id));
            }
            Ok(value)
        }
        MailboxEvent::Undecodable {
            event,
            id,
            data,
            reason,
        } => Ok(json!({
            "id": id,
            "event_type": event,
            "undecodable": true,
            "data": data,
            "reason": reason,
        })),
        other => Ok(json!({
            "id": other.id(),
            "event_type": other.event_type().as_str(),
        })),
    }
}
