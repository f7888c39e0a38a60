//! `sendmux logs`: outbound delivery logs and their metrics, inbound logs,
//! and `tail`, which follows the delivery log as it grows.

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use sendmux_client::Client;
use sendmux_client::logs::{
    DeliveryStatus, EmailLog, InboxEventType, ListEmailLogs, MetricsGranularity, MetricsWindow,
};

use super::ListArgs;
use crate::args::{OutputFormat, parse_duration};
use crate::failure::Failure;
use crate::output::write_stdout;
use crate::records::{self, Column, ListText, col, detail, detail_with};
use crate::terminal::clean;

#[derive(Debug, Subcommand)]
pub(crate) enum LogsCommand {
    /// List delivery logs of sent mail, newest first.
    #[command(
        after_help = "Examples:\n  sendmux logs emails --status failed --from-date 2026-01-01\n  sendmux logs emails --search invoice --all -o jsonl"
    )]
    Emails {
        #[command(flatten)]
        filters: EmailFilters,
        #[command(flatten)]
        page: ListArgs,
    },
    /// Show one delivery log with its recipients.
    #[command(
        after_help = "Examples:\n  sendmux logs email dlog_...\n  sendmux logs email dlog_... --jq '.recipients[] | select(.status != \"accepted\")'"
    )]
    Email {
        /// Delivery log id.
        id: String,
    },
    /// Count deliveries by status, in total and over time.
    #[command(
        after_help = "Examples:\n  sendmux logs metrics --window 7d\n  sendmux logs metrics --from-date 2026-01-01 --granularity daily -o json"
    )]
    Metrics {
        /// The period to cover (ignored when --from-date is given).
        #[arg(long, value_enum)]
        window: Option<WindowArg>,
        /// Start: a date (2026-01-31, from 00:00 UTC) or an RFC 3339 time.
        #[arg(long)]
        from_date: Option<String>,
        /// End: a date or an RFC 3339 time.
        #[arg(long)]
        to_date: Option<String>,
        /// Bucket size of the time series.
        #[arg(long, value_enum)]
        granularity: Option<GranularityArg>,
        /// Only this sending account (`dprov_...`).
        #[arg(long = "provider")]
        provider_id: Option<String>,
    },
    /// List logs of received mail, newest first.
    #[command(
        after_help = "Examples:\n  sendmux logs inbox --mailbox mbx_...\n  sendmux logs inbox --event-type message.received.spam --all -o jsonl"
    )]
    Inbox {
        /// Only this mailbox.
        #[arg(long = "mailbox")]
        mailbox_id: Option<String>,
        /// Only this kind of event.
        #[arg(long, value_enum)]
        event_type: Option<InboxEventArg>,
        /// Start: a date (2026-01-31, from 00:00 UTC) or an RFC 3339 time.
        #[arg(long)]
        from_date: Option<String>,
        /// End: a date or an RFC 3339 time.
        #[arg(long)]
        to_date: Option<String>,
        /// Words to look for.
        #[arg(long)]
        search: Option<String>,
        #[command(flatten)]
        page: ListArgs,
    },
    /// Show one log of received mail.
    #[command(after_help = "Examples:\n  sendmux logs inbox-get ilog_...")]
    InboxGet {
        /// Inbound log id.
        id: String,
    },
    /// Print recent delivery logs, then new ones as they come (oldest first).
    #[command(
        after_help = "Examples:\n  sendmux logs tail\n  sendmux logs tail --status failed --interval 30s -o jsonl"
    )]
    Tail {
        /// Pause between polls, e.g. `5s`, `1m`.
        #[arg(long, default_value = "5s", value_parser = parse_duration)]
        interval: Duration,
        /// How many recent logs to print first (0 to 100).
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(0..=100))]
        lines: u32,
        /// Stop after this many polls, the first one included.
        #[arg(long, value_name = "N")]
        max_polls: Option<u64>,
        #[command(flatten)]
        filters: EmailFilters,
    },
}

/// Filters of `emails` and `tail`.
#[derive(Debug, Clone, Args)]
pub(crate) struct EmailFilters {
    /// Only logs with this status.
    #[arg(long, value_enum)]
    status: Option<StatusArg>,
    /// Start: a date (2026-01-31, from 00:00 UTC) or an RFC 3339 time.
    #[arg(long)]
    from_date: Option<String>,
    /// End: a date or an RFC 3339 time.
    #[arg(long)]
    to_date: Option<String>,
    /// Only mail sent through this sending account (`dprov_...`).
    #[arg(long = "provider")]
    provider_id: Option<String>,
    /// Words to look for (addresses, subject).
    #[arg(long)]
    search: Option<String>,
}

