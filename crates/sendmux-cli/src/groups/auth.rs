//! `sendmux auth`: save an API key as a profile after checking it, show
//! which key and base URLs commands use (never the key itself), remove a
//! profile. Where settings come from is `credentials`; the file is
//! `profiles`.

use std::io::IsTerminal;

use clap::Subcommand;
use sendmux_client::operations::ops;
use sendmux_client::{ApiKey, Client, KeyKind, Secret};
use serde_json::{Value, json};

use crate::args::{GlobalArgs, OutputFormat};
use crate::credentials::{self, Source};
use crate::failure::Failure;
use crate::profiles::{Profile, Store, masked};
use crate::records::{self, Column, ListText, col, detail, done};
use crate::terminal::clean;

#[derive(Debug, Subcommand)]
pub(crate) enum AuthCommand {
    /// Check an API key with one read-only call and save it as a profile
    /// (`default`, or --profile NAME), with --base-url and
    /// --sending-base-url if given (logging in again keeps the URLs not
    /// given). The key is asked for without echo on a terminal, else read
    /// from the first line of stdin (or taken from --api-key-file).
    #[command(
        after_help = "Examples:\n  sendmux auth login\n  pass show sendmux/work | sendmux auth login --profile work\n  sendmux auth login --profile local --base-url http://127.0.0.1:8080/api/v1 \\\n    --sending-base-url http://127.0.0.1:8081/api/v1 --api-key-file ./key.txt"
    )]
    Login {
        /// Save the key without the check call (e.g. offline).
        #[arg(long)]
        no_check: bool,
    },
    /// Show the profile, key and base URLs commands use, and where each
    /// comes from; keys only as their prefix and last 4 characters.
    #[command(
        after_help = "Examples:\n  sendmux auth status\n  sendmux auth status --profile work -o json"
    )]
    Status,
    /// Remove a saved profile (`default`, or --profile NAME).
    #[command(
        after_help = "Examples:\n  sendmux auth logout\n  sendmux auth logout --profile work"
    )]
    Logout,
}

/// Runs `sendmux auth ...`.
pub(crate) async fn run(
    command: AuthCommand,
    global: &GlobalArgs,
    format: OutputFormat,
) -> Result<(), Failure> {
    if global.mock {
        return Err(Failure::Usage(
            "--mock has no account to log in to: `auth` works with saved profiles".into(),
        ));
    }
    match command {
        AuthCommand::Login { no_check } => login(global, format, no_check).await,
        AuthCommand::Status => status(global, format),
        AuthCommand::Logout => logout(global, format),
    }
}

async fn login(global: &GlobalArgs, format: OutputFormat, no_check: bool) -> Result<(), Failure> {
    let (name, _) = credentials::profile_name(global)?;
    let mut store = Store::load()?;
    let key = match credentials::given_key(global)? {
        // Only what was given for this login; a key in the environment is
        // not saved by surprise.
        Some((key, Source::Flag(_))) => key,
        _ => ask_for_key()?,
    };
    // Each URL given now, else the one the profile had.
    let base_url = global
        .base_url
        .clone()
        .or_else(|| store.get(&name).and_then(|p| p.base_url.clone()));
    let sending_base_url = global
        .sending_base_url
        .clone()
        .or_else(|| store.get(&name).and_then(|p| p.sending_base_url.clone()));
    let kind = ApiKey::new(key.expose_secret())?.kind();
    let mut builder = Client::builder().api_key(key.expose_secret());
    if let Some(url) = &base_url {
        builder = builder.base_url(url);
    }
    // Checked as a URL when the client is built (no call goes there), so
    // a malformed one is never saved.
    if let Some(url) = &sending_base_url {
        builder = builder.sending_base_url(url);
    }
    let client = builder.build()?;
    if no_check {
        eprintln!("note: saved without checking the key");
    } else {
        check(&client, kind).await.map_err(|failure| {
            crate::failure::base_url_hint(failure, client.base_url())
                .with_hint("the key was not saved; check it, or pass --no-check to save it anyway")
        })?;
    }
    let shown = masked(key.expose_secret());
    store.set(
        &name,
        Profile {
            api_key: key,
            base_url: base_url.clone(),
            sending_base_url: sending_base_url.clone(),
        },
    );
    store.save()?;
    let path = store.path().display().to_string();
    let how = if name == crate::profiles::DEFAULT_PROFILE {
        "Commands use it when no other key is given.".to_owned()
    } else {
        format!(
            "Commands use it with --profile {name} (or {}={name}).",
            credentials::PROFILE_ENV
        )
    };
    let message = format!("Saved profile {name} ({shown}) in {}.\n{how}", clean(&path));
    let saved = json!({
        "profile": name,
        "key": shown,
        "base_url": base_url,
        "sending_base_url": sending_base_url,
        "config_file": path,
    });
    done(format, &saved, &message)
}

