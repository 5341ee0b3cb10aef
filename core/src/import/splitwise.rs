//! Splitwise's CSV export, read as Cospend reads it (`julien-nc/cospend-nc`,
//! `lib/Service/CospendService.php`, `importSWProject`): a header row
//! `Date,Description,Category,Cost,Currency,<one column per member>`, one row per expense
//! or payment whose member cells are that member's net for the row, blank lines, and a
//! `Total balance` row.

use std::collections::BTreeMap;

use crate::error::ValidationErrors;
use crate::money::Currency;
use crate::split::ExpenseKind;

use super::{
    ImportEntry, ImportExpense, ImportFile, ImportSettlement, Part, People, RowErrors, date,
    kind_of, non_blank, signed_minor,
};

/// The columns before the members, in Splitwise's order.
const FIXED: [&str; 5] = ["Date", "Description", "Category", "Cost", "Currency"];
/// Where the member columns start.
const FIRST_MEMBER: usize = FIXED.len();

/// A `Total balance` row: its line, currency and member cells.
type TotalRow = (u64, Currency, Vec<(usize, i64)>);

pub(super) fn parse(bytes: &[u8]) -> Result<ImportFile, ValidationErrors> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut errors = RowErrors::default();
    let mut people = People::default();
    let mut members: Vec<usize> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let mut entries = Vec::new();
    let mut sums: BTreeMap<(Currency, usize), i64> = BTreeMap::new();
    let mut totals: Vec<TotalRow> = Vec::new();
    let mut skipped = 0;
    let mut record = csv::StringRecord::new();
    let mut header_found = false;
    loop {
        let (next, offset) = (reader.position().line(), reader.position().byte());
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                errors.push(next, None, "import_unreadable", format!("not CSV: {e}"));
                break;
            }
        }
        // The reader passes over blank lines silently; count them back.
        let blank = super::blank_lines_at(bytes, offset);
        let row = next + blank;
        if !header_found {
            // Rows before the header (a title, say) are skipped, as Cospend does.
            if record.len() >= FIRST_MEMBER
                && FIXED.iter().zip(record.iter()).all(|(a, b)| *a == b.trim())
            {
                header_found = true;
                for (i, name) in record.iter().enumerate().skip(FIRST_MEMBER) {
                    if name.trim().is_empty() {
                        errors.push(
                            row,
                            Some(&format!("column{}", i + 1)),
                            "import_empty_name",
                            "a member column has no name",
                        );
                    }
                    members.push(people.get(name));
                    names.push(name.trim().to_string());
                }
            }
            continue;
        }
        let cell = |i: usize| record.get(i).unwrap_or("").trim();
        let is_total = cell(1) == "Total balance";
        if record.iter().all(|c| c.trim().is_empty()) || (cell(0).is_empty() && !is_total) {
            continue;
        }
        let currency = match Currency::parse(cell(4)) {
            Ok(c) => c,
            Err(_) => {
                errors.push(
                    row,
                    Some("Currency"),
                    "invalid_currency",
                    format!("unknown currency {:?}", cell(4)),
                );
                continue;
            }
        };
        if record.len() != FIRST_MEMBER + members.len() {
            errors.push(
                row,
                None,
                "import_columns",
                format!(
                    "{} cells where the header has {}",
                    record.len(),
                    FIRST_MEMBER + members.len()
                ),
            );
            continue;
        }
        let mut cells: Vec<(usize, i64)> = Vec::with_capacity(members.len());
        let mut bad = false;
        for (offset, &person) in members.iter().enumerate() {
            let text = cell(FIRST_MEMBER + offset);
            match signed_minor(currency, if text.is_empty() { "0" } else { text }) {
                Ok(v) => cells.push((person, v)),
                Err(code) => {
                    bad = true;
                    errors.push(
                        row,
                        Some(&names[offset]),
                        code,
                        format!("{text:?} is not an amount in {currency}"),
                    );
                }
            }
        }
        if bad {
            continue;
        }
        if is_total {
            totals.push((row, currency, cells));
            continue;
        }
        let Some(occurred_on) = date(cell(0)) else {
            errors.push(
                row,
                Some("Date"),
                "invalid_date",
                format!("{:?} is not a YYYY-MM-DD date", cell(0)),
            );
            continue;
        };
        let sum: i128 = cells.iter().map(|(_, v)| i128::from(*v)).sum();
        if sum != 0 {
            errors.push(
                row,
                None,
                "import_unbalanced",
                "the member cells do not add up to zero",
            );
            continue;
        }
        if cells.iter().all(|(_, v)| *v == 0) {
            skipped += 1;
            continue;
        }
        for &(person, v) in &cells {
            let slot = sums.entry((currency, person)).or_default();
            *slot = slot.saturating_add(v);
        }
        let description = cell(1).to_string();
        let category = non_blank(cell(2));
        if category.as_deref() == Some("Payment") {
            let nonzero: Vec<&(usize, i64)> = cells.iter().filter(|(_, v)| *v != 0).collect();
            match nonzero.as_slice() {
                [a, b] => {
                    let (from, to) = if a.1 > 0 { (a, b) } else { (b, a) };
                    entries.push(ImportEntry::Settlement(ImportSettlement {
                        row,
                        occurred_on,
                        note: non_blank(&description),
                        currency,
                        from: from.0,
                        to: to.0,
                        amount: from.1,
                    }));
                }
                _ => errors.push(
                    row,
                    None,
                    "import_payment",
                    "a payment must be between exactly two members",
                ),
            }
            continue;
        }
        let cost = match signed_minor(currency, if cell(3).is_empty() { "0" } else { cell(3) }) {
            Ok(v) => v,
            Err(code) => {
                errors.push(
                    row,
                    Some("Cost"),
                    code,
                    format!("{:?} is not an amount in {currency}", cell(3)),
                );
                continue;
            }
        };
        let (kind, amount, payers, shares) = reconstruct(&cells, cost);
        entries.push(ImportEntry::Expense(ImportExpense {
            row,
            kind,
            occurred_on,
            description,
            category,
            payment_method: None,
            notes: None,
            currency,
            amount,
            payers,
            shares,
            extra: None,
        }));
        if errors.full() {
            break;
        }
    }
    if !header_found {
        errors.push(1, None, "import_header", "no Date,Description,Category,Cost,Currency header row (export with Splitwise set to English)");
    }
    for (row, currency, cells) in totals {
        let off = cells
            .iter()
            .any(|&(person, v)| sums.get(&(currency, person)).copied().unwrap_or(0) != v);
        if off {
            errors.push(
                row,
                None,
                "import_unbalanced",
                "the Total balance row is not the sum of the rows above it",
            );
        }
    }
    errors.finish(ImportFile {
        people: people.into_list(),
        entries,
        stated: sums,
        skipped,
        ..ImportFile::default()
    })
}