impl EmailFilters {
    fn apply(self, mut request: ListEmailLogs) -> ListEmailLogs {
        if let Some(status) = self.status {
            request = request.status(match status {
                StatusArg::Pending => DeliveryStatus::Pending,
                StatusArg::Sent => DeliveryStatus::Sent,
                StatusArg::Failed => DeliveryStatus::Failed,
                StatusArg::Rejected => DeliveryStatus::Rejected,
            });
        }
        if let Some(date) = self.from_date {
            request = request.from_date(date);
        }
        if let Some(date) = self.to_date {
            request = request.to_date(date);
        }
        if let Some(id) = self.provider_id {
            request = request.provider_id(id);
        }
        if let Some(words) = self.search {
            request = request.search(words);
        }
        request
    }
}

/// `--status` of `emails` and `tail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum StatusArg {
    /// Not handed over yet.
    Pending,
    /// Accepted by the receiving server.
    Sent,
    /// Delivery failed.
    Failed,
    /// Refused before sending.
    Rejected,
}

/// `--window` of `metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum WindowArg {
    /// The last 24 hours.
    #[value(name = "24h")]
    Day,
    /// The last 7 days.
    #[value(name = "7d")]
    Week,
    /// The last 30 days.
    #[value(name = "30d")]
    Month,
}

/// `--granularity` of `metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum GranularityArg {
    /// One bucket per hour.
    Hourly,
    /// One bucket per day.
    Daily,
}

/// `--event-type` of `inbox`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum InboxEventArg {
    /// Mail delivered to the inbox.
    #[value(name = "message.received")]
    Received,
    /// Mail classified as spam.
    #[value(name = "message.received.spam")]
    ReceivedSpam,
}

const EMAILS: &[Column] = &[
    col("ID", "/id"),
    col("STATUS", "/status"),
    col("FROM", "/from_email"),
    col("TO", "/to_email"),
    col("SUBJECT", "/subject"),
    col("ATTEMPTS", "/attempts"),
    col("CREATED", "/created_at"),
];

const EMAIL: &[Column] = &[
    col("ID", "/id"),
    col("Status", "/status"),
    col("Reason", "/status_reason"),
    col("From", "/from_email"),
    col("Sent from", "/sent_from_email"),
    col("To", "/to_email"),
    col("Subject", "/subject"),
    col("Message-ID", "/message_id"),
    col("Recipients", "/recipient_count"),
    col("Accepted", "/accepted_recipient_count"),
    col("Rejected", "/rejected_recipient_count"),
    col("Size bytes", "/size_bytes"),
    col("Attempts", "/attempts"),
    col("Sending account", "/provider_name"),
    col("Account ID", "/provider_id"),
    col("Created", "/created_at"),
    col("Sent", "/sent_at"),
];

const RECIPIENTS: &[Column] = &[
    col("EMAIL", "/email"),
    col("TYPE", "/type"),
    col("STATUS", "/status"),
    col("REASON", "/reason"),
];

const SUMMARY: &[Column] = &[
    col("Total", "/summary/total"),
    col("Sent", "/summary/sent"),
    col("Pending", "/summary/pending"),
    col("Failed", "/summary/failed"),
    col("Rejected", "/summary/rejected"),
    col("Total vs previous period %", "/comparison/change_pct/total"),
];

const TIMESERIES: &[Column] = &[
    col("TIME", "/timestamp"),
    col("TOTAL", "/total"),
    col("SENT", "/sent"),
    col("PENDING", "/pending"),
    col("FAILED", "/failed"),
    col("REJECTED", "/rejected"),
];

const INBOX: &[Column] = &[
    col("ID", "/id"),
    col("EVENT", "/event_type"),
    col("MAILBOX", "/mailbox_email"),
    col("FROM", "/from_email"),
    col("SUBJECT", "/subject"),
    col("SPAM", "/is_spam"),
    col("RECEIVED", "/received_at"),
];

const INBOX_ONE: &[Column] = &[
    col("ID", "/id"),
    col("Event", "/event_type"),
    col("Mailbox", "/mailbox_email"),
    col("Mailbox ID", "/mailbox_id"),
    col("From", "/from_email"),
    col("To", "/to_emails"),
    col("Subject", "/subject"),
    col("Message-ID", "/message_id"),
    col("Spam", "/is_spam"),
    col("Size bytes", "/size_bytes"),
    col("Amount", "/amount"),
    col("Received", "/received_at"),
];

