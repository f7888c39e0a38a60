//! The Mailbox API: `client.mailbox()`.
//!
//! Reads and changes one mailbox's messages, threads and folders, sends
//! from it, and keeps a local copy in step through state tokens. It lives
//! on the Management API's host and takes a mailbox key (`smx_mbx_...`) or
//! an agent token (`smx_agent_...`): give one with
//! [`ClientBuilder::mailbox_key`](crate::ClientBuilder::mailbox_key) or
//! [`Client::with_mailbox_key`]. A client holding only a root key fails
//! each call before any I/O.
//!
//! [`Mailbox`] is the handle: account calls (`me`, `session`, identities,
//! quotas, usage, submissions) and sync sit on it, messages, threads and
//! folders on [`Mailbox::messages`], [`Mailbox::threads`] and
//! [`Mailbox::folders`]. Each method returns a [`Request`]
//! to adjust and await, except the batch calls and the sync helpers, which
//! make as many requests as they need.
//!
//! When a credential sees several mailboxes (an agent token granted more
//! than one; list them with [`Mailbox::granted_mailboxes`]), pick one with
//! [`Mailbox::for_mailbox`]: every call of that handle then sends its
//! `mailbox_id`.
//!
//! # State tokens
//!
//! The server keeps a state token per kind of object ([`ResourceType`]);
//! a [`State`] is one of them, tagged with its kind so a folder state can
//! never be sent where a message state belongs (that fails before any
//! I/O). [`States`] holds several, as the session hands them out, and is
//! what a cache stores between runs (it is `Serialize` and `Deserialize`).
//! Lists have their own [`QueryState`].
//!
//! # Keeping a local cache in sync
//!
//! 1. Read the [session](Mailbox::session) and keep its states: they are
//!    where your copy starts, so read them *before* listing.
//! 2. List what you keep ([`Messages::list`] with
//!    [`stream`](crate::Request::stream)) into your store.
//! 3. From then on, call [`Mailbox::changes_since`] with the stored
//!    states. It follows `has_more` until caught up and answers
//!    [`SyncOutcome::Changes`]: fetch the created and updated ids with
//!    [`Messages::batch_get`], drop the destroyed ones, and store
//!    [`SyncChanges::states`] for next time.
//! 4. [`SyncOutcome::ResyncRequired`] means the server no longer reaches
//!    back to your states: clear the copy and start again at step 1.
//!
//! ```no_run
//! use std::collections::HashMap;
//! use std::time::Duration;
//!
//! use futures::TryStreamExt;
//! use sendmux_client::mailbox::{Mailbox, ResourceType, States, SyncOutcome};
//! use sendmux_client::types::MailboxMessageSummary;
//! use sendmux_client::{Client, Error};
//!
//! type Cache = HashMap<String, MailboxMessageSummary>;
//!
//! /// Steps 1 and 2: the states first, then everything they cover.
//! async fn load(mailbox: &Mailbox, cache: &mut Cache) -> Result<States, Error> {
//!     let session = mailbox.session().await?;
//!     let states = States::from(&*session).only([ResourceType::Messages]);
//!     cache.clear();
//!     let mut all = mailbox.messages().list().limit(100).stream();
//!     while let Some(message) = all.try_next().await? {
//!         cache.insert(message.id.clone(), message);
//!     }
//!     Ok(states)
//! }
//!
//! # async fn run(client: Client) -> Result<(), Error> {
//! let mailbox = client.mailbox();
//! let mut cache = Cache::new();
//! let mut states = load(&mailbox, &mut cache).await?;
//! loop {
//!     match mailbox.changes_since(states.clone()).await? {
//!         SyncOutcome::Changes(changes) => {
//!             if let Some(messages) = changes.get(ResourceType::Messages) {
//!                 for id in &messages.destroyed {
//!                     cache.remove(id);
//!                 }
//!                 let changed = messages.created.iter().chain(&messages.updated);
//!                 if !messages.created.is_empty() || !messages.updated.is_empty() {
//!                     let fetched = mailbox.messages().batch_get(changed).await?;
//!                     for item in fetched.found() {
//!                         cache.insert(item.message.id.clone(), item.message.clone());
//!                     }
//!                 }
//!             }
//!             states = changes.states();
//!         }
//!         SyncOutcome::ResyncRequired { .. } => states = load(&mailbox, &mut cache).await?,
//!         _ => {}
//!     }
//!     tokio::time::sleep(Duration::from_secs(30)).await;
//! }
//! # }
//! ```
//!
//! The runnable version, against the mock server, is the `mailbox_sync`
//! example of this crate.

mod account;
mod batch;
mod folders;
mod messages;
mod query;
mod send;
mod sync;
mod threads;

pub mod attachments;
pub mod events;

use sendmux_operations::{Location, Operation};

use crate::Client;
use crate::request::{Decoder, Request};
use crate::validate;

