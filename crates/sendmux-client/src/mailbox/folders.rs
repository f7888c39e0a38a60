//! Folders: `mailbox.folders()`.
//!
//! Built-in folders (those with a `role`, such as the Inbox) cannot be
//! deleted, renamed or moved: the server answers `409 conflict`, which
//! comes back as [`Error::Api`](crate::Error::Api). Only the folder's
//! `role` tells a built-in folder, so [`Folders::delete_folder`] checks
//! it before any I/O when you hold the folder.

use sendmux_api::types as wire;
use sendmux_operations::ops;

use super::Mailbox;
use super::sync::{
    ChangesSince, GetResourceChanges, QueryChanges, QueryChangesSince, QueryState, State,
    folder_query_changes,
};
use crate::error::InvalidInput;
use crate::request::{Json, Patch, Request, data, page};
use crate::response::{Conditional, Page, Response};
use crate::validate;

/// [`Folders::list`]: one page, or [`stream`](Request::stream) them all.
pub type ListFolders = Request<Response<Page<wire::MailboxFolder>>>;
/// [`Folders::create`]: set the parent and order, then await.
pub type CreateFolder = Request<Response<wire::MailboxFolder>, Json<wire::CreateMailboxFolderBody>>;
/// [`Folders::get`].
pub type GetFolder = Request<Response<wire::MailboxFolder>>;
/// [`Folders::get_if_changed`].
pub type GetFolderIfChanged = Request<Conditional<wire::MailboxFolder>>;
/// [`Folders::update`]: set what changes, then await.
pub type UpdateFolder =
    Request<Response<wire::MailboxFolder>, Json<Patch<wire::PatchMailboxFolderBody>>>;
/// [`Folders::delete`].
pub type DeleteFolder = Request<Response<wire::MailboxFolderDeleted>>;

/// Handle on the folders of a mailbox; get one from [`Mailbox::folders`].
///
/// ```no_run
/// # async fn f(mailbox: sendmux_client::mailbox::Mailbox) -> Result<(), sendmux_client::Error> {
/// let folders = mailbox.folders();
/// let receipts = folders.create("Receipts").await?;
/// let etag = receipts.etag().unwrap_or_default().to_owned();
/// folders.update(&receipts.id).name("Invoices").if_match(etag).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Folders {
    mailbox: Mailbox,
}

