//! `cargo xtask spec import|check`: turns the published OpenAPI 3.1
//! documents into our OpenAPI 3.0.3 documents.
//!
//! Only facts cross over: paths, methods, operation ids, tags, parameters,
//! schemas, status codes, media types and headers. Every word (summaries,
//! descriptions) comes from `spec/operations.yaml` and `spec/schemas.yaml`;
//! names, shared components and deliberate corrections come from
//! `spec/overlay.yaml`. Examples, titles and published prose are dropped.
//!
//! Shaping for generated Rust:
//! - 3.1 spellings become 3.0.3 ones (`type: [X, "null"]` and
//!   `anyOf [X, {type: null}]` become `nullable`, `const` an `enum`, numeric
//!   `exclusiveMinimum` a boolean beside `minimum`, `unevaluatedProperties`
//!   `additionalProperties`);
//! - `allOf [A, {...}]` compositions are flattened into one object, and
//!   `allOf [A, {type: object}]` annotations collapse to `A`;
//! - every inline object and string enum is hoisted into
//!   `components/schemas` under `{Context}{Property}` (or the name the
//!   overlay gives it), so every generated type has a stable name;
//! - shared parameters and response headers become components, every
//!   response declares the common headers, and every operation gets the
//!   `4XX`/`5XX` ranges.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_norway::{Mapping, Value};

/// Where the published documents live, relative to the workspace root.
pub(crate) const DEFAULT_REFERENCE: &str = "../shared/reference";
const IMPORT: &str = "cargo xtask spec import";
const OVERLAY: &str = "spec/overlay.yaml";
const OPERATION_WORDS: &str = "spec/operations.yaml";
const SCHEMA_WORDS: &str = "spec/schemas.yaml";

