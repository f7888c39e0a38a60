//! Message bodies: as stored (`/body`, `raw` batch mode) and as the
//! cleaned JSON view (`/content`, thread content, `clean_json` batch
//! mode), with the published options.

use serde::{Deserialize, Serialize};

use super::model::{Address, AttachmentView, Links, Message, html_to_text, truncate_chars};
use super::{Ctx, flag, number};
use crate::clock::rfc3339;
use crate::ids;

/// Body characters of `/content` when `max_body_chars` is not given.
pub(crate) const MESSAGE_BODY_CHARS_DEFAULT: usize = 50_000;
/// Body characters per message of thread content by default.
pub(crate) const THREAD_BODY_CHARS_DEFAULT: usize = 20_000;
/// The most `max_body_chars` may ask for.
pub(crate) const BODY_CHARS_MAX: usize = 1_000_000;

/// Which part the cleaned view reads (`ContentPart`, and `BatchGetPart`
/// whose `both` reads as `auto` here).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Part {
    Auto,
    Text,
    Html,
    Both,
}

/// `IncludeHeaders`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum HeaderMode {
    None,
    Selected,
    Full,
}

/// `IncludeAttachments`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum AttachmentMode {
    None,
    Metadata,
}

/// The options of the cleaned view.
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct ContentOptions {
    pub(crate) part: Part,
    pub(crate) max_chars: usize,
    pub(crate) strip_signature: bool,
    pub(crate) strip_quotes: bool,
    pub(crate) include_links: bool,
    pub(crate) include_html: bool,
    pub(crate) headers: HeaderMode,
    pub(crate) attachments: AttachmentMode,
}

impl ContentOptions {
    pub(crate) fn defaults(max_chars: usize) -> Self {
        Self {
            part: Part::Auto,
            max_chars,
            strip_signature: false,
            strip_quotes: false,
            include_links: false,
            include_html: false,
            headers: HeaderMode::Selected,
            attachments: AttachmentMode::Metadata,
        }
    }

    /// The options in the query (already checked against the spec).
    pub(crate) fn from_ctx(ctx: &Ctx<'_>, default_chars: usize) -> Self {
        let d = Self::defaults(default_chars);
        let parse = |name: &str| ctx.query(name).map(serde_json::Value::String);
        Self {
            part: parse("part")
                .and_then(|v| serde_json::from_value(v).ok())
                .unwrap_or(d.part),
            max_chars: number(ctx, "max_body_chars").map_or(d.max_chars, |n| {
                usize::try_from(n).unwrap_or(BODY_CHARS_MAX)
            }),
            strip_signature: flag(ctx, "strip_signature").unwrap_or(false),
            strip_quotes: flag(ctx, "strip_quotes").unwrap_or(false),
            include_links: flag(ctx, "include_links").unwrap_or(false),
            include_html: flag(ctx, "include_html").unwrap_or(false),
            headers: parse("include_headers")
                .and_then(|v| serde_json::from_value(v).ok())
                .unwrap_or(d.headers),
            attachments: parse("include_attachments")
                .and_then(|v| serde_json::from_value(v).ok())
                .unwrap_or(d.attachments),
        }
    }

    /// A short hash of the options, so a client can tell two renderings
    /// of one message apart.
    pub(crate) fn hash(&self) -> String {
        let json = crate::api::to_json(self);
        format!("{:016x}", ids::hash_bytes(0x6f70_7473, &json))
    }
}

/// `MailboxMessageContent`.
#[derive(Debug, Serialize)]
pub(crate) struct Content<'a> {
    id: &'a str,
    thread_id: Option<&'a str>,
    subject: Option<&'a str>,
    participants: Participants<'a>,
    dates: Dates,
    body: CleanBody,
    headers: Headers<'a>,
    attachments: Vec<AttachmentView<'a>>,
    states: ContentStates,
}

#[derive(Debug, Serialize)]
struct Participants<'a> {
    from: Option<&'a Address>,
    to: &'a [Address],
    cc: &'a [Address],
    bcc: &'a [Address],
    reply_to: &'a [Address],
}

