//! Any operation of the API by its id, with parameters given as strings.
//!
//! The typed resources ([`Client::domains`], ...) are the way to call what
//! they cover. This is the way to call everything else, and what the CLI's
//! `sendmux api` is built on: the call is checked against the generated
//! operation table before any I/O (unknown operation or parameter, missing
//! path parameter, a key the operation's surface refuses), and then runs
//! through the same runtime as every typed call: retries, automatic
//! idempotency keys, timeouts, tracing, typed errors.

use std::sync::Arc;

use bytes::Bytes;
use futures::stream::BoxStream;
use http::HeaderName;
use sendmux_operations::{Location, MediaType, Operation};

use crate::Client;
use crate::error::{Error, InvalidInput};
use crate::idempotency::IdempotencyKey;
use crate::key::Surface;
use crate::paginate;
use crate::response::{Page, Response};
use crate::transport::{Call, Payload, push_segment};

impl From<sendmux_operations::Surface> for Surface {
    fn from(surface: sendmux_operations::Surface) -> Self {
        match surface {
            sendmux_operations::Surface::Management => Surface::Management,
            sendmux_operations::Surface::Mailbox => Surface::Mailbox,
            sendmux_operations::Surface::Sending => Surface::Sending,
        }
    }
}

impl Client {
    /// A call of the operation with this `operationId` (as in the OpenAPI
    /// documents, e.g. `managementListDomains`).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), sendmux_client::Error> {
    /// let client = sendmux_client::Client::from_env()?;
    /// let page = client
    ///     .operation("managementGetDomain")?
    ///     .param("public_id", "mdom_123")
    ///     .send()
    ///     .await?;
    /// println!("{}", String::from_utf8_lossy(&page));
    /// # Ok(())
    /// # }
    /// ```
    pub fn operation(&self, operation_id: &str) -> Result<OperationCall, Error> {
        let op = sendmux_operations::find(operation_id).ok_or_else(|| {
            InvalidInput::new(
                "operation",
                format!("{operation_id:?} is not an operation of the API"),
                "use an operationId from the API description, e.g. managementListDomains",
            )
        })?;
        Ok(self.operation_of(op))
    }

    /// A call of the operation at `method` and `path` (relative to the base
    /// URL, with concrete values, e.g. `/domains/mdom_123`); the path's
    /// values become the call's path parameters.
    pub fn operation_at(&self, method: &str, path: &str) -> Result<OperationCall, Error> {
        let method =
            http::Method::from_bytes(method.to_ascii_uppercase().as_bytes()).map_err(|_| {
                InvalidInput::new(
                    "method",
                    "is not an HTTP method",
                    "use GET, POST, PUT, PATCH or DELETE",
                )
            })?;
        let path = path.split('?').next().unwrap_or_default();
        // A template (`/domains/{public_id}`) names the operation too.
        let found = sendmux_operations::OPERATIONS
            .iter()
            .find(|op| op.method == method && op.path == path)
            .map(|op| (op, Vec::new()))
            .or_else(|| sendmux_operations::match_route(&method, path));
        let (op, params) = found.ok_or_else(|| {
            InvalidInput::new(
                "path",
                format!("no operation answers {method} {path}"),
                "check the path against the API description (paths are relative to the base URL)",
            )
        })?;
        let mut call = self.operation_of(op);
        for (name, value) in params {
            call = call.param(name, value);
        }
        Ok(call)
    }

    /// A call of `op`, a descriptor of the generated table.
    pub fn operation_of(&self, op: &'static Operation) -> OperationCall {
        OperationCall {
            client: self.clone(),
            op,
            path: Vec::new(),
            query: Vec::new(),
            headers: Vec::new(),
            body: None,
            idempotency_key: None,
        }
    }
}

/// A call of one operation, built up with string parameters; see
/// [`Client::operation`]. Awaiting it (or [`send`](Self::send)) returns the
/// raw success body.
#[derive(Debug, Clone)]
#[must_use = "builders do nothing until awaited"]
pub struct OperationCall {
    client: Client,
    op: &'static Operation,
    path: Vec<(&'static str, String)>,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Option<Bytes>,
    idempotency_key: Option<String>,
}

impl OperationCall {
    /// The operation this call runs.
    pub fn descriptor(&self) -> &'static Operation {
        self.op
    }

    /// Sets a path or query parameter by its name in the API description;
    /// a name the operation does not declare fails when the call is sent.
    pub fn param(mut self, name: &str, value: impl Into<String>) -> Self {
        let value = value.into();
        match self.op.parameter(Location::Path, name) {
            Some(parameter) => {
                self.path.retain(|(n, _)| *n != parameter.name);
                self.path.push((parameter.name, value));
            }
            None => self.query.push((name.to_owned(), value)),
        }
        self
    }

