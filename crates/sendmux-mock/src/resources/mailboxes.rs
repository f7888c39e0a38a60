//! Handlers of the twelve Mailboxes operations and of `GET /mailbox/me`,
//! over the mailboxes collection and the mailbox model (addresses, quota
//! tiers, send scopes, keys, filters).
//!
//! A deleted mailbox stays readable (`GET`, and lists with
//! `include_deleted=true`) with status `deleted`; changing it is refused.
//! Its address stays held (`cleanup_pending`) for [`model::CLEANUP_MS`].

mod admin;
mod model;

use http::StatusCode;
use http::header::LOCATION;
use sendmux_operations::{Operation, ops};
use serde::{Deserialize, Deserializer, Serialize};

pub use admin::MailboxSummary;
pub(crate) use admin::summaries;
use model::{Credential, SendScope, Status, check_address, check_quota, issue_key};
pub(crate) use model::{KeyIndex, Mailbox, key_owner};

use super::filters::{FilterState, Filters};
use super::{Ctx, Handler, Resources};
use crate::api::{ApiError, Out, header_value, ok_envelope};
use crate::collection::{DEFAULT_LIMIT, Rendered};

/// The operations this module implements.
pub(crate) const HANDLERS: &[(&Operation, Handler)] = &[
    (ops::MANAGEMENT_LIST_MAILBOXES, list),
    (ops::MANAGEMENT_CREATE_MAILBOX, create),
    (ops::MANAGEMENT_GET_MAILBOX, get),
    (ops::MANAGEMENT_UPDATE_MAILBOX, update),
    (ops::MANAGEMENT_DELETE_MAILBOX, delete),
    (ops::MANAGEMENT_SUSPEND_MAILBOX, suspend),
    (ops::MANAGEMENT_RESUME_MAILBOX, resume),
    (ops::MANAGEMENT_CHECK_MAILBOX_AVAILABILITY, availability),
    (ops::MANAGEMENT_CREATE_MAILBOX_KEY, create_key),
    (ops::MANAGEMENT_DELETE_MAILBOX_KEY, delete_key),
    (ops::MANAGEMENT_GET_MAILBOX_FILTERS, get_filters),
    (ops::MANAGEMENT_SET_MAILBOX_FILTERS, set_filters),
    (ops::MAILBOX_GET_ME, me),
];

/// The path parameter naming a mailbox.
const ID: &str = "public_id";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    email: String,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    quota_bytes: Option<u64>,
    #[serde(default)]
    send_scope: Option<SendScope>,
}

/// Omitted fields stay; `display_name: null` removes the name.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateBody {
    #[serde(default, deserialize_with = "present")]
    display_name: Option<Option<String>>,
    #[serde(default)]
    quota_bytes: Option<u64>,
    #[serde(default)]
    send_scope: Option<SendScope>,
}

/// Tells a field sent as `null` (`Some(None)`) from one left out (`None`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateKeyBody {
    /// Checked by the schema; the mock keeps no key labels (no operation
    /// reads them back).
    #[serde(rename = "app_name")]
    _app_name: String,
}

/// Mailboxes of the team's domain `domain_id` that are not deleted: the
/// domain's `mailbox_count`, and what blocks deleting it.
pub(crate) fn count_on_domain(store: &Resources, team: &str, domain_id: &str) -> u64 {
    let n = store
        .mailboxes
        .iter_team(team)
        .filter(|m| m.status != Status::Deleted && m.domain_id.as_deref() == Some(domain_id))
        .count();
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// Writes the live count into the domain, so its JSON (and ETag) follow
/// the mailboxes: `get_mut` marks the cached rendering stale.
fn sync_domain_count(store: &mut Resources, team: &str, domain_id: Option<&str>) {
    let Some(domain_id) = domain_id else { return };
    let count = count_on_domain(store, team, domain_id);
    if let Ok(domain) = store.domains.get_mut(team, domain_id) {
        domain.mailbox_count = count;
    }
}

fn list(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let include_deleted = match ctx.query("include_deleted").as_deref() {
        None => false,
        Some("true") => true,
        Some(_) => {
            return Err(
                ApiError::invalid_parameter("include_deleted must be `true` when given")
                    .with_param("include_deleted"),
            );
        }
    };
    let page =
        ctx.store()
            .mailboxes
            .page_where(ctx.team, ctx.parts.uri.query(), DEFAULT_LIMIT, |m| {
                include_deleted || m.status != Status::Deleted
            })?;
    Ok(ctx.page(&page))
}

/// `MailboxCreateResult` and `MailboxAppPasswordResult`.
#[derive(Serialize)]
struct CreateResult<'a> {
    mailbox: &'a Mailbox,
    credential: Credential,
    warning: Option<&'a str>,
}

