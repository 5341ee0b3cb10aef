//! Who paid and how an expense is split: exact allocation in minor units.
//!
//! Every expense becomes one row per participant with `paid` and `owed` minor units, so one
//! payer, several payers and every split kind share one shape. Allocation is the largest
//! remainder method: each participant gets the floor of their exact rational share, and the
//! leftover minor units go one each to the largest fractional remainders. Ties among equal
//! remainders are broken by [`tie_break_rank`], a hash of the expense id and the member id, so
//! the order does not depend on how a request lists members, differs from one expense to the
//! next (nobody always gets the extra cent) and is the same in the browser and on the server.

use std::collections::HashSet;
use std::fmt::{Debug, Display};
use std::hash::Hash;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::balance::Overflow;
use crate::error::{FieldError, ValidationErrors};
use crate::money::{Currency, Minor, PlainDecimal};

/// What a member id must offer: order (for canonical output), hashing, and a text form that
/// seeds the tie-break (a UUID's hyphenated form, or the browser's string).
pub trait MemberKey: Ord + Eq + Hash + Clone + Display + Debug {}
impl<T: Ord + Eq + Hash + Clone + Display + Debug> MemberKey for T {}

/// Most decimals a share weight may carry.
pub const MAX_WEIGHT_DECIMALS: u32 = 6;
/// Largest share weight.
pub const MAX_WEIGHT: i64 = 1_000_000;
/// Most decimals a percentage may carry.
pub const MAX_PERCENT_DECIMALS: u32 = 2;

/// One payer and how much they paid, as a request gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayerInput<K> {
    /// The member who paid.
    pub user_id: K,
    /// A decimal string in the expense's currency.
    pub amount: String,
}

/// An exact share as a request gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExactShare<K> {
    /// The member who owes it.
    pub user_id: K,
    /// A decimal string in the expense's currency (zero allowed).
    pub amount: String,
}

/// A percentage share as a request gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PercentShare<K> {
    /// The member who owes it.
    pub user_id: K,
    /// A decimal string, 0 to 100, at most two decimals.
    pub percent: String,
}

/// A weighted share as a request gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeightShare<K> {
    /// The member who owes it.
    pub user_id: K,
    /// A non-negative decimal string (e.g. `"2"` or `"1.5"`).
    pub weight: String,
}

/// Whether an expense is money spent or money received.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum ExpenseKind {
    /// Money the group spent: payers paid it, sharers owe it.
    #[default]
    Expense,
    /// Money the group received (a refund, a deposit returned, something sold): payers
    /// received it and hold it, sharers are owed their share. Its effect is an expense's
    /// with every sign reversed.
    Income,
}

impl ExpenseKind {
    /// `"expense"` or `"income"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Expense => "expense",
            Self::Income => "income",
        }
    }
}

impl FromStr for ExpenseKind {
    type Err = ValidationErrors;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "expense" => Ok(Self::Expense),
            "income" => Ok(Self::Income),
            _ => Err(ValidationErrors::one(
                "kind",
                "invalid_kind",
                "one of expense, income",
            )),
        }
    }
}

/// How an expense is split, as the API spells it (`{"type": "equal", ...}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum SplitInput<K> {
    /// Equally among `members` (every member of the group when absent).
    Equal {
        /// The members sharing; `None` means every current member.
        // A path, not plain `default`: plain `default` would make serde demand `K: Default`.
        #[serde(default = "Option::default")]
        members: Option<Vec<K>>,
    },
    /// Exact amounts that add up to the expense's amount.
    Exact {
        /// One entry per member.
        shares: Vec<ExactShare<K>>,
    },
    /// Percentages that add up to exactly 100.
    Percent {
        /// One entry per member.
        shares: Vec<PercentShare<K>>,
    },
    /// Weights (2:1:1).
    Shares {
        /// One entry per member.
        shares: Vec<WeightShare<K>>,
    },
}

