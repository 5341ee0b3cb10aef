//! Receipts: attachment metadata in the store, bytes in a [`BlobStore`].
//!
//! The two are not one transaction, so the order of steps keeps them consistent: a file is
//! written before the row that names it commits (a failed insert deletes it again), and a
//! row is deleted before its file (the deletion of the file follows the commit). What a
//! crash can leave behind is only ever a file no row names, which
//! [`Ledger::sweep_files`](crate::Ledger::sweep_files) removes once it is older than a grace
//! period (so an upload still between its two steps survives).

use async_trait::async_trait;
use time::OffsetDateTime;

use super::StorageResult;
use crate::domain::{Activity, Attachment, AttachmentId, ExpenseId, GroupId};

/// Attachment metadata.
#[async_trait]
pub trait FileStore: Send + Sync + 'static {
    /// Adds an attachment's row with its activity entry; `NotFound` if the expense is not
    /// (or no longer) in the group when it commits.
    async fn insert_attachment(
        &self,
        attachment: &Attachment,
        activity: &Activity,
    ) -> StorageResult<()>;
    /// An attachment of an expense.
    async fn attachment(
        &self,
        group: GroupId,
        expense: ExpenseId,
        id: AttachmentId,
    ) -> StorageResult<Option<Attachment>>;
    /// An expense's attachments, oldest first (empty for an unknown expense).
    async fn list_attachments(
        &self,
        group: GroupId,
        expense: ExpenseId,
    ) -> StorageResult<Vec<Attachment>>;
    /// Deletes an attachment's row with its activity entry; `NotFound` if it is gone.
    async fn delete_attachment(
        &self,
        group: GroupId,
        expense: ExpenseId,
        id: AttachmentId,
        activity: &Activity,
    ) -> StorageResult<()>;
    /// Which of `ids` name an attachment of the group (for the sweep of orphan files).
    async fn known_attachments(
        &self,
        group: GroupId,
        ids: &[AttachmentId],
    ) -> StorageResult<Vec<AttachmentId>>;
}

/// A stored object: its key and when it was last written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobInfo {
    /// The key (`GROUP/EXPENSE/ID` for receipts).
    pub key: String,
    /// When it was written.
    pub modified: OffsetDateTime,
}

/// Where file bytes are kept: a local folder or S3 in the server (over the `object_store`
/// crate), memory for tests and embedding programs that keep nothing. Keys are
/// `/`-separated text made of ids.
#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Writes an object whole (atomically: a reader never sees half of it).
    async fn put(&self, key: &str, bytes: Vec<u8>) -> StorageResult<()>;
    /// An object's bytes, if it exists.
    async fn get(&self, key: &str) -> StorageResult<Option<Vec<u8>>>;
    /// Deletes an object; deleting a missing one is not an error.
    async fn delete(&self, key: &str) -> StorageResult<()>;
    /// Deletes every object whose key starts with `prefix` (which ends with `/`).
    async fn delete_prefix(&self, prefix: &str) -> StorageResult<()>;
    /// Every object.
    async fn list(&self) -> StorageResult<Vec<BlobInfo>>;
}
