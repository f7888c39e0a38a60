//! Handlers of the three Billing operations over a seeded credit ledger.
//!
//! A team's ledger is made on its first billing request, from the server
//! seed and the team id alone: about forty transactions of every published
//! type over the last hundred days, each with the balance before and
//! after. The balance and the spend summary are computed from that ledger,
//! so they always agree with what the transaction list returns:
//! `balance_purchased` is the sum of the positive amounts, `balance_consumed`
//! that of the negative ones, and the summary sums the same over its
//! `days`.
//!
//! The Sending API pays from the same ledger: every accepted message costs
//! [`MESSAGE_PRICE`] (one credit), booked as a `USAGE` entry, and a send
//! the balance cannot pay for is refused with `402 insufficient_credits`
//! ([`charge`]). A server built with a number of starting credits gives
//! every team's ledger a closing `ADJUSTMENT` that leaves exactly that
//! many credits; [`set_credits`] does the same for one team later.

use std::collections::{HashMap, HashSet};

use http::StatusCode;
use sendmux_operations::{Operation, ops};
use serde::{Serialize, Serializer};

use super::{Ctx, Handler, Resources};
use crate::api::{ApiError, Out};
use crate::clock::rfc3339;
use crate::collection::Collection;
use crate::ids::{self, Rng};

/// The operations this module implements.
pub(crate) const HANDLERS: &[(&Operation, Handler)] = &[
    (ops::MANAGEMENT_LIST_BALANCE, balance),
    (ops::MANAGEMENT_GET_SPEND_SUMMARY, summary),
    (ops::MANAGEMENT_LIST_TRANSACTIONS, list),
];

/// Page size of the transaction list when `limit` is omitted.
const DEFAULT_LIMIT: usize = 25;
/// Transactions in a seeded ledger.
const SEEDED: u64 = 40;
/// The seeded ledger spans this many days before the first request.
const SPAN_DAYS: u64 = 100;
const DAY_MS: u64 = 86_400_000;
/// Price of one sent message in the seeded usage, in micro-dollars.
const UNIT_PRICE: i64 = 400;

/// Price of one message the Sending API accepts, in micro-dollars
/// ($0.000400): one credit. The seeded usage is priced the same.
pub(crate) const MESSAGE_PRICE: i64 = UNIT_PRICE;

/// Micro-dollars as the API writes money: a decimal string with six
/// places (`-0.250000`).
pub(crate) fn usd(micros: i64) -> String {
    let sign = if micros < 0 { "-" } else { "" };
    let abs = micros.unsigned_abs();
    format!("{sign}{}.{:06}", abs / 1_000_000, abs % 1_000_000)
}

/// `PURCHASE`, `USAGE`, `AUTO_TOPUP`, `REFUND`, `ADJUSTMENT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum Kind {
    Purchase,
    Usage,
    AutoTopup,
    Refund,
    Adjustment,
}

impl Kind {
    const ALL: [Self; 5] = [
        Self::Purchase,
        Self::Usage,
        Self::AutoTopup,
        Self::Refund,
        Self::Adjustment,
    ];

    fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Purchase => "PURCHASE",
            Self::Usage => "USAGE",
            Self::AutoTopup => "AUTO_TOPUP",
            Self::Refund => "REFUND",
            Self::Adjustment => "ADJUSTMENT",
        }
    }
}

/// One ledger entry; amounts in micro-dollars.
pub(crate) struct Transaction {
    id: String,
    kind: Kind,
    amount: i64,
    description: String,
    quantity: Option<u64>,
    balance_before: i64,
    balance_after: i64,
    created_at_ms: u64,
}

/// Wire shape of `Transaction`.
#[derive(Serialize)]
struct TransactionView<'a> {
    id: &'a str,
    amount: String,
    #[serde(rename = "type")]
    kind: Kind,
    description: &'a str,
    quantity: Option<u64>,
    balance_before: Option<String>,
    balance_after: Option<String>,
    created_at: String,
}

impl Serialize for Transaction {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        TransactionView {
            id: &self.id,
            amount: usd(self.amount),
            kind: self.kind,
            description: &self.description,
            quantity: self.quantity,
            balance_before: Some(usd(self.balance_before)),
            balance_after: Some(usd(self.balance_after)),
            created_at: rfc3339(self.created_at_ms),
        }
        .serialize(serializer)
    }
}

/// The ledgers, and which teams have theirs already.
pub(crate) struct Billing {
    /// Entries are only added, through [`Billing::add`], which keeps
    /// `balances` in step.
    transactions: Collection<Transaction>,
    /// Each team's balance: the sum of its ledger's amounts, kept as
    /// entries are added so a send need not add up the whole ledger.
    balances: HashMap<String, i64>,
    seeded: HashSet<String>,
    /// Credits every team's ledger leaves once seeded, when set
    /// (`MockServerBuilder::sending_credits`); else the seeded balance.
    pub(crate) starting_credits: Option<u64>,
}

