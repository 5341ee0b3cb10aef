//! PostgreSQL store benchmarks (a plain harness; criterion fits concurrent writers badly):
//!
//! - expenses written per second through the Ledger with 1 and 8 concurrent writers;
//! - balance-read latency (`Ledger::balances` and the store's `member_totals`) in a group
//!   of 1,000 expenses and in one of 100,000.
//!
//! Uses `DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`) to create a
//! scratch database, dropped at the end. Run: `cargo bench -p splitledger-storage-sqlx
//! --bench pg_storage`; `BENCH_LARGE=20000` shrinks the large group; `BENCH_SYNC_OFF=1` sets
//! `synchronous_commit = off` on the scratch database (the CPU limit, not the disk's). Compare with
//! `benches/run-pgbench.sh` (the same SQL transaction driven by pgbench).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use splitledger_core::Ledger;
use splitledger_core::conformance::{Fixture, expense_input};
use splitledger_core::domain::{Activity, ActivityId, Expense, ExpenseId, GroupId, User};
use splitledger_core::entry::Entry;
use splitledger_core::split::SplitInput;
use splitledger_core::storage::{EntryStore, EntryWrite, ReportStore};
use splitledger_storage_sqlx::PgStorage;
use sqlx::Connection;

fn base_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// The URL with its database replaced by `db`.
fn with_database(url: &str, db: &str) -> String {
    let (head, _) = url.rsplit_once('/').expect("a database URL");
    format!("{head}/{db}")
}

async fn write_through_ledger(
    ledger: &Ledger<PgStorage>,
    people: &[User],
    groups: &[GroupId],
    writers: usize,
    per_writer: usize,
) -> f64 {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..writers {
        let ledger = ledger.clone();
        let people = people.to_vec();
        let g = groups[w % groups.len()];
        tasks.push(tokio::spawn(async move {
            for i in 0..per_writer {
                let payer = &people[(w + i) % people.len()];
                let amount = format!("{}.{:02}", 1 + (w * 31 + i) % 97, (i * 7) % 100);
                let input = expense_input(&amount, payer.id, SplitInput::Equal { members: None });
                ledger
                    .create_expense(payer.id, g, input, None)
                    .await
                    .expect("insert");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    (writers * per_writer) as f64 / start.elapsed().as_secs_f64()
}

fn copy_of(template: &Expense) -> EntryWrite {
    let mut expense = template.clone();
    expense.id = ExpenseId::random();
    EntryWrite {
        activity: Activity {
            id: ActivityId::random(),
            group_id: expense.group_id,
            actor: expense.created_by,
            action: "expense.created".into(),
            entity: "expense".into(),
            entity_id: expense.id.0,
            at: expense.created_at,
            details: serde_json::json!({"before": null, "after": expense.snapshot()}),
        },
        idempotency: None,
        fingerprint: String::new(),
        entry: Entry::Expense(expense),
    }
}

/// Fills a group to `count` expenses with 8 writers straight into the store.
async fn fill(storage: Arc<PgStorage>, template: &Expense, count: usize) {
    let writers = 8;
    let mut tasks = Vec::new();
    for w in 0..writers {
        let storage = storage.clone();
        let template = template.clone();
        let n = count / writers + usize::from(w < count % writers);
        tasks.push(tokio::spawn(async move {
            for _ in 0..n {
                storage.insert_entry(&copy_of(&template)).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

struct Latency {
    median: Duration,
    p99: Duration,
}

async fn measure<F, Fut>(rounds: usize, mut read: F) -> Latency
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for _ in 0..50 {
        read().await;
    }
    let mut samples = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let start = Instant::now();
        read().await;
        samples.push(start.elapsed());
    }
    samples.sort();
    Latency {
        median: samples[rounds / 2],
        p99: samples[rounds * 99 / 100],
    }
}

async fn report_reads(label: &str, ledger: &Ledger<PgStorage>, actor: &User, g: GroupId) {
    let view = measure(2000, || async {
        ledger.balances(actor.id, g).await.unwrap();
    })
    .await;
    let store = measure(2000, || async {
        ledger.storage().member_totals(g).await.unwrap();
    })
    .await;
    println!(
        "balance read, {label}: Ledger::balances median {:?} p99 {:?}; member_totals median {:?} p99 {:?}",
        view.median, view.p99, store.median, store.p99
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: run only then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let large: usize = std::env::var("BENCH_LARGE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let admin_url = base_url();
    let db = format!("splitledger_bench_{}", std::process::id());
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .expect("PostgreSQL must answer at DATABASE_URL");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
        .execute(&mut admin)
        .await
        .unwrap();
    if std::env::var_os("BENCH_SYNC_OFF").is_some() {
        // Commits stop waiting for the WAL flush: shows the CPU limit instead of the disk's.
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "ALTER DATABASE {db} SET synchronous_commit = off"
        )))
        .execute(&mut admin)
        .await
        .unwrap();
        println!("(synchronous_commit = off)");
    }

    let store = PgStorage::connect(&with_database(&admin_url, &db))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let f = Fixture::new(store);
    let mut people = Vec::new();
    for name in ["ann", "bob", "cat", "dan"] {
        people.push(f.user(name).await);
    }
    let others: Vec<&User> = people[1..].iter().collect();
    let ann = people[0].clone();

    // Writes: one group per run, 4 members, equal split among everyone.
    let g1 = f.group(&ann, &others).await;
    write_through_ledger(&f.ledger, &people, &[g1], 1, 200).await; // warm-up
    let one = write_through_ledger(&f.ledger, &people, &[g1], 1, 2000).await;
    println!("writes through the Ledger, 1 writer: {one:.0} expenses/s (2,000 expenses)");
    let g8 = f.group(&ann, &others).await;
    let eight = write_through_ledger(&f.ledger, &people, &[g8], 8, 500).await;
    println!("writes through the Ledger, 8 writers, one group: {eight:.0} expenses/s (8 x 500)");
    let mut spread = Vec::new();
    for _ in 0..8 {
        spread.push(f.group(&ann, &others).await);
    }
    let apart = write_through_ledger(&f.ledger, &people, &spread, 8, 500).await;
    println!("writes through the Ledger, 8 writers, 8 groups: {apart:.0} expenses/s (8 x 500)");

    // Reads: a group of 1,000 expenses, then one of `large`.
    let storage = Arc::new(PgStorage::from_pool(f.ledger.storage().pool().clone()));
    let small = f.group(&ann, &others).await;
    let template = f.expense(&ann, small, "12.34", &ann, &[]).await;
    fill(storage.clone(), &template, 999).await;
    report_reads("1,000 expenses", &f.ledger, &ann, small).await;

    let big = f.group(&ann, &others).await;
    let template = f.expense(&ann, big, "12.34", &ann, &[]).await;
    let start = Instant::now();
    fill(storage.clone(), &template, large - 1).await;
    println!(
        "filled a group with {large} expenses in {:.1} s ({:.0} store writes/s, 8 writers)",
        start.elapsed().as_secs_f64(),
        (large - 1) as f64 / start.elapsed().as_secs_f64()
    );
    sqlx::query("ANALYZE")
        .execute(storage.pool())
        .await
        .unwrap();
    report_reads(&format!("{large} expenses"), &f.ledger, &ann, big).await;
    report_reads("1,000 expenses (again)", &f.ledger, &ann, small).await;

    storage.pool().close().await;
    f.ledger.storage().pool().close().await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {db} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await
    .unwrap();
}
