//! Item streams over cursor-paginated lists.
//!
//! A page is kept as the JSON it arrived in, with the byte range of each
//! item; an item is decoded only when the stream reaches it, and the page's
//! bytes are released before the next page is requested. Decoded models are
//! about two and a half times the size of their JSON, so this keeps a
//! stream's memory near one page of JSON instead of one page of models plus
//! its JSON.

use std::collections::HashSet;
use std::future::Future;
use std::ops::Range;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};
use sendmux_api::types as wire;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::error::Error;
use crate::response::{Page, Response};
use crate::transport::{Raw, snippet};

/// Remembers every cursor a stream has followed. A server that hands back
/// any of them (not only the last) would make the stream loop forever, so
/// the stream ends with [`Error::PaginationLoop`] instead.
#[derive(Debug, Default)]
pub(crate) struct CursorGuard {
    seen: HashSet<String>,
    pages: u32,
}

impl CursorGuard {
    /// Records a fetched page and returns the cursor to follow next:
    /// `Ok(None)` at the end of the list, an error when `next` was seen
    /// before in this stream (or is the cursor that fetched this page).
    pub(crate) fn advance(
        &mut self,
        current: Option<&str>,
        has_more: bool,
        next: Option<&str>,
        request_id: Option<&str>,
    ) -> Result<Option<String>, Error> {
        self.pages += 1;
        if let Some(current) = current {
            self.seen.insert(current.to_owned());
        }
        let Some(next) = next.filter(|_| has_more) else {
            return Ok(None);
        };
        if self.seen.contains(next) {
            return Err(Error::PaginationLoop {
                cursor: next.to_owned(),
                pages: self.pages,
                request_id: request_id.map(str::to_owned),
            });
        }
        Ok(Some(next.to_owned()))
    }
}

/// Fetches one decoded page at a cursor (`None`: the first page).
pub(crate) type FetchDecoded<T> = Arc<
    dyn Fn(Option<String>) -> Pin<Box<dyn Future<Output = Result<Response<Page<T>>, Error>> + Send>>
        + Send
        + Sync,
>;

/// Every page from `first` on, fetched when the stream is polled past the
/// previous one; ends after the first error, or with
/// [`Error::PaginationLoop`] when a cursor comes back.
pub(crate) fn pages<T>(
    fetch: FetchDecoded<T>,
    first: Option<String>,
) -> BoxStream<'static, Result<Response<Page<T>>, Error>>
where
    T: Send + 'static,
{
    // The page that repeats a cursor is still delivered; the loop error
    // follows it and ends the stream.
    enum Next {
        Fetch(Option<String>),
        Fail(Error),
        Done,
    }
    stream::unfold(
        (Next::Fetch(first), CursorGuard::default()),
        move |(next, mut guard)| {
            let fetch = Arc::clone(&fetch);
            async move {
                let cursor = match next {
                    Next::Fetch(cursor) => cursor,
                    Next::Fail(error) => return Some((Err(error), (Next::Done, guard))),
                    Next::Done => return None,
                };
                let page = match fetch(cursor.clone()).await {
                    Ok(page) => page,
                    Err(error) => return Some((Err(error), (Next::Done, guard))),
                };
                let next = match guard.advance(
                    cursor.as_deref(),
                    page.has_more,
                    page.next_cursor.as_deref(),
                    page.request_id(),
                ) {
                    Ok(Some(cursor)) => Next::Fetch(Some(cursor)),
                    Ok(None) => Next::Done,
                    Err(error) => Next::Fail(error),
                };
                Some((Ok(page), (next, guard)))
            }
        },
    )
    .boxed()
}

/// Fetches the raw page at a cursor (`None`: the first page).
pub(crate) type FetchPage = Arc<
    dyn Fn(Option<String>) -> Pin<Box<dyn Future<Output = Result<Raw, Error>> + Send>>
        + Send
        + Sync,
>;

/// The list envelope with its items left as borrowed JSON.
#[derive(Deserialize)]
struct Envelope<'a> {
    // Required like in the generated envelope, so both reject the same
    // malformed pages.
    #[allow(dead_code)]
    ok: bool,
    meta: wire::ResponseMeta,
    #[serde(borrow)]
    data: Vec<&'a RawValue>,
    pagination: wire::CursorPagination,
}

