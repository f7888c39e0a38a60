//! Message handlers: list, read (detail, stored body, cleaned content),
//! flag and keyword changes, trash and permanent delete, count, search
//! snippets, the three batch operations and send.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use base64::Engine as _;
use bytes::Bytes;
use http::StatusCode;
use serde::{Deserialize, Serialize};

use super::content::{
    self, AttachmentMode, ContentOptions, HeaderMode, MESSAGE_BODY_CHARS_DEFAULT, Part, RawPart,
};
use super::inbound::{Draft, InboundMessage, deliver_local, insert};
use super::model::{Address, Links, Message, Submission};
use super::query::{MessageFilter, Pager, SortBy, descending, text_match};
use super::store::{Kind, MailboxData, Op};
use super::{
    Ctx, base_url, check_in_state, check_params, etag_of, flag, id_list, links, mailbox_of,
    missing, number, open,
};
use crate::api::{ApiError, Out, to_json};
use crate::collection::{Page, Rendered};

/// Most keywords one update may set or clear.
pub(crate) const KEYWORDS_PER_UPDATE_MAX: usize = 50;
/// Most keywords a message may carry.
pub(crate) const KEYWORDS_PER_MESSAGE_MAX: usize = 100;
/// Largest inline (base64) attachment of a send, decoded.
pub(crate) const INLINE_ATTACHMENT_BYTES_MAX: usize = 512 * 1024;
/// Largest message a send may make, attachments included.
pub(crate) const OUTBOUND_MESSAGE_BYTES_MAX: u64 = 40 * 1024 * 1024;
/// Snippet text on either side of a match.
const SNIPPET_CONTEXT_CHARS: usize = 60;

const MESSAGE_ID: &str = "message_id";

/// The message's weak ETag: its detail without download URLs, so renewed
/// URLs do not make it look changed.
pub(crate) fn message_etag(seed: u64, m: &Message) -> String {
    etag_of(seed, &to_json(&m.detail(&Links::none())))
}

/// A list answer from one page of rendered items.
pub(crate) fn page_out(
    ctx: &Ctx<'_>,
    items: Vec<Bytes>,
    has_more: bool,
    next: Option<String>,
) -> Out {
    ctx.page(&Page {
        items,
        has_more,
        next_cursor: next,
    })
}

pub(crate) fn list(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    check_params(&ctx)?;
    let mailbox_id = mailbox_of(&ctx)?;
    let filter = MessageFilter::from_ctx(&ctx)?;
    let sort = SortBy::from_ctx(&ctx);
    let desc = descending(&ctx, "sort_direction", true);
    let tag = format!("messages:{}:{desc}:{}", sort.name(), filter.fingerprint());
    let pager = Pager::new(&ctx, tag, desc)?;
    let base = base_url(&ctx);
    let mut store = ctx.store();
    let (_, data) = open(&mut store, &ctx, mailbox_id)?;
    let links = links(&ctx, data, &base);
    let matching = data
        .messages
        .values()
        .filter(|m| filter.matches(m))
        .map(|m| (sort.key(m), m))
        .collect();
    let (page, has_more, next) = pager.page(matching);
    let items = page
        .into_iter()
        .map(|m| to_json(&m.summary(&links)))
        .collect();
    Ok(page_out(&ctx, items, has_more, next))
}

pub(crate) fn get(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    check_params(&ctx)?;
    let mailbox_id = mailbox_of(&ctx)?;
    let base = base_url(&ctx);
    let mut store = ctx.store();
    let (_, data) = open(&mut store, &ctx, mailbox_id)?;
    let m = data
        .message(ctx.param(MESSAGE_ID))
        .ok_or_else(|| missing("message"))?;
    let links = links(&ctx, data, &base);
    Ok(ctx.conditional(&Rendered {
        json: to_json(&m.detail(&links)),
        etag: message_etag(ctx.seed(), m),
    }))
}

/// `PatchMailboxMessageBody`, and the change part of the batch update.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FlagsBody {
    #[serde(default)]
    seen: Option<bool>,
    #[serde(default)]
    flagged: Option<bool>,
    #[serde(default)]
    keywords: Option<BTreeMap<String, bool>>,
}

