//! State tokens and the change feeds: `GET /mailbox/changes` in both of
//! its shapes, the per-type `changes` endpoints, `query-changes` of the
//! message and folder lists, and the helpers that follow `has_more` until
//! caught up.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::future::{Future, IntoFuture};

use futures::future::BoxFuture;
use sendmux_api::types as wire;
use sendmux_operations::{Operation, ops};
use serde::{Deserialize, Serialize};

use super::Mailbox;
use crate::error::{Error, InvalidInput};
use crate::request::{Decoder, Request, data};
use crate::response::Response;
use crate::transport::Raw;

/// Most change records one call of a change feed may ask for.
const MAX_CHANGES_LIMIT: u32 = 500;

/// A kind of object the Mailbox API keeps a state token for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ResourceType {
    /// Messages.
    Messages,
    /// Folders.
    Folders,
    /// Conversation threads.
    Threads,
    /// Send submissions.
    Submissions,
    /// Sender identities.
    Identities,
    /// Quotas.
    Quotas,
}

impl ResourceType {
    /// Every type, in the order the API lists them.
    pub const ALL: [ResourceType; 6] = [
        ResourceType::Messages,
        ResourceType::Folders,
        ResourceType::Threads,
        ResourceType::Submissions,
        ResourceType::Identities,
        ResourceType::Quotas,
    ];

    /// The name on the wire (`messages`, `folders`, ...).
    pub const fn as_str(self) -> &'static str {
        match self {
            ResourceType::Messages => "messages",
            ResourceType::Folders => "folders",
            ResourceType::Threads => "threads",
            ResourceType::Submissions => "submissions",
            ResourceType::Identities => "identities",
            ResourceType::Quotas => "quotas",
        }
    }

    /// The query parameter carrying this type's state in a typed
    /// `GET /mailbox/changes`.
    const fn since_param(self) -> &'static str {
        match self {
            ResourceType::Messages => "messages_since_state",
            ResourceType::Folders => "folders_since_state",
            ResourceType::Threads => "threads_since_state",
            ResourceType::Submissions => "submissions_since_state",
            ResourceType::Identities => "identities_since_state",
            ResourceType::Quotas => "quotas_since_state",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

impl fmt::Display for ResourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A state token of one [`ResourceType`], as the session, a change feed
/// or a batch answer hands it out. Opaque: store it and pass it back.
///
/// Tagged with its type, so passing a folder state where a message state
/// belongs fails before any I/O. Serializes as
/// `{"resource": "messages", "token": "..."}`.
///
/// ```
/// use sendmux_client::mailbox::{ResourceType, State};
///
/// let state = State::new(ResourceType::Messages, "s_42");
/// assert_eq!(state.as_str(), "s_42");
/// assert_eq!(state.resource(), ResourceType::Messages);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct State {
    resource: ResourceType,
    token: String,
}

impl State {
    /// A state of `resource` stored earlier.
    pub fn new(resource: ResourceType, token: impl Into<String>) -> Self {
        Self {
            resource,
            token: token.into(),
        }
    }

    /// The type it is a state of.
    pub fn resource(&self) -> ResourceType {
        self.resource
    }

    /// The token as the server wrote it.
    pub fn as_str(&self) -> &str {
        &self.token
    }

    /// The token, taken out.
    pub fn into_token(self) -> String {
        self.token
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.resource, self.token)
    }
}

/// The query state of the message list or the folder list, for
/// `query-changes`. It belongs to one filter and sort: pass it back with
/// the same ones.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct QueryState {
    list: ResourceType,
    token: String,
}

impl QueryState {
    /// A query state of the message list stored earlier.
    pub fn messages(token: impl Into<String>) -> Self {
        Self {
            list: ResourceType::Messages,
            token: token.into(),
        }
    }

    /// A query state of the folder list stored earlier.
    pub fn folders(token: impl Into<String>) -> Self {
        Self {
            list: ResourceType::Folders,
            token: token.into(),
        }
    }

    /// Which list it is a state of.
    pub fn list(&self) -> ResourceType {
        self.list
    }

    /// The token as the server wrote it.
    pub fn as_str(&self) -> &str {
        &self.token
    }
}

/// Several [`State`]s, at most one per [`ResourceType`]: what a local
/// copy stores between syncs. Serializes as a map from type to token.
///
/// ```
/// use sendmux_client::mailbox::{ResourceType, State, States};
///
/// let states: States = [
///     State::new(ResourceType::Messages, "m1"),
///     State::new(ResourceType::Folders, "f1"),
/// ]
/// .into_iter()
/// .collect();
/// let messages_only = states.clone().only([ResourceType::Messages]);
/// assert_eq!(messages_only.len(), 1);
/// assert_eq!(states.get(ResourceType::Folders).map(|s| s.as_str()), Some("f1"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    from = "BTreeMap<ResourceType, String>",
    into = "BTreeMap<ResourceType, String>"
)]
pub struct States(BTreeMap<ResourceType, State>);

