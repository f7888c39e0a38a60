//! The handlers the mock implements, one module per resource, and the
//! registry that finds them by operation.
//!
//! Routing, auth, validation, idempotency and the rest of the pipeline come
//! from the operation table (`sendmux_operations`) and `api.rs`; a resource
//! module only registers `(operation, handler)` pairs. A published
//! operation without a handler answers `501 not_implemented`.
//!
//! # Adding a resource
//!
//! 1. A module here (`webhooks.rs`, or a folder for a larger one) with a
//!    `HANDLERS` list of `(ops::..., handler)` pairs, the `ops::`
//!    descriptors coming from the operation table.
//! 2. A line in [`RESOURCES`] naming that list, and, when the resource
//!    stores items, a [`Collection`] field in [`Resources`] (with its id
//!    prefix and noun in `Resources::new`).
//!
//! Nothing in the pipeline changes. A handler is a few lines over the
//! collection (ids, team scoping, `404`s, newest-first cursor pages, weak
//! ETags) and the [`Ctx`] answer helpers (`item`, `conditional`,
//! `if_match`, `page`, `deleted`, `ok`), for example:
//!
//! ```text
//! fn get(ctx: Ctx<'_>) -> Result<Out, ApiError> {
//!     let mut store = ctx.store();
//!     Ok(ctx.conditional(&store.webhooks.rendered(ctx.team, ctx.param("public_id"))?))
//! }
//! ```

pub(crate) mod billing;
pub(crate) mod domains;
pub(crate) mod filters;
pub(crate) mod logs;
pub(crate) mod mailbox_api;
pub(crate) mod mailboxes;
pub(crate) mod sending;
pub(crate) mod sending_accounts;
pub(crate) mod webhooks;

use std::collections::HashMap;
use std::sync::{MutexGuard, OnceLock};

use bytes::Bytes;
use http::StatusCode;
use http::header::{ETAG, IF_MATCH, IF_NONE_MATCH};
use http::request::Parts;
use sendmux_operations::Operation;
use serde::{Deserialize, Serialize};

use crate::api::{ApiError, FieldError, Meta, Out, header_value, ok_envelope, to_json};
use crate::app::{App, lock};
use crate::collection::{Collection, Page, Rendered, check_if_match, not_modified};
use crate::validate::schema_error;

/// Every stored resource, one collection each, behind one lock
/// (`App::resources`).
pub(crate) struct Resources {
    pub(crate) domains: Collection<domains::Domain>,
    pub(crate) mailboxes: Collection<mailboxes::Mailbox>,
    /// Every mailbox key the mock issued, for authentication.
    pub(crate) mailbox_keys: mailboxes::KeyIndex,
    /// Seeded credit ledgers.
    pub(crate) billing: billing::Billing,
    /// Seeded (and recorded) delivery and inbox logs.
    pub(crate) logs: logs::Logs,
    pub(crate) webhooks: Collection<webhooks::Webhook>,
    /// Delivery attempts, keyed by team and subscription
    /// (`webhooks::delivery::attempts_key`) instead of by team.
    pub(crate) webhook_attempts: Collection<webhooks::Attempt>,
    /// Sending accounts; each team's shared Amazon SES account is added
    /// on its first request about accounts.
    pub(crate) providers: Collection<sending_accounts::Provider>,
    /// Requests for more sending accounts.
    pub(crate) provider_limit_requests: Collection<sending_accounts::AccountLimitRequest>,
    /// Requests for a higher shared Amazon SES daily limit.
    pub(crate) ses_limit_requests: Collection<sending_accounts::SesLimitRequest>,
    /// The Sending API: the outbox and uploaded attachments.
    pub(crate) sending: sending::Sending,
    /// The Mailbox API's state of every mailbox.
    pub(crate) mailbox_api: mailbox_api::Store,
}