#[derive(Debug, Serialize)]
struct Dates {
    received_at: Option<String>,
    sent_at: Option<String>,
}

#[derive(Debug, Serialize)]
struct CleanBody {
    format: Option<&'static str>,
    text: Option<String>,
    html: Option<String>,
    is_truncated: bool,
    truncated_at_chars: Option<usize>,
    signature_stripped: bool,
    quotes_stripped: bool,
    extracted_links: Vec<String>,
}

#[derive(Debug, Serialize)]
struct Headers<'a> {
    mode: HeaderMode,
    selected: Option<Selected<'a>>,
    full: Option<Vec<HeaderLine<'a>>>,
}

#[derive(Debug, Serialize)]
struct Selected<'a> {
    message_id: [&'a str; 1],
    in_reply_to: Option<&'a str>,
    references: &'a [String],
    reply_to: &'a [Address],
}

#[derive(Debug, Serialize)]
struct HeaderLine<'a> {
    name: &'a str,
    value: &'a str,
}

#[derive(Debug, Serialize)]
struct ContentStates {
    email_state: Option<String>,
    option_hash: String,
}

/// The cleaned view of `m` under `opts`.
pub(crate) fn clean<'a>(
    m: &'a Message,
    opts: &ContentOptions,
    email_state: &str,
    links: &Links<'_>,
) -> Content<'a> {
    let (format, mut text, mut html) = match (opts.part, &m.text, &m.html) {
        (Part::Html, _, Some(html)) => (Some("html"), Some(html_to_text(html)), Some(html.clone())),
        (_, Some(text), _) => (Some("text"), Some(text.clone()), None),
        (_, None, Some(html)) => (Some("html"), Some(html_to_text(html)), None),
        (_, None, None) => (None, None, None),
    };
    if opts.include_html || opts.part == Part::Both {
        html = m.html.clone();
    }
    let mut signature_stripped = false;
    let mut quotes_stripped = false;
    if let Some(t) = &mut text {
        if opts.strip_quotes {
            let (kept, cut) = strip_quotes(t);
            *t = kept;
            quotes_stripped = cut;
        }
        if opts.strip_signature {
            let (kept, cut) = strip_signature(t);
            *t = kept;
            signature_stripped = cut;
        }
    }
    let extracted_links = if opts.include_links {
        links_in(
            text.as_deref().unwrap_or(""),
            m.html.as_deref().unwrap_or(""),
        )
    } else {
        Vec::new()
    };
    let mut is_truncated = false;
    for part in [&mut text, &mut html].into_iter().flatten() {
        let (kept, cut) = truncate_chars(part, opts.max_chars);
        if cut {
            *part = kept.to_owned();
            is_truncated = true;
        }
    }
    let headers = Headers {
        mode: opts.headers,
        selected: (opts.headers != HeaderMode::None).then(|| Selected {
            message_id: [&m.rfc_message_id],
            in_reply_to: m.in_reply_to.as_deref(),
            references: &m.references,
            reply_to: &m.reply_to,
        }),
        full: (opts.headers == HeaderMode::Full).then(|| {
            m.headers
                .iter()
                .map(|(name, value)| HeaderLine { name, value })
                .collect()
        }),
    };
    Content {
        id: &m.id,
        thread_id: Some(&m.thread_id),
        subject: m.subject.as_deref(),
        participants: Participants {
            from: m.from.as_ref(),
            to: &m.to,
            cc: &m.cc,
            bcc: &m.bcc,
            reply_to: &m.reply_to,
        },
        dates: Dates {
            received_at: Some(rfc3339(m.received_at_ms)),
            sent_at: m.sent_at_ms.map(rfc3339),
        },
        body: CleanBody {
            format,
            text,
            html,
            is_truncated,
            truncated_at_chars: is_truncated.then_some(opts.max_chars),
            signature_stripped,
            quotes_stripped,
            extracted_links,
        },
        headers,
        attachments: match opts.attachments {
            AttachmentMode::Metadata => m.attachment_views(links),
            AttachmentMode::None => Vec::new(),
        },
        states: ContentStates {
            email_state: Some(email_state.to_owned()),
            option_hash: opts.hash(),
        },
    }
}

