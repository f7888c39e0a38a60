//! The Domains resource: `client.domains()`.
//!
//! Every operation is a builder: set options, then `.await` it (builders
//! implement [`IntoFuture`]) or call `.send().await`. Arguments are checked
//! before any request is made.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures::stream::BoxStream;
use http::header;
use sendmux_api::types as wire;
use tracing::Instrument;

use crate::Client;
use crate::error::{Error, InvalidInput};
use crate::idempotency::IdempotencyKey;
use crate::models::{DomainMode, ErrorCode, FilterState, VerificationStatus};
use crate::paginate;
use crate::response::{Conditional, Page, Response};
use sendmux_operations::ops;

use crate::transport::{self, Call, Raw, is_unreserved, push_segment};
use crate::validate;

/// A domain as the API returns it (the generated model).
pub type Domain = wire::MailboxDomain;
/// The outcome of a verification run (the generated model).
pub type VerifyResult = wire::MailboxDomainVerifyResult;
/// Confirmation of a deletion (the generated model).
pub type DomainDeleted = wire::DomainDeleted;

/// Largest zone file read by default.
pub const DEFAULT_ZONE_FILE_MAX_BYTES: usize = 1024 * 1024;

type BoxFuture<T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'static>>;

macro_rules! into_future {
    ($builder:ident => $out:ty) => {
        impl IntoFuture for $builder {
            type Output = Result<$out, Error>;
            type IntoFuture = BoxFuture<$out>;
            fn into_future(self) -> Self::IntoFuture {
                Box::pin(self.send())
            }
        }
    };
}

/// Handle on the Domains operations; get one from [`Client::domains`].
#[derive(Debug, Clone)]
pub struct Domains {
    client: Client,
}

impl Domains {
    pub(crate) fn new(client: Client) -> Self {
        Self { client }
    }

    /// Adds a domain (`POST /domains`). `domain` must be a lowercase, fully
    /// qualified name such as `mail.acme.com`.
    ///
    /// Sent with an `Idempotency-Key` (yours, or a generated one under
    /// [`IdempotencyPolicy::Automatic`](crate::IdempotencyPolicy::Automatic)), so retries cannot add it twice.
    pub fn create(&self, domain: impl Into<String>) -> CreateDomain {
        CreateDomain {
            client: self.client.clone(),
            domain: domain.into(),
            mode: None,
            idempotency_key: None,
        }
    }

    /// Lists domains, newest first (`GET /domains`): one page with `.send()`,
    /// or every item with [`ListDomains::stream`].
    pub fn list(&self) -> ListDomains {
        ListDomains {
            client: self.client.clone(),
            limit: None,
            cursor: None,
        }
    }

    /// Reads one domain (`GET /domains/{id}`); the response carries its `ETag`.
    pub fn get(&self, id: impl Into<String>) -> GetDomain {
        GetDomain {
            client: self.client.clone(),
            id: id.into(),
        }
    }

    /// Reads a domain only if it changed since `etag` (`If-None-Match`);
    /// `304` comes back as [`Conditional::NotModified`].
    pub fn get_if_changed(
        &self,
        id: impl Into<String>,
        etag: impl Into<String>,
    ) -> GetDomainIfChanged {
        GetDomainIfChanged {
            client: self.client.clone(),
            id: id.into(),
            etag: etag.into(),
        }
    }

    /// Upgrades a `send_only` domain to `send_receive` (`PATCH /domains/{id}`);
    /// the domain goes back to `pending` until its MX record verifies.
    pub fn upgrade(&self, id: impl Into<String>) -> UpgradeDomain {
        UpgradeDomain {
            client: self.client.clone(),
            id: id.into(),
            if_match: None,
        }
    }

    /// Deletes a domain (`DELETE /domains/{id}`). Refused with `409 conflict`
    /// while active mailboxes use it.
    pub fn delete(&self, id: impl Into<String>) -> DeleteDomain {
        DeleteDomain {
            client: self.client.clone(),
            id: id.into(),
        }
    }

