//! Handlers of the nine Domains operations. They run under the store lock
//! and never await, so a change and the response describing it are atomic.

use http::header::{CONTENT_DISPOSITION, CONTENT_TYPE, ETAG, IF_MATCH, IF_NONE_MATCH, LOCATION};
use http::{HeaderValue, StatusCode};
use sendmux_operations::{Operation, ops};
use serde::{Deserialize, Serialize};

use super::{Ctx, Handler};
use crate::api::{ApiError, FieldError, Out, header_value, ok_envelope, to_json};
use crate::app::{App, lock};
use crate::clock::rfc3339;
use crate::config::Propagation;
use crate::ids;
use crate::model::{
    DnsRecords, Domain, FilterMode, FilterState, Mode, SesState, Status, check_domain_name,
    check_pattern, etag_matches,
};
use crate::validate::schema_error;

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

/// Largest page.
const MAX_LIMIT: usize = 100;
/// Page size when `limit` is omitted.
const DEFAULT_LIMIT: usize = 50;
/// Most filter rules a domain may hold.
const MAX_RULES: usize = 1000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    domain: String,
    #[serde(default)]
    mode: Option<Mode>,
}

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

fn create(mut ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let body: CreateBody = ctx.typed_body()?;
    if let Err(why) = check_domain_name(&body.domain) {
        let message = format!("domain {why}");
        return Err(ApiError::invalid_parameter(message.clone())
            .with_param("domain")
            .with_errors(vec![FieldError {
                field: "domain".to_owned(),
                code: "invalid_string".to_owned(),
                message,
            }]));
    }
    let mode = body.mode.unwrap_or(Mode::SendReceive);
    let app = ctx.app;
    let now = app.clock.unix_millis();
    let mut store = lock(&app.store);
    let team_index = store.teams.entry(ctx.team.to_owned()).or_default();
    if team_index.by_name.contains_key(&body.domain) {
        return Err(
            ApiError::conflict(format!("the domain {} is already in use", body.domain))
                .with_param("domain"),
        );
    }
    store.next_seq += 1;
    let seq = store.next_seq;
    let id = ids::public_id("mdom_", app.settings.seed, seq);
    let mut domain = Domain {
        seq,
        id: id.clone(),
        team_id: ctx.team.to_owned(),
        dns: DnsRecords::compute(app.settings.seed, ctx.team, &body.domain, mode),
        name: body.domain,
        mode,
        status: Status::Pending,
        ses: None,
        verified_at_ms: None,
        created_at_ms: now,
        mailbox_count: 0,
        pending_since_ms: now,
        verify_calls: 0,
        version: 1,
        filters: FilterState {
            mode: FilterMode::Off,
            rules: Vec::new(),
        },
        filters_version: 1,
        rendered: None,
    };
    let team_index = store.teams.entry(ctx.team.to_owned()).or_default();
    team_index.by_seq.insert(seq, id.clone());
    team_index.by_name.insert(domain.name.clone(), id.clone());
    let out = domain_out(StatusCode::CREATED, &ctx, &mut domain)
        .header(LOCATION, header_value(&format!("/api/v1/domains/{id}")));
    store.domains.insert(id, domain);
    Ok(out)
}

/// The envelope around one domain, with its ETag.
fn domain_out(status: StatusCode, ctx: &Ctx<'_>, d: &mut Domain) -> Out {
    let (data, etag) = d.rendered(ctx.app.settings.seed);
    // Spliced by hand so the cached `data` is not parsed and re-serialised.
    let mut body = Vec::with_capacity(data.len() + 80);
    body.extend_from_slice(b"{\"ok\":true,\"data\":");
    body.extend_from_slice(&data);
    body.extend_from_slice(b",\"meta\":{\"request_id\":");
    body.extend_from_slice(&to_json(&ctx.request_id));
    body.extend_from_slice(b"}}");
    Out::json(status, ctx.request_id, body.into()).header(ETAG, header_value(&etag))
}

