//! The Mailboxes resource: `client.mailboxes()`.
//!
//! Hosted mailboxes, their keys and their sender filters. Creating a mailbox
//! or a key answers with a credential whose key is shown only that once; it
//! comes back as a [`Secret`], never printed.

use std::num::NonZeroU64;

use sendmux_api::types as wire;
use sendmux_operations::{Operation, ops};
use serde::{Deserialize, Serialize};

use crate::Client;
use crate::error::InvalidInput;
use crate::models::FilterState;
use crate::request::{Decoder, Json, Patch, Request, data, page};
use crate::response::{Conditional, Page, Response};
use crate::secret::{self, Secret};
use crate::validate;

/// A mailbox as the API returns it (the generated model).
pub type Mailbox = wire::Mailbox;
/// Confirmation of a mailbox deletion (the generated model).
pub type MailboxDeleted = wire::MailboxDeleted;
/// Confirmation of a key revocation (the generated model).
pub type MailboxKeyDeleted = wire::MailboxKeyDeleted;
/// Whether an address is free for a new mailbox (the generated model).
pub type MailboxAvailability = wire::MailboxAvailabilityResult;

/// The storage tiers a mailbox may have, in bytes: 1, 5 and 50 GiB.
pub const QUOTA_TIERS: [u64; 3] = [1 << 30, 5 << 30, 50 << 30];

/// [`Mailboxes::create`]: set the optional fields, then await.
pub type CreateMailbox = Request<Response<MailboxCreated>, Json<NewMailbox>>;
/// [`Mailboxes::list`]: one page, or [`stream`](Request::stream) every item.
pub type ListMailboxes = Request<Response<Page<Mailbox>>>;
/// [`Mailboxes::get`].
pub type GetMailbox = Request<Response<Mailbox>>;
/// [`Mailboxes::get_if_changed`].
pub type GetMailboxIfChanged = Request<Conditional<Mailbox>>;
/// [`Mailboxes::update`]: set what changes, then await.
pub type UpdateMailbox = Request<Response<Mailbox>, Json<Patch<wire::UpdateMailboxBody>>>;
/// [`Mailboxes::delete`].
pub type DeleteMailbox = Request<Response<MailboxDeleted>>;
/// [`Mailboxes::suspend`].
pub type SuspendMailbox = Request<Response<Mailbox>>;
/// [`Mailboxes::resume`].
pub type ResumeMailbox = Request<Response<Mailbox>>;
/// [`Mailboxes::check_availability`].
pub type CheckAvailability = Request<Response<MailboxAvailability>>;
/// [`Mailboxes::create_key`].
pub type CreateMailboxKey =
    Request<Response<MailboxCredential>, Json<Option<wire::CreateMailboxKeyBody>>>;
/// [`Mailboxes::revoke_key`].
pub type RevokeMailboxKey = Request<Response<MailboxKeyDeleted>>;
/// [`Mailboxes::filters`].
pub type GetMailboxFilters = Request<Response<FilterState>>;
/// [`Mailboxes::filters_if_changed`].
pub type GetMailboxFiltersIfChanged = Request<Conditional<FilterState>>;
/// [`Mailboxes::set_filters`].
pub type SetMailboxFilters = Request<Response<FilterState>, Json<FilterState>>;

/// A new mailbox and its first credential, as the create answers once.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct MailboxCreated {
    /// The mailbox.
    pub mailbox: Mailbox,
    /// Its first key and login details; `None` when issuing it failed (see
    /// `warning`, then [`Mailboxes::create_key`]).
    #[serde(default)]
    pub credential: Option<MailboxCredential>,
    /// Why the mailbox has no key, when it has none.
    #[serde(default)]
    pub warning: Option<String>,
}

/// A mailbox key with its IMAP and SMTP login details.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct MailboxCredential {
    /// Id of the key, for [`Mailboxes::revoke_key`].
    pub public_id: String,
    /// The key: the bearer token for the Mailbox API and the IMAP and SMTP
    /// password. Shown only in this answer.
    pub secret: Secret,
    /// Start of the key, to recognise it later.
    pub key_prefix: String,
    /// End of the key, to recognise it later.
    pub key_suffix: String,
    /// IMAP and SMTP host.
    pub server: String,
    /// IMAP port.
    pub imap_port: u16,
    /// SMTP port.
    pub smtp_port: u16,
    /// IMAP and SMTP login (the address).
    pub username: String,
}

