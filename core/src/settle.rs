//! The settlement planner: the fewest transfers that bring every net to zero.
//!
//! n non-zero nets can be settled in n − k transfers, where k is the largest number of
//! disjoint zero-sum groups the nets split into (each group of size s needs s − 1 transfers
//! and no fewer). Finding k is NP-hard, so:
//!
//! 1. members whose nets cancel exactly (+x and −x) are paired first — some optimal plan
//!    always does this, so it costs nothing and shrinks the hard part;
//! 2. if at most [`EXACT_LIMIT`] nets remain, dynamic programming over subsets finds k
//!    exactly (O(2^n · n) time, 1 byte of memory per subset);
//! 3. above it, largest debtor pays largest creditor: at most n − 1 transfers, but not proven
//!    minimal, and the plan says so (`optimal: false`).
//!
//! Everything is integer arithmetic over members sorted by id, so the same nets give the same
//! plan on every platform. Any `i64` nets are taken: every sum of several nets is formed in
//! 128 bits (twenty nets near ±2^63 add up far past 64 bits, and a wrapped sum would look like
//! a zero-sum group), and a transfer is never more than one creditor's net, so it fits 64.
//! Because the plan is truly minimal it is also stable: after one of its k transfers is paid,
//! the next plan has exactly k − 1.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use serde::{Deserialize, Serialize};

use crate::money::Minor;
use crate::split::MemberKey;

/// Most non-zero nets (after exact pairs are taken out) planned exactly.
pub const EXACT_LIMIT: usize = 20;

/// One payment of the plan: `from` pays `to` `amount` minor units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer<K> {
    /// The debtor who pays.
    pub from: K,
    /// The creditor who is paid.
    pub to: K,
    /// Minor units (positive, and never more than the creditor's net).
    pub amount: Minor,
}

/// A settlement plan for one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan<K> {
    /// The transfers, ordered by payer then payee.
    pub transfers: Vec<Transfer<K>>,
    /// Whether the number of transfers is proven minimal.
    pub optimal: bool,
}

/// Why nets cannot be planned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// The nets do not add up to zero, so no set of transfers can zero them.
    #[error("the nets do not add up to zero")]
    Unbalanced,
    /// A member listed several times has nets that add up to more than 64 bits hold, so
    /// what they owe or are owed could not be paid in transfers of 64-bit minor units.
    #[error("a member's net is too large to represent")]
    TooLarge,
}

/// Plans the fewest transfers that zero `nets` (one entry per member; zeros are ignored,
/// repeated members are summed).
///
/// Any `i64` nets are accepted, `i64::MIN` included: sums of several nets are formed in 128
/// bits, and a transfer never exceeds what its creditor is owed, so it always fits 64 bits.
pub fn plan<K: MemberKey>(nets: &[(K, i64)]) -> Result<Plan<K>, PlanError> {
    // A slice holds fewer than 2^61 entries of magnitude at most 2^63, so no sum of them can
    // leave 128 bits.
    let mut merged: BTreeMap<&K, i128> = BTreeMap::new();
    for (k, v) in nets {
        *merged.entry(k).or_default() += i128::from(*v);
    }
    if merged.values().sum::<i128>() != 0 {
        return Err(PlanError::Unbalanced);
    }
    let mut members: Vec<(&K, i64)> = Vec::with_capacity(merged.len());
    for (k, v) in merged {
        let v = i64::try_from(v).map_err(|_| PlanError::TooLarge)?;
        if v != 0 {
            members.push((k, v));
        }
    }

    let mut transfers = Vec::new();
    let rest = pair_exact_matches(&members, &mut transfers);
    let optimal = rest.len() <= EXACT_LIMIT;
    if optimal {
        let values: Vec<i64> = rest.iter().map(|(_, v)| *v).collect();
        for group in zero_sum_partition(&values) {
            let part: Vec<(&K, i64)> = group.iter().map(|&i| rest[i]).collect();
            greedy(&part, &mut transfers);
        }
    } else {
        greedy(&rest, &mut transfers);
    }
    transfers.sort_by(|a, b| (&a.from, &a.to, a.amount).cmp(&(&b.from, &b.to, b.amount)));
    Ok(Plan { transfers, optimal })
}

