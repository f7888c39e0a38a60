//! The admin and inspection endpoints under `/__mock/`. They are not part of
//! the Sendmux API: no rate limit, not logged, plain JSON. No auth either,
//! unless the server has an admin token (required off loopback), which every
//! admin call must then send as `Authorization: Bearer TOKEN`.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::app::{App, RateLimits, lock};
use crate::config::{FaultConfig, Propagation, RateLimit};
use crate::mocking::OperationRef;
use crate::mocking::stubs::{self, NewReply};
use crate::resources::{self, domains, mailboxes};

/// Reserved prefix of the admin endpoints.
pub(crate) const PREFIX: &str = "/__mock";

pub(crate) fn routes(app: &Arc<App>) -> Router<Arc<App>> {
    let router = Router::new()
        .route("/__mock/health", get(health))
        .route(
            "/__mock/faults",
            get(get_faults).put(put_faults).delete(clear_faults),
        )
        .route("/__mock/requests", get(get_requests).delete(clear_requests))
        .route(
            "/__mock/stubs",
            get(get_stubs).post(post_stub).delete(clear_stubs),
        )
        .route("/__mock/stubs/{id}", axum::routing::delete(delete_stub))
        .route("/__mock/domains", get(get_domains))
        .route("/__mock/mailboxes", get(get_mailboxes))
        .route("/__mock/mailboxes/{id}/messages", post(deliver_message))
        .route(
            "/__mock/event_stream",
            get(get_event_stream).put(put_event_stream),
        )
        .route("/__mock/webhooks/events", post(emit_webhook_event))
        .route("/__mock/outbox", get(get_outbox))
        .route("/__mock/credits", axum::routing::put(put_credits))
        .route("/__mock/reset", post(reset))
        .route(
            "/__mock/propagation",
            get(get_propagation).put(put_propagation),
        )
        .route(
            "/__mock/rate_limit",
            get(get_rate_limit).put(put_rate_limit),
        )
        .route(
            "/__mock/rate_limit/mailbox",
            get(get_mailbox_rate_limit).put(put_mailbox_rate_limit),
        )
        .route("/__mock/clock/advance", post(advance_clock))
        .route("/__mock/operations", get(get_operations));
    // A test-only way to make a route panic, to prove the panic guard.
    #[cfg(test)]
    let router = router.route("/__mock/test/panic", get(test_panic));
    router.route_layer(axum::middleware::from_fn_with_state(
        Arc::clone(app),
        require_token,
    ))
}

#[cfg(test)]
#[allow(clippy::panic)]
async fn test_panic() -> Response {
    panic!("test-only panic hook");
}

/// Lets an admin call through when the server has no admin token or the
/// call carries it.
async fn require_token(
    State(app): State<Arc<App>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let Some(token) = app.settings.admin_token.as_deref() else {
        return next.run(req).await;
    };
    let sent = req
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim());
    if sent.is_some_and(|sent| same_secret(sent.as_bytes(), token.as_bytes())) {
        next.run(req).await
    } else {
        crate::api::admin_unauthorized(&app)
    }
}

/// Compares without stopping at the first differing byte, so the time taken
/// does not tell how much of a guess was right.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn json_response(status: StatusCode, value: serde_json::Value) -> Response {
    (status, axum::Json(value)).into_response()
}

fn bad_request(message: String) -> Response {
    json_response(
        StatusCode::BAD_REQUEST,
        json!({ "ok": false, "error": message }),
    )
}

fn parse<T: DeserializeOwned>(body: &Bytes) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|e| format!("invalid JSON body: {e}"))
}

async fn health() -> Response {
    json_response(StatusCode::OK, json!({ "ok": true }))
}

async fn get_faults(State(app): State<Arc<App>>) -> Response {
    let faults = lock(&app.faults).config.clone();
    json_response(StatusCode::OK, json!(faults))
}

