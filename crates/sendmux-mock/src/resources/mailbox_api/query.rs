//! Lists of the Mailbox API: the message filters shared by list, count,
//! snippets and query changes; sort keys; and keyset cursors, which name
//! the last item's sort key, so items added or removed between pages are
//! neither repeated nor skipped.

use super::model::Message;
use super::{Ctx, flag, number};
use crate::api::ApiError;
use crate::collection::{DEFAULT_LIMIT, MAX_LIMIT};
use crate::ids;

/// Where an item sits in a list: compared as (`num`, `text`, `seq`), the
/// last making every key unique.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Key {
    pub(crate) num: i64,
    pub(crate) text: String,
    pub(crate) seq: u64,
}

impl Key {
    pub(crate) fn num(num: i64, seq: u64) -> Self {
        Self {
            num,
            text: String::new(),
            seq,
        }
    }

    pub(crate) fn text(text: String, seq: u64) -> Self {
        Self { num: 0, text, seq }
    }
}

/// One list request's page window: size, order and where the last page
/// ended.
pub(crate) struct Pager {
    limit: usize,
    desc: bool,
    /// What the list is (kind and order), so a cursor of another list or
    /// order is refused.
    tag: String,
    after: Option<Key>,
    seed: u64,
}

impl Pager {
    /// `limit` (1..=100, default 50) and `cursor` from the query.
    pub(crate) fn new(ctx: &Ctx<'_>, tag: String, desc: bool) -> Result<Self, ApiError> {
        let limit = match ctx.query("limit") {
            None => DEFAULT_LIMIT,
            Some(raw) => raw
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| {
                    ApiError::invalid_parameter("limit must be an integer from 1 to 100")
                        .with_param("limit")
                })?,
        };
        let seed = ctx.seed();
        let after = match ctx.query("cursor").filter(|c| !c.is_empty()) {
            None => None,
            Some(cursor) => Some(decode_cursor(seed, &tag, &cursor).ok_or_else(|| {
                ApiError::invalid_parameter(
                    "cursor is not one this list issued (same filters and order)",
                )
                .with_param("cursor")
            })?),
        };
        Ok(Self {
            limit,
            desc,
            tag,
            after,
            seed,
        })
    }

    /// The page of `items` after the cursor, with the next cursor.
    pub(crate) fn page<T>(&self, mut items: Vec<(Key, T)>) -> (Vec<T>, bool, Option<String>) {
        items.sort_by(|a, b| a.0.cmp(&b.0));
        if self.desc {
            items.reverse();
        }
        let beyond = |key: &Key| match &self.after {
            None => true,
            Some(after) if self.desc => key < after,
            Some(after) => key > after,
        };
        let mut rest = items.into_iter().filter(|(k, _)| beyond(k));
        let mut page = Vec::new();
        let mut last = None;
        for (key, item) in rest.by_ref() {
            page.push(item);
            last = Some(key);
            if page.len() == self.limit {
                break;
            }
        }
        let has_more = rest.next().is_some();
        let next = has_more
            .then(|| last.map(|k| encode_cursor(self.seed, &self.tag, &k)))
            .flatten();
        (page, has_more, next)
    }
}

fn encode_cursor(seed: u64, tag: &str, key: &Key) -> String {
    let payload = format!("{tag}\u{1f}{}\u{1f}{}\u{1f}{}", key.num, key.seq, key.text);
    let check = ids::hash_bytes(seed ^ 0x6b65_7973, payload.as_bytes()) & 0xffff_ffff;
    format!("k{check:08x}{}", hex(payload.as_bytes()))
}

fn decode_cursor(seed: u64, tag: &str, cursor: &str) -> Option<Key> {
    let rest = cursor.strip_prefix('k')?;
    let check = u64::from_str_radix(rest.get(..8)?, 16).ok()?;
    let payload = String::from_utf8(unhex(rest.get(8..)?)?).ok()?;
    if ids::hash_bytes(seed ^ 0x6b65_7973, payload.as_bytes()) & 0xffff_ffff != check {
        return None;
    }
    let mut parts = payload.splitn(4, '\u{1f}');
    if parts.next()? != tag {
        return None;
    }
    let num = parts.next()?.parse().ok()?;
    let seq = parts.next()?.parse().ok()?;
    let text = parts.next()?.to_owned();
    Some(Key { num, text, seq })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// `sort_direction` (default `desc`, newest first).
pub(crate) fn descending(ctx: &Ctx<'_>, name: &str, default_desc: bool) -> bool {
    match ctx.query(name).as_deref() {
        Some("asc") => false,
        Some("desc") => true,
        _ => default_desc,
    }
}

/// The published `MessageSortBy` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SortBy {
    ReceivedAt,
    SentAt,
    Subject,
    From,
    To,
    Size,
}

impl SortBy {
    pub(crate) fn from_ctx(ctx: &Ctx<'_>) -> Self {
        match ctx.query("sort_by").as_deref() {
            Some("sent_at") => Self::SentAt,
            Some("subject") => Self::Subject,
            Some("from") => Self::From,
            Some("to") => Self::To,
            Some("size_bytes") => Self::Size,
            _ => Self::ReceivedAt,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::ReceivedAt => "received_at",
            Self::SentAt => "sent_at",
            Self::Subject => "subject",
            Self::From => "from",
            Self::To => "to",
            Self::Size => "size_bytes",
        }
    }

