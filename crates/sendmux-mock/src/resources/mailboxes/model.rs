//! Mailbox state as stored by the mock and as serialized on the wire: the
//! address rules shared by creation and the availability check, quota
//! tiers, send scopes, and the keys a mailbox was issued.

use std::collections::HashMap;

use http::StatusCode;
use serde::{Deserialize, Serialize, Serializer};

use crate::api::ApiError;
use crate::clock::rfc3339;
use crate::ids;
use crate::resources::Resources;
use crate::resources::domains::{Mode, Status as DomainStatus, check_domain_name};
use crate::resources::filters::Filters;

/// The shared domain: addresses on it need no team domain and are unique
/// across all teams.
pub(crate) const SHARED_DOMAIN: &str = "myagent.mx";

/// The storage tiers a mailbox may have, in bytes (1, 5 and 50 GB).
pub(crate) const QUOTA_TIERS: [u64; 3] = [1_073_741_824, 5_368_709_120, 53_687_091_200];

/// How long a deleted mailbox keeps its address (`cleanup_pending`).
pub(crate) const CLEANUP_MS: u64 = 10 * 60 * 1000;

/// Most keys a mailbox may hold at once (revoked ones do not count).
pub(crate) const MAX_KEYS: usize = 10;

/// Local parts of the shared domain no team can take: the role addresses
/// of RFC 2142 and a few more that mail systems treat specially.
const RESERVED_LOCAL_PARTS: [&str; 11] = [
    "abuse",
    "admin",
    "administrator",
    "hostmaster",
    "mailer-daemon",
    "no-reply",
    "noreply",
    "postmaster",
    "root",
    "security",
    "webmaster",
];

/// Host and ports of the simulated IMAP/SMTP service.
const MAIL_SERVER: &str = "mail.sendmux.ai";
const IMAP_PORT: u16 = 993;
const SMTP_PORT: u16 = 587;

/// `active`, `suspended` or `deleted`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Status {
    Active,
    Suspended,
    Deleted,
}

impl Status {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Deleted => "deleted",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ScopeType {
    All,
    Providers,
    Group,
}

/// `SendScopeInput` as sent, and `MailboxSendScope` as stored: only the
/// list that goes with the type is kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SendScope {
    #[serde(rename = "type")]
    pub(crate) kind: ScopeType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) provider_public_ids: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) group_public_ids: Option<Vec<String>>,
}

impl SendScope {
    /// The published pairing of type and list: `providers` needs sending
    /// account ids (`dprov_`), `group` needs group ids, `all` takes
    /// neither. Anything else is `422 validation_error`. Whether the
    /// accounts are the team's is [`check_accounts`](Self::check_accounts).
    pub(crate) fn check(self) -> Result<Self, ApiError> {
        let providers = self.provider_public_ids.filter(|ids| !ids.is_empty());
        let groups = self.group_public_ids.filter(|ids| !ids.is_empty());
        let refuse = |message: &str| {
            Err(ApiError::validation_error(message.to_owned()).with_param("send_scope"))
        };
        match (self.kind, providers, groups) {
            (ScopeType::All, None, None) => Ok(Self {
                kind: ScopeType::All,
                provider_public_ids: None,
                group_public_ids: None,
            }),
            (ScopeType::All, _, _) => {
                refuse("send_scope of type all takes no provider_public_ids or group_public_ids")
            }
            (ScopeType::Providers, Some(ids), None) => {
                if let Some(bad) = ids.iter().find(|id| !id.starts_with("dprov_")) {
                    return refuse(&format!("{bad} is not a sending account id of this team"));
                }
                Ok(Self {
                    kind: ScopeType::Providers,
                    provider_public_ids: Some(ids),
                    group_public_ids: None,
                })
            }
            (ScopeType::Providers, _, _) => refuse(
                "send_scope of type providers needs provider_public_ids and no group_public_ids",
            ),
            (ScopeType::Group, None, Some(ids)) => Ok(Self {
                kind: ScopeType::Group,
                provider_public_ids: None,
                group_public_ids: Some(ids),
            }),
            (ScopeType::Group, _, _) => {
                refuse("send_scope of type group needs group_public_ids and no provider_public_ids")
            }
        }
    }
}

