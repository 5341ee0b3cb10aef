//! Recurring occurrences made by several server processes at once: separate Ledgers, each on
//! its own connection pool to one PostgreSQL database, read a group with occurrences due at
//! the same moment. Each occurrence must exist exactly once, which only the database can
//! guarantee (nothing is shared in memory between these Ledgers).
#![cfg(feature = "postgres")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::time::Duration;

use splitledger_core::conformance::{Fixture, expense_input};
use splitledger_core::domain::ExpenseFilter;
use splitledger_core::ledger::{ListExpenses, NewSeries, PageRequest};
use splitledger_core::recurring::Every;
use splitledger_core::split::SplitInput;
use splitledger_core::{Ledger, LedgerConfig};
use splitledger_storage_sqlx::PgStorage;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use time::macros::date;

const PROCESSES: usize = 4;

#[sqlx::test(migrator = "splitledger_storage_sqlx::POSTGRES_MIGRATOR")]
async fn separate_pools_make_each_occurrence_once(pool: PgPool) {
    let options = (*pool.connect_options()).clone();
    let f = Fixture::new(PgStorage::from_pool(pool));
    let (ann, bob) = (f.user("ann").await, f.user("bob").await);
    let g = f.group(&ann, &[&bob]).await;
    let daily = NewSeries {
        expense: expense_input("10.01", ann.id, SplitInput::Equal { members: None }),
        every: Every::Day,
        interval: None,
        starts_on: date!(2026 - 06 - 02),
        ends_on: None,
        count: None,
        paused: None,
    };
    f.ledger.create_series(bob.id, g, daily).await.unwrap();
    // Thirty days pass with no server running.
    f.clock.advance(Duration::from_secs(30 * 86_400));

    let mut processes = Vec::new();
    for _ in 0..PROCESSES {
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .connect_with(options.clone())
            .await
            .unwrap();
        let ledger = Ledger::with_config(PgStorage::from_pool(pool), LedgerConfig::default())
            .with_clock(f.clock.clone());
        processes.push(ledger);
    }
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(PROCESSES * 2));
    let mut tasks = Vec::new();
    for (i, ledger) in processes.into_iter().enumerate() {
        for reader in [ann.id, bob.id] {
            let (ledger, barrier) = (ledger.clone(), barrier.clone());
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                if i % 2 == 0 {
                    ledger.balances(reader, g).await.map(drop)
                } else {
                    ledger.make_due_occurrences(10).await.map(drop)
                }
            }));
        }
    }
    for t in tasks {
        t.await.unwrap().expect("every process reads the group");
    }

    let page = f
        .ledger
        .list_expenses(
            ann.id,
            g,
            ListExpenses {
                filter: ExpenseFilter::default(),
                page: PageRequest {
                    limit: Some(200),
                    cursor: None,
                },
            },
        )
        .await
        .unwrap();
    let made: Vec<_> = page.items.iter().filter_map(|e| e.recurring).collect();
    let days: BTreeSet<_> = made.iter().map(|o| o.occurrence_on).collect();
    assert_eq!(made.len(), 30, "one expense per day from 2 June to 1 July");
    assert_eq!(days.len(), 30, "no day made twice");
    assert_eq!(days.first(), Some(&date!(2026 - 06 - 02)));
    assert_eq!(days.last(), Some(&date!(2026 - 07 - 01)));
    f.check_totals(&ann, g).await;
}
