//! Sending-account state as stored by the mock and as serialized on the
//! wire: the shared Amazon SES account every team has, custom SMTP
//! accounts (their password stored, never serialized), quotas, and the
//! limit requests.

use std::fmt;

use serde::{Deserialize, Serialize, Serializer};

use crate::api::FieldError;
use crate::clock::rfc3339;
use crate::ids;

/// Custom and connected accounts a team may have (the shared account is
/// not counted).
pub(crate) const MAX_ACCOUNTS: u64 = 5;
/// Accounts from which the team counts as near its allowance (80 %).
pub(crate) const ACCOUNTS_THRESHOLD: u64 = 4;
/// Daily limit of the shared Amazon SES account.
pub(crate) const SES_DAILY_LIMIT: u64 = 1000;
/// Messages a day from which the shared account counts as near its limit.
pub(crate) const SES_THRESHOLD: u64 = 800;

/// `ProviderType`; the mock makes SMTP accounts and the shared one (OAuth
/// accounts are connected in the dashboard, which the API cannot do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Kind {
    Smtp,
    AmazonSes,
}

/// `ProviderStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Status {
    Active,
    Inactive,
    Error,
    Pending,
}

impl Status {
    /// Every published value.
    pub(crate) const ALL: [Self; 4] = [Self::Active, Self::Inactive, Self::Error, Self::Pending];

    pub(crate) fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Inactive => "inactive",
            Self::Error => "error",
            Self::Pending => "pending",
        }
    }
}

/// The `type` filter of the list: any published `ProviderType`, whether
/// or not the mock makes such accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TypeFilter {
    Smtp,
    GmailApi,
    OutlookApi,
    AmazonSes,
}

impl TypeFilter {
    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s {
            "smtp" => Some(Self::Smtp),
            "gmail_api" => Some(Self::GmailApi),
            "outlook_api" => Some(Self::OutlookApi),
            "amazon_ses" => Some(Self::AmazonSes),
            _ => None,
        }
    }

    pub(crate) fn matches(self, kind: Kind) -> bool {
        matches!(
            (self, kind),
            (Self::Smtp, Kind::Smtp) | (Self::AmazonSes, Kind::AmazonSes)
        )
    }
}

/// `SmtpProtocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Protocol {
    Tls,
    Ssl,
    None,
    Starttls,
}

/// An SMTP password: accepted, stored, never shown (not in `Debug`, not
/// serialized).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub(crate) struct Password(String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([redacted])")
    }
}

/// The connection of a custom SMTP account.
#[derive(Debug, Clone)]
pub(crate) struct Smtp {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) protocol: Protocol,
    pub(crate) username: String,
    pub(crate) password: Password,
}

/// `ProviderQuotaRange`: both ends at least 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Range {
    pub(crate) min: u64,
    pub(crate) max: u64,
}

/// `ProviderQuotaValue`: a fixed cap or a range.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(untagged)]
pub(crate) enum QuotaValue {
    Fixed(u64),
    Range(Range),
}

impl QuotaValue {
    /// As stored and shown: a fixed cap is the range `n..=n`.
    fn range(self) -> Range {
        match self {
            Self::Fixed(n) => Range { min: n, max: n },
            Self::Range(r) => r,
        }
    }
}

/// `ProviderQuotasInput`: an absent unit stays as it is, `null` removes
/// its limit.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct QuotasInput {
    #[serde(default, deserialize_with = "crate::resources::webhooks::present")]
    per_second: Option<Option<QuotaValue>>,
    #[serde(default, deserialize_with = "crate::resources::webhooks::present")]
    per_minute: Option<Option<QuotaValue>>,
    #[serde(default, deserialize_with = "crate::resources::webhooks::present")]
    per_hour: Option<Option<QuotaValue>>,
    #[serde(default, deserialize_with = "crate::resources::webhooks::present")]
    per_day: Option<Option<QuotaValue>>,
}

impl QuotasInput {
    /// A range whose `min` exceeds its `max` cannot be honoured; one
    /// field error per such unit.
    pub(crate) fn check(&self) -> Vec<FieldError> {
        self.units()
            .into_iter()
            .filter_map(|(name, v)| match v {
                Some(Some(QuotaValue::Range(r))) if r.min > r.max => Some(FieldError {
                    field: format!("quotas.{name}"),
                    code: "invalid_range".to_owned(),
                    message: format!("quotas.{name}.min must not exceed its max"),
                }),
                _ => None,
            })
            .collect()
    }

