//! Folder handlers. Built-in folders (Inbox, Drafts, Sent, Junk, Trash,
//! Archive, each with its role) cannot be renamed, moved or deleted (`409
//! conflict`); their `sort_order` may change. A custom folder can be
//! deleted once it holds no messages and no folders.

use http::StatusCode;
use serde::{Deserialize, Deserializer, Serialize};

use super::messages::page_out;
use super::model::Folder;
use super::query::{Key, Pager};
use super::store::{Kind, MailboxData, Op};
use super::{Ctx, check_params, mailbox_of, missing, open, rendered};
use crate::api::{ApiError, Out, to_json};
use crate::collection::Rendered;

const FOLDER_ID: &str = "folder_id";
/// Longest folder name, in characters.
const NAME_MAX_CHARS: usize = 255;
/// Where a custom folder sorts when created without a `sort_order`: after
/// the built-in ones.
const DEFAULT_SORT_ORDER: i64 = 10;

/// The folder list's order: `sort_order`, then name, then age.
pub(crate) fn folder_key(f: &Folder, seq: u64) -> Key {
    Key {
        num: f.sort_order,
        text: f.name.to_lowercase(),
        seq,
    }
}

/// The folder's JSON and ETag, counts included.
pub(crate) fn render(seed: u64, data: &MailboxData, folder: &Folder) -> Rendered {
    let counts = data.folder_counts();
    let count = counts.get(folder.id.as_str()).copied().unwrap_or_default();
    rendered(seed, &folder.view(count))
}

/// The folders in list order, with their positions.
pub(crate) fn ordered(data: &MailboxData) -> Vec<(Key, &Folder)> {
    let mut all: Vec<(Key, &Folder)> = data
        .folders
        .iter()
        .map(|(seq, f)| (folder_key(f, *seq), f))
        .collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all
}

pub(crate) fn list(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    check_params(&ctx)?;
    let mailbox_id = mailbox_of(&ctx)?;
    let pager = Pager::new(&ctx, "folders".to_owned(), false)?;
    let mut store = ctx.store();
    let (_, data) = open(&mut store, &ctx, mailbox_id)?;
    let counts = data.folder_counts();
    let (page, has_more, next) = pager.page(ordered(data));
    let items = page
        .into_iter()
        .map(|f| {
            let count = counts.get(f.id.as_str()).copied().unwrap_or_default();
            to_json(&f.view(count))
        })
        .collect();
    Ok(page_out(&ctx, items, has_more, next))
}

/// `CreateMailboxFolderBody`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    name: String,
    #[serde(default)]
    parent_id: Option<String>,
    #[serde(default)]
    sort_order: Option<i64>,
}

/// `PatchMailboxFolderBody`: absent fields stay; `parent_id: null` moves
/// the folder to the top level.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    parent_id: Option<Option<String>>,
    #[serde(default)]
    sort_order: Option<i64>,
}

fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// A trimmed name of 1 to 255 characters without control characters.
fn check_name(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > NAME_MAX_CHARS {
        return Err(format!("name must be 1 to {NAME_MAX_CHARS} characters"));
    }
    if name.chars().any(char::is_control) {
        return Err("name must not contain control characters".to_owned());
    }
    Ok(name.to_owned())
}

/// Another folder under `parent` already has `name` (case-insensitive).
fn name_taken(data: &MailboxData, parent: Option<&str>, name: &str, except: Option<&str>) -> bool {
    data.folders.values().any(|f| {
        f.parent_id.as_deref() == parent
            && f.name.eq_ignore_ascii_case(name)
            && Some(f.id.as_str()) != except
    })
}

pub(crate) fn create(mut ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let body: CreateBody = ctx.typed_body()?;
    let mailbox_id = mailbox_of(&ctx)?;
    let name =
        check_name(&body.name).map_err(|why| ApiError::validation_error(why).with_param("name"))?;
    let seed = ctx.seed();
    let mut store = ctx.store();
    let (_, data) = open(&mut store, &ctx, mailbox_id)?;
    if let Some(parent) = &body.parent_id
        && data.folder(parent).is_none()
    {
        return Err(ApiError::validation_error(format!(
            "{parent} is not a folder of this mailbox"
        ))
        .with_param("parent_id"));
    }
    if name_taken(data, body.parent_id.as_deref(), &name, None) {
        return Err(ApiError::validation_error(format!(
            "a folder named {name} already exists there"
        ))
        .with_param("name"));
    }
    let id = data.new_id("fld_");
    let seq = data.next_seq();
    let folder = Folder {
        id: id.clone(),
        name,
        parent_id: body.parent_id,
        role: None,
        sort_order: body.sort_order.unwrap_or(DEFAULT_SORT_ORDER),
    };
    let out = render(seed, data, &folder);
    data.folders.insert(seq, folder);
    data.record(Kind::Folders, &id, Op::Created);
    Ok(ctx.item(StatusCode::CREATED, &out))
}

