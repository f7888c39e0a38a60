//! The Sending accounts resource: `client.sending_accounts()`.
//!
//! The accounts the team sends mail through (the API's `/providers`): custom
//! SMTP servers, connected Gmail and Outlook accounts and the shared Amazon
//! SES account, with their limits, statistics and usage. The SMTP password
//! is held as a [`Secret`] and never printed, not even by the request's
//! `Debug`.

use std::fmt;
use std::num::NonZeroU64;

use sendmux_api::types as wire;
use sendmux_operations::{Operation, ops};
use serde::Serialize;

use crate::Client;
use crate::error::InvalidInput;
use crate::request::{Decoder, Json, Patch, Request, data, page};
use crate::response::{Conditional, Page, Response};
use crate::secret::{self, Secret};
use crate::validate;

pub use wire::SmtpProtocol;

/// A sending account as the API returns it (the generated model).
pub type SendingAccount = wire::ProviderItem;
/// Confirmation of a deletion (the generated model).
pub type SendingAccountDeleted = wire::ProviderDeleted;
/// Outcome of a connection test (the generated model).
pub type ConnectionTest = wire::ProviderTestResult;
/// Account capacity and the shared Amazon SES limit (the generated model).
pub type SendingLimits = wire::ProviderLimits;
/// A filed request for more sending accounts (the generated model).
pub type LimitIncrease = wire::SendingAccountLimitRequest;
/// The shared Amazon SES limit and any pending request (the generated model).
pub type SesLimitRequestState = wire::SharedAmazonSesLimitRequestPage;
/// A filed shared Amazon SES limit request (the generated model).
pub type SesLimitRequestFiled = wire::SharedAmazonSesLimitRequestCreate;
/// A withdrawn shared Amazon SES limit request (the generated model).
pub type SesLimitRequestCancelled = wire::SharedAmazonSesLimitRequestCancel;
/// Counts of accounts per status and type (the generated model).
pub type SendingAccountStats = wire::ProviderStats;
/// Recent volume per account (the generated model).
pub type SendingAccountUsage = wire::ProviderUsage;

/// [`SendingAccounts::list`]: one page, or [`stream`](Request::stream) every item.
pub type ListSendingAccounts = Request<Response<Page<SendingAccount>>>;
/// [`SendingAccounts::create`]: set the optional fields, then await.
pub type CreateSendingAccount = Request<Response<SendingAccount>, Json<SmtpFields>>;
/// [`SendingAccounts::get`].
pub type GetSendingAccount = Request<Response<SendingAccount>>;
/// [`SendingAccounts::get_if_changed`].
pub type GetSendingAccountIfChanged = Request<Conditional<SendingAccount>>;
/// [`SendingAccounts::update`]: set what changes, then await.
pub type UpdateSendingAccount = Request<Response<SendingAccount>, Json<Patch<SmtpFields>>>;
/// [`SendingAccounts::delete`].
pub type DeleteSendingAccount = Request<Response<SendingAccountDeleted>>;
/// [`SendingAccounts::activate`].
pub type ActivateSendingAccount = Request<Response<SendingAccount>>;
/// [`SendingAccounts::deactivate`].
pub type DeactivateSendingAccount = Request<Response<SendingAccount>>;
/// [`SendingAccounts::test`].
pub type TestSendingAccount = Request<Response<ConnectionTest>>;
/// [`SendingAccounts::limits`].
pub type GetSendingLimits = Request<Response<SendingLimits>>;
/// [`SendingAccounts::request_limit_increase`].
pub type RequestLimitIncrease = Request<Response<LimitIncrease>>;
/// [`SendingAccounts::ses_limit_request`].
pub type GetSesLimitRequest = Request<Response<SesLimitRequestState>>;
/// [`SendingAccounts::create_ses_limit_request`].
pub type CreateSesLimitRequest = Request<Response<SesLimitRequestFiled>>;
/// [`SendingAccounts::cancel_ses_limit_request`].
pub type CancelSesLimitRequest = Request<Response<SesLimitRequestCancelled>>;
/// [`SendingAccounts::stats`].
pub type GetSendingAccountStats = Request<Response<SendingAccountStats>>;
/// [`SendingAccounts::usage`].
pub type GetSendingAccountUsage = Request<Response<SendingAccountUsage>>;