    fn units(&self) -> [(&'static str, Option<Option<QuotaValue>>); 4] {
        [
            ("per_second", self.per_second),
            ("per_minute", self.per_minute),
            ("per_hour", self.per_hour),
            ("per_day", self.per_day),
        ]
    }

    /// Applies the units that were given.
    pub(crate) fn apply(&self, quotas: &mut Quotas) {
        let set = |slot: &mut Option<Range>, v: Option<Option<QuotaValue>>| {
            if let Some(v) = v {
                *slot = v.map(QuotaValue::range);
            }
        };
        set(&mut quotas.per_second, self.per_second);
        set(&mut quotas.per_minute, self.per_minute);
        set(&mut quotas.per_hour, self.per_hour);
        set(&mut quotas.per_day, self.per_day);
    }
}

/// `ProviderQuotas`: `null` where there is no limit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Quotas {
    pub(crate) per_second: Option<Range>,
    pub(crate) per_minute: Option<Range>,
    pub(crate) per_hour: Option<Range>,
    pub(crate) per_day: Option<Range>,
}

/// The optional address and tracking settings every account has.
#[derive(Debug, Clone, Default)]
pub(crate) struct Defaults {
    pub(crate) from_email: Option<String>,
    pub(crate) from_name: Option<String>,
    pub(crate) reply_to_email: Option<String>,
    pub(crate) reply_to_name: Option<String>,
    pub(crate) tracking_domain: Option<String>,
}

/// One sending account.
#[derive(Debug, Clone)]
pub(crate) struct Provider {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) kind: Kind,
    /// Switched on (`is_active`).
    pub(crate) active: bool,
    /// Why the last connection test failed, while it stands.
    pub(crate) error: Option<String>,
    /// `None` for the shared account.
    pub(crate) smtp: Option<Smtp>,
    pub(crate) defaults: Defaults,
    pub(crate) quotas: Quotas,
    pub(crate) percentage: Option<u8>,
    pub(crate) created_at_ms: u64,
    pub(crate) updated_at_ms: u64,
    pub(crate) last_tested_at_ms: Option<u64>,
}

impl Provider {
    /// The team's shared Amazon SES account: managed by the platform,
    /// capped at its daily limit.
    pub(crate) fn shared(id: &str, now: u64) -> Self {
        Self {
            id: id.to_owned(),
            name: "Shared Amazon SES".to_owned(),
            kind: Kind::AmazonSes,
            active: true,
            error: None,
            smtp: None,
            defaults: Defaults::default(),
            quotas: Quotas {
                per_day: Some(Range {
                    min: SES_DAILY_LIMIT,
                    max: SES_DAILY_LIMIT,
                }),
                ..Quotas::default()
            },
            percentage: None,
            created_at_ms: now,
            updated_at_ms: now,
            last_tested_at_ms: None,
        }
    }

    pub(crate) fn is_shared(&self) -> bool {
        self.kind == Kind::AmazonSes
    }

    /// Off is `inactive`; on, a failed connection test is `error` until
    /// a test passes or the connection settings change.
    pub(crate) fn status(&self) -> Status {
        match (self.active, &self.error) {
            (false, _) => Status::Inactive,
            (true, Some(_)) => Status::Error,
            (true, None) => Status::Active,
        }
    }

    /// The outcome of a connection test, as the mock decides it: the
    /// test fails when the host is under `.invalid` (the top-level domain
    /// reserved never to resolve), and passes otherwise. The time it took
    /// derives from the host, so it is stable.
    pub(crate) fn connection_test(&self) -> (bool, String, u64) {
        let host = self.smtp.as_ref().map_or("", |s| s.host.as_str());
        let latency = 20 + ids::hash_bytes(0, host.as_bytes()) % 180;
        let lower = host.to_ascii_lowercase();
        if lower == "invalid" || lower.ends_with(".invalid") {
            (false, "could not resolve the SMTP host".to_owned(), latency)
        } else {
            (true, "connected and logged in".to_owned(), latency)
        }
    }
}

/// `ProviderAllowedActions`.
#[derive(Serialize)]
struct Allowed {
    update: bool,
    delete: bool,
    activate: bool,
    deactivate: bool,
    test: bool,
}