impl Resources {
    /// Empty collections whose ids and cursors derive from `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            domains: Collection::new("mdom_", "domain", seed),
            mailboxes: Collection::new("mbx_", "mailbox", seed),
            mailbox_keys: mailboxes::KeyIndex::default(),
            billing: billing::Billing::new(seed),
            logs: logs::Logs::new(seed),
            webhooks: Collection::new("whk_", "webhook", seed),
            webhook_attempts: Collection::new("whda_", "delivery attempt", seed),
            providers: Collection::new("dprov_", "sending account", seed),
            provider_limit_requests: Collection::new("trir_", "limit request", seed),
            ses_limit_requests: Collection::new("slir_", "limit request", seed),
            sending: sending::Sending::default(),
            mailbox_api: mailbox_api::Store::new(seed),
        }
    }
}

/// A handler: runs under the store lock and never awaits, so a change and
/// the response describing it are atomic.
pub(crate) type Handler = fn(Ctx<'_>) -> Result<Out, ApiError>;

/// Every resource module's handlers.
const RESOURCES: &[&[(&Operation, Handler)]] = &[
    domains::HANDLERS,
    mailboxes::HANDLERS,
    billing::HANDLERS,
    logs::HANDLERS,
    webhooks::HANDLERS,
    sending_accounts::HANDLERS,
    sending::HANDLERS,
    mailbox_api::HANDLERS,
];

/// The handler of `op`, if the mock implements it.
pub(crate) fn handler(op: &Operation) -> Option<Handler> {
    registry().get(op.id).copied()
}

/// Handlers by `operationId`, built on first use.
fn registry() -> &'static HashMap<&'static str, Handler> {
    static REGISTRY: OnceLock<HashMap<&'static str, Handler>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        RESOURCES
            .iter()
            .flat_map(|handlers| handlers.iter())
            .map(|(op, handler)| (op.id, *handler))
            .collect()
    })
}

/// Everything a handler needs about the request.
pub(crate) struct Ctx<'a> {
    pub(crate) app: &'a App,
    pub(crate) team: &'a str,
    /// The mailbox behind the key, when it is a mailbox key the mock
    /// issued (`None` for root keys and for keys accepted leniently).
    pub(crate) mailbox: Option<&'a str>,
    pub(crate) request_id: &'a str,
    pub(crate) op: &'static Operation,
    pub(crate) parts: &'a Parts,
    /// Path parameters as the table matched them (undecoded).
    pub(crate) params: Vec<(&'static str, &'a str)>,
    /// Parsed and schema-checked body, for operations with a JSON body.
    pub(crate) body: Option<serde_json::Value>,
    /// The raw body, for operations that take one (empty otherwise); what
    /// a non-JSON body (an upload) is read from.
    pub(crate) raw_body: Bytes,
}

