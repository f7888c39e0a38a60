//! Tables for any API model, described as data: a command names the columns
//! it shows (a title and where the value sits in the model's JSON) and this
//! module does the rest, so a new resource adds column lists, not renderers.
//!
//! Structured output (JSON, JSON lines, YAML, `--jq`) is the model itself,
//! printed by `output`; table output reads the model through its serde
//! form, which is exactly what the API sent.

use comfy_table::{Table, presets};
use serde::Serialize;
use serde_json::Value;

use crate::args::OutputFormat;
use crate::failure::Failure;
use crate::output::{self, write_stdout};
use crate::terminal::clean;

/// One column (or one line of a detail view): a title and a JSON pointer
/// into the model (`/domain`, `/quota/used_bytes`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Column {
    pub(crate) title: &'static str,
    pub(crate) pointer: &'static str,
}

/// A [`Column`] in one line: `col("ID", "/id")`.
pub(crate) const fn col(title: &'static str, pointer: &'static str) -> Column {
    Column { title, pointer }
}

/// How a list is introduced and what to say when it is empty.
pub(crate) struct ListText<'a> {
    /// `sendmux ... --cursor C` printed (on stderr) when more pages follow.
    pub(crate) more: &'a str,
    /// Printed instead of an empty table.
    pub(crate) empty: &'a str,
}

/// A list as a table with a header row, or in a structured format as
/// `{"items": [...], "next_cursor": ...}` (one item per line for `jsonl`).
/// Where the cursor is not part of the output (tables, JSON lines), the
/// command that reads the next page is printed on stderr.
pub(crate) fn list<T: Serialize>(
    format: OutputFormat,
    items: &[T],
    columns: &[Column],
    next_cursor: Option<&str>,
    text: &ListText<'_>,
) -> Result<(), Failure> {
    if let Some(cursor) = next_cursor
        && matches!(format, OutputFormat::Table | OutputFormat::Jsonl)
    {
        let next = format!("{} --cursor {}", text.more, clean(cursor));
        eprintln!("more follow: {}  (or --all)", output::suggest(&next));
    }
    if !format.is_table() {
        return output::page(format, items, next_cursor);
    }
    if items.is_empty() {
        return write_stdout(text.empty);
    }
    let mut table = bare_table();
    table.set_header(columns.iter().map(|c| c.title).collect::<Vec<_>>());
    for item in items {
        let value = to_value(item)?;
        table.add_row(
            columns
                .iter()
                .map(|c| cell(&value, c.pointer))
                .collect::<Vec<_>>(),
        );
    }
    write_stdout(&render(&table))
}

/// One model as `Title  value` lines, under an optional heading; the
/// structured formats print the whole model.
pub(crate) fn detail<T: Serialize>(
    format: OutputFormat,
    item: &T,
    fields: &[Column],
    heading: Option<&str>,
) -> Result<(), Failure> {
    detail_with(format, item, fields, heading, &[])
}

/// [`detail`] with lines that are not part of the model (an `ETag` from
/// the response headers) after the model's own; the structured formats
/// still print the model alone.
pub(crate) fn detail_with<T: Serialize>(
    format: OutputFormat,
    item: &T,
    fields: &[Column],
    heading: Option<&str>,
    extra: &[(&str, Option<&str>)],
) -> Result<(), Failure> {
    if !format.is_table() {
        return output::value(format, item);
    }
    let value = to_value(item)?;
    let mut table = bare_table();
    for field in fields {
        let text = cell(&value, field.pointer);
        // Absent optional fields are left out rather than shown empty.
        if !text.is_empty() {
            table.add_row(vec![field.title.to_string(), text]);
        }
    }
    for (title, text) in extra {
        if let Some(text) = text {
            table.add_row(vec![(*title).to_string(), clean(text)]);
        }
    }
    let mut out = String::new();
    if let Some(heading) = heading {
        out.push_str(heading);
        out.push_str("\n\n");
    }
    out.push_str(&render(&table));
    write_stdout(&out)
}

/// A one-line confirmation for tables; the model otherwise.
pub(crate) fn done<T: Serialize>(
    format: OutputFormat,
    item: &T,
    message: &str,
) -> Result<(), Failure> {
    if !format.is_table() {
        return output::value(format, item);
    }
    write_stdout(message)
}

fn to_value<T: Serialize>(item: &T) -> Result<Value, Failure> {
    serde_json::to_value(item).map_err(|e| Failure::Internal(format!("cannot encode JSON: {e}")))
}

/// The text of the value at `pointer`: strings as they are, numbers and
/// booleans printed, arrays joined with commas, objects as compact JSON,
/// absent and null as nothing. Always cleaned: cells hold server text.
pub(crate) fn cell(value: &Value, pointer: &str) -> String {
    clean(&plain(value.pointer(pointer).unwrap_or(&Value::Null)))
}

fn plain(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => whole(n).unwrap_or_else(|| n.to_string()),
        Value::Array(items) => items.iter().map(plain).collect::<Vec<_>>().join(","),
        Value::Object(_) => value.to_string(),
    }
}

/// A float with nothing after the point as an integer (`12`, not `12.0`):
/// some counts are JSON numbers that decode as floats.
fn whole(n: &serde_json::Number) -> Option<String> {
    let f = n.as_f64().filter(|_| n.is_f64())?;
    // Beyond 2^53 a float no longer holds every integer: keep its own form.
    (f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0).then(|| format!("{f:.0}"))
}

pub(crate) fn bare_table() -> Table {
    let mut table = Table::new();
    table.load_preset(presets::NOTHING);
    table
}

/// A table as text without the padding comfy-table leaves at line ends.
pub(crate) fn render(table: &Table) -> String {
    table
        .lines()
        .map(|line| line.trim_end().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cells_flatten_every_json_kind() {
        let value = json!({
            "s": "a", "n": 3, "b": true, "z": null,
            "list": ["x", 1], "obj": {"k": "v"}, "nested": {"deep": "d"}
        });
        assert_eq!(cell(&value, "/s"), "a");
        assert_eq!(cell(&value, "/n"), "3");
        assert_eq!(cell(&json!({"f": 12.0}), "/f"), "12");
        assert_eq!(cell(&json!({"f": 12.5}), "/f"), "12.5");
        assert_eq!(cell(&value, "/b"), "true");
        assert_eq!(cell(&value, "/z"), "");
        assert_eq!(cell(&value, "/missing"), "");
        assert_eq!(cell(&value, "/list"), "x,1");
        assert_eq!(cell(&value, "/obj"), r#"{"k":"v"}"#);
        assert_eq!(cell(&value, "/nested/deep"), "d");
    }

    #[test]
    fn cells_are_cleaned_of_terminal_controls() {
        let value = json!({"s": "evil\u{1b}[31mred"});
        assert!(!cell(&value, "/s").contains('\u{1b}'));
    }
}
