//! The log resources: `client.email_logs()` (outbound deliveries and their
//! metrics) and `client.inbox_logs()` (received mail).

use sendmux_api::types as wire;
use sendmux_operations::ops;

use crate::Client;
use crate::request::{Request, data, page};
use crate::response::{Conditional, Page, Response};
use crate::validate;

pub use wire::{
    DeliveryStatus, GetEmailMetricsGranularity as MetricsGranularity,
    GetEmailMetricsWindow as MetricsWindow, InboxEventType,
};

/// One outbound delivery in a list (the generated model).
pub type EmailLog = wire::DeliveryLogItem;
/// One outbound delivery with its recipients (the generated model).
pub type EmailLogDetail = wire::DeliveryLogDetail;
/// Delivery counts, a comparison and a time series (the generated model).
pub type EmailMetrics = wire::EmailMetrics;
/// One received message (the generated model).
pub type InboxLog = wire::IncomingLogItem;

/// [`EmailLogs::list`]: narrow it with the setters, then one page or
/// [`stream`](Request::stream) every item.
pub type ListEmailLogs = Request<Response<Page<EmailLog>>>;
/// [`EmailLogs::get`].
pub type GetEmailLog = Request<Response<EmailLogDetail>>;
/// [`EmailLogs::get_if_changed`].
pub type GetEmailLogIfChanged = Request<Conditional<EmailLogDetail>>;
/// [`EmailLogs::metrics`]: pick the period with the setters, then await.
pub type GetEmailMetrics = Request<Response<EmailMetrics>>;
/// [`InboxLogs::list`]: narrow it with the setters, then one page or
/// [`stream`](Request::stream) every item.
pub type ListInboxLogs = Request<Response<Page<InboxLog>>>;
/// [`InboxLogs::get`].
pub type GetInboxLog = Request<Response<InboxLog>>;

/// Handle on the outbound delivery logs; get one from [`Client::email_logs`].
///
/// ```no_run
/// # async fn run(client: sendmux_client::Client) -> Result<(), sendmux_client::Error> {
/// use futures::TryStreamExt;
/// use sendmux_client::logs::DeliveryStatus;
/// let mut failed = client.email_logs().list().status(DeliveryStatus::Failed).from_date("2026-11-01").stream();
/// while let Some(log) = failed.try_next().await? {
///     println!("{} {:?}", log.id, log.status_reason);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct EmailLogs {
    client: Client,
}

impl EmailLogs {
    pub(crate) fn new(client: Client) -> Self {
        Self { client }
    }

    /// Outbound deliveries, newest first (`GET /emails/logs`).
    /// ```no_run
    /// # async fn f(e: sendmux_client::logs::EmailLogs) -> Result<(), sendmux_client::Error> {
    /// let page = e.list().search("invoice").limit(50).await?;
    /// # Ok(()) }
    /// ```
    pub fn list(&self) -> ListEmailLogs {
        self.client
            .request(ops::MANAGEMENT_LIST_EMAIL_LOGS, &[], page)
    }

    /// One delivery with its recipients (`GET /emails/logs/{id}`), with its
    /// `ETag`.
    /// ```no_run
    /// # async fn f(e: sendmux_client::logs::EmailLogs) -> Result<(), sendmux_client::Error> {
    /// let log = e.get("dlog_123").await?;
    /// # Ok(()) }
    /// ```
    pub fn get(&self, id: impl AsRef<str>) -> GetEmailLog {
        self.client
            .request(ops::MANAGEMENT_GET_EMAIL_LOG, &[("id", id.as_ref())], data)
    }

    /// Reads a delivery only if it changed since `etag`.
    /// ```no_run
    /// # async fn f(e: sendmux_client::logs::EmailLogs) -> Result<(), sendmux_client::Error> {
    /// let fresh = e.get_if_changed("dlog_123", "W/\"a1\"").await?;
    /// # Ok(()) }
    /// ```
    pub fn get_if_changed(
        &self,
        id: impl AsRef<str>,
        etag: impl Into<String>,
    ) -> GetEmailLogIfChanged {
        self.get(id).if_none_match(etag)
    }

    /// Delivery counts for a window or a date range, against the period
    /// before, with a time series (`GET /emails/metrics`).
    /// ```no_run
    /// # async fn f(e: sendmux_client::logs::EmailLogs) -> Result<(), sendmux_client::Error> {
    /// use sendmux_client::logs::MetricsWindow;
    /// let week = e.metrics().window(MetricsWindow::X7d).await?;
    /// # Ok(()) }
    /// ```
    pub fn metrics(&self) -> GetEmailMetrics {
        self.client
            .request(ops::MANAGEMENT_GET_EMAIL_METRICS, &[], data)
    }
}

