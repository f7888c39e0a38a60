//! Handlers of the fifteen Sending accounts operations (`/providers`):
//! the shared Amazon SES account every team has (on and off only),
//! custom SMTP accounts, connection tests, limits, and the two kinds of
//! limit request. Counts in stats, usage and limits come from the stored
//! accounts, so they always agree with the list.

mod model;

use http::StatusCode;
use http::header::LOCATION;
use sendmux_operations::{Operation, ops};
use serde::{Deserialize, Serialize};

pub(crate) use model::{AccountLimitRequest, Provider, SesLimitRequest};
use model::{
    AccountsLimit, Defaults, Kind, Password, Protocol, Quotas, QuotasInput, RequestStatus,
    SesLimit, Smtp, Status, TypeFilter,
};

use super::webhooks::{present, query_filter};
use super::{Ctx, Handler, Resources};
use crate::api::{ApiError, Out, header_value, to_json};
use crate::clock::rfc3339;
use crate::collection::DEFAULT_LIMIT;
use crate::validate::schema_error;

/// The operations this module implements.
pub(crate) const HANDLERS: &[(&Operation, Handler)] = &[
    (ops::MANAGEMENT_LIST_PROVIDERS, list),
    (ops::MANAGEMENT_CREATE_PROVIDER, create),
    (ops::MANAGEMENT_GET_PROVIDER, get),
    (ops::MANAGEMENT_UPDATE_PROVIDER, update),
    (ops::MANAGEMENT_DELETE_PROVIDER, delete),
    (ops::MANAGEMENT_ACTIVATE_PROVIDER, activate),
    (ops::MANAGEMENT_DEACTIVATE_PROVIDER, deactivate),
    (ops::MANAGEMENT_TEST_PROVIDER, test),
    (ops::MANAGEMENT_GET_PROVIDER_LIMITS, limits),
    (
        ops::MANAGEMENT_REQUEST_SENDING_ACCOUNT_LIMIT_INCREASE,
        request_increase,
    ),
    (ops::MANAGEMENT_GET_SHARED_AMAZON_SES_LIMIT_REQUEST, ses_get),
    (
        ops::MANAGEMENT_CREATE_SHARED_AMAZON_SES_LIMIT_REQUEST,
        ses_create,
    ),
    (
        ops::MANAGEMENT_CANCEL_SHARED_AMAZON_SES_LIMIT_REQUEST,
        ses_cancel,
    ),
    (ops::MANAGEMENT_GET_PROVIDER_STATS, stats),
    (ops::MANAGEMENT_GET_PROVIDER_USAGE, usage),
];

/// The path parameter naming an account.
const ID: &str = "public_id";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    name: String,
    smtp_host: String,
    smtp_port: u16,
    smtp_protocol: Protocol,
    smtp_username: String,
    smtp_password: Password,
    #[serde(default)]
    from_email: Option<String>,
    #[serde(default)]
    from_name: Option<String>,
    #[serde(default)]
    reply_to_email: Option<String>,
    #[serde(default)]
    reply_to_name: Option<String>,
    #[serde(default)]
    tracking_domain: Option<String>,
    #[serde(default)]
    percentage: Option<u8>,
    #[serde(default)]
    quotas: Option<QuotasInput>,
}

/// Absent fields stay; `null` clears the nullable ones.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    smtp_host: Option<String>,
    #[serde(default)]
    smtp_port: Option<u16>,
    #[serde(default)]
    smtp_protocol: Option<Protocol>,
    #[serde(default)]
    smtp_username: Option<String>,
    #[serde(default)]
    smtp_password: Option<Password>,
    #[serde(default, deserialize_with = "present")]
    from_email: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    from_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    reply_to_email: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    reply_to_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    tracking_domain: Option<Option<String>>,
    #[serde(default)]
    percentage: Option<u8>,
    #[serde(default)]
    quotas: Option<QuotasInput>,
}

/// Gives `team` its shared Amazon SES account on first use: every team
/// has one, created with the first request that looks at accounts.
/// Returns its id.
fn ensure_shared(store: &mut Resources, team: &str, now: u64) -> String {
    if let Some(p) = store.providers.find(team, Provider::is_shared) {
        return p.id.clone();
    }
    store.providers.insert(team, |id| Provider::shared(id, now))
}

/// `422 validation_error` for changes the shared account does not take.
fn locked(what: &str) -> ApiError {
    ApiError::validation_error(format!(
        "the shared Amazon SES account is managed by the platform and cannot be {what}; \
         it can only be activated and deactivated"
    ))
}

