//! Cospend's CSV export (`julien-nc/cospend-nc`, `lib/Service/ExportService.php`,
//! `exportCsvProject`), read as Cospend's own importer reads it
//! (`lib/Service/CospendService.php`, `importCsvProjectStream`): blocks separated by blank
//! lines, each opened by a header row that says which block it is.

use std::collections::HashMap;

use time::OffsetDateTime;

use crate::error::ValidationErrors;
use crate::money::Currency;

use super::{
    ImportEntry, ImportExpense, ImportFile, ImportSettlement, Part, People, RowErrors, date,
    kind_of, non_blank, signed_minor, weight, weighted,
};

/// Cospend's built-in categories (`lib/AppInfo/Application.php`), by id.
const BUILT_IN_CATEGORIES: [(i64, &str); 12] = [
    (-1, "Grocery"),
    (-2, "Bar/Party"),
    (-3, "Rent"),
    (-4, "Bill"),
    (-5, "Excursion/Culture"),
    (-6, "Health"),
    (-10, "Shopping"),
    (-11, "Reimbursement"),
    (-12, "Restaurant"),
    (-13, "Accommodation"),
    (-14, "Transport"),
    (-15, "Sport"),
];
/// `Application::CAT_REIMBURSEMENT`: a bill in it is a repayment.
const REIMBURSEMENT: i64 = -11;
/// The bill name Cospend's importer skips (its sample project's placeholder).
const PLACEHOLDER_BILL: &str = "deleteMeIfYouWant";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    Members,
    Bills,
    Categories,
    PaymentModes,
    Currencies,
}

/// A bill as read, resolved once the categories and payment modes (written after the bills)
/// are known.
struct Bill {
    row: u64,
    what: String,
    amount: String,
    occurred_on: time::Date,
    payer: usize,
    owers: Vec<usize>,
    category: Option<i64>,
    payment_mode: Option<i64>,
    comment: Option<String>,
}

/// PHP's `urlencode` undone: `+` is a space, `%XX` a byte.
fn url_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = |b: u8| (b as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub(super) fn parse(
    bytes: &[u8],
    group_currency: Currency,
) -> Result<ImportFile, ValidationErrors> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut errors = RowErrors::default();
    let mut people = People::default();
    let mut weights: HashMap<usize, i128> = HashMap::new();
    let mut bills: Vec<Bill> = Vec::new();
    let mut categories: HashMap<i64, String> = BUILT_IN_CATEGORIES
        .iter()
        .map(|(id, n)| (*id, n.to_string()))
        .collect();
    let mut payment_modes: HashMap<i64, String> = HashMap::new();
    let mut main_currency: Option<Currency> = None;
    let mut columns: HashMap<String, usize> = HashMap::new();
    let mut section: Option<Section> = None;
    let mut previous_empty = true;
    let mut record = csv::StringRecord::new();
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
        if record.iter().all(|c| c.is_empty()) {
            previous_empty = true;
            continue;
        }
        if blank > 0 {
            previous_empty = true;
        }
        if previous_empty {
            previous_empty = false;
            columns = record
                .iter()
                .enumerate()
                .filter(|(_, c)| !c.is_empty())
                .map(|(i, c)| (c.trim().to_string(), i))
                .collect();
            let has = |names: &[&str]| names.iter().all(|n| columns.contains_key(*n));
            section = if has(&["what", "amount", "payer_name", "payer_weight", "owers"])
                && (has(&["date"]) || has(&["timestamp"]))
            {
                Some(Section::Bills)
            } else if has(&["name", "weight", "active", "color"]) {
                Some(Section::Members)
            } else if has(&["icon", "color", "paymentmodeid", "paymentmodename"]) {
                Some(Section::PaymentModes)
            } else if has(&["icon", "color", "categoryid", "categoryname"]) {
                Some(Section::Categories)
            } else if has(&["exchange_rate", "currencyname"]) {
                Some(Section::Currencies)
            } else {
                errors.push(
                    row,
                    None,
                    "import_header",
                    "not a header row Cospend writes (bad column names)",
                );
                break;
            };
            continue;
        }
        let cell = |name: &str| cell(&columns, &record, name);
        match section {
            Some(Section::Members) => {
                let name = cell("name");
                match weight(cell("weight")) {
                    Some(w) if !name.is_empty() => {
                        weights.insert(people.get(name), w);
                    }
                    _ => errors.push(
                        row,
                        Some("weight"),
                        "import_member",
                        format!(
                            "{name:?} has no name or weight {:?} is not a weight",
                            cell("weight")
                        ),
                    ),
                }
            }
            Some(Section::Categories) => {
                if let Ok(id) = cell("categoryid").parse::<i64>() {
                    categories.insert(id, cell("categoryname").to_string());
                }
            }
            Some(Section::PaymentModes) => {
                if let Ok(id) = cell("paymentmodeid").parse::<i64>() {
                    payment_modes.insert(id, cell("paymentmodename").to_string());
                }
            }
            // The main currency is the one at rate 1; its name is free text, so it counts
            // only when it is an ISO code.
            Some(Section::Currencies) if weight(cell("exchange_rate")) == weight("1") => {
                main_currency = Currency::parse(cell("currencyname")).ok();
            }
            Some(Section::Currencies) => {}
            Some(Section::Bills) => {
                if let Some(bill) = read_bill(
                    row,
                    &Row {
                        columns: &columns,
                        record: &record,
                    },
                    &mut people,
                    &mut weights,
                    &mut errors,
                ) {
                    bills.push(bill);
                }
                if errors.full() {
                    break;
                }
            }
            None => {}
        }
    }
    let currency = main_currency.unwrap_or(group_currency);
    let one = weight("1").unwrap_or(1);
    let mut entries = Vec::with_capacity(bills.len());
    for bill in bills {
        // Amounts are read once the currency (written after the bills) is known.
        let amount = match signed_minor(currency, &bill.amount) {
            Ok(v) if v != 0 => v,
            Ok(_) => {
                errors.push(
                    bill.row,
                    Some("amount"),
                    "not_positive",
                    "a bill of nothing",
                );
                continue;
            }
            Err(code) => {
                errors.push(
                    bill.row,
                    Some("amount"),
                    code,
                    format!("{:?} is not an amount in {currency}", bill.amount),
                );
                continue;
            }
        };
        let (kind, magnitude) = kind_of(amount);
        let owers: Vec<(usize, i128)> = bill
            .owers
            .iter()
            .map(|o| (*o, weights.get(o).copied().unwrap_or(one)))
            .collect();
        let Some(shares) = weighted(&format!("cospend:{}", bill.row), magnitude, &owers) else {
            errors.push(
                bill.row,
                Some("owers"),
                "import_no_sharers",
                "nobody with a weight shares this bill",
            );
            continue;
        };
        if bill.category == Some(REIMBURSEMENT) && amount > 0 {
            for share in shares.iter().filter(|s| s.person != bill.payer) {
                entries.push(ImportEntry::Settlement(ImportSettlement {
                    row: bill.row,
                    occurred_on: bill.occurred_on,
                    note: non_blank(&bill.what),
                    currency,
                    from: bill.payer,
                    to: share.person,
                    amount: share.amount,
                }));
            }
            continue;
        }
        entries.push(ImportEntry::Expense(ImportExpense {
            row: bill.row,
            kind,
            occurred_on: bill.occurred_on,
            description: bill.what.trim().to_string(),
            category: bill
                .category
                .and_then(|c| categories.get(&c))
                .and_then(|n| non_blank(n)),
            payment_method: bill
                .payment_mode
                .and_then(|m| payment_modes.get(&m))
                .and_then(|n| non_blank(n)),
            notes: bill.comment,
            currency,
            amount: magnitude,
            payers: vec![Part {
                person: bill.payer,
                amount: magnitude,
            }],
            shares,
            extra: None,
        }));
    }
    errors.finish(ImportFile {
        people: people.into_list(),
        entries,
        ..ImportFile::default()
    })
}

