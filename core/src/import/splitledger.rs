//! This server's own `export?format=json` (`Export::to_json` in `core/src/ledger/export.rs`):
//! members by id, expenses with their stored payers and shares (and their split, `original`
//! and metadata), settlements, conversions (their rows and settled debts), recurring series
//! as they stood and comments. Rows are taken as they are, never re-allocated nor converted
//! again, so the round trip is lossless. Receipts are listed without their bytes: they are
//! counted, not imported.

use std::collections::HashMap;

use serde::Deserialize;

use crate::domain::{Occurrence, Original, UserId};
use crate::error::ValidationErrors;
use crate::ledger::NewExpense;
use crate::money::Currency;
use crate::recurring::{Every, Schedule};
use crate::split::ExpenseKind;
use crate::split::SplitInput;

use crate::exchange::Rate;

use super::{
    ExpenseExtra, ImportComment, ImportConversion, ImportConversionRow, ImportDebt, ImportEntry,
    ImportExpense, ImportFile, ImportSeries, ImportSettlement, Part, People, RowErrors, date,
};

#[derive(Deserialize)]
struct Export {
    members: Vec<Member>,
    expenses: Vec<serde_json::Value>,
    #[serde(default)]
    settlements: Vec<serde_json::Value>,
    #[serde(default)]
    conversions: Vec<serde_json::Value>,
    #[serde(default)]
    series: Vec<serde_json::Value>,
    #[serde(default)]
    comments: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct Series {
    id: String,
    expense: NewExpense,
    every: Every,
    interval: u32,
    starts_on: String,
    #[serde(default)]
    ends_on: Option<String>,
    #[serde(default)]
    count: Option<u32>,
    paused: bool,
    next_index: u32,
    created_by: UserId,
    #[serde(with = "time::serde::rfc3339")]
    created_at: time::OffsetDateTime,
}

#[derive(Deserialize)]
struct Comment {
    expense_id: String,
    author: String,
    text: String,
    #[serde(with = "time::serde::rfc3339")]
    created_at: time::OffsetDateTime,
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
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    split: Option<SplitInput<UserId>>,
    #[serde(default)]
    original: Option<Original>,
    #[serde(default)]
    metadata: Option<serde_json::Value>,
    #[serde(default)]
    recurring: Option<Occurrence>,
    #[serde(default)]
    attachments: Vec<serde_json::Value>,
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
    let user_ids: HashMap<UserId, usize> = (export.members.iter())
        .filter_map(|m| {
            Some((
                m.user_id.parse::<uuid::Uuid>().ok().map(UserId)?,
                ids.get(&m.user_id).copied()?,
            ))
        })
        .collect();
    let mut errors = RowErrors::default();
    let mut entries = Vec::with_capacity(
        export.expenses.len() + export.settlements.len() + export.conversions.len(),
    );
    // Rows count expenses first, then settlements, then conversions, series and comments,
    // in file order: `rows[n]` is the n-th.
    let mut row = 0u64;
    // Series first (their rows come after the entries'), so that an expense can name the
    // series it is an occurrence of.
    let series_base =
        (export.expenses.len() + export.settlements.len() + export.conversions.len()) as u64;
    let series_rows = export.series.len() as u64;
    let mut series = Vec::with_capacity(export.series.len());
    let mut series_index: HashMap<String, usize> = HashMap::new();
    for (i, value) in export.series.into_iter().enumerate() {
        let at = series_base + i as u64 + 1;
        match serde_json::from_value::<Series>(value) {
            Ok(s) => {
                let id = s.id.clone();
                match one_series(at, s, &user_ids) {
                    Ok(x) => {
                        series_index.insert(id, series.len());
                        series.push(x);
                    }
                    Err((column, code, message)) => errors.push(at, Some(column), code, message),
                }
            }
            Err(e) => errors.push(at, None, "import_row", format!("not a series: {e}")),
        }
    }
    let mut attachments = 0u64;
    let mut sources: std::collections::HashSet<String> = std::collections::HashSet::new();
    // The export lists newest first; the import writes oldest first, as they happened.
    for value in export.expenses.into_iter().rev() {
        row += 1;
        match serde_json::from_value::<Expense>(value) {
            Ok(e) => match expense(row, e, &ids, &user_ids, &series_index) {
                Ok((x, receipts)) => {
                    attachments += receipts;
                    if let Some(extra) = &x.extra {
                        sources.insert(extra.source.clone());
                    }
                    entries.push(ImportEntry::Expense(x));
                }
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
    debug_assert_eq!(row, series_base);
    let mut comments = Vec::with_capacity(export.comments.len());
    let comments_base = series_base + series_rows;
    for (i, value) in export.comments.into_iter().enumerate() {
        let at = comments_base + i as u64 + 1;
        match serde_json::from_value::<Comment>(value) {
            Ok(c) => {
                if !sources.contains(&c.expense_id) {
                    errors.push(
                        at,
                        Some("expense_id"),
                        "import_unknown_expense",
                        format!("{} is not among the expenses", c.expense_id),
                    );
                    continue;
                }
                match person(&ids, &c.author, "author") {
                    Ok(author) => comments.push(ImportComment {
                        row: at,
                        expense: c.expense_id,
                        author,
                        text: c.text,
                        created_at: c.created_at,
                    }),
                    Err((column, code, message)) => errors.push(at, Some(column), code, message),
                }
            }
            Err(e) => errors.push(at, None, "import_row", format!("not a comment: {e}")),
        }
    }
    errors.finish(ImportFile {
        people: people.into_list(),
        entries,
        series,
        comments,
        attachments,
        ids: user_ids,
        ..ImportFile::default()
    })
}

/// Every member a split names.
fn split_users(split: &SplitInput<UserId>) -> Vec<UserId> {
    match split {
        SplitInput::Equal { members } => members.iter().flatten().copied().collect(),
        SplitInput::Exact { shares } => shares.iter().map(|s| s.user_id).collect(),
        SplitInput::Percent { shares } => shares.iter().map(|s| s.user_id).collect(),
        SplitInput::Shares { shares } => shares.iter().map(|s| s.user_id).collect(),
    }
}

/// Refuses a member id the file's members do not list.
fn known(
    ids: &HashMap<UserId, usize>,
    users: &[UserId],
    column: &'static str,
) -> Result<(), Refusal> {
    match users.iter().find(|u| !ids.contains_key(u)) {
        Some(u) => Err((
            column,
            "import_unknown_person",
            format!("{u} is not among the members"),
        )),
        None => Ok(()),
    }
}

/// A series as it stood: calendar, state and template, its members among the file's.
fn one_series(row: u64, s: Series, ids: &HashMap<UserId, usize>) -> Result<ImportSeries, Refusal> {
    let day = |text: &str, column: &'static str| {
        date(text).ok_or((column, "invalid_date", format!("{text:?} is not a date")))
    };
    let schedule = Schedule {
        every: s.every,
        interval: s.interval,
        starts_on: day(&s.starts_on, "starts_on")?,
        ends_on: s
            .ends_on
            .as_deref()
            .map(|d| day(d, "ends_on"))
            .transpose()?,
        count: s.count,
    };
    if let Err(e) = schedule.check() {
        let first = e.0.first();
        return Err((
            "schedule",
            first.map_or("invalid", |f| f.code),
            first.map_or_else(String::new, |f| format!("{}: {}", f.field, f.message)),
        ));
    }
    let t = &s.expense;
    let mut users: Vec<UserId> = split_users(&t.split);
    users.extend(t.paid_by);
    users.extend(t.payers.iter().flatten().map(|p| p.user_id));
    known(ids, &users, "expense")?;
    Ok(ImportSeries {
        row,
        template: s.expense,
        schedule,
        paused: s.paused,
        next_index: s.next_index,
        created_by: s.created_by,
        created_at: s.created_at,
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

/// An expense and how many receipts it lists (which cannot come back: no bytes).
fn expense(
    row: u64,
    e: Expense,
    ids: &HashMap<String, usize>,
    user_ids: &HashMap<UserId, usize>,
    series: &HashMap<String, usize>,
) -> Result<(ImportExpense, u64), Refusal> {
    let currency = currency(&e.currency)?;
    let extra = match e.id {
        Some(source) => {
            let split = e.split.unwrap_or(SplitInput::Exact { shares: Vec::new() });
            known(user_ids, &split_users(&split), "split")?;
            if let Some(o) = &e.original {
                let users: Vec<UserId> = (o.payers.iter().chain(&o.shares))
                    .map(|p| p.user_id)
                    .collect();
                known(user_ids, &users, "original")?;
                let total = |l: &[crate::split::Portion<UserId>]| {
                    l.iter().map(|p| i128::from(p.amount.get())).sum::<i128>()
                };
                let amount = i128::from(o.amount.units().get());
                if total(&o.payers) != amount || total(&o.shares) != amount {
                    return Err((
                        "original",
                        "import_shares_total",
                        "the original payers and shares must each add up to its amount".into(),
                    ));
                }
            }
            // An occurrence of a series the file no longer holds (deleted: its occurrences
            // stay) is an ordinary expense.
            let occurrence = (e.recurring)
                .and_then(|o| Some((*series.get(&o.series_id.to_string())?, o.occurrence_on)));
            Some(Box::new(ExpenseExtra {
                source,
                split,
                original: e.original,
                metadata: e.metadata,
                occurrence,
            }))
        }
        None => None,
    };
    let receipts = e.attachments.len() as u64;
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
    Ok((
        ImportExpense {
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
            extra,
        },
        receipts,
    ))
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
