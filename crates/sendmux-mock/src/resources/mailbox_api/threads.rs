//! Thread handlers: list, overview, message summaries and cleaned
//! content of one conversation.

use http::StatusCode;
use serde::Serialize;

use super::content::{self, ContentOptions, THREAD_BODY_CHARS_DEFAULT};
use super::messages::page_out;
use super::model::{Address, Links, Message, Summary, Thread, unique_addresses};
use super::query::{Key, Pager, descending, parse_time, text_match};
use super::store::{Kind, MailboxData};
use super::{Ctx, base_url, check_params, etag_of, flag, links, mailbox_of, missing, open};
use crate::api::{ApiError, Out, header_value, to_json};
use crate::collection::{Rendered, not_modified};

const THREAD_ID: &str = "thread_id";

/// `MailboxThreadSummary`, and `MailboxThread` with `message_ids`.
#[derive(Serialize)]
struct ThreadView<'a> {
    id: &'a str,
    subject: Option<&'a str>,
    message_count: usize,
    unread_count: usize,
    has_attachments: bool,
    folder_ids: Vec<&'a str>,
    participants: Vec<&'a Address>,
    last_message: Option<Summary<'a>>,
    states: States,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_ids: Option<Vec<&'a str>>,
}

#[derive(Serialize)]
struct States {
    thread_state: Option<String>,
    email_state: Option<String>,
}

/// A thread's figures, from its messages (oldest first).
struct Facts<'a> {
    thread: &'a Thread,
    messages: Vec<&'a Message>,
}

impl<'a> Facts<'a> {
    fn of(data: &'a MailboxData, thread: &'a Thread) -> Self {
        Self {
            thread,
            messages: thread
                .messages
                .iter()
                .filter_map(|seq| data.messages.get(seq))
                .collect(),
        }
    }

    fn last(&self) -> Option<&'a Message> {
        self.messages
            .iter()
            .max_by_key(|m| (m.received_at_ms, m.seq))
            .copied()
    }

    fn updated_at(&self) -> u64 {
        self.last().map_or(0, |m| m.received_at_ms)
    }

    fn unread(&self) -> usize {
        self.messages.iter().filter(|m| !m.seen()).count()
    }

    fn participants(&self) -> Vec<&'a Address> {
        unique_addresses(self.messages.iter().flat_map(|m| m.participants()))
    }

    fn view(&self, data: &MailboxData, links: &Links<'_>, with_ids: bool) -> ThreadView<'a> {
        let mut folder_ids: Vec<&str> = Vec::new();
        for m in &self.messages {
            if !folder_ids.contains(&m.folder_id.as_str()) {
                folder_ids.push(&m.folder_id);
            }
        }
        ThreadView {
            id: &self.thread.id,
            subject: self.messages.first().and_then(|m| m.subject.as_deref()),
            message_count: self.messages.len(),
            unread_count: self.unread(),
            has_attachments: self.messages.iter().any(|m| !m.attachments.is_empty()),
            folder_ids,
            participants: self.participants(),
            last_message: self.last().map(|m| m.summary(links)),
            states: States {
                thread_state: Some(data.state(Kind::Threads)),
                email_state: Some(data.state(Kind::Messages)),
            },
            message_ids: with_ids.then(|| self.messages.iter().map(|m| m.id.as_str()).collect()),
        }
    }
}

