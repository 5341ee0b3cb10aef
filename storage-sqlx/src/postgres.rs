//! PostgreSQL: the primary store.
//!
//! Writes run at READ COMMITTED with row locks: member rows `FOR KEY SHARE` (the weakest lock
//! that conflicts with a removal, so role changes need not wait for expense writes), the
//! replaced entry `FOR UPDATE`. Reads of several statements share one REPEATABLE READ, READ
//! ONLY snapshot.

use std::time::Duration;

use sqlx::Postgres;
use sqlx::error::DatabaseError;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgQueryResult};
use time::OffsetDateTime;
use time::error::ComponentRange;
use uuid::Uuid;

use splitledger_core::storage::StorageError;

use crate::dialect::{CONFLICTS, Dialect, Meaning, SqlDb, is_total_bound};
use crate::store::SqlStore;

/// The PostgreSQL dialect.
#[derive(Debug, Clone, Copy)]
pub struct Pg;

impl SqlDb for Postgres {}

impl Dialect for Pg {
    type Db = Postgres;
    type Ids = Vec<Uuid>;
    type Uuid = Uuid;
    type Time = OffsetDateTime;
    const NAME: &'static str = "PgStorage";
    const MIGRATOR: &'static Migrator = &crate::POSTGRES_MIGRATOR;
    const BEGIN_WRITE: &'static str = "BEGIN";
    const ONE_WRITER: bool = false;
    const BEGIN_READ: &'static str = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY";
    const IN_IDS: (&'static str, &'static str) = ("= ANY(", ")");
    const LOCK_SHARE: &'static str = "FOR KEY SHARE";
    const LOCK_UPDATE: &'static str = "FOR UPDATE";
    const MONTH: &'static str = "to_char(e.occurred_on, 'YYYY-MM')";

    fn time(time: OffsetDateTime) -> OffsetDateTime {
        time
    }

    fn from_time(stored: OffsetDateTime) -> Result<OffsetDateTime, ComponentRange> {
        Ok(stored)
    }

    fn ids(ids: &[Uuid]) -> Vec<Uuid> {
        ids.to_vec()
    }

    fn affected(result: &PgQueryResult) -> u64 {
        result.rows_affected()
    }

    /// By SQLSTATE: unique violations by constraint name, foreign keys, numeric overflow and
    /// the totals' CHECK bounds, then the codes that mean "try again later" (serialization
    /// failures, too many connections, shutdown, connection exceptions).
    fn classify(db: &dyn DatabaseError) -> Option<Meaning> {
        let code = db.code()?;
        let constraint = db.constraint().unwrap_or_default();
        match code.as_ref() {
            "23505" => CONFLICTS
                .iter()
                .find(|(name, _, _)| *name == constraint)
                .map(|(_, _, conflict)| Meaning::Conflict(conflict)),
            "23503" => Some(Meaning::NotFound),
            "22003" => Some(Meaning::Overflow),
            "23514" if is_total_bound(constraint) => Some(Meaning::Overflow),
            "40001" | "40P01" | "53300" | "57P01" | "57P02" | "57P03" => Some(Meaning::Unavailable),
            c if c.starts_with("08") => Some(Meaning::Unavailable),
            _ => None,
        }
    }
}

/// splitledger's store on PostgreSQL.
pub type PgStorage = SqlStore<Pg>;

impl SqlStore<Pg> {
    /// Connects to `postgres://user:password@host:port/database` (a pool of up to 16
    /// connections; waiting more than 2 s for one is `Unavailable`, so an outage answers
    /// quickly instead of holding every request). Does not migrate.
    pub async fn connect(url: &str) -> Result<Self, StorageError> {
        let options: PgConnectOptions = url.parse().map_err(Pg::error)?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(2))
            .connect_with(options)
            .await
            .map_err(Pg::error)?;
        Ok(Self::from_pool(pool))
    }
}
