//! The Mailbox API over real HTTP: delivered mail listed, read and
//! cleaned; flags with `If-Match`; trash and permanent delete; folders;
//! batches; send with submissions; session, identity, quotas, usage.
//! Also the setup the other `mailbox_*` suites share.

use bytes::Bytes;
use http::Method;
use sendmux_mock::{InboundMessage, MockServer, MockServerBuilder, Propagation};
use serde_json::{Value, json};

use crate::harness::{Api, Resp, assert_no_violations};

/// A server, its root client, and a mailbox with its key and client.
pub(crate) struct Setup {
    pub(crate) server: MockServer,
    pub(crate) root: Api,
    pub(crate) mbx: Api,
    pub(crate) key: String,
    pub(crate) mailbox_id: String,
}

/// `builder` with domains that verify at once and the self-check on, a
/// verified `acme.com` and the mailbox `agent@acme.com`.
pub(crate) async fn setup_with(builder: MockServerBuilder) -> Setup {
    let server = builder
        .seed(11)
        .propagation(Propagation::AfterVerifyCalls { calls: 1 })
        .self_check(true)
        .start()
        .await
        .unwrap();
    let root = Api::new(&server);
    root.verified_domain("acme.com", None).await;
    let created = root.create_mailbox("agent@acme.com").await;
    let key = str_of(&created, "/credential/secret").to_owned();
    let mailbox_id = str_of(&created, "/mailbox/id").to_owned();
    let mbx = Api::with_key(&server, Some(&key));
    Setup {
        server,
        root,
        mbx,
        key,
        mailbox_id,
    }
}

pub(crate) async fn setup() -> Setup {
    setup_with(MockServer::builder()).await
}

pub(crate) fn str_of<'v>(v: &'v Value, pointer: &str) -> &'v str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no string at {pointer} in {v}"))
}

/// A plain inbound message.
pub(crate) fn mail(subject: &str, text: &str) -> InboundMessage {
    InboundMessage {
        from: "Ada Lovelace <ada@example.com>".into(),
        subject: subject.into(),
        text: Some(text.into()),
        ..InboundMessage::default()
    }
}

/// `data` of a 200 answer.
pub(crate) fn data(r: &Resp) -> Value {
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    r.json()["data"].clone()
}

/// The ids of a list answer's items.
pub(crate) fn ids(r: &Resp) -> Vec<String> {
    data(r)
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The id of the built-in folder with `role`.
pub(crate) async fn folder_id(api: &Api, role: &str) -> String {
    let folders = data(&api.get("/mailbox/folders").await);
    folders
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["role"] == role)
        .map(|f| f["id"].as_str().unwrap().to_owned())
        .unwrap_or_else(|| panic!("no {role} folder in {folders}"))
}

