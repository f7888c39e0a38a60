//! The Billing resource: `client.billing()`: the credit balance, a spend
//! summary and the transaction history.

use sendmux_api::types as wire;
use sendmux_operations::ops;

use crate::Client;
use crate::request::{Request, data, page};
use crate::response::{Page, Response};

pub use wire::{GetSpendSummaryDays as SpendWindow, TransactionType};

/// The credit balance and auto top-up settings (the generated model).
pub type Balance = wire::Balance;
/// Spending over recent days (the generated model).
pub type SpendSummary = wire::SpendSummary;
/// One credit transaction (the generated model).
pub type Transaction = wire::Transaction;

/// [`Billing::balance`].
pub type GetBalance = Request<Response<Balance>>;
/// [`Billing::spend_summary`]: pick the [`days`](GetSpendSummary::days), then await.
pub type GetSpendSummary = Request<Response<SpendSummary>>;
/// [`Billing::transactions`]: one page, or [`stream`](Request::stream) every item.
pub type ListTransactions = Request<Response<Page<Transaction>>>;

/// Handle on the Billing operations; get one from [`Client::billing`].
///
/// ```no_run
/// # async fn run(client: sendmux_client::Client) -> Result<(), sendmux_client::Error> {
/// let balance = client.billing().balance().await?;
/// println!("{} {}", balance.balance, balance.currency);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Billing {
    client: Client,
}

impl Billing {
    pub(crate) fn new(client: Client) -> Self {
        Self { client }
    }

    /// The team's credit balance (`GET /billing/balance`).
    /// ```no_run
    /// # async fn f(b: sendmux_client::Billing) -> Result<(), sendmux_client::Error> {
    /// let left = b.balance().await?.balance.clone();
    /// # Ok(()) }
    /// ```
    pub fn balance(&self) -> GetBalance {
        self.client.request(ops::MANAGEMENT_LIST_BALANCE, &[], data)
    }

    /// Credits bought and used over the last 7, 30 or 90 days
    /// (`GET /billing/summary`).
    /// ```no_run
    /// # async fn f(b: sendmux_client::Billing) -> Result<(), sendmux_client::Error> {
    /// use sendmux_client::billing::SpendWindow;
    /// let month = b.spend_summary().days(SpendWindow::X30).await?;
    /// # Ok(()) }
    /// ```
    pub fn spend_summary(&self) -> GetSpendSummary {
        self.client
            .request(ops::MANAGEMENT_GET_SPEND_SUMMARY, &[], data)
    }

    /// Credit transactions, newest first (`GET /billing/transactions`),
    /// optionally of one [`kind`](ListTransactions::kind).
    /// ```no_run
    /// # async fn f(b: sendmux_client::Billing) -> Result<(), sendmux_client::Error> {
    /// use futures::TryStreamExt;
    /// use sendmux_client::billing::TransactionType;
    /// let refunds: Vec<_> = b.transactions().kind(TransactionType::Refund).stream().try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn transactions(&self) -> ListTransactions {
        self.client
            .request(ops::MANAGEMENT_LIST_TRANSACTIONS, &[], page)
    }
}

impl GetSpendSummary {
    /// How many days back to sum (the server's default applies otherwise).
    pub fn days(self, days: SpendWindow) -> Self {
        self.param("days", days)
    }
}

impl ListTransactions {
    /// Only transactions of this kind (`type`).
    pub fn kind(self, kind: TransactionType) -> Self {
        self.param("type", kind)
    }
}