async fn put_faults(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let config: FaultConfig = match parse(&body) {
        Ok(c) => c,
        Err(e) => return bad_request(e),
    };
    if let Some(bad) = config.rules.iter().find(|r| !(0.0..=1.0).contains(&r.rate)) {
        return bad_request(format!("rate {} is outside 0..=1", bad.rate));
    }
    let mut faults = lock(&app.faults);
    faults.config = config.clone();
    faults.fired.clear();
    json_response(StatusCode::OK, json!(config))
}

async fn clear_faults(State(app): State<Arc<App>>) -> Response {
    let mut faults = lock(&app.faults);
    faults.config = FaultConfig::default();
    faults.fired.clear();
    json_response(StatusCode::OK, json!(FaultConfig::default()))
}

async fn get_requests(State(app): State<Arc<App>>) -> Response {
    let log = app.records();
    json_response(StatusCode::OK, json!({ "requests": log }))
}

async fn clear_requests(State(app): State<Arc<App>>) -> Response {
    lock(&app.log).clear();
    json_response(StatusCode::OK, json!({ "ok": true }))
}

/// Every stub, armed or used up, with how often it answered.
async fn get_stubs(State(app): State<Arc<App>>) -> Response {
    let stubs = lock(&app.mocking.stubs).listing();
    json_response(StatusCode::OK, json!({ "stubs": stubs }))
}

/// `{"operation", "status", "body"?, "times"?, "headers"?, "unchecked"?}`
/// or `{"operation", "error", "times"?, "headers"?}`: arms a stub (see
/// `MockServer::stub` and `MockServer::fail_next`); answers `201` with it.
async fn post_stub(State(app): State<Arc<App>>, body: Bytes) -> Response {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct NewStub {
        operation: String,
        #[serde(default)]
        status: Option<u16>,
        #[serde(default)]
        body: Option<serde_json::Value>,
        #[serde(default)]
        error: Option<String>,
        #[serde(default)]
        times: Option<u64>,
        #[serde(default)]
        headers: std::collections::BTreeMap<String, String>,
        #[serde(default)]
        unchecked: bool,
    }
    let new: NewStub = match parse(&body) {
        Ok(new) => new,
        Err(e) => return bad_request(e),
    };
    let reply = match (new.status, new.error) {
        (Some(status), None) => NewReply::Body {
            status,
            body: new.body.unwrap_or_default(),
        },
        (None, Some(code)) if new.body.is_none() => NewReply::Error(code),
        (None, Some(_)) => {
            return bad_request(
                "an `error` stub answers the code's envelope: it takes no `body`".to_owned(),
            );
        }
        _ => {
            return bad_request(
                "a stub needs either `status` (with an optional `body`) or `error` (a code)"
                    .to_owned(),
            );
        }
    };
    for (name, value) in &new.headers {
        if http::HeaderName::from_bytes(name.as_bytes()).is_err()
            || http::HeaderValue::from_str(value).is_err()
        {
            return bad_request(format!("`{name}` is not a valid header name and value"));
        }
    }
    let operation = OperationRef::from(new.operation.as_str()).resolve();
    let mut stub = match stubs::arm(&app, operation, reply, new.times, !new.unchecked) {
        Ok(stub) => stub,
        Err(e) => return bad_request(e),
    };
    for (name, value) in &new.headers {
        stub = stub.insert_header(name, value);
    }
    let info = lock(&app.mocking.stubs)
        .listing()
        .into_iter()
        .find(|s| s.id == stub.id());
    json_response(StatusCode::CREATED, json!(info))
}

/// Disarms every stub.
async fn clear_stubs(State(app): State<Arc<App>>) -> Response {
    let removed = lock(&app.mocking.stubs).clear();
    json_response(StatusCode::OK, json!({ "ok": true, "removed": removed }))
}

/// Disarms one stub.
async fn delete_stub(
    State(app): State<Arc<App>>,
    axum::extract::Path(id): axum::extract::Path<u64>,
) -> Response {
    if lock(&app.mocking.stubs).remove(id) {
        json_response(StatusCode::OK, json!({ "ok": true }))
    } else {
        json_response(
            StatusCode::NOT_FOUND,
            json!({ "ok": false, "error": format!("no stub {id}") }),
        )
    }
}