    /// Runs the DNS checks now (`POST /domains/{id}/verify`).
    pub fn verify(&self, id: impl Into<String>) -> VerifyDomain {
        VerifyDomain {
            client: self.client.clone(),
            id: id.into(),
        }
    }

    /// Downloads the domain's DNS records as a zone-file fragment
    /// (`GET /domains/{id}/zone-file`).
    pub fn zone_file(&self, id: impl Into<String>) -> GetZoneFile {
        GetZoneFile {
            client: self.client.clone(),
            id: id.into(),
            max_bytes: DEFAULT_ZONE_FILE_MAX_BYTES,
        }
    }

    /// Reads the domain-wide sender filter (`GET /domains/{id}/filters`);
    /// the response carries its `ETag`.
    pub fn filters(&self, id: impl Into<String>) -> GetFilters {
        GetFilters {
            client: self.client.clone(),
            id: id.into(),
        }
    }

    /// Reads the filter only if it changed since `etag` (`If-None-Match`).
    pub fn filters_if_changed(
        &self,
        id: impl Into<String>,
        etag: impl Into<String>,
    ) -> GetFiltersIfChanged {
        GetFiltersIfChanged {
            client: self.client.clone(),
            id: id.into(),
            etag: etag.into(),
        }
    }

    /// Replaces the whole sender filter (`PUT /domains/{id}/filters`), at most
    /// 1000 rules. Pass [`SetFilters::if_match`] to avoid overwriting a
    /// concurrent edit.
    pub fn set_filters(&self, id: impl Into<String>, state: FilterState) -> SetFilters {
        SetFilters {
            client: self.client.clone(),
            id: id.into(),
            state,
            if_match: None,
        }
    }

    /// Polls verification every `poll_interval` until the domain is verified
    /// (then returns it, read fresh) or `timeout` passes (then fails with
    /// [`Error::WaitTimeout`] carrying the last verification outcome).
    pub fn wait_until_verified(
        &self,
        id: impl Into<String>,
        timeout: Duration,
        poll_interval: Duration,
    ) -> WaitUntilVerified {
        WaitUntilVerified {
            domains: self.clone(),
            id: id.into(),
            timeout,
            poll_interval,
        }
    }
}

fn id_path(field: &'static str, id: &str, suffix: &str) -> Result<String, Error> {
    const PREFIX: &str = "/domains/";
    let mut path = String::with_capacity(PREFIX.len() + id.len() + suffix.len());
    path.push_str(PREFIX);
    // Real ids are all unreserved bytes, which also means valid: one pass
    // checks and copies them. Anything else gets the full check and
    // encoding.
    if !id.is_empty() && id.bytes().all(is_unreserved) {
        path.push_str(id);
    } else {
        validate::resource_id(field, id)?;
        push_segment(&mut path, id);
    }
    path.push_str(suffix);
    Ok(path)
}

/// The `data` member of a success envelope. `ok` and `meta` are skipped
/// rather than decoded: the request id comes from the header (see [`item`]
/// for the fallback), so decoding them would only cost allocations.
#[derive(serde::Deserialize)]
struct Data<T> {
    data: T,
}

fn item<T>(raw: Raw, value: T) -> Response<T> {
    let mut meta = raw.meta;
    if meta.request_id().is_none() {
        // Fall back on the envelope's copy when a proxy dropped the header.
        meta.envelope_request_id = serde_json::from_slice::<serde_json::Value>(&raw.body)
            .ok()
            .and_then(|v| v["meta"]["request_id"].as_str().map(str::to_owned));
    }
    Response::new(value, meta)
}

/// Builder of [`Domains::create`].
#[derive(Debug, Clone)]
#[must_use = "builders do nothing until awaited"]
pub struct CreateDomain {
    client: Client,
    domain: String,
    mode: Option<DomainMode>,
    idempotency_key: Option<String>,
}