#[tokio::test]
async fn delivered_mail_is_listed_read_and_cleaned() {
    let s = setup().await;
    let first = s
        .server
        .deliver(
            &s.key,
            mail("Quarterly report", "Numbers attached.\n-- \nAda"),
        )
        .unwrap();
    let second = s
        .server
        .deliver(
            &s.mailbox_id,
            InboundMessage {
                from: "bob@example.com".into(),
                subject: "Lunch?".into(),
                html: Some("<p>Meet at <b>noon</b>? https://maps.example/x</p>".into()),
                attachments: vec![(
                    "menu.pdf".into(),
                    "application/pdf".into(),
                    Bytes::from_static(b"%PDF-1.7 menu"),
                )],
                ..InboundMessage::default()
            },
        )
        .unwrap();
    assert!(first.starts_with("msg_") && second.starts_with("msg_"));

    // Newest first, with summaries.
    let list = s.mbx.get("/mailbox/messages").await;
    assert_eq!(ids(&list), [second.clone(), first.clone()]);
    let items = data(&list);
    assert_eq!(items[0]["subject"], "Lunch?");
    assert_eq!(items[0]["has_attachments"], true);
    assert_eq!(items[0]["flags"]["seen"], false);
    assert_eq!(items[1]["from"]["name"], "Ada Lovelace");
    assert_eq!(items[1]["to"][0]["email"], "agent@acme.com");
    let inbox = folder_id(&s.mbx, "inbox").await;
    assert_eq!(items[1]["folder_ids"], json!([inbox]));

    // Filters.
    let filtered = |query: &'static str| {
        let mbx = s.mbx.clone();
        async move { ids(&mbx.get(&format!("/mailbox/messages?{query}")).await) }
    };
    assert_eq!(filtered("has_attachment=true").await, [second.as_str()]);
    assert_eq!(filtered("from=ada").await, [first.as_str()]);
    assert_eq!(filtered("q=noon").await, [second.as_str()]);
    assert_eq!(filtered("subject=report").await, [first.as_str()]);
    assert_eq!(
        filtered("sort_by=subject&sort_direction=asc").await,
        [second.clone(), first.clone()]
    );
    assert!(filtered("folder_id=fld_none").await.is_empty());
    let bad = s.mbx.get("/mailbox/messages?is_unread=maybe").await;
    bad.assert_error(400, "invalid_parameter");
    let bad = s.mbx.get("/mailbox/messages?after=yesterday").await;
    bad.assert_error(400, "invalid_parameter");

    // Pages of one, through cursors.
    let page1 = s.mbx.get("/mailbox/messages?limit=1").await;
    let body = page1.json();
    assert_eq!(body["pagination"]["has_more"], true);
    let cursor = str_of(&body, "/pagination/next_cursor").to_owned();
    let page2 = s
        .mbx
        .get(&format!("/mailbox/messages?limit=1&cursor={cursor}"))
        .await;
    assert_eq!(ids(&page2), [first.as_str()]);
    assert_eq!(page2.json()["pagination"]["has_more"], false);

    // Detail with a weak ETag, and 304 while unchanged.
    let got = s.mbx.get(&format!("/mailbox/messages/{first}")).await;
    let detail = data(&got);
    assert_eq!(detail["text_body"], "Numbers attached.\n-- \nAda");
    assert_eq!(detail["html_body"], Value::Null);
    let etag = got.header("etag").unwrap().to_owned();
    assert!(etag.starts_with("W/\""), "{etag}");
    let again = s
        .mbx
        .call(Method::GET, &format!("/mailbox/messages/{first}"))
        .header("if-none-match", &etag)
        .send()
        .await;
    assert_eq!(again.status, 304);

    // Raw body and cleaned content.
    let raw = data(
        &s.mbx
            .get(&format!("/mailbox/messages/{second}/body?part=html"))
            .await,
    );
    assert_eq!(raw["body"]["text"], Value::Null);
    assert!(
        raw["body"]["html"]
            .as_str()
            .unwrap()
            .contains("<b>noon</b>")
    );
    let clean = data(
        &s.mbx
            .get(&format!(
                "/mailbox/messages/{second}/content?include_links=true&include_headers=full"
            ))
            .await,
    );
    assert_eq!(clean["body"]["format"], "html");
    assert_eq!(
        clean["body"]["text"],
        "Meet at noon? https://maps.example/x"
    );
    assert_eq!(
        clean["body"]["extracted_links"],
        json!(["https://maps.example/x"])
    );
    assert!(clean["headers"]["full"].as_array().unwrap().len() > 3);
    assert_eq!(clean["attachments"][0]["filename"], "menu.pdf");
    let stripped = data(
        &s.mbx
            .get(&format!(
                "/mailbox/messages/{first}/content?strip_signature=true&max_body_chars=7"
            ))
            .await,
    );
    assert_eq!(stripped["body"]["text"], "Numbers");
    assert_eq!(stripped["body"]["signature_stripped"], true);
    assert_eq!(stripped["body"]["is_truncated"], true);
    assert_eq!(stripped["body"]["truncated_at_chars"], 7);

    // Count, folder counts, snippets.
    let count = data(&s.mbx.get("/mailbox/messages/count?is_unread=true").await);
    assert_eq!(count["total"], 2);
    let folder = data(&s.mbx.get(&format!("/mailbox/folders/{inbox}")).await);
    assert_eq!(
        (
            folder["total_messages"].as_u64(),
            folder["unread_messages"].as_u64()
        ),
        (Some(2), Some(2))
    );
    let snippets = data(
        &s.mbx
            .get("/mailbox/messages/search-snippets?q=report")
            .await,
    );
    assert_eq!(snippets["snippets"][0]["message_id"], first.as_str());
    assert_eq!(
        snippets["snippets"][0]["subject"],
        "Quarterly <mark>report</mark>"
    );
    let missing = data(
        &s.mbx
            .get("/mailbox/messages/search-snippets?q=x&message_ids=msg_nope")
            .await,
    );
    assert_eq!(missing["not_found"], json!(["msg_nope"]));
    s.mbx
        .get("/mailbox/messages/msg_nope")
        .await
        .assert_error(404, "not_found");
    assert_no_violations(&s.server);
}