/// Runs `sendmux logs ...`.
pub(crate) async fn run(
    client: &Client,
    command: LogsCommand,
    format: OutputFormat,
) -> Result<(), Failure> {
    match command {
        LogsCommand::Emails { filters, page } => {
            let request = filters.apply(client.email_logs().list());
            super::list(format, request, page, EMAILS, "No delivery logs.").await
        }
        LogsCommand::Email { id } => {
            let response = client.email_logs().get(id).send().await?;
            let log = response.value();
            let etag = [("ETag", response.etag())];
            detail_with(format, log, EMAIL, None, &etag)?;
            match &log.recipients {
                Some(recipients) if format == OutputFormat::Table && !recipients.is_empty() => {
                    write_stdout("\nRecipients:")?;
                    let text = ListText {
                        more: "",
                        empty: "",
                    };
                    records::list(format, recipients, RECIPIENTS, None, &text)
                }
                _ => Ok(()),
            }
        }
        LogsCommand::Metrics {
            window,
            from_date,
            to_date,
            granularity,
            provider_id,
        } => {
            let mut request = client.email_logs().metrics();
            if let Some(window) = window {
                request = request.window(match window {
                    WindowArg::Day => MetricsWindow::X24h,
                    WindowArg::Week => MetricsWindow::X7d,
                    WindowArg::Month => MetricsWindow::X30d,
                });
            }
            if let Some(date) = from_date {
                request = request.from_date(date);
            }
            if let Some(date) = to_date {
                request = request.to_date(date);
            }
            if let Some(granularity) = granularity {
                request = request.granularity(match granularity {
                    GranularityArg::Hourly => MetricsGranularity::Hourly,
                    GranularityArg::Daily => MetricsGranularity::Daily,
                });
            }
            if let Some(id) = provider_id {
                request = request.provider_id(id);
            }
            let metrics = request.send().await?;
            let metrics = metrics.value();
            detail(format, metrics, SUMMARY, None)?;
            if format == OutputFormat::Table && !metrics.timeseries.is_empty() {
                write_stdout("")?;
                let text = ListText {
                    more: "",
                    empty: "",
                };
                records::list(format, &metrics.timeseries, TIMESERIES, None, &text)?;
            }
            Ok(())
        }
        LogsCommand::Inbox {
            mailbox_id,
            event_type,
            from_date,
            to_date,
            search,
            page,
        } => {
            let mut request = client.inbox_logs().list();
            if let Some(id) = mailbox_id {
                request = request.mailbox_id(id);
            }
            if let Some(event_type) = event_type {
                request = request.event_type(match event_type {
                    InboxEventArg::Received => InboxEventType::MessageReceived,
                    InboxEventArg::ReceivedSpam => InboxEventType::MessageReceivedSpam,
                });
            }
            if let Some(date) = from_date {
                request = request.from_date(date);
            }
            if let Some(date) = to_date {
                request = request.to_date(date);
            }
            if let Some(words) = search {
                request = request.search(words);
            }
            super::list(format, request, page, INBOX, "No inbound logs.").await
        }
        LogsCommand::InboxGet { id } => {
            let log = client.inbox_logs().get(id).send().await?;
            detail(format, log.value(), INBOX_ONE, None)
        }
        LogsCommand::Tail {
            interval,
            lines,
            max_polls,
            filters,
        } => tail(client, format, interval, lines, max_polls, filters).await,
    }
}

/// Most pages one poll of `tail` reads to catch up; a longer gap is
/// reported instead of read.
const TAIL_PAGES: usize = 10;
/// Ids `tail` remembers; far more than a poll ever sees.
const TAIL_MEMORY: usize = 10_000;

/// `logs tail`: the newest `lines` logs, then every log that was not there
/// at the poll before, each printed once, oldest first.
async fn tail(
    client: &Client,
    format: OutputFormat,
    interval: Duration,
    lines: u32,
    max_polls: Option<u64>,
    filters: EmailFilters,
) -> Result<(), Failure> {
    let mut seen = Seen::default();
    let mut polls = 0_u64;
    loop {
        polls += 1;
        let first = polls == 1;
        match poll(client, &filters, &seen, first, lines).await {
            Ok((fresh, caught_up)) => {
                if !caught_up && !first {
                    eprintln!(
                        "note: more logs arrived than one poll reads; older ones in the gap were skipped"
                    );
                }
                // The newest come first from the API; print the oldest first.
                for (i, log) in fresh.iter().rev().enumerate() {
                    seen.insert(&log.id);
                    let shown = !first || i + (lines as usize) >= fresh.len();
                    if shown {
                        print_log(format, log)?;
                    }
                }
            }
            // A passing hiccup (already retried by the client) does not end a tail.
            Err(error) if error.is_retryable() => {
                eprintln!(
                    "warning: poll failed ({}); trying again",
                    clean(&error.to_string())
                );
            }
            Err(error) => return Err(error.into()),
        }
        if max_polls.is_some_and(|max| polls >= max) {
            return Ok(());
        }
        tokio::time::sleep(interval).await;
    }
}

