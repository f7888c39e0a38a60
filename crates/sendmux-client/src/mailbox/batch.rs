//! Batch reads, updates and deletes of any number of messages: the ids
//! split into requests of at most 100, sent one after another, and the
//! per-id results merged back in input order.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::future::{Future, IntoFuture};
use std::num::NonZeroU64;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use sendmux_api::types as wire;
use sendmux_operations::{Operation, ops};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Mailbox;
use super::messages::too_many_keywords;
use super::sync::{ResourceType, State};
use crate::chunks::{self, Limits as ChunkLimits};
use crate::error::{Error, InvalidInput};
use crate::idempotency::{IdempotencyKey, IdempotencyPolicy};
use crate::request::{Json, data};
use crate::response::Response;
use crate::retry::RetryPolicy;
use crate::sending::BatchRequest;
use crate::validate;

/// Ids per request of a batch call unless [`Mailbox::with_limits`] says
/// otherwise: the most the batch endpoints take.
pub const DEFAULT_BATCH_IDS: usize = 100;
/// Keywords one update may change unless [`Mailbox::with_limits`] gives
/// the server's own figure (the session's `keywords_per_update_max`).
pub const DEFAULT_KEYWORDS_PER_UPDATE: usize = 50;

/// The limits a handle checks batch calls and updates against.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) batch_ids: usize,
    pub(crate) keywords: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            batch_ids: DEFAULT_BATCH_IDS,
            keywords: DEFAULT_KEYWORDS_PER_UPDATE,
        }
    }
}

impl Limits {
    pub(crate) fn from_session(limits: &wire::MailboxSessionLimits) -> Self {
        let batch_ids = usize::try_from(limits.batch_ids_max)
            .unwrap_or(DEFAULT_BATCH_IDS)
            .clamp(1, DEFAULT_BATCH_IDS);
        let keywords =
            usize::try_from(limits.keywords_per_update_max).unwrap_or(DEFAULT_KEYWORDS_PER_UPDATE);
        Self {
            batch_ids,
            keywords,
        }
    }
}

/// A keyword name: 1 to 255 visible ASCII characters without
/// `( ) { ] % * " \`, and not a read-only lifecycle keyword.
pub(crate) fn check_keyword(field: &'static str, name: &str) -> Result<(), InvalidInput> {
    const FORBIDDEN: &[u8] = b"(){]%*\"\\";
    let shaped = (1..=255).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_graphic() && !FORBIDDEN.contains(&b));
    if !shaped {
        return Err(InvalidInput::new(
            field,
            format!("{name:?} is not a keyword"),
            "use 1 to 255 visible ASCII characters without ( ) { ] % * \" \\",
        ));
    }
    if name.eq_ignore_ascii_case("$draft") {
        return Err(InvalidInput::new(
            field,
            "changes `$draft`, which is read-only",
            "leave lifecycle keywords to the server",
        ));
    }
    Ok(())
}

/// Why a request of a batch call did not complete; shared by its ids.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RequestFailure {
    /// The request's position in the outcome's `requests`.
    pub request: usize,
    /// What failed; for a request not made, the failure that stopped the
    /// call.
    pub error: Arc<Error>,
    /// Whether the request was made (`false` after an earlier one failed).
    pub sent: bool,
}

/// Per-call options of a batch call.
#[derive(Debug, Clone, Default)]
struct Options {
    idempotency_key: Option<String>,
    timeout: Option<Duration>,
    retry: Option<RetryPolicy>,
}

/// One request's answer, or why there is none.
struct Chunk<A> {
    range: Range<usize>,
    answer: Result<Response<A>, RequestFailure>,
}

