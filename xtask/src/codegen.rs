//! `cargo xtask codegen [--check]`: turns each OpenAPI document at the
//! workspace root into a generated Rust module of `sendmux-api`.
//!
//! The generated file is a pure function of the document: the document is
//! loaded, made tolerant for decoding (see [`prepare_for_codegen`]), handed to
//! progenitor and pretty-printed. The first lines record the command and the
//! document's hash, which `crates/sendmux-api/build.rs` re-checks.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use serde_norway::Value;
use sha2::{Digest, Sha256};

/// One OpenAPI document and the module generated from it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target {
    /// Document path relative to the workspace root.
    pub(crate) spec: &'static str,
    /// Generated file path relative to the workspace root.
    pub(crate) output: &'static str,
}

/// Every document we generate from: the Management and Mailbox APIs share a
/// host and a document; the Sending API has its own.
pub(crate) const TARGETS: &[Target] = &[
    Target {
        spec: "openapi.yaml",
        output: "crates/sendmux-api/src/generated.rs",
    },
    Target {
        spec: "openapi-sending.yaml",
        output: "crates/sendmux-api/src/generated_sending.rs",
    },
];

/// JSON copies of a document that a publishable crate embeds, because a
/// published crate cannot reach the workspace root and JSON needs no YAML
/// parser to load: (source, copy).
pub(crate) const COPIES: &[(&str, &str)] = &[
    ("openapi.yaml", "crates/sendmux-conformance/openapi.json"),
    (
        "openapi-sending.yaml",
        "crates/sendmux-conformance/openapi-sending.json",
    ),
];

/// The JSON copy of the YAML document `source`: the same values, pretty
/// printed (keys sorted), with a final newline.
fn json_copy(root: &Path, source: &str) -> Result<String, String> {
    let text =
        std::fs::read_to_string(root.join(source)).map_err(|e| format!("reading {source}: {e}"))?;
    let document: serde_json::Value =
        serde_norway::from_str(&text).map_err(|e| format!("parsing {source}: {e}"))?;
    let json = serde_json::to_string_pretty(&document)
        .map_err(|e| format!("writing {source} as JSON: {e}"))?;
    Ok(json + "\n")
}

const REGENERATE: &str = "cargo xtask codegen";

/// Regenerates every target; returns the paths written.
pub(crate) fn write_all(root: &Path) -> Result<Vec<String>, String> {
    let mut written = Vec::new();
    for target in TARGETS {
        let code = generate(root, target)?;
        let out = root.join(target.output);
        std::fs::write(&out, code).map_err(|e| format!("writing {}: {e}", target.output))?;
        written.push(target.output.to_string());
    }
    let table = crate::operations::generate(root)?;
    std::fs::write(root.join(crate::operations::OUTPUT), table)
        .map_err(|e| format!("writing {}: {e}", crate::operations::OUTPUT))?;
    written.push(crate::operations::OUTPUT.to_string());
    for (source, copy) in COPIES {
        std::fs::write(root.join(copy), json_copy(root, source)?)
            .map_err(|e| format!("writing {copy}: {e}"))?;
        written.push((*copy).to_string());
    }
    Ok(written)
}

/// Regenerates every target in memory and compares with the checked-in files.
pub(crate) fn check_all(root: &Path) -> Result<(), String> {
    let mut problems = String::new();
    for target in TARGETS {
        let fresh = generate(root, target)?;
        let current = std::fs::read_to_string(root.join(target.output)).unwrap_or_default();
        if current != fresh {
            let _ = writeln!(
                problems,
                "{} is stale: it differs from what {} generates from {}.\n{}",
                target.output,
                REGENERATE,
                target.spec,
                short_diff(&current, &fresh, target.output)
            );
        }
    }
    let table = crate::operations::generate(root)?;
    let current = std::fs::read_to_string(root.join(crate::operations::OUTPUT)).unwrap_or_default();
    if current != table {
        let _ = writeln!(
            problems,
            "{} is stale: it differs from what {REGENERATE} generates.\n{}",
            crate::operations::OUTPUT,
            short_diff(&current, &table, crate::operations::OUTPUT)
        );
    }
    for (source, copy) in COPIES {
        let fresh = json_copy(root, source)?;
        let current = std::fs::read_to_string(root.join(copy)).unwrap_or_default();
        if fresh != current.replace("\r\n", "\n") {
            let _ = writeln!(problems, "{copy} is not the JSON form of {source}.");
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{problems}Generated files are never edited by hand. Run `{REGENERATE}` and commit the result."
        ))
    }
}

