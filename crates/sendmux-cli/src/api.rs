//! `sendmux api`: any operation of the API, by operationId or by METHOD and
//! PATH, with parameters and body fields given as `-f name=value` (in the
//! spirit of `gh api`). Built on the client's generic
//! [`OperationCall`](sendmux_client::OperationCall), which checks the call
//! against the operation table before anything is sent.

use std::io::Read;

use futures::StreamExt;
use sendmux_client::operations::{Location, MediaType, Operation};
use sendmux_client::{Client, OperationCall};
use serde_json::Value;

use crate::args::{ApiArgs, OutputFormat};
use crate::failure::Failure;
use crate::output;

/// HTTP methods recognised as the first positional of `METHOD PATH`.
const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

/// Runs `sendmux api`. A JSON answer is printed as JSON whatever the
/// format says, unless `-o jsonl` or `-o yaml` asks for another one.
pub(crate) async fn run(
    client: &Client,
    args: ApiArgs,
    format: OutputFormat,
) -> Result<(), Failure> {
    let call = prepare(client, args)?;
    match call {
        Prepared::Send(call) => send(call, format).await,
        Prepared::Paginate(call) => paginate(call, format).await,
    }
}

enum Prepared {
    Send(OperationCall),
    Paginate(OperationCall),
}

/// Resolves the operation and applies every flag; nothing is sent.
fn prepare(client: &Client, args: ApiArgs) -> Result<Prepared, Failure> {
    let mut call = resolve(client, &args.operation, args.path.as_deref())?;
    let op = call.descriptor();

    let mut body_fields = serde_json::Map::new();
    for field in &args.fields {
        let Some((name, value)) = field.split_once('=') else {
            return Err(Failure::Usage(format!(
                "-f {field:?} is not NAME=VALUE (e.g. -f public_id=mdom_123)"
            )));
        };
        if let Some(parameter) = declared_parameter(op, name) {
            call = match parameter.location {
                Location::Header if parameter.name.eq_ignore_ascii_case("idempotency-key") => {
                    call.idempotency_key(value)
                }
                Location::Header => call.header(parameter.name, value),
                Location::Path | Location::Query => call.param(parameter.name, value),
            };
        } else if op.request.is_some_and(|r| r.media_type == MediaType::Json) {
            body_fields.insert(name.to_owned(), json_or_string(value));
        } else {
            return Err(Failure::Usage(unknown_field(op, name)));
        }
    }

    if !body_fields.is_empty() {
        if args.input.is_some() {
            return Err(Failure::Usage(
                "give the body either as -f fields or with --input, not both".into(),
            ));
        }
        let body = serde_json::to_vec(&Value::Object(body_fields))
            .map_err(|e| Failure::Internal(format!("cannot encode the body: {e}")))?;
        call = call.body(body);
    } else if let Some(path) = &args.input {
        call = call.body(read_input(path)?);
    }

    for header in &args.headers {
        let (name, value) = header
            .split_once(':')
            .map(|(n, v)| (n.trim(), v.trim()))
            .filter(|(n, _)| !n.is_empty())
            .ok_or_else(|| {
                Failure::Usage(format!(
                    "-H {header:?} is not 'Name: value' (e.g. -H 'If-Match: \"abc\"')"
                ))
            })?;
        call = if name.eq_ignore_ascii_case("idempotency-key") {
            call.idempotency_key(value)
        } else {
            call.header(name, value)
        };
    }

    if let Some(key) = args.idempotency_key {
        if !op.idempotency_key {
            return Err(Failure::Usage(format!(
                "{} does not take an Idempotency-Key; leave --idempotency-key out",
                op.id
            )));
        }
        call = call.idempotency_key(key);
    }

    if args.paginate {
        if !op.paginated {
            return Err(Failure::Usage(format!(
                "{} is not a cursor list; --paginate only applies to list operations",
                op.id
            )));
        }
        return Ok(Prepared::Paginate(call));
    }
    Ok(Prepared::Send(call))
}