/// Checks the ids and the client, then sends one request per chunk in
/// order, each body made by `body` from its ids and the state to check
/// (`if_in_state`: the caller's for the first request, then the state
/// the previous answer reports, so every request checks the state its
/// predecessor left). After a failed request the later ones are not made.
async fn run<B, A>(
    mailbox: &Mailbox,
    op: &'static Operation,
    ids: &[String],
    options: &Options,
    first_state: Option<String>,
    body: impl Fn(Vec<String>, Option<String>) -> B,
    next_state: fn(&A) -> Option<String>,
) -> Result<(Vec<Chunk<A>>, Vec<BatchRequest>), Error>
where
    B: Serialize + Clone + fmt::Debug + Send + Sync + 'static,
    A: DeserializeOwned + Send + 'static,
{
    check_ids(ids)?;
    mailbox.client.credential(crate::key::Surface::Mailbox)?;
    let key = match &options.idempotency_key {
        Some(_) if !op.idempotency_key => {
            return Err(InvalidInput::new(
                "idempotency_key",
                format!("is not taken by {}", op.id),
                "leave it out: this operation is made safe to repeat otherwise",
            )
            .into());
        }
        Some(key) => Some(IdempotencyKey::new(key.clone())?),
        None if op.idempotency_key
            && mailbox.client.inner.idempotency == IdempotencyPolicy::Automatic =>
        {
            Some(IdempotencyKey::generate())
        }
        None => None,
    };
    let ranges = chunks::ranges(
        ids.len(),
        ChunkLimits::items(mailbox.limits.batch_ids),
        |_| 0,
    );
    let total = ranges.len();
    let mut out = Vec::with_capacity(total);
    let mut reports = Vec::with_capacity(total);
    let mut stopped: Option<Arc<Error>> = None;
    let mut state = first_state;
    for (index, range) in ranges.into_iter().enumerate() {
        let key = key
            .as_ref()
            .map(|base| chunks::request_key(base.as_str(), index, total));
        let mut report = BatchRequest {
            messages: range.clone(),
            idempotency_key: key.clone(),
            request_id: None,
            sent: false,
        };
        if let Some(cause) = &stopped {
            let failure = RequestFailure {
                request: index,
                error: Arc::clone(cause),
                sent: false,
            };
            out.push(Chunk {
                range,
                answer: Err(failure),
            });
            reports.push(report);
            continue;
        }
        let mut request = mailbox
            .call(op, &[], data::<A>)
            .with_body(Json(body(ids[range.clone()].to_vec(), state.clone())));
        if let Some(key) = key {
            request = request.idempotency_key(key);
        }
        if let Some(timeout) = options.timeout {
            request = request.timeout(timeout);
        }
        if let Some(policy) = &options.retry {
            request = request.retry_policy(policy.clone());
        }
        // The first request's checks hold for all: refuse before any I/O.
        if index == 0
            && let Some(problem) = request.problem()
        {
            return Err(problem.clone().into());
        }
        report.sent = true;
        let answer = match request.send().await {
            Ok(answer) => {
                report.request_id = answer.request_id().map(str::to_owned);
                if state.is_some() {
                    state = next_state(&answer);
                }
                Ok(answer)
            }
            Err(error) => {
                report.request_id = error.request_id().map(str::to_owned);
                let error = Arc::new(error);
                stopped = Some(Arc::clone(&error));
                Err(RequestFailure {
                    request: index,
                    error,
                    sent: true,
                })
            }
        };
        out.push(Chunk { range, answer });
        reports.push(report);
    }
    Ok((out, reports))
}

fn check_ids(ids: &[String]) -> Result<(), InvalidInput> {
    if ids.is_empty() {
        return Err(InvalidInput::new(
            "ids",
            "is empty",
            "pass at least one message id",
        ));
    }
    for (i, id) in ids.iter().enumerate() {
        validate::resource_id("ids", id).map_err(|mut problem| {
            problem.field = format!("ids[{i}]");
            problem
        })?;
    }
    Ok(())
}

fn message_state(field: &'static str, state: &State) -> Result<String, InvalidInput> {
    if state.resource() != ResourceType::Messages {
        return Err(InvalidInput::new(
            field,
            format!("is a state of {}, not of messages", state.resource()),
            "pass a messages state (from the session or a batch answer)",
        ));
    }
    Ok(state.as_str().to_owned())
}

/// The error of an id an answer says nothing about.
fn unanswered(id: &str, request: usize, answer: &AnswerMeta) -> RequestFailure {
    let error = Error::Undecodable {
        status: Some(answer.status),
        request_id: answer.request_id.clone(),
        reason: format!("the answer has no result for id {id:?}"),
        snippet: String::new(),
        attempts: answer.attempts,
        source: None,
    };
    RequestFailure {
        request,
        error: Arc::new(error),
        sent: true,
    }
}