/// A cell of `record` by its block's column name; empty when the block has no such column.
fn cell<'r>(
    columns: &HashMap<String, usize>,
    record: &'r csv::StringRecord,
    name: &str,
) -> &'r str {
    columns
        .get(name)
        .and_then(|&i| record.get(i))
        .unwrap_or("")
        .trim()
}

/// A row of a block with the block's columns.
struct Row<'r> {
    columns: &'r HashMap<String, usize>,
    record: &'r csv::StringRecord,
}

impl<'r> Row<'r> {
    fn get(&self, name: &str) -> &'r str {
        cell(self.columns, self.record, name)
    }
}

/// One row of the bills block, or `None` (with the reason in `errors`, or a row Cospend
/// itself skips).
fn read_bill(
    row: u64,
    r: &Row<'_>,
    people: &mut People,
    weights: &mut HashMap<usize, i128>,
    errors: &mut RowErrors,
) -> Option<Bill> {
    let what = r.get("what").to_string();
    if what == PLACEHOLDER_BILL || r.get("deleted") == "1" {
        return None;
    }
    let amount = r.get("amount").to_string();
    let occurred_on = match r
        .get("timestamp")
        .parse::<i64>()
        .ok()
        .filter(|_| !r.get("timestamp").is_empty())
    {
        Some(ts) => OffsetDateTime::from_unix_timestamp(ts)
            .ok()
            .map(|t| t.date()),
        None => date(r.get("date")),
    };
    let Some(occurred_on) = occurred_on else {
        errors.push(
            row,
            Some("date"),
            "invalid_date",
            "missing or invalid date/timestamp",
        );
        return None;
    };
    let payer_name = r.get("payer_name");
    let owers_text = r.get("owers");
    if payer_name.is_empty()
        || owers_text.is_empty()
        || owers_text.split(',').any(|o| o.trim().is_empty())
    {
        errors.push(
            row,
            Some("owers"),
            "import_empty_name",
            "a bill needs a payer and owers",
        );
        return None;
    }
    let payer = people.get(payer_name);
    if let std::collections::hash_map::Entry::Vacant(slot) = weights.entry(payer) {
        match weight(r.get("payer_weight")) {
            Some(w) => {
                slot.insert(w);
            }
            None => {
                errors.push(
                    row,
                    Some("payer_weight"),
                    "invalid_weight",
                    format!("{:?} is not a weight", r.get("payer_weight")),
                );
                return None;
            }
        }
    }
    let owers = owers_text.split(',').map(|o| people.get(o)).collect();
    Some(Bill {
        row,
        what,
        amount,
        occurred_on,
        payer,
        owers,
        category: r.get("categoryid").parse().ok(),
        payment_mode: r
            .get("paymentmodeid")
            .parse()
            .ok()
            .filter(|id: &i64| *id > 0),
        comment: non_blank(&url_decode(r.get("comment"))),
    })
}
