//! The settlement planner: the fewest transfers that bring every net to zero.
//!
//! n non-zero nets can be settled in n − k transfers, where k is the largest number of
//! disjoint zero-sum groups the nets split into (each group of size s needs s − 1 transfers
//! and no fewer). Finding k is NP-hard, so:
//!
//! 1. members whose nets cancel exactly (+x and −x) are paired first — some optimal plan
//!    always does this, so it costs nothing and shrinks the hard part;
//! 2. if at most [`EXACT_LIMIT`] nets remain, dynamic programming over subsets finds k
//!    exactly (O(2^n · n) time, 1 byte of memory per subset) — unless meeting in the middle
//!    (O(2^(n/2) · n)) finds no proper subset that adds up to zero, the common case, where
//!    k = 1 at once;
//! 3. if at most [`SEARCH_LIMIT`] remain, a bounded search (below) looks for a proof within
//!    [`SEARCH_BUDGET`] counted operations;
//! 4. otherwise, or when the search finds no proof, the plan is not proven minimal and says
//!    so (`optimal: false`): largest debtor pays largest creditor (at most n − 1 transfers),
//!    or, when the search found a split into several zero-sum groups that gives fewer
//!    transfers, the same rule within each of those groups.
//!
//! # The bounded search (more than [`EXACT_LIMIT`] nets)
//!
//! Two facts carry it. (a) In a split into the most groups, every group is *minimal*: it has
//! no non-empty proper zero-sum subset, or splitting it there would give one group more.
//! (b) Since all nets add up to zero, whatever is left after taking out disjoint zero-sum
//! groups adds up to zero, so it is itself a (possibly large) group.
//!
//! * **Listing small groups.** Meet in the middle lists every zero-sum set of at most L nets
//!   (L ≤ 8): the sums of all sets of 1, 2, 3, 4 nets are formed and sorted (each table only
//!   when first needed), and a set of size s is found exactly once, as its ⌈s/2⌉
//!   lowest-indexed members plus a set of the other ⌊s/2⌋ whose lowest index is above theirs
//!   and whose sum is the negation. Sizes are listed in turn, and L is the last size whose
//!   listing completed with at most 5,000 sets in all and within two thirds of the budget;
//!   so every minimal zero-sum set of at most L nets is on the list (non-minimal ones are
//!   dropped: a best split never uses them).
//! * **Branch and bound.** Any best split consists of some listed groups plus groups of more
//!   than L nets ("big"). The search decides, one net at a time, which listed group holds it
//!   or that it lies in a big group; every split is reached on exactly one path. At the end
//!   the nets marked big, B, add up to zero (b): if B is empty the count is exact; if
//!   |B| ≤ 2L + 1 at most one big group fits in it, so "B as one group" is the exact best of
//!   that path; otherwise B's best split is found by the subset DP when |B| ≤
//!   [`EXACT_LIMIT`], and else only bounded by ⌊|B| / (L + 1)⌋ (an open end).
//! * **The bound.** Give each undecided or big-marked net x a share u(x) ≥ 1/(L + 1) such
//!   that the shares of every listed set left (inside the undecided nets) add up to at
//!   least 1. Then any split of those nets has at most Σ u(x) groups: a listed group's
//!   shares add up to at least 1, and so do a big group's (more than L shares of at least
//!   1/(L + 1)) — LP duality for packing, in its easy direction. Two such shares are used:
//!   1/(size of the smallest listed set holding x), or 1/(L + 1) when none does (valid: a
//!   set of size s gets at least s · 1/s), and then each share lowered, one net at a time,
//!   to the most any of its sets still needs (valid by construction). Shares are integers
//!   over 2520 = lcm(1..9), so nothing is rounded. A node whose chosen groups plus ⌊Σ u⌋
//!   does not exceed the best split found is cut off.
//! * **Repeats.** What lies below a node depends only on its undecided and big-marked nets,
//!   so a node reached again with no more groups chosen than before is skipped: everything
//!   below it was explored, or bounded by an incumbent no better than today's, with a count
//!   at least as high.
//! * **Proof.** `optimal: true` only if the search ran to its end within the budget and no
//!   open end's bound exceeds the best split found: then every split is either found or
//!   bounded by something no better, so the best found is the best there is.
//!
//! The budget counts operations, not time: a listed set looked at in a node, a subset sum
//! formed or compared, a subset-DP cell. [`SEARCH_BUDGET`] of them is about 100 ms natively on
//! the slowest path; at the budget the search stops and the plan says `optimal: false`.
//! Nets with few small zero-sum sets, where a better split would need several big groups,
//! can stay unproven whatever the budget: nothing bounds big groups but their size.
//!
//! Everything is integer arithmetic over members sorted by id, so the same nets give the same
//! plan on every platform. Any `i64` nets are taken: every sum of several nets is formed in
//! 128 bits (twenty nets near ±2^63 add up far past 64 bits, and a wrapped sum would look like
//! a zero-sum group), and a transfer is never more than one creditor's net, so it fits 64.
//! Because the plan is truly minimal it is also stable: after one of its k transfers is paid,
//! the next plan has exactly k − 1.

