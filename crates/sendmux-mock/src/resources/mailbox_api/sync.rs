//! State sync: `GET /mailbox/changes` in both published shapes (the
//! older messages-only `MailboxChanges` without `types`, the typed map
//! with it), the per-type change endpoints, and query changes of the
//! message and folder lists.
//!
//! A state older than the change log reaches back answers with
//! `sync_required: true` and no ids (query changes, whose shape has no
//! such field, answer `400 invalid_parameter`): the client reloads.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::folders::ordered;
use super::query::{Key, MessageFilter, SortBy, descending};
use super::store::{Gap, Kind, MailboxData};
use super::{Ctx, check_params, flag, mailbox_of, number, open};
use crate::api::{ApiError, Out};

/// Change records per call when `limit` is not given.
const DEFAULT_CHANGES_LIMIT: usize = 50;
/// The most records a call may ask for.
pub(crate) const CHANGES_LIMIT_MAX: usize = 500;

/// `MailboxChanges`.
#[derive(Debug, Serialize)]
struct Changes {
    old_state: Option<String>,
    new_state: String,
    has_more: bool,
    created: Vec<String>,
    updated: Vec<String>,
    destroyed: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sync_required: Option<bool>,
}

/// `MailboxTypedChanges`.
#[derive(Serialize)]
struct TypedChanges {
    types: BTreeMap<&'static str, Changes>,
}

fn limit(ctx: &Ctx<'_>) -> usize {
    number(ctx, "limit").map_or(DEFAULT_CHANGES_LIMIT, |n| {
        usize::try_from(n).unwrap_or(CHANGES_LIMIT_MAX)
    })
}

/// Changes of `kind` since the token `since` (named `param` in errors);
/// without one, only the current state to start from.
fn changes_of(
    data: &MailboxData,
    kind: Kind,
    since: Option<&str>,
    param: &str,
    limit: usize,
) -> Result<Changes, ApiError> {
    let current = data.state(kind);
    let Some(token) = since else {
        return Ok(Changes {
            old_state: None,
            new_state: current,
            has_more: false,
            created: Vec::new(),
            updated: Vec::new(),
            destroyed: Vec::new(),
            sync_required: None,
        });
    };
    let n = data.parse_state(kind, token, param)?;
    match data.log(kind).since(n, limit) {
        Ok(delta) => Ok(Changes {
            old_state: Some(token.to_owned()),
            new_state: data.state_at(kind, delta.new_state),
            has_more: delta.has_more,
            created: delta.created,
            updated: delta.updated,
            destroyed: delta.destroyed,
            sync_required: None,
        }),
        Err(Gap::TooOld) => Ok(Changes {
            old_state: Some(token.to_owned()),
            new_state: current,
            has_more: false,
            created: Vec::new(),
            updated: Vec::new(),
            destroyed: Vec::new(),
            sync_required: Some(true),
        }),
        Err(Gap::Unknown) => Err(unknown_state(param)),
    }
}

fn unknown_state(param: &str) -> ApiError {
    ApiError::invalid_parameter(format!("{param} names a state this mailbox never had"))
        .with_param(param)
}

/// `GET /mailbox/changes`.
pub(crate) fn changes(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    check_params(&ctx)?;
    let mailbox_id = mailbox_of(&ctx)?;
    let limit = limit(&ctx);
    let types = match ctx.query("types") {
        None => None,
        Some(raw) => {
            let mut kinds = Vec::new();
            for name in raw.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                let kind = Kind::parse(name).ok_or_else(|| {
                    ApiError::invalid_parameter(format!(
                        "types lists messages, folders, threads, submissions, identities and quotas, not `{name}`"
                    ))
                    .with_param("types")
                })?;
                if !kinds.contains(&kind) {
                    kinds.push(kind);
                }
            }
            if kinds.is_empty() {
                return Err(
                    ApiError::invalid_parameter("types must name at least one type")
                        .with_param("types"),
                );
            }
            Some(kinds)
        }
    };
    let mut store = ctx.store();
    let (_, data) = open(&mut store, &ctx, mailbox_id)?;
    let Some(kinds) = types else {
        let since = ctx.query("since_state");
        let changes = changes_of(data, Kind::Messages, since.as_deref(), "since_state", limit)?;
        return Ok(ctx.ok(changes));
    };
    let mut map = BTreeMap::new();
    for kind in kinds {
        let param = format!("{}_since_state", kind.name());
        let since = ctx.query(&param);
        map.insert(
            kind.name(),
            changes_of(data, kind, since.as_deref(), &param, limit)?,
        );
    }
    Ok(ctx.ok(TypedChanges { types: map }))
}

