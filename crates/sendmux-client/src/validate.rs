//! Client-side checks run before any network I/O.

use crate::error::InvalidInput;
use crate::models::FilterRule;

/// Largest page the list endpoints serve.
pub(crate) const MAX_LIMIT: u32 = 100;
/// Most rules a filter may hold.
pub(crate) const MAX_FILTER_RULES: usize = 1000;
/// Longest filter rule note.
const MAX_NOTE_CHARS: usize = 255;

/// A domain name as the API wants it: lowercase, fully qualified, bare.
pub(crate) fn domain_name(value: &str) -> Result<(), InvalidInput> {
    let fail = |problem: String, fix: &str| Err(InvalidInput::new("domain", problem, fix));
    let bare = "pass only the host name, e.g. `mail.acme.com`";
    if value.is_empty() {
        return fail("is empty".into(), bare);
    }
    if value.chars().any(char::is_whitespace) {
        return fail(
            format!("{value:?} contains whitespace"),
            "remove the spaces",
        );
    }
    if value.contains("://") {
        return fail(format!("{value:?} has a URL scheme"), bare);
    }
    if value.contains(['/', '?', '#']) {
        return fail(format!("{value:?} has a path, query or fragment"), bare);
    }
    if value.contains(':') {
        return fail(format!("{value:?} has a port"), bare);
    }
    if value.contains('@') {
        return fail(
            format!("{value:?} looks like an email address"),
            "pass the part after `@`",
        );
    }
    if value.chars().any(|c| c.is_uppercase()) {
        return fail(
            format!("{value:?} has uppercase letters"),
            "write the domain in lowercase",
        );
    }
    if value.len() > 253 {
        return fail(
            format!("is {} characters long", value.len()),
            "use a domain of at most 253 characters",
        );
    }
    let labels: Vec<&str> = value.split('.').collect();
    if labels.iter().any(|l| l.is_empty()) {
        return fail(
            format!("{value:?} has an empty label (`..`, or a leading or trailing dot)"),
            "remove the extra dots",
        );
    }
    if labels.len() < 2 {
        return fail(
            format!("{value:?} is not fully qualified"),
            "include the top-level domain, e.g. `acme.com`",
        );
    }
    for label in &labels {
        if label.len() > 63 {
            return fail(
                format!("label {label:?} is {} characters long", label.len()),
                "keep each dot-separated label at most 63 characters",
            );
        }
        if let Some(bad) = label
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '_'))
        {
            return fail(
                format!("label {label:?} contains {bad:?}"),
                "use letters, digits and hyphens (IDNs in punycode, `xn--...`)",
            );
        }
        if label.starts_with('-') || label.ends_with('-') {
            return fail(
                format!("label {label:?} starts or ends with a hyphen"),
                "remove the leading or trailing hyphen",
            );
        }
    }
    Ok(())
}

/// A public id used as one path segment.
pub(crate) fn resource_id(field: &'static str, value: &str) -> Result<(), InvalidInput> {
    let fix = "pass the id exactly as the API returned it, e.g. `mdom_...`";
    if value.is_empty() {
        return Err(InvalidInput::new(field, "is empty", fix));
    }
    if value.contains('/') {
        return Err(InvalidInput::new(
            field,
            format!("{value:?} contains `/`"),
            fix,
        ));
    }
    // ASCII ids (all real ones) are checked byte by byte; anything else
    // goes through the Unicode classes.
    let bad = if value.is_ascii() {
        value
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
    } else {
        value.chars().any(|c| c.is_whitespace() || c.is_control())
    };
    if bad {
        return Err(InvalidInput::new(
            field,
            format!("{value:?} contains whitespace or control characters"),
            fix,
        ));
    }
    Ok(())
}

/// A page size.
pub(crate) fn limit(value: u32) -> Result<(), InvalidInput> {
    if (1..=MAX_LIMIT).contains(&value) {
        Ok(())
    } else {
        Err(InvalidInput::new(
            "limit",
            format!("is {value}"),
            format!("use a page size from 1 to {MAX_LIMIT}"),
        ))
    }
}

