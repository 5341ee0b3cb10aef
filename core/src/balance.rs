//! Balances: what each member paid, owes, sent and received, per currency, and who owes whom.
//!
//! `net = paid − owed + sent − received`: positive means the group owes the member. Settlements
//! move nets but are not spending. The nets of a currency always add up to zero, and the
//! pairwise debts add up, per member, to that member's net — all three views (nets, debts,
//! plan) come from the same rows and so cannot disagree.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::money::{Currency, Minor};
use crate::split::{MemberKey, ParticipantRow};

/// A sum went past what 64-bit minor units hold (about 9.2 × 10^16 EUR).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a balance is too large to represent")]
pub struct Overflow;

/// One member's running totals in one currency, in minor units. Each stays within
/// ±[`TOTAL_LIMIT`](crate::money::TOTAL_LIMIT): [`Totals::add`] refuses a sum past it, and so do the SQL stores' checks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Paid for expenses.
    pub paid: Minor,
    /// Owed as shares of expenses.
    pub owed: Minor,
    /// Repaid to others (settlements sent).
    pub sent: Minor,
    /// Repaid by others (settlements received).
    pub received: Minor,
    /// Moved into (positive) or out of (negative) this currency by conversions of balances.
    pub converted: Minor,
}

impl Totals {
    /// `paid − owed + sent − received + converted`. Within the totals' bound this always
    /// fits; the error is for totals that were never checked (a corrupt row).
    pub fn net(&self) -> Result<i64, Overflow> {
        let wide = i128::from(self.paid) - i128::from(self.owed) + i128::from(self.sent)
            - i128::from(self.received)
            + i128::from(self.converted);
        i64::try_from(wide).map_err(|_| Overflow)
    }

    /// Adds `other` field by field; `Overflow` if a field would leave ±[`TOTAL_LIMIT`](crate::money::TOTAL_LIMIT).
    pub fn add(&mut self, other: &Totals) -> Result<(), Overflow> {
        let sum = |a: Minor, b: Minor| {
            a.checked_add(b)
                .filter(|m| m.within_total_limit())
                .ok_or(Overflow)
        };
        *self = Totals {
            paid: sum(self.paid, other.paid)?,
            owed: sum(self.owed, other.owed)?,
            sent: sum(self.sent, other.sent)?,
            received: sum(self.received, other.received)?,
            converted: sum(self.converted, other.converted)?,
        };
        Ok(())
    }

    /// The same totals with every sign flipped (to undo a write); `Overflow` only for
    /// totals outside the bound.
    pub fn negated(&self) -> Result<Totals, Overflow> {
        let neg = |m: Minor| m.checked_neg().ok_or(Overflow);
        Ok(Totals {
            paid: neg(self.paid)?,
            owed: neg(self.owed)?,
            sent: neg(self.sent)?,
            received: neg(self.received)?,
            converted: neg(self.converted)?,
        })
    }

    /// Whether every field is zero.
    pub fn is_zero(&self) -> bool {
        *self == Totals::default()
    }

    /// Whether every field lies within ±[`TOTAL_LIMIT`](crate::money::TOTAL_LIMIT).
    pub fn within_limit(&self) -> bool {
        [
            self.paid,
            self.owed,
            self.sent,
            self.received,
            self.converted,
        ]
        .iter()
        .all(|m| m.within_total_limit())
    }
}

/// A change to one member's totals in one currency; what stores add to their running totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotalsDelta<K> {
    /// The member.
    pub user_id: K,
    /// The currency.
    pub currency: Currency,
    /// What to add (may be negative).
    pub delta: Totals,
}

/// A change to the debt between two members, stored with `a < b`: a positive amount means
/// `a` owes `b` more, a negative one that `b` owes `a` more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairDelta<K> {
    /// The currency.
    pub currency: Currency,
    /// The smaller member id.
    pub a: K,
    /// The larger member id.
    pub b: K,
    /// Minor units `a` owes `b` (signed).
    pub amount: Minor,
}

