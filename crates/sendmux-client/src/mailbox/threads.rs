//! Conversation threads: `mailbox.threads()`.

use sendmux_api::types as wire;
use sendmux_operations::ops;

use super::Mailbox;
use crate::request::{Request, data, page};
use crate::response::{Conditional, Page, Response};

/// [`Threads::list`]: filter, then await one page or
/// [`stream`](Request::stream) every thread.
pub type ListThreads = Request<Response<Page<wire::MailboxThreadSummary>>>;
/// [`Threads::get`].
pub type GetThread = Request<Response<wire::MailboxThread>>;
/// [`Threads::get_if_changed`].
pub type GetThreadIfChanged = Request<Conditional<wire::MailboxThread>>;
/// [`Threads::messages`]: one page, or [`stream`](Request::stream) them all.
pub type ListThreadMessages = Request<Response<Page<wire::MailboxMessageSummary>>>;
/// [`Threads::content`]: set the content options, then page through.
pub type GetThreadContent = Request<Response<Page<wire::MailboxMessageContent>>>;

/// Handle on the threads of a mailbox; get one from [`Mailbox::threads`].
///
/// ```no_run
/// # async fn f(mailbox: sendmux_client::mailbox::Mailbox) -> Result<(), sendmux_client::Error> {
/// use futures::TryStreamExt;
///
/// let threads = mailbox.threads();
/// let mut unread = threads.list().is_unread(true).stream();
/// while let Some(thread) = unread.try_next().await? {
///     println!("{} ({} messages)", thread.id, thread.message_count);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Threads {
    mailbox: Mailbox,
}

impl Threads {
    pub(crate) fn new(mailbox: Mailbox) -> Self {
        Self { mailbox }
    }

    /// Lists threads, newest first (`GET /mailbox/threads`); it takes the
    /// filters `text`, `participant`, `folder_id`, `after`, `before`,
    /// `has_attachment`, `is_unread` and `sort_direction` (see
    /// [`MessageQuery`](super::MessageQuery)).
    /// ```no_run
    /// # async fn f(t: sendmux_client::mailbox::Threads) -> Result<(), sendmux_client::Error> {
    /// let page = t.list().participant("ada@example.com").limit(20).await?;
    /// # Ok(()) }
    /// ```
    pub fn list(&self) -> ListThreads {
        self.mailbox.call(ops::MAILBOX_LIST_THREADS, &[], page)
    }

    /// Reads one thread with its message ids
    /// (`GET /mailbox/threads/{thread_id}`); the answer carries its `ETag`.
    /// ```no_run
    /// # async fn f(t: sendmux_client::mailbox::Threads) -> Result<(), sendmux_client::Error> {
    /// let thread = t.get("thr_123").await?;
    /// println!("{:?}", thread.message_ids);
    /// # Ok(()) }
    /// ```
    pub fn get(&self, thread_id: impl AsRef<str>) -> GetThread {
        let path = [("thread_id", thread_id.as_ref())];
        self.mailbox.call(ops::MAILBOX_GET_THREAD, &path, data)
    }

    /// Reads a thread only if it changed since `etag`.
    /// ```no_run
    /// # async fn f(t: sendmux_client::mailbox::Threads) -> Result<(), sendmux_client::Error> {
    /// let fresh = t.get_if_changed("thr_123", "W/\"t1\"").await?;
    /// # Ok(()) }
    /// ```
    pub fn get_if_changed(
        &self,
        thread_id: impl AsRef<str>,
        etag: impl Into<String>,
    ) -> GetThreadIfChanged {
        self.get(thread_id).if_none_match(etag)
    }

    /// The thread's message summaries
    /// (`GET /mailbox/threads/{thread_id}/messages`), oldest first unless
    /// [`sort`](ListThreadMessages::sort) says otherwise.
    /// ```no_run
    /// # async fn f(t: sendmux_client::mailbox::Threads) -> Result<(), sendmux_client::Error> {
    /// let first = t.messages("thr_123").limit(10).await?;
    /// # Ok(()) }
    /// ```
    pub fn messages(&self, thread_id: impl AsRef<str>) -> ListThreadMessages {
        let path = [("thread_id", thread_id.as_ref())];
        self.mailbox
            .call(ops::MAILBOX_LIST_THREAD_MESSAGES, &path, page)
    }

    /// The clean content of the thread's messages, a page at a time
    /// (`GET /mailbox/threads/{thread_id}/content`); see the
    /// [content options](super::ContentQuery).
    /// ```no_run
    /// # async fn f(t: sendmux_client::mailbox::Threads) -> Result<(), sendmux_client::Error> {
    /// use futures::TryStreamExt;
    /// let mut all = t.content("thr_123").strip_quotes(true).stream();
    /// while let Some(message) = all.try_next().await? {
    ///     println!("{:?}", message.body.text);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn content(&self, thread_id: impl AsRef<str>) -> GetThreadContent {
        let path = [("thread_id", thread_id.as_ref())];
        self.mailbox
            .call(ops::MAILBOX_GET_THREAD_CONTENT, &path, page)
    }
}

impl ListThreadMessages {
    /// Oldest (`asc`) or newest (`desc`) first; only the thread's message
    /// list takes it.
    pub fn sort(self, order: wire::ListThreadMessagesSort) -> Self {
        self.declared("sort", order)
    }
}

impl GetThreadContent {
    /// Oldest (`asc`) or newest (`desc`) first.
    pub fn sort(self, order: wire::GetThreadContentSort) -> Self {
        self.param("sort", order)
    }
}
