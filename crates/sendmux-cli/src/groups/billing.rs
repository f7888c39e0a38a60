//! `sendmux billing`: the credit balance, recent spend and transactions.

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Subcommand, ValueEnum};
use sendmux_client::Client;
use sendmux_client::billing::{SpendWindow, TransactionType};

use super::ListArgs;
use crate::args::OutputFormat;
use crate::failure::Failure;
use crate::records::{Column, col, detail};

#[derive(Debug, Subcommand)]
pub(crate) enum BillingCommand {
    /// Show the credit balance and the auto top-up settings.
    #[command(
        after_help = "Examples:\n  sendmux billing balance\n  sendmux billing balance --jq .balance"
    )]
    Balance,
    /// Sum up spending over the last days.
    #[command(
        after_help = "Examples:\n  sendmux billing spend\n  sendmux billing spend --days 90 -o yaml"
    )]
    Spend {
        /// How many days back: 7, 30 or 90.
        #[arg(long, value_parser = spend_window())]
        days: Option<SpendWindow>,
    },
    /// List credit transactions, newest first.
    #[command(
        after_help = "Examples:\n  sendmux billing transactions\n  sendmux billing transactions --type purchase --all -o jsonl"
    )]
    Transactions {
        /// Only transactions of this type.
        #[arg(long = "type", value_enum)]
        kind: Option<TypeArg>,
        #[command(flatten)]
        page: ListArgs,
    },
}

/// `--type` of `transactions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum TypeArg {
    /// Credits bought.
    Purchase,
    /// Credits used.
    Usage,
    /// Credits bought by auto top-up.
    AutoTopup,
    /// Credits given back.
    Refund,
    /// Manual corrections.
    Adjustment,
}

fn spend_window() -> impl TypedValueParser<Value = SpendWindow> {
    PossibleValuesParser::new(["7", "30", "90"]).map(|days| match days.as_str() {
        "7" => SpendWindow::X7,
        "30" => SpendWindow::X30,
        _ => SpendWindow::X90,
    })
}

const BALANCE: &[Column] = &[
    col("Balance", "/balance"),
    col("Currency", "/currency"),
    col("Purchased", "/balance_purchased"),
    col("Consumed", "/balance_consumed"),
    col("Auto top-up", "/auto_topup/enabled"),
    col("Top-up amount", "/auto_topup/amount"),
    col("Top-up below", "/auto_topup/threshold"),
    col("Monthly top-up limit", "/auto_topup/monthly_limit"),
    col("Topped up this month", "/auto_topup/monthly_used"),
];

const SPEND: &[Column] = &[
    col("Days", "/period_days"),
    col("Consumed", "/total_consumed"),
    col("Purchased", "/total_purchased"),
    col("Transactions", "/transaction_count"),
    col("Currency", "/currency"),
];

const TRANSACTIONS: &[Column] = &[
    col("ID", "/id"),
    col("TYPE", "/type"),
    col("AMOUNT", "/amount"),
    col("BALANCE AFTER", "/balance_after"),
    col("DESCRIPTION", "/description"),
    col("CREATED", "/created_at"),
];

/// Runs `sendmux billing ...`.
pub(crate) async fn run(
    client: &Client,
    command: BillingCommand,
    format: OutputFormat,
) -> Result<(), Failure> {
    let billing = client.billing();
    match command {
        BillingCommand::Balance => {
            let balance = billing.balance().send().await?;
            detail(format, balance.value(), BALANCE, None)
        }
        BillingCommand::Spend { days } => {
            let mut request = billing.spend_summary();
            if let Some(days) = days {
                request = request.days(days);
            }
            let summary = request.send().await?;
            detail(format, summary.value(), SPEND, None)
        }
        BillingCommand::Transactions { kind, page } => {
            let mut request = billing.transactions();
            if let Some(kind) = kind {
                request = request.kind(match kind {
                    TypeArg::Purchase => TransactionType::Purchase,
                    TypeArg::Usage => TransactionType::Usage,
                    TypeArg::AutoTopup => TransactionType::AutoTopup,
                    TypeArg::Refund => TransactionType::Refund,
                    TypeArg::Adjustment => TransactionType::Adjustment,
                });
            }
            super::list(format, request, page, TRANSACTIONS, "No transactions.").await
        }
    }
}
