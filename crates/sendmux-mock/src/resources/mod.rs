//! The handlers the mock implements, one module per resource, and the
//! registry that finds them by operation.
//!
//! Routing, auth, validation and the rest of the pipeline come from the
//! operation table (`sendmux_operations`), so a resource module only
//! registers `(operation, handler)` pairs: adding one touches this file's
//! [`RESOURCES`] and nothing in the pipeline. A published operation without
//! a handler answers `501 not_implemented`.

pub(crate) mod domains;

use std::collections::HashMap;
use std::sync::OnceLock;

use bytes::Bytes;
use http::request::Parts;
use sendmux_operations::Operation;
use serde::Deserialize;

use crate::api::{ApiError, FieldError, Out};
use crate::app::App;
use crate::validate::schema_error;

/// A handler: runs under the store lock and never awaits, so a change and
/// the response describing it are atomic.
pub(crate) type Handler = fn(Ctx<'_>) -> Result<Out, ApiError>;

/// Every resource module's handlers.
const RESOURCES: &[&[(&Operation, Handler)]] = &[domains::HANDLERS];

/// The handler of `op`, if the mock implements it.
pub(crate) fn handler(op: &Operation) -> Option<Handler> {
    registry().get(op.id).copied()
}

/// Handlers by `operationId`, built on first use.
fn registry() -> &'static HashMap<&'static str, Handler> {
    static REGISTRY: OnceLock<HashMap<&'static str, Handler>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        RESOURCES
            .iter()
            .flat_map(|handlers| handlers.iter())
            .map(|(op, handler)| (op.id, *handler))
            .collect()
    })
}

/// Everything a handler needs about the request.
pub(crate) struct Ctx<'a> {
    pub(crate) app: &'a App,
    pub(crate) team: &'a str,
    pub(crate) request_id: &'a str,
    pub(crate) op: &'static Operation,
    pub(crate) parts: &'a Parts,
    /// Path parameters as the table matched them (undecoded).
    pub(crate) params: Vec<(&'static str, &'a str)>,
    /// Parsed and schema-checked body, for operations with a JSON body.
    pub(crate) body: Option<serde_json::Value>,
    /// The raw body, for operations that take one (empty otherwise); what
    /// a non-JSON body (an upload) is read from.
    #[expect(
        dead_code,
        reason = "no implemented operation takes a non-JSON body yet"
    )]
    pub(crate) raw_body: Bytes,
}

impl Ctx<'_> {
    /// The path parameter `name` (`""` if the template has none of that
    /// name, which a handler registered for the right operation never sees).
    pub(crate) fn param(&self, name: &str) -> &str {
        self.params
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, v)| v)
    }

    /// A request header as text, if present and visible ASCII.
    pub(crate) fn header(&self, name: http::HeaderName) -> Option<&str> {
        self.parts.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as the operation's type. The schema check already ran, so
    /// a failure here means the schema and the type disagree; report it the
    /// same way as a schema violation rather than failing.
    pub(crate) fn typed_body<T: for<'de> Deserialize<'de>>(&mut self) -> Result<T, ApiError> {
        let value = self.body.take().unwrap_or(serde_json::Value::Null);
        serde_json::from_value(value).map_err(|e| {
            schema_error(
                self.op,
                vec![FieldError {
                    field: String::new(),
                    code: "schema".to_owned(),
                    message: e.to_string(),
                }],
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_registered_operation_is_published_and_registered_once() {
        let mut seen = std::collections::HashSet::new();
        for (op, _) in RESOURCES.iter().flat_map(|h| h.iter()) {
            assert!(
                sendmux_operations::find(op.id).is_some_and(|found| std::ptr::eq(found, *op)),
                "{} is not in the operation table",
                op.id
            );
            assert!(seen.insert(op.id), "{} is registered twice", op.id);
        }
        assert_eq!(registry().len(), seen.len());
    }
}