/// A folder name: not blank, no control characters.
fn folder_name(name: &str) -> Result<(), InvalidInput> {
    if name.trim().is_empty() {
        return Err(InvalidInput::new(
            "name",
            "is blank",
            "pass a folder name such as `Receipts`",
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(InvalidInput::new(
            "name",
            "contains control characters",
            "use printable characters",
        ));
    }
    Ok(())
}

impl Folders {
    pub(crate) fn new(mailbox: Mailbox) -> Self {
        Self { mailbox }
    }

    /// Lists the folders, built-in ones included (`GET /mailbox/folders`).
    /// ```no_run
    /// # async fn f(folders: sendmux_client::mailbox::Folders) -> Result<(), sendmux_client::Error> {
    /// for folder in folders.list().limit(100).await?.items.iter() {
    ///     println!("{} {:?} unread {}", folder.name, folder.role, folder.unread_messages);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn list(&self) -> ListFolders {
        self.mailbox.call(ops::MAILBOX_LIST_FOLDERS, &[], page)
    }

    /// Adds a folder (`POST /mailbox/folders`), at the top level unless
    /// [`parent`](CreateFolder::parent) says otherwise.
    /// ```no_run
    /// # async fn f(folders: sendmux_client::mailbox::Folders) -> Result<(), sendmux_client::Error> {
    /// let folder = folders.create("2026").parent("fld_receipts").sort_order(5).await?;
    /// # Ok(()) }
    /// ```
    pub fn create(&self, name: impl Into<String>) -> CreateFolder {
        let name = name.into();
        let checked = folder_name(&name);
        let body = wire::CreateMailboxFolderBody {
            name,
            parent_id: None,
            sort_order: None,
        };
        self.mailbox
            .call(ops::MAILBOX_CREATE_FOLDER, &[], data)
            .check(checked)
            .json(body)
    }

    /// Reads one folder (`GET /mailbox/folders/{folder_id}`); the answer
    /// carries its `ETag` for [`update`](Self::update) and
    /// [`delete`](Self::delete).
    /// ```no_run
    /// # async fn f(folders: sendmux_client::mailbox::Folders) -> Result<(), sendmux_client::Error> {
    /// let folder = folders.get("fld_123").await?;
    /// # Ok(()) }
    /// ```
    pub fn get(&self, folder_id: impl AsRef<str>) -> GetFolder {
        let path = [("folder_id", folder_id.as_ref())];
        self.mailbox.call(ops::MAILBOX_GET_FOLDER, &path, data)
    }

    /// Reads a folder only if it changed since `etag`.
    /// ```no_run
    /// # async fn f(folders: sendmux_client::mailbox::Folders) -> Result<(), sendmux_client::Error> {
    /// let fresh = folders.get_if_changed("fld_123", "W/\"f1\"").await?;
    /// # Ok(()) }
    /// ```
    pub fn get_if_changed(
        &self,
        folder_id: impl AsRef<str>,
        etag: impl Into<String>,
    ) -> GetFolderIfChanged {
        self.get(folder_id).if_none_match(etag)
    }

    /// Renames, moves or reorders a folder
    /// (`PATCH /mailbox/folders/{folder_id}`); what is not set stays. Add
    /// [`if_match`](Request::if_match) to refuse a stale edit.
    /// ```no_run
    /// # async fn f(folders: sendmux_client::mailbox::Folders) -> Result<(), sendmux_client::Error> {
    /// folders.update("fld_123").name("Invoices").to_top_level().if_match("W/\"f1\"").await?;
    /// # Ok(()) }
    /// ```
    pub fn update(&self, folder_id: impl AsRef<str>) -> UpdateFolder {
        let path = [("folder_id", folder_id.as_ref())];
        self.mailbox
            .call(ops::MAILBOX_UPDATE_FOLDER, &path, data)
            .json(Patch::default())
    }

    /// Deletes an empty custom folder (`DELETE /mailbox/folders/{folder_id}`).
    /// Built-in and non-empty folders are refused with `409 conflict`; add
    /// [`if_match`](Request::if_match) to refuse a stale delete too.
    /// ```no_run
    /// # async fn f(folders: sendmux_client::mailbox::Folders) -> Result<(), sendmux_client::Error> {
    /// let read = folders.get("fld_123").await?;
    /// let etag = read.etag().unwrap_or_default().to_owned();
    /// folders.delete("fld_123").if_match(etag).await?;
    /// # Ok(()) }
    /// ```
    pub fn delete(&self, folder_id: impl AsRef<str>) -> DeleteFolder {
        let path = [("folder_id", folder_id.as_ref())];
        self.mailbox.call(ops::MAILBOX_DELETE_FOLDER, &path, data)
    }

    /// Deletes `folder` as [`delete`](Self::delete) does, refusing before
    /// any I/O when it is a built-in folder (it has a `role`).
    /// ```no_run
    /// # async fn f(folders: sendmux_client::mailbox::Folders) -> Result<(), sendmux_client::Error> {
    /// let folder = folders.get("fld_123").await?;
    /// folders.delete_folder(&folder).await?;
    /// # Ok(()) }
    /// ```
    pub fn delete_folder(&self, folder: &wire::MailboxFolder) -> DeleteFolder {
        let checked = match &folder.role {
            Some(role) => Err(InvalidInput::new(
                "folder_id",
                format!("is the built-in {role} folder, which cannot be deleted"),
                "delete a custom folder (one without a role)",
            )),
            None => Ok(()),
        };
        self.delete(&folder.id).check(checked)
    }

    /// One answer of the folder change feed
    /// (`GET /mailbox/folders/changes`); add [`since`](GetResourceChanges::since).
    /// ```no_run
    /// # async fn f(folders: sendmux_client::mailbox::Folders) -> Result<(), sendmux_client::Error> {
    /// let current = folders.changes().await?.new_state.clone();
    /// # Ok(()) }
    /// ```
    pub fn changes(&self) -> GetResourceChanges {
        self.mailbox
            .resource_changes(ops::MAILBOX_GET_FOLDER_CHANGES)
    }

    /// Every folder change since `state`, following `has_more` until caught
    /// up (see [`Mailbox::changes_since`]).
    /// ```no_run
    /// # async fn f(folders: sendmux_client::mailbox::Folders, state: sendmux_client::mailbox::State) -> Result<(), sendmux_client::Error> {
    /// let outcome = folders.changes_since(&state).await?;
    /// # Ok(()) }
    /// ```
    pub fn changes_since(&self, state: &State) -> ChangesSince {
        self.mailbox
            .resource_changes_since(ops::MAILBOX_GET_FOLDER_CHANGES, state)
    }

    /// One answer of the folder list's query changes
    /// (`GET /mailbox/folders/query-changes`).
    /// ```no_run
    /// # async fn f(folders: sendmux_client::mailbox::Folders) -> Result<(), sendmux_client::Error> {
    /// let start = folders.query_changes().await?.new_query_state.clone();
    /// # Ok(()) }
    /// ```
    pub fn query_changes(&self) -> Request<Response<QueryChanges>> {
        self.mailbox
            .call(ops::MAILBOX_QUERY_FOLDER_CHANGES, &[], folder_query_changes)
    }

    /// How the folder list changed since `state`, following `has_more`
    /// until caught up.
    /// ```no_run
    /// # async fn f(folders: sendmux_client::mailbox::Folders, state: sendmux_client::mailbox::QueryState) -> Result<(), sendmux_client::Error> {
    /// let outcome = folders.query_changes_since(&state).await?;
    /// # Ok(()) }
    /// ```
    pub fn query_changes_since(&self, state: &QueryState) -> QueryChangesSince {
        self.query_changes().since(state).follow()
    }
}

impl CreateFolder {
    /// Puts the new folder inside `parent_id`.
    pub fn parent(self, parent_id: impl Into<String>) -> Self {
        let parent_id = parent_id.into();
        let checked = validate::resource_id("parent_id", &parent_id).map(|()| parent_id);
        self.set(checked, |body, id| body.0.parent_id = Some(id))
    }

    /// Where it sorts among its siblings.
    pub fn sort_order(mut self, order: i64) -> Self {
        self.body.0.sort_order = Some(order);
        self
    }
}

impl UpdateFolder {
    /// The new name.
    pub fn name(self, name: impl Into<String>) -> Self {
        let name = name.into();
        let checked = folder_name(&name).map(|()| name);
        self.set(checked, |body, name| body.0.set.name = Some(name))
    }

    /// Moves it inside `parent_id`.
    pub fn parent(self, parent_id: impl Into<String>) -> Self {
        let parent_id = parent_id.into();
        let checked = validate::resource_id("parent_id", &parent_id).map(|()| parent_id);
        self.set(checked, |body, id| body.0.set.parent_id = Some(id))
    }

    /// Moves it to the top level (`parent_id: null`).
    pub fn to_top_level(mut self) -> Self {
        self.body.0.set.parent_id = None;
        self.body.0.clear("parent_id");
        self
    }

    /// Where it sorts among its siblings.
    pub fn sort_order(mut self, order: i64) -> Self {
        self.body.0.set.sort_order = Some(order);
        self
    }
}
