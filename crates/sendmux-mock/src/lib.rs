//! A stateful, spec-faithful mock of the Sendmux API.
//!
//! Routes come from the operation table (`sendmux_operations`): every
//! published Management and Mailbox operation resolves under `/api/v1` on
//! the server's address ([`MockServer::base_url`]), and every Sending API
//! operation under `/api/v1` on a second port of its own
//! ([`MockServer::sending_base_url`]), as the real API has two hosts
//! (literal path segments win over parameters). The registry in
//! `resources` says which operations have a handler (`GET
//! /__mock/operations` lists them); the others answer `501
//! not_implemented` after auth.
//!
//! The server keeps its resources in memory and behaves like the real API
//! for the operations it implements: bearer auth with key prefixes, the
//! `ok`/`data`/`error`/`meta` envelopes, request validation (through
//! `sendmux-conformance`), cursor pagination, weak ETags with
//! `If-None-Match`/`If-Match`, idempotency keys, per-key rate limits, and a
//! simulated domain lifecycle (DNS records, verification after
//! propagation, delete blocked while mailboxes use the domain). IDs derive
//! from a seed, so two runs with the same seed and requests give the same
//! answers.
//!
//! Faults can be injected (seeded, per kind and per operation): `500`,
//! `503` with `Retry-After`, `429`, latency and a closed connection, each
//! either before the handler runs (nothing changes) or after the change
//! was committed in place of its answer ([`FaultRule::after_commit`]):
//! the lost answer idempotency keys exist for.
//!
//! Besides the API under `/api/v1`, the server answers admin and
//! inspection requests under `/__mock/` (not part of the Sendmux API). On a
//! loopback address they need no auth, unless an admin token is set
//! ([`MockServerBuilder::admin_token`], `--admin-token`); on any other
//! address the token is required (the server refuses to start without
//! one), and every admin call must send `Authorization: Bearer TOKEN` or
//! gets `401 authentication_required` in the error envelope:
//!
//! | method and path | what it does |
//! | --- | --- |
//! | `GET /__mock/health` | liveness |
//! | `GET`/`PUT`/`DELETE /__mock/faults` | read, replace, clear the fault rules ([`FaultConfig`] as JSON) |
//! | `GET`/`DELETE /__mock/requests` | the request log ([`RequestRecord`]s, with request bodies up to 64 KiB, secret fields redacted), or clear it |
//! | `POST /__mock/stubs` | arms a stub ([`MockServer::stub`]): `{"operation": "managementCreateDomain", "status": 409, "body": {...}, "times": 1}`, or an error envelope by code ([`MockServer::fail_next`]): `{"operation": ..., "error": "conflict", "times": 2}`; optional `"headers": {"name": "value"}` and `"unchecked": true`; without `times` it answers every call. Answers `201` with the stub; `400` for an unknown operation or code |
//! | `GET /__mock/stubs` | every stub: `{"stubs": [{"id", "operation", "status", "error"?, "remaining", "served", "armed", "unchecked", "violation"?}]}` |
//! | `DELETE /__mock/stubs` | disarms every stub (`{"removed": N}`); `DELETE /__mock/stubs/{id}` one |
//! | `GET /__mock/domains` | stored domains and their count; with `X-Mock-Api-Key: KEY` (or, without an admin token, `Authorization`), only that key's team |
//! | `GET /__mock/mailboxes` | stored mailboxes (deleted ones too, never their keys) and their count; the same team selection as `/__mock/domains` |
//! | `POST /__mock/webhooks/events` | `{"event_type": "message.bounced", "mailbox_id": null}` publishes a message event to the webhooks of the team named by `X-Mock-Api-Key` (see [`MockServer::emit_webhook_event`]); answers `{"event_id"}` |
//! | `GET /__mock/outbox` | messages the Sending API accepted ([`OutboxMessage`]s) and their count; with a key named as for `/__mock/domains` (a mailbox key the mock issued names its mailbox's team), only that team's |
//! | `PUT /__mock/credits` | `{"credits": N}` sets the balance of the team named by `X-Mock-Api-Key` to N messages' worth (see [`MockServer::set_sending_credits`]) |
//! | `POST /__mock/mailboxes/{id}/messages` | delivers a message to mailbox `id` as [`MockServer::deliver`] does: `{"from", "to"?, "cc"?, "subject"?, "text"?, "html"?, "in_reply_to"?, "headers"?: [[name, value]], "spam"?, "attachments"?: [{"filename", "content_type"?, "content_base64" or "generated_size_bytes"}]}`; answers `201 {"mailbox_id", "message_id", "thread_id"}` |
//! | `GET`/`PUT /__mock/event_stream` | [`EventStreamConfig`] (ping interval, pings on or off, cut after N events) as JSON, for streams opened afterwards |
//! | `POST /__mock/reset` | forget every stored resource, idempotency keys, rate windows and the log (stubs, expectations and faults stay) |
//! | `GET`/`PUT /__mock/propagation` | [`Propagation`] as JSON |
//! | `GET`/`PUT /__mock/rate_limit` | [`RateLimit`] of root keys as JSON |
//! | `GET`/`PUT /__mock/rate_limit/mailbox` | [`RateLimit`] of mailbox keys and agent tokens as JSON |
//! | `POST /__mock/clock/advance` | `{"seconds": N}` moves the server clock forward |
//! | `GET /__mock/operations` | every operation of the table: `{"operations": [{"id", "method", "path", "surface", "implemented"}, ...]}` |
//!
//! # In your own tests
//!
//! Add `sendmux-mock` as a dev-dependency and point the code under test at
//! [`MockServer::base_url`]. Every operation of the table (by
//! `ops::MANAGEMENT_CREATE_DOMAIN` or by its id) can be:
//!
//! - **stubbed**: [`MockServer::stub`] answers a status and body of your
//!   choice, [`MockServer::fail_next`] the published error envelope of a
//!   code with its usual status (`403`, `409`, `422`, `429` with
//!   `Retry-After`, ...), every call or the next `n`; then the mock's own
//!   handler answers again. Stubs answer after auth and before the
//!   handler, and a stubbed answer that breaks the published document is
//!   reported (see below), unless arranged with
//!   [`MockServer::stub_unchecked`];
//! - **expected**: [`MockServer::expect`] with
//!   [`times`](Expectation::times), [`at_least`](Expectation::at_least),
//!   [`at_most`](Expectation::at_most) and the
//!   [`with_header`](Expectation::with_header) /
//!   [`with_body_field`](Expectation::with_body_field) conditions;
//! - **inspected**: [`MockServer::received`] lists its calls as
//!   [`ReceivedRequest`]s, [`MockServer::received_as`] decodes their bodies
//!   into a type of yours. `Authorization` and body fields named like
//!   secrets (`password`, `secret`, `token`, ...) are redacted before the
//!   log stores them.
//!
//! [`MockServer::verify`] checks the expectations, the stubs' answers and
//! the setup (an unknown operation id or error code is reported there,
//! never a panic where it was written) and returns an
//! [`ExpectationError`] whose text lists what was expected and the calls
//! that did arrive. Dropping the server checks whatever `verify` did not,
//! and panics with the same text, unless the thread is already panicking.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use sendmux_mock::{ErrorCode, MockServer, ops};
//!
//! let server = MockServer::start().await?;
//! server.fail_next(ops::MANAGEMENT_CREATE_DOMAIN, ErrorCode::Conflict, 1);
//! server.expect(ops::MANAGEMENT_CREATE_DOMAIN).times(1);
//! // ... call the code under test with server.base_url() and a
//! // `smx_root_...` key; it should see a 409 and map it ...
//! server.verify()?;
//! let sent = server.received(ops::MANAGEMENT_CREATE_DOMAIN);
//! assert_eq!(sent[0].body.as_ref().map(|b| b["domain"].clone()), Some("mail.acme.com".into()));
//! # Ok(()) }
//! ```
//!
//! # Behaviour worth knowing
//!
//! - Every response carries `X-Request-Id` (equal to `meta.request_id`),
//!   `Cache-Control: no-store` and `X-RateLimit-Limit/Remaining/Reset`.
//! - Rate limits are per key, in fixed windows, with the published limits:
//!   600 requests per 60 s for each root key, 1,800 for each mailbox key
//!   or agent token ([`MockServerBuilder::rate_limit`],
//!   [`MockServerBuilder::mailbox_rate_limit`]). A key has one window
//!   whichever listener it calls; a batch send is one request. Requests
//!   without a key (or that need none) are not counted.
//! - Keys must fit the operation's surface: `smx_root_` for Management
//!   routes, `smx_mbx_` or `smx_agent_` for `/mailbox/` routes; a
//!   well-formed key of the other kind gets `403 insufficient_permissions`.
//! - Mailbox keys: creating a mailbox (and `POST /mailboxes/{id}/keys`)
//!   issues an `smx_mbx_` key, derived from the seed and a counter and
//!   shown only in that answer. It speaks for its mailbox's team on the
//!   Mailbox API (accepted even when [`MockServerBuilder::accept_key`]
//!   restricts the keys); revoked, or once its mailbox is deleted, it gets
//!   `401 authentication_required`, and while its mailbox is suspended
//!   `403 insufficient_permissions` (the key is genuine, the mailbox barred
//!   until resumed). Any other well-formed `smx_mbx_`/`smx_agent_` key is
//!   still accepted leniently as a team of its own, but has no mailbox
//!   behind it: `GET /mailbox/me` answers it `404 not_found`.
//! - Mailboxes need a verified `send_receive` domain of the team (`422
//!   validation_error` otherwise), except at `myagent.mx`, whose
//!   addresses are unique across all teams; the availability check
//!   applies the same rules. Quotas are the 1, 5 and 50 GB tiers (1 GB
//!   when omitted); a `providers` send scope must name the team's own
//!   sending accounts (`422` otherwise). A deleted mailbox stays readable
//!   with status `deleted` (listed with `include_deleted=true`), refuses
//!   changes (`409 conflict`) and holds its address (`cleanup_pending`)
//!   for ten minutes of server time. A domain's `mailbox_count` counts
//!   its mailboxes that are not deleted, suspended ones included;
//!   deleting the domain is `409 conflict` while it is above zero.
//! - Billing and logs are seeded: a team's ledger (40 transactions over
//!   100 days), delivery logs (120 over 30 days) and inbox logs (60) are
//!   made from the seed and the team id on the team's first request to
//!   them, before the server clock's time then, so a seed gives the same
//!   data whatever other teams do. Lists page newest first, 25 items by
//!   default, with every published filter; the balance, the spend summary
//!   and the email metrics are computed from the same stored items, so
//!   they agree with what the lists return.
//! - The Mailbox API (`/mailbox/...`) keeps per mailbox, behind the
//!   mailbox keys the mock issued: built-in folders (Inbox, Drafts, Sent,
//!   Junk, Trash, Archive; not renamed, moved or deleted: `409 conflict`)
//!   and custom ones, messages grouped into threads (by `In-Reply-To`,
//!   else subject), keywords and flags, submissions, uploaded blobs and
//!   one identity. Each resource type has a state token and a change log
//!   ([`MockServerBuilder::mailbox_change_log_capacity`], 10 000 records
//!   by default): `changes` since a state still in the log lists created,
//!   updated and destroyed ids, paged with `has_more`; an older state gets
//!   `sync_required: true`. Mail arrives with [`MockServer::deliver`] (or
//!   from a send of another mock mailbox): it lands in the Inbox (Junk
//!   when spam), moves the states, goes out on `GET /mailbox/events` and
//!   to the team's `message.received` webhooks. The event stream replays
//!   the last 1 000 events per mailbox from `Last-Event-ID`, pings every
//!   15 s by default, and can be made to fail ([`EventStreamConfig`]).
//!   Attachments download whole or by one `Range` (`206`, `416`), from
//!   the authenticated route or the download link in their metadata;
//!   uploads take up to 25 MiB
//!   ([`MockServerBuilder::attachment_upload_limit`]) directly or through
//!   a signed `PUT` URL that needs no key.
//! - A published operation without a handler answers `501` with the error
//!   envelope and the mock's own code `not_implemented` (not one the API
//!   sends), after auth and the rate limit.
//! - Unknown paths, and known paths with another method, get
//!   `404 not_found`. So do Sending API paths (`/emails/send`, ...) on the
//!   main port, and Management and Mailbox paths on the sending port: each
//!   listener stands for one host. Both share one request log (each
//!   [`RequestRecord`] names its `surface` and `port`), one set of fault
//!   rules and one clock.
//! - The Sending API (`--sending-port`, [`MockServer::sending_base_url`])
//!   takes `smx_mbx_` keys and `smx_agent_` tokens (`403` for a root key).
//!   A send is checked against the published schema (`422
//!   validation_error`, every problem in `errors[]`, missing fields
//!   included; `400` only for broken JSON), then against the mock's own
//!   rules: valid addresses, at most 50 recipients in `to`, `cc` and `bcc`,
//!   custom header names starting `X-`, inline attachments in base64,
//!   attachment ids uploaded by the team and not expired (all `422`). A
//!   mailbox key the mock issued sends only from its own mailbox's address
//!   (`403 insufficient_permissions`, `param: from.email`); any other key
//!   it accepts may use any sender. Each accepted message costs one credit,
//!   $0.000400, booked as a `USAGE` transaction in the team's ledger (so
//!   the balance agrees); without it the send is `402
//!   insufficient_credits` ([`MockServerBuilder::sending_credits`],
//!   [`MockServer::set_sending_credits`]). An accepted message is stored
//!   once in the outbox ([`MockServer::outbox`]; an idempotent replay adds
//!   an attempt, never a message), becomes a delivery log (`GET
//!   /emails/logs`, metrics) and is published to webhooks as
//!   `message.delivered`, or `message.bounced` (`Permanent`) for recipients
//!   at `bounce.invalid` (a message all of whose recipients bounce is logged
//!   `failed`). A recipient that is a mock mailbox also receives it in
//!   its Inbox (bodies and subject; attachments by name only), once per
//!   accepted message.
//! - A batch (`POST /emails/send/batch`, at most 100) checks each message on
//!   its own and answers `200` with a result per message (`queued` with its
//!   `message_id`, or `failed` with `message_id: null` and the error); it is
//!   refused whole only with more than 100 messages, when no message passes
//!   (`422`, errors as `messages.N.field`) or when the credits do not cover
//!   every message that passed (`402`, nothing sent). It is one request for
//!   the rate limit.
//! - Sending API attachments: `POST /emails/attachments?filename=..` stores
//!   the body (its media type from `content_type`, else `Content-Type`);
//!   `POST /emails/attachment-uploads` returns an upload URL on the sending
//!   port and the headers its `PUT` must send: the one-time
//!   `X-Sendmux-Upload-Token` (no API key; `401` without it), and exactly
//!   the `Content-Type` (`400` otherwise) and `Content-Length` (`413`
//!   otherwise) the upload named. Upload URLs last 15 minutes, attachments
//!   24 hours; files over [`MockServerBuilder::sending_attachment_limit`]
//!   (18 MiB) get `413`. `GET /openapi.json` serves the Sending API's
//!   document without a key, with a weak `ETag` (`304` for
//!   `If-None-Match`) and `Cache-Control: public, max-age=3600`, the one
//!   answer that is not `no-store`.
//! - Bodies: a wrong `Content-Type`, broken JSON or an empty body is
//!   `400 invalid_parameter`; a missing required field is
//!   `400 missing_parameter`; other schema violations are
//!   `400 invalid_parameter` on `POST /domains` (which documents only 400)
//!   and `422 validation_error` on `PATCH /domains/{id}` and
//!   `PUT /domains/{id}/filters` (which document 422; read from the spec
//!   per operation, not listed here). `param` names the
//!   first offending field (`rules.3.type`) and `errors[]` lists all.
//!   Bodies over the limit (1 MiB by default) get `413 payload_too_large`.
//! - Domain names are unique per team (each key is a team), so tests using
//!   different keys never collide.
//! - `PATCH` on a domain that is already `send_receive` is `409 conflict`.
//! - Webhooks are delivered for real: a handler queues the event and a
//!   worker that lives as long as the server POSTs it to each subscription
//!   that takes it, signed (`X-Sendmux-Signature: sha256=<hex HMAC-SHA256
//!   of the body under the secret>`, with `X-Sendmux-Event-Id` and
//!   `X-Sendmux-Event-Type`), without redirects, and records every attempt
//!   for `GET /webhooks/{id}/deliveries`. Failures (no answer, or not 2xx)
//!   are retried: 3 tries, 100 ms then 400 ms apart by default
//!   ([`MockServerBuilder::webhook_retry`]); the last failed try marks the
//!   subscription `failing` until it is enabled again. The secret shows
//!   only on create and rotate, and a rotation signs the very next try.
//!   Endpoints must be `https://` (`422 validation_error`) unless the
//!   server allows plain HTTP ([`MockServerBuilder::allow_http_webhooks`],
//!   `--allow-http-webhooks`) for a local test receiver. The published
//!   event types are message events and `sendmux.test`:
//!   `POST /webhooks/{id}/test` publishes the latter, and
//!   [`MockServer::emit_webhook_event`] the former, as mail flow would.
//! - Sending accounts: every team has its shared Amazon SES account
//!   (`is_shared`), which can be switched on and off but not edited,
//!   deleted or tested (`422 validation_error`). Custom SMTP accounts keep
//!   their password and only ever show `has_smtp_password`; up to five are
//!   allowed (`409 limit_exceeded`). A connection test fails for a host
//!   under `.invalid` and passes for any other. One request for more
//!   accounts and one shared SES limit request may be open at a time
//!   (`409 conflict`); nobody reviews them, and the SES one can be
//!   cancelled while pending.
//! - Idempotency keys apply to the operations that declare
//!   `Idempotency-Key` (`POST /domains`, `POST /mailboxes`, ...): scoped
//!   per (team, operation, key), kept 24 h on the server clock, bodies
//!   compared as JSON (key order does not matter). Replays carry the
//!   original status, headers and body (and `Idempotent-Replayed: true`),
//!   so a replayed mailbox creation hands back the same key.
//! - What a key stores follows one rule (as the best-known APIs do): a
//!   request refused for its input before it executes stores nothing, so
//!   the corrected request may reuse the key. That covers the schema check
//!   and a handler's own input checks alike (`400 invalid_parameter`,
//!   `400 missing_parameter`, `422 validation_error`, e.g. an uppercase
//!   domain name). A request that executed stores its answer, success or
//!   error: a `409 conflict` for a domain name already in use is replayed
//!   for that key even after the name is free again. Answers given before
//!   the key is looked at (auth, rate limit, injected faults, `413`) store
//!   nothing either.
//! - Robustness: a client has [`DEFAULT_BODY_READ_TIMEOUT`] (configurable)
//!   to send a request body; a late API body gets `408` in the error
//!   envelope (code `invalid_parameter`, the closest published one) and the
//!   connection is closed. A panic while handling a request is answered
//!   `500 internal_error` in the envelope and reported on stderr. Clock
//!   arithmetic saturates, so `clock/advance` by any amount leaves a
//!   working server. Malformed or oversized request heads are answered by
//!   hyper itself (`400`, `414`, `431`, no body), before the mock sees them.
//! - The binary: `sendmux-mock --port 8080 --sending-port 8081 --seed 1
//!   [--accept-key KEY]...
//!   [--fault KIND@RATE[,op=ID][,times=N][,ms=N][,retry_after=S][,when=after_commit]]...
//!   [--host ADDR --admin-token TOKEN] [--body-timeout-ms MS]
//!   [--allow-http-webhooks] [--sending-credits N]`
//!   prints the base URL on stdout, then the Sending API's on the next
//!   line; `--help` lists the rest.
//!
//! # Example
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use sendmux_mock::{FaultKind, FaultRule, MockServer};
//!
//! let server = MockServer::builder()
//!     .seed(7)
//!     .fault(FaultRule::new(FaultKind::InternalError, 0.1).on_operation("managementGetDomain"))
//!     .start()
//!     .await?;
//! // Point a client at it; any well-formed `smx_root_...` key works.
//! println!("{}", server.base_url()); // http://127.0.0.1:PORT/api/v1
//! assert_eq!(server.domain_count("smx_root_test"), 0);
//! server.shutdown().await;
//! # Ok(()) }
//! ```

