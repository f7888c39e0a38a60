//! OpenAPI 3.0 schema objects rewritten as JSON Schema Draft 4.
//!
//! OpenAPI 3.0.3 schemas are a Draft 4 dialect with a few extra keywords. The
//! only one that changes what validates is `nullable`; the rest (`example`,
//! `discriminator`, `readOnly`, ...) are annotations and are dropped so that
//! equal schemas translate to equal JSON and share one compiled validator.

use serde_json::{Map, Value};

/// Keywords of the OpenAPI dialect (or pure annotations) that Draft 4 does not
/// need to validate.
const DROPPED: &[&str] = &[
    "nullable",
    "example",
    "examples",
    "discriminator",
    "readOnly",
    "writeOnly",
    "xml",
    "externalDocs",
    "deprecated",
    "description",
    "title",
    "default",
];

/// Keywords whose value is one schema.
const ONE_SCHEMA: &[&str] = &["items", "not", "additionalProperties"];
/// Keywords whose value is a list of schemas.
const SCHEMA_LIST: &[&str] = &["allOf", "anyOf", "oneOf"];
/// Keywords whose value maps names to schemas.
const SCHEMA_MAP: &[&str] = &["properties", "patternProperties"];

/// Rewrites one OpenAPI 3.0 schema (and everything inside it) as Draft 4.
///
/// `nullable: true` becomes `type: [T, "null"]` (plus `null` in an `enum`),
/// or, for a composition without its own `type`, `anyOf: [schema, {type: null}]`.
/// A `$ref` keeps only itself: 3.0 ignores its siblings.
pub(crate) fn to_draft4(schema: &Value) -> Value {
    let Value::Object(object) = schema else {
        return schema.clone();
    };
    if let Some(reference) = object.get("$ref") {
        let mut only_ref = Map::new();
        only_ref.insert("$ref".to_owned(), reference.clone());
        return Value::Object(only_ref);
    }
    let nullable = object.get("nullable").and_then(Value::as_bool) == Some(true);
    let mut out = Map::new();
    for (key, value) in object {
        if DROPPED.contains(&key.as_str()) || key.starts_with("x-") {
            continue;
        }
        let translated = if ONE_SCHEMA.contains(&key.as_str()) {
            to_draft4(value)
        } else if SCHEMA_LIST.contains(&key.as_str()) {
            match value {
                Value::Array(items) => Value::Array(items.iter().map(to_draft4).collect()),
                other => other.clone(),
            }
        } else if SCHEMA_MAP.contains(&key.as_str()) {
            match value {
                Value::Object(map) => Value::Object(
                    map.iter()
                        .map(|(name, s)| (name.clone(), to_draft4(s)))
                        .collect(),
                ),
                other => other.clone(),
            }
        } else {
            value.clone()
        };
        out.insert(key.clone(), translated);
    }
    if !nullable {
        return Value::Object(out);
    }
    let composed = SCHEMA_LIST.iter().any(|k| out.contains_key(*k));
    match out.get("type").cloned() {
        Some(Value::String(ty)) if !composed => {
            out.insert(
                "type".to_owned(),
                Value::Array(vec![Value::String(ty), Value::String("null".into())]),
            );
            if let Some(Value::Array(options)) = out.get_mut("enum")
                && !options.contains(&Value::Null)
            {
                options.push(Value::Null);
            }
            Value::Object(out)
        }
        _ => {
            let mut null = Map::new();
            null.insert("type".to_owned(), Value::String("null".into()));
            let mut wrapper = Map::new();
            wrapper.insert(
                "anyOf".to_owned(),
                Value::Array(vec![Value::Object(out), Value::Object(null)]),
            );
            Value::Object(wrapper)
        }
    }
}

/// Translates every schema of a `components.schemas` map.
pub(crate) fn translate_components(schemas: Option<&Value>) -> Value {
    let mut out = Map::new();
    if let Some(Value::Object(map)) = schemas {
        for (name, schema) in map {
            out.insert(name.clone(), to_draft4(schema));
        }
    }
    Value::Object(out)
}

/// Follows `#/components/schemas/...` references (at most a few hops) to
/// find the JSON type a parameter or header value must be coerced to.
pub(crate) fn scalar_type<'a>(schema: &'a Value, components: &'a Value) -> Option<&'a str> {
    let mut current = schema;
    for _ in 0..8 {
        if let Some(reference) = current.get("$ref").and_then(Value::as_str) {
            let name = reference.strip_prefix("#/components/schemas/")?;
            current = components.get(name)?;
            continue;
        }
        if current.get("type").is_none()
            && let Some(first) = current
                .get("allOf")
                .and_then(Value::as_array)
                .and_then(|all_of| all_of.first())
        {
            current = first;
            continue;
        }
        return match current.get("type") {
            Some(Value::String(ty)) => Some(ty),
            Some(Value::Array(types)) => types
                .iter()
                .filter_map(Value::as_str)
                .find(|t| *t != "null"),
            _ => None,
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nullable_scalar_becomes_a_type_array() {
        let out = to_draft4(&json!({"type": "string", "nullable": true, "description": "d"}));
        assert_eq!(out, json!({"type": ["string", "null"]}));
    }

    #[test]
    fn nullable_enum_also_admits_null() {
        let out = to_draft4(&json!({"type": "string", "enum": ["a"], "nullable": true}));
        assert_eq!(
            out,
            json!({"type": ["string", "null"], "enum": ["a", null]})
        );
    }

    #[test]
    fn nullable_composition_is_wrapped() {
        let out =
            to_draft4(&json!({"allOf": [{"$ref": "#/components/schemas/X"}], "nullable": true}));
        assert_eq!(
            out,
            json!({"anyOf": [{"allOf": [{"$ref": "#/components/schemas/X"}]}, {"type": "null"}]})
        );
    }

    #[test]
    fn nested_schemas_are_translated_and_ref_siblings_dropped() {
        let out = to_draft4(&json!({
            "type": "object",
            "properties": {
                "a": {"type": "integer", "nullable": true, "example": 3},
                "b": {"$ref": "#/components/schemas/B", "description": "ignored"}
            },
            "additionalProperties": false,
            "x-internal": true
        }));
        assert_eq!(
            out,
            json!({
                "type": "object",
                "properties": {
                    "a": {"type": ["integer", "null"]},
                    "b": {"$ref": "#/components/schemas/B"}
                },
                "additionalProperties": false
            })
        );
    }

    #[test]
    fn scalar_type_follows_references() {
        let components = json!({"Key": {"type": "string", "maxLength": 255}});
        let schema = json!({"$ref": "#/components/schemas/Key"});
        assert_eq!(scalar_type(&schema, &components), Some("string"));
        assert_eq!(
            scalar_type(&json!({"type": ["integer", "null"]}), &components),
            Some("integer")
        );
    }
}