/// Pairs each −x with a +x (in member order) and returns the members left over.
fn pair_exact_matches<'k, K: MemberKey>(
    members: &[(&'k K, i64)],
    transfers: &mut Vec<Transfer<K>>,
) -> Vec<(&'k K, i64)> {
    // Keyed by magnitude as u64: `i64::MIN` has one (2^63) even though it has no negation,
    // and it simply finds no creditor of that size.
    let mut by_size: BTreeMap<u64, (Vec<usize>, Vec<usize>)> = BTreeMap::new();
    for (i, (_, v)) in members.iter().enumerate() {
        let slot = by_size.entry(v.unsigned_abs()).or_default();
        if *v < 0 {
            slot.0.push(i)
        } else {
            slot.1.push(i)
        }
    }
    let mut used = vec![false; members.len()];
    for (debtors, creditors) in by_size.values() {
        for (&d, &c) in debtors.iter().zip(creditors) {
            used[d] = true;
            used[c] = true;
            transfers.push(Transfer {
                from: members[d].0.clone(),
                to: members[c].0.clone(),
                amount: Minor::new(members[c].1),
            });
        }
    }
    members
        .iter()
        .zip(used)
        .filter(|(_, u)| !u)
        .map(|(m, _)| *m)
        .collect()
}

/// Splits `values` (which add up to zero, at most [`EXACT_LIMIT`] of them) into the largest
/// number of zero-sum groups, as lists of indices.
///
/// `best[mask]` is the largest number of zero-sum groups that some ordering of `mask`'s
/// elements closes along the way; it is `max over i in mask of best[mask − i]`, plus one when
/// `mask` itself sums to zero. Walking back from the full mask recovers the groups.
fn zero_sum_partition(values: &[i64]) -> Vec<Vec<usize>> {
    let n = values.len();
    if n == 0 {
        return Vec::new();
    }
    let sums = SubsetSums::new(values);
    let size = 1usize << n;
    let mut best = vec![0u8; size];
    for mask in 1..size {
        let mut m = mask;
        let mut top = 0u8;
        while m != 0 {
            let bit = m & m.wrapping_neg();
            top = top.max(best[mask ^ bit]);
            m ^= bit;
        }
        best[mask] = top + u8::from(sums.is_zero(mask));
    }

    let mut groups = Vec::new();
    let mut current = Vec::new();
    let mut mask = size - 1;
    while mask != 0 {
        let closes = u8::from(sums.is_zero(mask));
        let mut m = mask;
        let mut next = 0;
        while m != 0 {
            let bit = m & m.wrapping_neg();
            if best[mask ^ bit] + closes == best[mask] {
                next = bit;
                break;
            }
            m ^= bit;
        }
        if closes == 1 && !current.is_empty() {
            groups.push(std::mem::take(&mut current));
        }
        current.push(next.trailing_zeros() as usize);
        mask ^= next;
    }
    if !current.is_empty() {
        groups.push(current);
    }
    groups
}

/// Whether a subset of at most [`EXACT_LIMIT`] values sums to zero, exactly.
///
/// A subset's sum is the sum over its low half plus the sum over its high half, each looked
/// up in a table of 2^(n/2) entries. In 128 bits no sum of 20 64-bit values can wrap, and
/// the two tables (at most 16 KB each) stay in cache where one table of every subset's sum in
/// 128 bits would take 16 MB.
struct SubsetSums {
    low_bits: u32,
    low: Vec<i128>,
    high: Vec<i128>,
}

impl SubsetSums {
    fn new(values: &[i64]) -> Self {
        let (low, high) = values.split_at(values.len() / 2);
        Self {
            low_bits: low.len() as u32,
            low: Self::table(low),
            high: Self::table(high),
        }
    }

    /// The sum of every subset of `values`, indexed by its mask.
    fn table(values: &[i64]) -> Vec<i128> {
        let mut sums = vec![0i128; 1 << values.len()];
        for mask in 1..sums.len() {
            let low = mask.trailing_zeros() as usize;
            sums[mask] = sums[mask & (mask - 1)] + i128::from(values[low]);
        }
        sums
    }

    fn is_zero(&self, mask: usize) -> bool {
        let low = mask & ((1 << self.low_bits) - 1);
        self.low[low] + self.high[mask >> self.low_bits] == 0
    }
}

/// Largest debtor pays largest creditor until everyone is at zero (ties by member order).
/// Each transfer zeroes at least one side, so s members need at most s − 1 transfers.
fn greedy<K: MemberKey>(members: &[(&K, i64)], transfers: &mut Vec<Transfer<K>>) {
    // What a debtor owes is held as u64, so that a net of `i64::MIN` has its 2^63; what a
    // creditor is due is a positive i64, and a transfer never exceeds it.
    let mut debtors: BinaryHeap<(u64, Reverse<usize>)> = BinaryHeap::new();
    let mut creditors: BinaryHeap<(i64, Reverse<usize>)> = BinaryHeap::new();
    for (i, (_, v)) in members.iter().enumerate() {
        if *v < 0 {
            debtors.push((v.unsigned_abs(), Reverse(i)));
        } else if *v > 0 {
            creditors.push((*v, Reverse(i)));
        }
    }
    while let (Some((owe, Reverse(d))), Some((due, Reverse(c)))) = (debtors.pop(), creditors.pop())
    {
        // A debt that does not fit i64 is larger than any i64 creditor's due.
        let amount = i64::try_from(owe).map_or(due, |owe| owe.min(due));
        transfers.push(Transfer {
            from: members[d].0.clone(),
            to: members[c].0.clone(),
            amount: Minor::new(amount),
        });
        let paid = amount.unsigned_abs();
        if owe > paid {
            debtors.push((owe - paid, Reverse(d)));
        }
        if due > amount {
            creditors.push((due - amount, Reverse(c)));
        }
    }
}

#[cfg(test)]
mod tests;
