//! Per-mailbox state of the Mailbox API: folders, messages, threads,
//! submissions, uploaded blobs, the identity, one state counter and change
//! log per resource type, and the live event buffer.
//!
//! Everything of one mailbox lives in one [`MailboxData`], made on first
//! use (the built-in folders, the identity and the quota ids come with
//! it). Ids derive from the seed and the mailbox id, so what one mailbox
//! does never shifts another's ids.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque, btree_map};
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::broadcast;

use super::model::{Blob, Folder, Identity, Message, PendingUpload, Submission, Thread};
use crate::api::ApiError;
use crate::ids;

/// Built-in folders: name, role and sort order. They cannot be renamed,
/// moved or deleted.
pub(crate) const BUILT_IN_FOLDERS: [(&str, &str, i64); 6] = [
    ("Inbox", "inbox", 1),
    ("Drafts", "drafts", 2),
    ("Sent", "sent", 3),
    ("Junk", "junk", 4),
    ("Trash", "trash", 5),
    ("Archive", "archive", 6),
];

/// Sizes fixed when the server starts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Capacities {
    /// Change records kept per resource type and mailbox.
    pub(crate) change_log: usize,
    /// Live events kept per mailbox for `Last-Event-ID` replay.
    pub(crate) event_buffer: usize,
}

/// Every mailbox's Mailbox API state (part of `Resources`, so a reset
/// forgets it and ends the live streams).
pub(crate) struct Store {
    seed: u64,
    mailboxes: HashMap<String, MailboxData>,
}

impl Store {
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            seed,
            mailboxes: HashMap::new(),
        }
    }

    /// The state of `mailbox_id`, made with its built-in folders on first
    /// use.
    pub(crate) fn data(&mut self, mailbox_id: &str, caps: Capacities) -> &mut MailboxData {
        let seed = self.seed;
        self.mailboxes
            .entry(mailbox_id.to_owned())
            .or_insert_with(|| MailboxData::new(seed, mailbox_id, caps))
    }

    /// The state of `mailbox_id` for a change, if it was ever used.
    /// Bytes of mail stored in `mailbox_id` (0 before its first message).
    pub(crate) fn used_bytes(&self, mailbox_id: &str) -> u64 {
        self.mailboxes
            .get(mailbox_id)
            .map_or(0, |data| data.usage().0)
    }

    pub(crate) fn existing_mut(&mut self, mailbox_id: &str) -> Option<&mut MailboxData> {
        self.mailboxes.get_mut(mailbox_id)
    }

    /// The signed upload `upload_id` and its mailbox, if still pending.
    pub(crate) fn find_upload(&self, upload_id: &str) -> Option<(String, PendingUpload)> {
        self.mailboxes.iter().find_map(|(mailbox_id, data)| {
            data.uploads
                .get(upload_id)
                .map(|u| (mailbox_id.clone(), u.clone()))
        })
    }

    /// Message `message_id` of whichever mailbox holds it (ids carry the
    /// mailbox's seed, so they do not repeat across mailboxes).
    pub(crate) fn find_message(&self, message_id: &str) -> Option<(&MailboxData, &Message)> {
        self.mailboxes
            .values()
            .find_map(|data| data.message(message_id).map(|m| (data, m)))
    }
}

/// The resource types that have a state and a change log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    Messages,
    Folders,
    Threads,
    Submissions,
    Identities,
    Quotas,
}

impl Kind {
    /// In the order the published `types` list names them.
    pub(crate) const ALL: [Self; 6] = [
        Self::Messages,
        Self::Folders,
        Self::Threads,
        Self::Submissions,
        Self::Identities,
        Self::Quotas,
    ];

    /// The name in `types` and in state maps.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Messages => "messages",
            Self::Folders => "folders",
            Self::Threads => "threads",
            Self::Submissions => "submissions",
            Self::Identities => "identities",
            Self::Quotas => "quotas",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == s)
    }

    fn index(self) -> usize {
        self as usize
    }

    /// Prefix of this type's state tokens, so a token of one type is
    /// refused by another's endpoint.
    fn tag(self) -> &'static str {
        match self {
            Self::Messages => "ms",
            Self::Folders => "fs",
            Self::Threads => "ts",
            Self::Submissions => "ss",
            Self::Identities => "is",
            Self::Quotas => "qs",
        }
    }
}

