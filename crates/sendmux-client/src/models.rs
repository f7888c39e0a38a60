//! Public models: the hand-written types this crate exchanges with callers,
//! and the server's string sets under the names this crate has always used.
//!
//! Everything else (domains, DNS records, verification results) is the
//! generated model from [`sendmux_api::types`], re-exported as
//! [`crate::types`]: those mirror the wire exactly and gain nothing from a
//! second copy.
//!
//! Every server-sent enum is generated in its final, open form:
//! `#[non_exhaustive]`, with an `Unknown(String)` variant that keeps values
//! newer than this crate instead of failing to decode, `as_str()`,
//! `Display` and an infallible `FromStr`.

#[cfg(feature = "schemars")]
use schemars::{Schema, SchemaGenerator, json_schema};
use sendmux_api::types as wire;
use serde::{Deserialize, Serialize};

pub use wire::{
    ApiErrorCode as ErrorCode, DomainMode, DomainVerificationStatus as VerificationStatus,
    FilterMode, FilterRuleType, WebhookEventType,
};

/// The closed set of known values as a JSON Schema string enum, for the
/// hand-written models below (the contract is the known set; `Unknown` is
/// this crate's escape hatch, not part of it).
#[cfg(feature = "schemars")]
fn known_values(known: &'static [&'static str]) -> Schema {
    json_schema!({ "type": "string", "enum": known })
}

#[cfg(feature = "schemars")]
fn filter_mode_schema(_: &mut SchemaGenerator) -> Schema {
    known_values(FilterMode::KNOWN)
}

#[cfg(feature = "schemars")]
fn filter_rule_type_schema(_: &mut SchemaGenerator) -> Schema {
    known_values(FilterRuleType::KNOWN)
}

/// One problem with one field of a rejected request (`error.errors[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "schemars", schemars(rename = "ApiErrorDetail"))]
#[non_exhaustive]
pub struct FieldError {
    /// Path of the offending field, e.g. `rules[3].pattern`.
    pub field: String,
    /// What is wrong with it, e.g. `invalid_string`.
    pub code: String,
    /// Explanation for people.
    pub message: String,
}

impl From<wire::ApiErrorDetail> for FieldError {
    fn from(value: wire::ApiErrorDetail) -> Self {
        Self {
            field: value.field,
            code: value.code,
            message: value.message,
        }
    }
}

/// One sender filter rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct FilterRule {
    /// Whether a match lets the sender in or keeps it out.
    #[serde(rename = "type")]
    #[cfg_attr(
        feature = "schemars",
        schemars(schema_with = "filter_rule_type_schema")
    )]
    pub kind: FilterRuleType,
    /// Sender address or domain to match, e.g. `partner.com`.
    pub pattern: String,
    /// Free text for people, at most 255 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "schemars", schemars(length(max = 255)))]
    pub note: Option<String>,
}

impl FilterRule {
    /// A rule letting senders matching `pattern` in.
    pub fn allow(pattern: impl Into<String>) -> Self {
        Self {
            kind: FilterRuleType::Allow,
            pattern: pattern.into(),
            note: None,
        }
    }

    /// A rule keeping senders matching `pattern` out.
    pub fn deny(pattern: impl Into<String>) -> Self {
        Self {
            kind: FilterRuleType::Deny,
            pattern: pattern.into(),
            note: None,
        }
    }

    /// Attaches a note for people.
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }
}

impl From<wire::FilterRule> for FilterRule {
    fn from(value: wire::FilterRule) -> Self {
        Self {
            kind: value.type_,
            pattern: value.pattern,
            note: value.note.map(String::from),
        }
    }
}

/// A domain's sender filter: a mode and its ordered rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct FilterState {
    /// Which senders get in.
    #[cfg_attr(feature = "schemars", schemars(schema_with = "filter_mode_schema"))]
    pub mode: FilterMode,
    /// The rules, in order.
    pub rules: Vec<FilterRule>,
}

impl FilterState {
    /// A filter state from a mode and rules.
    pub fn new(mode: FilterMode, rules: impl IntoIterator<Item = FilterRule>) -> Self {
        Self {
            mode,
            rules: rules.into_iter().collect(),
        }
    }
}

impl From<wire::FilterState> for FilterState {
    fn from(value: wire::FilterState) -> Self {
        Self {
            mode: value.mode,
            rules: value.rules.into_iter().map(FilterRule::from).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn unknown_values_survive_round_trips() {
        let status: VerificationStatus = serde_json::from_str("\"quarantined\"").unwrap();
        assert_eq!(status, VerificationStatus::Unknown("quarantined".into()));
        assert_eq!(serde_json::to_string(&status).unwrap(), "\"quarantined\"");
        let known: VerificationStatus = serde_json::from_str("\"verified\"").unwrap();
        assert_eq!(known, VerificationStatus::Verified);
    }

    #[test]
    fn converts_generated_rules() {
        let rule: wire::FilterRule =
            serde_json::from_str(r#"{"type":"deny","pattern":"spam.example","note":null}"#)
                .unwrap();
        assert_eq!(FilterRule::from(rule), FilterRule::deny("spam.example"));
        assert_eq!("send_only".parse::<DomainMode>(), Ok(DomainMode::SendOnly));
        assert!(ErrorCode::from("brand_new").is_unknown());
    }
}