/// Wire shape of `ProviderItem`.
#[derive(Serialize)]
struct ProviderView<'a> {
    id: &'a str,
    name: &'a str,
    #[serde(rename = "type")]
    kind: Kind,
    status: Status,
    status_reason: Option<&'a str>,
    is_active: bool,
    is_shared: bool,
    is_editable: bool,
    allowed_actions: Allowed,
    smtp_host: Option<&'a str>,
    smtp_port: Option<u16>,
    smtp_protocol: Option<Protocol>,
    smtp_username: Option<&'a str>,
    has_smtp_password: bool,
    from_email: Option<&'a str>,
    from_name: Option<&'a str>,
    reply_to_email: Option<&'a str>,
    reply_to_name: Option<&'a str>,
    oauth_email: Option<&'a str>,
    has_refresh_token: bool,
    quotas: &'a Quotas,
    percentage: Option<u8>,
    tracking_domain: Option<&'a str>,
    created_at: String,
    updated_at: String,
    last_tested_at: Option<String>,
    last_used_at: Option<String>,
}

/// An account serializes as `ProviderItem`, its password only as
/// `has_smtp_password`.
impl Serialize for Provider {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let smtp = self.smtp.as_ref();
        let shared = self.is_shared();
        let d = &self.defaults;
        ProviderView {
            id: &self.id,
            name: &self.name,
            kind: self.kind,
            status: self.status(),
            status_reason: self.error.as_deref().filter(|_| self.active),
            is_active: self.active,
            is_shared: shared,
            is_editable: !shared,
            allowed_actions: Allowed {
                update: !shared,
                delete: !shared,
                activate: !self.active,
                deactivate: self.active,
                test: smtp.is_some(),
            },
            smtp_host: smtp.map(|s| s.host.as_str()),
            smtp_port: smtp.map(|s| s.port),
            smtp_protocol: smtp.map(|s| s.protocol),
            smtp_username: smtp.map(|s| s.username.as_str()),
            has_smtp_password: smtp.is_some(),
            from_email: d.from_email.as_deref(),
            from_name: d.from_name.as_deref(),
            reply_to_email: d.reply_to_email.as_deref(),
            reply_to_name: d.reply_to_name.as_deref(),
            oauth_email: None,
            has_refresh_token: false,
            quotas: &self.quotas,
            percentage: self.percentage,
            tracking_domain: d.tracking_domain.as_deref(),
            created_at: rfc3339(self.created_at_ms),
            updated_at: rfc3339(self.updated_at_ms),
            last_tested_at: self.last_tested_at_ms.map(rfc3339),
            last_used_at: None,
        }
        .serialize(serializer)
    }
}

/// A request for more sending accounts (`trir_`); the mock never decides
/// it, so it stays open.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct AccountLimitRequest {
    pub(crate) id: String,
}

/// `SharedAmazonSesLimitRequestStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RequestStatus {
    Pending,
    Cancelled,
}

/// `SharedAmazonSesLimitRequest`. Nobody reviews requests in the mock:
/// one stays `pending` until it is cancelled.
#[derive(Debug, Clone)]
pub(crate) struct SesLimitRequest {
    pub(crate) id: String,
    pub(crate) status: RequestStatus,
    pub(crate) current_daily_limit: u64,
    pub(crate) current_daily_sent: u64,
    pub(crate) created_at_ms: u64,
}

impl Serialize for SesLimitRequest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct View<'a> {
            id: &'a str,
            status: RequestStatus,
            current_daily_limit: u64,
            current_daily_sent: u64,
            approved_daily_limit: Option<u64>,
            decision_note: Option<&'a str>,
            created_at: String,
            decided_at: Option<String>,
        }
        View {
            id: &self.id,
            status: self.status,
            current_daily_limit: self.current_daily_limit,
            current_daily_sent: self.current_daily_sent,
            approved_daily_limit: None,
            decision_note: None,
            created_at: rfc3339(self.created_at_ms),
            decided_at: None,
        }
        .serialize(serializer)
    }
}

/// `SharedAmazonSesLimit`.
#[derive(Debug, Serialize)]
pub(crate) struct SesLimit {
    pub(crate) provider_id: Option<String>,
    pub(crate) daily_limit: Option<u64>,
    pub(crate) sent_today: u64,
    pub(crate) threshold_usage: Option<u64>,
    pub(crate) usage_ratio: Option<f64>,
    pub(crate) is_near_limit: bool,
    pub(crate) can_request_increase: bool,
    pub(crate) pending_request_id: Option<String>,
}

