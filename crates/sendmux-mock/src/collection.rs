//! A per-team collection of one resource: what every resource of the mock
//! needs (ids, newest-first cursor pages, weak ETags, conditional
//! requests), written once.
//!
//! Items live in insertion order under a server-wide sequence number; each
//! belongs to one team (one per API key) and is invisible to the others.
//! Ids come from the seeded generator with the resource's prefix, so a
//! seed gives the same ids on every run.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use bytes::Bytes;
use serde::Serialize;

use crate::api::{ApiError, to_json};
use crate::ids;

/// Largest page a list returns.
pub(crate) const MAX_LIMIT: usize = 100;
/// Page size when `limit` is omitted.
pub(crate) const DEFAULT_LIMIT: usize = 50;

/// One resource's items, keyed by team.
pub(crate) struct Collection<T> {
    /// Public id prefix (`mdom_`).
    prefix: &'static str,
    /// What `404` messages call an item (`domain not found`).
    noun: &'static str,
    seed: u64,
    /// Sequence number of the newest item; ids derive from it.
    last_seq: u64,
    /// Every item by sequence number: insertion order.
    entries: BTreeMap<u64, Entry<T>>,
    by_id: HashMap<String, u64>,
    /// Each team's sequence numbers; iterated in reverse for newest first.
    teams: HashMap<String, BTreeSet<u64>>,
}

struct Entry<T> {
    id: String,
    team: String,
    item: T,
    /// Bumped when the serialized item changes; feeds the ETag.
    version: u64,
    /// The item's JSON and ETag at `version`, so reads of an unchanged
    /// item do not serialize it again.
    rendered: Option<Rendered>,
    /// Handed out mutably since `rendered` was made: compare before
    /// trusting it.
    dirty: bool,
}

/// An item's JSON (`data` of its envelope) and weak ETag.
#[derive(Debug, Clone)]
pub(crate) struct Rendered {
    pub(crate) json: Bytes,
    pub(crate) etag: String,
}

impl Rendered {
    /// A value outside any collection (a sub-resource such as a domain's
    /// filters) whose owner counts its own versions.
    pub(crate) fn versioned<V: Serialize>(
        seed: u64,
        noun: &str,
        id: &str,
        version: u64,
        value: &V,
    ) -> Self {
        Self {
            json: to_json(value),
            etag: weak_etag(seed, noun, id, version),
        }
    }
}

/// One page of a list, newest first.
#[derive(Debug)]
pub(crate) struct Page {
    /// Each item's JSON.
    pub(crate) items: Vec<Bytes>,
    pub(crate) has_more: bool,
    /// Set exactly when `has_more` is.
    pub(crate) next_cursor: Option<String>,
}

impl<T: Serialize> Collection<T> {
    /// An empty collection whose ids start with `prefix`.
    pub(crate) fn new(prefix: &'static str, noun: &'static str, seed: u64) -> Self {
        Self {
            prefix,
            noun,
            seed,
            last_seq: 0,
            entries: BTreeMap::new(),
            by_id: HashMap::new(),
            teams: HashMap::new(),
        }
    }

    /// Adds an item for `team`; `make` receives the new id. Returns the id.
    pub(crate) fn insert(&mut self, team: &str, make: impl FnOnce(&str) -> T) -> String {
        self.last_seq += 1;
        let seq = self.last_seq;
        let id = ids::public_id(self.prefix, self.seed, seq);
        let entry = Entry {
            item: make(&id),
            id: id.clone(),
            team: team.to_owned(),
            version: 1,
            rendered: None,
            dirty: false,
        };
        self.entries.insert(seq, entry);
        self.by_id.insert(id.clone(), seq);
        self.teams.entry(team.to_owned()).or_default().insert(seq);
        id
    }

    /// Adds an item for `team` under an id the caller derived (seeded data
    /// whose ids must not depend on what other teams did first). Returns
    /// `false`, adding nothing, when the id is taken.
    pub(crate) fn insert_with_id(&mut self, team: &str, id: String, item: T) -> bool {
        if self.by_id.contains_key(&id) {
            return false;
        }
        self.last_seq += 1;
        let seq = self.last_seq;
        self.by_id.insert(id.clone(), seq);
        self.teams.entry(team.to_owned()).or_default().insert(seq);
        self.entries.insert(
            seq,
            Entry {
                item,
                id,
                team: team.to_owned(),
                version: 1,
                rendered: None,
                dirty: false,
            },
        );
        true
    }

