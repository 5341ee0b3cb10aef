//! The storage contract: the product's atomic steps, split into role traits.
//!
//! - [`AccountStore`]: users, sessions, login throttling;
//! - [`GroupStore`]: groups, members, invites;
//! - [`EntryStore`]: expenses and settlements (every entry that moves a balance);
//! - [`ReportStore`]: running totals, summaries, activity, and the readiness ping;
//! - [`SeriesStore`]: recurring series and the occurrences they make;
//! - [`FileStore`]: receipts' metadata (their bytes are a [`BlobStore`]'s);
//! - [`CommentStore`]: comments on expenses;
//! - [`ImportStore`]: a whole imported file in one transaction.
//!
//! [`Storage`] is every type that has them all. A backend makes every call atomic (one
//! transaction): an entry with its participant rows, its running-total changes and its
//! activity entry commit together or not at all. The [`Ledger`](crate::Ledger) decides *what*
//! to write (validation, allocation, permissions, the activity entry); a store is handed the
//! entry itself and applies its effect with core's [`Effect::change`](crate::entry::Effect),
//! against the rows it locked, so the arithmetic lives in one place for every backend.
//! Stores also enforce, inside the same transaction, the rules that a race could otherwise
//! break: participants must be current members when the write commits, a member with a
//! non-zero balance cannot be removed, an edit must name the current version.
//!
//! Every group-scoped call names its group, and a store bounds every query by it: it is the
//! distribution key when one database is not enough.

mod accounts;
mod comments;
mod entries;
mod files;
mod groups;
mod imports;
mod recurring;
mod reports;

pub use accounts::AccountStore;
pub use comments::CommentStore;
pub use entries::{
    DeleteGuard, EntryReplace, EntryStore, EntryWrite, IdempotencyKey, Inserted, Replay,
};
pub use files::{BlobInfo, BlobStore, FileStore};
pub use groups::{GroupQuery, GroupStore};
pub use imports::{ImportStore, ImportWrite, NewPlaceholder};
pub use recurring::{SeriesStore, SeriesUpdate};
pub use reports::ReportStore;

use crate::domain::{Conversion, Expense, ExpenseFilter, GroupId, Settlement, UserId};
use crate::error::Cause;

/// What a store reports when a call fails.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// The row to change does not exist (or not in that group).
    #[error("not found")]
    NotFound,
    /// A uniqueness rule refused the write; the code names it (`email_taken`,
    /// `already_member`, `id_taken`, ...).
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// The entry's version is not the one the edit names.
    #[error("stale version (now {current})")]
    StaleVersion {
        /// The version stored now.
        current: i64,
    },
    /// A participant is not (or no longer) a member of the group.
    #[error("{0} is not a member of the group")]
    NotMember(UserId),
    /// The member still has a non-zero balance in some currency.
    #[error("the member's balance is not zero")]
    BalanceNotZero,
    /// A running total would leave its bound (±10^18 minor units).
    #[error("a running total would leave its bound")]
    Overflow,
    /// The caller's guard refused the change after seeing the locked row (see
    /// [`DeleteGuard`]); the text says why, for people.
    #[error("refused: {0}")]
    Refused(&'static str),
    /// The database cannot be reached.
    #[error("storage unavailable")]
    Unavailable(#[source] Cause),
    /// Anything else; the cause is for logs only.
    #[error("storage failure")]
    Internal(#[source] Cause),
}

impl StorageError {
    /// An internal failure that is only a message.
    pub fn internal(text: impl Into<String>) -> Self {
        Self::Internal(Cause::msg(text))
    }
}

/// Result of a storage call.
pub type StorageResult<T> = Result<T, StorageError>;

/// Everything splitledger stores: every role.
pub trait Storage:
    AccountStore
    + GroupStore
    + EntryStore
    + ReportStore
    + SeriesStore
    + FileStore
    + CommentStore
    + ImportStore
{
}

impl<T> Storage for T where
    T: AccountStore
        + GroupStore
        + EntryStore
        + ReportStore
        + SeriesStore
        + FileStore
        + CommentStore
        + ImportStore
{
}

/// Page size of [`all_expenses`], [`all_settlements`] and [`all_conversions`].
const DRAIN_BATCH: u32 = 500;

// Plain loops rather than one generic helper over an async closure: the futures of such
// closures are not provably `Send`, and the server runs these on a multi-threaded runtime.

/// Every expense of a group, newest first, read through the store's own pages (for exports
/// and for recomputing totals).
pub async fn all_expenses<S: EntryStore + ?Sized>(
    storage: &S,
    group: GroupId,
) -> StorageResult<Vec<Expense>> {
    let filter = ExpenseFilter::default();
    let mut all: Vec<Expense> = Vec::new();
    loop {
        let after = all.last().map(Expense::cursor);
        let batch = storage
            .list_expenses(group, &filter, after.as_ref(), DRAIN_BATCH)
            .await?;
        let done = batch.len() < DRAIN_BATCH as usize;
        all.extend(batch);
        if done {
            return Ok(all);
        }
    }
}

/// Every conversion of a group, newest first, read through the store's own pages.
pub async fn all_conversions<S: EntryStore + ?Sized>(
    storage: &S,
    group: GroupId,
) -> StorageResult<Vec<Conversion>> {
    let mut all: Vec<Conversion> = Vec::new();
    loop {
        let after = all.last().map(Conversion::cursor);
        let batch = storage
            .list_conversions(group, after.as_ref(), DRAIN_BATCH)
            .await?;
        let done = batch.len() < DRAIN_BATCH as usize;
        all.extend(batch);
        if done {
            return Ok(all);
        }
    }
}

/// Every settlement of a group, newest first, read through the store's own pages.
pub async fn all_settlements<S: EntryStore + ?Sized>(
    storage: &S,
    group: GroupId,
) -> StorageResult<Vec<Settlement>> {
    let mut all: Vec<Settlement> = Vec::new();
    loop {
        let after = all.last().map(Settlement::cursor);
        let batch = storage
            .list_settlements(group, after.as_ref(), DRAIN_BATCH)
            .await?;
        let done = batch.len() < DRAIN_BATCH as usize;
        all.extend(batch);
        if done {
            return Ok(all);
        }
    }
}
