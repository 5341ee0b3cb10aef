//! Imports from other tools: each tool's own export parsed into one neutral model.
//!
//! The parsers are pure (bytes in, [`ImportFile`] out, no I/O) and read row by row, so the
//! memory a row costs is bounded by the row. A bad row refuses the file with row-numbered
//! errors (`rows[12].amount`). Amounts are exact minor units from the first byte: numbers
//! are read from their text, never through a float. Where a tool splits by weights, the
//! shares are allocated by this ledger's own exact rule ([`largest_remainder`]), seeded by
//! the row, so the same file always gives the same rows. How each format maps, rule by
//! upstream file, is written in `docs/ARCHITECTURE.md` ("Import formats").

mod cospend;
mod ihatemoney;
mod spliit;
mod splitledger;
mod splitwise;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::Date;

use crate::error::{FieldError, ValidationErrors};
use crate::money::{Currency, PlainDecimal};
use crate::split::{ExpenseKind, MAX_WEIGHT, MAX_WEIGHT_DECIMALS, largest_remainder};

/// Most row errors one refusal lists: enough to fix a file, bounded for a huge bad one.
pub const MAX_ROW_ERRORS: usize = 50;

/// The tools whose exports can be imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Splitwise's CSV export.
    Splitwise,
    /// IHateMoney's JSON export.
    Ihatemoney,
    /// Spliit's JSON export.
    Spliit,
    /// Cospend's CSV export.
    Cospend,
    /// This server's own `export?format=json`.
    Splitledger,
}

impl Format {
    /// The name the API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Splitwise => "splitwise",
            Self::Ihatemoney => "ihatemoney",
            Self::Spliit => "spliit",
            Self::Cospend => "cospend",
            Self::Splitledger => "splitledger",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = ValidationErrors;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "splitwise" => Ok(Self::Splitwise),
            "ihatemoney" => Ok(Self::Ihatemoney),
            "spliit" => Ok(Self::Spliit),
            "cospend" => Ok(Self::Cospend),
            "splitledger" => Ok(Self::Splitledger),
            _ => Err(ValidationErrors::one(
                "format",
                "invalid_format",
                "one of splitwise, ihatemoney, spliit, cospend, splitledger",
            )),
        }
    }
}

/// A person of the file, by the name the file gives them. Entries name people by their
/// index in [`ImportFile::people`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// The name as the file spells it (trimmed).
    pub name: String,
}

/// One person's part of an entry, in minor units of the entry's currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Part {
    /// Index into [`ImportFile::people`].
    pub person: usize,
    /// Minor units (positive).
    pub amount: i64,
}

/// An expense or an income, allocated: payers and shares each add up to `amount`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportExpense {
    /// The file's row (1-based) it came from.
    pub row: u64,
    /// Spent or received.
    pub kind: ExpenseKind,
    /// When.
    pub occurred_on: Date,
    /// What.
    pub description: String,
    /// The tool's category name.
    pub category: Option<String>,
    /// The tool's payment method name.
    pub payment_method: Option<String>,
    /// Free text.
    pub notes: Option<String>,
    /// The currency of every amount.
    pub currency: Currency,
    /// The total, minor units (positive).
    pub amount: i64,
    /// Who paid (for income: who received), adding up to `amount`.
    pub payers: Vec<Part>,
    /// Whom it was for, adding up to `amount`.
    pub shares: Vec<Part>,
    /// What only this server's own export carries.
    pub extra: Option<Box<ExpenseExtra>>,
}

/// What an expense of this server's own export carries beyond any other tool's: kept as the
/// file gives it, members named by the file's user ids ([`ImportFile::ids`]), which the
/// import maps onto the members the names became.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpenseExtra {
    /// The expense's id in the file (comments name it).
    pub source: String,
    /// The split as it was asked for.
    pub split: crate::split::SplitInput<crate::domain::UserId>,
    /// What was entered when it was booked from another currency.
    pub original: Option<crate::domain::Original>,
    /// The embedding program's JSON object.
    pub metadata: Option<serde_json::Value>,
    /// The series occurrence it is: an index into [`ImportFile::series`] and its date.
    pub occurrence: Option<(usize, Date)>,
}