mod admin;
mod api;
mod app;
mod clock;
mod collection;
mod config;
mod ids;
mod mocking;
mod resources;
mod serve;
mod tls;
mod validate;

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::any;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use app::RequestRecord;
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::EventStreamConfig;
pub use config::{FaultConfig, FaultKind, FaultPhase, FaultRule, Propagation, RateLimit};
pub use mocking::OperationRef;
pub use mocking::expectations::{Expectation, ExpectationError};
pub use mocking::received::{DEFAULT_BODY_CAPTURE, ReceivedBodyError, ReceivedRequest};
pub use mocking::stubs::{ErrorCode, Stub};
pub use resources::domains::DomainSummary;
pub use resources::mailbox_api::{DeliverError, InboundMessage};
pub use resources::mailboxes::MailboxSummary;
pub use resources::sending::OutboxMessage;
/// The operation table the mock routes by: pass `ops::MANAGEMENT_CREATE_DOMAIN`
/// (or the id, `"managementCreateDomain"`) to [`MockServer::stub`],
/// [`MockServer::expect`] and [`MockServer::received`].
pub use sendmux_operations::{Operation, ops};

use app::{App, Listeners, RateLimits, Settings, lock};
use clock::ServerClock;

/// Default largest attachment of the Sending API: 18 MiB, the published
/// `max_size_bytes` of an upload.
pub const DEFAULT_SENDING_ATTACHMENT_LIMIT: usize = 18 * 1024 * 1024;
/// Default request-body limit: 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
/// Default number of request-log entries kept.
pub const DEFAULT_LOG_CAPACITY: usize = 10_000;
/// Default time a client gets to send a whole request body: 10 s.
pub const DEFAULT_BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// A running mock server. Dropping it stops the server (abruptly); call
/// [`shutdown`](Self::shutdown) to let running requests finish.
pub struct MockServer {
    addr: SocketAddr,
    sending_addr: SocketAddr,
    app: Arc<App>,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
    /// The accept loop of the Sending API's listener.
    sending_task: Option<JoinHandle<()>>,
    /// The webhook delivery worker; stops with the server.
    deliveries: Option<JoinHandle<()>>,
}

