//! SQLite: the embedded default.
//!
//! SQLite runs one writer at a time. Every write begins `IMMEDIATE`, so it holds the write
//! lock from its first statement: membership, version and total checks cannot interleave
//! with another write, and a waiting writer never fails on a stale snapshot. Writers of one
//! store queue for their turn in the store (`ONE_WRITER`, see `writer.rs`) instead of
//! sleeping in SQLite's busy handler, which stays as the fallback for other processes. Row
//! locks do not exist, so `{share}` and `{update}` are empty.

use std::time::Duration;

use sqlx::Sqlite;
use sqlx::error::{DatabaseError, ErrorKind};
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteQueryResult,
    SqliteSynchronous,
};
use time::OffsetDateTime;
use time::error::ComponentRange;
use uuid::Uuid;
use uuid::fmt::Hyphenated;

use splitledger_core::Cause;
use splitledger_core::storage::StorageError;

use crate::dialect::{CONFLICTS, Dialect, Meaning, SqlDb, is_total_bound};
use crate::store::SqlStore;

/// The SQLite dialect.
#[derive(Debug, Clone, Copy)]
pub struct Lite;

impl SqlDb for Sqlite {}

impl Dialect for Lite {
    type Db = Sqlite;
    /// A JSON array: SQLite has no arrays, `json_each` reads one.
    type Ids = String;
    /// Lower-case hyphenated text: its byte order is UUID order, which keyset cursors rely on.
    type Uuid = Hyphenated;
    /// Unix microseconds: exact, and in numeric order.
    type Time = i64;
    const NAME: &'static str = "SqliteStorage";
    const MIGRATOR: &'static Migrator = &crate::SQLITE_MIGRATOR;
    const BEGIN_WRITE: &'static str = "BEGIN IMMEDIATE";
    const ONE_WRITER: bool = true;
    const BEGIN_READ: &'static str = "BEGIN";
    const IN_IDS: (&'static str, &'static str) = ("IN (SELECT value FROM json_each(", "))");
    const LOCK_SHARE: &'static str = "";
    const LOCK_UPDATE: &'static str = "";
    const MONTH: &'static str = "substr(e.occurred_on, 1, 7)";

    fn time(time: OffsetDateTime) -> i64 {
        // Within `time`'s years (±9999) microseconds stay below 2^59: this never saturates.
        i64::try_from(time.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
    }

    fn from_time(stored: i64) -> Result<OffsetDateTime, ComponentRange> {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(stored) * 1_000)
    }

    fn ids(ids: &[Uuid]) -> String {
        let list: Vec<String> = ids.iter().map(|id| id.hyphenated().to_string()).collect();
        serde_json::Value::from(list).to_string()
    }

    fn affected(result: &SqliteQueryResult) -> u64 {
        result.rows_affected()
    }

    /// SQLite names no unique constraint in its errors, only the columns (`UNIQUE
    /// constraint failed: users.email`); CHECK failures name the constraint; a sum past 64
    /// bits is "integer overflow"; BUSY (5) and LOCKED (6) mean another writer held on past
    /// the busy timeout.
    fn classify(db: &dyn DatabaseError) -> Option<Meaning> {
        let message = db.message();
        match db.kind() {
            ErrorKind::UniqueViolation => {
                return CONFLICTS
                    .iter()
                    .find(|(_, columns, _)| message.ends_with(columns))
                    .map(|(_, _, conflict)| Meaning::Conflict(conflict));
            }
            ErrorKind::ForeignKeyViolation => return Some(Meaning::NotFound),
            _ => {}
        }
        let check = message.strip_prefix("CHECK constraint failed: ");
        if message.contains("integer overflow") || check.is_some_and(is_total_bound) {
            return Some(Meaning::Overflow);
        }
        let primary = db
            .code()
            .and_then(|c| c.parse::<i32>().ok())
            .map(|c| c & 0xff);
        matches!(primary, Some(5 | 6)).then_some(Meaning::Unavailable)
    }
}

/// splitledger's store on SQLite.
pub type SqliteStorage = SqlStore<Lite>;

impl SqlStore<Lite> {
    /// Opens `sqlite://path/to/file.db` (the file, and its folder, are created if missing) or
    /// `sqlite::memory:` (one connection, kept open: the database lives as long as the
    /// store). WAL journal, foreign keys on, 5 s busy timeout. Does not migrate.
    pub async fn connect(url: &str) -> Result<Self, StorageError> {
        if !url.starts_with("sqlite:") {
            return Err(StorageError::internal(
                "not a SQLite URL (sqlite://path or sqlite::memory:)",
            ));
        }
        let options: SqliteConnectOptions = url.parse().map_err(Lite::error)?;
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        if !in_memory && let Some(dir) = options.get_filename().parent() {
            // A fresh install names a file in a folder that may not exist yet.
            if !dir.as_os_str().is_empty() && !dir.exists() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| StorageError::Unavailable(Cause::new(e)))?;
            }
        }
        let pool = if in_memory {
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            SqlitePoolOptions::new().max_connections(8)
        }
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
        .map_err(Lite::error)?;
        Ok(Self::from_pool(pool))
    }
}
