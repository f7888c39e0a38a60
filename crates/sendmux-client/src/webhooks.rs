//! The Webhooks resource: `client.webhooks()`.
//!
//! Subscriptions that receive events over HTTP, their delivery attempts,
//! and their signing secret, which the API shows only when a subscription
//! is created or its secret rotated; it comes back as a [`Secret`].

use sendmux_api::types as wire;
use sendmux_operations::{Operation, ops};
use serde::Deserialize;

use crate::Client;
use crate::models::WebhookEventType;
use crate::request::{Decoder, Json, Patch, Request, data, page};
use crate::response::{Conditional, Page, Response};
use crate::secret::{self, Secret};
use crate::validate;

/// A webhook subscription as the API returns it (the generated model).
pub type Webhook = wire::WebhookSubscription;
/// Confirmation of a deletion (the generated model).
pub type WebhookDeleted = wire::WebhookDeleted;
/// One attempt to deliver an event (the generated model).
pub type DeliveryAttempt = wire::WebhookDeliveryAttempt;
/// The body one delivery attempt sent (the generated model).
pub type DeliveryPayload = wire::WebhookDeliveryPayload;
/// The event a test published (the generated model).
pub type WebhookTest = wire::WebhookTestResponse;

/// [`Webhooks::create`]: set the optional fields, then await.
pub type CreateWebhook = Request<Response<WebhookWithSecret>, Json<wire::WebhookCreateBody>>;
/// [`Webhooks::list`]: one page, or [`stream`](Request::stream) every item.
pub type ListWebhooks = Request<Response<Page<Webhook>>>;
/// [`Webhooks::get`].
pub type GetWebhook = Request<Response<Webhook>>;
/// [`Webhooks::get_if_changed`].
pub type GetWebhookIfChanged = Request<Conditional<Webhook>>;
/// [`Webhooks::update`]: set what changes, then await.
pub type UpdateWebhook = Request<Response<Webhook>, Json<Patch<wire::WebhookUpdateBody>>>;
/// [`Webhooks::delete`].
pub type DeleteWebhook = Request<Response<WebhookDeleted>>;
/// [`Webhooks::deliveries`]: one page, or [`stream`](Request::stream) every item.
pub type ListDeliveries = Request<Response<Page<DeliveryAttempt>>>;
/// [`Webhooks::delivery_payload`].
pub type GetDeliveryPayload = Request<Response<DeliveryPayload>>;
/// [`Webhooks::rotate_secret`].
pub type RotateWebhookSecret = Request<Response<WebhookWithSecret>>;
/// [`Webhooks::test`].
pub type TestWebhook = Request<Response<WebhookTest>>;

/// A subscription with its signing secret, as a create or a rotation
/// answers once.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct WebhookWithSecret {
    /// The subscription.
    #[serde(flatten)]
    pub webhook: Webhook,
    /// Key of the HMAC-SHA256 `X-Sendmux-Signature` on each delivery.
    pub secret: Secret,
}

/// Handle on the Webhooks operations; get one from [`Client::webhooks`].
///
/// ```no_run
/// # async fn run(client: sendmux_client::Client) -> Result<(), sendmux_client::Error> {
/// use sendmux_client::WebhookEventType;
/// let created = client.webhooks().create("https://hooks.acme.com/sendmux", [WebhookEventType::MessageReceived]).await?;
/// store(created.secret.expose_secret());
/// # Ok(()) }
/// # fn store(_: &str) {}
/// ```
#[derive(Debug, Clone)]
pub struct Webhooks {
    client: Client,
}

impl Webhooks {
    pub(crate) fn new(client: Client) -> Self {
        Self { client }
    }

    /// A call of `op` on the subscription `id`.
    fn on<T>(&self, op: &'static Operation, id: &str, decode: Decoder<T>) -> Request<T> {
        self.client.request(op, &[("id", id)], decode)
    }

    /// Lists subscriptions, newest first (`GET /webhooks`), without secrets.
    /// ```no_run
    /// # async fn f(w: sendmux_client::Webhooks) -> Result<(), sendmux_client::Error> {
    /// let page = w.list().limit(20).await?;
    /// # Ok(()) }
    /// ```
    pub fn list(&self) -> ListWebhooks {
        self.client
            .request(ops::MANAGEMENT_LIST_WEBHOOKS, &[], page)
    }

