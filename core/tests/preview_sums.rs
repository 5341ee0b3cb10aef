//! The browser's balances (`preview::balances` over objects, `preview::balances_of_text` over
//! JSON text) against the `BalanceSheet` fold they replaced, which the stores' checks still
//! use: on random ledgers, valid and refused, both must give the same view or the same
//! refusals (field and code, in order).

use proptest::prelude::*;
use serde_json::{Value, json};
use splitledger_core::balance::BalanceSheet;
use splitledger_core::error::{FieldError, ValidationErrors};
use splitledger_core::money::{Currency, Minor, MoneyError};
use splitledger_core::preview::{self, AmountEntry, BalancesView, LedgerInput, LedgerText};
use splitledger_core::split::ExpenseKind;

/// The fold the preview used before it summed by member number (kept verbatim as the model).
fn reference(input: &LedgerInput) -> Result<BalancesView<String>, ValidationErrors> {
    let mut sheet: BalanceSheet<&str> = BalanceSheet::new();
    let mut errors = ValidationErrors::default();
    let overflow = |field: String| {
        FieldError::new(
            field,
            "amount_too_large",
            "the balances are too large to represent",
        )
    };
    for (i, e) in input.expenses.iter().enumerate() {
        let currency = match Currency::parse(&e.currency) {
            Ok(c) => c,
            Err(err) => {
                errors.push(err.at(format!("expenses[{i}].currency")));
                continue;
            }
        };
        let mut parse = |list: &'_ [AmountEntry<String>], name: &str| -> Vec<(usize, i64)> {
            list.iter()
                .enumerate()
                .filter_map(|(j, p)| match currency.parse_non_negative(&p.amount) {
                    Ok(amount) => Some((j, amount)),
                    Err(err) => {
                        errors.push(err.at(format!("expenses[{i}].{name}[{j}].amount")));
                        None
                    }
                })
                .collect()
        };
        let payers = parse(&e.payers, "payers");
        let shares = parse(&e.shares, "shares");
        let total = |l: &[(usize, i64)]| l.iter().map(|p| i128::from(p.1)).sum::<i128>();
        if total(&payers) != total(&shares) {
            errors.push(FieldError::new(
                format!("expenses[{i}]"),
                "sum_mismatch",
                "payers and shares must add up to the same amount",
            ));
            continue;
        }
        let sign = match e.kind {
            ExpenseKind::Expense => 1,
            ExpenseKind::Income => -1,
        };
        let paid = payers
            .iter()
            .map(|&(j, a)| (e.payers[j].user_id.as_str(), Minor::new(sign * a)));
        let owed = shares
            .iter()
            .map(|&(j, a)| (e.shares[j].user_id.as_str(), Minor::new(sign * a)));
        if sheet.add_portions(currency, paid, owed).is_err() {
            errors.push(overflow(format!("expenses[{i}]")));
        }
    }
    for (i, s) in input.settlements.iter().enumerate() {
        let parsed = Currency::parse(&s.currency)
            .map_err(|e| e.at(format!("settlements[{i}].currency")))
            .and_then(|c| {
                c.parse_amount(&s.amount)
                    .map(|a| (c, a))
                    .map_err(|e: MoneyError| e.at(format!("settlements[{i}].amount")))
            });
        match parsed {
            Ok(_) if s.from_user == s.to_user => errors.push(FieldError::new(
                format!("settlements[{i}].to_user"),
                "same_user",
                "a repayment goes from one member to another",
            )),
            Ok((currency, amount)) => {
                if sheet
                    .add_settlement(
                        currency,
                        &s.from_user.as_str(),
                        &s.to_user.as_str(),
                        Minor::new(amount),
                    )
                    .is_err()
                {
                    errors.push(overflow(format!("settlements[{i}]")));
                }
            }
            Err(e) => errors.push(e),
        }
    }
    errors.into_result()?;
    let blocks: Vec<_> = sheet
        .currencies()
        .map(|c| {
            let owned = sheet.totals(c).into_iter().map(|(k, t)| (k.to_string(), t));
            (c, owned.collect())
        })
        .collect();
    BalancesView::from_totals(blocks).map_err(|_| overflow("balances".into()).into())
}

/// An answer as comparable text: the view, or each refusal's field and code.
fn outcome(result: Result<BalancesView<String>, ValidationErrors>) -> String {
    match result {
        Ok(view) => serde_json::to_string(&view).expect("a view serialises"),
        Err(errors) => {
            let list: Vec<(&str, &str)> = errors
                .errors()
                .iter()
                .map(|e| (e.field.as_str(), e.code))
                .collect();
            format!("refused: {list:?}")
        }
    }
}

