//! Saved profiles: named API keys, each with an optional base URL and
//! Sending API base URL, in
//! `config.toml` in the user's configuration folder (`sendmux/` under
//! `$XDG_CONFIG_HOME` or `~/.config` on Linux, `~/Library/Application
//! Support` on macOS, `%APPDATA%` on Windows; `SENDMUX_CONFIG_DIR` names
//! another folder). `sendmux auth login` writes it, every command reads it.
//!
//! Which key a command uses: `--api-key`/`--api-key-file`, else
//! `SENDMUX_API_KEY`, else the profile (`--profile`, else `SENDMUX_PROFILE`,
//! else `default`). The base URL likewise: `--base-url`, else
//! `SENDMUX_BASE_URL`, else the profile's, else the API's own; and the
//! Sending API's: `--sending-base-url`, else `SENDMUX_SENDING_BASE_URL`,
//! else the profile's, else the Sending API's own host.
//!
//! The file holds keys: on Unix it is created with mode 0600 (in a folder
//! created 0700) and replaced, never rewritten in place. No error message
//! quotes its content.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use sendmux_client::{KeyKind, Secret};
use serde::{Deserialize, Serialize};

use crate::failure::Failure;

/// The profile used when none is named.
pub(crate) const DEFAULT_PROFILE: &str = "default";

/// Names another folder for `config.toml` (tests, several setups).
pub(crate) const CONFIG_DIR_ENV: &str = "SENDMUX_CONFIG_DIR";

const FILE_NAME: &str = "config.toml";

const HEADER: &str = "\
# Written by `sendmux auth login`; `sendmux auth logout` removes a profile.
# It holds API keys: keep it readable by you alone.
";

/// One saved profile.
pub(crate) struct Profile {
    /// The API key, as given to `auth login`.
    pub(crate) api_key: Secret,
    /// The base URL to use with it, when not the API's own.
    pub(crate) base_url: Option<String>,
    /// The Sending API's base URL to use with it, when not its own host.
    pub(crate) sending_base_url: Option<String>,
}

#[derive(Deserialize)]
struct FileIn {
    #[serde(default)]
    profiles: BTreeMap<String, ProfileIn>,
}

#[derive(Deserialize)]
struct ProfileIn {
    api_key: Secret,
    #[serde(default)]
    base_url: Option<String>,
    #[serde(default)]
    sending_base_url: Option<String>,
}

#[derive(Serialize)]
struct FileOut<'a> {
    profiles: BTreeMap<&'a str, ProfileOut<'a>>,
}

#[derive(Serialize)]
struct ProfileOut<'a> {
    api_key: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    base_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sending_base_url: Option<&'a str>,
}

/// The saved profiles, as read from (and written back to) one file.
pub(crate) struct Store {
    path: PathBuf,
    profiles: BTreeMap<String, Profile>,
}

impl Store {
    /// The folder of the file: `SENDMUX_CONFIG_DIR`, else `sendmux` in the
    /// user's configuration folder.
    pub(crate) fn dir() -> Result<PathBuf, Failure> {
        if let Some(dir) = std::env::var_os(CONFIG_DIR_ENV).filter(|d| !d.is_empty()) {
            return Ok(PathBuf::from(dir));
        }
        dirs::config_dir()
            .map(|dir| dir.join("sendmux"))
            .ok_or_else(|| {
                Failure::Usage(format!(
                    "cannot find your configuration folder (no home folder?); set {CONFIG_DIR_ENV} to one"
                ))
            })
    }

