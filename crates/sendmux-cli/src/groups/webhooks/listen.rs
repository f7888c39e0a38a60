//! `sendmux webhooks listen`: a local HTTP receiver for webhook deliveries.
//!
//! Every POST, on any path, is checked with the client's
//! [`Verifier`] against one or more signing secrets and printed as one line;
//! verified deliveries are answered `200` and, with `--forward-to`, passed on
//! unchanged to a local app. The secrets are never printed.

use std::io::{BufRead, Read};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, StatusCode};
use clap::Args;
use sendmux_client::Secret;
use sendmux_client::webhook::{EVENT_ID_HEADER, EVENT_TYPE_HEADER, Verifier, VerifyError};
use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::args::OutputFormat;
use crate::failure::Failure;
use crate::terminal::clean;

/// The environment variable read when no `--secret` or `--secret-file` is given.
const SECRET_ENV: &str = "SENDMUX_WEBHOOK_SECRET";

/// How long one forward may take.
const FORWARD_TIMEOUT: Duration = Duration::from_secs(30);

/// `sendmux webhooks listen`.
#[derive(Debug, Args)]
pub(crate) struct ListenArgs {
    /// Port to listen on; 0 picks a free one (printed on stderr).
    #[arg(long)]
    port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// A signing secret (`whsec_...`); repeat it to accept the old and the new
    /// one during a rotation. A secret given here is visible to every user of
    /// the machine (`ps`) and ends up in shell history: prefer --secret-file
    /// or SENDMUX_WEBHOOK_SECRET.
    #[arg(long = "secret", value_name = "SECRET", value_parser = secret_arg)]
    secrets: Vec<Secret>,
    /// Read the signing secrets from this file, one per line. Without
    /// --secret or --secret-file, SENDMUX_WEBHOOK_SECRET is read.
    #[arg(long, value_name = "PATH", conflicts_with = "secrets")]
    secret_file: Option<PathBuf>,
    /// Pass each verified delivery on to this URL (same body, Content-Type and
    /// X-Sendmux-* headers) and print the answer's status.
    #[arg(long, value_name = "URL")]
    forward_to: Option<String>,
    /// Exit after this many deliveries.
    #[arg(long, value_name = "N")]
    max_events: Option<u64>,
}

fn secret_arg(text: &str) -> Result<Secret, String> {
    Ok(Secret::new(text))
}

/// What every request handler shares.
struct Listener {
    verifier: Verifier,
    forward: Option<Forward>,
    format: OutputFormat,
    max_events: Option<u64>,
    /// Deliveries taken in, and those completely handled.
    received: AtomicU64,
    handled: AtomicU64,
    stop: Notify,
}

/// Runs the receiver until `--max-events` deliveries came in (or forever).
pub(crate) async fn listen(args: ListenArgs, format: OutputFormat) -> Result<(), Failure> {
    let secrets = secrets(&args)?;
    let verifier = Verifier::from_secrets(secrets.iter().map(Secret::expose_secret))
        .map_err(|e| Failure::Usage(format!("cannot use the signing secrets: {e}")))?;
    drop(secrets);
    let forward = args.forward_to.as_deref().map(Forward::new).transpose()?;
    if args.max_events == Some(0) {
        return Err(Failure::Usage("--max-events must be at least 1".into()));
    }
    let socket = tokio::net::TcpListener::bind((args.bind, args.port))
        .await
        .map_err(|e| Failure::Io(format!("cannot listen on {}:{}: {e}", args.bind, args.port)))?;
    let address = socket
        .local_addr()
        .map_err(|e| Failure::Io(format!("cannot read the bound address: {e}")))?;
    eprintln!("listening on http://{address}");
    if let Some(forward) = &forward {
        eprintln!(
            "forwarding verified deliveries to {}",
            clean(forward.url.as_str())
        );
    }
    let body_limit = verifier.max_body_bytes();
    let listener = Arc::new(Listener {
        verifier,
        forward,
        format,
        max_events: args.max_events,
        received: AtomicU64::new(0),
        handled: AtomicU64::new(0),
        stop: Notify::new(),
    });
    let app = Router::new()
        .fallback(receive)
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(Arc::clone(&listener));
    axum::serve(socket, app)
        .with_graceful_shutdown(async move { listener.stop.notified().await })
        .await
        .map_err(|e| Failure::Io(format!("the receiver stopped: {e}")))
}