#[tokio::test]
async fn replies_join_their_thread() {
    let s = setup().await;
    let first = s
        .server
        .deliver(&s.key, mail("Plans", "Shall we?"))
        .unwrap();
    let message_id = str_of(
        &data(
            &s.mbx
                .get(&format!("/mailbox/messages/{first}/content"))
                .await,
        ),
        "/headers/selected/message_id/0",
    )
    .to_owned();
    let reply = s
        .server
        .deliver(
            &s.key,
            InboundMessage {
                from: "carol@example.com".into(),
                subject: "Something else entirely".into(),
                text: Some("Yes!".into()),
                in_reply_to: Some(message_id),
                ..InboundMessage::default()
            },
        )
        .unwrap();
    let by_subject = s
        .server
        .deliver(&s.key, mail("Re: Plans", "Count me in"))
        .unwrap();
    let other = s.server.deliver(&s.key, mail("Unrelated", "Hi")).unwrap();
    let thread = str_of(
        &data(&s.mbx.get(&format!("/mailbox/messages/{first}")).await),
        "/thread_id",
    )
    .to_owned();
    for id in [&reply, &by_subject] {
        let m = data(&s.mbx.get(&format!("/mailbox/messages/{id}")).await);
        assert_eq!(m["thread_id"], thread.as_str(), "{id}");
    }
    let m = data(&s.mbx.get(&format!("/mailbox/messages/{other}")).await);
    assert_ne!(m["thread_id"], thread.as_str());

    let threads = s.mbx.get("/mailbox/threads").await;
    assert_eq!(ids(&threads).len(), 2);
    let got = s.mbx.get(&format!("/mailbox/threads/{thread}")).await;
    let detail = data(&got);
    assert_eq!(detail["message_count"], 3);
    assert_eq!(detail["unread_count"], 3);
    assert_eq!(detail["message_ids"], json!([first, reply, by_subject]));
    assert_eq!(detail["last_message"]["id"], by_subject.as_str());
    let participants: Vec<&str> = detail["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["email"].as_str().unwrap())
        .collect();
    assert_eq!(
        participants,
        ["ada@example.com", "agent@acme.com", "carol@example.com"]
    );
    let etag = got.header("etag").unwrap().to_owned();
    let same = s
        .mbx
        .call(Method::GET, &format!("/mailbox/threads/{thread}"))
        .header("if-none-match", &etag)
        .send()
        .await;
    assert_eq!(same.status, 304);

    let asc = ids(&s
        .mbx
        .get(&format!("/mailbox/threads/{thread}/messages"))
        .await);
    assert_eq!(asc, [first.clone(), reply.clone(), by_subject.clone()]);
    let desc = ids(&s
        .mbx
        .get(&format!(
            "/mailbox/threads/{thread}/messages?sort=desc&limit=2"
        ))
        .await);
    assert_eq!(desc, [by_subject.clone(), reply.clone()]);
    let content = s
        .mbx
        .get(&format!("/mailbox/threads/{thread}/content?limit=2"))
        .await;
    let body = content.json();
    assert_eq!(content.status, 200);
    assert_eq!(body["data"].as_array().unwrap().len(), 2);
    assert_eq!(body["meta"]["thread_id"], thread.as_str());
    assert_eq!(body["pagination"]["has_more"], true);
    assert!(body["meta"]["states"]["option_hash"].is_string());
    let filtered = ids(&s.mbx.get("/mailbox/threads?participant=carol").await);
    assert_eq!(filtered, [thread.as_str()]);
    s.mbx
        .get("/mailbox/threads/thr_nope")
        .await
        .assert_error(404, "not_found");
    assert_no_violations(&s.server);
}

#[tokio::test]
async fn flags_and_keywords_change_under_if_match() {
    let s = setup().await;
    let id = s.server.deliver(&s.key, mail("Flag me", "x")).unwrap();
    let path = format!("/mailbox/messages/{id}");
    let before = s.mbx.get(&path).await;
    let etag = before.header("etag").unwrap().to_owned();
    let patched = s
        .mbx
        .call(Method::PATCH, &path)
        .header("if-match", &etag)
        .json(&json!({ "seen": true, "keywords": { "Agent_Triaged": true, "$flagged": true } }))
        .send()
        .await;
    let m = data(&patched);
    assert_eq!(m["flags"]["seen"], true);
    assert_eq!(m["flags"]["flagged"], true);
    assert_eq!(m["keywords"], json!(["$flagged", "$seen", "agent_triaged"]));
    assert_ne!(patched.header("etag"), Some(etag.as_str()));

    // The old tag is stale now.
    let stale = s
        .mbx
        .call(Method::PATCH, &path)
        .header("if-match", &etag)
        .json(&json!({ "flagged": false }))
        .send()
        .await;
    stale.assert_error(409, "conflict");
    let draft = s
        .mbx
        .call(Method::PATCH, &path)
        .json(&json!({ "keywords": { "$draft": true } }))
        .send()
        .await;
    draft.assert_error(400, "invalid_parameter");
    let unknown_field = s
        .mbx
        .call(Method::PATCH, &path)
        .json(&json!({ "folder_id": "x" }))
        .send()
        .await;
    assert_eq!(unknown_field.status, 400);
    let unread = data(&s.mbx.get("/mailbox/messages/count?is_unread=true").await);
    assert_eq!(unread["total"], 0);
    let tagged = ids(&s.mbx.get("/mailbox/messages?keyword=agent_triaged").await);
    assert_eq!(tagged, [id.as_str()]);
    assert!(ids(&s.mbx.get("/mailbox/messages?not_keyword=$seen").await).is_empty());
    assert_no_violations(&s.server);
}

#[tokio::test]
async fn delete_moves_to_trash_and_permanent_delete_removes() {
    let s = setup().await;
    let id = s.server.deliver(&s.key, mail("Bye", "x")).unwrap();
    let path = format!("/mailbox/messages/{id}");
    let stale = s
        .mbx
        .call(Method::DELETE, &path)
        .header("if-match", "W/\"0000000000000000\"")
        .send()
        .await;
    stale.assert_error(409, "conflict");
    let trashed = s.mbx.call(Method::DELETE, &path).send().await;
    assert_eq!(data(&trashed), json!({ "deleted": true, "id": id }));
    let trash = folder_id(&s.mbx, "trash").await;
    let m = data(&s.mbx.get(&path).await);
    assert_eq!(m["folder_ids"], json!([trash]));
    let gone = s
        .mbx
        .call(Method::DELETE, &format!("{path}?permanent=true"))
        .send()
        .await;
    assert_eq!(gone.status, 200);
    s.mbx.get(&path).await.assert_error(404, "not_found");
    assert!(ids(&s.mbx.get("/mailbox/threads").await).is_empty());
    assert_no_violations(&s.server);
}

#[tokio::test]
async fn folders_are_created_renamed_and_deleted_under_if_match() {
    let s = setup().await;
    let folders = data(&s.mbx.get("/mailbox/folders").await);
    let roles: Vec<&str> = folders
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["role"].as_str().unwrap())
        .collect();
    assert_eq!(
        roles,
        ["inbox", "drafts", "sent", "junk", "trash", "archive"]
    );

    let created = s
        .mbx
        .post("/mailbox/folders", json!({ "name": "Receipts" }))
        .await;
    assert_eq!(
        created.status,
        201,
        "{}",
        String::from_utf8_lossy(&created.body)
    );
    let folder = created.json()["data"].clone();
    let id = str_of(&folder, "/id").to_owned();
    assert_eq!(folder["role"], Value::Null);
    let child = s
        .mbx
        .post(
            "/mailbox/folders",
            json!({ "name": "2026", "parent_id": id }),
        )
        .await;
    assert_eq!(child.status, 201);
    let child_id = str_of(&child.json(), "/data/id").to_owned();
    s.mbx
        .post("/mailbox/folders", json!({ "name": "receipts" }))
        .await
        .assert_error(422, "validation_error");
    s.mbx
        .post("/mailbox/folders", json!({ "name": "  " }))
        .await
        .assert_error(422, "validation_error");

    let path = format!("/mailbox/folders/{id}");
    let got = s.mbx.get(&path).await;
    let etag = got.header("etag").unwrap().to_owned();
    let renamed = s
        .mbx
        .call(Method::PATCH, &path)
        .header("if-match", &etag)
        .json(&json!({ "name": "Bills", "sort_order": 20 }))
        .send()
        .await;
    assert_eq!(data(&renamed)["name"], "Bills");
    // The tag read before the rename is stale: the delete is refused.
    let stale = s
        .mbx
        .call(Method::DELETE, &path)
        .header("if-match", &etag)
        .send()
        .await;
    stale.assert_error(409, "conflict");
    // Moving a folder below its own child is refused.
    let cycle = s
        .mbx
        .call(Method::PATCH, &path)
        .json(&json!({ "parent_id": child_id }))
        .send()
        .await;
    cycle.assert_error(400, "invalid_parameter");
    // Not empty of folders yet.
    s.mbx
        .call(Method::DELETE, &path)
        .send()
        .await
        .assert_error(409, "conflict");
    let deleted = s
        .mbx
        .call(Method::DELETE, &format!("/mailbox/folders/{child_id}"))
        .send()
        .await;
    assert_eq!(data(&deleted)["deleted"], true);
    let current = s.mbx.get(&path).await.header("etag").unwrap().to_owned();
    let deleted = s
        .mbx
        .call(Method::DELETE, &path)
        .header("if-match", &current)
        .send()
        .await;
    assert_eq!(data(&deleted)["id"], id.as_str());
    s.mbx.get(&path).await.assert_error(404, "not_found");

    // Built-in folders stay as they are.
    let inbox = folder_id(&s.mbx, "inbox").await;
    let inbox_path = format!("/mailbox/folders/{inbox}");
    s.mbx
        .call(Method::DELETE, &inbox_path)
        .send()
        .await
        .assert_error(409, "conflict");
    s.mbx
        .call(Method::PATCH, &inbox_path)
        .json(&json!({ "name": "Incoming" }))
        .send()
        .await
        .assert_error(409, "conflict");
    let reordered = s
        .mbx
        .call(Method::PATCH, &inbox_path)
        .json(&json!({ "sort_order": 0 }))
        .send()
        .await;
    assert_eq!(data(&reordered)["sort_order"], 0);
    assert_no_violations(&s.server);
}