/// The complete text of the generated file for `target`.
pub(crate) fn generate(root: &Path, target: &Target) -> Result<String, String> {
    let raw = std::fs::read_to_string(root.join(target.spec))
        .map_err(|e| format!("reading {}: {e}", target.spec))?;
    let mut document: Value =
        serde_norway::from_str(&raw).map_err(|e| format!("parsing {}: {e}", target.spec))?;
    let opened = prepare_for_codegen(&mut document).map_err(|e| format!("{}: {e}", target.spec))?;
    let spec: openapiv3::OpenAPI = serde_norway::from_value(document)
        .map_err(|e| format!("{} is not OpenAPI 3.0: {e}", target.spec))?;

    let mut settings = progenitor::GenerationSettings::default();
    settings
        .with_interface(progenitor::InterfaceStyle::Builder)
        .with_tag(progenitor::TagStyle::Merged)
        .with_derive("PartialEq")
        // Points in time decode tolerantly into the hand-written
        // `sendmux_api::Timestamp` instead of chrono's strict parser.
        .with_conversion(
            date_time_schema(),
            "crate::Timestamp",
            [progenitor::TypeImpl::Display, progenitor::TypeImpl::FromStr].into_iter(),
        );
    let mut generator = progenitor::Generator::new(&settings);
    let tokens = generator
        .generate_tokens(&spec)
        .map_err(|e| format!("progenitor rejected {}: {e}", target.spec))?;
    let mut file: syn::File =
        syn::parse2(tokens).map_err(|e| format!("progenitor produced invalid Rust: {e}"))?;
    open_enums(&mut file, &opened)?;
    let body = prettyplease::unparse(&file);
    Ok(format!("{}{body}", header(target, &raw)))
}

/// `{type: string, format: date-time}`; progenitor matches it whatever the
/// words around it.
fn date_time_schema() -> schemars08::schema::SchemaObject {
    use schemars08::schema::{InstanceType, SchemaObject, SingleOrVec};
    SchemaObject {
        instance_type: Some(SingleOrVec::Single(Box::new(InstanceType::String))),
        format: Some("date-time".to_owned()),
        ..SchemaObject::default()
    }
}

/// The generated file's preamble. `build.rs` of `sendmux-api` parses the
/// `// spec:` line, so its shape is part of the contract.
fn header(target: &Target, spec_text: &str) -> String {
    format!(
        "// @generated by `{REGENERATE}`. Do not edit: change {} and rerun the command.\n\
         // spec: {} sha256:{}\n\n",
        target.spec,
        target.spec,
        spec_hash(spec_text)
    )
}