    /// The message's key in a list sorted this way.
    pub(crate) fn key(self, m: &Message) -> Key {
        let ms = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        let first = |list: &[super::model::Address]| {
            list.first()
                .map(|a| a.email.to_lowercase())
                .unwrap_or_default()
        };
        match self {
            Self::ReceivedAt => Key::num(ms(m.received_at_ms), m.seq),
            Self::SentAt => Key::num(ms(m.sent_at_ms.unwrap_or(m.received_at_ms)), m.seq),
            Self::Size => Key::num(ms(m.size_bytes), m.seq),
            Self::Subject => Key::text(m.subject.as_deref().unwrap_or("").to_lowercase(), m.seq),
            Self::From => Key::text(
                m.from
                    .as_ref()
                    .map(|a| a.email.to_lowercase())
                    .unwrap_or_default(),
                m.seq,
            ),
            Self::To => Key::text(first(&m.to), m.seq),
        }
    }
}

/// The message filters of the published list, count, snippet and
/// query-change operations. Text filters match case-insensitively as
/// substrings.
#[derive(Debug, Default)]
pub(crate) struct MessageFilter {
    folder_id: Option<String>,
    thread_id: Option<String>,
    q: Option<String>,
    from: Option<String>,
    to: Option<String>,
    cc: Option<String>,
    bcc: Option<String>,
    subject: Option<String>,
    body: Option<String>,
    header: Option<(String, Option<String>)>,
    min_size: Option<u64>,
    max_size: Option<u64>,
    keyword: Option<String>,
    not_keyword: Option<String>,
    after: Option<u64>,
    before: Option<u64>,
    has_attachment: Option<bool>,
    is_unread: Option<bool>,
}

impl MessageFilter {
    /// The filters in the query. `q` is taken only when `with_q` (the
    /// snippet operation uses it for the search itself, applied the same
    /// way).
    pub(crate) fn from_ctx(ctx: &Ctx<'_>) -> Result<Self, ApiError> {
        let lower = |name: &str| ctx.query(name).map(|v| v.to_lowercase());
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
        let header = match (ctx.query("header_name"), lower("header_value")) {
            (Some(name), value) => Some((name, value)),
            (None, Some(_)) => {
                return Err(
                    ApiError::invalid_parameter("header_value needs header_name")
                        .with_param("header_value"),
                );
            }
            (None, None) => None,
        };
        Ok(Self {
            folder_id: ctx.query("folder_id"),
            thread_id: ctx.query("thread_id"),
            q: lower("q"),
            from: lower("from"),
            to: lower("to"),
            cc: lower("cc"),
            bcc: lower("bcc"),
            subject: lower("subject"),
            body: lower("body"),
            header,
            min_size: number(ctx, "min_size_bytes"),
            max_size: number(ctx, "max_size_bytes"),
            keyword: lower("keyword"),
            not_keyword: lower("not_keyword"),
            after: time("after")?,
            before: time("before")?,
            has_attachment: flag(ctx, "has_attachment"),
            is_unread: flag(ctx, "is_unread"),
        })
    }

    /// A text that identifies the filters, for cursors and query states.
    pub(crate) fn fingerprint(&self) -> String {
        format!("{:x}", ids::hash_bytes(0, format!("{self:?}").as_bytes()))
    }

    pub(crate) fn matches(&self, m: &Message) -> bool {
        let any = |list: &[super::model::Address], needle: &Option<String>| {
            needle
                .as_deref()
                .is_none_or(|n| list.iter().any(|a| a.matches(n)))
        };
        let contains = |hay: Option<&str>, needle: &Option<String>| {
            needle
                .as_deref()
                .is_none_or(|n| hay.is_some_and(|h| h.to_lowercase().contains(n)))
        };
        // The body as text costs a copy (and HTML stripping): only for
        // the filters that read it.
        let body = if self.body.is_some() || self.q.is_some() {
            m.plain_text()
        } else {
            None
        };
        self.folder_id.as_deref().is_none_or(|f| m.folder_id == f)
            && self.thread_id.as_deref().is_none_or(|t| m.thread_id == t)
            && self
                .from
                .as_deref()
                .is_none_or(|n| m.from.as_ref().is_some_and(|a| a.matches(n)))
            && any(&m.to, &self.to)
            && any(&m.cc, &self.cc)
            && any(&m.bcc, &self.bcc)
            && contains(m.subject.as_deref(), &self.subject)
            && contains(body.as_deref(), &self.body)
            && self
                .q
                .as_deref()
                .is_none_or(|q| text_match(m, body.as_deref(), q))
            && self.header.as_ref().is_none_or(|(name, value)| {
                m.header(name).is_some_and(|v| {
                    value
                        .as_deref()
                        .is_none_or(|want| v.to_lowercase().contains(want))
                })
            })
            && self.min_size.is_none_or(|min| m.size_bytes >= min)
            && self.max_size.is_none_or(|max| m.size_bytes <= max)
            && self
                .keyword
                .as_deref()
                .is_none_or(|k| m.keywords.contains(k))
            && self
                .not_keyword
                .as_deref()
                .is_none_or(|k| !m.keywords.contains(k))
            && self.after.is_none_or(|t| m.received_at_ms > t)
            && self.before.is_none_or(|t| m.received_at_ms < t)
            && self
                .has_attachment
                .is_none_or(|want| want != m.attachments.is_empty())
            && self.is_unread.is_none_or(|want| want != m.seen())
    }
}

