//! The JSON-shaped pure operations behind the browser module and the server's views:
//! `allocate`, `balances` and `settlement_plan`, taking and giving the shapes of the HTTP API
//! (amounts as decimal strings). The wasm crate only converts JS values to and from these.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::balance::Totals;
use crate::error::{FieldError, ValidationErrors};
use crate::exchange::{self, Rate};
use crate::money::{Currency, Minor, Money, MoneyError, PlainDecimal};
use crate::settle;
use crate::split::ExpenseKind;
use crate::split::{self, MemberKey, PayerInput, Payment, Portion, SplitInput, SplitRequest};

mod sums;
use sums::LedgerSums;

/// An expense input as the API takes it, plus `id` (seeds the tie-break) and `members` (the
/// group's members in join order). Other expense fields (description, ...) are ignored.
#[derive(Debug, Clone, Deserialize)]
pub struct AllocateInput {
    /// The expense id, any string.
    pub id: String,
    /// `expense` (the default) or `income`: accepted, and allocated the same way (only the
    /// balances' signs differ).
    #[serde(default)]
    pub kind: ExpenseKind,
    /// The group's member ids in join order.
    pub members: Vec<String>,
    /// The amount, a decimal string.
    pub amount: String,
    /// The ISO 4217 code (required here: there is no group to default to).
    #[serde(default)]
    pub currency: Option<String>,
    /// The one payer, or
    #[serde(default)]
    pub paid_by: Option<String>,
    /// several payers.
    #[serde(default)]
    pub payers: Option<Vec<PayerInput<String>>>,
    /// How it is split.
    pub split: SplitInput<String>,
    /// Paid in `currency`, booked in `group_currency` at this rate (units of the group's
    /// currency per unit of `currency`), as the server books it.
    #[serde(default)]
    pub exchange_rate: Option<String>,
    /// The group's currency: required with `exchange_rate`.
    #[serde(default)]
    pub group_currency: Option<String>,
}

/// One member and an amount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmountEntry<K> {
    /// The member.
    pub user_id: K,
    /// A decimal string.
    pub amount: String,
}

/// What [`allocate`] returns: exactly what the server stores for that expense.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AllocateOutput<K> {
    /// Who paid how much (in the group's currency when booked with an exchange rate).
    pub payers: Vec<AmountEntry<K>>,
    /// Who owes how much (likewise).
    pub shares: Vec<AmountEntry<K>>,
    /// With an exchange rate: the amount in the group's currency, and what was entered.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub booked: Option<Booked<K>>,
}

/// An allocation booked in the group's currency, with what was entered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Booked<K> {
    /// The converted amount.
    pub amount: String,
    /// The group's currency.
    pub currency: Currency,
    /// What was entered: `{amount, currency, exchange_rate, payers, shares}`.
    pub original: OriginalView<K>,
}

/// What was entered for an expense booked from another currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OriginalView<K> {
    /// The amount as entered.
    pub amount: String,
    /// Its currency.
    pub currency: Currency,
    /// The rate, as entered.
    pub exchange_rate: Rate,
    /// Who paid how much, in `currency`.
    pub payers: Vec<AmountEntry<K>>,
    /// Who owes how much, in `currency`.
    pub shares: Vec<AmountEntry<K>>,
}

/// Parses a currency code as a request field.
pub fn currency_field(code: Option<&str>, field: &str) -> Result<Currency, ValidationErrors> {
    let code = code
        .ok_or_else(|| ValidationErrors::one(field, "required", "a currency code is required"))?;
    Currency::parse(code).map_err(|e| e.at(field).into())
}

/// Formats portions as API entries.
pub fn entries<K: MemberKey>(currency: Currency, portions: &[Portion<K>]) -> Vec<AmountEntry<K>> {
    portions
        .iter()
        .map(|p| AmountEntry {
            user_id: p.user_id.clone(),
            amount: currency.format(p.amount.get()),
        })
        .collect()
}