/// Who owes whom because of one expense: debtors (owed more than paid) owe creditors (paid
/// more than owed), matched in member order. With one payer this is simply "each participant
/// owes the payer their share"; with several it is an exact, deterministic decomposition.
pub fn expense_pair_deltas<K: MemberKey>(
    currency: Currency,
    rows: &[ParticipantRow<K>],
) -> Vec<PairDelta<K>> {
    let mut creditors: Vec<(&K, i128)> = Vec::new();
    let mut debtors: Vec<(&K, i128)> = Vec::new();
    for r in rows {
        let net = i128::from(r.paid) - i128::from(r.owed);
        if net > 0 {
            creditors.push((&r.user_id, net));
        } else if net < 0 {
            debtors.push((&r.user_id, -net));
        }
    }
    creditors.sort_by(|x, y| x.0.cmp(y.0));
    debtors.sort_by(|x, y| x.0.cmp(y.0));
    let mut out = Vec::new();
    let (mut c, mut d) = (0, 0);
    while c < creditors.len() && d < debtors.len() {
        let amount = creditors[c].1.min(debtors[d].1);
        // At most one row's paid or owed, which is an i64.
        if let Ok(units) = i64::try_from(amount) {
            out.push(pair_delta(
                currency,
                debtors[d].0,
                creditors[c].0,
                Minor::new(units),
            ));
        }
        creditors[c].1 -= amount;
        debtors[d].1 -= amount;
        if creditors[c].1 == 0 {
            c += 1;
        }
        if debtors[d].1 == 0 {
            d += 1;
        }
    }
    out
}

impl<K: MemberKey> PairDelta<K> {
    /// The same debt with `old` replaced by `new` (a claimed placeholder), turned back into the
    /// `a < b` orientation, which may flip its sign. `Overflow` only for an unbounded amount.
    pub fn rekeyed(&self, old: &K, new: &K) -> Result<Self, Overflow> {
        let swap = |k: &K| if k == old { new.clone() } else { k.clone() };
        let (a, b) = (swap(&self.a), swap(&self.b));
        if a < b {
            return Ok(Self {
                currency: self.currency,
                a,
                b,
                amount: self.amount,
            });
        }
        Ok(Self {
            currency: self.currency,
            a: b,
            b: a,
            amount: self.amount.checked_neg().ok_or(Overflow)?,
        })
    }
}

/// `debtor` owes `creditor` `amount` more, in the stored `a < b` orientation.
pub fn pair_delta<K: MemberKey>(
    currency: Currency,
    debtor: &K,
    creditor: &K,
    amount: Minor,
) -> PairDelta<K> {
    if debtor < creditor {
        PairDelta {
            currency,
            a: debtor.clone(),
            b: creditor.clone(),
            amount,
        }
    } else {
        PairDelta {
            currency,
            a: creditor.clone(),
            b: debtor.clone(),
            // Amounts come from rows and are never i64::MIN.
            amount: amount.checked_neg().unwrap_or(Minor::ZERO),
        }
    }
}

/// Sums totals changes, dropping what cancels out (an edit is "remove the old rows, add the
/// new ones", and most of it usually cancels). Sorted by (currency, member): the order in
/// which stores lock running totals, so concurrent writers never deadlock.
pub fn merge_totals<K: MemberKey>(
    deltas: impl IntoIterator<Item = TotalsDelta<K>>,
) -> Result<Vec<TotalsDelta<K>>, Overflow> {
    let mut sums: BTreeMap<(Currency, K), Totals> = BTreeMap::new();
    for d in deltas {
        sums.entry((d.currency, d.user_id))
            .or_default()
            .add(&d.delta)?;
    }
    Ok(sums
        .into_iter()
        .filter(|(_, t)| !t.is_zero())
        .map(|((currency, user_id), delta)| TotalsDelta {
            user_id,
            currency,
            delta,
        })
        .collect())
}

/// Sums pair deltas, dropping what cancels out; sorted by (currency, a, b).
pub fn merge_pairs<K: MemberKey>(
    deltas: impl IntoIterator<Item = PairDelta<K>>,
) -> Result<Vec<PairDelta<K>>, Overflow> {
    let mut sums: BTreeMap<(Currency, K, K), Minor> = BTreeMap::new();
    for d in deltas {
        let slot = sums.entry((d.currency, d.a, d.b)).or_default();
        *slot = slot
            .checked_add(d.amount)
            .filter(|m| m.within_total_limit())
            .ok_or(Overflow)?;
    }
    Ok(sums
        .into_iter()
        .filter(|(_, amount)| !amount.is_zero())
        .map(|((currency, a, b), amount)| PairDelta {
            currency,
            a,
            b,
            amount,
        })
        .collect())
}

/// Running totals per currency and member, built from rows and settlements (the full
/// recomputation that stores' running totals are checked against, and the browser preview).
#[derive(Debug, Clone)]
pub struct BalanceSheet<K> {
    currencies: BTreeMap<Currency, HashMap<K, Totals>>,
}

impl<K> Default for BalanceSheet<K> {
    fn default() -> Self {
        Self {
            currencies: BTreeMap::new(),
        }
    }
}

