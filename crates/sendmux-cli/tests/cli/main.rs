//! The built `sendmux` binary against `sendmux-mock`, one module per
//! command group. One test binary links the CLI once instead of once per
//! group, which keeps the build small and fast.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod api;
mod auth;
mod billing_logs;
mod completion;
mod domains;
mod mail;
mod mailboxes;
mod output;
mod send;
mod sending_accounts;
mod support;
mod terminal;
mod webhooks;
