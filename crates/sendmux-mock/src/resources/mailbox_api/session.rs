//! The session (capabilities, states, limits, endpoints), the identity,
//! the reachable mailboxes, quotas and usage, and send submissions.

use std::collections::BTreeMap;

use sendmux_operations::{OPERATIONS, Surface};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::json;

use super::content::{BODY_CHARS_MAX, MESSAGE_BODY_CHARS_DEFAULT, THREAD_BODY_CHARS_DEFAULT};
use super::messages::{
    INLINE_ATTACHMENT_BYTES_MAX, KEYWORDS_PER_UPDATE_MAX, OUTBOUND_MESSAGE_BYTES_MAX, page_out,
};
use super::model::{IdentityView, Submission};
use super::query::{Key, Pager, descending, parse_time};
use super::store::{Kind, MailboxData, Op};
use super::sync::CHANGES_LIMIT_MAX;
use super::{Ctx, Mailbox, check_params, id_list, mailbox_of, missing, open, rendered};
use crate::api::{ApiError, Out, to_json};
use crate::collection::MAX_LIMIT;

/// The message-count quota of every mailbox.
const MESSAGE_COUNT_LIMIT: u64 = 1_000_000;
/// Where a quota starts warning, and where restrictions may start, in
/// percent of its hard limit.
const WARN_PERCENT: u64 = 90;
const SOFT_PERCENT: u64 = 95;

/// `MailboxSession`.
#[derive(Serialize)]
struct Session<'a> {
    mailbox: SessionMailbox<'a>,
    states: BTreeMap<&'static str, String>,
    capabilities: serde_json::Value,
    limits: serde_json::Value,
    gated: serde_json::Value,
    endpoints: BTreeMap<&'static str, Vec<String>>,
}

#[derive(Serialize)]
struct SessionMailbox<'a> {
    id: &'a str,
    email: &'a str,
    display_name: Option<&'a str>,
}

/// Which group of the session's `endpoints` a Mailbox API path is in.
fn endpoint_group(path: &str) -> &'static str {
    let rest = path.strip_prefix("/mailbox/").unwrap_or(path);
    let first = rest.split(['/', ':']).next().unwrap_or("");
    match first {
        "messages" => "messages",
        "threads" => "threads",
        "folders" => "folders",
        "submissions" => "submissions",
        "quotas" | "usage" => "usage",
        "changes" | "events" => "sync",
        _ => "mailbox",
    }
}

/// `GET /mailbox/session`.
pub(crate) fn session(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    check_params(&ctx)?;
    let mailbox_id = mailbox_of(&ctx)?;
    let upload_max = ctx.app.settings.mailbox.attachment_max_bytes;
    let mut store = ctx.store();
    let (mailbox, data) = open(&mut store, &ctx, mailbox_id)?;
    let states = Kind::ALL
        .into_iter()
        .map(|k| (k.name(), data.state(k)))
        .collect();
    let mut endpoints: BTreeMap<&'static str, Vec<String>> = [
        "mailbox",
        "messages",
        "threads",
        "folders",
        "submissions",
        "usage",
        "sync",
    ]
    .into_iter()
    .map(|g| (g, Vec::new()))
    .collect();
    for op in OPERATIONS
        .iter()
        .filter(|op| op.surface == Surface::Mailbox)
    {
        endpoints
            .entry(endpoint_group(op.path))
            .or_default()
            .push(format!("{} {}", op.method, op.path));
    }
    let session = Session {
        mailbox: SessionMailbox {
            id: &mailbox.id,
            email: &mailbox.email,
            display_name: mailbox.display_name.as_deref(),
        },
        states,
        capabilities: json!({
            "messages": {
                "list": true, "detail": true, "raw_body": true, "clean_content": true,
                "batch_get": true, "count": true, "search_snippets": true, "changes": true,
                "query_changes": true, "update_fields": ["seen", "flagged", "keywords"],
                "keywords": true, "batch_update": true, "delete": true, "permanent_delete": true,
            },
            "threads": {
                "list": true, "detail": true, "messages": true, "clean_content": true,
                "changes": true,
            },
            "folders": {
                "list": true, "detail": true, "create": true, "update": true, "delete": true,
                "changes": true, "query_changes": true,
            },
            "submissions": {"list": true, "detail": true, "changes": true, "send": true},
            "identities": {
                "list": true, "changes": true, "create": false, "update": true, "delete": false,
            },
            "quotas": {"list": true, "usage": true, "changes": true, "update": false},
            "attachments": {
                "upload": true, "download": true, "range_download": true, "metadata": true,
                "parsing": false, "send_with_uploaded_blob": true,
            },
            "sync": {
                "typed_changes": true,
                "types": Kind::ALL.map(Kind::name),
                "query_changes": ["messages", "folders"],
            },
        }),
        limits: json!({
            "list_limit_max": MAX_LIMIT,
            "changes_limit_max": CHANGES_LIMIT_MAX,
            "batch_ids_max": 100,
            "message_body_chars_default": MESSAGE_BODY_CHARS_DEFAULT,
            "thread_body_chars_default": THREAD_BODY_CHARS_DEFAULT,
            "body_chars_max": BODY_CHARS_MAX,
            "inline_attachment_bytes_max": INLINE_ATTACHMENT_BYTES_MAX,
            "attachment_upload_bytes_max": upload_max,
            "outbound_raw_message_bytes_max": OUTBOUND_MESSAGE_BYTES_MAX,
            "keywords_per_update_max": KEYWORDS_PER_UPDATE_MAX,
        }),
        // `true` marks a feature this server turns off.
        gated: json!({
            "identity_mutation": false, "quota_mutation": true, "vacation_response": true,
            "filter_script_writes": true, "events": false, "raw_protocol": true,
            "attachment_parsing": true, "message_copy": true, "message_import": true,
            "message_parse": true, "blob_lookup": true, "blob_copy": true,
        }),
        endpoints,
    };
    Ok(ctx.conditional(&rendered(ctx.seed(), &session)))
}