/// SHA-256 of the document with line endings normalised, so a checkout with
/// CRLF endings hashes the same.
pub(crate) fn spec_hash(text: &str) -> String {
    let normalised = text.replace("\r\n", "\n");
    let digest = Sha256::digest(normalised.as_bytes());
    digest.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Makes the document safe for generated decoders while `openapi.yaml` keeps
/// the strict contract for conformance checks:
/// - `additionalProperties: false` is removed, because typify turns it into
///   `deny_unknown_fields` and one new server field would break decoding;
/// - every string enum a response can carry is noted, and after generation
///   rewritten into its final open form (see [`open_enums`]), so a new
///   server value decodes;
/// - single-value boolean enums (`ok: true`) become plain booleans;
/// - string `format`s other than `binary` and `date-time`, and `pattern`s,
///   are dropped, so ids and addresses stay `String` (a value the server
///   spells unusually never fails a whole response); date-times become
///   `sendmux_api::Timestamp`, whose decoding accepts every common spelling
///   of a point in time;
/// - of two parameters that would get one Rust name (the `Last-Event-ID`
///   header beside the `last_event_id` query on the event stream), the
///   header is left out: the builder keeps the query form, and the
///   ergonomic client sets the header itself.
///
/// Returns the names of the opened enums.
pub(crate) fn prepare_for_codegen(document: &mut Value) -> Result<BTreeSet<String>, String> {
    let open = response_enum_components(document)?;
    strip_for_decoding(document);
    drop_clashing_parameters(document);
    Ok(open)
}

/// Rewrites every enum a response can carry into its final open form: the
/// known values as unit variants plus `Unknown(String)` for values newer
/// than this crate, `#[non_exhaustive]`, with `as_str`, `KNOWN`, `Display`,
/// an infallible `FromStr` and `From<&str>`, and serde impls of our own: the
/// `Deserialize` is a string visitor that matches the value where it lies
/// (borrowed when it can) and allocates only for an unknown one. typify's
/// closed enum and every impl it wrote for it are removed.
fn open_enums(file: &mut syn::File, opened: &BTreeSet<String>) -> Result<(), String> {
    let types = file
        .items
        .iter_mut()
        .find_map(|item| match item {
            syn::Item::Mod(module) if module.ident == "types" => module.content.as_mut(),
            _ => None,
        })
        .ok_or("progenitor output has no `types` module")?;
    let mut found: Vec<(String, Vec<syn::Attribute>, Vec<OpenVariant>)> = Vec::new();
    for item in types.1.iter() {
        let syn::Item::Enum(item) = item else {
            continue;
        };
        let name = item.ident.to_string();
        if !opened.contains(&name) {
            continue;
        }
        let docs: Vec<syn::Attribute> = item
            .attrs
            .iter()
            .filter(|a| a.path().is_ident("doc"))
            .cloned()
            .collect();
        let mut variants = Vec::new();
        for variant in &item.variants {
            if !matches!(variant.fields, syn::Fields::Unit) {
                return Err(format!("{name}::{} is not a unit variant", variant.ident));
            }
            let mut wire = variant.ident.to_string();
            for attr in variant.attrs.iter().filter(|a| a.path().is_ident("serde")) {
                attr.parse_nested_meta(|meta| {
                    if meta.path.is_ident("rename") {
                        let value: syn::LitStr = meta.value()?.parse()?;
                        wire = value.value();
                    }
                    Ok(())
                })
                .map_err(|e| format!("unreadable serde attribute on {name}: {e}"))?;
            }
            let variant_docs = variant
                .attrs
                .iter()
                .filter(|a| a.path().is_ident("doc"))
                .cloned()
                .collect();
            variants.push((variant.ident.clone(), variant_docs, wire));
        }
        found.push((name, docs, variants));
    }
    if let Some(missing) = opened
        .iter()
        .find(|name| !found.iter().any(|(n, _, _)| n == *name))
    {
        return Err(format!(
            "opened enum {missing} not found in progenitor output"
        ));
    }
    // Drop typify's closed enum and its impls.
    types.1.retain(|item| match item {
        syn::Item::Enum(e) => !opened.contains(&e.ident.to_string()),
        syn::Item::Impl(i) => !impl_target(i).is_some_and(|t| opened.contains(&t)),
        _ => true,
    });
    for (name, docs, variants) in found {
        let ty = quote::format_ident!("{name}");
        let visitor = quote::format_ident!("{name}Visitor");
        // A set that knows the value `unknown` keeps that variant; the
        // fallback is then called `Other`.
        let fallback = if variants.iter().any(|(i, _, _)| i == "Unknown") {
            quote::format_ident!("Other")
        } else {
            quote::format_ident!("Unknown")
        };
        let expecting = format!("a {name} string");
        let idents: Vec<&syn::Ident> = variants.iter().map(|(i, _, _)| i).collect();
        let variant_docs: Vec<&Vec<syn::Attribute>> = variants.iter().map(|(_, d, _)| d).collect();
        let wires: Vec<&String> = variants.iter().map(|(_, _, w)| w).collect();
        let file_items: syn::File = syn::parse_quote! {
            #(#docs)*
            #[derive(Clone, Debug, Eq, Hash, PartialEq)]
            #[non_exhaustive]
            pub enum #ty {
                #( #(#variant_docs)* #idents, )*
                /// A value newer than this crate, kept verbatim.
                #fallback(::std::string::String),
            }
            impl #ty {
                /// Every value this crate knows, in wire form.
                pub const KNOWN: &'static [&'static str] = &[#(#wires),*];
                /// The value in wire form.
                pub fn as_str(&self) -> &str {
                    match self {
                        #( Self::#idents => #wires, )*
                        Self::#fallback(other) => other,
                    }
                }
                /// Whether the value is newer than this crate.
                pub fn is_unknown(&self) -> bool {
                    matches!(self, Self::#fallback(_))
                }
            }
            impl ::std::convert::From<&str> for #ty {
                fn from(value: &str) -> Self {
                    match value {
                        #( #wires => Self::#idents, )*
                        other => Self::#fallback(other.to_owned()),
                    }
                }
            }
            impl ::std::str::FromStr for #ty {
                type Err = ::std::convert::Infallible;
                fn from_str(value: &str) -> ::std::result::Result<Self, Self::Err> {
                    Ok(Self::from(value))
                }
            }
            impl ::std::fmt::Display for #ty {
                fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                    f.write_str(self.as_str())
                }
            }
            impl ::serde::Serialize for #ty {
                fn serialize<S>(&self, serializer: S) -> ::std::result::Result<S::Ok, S::Error>
                where
                    S: ::serde::Serializer,
                {
                    serializer.serialize_str(self.as_str())
                }
            }
            impl<'de> ::serde::Deserialize<'de> for #ty {
                fn deserialize<D>(deserializer: D) -> ::std::result::Result<Self, D::Error>
                where
                    D: ::serde::Deserializer<'de>,
                {
                    struct #visitor;
                    impl<'de> ::serde::de::Visitor<'de> for #visitor {
                        type Value = #ty;
                        fn expecting(
                            &self,
                            f: &mut ::std::fmt::Formatter<'_>,
                        ) -> ::std::fmt::Result {
                            f.write_str(#expecting)
                        }
                        fn visit_str<E>(self, value: &str) -> ::std::result::Result<#ty, E>
                        where
                            E: ::serde::de::Error,
                        {
                            Ok(match value {
                                #( #wires => #ty::#idents, )*
                                other => #ty::#fallback(other.to_owned()),
                            })
                        }
                        fn visit_string<E>(
                            self,
                            value: ::std::string::String,
                        ) -> ::std::result::Result<#ty, E>
                        where
                            E: ::serde::de::Error,
                        {
                            Ok(match value.as_str() {
                                #( #wires => #ty::#idents, )*
                                _ => #ty::#fallback(value),
                            })
                        }
                    }
                    deserializer.deserialize_str(#visitor)
                }
            }
        };
        types.1.extend(file_items.items);
    }
    Ok(())
}

