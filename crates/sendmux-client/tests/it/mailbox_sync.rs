//! Mailbox sync: both shapes of `GET /mailbox/changes`, `changes_since`
//! following `has_more` across pages and types, `sync_required` as its
//! own outcome, the per-type feeds, and `query-changes`.

use httpmock::prelude::*;
use sendmux_client::Error;
use sendmux_client::mailbox::{
    AnyChanges, QueryState, ResourceType, State, States, SyncChanges, SyncOutcome,
};
use serde_json::{Value, json};

use crate::fixtures::{reply, reply_error};
use crate::mailbox::{MBX_BEARER, mailbox};

fn page(
    old: Option<&str>,
    new: &str,
    has_more: bool,
    created: &[&str],
    updated: &[&str],
    destroyed: &[&str],
) -> Value {
    json!({
        "old_state": old, "new_state": new, "has_more": has_more,
        "created": created, "updated": updated, "destroyed": destroyed
    })
}

fn messages(token: &str) -> State {
    State::new(ResourceType::Messages, token)
}

fn caught_up(outcome: SyncOutcome<SyncChanges>) -> SyncChanges {
    match outcome {
        SyncOutcome::Changes(changes) => changes,
        other => panic!("expected changes: {other:?}"),
    }
}

#[tokio::test]
async fn both_shapes_of_the_changes_endpoint_decode() {
    let server = MockServer::start_async().await;
    let legacy = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/mailbox/changes")
                .query_param("since_state", "m1")
                .query_param("limit", "500")
                .query_param_missing("types")
                .header("authorization", MBX_BEARER);
            reply(
                then,
                200,
                page(Some("m1"), "m2", false, &["msg_1"], &[], &["msg_0"]),
            );
        })
        .await;
    let typed = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/mailbox/changes")
                .query_param("types", "messages,folders")
                .query_param("messages_since_state", "m1")
                .query_param("folders_since_state", "f1")
                .query_param_missing("since_state")
                .header("authorization", MBX_BEARER);
            let mut folders = page(Some("f1"), "f2", false, &[], &["fld_1"], &[]);
            folders["updated_properties"] = json!(["name"]);
            reply(
                then,
                200,
                json!({"types": {
                    "messages": page(Some("m1"), "m3", true, &["msg_1", "msg_2"], &[], &[]),
                    "folders": folders,
                }}),
            );
        })
        .await;

    let mailbox = mailbox(&server);
    let answer = mailbox
        .changes()
        .legacy_since(&messages("m1"))
        .limit(500)
        .await
        .unwrap();
    let AnyChanges::Messages(changes) = &*answer else {
        panic!("expected the older shape: {answer:?}");
    };
    assert_eq!(changes.new_state, messages("m2"));
    assert_eq!(changes.old_state, Some(messages("m1")));
    assert_eq!(
        (changes.created.as_slice(), changes.destroyed.as_slice()),
        (&["msg_1".to_owned()][..], &["msg_0".to_owned()][..])
    );

    let since: States = [messages("m1"), State::new(ResourceType::Folders, "f1")]
        .into_iter()
        .collect();
    let answer = mailbox.changes().since(&since).await.unwrap();
    let AnyChanges::Typed(map) = &*answer else {
        panic!("expected the typed map: {answer:?}");
    };
    assert_eq!(map.len(), 2);
    let folders = answer.get(ResourceType::Folders).unwrap();
    assert_eq!(folders.updated, ["fld_1"]);
    assert_eq!(folders.updated_properties, ["name"]);
    assert_eq!(folders.new_state, State::new(ResourceType::Folders, "f2"));
    assert!(answer.get(ResourceType::Messages).unwrap().has_more);
    legacy.assert_async().await;
    typed.assert_async().await;
}

