//! The Mailboxes resource: every operation's request, its typed answer,
//! validation before I/O, and the mailbox key that must never be printed.

use futures::TryStreamExt;
use httpmock::prelude::*;
use sendmux_client::mailboxes::QUOTA_TIERS;
use sendmux_client::{Conditional, FilterMode, FilterRule, FilterState, SendScope};
use serde_json::json;

use crate::fixtures::*;

#[tokio::test]
async fn create_sends_the_body_with_an_idempotency_key_and_decodes_the_credential() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/mailboxes")
                .header_exists("idempotency-key")
                .json_body(json!({
                    "email": "agent@mail.acme.com",
                    "display_name": "Agent",
                    "quota_bytes": 5_368_709_120_u64,
                    "send_scope": {"type": "providers", "provider_public_ids": ["dprov_1"]}
                }));
            let data =
                json!({"mailbox": mailbox("mbx_1"), "credential": credential(), "warning": null});
            reply(then, 201, data);
        })
        .await;
    let client = client(&server);
    let created = client
        .mailboxes()
        .create("agent@mail.acme.com")
        .display_name("Agent")
        .quota_bytes(QUOTA_TIERS[1])
        .send_scope(SendScope::Providers(vec!["dprov_1".into()]))
        .await
        .unwrap();
    mock.assert_async().await;
    assert_eq!(created.status(), 201);
    assert_eq!(created.mailbox.id, "mbx_1");
    assert_eq!(created.warning, None);
    let credential = created.credential.as_ref().unwrap();
    assert_eq!(credential.secret.expose_secret(), MAILBOX_KEY);
    assert_eq!((credential.imap_port, credential.smtp_port), (993, 465));
    assert_eq!(credential.public_id, "mkey_1");
}

#[tokio::test]
async fn a_create_without_a_key_carries_the_warning() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/mailboxes");
            let data =
                json!({"mailbox": mailbox("mbx_1"), "credential": null, "warning": "issue a key"});
            reply(then, 201, data);
        })
        .await;
    let created = client(&server)
        .mailboxes()
        .create("agent@mail.acme.com")
        .await
        .unwrap();
    assert!(created.credential.is_none());
    assert_eq!(created.warning.as_deref(), Some("issue a key"));
}

#[tokio::test]
async fn list_pages_and_the_stream_follows_cursors() {
    let server = MockServer::start_async().await;
    let first = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/mailboxes")
                .query_param("include_deleted", "true")
                .query_param("limit", "2")
                .query_param_missing("cursor");
            reply_page(then, vec![mailbox("mbx_3"), mailbox("mbx_2")], Some("c2"));
        })
        .await;
    let second = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/mailboxes")
                .query_param("cursor", "c2");
            reply_page(then, vec![mailbox("mbx_1")], None);
        })
        .await;
    let mailboxes = client(&server).mailboxes();
    let page = mailboxes.list().include_deleted().limit(2).await.unwrap();
    assert_eq!(
        (page.items.len(), page.next_cursor.as_deref()),
        (2, Some("c2"))
    );
    let all: Vec<_> = mailboxes
        .list()
        .include_deleted()
        .limit(2)
        .stream()
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<_> = all.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["mbx_3", "mbx_2", "mbx_1"]);
    first.assert_calls_async(2).await;
    second.assert_calls_async(1).await;
}

#[tokio::test]
async fn get_if_changed_and_update_with_if_match() {
    let server = MockServer::start_async().await;
    let (get, unchanged) = conditional_read(&server, "/mailboxes/mbx_1", mailbox("mbx_1")).await;
    let update = server
        .mock_async(|when, then| {
            when.method(PATCH)
                .path("/mailboxes/mbx_1")
                .header("if-match", ETAG)
                .header_missing("idempotency-key")
                .json_body(json!({
                    "display_name": null,
                    "quota_bytes": 53_687_091_200_u64,
                    "send_scope": {"type": "all"}
                }));
            reply(then, 200, mailbox("mbx_1"));
        })
        .await;
    let mailboxes = client(&server).mailboxes();
    let current = mailboxes.get("mbx_1").await.unwrap();
    assert_eq!(current.etag(), Some(ETAG));
    assert_eq!(current.email, "agent@mail.acme.com");
    let again = mailboxes
        .get_if_changed("mbx_1", current.etag().unwrap())
        .await
        .unwrap();
    assert!(matches!(again, Conditional::NotModified(_)));
    let updated = mailboxes
        .update("mbx_1")
        .display_name("Old")
        .clear_display_name()
        .quota_bytes(QUOTA_TIERS[2])
        .send_scope(SendScope::All)
        .if_match(ETAG)
        .await
        .unwrap();
    assert_eq!(updated.id, "mbx_1");
    get.assert_calls_async(1).await;
    unchanged.assert_calls_async(1).await;
    update.assert_calls_async(1).await;
}