/// A variant of an opened enum: its name, its docs, its wire value.
type OpenVariant = (syn::Ident, Vec<syn::Attribute>, String);

/// The type an `impl` block is for, by its last path segment.
fn impl_target(item: &syn::ItemImpl) -> Option<String> {
    match &*item.self_ty {
        syn::Type::Path(path) => path.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
}

/// Names of the string-enum component schemas reachable from any response.
/// An inline string enum inside a response schema is an error: it must be
/// hoisted into `components` so it gets a name and can be opened.
fn response_enum_components(document: &Value) -> Result<BTreeSet<String>, String> {
    let schemas = document
        .get("components")
        .and_then(|c| c.get("schemas"))
        .and_then(Value::as_mapping);
    let mut pending: Vec<String> = Vec::new();
    let mut roots = Vec::new();
    if let Some(paths) = document.get("paths").and_then(Value::as_mapping) {
        for item in paths.values() {
            for operation in item.as_mapping().into_iter().flat_map(|m| m.values()) {
                if let Some(responses) = operation.get("responses") {
                    roots.push(responses);
                }
            }
        }
    }
    if let Some(responses) = document.get("components").and_then(|c| c.get("responses")) {
        roots.push(responses);
    }
    for root in roots {
        collect_schema_refs(root, &mut pending);
    }
    let mut seen = BTreeSet::new();
    let mut enums = BTreeSet::new();
    while let Some(name) = pending.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        let Some(schema) = schemas.and_then(|s| s.get(name.as_str())) else {
            continue;
        };
        if is_string_enum(schema) {
            enums.insert(name.clone());
        } else if let Some(pointer) = find_inline_string_enum(schema, "") {
            return Err(format!(
                "schema {name} has an inline string enum at {pointer}; move it into components/schemas so it gets a name and tolerates new values"
            ));
        }
        collect_schema_refs(schema, &mut pending);
    }
    Ok(enums)
}

