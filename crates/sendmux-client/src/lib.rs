//! The Sendmux API client for Rust.
//!
//! Typed resource handles over the generated [`sendmux_api`] crate, with the
//! behaviour a production client needs built in:
//!
//! - **Validation before I/O**: bad domains, ids, keys and limits are
//!   rejected as [`Error::InvalidInput`] naming the field and the fix.
//! - **Retries** ([`RetryPolicy`]): exponential backoff with full jitter,
//!   `Retry-After` / `X-RateLimit-Reset` honoured up to a ceiling, the
//!   server's `retryable` verdict respected, a shared retry budget, and an
//!   overall deadline. Requests that may have reached the server are repeated
//!   only when that is safe.
//! - **Idempotency** ([`IdempotencyPolicy`]): creates carry an
//!   `Idempotency-Key`, generated once per call and reused by every retry.
//! - **Pagination** as lazy streams, resumable from a cursor.
//! - **Conditional requests**: reads return the `ETag`; `*_if_changed` calls
//!   turn `304` into [`Conditional::NotModified`]; writes take `if_match`.
//! - **Errors** ([`Error`]) that tell "not sent" from "maybe sent" from "the
//!   server said no", with the request id, status and attempt count.
//! - **Tracing**: a span per call (`sendmux.call`) and per attempt
//!   (`sendmux.attempt`) with operation, attempt, status, request id, elapsed
//!   time and retry delay. API keys never appear in spans, logs,
//!   `Debug` or errors.
//!
//! # Quick start
//!
//! ```no_run
//! use std::time::Duration;
//! use futures::TryStreamExt;
//! use sendmux_client::{Client, DomainMode};
//!
//! # async fn run() -> Result<(), sendmux_client::Error> {
//! // Reads SENDMUX_API_KEY (a `smx_root_...` key) and SENDMUX_BASE_URL.
//! let client = Client::from_env()?;
//! let domains = client.domains();
//!
//! let created = domains.create("mail.acme.com").mode(DomainMode::SendOnly).await?;
//! println!("added {} (request {:?})", created.id, created.request_id());
//! for record in &created.dns_records.dkim {
//!     println!("publish {} -> {}", record.name, record.value);
//! }
//!
//! let verified = domains
//!     .wait_until_verified(&created.id, Duration::from_secs(600), Duration::from_secs(15))
//!     .await?;
//! println!("{} is {}", verified.domain, verified.verification_status);
//!
//! let mut all = domains.list().limit(100).stream();
//! while let Some(domain) = all.try_next().await? {
//!     println!("{} {}", domain.id, domain.domain);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Resources
//!
//! [`Client::domains`], [`Client::mailboxes`], [`Client::webhooks`],
//! [`Client::sending_accounts`], [`Client::billing`], [`Client::email_logs`]
//! and [`Client::inbox_logs`] cover the Management API, one method per
//! operation, each returning a [`Request`] to adjust and await.
//! [`Client::sending`] covers the Sending API on its own host: single and
//! batch sends, attachment uploads and its published description. Mailbox
//! keys and webhook signing secrets, which the API shows only once, and the
//! SMTP passwords you send are [`Secret`]s: `Debug` and `Display` redact
//! them, and no error quotes a body that carries one.
//!
//! # Configuration
//!
//! One client serves every API. A root key (`smx_root_...`) serves the
//! Management API; a mailbox key (`smx_mbx_...`) or agent token
//! (`smx_agent_...`) serves the Mailbox API and the Sending API, which has
//! its own host. Each call takes the key and base URL of its operation's
//! [`Surface`]; a call the client holds no key for fails with
//! [`Error::InvalidInput`] before any I/O.
//! [`Client::with_mailbox_key`] makes a cheap copy acting for another
//! mailbox.
//!
//! ```no_run
//! use std::time::Duration;
//! use sendmux_client::{Client, RetryPolicy};
//!
//! # fn run() -> Result<(), sendmux_client::Error> {
//! let client = Client::builder()
//!     .api_key("smx_root_...")
//!     .mailbox_key("smx_mbx_...")
//!     .base_url("https://app.sendmux.ai/api/v1")
//!     .sending_base_url("https://smtp.sendmux.ai/api/v1")
//!     .timeout(Duration::from_secs(20))
//!     .user_agent("my-app/1.0")
//!     .retry_policy(RetryPolicy::default().with_max_attempts(5))
//!     .build()?;
//! # let _ = client; Ok(())
//! # }
//! ```
//!
//! # Models
//!
//! Domains and other resources are the generated models, re-exported as
//! [`types`]. Server-sent string sets are generated as open enums: a value
//! newer than this crate decodes into `Unknown(String)` instead of failing,
//! so `domain.verification_status == VerificationStatus::Verified` works on
//! the model's own field.
//!
//! # Escape hatches
//!
//! [`Client::api`] returns the generated low-level client, and
//! [`ClientBuilder::with_http_client`] takes your own `reqwest::Client`.

#![deny(missing_docs)]

pub mod billing;
mod chunks;
mod client;
pub mod clock;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod domains;
mod error;
mod idempotency;
mod key;
pub mod logs;
mod lowlevel;
pub mod mailbox;
pub mod mailboxes;
pub mod models;
mod paginate;
mod raw;
mod request;
mod response;
pub mod retry;
mod secret;
pub mod sending;
pub mod sending_accounts;
pub mod sse;
mod tls;
mod transport;
mod uploads;
mod validate;
pub mod webhook;
pub mod webhooks;

pub use billing::Billing;
pub use client::{
    Client, ClientBuilder, DEFAULT_BASE_URL, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_SENDING_BASE_URL, DEFAULT_TIMEOUT, ENV_API_KEY, ENV_BASE_URL, ENV_SENDING_BASE_URL,
};
pub use domains::{Domain, DomainDeleted, Domains, VerifyResult};
pub use error::{ApiError, BoxError, Error, InvalidInput};
pub use idempotency::{IdempotencyKey, IdempotencyPolicy};
pub use key::{ApiKey, KeyKind, Surface};
pub use logs::{EmailLogs, InboxLogs};
pub use mailboxes::{Mailbox, MailboxCreated, MailboxCredential, Mailboxes, SendScope};
pub use models::{
    DomainMode, ErrorCode, FieldError, FilterMode, FilterRule, FilterRuleType, FilterState,
    VerificationStatus, WebhookEventType,
};
pub use raw::OperationCall;
pub use request::{Body, Json, NoBody, Patch, Request};
pub use response::{Conditional, Page, RateLimit, Response};
pub use retry::{RetryBudget, RetryPolicy};
pub use secret::Secret;
pub use sending::{Sending, SendingErrorCode};
pub use sending_accounts::{SendingAccount, SendingAccounts};
pub use sendmux_api::{Timestamp, TimestampError};
pub use sendmux_operations as operations;
pub use tls::http_client_builder;
pub use webhooks::{Webhook, WebhookWithSecret, Webhooks};

/// The generated wire models (from [`sendmux_api::types`]).
pub use sendmux_api::types;
