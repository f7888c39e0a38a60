//! The Mailbox API: every operation's method, path, query, body and
//! headers with the mailbox key on the main base URL, the handle's
//! `mailbox_id`, streams, conditional requests, batches split and merged
//! in order, and validation before any I/O.

use std::sync::{Arc, Mutex};

use futures::TryStreamExt;
use httpmock::prelude::*;
use httpmock::{HttpMockRequest, HttpMockResponse};
use sendmux_client::clock::VirtualClock;
use sendmux_client::mailbox::{
    BodyMode, ContentPart, GetItem, IncludeAttachments, IncludeHeaders, ListQuotasResourceType,
    ListQuotasScope, ListQuotasSortBy, ListSubmissionsSortBy, ListSubmissionsUndoStatus,
    ListThreadMessagesSort, Mailbox, MessageAttachment, MessageSortBy, RawBodyPart, ResourceType,
    SortDirection, State, WriteItem,
};
use sendmux_client::{Client, Conditional, Error};
use serde_json::{Value, json};

use crate::fixtures::{ETAG, not_modified, reply, reply_error, reply_page};
use crate::support::*;

/// The mailbox key of the tests; never printed.
pub(crate) const MBX: &str = "smx_mbx_MBXSECRET0123456789";
pub(crate) const MBX_SECRET: &str = "MBXSECRET0123456789";
pub(crate) const MBX_BEARER: &str = "Bearer smx_mbx_MBXSECRET0123456789";

/// A client holding the root key and the mailbox key, on `server`.
pub(crate) fn client(server: &MockServer) -> Client {
    builder(&server.base_url(), &VirtualClock::new())
        .mailbox_key(MBX)
        .build()
        .unwrap()
}

pub(crate) fn mailbox(server: &MockServer) -> Mailbox {
    client(server).mailbox()
}

fn invalid(error: &Error) -> &str {
    error
        .as_invalid_input()
        .unwrap_or_else(|| panic!("not InvalidInput: {error:?}"))
        .field
        .as_str()
}

pub(crate) fn address(email: &str) -> Value {
    json!({"email": email, "name": null})
}

pub(crate) fn summary(id: &str) -> Value {
    json!({
        "id": id,
        "thread_id": "thr_1",
        "folder_ids": ["fld_inbox"],
        "subject": format!("Subject of {id}"),
        "preview": "Hello",
        "from": address("ada@example.com"),
        "to": [address("agent@mail.acme.com")],
        "cc": [],
        "bcc": [],
        "received_at": "2026-11-01T10:00:00Z",
        "sent_at": "2026-11-01T09:59:00Z",
        "size_bytes": 1200,
        "has_attachments": false,
        "keywords": ["$seen"],
        "flags": {"seen": true, "flagged": false, "draft": false, "answered": false}
    })
}

pub(crate) fn message(id: &str) -> Value {
    let mut m = summary(id);
    m["text_body"] = json!("Hello there");
    m["html_body"] = Value::Null;
    m
}

pub(crate) fn folder(id: &str, name: &str, role: Option<&str>) -> Value {
    json!({
        "id": id, "name": name, "parent_id": null, "role": role, "sort_order": 1,
        "total_messages": 3, "unread_messages": 1, "can_add_items": true
    })
}

fn content(id: &str) -> Value {
    json!({
        "id": id,
        "thread_id": "thr_1",
        "subject": "Hello",
        "participants": {"from": address("ada@example.com"), "to": [], "cc": [], "bcc": [], "reply_to": []},
        "dates": {"received_at": "2026-11-01T10:00:00Z", "sent_at": null},
        "body": {
            "format": "text", "text": "Hello", "html": null, "is_truncated": false,
            "truncated_at_chars": null, "signature_stripped": true, "quotes_stripped": true,
            "extracted_links": []
        },
        "headers": {"mode": "none", "full": null, "selected": null},
        "attachments": [],
        "states": {"email_state": "m5", "option_hash": "h1"}
    })
}

fn thread_summary(id: &str) -> Value {
    json!({
        "id": id, "subject": "Hello", "message_count": 2, "unread_count": 1,
        "has_attachments": false, "folder_ids": ["fld_inbox"],
        "participants": [address("ada@example.com")], "last_message": summary("msg_2"),
        "states": {"thread_state": "t1", "email_state": "m1"}
    })
}

fn identity() -> Value {
    json!({
        "id": "ident_1", "name": "Agent", "email": "agent@mail.acme.com", "reply_to": [],
        "bcc": [], "text_signature": "", "html_signature": "", "may_delete": false
    })
}

fn submission(id: &str) -> Value {
    json!({
        "id": id, "identity_id": "ident_1", "email_id": "msg_9", "thread_id": "thr_9",
        "send_at": "2026-11-01T10:00:00Z", "undo_status": "final",
        "envelope": null, "delivery_status": [], "dsn_blob_ids": [], "mdn_blob_ids": []
    })
}

fn me() -> Value {
    json!({
        "id": "mbx_7", "email": "agent@mail.acme.com", "display_name": "Agent",
        "quota_bytes": 1_073_741_824_u64, "send_scope": null, "status": "active",
        "created_at": "2026-11-01T10:00:00Z", "quota_used_bytes": 2048
    })
}