impl SendScope {
    /// Every sending account named must be one of `team`'s (`422
    /// validation_error` for an unknown one or another team's). Delivery
    /// groups have no resource in the mock; their ids are taken as given.
    pub(crate) fn check_accounts(&self, store: &Resources, team: &str) -> Result<(), ApiError> {
        let ids = self.provider_public_ids.iter().flatten();
        match ids
            .into_iter()
            .find(|id| store.providers.get(team, id).is_err())
        {
            Some(id) => Err(ApiError::validation_error(format!(
                "{id} is not a sending account of this team"
            ))
            .with_param("send_scope")),
            None => Ok(()),
        }
    }
}

/// A quota from a request: one of [`QUOTA_TIERS`], else `422`.
pub(crate) fn check_quota(bytes: u64) -> Result<u64, ApiError> {
    if QUOTA_TIERS.contains(&bytes) {
        Ok(bytes)
    } else {
        Err(ApiError::validation_error(format!(
            "quota_bytes must be one of {}, {} or {} (1, 5 or 50 GB)",
            QUOTA_TIERS[0], QUOTA_TIERS[1], QUOTA_TIERS[2]
        ))
        .with_param("quota_bytes"))
    }
}

/// One key of a mailbox. The secret is kept so a revocation can find the
/// index entry; it is never serialized or printed.
pub(crate) struct MailboxKey {
    pub(crate) public_id: String,
    pub(crate) secret: String,
    pub(crate) revoked: bool,
}

/// One stored mailbox (its team and position are the collection's).
pub(crate) struct Mailbox {
    pub(crate) id: String,
    pub(crate) email: String,
    /// The team domain it lives on; `None` on the shared domain.
    pub(crate) domain_id: Option<String>,
    pub(crate) display_name: Option<String>,
    pub(crate) quota_bytes: Option<u64>,
    pub(crate) send_scope: Option<SendScope>,
    pub(crate) status: Status,
    pub(crate) created_at_ms: u64,
    pub(crate) deleted_at_ms: Option<u64>,
    pub(crate) filters: Filters,
    pub(crate) keys: Vec<MailboxKey>,
}

/// Wire shape of `Mailbox`.
#[derive(Serialize)]
struct MailboxView<'a> {
    id: &'a str,
    email: &'a str,
    display_name: Option<&'a str>,
    quota_bytes: Option<u64>,
    send_scope: Option<&'a SendScope>,
    status: Status,
    created_at: String,
}

/// A mailbox serializes as `Mailbox`, so the collection's JSON and ETag are
/// those of the wire representation (keys and filters are not part of it).
impl Serialize for Mailbox {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.view().serialize(serializer)
    }
}

/// Wire shape of `MailboxMe`: the mailbox and its storage use.
#[derive(Serialize)]
pub(crate) struct MailboxMe<'a> {
    #[serde(flatten)]
    mailbox: MailboxView<'a>,
    /// Bytes of the mail stored in it.
    quota_used_bytes: u64,
}

impl Mailbox {
    fn view(&self) -> MailboxView<'_> {
        MailboxView {
            id: &self.id,
            email: &self.email,
            display_name: self.display_name.as_deref(),
            quota_bytes: self.quota_bytes,
            send_scope: self.send_scope.as_ref(),
            status: self.status,
            created_at: rfc3339(self.created_at_ms),
        }
    }

    /// The mailbox as `GET /mailbox/me` shows it, with `used_bytes` of
    /// mail stored.
    pub(crate) fn me(&self, used_bytes: u64) -> MailboxMe<'_> {
        MailboxMe {
            mailbox: self.view(),
            quota_used_bytes: used_bytes,
        }
    }

    /// Keys not revoked.
    pub(crate) fn active_keys(&self) -> usize {
        self.keys.iter().filter(|k| !k.revoked).count()
    }

    /// Changes are refused on a deleted mailbox (`409 conflict`).
    pub(crate) fn not_deleted(&self) -> Result<(), ApiError> {
        if self.status == Status::Deleted {
            return Err(ApiError::conflict("the mailbox is deleted"));
        }
        Ok(())
    }
}