/// Which sending accounts a mailbox's outgoing mail may use.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendScope {
    /// Every sending account of the team.
    All,
    /// Only these sending accounts (`dprov_...`).
    Providers(Vec<String>),
    /// These delivery groups.
    Groups(Vec<String>),
}

/// Body of [`Mailboxes::create`]: the address and the settings an update
/// can change too.
#[derive(Debug, Clone, Serialize)]
pub struct NewMailbox {
    email: String,
    #[serde(flatten)]
    settings: wire::UpdateMailboxBody,
}

impl AsMut<wire::UpdateMailboxBody> for NewMailbox {
    fn as_mut(&mut self) -> &mut wire::UpdateMailboxBody {
        &mut self.settings
    }
}

/// Handle on the Mailboxes operations; get one from [`Client::mailboxes`].
///
/// ```no_run
/// # async fn run(client: sendmux_client::Client) -> Result<(), sendmux_client::Error> {
/// let created = client.mailboxes().create("agent@mail.acme.com").await?;
/// if let Some(credential) = &created.credential {
///     store(credential.secret.expose_secret());
/// }
/// # Ok(()) }
/// # fn store(_: &str) {}
/// ```
#[derive(Debug, Clone)]
pub struct Mailboxes {
    client: Client,
}

impl Mailboxes {
    pub(crate) fn new(client: Client) -> Self {
        Self { client }
    }

    /// A call of `op` on the mailbox `id`.
    fn on<T>(&self, op: &'static Operation, id: &str, decode: Decoder<T>) -> Request<T> {
        self.client.request(op, &[("id", id)], decode)
    }

    /// Lists mailboxes, newest first (`GET /mailboxes`); add
    /// [`include_deleted`](ListMailboxes::include_deleted) for deleted ones.
    /// ```no_run
    /// # async fn f(m: sendmux_client::Mailboxes) -> Result<(), sendmux_client::Error> {
    /// let page = m.list().limit(100).await?;
    /// # Ok(()) }
    /// ```
    pub fn list(&self) -> ListMailboxes {
        self.client
            .request(ops::MANAGEMENT_LIST_MAILBOXES, &[], page)
    }

    /// Creates a mailbox on a verified domain (`POST /mailboxes`) with its
    /// first key, returned once as a [`Secret`]. Sent with an idempotency key.
    /// ```no_run
    /// # async fn f(m: sendmux_client::Mailboxes) -> Result<(), sendmux_client::Error> {
    /// let created = m.create("agent@mail.acme.com").display_name("Agent").quota_bytes(5 << 30).await?;
    /// # Ok(()) }
    /// ```
    pub fn create(&self, email: impl Into<String>) -> CreateMailbox {
        let email = email.into();
        let checked = validate::email("email", &email);
        let body = NewMailbox {
            email,
            settings: wire::UpdateMailboxBody::default(),
        };
        let request = self
            .client
            .request(ops::MANAGEMENT_CREATE_MAILBOX, &[], secret::data);
        request.check(checked).json(body).sensitive()
    }

    /// Reads one mailbox (`GET /mailboxes/{id}`); the answer carries its `ETag`.
    /// ```no_run
    /// # async fn f(m: sendmux_client::Mailboxes) -> Result<(), sendmux_client::Error> {
    /// let mailbox = m.get("mbx_123").await?;
    /// # Ok(()) }
    /// ```
    pub fn get(&self, id: impl AsRef<str>) -> GetMailbox {
        self.on(ops::MANAGEMENT_GET_MAILBOX, id.as_ref(), data)
    }

    /// Reads a mailbox only if it changed since `etag` (`304` comes back as
    /// [`Conditional::NotModified`]).
    /// ```no_run
    /// # async fn f(m: sendmux_client::Mailboxes) -> Result<(), sendmux_client::Error> {
    /// let fresh = m.get_if_changed("mbx_123", "W/\"a1\"").await?;
    /// # Ok(()) }
    /// ```
    pub fn get_if_changed(
        &self,
        id: impl AsRef<str>,
        etag: impl Into<String>,
    ) -> GetMailboxIfChanged {
        self.get(id).if_none_match(etag)
    }

    /// Changes a mailbox's display name, quota or send scope
    /// (`PATCH /mailboxes/{id}`); what is not set stays. Add
    /// [`if_match`](Request::if_match) to keep a concurrent edit.
    /// ```no_run
    /// # async fn f(m: sendmux_client::Mailboxes) -> Result<(), sendmux_client::Error> {
    /// let mailbox = m.update("mbx_123").quota_bytes(50 << 30).if_match("W/\"a1\"").await?;
    /// # Ok(()) }
    /// ```
    pub fn update(&self, id: impl AsRef<str>) -> UpdateMailbox {
        let request = self.on(ops::MANAGEMENT_UPDATE_MAILBOX, id.as_ref(), data);
        request.json(Patch::default())
    }