/// Everything from the signature separator (`-- ` on its own line) on.
fn strip_signature(text: &str) -> (String, bool) {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line.trim_end_matches(['\r', '\n']).trim_end() == "--" {
            return (text[..offset].trim_end().to_owned(), true);
        }
        offset += line.len();
    }
    (text.to_owned(), false)
}

/// Quoted lines (`> ...`) and the `On ... wrote:` line that introduces
/// them.
fn strip_quotes(text: &str) -> (String, bool) {
    let lines: Vec<&str> = text.lines().collect();
    let mut kept = Vec::with_capacity(lines.len());
    let mut cut = false;
    for (i, line) in lines.iter().enumerate() {
        let quoted = line.trim_start().starts_with('>');
        let intro = line.trim_end().ends_with("wrote:")
            && lines
                .get(i + 1)
                .is_some_and(|next| next.trim_start().starts_with('>'));
        if quoted || intro {
            cut = true;
        } else {
            kept.push(*line);
        }
    }
    (kept.join("\n").trim_end().to_owned(), cut)
}

/// `http(s)://` links in the text and `href`s in the HTML, once each.
fn links_in(text: &str, html: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for source in [text, html] {
        let mut rest = source;
        while let Some(at) = rest.find("http") {
            let candidate = &rest[at..];
            let end = candidate
                .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | ')'))
                .unwrap_or(candidate.len());
            let url = candidate[..end].trim_end_matches(['.', ',', ';']);
            if (url.starts_with("http://") || url.starts_with("https://"))
                && url.len() > 8
                && !found.iter().any(|f| f == url)
            {
                found.push(url.to_owned());
            }
            rest = &candidate[end.max(4)..];
        }
    }
    found
}

/// `RawBodyPart`: which stored parts `/body` returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RawPart {
    Text,
    Html,
    Both,
}

/// `MailboxRawBody`.
#[derive(Debug, Serialize)]
pub(crate) struct RawBody<'a> {
    id: &'a str,
    thread_id: Option<&'a str>,
    part: RawPart,
    body: RawBodyBody,
    states: RawStates,
}

#[derive(Debug, Serialize)]
struct RawBodyBody {
    text: Option<String>,
    html: Option<String>,
    is_truncated: bool,
    truncated_at_chars: Option<usize>,
}

#[derive(Debug, Serialize)]
struct RawStates {
    email_state: Option<String>,
}

/// The stored body parts of `m`, cut at `max_chars` each.
pub(crate) fn raw<'a>(
    m: &'a Message,
    part: RawPart,
    max_chars: usize,
    email_state: &str,
) -> RawBody<'a> {
    let mut is_truncated = false;
    let mut take = |wanted: bool, value: &Option<String>| {
        let value = value.as_deref().filter(|_| wanted)?;
        let (kept, cut) = truncate_chars(value, max_chars);
        is_truncated |= cut;
        Some(kept.to_owned())
    };
    let text = take(part != RawPart::Html, &m.text);
    let html = take(part != RawPart::Text, &m.html);
    RawBody {
        id: &m.id,
        thread_id: Some(&m.thread_id),
        part,
        body: RawBodyBody {
            text,
            html,
            is_truncated,
            truncated_at_chars: is_truncated.then_some(max_chars),
        },
        states: RawStates {
            email_state: Some(email_state.to_owned()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_and_quotes_are_stripped() {
        let (kept, cut) = strip_signature("Hello\nthere\n-- \nAda\nCEO");
        assert_eq!((kept.as_str(), cut), ("Hello\nthere", true));
        assert!(!strip_signature("no sig -- here").1);
        let (kept, cut) = strip_quotes("Thanks!\nOn Mon, Bob wrote:\n> hi\n> there\nCheers");
        assert_eq!((kept.as_str(), cut), ("Thanks!\nCheers", true));
    }

    #[test]
    fn links_are_found_once() {
        let links = links_in(
            "see https://a.example/x. and http://b.example",
            "<a href=\"https://a.example/x\">x</a>",
        );
        assert_eq!(links, ["https://a.example/x", "http://b.example"]);
    }
}