fn list(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let status = query_filter(
        &ctx,
        "status",
        Status::parse,
        "active, inactive, error or pending",
    )?;
    let kind = query_filter(
        &ctx,
        "type",
        TypeFilter::parse,
        "smtp, gmail_api, outlook_api or amazon_ses",
    )?;
    let now = ctx.app.clock.unix_millis();
    let mut store = ctx.store();
    ensure_shared(&mut store, ctx.team, now);
    let page = store
        .providers
        .page_where(ctx.team, ctx.parts.uri.query(), DEFAULT_LIMIT, |p| {
            status.is_none_or(|s| s == p.status()) && kind.is_none_or(|k| k.matches(p.kind))
        })?;
    Ok(ctx.page(&page))
}

fn create(mut ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let body: CreateBody = ctx.typed_body()?;
    let quotas_input = body.quotas.unwrap_or_default();
    let errors = quotas_input.check();
    if !errors.is_empty() {
        return Err(schema_error(ctx.op, errors));
    }
    let now = ctx.app.clock.unix_millis();
    let mut store = ctx.store();
    ensure_shared(&mut store, ctx.team, now);
    let usage = custom_count(&store, ctx.team);
    if AccountsLimit::new(usage, None).is_at_limit() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "limit_exceeded",
            format!(
                "the team has {usage} sending accounts, as many as allowed; \
                 request an increase or delete one"
            ),
        ));
    }
    let mut quotas = Quotas::default();
    quotas_input.apply(&mut quotas);
    let id = store.providers.insert(ctx.team, |id| Provider {
        id: id.to_owned(),
        name: body.name,
        kind: Kind::Smtp,
        active: true,
        error: None,
        smtp: Some(Smtp {
            host: body.smtp_host,
            port: body.smtp_port,
            protocol: body.smtp_protocol,
            username: body.smtp_username,
            password: body.smtp_password,
        }),
        defaults: Defaults {
            from_email: body.from_email,
            from_name: body.from_name,
            reply_to_email: body.reply_to_email,
            reply_to_name: body.reply_to_name,
            tracking_domain: body.tracking_domain,
        },
        quotas,
        percentage: Some(body.percentage.unwrap_or(100)),
        created_at_ms: now,
        updated_at_ms: now,
        last_tested_at_ms: None,
    });
    let location = header_value(&format!("/api/v1/providers/{id}"));
    Ok(ctx
        .item(
            StatusCode::CREATED,
            &store.providers.rendered(ctx.team, &id)?,
        )
        .header(LOCATION, location))
}

fn get(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let now = ctx.app.clock.unix_millis();
    let mut store = ctx.store();
    ensure_shared(&mut store, ctx.team, now);
    let rendered = store.providers.rendered(ctx.team, ctx.param(ID))?;
    Ok(ctx.conditional(&rendered))
}

fn update(mut ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let body: UpdateBody = ctx.typed_body()?;
    if let Some(q) = &body.quotas {
        let errors = q.check();
        if !errors.is_empty() {
            return Err(schema_error(ctx.op, errors));
        }
    }
    let (now, id) = (ctx.app.clock.unix_millis(), ctx.param(ID));
    let mut store = ctx.store();
    ensure_shared(&mut store, ctx.team, now);
    let current = store.providers.rendered(ctx.team, id)?;
    if store.providers.get(ctx.team, id)?.is_shared() {
        return Err(locked("edited"));
    }
    ctx.if_match(&current, "sending account")?;
    let p = store.providers.get_mut(ctx.team, id)?;
    let before = to_json(&*p);
    let mut connection_changed = false;
    if let Some(smtp) = p.smtp.as_mut() {
        if let Some(host) = body.smtp_host {
            connection_changed |= smtp.host != host;
            smtp.host = host;
        }
        if let Some(port) = body.smtp_port {
            connection_changed |= smtp.port != port;
            smtp.port = port;
        }
        if let Some(protocol) = body.smtp_protocol {
            connection_changed |= smtp.protocol != protocol;
            smtp.protocol = protocol;
        }
        if let Some(username) = body.smtp_username {
            connection_changed |= smtp.username != username;
            smtp.username = username;
        }
        if let Some(password) = body.smtp_password {
            connection_changed |= smtp.password != password;
            smtp.password = password;
        }
    }
    // New connection settings void the last failed test.
    if connection_changed {
        p.error = None;
    }
    if let Some(name) = body.name {
        p.name = name;
    }
    let d = &mut p.defaults;
    for (slot, value) in [
        (&mut d.from_email, body.from_email),
        (&mut d.from_name, body.from_name),
        (&mut d.reply_to_email, body.reply_to_email),
        (&mut d.reply_to_name, body.reply_to_name),
        (&mut d.tracking_domain, body.tracking_domain),
    ] {
        if let Some(value) = value {
            *slot = value;
        }
    }
    if let Some(percentage) = body.percentage {
        p.percentage = Some(percentage);
    }
    if let Some(q) = &body.quotas {
        q.apply(&mut p.quotas);
    }
    // A new password shows nowhere in the JSON but is a change all the same.
    if connection_changed || to_json(&*p) != before {
        p.updated_at_ms = now;
    }
    Ok(ctx.item(StatusCode::OK, &store.providers.rendered(ctx.team, id)?))
}

