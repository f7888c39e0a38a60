//! Public models: ergonomic enums over the server's string sets, and the
//! hand-written types this crate exchanges with callers.
//!
//! Everything else (domains, DNS records, verification results) is the
//! generated model from [`sendmux_api::types`], re-exported as
//! [`crate::types`]: those mirror the wire exactly and gain nothing from a
//! second copy. Where a generated field is a server-sent enum, convert it
//! with `From`, e.g. `VerificationStatus::from(&domain.verification_status)`.
//!
//! Every enum here is `#[non_exhaustive]` and decodes values newer than this
//! crate into its `Unknown(String)` variant instead of failing.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use sendmux_api::types as wire;
use serde::{Deserialize, Serialize};

macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        $name:ident as $schema:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $wire:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this version of the crate does not know yet, kept verbatim.
            Unknown(String),
        }

        impl $name {
            /// Every value this version of the crate knows, in wire form.
            pub const KNOWN: &'static [&'static str] = &[$($wire),+];

            /// The wire form of the value.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $wire, )+
                    Self::Unknown(other) => other,
                }
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                match value {
                    $( $wire => Self::$variant, )+
                    other => Self::Unknown(other.to_owned()),
                }
            }
        }

        impl FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Ok(Self::from(value))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = Cow::<'de, str>::deserialize(d)?;
                Ok(Self::from(raw.as_ref()))
            }
        }

        // Hand-written rather than derived: a derive would describe the
        // `Unknown(String)` escape hatch too, while the contract (and the
        // spec component this mirrors) is the closed set of known values.
        impl JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                Cow::Borrowed($schema)
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!({ "type": "string", "enum": [$($wire),+] })
            }
        }
    };
}

string_enum! {
    /// How a domain is used.
    DomainMode as "DomainMode" {
        /// Outbound mail only; MX records are left alone.
        SendOnly = "send_only",
        /// Outbound mail and hosted mailboxes (the server's default).
        SendReceive = "send_receive",
    }
}

string_enum! {
    /// Where a domain stands in DNS verification.
    VerificationStatus as "DomainVerificationStatus" {
        /// Records not (yet) found.
        Pending = "pending",
        /// Every check passed.
        Verified = "verified",
        /// A check failed; the domain stays failed until a full pass.
        Failed = "failed",
    }
}

string_enum! {
    /// Which senders a domain's filter lets in.
    FilterMode as "FilterMode" {
        /// Accept every sender.
        Off = "off",
        /// Accept only senders matching an `allow` rule.
        Allowlist = "allowlist",
        /// Accept every sender except those matching a `deny` rule.
        Denylist = "denylist",
    }
}

string_enum! {
    /// What a matching filter rule does.
    FilterRuleType as "FilterRuleType" {
        /// Let the sender in.
        Allow = "allow",
        /// Keep the sender out.
        Deny = "deny",
    }
}

string_enum! {
    /// Machine-readable category of an API error.
    ErrorCode as "ApiErrorCode" {
        /// A parameter has a bad value.
        InvalidParameter = "invalid_parameter",
        /// A required parameter is absent.
        MissingParameter = "missing_parameter",
        /// The API key is missing or invalid.
        AuthenticationRequired = "authentication_required",
        /// The key may not use this route.
        InsufficientPermissions = "insufficient_permissions",
        /// No such resource.
        NotFound = "not_found",
        /// The resource's state forbids the change (or `If-Match` is stale).
        Conflict = "conflict",
        /// A plan or resource limit was reached.
        LimitExceeded = "limit_exceeded",
        /// The idempotency key was reused with another body, or its first
        /// request is still running.
        IdempotencyConflict = "idempotency_conflict",
        /// The body is too large.
        PayloadTooLarge = "payload_too_large",
        /// The body failed validation; see the field errors.
        ValidationError = "validation_error",
        /// Too many requests; wait for the rate-limit window.
        RateLimitExceeded = "rate_limit_exceeded",
        /// The service is unavailable for now.
        ServiceUnavailable = "service_unavailable",
        /// The server failed.
        InternalError = "internal_error",
    }
}

impl From<&wire::DomainMode> for DomainMode {
    fn from(value: &wire::DomainMode) -> Self {
        Self::from(value.to_string().as_str())
    }
}

impl From<&DomainMode> for wire::DomainMode {
    fn from(value: &DomainMode) -> Self {
        match value {
            DomainMode::SendOnly => wire::DomainModeKnown::SendOnly.into(),
            DomainMode::SendReceive => wire::DomainModeKnown::SendReceive.into(),
            DomainMode::Unknown(other) => wire::DomainMode::Unknown(other.clone()),
        }
    }
}