fn list(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let mut limit = DEFAULT_LIMIT;
    let mut cursor: Option<u64> = None;
    for pair in ctx.parts.uri.query().unwrap_or("").split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "limit" => {
                limit = v
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_LIMIT).contains(n))
                    .ok_or_else(|| {
                        ApiError::invalid_parameter("limit must be an integer from 1 to 100")
                            .with_param("limit")
                    })?;
            }
            "cursor" if !v.is_empty() => {
                cursor = Some(decode_cursor(ctx.app.settings.seed, v).ok_or_else(|| {
                    ApiError::invalid_parameter("cursor is not one this server issued")
                        .with_param("cursor")
                })?);
            }
            _ => {}
        }
    }
    let store = lock(&ctx.app.store);
    let mut page: Vec<&Domain> = Vec::with_capacity(limit);
    let mut has_more = false;
    if let Some(team) = store.teams.get(ctx.team) {
        let upper = cursor.unwrap_or(u64::MAX);
        let mut iter = team
            .by_seq
            .range(..upper)
            .rev()
            .filter_map(|(_, id)| store.domains.get(id));
        for d in iter.by_ref().take(limit) {
            page.push(d);
        }
        has_more = iter.next().is_some();
    }
    #[derive(Serialize)]
    struct Pagination {
        has_more: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        next_cursor: Option<String>,
    }
    #[derive(Serialize)]
    struct Env<'a, T> {
        ok: bool,
        data: T,
        pagination: Pagination,
        meta: crate::api::Meta<'a>,
    }
    let next_cursor = if has_more {
        page.last()
            .map(|d| encode_cursor(ctx.app.settings.seed, d.seq))
    } else {
        None
    };
    let views: Vec<_> = page.iter().map(|d| d.view()).collect();
    let body = to_json(&Env {
        ok: true,
        data: views,
        pagination: Pagination {
            has_more,
            next_cursor,
        },
        meta: crate::api::Meta {
            request_id: ctx.request_id,
        },
    });
    Ok(Out::json(StatusCode::OK, ctx.request_id, body))
}

/// Cursor = the position of the last item returned, masked with a
/// seed-derived value and hex-encoded so it reads as opaque.
fn encode_cursor(seed: u64, seq: u64) -> String {
    let mask = ids::mix64(seed ^ 0x6375_7273_6f72);
    let check = ids::mix64(seq.wrapping_add(mask.rotate_left(17))) & 0xffff;
    format!("c{:016x}{check:04x}", seq ^ mask)
}

fn decode_cursor(seed: u64, s: &str) -> Option<u64> {
    let hex = s.strip_prefix('c')?;
    if hex.len() != 20 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let masked = u64::from_str_radix(hex.get(..16)?, 16).ok()?;
    let check = u64::from_str_radix(hex.get(16..)?, 16).ok()?;
    let mask = ids::mix64(seed ^ 0x6375_7273_6f72);
    let seq = masked ^ mask;
    (ids::mix64(seq.wrapping_add(mask.rotate_left(17))) & 0xffff == check).then_some(seq)
}

fn get(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let mut store = lock(&ctx.app.store);
    let d = store
        .team_domain_mut(ctx.team, ctx.param("public_id"))
        .ok_or_else(|| ApiError::not_found("domain"))?;
    let (_, etag) = d.rendered(ctx.app.settings.seed);
    if ctx
        .header(IF_NONE_MATCH)
        .is_some_and(|h| etag_matches(h, &etag))
    {
        return Ok(
            Out::empty(StatusCode::NOT_MODIFIED, ctx.request_id).header(ETAG, header_value(&etag))
        );
    }
    Ok(domain_out(StatusCode::OK, &ctx, d))
}

fn update(mut ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let UpdateBody {
        mode: UpgradeMode::SendReceive,
    } = ctx.typed_body()?;
    let seed = ctx.app.settings.seed;
    let now = ctx.app.clock.unix_millis();
    let mut store = lock(&ctx.app.store);
    let id = ctx.param("public_id").to_owned();
    let d = store
        .team_domain_mut(ctx.team, &id)
        .ok_or_else(|| ApiError::not_found("domain"))?;
    if let Some(h) = ctx.header(IF_MATCH)
        && !etag_matches(h, &d.etag(seed))
    {
        return Err(
            ApiError::conflict("If-Match does not match the current ETag of the domain")
                .with_param("If-Match"),
        );
    }
    if d.mode == Mode::SendReceive {
        return Err(ApiError::conflict(
            "the domain is already send_receive; only send_only domains can be upgraded",
        ));
    }
    {
        d.mode = Mode::SendReceive;
        d.dns = DnsRecords::compute(seed, ctx.team, &d.name, Mode::SendReceive);
        // The new MX records must propagate and verify again.
        d.status = Status::Pending;
        d.verified_at_ms = None;
        d.pending_since_ms = now;
        d.verify_calls = 0;
        d.version += 1;
    }
    Ok(domain_out(StatusCode::OK, &ctx, d))
}

