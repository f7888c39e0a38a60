//! Reading an OpenAPI document's text into JSON values.

use serde_json::Value;

/// Parses `text` as JSON, or as YAML with the `yaml` feature. JSON is tried
/// first when the text starts like a JSON object, since every JSON document
/// is also YAML but the JSON parser is much faster.
pub(crate) fn parse(text: &str) -> Result<Value, String> {
    if text.trim_start().starts_with('{') {
        return serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"));
    }
    parse_yaml(text)
}

#[cfg(feature = "yaml")]
fn parse_yaml(text: &str) -> Result<Value, String> {
    serde_norway::from_str(text).map_err(|e| format!("not valid YAML: {e}"))
}

#[cfg(not(feature = "yaml"))]
fn parse_yaml(_text: &str) -> Result<Value, String> {
    Err("not a JSON object, and reading YAML needs the `yaml` feature".to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn json_parses_with_or_without_yaml() {
        let value = parse("  {\"openapi\": \"3.0.3\"}").unwrap_or_default();
        assert_eq!(value["openapi"], "3.0.3");
        let broken = parse("{\"openapi\": ").unwrap_err();
        assert!(broken.starts_with("not valid JSON"), "{broken}");
    }

    #[cfg(feature = "yaml")]
    #[test]
    fn yaml_parses_with_the_feature() {
        let value = parse("openapi: 3.0.3\npaths: {}\n").unwrap_or_default();
        assert_eq!(value["openapi"], "3.0.3");
        let broken = parse("openapi: [").unwrap_err();
        assert!(broken.starts_with("not valid YAML"), "{broken}");
    }

    #[cfg(not(feature = "yaml"))]
    #[test]
    fn yaml_without_the_feature_says_what_to_enable() {
        let message = parse("openapi: 3.0.3\n").unwrap_err();
        assert!(message.contains("`yaml` feature"), "{message}");
    }
}