fn delete(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let (now, id) = (ctx.app.clock.unix_millis(), ctx.param(ID));
    let mut store = ctx.store();
    ensure_shared(&mut store, ctx.team, now);
    if store.providers.get(ctx.team, id)?.is_shared() {
        return Err(locked("deleted"));
    }
    store.providers.remove(ctx.team, id)?;
    Ok(ctx.deleted(id))
}

fn activate(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    switch(ctx, true)
}

fn deactivate(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    switch(ctx, false)
}

/// Turns an account on or off; doing it twice is not an error and
/// changes nothing the second time.
fn switch(ctx: Ctx<'_>, on: bool) -> Result<Out, ApiError> {
    let (now, id) = (ctx.app.clock.unix_millis(), ctx.param(ID));
    let mut store = ctx.store();
    ensure_shared(&mut store, ctx.team, now);
    let p = store.providers.get_mut(ctx.team, id)?;
    if p.active != on {
        p.active = on;
        p.updated_at_ms = now;
    }
    Ok(ctx.item(StatusCode::OK, &store.providers.rendered(ctx.team, id)?))
}

fn test(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let (now, id) = (ctx.app.clock.unix_millis(), ctx.param(ID));
    let mut store = ctx.store();
    ensure_shared(&mut store, ctx.team, now);
    let p = store.providers.get_mut(ctx.team, id)?;
    if p.smtp.is_none() {
        return Err(ApiError::validation_error(
            "only custom SMTP accounts can be connection-tested",
        ));
    }
    let (success, message, latency_ms) = p.connection_test();
    p.last_tested_at_ms = Some(now);
    p.error = (!success).then(|| format!("the last connection test failed: {message}"));
    #[derive(Serialize)]
    struct TestResult {
        success: bool,
        message: String,
        latency_ms: u64,
        tested_at: String,
    }
    Ok(ctx.ok(TestResult {
        success,
        message,
        latency_ms,
        tested_at: rfc3339(now),
    }))
}

