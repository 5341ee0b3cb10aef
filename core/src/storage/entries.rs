//! Entries: expenses and settlements, written whole.
//!
//! A store is handed entries, never deltas. Inside its transaction it locks what it replaces,
//! computes `effect(new) − effect(old)` with [`Effect::change`](crate::entry::Effect::change)
//! and applies that to its running totals and pair totals.

use async_trait::async_trait;
use uuid::Uuid;

use super::StorageResult;
use crate::domain::{
    Activity, Conversion, ConversionId, DatedCursor, Expense, ExpenseFilter, ExpenseId, GroupId,
    Settlement, SettlementId, UserId,
};
use crate::entry::{Entry, EntryKey};

/// An idempotency key sent with a create: unique per (group, user, key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    /// Who sent the request.
    pub user_id: UserId,
    /// The client's key.
    pub key: String,
}

/// A new entry with everything written alongside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryWrite {
    /// The entry (version 1).
    pub entry: Entry,
    /// A digest of the request that created it, kept with its id and its idempotency key so
    /// a replay can be told from a different request.
    pub fingerprint: String,
    /// The activity entry.
    pub activity: Activity,
    /// The idempotency key, when the client sent one.
    pub idempotency: Option<IdempotencyKey>,
}

/// An edit: the entry's new state, applied only if the stored version is `expected_version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryReplace {
    /// The new state (its version is `expected_version + 1`).
    pub entry: Entry,
    /// The version the edit was based on.
    pub expected_version: i64,
    /// The activity entry.
    pub activity: Activity,
}

/// Which earlier write a create ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    /// The same idempotency key (same group and sender).
    Key,
    /// The same entry id, in this group.
    Id,
}

/// What a create did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inserted {
    /// The entry was written.
    Created,
    /// An earlier write holds the key or the id: nothing was written; here is what it
    /// recorded, for the Ledger to tell a replay (same fingerprint) from a reuse.
    Existing {
        /// What matched.
        by: Replay,
        /// The earlier request's fingerprint.
        fingerprint: String,
        /// The id of the entry the earlier request created.
        id: Uuid,
    },
}

/// Decides, on the locked current state of an entry, whether it may be deleted, and with
/// which activity entry. It runs inside the store's transaction, so the rule is checked
/// against exactly what is deleted (no read-then-retry); a refusal is
/// [`StorageError::Refused`](super::StorageError::Refused) and writes nothing.
pub type DeleteGuard<'a> = dyn Fn(&Entry) -> StorageResult<Activity> + Send + Sync + 'a;

/// Expenses and settlements.
#[async_trait]
pub trait EntryStore: Send + Sync + 'static {
    /// Adds an entry with its activity entry and its effect on the totals. An idempotency key
    /// or an id used before answers [`Inserted::Existing`] and writes nothing; an id used in
    /// another group is `Conflict("id_taken")`; `NotMember` if a participant is not a member
    /// at commit time; `Overflow` if a running total would leave its bound. A conversion is
    /// written only if, at commit time, it moves exactly the nets and settles exactly the
    /// debts its currency holds (so that currency ends at zero): otherwise
    /// `Conflict("balances_changed")` (another write came between; read again and retry).
    async fn insert_entry(&self, write: &EntryWrite) -> StorageResult<Inserted>;
    /// Replaces an entry: `NotFound`, `StaleVersion` if the stored version is not the
    /// expected one, `Overflow` as for inserts. `NotMember` only when the participant rows
    /// change (`!old.same_rows(new)`): an edit of the text or date alone stays
    /// possible after a participant has left.
    async fn replace_entry(&self, replace: &EntryReplace) -> StorageResult<()>;
    /// Deletes an entry if `guard` allows it on the locked row; returns what was deleted.
    /// `NotFound`, or the guard's refusal.
    async fn delete_entry(&self, key: EntryKey, guard: &DeleteGuard<'_>) -> StorageResult<Entry>;

    /// An expense of a group.
    async fn expense(&self, group: GroupId, id: ExpenseId) -> StorageResult<Option<Expense>>;
    /// A page of a group's expenses, newest `occurred_on` first, then newest created.
    async fn list_expenses(
        &self,
        group: GroupId,
        filter: &ExpenseFilter,
        after: Option<&DatedCursor>,
        limit: u32,
    ) -> StorageResult<Vec<Expense>>;
    /// A settlement of a group.
    async fn settlement(
        &self,
        group: GroupId,
        id: SettlementId,
    ) -> StorageResult<Option<Settlement>>;
    /// A page of a group's settlements, newest first (same order as expenses).
    async fn list_settlements(
        &self,
        group: GroupId,
        after: Option<&DatedCursor>,
        limit: u32,
    ) -> StorageResult<Vec<Settlement>>;
    /// A conversion of a group.
    async fn conversion(
        &self,
        group: GroupId,
        id: ConversionId,
    ) -> StorageResult<Option<Conversion>>;
    /// A page of a group's conversions, newest first (same order as expenses).
    async fn list_conversions(
        &self,
        group: GroupId,
        after: Option<&DatedCursor>,
        limit: u32,
    ) -> StorageResult<Vec<Conversion>>;
}
