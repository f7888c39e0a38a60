//! How a failed command is reported: one line with code, message and request
//! id, per-field problems below it, and a distinct exit code per class.

use std::process::ExitCode;

use crate::terminal::clean;

/// Why a command failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Bad arguments or missing configuration; nothing was sent.
    Usage(String),
    /// A folder given by id, role or name that is no usable folder (none
    /// or several match, or `mail mv` cannot reach it); only the folder
    /// list was read.
    Folder(crate::groups::mail::FolderProblem),
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
    /// The reader of stdout went away (`sendmux ... | head -1`): the
    /// command stops and the run ends quietly with status 0, as the
    /// usual command-line tools do.
    PipeClosed,
    /// The `--jq` filter failed on the output (the call itself succeeded).
    JqRun(String),
    /// Another failure, with a line on what to do about it.
    Hinted { failure: Box<Failure>, hint: String },
    /// Some items of a many-item command were not done (each reported on
    /// stdout): a summary, and the exit code of the worst of them.
    Incomplete { summary: String, code: u8 },
    /// Something that should not happen.
    Internal(String),
}

impl From<sendmux_client::Error> for Failure {
    fn from(error: sendmux_client::Error) -> Self {
        Failure::Client(error)
    }
}

impl From<crate::groups::mail::FolderProblem> for Failure {
    fn from(problem: crate::groups::mail::FolderProblem) -> Self {
        Failure::Folder(problem)
    }
}

impl Failure {
    /// This failure with `hint` printed below it.
    pub(crate) fn with_hint(self, hint: impl Into<String>) -> Failure {
        Failure::Hinted {
            failure: Box::new(self),
            hint: hint.into(),
        }
    }