    fn seq_of(&self, team: &str, id: &str) -> Result<u64, ApiError> {
        self.by_id
            .get(id)
            .copied()
            .filter(|seq| self.entries.get(seq).is_some_and(|e| e.team == team))
            .ok_or_else(|| ApiError::not_found(self.noun))
    }

    /// The team's item `id`, or `404 not_found`.
    pub(crate) fn get(&self, team: &str, id: &str) -> Result<&T, ApiError> {
        let seq = self.seq_of(team, id)?;
        self.entries
            .get(&seq)
            .map(|e| &e.item)
            .ok_or_else(|| ApiError::not_found(self.noun))
    }

    /// The team's item `id` for a change, or `404 not_found`. Its ETag
    /// moves on only if the change shows in its JSON.
    pub(crate) fn get_mut(&mut self, team: &str, id: &str) -> Result<&mut T, ApiError> {
        let seq = self.seq_of(team, id)?;
        let noun = self.noun;
        let entry = self
            .entries
            .get_mut(&seq)
            .ok_or_else(|| ApiError::not_found(noun))?;
        entry.dirty = true;
        Ok(&mut entry.item)
    }

    /// The team's item `id` as JSON with its ETag, or `404 not_found`.
    pub(crate) fn rendered(&mut self, team: &str, id: &str) -> Result<Rendered, ApiError> {
        let seq = self.seq_of(team, id)?;
        let seed = self.seed;
        let noun = self.noun;
        self.entries
            .get_mut(&seq)
            .map(|e| e.render(seed, noun))
            .ok_or_else(|| ApiError::not_found(noun))
    }

    /// Removes the team's item `id`, or answers `404 not_found`.
    pub(crate) fn remove(&mut self, team: &str, id: &str) -> Result<T, ApiError> {
        let seq = self.seq_of(team, id)?;
        self.by_id.remove(id);
        if let Some(seqs) = self.teams.get_mut(team) {
            seqs.remove(&seq);
        }
        self.entries
            .remove(&seq)
            .map(|e| e.item)
            .ok_or_else(|| ApiError::not_found(self.noun))
    }

    /// The team's first item (oldest first) for which `pred` holds.
    pub(crate) fn find(&self, team: &str, pred: impl Fn(&T) -> bool) -> Option<&T> {
        self.teams
            .get(team)?
            .iter()
            .filter_map(|seq| self.entries.get(seq))
            .map(|e| &e.item)
            .find(|item| pred(item))
    }

    /// Number of the team's items.
    pub(crate) fn team_len(&self, team: &str) -> usize {
        self.teams.get(team).map_or(0, BTreeSet::len)
    }

    /// Number of items over all teams.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The team's items, newest first.
    pub(crate) fn iter_team(&self, team: &str) -> impl Iterator<Item = &T> {
        self.teams
            .get(team)
            .into_iter()
            .flat_map(|seqs| seqs.iter().rev())
            .filter_map(|seq| self.entries.get(seq))
            .map(|e| &e.item)
    }

    /// Every item with its team, newest first, for the admin API.
    pub(crate) fn iter_newest_first(&self) -> impl Iterator<Item = (&str, &T)> {
        self.entries
            .values()
            .rev()
            .map(|e| (e.team.as_str(), &e.item))
    }

    /// One newest-first page of the team's items for a list request's
    /// query string (`limit` 1..=100, default 50; `cursor` from an earlier
    /// page). A cursor names the last item returned, so deleting items
    /// between pages neither repeats nor skips any.
    pub(crate) fn page(&mut self, team: &str, query: Option<&str>) -> Result<Page, ApiError> {
        self.page_where(team, query, DEFAULT_LIMIT, |_| true)
    }

