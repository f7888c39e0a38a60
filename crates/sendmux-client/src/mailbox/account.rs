//! The account side of a mailbox: who the credential is, the session
//! with its states and limits, sender identities, the mailboxes a
//! credential may act on, quotas, usage and send submissions.

use sendmux_api::types as wire;
use sendmux_operations::ops;

use super::Mailbox;
use super::query::timestamp;
use super::sync::{ChangesSince, GetResourceChanges, State};
use crate::request::{Json, Patch, Request, data, page};
use crate::response::{Conditional, Page, Response};

/// [`Mailbox::me`].
pub type GetMe = Request<Response<wire::MailboxMe>>;
/// [`Mailbox::me_if_changed`].
pub type GetMeIfChanged = Request<Conditional<wire::MailboxMe>>;
/// [`Mailbox::session`].
pub type GetSession = Request<Response<wire::MailboxSession>>;
/// [`Mailbox::session_if_changed`].
pub type GetSessionIfChanged = Request<Conditional<wire::MailboxSession>>;
/// [`Mailbox::identities`]: one page, or [`stream`](Request::stream) them all.
pub type ListIdentities = Request<Response<Page<wire::MailboxIdentity>>>;
/// [`Mailbox::identity`].
pub type GetIdentity = Request<Response<wire::MailboxIdentity>>;
/// [`Mailbox::update_identity`]: set what changes, then await.
pub type UpdateIdentity =
    Request<Response<wire::MailboxIdentity>, Json<Patch<wire::UpdateMailboxIdentityBody>>>;
/// [`Mailbox::granted_mailboxes`]: one page, or [`stream`](Request::stream).
pub type ListGrantedMailboxes = Request<Response<Page<wire::GrantedMailbox>>>;
/// [`Mailbox::quotas`]: filter, then page through.
pub type ListQuotas = Request<Response<Page<wire::MailboxQuota>>>;
/// [`Mailbox::usage`].
pub type GetUsage = Request<Response<wire::MailboxUsage>>;
/// [`Mailbox::usage_if_changed`].
pub type GetUsageIfChanged = Request<Conditional<wire::MailboxUsage>>;
/// [`Mailbox::submissions`]: filter, then page through.
pub type ListSubmissions = Request<Response<Page<wire::MailboxSubmission>>>;
/// [`Mailbox::submission`].
pub type GetSubmission = Request<Response<wire::MailboxSubmission>>;
/// [`Mailbox::submission_if_changed`].
pub type GetSubmissionIfChanged = Request<Conditional<wire::MailboxSubmission>>;

impl Mailbox {
    /// The mailbox the credential speaks for, with its live storage use
    /// (`GET /mailbox/me`); call it once at start to learn the id.
    /// ```no_run
    /// # async fn f(mailbox: sendmux_client::mailbox::Mailbox) -> Result<(), sendmux_client::Error> {
    /// let me = mailbox.me().await?;
    /// println!("{} ({})", me.email, me.id);
    /// # Ok(()) }
    /// ```
    pub fn me(&self) -> GetMe {
        self.call(ops::MAILBOX_GET_ME, &[], data)
    }

    /// [`me`](Self::me) only if it changed since `etag`.
    /// ```no_run
    /// # async fn f(mailbox: sendmux_client::mailbox::Mailbox) -> Result<(), sendmux_client::Error> {
    /// let fresh = mailbox.me_if_changed("W/\"m1\"").await?;
    /// # Ok(()) }
    /// ```
    pub fn me_if_changed(&self, etag: impl Into<String>) -> GetMeIfChanged {
        self.me().if_none_match(etag)
    }

    /// The session (`GET /mailbox/session`): what this server supports,
    /// the current state of every resource type (see [`States`](super::States)),
    /// the limits (see [`with_limits`](Self::with_limits)) and the
    /// features it turns off.
    /// ```no_run
    /// # async fn f(mailbox: sendmux_client::mailbox::Mailbox) -> Result<(), sendmux_client::Error> {
    /// use sendmux_client::mailbox::States;
    /// let session = mailbox.session().await?;
    /// let states = States::from(&*session);
    /// println!("{} ids per batch", session.limits.batch_ids_max);
    /// # Ok(()) }
    /// ```
    pub fn session(&self) -> GetSession {
        self.call(ops::MAILBOX_GET_SESSION, &[], data)
    }