    /// Reads the file; a missing file is no profiles.
    pub(crate) fn load() -> Result<Self, Failure> {
        let path = Self::dir()?.join(FILE_NAME);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Self {
                    path,
                    profiles: BTreeMap::new(),
                });
            }
            Err(e) => {
                return Err(Failure::Io(format!("cannot read {}: {e}", path.display())));
            }
        };
        warn_if_shared(&path);
        let file: FileIn = toml::from_str(&text).map_err(|e| {
            // The parser's own text quotes the line, which may hold a key:
            // only its message and the line number.
            let line = e
                .span()
                .map(|span| text[..span.start.min(text.len())].lines().count().max(1));
            Failure::Usage(format!(
                "{} is not a valid profile file ({}{}); fix it or remove it and run `sendmux auth login` again",
                path.display(),
                e.message().trim(),
                line.map(|l| format!(", line {l}")).unwrap_or_default()
            ))
        })?;
        let profiles = file
            .profiles
            .into_iter()
            .map(|(name, p)| {
                let profile = Profile {
                    api_key: p.api_key,
                    base_url: p.base_url.filter(|u| !u.trim().is_empty()),
                    sending_base_url: p.sending_base_url.filter(|u| !u.trim().is_empty()),
                };
                (name, profile)
            })
            .collect();
        Ok(Self { path, profiles })
    }

    /// Where the file is (or would be).
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The profile called `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&Profile> {
        self.profiles.get(name)
    }

    /// Every profile, by name.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &Profile)> {
        self.profiles.iter().map(|(name, p)| (name.as_str(), p))
    }

    /// Adds or replaces a profile (saved by [`Store::save`]).
    pub(crate) fn set(&mut self, name: &str, profile: Profile) {
        self.profiles.insert(name.to_owned(), profile);
    }

    /// Removes a profile (saved by [`Store::save`]); whether it was there.
    pub(crate) fn remove(&mut self, name: &str) -> bool {
        self.profiles.remove(name).is_some()
    }

    /// Writes the profiles: a new private file moved over the old one, or
    /// no file at all when none is left.
    pub(crate) fn save(&self) -> Result<(), Failure> {
        let io = |what: &str, path: &Path, e: std::io::Error| {
            Failure::Io(format!("cannot {what} {}: {e}", path.display()))
        };
        if self.profiles.is_empty() {
            return match std::fs::remove_file(&self.path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    Err(io("remove", &self.path, e))
                }
                _ => Ok(()),
            };
        }
        let out = FileOut {
            profiles: self
                .profiles
                .iter()
                .map(|(name, p)| {
                    let profile = ProfileOut {
                        api_key: p.api_key.expose_secret(),
                        base_url: p.base_url.as_deref(),
                        sending_base_url: p.sending_base_url.as_deref(),
                    };
                    (name.as_str(), profile)
                })
                .collect(),
        };
        let body = toml::to_string(&out)
            .map_err(|e| Failure::Internal(format!("cannot write the profiles: {e}")))?;
        let dir = self.path.parent().unwrap_or(Path::new("."));
        create_private_dir(dir).map_err(|e| io("create", dir, e))?;
        let temporary = dir.join(format!(".{FILE_NAME}.{}.tmp", std::process::id()));
        let written = create_private_file(&temporary).and_then(|mut file| {
            file.write_all(HEADER.as_bytes())?;
            file.write_all(body.as_bytes())?;
            file.sync_all()
        });
        if let Err(e) = written.and_then(|()| std::fs::rename(&temporary, &self.path)) {
            let _ = std::fs::remove_file(&temporary);
            return Err(io("write", &self.path, e));
        }
        Ok(())
    }
}

/// Checks a profile name: letters, digits, `-`, `_` and `.`, 1 to 64 of them.
pub(crate) fn check_name(name: &str) -> Result<(), Failure> {
    let fine = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if fine {
        Ok(())
    } else {
        Err(Failure::Usage(format!(
            "profile name {:?} is not usable: use 1 to 64 letters, digits, `-`, `_` or `.`",
            crate::terminal::clean(name)
        )))
    }
}

/// A key as it may be shown: its kind's prefix and its last 4 characters
/// (`smx_root_…a1b2`), never more.
pub(crate) fn masked(key: &str) -> String {
    let prefix = [KeyKind::Root, KeyKind::Mailbox, KeyKind::Agent]
        .into_iter()
        .map(KeyKind::prefix)
        .find(|p| key.starts_with(p))
        .unwrap_or("");
    let rest = &key[prefix.len()..];
    // A short key would be mostly shown by its last 4: show none of it.
    if rest.chars().count() < 12 || !rest.is_ascii() {
        return format!("{prefix}…");
    }
    format!("{prefix}…{}", &rest[rest.len() - 4..])
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

/// A new file only its owner can read: created with that mode, so it is
/// never readable by others, not even for a moment.
fn create_private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        // Left over by a run that was killed while writing.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            std::fs::remove_file(path)?;
            options.open(path)
        }
        other => other,
    }
}

/// Warns when others may read the file (it was made so by hand).
#[cfg(unix)]
fn warn_if_shared(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        eprintln!(
            "warning: {} holds API keys and other users can read it; run `chmod 600 {}`",
            path.display(),
            path.display()
        );
    }
}

#[cfg(not(unix))]
fn warn_if_shared(_path: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_show_the_prefix_and_last_four_only() {
        assert_eq!(masked("smx_root_0123456789abcdef"), "smx_root_…cdef");
        assert_eq!(masked("smx_mbx_0123456789abWXYZ"), "smx_mbx_…WXYZ");
        assert_eq!(masked("smx_root_short"), "smx_root_…");
        assert_eq!(masked("something_else_entirely"), "…rely");
    }

    #[test]
    fn profile_names_are_plain() {
        assert!(check_name("default").is_ok());
        assert!(check_name("work-eu_2.prod").is_ok());
        for bad in ["", "a b", "x/y", "é", &"a".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