/// Computes an expense's allocation from its API input.
pub fn allocate(input: &AllocateInput) -> Result<AllocateOutput<String>, ValidationErrors> {
    let currency = currency_field(input.currency.as_deref(), "currency")?;
    let payment = Payment::from_fields(input.paid_by.clone(), input.payers.clone())?;
    let allocation = split::allocate(&SplitRequest {
        seed: &input.id,
        amount: &input.amount,
        currency,
        payment: &payment,
        split: &input.split,
        members: &input.members,
    })?;
    let Some(rate) = input.exchange_rate.as_deref() else {
        return Ok(AllocateOutput {
            payers: entries(currency, &allocation.payers),
            shares: entries(currency, &allocation.shares),
            booked: None,
        });
    };
    let group_currency = currency_field(input.group_currency.as_deref(), "group_currency")?;
    if group_currency == currency {
        return Err(ValidationErrors::one(
            "exchange_rate",
            "exchange_rate_same_currency",
            "an exchange rate books an expense paid in another currency than the group's",
        ));
    }
    let rate = Rate::parse(rate).map_err(|e| e.at("exchange_rate"))?;
    let booked = exchange::book(&input.id, &allocation, group_currency, rate)?;
    Ok(AllocateOutput {
        payers: entries(group_currency, &booked.payers),
        shares: entries(group_currency, &booked.shares),
        booked: Some(Booked {
            amount: group_currency.format(booked.amount.get()),
            currency: group_currency,
            original: OriginalView {
                amount: currency.format(allocation.amount.get()),
                currency,
                exchange_rate: rate,
                payers: entries(currency, &allocation.payers),
                shares: entries(currency, &allocation.shares),
            },
        }),
    })
}

/// A stored expense's money, as the browser holds it.
#[derive(Debug, Clone, Deserialize)]
pub struct LedgerExpense {
    /// `expense` (the default) or `income` (every balance sign reversed).
    #[serde(default)]
    pub kind: ExpenseKind,
    /// ISO 4217 code.
    pub currency: String,
    /// Who paid how much.
    pub payers: Vec<AmountEntry<String>>,
    /// Who owes how much.
    pub shares: Vec<AmountEntry<String>>,
}

/// A repayment, as the browser holds it.
#[derive(Debug, Clone, Deserialize)]
pub struct LedgerSettlement {
    /// Who repaid.
    pub from_user: String,
    /// Who was repaid.
    pub to_user: String,
    /// A decimal string.
    pub amount: String,
    /// ISO 4217 code.
    pub currency: String,
}

/// A group's history, as [`balances`] takes it.
#[derive(Debug, Clone, Deserialize)]
pub struct LedgerInput {
    /// Every expense.
    #[serde(default)]
    pub expenses: Vec<LedgerExpense>,
    /// Every repayment.
    #[serde(default)]
    pub settlements: Vec<LedgerSettlement>,
}

/// One member's balance in one currency, as `GET /groups/{id}/balances` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberBalance<K> {
    /// The member.
    pub user_id: K,
    /// The member's display name (the server fills it in; the browser has none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Paid for expenses.
    pub paid: Money,
    /// Owed as shares.
    pub owed: Money,
    /// Repaid to others.
    pub sent: Money,
    /// Repaid by others.
    pub received: Money,
    /// Moved into this currency (negative: out of it) by conversions of balances.
    pub converted: Money,
    /// `paid − owed + sent − received + converted`.
    pub net: Money,
}

/// Every member's balance in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CurrencyBalances<K> {
    /// The currency.
    pub currency: Currency,
    /// One entry per member, sorted by member id.
    pub members: Vec<MemberBalance<K>>,
}

/// A group's balances, one block per currency in code order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BalancesView<K> {
    /// One block per currency.
    pub balances: Vec<CurrencyBalances<K>>,
}

impl<K: MemberKey> BalancesView<K> {
    /// Builds the view from totals per currency and member (`members` sorted by id).
    pub fn from_totals(
        blocks: impl IntoIterator<Item = (Currency, Vec<(K, Totals)>)>,
    ) -> Result<Self, crate::balance::Overflow> {
        let mut balances = Vec::new();
        for (currency, members) in blocks {
            let mut out = Vec::with_capacity(members.len());
            for (user_id, t) in members {
                let m = |units| Money::new(units, currency);
                out.push(MemberBalance {
                    user_id,
                    display_name: None,
                    paid: m(t.paid),
                    owed: m(t.owed),
                    sent: m(t.sent),
                    received: m(t.received),
                    converted: m(t.converted),
                    net: Money::from_minor(t.net()?, currency),
                });
            }
            balances.push(CurrencyBalances {
                currency,
                members: out,
            });
        }
        Ok(Self { balances })
    }

