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
        assert!(t.amount > 0);
        assert!(
            nets.iter().any(|(k, v)| k == &t.from && *v < 0),
            "pays only from debtors"
        );
        assert!(
            nets.iter().any(|(k, v)| k == &t.to && *v > 0),
            "pays only to creditors"
        );
        *left.get_mut(&t.from).expect("known") += t.amount;
        *left.get_mut(&t.to).expect("known") -= t.amount;
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
