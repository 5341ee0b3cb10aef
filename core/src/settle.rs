//! The settlement planner: the fewest transfers that bring every net to zero.
//!
//! n non-zero nets can be settled in n − k transfers, where k is the largest number of
//! disjoint zero-sum groups the nets split into (each group of size s needs s − 1 transfers
//! and no fewer). Finding k is NP-hard, so:
//!
//! 1. members whose nets cancel exactly (+x and −x) are paired first — some optimal plan
//!    always does this, so it costs nothing and shrinks the hard part;
//! 2. if at most [`EXACT_LIMIT`] nets remain, dynamic programming over subsets finds k
//!    exactly (O(2^n · n) time, 9 bytes of memory per subset);
//! 3. above it, largest debtor pays largest creditor: at most n − 1 transfers, but not proven
//!    minimal, and the plan says so (`optimal: false`).
//!
//! Everything is integer arithmetic over members sorted by id, so the same nets give the same
//! plan on every platform. Because the plan is truly minimal it is also stable: after one of
//! its k transfers is paid, the next plan has exactly k − 1.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use serde::{Deserialize, Serialize};

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
    /// Minor units (positive).
    pub amount: i64,
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
}

/// Plans the fewest transfers that zero `nets` (one entry per member; zeros are ignored,
/// repeated members are summed).
pub fn plan<K: MemberKey>(nets: &[(K, i64)]) -> Result<Plan<K>, PlanError> {
    let mut merged: BTreeMap<&K, i128> = BTreeMap::new();
    for (k, v) in nets {
        *merged.entry(k).or_default() += i128::from(*v);
    }
    if merged.values().sum::<i128>() != 0 {
        return Err(PlanError::Unbalanced);
    }
    let mut members: Vec<(&K, i64)> = Vec::with_capacity(merged.len());
    for (k, v) in merged {
        // Each member's net is a sum of i64 nets that add up to zero overall; one that does
        // not fit in i64 cannot be paid in i64 transfers either.
        let v = i64::try_from(v).map_err(|_| PlanError::Unbalanced)?;
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
    let mut by_size: BTreeMap<i64, (Vec<usize>, Vec<usize>)> = BTreeMap::new();
    for (i, (_, v)) in members.iter().enumerate() {
        let slot = by_size.entry(v.abs()).or_default();
        if *v < 0 {
            slot.0.push(i)
        } else {
            slot.1.push(i)
        }
    }
    let mut used = vec![false; members.len()];
    for (amount, (debtors, creditors)) in by_size {
        for (&d, &c) in debtors.iter().zip(&creditors) {
            used[d] = true;
            used[c] = true;
            transfers.push(Transfer {
                from: members[d].0.clone(),
                to: members[c].0.clone(),
                amount,
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
    let size = 1usize << n;
    let mut sums = vec![0i64; size];
    let mut best = vec![0u8; size];
    for mask in 1..size {
        let low = mask.trailing_zeros() as usize;
        // Partial sums of at most 20 values bounded by 10^15 each cannot overflow.
        sums[mask] = sums[mask & (mask - 1)] + values[low];
        let mut m = mask;
        let mut top = 0u8;
        while m != 0 {
            let bit = m & m.wrapping_neg();
            top = top.max(best[mask ^ bit]);
            m ^= bit;
        }
        best[mask] = top + u8::from(sums[mask] == 0);
    }

    let mut groups = Vec::new();
    let mut current = Vec::new();
    let mut mask = size - 1;
    while mask != 0 {
        let closes = u8::from(sums[mask] == 0);
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

/// Largest debtor pays largest creditor until everyone is at zero (ties by member order).
/// Each transfer zeroes at least one side, so s members need at most s − 1 transfers.
fn greedy<K: MemberKey>(members: &[(&K, i64)], transfers: &mut Vec<Transfer<K>>) {
    let mut debtors: BinaryHeap<(i64, Reverse<usize>)> = BinaryHeap::new();
    let mut creditors: BinaryHeap<(i64, Reverse<usize>)> = BinaryHeap::new();
    for (i, (_, v)) in members.iter().enumerate() {
        if *v < 0 {
            debtors.push((-v, Reverse(i)));
        } else if *v > 0 {
            creditors.push((*v, Reverse(i)));
        }
    }
    while let (Some((owe, Reverse(d))), Some((due, Reverse(c)))) = (debtors.pop(), creditors.pop())
    {
        let amount = owe.min(due);
        transfers.push(Transfer {
            from: members[d].0.clone(),
            to: members[c].0.clone(),
            amount,
        });
        if owe > amount {
            debtors.push((owe - amount, Reverse(d)));
        }
        if due > amount {
            creditors.push((due - amount, Reverse(c)));
        }
    }
}

#[cfg(test)]
mod tests;