impl States {
    /// No states.
    pub fn new() -> Self {
        Self::default()
    }

    /// The state of `resource`, if held.
    pub fn get(&self, resource: ResourceType) -> Option<&State> {
        self.0.get(&resource)
    }

    /// Adds `state`, replacing any state of the same type.
    pub fn insert(&mut self, state: State) {
        self.0.insert(state.resource, state);
    }

    /// Removes the state of `resource`.
    pub fn remove(&mut self, resource: ResourceType) -> Option<State> {
        self.0.remove(&resource)
    }

    /// Keeps only the states of `resources`.
    pub fn only(mut self, resources: impl IntoIterator<Item = ResourceType>) -> Self {
        let keep: HashSet<ResourceType> = resources.into_iter().collect();
        self.0.retain(|resource, _| keep.contains(resource));
        self
    }

    /// The types held, in [`ResourceType::ALL`] order.
    pub fn resources(&self) -> impl Iterator<Item = ResourceType> + '_ {
        self.0.keys().copied()
    }

    /// The states held.
    pub fn iter(&self) -> impl Iterator<Item = &State> {
        self.0.values()
    }

    /// How many states are held.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no state is held.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<State> for States {
    fn from(state: State) -> Self {
        std::iter::once(state).collect()
    }
}

impl From<&State> for States {
    fn from(state: &State) -> Self {
        Self::from(state.clone())
    }
}

impl From<&States> for States {
    fn from(states: &States) -> Self {
        states.clone()
    }
}

/// Every state of a session ([`Mailbox::session`]).
impl From<&wire::MailboxSession> for States {
    fn from(session: &wire::MailboxSession) -> Self {
        let s = &session.states;
        [
            (ResourceType::Messages, &s.messages),
            (ResourceType::Folders, &s.folders),
            (ResourceType::Threads, &s.threads),
            (ResourceType::Submissions, &s.submissions),
            (ResourceType::Identities, &s.identities),
            (ResourceType::Quotas, &s.quotas),
        ]
        .into_iter()
        .map(|(resource, token)| State::new(resource, token.clone()))
        .collect()
    }
}

impl FromIterator<State> for States {
    fn from_iter<I: IntoIterator<Item = State>>(iter: I) -> Self {
        Self(iter.into_iter().map(|s| (s.resource, s)).collect())
    }
}

impl IntoIterator for States {
    type Item = State;
    type IntoIter = std::collections::btree_map::IntoValues<ResourceType, State>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_values()
    }
}

impl From<BTreeMap<ResourceType, String>> for States {
    fn from(map: BTreeMap<ResourceType, String>) -> Self {
        map.into_iter()
            .map(|(resource, token)| State::new(resource, token))
            .collect()
    }
}

impl From<States> for BTreeMap<ResourceType, String> {
    fn from(states: States) -> Self {
        states.0.into_iter().map(|(r, s)| (r, s.token)).collect()
    }
}

/// One answer of a change feed for one [`ResourceType`]: what changed
/// between `old_state` and `new_state`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Changes {
    /// The type of the ids below.
    pub resource: ResourceType,
    /// The state the changes start from; `None` when no state was given
    /// (the answer then only tells the current state).
    pub old_state: Option<State>,
    /// The state after these changes.
    pub new_state: State,
    /// More changes wait: ask again from `new_state`.
    pub has_more: bool,
    /// Ids created since `old_state`.
    pub created: Vec<String>,
    /// Ids changed since `old_state`.
    pub updated: Vec<String>,
    /// Ids removed since `old_state`.
    pub destroyed: Vec<String>,
    /// When not empty, the only fields that changed on the `updated` ids.
    pub updated_properties: Vec<String>,
    /// The server cannot replay changes from `old_state`: load everything
    /// again.
    pub sync_required: bool,
}

impl Changes {
    fn from_wire(resource: ResourceType, c: wire::MailboxChanges) -> Self {
        Self {
            resource,
            old_state: c.old_state.map(|token| State::new(resource, token)),
            new_state: State::new(resource, c.new_state),
            has_more: c.has_more,
            created: c.created,
            updated: c.updated,
            destroyed: c.destroyed,
            updated_properties: c.updated_properties,
            sync_required: c.sync_required.unwrap_or(false),
        }
    }
}

/// The answer of `GET /mailbox/changes`, in whichever of its two shapes
/// the request asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AnyChanges {
    /// Without `types`: the message changes alone (the older shape).
    Messages(Changes),
    /// With `types`: one entry per type asked for.
    Typed(BTreeMap<ResourceType, Changes>),
}