/// Header naming the API key whose team `GET /__mock/domains` (and
/// `/__mock/mailboxes`) lists; needed
/// when `Authorization` carries the admin token instead.
const X_MOCK_API_KEY: &str = "x-mock-api-key";

/// The team whose items an inspection call lists: that of the key in
/// `X-Mock-Api-Key` (or in `Authorization`, when the server has no admin
/// token); `None` lists every team's.
fn inspected_team(app: &App, headers: &HeaderMap) -> Option<String> {
    inspected_key(app, headers).map(|key| app.team_of(&key))
}

/// The API key an inspection call names: `X-Mock-Api-Key`, or (when the
/// server has no admin token) the one in `Authorization`.
fn inspected_key(app: &App, headers: &HeaderMap) -> Option<String> {
    let from_authorization = || {
        headers
            .get(http::header::AUTHORIZATION)
            .filter(|_| app.settings.admin_token.is_none())
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().split_once(' '))
            .map(|(_, key)| key)
    };
    headers
        .get(X_MOCK_API_KEY)
        .and_then(|v| v.to_str().ok())
        .or_else(from_authorization)
        .map(|key| key.trim().to_owned())
}

/// All domains, or only those of one team (see [`inspected_team`]).
async fn get_domains(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let team = inspected_team(&app, &headers);
    let domains = domains::summaries(&app, team.as_deref());
    json_response(
        StatusCode::OK,
        json!({ "count": domains.len(), "domains": domains }),
    )
}

/// All mailboxes (deleted ones too), or only those of one team (see
/// [`inspected_team`]).
async fn get_mailboxes(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let team = inspected_team(&app, &headers);
    let mailboxes = mailboxes::summaries(&app, team.as_deref());
    json_response(
        StatusCode::OK,
        json!({ "count": mailboxes.len(), "mailboxes": mailboxes }),
    )
}

/// `{"event_type": "message.bounced", "mailbox_id": null}`: publishes a
/// message event to the webhook subscriptions of the team named as for
/// `/__mock/domains` (required here), as mail activity would.
async fn emit_webhook_event(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Emit {
        event_type: String,
        #[serde(default)]
        mailbox_id: Option<String>,
    }
    let emit: Emit = match parse(&body) {
        Ok(emit) => emit,
        Err(e) => return bad_request(e),
    };
    let Some(team) = inspected_team(&app, &headers) else {
        return bad_request(format!(
            "name the team with the API key whose webhooks receive the event, in {X_MOCK_API_KEY}"
        ));
    };
    match resources::webhooks::emit_for_team(
        &app,
        &team,
        &emit.event_type,
        emit.mailbox_id.as_deref(),
    ) {
        Some(event_id) => json_response(
            StatusCode::ACCEPTED,
            json!({ "ok": true, "event_id": event_id }),
        ),
        None => bad_request(format!(
            "{:?} is not a published message event type (sendmux.test goes through POST /webhooks/{{id}}/test)",
            emit.event_type
        )),
    }
}

/// Every message the Sending API accepted, oldest first; with a key named
/// as for `/__mock/domains`, only that key's team's.
async fn get_outbox(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let team = inspected_key(&app, &headers).map(|key| app.team_for_key(&key));
    let messages: Vec<_> = lock(&app.resources)
        .sending
        .outbox
        .summaries()
        .into_iter()
        .filter(|m| team.as_deref().is_none_or(|t| m.team == t))
        .collect();
    json_response(
        StatusCode::OK,
        json!({ "count": messages.len(), "messages": messages }),
    )
}

/// `{"credits": N}`: the balance of the team of the key named as for
/// `/__mock/domains` (required) becomes exactly N messages' worth.
async fn put_credits(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Credits {
        credits: u64,
    }
    let Credits { credits } = match parse(&body) {
        Ok(c) => c,
        Err(e) => return bad_request(e),
    };
    let Some(key) = inspected_key(&app, &headers) else {
        return bad_request(format!(
            "name the team with an API key of it in {X_MOCK_API_KEY}"
        ));
    };
    let team = app.team_for_key(&key);
    let now = app.clock.unix_millis();
    let mut store = lock(&app.resources);
    resources::billing::set_credits(&mut store, app.settings.seed, &team, now, credits);
    json_response(StatusCode::OK, json!({ "ok": true, "credits": credits }))
}