    /// [`page`](Self::page) over the team's items for which `keep` holds,
    /// `default_limit` items when the query names no `limit`. `has_more`
    /// says whether another kept item follows.
    pub(crate) fn page_where(
        &mut self,
        team: &str,
        query: Option<&str>,
        default_limit: usize,
        keep: impl Fn(&T) -> bool,
    ) -> Result<Page, ApiError> {
        let (limit, cursor) = page_query(self.seed, query, default_limit)?;
        let Self {
            seed,
            noun,
            entries,
            teams,
            ..
        } = self;
        let mut items = Vec::with_capacity(limit);
        let mut last = None;
        let mut has_more = false;
        if let Some(seqs) = teams.get(team) {
            for seq in seqs.range(..cursor.unwrap_or(u64::MAX)).rev() {
                let Some(entry) = entries.get_mut(seq).filter(|e| keep(&e.item)) else {
                    continue;
                };
                if items.len() == limit {
                    has_more = true;
                    break;
                }
                items.push(entry.render(*seed, noun).json);
                last = Some(*seq);
            }
        }
        let next_cursor = has_more
            .then(|| last.map(|seq| encode_cursor(*seed, seq)))
            .flatten();
        Ok(Page {
            items,
            has_more,
            next_cursor,
        })
    }
}

impl<T: Serialize> Entry<T> {
    fn render(&mut self, seed: u64, noun: &str) -> Rendered {
        let fresh = match self.rendered.take() {
            Some(cached) if !self.dirty => cached,
            old => {
                let json = to_json(&self.item);
                // Equal JSON keeps the tag: a no-op change is not a change.
                if old.is_some_and(|old| old.json != json) {
                    self.version += 1;
                }
                Rendered {
                    etag: weak_etag(seed, noun, &self.id, self.version),
                    json,
                }
            }
        };
        self.dirty = false;
        self.rendered = Some(fresh.clone());
        fresh
    }
}

/// `limit` and `cursor` of a list request. Unknown parameters are ignored,
/// an empty `cursor` means the first page.
fn page_query(
    seed: u64,
    query: Option<&str>,
    default_limit: usize,
) -> Result<(usize, Option<u64>), ApiError> {
    let mut limit = default_limit;
    let mut cursor = None;
    for pair in query.unwrap_or("").split('&') {
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
                cursor = Some(decode_cursor(seed, v).ok_or_else(|| {
                    ApiError::invalid_parameter("cursor is not one this server issued")
                        .with_param("cursor")
                })?);
            }
            _ => {}
        }
    }
    Ok((limit, cursor))
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

/// Weak ETag of version `version` of `noun` `id`. Kept to the formula the
/// mock has always used, so tags recorded by other suites stay valid.
fn weak_etag(seed: u64, noun: &str, id: &str, version: u64) -> String {
    let h = ids::hash_bytes(seed ^ version, format!("{noun}/{id}").as_bytes());
    format!("W/\"{h:016x}\"")
}

/// Does an `If-None-Match` / `If-Match` header value name `etag`? Accepts
/// `*`, lists, and weak or strong forms of the same opaque tag (weak
/// comparison, as RFC 9110 prescribes for `If-None-Match`).
pub(crate) fn etag_matches(header: &str, etag: &str) -> bool {
    let bare = |t: &str| -> String { t.trim().trim_start_matches("W/").to_owned() };
    let ours = bare(etag);
    header
        .split(',')
        .any(|t| t.trim() == "*" || bare(t) == ours)
}

/// `If-None-Match`: does the client already hold this version (answer 304)?
pub(crate) fn not_modified(if_none_match: Option<&str>, etag: &str) -> bool {
    if_none_match.is_some_and(|h| etag_matches(h, etag))
}

/// `If-Match`: `409 conflict` when the client's version is not the current
/// one of the `noun` (`domain`, `filters`); no header means no condition.
pub(crate) fn check_if_match(
    if_match: Option<&str>,
    etag: &str,
    noun: &str,
) -> Result<(), ApiError> {
    match if_match {
        Some(h) if !etag_matches(h, etag) => Err(ApiError::conflict(format!(
            "If-Match does not match the current ETag of the {noun}"
        ))
        .with_param("If-Match")),
        _ => Ok(()),
    }
}