impl AnyChanges {
    /// The changes of `resource`, in either shape.
    pub fn get(&self, resource: ResourceType) -> Option<&Changes> {
        match self {
            AnyChanges::Messages(changes) => {
                (resource == ResourceType::Messages).then_some(changes)
            }
            AnyChanges::Typed(map) => map.get(&resource),
        }
    }

    fn into_map(self) -> BTreeMap<ResourceType, Changes> {
        match self {
            AnyChanges::Messages(changes) => BTreeMap::from([(ResourceType::Messages, changes)]),
            AnyChanges::Typed(map) => map,
        }
    }
}

/// The two shapes of `data`: the typed map first, as the older shape has
/// no `types` member.
#[derive(Deserialize)]
#[serde(untagged)]
enum WireAny {
    Typed {
        types: BTreeMap<String, wire::MailboxChanges>,
    },
    Messages(wire::MailboxChanges),
}

fn any_changes(raw: Raw) -> Result<Response<AnyChanges>, Error> {
    data::<WireAny>(raw).map(|r| {
        r.map(|any| match any {
            WireAny::Messages(c) => {
                AnyChanges::Messages(Changes::from_wire(ResourceType::Messages, c))
            }
            // A type newer than this crate is left out: it was not asked for.
            WireAny::Typed { types } => AnyChanges::Typed(
                types
                    .into_iter()
                    .filter_map(|(name, c)| {
                        let resource = ResourceType::parse(&name)?;
                        Some((resource, Changes::from_wire(resource, c)))
                    })
                    .collect(),
            ),
        })
    })
}

/// The type a per-type change feed reports on.
fn resource_of(op: &'static Operation) -> ResourceType {
    if std::ptr::eq(op, ops::MAILBOX_GET_QUOTA_CHANGES) {
        ResourceType::Quotas
    } else if std::ptr::eq(op, ops::MAILBOX_GET_SUBMISSION_CHANGES) {
        ResourceType::Submissions
    } else if std::ptr::eq(op, ops::MAILBOX_QUERY_MESSAGE_CHANGES) {
        ResourceType::Messages
    } else {
        ResourceType::Folders
    }
}

fn decode_changes(resource: ResourceType, raw: Raw) -> Result<Response<Changes>, Error> {
    data::<wire::MailboxChanges>(raw).map(|r| r.map(|c| Changes::from_wire(resource, c)))
}

/// `GET /mailbox/changes`: one answer, in the shape asked for.
pub type GetChanges = Request<Response<AnyChanges>>;
/// A per-type change feed (`/mailbox/folders/changes`,
/// `/mailbox/quotas/changes`, `/mailbox/submissions/changes`): one answer.
pub type GetResourceChanges = Request<Response<Changes>>;

impl Mailbox {
    /// One call of `GET /mailbox/changes`. As it is, the older shape: the
    /// current message state ([`AnyChanges::Messages`]). With
    /// [`types`](GetChanges::types) or [`since`](GetChanges::since), the
    /// typed map; with [`legacy_since`](GetChanges::legacy_since), message
    /// changes in the older shape. [`changes_since`](Self::changes_since)
    /// follows `has_more` for you.
    ///
    /// ```no_run
    /// # async fn f(mailbox: sendmux_client::mailbox::Mailbox) -> Result<(), sendmux_client::Error> {
    /// use sendmux_client::mailbox::ResourceType;
    ///
    /// let current = mailbox.changes().types([ResourceType::Messages, ResourceType::Folders]).await?;
    /// # Ok(()) }
    /// ```
    pub fn changes(&self) -> GetChanges {
        self.call(ops::MAILBOX_GET_CHANGES, &[], any_changes)
    }

    /// Everything that changed since `since` (one state or several, such
    /// as [`States`] from the session), through the typed
    /// `GET /mailbox/changes`, following `has_more` until caught up.
    ///
    /// The answer is [`SyncOutcome::Changes`] with, per type, the ids
    /// created, updated and destroyed over the whole span (an id created
    /// and destroyed within it is left out) and the new states; or
    /// [`SyncOutcome::ResyncRequired`] when the server no longer reaches
    /// back to a state (`sync_required`): load those types again.
    ///
    /// ```no_run
    /// # async fn f(mailbox: sendmux_client::mailbox::Mailbox, stored: sendmux_client::mailbox::States) -> Result<(), sendmux_client::Error> {
    /// use sendmux_client::mailbox::{ResourceType, SyncOutcome};
    ///
    /// match mailbox.changes_since(stored).await? {
    ///     SyncOutcome::Changes(changes) => {
    ///         if let Some(messages) = changes.get(ResourceType::Messages) {
    ///             println!("{} new messages", messages.created.len());
    ///         }
    ///         let next = changes.states();
    /// #       let _ = next;
    ///     }
    ///     SyncOutcome::ResyncRequired { resources } => println!("reload {resources:?}"),
    ///     _ => {}
    /// }
    /// # Ok(()) }
    /// ```
    pub fn changes_since(&self, since: impl Into<States>) -> ChangesSince {
        ChangesSince::new(self.clone(), since.into(), None)
    }