use std::cmp::Reverse;
use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BinaryHeap};

use serde::{Deserialize, Serialize};

use crate::money::Minor;
use crate::split::MemberKey;

/// Most non-zero nets (after exact pairs are taken out) planned exactly by the subset DP.
pub const EXACT_LIMIT: usize = 20;

/// Most non-zero nets (after exact pairs are taken out) for which the bounded search tries to
/// prove a plan minimal (one bit each in a `u64`); above it the plan is never `optimal`.
pub const SEARCH_LIMIT: usize = 64;

/// The operations the bounded search may count (see the module docs) before it gives up on
/// a proof and the plan says `optimal: false`.
pub const SEARCH_BUDGET: u64 = 30_000_000;

/// The largest zero-sum sets the bounded search lists directly.
const SMALL_LIMIT: usize = 8;

/// Most zero-sum sets listed: beyond it the list stops at a smaller size.
const LIST_LIMIT: usize = 5_000;

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
    let values: Vec<i64> = rest.iter().map(|(_, v)| *v).collect();
    let (groups, optimal) = if rest.len() <= EXACT_LIMIT {
        (zero_sum_partition(&values), true)
    } else if rest.len() <= SEARCH_LIMIT {
        let found = bounded_partition(&values, SEARCH_BUDGET);
        (found.groups, found.proven)
    } else {
        (vec![(0..rest.len()).collect()], false)
    };
    let mut planned = Vec::new();
    for group in &groups {
        let part: Vec<(&K, i64)> = group.iter().map(|&i| rest[i]).collect();
        greedy(&part, &mut planned);
    }
    if !optimal && groups.len() > 1 {
        // Unproven: keep whichever of the split and plain greedy gives fewer transfers.
        let mut plain = Vec::new();
        greedy(&rest, &mut plain);
        if plain.len() < planned.len() {
            planned = plain;
        }
    }
    transfers.append(&mut planned);
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
    // The common case for real groups (nets of distinct sizes in cents): no proper subset
    // adds up to zero, so there is one group. Meet in the middle proves it in about 2^(n/2)
    // steps instead of the DP's n · 2^n, and the answer is the very one the DP's walk back
    // gives (every index, ascending), so plans do not change.
    if !sums.has_proper_zero_sum() {
        return vec![(0..n).collect()];
    }
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

    /// Whether some subset other than the empty set and the whole adds up to zero: a low
    /// half's sum meets the negation of a high half's, found by binary search among the high
    /// sums sorted.
    fn has_proper_zero_sum(&self) -> bool {
        let full = (self.low.len() << self.high_bits()) - 1;
        let mut high: Vec<(i128, usize)> = self.high.iter().copied().zip(0..).collect();
        high.sort_unstable();
        self.low.iter().enumerate().any(|(low_mask, &sum)| {
            let start = high.partition_point(|&(h, _)| h < -sum);
            high[start..]
                .iter()
                .take_while(|&&(h, _)| h == -sum)
                .map(|&(_, high_mask)| low_mask | high_mask << self.low_bits)
                .any(|mask| mask != 0 && mask != full)
        })
    }

    fn high_bits(&self) -> u32 {
        self.high.len().trailing_zeros()
    }
}