/// The keyword changes a body asks for: names lowercased and checked,
/// `$draft` refused (it follows the message's lifecycle), `seen` and
/// `flagged` applied last.
fn keyword_changes(body: FlagsBody) -> Result<Vec<(String, bool)>, ApiError> {
    let mut changes = Vec::new();
    let keywords = body.keywords.unwrap_or_default();
    if keywords.len() > KEYWORDS_PER_UPDATE_MAX {
        return Err(ApiError::invalid_parameter(format!(
            "at most {KEYWORDS_PER_UPDATE_MAX} keywords per update"
        ))
        .with_param("keywords"));
    }
    for (name, on) in keywords {
        let keyword = name.to_lowercase();
        let valid = !keyword.is_empty()
            && keyword.len() <= 255
            && keyword
                .bytes()
                .all(|b| b.is_ascii_graphic() && !b"(){]%*\"\\".contains(&b));
        if !valid {
            return Err(ApiError::invalid_parameter(format!(
                "`{name}` is not a keyword (1 to 255 visible ASCII characters, none of (){{]%*\"\\)"
            ))
            .with_param(format!("keywords.{name}")));
        }
        if keyword == "$draft" {
            return Err(ApiError::invalid_parameter(
                "$draft is read-only: it follows the message's lifecycle",
            )
            .with_param(format!("keywords.{name}")));
        }
        changes.push((keyword, on));
    }
    if let Some(seen) = body.seen {
        changes.push(("$seen".to_owned(), seen));
    }
    if let Some(flagged) = body.flagged {
        changes.push(("$flagged".to_owned(), flagged));
    }
    Ok(changes)
}

/// Why a message refused a change.
enum Refusal {
    TooManyKeywords,
}

/// Applies `changes` to message `id` and records what moved: the
/// message and its thread, and its folder when the unread count changed.
/// `Ok(false)` when nothing changed.
fn apply_keywords(
    data: &mut MailboxData,
    id: &str,
    changes: &[(String, bool)],
) -> Result<bool, Refusal> {
    let Some(m) = data.message_mut(id) else {
        return Ok(false);
    };
    let mut keywords = m.keywords.clone();
    for (keyword, on) in changes {
        if *on {
            keywords.insert(keyword.clone());
        } else {
            keywords.remove(keyword);
        }
    }
    if keywords.len() > KEYWORDS_PER_MESSAGE_MAX {
        return Err(Refusal::TooManyKeywords);
    }
    if keywords == m.keywords {
        return Ok(false);
    }
    let seen_changed = keywords.contains("$seen") != m.keywords.contains("$seen");
    m.keywords = keywords;
    let (thread_id, folder_id) = (m.thread_id.clone(), m.folder_id.clone());
    data.record(Kind::Messages, id, Op::Updated);
    data.record(Kind::Threads, &thread_id, Op::Updated);
    if seen_changed {
        data.record(Kind::Folders, &folder_id, Op::Updated);
    }
    Ok(true)
}

pub(crate) fn update(mut ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let body: FlagsBody = ctx.typed_body()?;
    let changes = keyword_changes(body)?;
    let mailbox_id = mailbox_of(&ctx)?;
    let base = base_url(&ctx);
    let seed = ctx.seed();
    let mut store = ctx.store();
    let (_, data) = open(&mut store, &ctx, mailbox_id)?;
    let id = ctx.param(MESSAGE_ID);
    let m = data.message(id).ok_or_else(|| missing("message"))?;
    ctx.if_match(
        &Rendered {
            json: Bytes::new(),
            etag: message_etag(seed, m),
        },
        "message",
    )?;
    apply_keywords(data, id, &changes).map_err(|Refusal::TooManyKeywords| {
        ApiError::invalid_parameter(format!(
            "a message carries at most {KEYWORDS_PER_MESSAGE_MAX} keywords"
        ))
        .with_param("keywords")
    })?;
    let m = data.message(id).ok_or_else(|| missing("message"))?;
    let links = links(&ctx, data, &base);
    Ok(ctx.item(
        StatusCode::OK,
        &Rendered {
            json: to_json(&m.detail(&links)),
            etag: message_etag(seed, m),
        },
    ))
}

/// Moves message `id` to Trash (a change of folder); `false` when it is
/// already there or unknown.
pub(crate) fn trash(data: &mut MailboxData, id: &str) -> bool {
    let trash = data.role_folder_id("trash");
    let Some(m) = data.message_mut(id) else {
        return false;
    };
    if m.folder_id == trash {
        return false;
    }
    let from = std::mem::replace(&mut m.folder_id, trash.clone());
    let thread_id = m.thread_id.clone();
    data.record(Kind::Messages, id, Op::Updated);
    data.record(Kind::Threads, &thread_id, Op::Updated);
    data.record(Kind::Folders, &from, Op::Updated);
    data.record(Kind::Folders, &trash, Op::Updated);
    true
}

