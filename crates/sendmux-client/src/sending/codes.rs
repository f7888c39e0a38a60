//! The error codes of the Sending API.

use std::fmt;

/// What went wrong with a call of the Sending API, or with one message of
/// a batch: the codes every API shares plus the Sending API's own, such as
/// `insufficient_credits` (`402`).
///
/// Open: a code newer than this crate is kept as `Unknown`. Read it from
/// an error with [`Error::sending_code`](crate::Error::sending_code).
///
/// ```
/// use sendmux_client::sending::SendingErrorCode;
///
/// assert_eq!(SendingErrorCode::from("insufficient_credits"), SendingErrorCode::InsufficientCredits);
/// assert_eq!(SendingErrorCode::from("brand_new").as_str(), "brand_new");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SendingErrorCode {
    /// `insufficient_credits` (`402`): the team's balance cannot pay for
    /// the send (for a batch, for the whole batch).
    InsufficientCredits,
    /// `invalid_parameter` (`400`).
    InvalidParameter,
    /// `missing_parameter` (`400`).
    MissingParameter,
    /// `authentication_required` (`401`): no key, a bad key, or an expired
    /// upload token.
    AuthenticationRequired,
    /// `insufficient_permissions` (`403`): the key may not send.
    InsufficientPermissions,
    /// `not_found` (`404`).
    NotFound,
    /// `conflict` (`409`).
    Conflict,
    /// `limit_exceeded` (`409`).
    LimitExceeded,
    /// `idempotency_conflict` (`409`): the key was used with another body,
    /// or its first request is still running.
    IdempotencyConflict,
    /// `payload_too_large` (`413`).
    PayloadTooLarge,
    /// `validation_error` (`422`): see the field errors.
    ValidationError,
    /// `rate_limit_exceeded` (`429`): also the free plan's daily limit.
    RateLimitExceeded,
    /// `service_unavailable` (`503`).
    ServiceUnavailable,
    /// `internal_error` (`500`).
    InternalError,
    /// A code newer than this crate, kept verbatim.
    Unknown(String),
}

impl SendingErrorCode {
    /// Every code this crate knows, in wire form.
    pub const KNOWN: &'static [&'static str] = &[
        "insufficient_credits",
        "invalid_parameter",
        "missing_parameter",
        "authentication_required",
        "insufficient_permissions",
        "not_found",
        "conflict",
        "limit_exceeded",
        "idempotency_conflict",
        "payload_too_large",
        "validation_error",
        "rate_limit_exceeded",
        "service_unavailable",
        "internal_error",
    ];

    /// The code in wire form.
    pub fn as_str(&self) -> &str {
        match self {
            Self::InsufficientCredits => "insufficient_credits",
            Self::InvalidParameter => "invalid_parameter",
            Self::MissingParameter => "missing_parameter",
            Self::AuthenticationRequired => "authentication_required",
            Self::InsufficientPermissions => "insufficient_permissions",
            Self::NotFound => "not_found",
            Self::Conflict => "conflict",
            Self::LimitExceeded => "limit_exceeded",
            Self::IdempotencyConflict => "idempotency_conflict",
            Self::PayloadTooLarge => "payload_too_large",
            Self::ValidationError => "validation_error",
            Self::RateLimitExceeded => "rate_limit_exceeded",
            Self::ServiceUnavailable => "service_unavailable",
            Self::InternalError => "internal_error",
            Self::Unknown(other) => other,
        }
    }

    /// Whether this crate does not know the code.
    pub fn is_unknown(&self) -> bool {
        matches!(self, Self::Unknown(_))
    }
}

impl From<&str> for SendingErrorCode {
    fn from(value: &str) -> Self {
        match value {
            "insufficient_credits" => Self::InsufficientCredits,
            "invalid_parameter" => Self::InvalidParameter,
            "missing_parameter" => Self::MissingParameter,
            "authentication_required" => Self::AuthenticationRequired,
            "insufficient_permissions" => Self::InsufficientPermissions,
            "not_found" => Self::NotFound,
            "conflict" => Self::Conflict,
            "limit_exceeded" => Self::LimitExceeded,
            "idempotency_conflict" => Self::IdempotencyConflict,
            "payload_too_large" => Self::PayloadTooLarge,
            "validation_error" => Self::ValidationError,
            "rate_limit_exceeded" => Self::RateLimitExceeded,
            "service_unavailable" => Self::ServiceUnavailable,
            "internal_error" => Self::InternalError,
            other => Self::Unknown(other.to_owned()),
        }
    }
}

impl std::str::FromStr for SendingErrorCode {
    type Err = std::convert::Infallible;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Ok(Self::from(value))
    }
}

impl fmt::Display for SendingErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_code_round_trips() {
        for known in SendingErrorCode::KNOWN {
            let code = SendingErrorCode::from(*known);
            assert!(!code.is_unknown(), "{known}");
            assert_eq!(code.as_str(), *known);
        }
        assert!(SendingErrorCode::from("quota_gone").is_unknown());
    }
}