/// A split of nets into zero-sum groups (index lists), and whether it is proven to have the
/// most groups.
struct Split {
    groups: Vec<Vec<usize>>,
    proven: bool,
}

/// Operations counted against a budget.
struct Work {
    spent: u64,
    budget: u64,
}

impl Work {
    /// Counts `ops`; false once the budget is exceeded.
    fn spend(&mut self, ops: u64) -> bool {
        self.spent = self.spent.saturating_add(ops);
        self.spent <= self.budget
    }
}

/// Splits `values` (which add up to zero, none zero, no two cancelling, at most
/// [`SEARCH_LIMIT`] of them) into zero-sum groups by the bounded search of the module docs,
/// spending at most about `budget` counted operations.
fn bounded_partition(values: &[i64], budget: u64) -> Split {
    let n = values.len();
    let full = if n >= 64 { u64::MAX } else { (1u64 << n) - 1 };
    let mut work = Work { spent: 0, budget };
    let (listed, limit) = small_zero_sums(values, &mut work);
    // One bit per listed set: all of them, and for each value those that hold it.
    let words = listed.len().div_ceil(64);
    let mut all = vec![0u64; words];
    let mut holding = vec![vec![0u64; words]; n];
    for (k, set) in listed.iter().enumerate() {
        all[k / 64] |= 1 << (k % 64);
        for (i, holds) in holding.iter_mut().enumerate() {
            if set & (1 << i) != 0 {
                holds[k / 64] |= 1 << (k % 64);
            }
        }
    }
    let mut search = Search {
        values,
        listed,
        limit: limit as u32,
        holding,
        work,
        exhausted: false,
        chosen: Vec::new(),
        best: vec![full],
        open: 0,
        seen: BTreeMap::new(),
    };
    search.node(&all, full, 0);
    let proven = !search.exhausted && search.open <= search.best.len();
    let groups = search
        .best
        .iter()
        .map(|&mask| (0..n).filter(|&i| mask & (1 << i) != 0).collect())
        .collect();
    Split { groups, proven }
}

/// Every minimal zero-sum set of at most L of `values`, as masks sorted by size then mask,
/// and L: the largest size up to [`SMALL_LIMIT`] for which all such sets number at most
/// [`LIST_LIMIT`] and listing them stays within two thirds of the budget (the rest is the
/// search's).
fn small_zero_sums(values: &[i64], work: &mut Work) -> (Vec<u64>, usize) {
    let n = values.len() as u64;
    let allowance = work.budget / 3 * 2;
    // (sum, mask) of every set of `s` values in `tables[s]`, each sorted by sum; built when
    // first needed, from the one before.
    let mut tables: Vec<Vec<(i128, u64)>> = vec![vec![(0, 0)]];
    let mut found: Vec<u64> = Vec::new();
    let mut limit = 1;
    for size in 2..=SMALL_LIMIT {
        while tables.len() <= size.div_ceil(2) {
            let s = tables.len() as u64;
            // C(n, s) for s ≤ 4 and n ≤ 64 fits easily; forming each sum, then sorting
            // (about 20 comparisons each at these sizes).
            let count = (0..s).fold(1u64, |c, i| c * n.saturating_sub(i) / (i + 1));
            if work.spent.saturating_add(count.saturating_mul(20)) > allowance {
                return (minimal(found, work), limit);
            }
            work.spend(count * 20);
            let mut table = Vec::with_capacity(count as usize);
            for &(sum, mask) in &tables[tables.len() - 1] {
                let above = 64 - mask.leading_zeros() as usize;
                for (i, v) in values.iter().enumerate().skip(above) {
                    table.push((sum + i128::from(*v), mask | (1 << i)));
                }
            }
            table.sort_unstable_by_key(|e| e.0);
            tables.push(table);
        }
        // The ⌈size/2⌉ lowest-indexed members, then the rest above them: walking the first
        // table up by sum and the second down finds every pair whose sums cancel.
        let (low, high) = (&tables[size.div_ceil(2)], &tables[size / 2]);
        if !work.spend((low.len() + high.len()) as u64) || work.spent > allowance {
            break;
        }
        let mut this_size = Vec::new();
        let mut end = high.len();
        for &(sum, mask) in low {
            let target = -sum;
            while end > 0 && high[end - 1].0 > target {
                end -= 1;
            }
            let top = 63 - mask.leading_zeros();
            for &(other, rest) in high[..end].iter().rev() {
                if other != target {
                    break;
                }
                work.spend(1);
                if rest.trailing_zeros() > top {
                    this_size.push(mask | rest);
                }
            }
            if work.spent > allowance || found.len() + this_size.len() > LIST_LIMIT {
                return (minimal(found, work), limit);
            }
        }
        if found.len() + this_size.len() > LIST_LIMIT {
            break;
        }
        found.append(&mut this_size);
        limit = size;
    }
    (minimal(found, work), limit)
}