pub use account::{
    GetIdentity, GetMe, GetMeIfChanged, GetSession, GetSessionIfChanged, GetSubmission,
    GetSubmissionIfChanged, GetUsage, GetUsageIfChanged, ListGrantedMailboxes, ListIdentities,
    ListQuotas, ListSubmissions, UpdateIdentity,
};
pub use batch::{
    BatchDelete, BatchGet, BatchGetOutcome, BatchUpdate, BatchWriteOutcome, DEFAULT_BATCH_IDS,
    DEFAULT_KEYWORDS_PER_UPDATE, GetItem, RequestFailure, WriteItem,
};
pub use folders::{
    CreateFolder, DeleteFolder, Folders, GetFolder, GetFolderIfChanged, ListFolders, UpdateFolder,
};
pub use messages::{
    CountMessages, DeleteMessage, FlagChanges, GetMessage, GetMessageBody, GetMessageBodyIfChanged,
    GetMessageContent, GetMessageContentIfChanged, GetMessageIfChanged, ListMessages, Messages,
    SearchSnippets, UpdateMessage,
};
pub use query::{ContentQuery, MessageQuery};
pub use send::{MessageAttachment, SendMessage};
pub use sync::{
    AddedItem, AnyChanges, ChangeSet, Changes, ChangesSince, GetChanges, GetResourceChanges,
    QueryChangeSet, QueryChanges, QueryChangesSince, QueryState, ResourceType, State, States,
    SyncChanges, SyncOutcome,
};
pub use threads::{
    GetThread, GetThreadContent, GetThreadIfChanged, ListThreadMessages, ListThreads, Threads,
};

/// The generated query enums the Mailbox API's setters take.
pub use sendmux_api::types::{
    BatchGetPart, ContentPart, GetThreadContentSort, IncludeAttachments, IncludeHeaders,
    ListQuotasResourceType, ListQuotasScope, ListQuotasSortBy, ListSubmissionsSortBy,
    ListSubmissionsUndoStatus, ListThreadMessagesSort, MailboxBatchGetBodyBodyMode as BodyMode,
    MessageSortBy, RawBodyPart, SortDirection,
};

/// Handle on the Mailbox API; get one from [`Client::mailbox`].
///
/// Cheap to clone. [`for_mailbox`](Self::for_mailbox) makes a copy that
/// acts on one mailbox of several.
///
/// ```no_run
/// # async fn run() -> Result<(), sendmux_client::Error> {
/// use futures::TryStreamExt;
/// use sendmux_client::Client;
///
/// let client = Client::builder().mailbox_key("smx_mbx_...").build()?;
/// let mailbox = client.mailbox();
/// let me = mailbox.me().await?;
/// println!("{} holds {} bytes", me.email, me.quota_used_bytes.unwrap_or(0));
///
/// let mut unread = mailbox.messages().list().is_unread(true).stream();
/// while let Some(message) = unread.try_next().await? {
///     println!("{} {:?}", message.id, message.subject);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Mailbox {
    pub(crate) client: Client,
    mailbox_id: Option<String>,
    pub(crate) limits: batch::Limits,
}

impl Mailbox {
    pub(crate) fn new(client: Client) -> Self {
        Self {
            client,
            mailbox_id: None,
            limits: batch::Limits::default(),
        }
    }

    /// A copy of this handle acting on the mailbox `mailbox_id` (from
    /// [`granted_mailboxes`](Self::granted_mailboxes)): every call whose
    /// operation takes a `mailbox_id` sends it. Needed only when the
    /// credential sees more than one mailbox.
    ///
    /// ```no_run
    /// # async fn f(client: sendmux_client::Client) -> Result<(), sendmux_client::Error> {
    /// let support = client.mailbox().for_mailbox("mbx_123");
    /// let inbox = support.messages().list().await?;
    /// # Ok(()) }
    /// ```
    pub fn for_mailbox(&self, mailbox_id: impl Into<String>) -> Self {
        Self {
            mailbox_id: Some(mailbox_id.into()),
            ..self.clone()
        }
    }

    /// The mailbox this handle acts on, when one was chosen with
    /// [`for_mailbox`](Self::for_mailbox).
    pub fn mailbox_id(&self) -> Option<&str> {
        self.mailbox_id.as_deref()
    }

    /// A copy of this handle checking batch calls against the server's
    /// own limits, as the session reports them: ids per request
    /// (`batch_ids_max`, at most 100) and keywords per update
    /// (`keywords_per_update_max`). Without it the defaults are
    /// [`DEFAULT_BATCH_IDS`] and [`DEFAULT_KEYWORDS_PER_UPDATE`].
    ///
    /// ```no_run
    /// # async fn f(client: sendmux_client::Client) -> Result<(), sendmux_client::Error> {
    /// let mailbox = client.mailbox();
    /// let session = mailbox.session().await?;
    /// let mailbox = mailbox.with_limits(&session.limits);
    /// # Ok(()) }
    /// ```
    pub fn with_limits(&self, limits: &sendmux_api::types::MailboxSessionLimits) -> Self {
        Self {
            limits: batch::Limits::from_session(limits),
            ..self.clone()
        }
    }

    /// Messages: lists, reads, flags, deletes, batches and sends.
    pub fn messages(&self) -> Messages {
        Messages::new(self.clone())
    }

    /// Conversation threads.
    pub fn threads(&self) -> Threads {
        Threads::new(self.clone())
    }

    /// Folders.
    pub fn folders(&self) -> Folders {
        Folders::new(self.clone())
    }

    /// A call of `op` with its path parameters, carrying this handle's
    /// `mailbox_id` when the operation takes one.
    pub(crate) fn call<T>(
        &self,
        op: &'static Operation,
        path: &[(&'static str, &str)],
        decode: Decoder<T>,
    ) -> Request<T> {
        let request = self.client.request(op, path, decode);
        match &self.mailbox_id {
            Some(id) if op.parameter(Location::Query, "mailbox_id").is_some() => request
                .check(validate::resource_id("mailbox_id", id))
                .query("mailbox_id", id.clone()),
            _ => request,
        }
    }
}
