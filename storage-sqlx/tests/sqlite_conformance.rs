//! Core's conformance suite against SQLite, a fresh database file per case.
#![cfg(feature = "sqlite")]

splitledger_core::conformance_tests!(
    #[sqlx::test(migrator = "splitledger_storage_sqlx::SQLITE_MIGRATOR")]
    async fn(pool: sqlx::SqlitePool) {
        splitledger_storage_sqlx::SqliteStorage::from_pool(pool)
    }
);