impl fmt::Debug for MockServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockServer")
            .field("addr", &self.addr)
            .field("sending_addr", &self.sending_addr)
            .field("seed", &self.app.settings.seed)
            .finish_non_exhaustive()
    }
}

impl MockServer {
    /// Starts a server with default settings on `127.0.0.1` and a random
    /// port.
    pub async fn start() -> std::io::Result<Self> {
        Self::builder().start().await
    }

    /// A builder for seed, port, keys, limits, faults, propagation and
    /// clock.
    pub fn builder() -> MockServerBuilder {
        MockServerBuilder::default()
    }

    /// The socket address of the Management and Mailbox APIs (and the
    /// admin API).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT/api/v1`, the base URL of the Management and
    /// Mailbox APIs (`https://app.sendmux.ai/api/v1` in production).
    pub fn base_url(&self) -> String {
        format!("http://{}/api/v1", self.addr)
    }

    /// The socket address of the Sending API, a listener of its own as the
    /// API has its own host.
    pub fn sending_addr(&self) -> SocketAddr {
        self.sending_addr
    }

    /// `http://127.0.0.1:PORT/api/v1` on the sending port, the base URL of
    /// the Sending API (`https://smtp.sendmux.ai/api/v1` in production):
    /// `POST {sending_base_url}/emails/send` and the rest of `/emails/...`,
    /// and `GET {sending_base_url}/openapi.json`.
    ///
    /// ```no_run
    /// # async fn demo() -> std::io::Result<()> {
    /// let server = sendmux_mock::MockServer::start().await?;
    /// assert_ne!(server.sending_base_url(), server.base_url());
    /// # Ok(()) }
    /// ```
    pub fn sending_base_url(&self) -> String {
        format!("http://{}/api/v1", self.sending_addr)
    }