    /// [`session`](Self::session) only if it changed since `etag`.
    /// ```no_run
    /// # async fn f(mailbox: sendmux_client::mailbox::Mailbox) -> Result<(), sendmux_client::Error> {
    /// let fresh = mailbox.session_if_changed("W/\"s1\"").await?;
    /// # Ok(()) }
    /// ```
    pub fn session_if_changed(&self, etag: impl Into<String>) -> GetSessionIfChanged {
        self.session().if_none_match(etag)
    }

    /// The sender identities of the mailbox (`GET /mailbox/identities`).
    /// ```no_run
    /// # async fn f(mailbox: sendmux_client::mailbox::Mailbox) -> Result<(), sendmux_client::Error> {
    /// let identities = mailbox.identities().await?;
    /// # Ok(()) }
    /// ```
    pub fn identities(&self) -> ListIdentities {
        self.call(ops::MAILBOX_LIST_IDENTITIES, &[], page)
    }

    /// The default sender identity with its signatures
    /// (`GET /mailbox/identity`).
    /// ```no_run
    /// # async fn f(mailbox: sendmux_client::mailbox::Mailbox) -> Result<(), sendmux_client::Error> {
    /// let identity = mailbox.identity().await?;
    /// println!("{} <{}>", identity.name, identity.email);
    /// # Ok(()) }
    /// ```
    pub fn identity(&self) -> GetIdentity {
        self.call(ops::MAILBOX_GET_IDENTITY, &[], data)
    }

