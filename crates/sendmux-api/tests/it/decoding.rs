//! Server enums decode through a string visitor: known values become
//! their own variants, new ones `Unknown(..)` with the text kept, whether the JSON
//! string can be borrowed or had to be unescaped; anything but a string is
//! an error. Serialization writes the same strings back.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use sendmux_api::types::{
    ApiErrorCode, DomainMode, DomainVerificationStatus, FilterMode, FilterRuleType,
};

#[test]
fn known_values_decode_as_known() {
    let mode: DomainMode = serde_json::from_str(r#""send_only""#).unwrap();
    assert_eq!(mode, DomainMode::SendOnly);
    let status: DomainVerificationStatus = serde_json::from_str(r#""verified""#).unwrap();
    assert_eq!(status, DomainVerificationStatus::Verified);
    let filter: FilterMode = serde_json::from_str(r#""allowlist""#).unwrap();
    assert_eq!(filter, FilterMode::Allowlist);
    let rule: FilterRuleType = serde_json::from_str(r#""allow""#).unwrap();
    assert_eq!(rule, FilterRuleType::Allow);
    let code: ApiErrorCode = serde_json::from_str(r#""not_found""#).unwrap();
    assert_eq!(code, ApiErrorCode::NotFound);
}

#[test]
fn escaped_strings_decode_like_plain_ones() {
    // `\u005f` is `_`: serde_json hands the visitor an unescaped copy.
    let mode: DomainMode = serde_json::from_str(r#""send\u005fonly""#).unwrap();
    assert_eq!(mode, DomainMode::SendOnly);
    let mode: DomainMode = serde_json::from_str(r#""send\u005fsomewhere""#).unwrap();
    assert_eq!(mode, DomainMode::Unknown("send_somewhere".into()));
    // From an owned value (no borrowing possible at all).
    let mode: DomainMode = serde_json::from_value(serde_json::json!("send_receive")).unwrap();
    assert_eq!(mode, DomainMode::SendReceive);
}

#[test]
fn new_values_are_kept_and_round_trip() {
    let mode: DomainMode = serde_json::from_str(r#""receive_only""#).unwrap();
    assert_eq!(mode, DomainMode::Unknown("receive_only".into()));
    assert_eq!(serde_json::to_string(&mode).unwrap(), r#""receive_only""#);
    let known = DomainMode::SendOnly;
    assert_eq!(serde_json::to_string(&known).unwrap(), r#""send_only""#);
    // Case matters: the API's values are lowercase.
    let upper: DomainMode = serde_json::from_str(r#""SEND_ONLY""#).unwrap();
    assert_eq!(upper, DomainMode::Unknown("SEND_ONLY".into()));
}

#[test]
fn non_strings_are_errors() {
    for json in [
        "42",
        "null",
        "true",
        r#"{"send_only": null}"#,
        r#"["send_only"]"#,
    ] {
        let error = serde_json::from_str::<DomainMode>(json).unwrap_err();
        assert!(
            error.to_string().contains("a DomainMode string"),
            "{json}: {error}"
        );
    }
}
