//! The Management API end to end: the typed client against the stateful
//! mock, across groups (a domain's mailboxes, a mailbox's keys on the
//! Mailbox API surface).

use sendmux_client::{Client, Error};
use sendmux_mock::{MockServer, Propagation};

use crate::support::assert_conformant;

const ROOT_KEY: &str = "smx_root_lifecycle";

async fn mock() -> MockServer {
    MockServer::builder()
        .propagation(Propagation::AfterVerifyCalls { calls: 1 })
        .self_check(true)
        .start()
        .await
        .unwrap()
}

fn client(server: &MockServer, key: &str) -> Client {
    Client::builder()
        .api_key(key)
        .base_url(server.base_url())
        .build()
        .unwrap()
}

/// `GET /mailbox/me` with `key`: the HTTP status the mock answers. Plain
/// HTTP: the typed client speaks the Management surface only, and refuses a
/// mailbox key before sending anything.
async fn me_status(server: &MockServer, key: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{}/mailbox/me", server.base_url()))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn api_status(error: &Error) -> Option<u16> {
    error.as_api().map(|_| error.status().unwrap_or(0))
}

#[tokio::test]
async fn a_mailbox_key_lives_and_dies_with_its_mailbox_and_the_domain_waits_for_both() {
    let server = mock().await;
    let root = client(&server, ROOT_KEY);

    let domain = root.domains().create("mail.lifecycle.test").await.unwrap();
    let verified = root.domains().verify(&domain.id).await.unwrap();
    assert_eq!(verified.status.as_str(), "verified");

    let created = root
        .mailboxes()
        .create("agent@mail.lifecycle.test")
        .await
        .unwrap();
    let mailbox_id = created.mailbox.id.clone();
    let credential = created.credential.clone().expect("a first key is issued");
    let key = credential.secret.expose_secret().to_owned();
    assert!(key.starts_with("smx_mbx_"));
    // The key is shown once and never printed.
    assert!(!format!("{created:?}").contains(&key));

    assert_eq!(
        me_status(&server, &key).await,
        200,
        "a fresh key authenticates"
    );

    // The domain cannot go while a mailbox uses it.
    let blocked = root.domains().delete(&domain.id).await.unwrap_err();
    assert_eq!(api_status(&blocked), Some(409), "{blocked}");

    root.mailboxes()
        .revoke_key(&mailbox_id, &credential.public_id)
        .await
        .unwrap();
    assert_eq!(
        me_status(&server, &key).await,
        401,
        "a revoked key is refused"
    );

    root.mailboxes().delete(&mailbox_id).await.unwrap();
    root.domains().delete(&domain.id).await.unwrap();
    assert_conformant(&server);
    server.shutdown().await;
}

#[tokio::test]
async fn deleting_a_mailbox_revokes_every_key_it_had() {
    let server = mock().await;
    let root = client(&server, ROOT_KEY);
    let domain = root.domains().create("mail.keys.test").await.unwrap();
    root.domains().verify(&domain.id).await.unwrap();
    let created = root.mailboxes().create("ops@mail.keys.test").await.unwrap();
    let first = created.credential.clone().unwrap();
    let second = root
        .mailboxes()
        .create_key(&created.mailbox.id, "backup")
        .await
        .unwrap();
    let keys = [
        first.secret.expose_secret().to_owned(),
        second.secret.expose_secret().to_owned(),
    ];
    for key in &keys {
        assert_eq!(me_status(&server, key).await, 200);
    }
    root.mailboxes().delete(&created.mailbox.id).await.unwrap();
    for key in &keys {
        assert_eq!(me_status(&server, key).await, 401);
    }
    assert_conformant(&server);
    server.shutdown().await;
}

/// A local plain-HTTP endpoint collecting every POST it receives.
struct Receiver {
    url: String,
    deliveries: tokio::sync::mpsc::UnboundedReceiver<(http::HeaderMap, bytes::Bytes)>,
}

impl Receiver {
    async fn start() -> Self {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: http::HeaderMap, body: bytes::Bytes| {
                let tx = tx.clone();
                async move {
                    let _ = tx.send((headers, body));
                    http::StatusCode::OK
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            url,
            deliveries: rx,
        }
    }

    async fn next(&mut self) -> (http::HeaderMap, bytes::Bytes) {
        tokio::time::timeout(std::time::Duration::from_secs(20), self.deliveries.recv())
            .await
            .expect("a delivery arrives")
            .expect("the receiver is running")
    }
}

#[tokio::test]
async fn a_webhook_delivery_verifies_with_its_secret_until_the_secret_is_rotated() {
    use sendmux_client::WebhookEventType;
    use sendmux_client::webhook::{ReplayGuard, Verifier, VerifyError};

    let server = MockServer::builder()
        .allow_http_webhooks(true)
        .self_check(true)
        .start()
        .await
        .unwrap();
    let root = client(&server, ROOT_KEY);
    let mut receiver = Receiver::start().await;

    let created = root
        .webhooks()
        .create(receiver.url.clone(), [WebhookEventType::SendmuxTest])
        .await
        .unwrap();
    let id = created.webhook.id.clone();
    let first_secret = created.secret.expose_secret().to_owned();
    assert!(!format!("{created:?}").contains(&first_secret));

    root.webhooks().test(&id).await.unwrap();
    let (headers, body) = receiver.next().await;
    let verifier = Verifier::new(&first_secret)
        .unwrap()
        .with_replay_guard(ReplayGuard::new(64, std::time::Duration::from_secs(600)));
    let event = verifier.verify(&headers, &body).unwrap();
    assert_eq!(*event.event_type(), WebhookEventType::SendmuxTest);

    // The same delivery again is a replay; tampering, a missing signature
    // and a wrong secret each get their own error.
    assert!(matches!(
        verifier.verify(&headers, &body),
        Err(VerifyError::Replay { .. })
    ));
    let strict = Verifier::new(&first_secret).unwrap();
    let mut tampered = body.to_vec();
    let last = tampered.len() - 2;
    tampered[last] ^= 0x01;
    assert!(matches!(
        strict.verify(&headers, &tampered),
        Err(VerifyError::SignatureMismatch)
    ));
    let mut unsigned = headers.clone();
    unsigned.remove("x-sendmux-signature");
    assert!(matches!(
        strict.verify(&unsigned, &body),
        Err(VerifyError::MissingSignature)
    ));
    let stranger = Verifier::new("whsec_not_this_one").unwrap();
    assert!(matches!(
        stranger.verify(&headers, &body),
        Err(VerifyError::SignatureMismatch)
    ));

    // The attempt is on record.
    let attempts = root.webhooks().deliveries(&id).await.unwrap().into_inner();
    assert_eq!(attempts.items.len(), 1, "{:?}", attempts.items);

    // After a rotation the next delivery verifies with the new secret only.
    let rotated = root.webhooks().rotate_secret(&id).await.unwrap();
    let new_secret = rotated.secret.expose_secret().to_owned();
    assert_ne!(new_secret, first_secret);
    root.webhooks().test(&id).await.unwrap();
    let (headers, body) = receiver.next().await;
    assert!(matches!(
        strict.verify(&headers, &body),
        Err(VerifyError::SignatureMismatch)
    ));
    Verifier::new(&new_secret)
        .unwrap()
        .verify(&headers, &body)
        .unwrap();
    // A verifier holding both (a rotation being rolled out) accepts it.
    Verifier::from_secrets([&first_secret, &new_secret])
        .unwrap()
        .verify(&headers, &body)
        .unwrap();

    assert_conformant(&server);
    server.shutdown().await;
}
