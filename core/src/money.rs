//! Currencies and exact amounts.
//!
//! Amounts enter as decimal strings, are checked against their currency's ISO 4217 minor
//! units and live as integer minor units from then on. Nothing here is ever a float.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::FieldError;

/// The largest amount accepted, in major units (10^12).
pub const MAX_MAJOR_UNITS: i64 = 1_000_000_000_000;

/// An ISO 4217 currency that has minor units defined (so not XAU, XXX and the like).
///
/// The table comes from the `iso_currency` crate, which follows the ISO maintenance agency.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency(iso_currency::Currency);

impl Currency {
    /// Parses a three-letter code, case-insensitively (`"eur"` is EUR).
    pub fn parse(code: &str) -> Result<Self, MoneyError> {
        // Three letters in either case ("eur" is EUR, as clients have always been able to
        // send), nothing else: " EUR" is refused, as the API's schema (`^[A-Za-z]{3}$`) says.
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(MoneyError::UnknownCurrency);
        }
        let upper = code.to_ascii_uppercase();
        let currency =
            iso_currency::Currency::from_code(&upper).ok_or(MoneyError::UnknownCurrency)?;
        // Funds and metals carry no minor unit; they are not money people split.
        if currency.exponent().is_none() {
            return Err(MoneyError::UnknownCurrency);
        }
        Ok(Self(currency))
    }

    /// The three-letter code, e.g. `"EUR"`.
    pub fn code(self) -> &'static str {
        self.0.code()
    }

    /// How many decimals the currency's minor unit has (JPY 0, EUR 2, KWD 3).
    pub fn minor_units(self) -> u32 {
        u32::from(self.0.exponent().unwrap_or(0))
    }

    pub(crate) fn scale_factor(self) -> i64 {
        10_i64.pow(self.minor_units())
    }

    /// Parses a positive decimal string into minor units of this currency.
    ///
    /// Refuses more decimals than the currency has (`"1.005"` EUR), zero, negatives and
    /// anything above [`MAX_MAJOR_UNITS`]. Trailing zeros are not decimals that matter:
    /// `"1.50"` and `"1.500"` are both 150 cents.
    pub fn parse_amount(self, text: &str) -> Result<i64, MoneyError> {
        let minor = self.parse_non_negative(text)?;
        if minor == 0 {
            return Err(MoneyError::NotPositive);
        }
        Ok(minor)
    }

    /// Like [`Currency::parse_amount`] but accepts zero (a share of nothing).
    pub fn parse_non_negative(self, text: &str) -> Result<i64, MoneyError> {
        let value = PlainDecimal::parse(text).ok_or(MoneyError::Invalid)?;
        if value.negative && !value.is_zero() {
            return Err(MoneyError::NotPositive);
        }
        let units = self.minor_units();
        if value.frac.len() > units as usize {
            return Err(MoneyError::TooPrecise { minor_units: units });
        }
        // 10^12 times at most 10^4 fits 64 bits; a 128-bit product is a software call in wasm.
        let max = i128::from(MAX_MAJOR_UNITS.saturating_mul(self.scale_factor()));
        match value.scaled(units) {
            Some(minor) if minor <= max => i64::try_from(minor).map_err(|_| MoneyError::TooLarge),
            _ => Err(MoneyError::TooLarge),
        }
    }

    /// Formats minor units as a decimal string with exactly the currency's decimals.
    pub fn format(self, minor: i64) -> String {
        let units = self.minor_units();
        if units == 0 {
            return minor.to_string();
        }
        let factor = self.scale_factor().unsigned_abs();
        let sign = if minor < 0 { "-" } else { "" };
        let abs = minor.unsigned_abs();
        format!(
            "{sign}{}.{:0width$}",
            abs / factor,
            abs % factor,
            width = units as usize
        )
    }
}

