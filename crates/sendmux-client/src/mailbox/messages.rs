//! Messages: `mailbox.messages()`.

use sendmux_api::types as wire;
use sendmux_operations::ops;
use serde::Serialize;

use super::Mailbox;
use super::batch::{BatchDelete, BatchGet, BatchUpdate, check_keyword};
use super::sync::{QueryChanges, QueryChangesSince, QueryState, message_query_changes};
use crate::error::InvalidInput;
use crate::request::{Json, Request, data, page};
use crate::response::{Conditional, Page, Response};
use crate::validate;

/// [`Messages::list`]: filter, then await one page or
/// [`stream`](Request::stream) every message.
pub type ListMessages = Request<Response<Page<wire::MailboxMessageSummary>>>;
/// [`Messages::get`].
pub type GetMessage = Request<Response<wire::MailboxMessage>>;
/// [`Messages::get_if_changed`].
pub type GetMessageIfChanged = Request<Conditional<wire::MailboxMessage>>;
/// [`Messages::update`]: set the flags and keywords to change, then await.
pub type UpdateMessage = Request<Response<wire::MailboxMessage>, Json<FlagChanges>>;
/// [`Messages::delete`].
pub type DeleteMessage = Request<Response<wire::MailboxMessageDeleted>>;
/// [`Messages::count`]: filter, then await.
pub type CountMessages = Request<Response<wire::MailboxMessageCount>>;
/// [`Messages::search_snippets`]: filter, then await.
pub type SearchSnippets = Request<Response<wire::MailboxSearchSnippetsResult>>;
/// [`Messages::body`].
pub type GetMessageBody = Request<Response<wire::MailboxRawBody>>;
/// [`Messages::body_if_changed`].
pub type GetMessageBodyIfChanged = Request<Conditional<wire::MailboxRawBody>>;
/// [`Messages::content`]: set the content options, then await.
pub type GetMessageContent = Request<Response<wire::MailboxMessageContent>>;
/// [`Messages::content_if_changed`].
pub type GetMessageContentIfChanged = Request<Conditional<wire::MailboxMessageContent>>;

/// The body of [`Messages::update`]: flags and keywords to change, and
/// the most keywords one update may change (never sent).
#[derive(Debug, Clone, Serialize)]
pub struct FlagChanges {
    #[serde(flatten)]
    patch: wire::PatchMailboxMessageBody,
    #[serde(skip)]
    max_keywords: usize,
}

/// Handle on the messages of a mailbox; get one from
/// [`Mailbox::messages`].
///
/// ```no_run
/// # async fn f(mailbox: sendmux_client::mailbox::Mailbox) -> Result<(), sendmux_client::Error> {
/// let messages = mailbox.messages();
/// let page = messages.list().from("ada@example.com").limit(20).await?;
/// for message in &page.items {
///     messages.update(&message.id).seen(true).await?;
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Messages {
    mailbox: Mailbox,
}

impl Messages {
    pub(crate) fn new(mailbox: Mailbox) -> Self {
        Self { mailbox }
    }

    /// Lists messages, newest first (`GET /mailbox/messages`); narrow it
    /// with the [filters](super::MessageQuery) (`folder_id`, `from`,
    /// `is_unread`, `after`, ...) and order it with `sort_by` and
    /// `sort_direction`.
    /// ```no_run
    /// # async fn f(m: sendmux_client::mailbox::Messages) -> Result<(), sendmux_client::Error> {
    /// use sendmux_client::mailbox::{MessageSortBy, SortDirection};
    /// let page = m
    ///     .list()
    ///     .is_unread(true)
    ///     .has_attachment(true)
    ///     .after("2026-11-01T00:00:00Z")
    ///     .sort_by(MessageSortBy::ReceivedAt)
    ///     .sort_direction(SortDirection::Asc)
    ///     .limit(50)
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn list(&self) -> ListMessages {
        self.mailbox.call(ops::MAILBOX_LIST_MESSAGES, &[], page)
    }

    /// Reads one message with its bodies
    /// (`GET /mailbox/messages/{message_id}`); the answer carries its
    /// `ETag` for [`update`](Self::update) and
    /// [`get_if_changed`](Self::get_if_changed).
    /// ```no_run
    /// # async fn f(m: sendmux_client::mailbox::Messages) -> Result<(), sendmux_client::Error> {
    /// let message = m.get("msg_123").await?;
    /// println!("{:?}: {:?}", message.subject, message.text_body);
    /// # Ok(()) }
    /// ```
    pub fn get(&self, message_id: impl AsRef<str>) -> GetMessage {
        let path = [("message_id", message_id.as_ref())];
        self.mailbox.call(ops::MAILBOX_GET_MESSAGE, &path, data)
    }

