//! Exchange rates and the exact arithmetic of converting amounts between currencies.
//!
//! A [`Rate`] is the decimal a person typed (units of the target currency per unit of the
//! source currency), held exactly as an integer mantissa and a decimal scale. Converting is
//! pure integer arithmetic in 128 bits, never a float and never a rounded decimal:
//!
//! - [`convert`]: one amount, rounded half to even to the target currency's minor unit (the
//!   total of an expense booked in another currency);
//! - [`convert_rows`]: the payers or shares of such an expense, which must add up to exactly
//!   that converted total;
//! - [`convert_nets`]: every member's net in a conversion of balances, which must add up to
//!   exactly zero.
//!
//! Rows and nets use the largest remainder rule of the API: each gets floor(x × rate) in minor
//! units (towards minus infinity), and the units left over go one each to the largest
//! fractional parts, ties broken by [`tie_break_rank`] and then by member, exactly as
//! [`split::largest_remainder`](crate::split::largest_remainder) breaks them.
//!
//! # Why the leftover always fits
//!
//! Write each row's exact converted value as `x_i = f_i + r_i` with `f_i` an integer and
//! `0 ≤ r_i < 1`, `F = Σ f_i`, `S = Σ x_i` and `m` the number of rows with `r_i > 0`. Because
//! the total is converted from the sum of the *same* rows at the *same* rate, `S` is exactly
//! the exact converted total and `S − F = Σ r_i`, which lies in `[0, m)` (it is 0 when
//! `m = 0`). The rounded total `T` is `floor(S)` or `ceil(S)`, so the leftover `T − F` is
//! `floor(Σ r_i) ≥ 0` or `ceil(Σ r_i) ≤ m`: never negative (rounding the total down can only
//! lower it to `F + floor(Σ r_i)`, never below `F`), and never more than the rows that have a
//! fraction. So no row ever loses a unit, no row gains more than one, a unit only goes to a row
//! with a fraction, and every row ends strictly within one minor unit of its exact value. For
//! nets the target is 0 = `S`, so the leftover is exactly `Σ r_i`, an integer below `m`. The
//! code still checks the bounds and answers [`ConvertError::Unbalanced`] rather than
//! panicking if they were ever broken (it would be a bug, e.g. nets that do not add up to
//! zero).
//!
//! # Why 128 bits are enough
//!
//! The exact value of `amount` minor units of `from` in minor units of `to` is
//! `amount × mantissa × 10^(to.minor_units − from.minor_units − scale)`. With |amount| < 2^63
//! and a mantissa below 10^12, `|amount × mantissa| < 9.3 × 10^30`; multiplied by at most
//! 10^4 (no ISO currency has more than four decimals) it stays below 10^35, far inside i128.
//! A negative exponent divides by 10^k; k is unbounded (a rate may be `0.000…01`), but once
//! 10^k exceeds twice the numerator the floor (0 or −1), the ordering of the remainders and the
//! half-to-even decision no longer depend on k, so k is capped at 38 (10^38 fits in i128)
//! without changing any result.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::ValidationErrors;
use crate::money::{Currency, MAX_MAJOR_UNITS, Minor, MoneyError};
use crate::split::{Allocation, MemberKey, Portion, tie_break_rank};

/// Most significant digits an exchange rate may carry (the API's contract).
pub const MAX_RATE_DIGITS: usize = 12;

/// The largest power of ten used as a divisor: 10^38 still fits an i128 and exceeds twice any
/// numerator (below 10^31), which is all exactness needs (see the module documentation).
const MAX_DIVISOR_EXPONENT: u32 = 38;