/// The call named by `OPERATION` or `METHOD PATH` (or a lone `PATH`, read
/// as GET).
fn resolve(client: &Client, first: &str, path: Option<&str>) -> Result<OperationCall, Failure> {
    let (method, path) = match path {
        Some(path) => (first, path),
        None if first.starts_with('/') => ("GET", first),
        None if METHODS.contains(&first.to_ascii_uppercase().as_str()) => {
            return Err(Failure::Usage(format!(
                "give the PATH after {first}, e.g. `sendmux api {first} /domains/{{public_id}} -f public_id=mdom_...`"
            )));
        }
        None if first.contains('/') => {
            return Err(Failure::Usage(format!(
                "{first:?} is neither an operationId nor a path; give an operationId such as managementListDomains, or METHOD PATH"
            )));
        }
        None => return Ok(client.operation(first)?),
    };
    if path.contains('?') {
        return Err(Failure::Usage(
            "give query parameters with -f name=value instead of in the path".into(),
        ));
    }
    Ok(client.operation_at(method, path)?)
}

/// A path, query or header parameter `op` declares by this name (header
/// names compare case-insensitively).
fn declared_parameter(
    op: &'static Operation,
    name: &str,
) -> Option<&'static sendmux_client::operations::Parameter> {
    op.parameters.iter().find(|p| match p.location {
        Location::Header => p.name.eq_ignore_ascii_case(name),
        Location::Path | Location::Query => p.name == name,
    })
}

/// `-f` values: JSON when they parse (numbers, booleans, null, objects,
/// arrays, quoted strings), a string otherwise.
fn json_or_string(value: &str) -> Value {
    serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()))
}

fn unknown_field(op: &Operation, name: &str) -> String {
    let known: Vec<&str> = op.parameters.iter().map(|p| p.name).collect();
    let parameters = if known.is_empty() {
        "no parameters".to_owned()
    } else {
        format!("parameters: {}", known.join(", "))
    };
    let body = match op.request {
        None => "no request body".to_owned(),
        Some(request) => format!(
            "a {} body, given with --input FILE",
            request.media_type.as_str()
        ),
    };
    format!(
        "-f {name}: {} has no parameter {name:?} ({parameters}; {body}); nothing was sent",
        op.id
    )
}

fn read_input(path: &std::path::Path) -> Result<Vec<u8>, Failure> {
    if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| Failure::Io(format!("cannot read stdin: {e}")))?;
        Ok(bytes)
    } else {
        std::fs::read(path).map_err(|e| Failure::Io(format!("cannot read {}: {e}", path.display())))
    }
}

/// One call; the success body as received (JSON pretty-printed).
async fn send(call: OperationCall, format: OutputFormat) -> Result<(), Failure> {
    let accept = call.descriptor().accept();
    let response = call.send().await?;
    if response.status() == 304 || response.value().is_empty() {
        return Ok(());
    }
    let is_json = match response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
    {
        Some(media) => {
            let media = media.split(';').next().unwrap_or_default().trim();
            media.eq_ignore_ascii_case("application/json") || media.ends_with("+json")
        }
        None => accept == MediaType::Json,
    };
    if is_json && let Ok(value) = serde_json::from_slice::<Value>(response.value()) {
        return output::value(format, &value);
    }
    output::write_bytes(response.value())
}

/// `--paginate`: the `data` items of every page in the shape the typed
/// list commands print with `--all`: `{"items": [...], "next_cursor": null}`
/// in JSON, one item per line in JSON lines, both written as pages arrive;
/// the other formats and `--jq` get the same object once all pages are in.
async fn paginate(call: OperationCall, format: OutputFormat) -> Result<(), Failure> {
    let mut lines = output::streams(format).then(|| output::ItemStream::new(format));
    let mut items = Vec::new();
    let mut pages = call.pages();
    while let Some(page) = pages.next().await {
        for envelope in page?.into_inner().items {
            match envelope {
                Value::Object(mut fields) => match fields.remove("data") {
                    Some(Value::Array(data)) => items.extend(data),
                    Some(other) => items.push(other),
                    None => items.push(Value::Object(fields)),
                },
                other => items.push(other),
            }
        }
        if let Some(lines) = &mut lines {
            for item in items.drain(..) {
                lines.push(&item)?;
            }
        }
    }
    match lines {
        Some(lines) => lines.finish(),
        None => output::value(
            format,
            &serde_json::json!({ "items": items, "next_cursor": null }),
        ),
    }
}