impl Billing {
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            transactions: Collection::new("tx_", "transaction", seed),
            balances: HashMap::new(),
            seeded: HashSet::new(),
            starting_credits: None,
        }
    }

    /// Adds `tx` to `team`'s ledger under its own id, and its amount to
    /// the team's balance; nothing when the id is taken.
    fn add(&mut self, team: &str, tx: Transaction) {
        let amount = tx.amount;
        if self.transactions.insert_with_id(team, tx.id.clone(), tx) {
            *self.balances.entry(team.to_owned()).or_default() += amount;
        }
    }

    /// `team`'s balance: everything booked so far.
    fn balance(&self, team: &str) -> i64 {
        self.balances.get(team).copied().unwrap_or(0)
    }
}

/// The seed of `team`'s transaction ids.
fn id_seed(seed: u64, team: &str) -> u64 {
    ids::hash_bytes(seed, format!("tx/{team}").as_bytes())
}

/// Appends an entry of `kind` for `amount` to `team`'s (seeded) ledger at
/// `now`, after every other entry, with the balances before and after.
fn book(
    store: &mut Resources,
    seed: u64,
    team: &str,
    now: u64,
    entry: (Kind, i64, Option<u64>, String),
) {
    let (kind, amount, quantity, description) = entry;
    let before = team_balance(store, team);
    let n = u64::try_from(store.billing.transactions.team_len(team)).unwrap_or(u64::MAX);
    let tx = Transaction {
        id: ids::public_id("tx_", id_seed(seed, team), n),
        kind,
        amount,
        description,
        quantity,
        balance_before: before,
        balance_after: before + amount,
        created_at_ms: now - now % 1000,
    };
    store.billing.add(team, tx);
}

/// `team`'s balance: everything booked so far.
fn team_balance(store: &Resources, team: &str) -> i64 {
    store.billing.balance(team)
}

/// Books an `ADJUSTMENT` that leaves `team` exactly `credits` messages'
/// worth of balance (nothing when it already has that).
fn adjust_to(store: &mut Resources, seed: u64, team: &str, now: u64, credits: u64) {
    let target = i64::try_from(credits)
        .unwrap_or(i64::MAX)
        .saturating_mul(MESSAGE_PRICE);
    let diff = target - team_balance(store, team);
    if diff != 0 {
        let text = format!("Balance set to {credits} sending credits");
        book(store, seed, team, now, (Kind::Adjustment, diff, None, text));
    }
}

/// Sets `team`'s balance to `credits` messages' worth now, with an
/// `ADJUSTMENT` entry (its ledger is seeded first if need be).
pub(crate) fn set_credits(store: &mut Resources, seed: u64, team: &str, now: u64, credits: u64) {
    ensure_seeded(store, seed, team, now);
    adjust_to(store, seed, team, now, credits);
}

/// Pays for `messages` accepted messages from `team`'s balance with one
/// `USAGE` entry, or refuses with `402 insufficient_credits` (booking
/// nothing) when the balance does not cover them all.
pub(crate) fn charge(
    store: &mut Resources,
    seed: u64,
    team: &str,
    now: u64,
    messages: u64,
) -> Result<(), ApiError> {
    ensure_seeded(store, seed, team, now);
    let cost = i64::try_from(messages)
        .unwrap_or(i64::MAX)
        .saturating_mul(MESSAGE_PRICE);
    let balance = team_balance(store, team);
    if balance < cost {
        return Err(ApiError::new(
            StatusCode::PAYMENT_REQUIRED,
            "insufficient_credits",
            format!(
                "the balance of {} USD does not cover {messages} message{} at {} USD each; \
                 add credits and send again",
                usd(balance),
                if messages == 1 { "" } else { "s" },
                usd(MESSAGE_PRICE)
            ),
        ));
    }
    let text = format!(
        "Sending API: {messages} message{}",
        if messages == 1 { "" } else { "s" }
    );
    book(
        store,
        seed,
        team,
        now,
        (Kind::Usage, -cost, Some(messages), text),
    );
    Ok(())
}