/// An exact, positive exchange rate: units of the target currency per unit of the source.
///
/// Parsed from a plain decimal string with at most [`MAX_RATE_DIGITS`] significant digits:
/// `"1.5"`, `"0.0091"`, `"1234567.89012"`. Refused, as amounts are: exponents (`"1e3"`),
/// signs (`"+1"`; `"-1"` is not positive), spaces anywhere, `".5"`, `"1."`, zero.
///
/// Significant digits are counted from the first non-zero digit to the last digit written,
/// so zeros at the end count (`"1.50"` has three, `"1000000000000"` has thirteen and is
/// refused): every digit written is kept, and a rate is therefore always below 10^12.
///
/// What a person entered round-trips: [`Rate`] displays and serialises as the digits given,
/// trailing zeros included (`"1.50"` stays `"1.50"`), with only leading zeros dropped
/// (`"007.5"` is `"7.5"`, `"00.25"` is `"0.25"`) since they never carry meaning. Equality
/// follows that text: `"1.5"` and `"1.50"` are equal in value but are different `Rate`s,
/// exactly as their texts differ. Conversions only depend on the value.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rate {
    /// The digits as an integer (below 10^12, never zero).
    mantissa: u64,
    /// How many of them are decimals: the rate is `mantissa / 10^scale`.
    scale: u32,
}

impl Rate {
    /// Parses a rate as the API spells it (see [`Rate`] for the rules).
    ///
    /// Errors: `invalid_rate` ([`MoneyError::InvalidRate`]) for anything but a plain decimal,
    /// `rate_not_positive` for zero or a negative number, `rate_too_precise` for more than
    /// [`MAX_RATE_DIGITS`] significant digits.
    pub fn parse(text: &str) -> Result<Self, MoneyError> {
        // Parsed by hand (not through `PlainDecimal`, which drops trailing zeros) so that the
        // digits given are kept and the text round-trips.
        let (negative, unsigned) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (int, frac) = match unsigned.split_once('.') {
            Some((int, frac)) => (int, Some(frac)),
            None => (unsigned, None),
        };
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(int) || frac.is_some_and(|f| !all_digits(f)) {
            return Err(MoneyError::InvalidRate);
        }
        let frac = frac.unwrap_or("");
        let significant: Vec<u8> = int
            .bytes()
            .chain(frac.bytes())
            .skip_while(|&b| b == b'0')
            .collect();
        // A sign only ever makes a rate refused: "-0" is zero and "-1" negative, both not
        // positive, as `"-5.00"` is for amounts.
        if significant.is_empty() || negative {
            return Err(MoneyError::RateNotPositive);
        }
        if significant.len() > MAX_RATE_DIGITS {
            return Err(MoneyError::RateTooPrecise);
        }
        // At most 12 digits: the fold stays below 10^12.
        let mantissa = significant
            .iter()
            .fold(0_u64, |acc, &b| acc * 10 + u64::from(b - b'0'));
        // Only a fraction of more than four billion digits (nearly all leading zeros) could
        // miss a u32; nobody can send one, but it must not panic.
        let scale = u32::try_from(frac.len()).map_err(|_| MoneyError::InvalidRate)?;
        Ok(Self { mantissa, scale })
    }

    /// The digits of the rate as an integer (below 10^12, at least 1).
    pub fn mantissa(self) -> u64 {
        self.mantissa
    }

    /// How many of the digits are decimals: the rate is `mantissa / 10^scale`.
    pub fn scale(self) -> u32 {
        self.scale
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.mantissa.to_string();
        let scale = self.scale as usize;
        let text = if scale == 0 {
            digits
        } else if digits.len() > scale {
            let (int, frac) = digits.split_at(digits.len() - scale);
            format!("{int}.{frac}")
        } else {
            // A rate below 1: "0." then the zeros between the point and the first digit.
            format!("0.{}{digits}", "0".repeat(scale - digits.len()))
        };
        f.pad(&text)
    }
}

impl fmt::Debug for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Rate({self})")
    }
}

impl FromStr for Rate {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// A rate travels as its decimal string (`"1.0835"`), never as a JSON number.
impl Serialize for Rate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Why a conversion could not be computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    /// A converted amount, or the sum of the amounts given, does not fit in 64-bit minor units.
    #[error("a converted amount does not fit in 64-bit minor units")]
    TooLarge,
    /// The amounts cannot be made to add up to the required total: nets that do not add up to
    /// zero. For rows it cannot happen (see the module documentation); it is checked anyway.
    #[error("the converted amounts cannot add up to the required total")]
    Unbalanced,
}

