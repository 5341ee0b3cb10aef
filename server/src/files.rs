//! Where attachments' bytes are kept: core's [`BlobStore`] over the `object_store` crate (a
//! local folder, or S3-compatible storage), chosen once at start from `--files-url`, and
//! the timer that sweeps files no attachment names.

use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use splitledger_core::storage::{BlobInfo, BlobStore, StorageError, StorageResult};
use splitledger_core::{Cause, Ledger, Storage};
use time::OffsetDateTime;

use crate::settings::Settings;
use crate::startup::StartupError;

/// A file no row names is removed only once it is older than this, so an upload between
/// writing its file and committing its row is never taken for an orphan.
pub const SWEEP_GRACE: Duration = Duration::from_secs(3600);

/// How often each server sweeps (and once at start).
pub const SWEEP_EVERY: Duration = Duration::from_secs(3600);

/// The default folder's name.
const DEFAULT_FOLDER: &str = "splitledger-files";

/// A [`BlobStore`] over any object store.
#[derive(Debug, Clone)]
pub struct ObjectBlobs {
    store: Arc<dyn ObjectStore>,
}

impl ObjectBlobs {
    /// Over an object store (keys are used as its paths).
    pub fn new(store: Arc<dyn ObjectStore>) -> Self {
        Self { store }
    }

    /// A local folder, created if missing.
    pub fn folder(folder: &FsPath) -> Result<Self, object_store::Error> {
        std::fs::create_dir_all(folder).map_err(|source| object_store::Error::Generic {
            store: "LocalFileSystem",
            source: Box::new(source),
        })?;
        Ok(Self::new(Arc::new(LocalFileSystem::new_with_prefix(
            folder,
        )?)))
    }
}

fn failed(error: object_store::Error) -> StorageError {
    StorageError::Internal(Cause::new(error))
}

#[async_trait]
impl BlobStore for ObjectBlobs {
    async fn put(&self, key: &str, bytes: Vec<u8>) -> StorageResult<()> {
        self.store
            .put(&Path::from(key), PutPayload::from(bytes))
            .await
            .map(drop)
            .map_err(failed)
    }

    async fn get(&self, key: &str) -> StorageResult<Option<Vec<u8>>> {
        match self.store.get(&Path::from(key)).await {
            Ok(found) => Ok(Some(found.bytes().await.map_err(failed)?.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(failed(e)),
        }
    }

    async fn delete(&self, key: &str) -> StorageResult<()> {
        match self.store.delete(&Path::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(failed(e)),
        }
    }

    async fn delete_prefix(&self, prefix: &str) -> StorageResult<()> {
        let prefix = Path::from(prefix.trim_end_matches('/'));
        let found: Vec<_> = self
            .store
            .list(Some(&prefix))
            .try_collect()
            .await
            .map_err(failed)?;
        for object in found {
            match self.store.delete(&object.location).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(failed(e)),
            }
        }
        Ok(())
    }

    async fn list(&self) -> StorageResult<Vec<BlobInfo>> {
        let found: Vec<_> = self.store.list(None).try_collect().await.map_err(failed)?;
        found
            .into_iter()
            .map(|object| {
                let nanos = i128::from(object.last_modified.timestamp()) * 1_000_000_000
                    + i128::from(object.last_modified.timestamp_subsec_nanos());
                let modified = OffsetDateTime::from_unix_timestamp_nanos(nanos)
                    .map_err(|e| StorageError::Internal(Cause::new(e)))?;
                Ok(BlobInfo {
                    key: object.location.to_string(),
                    modified,
                })
            })
            .collect()
    }
}

/// The folder used when `--files-url` is not set: `splitledger-files` beside the SQLite
/// file, or in the working directory.
pub fn default_folder(database_url: &str) -> PathBuf {
    let beside = crate::stores::sqlite_file(database_url)
        .and_then(|file| file.parent().map(FsPath::to_path_buf));
    let base = beside
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_default();
    base.join(DEFAULT_FOLDER)
}

fn files_error(url: &str, why: impl std::fmt::Display) -> StartupError {
    StartupError::Files(format!("{url}: {why}"))
}

/// The blob store the settings name (see [`Settings::files_url`]).
pub fn open(settings: &Settings) -> Result<Arc<dyn BlobStore>, StartupError> {
    let Some(url) = settings.files_url.as_deref() else {
        let db = settings.database_url.as_str();
        if db == "memory:" || db == "memory://" {
            tracing::warn!("attachments are kept in memory: nothing will be kept");
            return Ok(Arc::new(splitledger_core::memory::MemoryBlobs::new()));
        }
        let folder = default_folder(db);
        tracing::info!(folder = %folder.display(), "attachments kept in a folder (created if missing)");
        return ObjectBlobs::folder(&folder)
            .map(|b| Arc::new(b) as Arc<dyn BlobStore>)
            .map_err(|e| files_error(&folder.display().to_string(), e));
    };
    if let Some(rest) = url.strip_prefix("s3://") {
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(files_error(url, "no bucket named"));
        }
        let s3 = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .build()
            .map_err(|e| files_error(url, e))?;
        let prefix = prefix.trim_matches('/');
        tracing::info!(bucket, prefix, "attachments kept in S3");
        let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
            Arc::new(s3)
        } else {
            Arc::new(PrefixStore::new(s3, prefix))
        };
        return Ok(Arc::new(ObjectBlobs::new(store)));
    }
    if let Some(path) = url.strip_prefix("file://") {
        let folder = PathBuf::from(path);
        if !folder.is_absolute() {
            return Err(files_error(url, "a file:// URL names an absolute folder"));
        }
        tracing::info!(folder = %folder.display(), "attachments kept in a folder (created if missing)");
        return ObjectBlobs::folder(&folder)
            .map(|b| Arc::new(b) as Arc<dyn BlobStore>)
            .map_err(|e| files_error(url, e));
    }
    Err(files_error(url, "use file:///FOLDER or s3://BUCKET/PREFIX"))
}

/// Sweeps orphan files now and then every [`SWEEP_EVERY`], for as long as the runtime
/// runs. Failures are logged and retried at the next turn.
pub fn spawn_sweeper<S: Storage>(ledger: Ledger<S>) {
    tokio::spawn(async move {
        loop {
            if let Err(e) = ledger.sweep_files(SWEEP_GRACE).await {
                tracing::warn!(error = %e, "the sweep of orphan files failed; retrying later");
            }
            tokio::time::sleep(SWEEP_EVERY).await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_folder_sits_beside_the_database() {
        let folder = default_folder("sqlite:///var/lib/splitledger/ledger.db?mode=rwc");
        assert_eq!(
            folder,
            PathBuf::from("/var/lib/splitledger/splitledger-files")
        );
        let here = default_folder("postgres://u@h/db");
        assert!(here.is_absolute() && here.ends_with(DEFAULT_FOLDER));
    }

    #[test]
    fn unknown_schemes_are_refused() {
        let mut s = Settings::defaults();
        s.files_url = Some("ftp://example.com/x".into());
        assert!(open(&s).is_err());
        s.files_url = Some("file://relative/path".into());
        assert!(open(&s).is_err());
        s.files_url = Some("s3:///prefix".into());
        assert!(open(&s).is_err());
    }
}