/// Makes `team`'s ledger on first use: entries oldest first (so the
/// collection's newest-first order is time order), ending before `now`.
fn ensure_seeded(store: &mut Resources, seed: u64, team: &str, now: u64) {
    let billing = &mut store.billing;
    if !billing.seeded.insert(team.to_owned()) {
        return;
    }
    let mut rng = Rng::new(seed, &format!("billing/{team}"));
    let id_seed = id_seed(seed, team);
    // Whole seconds, as the API's timestamps have no fractions.
    let end = now - now % 1000;
    let start = end.saturating_sub(SPAN_DAYS * DAY_MS);
    let step = (end - start) / SEEDED;
    let mut balance: i64 = 0;
    for i in 0..SEEDED {
        let offset = rng.below(step.max(1));
        let at = start + i * step + offset;
        let at = at - at % 1000;
        let (kind, amount, quantity, description) = match draw(&mut rng, i) {
            // Spending more than is left becomes the top-up that pays it.
            drawn if balance + drawn.1 < 0 => topup(),
            drawn => drawn,
        };
        let before = balance;
        balance += amount;
        let tx = Transaction {
            id: ids::public_id("tx_", id_seed, i),
            kind,
            amount,
            description,
            quantity,
            balance_before: before,
            balance_after: balance,
            created_at_ms: at,
        };
        billing.add(team, tx);
    }
    if let Some(credits) = billing.starting_credits {
        adjust_to(store, seed, team, end, credits);
    }
}

/// One seeded entry: the first is a purchase, usage dominates.
fn draw(rng: &mut Rng, i: u64) -> (Kind, i64, Option<u64>, String) {
    let roll = if i == 0 { 0 } else { rng.below(100) };
    match roll {
        0..=7 => {
            let amount = *rng.pick(&[25, 50, 100]).unwrap_or(&50) * 1_000_000;
            (Kind::Purchase, amount, None, "Credit purchase".to_owned())
        }
        8..=17 => topup(),
        18..=23 => {
            let amount = i64::try_from(rng.below(5) + 1).unwrap_or(1) * 1_000_000;
            let text = "Refund for messages the provider did not deliver";
            (Kind::Refund, amount, None, text.to_owned())
        }
        24..=29 => {
            let cents = i64::try_from(rng.below(400)).unwrap_or(0) - 200;
            let amount = if cents == 0 { 10_000 } else { cents * 10_000 };
            (
                Kind::Adjustment,
                amount,
                None,
                "Account adjustment".to_owned(),
            )
        }
        _ => {
            let quantity = rng.below(5_000) + 50;
            let amount = -i64::try_from(quantity).unwrap_or(0) * UNIT_PRICE;
            let text = format!("Email sending: {quantity} messages");
            (Kind::Usage, amount, Some(quantity), text)
        }
    }
}

fn topup() -> (Kind, i64, Option<u64>, String) {
    let text = "Automatic top-up below the threshold";
    (Kind::AutoTopup, 20_000_000, None, text.to_owned())
}

/// Sum of the team's positive and negative amounts since `since` (ms),
/// with the number of entries.
fn totals(store: &Resources, team: &str, since: u64) -> (i64, i64, usize) {
    store
        .billing
        .transactions
        .iter_team(team)
        .filter(|t| t.created_at_ms >= since)
        .fold((0, 0, 0), |(plus, minus, n), t| {
            if t.amount >= 0 {
                (plus + t.amount, minus, n + 1)
            } else {
                (plus, minus - t.amount, n + 1)
            }
        })
}

#[derive(Serialize)]
struct Balance {
    balance: String,
    balance_purchased: String,
    balance_consumed: String,
    currency: &'static str,
    auto_topup: AutoTopup,
}

#[derive(Serialize)]
struct AutoTopup {
    enabled: bool,
    threshold: Option<String>,
    amount: Option<String>,
    monthly_limit: Option<String>,
    monthly_used: String,
}

fn balance(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let now = ctx.app.clock.unix_millis();
    let mut store = ctx.store();
    ensure_seeded(&mut store, ctx.seed(), ctx.team, now);
    let (purchased, consumed, _) = totals(&store, ctx.team, 0);
    let month = now.saturating_sub(30 * DAY_MS);
    let topped_up: i64 = store
        .billing
        .transactions
        .iter_team(ctx.team)
        .filter(|t| t.kind == Kind::AutoTopup && t.created_at_ms >= month)
        .map(|t| t.amount)
        .sum();
    Ok(ctx.ok(Balance {
        balance: usd(purchased - consumed),
        balance_purchased: usd(purchased),
        balance_consumed: usd(consumed),
        currency: "USD",
        auto_topup: AutoTopup {
            enabled: true,
            threshold: Some(usd(10_000_000)),
            amount: Some(usd(20_000_000)),
            monthly_limit: Some(usd(200_000_000)),
            monthly_used: usd(topped_up),
        },
    }))
}

#[derive(Serialize)]
struct SpendSummary {
    period_days: u64,
    total_purchased: String,
    total_consumed: String,
    transaction_count: usize,
    currency: &'static str,
}