/// Body of a custom SMTP account create or update: the generated fields,
/// and the SMTP password as a [`Secret`], which `Debug` does not show.
#[derive(Clone, Default, Serialize)]
pub struct SmtpFields {
    #[serde(flatten)]
    fields: wire::ProviderUpdateBody,
    #[serde(
        serialize_with = "secret::serialize_exposed",
        skip_serializing_if = "Option::is_none"
    )]
    smtp_password: Option<Secret>,
}

impl fmt::Debug for SmtpFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpFields")
            .field("fields", &self.fields)
            .field("smtp_password", &self.smtp_password)
            .finish()
    }
}

impl AsMut<SmtpFields> for SmtpFields {
    fn as_mut(&mut self) -> &mut SmtpFields {
        self
    }
}

/// A sender default of an account that an update can remove.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SenderDefault {
    /// `from_email`.
    FromEmail,
    /// `from_name`.
    FromName,
    /// `reply_to_email`.
    ReplyToEmail,
    /// `reply_to_name`.
    ReplyToName,
    /// `tracking_domain`.
    TrackingDomain,
}

impl SenderDefault {
    /// The field's name in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            SenderDefault::FromEmail => "from_email",
            SenderDefault::FromName => "from_name",
            SenderDefault::ReplyToEmail => "reply_to_email",
            SenderDefault::ReplyToName => "reply_to_name",
            SenderDefault::TrackingDomain => "tracking_domain",
        }
    }
}

/// Handle on the sending account operations (`/providers`); get one from
/// [`Client::sending_accounts`].
///
/// ```no_run
/// # async fn run(client: sendmux_client::Client) -> Result<(), sendmux_client::Error> {
/// use sendmux_client::sending_accounts::SmtpProtocol;
/// let accounts = client.sending_accounts();
/// let smtp = accounts.create("Relay", "smtp.acme.com", 587, SmtpProtocol::Starttls, "relay", "app-password").await?;
/// let test = accounts.test(&smtp.id).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct SendingAccounts {
    client: Client,
}

impl SendingAccounts {
    pub(crate) fn new(client: Client) -> Self {
        Self { client }
    }

    /// A call of `op` on the account `id`.
    fn on<T>(&self, op: &'static Operation, id: &str, decode: Decoder<T>) -> Request<T> {
        self.client.request(op, &[("id", id)], decode)
    }

    /// Lists sending accounts (`GET /providers`), optionally by
    /// [`status`](ListSendingAccounts::status) and [`kind`](ListSendingAccounts::kind).
    /// ```no_run
    /// # async fn f(a: sendmux_client::SendingAccounts) -> Result<(), sendmux_client::Error> {
    /// let active = a.list().status(sendmux_client::types::ProviderStatus::Active).await?;
    /// # Ok(()) }
    /// ```
    pub fn list(&self) -> ListSendingAccounts {
        self.client
            .request(ops::MANAGEMENT_LIST_PROVIDERS, &[], page)
    }

    /// Adds a custom SMTP account (`POST /providers`): server, port
    /// (1..=65535), connection security and login. The password is stored
    /// and never returned. Sent with an idempotency key.
    /// ```no_run
    /// # async fn f(a: sendmux_client::SendingAccounts) -> Result<(), sendmux_client::Error> {
    /// use sendmux_client::sending_accounts::SmtpProtocol;
    /// let created = a.create("Relay", "smtp.acme.com", 465, SmtpProtocol::Ssl, "relay", "pw").percentage(50).await?;
    /// # Ok(()) }
    /// ```
    pub fn create(
        &self,
        name: impl Into<String>,
        host: impl Into<String>,
        port: u16,
        protocol: SmtpProtocol,
        username: impl Into<String>,
        password: impl Into<Secret>,
    ) -> CreateSendingAccount {
        let request = self
            .client
            .request(ops::MANAGEMENT_CREATE_PROVIDER, &[], data);
        let body = request
            .json(SmtpFields::default())
            .server(host, port, protocol);
        body.name(name).login(username, password)
    }

    /// Reads one account (`GET /providers/{id}`), with its `ETag`.
    /// ```no_run
    /// # async fn f(a: sendmux_client::SendingAccounts) -> Result<(), sendmux_client::Error> {
    /// let account = a.get("dprov_123").await?;
    /// # Ok(()) }
    /// ```
    pub fn get(&self, id: impl AsRef<str>) -> GetSendingAccount {
        self.on(ops::MANAGEMENT_GET_PROVIDER, id.as_ref(), data)
    }