#[tokio::test]
async fn changes_since_follows_has_more_across_pages_and_types() {
    let server = MockServer::start_async().await;
    // First request: both types; messages have more, folders are done.
    let first = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/mailbox/changes")
                .query_param("types", "messages,folders")
                .query_param("messages_since_state", "m1")
                .query_param("folders_since_state", "f1")
                .query_param("limit", "2");
            reply(
                then,
                200,
                json!({"types": {
                    "messages": page(Some("m1"), "m2", true, &["msg_a", "msg_b"], &["msg_old"], &[]),
                    "folders": page(Some("f1"), "f2", false, &["fld_new"], &[], &[]),
                }}),
            );
        })
        .await;
    // Then messages alone, from the state the first page handed out.
    let second = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/mailbox/changes")
                .query_param("types", "messages")
                .query_param("messages_since_state", "m2")
                .query_param_missing("folders_since_state");
            reply(
                then,
                200,
                json!({"types": {
                    "messages": page(Some("m2"), "m3", true, &["msg_c"], &["msg_b"], &["msg_a", "msg_gone"]),
                }}),
            );
        })
        .await;
    let third = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/mailbox/changes")
                .query_param("messages_since_state", "m3");
            reply(
                then,
                200,
                json!({"types": {"messages": page(Some("m3"), "m4", false, &[], &["msg_c"], &[])}}),
            );
        })
        .await;

    let since: States = [messages("m1"), State::new(ResourceType::Folders, "f1")]
        .into_iter()
        .collect();
    let synced = caught_up(
        mailbox(&server)
            .changes_since(since)
            .page_size(2)
            .await
            .unwrap(),
    );
    assert_eq!(synced.requests, 3);
    let m = synced.get(ResourceType::Messages).unwrap();
    // msg_a was created and destroyed within the span: never seen.
    assert_eq!(m.created, ["msg_b", "msg_c"]);
    assert_eq!(m.updated, ["msg_old"]);
    assert_eq!(m.destroyed, ["msg_gone"]);
    assert_eq!((m.old_state.as_str(), m.new_state.as_str()), ("m1", "m4"));
    let f = synced.get(ResourceType::Folders).unwrap();
    assert_eq!(f.created, ["fld_new"]);
    let next = synced.states();
    assert_eq!(next.get(ResourceType::Messages), Some(&messages("m4")));
    assert_eq!(
        next.get(ResourceType::Folders),
        Some(&State::new(ResourceType::Folders, "f2"))
    );
    first.assert_async().await;
    second.assert_async().await;
    third.assert_async().await;
}

#[tokio::test]
async fn sync_required_is_an_outcome_not_an_error() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/mailbox/changes");
            let mut stale = page(Some("m0"), "m9", false, &[], &[], &[]);
            stale["sync_required"] = json!(true);
            reply(then, 200, json!({"types": {"messages": stale}}));
        })
        .await;
    let outcome = mailbox(&server)
        .changes_since(messages("m0"))
        .await
        .unwrap();
    assert!(outcome.is_resync_required());
    assert_eq!(
        outcome,
        SyncOutcome::ResyncRequired {
            resources: vec![ResourceType::Messages]
        }
    );
}

#[tokio::test]
async fn a_state_handed_back_twice_ends_the_sync_with_an_error() {
    let server = MockServer::start_async().await;
    let looping = server
        .mock_async(|when, then| {
            when.method(GET).path("/mailbox/changes");
            reply(
                then,
                200,
                json!({"types": {"messages": page(Some("m1"), "m2", true, &["msg_1"], &[], &[])}}),
            );
        })
        .await;
    let error = mailbox(&server)
        .changes_since(messages("m1"))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::PaginationLoop { cursor, .. } if cursor == "m2"),
        "{error:?}"
    );
    looping.assert_calls_async(2).await;
}

#[tokio::test]
async fn per_type_feeds_take_their_own_states() {
    let server = MockServer::start_async().await;
    let folders = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/mailbox/folders/changes")
                .query_param("since_state", "f1")
                .query_param_missing("types")
                .header("authorization", MBX_BEARER);
            reply(
                then,
                200,
                page(Some("f1"), "f2", false, &["fld_1"], &[], &[]),
            );
        })
        .await;
    let quotas = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/mailbox/quotas/changes")
                .query_param("limit", "10")
                .query_param_missing("since_state");
            reply(then, 200, page(None, "q5", false, &[], &[], &[]));
        })
        .await;
    let submissions = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/mailbox/submissions/changes")
                .query_param("since_state", "s1");
            let mut stale = page(Some("s1"), "s9", false, &[], &[], &[]);
            stale["sync_required"] = json!(true);
            reply(then, 200, stale);
        })
        .await;
    let mailbox = mailbox(&server);
    let synced = caught_up(
        mailbox
            .folders()
            .changes_since(&State::new(ResourceType::Folders, "f1"))
            .await
            .unwrap(),
    );
    assert_eq!(
        synced.get(ResourceType::Folders).unwrap().created,
        ["fld_1"]
    );
    let current = mailbox.quota_changes().limit(10).await.unwrap();
    assert_eq!(current.new_state, State::new(ResourceType::Quotas, "q5"));
    assert_eq!(current.old_state, None);
    let stale = mailbox
        .submission_changes_since(&State::new(ResourceType::Submissions, "s1"))
        .await
        .unwrap();
    assert!(stale.is_resync_required());

    // A state of another type is refused before any I/O.
    let wrong = mailbox
        .folders()
        .changes_since(&messages("m1"))
        .await
        .unwrap_err();
    assert_eq!(wrong.as_invalid_input().unwrap().field, "since");
    let wrong = mailbox
        .folders()
        .changes()
        .since(&messages("m1"))
        .await
        .unwrap_err();
    assert_eq!(wrong.as_invalid_input().unwrap().field, "since_state");
    let empty = mailbox.changes_since(States::new()).await.unwrap_err();
    assert_eq!(empty.as_invalid_input().unwrap().field, "since");
    let limit = mailbox.changes().limit(501).await.unwrap_err();
    assert_eq!(limit.as_invalid_input().unwrap().field, "limit");

    folders.assert_async().await;
    quotas.assert_async().await;
    submissions.assert_async().await;
}