/// The minimal sets of `found`: sorted by size, a set is minimal unless a minimal set
/// already kept lies inside it. At most `LIST_LIMIT`² / 2 subset tests.
fn minimal(mut found: Vec<u64>, work: &mut Work) -> Vec<u64> {
    found.sort_unstable_by_key(|m| (m.count_ones(), *m));
    let mut minimal: Vec<u64> = Vec::new();
    for set in found {
        work.spend(minimal.len() as u64 + 1);
        if !minimal.iter().any(|m| m & !set == 0) {
            minimal.push(set);
        }
    }
    minimal
}

/// The branch and bound of the module docs.
struct Search<'a> {
    values: &'a [i64],
    /// Every minimal zero-sum set of at most `limit` values, sorted by size.
    listed: Vec<u64>,
    /// Every minimal zero-sum set of at most `limit` values is in `listed`.
    limit: u32,
    /// For each value, the listed sets that hold it (a bit set over `listed`).
    holding: Vec<Vec<u64>>,
    work: Work,
    exhausted: bool,
    /// The listed groups chosen on the current path.
    chosen: Vec<u64>,
    /// The best complete split found (masks covering every value).
    best: Vec<u64>,
    /// The largest bound of an end the search could not settle.
    open: usize,
    /// The (undecided, big) states visited, with the most groups chosen on arrival.
    seen: BTreeMap<(u64, u64), usize>,
}

/// lcm(1..=9): every group size up to `SMALL_LIMIT + 1` divides it.
const SCALE: u64 = 2520;

