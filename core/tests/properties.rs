//! Property tests of the arithmetic: allocation, balances and the settlement planner.

use std::collections::BTreeMap;

use proptest::prelude::*;
use splitledger_core::Currency;
use splitledger_core::balance::{
    BalanceSheet, DebtSheet, Overflow, Totals, TotalsDelta, expense_pair_deltas, pair_delta,
};
use splitledger_core::money::Minor;
use splitledger_core::money::{MAX_MAJOR_UNITS, TOTAL_LIMIT};
use splitledger_core::preview::{self, BalancesInput, LedgerInput};
use splitledger_core::settle::{EXACT_LIMIT, Plan, PlanError, plan};
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
            // In 128 bits, so that values near the 64-bit limits cannot wrap into false groups.
            let sum: i128 = (0..values.len())
                .filter(|i| group & (1 << i) != 0)
                .map(|i| i128::from(values[i]))
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
        *left.entry(t.from.clone()).or_default() += t.amount.get();
        *left.entry(t.to.clone()).or_default() -= t.amount.get();
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
            prop_assert!(t.amount.get() > 0);
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
                let v = if *k == t.from { v + t.amount.get() } else if *k == t.to { v - t.amount.get() } else { *v };
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
        prop_assert_eq!(alloc.shares.iter().map(|s| s.amount.get()).sum::<i64>(), amount);
        prop_assert_eq!(alloc.payers.iter().map(|s| s.amount.get()).sum::<i64>(), amount);
        prop_assert!(alloc.shares.iter().all(|s| s.amount.get() > 0));
        if kind == 0 {
            let min = alloc.shares.iter().map(|s| s.amount.get()).min().unwrap_or(0);
            let max = alloc.shares.iter().map(|s| s.amount.get()).max().unwrap_or(0);
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
        expenses in prop::collection::vec((1i64..=100_000, 0usize..5, prop::collection::vec(0usize..5, 1..5), any::<bool>(), any::<bool>()), 1..30),
        settlements in prop::collection::vec((0usize..5, 0usize..5, 1i64..=10_000), 0..10),
    ) {
        let members: Vec<String> = (0..5).map(|i| format!("u{i}")).collect();
        let c = eur();
        let mut sheet = BalanceSheet::new();
        let mut debts = DebtSheet::new();
        for (i, (amount, payer, among, two_payers, income)) in expenses.iter().enumerate() {
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
            let mut rows = alloc.rows().expect("fits");
            let mut pairs = expense_pair_deltas(c, &rows);
            if *income {
                // Money received: every sign reversed, in the totals and in who owes whom.
                for r in &mut rows {
                    r.paid = r.paid.checked_neg().expect("fits");
                    r.owed = r.owed.checked_neg().expect("fits");
                }
                for p in &mut pairs {
                    p.amount = p.amount.checked_neg().expect("fits");
                }
            }
            sheet.add_rows(c, &rows).expect("fits");
            debts.apply(&pairs).expect("fits");
        }
        for (from, to, amount) in settlements {
            if from == to { continue; }
            sheet.add_settlement(c, &members[from], &members[to], Minor::new(amount)).expect("fits");
            // A repayment from `from` to `to` means `to` owes `from` that much more.
            debts.apply(&[pair_delta(c, &members[to], &members[from], Minor::new(amount))]).expect("fits");
        }
        let nets = sheet.nets(c).expect("fits");
        prop_assert_eq!(nets.iter().map(|(_, v)| v).sum::<i64>(), 0);
        for (member, net) in &nets {
            let from_debts: i64 = debts.debts().iter().map(|d| {
                if &d.to == member { d.amount.get() } else if &d.from == member { -d.amount.get() } else { 0 }
            }).sum();
            prop_assert_eq!(from_debts, *net);
        }
        let p = plan(&nets).expect("plannable");
        prop_assert!(apply(&nets, &p).values().all(|v| *v == 0), "the plan settles every net");
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

// ---- At and near the bounds -------------------------------------------------------------
//
// Amounts reach 10^12 major units, running totals ±TOTAL_LIMIT (10^18 minor units), nets
// four totals (±4 × 10^18), and the planner takes any i64. Everything below checks results in
// 128 bits, where none of these can wrap.

fn currency(code: &str) -> Currency {
    Currency::parse(code).expect("known currency")
}

/// The largest amount of `c`, in minor units (10^12 major units).
fn max_amount(c: Currency) -> i64 {
    MAX_MAJOR_UNITS * 10_i64.pow(c.minor_units())
}

/// Values that add up to zero: `values`, then what closes them, in as many i64 pieces as
/// that takes (the remainder of several values near the limits does not fit one).
fn closed(mut values: Vec<i64>) -> Vec<i64> {
    let mut rest: i128 = -values.iter().map(|v| i128::from(*v)).sum::<i128>();
    while rest != 0 {
        let part = i64::try_from(rest).unwrap_or(if rest > 0 { i64::MAX } else { i64::MIN });
        values.push(part);
        rest -= i128::from(part);
    }
    values
}

/// A net near the places where 64-bit arithmetic breaks: around ±4 × 10^18 (four totals at
/// their bound), at the i64 extremes, anywhere in between, and small.
fn big_net() -> impl Strategy<Value = i64> {
    const FOUR: i64 = 4 * TOTAL_LIMIT;
    prop_oneof![
        -FOUR..=FOUR,
        FOUR - 10_000..=FOUR,
        -FOUR..=-FOUR + 10_000,
        i64::MIN..=i64::MIN + 1_000,
        i64::MAX - 1_000..=i64::MAX,
        -1_000i64..=1_000,
    ]
}

fn balanced_big(max_len: usize) -> impl Strategy<Value = Vec<i64>> {
    prop::collection::vec(big_net(), 1..max_len).prop_map(closed)
}

/// Zero-sum groups of two or three large values each, so that the minimum is well below
/// n − 1 and sums of values from different groups leave 64 bits.
fn big_groups() -> impl Strategy<Value = Vec<i64>> {
    const THREE: i64 = 3 * TOTAL_LIMIT;
    prop::collection::vec(prop::collection::vec(-THREE..=THREE, 1..3), 1..5).prop_map(|groups| {
        groups
            .into_iter()
            .flat_map(|g| {
                // Each value is within ±3 × 10^18, so a pair's negation fits i64.
                let sum: i64 = g.iter().sum();
                g.into_iter().chain([-sum])
            })
            .collect()
    })
}

/// Checks a plan of `nets` in 128 bits: positive transfers, only from debtors to creditors,
/// every net at zero afterwards, and at most n − 1 transfers.
fn assert_settles(nets: &[(String, i64)], p: &Plan<String>) -> Result<(), TestCaseError> {
    let start: BTreeMap<&String, i128> = nets.iter().map(|(k, v)| (k, i128::from(*v))).collect();
    let mut left = start.clone();
    for t in &p.transfers {
        prop_assert!(t.amount.get() > 0, "{:?}", t);
        prop_assert!(
            start.get(&t.from).is_some_and(|v| *v < 0),
            "from a debtor: {:?}",
            t
        );
        prop_assert!(
            start.get(&t.to).is_some_and(|v| *v > 0),
            "to a creditor: {:?}",
            t
        );
        *left.entry(&t.from).or_default() += i128::from(t.amount);
        *left.entry(&t.to).or_default() -= i128::from(t.amount);
    }
    prop_assert!(left.values().all(|v| *v == 0), "{:?}", left);
    let nonzero = nets.iter().filter(|(_, v)| *v != 0).count();
    prop_assert!(p.transfers.len() <= nonzero.saturating_sub(1));
    Ok(())
}

/// One entry of a generated ledger: `count` copies of an expense `a` paid for `b` (or a
/// repayment from `a` to `b`) of the currency's largest amount less `below` minor units.
#[derive(Debug, Clone)]
struct Block {
    a: usize,
    b: usize,
    below: i64,
    count: usize,
    settlement: bool,
}

fn blocks() -> impl Strategy<Value = Vec<Block>> {
    prop::collection::vec(
        (
            0usize..4,
            0usize..4,
            0i64..=997,
            1usize..=700,
            any::<bool>(),
        )
            .prop_map(|(a, b, below, count, settlement)| Block {
                a,
                b,
                below,
                count,
                settlement: settlement && a != b,
            }),
        1..8,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn allocation_at_the_maximum_amount_is_exact(
        code in prop::sample::select(vec!["JPY", "EUR", "KWD"]),
        below in 0i64..=1_000,
        weights in prop::collection::vec(1u32..=1_000_000, 1..8),
        kind in 0u8..4,
        payer_count in 1usize..=3,
        seed in "[a-z0-9]{1,12}",
    ) {
        let c = currency(code);
        let amount = max_amount(c) - below;
        let members: Vec<String> = (0..weights.len()).map(|i| format!("u{i}")).collect();
        let split = match kind {
            0 => SplitInput::Equal { members: None },
            1 => SplitInput::Shares {
                shares: members.iter().zip(&weights).map(|(m, w)| WeightShare { user_id: m.clone(), weight: w.to_string() }).collect(),
            },
            2 => {
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
        let payers = payer_count.min(members.len());
        let payment = if payers == 1 {
            Payment::Single(members[0].clone())
        } else {
            let each = amount / payers as i64;
            Payment::Several(members[..payers].iter().enumerate().map(|(i, m)| {
                let part = if i == 0 { amount - each * (payers as i64 - 1) } else { each };
                PayerInput { user_id: m.clone(), amount: c.format(part) }
            }).collect())
        };
        let text = c.format(amount);
        let alloc = allocate(&SplitRequest { seed: &seed, amount: &text, currency: c, payment: &payment, split: &split, members: &members }).expect("valid");
        let sum = |l: &[splitledger_core::split::Portion<String>]| l.iter().map(|p| i128::from(p.amount)).sum::<i128>();
        prop_assert_eq!(alloc.amount.get(), amount);
        prop_assert_eq!(sum(&alloc.shares), i128::from(amount));
        prop_assert_eq!(sum(&alloc.payers), i128::from(amount));
        prop_assert!(alloc.shares.iter().chain(&alloc.payers).all(|p| p.amount.get() > 0));
        let rows = alloc.rows().expect("fits");
        prop_assert_eq!(rows.iter().map(|r| i128::from(r.paid)).sum::<i128>(), i128::from(amount));
        prop_assert_eq!(rows.iter().map(|r| i128::from(r.owed)).sum::<i128>(), i128::from(amount));
        if kind == 0 {
            let min = alloc.shares.iter().map(|s| s.amount.get()).min().unwrap_or(0);
            let max = alloc.shares.iter().map(|s| s.amount.get()).max().unwrap_or(0);
            prop_assert!(max - min <= 1, "equal shares differ by at most one minor unit");
        }
        // One minor unit more than the bound is refused, cleanly.
        let over = c.format(max_amount(c) + 1);
        let refused = allocate(&SplitRequest { seed: &seed, amount: &over, currency: c, payment: &Payment::Single(members[0].clone()), split: &SplitInput::Equal { members: None }, members: &members }).expect_err("over the bound");
        prop_assert!(refused.errors().iter().any(|e| e.code == "amount_too_large"), "{:?}", refused);
    }

    #[test]
    fn balances_near_the_total_limit_are_exact_or_overflow(
        below in prop::collection::vec(0i64..=3_000_000_000_000_000, 3),
        ops in prop::collection::vec((0usize..4, 0usize..4, 1i64..=1_000_000_000_000_000, any::<bool>()), 1..12),
    ) {
        let c = currency("KWD");
        let members: Vec<String> = (0..4).map(|i| format!("u{i}")).collect();
        // Start with totals just inside ±TOTAL_LIMIT: an expense u0 paid for u1, a repayment
        // u2 → u3, and an income u1 received for u3 (paid and owed below zero).
        let near = |i: usize| TOTAL_LIMIT - below[i];
        let mut model = [[0i128; 4]; 4]; // per member: paid, owed, sent, received
        let mut start = Vec::new();
        for (member, field, value) in [(0, 0, near(0)), (1, 1, near(0)), (2, 2, near(1)), (3, 3, near(1)), (1, 0, -near(2)), (3, 1, -near(2))] {
            model[member][field] += i128::from(value);
            let mut delta = Totals::default();
            let slot = [&mut delta.paid, &mut delta.owed, &mut delta.sent, &mut delta.received];
            *slot.into_iter().nth(field).expect("four fields") = Minor::new(value);
            start.push(TotalsDelta { user_id: members[member].clone(), currency: c, delta });
        }
        let mut sheet = BalanceSheet::new();
        sheet.apply(&start).expect("inside the bound");

        let limit = i128::from(TOTAL_LIMIT);
        for (a, b, amount, settlement) in ops {
            let settlement = settlement && a != b;
            let (fa, fb) = if settlement { (2, 3) } else { (0, 1) };
            let wide = i128::from(amount);
            let fits = (model[a][fa] + wide).abs() <= limit && (model[b][fb] + wide).abs() <= limit;
            let result = if settlement {
                sheet.add_settlement(c, &members[a], &members[b], Minor::new(amount))
            } else {
                sheet.add_portions(c, [(members[a].clone(), Minor::new(amount))], [(members[b].clone(), Minor::new(amount))])
            };
            if !fits {
                // Refused, not wrapped or clamped; the sheet is not used after a refusal.
                prop_assert_eq!(result, Err(Overflow));
                break;
            }
            prop_assert_eq!(result, Ok(()));
            model[a][fa] += wide;
            model[b][fb] += wide;

            let totals = sheet.totals(c);
            for (k, t) in &totals {
                let m = model[members.iter().position(|x| x == k).expect("known member")];
                let got = [t.paid, t.owed, t.sent, t.received].map(i128::from);
                prop_assert_eq!(got, m, "{}", k);
            }
            let nets = sheet.nets(c).expect("four bounded totals fit i64");
            prop_assert_eq!(nets.iter().map(|(_, v)| i128::from(*v)).sum::<i128>(), 0);
            for (k, net) in &nets {
                let m = model[members.iter().position(|x| x == k).expect("known member")];
                prop_assert_eq!(i128::from(*net), m[0] - m[1] + m[2] - m[3]);
            }
            assert_settles(&nets, &plan(&nets).expect("balanced"))?;
        }
    }

    #[test]
    fn plan_near_the_limits_settles_every_net(values in balanced_big(8)) {
        let nets = named(&values);
        let p = plan(&nets).expect("balanced");
        prop_assert!(p.optimal);
        assert_settles(&nets, &p)?;
    }

    #[test]
    fn plan_near_the_limits_is_the_brute_force_minimum(values in big_groups()) {
        let nonzero: Vec<i64> = values.iter().copied().filter(|v| *v != 0).collect();
        let nets = named(&values);
        let p = plan(&nets).expect("balanced");
        prop_assert!(p.optimal);
        assert_settles(&nets, &p)?;
        prop_assert_eq!(p.transfers.len(), nonzero.len() - brute_force_groups(&nonzero));
    }

    #[test]
    fn plan_beyond_the_exact_limit_settles_extremes(values in prop::collection::vec(big_net(), EXACT_LIMIT..40).prop_map(closed)) {
        let nets = named(&values);
        let p = plan(&nets).expect("balanced");
        assert_settles(&nets, &p)?;
    }

    #[test]
    fn unbalanced_nets_near_the_limits_are_refused(
        values in balanced_big(8),
        at in any::<prop::sample::Index>(),
        delta in prop_oneof![1i64..=1_000, i64::MIN..=-1, Just(i64::MAX)],
    ) {
        let mut values = values;
        let i = at.index(values.len());
        match values[i].checked_add(delta) {
            Some(v) => values[i] = v,
            None => values.push(delta),
        }
        prop_assert_eq!(plan(&named(&values)), Err(PlanError::Unbalanced));
    }
}

/// A ledger of `blocks` in `code`, as the browser module takes it.
fn ledger_json(code: &str, blocks: &[Block]) -> serde_json::Value {
    let c = currency(code);
    let mut expenses = Vec::new();
    let mut settlements = Vec::new();
    for b in blocks {
        let amount = c.format(max_amount(c) - b.below);
        let (a, to) = (format!("u{}", b.a), format!("u{}", b.b));
        for _ in 0..b.count {
            if b.settlement {
                settlements.push(serde_json::json!({"from_user": a, "to_user": to, "amount": amount, "currency": code}));
            } else {
                expenses.push(serde_json::json!({"currency": code, "payers": [{"user_id": a, "amount": amount}], "shares": [{"user_id": to, "amount": amount}]}));
            }
        }
    }
    serde_json::json!({"expenses": expenses, "settlements": settlements})
}

/// `settlement_plan(balances(x))` through the JSON shapes, as a page calls them.
fn plan_of_balances(
    ledger: &serde_json::Value,
) -> Result<(BTreeMap<String, i64>, preview::PlanView<String>), splitledger_core::ValidationErrors>
{
    let input: LedgerInput = serde_json::from_value(ledger.clone()).expect("ledger shape");
    let balances = preview::balances(&input)?;
    let json = serde_json::to_value(&balances).expect("balances serialise");
    let nets = balances
        .balances
        .iter()
        .flat_map(|b| b.members.iter().map(|m| (m.user_id.clone(), m.net.minor())))
        .collect();
    let back: BalancesInput = serde_json::from_value(json).expect("balances shape");
    Ok((nets, preview::settlement_plan(&back)?))
}

/// Checks a preview plan against the nets it was made from, in 128 bits.
fn assert_preview_settles(nets: &BTreeMap<String, i64>, p: &preview::PlanView<String>) {
    let mut left: BTreeMap<&String, i128> = nets.iter().map(|(k, v)| (k, i128::from(*v))).collect();
    for t in &p.transfers {
        assert!(t.amount.minor() > 0, "{t:?}");
        assert!(nets[&t.from] < 0 && nets[&t.to] > 0, "{t:?}");
        *left.get_mut(&t.from).expect("known") += i128::from(t.amount.minor());
        *left.get_mut(&t.to).expect("known") -= i128::from(t.amount.minor());
    }
    assert!(left.values().all(|v| *v == 0), "{left:?}");
    let nonzero = nets.values().filter(|v| **v != 0).count();
    assert!(p.transfers.len() <= nonzero.saturating_sub(1));
}

proptest! {
    // Each case is up to a few thousand expenses of the largest amount.
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn the_browser_plans_every_net_its_balances_produce(
        code in prop::sample::select(vec!["JPY", "EUR", "KWD", "KWD"]),
        blocks in blocks(),
    ) {
        let c = currency(code);
        // What each member's four totals come to, in 128 bits.
        let mut model = [[0i128; 4]; 4];
        for b in &blocks {
            let total = i128::from(max_amount(c) - b.below) * b.count as i128;
            let (fa, fb) = if b.settlement { (2, 3) } else { (0, 1) };
            model[b.a][fa] += total;
            model[b.b][fb] += total;
        }
        // Four members and up to 700 copies a block: about one case in eight goes past the
        // bound, and must be refused rather than wrapped.
        let too_large = model.iter().flatten().any(|t| *t > i128::from(TOTAL_LIMIT));
        match plan_of_balances(&ledger_json(code, &blocks)) {
            Ok((nets, p)) => {
                prop_assert!(!too_large, "totals past the bound were accepted");
                for (k, net) in &nets {
                    let i: usize = k[1..].parse().expect("u<i>");
                    let m = model[i];
                    prop_assert_eq!(i128::from(*net), m[0] - m[1] + m[2] - m[3], "{}", k);
                }
                prop_assert!(p.optimal);
                assert_preview_settles(&nets, &p);
            }
            Err(errors) => {
                prop_assert!(too_large, "{:?}", errors);
                prop_assert!(errors.errors().iter().all(|e| e.code == "amount_too_large"), "{:?}", errors);
            }
        }
    }
}

#[test]
fn issue_8_thousands_of_maximum_kwd_expenses_settle_exactly() {
    // Issue 8: five members each paid about a thousand maximum-size KWD expenses (10^12
    // dinars, 10^15 fils) for six others and repaid about a thousand more, so their nets
    // approach 2 × 10^18 fils and subsets of the nets add up past i64::MAX. The browser module
    // refused these nets (beyond one amount's 10^12 bound), and the planner's subset sums
    // panicked in a debug build and wrapped into an empty "optimal" plan in a release build.
    let c = currency("KWD");
    let creditors: Vec<String> = (0..5).map(|i| format!("c{i}")).collect();
    let debtors: Vec<String> = (0..6).map(|i| format!("d{i}")).collect();
    let mut expenses = Vec::new();
    let mut settlements = Vec::new();
    let mut k = 0usize;
    let next_amount = |k: &mut usize| {
        // Slightly different amounts, so that no smaller group of nets happens to cancel.
        *k += 1;
        c.format(max_amount(c) - (*k % 997) as i64)
    };
    for (i, creditor) in creditors.iter().enumerate() {
        for _ in 0..1_000 - 3 * i {
            let amount = next_amount(&mut k);
            let debtor = &debtors[k % debtors.len()];
            expenses.push(serde_json::json!({"currency": "KWD",
                "payers": [{"user_id": creditor, "amount": amount}],
                "shares": [{"user_id": debtor, "amount": amount}]}));
        }
        for _ in 0..990 - 7 * i {
            let amount = next_amount(&mut k);
            let debtor = &debtors[k % debtors.len()];
            settlements.push(serde_json::json!({"from_user": creditor, "to_user": debtor,
                "amount": amount, "currency": "KWD"}));
        }
    }
    let ledger = serde_json::json!({"expenses": expenses, "settlements": settlements});
    let (nets, p) = plan_of_balances(&ledger).expect("nets the module produced plan");

    let creditor_sum: i128 = creditors.iter().map(|k| i128::from(nets[k])).sum();
    assert!(
        creditor_sum > i128::from(i64::MAX),
        "the case reaches past i64: {nets:?}"
    );
    assert!(
        nets.values().all(|v| v.unsigned_abs() > 10_u64.pow(18)),
        "{nets:?}"
    );
    assert_preview_settles(&nets, &p);
    assert!(p.optimal);
    let values: Vec<i64> = nets.values().copied().collect();
    assert_eq!(
        p.transfers.len(),
        values.len() - brute_force_groups(&values)
    );
}

// ---- The planner beyond the subset DP: 21 to 64 nets --------------------------------------

/// The nets of a group of `members` after `expenses`, each (amount, payer, sharers as bits)
/// split equally with odd cents to the first sharers: the shape real groups have.
fn nets_of_history(members: usize, expenses: &[(i64, usize, u64)]) -> Vec<i64> {
    let mut nets = vec![0i64; members];
    for &(amount, payer, among) in expenses {
        let mut sharers: Vec<usize> = (0..members).filter(|i| among & (1 << i) != 0).collect();
        if sharers.is_empty() {
            sharers.push(payer % members);
        }
        let count = sharers.len() as i64;
        nets[payer % members] += amount;
        for (i, m) in sharers.iter().enumerate() {
            nets[*m] -= amount / count + i64::from((i as i64) < amount % count);
        }
    }
    nets
}

fn history(max_members: usize) -> impl Strategy<Value = Vec<i64>> {
    (21..=max_members).prop_flat_map(|members| {
        prop::collection::vec((500i64..=20_500, 0..members, any::<u64>()), 20..150)
            .prop_map(move |expenses| nets_of_history(members, &expenses))
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn bigger_plans_settle_every_net(values in history(64)) {
        let nets = named(&values);
        let p = plan(&nets).expect("balanced");
        assert_settles(&nets, &p)?;
    }

    #[test]
    fn bigger_plans_of_scattered_values_settle_every_net(values in balanced(45, 100_000)) {
        let nets = named(&values);
        let p = plan(&nets).expect("balanced");
        assert_settles(&nets, &p)?;
    }

    #[test]
    fn bigger_plans_are_deterministic_whatever_the_order(values in history(40), seed in any::<u64>()) {
        let nets = named(&values);
        let mut shuffled = nets.clone();
        let len = shuffled.len();
        shuffled.rotate_left((seed as usize) % len);
        if seed % 2 == 0 { shuffled.reverse(); }
        prop_assert_eq!(plan(&nets), plan(&shuffled));
    }

    #[test]
    fn a_proven_bigger_plan_shortens_by_one_per_transfer_paid(values in history(40), pick in any::<prop::sample::Index>()) {
        // The minimum after paying one transfer of a minimal plan is exactly one less, so
        // two proven plans must differ by exactly one transfer.
        let nets = named(&values);
        let p = plan(&nets).expect("balanced");
        prop_assume!(p.optimal && !p.transfers.is_empty());
        let t = &p.transfers[pick.index(p.transfers.len())];
        let after: Vec<(String, i64)> = nets
            .iter()
            .map(|(k, v)| {
                let v = if *k == t.from { v + t.amount.get() } else if *k == t.to { v - t.amount.get() } else { *v };
                (k.clone(), v)
            })
            .collect();
        let next = plan(&after).expect("balanced");
        if next.optimal {
            prop_assert_eq!(next.transfers.len(), p.transfers.len() - 1);
        }
    }

    #[test]
    fn proven_plans_near_the_dp_limit_match_brute_force(values in balanced(14, 40)) {
        // Up to 14 nets brute force still runs; the planner must be exact there.
        let nonzero: Vec<i64> = values.iter().copied().filter(|v| *v != 0).collect();
        let p = plan(&named(&values)).expect("balanced");
        prop_assert!(p.optimal);
        prop_assert_eq!(p.transfers.len(), nonzero.len() - brute_force_groups(&nonzero));
    }
}