    /// Reads an account only if it changed since `etag`.
    /// ```no_run
    /// # async fn f(a: sendmux_client::SendingAccounts) -> Result<(), sendmux_client::Error> {
    /// let fresh = a.get_if_changed("dprov_123", "W/\"a1\"").await?;
    /// # Ok(()) }
    /// ```
    pub fn get_if_changed(
        &self,
        id: impl AsRef<str>,
        etag: impl Into<String>,
    ) -> GetSendingAccountIfChanged {
        self.get(id).if_none_match(etag)
    }

    /// Changes an account (`PATCH /providers/{id}`); what is not set stays.
    /// Add [`if_match`](Request::if_match) to keep a concurrent edit.
    /// ```no_run
    /// # async fn f(a: sendmux_client::SendingAccounts) -> Result<(), sendmux_client::Error> {
    /// let moved = a.update("dprov_123").login("relay2", "new-password").await?;
    /// # Ok(()) }
    /// ```
    pub fn update(&self, id: impl AsRef<str>) -> UpdateSendingAccount {
        let request = self.on(ops::MANAGEMENT_UPDATE_PROVIDER, id.as_ref(), data);
        request.json(Patch::default())
    }

    /// Deletes an account (`DELETE /providers/{id}`).
    /// ```no_run
    /// # async fn f(a: sendmux_client::SendingAccounts) -> Result<(), sendmux_client::Error> {
    /// a.delete("dprov_123").await?;
    /// # Ok(()) }
    /// ```
    pub fn delete(&self, id: impl AsRef<str>) -> DeleteSendingAccount {
        self.on(ops::MANAGEMENT_DELETE_PROVIDER, id.as_ref(), data)
    }

    /// Switches an account on (`POST /providers/{id}/activate`).
    /// ```no_run
    /// # async fn f(a: sendmux_client::SendingAccounts) -> Result<(), sendmux_client::Error> {
    /// a.activate("dprov_123").await?;
    /// # Ok(()) }
    /// ```
    pub fn activate(&self, id: impl AsRef<str>) -> ActivateSendingAccount {
        self.on(ops::MANAGEMENT_ACTIVATE_PROVIDER, id.as_ref(), data)
    }

    /// Switches an account off (`POST /providers/{id}/deactivate`).
    /// ```no_run
    /// # async fn f(a: sendmux_client::SendingAccounts) -> Result<(), sendmux_client::Error> {
    /// a.deactivate("dprov_123").await?;
    /// # Ok(()) }
    /// ```
    pub fn deactivate(&self, id: impl AsRef<str>) -> DeactivateSendingAccount {
        self.on(ops::MANAGEMENT_DEACTIVATE_PROVIDER, id.as_ref(), data)
    }

    /// Tests the connection and login (`POST /providers/{id}/test`).
    /// ```no_run
    /// # async fn f(a: sendmux_client::SendingAccounts) -> Result<(), sendmux_client::Error> {
    /// let ok = a.test("dprov_123").await?.success;
    /// # Ok(()) }
    /// ```
    pub fn test(&self, id: impl AsRef<str>) -> TestSendingAccount {
        self.on(ops::MANAGEMENT_TEST_PROVIDER, id.as_ref(), data)
    }

    /// How many accounts the team has and may have, and the shared Amazon
    /// SES daily limit (`GET /providers/limits`).
    /// ```no_run
    /// # async fn f(a: sendmux_client::SendingAccounts) -> Result<(), sendmux_client::Error> {
    /// let limits = a.limits().await?;
    /// # Ok(()) }
    /// ```
    pub fn limits(&self) -> GetSendingLimits {
        self.client
            .request(ops::MANAGEMENT_GET_PROVIDER_LIMITS, &[], data)
    }

    /// Asks for room for more accounts
    /// (`POST /providers/limits/sending-accounts/request-increase`).
    /// ```no_run
    /// # async fn f(a: sendmux_client::SendingAccounts) -> Result<(), sendmux_client::Error> {
    /// let filed = a.request_limit_increase().await?;
    /// # Ok(()) }
    /// ```
    pub fn request_limit_increase(&self) -> RequestLimitIncrease {
        let op = ops::MANAGEMENT_REQUEST_SENDING_ACCOUNT_LIMIT_INCREASE;
        self.client.request(op, &[], data)
    }

