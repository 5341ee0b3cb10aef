//! splitledger's [`Storage`](splitledger_core::Storage) on PostgreSQL (the primary store) and
//! SQLite (the embedded default), with sqlx: one store, [`SqlStore`], generic over a
//! [`Dialect`](dialect::Dialect).
//!
//! - [`PgStorage`] (feature `postgres`): `postgres://user@host:5432/db` URLs;
//! - [`SqliteStorage`] (feature `sqlite`): `sqlite://path/to/file.db` (the file is created
//!   if missing; WAL, foreign keys on, 5 s busy timeout) or `sqlite::memory:`.
//!
//! Every trait call is one transaction. The store keeps running totals per (group, member,
//! currency) and pair totals per (group, currency, a, b), updated in the same transaction as
//! every write, so reading balances touches one row per member and currency however long
//! the history. The migrations of each dialect are embedded ([`POSTGRES_MIGRATOR`],
//! [`SQLITE_MIGRATOR`]) and applied by `migrate()`.

#[cfg(any(feature = "postgres", feature = "sqlite"))]
pub mod dialect;
#[cfg(any(feature = "postgres", feature = "sqlite"))]
mod migrations;
#[cfg(any(feature = "postgres", feature = "sqlite"))]
mod rows;
#[cfg(any(feature = "postgres", feature = "sqlite"))]
mod sql;
#[cfg(any(feature = "postgres", feature = "sqlite"))]
mod store;
mod writer;

#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

#[cfg(any(feature = "postgres", feature = "sqlite"))]
pub use migrations::MigrateToError;
#[cfg(feature = "postgres")]
pub use postgres::{Pg, PgStorage};
#[cfg(feature = "sqlite")]
pub use sqlite::{Lite, SqliteStorage};
#[cfg(any(feature = "postgres", feature = "sqlite"))]
pub use store::SqlStore;

/// The PostgreSQL schema migrations (`migrations/postgres`).
#[cfg(feature = "postgres")]
pub static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The SQLite schema migrations (`migrations/sqlite`).
#[cfg(feature = "sqlite")]
pub static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
