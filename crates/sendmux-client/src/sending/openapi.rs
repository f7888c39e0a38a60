//! The Sending API's own description, `GET /openapi.json`.

use http::header;
use sendmux_operations::ops;

use super::Sending;
use crate::error::Error;
use crate::request::Request;
use crate::response::{Conditional, Response};
use crate::transport::Raw;
use crate::validate;

/// [`Sending::openapi_document`]: await it, or make it conditional with
/// [`if_none_match`](GetOpenApiDocument::if_none_match).
pub type GetOpenApiDocument = Request<Response<OpenApiDocument>>;
/// [`GetOpenApiDocument::if_none_match`].
pub type GetOpenApiDocumentIfChanged = Request<Conditional<OpenApiDocument>>;

/// The OpenAPI 3.1 description the Sending API publishes, as raw JSON: it
/// is read as served, not decoded into models.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenApiDocument(pub serde_json::Value);

impl OpenApiDocument {
    /// The document's JSON.
    pub fn into_json(self) -> serde_json::Value {
        self.0
    }
}

impl Sending {
    /// The Sending API's published description (`GET /openapi.json`),
    /// with its `ETag`. The endpoint is public: the call carries no key and
    /// works with any client.
    ///
    /// ```no_run
    /// # async fn f(sending: sendmux_client::sending::Sending) -> Result<(), sendmux_client::Error> {
    /// use sendmux_client::Conditional;
    ///
    /// let first = sending.openapi_document().await?;
    /// let etag = first.etag().unwrap_or_default().to_owned();
    /// match sending.openapi_document().if_none_match(etag).await? {
    ///     Conditional::NotModified(_) => println!("unchanged"),
    ///     Conditional::Modified(fresh) => println!("{}", fresh.0["info"]["version"]),
    /// }
    /// # Ok(()) }
    /// ```
    pub fn openapi_document(&self) -> GetOpenApiDocument {
        self.client
            .request(ops::SENDING_GET_OPEN_API_SPEC, &[], document)
    }
}

impl GetOpenApiDocument {
    /// Reads the document only if it changed since `etag`
    /// (`If-None-Match`); `304` comes back as [`Conditional::NotModified`].
    pub fn if_none_match(self, etag: impl Into<String>) -> GetOpenApiDocumentIfChanged {
        let etag = etag.into();
        let request = match validate::etag("etag", &etag) {
            Ok(()) => self.header(header::IF_NONE_MATCH.as_str(), &etag),
            Err(problem) => self.check(Err(problem)),
        };
        request.decoding(conditional_document)
    }
}

/// The whole body as JSON (the document has no envelope).
fn document(raw: Raw) -> Result<Response<OpenApiDocument>, Error> {
    let json = raw.json()?;
    Ok(Response::new(OpenApiDocument(json), raw.meta))
}

fn conditional_document(raw: Raw) -> Result<Conditional<OpenApiDocument>, Error> {
    if raw.status == 304 {
        return Ok(Conditional::NotModified(Response::new((), raw.meta)));
    }
    document(raw).map(Conditional::Modified)
}