/// Currency codes: mostly valid (in either case), some refused.
fn code() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "EUR", "EUR", "EUR", "eur", "JPY", "KWD", "KWD", "XAU", "EU",
    ])
}

/// Amount texts: mostly valid for every currency, some refused by one or all of them, and the
/// largest amounts, so that long ledgers go past the running totals' bound.
fn amount() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => (0_u64..100_000).prop_map(|n| n.to_string()),
        6 => (0_u64..100_000, 0_u32..100).prop_map(|(n, c)| format!("{n}.{c:02}")),
        2 => (0_u64..1_000, 0_u32..1000).prop_map(|(n, c)| format!("{n}.{c:03}")),
        1 => Just("999999999999.999".to_string()),
        1 => Just("1000000000000".to_string()),
        1 => prop::sample::select(vec!["-1", "", "1e3", " 1", "0.000", "00012.50", "-0"])
            .prop_map(str::to_string),
    ]
}

fn member() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "a",
        "b",
        "c",
        "d",
        "émile",
        "b\"q",
        "a-much-longer-member-id",
    ])
    .prop_map(str::to_string)
}

fn entries() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec((member(), amount()), 0..4)
}

/// An expense whose payers mostly add up to its shares (a share copied as a payment).
fn expense() -> impl Strategy<Value = Value> {
    (any::<bool>(), code(), entries(), entries(), 0_u8..4).prop_map(
        |(income, code, shares, payers, balanced)| {
            let list = |l: &[(String, String)]| {
                l.iter()
                    .map(|(m, a)| json!({"user_id": m, "amount": a}))
                    .collect::<Vec<_>>()
            };
            let payers = if balanced > 0 {
                shares
                    .iter()
                    .map(|(_, a)| ("a".to_string(), a.clone()))
                    .collect()
            } else {
                payers
            };
            let mut e = json!({"currency": code, "payers": list(&payers), "shares": list(&shares)});
            if income {
                e["kind"] = json!("income");
            }
            e
        },
    )
}

fn settlement() -> impl Strategy<Value = Value> {
    (member(), member(), amount(), code()).prop_map(|(from, to, amount, code)| {
        json!({"from_user": from, "to_user": to, "amount": amount, "currency": code})
    })
}

/// Ledgers of a few entries, some repeated up to 1,100 times (past the bound with the
/// largest KWD amounts).
fn ledger() -> impl Strategy<Value = Value> {
    (
        prop::collection::vec(
            (
                expense(),
                prop_oneof![9 => Just(1_usize), 1 => 1_usize..1_100],
            ),
            0..8,
        ),
        prop::collection::vec(settlement(), 0..4),
    )
        .prop_map(|(expenses, settlements)| {
            let expenses: Vec<Value> = expenses
                .into_iter()
                .flat_map(|(e, n)| std::iter::repeat_n(e, n))
                .collect();
            json!({"expenses": expenses, "settlements": settlements})
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn the_preview_sums_as_the_balance_sheet_does(ledger in ledger()) {
        let objects: LedgerInput = serde_json::from_value(ledger.clone()).expect("ledger shape");
        let expected = outcome(reference(&objects));
        prop_assert_eq!(&outcome(preview::balances(&objects)), &expected);
        let text = ledger.to_string();
        let borrowed: LedgerText<'_> = serde_json::from_str(&text).expect("ledger shape");
        prop_assert_eq!(&outcome(preview::balances_of_text(&borrowed)), &expected);
    }
}

#[test]
fn escaped_ids_and_amounts_are_read_as_their_text() {
    // Escapes cannot be borrowed from the text: they are copied, and mean what they say.
    let text = r#"{"expenses": [{"currency": "\u0045UR",
        "payers": [{"user_id": "\u00e9mile", "amount": "1\u002e50"}],
        "shares": [{"user_id": "b\"q", "amount": "1.50"}]}]}"#;
    let borrowed: LedgerText<'_> = serde_json::from_str(text).expect("ledger shape");
    let view = preview::balances_of_text(&borrowed).expect("valid");
    let json = serde_json::to_value(&view).expect("serialises");
    assert_eq!(json["balances"][0]["currency"], "EUR");
    assert_eq!(json["balances"][0]["members"][0]["user_id"], "b\"q");
    assert_eq!(json["balances"][0]["members"][0]["net"], "-1.50");
    assert_eq!(json["balances"][0]["members"][1]["user_id"], "émile");
    assert_eq!(json["balances"][0]["members"][1]["net"], "1.50");
}