    /// `http://127.0.0.1:PORT/__mock`, the base of the admin endpoints.
    pub fn admin_url(&self) -> String {
        format!("http://{}{}", self.addr, admin::PREFIX)
    }

    /// Stops accepting connections, lets running requests finish (up to a
    /// few seconds), and waits for the server task.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        if let Some(task) = self.sending_task.take() {
            let _ = task.await;
        }
        if let Some(worker) = self.deliveries.take() {
            let _ = worker.await;
        }
    }

    /// Number of domains of the team that `api_key` belongs to.
    pub fn domain_count(&self, api_key: &str) -> usize {
        let team = self.app.team_of(api_key);
        lock(&self.app.resources).domains.team_len(&team)
    }

    /// Number of domains over all teams.
    pub fn total_domain_count(&self) -> usize {
        lock(&self.app.resources).domains.len()
    }

    /// Stored domains of the team of `api_key` (all teams with `None`),
    /// newest first.
    pub fn domains(&self, api_key: Option<&str>) -> Vec<DomainSummary> {
        let team = api_key.map(|k| self.app.team_of(k));
        resources::domains::summaries(&self.app, team.as_deref())
    }

    /// The team id the server assigns to `api_key` (as in
    /// [`RequestRecord::team`]).
    pub fn team_of(&self, api_key: &str) -> String {
        self.app.team_of(api_key)
    }

    /// Stored mailboxes of the team of `api_key` (all teams with `None`),
    /// newest first, deleted ones included. Never their keys.
    pub fn mailboxes(&self, api_key: Option<&str>) -> Vec<MailboxSummary> {
        let team = api_key.map(|k| self.app.team_of(k));
        resources::mailboxes::summaries(&self.app, team.as_deref())
    }

    /// The request log, oldest first (bounded; see
    /// [`MockServerBuilder::request_log_capacity`]).
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.app.records()
    }

    /// Empties the request log.
    pub fn clear_requests(&self) {
        lock(&self.app.log).clear();
    }

    /// The next calls of `operation` (every one, until narrowed with
    /// [`Stub::times`]) answer `status` with `body`, exactly as given (no
    /// envelope is added), instead of the handler. For use in a test of
    /// code that calls the API:
    ///
    /// - The stub answers after auth and the rate limit (a call without a
    ///   valid key still gets `401`) and after the request's body was
    ///   checked (a request the API would refuse is refused, and uses up
    ///   no answer). Its answer is not stored under an `Idempotency-Key`.
    /// - The answer carries the usual headers: `X-Request-Id`,
    ///   `Cache-Control`, `X-RateLimit-*`; an envelope body (an object
    ///   with a boolean `ok`) gets this request's id as `meta.request_id`;
    ///   an `ETag` (from the body) and a `Location` (the request's path
    ///   and `data.id`) are added where the document declares them for
    ///   that status, and `Retry-After: 1` to a `429` or `503`.
    ///   [`Stub::insert_header`] sets any header.
    /// - `Value::Null` as `body` sends no body (a `204`, a `304`).
    /// - The answer is checked against the published document: one that
    ///   breaks it (a field missing from `data`, a status the operation
    ///   never answers) is listed in [`RequestRecord::violations`] and
    ///   reported by [`verify`](Self::verify) and when the server is
    ///   dropped, so a test does not rest on an answer the API would never
    ///   give. [`stub_unchecked`](Self::stub_unchecked) skips the check.
    /// - The newest armed stub of an operation answers first; when it is
    ///   used up, older ones (or the handler) answer again.
    ///
    /// An operation id that names no operation arranges nothing; it is
    /// reported by [`verify`](Self::verify) and on drop.
    ///
    /// ```no_run
    /// # async fn demo() -> std::io::Result<()> {
    /// use sendmux_mock::{MockServer, ops};
    /// use serde_json::json;
    ///
    /// let server = MockServer::start().await?;
    /// // The first listing answers an empty page; later ones are the mock's own.
    /// server
    ///     .stub(
    ///         ops::MANAGEMENT_LIST_DOMAINS,
    ///         200,
    ///         json!({ "ok": true, "data": [], "pagination": { "has_more": false } }),
    ///     )
    ///     .times(1);
    /// # Ok(()) }
    /// ```
    pub fn stub(
        &self,
        operation: impl Into<OperationRef>,
        status: u16,
        body: serde_json::Value,
    ) -> Stub {
        self.arrange(
            "stub",
            operation.into(),
            mocking::stubs::NewReply::Body { status, body },
            None,
            true,
        )
    }

    /// [`stub`](Self::stub) without the check against the published
    /// document: for an answer the API does not describe, on purpose (a
    /// malformed body, to test a client's decoding errors).
    pub fn stub_unchecked(
        &self,
        operation: impl Into<OperationRef>,
        status: u16,
        body: serde_json::Value,
    ) -> Stub {
        self.arrange(
            "stub_unchecked",
            operation.into(),
            mocking::stubs::NewReply::Body { status, body },
            None,
            false,
        )
    }

    /// The next `times` calls of `operation` answer the error envelope of
    /// `code` ([`ErrorCode`], or its text: `"conflict"`) with its usual
    /// status: `403 insufficient_permissions`, `409 conflict`,
    /// `422 validation_error`, `429 rate_limit_exceeded` and
    /// `503 service_unavailable` (both retryable, with `Retry-After: 1`),
    /// ... So code that calls the API can be tested on each error without
    /// arranging the state that causes it. Otherwise like
    /// [`stub`](Self::stub): after auth, not stored for idempotent replay,
    /// the handler answers again afterwards. An unknown code arranges
    /// nothing and is reported by [`verify`](Self::verify).
    ///
    /// ```no_run
    /// # async fn demo() -> std::io::Result<()> {
    /// use sendmux_mock::{ErrorCode, MockServer, ops};
    ///
    /// let server = MockServer::start().await?;
    /// server.fail_next(ops::MANAGEMENT_CREATE_DOMAIN, ErrorCode::Conflict, 1);
    /// server.fail_next("managementGetDomain", "insufficient_permissions", 2);
    /// # Ok(()) }
    /// ```
    pub fn fail_next(
        &self,
        operation: impl Into<OperationRef>,
        code: impl AsRef<str>,
        times: u64,
    ) -> Stub {
        self.arrange(
            "fail_next",
            operation.into(),
            mocking::stubs::NewReply::Error(code.as_ref().to_owned()),
            Some(times),
            true,
        )
    }

    fn arrange(
        &self,
        what: &str,
        operation: OperationRef,
        reply: mocking::stubs::NewReply,
        times: Option<u64>,
        checked: bool,
    ) -> Stub {
        match mocking::stubs::arm(&self.app, operation.resolve(), reply, times, checked) {
            Ok(stub) => stub,
            Err(problem) => {
                self.app.mocking.problem(format!("{what}: {problem}"));
                Stub::inert(&self.app)
            }
        }
    }

    /// Disarms every stub: the handlers answer from now on.
    pub fn clear_stubs(&self) {
        lock(&self.app.mocking.stubs).clear();
    }

    /// Expects calls of `operation`: at least one, until narrowed with
    /// [`Expectation::times`], [`at_least`](Expectation::at_least) or
    /// [`at_most`](Expectation::at_most), counting only calls that meet
    /// [`with_header`](Expectation::with_header) and
    /// [`with_body_field`](Expectation::with_body_field) when given.
    /// Calls count from now on, whatever their answer.
    ///
    /// Checked by [`verify`](Self::verify), and when the server is dropped
    /// (a panic with the same report, unless the thread is panicking
    /// already or `verify` checked it).
    ///
    /// ```no_run
    /// # async fn demo() -> std::io::Result<()> {
    /// use sendmux_mock::{MockServer, ops};
    ///
    /// let server = MockServer::start().await?;
    /// server
    ///     .expect(ops::MANAGEMENT_CREATE_DOMAIN)
    ///     .times(1)
    ///     .with_body_field("/domain", "mail.acme.com");
    /// // ... run the code under test against server.base_url() ...
    /// if let Err(failed) = server.verify() {
    ///     panic!("{failed}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn expect(&self, operation: impl Into<OperationRef>) -> Expectation {
        mocking::expectations::expect(&self.app, operation.into().resolve())
    }

    /// Checks every expectation, every stub's answers and the test's setup
    /// (unknown operation ids or error codes, bad header names). The error
    /// is a readable report: what was expected, and the calls of that
    /// operation that did arrive (method, path, status, trimmed body,
    /// secrets redacted). What it checked is not checked again on drop.
    pub fn verify(&self) -> Result<(), ExpectationError> {
        mocking::expectations::verify(&self.app, true)
    }

    /// The calls of `operation` in the request log, oldest first, as typed
    /// values: method, path and its parameters, query, headers
    /// (`Authorization` redacted) and the JSON body (fields named like
    /// secrets redacted; see
    /// [`MockServerBuilder::request_body_capture`]). Bounded by the log
    /// ([`MockServerBuilder::request_log_capacity`]).
    ///
    /// ```no_run
    /// # async fn demo(server: sendmux_mock::MockServer) {
    /// use sendmux_mock::ops;
    ///
    /// for call in server.received(ops::MANAGEMENT_CREATE_DOMAIN) {
    ///     assert!(call.header("idempotency-key").is_some());
    ///     println!("{:?} -> {:?}", call.body, call.status);
    /// }
    /// # }
    /// ```
    pub fn received(&self, operation: impl Into<OperationRef>) -> Vec<ReceivedRequest> {
        let op = match operation.into().resolve() {
            Ok(op) => op,
            Err(problem) => {
                self.app.mocking.problem(format!("received: {problem}"));
                return Vec::new();
            }
        };
        lock(&self.app.log)
            .entries
            .iter()
            .filter(|entry| entry.operation == op.id)
            .map(|entry| ReceivedRequest::from_entry(op, entry))
            .collect()
    }

    /// The bodies of the calls of `operation`, oldest first, each decoded
    /// into `T` (a type of the test's own, or of the client). Fails on the
    /// first call without a kept JSON body or whose body does not decode.
    ///
    /// ```no_run
    /// # async fn demo(server: sendmux_mock::MockServer) -> Result<(), sendmux_mock::ReceivedBodyError> {
    /// #[derive(serde::Deserialize)]
    /// struct NewDomain {
    ///     domain: String,
    /// }
    /// let created: Vec<NewDomain> = server.received_as("managementCreateDomain")?;
    /// assert_eq!(created[0].domain, "mail.acme.com");
    /// # Ok(()) }
    /// ```
    pub fn received_as<T: serde::de::DeserializeOwned>(
        &self,
        operation: impl Into<OperationRef>,
    ) -> Result<Vec<T>, ReceivedBodyError> {
        self.received(operation)
            .iter()
            .map(ReceivedRequest::body_as)
            .collect()
    }

    /// Forgets every stored resource, idempotency records, rate-limit
    /// windows and the request log. Configuration (faults, limits,
    /// propagation) stays.
    pub fn reset(&self) {
        self.app.reset();
    }

    /// Replaces the fault rules (and restarts their `times` counters).
    pub fn set_faults(&self, faults: FaultConfig) {
        let mut f = lock(&self.app.faults);
        f.config = faults;
        f.fired.clear();
    }

    /// The current fault rules.
    pub fn faults(&self) -> FaultConfig {
        lock(&self.app.faults).config.clone()
    }

    /// Changes how verification behaves from now on.
    pub fn set_propagation(&self, propagation: Propagation) {
        *lock(&self.app.propagation) = propagation;
    }

    /// Changes the rate limit of root keys from now on.
    pub fn set_rate_limit(&self, rate_limit: RateLimit) {
        lock(&self.app.rate).config.root = rate_limit;
    }

    /// Changes the rate limit of mailbox keys and agent tokens (Mailbox
    /// and Sending APIs) from now on.
    pub fn set_mailbox_rate_limit(&self, rate_limit: RateLimit) {
        lock(&self.app.rate).config.mailbox = rate_limit;
    }

    /// Moves the server clock forward (on top of the configured clock).
    pub fn advance_clock(&self, by: std::time::Duration) {
        self.app.clock.advance(by);
    }

    /// Idempotency keys whose first request is still being processed.
    pub fn idempotency_in_flight(&self) -> usize {
        lock(&self.app.store).idempotency_in_flight()
    }

    /// API requests currently being handled.
    pub fn requests_in_flight(&self) -> usize {
        self.app
            .api_in_flight
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Webhook deliveries queued or still being tried, waits between
    /// retries included. Once it is 0, every attempt so far is listed by
    /// `GET /webhooks/{id}/deliveries`.
    pub fn webhook_deliveries_in_flight(&self) -> usize {
        self.app.webhook_dispatch.in_flight()
    }

    /// Every message the Sending API accepted, oldest first, across all
    /// teams: each is stored once, whatever the retries (an idempotent
    /// replay only counts an attempt). See [`OutboxMessage`].
    ///
    /// ```no_run
    /// # async fn demo(server: sendmux_mock::MockServer) {
    /// for message in server.outbox() {
    ///     println!("{} to {} ({} attempts)", message.id, message.to, message.attempts);
    /// }
    /// # }
    /// ```
    pub fn outbox(&self) -> Vec<OutboxMessage> {
        lock(&self.app.resources).sending.outbox.summaries()
    }

    /// Sets the balance of the team of `api_key` (a root key, or a mailbox
    /// key the mock issued, which speaks for its mailbox's team) to exactly
    /// `credits` messages' worth from now on: an `ADJUSTMENT` in its
    /// ledger, so `GET /billing/balance` agrees. Each message the Sending
    /// API accepts costs one credit ($0.000400); with none left, sends get
    /// `402 insufficient_credits`.
    pub fn set_sending_credits(&self, api_key: &str, credits: u64) {
        let team = self.app.team_for_key(api_key);
        let now = self.app.clock.unix_millis();
        let mut store = lock(&self.app.resources);
        resources::billing::set_credits(&mut store, self.app.settings.seed, &team, now, credits);
    }

    /// Publishes a message event of the team of `api_key`, as the API does
    /// when mail is delivered, bounces or arrives: every enabled webhook
    /// subscription of the team that lists `event_type` (and, for the
    /// inbound `message.received*` events, whose mailbox filter is empty
    /// or names `mailbox_id`) gets a signed delivery. Returns the event id
    /// (`evt_...`), or `None` when `event_type` is not a published message
    /// event type (`sendmux.test` targets one subscription: use
    /// `POST /webhooks/{id}/test`).
    ///
    /// ```no_run
    /// # async fn demo(server: sendmux_mock::MockServer) {
    /// let event = server.emit_webhook_event("smx_root_test", "message.received", Some("mbx_1"));
    /// assert!(event.is_some_and(|id| id.starts_with("evt_")));
    /// # }
    /// ```
    pub fn emit_webhook_event(
        &self,
        api_key: &str,
        event_type: &str,
        mailbox_id: Option<&str>,
    ) -> Option<String> {
        let team = self.app.team_of(api_key);
        resources::webhooks::emit_for_team(&self.app, &team, event_type, mailbox_id)
    }

    /// Delivers `message` to a mailbox, named by its id (`mbx_...`) or by
    /// a live mailbox key the mock issued, as mail arriving from outside:
    /// an unread message in the Inbox (Junk when [`InboundMessage::spam`])
    /// in its thread, new Mailbox API states and change records, an event
    /// on the mailbox's `GET /mailbox/events` streams and a
    /// `message.received` (or `.spam`) webhook event for the team.
    /// Returns the new message's id (`msg_...`).
    ///
    /// ```no_run
    /// # async fn demo(server: sendmux_mock::MockServer, mailbox_key: &str)
    /// # -> Result<(), sendmux_mock::DeliverError> {
    /// use sendmux_mock::InboundMessage;
    ///
    /// let id = server.deliver(mailbox_key, InboundMessage {
    ///     from: "Ada <ada@example.com>".into(),
    ///     subject: "Hello".into(),
    ///     text: Some("Hi there".into()),
    ///     ..InboundMessage::default()
    /// })?;
    /// assert!(id.starts_with("msg_"));
    /// # Ok(()) }
    /// ```
    pub fn deliver(
        &self,
        mailbox_key_or_id: &str,
        message: InboundMessage,
    ) -> Result<String, DeliverError> {
        resources::mailbox_api::deliver_inbound(&self.app, mailbox_key_or_id, &message)
            .map(|delivered| delivered.message_id)
    }

    /// `len` bytes made from the server's seed, the same on every run: a
    /// large attachment for [`deliver`](Self::deliver) at the cost of one
    /// allocation (the server keeps this `Bytes`, never a copy, and
    /// downloads are slices of it).
    pub fn generated_bytes(&self, len: usize) -> bytes::Bytes {
        resources::mailbox_api::generated(self.app.settings.seed, len)
    }

    /// Changes how `GET /mailbox/events` streams opened from now on
    /// behave (ping interval, pings, a cut after N events).
    pub fn set_event_stream(&self, config: EventStreamConfig) {
        self.app.mailbox_runtime.set_config(config);
    }

    /// How event streams behave now.
    pub fn event_stream(&self) -> EventStreamConfig {
        self.app.mailbox_runtime.config()
    }
}