/// A new key with its login details, as answered once (`MailboxCredential`).
/// Holds the secret: no `Debug`, never logged.
#[derive(Serialize)]
pub(crate) struct Credential {
    public_id: String,
    secret: String,
    key_prefix: String,
    key_suffix: String,
    server: &'static str,
    imap_port: u16,
    smtp_port: u16,
    username: String,
}

impl Credential {
    pub(crate) fn public_id(&self) -> &str {
        &self.public_id
    }
}

/// Who an issued key belongs to.
struct KeyOwner {
    team: String,
    mailbox: String,
}

/// Every key the mock issued, by secret, so authentication can find the
/// mailbox behind one. Revocation is recorded on the mailbox's own key.
/// Holds secrets: no `Debug`.
#[derive(Default)]
pub(crate) struct KeyIndex {
    by_secret: HashMap<String, KeyOwner>,
    /// Keys issued so far; the next key derives from it and the seed.
    issued: u64,
}

impl KeyIndex {
    /// The team of a key the mock issued (revoked or not), `None` for any
    /// other key.
    pub(crate) fn team_of_issued(&self, key: &str) -> Option<String> {
        self.by_secret.get(key).map(|owner| owner.team.clone())
    }
}

/// Mixed into the seed for key ids and secrets, so they differ from other
/// seeded values.
const KEY_SALT: u64 = 0x6d62_785f_6b65_7973;

/// Issues a key for mailbox `id` of `team`: records it on the mailbox and
/// in the index and returns its credential. `404` if the mailbox is gone.
/// (The label a client gives a key is not kept: no operation reads it.)
pub(crate) fn issue_key(
    store: &mut Resources,
    seed: u64,
    team: &str,
    id: &str,
) -> Result<Credential, ApiError> {
    let n = store.mailbox_keys.issued + 1;
    let public_id = ids::public_id("smx_", seed ^ KEY_SALT, n);
    let secret = format!(
        "smx_mbx_{}",
        ids::token(seed ^ KEY_SALT, &n.to_be_bytes(), 40)
    );
    let mailbox = store.mailboxes.get_mut(team, id)?;
    mailbox.keys.push(MailboxKey {
        public_id: public_id.clone(),
        secret: secret.clone(),
        revoked: false,
    });
    let username = mailbox.email.clone();
    store.mailbox_keys.issued = n;
    store.mailbox_keys.by_secret.insert(
        secret.clone(),
        KeyOwner {
            team: team.to_owned(),
            mailbox: id.to_owned(),
        },
    );
    Ok(Credential {
        public_id,
        key_prefix: secret.chars().take(12).collect(),
        key_suffix: secret
            .get(secret.len().saturating_sub(4)..)
            .unwrap_or_default()
            .to_owned(),
        secret,
        server: MAIL_SERVER,
        imap_port: IMAP_PORT,
        smtp_port: SMTP_PORT,
        username,
    })
}

