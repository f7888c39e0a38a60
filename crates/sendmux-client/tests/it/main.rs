//! Integration tests of sendmux-client: httpmock for exact request
//! assertions, a raw TCP server for dropped connections, and a virtual clock
//! so retries with long waits run instantly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod billing_logs;
mod conditional;
mod config;
#[cfg(feature = "conformance")]
mod conformance;
mod errors;
mod fixtures;
mod hardening;
mod idempotency;
mod lowlevel;
mod mailbox;
mod mailbox_attachments;
mod mailbox_events;
mod mailbox_sync;
mod mailboxes;
mod network;
mod operations;
mod pagination;
mod retry;
#[cfg(feature = "schemars")]
mod schema;
mod secrets;
mod sending;
mod sending_accounts;
mod stream_server;
mod timestamps;
mod validation;
#[cfg(feature = "axum")]
mod webhook_axum;
mod webhook_verify;
mod webhooks;