    /// The shared Amazon SES daily limit and the request awaiting review,
    /// if any (`GET /providers/shared-amazon-ses-limit-request`).
    /// ```no_run
    /// # async fn f(a: sendmux_client::SendingAccounts) -> Result<(), sendmux_client::Error> {
    /// let pending = a.ses_limit_request().await?.pending_request.clone();
    /// # Ok(()) }
    /// ```
    pub fn ses_limit_request(&self) -> GetSesLimitRequest {
        let op = ops::MANAGEMENT_GET_SHARED_AMAZON_SES_LIMIT_REQUEST;
        self.client.request(op, &[], data)
    }

    /// Asks for a higher shared Amazon SES daily limit
    /// (`POST /providers/shared-amazon-ses-limit-request`).
    /// ```no_run
    /// # async fn f(a: sendmux_client::SendingAccounts) -> Result<(), sendmux_client::Error> {
    /// let filed = a.create_ses_limit_request().await?;
    /// # Ok(()) }
    /// ```
    pub fn create_ses_limit_request(&self) -> CreateSesLimitRequest {
        let op = ops::MANAGEMENT_CREATE_SHARED_AMAZON_SES_LIMIT_REQUEST;
        self.client.request(op, &[], data)
    }

    /// Withdraws a pending shared Amazon SES limit request
    /// (`DELETE /providers/shared-amazon-ses-limit-request/{request_id}`).
    /// ```no_run
    /// # async fn f(a: sendmux_client::SendingAccounts) -> Result<(), sendmux_client::Error> {
    /// a.cancel_ses_limit_request("trir_123").await?;
    /// # Ok(()) }
    /// ```
    pub fn cancel_ses_limit_request(&self, request_id: impl AsRef<str>) -> CancelSesLimitRequest {
        let path = [("request_id", request_id.as_ref())];
        let op = ops::MANAGEMENT_CANCEL_SHARED_AMAZON_SES_LIMIT_REQUEST;
        self.client.request(op, &path, data)
    }

    /// Counts of accounts per status and type (`GET /providers/stats`).
    /// ```no_run
    /// # async fn f(a: sendmux_client::SendingAccounts) -> Result<(), sendmux_client::Error> {
    /// let total = a.stats().await?.total;
    /// # Ok(()) }
    /// ```
    pub fn stats(&self) -> GetSendingAccountStats {
        self.client
            .request(ops::MANAGEMENT_GET_PROVIDER_STATS, &[], data)
    }

    /// Volume per account over the last 7 days (`GET /providers/usage`).
    /// ```no_run
    /// # async fn f(a: sendmux_client::SendingAccounts) -> Result<(), sendmux_client::Error> {
    /// let usage = a.usage().await?;
    /// # Ok(()) }
    /// ```
    pub fn usage(&self) -> GetSendingAccountUsage {
        self.client
            .request(ops::MANAGEMENT_GET_PROVIDER_USAGE, &[], data)
    }
}

/// What a create and an update can both set.
impl<T, B: AsMut<SmtpFields>> Request<T, Json<B>> {
    /// Display name, 1 to 255 characters.
    pub fn name(self, name: impl Into<String>) -> Self {
        self.set(validate::wire("name", name), |b, v| {
            b.0.as_mut().fields.name = Some(v)
        })
    }

    /// The SMTP server: host (1 to 255 characters), port (1..=65535) and
    /// connection security.
    pub fn server(self, host: impl Into<String>, port: u16, protocol: SmtpProtocol) -> Self {
        let port = validate::in_range("smtp_port", port, 1, u16::MAX)
            .map(|()| NonZeroU64::new(port.into()));
        let request = self.set(port, |b, v| b.0.as_mut().fields.smtp_port = v);
        let request = request.set(validate::wire("smtp_host", host), |b, v| {
            b.0.as_mut().fields.smtp_host = Some(v)
        });
        request.set(Ok(protocol), |b, v| {
            b.0.as_mut().fields.smtp_protocol = Some(v)
        })
    }