#[derive(Serialize)]
struct KeyResult {
    credential: Credential,
}

fn create(mut ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let body: CreateBody = ctx.typed_body()?;
    let quota = body.quota_bytes.map(check_quota).transpose()?;
    let send_scope = body.send_scope.map(SendScope::check).transpose()?;
    let (seed, now) = (ctx.seed(), ctx.app.clock.unix_millis());
    let mut store = ctx.store();
    if let Some(scope) = &send_scope {
        scope.check_accounts(&store, ctx.team)?;
    }
    let (email, verdict) = check_address(&store, ctx.team, &body.email, now);
    let address = verdict.map_err(|why| why.into_error(&email))?;
    let id = store.mailboxes.insert(ctx.team, |id| Mailbox {
        id: id.to_owned(),
        email: address.email,
        domain_id: address.domain_id.clone(),
        display_name: body.display_name,
        // The smallest tier unless another is asked for.
        quota_bytes: Some(quota.unwrap_or(model::QUOTA_TIERS[0])),
        send_scope,
        status: Status::Active,
        created_at_ms: now,
        deleted_at_ms: None,
        filters: Filters::default(),
        keys: Vec::new(),
    });
    let credential = issue_key(&mut store, seed, ctx.team, &id)?;
    sync_domain_count(&mut store, ctx.team, address.domain_id.as_deref());
    let result = CreateResult {
        mailbox: store.mailboxes.get(ctx.team, &id)?,
        credential,
        warning: None,
    };
    let body = ok_envelope(ctx.request_id, &result);
    Ok(Out::json(StatusCode::CREATED, ctx.request_id, body)
        .header(LOCATION, header_value(&format!("/api/v1/mailboxes/{id}"))))
}

fn get(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let rendered = ctx.store().mailboxes.rendered(ctx.team, ctx.param(ID))?;
    Ok(ctx.conditional(&rendered))
}

fn update(mut ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let body: UpdateBody = ctx.typed_body()?;
    let quota = body.quota_bytes.map(check_quota).transpose()?;
    let send_scope = body.send_scope.map(SendScope::check).transpose()?;
    let id = ctx.param(ID);
    let mut store = ctx.store();
    ctx.if_match(&store.mailboxes.rendered(ctx.team, id)?, "mailbox")?;
    if let Some(scope) = &send_scope {
        scope.check_accounts(&store, ctx.team)?;
    }
    let m = store.mailboxes.get_mut(ctx.team, id)?;
    m.not_deleted()?;
    if let Some(name) = body.display_name {
        m.display_name = name;
    }
    if quota.is_some() {
        m.quota_bytes = quota;
    }
    if send_scope.is_some() {
        m.send_scope = send_scope;
    }
    Ok(ctx.item(StatusCode::OK, &store.mailboxes.rendered(ctx.team, id)?))
}

fn delete(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let (id, now) = (ctx.param(ID), ctx.app.clock.unix_millis());
    let mut store = ctx.store();
    let m = store.mailboxes.get_mut(ctx.team, id)?;
    if m.status == Status::Deleted {
        return Err(ApiError::not_found("mailbox"));
    }
    m.status = Status::Deleted;
    m.deleted_at_ms = Some(now);
    for key in &mut m.keys {
        key.revoked = true;
    }
    let domain_id = m.domain_id.clone();
    sync_domain_count(&mut store, ctx.team, domain_id.as_deref());
    Ok(ctx.deleted(id))
}

/// Suspend and resume: idempotent, refused on a deleted mailbox.
fn set_status(ctx: &Ctx<'_>, status: Status) -> Result<Out, ApiError> {
    let id = ctx.param(ID);
    let mut store = ctx.store();
    let m = store.mailboxes.get_mut(ctx.team, id)?;
    m.not_deleted()?;
    m.status = status;
    Ok(ctx.item(StatusCode::OK, &store.mailboxes.rendered(ctx.team, id)?))
}