    /// A per-type change feed, as the resources' `changes` methods hand
    /// out.
    pub(crate) fn resource_changes(&self, op: &'static Operation) -> GetResourceChanges {
        // A decoder is a plain fn: one per type.
        let decode: Decoder<Response<Changes>> = match resource_of(op) {
            ResourceType::Quotas => |raw| decode_changes(ResourceType::Quotas, raw),
            ResourceType::Submissions => |raw| decode_changes(ResourceType::Submissions, raw),
            _ => |raw| decode_changes(ResourceType::Folders, raw),
        };
        self.call(op, &[], decode)
    }

    /// A per-type change feed followed until caught up.
    pub(crate) fn resource_changes_since(
        &self,
        op: &'static Operation,
        since: &State,
    ) -> ChangesSince {
        ChangesSince::new(self.clone(), States::from(since), Some(op))
    }
}

fn limit_check(limit: u32) -> Result<(), InvalidInput> {
    crate::validate::in_range("limit", limit, 1, MAX_CHANGES_LIMIT)
}

fn wrong_type(field: &'static str, got: ResourceType, want: ResourceType) -> InvalidInput {
    InvalidInput::new(
        field,
        format!("is a state of {got}, not of {want}"),
        format!("pass the {want} state this feed handed out"),
    )
}

impl GetChanges {
    /// Asks for the typed map, with the current state of each of
    /// `resources` (no changes).
    pub fn types(self, resources: impl IntoIterator<Item = ResourceType>) -> Self {
        let names: Vec<&str> = resources.into_iter().map(ResourceType::as_str).collect();
        let checked = if names.is_empty() {
            Err(InvalidInput::new(
                "types",
                "is empty",
                "name at least one resource type",
            ))
        } else {
            Ok(())
        };
        self.check(checked).query("types", names.join(","))
    }

    /// Asks for the typed map: the changes of each type in `since` from
    /// its state.
    pub fn since(self, since: impl Into<States>) -> Self {
        let since = since.into();
        let mut request = self.types(since.resources());
        for state in since.iter() {
            request = request.query(state.resource.since_param(), state.token.clone());
        }
        request
    }

    /// The older shape: message changes since `state` (`since_state`),
    /// without `types`.
    pub fn legacy_since(self, state: &State) -> Self {
        let checked = match state.resource {
            ResourceType::Messages => Ok(()),
            other => Err(wrong_type("since_state", other, ResourceType::Messages)),
        };
        self.check(checked)
            .query("since_state", state.token.clone())
    }

    /// Most change records per type in this answer, 1..=500 (the server
    /// defaults to 50).
    pub fn limit(self, limit: u32) -> Self {
        let checked = limit_check(limit);
        self.check(checked).param("limit", limit)
    }
}

impl GetResourceChanges {
    /// Changes since `state` (without one, the answer only tells the
    /// current state). Must be a state of this feed's type.
    pub fn since(self, state: &State) -> Self {
        let want = resource_of(self.operation());
        let checked = if state.resource == want {
            Ok(())
        } else {
            Err(wrong_type("since_state", state.resource, want))
        };
        self.check(checked)
            .query("since_state", state.token.clone())
    }

    /// Most change records in this answer, 1..=500 (the server defaults
    /// to 50).
    pub fn limit(self, limit: u32) -> Self {
        let checked = limit_check(limit);
        self.check(checked).param("limit", limit)
    }
}

/// What a sync helper found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
#[non_exhaustive]
pub enum SyncOutcome<T> {
    /// Caught up: what changed, and the states to store.
    Changes(T),
    /// The server can no longer replay changes from the state of these
    /// types (`sync_required`): load them again from scratch, starting
    /// with fresh states.
    ResyncRequired {
        /// The types to load again.
        resources: Vec<ResourceType>,
    },
}

impl<T> SyncOutcome<T> {
    /// The changes, unless a resync is required.
    pub fn changes(self) -> Option<T> {
        match self {
            SyncOutcome::Changes(changes) => Some(changes),
            SyncOutcome::ResyncRequired { .. } => None,
        }
    }

    /// Whether the local copy must be loaded again.
    pub fn is_resync_required(&self) -> bool {
        matches!(self, SyncOutcome::ResyncRequired { .. })
    }
}