impl ConvertError {
    /// The stable machine-readable code: `amount_too_large` (the code of an amount past its
    /// bound, so a conversion too large reads like any other) or `conversion_unbalanced`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge => "amount_too_large",
            Self::Unbalanced => "conversion_unbalanced",
        }
    }
}

/// An exact converted value in minor units of the target currency: `floor + rem / den`, with
/// `0 ≤ rem < den`. The values of one conversion share `den`, so comparing `rem` compares
/// fractional parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Exact {
    floor: i128,
    rem: i128,
    den: i128,
}

impl Exact {
    /// `amount` minor units of `from` times `rate`, in minor units of `to`.
    fn of(amount: i64, from: Currency, to: Currency, rate: Rate) -> Result<Self, ConvertError> {
        // |amount × mantissa| < 2^63 × 10^12 < 9.3 × 10^30: cannot overflow, checked anyway.
        let numerator = i128::from(amount)
            .checked_mul(i128::from(rate.mantissa))
            .ok_or(ConvertError::TooLarge)?;
        let shift =
            i64::from(to.minor_units()) - i64::from(from.minor_units()) - i64::from(rate.scale);
        if shift >= 0 {
            // At most 10^4 more (the most decimals a currency has): an exact integer.
            let factor = u32::try_from(shift)
                .ok()
                .and_then(|s| 10_i128.checked_pow(s))
                .ok_or(ConvertError::TooLarge)?;
            let floor = numerator
                .checked_mul(factor)
                .ok_or(ConvertError::TooLarge)?;
            return Ok(Self {
                floor,
                rem: 0,
                den: 1,
            });
        }
        // Dividing by 10^k with k > 38 gives the same floor (0 or −1), the same order of
        // remainders (each is the numerator, or the divisor plus a negative numerator) and the
        // same half-to-even decision as dividing by 10^38, since 10^38 > 2 × |numerator|.
        let exponent = u32::try_from(shift.unsigned_abs())
            .unwrap_or(MAX_DIVISOR_EXPONENT)
            .min(MAX_DIVISOR_EXPONENT);
        let den = 10_i128.pow(exponent);
        Ok(Self {
            floor: numerator.div_euclid(den),
            rem: numerator.rem_euclid(den),
            den,
        })
    }

    /// Rounded half to even to a whole minor unit.
    fn round_half_even(self) -> i128 {
        // `den − rem` rather than `2 × rem`: no doubling near the top of i128.
        match self.rem.cmp(&(self.den - self.rem)) {
            Ordering::Less => self.floor,
            Ordering::Greater => self.floor + 1,
            Ordering::Equal if self.floor.rem_euclid(2) == 0 => self.floor,
            Ordering::Equal => self.floor + 1,
        }
    }
}

/// Converts `amount` minor units of `from` into minor units of `to` at `rate`, rounded half to
/// even (`0.125` → `0.12`, `0.135` → `0.14`, `-0.125` → `-0.12`).
///
/// Exact for every i64 amount and every rate; [`ConvertError::TooLarge`] when the result
/// leaves i64. It does not check [`TOTAL_LIMIT`](crate::money::TOTAL_LIMIT) or
/// [`MAX_MAJOR_UNITS`]: callers apply the bound of what they store ([`book`] does).
pub fn convert(amount: i64, from: Currency, to: Currency, rate: Rate) -> Result<i64, ConvertError> {
    let rounded = Exact::of(amount, from, to, rate)?.round_half_even();
    i64::try_from(rounded).map_err(|_| ConvertError::TooLarge)
}

/// The payers or the shares of an expense converted into the currency it is booked in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvertedRows<K> {
    /// The rows' total converted by [`convert`]: what the rows add up to.
    pub total: i64,
    /// One row per row given, in the same order, with its amount in minor units of the target
    /// currency. A row may come out zero (a tiny amount at a small rate); it is kept, so the
    /// caller decides, as allocation does, whether to leave it out.
    pub rows: Vec<(K, i64)>,
}