fn suspend(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    set_status(&ctx, Status::Suspended)
}

fn resume(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    set_status(&ctx, Status::Active)
}

/// `MailboxAvailabilityResult`.
#[derive(Serialize)]
struct Availability<'a> {
    email: &'a str,
    available: bool,
    reason: &'static str,
}

fn availability(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let raw = ctx.query("email").ok_or_else(|| {
        ApiError::missing_parameter("the email query parameter is required").with_param("email")
    })?;
    let now = ctx.app.clock.unix_millis();
    let (email, verdict) = check_address(&ctx.store(), ctx.team, &raw, now);
    Ok(ctx.ok(Availability {
        email: &email,
        available: verdict.is_ok(),
        reason: verdict.err().map_or("available", |why| why.reason()),
    }))
}

fn create_key(mut ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let _: CreateKeyBody = ctx.typed_body()?;
    let (seed, id) = (ctx.seed(), ctx.param(ID));
    let mut store = ctx.store();
    let m = store.mailboxes.get(ctx.team, id)?;
    if m.status != Status::Active {
        return Err(ApiError::validation_error(format!(
            "the mailbox is {}; keys can only be issued to an active mailbox",
            m.status.as_str()
        )));
    }
    if m.active_keys() >= model::MAX_KEYS {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "limit_exceeded",
            format!(
                "the mailbox already has {} keys; revoke one first",
                model::MAX_KEYS
            ),
        ));
    }
    let credential = issue_key(&mut store, seed, ctx.team, id)?;
    let location = format!("/api/v1/mailboxes/{id}/keys/{}", credential.public_id());
    let body = ok_envelope(ctx.request_id, KeyResult { credential });
    Ok(Out::json(StatusCode::CREATED, ctx.request_id, body)
        .header(LOCATION, header_value(&location)))
}

/// Revokes a key; revoking a revoked key again is not an error.
fn delete_key(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let key_id = ctx.param("key_id");
    let mut store = ctx.store();
    let m = store.mailboxes.get_mut(ctx.team, ctx.param(ID))?;
    let key = m
        .keys
        .iter_mut()
        .find(|k| k.public_id == key_id)
        .ok_or_else(|| ApiError::not_found("key"))?;
    key.revoked = true;
    Ok(ctx.deleted(key_id))
}

fn get_filters(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let store = ctx.store();
    let m = store.mailboxes.get(ctx.team, ctx.param(ID))?;
    Ok(ctx.conditional(&m.filters.rendered(ctx.seed(), &m.id)))
}

fn set_filters(mut ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let filters: FilterState = ctx.typed_body()?;
    filters.check(ctx.op)?;
    let mut store = ctx.store();
    let m = store.mailboxes.get_mut(ctx.team, ctx.param(ID))?;
    ctx.if_match(&m.filters.rendered(ctx.seed(), &m.id), "filters")?;
    m.not_deleted()?;
    m.filters.set(filters);
    Ok(ctx.item(StatusCode::OK, &m.filters.rendered(ctx.seed(), &m.id)))
}

/// The mailbox behind a key the mock issued. Any other well-formed key
/// (accepted leniently) has no mailbox: `404 not_found`, as for a mailbox
/// that no longer exists. So does a `mailbox_id` naming another mailbox.
fn me(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let not_found = || ApiError::not_found("mailbox");
    let id = ctx.mailbox.ok_or_else(not_found)?;
    if ctx.query("mailbox_id").is_some_and(|asked| asked != id) {
        return Err(not_found());
    }
    let mut store = ctx.store();
    let used = store.mailbox_api.used_bytes(id);
    // `me` changes when the mailbox does or its stored mail grows or
    // shrinks: the mailbox's ETag with the usage folded in.
    let mailbox_etag = store.mailboxes.rendered(ctx.team, id)?.etag;
    let etag = format!(
        "W/\"{:016x}\"",
        crate::ids::hash_bytes(used, mailbox_etag.as_bytes())
    );
    let json = crate::api::to_json(&store.mailboxes.get(ctx.team, id)?.me(used));
    Ok(ctx.conditional(&Rendered { json, etag }))
}
