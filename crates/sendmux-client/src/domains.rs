//! The Domains resource: `client.domains()`.
//!
//! Each method names its operation from the generated table, takes the
//! required arguments and returns a [`Request`]: set per-call options, then
//! `.await` it. Arguments are checked before any request is made.

use std::time::Duration;

use sendmux_api::types as wire;
use sendmux_operations::ops;
use tracing::Instrument;

use crate::Client;
use crate::error::{Error, InvalidInput};
use crate::models::{DomainMode, ErrorCode, FilterState, VerificationStatus};
use crate::request::{Json, Request, data, page, text};
use crate::response::{Conditional, Page, Response};
use crate::validate;

/// A domain as the API returns it (the generated model).
pub type Domain = wire::MailboxDomain;
/// The outcome of a verification run (the generated model).
pub type VerifyResult = wire::MailboxDomainVerifyResult;
/// Confirmation of a deletion (the generated model).
pub type DomainDeleted = wire::DomainDeleted;

/// Largest zone file read by default.
pub const DEFAULT_ZONE_FILE_MAX_BYTES: usize = 1024 * 1024;

/// [`Domains::create`]: set [`mode`](CreateDomain::mode), then await.
pub type CreateDomain = Request<Response<Domain>, Json<wire::CreateDomainBody>>;
/// [`Domains::list`]: one page, or [`stream`](Request::stream) every item.
pub type ListDomains = Request<Response<Page<Domain>>>;
/// [`Domains::get`].
pub type GetDomain = Request<Response<Domain>>;
/// [`Domains::get_if_changed`].
pub type GetDomainIfChanged = Request<Conditional<Domain>>;
/// [`Domains::upgrade`].
pub type UpgradeDomain = Request<Response<Domain>, Json<wire::UpdateDomainBody>>;
/// [`Domains::delete`].
pub type DeleteDomain = Request<Response<DomainDeleted>>;
/// [`Domains::verify`].
pub type VerifyDomain = Request<Response<VerifyResult>>;
/// [`Domains::zone_file`].
pub type GetZoneFile = Request<Response<String>>;
/// [`Domains::filters`].
pub type GetFilters = Request<Response<FilterState>>;
/// [`Domains::filters_if_changed`].
pub type GetFiltersIfChanged = Request<Conditional<FilterState>>;
/// [`Domains::set_filters`].
pub type SetFilters = Request<Response<FilterState>, Json<FilterState>>;

/// Handle on the Domains operations; get one from [`Client::domains`].
///
/// ```no_run
/// # async fn run(client: sendmux_client::Client) -> Result<(), sendmux_client::Error> {
/// let domains = client.domains();
/// let created = domains.create("mail.acme.com").await?;
/// domains.verify(&created.id).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Domains {
    client: Client,
}

impl Domains {
    pub(crate) fn new(client: Client) -> Self {
        Self { client }
    }

    /// Adds a domain (`POST /domains`); `domain` is a lowercase, fully
    /// qualified name. Sent with an idempotency key, so retries cannot add
    /// it twice.
    /// ```no_run
    /// # async fn f(domains: sendmux_client::Domains) -> Result<(), sendmux_client::Error> {
    /// let created = domains.create("mail.acme.com").mode(sendmux_client::DomainMode::SendOnly).await?;
    /// # Ok(()) }
    /// ```
    pub fn create(&self, domain: impl Into<String>) -> CreateDomain {
        let domain = domain.into();
        let checked = validate::domain_name(&domain);
        let body = wire::CreateDomainBody { domain, mode: None };
        let request = self
            .client
            .request(ops::MANAGEMENT_CREATE_DOMAIN, &[], data);
        request.check(checked).json(body)
    }

    /// Lists domains, newest first (`GET /domains`): one page when awaited,
    /// or every item with [`stream`](Request::stream).
    /// ```no_run
    /// # async fn f(domains: sendmux_client::Domains) -> Result<(), sendmux_client::Error> {
    /// let first_page = domains.list().limit(100).await?;
    /// # Ok(()) }
    /// ```
    pub fn list(&self) -> ListDomains {
        self.client.request(ops::MANAGEMENT_LIST_DOMAINS, &[], page)
    }