pub(crate) fn session() -> Value {
    let caps = |names: &[&str]| -> Value {
        names
            .iter()
            .map(|n| ((*n).to_owned(), json!(true)))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    let mut messages = caps(&[
        "list",
        "detail",
        "raw_body",
        "clean_content",
        "batch_get",
        "count",
        "search_snippets",
        "changes",
        "query_changes",
        "keywords",
        "batch_update",
        "delete",
        "permanent_delete",
    ]);
    messages["update_fields"] = json!(["seen", "flagged", "keywords"]);
    json!({
        "mailbox": {"id": "mbx_7", "email": "agent@mail.acme.com", "display_name": null},
        "states": {
            "messages": "m1", "folders": "f1", "threads": "t1",
            "submissions": "s1", "identities": "i1", "quotas": "q1"
        },
        "capabilities": {
            "messages": messages,
            "threads": caps(&["list", "detail", "messages", "clean_content", "changes"]),
            "folders": caps(&["list", "detail", "create", "update", "delete", "changes", "query_changes"]),
            "submissions": caps(&["list", "detail", "changes", "send"]),
            "identities": {"list": true, "changes": true, "create": false, "update": true, "delete": false},
            "quotas": {"list": true, "usage": true, "changes": true, "update": false},
            "attachments": {
                "upload": true, "download": true, "range_download": true, "metadata": true,
                "parsing": false, "send_with_uploaded_blob": true
            },
            "sync": {"typed_changes": true, "types": ["messages", "folders"], "query_changes": ["messages"]}
        },
        "limits": {
            "list_limit_max": 100, "changes_limit_max": 500, "batch_ids_max": 40,
            "message_body_chars_default": 20000, "thread_body_chars_default": 8000,
            "body_chars_max": 1000000, "inline_attachment_bytes_max": 524288,
            "attachment_upload_bytes_max": 26214400, "outbound_raw_message_bytes_max": 41943040,
            "keywords_per_update_max": 2
        },
        "gated": {
            "identity_mutation": false, "quota_mutation": true, "vacation_response": true,
            "filter_script_writes": true, "events": false, "raw_protocol": true,
            "attachment_parsing": true, "message_copy": true, "message_import": true,
            "message_parse": true, "blob_lookup": true, "blob_copy": true
        },
        "endpoints": {
            "mailbox": [], "messages": [], "threads": [], "folders": [],
            "submissions": [], "usage": [], "sync": []
        }
    })
}

/// Expects one request of `method` to `path` with the mailbox key and
/// `query`, answering `data` in the success envelope.
async fn expect<'a>(
    server: &'a MockServer,
    method: Method,
    path: &str,
    query: &[(&str, &str)],
    data: Value,
) -> httpmock::Mock<'a> {
    server
        .mock_async(|when, then| {
            let mut when = when
                .method(method)
                .path(path)
                .header("authorization", MBX_BEARER);
            for (name, value) in query {
                when = when.query_param(*name, *value);
            }
            reply(then, 200, data);
        })
        .await
}

#[tokio::test]
async fn account_calls_take_the_mailbox_key_and_the_handles_mailbox_id() {
    let server = MockServer::start_async().await;
    let pinned = [("mailbox_id", "mbx_7")];
    let me_mock = expect(&server, GET, "/mailbox/me", &pinned, me()).await;
    let session_mock = expect(&server, GET, "/mailbox/session", &pinned, session()).await;
    let identities = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/mailbox/identities")
                .query_param("mailbox_id", "mbx_7")
                .query_param("limit", "10")
                .header("authorization", MBX_BEARER);
            reply_page(then, vec![identity()], None);
        })
        .await;
    let identity_mock = expect(&server, GET, "/mailbox/identity", &pinned, identity()).await;
    let update_identity = server
        .mock_async(|when, then| {
            when.method(PATCH)
                .path("/mailbox/identity")
                .query_param("mailbox_id", "mbx_7")
                .header("authorization", MBX_BEARER)
                .json_body(json!({"name": "Acme Support", "html_signature": null}));
            reply(then, 200, identity());
        })
        .await;
    // The granted list takes no mailbox_id: the handle leaves it out.
    let granted = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/mailbox/mailboxes")
                .query_param("q", "support")
                .query_param_missing("mailbox_id")
                .header("authorization", MBX_BEARER);
            reply_page(
                then,
                vec![json!({"id": "mbx_7", "email": "agent@mail.acme.com"})],
                None,
            );
        })
        .await;
    let quotas = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/mailbox/quotas")
                .query_param("mailbox_id", "mbx_7")
                .query_param("scope", "account")
                .query_param("resource_type", "octets")
                .query_param("type", "Mail")
                .query_param("name", "storage")
                .query_param("sort_by", "used")
                .query_param("sort_direction", "desc")
                .header("authorization", MBX_BEARER);
            reply_page(then, vec![], None);
        })
        .await;
    let usage = expect(
        &server,
        GET,
        "/mailbox/usage",
        &pinned,
        json!({"resources": [], "states": {"quota_state": "q1"}}),
    )
    .await;
    let submissions = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/mailbox/submissions")
                .query_param("mailbox_id", "mbx_7")
                .query_param("email_ids", "msg_1,msg_2")
                .query_param("thread_ids", "thr_1")
                .query_param("identity_ids", "ident_1")
                .query_param("undo_status", "final")
                .query_param("after", "2026-11-01T00:00:00Z")
                .query_param("before", "2026-11-02T00:00:00Z")
                .query_param("sort_by", "send_at")
                .query_param("sort_direction", "asc")
                .header("authorization", MBX_BEARER);
            reply_page(then, vec![submission("sub_1")], None);
        })
        .await;
    let one_submission = expect(
        &server,
        GET,
        "/mailbox/submissions/sub_1",
        &pinned,
        submission("sub_1"),
    )
    .await;

    let mailbox = mailbox(&server).for_mailbox("mbx_7");
    assert_eq!(mailbox.mailbox_id(), Some("mbx_7"));
    let me = mailbox.me().await.unwrap();
    assert_eq!((me.id.as_str(), me.quota_used_bytes), ("mbx_7", Some(2048)));
    assert_eq!(me.etag(), Some(ETAG));
    let session = mailbox.session().await.unwrap();
    assert_eq!(session.limits.batch_ids_max, 40);
    assert_eq!(mailbox.identities().limit(10).await.unwrap().items.len(), 1);
    assert_eq!(mailbox.identity().await.unwrap().name, "Agent");
    mailbox
        .update_identity()
        .name("Acme Support")
        .clear_html_signature()
        .await
        .unwrap();
    let found = mailbox.granted_mailboxes().search("support").await.unwrap();
    assert_eq!(found.items[0].id, "mbx_7");
    mailbox
        .quotas()
        .scope(ListQuotasScope::Account)
        .resource_type(ListQuotasResourceType::Octets)
        .data_type("Mail")
        .name("storage")
        .sort_by(ListQuotasSortBy::Used)
        .sort_direction(SortDirection::Desc)
        .await
        .unwrap();
    mailbox.usage().await.unwrap();
    let listed = mailbox
        .submissions()
        .email_ids(["msg_1", "msg_2"])
        .thread_ids(["thr_1"])
        .identity_ids(["ident_1"])
        .undo_status(ListSubmissionsUndoStatus::Final)
        .after("2026-11-01T00:00:00Z")
        .before("2026-11-02T00:00:00Z")
        .sort_by(ListSubmissionsSortBy::SendAt)
        .sort_direction(SortDirection::Asc)
        .await
        .unwrap();
    assert_eq!(listed.items[0].id, "sub_1");
    mailbox.submission("sub_1").await.unwrap();

    for mock in [
        me_mock,
        session_mock,
        identities,
        identity_mock,
        update_identity,
        granted,
        quotas,
        usage,
        submissions,
        one_submission,
    ] {
        mock.assert_async().await;
    }
}

