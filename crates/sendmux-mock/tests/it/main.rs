//! Integration tests of the mock server. Every API response goes through
//! `harness::Api`, which validates it against the spec with
//! `sendmux-conformance` and fails the test on any violation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod harness;

mod admin;
mod auth;
mod bad_input;
mod billing_logs;
mod binary;
mod domains;
mod expectations;
mod faults;
mod hardening;
mod idempotency;
mod mailbox_api;
mod mailbox_attachments;
mod mailbox_events;
mod mailbox_sync;
mod mailboxes;
mod operations;
mod pagination;
mod rate_limit;
mod sending;
mod sending_accounts;
mod sending_attachments;
mod stubs;
mod webhooks;