    /// Reads one domain (`GET /domains/{id}`); the response carries its `ETag`.
    /// ```no_run
    /// # async fn f(domains: sendmux_client::Domains) -> Result<(), sendmux_client::Error> {
    /// let domain = domains.get("mdom_123").await?;
    /// # Ok(()) }
    /// ```
    pub fn get(&self, id: impl AsRef<str>) -> GetDomain {
        let path = [("id", id.as_ref())];
        self.client.request(ops::MANAGEMENT_GET_DOMAIN, &path, data)
    }

    /// Reads a domain only if it changed since `etag`; `304` comes back as
    /// [`Conditional::NotModified`].
    /// ```no_run
    /// # async fn f(domains: sendmux_client::Domains) -> Result<(), sendmux_client::Error> {
    /// let fresh = domains.get_if_changed("mdom_123", "W/\"a1\"").await?;
    /// # Ok(()) }
    /// ```
    pub fn get_if_changed(
        &self,
        id: impl AsRef<str>,
        etag: impl Into<String>,
    ) -> GetDomainIfChanged {
        self.get(id).if_none_match(etag)
    }

    /// Upgrades a `send_only` domain to `send_receive` (`PATCH /domains/{id}`);
    /// it goes back to `pending` until its MX record verifies.
    /// ```no_run
    /// # async fn f(domains: sendmux_client::Domains) -> Result<(), sendmux_client::Error> {
    /// let upgraded = domains.upgrade("mdom_123").if_match("W/\"a1\"").await?;
    /// # Ok(()) }
    /// ```
    pub fn upgrade(&self, id: impl AsRef<str>) -> UpgradeDomain {
        let path = [("id", id.as_ref())];
        let body = wire::UpdateDomainBody {
            mode: wire::DomainUpgradeMode::SendReceive,
        };
        self.client
            .request(ops::MANAGEMENT_UPDATE_DOMAIN, &path, data)
            .json(body)
    }

    /// Deletes a domain (`DELETE /domains/{id}`); refused with `409 conflict`
    /// while active mailboxes use it.
    /// ```no_run
    /// # async fn f(domains: sendmux_client::Domains) -> Result<(), sendmux_client::Error> {
    /// domains.delete("mdom_123").await?;
    /// # Ok(()) }
    /// ```
    pub fn delete(&self, id: impl AsRef<str>) -> DeleteDomain {
        let path = [("id", id.as_ref())];
        self.client
            .request(ops::MANAGEMENT_DELETE_DOMAIN, &path, data)
    }

    /// Runs the DNS checks now (`POST /domains/{id}/verify`).
    /// ```no_run
    /// # async fn f(domains: sendmux_client::Domains) -> Result<(), sendmux_client::Error> {
    /// let outcome = domains.verify("mdom_123").await?;
    /// # Ok(()) }
    /// ```
    pub fn verify(&self, id: impl AsRef<str>) -> VerifyDomain {
        let path = [("id", id.as_ref())];
        self.client
            .request(ops::MANAGEMENT_VERIFY_DOMAIN, &path, data)
    }

    /// The domain's DNS records as a zone-file fragment
    /// (`GET /domains/{id}/zone-file`), at most 1 MiB unless
    /// [`max_response_bytes`](Request::max_response_bytes) says otherwise.
    /// ```no_run
    /// # async fn f(domains: sendmux_client::Domains) -> Result<(), sendmux_client::Error> {
    /// let zone = domains.zone_file("mdom_123").await?;
    /// # Ok(()) }
    /// ```
    pub fn zone_file(&self, id: impl AsRef<str>) -> GetZoneFile {
        let path = [("id", id.as_ref())];
        let request = self
            .client
            .request(ops::MANAGEMENT_GET_DOMAIN_ZONE_FILE, &path, text);
        request.max_response_bytes(DEFAULT_ZONE_FILE_MAX_BYTES)
    }

    /// Reads the domain-wide sender filter (`GET /domains/{id}/filters`);
    /// the response carries its `ETag`.
    /// ```no_run
    /// # async fn f(domains: sendmux_client::Domains) -> Result<(), sendmux_client::Error> {
    /// let filter = domains.filters("mdom_123").await?;
    /// # Ok(()) }
    /// ```
    pub fn filters(&self, id: impl AsRef<str>) -> GetFilters {
        let path = [("id", id.as_ref())];
        self.client
            .request(ops::MANAGEMENT_GET_DOMAIN_FILTERS, &path, data)
    }

