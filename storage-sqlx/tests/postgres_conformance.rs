//! Core's conformance suite against PostgreSQL, a fresh database per case (needs
//! `DATABASE_URL`; the project's test script sets it).
#![cfg(feature = "postgres")]

splitledger_core::conformance_tests!(
    #[sqlx::test(migrator = "splitledger_storage_sqlx::POSTGRES_MIGRATOR")]
    async fn(pool: sqlx::PgPool) {
        splitledger_storage_sqlx::PgStorage::from_pool(pool)
    }
);