#[tokio::test]
async fn a_name_set_after_a_clear_is_sent() {
    let server = MockServer::start_async().await;
    let update = server
        .mock_async(|when, then| {
            when.method(PATCH)
                .path("/mailboxes/mbx_1")
                .header_missing("if-match")
                .json_body(json!({"display_name": "New"}));
            reply(then, 200, mailbox("mbx_1"));
        })
        .await;
    let mailboxes = client(&server).mailboxes();
    let request = mailboxes
        .update("mbx_1")
        .clear_display_name()
        .display_name("New");
    request.await.unwrap();
    update.assert_async().await;
}

#[tokio::test]
async fn delete_suspend_resume_availability_and_revoke() {
    let server = MockServer::start_async().await;
    let delete = server
        .mock_async(|when, then| {
            when.method(DELETE)
                .path("/mailboxes/mbx_1")
                .header_missing("idempotency-key");
            reply(then, 200, json!({"deleted": true, "id": "mbx_1"}));
        })
        .await;
    let suspend = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/mailboxes/mbx_1/suspend")
                .header_exists("idempotency-key");
            let mut suspended = mailbox("mbx_1");
            suspended["status"] = json!("suspended");
            reply(then, 200, suspended);
        })
        .await;
    let resume = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/mailboxes/mbx_1/resume")
                .header("idempotency-key", "resume-1");
            reply(then, 200, mailbox("mbx_1"));
        })
        .await;
    let availability = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/mailboxes/availability")
                .query_param("email", "new@mail.acme.com");
            let data = json!({"email": "new@mail.acme.com", "available": false, "reason": "taken"});
            reply(then, 200, data);
        })
        .await;
    let revoke = server
        .mock_async(|when, then| {
            when.method(DELETE).path("/mailboxes/mbx_1/keys/mkey_1");
            reply(then, 200, json!({"deleted": true, "id": "mkey_1"}));
        })
        .await;
    let mailboxes = client(&server).mailboxes();
    assert_eq!(mailboxes.delete("mbx_1").await.unwrap().id, "mbx_1");
    assert_eq!(
        mailboxes.suspend("mbx_1").await.unwrap().status,
        "suspended"
    );
    let resumed = mailboxes.resume("mbx_1").idempotency_key("resume-1");
    assert_eq!(resumed.await.unwrap().status, "active");
    let free = mailboxes
        .check_availability("new@mail.acme.com")
        .await
        .unwrap();
    assert!(!free.available);
    assert_eq!(free.reason.as_str(), "taken");
    assert!(
        mailboxes
            .revoke_key("mbx_1", "mkey_1")
            .await
            .unwrap()
            .deleted
    );
    for mock in [delete, suspend, resume, availability, revoke] {
        mock.assert_calls_async(1).await;
    }
}

#[tokio::test]
async fn create_key_returns_the_credential() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/mailboxes/mbx_1/keys")
                .header_exists("idempotency-key")
                .json_body(json!({"app_name": "ci runner"}));
            reply(then, 201, json!({"credential": credential()}));
        })
        .await;
    let credential = client(&server)
        .mailboxes()
        .create_key("mbx_1", "ci runner")
        .await
        .unwrap();
    mock.assert_async().await;
    assert_eq!(credential.secret.expose_secret(), MAILBOX_KEY);
    assert_eq!(credential.username, "agent@mail.acme.com");
}

#[tokio::test]
async fn filters_round_trip_with_etags() {
    let server = MockServer::start_async().await;
    let rules = json!([{"type": "allow", "pattern": "partner.com", "note": null}]);
    let (get, unchanged) = conditional_read(
        &server,
        "/mailboxes/mbx_1/filters",
        json!({"mode": "allowlist", "rules": rules}),
    )
    .await;
    let put = server
        .mock_async(|when, then| {
            when.method(PUT)
                .path("/mailboxes/mbx_1/filters")
                .header("if-match", ETAG)
                .json_body(json!({"mode": "denylist", "rules": [{"type": "deny", "pattern": "spam.example"}]}));
            let data = json!({"mode": "denylist", "rules": [{"type": "deny", "pattern": "spam.example", "note": null}]});
            reply(then, 200, data);
        })
        .await;
    let mailboxes = client(&server).mailboxes();
    let current = mailboxes.filters("mbx_1").await.unwrap();
    assert_eq!(current.rules, [FilterRule::allow("partner.com")]);
    let same = mailboxes.filters_if_changed("mbx_1", ETAG).await.unwrap();
    assert!(!same.is_modified());
    let state = FilterState::new(FilterMode::Denylist, [FilterRule::deny("spam.example")]);
    let saved = mailboxes
        .set_filters("mbx_1", state.clone())
        .if_match(ETAG)
        .await
        .unwrap();
    assert_eq!(*saved, state);
    for mock in [get, unchanged, put] {
        mock.assert_calls_async(1).await;
    }
}

