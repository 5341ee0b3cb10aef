//! `splitledger-server migrate [--to VERSION]`, the binary itself over an SQLite file: down
//! to the first version, back up to the newest, and a clear refusal of an unknown version.

use std::path::Path;
use std::process::Output;

use splitledger_storage_sqlx::SqliteStorage;

fn migrate(database: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_splitledger-server"))
        .arg("migrate")
        .args(args)
        .env("DATABASE_URL", format!("sqlite://{}", database.display()))
        .env("LOG_FORMAT", "text")
        .output()
        .unwrap_or_else(|e| panic!("run the binary: {e}"))
}

async fn version(database: &Path) -> Option<i64> {
    let store = SqliteStorage::connect(&format!("sqlite://{}", database.display()))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let version = store
        .schema_version()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store.pool().close().await;
    version
}

#[tokio::test]
async fn migrate_moves_the_schema_down_and_up_and_refuses_unknown_versions() {
    let dir = std::env::temp_dir().join(format!("splitledger-migrate-{}", uuid::Uuid::new_v4()));
    let database = dir.join("ledger.db");
    let versions = SqliteStorage::migration_versions();
    let (first, newest) = (versions[0], versions[versions.len() - 1]);

    let out = migrate(&database, &[]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(version(&database).await, Some(newest));

    let out = migrate(&database, &["--to", &first.to_string()]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(version(&database).await, Some(first));

    let out = migrate(&database, &["--to", "20200101000000"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no migration has version 20200101000000")
            && stderr.contains(&newest.to_string()),
        "{stderr}"
    );
    assert_eq!(version(&database).await, Some(first), "nothing moved");

    let out = migrate(&database, &["--to", &newest.to_string()]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(version(&database).await, Some(newest));
    let _ = std::fs::remove_dir_all(dir);
}
