//! The filters and content options several Mailbox API reads share, as
//! setters on their requests.
//!
//! The message filters apply to the message list, count, search
//! snippets and query changes (and the thread list takes some of them);
//! each setter checks that the operation declares the parameter, so one
//! it does not take fails before any I/O instead of being ignored.

use std::fmt;

use sendmux_api::types as wire;
use sendmux_operations::Location;

use super::sync::QueryChanges;
use crate::error::InvalidInput;
use crate::request::Request;
use crate::response::{Conditional, Page, Response};
use crate::validate;

mod sealed {
    pub trait Sealed {}
}

/// Requests that take the message filters: the message list, count,
/// search snippets and message query changes, and the thread list for
/// the filters it declares. Not implementable outside this crate.
pub trait MessageQuery: sealed::Sealed {}

/// Requests that take the clean-content options: a message's content and
/// a thread's. Not implementable outside this crate.
pub trait ContentQuery: sealed::Sealed {}

impl sealed::Sealed for Response<Page<wire::MailboxMessageSummary>> {}
impl MessageQuery for Response<Page<wire::MailboxMessageSummary>> {}
impl sealed::Sealed for Response<wire::MailboxMessageCount> {}
impl MessageQuery for Response<wire::MailboxMessageCount> {}
impl sealed::Sealed for Response<wire::MailboxSearchSnippetsResult> {}
impl MessageQuery for Response<wire::MailboxSearchSnippetsResult> {}
impl sealed::Sealed for Response<QueryChanges> {}
impl MessageQuery for Response<QueryChanges> {}
impl sealed::Sealed for Response<Page<wire::MailboxThreadSummary>> {}
impl MessageQuery for Response<Page<wire::MailboxThreadSummary>> {}

impl sealed::Sealed for Response<wire::MailboxMessageContent> {}
impl ContentQuery for Response<wire::MailboxMessageContent> {}
impl sealed::Sealed for Conditional<wire::MailboxMessageContent> {}
impl ContentQuery for Conditional<wire::MailboxMessageContent> {}
impl sealed::Sealed for Response<Page<wire::MailboxMessageContent>> {}
impl ContentQuery for Response<Page<wire::MailboxMessageContent>> {}

/// Longest body a content read returns, in characters.
pub(crate) const MAX_BODY_CHARS: u32 = 1_000_000;

impl<T, B> Request<T, B> {
    /// Sets query parameter `name` if the operation declares it, or
    /// records that it does not.
    pub(crate) fn declared(self, name: &'static str, value: impl fmt::Display) -> Self {
        let op = self.operation();
        if op.parameter(Location::Query, name).is_none() {
            let problem = InvalidInput::new(
                name,
                format!("is not taken by {}", op.id),
                "leave it out: this operation has no such filter",
            );
            return self.check(Err(problem));
        }
        self.param(name, value)
    }

    /// A text filter, which must not be empty.
    pub(crate) fn text_param(self, name: &'static str, value: String) -> Self {
        let checked = non_empty(name, &value);
        self.check(checked).declared(name, value)
    }

    /// An id filter.
    pub(crate) fn id_param(self, name: &'static str, value: String) -> Self {
        let checked = validate::resource_id(name, &value);
        self.check(checked).declared(name, value)
    }

    /// A comma-separated id list of 1 to 100 ids.
    pub(crate) fn id_list(
        self,
        name: &'static str,
        ids: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        let ids: Vec<String> = ids.into_iter().map(Into::into).collect();
        let checked = id_list_check(name, &ids);
        self.check(checked).declared(name, ids.join(","))
    }
}

/// `ids` as one comma-separated parameter: 1 to 100 ids without commas.
pub(crate) fn id_list_check(name: &'static str, ids: &[String]) -> Result<(), InvalidInput> {
    if ids.is_empty() || ids.len() > 100 {
        return Err(InvalidInput::new(
            name,
            format!("has {} ids", ids.len()),
            "pass 1 to 100 ids",
        ));
    }
    for id in ids {
        validate::resource_id(name, id)?;
        if id.contains(',') {
            return Err(InvalidInput::new(
                name,
                format!("{id:?} contains a comma"),
                "pass ids exactly as the API returned them",
            ));
        }
    }
    Ok(())
}

pub(crate) fn non_empty(field: &'static str, value: &str) -> Result<(), InvalidInput> {
    if value.trim().is_empty() {
        return Err(InvalidInput::new(
            field,
            "is empty",
            "pass a value, or leave the filter out",
        ));
    }
    Ok(())
}

/// A timestamp filter: RFC 3339 text such as `2026-11-01T10:00:00Z`.
pub(crate) fn timestamp(field: &'static str, value: &str) -> Result<(), InvalidInput> {
    let shaped = value.len() >= 10
        && value.is_ascii()
        && value.as_bytes()[..4].iter().all(u8::is_ascii_digit)
        && !value.contains(char::is_whitespace);
    if shaped {
        return Ok(());
    }
    Err(InvalidInput::new(
        field,
        format!("{value:?} is not a timestamp"),
        "pass an RFC 3339 time such as `2026-11-01T10:00:00Z`",
    ))
}