    /// Adds a request header (for example `If-Match`).
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// The request body, in the operation's media type.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// The idempotency key to send; without one, an operation that declares
    /// `Idempotency-Key` gets a fresh key, reused by every retry.
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    /// Checks the call against the operation table and builds it; nothing
    /// is sent.
    fn build(&self, cursor: Option<&str>) -> Result<Call, Error> {
        let op = self.op;
        // The runtime checks this too; here it comes before any other
        // problem, as the CLI reports a wrong key first.
        self.client.credential(op.surface.into())?;
        let mut path = String::with_capacity(op.path.len() + 16);
        for segment in op.path.split('/').skip(1) {
            path.push('/');
            match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => {
                    let value = self
                        .path
                        .iter()
                        .find(|(n, _)| *n == name)
                        .map(|(_, v)| v.as_str())
                        .filter(|v| !v.is_empty())
                        .ok_or_else(|| {
                            InvalidInput::new(
                                name.to_owned(),
                                format!("is required by {}", op.id),
                                format!("give the path parameter `{name}`"),
                            )
                        })?;
                    push_segment(&mut path, value);
                }
                None => path.push_str(segment),
            }
        }
        let mut call = Call::new(op, path);
        for (name, value) in &self.query {
            let parameter = op.parameter(Location::Query, name).ok_or_else(|| {
                let known: Vec<&str> = op
                    .parameters
                    .iter()
                    .filter(|p| p.location != Location::Header)
                    .map(|p| p.name)
                    .collect();
                InvalidInput::new(
                    name.clone(),
                    format!("is not a parameter of {}", op.id),
                    if known.is_empty() {
                        "this operation takes no path or query parameters".to_owned()
                    } else {
                        format!("use one of: {}", known.join(", "))
                    },
                )
            })?;
            call.query.push((parameter.name, value.clone()));
        }
        if let Some(cursor) = cursor {
            call.query.retain(|(name, _)| *name != "cursor");
            call.query.push(("cursor", cursor.to_owned()));
        }
        for parameter in op.parameters.iter().filter(|p| p.required) {
            let given = match parameter.location {
                Location::Path => true,
                Location::Query => call.query.iter().any(|(n, _)| *n == parameter.name),
                Location::Header => self
                    .headers
                    .iter()
                    .any(|(n, _)| n.eq_ignore_ascii_case(parameter.name)),
            };
            if !given {
                return Err(InvalidInput::new(
                    parameter.name,
                    format!("is required by {}", op.id),
                    format!("give the parameter `{}`", parameter.name),
                )
                .into());
            }
        }
        for (name, value) in &self.headers {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                InvalidInput::new(
                    name.clone(),
                    "is not a valid header name",
                    "use a plain header name such as If-Match",
                )
            })?;
            if name == http::header::AUTHORIZATION {
                return Err(InvalidInput::new(
                    "Authorization",
                    "is set by the client from its API key",
                    "configure the key on the client instead",
                )
                .into());
            }
            call = call.header(name, value)?;
        }
        if let Some(key) = &self.idempotency_key {
            call.idempotency_key = Some(IdempotencyKey::new(key.clone())?);
        }
        match (&op.request, &self.body) {
            (Some(request), Some(body)) => {
                if request.media_type == MediaType::Json {
                    serde_json::from_slice::<serde_json::Value>(body).map_err(|e| {
                        InvalidInput::new(
                            "body",
                            format!("is not JSON: {e}"),
                            "give the body as a JSON document",
                        )
                    })?;
                }
                call.body = Some(Payload::Bytes(body.clone()));
            }
            (Some(request), None) if request.required => {
                return Err(InvalidInput::new(
                    "body",
                    format!("is required by {}", op.id),
                    "give the request body",
                )
                .into());
            }
            (None, Some(_)) => {
                return Err(InvalidInput::new(
                    "body",
                    format!("is not taken by {}", op.id),
                    "leave the body out",
                )
                .into());
            }
            _ => {}
        }
        Ok(call)
    }

    /// Sends the call and returns the success body as received.
    pub async fn send(self) -> Result<Response<Bytes>, Error> {
        let call = self.build(None)?;
        let raw = self.client.execute(call).await?;
        Ok(Response::new(raw.body, raw.meta))
    }

    /// Every page of a cursor list, each as its whole JSON envelope, with
    /// the same loop guard as the typed streams. A call of an operation
    /// that is not a cursor list yields its one response.
    pub fn pages(self) -> BoxStream<'static, Result<Response<Page<serde_json::Value>>, Error>> {
        let first: Option<String> = self
            .query
            .iter()
            .find(|(name, _)| name == "cursor")
            .map(|(_, value)| value.clone());
        let call = Arc::new(self);
        let fetch: paginate::FetchDecoded<serde_json::Value> = Arc::new(move |cursor| {
            let call = Arc::clone(&call);
            Box::pin(async move {
                let built = call.build(cursor.as_deref())?;
                let raw = call.client.execute(built).await?;
                let envelope: serde_json::Value = raw.json()?;
                let paginated = call.op.paginated;
                let pagination = &envelope["pagination"];
                let page = Page {
                    has_more: paginated && pagination["has_more"].as_bool().unwrap_or(false),
                    next_cursor: pagination["next_cursor"]
                        .as_str()
                        .filter(|_| paginated)
                        .map(str::to_owned),
                    items: vec![envelope],
                };
                Ok(Response::new(page, raw.meta))
            })
        });
        paginate::pages(fetch, first)
    }
}

impl std::future::IntoFuture for OperationCall {
    type Output = Result<Response<Bytes>, Error>;
    type IntoFuture = futures::future::BoxFuture<'static, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}
