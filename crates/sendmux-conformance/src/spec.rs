//! Loading an OpenAPI 3.0 document and compiling everything validation needs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use http::Method;
use openapiv3::{
    Header, OpenAPI, Operation, Parameter, ParameterSchemaOrContent, ReferenceOr, RequestBody,
    Response, StatusCode,
};
use serde_json::{Map, Value};

use crate::schema::{scalar_type, to_draft4, translate_components};

/// The embedded `openapi.yaml` (the Management and Mailbox APIs) as JSON
/// text: `cargo xtask codegen` writes it next to this crate's `Cargo.toml`.
pub const EMBEDDED_SPEC: &str = include_str!("../openapi.json");

/// The embedded `openapi-sending.yaml` (the Sending API on its own host) as
/// JSON text, written the same way as [`EMBEDDED_SPEC`].
pub const EMBEDDED_SENDING_SPEC: &str = include_str!("../openapi-sending.json");

/// Why a document could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The text is not JSON (or, with the `yaml` feature, YAML).
    #[error("{0}")]
    Parse(String),
    /// The document is not an OpenAPI 3.0 description.
    #[error("not an OpenAPI 3.0 document: {0}")]
    OpenApi(String),
    /// A `$ref` points nowhere (or outside the document).
    #[error("unresolved reference {0}")]
    UnresolvedRef(String),
    /// A schema could not be compiled into a validator.
    #[error("schema at {location} does not compile: {message}")]
    Schema {
        /// Where the schema is (operation and part).
        location: String,
        /// What the compiler said.
        message: String,
    },
}

/// `(name, value)` pairs of path parameters.
pub(crate) type PathParams = Vec<(String, String)>;

/// Which operation a concrete request path and method belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch {
    /// The operation's `operationId`.
    pub operation_id: String,
    /// The path template, without the server base path (`/domains/{public_id}`).
    pub template: String,
    /// Path parameters taken from the concrete path, percent-decoded, in template order.
    pub path_params: Vec<(String, String)>,
}

/// A loaded OpenAPI 3.0 document, ready to validate messages.
///
/// Loading resolves references, translates `nullable` and de-duplicates
/// equal schemas once, so validating a message never parses the document
/// again. Each distinct schema is compiled into a validator the first time a
/// message needs it and kept from then on: a document of a hundred
/// operations loads without compiling the schemas of operations nobody
/// calls. [`Spec::compile_all`] compiles everything up front (and reports a
/// schema that does not compile). `Spec` is `Send + Sync` and is meant to be
/// shared (see [`Spec::embedded`]).
pub struct Spec {
    pub(crate) base_path: String,
    pub(crate) routes: Vec<Route>,
    pub(crate) operations: Vec<CompiledOperation>,
    /// Every distinct schema, once, for [`Spec::compile_all`].
    pub(crate) validators: Vec<Arc<LazyValidator>>,
    /// The raw document as JSON, kept for the drift check and for callers who
    /// want to look things up.
    pub(crate) document: Value,
}

impl std::fmt::Debug for Spec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spec")
            .field("base_path", &self.base_path)
            .field("operations", &self.operations.len())
            .field("schemas", &self.validators.len())
            .finish_non_exhaustive()
    }
}

pub(crate) struct Route {
    pub(crate) template: String,
    pub(crate) segments: Vec<Segment>,
    /// `(method, index into Spec::operations)`.
    pub(crate) methods: Vec<(Method, usize)>,
}

pub(crate) enum Segment {
    Literal(String),
    Param(String),
}