/// The message filters. Each one the operation does not declare fails
/// before any I/O.
impl<T: MessageQuery> Request<T> {
    /// Only messages in this folder.
    pub fn folder_id(self, folder_id: impl Into<String>) -> Self {
        self.id_param("folder_id", folder_id.into())
    }

    /// Only messages of this thread.
    pub fn thread_id(self, thread_id: impl Into<String>) -> Self {
        self.id_param("thread_id", thread_id.into())
    }

    /// Full-text search (`q`).
    pub fn text(self, query: impl Into<String>) -> Self {
        self.text_param("q", query.into())
    }

    /// Sender address or display name contains this.
    pub fn from(self, sender: impl Into<String>) -> Self {
        self.text_param("from", sender.into())
    }

    /// A `To` address or display name contains this.
    pub fn to(self, recipient: impl Into<String>) -> Self {
        self.text_param("to", recipient.into())
    }

    /// A `Cc` address or display name contains this.
    pub fn cc(self, recipient: impl Into<String>) -> Self {
        self.text_param("cc", recipient.into())
    }

    /// A `Bcc` address or display name contains this.
    pub fn bcc(self, recipient: impl Into<String>) -> Self {
        self.text_param("bcc", recipient.into())
    }

    /// The subject contains this.
    pub fn subject(self, text: impl Into<String>) -> Self {
        self.text_param("subject", text.into())
    }

    /// The body contains this.
    pub fn body_contains(self, text: impl Into<String>) -> Self {
        self.text_param("body", text.into())
    }

    /// A header `name` has `value` (`header_name` and `header_value`).
    pub fn header_match(self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.text_param("header_name", name.into())
            .text_param("header_value", value.into())
    }

    /// At least this many bytes.
    pub fn min_size_bytes(self, bytes: u64) -> Self {
        self.declared("min_size_bytes", bytes)
    }

    /// At most this many bytes.
    pub fn max_size_bytes(self, bytes: u64) -> Self {
        self.declared("max_size_bytes", bytes)
    }

    /// Carries this keyword (such as `$flagged`).
    pub fn keyword(self, keyword: impl Into<String>) -> Self {
        self.text_param("keyword", keyword.into())
    }

    /// Does not carry this keyword.
    pub fn not_keyword(self, keyword: impl Into<String>) -> Self {
        self.text_param("not_keyword", keyword.into())
    }

    /// Received after this RFC 3339 time.
    pub fn after(self, time: impl Into<String>) -> Self {
        let time = time.into();
        let checked = timestamp("after", &time);
        self.check(checked).declared("after", time)
    }

    /// Received before this RFC 3339 time.
    pub fn before(self, time: impl Into<String>) -> Self {
        let time = time.into();
        let checked = timestamp("before", &time);
        self.check(checked).declared("before", time)
    }

    /// `true`: only with attachments; `false`: only without.
    pub fn has_attachment(self, has: bool) -> Self {
        self.declared("has_attachment", has)
    }

    /// `true`: only unread; `false`: only read.
    pub fn is_unread(self, unread: bool) -> Self {
        self.declared("is_unread", unread)
    }

    /// A participant's address or display name contains this (threads).
    pub fn participant(self, who: impl Into<String>) -> Self {
        self.text_param("participant", who.into())
    }

    /// The field to sort messages by.
    pub fn sort_by(self, field: wire::MessageSortBy) -> Self {
        self.declared("sort_by", field)
    }

    /// Ascending or descending (the server defaults to newest first).
    pub fn sort_direction(self, direction: wire::SortDirection) -> Self {
        self.declared("sort_direction", direction)
    }
}

/// The clean-content options of a message's or a thread's content.
impl<T: ContentQuery> Request<T> {
    /// Which body part to clean (`auto` picks text, else HTML).
    pub fn part(self, part: wire::ContentPart) -> Self {
        self.declared("part", part)
    }

    /// Truncate each body after this many characters, 1..=1,000,000.
    pub fn max_body_chars(self, chars: u32) -> Self {
        let checked = validate::in_range("max_body_chars", chars, 1, MAX_BODY_CHARS);
        self.check(checked).declared("max_body_chars", chars)
    }

    /// Remove detected signatures.
    pub fn strip_signature(self, strip: bool) -> Self {
        self.declared("strip_signature", strip)
    }

    /// Remove quoted replies.
    pub fn strip_quotes(self, strip: bool) -> Self {
        self.declared("strip_quotes", strip)
    }

    /// Include the links found in the body.
    pub fn include_links(self, include: bool) -> Self {
        self.declared("include_links", include)
    }

    /// Include the HTML body when there is one.
    pub fn include_html(self, include: bool) -> Self {
        self.declared("include_html", include)
    }

    /// How many headers to include.
    pub fn include_headers(self, detail: wire::IncludeHeaders) -> Self {
        self.declared("include_headers", detail)
    }

    /// Whether to include attachment metadata (never contents).
    pub fn include_attachments(self, detail: wire::IncludeAttachments) -> Self {
        self.declared("include_attachments", detail)
    }
}