#[cfg(test)]
#[allow(clippy::expect_used, reason = "a failed expectation is a failed test")]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Note {
        id: String,
        text: String,
    }

    fn notes() -> Collection<Note> {
        Collection::new("note_", "note", 9)
    }

    fn add(c: &mut Collection<Note>, team: &str, text: &str) -> String {
        c.insert(team, |id| Note {
            id: id.to_owned(),
            text: text.to_owned(),
        })
    }

    fn error_of<T>(r: Result<T, ApiError>) -> (u16, &'static str, Option<String>) {
        match r {
            Ok(_) => panic!("expected an error"),
            Err(e) => (e.status().as_u16(), e.code(), e.param().map(str::to_owned)),
        }
    }

    #[test]
    fn ids_come_from_the_seed_with_the_prefix_and_teams_are_separate() {
        let mut c = notes();
        let a = add(&mut c, "t1", "a");
        let b = add(&mut c, "t2", "b");
        assert_eq!(a, ids::public_id("note_", 9, 1));
        assert_eq!(b, ids::public_id("note_", 9, 2));
        assert_eq!(a, add(&mut notes(), "t1", "a"), "same seed, same ids");
        assert_eq!(c.get("t1", &a).map(|n| n.text.as_str()).ok(), Some("a"));
        assert_eq!(error_of(c.get("t2", &a)), (404, "not_found", None));
        assert_eq!((c.team_len("t1"), c.team_len("t2"), c.len()), (1, 1, 2));
        assert!(c.find("t1", |n| n.text == "a").is_some());
        assert!(c.find("t2", |n| n.text == "a").is_none());
        assert_eq!(error_of(c.remove("t2", &a)).0, 404);
        assert_eq!(
            c.remove("t1", &a).map(|n| n.text).ok().as_deref(),
            Some("a")
        );
        assert_eq!(error_of(c.get("t1", &a)).0, 404);
        assert_eq!(c.len(), 1);
        let order: Vec<&str> = c.iter_newest_first().map(|(t, _)| t).collect();
        assert_eq!(order, ["t2"]);
    }

    /// Items of `page` as their `text`.
    fn texts(page: &Page) -> Vec<String> {
        page.items
            .iter()
            .map(|json| {
                let v: serde_json::Value = serde_json::from_slice(json).unwrap_or_default();
                v["text"].as_str().unwrap_or_default().to_owned()
            })
            .collect()
    }

    #[test]
    fn pages_walk_250_items_newest_first_each_once() {
        let mut c = notes();
        for i in 0..250 {
            add(&mut c, "t", &i.to_string());
            add(&mut c, "other", "x");
        }
        let mut seen = Vec::new();
        let mut sizes = Vec::new();
        let mut query = "limit=100".to_owned();
        loop {
            let page = c.page("t", Some(&query)).expect("page");
            assert_eq!(page.has_more, page.next_cursor.is_some());
            sizes.push(page.items.len());
            seen.extend(texts(&page));
            match page.next_cursor {
                Some(cursor) => query = format!("limit=100&cursor={cursor}"),
                None => break,
            }
        }
        assert_eq!(sizes, [100, 100, 50]);
        let want: Vec<String> = (0..250).rev().map(|i| i.to_string()).collect();
        assert_eq!(seen, want);

        let first = c.page("t", None).expect("default page");
        assert_eq!(first.items.len(), DEFAULT_LIMIT);
        assert!(first.has_more);
        let exact = c
            .page("t", Some("limit=100&cursor="))
            .expect("empty cursor");
        assert_eq!(texts(&exact).first().map(String::as_str), Some("249"));
        assert!(
            c.page("nobody", None)
                .is_ok_and(|p| p.items.is_empty() && !p.has_more)
        );
    }

    #[test]
    fn filtered_pages_cover_each_kept_item_once_with_their_own_default_size() {
        let mut c = notes();
        for i in 0..60 {
            add(&mut c, "t", &i.to_string());
        }
        let even = |n: &Note| n.text.parse::<u32>().is_ok_and(|i| i % 2 == 0);
        let mut seen = Vec::new();
        let mut query = String::new();
        let mut sizes = Vec::new();
        loop {
            let page = c.page_where("t", Some(&query), 25, even).expect("page");
            sizes.push(page.items.len());
            seen.extend(texts(&page));
            match page.next_cursor {
                Some(cursor) => query = format!("cursor={cursor}"),
                None => break,
            }
        }
        // 30 even items: 25 then 5, and no empty last page.
        assert_eq!(sizes, [25, 5]);
        let want: Vec<String> = (0..60)
            .rev()
            .filter(|i| i % 2 == 0)
            .map(|i| i.to_string())
            .collect();
        assert_eq!(seen, want);
        let newest: Vec<&str> = c.iter_team("t").take(2).map(|n| n.text.as_str()).collect();
        assert_eq!(newest, ["59", "58"]);
        assert_eq!(c.iter_team("nobody").count(), 0);
    }

    #[test]
    fn insert_with_id_keeps_the_callers_id_and_refuses_a_taken_one() {
        let mut c = notes();
        let note = |t: &str| Note {
            id: "note_fixed".to_owned(),
            text: t.to_owned(),
        };
        assert!(c.insert_with_id("t", "note_fixed".to_owned(), note("a")));
        assert!(!c.insert_with_id("u", "note_fixed".to_owned(), note("b")));
        assert_eq!(
            c.get("t", "note_fixed").map(|n| n.text.as_str()).ok(),
            Some("a")
        );
        assert_eq!((c.team_len("u"), c.len()), (0, 1));
        // Ordered with the others by insertion.
        add(&mut c, "t", "later");
        let order: Vec<&str> = c.iter_team("t").map(|n| n.text.as_str()).collect();
        assert_eq!(order, ["later", "a"]);
    }

    #[test]
    fn bad_limits_and_cursors_are_invalid_parameters() {
        let mut c = notes();
        add(&mut c, "t", "a");
        for query in ["limit=0", "limit=101", "limit=x", "limit="] {
            let want = (400, "invalid_parameter", Some("limit".to_owned()));
            assert_eq!(error_of(c.page("t", Some(query))), want, "{query}");
        }
        let foreign = encode_cursor(10, 1);
        for cursor in ["zzzz", "c123", "c0000000000000000000g", foreign.as_str()] {
            let query = format!("cursor={cursor}");
            let want = (400, "invalid_parameter", Some("cursor".to_owned()));
            assert_eq!(error_of(c.page("t", Some(&query))), want, "{cursor}");
        }
    }

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

    #[test]
    fn etags_are_weak_stable_for_equal_content_and_change_on_update() {
        let mut c = notes();
        let id = add(&mut c, "t", "a");
        let first = c.rendered("t", &id).expect("rendered");
        assert!(first.etag.starts_with("W/\""), "{}", first.etag);
        assert_eq!(c.rendered("t", &id).expect("again").etag, first.etag);
        // A mutable borrow that changes nothing keeps the tag.
        let _ = c.get_mut("t", &id);
        assert_eq!(c.rendered("t", &id).expect("no-op").etag, first.etag);
        if let Ok(n) = c.get_mut("t", &id) {
            n.text = "b".to_owned();
        }
        let changed = c.rendered("t", &id).expect("changed");
        assert_ne!(changed.etag, first.etag);
        assert_eq!(changed.json, to_json(&c.get("t", &id).expect("note")));
        // Changing back is new content as far as clients know: a new tag.
        if let Ok(n) = c.get_mut("t", &id) {
            n.text = "a".to_owned();
        }
        let back = c.rendered("t", &id).expect("back");
        assert_ne!(back.etag, first.etag);
        assert_ne!(back.etag, changed.etag);
        assert_eq!(error_of(c.rendered("other", &id)).0, 404);
    }

    #[test]
    fn conditional_helpers() {
        let etag = "W/\"abc\"";
        assert!(not_modified(Some("W/\"abc\""), etag));
        assert!(not_modified(Some("\"x\", \"abc\""), etag));
        assert!(not_modified(Some("*"), etag));
        assert!(!not_modified(Some("W/\"abd\""), etag));
        assert!(!not_modified(None, etag));

        assert!(check_if_match(None, etag, "note").is_ok());
        assert!(check_if_match(Some("\"abc\""), etag, "note").is_ok());
        assert!(check_if_match(Some("*"), etag, "note").is_ok());
        let want = (409, "conflict", Some("If-Match".to_owned()));
        assert_eq!(
            error_of(check_if_match(Some("W/\"0\""), etag, "note")),
            want
        );
    }

    #[test]
    fn etag_comparison_is_weak() {
        assert!(etag_matches("W/\"abc\"", "W/\"abc\""));
        assert!(etag_matches("\"abc\"", "W/\"abc\""));
        assert!(etag_matches("\"x\", W/\"abc\"", "W/\"abc\""));
        assert!(etag_matches("*", "W/\"abc\""));
        assert!(!etag_matches("W/\"abd\"", "W/\"abc\""));
    }
}