pub(crate) struct CompiledOperation {
    pub(crate) operation_id: String,
    pub(crate) method: Method,
    pub(crate) template: String,
    pub(crate) parameters: Vec<CompiledParameter>,
    pub(crate) request_body: Option<CompiledRequestBody>,
    pub(crate) responses: Vec<(StatusKey, CompiledResponse)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParamIn {
    Path,
    Query,
    Header,
    Cookie,
}

pub(crate) struct CompiledParameter {
    pub(crate) name: String,
    pub(crate) location: ParamIn,
    pub(crate) required: bool,
    pub(crate) value: CompiledValue,
}

/// A validator for a string-encoded value (parameter or header) and the JSON
/// type the string must be read as first.
pub(crate) struct CompiledValue {
    pub(crate) scalar: Option<String>,
    pub(crate) validator: Option<Arc<LazyValidator>>,
}

/// One distinct schema (already Draft 4) and, once needed, its validator.
pub(crate) struct LazyValidator {
    /// Where the schema was first met (operation and part), for errors.
    place: String,
    schema: Value,
    /// `components.schemas` of the document, translated, shared by all.
    components: Arc<Value>,
    compiled: OnceLock<Result<jsonschema::Validator, String>>,
}

impl LazyValidator {
    /// The validator, compiled on the first call; the error says where the
    /// schema is and what the compiler said.
    pub(crate) fn get(&self) -> Result<&jsonschema::Validator, LoadError> {
        self.compiled
            .get_or_init(|| self.build())
            .as_ref()
            .map_err(|message| LoadError::Schema {
                location: self.place.clone(),
                message: message.clone(),
            })
    }

    /// Compiles the schema inside a root document that carries the
    /// components, so `#/components/schemas/X` resolves.
    fn build(&self) -> Result<jsonschema::Validator, String> {
        let mut root = match &self.schema {
            Value::Object(map) => map.clone(),
            // `true`/`false` schemas have no room for `components`.
            other => {
                let mut map = Map::new();
                map.insert("allOf".to_owned(), Value::Array(vec![other.clone()]));
                map
            }
        };
        let mut components = Map::new();
        components.insert("schemas".to_owned(), (*self.components).clone());
        root.insert("components".to_owned(), Value::Object(components));
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft4)
            .build(&Value::Object(root))
            .map_err(|err| err.to_string())
    }
}

pub(crate) struct CompiledRequestBody {
    pub(crate) required: bool,
    pub(crate) content: Vec<CompiledMedia>,
}

pub(crate) struct CompiledMedia {
    /// Lower-case media type without parameters (`application/json`).
    pub(crate) media_type: String,
    pub(crate) validator: Option<Arc<LazyValidator>>,
}

impl CompiledMedia {
    pub(crate) fn is_json(&self) -> bool {
        is_json_media_type(&self.media_type)
    }
}

pub(crate) fn is_json_media_type(media_type: &str) -> bool {
    media_type == "application/json" || media_type.ends_with("+json")
}

pub(crate) struct CompiledHeader {
    pub(crate) name: String,
    pub(crate) required: bool,
    pub(crate) value: CompiledValue,
}

pub(crate) struct CompiledResponse {
    pub(crate) headers: Vec<CompiledHeader>,
    pub(crate) content: Vec<CompiledMedia>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StatusKey {
    Code(u16),
    /// `4XX` is `Range(4)`.
    Range(u16),
    Default,
}

impl Spec {
    /// The SDK's own `openapi.yaml` (Management and Mailbox APIs, base
    /// `https://app.sendmux.ai/api/v1`), embedded at compile time and loaded
    /// on first use; every later call returns the same instance.
    ///
    /// # Panics
    ///
    /// Only if the embedded document does not load, which the crate's own
    /// tests rule out before any release (`embedded_specs_load_and_compile`).
    pub fn embedded() -> &'static Spec {
        static EMBEDDED: OnceLock<Spec> = OnceLock::new();
        EMBEDDED.get_or_init(|| match Spec::from_text(EMBEDDED_SPEC) {
            Ok(spec) => spec,
            Err(err) => panic!("the embedded openapi.yaml does not load: {err}"),
        })
    }

