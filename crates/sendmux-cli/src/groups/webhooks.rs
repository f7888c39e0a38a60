//! `sendmux webhooks`: subscriptions, their deliveries and signing secrets,
//! and `listen`, a local receiver that verifies deliveries (`listen.rs`).

mod listen;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Subcommand, ValueEnum};
use sendmux_client::types::ListDeliveryResult;
use sendmux_client::{Client, WebhookEventType, WebhookWithSecret};

use super::ListArgs;
use crate::args::OutputFormat;
use crate::failure::Failure;
use crate::output::suggest;
use crate::records::{Column, col, detail, detail_with, done};
use crate::terminal::clean;

pub(crate) use listen::{ListenArgs, listen};

#[derive(Debug, Subcommand)]
pub(crate) enum WebhooksCommand {
    /// List subscriptions, newest first.
    #[command(
        after_help = "Examples:\n  sendmux webhooks list\n  sendmux webhooks list --jq '.items[] | select(.failing) | .id'"
    )]
    List {
        #[command(flatten)]
        page: ListArgs,
    },
    /// Show one subscription.
    #[command(after_help = "Examples:\n  sendmux webhooks get whk_...")]
    Get {
        /// Webhook id (`whk_...`).
        id: String,
    },
    /// Subscribe an endpoint to events and print its signing secret (shown
    /// only this once).
    #[command(
        after_help = "Examples:\n  sendmux webhooks create --url https://hooks.acme.com/sendmux --event message.received\n  sendmux webhooks create --url https://hooks.acme.com/sendmux --event message.received,message.sent --name prod"
    )]
    Create {
        /// The endpoint, an absolute https URL.
        #[arg(long)]
        url: String,
        /// An event type to deliver (repeatable, or comma-separated).
        #[arg(long = "event", value_name = "TYPE", required = true, value_delimiter = ',', value_parser = event_type())]
        events: Vec<WebhookEventType>,
        /// A name for people.
        #[arg(long)]
        name: Option<String>,
        /// Create it switched off.
        #[arg(long)]
        disabled: bool,
        /// Deliver only events of this mailbox (repeatable); default: all.
        #[arg(long = "mailbox", value_name = "MAILBOX_ID")]
        mailboxes: Vec<String>,
        /// Idempotency key, to make a retried `create` safe; one is
        /// generated when omitted.
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// Change a subscription; what is not given stays (the secret too).
    #[command(
        after_help = "Examples:\n  sendmux webhooks update whk_... --disable\n  sendmux webhooks update whk_... --url https://hooks.acme.com/v2 --if-match 'W/\"...\"'"
    )]
    Update {
        /// Webhook id (`whk_...`).
        id: String,
        /// A new endpoint.
        #[arg(long)]
        url: Option<String>,
        /// The new set of event types (repeatable, or comma-separated).
        #[arg(long = "event", value_name = "TYPE", value_delimiter = ',', value_parser = event_type())]
        events: Vec<WebhookEventType>,
        /// A new name.
        #[arg(long)]
        name: Option<String>,
        /// Remove the name.
        #[arg(long, conflicts_with = "name")]
        clear_name: bool,
        /// Switch deliveries on.
        #[arg(long)]
        enable: bool,
        /// Switch deliveries off.
        #[arg(long, conflicts_with = "enable")]
        disable: bool,
        /// Deliver only events of these mailboxes (repeatable).
        #[arg(long = "mailbox", value_name = "MAILBOX_ID")]
        mailboxes: Vec<String>,
        /// Deliver events of every mailbox again.
        #[arg(long, conflicts_with = "mailboxes")]
        all_mailboxes: bool,
        /// Only update if the subscription still has this ETag (from `get`).
        #[arg(long)]
        if_match: Option<String>,
    },
    /// Delete a subscription.
    #[command(
        after_help = "Examples:\n  sendmux webhooks delete whk_...\n  sendmux webhooks delete whk_... --yes"
    )]
    Delete {
        /// Webhook id (`whk_...`).
        id: String,
        /// Do not ask for confirmation (required when stdin is not a terminal).
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// List delivery attempts, newest first.
    #[command(
        after_help = "Examples:\n  sendmux webhooks deliveries whk_...\n  sendmux webhooks deliveries whk_... --result failed --all -o jsonl"
    )]
    Deliveries {
        /// Webhook id (`whk_...`).
        id: String,
        /// Only attempts for this event type.
        #[arg(long, value_parser = event_type())]
        event_type: Option<WebhookEventType>,
        /// Only attempts with this result.
        #[arg(long, value_enum)]
        result: Option<ResultArg>,
        #[command(flatten)]
        page: ListArgs,
    },
    /// Show the body one delivery attempt sent.
    #[command(
        after_help = "Examples:\n  sendmux webhooks payload whk_... whda_...\n  sendmux webhooks payload whk_... whda_... --jq .payload"
    )]
    Payload {
        /// Webhook id (`whk_...`).
        id: String,
        /// Delivery attempt id (`whda_...`).
        delivery_id: String,
    },
    /// Issue a new signing secret (shown only this once); the old one stops
    /// working at once.
    #[command(after_help = "Examples:\n  sendmux webhooks rotate-secret whk_...")]
    RotateSecret {
        /// Webhook id (`whk_...`).
        id: String,
    },
    /// Send a `sendmux.test` event to the subscription.
    #[command(after_help = "Examples:\n  sendmux webhooks test whk_...")]
    Test {
        /// Webhook id (`whk_...`).
        id: String,
    },
    /// Receive deliveries on this machine: verify each one, print it, and
    /// optionally forward it to a local app.
    #[command(
        after_help = "Examples:\n  SENDMUX_WEBHOOK_SECRET=whsec_... sendmux webhooks listen --port 8787\n  sendmux webhooks listen --port 8787 --secret-file ./whsec.txt --forward-to http://127.0.0.1:3000/hooks"
    )]
    Listen(ListenArgs),
}

