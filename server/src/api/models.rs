//! The JSON bodies of the API (poem-openapi objects) and their conversions from and to the
//! Ledger's types. Amounts and ids travel as strings; nothing here decides anything.

use std::borrow::Cow;
use std::sync::LazyLock;

use poem_openapi::registry::{MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::{
    MaybeUndefined, ParseError, ParseFromJSON, ParseFromParameter, ParseResult, ToJSON, Type,
};
use poem_openapi::{Enum, Object, Union};
use serde_json::Value;
use splitledger_core::domain::{
    Activity, Conversion, Expense, ExpenseKind, GroupView, Invite, Member, Original, Role,
    Settlement, SummaryBy, User, UserId,
};
use splitledger_core::exchange::MAX_RATE_DIGITS;
use splitledger_core::ledger::{DebtView, GroupSummary, MyBalances, Page};
use splitledger_core::preview::{BalancesView, PlanView};
use splitledger_core::split::{
    ExactShare, PayerInput, PercentShare, Portion, SplitInput, WeightShare,
};
use splitledger_core::{Currency, Money};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

/// Marks the parse error of an amount sent as a JSON number (see [`Amount`]).
pub const NUMBER_NOT_ALLOWED: &str =
    "decimals are JSON strings such as \"12.34\", never JSON numbers";

/// The parts of `Type` every scalar newtype below shares: required, its own raw value.
macro_rules! scalar_type {
    () => {
        const IS_REQUIRED: bool = true;
        type RawValueType = Self;
        type RawElementValueType = Self;

        fn as_raw_value(&self) -> Option<&Self::RawValueType> {
            Some(self)
        }

        fn raw_element_iter<'a>(
            &'a self,
        ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
            Box::new(self.as_raw_value().into_iter())
        }
    };
}

/// The decimal forms of `PlainDecimal` in core: digits, at most one point with digits on both
/// sides, leading zeros and trailing fraction zeros carrying no value. Each pattern below
/// states a value range on those forms, so the range is exact however the number is written.
/// The largest amount: `MAX_MAJOR_UNITS` in core, 10^12 major units in every currency.
const POSITIVE_AMOUNT: &str =
    r"0*[1-9][0-9]{0,11}(?:\.[0-9]+)?|0*1000000000000(?:\.0+)?|0+\.[0-9]*[1-9][0-9]*";
/// Zero, which core also reads with a minus sign (`"-0.00"` is no negative share).
const ZERO: &str = r"-?0+(?:\.0+)?";

/// The parts of a decimal type: a JSON string (a JSON number is refused rather than read
/// through a float), its schema stating the range the Ledger accepts, with any other string
/// passed on for the Ledger to answer with its 422 code.
macro_rules! decimal_type {
    ($(#[$doc:meta])* $name:ident, $description:expr, $pattern:expr, $example:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(pub String);

        impl Type for $name {
            fn name() -> Cow<'static, str> {
                concat!("string_decimal_", stringify!($name)).into()
            }

            fn schema_ref() -> MetaSchemaRef {
                MetaSchemaRef::Inline(Box::new(MetaSchema {
                    description: Some($description),
                    pattern: Some(format!("^(?:{})$", $pattern)),
                    example: Some(Value::String($example.to_string())),
                    ..MetaSchema::new_with_format("string", "decimal")
                }))
            }

            scalar_type!();
        }

        impl ParseFromJSON for $name {
            fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
                match value {
                    Some(Value::String(text)) => Ok(Self(text)),
                    Some(Value::Number(_)) => Err(ParseError::custom(NUMBER_NOT_ALLOWED)),
                    other => Err(ParseError::expected_type(other.unwrap_or_default())),
                }
            }
        }

        impl ToJSON for $name {
            fn to_json(&self) -> Option<Value> {
                Some(Value::String(self.0.clone()))
            }
        }
    };
}

decimal_type!(
    /// An amount of money: more than zero, at most 10^12. Its decimals depend on the currency
    /// (JPY 0, EUR 2, KWD 3), which the Ledger checks (422 `amount_too_precise`); out of range
    /// is 422 `amount_not_positive` or `amount_too_large`.
    Amount,
    "A positive decimal number as a string, at most 1000000000000, with at most the \
     currency's decimals, e.g. \"12.34\"; never a JSON number.",
    POSITIVE_AMOUNT,
    "12.34"
);

decimal_type!(
    /// An exchange rate: units of the group's currency per unit of the expense's currency, a
    /// positive decimal with at most 12 significant digits (core's `MAX_RATE_DIGITS`); the
    /// Ledger answers others with 422 `invalid_rate`, `rate_not_positive` or
    /// `rate_too_precise`.
    ExchangeRate,
    "Units of the group's currency per unit of `currency`: a positive decimal number as a \
     string with at most 12 significant digits, e.g. \"0.92\"; never a JSON number.",
    rate_pattern(),
    "0.92"
);

impl From<ExchangeRate> for String {
    fn from(rate: ExchangeRate) -> Self {
        rate.0
    }
}

/// A positive decimal with at most [`MAX_RATE_DIGITS`] significant digits (from the first
/// non-zero digit to the last digit written), as `Rate::parse` reads it.
fn rate_pattern() -> String {
    let most = MAX_RATE_DIGITS;
    // A non-zero leading digit, `d` more whole digits, then at most `most - 1 - d` decimals.
    let whole: Vec<String> = (0..most)
        .map(|d| match most - 1 - d {
            0 => format!("[1-9][0-9]{{{d}}}"),
            rest => format!(r"[1-9][0-9]{{{d}}}(?:\.[0-9]{{1,{rest}}})?"),
        })
        .collect();
    format!(
        r"0*(?:{})|0+\.0*[1-9][0-9]{{0,{}}}",
        whole.join("|"),
        most - 1
    )
}

decimal_type!(
    /// An exact share of an expense: zero (the member owes nothing) up to 10^12, with the
    /// currency's decimals at most.
    ShareAmount,
    "A decimal number as a string from 0 to 1000000000000, with at most the currency's \
     decimals, e.g. \"12.34\"; never a JSON number.",
    format!("{POSITIVE_AMOUNT}|{ZERO}"),
    "12.34"
);

decimal_type!(
    /// A percentage: 0 to 100 with at most 2 decimals (core's `MAX_PERCENT_DECIMALS`); the
    /// Ledger answers others with 422 `invalid_percent`.
    Percent,
    "A percentage from 0 to 100 with at most two decimals, as a string, e.g. \"33.33\".",
    format!(r"0*[0-9]{{1,2}}(?:\.[0-9]{{1,2}}0*)?|0*100(?:\.0+)?|{ZERO}"),
    "33.33"
);

decimal_type!(
    /// A weight: 0 to 10^6 with at most 6 decimals (core's `MAX_WEIGHT` and
    /// `MAX_WEIGHT_DECIMALS`); the Ledger answers others with 422 `invalid_weight`.
    Weight,
    "A weight from 0 to 1000000 with at most six decimals, as a string, e.g. \"2\".",
    format!(r"0*[0-9]{{1,6}}(?:\.[0-9]{{1,6}}0*)?|0*1000000(?:\.0+)?|{ZERO}"),
    "2"
);

/// A list that must name someone (payers, the members or shares of a split): the schema
/// states `minItems: 1`, and an empty one still parses, so the Ledger answers it with its 422
/// code (`required`, `empty_split`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonEmpty<T>(pub Vec<T>);

impl<T: Type> Type for NonEmpty<T> {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = T::RawValueType;

    fn name() -> Cow<'static, str> {
        format!("non_empty_list_{}", T::name()).into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            items: Some(Box::new(T::schema_ref())),
            min_items: Some(1),
            ..MetaSchema::new("array")
        }))
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.0.iter().filter_map(Type::as_raw_value))
    }
}