impl Search<'_> {
    /// Explores every split that adds listed groups from `open_sets` (a bit set over
    /// `listed`: exactly the listed sets inside `undecided`) and big groups holding `big`.
    fn node(&mut self, open_sets: &[u64], undecided: u64, big: u64) {
        let words = open_sets.len() as u64;
        let spend = words * u64::from(undecided.count_ones() + 1) + 1;
        if self.exhausted || !self.work.spend(spend) {
            self.exhausted = true;
            return;
        }
        // The same nets left by another path with at least as many groups chosen: everything
        // below was explored (or bounded by the best then) with a count at least this high.
        let chosen = self.chosen.len();
        match self.seen.entry((undecided, big)) {
            Entry::Occupied(before) if *before.get() >= chosen => return,
            Entry::Occupied(mut before) => {
                before.insert(chosen);
            }
            Entry::Vacant(slot) => {
                slot.insert(chosen);
            }
        }
        let big_size = self.limit + 1;
        // Nets in no listed set left can only be in a big group; the others are in a group
        // at least as large as the first (smallest) listed set left that holds them.
        let mut undecided = undecided;
        let mut big = big;
        let mut pick: Option<(u32, usize)> = None;
        let mut share = [0u64; 64];
        let mut m = undecided;
        while m != 0 {
            let i = m.trailing_zeros() as usize;
            m &= m - 1;
            let mut count = 0;
            let mut smallest = big_size;
            for (w, (a, b)) in open_sets.iter().zip(&self.holding[i]).enumerate() {
                let both = a & b;
                if both != 0 {
                    if count == 0 {
                        let first = self.listed[w * 64 + both.trailing_zeros() as usize];
                        smallest = smallest.min(first.count_ones());
                    }
                    count += both.count_ones();
                }
            }
            if count == 0 {
                undecided &= !(1 << i);
                big |= 1 << i;
                continue;
            }
            if pick.is_none_or(|(c, _)| count < c) {
                pick = Some((count, i));
            }
            share[i] = SCALE / u64::from(smallest);
        }
        let floor = SCALE / u64::from(big_size);
        let mut scaled = u64::from(big.count_ones()) * floor;
        let rest_total: u64 = share.iter().sum();
        if chosen + ((scaled + rest_total) / SCALE) as usize <= self.best.len() {
            return;
        }
        // A tighter bound by LP duality: shares with every open listed set's shares adding
        // up to at least one group, and none below a big group's 1/(L + 1), bound the
        // groups of any split. Lower each share as far as its sets allow.
        let mut m = undecided;
        while m != 0 {
            let i = m.trailing_zeros() as usize;
            m &= m - 1;
            let mut need = floor;
            for (w, (a, b)) in open_sets.iter().zip(&self.holding[i]).enumerate() {
                let mut both = a & b;
                while both != 0 {
                    let set = self.listed[w * 64 + both.trailing_zeros() as usize];
                    both &= both - 1;
                    let mut others = 0;
                    let mut y = set & !(1 << i);
                    while y != 0 {
                        others += share[y.trailing_zeros() as usize];
                        y &= y - 1;
                    }
                    need = need.max(SCALE.saturating_sub(others));
                }
            }
            share[i] = need;
        }
        if !self.work.spend(words * 64 * u64::from(SMALL_LIMIT as u32)) {
            self.exhausted = true;
            return;
        }
        scaled += share.iter().sum::<u64>();
        let bound = chosen + (scaled / SCALE) as usize;
        if bound <= self.best.len() {
            return;
        }
        let Some((_, pick)) = pick else {
            self.leaf(big);
            return;
        };
        let bit = 1u64 << pick;
        let options: Vec<u64> = open_sets
            .iter()
            .zip(&self.holding[pick])
            .map(|(a, b)| a & b)
            .collect();
        for (w, word) in options.iter().enumerate() {
            let mut word = *word;
            while word != 0 {
                let set = self.listed[w * 64 + word.trailing_zeros() as usize];
                word &= word - 1;
                if !self.work.spend(words * u64::from(set.count_ones())) {
                    self.exhausted = true;
                    return;
                }
                let mut rest = open_sets.to_vec();
                let mut members = set;
                while members != 0 {
                    let j = members.trailing_zeros() as usize;
                    members &= members - 1;
                    for (r, h) in rest.iter_mut().zip(&self.holding[j]) {
                        *r &= !h;
                    }
                }
                self.chosen.push(set);
                self.node(&rest, undecided & !set, big);
                self.chosen.pop();
                if self.exhausted {
                    return;
                }
            }
        }
        let rest: Vec<u64> = open_sets
            .iter()
            .zip(&self.holding[pick])
            .map(|(a, b)| a & !b)
            .collect();
        self.node(&rest, undecided & !bit, big | bit);
    }

    /// The end of a path: the chosen groups, and the nets in `big` in groups of more than
    /// `limit` each.
    fn leaf(&mut self, big: u64) {
        let chosen = self.chosen.len();
        if big == 0 {
            if chosen > self.best.len() {
                self.best = self.chosen.clone();
            }
            return;
        }
        let size = big.count_ones();
        let mut split = vec![big];
        // At most one group of more than `limit` fits in 2 · limit + 1 nets.
        let bound = chosen + (size / (self.limit + 1)).max(1) as usize;
        if bound > self.best.len() && bound > chosen + 1 {
            let cells = (1u64 << size.min(63)).saturating_mul(u64::from(size));
            if size as usize <= EXACT_LIMIT && self.work.spend(cells) {
                let members: Vec<usize> = (0..64).filter(|i| big & (1 << i) != 0).collect();
                let values: Vec<i64> = members.iter().map(|&i| self.values[i]).collect();
                split = zero_sum_partition(&values)
                    .into_iter()
                    .map(|g| g.iter().fold(0u64, |m, &j| m | (1 << members[j])))
                    .collect();
            } else {
                self.open = self.open.max(bound);
            }
        }
        if chosen + split.len() > self.best.len() {
            self.best = self.chosen.clone();
            self.best.extend(split);
        }
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