pub(crate) fn list(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    check_params(&ctx)?;
    let mailbox_id = mailbox_of(&ctx)?;
    let desc = descending(&ctx, "sort_direction", true);
    let lower = |name: &str| ctx.query(name).map(|v| v.to_lowercase());
    let (q, participant, folder_id) = (lower("q"), lower("participant"), ctx.query("folder_id"));
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
    let (has_attachment, is_unread) = (flag(&ctx, "has_attachment"), flag(&ctx, "is_unread"));
    let fingerprint = format!(
        "{q:?}{participant:?}{folder_id:?}{after:?}{before:?}{has_attachment:?}{is_unread:?}"
    );
    let tag = format!(
        "threads:{desc}:{:x}",
        crate::ids::hash_bytes(0, fingerprint.as_bytes())
    );
    let pager = Pager::new(&ctx, tag, desc)?;
    let base = base_url(&ctx);
    let mut store = ctx.store();
    let (_, data) = open(&mut store, &ctx, mailbox_id)?;
    let links = links(&ctx, data, &base);
    let data = &*data;
    let matching: Vec<(Key, Facts<'_>)> = data
        .threads()
        .map(|t| Facts::of(data, t))
        .filter(|f| !f.messages.is_empty())
        .filter(|f| {
            q.as_deref().is_none_or(|q| {
                f.messages
                    .iter()
                    .any(|m| text_match(m, m.plain_text().as_deref(), q))
            }) && participant
                .as_deref()
                .is_none_or(|p| f.participants().iter().any(|a| a.matches(p)))
                && folder_id
                    .as_deref()
                    .is_none_or(|id| f.messages.iter().any(|m| m.folder_id == id))
                && after.is_none_or(|t| f.updated_at() > t)
                && before.is_none_or(|t| f.updated_at() < t)
                && has_attachment
                    .is_none_or(|want| want == f.messages.iter().any(|m| !m.attachments.is_empty()))
                && is_unread.is_none_or(|want| want == (f.unread() > 0))
        })
        .map(|f| {
            let key = Key::num(
                i64::try_from(f.updated_at()).unwrap_or(i64::MAX),
                f.last().map_or(0, |m| m.seq),
            );
            (key, f)
        })
        .collect();
    let (page, has_more, next) = pager.page(matching);
    let items = page
        .iter()
        .map(|f| to_json(&f.view(data, &links, false)))
        .collect();
    Ok(page_out(&ctx, items, has_more, next))
}

pub(crate) fn get(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    check_params(&ctx)?;
    let mailbox_id = mailbox_of(&ctx)?;
    let base = base_url(&ctx);
    let mut store = ctx.store();
    let (_, data) = open(&mut store, &ctx, mailbox_id)?;
    let links = links(&ctx, data, &base);
    let thread = data
        .thread(ctx.param(THREAD_ID))
        .ok_or_else(|| missing("thread"))?;
    let facts = Facts::of(data, thread);
    let stable = to_json(&facts.view(data, &Links::none(), true));
    Ok(ctx.conditional(&Rendered {
        json: to_json(&facts.view(data, &links, true)),
        etag: etag_of(ctx.seed(), &stable),
    }))
}

/// The thread's messages in `sort` order (`asc` by default: the
/// conversation as it happened).
fn ordered_pager(ctx: &Ctx<'_>, what: &str, extra: &str) -> Result<Pager, ApiError> {
    let desc = descending(ctx, "sort", false);
    let tag = format!("{what}:{}:{desc}:{extra}", ctx.param(THREAD_ID));
    Pager::new(ctx, tag, desc)
}

fn keyed(messages: Vec<&Message>) -> Vec<(Key, &Message)> {
    messages
        .into_iter()
        .map(|m| {
            let at = i64::try_from(m.received_at_ms).unwrap_or(i64::MAX);
            (Key::num(at, m.seq), m)
        })
        .collect()
}

pub(crate) fn messages(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    check_params(&ctx)?;
    let mailbox_id = mailbox_of(&ctx)?;
    let pager = ordered_pager(&ctx, "thread-messages", "")?;
    let base = base_url(&ctx);
    let mut store = ctx.store();
    let (_, data) = open(&mut store, &ctx, mailbox_id)?;
    let links = links(&ctx, data, &base);
    if data.thread(ctx.param(THREAD_ID)).is_none() {
        return Err(missing("thread"));
    }
    let (page, has_more, next) = pager.page(keyed(data.thread_messages(ctx.param(THREAD_ID))));
    let items = page
        .into_iter()
        .map(|m| to_json(&m.summary(&links)))
        .collect();
    Ok(page_out(&ctx, items, has_more, next))
}

/// `MailboxThreadContentMeta`.
#[derive(Serialize)]
struct ContentMeta<'a> {
    request_id: &'a str,
    thread_id: &'a str,
    participants: Vec<&'a Address>,
    states: ContentStates,
}

#[derive(Serialize)]
struct ContentStates {
    thread_state: Option<String>,
    email_state: Option<String>,
    option_hash: String,
}

/// `CursorPagination`.
#[derive(Serialize)]
struct Pagination<'a> {
    has_more: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<&'a str>,
}

/// `MailboxThreadContentResponse`, whose `meta` carries more than the
/// request id.
#[derive(Serialize)]
struct ContentPage<'a> {
    ok: bool,
    data: Vec<content::Content<'a>>,
    pagination: Pagination<'a>,
    meta: ContentMeta<'a>,
}

pub(crate) fn content(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    check_params(&ctx)?;
    let mailbox_id = mailbox_of(&ctx)?;
    let opts = ContentOptions::from_ctx(&ctx, THREAD_BODY_CHARS_DEFAULT);
    let pager = ordered_pager(&ctx, "thread-content", &opts.hash())?;
    let base = base_url(&ctx);
    let mut store = ctx.store();
    let (_, data) = open(&mut store, &ctx, mailbox_id)?;
    let links = links(&ctx, data, &base);
    let thread_id = ctx.param(THREAD_ID);
    let thread = data.thread(thread_id).ok_or_else(|| missing("thread"))?;
    let facts = Facts::of(data, thread);
    let email_state = data.state(Kind::Messages);
    let (page, has_more, next) = pager.page(keyed(facts.messages.clone()));
    let body = |links: &Links<'_>| ContentPage {
        ok: true,
        data: page
            .iter()
            .map(|m| content::clean(m, &opts, &email_state, links))
            .collect(),
        pagination: Pagination {
            has_more,
            next_cursor: next.as_deref(),
        },
        meta: ContentMeta {
            request_id: ctx.request_id,
            thread_id,
            participants: facts.participants(),
            states: ContentStates {
                thread_state: Some(data.state(Kind::Threads)),
                email_state: Some(email_state.clone()),
                option_hash: opts.hash(),
            },
        },
    };
    // The tag ignores the request id and the download URLs, which change
    // on every call.
    let mut stable = body(&Links::none());
    stable.meta.request_id = "";
    let etag = etag_of(ctx.seed(), &to_json(&stable));
    let rendered = Rendered {
        json: to_json(&body(&links)),
        etag,
    };
    let tag = header_value(&rendered.etag);
    if not_modified(ctx.header(http::header::IF_NONE_MATCH), &rendered.etag) {
        return Ok(
            Out::empty(StatusCode::NOT_MODIFIED, ctx.request_id).header(http::header::ETAG, tag)
        );
    }
    Ok(Out::json(StatusCode::OK, ctx.request_id, rendered.json).header(http::header::ETAG, tag))
}