/// Logs newer than any seen, newest first, and whether the walk reached a
/// seen log (or the end of the list). The first poll reads one page.
async fn poll(
    client: &Client,
    filters: &EmailFilters,
    seen: &Seen,
    first: bool,
    lines: u32,
) -> Result<(Vec<EmailLog>, bool), sendmux_client::Error> {
    let limit = if first { lines.max(1) } else { 100 };
    let mut fresh = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..TAIL_PAGES {
        let mut request = filters
            .clone()
            .apply(client.email_logs().list())
            .limit(limit);
        if let Some(cursor) = cursor.take() {
            request = request.cursor(cursor);
        }
        let page = request.send().await?.into_inner();
        let next = page.has_more.then_some(page.next_cursor).flatten();
        let reached = unseen(page.items, seen, &mut fresh);
        if first || reached || next.is_none() {
            return Ok((fresh, true));
        }
        cursor = next;
    }
    Ok((fresh, false))
}

/// Moves `items` up to the first seen one into `fresh`; whether a seen one
/// was reached.
fn unseen(items: Vec<EmailLog>, seen: &Seen, fresh: &mut Vec<EmailLog>) -> bool {
    for log in items {
        if seen.contains(&log.id) {
            return true;
        }
        fresh.push(log);
    }
    false
}

/// The ids `tail` printed, the oldest forgotten past [`TAIL_MEMORY`].
#[derive(Default)]
struct Seen {
    ids: HashSet<String>,
    order: VecDeque<String>,
}

impl Seen {
    fn contains(&self, id: &str) -> bool {
        self.ids.contains(id)
    }

    fn insert(&mut self, id: &str) {
        if self.ids.insert(id.to_owned()) {
            self.order.push_back(id.to_owned());
            if self.order.len() > TAIL_MEMORY
                && let Some(old) = self.order.pop_front()
            {
                self.ids.remove(&old);
            }
        }
    }
}

/// One log: a line with the main fields for people, or the whole log as
/// one event of the structured format.
fn print_log(format: OutputFormat, log: &EmailLog) -> Result<(), Failure> {
    if !format.is_table() {
        return crate::output::event(format, log);
    }
    let line = format!(
        "{}  {}  {:<8}  {} -> {}  {}",
        log.created_at,
        clean(&log.id),
        clean(log.status.as_str()),
        clean(log.from_email.as_deref().unwrap_or("-")),
        clean(log.to_email.as_deref().unwrap_or("-")),
        clean(log.subject.as_deref().unwrap_or("")),
    );
    write_stdout(line.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(id: &str) -> EmailLog {
        serde_json::from_value(serde_json::json!({
            "id": id, "status": "sent", "attempts": 1, "created_at": "2026-01-01T00:00:00Z",
            "accepted_recipient_count": null, "from_email": null, "message_id": null,
            "provider_id": null, "provider_name": null, "recipient_count": null,
            "rejected_recipient_count": null, "sent_at": null, "sent_from_email": null,
            "size_bytes": null, "status_reason": null, "subject": null, "to_email": null
        }))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn logs(ids: &[&str]) -> Vec<EmailLog> {
        ids.iter().map(|id| log(id)).collect()
    }

    #[test]
    fn a_poll_keeps_only_logs_newer_than_the_newest_seen() {
        let mut seen = Seen::default();
        seen.insert("d2");
        seen.insert("d1");
        let mut fresh = Vec::new();
        assert!(unseen(logs(&["d4", "d3", "d2", "d1"]), &seen, &mut fresh));
        let ids: Vec<_> = fresh.iter().map(|l| l.id.as_str()).collect();
        assert_eq!(ids, ["d4", "d3"]);

        let mut fresh = Vec::new();
        assert!(
            !unseen(logs(&["d9", "d8"]), &seen, &mut fresh),
            "no seen log among these: read the next page"
        );
        assert_eq!(fresh.len(), 2);
    }

    #[test]
    fn seen_ids_are_bounded() {
        let mut seen = Seen::default();
        for i in 0..=TAIL_MEMORY {
            seen.insert(&format!("d{i}"));
        }
        assert!(!seen.contains("d0"));
        assert!(seen.contains("d1"));
        assert!(seen.contains(&format!("d{TAIL_MEMORY}")));
        assert_eq!(seen.ids.len(), TAIL_MEMORY);
    }
}