#[tokio::test]
async fn query_changes_follow_pages_keep_filters_and_report_a_stale_state() {
    let server = MockServer::start_async().await;
    let first = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/mailbox/messages/query-changes")
                .query_param("since_query_state", "q1")
                .query_param("folder_id", "fld_inbox")
                .query_param("calculate_total", "true")
                .header("authorization", MBX_BEARER);
            reply(
                then,
                200,
                json!({
                    "old_query_state": "q1", "new_query_state": "q2", "has_more": true,
                    "removed": ["msg_1", "msg_2"],
                    "added": [{"id": "msg_2", "index": 4}, {"id": "msg_9", "index": 0}],
                    "total": null
                }),
            );
        })
        .await;
    let second = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/mailbox/messages/query-changes")
                .query_param("since_query_state", "q2")
                .query_param("folder_id", "fld_inbox");
            reply(
                then,
                200,
                json!({
                    "old_query_state": "q2", "new_query_state": "q3", "has_more": false,
                    "removed": ["msg_2"], "added": [{"id": "msg_2", "index": 1}], "total": 12
                }),
            );
        })
        .await;
    let stale = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/mailbox/folders/query-changes")
                .query_param("since_query_state", "old");
            reply_error(then, 400, "invalid_parameter", "too old");
        })
        .await;

    let mailbox = mailbox(&server);
    let set = mailbox
        .messages()
        .query_changes()
        .folder_id("fld_inbox")
        .calculate_total(true)
        .since(&QueryState::messages("q1"))
        .follow()
        .await
        .unwrap()
        .changes()
        .unwrap();
    assert_eq!(set.requests, 2);
    assert_eq!(set.removed, ["msg_1", "msg_2"]);
    let added: Vec<(&str, u64)> = set.added.iter().map(|a| (a.id.as_str(), a.index)).collect();
    assert_eq!(added, [("msg_9", 0), ("msg_2", 1)]);
    assert_eq!(set.total, Some(12));
    assert_eq!(set.new_query_state, QueryState::messages("q3"));
    first.assert_async().await;
    second.assert_async().await;

    // The mock's error carries no `param`: a 400 alone is an error.
    let error = mailbox
        .folders()
        .query_changes_since(&QueryState::folders("old"))
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(400));
    stale.assert_async().await;

    // A message list state is refused by the folder list before any I/O.
    let wrong = mailbox
        .folders()
        .query_changes_since(&QueryState::messages("q1"))
        .await
        .unwrap_err();
    assert_eq!(wrong.as_invalid_input().unwrap().field, "since_query_state");
}

#[tokio::test]
async fn a_query_state_the_server_cannot_replay_asks_for_a_reload() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/mailbox/folders/query-changes");
            let body = json!({
                "ok": false,
                "error": {
                    "code": "invalid_parameter", "message": "too old", "retryable": false,
                    "param": "since_query_state"
                },
                "meta": {"request_id": "req_q"}
            });
            then.status(400)
                .header("content-type", "application/json")
                .json_body(body);
        })
        .await;
    let outcome = mailbox(&server)
        .folders()
        .query_changes_since(&QueryState::folders("old"))
        .await
        .unwrap();
    assert_eq!(
        outcome,
        SyncOutcome::ResyncRequired {
            resources: vec![ResourceType::Folders]
        }
    );
}

#[test]
fn states_serialize_for_storage() {
    let states: States = [messages("m1"), State::new(ResourceType::Threads, "t1")]
        .into_iter()
        .collect();
    let stored = serde_json::to_string(&states).unwrap();
    assert_eq!(stored, r#"{"messages":"m1","threads":"t1"}"#);
    let back: States = serde_json::from_str(&stored).unwrap();
    assert_eq!(back, states);
    assert!(format!("{states:?}").contains("m1"));
}
