//! What the inspection API (`/__mock/mailboxes`, `MockServer::mailboxes`)
//! needs beyond the published operations.

use serde::Serialize;

use crate::app::{App, lock};

/// Mailboxes of one team (or all teams), newest first, deleted ones
/// included.
pub(crate) fn summaries(app: &App, team: Option<&str>) -> Vec<MailboxSummary> {
    let store = lock(&app.resources);
    store
        .mailboxes
        .iter_newest_first()
        .filter(|(t, _)| team.is_none_or(|team| *t == team))
        .map(|(t, m)| MailboxSummary {
            id: m.id.clone(),
            email: m.email.clone(),
            team: t.to_owned(),
            status: m.status.as_str().to_owned(),
            domain_id: m.domain_id.clone(),
            active_keys: m.active_keys(),
        })
        .collect()
}

/// A stored mailbox as the inspection API reports it (never its keys).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct MailboxSummary {
    /// Public id (`mbx_...`).
    pub id: String,
    /// The address.
    pub email: String,
    /// Team (one per root key) that owns it.
    pub team: String,
    /// `active`, `suspended` or `deleted`.
    pub status: String,
    /// The team domain it lives on (`mdom_...`); `None` on `myagent.mx`.
    pub domain_id: Option<String>,
    /// Keys issued and not revoked.
    pub active_keys: usize,
}