impl Drop for MockServer {
    /// Stops the server, then checks what [`verify`](MockServer::verify)
    /// has not checked yet: an expectation not met, a stub that answered
    /// what the API never sends, or a setup mistake fails the test here,
    /// with the same report. Not while the thread is already panicking
    /// (a failed assertion stays the one reported).
    #[allow(clippy::panic)]
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        if std::thread::panicking() {
            return;
        }
        if let Err(failed) = mocking::expectations::verify(&self.app, false) {
            // A test double's verdict: failing the test that owns the
            // server is the point, as with an assertion.
            panic!("{failed}");
        }
    }
}

/// Configuration of a [`MockServer`] before it starts.
pub struct MockServerBuilder {
    seed: u64,
    addr: SocketAddr,
    /// Port of the Sending API's listener (0: any free one).
    sending_port: u16,
    accept_keys: Vec<String>,
    rate_limit: RateLimit,
    mailbox_rate_limit: RateLimit,
    faults: FaultConfig,
    propagation: Propagation,
    clock: Arc<dyn Clock>,
    max_body_bytes: usize,
    log_capacity: usize,
    self_check: bool,
    body_capture: usize,
    body_read_timeout: std::time::Duration,
    admin_token: Option<String>,
    webhooks: resources::webhooks::DeliverySettings,
    sending_credits: Option<u64>,
    sending_attachment_limit: usize,
    mailbox: resources::mailbox_api::Settings,
}