/// `--result` of `deliveries`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ResultArg {
    /// Delivered.
    Success,
    /// Failed; another try is planned.
    Retrying,
    /// Failed.
    Failed,
    /// Failed; no more tries.
    PermanentFailure,
}

/// One of the event types this CLI knows.
fn event_type() -> impl TypedValueParser<Value = WebhookEventType> {
    PossibleValuesParser::new(WebhookEventType::KNOWN.iter().copied())
        .map(|name| WebhookEventType::from(name.as_str()))
}

const LIST: &[Column] = &[
    col("ID", "/id"),
    col("NAME", "/name"),
    col("URL", "/url"),
    col("EVENTS", "/event_types"),
    col("ENABLED", "/enabled"),
    col("FAILING", "/failing"),
    col("CREATED", "/created_at"),
];

const DETAIL: &[Column] = &[
    col("ID", "/id"),
    col("Name", "/name"),
    col("URL", "/url"),
    col("Events", "/event_types"),
    col("Enabled", "/enabled"),
    col("Failing", "/failing"),
    col("Mailboxes", "/filters/mailbox_ids"),
    col("Created", "/created_at"),
    col("Updated", "/updated_at"),
];

/// [`DETAIL`] and the signing secret, for `create` and `rotate-secret`.
const WITH_SECRET: &[Column] = &[
    col("ID", "/id"),
    col("Name", "/name"),
    col("URL", "/url"),
    col("Events", "/event_types"),
    col("Enabled", "/enabled"),
    col("Mailboxes", "/filters/mailbox_ids"),
    col("Signing secret", "/secret"),
];

const DELIVERIES: &[Column] = &[
    col("ID", "/id"),
    col("EVENT", "/event_id"),
    col("TYPE", "/event_type"),
    col("TRY", "/delivery_attempt"),
    col("RESULT", "/result"),
    col("HTTP", "/response_status"),
    col("MS", "/response_ms"),
    col("CREATED", "/created_at"),
];

const PAYLOAD: &[Column] = &[
    col("ID", "/id"),
    col("Event", "/event_id"),
    col("Type", "/event_type"),
    col("Try", "/delivery_attempt"),
    col("Created", "/created_at"),
    col("Kept until", "/expires_at"),
    col("Payload", "/payload"),
];

