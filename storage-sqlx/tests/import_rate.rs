//! The rate of a 50,000-row Splitwise import through the Ledger on a real SQLite file and on
//! PostgreSQL (parse, allocation, mapping, the one transaction). Ignored by default: run in
//! release to measure,
//! `cargo test --release -p splitledger-storage-sqlx --all-features --test import_rate -- --ignored --nocapture --test-threads 1`
//! (PostgreSQL needs `DATABASE_URL`; the import runs in a database of its own, dropped after).
#![allow(clippy::unwrap_used)]

use std::time::Instant;

use splitledger_core::Storage;
use splitledger_core::conformance::Fixture;
use splitledger_core::import::Format;
use splitledger_core::ledger::ImportRequest;

/// The file `core/tests/import_rate.rs` imports on the in-memory store.
fn splitwise_rows(rows: usize) -> Vec<u8> {
    let mut text = String::from("Date,Description,Category,Cost,Currency,ann,Bob,Cléo\n");
    for i in 0..rows {
        text.push_str(&format!(
            "2024-01-01,row {i},General,3.00,EUR,2.00,-1.00,-1.00\n"
        ));
    }
    text.into_bytes()
}

async fn measure<S: Storage>(storage: S, label: &str) {
    let f = Fixture::new(storage);
    let ann = f.user("ann").await;
    let g = f.group(&ann, &[]).await;
    let file = splitwise_rows(50_000);
    let started = Instant::now();
    let report = f
        .ledger
        .import(
            ann.id,
            g,
            ImportRequest {
                format: Format::Splitwise,
                file,
                members: Default::default(),
            },
        )
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(report.expenses, 50_000);
    let nets = f.nets(&ann, g, "EUR").await;
    assert_eq!(nets.get(&ann.id), Some(&10_000_000), "2.00 × 50,000");
    println!(
        "{label}: 50,000 rows in {took:?}: {:.0} rows/s",
        50_000.0 / took.as_secs_f64()
    );
}

#[cfg(feature = "sqlite")]
#[tokio::test]
#[ignore = "a measurement, run in release"]
async fn fifty_thousand_rows_on_a_sqlite_file() {
    let dir = std::env::temp_dir().join(format!("splitledger-rate-{}", uuid::Uuid::new_v4()));
    let url = format!("sqlite://{}/rate.db", dir.display());
    let store = splitledger_storage_sqlx::SqliteStorage::connect(&url)
        .await
        .unwrap();
    store.migrate().await.unwrap();
    measure(store, "SQLite file").await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(feature = "postgres")]
#[sqlx::test(migrator = "splitledger_storage_sqlx::POSTGRES_MIGRATOR")]
#[ignore = "a measurement, run in release"]
async fn fifty_thousand_rows_on_postgres(pool: sqlx::PgPool) {
    measure(
        splitledger_storage_sqlx::PgStorage::from_pool(pool),
        "PostgreSQL",
    )
    .await;
}