#[tokio::test]
async fn invalid_arguments_never_reach_the_server() {
    let server = MockServer::start_async().await;
    let any = server
        .mock_async(|when, then| {
            when.path_includes("/mailboxes");
            reply(then, 200, mailbox("mbx_1"));
        })
        .await;
    let mailboxes = client(&server).mailboxes();
    let too_many = FilterState::new(
        FilterMode::Allowlist,
        vec![FilterRule::allow("a.com"); 1001],
    );
    let failures = [
        mailboxes.create("not-an-address").await.map(drop),
        mailboxes
            .create("agent@mail.acme.com")
            .quota_bytes(2 << 30)
            .await
            .map(drop),
        mailboxes
            .create("agent@mail.acme.com")
            .display_name("")
            .await
            .map(drop),
        mailboxes
            .create("agent@mail.acme.com")
            .send_scope(SendScope::Groups(vec![String::new()]))
            .await
            .map(drop),
        mailboxes.update("mbx_1").quota_bytes(0).await.map(drop),
        mailboxes
            .update("mbx_1")
            .display_name("x".repeat(255))
            .await
            .map(drop),
        mailboxes.update("").await.map(drop),
        mailboxes.get("mbx/1").await.map(drop),
        mailboxes.suspend(" ").await.map(drop),
        mailboxes.create_key("mbx_1", "").await.map(drop),
        mailboxes.revoke_key("mbx_1", "").await.map(drop),
        mailboxes.check_availability("").await.map(drop),
        mailboxes.set_filters("mbx_1", too_many).await.map(drop),
    ];
    let fields: Vec<String> = failures
        .into_iter()
        .map(|outcome| {
            outcome
                .unwrap_err()
                .as_invalid_input()
                .unwrap()
                .field
                .clone()
        })
        .collect();
    assert_eq!(
        fields,
        [
            "email",
            "quota_bytes",
            "display_name",
            "send_scope",
            "quota_bytes",
            "display_name",
            "id",
            "id",
            "id",
            "app_name",
            "key_id",
            "email",
            "rules"
        ]
    );
    any.assert_calls_async(0).await;
}

#[tokio::test]
async fn the_mailbox_key_is_never_printed() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/mailboxes");
            reply(
                then,
                201,
                json!({"mailbox": mailbox("mbx_1"), "credential": credential(), "warning": null}),
            );
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/mailboxes/mbx_1/keys");
            reply(then, 201, json!({"credential": credential()}));
        })
        .await;
    let mailboxes = client(&server).mailboxes();
    let create = mailboxes.create("agent@mail.acme.com");
    let create_key = mailboxes.create_key("mbx_1", "ci");
    let request_text = format!("{create:?} {create_key:?}");
    let created = create.await.unwrap();
    let key = create_key.await.unwrap();
    let secret = &key.secret;
    for text in [
        format!("{created:?}"),
        format!("{created:#?}"),
        format!("{:?}", created.credential),
        format!("{key:?} {secret} {secret:?}"),
        request_text,
    ] {
        assert!(!leaks(&text, &[MAILBOX_KEY]), "leaked: {text}");
    }
    assert!(format!("{key:?}").contains("<redacted>"));
    assert_eq!(key.secret.expose_secret(), MAILBOX_KEY);
}

#[tokio::test]
async fn an_undecodable_answer_with_a_key_keeps_the_key_out_of_the_error() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/mailboxes/mbx_1/keys");
            let mut broken = credential();
            broken["imap_port"] = json!("nine-nine-three");
            reply(then, 201, json!({"credential": broken}));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/mailboxes");
            reply(
                then,
                201,
                json!({"mailbox": mailbox("mbx_1"), "credential": credential(), "warning": null}),
            );
        })
        .await;
    let mailboxes = client(&server).mailboxes();
    let shape = mailboxes.create_key("mbx_1", "ci").await.unwrap_err();
    let too_large = mailboxes
        .create("agent@mail.acme.com")
        .max_response_bytes(400)
        .await
        .unwrap_err();
    for error in [shape, too_large] {
        assert_eq!(error.status(), Some(201));
        let text = format!("{error} {error:?} {:?}", std::error::Error::source(&error));
        assert!(!leaks(&text, &[MAILBOX_KEY, "S3CR3T"]), "leaked: {text}");
        assert!(text.contains("withheld"), "{text}");
    }
}
