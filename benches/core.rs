//! Core arithmetic benchmarks: nets over a million participant rows, the exact planner at
//! 12, 16 and 20 nets, the planner on typical groups of 30 and 40 members and on its worst
//! case at 40, the heuristic at 100,000 members, and one allocation.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use splitledger::Currency;
use splitledger::balance::BalanceSheet;
use splitledger::domain::UserId;
use splitledger::money::Minor;
use splitledger::preview;
use splitledger::settle::plan;
use splitledger::split::{ParticipantRow, Payment, SplitInput, SplitRequest, allocate};

/// xorshift: deterministic inputs without a randomness dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// `n` non-zero nets with no two that cancel and (almost surely) no zero-sum subset short
/// of the whole: the planner's worst case.
fn hard_nets(n: usize, rng: &mut Rng) -> Vec<(UserId, i64)> {
    let mut values: Vec<i64> = (0..n - 1)
        .map(|i| {
            let v = 1_000_000 + rng.next(10_000_000) as i64;
            if i % 2 == 0 { v } else { -v }
        })
        .collect();
    let sum: i64 = values.iter().sum();
    values.push(-sum);
    values.into_iter().map(|v| (UserId::random(), v)).collect()
}

/// The nets of a typical group of `members`: `expenses` expenses of 5.00 to 205.00, each paid
/// by one member and split equally (odd cents to the first sharers) among a random half of
/// the group.
fn typical_nets(members: usize, expenses: usize, rng: &mut Rng) -> Vec<(UserId, i64)> {
    let ids: Vec<UserId> = (0..members).map(|_| UserId::random()).collect();
    let mut nets = vec![0i64; members];
    for _ in 0..expenses {
        let amount = 500 + rng.next(20_000) as i64;
        let payer = rng.next(members as u64) as usize;
        let mut among: Vec<usize> = (0..members).filter(|_| rng.next(2) == 0).collect();
        if among.len() < 2 {
            among = vec![payer, (payer + 1) % members];
        }
        let count = among.len() as i64;
        nets[payer] += amount;
        for (i, m) in among.iter().enumerate() {
            nets[*m] -= amount / count + i64::from((i as i64) < amount % count);
        }
    }
    ids.into_iter().zip(nets).collect()
}

fn nets_over_rows(c: &mut Criterion) {
    let eur = Currency::parse("EUR").expect("EUR");
    let members: Vec<UserId> = (0..50).map(|_| UserId::random()).collect();
    let mut rng = Rng(7);
    // 200,000 expenses of five participants each: 1,000,000 rows.
    let expenses: Vec<Vec<ParticipantRow<UserId>>> = (0..200_000)
        .map(|_| {
            let amount = 500 + rng.next(100_000) as i64;
            let start = rng.next(46) as usize;
            let payer = start + rng.next(5) as usize;
            (0..5)
                .map(|k| {
                    let user = start + k;
                    let owed = amount / 5 + if k == 0 { amount % 5 } else { 0 };
                    let paid = if user == payer { amount } else { 0 };
                    ParticipantRow {
                        user_id: members[user],
                        paid: Minor::new(paid),
                        owed: Minor::new(owed),
                    }
                })
                .collect()
        })
        .collect();
    c.bench_function("nets over 1,000,000 participant rows", |b| {
        b.iter(|| {
            let mut sheet = BalanceSheet::new();
            for rows in &expenses {
                sheet.add_rows(eur, rows).expect("fits");
            }
            black_box(sheet.nets(eur).expect("fits"))
        })
    });
}

fn exact_plan(c: &mut Criterion) {
    let mut group = c.benchmark_group("exact plan");
    let mut rng = Rng(11);
    for n in [12, 16, 20] {
        let nets = hard_nets(n, &mut rng);
        group.bench_with_input(BenchmarkId::from_parameter(n), &nets, |b, nets| {
            b.iter(|| {
                let p = plan(black_box(nets)).expect("balanced");
                assert!(p.optimal);
                p
            })
        });
    }
    group.finish();
}