    /// Reads a message only if it changed since `etag`; `304` comes back
    /// as [`Conditional::NotModified`]. (The server may answer `200`
    /// anyway to renew attachment download links.)
    /// ```no_run
    /// # async fn f(m: sendmux_client::mailbox::Messages) -> Result<(), sendmux_client::Error> {
    /// let fresh = m.get_if_changed("msg_123", "W/\"a1\"").await?;
    /// # Ok(()) }
    /// ```
    pub fn get_if_changed(
        &self,
        message_id: impl AsRef<str>,
        etag: impl Into<String>,
    ) -> GetMessageIfChanged {
        self.get(message_id).if_none_match(etag)
    }

    /// Changes a message's flags and keywords
    /// (`PATCH /mailbox/messages/{message_id}`); what is not set stays.
    /// Add [`if_match`](Request::if_match) with the `ETag` of your read to
    /// refuse the change (`409 conflict`) if the message changed since.
    /// ```no_run
    /// # async fn f(m: sendmux_client::mailbox::Messages) -> Result<(), sendmux_client::Error> {
    /// let read = m.get("msg_123").await?;
    /// let etag = read.etag().unwrap_or_default().to_owned();
    /// m.update("msg_123")
    ///     .seen(true)
    ///     .flagged(false)
    ///     .add_keyword("needs_reply")
    ///     .if_match(etag)
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn update(&self, message_id: impl AsRef<str>) -> UpdateMessage {
        let path = [("message_id", message_id.as_ref())];
        let body = FlagChanges {
            patch: wire::PatchMailboxMessageBody::default(),
            max_keywords: self.mailbox.limits.keywords,
        };
        self.mailbox
            .call(ops::MAILBOX_UPDATE_MESSAGE, &path, data)
            .json(body)
    }

    /// Moves a message to Trash (`DELETE /mailbox/messages/{message_id}`);
    /// [`permanently`](DeleteMessage::permanently) deletes it for good.
    /// Add [`if_match`](Request::if_match) to refuse a stale delete.
    /// ```no_run
    /// # async fn f(m: sendmux_client::mailbox::Messages) -> Result<(), sendmux_client::Error> {
    /// m.delete("msg_123").await?;
    /// m.delete("msg_456").permanently().await?;
    /// # Ok(()) }
    /// ```
    pub fn delete(&self, message_id: impl AsRef<str>) -> DeleteMessage {
        let path = [("message_id", message_id.as_ref())];
        self.mailbox.call(ops::MAILBOX_DELETE_MESSAGE, &path, data)
    }

    /// Counts the messages the filters match, without listing them
    /// (`GET /mailbox/messages/count`).
    /// ```no_run
    /// # async fn f(m: sendmux_client::mailbox::Messages) -> Result<(), sendmux_client::Error> {
    /// let unread = m.count().is_unread(true).await?.total;
    /// # Ok(()) }
    /// ```
    pub fn count(&self) -> CountMessages {
        self.mailbox.call(ops::MAILBOX_COUNT_MESSAGES, &[], data)
    }

