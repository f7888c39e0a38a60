//! `--jq EXPR`: a jq filter (run by jaq) over exactly what `-o json` would
//! print, so `sendmux domains list --jq '.items[].id'` needs no `jq`
//! installed. The expression is compiled once before any request, so a
//! typo is a usage error with nothing sent.

use jaq_core::load::{Arena, File, Loader, lex, parse};
use jaq_core::{Ctx, Vars, data, unwrap_valr};
use jaq_json::Val;

type Filter = jaq_core::Filter<data::JustLut<Val>>;

/// A checked jq expression.
#[derive(Debug, Clone)]
pub(crate) struct Jq {
    code: String,
}

impl Jq {
    /// Checks that `code` parses and compiles; nothing runs yet.
    pub(crate) fn new(code: &str) -> Result<Self, String> {
        with_filter(code, |_| ())?;
        Ok(Self {
            code: code.to_owned(),
        })
    }

    /// Every output of the filter on `input` (a JSON document), in order.
    pub(crate) fn run(&self, input: &[u8]) -> Result<Vec<Val>, String> {
        let input = jaq_json::read::parse_single(input)
            .map_err(|e| format!("cannot read the output as JSON: {e}"))?;
        with_filter(&self.code, |filter| {
            let ctx = Ctx::<data::JustLut<Val>>::new(&filter.lut, Vars::new([]));
            filter
                .id
                .run((ctx, input))
                .map(unwrap_valr)
                .map(|out| out.map_err(|e| format!("--jq failed on the output: {e}")))
                .collect::<Result<Vec<_>, _>>()
        })?
    }
}

/// Compiles `code` with jq's standard definitions and hands the filter to
/// `use_it`. Compiling is cheap next to a request, so a filter is compiled
/// where it is used rather than kept (jaq's values are not `Send`).
fn with_filter<R>(code: &str, use_it: impl FnOnce(&Filter) -> R) -> Result<R, String> {
    let defs = jaq_core::defs()
        .chain(jaq_std::defs())
        .chain(jaq_json::defs());
    let funs = jaq_core::funs()
        .chain(jaq_std::funs())
        .chain(jaq_json::funs());
    let arena = Arena::default();
    let loader = Loader::new(defs);
    let modules = loader
        .load(&arena, File { code, path: () })
        .map_err(|errors| {
            let problems: Vec<String> = errors
                .into_iter()
                .flat_map(|(_, error)| load_problems(error))
                .collect();
            invalid(code, &problems)
        })?;
    let filter = jaq_core::Compiler::default()
        .with_funs(funs)
        .compile(modules)
        .map_err(|errors| {
            let problems: Vec<String> = errors
                .into_iter()
                .flat_map(|(_, undefined)| undefined)
                .map(|(name, kind)| format!("undefined {} `{name}`", kind.as_str()))
                .collect();
            invalid(code, &problems)
        })?;
    Ok(use_it(&filter))
}

/// What went wrong while reading an expression, one line per problem.
fn load_problems(error: jaq_core::load::Error<&str>) -> Vec<String> {
    use jaq_core::load::Error;
    match error {
        Error::Io(errors) => errors
            .into_iter()
            .map(|(path, why)| format!("cannot load `{path}`: {why}"))
            .collect(),
        Error::Lex(errors) => errors
            .into_iter()
            .map(|(expect, at)| format!("expected {} {}", lex_expected(&expect), near(at)))
            .collect(),
        Error::Parse(errors) => errors
            .into_iter()
            .map(|(expect, at)| format!("expected {} {}", parse_expected(&expect), near(at)))
            .collect(),
    }
}

// Our own words for the lexer's expectations: jaq's `as_str` panics on a
// delimiter it does not name.
fn lex_expected(expect: &lex::Expect<&str>) -> String {
    match expect {
        lex::Expect::Digit => "a digit".into(),
        lex::Expect::Ident => "an identifier".into(),
        lex::Expect::Delim(open) => format!("the closing match of `{open}`"),
        lex::Expect::Escape => "a string escape sequence".into(),
        lex::Expect::Unicode => "a 4-digit hexadecimal code point".into(),
        lex::Expect::Token => "a token".into(),
        _ => "something else".into(),
    }
}

fn parse_expected(expect: &parse::Expect<&str>) -> String {
    match expect {
        parse::Expect::Just(token) => format!("`{token}`"),
        other => other.as_str().to_owned(),
    }
}

/// Where a problem is: the rest of the expression from there.
fn near(rest: &str) -> String {
    if rest.is_empty() {
        "at the end".into()
    } else {
        let shown: String = rest.chars().take(20).collect();
        format!("at `{shown}`")
    }
}

fn invalid(code: &str, problems: &[String]) -> String {
    let mut text = format!("invalid --jq expression {code:?}");
    for problem in problems {
        text.push_str("\n  ");
        text.push_str(problem);
    }
    text
}

/// A result as JSON text (`pretty`: indented by two spaces, as jq prints),
/// or a string's own text with `raw` (jq's `-r`).
pub(crate) fn render(value: &Val, pretty: bool, raw: bool) -> String {
    if raw && let Val::TStr(bytes) | Val::BStr(bytes) = value {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    let mut bytes = Vec::new();
    let pp = jaq_json::write::Pp {
        indent: pretty.then(|| "  ".to_owned()),
        sep_space: pretty,
        ..Default::default()
    };
    match jaq_json::write::write(&mut bytes, &pp, 0, value) {
        Ok(()) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(_) => value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outputs(code: &str, input: &str, pretty: bool, raw: bool) -> Vec<String> {
        let jq = Jq::new(code).unwrap_or_else(|e| panic!("{e}"));
        jq.run(input.as_bytes())
            .unwrap_or_else(|e| panic!("{e}"))
            .iter()
            .map(|v| render(v, pretty, raw))
            .collect()
    }

    #[test]
    fn filters_select_and_count() {
        let list = r#"{"items": [{"id": "a", "n": 1}, {"id": "b", "n": 2}], "next_cursor": null}"#;
        assert_eq!(outputs(".items | length", list, true, false), ["2"]);
        assert_eq!(
            outputs(".items[].id", list, true, false),
            [r#""a""#, r#""b""#]
        );
        assert_eq!(outputs(".items[].id", list, true, true), ["a", "b"]);
        assert_eq!(
            outputs(".items[0]", list, true, false),
            ["{\n  \"id\": \"a\",\n  \"n\": 1\n}"]
        );
        assert_eq!(
            outputs(".items[0]", list, false, false),
            [r#"{"id":"a","n":1}"#]
        );
        assert_eq!(
            outputs("[.items[] | select(.n > 1) | .id]", list, false, false),
            [r#"["b"]"#]
        );
    }

    #[test]
    fn bad_expressions_are_refused_with_a_reason() {
        for code in [".items[", ".items | nosuchfilter", "", "{a:}"] {
            let Err(error) = Jq::new(code) else {
                panic!("{code:?} compiled");
            };
            assert!(error.starts_with("invalid --jq expression"), "{error}");
        }
        let Err(error) = Jq::new(".a | nosuchfilter") else {
            panic!("compiled");
        };
        assert!(error.contains("nosuchfilter"), "{error}");
    }

    #[test]
    fn runtime_errors_are_reported() {
        let jq = Jq::new(".items.id").unwrap_or_else(|e| panic!("{e}"));
        let Err(error) = jq.run(br#"{"items": [1]}"#) else {
            panic!("ran");
        };
        assert!(error.contains("--jq failed"), "{error}");
    }
}
