//! Entries: everything that moves a balance, and the one function that says how.
//!
//! An entry is an expense or a settlement (income and conversions join as new variants).
//! [`Entry::effect`] is pure: it gives the entry's rows per member and currency (paid, owed,
//! sent, received) and its pairwise-debt changes. Running totals are the sum of the effects
//! of the entries that exist, so a store that writes, replaces or deletes an entry applies
//! `effect(new) − effect(old)` ([`Effect::change`]) with this same function, inside its own
//! transaction, against the row it locked. No caller ever hands a store a delta.

use uuid::Uuid;

use crate::balance::{
    Overflow, PairDelta, Totals, TotalsDelta, expense_pair_deltas, merge_pairs, merge_totals,
    pair_delta,
};
use crate::domain::{
    Conversion, ConversionRow, Expense, ExpenseKind, GroupId, Original, Settlement, UserId,
};
use crate::money::Currency;
use crate::money::Minor;
use crate::split::{ParticipantRow, Portion};

/// The kinds of entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntryKind {
    /// An expense: payers and shares.
    Expense,
    /// A repayment from one member to another.
    Settlement,
    /// A conversion of every member's balance from one currency into another.
    Conversion,
}

impl EntryKind {
    /// `"expense"` or `"settlement"` (the name in activity entries and in the id registry).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Expense => "expense",
            Self::Settlement => "settlement",
            Self::Conversion => "conversion",
        }
    }
}

/// Which entry: its group (the distribution key), kind and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EntryKey {
    /// Its group.
    pub group_id: GroupId,
    /// Its kind.
    pub kind: EntryKind,
    /// Its id.
    pub id: Uuid,
}

/// One entry of any kind.
// An entry is built once per write and handed by reference to the store; boxing the expense
// would add an allocation and a layer at every match for no memory that matters.
#[expect(
    clippy::large_enum_variant,
    reason = "one short-lived entry per write; never held in bulk"
)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// An expense.
    Expense(Expense),
    /// A settlement.
    Settlement(Settlement),
    /// A conversion of balances.
    Conversion(Conversion),
}

impl From<Expense> for Entry {
    fn from(e: Expense) -> Self {
        Self::Expense(e)
    }
}

impl From<Conversion> for Entry {
    fn from(c: Conversion) -> Self {
        Self::Conversion(c)
    }
}

impl From<Settlement> for Entry {
    fn from(s: Settlement) -> Self {
        Self::Settlement(s)
    }
}

impl Entry {
    /// Its kind.
    pub fn kind(&self) -> EntryKind {
        match self {
            Self::Expense(_) => EntryKind::Expense,
            Self::Settlement(_) => EntryKind::Settlement,
            Self::Conversion(_) => EntryKind::Conversion,
        }
    }

    /// Its key.
    pub fn key(&self) -> EntryKey {
        let (group_id, id) = match self {
            Self::Expense(e) => (e.group_id, e.id.0),
            Self::Settlement(s) => (s.group_id, s.id.0),
            Self::Conversion(c) => (c.group_id, c.id.0),
        };
        EntryKey {
            group_id,
            kind: self.kind(),
            id,
        }
    }

    /// Its version (settlements and conversions are never edited: always 1).
    pub fn version(&self) -> i64 {
        match self {
            Self::Expense(e) => e.version,
            Self::Settlement(_) | Self::Conversion(_) => 1,
        }
    }

    /// Everyone it involves, sorted and without repeats: who must be a member when it is
    /// written (in this order stores lock their member rows).
    pub fn participants(&self) -> Vec<UserId> {
        let mut users: Vec<UserId> = match self {
            Self::Expense(e) => e
                .payers
                .iter()
                .chain(&e.shares)
                .map(|p| p.user_id)
                .collect(),
            Self::Settlement(s) => vec![s.from_user, s.to_user],
            // Everyone whose balance it moves (former members too: their nets move with it).
            Self::Conversion(c) => c.rows.iter().map(|r| r.user_id).collect(),
        };
        users.sort();
        users.dedup();
        users
    }