/// What changed in one [`ResourceType`] over a whole sync, every page of
/// the feed merged: each id in at most one of `created`, `updated` and
/// `destroyed`, in the order first seen.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChangeSet {
    /// The type of the ids.
    pub resource: ResourceType,
    /// The state the sync started from.
    pub old_state: State,
    /// The state after every change below; store it.
    pub new_state: State,
    /// Ids created since `old_state` and still there.
    pub created: Vec<String>,
    /// Ids that existed at `old_state` and changed since.
    pub updated: Vec<String>,
    /// Ids that existed at `old_state` and are gone.
    pub destroyed: Vec<String>,
    /// When every page named them, the only fields that changed on the
    /// `updated` ids; `None` when any field may have.
    pub updated_properties: Option<Vec<String>>,
}

impl ChangeSet {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.created.is_empty() && self.updated.is_empty() && self.destroyed.is_empty()
    }
}

/// What became of an id over the pages merged so far.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fate {
    Created,
    Updated,
    Destroyed,
    /// Created and destroyed within the span: the caller never saw it.
    Gone,
}

/// Pages of one type's feed, merged in order.
struct Merge {
    old_state: State,
    new_state: State,
    order: Vec<String>,
    fate: HashMap<String, Fate>,
    properties: Option<Vec<String>>,
    /// Some page with updates named no properties.
    all_properties: bool,
}

impl Merge {
    fn new(old_state: State) -> Self {
        Self {
            new_state: old_state.clone(),
            old_state,
            order: Vec::new(),
            fate: HashMap::new(),
            properties: None,
            all_properties: false,
        }
    }

    fn mark(&mut self, id: String, next: impl Fn(Option<Fate>) -> Fate) {
        match self.fate.get_mut(&id) {
            Some(fate) => *fate = next(Some(*fate)),
            None => {
                self.fate.insert(id.clone(), next(None));
                self.order.push(id);
            }
        }
    }

    fn apply(&mut self, page: Changes) {
        for id in page.created {
            // Destroyed then created again: it exists, changed.
            self.mark(id, |was| match was {
                Some(Fate::Destroyed | Fate::Updated) => Fate::Updated,
                _ => Fate::Created,
            });
        }
        if !page.updated.is_empty() {
            if page.updated_properties.is_empty() {
                self.all_properties = true;
            } else {
                let properties = self.properties.get_or_insert_with(Vec::new);
                for p in page.updated_properties {
                    if !properties.contains(&p) {
                        properties.push(p);
                    }
                }
            }
        }
        for id in page.updated {
            self.mark(id, |was| match was {
                Some(Fate::Created) => Fate::Created,
                _ => Fate::Updated,
            });
        }
        for id in page.destroyed {
            self.mark(id, |was| match was {
                Some(Fate::Created | Fate::Gone) => Fate::Gone,
                _ => Fate::Destroyed,
            });
        }
        self.new_state = page.new_state;
    }

    fn finish(self, resource: ResourceType) -> ChangeSet {
        let mut set = ChangeSet {
            resource,
            old_state: self.old_state,
            new_state: self.new_state,
            created: Vec::new(),
            updated: Vec::new(),
            destroyed: Vec::new(),
            updated_properties: if self.all_properties {
                None
            } else {
                self.properties
            },
        };
        for id in self.order {
            match self.fate.get(&id) {
                Some(Fate::Created) => set.created.push(id),
                Some(Fate::Updated) => set.updated.push(id),
                Some(Fate::Destroyed) => set.destroyed.push(id),
                Some(Fate::Gone) | None => {}
            }
        }
        if set.updated.is_empty() {
            set.updated_properties = None;
        }
        set
    }
}

/// The result of a caught-up sync: one [`ChangeSet`] per type synced.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SyncChanges {
    /// Per type, what changed.
    pub changes: BTreeMap<ResourceType, ChangeSet>,
    /// Requests the sync made.
    pub requests: u32,
}

impl SyncChanges {
    /// What changed in `resource`, when it was synced.
    pub fn get(&self, resource: ResourceType) -> Option<&ChangeSet> {
        self.changes.get(&resource)
    }

    /// The new state of every type synced: store these for the next sync.
    pub fn states(&self) -> States {
        self.changes.values().map(|c| c.new_state.clone()).collect()
    }

    /// Whether nothing changed in any type.
    pub fn is_empty(&self) -> bool {
        self.changes.values().all(ChangeSet::is_empty)
    }
}

/// [`Mailbox::changes_since`] and the per-type `changes_since`: set the
/// page size if you like, then await the [`SyncOutcome`].
#[derive(Debug, Clone)]
#[must_use = "sync helpers do nothing until awaited"]
pub struct ChangesSince {
    mailbox: Mailbox,
    since: States,
    /// A per-type feed, or the typed `GET /mailbox/changes`.
    endpoint: Option<&'static Operation>,
    page_size: Option<u32>,
}