impl<K: MemberKey> BalanceSheet<K> {
    /// An empty sheet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one expense's participant rows.
    pub fn add_rows(
        &mut self,
        currency: Currency,
        rows: &[ParticipantRow<K>],
    ) -> Result<(), Overflow> {
        let members = self.currencies.entry(currency).or_default();
        for r in rows {
            members.entry(r.user_id.clone()).or_default().add(&Totals {
                paid: r.paid,
                owed: r.owed,
                ..Totals::default()
            })?;
        }
        Ok(())
    }

    /// Adds one expense given as what each payer paid and what each participant owes
    /// (a member may appear on both sides, or twice on one).
    pub fn add_portions(
        &mut self,
        currency: Currency,
        paid: impl IntoIterator<Item = (K, Minor)>,
        owed: impl IntoIterator<Item = (K, Minor)>,
    ) -> Result<(), Overflow> {
        let members = self.currencies.entry(currency).or_default();
        for (k, amount) in paid {
            members.entry(k).or_default().add(&Totals {
                paid: amount,
                ..Totals::default()
            })?;
        }
        for (k, amount) in owed {
            members.entry(k).or_default().add(&Totals {
                owed: amount,
                ..Totals::default()
            })?;
        }
        Ok(())
    }

    /// Adds one settlement: `from` repaid `to`.
    pub fn add_settlement(
        &mut self,
        currency: Currency,
        from: &K,
        to: &K,
        amount: Minor,
    ) -> Result<(), Overflow> {
        let members = self.currencies.entry(currency).or_default();
        members.entry(from.clone()).or_default().add(&Totals {
            sent: amount,
            ..Totals::default()
        })?;
        members.entry(to.clone()).or_default().add(&Totals {
            received: amount,
            ..Totals::default()
        })
    }

    /// Adds a conversion's move of `amount` into `member`'s balance in `currency` (negative:
    /// out of it).
    pub fn add_converted(
        &mut self,
        currency: Currency,
        member: &K,
        amount: Minor,
    ) -> Result<(), Overflow> {
        let members = self.currencies.entry(currency).or_default();
        members.entry(member.clone()).or_default().add(&Totals {
            converted: amount,
            ..Totals::default()
        })
    }

    /// Applies stored deltas (as a store's running totals would).
    pub fn apply(&mut self, deltas: &[TotalsDelta<K>]) -> Result<(), Overflow> {
        for d in deltas {
            self.currencies
                .entry(d.currency)
                .or_default()
                .entry(d.user_id.clone())
                .or_default()
                .add(&d.delta)?;
        }
        Ok(())
    }

    /// The currencies with at least one entry, in code order.
    pub fn currencies(&self) -> impl Iterator<Item = Currency> + '_ {
        self.currencies.keys().copied()
    }

    /// Every member's totals in `currency`, sorted by member.
    pub fn totals(&self, currency: Currency) -> Vec<(K, Totals)> {
        let mut out: Vec<(K, Totals)> = self
            .currencies
            .get(&currency)
            .map(|m| m.iter().map(|(k, t)| (k.clone(), *t)).collect())
            .unwrap_or_default();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Every member's net in `currency`, sorted by member.
    pub fn nets(&self, currency: Currency) -> Result<Vec<(K, i64)>, Overflow> {
        self.totals(currency)
            .into_iter()
            .map(|(k, t)| Ok((k, t.net()?)))
            .collect()
    }
}

/// One debt between two members, netted per pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Debt<K> {
    /// Who owes.
    pub from: K,
    /// To whom.
    pub to: K,
    /// Minor units (positive).
    pub amount: Minor,
    /// The currency.
    pub currency: Currency,
}

/// Pairwise debts, accumulated from pair deltas (the same shape stores keep as running totals).
#[derive(Debug, Clone)]
pub struct DebtSheet<K> {
    pairs: BTreeMap<(Currency, K, K), Minor>,
}

impl<K> Default for DebtSheet<K> {
    fn default() -> Self {
        Self {
            pairs: BTreeMap::new(),
        }
    }
}

impl<K: MemberKey> DebtSheet<K> {
    /// An empty sheet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds pair deltas.
    pub fn apply(&mut self, deltas: &[PairDelta<K>]) -> Result<(), Overflow> {
        for d in deltas {
            let slot = self
                .pairs
                .entry((d.currency, d.a.clone(), d.b.clone()))
                .or_default();
            *slot = slot
                .checked_add(d.amount)
                .filter(|m| m.within_total_limit())
                .ok_or(Overflow)?;
        }
        Ok(())
    }

