//! Handlers of the nine Webhooks operations: subscriptions (the signing
//! secret shown on create and rotate only), their delivery attempts and
//! payloads, and the test event. Deliveries are real signed POSTs made by
//! the worker in `delivery.rs`.

pub(crate) mod delivery;
mod model;

use bytes::Bytes;
use http::StatusCode;
use http::header::LOCATION;
use sendmux_operations::{Operation, ops};
use serde::{Deserialize, Deserializer};

pub(crate) use delivery::{DeliverySettings, Dispatch};
pub(crate) use model::{Attempt, EventData, EventType, Webhook};
use model::{AttemptResult, Filters, Secret, check_url, dedup};

use super::{Ctx, Handler};
use crate::api::{ApiError, Out, header_value, to_json};
use crate::collection::{Collection, DEFAULT_LIMIT, Rendered};

/// Publishes a message event of `event_type` to `team`'s subscriptions and
/// returns its id; `None` unless it names a published message event
/// (`sendmux.test` targets one subscription, through its own endpoint).
pub(crate) fn emit_for_team(
    app: &crate::app::App,
    team: &str,
    event_type: &str,
    mailbox_id: Option<&str>,
) -> Option<String> {
    let event_type = EventType::parse(event_type).filter(|t| *t != EventType::Test)?;
    let store = crate::app::lock(&app.resources);
    Some(delivery::emit(app, &store, team, event_type, mailbox_id))
}

/// The operations this module implements.
pub(crate) const HANDLERS: &[(&Operation, Handler)] = &[
    (ops::MANAGEMENT_LIST_WEBHOOKS, list),
    (ops::MANAGEMENT_CREATE_WEBHOOK, create),
    (ops::MANAGEMENT_GET_WEBHOOK, get),
    (ops::MANAGEMENT_UPDATE_WEBHOOK, update),
    (ops::MANAGEMENT_DELETE_WEBHOOK, delete),
    (ops::MANAGEMENT_LIST_DELIVERY, deliveries),
    (ops::MANAGEMENT_GET_DELIVERY_PAYLOAD, payload),
    (ops::MANAGEMENT_ROTATE_WEBHOOK_SECRET, rotate_secret),
    (ops::MANAGEMENT_TEST_WEBHOOK, test),
];

/// The path parameter naming a subscription.
const ID: &str = "public_id";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    url: String,
    event_types: Vec<EventType>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    filters: Option<Filters>,
    #[serde(default)]
    enabled: Option<bool>,
}

/// Absent fields stay as they are; `name: null` removes the name.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateBody {
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    event_types: Option<Vec<EventType>>,
    #[serde(default, deserialize_with = "present")]
    name: Option<Option<String>>,
    #[serde(default)]
    filters: Option<Filters>,
    #[serde(default)]
    enabled: Option<bool>,
}

/// A field that may be absent (`None`), `null` (`Some(None)`) or set.
pub(crate) fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

fn list(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let page = ctx.store().webhooks.page(ctx.team, ctx.parts.uri.query())?;
    Ok(ctx.page(&page))
}

fn create(mut ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let body: CreateBody = ctx.typed_body()?;
    check_url(&body.url, ctx.app.settings.webhooks.allow_http)?;
    let (seed, now) = (ctx.seed(), ctx.app.clock.unix_millis());
    let mut store = ctx.store();
    let id = store.webhooks.insert(ctx.team, |id| Webhook {
        id: id.to_owned(),
        name: body.name,
        url: body.url,
        event_types: dedup(body.event_types),
        filters: body.filters.unwrap_or_default(),
        enabled: body.enabled.unwrap_or(true),
        failing: false,
        created_at_ms: now,
        updated_at_ms: now,
        secret: Secret::derive(seed, ctx.team, id, 0),
        secret_generation: 0,
    });
    let out = with_secret(&ctx, &mut store.webhooks, &id, StatusCode::CREATED)?;
    Ok(out.header(LOCATION, header_value(&format!("/api/v1/webhooks/{id}"))))
}

/// The subscription `id` with its secret, and the ETag its reads carry.
fn with_secret(
    ctx: &Ctx<'_>,
    webhooks: &mut Collection<Webhook>,
    id: &str,
    status: StatusCode,
) -> Result<Out, ApiError> {
    let etag = webhooks.rendered(ctx.team, id)?.etag;
    let json = webhooks.get(ctx.team, id)?.with_secret_json();
    Ok(ctx.item(status, &Rendered { json, etag }))
}

fn get(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let rendered = ctx.store().webhooks.rendered(ctx.team, ctx.param(ID))?;
    Ok(ctx.conditional(&rendered))
}

fn update(mut ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let body: UpdateBody = ctx.typed_body()?;
    if let Some(url) = &body.url {
        check_url(url, ctx.app.settings.webhooks.allow_http)?;
    }
    let (now, id) = (ctx.app.clock.unix_millis(), ctx.param(ID));
    let mut store = ctx.store();
    ctx.if_match(&store.webhooks.rendered(ctx.team, id)?, "webhook")?;
    let w = store.webhooks.get_mut(ctx.team, id)?;
    let before = to_json(&*w);
    if let Some(url) = body.url {
        w.url = url;
    }
    if let Some(types) = body.event_types {
        w.event_types = dedup(types);
    }
    if let Some(name) = body.name {
        w.name = name;
    }
    if let Some(filters) = body.filters {
        w.filters = filters;
    }
    if let Some(enabled) = body.enabled {
        // Turning a subscription on is how a failing one is cleared.
        if enabled {
            w.failing = false;
        }
        w.enabled = enabled;
    }
    if to_json(&*w) != before {
        w.updated_at_ms = now;
    }
    Ok(ctx.item(StatusCode::OK, &store.webhooks.rendered(ctx.team, id)?))
}

