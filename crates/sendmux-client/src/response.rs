//! What successful calls return.

use std::ops::Deref;

use http::{HeaderMap, HeaderName, header};

use crate::transport::{X_RATELIMIT_LIMIT, X_RATELIMIT_REMAINING, X_RATELIMIT_RESET, X_REQUEST_ID};

/// A successful result with what the response said about itself.
///
/// Dereferences to the value; [`Response::into_inner`] takes it out.
#[derive(Debug, Clone, PartialEq)]
pub struct Response<T> {
    value: T,
    meta: ResponseMeta,
}

/// Response facts shared by values and "not modified" answers. The header
/// map is moved out of the HTTP response (no copy); its values are read when
/// asked for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct ResponseMeta {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    /// The body's `meta.request_id`, for when a proxy dropped the header.
    pub(crate) envelope_request_id: Option<String>,
    pub(crate) attempts: u32,
}

impl ResponseMeta {
    pub(crate) fn new(status: u16, headers: HeaderMap) -> Self {
        Self {
            status,
            headers,
            envelope_request_id: None,
            attempts: 0,
        }
    }

    pub(crate) fn header(&self, name: &HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub(crate) fn request_id(&self) -> Option<&str> {
        self.header(&X_REQUEST_ID)
            .or(self.envelope_request_id.as_deref())
    }

    fn rate_limit(&self) -> Option<RateLimit> {
        let num = |name: &HeaderName| self.header(name)?.trim().parse::<u64>().ok();
        Some(RateLimit {
            limit: num(&X_RATELIMIT_LIMIT)?,
            remaining: num(&X_RATELIMIT_REMAINING)?,
            reset: num(&X_RATELIMIT_RESET)?,
        })
    }
}

impl<T> Response<T> {
    pub(crate) fn new(value: T, meta: ResponseMeta) -> Self {
        Self { value, meta }
    }

    /// The value.
    pub fn into_inner(self) -> T {
        self.value
    }

    /// The value, by reference.
    pub fn value(&self) -> &T {
        &self.value
    }

    /// `X-Request-Id` (or `meta.request_id`) of the response; quote it to
    /// support.
    pub fn request_id(&self) -> Option<&str> {
        self.meta.request_id()
    }

    /// The `ETag` header, for reads and writes that return one: pass it to
    /// `if_match` or the `*_if_changed` calls.
    pub fn etag(&self) -> Option<&str> {
        self.meta.header(&header::ETAG)
    }

    /// The `Location` header, on creates.
    pub fn location(&self) -> Option<&str> {
        self.meta.header(&header::LOCATION)
    }

    /// HTTP status code.
    pub fn status(&self) -> u16 {
        self.meta.status
    }

    /// Attempts the call took (1 when no retry was needed).
    pub fn attempts(&self) -> u32 {
        self.meta.attempts
    }

    /// The `X-RateLimit-*` headers, when all three were present.
    pub fn rate_limit(&self) -> Option<RateLimit> {
        self.meta.rate_limit()
    }

    /// Every response header, for values this type has no accessor for.
    pub fn headers(&self) -> &HeaderMap {
        &self.meta.headers
    }

    /// Maps the value, keeping the response facts.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Response<U> {
        Response {
            value: f(self.value),
            meta: self.meta,
        }
    }
}

impl<T> Deref for Response<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

/// The rate-limit window as reported by the response headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimit {
    /// Requests allowed per window (`X-RateLimit-Limit`).
    pub limit: u64,
    /// Requests left in this window (`X-RateLimit-Remaining`).
    pub remaining: u64,
    /// When the window resets, Unix seconds (`X-RateLimit-Reset`).
    pub reset: u64,
}

/// The answer to a conditional read (`If-None-Match`).
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub enum Conditional<T> {
    /// The resource changed: here is the new representation and `ETag`.
    Modified(Response<T>),
    /// `304 Not Modified`: the copy you hold is current. Carries the request
    /// id and the (unchanged) `ETag`.
    NotModified(Response<()>),
}

impl<T> Conditional<T> {
    /// Whether the resource changed.
    pub fn is_modified(&self) -> bool {
        matches!(self, Conditional::Modified(_))
    }

    /// The new representation, if the resource changed.
    pub fn modified(self) -> Option<Response<T>> {
        match self {
            Conditional::Modified(r) => Some(r),
            Conditional::NotModified(_) => None,
        }
    }

    /// Request id of either answer.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Conditional::Modified(r) => r.request_id(),
            Conditional::NotModified(r) => r.request_id(),
        }
    }

    /// `ETag` of either answer.
    pub fn etag(&self) -> Option<&str> {
        match self {
            Conditional::Modified(r) => r.etag(),
            Conditional::NotModified(r) => r.etag(),
        }
    }
}

/// One page of a cursor-paginated list.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Page<T> {
    /// The items, in server order (newest first).
    pub items: Vec<T>,
    /// Whether another page follows.
    pub has_more: bool,
    /// Cursor of the next page; store it to resume later with `.cursor(..)`.
    pub next_cursor: Option<String>,
}