/// What happened to one id at one state step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Created,
    Updated,
    Destroyed,
}

#[derive(Debug)]
struct Change {
    state: u64,
    id: String,
    op: Op,
}

/// A type's state counter and its bounded log: each change to one id is
/// one state step, so changes since any state still in the log can be
/// told exactly and paged at any limit.
#[derive(Debug)]
pub(crate) struct ChangeLog {
    state: u64,
    /// Changes after this state are all in `entries`; an older state
    /// cannot be answered any more.
    floor: u64,
    entries: VecDeque<Change>,
    capacity: usize,
}

/// Changes since a state, folded per id.
#[derive(Debug, Default)]
pub(crate) struct Delta {
    pub(crate) created: Vec<String>,
    pub(crate) updated: Vec<String>,
    pub(crate) destroyed: Vec<String>,
    /// Every id touched, in order of its first change (query changes).
    pub(crate) touched: Vec<String>,
    /// The state the delta reaches (the current one unless `has_more`).
    pub(crate) new_state: u64,
    pub(crate) has_more: bool,
}

/// Why changes since a state cannot be listed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Gap {
    /// The log no longer reaches back that far: resynchronise.
    TooOld,
    /// A state this server never reached.
    Unknown,
}

impl ChangeLog {
    fn new(capacity: usize) -> Self {
        Self {
            state: 0,
            floor: 0,
            entries: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// The current state number.
    pub(crate) fn state(&self) -> u64 {
        self.state
    }

    /// Records one change as a new state step, dropping the oldest record
    /// beyond the capacity.
    pub(crate) fn record(&mut self, id: &str, op: Op) {
        self.state += 1;
        self.entries.push_back(Change {
            state: self.state,
            id: id.to_owned(),
            op,
        });
        while self.entries.len() > self.capacity {
            if let Some(old) = self.entries.pop_front() {
                self.floor = old.state;
            }
        }
    }

    /// Changes after state `since`, at most `limit` ids. An id created and
    /// destroyed within the window is left out; created then updated is
    /// `created`; updated then destroyed is `destroyed`.
    pub(crate) fn since(&self, since: u64, limit: usize) -> Result<Delta, Gap> {
        if since > self.state {
            return Err(Gap::Unknown);
        }
        if since < self.floor {
            return Err(Gap::TooOld);
        }
        let mut order: Vec<String> = Vec::new();
        let mut folded: HashMap<&str, (Op, Op)> = HashMap::new();
        let mut reached = since;
        let mut has_more = false;
        for change in self.entries.iter().filter(|c| c.state > since) {
            match folded.get_mut(change.id.as_str()) {
                Some(ops) => ops.1 = change.op,
                None if order.len() == limit => {
                    has_more = true;
                    break;
                }
                None => {
                    folded.insert(&change.id, (change.op, change.op));
                    order.push(change.id.clone());
                }
            }
            reached = change.state;
        }
        let mut delta = Delta {
            new_state: if has_more { reached } else { self.state },
            has_more,
            ..Delta::default()
        };
        for id in &order {
            match folded.get(id.as_str()) {
                Some((Op::Created, Op::Destroyed)) | None => {}
                Some((Op::Created, _)) => delta.created.push(id.clone()),
                Some((_, Op::Destroyed)) => delta.destroyed.push(id.clone()),
                Some(_) => delta.updated.push(id.clone()),
            }
        }
        delta.touched = order;
        Ok(delta)
    }
}

/// One event of a mailbox's live stream, already rendered.
#[derive(Debug)]
pub(crate) struct StreamEvent {
    pub(crate) id: u64,
    pub(crate) event_type: &'static str,
    /// The `MailboxRealtimeEvent` JSON.
    pub(crate) data: Bytes,
}

/// A mailbox's live events: the recent ones for replay and a channel to
/// the open streams.
pub(crate) struct EventHub {
    last_id: u64,
    buffer: VecDeque<Arc<StreamEvent>>,
    capacity: usize,
    tx: broadcast::Sender<Arc<StreamEvent>>,
}

/// What a new stream starts from: the events to replay, or a gap.
pub(crate) enum Resume {
    Replay(Vec<Arc<StreamEvent>>),
    /// Events after the given id are no longer buffered (or the id was
    /// never issued): the client must resynchronise. Carries the newest id.
    Gap(u64),
}

impl EventHub {
    fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        let (tx, _) = broadcast::channel(capacity);
        Self {
            last_id: 0,
            buffer: VecDeque::new(),
            capacity,
            tx,
        }
    }

    /// Numbers, buffers and broadcasts one event.
    pub(crate) fn publish(&mut self, event_type: &'static str, data: Bytes) -> u64 {
        self.last_id += 1;
        let event = Arc::new(StreamEvent {
            id: self.last_id,
            event_type,
            data,
        });
        self.buffer.push_back(Arc::clone(&event));
        while self.buffer.len() > self.capacity {
            self.buffer.pop_front();
        }
        // No open stream is not an error.
        let _ = self.tx.send(event);
        self.last_id
    }

    /// A receiver for events published from now on, and what to replay
    /// before them for a client that saw up to `after` (nothing when
    /// `None`). Called under the store lock, so no event falls between
    /// the replay and the receiver.
    pub(crate) fn subscribe(
        &self,
        after: Option<u64>,
    ) -> (Resume, broadcast::Receiver<Arc<StreamEvent>>) {
        let rx = self.tx.subscribe();
        let Some(after) = after else {
            return (Resume::Replay(Vec::new()), rx);
        };
        let oldest = self.buffer.front().map_or(self.last_id + 1, |e| e.id);
        if after > self.last_id || after.saturating_add(1) < oldest {
            return (Resume::Gap(self.last_id), rx);
        }
        let replay = self
            .buffer
            .iter()
            .filter(|e| e.id > after)
            .cloned()
            .collect();
        (Resume::Replay(replay), rx)
    }
}

/// One mailbox's Mailbox API state.
pub(crate) struct MailboxData {
    /// Seed of this mailbox's ids and tokens.
    pub(crate) seed: u64,
    /// Ids issued so far (all prefixes share the counter).
    issued: u64,
    /// Position of the next stored item, for stable ordering.
    next_seq: u64,
    pub(crate) folders: BTreeMap<u64, Folder>,
    pub(crate) messages: BTreeMap<u64, Message>,
    /// Message id to its position.
    pub(crate) message_index: HashMap<String, u64>,
    /// Threads by position; changed only through [`add_thread`] and
    /// [`remove_thread`], which keep the two indexes below in step.
    ///
    /// [`add_thread`]: Self::add_thread
    /// [`remove_thread`]: Self::remove_thread
    threads: BTreeMap<u64, Thread>,
    /// Thread id to its position.
    thread_index: HashMap<String, u64>,
    /// Subject key to the positions of the threads grouped under it, so a
    /// new message finds its thread without reading every thread.
    subject_threads: HashMap<String, BTreeSet<u64>>,
    /// RFC 5322 Message-ID to thread id, for grouping replies.
    pub(crate) rfc_threads: HashMap<String, String>,
    pub(crate) submissions: BTreeMap<u64, Submission>,
    pub(crate) blobs: HashMap<String, Blob>,
    pub(crate) uploads: HashMap<String, PendingUpload>,
    pub(crate) identity: Identity,
    /// Ids of the storage and message-count quotas.
    pub(crate) quota_ids: [String; 2],
    logs: [ChangeLog; 6],
    pub(crate) events: EventHub,
}

impl MailboxData {
    fn new(server_seed: u64, mailbox_id: &str, caps: Capacities) -> Self {
        let seed = ids::hash_bytes(server_seed ^ 0x6d62_6170_6973, mailbox_id.as_bytes());
        let mut data = Self {
            seed,
            issued: 0,
            next_seq: 0,
            folders: BTreeMap::new(),
            messages: BTreeMap::new(),
            message_index: HashMap::new(),
            threads: BTreeMap::new(),
            thread_index: HashMap::new(),
            subject_threads: HashMap::new(),
            rfc_threads: HashMap::new(),
            submissions: BTreeMap::new(),
            blobs: HashMap::new(),
            uploads: HashMap::new(),
            identity: Identity::default(),
            quota_ids: [String::new(), String::new()],
            logs: std::array::from_fn(|_| ChangeLog::new(caps.change_log)),
            events: EventHub::new(caps.event_buffer),
        };
        for (name, role, order) in BUILT_IN_FOLDERS {
            let id = data.new_id("fld_");
            let seq = data.next_seq();
            data.folders.insert(
                seq,
                Folder {
                    id,
                    name: name.to_owned(),
                    parent_id: None,
                    role: Some(role),
                    sort_order: order,
                },
            );
        }
        data.identity.id = data.new_id("idn_");
        data.quota_ids = [data.new_id("quo_"), data.new_id("quo_")];
        data
    }

