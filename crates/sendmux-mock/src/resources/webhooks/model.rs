//! Webhook state as stored by the mock and as serialized on the wire:
//! subscriptions (with their signing secret, which never serializes),
//! events, and delivery attempts.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use serde::{Deserialize, Serialize, Serializer};

use crate::api::ApiError;
use crate::clock::rfc3339;
use crate::ids;

/// How long delivery attempts and their bodies are kept: 7 days.
pub(crate) const RETENTION_MS: u64 = 7 * 24 * 60 * 60 * 1000;

/// A published `WebhookEventType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum EventType {
    #[serde(rename = "message.delivered")]
    Delivered,
    #[serde(rename = "message.bounced")]
    Bounced,
    #[serde(rename = "message.complained")]
    Complained,
    #[serde(rename = "message.rejected")]
    Rejected,
    #[serde(rename = "message.delivery_delayed")]
    DeliveryDelayed,
    #[serde(rename = "message.received")]
    Received,
    #[serde(rename = "message.received.spam")]
    ReceivedSpam,
    #[serde(rename = "sendmux.test")]
    Test,
}

impl EventType {
    /// Every published value, in the document's order.
    const ALL: [Self; 8] = [
        Self::Delivered,
        Self::Bounced,
        Self::Complained,
        Self::Rejected,
        Self::DeliveryDelayed,
        Self::Received,
        Self::ReceivedSpam,
        Self::Test,
    ];

    /// The wire value (`message.delivered`).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Delivered => "message.delivered",
            Self::Bounced => "message.bounced",
            Self::Complained => "message.complained",
            Self::Rejected => "message.rejected",
            Self::DeliveryDelayed => "message.delivery_delayed",
            Self::Received => "message.received",
            Self::ReceivedSpam => "message.received.spam",
            Self::Test => "sendmux.test",
        }
    }

    /// The published value spelled `s`, if any.
    pub(crate) fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Events about mail arriving in a mailbox.
    fn inbound(self) -> bool {
        matches!(self, Self::Received | Self::ReceivedSpam)
    }
}

/// A signing secret: never in `Debug`, never serialized with its
/// subscription.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret(String);

impl Secret {
    /// `whsec_` and 32 characters derived from the seed, the subscription
    /// and how often its secret was rotated, so a seed replays the same
    /// secrets and every rotation gives a different one.
    pub(crate) fn derive(seed: u64, team: &str, webhook_id: &str, generation: u32) -> Self {
        let input = format!("{team}/{webhook_id}/secret/{generation}");
        Self(format!(
            "whsec_{}",
            ids::token(seed ^ 0x0077_6873_6563, input.as_bytes(), 32)
        ))
    }

    /// The secret as the signing key and the one-time response field.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// `filters` of a subscription.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Filters {
    pub(crate) mailbox_ids: Vec<String>,
}

/// One subscription.
#[derive(Debug, Clone)]
pub(crate) struct Webhook {
    pub(crate) id: String,
    pub(crate) name: Option<String>,
    pub(crate) url: String,
    pub(crate) event_types: Vec<EventType>,
    pub(crate) filters: Filters,
    pub(crate) enabled: bool,
    pub(crate) failing: bool,
    pub(crate) created_at_ms: u64,
    pub(crate) updated_at_ms: u64,
    pub(crate) secret: Secret,
    /// Rotations so far; feeds the next secret.
    pub(crate) secret_generation: u32,
}

/// Wire shape of `WebhookSubscription`, and of
/// `WebhookSubscriptionWithSecret` when `secret` is set.
#[derive(Serialize)]
struct WebhookView<'a> {
    id: &'a str,
    name: Option<&'a str>,
    url: &'a str,
    event_types: &'a [EventType],
    filters: &'a Filters,
    enabled: bool,
    failing: bool,
    created_at: String,
    updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<&'a str>,
}