fn summary(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let days = match ctx.query("days").as_deref() {
        None => 30,
        Some("7") => 7,
        Some("30") => 30,
        Some("90") => 90,
        Some(_) => {
            return Err(ApiError::invalid_parameter("days must be 7, 30 or 90").with_param("days"));
        }
    };
    let now = ctx.app.clock.unix_millis();
    let mut store = ctx.store();
    ensure_seeded(&mut store, ctx.seed(), ctx.team, now);
    let since = now.saturating_sub(days * DAY_MS);
    let (purchased, consumed, count) = totals(&store, ctx.team, since);
    Ok(ctx.ok(SpendSummary {
        period_days: days,
        total_purchased: usd(purchased),
        total_consumed: usd(consumed),
        transaction_count: count,
        currency: "USD",
    }))
}

fn list(ctx: Ctx<'_>) -> Result<Out, ApiError> {
    let kind = match ctx.query("type") {
        None => None,
        Some(t) => Some(Kind::parse(&t).ok_or_else(|| {
            ApiError::invalid_parameter(
                "type must be PURCHASE, USAGE, AUTO_TOPUP, REFUND or ADJUSTMENT",
            )
            .with_param("type")
        })?),
    };
    let now = ctx.app.clock.unix_millis();
    let mut store = ctx.store();
    ensure_seeded(&mut store, ctx.seed(), ctx.team, now);
    let page = store.billing.transactions.page_where(
        ctx.team,
        ctx.parts.uri.query(),
        DEFAULT_LIMIT,
        |t| kind.is_none_or(|k| t.kind == k),
    )?;
    Ok(ctx.page(&page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_has_six_places_and_a_sign() {
        assert_eq!(usd(0), "0.000000");
        assert_eq!(usd(1_500_000), "1.500000");
        assert_eq!(usd(-250_000), "-0.250000");
        assert_eq!(usd(-20), "-0.000020");
    }

    #[test]
    fn a_seeded_ledger_is_consistent_and_never_overdrawn() {
        let mut store = Resources::new(3);
        ensure_seeded(&mut store, 3, "team_a", 1_767_225_600_000);
        // A second call adds nothing.
        ensure_seeded(&mut store, 3, "team_a", 1_767_225_600_000);
        let txs: Vec<&Transaction> = store.billing.transactions.iter_team("team_a").collect();
        assert_eq!(txs.len(), 40);
        let mut kinds = HashSet::new();
        // Newest first: each entry starts from where the older one ended.
        for pair in txs.windows(2) {
            let (newer, older) = (pair[0], pair[1]);
            assert!(newer.created_at_ms >= older.created_at_ms);
            assert_eq!(newer.balance_before, older.balance_after);
        }
        for t in &txs {
            assert_eq!(t.balance_after, t.balance_before + t.amount);
            assert!(t.balance_after >= 0, "{}", t.description);
            assert_eq!(t.quantity.is_some(), t.kind == Kind::Usage);
            kinds.insert(t.kind.as_str());
        }
        assert!(kinds.len() >= 4, "{kinds:?}");
        let (plus, minus, n) = totals(&store, "team_a", 0);
        assert_eq!(n, 40);
        assert_eq!(plus - minus, txs[0].balance_after);
    }

    /// The sum of `team`'s ledger, the long way.
    fn ledger_sum(store: &Resources, team: &str) -> i64 {
        store
            .billing
            .transactions
            .iter_team(team)
            .map(|t| t.amount)
            .sum()
    }

    #[test]
    fn the_kept_balance_is_the_sum_of_the_ledger_after_every_kind_of_entry() {
        let now = 1_767_225_600_000;
        let mut store = Resources::new(5);
        store.billing.starting_credits = Some(3);
        for team in ["team_a", "team_b"] {
            ensure_seeded(&mut store, 5, team, now);
            assert_eq!(team_balance(&store, team), 3 * MESSAGE_PRICE);
        }
        assert!(charge(&mut store, 5, "team_a", now, 2).is_ok());
        // Refused: books nothing.
        let refused = charge(&mut store, 5, "team_a", now, 2).err();
        assert_eq!(
            refused.map(|e| e.status().as_u16()),
            Some(402),
            "one credit left"
        );
        assert!(charge(&mut store, 5, "team_a", now + 1000, 1).is_ok());
        set_credits(&mut store, 5, "team_b", now, 10);
        assert!(charge(&mut store, 5, "team_b", now, 4).is_ok());
        // A team seen first by a charge is seeded by it.
        assert!(charge(&mut store, 5, "team_c", now, 1).is_ok());
        for (team, credits) in [("team_a", 0), ("team_b", 6), ("team_c", 2)] {
            assert_eq!(
                team_balance(&store, team),
                ledger_sum(&store, team),
                "{team}"
            );
            assert_eq!(
                team_balance(&store, team),
                credits * MESSAGE_PRICE,
                "{team}"
            );
            let newest = store.billing.transactions.iter_team(team).next();
            assert_eq!(
                newest.map(|t| t.balance_after),
                Some(team_balance(&store, team))
            );
        }
        assert_eq!(team_balance(&store, "team_unseen"), 0);
    }
}
