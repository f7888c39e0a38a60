//! Sender filters, shared by domains and mailboxes: a mode, an ordered
//! rule list, the checks the schema cannot express, and a version that
//! feeds the filter set's own ETag.

use sendmux_operations::Operation;
use serde::{Deserialize, Serialize};

use super::domains::check_domain_name;
use crate::api::{ApiError, FieldError};
use crate::collection::Rendered;
use crate::validate::schema_error;

/// Most filter rules one owner may hold.
const MAX_RULES: usize = 1000;

/// Filter mode: `off`, `allowlist`, `denylist`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum FilterMode {
    Off,
    Allowlist,
    Denylist,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RuleType {
    Allow,
    Deny,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FilterRule {
    #[serde(rename = "type")]
    pub(crate) kind: RuleType,
    pub(crate) pattern: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) note: Option<String>,
}

/// A mode and its rules, as on the wire (`FilterState`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FilterState {
    pub(crate) mode: FilterMode,
    pub(crate) rules: Vec<FilterRule>,
}

impl FilterState {
    /// Rules the schema cannot express (patterns, note length). The schema
    /// caps the rule count too; checked again so the handler stays safe
    /// whatever document it runs with.
    pub(crate) fn check(&self, op: &Operation) -> Result<(), ApiError> {
        if self.rules.len() > MAX_RULES {
            return Err(ApiError::validation_error(format!(
                "at most {MAX_RULES} rules are allowed, got {}",
                self.rules.len()
            ))
            .with_param("rules"));
        }
        let mut errors = Vec::new();
        for (i, rule) in self.rules.iter().enumerate() {
            if let Err(why) = check_pattern(&rule.pattern) {
                errors.push(FieldError {
                    field: format!("rules.{i}.pattern"),
                    code: "invalid_string".to_owned(),
                    message: format!("pattern {why}"),
                });
            }
            if rule.note.as_ref().is_some_and(|n| n.chars().count() > 255) {
                errors.push(FieldError {
                    field: format!("rules.{i}.note"),
                    code: "too_big".to_owned(),
                    message: "note must be at most 255 characters".to_owned(),
                });
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(schema_error(op, errors))
        }
    }
}

/// One owner's filters with the version their ETag derives from.
#[derive(Debug, Clone)]
pub(crate) struct Filters {
    state: FilterState,
    /// Bumped when the state changes.
    version: u64,
}

impl Default for Filters {
    /// `off` with no rules, the state every new owner starts with.
    fn default() -> Self {
        Self {
            state: FilterState {
                mode: FilterMode::Off,
                rules: Vec::new(),
            },
            version: 1,
        }
    }
}

impl Filters {
    /// The filters of owner `id` as JSON with their own ETag.
    pub(crate) fn rendered(&self, seed: u64, id: &str) -> Rendered {
        Rendered::versioned(seed, "filters", id, self.version, &self.state)
    }

    /// Replaces the state; an identical one is not a change.
    pub(crate) fn set(&mut self, state: FilterState) {
        if self.state != state {
            self.state = state;
            self.version += 1;
        }
    }
}

/// A filter pattern is an address (`user@host`), `@host`, a host, or
/// `*.host`.
pub(crate) fn check_pattern(pattern: &str) -> Result<(), &'static str> {
    let p = pattern.trim();
    if p.is_empty() || p != pattern {
        return Err("must be a non-empty sender address or domain without spaces");
    }
    if p.len() > 320
        || p.bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
    {
        return Err("must be a sender address or domain without spaces");
    }
    let host = match p.rsplit_once('@') {
        Some((local, host)) => {
            if local.contains('@') {
                return Err("must contain at most one @");
            }
            host
        }
        None => p.strip_prefix("*.").unwrap_or(p),
    };
    let lower = host.to_ascii_lowercase();
    check_domain_name(&lower).map_err(|_| "must name a valid sender domain")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        for ok in [
            "partner.com",
            "a@partner.com",
            "@partner.com",
            "*.partner.com",
        ] {
            assert!(check_pattern(ok).is_ok(), "{ok}");
        }
        for bad in ["", " partner.com", "a b.com", "a@@b.com", "nodot", "*."] {
            assert!(check_pattern(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_change_moves_the_etag_and_an_identical_set_does_not() {
        let mut f = Filters::default();
        let first = f.rendered(1, "mdom_x");
        assert_eq!(&first.json[..], br#"{"mode":"off","rules":[]}"#);
        f.set(FilterState {
            mode: FilterMode::Off,
            rules: Vec::new(),
        });
        assert_eq!(f.rendered(1, "mdom_x").etag, first.etag);
        f.set(FilterState {
            mode: FilterMode::Denylist,
            rules: Vec::new(),
        });
        assert_ne!(f.rendered(1, "mdom_x").etag, first.etag);
        assert_ne!(
            Filters::default().rendered(1, "mbx_y").etag,
            first.etag,
            "each owner has its own tags"
        );
    }
}
