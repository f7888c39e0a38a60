//! Which API key and base URLs a command uses, and where each came from:
//! a flag, else the environment, else the saved profile (see `profiles`).
//! `auth status` shows the same answer every other command acts on.

use std::fmt;
use std::io::BufRead;
use std::path::Path;

use sendmux_client::Secret;

use crate::args::GlobalArgs;
use crate::failure::Failure;
use crate::profiles::{DEFAULT_PROFILE, Store};

/// The environment variable of the API key.
pub(crate) const KEY_ENV: &str = "SENDMUX_API_KEY";
/// The environment variable of the base URL (read by clap).
pub(crate) const BASE_URL_ENV: &str = "SENDMUX_BASE_URL";
/// The environment variable of the Sending API's base URL (read by clap).
pub(crate) const SENDING_BASE_URL_ENV: &str = sendmux_client::ENV_SENDING_BASE_URL;
/// The environment variable of the profile name (read by clap).
pub(crate) const PROFILE_ENV: &str = "SENDMUX_PROFILE";

/// Where a setting came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// A command-line flag, by name.
    Flag(&'static str),
    /// An environment variable, by name.
    Env(&'static str),
    /// A saved profile, by name.
    Profile(String),
    /// Nothing said otherwise.
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag(flag) => f.write_str(flag),
            Source::Env(name) => f.write_str(name),
            Source::Profile(name) => write!(f, "profile {name}"),
            Source::Default => f.write_str("default"),
        }
    }
}

/// The settings a command runs with.
pub(crate) struct Resolved {
    /// The saved profiles.
    pub(crate) store: Store,
    /// The profile in use (it may not exist).
    pub(crate) profile: String,
    /// Where its name came from.
    pub(crate) profile_from: Source,
    /// The API key and where it came from.
    pub(crate) key: Option<(Secret, Source)>,
    /// The base URL and where it came from; `None` is the API's own.
    pub(crate) base_url: Option<(String, Source)>,
    /// The Sending API's base URL and where it came from; `None` is its
    /// own host.
    pub(crate) sending_base_url: Option<(String, Source)>,
}

/// The profile named by `--profile` or `SENDMUX_PROFILE`, else `default`.
pub(crate) fn profile_name(global: &GlobalArgs) -> Result<(String, Source), Failure> {
    match &global.profile {
        Some(name) => {
            crate::profiles::check_name(name)?;
            Ok((
                name.clone(),
                from_flag_or_env("--profile", PROFILE_ENV, name),
            ))
        }
        None => Ok((DEFAULT_PROFILE.to_owned(), Source::Default)),
    }
}

/// The key and base URLs for this run: flag, else environment, else the
/// profile. A profile named on purpose must exist.
pub(crate) fn resolve(global: &GlobalArgs) -> Result<Resolved, Failure> {
    let store = Store::load()?;
    let (profile, profile_from) = profile_name(global)?;
    let saved = store.get(&profile);
    if saved.is_none() && profile_from != Source::Default {
        return Err(Failure::Usage(format!(
            "no profile {profile} in {}; save one with `sendmux auth login --profile {profile}`",
            store.path().display()
        )));
    }
    let key = match given_key(global)? {
        Some(given) => Some(given),
        None => saved.map(|p| (p.api_key.clone(), Source::Profile(profile.clone()))),
    };
    let base_url = match &global.base_url {
        Some(url) => Some((
            url.clone(),
            from_flag_or_env("--base-url", BASE_URL_ENV, url),
        )),
        None => saved
            .and_then(|p| p.base_url.clone())
            .map(|url| (url, Source::Profile(profile.clone()))),
    };
    let sending_base_url = match &global.sending_base_url {
        Some(url) => Some((
            url.clone(),
            from_flag_or_env("--sending-base-url", SENDING_BASE_URL_ENV, url),
        )),
        None => saved
            .and_then(|p| p.sending_base_url.clone())
            .map(|url| (url, Source::Profile(profile.clone()))),
    };
    Ok(Resolved {
        store,
        profile,
        profile_from,
        key,
        base_url,
        sending_base_url,
    })
}

/// Where a value clap took from a flag or its `env` came from: the
/// environment when the variable holds that very value.
fn from_flag_or_env(flag: &'static str, env: &'static str, value: &str) -> Source {
    if std::env::var(env).is_ok_and(|v| v == value) {
        Source::Env(env)
    } else {
        Source::Flag(flag)
    }
}

/// The key given for this run: `--api-key` (`-` reads stdin) or
/// `--api-key-file`, else `SENDMUX_API_KEY`; `None` when none is. Errors
/// never quote the key or the file's content.
pub(crate) fn given_key(global: &GlobalArgs) -> Result<Option<(Secret, Source)>, Failure> {
    let (key, source) = match (&global.api_key, global.api_key_file.as_deref()) {
        (Some(flag), _) if flag == "-" => (read_stdin_key("--api-key -")?, "--api-key"),
        (Some(flag), _) => (flag.clone(), "--api-key"),
        (None, Some(path)) => (read_key_file(path)?, "--api-key-file"),
        (None, None) => {
            return match std::env::var(KEY_ENV) {
                // An empty value counts as unset, as it did with clap's `env`.
                Ok(key) if !key.is_empty() => Ok(Some((Secret::from(key), Source::Env(KEY_ENV)))),
                Ok(_) | Err(std::env::VarError::NotPresent) => Ok(None),
                Err(std::env::VarError::NotUnicode(_)) => {
                    Err(Failure::Usage(format!("{KEY_ENV} is not valid UTF-8")))
                }
            };
        }
    };
    Ok(Some(key)
        .filter(|k| !k.is_empty())
        .map(|k| (Secret::from(k), Source::Flag(source))))
}

/// The first line of stdin as a key; `what` names where it was asked for.
pub(crate) fn read_stdin_key(what: &str) -> Result<String, Failure> {
    let line = first_line(std::io::stdin().lock())
        .map_err(|e| Failure::Usage(format!("{what}: cannot read the API key from stdin: {e}")))?;
    if line.is_empty() {
        return Err(Failure::Usage(format!(
            "{what}: stdin has no API key on its first line"
        )));
    }
    Ok(line)
}

fn read_key_file(path: &Path) -> Result<String, Failure> {
    let line = std::fs::File::open(path)
        .and_then(|f| first_line(std::io::BufReader::new(f)))
        .map_err(|e| {
            Failure::Usage(format!(
                "--api-key-file {}: cannot read the API key: {e}",
                path.display()
            ))
        })?;
    if line.is_empty() {
        return Err(Failure::Usage(format!(
            "--api-key-file {}: the first line is empty",
            path.display()
        )));
    }
    Ok(line)
}

/// The first line of `reader`, without its line ending or surrounding
/// spaces. Reads at most 64 KiB, so a wrong path (a log, a device) cannot
/// fill memory.
fn first_line(reader: impl BufRead) -> std::io::Result<String> {
    let mut bytes = Vec::new();
    reader.take(64 * 1024).read_until(b'\n', &mut bytes)?;
    // The I/O error for bad UTF-8 carries no content, unlike `FromUtf8Error`'s bytes.
    let text = String::from_utf8(bytes).map_err(|_| {
        std::io::Error::new(std::io::ErrorKind::InvalidData, "not valid UTF-8 text")
    })?;
    Ok(text.trim().to_string())
}