    /// The SDK's own `openapi-sending.yaml` (the Sending API, base
    /// `https://smtp.sendmux.ai/api/v1`), embedded and shared like
    /// [`Spec::embedded`].
    ///
    /// # Panics
    ///
    /// Only if the embedded document does not load, which the crate's own
    /// tests rule out before any release (`embedded_specs_load_and_compile`).
    pub fn embedded_sending() -> &'static Spec {
        static EMBEDDED: OnceLock<Spec> = OnceLock::new();
        EMBEDDED.get_or_init(|| match Spec::from_text(EMBEDDED_SENDING_SPEC) {
            Ok(spec) => spec,
            Err(err) => panic!("the embedded openapi-sending.yaml does not load: {err}"),
        })
    }

    /// Compiles every schema of the document now instead of on first use,
    /// and returns the first one that does not compile.
    ///
    /// Validation compiles what it needs by itself; call this to pay the
    /// whole cost up front, or to check a document before relying on it. A
    /// schema that does not compile is reported by validation as a violation
    /// whose constraint is `schema compiles`.
    pub fn compile_all(&self) -> Result<(), LoadError> {
        for validator in &self.validators {
            validator.get()?;
        }
        Ok(())
    }

    /// Loads a document from a JSON file, or a YAML one with the `yaml`
    /// feature (on by default).
    pub fn from_path(path: impl AsRef<Path>) -> Result<Spec, LoadError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::from_text(&text)
    }

    /// Loads a document from JSON text, or YAML text with the `yaml`
    /// feature (on by default).
    pub fn from_text(text: &str) -> Result<Spec, LoadError> {
        let document = crate::document::parse(text).map_err(LoadError::Parse)?;
        Self::from_json_value(document)
    }

    /// Loads a document already parsed into JSON.
    pub fn from_json_value(document: Value) -> Result<Spec, LoadError> {
        let version = document
            .get("openapi")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !version.starts_with("3.0") {
            return Err(LoadError::OpenApi(format!(
                "`openapi: {version}` is not 3.0.x (this loader reads 3.0 only)"
            )));
        }
        let api: OpenAPI = serde_json::from_value(document.clone())
            .map_err(|err| LoadError::OpenApi(err.to_string()))?;
        let base_path = api
            .servers
            .first()
            .map(|server| server_path(&server.url))
            .unwrap_or_default();
        let components = Arc::new(translate_components(
            document.pointer("/components/schemas"),
        ));
        let mut compiler = Compiler {
            api: &api,
            components,
            cache: HashMap::new(),
            validators: Vec::new(),
        };
        let mut routes: Vec<Route> = Vec::new();
        let mut operations = Vec::new();
        for (template, item) in &api.paths.paths {
            let item = match item {
                ReferenceOr::Item(item) => item,
                ReferenceOr::Reference { reference } => {
                    return Err(LoadError::UnresolvedRef(reference.clone()));
                }
            };
            let mut route = Route {
                template: template.clone(),
                segments: parse_template(template),
                methods: Vec::new(),
            };
            for (method_name, operation) in item.iter() {
                let method = Method::from_bytes(method_name.to_ascii_uppercase().as_bytes())
                    .map_err(|err| LoadError::OpenApi(err.to_string()))?;
                let compiled =
                    compiler.operation(template, &method, &item.parameters, operation)?;
                route.methods.push((method, operations.len()));
                operations.push(compiled);
            }
            routes.push(route);
        }
        let validators = compiler.validators;
        Ok(Spec {
            base_path,
            routes,
            operations,
            validators,
            document,
        })
    }

    /// The path part of the first server URL (`/api/v1`), or `""`.
    pub fn base_path(&self) -> &str {
        &self.base_path
    }

    /// The document as JSON.
    pub fn document(&self) -> &Value {
        &self.document
    }

    /// `(method, template, operationId)` of every operation, sorted by template.
    pub fn operations(&self) -> impl Iterator<Item = (&Method, &str, &str)> {
        self.operations
            .iter()
            .map(|op| (&op.method, op.template.as_str(), op.operation_id.as_str()))
    }

    /// Finds the operation for a method and a concrete path.
    ///
    /// `path` may carry the server base path (`/api/v1/domains`) or not
    /// (`/domains`), a query string, or be a whole URL. Literal segments win
    /// over parameters when two templates match.
    pub fn match_route(&self, method: &Method, path: &str) -> Option<RouteMatch> {
        let (route, params) = self.find_route(path)?;
        let index = route
            .methods
            .iter()
            .find(|(m, _)| m == method)
            .map(|(_, index)| *index)?;
        Some(RouteMatch {
            operation_id: self.operations[index].operation_id.clone(),
            template: route.template.clone(),
            path_params: params,
        })
    }

    /// The route whose template matches `path`, with its path parameters.
    pub(crate) fn find_route(&self, path: &str) -> Option<(&Route, PathParams)> {
        let path = self.strip_to_route_path(path);
        let segments: Vec<&str> = split_segments(path);
        let mut best: Option<(&Route, PathParams, usize)> = None;
        for route in &self.routes {
            if route.segments.len() != segments.len() {
                continue;
            }
            let mut params = Vec::new();
            let mut literals = 0;
            let matched =
                route
                    .segments
                    .iter()
                    .zip(&segments)
                    .all(|(pattern, actual)| match pattern {
                        Segment::Literal(lit) => {
                            literals += 1;
                            lit == actual
                        }
                        Segment::Param(name) => {
                            let value = percent_encoding::percent_decode_str(actual)
                                .decode_utf8_lossy()
                                .into_owned();
                            params.push((name.clone(), value));
                            !actual.is_empty()
                        }
                    });
            if matched && best.as_ref().is_none_or(|(_, _, l)| literals > *l) {
                best = Some((route, params, literals));
            }
        }
        best.map(|(route, params, _)| (route, params))
    }

    /// Drops scheme and authority, the query string, and the base path.
    pub(crate) fn strip_to_route_path<'a>(&self, path: &'a str) -> &'a str {
        let path = strip_origin(path);
        let path = path.split_once('?').map_or(path, |(p, _)| p);
        let path = path.split_once('#').map_or(path, |(p, _)| p);
        if !self.base_path.is_empty()
            && let Some(rest) = path.strip_prefix(self.base_path.as_str())
            && (rest.is_empty() || rest.starts_with('/'))
        {
            return rest;
        }
        path
    }

    pub(crate) fn operation_by_index(&self, index: usize) -> &CompiledOperation {
        &self.operations[index]
    }
}

