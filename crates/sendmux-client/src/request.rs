//! The one request type every typed operation returns.
//!
//! A resource method (`client.domains().get(id)`) only names its operation
//! from the generated table, passes its required arguments and says how the
//! answer decodes; everything else is here, written once: per-call options
//! (idempotency key, timeout, retry policy, extra headers, `If-Match`),
//! conditional reads, cursor lists as page and item streams, validation
//! before any I/O, and one [`IntoFuture`] path through the client's runtime.

use std::collections::BTreeSet;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use http::{HeaderMap, HeaderName, HeaderValue, header};
use sendmux_api::types as wire;
use sendmux_operations::Operation;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Client;
use crate::error::{Error, InvalidInput};
use crate::idempotency::IdempotencyKey;
use crate::paginate;
use crate::response::{Conditional, Page, Response};
use crate::retry::RetryPolicy;
use crate::transport::{Call, Payload, Raw, is_unreserved, push_segment, snippet};
use crate::validate;

/// A request body: none, a model sent as JSON, or bytes.
pub trait Body: Clone + fmt::Debug + Send + Sync + 'static {
    /// The bytes to send, if any.
    #[doc(hidden)]
    fn encode(&self) -> Result<Option<Bytes>, Error>;

    /// The body as the runtime sends it (a file body streams instead).
    #[doc(hidden)]
    #[allow(private_interfaces)]
    fn payload(&self) -> Result<Option<Payload>, Error> {
        Ok(self.encode()?.map(Payload::Bytes))
    }
}

/// No request body.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoBody;

impl Body for NoBody {
    fn encode(&self) -> Result<Option<Bytes>, Error> {
        Ok(None)
    }
}

/// A model sent as a JSON body.
#[derive(Debug, Clone)]
pub struct Json<M>(pub(crate) M);

impl<M: Serialize + Clone + fmt::Debug + Send + Sync + 'static> Body for Json<M> {
    fn encode(&self) -> Result<Option<Bytes>, Error> {
        serde_json::to_vec(&self.0)
            .map(|bytes| Some(Bytes::from(bytes)))
            .map_err(|e| Error::Setup {
                message: "could not encode the request body".into(),
                source: Box::new(e),
            })
    }
}

/// A JSON body that also sends `null` for the fields it clears: the
/// generated update bodies leave out what is unset, and `null` is how a
/// PATCH removes a value.
#[derive(Debug, Clone, Default)]
pub struct Patch<M> {
    pub(crate) set: M,
    cleared: BTreeSet<&'static str>,
}

impl<M> Patch<M> {
    /// `field` goes out as `null` unless a value is set for it.
    pub(crate) fn clear(&mut self, field: &'static str) {
        self.cleared.insert(field);
    }
}

impl<M> AsMut<M> for Patch<M> {
    fn as_mut(&mut self) -> &mut M {
        &mut self.set
    }
}

impl<M: Serialize> Serialize for Patch<M> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut fields = match serde_json::to_value(&self.set) {
            Ok(serde_json::Value::Object(fields)) => fields,
            Ok(_) => serde_json::Map::new(),
            Err(e) => return Err(serde::ser::Error::custom(e)),
        };
        for field in &self.cleared {
            fields.entry(*field).or_insert(serde_json::Value::Null);
        }
        fields.serialize(serializer)
    }
}

