use super::*;

fn named(nets: &[i64]) -> Vec<(String, i64)> {
    nets.iter()
        .enumerate()
        .map(|(i, v)| (format!("m{i:02}"), *v))
        .collect()
}

fn check_zeroes(nets: &[(String, i64)], plan: &Plan<String>) {
    let mut left: std::collections::BTreeMap<&String, i64> =
        nets.iter().map(|(k, v)| (k, *v)).collect();
    for t in &plan.transfers {
        assert!(t.amount.get() > 0);
        assert!(
            nets.iter().any(|(k, v)| k == &t.from && *v < 0),
            "pays only from debtors"
        );
        assert!(
            nets.iter().any(|(k, v)| k == &t.to && *v > 0),
            "pays only to creditors"
        );
        *left.get_mut(&t.from).expect("known") += t.amount.get();
        *left.get_mut(&t.to).expect("known") -= t.amount.get();
    }
    assert!(left.values().all(|v| *v == 0), "{left:?}");
}

#[test]
fn greedy_is_not_optimal_here_but_we_are() {
    let nets = named(&[-8, 6, -2, 3, 4, -3]);
    let plan = plan(&nets).expect("balanced");
    check_zeroes(&nets, &plan);
    assert_eq!(plan.transfers.len(), 4);
    assert!(plan.optimal);
}

#[test]
fn unbalanced_is_refused() {
    assert_eq!(plan(&named(&[5, -4])), Err(PlanError::Unbalanced));
}

#[test]
fn empty_and_zero_nets_give_an_empty_plan() {
    assert_eq!(plan::<String>(&[]).expect("ok").transfers, vec![]);
    assert_eq!(plan(&named(&[0, 0])).expect("ok").transfers, vec![]);
}

#[test]
fn above_the_limit_the_plan_is_flagged() {
    // 30 nets with no exact pairs: 15 debtors of distinct sizes, 15 creditors.
    let mut nets = Vec::new();
    for i in 1..=15_i64 {
        nets.push(-(i * 100 + 7));
    }
    let total: i64 = nets.iter().sum();
    for i in 1..15_i64 {
        nets.push(i * 113);
    }
    let so_far: i64 = nets.iter().sum();
    nets.push(-so_far);
    assert_eq!(nets.iter().sum::<i64>(), 0, "{total}");
    let nets = named(&nets);
    let plan = plan(&nets).expect("balanced");
    check_zeroes(&nets, &plan);
    assert!(!plan.optimal);
    assert!(plan.transfers.len() < nets.len());
}

#[test]
fn exact_pairs_keep_large_inputs_optimal() {
    // 60 members who pair off exactly: beyond the DP limit, yet provably minimal.
    let mut nets = Vec::new();
    for i in 1..=30_i64 {
        nets.push(i * 10);
        nets.push(-i * 10);
    }
    let nets = named(&nets);
    let plan = plan(&nets).expect("balanced");
    check_zeroes(&nets, &plan);
    assert!(plan.optimal);
    assert_eq!(plan.transfers.len(), 30);
}

#[test]
fn output_is_deterministic_and_ordered() {
    let nets = named(&[-8, 6, -2, 3, 4, -3]);
    let mut reversed = nets.clone();
    reversed.reverse();
    assert_eq!(plan(&nets), plan(&reversed));
    let p = plan(&nets).expect("balanced");
    let mut sorted = p.transfers.clone();
    sorted.sort_by(|a, b| (&a.from, &a.to).cmp(&(&b.from, &b.to)));
    assert_eq!(p.transfers, sorted);
}

/// Checks `plan` against `nets` in 128 bits, where nothing the nets can be wraps: every
/// transfer is positive, goes from a debtor to a creditor, and every net ends at zero.
fn check_zeroes_wide(nets: &[(String, i64)], plan: &Plan<String>) {
    let mut left: std::collections::BTreeMap<&String, i128> = std::collections::BTreeMap::new();
    for (k, v) in nets {
        *left.entry(k).or_default() += i128::from(*v);
    }
    let start = left.clone();
    for t in &plan.transfers {
        assert!(t.amount.get() > 0, "{t:?}");
        assert!(start[&t.from] < 0, "pays only from debtors: {t:?}");
        assert!(start[&t.to] > 0, "pays only to creditors: {t:?}");
        *left.get_mut(&t.from).expect("known") += i128::from(t.amount);
        *left.get_mut(&t.to).expect("known") -= i128::from(t.amount);
    }
    assert!(left.values().all(|v| *v == 0), "{left:?}");
}