    /// Subscribes an absolute `http(s)` endpoint to `event_types` (at least
    /// one) (`POST /webhooks`); the signing secret comes back once, as a
    /// [`Secret`]. Sent with an idempotency key.
    /// ```no_run
    /// # async fn f(w: sendmux_client::Webhooks) -> Result<(), sendmux_client::Error> {
    /// use sendmux_client::WebhookEventType::*;
    /// let created = w.create("https://hooks.acme.com/x", [MessageBounced, MessageComplained]).name("bounces").await?;
    /// # Ok(()) }
    /// ```
    pub fn create(
        &self,
        url: impl Into<String>,
        event_types: impl IntoIterator<Item = WebhookEventType>,
    ) -> CreateWebhook {
        let url = url.into();
        let event_types: Vec<_> = event_types.into_iter().collect();
        let checked =
            validate::http_url("url", &url).and(validate::not_empty("event_types", &event_types));
        let body = wire::WebhookCreateBody {
            url,
            event_types,
            enabled: None,
            filters: None,
            name: None,
        };
        let request = self
            .client
            .request(ops::MANAGEMENT_CREATE_WEBHOOK, &[], secret::data);
        request.check(checked).json(body).sensitive()
    }

    /// Reads one subscription (`GET /webhooks/{id}`), with its `ETag`.
    /// ```no_run
    /// # async fn f(w: sendmux_client::Webhooks) -> Result<(), sendmux_client::Error> {
    /// let webhook = w.get("wh_123").await?;
    /// # Ok(()) }
    /// ```
    pub fn get(&self, id: impl AsRef<str>) -> GetWebhook {
        self.on(ops::MANAGEMENT_GET_WEBHOOK, id.as_ref(), data)
    }

    /// Reads a subscription only if it changed since `etag`.
    /// ```no_run
    /// # async fn f(w: sendmux_client::Webhooks) -> Result<(), sendmux_client::Error> {
    /// let fresh = w.get_if_changed("wh_123", "W/\"a1\"").await?;
    /// # Ok(()) }
    /// ```
    pub fn get_if_changed(
        &self,
        id: impl AsRef<str>,
        etag: impl Into<String>,
    ) -> GetWebhookIfChanged {
        self.get(id).if_none_match(etag)
    }

    /// Changes a subscription (`PATCH /webhooks/{id}`); what is not set
    /// stays, and the secret is kept. Add [`if_match`](Request::if_match) to
    /// keep a concurrent edit.
    /// ```no_run
    /// # async fn f(w: sendmux_client::Webhooks) -> Result<(), sendmux_client::Error> {
    /// let paused = w.update("wh_123").enabled(false).await?;
    /// # Ok(()) }
    /// ```
    pub fn update(&self, id: impl AsRef<str>) -> UpdateWebhook {
        let request = self.on(ops::MANAGEMENT_UPDATE_WEBHOOK, id.as_ref(), data);
        request.json(Patch::default())
    }

    /// Deletes a subscription (`DELETE /webhooks/{id}`).
    /// ```no_run
    /// # async fn f(w: sendmux_client::Webhooks) -> Result<(), sendmux_client::Error> {
    /// w.delete("wh_123").await?;
    /// # Ok(()) }
    /// ```
    pub fn delete(&self, id: impl AsRef<str>) -> DeleteWebhook {
        self.on(ops::MANAGEMENT_DELETE_WEBHOOK, id.as_ref(), data)
    }

    /// Lists delivery attempts, newest first
    /// (`GET /webhooks/{id}/deliveries`), optionally narrowed by event type
    /// and result.
    /// ```no_run
    /// # async fn f(w: sendmux_client::Webhooks) -> Result<(), sendmux_client::Error> {
    /// use sendmux_client::types::ListDeliveryResult;
    /// let failed = w.deliveries("wh_123").result(ListDeliveryResult::Failed).await?;
    /// # Ok(()) }
    /// ```
    pub fn deliveries(&self, id: impl AsRef<str>) -> ListDeliveries {
        self.on(ops::MANAGEMENT_LIST_DELIVERY, id.as_ref(), page)
    }