/// `https://host/api/v1/` -> `/api/v1`; a relative URL keeps its path.
fn server_path(url: &str) -> String {
    let path = strip_origin(url);
    path.trim_end_matches('/').to_owned()
}

fn strip_origin(url: &str) -> &str {
    for scheme in ["https://", "http://"] {
        if let Some(rest) = url.strip_prefix(scheme) {
            return rest.find('/').map_or("", |i| &rest[i..]);
        }
    }
    url
}

fn split_segments(path: &str) -> Vec<&str> {
    let trimmed = path.trim_start_matches('/');
    let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
    if trimmed.is_empty() {
        Vec::new()
    } else {
        trimmed.split('/').collect()
    }
}

fn parse_template(template: &str) -> Vec<Segment> {
    split_segments(template)
        .into_iter()
        .map(|segment| {
            match segment
                .strip_prefix('{')
                .and_then(|rest| rest.strip_suffix('}'))
            {
                Some(name) => Segment::Param(name.to_owned()),
                None => Segment::Literal(segment.to_owned()),
            }
        })
        .collect()
}

/// Prepares schemas for compilation, sharing one validator between equal
/// schemas.
struct Compiler<'a> {
    api: &'a OpenAPI,
    /// `components.schemas`, already translated to Draft 4.
    components: Arc<Value>,
    /// Translated schema text to its validator.
    cache: HashMap<String, Arc<LazyValidator>>,
    /// The cache's values in the order they were first met.
    validators: Vec<Arc<LazyValidator>>,
}