impl Ctx<'_> {
    /// The path parameter `name` (`""` if the template has none of that
    /// name, which a handler registered for the right operation never sees).
    pub(crate) fn param(&self, name: &str) -> &str {
        self.params
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, v)| v)
    }

    /// The query parameter `name`, percent-decoded (its first value).
    pub(crate) fn query(&self, name: &str) -> Option<String> {
        form_urlencoded::parse(self.parts.uri.query()?.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }

    /// A request header as text, if present and visible ASCII.
    pub(crate) fn header(&self, name: http::HeaderName) -> Option<&str> {
        self.parts.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as the operation's type. The schema check already ran, so
    /// a failure here means the schema and the type disagree; report it the
    /// same way as a schema violation rather than failing.
    pub(crate) fn typed_body<T: for<'de> Deserialize<'de>>(&mut self) -> Result<T, ApiError> {
        let value = self.body.take().unwrap_or(serde_json::Value::Null);
        serde_json::from_value(value).map_err(|e| {
            schema_error(
                self.op,
                vec![FieldError {
                    field: String::new(),
                    code: "schema".to_owned(),
                    message: e.to_string(),
                }],
            )
        })
    }
}

impl<'a> Ctx<'a> {
    /// The stored resources, locked. Handlers never await, so holding it
    /// makes a change and the answer describing it atomic.
    pub(crate) fn store(&self) -> MutexGuard<'a, Resources> {
        lock(&self.app.resources)
    }

    /// The server seed (ids, tokens, ETags derive from it).
    pub(crate) fn seed(&self) -> u64 {
        self.app.settings.seed
    }

    /// `{ok, data, meta}` around an item, with its ETag.
    pub(crate) fn item(&self, status: StatusCode, item: &Rendered) -> Out {
        // Spliced by hand so the cached `data` is not parsed and re-serialized.
        let request_id = to_json(&self.request_id);
        let mut body = Vec::with_capacity(item.json.len() + request_id.len() + 40);
        body.extend_from_slice(b"{\"ok\":true,\"data\":");
        body.extend_from_slice(&item.json);
        body.extend_from_slice(b",\"meta\":{\"request_id\":");
        body.extend_from_slice(&request_id);
        body.extend_from_slice(b"}}");
        Out::json(status, self.request_id, body.into()).header(ETAG, header_value(&item.etag))
    }

    /// A read honouring `If-None-Match`: `304` with the ETag when the
    /// client has this version, the item otherwise.
    pub(crate) fn conditional(&self, item: &Rendered) -> Out {
        if not_modified(self.header(IF_NONE_MATCH), &item.etag) {
            return Out::empty(StatusCode::NOT_MODIFIED, self.request_id)
                .header(ETAG, header_value(&item.etag));
        }
        self.item(StatusCode::OK, item)
    }

    /// A write honouring `If-Match`: `409 conflict` unless the client has
    /// the current version of the `noun`.
    pub(crate) fn if_match(&self, current: &Rendered, noun: &str) -> Result<(), ApiError> {
        check_if_match(self.header(IF_MATCH), &current.etag, noun)
    }

    /// `{ok, data: [...], pagination, meta}` for one page of a list.
    pub(crate) fn page(&self, page: &Page) -> Out {
        #[derive(Serialize)]
        struct Pagination<'p> {
            has_more: bool,
            #[serde(skip_serializing_if = "Option::is_none")]
            next_cursor: Option<&'p str>,
        }
        let pagination = to_json(&Pagination {
            has_more: page.has_more,
            next_cursor: page.next_cursor.as_deref(),
        });
        let meta = to_json(&Meta {
            request_id: self.request_id,
        });
        let items: usize = page.items.iter().map(|i| i.len() + 1).sum();
        let mut body = Vec::with_capacity(items + pagination.len() + meta.len() + 48);
        body.extend_from_slice(b"{\"ok\":true,\"data\":[");
        for (i, item) in page.items.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            body.extend_from_slice(item);
        }
        body.extend_from_slice(b"],\"pagination\":");
        body.extend_from_slice(&pagination);
        body.extend_from_slice(b",\"meta\":");
        body.extend_from_slice(&meta);
        body.push(b'}');
        Out::json(StatusCode::OK, self.request_id, body.into())
    }

    /// `{deleted: true, id}` after a delete.
    pub(crate) fn deleted(&self, id: &str) -> Out {
        #[derive(Serialize)]
        struct Deleted<'d> {
            deleted: bool,
            id: &'d str,
        }
        self.ok(Deleted { deleted: true, id })
    }

    /// `200` with `data` in the success envelope, without an ETag.
    pub(crate) fn ok<T: Serialize>(&self, data: T) -> Out {
        let body = ok_envelope(self.request_id, data);
        Out::json(StatusCode::OK, self.request_id, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_registered_operation_is_published_and_registered_once() {
        let mut seen = std::collections::HashSet::new();
        for (op, _) in RESOURCES.iter().flat_map(|h| h.iter()) {
            assert!(
                sendmux_operations::find(op.id).is_some_and(|found| std::ptr::eq(found, *op)),
                "{} is not in the operation table",
                op.id
            );
            assert!(seen.insert(op.id), "{} is registered twice", op.id);
        }
        assert_eq!(registry().len(), seen.len());
    }
}
