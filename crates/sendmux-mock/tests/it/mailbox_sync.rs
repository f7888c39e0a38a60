//! Mailbox API sync: state tokens, changes since a state (both shapes of
//! `/mailbox/changes`), paging with `has_more`, the resync answer once the
//! log is trimmed, and query changes of the message and folder lists.

use http::Method;
use sendmux_mock::MockServer;
use serde_json::{Value, json};

use crate::harness::assert_no_violations;
use crate::mailbox_api::{Setup, data, mail, setup, setup_with, str_of};

/// The current messages state.
async fn message_state(s: &Setup) -> String {
    str_of(&data(&s.mbx.get("/mailbox/changes").await), "/new_state").to_owned()
}

fn list(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn changes_since_a_state_list_created_updated_and_destroyed_ids() {
    let s = setup().await;
    let start = data(&s.mbx.get("/mailbox/changes").await);
    assert_eq!(start["old_state"], Value::Null);
    assert_eq!(start["created"], json!([]));
    let s0 = str_of(&start, "/new_state").to_owned();

    let a = s.server.deliver(&s.key, mail("A", "a")).unwrap();
    let b = s.server.deliver(&s.key, mail("B", "b")).unwrap();
    let s1 = message_state(&s).await;
    assert_ne!(s0, s1);

    let patched = s
        .mbx
        .call(Method::PATCH, &format!("/mailbox/messages/{a}"))
        .json(&json!({ "seen": true }))
        .send()
        .await;
    assert_eq!(patched.status, 200);
    s.mbx
        .call(
            Method::DELETE,
            &format!("/mailbox/messages/{b}?permanent=true"),
        )
        .send()
        .await;
    let c = s.server.deliver(&s.key, mail("C", "c")).unwrap();

    let since1 = data(
        &s.mbx
            .get(&format!("/mailbox/changes?since_state={s1}"))
            .await,
    );
    assert_eq!(since1["old_state"], s1.as_str());
    assert_eq!(list(&since1["created"]), [c.as_str()]);
    assert_eq!(list(&since1["updated"]), [a.as_str()]);
    assert_eq!(list(&since1["destroyed"]), [b.as_str()]);
    assert_eq!(since1["has_more"], false);
    let s2 = str_of(&since1, "/new_state").to_owned();

    // From the start, b came and went within the window: not listed.
    let since0 = data(
        &s.mbx
            .get(&format!("/mailbox/changes?since_state={s0}"))
            .await,
    );
    assert_eq!(list(&since0["created"]), [a.as_str(), c.as_str()]);
    assert!(list(&since0["destroyed"]).is_empty());
    assert_eq!(since0["new_state"], s2.as_str());

    // Nothing since the newest state.
    let none = data(
        &s.mbx
            .get(&format!("/mailbox/changes?since_state={s2}"))
            .await,
    );
    assert_eq!(none["created"], json!([]));
    assert_eq!(none["new_state"], s2.as_str());

    // Tokens of another type or shape are refused.
    for bad in ["nonsense", "ms1", &s2.replace('.', ",")] {
        s.mbx
            .get(&format!("/mailbox/changes?since_state={bad}"))
            .await
            .assert_error(400, "invalid_parameter");
    }
    let folders = str_of(
        &data(&s.mbx.get("/mailbox/folders/changes").await),
        "/new_state",
    )
    .to_owned();
    s.mbx
        .get(&format!("/mailbox/changes?since_state={folders}"))
        .await
        .assert_error(400, "invalid_parameter");
    assert_no_violations(&s.server);
}

#[tokio::test]
async fn changes_answer_in_both_published_shapes() {
    let s = setup().await;
    let typed = data(
        &s.mbx
            .get("/mailbox/changes?types=messages,folders,threads")
            .await,
    );
    let types = typed["types"].as_object().unwrap();
    let mut names: Vec<&str> = types.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, ["folders", "messages", "threads"]);
    let m0 = str_of(&typed, "/types/messages/new_state").to_owned();
    let f0 = str_of(&typed, "/types/folders/new_state").to_owned();
    let t0 = str_of(&typed, "/types/threads/new_state").to_owned();
    // The legacy shape's state is the messages state.
    assert_eq!(message_state(&s).await, m0);

    let id = s.server.deliver(&s.key, mail("Typed", "x")).unwrap();
    let inbox = crate::mailbox_api::folder_id(&s.mbx, "inbox").await;
    let typed = data(
        &s.mbx
            .get(&format!(
                "/mailbox/changes?types=messages,folders,threads,quotas&messages_since_state={m0}&folders_since_state={f0}&threads_since_state={t0}"
            ))
            .await,
    );
    assert_eq!(list(&typed["types"]["messages"]["created"]), [id.as_str()]);
    assert_eq!(
        list(&typed["types"]["folders"]["updated"]),
        [inbox.as_str()]
    );
    assert_eq!(
        typed["types"]["threads"]["created"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // No since state for quotas: only where to start from.
    assert_eq!(typed["types"]["quotas"]["old_state"], Value::Null);
    assert!(typed["types"]["quotas"]["new_state"].is_string());

    let legacy = data(
        &s.mbx
            .get(&format!("/mailbox/changes?since_state={m0}"))
            .await,
    );
    assert!(legacy.get("types").is_none());
    assert_eq!(list(&legacy["created"]), [id.as_str()]);

    s.mbx
        .get("/mailbox/changes?types=messages,bogus")
        .await
        .assert_error(400, "invalid_parameter");
    s.mbx
        .get(&format!(
            "/mailbox/changes?types=folders&folders_since_state={m0}"
        ))
        .await
        .assert_error(400, "invalid_parameter");
    s.mbx
        .get("/mailbox/changes?limit=501")
        .await
        .assert_error(400, "invalid_parameter");
    assert_no_violations(&s.server);
}

#[tokio::test]
async fn a_large_gap_is_paged_with_has_more() {
    let s = setup().await;
    let start = message_state(&s).await;
    let mut delivered = Vec::new();
    for i in 0..7 {
        delivered.push(
            s.server
                .deliver(&s.key, mail(&format!("M{i}"), "x"))
                .unwrap(),
        );
    }
    let mut since = start;
    let mut seen = Vec::new();
    let mut calls = 0;
    loop {
        calls += 1;
        let page = data(
            &s.mbx
                .get(&format!("/mailbox/changes?since_state={since}&limit=3"))
                .await,
        );
        let created = list(&page["created"]);
        assert!(created.len() <= 3, "{page}");
        seen.extend(created.into_iter().map(str::to_owned));
        since = str_of(&page, "/new_state").to_owned();
        if page["has_more"] == false {
            break;
        }
        assert!(calls < 10, "paging does not end");
    }
    assert_eq!(calls, 3);
    assert_eq!(seen, delivered);
    assert_eq!(since, message_state(&s).await);
    assert_no_violations(&s.server);
}

#[tokio::test]
async fn a_state_older_than_the_log_asks_for_a_resync() {
    let s = setup_with(MockServer::builder().mailbox_change_log_capacity(3)).await;
    let start = message_state(&s).await;
    let folders_start = str_of(
        &data(&s.mbx.get("/mailbox/folders/changes").await),
        "/new_state",
    )
    .to_owned();
    for i in 0..4 {
        s.server
            .deliver(&s.key, mail(&format!("M{i}"), "x"))
            .unwrap();
    }
    let stale = data(
        &s.mbx
            .get(&format!("/mailbox/changes?since_state={start}"))
            .await,
    );
    assert_eq!(stale["sync_required"], true);
    assert_eq!(stale["created"], json!([]));
    assert_eq!(stale["new_state"], message_state(&s).await.as_str());
    let typed = data(
        &s.mbx
            .get(&format!(
                "/mailbox/changes?types=messages&messages_since_state={start}"
            ))
            .await,
    );
    assert_eq!(typed["types"]["messages"]["sync_required"], true);
    // The folder log moved four times too (each arrival changes Inbox's
    // counts): trimmed as well.
    let folders = data(
        &s.mbx
            .get(&format!(
                "/mailbox/folders/changes?since_state={folders_start}"
            ))
            .await,
    );
    assert_eq!(folders["sync_required"], true);
    // A query state that old cannot be patched either.
    let query = str_of(
        &data(&s.mbx.get("/mailbox/messages/query-changes").await),
        "/new_query_state",
    )
    .to_owned();
    for i in 0..4 {
        s.server
            .deliver(&s.key, mail(&format!("N{i}"), "x"))
            .unwrap();
    }
    s.mbx
        .get(&format!(
            "/mailbox/messages/query-changes?since_query_state={query}"
        ))
        .await
        .assert_error(400, "invalid_parameter");
    // A recent state still works.
    let recent = message_state(&s).await;
    let id = s.server.deliver(&s.key, mail("Fresh", "x")).unwrap();
    let fresh = data(
        &s.mbx
            .get(&format!("/mailbox/changes?since_state={recent}"))
            .await,
    );
    assert_eq!(list(&fresh["created"]), [id.as_str()]);
    assert!(fresh.get("sync_required").is_none());
    assert_no_violations(&s.server);
}

#[tokio::test]
async fn query_changes_tell_how_a_list_moved() {
    let s = setup().await;
    let a = s.server.deliver(&s.key, mail("A", "a")).unwrap();
    let start = data(
        &s.mbx
            .get("/mailbox/messages/query-changes?is_unread=true")
            .await,
    );
    assert_eq!(start["old_query_state"], Value::Null);
    let q0 = str_of(&start, "/new_query_state").to_owned();
    let b = s.server.deliver(&s.key, mail("B", "b")).unwrap();
    // a is read: it leaves the unread list.
    s.mbx
        .call(Method::PATCH, &format!("/mailbox/messages/{a}"))
        .json(&json!({ "seen": true }))
        .send()
        .await;
    let changes = data(
        &s.mbx
            .get(&format!(
                "/mailbox/messages/query-changes?is_unread=true&since_query_state={q0}&calculate_total=true"
            ))
            .await,
    );
    assert_eq!(list(&changes["removed"]), [a.as_str()]);
    assert_eq!(changes["added"], json!([{ "id": b, "index": 0 }]));
    assert_eq!(changes["total"], 1);
    assert_eq!(changes["has_more"], false);
    let q1 = str_of(&changes, "/new_query_state").to_owned();
    let unchanged = data(
        &s.mbx
            .get(&format!(
                "/mailbox/messages/query-changes?is_unread=true&since_query_state={q1}"
            ))
            .await,
    );
    assert_eq!(unchanged["removed"], json!([]));
    assert_eq!(unchanged["added"], json!([]));
    assert_eq!(unchanged["total"], Value::Null);

    // Folders: a new one shows up at its place in the order.
    let f0 = str_of(
        &data(&s.mbx.get("/mailbox/folders/query-changes").await),
        "/new_query_state",
    )
    .to_owned();
    let created = s
        .mbx
        .post(
            "/mailbox/folders",
            json!({ "name": "Aaa", "sort_order": 0 }),
        )
        .await;
    let folder = str_of(&created.json(), "/data/id").to_owned();
    let folder_changes = data(
        &s.mbx
            .get(&format!(
                "/mailbox/folders/query-changes?since_query_state={f0}"
            ))
            .await,
    );
    assert_eq!(
        folder_changes["added"],
        json!([{ "id": folder, "index": 0 }])
    );
    assert_eq!(folder_changes["total"], 7);
    assert_no_violations(&s.server);
}

#[tokio::test]
async fn quota_and_submission_changes_follow_their_resources() {
    let s = setup().await;
    let q0 = str_of(
        &data(&s.mbx.get("/mailbox/quotas/changes").await),
        "/new_state",
    )
    .to_owned();
    let sub0 = str_of(
        &data(&s.mbx.get("/mailbox/submissions/changes").await),
        "/new_state",
    )
    .to_owned();
    s.server.deliver(&s.key, mail("Q", "x")).unwrap();
    let quotas = data(
        &s.mbx
            .get(&format!("/mailbox/quotas/changes?since_state={q0}"))
            .await,
    );
    assert_eq!(quotas["updated"].as_array().unwrap().len(), 2);
    let sent = s
        .mbx
        .post(
            "/mailbox/messages/send",
            json!({ "to": [{ "email": "out@example.com", "name": null }], "subject": "S", "text_body": "t" }),
        )
        .await;
    assert_eq!(sent.status, 200);
    let subs = data(
        &s.mbx
            .get(&format!("/mailbox/submissions/changes?since_state={sub0}"))
            .await,
    );
    assert_eq!(subs["created"].as_array().unwrap().len(), 1);
    let listed = crate::mailbox_api::ids(&s.mbx.get("/mailbox/submissions").await);
    assert_eq!(list(&subs["created"]), [listed[0].as_str()]);
    assert_no_violations(&s.server);
}
