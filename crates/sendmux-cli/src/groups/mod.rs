//! The command groups of the Management API beyond `domains`: one module
//! per group, each holding its clap grammar and its `run`. What they share
//! sits here: the list flags and the list runner, delete confirmation, the
//! sender-filter flags (domains use them too), and [`reveal`], the one place
//! the CLI prints a secret.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use futures::TryStreamExt;
use sendmux_client::{FilterMode, FilterRule, FilterState, Page, Request, Response, Secret};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::args::{FilterModeArg, OutputFormat};
use crate::failure::Failure;
use crate::records::{self, Column, ListText};

pub(crate) mod auth;
pub(crate) mod billing;
pub(crate) mod logs;
pub(crate) mod mail;
pub(crate) mod mailboxes;
pub(crate) mod send;
pub(crate) mod sending_accounts;
pub(crate) mod webhooks;

/// `--limit`, `--all` and `--cursor` of every list command.
#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Page size (1 to 100).
    #[arg(long)]
    pub(crate) limit: Option<u32>,
    /// Follow pages until the end instead of printing one page.
    #[arg(long)]
    pub(crate) all: bool,
    /// Start after this cursor (printed by a previous list).
    #[arg(long)]
    pub(crate) cursor: Option<String>,
}

/// Runs a cursor list: one page (with its next cursor), or with `--all`
/// every item. In `json` and `jsonl`, `--all` prints items as pages
/// arrive; tables, YAML and `--jq` need the whole list first.
pub(crate) async fn list<M>(
    format: OutputFormat,
    mut request: Request<Response<Page<M>>>,
    args: ListArgs,
    columns: &[Column],
    empty: &str,
) -> Result<(), Failure>
where
    M: DeserializeOwned + Serialize + Send + 'static,
{
    if let Some(limit) = args.limit {
        request = request.limit(limit);
    }
    if let Some(cursor) = args.cursor {
        request = request.cursor(cursor);
    }
    let more = rerun_hint();
    let text = ListText { more: &more, empty };
    if args.all && crate::output::streams(format) {
        let mut items = std::pin::pin!(request.stream());
        let mut out = crate::output::ItemStream::new(format);
        while let Some(item) = items.try_next().await? {
            out.push(&item)?;
        }
        out.finish()
    } else if args.all {
        let items: Vec<M> = request.stream().try_collect().await?;
        records::list(format, &items, columns, None, &text)
    } else {
        let page = request.send().await?.into_inner();
        let next = page
            .has_more
            .then_some(page.next_cursor.as_deref())
            .flatten();
        records::list(format, &page.items, columns, next, &text)
    }
}

/// This command line without `--cursor` (nor the API key), to which the
/// "more follow" hint adds the next cursor: filters given stay in it.
fn rerun_hint() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    crate::failure::command_without(&args, &["--cursor"]).join(" ")
}

/// Asks before deleting `what` `id` on a terminal; a script must pass `--yes`.
pub(crate) fn confirm_delete(what: &str, id: &str) -> Result<(), Failure> {
    if !std::io::stdin().is_terminal() {
        return Err(Failure::Usage(format!(
            "refusing to delete {id} without confirmation; pass --yes to delete from a script"
        )));
    }
    eprint!("Delete {what} {id}? This cannot be undone. [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .read_line(&mut answer)
        .map_err(|e| Failure::Io(format!("cannot read the answer: {e}")))?;
    if matches!(answer.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        Err(Failure::Usage("deletion cancelled".into()))
    }
}

/// The flags of `filters set` (domains and mailboxes): a mode with allow
/// and deny patterns, or the whole state from a JSON file.
#[derive(Debug, Args)]
pub(crate) struct FilterRulesArgs {
    /// Which senders get in.
    #[arg(long, value_enum, required_unless_present = "from_file")]
    pub(crate) mode: Option<FilterModeArg>,
    /// A sender address or domain to let in (repeatable).
    #[arg(long = "allow", value_name = "PATTERN")]
    pub(crate) allow: Vec<String>,
    /// A sender address or domain to keep out (repeatable).
    #[arg(long = "deny", value_name = "PATTERN")]
    pub(crate) deny: Vec<String>,
    /// Read `{"mode": .., "rules": [{"type": "allow", "pattern": ..}]}` from a JSON file (`-` for stdin).
    #[arg(long, conflicts_with_all = ["mode", "allow", "deny"])]
    pub(crate) from_file: Option<PathBuf>,
}

impl FilterRulesArgs {
    /// The filter state these flags describe.
    pub(crate) fn into_state(self) -> Result<FilterState, Failure> {
        if let Some(path) = self.from_file {
            return read_filter_file(&path);
        }
        let mode = match self.mode {
            Some(FilterModeArg::Off) | None => FilterMode::Off,
            Some(FilterModeArg::Allowlist) => FilterMode::Allowlist,
            Some(FilterModeArg::Denylist) => FilterMode::Denylist,
        };
        let rules = self
            .allow
            .into_iter()
            .map(FilterRule::allow)
            .chain(self.deny.into_iter().map(FilterRule::deny));
        Ok(FilterState::new(mode, rules))
    }
}

fn read_filter_file(path: &Path) -> Result<FilterState, Failure> {
    let mut text = String::new();
    if path.as_os_str() == "-" {
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| Failure::Io(format!("cannot read stdin: {e}")))?;
    } else {
        text = std::fs::read_to_string(path)
            .map_err(|e| Failure::Io(format!("cannot read {}: {e}", path.display())))?;
    }
    serde_json::from_str(&text).map_err(|e| {
        Failure::Usage(format!(
            "{} is not a filter state ({e}); expected {{\"mode\": \"allowlist\", \"rules\": [{{\"type\": \"allow\", \"pattern\": \"partner.com\"}}]}}",
            path.display()
        ))
    })
}

/// A secret the API shows once, as the JSON value the CLI prints: the one
/// place the CLI exposes a secret for output. Callers print it only in the
/// answer of the command that received it, after [`warn_shown_once`].
pub(crate) fn reveal(secret: &Secret) -> Value {
    Value::String(secret.expose_secret().to_owned())
}

/// Tells the user, on stderr, to store `what` now.
pub(crate) fn warn_shown_once(what: &str, again: &str) {
    eprintln!(
        "warning: this is the only time the {what} is shown; store it now (a password manager or \
         secret store). It cannot be shown again: {again}."
    );
}

/// A model as JSON, for combining it with fields the model lacks.
pub(crate) fn to_json<T: Serialize>(item: &T) -> Result<Value, Failure> {
    serde_json::to_value(item).map_err(|e| Failure::Internal(format!("cannot encode JSON: {e}")))
}