impl Default for MockServerBuilder {
    fn default() -> Self {
        Self {
            seed: 0,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            sending_port: 0,
            accept_keys: Vec::new(),
            rate_limit: RateLimit::ROOT,
            mailbox_rate_limit: RateLimit::MAILBOX,
            faults: FaultConfig::default(),
            propagation: Propagation::default(),
            clock: Arc::new(SystemClock),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            log_capacity: DEFAULT_LOG_CAPACITY,
            self_check: false,
            body_capture: DEFAULT_BODY_CAPTURE,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            admin_token: None,
            webhooks: resources::webhooks::DeliverySettings::default(),
            sending_credits: None,
            sending_attachment_limit: DEFAULT_SENDING_ATTACHMENT_LIMIT,
            mailbox: resources::mailbox_api::Settings::default(),
        }
    }
}

impl fmt::Debug for MockServerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Accepted keys are credentials: show how many, never which.
        f.debug_struct("MockServerBuilder")
            .field("seed", &self.seed)
            .field("addr", &self.addr)
            .field("sending_port", &self.sending_port)
            .field("accept_keys", &self.accept_keys.len())
            .field("rate_limit", &self.rate_limit)
            .field("mailbox_rate_limit", &self.mailbox_rate_limit)
            .field("faults", &self.faults)
            .field("propagation", &self.propagation)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("log_capacity", &self.log_capacity)
            .field("self_check", &self.self_check)
            .field("body_capture", &self.body_capture)
            .field("body_read_timeout", &self.body_read_timeout)
            // A credential too: say whether there is one, never which.
            .field("admin_token", &self.admin_token.is_some())
            .field("webhooks", &self.webhooks)
            .field("sending_credits", &self.sending_credits)
            .field("sending_attachment_limit", &self.sending_attachment_limit)
            .field("mailbox", &self.mailbox)
            .finish_non_exhaustive()
    }
}