impl ChangesSince {
    fn new(mailbox: Mailbox, since: States, endpoint: Option<&'static Operation>) -> Self {
        Self {
            mailbox,
            since,
            endpoint,
            page_size: None,
        }
    }

    /// Change records per request and type, 1..=500 (the server defaults
    /// to 50).
    pub fn page_size(mut self, records: u32) -> Self {
        self.page_size = Some(records);
        self
    }

    fn check(&self) -> Result<(), Error> {
        if self.since.is_empty() {
            return Err(InvalidInput::new(
                "since",
                "holds no state",
                "pass the states stored after the last sync, or the session's",
            )
            .into());
        }
        if let Some(op) = self.endpoint {
            let want = resource_of(op);
            if let Some(other) = self.since.resources().find(|r| *r != want) {
                return Err(wrong_type("since", other, want).into());
            }
        }
        if let Some(size) = self.page_size {
            limit_check(size)?;
        }
        Ok(())
    }

    /// One request for the types in `pending`.
    async fn fetch(
        &self,
        pending: &States,
    ) -> Result<(BTreeMap<ResourceType, Changes>, Option<String>), Error> {
        let answer = match self.endpoint {
            None => {
                let mut request = self.mailbox.changes().since(pending);
                if let Some(size) = self.page_size {
                    request = request.limit(size);
                }
                request.send().await?.map(AnyChanges::into_map)
            }
            Some(op) => {
                let mut request = self.mailbox.resource_changes(op);
                if let Some(state) = pending.iter().next() {
                    request = request.since(state);
                }
                if let Some(size) = self.page_size {
                    request = request.limit(size);
                }
                request
                    .send()
                    .await?
                    .map(|c| BTreeMap::from([(c.resource, c)]))
            }
        };
        let request_id = answer.request_id().map(str::to_owned);
        Ok((answer.into_inner(), request_id))
    }

    /// Follows every type's feed until none has more.
    #[allow(clippy::manual_async_fn)] // a plain fn keeps `self` once in the state
    pub fn send(
        self,
    ) -> impl Future<Output = Result<SyncOutcome<SyncChanges>, Error>> + Send + 'static {
        async move {
            self.check()?;
            self.mailbox
                .client
                .credential(crate::key::Surface::Mailbox)?;
            let mut merged: BTreeMap<ResourceType, Merge> = self
                .since
                .iter()
                .map(|s| (s.resource, Merge::new(s.clone())))
                .collect();
            let mut seen: HashSet<(ResourceType, String)> = self
                .since
                .iter()
                .map(|s| (s.resource, s.token.clone()))
                .collect();
            let mut pending = self.since.clone();
            let mut requests = 0u32;
            while !pending.is_empty() {
                let (answer, request_id) = self.fetch(&pending).await?;
                requests += 1;
                let mut next = States::new();
                let mut resync = Vec::new();
                for resource in pending.resources() {
                    let Some(page) = answer.get(&resource) else {
                        continue;
                    };
                    if page.sync_required {
                        resync.push(resource);
                    }
                }
                if !resync.is_empty() {
                    return Ok(SyncOutcome::ResyncRequired { resources: resync });
                }
                for (resource, page) in answer {
                    let Some(merge) = merged.get_mut(&resource) else {
                        continue;
                    };
                    if pending.get(resource).is_none() {
                        continue;
                    }
                    if page.has_more {
                        // A state handed back twice would loop forever.
                        if !seen.insert((resource, page.new_state.token.clone())) {
                            return Err(Error::PaginationLoop {
                                cursor: page.new_state.token.clone(),
                                pages: requests,
                                request_id,
                            });
                        }
                        next.insert(page.new_state.clone());
                    }
                    merge.apply(page);
                }
                pending = next;
            }
            Ok(SyncOutcome::Changes(SyncChanges {
                changes: merged
                    .into_iter()
                    .map(|(resource, merge)| (resource, merge.finish(resource)))
                    .collect(),
                requests,
            }))
        }
    }
}

impl IntoFuture for ChangesSince {
    type Output = Result<SyncOutcome<SyncChanges>, Error>;
    type IntoFuture = BoxFuture<'static, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

/// One id added to a list, at its position in the list now.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AddedItem {
    /// The id.
    pub id: String,
    /// Its position, from 0.
    pub index: u64,
}

/// One answer of a list's `query-changes`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueryChanges {
    /// The query state the changes start from; `None` when none was given.
    pub old_query_state: Option<QueryState>,
    /// The query state after these changes.
    pub new_query_state: QueryState,
    /// More changes wait: ask again from `new_query_state`.
    pub has_more: bool,
    /// Ids to take out of the list copy (some come back in `added`).
    pub removed: Vec<String>,
    /// Ids to put in, at their index, after the removals.
    pub added: Vec<AddedItem>,
    /// The list's length, when the server counted it.
    pub total: Option<u64>,
}