impl<T> FromIterator<T> for NonEmpty<T> {
    fn from_iter<I: IntoIterator<Item = T>>(items: I) -> Self {
        Self(items.into_iter().collect())
    }
}

impl<T> IntoIterator for NonEmpty<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<T: ParseFromJSON> ParseFromJSON for NonEmpty<T> {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        Vec::<T>::parse_from_json(value)
            .map(Self)
            .map_err(ParseError::propagate)
    }
}

impl<T: ToJSON> ToJSON for NonEmpty<T> {
    fn to_json(&self) -> Option<Value> {
        self.0.to_json()
    }
}

/// An expense's metadata: the schema says a JSON object, and anything parses, so the Ledger
/// answers another JSON value with 422 `metadata_not_object` (and one over 16 KiB with
/// `metadata_too_large`, which no schema keyword can state).
#[derive(Debug, Clone, PartialEq)]
pub struct Metadata(pub Value);

impl Type for Metadata {
    fn name() -> Cow<'static, str> {
        "object_metadata".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema::new("object")))
    }

    scalar_type!();
}

impl ParseFromJSON for Metadata {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        Ok(Self(value.unwrap_or_default()))
    }
}

impl ToJSON for Metadata {
    fn to_json(&self) -> Option<Value> {
        Some(self.0.clone())
    }
}

impl From<Metadata> for Value {
    fn from(metadata: Metadata) -> Self {
        metadata.0
    }
}

/// The date an entry happened on: a full date in the years 1900 to 9999, which the schema
/// states with a pattern on the year; an earlier one still parses, so the Ledger answers it
/// with 422 `date_out_of_range`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryDate(pub Date);

impl Type for EntryDate {
    fn name() -> Cow<'static, str> {
        "string_entry_date".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            pattern: Some("^(?:19|[2-9][0-9])[0-9]{2}-".to_string()),
            ..MetaSchema::new_with_format("string", "date")
        }))
    }

    scalar_type!();
}

impl ParseFromJSON for EntryDate {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        Date::parse_from_json(value)
            .map(Self)
            .map_err(ParseError::propagate)
    }
}

impl ToJSON for EntryDate {
    fn to_json(&self) -> Option<Value> {
        self.0.to_json()
    }
}

impl From<EntryDate> for Date {
    fn from(date: EntryDate) -> Self {
        date.0
    }
}

/// Text fields of request bodies are JSON strings only: poem-openapi would read a JSON number
/// or boolean as its text (`{"name": true}` naming a group "true"), which the document does
/// not allow and no client means.
pub(crate) fn strict_text(value: Option<Value>) -> ParseResult<String> {
    match value {
        Some(Value::String(text)) => Ok(text),
        other => Err(ParseError::expected_type(other.unwrap_or_default())),
    }
}

/// An ISO 4217 code as sent (three letters, either case: `"eur"` is EUR). The schema states
/// exactly the codes the Ledger accepts, in either case; the Ledger answers any other with 422
/// `unknown_currency`, the same for a malformed one, rather than the parser's 400.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrencyCode(pub String);

/// The codes `Currency::parse` accepts, found by asking it about every three-letter code so
/// that the schema cannot drift from the Ledger (funds and metals, which it refuses, are out),
/// as one pattern taking either case: `[Ee][Uu][Rr]`. A JSON Schema `enum` could not take
/// `"eur"`, which the server accepts (docs/ARCHITECTURE.md), and no flag makes a JSON Schema
/// pattern case-insensitive.
fn currency_pattern() -> &'static str {
    static PATTERN: LazyLock<String> = LazyLock::new(|| {
        let letters = || b'A'..=b'Z';
        let either = |b: u8| format!("[{}{}]", char::from(b), char::from(b.to_ascii_lowercase()));
        let mut groups = Vec::new();
        for first in letters() {
            let rest: Vec<String> = letters()
                .flat_map(|second| letters().map(move |third| [first, second, third]))
                .filter(|code| std::str::from_utf8(code).is_ok_and(|c| Currency::parse(c).is_ok()))
                .map(|code| format!("{}{}", either(code[1]), either(code[2])))
                .collect();
            if !rest.is_empty() {
                groups.push(format!("{}(?:{})", either(first), rest.join("|")));
            }
        }
        format!("^(?:{})$", groups.join("|"))
    });
    &PATTERN
}

impl Type for CurrencyCode {
    fn name() -> Cow<'static, str> {
        "CurrencyCode".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Reference(Self::name().into_owned())
    }

    fn register(registry: &mut Registry) {
        registry.create_schema::<Self, _>(Self::name().into_owned(), |_| MetaSchema {
            description: Some(
                "An ISO 4217 code of a currency with a minor unit, e.g. \"EUR\", in either case \
                 (\"eur\" is EUR; answers use upper case). Funds and precious metals are not \
                 accepted.",
            ),
            pattern: Some(currency_pattern().to_string()),
            example: Some(Value::String("EUR".to_string())),
            ..MetaSchema::new("string")
        });
    }

    scalar_type!();
}

impl From<CurrencyCode> for String {
    fn from(code: CurrencyCode) -> Self {
        code.0
    }
}

impl ParseFromJSON for CurrencyCode {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        strict_text(value).map(Self).map_err(ParseError::propagate)
    }
}

impl ToJSON for CurrencyCode {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.0.clone()))
    }
}

// Character classes of the text patterns below, spelled out in code points: `\s` and `\p{..}`
// mean different sets in the regex dialects clients use (ECMA 262, Python, Rust).
/// What Rust's `str::trim` removes: Unicode White_Space (`char::is_whitespace`).
const WHITE_SPACE: &str = r"\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";
/// Unicode control characters (general category Cc, `char::is_control`).
const CONTROL: &str = r"\u0000-\u001f\u007f-\u009f";
/// Control characters other than tab, line feed and carriage return.
const CONTROL_BUT_LINES: &str = r"\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f";
/// White space and control characters together.
const BLANK_OR_CONTROL: &str =
    r"\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";

/// The Ledger's rule for a required text field (`required_text` in core): trimmed of white
/// space, 1 to `max` characters must remain, none of them a control character. The first and
/// last remaining characters are neither, and the length is counted between them, so a name
/// padded with spaces beyond `max` is still accepted, as the server does.
fn required_text_pattern(max: usize) -> String {
    format!(
        "^[{WHITE_SPACE}]*[^{BLANK_OR_CONTROL}](?:[^{CONTROL}]{{0,{}}}[^{BLANK_OR_CONTROL}])?[{WHITE_SPACE}]*$",
        max.saturating_sub(2)
    )
}

/// The Ledger's rule for an optional text field (`optional_text` in core): trimmed of white
/// space, blank means none; else at most `max` characters remain, with no control character
/// other than tab, line feed and carriage return.
fn optional_text_pattern(max: usize) -> String {
    format!(
        "^[{WHITE_SPACE}]*(?:[^{BLANK_OR_CONTROL}](?:[^{CONTROL_BUT_LINES}]{{0,{}}}[^{BLANK_OR_CONTROL}])?[{WHITE_SPACE}]*)?$",
        max.saturating_sub(2)
    )
}

