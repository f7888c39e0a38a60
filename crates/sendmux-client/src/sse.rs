//! An incremental parser of `text/event-stream` (Server-Sent Events), as
//! the WHATWG HTML standard defines it: the `event`, `data`, `id` and
//! `retry` fields, comments, CR, LF and CRLF line endings, a byte order
//! mark at the start, dispatch on a blank line.
//!
//! It is fed whatever byte chunks the network hands over and gives back
//! one event at a time: [`Parser::next`] consumes input only up to the end
//! of the next event and leaves the rest where it is, so nothing piles up
//! in a queue between the socket and the caller. Its memory is bounded: a
//! line or an event over [`Parser::max_size`] bytes (1 MiB by default) is
//! a [`ParseError`], and the parser skips the rest of that event without
//! storing it.
//!
//! [`Client::mailbox`](crate::Client)'s live events use it; it is public
//! for callers with a transport of their own.
//!
//! ```
//! use sendmux_client::sse::Parser;
//!
//! let mut parser = Parser::new();
//! let mut input: &[u8] = b"retry: 3000\n\nid: 7\nevent: greeting\ndata: hello\ndata: world\n\n";
//! let event = parser.next(&mut input).unwrap().unwrap();
//! assert_eq!(event.event, "greeting");
//! assert_eq!(event.data, "hello\nworld");
//! assert_eq!(event.id.as_deref(), Some("7"));
//! assert_eq!(parser.retry(), Some(std::time::Duration::from_millis(3000)));
//! assert!(parser.next(&mut input).is_none());
//! ```

use std::fmt;
use std::time::Duration;

/// The default largest line, and largest event, in bytes: 1 MiB.
pub const DEFAULT_MAX_SIZE: usize = 1024 * 1024;

/// The UTF-8 byte order mark, dropped once at the start of a stream.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Event {
    /// The `event` field, or `message` when the event named none.
    pub event: String,
    /// The `data` lines joined with `\n`.
    pub data: String,
    /// The stream's last event id when the event was dispatched (set by
    /// this event's `id` field or an earlier one); `None` while it is
    /// empty.
    pub id: Option<String>,
}

/// Why the parser refused part of a stream. The parser itself stays
/// usable: it skips the rest of the offending event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// A line was longer than the limit.
    #[error("an event-stream line is longer than the {limit}-byte limit")]
    LineTooLong {
        /// The limit, in bytes.
        limit: usize,
    },
    /// An event's type and data together were larger than the limit.
    #[error("an event is larger than the {limit}-byte limit")]
    EventTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
}

/// The parser; see the [module documentation](self).
#[derive(Clone)]
pub struct Parser {
    max: usize,
    /// The incomplete line at the end of the input read so far.
    line: Vec<u8>,
    /// The last line ended with CR: a LF right after it ends nothing.
    after_cr: bool,
    /// No line of this stream has ended yet (a BOM is dropped there).
    at_start: bool,
    /// Dropping the rest of a line that was too long.
    discard_line: bool,
    /// Dropping lines up to the blank one that ends a refused event.
    discard_event: bool,
    data: String,
    event_type: String,
    id_buffer: String,
    last_event_id: String,
    retry: Option<Duration>,
}

impl fmt::Debug for Parser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Sizes only: event data is the caller's mail.
        f.debug_struct("Parser")
            .field("max_size", &self.max)
            .field("buffered", &self.buffered())
            .field("last_event_id", &self.last_event_id)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl Default for Parser {
    fn default() -> Self {
        Self::new()
    }
}

impl Parser {
    /// A parser with the default limit, [`DEFAULT_MAX_SIZE`].
    pub fn new() -> Self {
        Self::with_max_size(DEFAULT_MAX_SIZE)
    }

    /// A parser refusing lines, and events, over `max` bytes (at least 1).
    pub fn with_max_size(max: usize) -> Self {
        Self {
            max: max.max(1),
            line: Vec::new(),
            after_cr: false,
            at_start: true,
            discard_line: false,
            discard_event: false,
            data: String::new(),
            event_type: String::new(),
            id_buffer: String::new(),
            last_event_id: String::new(),
            retry: None,
        }
    }