impl Compiler<'_> {
    fn operation(
        &mut self,
        template: &str,
        method: &Method,
        path_parameters: &[ReferenceOr<Parameter>],
        operation: &Operation,
    ) -> Result<CompiledOperation, LoadError> {
        let operation_id = operation
            .operation_id
            .clone()
            .unwrap_or_else(|| format!("{method} {template}"));
        let mut parameters: Vec<CompiledParameter> = Vec::new();
        // Operation-level parameters override path-level ones with the same name and location.
        for parameter in operation.parameters.iter().chain(path_parameters) {
            let parameter = resolve_parameter(self.api, parameter)?;
            let compiled = self.parameter(&operation_id, parameter)?;
            if !parameters.iter().any(|p| {
                p.name.eq_ignore_ascii_case(&compiled.name) && p.location == compiled.location
            }) {
                parameters.push(compiled);
            }
        }
        let request_body = match &operation.request_body {
            None => None,
            Some(body) => {
                let body = resolve_request_body(self.api, body)?;
                Some(CompiledRequestBody {
                    required: body.required,
                    content: self.content(&operation_id, "request body", &body.content)?,
                })
            }
        };
        let mut responses = Vec::new();
        if let Some(default) = &operation.responses.default {
            let response = resolve_response(self.api, default)?;
            responses.push((
                StatusKey::Default,
                self.response(&operation_id, "default", response)?,
            ));
        }
        for (status, response) in &operation.responses.responses {
            let key = match status {
                StatusCode::Code(code) => StatusKey::Code(*code),
                StatusCode::Range(range) => StatusKey::Range(*range),
            };
            let response = resolve_response(self.api, response)?;
            let compiled = self.response(&operation_id, &status.to_string(), response)?;
            responses.push((key, compiled));
        }
        Ok(CompiledOperation {
            operation_id,
            method: method.clone(),
            template: template.to_owned(),
            parameters,
            request_body,
            responses,
        })
    }

    fn parameter(
        &mut self,
        operation_id: &str,
        parameter: &Parameter,
    ) -> Result<CompiledParameter, LoadError> {
        let (location, data) = match parameter {
            Parameter::Path { parameter_data, .. } => (ParamIn::Path, parameter_data),
            Parameter::Query { parameter_data, .. } => (ParamIn::Query, parameter_data),
            Parameter::Header { parameter_data, .. } => (ParamIn::Header, parameter_data),
            Parameter::Cookie { parameter_data, .. } => (ParamIn::Cookie, parameter_data),
        };
        let place = format!("{operation_id} parameter {}", data.name);
        Ok(CompiledParameter {
            name: data.name.clone(),
            location,
            required: data.required || location == ParamIn::Path,
            value: self.value(&place, &data.format)?,
        })
    }

    fn value(
        &mut self,
        place: &str,
        format: &ParameterSchemaOrContent,
    ) -> Result<CompiledValue, LoadError> {
        match format {
            ParameterSchemaOrContent::Schema(schema) => {
                let raw = to_json(schema, place)?;
                let scalar = scalar_type(&to_draft4(&raw), &self.components).map(str::to_owned);
                Ok(CompiledValue {
                    scalar,
                    validator: Some(self.compile(place, &raw)),
                })
            }
            // Content-encoded parameters are rare; their presence is still checked.
            ParameterSchemaOrContent::Content(_) => Ok(CompiledValue {
                scalar: None,
                validator: None,
            }),
        }
    }

    fn content(
        &mut self,
        operation_id: &str,
        part: &str,
        content: &openapiv3::Content,
    ) -> Result<Vec<CompiledMedia>, LoadError> {
        let mut out = Vec::new();
        for (media_type, media) in content {
            let media_type = media_type_essence(media_type);
            let place = format!("{operation_id} {part} {media_type}");
            let validator = match &media.schema {
                Some(schema) if is_json_media_type(&media_type) => {
                    Some(self.compile(&place, &to_json(schema, &place)?))
                }
                _ => None,
            };
            out.push(CompiledMedia {
                media_type,
                validator,
            });
        }
        Ok(out)
    }

    fn response(
        &mut self,
        operation_id: &str,
        status: &str,
        response: &Response,
    ) -> Result<CompiledResponse, LoadError> {
        let mut headers = Vec::new();
        for (name, header) in &response.headers {
            let header = resolve_header(self.api, header)?;
            let place = format!("{operation_id} {status} header {name}");
            headers.push(CompiledHeader {
                name: name.clone(),
                required: header.required,
                value: self.value(&place, &header.format)?,
            });
        }
        Ok(CompiledResponse {
            headers,
            content: self.content(
                operation_id,
                &format!("response {status}"),
                &response.content,
            )?,
        })
    }

    /// Translates one raw 3.0 schema and returns the (shared, not yet
    /// compiled) validator of the equal schema met first.
    fn compile(&mut self, place: &str, raw: &Value) -> Arc<LazyValidator> {
        let translated = to_draft4(raw);
        let key = translated.to_string();
        if let Some(validator) = self.cache.get(&key) {
            return Arc::clone(validator);
        }
        let validator = Arc::new(LazyValidator {
            place: place.to_owned(),
            schema: translated,
            components: Arc::clone(&self.components),
            compiled: OnceLock::new(),
        });
        self.cache.insert(key, Arc::clone(&validator));
        self.validators.push(Arc::clone(&validator));
        validator
    }
}