/// The mailbox's identity as the wire shows it.
fn identity_view<'a>(mailbox: &'a Mailbox, data: &'a MailboxData) -> IdentityView<'a> {
    let identity = &data.identity;
    IdentityView {
        id: &identity.id,
        name: identity
            .name
            .as_deref()
            .or(mailbox.display_name.as_deref())
            .unwrap_or(""),
        email: &mailbox.email,
        reply_to: [],
        bcc: [],
        text_signature: &identity.text_signature,
        html_signature: &identity.html_signature,
        may_delete: false,
    }
}

/// `GET /mailbox/identities`: the one identity of the mailbox.
pub(crate) fn identities(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    check_params(&ctx)?;
    let mailbox_id = mailbox_of(&ctx)?;
    let pager = Pager::new(&ctx, "identities".to_owned(), false)?;
    let mut store = ctx.store();
    let (mailbox, data) = open(&mut store, &ctx, mailbox_id)?;
    let view = identity_view(mailbox, data);
    let (page, has_more, next) = pager.page(vec![(Key::num(0, 0), view)]);
    let items = page.iter().map(to_json).collect();
    Ok(page_out(&ctx, items, has_more, next))
}

/// `GET /mailbox/identity`.
pub(crate) fn identity(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    check_params(&ctx)?;
    let mailbox_id = mailbox_of(&ctx)?;
    let mut store = ctx.store();
    let (mailbox, data) = open(&mut store, &ctx, mailbox_id)?;
    Ok(ctx.ok(identity_view(mailbox, data)))
}

/// `UpdateMailboxIdentityBody`: absent fields stay, `null` clears.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IdentityBody {
    #[serde(default, deserialize_with = "present")]
    name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    text_signature: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    html_signature: Option<Option<String>>,
}

fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// `PATCH /mailbox/identity`.
pub(crate) fn update_identity(mut ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let body: IdentityBody = ctx.typed_body()?;
    let mailbox_id = mailbox_of(&ctx)?;
    if let Some(Some(name)) = &body.name
        && name.chars().any(char::is_control)
    {
        return Err(
            ApiError::validation_error("name must not contain control characters")
                .with_param("name"),
        );
    }
    let mut store = ctx.store();
    let (mailbox, data) = open(&mut store, &ctx, mailbox_id)?;
    let before = to_json(&identity_view(mailbox, data));
    if let Some(name) = body.name {
        data.identity.name = name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    }
    if let Some(text) = body.text_signature {
        data.identity.text_signature = text.unwrap_or_default();
    }
    if let Some(html) = body.html_signature {
        data.identity.html_signature = html.unwrap_or_default();
    }
    if to_json(&identity_view(mailbox, data)) != before {
        let id = data.identity.id.clone();
        data.record(Kind::Identities, &id, Op::Updated);
    }
    Ok(ctx.ok(identity_view(mailbox, data)))
}

/// `GrantedMailbox`.
#[derive(Serialize)]
struct Granted<'a> {
    id: &'a str,
    email: &'a str,
}