impl CreateDomain {
    /// How the domain is used; the server defaults to `send_receive`.
    pub fn mode(mut self, mode: DomainMode) -> Self {
        self.mode = Some(mode);
        self
    }

    /// Your own idempotency key (1..=255 visible ASCII); replaces the
    /// generated one. Reuse it to retry this exact create later.
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    /// Sends the request.
    pub async fn send(self) -> Result<Response<Domain>, Error> {
        validate::domain_name(&self.domain)?;
        // Without a caller key, `execute` generates one under the policy.
        let key = self.idempotency_key.map(IdempotencyKey::new).transpose()?;
        let body = wire::CreateDomainBody {
            domain: self.domain,
            mode: self.mode,
        };
        let mut call =
            Call::new(ops::MANAGEMENT_CREATE_DOMAIN, "/domains".into()).json_body(&body)?;
        call.idempotency_key = key;
        let raw = self.client.execute(call).await?;
        let envelope: Data<Domain> = raw.json()?;
        Ok(item(raw, envelope.data))
    }
}
into_future!(CreateDomain => Response<Domain>);

/// Builder of [`Domains::list`].
#[derive(Debug, Clone)]
#[must_use = "builders do nothing until awaited or streamed"]
pub struct ListDomains {
    client: Client,
    limit: Option<u32>,
    cursor: Option<String>,
}

impl ListDomains {
    /// Page size, 1..=100 (the server defaults to 50).
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Start at this cursor (a [`Page::next_cursor`] stored earlier).
    pub fn cursor(mut self, cursor: impl Into<String>) -> Self {
        self.cursor = Some(cursor.into());
        self
    }

    /// Fetches one page.
    pub async fn send(self) -> Result<Response<Page<Domain>>, Error> {
        fetch_page(&self.client, self.limit, self.cursor).await
    }

    /// Every page from the starting cursor on, fetched lazily: the next page
    /// is requested only when the stream is polled past the current one.
    /// Ends after the first error, or with [`Error::PaginationLoop`] when
    /// the server hands back a cursor this stream already followed.
    pub fn pages(self) -> BoxStream<'static, Result<Response<Page<Domain>>, Error>> {
        let Self {
            client,
            limit,
            cursor,
        } = self;
        let fetch: paginate::FetchDecoded<Domain> = Arc::new(move |cursor| {
            let client = client.clone();
            Box::pin(async move { fetch_page(&client, limit, cursor).await })
        });
        paginate::pages(fetch, cursor)
    }

    /// Every domain across pages. One page is held at a time, as the JSON
    /// it arrived in: each domain is decoded when the stream reaches it, and
    /// the next page is requested only after the last domain of the current
    /// one. Ends after the first error.
    pub fn stream(self) -> BoxStream<'static, Result<Domain, Error>> {
        let Self {
            client,
            limit,
            cursor,
        } = self;
        let fetch: paginate::FetchPage = Arc::new(move |cursor| {
            let client = client.clone();
            Box::pin(async move { client.execute(list_call(limit, cursor)?).await })
        });
        paginate::items(fetch, cursor)
    }
}
into_future!(ListDomains => Response<Page<Domain>>);

/// The list call for one page; checks the arguments first.
fn list_call(limit: Option<u32>, cursor: Option<String>) -> Result<Call, Error> {
    let mut call = Call::new(ops::MANAGEMENT_LIST_DOMAINS, "/domains".into());
    if let Some(limit) = limit {
        validate::limit(limit)?;
        call.query.push(("limit", limit.to_string()));
    }
    if let Some(cursor) = cursor {
        if cursor.is_empty() {
            return Err(InvalidInput::new(
                "cursor",
                "is empty",
                "pass `next_cursor` from a previous page, or no cursor for the first page",
            )
            .into());
        }
        call.query.push(("cursor", cursor));
    }
    Ok(call)
}