impl MockServerBuilder {
    /// Seed for ids, DNS tokens and fault draws (default 0).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Port on `127.0.0.1` (default 0: any free port).
    pub fn port(mut self, port: u16) -> Self {
        self.addr.set_port(port);
        self
    }

    /// Full listen address (default `127.0.0.1:0`). The Sending API
    /// listens on the same address, on its own port.
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// Port of the Sending API's listener (default 0: any free port), on
    /// the address of [`bind`](Self::bind). Its base URL is
    /// [`MockServer::sending_base_url`].
    pub fn sending_port(mut self, port: u16) -> Self {
        self.sending_port = port;
        self
    }

    /// Accept only these keys (repeatable). Without any, every well-formed
    /// key with a known prefix is accepted.
    pub fn accept_key(mut self, key: impl Into<String>) -> Self {
        self.accept_keys.push(key.into());
        self
    }

    /// Fixed-window rate limit of each root key (`smx_root_`, the
    /// Management API; default [`RateLimit::ROOT`], 600 per 60 s). Every
    /// key has a window of its own.
    pub fn rate_limit(mut self, limit: u32, window_secs: u64) -> Self {
        self.rate_limit = RateLimit {
            limit,
            window_secs: window_secs.max(1),
        };
        self
    }

    /// Fixed-window rate limit of each mailbox key and agent token
    /// (`smx_mbx_`, `smx_agent_`: the Mailbox and Sending APIs; default
    /// [`RateLimit::MAILBOX`], 1,800 per 60 s). A batch send counts as one
    /// request.
    pub fn mailbox_rate_limit(mut self, limit: u32, window_secs: u64) -> Self {
        self.mailbox_rate_limit = RateLimit {
            limit,
            window_secs: window_secs.max(1),
        };
        self
    }

    /// Replaces all fault rules.
    pub fn faults(mut self, faults: FaultConfig) -> Self {
        self.faults = faults;
        self
    }

    /// Adds one fault rule.
    pub fn fault(mut self, rule: FaultRule) -> Self {
        self.faults.rules.push(rule);
        self
    }

    /// Verification behaviour (default: the second verify call succeeds).
    pub fn propagation(mut self, propagation: Propagation) -> Self {
        self.propagation = propagation;
        self
    }