#[test]
fn nets_near_the_64_bit_limit_are_planned_exactly() {
    // Issue 8: subsets of these nets add up past i64::MAX, which made the subset sums panic
    // in a debug build and wrap into false zero-sum groups in a release build.
    let nets = named(&[
        4_600_000_000_000_000_001,
        4_500_000_000_000_000_003,
        4_400_000_000_000_000_007,
        -4_599_999_999_999_999_999,
        -4_450_000_000_000_000_000,
        -4_450_000_000_000_000_012,
    ]);
    let p = plan(&nets).expect("balanced");
    check_zeroes_wide(&nets, &p);
    assert!(p.optimal);
    assert_eq!(p.transfers.len(), 5, "{p:?}");
}

#[test]
fn a_subset_that_vanishes_only_modulo_2_64_is_not_a_group() {
    // MAX + MAX + 2 is 2^64, zero in wrapping i64 arithmetic; with MIN + MIN the whole set
    // truly sums to zero, but no smaller part does, so it takes 5 − 1 transfers.
    let nets = named(&[i64::MAX, i64::MAX, 2, i64::MIN, i64::MIN]);
    let p = plan(&nets).expect("balanced");
    check_zeroes_wide(&nets, &p);
    assert!(p.optimal);
    assert_eq!(p.transfers.len(), 4, "{p:?}");
}

#[test]
fn i64_extremes_are_planned() {
    for values in [
        vec![i64::MIN, i64::MAX, 1],
        vec![i64::MIN, i64::MAX - 5, 3, 2, 1],
        vec![i64::MIN + 1, i64::MAX],
        vec![i64::MIN, i64::MIN / 2, i64::MAX, i64::MAX / 2 + 1, 1],
    ] {
        let nets = named(&values);
        let p = plan(&nets).expect("balanced");
        check_zeroes_wide(&nets, &p);
        assert!(p.transfers.len() < values.len(), "{values:?}: {p:?}");
    }
    // i64::MIN has no +2^63 to cancel it exactly: it pays its creditors separately.
    let p = plan(&named(&[i64::MIN, i64::MAX, 1])).expect("balanced");
    assert_eq!(p.transfers.len(), 2);
    assert!(p.transfers.iter().all(|t| t.from == "m00"));
}

#[test]
fn extremes_beyond_the_exact_limit_are_planned_by_the_heuristic() {
    // 24 nets of maximal size: the greedy path, with debts of 2^63 that fit no i64.
    let mut values = vec![i64::MIN; 8];
    values.extend(std::iter::repeat_n(i64::MAX, 8));
    values.extend(std::iter::repeat_n(1, 8));
    let nets = named(&values);
    let p = plan(&nets).expect("balanced");
    check_zeroes_wide(&nets, &p);
    assert!(!p.optimal);
    assert!(p.transfers.len() < values.len());
}

#[test]
fn unbalanced_extremes_are_refused_not_planned_empty() {
    // MAX + MAX + 2 vanishes modulo 2^64 but is not zero.
    assert_eq!(
        plan(&named(&[i64::MAX, i64::MAX, 2])),
        Err(PlanError::Unbalanced)
    );
    assert_eq!(
        plan(&named(&[i64::MIN, i64::MIN])),
        Err(PlanError::Unbalanced)
    );
    assert_eq!(
        plan(&named(&[
            4_600_000_000_000_000_000,
            -4_599_999_999_999_999_999
        ])),
        Err(PlanError::Unbalanced)
    );
}

#[test]
fn a_repeated_member_beyond_64_bits_is_too_large() {
    let nets: Vec<(String, i64)> = [
        ("a", i64::MAX),
        ("a", i64::MAX),
        ("b", i64::MIN),
        ("b", i64::MIN),
        ("c", 2),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), *v))
    .collect();
    assert_eq!(plan(&nets), Err(PlanError::TooLarge));
}

#[test]
fn subset_sums_split_in_halves_match_a_direct_sum() {
    let values = [
        i64::MAX,
        i64::MIN,
        3,
        -7,
        4_000_000_000_000_000_000,
        -1,
        i64::MAX,
    ];
    let sums = SubsetSums::new(&values);
    for mask in 0..1usize << values.len() {
        let direct: i128 = (0..values.len())
            .filter(|i| mask & (1 << i) != 0)
            .map(|i| i128::from(values[i]))
            .sum();
        assert_eq!(sums.is_zero(mask), direct == 0, "{mask:b}");
    }
}
