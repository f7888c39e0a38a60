//! Points in time arrive typed: the spellings servers drift into decode,
//! and a value that is no time at all is a typed error naming it.

use httpmock::prelude::*;
use sendmux_client::{Error, Timestamp};

use crate::support::*;

fn at(text: &str) -> Timestamp {
    text.parse()
        .unwrap_or_else(|e| panic!("{text:?} should parse: {e}"))
}

#[tokio::test]
async fn timestamps_decode_into_chrono_values_whatever_the_spelling() {
    let server = MockServer::start_async().await;
    let mut body = domain("mdom_1", "mail.acme.com", "verified");
    body["created_at"] = "2026-11-01 11:00:00.5+01:00".into();
    body["verified_at"] = "2026-11-02T10:00:00".into();
    server
        .mock_async(|when, then| {
            when.method(GET).path("/domains/mdom_1");
            then.status(200).json_body(ok(body, "req_1"));
        })
        .await;
    let (client, _clock) = client(&server);
    let domain = client.domains().get("mdom_1").await.unwrap().into_inner();
    assert_eq!(domain.created_at, at("2026-11-01T10:00:00.500Z"));
    assert_eq!(domain.created_at.to_string(), "2026-11-01T10:00:00.500Z");
    assert_eq!(domain.verified_at, Some(at("2026-11-02T10:00:00Z")));
    // chrono's API through Deref: ordering and arithmetic just work.
    let verified = domain.verified_at.unwrap();
    assert!(*verified > *domain.created_at);
    assert_eq!(
        (*verified - *domain.created_at).num_seconds(),
        86_399,
        "one day less half a second, rounded down"
    );
}

#[tokio::test]
async fn a_value_that_is_no_time_is_an_undecodable_error_naming_it() {
    let server = MockServer::start_async().await;
    let mut body = domain("mdom_1", "mail.acme.com", "verified");
    body["created_at"] = "last tuesday".into();
    server
        .mock_async(|when, then| {
            when.method(GET).path("/domains/mdom_1");
            then.status(200).json_body(ok(body, "req_1"));
        })
        .await;
    let (client, _clock) = client(&server);
    let error = client.domains().get("mdom_1").await.unwrap_err();
    assert!(matches!(error, Error::Undecodable { .. }), "{error:?}");
    let text = error.to_string();
    assert!(text.contains("not a date-time: \"last tuesday\""), "{text}");
}