/// `wire` query changes of either list in one shape.
struct WireQueryChanges {
    old: Option<String>,
    new: String,
    has_more: bool,
    removed: Vec<String>,
    added: Vec<(String, i64)>,
    total: Option<i64>,
}

impl QueryChanges {
    fn from_wire(list: ResourceType, w: WireQueryChanges) -> Self {
        let state = |token| QueryState { list, token };
        Self {
            old_query_state: w.old.map(state),
            new_query_state: state(w.new),
            has_more: w.has_more,
            removed: w.removed,
            added: w
                .added
                .into_iter()
                .map(|(id, index)| AddedItem {
                    id,
                    index: u64::try_from(index).unwrap_or(0),
                })
                .collect(),
            total: w.total.and_then(|t| u64::try_from(t).ok()),
        }
    }
}

pub(crate) fn message_query_changes(raw: Raw) -> Result<Response<QueryChanges>, Error> {
    data::<wire::MailboxMessageQueryChanges>(raw).map(|r| {
        r.map(|w| {
            let w = WireQueryChanges {
                old: w.old_query_state,
                new: w.new_query_state,
                has_more: w.has_more,
                removed: w.removed,
                added: w.added.into_iter().map(|a| (a.id, a.index)).collect(),
                total: w.total,
            };
            QueryChanges::from_wire(ResourceType::Messages, w)
        })
    })
}

pub(crate) fn folder_query_changes(raw: Raw) -> Result<Response<QueryChanges>, Error> {
    data::<wire::MailboxFolderQueryChanges>(raw).map(|r| {
        r.map(|w| {
            let w = WireQueryChanges {
                old: w.old_query_state,
                new: w.new_query_state,
                has_more: w.has_more,
                removed: w.removed,
                added: w.added.into_iter().map(|a| (a.id, a.index)).collect(),
                total: w.total,
            };
            QueryChanges::from_wire(ResourceType::Folders, w)
        })
    })
}

/// The list a `query-changes` request reports on.
fn list_of(op: &'static Operation) -> ResourceType {
    if std::ptr::eq(op, ops::MAILBOX_QUERY_FOLDER_CHANGES) {
        ResourceType::Folders
    } else {
        ResourceType::Messages
    }
}

impl Request<Response<QueryChanges>> {
    /// Changes since `state` (without one, the answer only tells the
    /// current query state). Must be a state of this list, taken with the
    /// same filter and sort.
    pub fn since(self, state: &QueryState) -> Self {
        let want = list_of(self.operation());
        let checked = if state.list == want {
            Ok(())
        } else {
            Err(InvalidInput::new(
                "since_query_state",
                format!("is a query state of the {} list", state.list),
                format!("pass a query state of the {want} list"),
            ))
        };
        self.check(checked)
            .query("since_query_state", state.token.clone())
    }

    /// Most changes in this answer, 1..=500 (the server defaults to 50).
    pub fn limit(self, limit: u32) -> Self {
        let checked = limit_check(limit);
        self.check(checked).param("limit", limit)
    }

    /// Stop at this id: later positions are left out (message list only).
    pub fn up_to_id(self, id: impl Into<String>) -> Self {
        self.id_param("up_to_id", id.into())
    }

    /// Ask the server to count the list (`total`; message list only).
    pub fn calculate_total(self, calculate: bool) -> Self {
        self.declared("calculate_total", calculate)
    }

    /// Follows `has_more` from the [`since`](Self::since) state until
    /// caught up, keeping this request's filter and sort.
    ///
    /// The published answer has no `sync_required`: a server that cannot
    /// replay from the state refuses it with `400 invalid_parameter` on
    /// `since_query_state`, which comes back as
    /// [`SyncOutcome::ResyncRequired`] (load the list again).
    pub fn follow(self) -> QueryChangesSince {
        QueryChangesSince { request: self }
    }
}

/// Every page of a list's `query-changes` merged: apply `removed`, then
/// insert `added` in index order, to bring a list copy up to date.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueryChangeSet {
    /// The query state the sync started from.
    pub old_query_state: Option<QueryState>,
    /// The query state to store.
    pub new_query_state: QueryState,
    /// Ids to take out of the copy.
    pub removed: Vec<String>,
    /// Ids to put in at their final index, in index order.
    pub added: Vec<AddedItem>,
    /// The list's length, when the server counted it.
    pub total: Option<u64>,
    /// Requests made.
    pub requests: u32,
}

/// [`follow`](Request::follow) of a `query-changes` request: await it.
#[derive(Debug, Clone)]
#[must_use = "sync helpers do nothing until awaited"]
pub struct QueryChangesSince {
    request: Request<Response<QueryChanges>>,
}