    /// The documented exit code (see `args::ROOT_HELP`).
    pub(crate) fn exit_code(&self) -> u8 {
        use sendmux_client::Error as E;
        match self {
            Failure::Hinted { failure, .. } => failure.exit_code(),
            Failure::Incomplete { code, .. } => *code,
            Failure::PipeClosed => 0,
            Failure::Usage(_) | Failure::Folder(_) | Failure::JqRun(_) => 2,
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

    /// Prints the failure on stderr (nothing for a closed pipe) and
    /// returns the exit code.
    pub(crate) fn report(self) -> ExitCode {
        if !matches!(self, Failure::PipeClosed) {
            eprintln!("{}", self.render());
        }
        ExitCode::from(self.exit_code())
    }

    fn render(&self) -> String {
        use sendmux_client::Error as E;
        match self {
            Failure::Usage(message) => format!("error: {message}"),
            Failure::Folder(problem) => format!("error: {problem}"),
            Failure::Io(message) => format!("error: {message}"),
            Failure::PipeClosed => String::new(),
            Failure::Hinted { failure, hint } => format!("{}\n  hint: {hint}", failure.render()),
            Failure::Incomplete { summary, .. } => format!("error: {summary}"),
            Failure::JqRun(message) => format!("error: {}", clean(message)),
            Failure::Internal(message) => format!("internal error: {message}"),
            Failure::VerificationFailed { id } => format!(
                "error: domain {id} failed verification; check its DNS records with `{}`",
                crate::output::suggest(&format!("sendmux domains get {id}"))
            ),
            Failure::Timeout {
                id,
                waited,
                last_status,
            } => format!(
                "error: timed out after {}s waiting for {} to verify (last status: {})",
                waited.as_secs(),
                clean(id),
                clean(last_status)
            ),
            Failure::Client(E::InvalidInput(input)) => format!(
                "error: invalid {}: {}\n  fix: {}\n  (nothing was sent)",
                clean(&input.field),
                clean(&input.problem),
                clean(&input.fix)
            ),
            // Every string here comes from the server: cleaned one by one.
            Failure::Client(E::Api(api)) => {
                let mut text = format!(
                    "error: {}: {}",
                    clean(api.code.as_str()),
                    clean(&api.message)
                );
                if let Some(param) = &api.param {
                    text.push_str(&format!(" (param: {})", clean(param)));
                }
                text.push_str(&format!(
                    " [HTTP {}, request {}]",
                    api.status,
                    api.request_id.as_deref().map_or("unknown".into(), clean)
                ));
                for field in &api.field_errors {
                    text.push_str(&format!(
                        "\n  - {}: {} ({})",
                        clean(&field.field),
                        clean(&field.message),
                        clean(&field.code)
                    ));
                }
                if let Some(url) = &api.doc_url {
                    text.push_str(&format!("\n  docs: {}", clean(url)));
                }
                if let Some(wait) = api.retry_after {
                    text.push_str(&format!("\n  retry after {}s", wait.as_secs()));
                }
                text
            }
            Failure::Client(error @ E::WaitTimeout { .. }) => {
                format!("error: timed out: {}", clean(&error.to_string()))
            }
            // Other errors may quote the server too (an undecodable body's snippet).
            Failure::Client(error) => {
                let mut text = format!("error: {}", clean(&error.to_string()));
                let mut source = std::error::Error::source(error);
                while let Some(cause) = source {
                    text.push_str(&format!("\n  caused by: {}", clean(&cause.to_string())));
                    source = cause.source();
                }
                // The outcome is unknown: say how to finish without doing it
                // twice, with the key every attempt carried.
                if let Some(key) = error.idempotency_key() {
                    let args: Vec<String> = std::env::args().skip(1).collect();
                    text.push_str(&format!(
                        "\n  the server may have carried this out. To finish it without doing it twice, repeat it with the same idempotency key:\n    {}",
                        repeat_command(&args, key)
                    ));
                }
                text
            }
        }
    }
}

/// `failure` with a hint when it looks like a base URL that lacks the
/// API's `/api/v1`: a 404 that is the server's "no route" answer, or whose
/// body is not the API's error envelope at all.
pub(crate) fn base_url_hint(failure: Failure, base_url: &str) -> Failure {
    use sendmux_client::Error as E;
    let no_route = match &failure {
        Failure::Client(E::Api(api)) => {
            api.status == 404 && api.message.starts_with("no route for")
        }
        Failure::Client(E::Undecodable { status, .. }) => *status == Some(404),
        _ => false,
    };
    let trimmed = base_url.trim_end_matches('/');
    let path = trimmed
        .split_once("://")
        .map_or(trimmed, |(_, rest)| rest)
        .split_once('/')
        .map_or("", |(_, path)| path);
    if !no_route || path.ends_with("api/v1") {
        return failure;
    }
    let hint = format!(
        "the base URL {} has no /api/v1 and the server knows no such route; try --base-url {}/api/v1",
        clean(base_url),
        clean(trimmed)
    );
    failure.with_hint(hint)
}

/// The command line that repeats this call with idempotency key `key`:
/// the same arguments, any earlier key replaced, and never the API key
/// (the environment or a key file supplies it again).
pub(crate) fn repeat_command(args: &[String], key: &str) -> String {
    let mut kept = command_without(args, &["--idempotency-key"]);
    kept.push("--idempotency-key".to_owned());
    kept.push(shell_quote(key));
    kept.join(" ")
}

/// `sendmux` and `args` as shell words, without the flags in `drop` (each
/// taking a value, as `--flag V` or `--flag=V`) and never with `--api-key`.
pub(crate) fn command_without(args: &[String], drop: &[&str]) -> Vec<String> {
    let dropped = |flag: &str| flag == "--api-key" || drop.contains(&flag);
    let mut kept = vec!["sendmux".to_owned()];
    let mut skip_value = false;
    for arg in args {
        if skip_value {
            skip_value = false;
            continue;
        }
        match arg.split_once('=') {
            _ if dropped(arg) => skip_value = true,
            Some((flag, _)) if flag.starts_with("--") && dropped(flag) => {}
            _ => kept.push(shell_quote(arg)),
        }
    }
    kept
}

/// `arg` as a POSIX shell word.
fn shell_quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_./:=@,+-{}".contains(&b));
    if plain {
        arg.to_owned()
    } else {
        format!("'{}'", clean(arg).replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_no_route_404_on_a_base_url_without_api_v1_gets_a_hint() {
        let api = |status: u16, message: &str| {
            let body = format!(
                r#"{{"ok":false,"error":{{"code":"not_found","message":"{message}","retryable":false}},"meta":{{"request_id":"req_1"}}}}"#
            );
            Failure::Client(sendmux_client::Error::from_response(
                status,
                &http::HeaderMap::new(),
                body.as_bytes(),
            ))
        };
        let hinted = base_url_hint(
            api(404, "no route for GET /domains"),
            "http://127.0.0.1:8080",
        );
        let text = hinted.render();
        assert!(
            text.contains("try --base-url http://127.0.0.1:8080/api/v1"),
            "{text}"
        );
        assert_eq!(hinted.exit_code(), 3);
        let html = Failure::Client(sendmux_client::Error::from_response(
            404,
            &http::HeaderMap::new(),
            b"<html>Not Found</html>",
        ));
        assert!(
            base_url_hint(html, "https://example.com/")
                .render()
                .contains("/api/v1")
        );
        for (failure, url) in [
            (
                api(404, "no route for GET /domains"),
                "http://127.0.0.1:8080/api/v1/",
            ),
            (api(404, "domain not found"), "http://127.0.0.1:8080"),
            (
                api(500, "no route for GET /domains"),
                "http://127.0.0.1:8080",
            ),
        ] {
            assert!(
                !base_url_hint(failure, url).render().contains("hint"),
                "{url}"
            );
        }
    }

    #[test]
    fn the_repeat_command_drops_the_api_key_and_sets_the_idempotency_key() {
        let args: Vec<String> = [
            "--api-key",
            "smx_root_secret",
            "domains",
            "add",
            "mail.acme.com",
            "--idempotency-key=old",
            "--api-key=smx_root_other",
        ]
        .map(String::from)
        .to_vec();
        let command = repeat_command(&args, "key 1");
        assert_eq!(
            command,
            "sendmux domains add mail.acme.com --idempotency-key 'key 1'"
        );
        assert!(!command.contains("smx_root"));
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