    /// The body one delivery attempt sent, while it is kept
    /// (`GET /webhooks/{id}/deliveries/{delivery_id}/payload`).
    /// ```no_run
    /// # async fn f(w: sendmux_client::Webhooks) -> Result<(), sendmux_client::Error> {
    /// let sent = w.delivery_payload("wh_123", "whd_456").await?;
    /// # Ok(()) }
    /// ```
    pub fn delivery_payload(
        &self,
        id: impl AsRef<str>,
        delivery_id: impl AsRef<str>,
    ) -> GetDeliveryPayload {
        let path = [("id", id.as_ref()), ("delivery_id", delivery_id.as_ref())];
        self.client
            .request(ops::MANAGEMENT_GET_DELIVERY_PAYLOAD, &path, data)
    }

    /// Issues a new signing secret (`POST /webhooks/{id}/rotate-secret`),
    /// returned once as a [`Secret`]; the old one stops working at once.
    /// ```no_run
    /// # async fn f(w: sendmux_client::Webhooks) -> Result<(), sendmux_client::Error> {
    /// let rotated = w.rotate_secret("wh_123").await?;
    /// # Ok(()) }
    /// ```
    pub fn rotate_secret(&self, id: impl AsRef<str>) -> RotateWebhookSecret {
        let request = self.on(
            ops::MANAGEMENT_ROTATE_WEBHOOK_SECRET,
            id.as_ref(),
            secret::data,
        );
        request.sensitive()
    }

    /// Publishes a `sendmux.test` event to the subscription
    /// (`POST /webhooks/{id}/test`).
    /// ```no_run
    /// # async fn f(w: sendmux_client::Webhooks) -> Result<(), sendmux_client::Error> {
    /// let event_id = w.test("wh_123").await?.event_id.clone();
    /// # Ok(()) }
    /// ```
    pub fn test(&self, id: impl AsRef<str>) -> TestWebhook {
        self.on(ops::MANAGEMENT_TEST_WEBHOOK, id.as_ref(), data)
    }
}

/// `mailbox_ids` as the filter that sends events of those mailboxes only.
fn only(ids: impl IntoIterator<Item = impl Into<String>>) -> wire::WebhookFilters {
    wire::WebhookFilters {
        mailbox_ids: ids.into_iter().map(Into::into).collect(),
    }
}

impl CreateWebhook {
    /// A name for people, 1 to 255 characters.
    pub fn name(self, name: impl Into<String>) -> Self {
        self.set(validate::wire("name", name), |body, name| {
            body.0.name = Some(name)
        })
    }

    /// Creates it switched off (`false`); the server default is on.
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.body.0.enabled = Some(enabled);
        self
    }

    /// Sends only events of these mailboxes.
    pub fn mailbox_ids(mut self, ids: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.body.0.filters = Some(only(ids));
        self
    }
}

impl UpdateWebhook {
    /// A new endpoint, an absolute `http(s)` URL.
    pub fn url(mut self, url: impl Into<String>) -> Self {
        let url = url.into();
        let checked = validate::http_url("url", &url);
        self.body.0.set.url = Some(url);
        self.check(checked)
    }

    /// A new set of event types, at least one.
    pub fn event_types(mut self, event_types: impl IntoIterator<Item = WebhookEventType>) -> Self {
        self.body.0.set.event_types = event_types.into_iter().collect();
        let checked = validate::not_empty("event_types", &self.body.0.set.event_types);
        self.check(checked)
    }

    /// A new name, at most 255 characters.
    pub fn name(self, name: impl Into<String>) -> Self {
        self.set(validate::wire("name", name), |body, name| {
            body.0.set.name = Some(name)
        })
    }

    /// Removes the name.
    pub fn clear_name(mut self) -> Self {
        self.body.0.set.name = None;
        self.body.0.clear("name");
        self
    }

    /// Switches deliveries on or off.
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.body.0.set.enabled = Some(enabled);
        self
    }

    /// Sends only events of these mailboxes.
    pub fn mailbox_ids(mut self, ids: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.body.0.set.filters = Some(only(ids));
        self
    }
}

impl ListDeliveries {
    /// Only attempts for this event type.
    pub fn event_type(self, event_type: WebhookEventType) -> Self {
        self.param("event_type", event_type)
    }

    /// Only attempts with this result.
    pub fn result(self, result: wire::ListDeliveryResult) -> Self {
        self.param("result", result)
    }
}
