//! Server text on its way to a terminal. A hostile or broken server must not
//! be able to clear the screen, move the cursor, overwrite a line with `\r`,
//! reorder what is shown, or flood the terminal with a huge message, so every
//! server string printed outside JSON goes through [`clean`].
//!
//! The visible form is the one Rust's `{:?}` uses: `\n`, `\r`, `\t`, `\0`
//! and `\u{1b}` (hex code point) for every other C0 control, DEL and C1
//! control, and for the bidirectional embeddings, overrides and isolates
//! (U+202A..U+202E, U+2066..U+2069). A backslash stays as it is: a message
//! that reads well matters more here than an unambiguous round trip.

use std::fmt::Write;

/// Whether escape sequences (colours, a spinner's redraws) may go to a
/// stream: only a terminal, and never with `NO_COLOR` set to anything
/// but the empty string (<https://no-color.org>).
pub(crate) fn escapes_allowed(stream_is_terminal: bool) -> bool {
    stream_is_terminal && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
}

/// At most this many characters of one server string are printed.
pub(crate) const MAX_CHARS: usize = 1_000;

/// Whether `c` would act on the terminal instead of being shown.
fn is_unsafe(c: char) -> bool {
    c.is_control() || is_bidi(c)
}

/// `text` as one printable line: unsafe characters (line breaks included)
/// escaped, and cut after [`MAX_CHARS`] characters with
/// `… [cut 4,999,000 bytes]` saying how much of the original was left out.
pub(crate) fn clean(text: &str) -> String {
    let cut_at = text
        .char_indices()
        .nth(MAX_CHARS)
        .map_or(text.len(), |(i, _)| i);
    let kept = &text[..cut_at];
    let mut out = String::with_capacity(kept.len() + 32);
    for c in kept.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            c if is_unsafe(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    if cut_at < text.len() {
        let _ = write!(out, "… [cut {} bytes]", thousands(text.len() - cut_at));
    }
    out
}

/// Pretty JSON made safe for a terminal while staying the same JSON:
/// serde_json already writes C0 controls as `\u00XX`, but passes DEL, C1 and
/// the bidirectional controls through raw. Those can only occur inside JSON
/// strings, where `\uXXXX` denotes the same character.
pub(crate) fn json_safe(json: String) -> String {
    // `\n` is the pretty printer's own line break, between tokens.
    let unsafe_in_json = |c: char| c != '\n' && is_unsafe(c);
    if !json.chars().any(unsafe_in_json) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if unsafe_in_json(c) {
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}

/// `text` with every unsafe character escaped as [`clean`] does, except
/// line breaks and tabs, and never cut: the whole text a person asked for
/// (a `--jq -r` string) on a terminal.
pub(crate) fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\t' => out.push(c),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c if is_unsafe(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

/// Whether `c` is a bidirectional embedding, override or isolate.
fn is_bidi(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// YAML text with the bidirectional controls written as `\uXXXX`, which
/// YAML's emitter keeps raw as printable characters. Inside a double-quoted
/// scalar that is the same character; elsewhere it is visible text.
pub(crate) fn bidi_escaped(yaml: String) -> String {
    if !yaml.chars().any(is_bidi) {
        return yaml;
    }
    let mut out = String::with_capacity(yaml.len() + 16);
    for c in yaml.chars() {
        if is_bidi(c) {
            let _ = write!(out, "\\u{:04X}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}

/// `4999000` as `4,999,000`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_become_visible_escapes() {
        assert_eq!(
            clean("a\u{1b}[2Jb\rc\nd\te\0f\u{7f}g\u{9b}h\u{202e}i"),
            "a\\u{1b}[2Jb\\rc\\nd\\te\\0f\\u{7f}g\\u{9b}h\\u{202e}i"
        );
        assert_eq!(clean("plain text, ünïcode ✓"), "plain text, ünïcode ✓");
    }

    #[test]
    fn long_text_is_cut_with_a_marker() {
        let text = "x".repeat(5_000_000);
        let cleaned = clean(&text);
        assert_eq!(
            cleaned,
            format!("{}… [cut 4,999,000 bytes]", "x".repeat(MAX_CHARS))
        );
        assert_eq!(clean(&"é".repeat(MAX_CHARS)), "é".repeat(MAX_CHARS));
        assert_eq!(
            clean(&"é".repeat(MAX_CHARS + 1)),
            format!("{}… [cut 2 bytes]", "é".repeat(MAX_CHARS))
        );
    }

    #[test]
    fn json_stays_the_same_json() {
        let value = serde_json::json!({"m": "\u{1b}[2J\r\u{7f}\u{9b}\u{202e}"});
        let text = json_safe(serde_json::to_string_pretty(&value).unwrap_or_default());
        assert!(!text.chars().any(|c| c != '\n' && is_unsafe(c)), "{text}");
        assert!(
            text.contains(r#""\u001b[2J\r\u007f\u009b\u202e""#),
            "{text}"
        );
        let back: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(back, value);
    }

    #[test]
    fn printable_keeps_lines_and_escapes_controls() {
        assert_eq!(
            printable("a\nb\tc\u{1b}[2J\rd\u{202e}"),
            "a\nb\tc\\u{1b}[2J\\rd\\u{202e}"
        );
        assert_eq!(printable(&"x".repeat(5_000)), "x".repeat(5_000));
    }

    #[test]
    fn yaml_keeps_no_bidirectional_control() {
        assert_eq!(bidi_escaped("a: b\u{202e}c\n".into()), "a: b\\u202Ec\n");
        assert_eq!(bidi_escaped("plain: text\n".into()), "plain: text\n");
    }

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(4_999_000), "4,999,000");
    }
}