/// Deletes message `id` for good: out of its thread (a thread left empty
/// goes too), its folder and the quotas. `false` when unknown.
pub(crate) fn destroy(data: &mut MailboxData, id: &str) -> bool {
    let Some(seq) = data.message_index.remove(id) else {
        return false;
    };
    let Some(m) = data.messages.remove(&seq) else {
        return false;
    };
    if data.rfc_threads.get(&m.rfc_message_id) == Some(&m.thread_id) {
        data.rfc_threads.remove(&m.rfc_message_id);
    }
    let mut thread_gone = false;
    if let Some(thread) = data.thread_mut(&m.thread_id) {
        thread.messages.remove(&seq);
        thread_gone = thread.messages.is_empty();
    }
    if thread_gone {
        data.remove_thread(&m.thread_id);
    }
    data.record(Kind::Messages, id, Op::Destroyed);
    let thread_op = if thread_gone {
        Op::Destroyed
    } else {
        Op::Updated
    };
    data.record(Kind::Threads, &m.thread_id, thread_op);
    data.record(Kind::Folders, &m.folder_id, Op::Updated);
    data.record_usage_change();
    true
}

/// `MailboxMessageDeleted`.
#[derive(Serialize)]
struct Deleted<'a> {
    deleted: bool,
    id: &'a str,
}

pub(crate) fn delete(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    check_params(&ctx)?;
    let mailbox_id = mailbox_of(&ctx)?;
    let permanent = flag(&ctx, "permanent").unwrap_or(false);
    let seed = ctx.seed();
    let mut store = ctx.store();
    let (_, data) = open(&mut store, &ctx, mailbox_id)?;
    let id = ctx.param(MESSAGE_ID);
    let m = data.message(id).ok_or_else(|| missing("message"))?;
    ctx.if_match(
        &Rendered {
            json: Bytes::new(),
            etag: message_etag(seed, m),
        },
        "message",
    )?;
    if permanent {
        destroy(data, id);
    } else {
        trash(data, id);
    }
    Ok(ctx.ok(Deleted { deleted: true, id }))
}

/// `MailboxMessageCount`.
#[derive(Serialize)]
struct Count {
    total: usize,
    sync_state: Option<String>,
}

pub(crate) fn count(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    check_params(&ctx)?;
    let mailbox_id = mailbox_of(&ctx)?;
    let filter = MessageFilter::from_ctx(&ctx)?;
    let mut store = ctx.store();
    let (_, data) = open(&mut store, &ctx, mailbox_id)?;
    let total = data.messages.values().filter(|m| filter.matches(m)).count();
    Ok(ctx.ok(Count {
        total,
        sync_state: Some(data.state(Kind::Messages)),
    }))
}

/// `MailboxSearchSnippet`.
#[derive(Serialize)]
struct Snippet {
    message_id: String,
    subject: Option<String>,
    preview: Option<String>,
}

/// `MailboxSearchSnippetsResult`.
#[derive(Serialize)]
struct Snippets {
    snippets: Vec<Snippet>,
    not_found: Vec<String>,
    sync_state: Option<String>,
}

pub(crate) fn snippets(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    check_params(&ctx)?;
    let mailbox_id = mailbox_of(&ctx)?;
    let q = ctx.query("q").unwrap_or_default();
    let needle = q.trim().to_lowercase();
    if needle.is_empty() {
        return Err(ApiError::invalid_parameter("q must not be empty").with_param("q"));
    }
    let filter = MessageFilter::from_ctx(&ctx)?;
    let ids = id_list(&ctx, "message_ids", 100)?;
    let limit = number(&ctx, "limit").map_or(50, |n| usize::try_from(n).unwrap_or(50));
    let mut store = ctx.store();
    let (_, data) = open(&mut store, &ctx, mailbox_id)?;
    let mut not_found = Vec::new();
    let chosen: Vec<&Message> = match ids {
        Some(ids) => ids
            .iter()
            .filter_map(|id| {
                let found = data.message(id);
                if found.is_none() {
                    not_found.push(id.clone());
                }
                found
            })
            .collect(),
        None => {
            let mut hits: Vec<&Message> = data
                .messages
                .values()
                .filter(|m| filter.matches(m) && text_match(m, m.plain_text().as_deref(), &needle))
                .collect();
            hits.sort_by_key(|m| std::cmp::Reverse((m.received_at_ms, m.seq)));
            hits.truncate(limit);
            hits
        }
    };
    let snippets = chosen
        .into_iter()
        .map(|m| Snippet {
            message_id: m.id.clone(),
            subject: m
                .subject
                .as_deref()
                .and_then(|s| highlight(s, &needle, None)),
            preview: m
                .plain_text()
                .and_then(|body| highlight(&body, &needle, Some(SNIPPET_CONTEXT_CHARS))),
        })
        .collect();
    Ok(ctx.ok(Snippets {
        snippets,
        not_found,
        sync_state: Some(data.state(Kind::Messages)),
    }))
}