/// The team and mailbox of a key the mock issued, `None` for any other
/// key. A revoked key, or a key of a deleted mailbox, is
/// `401 authentication_required`; a key of a suspended mailbox is
/// `403 insufficient_permissions` (the key is genuine, the mailbox is
/// barred until resumed).
pub(crate) fn key_owner(
    store: &Resources,
    key: &str,
    unauthenticated: impl Fn() -> ApiError,
) -> Result<Option<(String, String)>, ApiError> {
    let Some(owner) = store.mailbox_keys.by_secret.get(key) else {
        return Ok(None);
    };
    let mailbox = store
        .mailboxes
        .get(&owner.team, &owner.mailbox)
        .map_err(|_| unauthenticated())?;
    let live = mailbox.keys.iter().any(|k| k.secret == key && !k.revoked);
    if !live || mailbox.status == Status::Deleted {
        return Err(unauthenticated());
    }
    if mailbox.status == Status::Suspended {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "insufficient_permissions",
            "the mailbox of this key is suspended; it works again once the mailbox is resumed",
        ));
    }
    Ok(Some((owner.team.clone(), owner.mailbox.clone())))
}

/// Why an address cannot be used (`MailboxAvailabilityReason` values other
/// than `available`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unavailable {
    InvalidEmail(&'static str),
    DomainNotAvailable(String),
    Taken,
    Reserved,
    CleanupPending,
}

impl Unavailable {
    /// The `reason` the availability check reports.
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            Self::InvalidEmail(_) => "invalid_email",
            Self::DomainNotAvailable(_) => "domain_not_available",
            Self::Taken => "taken",
            Self::Reserved => "reserved",
            Self::CleanupPending => "cleanup_pending",
        }
    }

    /// The error creating a mailbox at the address answers: a malformed
    /// address is `400 invalid_parameter`; a domain the team cannot use, or
    /// a reserved name, `422 validation_error`; an address in use (or still
    /// held by a deleted mailbox) `409 conflict`.
    pub(crate) fn into_error(self, email: &str) -> ApiError {
        match self {
            Self::InvalidEmail(why) => {
                ApiError::invalid_field("email", "invalid_string", format!("email {why}"))
            }
            Self::DomainNotAvailable(why) => ApiError::validation_error(why).with_param("email"),
            Self::Reserved => {
                ApiError::validation_error(format!("the address {email} is reserved"))
                    .with_param("email")
            }
            Self::Taken => ApiError::conflict(format!("the address {email} is already in use"))
                .with_param("email"),
            Self::CleanupPending => ApiError::conflict(format!(
                "the address {email} is still held by a deleted mailbox; try again in a few minutes"
            ))
            .with_param("email"),
        }
    }
}

/// An address that can take a new mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Address {
    /// Normalized (trimmed, lowercase).
    pub(crate) email: String,
    /// The team domain it lives on; `None` on the shared domain.
    pub(crate) domain_id: Option<String>,
}

/// Normalizes `raw` and decides whether `team` can create a mailbox at it
/// at time `now`: the one check behind both creation and the availability
/// endpoint. Returns the normalized address with the verdict.
pub(crate) fn check_address(
    store: &Resources,
    team: &str,
    raw: &str,
    now: u64,
) -> (String, Result<Address, Unavailable>) {
    let email = raw.trim().to_lowercase();
    let verdict = verdict(store, team, &email, now);
    (email, verdict)
}

