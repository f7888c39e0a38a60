//! The Mailbox API (`/mailbox/...`), per mailbox and JMAP-like: folders
//! with roles, messages grouped into threads, keywords and flags, send
//! submissions, uploaded blobs, one state counter and bounded change log
//! per resource type (`changes`, `query-changes`, resync once the log no
//! longer reaches back), live events over Server-Sent Events, and
//! attachment downloads with byte ranges.
//!
//! Every operation needs a mailbox key the mock issued: it names the one
//! mailbox the call acts on (`GET /mailbox/mailboxes` lists just it, and a
//! `mailbox_id` naming another is `404`). Mail arrives through
//! [`deliver_inbound`] (`MockServer::deliver`, `POST
//! /__mock/mailboxes/{id}/messages`) or from a send of another mailbox
//! ([`deliver_local`]).
//!
//! Layout: `store.rs` (state, logs, tokens, event buffer), `model.rs`
//! (messages, folders, threads and their wire views), `inbound.rs`
//! (arrival of mail), `query.rs` (filters, sorts, keyset cursors),
//! `content.rs` (raw and cleaned bodies), one file per group of
//! handlers, and `attachments.rs` with the two routes outside the
//! operation table (signed upload, download link).

mod attachments;
mod content;
mod events;
mod folders;
mod inbound;
mod messages;
mod model;
mod query;
mod session;
mod store;
mod sync;
mod threads;

use http::StatusCode;
use sendmux_operations::{Operation, ops};
use serde::Serialize;

pub(crate) use attachments::{generated, routes};
pub(crate) use events::Runtime;
/// For the Sending API: store a sent message in the mock mailboxes it is
/// addressed to.
pub(crate) use inbound::deliver_local;
pub use inbound::{DeliverError, InboundMessage};
pub(crate) use inbound::{admin_deliver, deliver_inbound};
pub(crate) use store::Store;

use super::mailboxes::Mailbox;
use super::{Ctx, Handler, Resources};
use crate::api::{ApiError, BASE_PATH, FieldError, to_json};
use crate::collection::Rendered;
use crate::config::EventStreamConfig;
use crate::ids;
use model::Links;
use store::{Capacities, MailboxData};

/// The operations this module implements (all of `/mailbox/...` but
/// `GET /mailbox/me`, which lives with the mailboxes).
pub(crate) const HANDLERS: &[(&Operation, Handler)] = &[
    (ops::MAILBOX_LIST_MESSAGES, messages::list),
    (ops::MAILBOX_GET_MESSAGE, messages::get),
    (ops::MAILBOX_UPDATE_MESSAGE, messages::update),
    (ops::MAILBOX_DELETE_MESSAGE, messages::delete),
    (ops::MAILBOX_COUNT_MESSAGES, messages::count),
    (ops::MAILBOX_SEARCH_MESSAGE_SNIPPETS, messages::snippets),
    (ops::MAILBOX_LIST_BODY, messages::body),
    (ops::MAILBOX_LIST_CONTENT, messages::content),
    (ops::MAILBOX_BATCH_GET_MESSAGES, messages::batch_get),
    (ops::MAILBOX_BATCH_UPDATE_MESSAGES, messages::batch_update),
    (ops::MAILBOX_BATCH_DELETE_MESSAGES, messages::batch_delete),
    (ops::MAILBOX_SEND_MESSAGE, messages::send),
    (ops::MAILBOX_LIST_THREADS, threads::list),
    (ops::MAILBOX_GET_THREAD, threads::get),
    (ops::MAILBOX_LIST_THREAD_MESSAGES, threads::messages),
    (ops::MAILBOX_GET_THREAD_CONTENT, threads::content),
    (ops::MAILBOX_LIST_FOLDERS, folders::list),
    (ops::MAILBOX_CREATE_FOLDER, folders::create),
    (ops::MAILBOX_GET_FOLDER, folders::get),
    (ops::MAILBOX_UPDATE_FOLDER, folders::update),
    (ops::MAILBOX_DELETE_FOLDER, folders::delete),
    (ops::MAILBOX_GET_CHANGES, sync::changes),
    (ops::MAILBOX_GET_FOLDER_CHANGES, sync::folder_changes),
    (
        ops::MAILBOX_QUERY_FOLDER_CHANGES,
        sync::folder_query_changes,
    ),
    (
        ops::MAILBOX_QUERY_MESSAGE_CHANGES,
        sync::message_query_changes,
    ),
    (ops::MAILBOX_GET_QUOTA_CHANGES, sync::quota_changes),
    (
        ops::MAILBOX_GET_SUBMISSION_CHANGES,
        sync::submission_changes,
    ),
    (ops::MAILBOX_STREAM_EVENTS, events::stream),
    (ops::MAILBOX_GET_MESSAGE_ATTACHMENT, attachments::download),
    (ops::MAILBOX_UPLOAD_ATTACHMENT, attachments::upload),
    (
        ops::MAILBOX_CREATE_ATTACHMENT_UPLOAD,
        attachments::create_upload,
    ),
    (ops::MAILBOX_GET_SESSION, session::session),
    (ops::MAILBOX_LIST_IDENTITIES, session::identities),
    (ops::MAILBOX_GET_IDENTITY, session::identity),
    (ops::MAILBOX_UPDATE_IDENTITY, session::update_identity),
    (ops::MAILBOX_LIST_GRANTED_MAILBOXES, session::granted),
    (ops::MAILBOX_LIST_QUOTAS, session::quotas),
    (ops::MAILBOX_LIST_USAGE, session::usage),
    (ops::MAILBOX_LIST_SUBMISSIONS, session::submissions),
    (ops::MAILBOX_GET_SUBMISSION, session::submission),
];