/// One call of one operation, built by a resource method; set options, then
/// `.await` it (or call [`send`](Self::send)). `T` is what a successful call
/// yields, `B` the body it sends.
///
/// Arguments are checked when the call is built and the first problem is
/// returned by `send` before any I/O: a call that fails validation never
/// reaches the network.
#[must_use = "requests do nothing until awaited"]
pub struct Request<T, B = NoBody> {
    client: Client,
    op: &'static Operation,
    path: String,
    query: Vec<(&'static str, String)>,
    pub(crate) body: B,
    /// Per-call options, boxed: most calls set none, and a small request
    /// is cheap to move through the builder chain.
    options: Option<Box<Options>>,
    invalid: Option<Box<InvalidInput>>,
    decode: Decoder<T>,
}

/// How a successful answer becomes the caller's value.
pub(crate) type Decoder<T> = fn(Raw) -> Result<T, Error>;

/// What a caller may set on one call beyond its arguments.
#[derive(Debug, Clone, Default)]
struct Options {
    headers: HeaderMap,
    idempotency_key: Option<String>,
    timeout: Option<Duration>,
    retry: Option<RetryPolicy>,
    max_body: Option<usize>,
    /// The answer carries a secret: errors keep none of its body.
    sensitive: bool,
    /// An absolute URL the server handed out, instead of the base URL.
    url: Option<reqwest::Url>,
    /// Sent without a key.
    anonymous: bool,
    /// Safe to repeat although neither safe nor keyed.
    repeatable: bool,
}

// By hand: a derive would require `T: Clone`, and `T` is only an output.
impl<T, B: Clone> Clone for Request<T, B> {
    fn clone(&self) -> Self {
        Self {
            client: self.client.clone(),
            op: self.op,
            path: self.path.clone(),
            query: self.query.clone(),
            body: self.body.clone(),
            options: self.options.clone(),
            invalid: self.invalid.clone(),
            decode: self.decode,
        }
    }
}

impl<T, B: fmt::Debug> fmt::Debug for Request<T, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("operation", &self.op.id)
            .field("path", &self.path)
            .field("query", &self.query)
            .field("body", &self.body)
            .field("options", &self.options)
            .field("invalid", &self.invalid)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A call of `op` with its path parameters (label for errors, value) in
    /// template order, decoded by `decode`.
    pub(crate) fn request<T>(
        &self,
        op: &'static Operation,
        path_values: &[(&'static str, &str)],
        decode: fn(Raw) -> Result<T, Error>,
    ) -> Request<T> {
        let mut invalid = None;
        let mut path = String::with_capacity(op.path.len() + 32);
        let mut values = path_values.iter();
        // Copy the template's literal parts and fill each `{name}` in turn.
        let mut rest = op.path;
        while let Some(open) = rest.find('{') {
            path.push_str(&rest[..open]);
            let close = rest[open..].find('}').map_or(rest.len(), |i| open + i);
            let name = rest.get(open + 1..close).unwrap_or_default();
            rest = rest.get(close + 1..).unwrap_or_default();
            let Some((label, value)) = values.next() else {
                invalid.get_or_insert_with(|| {
                    Box::new(InvalidInput::new(
                        name.to_owned(),
                        "is missing",
                        "pass every path parameter",
                    ))
                });
                continue;
            };
            // Real ids are all unreserved bytes: one pass checks and copies.
            if !value.is_empty() && value.bytes().all(is_unreserved) {
                path.push_str(value);
            } else {
                if let Err(problem) = validate::resource_id(label, value) {
                    invalid.get_or_insert(Box::new(problem));
                }
                push_segment(&mut path, value);
            }
        }
        path.push_str(rest);
        Request {
            client: self.clone(),
            op,
            path,
            query: Vec::new(),
            body: NoBody,
            options: None,
            invalid,
            decode,
        }
    }
}

impl<T, B> Request<T, B> {
    /// Records a validation failure (the first one wins).
    pub(crate) fn check(mut self, outcome: Result<(), InvalidInput>) -> Self {
        if let Err(problem) = outcome {
            self.invalid.get_or_insert(Box::new(problem));
        }
        self
    }

    fn options(&mut self) -> &mut Options {
        self.options.get_or_insert_with(Box::default)
    }

    /// Sends `body` as JSON.
    pub(crate) fn json<M>(self, body: M) -> Request<T, Json<M>> {
        self.with_body(Json(body))
    }

    pub(crate) fn with_body<C>(self, body: C) -> Request<T, C> {
        Request {
            client: self.client,
            op: self.op,
            path: self.path,
            query: self.query,
            body,
            options: self.options,
            invalid: self.invalid,
            decode: self.decode,
        }
    }

    pub(crate) fn decoding<U>(self, decode: fn(Raw) -> Result<U, Error>) -> Request<U, B> {
        Request {
            client: self.client,
            op: self.op,
            path: self.path,
            query: self.query,
            body: self.body,
            options: self.options,
            invalid: self.invalid,
            decode,
        }
    }

    pub(crate) fn query(mut self, name: &'static str, value: String) -> Self {
        self.query.retain(|(n, _)| *n != name);
        self.query.push((name, value));
        self
    }

    /// Sets query parameter `name` to a typed value, as it displays.
    pub(crate) fn param(self, name: &'static str, value: impl fmt::Display) -> Self {
        self.query(name, value.to_string())
    }

    /// Puts a checked value into the body, or records why it was refused.
    pub(crate) fn set<V>(
        mut self,
        value: Result<V, InvalidInput>,
        put: impl FnOnce(&mut B, V),
    ) -> Self {
        match value {
            Ok(value) => {
                put(&mut self.body, value);
                self
            }
            Err(problem) => self.check(Err(problem)),
        }
    }

    /// The answer carries a secret: a failure keeps none of its body (no
    /// snippet, decoding message or conformance details).
    pub(crate) fn sensitive(mut self) -> Self {
        self.options().sensitive = true;
        self
    }

    /// Sends to `url` (absolute, handed out by the server) without a key:
    /// a signed upload, whose repeat cannot store the file twice.
    pub(crate) fn signed(mut self, url: reqwest::Url) -> Self {
        let options = self.options();
        options.url = Some(url);
        options.anonymous = true;
        options.repeatable = true;
        self
    }

    /// Inserts a header the API handed out, marked sensitive when it is a
    /// credential so HTTP libraries do not log it.
    pub(crate) fn raw_header(
        mut self,
        name: HeaderName,
        mut value: HeaderValue,
        sensitive: bool,
    ) -> Self {
        value.set_sensitive(sensitive);
        self.options().headers.insert(name, value);
        self
    }

    /// The idempotency key the caller gave, if any.
    pub(crate) fn caller_idempotency_key(&self) -> Option<&str> {
        self.options.as_ref()?.idempotency_key.as_deref()
    }

    /// The client the request runs on.
    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// The first validation failure recorded so far.
    pub(crate) fn problem(&self) -> Option<&InvalidInput> {
        self.invalid.as_deref()
    }

    /// The operation this request calls (from the generated table).
    pub fn operation(&self) -> &'static Operation {
        self.op
    }

    /// Your own idempotency key (1..=255 visible ASCII) instead of a
    /// generated one; reuse it to repeat this exact call safely later. Only
    /// operations that declare `Idempotency-Key` take one.
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        if !self.op.idempotency_key {
            let problem = InvalidInput::new(
                "idempotency_key",
                format!("is not taken by {}", self.op.id),
                "leave it out: this operation is made safe to repeat otherwise",
            );
            return self.check(Err(problem));
        }
        self.options().idempotency_key = Some(key.into());
        self
    }