#[tokio::test]
async fn message_calls_send_every_filter_flag_and_option() {
    let server = MockServer::start_async().await;
    let list = server
        .mock_async(|when, then| {
            let mut when = when
                .method(GET)
                .path("/mailbox/messages")
                .header("authorization", MBX_BEARER);
            for (name, value) in [
                ("folder_id", "fld_inbox"),
                ("thread_id", "thr_1"),
                ("q", "invoice"),
                ("from", "ada"),
                ("to", "agent"),
                ("cc", "grace"),
                ("bcc", "audit"),
                ("subject", "Q3"),
                ("body", "total"),
                ("header_name", "X-Campaign"),
                ("header_value", "fall"),
                ("min_size_bytes", "10"),
                ("max_size_bytes", "5000"),
                ("keyword", "$flagged"),
                ("not_keyword", "$seen"),
                ("after", "2026-11-01T00:00:00Z"),
                ("before", "2026-11-30T00:00:00Z"),
                ("has_attachment", "true"),
                ("is_unread", "false"),
                ("sort_by", "size_bytes"),
                ("sort_direction", "asc"),
                ("limit", "25"),
            ] {
                when = when.query_param(name, value);
            }
            reply_page(then, vec![summary("msg_1")], None);
        })
        .await;
    let get = expect(
        &server,
        GET,
        "/mailbox/messages/msg_1",
        &[],
        message("msg_1"),
    )
    .await;
    let update = server
        .mock_async(|when, then| {
            when.method(PATCH)
                .path("/mailbox/messages/msg_1")
                .header("authorization", MBX_BEARER)
                .header("if-match", ETAG)
                .json_body(json!({
                    "seen": true,
                    "flagged": false,
                    "keywords": {"needs_reply": true, "done": false}
                }));
            reply(then, 200, message("msg_1"));
        })
        .await;
    let delete = server
        .mock_async(|when, then| {
            when.method(DELETE)
                .path("/mailbox/messages/msg_1")
                .query_param("permanent", "true")
                .header("if-match", ETAG)
                .header("authorization", MBX_BEARER);
            reply(then, 200, json!({"deleted": true, "id": "msg_1"}));
        })
        .await;
    let count = expect(
        &server,
        GET,
        "/mailbox/messages/count",
        &[("is_unread", "true"), ("folder_id", "fld_inbox")],
        json!({"total": 7, "sync_state": "m3"}),
    )
    .await;
    let snippets = expect(
        &server,
        GET,
        "/mailbox/messages/search-snippets",
        &[
            ("q", "invoice"),
            ("message_ids", "msg_1,msg_2"),
            ("limit", "5"),
        ],
        json!({
            "snippets": [{"message_id": "msg_1", "subject": "Invoice", "preview": "total"}],
            "not_found": ["msg_2"],
            "sync_state": "m3"
        }),
    )
    .await;
    let body = expect(
        &server,
        GET,
        "/mailbox/messages/msg_1/body",
        &[("part", "both"), ("max_body_chars", "500")],
        json!({
            "id": "msg_1", "thread_id": "thr_1", "part": "both",
            "body": {"text": "Hello", "html": "<p>Hello</p>", "is_truncated": false, "truncated_at_chars": null},
            "states": {"email_state": "m3"}
        }),
    )
    .await;
    let content_mock = expect(
        &server,
        GET,
        "/mailbox/messages/msg_1/content",
        &[
            ("part", "text"),
            ("max_body_chars", "1000"),
            ("strip_signature", "true"),
            ("strip_quotes", "true"),
            ("include_links", "true"),
            ("include_html", "false"),
            ("include_headers", "selected"),
            ("include_attachments", "metadata"),
        ],
        content("msg_1"),
    )
    .await;

    let messages = mailbox(&server).messages();
    let page = messages
        .list()
        .folder_id("fld_inbox")
        .thread_id("thr_1")
        .text("invoice")
        .from("ada")
        .to("agent")
        .cc("grace")
        .bcc("audit")
        .subject("Q3")
        .body_contains("total")
        .header_match("X-Campaign", "fall")
        .min_size_bytes(10)
        .max_size_bytes(5000)
        .keyword("$flagged")
        .not_keyword("$seen")
        .after("2026-11-01T00:00:00Z")
        .before("2026-11-30T00:00:00Z")
        .has_attachment(true)
        .is_unread(false)
        .sort_by(MessageSortBy::SizeBytes)
        .sort_direction(SortDirection::Asc)
        .limit(25)
        .await
        .unwrap();
    assert_eq!(page.items[0].id, "msg_1");
    let read = messages.get("msg_1").await.unwrap();
    assert_eq!(read.text_body.as_deref(), Some("Hello there"));
    messages
        .update("msg_1")
        .seen(true)
        .flagged(false)
        .add_keyword("needs_reply")
        .remove_keyword("done")
        .if_match(read.etag().unwrap())
        .await
        .unwrap();
    messages
        .delete("msg_1")
        .permanently()
        .if_match(ETAG)
        .await
        .unwrap();
    let counted = messages
        .count()
        .is_unread(true)
        .folder_id("fld_inbox")
        .await
        .unwrap();
    assert_eq!(counted.total, 7);
    let found = messages
        .search_snippets("invoice")
        .message_ids(["msg_1", "msg_2"])
        .limit(5)
        .await
        .unwrap();
    assert_eq!(found.not_found, ["msg_2"]);
    let raw = messages
        .body("msg_1")
        .part(RawBodyPart::Both)
        .max_body_chars(500)
        .await
        .unwrap();
    assert_eq!(raw.body.html.as_deref(), Some("<p>Hello</p>"));
    let clean = messages
        .content("msg_1")
        .part(ContentPart::Text)
        .max_body_chars(1000)
        .strip_signature(true)
        .strip_quotes(true)
        .include_links(true)
        .include_html(false)
        .include_headers(IncludeHeaders::Selected)
        .include_attachments(IncludeAttachments::Metadata)
        .await
        .unwrap();
    assert_eq!(clean.states.email_state.as_deref(), Some("m5"));

    for mock in [
        list,
        get,
        update,
        delete,
        count,
        snippets,
        body,
        content_mock,
    ] {
        mock.assert_async().await;
    }
}