fn delete(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let mut store = lock(&ctx.app.store);
    let id = ctx.param("public_id").to_owned();
    let d = store
        .team_domain(ctx.team, &id)
        .ok_or_else(|| ApiError::not_found("domain"))?;
    if d.mailbox_count > 0 {
        return Err(ApiError::conflict(format!(
            "{} active mailbox(es) still use this domain",
            d.mailbox_count
        )));
    }
    store.remove(&id);
    #[derive(Serialize)]
    struct Deleted<'a> {
        deleted: bool,
        id: &'a str,
    }
    let body = ok_envelope(
        ctx.request_id,
        Deleted {
            deleted: true,
            id: &id,
        },
    );
    Ok(Out::json(StatusCode::OK, ctx.request_id, body))
}

fn verify(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let propagation = *lock(&ctx.app.propagation);
    let now = ctx.app.clock.unix_millis();
    let mut store = lock(&ctx.app.store);
    let id = ctx.param("public_id").to_owned();
    let d = store
        .team_domain_mut(ctx.team, &id)
        .ok_or_else(|| ApiError::not_found("domain"))?;
    d.verify_calls = d.verify_calls.saturating_add(1);
    let visible = match propagation {
        Propagation::AfterVerifyCalls { calls } => d.verify_calls >= calls,
        Propagation::AfterDuration { .. } => propagation
            .duration()
            .map(|wait| u64::try_from(wait.as_millis()).unwrap_or(u64::MAX))
            .is_some_and(|wait| now.saturating_sub(d.pending_since_ms) >= wait),
        Propagation::Fail => false,
    };
    let (status, word) = match (visible, propagation, d.status) {
        (true, _, _) => (Status::Verified, "Success"),
        (false, Propagation::Fail, _) => (Status::Failed, "Failed"),
        // A failed domain stays failed until a full pass.
        (false, _, Status::Failed) => (Status::Failed, "Failed"),
        (false, _, _) => (Status::Pending, "Pending"),
    };
    if status == Status::Verified && d.status != Status::Verified {
        d.verified_at_ms = Some(now);
    }
    d.status = status;
    d.ses = Some(SesState {
        identity: word,
        verified_for_sending: visible,
        dkim: word,
        checked_at_ms: now,
        mail_from: word,
    });
    // The checked-at time is part of the representation, so every verify
    // is a change.
    d.version += 1;
    #[derive(Serialize)]
    struct Checks {
        mx: bool,
        verification_txt: bool,
        spf: bool,
        dmarc: bool,
        mail_from_mx: bool,
        mail_from_spf: bool,
    }
    #[derive(Serialize)]
    struct VerifyResult<'a> {
        status: Status,
        ses_identity_verification_status: &'a str,
        ses_verified_for_sending: bool,
        ses_dkim_status: &'a str,
        ses_dkim_signing_enabled: bool,
        ses_identity_checked_at: String,
        ses_mail_from_status: &'a str,
        checks: Checks,
    }
    let body = ok_envelope(
        ctx.request_id,
        VerifyResult {
            status,
            ses_identity_verification_status: word,
            ses_verified_for_sending: visible,
            ses_dkim_status: word,
            ses_dkim_signing_enabled: true,
            ses_identity_checked_at: rfc3339(now),
            ses_mail_from_status: word,
            checks: Checks {
                // A send_only domain publishes no inbound MX to find.
                mx: visible && d.mode == Mode::SendReceive,
                verification_txt: visible,
                spf: visible,
                dmarc: visible,
                mail_from_mx: visible,
                mail_from_spf: visible,
            },
        },
    );
    Ok(Out::json(StatusCode::OK, ctx.request_id, body))
}

