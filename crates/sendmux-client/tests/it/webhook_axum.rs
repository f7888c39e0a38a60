//! The `VerifiedWebhook` axum extractor, run through a router without a
//! network.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{FromRef, State};
use axum::http::{Request, StatusCode};
use axum::routing::post;
use sendmux_client::webhook::{
    self, EVENT_ID_HEADER, EVENT_TYPE_HEADER, ReplayGuard, SIGNATURE_HEADER, VerifiedWebhook,
    Verifier,
};
use tower::ServiceExt;

const SECRET: &str = "whsec_axum_test_secret";

/// State holding the verifier and a count of handler runs, so a test can
/// tell a rejection from a handler answer.
#[derive(Clone)]
struct AppState {
    verifier: Verifier,
    handled: Arc<AtomicUsize>,
}

impl FromRef<AppState> for Verifier {
    fn from_ref(state: &AppState) -> Verifier {
        state.verifier.clone()
    }
}

async fn on_event(
    State(state): State<AppState>,
    VerifiedWebhook(event): VerifiedWebhook,
) -> (StatusCode, String) {
    state.handled.fetch_add(1, Ordering::SeqCst);
    (
        StatusCode::ACCEPTED,
        format!("{} {}", event.event_id(), event.event_type()),
    )
}

fn app(verifier: Verifier) -> (Router, Arc<AtomicUsize>) {
    let handled = Arc::new(AtomicUsize::new(0));
    let router = Router::new()
        .route("/hook", post(on_event))
        .with_state(AppState {
            verifier,
            handled: Arc::clone(&handled),
        });
    (router, handled)
}

fn event(id: &str, event_type: &str) -> String {
    format!(
        r#"{{"id":"{id}","type":"{event_type}","team_public_id":"team_1",
        "occurred_at":"2026-05-21T09:12:00Z","data":{{"message_id":null,
        "message_id_kind":null,"sendmux_message_id":null,"sender":null,
        "recipients":[],"mailbox_id":null,"bounce_type":null,"bounce_subtype":null,
        "complaint_type":null,"complaint_subtype":null,"reject_reason":null,
        "delay_type":null,"delay_expires_at":null,"is_spam":null,"webhook_id":"wh_1"}}}}"#
    )
}

fn request(signature: Option<String>, id: &str, event_type: &str, body: String) -> Request<Body> {
    let mut builder = Request::post("/hook")
        .header("content-type", "application/json")
        .header(EVENT_ID_HEADER, id)
        .header(EVENT_TYPE_HEADER, event_type);
    if let Some(signature) = signature {
        builder = builder.header(SIGNATURE_HEADER, signature);
    }
    builder.body(Body::from(body)).unwrap()
}

fn signed(id: &str, event_type: &str) -> Request<Body> {
    let body = event(id, event_type);
    request(
        Some(webhook::sign(SECRET, body.as_bytes())),
        id,
        event_type,
        body,
    )
}

async fn send(router: &Router, request: Request<Body>) -> (StatusCode, String) {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = to_bytes(response.into_body(), 64 * 1024).await.unwrap();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn a_signed_delivery_reaches_the_handler_decoded() {
    let (router, handled) = app(Verifier::new(SECRET).unwrap());
    let (status, body) = send(&router, signed("evt_1", "sendmux.test")).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(body, "evt_1 sendmux.test");
    assert_eq!(handled.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn signature_failures_are_401_and_skip_the_handler() {
    let (router, handled) = app(Verifier::new(SECRET).unwrap());
    let body = event("evt_1", "sendmux.test");

    let wrong = webhook::sign("whsec_other", body.as_bytes());
    let (status, text) = send(
        &router,
        request(Some(wrong), "evt_1", "sendmux.test", body.clone()),
    )
    .await;
    assert_eq!(
        (status, text.as_str()),
        (StatusCode::UNAUTHORIZED, "signature mismatch")
    );

    let (status, text) = send(
        &router,
        request(None, "evt_1", "sendmux.test", body.clone()),
    )
    .await;
    assert_eq!(
        (status, text.as_str()),
        (StatusCode::UNAUTHORIZED, "missing signature")
    );

    let (status, text) = send(
        &router,
        request(Some("sha256=abc".into()), "evt_1", "sendmux.test", body),
    )
    .await;
    assert_eq!(
        (status, text.as_str()),
        (StatusCode::UNAUTHORIZED, "malformed signature")
    );
    assert_eq!(handled.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn bad_headers_and_bodies_are_400() {
    let (router, handled) = app(Verifier::new(SECRET).unwrap());

    let body = event("evt_1", "sendmux.test");
    let signature = webhook::sign(SECRET, body.as_bytes());
    let (status, text) = send(
        &router,
        request(Some(signature), "evt_9", "sendmux.test", body),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(text, "event headers do not match the body");

    let body = r#"{"not":"an event"}"#.to_owned();
    let signature = webhook::sign(SECRET, body.as_bytes());
    let (status, text) = send(
        &router,
        request(Some(signature), "evt_1", "sendmux.test", body),
    )
    .await;
    assert_eq!(
        (status, text.as_str()),
        (StatusCode::BAD_REQUEST, "invalid event payload")
    );
    assert_eq!(handled.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_replay_is_acknowledged_without_running_the_handler_again() {
    let verifier = Verifier::new(SECRET)
        .unwrap()
        .with_replay_guard(ReplayGuard::new(100, Duration::from_secs(3600)));
    let (router, handled) = app(verifier);
    assert_eq!(
        send(&router, signed("evt_1", "message.delivered")).await.0,
        StatusCode::ACCEPTED
    );
    let (status, text) = send(&router, signed("evt_1", "message.delivered")).await;
    assert_eq!(
        (status, text.as_str()),
        (StatusCode::OK, "duplicate delivery")
    );
    assert_eq!(handled.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_body_over_the_cap_is_413() {
    let (router, handled) = app(Verifier::new(SECRET).unwrap().with_max_body_bytes(64));
    let (status, text) = send(&router, signed("evt_1", "sendmux.test")).await;
    assert_eq!(
        (status, text.as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "body too large")
    );
    assert_eq!(handled.load(Ordering::SeqCst), 0);

    // The same delivery fits under the default cap.
    let (router, _) = app(Verifier::new(SECRET).unwrap());
    assert_eq!(
        send(&router, signed("evt_1", "sendmux.test")).await.0,
        StatusCode::ACCEPTED
    );
}

#[tokio::test]
async fn the_verifier_can_be_the_whole_state() {
    async fn handler(VerifiedWebhook(event): VerifiedWebhook) -> String {
        event.into_payload().id
    }
    let router = Router::new()
        .route("/hook", post(handler))
        .with_state(Verifier::new(SECRET).unwrap());
    let (status, body) = send(&router, signed("evt_7", "message.received")).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "evt_7"));
}