/// An ETag passed back in `If-Match` / `If-None-Match`.
pub(crate) fn etag(field: &'static str, value: &str) -> Result<(), InvalidInput> {
    if value.is_empty() || !value.bytes().all(|b| b == b' ' || b.is_ascii_graphic()) {
        return Err(InvalidInput::new(
            field,
            "is empty or not printable ASCII",
            "pass the `ETag` header of an earlier response unchanged",
        ));
    }
    Ok(())
}

/// A value for a generated body type whose constraints (such as lengths)
/// come from the API description: the conversion is the check.
pub(crate) fn wire<T>(field: &'static str, value: impl Into<String>) -> Result<T, InvalidInput>
where
    T: TryFrom<String>,
    T::Error: std::fmt::Display,
{
    T::try_from(value.into()).map_err(|e| {
        InvalidInput::new(
            field,
            format!("is {e}"),
            "keep it within the documented length",
        )
    })
}

/// A string of `min..=max` characters, counted without echoing it (used
/// for secrets).
pub(crate) fn length(
    field: &'static str,
    value: &str,
    min: usize,
    max: usize,
) -> Result<(), InvalidInput> {
    let n = value.chars().count();
    if (min..=max).contains(&n) {
        return Ok(());
    }
    Err(InvalidInput::new(
        field,
        format!("is {n} characters long"),
        format!("use {min} to {max} characters"),
    ))
}

/// A number within the documented `min..=max`.
pub(crate) fn in_range<N>(field: &'static str, value: N, min: N, max: N) -> Result<(), InvalidInput>
where
    N: PartialOrd + std::fmt::Display + Copy,
{
    if value >= min && value <= max {
        return Ok(());
    }
    Err(InvalidInput::new(
        field,
        format!("is {value}"),
        format!("use a value from {min} to {max}"),
    ))
}

/// One of a documented set of values.
pub(crate) fn one_of(field: &'static str, value: u64, allowed: &[u64]) -> Result<(), InvalidInput> {
    if allowed.contains(&value) {
        return Ok(());
    }
    let listed: Vec<String> = allowed.iter().map(u64::to_string).collect();
    Err(InvalidInput::new(
        field,
        format!("is {value}"),
        format!("use one of {}", listed.join(", ")),
    ))
}

/// An email address: `local@domain.tld`, no whitespace, at most 254
/// characters.
pub(crate) fn email(field: &'static str, value: &str) -> Result<(), InvalidInput> {
    let fix = "pass an address such as `agent@mail.acme.com`";
    let shaped = value.rsplit_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
    });
    if !shaped || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(InvalidInput::new(
            field,
            format!("{value:?} is not an email address"),
            fix,
        ));
    }
    length(field, value, 5, 254)
}

/// An absolute `http(s)` URL with a host (a webhook endpoint).
pub(crate) fn http_url(field: &'static str, value: &str) -> Result<(), InvalidInput> {
    let fine = reqwest::Url::parse(value)
        .is_ok_and(|url| matches!(url.scheme(), "http" | "https") && url.host_str().is_some());
    if fine {
        return Ok(());
    }
    Err(InvalidInput::new(
        field,
        format!(
            "{:?} is not an absolute http(s) URL",
            crate::client::redact_userinfo(value)
        ),
        "pass the full endpoint, e.g. `https://hooks.acme.com/sendmux`",
    ))
}

/// A list (or the bytes of a string) that must not be empty.
pub(crate) fn not_empty<T>(field: &'static str, items: &[T]) -> Result<(), InvalidInput> {
    if items.is_empty() {
        return Err(InvalidInput::new(
            field,
            "is empty",
            "pass a value, or leave it out",
        ));
    }
    Ok(())
}