/// Default change records kept per resource type and mailbox.
pub(crate) const DEFAULT_CHANGE_LOG: usize = 10_000;
/// Default live events kept per mailbox for replay.
pub(crate) const DEFAULT_EVENT_BUFFER: usize = 1_000;
/// Default largest attachment upload: 25 MiB.
pub(crate) const DEFAULT_ATTACHMENT_MAX_BYTES: usize = 25 * 1024 * 1024;

/// Mailbox API settings fixed when the server starts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    pub(crate) change_log: usize,
    pub(crate) event_buffer: usize,
    /// Largest attachment accepted by an upload (direct or signed).
    pub(crate) attachment_max_bytes: usize,
    /// Event streams as the server starts (adjustable later).
    pub(crate) events: EventStreamConfig,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            change_log: DEFAULT_CHANGE_LOG,
            event_buffer: DEFAULT_EVENT_BUFFER,
            attachment_max_bytes: DEFAULT_ATTACHMENT_MAX_BYTES,
            events: EventStreamConfig::default(),
        }
    }
}

impl Settings {
    fn caps(&self) -> Capacities {
        Capacities {
            change_log: self.change_log,
            event_buffer: self.event_buffer,
        }
    }
}

/// The mailbox a call acts on: the one behind the key. A key the mock did
/// not issue has none, and a `mailbox_id` naming another mailbox is not
/// reachable: both `404 not_found`, as for `GET /mailbox/me`.
pub(crate) fn mailbox_of<'c>(ctx: &Ctx<'c>) -> Result<&'c str, ApiError> {
    let not_found = || ApiError::not_found("mailbox");
    let id = ctx.mailbox.ok_or_else(not_found)?;
    if ctx.query("mailbox_id").is_some_and(|asked| asked != id) {
        return Err(not_found());
    }
    Ok(id)
}

/// The mailbox and its Mailbox API state (made on first use).
pub(crate) fn open<'s>(
    store: &'s mut Resources,
    ctx: &Ctx<'_>,
    mailbox_id: &str,
) -> Result<(&'s Mailbox, &'s mut MailboxData), ApiError> {
    let caps = ctx.app.settings.mailbox.caps();
    let Resources {
        mailboxes,
        mailbox_api,
        ..
    } = store;
    let mailbox = mailboxes.get(ctx.team, mailbox_id)?;
    Ok((mailbox, mailbox_api.data(mailbox_id, caps)))
}