    /// Subject and preview snippets for the text search `query`
    /// (`GET /mailbox/messages/search-snippets`), of the first messages
    /// the filters match or of [`message_ids`](SearchSnippets::message_ids).
    /// ```no_run
    /// # async fn f(m: sendmux_client::mailbox::Messages) -> Result<(), sendmux_client::Error> {
    /// let found = m.search_snippets("invoice").from("billing@").limit(10).await?;
    /// for snippet in &found.snippets {
    ///     println!("{}: {:?}", snippet.message_id, snippet.preview);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn search_snippets(&self, query: impl Into<String>) -> SearchSnippets {
        let query = query.into();
        let checked = super::query::non_empty("q", &query);
        self.mailbox
            .call(ops::MAILBOX_SEARCH_MESSAGE_SNIPPETS, &[], data)
            .check(checked)
            .query("q", query)
    }

    /// A message's raw body, uncleaned
    /// (`GET /mailbox/messages/{message_id}/body`).
    /// ```no_run
    /// # async fn f(m: sendmux_client::mailbox::Messages) -> Result<(), sendmux_client::Error> {
    /// use sendmux_client::mailbox::RawBodyPart;
    /// let raw = m.body("msg_123").part(RawBodyPart::Both).max_body_chars(20_000).await?;
    /// # Ok(()) }
    /// ```
    pub fn body(&self, message_id: impl AsRef<str>) -> GetMessageBody {
        let path = [("message_id", message_id.as_ref())];
        self.mailbox.call(ops::MAILBOX_LIST_BODY, &path, data)
    }

    /// The raw body only if it changed since `etag`.
    /// ```no_run
    /// # async fn f(m: sendmux_client::mailbox::Messages) -> Result<(), sendmux_client::Error> {
    /// let fresh = m.body_if_changed("msg_123", "W/\"b1\"").await?;
    /// # Ok(()) }
    /// ```
    pub fn body_if_changed(
        &self,
        message_id: impl AsRef<str>,
        etag: impl Into<String>,
    ) -> GetMessageBodyIfChanged {
        self.body(message_id).if_none_match(etag)
    }

    /// A message's clean content as JSON: participants, dates, the body
    /// with signatures and quotes optionally stripped, links, headers
    /// and attachment metadata
    /// (`GET /mailbox/messages/{message_id}/content`); see the
    /// [content options](super::ContentQuery).
    /// ```no_run
    /// # async fn f(m: sendmux_client::mailbox::Messages) -> Result<(), sendmux_client::Error> {
    /// let content = m.content("msg_123").strip_quotes(true).include_links(true).await?;
    /// println!("{:?}", content.body.text);
    /// # Ok(()) }
    /// ```
    pub fn content(&self, message_id: impl AsRef<str>) -> GetMessageContent {
        let path = [("message_id", message_id.as_ref())];
        self.mailbox.call(ops::MAILBOX_LIST_CONTENT, &path, data)
    }

    /// The clean content only if it changed since `etag` (set the content
    /// options on the returned request as on [`content`](Self::content)).
    /// ```no_run
    /// # async fn f(m: sendmux_client::mailbox::Messages) -> Result<(), sendmux_client::Error> {
    /// let fresh = m.content_if_changed("msg_123", "W/\"c1\"").strip_quotes(true).await?;
    /// # Ok(()) }
    /// ```
    pub fn content_if_changed(
        &self,
        message_id: impl AsRef<str>,
        etag: impl Into<String>,
    ) -> GetMessageContentIfChanged {
        self.content(message_id).if_none_match(etag)
    }

    /// Reads any number of messages by id (`POST /mailbox/messages:batch-get`,
    /// up to 100 ids per request), with their raw body or clean content if
    /// asked; the outcome has one item per id, in input order.
    /// ```no_run
    /// # async fn f(m: sendmux_client::mailbox::Messages, ids: Vec<String>) -> Result<(), sendmux_client::Error> {
    /// use sendmux_client::mailbox::BodyMode;
    /// let fetched = m.batch_get(&ids).body_mode(BodyMode::CleanJson).await?;
    /// for item in fetched.found() {
    ///     println!("{:?}", item.message.subject);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn batch_get<I>(&self, ids: I) -> BatchGet
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        BatchGet::new(self.mailbox.clone(), collect_ids(ids))
    }

    /// Changes the flags and keywords of any number of messages
    /// (`POST /mailbox/messages:batch-update`, up to 100 ids per request);
    /// one item per id in input order.
    /// ```no_run
    /// # async fn f(m: sendmux_client::mailbox::Messages, ids: Vec<String>) -> Result<(), sendmux_client::Error> {
    /// let outcome = m.batch_update(&ids).seen(true).add_keyword("triaged").await?;
    /// println!("{} updated", outcome.done());
    /// # Ok(()) }
    /// ```
    pub fn batch_update<I>(&self, ids: I) -> BatchUpdate
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        BatchUpdate::new(self.mailbox.clone(), collect_ids(ids))
    }

    /// Moves any number of messages to Trash, or deletes them for good
    /// with [`permanently`](BatchDelete::permanently)
    /// (`POST /mailbox/messages:batch-delete`, up to 100 ids per request);
    /// one item per id in input order.
    /// ```no_run
    /// # async fn f(m: sendmux_client::mailbox::Messages, ids: Vec<String>) -> Result<(), sendmux_client::Error> {
    /// let outcome = m.batch_delete(&ids).await?;
    /// # Ok(()) }
    /// ```
    pub fn batch_delete<I>(&self, ids: I) -> BatchDelete
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        BatchDelete::new(self.mailbox.clone(), collect_ids(ids))
    }

    /// One answer of the message list's query changes
    /// (`GET /mailbox/messages/query-changes`): set the list's filters and
    /// sort and [`since`](Request::since), or
    /// [`follow`](Request::follow) until caught up.
    /// ```no_run
    /// # async fn f(m: sendmux_client::mailbox::Messages) -> Result<(), sendmux_client::Error> {
    /// let start = m.query_changes().folder_id("fld_inbox").await?.new_query_state.clone();
    /// // ... later:
    /// let changes = m.query_changes().folder_id("fld_inbox").since(&start).follow().await?;
    /// # Ok(()) }
    /// ```
    pub fn query_changes(&self) -> Request<Response<QueryChanges>> {
        self.mailbox.call(
            ops::MAILBOX_QUERY_MESSAGE_CHANGES,
            &[],
            message_query_changes,
        )
    }

    /// How the unfiltered message list changed since `state`, following
    /// `has_more` until caught up.
    /// ```no_run
    /// # async fn f(m: sendmux_client::mailbox::Messages, state: sendmux_client::mailbox::QueryState) -> Result<(), sendmux_client::Error> {
    /// let outcome = m.query_changes_since(&state).await?;
    /// # Ok(()) }
    /// ```
    pub fn query_changes_since(&self, state: &QueryState) -> QueryChangesSince {
        self.query_changes().since(state).follow()
    }

    /// Sends a message from this mailbox to `to` with `subject`
    /// (`POST /mailbox/messages/send`); add a body with
    /// [`text`](super::SendMessage::text) or [`html`](super::SendMessage::html).
    /// The call carries an automatic idempotency key, reused by its
    /// retries.
    /// ```no_run
    /// # async fn f(m: sendmux_client::mailbox::Messages) -> Result<(), sendmux_client::Error> {
    /// use sendmux_client::mailbox::MessageAttachment;
    /// let sent = m
    ///     .send("ada@example.com", "Your report")
    ///     .cc("grace@example.com")
    ///     .text("It is attached.")
    ///     .attach(MessageAttachment::inline("report.txt", "text/plain", b"total: 42"))
    ///     .await?;
    /// println!("queued {}", sent.message_id);
    /// # Ok(()) }
    /// ```
    pub fn send(
        &self,
        to: impl Into<crate::sending::Address>,
        subject: impl Into<String>,
    ) -> super::SendMessage {
        super::send::new(&self.mailbox, to.into(), subject.into())
    }
}

