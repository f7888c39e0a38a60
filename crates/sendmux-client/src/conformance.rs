//! Checking every response against the API description (feature
//! `conformance`).
//!
//! The client reads each response body itself, so the check sees exactly the
//! bytes, status and headers the server sent, on every attempt, error and
//! `304` responses included. It uses [`sendmux_conformance::Spec::embedded`]
//! (or [`Spec::embedded_sending`] for the Sending API), compiled once per
//! process.
//!
//! ```no_run
//! use sendmux_client::Client;
//! use sendmux_client::conformance::ConformanceMode;
//!
//! # fn run() -> Result<(), sendmux_client::Error> {
//! let client = Client::builder()
//!     .api_key("smx_root_...")
//!     .conformance(ConformanceMode::Strict)
//!     .build()?;
//! # let _ = client; Ok(())
//! # }
//! ```

use http::HeaderMap;
use sendmux_conformance::Spec;

use crate::error::Error;
use crate::transport::Call;

/// What the client does with a response that breaks the description.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ConformanceMode {
    /// Log each violation as a `tracing` warning and carry on (default).
    #[default]
    Warn,
    /// Fail the call with [`Error::Conformance`]; the attempt is not retried.
    Strict,
}

/// The mode; the descriptions are compiled on first use.
#[derive(Debug)]
pub(crate) struct Checker {
    mode: ConformanceMode,
}

impl Checker {
    pub(crate) fn new(mode: ConformanceMode) -> Self {
        Self { mode }
    }

    /// Validates one response; `Err` only in strict mode.
    pub(crate) fn check(
        &self,
        call: &Call,
        status: u16,
        headers: &HeaderMap,
        body: &[u8],
        request_id: Option<&str>,
    ) -> Result<(), Error> {
        // One document per base URL: the Sending API has its own.
        let spec = match call.op.surface {
            sendmux_operations::Surface::Sending => Spec::embedded_sending(),
            _ => Spec::embedded(),
        };
        let report = spec.validate_response(&call.op.method, &call.path, status, headers, body);
        if report.is_ok() {
            return Ok(());
        }
        let mut text = report.to_string();
        if call.sensitive {
            // Violation messages quote the values they reject, and this
            // answer carries a secret: keep the count line only.
            let first = text.lines().next().unwrap_or_default().to_owned();
            text = format!("{first}; details withheld because the body carries a secret");
        }
        match self.mode {
            ConformanceMode::Warn => {
                tracing::warn!(
                    operation = call.op.id,
                    status,
                    request_id,
                    violations = %text,
                    "response does not conform to the API description"
                );
                Ok(())
            }
            ConformanceMode::Strict => Err(Error::Conformance {
                operation: call.op.id,
                status,
                request_id: request_id.map(str::to_owned),
                report: text,
            }),
        }
    }
}
