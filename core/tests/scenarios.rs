//! Every case of scenarios.json (facts from peers' own tests) reproduced.

use std::collections::BTreeMap;

use serde_json::Value;
use splitledger_core::Currency;
use splitledger_core::balance::BalanceSheet;
use splitledger_core::money::Minor;
use splitledger_core::preview::{self, AllocateInput};
use splitledger_core::settle::plan;
use splitledger_core::split::ParticipantRow;

fn scenarios() -> Value {
    serde_json::from_str(include_str!("scenarios.json")).expect("valid JSON")
}

fn minor_map(v: &Value) -> BTreeMap<String, i64> {
    v.as_object()
        .map(|o| {
            o.iter()
                .map(|(k, x)| (k.clone(), x.as_i64().expect("integer")))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn allocation_cases() {
    let all = scenarios();
    let cases = all["allocation"].as_array().expect("list");
    assert!(cases.len() >= 8);
    for case in cases {
        let id = case["id"].as_str().expect("id");
        let members: Vec<String> = match case["split"]["members"].as_array() {
            Some(m) => m
                .iter()
                .map(|x| x.as_str().expect("id").to_string())
                .collect(),
            None => case["split"]["shares"]
                .as_array()
                .expect("shares")
                .iter()
                .map(|s| s["user_id"].as_str().expect("id").to_string())
                .collect(),
        };
        let input: AllocateInput = serde_json::from_value(serde_json::json!({
            "id": id,
            "members": members,
            "amount": case["amount"],
            "currency": case["currency"],
            "paid_by": members[0],
            "split": case["split"],
        }))
        .expect("input");
        let out = preview::allocate(&input).unwrap_or_else(|e| panic!("{id}: {e}"));
        let got: BTreeMap<String, String> = out
            .shares
            .iter()
            .map(|s| (s.user_id.clone(), s.amount.clone()))
            .collect();
        if let Some(expected) = case["shares"].as_object() {
            let expected: BTreeMap<String, String> = expected
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().expect("amount").to_string()))
                .collect();
            assert_eq!(got, expected, "{id}");
        } else {
            let mut multiset: Vec<String> = got.into_values().collect();
            multiset.sort();
            let mut expected: Vec<String> = case["shares_multiset"]
                .as_array()
                .expect("multiset")
                .iter()
                .map(|v| v.as_str().expect("amount").to_string())
                .collect();
            expected.sort();
            assert_eq!(multiset, expected, "{id}");
        }
    }
}

#[test]
fn invalid_expense_cases() {
    let all = scenarios();
    for case in all["invalid_expenses"].as_array().expect("list") {
        let id = case["id"].as_str().expect("id");
        let mut input = serde_json::json!({
            "id": id,
            "members": ["a", "b", "c"],
            "amount": case["amount"],
            "currency": case["currency"],
            "split": case.get("split").cloned().unwrap_or(serde_json::json!({"type": "equal"})),
        });
        match case.get("payers") {
            Some(p) => input["payers"] = p.clone(),
            None => input["paid_by"] = "a".into(),
        }
        let input: AllocateInput = serde_json::from_value(input).expect("input");
        let errors = preview::allocate(&input).expect_err(id);
        assert!(!errors.errors().is_empty(), "{id}");
        let expected_field = match id {
            "exact-not-summing" | "percent-not-100" => "split.shares",
            "payers-not-summing" => "payers",
            _ => "amount",
        };
        assert!(
            errors.errors().iter().any(|e| e.field == expected_field),
            "{id}: {errors:?}"
        );
    }
}

#[test]
fn ledger_cases() {
    let all = scenarios();
    for case in all["ledgers"].as_array().expect("list") {
        let id = case["id"].as_str().expect("id");
        let c = Currency::parse(case["currency"].as_str().expect("currency")).expect("known");
        let mut sheet: BalanceSheet<String> = BalanceSheet::new();
        for e in case["expenses"].as_array().expect("expenses") {
            let paid = minor_map(&e["payers"]);
            let owed = minor_map(&e["shares"]);
            let mut rows: BTreeMap<String, (i64, i64)> = BTreeMap::new();
            for (k, v) in paid {
                rows.entry(k).or_default().0 += v;
            }
            for (k, v) in owed {
                rows.entry(k).or_default().1 += v;
            }
            let rows: Vec<ParticipantRow<String>> = rows
                .into_iter()
                .map(|(user_id, (paid, owed))| ParticipantRow {
                    user_id,
                    paid: Minor::new(paid),
                    owed: Minor::new(owed),
                })
                .collect();
            sheet.add_rows(c, &rows).expect("fits");
        }
        for s in case["settlements"].as_array().expect("settlements") {
            let from = s["from"].as_str().expect("from").to_string();
            let to = s["to"].as_str().expect("to").to_string();
            sheet
                .add_settlement(
                    c,
                    &from,
                    &to,
                    Minor::new(s["amount"].as_i64().expect("amount")),
                )
                .expect("fits");
        }
        let nets: BTreeMap<String, i64> = sheet.nets(c).expect("fits").into_iter().collect();
        let expected = minor_map(&case["nets_minor"]);
        for (member, net) in &expected {
            assert_eq!(
                nets.get(member).copied().unwrap_or(0),
                *net,
                "{id}: {member}"
            );
        }
        let p = plan(&nets.into_iter().collect::<Vec<_>>()).expect("balanced");
        assert_eq!(
            p.transfers.len() as i64,
            case["min_transfers"].as_i64().expect("min"),
            "{id}"
        );
    }
}

#[test]
fn plan_cases() {
    let all = scenarios();
    for case in all["plans"].as_array().expect("list") {
        let id = case["id"].as_str().expect("id");
        let nets: Vec<(String, i64)> = minor_map(&case["nets_minor"]).into_iter().collect();
        let p = plan(&nets).expect("balanced");
        assert!(p.optimal, "{id}");
        assert_eq!(
            p.transfers.len() as i64,
            case["min_transfers"].as_i64().expect("min"),
            "{id}"
        );
    }
}

#[test]
fn settlement_plan_input_is_strict() {
    let input = |nets: &[(&str, &str)]| -> preview::BalancesInput {
        serde_json::from_value(serde_json::json!({
            "balances": [{"currency": "EUR", "members": nets.iter().map(|(u, n)| serde_json::json!({"user_id": u, "net": n})).collect::<Vec<_>>()}]
        }))
        .expect("shape")
    };
    let ok = preview::settlement_plan(&input(&[("a", "-1.00"), ("b", "1.00")])).expect("valid");
    assert_eq!(ok.transfers.len(), 1);
    for (nets, code) in [
        (vec![("a", "--1.00"), ("b", "1.00")], "invalid_amount"),
        (vec![("a", "- 1.00"), ("b", "1.00")], "invalid_amount"),
        (vec![("a", "-1.001"), ("b", "1.001")], "amount_too_precise"),
        (vec![("a", "-1.00"), ("a", "1.00")], "duplicate_member"),
        (vec![("a", "-1.00"), ("b", "2.00")], "nets_unbalanced"),
    ] {
        let errors = preview::settlement_plan(&input(&nets)).expect_err("refused");
        assert!(
            errors.errors().iter().any(|e| e.code == code),
            "{nets:?}: {errors:?}"
        );
    }
}

#[test]
fn settlement_plan_takes_every_net_balances_can_produce() {
    let input = |code: &str, nets: &[(&str, &str)]| -> preview::BalancesInput {
        serde_json::from_value(serde_json::json!({
            "balances": [{"currency": code, "members": nets.iter().map(|(u, n)| serde_json::json!({"user_id": u, "net": n})).collect::<Vec<_>>()}]
        }))
        .expect("shape")
    };
    // Nets are sums of totals, not amounts: far beyond one amount's 10^12 major units, up to
    // what 64-bit minor units hold, in every currency's own decimals.
    for (code, nets, transfers) in [
        (
            "EUR",
            vec![
                ("a", "-40000000000000000.00"),
                ("b", "40000000000000000.00"),
            ],
            1,
        ),
        (
            "KWD",
            vec![
                ("a", "-9223372036854775.808"),
                ("b", "9223372036854775.807"),
                ("c", "0.001"),
            ],
            2,
        ),
        (
            "JPY",
            vec![
                ("a", "-9223372036854775808"),
                ("b", "4611686018427387904"),
                ("c", "4611686018427387904"),
                ("d", "-0"),
            ],
            2,
        ),
    ] {
        let p = preview::settlement_plan(&input(code, &nets)).expect("every i64 net is taken");
        assert_eq!(p.transfers.len(), transfers, "{nets:?}: {p:?}");
        assert!(p.optimal);
    }
    let plan = preview::settlement_plan(&input(
        "KWD",
        &[
            ("a", "-9223372036854775.808"),
            ("b", "9223372036854775.807"),
            ("c", "0.001"),
        ],
    ))
    .expect("valid");
    let amounts: Vec<String> = plan
        .transfers
        .iter()
        .map(|t| t.amount.to_string())
        .collect();
    assert_eq!(amounts, ["9223372036854775.807", "0.001"]);

    for (nets, code) in [
        (
            vec![
                ("a", "-9223372036854775.809"),
                ("b", "9223372036854775.809"),
            ],
            "amount_too_large",
        ),
        (
            vec![("a", "-92233720368547758080"), ("b", "1")],
            "amount_too_large",
        ),
        (vec![("a", "-1e3"), ("b", "1000")], "invalid_amount"),
        (vec![("a", "+1"), ("b", "-1")], "invalid_amount"),
        (vec![("a", "1."), ("b", "-1")], "invalid_amount"),
        (vec![("a", "\u{2212}1"), ("b", "1")], "invalid_amount"),
        (vec![("a", ""), ("b", "0")], "invalid_amount"),
        (
            vec![("a", "-1.0001"), ("b", "1.0001")],
            "amount_too_precise",
        ),
    ] {
        let errors = preview::settlement_plan(&input("KWD", &nets)).expect_err("refused");
        assert!(
            errors.errors().iter().any(|e| e.code == code),
            "{nets:?}: {errors:?}"
        );
    }
}