/// `text` HTML-escaped with each match of `needle` (lowercase) in
/// `<mark>`; with `context`, only the part around the first match, `…`
/// where cut. `None` when nothing matches.
fn highlight(text: &str, needle: &str, context: Option<usize>) -> Option<String> {
    // Positions in the lowercased text are positions in `text` only when
    // lowercasing kept every length; otherwise compare ASCII-only.
    let lower = if text.to_lowercase().len() == text.len() {
        text.to_lowercase()
    } else {
        text.to_ascii_lowercase()
    };
    let first = lower.find(needle)?;
    let (start, end) = match context {
        None => (0, text.len()),
        Some(chars) => {
            let before = text[..first]
                .char_indices()
                .rev()
                .nth(chars.saturating_sub(1))
                .map_or(0, |(i, _)| i);
            let after_match = first + needle.len();
            let after = text[after_match..]
                .char_indices()
                .nth(chars)
                .map_or(text.len(), |(i, _)| after_match + i);
            (before, after)
        }
    };
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    let mut at = start;
    while let Some(found) = lower[at..end].find(needle) {
        let hit = at + found;
        out.push_str(&escape(&text[at..hit]));
        out.push_str("<mark>");
        out.push_str(&escape(&text[hit..hit + needle.len()]));
        out.push_str("</mark>");
        at = hit + needle.len();
    }
    out.push_str(&escape(&text[at..end]));
    if end < text.len() {
        out.push('…');
    }
    Some(out)
}

/// The `part` of `/body` (default `both`) and `max_body_chars`.
fn raw_options(ctx: &Ctx<'_>) -> (RawPart, usize) {
    let part = match ctx.query("part").as_deref() {
        Some("text") => RawPart::Text,
        Some("html") => RawPart::Html,
        _ => RawPart::Both,
    };
    let max = number(ctx, "max_body_chars").map_or(MESSAGE_BODY_CHARS_DEFAULT, |n| {
        usize::try_from(n).unwrap_or(content::BODY_CHARS_MAX)
    });
    (part, max)
}

pub(crate) fn body(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    check_params(&ctx)?;
    let mailbox_id = mailbox_of(&ctx)?;
    let (part, max) = raw_options(&ctx);
    let mut store = ctx.store();
    let (_, data) = open(&mut store, &ctx, mailbox_id)?;
    let m = data
        .message(ctx.param(MESSAGE_ID))
        .ok_or_else(|| missing("message"))?;
    let state = data.state(Kind::Messages);
    Ok(ctx.conditional(&super::rendered(
        ctx.seed(),
        &content::raw(m, part, max, &state),
    )))
}

pub(crate) fn content(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    check_params(&ctx)?;
    let mailbox_id = mailbox_of(&ctx)?;
    let opts = ContentOptions::from_ctx(&ctx, MESSAGE_BODY_CHARS_DEFAULT);
    let base = base_url(&ctx);
    let mut store = ctx.store();
    let (_, data) = open(&mut store, &ctx, mailbox_id)?;
    let m = data
        .message(ctx.param(MESSAGE_ID))
        .ok_or_else(|| missing("message"))?;
    let state = data.state(Kind::Messages);
    let links = links(&ctx, data, &base);
    // The tag follows the message and the options, not the short-lived
    // download URLs.
    let stable = to_json(&content::clean(m, &opts, &state, &Links::none()));
    Ok(ctx.conditional(&Rendered {
        json: to_json(&content::clean(m, &opts, &state, &links)),
        etag: etag_of(ctx.seed(), &stable),
    }))
}

/// `MailboxBatchGetBody`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchGetBody {
    ids: Vec<String>,
    #[serde(default)]
    body_mode: Option<BodyMode>,
    #[serde(default)]
    part: Option<Part>,
    #[serde(default)]
    max_body_chars: Option<usize>,
    #[serde(default)]
    strip_signature: Option<bool>,
    #[serde(default)]
    strip_quotes: Option<bool>,
    #[serde(default)]
    include_links: Option<bool>,
    #[serde(default)]
    include_html: Option<bool>,
    #[serde(default)]
    include_headers: Option<HeaderMode>,
    #[serde(default)]
    include_attachments: Option<AttachmentMode>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum BodyMode {
    None,
    Raw,
    CleanJson,
}