    /// The limit on a line and on an event, in bytes.
    pub fn max_size(&self) -> usize {
        self.max
    }

    /// The last event id the stream set (empty when none): what a
    /// reconnection sends as `Last-Event-ID`.
    pub fn last_event_id(&self) -> &str {
        &self.last_event_id
    }

    /// Starts from `id`, as if the stream had set it (a resumed stream).
    pub fn set_last_event_id(&mut self, id: impl Into<String>) {
        self.last_event_id = id.into();
        self.id_buffer.clone_from(&self.last_event_id);
    }

    /// The reconnection delay the stream asked for with `retry:`, if any.
    pub fn retry(&self) -> Option<Duration> {
        self.retry
    }

    /// Bytes held for the incomplete line and event. Never more than
    /// twice [`max_size`](Self::max_size).
    pub fn buffered(&self) -> usize {
        self.line.len() + self.data.len() + self.event_type.len()
    }

    /// Forgets the incomplete line and event, for a new connection: the
    /// next bytes start a new stream (with its own byte order mark). The
    /// last event id and the reconnection delay are kept.
    pub fn reset(&mut self) {
        self.line.clear();
        self.after_cr = false;
        self.at_start = true;
        self.discard_line = false;
        self.discard_event = false;
        self.data.clear();
        self.event_type.clear();
        self.id_buffer.clone_from(&self.last_event_id);
    }

    /// Reads from the front of `input` up to the end of the next event and
    /// returns it, leaving the bytes after it in `input`. `None` means
    /// `input` is used up without completing one (an incomplete line is
    /// kept for the next call). A [`ParseError`] is returned once, where
    /// the limit was passed; the next call goes on after the refused
    /// event.
    #[allow(clippy::should_implement_trait)] // borrows its input: not an `Iterator`
    pub fn next(&mut self, input: &mut &[u8]) -> Option<Result<Event, ParseError>> {
        loop {
            if self.after_cr {
                match input.first() {
                    None => return None,
                    Some(b'\n') => *input = &input[1..],
                    Some(_) => {}
                }
                self.after_cr = false;
            }
            if input.is_empty() {
                return None;
            }
            let Some(end) = input.iter().position(|&b| b == b'\n' || b == b'\r') else {
                // An incomplete line: keep it, within the limit.
                let rest = std::mem::take(input);
                if self.discard_line {
                    return None;
                }
                if self.line.len() + rest.len() > self.max {
                    return Some(Err(self.line_too_long(true)));
                }
                self.line.extend_from_slice(rest);
                return None;
            };
            let segment = &input[..end];
            self.after_cr = input[end] == b'\r';
            *input = &input[end + 1..];
            if self.discard_line {
                self.discard_line = false;
                continue;
            }
            if self.line.len() + segment.len() > self.max {
                return Some(Err(self.line_too_long(false)));
            }
            let outcome = if self.line.is_empty() {
                self.line_ended(segment)
            } else {
                let mut line = std::mem::take(&mut self.line);
                line.extend_from_slice(segment);
                let outcome = self.line_ended(&line);
                // Keep the allocation for the next long line.
                line.clear();
                self.line = line;
                outcome
            };
            if let Some(outcome) = outcome {
                return Some(outcome);
            }
        }
    }

    /// A line over the limit: drop it (the rest of it too, when it has not
    /// ended yet) and the event it belongs to.
    fn line_too_long(&mut self, unfinished: bool) -> ParseError {
        self.line.clear();
        self.at_start = false;
        self.discard_line = unfinished;
        self.drop_event();
        ParseError::LineTooLong { limit: self.max }
    }

    fn drop_event(&mut self) {
        self.discard_event = true;
        self.data.clear();
        self.event_type.clear();
    }