impl Webhook {
    fn view(&self, with_secret: bool) -> WebhookView<'_> {
        WebhookView {
            id: &self.id,
            name: self.name.as_deref(),
            url: &self.url,
            event_types: &self.event_types,
            filters: &self.filters,
            enabled: self.enabled,
            failing: self.failing,
            created_at: rfc3339(self.created_at_ms),
            updated_at: rfc3339(self.updated_at_ms),
            secret: with_secret.then(|| self.secret.expose()),
        }
    }

    /// The subscription with its secret, for the two answers that carry it.
    pub(crate) fn with_secret_json(&self) -> Bytes {
        crate::api::to_json(&self.view(true))
    }

    /// Whether an event of `event_type` about `mailbox_id` reaches this
    /// subscription: it is enabled, lists the type, and, for an inbound
    /// event, its mailbox filter is empty or names the mailbox. Events
    /// that concern no mailbox (outbound ones) pass any mailbox filter;
    /// test events target one subscription and never come through here.
    pub(crate) fn wants(&self, event_type: EventType, mailbox_id: Option<&str>) -> bool {
        if !self.enabled || !self.event_types.contains(&event_type) {
            return false;
        }
        let ids = &self.filters.mailbox_ids;
        if ids.is_empty() {
            return true;
        }
        match mailbox_id {
            Some(m) => ids.iter().any(|id| id == m),
            None => !event_type.inbound(),
        }
    }
}

/// A subscription serializes as `WebhookSubscription`, without its secret,
/// so the collection's JSON and ETag are those of the wire representation.
impl Serialize for Webhook {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.view(false).serialize(serializer)
    }
}

/// Keeps the first occurrence of each event type, in the given order.
pub(crate) fn dedup(types: Vec<EventType>) -> Vec<EventType> {
    let mut out = Vec::with_capacity(types.len());
    for t in types {
        if !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

/// The endpoint rules the schema cannot state: an absolute `https` URL
/// (or `http`, when the server allows it for local receivers) with a host
/// and no user name or password.
pub(crate) fn check_url(url: &str, allow_http: bool) -> Result<(), ApiError> {
    let refuse = |why: &str| {
        ApiError::validation_error(format!("url {why}"))
            .with_param("url")
            .with_errors(vec![crate::api::FieldError {
                field: "url".to_owned(),
                code: "invalid_url".to_owned(),
                message: format!("url {why}"),
            }])
    };
    let parsed = reqwest::Url::parse(url).map_err(|_| refuse("is not an absolute URL"))?;
    match parsed.scheme() {
        "https" => {}
        "http" if allow_http => {}
        "http" => return Err(refuse("must use https")),
        _ => return Err(refuse("must be an https URL")),
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(refuse("must name a host"));
    }
    // Never echo the credentials back: the message only says they exist.
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(refuse("must not contain a user name or password"));
    }
    Ok(())
}

/// One published event, shared by every attempt to deliver it.
#[derive(Debug)]
pub(crate) struct Event {
    pub(crate) id: String,
    pub(crate) event_type: EventType,
    /// The `WebhookEventPayload` JSON exactly as posted and signed.
    pub(crate) body: Bytes,
    /// Hex SHA-256 of `body`.
    pub(crate) sha256: String,
}

/// `data` of a `WebhookEventPayload`; every field is always present.
#[derive(Debug, Default, Serialize)]
pub(crate) struct EventData {
    pub(crate) message_id: Option<String>,
    pub(crate) message_id_kind: Option<&'static str>,
    pub(crate) sendmux_message_id: Option<String>,
    pub(crate) sender: Option<String>,
    pub(crate) recipients: Vec<String>,
    pub(crate) mailbox_id: Option<String>,
    pub(crate) bounce_type: Option<&'static str>,
    pub(crate) bounce_subtype: Option<&'static str>,
    pub(crate) complaint_type: Option<&'static str>,
    pub(crate) complaint_subtype: Option<&'static str>,
    pub(crate) reject_reason: Option<&'static str>,
    pub(crate) delay_type: Option<&'static str>,
    pub(crate) delay_expires_at: Option<String>,
    pub(crate) is_spam: Option<bool>,
    pub(crate) webhook_id: Option<String>,
}

impl EventData {
    /// Plausible details of a message event about `mailbox_id`, derived
    /// from the event id so they are stable for a seed.
    pub(crate) fn sample(
        event_type: EventType,
        event_id: &str,
        mailbox_id: Option<&str>,
        now: u64,
    ) -> Self {
        let tag = ids::token(0, event_id.as_bytes(), 16);
        let mut data = Self {
            sender: Some("sender@example.com".to_owned()),
            recipients: vec!["recipient@example.com".to_owned()],
            mailbox_id: mailbox_id.map(str::to_owned),
            ..Self::default()
        };
        if event_type.inbound() {
            data.message_id = Some(format!("<{tag}@example.com>"));
            data.message_id_kind = Some("rfc5322");
            data.is_spam = Some(event_type == EventType::ReceivedSpam);
            return data;
        }
        data.message_id = Some(format!("{tag}-provider"));
        data.message_id_kind = Some("provider");
        data.sendmux_message_id = Some(format!("msg_{tag}"));
        match event_type {
            EventType::Bounced => {
                data.bounce_type = Some("Permanent");
                data.bounce_subtype = Some("General");
            }
            EventType::Complained => data.complaint_type = Some("abuse"),
            EventType::Rejected => data.reject_reason = Some("Bad content"),
            EventType::DeliveryDelayed => {
                data.delay_type = Some("MailboxFull");
                data.delay_expires_at = Some(rfc3339(now.saturating_add(24 * 3600 * 1000)));
            }
            _ => {}
        }
        data
    }
}

/// The `WebhookEventPayload` posted to endpoints.
#[derive(Serialize)]
pub(crate) struct EventPayload<'a> {
    pub(crate) id: &'a str,
    #[serde(rename = "type")]
    pub(crate) event_type: EventType,
    pub(crate) team_public_id: &'a str,
    pub(crate) occurred_at: String,
    pub(crate) data: EventData,
}