/// `MailboxBatchGetItem`.
#[derive(Serialize)]
struct BatchItem<'a> {
    message: super::model::Summary<'a>,
    raw_body: Option<content::RawBody<'a>>,
    content: Option<content::Content<'a>>,
}

#[derive(Serialize)]
struct BatchGetResult<'a> {
    messages: Vec<BatchItem<'a>>,
    not_found: Vec<String>,
    states: EmailState,
}

#[derive(Serialize)]
struct EmailState {
    email_state: Option<String>,
}

/// The ids once each, in the order given.
fn unique(ids: Vec<String>) -> Vec<String> {
    let mut seen = HashSet::new();
    ids.into_iter()
        .filter(|id| seen.insert(id.clone()))
        .collect()
}

pub(crate) fn batch_get(mut ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let body: BatchGetBody = ctx.typed_body()?;
    let mailbox_id = mailbox_of(&ctx)?;
    let mode = body.body_mode.unwrap_or(BodyMode::None);
    let max = body.max_body_chars.unwrap_or(MESSAGE_BODY_CHARS_DEFAULT);
    let defaults = ContentOptions::defaults(max);
    let opts = ContentOptions {
        part: body.part.unwrap_or(Part::Auto),
        max_chars: max,
        strip_signature: body.strip_signature.unwrap_or(false),
        strip_quotes: body.strip_quotes.unwrap_or(false),
        include_links: body.include_links.unwrap_or(false),
        include_html: body.include_html.unwrap_or(false),
        headers: body.include_headers.unwrap_or(defaults.headers),
        attachments: body.include_attachments.unwrap_or(defaults.attachments),
    };
    let raw_part = match opts.part {
        Part::Text => RawPart::Text,
        Part::Html => RawPart::Html,
        Part::Auto | Part::Both => RawPart::Both,
    };
    let base = base_url(&ctx);
    let mut store = ctx.store();
    let (_, data) = open(&mut store, &ctx, mailbox_id)?;
    let links = links(&ctx, data, &base);
    let state = data.state(Kind::Messages);
    let mut not_found = Vec::new();
    let mut messages = Vec::new();
    for id in unique(body.ids) {
        let Some(m) = data.message(&id) else {
            not_found.push(id);
            continue;
        };
        messages.push(BatchItem {
            message: m.summary(&links),
            raw_body: (mode == BodyMode::Raw).then(|| content::raw(m, raw_part, max, &state)),
            content: (mode == BodyMode::CleanJson)
                .then(|| content::clean(m, &opts, &state, &links)),
        });
    }
    Ok(ctx.ok(BatchGetResult {
        messages,
        not_found,
        states: EmailState {
            email_state: Some(state.clone()),
        },
    }))
}

/// `BatchUpdateMailboxMessagesBody`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchUpdateBody {
    ids: Vec<String>,
    #[serde(default)]
    if_in_state: Option<String>,
    #[serde(default)]
    seen: Option<bool>,
    #[serde(default)]
    flagged: Option<bool>,
    #[serde(default)]
    keywords: Option<BTreeMap<String, bool>>,
}

/// `MailboxBatchMessageFailure`.
#[derive(Serialize)]
struct Failure {
    id: String,
    code: &'static str,
    message: String,
}

/// `MailboxBatchMessageStates`.
#[derive(Serialize)]
struct States {
    old_state: Option<String>,
    new_state: Option<String>,
}

#[derive(Serialize)]
struct BatchUpdateResult {
    updated: Vec<String>,
    not_found: Vec<String>,
    failed: Vec<Failure>,
    states: States,
}

pub(crate) fn batch_update(mut ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let body: BatchUpdateBody = ctx.typed_body()?;
    let changes = keyword_changes(FlagsBody {
        seen: body.seen,
        flagged: body.flagged,
        keywords: body.keywords,
    })?;
    let mailbox_id = mailbox_of(&ctx)?;
    let mut store = ctx.store();
    let (_, data) = open(&mut store, &ctx, mailbox_id)?;
    check_in_state(data, body.if_in_state.as_deref())?;
    let old_state = data.state(Kind::Messages);
    let mut result = BatchUpdateResult {
        updated: Vec::new(),
        not_found: Vec::new(),
        failed: Vec::new(),
        states: States {
            old_state: Some(old_state),
            new_state: None,
        },
    };
    for id in unique(body.ids) {
        if data.message(&id).is_none() {
            result.not_found.push(id);
            continue;
        }
        match apply_keywords(data, &id, &changes) {
            Ok(_) => result.updated.push(id),
            Err(Refusal::TooManyKeywords) => result.failed.push(Failure {
                id,
                code: "limit_exceeded",
                message: format!("a message carries at most {KEYWORDS_PER_MESSAGE_MAX} keywords"),
            }),
        }
    }
    result.states.new_state = Some(data.state(Kind::Messages));
    Ok(ctx.ok(result))
}