/// A plain decimal as people type it (`"12.34"`, `"-5"`, `"0.50"`): digits, at most one
/// point with digits on both sides, an optional leading `-`, surrounding spaces ignored.
/// Exponents, `+` signs, spaces inside, `".5"` and `"12."` are refused, so that what a
/// person sees is exactly what is stored. Parsed by hand rather than through a general
/// decimal type: it is exact, needs no rounding rules, and previews parse tens of thousands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PlainDecimal<'a> {
    /// Whether it started with `-`.
    pub negative: bool,
    /// The integer digits without leading zeros (empty for zero).
    pub int: &'a str,
    /// The fraction digits without trailing zeros (empty for none).
    pub frac: &'a str,
}

impl<'a> PlainDecimal<'a> {
    /// Parses, or `None` if the text is not a plain decimal.
    pub fn parse(text: &'a str) -> Option<Self> {
        // No surrounding spaces: what a person sees is what is stored.
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (int, frac) = match digits.split_once('.') {
            Some((int, frac)) => (int, Some(frac)),
            None => (digits, None),
        };
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(int) || frac.is_some_and(|f| !all_digits(f)) {
            return None;
        }
        Some(Self {
            negative,
            int: int.trim_start_matches('0'),
            frac: frac.unwrap_or("").trim_end_matches('0'),
        })
    }

    /// Whether the value is zero (`"0"`, `"-0.00"`).
    pub fn is_zero(&self) -> bool {
        self.int.is_empty() && self.frac.is_empty()
    }

    /// The magnitude times 10^decimals, if it has at most `decimals` decimals and fits
    /// (at most 30 integer digits, so the result always fits an i128).
    pub fn scaled(&self, decimals: u32) -> Option<i128> {
        let width = decimals as usize;
        if self.frac.len() > width || self.int.len() > 30 || width > 6 {
            return None;
        }
        let scale = (width - self.frac.len()) as u32;
        // Up to 18 digits (integer part plus `decimals`) fit 64 bits: the common case (every amount, most nets) skips the
        // 128-bit multiplications, which the browser module does in software.
        if self.int.len() + width <= 18 {
            let mut value: u64 = 0;
            for b in self.int.bytes().chain(self.frac.bytes()) {
                value = value * 10 + u64::from(b - b'0');
            }
            return Some(i128::from(value * 10_u64.pow(scale)));
        }
        let mut value: i128 = 0;
        for b in self.int.bytes().chain(self.frac.bytes()) {
            value = value * 10 + i128::from(b - b'0');
        }
        Some(value * 10_i128.pow(scale))
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Self::parse(&code).map_err(serde::de::Error::custom)
    }
}

/// The bound of every running total (each of paid, owed, sent, received per member and
/// currency, and each pairwise debt), in minor units: 10^18. A write that would take a total
/// past it is refused, so a net (a sum of four totals) and any sum the planner forms stay far
/// inside 64 bits, and nothing downstream can wrap, clamp or lie.
pub const TOTAL_LIMIT: i64 = 1_000_000_000_000_000_000;

/// A count of minor units (cents, yen, fils) without its currency: what rows and running
/// totals hold. It can only be added, subtracted, negated and compared through checked
/// operations; there is deliberately no `+` or `-`.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Minor(i64);

impl Minor {
    /// Zero.
    pub const ZERO: Minor = Minor(0);

    /// Wraps a count of minor units.
    pub const fn new(units: i64) -> Self {
        Self(units)
    }

    /// The count of minor units.
    pub const fn get(self) -> i64 {
        self.0
    }

    /// `self + other`, or `None` past 64 bits.
    pub fn checked_add(self, other: Minor) -> Option<Minor> {
        self.0.checked_add(other.0).map(Self)
    }

    /// `self − other`, or `None` past 64 bits.
    pub fn checked_sub(self, other: Minor) -> Option<Minor> {
        self.0.checked_sub(other.0).map(Self)
    }

    /// `−self`, or `None` for the one value without a negation.
    pub fn checked_neg(self) -> Option<Minor> {
        self.0.checked_neg().map(Self)
    }

