//! Idempotency keys and the policy that creates them.

use std::fmt;

use crate::error::InvalidInput;

/// A validated `Idempotency-Key`: 1 to 255 visible ASCII characters.
///
/// The server replays the first response for a repeated key (same body), so
/// one key must stand for one logical operation.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Prefix of every key this crate generates, so they are recognisable in
    /// server logs.
    pub const AUTO_PREFIX: &'static str = "sendmux-rust-";

    /// Validates a caller-chosen key.
    pub fn new(value: impl Into<String>) -> Result<Self, InvalidInput> {
        let value = value.into();
        let fix =
            "use 1 to 255 visible ASCII characters (letters, digits, `-`, `_`, ...), no spaces";
        if value.is_empty() {
            return Err(InvalidInput::new("idempotency_key", "is empty", fix));
        }
        if value.len() > 255 {
            return Err(InvalidInput::new(
                "idempotency_key",
                format!("is {} characters long", value.len()),
                fix,
            ));
        }
        if let Some(bad) = value.chars().find(|c| !c.is_ascii_graphic()) {
            return Err(InvalidInput::new(
                "idempotency_key",
                format!("contains {bad:?}"),
                fix,
            ));
        }
        Ok(Self(value))
    }

    /// A fresh key: [`Self::AUTO_PREFIX`] followed by a random UUID v4.
    pub fn generate() -> Self {
        Self(format!("{}{}", Self::AUTO_PREFIX, uuid::Uuid::new_v4()))
    }

    /// Whether this key was made by [`IdempotencyKey::generate`].
    pub fn is_generated(&self) -> bool {
        self.0
            .strip_prefix(Self::AUTO_PREFIX)
            .and_then(|rest| uuid::Uuid::parse_str(rest).ok())
            .is_some_and(|u| u.get_version_num() == 4)
    }

    /// The key as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdempotencyKey({:?})", self.0)
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<&str> for IdempotencyKey {
    type Error = InvalidInput;
    fn try_from(value: &str) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl TryFrom<String> for IdempotencyKey {
    type Error = InvalidInput;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

/// When the client adds an `Idempotency-Key` on its own.
///
/// Applies to operations whose API description declares the header (today:
/// creating a domain). The key is made once per logical call, before the
/// first attempt, and sent unchanged on every retry, so a retry after a lost
/// response cannot create a second resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum IdempotencyPolicy {
    /// Generate a key whenever the caller gives none (default).
    #[default]
    Automatic,
    /// Send a key only when the caller gives one. Without a key, a create
    /// whose outcome is unknown (timeout, lost connection) is not retried.
    CallerOnly,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn keys() {
        let a = IdempotencyKey::generate();
        assert!(a.is_generated());
        assert_ne!(a, IdempotencyKey::generate());
        assert!(!IdempotencyKey::new("mine-1").unwrap().is_generated());
        assert!(IdempotencyKey::new("x".repeat(255)).is_ok());
        for bad in [
            String::new(),
            "x".repeat(256),
            "a b".into(),
            "caf\u{e9}".into(),
            "a\tb".into(),
        ] {
            assert_eq!(
                IdempotencyKey::new(bad).unwrap_err().field,
                "idempotency_key"
            );
        }
    }
}