/// Custom and connected accounts of `team` (all but the shared one).
fn custom_count(store: &Resources, team: &str) -> u64 {
    let n = store
        .providers
        .iter_team(team)
        .filter(|p| !p.is_shared())
        .count();
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// The open request for more accounts, if any (the mock decides none).
fn open_account_request(store: &Resources, team: &str) -> Option<String> {
    store
        .provider_limit_requests
        .iter_team(team)
        .next()
        .map(|r| r.id.clone())
}

/// The open shared SES limit request, if any.
fn open_ses_request(store: &Resources, team: &str) -> Option<String> {
    store
        .ses_limit_requests
        .find(team, |r| r.status == RequestStatus::Pending)
        .map(|r| r.id.clone())
}

/// The shared account's limit as it stands.
fn ses_limit(store: &mut Resources, team: &str, now: u64) -> SesLimit {
    let shared = ensure_shared(store, team, now);
    SesLimit::new(shared, open_ses_request(store, team))
}

/// The sending-account allowance as it stands.
fn accounts_limit(store: &Resources, team: &str) -> AccountsLimit {
    AccountsLimit::new(custom_count(store, team), open_account_request(store, team))
}

fn limits(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let now = ctx.app.clock.unix_millis();
    let mut store = ctx.store();
    #[derive(Serialize)]
    struct Limits {
        sending_accounts: AccountsLimit,
        shared_amazon_ses: SesLimit,
    }
    let shared_amazon_ses = ses_limit(&mut store, ctx.team, now);
    Ok(ctx.ok(Limits {
        sending_accounts: accounts_limit(&store, ctx.team),
        shared_amazon_ses,
    }))
}

/// One open request at a time: `409 conflict` while one awaits review.
fn request_increase(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let now = ctx.app.clock.unix_millis();
    let mut store = ctx.store();
    ensure_shared(&mut store, ctx.team, now);
    if let Some(open) = open_account_request(&store, ctx.team) {
        return Err(ApiError::conflict(format!(
            "the request {open} for more sending accounts still awaits review"
        )));
    }
    let request_id = store
        .provider_limit_requests
        .insert(ctx.team, |id| AccountLimitRequest { id: id.to_owned() });
    #[derive(Serialize)]
    struct Filed {
        request_id: String,
        limit: AccountsLimit,
    }
    let limit = accounts_limit(&store, ctx.team);
    Ok(ctx.ok(Filed { request_id, limit }))
}

/// A shared SES limit request with the limit as it now stands.
#[derive(Serialize)]
struct SesRequestAnswer {
    request: SesLimitRequest,
    limit: SesLimit,
}

fn ses_get(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let now = ctx.app.clock.unix_millis();
    let mut store = ctx.store();
    let limit = ses_limit(&mut store, ctx.team, now);
    let pending_request = store
        .ses_limit_requests
        .find(ctx.team, |r| r.status == RequestStatus::Pending)
        .cloned();
    #[derive(Serialize)]
    struct PageView {
        limit: SesLimit,
        pending_request: Option<SesLimitRequest>,
    }
    Ok(ctx.ok(PageView {
        limit,
        pending_request,
    }))
}

fn ses_create(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let now = ctx.app.clock.unix_millis();
    let mut store = ctx.store();
    ensure_shared(&mut store, ctx.team, now);
    if let Some(open) = open_ses_request(&store, ctx.team) {
        return Err(ApiError::conflict(format!(
            "the shared Amazon SES limit request {open} still awaits review; \
             cancel it to file another"
        )));
    }
    let limit_now = ses_limit(&mut store, ctx.team, now);
    let id = store
        .ses_limit_requests
        .insert(ctx.team, |id| SesLimitRequest {
            id: id.to_owned(),
            status: RequestStatus::Pending,
            current_daily_limit: limit_now.daily_limit.unwrap_or(0),
            current_daily_sent: limit_now.sent_today,
            created_at_ms: now,
        });
    ses_answer(&ctx, &mut store, &id, now)
}

/// Cancels the team's open request; one already cancelled (or decided)
/// stays as it is: `409 conflict`.
fn ses_cancel(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let (now, id) = (ctx.app.clock.unix_millis(), ctx.param("request_id"));
    let mut store = ctx.store();
    let request = store.ses_limit_requests.get_mut(ctx.team, id)?;
    if request.status != RequestStatus::Pending {
        return Err(ApiError::conflict(
            "the request is no longer pending and cannot be cancelled",
        ));
    }
    request.status = RequestStatus::Cancelled;
    ses_answer(&ctx, &mut store, id, now)
}

fn ses_answer(ctx: &Ctx<'_>, store: &mut Resources, id: &str, now: u64) -> Result<Out, ApiError> {
    let request = store.ses_limit_requests.get(ctx.team, id)?.clone();
    let limit = ses_limit(store, ctx.team, now);
    Ok(ctx.ok(SesRequestAnswer { request, limit }))
}

fn stats(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let now = ctx.app.clock.unix_millis();
    let mut store = ctx.store();
    ensure_shared(&mut store, ctx.team, now);
    #[derive(Default, Serialize)]
    struct ByStatus {
        active: u64,
        inactive: u64,
        error: u64,
        pending: u64,
    }
    #[derive(Default, Serialize)]
    struct ByType {
        smtp: u64,
        gmail_api: u64,
        outlook_api: u64,
        amazon_ses: u64,
    }
    let (mut s, mut t) = (ByStatus::default(), ByType::default());
    for p in store.providers.iter_team(ctx.team) {
        match p.status() {
            Status::Active => s.active += 1,
            Status::Inactive => s.inactive += 1,
            Status::Error => s.error += 1,
            Status::Pending => s.pending += 1,
        }
        match p.kind {
            Kind::Smtp => t.smtp += 1,
            Kind::AmazonSes => t.amazon_ses += 1,
        }
    }
    #[derive(Serialize)]
    struct Stats {
        total: u64,
        active: u64,
        inactive: u64,
        error: u64,
        pending: u64,
        by_type: ByType,
        by_status: ByStatus,
    }
    Ok(ctx.ok(Stats {
        total: s.active + s.inactive + s.error + s.pending,
        active: s.active,
        inactive: s.inactive,
        error: s.error,
        pending: s.pending,
        by_type: t,
        by_status: s,
    }))
}

/// The mock sends no mail, so every account has sent nothing yet.
fn usage(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let now = ctx.app.clock.unix_millis();
    let mut store = ctx.store();
    ensure_shared(&mut store, ctx.team, now);
    #[derive(Serialize)]
    struct Item {
        provider_id: String,
        sent_today: u64,
        total_7d: u64,
        sent_7d: u64,
        failed_7d: u64,
        rejected_7d: u64,
        pending_7d: u64,
    }
    #[derive(Serialize)]
    struct Usage {
        window_days: u8,
        providers: Vec<Item>,
    }
    let providers = store
        .providers
        .iter_team(ctx.team)
        .map(|p| Item {
            provider_id: p.id.clone(),
            sent_today: 0,
            total_7d: 0,
            sent_7d: 0,
            failed_7d: 0,
            rejected_7d: 0,
            pending_7d: 0,
        })
        .collect();
    Ok(ctx.ok(Usage {
        window_days: 7,
        providers,
    }))
}