/// Delivers a message to a mailbox (see `MockServer::deliver`).
async fn deliver_message(
    State(app): State<Arc<App>>,
    axum::extract::Path(id): axum::extract::Path<String>,
    body: Bytes,
) -> Response {
    match resources::mailbox_api::admin_deliver(&app, &id, &body) {
        Ok(answer) => json_response(StatusCode::CREATED, answer),
        Err((status, message)) => json_response(status, json!({ "ok": false, "error": message })),
    }
}

async fn get_event_stream(State(app): State<Arc<App>>) -> Response {
    json_response(StatusCode::OK, json!(app.mailbox_runtime.config()))
}

async fn put_event_stream(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let config: crate::config::EventStreamConfig = match parse(&body) {
        Ok(c) => c,
        Err(e) => return bad_request(e),
    };
    app.mailbox_runtime.set_config(config);
    json_response(StatusCode::OK, json!(config))
}

/// Every operation of the table and whether the mock implements it.
async fn get_operations() -> Response {
    let operations: Vec<serde_json::Value> = sendmux_operations::OPERATIONS
        .iter()
        .map(|op| {
            json!({
                "id": op.id,
                "method": op.method.as_str(),
                "path": op.path,
                "surface": op.surface.as_str(),
                "implemented": resources::handler(op).is_some(),
            })
        })
        .collect();
    json_response(StatusCode::OK, json!({ "operations": operations }))
}

async fn reset(State(app): State<Arc<App>>) -> Response {
    app.reset();
    json_response(StatusCode::OK, json!({ "ok": true }))
}

async fn get_propagation(State(app): State<Arc<App>>) -> Response {
    let p = *lock(&app.propagation);
    json_response(StatusCode::OK, json!(p))
}

async fn put_propagation(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let p: Propagation = match parse(&body) {
        Ok(p) => p,
        Err(e) => return bad_request(e),
    };
    *lock(&app.propagation) = p;
    json_response(StatusCode::OK, json!(p))
}

/// The limit of root keys.
async fn get_rate_limit(State(app): State<Arc<App>>) -> Response {
    let r = lock(&app.rate).config.root;
    json_response(StatusCode::OK, json!(r))
}

async fn put_rate_limit(State(app): State<Arc<App>>, body: Bytes) -> Response {
    set_rate_limit(&app, &body, |limits| &mut limits.root)
}

/// The limit of mailbox keys and agent tokens.
async fn get_mailbox_rate_limit(State(app): State<Arc<App>>) -> Response {
    let r = lock(&app.rate).config.mailbox;
    json_response(StatusCode::OK, json!(r))
}

async fn put_mailbox_rate_limit(State(app): State<Arc<App>>, body: Bytes) -> Response {
    set_rate_limit(&app, &body, |limits| &mut limits.mailbox)
}

/// Replaces one class's limit with the [`RateLimit`] in `body`.
fn set_rate_limit(
    app: &App,
    body: &Bytes,
    class: impl FnOnce(&mut RateLimits) -> &mut RateLimit,
) -> Response {
    let r: RateLimit = match parse(body) {
        Ok(r) => r,
        Err(e) => return bad_request(e),
    };
    if r.window_secs == 0 {
        return bad_request("window_secs must be at least 1".to_owned());
    }
    *class(&mut lock(&app.rate).config) = r;
    json_response(StatusCode::OK, json!(r))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    seconds: u64,
}

async fn advance_clock(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let Advance { seconds } = match parse(&body) {
        Ok(a) => a,
        Err(e) => return bad_request(e),
    };
    app.clock.advance(Duration::from_secs(seconds));
    json_response(
        StatusCode::OK,
        json!({ "now": crate::clock::rfc3339(app.clock.unix_millis()) }),
    )
}
