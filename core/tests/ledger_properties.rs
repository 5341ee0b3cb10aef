//! Property tests of the Ledger over random group histories: expenses, income, repayments,
//! expenses booked from another currency and conversions of balances, in several
//! currencies. After any history the nets add up to zero in every currency, the store's
//! running totals equal a recomputation from the entries, the plan settles everything, and
//! deleting a conversion restores the balances before it exactly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use proptest::prelude::*;
use splitledger_core::conformance::{Fixture, expense_input};
use splitledger_core::domain::{ExpenseKind, GroupId, User, UserId};
use splitledger_core::ledger::{NewConversion, NewSettlement};
use splitledger_core::split::SplitInput;
use splitledger_core::{Currency, MemoryStorage};

const CURRENCIES: [&str; 3] = ["EUR", "JPY", "KWD"];
const RATES: [&str; 4] = ["0.0061", "1.0837", "163.2", "3.2467"];

#[derive(Debug, Clone)]
enum Op {
    Expense {
        payer: usize,
        among: Vec<usize>,
        units: i64,
        currency: usize,
        income: bool,
        booked: Option<usize>,
    },
    Repay {
        from: usize,
        to: usize,
        units: i64,
        currency: usize,
    },
    Convert {
        from: usize,
        to: usize,
        rate: usize,
        undo: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..4usize, prop::collection::vec(0..4usize, 1..4), 1..100_000i64, 0..3usize,
              any::<bool>(), prop::option::of(0..4usize))
            .prop_map(|(payer, among, units, currency, income, booked)| Op::Expense {
                payer, among, units, currency, income, booked,
            }),
        2 => (0..4usize, 0..4usize, 1..50_000i64, 0..3usize)
            .prop_map(|(from, to, units, currency)| Op::Repay { from, to, units, currency }),
        1 => (0..3usize, 0..3usize, 0..4usize, any::<bool>())
            .prop_map(|(from, to, rate, undo)| Op::Convert { from, to, rate, undo }),
    ]
}

/// Every member's non-zero net per currency, as the balances show them (a currency whose
/// entries were all deleted keeps rows of zeros).
async fn nets(
    f: &Fixture<MemoryStorage>,
    by: &User,
    g: GroupId,
) -> BTreeMap<(Currency, UserId), i64> {
    let view = f.ledger.balances(by.id, g).await.unwrap();
    let mut out = BTreeMap::new();
    for block in &view.balances {
        for m in &block.members {
            if m.net.minor() != 0 {
                out.insert((block.currency, m.user_id), m.net.minor());
            }
        }
    }
    out
}

async fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let f = Fixture::new(MemoryStorage::new());
    let users = [
        f.user("u0").await,
        f.user("u1").await,
        f.user("u2").await,
        f.user("u3").await,
    ];
    let others: Vec<&User> = users.iter().skip(1).collect();
    let g = f.group(&users[0], &others).await;
    let l = &f.ledger;
    for op in ops {
        match op {
            Op::Expense {
                payer,
                among,
                units,
                currency,
                income,
                booked,
            } => {
                let code = CURRENCIES[currency];
                let members = among.iter().map(|i| users[*i].id).collect();
                let amount = Currency::parse(code).unwrap().format(units);
                let split = SplitInput::Equal {
                    members: Some(members),
                };
                let mut input = expense_input(&amount, users[payer].id, split);
                input.currency = Some(code.into());
                if income {
                    input.kind = Some(ExpenseKind::Income);
                }
                // Booked in the group's euros at a rate (only from another currency).
                if let Some(rate) = booked.filter(|_| code != "EUR") {
                    input.exchange_rate = Some(RATES[rate].into());
                }
                match l.create_expense(users[0].id, g, input, None).await {
                    Ok(_) => {}
                    // A duplicate member or a rate that converts to nothing is refused.
                    Err(e) => prop_assert_eq!(e.status(), 422, "{:?}", e),
                }
            }
            Op::Repay {
                from,
                to,
                units,
                currency,
            } => {
                let code = CURRENCIES[currency];
                let amount = Currency::parse(code).unwrap().format(units);
                let mut input = NewSettlement::new(users[from].id, users[to].id, amount);
                input.currency = Some(code.into());
                let done = l.create_settlement(users[0].id, g, input, None).await;
                prop_assert!(done.is_ok() || from == to, "{:?}", done);
            }
            Op::Convert {
                from,
                to,
                rate,
                undo,
            } => {
                let before = nets(&f, &users[0], g).await;
                let request = NewConversion {
                    from_currency: CURRENCIES[from].into(),
                    to_currency: CURRENCIES[to].into(),
                    exchange_rate: RATES[rate].into(),
                    occurred_on: None,
                    note: None,
                };
                let Ok(c) = l.create_conversion(users[0].id, g, request, None).await else {
                    // Same currency, or nothing to convert.
                    continue;
                };
                let after = nets(&f, &users[0], g).await;
                let from_c = Currency::parse(CURRENCIES[from]).unwrap();
                // Every net in the converted currency is now zero (no non-zero net left).
                prop_assert!(!after.keys().any(|(c, _)| *c == from_c), "{:?}", after);
                if undo {
                    l.delete_conversion(users[0].id, g, c.id).await.unwrap();
                    prop_assert_eq!(nets(&f, &users[0], g).await, before);
                }
            }
        }
    }
    let all = nets(&f, &users[0], g).await;
    for code in CURRENCIES {
        let c = Currency::parse(code).unwrap();
        let sum: i64 = all
            .iter()
            .filter(|((x, _), _)| *x == c)
            .map(|(_, n)| n)
            .sum();
        prop_assert_eq!(sum, 0, "{} does not add up", code);
    }
    f.check_totals(&users[0], g).await;
    let plan = l.settlement_plan(users[1].id, g).await.unwrap();
    let mut left = all.clone();
    for t in &plan.transfers {
        *left.entry((t.currency, t.from)).or_default() += t.amount.minor();
        *left.entry((t.currency, t.to)).or_default() -= t.amount.minor();
    }
    prop_assert!(left.values().all(|n| *n == 0), "{:?}", plan);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn every_history_adds_up_settles_and_undoes_conversions_exactly(
        ops in prop::collection::vec(op(), 1..25),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(run(ops))?;
    }
}
