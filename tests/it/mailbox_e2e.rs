//! The Mailbox API end to end: the typed client against the stateful mock,
//! from a verified domain and a new mailbox to delivered mail showing up
//! in lists and in the change feed, across two clients of one mailbox.

use futures::TryStreamExt;
use sendmux_client::mailbox::{
    AnyChanges, BodyMode, Mailbox, MessageAttachment, QueryState, ResourceType, States,
    SyncChanges, SyncOutcome,
};
use sendmux_client::{Client, Conditional, Error, ErrorCode};
use sendmux_mock::{InboundMessage, MockServer, Propagation};

use crate::support::assert_conformant;

const ROOT_KEY: &str = "smx_root_mailbox_e2e";

async fn mock() -> MockServer {
    MockServer::builder()
        .propagation(Propagation::AfterVerifyCalls { calls: 1 })
        .self_check(true)
        .start()
        .await
        .unwrap()
}

/// A verified domain and a mailbox on it: the root client and the
/// mailbox key.
async fn mailbox_on(server: &MockServer, domain: &str) -> (Client, String) {
    let root = Client::builder()
        .api_key(ROOT_KEY)
        .base_url(server.base_url())
        .build()
        .unwrap();
    let created = root.domains().create(domain).await.unwrap();
    let verified = root.domains().verify(&created.id).await.unwrap();
    assert_eq!(verified.status.as_str(), "verified");
    let mailbox = root
        .mailboxes()
        .create(format!("agent@{domain}"))
        .await
        .unwrap();
    let key = mailbox
        .credential
        .as_ref()
        .expect("a first key")
        .secret
        .expose_secret()
        .to_owned();
    (root, key)
}

fn hello(subject: &str) -> InboundMessage {
    InboundMessage {
        from: "Ada <ada@example.com>".into(),
        subject: subject.into(),
        text: Some(format!("{subject}, in plain text")),
        ..InboundMessage::default()
    }
}

fn changes(outcome: SyncOutcome<SyncChanges>) -> SyncChanges {
    match outcome {
        SyncOutcome::Changes(changes) => changes,
        other => panic!("expected changes, got {other:?}"),
    }
}

#[tokio::test]
async fn delivered_mail_and_flag_changes_reach_every_client_through_the_change_feed() {
    let server = mock().await;
    let (root, key) = mailbox_on(&server, "mail.sync.test").await;

    // The root client alone cannot call the Mailbox API.
    let refused = root.mailbox().me().await.unwrap_err();
    assert_eq!(refused.as_invalid_input().unwrap().field, "api_key");

    let client = root.with_mailbox_key(&key).unwrap();
    let mailbox = client.mailbox();
    let me = mailbox.me().await.unwrap();
    assert_eq!(me.email, "agent@mail.sync.test");

    let session = mailbox.session().await.unwrap();
    let before = States::from(&*session);
    assert_eq!(before.len(), ResourceType::ALL.len());

    let id = server.deliver(&key, hello("Quarterly numbers")).unwrap();
    let listed = mailbox.messages().list().await.unwrap();
    assert!(listed.items.iter().any(|m| m.id == id), "{listed:?}");

    let synced = changes(mailbox.changes_since(before.clone()).await.unwrap());
    let messages = synced.get(ResourceType::Messages).unwrap();
    assert_eq!(messages.created, [id.as_str()]);
    assert!(messages.updated.is_empty() && messages.destroyed.is_empty());
    assert_ne!(messages.new_state, messages.old_state);
    let after_delivery = synced.states();

    // Another client of the same mailbox marks it read and flagged...
    let other = Client::builder()
        .mailbox_key(&key)
        .base_url(server.base_url())
        .build()
        .unwrap();
    let read = other.mailbox().messages().get(&id).await.unwrap();
    let etag = read.etag().unwrap().to_owned();
    let updated = other
        .mailbox()
        .messages()
        .update(&id)
        .seen(true)
        .flagged(true)
        .if_match(etag)
        .await
        .unwrap();
    assert!(updated.flags.seen && updated.flags.flagged);

    // ...and the first client sees it as an update.
    let synced = changes(mailbox.changes_since(after_delivery).await.unwrap());
    let messages = synced.get(ResourceType::Messages).unwrap();
    assert_eq!(messages.updated, [id.as_str()]);
    assert!(messages.created.is_empty());
    let again = changes(mailbox.changes_since(synced.states()).await.unwrap());
    assert!(again.is_empty(), "{again:?}");

    // A delete with a stale If-Match is refused as a conflict.
    let folders = mailbox.folders();
    let created = folders.create("Receipts").await.unwrap();
    let stale = created.etag().unwrap().to_owned();
    folders
        .update(&created.id)
        .name("Invoices")
        .if_match(stale.clone())
        .await
        .unwrap();
    let error = folders
        .delete(&created.id)
        .if_match(stale)
        .await
        .unwrap_err();
    let Error::Api(api) = &error else {
        panic!("expected an API error, got {error:?}");
    };
    assert_eq!(api.status, 409);
    assert_eq!(api.code, ErrorCode::Conflict);
    assert!(!format!("{error} {error:?}").contains(&key));

    assert_conformant(&server);
    server.shutdown().await;
}