/// Handle on the received-mail logs; get one from [`Client::inbox_logs`].
///
/// ```no_run
/// # async fn run(client: sendmux_client::Client) -> Result<(), sendmux_client::Error> {
/// let page = client.inbox_logs().list().mailbox_id("mbx_123").await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct InboxLogs {
    client: Client,
}

impl InboxLogs {
    pub(crate) fn new(client: Client) -> Self {
        Self { client }
    }

    /// Received messages, newest first (`GET /inboxes/logs`).
    /// ```no_run
    /// # async fn f(i: sendmux_client::logs::InboxLogs) -> Result<(), sendmux_client::Error> {
    /// use sendmux_client::logs::InboxEventType;
    /// let spam = i.list().event_type(InboxEventType::MessageReceivedSpam).await?;
    /// # Ok(()) }
    /// ```
    pub fn list(&self) -> ListInboxLogs {
        self.client
            .request(ops::MANAGEMENT_LIST_INBOX_LOGS, &[], page)
    }

    /// One received message (`GET /inboxes/logs/{id}`).
    /// ```no_run
    /// # async fn f(i: sendmux_client::logs::InboxLogs) -> Result<(), sendmux_client::Error> {
    /// let log = i.get("ilog_123").await?;
    /// # Ok(()) }
    /// ```
    pub fn get(&self, id: impl AsRef<str>) -> GetInboxLog {
        self.client
            .request(ops::MANAGEMENT_GET_INBOX_LOG, &[("id", id.as_ref())], data)
    }
}

/// Sets a free-text query parameter, refusing an empty one.
fn text<T>(request: Request<T>, name: &'static str, value: impl Into<String>) -> Request<T> {
    let value = value.into();
    let checked = validate::not_empty(name, value.as_bytes());
    request.check(checked).query(name, value)
}

impl ListEmailLogs {
    /// Only deliveries in this state.
    pub fn status(self, status: DeliveryStatus) -> Self {
        self.param("status", status)
    }

    /// From this date or time on (`2026-11-01` or RFC 3339).
    pub fn from_date(self, date: impl Into<String>) -> Self {
        text(self, "from_date", date)
    }

    /// Up to this date (the whole UTC day) or time.
    pub fn to_date(self, date: impl Into<String>) -> Self {
        text(self, "to_date", date)
    }

    /// Only deliveries through this sending account (`dprov_...`).
    pub fn provider_id(self, id: impl Into<String>) -> Self {
        text(self, "provider_id", id)
    }

    /// Free text matched against addresses, subject and message id.
    pub fn search(self, words: impl Into<String>) -> Self {
        text(self, "search", words)
    }
}

impl GetEmailMetrics {
    /// A preset window (the last 24 hours when neither it nor dates are set).
    pub fn window(self, window: MetricsWindow) -> Self {
        self.param("window", window)
    }

    /// Start of an explicit range (`2026-11-01` or RFC 3339).
    pub fn from_date(self, date: impl Into<String>) -> Self {
        text(self, "from_date", date)
    }

    /// End of an explicit range.
    pub fn to_date(self, date: impl Into<String>) -> Self {
        text(self, "to_date", date)
    }

    /// Hourly or daily points in the time series.
    pub fn granularity(self, granularity: MetricsGranularity) -> Self {
        self.param("granularity", granularity)
    }

    /// Only this sending account (`dprov_...`).
    pub fn provider_id(self, id: impl Into<String>) -> Self {
        text(self, "provider_id", id)
    }
}

impl ListInboxLogs {
    /// Only messages of this mailbox (`mbx_...`).
    pub fn mailbox_id(self, id: impl Into<String>) -> Self {
        text(self, "mailbox_id", id)
    }

    /// Only this kind of event (received, or received as spam).
    pub fn event_type(self, event_type: InboxEventType) -> Self {
        self.param("event_type", event_type)
    }

    /// From this date or time on (`2026-11-01` or RFC 3339).
    pub fn from_date(self, date: impl Into<String>) -> Self {
        text(self, "from_date", date)
    }

    /// Up to this date or time.
    pub fn to_date(self, date: impl Into<String>) -> Self {
        text(self, "to_date", date)
    }

    /// Free text to look for.
    pub fn search(self, words: impl Into<String>) -> Self {
        text(self, "search", words)
    }
}