    /// The settlement plan for these balances, every currency together.
    pub fn plan(&self) -> Result<PlanView<K>, settle::PlanError> {
        plan_nets(self.balances.iter().map(|block| {
            let nets = block
                .members
                .iter()
                .map(|m| (m.user_id.clone(), m.net.minor()))
                .collect();
            (block.currency, nets)
        }))
    }
}

/// Plans every currency's nets (one block per currency) into one view.
pub fn plan_nets<K: MemberKey>(
    blocks: impl IntoIterator<Item = (Currency, Vec<(K, i64)>)>,
) -> Result<PlanView<K>, settle::PlanError> {
    let mut transfers = Vec::new();
    let mut optimal = true;
    for (currency, nets) in blocks {
        let plan = settle::plan(&nets)?;
        optimal &= plan.optimal;
        transfers.extend(plan.transfers.into_iter().map(|t| TransferView {
            from: t.from,
            to: t.to,
            amount: Money::new(t.amount, currency),
            currency,
        }));
    }
    Ok(PlanView { transfers, optimal })
}

/// Computes balances from a history.
pub fn balances(input: &LedgerInput) -> Result<BalancesView<String>, ValidationErrors> {
    let mut sums = LedgerSums::new();
    add_ledger(&mut sums, input);
    sums_view(sums)
}

/// A history as JSON text holds it, borrowing every id and amount from the text (escaped
/// strings, rare, are copied): [`LedgerInput`] without an allocation per entry.
#[derive(Debug, Clone, Deserialize)]
pub struct LedgerText<'a> {
    /// Every expense.
    #[serde(borrow, default)]
    pub expenses: Vec<ExpenseText<'a>>,
    /// Every repayment.
    #[serde(borrow, default)]
    pub settlements: Vec<SettlementText<'a>>,
}

/// A stored expense's money, borrowed from JSON text (see [`LedgerExpense`]).
#[derive(Debug, Clone, Deserialize)]
pub struct ExpenseText<'a> {
    /// `expense` (the default) or `income`.
    #[serde(default)]
    pub kind: ExpenseKind,
    /// ISO 4217 code.
    #[serde(borrow)]
    pub currency: Cow<'a, str>,
    /// Who paid how much.
    #[serde(borrow)]
    pub payers: Vec<EntryText<'a>>,
    /// Who owes how much.
    #[serde(borrow)]
    pub shares: Vec<EntryText<'a>>,
}

/// One member and an amount, borrowed from JSON text.
#[derive(Debug, Clone, Deserialize)]
pub struct EntryText<'a> {
    /// The member.
    #[serde(borrow)]
    pub user_id: Cow<'a, str>,
    /// A decimal string.
    #[serde(borrow)]
    pub amount: Cow<'a, str>,
}

/// A repayment, borrowed from JSON text (see [`LedgerSettlement`]).
#[derive(Debug, Clone, Deserialize)]
pub struct SettlementText<'a> {
    /// Who repaid.
    #[serde(borrow)]
    pub from_user: Cow<'a, str>,
    /// Who was repaid.
    #[serde(borrow)]
    pub to_user: Cow<'a, str>,
    /// A decimal string.
    #[serde(borrow)]
    pub amount: Cow<'a, str>,
    /// ISO 4217 code.
    #[serde(borrow)]
    pub currency: Cow<'a, str>,
}

/// [`balances`] of a history parsed from JSON text: the same answer and the same refusals.
pub fn balances_of_text<'a>(
    input: &'a LedgerText<'_>,
) -> Result<BalancesView<String>, ValidationErrors> {
    let entries =
        |list: &'a [EntryText<'_>]| list.iter().map(|p| (p.user_id.as_ref(), p.amount.as_ref()));
    let mut sums = LedgerSums::new();
    for (i, e) in input.expenses.iter().enumerate() {
        sums.add_expense(
            i,
            e.kind,
            &e.currency,
            entries(&e.payers),
            entries(&e.shares),
        );
    }
    for (i, s) in input.settlements.iter().enumerate() {
        sums.add_settlement(i, &s.from_user, &s.to_user, &s.amount, &s.currency);
    }
    sums_view(sums)
}

/// One member's totals as `GET /groups/{id}/balances` (or [`balances`]) gives them, taken
/// back as a starting point. Every amount is a signed decimal string.
#[derive(Debug, Clone, Deserialize)]
pub struct MemberTotalsInput {
    /// The member.
    pub user_id: String,
    /// Paid for expenses.
    pub paid: String,
    /// Owed as shares.
    pub owed: String,
    /// Repaid to others.
    pub sent: String,
    /// Repaid by others.
    pub received: String,
    /// Moved into this currency by conversions of balances.
    pub converted: String,
    /// Checked against the other five: a starting point whose net does not follow from its
    /// totals is refused rather than silently recomputed.
    pub net: String,
}