#[tokio::test]
async fn thread_and_folder_calls_send_their_paths_and_bodies() {
    let server = MockServer::start_async().await;
    let threads = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/mailbox/threads")
                .query_param("participant", "ada")
                .query_param("is_unread", "true")
                .query_param("sort_direction", "desc")
                .header("authorization", MBX_BEARER);
            reply_page(then, vec![thread_summary("thr_1")], None);
        })
        .await;
    let mut detail = thread_summary("thr_1");
    detail["message_ids"] = json!(["msg_1", "msg_2"]);
    let thread = expect(&server, GET, "/mailbox/threads/thr_1", &[], detail).await;
    let thread_messages = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/mailbox/threads/thr_1/messages")
                .query_param("sort", "desc")
                .header("authorization", MBX_BEARER);
            reply_page(then, vec![summary("msg_2"), summary("msg_1")], None);
        })
        .await;
    let create = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/mailbox/folders")
                .header("authorization", MBX_BEARER)
                .json_body(json!({"name": "2026", "parent_id": "fld_receipts", "sort_order": 5}));
            reply(then, 201, folder("fld_2026", "2026", None));
        })
        .await;
    let update = server
        .mock_async(|when, then| {
            when.method(PATCH)
                .path("/mailbox/folders/fld_2026")
                .header("authorization", MBX_BEARER)
                .header("if-match", ETAG)
                .json_body(json!({"name": "Invoices", "parent_id": null, "sort_order": 2}));
            reply(then, 200, folder("fld_2026", "Invoices", None));
        })
        .await;
    let delete = server
        .mock_async(|when, then| {
            when.method(DELETE)
                .path("/mailbox/folders/fld_2026")
                .header("authorization", MBX_BEARER)
                .header("if-match", ETAG);
            reply(then, 200, json!({"deleted": true, "id": "fld_2026"}));
        })
        .await;

    let mailbox = mailbox(&server);
    let listed = mailbox
        .threads()
        .list()
        .participant("ada")
        .is_unread(true)
        .sort_direction(SortDirection::Desc)
        .await
        .unwrap();
    assert_eq!(listed.items[0].message_count, 2);
    let got = mailbox.threads().get("thr_1").await.unwrap();
    assert_eq!(got.message_ids, ["msg_1", "msg_2"]);
    let in_thread = mailbox
        .threads()
        .messages("thr_1")
        .sort(ListThreadMessagesSort::Desc)
        .await
        .unwrap();
    assert_eq!(in_thread.items[0].id, "msg_2");
    let folders = mailbox.folders();
    let created = folders
        .create("2026")
        .parent("fld_receipts")
        .sort_order(5)
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    folders
        .update("fld_2026")
        .name("Invoices")
        .to_top_level()
        .sort_order(2)
        .if_match(created.etag().unwrap())
        .await
        .unwrap();
    let deleted = folders.delete("fld_2026").if_match(ETAG).await.unwrap();
    assert!(deleted.deleted);

    for mock in [threads, thread, thread_messages, create, update, delete] {
        mock.assert_async().await;
    }
}