    /// The time source (default: the system clock). Pass a
    /// [`ManualClock`] clone to move time from a test.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Largest accepted request body (default 1 MiB); larger ones get 413.
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// How long a client has to send a whole request body once its head
    /// arrived (default [`DEFAULT_BODY_READ_TIMEOUT`]). An API request whose
    /// body is late gets `408` with the error envelope (code
    /// `invalid_parameter`, nothing executed) and the connection is closed;
    /// a late admin body gets a plain `400`, and its connection closes too.
    /// So a client that sends part of a body and stalls cannot hold a
    /// connection for longer than this.
    pub fn body_read_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.body_read_timeout = timeout;
        self
    }

    /// Requires `Authorization: Bearer TOKEN` on every `/__mock/` admin
    /// call (others get `401 authentication_required` in the error
    /// envelope). Optional on a loopback address; required when the server
    /// binds any other address, where [`start`](Self::start) refuses to
    /// run without it, because the admin API can read every team's data
    /// and reset the server.
    pub fn admin_token(mut self, token: impl Into<String>) -> Self {
        self.admin_token = Some(token.into());
        self
    }

    /// Accept `http://` webhook URLs (default off: like the API, the mock
    /// refuses any URL but `https://` with `422 validation_error`). Turn it
    /// on to receive the mock's signed deliveries on a plain local server
    /// in tests; `--allow-http-webhooks` on the command line.
    pub fn allow_http_webhooks(mut self, allow: bool) -> Self {
        self.webhooks.allow_http = allow;
        self
    }

    /// How a failed webhook delivery (an answer other than 2xx, or no
    /// answer) is retried: `max_attempts` tries in all (at least 1;
    /// default 3), the second `first_backoff` after the first (default
    /// 100 ms) and each later wait four times the one before, capped at
    /// 30 s. The attempts are listed by `GET /webhooks/{id}/deliveries`.
    pub fn webhook_retry(mut self, max_attempts: u32, first_backoff: std::time::Duration) -> Self {
        self.webhooks.max_attempts = max_attempts.max(1);
        self.webhooks.first_backoff = first_backoff;
        self
    }

    /// Deadline of one webhook delivery try, answer included (default
    /// 5 s); a late endpoint counts as a failed try (`timeout`).
    pub fn webhook_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.webhooks.timeout = timeout;
        self
    }

    /// Every team starts with exactly `credits` messages' worth of balance
    /// (default: whatever its seeded ledger leaves, usually tens of
    /// dollars). Each message the Sending API accepts costs one credit
    /// ($0.000400), booked as a `USAGE` transaction; a send the balance
    /// cannot pay for gets `402 insufficient_credits`. The ledger closes
    /// with an `ADJUSTMENT` to that balance, so the billing operations
    /// agree. [`MockServer::set_sending_credits`] changes one team later.
    pub fn sending_credits(mut self, credits: u64) -> Self {
        self.sending_credits = Some(credits);
        self
    }

    /// Change records the Mailbox API keeps per mailbox and resource type
    /// (default 10 000, at least 1). `changes` since a state older than
    /// the oldest record kept answers `sync_required: true`; a small log
    /// makes that easy to test.
    pub fn mailbox_change_log_capacity(mut self, records: usize) -> Self {
        self.mailbox.change_log = records.max(1);
        self
    }

    /// Live events kept per mailbox for `Last-Event-ID` replay (default
    /// 1 000, at least 1). A client resuming from an older id gets
    /// `sync_required`.
    pub fn mailbox_event_buffer(mut self, events: usize) -> Self {
        self.mailbox.event_buffer = events.max(1);
        self
    }

    /// Largest attachment the Mailbox API takes, by direct upload or a
    /// signed URL (default 25 MiB); larger ones get `413
    /// payload_too_large`.
    pub fn attachment_upload_limit(mut self, bytes: usize) -> Self {
        self.mailbox.attachment_max_bytes = bytes;
        self
    }

    /// How `GET /mailbox/events` streams behave at start (see
    /// [`MockServer::set_event_stream`] to change it later).
    pub fn event_stream(mut self, config: EventStreamConfig) -> Self {
        self.mailbox.events = config;
        self
    }

    /// Interval of `ping` events on streams whose request names none
    /// (default 15 s; a request's `ping` takes whole seconds from 10).
    pub fn sse_ping_interval(mut self, every: std::time::Duration) -> Self {
        self.mailbox.events.ping_interval_ms =
            u64::try_from(every.as_millis()).unwrap_or(u64::MAX).max(1);
        self
    }

    /// Send `ping` events (default on). Off, a client's liveness timeout
    /// can be tested.
    pub fn sse_pings(mut self, on: bool) -> Self {
        self.mailbox.events.pings = on;
        self
    }

    /// Cut every event stream (the connection drops mid-body) right after
    /// `events` events, pings not counted: for testing a client's
    /// reconnect with `Last-Event-ID`.
    pub fn sse_cut_after(mut self, events: u64) -> Self {
        self.mailbox.events.cut_after = Some(events);
        self
    }

    /// Largest attachment the Sending API takes, in bytes (default
    /// [`DEFAULT_SENDING_ATTACHMENT_LIMIT`], 18 MiB, the published
    /// `max_size_bytes`): a bigger direct upload, or an upload URL asked
    /// for a bigger file, gets `413 payload_too_large`. It is also the
    /// `max_size_bytes` an upload URL reports.
    pub fn sending_attachment_limit(mut self, bytes: usize) -> Self {
        self.sending_attachment_limit = bytes;
        self
    }

    /// Request-log entries kept (default 10 000; 0 disables the log).
    pub fn request_log_capacity(mut self, entries: usize) -> Self {
        self.log_capacity = entries;
        self
    }

    /// Largest JSON request body the request log keeps, in bytes (default
    /// [`DEFAULT_BODY_CAPTURE`], 64 KiB; 0 keeps none). Kept bodies are
    /// what [`MockServer::received`] decodes and what
    /// [`RequestRecord::body`] shows, with the value of every field whose
    /// name contains `password`, `secret`, `token`, `api_key` or
    /// `authorization` replaced by `"[redacted]"` before it is stored.
    /// Larger bodies, and binary ones, are counted
    /// ([`RequestRecord::body_size`]) but not kept; over the whole log at
    /// most 64 MiB of bodies are kept, the oldest dropped first.
    pub fn request_body_capture(mut self, bytes: usize) -> Self {
        self.body_capture = bytes;
        self
    }

    /// Validate every API response against the spec with
    /// `sendmux-conformance` and record violations in
    /// [`RequestRecord::violations`] (default off: it costs more than the
    /// rest of a request; needs the request log).
    pub fn self_check(mut self, on: bool) -> Self {
        self.self_check = on;
        self
    }

    /// Binds the socket and starts serving on the current Tokio runtime.
    pub async fn start(self) -> std::io::Result<MockServer> {
        // Before binding: a public listener must never serve an open admin
        // API, not even for a moment.
        if !self.addr.ip().is_loopback() && self.admin_token.as_deref().is_none_or(str::is_empty) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "refusing to listen on {}: the /__mock/ admin API can read every team's data \
                     and reset the server, so a non-loopback address needs an admin token \
                     (--admin-token TOKEN, or MockServerBuilder::admin_token)",
                    self.addr.ip()
                ),
            ));
        }
        let listener = TcpListener::bind(self.addr).await?;
        let addr = listener.local_addr()?;
        let sending_listener =
            TcpListener::bind(SocketAddr::new(self.addr.ip(), self.sending_port)).await?;
        let sending_addr = sending_listener.local_addr()?;
        let app = Arc::new(App::new(
            Settings {
                seed: self.seed,
                accept_keys: self.accept_keys,
                max_body_bytes: self.max_body_bytes,
                log_capacity: self.log_capacity,
                self_check: self.self_check,
                body_capture: self.body_capture,
                body_read_timeout: self.body_read_timeout,
                admin_token: self.admin_token.filter(|t| !t.is_empty()),
                webhooks: self.webhooks,
                listeners: Listeners {
                    main: addr,
                    sending: sending_addr,
                },
                sending_credits: self.sending_credits,
                sending_attachment_limit: self.sending_attachment_limit,
                mailbox: self.mailbox,
            },
            ServerClock::new(self.clock),
            RateLimits {
                root: self.rate_limit,
                mailbox: self.mailbox_rate_limit,
            },
            self.faults,
            self.propagation,
        ));
        let (tx, rx) = watch::channel(false);
        app.mailbox_runtime.watch_shutdown(rx.clone());
        let router = router(Arc::clone(&app));
        let deliveries = tokio::spawn(resources::webhooks::delivery::run(
            Arc::clone(&app),
            rx.clone(),
        ));
        let sending_task = tokio::spawn(serve::serve(
            sending_listener,
            sending_router(Arc::clone(&app)),
            Arc::clone(&app),
            rx.clone(),
        ));
        let task = tokio::spawn(serve::serve(listener, router, Arc::clone(&app), rx));
        Ok(MockServer {
            addr,
            sending_addr,
            app,
            shutdown: tx,
            task: Some(task),
            sending_task: Some(sending_task),
            deliveries: Some(deliveries),
        })
    }
}

/// One catch-all route for the API (resolved through the operation table
/// in [`api::route`]), the admin routes, and envelope-shaped 404s for the
/// rest.
fn router(app: Arc<App>) -> Router {
    Router::new()
        .route(&format!("{}/{{*path}}", api::BASE_PATH), any(api::route))
        .merge(admin::routes(&app))
        .merge(resources::mailbox_api::routes())
        .fallback(api::route_not_found)
        .method_not_allowed_fallback(api::route_not_found)
        .with_state(app)
}

/// The Sending API's listener: the same catch-all route, resolving only
/// Sending operations, and envelope-shaped 404s for the rest. The admin
/// API stays on the main listener.
fn sending_router(app: Arc<App>) -> Router {
    Router::new()
        .route(
            &format!("{}/{{*path}}", api::BASE_PATH),
            any(api::route_sending),
        )
        .fallback(api::sending_route_not_found)
        .method_not_allowed_fallback(api::sending_route_not_found)
        .with_state(app)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A panic in a route is answered `500 internal_error` in the envelope,
    /// with the common headers, and the server keeps serving.
    #[tokio::test]
    async fn a_panicking_route_answers_500_internal_error() {
        let server = MockServer::start()
            .await
            .unwrap_or_else(|e| panic!("start: {e}"));
        let http = reqwest::Client::new();
        let resp = http
            .get(format!("{}/test/panic", server.admin_url()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("no answer to a panicking route: {e}"));
        assert_eq!(resp.status().as_u16(), 500);
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let request_id = header("x-request-id").unwrap_or_default();
        assert!(request_id.starts_with("req_"), "{request_id}");
        assert_eq!(header("cache-control").as_deref(), Some("no-store"));
        assert!(header("x-ratelimit-limit").is_some());
        let body: serde_json::Value = resp.json().await.unwrap_or_default();
        assert_eq!(body["ok"], false, "{body}");
        assert_eq!(body["error"]["code"], "internal_error", "{body}");
        assert_eq!(body["error"]["retryable"], true, "{body}");
        assert_eq!(body["meta"]["request_id"], request_id.as_str(), "{body}");
        let health = http
            .get(format!("{}/health", server.admin_url()))
            .send()
            .await
            .map(|r| r.status().as_u16());
        assert_eq!(health.ok(), Some(200));
    }
}
