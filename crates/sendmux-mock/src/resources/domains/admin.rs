//! What the inspection API (`/__mock/domains`, `MockServer::domains`)
//! needs beyond the published operations.

use serde::Serialize;

use super::model::{Mode, Status};
use crate::app::{App, lock};

/// Domain ids and names of one team (or all teams), newest first, for the
/// inspection API.
pub(crate) fn summaries(app: &App, team: Option<&str>) -> Vec<DomainSummary> {
    let store = lock(&app.resources);
    store
        .domains
        .iter_newest_first()
        .filter(|(t, _)| team.is_none_or(|team| *t == team))
        .map(|(t, d)| DomainSummary {
            id: d.id.clone(),
            domain: d.name.clone(),
            team: t.to_owned(),
            mode: match d.mode {
                Mode::SendOnly => "send_only",
                Mode::SendReceive => "send_receive",
            }
            .to_owned(),
            verification_status: match d.status {
                Status::Pending => "pending",
                Status::Verified => "verified",
                Status::Failed => "failed",
            }
            .to_owned(),
            mailbox_count: d.mailbox_count,
        })
        .collect()
}

/// A stored domain as the inspection API reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DomainSummary {
    /// Public id (`mdom_...`).
    pub id: String,
    /// Domain name.
    pub domain: String,
    /// Team (one per API key) that owns it.
    pub team: String,
    /// `send_only` or `send_receive`.
    pub mode: String,
    /// `pending`, `verified` or `failed`.
    pub verification_status: String,
    /// Mailboxes using the domain.
    pub mailbox_count: u64,
}