/// Runs `sendmux webhooks ...` (all but `listen`, which needs no API key).
pub(crate) async fn run(
    client: &Client,
    command: WebhooksCommand,
    format: OutputFormat,
) -> Result<(), Failure> {
    let webhooks = client.webhooks();
    match command {
        WebhooksCommand::List { page } => {
            let empty = "No webhooks yet. Create one with `sendmux webhooks create --url URL --event TYPE`.";
            super::list(format, webhooks.list(), page, LIST, empty).await
        }
        WebhooksCommand::Get { id } => {
            let response = webhooks.get(id).send().await?;
            let etag = [("ETag", response.etag())];
            detail_with(format, response.value(), DETAIL, None, &etag)
        }
        WebhooksCommand::Create {
            url,
            events,
            name,
            disabled,
            mailboxes,
            idempotency_key,
        } => {
            let mut request = webhooks.create(url, events);
            if let Some(name) = name {
                request = request.name(name);
            }
            if disabled {
                request = request.enabled(false);
            }
            if !mailboxes.is_empty() {
                request = request.mailbox_ids(mailboxes);
            }
            if let Some(key) = idempotency_key {
                request = request.idempotency_key(key);
            }
            let created = request.send().await?.into_inner();
            with_secret(format, &created, "Webhook created.")
        }
        WebhooksCommand::Update {
            id,
            url,
            events,
            name,
            clear_name,
            enable,
            disable,
            mailboxes,
            all_mailboxes,
            if_match,
        } => {
            let unchanged = url.is_none()
                && events.is_empty()
                && name.is_none()
                && !clear_name
                && !enable
                && !disable
                && mailboxes.is_empty()
                && !all_mailboxes;
            if unchanged {
                return Err(Failure::Usage(
                    "nothing to update: pass --url, --event, --name, --clear-name, --enable, --disable, --mailbox or --all-mailboxes".into(),
                ));
            }
            let mut request = webhooks.update(id);
            if let Some(url) = url {
                request = request.url(url);
            }
            if !events.is_empty() {
                request = request.event_types(events);
            }
            if let Some(name) = name {
                request = request.name(name);
            }
            if clear_name {
                request = request.clear_name();
            }
            if enable || disable {
                request = request.enabled(enable);
            }
            if !mailboxes.is_empty() || all_mailboxes {
                request = request.mailbox_ids(mailboxes);
            }
            if let Some(etag) = if_match {
                request = request.if_match(etag);
            }
            let updated = request.send().await?;
            detail(format, updated.value(), DETAIL, Some("Webhook updated."))
        }
        WebhooksCommand::Delete { id, yes } => {
            if !yes {
                super::confirm_delete("webhook", &id)?;
            }
            let deleted = webhooks.delete(id).send().await?;
            let message = format!("Deleted webhook {}.", clean(&deleted.id));
            done(format, deleted.value(), &message)
        }
        WebhooksCommand::Deliveries {
            id,
            event_type,
            result,
            page,
        } => {
            let mut request = webhooks.deliveries(id);
            if let Some(event_type) = event_type {
                request = request.event_type(event_type);
            }
            if let Some(result) = result {
                request = request.result(match result {
                    ResultArg::Success => ListDeliveryResult::Success,
                    ResultArg::Retrying => ListDeliveryResult::Retrying,
                    ResultArg::Failed => ListDeliveryResult::Failed,
                    ResultArg::PermanentFailure => ListDeliveryResult::PermanentFailure,
                });
            }
            super::list(format, request, page, DELIVERIES, "No deliveries yet.").await
        }
        WebhooksCommand::Payload { id, delivery_id } => {
            let payload = webhooks.delivery_payload(id, delivery_id).send().await?;
            detail(format, payload.value(), PAYLOAD, None)
        }
        WebhooksCommand::RotateSecret { id } => {
            let rotated = webhooks.rotate_secret(id).send().await?.into_inner();
            with_secret(
                format,
                &rotated,
                "Signing secret rotated; the old one no longer verifies.",
            )
        }
        WebhooksCommand::Test { id } => {
            let published = webhooks.test(&id).send().await?;
            let message = format!(
                "Published test event {} to {}; see its delivery with `{}`.",
                clean(&published.event_id),
                clean(&id),
                suggest(&format!("sendmux webhooks deliveries {}", clean(&id)))
            );
            done(format, published.value(), &message)
        }
        WebhooksCommand::Listen(args) => listen(args, format).await,
    }
}

/// A subscription with the signing secret the API just showed, once.
fn with_secret(
    format: OutputFormat,
    shown: &WebhookWithSecret,
    heading: &str,
) -> Result<(), Failure> {
    let mut value = super::to_json(&shown.webhook)?;
    if let Some(object) = value.as_object_mut() {
        object.insert("secret".into(), super::reveal(&shown.secret));
    }
    super::warn_shown_once(
        "signing secret",
        &format!(
            "if it is lost, issue a new one with `{}`",
            suggest(&format!(
                "sendmux webhooks rotate-secret {}",
                clean(&shown.webhook.id)
            ))
        ),
    );
    detail(format, &value, WITH_SECRET, Some(heading))
}