macro_rules! batch_options {
    ($name:ident, $outcome:ty) => {
        impl $name {
            /// Your idempotency key for the call, for operations that take
            /// one (each request then carries a key derived from it); the
            /// batch message operations take none and refuse it.
            pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
                self.options.idempotency_key = Some(key.into());
                self
            }

            /// Per-attempt timeout of each request.
            pub fn timeout(mut self, timeout: Duration) -> Self {
                self.options.timeout = Some(timeout);
                self
            }

            /// Retry policy of each request.
            pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
                self.options.retry = Some(policy);
                self
            }
        }

        impl IntoFuture for $name {
            type Output = Result<$outcome, Error>;
            type IntoFuture = BoxFuture<'static, Self::Output>;

            fn into_future(self) -> Self::IntoFuture {
                Box::pin(self.send())
            }
        }
    };
}

/// What became of one id of [`Messages::batch_get`](super::Messages::batch_get).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum GetItem {
    /// The message, with its raw body or content if asked for.
    Found(Box<wire::MailboxBatchGetItem>),
    /// No such message in this mailbox.
    NotFound {
        /// The id asked for.
        id: String,
    },
    /// Its request failed, or was not made after an earlier one failed.
    Failed {
        /// The id asked for.
        id: String,
        /// Why.
        failure: RequestFailure,
    },
}

impl GetItem {
    /// The id this item answers.
    pub fn id(&self) -> &str {
        match self {
            GetItem::Found(item) => &item.message.id,
            GetItem::NotFound { id } | GetItem::Failed { id, .. } => id,
        }
    }
}

/// The result of a batch read: one [`GetItem`] per id, in input order.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BatchGetOutcome {
    /// One item per id asked for, in order.
    pub items: Vec<GetItem>,
    /// The messages state of the last answer, when it gave one.
    pub email_state: Option<State>,
    /// The requests, in order.
    pub requests: Vec<BatchRequest>,
}

impl BatchGetOutcome {
    /// The messages found, in input order.
    pub fn found(&self) -> impl Iterator<Item = &wire::MailboxBatchGetItem> {
        self.items.iter().filter_map(|item| match item {
            GetItem::Found(found) => Some(&**found),
            _ => None,
        })
    }

    /// The ids the server does not know.
    pub fn not_found(&self) -> impl Iterator<Item = &str> {
        self.items.iter().filter_map(|item| match item {
            GetItem::NotFound { id } => Some(id.as_str()),
            _ => None,
        })
    }

    /// Whether every request completed (ids may still be not found).
    pub fn is_complete(&self) -> bool {
        self.error().is_none()
    }

    /// The error that stopped the call, if one did.
    pub fn error(&self) -> Option<&Error> {
        self.items.iter().find_map(|item| match item {
            GetItem::Failed { failure, .. } => Some(&*failure.error),
            _ => None,
        })
    }
}

/// [`Messages::batch_get`](super::Messages::batch_get): choose what to
/// return with each message, then await the [`BatchGetOutcome`].
#[derive(Debug, Clone)]
#[must_use = "batch calls do nothing until awaited"]
pub struct BatchGet {
    mailbox: Mailbox,
    ids: Vec<String>,
    template: wire::MailboxBatchGetBody,
    invalid: Option<InvalidInput>,
    options: Options,
}

batch_options!(BatchGet, BatchGetOutcome);

impl BatchGet {
    pub(crate) fn new(mailbox: Mailbox, ids: Vec<String>) -> Self {
        Self {
            mailbox,
            ids,
            template: wire::MailboxBatchGetBody {
                body_mode: None,
                ids: Vec::new(),
                include_attachments: None,
                include_headers: None,
                include_html: None,
                include_links: None,
                max_body_chars: None,
                part: None,
                strip_quotes: None,
                strip_signature: None,
            },
            invalid: None,
            options: Options::default(),
        }
    }

    /// The summary only (`none`, the default), the raw body (`raw`) or
    /// the clean content (`clean_json`).
    pub fn body_mode(mut self, mode: wire::MailboxBatchGetBodyBodyMode) -> Self {
        self.template.body_mode = Some(mode);
        self
    }