impl SesLimit {
    /// The shared account's limit; the mock sends nothing, so nothing is
    /// used today.
    pub(crate) fn new(provider_id: String, pending: Option<String>) -> Self {
        let sent_today = 0u64;
        Self {
            provider_id: Some(provider_id),
            daily_limit: Some(SES_DAILY_LIMIT),
            sent_today,
            threshold_usage: Some(SES_THRESHOLD),
            usage_ratio: Some(ratio(sent_today, SES_DAILY_LIMIT)),
            is_near_limit: sent_today >= SES_THRESHOLD,
            can_request_increase: pending.is_none(),
            pending_request_id: pending,
        }
    }
}

/// `ResourceLimitSnapshot` of the sending-account allowance.
#[derive(Debug, Serialize)]
pub(crate) struct AccountsLimit {
    resource_type: &'static str,
    usage: u64,
    max_allowed: u64,
    reserved: u64,
    threshold_usage: u64,
    usage_ratio: f64,
    is_at_limit: bool,
    is_near_limit: bool,
    can_request_increase: bool,
    pending_request_id: Option<String>,
}

impl AccountsLimit {
    /// `usage` accounts against [`MAX_ACCOUNTS`], with the open request.
    pub(crate) fn new(usage: u64, pending: Option<String>) -> Self {
        Self {
            resource_type: "sending_accounts",
            usage,
            max_allowed: MAX_ACCOUNTS,
            reserved: 0,
            threshold_usage: ACCOUNTS_THRESHOLD,
            usage_ratio: ratio(usage, MAX_ACCOUNTS),
            is_at_limit: usage >= MAX_ACCOUNTS,
            is_near_limit: usage >= ACCOUNTS_THRESHOLD,
            can_request_increase: pending.is_none(),
            pending_request_id: pending,
        }
    }

    pub(crate) fn is_at_limit(&self) -> bool {
        self.is_at_limit
    }
}

#[expect(clippy::cast_precision_loss, reason = "counts stay far below 2^52")]
fn ratio(used: u64, of: u64) -> f64 {
    if of == 0 {
        0.0
    } else {
        used as f64 / of as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn smtp(host: &str) -> Provider {
        let mut p = Provider::shared("dprov_1", 0);
        p.kind = Kind::Smtp;
        p.smtp = Some(Smtp {
            host: host.to_owned(),
            port: 587,
            protocol: Protocol::Starttls,
            username: "u".to_owned(),
            password: Password("hunter2".to_owned()),
        });
        p
    }

    #[test]
    fn the_password_never_serializes_or_debugs() {
        let p = smtp("smtp.acme.com");
        let json = String::from_utf8_lossy(&crate::api::to_json(&p)).into_owned();
        assert!(!json.contains("hunter2"), "{json}");
        assert!(json.contains("\"has_smtp_password\":true"), "{json}");
        assert!(!format!("{p:?}").contains("hunter2"));
    }

    #[test]
    fn connection_tests_fail_only_under_invalid() {
        assert!(smtp("smtp.acme.com").connection_test().0);
        assert!(!smtp("smtp.fail.invalid").connection_test().0);
        assert!(!smtp("FAIL.INVALID").connection_test().0);
        assert_eq!(
            smtp("smtp.acme.com").connection_test().2,
            smtp("smtp.acme.com").connection_test().2
        );
    }

    #[test]
    fn status_follows_switch_and_test() {
        let mut p = smtp("smtp.acme.com");
        assert_eq!(p.status(), Status::Active);
        p.error = Some("x".to_owned());
        assert_eq!(p.status(), Status::Error);
        p.active = false;
        assert_eq!(p.status(), Status::Inactive);
    }

    #[test]
    fn fixed_quotas_are_ranges_and_null_removes() {
        let input: QuotasInput =
            serde_json::from_str(r#"{"per_second": 5, "per_day": {"min": 10, "max": 20}}"#)
                .unwrap_or_default();
        let mut q = Quotas::default();
        input.apply(&mut q);
        assert_eq!(q.per_second, Some(Range { min: 5, max: 5 }));
        assert_eq!(q.per_day, Some(Range { min: 10, max: 20 }));
        let clear: QuotasInput =
            serde_json::from_str(r#"{"per_second": null}"#).unwrap_or_default();
        clear.apply(&mut q);
        assert_eq!(q.per_second, None);
        assert_eq!(q.per_day, Some(Range { min: 10, max: 20 }));
        let bad: QuotasInput =
            serde_json::from_str(r#"{"per_hour": {"min": 9, "max": 3}}"#).unwrap_or_default();
        assert_eq!(bad.check().len(), 1);
    }
}