/// `spec/overlay.yaml`: everything about our documents that is not a
/// published fact.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Overlay {
    /// One entry per document we write, in order.
    documents: Vec<DocumentOverlay>,
    /// Description of the bearer security scheme.
    security_scheme: String,
    /// Default response descriptions by status.
    statuses: BTreeMap<String, String>,
    /// Shared parameters: component name to the parameter it stands for.
    parameters: BTreeMap<String, SharedParameter>,
    /// Response header components.
    headers: BTreeMap<String, SharedHeader>,
    /// Descriptions of parameters by name, wherever they appear inline.
    parameter_words: BTreeMap<String, String>,
    /// Default hoisted name to the name we use.
    names: BTreeMap<String, String>,
    /// Deliberate changes to the published facts, each with its reason.
    corrections: Vec<Correction>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DocumentOverlay {
    /// The published file, relative to the reference folder.
    published: String,
    /// Our document, relative to the workspace root.
    output: String,
    title: String,
    description: String,
    server_description: String,
    /// The error envelope every error response carries.
    error_schema: String,
    /// Tag descriptions.
    tags: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SharedParameter {
    #[serde(rename = "in")]
    location: String,
    name: String,
    description: String,
    /// Name of a schema component the parameter's schema is hoisted into.
    #[serde(default)]
    schema_name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SharedHeader {
    header: String,
    description: String,
    /// Added to every response of every operation.
    #[serde(default)]
    common: bool,
    /// Added to the range responses (`4XX`, `5XX`).
    #[serde(default)]
    on_ranges: bool,
    /// Schema used where the published document gives none.
    #[serde(default)]
    schema: Option<Value>,
    #[serde(default)]
    required: bool,
}

/// A deliberate change to the published facts.
#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum Correction {
    /// Declare these error statuses on every operation that lacks them.
    AddStatuses { statuses: Vec<String>, why: String },
    /// Mark every request body `required: true`.
    BodiesRequired { why: String },
    /// Give success responses that publish no content a binary body.
    BinaryBodies {
        operations: Vec<String>,
        media_type: String,
        why: String,
    },
    /// Give string properties with these names `format: date-time`; a name
    /// `*_at` matches every property that ends in `_at`.
    DateTimes { names: Vec<String>, why: String },
}

impl Correction {
    fn why(&self) -> &str {
        match self {
            Self::AddStatuses { why, .. }
            | Self::BodiesRequired { why }
            | Self::BinaryBodies { why, .. }
            | Self::DateTimes { why, .. } => why,
        }
    }
}

#[derive(Debug, Deserialize)]
struct OperationWordsFile {
    operations: BTreeMap<String, OperationWords>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OperationWords {
    summary: String,
    description: String,
    #[serde(default)]
    responses: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
struct SchemaWordsFile {
    schemas: BTreeMap<String, SchemaWords>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SchemaWords {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    properties: BTreeMap<String, String>,
}

/// Everything the import reads besides the published documents.
pub(crate) struct Inputs {
    overlay: Overlay,
    operations: BTreeMap<String, OperationWords>,
    schemas: BTreeMap<String, SchemaWords>,
}

fn read_yaml<T: serde::de::DeserializeOwned>(root: &Path, file: &str) -> Result<T, String> {
    let text =
        std::fs::read_to_string(root.join(file)).map_err(|e| format!("reading {file}: {e}"))?;
    serde_norway::from_str(&text).map_err(|e| format!("{file}: {e}"))
}

impl Inputs {
    pub(crate) fn load(root: &Path) -> Result<Self, String> {
        let overlay: Overlay = read_yaml(root, OVERLAY)?;
        for correction in &overlay.corrections {
            if correction.why().trim().is_empty() {
                return Err(format!("{OVERLAY}: every correction needs a `why`"));
            }
        }
        let operations = read_yaml::<OperationWordsFile>(root, OPERATION_WORDS)?.operations;
        let schemas = read_yaml::<SchemaWordsFile>(root, SCHEMA_WORDS)?.schemas;
        Ok(Self {
            overlay,
            operations,
            schemas,
        })
    }
}

/// Reads the published documents from `reference` and returns each of our
/// documents as (path relative to the root, text).
pub(crate) fn import(root: &Path, reference: &Path) -> Result<Vec<(String, String)>, String> {
    let inputs = Inputs::load(root)?;
    let mut out = Vec::new();
    let mut seen_operations = BTreeSet::new();
    for document in &inputs.overlay.documents {
        let path = reference.join(&document.published);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("reading {}: {e}", path.display()))?;
        let published: Value = serde_norway::from_str(&text)
            .map_err(|e| format!("parsing {}: {e}", path.display()))?;
        let ours = Importer::new(&inputs, document, &published)
            .run(&mut seen_operations)
            .map_err(|e| format!("{}: {e}", document.published))?;
        let yaml = serde_norway::to_string(&ours).map_err(|e| format!("writing YAML: {e}"))?;
        out.push((document.output.clone(), format!("{}{yaml}", preamble())));
    }
    let unused: Vec<&String> = inputs
        .operations
        .keys()
        .filter(|id| !seen_operations.contains(*id))
        .collect();
    if !unused.is_empty() {
        return Err(format!(
            "{OPERATION_WORDS} describes operations no published document has: {unused:?}"
        ));
    }
    Ok(out)
}

fn preamble() -> String {
    format!(
        "# Written by `{IMPORT}` from the published API description (facts only)\n\
         # and spec/*.yaml (our words, names and corrections). Edit those, not this.\n"
    )
}

/// `cargo xtask spec import [--reference DIR]`.
pub(crate) fn write(root: &Path, reference: &Path) -> Result<Vec<String>, String> {
    let mut written = Vec::new();
    for (file, text) in import(root, reference)? {
        std::fs::write(root.join(&file), text).map_err(|e| format!("writing {file}: {e}"))?;
        written.push(file);
    }
    Ok(written)
}

/// `cargo xtask spec check [--reference DIR]`: fails when a fresh import
/// differs from the checked-in documents.
pub(crate) fn check(root: &Path, reference: &Path) -> Result<(), String> {
    let mut problems = String::new();
    for (file, fresh) in import(root, reference)? {
        let current = std::fs::read_to_string(root.join(&file)).unwrap_or_default();
        if current.replace("\r\n", "\n") != fresh {
            let _ = writeln!(
                problems,
                "{file} differs from what `{IMPORT}` writes.\n{}",
                crate::codegen::short_diff(&current, &fresh, &file)
            );
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{problems}Our documents are written by the import: change spec/*.yaml, then run `{IMPORT}` and `cargo xtask codegen`, and commit the result."
        ))
    }
}

/// The reference folder: `--reference DIR`, else the default beside the
/// workspace.
pub(crate) fn reference_dir(root: &Path, given: Option<&str>) -> PathBuf {
    given.map_or_else(|| root.join(DEFAULT_REFERENCE), PathBuf::from)
}

fn key(text: &str) -> Value {
    Value::String(text.to_owned())
}

fn schema_ref(name: &str) -> Value {
    let mut map = Mapping::new();
    map.insert(key("$ref"), key(&format!("#/components/schemas/{name}")));
    Value::Mapping(map)
}

fn component_ref(kind: &str, name: &str) -> Value {
    let mut map = Mapping::new();
    map.insert(key("$ref"), key(&format!("#/components/{kind}/{name}")));
    Value::Mapping(map)
}

/// `some_name` or `Some-Name` to `SomeName`.
fn pascal(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

/// `managementCreateDomain` to `CreateDomain`: the name stem of an
/// operation's inline schemas.
fn operation_stem(operation_id: &str) -> String {
    let rest = ["management", "mailbox", "sending"]
        .iter()
        .find_map(|prefix| operation_id.strip_prefix(prefix))
        .filter(|rest| rest.starts_with(|c: char| c.is_ascii_uppercase()))
        .unwrap_or(operation_id);
    pascal(rest)
}

/// Keys that carry prose or samples, never facts.
const PROSE: &[&str] = &[
    "description",
    "summary",
    "example",
    "examples",
    "title",
    "$comment",
];

const METHODS: &[&str] = &["get", "put", "post", "delete", "patch", "head", "options"];

struct Importer<'a> {
    inputs: &'a Inputs,
    document: &'a DocumentOverlay,
    published: &'a Value,
    /// Converted published components.
    components: BTreeMap<String, Value>,
    /// Hoisted schemas by final name, with the place that first hoisted them.
    hoisted: BTreeMap<String, (Value, String)>,
    /// Shared parameter components defined so far (first occurrence wins).
    parameters: BTreeMap<String, Value>,
    /// Response header components by name: (component name, schema).
    headers: BTreeMap<String, Value>,
    /// Published components that are themselves nullable. 3.0 cannot turn
    /// nullability off where such a component is used, so it moves to the
    /// references instead: the component is written non-null, and each use
    /// that admits null says so.
    nullable_components: BTreeSet<String>,
}

impl<'a> Importer<'a> {
    fn new(inputs: &'a Inputs, document: &'a DocumentOverlay, published: &'a Value) -> Self {
        Self {
            inputs,
            document,
            published,
            components: BTreeMap::new(),
            hoisted: BTreeMap::new(),
            parameters: BTreeMap::new(),
            headers: BTreeMap::new(),
            nullable_components: nullable_components(published),
        }
    }

    fn refers_to_nullable(&self, reference: &Value) -> bool {
        reference
            .as_str()
            .and_then(|r| r.strip_prefix("#/components/schemas/"))
            .is_some_and(|name| self.nullable_components.contains(name))
    }

    fn published_schema(&self, name: &str) -> Option<&'a Value> {
        self.published
            .get("components")
            .and_then(|c| c.get("schemas"))
            .and_then(|s| s.get(name))
    }

    fn run(mut self, seen_operations: &mut BTreeSet<String>) -> Result<Value, String> {
        if let Some(schemas) = self
            .published
            .get("components")
            .and_then(|c| c.get("schemas"))
            .and_then(Value::as_mapping)
        {
            for (name, schema) in schemas {
                let name = name.as_str().ok_or("a schema name is not a string")?;
                let mut converted = self.convert(schema, name)?;
                if let Some(map) = converted.as_mapping_mut() {
                    map.remove("nullable");
                }
                self.components.insert(name.to_owned(), converted);
            }
        }

        let mut paths = Mapping::new();
        let mut tags_used: Vec<String> = Vec::new();
        let published_paths = self
            .published
            .get("paths")
            .and_then(Value::as_mapping)
            .ok_or("no paths")?;
        for (path, item) in published_paths {
            let path = path.as_str().ok_or("a path is not a string")?;
            let mut our_item = Mapping::new();
            for method in METHODS {
                let Some(operation) = item.get(*method) else {
                    continue;
                };
                let converted = self.operation(path, operation)?;
                if let Some(id) = converted.get("operationId").and_then(Value::as_str) {
                    seen_operations.insert(id.to_owned());
                }
                for tag in converted
                    .get("tags")
                    .and_then(Value::as_sequence)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                {
                    if !tags_used.iter().any(|t| t == tag) {
                        tags_used.push(tag.to_owned());
                    }
                }
                our_item.insert(key(method), converted);
            }
            if let Some(extra) = item.as_mapping().and_then(|m| {
                m.keys()
                    .filter_map(Value::as_str)
                    .find(|k| !METHODS.contains(k) && !PROSE.contains(k))
            }) {
                return Err(format!("path {path}: path-level `{extra}` is not imported"));
            }
            paths.insert(key(path), Value::Mapping(our_item));
        }

        let mut document = Mapping::new();
        document.insert(key("openapi"), key("3.0.3"));
        let mut info = Mapping::new();
        info.insert(key("title"), key(&self.document.title));
        let version = self
            .published
            .get("info")
            .and_then(|i| i.get("version"))
            .cloned()
            .unwrap_or_else(|| key("1.0.0"));
        info.insert(key("version"), version);
        info.insert(key("description"), key(&self.document.description));
        document.insert(key("info"), Value::Mapping(info));
        let mut servers = Vec::new();
        for server in self
            .published
            .get("servers")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
        {
            let mut ours = Mapping::new();
            ours.insert(
                key("url"),
                server.get("url").cloned().ok_or("a server has no url")?,
            );
            ours.insert(key("description"), key(&self.document.server_description));
            servers.push(Value::Mapping(ours));
        }
        document.insert(key("servers"), Value::Sequence(servers));
        document.insert(key("security"), bearer_security());
        let mut tags = Vec::new();
        for tag in &tags_used {
            let mut ours = Mapping::new();
            ours.insert(key("name"), key(tag));
            let words = self
                .document
                .tags
                .get(tag)
                .ok_or_else(|| format!("tag {tag:?} has no description in {OVERLAY}"))?;
            ours.insert(key("description"), key(words));
            tags.push(Value::Mapping(ours));
        }
        document.insert(key("tags"), Value::Sequence(tags));
        document.insert(key("paths"), Value::Mapping(paths));
        document.insert(key("components"), self.components_section()?);
        Ok(Value::Mapping(document))
    }

    fn components_section(&mut self) -> Result<Value, String> {
        let overlay = &self.inputs.overlay;
        let mut components = Mapping::new();

        let mut schemes = Mapping::new();
        let mut bearer = Mapping::new();
        bearer.insert(key("type"), key("http"));
        bearer.insert(key("scheme"), key("bearer"));
        bearer.insert(key("description"), key(&overlay.security_scheme));
        schemes.insert(key("bearerAuth"), Value::Mapping(bearer));
        components.insert(key("securitySchemes"), Value::Mapping(schemes));

        let mut parameters = Mapping::new();
        for (name, parameter) in &self.parameters {
            parameters.insert(key(name), parameter.clone());
        }
        components.insert(key("parameters"), Value::Mapping(parameters));

        let mut headers = Mapping::new();
        for (name, shared) in &overlay.headers {
            let Some(schema) = self
                .headers
                .get(name)
                .cloned()
                .or_else(|| shared.schema.clone())
            else {
                continue;
            };
            let mut header = Mapping::new();
            header.insert(key("description"), key(&shared.description));
            header.insert(key("required"), Value::Bool(shared.required));
            header.insert(key("schema"), schema);
            headers.insert(key(name), Value::Mapping(header));
        }
        components.insert(key("headers"), Value::Mapping(headers));

        let mut responses = Mapping::new();
        for (name, status) in [("ClientError", "4XX"), ("ServerError", "5XX")] {
            responses.insert(key(name), self.error_response(status, true));
        }
        components.insert(key("responses"), Value::Mapping(responses));

        // Hoisted schemas join the published ones; a name both use must mean
        // the same schema.
        let mut all = std::mem::take(&mut self.components);
        for (name, (schema, origin)) in std::mem::take(&mut self.hoisted) {
            match all.get(&name) {
                Some(existing) if *existing != schema => {
                    return Err(format!(
                        "{origin} is hoisted as {name}, but the published {name} differs; name it otherwise in {OVERLAY} `names`"
                    ));
                }
                Some(_) => {}
                None => {
                    all.insert(name, schema);
                }
            }
        }
        let mut schemas = Mapping::new();
        for (name, mut schema) in all {
            self.add_schema_words(&name, &mut schema);
            tidy_schema(&mut schema);
            schemas.insert(key(&name), schema);
        }
        components.insert(key("schemas"), Value::Mapping(schemas));
        Ok(Value::Mapping(components))
    }

    fn add_schema_words(&self, name: &str, schema: &mut Value) {
        let Some(words) = self.inputs.schemas.get(name) else {
            return;
        };
        let Some(map) = schema.as_mapping_mut() else {
            return;
        };
        if let Some(description) = &words.description {
            insert_after_type(map, description);
        }
        let Some(properties) = map.get_mut("properties").and_then(Value::as_mapping_mut) else {
            return;
        };
        for (property, text) in &words.properties {
            let Some(slot) = properties.get_mut(property.as_str()) else {
                continue;
            };
            if slot.get("$ref").is_some() {
                // 3.0 ignores siblings of `$ref`: wrap it to carry words.
                let mut wrapped = Mapping::new();
                wrapped.insert(key("allOf"), Value::Sequence(vec![slot.clone()]));
                *slot = Value::Mapping(wrapped);
            }
            if let Some(map) = slot.as_mapping_mut() {
                map.insert(key("description"), key(text));
            }
        }
    }

    // ---- schemas ----

    /// Converts a 3.1 schema into 3.0.3, hoisting inline objects and string
    /// enums below the top level. `context` names what it hoists.
    fn convert(&mut self, schema: &Value, context: &str) -> Result<Value, String> {
        let Some(map) = schema.as_mapping() else {
            return Ok(schema.clone());
        };
        if let Some(reference) = map.get("$ref") {
            let nullable = self.refers_to_nullable(reference);
            return Ok(make_nullable(rename_ref(reference), nullable));
        }
        let mut nullable = false;
        let mut out = Mapping::new();

        if let Some(all) = map.get("allOf").and_then(Value::as_sequence) {
            return self.convert_all_of(map, all, context);
        }
        for keyword in ["anyOf", "oneOf"] {
            if let Some(members) = map.get(keyword).and_then(Value::as_sequence) {
                let mut kept = Vec::new();
                for (index, member) in members.iter().enumerate() {
                    if is_null_type(member) {
                        nullable = true;
                        continue;
                    }
                    kept.push((index, member));
                }
                if kept.len() == 1 && map.len() == 1 + usize::from(map.contains_key("description"))
                {
                    let converted = self.convert(kept[0].1, context)?;
                    return Ok(make_nullable(converted, nullable));
                }
                let mut converted = Vec::new();
                for (index, member) in kept {
                    let child = self.convert(member, &format!("{context}Option{}", index + 1))?;
                    converted.push(
                        self.hoist_if_named(child, &format!("{context}Option{}", index + 1))?,
                    );
                }
                out.insert(key(keyword), Value::Sequence(converted));
            }
        }

        for (name, value) in map {
            let name = name.as_str().ok_or("a schema keyword is not a string")?;
            if PROSE.contains(&name) || matches!(name, "anyOf" | "oneOf") {
                continue;
            }
            match name {
                "type" => match value {
                    Value::Sequence(types) => {
                        let mut rest: Vec<&Value> = Vec::new();
                        for t in types {
                            if t.as_str() == Some("null") {
                                nullable = true;
                            } else {
                                rest.push(t);
                            }
                        }
                        match rest.as_slice() {
                            [one] => {
                                out.insert(key("type"), (*one).clone());
                            }
                            [] => {}
                            _ => {
                                return Err(format!(
                                    "{context}: a type list with several non-null types"
                                ));
                            }
                        }
                    }
                    other => {
                        out.insert(key("type"), other.clone());
                    }
                },
                "const" => {
                    out.insert(key("enum"), Value::Sequence(vec![value.clone()]));
                }
                "exclusiveMinimum" | "exclusiveMaximum" if value.is_number() => {
                    let bound = if name == "exclusiveMinimum" {
                        "minimum"
                    } else {
                        "maximum"
                    };
                    out.insert(key(bound), value.clone());
                    out.insert(key(name), Value::Bool(true));
                }
                "unevaluatedProperties" => {
                    if !map.contains_key("additionalProperties") {
                        out.insert(key("additionalProperties"), value.clone());
                    }
                }
                "properties" => {
                    let mut properties = Mapping::new();
                    for (property, child) in value.as_mapping().ok_or("properties is not a map")? {
                        let property =
                            property.as_str().ok_or("a property name is not a string")?;
                        let here = format!("{context}{}", pascal(property));
                        let mut converted = self.convert(child, &here)?;
                        if self.is_date_time(property) {
                            mark_date_time(&mut converted);
                        }
                        properties.insert(key(property), self.hoist_if_named(converted, &here)?);
                    }
                    out.insert(key("properties"), Value::Mapping(properties));
                }
                "items" => {
                    let here = format!("{context}Item");
                    let converted = self.convert(value, &here)?;
                    out.insert(key("items"), self.hoist_if_named(converted, &here)?);
                }
                "additionalProperties" if value.is_mapping() => {
                    let here = format!("{context}Value");
                    let converted = self.convert(value, &here)?;
                    out.insert(key(name), self.hoist_if_named(converted, &here)?);
                }
                _ => {
                    out.insert(key(name), value.clone());
                }
            }
        }
        if nullable {
            if out.contains_key("enum") {
                // 3.0: a nullable enum must list null among its values.
                if let Some(Value::Sequence(values)) = out.get_mut("enum")
                    && !values.contains(&Value::Null)
                {
                    values.push(Value::Null);
                }
            }
            out.insert(key("nullable"), Value::Bool(true));
        }
        Ok(Value::Mapping(out))
    }

    /// Whether the `date_times` correction names `property`.
    fn is_date_time(&self, property: &str) -> bool {
        self.inputs.overlay.corrections.iter().any(|c| match c {
            Correction::DateTimes { names, .. } => names.iter().any(|name| {
                name.strip_prefix('*')
                    .map_or(name == property, |suffix| property.ends_with(suffix))
            }),
            _ => false,
        })
    }

    /// `allOf`: annotations (`{type: object}`, prose, a nullable type) fold
    /// into the one referenced schema; object extensions flatten into one
    /// object.
    fn convert_all_of(
        &mut self,
        map: &Mapping,
        members: &[Value],
        context: &str,
    ) -> Result<Value, String> {
        let mut nullable = false;
        let mut substantive = Vec::new();
        for member in members {
            if is_annotation(member) {
                if member
                    .get("type")
                    .and_then(Value::as_sequence)
                    .is_some_and(|t| t.iter().any(|t| t.as_str() == Some("null")))
                {
                    nullable = true;
                }
                continue;
            }
            substantive.push(member);
        }
        let siblings: Vec<&str> = map
            .keys()
            .filter_map(Value::as_str)
            .filter(|k| *k != "allOf" && !PROSE.contains(k))
            .collect();
        if let [only] = substantive.as_slice()
            && siblings.iter().all(|k| *k == "type")
        {
            // `allOf [X, {type: object}]` is how the published document says
            // "X, never null" of a nullable X; `{type: [object, null]}` says
            // "X or null". With no type annotation, X's own nullability holds.
            let annotated = members.iter().any(|m| m.get("type").is_some());
            if let Some(reference) = only.get("$ref") {
                let nullable = if annotated {
                    nullable
                } else {
                    self.refers_to_nullable(reference)
                };
                return Ok(make_nullable(rename_ref(reference), nullable));
            }
            let converted = self.convert(only, context)?;
            return Ok(make_nullable(converted, nullable));
        }
        // Flatten: properties and required of every member, later members
        // winning, into one object.
        let mut properties = Mapping::new();
        let mut required: Vec<Value> = Vec::new();
        let mut closed = false;
        let mut extra = Mapping::new();
        for member in substantive {
            let resolved = match member.get("$ref").and_then(Value::as_str) {
                Some(reference) => {
                    let name = reference
                        .strip_prefix("#/components/schemas/")
                        .ok_or_else(|| format!("{context}: unsupported $ref {reference}"))?;
                    self.published_schema(name)
                        .ok_or_else(|| format!("{context}: no schema {name}"))?
                }
                None => member,
            };
            let converted = self.convert(resolved, context)?;
            let converted = converted.as_mapping().ok_or("allOf member is not a map")?;
            for (k, v) in converted {
                match k.as_str() {
                    Some("properties") => {
                        for (p, s) in v.as_mapping().into_iter().flatten() {
                            properties.insert(p.clone(), s.clone());
                        }
                    }
                    Some("required") => {
                        for r in v.as_sequence().into_iter().flatten() {
                            if !required.contains(r) {
                                required.push(r.clone());
                            }
                        }
                    }
                    Some("additionalProperties") => {
                        if v == &Value::Bool(false) {
                            closed = true;
                        }
                    }
                    // Nullability comes from the annotations, not the bases.
                    Some("type" | "nullable") => {}
                    _ => {
                        extra.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        if map.get("unevaluatedProperties") == Some(&Value::Bool(false)) {
            closed = true;
        }
        let mut out = Mapping::new();
        out.insert(key("type"), key("object"));
        if !required.is_empty() {
            out.insert(key("required"), Value::Sequence(required));
        }
        out.insert(key("properties"), Value::Mapping(properties));
        for (k, v) in extra {
            out.insert(k, v);
        }
        if closed {
            out.insert(key("additionalProperties"), Value::Bool(false));
        }
        if nullable {
            out.insert(key("nullable"), Value::Bool(true));
        }
        Ok(Value::Mapping(out))
    }

    /// Moves an inline object with properties, or an inline string enum,
    /// into `components/schemas` and returns a reference to it.
    fn hoist_if_named(&mut self, schema: Value, default_name: &str) -> Result<Value, String> {
        if !deserves_name(&schema) {
            return Ok(schema);
        }
        let nullable = schema.get("nullable") == Some(&Value::Bool(true));
        let mut body = schema;
        if nullable && let Some(map) = body.as_mapping_mut() {
            map.remove("nullable");
            if let Some(Value::Sequence(values)) = map.get_mut("enum") {
                values.retain(|v| !v.is_null());
            }
        }
        let name = self
            .inputs
            .overlay
            .names
            .get(default_name)
            .cloned()
            .unwrap_or_else(|| default_name.to_owned());
        match self.hoisted.get(&name) {
            Some((existing, origin)) if !same_facts(existing, &body) => {
                return Err(format!(
                    "{default_name} and {origin} are both named {name} but differ; give one another name in {OVERLAY} `names`"
                ));
            }
            Some(_) => {}
            None => {
                self.hoisted
                    .insert(name.clone(), (body, default_name.to_owned()));
            }
        }
        Ok(make_nullable(schema_ref(&name), nullable))
    }

    // ---- operations ----

    fn operation(&mut self, path: &str, operation: &Value) -> Result<Value, String> {
        let id = operation
            .get("operationId")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{path}: an operation has no operationId"))?;
        let stem = operation_stem(id);
        let words = self.inputs.operations.get(id).ok_or_else(|| {
            format!("operation {id} has no summary and description in {OPERATION_WORDS}")
        })?;
        let mut out = Mapping::new();
        out.insert(key("operationId"), key(id));
        out.insert(key("summary"), key(&words.summary));
        out.insert(key("description"), key(&words.description));
        if let Some(tags) = operation.get("tags") {
            out.insert(key("tags"), tags.clone());
        }

        let mut parameters = Vec::new();
        for parameter in operation
            .get("parameters")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
        {
            parameters.push(self.parameter(&stem, parameter)?);
        }
        if !parameters.is_empty() {
            out.insert(key("parameters"), Value::Sequence(parameters));
        }

        if let Some(body) = operation.get("requestBody") {
            out.insert(key("requestBody"), self.request_body(&stem, body)?);
        }

        let mut responses: BTreeMap<String, Value> = BTreeMap::new();
        let published = operation
            .get("responses")
            .and_then(Value::as_mapping)
            .ok_or_else(|| format!("{id}: no responses"))?;
        for (status, response) in published {
            let status = match status {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => return Err(format!("{id}: odd status key")),
            };
            if status == "default" {
                return Err(format!("{id}: a `default` response breaks generation"));
            }
            let converted = self.response(id, &stem, &status, response)?;
            responses.insert(status, converted);
        }
        for correction in &self.inputs.overlay.corrections {
            match correction {
                Correction::AddStatuses { statuses, .. } => {
                    for status in statuses {
                        if !responses.contains_key(status) {
                            let response = self.error_response(status, false);
                            let response = self.with_words(id, status, response)?;
                            responses.insert(status.clone(), response);
                        }
                    }
                }
                Correction::BinaryBodies {
                    operations,
                    media_type,
                    ..
                } if operations.iter().any(|o| o == id) => {
                    for (status, response) in responses.iter_mut() {
                        if status.starts_with('2')
                            && let Some(map) = response.as_mapping_mut()
                            && !map.contains_key("content")
                        {
                            let mut schema = Mapping::new();
                            schema.insert(key("type"), key("string"));
                            schema.insert(key("format"), key("binary"));
                            let mut media = Mapping::new();
                            media.insert(key("schema"), Value::Mapping(schema));
                            let mut content = Mapping::new();
                            content.insert(key(media_type), Value::Mapping(media));
                            map.insert(key("content"), Value::Mapping(content));
                        }
                    }
                }
                _ => {}
            }
        }
        let mut ordered = Mapping::new();
        for (status, response) in responses {
            ordered.insert(key(&status), response);
        }
        ordered.insert(key("4XX"), component_ref("responses", "ClientError"));
        ordered.insert(key("5XX"), component_ref("responses", "ServerError"));
        out.insert(key("responses"), Value::Mapping(ordered));
        // An operation the published document opens to callers without a
        // key (`security: []`: the signed upload, the document itself)
        // stays open; every other one takes the bearer key.
        let open = operation
            .get("security")
            .and_then(Value::as_sequence)
            .is_some_and(Vec::is_empty);
        let security = if open {
            Value::Sequence(Vec::new())
        } else {
            bearer_security()
        };
        out.insert(key("security"), security);
        Ok(Value::Mapping(out))
    }

    fn parameter(&mut self, stem: &str, parameter: &Value) -> Result<Value, String> {
        let location = parameter.get("in").and_then(Value::as_str).unwrap_or("");
        let name = parameter
            .get("name")
            .and_then(Value::as_str)
            .ok_or("a parameter has no name")?;
        let here = format!("{stem}{}", pascal(name));
        let schema = match parameter.get("schema") {
            Some(schema) => {
                let converted = self.convert(schema, &here)?;
                Some(self.hoist_if_named(converted, &here)?)
            }
            None => None,
        };
        let mut out = Mapping::new();
        out.insert(key("name"), key(name));
        out.insert(key("in"), key(location));
        let required = parameter
            .get("required")
            .cloned()
            .unwrap_or(Value::Bool(false));
        out.insert(key("required"), required);
        for (k, v) in parameter.as_mapping().into_iter().flatten() {
            if let Some(k) = k.as_str()
                && !matches!(k, "in" | "name" | "required" | "schema")
                && !PROSE.contains(&k)
            {
                out.insert(key(k), v.clone());
            }
        }

        // A shared component when one stands for (in, name) and the schema
        // agrees with its first use.
        let shared = self
            .inputs
            .overlay
            .parameters
            .iter()
            .find(|(_, p)| p.location == location && p.name == name);
        if let Some((component, shared)) = shared {
            let mut schema = schema.clone().unwrap_or(Value::Null);
            if let Some(schema_name) = &shared.schema_name {
                let body = std::mem::replace(&mut schema, schema_ref(schema_name));
                match self.hoisted.get(schema_name) {
                    Some((existing, _)) if *existing != body => {
                        return Err(format!(
                            "parameter {name} has another schema than {schema_name}"
                        ));
                    }
                    Some(_) => {}
                    None => {
                        self.hoisted
                            .insert(schema_name.clone(), (body, format!("parameter {name}")));
                    }
                }
            }
            let mut candidate = out.clone();
            candidate.insert(key("description"), key(&shared.description));
            candidate.insert(key("schema"), schema);
            let candidate = Value::Mapping(candidate);
            match self.parameters.get(component) {
                None => {
                    self.parameters.insert(component.clone(), candidate);
                    return Ok(component_ref("parameters", component));
                }
                Some(existing) if *existing == candidate => {
                    return Ok(component_ref("parameters", component));
                }
                Some(_) => {}
            }
        }
        if let Some(words) = self.inputs.overlay.parameter_words.get(name) {
            out.insert(key("description"), key(words));
        }
        if let Some(schema) = schema {
            out.insert(key("schema"), schema);
        }
        Ok(Value::Mapping(out))
    }

    fn request_body(&mut self, stem: &str, body: &Value) -> Result<Value, String> {
        let mut out = Mapping::new();
        let required = self
            .inputs
            .overlay
            .corrections
            .iter()
            .any(|c| matches!(c, Correction::BodiesRequired { .. }))
            || body.get("required") == Some(&Value::Bool(true));
        out.insert(key("required"), Value::Bool(required));
        let content = self.content(&format!("{stem}Body"), body.get("content"))?;
        out.insert(key("content"), content);
        Ok(Value::Mapping(out))
    }

    fn content(&mut self, name: &str, content: Option<&Value>) -> Result<Value, String> {
        let mut out = Mapping::new();
        for (media_type, media) in content.and_then(Value::as_mapping).into_iter().flatten() {
            let mut ours = Mapping::new();
            if let Some(schema) = media.get("schema") {
                let converted = self.convert(schema, name)?;
                ours.insert(key("schema"), self.hoist_if_named(converted, name)?);
            }
            out.insert(media_type.clone(), Value::Mapping(ours));
        }
        Ok(Value::Mapping(out))
    }

    fn response(
        &mut self,
        id: &str,
        stem: &str,
        status: &str,
        response: &Value,
    ) -> Result<Value, String> {
        let mut out = Mapping::new();
        out.insert(key("description"), key(""));
        let mut headers = self.common_headers();
        for (name, header) in response
            .get("headers")
            .and_then(Value::as_mapping)
            .into_iter()
            .flatten()
        {
            let name = name.as_str().ok_or("a header name is not a string")?;
            let schema = match header.get("schema") {
                Some(schema) => self.convert(schema, &format!("{stem}{}Header", pascal(name)))?,
                None => Value::Null,
            };
            let component = self
                .inputs
                .overlay
                .headers
                .iter()
                .find(|(_, h)| h.header.eq_ignore_ascii_case(name))
                .map(|(component, _)| component.clone())
                .ok_or_else(|| {
                    format!(
                        "{id} {status}: response header {name} has no entry in {OVERLAY} `headers`"
                    )
                })?;
            match self.headers.get(&component) {
                None => {
                    self.headers.insert(component.clone(), schema);
                }
                Some(existing) if *existing == schema => {}
                Some(_) => {
                    return Err(format!(
                        "{id} {status}: header {name} has another schema than elsewhere"
                    ));
                }
            }
            headers.insert(key(name), component_ref("headers", &component));
        }
        if status == "429" || status == "503" {
            self.add_header(&mut headers, "Retry-After");
        }
        out.insert(key("headers"), Value::Mapping(headers));
        if response.get("content").is_some() {
            let name = format!(
                "{stem}Response{}",
                if status.starts_with('2') { "" } else { status }
            );
            let content = self.content(&name, response.get("content"))?;
            out.insert(key("content"), content);
        }
        self.with_words(id, status, Value::Mapping(out))
    }

    fn with_words(&self, id: &str, status: &str, mut response: Value) -> Result<Value, String> {
        let text = self
            .inputs
            .operations
            .get(id)
            .and_then(|w| w.responses.get(status))
            .or_else(|| self.inputs.overlay.statuses.get(status))
            .ok_or_else(|| format!("{id}: status {status} has no words in {OVERLAY} `statuses`"))?;
        if let Some(map) = response.as_mapping_mut() {
            map.insert(key("description"), key(text));
        }
        Ok(response)
    }

    fn common_headers(&self) -> Mapping {
        let mut headers = Mapping::new();
        for (component, shared) in &self.inputs.overlay.headers {
            if shared.common {
                headers.insert(key(&shared.header), component_ref("headers", component));
            }
        }
        headers
    }

    fn add_header(&self, headers: &mut Mapping, name: &str) {
        if let Some((component, shared)) = self
            .inputs
            .overlay
            .headers
            .iter()
            .find(|(_, h)| h.header.eq_ignore_ascii_case(name))
        {
            headers.insert(key(&shared.header), component_ref("headers", component));
        }
    }

    /// An error response in the document's error envelope; range responses
    /// also carry the headers marked `on_ranges`.
    fn error_response(&self, status: &str, range: bool) -> Value {
        let mut out = Mapping::new();
        let description = self
            .inputs
            .overlay
            .statuses
            .get(status)
            .cloned()
            .unwrap_or_default();
        out.insert(key("description"), key(&description));
        let mut headers = self.common_headers();
        for (component, shared) in &self.inputs.overlay.headers {
            if range && shared.on_ranges {
                headers.insert(key(&shared.header), component_ref("headers", component));
            }
        }
        if status == "429" || status == "503" {
            self.add_header(&mut headers, "Retry-After");
        }
        out.insert(key("headers"), Value::Mapping(headers));
        let mut media = Mapping::new();
        media.insert(key("schema"), schema_ref(&self.document.error_schema));
        let mut content = Mapping::new();
        content.insert(key("application/json"), Value::Mapping(media));
        out.insert(key("content"), Value::Mapping(content));
        Value::Mapping(out)
    }
}

/// Names of the published components whose own type admits `null`.
fn nullable_components(published: &Value) -> BTreeSet<String> {
    published
        .get("components")
        .and_then(|c| c.get("schemas"))
        .and_then(Value::as_mapping)
        .into_iter()
        .flatten()
        .filter(|(_, schema)| {
            schema
                .get("type")
                .and_then(Value::as_sequence)
                .is_some_and(|t| t.iter().any(|t| t.as_str() == Some("null")))
                || schema
                    .get("anyOf")
                    .and_then(Value::as_sequence)
                    .is_some_and(|m| m.iter().any(is_null_type))
        })
        .filter_map(|(name, _)| name.as_str().map(str::to_owned))
        .collect()
}

fn bearer_security() -> Value {
    let mut requirement = Mapping::new();
    requirement.insert(key("bearerAuth"), Value::Sequence(Vec::new()));
    Value::Sequence(vec![Value::Mapping(requirement)])
}

/// Published component names are kept, so a reference keeps its target.
/// Adds `format: date-time` to a plain string schema (nullable or not) that
/// has no format yet; anything else is left as it is.
fn mark_date_time(schema: &mut Value) {
    if let Some(map) = schema.as_mapping_mut()
        && map.get("type").and_then(Value::as_str) == Some("string")
        && !map.contains_key("format")
        && !map.contains_key("enum")
    {
        map.insert(key("format"), key("date-time"));
    }
}

fn rename_ref(reference: &Value) -> Value {
    let mut map = Mapping::new();
    map.insert(key("$ref"), reference.clone());
    Value::Mapping(map)
}

fn is_null_type(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("null")
}

/// `{type: object}`, `{type: [object, null]}` or prose only: adds nothing
/// but (perhaps) nullability to an `allOf` member beside it.
fn is_annotation(schema: &Value) -> bool {
    schema.as_mapping().is_some_and(|map| {
        map.iter().all(|(k, v)| match k.as_str() {
            Some("type") => {
                v.as_str() == Some("object")
                    || v.as_sequence().is_some_and(|t| {
                        t.iter()
                            .all(|t| matches!(t.as_str(), Some("object" | "null")))
                    })
            }
            Some(k) => PROSE.contains(&k),
            None => false,
        })
    })
}

/// Marks a converted schema nullable; a `$ref` is wrapped in `allOf` because
/// 3.0 ignores siblings of `$ref`.
fn make_nullable(schema: Value, nullable: bool) -> Value {
    if !nullable {
        return schema;
    }
    let mut out = Mapping::new();
    if schema.get("$ref").is_some() {
        out.insert(key("allOf"), Value::Sequence(vec![schema]));
    } else if let Value::Mapping(map) = schema {
        out = map;
        if let Some(Value::Sequence(values)) = out.get_mut("enum")
            && !values.contains(&Value::Null)
        {
            values.push(Value::Null);
        }
    }
    out.insert(key("nullable"), Value::Bool(true));
    Value::Mapping(out)
}

/// Two schemas state the same facts: equal, but for the order of `enum`
/// values.
fn same_facts(a: &Value, b: &Value) -> bool {
    fn canonical(value: &Value) -> Value {
        match value {
            Value::Mapping(map) => Value::Mapping(
                map.iter()
                    .map(|(k, v)| {
                        let v = if k.as_str() == Some("enum")
                            && let Value::Sequence(values) = v
                        {
                            let mut sorted = values.clone();
                            sorted.sort_by_key(|v| serde_norway::to_string(v).unwrap_or_default());
                            Value::Sequence(sorted)
                        } else {
                            canonical(v)
                        };
                        (k.clone(), v)
                    })
                    .collect(),
            ),
            Value::Sequence(items) => Value::Sequence(items.iter().map(canonical).collect()),
            other => other.clone(),
        }
    }
    canonical(a) == canonical(b)
}

/// Inline objects with properties and string enums get a component name.
fn deserves_name(schema: &Value) -> bool {
    let is_object = schema
        .get("properties")
        .and_then(Value::as_mapping)
        .is_some_and(|p| !p.is_empty());
    let is_string_enum = schema.get("enum").is_some()
        && schema.get("type").and_then(Value::as_str) == Some("string");
    let is_union = schema.get("anyOf").is_some() || schema.get("oneOf").is_some();
    is_object || is_string_enum || is_union
}

/// Orders a schema's keywords the way people read them (`type` and
/// `description` first, `additionalProperties` last), recursively.
fn tidy_schema(schema: &mut Value) {
    const FIRST: &[&str] = &[
        "$ref",
        "type",
        "format",
        "description",
        "nullable",
        "enum",
        "required",
        "properties",
        "items",
        "allOf",
        "anyOf",
        "oneOf",
    ];
    let Some(map) = schema.as_mapping_mut() else {
        return;
    };
    let mut old = std::mem::take(map);
    for keyword in FIRST {
        if let Some(value) = old.remove(*keyword) {
            map.insert(key(keyword), value);
        }
    }
    let last = old.remove("additionalProperties");
    for (k, v) in old {
        map.insert(k, v);
    }
    if let Some(last) = last {
        map.insert(key("additionalProperties"), last);
    }
    for (k, v) in map.iter_mut() {
        match k.as_str() {
            Some("properties") => {
                for child in v.as_mapping_mut().into_iter().flat_map(|m| m.values_mut()) {
                    tidy_schema(child);
                }
            }
            Some("items" | "additionalProperties") => tidy_schema(v),
            Some("allOf" | "anyOf" | "oneOf") => {
                for child in v.as_sequence_mut().into_iter().flatten() {
                    tidy_schema(child);
                }
            }
            _ => {}
        }
    }
}

/// Puts `description` right after `type` (or first), for readable output.
fn insert_after_type(map: &mut Mapping, description: &str) {
    let old = std::mem::take(map);
    let mut placed = false;
    for (k, v) in old {
        if k.as_str() == Some("description") {
            continue;
        }
        let is_type = k.as_str() == Some("type");
        map.insert(k, v);
        if is_type && !placed {
            map.insert(key("description"), key(description));
            placed = true;
        }
    }
    if !placed {
        map.insert(key("description"), key(description));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::path::{Path, PathBuf};

    use super::*;

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    /// The published documents, or `None` (with a message) where the
    /// reference folder is absent, as in a fresh clone.
    fn reference() -> Option<PathBuf> {
        let dir = root().join(DEFAULT_REFERENCE);
        if dir.join("openapi-app.json").is_file() {
            Some(dir)
        } else {
            eprintln!("skipped: {DEFAULT_REFERENCE} is absent");
            None
        }
    }

    #[test]
    fn checked_in_documents_are_what_the_import_writes() {
        let Some(reference) = reference() else { return };
        check(&root(), &reference).unwrap();
        let documents = import(&root(), &reference).unwrap();
        let operations: usize = documents
            .iter()
            .map(|(_, text)| text.matches("operationId: ").count())
            .sum();
        assert_eq!(operations, 101);
    }

    #[test]
    fn deleting_one_line_fails_the_check_with_the_command_to_run() {
        let Some(reference) = reference() else { return };
        let scratch = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(scratch.path().join("spec")).unwrap();
        for file in [
            OVERLAY,
            OPERATION_WORDS,
            SCHEMA_WORDS,
            "openapi.yaml",
            "openapi-sending.yaml",
        ] {
            std::fs::copy(root().join(file), scratch.path().join(file)).unwrap();
        }
        let spec = scratch.path().join("openapi.yaml");
        let text = std::fs::read_to_string(&spec).unwrap();
        let victim = text.lines().find(|l| l.contains("maxLength: 255")).unwrap();
        std::fs::write(&spec, text.replacen(&format!("{victim}\n"), "", 1)).unwrap();

        let message = check(scratch.path(), &reference).unwrap_err();
        assert!(message.contains("openapi.yaml differs"), "{message}");
        assert!(message.contains(&format!("+{victim}")), "{message}");
        assert!(message.contains("cargo xtask spec import"), "{message}");

        write(scratch.path(), &reference).unwrap();
        check(scratch.path(), &reference).unwrap();
    }

    /// A minimal import: one document, one operation, the given schemas.
    fn import_one(schemas: &str, names: &str) -> Result<Value, String> {
        let overlay = format!(
            r#"
documents:
  - {{published: p.json, output: o.yaml, title: T, description: D, server_description: S, error_schema: Err, tags: {{Things: Things.}}}}
security_scheme: Bearer.
statuses: {{'200': Fine., '401': No key., '403': Wrong key., '429': Slow down., 4XX: Client., 5XX: Server.}}
parameters: {{}}
headers:
  XRequestId: {{header: X-Request-Id, description: Id., common: true, required: true, schema: {{type: string}}}}
  RetryAfter: {{header: Retry-After, description: Wait., on_ranges: true, schema: {{type: integer}}}}
parameter_words: {{}}
names: {names}
corrections:
  - {{kind: add_statuses, statuses: ['401'], why: Every route checks the key.}}
  - {{kind: date_times, names: ['*_at', when], why: Points in time.}}
"#
        );
        let inputs = Inputs {
            overlay: serde_norway::from_str(&overlay).unwrap(),
            operations: serde_norway::from_str(
                "getThing: {summary: Get a thing, description: One thing.}",
            )
            .unwrap(),
            schemas: BTreeMap::new(),
        };
        let published: Value = serde_norway::from_str(&format!(
            r#"
openapi: 3.1.0
info: {{version: '1'}}
servers: [{{url: 'https://x.test/v1', description: published words}}]
paths:
  /things/{{id}}:
    get:
      operationId: getThing
      summary: published summary
      tags: [Things]
      parameters:
        - {{in: path, name: id, required: true, description: published, schema: {{type: string}}}}
      responses:
        '200':
          description: published
          content: {{application/json: {{schema: {{$ref: '#/components/schemas/Thing'}}}}}}
components:
  schemas:
    Err: {{type: object, properties: {{ok: {{const: false}}}}}}
{schemas}
"#
        ))
        .unwrap();
        let mut seen = BTreeSet::new();
        Importer::new(&inputs, &inputs.overlay.documents[0], &published).run(&mut seen)
    }

    #[test]
    fn translates_3_1_spellings_and_drops_published_prose() {
        let doc = import_one(
            r#"
    Thing:
      type: object
      description: published prose
      additionalProperties: false
      required: [id]
      properties:
        id: {type: string, example: x_1}
        note: {type: [string, "null"]}
        count: {type: integer, exclusiveMinimum: 0}
        kind: {const: thing}
        parent: {anyOf: [{$ref: '#/components/schemas/Ref'}, {type: 'null'}]}
    Ref: {type: object, properties: {a: {type: string}}}
"#,
            "{}",
        )
        .unwrap();
        let thing = &doc["components"]["schemas"]["Thing"];
        assert!(thing.get("description").is_none());
        let props = &thing["properties"];
        assert!(props["id"].get("example").is_none());
        assert_eq!(props["note"]["type"].as_str(), Some("string"));
        assert_eq!(props["note"]["nullable"].as_bool(), Some(true));
        assert_eq!(props["count"]["minimum"].as_u64(), Some(0));
        assert_eq!(props["count"]["exclusiveMinimum"].as_bool(), Some(true));
        assert_eq!(props["kind"]["enum"][0].as_str(), Some("thing"));
        assert_eq!(
            props["parent"]["allOf"][0]["$ref"].as_str(),
            Some("#/components/schemas/Ref")
        );
        assert_eq!(props["parent"]["nullable"].as_bool(), Some(true));

        let op = &doc["paths"]["/things/{id}"]["get"];
        assert_eq!(op["summary"].as_str(), Some("Get a thing"));
        assert!(op["parameters"][0].get("description").is_none());
        let responses = op["responses"].as_mapping().unwrap();
        let statuses: Vec<&str> = responses.keys().filter_map(Value::as_str).collect();
        assert_eq!(statuses, ["200", "401", "4XX", "5XX"]);
        assert_eq!(
            op["responses"]["200"]["description"].as_str(),
            Some("Fine.")
        );
        assert!(
            op["responses"]["200"]["headers"]
                .get("X-Request-Id")
                .is_some()
        );
        assert_eq!(
            doc["servers"][0]["description"].as_str(),
            Some("S"),
            "server words are ours"
        );
    }

    #[test]
    fn date_times_mark_the_named_plain_strings_only() {
        let doc = import_one(
            r#"
    Thing:
      type: object
      properties:
        created_at: {type: string}
        seen_at: {type: [string, "null"]}
        when: {type: string}
        count_at: {type: integer}
        state_at: {type: string, enum: [a, b]}
        due_at: {type: string, format: date}
        at_home: {type: string}
"#,
            "{}",
        )
        .unwrap();
        let props = &doc["components"]["schemas"]["Thing"]["properties"];
        let format = |name: &str| props[name].get("format").and_then(Value::as_str);
        assert_eq!(format("created_at"), Some("date-time"));
        assert_eq!(format("seen_at"), Some("date-time"));
        assert_eq!(props["seen_at"]["nullable"].as_bool(), Some(true));
        assert_eq!(format("when"), Some("date-time"));
        assert_eq!(format("count_at"), None, "not a string");
        assert_eq!(format("due_at"), Some("date"), "a published format stays");
        assert_eq!(format("at_home"), None, "the name does not match");
        assert!(
            doc["components"]["schemas"]
                .as_mapping()
                .unwrap()
                .values()
                .all(|schema| schema.get("format").is_none()),
            "a hoisted enum is not a point in time"
        );
    }

    #[test]
    fn flattens_all_of_and_hoists_inline_enums_under_overlay_names() {
        let doc = import_one(
            r#"
    Base: {type: object, required: [id], properties: {id: {type: string}}}
    Thing:
      allOf:
        - {$ref: '#/components/schemas/Base'}
        - type: object
          required: [mode]
          properties:
            mode: {type: string, enum: [a, b]}
            inner: {type: object, properties: {x: {type: integer}}}
      unevaluatedProperties: false
"#,
            "{ThingMode: Mode}",
        )
        .unwrap();
        let schemas = &doc["components"]["schemas"];
        let thing = &schemas["Thing"];
        assert!(thing.get("allOf").is_none());
        assert_eq!(thing["required"].as_sequence().unwrap().len(), 2);
        assert_eq!(thing["additionalProperties"].as_bool(), Some(false));
        assert_eq!(
            thing["properties"]["mode"]["$ref"].as_str(),
            Some("#/components/schemas/Mode")
        );
        assert_eq!(schemas["Mode"]["enum"].as_sequence().unwrap().len(), 2);
        assert_eq!(
            thing["properties"]["inner"]["$ref"].as_str(),
            Some("#/components/schemas/ThingInner")
        );
    }

    #[test]
    fn two_different_schemas_under_one_name_are_refused() {
        let message = import_one(
            r#"
    Thing:
      type: object
      properties:
        one: {type: string, enum: [a, b]}
        two: {type: string, enum: [c]}
"#,
            "{ThingOne: Mode, ThingTwo: Mode}",
        )
        .unwrap_err();
        assert!(message.contains("both named Mode"), "{message}");
    }

    #[test]
    fn the_same_enum_in_another_order_shares_a_name() {
        let doc = import_one(
            r#"
    Thing:
      type: object
      properties:
        one: {type: string, enum: [a, b]}
        two: {type: string, enum: [b, a]}
"#,
            "{ThingOne: Mode, ThingTwo: Mode}",
        )
        .unwrap();
        assert!(doc["components"]["schemas"].get("Mode").is_some());
    }
}
