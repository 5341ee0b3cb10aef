//! The SQLite store opened from URLs: file creation, pragmas, persistence, in-memory
//! databases, concurrent writers, all-or-nothing writes, the bound on running totals,
//! writers queued in the store, client-chosen ids and the distribution-key migration over
//! existing data.
#![cfg(feature = "sqlite")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use splitledger_core::conformance::{Fixture, expense_input};
use splitledger_core::split::SplitInput;
use splitledger_core::storage::{EntryStore, ReportStore};
use splitledger_storage_sqlx::{Lite, SQLITE_MIGRATOR, SqliteStorage};
use sqlx::SqlitePool;

fn temp_db(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "splitledger-sqlite-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4()
    ));
    dir.join(name)
}

#[tokio::test]
async fn file_is_created_configured_and_persistent() {
    let path = temp_db("nested/folder/ledger.db");
    assert!(!path.exists());
    let url = format!("sqlite://{}", path.display());
    let store = SqliteStorage::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    assert!(path.exists(), "the file is created");
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(fk, 1);
    let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(busy, 5000);

    let f = Fixture::new(store);
    let ann = f.user("ann").await;
    let bob = f.user("bob").await;
    let g = f.group(&ann, &[&bob]).await;
    let e = f.expense(&ann, g, "10.00", &ann, &[]).await;
    f.ledger.storage().pool().close().await;
    drop(f);

    // Reopen: everything is still there, and migrating again is a no-op.
    let store = SqliteStorage::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    assert_eq!(store.expense(g, e.id).await.unwrap(), Some(e));
    let f = Fixture::new(store);
    assert_eq!(f.nets(&ann, g, "EUR").await[&bob.id], -500);
    f.ledger.storage().pool().close().await;
    let _ = std::fs::remove_dir_all(path.parent().unwrap().parent().unwrap().parent().unwrap());
}

#[tokio::test]
async fn in_memory_database_lives_as_long_as_the_store() {
    let store = SqliteStorage::connect("sqlite::memory:").await.unwrap();
    store.migrate().await.unwrap();
    store.ping().await.unwrap();
    let f = Fixture::new(store);
    let ann = f.user("ann").await;
    let bob = f.user("bob").await;
    let g = f.group(&ann, &[&bob]).await;
    f.expense(&ann, g, "9.00", &bob, &[]).await;
    f.check_totals(&ann, g).await;
    assert_eq!(f.nets(&ann, g, "EUR").await[&ann.id], -450);
}

#[tokio::test]
async fn concurrent_writers_on_a_file_wait_for_each_other() {
    let path = temp_db("busy.db");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let store = SqliteStorage::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let f = Fixture::new(store);
    let ann = f.user("ann").await;
    let bob = f.user("bob").await;
    let cat = f.user("cat").await;
    let g = f.group(&ann, &[&bob, &cat]).await;
    let people = [ann.clone(), bob, cat];
    let mut tasks = Vec::new();
    for w in 0..4 {
        let ledger = f.ledger.clone();
        let people = people.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..50 {
                let payer = &people[(w + i) % 3];
                let input = expense_input(
                    &format!("{}.{:02}", 1 + i, w * 13),
                    payer.id,
                    SplitInput::Equal { members: None },
                );
                ledger
                    .create_expense(payer.id, g, input, None)
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    f.check_totals(&ann, g).await;
    f.ledger.storage().pool().close().await;
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

#[sqlx::test(migrator = "splitledger_storage_sqlx::SQLITE_MIGRATOR")]
async fn failed_writes_leave_nothing(pool: SqlitePool) {
    support::failed_writes_leave_nothing(SqliteStorage::from_pool(pool)).await;
}

#[tokio::test]
async fn bad_url_is_an_error_not_a_panic() {
    assert!(SqliteStorage::connect("mysql://nope").await.is_err());
}

#[sqlx::test(migrator = "splitledger_storage_sqlx::SQLITE_MIGRATOR")]
async fn totals_past_the_bound_are_refused(pool: SqlitePool) {
    totals_bound_case!(Lite, SqliteStorage::from_pool(pool.clone()), pool);
}

#[sqlx::test(migrator = "splitledger_storage_sqlx::SQLITE_MIGRATOR")]
async fn client_chosen_ids(pool: SqlitePool) {
    support::client_chosen_ids(SqliteStorage::from_pool(pool)).await;
}

#[tokio::test]
async fn migrating_keeps_existing_data() {
    // A real file with foreign keys on, as `connect` opens it: the table rebuilds must not
    // cascade-delete any child row.
    let path = temp_db("migrate.db");
    let store = SqliteStorage::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let pool = store.pool().clone();
    SQLITE_MIGRATOR.run_to(support::INIT, &pool).await.unwrap();
    let seed = support::seed();
    seed_old_schema!(Lite, &pool, &seed);
    store.migrate().await.unwrap();
    let check: Vec<(String,)> = sqlx::query_as("PRAGMA foreign_key_check")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(check.is_empty(), "{check:?}");
    // The down script restores the old schema with the data, and up again is clean.
    SQLITE_MIGRATOR.undo(&pool, support::INIT).await.unwrap();
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM expense_participants")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(count, 2);
    store.migrate().await.unwrap();
    support::seeded_data_survives(store, &seed).await;
    pool.close().await;
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

#[sqlx::test(migrator = "splitledger_storage_sqlx::SQLITE_MIGRATOR")]
async fn summaries_past_64_bits_are_exact(pool: SqlitePool) {
    summaries_case!(Lite, SqliteStorage::from_pool(pool.clone()), pool);
}

/// With SQLite's busy handler off, writers that reached the database at once would fail
/// with SQLITE_BUSY at once: they all succeed because they queue in the store for their
/// turn, one transaction at a time.
#[tokio::test]
async fn writers_queue_in_the_store_not_in_the_busy_handler() {
    use std::str::FromStr;

    let path = temp_db("queue.db");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let options =
        sqlx::sqlite::SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))
            .unwrap()
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .foreign_keys(true)
            .busy_timeout(std::time::Duration::ZERO);
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await
        .unwrap();
    let store = SqliteStorage::from_pool(pool);
    store.migrate().await.unwrap();
    let f = Fixture::new(store);
    let ann = f.user("ann").await;
    let bob = f.user("bob").await;
    let g = f.group(&ann, &[&bob]).await;
    let tasks: Vec<_> = (0..8)
        .map(|w| {
            let (ledger, people) = (f.ledger.clone(), [ann.clone(), bob.clone()]);
            tokio::spawn(async move {
                for i in 0..25 {
                    let payer = &people[(w + i) % 2];
                    let input = expense_input(
                        &format!("{}.{:02}", 1 + i, w),
                        payer.id,
                        SplitInput::Equal { members: None },
                    );
                    ledger.create_expense(payer.id, g, input, None).await?;
                }
                Ok::<_, splitledger_core::ledger::Error>(())
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    f.check_totals(&ann, g).await;
    f.ledger.storage().pool().close().await;
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}
