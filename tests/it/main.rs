//! Workspace integration tests, one binary with a module per topic.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod generated_client;
mod mailbox_attachments_e2e;
mod mailbox_e2e;
mod mailbox_events_e2e;
mod management;
mod soak;
mod soak_sending;
mod spec_guard;
mod support;