    /// The SMTP login: user name (1 to 255 characters) and password (1 to
    /// 500), which is stored and never returned.
    pub fn login(self, username: impl Into<String>, password: impl Into<Secret>) -> Self {
        let password = password.into();
        let checked =
            validate::length("smtp_password", password.expose_secret(), 1, 500).map(|()| password);
        let request = self.set(validate::wire("smtp_username", username), |b, v| {
            b.0.as_mut().fields.smtp_username = Some(v)
        });
        request.set(checked, |b, v| b.0.as_mut().smtp_password = Some(v))
    }

    /// Default From address of messages that set none.
    pub fn from_email(self, email: impl Into<String>) -> Self {
        let email = email.into();
        let checked = validate::email("from_email", &email)
            .and_then(|()| validate::wire("from_email", email));
        self.set(checked, |b, v| b.0.as_mut().fields.from_email = Some(v))
    }

    /// Default From display name, at most 255 characters.
    pub fn from_name(self, name: impl Into<String>) -> Self {
        self.set(validate::wire("from_name", name), |b, v| {
            b.0.as_mut().fields.from_name = Some(v)
        })
    }

    /// Default `Reply-To` address of messages that set none.
    pub fn reply_to_email(self, email: impl Into<String>) -> Self {
        let email = email.into();
        let checked = validate::email("reply_to_email", &email)
            .and_then(|()| validate::wire("reply_to_email", email));
        self.set(checked, |b, v| b.0.as_mut().fields.reply_to_email = Some(v))
    }

    /// Default `Reply-To` display name, at most 255 characters.
    pub fn reply_to_name(self, name: impl Into<String>) -> Self {
        self.set(validate::wire("reply_to_name", name), |b, v| {
            b.0.as_mut().fields.reply_to_name = Some(v)
        })
    }

    /// Host name used for tracking links, at most 255 characters.
    pub fn tracking_domain(self, host: impl Into<String>) -> Self {
        self.set(validate::wire("tracking_domain", host), |b, v| {
            b.0.as_mut().fields.tracking_domain = Some(v)
        })
    }

    /// Share of traffic routed to this account, 0 to 100.
    pub fn percentage(self, percent: u8) -> Self {
        let checked =
            validate::in_range("percentage", percent, 0, 100).map(|()| i64::from(percent));
        self.set(checked, |b, v| b.0.as_mut().fields.percentage = Some(v))
    }

    /// Rate limits per second, minute, hour and day; a range's `min` may
    /// not exceed its `max`.
    pub fn quotas(self, quotas: wire::ProviderQuotasInput) -> Self {
        let checked = check_quotas(&quotas).map(|()| quotas);
        self.set(checked, |b, v| b.0.as_mut().fields.quotas = Some(v))
    }
}

impl UpdateSendingAccount {
    /// Removes a sender default (sent as `null`).
    pub fn clear(mut self, field: SenderDefault) -> Self {
        let fields = &mut self.body.0.set.fields;
        match field {
            SenderDefault::FromEmail => fields.from_email = None,
            SenderDefault::FromName => fields.from_name = None,
            SenderDefault::ReplyToEmail => fields.reply_to_email = None,
            SenderDefault::ReplyToName => fields.reply_to_name = None,
            SenderDefault::TrackingDomain => fields.tracking_domain = None,
        }
        self.body.0.clear(field.as_str());
        self
    }
}

impl ListSendingAccounts {
    /// Only accounts in this state.
    pub fn status(self, status: wire::ProviderStatus) -> Self {
        self.param("status", status)
    }

    /// Only accounts of this kind (`type`).
    pub fn kind(self, kind: wire::ProviderType) -> Self {
        self.param("type", kind)
    }
}

/// Every range in `quotas` has `min <= max`.
fn check_quotas(quotas: &wire::ProviderQuotasInput) -> Result<(), InvalidInput> {
    let all = [
        ("quotas.per_second.min", &quotas.per_second),
        ("quotas.per_minute.min", &quotas.per_minute),
        ("quotas.per_hour.min", &quotas.per_hour),
        ("quotas.per_day.min", &quotas.per_day),
    ];
    for (field, quota) in all {
        if let Some(wire::ProviderQuotaValue::ProviderQuotaRange(range)) = quota {
            validate::in_range(field, range.min, NonZeroU64::MIN, range.max)?;
        }
    }
    Ok(())
}