    /// Changes the default sender name and signatures
    /// (`PATCH /mailbox/identity`); what is not set stays, `clear_*`
    /// removes.
    /// ```no_run
    /// # async fn f(mailbox: sendmux_client::mailbox::Mailbox) -> Result<(), sendmux_client::Error> {
    /// mailbox
    ///     .update_identity()
    ///     .name("Acme Support")
    ///     .text_signature("-- \nAcme Support")
    ///     .clear_html_signature()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn update_identity(&self) -> UpdateIdentity {
        self.call(ops::MAILBOX_UPDATE_IDENTITY, &[], data)
            .json(Patch::default())
    }

    /// The mailboxes this credential may act on (`GET /mailbox/mailboxes`);
    /// pick one with [`for_mailbox`](Self::for_mailbox) when there are
    /// several.
    /// ```no_run
    /// # async fn f(mailbox: sendmux_client::mailbox::Mailbox) -> Result<(), sendmux_client::Error> {
    /// let granted = mailbox.granted_mailboxes().search("support@").await?;
    /// if let Some(first) = granted.items.first() {
    ///     let support = mailbox.for_mailbox(&first.id);
    /// #   let _ = support;
    /// }
    /// # Ok(()) }
    /// ```
    pub fn granted_mailboxes(&self) -> ListGrantedMailboxes {
        self.call(ops::MAILBOX_LIST_GRANTED_MAILBOXES, &[], page)
    }

    /// Quota records with their use and limits (`GET /mailbox/quotas`).
    /// ```no_run
    /// # async fn f(mailbox: sendmux_client::mailbox::Mailbox) -> Result<(), sendmux_client::Error> {
    /// use sendmux_client::mailbox::ListQuotasResourceType;
    /// let quotas = mailbox.quotas().resource_type(ListQuotasResourceType::Octets).await?;
    /// # Ok(()) }
    /// ```
    pub fn quotas(&self) -> ListQuotas {
        self.call(ops::MAILBOX_LIST_QUOTAS, &[], page)
    }

    /// One answer of the quota change feed (`GET /mailbox/quotas/changes`).
    /// ```no_run
    /// # async fn f(mailbox: sendmux_client::mailbox::Mailbox) -> Result<(), sendmux_client::Error> {
    /// let current = mailbox.quota_changes().await?.new_state.clone();
    /// # Ok(()) }
    /// ```
    pub fn quota_changes(&self) -> GetResourceChanges {
        self.resource_changes(ops::MAILBOX_GET_QUOTA_CHANGES)
    }

    /// Every quota change since `state`, following `has_more` until caught
    /// up.
    /// ```no_run
    /// # async fn f(mailbox: sendmux_client::mailbox::Mailbox, state: sendmux_client::mailbox::State) -> Result<(), sendmux_client::Error> {
    /// let outcome = mailbox.quota_changes_since(&state).await?;
    /// # Ok(()) }
    /// ```
    pub fn quota_changes_since(&self, state: &State) -> ChangesSince {
        self.resource_changes_since(ops::MAILBOX_GET_QUOTA_CHANGES, state)
    }

    /// A compact view of use against the quotas (`GET /mailbox/usage`).
    /// ```no_run
    /// # async fn f(mailbox: sendmux_client::mailbox::Mailbox) -> Result<(), sendmux_client::Error> {
    /// for resource in &mailbox.usage().await?.resources {
    ///     println!("{}: {} of {}", resource.name, resource.used, resource.hard_limit);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn usage(&self) -> GetUsage {
        self.call(ops::MAILBOX_LIST_USAGE, &[], data)
    }

    /// [`usage`](Self::usage) only if it changed since `etag`.
    /// ```no_run
    /// # async fn f(mailbox: sendmux_client::mailbox::Mailbox) -> Result<(), sendmux_client::Error> {
    /// let fresh = mailbox.usage_if_changed("W/\"u1\"").await?;
    /// # Ok(()) }
    /// ```
    pub fn usage_if_changed(&self, etag: impl Into<String>) -> GetUsageIfChanged {
        self.usage().if_none_match(etag)
    }

    /// Send submissions with their delivery status
    /// (`GET /mailbox/submissions`).
    /// ```no_run
    /// # async fn f(mailbox: sendmux_client::mailbox::Mailbox) -> Result<(), sendmux_client::Error> {
    /// let sent_today = mailbox.submissions().after("2026-11-02T00:00:00Z").await?;
    /// # Ok(()) }
    /// ```
    pub fn submissions(&self) -> ListSubmissions {
        self.call(ops::MAILBOX_LIST_SUBMISSIONS, &[], page)
    }

    /// One submission (`GET /mailbox/submissions/{submission_id}`).
    /// ```no_run
    /// # async fn f(mailbox: sendmux_client::mailbox::Mailbox) -> Result<(), sendmux_client::Error> {
    /// let submission = mailbox.submission("sub_123").await?;
    /// # Ok(()) }
    /// ```
    pub fn submission(&self, submission_id: impl AsRef<str>) -> GetSubmission {
        let path = [("submission_id", submission_id.as_ref())];
        self.call(ops::MAILBOX_GET_SUBMISSION, &path, data)
    }

    /// A submission only if it changed since `etag`.
    /// ```no_run
    /// # async fn f(mailbox: sendmux_client::mailbox::Mailbox) -> Result<(), sendmux_client::Error> {
    /// let fresh = mailbox.submission_if_changed("sub_123", "W/\"x1\"").await?;
    /// # Ok(()) }
    /// ```
    pub fn submission_if_changed(
        &self,
        submission_id: impl AsRef<str>,
        etag: impl Into<String>,
    ) -> GetSubmissionIfChanged {
        self.submission(submission_id).if_none_match(etag)
    }

    /// One answer of the submission change feed
    /// (`GET /mailbox/submissions/changes`).
    /// ```no_run
    /// # async fn f(mailbox: sendmux_client::mailbox::Mailbox) -> Result<(), sendmux_client::Error> {
    /// let current = mailbox.submission_changes().await?.new_state.clone();
    /// # Ok(()) }
    /// ```
    pub fn submission_changes(&self) -> GetResourceChanges {
        self.resource_changes(ops::MAILBOX_GET_SUBMISSION_CHANGES)
    }

    /// Every submission change since `state`, following `has_more` until
    /// caught up.
    /// ```no_run
    /// # async fn f(mailbox: sendmux_client::mailbox::Mailbox, state: sendmux_client::mailbox::State) -> Result<(), sendmux_client::Error> {
    /// let outcome = mailbox.submission_changes_since(&state).await?;
    /// # Ok(()) }
    /// ```
    pub fn submission_changes_since(&self, state: &State) -> ChangesSince {
        self.resource_changes_since(ops::MAILBOX_GET_SUBMISSION_CHANGES, state)
    }
}