/// The signing secrets: `--secret`, else `--secret-file`, else the environment.
/// Errors name where the secret came from, never its value.
fn secrets(args: &ListenArgs) -> Result<Vec<Secret>, Failure> {
    if !args.secrets.is_empty() {
        return Ok(args.secrets.clone());
    }
    if let Some(path) = &args.secret_file {
        let file = std::fs::File::open(path).map_err(|e| {
            Failure::Usage(format!(
                "--secret-file {}: cannot read it: {e}",
                path.display()
            ))
        })?;
        let mut secrets = Vec::new();
        // At most 64 KiB: a wrong path (a log, a device) cannot fill memory.
        for line in std::io::BufReader::new(file).take(64 * 1024).lines() {
            let line = line.map_err(|_| {
                Failure::Usage(format!(
                    "--secret-file {}: not readable as UTF-8 text",
                    path.display()
                ))
            })?;
            let line = line.trim();
            if !line.is_empty() {
                secrets.push(Secret::new(line));
            }
        }
        if secrets.is_empty() {
            return Err(Failure::Usage(format!(
                "--secret-file {}: no secret in it",
                path.display()
            )));
        }
        return Ok(secrets);
    }
    match std::env::var(SECRET_ENV) {
        Ok(value) if !value.trim().is_empty() => Ok(vec![Secret::new(value.trim())]),
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(Failure::Usage(format!("{SECRET_ENV} is not valid UTF-8")))
        }
        _ => Err(Failure::Usage(format!(
            "no signing secret: set {SECRET_ENV}, or pass --secret-file PATH (or --secret)"
        ))),
    }
}