/// `BatchDeleteMailboxMessagesBody`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchDeleteBody {
    ids: Vec<String>,
    #[serde(default)]
    if_in_state: Option<String>,
    #[serde(default)]
    permanent: Option<bool>,
}

#[derive(Serialize)]
struct BatchDeleteResult {
    deleted: Vec<String>,
    not_found: Vec<String>,
    failed: Vec<Failure>,
    states: States,
}

pub(crate) fn batch_delete(mut ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let body: BatchDeleteBody = ctx.typed_body()?;
    let permanent = body.permanent.unwrap_or(false);
    let mailbox_id = mailbox_of(&ctx)?;
    let mut store = ctx.store();
    let (_, data) = open(&mut store, &ctx, mailbox_id)?;
    check_in_state(data, body.if_in_state.as_deref())?;
    let old_state = data.state(Kind::Messages);
    let mut deleted = Vec::new();
    let mut not_found = Vec::new();
    for id in unique(body.ids) {
        if data.message(&id).is_none() {
            not_found.push(id);
            continue;
        }
        if permanent {
            destroy(data, &id);
        } else {
            trash(data, &id);
        }
        deleted.push(id);
    }
    Ok(ctx.ok(BatchDeleteResult {
        deleted,
        not_found,
        failed: Vec::new(),
        states: States {
            old_state: Some(old_state),
            new_state: Some(data.state(Kind::Messages)),
        },
    }))
}

/// `SendMailboxMessageBody`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SendBody {
    to: Vec<Address>,
    subject: String,
    #[serde(default)]
    from: Option<Address>,
    #[serde(default)]
    cc: Vec<Address>,
    #[serde(default)]
    bcc: Vec<Address>,
    #[serde(default)]
    reply_to: Vec<Address>,
    #[serde(default)]
    text_body: Option<String>,
    #[serde(default)]
    html_body: Option<String>,
    #[serde(default)]
    attachments: Vec<SendAttachment>,
    #[serde(default)]
    custom_headers: BTreeMap<String, String>,
}