    /// Which body part to return.
    pub fn part(mut self, part: wire::BatchGetPart) -> Self {
        self.template.part = Some(part);
        self
    }

    /// Truncate each body after this many characters, 1..=1,000,000.
    pub fn max_body_chars(mut self, chars: u32) -> Self {
        let checked = validate::in_range("max_body_chars", chars, 1, super::query::MAX_BODY_CHARS);
        match checked {
            Ok(()) => self.template.max_body_chars = NonZeroU64::new(u64::from(chars)),
            Err(problem) => {
                self.invalid.get_or_insert(problem);
            }
        }
        self
    }

    /// Remove detected signatures from clean content.
    pub fn strip_signature(mut self, strip: bool) -> Self {
        self.template.strip_signature = Some(strip);
        self
    }

    /// Remove quoted replies from clean content.
    pub fn strip_quotes(mut self, strip: bool) -> Self {
        self.template.strip_quotes = Some(strip);
        self
    }

    /// Include the links found in the body.
    pub fn include_links(mut self, include: bool) -> Self {
        self.template.include_links = Some(include);
        self
    }

    /// Include the HTML body when there is one.
    pub fn include_html(mut self, include: bool) -> Self {
        self.template.include_html = Some(include);
        self
    }

    /// How many headers to include.
    pub fn include_headers(mut self, detail: wire::IncludeHeaders) -> Self {
        self.template.include_headers = Some(detail);
        self
    }

    /// Whether to include attachment metadata (never contents).
    pub fn include_attachments(mut self, detail: wire::IncludeAttachments) -> Self {
        self.template.include_attachments = Some(detail);
        self
    }

    /// Checks the ids, then reads them in requests of at most 100.
    ///
    /// Fails only before any I/O: no ids, an empty or malformed id, a bad
    /// option, or no mailbox key on the client. A request that fails is
    /// reported on each of its ids.
    #[allow(clippy::manual_async_fn)] // a plain fn keeps `self` once in the state
    pub fn send(self) -> impl Future<Output = Result<BatchGetOutcome, Error>> + Send + 'static {
        async move {
            if let Some(problem) = self.invalid {
                return Err(problem.into());
            }
            let template = self.template;
            let (chunks, requests) = run(
                &self.mailbox,
                ops::MAILBOX_BATCH_GET_MESSAGES,
                &self.ids,
                &self.options,
                None,
                move |ids, _| wire::MailboxBatchGetBody {
                    ids,
                    ..template.clone()
                },
                |_: &wire::MailboxBatchGetResult| None,
            )
            .await?;
            let mut outcome = BatchGetOutcome {
                items: Vec::with_capacity(self.ids.len()),
                email_state: None,
                requests,
            };
            for (request, chunk) in chunks.into_iter().enumerate() {
                let ids = &self.ids[chunk.range];
                let answer = match chunk.answer {
                    Ok(answer) => answer,
                    Err(failure) => {
                        outcome.items.extend(ids.iter().map(|id| GetItem::Failed {
                            id: id.clone(),
                            failure: failure.clone(),
                        }));
                        continue;
                    }
                };
                let (answer, result) = split(answer);
                if let Some(state) = result.states.email_state {
                    outcome.email_state = Some(State::new(ResourceType::Messages, state));
                }
                let not_found: HashSet<String> = result.not_found.into_iter().collect();
                let mut found: HashMap<String, wire::MailboxBatchGetItem> = result
                    .messages
                    .into_iter()
                    .map(|item| (item.message.id.clone(), item))
                    .collect();
                // An id asked for twice gets a copy of its first answer.
                let mut given: HashMap<&str, usize> = HashMap::new();
                for id in ids {
                    let item = if let Some(item) = found.remove(id) {
                        GetItem::Found(Box::new(item))
                    } else if let Some(&at) = given.get(id.as_str()) {
                        outcome.items[at].clone()
                    } else if not_found.contains(id) {
                        GetItem::NotFound { id: id.clone() }
                    } else {
                        GetItem::Failed {
                            id: id.clone(),
                            failure: unanswered(id, request, &answer),
                        }
                    };
                    given.entry(id).or_insert(outcome.items.len());
                    outcome.items.push(item);
                }
            }
            Ok(outcome)
        }
    }
}