/// Payers and shares whose nets are exactly `cells`. With one member holding the money
/// (the payer of an expense, the receiver of an income) and a `Cost` that covers their
/// cell, that member paid the whole cost and owes the rest, so the entry keeps Splitwise's
/// amount; otherwise (several payers) the amount is what the holders advanced.
fn reconstruct(cells: &[(usize, i64)], cost: i64) -> (ExpenseKind, i64, Vec<Part>, Vec<Part>) {
    let (kind, total) = kind_of(cost);
    let sign = match kind {
        ExpenseKind::Expense => 1,
        ExpenseKind::Income => -1,
    };
    let holders: Vec<Part> = cells
        .iter()
        .filter(|(_, v)| v * sign > 0)
        .map(|&(person, v)| Part {
            person,
            amount: v * sign,
        })
        .collect();
    let mut others: Vec<Part> = cells
        .iter()
        .filter(|(_, v)| v * sign < 0)
        .map(|&(person, v)| Part {
            person,
            amount: -v * sign,
        })
        .collect();
    match holders.as_slice() {
        [holder] if holder.amount <= total => {
            if total > holder.amount {
                others.push(Part {
                    person: holder.person,
                    amount: total - holder.amount,
                });
            }
            let payer = Part {
                person: holder.person,
                amount: total,
            };
            (kind, total, vec![payer], others)
        }
        _ => {
            let amount = holders.iter().map(|p| p.amount).sum();
            (kind, amount, holders, others)
        }
    }
}