impl UpdateIdentity {
    /// The From name, at most 254 characters.
    pub fn name(self, name: impl Into<String>) -> Self {
        let name = crate::validate::wire("name", name);
        self.set(name, |body, name| body.0.set.name = Some(name))
    }

    /// The plain-text signature, at most 2,047 characters.
    pub fn text_signature(self, signature: impl Into<String>) -> Self {
        let signature = crate::validate::wire("text_signature", signature);
        self.set(signature, |body, s| body.0.set.text_signature = Some(s))
    }

    /// The HTML signature, at most 2,047 characters.
    pub fn html_signature(self, signature: impl Into<String>) -> Self {
        let signature = crate::validate::wire("html_signature", signature);
        self.set(signature, |body, s| body.0.set.html_signature = Some(s))
    }

    /// Removes the From name.
    pub fn clear_name(mut self) -> Self {
        self.body.0.set.name = None;
        self.body.0.clear("name");
        self
    }

    /// Removes the plain-text signature.
    pub fn clear_text_signature(mut self) -> Self {
        self.body.0.set.text_signature = None;
        self.body.0.clear("text_signature");
        self
    }

    /// Removes the HTML signature.
    pub fn clear_html_signature(mut self) -> Self {
        self.body.0.set.html_signature = None;
        self.body.0.clear("html_signature");
        self
    }
}

impl ListGrantedMailboxes {
    /// Only mailboxes whose id or address contains `query`.
    pub fn search(self, query: impl Into<String>) -> Self {
        self.text_param("q", query.into())
    }
}

impl ListQuotas {
    /// Only the quota called `name`.
    pub fn name(self, name: impl Into<String>) -> Self {
        self.text_param("name", name.into())
    }

    /// Only quotas of this scope.
    pub fn scope(self, scope: wire::ListQuotasScope) -> Self {
        self.param("scope", scope)
    }

    /// Only quotas counting this (items or bytes).
    pub fn resource_type(self, resource_type: wire::ListQuotasResourceType) -> Self {
        self.param("resource_type", resource_type)
    }

    /// Only quotas that apply to this data type (such as `Mail`).
    pub fn data_type(self, data_type: impl Into<String>) -> Self {
        self.text_param("type", data_type.into())
    }

    /// The field to sort by.
    pub fn sort_by(self, field: wire::ListQuotasSortBy) -> Self {
        self.param("sort_by", field)
    }

    /// Ascending or descending.
    pub fn sort_direction(self, direction: wire::SortDirection) -> Self {
        self.param("sort_direction", direction)
    }
}

impl ListSubmissions {
    /// Only submissions from these identities (1 to 100 ids).
    pub fn identity_ids(self, ids: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.id_list("identity_ids", ids)
    }

    /// Only submissions of these messages (1 to 100 ids).
    pub fn email_ids(self, ids: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.id_list("email_ids", ids)
    }

    /// Only submissions in these threads (1 to 100 ids).
    pub fn thread_ids(self, ids: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.id_list("thread_ids", ids)
    }

    /// Only submissions whose undo status is this.
    pub fn undo_status(self, status: wire::ListSubmissionsUndoStatus) -> Self {
        self.param("undo_status", status)
    }

    /// Only submissions sent after this RFC 3339 time.
    pub fn after(self, time: impl Into<String>) -> Self {
        let time = time.into();
        let checked = timestamp("after", &time);
        self.check(checked).param("after", time)
    }

    /// Only submissions sent before this RFC 3339 time.
    pub fn before(self, time: impl Into<String>) -> Self {
        let time = time.into();
        let checked = timestamp("before", &time);
        self.check(checked).param("before", time)
    }

    /// The field to sort by.
    pub fn sort_by(self, field: wire::ListSubmissionsSortBy) -> Self {
        self.param("sort_by", field)
    }

    /// Ascending or descending.
    pub fn sort_direction(self, direction: wire::SortDirection) -> Self {
        self.param("sort_direction", direction)
    }
}