/// What an answer said about itself, kept after its value is taken.
struct AnswerMeta {
    status: u16,
    request_id: Option<String>,
    attempts: u32,
}

/// The response's metadata and its value, apart.
fn split<A>(answer: Response<A>) -> (AnswerMeta, A) {
    let meta = AnswerMeta {
        status: answer.status(),
        request_id: answer.request_id().map(str::to_owned),
        attempts: answer.attempts(),
    };
    (meta, answer.into_inner())
}

/// What became of one id of a batch update or delete.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum WriteItem {
    /// Updated, or deleted.
    Done {
        /// The id.
        id: String,
    },
    /// No such message in this mailbox.
    NotFound {
        /// The id.
        id: String,
    },
    /// The server refused this id; the others of its request went on.
    Refused {
        /// The id.
        id: String,
        /// Why, as the server's error code.
        code: String,
        /// Explanation for people.
        message: String,
    },
    /// Its request failed, or was not made after an earlier one failed.
    Failed {
        /// The id.
        id: String,
        /// Why.
        failure: RequestFailure,
    },
}

impl WriteItem {
    /// The id this item answers.
    pub fn id(&self) -> &str {
        match self {
            WriteItem::Done { id }
            | WriteItem::NotFound { id }
            | WriteItem::Refused { id, .. }
            | WriteItem::Failed { id, .. } => id,
        }
    }

    /// Whether the change was made.
    pub fn is_done(&self) -> bool {
        matches!(self, WriteItem::Done { .. })
    }
}

/// The result of a batch update or delete: one [`WriteItem`] per id, in
/// input order, and the messages state before and after.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BatchWriteOutcome {
    /// One item per id, in order.
    pub items: Vec<WriteItem>,
    /// The messages state before the first request.
    pub old_state: Option<State>,
    /// The messages state after the last request that completed.
    pub new_state: Option<State>,
    /// The requests, in order.
    pub requests: Vec<BatchRequest>,
}

impl BatchWriteOutcome {
    /// How many ids were changed.
    pub fn done(&self) -> usize {
        self.items.iter().filter(|item| item.is_done()).count()
    }

    /// Whether every request completed (ids may still be refused or not
    /// found).
    pub fn is_complete(&self) -> bool {
        self.error().is_none()
    }

    /// The error that stopped the call, if one did.
    pub fn error(&self) -> Option<&Error> {
        self.items.iter().find_map(|item| match item {
            WriteItem::Failed { failure, .. } => Some(&*failure.error),
            _ => None,
        })
    }
}

/// The per-id lists of an update or delete answer.
struct WriteAnswer {
    done: Vec<String>,
    not_found: Vec<String>,
    failed: Vec<wire::MailboxBatchMessageFailure>,
    states: wire::MailboxBatchMessageStates,
}

impl From<wire::MailboxBatchUpdateMessagesResult> for WriteAnswer {
    fn from(r: wire::MailboxBatchUpdateMessagesResult) -> Self {
        Self {
            done: r.updated,
            not_found: r.not_found,
            failed: r.failed,
            states: r.states,
        }
    }
}

impl From<wire::MailboxBatchDeleteMessagesResult> for WriteAnswer {
    fn from(r: wire::MailboxBatchDeleteMessagesResult) -> Self {
        Self {
            done: r.deleted,
            not_found: r.not_found,
            failed: r.failed,
            states: r.states,
        }
    }
}