impl<K: Clone> SplitInput<K> {
    /// The same split with every member passed through `f` (a claimed placeholder's id
    /// replaced by the claimer's).
    pub fn map_members(&self, f: impl Fn(&K) -> K) -> SplitInput<K> {
        match self {
            Self::Equal { members } => Self::Equal {
                members: members.as_ref().map(|m| m.iter().map(&f).collect()),
            },
            Self::Exact { shares } => Self::Exact {
                shares: (shares.iter())
                    .map(|s| ExactShare {
                        user_id: f(&s.user_id),
                        amount: s.amount.clone(),
                    })
                    .collect(),
            },
            Self::Percent { shares } => Self::Percent {
                shares: (shares.iter())
                    .map(|s| PercentShare {
                        user_id: f(&s.user_id),
                        percent: s.percent.clone(),
                    })
                    .collect(),
            },
            Self::Shares { shares } => Self::Shares {
                shares: (shares.iter())
                    .map(|s| WeightShare {
                        user_id: f(&s.user_id),
                        weight: s.weight.clone(),
                    })
                    .collect(),
            },
        }
    }
}

/// An equal split among every member: what a new expense gets unless it says otherwise.
impl<K> Default for SplitInput<K> {
    fn default() -> Self {
        Self::Equal { members: None }
    }
}

impl<K: MemberKey> SplitInput<K> {
    /// The same split with an absent equal list replaced by `members`, so a stored expense
    /// keeps its participants when the group's membership changes later.
    pub fn resolved(&self, members: &[K]) -> Self {
        match self {
            Self::Equal { members: None } => Self::Equal {
                members: Some(members.to_vec()),
            },
            other => other.clone(),
        }
    }
}

/// Who paid: one member for the whole amount, or several with their amounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payment<K> {
    /// One member paid it all.
    Single(K),
    /// Several members, each with an amount; they add up to the expense's amount.
    Several(Vec<PayerInput<K>>),
}

impl<K> Payment<K> {
    /// From the API's two mutually exclusive fields `paid_by` and `payers`.
    pub fn from_fields(
        paid_by: Option<K>,
        payers: Option<Vec<PayerInput<K>>>,
    ) -> Result<Self, ValidationErrors> {
        match (paid_by, payers) {
            (Some(one), None) => Ok(Self::Single(one)),
            (None, Some(many)) => Ok(Self::Several(many)),
            (Some(_), Some(_)) => Err(ValidationErrors::one(
                "payers",
                "payer_conflict",
                "give either paid_by or payers, not both",
            )),
            (None, None) => Err(ValidationErrors::one(
                "paid_by",
                "required",
                "give paid_by (one payer) or payers (several)",
            )),
        }
    }
}

/// One member's part of an expense, in minor units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Portion<K> {
    /// The member.
    pub user_id: K,
    /// Minor units.
    pub amount: Minor,
}

/// One participant row as stored: what the member paid and what they owe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParticipantRow<K> {
    /// The member.
    pub user_id: K,
    /// Minor units paid.
    pub paid: Minor,
    /// Minor units owed.
    pub owed: Minor,
}

/// The computed allocation of one expense. `payers` and `shares` are sorted by member and
/// each adds up to `amount` exactly; members with a zero share are left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allocation<K> {
    /// The expense's currency.
    pub currency: Currency,
    /// The expense's amount in minor units.
    pub amount: Minor,
    /// Who paid how much.
    pub payers: Vec<Portion<K>>,
    /// Who owes how much.
    pub shares: Vec<Portion<K>>,
}

impl<K: MemberKey> Allocation<K> {
    /// The per-participant rows (sorted by member): Σ paid = Σ owed = amount.
    pub fn rows(&self) -> Result<Vec<ParticipantRow<K>>, Overflow> {
        rows_from(&self.payers, &self.shares)
    }
}