fn delete(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let id = ctx.param(ID);
    let mut store = ctx.store();
    store.webhooks.remove(ctx.team, id)?;
    // Its attempts go with it; queued retries find it gone and stop.
    let key = delivery::attempts_key(ctx.team, id);
    let attempts: Vec<String> = store
        .webhook_attempts
        .iter_team(&key)
        .map(|a| a.id.clone())
        .collect();
    for attempt in attempts {
        let _ = store.webhook_attempts.remove(&key, &attempt);
    }
    Ok(ctx.deleted(id))
}

/// Drops the attempts of `key` whose body has expired (attempts and
/// bodies are kept equally long).
fn expire(attempts: &mut Collection<Attempt>, key: &str, now: u64) {
    let old: Vec<String> = attempts
        .iter_team(key)
        .filter(|a| a.expires_at_ms() <= now)
        .map(|a| a.id.clone())
        .collect();
    for id in old {
        let _ = attempts.remove(key, &id);
    }
}

fn deliveries(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let event_type = query_filter(&ctx, "event_type", EventType::parse, "a webhook event type")?;
    let result = query_filter(
        &ctx,
        "result",
        AttemptResult::parse,
        "success, retrying, failed or permanent_failure",
    )?;
    let (id, now) = (ctx.param(ID), ctx.app.clock.unix_millis());
    let mut store = ctx.store();
    store.webhooks.get(ctx.team, id)?;
    let key = delivery::attempts_key(ctx.team, id);
    expire(&mut store.webhook_attempts, &key, now);
    let page =
        store
            .webhook_attempts
            .page_where(&key, ctx.parts.uri.query(), DEFAULT_LIMIT, |a| {
                event_type.is_none_or(|t| t == a.event.event_type)
                    && result.is_none_or(|r| r == a.result)
            })?;
    Ok(ctx.page(&page))
}

/// The query parameter `name` parsed with `parse`, if given; `400
/// invalid_parameter` naming `expected` when it is not a known value.
pub(crate) fn query_filter<T>(
    ctx: &Ctx<'_>,
    name: &str,
    parse: impl Fn(&str) -> Option<T>,
    expected: &str,
) -> Result<Option<T>, ApiError> {
    match ctx.query(name) {
        None => Ok(None),
        Some(v) => parse(&v).map(Some).ok_or_else(|| {
            ApiError::invalid_parameter(format!("{name} must be {expected}")).with_param(name)
        }),
    }
}

fn payload(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let (id, now) = (ctx.param(ID), ctx.app.clock.unix_millis());
    let mut store = ctx.store();
    store.webhooks.get(ctx.team, id)?;
    let key = delivery::attempts_key(ctx.team, id);
    expire(&mut store.webhook_attempts, &key, now);
    let attempt = store.webhook_attempts.get(&key, ctx.param("delivery_id"))?;
    // The stored bytes go out as they were posted, not re-serialized.
    let head = attempt.payload_head();
    let mut data = Vec::with_capacity(head.len() + attempt.event.body.len() + 12);
    data.extend_from_slice(head.strip_suffix(b"}").unwrap_or(&head));
    data.extend_from_slice(b",\"payload\":");
    data.extend_from_slice(&attempt.event.body);
    data.push(b'}');
    Ok(raw_ok(&ctx, &data))
}

fn rotate_secret(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let (seed, now, id) = (ctx.seed(), ctx.app.clock.unix_millis(), ctx.param(ID));
    let mut store = ctx.store();
    let w = store.webhooks.get_mut(ctx.team, id)?;
    w.secret_generation = w.secret_generation.saturating_add(1);
    w.secret = Secret::derive(seed, ctx.team, id, w.secret_generation);
    w.updated_at_ms = now;
    with_secret(&ctx, &mut store.webhooks, id, StatusCode::OK)
}

fn test(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let id = ctx.param(ID);
    let store = ctx.store();
    let w = store.webhooks.get(ctx.team, id)?;
    if !w.event_types.contains(&EventType::Test) {
        return Err(ApiError::conflict(
            "the webhook does not list sendmux.test in event_types; add it to send a test event",
        ));
    }
    let event_id = delivery::emit_test(ctx.app, ctx.team, id, w.enabled).ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            "events cannot be published while the server is stopping",
        )
    })?;
    #[derive(serde::Serialize)]
    struct Published {
        event_id: String,
    }
    Ok(ctx.ok(Published { event_id }))
}

/// `{ok, data, meta}` around JSON `data` that is already serialized.
fn raw_ok(ctx: &Ctx<'_>, data: &[u8]) -> Out {
    let request_id = to_json(&ctx.request_id);
    let mut body = Vec::with_capacity(data.len() + request_id.len() + 40);
    body.extend_from_slice(b"{\"ok\":true,\"data\":");
    body.extend_from_slice(data);
    body.extend_from_slice(b",\"meta\":{\"request_id\":");
    body.extend_from_slice(&request_id);
    body.extend_from_slice(b"}}");
    Out::json(StatusCode::OK, ctx.request_id, Bytes::from(body))
}