/// Merges write answers back per id, in input order.
fn merge_writes<A: Into<WriteAnswer>>(
    ids: &[String],
    chunks: Vec<Chunk<A>>,
    requests: Vec<BatchRequest>,
) -> BatchWriteOutcome {
    let messages = |token: String| State::new(ResourceType::Messages, token);
    let mut outcome = BatchWriteOutcome {
        items: Vec::with_capacity(ids.len()),
        old_state: None,
        new_state: None,
        requests,
    };
    for (request, chunk) in chunks.into_iter().enumerate() {
        let chunk_ids = &ids[chunk.range];
        let answer = match chunk.answer {
            Ok(answer) => answer,
            Err(failure) => {
                outcome
                    .items
                    .extend(chunk_ids.iter().map(|id| WriteItem::Failed {
                        id: id.clone(),
                        failure: failure.clone(),
                    }));
                continue;
            }
        };
        let (answer, result) = split(answer);
        let result: WriteAnswer = result.into();
        if request == 0 {
            outcome.old_state = result.states.old_state.map(messages);
        }
        if let Some(state) = result.states.new_state {
            outcome.new_state = Some(messages(state));
        }
        let done: HashSet<String> = result.done.into_iter().collect();
        let not_found: HashSet<String> = result.not_found.into_iter().collect();
        let failed: HashMap<String, (String, String)> = result
            .failed
            .into_iter()
            .map(|f| (f.id, (f.code, f.message)))
            .collect();
        for id in chunk_ids {
            let id = id.clone();
            let item = if done.contains(&id) {
                WriteItem::Done { id }
            } else if let Some((code, message)) = failed.get(&id) {
                WriteItem::Refused {
                    id,
                    code: code.clone(),
                    message: message.clone(),
                }
            } else if not_found.contains(&id) {
                WriteItem::NotFound { id }
            } else {
                let failure = unanswered(&id, request, &answer);
                WriteItem::Failed { id, failure }
            };
            outcome.items.push(item);
        }
    }
    outcome
}

/// [`Messages::batch_update`](super::Messages::batch_update): set the
/// flags and keywords to change, then await the [`BatchWriteOutcome`].
#[derive(Debug, Clone)]
#[must_use = "batch calls do nothing until awaited"]
pub struct BatchUpdate {
    mailbox: Mailbox,
    ids: Vec<String>,
    seen: Option<bool>,
    flagged: Option<bool>,
    keywords: std::collections::HashMap<String, bool>,
    if_in_state: Option<String>,
    invalid: Option<InvalidInput>,
    options: Options,
}

batch_options!(BatchUpdate, BatchWriteOutcome);

impl BatchUpdate {
    pub(crate) fn new(mailbox: Mailbox, ids: Vec<String>) -> Self {
        Self {
            mailbox,
            ids,
            seen: None,
            flagged: None,
            keywords: std::collections::HashMap::new(),
            if_in_state: None,
            invalid: None,
            options: Options::default(),
        }
    }

    fn refuse(mut self, problem: InvalidInput) -> Self {
        self.invalid.get_or_insert(problem);
        self
    }

    /// Marks read (`true`) or unread (`false`).
    pub fn seen(mut self, seen: bool) -> Self {
        self.seen = Some(seen);
        self
    }

    /// Flags (`true`) or unflags (`false`).
    pub fn flagged(mut self, flagged: bool) -> Self {
        self.flagged = Some(flagged);
        self
    }

    /// Sets (`true`) or clears (`false`) a keyword on every message; the
    /// same rules as [`UpdateMessage::keyword`](super::UpdateMessage::keyword).
    pub fn keyword(mut self, name: impl Into<String>, on: bool) -> Self {
        let name = name.into();
        if let Err(problem) = check_keyword("keywords", &name) {
            return self.refuse(problem);
        }
        let max = self.mailbox.limits.keywords;
        if !self.keywords.contains_key(&name) && self.keywords.len() >= max {
            return self.refuse(too_many_keywords(max));
        }
        self.keywords.insert(name, on);
        self
    }

    /// Sets a keyword on every message.
    pub fn add_keyword(self, name: impl Into<String>) -> Self {
        self.keyword(name, true)
    }

    /// Clears a keyword on every message.
    pub fn remove_keyword(self, name: impl Into<String>) -> Self {
        self.keyword(name, false)
    }

    /// Only if the messages state is still `state` (`409 conflict`
    /// otherwise). With several requests, each checks the state the one
    /// before it left, so nobody else's change can slip in between.
    pub fn if_in_state(mut self, state: &State) -> Self {
        match message_state("if_in_state", state) {
            Ok(token) => self.if_in_state = Some(token),
            Err(problem) => return self.refuse(problem),
        }
        self
    }

