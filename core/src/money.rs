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
        let upper = code.trim().to_ascii_uppercase();
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

    fn scale_factor(self) -> i64 {
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
        let value = parse_decimal(text).ok_or(MoneyError::Invalid)?;
        if value.is_sign_negative() && !value.is_zero() {
            return Err(MoneyError::NotPositive);
        }
        let value = value.normalize();
        if value.scale() > self.minor_units() {
            return Err(MoneyError::TooPrecise {
                minor_units: self.minor_units(),
            });
        }
        if value > Decimal::from(MAX_MAJOR_UNITS) {
            return Err(MoneyError::TooLarge);
        }
        let scaled = value * Decimal::from(self.scale_factor());
        i64::try_from(scaled).map_err(|_| MoneyError::TooLarge)
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

/// Parses a plain decimal (`"12.34"`, `"-5"`), refusing exponents, spaces inside, `+`
/// signs and empty strings, so that what the user sees is exactly what is stored.
pub(crate) fn parse_decimal(text: &str) -> Option<Decimal> {
    let text = text.trim();
    let digits = text.strip_prefix('-').unwrap_or(text);
    let mut parts = digits.splitn(2, '.');
    let int = parts.next().unwrap_or("");
    let frac = parts.next();
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !all_digits(int) || frac.is_some_and(|f| f.is_empty() || !all_digits(f)) {
        return None;
    }
    Decimal::from_str(text).ok()
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

    /// Parses a positive amount (see [`Currency::parse_amount`]).
    pub fn parse(text: &str, currency: Currency) -> Result<Self, MoneyError> {
        Ok(Self::from_minor(currency.parse_amount(text)?, currency))
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
    #[case("eur", " 3.10 ", 310)]
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
    #[case("EUR", "99999999999999999999999999999999", MoneyError::Invalid)]
    #[case("EUR", "1e3", MoneyError::Invalid)]
    #[case("EUR", "", MoneyError::Invalid)]
    #[case("EUR", "12.", MoneyError::Invalid)]
    #[case("EUR", ".5", MoneyError::Invalid)]
    #[case("EUR", "+5", MoneyError::Invalid)]
    #[case("EUR", "1,50", MoneyError::Invalid)]
    #[case("EUR", "NaN", MoneyError::Invalid)]
    fn refuses(#[case] code: &str, #[case] text: &str, #[case] error: MoneyError) {
        assert_eq!(cur(code).parse_amount(text), Err(error));
    }

    #[rstest]
    #[case("XAU")]
    #[case("ABC")]
    #[case("EURO")]
    #[case("")]
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
    fn minor_units_come_from_the_table() {
        assert_eq!(cur("JPY").minor_units(), 0);
        assert_eq!(cur("EUR").minor_units(), 2);
        assert_eq!(cur("KWD").minor_units(), 3);
        assert_eq!(cur("usd").code(), "USD");
    }
}