/// A recurring series of this server's own export, as it stood: its calendar and how far
/// it had got, so the imported series makes nothing the file already holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportSeries {
    /// The file's row (1-based) it came from.
    pub row: u64,
    /// The expense each occurrence records (members by the file's user ids).
    pub template: crate::ledger::NewExpense,
    /// Its calendar.
    pub schedule: crate::recurring::Schedule,
    /// Paused.
    pub paused: bool,
    /// The number of the first occurrence not yet made (nor skipped by a pause).
    pub next_index: u32,
    /// Its creator (the file's user id).
    pub created_by: crate::domain::UserId,
    /// When it was created.
    pub created_at: time::OffsetDateTime,
}

/// A comment of this server's own export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportComment {
    /// The file's row (1-based) it came from.
    pub row: u64,
    /// The expense it is about: its id in the file ([`ExpenseExtra::source`]).
    pub expense: String,
    /// Who wrote it (index into [`ImportFile::people`]).
    pub author: usize,
    /// Its text.
    pub text: String,
    /// When it was written (kept: a comment's time is part of the conversation).
    pub created_at: time::OffsetDateTime,
}

/// A repayment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportSettlement {
    /// The file's row (1-based) it came from.
    pub row: u64,
    /// When.
    pub occurred_on: Date,
    /// A note (the tool's description).
    pub note: Option<String>,
    /// The currency.
    pub currency: Currency,
    /// Who paid it back.
    pub from: usize,
    /// Who received it.
    pub to: usize,
    /// Minor units (positive).
    pub amount: i64,
}

/// One member's part of a conversion, as the file gives it (minor units, signed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportConversionRow {
    /// Who.
    pub person: usize,
    /// Their net in the emptied currency before: what left it.
    pub from_amount: i64,
    /// What was added to their net in the receiving currency.
    pub to_amount: i64,
}

/// A debt in the emptied currency a conversion settled: `a` owed `b` `amount` (signed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportDebt {
    /// The debtor (when the amount is positive).
    pub a: usize,
    /// The creditor (when the amount is positive).
    pub b: usize,
    /// Minor units of the emptied currency.
    pub amount: i64,
}

/// A conversion of balances, taken as it was computed (never converted again: the rate
/// and its rounding are history).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportConversion {
    /// The file's row (1-based) it came from.
    pub row: u64,
    /// When.
    pub occurred_on: Date,
    /// A note.
    pub note: Option<String>,
    /// The currency emptied.
    pub from_currency: Currency,
    /// The currency that received the nets.
    pub to_currency: Currency,
    /// The rate it was made at.
    pub exchange_rate: crate::exchange::Rate,
    /// One row per member whose net moved.
    pub rows: Vec<ImportConversionRow>,
    /// The debts in `from_currency` it settled.
    pub debts: Vec<ImportDebt>,
}

/// One entry of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportEntry {
    /// An expense or an income.
    Expense(ImportExpense),
    /// A repayment.
    Settlement(ImportSettlement),
    /// A conversion of balances (splitledger's own export only).
    Conversion(ImportConversion),
}

impl ImportEntry {
    /// The file's row it came from.
    pub fn row(&self) -> u64 {
        match self {
            Self::Expense(e) => e.row,
            Self::Settlement(s) => s.row,
            Self::Conversion(c) => c.row,
        }
    }
}

/// A file, parsed: everything an import writes, by name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImportFile {
    /// Everyone the file names, in the order it first names them.
    pub people: Vec<Person>,
    /// The entries, in file order.
    pub entries: Vec<ImportEntry>,
    /// The nets the file states, per (currency, person): what the group's nets must be
    /// after the import. Formats that state none carry the nets their rows give.
    pub stated: BTreeMap<(Currency, usize), i64>,
    /// Rows that move no balance and were left out (a Splitwise row whose cells are all
    /// zero: somebody's own expense, with no sign of whose).
    pub skipped: u64,
    /// Recurring series (this server's own export only).
    pub series: Vec<ImportSeries>,
    /// Comments (this server's own export only).
    pub comments: Vec<ImportComment>,
    /// Receipts the file lists by name but cannot carry (no bytes): left out, counted.
    pub attachments: u64,
    /// The file's user ids by person (this server's own export only).
    pub ids: HashMap<crate::domain::UserId, usize>,
}

