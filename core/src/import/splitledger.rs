//! This server's own `export?format=json` (`Export::to_json` in `core/src/ledger/views.rs`):
//! members by id, expenses with their stored payers and shares, settlements, conversions
//! (their rows and settled debts). Rows are taken as they are, never re-allocated nor
//! converted again, so the round trip is lossless.

use std::collections::HashMap;

use serde::Deserialize;

use crate::error::ValidationErrors;
use crate::money::Currency;
use crate::split::ExpenseKind;

use crate::exchange::Rate;

use super::{
    ImportConversion, ImportConversionRow, ImportDebt, ImportEntry, ImportExpense, ImportFile,
    ImportSettlement, Part, People, RowErrors, date,
};

#[derive(Deserialize)]
struct Export {
    members: Vec<Member>,
    expenses: Vec<serde_json::Value>,
    #[serde(default)]
    settlements: Vec<serde_json::Value>,
    #[serde(default)]
    conversions: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct Member {
    user_id: String,
    display_name: String,
}

#[derive(Deserialize)]
struct Expense {
    #[serde(default)]
    kind: ExpenseKind,
    description: String,
    amount: String,
    currency: String,
    payers: Vec<Portion>,
    shares: Vec<Portion>,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    payment_method: Option<String>,
    occurred_on: String,
    #[serde(default)]
    notes: Option<String>,
}

#[derive(Deserialize)]
struct Portion {
    user_id: String,
    amount: String,
}

#[derive(Deserialize)]
struct Conversion {
    from_currency: String,
    to_currency: String,
    exchange_rate: String,
    rows: Vec<ConversionRow>,
    #[serde(default)]
    debts: Vec<Debt>,
    occurred_on: String,
    #[serde(default)]
    note: Option<String>,
}

#[derive(Deserialize)]
struct ConversionRow {
    user_id: String,
    from_amount: String,
    to_amount: String,
}

#[derive(Deserialize)]
struct Debt {
    a: String,
    b: String,
    amount: String,
}

#[derive(Deserialize)]
struct Settlement {
    from_user: String,
    to_user: String,
    amount: String,
    currency: String,
    occurred_on: String,
    #[serde(default)]
    note: Option<String>,
}

pub(super) fn parse(bytes: &[u8]) -> Result<ImportFile, ValidationErrors> {
    let export: Export = serde_json::from_slice(bytes).map_err(|e| {
        ValidationErrors::one(
            "file",
            "import_unreadable",
            format!("not a splitledger JSON export: {e}"),
        )
    })?;
    let mut people = People::default();
    let ids: HashMap<String, usize> = export
        .members
        .iter()
        .map(|m| (m.user_id.clone(), people.add(&m.display_name)))
        .collect();
    let mut errors = RowErrors::default();
    let mut entries = Vec::with_capacity(
        export.expenses.len() + export.settlements.len() + export.conversions.len(),
    );
    // Rows count expenses first, then settlements, then conversions, in file order:
    // `rows[n]` is the n-th.
    let mut row = 0u64;
    // The export lists newest first; the import writes oldest first, as they happened.
    for value in export.expenses.into_iter().rev() {
        row += 1;
        match serde_json::from_value::<Expense>(value) {
            Ok(e) => match expense(row, e, &ids) {
                Ok(x) => entries.push(ImportEntry::Expense(x)),
                Err((column, code, message)) => errors.push(row, Some(column), code, message),
            },
            Err(e) => errors.push(row, None, "import_row", format!("not an expense: {e}")),
        }
    }
    for value in export.settlements.into_iter().rev() {
        row += 1;
        match serde_json::from_value::<Settlement>(value) {
            Ok(s) => match settlement(row, s, &ids) {
                Ok(x) => entries.push(ImportEntry::Settlement(x)),
                Err((column, code, message)) => errors.push(row, Some(column), code, message),
            },
            Err(e) => errors.push(row, None, "import_row", format!("not a settlement: {e}")),
        }
    }
    for value in export.conversions.into_iter().rev() {
        row += 1;
        match serde_json::from_value::<Conversion>(value) {
            Ok(c) => match conversion(row, c, &ids) {
                Ok(x) => entries.push(ImportEntry::Conversion(x)),
                Err((column, code, message)) => errors.push(row, Some(column), code, message),
            },
            Err(e) => errors.push(row, None, "import_row", format!("not a conversion: {e}")),
        }
    }
    errors.finish(ImportFile {
        people: people.into_list(),
        entries,
        ..ImportFile::default()
    })
}

type Refusal = (&'static str, &'static str, String);

fn currency(text: &str) -> Result<Currency, Refusal> {
    Currency::parse(text).map_err(|_| {
        (
            "currency",
            "invalid_currency",
            format!("unknown currency {text:?}"),
        )
    })
}

fn person(ids: &HashMap<String, usize>, id: &str, column: &'static str) -> Result<usize, Refusal> {
    ids.get(id).copied().ok_or_else(|| {
        (
            column,
            "import_unknown_person",
            format!("{id} is not among the members"),
        )
    })
}

fn portions(
    list: &[Portion],
    currency: Currency,
    ids: &HashMap<String, usize>,
    column: &'static str,
) -> Result<Vec<Part>, Refusal> {
    list.iter()
        .map(|p| {
            let amount = currency
                .parse_non_negative(&p.amount)
                .map_err(|e| (column, e.code(), format!("{:?} is not an amount", p.amount)))?;
            Ok(Part {
                person: person(ids, &p.user_id, column)?,
                amount,
            })
        })
        .filter(|p| !matches!(p, Ok(Part { amount: 0, .. })))
        .collect()
}

fn expense(row: u64, e: Expense, ids: &HashMap<String, usize>) -> Result<ImportExpense, Refusal> {
    let currency = currency(&e.currency)?;
    let amount = currency.parse_amount(&e.amount).map_err(|err| {
        (
            "amount",
            err.code(),
            format!("{:?} is not an amount", e.amount),
        )
    })?;
    let payers = portions(&e.payers, currency, ids, "payers")?;
    let shares = portions(&e.shares, currency, ids, "shares")?;
    let total = |list: &[Part]| list.iter().map(|p| i128::from(p.amount)).sum::<i128>();
    if total(&payers) != i128::from(amount) || total(&shares) != i128::from(amount) {
        return Err((
            "shares",
            "import_shares_total",
            "payers and shares must each add up to the amount".into(),
        ));
    }
    Ok(ImportExpense {
        row,
        kind: e.kind,
        occurred_on: date(&e.occurred_on).ok_or((
            "occurred_on",
            "invalid_date",
            format!("{:?} is not a date", e.occurred_on),
        ))?,
        description: e.description,
        category: e.category,
        payment_method: e.payment_method,
        notes: e.notes,
        currency,
        amount,
        payers,
        shares,
    })
}

fn settlement(
    row: u64,
    s: Settlement,
    ids: &HashMap<String, usize>,
) -> Result<ImportSettlement, Refusal> {
    let currency = currency(&s.currency)?;
    Ok(ImportSettlement {
        row,
        occurred_on: date(&s.occurred_on).ok_or((
            "occurred_on",
            "invalid_date",
            format!("{:?} is not a date", s.occurred_on),
        ))?,
        note: s.note,
        currency,
        from: person(ids, &s.from_user, "from_user")?,
        to: person(ids, &s.to_user, "to_user")?,
        amount: currency.parse_amount(&s.amount).map_err(|err| {
            (
                "amount",
                err.code(),
                format!("{:?} is not an amount", s.amount),
            )
        })?,
    })
}

/// A signed amount of `currency` in minor units.
fn signed(currency: Currency, text: &str, column: &'static str) -> Result<i64, Refusal> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let units = currency
        .parse_non_negative(digits)
        .map_err(|e| (column, e.code(), format!("{text:?} is not an amount")))?;
    Ok(if negative { -units } else { units })
}

/// A conversion as it was made: its rows must be zero-sum in both currencies, and the debts
/// it settled must give exactly the nets it emptied, or the group's balances would no longer
/// add up.
fn conversion(
    row: u64,
    c: Conversion,
    ids: &HashMap<String, usize>,
) -> Result<ImportConversion, Refusal> {
    let from_currency = currency(&c.from_currency)?;
    let to_currency = currency(&c.to_currency)?;
    if from_currency == to_currency {
        return Err((
            "to_currency",
            "same_currency",
            "a conversion moves balances into another currency".into(),
        ));
    }
    let exchange_rate = Rate::parse(&c.exchange_rate).map_err(|e| {
        (
            "exchange_rate",
            e.code(),
            format!("{:?} is not a rate", c.exchange_rate),
        )
    })?;
    let rows = (c.rows.iter())
        .map(|r| {
            Ok(ImportConversionRow {
                person: person(ids, &r.user_id, "rows")?,
                from_amount: signed(from_currency, &r.from_amount, "rows")?,
                to_amount: signed(to_currency, &r.to_amount, "rows")?,
            })
        })
        .collect::<Result<Vec<_>, Refusal>>()?;
    let debts = (c.debts.iter())
        .map(|d| {
            Ok(ImportDebt {
                a: person(ids, &d.a, "debts")?,
                b: person(ids, &d.b, "debts")?,
                amount: signed(from_currency, &d.amount, "debts")?,
            })
        })
        .collect::<Result<Vec<_>, Refusal>>()?;
    let unbalanced = |column: &'static str| {
        (
            column,
            "import_conversion_unbalanced",
            "a conversion's rows must add up to zero in each currency, and its debts to the nets it empties".to_string(),
        )
    };
    let sum =
        |f: fn(&ImportConversionRow) -> i64| rows.iter().map(|r| i128::from(f(r))).sum::<i128>();
    if sum(|r| r.from_amount) != 0 || sum(|r| r.to_amount) != 0 {
        return Err(unbalanced("rows"));
    }
    // A positive debt: `a` owes `b`, so it counts into `b`'s net and out of `a`'s.
    let mut owed: HashMap<usize, i128> = HashMap::new();
    for d in &debts {
        *owed.entry(d.b).or_default() += i128::from(d.amount);
        *owed.entry(d.a).or_default() -= i128::from(d.amount);
    }
    let mut emptied: HashMap<usize, i128> = HashMap::new();
    for r in &rows {
        *emptied.entry(r.person).or_default() += i128::from(r.from_amount);
    }
    owed.retain(|_, v| *v != 0);
    emptied.retain(|_, v| *v != 0);
    if owed != emptied {
        return Err(unbalanced("debts"));
    }
    Ok(ImportConversion {
        row,
        occurred_on: date(&c.occurred_on).ok_or((
            "occurred_on",
            "invalid_date",
            format!("{:?} is not a date", c.occurred_on),
        ))?,
        note: c.note,
        from_currency,
        to_currency,
        exchange_rate,
        rows,
        debts,
    })
}