async fn fetch_page(
    client: &Client,
    limit: Option<u32>,
    cursor: Option<String>,
) -> Result<Response<Page<Domain>>, Error> {
    let raw = client.execute(list_call(limit, cursor)?).await?;
    let envelope: wire::DomainItemCursorListResponse = raw.json()?;
    let page = Page {
        items: envelope.data,
        has_more: envelope.pagination.has_more,
        next_cursor: envelope.pagination.next_cursor,
    };
    Ok(item(raw, page))
}

/// Builder of [`Domains::get`].
#[derive(Debug, Clone)]
#[must_use = "builders do nothing until awaited"]
pub struct GetDomain {
    client: Client,
    id: String,
}

impl GetDomain {
    /// Sends the request.
    pub async fn send(self) -> Result<Response<Domain>, Error> {
        let call = Call::new(ops::MANAGEMENT_GET_DOMAIN, id_path("id", &self.id, "")?);
        let raw = self.client.execute(call).await?;
        let envelope: Data<Domain> = raw.json()?;
        Ok(item(raw, envelope.data))
    }
}
into_future!(GetDomain => Response<Domain>);

/// Builder of [`Domains::get_if_changed`].
#[derive(Debug, Clone)]
#[must_use = "builders do nothing until awaited"]
pub struct GetDomainIfChanged {
    client: Client,
    id: String,
    etag: String,
}

impl GetDomainIfChanged {
    /// Sends the request.
    pub async fn send(self) -> Result<Conditional<Domain>, Error> {
        validate::etag("etag", &self.etag)?;
        let call = Call::new(ops::MANAGEMENT_GET_DOMAIN, id_path("id", &self.id, "")?)
            .header(header::IF_NONE_MATCH, &self.etag)?;
        let raw = self.client.execute(call).await?;
        if raw.status == 304 {
            return Ok(Conditional::NotModified(item(raw, ())));
        }
        let envelope: Data<Domain> = raw.json()?;
        Ok(Conditional::Modified(item(raw, envelope.data)))
    }
}
into_future!(GetDomainIfChanged => Conditional<Domain>);

/// Builder of [`Domains::upgrade`].
#[derive(Debug, Clone)]
#[must_use = "builders do nothing until awaited"]
pub struct UpgradeDomain {
    client: Client,
    id: String,
    if_match: Option<String>,
}

impl UpgradeDomain {
    /// Only upgrade if the domain still has this `ETag`; otherwise the server
    /// answers `409 conflict`.
    pub fn if_match(mut self, etag: impl Into<String>) -> Self {
        self.if_match = Some(etag.into());
        self
    }

    /// Sends the request.
    pub async fn send(self) -> Result<Response<Domain>, Error> {
        let mut call = Call::new(ops::MANAGEMENT_UPDATE_DOMAIN, id_path("id", &self.id, "")?);
        if let Some(etag) = &self.if_match {
            validate::etag("if_match", etag)?;
            call = call.header(header::IF_MATCH, etag)?;
        }
        let body = wire::UpdateDomainBody {
            mode: wire::DomainUpgradeMode::SendReceive,
        };
        let raw = self.client.execute(call.json_body(&body)?).await?;
        let envelope: Data<Domain> = raw.json()?;
        Ok(item(raw, envelope.data))
    }
}
into_future!(UpgradeDomain => Response<Domain>);

/// Builder of [`Domains::delete`].
#[derive(Debug, Clone)]
#[must_use = "builders do nothing until awaited"]
pub struct DeleteDomain {
    client: Client,
    id: String,
}

impl DeleteDomain {
    /// Sends the request.
    pub async fn send(self) -> Result<Response<DomainDeleted>, Error> {
        let call = Call::new(ops::MANAGEMENT_DELETE_DOMAIN, id_path("id", &self.id, "")?);
        let raw = self.client.execute(call).await?;
        let envelope: Data<DomainDeleted> = raw.json()?;
        Ok(item(raw, envelope.data))
    }
}
into_future!(DeleteDomain => Response<DomainDeleted>);

