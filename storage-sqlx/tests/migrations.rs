//! Reversible migrations: every embedded migration applied one by one, then reverted down to
//! the first, then applied again, on PostgreSQL and on an SQLite file; at each version the
//! schema (tables, columns, indexes, constraints) must equal what it was on the way up. The
//! versions come from the embedded migrators, so migrations added later are covered as they
//! are.
#![cfg(all(feature = "postgres", feature = "sqlite"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::future::Future;

use splitledger_storage_sqlx::{MigrateToError, PgStorage, SqliteStorage};
use sqlx::{PgPool, Row, SqlitePool};

/// A schema as a sorted set of lines, so two snapshots compare (and diff) readably.
type Schema = BTreeSet<String>;

async fn postgres_schema(pool: &PgPool) -> Schema {
    let mut schema = Schema::new();
    let columns = sqlx::query(
        "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text,
                COALESCE(column_default, '')::text
         FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    for row in columns {
        let parts: Vec<String> = (0..5).map(|i| row.get::<String, _>(i)).collect();
        schema.insert(format!("column {}", parts.join(" | ")));
    }
    let indexes = sqlx::query(
        "SELECT tablename::text, indexname::text, indexdef::text FROM pg_indexes
         WHERE schemaname = current_schema() AND tablename <> '_sqlx_migrations'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    for row in indexes {
        let parts: Vec<String> = (0..3).map(|i| row.get::<String, _>(i)).collect();
        schema.insert(format!("index {}", parts.join(" | ")));
    }
    let constraints = sqlx::query(
        "SELECT c.conrelid::regclass::text, c.conname::text, pg_get_constraintdef(c.oid)
         FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
         WHERE n.nspname = current_schema() AND c.conrelid <> 0
           AND c.conrelid::regclass::text <> '_sqlx_migrations'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    for row in constraints {
        let parts: Vec<String> = (0..3).map(|i| row.get::<String, _>(i)).collect();
        schema.insert(format!("constraint {}", parts.join(" | ")));
    }
    let others = sqlx::query(
        "SELECT 'function ' || p.proname::text FROM pg_proc p
           JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = current_schema()
         UNION ALL
         SELECT 'trigger ' || t.tgname::text FROM pg_trigger t
           JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = current_schema() AND NOT t.tgisinternal
         UNION ALL
         SELECT 'type ' || t.typname::text FROM pg_type t
           JOIN pg_namespace n ON n.oid = t.typnamespace
           WHERE n.nspname = current_schema() AND t.typtype IN ('e', 'd')",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    for row in others {
        schema.insert(row.get::<String, _>(0));
    }
    schema
}

/// SQLite through its pragmas rather than `sqlite_master.sql`: a down script that rebuilds
/// a table writes the same columns in other words, and that is the same schema.
async fn sqlite_schema(pool: &SqlitePool) -> Schema {
    let mut schema = Schema::new();
    let objects = sqlx::query(
        "SELECT type, name, tbl_name FROM sqlite_master
         WHERE name NOT LIKE 'sqlite_%' AND tbl_name <> '_sqlx_migrations'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    for object in objects {
        let kind: String = object.get(0);
        let name: String = object.get(1);
        let table: String = object.get(2);
        match kind.as_str() {
            "table" => {
                schema.insert(format!("table {name}"));
                let columns = sqlx::query(
                    "SELECT name, type, \"notnull\", COALESCE(dflt_value, ''), pk
                     FROM pragma_table_info(?)",
                )
                .bind(&name)
                .fetch_all(pool)
                .await
                .unwrap();
                for c in columns {
                    schema.insert(format!(
                        "column {name} | {} | {} | notnull {} | default {} | pk {}",
                        c.get::<String, _>(0),
                        c.get::<String, _>(1),
                        c.get::<i64, _>(2),
                        c.get::<String, _>(3),
                        c.get::<i64, _>(4),
                    ));
                }
                let keys = sqlx::query(
                    "SELECT \"table\", \"from\", COALESCE(\"to\", ''), on_delete
                     FROM pragma_foreign_key_list(?)",
                )
                .bind(&name)
                .fetch_all(pool)
                .await
                .unwrap();
                for k in keys {
                    schema.insert(format!(
                        "foreign key {name}.{} -> {}.{} on delete {}",
                        k.get::<String, _>(1),
                        k.get::<String, _>(0),
                        k.get::<String, _>(2),
                        k.get::<String, _>(3),
                    ));
                }
                let indexes = sqlx::query(
                    "SELECT name, \"unique\", origin, partial FROM pragma_index_list(?)",
                )
                .bind(&name)
                .fetch_all(pool)
                .await
                .unwrap();
                for i in indexes {
                    let index: String = i.get(0);
                    let columns: Vec<String> = sqlx::query_scalar(
                        "SELECT COALESCE(name, '<expr>') FROM pragma_index_info(?) ORDER BY seqno",
                    )
                    .bind(&index)
                    .fetch_all(pool)
                    .await
                    .unwrap();
                    // Automatic indexes are named by position (`sqlite_autoindex_t_2`): the
                    // columns identify them, the name does not.
                    let shown = if index.starts_with("sqlite_autoindex_") {
                        "auto".to_string()
                    } else {
                        index
                    };
                    schema.insert(format!(
                        "index {name} | {shown} | unique {} | {} | partial {} | ({})",
                        i.get::<i64, _>(1),
                        i.get::<String, _>(2),
                        i.get::<i64, _>(3),
                        columns.join(", "),
                    ));
                }
            }
            "index" => {}
            other => {
                schema.insert(format!("{other} {name} on {table}"));
            }
        }
    }
    schema
}

/// Up one version at a time, down to the first, up again: the schema at each version is
/// the same every time it is reached.
async fn round_trip<F, Fut>(
    versions: &[i64],
    migrate_to: impl Fn(i64) -> Fut,
    schema: impl Fn() -> F,
) where
    Fut: Future<Output = Result<(), MigrateToError>>,
    F: Future<Output = Schema>,
{
    assert!(versions.len() >= 2, "at least one reversible migration");
    let mut seen = Vec::new();
    for &v in versions {
        migrate_to(v)
            .await
            .unwrap_or_else(|e| panic!("up to {v}: {e}"));
        seen.push(schema().await);
    }
    assert!(!seen[0].is_empty(), "the first migration creates tables");
    assert_ne!(
        seen[0],
        seen[seen.len() - 1],
        "the later migrations change the schema"
    );
    let check = |step: &str, i: usize, now: &Schema| {
        let before = &seen[i];
        let missing: Vec<_> = before.difference(now).collect();
        let extra: Vec<_> = now.difference(before).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{step} to {}: the schema differs from the way up\n missing: {missing:#?}\n extra: {extra:#?}",
            versions[i]
        );
    };
    for i in (0..versions.len() - 1).rev() {
        migrate_to(versions[i])
            .await
            .unwrap_or_else(|e| panic!("down to {}: {e}", versions[i]));
        check("down", i, &schema().await);
    }
    for (i, &v) in versions.iter().enumerate().skip(1) {
        migrate_to(v)
            .await
            .unwrap_or_else(|e| panic!("up again to {v}: {e}"));
        check("up again", i, &schema().await);
    }
}

#[sqlx::test(migrations = false)]
async fn every_migration_reverses_on_postgres(pool: PgPool) {
    let store = PgStorage::from_pool(pool.clone());
    assert_eq!(store.schema_version().await.unwrap(), None);
    let versions = PgStorage::migration_versions();
    round_trip(
        &versions,
        |v| {
            let store = store.clone();
            async move { store.migrate_to(v).await }
        },
        || {
            let pool = pool.clone();
            async move { postgres_schema(&pool).await }
        },
    )
    .await;
    assert_eq!(
        store.schema_version().await.unwrap(),
        versions.last().copied()
    );
}

#[tokio::test]
async fn every_migration_reverses_on_an_sqlite_file() {
    let dir = std::env::temp_dir().join(format!("splitledger-migrations-{}", uuid::Uuid::new_v4()));
    let url = format!("sqlite://{}", dir.join("ledger.db").display());
    let store = SqliteStorage::connect(&url).await.unwrap();
    let versions = SqliteStorage::migration_versions();
    let pool = store.pool().clone();
    round_trip(
        &versions,
        |v| {
            let store = store.clone();
            async move { store.migrate_to(v).await }
        },
        || {
            let pool = pool.clone();
            async move { sqlite_schema(&pool).await }
        },
    )
    .await;
    assert_eq!(
        store.schema_version().await.unwrap(),
        versions.last().copied()
    );
    pool.close().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn an_unknown_version_is_refused_and_changes_nothing() {
    let store = SqliteStorage::connect("sqlite::memory:").await.unwrap();
    store.migrate().await.unwrap();
    let before = sqlite_schema(store.pool()).await;
    let newest = store.schema_version().await.unwrap();
    let error = store.migrate_to(1).await.unwrap_err();
    let text = error.to_string();
    assert!(
        matches!(error, MigrateToError::UnknownVersion { version: 1, .. }),
        "{text}"
    );
    let first = SqliteStorage::migration_versions()[0];
    assert!(
        text.contains(&first.to_string()),
        "lists the known versions: {text}"
    );
    assert_eq!(sqlite_schema(store.pool()).await, before);
    assert_eq!(store.schema_version().await.unwrap(), newest);
}

#[tokio::test]
async fn versions_are_the_embedded_migrations_oldest_first() {
    let versions = SqliteStorage::migration_versions();
    let mut sorted = versions.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(versions, sorted);
    assert_eq!(
        versions,
        PgStorage::migration_versions(),
        "both dialects move in step"
    );
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
    let on_disk: BTreeSet<i64> = std::fs::read_dir(folder)
        .unwrap()
        .filter_map(|f| {
            let name = f.ok()?.file_name().into_string().ok()?;
            name.split('_').next()?.parse().ok()
        })
        .collect();
    assert_eq!(versions, on_disk.into_iter().collect::<Vec<_>>());
}