/// `result` of one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum AttemptResult {
    /// The endpoint answered 2xx.
    Success,
    /// Failed; another try is planned (`next_retry_at`).
    Retrying,
    /// Failed, and the planned retry was dropped because the subscription
    /// was paused or changed so that it no longer takes the event.
    Failed,
    /// Failed on the last allowed try; the subscription is marked failing.
    PermanentFailure,
}

impl AttemptResult {
    /// The value `s` of the `result` query parameter, if published.
    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s {
            "success" => Some(Self::Success),
            "retrying" => Some(Self::Retrying),
            "failed" => Some(Self::Failed),
            "permanent_failure" => Some(Self::PermanentFailure),
            _ => None,
        }
    }
}

/// One delivery attempt.
#[derive(Debug, Clone)]
pub(crate) struct Attempt {
    pub(crate) id: String,
    pub(crate) event: Arc<Event>,
    pub(crate) result: AttemptResult,
    pub(crate) response_status: Option<u16>,
    pub(crate) response_ms: u64,
    pub(crate) delivery_attempt: u32,
    pub(crate) max_attempts: u32,
    pub(crate) next_retry_at_ms: Option<u64>,
    pub(crate) error_message: Option<&'static str>,
    pub(crate) response_body: Option<String>,
    pub(crate) created_at_ms: u64,
}

impl Attempt {
    /// When the attempt and its body are discarded.
    pub(crate) fn expires_at_ms(&self) -> u64 {
        self.created_at_ms.saturating_add(RETENTION_MS)
    }

    /// `WebhookDeliveryPayload` without its `payload`, which the caller
    /// splices in from the stored bytes so it reads exactly as delivered.
    pub(crate) fn payload_head(&self) -> Bytes {
        #[derive(Serialize)]
        struct Head<'a> {
            id: &'a str,
            event_id: &'a str,
            event_type: EventType,
            delivery_attempt: u32,
            created_at: String,
            expires_at: String,
        }
        crate::api::to_json(&Head {
            id: &self.id,
            event_id: &self.event.id,
            event_type: self.event.event_type,
            delivery_attempt: self.delivery_attempt,
            created_at: rfc3339(self.created_at_ms),
            expires_at: rfc3339(self.expires_at_ms()),
        })
    }
}

