//! Mailbox attachments end to end against the mock: a large delivered
//! attachment downloaded as a stream, by range and into a file, and
//! uploads direct and through the signed URL, whose exact headers the
//! mock insists on.

use bytes::Bytes;
use futures::TryStreamExt;
use sendmux_client::clock::VirtualClock;
use sendmux_mock::{InboundMessage, MockServer};

use crate::mailbox_events_e2e::setup;

#[tokio::test]
async fn a_delivered_attachment_downloads_whole_by_range_and_into_a_file() {
    let s = setup(MockServer::builder()).await;
    let bytes = s.server.generated_bytes(5 * 1024 * 1024 + 3);
    let message_id = s
        .server
        .deliver(
            &s.key,
            InboundMessage {
                from: "Ada <ada@example.com>".into(),
                subject: "Data".into(),
                text: Some("attached".into()),
                attachments: vec![(
                    "data.bin".into(),
                    "application/octet-stream".into(),
                    bytes.clone(),
                )],
                ..InboundMessage::default()
            },
        )
        .unwrap();
    let clock = VirtualClock::new();
    let mailbox = s.client(&clock).mailbox();
    let message = mailbox.messages().get(&message_id).await.unwrap();
    let attachment_id = message.attachments[0].id.clone();
    let attachments = mailbox.attachments();

    let chunks: Vec<Bytes> = attachments
        .download(&message_id, &attachment_id)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert!(chunks.len() > 1);
    assert!(chunks.concat() == bytes, "the streamed bytes differ");

    let body = attachments
        .download(&message_id, &attachment_id)
        .range(1_000_000..1_000_100)
        .await
        .unwrap();
    assert_eq!(body.status(), 206);
    assert_eq!(body.total_size(), Some(bytes.len() as u64));
    let part: Vec<Bytes> = body.into_stream().try_collect().await.unwrap();
    assert_eq!(part.concat(), bytes[1_000_000..1_000_100]);

    let path = std::env::temp_dir().join(format!("sendmux-e2e-{}.bin", std::process::id()));
    let written = attachments
        .download(&message_id, &attachment_id)
        .save_to(&path)
        .await
        .unwrap();
    assert_eq!(written, bytes.len() as u64);
    let saved = std::fs::read(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(saved == bytes, "the saved file differs");

    // Past the end: the mock's 416 is an error, not an empty body.
    let error = attachments
        .download(&message_id, &attachment_id)
        .resume_from(bytes.len() as u64)
        .await
        .unwrap_err();
    assert_eq!(error.status(), Some(416));
}

#[tokio::test]
async fn uploads_direct_and_signed_are_stored() {
    let s = setup(MockServer::builder()).await;
    let clock = VirtualClock::new();
    let attachments = s.client(&clock).mailbox().attachments();
    let bytes = s.server.generated_bytes(3 * 1024 * 1024);
    let path = std::env::temp_dir().join(format!("sendmux-e2e-up-{}.pdf", std::process::id()));
    std::fs::write(&path, &bytes).unwrap();

    let direct = attachments.upload_file(&path).await.unwrap();
    assert_eq!(
        direct.filename,
        format!("sendmux-e2e-up-{}.pdf", std::process::id())
    );
    assert_eq!(direct.size_bytes, bytes.len() as i64);
    assert_eq!(direct.content_type, "application/pdf");

    let signed = attachments
        .upload_file_signed(&path, "application/pdf")
        .await
        .unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(signed.blob_id.starts_with("blob_"), "{}", signed.blob_id);
    assert_eq!(signed.size_bytes, bytes.len() as i64);
    assert_ne!(signed.blob_id, direct.blob_id);

    // A spent URL takes no second upload.
    let intent = attachments
        .create_upload("x.txt", "text/plain", 2)
        .await
        .unwrap();
    attachments.complete_upload(&intent, "hi").await.unwrap();
    let again = attachments
        .complete_upload(&intent, "hi")
        .await
        .unwrap_err();
    assert_eq!(again.status(), Some(404));
}