pub(crate) fn get(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    check_params(&ctx)?;
    let mailbox_id = mailbox_of(&ctx)?;
    let mut store = ctx.store();
    let (_, data) = open(&mut store, &ctx, mailbox_id)?;
    let folder = data
        .folder(ctx.param(FOLDER_ID))
        .ok_or_else(|| missing("folder"))?;
    Ok(ctx.conditional(&render(ctx.seed(), data, folder)))
}

/// Whether `candidate` is `id` or lies below it.
fn within(data: &MailboxData, id: &str, candidate: &str) -> bool {
    let mut at = Some(candidate.to_owned());
    // A folder tree has at most as many levels as folders.
    for _ in 0..=data.folders.len() {
        match at {
            Some(ref current) if current == id => return true,
            Some(current) => at = data.folder(&current).and_then(|f| f.parent_id.clone()),
            None => return false,
        }
    }
    false
}

pub(crate) fn update(mut ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let body: UpdateBody = ctx.typed_body()?;
    let mailbox_id = mailbox_of(&ctx)?;
    let seed = ctx.seed();
    let mut store = ctx.store();
    let (_, data) = open(&mut store, &ctx, mailbox_id)?;
    let id = ctx.param(FOLDER_ID);
    let folder = data.folder(id).ok_or_else(|| missing("folder"))?.clone();
    ctx.if_match(&render(seed, data, &folder), "folder")?;
    let name = body
        .name
        .as_deref()
        .map(check_name)
        .transpose()
        .map_err(|why| ApiError::invalid_parameter(why).with_param("name"))?;
    let renamed = name.as_ref().is_some_and(|n| *n != folder.name);
    let moved = body
        .parent_id
        .as_ref()
        .is_some_and(|p| *p != folder.parent_id);
    if folder.role.is_some() && (renamed || moved) {
        return Err(ApiError::conflict(format!(
            "{} is a built-in folder: it cannot be renamed or moved",
            folder.name
        )));
    }
    let parent = body.parent_id.clone().unwrap_or(folder.parent_id.clone());
    if moved && let Some(parent) = &parent {
        if data.folder(parent).is_none() {
            return Err(ApiError::invalid_parameter(format!(
                "{parent} is not a folder of this mailbox"
            ))
            .with_param("parent_id"));
        }
        if within(data, id, parent) {
            return Err(ApiError::invalid_parameter(
                "a folder cannot move into itself or a folder below it",
            )
            .with_param("parent_id"));
        }
    }
    let final_name = name.unwrap_or(folder.name.clone());
    if (renamed || moved) && name_taken(data, parent.as_deref(), &final_name, Some(id)) {
        return Err(ApiError::conflict(format!(
            "a folder named {final_name} already exists there"
        ))
        .with_param("name"));
    }
    let sort_order = body.sort_order.unwrap_or(folder.sort_order);
    let changed = renamed || moved || sort_order != folder.sort_order;
    if let Some(f) = data.folder_mut(id) {
        f.name = final_name;
        f.parent_id = parent;
        f.sort_order = sort_order;
    }
    if changed {
        data.record(Kind::Folders, id, Op::Updated);
    }
    let folder = data.folder(id).ok_or_else(|| missing("folder"))?;
    Ok(ctx.item(StatusCode::OK, &render(seed, data, folder)))
}

/// `MailboxFolderDeleted`.
#[derive(Serialize)]
struct Deleted<'a> {
    deleted: bool,
    id: &'a str,
}

pub(crate) fn delete(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    check_params(&ctx)?;
    let mailbox_id = mailbox_of(&ctx)?;
    let seed = ctx.seed();
    let mut store = ctx.store();
    let (_, data) = open(&mut store, &ctx, mailbox_id)?;
    let id = ctx.param(FOLDER_ID);
    let folder = data.folder(id).ok_or_else(|| missing("folder"))?;
    ctx.if_match(&render(seed, data, folder), "folder")?;
    if folder.role.is_some() {
        return Err(ApiError::conflict(format!(
            "{} is a built-in folder: it cannot be deleted",
            folder.name
        )));
    }
    if data.messages.values().any(|m| m.folder_id == id) {
        return Err(ApiError::conflict(
            "the folder holds messages; move or delete them first",
        ));
    }
    if data
        .folders
        .values()
        .any(|f| f.parent_id.as_deref() == Some(id))
    {
        return Err(ApiError::conflict(
            "the folder holds folders; move or delete them first",
        ));
    }
    data.folders.retain(|_, f| f.id != id);
    data.record(Kind::Folders, id, Op::Destroyed);
    Ok(ctx.ok(Deleted { deleted: true, id }))
}
