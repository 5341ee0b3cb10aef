//! Property tests of the arithmetic: allocation, balances and the settlement planner.

use std::collections::BTreeMap;

use proptest::prelude::*;
use splitledger_core::Currency;
use splitledger_core::balance::{
    BalanceSheet, DebtSheet, expense_pair_deltas, settlement_pair_delta,
};
use splitledger_core::settle::{Plan, plan};
use splitledger_core::split::{
    ExactShare, PayerInput, Payment, PercentShare, SplitInput, SplitRequest, WeightShare, allocate,
};

fn eur() -> Currency {
    Currency::parse("EUR").expect("EUR")
}

/// The largest number of disjoint zero-sum groups the values split into, by exhaustion.
fn brute_force_groups(values: &[i64]) -> usize {
    fn go(values: &[i64], left: u32) -> usize {
        if left == 0 {
            return 0;
        }
        let first = left.trailing_zeros();
        let rest = left & !(1 << first);
        let mut best = 0;
        // Every subset of `rest`, joined with `first`, that sums to zero closes a group.
        let mut sub = rest;
        loop {
            let group = sub | (1 << first);
            let sum: i64 = (0..values.len())
                .filter(|i| group & (1 << i) != 0)
                .map(|i| values[i])
                .sum();
            if sum == 0 {
                best = best.max(1 + go(values, left & !group));
            }
            if sub == 0 {
                break;
            }
            sub = (sub - 1) & rest;
        }
        best
    }
    go(values, (1u32 << values.len()) - 1)
}

fn named(values: &[i64]) -> Vec<(String, i64)> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| (format!("m{i:02}"), *v))
        .collect()
}

fn balanced(max_len: usize, range: i64) -> impl Strategy<Value = Vec<i64>> {
    prop::collection::vec(-range..=range, 1..max_len).prop_map(|mut v| {
        let sum: i64 = v.iter().sum();
        v.push(-sum);
        v
    })
}