fn resolve_parameter<'b>(
    api: &'b OpenAPI,
    item: &'b ReferenceOr<Parameter>,
) -> Result<&'b Parameter, LoadError> {
    resolve(item, "#/components/parameters/", |name| {
        api.components.as_ref()?.parameters.get(name)
    })
}

fn resolve_request_body<'b>(
    api: &'b OpenAPI,
    item: &'b ReferenceOr<RequestBody>,
) -> Result<&'b RequestBody, LoadError> {
    resolve(item, "#/components/requestBodies/", |name| {
        api.components.as_ref()?.request_bodies.get(name)
    })
}

fn resolve_response<'b>(
    api: &'b OpenAPI,
    item: &'b ReferenceOr<Response>,
) -> Result<&'b Response, LoadError> {
    resolve(item, "#/components/responses/", |name| {
        api.components.as_ref()?.responses.get(name)
    })
}

fn resolve_header<'b>(
    api: &'b OpenAPI,
    item: &'b ReferenceOr<Header>,
) -> Result<&'b Header, LoadError> {
    resolve(item, "#/components/headers/", |name| {
        api.components.as_ref()?.headers.get(name)
    })
}

/// Follows `$ref` chains within one component section.
fn resolve<'b, T>(
    mut item: &'b ReferenceOr<T>,
    prefix: &str,
    lookup: impl Fn(&str) -> Option<&'b ReferenceOr<T>>,
) -> Result<&'b T, LoadError> {
    for _ in 0..16 {
        match item {
            ReferenceOr::Item(value) => return Ok(value),
            ReferenceOr::Reference { reference } => {
                let name = reference
                    .strip_prefix(prefix)
                    .ok_or_else(|| LoadError::UnresolvedRef(reference.clone()))?;
                item = lookup(name).ok_or_else(|| LoadError::UnresolvedRef(reference.clone()))?;
            }
        }
    }
    Err(LoadError::UnresolvedRef(format!(
        "{prefix}... (reference cycle)"
    )))
}

fn to_json<T: serde::Serialize>(value: &T, place: &str) -> Result<Value, LoadError> {
    serde_json::to_value(value).map_err(|err| LoadError::Schema {
        location: place.to_owned(),
        message: err.to_string(),
    })
}

/// `Application/JSON; charset=utf-8` -> `application/json`.
pub(crate) fn media_type_essence(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_path_is_the_url_path() {
        assert_eq!(server_path("https://app.sendmux.ai/api/v1"), "/api/v1");
        assert_eq!(server_path("https://app.sendmux.ai/"), "");
        assert_eq!(server_path("/api/v1/"), "/api/v1");
    }

    #[test]
    fn media_type_essence_drops_parameters() {
        assert_eq!(
            media_type_essence("Application/JSON; charset=utf-8"),
            "application/json"
        );
    }
}