#[tokio::test]
async fn batches_take_at_most_100_ids_and_answer_per_item() {
    let s = setup().await;
    let a = s.server.deliver(&s.key, mail("A", "alpha")).unwrap();
    let b = s.server.deliver(&s.key, mail("B", "beta")).unwrap();
    let mut hundred: Vec<String> = (0..98).map(|i| format!("msg_missing{i}")).collect();
    hundred.push(a.clone());
    hundred.push(b.clone());
    let got = s
        .mbx
        .post(
            "/mailbox/messages:batch-get",
            json!({ "ids": hundred, "body_mode": "clean_json" }),
        )
        .await;
    let result = data(&got);
    assert_eq!(result["messages"].as_array().unwrap().len(), 2);
    assert_eq!(result["not_found"].as_array().unwrap().len(), 98);
    assert_eq!(result["messages"][0]["message"]["id"], a.as_str());
    assert_eq!(result["messages"][0]["content"]["body"]["text"], "alpha");
    assert_eq!(result["messages"][0]["raw_body"], Value::Null);
    let raw = data(
        &s.mbx
            .post(
                "/mailbox/messages:batch-get",
                json!({ "ids": [b], "body_mode": "raw" }),
            )
            .await,
    );
    assert_eq!(raw["messages"][0]["raw_body"]["body"]["text"], "beta");

    let mut too_many = hundred.clone();
    too_many.push("msg_one_more".into());
    for path in [
        "/mailbox/messages:batch-get",
        "/mailbox/messages:batch-update",
        "/mailbox/messages:batch-delete",
    ] {
        let r = s.mbx.post(path, json!({ "ids": too_many })).await;
        r.assert_error(400, "invalid_parameter");
    }

    let state = str_of(
        &data(&s.mbx.get("/mailbox/messages/count").await),
        "/sync_state",
    )
    .to_owned();
    let updated = data(
        &s.mbx
            .post(
                "/mailbox/messages:batch-update",
                json!({ "ids": hundred, "seen": true, "if_in_state": state }),
            )
            .await,
    );
    assert_eq!(updated["updated"], json!([a, b]));
    assert_eq!(updated["not_found"].as_array().unwrap().len(), 98);
    assert_eq!(updated["failed"], json!([]));
    assert_eq!(updated["states"]["old_state"], state.as_str());
    assert_ne!(updated["states"]["new_state"], state.as_str());
    // The state moved: the same precondition now fails as a whole.
    s.mbx
        .post(
            "/mailbox/messages:batch-delete",
            json!({ "ids": [a], "if_in_state": state }),
        )
        .await
        .assert_error(409, "conflict");
    let deleted = data(
        &s.mbx
            .post(
                "/mailbox/messages:batch-delete",
                json!({ "ids": [a, "msg_x"], "permanent": true }),
            )
            .await,
    );
    assert_eq!(deleted["deleted"], json!([a]));
    assert_eq!(deleted["not_found"], json!(["msg_x"]));
    assert_eq!(ids(&s.mbx.get("/mailbox/messages").await), [b.as_str()]);
    assert_no_violations(&s.server);
}