impl ImportFile {
    /// The nets the entries give, per (currency, person), zero nets left out:
    /// paid − owed for an expense, the reverse for income, sent − received for a
    /// repayment, minus what left the emptied currency and plus what reached the other for
    /// a conversion. `None` if a sum leaves 64 bits (no file of bounded amounts gets there).
    pub fn nets(&self) -> Option<BTreeMap<(Currency, usize), i64>> {
        let mut nets: BTreeMap<(Currency, usize), i64> = BTreeMap::new();
        let mut add = |currency: Currency, person: usize, delta: i64| -> Option<()> {
            let slot = nets.entry((currency, person)).or_default();
            *slot = slot.checked_add(delta)?;
            Some(())
        };
        for entry in &self.entries {
            match entry {
                ImportEntry::Expense(e) => {
                    let sign = match e.kind {
                        ExpenseKind::Expense => 1,
                        ExpenseKind::Income => -1,
                    };
                    for p in &e.payers {
                        add(e.currency, p.person, sign * p.amount)?;
                    }
                    for s in &e.shares {
                        add(e.currency, s.person, -sign * s.amount)?;
                    }
                }
                ImportEntry::Settlement(s) => {
                    add(s.currency, s.from, s.amount)?;
                    add(s.currency, s.to, -s.amount)?;
                }
                ImportEntry::Conversion(c) => {
                    for r in &c.rows {
                        add(c.from_currency, r.person, r.from_amount.checked_neg()?)?;
                        add(c.to_currency, r.person, r.to_amount)?;
                    }
                }
            }
        }
        nets.retain(|_, net| *net != 0);
        Some(nets)
    }
}

/// Parses `bytes` as `format`. `group_currency` is the currency of amounts the file does
/// not give one for. Every refusal names its row.
pub fn parse(
    format: Format,
    bytes: &[u8],
    group_currency: Currency,
) -> Result<ImportFile, ValidationErrors> {
    let mut file = match format {
        Format::Splitwise => splitwise::parse(bytes)?,
        Format::Ihatemoney => ihatemoney::parse(bytes, group_currency)?,
        Format::Spliit => spliit::parse(bytes, group_currency)?,
        Format::Cospend => cospend::parse(bytes, group_currency)?,
        Format::Splitledger => splitledger::parse(bytes)?,
    };
    let nets = file.nets().ok_or_else(|| {
        ValidationErrors::one(
            "file",
            "import_overflow",
            "the file's totals leave the range",
        )
    })?;
    if format != Format::Splitwise {
        file.stated = nets;
    } else {
        let mut stated = std::mem::take(&mut file.stated);
        stated.retain(|_, net| *net != 0);
        if stated != nets {
            return Err(ValidationErrors::one(
                "file",
                "import_unbalanced",
                "the file's balances are not the sum of its rows",
            ));
        }
        file.stated = stated;
    }
    if file.entries.is_empty() {
        return Err(ValidationErrors::one(
            "file",
            "import_empty",
            "the file has no entries",
        ));
    }
    Ok(file)
}

/// Collects row errors up to [`MAX_ROW_ERRORS`].
#[derive(Debug, Default)]
pub(crate) struct RowErrors(ValidationErrors);

impl RowErrors {
    /// Notes that `row` (1-based) is refused; `column` names the cell when one is at fault.
    pub fn push(
        &mut self,
        row: u64,
        column: Option<&str>,
        code: &'static str,
        message: impl Into<String>,
    ) {
        if self.0.0.len() < MAX_ROW_ERRORS {
            let field = match column {
                Some(c) => format!("rows[{row}].{c}"),
                None => format!("rows[{row}]"),
            };
            let message = format!("row {row}: {}", message.into());
            self.0.push(FieldError::new(field, code, message));
        }
    }

    /// Whether the refusal is already as long as it gets (parsing further is wasted work).
    pub fn full(&self) -> bool {
        self.0.0.len() >= MAX_ROW_ERRORS
    }