/// `GET /mailbox/mailboxes`: a mailbox key reaches its own mailbox only.
pub(crate) fn granted(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    check_params(&ctx)?;
    let mailbox_id = ctx.mailbox.ok_or_else(|| missing("mailbox"))?;
    let q = ctx.query("q").map(|q| q.to_lowercase());
    let pager = Pager::new(&ctx, format!("granted:{q:?}"), false)?;
    let store = ctx.store();
    let mailbox = store.mailboxes.get(ctx.team, mailbox_id)?;
    let matches = q
        .as_deref()
        .is_none_or(|q| mailbox.id.to_lowercase().contains(q) || mailbox.email.contains(q));
    let candidates = if matches {
        vec![(
            Key::num(0, 0),
            Granted {
                id: &mailbox.id,
                email: &mailbox.email,
            },
        )]
    } else {
        Vec::new()
    };
    let (page, has_more, next) = pager.page(candidates);
    let items = page.iter().map(to_json).collect();
    Ok(page_out(&ctx, items, has_more, next))
}

/// `MailboxQuota`.
#[derive(Serialize, Clone)]
struct Quota<'a> {
    id: &'a str,
    resource_type: &'static str,
    used: u64,
    hard_limit: u64,
    warn_limit: Option<u64>,
    soft_limit: Option<u64>,
    scope: &'static str,
    name: &'static str,
    types: [&'static str; 1],
    description: Option<&'static str>,
}

/// The storage and message-count quotas of the mailbox, with their use.
fn quotas_of<'a>(mailbox: &Mailbox, data: &'a MailboxData) -> [Quota<'a>; 2] {
    let (bytes, count) = data.usage();
    let storage_limit = mailbox.quota_bytes.unwrap_or(1_073_741_824);
    let quota = |id, resource_type, used, hard: u64, name, description| Quota {
        id,
        resource_type,
        used,
        hard_limit: hard,
        warn_limit: Some(hard / 100 * WARN_PERCENT),
        soft_limit: Some(hard / 100 * SOFT_PERCENT),
        scope: "account",
        name,
        types: ["Mail"],
        description: Some(description),
    };
    [
        quota(
            data.quota_ids[0].as_str(),
            "octets",
            bytes,
            storage_limit,
            "storage",
            "Bytes of stored mail, attachments included",
        ),
        quota(
            data.quota_ids[1].as_str(),
            "count",
            count,
            MESSAGE_COUNT_LIMIT,
            "messages",
            "Number of stored messages",
        ),
    ]
}

/// `GET /mailbox/quotas`.
pub(crate) fn quotas(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    check_params(&ctx)?;
    let mailbox_id = mailbox_of(&ctx)?;
    let name = ctx.query("name").map(|n| n.to_lowercase());
    let (scope, resource_type, kind) = (
        ctx.query("scope"),
        ctx.query("resource_type"),
        ctx.query("type").map(|t| t.to_lowercase()),
    );
    let by_used = ctx.query("sort_by").as_deref() == Some("used");
    let desc = descending(&ctx, "sort_direction", false);
    let tag = format!("quotas:{by_used}:{desc}:{name:?}{scope:?}{resource_type:?}{kind:?}");
    let pager = Pager::new(&ctx, tag, desc)?;
    let mut store = ctx.store();
    let (mailbox, data) = open(&mut store, &ctx, mailbox_id)?;
    let kept: Vec<(Key, Quota<'_>)> = quotas_of(mailbox, data)
        .into_iter()
        .enumerate()
        .filter(|(_, q)| {
            name.as_deref().is_none_or(|n| q.name.contains(n))
                && scope.as_deref().is_none_or(|s| q.scope == s)
                && resource_type
                    .as_deref()
                    .is_none_or(|r| q.resource_type == r)
                && kind
                    .as_deref()
                    .is_none_or(|k| q.types.iter().any(|t| t.eq_ignore_ascii_case(k)))
        })
        .map(|(i, q)| {
            let seq = i as u64;
            let key = if by_used {
                Key::num(i64::try_from(q.used).unwrap_or(i64::MAX), seq)
            } else {
                Key::text(q.name.to_owned(), seq)
            };
            (key, q)
        })
        .collect();
    let (page, has_more, next) = pager.page(kept);
    let items = page.iter().map(to_json).collect();
    Ok(page_out(&ctx, items, has_more, next))
}

/// `MailboxUsageResource`.
#[derive(Serialize)]
struct UsageResource<'a> {
    quota_id: &'a str,
    name: &'static str,
    resource_type: &'static str,
    scope: &'static str,
    types: [&'static str; 1],
    used: u64,
    hard_limit: u64,
    warn_limit: Option<u64>,
    soft_limit: Option<u64>,
    percent_used: Option<f64>,
    limit_status: &'static str,
}

/// `MailboxUsage`.
#[derive(Serialize)]
struct Usage<'a> {
    resources: Vec<UsageResource<'a>>,
    states: UsageStates,
}

#[derive(Serialize)]
struct UsageStates {
    quota_state: Option<String>,
}

