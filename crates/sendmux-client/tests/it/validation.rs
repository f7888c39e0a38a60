//! Every invalid input class is rejected before any request is made.

use httpmock::prelude::*;
use sendmux_client::{Error, FilterMode, FilterRule, FilterState};

use crate::support::*;

fn field(result: Result<impl std::fmt::Debug, Error>) -> String {
    let err = result.expect_err("expected a validation error");
    assert!(err.is_not_sent(), "{err:?}");
    assert_eq!(err.attempts(), 0);
    let input = err
        .as_invalid_input()
        .unwrap_or_else(|| panic!("not InvalidInput: {err:?}"));
    assert!(!input.fix.is_empty() && !input.problem.is_empty());
    assert!(err.to_string().contains(&input.field), "{err}");
    input.field.clone()
}

#[tokio::test]
async fn invalid_inputs_never_reach_the_network() {
    let server = MockServer::start_async().await;
    let anything = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(500);
        })
        .await;
    let (client, _clock) = client(&server);
    let d = client.domains();

    let long_label = format!("{}.com", "a".repeat(64));
    let long_name = format!("{}.com", ["abcdefghij"; 24].join("."));
    for bad in [
        "",
        "https://mail.acme.com",
        "mail.acme.com/path",
        "mail.acme.com:587",
        " mail.acme.com",
        "mail acme.com",
        "mail..acme.com",
        ".acme.com",
        "Mail.Acme.com",
        "localhost",
        long_label.as_str(),
        long_name.as_str(),
    ] {
        assert_eq!(field(d.create(bad).await), "domain", "{bad:?}");
    }

    for bad_key in [
        String::new(),
        "k".repeat(256),
        "has space".into(),
        "caf\u{e9}".into(),
        "tab\tkey".into(),
    ] {
        assert_eq!(
            field(d.create("mail.acme.com").idempotency_key(bad_key).await),
            "idempotency_key"
        );
    }

    for bad_id in ["", "mdom_1/verify", "../x/y"] {
        assert_eq!(field(d.get(bad_id).await), "id");
        assert_eq!(field(d.get_if_changed(bad_id, "W/\"x\"").await), "id");
        assert_eq!(field(d.upgrade(bad_id).await), "id");
        assert_eq!(field(d.delete(bad_id).await), "id");
        assert_eq!(field(d.verify(bad_id).await), "id");
        assert_eq!(field(d.zone_file(bad_id).await), "id");
        assert_eq!(field(d.filters(bad_id).await), "id");
        assert_eq!(field(d.filters_if_changed(bad_id, "W/\"x\"").await), "id");
        assert_eq!(
            field(
                d.set_filters(bad_id, FilterState::new(FilterMode::Off, []))
                    .await
            ),
            "id"
        );
        assert_eq!(
            field(
                d.wait_until_verified(
                    bad_id,
                    std::time::Duration::from_secs(1),
                    std::time::Duration::from_secs(1)
                )
                .await
            ),
            "id"
        );
    }

    for bad_limit in [0, 101, u32::MAX] {
        assert_eq!(field(d.list().limit(bad_limit).await), "limit");
        let mut stream = d.list().limit(bad_limit).stream();
        let first = futures::StreamExt::next(&mut stream).await.unwrap();
        assert_eq!(field(first), "limit");
        assert!(futures::StreamExt::next(&mut stream).await.is_none());
    }
    assert_eq!(field(d.list().cursor("").await), "cursor");

    let too_many = FilterState::new(
        FilterMode::Allowlist,
        vec![FilterRule::allow("a.com"); 1001],
    );
    assert_eq!(field(d.set_filters("mdom_1", too_many).await), "rules");
    let empty_pattern = FilterState::new(FilterMode::Allowlist, [FilterRule::allow(" ")]);
    assert_eq!(
        field(d.set_filters("mdom_1", empty_pattern).await),
        "rules[0].pattern"
    );
    let long_note = FilterState::new(
        FilterMode::Allowlist,
        [FilterRule::allow("a.com").with_note("n".repeat(256))],
    );
    assert_eq!(
        field(d.set_filters("mdom_1", long_note).await),
        "rules[0].note"
    );

    assert_eq!(field(d.get_if_changed("mdom_1", "").await), "etag");
    assert_eq!(
        field(d.upgrade("mdom_1").if_match("bad\netag").await),
        "if_match"
    );

    anything.assert_calls_async(0).await;
}

#[tokio::test]
async fn limits_at_the_edges_are_accepted() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET).path("/domains");
            then.status(200)
                .json_body(serde_json::json!({"ok": true, "data": [], "pagination": {"has_more": false}, "meta": {"request_id": "r"}}));
        })
        .await;
    let (client, _clock) = client(&server);
    client.domains().list().limit(1).await.unwrap();
    client.domains().list().limit(100).await.unwrap();
    let max_rules = FilterState::new(
        FilterMode::Allowlist,
        vec![FilterRule::allow("a.com"); 1000],
    );
    assert!(!matches!(
        client.domains().set_filters("mdom_1", max_rules).await,
        Err(Error::InvalidInput(_))
    ));
    mock.assert_calls_async(2).await;
}