#[tokio::test]
async fn every_mailbox_operation_decodes_the_mocks_answers() {
    let server = mock().await;
    let (root, key) = mailbox_on(&server, "mail.ops.test").await;
    let mailbox: Mailbox = root.with_mailbox_key(&key).unwrap().mailbox();
    let first = server.deliver(&key, hello("Invoice 42")).unwrap();
    let mut reply = hello("Re: Invoice 42");
    reply.attachments = vec![(
        "invoice.txt".into(),
        "text/plain".into(),
        bytes::Bytes::from_static(b"total: 42"),
    )];
    let second = server.deliver(&key, reply).unwrap();

    // Account.
    let session = mailbox.session().await.unwrap();
    let mailbox = mailbox.with_limits(&session.limits);
    let me = mailbox.me().await.unwrap();
    let unchanged = mailbox.me_if_changed(me.etag().unwrap()).await.unwrap();
    assert!(matches!(unchanged, Conditional::NotModified(_)));
    let pinned = mailbox.for_mailbox(&me.id);
    assert_eq!(pinned.identities().await.unwrap().items.len(), 1);
    pinned
        .update_identity()
        .name("Agent")
        .text_signature("-- agent")
        .await
        .unwrap();
    assert_eq!(pinned.identity().await.unwrap().name, "Agent");
    let granted = mailbox.granted_mailboxes().await.unwrap();
    assert_eq!(granted.items[0].id, me.id);
    mailbox.quotas().await.unwrap();
    mailbox.usage().await.unwrap();
    let quota_state = mailbox.quota_changes().await.unwrap().new_state.clone();
    assert!(
        changes(mailbox.quota_changes_since(&quota_state).await.unwrap())
            .get(ResourceType::Quotas)
            .is_some()
    );

    // Messages.
    let messages = mailbox.messages();
    let all: Vec<_> = messages
        .list()
        .limit(1)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 2, "the stream follows the cursor");
    assert_eq!(messages.count().await.unwrap().total, 2);
    assert_eq!(
        messages.count().has_attachment(true).await.unwrap().total,
        1
    );
    let snippets = messages.search_snippets("Invoice").await.unwrap();
    assert!(!snippets.snippets.is_empty());
    messages.body(&first).await.unwrap();
    let content = messages.content(&second).strip_quotes(true).await.unwrap();
    assert_eq!(content.id, second);
    let fetched = messages
        .batch_get([&second, &"msg_missing".to_owned(), &first])
        .body_mode(BodyMode::CleanJson)
        .await
        .unwrap();
    let order: Vec<&str> = fetched.items.iter().map(|i| i.id()).collect();
    assert_eq!(order, [second.as_str(), "msg_missing", first.as_str()]);
    assert_eq!(fetched.not_found().collect::<Vec<_>>(), ["msg_missing"]);
    let flagged = messages
        .batch_update([&first, &second])
        .add_keyword("triaged")
        .seen(true)
        .await
        .unwrap();
    assert_eq!(flagged.done(), 2, "{flagged:?}");
    let start = messages
        .query_changes()
        .await
        .unwrap()
        .new_query_state
        .clone();
    let third = server.deliver(&key, hello("Another")).unwrap();
    let list_changes = messages
        .query_changes_since(&start)
        .await
        .unwrap()
        .changes()
        .unwrap();
    assert!(list_changes.added.iter().any(|a| a.id == third));

    // The two shapes of GET /mailbox/changes.
    let legacy = mailbox.changes().await.unwrap();
    assert!(matches!(&*legacy, AnyChanges::Messages(_)));
    let typed = mailbox
        .changes()
        .types([ResourceType::Messages, ResourceType::Threads])
        .await
        .unwrap();
    assert!(typed.get(ResourceType::Threads).is_some());

    // Threads.
    let threads = mailbox.threads();
    let listed = threads.list().await.unwrap();
    let thread = &listed.items[0];
    threads.get(&thread.id).await.unwrap();
    threads.messages(&thread.id).await.unwrap();
    let bodies: Vec<_> = threads
        .content(&thread.id)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert!(!bodies.is_empty());

    // Folders.
    let folders = mailbox.folders();
    let all = folders.list().limit(100).await.unwrap();
    let inbox = all.items.iter().find(|f| f.role.is_some()).unwrap();
    assert!(
        folders
            .delete_folder(inbox)
            .await
            .unwrap_err()
            .as_invalid_input()
            .is_some()
    );
    let built_in = folders.delete(&inbox.id).await.unwrap_err();
    assert_eq!(built_in.status(), Some(409));
    let folder_state = folders.changes().await.unwrap().new_state.clone();
    let list_state: QueryState = folders
        .query_changes()
        .await
        .unwrap()
        .new_query_state
        .clone();
    let archive = folders.create("Archive 2026").await.unwrap();
    let got = folders.get(&archive.id).await.unwrap();
    let etag = got.etag().unwrap().to_owned();
    assert!(
        !folders
            .get_if_changed(&archive.id, etag.clone())
            .await
            .unwrap()
            .is_modified()
    );
    folders
        .update(&archive.id)
        .sort_order(3)
        .if_match(etag)
        .await
        .unwrap();
    let folder_changes = changes(folders.changes_since(&folder_state).await.unwrap());
    assert_eq!(
        folder_changes.get(ResourceType::Folders).unwrap().created,
        [archive.id.as_str()]
    );
    let moved = folders
        .query_changes_since(&list_state)
        .await
        .unwrap()
        .changes()
        .unwrap();
    assert!(moved.added.iter().any(|a| a.id == archive.id));
    folders.delete(&archive.id).await.unwrap();

    // Sending, then its submission.
    let sent = messages
        .send("ada@example.com", "Thanks")
        .text("Got it.")
        .attach(MessageAttachment::inline("note.txt", "text/plain", b"ok"))
        .await
        .unwrap();
    let submissions = mailbox.submissions().await.unwrap();
    assert!(!submissions.items.is_empty(), "sent {}", sent.message_id);
    mailbox.submission(&submissions.items[0].id).await.unwrap();
    let submission_state = mailbox
        .submission_changes()
        .await
        .unwrap()
        .new_state
        .clone();
    changes(
        mailbox
            .submission_changes_since(&submission_state)
            .await
            .unwrap(),
    );

    // Deletes: to Trash, then for good.
    let trashed = messages.batch_delete([&third]).await.unwrap();
    assert_eq!(trashed.done(), 1);
    messages.delete(&first).permanently().await.unwrap();

    assert_conformant(&server);
    server.shutdown().await;
}
