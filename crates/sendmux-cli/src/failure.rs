//! How a failed command is reported: one line with code, message and request
//! id, per-field problems below it, and a distinct exit code per class.

use std::process::ExitCode;

/// Why a command failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Bad arguments or missing configuration; nothing was sent.
    Usage(String),
    /// The client reported an error.
    Client(sendmux_client::Error),
    /// `verify --wait` saw the domain fail verification.
    VerificationFailed { id: String },
    /// `verify --wait` ran out of time.
    Timeout {
        id: String,
        waited: std::time::Duration,
        last_status: String,
    },
    /// Local I/O (writing a file, reading stdin).
    Io(String),
    /// Something that should not happen.
    Internal(String),
}

impl From<sendmux_client::Error> for Failure {
    fn from(error: sendmux_client::Error) -> Self {
        Failure::Client(error)
    }
}

impl Failure {
    /// The documented exit code (see `args::EXIT_CODES_HELP`).
    pub(crate) fn exit_code(&self) -> u8 {
        use sendmux_client::Error as E;
        match self {
            Failure::Usage(_) => 2,
            Failure::Io(_) | Failure::Internal(_) => 1,
            Failure::VerificationFailed { .. } => 6,
            Failure::Timeout { .. } => 5,
            Failure::Client(error) => match error {
                E::InvalidInput(_) => 2,
                E::Api(_) | E::Undecodable { .. } => 3,
                E::WaitTimeout { .. } => 5,
                E::NotSent { .. } | E::MaybeSent { .. } => 4,
                _ => 1,
            },
        }
    }

    /// Prints the failure on stderr and returns the exit code.
    pub(crate) fn report(self) -> ExitCode {
        eprintln!("{}", self.render());
        ExitCode::from(self.exit_code())
    }

    fn render(&self) -> String {
        use sendmux_client::Error as E;
        match self {
            Failure::Usage(message) => format!("error: {message}"),
            Failure::Io(message) => format!("error: {message}"),
            Failure::Internal(message) => format!("internal error: {message}"),
            Failure::VerificationFailed { id } => format!(
                "error: domain {id} failed verification; check its DNS records with `sendmux domains get {id}`"
            ),
            Failure::Timeout {
                id,
                waited,
                last_status,
            } => format!(
                "error: timed out after {}s waiting for {id} to verify (last status: {last_status})",
                waited.as_secs()
            ),
            Failure::Client(E::InvalidInput(input)) => format!(
                "error: invalid {}: {}\n  fix: {}\n  (nothing was sent)",
                input.field, input.problem, input.fix
            ),
            Failure::Client(E::Api(api)) => {
                let mut text = format!("error: {}: {}", api.code, api.message);
                if let Some(param) = &api.param {
                    text.push_str(&format!(" (param: {param})"));
                }
                text.push_str(&format!(
                    " [HTTP {}, request {}]",
                    api.status,
                    api.request_id.as_deref().unwrap_or("unknown")
                ));
                for field in &api.field_errors {
                    text.push_str(&format!(
                        "\n  - {}: {} ({})",
                        field.field, field.message, field.code
                    ));
                }
                if let Some(wait) = api.retry_after {
                    text.push_str(&format!("\n  retry after {}s", wait.as_secs()));
                }
                text
            }
            Failure::Client(error @ E::WaitTimeout { .. }) => format!("error: timed out: {error}"),
            Failure::Client(error) => {
                let mut text = format!("error: {error}");
                let mut source = std::error::Error::source(error);
                while let Some(cause) = source {
                    text.push_str(&format!("\n  caused by: {cause}"));
                    source = cause.source();
                }
                text
            }
        }
    }
}