/// A JSON string as sent, for text the schema describes with `schema` and the Ledger
/// validates: any JSON string parses (the Ledger answers a bad one with 422 and its code),
/// nothing else does (see [`strict_text`]).
macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident $(<const $max:ident: usize>)?, $type_name:expr, $schema:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name$(<const $max: usize>)?(pub String);

        impl$(<const $max: usize>)? Type for $name$(<$max>)? {
            fn name() -> Cow<'static, str> {
                $type_name
            }

            fn schema_ref() -> MetaSchemaRef {
                MetaSchemaRef::Inline(Box::new($schema))
            }

            scalar_type!();
        }

        impl$(<const $max: usize>)? ParseFromJSON for $name$(<$max>)? {
            fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
                strict_text(value).map(Self).map_err(ParseError::propagate)
            }
        }

        impl$(<const $max: usize>)? ToJSON for $name$(<$max>)? {
            fn to_json(&self) -> Option<Value> {
                Some(Value::String(self.0.clone()))
            }
        }

        impl$(<const $max: usize>)? From<$name$(<$max>)?> for String {
            fn from(text: $name$(<$max>)?) -> Self {
                text.0
            }
        }
    };
}

text_type!(
    /// A required text field (a name, a description): not blank once trimmed, at most `MAX`
    /// characters, no control characters. The Ledger answers 422 `required`, `too_long` or
    /// `invalid_text`.
    RequiredText<const MAX: usize>,
    format!("string_required_{MAX}").into(),
    MetaSchema {
        pattern: Some(required_text_pattern(MAX)),
        ..MetaSchema::new("string")
    }
);

text_type!(
    /// An optional text field (a description, a note): blank clears it; at most `MAX`
    /// characters once trimmed; tabs and line breaks are the only control characters allowed.
    /// The Ledger answers 422 `too_long` or `invalid_text`.
    OptionalText<const MAX: usize>,
    format!("string_optional_{MAX}").into(),
    MetaSchema {
        pattern: Some(optional_text_pattern(MAX)),
        ..MetaSchema::new("string")
    }
);

text_type!(
    /// A comment: not blank once trimmed, at most 2,000 characters; tabs and line breaks are
    /// the only control characters allowed. The Ledger answers 422 `required`, `too_long` or
    /// `invalid_text`.
    CommentText,
    "string_comment".into(),
    MetaSchema {
        pattern: Some(format!(
            "^[{WHITE_SPACE}]*[^{BLANK_OR_CONTROL}](?:[^{CONTROL_BUT_LINES}]{{0,1998}}[^{BLANK_OR_CONTROL}])?[{WHITE_SPACE}]*$"
        )),
        ..MetaSchema::new("string")
    }
);

text_type!(
    /// A new password: 8 to 128 characters (core's `MIN_PASSWORD` and `MAX_PASSWORD`, counted
    /// in Unicode scalar values as JSON Schema counts them), untrimmed, anything else is free.
    /// The Ledger answers 422 `password_length`.
    NewPassword,
    "string_password".into(),
    MetaSchema {
        min_length: Some(8),
        max_length: Some(128),
        ..MetaSchema::new("string")
    }
);

text_type!(
    /// An email address as `Email::parse` in core takes it: trimmed of white space, then
    /// `local@domain` with at most 254 characters, no white space or control character, one
    /// `@`, and a domain of dot-separated non-empty labels (at least two). The Ledger answers
    /// 422 `invalid_email`. Not `format: email`, whose grammar (RFC 5321) is another one.
    EmailAddress,
    "string_email".into(),
    MetaSchema {
        pattern: Some(format!(
            // The look-ahead bounds the address between the trimmed spaces: 255 visible
            // characters in a row are one too many.
            "^[{WHITE_SPACE}]*(?![^{BLANK_OR_CONTROL}]{{255}})[^{BLANK_OR_CONTROL}@]+@[^{BLANK_OR_CONTROL}@.]+(?:\\.[^{BLANK_OR_CONTROL}@.]+)+[{WHITE_SPACE}]*$"
        )),
        example: Some(Value::String("ann@example.com".to_string())),
        ..MetaSchema::new("string")
    }
);

/// Text a list is filtered by (`q`, `category`): anything but control characters, which
/// nothing stored contains; the Ledger answers them with 422 `invalid_text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterText(pub String);

impl Type for FilterText {
    fn name() -> Cow<'static, str> {
        "string_filter".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            pattern: Some(format!("^[^{CONTROL}]*$")),
            ..MetaSchema::new("string")
        }))
    }

    scalar_type!();
}

impl From<FilterText> for String {
    fn from(text: FilterText) -> Self {
        text.0
    }
}

impl ParseFromParameter for FilterText {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        Ok(Self(value.to_string()))
    }
}

/// An `Idempotency-Key` header: 1 to 255 visible ASCII characters. Any other value parses, and
/// the Ledger answers it with 422 `invalid_idempotency_key` (see
/// `idempotency_key_of` in the API module for keys that are not even ASCII).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(pub String);

impl Type for IdempotencyKey {
    fn name() -> Cow<'static, str> {
        "string_idempotency_key".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            pattern: Some("^[!-~]{1,255}$".to_string()),
            ..MetaSchema::new("string")
        }))
    }

    scalar_type!();
}

impl From<IdempotencyKey> for String {
    fn from(text: IdempotencyKey) -> Self {
        text.0
    }
}

impl ParseFromParameter for IdempotencyKey {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        Ok(Self(value.to_string()))
    }
}

/// A whole number the schema bounds to `MIN..=MAX` (a page size, an invite's lifetime): any
/// unsigned number parses, and the Ledger answers one out of range with its 422 code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounded<const MIN: u32, const MAX: u32>(pub u32);

impl<const MIN: u32, const MAX: u32> Type for Bounded<MIN, MAX> {
    fn name() -> Cow<'static, str> {
        format!("integer_{MIN}_{MAX}").into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            minimum: Some(f64::from(MIN)),
            maximum: Some(f64::from(MAX)),
            ..MetaSchema::new_with_format("integer", "uint32")
        }))
    }

    scalar_type!();
}

impl<const MIN: u32, const MAX: u32> ParseFromJSON for Bounded<MIN, MAX> {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        u32::parse_from_json(value)
            .map(Self)
            .map_err(ParseError::propagate)
    }
}

impl<const MIN: u32, const MAX: u32> ParseFromParameter for Bounded<MIN, MAX> {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        u32::parse_from_parameter(value)
            .map(Self)
            .map_err(ParseError::propagate)
    }
}

impl<const MIN: u32, const MAX: u32> ToJSON for Bounded<MIN, MAX> {
    fn to_json(&self) -> Option<Value> {
        self.0.to_json()
    }
}

/// Whether an expense is money spent or money received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum ExpenseKindName {
    /// Money the group spent (the default): payers paid it, sharers owe their shares.
    Expense,
    /// Money the group received (a refund, a deposit returned, something sold): payers received
    /// it and hold it, sharers are owed their shares; every balance effect is reversed.
    Income,
}

impl From<ExpenseKind> for ExpenseKindName {
    fn from(kind: ExpenseKind) -> Self {
        match kind {
            ExpenseKind::Expense => Self::Expense,
            ExpenseKind::Income => Self::Income,
        }
    }
}

impl From<ExpenseKindName> for ExpenseKind {
    fn from(kind: ExpenseKindName) -> Self {
        match kind {
            ExpenseKindName::Expense => Self::Expense,
            ExpenseKindName::Income => Self::Income,
        }
    }
}

/// A page size: 1 to 200 (50 when absent).
pub type PageLimit = Bounded<1, 200>;

/// A member's role in a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum RoleName {
    /// Everything, including deleting the group and transferring ownership.
    Owner,
    /// Members, group settings, any expense.
    Admin,
    /// Adds expenses and settlements; edits what they created or paid.
    Member,
}

impl From<Role> for RoleName {
    fn from(role: Role) -> Self {
        match role {
            Role::Owner => Self::Owner,
            Role::Admin => Self::Admin,
            Role::Member => Self::Member,
        }
    }
}