/// One type's `GET .../changes`.
fn type_changes(ctx: &Ctx<'_>, kind: Kind) -> Result<Out, ApiError> {
    check_params(ctx)?;
    let mailbox_id = mailbox_of(ctx)?;
    let limit = limit(ctx);
    let since = ctx.query("since_state");
    let mut store = ctx.store();
    let (_, data) = open(&mut store, ctx, mailbox_id)?;
    Ok(ctx.ok(changes_of(
        data,
        kind,
        since.as_deref(),
        "since_state",
        limit,
    )?))
}

pub(crate) fn folder_changes(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    type_changes(&ctx, Kind::Folders)
}

pub(crate) fn quota_changes(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    type_changes(&ctx, Kind::Quotas)
}

pub(crate) fn submission_changes(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    type_changes(&ctx, Kind::Submissions)
}

/// `MailboxMessageQueryChanges` and `MailboxFolderQueryChanges`.
#[derive(Serialize)]
struct QueryChanges {
    old_query_state: Option<String>,
    new_query_state: String,
    has_more: bool,
    removed: Vec<String>,
    added: Vec<Added>,
    total: Option<usize>,
}

#[derive(Serialize)]
struct Added {
    id: String,
    index: usize,
}

/// How the ordered list `current` (ids in list order) changed since the
/// query state `since` of `kind`. Every id changed since then is listed
/// as removed (unless it was created since) and, when in the list now,
/// as added at its index: exact enough for a client to patch its copy.
fn query_changes_of(
    data: &MailboxData,
    kind: Kind,
    since: Option<&str>,
    current: &[&str],
    limit: usize,
    up_to_id: Option<&str>,
    total: Option<usize>,
) -> Result<QueryChanges, ApiError> {
    let Some(token) = since else {
        return Ok(QueryChanges {
            old_query_state: None,
            new_query_state: data.query_state(kind),
            has_more: false,
            removed: Vec::new(),
            added: Vec::new(),
            total,
        });
    };
    let n = data.parse_query_state(kind, token)?;
    let delta = data.log(kind).since(n, limit).map_err(|gap| match gap {
        Gap::TooOld => ApiError::invalid_parameter(
            "since_query_state is older than the changes kept; load the list again",
        )
        .with_param("since_query_state"),
        Gap::Unknown => unknown_state("since_query_state"),
    })?;
    let index: HashMap<&str, usize> = current.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let up_to = up_to_id.and_then(|id| index.get(id).copied());
    let removed = delta
        .touched
        .iter()
        .filter(|id| !delta.created.contains(id))
        .cloned()
        .collect();
    let mut added: Vec<Added> = delta
        .touched
        .iter()
        .filter_map(|id| {
            index.get(id.as_str()).map(|i| Added {
                id: id.clone(),
                index: *i,
            })
        })
        .filter(|a| up_to.is_none_or(|max| a.index <= max))
        .collect();
    added.sort_by_key(|a| a.index);
    Ok(QueryChanges {
        old_query_state: Some(token.to_owned()),
        new_query_state: data.query_state_at(kind, delta.new_state),
        has_more: delta.has_more,
        removed,
        added,
        total,
    })
}

pub(crate) fn message_query_changes(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    check_params(&ctx)?;
    let mailbox_id = mailbox_of(&ctx)?;
    let filter = MessageFilter::from_ctx(&ctx)?;
    let sort = SortBy::from_ctx(&ctx);
    let desc = descending(&ctx, "sort_direction", true);
    let limit = limit(&ctx);
    let calculate_total = flag(&ctx, "calculate_total").unwrap_or(false);
    let since = ctx.query("since_query_state");
    let up_to_id = ctx.query("up_to_id");
    let mut store = ctx.store();
    let (_, data) = open(&mut store, &ctx, mailbox_id)?;
    let mut list: Vec<(Key, &str)> = data
        .messages
        .values()
        .filter(|m| filter.matches(m))
        .map(|m| (sort.key(m), m.id.as_str()))
        .collect();
    list.sort_by(|a, b| a.0.cmp(&b.0));
    if desc {
        list.reverse();
    }
    let ids: Vec<&str> = list.into_iter().map(|(_, id)| id).collect();
    let total = calculate_total.then_some(ids.len());
    let changes = query_changes_of(
        data,
        Kind::Messages,
        since.as_deref(),
        &ids,
        limit,
        up_to_id.as_deref(),
        total,
    )?;
    Ok(ctx.ok(changes))
}

pub(crate) fn folder_query_changes(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    check_params(&ctx)?;
    let mailbox_id = mailbox_of(&ctx)?;
    let limit = limit(&ctx);
    let since = ctx.query("since_query_state");
    let mut store = ctx.store();
    let (_, data) = open(&mut store, &ctx, mailbox_id)?;
    let ids: Vec<&str> = ordered(data)
        .into_iter()
        .map(|(_, f)| f.id.as_str())
        .collect();
    let total = Some(ids.len());
    let changes = query_changes_of(
        data,
        Kind::Folders,
        since.as_deref(),
        &ids,
        limit,
        None,
        total,
    )?;
    Ok(ctx.ok(changes))
}