    /// `Ok(value)` if no row was refused.
    pub fn finish<T>(self, value: T) -> Result<T, ValidationErrors> {
        self.0.into_result().map(|()| value)
    }
}

/// People by name, in first-seen order.
#[derive(Debug, Default)]
pub(crate) struct People {
    list: Vec<Person>,
    index: HashMap<String, usize>,
}

impl People {
    /// The index of `name` (trimmed), added if new.
    pub fn get(&mut self, name: &str) -> usize {
        let name = name.trim();
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = self.list.len();
        self.list.push(Person {
            name: name.to_string(),
        });
        self.index.insert(name.to_string(), i);
        i
    }

    /// A new person even if someone of that name exists (files that key people by id).
    pub fn add(&mut self, name: &str) -> usize {
        let i = self.list.len();
        self.list.push(Person {
            name: name.trim().to_string(),
        });
        self.index.entry(name.trim().to_string()).or_insert(i);
        i
    }

    /// Everyone.
    pub fn into_list(self) -> Vec<Person> {
        self.list
    }
}

/// A signed decimal text in `currency`'s minor units (`"-12.50"` → −1250).
pub(crate) fn signed_minor(currency: Currency, text: &str) -> Result<i64, &'static str> {
    let text = text.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let minor = currency.parse_non_negative(digits).map_err(|e| e.code())?;
    Ok(if negative { -minor } else { minor })
}

/// A non-negative weight (`"1"`, `"1.5"`) as an integer scaled by 10^6, so that weights
/// with different decimals compare exactly; at most [`MAX_WEIGHT`].
pub(crate) fn weight(text: &str) -> Option<i128> {
    let value = PlainDecimal::parse(text.trim())?;
    if value.negative && !value.is_zero() {
        return None;
    }
    let scaled = value.scaled(MAX_WEIGHT_DECIMALS)?;
    let max = i128::from(MAX_WEIGHT) * 10_i128.pow(MAX_WEIGHT_DECIMALS);
    (scaled <= max).then_some(scaled)
}

/// Shares of `amount` among `(person, weight)` by this ledger's exact largest remainder
/// rule, the tie-break seeded by `seed` (the row). `None` if every weight is zero.
pub(crate) fn weighted(seed: &str, amount: i64, weights: &[(usize, i128)]) -> Option<Vec<Part>> {
    // The same person named twice weighs twice (IHateMoney and Cospend keep duplicates
    // apart only by id, which their exports drop).
    let mut merged: BTreeMap<usize, i128> = BTreeMap::new();
    for &(p, w) in weights {
        *merged.entry(p).or_default() += w;
    }
    let list: Vec<(usize, i128)> = merged.into_iter().filter(|(_, w)| *w > 0).collect();
    if list.is_empty() {
        return None;
    }
    Some(
        largest_remainder(seed, amount, &list)
            .into_iter()
            .map(|p| Part {
                person: p.user_id,
                amount: p.amount.get(),
            })
            .collect(),
    )
}

/// How many empty lines start at byte `offset` of `bytes` (the CSV reader skips them without
/// a word, and they both number rows and separate Cospend's blocks).
pub(crate) fn blank_lines_at(bytes: &[u8], offset: u64) -> u64 {
    let mut rest = usize::try_from(offset)
        .ok()
        .and_then(|o| bytes.get(o..))
        .unwrap_or(&[]);
    let mut count = 0;
    loop {
        if let Some(after) = rest.strip_prefix(b"\r\n") {
            rest = after;
        } else if let Some(after) = rest.strip_prefix(b"\n") {
            rest = after;
        } else {
            return count;
        }
        count += 1;
    }
}

/// A `YYYY-MM-DD` date.
pub(crate) fn date(text: &str) -> Option<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text.trim(), &format).ok()
}

/// Splits a signed amount into the kind and the magnitude: a negative expense is income.
pub(crate) fn kind_of(amount: i64) -> (ExpenseKind, i64) {
    if amount < 0 {
        (ExpenseKind::Income, -amount)
    } else {
        (ExpenseKind::Expense, amount)
    }
}

/// Text or `None` when blank.
pub(crate) fn non_blank(text: &str) -> Option<String> {
    let t = text.trim();
    (!t.is_empty()).then(|| t.to_string())
}