/// Merges payers and shares into one row per participant, sorted by member. Allocation
/// lists a member at most once in each, but hand-built lists may repeat one: their portions
/// add up, checked, so no list can make a row wrap or clamp.
pub fn rows_from<K: MemberKey>(
    payers: &[Portion<K>],
    shares: &[Portion<K>],
) -> Result<Vec<ParticipantRow<K>>, Overflow> {
    let mut rows: std::collections::BTreeMap<K, (Minor, Minor)> = std::collections::BTreeMap::new();
    for p in payers {
        let slot = &mut rows.entry(p.user_id.clone()).or_default().0;
        *slot = slot.checked_add(p.amount).ok_or(Overflow)?;
    }
    for s in shares {
        let slot = &mut rows.entry(s.user_id.clone()).or_default().1;
        *slot = slot.checked_add(s.amount).ok_or(Overflow)?;
    }
    Ok(rows
        .into_iter()
        .map(|(user_id, (paid, owed))| ParticipantRow {
            user_id,
            paid,
            owed,
        })
        .collect())
}

/// The tie-break rank of `member` within expense `seed`: FNV-1a (64 bit) over the seed's
/// bytes, a 0xFF separator and the member's text form. Part of the contract: the browser
/// module and the server must agree on it.
pub fn tie_break_rank(seed: &str, member: &str) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET;
    for byte in seed
        .bytes()
        .chain(std::iter::once(0xFF))
        .chain(member.bytes())
    {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(PRIME);
    }
    hash
}

/// Splits `amount` minor units in proportion to integer `weights` (total > 0) by the
/// largest remainder method, with ties broken by [`tie_break_rank`].
pub fn largest_remainder<K: MemberKey>(
    seed: &str,
    amount: i64,
    weights: &[(K, i128)],
) -> Vec<Portion<K>> {
    let total: i128 = weights.iter().map(|(_, w)| *w).sum();
    debug_assert!(total > 0);
    let amount_wide = i128::from(amount);
    let mut parts: Vec<(i64, i128, u64, usize)> = Vec::with_capacity(weights.len());
    let mut given: i64 = 0;
    for (index, (key, weight)) in weights.iter().enumerate() {
        let exact = amount_wide * weight;
        // Weights and amounts are bounded, so the floor fits in i64.
        let floor = i64::try_from(exact / total).unwrap_or(i64::MAX);
        given += floor;
        let rank = tie_break_rank(seed, &key.to_string());
        parts.push((floor, exact % total, rank, index));
    }
    let mut order: Vec<usize> = (0..parts.len()).collect();
    order.sort_by(|&a, &b| {
        let (pa, pb) = (&parts[a], &parts[b]);
        pb.1.cmp(&pa.1)
            .then(pa.2.cmp(&pb.2))
            .then_with(|| weights[pa.3].0.cmp(&weights[pb.3].0))
    });
    let leftover = usize::try_from(amount - given).unwrap_or(0);
    for &i in order.iter().take(leftover) {
        parts[i].0 += 1;
    }
    let mut out: Vec<Portion<K>> = weights
        .iter()
        .zip(parts)
        .filter(|(_, part)| part.0 != 0)
        .map(|((key, _), part)| Portion {
            user_id: key.clone(),
            amount: Minor::new(part.0),
        })
        .collect();
    out.sort_by(|a, b| a.user_id.cmp(&b.user_id));
    out
}

/// An expense's money as a request gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitRequest<'a, K> {
    /// The expense id (its text form seeds the tie-break).
    pub seed: &'a str,
    /// The expense's amount, a decimal string.
    pub amount: &'a str,
    /// The expense's currency.
    pub currency: Currency,
    /// Who paid.
    pub payment: &'a Payment<K>,
    /// How it is split.
    pub split: &'a SplitInput<K>,
    /// The group's current members in join order: everyone named must be one, and an equal
    /// split that names nobody is among all of them.
    pub members: &'a [K],
}