/// Checks the query and header parameters against the operation's
/// declaration (types, ranges, enums, required ones): `400
/// invalid_parameter` (or `missing_parameter`) naming the first one.
pub(crate) fn check_params(ctx: &Ctx<'_>) -> Result<(), ApiError> {
    use sendmux_conformance::Location;
    let path = ctx
        .parts
        .uri
        .path_and_query()
        .map_or_else(|| ctx.parts.uri.path(), |pq| pq.as_str());
    let report = sendmux_conformance::Spec::embedded().validate_request(
        &ctx.parts.method,
        path,
        &ctx.parts.headers,
        b"",
    );
    let Some(first) = report
        .violations
        .iter()
        .find(|v| v.location != Location::Body)
    else {
        return Ok(());
    };
    let field = first.field_path();
    let error = FieldError {
        field: field.clone(),
        code: first.keyword().to_owned(),
        message: first.message.clone(),
    };
    let e = if first.keyword() == "required" {
        ApiError::missing_parameter(first.message.clone())
    } else {
        ApiError::invalid_parameter(first.message.clone())
    };
    Err(e.with_param(field).with_errors(vec![error]))
}

/// A boolean query parameter (`true`/`false`; `check_params` refused
/// anything else).
pub(crate) fn flag(ctx: &Ctx<'_>, name: &str) -> Option<bool> {
    ctx.query(name).map(|v| v == "true")
}

/// An integer query parameter `check_params` already range-checked.
pub(crate) fn number(ctx: &Ctx<'_>, name: &str) -> Option<u64> {
    ctx.query(name).and_then(|v| v.parse().ok())
}

/// A comma-separated list parameter, at most `max` entries.
pub(crate) fn id_list(
    ctx: &Ctx<'_>,
    name: &str,
    max: usize,
) -> Result<Option<Vec<String>>, ApiError> {
    let Some(raw) = ctx.query(name) else {
        return Ok(None);
    };
    let ids: Vec<String> = raw
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if ids.len() > max {
        return Err(
            ApiError::invalid_parameter(format!("{name} takes at most {max} ids")).with_param(name),
        );
    }
    Ok(Some(ids))
}

/// JSON with a weak ETag of its content.
pub(crate) fn rendered<T: Serialize>(seed: u64, value: &T) -> Rendered {
    let json = to_json(value);
    let etag = etag_of(seed, &json);
    Rendered { json, etag }
}

/// A weak ETag over `bytes`.
pub(crate) fn etag_of(seed: u64, bytes: &[u8]) -> String {
    format!("W/\"{:016x}\"", ids::hash_bytes(seed ^ 0x6574_6167, bytes))
}

/// Download links for answers to this request: absolute on the host the
/// client called, valid until the end of the next hour of server time.
pub(crate) fn links<'h>(
    ctx: &'h Ctx<'_>,
    data: &MailboxData,
    base: &'h Option<String>,
) -> Links<'h> {
    let now_secs = ctx.app.clock.unix_millis() / 1000;
    Links {
        base: base.as_deref(),
        seed: data.seed,
        expires: (now_secs / 3600 + 2) * 3600,
    }
}

/// `http://HOST/api/v1` from the request's `Host` header.
pub(crate) fn base_url(ctx: &Ctx<'_>) -> Option<String> {
    let host = ctx.header(http::header::HOST)?;
    let safe = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
    safe.then(|| format!("http://{host}{BASE_PATH}"))
}

/// `404 not_found` for a `noun` of this mailbox.
pub(crate) fn missing(noun: &str) -> ApiError {
    ApiError::not_found(noun)
}

/// `409 conflict` when `if_in_state` names another state than `current`.
pub(crate) fn check_in_state(
    data: &MailboxData,
    if_in_state: Option<&str>,
) -> Result<(), ApiError> {
    let Some(expected) = if_in_state else {
        return Ok(());
    };
    let current = data.state(store::Kind::Messages);
    if expected != current {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "the mailbox changed since if_in_state; read it again and retry",
        )
        .with_param("if_in_state"));
    }
    Ok(())
}