/// Whether `error` is the server refusing a query state it can no longer
/// replay.
fn is_stale_query_state(error: &Error) -> bool {
    match error {
        Error::Api(api) => api.status == 400 && api.param.as_deref() == Some("since_query_state"),
        _ => false,
    }
}

impl QueryChangesSince {
    /// Follows the pages until none has more.
    #[allow(clippy::manual_async_fn)] // a plain fn keeps `self` once in the state
    pub fn send(
        self,
    ) -> impl Future<Output = Result<SyncOutcome<QueryChangeSet>, Error>> + Send + 'static {
        async move {
            let list = list_of(self.request.operation());
            let mut request = self.request;
            let Some((mut page, mut request_id)) = fetch_query_page(&request).await? else {
                return Ok(SyncOutcome::ResyncRequired {
                    resources: vec![list],
                });
            };
            let mut merged = QueryChangeSet {
                old_query_state: page.old_query_state.clone(),
                new_query_state: page.new_query_state.clone(),
                removed: Vec::new(),
                added: Vec::new(),
                total: None,
                requests: 0,
            };
            let mut seen = HashSet::new();
            loop {
                merged.requests += 1;
                for id in page.removed {
                    if !merged.removed.contains(&id) {
                        merged.removed.push(id);
                    }
                }
                // Later pages know the later positions.
                for item in page.added {
                    merged.added.retain(|a| a.id != item.id);
                    merged.added.push(item);
                }
                merged.total = page.total.or(merged.total);
                merged.new_query_state = page.new_query_state.clone();
                if !page.has_more {
                    break;
                }
                if !seen.insert(page.new_query_state.token.clone()) {
                    return Err(Error::PaginationLoop {
                        cursor: page.new_query_state.token,
                        pages: merged.requests,
                        request_id,
                    });
                }
                request = request.since(&page.new_query_state);
                match fetch_query_page(&request).await? {
                    Some((next, id)) => (page, request_id) = (next, id),
                    None => {
                        return Ok(SyncOutcome::ResyncRequired {
                            resources: vec![list],
                        });
                    }
                }
            }
            merged.added.sort_by_key(|a| a.index);
            Ok(SyncOutcome::Changes(merged))
        }
    }
}

/// One page and its request id; `None` when the server refused the query
/// state as too old.
async fn fetch_query_page(
    request: &Request<Response<QueryChanges>>,
) -> Result<Option<(QueryChanges, Option<String>)>, Error> {
    match request.clone().send().await {
        Ok(page) => {
            let request_id = page.request_id().map(str::to_owned);
            Ok(Some((page.into_inner(), request_id)))
        }
        Err(error) if is_stale_query_state(&error) => Ok(None),
        Err(error) => Err(error),
    }
}

impl IntoFuture for QueryChangesSince {
    type Output = Result<SyncOutcome<QueryChangeSet>, Error>;
    type IntoFuture = BoxFuture<'static, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(created: &[&str], updated: &[&str], destroyed: &[&str], new: &str) -> Changes {
        let v = |ids: &[&str]| ids.iter().map(|s| (*s).to_owned()).collect();
        Changes {
            resource: ResourceType::Messages,
            old_state: None,
            new_state: State::new(ResourceType::Messages, new),
            has_more: false,
            created: v(created),
            updated: v(updated),
            destroyed: v(destroyed),
            updated_properties: Vec::new(),
            sync_required: false,
        }
    }

    #[test]
    fn pages_merge_into_one_fate_per_id() {
        let mut merge = Merge::new(State::new(ResourceType::Messages, "s0"));
        merge.apply(page(&["a", "b"], &["x"], &[], "s1"));
        merge.apply(page(&["c"], &["a", "y"], &["b", "x"], "s2"));
        let set = merge.finish(ResourceType::Messages);
        assert_eq!(set.created, ["a", "c"]);
        assert_eq!(set.updated, ["y"]);
        assert_eq!(set.destroyed, ["x"]);
        assert_eq!(set.new_state.as_str(), "s2");
        assert_eq!(set.old_state.as_str(), "s0");
        assert_eq!(set.updated_properties, None);
    }

    #[test]
    fn states_round_trip_as_a_map() {
        let states: States = [
            State::new(ResourceType::Messages, "m1"),
            State::new(ResourceType::Quotas, "q1"),
        ]
        .into_iter()
        .collect();
        let json = serde_json::to_value(&states).unwrap_or_default();
        assert_eq!(json, serde_json::json!({"messages": "m1", "quotas": "q1"}));
        let back: Result<States, _> = serde_json::from_value(json);
        assert_eq!(back.ok(), Some(states));
    }
}