    /// The non-zero debts, ordered by currency, then debtor, then creditor.
    pub fn debts(&self) -> Vec<Debt<K>> {
        debts_from_pairs(
            self.pairs
                .iter()
                .map(|((c, a, b), amount)| (*c, a.clone(), b.clone(), *amount)),
        )
    }
}

/// Turns stored pair totals `(currency, a, b, amount a owes b)` into directed debts.
pub fn debts_from_pairs<K: MemberKey>(
    pairs: impl IntoIterator<Item = (Currency, K, K, Minor)>,
) -> Vec<Debt<K>> {
    let mut out: Vec<Debt<K>> = pairs
        .into_iter()
        .filter(|p| !p.3.is_zero())
        .map(|(currency, a, b, amount)| {
            if amount > Minor::ZERO {
                Debt {
                    from: a,
                    to: b,
                    amount,
                    currency,
                }
            } else {
                Debt {
                    from: b,
                    to: a,
                    // Pair totals are bounded, so never i64::MIN.
                    amount: amount.checked_neg().unwrap_or(Minor::ZERO),
                    currency,
                }
            }
        })
        .collect();
    out.sort_by(|x, y| (x.currency, &x.from, &x.to).cmp(&(y.currency, &y.from, &y.to)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::TOTAL_LIMIT;

    fn eur() -> Currency {
        Currency::parse("EUR").expect("EUR")
    }

    fn row(user: &str, paid: i64, owed: i64) -> ParticipantRow<String> {
        ParticipantRow {
            user_id: user.to_string(),
            paid: Minor::new(paid),
            owed: Minor::new(owed),
        }
    }

    #[test]
    fn multi_payer_pairs_match_nets() {
        let rows = vec![
            row("a", 6000, 2500),
            row("b", 4000, 2500),
            row("c", 0, 2500),
            row("d", 0, 2500),
        ];
        let mut debts = DebtSheet::new();
        debts
            .apply(&expense_pair_deltas(eur(), &rows))
            .expect("no overflow");
        let list = debts.debts();
        let owed_to = |who: &str| -> i64 {
            list.iter()
                .filter(|d| d.to == who)
                .map(|d| d.amount.get())
                .sum::<i64>()
                - list
                    .iter()
                    .filter(|d| d.from == who)
                    .map(|d| d.amount.get())
                    .sum::<i64>()
        };
        assert_eq!(
            (owed_to("a"), owed_to("b"), owed_to("c"), owed_to("d")),
            (3500, 1500, -2500, -2500)
        );
        assert_eq!(list.len(), 3, "{list:?}");
    }

    #[test]
    fn settlement_moves_nets_and_debts() {
        let mut sheet = BalanceSheet::new();
        sheet
            .add_rows(
                eur(),
                &[row("bob", 100_000, 50_000), row("alice", 0, 50_000)],
            )
            .expect("ok");
        sheet
            .add_settlement(
                eur(),
                &"alice".to_string(),
                &"bob".to_string(),
                Minor::new(50_000),
            )
            .expect("ok");
        assert_eq!(
            sheet.nets(eur()).expect("ok"),
            vec![("alice".to_string(), 0), ("bob".to_string(), 0)]
        );

        let mut debts = DebtSheet::new();
        debts
            .apply(&expense_pair_deltas(
                eur(),
                &[row("bob", 100_000, 50_000), row("alice", 0, 50_000)],
            ))
            .expect("ok");
        assert_eq!(debts.debts().len(), 1);
        // Alice repaid Bob: Bob owes Alice that much more.
        debts
            .apply(&[pair_delta(
                eur(),
                &"bob".to_string(),
                &"alice".to_string(),
                Minor::new(50_000),
            )])
            .expect("ok");
        assert!(debts.debts().is_empty());
    }

    #[test]
    fn overflow_is_an_error_not_a_wrap() {
        let mut sheet = BalanceSheet::new();
        sheet
            .add_rows(eur(), &[row("a", TOTAL_LIMIT, 0)])
            .expect("fits");
        assert_eq!(sheet.add_rows(eur(), &[row("a", 1, 0)]), Err(Overflow));
        assert_eq!(
            sheet.add_rows(eur(), &[row("b", i64::MAX, 0)]),
            Err(Overflow)
        );
        let mut totals = Totals {
            owed: Minor::new(-TOTAL_LIMIT),
            ..Totals::default()
        };
        assert_eq!(
            totals.add(&Totals {
                owed: Minor::new(-1),
                ..Totals::default()
            }),
            Err(Overflow)
        );
        assert_eq!(totals.owed, -TOTAL_LIMIT, "a refused add changes nothing");
    }
}