/// `SendAttachment`: inline base64 content or an uploaded blob.
#[derive(Deserialize)]
#[serde(untagged)]
enum SendAttachment {
    Inline(InlineAttachment),
    Blob(BlobAttachment),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InlineAttachment {
    filename: String,
    content_type: String,
    content: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BlobAttachment {
    filename: String,
    content_type: String,
    blob_id: String,
}

/// Headers a send sets itself; `custom_headers` may not name them.
const RESERVED_HEADERS: [&str; 11] = [
    "from",
    "to",
    "cc",
    "bcc",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "reply-to",
];

/// `SendMailboxMessageResult`.
#[derive(Serialize)]
struct SendResult {
    message_id: String,
    status: &'static str,
}

pub(crate) fn send(mut ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let body: SendBody = ctx.typed_body()?;
    let mailbox_id = mailbox_of(&ctx)?;
    for (name, value) in &body.custom_headers {
        let token =
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !token || value.contains(['\r', '\n']) {
            return Err(ApiError::validation_error(format!(
                "custom header `{name}` is not a valid header line"
            ))
            .with_param(format!("custom_headers.{name}")));
        }
        if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            return Err(ApiError::validation_error(format!(
                "{name} is set by the send itself; use the body's own field"
            ))
            .with_param(format!("custom_headers.{name}")));
        }
    }
    let now = ctx.app.clock.unix_millis();
    let app = ctx.app;
    let team = ctx.team;
    let mut store = ctx.store();
    let (mailbox, data) = open(&mut store, &ctx, mailbox_id)?;
    let own = mailbox.email.clone();
    if let Some(from) = &body.from
        && !from.email.eq_ignore_ascii_case(&own)
    {
        return Err(ApiError::validation_error(format!(
            "from must be the mailbox's own address ({own})"
        ))
        .with_param("from.email"));
    }
    let name = body
        .from
        .as_ref()
        .and_then(|a| a.name.clone())
        .or_else(|| data.identity.name.clone())
        .or_else(|| mailbox.display_name.clone());
    let mut attachments = Vec::new();
    for (i, attachment) in body.attachments.into_iter().enumerate() {
        attachments.push(match attachment {
            SendAttachment::Inline(a) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(a.content.trim())
                    .map_err(|_| {
                        ApiError::validation_error("an inline attachment's content must be base64")
                            .with_param(format!("attachments.{i}.content"))
                    })?;
                if bytes.len() > INLINE_ATTACHMENT_BYTES_MAX {
                    return Err(ApiError::validation_error(format!(
                        "inline attachments take at most {INLINE_ATTACHMENT_BYTES_MAX} bytes; upload larger ones"
                    ))
                    .with_param(format!("attachments.{i}.content")));
                }
                (a.filename, a.content_type, Bytes::from(bytes))
            }
            SendAttachment::Blob(a) => {
                let blob = data.blobs.get(&a.blob_id).ok_or_else(|| {
                    ApiError::validation_error(format!(
                        "{} is not an uploaded attachment of this mailbox",
                        a.blob_id
                    ))
                    .with_param(format!("attachments.{i}.blob_id"))
                })?;
                (a.filename, a.content_type, blob.bytes.clone())
            }
        });
    }
    let total: u64 = attachments.iter().map(|(_, _, b)| b.len() as u64).sum();
    if total > OUTBOUND_MESSAGE_BYTES_MAX {
        return Err(ApiError::validation_error(format!(
            "the message may carry at most {OUTBOUND_MESSAGE_BYTES_MAX} bytes of attachments"
        ))
        .with_param("attachments"));
    }
    let header = |names: &[&str]| {
        body.custom_headers
            .iter()
            .find(|(k, _)| names.iter().any(|n| k.eq_ignore_ascii_case(n)))
            .map(|(_, v)| v.clone())
    };
    let in_reply_to = header(&["In-Reply-To"]);
    let references: Vec<String> = header(&["References"])
        .map(|r| r.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    let from = Address { email: own, name };
    let draft = Draft {
        folder_role: "sent",
        keywords: BTreeSet::from(["$seen".to_owned()]),
        from: Some(from.clone()),
        to: body.to.clone(),
        cc: body.cc.clone(),
        bcc: body.bcc.clone(),
        reply_to: body.reply_to,
        subject: Some(body.subject.clone()).filter(|s| !s.is_empty()),
        text: body.text_body.clone(),
        html: body.html_body.clone(),
        sent_at_ms: Some(now),
        in_reply_to: in_reply_to.clone(),
        references,
        extra_headers: body
            .custom_headers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        attachments: attachments.clone(),
        ..Draft::default()
    };
    let (message_id, thread_id) = insert(data, draft, now);
    let submission_id = data.new_id("sub_");
    let seq = data.next_seq();
    let rcpt_to = body
        .to
        .iter()
        .chain(&body.cc)
        .chain(&body.bcc)
        .map(|a| a.email.clone())
        .collect();
    data.submissions.insert(
        seq,
        Submission {
            id: submission_id.clone(),
            identity_id: data.identity.id.clone(),
            email_id: message_id.clone(),
            thread_id,
            send_at_ms: now,
            mail_from: from.email.clone(),
            rcpt_to,
        },
    );
    data.record(Kind::Submissions, &submission_id, Op::Created);
    // Mail to another mock mailbox arrives there.
    let copy = InboundMessage {
        from: from.header(),
        to: body.to.iter().map(Address::header).collect(),
        cc: body.cc.iter().map(Address::header).collect(),
        subject: body.subject,
        text: body.text_body,
        html: body.html_body,
        attachments,
        in_reply_to,
        headers: Vec::new(),
        spam: false,
    };
    let bcc: Vec<String> = body.bcc.iter().map(|a| a.email.clone()).collect();
    deliver_local(app, &mut store, team, &copy, &bcc);
    Ok(ctx.ok(SendResult {
        message_id,
        status: "queued",
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::mailbox_api::model::subject_key;
    use crate::resources::mailbox_api::store::{Capacities, Store};

    /// Grouping by subject through the index gives what reading every
    /// thread, newest first, gives, as threads come and go.
    #[test]
    fn the_subject_index_follows_threads_as_they_come_and_go() {
        let caps = Capacities {
            change_log: 1000,
            event_buffer: 10,
        };
        let mut store = Store::new(4);
        let data = store.data("mbx_a", caps);
        let subjects = ["Hello", "Re: hello", "Other", "", "FWD: Other", "hello", ""];
        let mut kept: Vec<String> = Vec::new();
        let mut now = 1_767_225_600_000;
        for round in 0..6 {
            for (i, subject) in subjects.iter().enumerate() {
                now += 1000;
                // Every third message answers the newest one kept, so
                // replies join by reference whatever their subject.
                let in_reply_to = (i % 3 == 2)
                    .then(|| kept.last().and_then(|id| data.message(id)))
                    .flatten()
                    .map(|m| m.rfc_message_id.clone());
                let draft = Draft {
                    folder_role: "inbox",
                    subject: Some((*subject).to_owned()).filter(|s| !s.is_empty()),
                    text: Some(format!("round {round}")),
                    in_reply_to,
                    ..Draft::default()
                };
                let (id, thread_id) = insert(data, draft, now);
                let key = subject_key(Some(subject));
                if !key.is_empty() {
                    let newest = data.newest_thread_with_subject(&key).map(|t| t.id.clone());
                    let thread_key = data.thread(&thread_id).map(|t| t.subject_key.clone());
                    // Either it joined or started the thread of its
                    // subject, or it joined another one by reference.
                    assert!(
                        newest.as_deref() == Some(thread_id.as_str())
                            || thread_key.as_deref() != Some(key.as_str()),
                        "{subject:?}"
                    );
                }
                kept.push(id);
            }
            // Destroy every other message kept so far, emptying threads.
            let (gone, stay): (Vec<_>, Vec<_>) = kept
                .drain(..)
                .enumerate()
                .partition(|(i, _)| (i + round) % 2 == 0);
            for (_, id) in gone {
                assert!(destroy(data, &id));
            }
            kept = stay.into_iter().map(|(_, id)| id).collect();
            for key in ["hello", "other", ""] {
                let scanned = data.threads().rev().find(|t| t.subject_key == key);
                assert_eq!(
                    data.newest_thread_with_subject(key).map(|t| &t.id),
                    scanned.map(|t| &t.id),
                    "round {round}, key {key:?}"
                );
            }
            for t in data.threads() {
                assert_eq!(data.thread(&t.id).map(|x| &x.id), Some(&t.id));
                assert!(!t.messages.is_empty());
            }
        }
        // Destroying the last message of a subject's thread ends its
        // grouping: the next message with that subject starts a new one.
        let hello: Vec<String> = kept
            .iter()
            .filter(|id| {
                data.message(id).is_some_and(|m| {
                    data.thread(&m.thread_id)
                        .is_some_and(|t| t.subject_key == "hello")
                })
            })
            .cloned()
            .collect();
        let before = data
            .newest_thread_with_subject("hello")
            .map(|t| t.id.clone());
        for id in &hello {
            assert!(destroy(data, id));
        }
        assert!(data.newest_thread_with_subject("hello").is_none());
        let draft = Draft {
            folder_role: "inbox",
            subject: Some("Hello".to_owned()),
            ..Draft::default()
        };
        let (_, thread_id) = insert(data, draft, now + 1000);
        assert_ne!(Some(thread_id.clone()), before);
        assert_eq!(
            data.newest_thread_with_subject("hello")
                .map(|t| t.id.clone()),
            Some(thread_id)
        );
    }

    #[test]
    fn highlights_mark_every_match_and_escape_the_rest() {
        assert_eq!(
            highlight("Invoice <2> for invoice", "invoice", None).as_deref(),
            Some("<mark>Invoice</mark> &lt;2&gt; for <mark>invoice</mark>")
        );
        assert_eq!(highlight("nothing here", "invoice", None), None);
        let long = format!("{} needle {}", "a".repeat(100), "b".repeat(100));
        let excerpt = highlight(&long, "needle", Some(5)).unwrap_or_default();
        assert_eq!(excerpt, "…aaaa <mark>needle</mark> bbbb…");
    }

    #[test]
    fn keyword_changes_check_names_and_refuse_draft() {
        let body = |pairs: &[(&str, bool)]| FlagsBody {
            keywords: Some(pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()),
            ..FlagsBody::default()
        };
        let changes = keyword_changes(FlagsBody {
            seen: Some(true),
            ..body(&[("Agent_Triaged", true)])
        })
        .unwrap_or_default();
        assert_eq!(
            changes,
            [
                ("agent_triaged".to_owned(), true),
                ("$seen".to_owned(), true)
            ]
        );
        assert!(keyword_changes(body(&[("$draft", true)])).is_err());
        assert!(keyword_changes(body(&[("bad word", true)])).is_err());
        assert!(keyword_changes(body(&[("", true)])).is_err());
    }
}