impl From<RoleName> for Role {
    fn from(role: RoleName) -> Self {
        match role {
            RoleName::Owner => Self::Owner,
            RoleName::Admin => Self::Admin,
            RoleName::Member => Self::Member,
        }
    }
}

/// The role a member is added with: `member` or `admin`. The schema leaves `owner` out, as the
/// Ledger refuses it (ownership is transferred by a role change, not given on adding); it still
/// parses, so the Ledger answers it with its 422 `invalid_role`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewMemberRole(pub RoleName);

impl Type for NewMemberRole {
    fn name() -> Cow<'static, str> {
        "NewMemberRole".into()
    }

    // A component, as `RoleName` is: a nullable field refers to it, where an inline `enum`
    // would have to list `null` for a null to be valid.
    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Reference(Self::name().into_owned())
    }

    fn register(registry: &mut Registry) {
        registry.create_schema::<Self, _>(Self::name().into_owned(), |_| MetaSchema {
            description: Some(
                "The role a member is added with (`owner` is given by a role change only).",
            ),
            enum_items: vec![Value::from("admin"), Value::from("member")],
            ..MetaSchema::new("string")
        });
    }

    scalar_type!();
}

impl ParseFromJSON for NewMemberRole {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        RoleName::parse_from_json(value)
            .map(Self)
            .map_err(ParseError::propagate)
    }
}

impl ToJSON for NewMemberRole {
    fn to_json(&self) -> Option<Value> {
        self.0.to_json()
    }
}

/// A person with an account.
#[derive(Debug, Clone, Object)]
pub struct UserBody {
    /// Id.
    pub id: Uuid,
    /// Email (normalised: trimmed, lower-case).
    pub email: String,
    /// Name shown to others.
    pub display_name: String,
    /// Currency proposed for new groups, if chosen.
    #[oai(nullable)]
    pub default_currency: Option<String>,
    /// Sign-up time.
    pub created_at: OffsetDateTime,
    /// Last profile change.
    pub updated_at: OffsetDateTime,
}

