//! IHateMoney's JSON export (`spiral-project/ihatemoney`, `ihatemoney/models.py`,
//! `Project.get_pretty_bills(export_format="json")`): an array of bills
//! `{what, amount, currency, date, payer_name, payer_weight, owers: [names], bill_type}`.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::error::ValidationErrors;
use crate::money::Currency;

use super::{
    ImportEntry, ImportExpense, ImportFile, ImportSettlement, People, RowErrors, date, kind_of,
    non_blank, signed_minor, weight, weighted,
};

#[derive(Deserialize)]
struct Bill<'a> {
    what: String,
    #[serde(borrow)]
    amount: &'a RawValue,
    #[serde(default)]
    currency: Option<String>,
    date: String,
    payer_name: String,
    #[serde(borrow, default)]
    payer_weight: Option<&'a RawValue>,
    owers: Vec<String>,
    /// `Expense` or `Reimbursement` (absent before IHateMoney 6).
    #[serde(default)]
    bill_type: Option<String>,
}

/// IHateMoney's "no currency".
const NO_CURRENCY: &str = "XXX";

pub(super) fn parse(
    bytes: &[u8],
    group_currency: Currency,
) -> Result<ImportFile, ValidationErrors> {
    let mut errors = RowErrors::default();
    let rows: Vec<&RawValue> = serde_json::from_slice(bytes).map_err(|e| {
        ValidationErrors::one(
            "file",
            "import_unreadable",
            format!("not an IHateMoney JSON export (an array of bills): {e}"),
        )
    })?;
    let mut bills: Vec<(u64, Bill<'_>)> = Vec::with_capacity(rows.len());
    let mut weights: HashMap<String, i128> = HashMap::new();
    for (i, raw) in rows.iter().enumerate() {
        let row = i as u64 + 1;
        match serde_json::from_str::<Bill<'_>>(raw.get()) {
            Ok(bill) => {
                // A member's weight is what the bills they paid say (IHateMoney's own
                // importer does the same); 1 for someone who never paid.
                if let Some(w) = bill.payer_weight {
                    match weight(w.get()) {
                        Some(w) => {
                            weights.insert(bill.payer_name.trim().to_string(), w);
                        }
                        None => errors.push(
                            row,
                            Some("payer_weight"),
                            "invalid_weight",
                            format!("{} is not a weight", w.get()),
                        ),
                    }
                }
                bills.push((row, bill));
            }
            Err(e) => errors.push(row, None, "import_row", format!("not a bill: {e}")),
        }
    }
    let one = weight("1").unwrap_or(1);
    let mut people = People::default();
    let mut entries = Vec::with_capacity(bills.len());
    for (row, bill) in bills {
        if errors.full() {
            break;
        }
        let currency = match bill.currency.as_deref().map(str::trim) {
            None | Some("") | Some(NO_CURRENCY) => group_currency,
            Some(code) => match Currency::parse(code) {
                Ok(c) => c,
                Err(_) => {
                    errors.push(
                        row,
                        Some("currency"),
                        "invalid_currency",
                        format!("unknown currency {code:?}"),
                    );
                    continue;
                }
            },
        };
        let signed = match signed_minor(currency, bill.amount.get()) {
            Ok(v) if v != 0 => v,
            Ok(_) => {
                errors.push(row, Some("amount"), "not_positive", "a bill of nothing");
                continue;
            }
            Err(code) => {
                errors.push(
                    row,
                    Some("amount"),
                    code,
                    format!("{} is not an amount in {currency}", bill.amount.get()),
                );
                continue;
            }
        };
        let Some(occurred_on) = date(&bill.date) else {
            errors.push(
                row,
                Some("date"),
                "invalid_date",
                format!("{:?} is not a YYYY-MM-DD date", bill.date),
            );
            continue;
        };
        if bill.payer_name.trim().is_empty() || bill.owers.iter().any(|o| o.trim().is_empty()) {
            errors.push(
                row,
                Some("owers"),
                "import_empty_name",
                "a bill names someone without a name",
            );
            continue;
        }
        let payer = people.get(&bill.payer_name);
        let owers: Vec<(usize, i128)> = bill
            .owers
            .iter()
            .map(|o| (people.get(o), weights.get(o.trim()).copied().unwrap_or(one)))
            .collect();
        let (kind, amount) = kind_of(signed);
        let Some(shares) = weighted(&format!("ihatemoney:{row}"), amount, &owers) else {
            errors.push(
                row,
                Some("owers"),
                "import_no_sharers",
                "nobody (with a weight) shares this bill",
            );
            continue;
        };
        let reimbursement = bill
            .bill_type
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("reimbursement"));
        if reimbursement && signed > 0 {
            // A repayment to each ower, by weight; the payer's own share moves nothing.
            for share in shares.iter().filter(|s| s.person != payer) {
                entries.push(ImportEntry::Settlement(ImportSettlement {
                    row,
                    occurred_on,
                    note: non_blank(&bill.what),
                    currency,
                    from: payer,
                    to: share.person,
                    amount: share.amount,
                }));
            }
            continue;
        }
        entries.push(ImportEntry::Expense(ImportExpense {
            row,
            kind,
            occurred_on,
            description: bill.what.trim().to_string(),
            category: None,
            payment_method: None,
            notes: None,
            currency,
            amount,
            payers: vec![super::Part {
                person: payer,
                amount,
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