/// The key, asked for without echo on a terminal, else the first line of
/// stdin.
fn ask_for_key() -> Result<Secret, Failure> {
    if std::io::stdin().is_terminal() {
        let key = rpassword::prompt_password("API key (input hidden): ")
            .map_err(|e| Failure::Io(format!("cannot read the API key: {e}")))?;
        let key = Secret::from(key.trim());
        if key.expose_secret().is_empty() {
            return Err(Failure::Usage("no API key was entered".into()));
        }
        Ok(key)
    } else {
        credentials::read_stdin_key("auth login").map(Secret::from)
    }
}

/// One read-only call the key may make: the first domain for a root key,
/// the mailbox itself for a mailbox key or agent token.
async fn check(client: &Client, kind: KeyKind) -> Result<(), Failure> {
    match kind {
        KeyKind::Root => {
            client.domains().list().limit(1).send().await?;
        }
        _ => {
            client.operation(ops::MAILBOX_GET_ME.id)?.send().await?;
        }
    }
    Ok(())
}

const STATUS: &[Column] = &[
    col("Profile", "/profile"),
    col("Profile from", "/profile_from"),
    col("Key", "/key"),
    col("Key from", "/key_from"),
    col("Base URL", "/base_url"),
    col("Base URL from", "/base_url_from"),
    col("Sending base URL", "/sending_base_url"),
    col("Sending base URL from", "/sending_base_url_from"),
    col("Profiles file", "/config_file"),
];

const PROFILES: &[Column] = &[
    col("NAME", "/name"),
    col("KEY", "/key"),
    col("BASE URL", "/base_url"),
    col("SENDING BASE URL", "/sending_base_url"),
];

fn status(global: &GlobalArgs, format: OutputFormat) -> Result<(), Failure> {
    let settings = credentials::resolve(global)?;
    let (key, key_from) = match &settings.key {
        Some((key, from)) => (
            Value::String(masked(key.expose_secret())),
            Value::String(from.to_string()),
        ),
        None => (Value::Null, Value::Null),
    };
    let (base_url, base_url_from) = shown_url(&settings.base_url, sendmux_client::DEFAULT_BASE_URL);
    let (sending_base_url, sending_base_url_from) = shown_url(
        &settings.sending_base_url,
        sendmux_client::DEFAULT_SENDING_BASE_URL,
    );
    let profiles: Vec<Value> = settings
        .store
        .iter()
        .map(|(name, profile)| {
            json!({
                "name": name,
                "key": masked(profile.api_key.expose_secret()),
                "base_url": profile.base_url,
                "sending_base_url": profile.sending_base_url,
            })
        })
        .collect();
    let shown = json!({
        "profile": settings.profile,
        "profile_from": settings.profile_from.to_string(),
        "key": key,
        "key_from": key_from,
        "base_url": base_url,
        "base_url_from": base_url_from,
        "sending_base_url": sending_base_url,
        "sending_base_url_from": sending_base_url_from,
        "config_file": settings.store.path().display().to_string(),
        "profiles": profiles,
    });
    if !format.is_table() {
        return crate::output::value(format, &shown);
    }
    let heading = settings
        .key
        .is_none()
        .then_some("No API key: run `sendmux auth login`, or set SENDMUX_API_KEY.");
    detail(format, &shown, STATUS, heading)?;
    crate::output::write_stdout("\nSaved profiles:")?;
    let text = ListText {
        more: "",
        empty: "none",
    };
    records::list(format, &profiles, PROFILES, None, &text)
}

/// A URL as `status` shows it, with where it came from; `default` is the
/// API's own.
fn shown_url(resolved: &Option<(String, Source)>, default: &str) -> (String, String) {
    match resolved {
        Some((url, from)) => (url.clone(), from.to_string()),
        None => (default.to_owned(), Source::Default.to_string()),
    }
}

fn logout(global: &GlobalArgs, format: OutputFormat) -> Result<(), Failure> {
    let (name, _) = credentials::profile_name(global)?;
    let mut store = Store::load()?;
    if !store.remove(&name) {
        return Err(Failure::Usage(format!(
            "no profile {name} in {}",
            store.path().display()
        )));
    }
    store.save()?;
    let path = store.path().display().to_string();
    let message = format!("Removed profile {name} from {}.", clean(&path));
    done(
        format,
        &json!({ "profile": name, "removed": true, "config_file": path }),
        &message,
    )
}