impl From<User> for UserBody {
    fn from(u: User) -> Self {
        Self {
            id: u.id.0,
            email: u.email.to_string(),
            display_name: u.display_name,
            default_currency: u.default_currency.map(|c| c.code().to_string()),
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

/// A new account.
#[derive(Debug, Clone, Object)]
pub struct SignUpBody {
    /// Email address (unique, compared case-insensitively).
    pub email: EmailAddress,
    /// 8 to 128 characters.
    #[oai(write_only)]
    pub password: NewPassword,
    /// Name shown to others (1 to 100 characters).
    pub display_name: RequiredText<100>,
    /// A group invite code: needed when the server's sign-up policy is `invite` (403
    /// `invite_required` without a valid one); ignored otherwise. Accepting it still joins
    /// the group.
    #[oai(nullable)]
    pub invite_code: Option<InviteCodeText>,
}

text_type!(
    /// An invite code as sent: at most 64 characters (issued codes are 22). An unknown or
    /// expired one is 403 `invite_required` when the sign-up policy needs one.
    InviteCodeText,
    "string_invite_code".into(),
    MetaSchema {
        max_length: Some(64),
        ..MetaSchema::new("string")
    }
);

/// Email and password.
#[derive(Debug, Clone, Object)]
pub struct LoginBody {
    /// Email address.
    #[oai(deserialize_with = "strict_text")]
    pub email: String,
    /// Password.
    #[oai(write_only, deserialize_with = "strict_text")]
    pub password: String,
}

/// A session token (OAuth2 token response).
#[derive(Debug, Clone, Object)]
pub struct TokenBody {
    /// The session token: send it as `Authorization: Bearer TOKEN`.
    pub access_token: String,
    /// Always `bearer`.
    pub token_type: String,
    /// Seconds until the token expires.
    pub expires_in: u64,
}

/// A new session, with the user it belongs to.
#[derive(Debug, Clone, Object)]
pub struct SessionBody {
    /// The session token (also set as the HttpOnly session cookie).
    pub access_token: String,
    /// Always `bearer`.
    pub token_type: String,
    /// Seconds until the token expires.
    pub expires_in: u64,
    /// When it expires.
    pub expires_at: OffsetDateTime,
    /// Who signed in.
    pub user: UserBody,
}

/// An OAuth2 password grant (form-encoded).
#[derive(Debug, Clone, Object, serde::Deserialize)]
pub struct TokenForm {
    /// Must be `password`.
    pub grant_type: String,
    /// The account's email.
    pub username: String,
    /// The password.
    #[oai(write_only)]
    pub password: String,
    /// Ignored (no scopes).
    pub scope: Option<String>,
    /// Ignored (public client).
    pub client_id: Option<String>,
    /// Ignored (public client).
    #[oai(write_only)]
    pub client_secret: Option<String>,
}

/// Another person as co-members see them.
#[derive(Debug, Clone, Object)]
pub struct PersonBody {
    /// Id.
    pub id: Uuid,
    /// Name shown to others.
    pub display_name: String,
}

/// Profile changes; absent fields stay as they are.
#[derive(Debug, Clone, Object)]
pub struct ProfilePatchBody {
    /// New display name (1 to 100 characters).
    #[oai(nullable)]
    pub display_name: Option<RequiredText<100>>,
    /// New email.
    #[oai(nullable)]
    pub email: Option<EmailAddress>,
    /// New default currency; `null` clears it.
    #[oai(nullable)]
    pub default_currency: MaybeUndefined<CurrencyCode>,
}

/// A password change.
#[derive(Debug, Clone, Object)]
pub struct PasswordBody {
    /// The password in use.
    #[oai(write_only, deserialize_with = "strict_text")]
    pub current_password: String,
    /// The new password (8 to 128 characters).
    #[oai(write_only)]
    pub new_password: NewPassword,
}

/// The caller's net in one group and currency.
#[derive(Debug, Clone, Object)]
pub struct MyGroupBalanceBody {
    /// The group.
    pub group_id: Uuid,
    /// Its name.
    pub group_name: String,
    /// ISO 4217 code.
    pub currency: String,
    /// Positive: the group owes the caller; negative: the caller owes.
    pub net: String,
}

/// The caller's totals in one currency over every group.
#[derive(Debug, Clone, Object)]
pub struct MyTotalBody {
    /// ISO 4217 code.
    pub currency: String,
    /// What others owe the caller.
    pub owed_to_me: String,
    /// What the caller owes.
    pub i_owe: String,
    /// `owed_to_me − i_owe`.
    pub net: String,
}

/// What the caller owes and is owed.
#[derive(Debug, Clone, Object)]
pub struct MyBalancesBody {
    /// Non-zero nets per group and currency.
    pub groups: Vec<MyGroupBalanceBody>,
    /// Totals per currency.
    pub totals: Vec<MyTotalBody>,
}

impl From<MyBalances> for MyBalancesBody {
    fn from(b: MyBalances) -> Self {
        Self {
            groups: b
                .groups
                .into_iter()
                .map(|g| MyGroupBalanceBody {
                    group_id: g.group_id.0,
                    group_name: g.group_name,
                    currency: g.currency.code().to_string(),
                    net: g.net.to_string(),
                })
                .collect(),
            totals: b
                .totals
                .into_iter()
                .map(|t| MyTotalBody {
                    currency: t.currency.code().to_string(),
                    owed_to_me: t.owed_to_me.to_string(),
                    i_owe: t.i_owe.to_string(),
                    net: t.net.to_string(),
                })
                .collect(),
        }
    }
}

/// A new group; the caller becomes its owner.
#[derive(Debug, Clone, Object)]
pub struct NewGroupBody {
    /// 1 to 100 characters.
    pub name: RequiredText<100>,
    /// Up to 1000 characters.
    #[oai(nullable)]
    pub description: Option<OptionalText<1000>>,
    /// ISO 4217 code; expenses default to it.
    pub currency: CurrencyCode,
}

/// Settings changes; absent fields stay as they are.
#[derive(Debug, Clone, Object)]
pub struct GroupPatchBody {
    /// New name (1 to 100 characters).
    #[oai(nullable)]
    pub name: Option<RequiredText<100>>,
    /// New description (up to 1000 characters); `null` clears it.
    #[oai(nullable)]
    pub description: MaybeUndefined<OptionalText<1000>>,
    /// New default currency (existing expenses keep theirs).
    #[oai(nullable)]
    pub currency: Option<CurrencyCode>,
}

/// A member of a group.
#[derive(Debug, Clone, Object)]
pub struct MemberBody {
    /// The member.
    pub user_id: Uuid,
    /// Their display name.
    pub display_name: String,
    /// Their email; `null` for a placeholder.
    #[oai(nullable)]
    pub email: Option<String>,
    /// Their role.
    pub role: RoleName,
    /// When they joined.
    pub joined_at: OffsetDateTime,
    /// A person without an account (added by name; never signs in).
    pub placeholder: bool,
}

impl From<Member> for MemberBody {
    fn from(m: Member) -> Self {
        Self {
            user_id: m.user_id.0,
            display_name: m.display_name,
            email: m.email.map(|e| e.to_string()),
            role: m.role.into(),
            joined_at: m.joined_at,
            placeholder: m.placeholder,
        }
    }
}

/// A group, as one of its members sees it.
#[derive(Debug, Clone, Object)]
pub struct GroupBody {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Description.
    #[oai(nullable)]
    pub description: Option<String>,
    /// Default currency of new expenses (ISO 4217).
    pub currency: String,
    /// Who created it.
    pub created_by: Uuid,
    /// Creation time.
    pub created_at: OffsetDateTime,
    /// Last settings change.
    pub updated_at: OffsetDateTime,
    /// The caller's role.
    pub my_role: RoleName,
    /// The members in join order (on `GET /groups/{group_id}` only).
    #[oai(skip_serializing_if_is_none)]
    pub members: Option<Vec<MemberBody>>,
}

impl From<GroupView> for GroupBody {
    fn from(v: GroupView) -> Self {
        let g = v.group;
        Self {
            id: g.id.0,
            name: g.name,
            description: g.description,
            currency: g.currency.code().to_string(),
            created_by: g.created_by.0,
            created_at: g.created_at,
            updated_at: g.updated_at,
            my_role: v.my_role.into(),
            members: None,
        }
    }
}

/// A page of groups.
#[derive(Debug, Clone, Object)]
pub struct GroupPage {
    /// The groups, newest first.
    pub items: Vec<GroupBody>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

/// A person to add, by the email of their account.
#[derive(Debug, Clone, Object)]
pub struct AddMemberBody {
    /// The account's email. Without it, `display_name` adds a placeholder.
    #[oai(nullable)]
    pub email: Option<EmailAddress>,
    /// With no `email`: adds a placeholder, a person without an account (1 to 100
    /// characters), who pays and shares like anyone, never signs in, is never an admin, and
    /// whose place a claim code hands to a real account later.
    #[oai(nullable)]
    pub display_name: Option<RequiredText<100>>,
    /// `member` (default) or `admin` (the owner only; never for a placeholder: 422
    /// `placeholder_role`).
    #[oai(nullable)]
    pub role: Option<NewMemberRole>,
}

/// A role change.
#[derive(Debug, Clone, Object)]
pub struct RoleBody {
    /// The new role; `owner` transfers ownership (the previous owner becomes admin).
    pub role: RoleName,
}

/// An invite to create.
#[derive(Debug, Clone, Object)]
pub struct NewInviteBody {
    /// Lifetime in hours, 1 to 720 (default 72).
    #[oai(nullable)]
    pub expires_in_hours: Option<Bounded<1, 720>>,
}

/// An invite code.
#[derive(Debug, Clone, Object)]
pub struct InviteBody {
    /// The code to pass to `POST /invites/{code}/accept`.
    pub code: String,
    /// The group it opens.
    pub group_id: Uuid,
    /// When it stops working.
    pub expires_at: OffsetDateTime,
}

impl From<Invite> for InviteBody {
    fn from(i: Invite) -> Self {
        Self {
            code: i.code,
            group_id: i.group_id.0,
            expires_at: i.expires_at,
        }
    }
}

/// A member and an amount.
#[derive(Debug, Clone, Object)]
pub struct AmountEntryBody {
    /// The member.
    pub user_id: Uuid,
    /// A positive decimal string, e.g. `"12.34"`.
    pub amount: Amount,
}

/// An exact share.
#[derive(Debug, Clone, Object)]
pub struct ExactShareBody {
    /// The member who owes it.
    pub user_id: Uuid,
    /// A decimal string (zero: owes nothing); the shares add up to the expense's amount.
    pub amount: ShareAmount,
}

/// A percentage share.
#[derive(Debug, Clone, Object)]
pub struct PercentShareBody {
    /// The member.
    pub user_id: Uuid,
    /// A decimal string with up to 2 decimals; the percentages add up to exactly 100.
    pub percent: Percent,
}

/// A weighted share.
#[derive(Debug, Clone, Object)]
pub struct WeightShareBody {
    /// The member.
    pub user_id: Uuid,
    /// A decimal string (e.g. 2:1:1); zero leaves the member out, but not every weight may be
    /// zero.
    pub weight: Weight,
}

/// Equal split.
#[derive(Debug, Clone, Object)]
pub struct EqualSplit {
    /// The members sharing; absent means every current member.
    #[oai(nullable)]
    pub members: Option<NonEmpty<Uuid>>,
}

/// Exact amounts per member.
#[derive(Debug, Clone, Object)]
pub struct ExactSplit {
    /// One entry per member.
    pub shares: NonEmpty<ExactShareBody>,
}

/// Percentages per member.
#[derive(Debug, Clone, Object)]
pub struct PercentSplit {
    /// One entry per member.
    pub shares: NonEmpty<PercentShareBody>,
}

/// Weights per member.
#[derive(Debug, Clone, Object)]
pub struct SharesSplit {
    /// One entry per member.
    pub shares: NonEmpty<WeightShareBody>,
}

/// How an expense is split, by `type`.
#[derive(Debug, Clone, Union)]
#[oai(discriminator_name = "type", one_of)]
pub enum SplitBody {
    /// `{"type": "equal", "members": [...]}`.
    #[oai(mapping = "equal")]
    Equal(EqualSplit),
    /// `{"type": "exact", "shares": [{"user_id", "amount"}]}`.
    #[oai(mapping = "exact")]
    Exact(ExactSplit),
    /// `{"type": "percent", "shares": [{"user_id", "percent"}]}`.
    #[oai(mapping = "percent")]
    Percent(PercentSplit),
    /// `{"type": "shares", "shares": [{"user_id", "weight"}]}`.
    #[oai(mapping = "shares")]
    Shares(SharesSplit),
}

impl From<SplitBody> for SplitInput<UserId> {
    fn from(s: SplitBody) -> Self {
        match s {
            SplitBody::Equal(e) => SplitInput::Equal {
                members: e.members.map(|m| m.into_iter().map(UserId).collect()),
            },
            SplitBody::Exact(e) => SplitInput::Exact {
                shares: e
                    .shares
                    .into_iter()
                    .map(|s| ExactShare {
                        user_id: UserId(s.user_id),
                        amount: s.amount.0,
                    })
                    .collect(),
            },
            SplitBody::Percent(p) => SplitInput::Percent {
                shares: p
                    .shares
                    .into_iter()
                    .map(|s| PercentShare {
                        user_id: UserId(s.user_id),
                        percent: s.percent.0,
                    })
                    .collect(),
            },
            SplitBody::Shares(w) => SplitInput::Shares {
                shares: w
                    .shares
                    .into_iter()
                    .map(|s| WeightShare {
                        user_id: UserId(s.user_id),
                        weight: s.weight.0,
                    })
                    .collect(),
            },
        }
    }
}

impl From<SplitInput<UserId>> for SplitBody {
    fn from(s: SplitInput<UserId>) -> Self {
        match s {
            SplitInput::Equal { members } => Self::Equal(EqualSplit {
                members: members.map(|m| m.into_iter().map(|u| u.0).collect()),
            }),
            SplitInput::Exact { shares } => Self::Exact(ExactSplit {
                shares: shares
                    .into_iter()
                    .map(|s| ExactShareBody {
                        user_id: s.user_id.0,
                        amount: ShareAmount(s.amount),
                    })
                    .collect(),
            }),
            SplitInput::Percent { shares } => Self::Percent(PercentSplit {
                shares: shares
                    .into_iter()
                    .map(|s| PercentShareBody {
                        user_id: s.user_id.0,
                        percent: Percent(s.percent),
                    })
                    .collect(),
            }),
            SplitInput::Shares { shares } => Self::Shares(SharesSplit {
                shares: shares
                    .into_iter()
                    .map(|s| WeightShareBody {
                        user_id: s.user_id.0,
                        weight: Weight(s.weight),
                    })
                    .collect(),
            }),
        }
    }
}

pub(crate) fn payers_in(
    payers: Option<NonEmpty<AmountEntryBody>>,
) -> Option<Vec<PayerInput<UserId>>> {
    payers.map(|list| {
        list.into_iter()
            .map(|p| PayerInput {
                user_id: UserId(p.user_id),
                amount: p.amount.0,
            })
            .collect()
    })
}

/// A new expense.
#[derive(Debug, Clone, Object)]
pub struct NewExpenseBody {
    /// Optional: the expense's id, chosen by the client. It seeds the allocation's tie-break,
    /// so the browser module's `allocate` with this id predicts the stored rows exactly. An id
    /// already used in this group answers like an idempotency key (the same body returns the
    /// stored expense, another body is 409 `id_taken`); an id used in another group is 409
    /// `id_taken`.
    #[oai(nullable)]
    pub id: Option<Uuid>,
    /// `expense` (money spent, the default) or `income` (money received: its effect on
    /// balances is an expense's with every sign reversed).
    #[oai(nullable)]
    pub kind: Option<ExpenseKindName>,
    /// What it was (1 to 200 characters).
    pub description: RequiredText<200>,
    /// A positive decimal string, e.g. `"12.34"` (never a JSON number).
    pub amount: Amount,
    /// ISO 4217 code; the group's when absent.
    #[oai(nullable)]
    pub currency: Option<CurrencyCode>,
    /// Paid in `currency` but booked in the group's: units of the group's currency per unit
    /// of `currency`. Payers and shares are allocated in `currency`, then converted (the total
    /// half to even, the rows by the largest remainder rule); the answer keeps what was
    /// entered as `original`. With no `currency`, or the group's: 422
    /// `exchange_rate_same_currency`.
    #[oai(nullable)]
    pub exchange_rate: Option<ExchangeRate>,
    /// The one member who paid it all (give this or `payers`).
    #[oai(nullable)]
    pub paid_by: Option<Uuid>,
    /// Several payers with amounts adding up to `amount` (give this or `paid_by`).
    #[oai(nullable)]
    pub payers: Option<NonEmpty<AmountEntryBody>>,
    /// How it is split.
    pub split: SplitBody,
    /// Up to 50 characters.
    #[oai(nullable)]
    pub category: Option<OptionalText<50>>,
    /// Up to 50 characters (cash, card, ...).
    #[oai(nullable)]
    pub payment_method: Option<OptionalText<50>>,
    /// `YYYY-MM-DD`; today (UTC) when absent.
    #[oai(nullable)]
    pub occurred_on: Option<EntryDate>,
    /// Up to 2000 characters.
    #[oai(nullable)]
    pub notes: Option<OptionalText<2000>>,
    /// Any JSON object up to 16 KiB, for the embedding program.
    #[oai(nullable)]
    pub metadata: Option<Metadata>,
}

/// Changes to an expense, naming the version they are based on.
#[derive(Debug, Clone, Object)]
pub struct ExpensePatchBody {
    /// The version read; if the expense has changed since, 412.
    pub version: i64,
    /// New kind: `expense` or `income`.
    #[oai(nullable)]
    pub kind: Option<ExpenseKindName>,
    /// New description (1 to 200 characters).
    #[oai(nullable)]
    pub description: Option<RequiredText<200>>,
    /// New amount (decimal string).
    #[oai(nullable)]
    pub amount: Option<Amount>,
    /// New currency (of what was entered, when it is booked from another currency).
    #[oai(nullable)]
    pub currency: Option<CurrencyCode>,
    /// New exchange rate; `null` books it in its own currency again.
    #[oai(nullable)]
    pub exchange_rate: MaybeUndefined<ExchangeRate>,
    /// New single payer.
    #[oai(nullable)]
    pub paid_by: Option<Uuid>,
    /// New payers.
    #[oai(nullable)]
    pub payers: Option<NonEmpty<AmountEntryBody>>,
    /// New split.
    #[oai(nullable)]
    pub split: Option<SplitBody>,
    /// New category (up to 50 characters); `null` clears it.
    #[oai(nullable)]
    pub category: MaybeUndefined<OptionalText<50>>,
    /// New payment method (up to 50 characters); `null` clears it.
    #[oai(nullable)]
    pub payment_method: MaybeUndefined<OptionalText<50>>,
    /// New date.
    #[oai(nullable)]
    pub occurred_on: Option<EntryDate>,
    /// New notes (up to 2000 characters); `null` clears them.
    #[oai(nullable)]
    pub notes: MaybeUndefined<OptionalText<2000>>,
    /// New metadata; `null` clears it.
    #[oai(nullable)]
    pub metadata: MaybeUndefined<Metadata>,
}

/// A patch field for the Ledger: absent is `None` (unchanged), `null` is `Some(None)`.
pub(crate) fn maybe<T, U: From<T>>(value: MaybeUndefined<T>) -> Option<Option<U>> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(v.into())),
    }
}

/// What was entered for an expense booked in the group's currency from another one.
#[derive(Debug, Clone, Object)]
pub struct OriginalBody {
    /// The amount as entered, a decimal string.
    pub amount: String,
    /// Its ISO 4217 code.
    pub currency: String,
    /// Units of the group's currency per unit of `currency`, as entered.
    pub exchange_rate: String,
    /// Who paid how much, in `currency`.
    pub payers: Vec<AmountEntryBody>,
    /// Who owes how much, in `currency`.
    pub shares: Vec<AmountEntryBody>,
}

impl From<Original> for OriginalBody {
    fn from(o: Original) -> Self {
        let currency = o.amount.currency();
        Self {
            amount: o.amount.to_string(),
            currency: currency.code().to_string(),
            exchange_rate: o.exchange_rate.to_string(),
            payers: portions(currency, o.payers),
            shares: portions(currency, o.shares),
        }
    }
}

fn portions(currency: Currency, list: Vec<Portion<UserId>>) -> Vec<AmountEntryBody> {
    list.into_iter()
        .map(|p| AmountEntryBody {
            user_id: p.user_id.0,
            amount: Amount(currency.format(p.amount.get())),
        })
        .collect()
}

/// An expense with its computed allocation.
#[derive(Debug, Clone, Object)]
pub struct ExpenseBody {
    /// Id.
    pub id: Uuid,
    /// Its group.
    pub group_id: Uuid,
    /// `expense` (money spent) or `income` (money received).
    pub kind: ExpenseKindName,
    /// What was entered, when it was booked from another currency (`null` otherwise):
    /// `amount`, `currency`, `payers` and `shares` above are then in the group's currency.
    #[oai(nullable)]
    pub original: Option<OriginalBody>,
    /// What it was.
    pub description: String,
    /// The amount, a decimal string.
    pub amount: String,
    /// ISO 4217 code.
    pub currency: String,
    /// The single payer, when there is exactly one.
    #[oai(nullable)]
    pub paid_by: Option<Uuid>,
    /// Who paid how much (adds up to `amount`).
    pub payers: Vec<AmountEntryBody>,
    /// Who owes how much (adds up to `amount`).
    pub shares: Vec<AmountEntryBody>,
    /// The split as requested (an equal split among everyone lists the members).
    pub split: SplitBody,
    /// Category.
    #[oai(nullable)]
    pub category: Option<String>,
    /// Payment method.
    #[oai(nullable)]
    pub payment_method: Option<String>,
    /// When it happened.
    pub occurred_on: Date,
    /// Notes.
    #[oai(nullable)]
    pub notes: Option<String>,
    /// The embedding program's JSON object.
    #[oai(nullable)]
    pub metadata: Option<Value>,
    /// Who recorded it.
    pub created_by: Uuid,
    /// When it was recorded.
    pub created_at: OffsetDateTime,
    /// When it last changed.
    pub updated_at: OffsetDateTime,
    /// Starts at 1; every edit adds one. Name it in `PATCH`.
    pub version: i64,
    /// The series occurrence this expense is (`null` for an expense entered by hand).
    #[oai(nullable)]
    pub recurring: Option<OccurrenceBody>,
    /// Its receipts, oldest first.
    pub attachments: Vec<super::attachments::AttachmentRefBody>,
}

/// The series that made an expense and the occurrence's date.
#[derive(Debug, Clone, Object)]
pub struct OccurrenceBody {
    /// The series.
    pub series_id: Uuid,
    /// The occurrence's date.
    pub occurrence_on: Date,
}

impl From<Expense> for ExpenseBody {
    fn from(e: Expense) -> Self {
        let paid_by = e.paid_by().map(|u| u.0);
        let currency = e.currency();
        let d = e.details;
        Self {
            id: e.id.0,
            group_id: e.group_id.0,
            kind: e.kind.into(),
            original: e.original.map(|o| (*o).into()),
            description: d.description,
            amount: e.amount.to_string(),
            currency: currency.code().to_string(),
            paid_by,
            payers: portions(currency, e.payers),
            shares: portions(currency, e.shares),
            split: e.split.into(),
            category: d.category,
            payment_method: d.payment_method,
            occurred_on: d.occurred_on,
            notes: d.notes,
            metadata: d.metadata,
            created_by: e.created_by.0,
            created_at: e.created_at,
            updated_at: e.updated_at,
            version: e.version,
            recurring: e.recurring.map(|o| OccurrenceBody {
                series_id: o.series_id.0,
                occurrence_on: o.occurrence_on,
            }),
            attachments: e.attachments.into_iter().map(Into::into).collect(),
        }
    }
}

/// A page of expenses.
#[derive(Debug, Clone, Object)]
pub struct ExpensePage {
    /// Newest first (by date, then recording time).
    pub items: Vec<ExpenseBody>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

impl From<Page<Expense>> for ExpensePage {
    fn from(p: Page<Expense>) -> Self {
        Self {
            items: p.items.into_iter().map(Into::into).collect(),
            next_cursor: p.next_cursor,
        }
    }
}

/// A new repayment.
#[derive(Debug, Clone, Object)]
pub struct NewSettlementBody {
    /// Who paid back.
    pub from_user: Uuid,
    /// Who was paid back.
    pub to_user: Uuid,
    /// A positive decimal string (never a JSON number).
    pub amount: Amount,
    /// ISO 4217 code; the group's when absent.
    #[oai(nullable)]
    pub currency: Option<CurrencyCode>,
    /// `YYYY-MM-DD`; today (UTC) when absent.
    #[oai(nullable)]
    pub occurred_on: Option<EntryDate>,
    /// Up to 500 characters.
    #[oai(nullable)]
    pub note: Option<OptionalText<500>>,
}

/// A repayment between two members.
#[derive(Debug, Clone, Object)]
pub struct SettlementBody {
    /// Id.
    pub id: Uuid,
    /// Its group.
    pub group_id: Uuid,
    /// Who paid back.
    pub from_user: Uuid,
    /// Who was paid back.
    pub to_user: Uuid,
    /// A decimal string.
    pub amount: String,
    /// ISO 4217 code.
    pub currency: String,
    /// When it happened.
    pub occurred_on: Date,
    /// Note.
    #[oai(nullable)]
    pub note: Option<String>,
    /// Who recorded it.
    pub created_by: Uuid,
    /// When it was recorded.
    pub created_at: OffsetDateTime,
}

impl From<Settlement> for SettlementBody {
    fn from(s: Settlement) -> Self {
        Self {
            id: s.id.0,
            group_id: s.group_id.0,
            from_user: s.from_user.0,
            to_user: s.to_user.0,
            amount: s.amount.to_string(),
            currency: s.currency().code().to_string(),
            occurred_on: s.occurred_on,
            note: s.note,
            created_by: s.created_by.0,
            created_at: s.created_at,
        }
    }
}

/// A conversion of balances, as the API takes it.
#[derive(Debug, Clone, Object)]
pub struct NewConversionBody {
    /// The currency whose balances are moved (emptied).
    pub from_currency: CurrencyCode,
    /// The currency that receives them.
    pub to_currency: CurrencyCode,
    /// Units of `to_currency` per unit of `from_currency`.
    pub exchange_rate: ExchangeRate,
    /// `YYYY-MM-DD`; today (UTC) when absent.
    #[oai(nullable)]
    pub occurred_on: Option<EntryDate>,
    /// Up to 500 characters.
    #[oai(nullable)]
    pub note: Option<OptionalText<500>>,
}

/// One member's part of a conversion.
#[derive(Debug, Clone, Object)]
pub struct ConversionRowBody {
    /// The member.
    pub user_id: Uuid,
    /// Their net in `from_currency` before (signed decimal string): what left it.
    pub from_amount: String,
    /// What was added to their net in `to_currency` (signed decimal string).
    pub to_amount: String,
}

/// A conversion of balances: every member's net in `from_currency` moved into
/// `to_currency`, exactly zero-sum in both.
#[derive(Debug, Clone, Object)]
pub struct ConversionBody {
    /// Id.
    pub id: Uuid,
    /// Its group.
    pub group_id: Uuid,
    /// The currency emptied.
    pub from_currency: String,
    /// The currency that received the nets.
    pub to_currency: String,
    /// Units of `to_currency` per unit of `from_currency`, as entered.
    pub exchange_rate: String,
    /// One row per member whose net was not zero.
    pub rows: Vec<ConversionRowBody>,
    /// When it happened.
    pub occurred_on: Date,
    /// The note.
    #[oai(nullable)]
    pub note: Option<String>,
    /// Who made it.
    pub created_by: Uuid,
    /// When it was made.
    pub created_at: OffsetDateTime,
}

impl From<Conversion> for ConversionBody {
    fn from(c: Conversion) -> Self {
        let (from, to) = (c.from_currency, c.to_currency);
        Self {
            id: c.id.0,
            group_id: c.group_id.0,
            from_currency: from.code().to_string(),
            to_currency: to.code().to_string(),
            exchange_rate: c.exchange_rate.to_string(),
            rows: (c.rows.into_iter())
                .map(|r| ConversionRowBody {
                    user_id: r.user_id.0,
                    from_amount: from.format(r.from_amount.get()),
                    to_amount: to.format(r.to_amount.get()),
                })
                .collect(),
            occurred_on: c.occurred_on,
            note: c.note,
            created_by: c.created_by.0,
            created_at: c.created_at,
        }
    }
}

/// A page of conversions.
#[derive(Debug, Clone, Object)]
pub struct ConversionPage {
    /// Newest first.
    pub items: Vec<ConversionBody>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

/// A page of repayments.
#[derive(Debug, Clone, Object)]
pub struct SettlementPage {
    /// Newest first.
    pub items: Vec<SettlementBody>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

/// One member's balance in one currency.
#[derive(Debug, Clone, Object)]
pub struct MemberBalanceBody {
    /// The member.
    pub user_id: Uuid,
    /// Their display name.
    #[oai(skip_serializing_if_is_none)]
    pub display_name: Option<String>,
    /// Paid for expenses.
    pub paid: String,
    /// Owed as shares of expenses.
    pub owed: String,
    /// Repaid to others.
    pub sent: String,
    /// Repaid by others.
    pub received: String,
    /// Moved into this currency by conversions of balances (negative: out of it).
    pub converted: String,
    /// `paid − owed + sent − received + converted`; positive: the group owes them.
    pub net: String,
}

/// Every member's balance in one currency.
#[derive(Debug, Clone, Object)]
pub struct CurrencyBalancesBody {
    /// ISO 4217 code.
    pub currency: String,
    /// One entry per member, sorted by member id; the nets add up to zero.
    pub members: Vec<MemberBalanceBody>,
}

/// A group's balances, one block per currency.
#[derive(Debug, Clone, Object)]
pub struct BalancesBody {
    /// One block per currency, in code order.
    pub balances: Vec<CurrencyBalancesBody>,
}

impl From<BalancesView<UserId>> for BalancesBody {
    fn from(v: BalancesView<UserId>) -> Self {
        let s = |m: Money| m.to_string();
        Self {
            balances: v
                .balances
                .into_iter()
                .map(|b| CurrencyBalancesBody {
                    currency: b.currency.code().to_string(),
                    members: b
                        .members
                        .into_iter()
                        .map(|m| MemberBalanceBody {
                            user_id: m.user_id.0,
                            display_name: m.display_name,
                            paid: s(m.paid),
                            owed: s(m.owed),
                            sent: s(m.sent),
                            received: s(m.received),
                            converted: s(m.converted),
                            net: s(m.net),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// A payment from one member to another.
#[derive(Debug, Clone, Object)]
pub struct TransferBody {
    /// Who pays.
    pub from: Uuid,
    /// Who receives.
    pub to: Uuid,
    /// A decimal string.
    pub amount: String,
    /// ISO 4217 code.
    pub currency: String,
}

impl From<DebtView> for TransferBody {
    fn from(t: DebtView) -> Self {
        Self {
            from: t.from.0,
            to: t.to.0,
            amount: t.amount.to_string(),
            currency: t.currency.code().to_string(),
        }
    }
}

/// Who owes whom, netted per pair (not simplified).
#[derive(Debug, Clone, Object)]
pub struct DebtsBody {
    /// One entry per pair and currency with a debt.
    pub debts: Vec<TransferBody>,
}

/// The fewest transfers that settle every balance.
#[derive(Debug, Clone, Object)]
pub struct PlanBody {
    /// The transfers; empty when everyone is settled.
    pub transfers: Vec<TransferBody>,
    /// Whether the plan is proven minimal (false only above the exact planner's limit).
    pub optimal: bool,
}

impl From<PlanView<UserId>> for PlanBody {
    fn from(p: PlanView<UserId>) -> Self {
        Self {
            transfers: p.transfers.into_iter().map(Into::into).collect(),
            optimal: p.optimal,
        }
    }
}

/// One entry of a group's activity log.
#[derive(Debug, Clone, Object)]
pub struct ActivityBody {
    /// Id.
    pub id: Uuid,
    /// Who did it.
    pub actor: Uuid,
    /// What, e.g. `expense.updated`.
    pub action: String,
    /// The kind of thing changed, e.g. `expense`.
    pub entity: String,
    /// Its id.
    pub entity_id: Uuid,
    /// When.
    pub at: OffsetDateTime,
    /// `{"before": ..., "after": ...}` (either may be null).
    pub details: Value,
}

impl From<Activity> for ActivityBody {
    fn from(a: Activity) -> Self {
        Self {
            id: a.id.0,
            actor: a.actor.0,
            action: a.action,
            entity: a.entity,
            entity_id: a.entity_id,
            at: a.at,
            details: a.details,
        }
    }
}

/// A page of the activity log.
#[derive(Debug, Clone, Object)]
pub struct ActivityPage {
    /// Newest first.
    pub items: Vec<ActivityBody>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

/// The key a spending summary groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum SummaryKey {
    /// By category (`null` key for none).
    Category,
    /// By month (`YYYY-MM`).
    Month,
    /// By member (each member's share of the spending).
    Member,
}

impl From<SummaryKey> for SummaryBy {
    fn from(k: SummaryKey) -> Self {
        match k {
            SummaryKey::Category => Self::Category,
            SummaryKey::Month => Self::Month,
            SummaryKey::Member => Self::Member,
        }
    }
}

impl From<SummaryBy> for SummaryKey {
    fn from(k: SummaryBy) -> Self {
        match k {
            SummaryBy::Category => Self::Category,
            SummaryBy::Month => Self::Month,
            SummaryBy::Member => Self::Member,
        }
    }
}

/// One line of a summary: spending or income (totalled apart, never netted).
#[derive(Debug, Clone, Object)]
pub struct SummaryLineBody {
    /// The category (`null`: none), the month `YYYY-MM`, or the member id.
    #[oai(nullable)]
    pub key: Option<String>,
    /// `expense` (spending) or `income`.
    pub kind: ExpenseKindName,
    /// ISO 4217 code.
    pub currency: String,
    /// The total (for members: their shares), a decimal string.
    pub amount: String,
    /// Number of expenses (or incomes).
    pub count: i64,
}

/// Spending and income totals, apart (repayments are neither).
#[derive(Debug, Clone, Object)]
pub struct SummaryBody {
    /// The key.
    pub by: SummaryKey,
    /// One line per key, kind and currency.
    pub items: Vec<SummaryLineBody>,
}

impl From<GroupSummary> for SummaryBody {
    fn from(s: GroupSummary) -> Self {
        Self {
            by: s.by.into(),
            items: s
                .items
                .into_iter()
                .map(|l| SummaryLineBody {
                    key: l.key,
                    kind: l.kind.into(),
                    currency: l.currency.code().to_string(),
                    amount: l.amount.to_string(),
                    count: l.count,
                })
                .collect(),
        }
    }
}

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "lowercase")]
pub enum ExportFormat {
    /// `{comments, conversions, expenses, group, members, series, settlements}`: everything
    /// `import?format=splitledger` needs to give the group back (receipts by name, not bytes).
    Json,
    /// One line per expense participant, per side of a repayment and of a conversion, and
    /// per comment.
    Csv,
}