    /// Per-attempt timeout for this call only.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.options().timeout = Some(timeout);
        self
    }

    /// Retry policy for this call only (e.g. [`RetryPolicy::none`]).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.options().retry = Some(policy);
        self
    }

    /// Largest response body accepted for this call; a larger one fails as
    /// [`Error::Undecodable`].
    pub fn max_response_bytes(mut self, bytes: usize) -> Self {
        self.options().max_body = Some(bytes);
        self
    }

    /// Adds a request header. `Authorization` is the client's to set.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        let parsed = HeaderName::from_bytes(name.as_bytes())
            .ok()
            .filter(|n| *n != header::AUTHORIZATION)
            .zip(HeaderValue::from_str(value).ok());
        match parsed {
            Some((name, value)) => {
                self.options().headers.insert(name, value);
                self
            }
            None => self.check(Err(InvalidInput::new(
                name.to_owned(),
                "is not a header this call can send",
                "use a valid header name and value; the API key is set on the client",
            ))),
        }
    }

    /// Only write if the resource still has this `ETag` (from an earlier
    /// read); otherwise the server answers `409 conflict`.
    pub fn if_match(self, etag: impl Into<String>) -> Self {
        let etag = etag.into();
        match validate::etag("if_match", &etag) {
            Ok(()) => self.header(header::IF_MATCH.as_str(), &etag),
            Err(problem) => self.check(Err(problem)),
        }
    }
}

