//! The Mailbox API: `client.mailbox()`.
//!
//! Reads and changes one mailbox's messages, threads and folders, and keeps
//! a local copy in step through state tokens. It lives on the Management
//! API's host and takes a mailbox key (`smx_mbx_...`) or an agent token
//! (`smx_agent_...`).

use crate::Client;

/// Handle on the Mailbox API; get one from [`Client::mailbox`].
#[derive(Debug, Clone)]
pub struct Mailbox {
    client: Client,
    mailbox_id: Option<String>,
}

impl Mailbox {
    pub(crate) fn new(client: Client) -> Self {
        Self {
            client,
            mailbox_id: None,
        }
    }
}