fn collect_ids<I>(ids: I) -> Vec<String>
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    ids.into_iter().map(|id| id.as_ref().to_owned()).collect()
}

impl DeleteMessage {
    /// Deletes for good instead of moving to Trash.
    pub fn permanently(self) -> Self {
        self.param("permanent", true)
    }
}

impl UpdateMessage {
    /// Marks read (`true`) or unread (`false`).
    pub fn seen(mut self, seen: bool) -> Self {
        self.body.0.patch.seen = Some(seen);
        self
    }

    /// Flags (`true`) or unflags (`false`).
    pub fn flagged(mut self, flagged: bool) -> Self {
        self.body.0.patch.flagged = Some(flagged);
        self
    }

    /// Sets (`true`) or clears (`false`) a keyword. Names are 1 to 255
    /// visible ASCII characters without `( ) { ] % * " \`; the server
    /// lowercases them, and lifecycle keywords such as `$draft` are
    /// read-only.
    pub fn keyword(self, name: impl Into<String>, on: bool) -> Self {
        let name = name.into();
        let checked = check_keyword("keywords", &name);
        let request = self.check(checked);
        let max = request.body.0.max_keywords;
        let over = {
            let keywords = &request.body.0.patch.keywords;
            !keywords.contains_key(&name) && keywords.len() >= max
        };
        if over {
            return request.check(Err(too_many_keywords(max)));
        }
        let mut request = request;
        request.body.0.patch.keywords.insert(name, on);
        request
    }

    /// Sets a keyword.
    pub fn add_keyword(self, name: impl Into<String>) -> Self {
        self.keyword(name, true)
    }

    /// Clears a keyword.
    pub fn remove_keyword(self, name: impl Into<String>) -> Self {
        self.keyword(name, false)
    }
}

pub(crate) fn too_many_keywords(max: usize) -> InvalidInput {
    InvalidInput::new(
        "keywords",
        format!("changes more than {max} keywords"),
        "split the change over several updates, or raise the limit with Mailbox::with_limits",
    )
}

impl SearchSnippets {
    /// Snippets of exactly these messages (1 to 100 ids).
    pub fn message_ids(self, ids: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.id_list("message_ids", ids)
    }

    /// Most snippets, 1..=100.
    pub fn limit(self, limit: u32) -> Self {
        let checked = validate::limit(limit);
        self.check(checked).param("limit", limit)
    }
}

impl GetMessageBody {
    /// Which raw part to return: `text`, `html` or `both`.
    pub fn part(self, part: wire::RawBodyPart) -> Self {
        self.param("part", part)
    }

    /// Truncate after this many characters, 1..=1,000,000.
    pub fn max_body_chars(self, chars: u32) -> Self {
        let checked = body_chars(chars);
        self.check(checked).param("max_body_chars", chars)
    }
}

impl GetMessageBodyIfChanged {
    /// Which raw part to return: `text`, `html` or `both`.
    pub fn part(self, part: wire::RawBodyPart) -> Self {
        self.param("part", part)
    }

    /// Truncate after this many characters, 1..=1,000,000.
    pub fn max_body_chars(self, chars: u32) -> Self {
        let checked = body_chars(chars);
        self.check(checked).param("max_body_chars", chars)
    }
}

fn body_chars(chars: u32) -> Result<(), InvalidInput> {
    validate::in_range("max_body_chars", chars, 1, super::query::MAX_BODY_CHARS)
}