#[tokio::test]
async fn conditional_reads_send_if_none_match_and_decode_304() {
    let server = MockServer::start_async().await;
    let unchanged = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/mailbox/messages/msg_1")
                .header("if-none-match", "W/\"old\"")
                .header("authorization", MBX_BEARER);
            not_modified(then);
        })
        .await;
    let changed = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/mailbox/folders/fld_1")
                .header("if-none-match", "W/\"old\"");
            reply(then, 200, folder("fld_1", "Receipts", None));
        })
        .await;
    let content_304 = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/mailbox/messages/msg_1/content")
                .query_param("strip_quotes", "true")
                .header("if-none-match", "W/\"old\"");
            not_modified(then);
        })
        .await;
    let session_304 = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/mailbox/session")
                .header("if-none-match", "W/\"old\"");
            not_modified(then);
        })
        .await;

    let mailbox = mailbox(&server);
    let message = mailbox
        .messages()
        .get_if_changed("msg_1", "W/\"old\"")
        .await
        .unwrap();
    assert!(matches!(message, Conditional::NotModified(_)));
    assert_eq!(message.etag(), Some(ETAG));
    let folder = mailbox
        .folders()
        .get_if_changed("fld_1", "W/\"old\"")
        .await
        .unwrap();
    assert_eq!(folder.modified().unwrap().name, "Receipts");
    let content = mailbox
        .messages()
        .content_if_changed("msg_1", "W/\"old\"")
        .strip_quotes(true)
        .await
        .unwrap();
    assert!(!content.is_modified());
    assert!(
        !mailbox
            .session_if_changed("W/\"old\"")
            .await
            .unwrap()
            .is_modified()
    );
    for mock in [unchanged, changed, content_304, session_304] {
        mock.assert_async().await;
    }
}

#[tokio::test]
async fn item_streams_follow_the_cursors() {
    let server = MockServer::start_async().await;
    let first = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/mailbox/messages")
                .query_param("is_unread", "true")
                .query_param_missing("cursor");
            reply_page(then, vec![summary("msg_1"), summary("msg_2")], Some("c2"));
        })
        .await;
    let second = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/mailbox/messages")
                .query_param("is_unread", "true")
                .query_param("cursor", "c2");
            reply_page(then, vec![summary("msg_3")], None);
        })
        .await;
    let content_first = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/mailbox/threads/thr_1/content")
                .query_param("strip_quotes", "true")
                .query_param_missing("cursor");
            reply_page(then, vec![content("msg_1")], Some("t2"));
        })
        .await;
    let content_second = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/mailbox/threads/thr_1/content")
                .query_param("strip_quotes", "true")
                .query_param("cursor", "t2");
            reply_page(then, vec![content("msg_2")], None);
        })
        .await;

    let mailbox = mailbox(&server);
    let ids: Vec<String> = mailbox
        .messages()
        .list()
        .is_unread(true)
        .stream()
        .map_ok(|m| m.id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids, ["msg_1", "msg_2", "msg_3"]);
    let bodies: Vec<String> = mailbox
        .threads()
        .content("thr_1")
        .strip_quotes(true)
        .stream()
        .map_ok(|c| c.id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(bodies, ["msg_1", "msg_2"]);
    for mock in [first, second, content_first, content_second] {
        mock.assert_async().await;
    }
}

/// What a batch endpoint saw: the ids and `if_in_state` of each request.
type Seen = Arc<Mutex<Vec<(Vec<String>, Option<String>)>>>;

fn ids_of(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("msg_{i}")).collect()
}

/// A batch-get endpoint answering the found messages in reverse order,
/// every id ending in `7` not found.
fn batch_get_responder() -> (
    Seen,
    impl Fn(&HttpMockRequest) -> HttpMockResponse + Send + Sync + 'static,
) {
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let responder = move |req: &HttpMockRequest| {
        let body: Value = serde_json::from_slice(req.body().as_ref()).unwrap();
        let ids: Vec<String> = serde_json::from_value(body["ids"].clone()).unwrap();
        log.lock().unwrap().push((ids.clone(), None));
        let (missing, found): (Vec<&String>, Vec<&String>) =
            ids.iter().partition(|id| id.ends_with('7'));
        let messages: Vec<Value> = found
            .iter()
            .rev()
            .map(|id| json!({"message": summary(id), "raw_body": null, "content": null}))
            .collect();
        let data = json!({
            "messages": messages,
            "not_found": missing,
            "states": {"email_state": "m9"}
        });
        HttpMockResponse::builder()
            .status(200)
            .header("content-type", "application/json")
            .header("x-request-id", "req_batch")
            .body(ok(data, "req_batch").to_string())
            .build()
    };
    (seen, responder)
}