/// One currency's totals, taken back as a starting point.
#[derive(Debug, Clone, Deserialize)]
pub struct CurrencyTotalsInput {
    /// ISO 4217 code.
    pub currency: String,
    /// One entry per member.
    pub members: Vec<MemberTotalsInput>,
}

/// Balances taken back as a starting point (the shape [`balances`] and the server return).
#[derive(Debug, Clone, Deserialize)]
pub struct StartingBalances {
    /// One block per currency.
    pub balances: Vec<CurrencyTotalsInput>,
}

/// Computes the balances that `start` (e.g. the server's current balances) becomes once the
/// entries of `more` (e.g. one draft expense) are added: the same answer as [`balances`] over
/// the whole history plus `more`, without the history.
///
/// Errors name their field under `balances[i]...` for the starting point and under
/// `expenses[i]...`/`settlements[i]...` for `more`.
pub fn balances_with(
    start: &StartingBalances,
    more: &LedgerInput,
) -> Result<BalancesView<String>, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    let mut deltas = Vec::new();
    for (i, block) in start.balances.iter().enumerate() {
        let currency = match Currency::parse(&block.currency) {
            Ok(c) => c,
            Err(e) => {
                errors.push(e.at(format!("balances[{i}].currency")));
                continue;
            }
        };
        let mut seen = std::collections::HashSet::new();
        for (j, m) in block.members.iter().enumerate() {
            let at = |name: &str| format!("balances[{i}].members[{j}].{name}");
            if !seen.insert(m.user_id.as_str()) {
                errors.push(FieldError::new(
                    at("user_id"),
                    "duplicate_member",
                    format!("{} is listed twice", m.user_id),
                ));
                continue;
            }
            let mut field = |name: &str, text: &str| match parse_net(currency, text) {
                Ok(v) => Some(Minor::new(v)),
                Err(e) => {
                    errors.push(net_error(&e, at(name)));
                    None
                }
            };
            let parsed = (
                field("paid", &m.paid),
                field("owed", &m.owed),
                field("sent", &m.sent),
                field("received", &m.received),
                field("converted", &m.converted),
                field("net", &m.net),
            );
            let (Some(paid), Some(owed), Some(sent), Some(received), Some(converted), Some(net)) =
                parsed
            else {
                continue;
            };
            let delta = Totals {
                paid,
                owed,
                sent,
                received,
                converted,
            };
            if delta.net().ok() != Some(net.get()) {
                errors.push(FieldError::new(
                    at("net"),
                    "net_mismatch",
                    "net must be paid − owed + sent − received + converted",
                ));
                continue;
            }
            deltas.push((currency, m.user_id.as_str(), delta));
        }
    }
    let mut sums = LedgerSums::new();
    sums.errors = errors;
    // The first total past the bound refuses the starting point as a whole.
    for (currency, member, delta) in &deltas {
        if sums.add_totals(*currency, member, delta).is_err() {
            sums.errors.push(sums::too_large("balances".into()));
            break;
        }
    }
    add_ledger(&mut sums, more);
    sums_view(sums)
}

/// Adds a history's expenses and settlements to `sums`.
fn add_ledger<'a>(sums: &mut LedgerSums<'a>, input: &'a LedgerInput) {
    let entries = |list: &'a [AmountEntry<String>]| {
        list.iter().map(|p| (p.user_id.as_str(), p.amount.as_str()))
    };
    for (i, e) in input.expenses.iter().enumerate() {
        sums.add_expense(
            i,
            e.kind,
            &e.currency,
            entries(&e.payers),
            entries(&e.shares),
        );
    }
    for (i, s) in input.settlements.iter().enumerate() {
        sums.add_settlement(i, &s.from_user, &s.to_user, &s.amount, &s.currency);
    }
}

/// The view of a filled history, members sorted by id, or every refused entry.
fn sums_view(sums: LedgerSums<'_>) -> Result<BalancesView<String>, ValidationErrors> {
    BalancesView::from_totals(sums.finish()?).map_err(|_| sums::too_large("balances".into()).into())
}