impl<T: Send + 'static, B: Body> Request<T, B> {
    /// The runtime's view of this call, moved out of the request; fails if
    /// validation did.
    pub(crate) fn into_call(self) -> Result<(Call, Client, Decoder<T>), Error> {
        if let Some(problem) = self.invalid {
            return Err((*problem).into());
        }
        let mut call = Call::new(self.op, self.path);
        call.query = self.query;
        call.body = self.body.payload()?;
        if let Some(options) = self.options {
            let Options {
                headers,
                idempotency_key,
                timeout,
                retry,
                max_body,
                sensitive,
                url,
                anonymous,
                repeatable,
            } = *options;
            call.sensitive = sensitive;
            call.url = url;
            call.anonymous |= anonymous;
            call.repeatable = repeatable;
            call.headers = headers;
            call.idempotency_key = idempotency_key.map(IdempotencyKey::new).transpose()?;
            call.timeout = timeout;
            call.retry = retry.map(Box::new);
            call.max_body = max_body;
        }
        Ok((call, self.client, self.decode))
    }

    /// Sends the request.
    // A plain fn returning an `async move` block: an `async fn` would keep
    // `self` twice in its state, and the state is copied when it moves.
    #[allow(clippy::manual_async_fn)]
    pub fn send(self) -> impl Future<Output = Result<T, Error>> + Send + 'static {
        async move {
            let sensitive = self.options.as_ref().is_some_and(|o| o.sensitive);
            let (call, client, decode) = self.into_call()?;
            let raw = match client.execute(call).await {
                Ok(raw) => raw,
                Err(error) if sensitive => return Err(crate::secret::withhold_body(error)),
                Err(error) => return Err(error),
            };
            decode(raw)
        }
    }
}

impl<T: Send + 'static, B: Body> IntoFuture for Request<T, B> {
    type Output = Result<T, Error>;
    type IntoFuture = BoxFuture<'static, Result<T, Error>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

impl<M: DeserializeOwned + Send + 'static, B> Request<Response<M>, B> {
    /// Reads only if the resource changed since `etag` (`If-None-Match`);
    /// `304` comes back as [`Conditional::NotModified`].
    pub fn if_none_match(self, etag: impl Into<String>) -> Request<Conditional<M>, B> {
        let etag = etag.into();
        let checked = validate::etag("etag", &etag);
        let request = match checked {
            Ok(()) => self.header(header::IF_NONE_MATCH.as_str(), &etag),
            Err(problem) => self.check(Err(problem)),
        };
        request.decoding(conditional::<M>)
    }
}