    /// Whether it is zero.
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// Whether it lies within ±[`TOTAL_LIMIT`] (what a running total may hold).
    pub fn within_total_limit(self) -> bool {
        self.0.unsigned_abs() <= TOTAL_LIMIT.unsigned_abs()
    }
}

impl PartialEq<i64> for Minor {
    fn eq(&self, other: &i64) -> bool {
        self.0 == *other
    }
}

impl From<Minor> for i64 {
    fn from(m: Minor) -> i64 {
        m.0
    }
}

impl From<Minor> for i128 {
    fn from(m: Minor) -> i128 {
        i128::from(m.0)
    }
}

impl fmt::Debug for Minor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for Minor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// An exact amount: integer minor units and their currency.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    minor: i64,
    currency: Currency,
}

impl Money {
    /// An amount from minor units (may be negative, as nets are).
    pub fn from_minor(minor: i64, currency: Currency) -> Self {
        Self { minor, currency }
    }

    /// An amount from a count of minor units.
    pub fn new(units: Minor, currency: Currency) -> Self {
        Self::from_minor(units.get(), currency)
    }

    /// The amount as a count of minor units (without its currency).
    pub fn units(self) -> Minor {
        Minor(self.minor)
    }

    /// `self + other` in the same currency; `CurrencyMismatch` across currencies, `TooLarge`
    /// past 64 bits.
    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch);
        }
        let minor = self
            .minor
            .checked_add(other.minor)
            .ok_or(MoneyError::TooLarge)?;
        Ok(Self::from_minor(minor, self.currency))
    }

    /// `self − other` in the same currency (see [`Money::checked_add`]).
    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch);
        }
        let minor = self
            .minor
            .checked_sub(other.minor)
            .ok_or(MoneyError::TooLarge)?;
        Ok(Self::from_minor(minor, self.currency))
    }

    /// Formats another count of minor units in this amount's currency.
    pub fn format_units(self, units: Minor) -> String {
        self.currency.format(units.get())
    }

    /// Parses a positive amount (see [`Currency::parse_amount`]).
    pub fn parse(text: &str, currency: Currency) -> Result<Self, MoneyError> {
        Ok(Self::from_minor(currency.parse_amount(text)?, currency))
    }

    /// A positive amount from a `Decimal`, by the same rules as parsing its text (a scale
    /// beyond the currency's minor units is refused, not rounded).
    pub fn from_decimal(value: Decimal, currency: Currency) -> Result<Self, MoneyError> {
        Self::parse(&value.to_string(), currency)
    }

    /// The amount as a `Decimal` with the currency's scale (`12.30` for 1230 EUR cents).
    pub fn to_decimal(self) -> Decimal {
        Decimal::new(self.minor, self.currency.minor_units())
    }

    /// The amount in minor units.
    pub fn minor(self) -> i64 {
        self.minor
    }

    /// The currency.
    pub fn currency(self) -> Currency {
        self.currency
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad` so that width and alignment (`{:>8}`) work in tables.
        f.pad(&self.currency.format(self.minor))
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self, self.currency)
    }
}

/// Money travels as a decimal string (`"12.34"`); its currency travels beside it.
impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

/// A sum of many amounts in one currency (e.g. a person's nets over all their groups), held
/// in 128 bits because it may exceed what one amount can be. It is only ever shown.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sum {
    minor: i128,
    currency: Currency,
}

impl Sum {
    /// A sum of minor units.
    pub fn new(minor: i128, currency: Currency) -> Self {
        Self { minor, currency }
    }

    /// The sum in minor units.
    pub fn minor(self) -> i128 {
        self.minor
    }

    /// The currency.
    pub fn currency(self) -> Currency {
        self.currency
    }
}

impl fmt::Display for Sum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let units = self.currency.minor_units();
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        if units == 0 {
            return f.pad(&format!("{sign}{abs}"));
        }
        let factor = 10_u128.pow(units);
        f.pad(&format!(
            "{sign}{}.{:0width$}",
            abs / factor,
            abs % factor,
            width = units as usize
        ))
    }
}

impl fmt::Debug for Sum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self, self.currency)
    }
}

impl Serialize for Sum {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

/// Why an amount or currency was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// Not a plain decimal number.
    #[error("not a decimal amount")]
    Invalid,
    /// More decimals than the currency's minor unit allows.
    #[error("more decimals than the currency allows ({minor_units})")]
    TooPrecise {
        /// The currency's number of decimals.
        minor_units: u32,
    },
    /// Zero or negative.
    #[error("must be greater than zero")]
    NotPositive,
    /// Above the bound of 10^12 major units.
    #[error("too large (at most 10^12)")]
    TooLarge,
    /// Not an ISO 4217 currency with minor units.
    #[error("not an ISO 4217 currency code")]
    UnknownCurrency,
    /// Two amounts in different currencies met in one sum.
    #[error("amounts in different currencies cannot be added")]
    CurrencyMismatch,
    /// An exchange rate that is not a plain decimal number.
    #[error("not a decimal exchange rate")]
    InvalidRate,
    /// An exchange rate that is zero or negative.
    #[error("an exchange rate must be greater than zero")]
    RateNotPositive,
    /// An exchange rate with more significant digits than
    /// [`MAX_RATE_DIGITS`](crate::exchange::MAX_RATE_DIGITS).
    #[error("an exchange rate has at most 12 significant digits")]
    RateTooPrecise,
}

impl MoneyError {
    /// The stable machine-readable code of this refusal.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid => "invalid_amount",
            Self::TooPrecise { .. } => "amount_too_precise",
            Self::NotPositive => "amount_not_positive",
            Self::TooLarge => "amount_too_large",
            Self::UnknownCurrency => "unknown_currency",
            Self::CurrencyMismatch => "currency_mismatch",
            Self::InvalidRate => "invalid_rate",
            Self::RateNotPositive => "rate_not_positive",
            Self::RateTooPrecise => "rate_too_precise",
        }
    }

    /// This refusal as a field error.
    pub fn at(&self, field: impl Into<String>) -> FieldError {
        FieldError::new(field, self.code(), self.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn cur(code: &str) -> Currency {
        Currency::parse(code).expect("known currency")
    }

    #[rstest]
    #[case("EUR", "12.34", 1234)]
    #[case("EUR", "12", 1200)]
    #[case("EUR", "0.01", 1)]
    #[case("EUR", "1.500", 150)]
    #[case("JPY", "1000", 1000)]
    #[case("KWD", "1.005", 1005)]
    #[case("EUR", "1000000000000", 100_000_000_000_000)]
    #[case("eur", "3.10", 310)]
    fn parses(#[case] code: &str, #[case] text: &str, #[case] minor: i64) {
        assert_eq!(cur(code).parse_amount(text), Ok(minor));
    }

    #[rstest]
    #[case("EUR", "1.005", MoneyError::TooPrecise { minor_units: 2 })]
    #[case("JPY", "10.5", MoneyError::TooPrecise { minor_units: 0 })]
    #[case("EUR", "0.00", MoneyError::NotPositive)]
    #[case("EUR", "0", MoneyError::NotPositive)]
    #[case("EUR", "-5.00", MoneyError::NotPositive)]
    #[case("EUR", "1000000000000.01", MoneyError::TooLarge)]
    #[case("EUR", "99999999999999999999999999999999", MoneyError::TooLarge)]
    #[case("EUR", "-1.005", MoneyError::NotPositive)]
    #[case("EUR", "--1", MoneyError::Invalid)]
    #[case("EUR", "1.2.3", MoneyError::Invalid)]
    #[case("EUR", "1 000", MoneyError::Invalid)]
    #[case("EUR", "١٢", MoneyError::Invalid)]
    #[case("EUR", "1e3", MoneyError::Invalid)]
    #[case("EUR", "", MoneyError::Invalid)]
    #[case("EUR", "12.", MoneyError::Invalid)]
    #[case("EUR", ".5", MoneyError::Invalid)]
    #[case("EUR", "+5", MoneyError::Invalid)]
    #[case("EUR", "1,50", MoneyError::Invalid)]
    #[case("EUR", "NaN", MoneyError::Invalid)]
    #[case("EUR", " 12.00", MoneyError::Invalid)]
    #[case("EUR", "3.10 ", MoneyError::Invalid)]
    #[case("EUR", "\t1", MoneyError::Invalid)]
    fn refuses(#[case] code: &str, #[case] text: &str, #[case] error: MoneyError) {
        assert_eq!(cur(code).parse_amount(text), Err(error));
    }

    #[rstest]
    #[case("XAU")]
    #[case("ABC")]
    #[case("EURO")]
    #[case("")]
    #[case(" EUR")]
    #[case("e u")]
    #[case("EUR ")]
    fn refuses_currencies(#[case] code: &str) {
        assert_eq!(Currency::parse(code), Err(MoneyError::UnknownCurrency));
    }

    #[rstest]
    #[case("EUR", 3334, "33.34")]
    #[case("EUR", 5, "0.05")]
    #[case("EUR", -812, "-8.12")]
    #[case("EUR", -5, "-0.05")]
    #[case("JPY", 334, "334")]
    #[case("KWD", 334, "0.334")]
    #[case("BHD", 1_000, "1.000")]
    fn formats(#[case] code: &str, #[case] minor: i64, #[case] text: &str) {
        assert_eq!(Money::from_minor(minor, cur(code)).to_string(), text);
    }

    #[test]
    fn decimals_at_the_edges() {
        let eur = cur("EUR");
        let m = Money::from_decimal(Decimal::new(12_340, 3), eur).expect("12.340 is 12.34");
        assert_eq!(
            (m.minor(), m.to_decimal().to_string()),
            (1234, "12.34".to_string())
        );
        assert_eq!(
            Money::from_decimal(Decimal::new(1_005, 3), eur),
            Err(MoneyError::TooPrecise { minor_units: 2 })
        );
        assert_eq!(
            Money::from_decimal(Decimal::new(-5, 0), eur),
            Err(MoneyError::NotPositive)
        );
        assert_eq!(
            Money::from_minor(334, cur("KWD")).to_decimal().to_string(),
            "0.334"
        );
    }

    #[test]
    fn sums_wider_than_one_amount_format_exactly() {
        let wide = i128::from(i64::MAX) * 3 + 7;
        assert_eq!(
            Sum::new(wide, cur("EUR")).to_string(),
            "276701161105643274.28"
        );
        assert_eq!(Sum::new(-5, cur("KWD")).to_string(), "-0.005");
        assert_eq!(Sum::new(-1234, cur("JPY")).to_string(), "-1234");
    }

    #[test]
    fn money_adds_only_within_a_currency() {
        let a = Money::from_minor(150, cur("EUR"));
        assert_eq!(a.checked_add(a).map(Money::minor), Ok(300));
        assert_eq!(
            a.checked_add(Money::from_minor(1, cur("USD"))),
            Err(MoneyError::CurrencyMismatch)
        );
        assert_eq!(
            Money::from_minor(i64::MAX, cur("EUR")).checked_add(Money::from_minor(1, cur("EUR"))),
            Err(MoneyError::TooLarge)
        );
        assert_eq!(
            Money::from_minor(i64::MIN, cur("EUR")).checked_sub(Money::from_minor(1, cur("EUR"))),
            Err(MoneyError::TooLarge)
        );
        assert!(Minor::new(TOTAL_LIMIT).within_total_limit());
        assert!(!Minor::new(-TOTAL_LIMIT - 1).within_total_limit());
        assert_eq!(Minor::new(i64::MIN).checked_neg(), None);
    }

    #[test]
    fn minor_units_come_from_the_table() {
        assert_eq!(cur("JPY").minor_units(), 0);
        assert_eq!(cur("EUR").minor_units(), 2);
        assert_eq!(cur("KWD").minor_units(), 3);
        assert_eq!(cur("usd").code(), "USD");
    }
}