/// One page: its body and where each item sits in it.
struct RawPage {
    body: Bytes,
    items: std::vec::IntoIter<Range<usize>>,
    /// Position of the next item on the page, for error messages.
    index: usize,
    status: u16,
    request_id: Option<String>,
    attempts: u32,
    has_more: bool,
    next_cursor: Option<String>,
}

impl RawPage {
    fn split(raw: Raw) -> Result<Self, Error> {
        let undecodable = |reason: String, source: Option<serde_json::Error>| Error::Undecodable {
            status: Some(raw.status),
            request_id: raw.meta.request_id().map(str::to_owned),
            reason,
            snippet: snippet(&raw.body),
            attempts: raw.meta.attempts,
            source: source.map(|e| Box::new(e) as _),
        };
        let envelope: Envelope<'_> = serde_json::from_slice(&raw.body).map_err(|e| {
            undecodable(
                format!("body does not match the expected shape: {e}"),
                Some(e),
            )
        })?;
        // Each item borrows from the body; its offset is where its text
        // starts in the body.
        let base = raw.body.as_ptr() as usize;
        let mut items = Vec::with_capacity(envelope.data.len());
        for item in &envelope.data {
            let text = item.get();
            let start = (text.as_ptr() as usize).wrapping_sub(base);
            let range = start..start + text.len();
            if raw.body.get(range.clone()).map(<[u8]>::as_ptr) != Some(text.as_ptr()) {
                return Err(undecodable(
                    "list item is not part of the response body".into(),
                    None,
                ));
            }
            items.push(range);
        }
        let has_more = envelope.pagination.has_more;
        let next_cursor = envelope.pagination.next_cursor;
        Ok(Self {
            items: items.into_iter(),
            index: 0,
            status: raw.status,
            // The envelope's copy when a proxy dropped the header.
            request_id: raw
                .meta
                .request_id()
                .map(str::to_owned)
                .or(Some(envelope.meta.request_id)),
            attempts: raw.meta.attempts,
            has_more,
            next_cursor,
            body: raw.body,
        })
    }

    /// Decodes the next item, if any is left.
    fn next_item<T: DeserializeOwned>(&mut self) -> Option<Result<T, Error>> {
        let range = self.items.next()?;
        let index = self.index;
        self.index += 1;
        let text = &self.body[range];
        Some(
            serde_json::from_slice(text).map_err(|e| Error::Undecodable {
                status: Some(self.status),
                request_id: self.request_id.clone(),
                reason: format!("item {index} of the page does not match the expected shape: {e}"),
                snippet: snippet(text),
                attempts: self.attempts,
                source: Some(Box::new(e)),
            }),
        )
    }
}

struct State {
    fetch: FetchPage,
    page: Option<RawPage>,
    /// `Some(cursor)` while a page remains to be fetched.
    pending: Option<Option<String>>,
    guard: CursorGuard,
    /// A loop found after the current page: reported once its items are out.
    looped: Option<Error>,
}

/// Every item from `first` on, one page held at a time, ending after the
/// first error.
pub(crate) fn items<T>(
    fetch: FetchPage,
    first: Option<String>,
) -> BoxStream<'static, Result<T, Error>>
where
    T: DeserializeOwned + Send + 'static,
{
    let state = State {
        fetch,
        page: None,
        pending: Some(first),
        guard: CursorGuard::default(),
        looped: None,
    };
    stream::unfold(state, |mut state| async move {
        loop {
            if let Some(page) = &mut state.page {
                match page.next_item() {
                    Some(Ok(item)) => return Some((Ok(item), state)),
                    Some(Err(error)) => {
                        state.page = None;
                        state.pending = None;
                        return Some((Err(error), state));
                    }
                    // Release this page's bytes before asking for the next.
                    None => state.page = None,
                }
            }
            if let Some(error) = state.looped.take() {
                return Some((Err(error), state));
            }
            let cursor = state.pending.take()?;
            match (state.fetch)(cursor.clone()).await.and_then(RawPage::split) {
                Ok(page) => {
                    match state.guard.advance(
                        cursor.as_deref(),
                        page.has_more,
                        page.next_cursor.as_deref(),
                        page.request_id.as_deref(),
                    ) {
                        Ok(next) => state.pending = next.map(Some),
                        Err(error) => state.looped = Some(error),
                    }
                    state.page = Some(page);
                }
                Err(error) => return Some((Err(error), state)),
            }
        }
    })
    .boxed()
}