fn collect_schema_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Mapping(map) => {
            for (key, child) in map {
                if key.as_str() == Some("$ref") {
                    if let Some(name) = child
                        .as_str()
                        .and_then(|r| r.strip_prefix("#/components/schemas/"))
                    {
                        out.push(name.to_string());
                    }
                } else {
                    collect_schema_refs(child, out);
                }
            }
        }
        Value::Sequence(items) => items.iter().for_each(|v| collect_schema_refs(v, out)),
        _ => {}
    }
}

fn is_string_enum(schema: &Value) -> bool {
    schema.get("enum").is_some() && schema.get("type").and_then(Value::as_str) == Some("string")
}

fn find_inline_string_enum(value: &Value, pointer: &str) -> Option<String> {
    match value {
        Value::Mapping(map) => {
            if is_string_enum(value) {
                return Some(if pointer.is_empty() {
                    "/".into()
                } else {
                    pointer.into()
                });
            }
            map.iter().find_map(|(key, child)| {
                let key = key.as_str().unwrap_or("?");
                find_inline_string_enum(child, &format!("{pointer}/{key}"))
            })
        }
        Value::Sequence(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, child)| find_inline_string_enum(child, &format!("{pointer}/{i}"))),
        _ => None,
    }
}

/// The Rust name progenitor gives a parameter.
fn rust_parameter_name(name: &str) -> String {
    let mut out = String::new();
    let mut previous: Option<char> = None;
    for c in name.chars() {
        let previous_lower = previous.is_some_and(|p| p.is_ascii_lowercase());
        previous = Some(c);
        if c.is_ascii_uppercase() {
            if previous_lower {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
        } else {
            out.push('_');
        }
    }
    out
}

fn drop_clashing_parameters(document: &mut Value) {
    let Some(paths) = document.get_mut("paths").and_then(Value::as_mapping_mut) else {
        return;
    };
    for item in paths.values_mut() {
        for operation in item
            .as_mapping_mut()
            .into_iter()
            .flat_map(|m| m.values_mut())
        {
            let Some(parameters) = operation
                .get_mut("parameters")
                .and_then(Value::as_sequence_mut)
            else {
                continue;
            };
            let names: Vec<(String, bool)> = parameters
                .iter()
                .map(|p| {
                    (
                        p.get("name")
                            .and_then(Value::as_str)
                            .map(rust_parameter_name)
                            .unwrap_or_default(),
                        p.get("in").and_then(Value::as_str) == Some("header"),
                    )
                })
                .collect();
            let mut index = 0;
            parameters.retain(|_| {
                let (name, header) = &names[index];
                index += 1;
                let clashes = names.iter().filter(|(other, _)| other == name).count() > 1;
                !(clashes && *header)
            });
        }
    }
}

fn strip_for_decoding(value: &mut Value) {
    match value {
        Value::Mapping(map) => {
            if map.get("type").and_then(Value::as_str) == Some("string")
                && !matches!(
                    map.get("format").and_then(Value::as_str),
                    Some("binary" | "date-time")
                )
            {
                map.remove("format");
            }
            // A pattern would make typify emit a regex-checked newtype.
            // (A property named `pattern` holds a schema, not a string.)
            if map.get("pattern").is_some_and(Value::is_string) {
                map.remove("pattern");
            }
            if map.get("additionalProperties") == Some(&Value::Bool(false)) {
                map.remove("additionalProperties");
            }
            if map.get("type").and_then(Value::as_str) == Some("boolean") {
                map.remove("enum");
            }
            map.values_mut().for_each(strip_for_decoding);
        }
        Value::Sequence(items) => items.iter_mut().for_each(strip_for_decoding),
        _ => {}
    }
}

/// A unified diff, cut to a readable length.
pub(crate) fn short_diff(old: &str, new: &str, name: &str) -> String {
    const MAX_LINES: usize = 80;
    let diff = similar::TextDiff::from_lines(old, new);
    let text = diff
        .unified_diff()
        .context_radius(2)
        .header(
            &format!("{name} (checked in)"),
            &format!("{name} (generated)"),
        )
        .to_string();
    let total = text.lines().count();
    let mut shown: String = text.lines().take(MAX_LINES).collect::<Vec<_>>().join("\n");
    if total > MAX_LINES {
        let _ = write!(shown, "\n... {} more diff lines", total - MAX_LINES);
    }
    shown
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::path::{Path, PathBuf};

    use super::*;

    fn workspace_root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    /// A scratch workspace holding copies of every target's spec and output.
    fn scratch_copy() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for target in TARGETS {
            for file in [target.spec, target.output] {
                let to = dir.path().join(file);
                std::fs::create_dir_all(to.parent().unwrap()).unwrap();
                std::fs::copy(workspace_root().join(file), to).unwrap();
            }
        }
        for copy in COPIES
            .iter()
            .map(|(_, copy)| *copy)
            .chain([crate::operations::OUTPUT])
        {
            let to = dir.path().join(copy);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(workspace_root().join(copy), to).unwrap();
        }
        dir
    }

    #[test]
    fn checked_in_output_is_current_and_generation_is_deterministic() {
        check_all(&workspace_root()).unwrap();
        let target = &TARGETS[0];
        assert_eq!(
            generate(&workspace_root(), target).unwrap(),
            generate(&workspace_root(), target).unwrap()
        );
    }

    #[test]
    fn check_fails_after_a_hand_edit_of_the_generated_file() {
        let scratch = scratch_copy();
        let output = scratch.path().join(TARGETS[0].output);
        let edited = std::fs::read_to_string(&output).unwrap().replacen(
            "pub struct Client {",
            "pub struct Client {\n    pub hacked: bool,",
            1,
        );
        std::fs::write(&output, edited).unwrap();

        let message = check_all(scratch.path()).unwrap_err();
        assert!(message.contains("is stale"), "{message}");
        assert!(message.contains("-    pub hacked: bool,"), "{message}");
        assert!(message.contains("Run `cargo xtask codegen`"), "{message}");
    }

    #[test]
    fn check_fails_after_a_spec_change_without_regeneration() {
        let scratch = scratch_copy();
        let spec = scratch.path().join(TARGETS[0].spec);
        let original = std::fs::read_to_string(&spec).unwrap();
        let summary = original
            .lines()
            .find(|l| l.trim_start().starts_with("summary: "))
            .unwrap()
            .to_owned();
        let changed = original.replacen(&summary, "      summary: Add a domain", 1);
        std::fs::write(&spec, changed).unwrap();

        let message = check_all(scratch.path()).unwrap_err();
        assert!(message.contains("openapi.yaml"), "{message}");
        // Both the recorded hash and the doc comment changed.
        assert!(message.contains("sha256:"), "{message}");
        assert!(
            message.contains("crates/sendmux-conformance/openapi.json is not the JSON form"),
            "{message}"
        );
        assert!(
            message
                .lines()
                .any(|l| l.starts_with('+') && l.contains("Add a domain")),
            "{message}"
        );

        write_all(scratch.path()).unwrap();
        check_all(scratch.path()).unwrap();
    }

    #[test]
    fn hash_ignores_line_endings() {
        assert_eq!(spec_hash("a: 1\nb: 2\n"), spec_hash("a: 1\r\nb: 2\r\n"));
        assert_ne!(spec_hash("a: 1\n"), spec_hash("a: 2\n"));
    }

    fn prepared(yaml: &str) -> Result<Value, String> {
        let mut document: Value = serde_norway::from_str(yaml).unwrap();
        prepare_for_codegen(&mut document).map(|_opened| document)
    }

    const SMALL_SPEC: &str = r#"
paths:
  /things:
    get:
      responses:
        '200':
          content:
            application/json:
              schema: { $ref: '#/components/schemas/Thing' }
    post:
      requestBody:
        content:
          application/json:
            schema: { $ref: '#/components/schemas/NewThing' }
      responses: {}
components:
  schemas:
    Thing:
      type: object
      additionalProperties: false
      properties:
        ok: { type: boolean, enum: [true] }
        colour: { $ref: '#/components/schemas/Colour' }
    Colour: { type: string, enum: [red, blue], description: A colour. }
    NewThing:
      type: object
      properties:
        size: { $ref: '#/components/schemas/Size' }
    Size: { type: string, enum: [s, m] }
"#;

    #[test]
    fn decoding_is_made_tolerant_and_response_enums_are_noted() {
        let mut document: Value = serde_norway::from_str(SMALL_SPEC).unwrap();
        let opened = prepare_for_codegen(&mut document).unwrap();
        let schemas = &document["components"]["schemas"];
        let thing = &schemas["Thing"];
        assert!(thing.get("additionalProperties").is_none());
        assert!(thing["properties"]["ok"].get("enum").is_none());
        // Response enums are opened after generation; request-only ones
        // stay closed, so a typo fails to compile.
        assert!(opened.contains("Colour"));
        assert!(!opened.contains("Size"));
    }

    #[test]
    fn open_enums_get_their_final_form() {
        let mut file: syn::File = syn::parse_quote! {
            pub mod types {
                /// A colour.
                #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Copy, Debug)]
                pub enum Colour {
                    #[serde(rename = "red")]
                    Red,
                    #[serde(rename = "light_blue")]
                    LightBlue,
                }
                impl ::std::fmt::Display for Colour {
                    fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        f.write_str("x")
                    }
                }
                pub struct Other;
            }
        };
        open_enums(&mut file, &BTreeSet::from(["Colour".to_owned()])).unwrap();
        let text = prettyplease::unparse(&file);
        assert!(text.contains("Unknown(::std::string::String)"), "{text}");
        assert!(text.contains("#[non_exhaustive]"), "{text}");
        assert!(
            text.contains(r#""light_blue" => Self::LightBlue"#),
            "{text}"
        );
        assert!(text.contains("/// A colour."), "{text}");
        assert!(!text.contains("Copy"), "typify's derives are gone: {text}");
        assert_eq!(
            text.matches("impl ::std::fmt::Display for Colour").count(),
            1,
            "{text}"
        );
        assert!(text.contains("pub struct Other"), "{text}");

        let missing = open_enums(&mut file, &BTreeSet::from(["Nope".to_owned()])).unwrap_err();
        assert!(missing.contains("Nope"), "{missing}");
    }

    #[test]
    fn inline_response_enums_must_be_hoisted() {
        let spec = SMALL_SPEC.replace(
            "colour: { $ref: '#/components/schemas/Colour' }",
            "colour: { type: string, enum: [red, blue] }",
        );
        let message = prepared(&spec).unwrap_err();
        assert!(message.contains("Thing"), "{message}");
        assert!(message.contains("/properties/colour"), "{message}");
    }
}