/// Full-text match of `q` (lowercase) on subject, body and addresses.
pub(crate) fn text_match(m: &Message, body: Option<&str>, q: &str) -> bool {
    m.subject
        .as_deref()
        .is_some_and(|s| s.to_lowercase().contains(q))
        || body.is_some_and(|b| b.to_lowercase().contains(q))
        || m.participants().chain(&m.bcc).any(|a| a.matches(q))
}

/// An ISO 8601 date (`2026-01-31`, midnight UTC) or RFC 3339 date-time
/// (`2026-01-31T10:00:00Z`, `+02:00`, fractions allowed) as Unix
/// milliseconds.
pub(crate) fn parse_time(raw: &str) -> Option<u64> {
    let raw = raw.trim();
    let digits = |s: &str| -> Option<i64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let date = raw.get(..10)?;
    let (y, m, d) = (
        digits(date.get(..4)?)?,
        digits(date.get(5..7)?)?,
        digits(date.get(8..10)?)?,
    );
    if date.as_bytes().get(4) != Some(&b'-') || date.as_bytes().get(7) != Some(&b'-') {
        return None;
    }
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let days = days_from_civil(y, m, d);
    let mut ms = days.checked_mul(86_400_000)?;
    let rest = &raw[10..];
    if !rest.is_empty() {
        let rest = rest.strip_prefix(['T', 't', ' '])?;
        let (h, mi) = (digits(rest.get(..2)?)?, digits(rest.get(3..5)?)?);
        if rest.as_bytes().get(2) != Some(&b':') || h > 23 || mi > 59 {
            return None;
        }
        let mut tail = &rest[5..];
        let mut s = 0;
        if let Some(t) = tail.strip_prefix(':') {
            s = digits(t.get(..2)?)?;
            if s > 60 {
                return None;
            }
            tail = &t[2..];
        }
        let mut frac_ms = 0;
        if let Some(t) = tail.strip_prefix('.') {
            let n = t.bytes().take_while(u8::is_ascii_digit).count();
            if n == 0 {
                return None;
            }
            let frac = &t[..n];
            frac_ms = digits(&format!("{:0<3}", &frac[..n.min(3)]))?;
            tail = &t[n..];
        }
        let offset_min = match tail {
            "" | "Z" | "z" => 0,
            _ => {
                let sign = match tail.as_bytes().first()? {
                    b'+' => 1,
                    b'-' => -1,
                    _ => return None,
                };
                let oh = digits(tail.get(1..3)?)?;
                let om = digits(tail.get(4..6)?)?;
                if tail.len() != 6 || tail.as_bytes().get(3) != Some(&b':') {
                    return None;
                }
                sign * (oh * 60 + om)
            }
        };
        ms += ((h * 60 + mi - offset_min) * 60 + s) * 1000 + frac_ms;
    }
    u64::try_from(ms).ok()
}

/// Days since 1970-01-01 of a Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::rfc3339;

    #[test]
    fn times_parse_in_every_published_form() {
        let t = |s: &str| parse_time(s).map(rfc3339);
        assert_eq!(t("2026-01-31").as_deref(), Some("2026-01-31T00:00:00Z"));
        assert_eq!(
            t("2026-01-31T10:20:30Z").as_deref(),
            Some("2026-01-31T10:20:30Z")
        );
        assert_eq!(
            t("2026-01-31T12:20:30+02:00").as_deref(),
            Some("2026-01-31T10:20:30Z")
        );
        assert_eq!(
            t("2024-02-29T00:00:00.250Z").as_deref(),
            Some("2024-02-29T00:00:00Z")
        );
        assert_eq!(
            parse_time("2024-02-29T00:00:00.250Z"),
            Some(1_709_164_800_250)
        );
        for bad in [
            "",
            "2026-13-01",
            "2026/01/01",
            "2026-01-01T25:00Z",
            "2026-01-01Tx",
            "yesterday",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn cursors_round_trip_and_are_tied_to_their_list() {
        let key = Key::text("héllo\u{1f}x".to_owned(), 7);
        let c = encode_cursor(3, "messages:subject", &key);
        assert_eq!(decode_cursor(3, "messages:subject", &c), Some(key));
        assert_eq!(decode_cursor(3, "messages:received_at", &c), None);
        assert_eq!(decode_cursor(4, "messages:subject", &c), None);
        assert_eq!(decode_cursor(3, "messages:subject", "k0000"), None);
    }
}