#[tokio::test]
async fn a_batch_get_of_250_is_three_requests_merged_in_input_order() {
    let server = MockServer::start_async().await;
    let (seen, responder) = batch_get_responder();
    let endpoint = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/mailbox/messages:batch-get")
                .header("authorization", MBX_BEARER)
                .header_missing("idempotency-key")
                .body_includes("\"body_mode\":\"clean_json\"")
                .body_includes("\"strip_quotes\":true");
            then.respond_with(responder);
        })
        .await;
    let ids = ids_of(250);
    let outcome = mailbox(&server)
        .messages()
        .batch_get(&ids)
        .body_mode(BodyMode::CleanJson)
        .strip_quotes(true)
        .await
        .unwrap();
    endpoint.assert_calls_async(3).await;
    let sizes: Vec<usize> = seen.lock().unwrap().iter().map(|(i, _)| i.len()).collect();
    assert_eq!(sizes, [100, 100, 50]);
    let order: Vec<&str> = outcome.items.iter().map(GetItem::id).collect();
    assert_eq!(order, ids.iter().map(String::as_str).collect::<Vec<_>>());
    for item in &outcome.items {
        let missing = item.id().ends_with('7');
        assert_eq!(
            matches!(item, GetItem::NotFound { .. }),
            missing,
            "{item:?}"
        );
        assert_eq!(matches!(item, GetItem::Found(_)), !missing, "{item:?}");
    }
    assert_eq!(outcome.not_found().count(), 25);
    assert_eq!(outcome.found().count(), 225);
    assert!(outcome.is_complete());
    assert_eq!(outcome.requests.len(), 3);
    assert_eq!(outcome.requests[2].messages, 200..250);
    assert_eq!(outcome.email_state.unwrap().as_str(), "m9");
}

/// A batch-update (`done` is `updated`) or batch-delete (`deleted`)
/// endpoint: records ids and `if_in_state`, moves the state on by one per
/// request, refuses ids ending in `3`, and fails the request numbered
/// `fail_at` with a 500.
fn batch_write_responder(
    done: &'static str,
    fail_at: Option<usize>,
) -> (
    Seen,
    impl Fn(&HttpMockRequest) -> HttpMockResponse + Send + Sync + 'static,
) {
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let responder = move |req: &HttpMockRequest| {
        let body: Value = serde_json::from_slice(req.body().as_ref()).unwrap();
        let ids: Vec<String> = serde_json::from_value(body["ids"].clone()).unwrap();
        let state = body["if_in_state"].as_str().map(str::to_owned);
        let mut all = log.lock().unwrap();
        all.push((ids.clone(), state));
        let n = all.len();
        if fail_at == Some(n - 1) {
            return HttpMockResponse::builder()
                .status(500)
                .header("content-type", "application/json")
                .body(api_error("internal_error", "boom", false, "req_fail").to_string())
                .build();
        }
        let (refused, updated): (Vec<&String>, Vec<&String>) =
            ids.iter().partition(|id| id.ends_with('3'));
        let failed: Vec<Value> = refused
            .iter()
            .map(|id| json!({"id": id, "code": "conflict", "message": "locked"}))
            .collect();
        let mut data = json!({
            "not_found": [],
            "failed": failed,
            "states": {"old_state": format!("s{}", n - 1), "new_state": format!("s{n}")}
        });
        data[done] = json!(updated);
        HttpMockResponse::builder()
            .status(200)
            .header("content-type", "application/json")
            .body(ok(data, "req_up").to_string())
            .build()
    };
    (seen, responder)
}

#[tokio::test]
async fn a_batch_update_chains_if_in_state_and_reports_each_id() {
    let server = MockServer::start_async().await;
    let (seen, responder) = batch_write_responder("updated", None);
    let endpoint = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/mailbox/messages:batch-update")
                .header("authorization", MBX_BEARER)
                .body_includes("\"seen\":true")
                .body_includes("\"keywords\":{\"triaged\":true}");
            then.respond_with(responder);
        })
        .await;
    let ids = ids_of(250);
    let outcome = mailbox(&server)
        .messages()
        .batch_update(&ids)
        .seen(true)
        .add_keyword("triaged")
        .if_in_state(&State::new(ResourceType::Messages, "s0"))
        .await
        .unwrap();
    endpoint.assert_calls_async(3).await;
    let states: Vec<Option<String>> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|(_, s)| s.clone())
        .collect();
    assert_eq!(
        states,
        [Some("s0".into()), Some("s1".into()), Some("s2".into())]
    );
    assert_eq!(outcome.items.len(), 250);
    for (item, id) in outcome.items.iter().zip(&ids) {
        assert_eq!(item.id(), id);
        if id.ends_with('3') {
            assert!(
                matches!(item, WriteItem::Refused { code, .. } if code == "conflict"),
                "{item:?}"
            );
        } else {
            assert!(item.is_done(), "{item:?}");
        }
    }
    assert_eq!(outcome.done(), 225);
    assert_eq!(outcome.old_state.as_ref().unwrap().as_str(), "s0");
    assert_eq!(outcome.new_state.as_ref().unwrap().as_str(), "s3");
}

