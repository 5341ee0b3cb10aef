//! The SQL stores, chosen once at start from the database URL; the rest of the server is
//! generic over the store (static dispatch).

use std::path::PathBuf;

use std::sync::Arc;

use splitledger_core::StorageError;
use splitledger_storage_sqlx::dialect::Dialect;
use splitledger_storage_sqlx::{MigrateToError, PgStorage, SqlStore, SqliteStorage};

use crate::metrics::{PoolProbe, PoolUse};

use crate::settings::{Settings, redact_url};
use crate::startup::{Application, StartupError};

/// The kind of store a database URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Postgres,
    Sqlite,
}

fn kind(url: &str) -> Result<Kind, StartupError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Kind::Postgres)
    } else if url.starts_with("sqlite:") {
        Ok(Kind::Sqlite)
    } else {
        Err(StartupError::UnsupportedDatabase(redact_url(url)))
    }
}

fn database(error: StorageError) -> StartupError {
    // The whole chain: "storage unavailable: connection refused", not just the first link.
    StartupError::Database(splitledger_core::Cause::new(error).chain())
}

/// Where an SQLite URL puts its file, made absolute for the log.
pub(crate) fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    if path.is_empty() || path.contains(":memory:") {
        return None;
    }
    let path = PathBuf::from(path);
    Some(if path.is_absolute() {
        path
    } else {
        std::env::current_dir()
            .map(|d| d.join(&path))
            .unwrap_or(path)
    })
}

async fn connect_postgres(url: &str) -> Result<PgStorage, StartupError> {
    tracing::info!(database = %redact_url(url), "opening PostgreSQL");
    PgStorage::connect(url).await.map_err(database)
}

async fn connect_sqlite(url: &str) -> Result<SqliteStorage, StartupError> {
    match sqlite_file(url) {
        Some(file) => tracing::info!(file = %file.display(), "opening SQLite (created if missing)"),
        None => tracing::info!(database = %url, "opening SQLite in memory"),
    }
    SqliteStorage::connect(url).await.map_err(database)
}

/// Reads a store's pool for `/metrics`.
fn pool_probe<D: Dialect>(store: &SqlStore<D>) -> PoolProbe {
    let pool = store.pool().clone();
    Arc::new(move || PoolUse {
        size: pool.size(),
        idle: pool.num_idle(),
        max: pool.options().get_max_connections(),
    })
}

/// Migrates `store` to the newest version and builds the application over it.
async fn build<D: Dialect>(
    store: SqlStore<D>,
    settings: &Settings,
) -> Result<Application, StartupError> {
    store.migrate().await.map_err(database)?;
    let probe = pool_probe(&store);
    Application::with_storage_and_pool(store, settings, Some(probe)).await
}

/// Opens the SQL store named by the URL, applies its migrations and builds the application.
pub(crate) async fn open_and_build(settings: &Settings) -> Result<Application, StartupError> {
    let url = settings.database_url.as_str();
    match kind(url)? {
        Kind::Postgres => build(connect_postgres(url).await?, settings).await,
        Kind::Sqlite => build(connect_sqlite(url).await?, settings).await,
    }
}

/// Moves `store`'s schema to `to` (the newest version when `None`) and says from where.
async fn move_schema<D: Dialect>(store: &SqlStore<D>, to: Option<i64>) -> Result<(), StartupError> {
    let before = store.schema_version().await.map_err(database)?;
    match to {
        None => store.migrate().await.map_err(database)?,
        Some(version) => store.migrate_to(version).await.map_err(|e| match e {
            MigrateToError::UnknownVersion { .. } => StartupError::UnknownMigration(e.to_string()),
            MigrateToError::Storage(e) => database(e),
        })?,
    }
    let after = store.schema_version().await.map_err(database)?;
    tracing::info!(from = ?before, to = ?after, "schema migrated");
    Ok(())
}

/// Applies the migrations of the store named by the URL (the `migrate` subcommand).
pub async fn migrate(settings: &Settings) -> Result<(), StartupError> {
    migrate_to(settings, None).await
}

/// `migrate --to VERSION`: moves the schema of the store named by the URL up or down to
/// that version (the newest when `None`).
pub async fn migrate_to(settings: &Settings, to: Option<i64>) -> Result<(), StartupError> {
    let url = settings.database_url.as_str();
    match kind(url)? {
        Kind::Postgres => move_schema(&connect_postgres(url).await?, to).await,
        Kind::Sqlite => move_schema(&connect_sqlite(url).await?, to).await,
    }
}

/// The `import` subcommand: opens the database (migrating it) and imports through the
/// Ledger, so the command line obeys the same rules as `POST /groups/{id}/import`.
pub async fn import(
    settings: &Settings,
    args: &crate::import_cli::ImportArgs,
) -> Result<splitledger_core::ledger::ImportReport, String> {
    let url = settings.database_url.as_str();
    let config = crate::startup::ledger_config(settings);
    let fail = |e: StartupError| e.to_string();
    match kind(url).map_err(fail)? {
        Kind::Postgres => {
            let store = connect_postgres(url).await.map_err(fail)?;
            store.migrate().await.map_err(database).map_err(fail)?;
            crate::import_cli::run(splitledger_core::Ledger::with_config(store, config), args).await
        }
        Kind::Sqlite => {
            let store = connect_sqlite(url).await.map_err(fail)?;
            store.migrate().await.map_err(database).map_err(fail)?;
            crate::import_cli::run(splitledger_core::Ledger::with_config(store, config), args).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_choose_the_store() {
        assert_eq!(kind("postgres://u@h/db").ok(), Some(Kind::Postgres));
        assert_eq!(kind("postgresql://u@h/db").ok(), Some(Kind::Postgres));
        assert_eq!(kind("sqlite://splitledger.db").ok(), Some(Kind::Sqlite));
        assert!(kind("mysql://u:secret@h/db").is_err_and(|e| !e.to_string().contains("secret")));
        let file = sqlite_file("sqlite://splitledger.db?mode=rwc");
        assert!(file.is_some_and(|f| f.is_absolute() && f.ends_with("splitledger.db")));
        assert_eq!(sqlite_file("sqlite::memory:"), None);
    }
}