fn zone_file(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let store = lock(&ctx.app.store);
    let d = store
        .team_domain(ctx.team, ctx.param("public_id"))
        .ok_or_else(|| ApiError::not_found("domain"))?;
    let text = d.dns.zone_file(&d.name);
    Ok(Out {
        status: StatusCode::OK,
        headers: vec![
            (crate::api::X_REQUEST_ID, header_value(ctx.request_id)),
            (
                CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
            (
                CONTENT_DISPOSITION,
                header_value(&format!("attachment; filename=\"{}.zone\"", d.name)),
            ),
        ],
        body: text.into(),
    })
}

fn send_only_conflict() -> ApiError {
    ApiError::conflict("the domain is send_only and has no inbound sender filters")
}

fn filters_out(ctx: &Ctx<'_>, d: &Domain) -> Out {
    Out::json(
        StatusCode::OK,
        ctx.request_id,
        ok_envelope(ctx.request_id, &d.filters),
    )
    .header(ETAG, header_value(&d.filters_etag(ctx.app.settings.seed)))
}

fn get_filters(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let store = lock(&ctx.app.store);
    let d = store
        .team_domain(ctx.team, ctx.param("public_id"))
        .ok_or_else(|| ApiError::not_found("domain"))?;
    if d.mode == Mode::SendOnly {
        return Err(send_only_conflict());
    }
    let etag = d.filters_etag(ctx.app.settings.seed);
    if ctx
        .header(IF_NONE_MATCH)
        .is_some_and(|h| etag_matches(h, &etag))
    {
        return Ok(
            Out::empty(StatusCode::NOT_MODIFIED, ctx.request_id).header(ETAG, header_value(&etag))
        );
    }
    Ok(filters_out(&ctx, d))
}

fn set_filters(mut ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let state: FilterState = ctx.typed_body()?;
    // The schema caps these too; checked again so the handler stays safe
    // whatever document it runs with.
    if state.rules.len() > MAX_RULES {
        return Err(ApiError::validation_error(format!(
            "at most {MAX_RULES} rules are allowed, got {}",
            state.rules.len()
        ))
        .with_param("rules"));
    }
    let mut errors = Vec::new();
    for (i, rule) in state.rules.iter().enumerate() {
        if let Err(why) = check_pattern(&rule.pattern) {
            errors.push(FieldError {
                field: format!("rules.{i}.pattern"),
                code: "invalid_string".to_owned(),
                message: format!("pattern {why}"),
            });
        }
        if rule.note.as_ref().is_some_and(|n| n.chars().count() > 255) {
            errors.push(FieldError {
                field: format!("rules.{i}.note"),
                code: "too_big".to_owned(),
                message: "note must be at most 255 characters".to_owned(),
            });
        }
    }
    if !errors.is_empty() {
        return Err(schema_error(ctx.op, errors));
    }
    let seed = ctx.app.settings.seed;
    let mut store = lock(&ctx.app.store);
    let id = ctx.param("public_id").to_owned();
    let d = store
        .team_domain_mut(ctx.team, &id)
        .ok_or_else(|| ApiError::not_found("domain"))?;
    if d.mode == Mode::SendOnly {
        return Err(send_only_conflict());
    }
    if let Some(h) = ctx.header(IF_MATCH)
        && !etag_matches(h, &d.filters_etag(seed))
    {
        return Err(
            ApiError::conflict("If-Match does not match the current ETag of the filters")
                .with_param("If-Match"),
        );
    }
    if d.filters != state {
        d.filters = state;
        d.filters_version += 1;
    }
    let d = &*d;
    Ok(filters_out(&ctx, d))
}

/// Mailbox count setter for the inspection API. Returns `false` when the
/// domain does not exist.
pub(crate) fn set_mailbox_count(app: &App, id: &str, count: u64) -> bool {
    let mut store = lock(&app.store);
    match store.domains.get_mut(id) {
        Some(d) => {
            if d.mailbox_count != count {
                d.mailbox_count = count;
                d.version += 1;
            }
            true
        }
        None => false,
    }
}

/// Domain ids and names of one team (or all teams), newest first, for the
/// inspection API.
pub(crate) fn summaries(app: &App, team: Option<&str>) -> Vec<DomainSummary> {
    let store = lock(&app.store);
    let mut all: Vec<&Domain> = store
        .domains
        .values()
        .filter(|d| team.is_none_or(|t| d.team_id == t))
        .collect();
    all.sort_by_key(|d| std::cmp::Reverse(d.seq));
    all.into_iter()
        .map(|d| DomainSummary {
            id: d.id.clone(),
            domain: d.name.clone(),
            team: d.team_id.clone(),
            mode: match d.mode {
                Mode::SendOnly => "send_only",
                Mode::SendReceive => "send_receive",
            }
            .to_owned(),
            verification_status: match d.status {
                Status::Pending => "pending",
                Status::Verified => "verified",
                Status::Failed => "failed",
            }
            .to_owned(),
            mailbox_count: d.mailbox_count,
        })
        .collect()
}

/// A stored domain as the inspection API reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DomainSummary {
    /// Public id (`mdom_...`).
    pub id: String,
    /// Domain name.
    pub domain: String,
    /// Team (one per API key) that owns it.
    pub team: String,
    /// `send_only` or `send_receive`.
    pub mode: String,
    /// `pending`, `verified` or `failed`.
    pub verification_status: String,
    /// Mailboxes using the domain.
    pub mailbox_count: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_forgeries() {
        for seq in [0, 1, 250, u64::MAX / 3] {
            let c = encode_cursor(9, seq);
            assert_eq!(decode_cursor(9, &c), Some(seq));
            assert_eq!(decode_cursor(10, &c), None);
        }
        assert_eq!(decode_cursor(9, "c123"), None);
        assert_eq!(decode_cursor(9, "zzzz"), None);
        assert_eq!(decode_cursor(9, "c0000000000000000000g"), None);
    }
}