/// Builder of [`Domains::verify`].
#[derive(Debug, Clone)]
#[must_use = "builders do nothing until awaited"]
pub struct VerifyDomain {
    client: Client,
    id: String,
}

impl VerifyDomain {
    /// Sends the request.
    pub async fn send(self) -> Result<Response<VerifyResult>, Error> {
        let call = Call::new(
            ops::MANAGEMENT_VERIFY_DOMAIN,
            id_path("id", &self.id, "/verify")?,
        );
        let raw = self.client.execute(call).await?;
        let envelope: Data<VerifyResult> = raw.json()?;
        Ok(item(raw, envelope.data))
    }
}
into_future!(VerifyDomain => Response<VerifyResult>);

/// Builder of [`Domains::zone_file`].
#[derive(Debug, Clone)]
#[must_use = "builders do nothing until awaited"]
pub struct GetZoneFile {
    client: Client,
    id: String,
    max_bytes: usize,
}

impl GetZoneFile {
    /// Largest zone file accepted (default 1 MiB); a larger one fails as
    /// [`Error::Undecodable`].
    pub fn max_bytes(mut self, max_bytes: usize) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    /// Sends the request; the zone file comes back as text.
    pub async fn send(self) -> Result<Response<String>, Error> {
        let mut call = Call::new(
            ops::MANAGEMENT_GET_DOMAIN_ZONE_FILE,
            id_path("id", &self.id, "/zone-file")?,
        );
        call.max_body = Some(self.max_bytes);
        let raw = self.client.execute(call).await?;
        let text = String::from_utf8(raw.body.to_vec()).map_err(|e| Error::Undecodable {
            status: Some(raw.status),
            request_id: raw.meta.request_id().map(str::to_owned),
            reason: "zone file is not UTF-8".into(),
            snippet: transport::snippet(&raw.body),
            attempts: raw.meta.attempts,
            source: Some(Box::new(e)),
        })?;
        Ok(Response::new(text, raw.meta))
    }
}
into_future!(GetZoneFile => Response<String>);

/// Builder of [`Domains::filters`].
#[derive(Debug, Clone)]
#[must_use = "builders do nothing until awaited"]
pub struct GetFilters {
    client: Client,
    id: String,
}

impl GetFilters {
    /// Sends the request.
    pub async fn send(self) -> Result<Response<FilterState>, Error> {
        let call = Call::new(
            ops::MANAGEMENT_GET_DOMAIN_FILTERS,
            id_path("id", &self.id, "/filters")?,
        );
        let raw = self.client.execute(call).await?;
        let envelope: Data<wire::FilterState> = raw.json()?;
        Ok(item(raw, FilterState::from(envelope.data)))
    }
}
into_future!(GetFilters => Response<FilterState>);

/// Builder of [`Domains::filters_if_changed`].
#[derive(Debug, Clone)]
#[must_use = "builders do nothing until awaited"]
pub struct GetFiltersIfChanged {
    client: Client,
    id: String,
    etag: String,
}

impl GetFiltersIfChanged {
    /// Sends the request.
    pub async fn send(self) -> Result<Conditional<FilterState>, Error> {
        validate::etag("etag", &self.etag)?;
        let call = Call::new(
            ops::MANAGEMENT_GET_DOMAIN_FILTERS,
            id_path("id", &self.id, "/filters")?,
        )
        .header(header::IF_NONE_MATCH, &self.etag)?;
        let raw = self.client.execute(call).await?;
        if raw.status == 304 {
            return Ok(Conditional::NotModified(item(raw, ())));
        }
        let envelope: Data<wire::FilterState> = raw.json()?;
        Ok(Conditional::Modified(item(
            raw,
            FilterState::from(envelope.data),
        )))
    }
}
into_future!(GetFiltersIfChanged => Conditional<FilterState>);

/// Builder of [`Domains::set_filters`].
#[derive(Debug, Clone)]
#[must_use = "builders do nothing until awaited"]
pub struct SetFilters {
    client: Client,
    id: String,
    state: FilterState,
    if_match: Option<String>,
}