fn apply(nets: &[(String, i64)], plan: &Plan<String>) -> BTreeMap<String, i64> {
    let mut left: BTreeMap<String, i64> = nets.iter().cloned().collect();
    for t in &plan.transfers {
        *left.entry(t.from.clone()).or_default() += t.amount;
        *left.entry(t.to.clone()).or_default() -= t.amount;
    }
    left
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn amounts_parse_exactly_as_decimal_arithmetic_says(
        int in "[0-9]{1,15}",
        frac in proptest::option::of("[0-9]{1,5}"),
        negative in any::<bool>(),
    ) {
        use std::str::FromStr;
        use splitledger_core::MoneyError;
        use rust_decimal::Decimal;
        let text = format!("{}{int}{}", if negative { "-" } else { "" }, frac.as_deref().map(|f| format!(".{f}")).unwrap_or_default());
        let value = Decimal::from_str(&text).expect("plain decimal").normalize();
        let expected = if value.is_sign_negative() && !value.is_zero() {
            Err(MoneyError::NotPositive)
        } else if value.scale() > 2 {
            Err(MoneyError::TooPrecise { minor_units: 2 })
        } else if value > Decimal::from(1_000_000_000_000_i64) {
            Err(MoneyError::TooLarge)
        } else {
            Ok(i64::try_from(value * Decimal::from(100)).expect("fits"))
        };
        prop_assert_eq!(eur().parse_non_negative(&text), expected, "{}", text);
    }

    #[test]
    fn plan_zeroes_every_net_moving_money_one_way(values in balanced(30, 1_000_000)) {
        let nets = named(&values);
        let p = plan(&nets).expect("balanced");
        prop_assert!(apply(&nets, &p).values().all(|v| *v == 0));
        for t in &p.transfers {
            prop_assert!(t.amount > 0);
            let from = nets.iter().find(|(k, _)| *k == t.from).map(|x| x.1).unwrap_or(0);
            let to = nets.iter().find(|(k, _)| *k == t.to).map(|x| x.1).unwrap_or(0);
            prop_assert!(from < 0 && to > 0, "only from debtors to creditors");
        }
        let nonzero = values.iter().filter(|v| **v != 0).count();
        prop_assert!(p.transfers.len() <= nonzero.saturating_sub(1));
    }

    #[test]
    fn plan_is_the_brute_force_minimum(values in balanced(10, 12)) {
        let nonzero: Vec<i64> = values.iter().copied().filter(|v| *v != 0).collect();
        let p = plan(&named(&values)).expect("balanced");
        prop_assert!(p.optimal);
        let minimum = nonzero.len() - brute_force_groups(&nonzero);
        prop_assert_eq!(p.transfers.len(), minimum);
    }

    #[test]
    fn paying_one_transfer_shortens_the_plan_by_one(values in balanced(14, 15), pick in any::<prop::sample::Index>()) {
        let nets = named(&values);
        let p = plan(&nets).expect("balanced");
        prop_assume!(!p.transfers.is_empty());
        let t = &p.transfers[pick.index(p.transfers.len())];
        let after: Vec<(String, i64)> = nets
            .iter()
            .map(|(k, v)| {
                let v = if *k == t.from { v + t.amount } else if *k == t.to { v - t.amount } else { *v };
                (k.clone(), v)
            })
            .collect();
        prop_assert_eq!(plan(&after).expect("balanced").transfers.len(), p.transfers.len() - 1);
    }

    #[test]
    fn plan_is_deterministic_whatever_the_order(values in balanced(16, 500), seed in any::<u64>()) {
        let nets = named(&values);
        let mut shuffled = nets.clone();
        // A seeded rotation and reversal stand in for any reordering.
        let len = shuffled.len();
        shuffled.rotate_left((seed as usize) % len);
        if seed % 2 == 0 { shuffled.reverse(); }
        prop_assert_eq!(plan(&nets), plan(&shuffled));
    }

    #[test]
    fn shares_add_up_to_the_amount(
        amount in 1i64..=1_000_000_000,
        weights in prop::collection::vec(0u32..=50, 1..8),
        kind in 0u8..4,
        seed in "[a-z0-9]{1,12}",
    ) {
        let members: Vec<String> = (0..weights.len()).map(|i| format!("u{i}")).collect();
        let c = eur();
        let text = c.format(amount);
        let split = match kind {
            0 => SplitInput::Equal { members: None },
            1 if weights.iter().any(|w| *w > 0) => SplitInput::Shares {
                shares: members.iter().zip(&weights).map(|(m, w)| WeightShare { user_id: m.clone(), weight: w.to_string() }).collect(),
            },
            2 => {
                // Percentages with two decimals that add up to exactly 100.
                let n = members.len() as i64;
                let base = 10_000 / n;
                let mut bps: Vec<i64> = vec![base; members.len()];
                bps[0] += 10_000 - base * n;
                SplitInput::Percent {
                    shares: members.iter().zip(&bps).map(|(m, b)| PercentShare { user_id: m.clone(), percent: format!("{}.{:02}", b / 100, b % 100) }).collect(),
                }
            }
            _ => {
                let mut left = amount;
                let mut shares = Vec::new();
                for (i, m) in members.iter().enumerate() {
                    let part = if i + 1 == members.len() { left } else { left / 2 };
                    left -= part;
                    shares.push(ExactShare { user_id: m.clone(), amount: c.format(part) });
                }
                SplitInput::Exact { shares }
            }
        };
        let payment = Payment::Single(members[0].clone());
        let alloc = allocate(&SplitRequest { seed: &seed, amount: &text, currency: c, payment: &payment, split: &split, members: &members }).expect("valid");
        prop_assert_eq!(alloc.shares.iter().map(|s| s.amount).sum::<i64>(), amount);
        prop_assert_eq!(alloc.payers.iter().map(|s| s.amount).sum::<i64>(), amount);
        prop_assert!(alloc.shares.iter().all(|s| s.amount > 0));
        if kind == 0 {
            let min = alloc.shares.iter().map(|s| s.amount).min().unwrap_or(0);
            let max = alloc.shares.iter().map(|s| s.amount).max().unwrap_or(0);
            prop_assert!(max - min <= 1, "equal shares differ by at most one minor unit");
        }
        // Listing order never matters.
        let mut reversed_members = members.clone();
        reversed_members.reverse();
        let reversed_split = match &split {
            SplitInput::Equal { members } => SplitInput::Equal { members: members.clone() },
            SplitInput::Shares { shares } => SplitInput::Shares { shares: shares.iter().rev().cloned().collect() },
            SplitInput::Percent { shares } => SplitInput::Percent { shares: shares.iter().rev().cloned().collect() },
            SplitInput::Exact { shares } => SplitInput::Exact { shares: shares.iter().rev().cloned().collect() },
        };
        let again = allocate(&SplitRequest { seed: &seed, amount: &text, currency: c, payment: &payment, split: &reversed_split, members: &reversed_members }).expect("valid");
        prop_assert_eq!(alloc, again);
    }

    #[test]
    fn nets_add_up_to_zero_and_debts_agree(
        expenses in prop::collection::vec((1i64..=100_000, 0usize..5, prop::collection::vec(0usize..5, 1..5), any::<bool>()), 1..30),
        settlements in prop::collection::vec((0usize..5, 0usize..5, 1i64..=10_000), 0..10),
    ) {
        let members: Vec<String> = (0..5).map(|i| format!("u{i}")).collect();
        let c = eur();
        let mut sheet = BalanceSheet::new();
        let mut debts = DebtSheet::new();
        for (i, (amount, payer, among, two_payers)) in expenses.iter().enumerate() {
            let mut among: Vec<String> = among.iter().map(|j| members[*j].clone()).collect();
            among.sort();
            among.dedup();
            let payment = if *two_payers && *amount > 1 {
                let other = (payer + 1) % 5;
                Payment::Several(vec![
                    PayerInput { user_id: members[*payer].clone(), amount: c.format(amount / 2) },
                    PayerInput { user_id: members[other].clone(), amount: c.format(amount - amount / 2) },
                ])
            } else {
                Payment::Single(members[*payer].clone())
            };
            let split = SplitInput::Equal { members: Some(among) };
            let seed = format!("e{i}");
            let alloc = allocate(&SplitRequest { seed: &seed, amount: &c.format(*amount), currency: c, payment: &payment, split: &split, members: &members }).expect("valid");
            sheet.add_rows(c, &alloc.rows()).expect("fits");
            debts.apply(&expense_pair_deltas(c, &alloc.rows())).expect("fits");
        }
        for (from, to, amount) in settlements {
            if from == to { continue; }
            sheet.add_settlement(c, &members[from], &members[to], amount).expect("fits");
            debts.apply(&[settlement_pair_delta(c, &members[from], &members[to], amount)]).expect("fits");
        }
        let nets = sheet.nets(c).expect("fits");
        prop_assert_eq!(nets.iter().map(|(_, v)| v).sum::<i64>(), 0);
        for (member, net) in &nets {
            let from_debts: i64 = debts.debts().iter().map(|d| {
                if &d.to == member { d.amount } else if &d.from == member { -d.amount } else { 0 }
            }).sum();
            prop_assert_eq!(from_debts, *net);
        }
    }
}

#[test]
fn the_exact_planner_handles_twenty_nets() {
    // Twenty nets with no exact pairs, built from five zero-sum groups of four.
    let mut values = Vec::new();
    for g in 0..5_i64 {
        let a = 100 + g * 7;
        let b = 200 + g * 11;
        let c = 50 + g * 3;
        values.extend([a, b, c, -(a + b + c)]);
    }
    let p = plan(&named(&values)).expect("balanced");
    assert!(p.optimal);
    assert_eq!(p.transfers.len(), 20 - 5);
}