/// Typical groups of 30 and 40 members (a hundred expenses each; proven minimal), 40 nets
/// of distinct sizes in the millions (the exact planner's worst case above; proven too), and
/// the worst case: 64 members after 300 expenses, where listing the small zero-sum sets
/// takes most of the search budget and the search runs out of it (`optimal: false`).
fn bigger_plan(c: &mut Criterion) {
    let mut group = c.benchmark_group("bigger plan");
    let cases = [
        ("typical", 30, typical_nets(30, 100, &mut Rng(23))),
        ("typical", 40, typical_nets(40, 100, &mut Rng(29))),
        ("distinct", 40, hard_nets(40, &mut Rng(31))),
        ("worst", 64, typical_nets(64, 300, &mut Rng(12))),
    ];
    for (name, members, nets) in &cases {
        let p = plan(nets).expect("balanced");
        // For the record: how many transfers, and whether they were proven minimal.
        eprintln!(
            "bigger plan/{name}/{members}: {} transfers, optimal: {}",
            p.transfers.len(),
            p.optimal
        );
        group.bench_with_input(BenchmarkId::new(*name, members), nets, |b, nets| {
            b.iter(|| plan(black_box(nets)).expect("balanced"))
        });
    }
    group.finish();
}

fn heuristic_plan(c: &mut Criterion) {
    let mut rng = Rng(13);
    let nets = hard_nets(100_000, &mut rng);
    c.bench_function("heuristic plan, 100,000 members", |b| {
        b.iter(|| {
            let p = plan(black_box(&nets)).expect("balanced");
            assert!(!p.optimal);
            p
        })
    });
}

fn one_allocation(c: &mut Criterion) {
    let eur = Currency::parse("EUR").expect("EUR");
    let members: Vec<UserId> = (0..8).map(|_| UserId::random()).collect();
    let payment = Payment::Single(members[0]);
    let split = SplitInput::Equal { members: None };
    let seed = UserId::random().to_string();
    c.bench_function("allocate 100.00 equally among 8", |b| {
        b.iter(|| {
            allocate(&SplitRequest {
                seed: &seed,
                amount: "100.00",
                currency: eur,
                payment: &payment,
                split: &split,
                members: &members,
            })
            .expect("valid")
        })
    });
}

/// The browser preview without the JavaScript boundary: `preview::balances` then
/// `preview::settlement_plan` over 10,000 expenses among 20 members, from the JSON shapes.
fn preview_10k(c: &mut Criterion) {
    let mut rng = Rng(17);
    let members: Vec<String> = (0..20).map(|i| format!("member-{i:02}")).collect();
    let expenses: Vec<serde_json::Value> = (0..10_000)
        .map(|_| {
            let start = rng.next(14) as usize;
            let among = &members[start..start + 7];
            let each = 100 + rng.next(10_000) as i64;
            let payer = &among[rng.next(7) as usize];
            let cents = |minor: i64| format!("{}.{:02}", minor / 100, minor % 100);
            serde_json::json!({
                "currency": "EUR",
                "payers": [{"user_id": payer, "amount": cents(each * 7)}],
                "shares": among.iter().map(|m| serde_json::json!({"user_id": m, "amount": cents(each)})).collect::<Vec<_>>(),
            })
        })
        .collect();
    let input: preview::LedgerInput =
        serde_json::from_value(serde_json::json!({"expenses": expenses, "settlements": []}))
            .expect("shape");
    c.bench_function(
        "preview of 10,000 expenses (balances + plan, native)",
        |b| {
            b.iter(|| {
                let balances = preview::balances(black_box(&input)).expect("valid");
                let back: preview::BalancesInput =
                    serde_json::from_value(serde_json::to_value(&balances).expect("json"))
                        .expect("shape");
                preview::settlement_plan(&back).expect("balanced")
            })
        },
    );
}

fn config() -> Criterion {
    // Short runs: the benchmarks must fit a 2-core CI machine.
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = nets_over_rows, exact_plan, bigger_plan, heuristic_plan, one_allocation, preview_10k
}
criterion_main!(benches);
