//! Write transactions, and the queue in front of them where the database has one writer.
//!
//! SQLite lets one transaction write at a time. Left to SQLite, a writer that finds the lock
//! taken sleeps in its busy handler (1, 2, 5, 10, ... up to 100 ms between tries) and may
//! oversleep the moment the lock frees: 8 clients wrote no faster than 1 and their p95 was
//! 20 times the median. So a dialect with [`Dialect::ONE_WRITER`] gives each store one
//! first-come first-served turn, taken before a connection and held until the transaction
//! ends: writers hand the lock over the moment it frees, and readers keep every pooled
//! connection while writers wait. Other processes on the same file, and single-statement
//! writes, still meet SQLite's busy handler, which stays on as the fallback.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Duration;

use sqlx::Transaction;
use tokio::sync::{Mutex, OwnedMutexGuard};

use splitledger_core::Cause;
use splitledger_core::storage::{StorageError, StorageResult};

use crate::dialect::Dialect;

/// How long a writer waits for its turn before answering `Unavailable`: SQLite's own busy
/// timeout, so a queued writer gives up when one in the busy handler would have.
const TURN_TIMEOUT: Duration = Duration::from_secs(5);

/// The turn of a store's writers (shared by its clones), where the dialect needs one.
#[derive(Debug, Clone, Default)]
pub(crate) struct Turn(Option<Arc<Mutex<()>>>);

impl Turn {
    pub(crate) fn new<D: Dialect>() -> Self {
        Self(D::ONE_WRITER.then(|| Arc::new(Mutex::new(()))))
    }

    /// Waits for this writer's turn (at once where writers need none).
    pub(crate) async fn take(&self) -> StorageResult<Option<OwnedMutexGuard<()>>> {
        let Some(turn) = &self.0 else {
            return Ok(None);
        };
        tokio::time::timeout(TURN_TIMEOUT, Arc::clone(turn).lock_owned())
            .await
            .map(Some)
            .map_err(|e| StorageError::Unavailable(Cause::new(e)))
    }
}

/// A write transaction that holds its writer's turn until it commits or is dropped.
pub(crate) struct Write<D: Dialect> {
    // Declared first so it is dropped (rolled back) before the turn is handed on.
    tx: Transaction<'static, D::Db>,
    _turn: Option<OwnedMutexGuard<()>>,
}

impl<D: Dialect> Write<D> {
    pub(crate) fn new(tx: Transaction<'static, D::Db>, turn: Option<OwnedMutexGuard<()>>) -> Self {
        Self { tx, _turn: turn }
    }

    /// Commits, then hands the turn on.
    pub(crate) async fn commit(self) -> StorageResult<()> {
        self.tx.commit().await.map_err(D::error)
    }
}

impl<D: Dialect> Deref for Write<D> {
    type Target = Transaction<'static, D::Db>;

    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl<D: Dialect> DerefMut for Write<D> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}