impl From<&wire::DomainVerificationStatus> for VerificationStatus {
    fn from(value: &wire::DomainVerificationStatus) -> Self {
        Self::from(value.to_string().as_str())
    }
}

impl From<&wire::FilterMode> for FilterMode {
    fn from(value: &wire::FilterMode) -> Self {
        Self::from(value.to_string().as_str())
    }
}

impl From<&FilterMode> for wire::FilterMode {
    fn from(value: &FilterMode) -> Self {
        match value {
            FilterMode::Off => wire::FilterModeKnown::Off.into(),
            FilterMode::Allowlist => wire::FilterModeKnown::Allowlist.into(),
            FilterMode::Denylist => wire::FilterModeKnown::Denylist.into(),
            FilterMode::Unknown(other) => wire::FilterMode::Unknown(other.clone()),
        }
    }
}

impl From<&wire::FilterRuleType> for FilterRuleType {
    fn from(value: &wire::FilterRuleType) -> Self {
        match value {
            wire::FilterRuleType::Known(known) => Self::from(known.to_string().as_str()),
            wire::FilterRuleType::Unknown(other) => Self::from(other.as_str()),
        }
    }
}

impl From<&FilterRuleType> for wire::FilterRuleType {
    fn from(value: &FilterRuleType) -> Self {
        match value {
            FilterRuleType::Allow => wire::FilterRuleTypeKnown::Allow.into(),
            FilterRuleType::Deny => wire::FilterRuleTypeKnown::Deny.into(),
            FilterRuleType::Unknown(other) => wire::FilterRuleType::Unknown(other.clone()),
        }
    }
}

impl From<&wire::ApiErrorCode> for ErrorCode {
    fn from(value: &wire::ApiErrorCode) -> Self {
        Self::from(value.to_string().as_str())
    }
}

/// Ergonomic views of a [`Domain`](crate::Domain)'s server-sent enums.
///
/// (Named so they never collide with [`Response`](crate::Response)'s own
/// methods, which a `Response<Domain>` reaches first.)
///
/// ```
/// use sendmux_client::{Domain, DomainExt, VerificationStatus};
///
/// fn ready(domain: &Domain) -> bool {
///     domain.verification_status() == VerificationStatus::Verified
/// }
/// ```
pub trait DomainExt {
    /// How the domain is used.
    fn domain_mode(&self) -> DomainMode;
    /// Where the domain stands in verification.
    fn verification_status(&self) -> VerificationStatus;
}

impl DomainExt for wire::MailboxDomain {
    fn domain_mode(&self) -> DomainMode {
        DomainMode::from(&self.mode)
    }
    fn verification_status(&self) -> VerificationStatus {
        VerificationStatus::from(&self.verification_status)
    }
}

/// Ergonomic view of a [`VerifyResult`](crate::VerifyResult)'s status.
pub trait VerifyResultExt {
    /// The verification status after the checks.
    fn verification_status(&self) -> VerificationStatus;
}

impl VerifyResultExt for wire::MailboxDomainVerifyResult {
    fn verification_status(&self) -> VerificationStatus {
        VerificationStatus::from(&self.status)
    }
}

/// One problem with one field of a rejected request (`error.errors[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "ApiErrorDetail")]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct FilterRule {
    /// Whether a match lets the sender in or keeps it out.
    #[serde(rename = "type")]
    pub kind: FilterRuleType,
    /// Sender address or domain to match, e.g. `partner.com`.
    pub pattern: String,
    /// Free text for people, at most 255 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 255))]
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
            kind: FilterRuleType::from(&value.type_),
            pattern: value.pattern,
            note: value.note.map(String::from),
        }
    }
}

/// A domain's sender filter: a mode and its ordered rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct FilterState {
    /// Which senders get in.
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
            mode: FilterMode::from(&value.mode),
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
    fn converts_generated_enums() {
        let gen_status: wire::DomainVerificationStatus =
            serde_json::from_str("\"failed\"").unwrap();
        assert_eq!(
            VerificationStatus::from(&gen_status),
            VerificationStatus::Failed
        );
        let gen_mode = wire::DomainMode::from(&DomainMode::SendOnly);
        assert_eq!(serde_json::to_string(&gen_mode).unwrap(), "\"send_only\"");
        let rule: wire::FilterRule =
            serde_json::from_str(r#"{"type":"deny","pattern":"spam.example","note":null}"#)
                .unwrap();
        assert_eq!(FilterRule::from(rule), FilterRule::deny("spam.example"));
    }
}
