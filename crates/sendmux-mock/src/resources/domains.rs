//! Handlers of the nine Domains operations, over the domains collection
//! (ids, team scoping, pages, ETags) and the domain model (records,
//! verification, filters). A domain's `mailbox_count` is the number of the
//! team's mailboxes on it that are not deleted, kept current by the
//! mailbox handlers; deleting a domain is refused while it is above zero.

mod admin;
mod model;

use http::header::{CONTENT_DISPOSITION, CONTENT_TYPE, LOCATION};
use http::{HeaderValue, StatusCode};
use sendmux_operations::{Operation, ops};
use serde::Deserialize;

pub use admin::DomainSummary;
pub(crate) use admin::summaries;
pub(crate) use model::{Domain, Mode, Status, check_domain_name};

use super::filters::FilterState;
use super::{Ctx, Handler, mailboxes};
use crate::api::{ApiError, Out, header_value};
use crate::app::lock;

/// The operations this module implements.
pub(crate) const HANDLERS: &[(&Operation, Handler)] = &[
    (ops::MANAGEMENT_LIST_DOMAINS, list),
    (ops::MANAGEMENT_CREATE_DOMAIN, create),
    (ops::MANAGEMENT_GET_DOMAIN, get),
    (ops::MANAGEMENT_UPDATE_DOMAIN, update),
    (ops::MANAGEMENT_DELETE_DOMAIN, delete),
    (ops::MANAGEMENT_VERIFY_DOMAIN, verify),
    (ops::MANAGEMENT_GET_DOMAIN_ZONE_FILE, zone_file),
    (ops::MANAGEMENT_GET_DOMAIN_FILTERS, get_filters),
    (ops::MANAGEMENT_SET_DOMAIN_FILTERS, set_filters),
];

/// The path parameter naming a domain.
const ID: &str = "public_id";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    domain: String,
    #[serde(default)]
    mode: Option<Mode>,
}

/// `PATCH` can only upgrade, so the body has one possible value.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateBody {
    mode: UpgradeMode,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum UpgradeMode {
    SendReceive,
}

fn list(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let page = ctx.store().domains.page(ctx.team, ctx.parts.uri.query())?;
    Ok(ctx.page(&page))
}

fn create(mut ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let CreateBody { domain, mode } = ctx.typed_body()?;
    check_domain_name(&domain).map_err(|why| {
        ApiError::invalid_field("domain", "invalid_string", format!("domain {why}"))
    })?;
    let (seed, now) = (ctx.seed(), ctx.app.clock.unix_millis());
    let mut store = ctx.store();
    if store.domains.find(ctx.team, |d| d.name == domain).is_some() {
        let message = format!("the domain {domain} is already in use");
        return Err(ApiError::conflict(message).with_param("domain"));
    }
    let mode = mode.unwrap_or(Mode::SendReceive);
    let id = store.domains.insert(ctx.team, |id| {
        Domain::new(id, seed, ctx.team, domain, mode, now)
    });
    let location = header_value(&format!("/api/v1/domains/{id}"));
    Ok(ctx
        .item(StatusCode::CREATED, &store.domains.rendered(ctx.team, &id)?)
        .header(LOCATION, location))
}

fn get(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let rendered = ctx.store().domains.rendered(ctx.team, ctx.param(ID))?;
    Ok(ctx.conditional(&rendered))
}

fn update(mut ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let UpdateBody {
        mode: UpgradeMode::SendReceive,
    } = ctx.typed_body()?;
    let (seed, now, id) = (ctx.seed(), ctx.app.clock.unix_millis(), ctx.param(ID));
    let mut store = ctx.store();
    ctx.if_match(&store.domains.rendered(ctx.team, id)?, "domain")?;
    store
        .domains
        .get_mut(ctx.team, id)?
        .upgrade(seed, ctx.team, now)?;
    Ok(ctx.item(StatusCode::OK, &store.domains.rendered(ctx.team, id)?))
}

fn delete(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let mut store = ctx.store();
    store.domains.get(ctx.team, ctx.param(ID))?;
    let count = mailboxes::count_on_domain(&store, ctx.team, ctx.param(ID));
    if count > 0 {
        let message = format!("{count} active mailbox(es) still use this domain");
        return Err(ApiError::conflict(message));
    }
    store.domains.remove(ctx.team, ctx.param(ID))?;
    Ok(ctx.deleted(ctx.param(ID)))
}

fn verify(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let (propagation, now) = (*lock(&ctx.app.propagation), ctx.app.clock.unix_millis());
    let result = ctx
        .store()
        .domains
        .get_mut(ctx.team, ctx.param(ID))?
        .verify(propagation, now);
    Ok(ctx.ok(result))
}

fn zone_file(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let store = ctx.store();
    let d = store.domains.get(ctx.team, ctx.param(ID))?;
    let disposition = format!("attachment; filename=\"{}.zone\"", d.name);
    Ok(Out::empty(StatusCode::OK, ctx.request_id)
        .header(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )
        .header(CONTENT_DISPOSITION, header_value(&disposition))
        .body(d.dns.zone_file(&d.name)))
}

fn get_filters(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let store = ctx.store();
    let d = store.domains.get(ctx.team, ctx.param(ID))?;
    d.receives()?;
    Ok(ctx.conditional(&d.filters_rendered(ctx.seed())))
}

fn set_filters(mut ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let filters: FilterState = ctx.typed_body()?;
    filters.check(ctx.op)?;
    let mut store = ctx.store();
    let d = store.domains.get_mut(ctx.team, ctx.param(ID))?;
    d.receives()?;
    ctx.if_match(&d.filters_rendered(ctx.seed()), "filters")?;
    d.filters.set(filters);
    Ok(ctx.item(StatusCode::OK, &d.filters_rendered(ctx.seed())))
}