/// Computes the allocation of one expense, or every reason it cannot be computed.
pub fn allocate<K: MemberKey>(
    request: &SplitRequest<'_, K>,
) -> Result<Allocation<K>, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    let currency = request.currency;
    let members: HashSet<&K> = request.members.iter().collect();
    let amount = match currency.parse_amount(request.amount) {
        Ok(amount) => Some(amount),
        Err(e) => {
            errors.push(e.at("amount"));
            None
        }
    };
    let mut check_member = |errors: &mut ValidationErrors, key: &K, field: String| {
        if !members.contains(key) {
            errors.push(FieldError::new(
                field,
                "not_a_member",
                format!("{key} is not a member of this group"),
            ));
        }
    };

    let payers = match request.payment {
        Payment::Single(key) => {
            check_member(&mut errors, key, "paid_by".into());
            amount.map(|a| {
                vec![Portion {
                    user_id: key.clone(),
                    amount: Minor::new(a),
                }]
            })
        }
        Payment::Several(list) => {
            let mut portions = Vec::with_capacity(list.len());
            let mut seen = HashSet::new();
            if list.is_empty() {
                errors.push(FieldError::new(
                    "payers",
                    "required",
                    "name at least one payer",
                ));
            }
            for (i, p) in list.iter().enumerate() {
                check_member(&mut errors, &p.user_id, format!("payers[{i}].user_id"));
                if !seen.insert(&p.user_id) {
                    errors.push(duplicate(format!("payers[{i}].user_id"), &p.user_id));
                }
                match currency.parse_amount(&p.amount) {
                    Ok(minor) => portions.push(Portion {
                        user_id: p.user_id.clone(),
                        amount: Minor::new(minor),
                    }),
                    Err(e) => errors.push(e.at(format!("payers[{i}].amount"))),
                }
            }
            if let Some(total) = amount
                && portions.len() == list.len()
                && !list.is_empty()
                && portions.iter().map(|p| i128::from(p.amount)).sum::<i128>() != i128::from(total)
            {
                errors.push(FieldError::new(
                    "payers",
                    "sum_mismatch",
                    "the payers' amounts must add up to the expense's amount",
                ));
            }
            portions.sort_by(|a, b| a.user_id.cmp(&b.user_id));
            Some(portions)
        }
    };

    let shares = split_shares(request, amount, &mut errors, &mut check_member);
    errors.into_result()?;
    match (amount, payers, shares) {
        (Some(amount), Some(payers), Some(shares)) => Ok(Allocation {
            currency,
            amount: Minor::new(amount),
            payers,
            shares,
        }),
        // Every path that leaves a part missing has recorded why.
        _ => Err(ValidationErrors::one(
            "amount",
            "invalid_amount",
            "the expense cannot be allocated",
        )),
    }
}

fn duplicate<K: Display>(field: String, key: &K) -> FieldError {
    FieldError::new(field, "duplicate_member", format!("{key} is listed twice"))
}