    /// A new id with `prefix`, from this mailbox's seed and counter.
    pub(crate) fn new_id(&mut self, prefix: &str) -> String {
        self.issued += 1;
        ids::public_id(prefix, self.seed, self.issued)
    }

    /// The next storage position.
    pub(crate) fn next_seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    pub(crate) fn log(&self, kind: Kind) -> &ChangeLog {
        &self.logs[kind.index()]
    }

    /// Records a change of `kind` to `id`.
    pub(crate) fn record(&mut self, kind: Kind, id: &str, op: Op) {
        self.logs[kind.index()].record(id, op);
    }

    /// The current state token of `kind`.
    pub(crate) fn state(&self, kind: Kind) -> String {
        self.token(kind.tag(), self.log(kind).state())
    }

    /// The state token of `kind` at state number `n`.
    pub(crate) fn state_at(&self, kind: Kind, n: u64) -> String {
        self.token(kind.tag(), n)
    }

    /// The state number in a token of `kind`, or `400 invalid_parameter`
    /// naming `param`.
    pub(crate) fn parse_state(
        &self,
        kind: Kind,
        token: &str,
        param: &str,
    ) -> Result<u64, ApiError> {
        self.parse_token(kind.tag(), token).ok_or_else(|| {
            ApiError::invalid_parameter(format!(
                "{param} is not a {} state token of this mailbox",
                kind.name()
            ))
            .with_param(param)
        })
    }