/// Converts the rows of an expense (its payers, or its shares) from `from` into `to` at
/// `rate`, so that they add up to exactly the converted total.
///
/// The total is [`convert`] applied to the rows' sum (so the payers and the shares of one
/// expense, which both add up to its amount, get the same total). Each row gets
/// floor(row × rate) in minor units of `to`; the units left over go one each to the rows with
/// the largest fractional parts, ties broken by [`tie_break_rank`]`(seed, member)` and then by
/// member, as in allocation; `seed` is the expense id's text. Every row ends strictly within
/// one minor unit of its exact value.
///
/// Rows are amounts paid or owed, so non-negative, but a negative row is converted by the same
/// rule (floor towards minus infinity) and the sum is still exact.
/// [`ConvertError::TooLarge`] when the rows' sum or a result leaves i64.
pub fn convert_rows<K: MemberKey>(
    seed: &str,
    rows: &[(K, i64)],
    from: Currency,
    to: Currency,
    rate: Rate,
) -> Result<ConvertedRows<K>, ConvertError> {
    let sum = rows
        .iter()
        .try_fold(0_i64, |acc, (_, amount)| acc.checked_add(*amount))
        .ok_or(ConvertError::TooLarge)?;
    let total = Exact::of(sum, from, to, rate)?.round_half_even();
    let parts = exact_parts(rows, from, to, rate)?;
    let amounts = distribute(seed, rows, &parts, total)?;
    Ok(ConvertedRows {
        total: i64::try_from(total).map_err(|_| ConvertError::TooLarge)?,
        rows: rows
            .iter()
            .zip(amounts)
            .map(|((key, _), amount)| (key.clone(), amount))
            .collect(),
    })
}

/// One member's row of a conversion of balances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvertedNet<K> {
    /// The member.
    pub user_id: K,
    /// Their net in the source currency before the conversion (signed, never zero).
    pub from_amount: i64,
    /// What is added to their net in the target currency (signed; may be zero for a tiny net).
    pub to_amount: i64,
}

/// Converts every member's net in `from` into `to` at `rate` for a conversion of balances.
///
/// `nets` must add up to zero ([`ConvertError::Unbalanced`] otherwise). Each member gets
/// floor(net × rate) in minor units of `to`, towards minus infinity; the units left over
/// (0 − the sum of the floors, so that the converted nets add up to exactly zero) go one each
/// to the members with the largest fractional parts, ties broken by
/// [`tie_break_rank`]`(seed, member)` and then by member; `seed` is the conversion id's text.
/// Members with a zero net get no row (they have no fraction, so they would never get a
/// unit). The rows come sorted by member and their `to_amount`s add up to exactly zero.
pub fn convert_nets<K: MemberKey>(
    seed: &str,
    nets: &[(K, i64)],
    from: Currency,
    to: Currency,
    rate: Rate,
) -> Result<Vec<ConvertedNet<K>>, ConvertError> {
    let nets: Vec<(K, i64)> = nets.iter().filter(|(_, net)| *net != 0).cloned().collect();
    // Each net fits an i64 and there are fewer than 2^64 of them: the sum fits an i128.
    let sum: i128 = nets.iter().map(|(_, net)| i128::from(*net)).sum();
    if sum != 0 {
        return Err(ConvertError::Unbalanced);
    }
    let parts = exact_parts(&nets, from, to, rate)?;
    let amounts = distribute(seed, &nets, &parts, 0)?;
    let mut out: Vec<ConvertedNet<K>> = nets
        .into_iter()
        .zip(amounts)
        .map(|((user_id, from_amount), to_amount)| ConvertedNet {
            user_id,
            from_amount,
            to_amount,
        })
        .collect();
    out.sort_by(|a, b| a.user_id.cmp(&b.user_id));
    Ok(out)
}