impl SetFilters {
    /// Only replace if the filter still has this `ETag` (from
    /// [`Domains::filters`]); otherwise the server answers `409 conflict`.
    pub fn if_match(mut self, etag: impl Into<String>) -> Self {
        self.if_match = Some(etag.into());
        self
    }

    /// Sends the request; the response carries the new `ETag`.
    pub async fn send(self) -> Result<Response<FilterState>, Error> {
        let mut call = Call::new(
            ops::MANAGEMENT_SET_DOMAIN_FILTERS,
            id_path("id", &self.id, "/filters")?,
        );
        validate::filter_rules(&self.state.rules)?;
        if let Some(etag) = &self.if_match {
            validate::etag("if_match", etag)?;
            call = call.header(header::IF_MATCH, etag)?;
        }
        let mut rules = Vec::with_capacity(self.state.rules.len());
        for (i, rule) in self.state.rules.iter().enumerate() {
            let note = match &rule.note {
                Some(note) => Some(wire::FilterRuleNote::try_from(note.as_str()).map_err(|e| {
                    InvalidInput::new(
                        format!("rules[{i}].note"),
                        e.to_string(),
                        "shorten the note",
                    )
                })?),
                None => None,
            };
            rules.push(wire::FilterRule {
                type_: rule.kind.clone(),
                pattern: rule.pattern.clone(),
                note,
            });
        }
        let body = wire::SetFilterStateBody {
            mode: self.state.mode.clone(),
            rules,
        };
        let raw = self.client.execute(call.json_body(&body)?).await?;
        let envelope: Data<wire::FilterState> = raw.json()?;
        Ok(item(raw, FilterState::from(envelope.data)))
    }
}
into_future!(SetFilters => Response<FilterState>);

/// Builder of [`Domains::wait_until_verified`].
#[derive(Debug, Clone)]
#[must_use = "builders do nothing until awaited"]
pub struct WaitUntilVerified {
    domains: Domains,
    id: String,
    timeout: Duration,
    poll_interval: Duration,
}

impl WaitUntilVerified {
    /// Starts polling.
    pub async fn send(self) -> Result<Response<Domain>, Error> {
        validate::resource_id("id", &self.id)?;
        if self.poll_interval.is_zero() {
            return Err(InvalidInput::new(
                "poll_interval",
                "is zero",
                "poll at most every few seconds, e.g. 10 s",
            )
            .into());
        }
        let span = tracing::info_span!("sendmux.wait_until_verified", domain_id = %self.id);
        async move {
            let clock = self.domains.client.inner.clock.clone();
            let started = clock.now();
            let deadline = started + self.timeout;
            let mut last: Option<VerifyResult> = None;
            let mut polls: u32 = 0;
            loop {
                polls += 1;
                match self.domains.verify(self.id.clone()).send().await {
                    Ok(outcome) => {
                        let status = outcome.status.clone();
                        tracing::debug!(poll = polls, %status, "verification polled");
                        if status == VerificationStatus::Verified {
                            return self.domains.get(self.id.clone()).send().await;
                        }
                        last = Some(outcome.into_inner());
                    }
                    // The domain changed during the check: just look again.
                    Err(Error::Api(api)) if api.code == ErrorCode::Conflict => {
                        tracing::debug!(poll = polls, "verification raced a change; polling again");
                    }
                    Err(e) => return Err(e),
                }
                if clock.now() + self.poll_interval > deadline {
                    return Err(Error::WaitTimeout {
                        domain_id: self.id.clone(),
                        waited: clock.now().saturating_duration_since(started),
                        last_status: last.as_ref().map(|l| l.status.clone()),
                        last: last.map(Box::new),
                    });
                }
                clock.sleep(self.poll_interval).await;
            }
        }
        .instrument(span)
        .await
    }
}
into_future!(WaitUntilVerified => Response<Domain>);