    /// A query-state token for the list of `kind` (messages or folders),
    /// at that type's current state.
    pub(crate) fn query_state(&self, kind: Kind) -> String {
        self.query_state_at(kind, self.log(kind).state())
    }

    pub(crate) fn query_state_at(&self, kind: Kind, n: u64) -> String {
        self.token(&format!("{}q", kind.tag()), n)
    }

    pub(crate) fn parse_query_state(&self, kind: Kind, token: &str) -> Result<u64, ApiError> {
        self.parse_token(&format!("{}q", kind.tag()), token)
            .ok_or_else(|| {
                ApiError::invalid_parameter(format!(
                    "since_query_state is not a {} query state of this mailbox",
                    kind.name()
                ))
                .with_param("since_query_state")
            })
    }

    /// `{tag}{n in hex}.{check}`: the check ties a token to its mailbox and
    /// type, so a token from elsewhere is refused instead of misread.
    fn token(&self, tag: &str, n: u64) -> String {
        format!("{tag}{n:x}.{:04x}", self.check(tag, n))
    }

    fn parse_token(&self, tag: &str, token: &str) -> Option<u64> {
        let rest = token.strip_prefix(tag)?;
        let (hex, check) = rest.split_once('.')?;
        if hex.is_empty() || hex.len() > 16 || check.len() != 4 {
            return None;
        }
        let n = u64::from_str_radix(hex, 16).ok()?;
        let check = u64::from_str_radix(check, 16).ok()?;
        (check == self.check(tag, n) && token == self.token(tag, n)).then_some(n)
    }

    fn check(&self, tag: &str, n: u64) -> u64 {
        ids::hash_bytes(self.seed ^ n, tag.as_bytes()) & 0xffff
    }