    /// Checks the ids and the changes, then updates them in requests of
    /// at most 100, one after another.
    ///
    /// Fails only before any I/O (no ids, a malformed id, nothing to
    /// change, a bad keyword, no mailbox key); later failures are
    /// reported per id.
    #[allow(clippy::manual_async_fn)] // a plain fn keeps `self` once in the state
    pub fn send(self) -> impl Future<Output = Result<BatchWriteOutcome, Error>> + Send + 'static {
        async move {
            if let Some(problem) = self.invalid {
                return Err(problem.into());
            }
            if self.seen.is_none() && self.flagged.is_none() && self.keywords.is_empty() {
                return Err(InvalidInput::new(
                    "changes",
                    "is empty",
                    "set seen, flagged or at least one keyword",
                )
                .into());
            }
            let (seen, flagged, keywords) = (self.seen, self.flagged, self.keywords);
            let (chunks, requests) = run(
                &self.mailbox,
                ops::MAILBOX_BATCH_UPDATE_MESSAGES,
                &self.ids,
                &self.options,
                self.if_in_state,
                move |ids, if_in_state| wire::BatchUpdateMailboxMessagesBody {
                    flagged,
                    ids,
                    if_in_state,
                    keywords: keywords.clone(),
                    seen,
                },
                |r: &wire::MailboxBatchUpdateMessagesResult| r.states.new_state.clone(),
            )
            .await?;
            Ok(merge_writes(&self.ids, chunks, requests))
        }
    }
}

/// [`Messages::batch_delete`](super::Messages::batch_delete): await the
/// [`BatchWriteOutcome`].
#[derive(Debug, Clone)]
#[must_use = "batch calls do nothing until awaited"]
pub struct BatchDelete {
    mailbox: Mailbox,
    ids: Vec<String>,
    permanent: bool,
    if_in_state: Option<String>,
    invalid: Option<InvalidInput>,
    options: Options,
}

batch_options!(BatchDelete, BatchWriteOutcome);

impl BatchDelete {
    pub(crate) fn new(mailbox: Mailbox, ids: Vec<String>) -> Self {
        Self {
            mailbox,
            ids,
            permanent: false,
            if_in_state: None,
            invalid: None,
            options: Options::default(),
        }
    }

    /// Deletes for good instead of moving to Trash.
    pub fn permanently(mut self) -> Self {
        self.permanent = true;
        self
    }

    /// Only if the messages state is still `state`, as
    /// [`BatchUpdate::if_in_state`].
    pub fn if_in_state(mut self, state: &State) -> Self {
        match message_state("if_in_state", state) {
            Ok(token) => self.if_in_state = Some(token),
            Err(problem) => {
                self.invalid.get_or_insert(problem);
            }
        }
        self
    }

    /// Checks the ids, then deletes them in requests of at most 100, one
    /// after another. Fails only before any I/O; later failures are
    /// reported per id.
    #[allow(clippy::manual_async_fn)] // a plain fn keeps `self` once in the state
    pub fn send(self) -> impl Future<Output = Result<BatchWriteOutcome, Error>> + Send + 'static {
        async move {
            if let Some(problem) = self.invalid {
                return Err(problem.into());
            }
            let permanent = self.permanent.then_some(true);
            let (chunks, requests) = run(
                &self.mailbox,
                ops::MAILBOX_BATCH_DELETE_MESSAGES,
                &self.ids,
                &self.options,
                self.if_in_state,
                move |ids, if_in_state| wire::BatchDeleteMailboxMessagesBody {
                    ids,
                    if_in_state,
                    permanent,
                },
                |r: &wire::MailboxBatchDeleteMessagesResult| r.states.new_state.clone(),
            )
            .await?;
            Ok(merge_writes(&self.ids, chunks, requests))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_follow_the_published_rules() {
        for ok in ["$seen", "needs_reply", "a", &"k".repeat(255)] {
            assert!(check_keyword("keywords", ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "two words",
            "a(b",
            "x\"",
            "é",
            &"k".repeat(256),
            "$draft",
            "$Draft",
        ] {
            assert!(check_keyword("keywords", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ids_are_checked_by_position() {
        assert_eq!(check_ids(&[]).map_err(|e| e.field), Err("ids".into()));
        let ids = ["msg_1".to_owned(), "bad id".to_owned()];
        assert_eq!(check_ids(&ids).map_err(|e| e.field), Err("ids[1]".into()));
    }
}