#[tokio::test]
async fn send_stores_in_sent_makes_a_submission_and_reaches_local_mailboxes() {
    let s = setup().await;
    let colleague = s.root.create_mailbox("colleague@acme.com").await;
    let colleague_key = str_of(&colleague, "/credential/secret").to_owned();
    let colleague_api = Api::with_key(&s.server, Some(&colleague_key));
    let body = json!({
        "to": [{ "email": "colleague@acme.com", "name": "Col" }],
        "cc": [{ "email": "someone@elsewhere.example", "name": null }],
        "subject": "Hello from the agent",
        "text_body": "Hi!",
        "attachments": [{ "filename": "a.txt", "content_type": "text/plain", "content": "aGVsbG8=" }],
    });
    let sent = s
        .mbx
        .call(Method::POST, "/mailbox/messages/send")
        .header("idempotency-key", "send-1")
        .json(&body)
        .send()
        .await;
    let result = data(&sent);
    assert_eq!(result["status"], "queued");
    let message_id = str_of(&result, "/message_id").to_owned();
    // A retry with the key replays the answer and sends nothing more.
    let replay = s
        .mbx
        .call(Method::POST, "/mailbox/messages/send")
        .header("idempotency-key", "send-1")
        .json(&body)
        .send()
        .await;
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(data(&replay)["message_id"], message_id.as_str());

    let sent_folder = folder_id(&s.mbx, "sent").await;
    let in_sent = ids(&s
        .mbx
        .get(&format!("/mailbox/messages?folder_id={sent_folder}"))
        .await);
    assert_eq!(in_sent, [message_id.as_str()]);
    let m = data(&s.mbx.get(&format!("/mailbox/messages/{message_id}")).await);
    assert_eq!(m["flags"]["seen"], true);
    assert_eq!(m["from"]["email"], "agent@acme.com");
    assert_eq!(m["attachments"][0]["size_bytes"], 5);

    let submissions = s.mbx.get("/mailbox/submissions").await;
    let list = data(&submissions);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["email_id"], message_id.as_str());
    assert_eq!(list[0]["undo_status"], "final");
    let rcpt: Vec<&str> = list[0]["envelope"]["rcpt_to"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["email"].as_str().unwrap())
        .collect();
    assert_eq!(rcpt, ["colleague@acme.com", "someone@elsewhere.example"]);
    let submission_id = str_of(&list, "/0/id").to_owned();
    let one = s
        .mbx
        .get(&format!("/mailbox/submissions/{submission_id}"))
        .await;
    assert_eq!(data(&one)["id"], submission_id.as_str());
    let by_email = ids(&s
        .mbx
        .get(&format!("/mailbox/submissions?email_ids={message_id}"))
        .await);
    assert_eq!(by_email, [submission_id.as_str()]);
    assert!(ids(&s.mbx.get("/mailbox/submissions?email_ids=msg_other").await).is_empty());

    // The colleague's mailbox got it in its Inbox, unread.
    let arrived = data(&colleague_api.get("/mailbox/messages").await);
    assert_eq!(arrived.as_array().unwrap().len(), 1);
    assert_eq!(arrived[0]["subject"], "Hello from the agent");
    assert_eq!(arrived[0]["flags"]["seen"], false);
    assert_eq!(arrived[0]["from"]["email"], "agent@acme.com");

    // Sending as someone else, or with a blob that does not exist.
    let mut forged = body.clone();
    forged["from"] = json!({ "email": "ceo@acme.com", "name": null });
    s.mbx
        .post("/mailbox/messages/send", forged)
        .await
        .assert_error(422, "validation_error");
    let mut no_blob = body.clone();
    no_blob["attachments"] =
        json!([{ "filename": "x.pdf", "content_type": "application/pdf", "blob_id": "blob_none" }]);
    s.mbx
        .post("/mailbox/messages/send", no_blob)
        .await
        .assert_error(422, "validation_error");
    s.mbx
        .post(
            "/mailbox/messages/send",
            json!({ "to": [], "subject": "x" }),
        )
        .await
        .assert_error(422, "validation_error");
    assert_no_violations(&s.server);
}