impl<M: DeserializeOwned + Send + 'static> Request<Response<Page<M>>> {
    /// Page size, 1..=100 (the server defaults to 50).
    pub fn limit(self, limit: u32) -> Self {
        let checked = validate::limit(limit);
        self.check(checked).query("limit", limit.to_string())
    }

    /// Start at this cursor (a [`Page::next_cursor`] stored earlier).
    pub fn cursor(self, cursor: impl Into<String>) -> Self {
        let cursor = cursor.into();
        let checked = if cursor.is_empty() {
            Err(InvalidInput::new(
                "cursor",
                "is empty",
                "pass `next_cursor` from a previous page, or no cursor for the first page",
            ))
        } else {
            Ok(())
        };
        self.check(checked).query("cursor", cursor)
    }

    fn start(&self) -> Option<String> {
        self.query
            .iter()
            .find(|(name, _)| *name == "cursor")
            .map(|(_, value)| value.clone())
    }

    fn at(&self, cursor: Option<String>) -> Self {
        let mut request = self.clone();
        request.query.retain(|(name, _)| *name != "cursor");
        if let Some(cursor) = cursor {
            request.query.push(("cursor", cursor));
        }
        request
    }

    /// Every page from the starting cursor on, fetched when the stream is
    /// polled past the previous one. Ends after the first error, or with
    /// [`Error::PaginationLoop`] when the server hands back a cursor this
    /// stream already followed.
    pub fn pages(self) -> BoxStream<'static, Result<Response<Page<M>>, Error>> {
        let first = self.start();
        let this = Arc::new(self);
        let fetch: paginate::FetchDecoded<M> = Arc::new(move |cursor| {
            let request = this.at(cursor);
            Box::pin(request.send())
        });
        paginate::pages(fetch, first)
    }

    /// Every item across pages, holding about one page of JSON at a time:
    /// each item is decoded when the stream reaches it, and the next page is
    /// requested only after the last item of the current one. Ends after the
    /// first error (or a cursor loop, as [`pages`](Self::pages)).
    pub fn stream(self) -> BoxStream<'static, Result<M, Error>> {
        let first = self.start();
        let this = Arc::new(self);
        let fetch: paginate::FetchPage = Arc::new(move |cursor| {
            let prepared = this.at(cursor).into_call();
            Box::pin(async move {
                let (call, client, _) = prepared?;
                client.execute(call).await
            })
        });
        paginate::items(fetch, first)
    }
}

/// The `data` member of a success envelope. `ok` and `meta` are skipped
/// rather than decoded: the request id comes from the header (see
/// [`answer`] for the fallback), so decoding them would only cost
/// allocations.
#[derive(serde::Deserialize)]
struct Data<T> {
    data: T,
}

/// A list envelope's items and paging.
#[derive(serde::Deserialize)]
struct ListData<T> {
    data: Vec<T>,
    pagination: wire::CursorPagination,
}

/// `value` with the response's metadata; the request id falls back on the
/// envelope's copy when a proxy dropped the header.
pub(crate) fn answer<T>(raw: Raw, value: T) -> Response<T> {
    let mut meta = raw.meta;
    if meta.request_id().is_none() {
        meta.envelope_request_id = serde_json::from_slice::<serde_json::Value>(&raw.body)
            .ok()
            .and_then(|v| v["meta"]["request_id"].as_str().map(str::to_owned));
    }
    Response::new(value, meta)
}

/// Decodes the envelope's `data` as `M`.
pub(crate) fn data<M: DeserializeOwned>(raw: Raw) -> Result<Response<M>, Error> {
    let envelope: Data<M> = raw.json()?;
    Ok(answer(raw, envelope.data))
}

/// Decodes one page of a cursor list.
pub(crate) fn page<M: DeserializeOwned>(raw: Raw) -> Result<Response<Page<M>>, Error> {
    let envelope: ListData<M> = raw.json()?;
    let page = Page {
        items: envelope.data,
        has_more: envelope.pagination.has_more,
        next_cursor: envelope.pagination.next_cursor,
    };
    Ok(answer(raw, page))
}

/// `304` as [`Conditional::NotModified`], else the envelope's `data`.
fn conditional<M: DeserializeOwned>(raw: Raw) -> Result<Conditional<M>, Error> {
    if raw.status == 304 {
        return Ok(Conditional::NotModified(answer(raw, ())));
    }
    data(raw).map(Conditional::Modified)
}

/// A text body (`text/plain`), which must be UTF-8.
pub(crate) fn text(raw: Raw) -> Result<Response<String>, Error> {
    match String::from_utf8(raw.body.to_vec()) {
        Ok(text) => Ok(Response::new(text, raw.meta)),
        Err(e) => Err(Error::Undecodable {
            status: Some(raw.status),
            request_id: raw.meta.request_id().map(str::to_owned),
            reason: "the text body is not UTF-8".into(),
            snippet: snippet(&raw.body),
            attempts: raw.meta.attempts,
            source: Some(Box::new(e)),
        }),
    }
}