    /// Whether `other` moves exactly the same money as `self` (same currency, same rows
    /// per member): then replacing one with the other needs no membership check.
    pub fn same_rows(&self, other: &Entry) -> bool {
        match (self, other) {
            (Self::Expense(a), Self::Expense(b)) => {
                a.kind == b.kind && a.currency() == b.currency() && a.rows() == b.rows()
            }
            (Self::Settlement(a), Self::Settlement(b)) => {
                (a.from_user, a.to_user, a.amount) == (b.from_user, b.to_user, b.amount)
            }
            _ => false,
        }
    }

    /// The same entry with `old`'s place taken by `new` (a claimed placeholder): every payer,
    /// share, split member, repayment side, conversion row and debt, lists kept sorted by
    /// member and debts keyed `a < b`. Its effect is the old one with the member renamed.
    pub fn with_member(&self, old: UserId, new: UserId) -> Result<Entry, Overflow> {
        let swap = |u: &UserId| if *u == old { new } else { *u };
        let portions = |list: &[Portion<UserId>]| {
            let mut out: Vec<Portion<UserId>> = (list.iter())
                .map(|p| Portion {
                    user_id: swap(&p.user_id),
                    amount: p.amount,
                })
                .collect();
            out.sort_by_key(|p| p.user_id);
            out
        };
        Ok(match self {
            Self::Expense(e) => Self::Expense(Expense {
                payers: portions(&e.payers),
                shares: portions(&e.shares),
                split: e.split.map_members(swap),
                created_by: swap(&e.created_by),
                original: e.original.as_ref().map(|o| {
                    Box::new(Original {
                        payers: portions(&o.payers),
                        shares: portions(&o.shares),
                        ..(**o).clone()
                    })
                }),
                ..e.clone()
            }),
            Self::Settlement(s) => Self::Settlement(Settlement {
                from_user: swap(&s.from_user),
                to_user: swap(&s.to_user),
                created_by: swap(&s.created_by),
                ..s.clone()
            }),
            Self::Conversion(c) => {
                let mut rows: Vec<ConversionRow> = (c.rows.iter())
                    .map(|r| ConversionRow {
                        user_id: swap(&r.user_id),
                        ..*r
                    })
                    .collect();
                rows.sort_by_key(|r| r.user_id);
                let mut debts = (c.debts.iter())
                    .map(|d| d.rekeyed(&old, &new))
                    .collect::<Result<Vec<_>, Overflow>>()?;
                debts.sort_by_key(|d| (d.currency, d.a, d.b));
                Self::Conversion(Conversion {
                    rows,
                    debts,
                    created_by: swap(&c.created_by),
                    ..c.clone()
                })
            }
        })
    }

    /// The entry as activity details and exports show it.
    pub fn snapshot(&self) -> serde_json::Value {
        match self {
            Self::Expense(e) => e.snapshot(),
            Self::Settlement(s) => s.snapshot(),
            Self::Conversion(c) => c.snapshot(),
        }
    }

    /// What this entry adds to the running totals and the pairwise debts.
    pub fn effect(&self) -> Result<Effect, Overflow> {
        match self {
            Self::Expense(e) => {
                let rows = e.rows()?;
                let currency = e.currency();
                let totals = rows.iter().map(|r| TotalsDelta {
                    user_id: r.user_id,
                    currency,
                    delta: Totals {
                        paid: r.paid,
                        owed: r.owed,
                        ..Totals::default()
                    },
                });
                let effect = Effect::merged(totals, expense_pair_deltas(currency, &rows))?;
                match e.kind {
                    ExpenseKind::Expense => Ok(effect),
                    // Money received: receivers hold what belongs to the sharers.
                    ExpenseKind::Income => effect.negated(),
                }
            }
            Self::Settlement(s) => {
                let (currency, amount) = (s.currency(), s.amount.units());
                let totals = [
                    moved(s.from_user, currency, |t| t.sent = amount),
                    moved(s.to_user, currency, |t| t.received = amount),
                ];
                // `from` repaid `to`: `to` now owes `from` that much more.
                let pair = pair_delta(currency, &s.to_user, &s.from_user, amount);
                Effect::merged(totals, [pair])
            }
            Self::Conversion(c) => {
                let mut totals = Vec::with_capacity(c.rows.len() * 2);
                let mut owed_to: Vec<ParticipantRow<UserId>> = Vec::with_capacity(c.rows.len());
                for r in &c.rows {
                    let out = r.from_amount.checked_neg().ok_or(Overflow)?;
                    totals.push(moved(r.user_id, c.from_currency, |t| t.converted = out));
                    totals.push(moved(r.user_id, c.to_currency, |t| {
                        t.converted = r.to_amount
                    }));
                    // As an expense's row: a positive net is owed, a negative one owes.
                    let (plus, minus) = match r.to_amount.checked_neg() {
                        Some(neg) if r.to_amount.get() < 0 => (Minor::ZERO, neg),
                        _ => (r.to_amount, Minor::ZERO),
                    };
                    owed_to.push(ParticipantRow {
                        user_id: r.user_id,
                        paid: plus,
                        owed: minus,
                    });
                }
                // The debts in `from_currency` are settled; the converted nets are owed anew.
                let settled = c.debts.iter().map(|d| {
                    Ok(PairDelta {
                        amount: d.amount.checked_neg().ok_or(Overflow)?,
                        ..d.clone()
                    })
                });
                let settled = settled.collect::<Result<Vec<_>, Overflow>>()?;
                let owed = expense_pair_deltas(c.to_currency, &owed_to);
                Effect::merged(totals, settled.into_iter().chain(owed))
            }
        }
    }
}

