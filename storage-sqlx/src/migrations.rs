//! Moving the schema to a chosen migration version, up or down (`splitledger-server migrate
//! --to VERSION`). The versions are the embedded migrator's own, so a migration added later
//! is known here without any edit.

use sqlx::migrate::{Migrate, MigrateError};

use splitledger_core::Cause;
use splitledger_core::storage::{StorageError, StorageResult};

use crate::dialect::Dialect;
use crate::store::SqlStore;

/// Why the schema could not be moved to a version.
#[derive(Debug)]
pub enum MigrateToError {
    /// No embedded migration has that version.
    UnknownVersion {
        /// The version asked for.
        version: i64,
        /// Every embedded version, oldest first.
        known: Vec<i64>,
    },
    /// The database refused or failed.
    Storage(StorageError),
}

impl std::fmt::Display for MigrateToError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::UnknownVersion { version, known } => {
                let known: Vec<String> = known.iter().map(i64::to_string).collect();
                write!(
                    f,
                    "no migration has version {version}; known versions: {}",
                    known.join(", ")
                )
            }
            Self::Storage(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for MigrateToError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::UnknownVersion { .. } => None,
            Self::Storage(e) => e.source(),
        }
    }
}

impl From<StorageError> for MigrateToError {
    fn from(e: StorageError) -> Self {
        Self::Storage(e)
    }
}

impl<D: Dialect> SqlStore<D> {
    /// Every embedded migration version, oldest first (each once, though a reversible
    /// migration is two scripts).
    pub fn migration_versions() -> Vec<i64> {
        let mut versions: Vec<i64> = D::MIGRATOR
            .iter()
            .filter(|m| !m.migration_type.is_down_migration())
            .map(|m| m.version)
            .collect();
        versions.sort_unstable();
        versions.dedup();
        versions
    }

    /// The newest migration applied to the database, if any.
    pub async fn schema_version(&self) -> StorageResult<Option<i64>> {
        let mut conn = self.pool.acquire().await.map_err(D::error)?;
        conn.ensure_migrations_table(&D::MIGRATOR.table_name)
            .await
            .map_err(migrate_error::<D>)?;
        let applied = conn
            .list_applied_migrations(&D::MIGRATOR.table_name)
            .await
            .map_err(migrate_error::<D>)?;
        Ok(applied.iter().map(|m| m.version).max())
    }

    /// Moves the schema to `version`: applies the migrations up to it that are missing and
    /// reverts (with their down scripts) those applied after it. Each step is its own
    /// transaction; a failed step leaves the schema at the last step that succeeded.
    pub async fn migrate_to(&self, version: i64) -> Result<(), MigrateToError> {
        let known = Self::migration_versions();
        if !known.contains(&version) {
            return Err(MigrateToError::UnknownVersion { version, known });
        }
        D::MIGRATOR
            .undo(&self.pool, version)
            .await
            .map_err(migrate_error::<D>)?;
        D::MIGRATOR
            .run_to(version, &self.pool)
            .await
            .map_err(migrate_error::<D>)?;
        Ok(())
    }
}

/// A failed statement is the database's own error (so an outage stays `Unavailable`); a
/// changed, missing or half-applied migration is `Internal`.
pub(crate) fn migrate_error<D: Dialect>(error: MigrateError) -> StorageError {
    match error {
        MigrateError::Execute(inner) => D::error(inner),
        other => StorageError::Internal(Cause::new(other)),
    }
}