/// A full filter rule list.
pub(crate) fn filter_rules(rules: &[FilterRule]) -> Result<(), InvalidInput> {
    if rules.len() > MAX_FILTER_RULES {
        return Err(InvalidInput::new(
            "rules",
            format!("has {} rules", rules.len()),
            format!("keep at most {MAX_FILTER_RULES} rules (e.g. match whole domains)"),
        ));
    }
    for (i, rule) in rules.iter().enumerate() {
        if rule.pattern.trim().is_empty() {
            return Err(InvalidInput::new(
                format!("rules[{i}].pattern"),
                "is empty",
                "pass a sender address or domain, e.g. `partner.com`",
            ));
        }
        if let Some(note) = &rule.note {
            let n = note.chars().count();
            if n > MAX_NOTE_CHARS {
                return Err(InvalidInput::new(
                    format!("rules[{i}].note"),
                    format!("is {n} characters long"),
                    format!("keep notes at most {MAX_NOTE_CHARS} characters"),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, clippy::unwrap_used)]
    use super::*;

    #[test]
    fn domains() {
        for ok in [
            "mail.acme.com",
            "acme.com",
            "a-b.c_d.example",
            "xn--bcher-kva.example",
        ] {
            assert!(domain_name(ok).is_ok(), "{ok}");
        }
        let long_label = format!("{}.com", "a".repeat(64));
        let long_name = format!("{}com", "abcdefghi.".repeat(26));
        for bad in [
            "",
            " acme.com",
            "https://acme.com",
            "acme.com/x",
            "acme.com:25",
            "Acme.com",
            "acme",
            "acme..com",
            ".acme.com",
            "acme.com.",
            "-acme.com",
            "me@acme.com",
            "acme.com?",
            "ac me.com",
            long_label.as_str(),
            long_name.as_str(),
            "ac!me.com",
        ] {
            let err = domain_name(bad).expect_err(bad);
            assert_eq!(err.field, "domain");
            assert!(!err.fix.is_empty());
        }
    }

    #[test]
    fn ids_limits_rules() {
        assert!(resource_id("id", "mdom_1").is_ok());
        assert!(resource_id("id", "").is_err());
        assert!(resource_id("id", "a/b").is_err());
        assert!(limit(0).is_err() && limit(101).is_err() && limit(1).is_ok() && limit(100).is_ok());
        let rules = vec![FilterRule::allow("a.com"); 1001];
        assert_eq!(
            filter_rules(&rules).map_err(|e| e.field),
            Err("rules".into())
        );
        assert!(filter_rules(&rules[..1000]).is_ok());
        let bad_note = [FilterRule::allow("a.com").with_note("x".repeat(256))];
        assert_eq!(
            filter_rules(&bad_note).map_err(|e| e.field),
            Err("rules[0].note".into())
        );
    }

    #[test]
    fn emails_urls_ranges() {
        for ok in ["agent@mail.acme.com", "a.b+c@x.io"] {
            assert!(email("email", ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "agent",
            "@acme.com",
            "agent@acme",
            "a b@acme.com",
            "agent@acme.com.",
        ] {
            assert!(email("email", bad).is_err(), "{bad}");
        }
        assert!(http_url("url", "https://hooks.acme.com/x").is_ok());
        assert!(http_url("url", "http://127.0.0.1:9000/x").is_ok());
        for bad in [
            "hooks.acme.com/x",
            "ftp://acme.com",
            "https://",
            "/relative",
        ] {
            assert!(http_url("url", bad).is_err(), "{bad}");
        }
        let err = http_url("url", "mailto:me:pw@x").unwrap_err();
        assert_eq!(err.field, "url");
        assert!(
            in_range("port", 0u16, 1, u16::MAX).is_err()
                && in_range("port", 587u16, 1, u16::MAX).is_ok()
        );
        assert!(in_range("percentage", 101u8, 0, 100).is_err());
        assert!(
            one_of("quota_bytes", 5, &[1, 5]).is_ok() && one_of("quota_bytes", 2, &[1, 5]).is_err()
        );
        assert!(length("smtp_password", "", 1, 500).is_err());
        assert!(
            !length("smtp_password", &"p".repeat(501), 1, 500)
                .unwrap_err()
                .to_string()
                .contains("ppp")
        );
        let name: Result<sendmux_api::types::CreateMailboxKeyBodyAppName, _> = wire("app_name", "");
        assert_eq!(name.unwrap_err().field, "app_name");
        assert!(not_empty::<u8>("event_types", &[]).is_err());
    }
}