    fn line_ended(&mut self, mut line: &[u8]) -> Option<Result<Event, ParseError>> {
        if std::mem::take(&mut self.at_start) {
            line = line.strip_prefix(BOM).unwrap_or(line);
        }
        if line.is_empty() {
            return self.dispatch().map(Ok);
        }
        if self.discard_event || line[0] == b':' {
            return None;
        }
        let (name, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &[][..]),
        };
        match name {
            b"event" => {
                let value = String::from_utf8_lossy(value);
                if self.data.len() + value.len() > self.max {
                    return Some(Err(self.event_too_large()));
                }
                self.event_type.clear();
                self.event_type.push_str(&value);
            }
            b"data" => {
                let value = String::from_utf8_lossy(value);
                if self.data.len() + self.event_type.len() + value.len() + 1 > self.max {
                    return Some(Err(self.event_too_large()));
                }
                self.data.push_str(&value);
                self.data.push('\n');
            }
            // An id with NUL is ignored, as the standard says.
            b"id" if !value.contains(&0) => {
                self.id_buffer.clear();
                self.id_buffer.push_str(&String::from_utf8_lossy(value));
            }
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                self.retry = Some(Duration::from_millis(millis(value)));
            }
            _ => {}
        }
        None
    }

    fn event_too_large(&mut self) -> ParseError {
        self.drop_event();
        ParseError::EventTooLarge { limit: self.max }
    }

    /// The blank line: the event so far, if it has data.
    fn dispatch(&mut self) -> Option<Event> {
        self.last_event_id.clone_from(&self.id_buffer);
        if std::mem::take(&mut self.discard_event) || self.data.is_empty() {
            self.data.clear();
            self.event_type.clear();
            return None;
        }
        if self.data.ends_with('\n') {
            self.data.pop();
        }
        let event = match std::mem::take(&mut self.event_type) {
            named if !named.is_empty() => named,
            _ => "message".to_owned(),
        };
        Some(Event {
            event,
            data: std::mem::take(&mut self.data),
            id: (!self.last_event_id.is_empty()).then(|| self.last_event_id.clone()),
        })
    }
}