/// An attempt serializes as `WebhookDeliveryAttempt`.
impl Serialize for Attempt {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct View<'a> {
            id: &'a str,
            event_id: &'a str,
            event_type: EventType,
            result: AttemptResult,
            response_status: Option<u16>,
            response_ms: u64,
            delivery_attempt: u32,
            max_attempts: u32,
            next_retry_at: Option<String>,
            error_message: Option<&'a str>,
            response_body: Option<&'a str>,
            // Attempts are dropped when their body expires, so a listed
            // attempt always has its body.
            payload_available: bool,
            payload_expires_at: String,
            request_payload_bytes: usize,
            request_payload_sha256: &'a str,
            created_at: String,
        }
        View {
            id: &self.id,
            event_id: &self.event.id,
            event_type: self.event.event_type,
            result: self.result,
            response_status: self.response_status,
            response_ms: self.response_ms,
            delivery_attempt: self.delivery_attempt,
            max_attempts: self.max_attempts,
            next_retry_at: self.next_retry_at_ms.map(rfc3339),
            error_message: self.error_message,
            response_body: self.response_body.as_deref(),
            payload_available: true,
            payload_expires_at: rfc3339(self.expires_at_ms()),
            request_payload_bytes: self.event.body.len(),
            request_payload_sha256: &self.event.sha256,
            created_at: rfc3339(self.created_at_ms),
        }
        .serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_round_trip_their_wire_values() {
        for t in EventType::ALL {
            let json = serde_json::to_string(&t).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", t.as_str()));
            assert_eq!(EventType::parse(t.as_str()), Some(t));
        }
        assert_eq!(EventType::parse("domain.verified"), None);
    }

    #[test]
    fn url_rules() {
        assert!(check_url("https://hooks.acme.com/x", false).is_ok());
        assert!(check_url("http://127.0.0.1:9/x", true).is_ok());
        for (url, allow_http) in [
            ("http://hooks.acme.com/x", false),
            ("ftp://hooks.acme.com/x", true),
            ("https://user:pw@hooks.acme.com/x", false),
            ("https://user@hooks.acme.com/x", true),
            ("hooks.acme.com/x", false),
            ("", false),
        ] {
            let err = check_url(url, allow_http).err();
            let status = err.as_ref().map(|e| (e.status().as_u16(), e.code()));
            assert_eq!(status, Some((422, "validation_error")), "{url}");
        }
        let err = check_url("https://user:hunter2@hooks.acme.com/", false).err();
        let text = format!("{err:?}");
        assert!(!text.contains("hunter2"), "{text}");
    }

    #[test]
    fn secrets_are_redacted_and_change_on_rotation() {
        let a = Secret::derive(1, "team_x", "whk_1", 0);
        let b = Secret::derive(1, "team_x", "whk_1", 1);
        assert_ne!(a, b);
        assert_eq!(a, Secret::derive(1, "team_x", "whk_1", 0));
        assert!(a.expose().starts_with("whsec_"));
        assert!(!format!("{a:?}").contains(a.expose()));
    }

    #[test]
    fn filters_apply_to_inbound_events_only() {
        let mut w = Webhook {
            id: "whk_1".to_owned(),
            name: None,
            url: "https://x.test/".to_owned(),
            event_types: vec![EventType::Received, EventType::Delivered],
            filters: Filters {
                mailbox_ids: vec!["mbx_a".to_owned()],
            },
            enabled: true,
            failing: false,
            created_at_ms: 0,
            updated_at_ms: 0,
            secret: Secret::derive(0, "t", "whk_1", 0),
            secret_generation: 0,
        };
        assert!(w.wants(EventType::Received, Some("mbx_a")));
        assert!(!w.wants(EventType::Received, Some("mbx_b")));
        assert!(!w.wants(EventType::Received, None));
        assert!(w.wants(EventType::Delivered, None));
        assert!(!w.wants(EventType::Bounced, None));
        w.enabled = false;
        assert!(!w.wants(EventType::Delivered, None));
        w.enabled = true;
        w.filters.mailbox_ids.clear();
        assert!(w.wants(EventType::Received, Some("mbx_b")));
    }
}