#[tokio::test]
async fn session_identity_quotas_and_usage_describe_the_mailbox() {
    let s = setup().await;
    let session = s.mbx.get("/mailbox/session").await;
    let data_ = data(&session);
    assert_eq!(data_["mailbox"]["id"], s.mailbox_id.as_str());
    assert_eq!(data_["capabilities"]["sync"]["typed_changes"], true);
    assert_eq!(data_["limits"]["batch_ids_max"], 100);
    assert!(
        data_["endpoints"]["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e == "GET /mailbox/messages")
    );
    let etag = session.header("etag").unwrap().to_owned();
    let same = s
        .mbx
        .call(Method::GET, "/mailbox/session")
        .header("if-none-match", &etag)
        .send()
        .await;
    assert_eq!(same.status, 304);
    let states_before = data_["states"].clone();

    let identity = data(&s.mbx.get("/mailbox/identity").await);
    assert_eq!(identity["email"], "agent@acme.com");
    let updated = s
        .mbx
        .call(Method::PATCH, "/mailbox/identity")
        .json(&json!({ "name": "Support Agent", "text_signature": "-- \nSupport" }))
        .send()
        .await;
    assert_eq!(data(&updated)["name"], "Support Agent");
    let listed = data(&s.mbx.get("/mailbox/identities").await);
    assert_eq!(listed[0]["text_signature"], "-- \nSupport");
    let long = "x".repeat(300);
    s.mbx
        .call(Method::PATCH, "/mailbox/identity")
        .json(&json!({ "name": long }))
        .send()
        .await
        .assert_error(422, "validation_error");

    let granted = data(&s.mbx.get("/mailbox/mailboxes").await);
    assert_eq!(
        granted,
        json!([{ "id": s.mailbox_id, "email": "agent@acme.com" }])
    );
    assert_eq!(
        data(&s.mbx.get("/mailbox/mailboxes?q=nobody").await),
        json!([])
    );

    s.server
        .deliver(&s.key, mail("Sized", &"y".repeat(10_000)))
        .unwrap();
    let quotas = data(&s.mbx.get("/mailbox/quotas").await);
    let storage = quotas
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["resource_type"] == "octets")
        .unwrap()
        .clone();
    assert!(storage["used"].as_u64().unwrap() > 10_000);
    assert_eq!(storage["hard_limit"], 1_073_741_824_u64);
    let counted = data(&s.mbx.get("/mailbox/quotas?resource_type=count").await);
    assert_eq!(counted[0]["used"], 1);
    let usage = data(&s.mbx.get("/mailbox/usage").await);
    assert_eq!(usage["resources"].as_array().unwrap().len(), 2);
    assert_eq!(usage["resources"][0]["limit_status"], "ok");
    let states_after = data(&s.mbx.get("/mailbox/session").await)["states"].clone();
    for kind in ["messages", "threads", "folders", "quotas", "identities"] {
        assert_ne!(states_before[kind], states_after[kind], "{kind}");
    }
    assert_eq!(states_before["submissions"], states_after["submissions"]);
    assert_no_violations(&s.server);
}