#[tokio::test]
async fn a_failed_batch_request_stops_the_later_ones() {
    let server = MockServer::start_async().await;
    let (seen, responder) = batch_write_responder("deleted", Some(1));
    server
        .mock_async(|when, then| {
            when.method(POST).path("/mailbox/messages:batch-delete");
            then.respond_with(responder);
        })
        .await;
    let ids = ids_of(250);
    let outcome = mailbox(&server)
        .messages()
        .batch_delete(&ids)
        .permanently()
        .retry_policy(sendmux_client::RetryPolicy::none())
        .await
        .unwrap();
    assert_eq!(
        seen.lock().unwrap().len(),
        2,
        "the third request is not made"
    );
    assert!(!outcome.is_complete());
    assert_eq!(outcome.error().unwrap().status(), Some(500));
    let failed = |range: std::ops::Range<usize>, sent: bool| {
        outcome.items[range]
            .iter()
            .all(|item| matches!(item, WriteItem::Failed { failure, .. } if failure.sent == sent))
    };
    assert!(failed(100..200, true));
    assert!(failed(200..250, false));
    assert!(outcome.requests[1].sent && !outcome.requests[2].sent);
    assert_eq!(outcome.done(), 90, "the first request's ids are reported");
    assert_eq!(outcome.new_state.as_ref().unwrap().as_str(), "s1");
}

#[tokio::test]
async fn the_sessions_limits_shape_batches_and_keyword_checks() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/mailbox/session");
            reply(then, 200, session());
        })
        .await;
    let (seen, responder) = batch_get_responder();
    server
        .mock_async(|when, then| {
            when.method(POST).path("/mailbox/messages:batch-get");
            then.respond_with(responder);
        })
        .await;
    let mailbox = mailbox(&server);
    let session = mailbox.session().await.unwrap();
    let limited = mailbox.with_limits(&session.limits);
    limited.messages().batch_get(ids_of(100)).await.unwrap();
    let sizes: Vec<usize> = seen.lock().unwrap().iter().map(|(i, _)| i.len()).collect();
    assert_eq!(sizes, [40, 40, 20]);
    // The session allows two keywords per update.
    let error = limited
        .messages()
        .update("msg_1")
        .add_keyword("a")
        .add_keyword("b")
        .add_keyword("c")
        .await
        .unwrap_err();
    assert_eq!(invalid(&error), "keywords");
}

#[tokio::test]
async fn sending_carries_an_idempotency_key_and_both_kinds_of_attachment() {
    let server = MockServer::start_async().await;
    let (log, responder) = script(vec![
        Reply::json(
            503,
            &api_error("service_unavailable", "busy", true, "req_a"),
        ),
        Reply::json(
            200,
            &ok(
                json!({"message_id": "msg_out", "status": "queued"}),
                "req_b",
            ),
        ),
    ]);
    server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/mailbox/messages/send")
                .header("authorization", MBX_BEARER)
                .json_body(json!({
                    "to": [{"email": "ada@example.com", "name": null}, {"email": "bob@example.com", "name": "Bob"}],
                    "cc": [{"email": "grace@example.com", "name": null}],
                    "bcc": [{"email": "audit@acme.com", "name": null}],
                    "reply_to": [{"email": "support@acme.com", "name": null}],
                    "from": {"email": "agent@mail.acme.com", "name": "Acme"},
                    "subject": "Your report",
                    "text_body": "Attached.",
                    "html_body": "<p>Attached.</p>",
                    "custom_headers": {"X-Campaign": "reports"},
                    "attachments": [
                        {"filename": "a.txt", "content_type": "text/plain", "content": "aGVsbG8="},
                        {"blob_id": "blob_1", "filename": "big.pdf", "content_type": "application/pdf"},
                        {"blob_id": "blob_2", "filename": "up.csv", "content_type": "text/csv"}
                    ]
                }));
            then.respond_with(responder);
        })
        .await;
    // The answer of an upload attaches by its blob id.
    let uploaded: sendmux_client::types::MailboxAttachmentUploadResult = serde_json::from_value(
        json!({"blob_id": "blob_2", "filename": "up.csv", "content_type": "text/csv", "size_bytes": 3}),
    )
    .unwrap();
    let sent = mailbox(&server)
        .messages()
        .send("ada@example.com", "Your report")
        .to(sendmux_client::sending::Address::named(
            "Bob",
            "bob@example.com",
        ))
        .cc("grace@example.com")
        .bcc("audit@acme.com")
        .reply_to("support@acme.com")
        .from(sendmux_client::sending::Address::named(
            "Acme",
            "agent@mail.acme.com",
        ))
        .text("Attached.")
        .html("<p>Attached.</p>")
        .custom_header("X-Campaign", "reports")
        .attach(MessageAttachment::inline("a.txt", "text/plain", b"hello"))
        .attach(MessageAttachment::blob(
            "blob_1",
            "big.pdf",
            "application/pdf",
        ))
        .attach(&uploaded)
        .await
        .unwrap();
    assert_eq!(sent.message_id, "msg_out");
    assert_eq!(sent.attempts(), 2);
    let keys = log.header_values("idempotency-key");
    let first = keys[0].clone().unwrap();
    assert!(first.starts_with("sendmux-rust-"), "{first}");
    assert_eq!(
        keys[1].as_deref(),
        Some(first.as_str()),
        "a retry reuses the key"
    );
}

