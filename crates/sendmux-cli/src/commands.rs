//! What each subcommand does: build the client (or start the embedded mock),
//! call the API, hand the result to `output`.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use sendmux_client::{Client, DomainMode, Secret, VerificationStatus};

use crate::args::{Cli, Command, DomainsCommand, FiltersCommand, ModeArg, OutputFormat};
use crate::credentials::{self, KEY_ENV, Source};
use crate::failure::Failure;
use crate::records::{Column, col};
use crate::{groups, output};

/// The columns of `domains list`.
const DOMAIN_LIST: &[Column] = &[
    col("ID", "/id"),
    col("DOMAIN", "/domain"),
    col("MODE", "/mode"),
    col("STATUS", "/verification_status"),
    col("MAILBOXES", "/mailbox_count"),
    col("CREATED", "/created_at"),
];

/// Key used with `--mock` when none is given: any `smx_root_` key works there.
const MOCK_API_KEY: &str = "smx_root_mock";

/// Runs one parsed command line.
pub(crate) async fn run(cli: Cli, format: OutputFormat) -> Result<(), Failure> {
    let global = cli.global;
    // These need no client (the receiver and completions call no API;
    // `auth` builds its own from the key it is given).
    let command = match cli.command {
        Command::Webhooks(groups::webhooks::WebhooksCommand::Listen(args)) => {
            return groups::webhooks::listen(args, format).await;
        }
        Command::Completion { shell } => return completion(shell),
        Command::Auth(command) => return groups::auth::run(command, &global, format).await,
        command => command,
    };
    // Keep the mock alive until the command is done.
    let mut mock = None;
    let (api_key, base_url, sending_base_url) = if global.mock {
        if global.base_url.is_some() {
            return Err(Failure::Usage(
                "--mock and --base-url cannot be combined: --mock runs against its own embedded server".into(),
            ));
        }
        if global.sending_base_url.is_some() {
            return Err(Failure::Usage(
                "--mock and --sending-base-url cannot be combined: --mock runs against its own embedded server".into(),
            ));
        }
        // A saved key stays out of the mock; one given for this run is used.
        let api_key = credentials::given_key(&global)?;
        let server = sendmux_mock::MockServer::start().await.map_err(|e| {
            Failure::Internal(format!("cannot start the embedded mock server: {e}"))
        })?;
        eprintln!(
            "note: using the embedded mock server at {} (no real API calls; its state ends with this command)",
            server.base_url()
        );
        // The Sending API is the mock's own second port; a profile's URLs stay out of it.
        let (url, sending_url) = (server.base_url(), server.sending_base_url());
        mock = Some(server);
        let key = api_key.map_or_else(|| Secret::from(MOCK_API_KEY), |(key, _)| key);
        (key, Some(url), Some(sending_url))
    } else {
        let settings = credentials::resolve(&global)?;
        let Some((key, key_from)) = settings.key else {
            return Err(Failure::Usage(format!(
                "no API key. Run `sendmux auth login` to save one, set {KEY_ENV}, or pass --api-key-file \
                 (or --api-key) with a root key (smx_root_...).\n  \
                 To try the CLI without an account, add --mock to run against an embedded mock server."
            )));
        };
        // A profile chosen on purpose whose key loses to a flag or the
        // environment: say so, or the wrong account is a surprise.
        if settings.profile_from != Source::Default
            && key_from != Source::Profile(settings.profile.clone())
        {
            eprintln!(
                "note: using the API key from {key_from}, not the one of profile {} ({key_from} wins over a profile)",
                settings.profile
            );
        }
        (
            key,
            settings.base_url.map(|(url, _)| url),
            settings.sending_base_url.map(|(url, _)| url),
        )
    };

    let mut builder = Client::builder().api_key(api_key.expose_secret());
    if let Some(url) = base_url {
        builder = builder.base_url(url);
    }
    if let Some(url) = sending_base_url {
        builder = builder.sending_base_url(url);
    }
    let client = builder.build()?;
    let base_url = client.base_url().to_owned();
    let result = match command {
        Command::Domains(command) => domains(&client, command, format).await,
        Command::Mailboxes(command) => groups::mailboxes::run(&client, command, format).await,
        Command::Webhooks(command) => groups::webhooks::run(&client, command, format).await,
        Command::SendingAccounts(command) => {
            groups::sending_accounts::run(&client, command, format).await
        }
        Command::Billing(command) => groups::billing::run(&client, command, format).await,
        Command::Logs(command) => groups::logs::run(&client, command, format).await,
        Command::Send(args) => groups::send::run(&client, *args, format, global.mock).await,
        Command::Mail(command) => groups::mail::run(&client, command, format, global.mock).await,
        Command::Api(args) => crate::api::run(&client, args, format).await,
        Command::Completion { shell } => completion(shell),
        Command::Auth(command) => groups::auth::run(command, &global, format).await,
    };
    if let Some(server) = mock {
        server.shutdown().await;
    }
    result.map_err(|failure| crate::failure::base_url_hint(failure, &base_url))
}

/// `sendmux completion SHELL`: the script that teaches SHELL our commands.
fn completion(shell: clap_complete::Shell) -> Result<(), Failure> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut crate::command(), "sendmux", &mut script);
    output::write_bytes(&script)
}

