//! Values the API shows once (mailbox keys, webhook signing secrets) or
//! that we send and must not print (SMTP passwords).
//!
//! A [`Secret`] prints as `<redacted>` in `Debug` and `Display`, has no
//! `Serialize`, and wipes its bytes when dropped; the value is reachable
//! only through [`Secret::expose_secret`]. Responses that carry one decode
//! through [`data`], which keeps the body out of any decoding error.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serializer};
use zeroize::Zeroize;

use crate::error::Error;
use crate::request::answer;
use crate::response::Response;
use crate::transport::Raw;

/// What `Debug` and `Display` print instead of the value.
const REDACTED: &str = "<redacted>";

/// A secret string: never printed, wiped from memory when dropped.
///
/// ```
/// let secret = sendmux_client::Secret::new("smx_mbx_abc");
/// assert_eq!(format!("{secret} {secret:?}"), "<redacted> Secret(<redacted>)");
/// assert_eq!(secret.expose_secret(), "smx_mbx_abc");
/// ```
#[derive(Clone, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself: store it where secrets belong, do not log it.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({REDACTED})")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self)
    }
}

/// Writes the value into a request body (`serialize_with`): the one place a
/// secret leaves this type other than `expose_secret`.
pub(crate) fn serialize_exposed<S: Serializer>(
    secret: &Option<Secret>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match secret {
        Some(secret) => serializer.serialize_str(secret.expose_secret()),
        None => serializer.serialize_none(),
    }
}

/// Decodes the envelope's `data` of a response that carries a secret. A
/// body that does not decode fails without a snippet, the serde message or
/// its source, all of which could quote the secret: only the position is
/// kept.
pub(crate) fn data<M: DeserializeOwned>(raw: Raw) -> Result<Response<M>, Error> {
    #[derive(Deserialize)]
    struct Data<T> {
        data: T,
    }
    match serde_json::from_slice::<Data<M>>(&raw.body) {
        Ok(envelope) => Ok(answer(raw, envelope.data)),
        Err(e) => Err(Error::Undecodable {
            status: Some(raw.status),
            request_id: raw.meta.request_id().map(str::to_owned),
            reason: format!(
                "body does not match the expected shape ({:?} error at line {}, column {}; \
                 details withheld because the body carries a secret)",
                e.classify(),
                e.line(),
                e.column()
            ),
            snippet: String::new(),
            attempts: raw.meta.attempts,
            source: None,
        }),
    }
}

/// `error` without anything read from a successful answer's body: a body
/// over the size limit keeps its first bytes as a snippet, and a
/// conformance report may quote values.
pub(crate) fn withhold_body(error: Error) -> Error {
    let withheld = "details withheld because the body carries a secret";
    match error {
        Error::Undecodable {
            status,
            request_id,
            reason,
            attempts,
            ..
        } if status.is_some_and(|s| (200..300).contains(&s)) => Error::Undecodable {
            status,
            request_id,
            reason: format!("{reason} ({withheld})"),
            snippet: String::new(),
            attempts,
            source: None,
        },
        #[cfg(feature = "conformance")]
        Error::Conformance {
            operation,
            status,
            request_id,
            report,
        } => Error::Conformance {
            operation,
            status,
            request_id,
            // The first line counts the violations; the rest may quote.
            report: format!("{}; {withheld}", report.lines().next().unwrap_or_default()),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn never_printed() {
        let secret: Secret = serde_json::from_str("\"hunter2\"").unwrap();
        let shown = format!("{secret} {secret:?} {secret:#?} {:?}", Some(&secret));
        assert!(!shown.contains("hunter2"), "{shown}");
        assert_eq!(secret.expose_secret(), "hunter2");
        assert_eq!(secret.clone().expose_secret(), "hunter2");
    }
}