fn moved(user: UserId, currency: Currency, set: impl FnOnce(&mut Totals)) -> TotalsDelta<UserId> {
    let mut delta = Totals::default();
    set(&mut delta);
    TotalsDelta {
        user_id: user,
        currency,
        delta,
    }
}

/// Changes to running totals and pair totals, merged per key (nothing that cancels out),
/// sorted by key: the order in which stores lock those rows, so writers never deadlock.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Effect {
    /// Per member and currency: what to add to paid, owed, sent and received.
    pub totals: Vec<TotalsDelta<UserId>>,
    /// Per pair `a < b` and currency: what to add to what `a` owes `b`.
    pub pairs: Vec<PairDelta<UserId>>,
}

impl Effect {
    fn merged(
        totals: impl IntoIterator<Item = TotalsDelta<UserId>>,
        pairs: impl IntoIterator<Item = PairDelta<UserId>>,
    ) -> Result<Self, Overflow> {
        Ok(Self {
            totals: merge_totals(totals)?,
            pairs: merge_pairs(pairs)?,
        })
    }

    /// `effect(new) − effect(old)`: what writing `new` in place of `old` changes (`None` for
    /// an entry that does not exist before or after).
    pub fn change(old: Option<&Entry>, new: Option<&Entry>) -> Result<Self, Overflow> {
        let before = old.map(Entry::effect).transpose()?.unwrap_or_default();
        let after = new.map(Entry::effect).transpose()?.unwrap_or_default();
        let undo = before.negated()?;
        Self::merged(
            undo.totals.into_iter().chain(after.totals),
            undo.pairs.into_iter().chain(after.pairs),
        )
    }

    /// The effects of several entries as one (an import applies its whole file at once).
    pub fn sum(effects: impl IntoIterator<Item = Effect>) -> Result<Self, Overflow> {
        let (mut totals, mut pairs) = (Vec::new(), Vec::new());
        for e in effects {
            totals.extend(e.totals);
            pairs.extend(e.pairs);
        }
        Self::merged(totals, pairs)
    }

    /// The same effect with every sign flipped.
    pub fn negated(&self) -> Result<Self, Overflow> {
        let totals = self
            .totals
            .iter()
            .map(|d| {
                Ok(TotalsDelta {
                    delta: d.delta.negated()?,
                    ..d.clone()
                })
            })
            .collect::<Result<_, Overflow>>()?;
        let pairs = self
            .pairs
            .iter()
            .map(|d| {
                Ok(PairDelta {
                    amount: d.amount.checked_neg().ok_or(Overflow)?,
                    ..d.clone()
                })
            })
            .collect::<Result<_, Overflow>>()?;
        Ok(Self { totals, pairs })
    }

    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        self.totals.is_empty() && self.pairs.is_empty()
    }

    /// The members whose running totals it touches, sorted.
    pub fn members(&self) -> Vec<UserId> {
        let mut users: Vec<UserId> = self.totals.iter().map(|t| t.user_id).collect();
        users.sort();
        users.dedup();
        users
    }
}

#[cfg(test)]
mod tests;