async fn domains(
    client: &Client,
    command: DomainsCommand,
    format: OutputFormat,
) -> Result<(), Failure> {
    let domains = client.domains();
    match command {
        DomainsCommand::Add {
            domain,
            mode,
            idempotency_key,
        } => {
            let mut request = domains.create(domain);
            if let Some(mode) = mode {
                request = request.mode(match mode {
                    ModeArg::SendOnly => DomainMode::SendOnly,
                    ModeArg::SendReceive => DomainMode::SendReceive,
                });
            }
            if let Some(key) = idempotency_key {
                request = request.idempotency_key(key);
            }
            let created = request.send().await?;
            output::domain(format, created.value(), output::Heading::Created)
        }
        DomainsCommand::List { page } => {
            let empty = "No domains yet. Add one with `sendmux domains add <domain>`.";
            groups::list(format, domains.list(), page, DOMAIN_LIST, empty).await
        }
        DomainsCommand::Get { id } => {
            let response = domains.get(id).send().await?;
            output::domain(
                format,
                response.value(),
                output::Heading::Etag(response.etag()),
            )
        }
        DomainsCommand::Upgrade { id, if_match } => {
            let mut request = domains.upgrade(id);
            if let Some(etag) = if_match {
                request = request.if_match(etag);
            }
            let response = request.send().await?;
            output::domain(format, response.value(), output::Heading::Upgraded)
        }
        DomainsCommand::Verify {
            id,
            wait,
            timeout,
            interval,
        } => {
            if wait {
                wait_for_verification(client, &id, timeout, interval, format).await
            } else {
                let result = domains.verify(&id).send().await?;
                output::verify_result(format, &id, result.value())
            }
        }
        DomainsCommand::Delete { id, yes } => {
            if !yes {
                groups::confirm_delete("domain", &id)?;
            }
            let deleted = domains.delete(id).send().await?;
            output::deleted(format, deleted.value())
        }
        DomainsCommand::ZoneFile { id, file } => {
            let zone = domains.zone_file(id).send().await?.into_inner();
            match file {
                Some(path) => {
                    std::fs::write(&path, zone.as_bytes()).map_err(|e| {
                        Failure::Io(format!("cannot write {}: {e}", path.display()))
                    })?;
                    eprintln!("wrote {}", path.display());
                    Ok(())
                }
                None => output::write_stdout(&zone),
            }
        }
        DomainsCommand::Filters(FiltersCommand::Get { id }) => {
            let response = domains.filters(id).send().await?;
            output::filters(format, response.value(), response.etag())
        }
        DomainsCommand::Filters(FiltersCommand::Set {
            id,
            rules,
            if_match,
        }) => {
            let mut request = domains.set_filters(id, rules.into_state()?);
            if let Some(etag) = if_match {
                request = request.if_match(etag);
            }
            let response = request.send().await?;
            output::filters(format, response.value(), response.etag())
        }
    }
}

/// `verify --wait`: checks until verified, failed or out of time, showing a
/// spinner with the elapsed time and last status on a terminal.
async fn wait_for_verification(
    client: &Client,
    id: &str,
    timeout: Duration,
    interval: Duration,
    format: OutputFormat,
) -> Result<(), Failure> {
    let spinner = indicatif::ProgressBar::new_spinner();
    // `{elapsed}` ticks with the spinner, between checks too.
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed} elapsed)")
    {
        spinner.set_style(style);
    }
    // A spinner redraws its line with escape sequences: none in a pipe,
    // none under NO_COLOR.
    if !crate::terminal::escapes_allowed(std::io::stderr().is_terminal()) {
        spinner.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    spinner.enable_steady_tick(Duration::from_millis(120));
    let started = Instant::now();
    // A timeout too large for `Instant` means no deadline.
    let deadline = started.checked_add(timeout);
    // Each call gets the time left as its deadline, so a stalled server is
    // cut off in flight instead of outlasting the wait.
    let bounded = || {
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        left.map(|left| client.retry_policy().clone().with_deadline(Some(left)))
    };
    let out_of_time = |error: &sendmux_client::Error| {
        error.is_timeout()
            && deadline.is_some_and(|d| {
                d.saturating_duration_since(Instant::now()) <= Duration::from_millis(50)
            })
    };
    let mut last = String::from("not checked yet");
    loop {
        spinner.set_message(format!("verifying {id}: {}", crate::terminal::clean(&last)));
        let mut check = client.domains().verify(id);
        if let Some(policy) = bounded() {
            check = check.retry_policy(policy);
        }
        let outcome = check.send().await;
        match outcome {
            Ok(result) => {
                let status = result.value().status.clone();
                last = status.to_string();
                match status {
                    VerificationStatus::Verified => {
                        spinner.finish_and_clear();
                        let mut read = client.domains().get(id);
                        if let Some(policy) = bounded() {
                            read = read.retry_policy(policy);
                        }
                        let domain = match read.send().await {
                            Err(error) if out_of_time(&error) => {
                                return Err(Failure::Timeout {
                                    id: id.to_string(),
                                    waited: started.elapsed(),
                                    last_status: last,
                                });
                            }
                            read => read?,
                        };
                        return output::domain(format, domain.value(), output::Heading::Verified);
                    }
                    VerificationStatus::Failed => {
                        spinner.finish_and_clear();
                        output::verify_result(format, id, result.value())?;
                        return Err(Failure::VerificationFailed { id: id.to_string() });
                    }
                    _ => {}
                }
            }
            Err(error) if out_of_time(&error) => {
                spinner.finish_and_clear();
                return Err(Failure::Timeout {
                    id: id.to_string(),
                    waited: started.elapsed(),
                    last_status: last,
                });
            }
            // A passing hiccup (the client already retried) is not the end of a wait.
            Err(error) if error.is_retryable() => {
                last = format!("check failed ({error}); will retry")
            }
            Err(error) => {
                spinner.finish_and_clear();
                return Err(error.into());
            }
        }
        if started.elapsed().saturating_add(interval) > timeout {
            spinner.finish_and_clear();
            return Err(Failure::Timeout {
                id: id.to_string(),
                waited: started.elapsed(),
                last_status: last,
            });
        }
        tokio::time::sleep(interval).await;
    }
}
