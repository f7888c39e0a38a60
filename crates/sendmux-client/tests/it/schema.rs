//! Hand-written public models agree with the spec components they mirror.

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

fn spec() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi.yaml"))
        .unwrap();
    let yaml: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    serde_json::to_value(yaml).unwrap()
}

/// Reduces a schema to what the contract is made of (types, enums,
/// required, nullability, limits, structure), resolving `$ref`s against
/// `root`, so prose and generator quirks do not count.
fn normalize(schema: &Value, root: &Value) -> Value {
    let Some(obj) = schema.as_object() else {
        return schema.clone();
    };
    if let Some(reference) = obj.get("$ref").and_then(Value::as_str) {
        let target = root
            .pointer(reference.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("{reference}"));
        return normalize(target, root);
    }
    if let Some(all_of) = obj.get("allOf").and_then(Value::as_array)
        && all_of.len() == 1
    {
        return normalize(&all_of[0], root);
    }
    if let Some(any_of) = obj.get("anyOf").and_then(Value::as_array) {
        // `anyOf [X, {type: null}]` is "X, nullable".
        let non_null: Vec<&Value> = any_of
            .iter()
            .filter(|s| s.get("type") != Some(&json!("null")))
            .collect();
        if non_null.len() == 1 && any_of.len() == 2 {
            let mut inner = normalize(non_null[0], root);
            inner["nullable"] = json!(true);
            return inner;
        }
    }
    let mut out = Map::new();
    for (key, value) in obj {
        match key.as_str() {
            "type" => match value {
                Value::Array(types) => {
                    let non_null: Vec<&Value> = types.iter().filter(|t| *t != "null").collect();
                    out.insert("type".into(), non_null[0].clone());
                    if non_null.len() < types.len() {
                        out.insert("nullable".into(), json!(true));
                    }
                }
                other => {
                    out.insert("type".into(), other.clone());
                }
            },
            "nullable" if value == &json!(true) => {
                out.insert("nullable".into(), json!(true));
            }
            "enum" => {
                let values: Vec<Value> = value
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|v| !v.is_null())
                    .cloned()
                    .collect();
                out.insert("enum".into(), Value::Array(values));
            }
            "required" => {
                let mut names: Vec<String> = value
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap().to_owned())
                    .collect();
                names.sort();
                out.insert("required".into(), json!(names));
            }
            "properties" => {
                let props: Map<String, Value> = value
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), normalize(v, root)))
                    .collect();
                out.insert("properties".into(), Value::Object(props));
            }
            "items" => {
                out.insert("items".into(), normalize(value, root));
            }
            "maxLength" | "minLength" | "maxItems" | "minimum" | "maximum" => {
                out.insert(key.clone(), value.clone());
            }
            _ => {}
        }
    }
    if obj.get("required").is_none() && out.contains_key("properties") {
        out.insert("required".into(), json!([]));
    }
    Value::Object(out)
}

fn ours<T: JsonSchema>() -> Value {
    let generator = SchemaSettings::openapi3().into_generator();
    let root = serde_json::to_value(generator.into_root_schema_for::<T>()).unwrap();
    normalize(&root, &root)
}

fn theirs(component: &str) -> Value {
    let spec = spec();
    normalize(&spec["components"]["schemas"][component], &spec)
}

#[test]
fn models_match_their_spec_components() {
    use sendmux_client::*;
    // The enums are generated from the spec itself; their known values are
    // checked below. These are the hand-written models.
    let pairs: Vec<(&str, Value)> = vec![
        ("ApiErrorDetail", ours::<FieldError>()),
        ("FilterRule", ours::<FilterRule>()),
        ("FilterState", ours::<FilterState>()),
    ];
    for (component, schema) in pairs {
        assert_eq!(schema, theirs(component), "{component}");
    }
}

#[test]
fn known_enum_values_are_the_spec_values() {
    use sendmux_client::*;
    let spec = spec();
    let values = |name: &str| -> Vec<String> {
        spec["components"]["schemas"][name]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(DomainMode::KNOWN, values("DomainMode"));
    assert_eq!(
        VerificationStatus::KNOWN,
        values("DomainVerificationStatus")
    );
    assert_eq!(ErrorCode::KNOWN, values("ApiErrorCode"));
    assert_eq!(FilterMode::KNOWN, values("FilterMode"));
    assert_eq!(FilterRuleType::KNOWN, values("FilterRuleType"));
}

#[test]
fn the_comparison_notices_a_difference() {
    // Guards the normaliser: a mismatching pair must not compare equal.
    assert_ne!(ours::<sendmux_client::FilterRule>(), theirs("FilterState"));
    assert_ne!(ours::<sendmux_client::FilterState>(), theirs("FilterRule"));
}
