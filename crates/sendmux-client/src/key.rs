//! API keys and the API surfaces they unlock.

use std::fmt;

use crate::error::{Error, InvalidInput};

/// The kind of an API key, recognised from its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyKind {
    /// A team-wide root key, prefix `smx_root_`.
    Root,
    /// A mailbox key, prefix `smx_mbx_`.
    Mailbox,
    /// An agent token, prefix `smx_agent_`.
    Agent,
}

impl KeyKind {
    /// The literal prefix every key of this kind starts with.
    pub const fn prefix(self) -> &'static str {
        match self {
            KeyKind::Root => "smx_root_",
            KeyKind::Mailbox => "smx_mbx_",
            KeyKind::Agent => "smx_agent_",
        }
    }

    fn from_secret(secret: &str) -> Option<Self> {
        [KeyKind::Root, KeyKind::Mailbox, KeyKind::Agent]
            .into_iter()
            .find(|kind| secret.starts_with(kind.prefix()))
    }
}

/// A group of API routes that share one kind of credential.
///
/// Each surface accepts only some [`KeyKind`]s. A [`Client`](crate::Client)
/// may hold a root key and a mailbox key at once; every call picks the one
/// its operation's surface accepts, and fails before any request is made
/// when the client has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Surface {
    /// Team-wide resources such as domains. Needs a root key.
    Management,
    /// Everything under `/mailbox`. Needs a mailbox key or an agent token.
    Mailbox,
    /// The Sending API on its own host. Needs a mailbox key or an agent token.
    Sending,
}

impl Surface {
    /// The key kinds this surface accepts.
    pub const fn accepted_kinds(self) -> &'static [KeyKind] {
        match self {
            Surface::Management => &[KeyKind::Root],
            Surface::Mailbox | Surface::Sending => &[KeyKind::Mailbox, KeyKind::Agent],
        }
    }

    /// Whether a key of `kind` may call this surface.
    pub fn accepts(self, kind: KeyKind) -> bool {
        self.accepted_kinds().contains(&kind)
    }
}

/// Fails, before any I/O, unless a key of `kind` may call `surface`.
pub(crate) fn check_kind(kind: KeyKind, surface: Surface) -> Result<(), Error> {
    if surface.accepts(kind) {
        return Ok(());
    }
    let wanted: Vec<&str> = surface
        .accepted_kinds()
        .iter()
        .map(|k| k.prefix())
        .collect();
    Err(Error::InvalidInput(InvalidInput::new(
        "api_key",
        format!(
            "is a {} key, which the {surface:?} API refuses",
            kind.prefix()
        ),
        format!("use a key starting with {}", wanted.join(" or ")),
    )))
}

/// The name used in messages (`the Sending API`).
fn api_name(surface: Surface) -> &'static str {
    match surface {
        Surface::Management => "Management",
        Surface::Mailbox => "Mailbox",
        Surface::Sending => "Sending",
    }
}

/// The error of a call whose client holds no key for `surface`; `held` is
/// the kind of the key it does hold, if any. Names prefixes, never values.
pub(crate) fn missing_key(surface: Surface, held: Option<KeyKind>) -> Error {
    let api = api_name(surface);
    let problem = match held {
        Some(kind) => format!(
            "this client has a {} key, which the {api} API refuses",
            kind.prefix()
        ),
        None => format!("this client has no key for the {api} API"),
    };
    let fix = match surface {
        Surface::Management => {
            "add a root key (smx_root_...) with ClientBuilder::api_key".to_owned()
        }
        Surface::Mailbox | Surface::Sending => "add a mailbox key or agent token \
             (smx_mbx_... or smx_agent_...) with ClientBuilder::mailbox_key or \
             Client::with_mailbox_key"
            .to_owned(),
    };
    Error::InvalidInput(InvalidInput::new("api_key", problem, fix))
}

/// A key ready to send: its `Authorization` value, marked sensitive so
/// HTTP libraries do not log it, and its kind. `Debug` shows the kind only.
#[derive(Clone)]
pub(crate) struct Credential {
    pub(crate) header: http::HeaderValue,
    pub(crate) kind: KeyKind,
}

impl Credential {
    pub(crate) fn new(key: &ApiKey) -> Result<Self, Error> {
        Ok(Self {
            header: key.header_value()?,
            kind: key.kind(),
        })
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}<redacted>", self.kind.prefix())
    }
}