/// `GET /mailbox/usage`.
pub(crate) fn usage(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    check_params(&ctx)?;
    let mailbox_id = mailbox_of(&ctx)?;
    let mut store = ctx.store();
    let (mailbox, data) = open(&mut store, &ctx, mailbox_id)?;
    let resources = quotas_of(mailbox, data)
        .into_iter()
        .map(|q| {
            let reached = |limit: Option<u64>| limit.is_some_and(|l| q.used >= l);
            let limit_status = if q.used >= q.hard_limit {
                "hard_limit"
            } else if reached(q.soft_limit) {
                "soft_limit"
            } else if reached(q.warn_limit) {
                "warning"
            } else {
                "ok"
            };
            let percent = (q.hard_limit > 0)
                .then(|| (q.used as f64 * 10_000.0 / q.hard_limit as f64).round() / 100.0);
            UsageResource {
                quota_id: q.id,
                name: q.name,
                resource_type: q.resource_type,
                scope: q.scope,
                types: q.types,
                used: q.used,
                hard_limit: q.hard_limit,
                warn_limit: q.warn_limit,
                soft_limit: q.soft_limit,
                percent_used: percent,
                limit_status,
            }
        })
        .collect();
    let usage = Usage {
        resources,
        states: UsageStates {
            quota_state: Some(data.state(Kind::Quotas)),
        },
    };
    Ok(ctx.conditional(&rendered(ctx.seed(), &usage)))
}

/// `GET /mailbox/submissions`.
pub(crate) fn submissions(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    check_params(&ctx)?;
    let mailbox_id = mailbox_of(&ctx)?;
    let identity_ids = id_list(&ctx, "identity_ids", 100)?;
    let email_ids = id_list(&ctx, "email_ids", 100)?;
    let thread_ids = id_list(&ctx, "thread_ids", 100)?;
    let undo_status = ctx.query("undo_status");
    let time = |name: &str| -> Result<Option<u64>, ApiError> {
        ctx.query(name)
            .map(|raw| {
                parse_time(&raw).ok_or_else(|| {
                    ApiError::invalid_parameter(format!(
                        "{name} must be an ISO 8601 date or date-time"
                    ))
                    .with_param(name)
                })
            })
            .transpose()
    };
    let (after, before) = (time("after")?, time("before")?);
    let sort_by = ctx.query("sort_by").unwrap_or_else(|| "send_at".to_owned());
    let desc = descending(&ctx, "sort_direction", true);
    let fingerprint =
        format!("{identity_ids:?}{email_ids:?}{thread_ids:?}{undo_status:?}{after:?}{before:?}");
    let tag = format!(
        "submissions:{sort_by}:{desc}:{:x}",
        crate::ids::hash_bytes(0, fingerprint.as_bytes())
    );
    let pager = Pager::new(&ctx, tag, desc)?;
    let mut store = ctx.store();
    let (_, data) = open(&mut store, &ctx, mailbox_id)?;
    let within = |list: &Option<Vec<String>>, id: &str| {
        list.as_ref().is_none_or(|ids| ids.iter().any(|i| i == id))
    };
    let kept: Vec<(Key, &Submission)> = data
        .submissions
        .iter()
        .filter(|(_, s)| {
            within(&identity_ids, &s.identity_id)
                && within(&email_ids, &s.email_id)
                && within(&thread_ids, &s.thread_id)
                // Sent at once, every submission is final.
                && undo_status.as_deref().is_none_or(|u| u == "final")
                && after.is_none_or(|t| s.send_at_ms > t)
                && before.is_none_or(|t| s.send_at_ms < t)
        })
        .map(|(seq, s)| {
            let key = match sort_by.as_str() {
                "email_id" => Key::text(s.email_id.clone(), *seq),
                "thread_id" => Key::text(s.thread_id.clone(), *seq),
                _ => Key::num(i64::try_from(s.send_at_ms).unwrap_or(i64::MAX), *seq),
            };
            (key, s)
        })
        .collect();
    let (page, has_more, next) = pager.page(kept);
    let items = page.into_iter().map(|s| to_json(&s.view())).collect();
    Ok(page_out(&ctx, items, has_more, next))
}

/// `GET /mailbox/submissions/{submission_id}`.
pub(crate) fn submission(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    check_params(&ctx)?;
    let mailbox_id = mailbox_of(&ctx)?;
    let mut store = ctx.store();
    let (_, data) = open(&mut store, &ctx, mailbox_id)?;
    let submission = data
        .submission(ctx.param("submission_id"))
        .ok_or_else(|| missing("submission"))?;
    Ok(ctx.conditional(&rendered(ctx.seed(), &submission.view())))
}