#[tokio::test]
async fn bad_arguments_never_reach_the_network() {
    let server = MockServer::start_async().await;
    let anything = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(500);
        })
        .await;
    let mailbox = mailbox(&server);
    let messages = mailbox.messages();
    let too_many: Vec<String> = (0..51).map(|i| format!("k{i}")).collect();
    let mut update = messages.update("msg_1");
    for keyword in &too_many {
        update = update.add_keyword(keyword);
    }
    let cases: Vec<(&str, Error)> = vec![
        (
            "ids",
            messages.batch_get(Vec::<String>::new()).await.unwrap_err(),
        ),
        (
            "ids[1]",
            messages
                .batch_delete(["msg_1", "bad id"])
                .await
                .unwrap_err(),
        ),
        (
            "changes",
            messages.batch_update(["msg_1"]).await.unwrap_err(),
        ),
        (
            "keywords",
            messages
                .batch_update(["msg_1"])
                .add_keyword("$draft")
                .await
                .unwrap_err(),
        ),
        ("keywords", update.await.unwrap_err()),
        (
            "keywords",
            messages
                .update("msg_1")
                .add_keyword("two words")
                .await
                .unwrap_err(),
        ),
        (
            "idempotency_key",
            messages
                .batch_get(["msg_1"])
                .idempotency_key("k1")
                .await
                .unwrap_err(),
        ),
        (
            "if_in_state",
            messages
                .batch_delete(["msg_1"])
                .if_in_state(&State::new(ResourceType::Folders, "f1"))
                .await
                .unwrap_err(),
        ),
        ("message_id", messages.get("").await.unwrap_err()),
        ("q", messages.search_snippets(" ").await.unwrap_err()),
        (
            "message_ids",
            messages
                .search_snippets("x")
                .message_ids(ids_of(101))
                .await
                .unwrap_err(),
        ),
        (
            "after",
            messages.list().after("yesterday").await.unwrap_err(),
        ),
        (
            "max_body_chars",
            messages
                .content("msg_1")
                .max_body_chars(0)
                .await
                .unwrap_err(),
        ),
        (
            "from",
            mailbox
                .threads()
                .messages("thr_1")
                .from("ada")
                .await
                .unwrap_err(),
        ),
        (
            "thread_id",
            messages
                .search_snippets("x")
                .thread_id("thr_1")
                .await
                .unwrap_err(),
        ),
        (
            "to",
            messages.send("not an address", "Hi").await.unwrap_err(),
        ),
        (
            "subject",
            messages
                .send("ada@example.com", "two\nlines")
                .await
                .unwrap_err(),
        ),
        (
            "attachments[0].content_type",
            messages
                .send("ada@example.com", "Hi")
                .attach(MessageAttachment::inline("a.txt", "text", b"x"))
                .await
                .unwrap_err(),
        ),
        ("name", mailbox.folders().create("  ").await.unwrap_err()),
        (
            "folder_id",
            mailbox
                .folders()
                .delete_folder(
                    &serde_json::from_value(folder("fld_inbox", "Inbox", Some("inbox"))).unwrap(),
                )
                .await
                .unwrap_err(),
        ),
        (
            "name",
            mailbox
                .update_identity()
                .name("n".repeat(255))
                .await
                .unwrap_err(),
        ),
        (
            "mailbox_id",
            mailbox.for_mailbox("a/b").me().await.unwrap_err(),
        ),
    ];
    for (field, error) in &cases {
        assert_eq!(invalid(error), *field, "{error}");
        assert_eq!(error.attempts(), 0);
    }
    anything.assert_calls_async(0).await;
}

#[tokio::test]
async fn a_root_only_client_is_refused_before_any_io() {
    let server = MockServer::start_async().await;
    let anything = server
        .mock_async(|when, then| {
            when.any_request();
            then.status(500);
        })
        .await;
    let root_only = builder(&server.base_url(), &VirtualClock::new())
        .build()
        .unwrap();
    let mailbox = root_only.mailbox();
    let errors = [
        mailbox.me().await.unwrap_err(),
        mailbox.messages().list().await.unwrap_err(),
        mailbox.messages().batch_get(["msg_1"]).await.unwrap_err(),
        mailbox
            .changes_since(State::new(ResourceType::Messages, "m1"))
            .await
            .unwrap_err(),
    ];
    for error in &errors {
        assert_eq!(invalid(error), "api_key", "{error}");
        assert!(error.to_string().contains("smx_mbx_"), "{error}");
    }
    anything.assert_calls_async(0).await;
}

#[tokio::test]
async fn the_mailbox_key_stays_out_of_debug_and_errors() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(GET).path("/mailbox/me");
            reply_error(then, 401, "authentication_required", "key revoked");
        })
        .await;
    let client = client(&server);
    let mailbox = client.mailbox();
    let error = mailbox.me().await.unwrap_err();
    assert_eq!(error.status(), Some(401));
    let request = mailbox.messages().update("msg_1").seen(true);
    let text = format!(
        "{client:?} {mailbox:?} {request:?} {error} {error:?} {:?}",
        mailbox.messages().batch_get(["msg_1"])
    );
    assert!(!text.contains(MBX_SECRET), "{text}");
    assert!(!text.contains(SECRET), "{text}");
}