    /// Deletes a mailbox (`DELETE /mailboxes/{id}`).
    /// ```no_run
    /// # async fn f(m: sendmux_client::Mailboxes) -> Result<(), sendmux_client::Error> {
    /// m.delete("mbx_123").await?;
    /// # Ok(()) }
    /// ```
    pub fn delete(&self, id: impl AsRef<str>) -> DeleteMailbox {
        self.on(ops::MANAGEMENT_DELETE_MAILBOX, id.as_ref(), data)
    }

    /// Suspends a mailbox (`POST /mailboxes/{id}/suspend`); its keys stop
    /// working until [`resume`](Self::resume).
    /// ```no_run
    /// # async fn f(m: sendmux_client::Mailboxes) -> Result<(), sendmux_client::Error> {
    /// let suspended = m.suspend("mbx_123").await?;
    /// # Ok(()) }
    /// ```
    pub fn suspend(&self, id: impl AsRef<str>) -> SuspendMailbox {
        self.on(ops::MANAGEMENT_SUSPEND_MAILBOX, id.as_ref(), data)
    }

    /// Resumes a suspended mailbox (`POST /mailboxes/{id}/resume`).
    /// ```no_run
    /// # async fn f(m: sendmux_client::Mailboxes) -> Result<(), sendmux_client::Error> {
    /// let active = m.resume("mbx_123").await?;
    /// # Ok(()) }
    /// ```
    pub fn resume(&self, id: impl AsRef<str>) -> ResumeMailbox {
        self.on(ops::MANAGEMENT_RESUME_MAILBOX, id.as_ref(), data)
    }

    /// Whether `email` is free for a new mailbox
    /// (`GET /mailboxes/availability`), with the reason.
    /// ```no_run
    /// # async fn f(m: sendmux_client::Mailboxes) -> Result<(), sendmux_client::Error> {
    /// let free = m.check_availability("agent@mail.acme.com").await?.available;
    /// # Ok(()) }
    /// ```
    pub fn check_availability(&self, email: impl Into<String>) -> CheckAvailability {
        let email = email.into();
        let checked = validate::length("email", &email, 1, 254);
        let request = self
            .client
            .request(ops::MANAGEMENT_CHECK_MAILBOX_AVAILABILITY, &[], data);
        request.check(checked).query("email", email)
    }

    /// Issues another key for a mailbox (`POST /mailboxes/{id}/keys`),
    /// returned once as a [`Secret`]; `app_name` says what uses it.
    /// ```no_run
    /// # async fn f(m: sendmux_client::Mailboxes) -> Result<(), sendmux_client::Error> {
    /// let credential = m.create_key("mbx_123", "ci runner").await?;
    /// # Ok(()) }
    /// ```
    pub fn create_key(&self, id: impl AsRef<str>, app_name: impl Into<String>) -> CreateMailboxKey {
        let body = validate::wire("app_name", app_name)
            .map(|app_name| wire::CreateMailboxKeyBody { app_name });
        let request = self.on(ops::MANAGEMENT_CREATE_MAILBOX_KEY, id.as_ref(), |raw| {
            secret::data::<KeyIssued>(raw).map(|r| r.map(|issued| issued.credential))
        });
        request
            .json(None)
            .set(body, |b, body| b.0 = Some(body))
            .sensitive()
    }

    /// Revokes one key and its IMAP/SMTP password
    /// (`DELETE /mailboxes/{id}/keys/{key_id}`); revoking twice succeeds.
    /// ```no_run
    /// # async fn f(m: sendmux_client::Mailboxes) -> Result<(), sendmux_client::Error> {
    /// m.revoke_key("mbx_123", "mkey_456").await?;
    /// # Ok(()) }
    /// ```
    pub fn revoke_key(&self, id: impl AsRef<str>, key_id: impl AsRef<str>) -> RevokeMailboxKey {
        let path = [("id", id.as_ref()), ("key_id", key_id.as_ref())];
        self.client
            .request(ops::MANAGEMENT_DELETE_MAILBOX_KEY, &path, data)
    }