fn exact_parts<K>(
    rows: &[(K, i64)],
    from: Currency,
    to: Currency,
    rate: Rate,
) -> Result<Vec<Exact>, ConvertError> {
    rows.iter()
        .map(|(_, amount)| Exact::of(*amount, from, to, rate))
        .collect()
}

/// The largest remainder rule: each row gets its floor, and `target − Σ floors` rows get one
/// unit more, largest fractional part first, then lowest tie-break rank, then lowest member
/// (then the order given, for a member listed twice: the sort is stable). `parts` must share
/// one divisor, as the values of one conversion do.
fn distribute<K: MemberKey>(
    seed: &str,
    rows: &[(K, i64)],
    parts: &[Exact],
    target: i128,
) -> Result<Vec<i64>, ConvertError> {
    let floors = parts
        .iter()
        .try_fold(0_i128, |acc, part| acc.checked_add(part.floor))
        .ok_or(ConvertError::TooLarge)?;
    // Proven to lie in 0..=n for the sums given here (module documentation); a leftover
    // outside it would mean a unit taken from or added twice to a row, so it is refused.
    let leftover = target
        .checked_sub(floors)
        .and_then(|l| usize::try_from(l).ok())
        .filter(|&l| l <= parts.len())
        .ok_or(ConvertError::Unbalanced)?;
    let mut amounts: Vec<i128> = parts.iter().map(|part| part.floor).collect();
    if leftover > 0 {
        let ranks: Vec<u64> = rows
            .iter()
            .map(|(key, _)| tie_break_rank(seed, &key.to_string()))
            .collect();
        let mut order: Vec<usize> = (0..parts.len()).collect();
        order.sort_by(|&a, &b| {
            parts[b]
                .rem
                .cmp(&parts[a].rem)
                .then(ranks[a].cmp(&ranks[b]))
                .then_with(|| rows[a].0.cmp(&rows[b].0))
        });
        for &i in order.iter().take(leftover) {
            amounts[i] += 1;
        }
    }
    amounts
        .into_iter()
        .map(|amount| i64::try_from(amount).map_err(|_| ConvertError::TooLarge))
        .collect()
}

#[cfg(test)]
mod tests;

/// An expense's allocation booked in another currency: its payers and shares converted at
/// `rate` into `to` ([`convert_rows`] on each list: the total half to even, the rows by the
/// largest remainder rule, so both lists add up to exactly the converted total). Rows that
/// convert to nothing are left out, as allocation leaves out empty shares; a total that
/// converts to nothing, or past `to`'s largest amount, is refused.
pub fn book<K: MemberKey>(
    seed: &str,
    allocation: &Allocation<K>,
    to: Currency,
    rate: Rate,
) -> Result<Allocation<K>, ValidationErrors> {
    let from = allocation.currency;
    let too_large = |_| {
        ValidationErrors::one(
            "exchange_rate",
            "amount_too_large",
            "the converted amount is too large",
        )
    };
    let mut total = 0;
    let mut convert_list = |list: &[Portion<K>]| -> Result<Vec<Portion<K>>, ValidationErrors> {
        let rows: Vec<(K, i64)> = (list.iter())
            .map(|p| (p.user_id.clone(), p.amount.get()))
            .collect();
        let converted = convert_rows(seed, &rows, from, to, rate).map_err(too_large)?;
        total = converted.total;
        Ok((converted.rows.into_iter())
            .filter(|(_, amount)| *amount != 0)
            .map(|(user_id, amount)| Portion {
                user_id,
                amount: Minor::new(amount),
            })
            .collect())
    };
    let payers = convert_list(&allocation.payers)?;
    let shares = convert_list(&allocation.shares)?;
    if total <= 0 {
        return Err(ValidationErrors::one(
            "exchange_rate",
            "amount_not_positive",
            "the amount converts to nothing in the group's currency",
        ));
    }
    if i128::from(total) > i128::from(MAX_MAJOR_UNITS) * i128::from(to.scale_factor()) {
        return Err(too_large(ConvertError::TooLarge));
    }
    Ok(Allocation {
        currency: to,
        amount: Minor::new(total),
        payers,
        shares,
    })
}