/// A Sendmux API key.
///
/// The secret never leaves this type except as the `Authorization` header of
/// a request (marked sensitive, so HTTP libraries do not log it). `Debug` and
/// `Display` show only the kind of key.
///
/// ```
/// use sendmux_client::{ApiKey, KeyKind};
///
/// let key = ApiKey::new("smx_root_0123456789abcdef").unwrap();
/// assert_eq!(key.kind(), KeyKind::Root);
/// assert_eq!(format!("{key:?}"), "ApiKey(smx_root_<redacted>)");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey {
    secret: String,
    kind: KeyKind,
}

impl ApiKey {
    /// Checks the shape of `secret` (a known prefix, something after it, no
    /// whitespace or control characters) and wraps it.
    pub fn new(secret: impl Into<String>) -> Result<Self, Error> {
        let secret = secret.into();
        let invalid = |problem: &str| {
            Error::InvalidInput(InvalidInput::new(
                "api_key",
                problem,
                "pass the key exactly as shown in the Sendmux dashboard \
                 (it starts with smx_root_, smx_mbx_ or smx_agent_)",
            ))
        };
        if secret.is_empty() {
            return Err(invalid("is empty"));
        }
        // Never echo the value: a malformed key is still mostly secret.
        if !secret.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(invalid("contains whitespace or non-printable characters"));
        }
        let kind = KeyKind::from_secret(&secret).ok_or_else(|| invalid("has an unknown prefix"))?;
        if secret.len() == kind.prefix().len() {
            return Err(invalid("has nothing after its prefix"));
        }
        Ok(Self { secret, kind })
    }

    /// Like [`ApiKey::new`], and also checks that the key may call `surface`.
    pub fn for_surface(secret: impl Into<String>, surface: Surface) -> Result<Self, Error> {
        let key = Self::new(secret)?;
        key.check_surface(surface)?;
        Ok(key)
    }

    /// Fails unless this key may call `surface`.
    pub fn check_surface(&self, surface: Surface) -> Result<(), Error> {
        check_kind(self.kind, surface)
    }

    /// The kind of key, from its prefix.
    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// The `Authorization` header value, marked sensitive.
    pub(crate) fn header_value(&self) -> Result<http::HeaderValue, Error> {
        let mut value =
            http::HeaderValue::try_from(format!("Bearer {}", self.secret)).map_err(|_| {
                Error::InvalidInput(InvalidInput::new(
                    "api_key",
                    "cannot be sent as an HTTP header",
                    "pass the key exactly as shown in the Sendmux dashboard",
                ))
            })?;
        value.set_sensitive(true);
        Ok(value)
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({}<redacted>)", self.kind.prefix())
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}<redacted>", self.kind.prefix())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn redacts_and_classifies() {
        let key = ApiKey::new("smx_mbx_supersecret").unwrap();
        assert_eq!(key.kind(), KeyKind::Mailbox);
        assert!(!format!("{key:?}{key}").contains("supersecret"));
        assert!(key.header_value().unwrap().is_sensitive());
    }

    #[test]
    fn rejects_bad_shapes_without_echoing_them() {
        for bad in [
            "",
            "smx_root_",
            "sk_live_abc",
            "smx_root_ab cd",
            "smx_root_\u{e9}",
        ] {
            let err = ApiKey::new(bad).unwrap_err();
            let text = format!("{err} {err:?}");
            assert!(text.contains("api_key"), "{text}");
            if bad.len() > 9 {
                assert!(!text.contains(bad), "{text}");
            }
        }
    }

    #[test]
    fn surfaces_check_prefixes() {
        assert!(ApiKey::for_surface("smx_root_x", Surface::Management).is_ok());
        assert!(ApiKey::for_surface("smx_agent_x", Surface::Sending).is_ok());
        let err = ApiKey::for_surface("smx_mbx_x", Surface::Management).unwrap_err();
        assert!(err.to_string().contains("smx_root_"), "{err}");
        assert!(ApiKey::for_surface("smx_root_x", Surface::Mailbox).is_err());
    }

    #[test]
    fn a_missing_key_names_both_prefixes_and_the_fix() {
        let text = missing_key(Surface::Sending, Some(KeyKind::Root)).to_string();
        assert!(
            text.contains("smx_root_") && text.contains("smx_mbx_"),
            "{text}"
        );
        assert!(text.contains("Sending API"), "{text}");
        let text = missing_key(Surface::Management, Some(KeyKind::Mailbox)).to_string();
        assert!(
            text.contains("smx_mbx_") && text.contains("smx_root_"),
            "{text}"
        );
        let credential = Credential::new(&ApiKey::new("smx_agent_hidden").unwrap()).unwrap();
        assert_eq!(format!("{credential:?}"), "smx_agent_<redacted>");
    }
}