    /// The folder with `role`.
    pub(crate) fn role_folder(&self, role: &str) -> Option<&Folder> {
        self.folders.values().find(|f| f.role == Some(role))
    }

    /// The id of the built-in folder with `role` (always present).
    pub(crate) fn role_folder_id(&self, role: &str) -> String {
        self.role_folder(role)
            .map(|f| f.id.clone())
            .unwrap_or_default()
    }

    pub(crate) fn folder(&self, id: &str) -> Option<&Folder> {
        self.folders.values().find(|f| f.id == id)
    }

    pub(crate) fn folder_mut(&mut self, id: &str) -> Option<&mut Folder> {
        self.folders.values_mut().find(|f| f.id == id)
    }

    pub(crate) fn message(&self, id: &str) -> Option<&Message> {
        self.message_index
            .get(id)
            .and_then(|seq| self.messages.get(seq))
    }

    pub(crate) fn message_mut(&mut self, id: &str) -> Option<&mut Message> {
        let seq = *self.message_index.get(id)?;
        self.messages.get_mut(&seq)
    }

    pub(crate) fn thread(&self, id: &str) -> Option<&Thread> {
        self.thread_index
            .get(id)
            .and_then(|seq| self.threads.get(seq))
    }

    pub(crate) fn thread_mut(&mut self, id: &str) -> Option<&mut Thread> {
        let seq = *self.thread_index.get(id)?;
        self.threads.get_mut(&seq)
    }

    /// Every thread, oldest first.
    pub(crate) fn threads(&self) -> btree_map::Values<'_, u64, Thread> {
        self.threads.values()
    }

    /// Stores `thread` at the next storage position.
    pub(crate) fn add_thread(&mut self, thread: Thread) {
        let seq = self.next_seq();
        self.thread_index.insert(thread.id.clone(), seq);
        self.subject_threads
            .entry(thread.subject_key.clone())
            .or_default()
            .insert(seq);
        self.threads.insert(seq, thread);
    }

    /// Removes thread `id`, if stored, and returns it.
    pub(crate) fn remove_thread(&mut self, id: &str) -> Option<Thread> {
        let seq = self.thread_index.remove(id)?;
        let thread = self.threads.remove(&seq)?;
        if let Some(seqs) = self.subject_threads.get_mut(&thread.subject_key) {
            seqs.remove(&seq);
            if seqs.is_empty() {
                self.subject_threads.remove(&thread.subject_key);
            }
        }
        Some(thread)
    }

    /// The newest thread grouped under subject key `key`.
    pub(crate) fn newest_thread_with_subject(&self, key: &str) -> Option<&Thread> {
        let seq = self.subject_threads.get(key)?.last()?;
        self.threads.get(seq)
    }

    pub(crate) fn submission(&self, id: &str) -> Option<&Submission> {
        self.submissions.values().find(|s| s.id == id)
    }