/// One delivery: verify, answer, and print (after forwarding, if asked).
async fn receive(
    State(listener): State<Arc<Listener>>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    if method != Method::POST {
        return StatusCode::METHOD_NOT_ALLOWED;
    }
    let count = listener.received.fetch_add(1, Ordering::SeqCst) + 1;
    // Deliveries past the limit arrive while the receiver stops: refused
    // unseen, so the sender tries them again later.
    if listener.max_events.is_some_and(|max| count > max) {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let verdict = listener.verifier.verify(&headers, &body);
    let status = match &verdict {
        Ok(_) => StatusCode::OK,
        Err(
            VerifyError::MissingSignature
            | VerifyError::MalformedSignature(_)
            | VerifyError::SignatureMismatch,
        ) => StatusCode::UNAUTHORIZED,
        Err(_) => StatusCode::BAD_REQUEST,
    };
    if verdict.is_ok() && listener.forward.is_some() {
        // Answer the sender now and forward after: a slow app must not make
        // the sender time out and deliver again.
        let listener = Arc::clone(&listener);
        tokio::spawn(async move {
            if let Some(forward) = &listener.forward {
                let forwarded = forward.send(&headers, body).await;
                let printed = print(listener.format, &headers, &verdict, Some(&forwarded));
                listener.printed(printed);
            }
            listener.handled();
        });
    } else {
        let printed = print(listener.format, &headers, &verdict, None);
        listener.printed(printed);
        listener.handled();
    }
    status
}

impl Listener {
    /// Stops the receiver once nobody reads what it prints (`| head -3`).
    fn printed(&self, printed: Result<(), Failure>) {
        match printed {
            Ok(()) => {}
            Err(Failure::PipeClosed) => self.stop.notify_one(),
            Err(e) => tracing::warn!("cannot print a delivery: {e:?}"),
        }
    }

    /// Counts a delivery as printed (and forwarded); stops the receiver
    /// after `--max-events` of them.
    fn handled(&self) {
        let done = self.handled.fetch_add(1, Ordering::SeqCst) + 1;
        if self.max_events.is_some_and(|max| done >= max) {
            self.stop.notify_one();
        }
    }
}

/// One line per delivery: a table row, or an event of the structured format.
fn print(
    format: OutputFormat,
    headers: &HeaderMap,
    verdict: &Result<sendmux_client::webhook::VerifiedEvent, VerifyError>,
    forwarded: Option<&Result<u16, String>>,
) -> Result<(), Failure> {
    let time = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    // For a rejected delivery the headers are all there is, unverified.
    let header = |name| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-")
            .to_owned()
    };
    let (event_id, event_type) = match verdict {
        Ok(event) => (
            event.event_id().to_owned(),
            event.event_type().as_str().to_owned(),
        ),
        Err(_) => (header(EVENT_ID_HEADER), header(EVENT_TYPE_HEADER)),
    };
    let line = match format {
        OutputFormat::Json | OutputFormat::Jsonl | OutputFormat::Yaml => {
            let mut line = json!({
                "time": time,
                "event_id": event_id,
                "event_type": event_type,
                "result": if verdict.is_ok() { "verified" } else { "rejected" },
            });
            if let Some(object) = line.as_object_mut() {
                match verdict {
                    Ok(event) => {
                        let payload = serde_json::to_value(event.payload()).unwrap_or(Value::Null);
                        object.insert("payload".into(), payload);
                    }
                    Err(error) => {
                        object.insert("reason".into(), Value::String(error.to_string()));
                    }
                }
                match forwarded {
                    Some(Ok(status)) => {
                        object.insert("forward".into(), json!({ "status": status }));
                    }
                    Some(Err(error)) => {
                        object.insert("forward".into(), json!({ "error": error }));
                    }
                    None => {}
                }
            }
            return crate::output::event(format, &line);
        }
        OutputFormat::Table => {
            let result = match verdict {
                Ok(_) => "verified".to_owned(),
                Err(error) => format!("REJECTED: {error}"),
            };
            let forward = match forwarded {
                Some(Ok(status)) => format!("  forwarded: {status}"),
                Some(Err(error)) => format!("  forward failed: {}", clean(error)),
                None => String::new(),
            };
            format!(
                "{time}  {:<30}  {:<26}  {result}{forward}",
                clean(&event_id),
                clean(&event_type)
            )
        }
    };
    crate::output::write_stdout(&line)
}

/// Where verified deliveries go on to.
struct Forward {
    client: reqwest::Client,
    url: reqwest::Url,
}

impl Forward {
    fn new(url: &str) -> Result<Self, Failure> {
        let parsed = reqwest::Url::parse(url)
            .map_err(|e| Failure::Usage(format!("--forward-to: not an absolute URL ({e})")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Failure::Usage(
                "--forward-to: must be an http or https URL".into(),
            ));
        }
        // Printed on every start: a URL with credentials is refused rather than shown.
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(Failure::Usage(
                "--forward-to: must not contain a user name or password".into(),
            ));
        }
        let client = sendmux_client::http_client_builder()
            .map_err(|e| Failure::Internal(format!("cannot build the forwarding client: {e}")))?
            .redirect(reqwest::redirect::Policy::none())
            .timeout(FORWARD_TIMEOUT)
            .build()
            .map_err(|e| Failure::Internal(format!("cannot build the forwarding client: {e}")))?;
        Ok(Self {
            client,
            url: parsed,
        })
    }

    /// Posts the delivery as received; the answer's status, or why none came.
    async fn send(&self, headers: &HeaderMap, body: Bytes) -> Result<u16, String> {
        let mut kept = HeaderMap::new();
        for (name, value) in headers {
            if name == axum::http::header::CONTENT_TYPE || name.as_str().starts_with("x-sendmux-") {
                kept.append(name.clone(), value.clone());
            }
        }
        let response = self
            .client
            .post(self.url.clone())
            .headers(kept)
            .body(body)
            .send()
            .await
            .map_err(|e| e.without_url().to_string())?;
        Ok(response.status().as_u16())
    }
}
