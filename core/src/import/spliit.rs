//! Spliit's JSON export (`spliit-app/spliit`,
//! `src/app/groups/[groupId]/expenses/export/json/route.ts`): the group with its
//! `participants` and `expenses`, amounts in integer minor units, split modes as
//! `src/lib/balances.ts` reads them.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::error::ValidationErrors;
use crate::money::Currency;

use super::{
    ImportEntry, ImportExpense, ImportFile, ImportSettlement, Part, People, RowErrors, date,
    kind_of, non_blank, weight, weighted,
};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Group<'a> {
    #[serde(default)]
    currency_code: Option<String>,
    participants: Vec<Participant>,
    #[serde(borrow)]
    expenses: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct Participant {
    id: String,
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Expense<'a> {
    expense_date: String,
    title: String,
    #[serde(default)]
    category: Option<Category>,
    #[serde(borrow)]
    amount: &'a RawValue,
    paid_by_id: String,
    #[serde(borrow)]
    paid_for: Vec<PaidFor<'a>>,
    #[serde(default)]
    is_reimbursement: bool,
    split_mode: String,
    #[serde(default)]
    notes: Option<String>,
}

#[derive(Deserialize)]
struct Category {
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PaidFor<'a> {
    participant_id: String,
    #[serde(borrow)]
    shares: &'a RawValue,
}

/// An integer (minor units) from a JSON number's text.
fn integer(raw: &RawValue) -> Option<i64> {
    raw.get().trim().parse().ok()
}

pub(super) fn parse(
    bytes: &[u8],
    group_currency: Currency,
) -> Result<ImportFile, ValidationErrors> {
    let group: Group<'_> = serde_json::from_slice(bytes).map_err(|e| {
        ValidationErrors::one(
            "file",
            "import_unreadable",
            format!("not a Spliit JSON export: {e}"),
        )
    })?;
    let currency = match group.currency_code.as_deref().map(str::trim) {
        None | Some("") => group_currency,
        Some(code) => Currency::parse(code).map_err(|_| {
            ValidationErrors::one(
                "currencyCode",
                "invalid_currency",
                format!("unknown currency {code:?}"),
            )
        })?,
    };
    let mut people = People::default();
    let ids: HashMap<&str, usize> = group
        .participants
        .iter()
        .map(|p| (p.id.as_str(), people.get(&p.name)))
        .collect();
    let mut errors = RowErrors::default();
    let mut entries = Vec::with_capacity(group.expenses.len());
    for (i, raw) in group.expenses.iter().enumerate() {
        let row = i as u64 + 1;
        if errors.full() {
            break;
        }
        let e: Expense<'_> = match serde_json::from_str(raw.get()) {
            Ok(e) => e,
            Err(err) => {
                errors.push(row, None, "import_row", format!("not an expense: {err}"));
                continue;
            }
        };
        let Some(signed) =
            integer(e.amount).filter(|v| *v != 0 && v.unsigned_abs() <= 100_000_000_000_000)
        else {
            errors.push(
                row,
                Some("amount"),
                "invalid_amount",
                format!("{} is not a non-zero amount in minor units", e.amount.get()),
            );
            continue;
        };
        let Some(occurred_on) = date(e.expense_date.get(..10).unwrap_or("")) else {
            errors.push(
                row,
                Some("expenseDate"),
                "invalid_date",
                format!("{:?} is not a date", e.expense_date),
            );
            continue;
        };
        let Some(&payer) = ids.get(e.paid_by_id.as_str()) else {
            errors.push(
                row,
                Some("paidById"),
                "import_unknown_person",
                format!("{:?} is not a participant", e.paid_by_id),
            );
            continue;
        };
        let mut sharers = Vec::with_capacity(e.paid_for.len());
        for (j, p) in e.paid_for.iter().enumerate() {
            match ids.get(p.participant_id.as_str()) {
                Some(&who) => sharers.push((who, p.shares)),
                None => errors.push(
                    row,
                    Some(&format!("paidFor[{j}].participantId")),
                    "import_unknown_person",
                    format!("{:?} is not a participant", p.participant_id),
                ),
            }
        }
        if sharers.len() != e.paid_for.len() {
            continue;
        }
        let (kind, amount) = kind_of(signed);
        let seed = format!("spliit:{row}");
        let shares = match e.split_mode.as_str() {
            "EVENLY" => weighted(
                &seed,
                amount,
                &sharers.iter().map(|(w, _)| (*w, 1)).collect::<Vec<_>>(),
            ),
            // Shares, or hundredths of a percent: both are proportions.
            "BY_SHARES" | "BY_PERCENTAGE" => {
                let parsed: Option<Vec<(usize, i128)>> = sharers
                    .iter()
                    .map(|(w, s)| weight(s.get()).map(|v| (*w, v)))
                    .collect();
                match parsed {
                    Some(list) => weighted(&seed, amount, &list),
                    None => {
                        errors.push(
                            row,
                            Some("paidFor"),
                            "invalid_weight",
                            "a share is not a non-negative number",
                        );
                        continue;
                    }
                }
            }
            "BY_AMOUNT" => {
                let parsed: Option<Vec<Part>> = sharers
                    .iter()
                    .map(|(w, s)| {
                        integer(s).map(|v| Part {
                            person: *w,
                            amount: v,
                        })
                    })
                    .collect();
                match parsed {
                    Some(list)
                        if list.iter().all(|p| p.amount >= 0)
                            && list.iter().map(|p| i128::from(p.amount)).sum::<i128>()
                                == i128::from(amount) =>
                    {
                        Some(list.into_iter().filter(|p| p.amount > 0).collect())
                    }
                    _ => {
                        errors.push(
                            row,
                            Some("paidFor"),
                            "import_shares_total",
                            "the amounts paid for do not add up to the expense's amount",
                        );
                        continue;
                    }
                }
            }
            other => {
                errors.push(
                    row,
                    Some("splitMode"),
                    "import_split_mode",
                    format!("unknown split mode {other:?}"),
                );
                continue;
            }
        };
        let Some(shares) = shares.filter(|s| !s.is_empty()) else {
            errors.push(
                row,
                Some("paidFor"),
                "import_no_sharers",
                "nobody shares this expense",
            );
            continue;
        };
        if e.is_reimbursement && signed > 0 {
            for share in shares.iter().filter(|s| s.person != payer) {
                entries.push(ImportEntry::Settlement(ImportSettlement {
                    row,
                    occurred_on,
                    note: non_blank(&e.title),
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
            description: e.title.trim().to_string(),
            category: e.category.and_then(|c| non_blank(&c.name)),
            payment_method: None,
            notes: e.notes.as_deref().and_then(non_blank),
            currency,
            amount,
            payers: vec![Part {
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