/// ASCII digits as milliseconds, saturating (a huge value means "wait as
/// long as possible", not an error).
fn millis(digits: &[u8]) -> u64 {
    digits.iter().fold(0u64, |n, d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Every outcome of `input` fed in one piece.
    fn parse(parser: &mut Parser, input: &[u8]) -> Vec<Result<Event, ParseError>> {
        let mut rest = input;
        let mut out = Vec::new();
        while let Some(outcome) = parser.next(&mut rest) {
            out.push(outcome);
        }
        assert!(rest.is_empty());
        out
    }

    /// Every outcome of `input` fed in pieces of `size` bytes.
    fn parse_chunked(
        parser: &mut Parser,
        input: &[u8],
        size: usize,
    ) -> Vec<Result<Event, ParseError>> {
        let mut out = Vec::new();
        for chunk in input.chunks(size) {
            let mut rest = chunk;
            while let Some(outcome) = parser.next(&mut rest) {
                out.push(outcome);
            }
        }
        out
    }

    fn events(input: &[u8]) -> Vec<Event> {
        let whole = parse(&mut Parser::new(), input);
        // The same at every chunk size, one byte included.
        for size in 1..input.len().max(1) {
            assert_eq!(
                parse_chunked(&mut Parser::new(), input, size),
                whole,
                "chunks of {size}"
            );
        }
        whole.into_iter().map(Result::unwrap).collect()
    }

    fn event(event: &str, data: &str, id: Option<&str>) -> Event {
        Event {
            event: event.into(),
            data: data.into(),
            id: id.map(Into::into),
        }
    }

    #[test]
    fn fields_and_defaults() {
        assert_eq!(
            events(b"event: a\ndata: 1\nid: 9\n\ndata: 2\n\n"),
            [event("a", "1", Some("9")), event("message", "2", Some("9"))]
        );
    }

    #[test]
    fn ids_carry_over_and_need_no_data() {
        let mut parser = Parser::new();
        assert!(parse(&mut parser, b"id: 3\n\n").is_empty());
        assert_eq!(parser.last_event_id(), "3");
        assert_eq!(
            parse(&mut parser, b"data: x\n\n"),
            [Ok(event("message", "x", Some("3")))]
        );
        // An empty id clears it.
        assert_eq!(
            parse(&mut parser, b"id\ndata: y\n\n"),
            [Ok(event("message", "y", None))]
        );
        assert_eq!(parser.last_event_id(), "");
    }

    #[test]
    fn ids_with_nul_are_ignored() {
        assert_eq!(
            events(b"id: 1\n\nid: 2\0x\ndata: d\n\n"),
            [event("message", "d", Some("1"))]
        );
    }

    #[test]
    fn data_lines_join_with_newlines() {
        assert_eq!(
            events(b"data: a\ndata\ndata:  b\ndata:c\n\n"),
            [event("message", "a\n\n b\nc", None)]
        );
        // A single trailing newline is removed, not more.
        assert_eq!(events(b"data\ndata\n\n"), [event("message", "\n", None)]);
    }

    #[test]
    fn retry_takes_digits_only() {
        for (input, expected) in [
            (&b"retry: 1500\n"[..], Some(1500)),
            (b"retry:20\n", Some(20)),
            (b"retry: 1.5\n", None),
            (b"retry: -1\n", None),
            (b"retry: 10 \n", None),
            (b"retry:\n", None),
            (b"retry\n", None),
            (b"retry: 99999999999999999999999\n", Some(u64::MAX)),
        ] {
            let mut parser = Parser::new();
            parse(&mut parser, input);
            assert_eq!(
                parser.retry(),
                expected.map(Duration::from_millis),
                "{input:?}"
            );
        }
        // A later invalid value keeps the earlier one.
        let mut parser = Parser::new();
        parse(&mut parser, b"retry: 5\nretry: x\n");
        assert_eq!(parser.retry(), Some(Duration::from_millis(5)));
    }

    #[test]
    fn comments_and_unknown_fields_are_ignored() {
        assert_eq!(
            events(b": hello\n:\nfoo: bar\nDATA: no\ndata: yes\n\n"),
            [event("message", "yes", None)]
        );
        // A comment alone dispatches nothing.
        assert!(events(b": keep-alive\n\n").is_empty());
    }

    #[test]
    fn a_field_without_colon_has_an_empty_value() {
        assert_eq!(events(b"data\n\n"), [event("message", "", None)]);
        assert_eq!(events(b"event\ndata: x\n\n"), [event("message", "x", None)]);
    }

    #[test]
    fn only_one_space_after_the_colon_is_dropped() {
        assert_eq!(
            events(b"event:  spaced\ndata:\tx\n\n"),
            [event(" spaced", "\tx", None)]
        );
    }

    #[test]
    fn every_line_ending() {
        let expected = [
            event("e", "a\nb", Some("1")),
            event("message", "c", Some("1")),
        ];
        for input in [
            &b"event: e\ndata: a\ndata: b\nid: 1\n\ndata: c\n\n"[..],
            b"event: e\r\ndata: a\r\ndata: b\r\nid: 1\r\n\r\ndata: c\r\n\r\n",
            b"event: e\rdata: a\rdata: b\rid: 1\r\rdata: c\r\r",
            b"event: e\rdata: a\r\ndata: b\nid: 1\r\n\rdata: c\n\r\n",
        ] {
            assert_eq!(events(input), expected, "{input:?}");
        }
        // CR then LF across two chunks is one line ending, not two.
        let mut parser = Parser::new();
        let mut out = parse(&mut parser, b"data: a\r");
        out.extend(parse(&mut parser, b"\ndata: b\r"));
        out.extend(parse(&mut parser, b"\n\r"));
        assert_eq!(out, [Ok(event("message", "a\nb", None))]);
    }

    #[test]
    fn a_leading_bom_is_dropped_once() {
        assert_eq!(
            events(b"\xEF\xBB\xBFdata: x\n\n"),
            [event("message", "x", None)]
        );
        // A second one is part of the line: an unknown field.
        assert!(events(b"\xEF\xBB\xBF\xEF\xBB\xBFdata: x\n\n").is_empty());
        // Not at the start: an unknown field too.
        assert!(events(b"\n\xEF\xBB\xBFdata: x\n\n").is_empty());
        // After a reset, a new stream may start with one again.
        let mut parser = Parser::new();
        parse(&mut parser, b"data: a\n\n");
        parser.reset();
        assert_eq!(
            parse(&mut parser, b"\xEF\xBB\xBFdata: b\n\n"),
            [Ok(event("message", "b", None))]
        );
    }

    #[test]
    fn an_unfinished_event_is_not_dispatched() {
        assert!(events(b"data: a\n").is_empty());
        assert!(events(b"data: a").is_empty());
        let mut parser = Parser::new();
        parse(&mut parser, b"id: 4\n\ndata: half\nid: 5\n");
        // The connection drops: what a new one starts with is new.
        parser.reset();
        assert_eq!(parser.last_event_id(), "4");
        assert_eq!(
            parse(&mut parser, b"data: b\n\n"),
            [Ok(event("message", "b", Some("4")))]
        );
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        assert_eq!(
            events(b"data: a\xFFb\n\n"),
            [event("message", "a\u{FFFD}b", None)]
        );
        // A multi-byte character split across chunks stays whole.
        assert_eq!(
            events("data: é€\n\n".as_bytes()),
            [event("message", "é€", None)]
        );
    }

    #[test]
    fn next_stops_after_each_event() {
        let mut parser = Parser::new();
        let mut input: &[u8] = b"data: 1\n\ndata: 2\n\n";
        assert_eq!(
            parser.next(&mut input),
            Some(Ok(event("message", "1", None)))
        );
        assert_eq!(input, b"data: 2\n\n");
        assert_eq!(
            parser.next(&mut input),
            Some(Ok(event("message", "2", None)))
        );
        assert_eq!(parser.next(&mut input), None);
    }

    #[test]
    fn a_long_line_is_refused_and_its_event_skipped() {
        let limit = 16;
        let input = b"data: 0123456789abcdef\ndata: more\n\ndata: ok\n\n";
        let whole = parse(&mut Parser::with_max_size(limit), input);
        assert_eq!(
            whole,
            [
                Err(ParseError::LineTooLong { limit }),
                Ok(event("message", "ok", None))
            ]
        );
        for size in 1..input.len() {
            let mut parser = Parser::with_max_size(limit);
            assert_eq!(
                parse_chunked(&mut parser, input, size),
                whole,
                "chunks of {size}"
            );
        }
        // A line that never ends is refused without being stored.
        let mut parser = Parser::with_max_size(limit);
        let mut out = Vec::new();
        for _ in 0..1_000 {
            out.extend(parse(&mut parser, b"xxxxxxxxxx"));
            assert!(parser.buffered() <= limit);
        }
        assert_eq!(out, [Err(ParseError::LineTooLong { limit })]);
        assert_eq!(
            parse(&mut parser, b"\n\ndata: after\n\n"),
            [Ok(event("message", "after", None))]
        );
    }

    #[test]
    fn a_large_event_is_refused_and_skipped() {
        let limit = 16;
        let input = b"data: 0123456\ndata: 0123456\nid: 8\ndata: x\n\nid: 9\ndata: ok\n\n";
        let whole = parse(&mut Parser::with_max_size(limit), input);
        assert_eq!(
            whole,
            [
                Err(ParseError::EventTooLarge { limit }),
                Ok(event("message", "ok", Some("9")))
            ]
        );
        for size in 1..input.len() {
            let mut parser = Parser::with_max_size(limit);
            assert_eq!(
                parse_chunked(&mut parser, input, size),
                whole,
                "chunks of {size}"
            );
        }
        // Data lines without end stay bounded.
        let mut parser = Parser::with_max_size(limit);
        let mut errors = 0;
        for _ in 0..1_000 {
            errors += parse(&mut parser, b"data: abc\n").len();
            assert!(parser.buffered() <= 2 * limit);
        }
        assert_eq!(errors, 1);
    }

    #[test]
    fn debug_shows_no_data() {
        let mut parser = Parser::new();
        parse(&mut parser, b"data: private mail\n");
        let shown = format!("{parser:?}");
        assert!(!shown.contains("private"), "{shown}");
    }
}