    /// The messages of thread `id`, oldest first.
    pub(crate) fn thread_messages(&self, id: &str) -> Vec<&Message> {
        self.thread(id)
            .map(|t| {
                t.messages
                    .iter()
                    .filter_map(|seq| self.messages.get(seq))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Total and unread messages per folder id.
    pub(crate) fn folder_counts(&self) -> HashMap<&str, (u64, u64)> {
        let mut counts: HashMap<&str, (u64, u64)> = HashMap::new();
        for m in self.messages.values() {
            let entry = counts.entry(m.folder_id.as_str()).or_default();
            entry.0 += 1;
            if !m.seen() {
                entry.1 += 1;
            }
        }
        counts
    }

    /// Bytes and number of stored messages.
    pub(crate) fn usage(&self) -> (u64, u64) {
        let bytes = self.messages.values().map(|m| m.size_bytes).sum();
        (bytes, self.messages.len() as u64)
    }

    /// Records that stored usage changed (both quotas move).
    pub(crate) fn record_usage_change(&mut self) {
        let [storage, count] = self.quota_ids.clone();
        self.record(Kind::Quotas, &storage, Op::Updated);
        self.record(Kind::Quotas, &count, Op::Updated);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delta(log: &ChangeLog, since: u64, limit: usize) -> Delta {
        log.since(since, limit)
            .unwrap_or_else(|gap| panic!("{gap:?}"))
    }

    #[test]
    fn changes_fold_per_id() {
        let mut log = ChangeLog::new(100);
        log.record("a", Op::Created);
        log.record("b", Op::Created);
        let mid = log.state();
        log.record("a", Op::Updated);
        log.record("c", Op::Created);
        log.record("c", Op::Destroyed);
        log.record("b", Op::Destroyed);
        log.record("d", Op::Created);
        log.record("d", Op::Updated);
        let d = delta(&log, mid, 50);
        assert_eq!(d.created, ["d"]);
        assert_eq!(d.updated, ["a"]);
        assert_eq!(d.destroyed, ["b"]);
        assert_eq!(d.new_state, log.state());
        assert!(!d.has_more);
        let all = delta(&log, 0, 50);
        assert_eq!(all.created, ["a", "d"]);
        assert!(all.destroyed.is_empty(), "b was created within the window");
    }

    #[test]
    fn pages_stop_at_the_limit_and_resume() {
        let mut log = ChangeLog::new(100);
        for id in ["a", "b", "c", "d", "e"] {
            log.record(id, Op::Created);
        }
        let first = delta(&log, 0, 2);
        assert_eq!(first.created, ["a", "b"]);
        assert!(first.has_more);
        let second = delta(&log, first.new_state, 2);
        assert_eq!(second.created, ["c", "d"]);
        let third = delta(&log, second.new_state, 2);
        assert_eq!(third.created, ["e"]);
        assert!(!third.has_more);
        assert_eq!(third.new_state, log.state());
    }

    #[test]
    fn a_trimmed_log_asks_for_a_resync() {
        let mut log = ChangeLog::new(3);
        for id in ["a", "b", "c", "d", "e"] {
            log.record(id, Op::Created);
        }
        assert_eq!(log.since(0, 10).err(), Some(Gap::TooOld));
        assert_eq!(log.since(1, 10).err(), Some(Gap::TooOld));
        assert_eq!(delta(&log, 2, 10).created, ["c", "d", "e"]);
        assert_eq!(log.since(6, 10).err(), Some(Gap::Unknown));
    }

    #[test]
    fn tokens_are_tied_to_type_and_mailbox() {
        let caps = Capacities {
            change_log: 10,
            event_buffer: 10,
        };
        let mut store = Store::new(1);
        let a = store.data("mbx_a", caps);
        let token = a.state(Kind::Messages);
        assert_eq!(a.parse_state(Kind::Messages, &token, "s").ok(), Some(0));
        assert!(a.parse_state(Kind::Folders, &token, "s").is_err());
        assert!(a.parse_state(Kind::Messages, "ms0.0000x", "s").is_err());
        let b = store.data("mbx_b", caps);
        assert!(b.parse_state(Kind::Messages, &token, "s").is_err());
        assert_eq!(b.folders.len(), BUILT_IN_FOLDERS.len());
    }

    #[test]
    fn event_resume_replays_or_reports_a_gap() {
        let mut hub = EventHub::new(3);
        for _ in 0..5 {
            hub.publish("message.received", Bytes::from_static(b"{}"));
        }
        let ids = |r: Resume| match r {
            Resume::Replay(events) => events.iter().map(|e| e.id).collect::<Vec<_>>(),
            Resume::Gap(last) => vec![1000 + last],
        };
        assert_eq!(ids(hub.subscribe(Some(3)).0), [4, 5]);
        assert_eq!(ids(hub.subscribe(Some(2)).0), [3, 4, 5]);
        assert_eq!(ids(hub.subscribe(Some(1)).0), [1005], "event 2 is gone");
        assert_eq!(ids(hub.subscribe(Some(9)).0), [1005], "never issued");
        assert_eq!(ids(hub.subscribe(Some(5)).0), Vec::<u64>::new());
        assert_eq!(ids(hub.subscribe(None).0), Vec::<u64>::new());
    }
}