fn split_shares<K: MemberKey>(
    request: &SplitRequest<'_, K>,
    amount: Option<i64>,
    errors: &mut ValidationErrors,
    check_member: &mut impl FnMut(&mut ValidationErrors, &K, String),
) -> Option<Vec<Portion<K>>> {
    let currency = request.currency;
    let mut seen = HashSet::new();
    let mut named = |errors: &mut ValidationErrors, key: &K, field: String| {
        check_member(errors, key, field.clone());
        if !seen.insert(key.clone()) {
            errors.push(duplicate(field, key));
        }
    };
    match request.split {
        SplitInput::Equal { members } => {
            let list: &[K] = members.as_deref().unwrap_or(request.members);
            if list.is_empty() {
                errors.push(FieldError::new(
                    "split.members",
                    "empty_split",
                    "name at least one member",
                ));
            }
            for (i, key) in list.iter().enumerate() {
                named(errors, key, format!("split.members[{i}]"));
            }
            let weights: Vec<(K, i128)> = list.iter().map(|k| (k.clone(), 1)).collect();
            weighted(request.seed, amount, &weights, errors)
        }
        SplitInput::Exact { shares } => {
            if shares.is_empty() {
                errors.push(FieldError::new(
                    "split.shares",
                    "empty_split",
                    "name at least one member",
                ));
            }
            let mut out = Vec::with_capacity(shares.len());
            for (i, s) in shares.iter().enumerate() {
                named(errors, &s.user_id, format!("split.shares[{i}].user_id"));
                match currency.parse_non_negative(&s.amount) {
                    Ok(minor) => out.push(Portion {
                        user_id: s.user_id.clone(),
                        amount: Minor::new(minor),
                    }),
                    Err(e) => errors.push(e.at(format!("split.shares[{i}].amount"))),
                }
            }
            let total = amount?;
            if out.len() != shares.len() || shares.is_empty() {
                return None;
            }
            if out.iter().map(|p| i128::from(p.amount)).sum::<i128>() != i128::from(total) {
                errors.push(FieldError::new(
                    "split.shares",
                    "sum_mismatch",
                    "the exact shares must add up to the expense's amount",
                ));
                return None;
            }
            out.retain(|p| !p.amount.is_zero());
            out.sort_by(|a, b| a.user_id.cmp(&b.user_id));
            Some(out)
        }
        SplitInput::Percent { shares } => {
            let entries = shares.iter().map(|s| (&s.user_id, s.percent.as_str()));
            let weights = scaled_entries(
                entries,
                ("percent", MAX_PERCENT_DECIMALS, 100),
                (
                    "invalid_percent",
                    "a percentage from 0 to 100 with at most two decimals",
                ),
                errors,
                &mut named,
            )?;
            if weights.iter().map(|(_, w)| *w).sum::<i128>()
                != 100 * 10_i128.pow(MAX_PERCENT_DECIMALS)
            {
                errors.push(FieldError::new(
                    "split.shares",
                    "percent_sum",
                    "the percentages must add up to exactly 100",
                ));
                return None;
            }
            weighted(request.seed, amount, &weights, errors)
        }
        SplitInput::Shares { shares } => {
            let entries = shares.iter().map(|s| (&s.user_id, s.weight.as_str()));
            let weights = scaled_entries(
                entries,
                ("weight", MAX_WEIGHT_DECIMALS, MAX_WEIGHT),
                (
                    "invalid_weight",
                    "a weight from 0 to 1000000 with at most six decimals",
                ),
                errors,
                &mut named,
            )?;
            if weights.iter().all(|(_, w)| *w == 0) {
                errors.push(FieldError::new(
                    "split.shares",
                    "weights_zero",
                    "at least one weight must be greater than zero",
                ));
                return None;
            }
            weighted(request.seed, amount, &weights, errors)
        }
    }
}

/// Parses the percentages or weights of a split into integers scaled by 10^decimals, naming
/// each member; `None` (with the reasons recorded) unless every entry parsed.
fn scaled_entries<'a, K: MemberKey + 'a>(
    entries: impl ExactSizeIterator<Item = (&'a K, &'a str)>,
    (value, decimals, max): (&str, u32, i64),
    (code, message): (&'static str, &str),
    errors: &mut ValidationErrors,
    named: &mut impl FnMut(&mut ValidationErrors, &K, String),
) -> Option<Vec<(K, i128)>> {
    let count = entries.len();
    if count == 0 {
        errors.push(FieldError::new(
            "split.shares",
            "empty_split",
            "name at least one member",
        ));
    }
    let mut weights = Vec::with_capacity(count);
    for (i, (key, text)) in entries.enumerate() {
        named(errors, key, format!("split.shares[{i}].user_id"));
        match scaled(text, decimals, max) {
            Some(w) => weights.push((key.clone(), w)),
            None => errors.push(FieldError::new(
                format!("split.shares[{i}].{value}"),
                code,
                message,
            )),
        }
    }
    (count > 0 && weights.len() == count).then_some(weights)
}

fn weighted<K: MemberKey>(
    seed: &str,
    amount: Option<i64>,
    weights: &[(K, i128)],
    errors: &ValidationErrors,
) -> Option<Vec<Portion<K>>> {
    if !errors.is_empty() || weights.is_empty() {
        return None;
    }
    Some(largest_remainder(seed, amount?, weights))
}

/// A non-negative decimal with at most `decimals` decimals and at most `max`, as an integer
/// scaled by 10^decimals.
fn scaled(text: &str, decimals: u32, max: i64) -> Option<i128> {
    let value = PlainDecimal::parse(text)?;
    if value.negative && !value.is_zero() {
        return None;
    }
    let scaled = value.scaled(decimals)?;
    (scaled <= i128::from(max) * 10_i128.pow(decimals)).then_some(scaled)
}

#[cfg(test)]
mod tests;