    /// Reads the filter only if it changed since `etag` (`If-None-Match`).
    /// ```no_run
    /// # async fn f(domains: sendmux_client::Domains) -> Result<(), sendmux_client::Error> {
    /// let fresh = domains.filters_if_changed("mdom_123", "W/\"f1\"").await?;
    /// # Ok(()) }
    /// ```
    pub fn filters_if_changed(
        &self,
        id: impl AsRef<str>,
        etag: impl Into<String>,
    ) -> GetFiltersIfChanged {
        self.filters(id).if_none_match(etag)
    }

    /// Replaces the whole sender filter (`PUT /domains/{id}/filters`), at most
    /// 1,000 rules; add [`if_match`](Request::if_match) to keep a concurrent
    /// edit.
    /// ```no_run
    /// # async fn f(domains: sendmux_client::Domains) -> Result<(), sendmux_client::Error> {
    /// let set = domains.set_filters("mdom_123", sendmux_client::FilterState::new(sendmux_client::FilterMode::Off, [])).await?;
    /// # Ok(()) }
    /// ```
    pub fn set_filters(&self, id: impl AsRef<str>, state: FilterState) -> SetFilters {
        let path = [("id", id.as_ref())];
        let checked = validate::filter_rules(&state.rules);
        let request = self
            .client
            .request(ops::MANAGEMENT_SET_DOMAIN_FILTERS, &path, data);
        request.check(checked).json(state)
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

impl CreateDomain {
    /// How the domain is used; the server defaults to `send_receive`.
    pub fn mode(mut self, mode: DomainMode) -> Self {
        self.body.0.mode = Some(mode);
        self
    }
}

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
            // A timeout too large for `Instant` means no deadline.
            let deadline = started.checked_add(self.timeout);
            let mut last: Option<VerifyResult> = None;
            let mut polls: u32 = 0;
            let timed_out = |last: Option<VerifyResult>| Error::WaitTimeout {
                domain_id: self.id.clone(),
                waited: clock.now().saturating_duration_since(started),
                last_status: last.as_ref().map(|l| l.status.clone()),
                last: last.map(Box::new),
            };
            // The overall deadline bounds each check (and the final read):
            // the call gets a retry policy whose deadline is the time left,
            // so a stalled server is cut off in flight, not waited out.
            let bounded = |left: Option<Duration>| {
                let policy = self.domains.client.retry_policy().clone();
                left.map(|left| policy.with_deadline(Some(left)))
            };
            let cut_by_deadline = |error: &Error| {
                error.is_timeout()
                    && deadline.is_some_and(|d| {
                        d.saturating_duration_since(clock.now()) <= Duration::from_millis(50)
                    })
            };
            loop {
                polls += 1;
                let left = deadline.map(|d| d.saturating_duration_since(clock.now()));
                let mut check = self.domains.verify(&self.id);
                if let Some(policy) = bounded(left) {
                    check = check.retry_policy(policy);
                }
                match check.send().await {
                    Ok(outcome) => {
                        let status = outcome.status.clone();
                        tracing::debug!(poll = polls, %status, "verification polled");
                        if status == VerificationStatus::Verified {
                            let left = deadline.map(|d| d.saturating_duration_since(clock.now()));
                            let mut read = self.domains.get(&self.id);
                            if let Some(policy) = bounded(left) {
                                read = read.retry_policy(policy);
                            }
                            return match read.send().await {
                                Err(e) if cut_by_deadline(&e) => {
                                    Err(timed_out(Some(outcome.into_inner())))
                                }
                                read => read,
                            };
                        }
                        last = Some(outcome.into_inner());
                    }
                    // The domain changed during the check: just look again.
                    Err(Error::Api(api)) if api.code == ErrorCode::Conflict => {
                        tracing::debug!(poll = polls, "verification raced a change; polling again");
                    }
                    Err(e) if cut_by_deadline(&e) => return Err(timed_out(last)),
                    Err(e) => return Err(e),
                }
                let next = clock.now().checked_add(self.poll_interval);
                if let Some(deadline) = deadline
                    && next.is_none_or(|next| next > deadline)
                {
                    return Err(timed_out(last));
                }
                clock.sleep(self.poll_interval).await;
            }
        }
        .instrument(span)
        .await
    }
}

impl std::future::IntoFuture for WaitUntilVerified {
    type Output = Result<Response<Domain>, Error>;
    type IntoFuture = futures::future::BoxFuture<'static, Self::Output>;
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}