#[tokio::test]
async fn only_a_mailbox_key_reaches_its_own_mailbox() {
    let s = setup().await;
    s.root
        .get("/mailbox/messages")
        .await
        .assert_error(403, "insufficient_permissions");
    s.mbx
        .get("/mailbox/messages?mailbox_id=mbx_someone_else")
        .await
        .assert_error(404, "not_found");
    let lenient = Api::with_key(&s.server, Some("smx_mbx_not_issued"));
    lenient
        .get("/mailbox/folders")
        .await
        .assert_error(404, "not_found");
    let ops = reqwest::get(format!("{}/operations", s.server.admin_url()))
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let missing: Vec<&Value> = ops["operations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|op| op["surface"] == "mailbox" && op["implemented"] == false)
        .collect();
    assert!(missing.is_empty(), "not implemented: {missing:?}");
    assert_eq!(
        s.server.deliver("mbx_nope", mail("x", "y")),
        Err(sendmux_mock::DeliverError::UnknownMailbox)
    );
    assert!(matches!(
        s.server.deliver(&s.key, InboundMessage::default()),
        Err(sendmux_mock::DeliverError::Invalid(_))
    ));
}

#[tokio::test]
async fn the_admin_route_delivers_mail() {
    let s = setup().await;
    let http = reqwest::Client::new();
    let r = http
        .post(format!(
            "{}/mailboxes/{}/messages",
            s.server.admin_url(),
            s.mailbox_id
        ))
        .json(&json!({
            "from": "dave@example.com",
            "subject": "Via admin",
            "text": "hello",
            "spam": true,
            "headers": [["X-Campaign", "spring"]],
            "attachments": [
                { "filename": "a.txt", "content_type": "text/plain", "content_base64": "aGk=" },
                { "filename": "big.bin", "generated_size_bytes": 1000 }
            ]
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let answer: Value = r.json().await.unwrap();
    let id = str_of(&answer, "/message_id").to_owned();
    let junk = folder_id(&s.mbx, "junk").await;
    let m = data(&s.mbx.get(&format!("/mailbox/messages/{id}")).await);
    assert_eq!(m["folder_ids"], json!([junk]));
    assert_eq!(m["attachments"][1]["size_bytes"], 1000);
    let by_header = ids(&s
        .mbx
        .get("/mailbox/messages?header_name=x-campaign&header_value=SPRING")
        .await);
    assert_eq!(by_header, [id]);
    let unknown = http
        .post(format!(
            "{}/mailboxes/mbx_nope/messages",
            s.server.admin_url()
        ))
        .json(&json!({ "from": "a@example.com" }))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
}

#[tokio::test]
async fn me_counts_the_stored_mail_and_its_etag_follows() {
    let s = setup().await;
    let before = s.mbx.get("/mailbox/me").await;
    assert_eq!(before.status, 200);
    assert_eq!(before.json()["data"]["quota_used_bytes"], 0);
    let etag = before.header("etag").to_owned();

    s.server
        .deliver(&s.key, mail("Weighty", &"z".repeat(5_000)))
        .unwrap();
    let after = s.mbx.get("/mailbox/me").await;
    let used = after.json()["data"]["quota_used_bytes"].as_u64().unwrap();
    assert!(used >= 5_000, "{used}");
    assert_ne!(
        after.header("etag"),
        etag,
        "the ETag must change with the usage"
    );
}