    /// Reads the mailbox's sender filter (`GET /mailboxes/{id}/filters`),
    /// with its `ETag`.
    /// ```no_run
    /// # async fn f(m: sendmux_client::Mailboxes) -> Result<(), sendmux_client::Error> {
    /// let filter = m.filters("mbx_123").await?;
    /// # Ok(()) }
    /// ```
    pub fn filters(&self, id: impl AsRef<str>) -> GetMailboxFilters {
        self.on(ops::MANAGEMENT_GET_MAILBOX_FILTERS, id.as_ref(), data)
    }

    /// Reads the filter only if it changed since `etag`.
    /// ```no_run
    /// # async fn f(m: sendmux_client::Mailboxes) -> Result<(), sendmux_client::Error> {
    /// let fresh = m.filters_if_changed("mbx_123", "W/\"f1\"").await?;
    /// # Ok(()) }
    /// ```
    pub fn filters_if_changed(
        &self,
        id: impl AsRef<str>,
        etag: impl Into<String>,
    ) -> GetMailboxFiltersIfChanged {
        self.filters(id).if_none_match(etag)
    }

    /// Replaces the whole sender filter (`PUT /mailboxes/{id}/filters`), at
    /// most 1,000 rules, checked before sending.
    /// ```no_run
    /// # async fn f(m: sendmux_client::Mailboxes) -> Result<(), sendmux_client::Error> {
    /// use sendmux_client::{FilterMode, FilterRule, FilterState};
    /// let state = FilterState::new(FilterMode::Allowlist, [FilterRule::allow("partner.com")]);
    /// m.set_filters("mbx_123", state).await?;
    /// # Ok(()) }
    /// ```
    pub fn set_filters(&self, id: impl AsRef<str>, state: FilterState) -> SetMailboxFilters {
        let checked = validate::filter_rules(&state.rules);
        let request = self.on(ops::MANAGEMENT_SET_MAILBOX_FILTERS, id.as_ref(), data);
        request.check(checked).json(state)
    }
}

/// The answer of `create_key`, of which only the credential is kept.
#[derive(Deserialize)]
struct KeyIssued {
    credential: MailboxCredential,
}

/// The settings [`Mailboxes::create`] and [`Mailboxes::update`] share.
impl<T, B: AsMut<wire::UpdateMailboxBody>> Request<T, Json<B>> {
    /// The From display name, 1 to 254 characters.
    pub fn display_name(self, name: impl Into<String>) -> Self {
        let name = validate::wire("display_name", name);
        self.set(name, |body, name| body.0.as_mut().display_name = Some(name))
    }

    /// The storage limit, one of [`QUOTA_TIERS`] (and, on an update, not
    /// below what the mailbox already holds).
    pub fn quota_bytes(self, bytes: u64) -> Self {
        let tier =
            validate::one_of("quota_bytes", bytes, &QUOTA_TIERS).map(|()| NonZeroU64::new(bytes));
        self.set(tier, |body, tier| body.0.as_mut().quota_bytes = tier)
    }

    /// Which sending accounts outgoing mail may use.
    pub fn send_scope(self, scope: SendScope) -> Self {
        self.set(scope_input(scope), |body, scope| {
            body.0.as_mut().send_scope = Some(scope)
        })
    }
}

impl UpdateMailbox {
    /// Removes the display name.
    pub fn clear_display_name(mut self) -> Self {
        self.body.0.set.display_name = None;
        self.body.0.clear("display_name");
        self
    }
}

impl ListMailboxes {
    /// Lists deleted mailboxes too.
    pub fn include_deleted(self) -> Self {
        self.param("include_deleted", wire::ListMailboxesIncludeDeleted::True)
    }
}

/// The wire form of a send scope, each id checked against its length limit.
fn scope_input(scope: SendScope) -> Result<wire::SendScopeInput, InvalidInput> {
    fn ids<T: TryFrom<String, Error: std::fmt::Display>>(
        ids: Vec<String>,
    ) -> Result<Vec<T>, InvalidInput> {
        ids.into_iter()
            .map(|id| validate::wire("send_scope", id))
            .collect()
    }
    let (type_, groups, providers) = match scope {
        SendScope::All => (wire::SendScopeType::All, Vec::new(), Vec::new()),
        SendScope::Providers(list) => (wire::SendScopeType::Providers, Vec::new(), ids(list)?),
        SendScope::Groups(list) => (wire::SendScopeType::Group, ids(list)?, Vec::new()),
    };
    Ok(wire::SendScopeInput {
        type_,
        group_public_ids: groups,
        provider_public_ids: providers,
    })
}