/// One transfer of a plan, as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransferView<K> {
    /// Who pays.
    pub from: K,
    /// Who is paid.
    pub to: K,
    /// How much.
    pub amount: Money,
    /// In which currency.
    pub currency: Currency,
}

/// A settlement plan, as `GET /groups/{id}/settlement-plan` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanView<K> {
    /// The transfers, by currency, then payer, then payee.
    pub transfers: Vec<TransferView<K>>,
    /// Whether the number of transfers is proven minimal.
    pub optimal: bool,
}

/// One member's balance as the browser passes it back (only `net` matters).
#[derive(Debug, Clone, Deserialize)]
pub struct NetInput {
    /// The member.
    pub user_id: String,
    /// The net, a signed decimal string.
    pub net: String,
}

/// One currency's balances as the browser passes them back.
#[derive(Debug, Clone, Deserialize)]
pub struct CurrencyNetsInput {
    /// ISO 4217 code.
    pub currency: String,
    /// One entry per member.
    pub members: Vec<NetInput>,
}

/// The output of [`balances`], as [`settlement_plan`] takes it back.
#[derive(Debug, Clone, Deserialize)]
pub struct BalancesInput {
    /// One block per currency.
    pub balances: Vec<CurrencyNetsInput>,
}

/// Plans the fewest transfers for balances given back by the browser.
pub fn settlement_plan(input: &BalancesInput) -> Result<PlanView<String>, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    let mut blocks = Vec::new();
    for (i, block) in input.balances.iter().enumerate() {
        let currency = match Currency::parse(&block.currency) {
            Ok(c) => c,
            Err(e) => {
                errors.push(e.at(format!("balances[{i}].currency")));
                continue;
            }
        };
        let mut members = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (j, m) in block.members.iter().enumerate() {
            if !seen.insert(m.user_id.as_str()) {
                errors.push(FieldError::new(
                    format!("balances[{i}].members[{j}].user_id"),
                    "duplicate_member",
                    format!("{} is listed twice", m.user_id),
                ));
                continue;
            }
            match parse_net(currency, &m.net) {
                Ok(v) => members.push((m.user_id.clone(), v)),
                Err(e) => errors.push(net_error(&e, format!("balances[{i}].members[{j}].net"))),
            }
        }
        if members.iter().map(|(_, v)| i128::from(*v)).sum::<i128>() != 0 {
            errors.push(FieldError::new(
                format!("balances[{i}]"),
                "nets_unbalanced",
                "the nets of a currency must add up to zero",
            ));
            continue;
        }
        blocks.push((currency, members));
    }
    errors.into_result()?;
    // Each block was checked to be balanced and free of repeated members above, so planning
    // cannot fail; should it, the answer still names the reason.
    plan_nets(blocks).map_err(|e| match e {
        settle::PlanError::Unbalanced => ValidationErrors::one(
            "balances",
            "nets_unbalanced",
            "the nets of a currency must add up to zero",
        ),
        settle::PlanError::TooLarge => net_error(&MoneyError::TooLarge, "balances".into()).into(),
    })
}

/// Parses a signed net as [`balances`] writes it (`"-12.34"`), exactly, into minor units.
///
/// A net is a sum of running totals and is not bound by the 10^12 limit of one amount: it
/// may be anything 64-bit minor units hold (about ±9.2 × 10^18), so every net `balances`
/// produces comes back. Exactly one leading `-` and digits on both sides of the point, as
/// for amounts: `"--1"`, `"- 1"`, `"+1"`, `"1e3"` and `".5"` are refused.
fn parse_net(currency: Currency, text: &str) -> Result<i64, MoneyError> {
    let value = PlainDecimal::parse(text).ok_or(MoneyError::Invalid)?;
    let units = currency.minor_units();
    if value.frac.len() > units as usize {
        return Err(MoneyError::TooPrecise { minor_units: units });
    }
    let magnitude = value.scaled(units).ok_or(MoneyError::TooLarge)?;
    let signed = if value.negative {
        -magnitude
    } else {
        magnitude
    };
    i64::try_from(signed).map_err(|_| MoneyError::TooLarge)
}

/// A net refused by [`parse_net`], as a field error with the code amounts use; a net too
/// large says its own bound rather than that of one amount.
fn net_error(error: &MoneyError, field: String) -> FieldError {
    match error {
        MoneyError::TooLarge => {
            FieldError::new(field, error.code(), "a net must fit in 64-bit minor units")
        }
        other => other.at(field),
    }
}