fn verdict(store: &Resources, team: &str, email: &str, now: u64) -> Result<Address, Unavailable> {
    let (local, host) = split_address(email).map_err(Unavailable::InvalidEmail)?;
    let shared = host == SHARED_DOMAIN;
    let domain_id = if shared {
        if RESERVED_LOCAL_PARTS.contains(&local) {
            return Err(Unavailable::Reserved);
        }
        None
    } else {
        let domain = store
            .domains
            .find(team, |d| d.name == host)
            .ok_or_else(|| {
                Unavailable::DomainNotAvailable(format!(
                    "the domain {host} is not one of this team's domains; add it with POST /domains first"
                ))
            })?;
        if domain.status != DomainStatus::Verified {
            return Err(Unavailable::DomainNotAvailable(format!(
                "the domain {host} is not verified yet"
            )));
        }
        if domain.mode != Mode::SendReceive {
            return Err(Unavailable::DomainNotAvailable(format!(
                "the domain {host} is send_only; upgrade it to send_receive to host mailboxes"
            )));
        }
        Some(domain.id.clone())
    };
    // The shared domain is one namespace for every team; a team domain is
    // the team's own.
    let holders: Box<dyn Iterator<Item = &Mailbox>> = if shared {
        Box::new(store.mailboxes.iter_newest_first().map(|(_, m)| m))
    } else {
        Box::new(store.mailboxes.iter_team(team))
    };
    let mut held = None;
    for m in holders.filter(|m| m.email == email) {
        match m.deleted_at_ms {
            None => return Err(Unavailable::Taken),
            Some(at) if now.saturating_sub(at) < CLEANUP_MS => {
                held = Some(Unavailable::CleanupPending);
            }
            Some(_) => {}
        }
    }
    if let Some(why) = held {
        return Err(why);
    }
    Ok(Address {
        email: email.to_owned(),
        domain_id,
    })
}

/// Splits a normalized address after checking its shape: a local part of
/// 1 to 64 letters, digits and `.`, `_`, `-`, `+` that starts and ends
/// with a letter or digit and has no `..`; a valid domain name; 254
/// characters in all.
fn split_address(email: &str) -> Result<(&str, &str), &'static str> {
    if email.len() > 254 {
        return Err("must be at most 254 characters");
    }
    let (local, host) = email
        .split_once('@')
        .ok_or("must be an address of the form name@domain")?;
    if local.is_empty() || local.len() > 64 {
        return Err("must have a local part of 1 to 64 characters");
    }
    let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-+".contains(&b);
    if !local.bytes().all(allowed) {
        return Err("local part may only contain letters, digits, '.', '_', '-' and '+'");
    }
    let edge_ok = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_alphanumeric());
    if !edge_ok(local.bytes().next()) || !edge_ok(local.bytes().last()) || local.contains("..") {
        return Err("local part must start and end with a letter or digit and have no '..'");
    }
    check_domain_name(host).map_err(|_| "must have a valid domain after the @")?;
    Ok((local, host))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_shapes() {
        for ok in ["a@acme.com", "agent.7+x@mail.acme.com", "a_b-c@myagent.mx"] {
            assert!(split_address(ok).is_ok(), "{ok}");
        }
        let long_local = format!("{}@acme.com", "a".repeat(65));
        for bad in [
            "acme.com",
            "@acme.com",
            "a@",
            ".a@acme.com",
            "a.@acme.com",
            "a..b@acme.com",
            "a b@acme.com",
            "a@b@acme.com",
            "a@acme",
            long_local.as_str(),
        ] {
            assert!(split_address(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn quota_tiers_and_scopes() {
        assert!(check_quota(5_368_709_120).is_ok());
        assert_eq!(
            check_quota(1_000_000_000)
                .err()
                .map(|e| e.status().as_u16()),
            Some(422)
        );
        let scope = |kind, providers: &[&str], groups: &[&str]| {
            let list = |ids: &[&str]| Some(ids.iter().map(|s| (*s).to_owned()).collect());
            SendScope {
                kind,
                provider_public_ids: list(providers),
                group_public_ids: list(groups),
            }
            .check()
        };
        let all = scope(ScopeType::All, &[], &[]).ok();
        assert_eq!(all.and_then(|s| s.provider_public_ids), None);
        assert!(scope(ScopeType::Providers, &["dprov_a"], &[]).is_ok());
        assert!(scope(ScopeType::Providers, &[], &[]).is_err());
        assert!(scope(ScopeType::Providers, &["mdom_a"], &[]).is_err());
        assert!(scope(ScopeType::Group, &[], &["grp_1"]).is_ok());
        assert!(scope(ScopeType::Group, &["dprov_a"], &["grp_1"]).is_err());
        assert!(scope(ScopeType::All, &["dprov_a"], &[]).is_err());
    }
}
