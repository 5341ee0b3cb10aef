//! Receipts and comments in memory, and [`MemoryBlobs`], a [`BlobStore`] in memory.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use time::OffsetDateTime;

use super::{GroupState, MemoryStorage};
use crate::domain::{
    Activity, Attachment, AttachmentId, Comment, CommentId, Expense, ExpenseId, GroupId,
};
use crate::ledger::{Clock, SystemClock};
use crate::storage::{BlobInfo, BlobStore, CommentStore, FileStore, StorageError, StorageResult};

impl GroupState {
    /// The expense with its current attachments.
    pub(super) fn attached(&self, e: &Expense) -> Expense {
        let mut e = e.clone();
        e.attachments = (self.attachments.get(&e.id).into_iter().flatten())
            .map(Attachment::summary)
            .collect();
        e
    }
}

#[async_trait]
impl FileStore for MemoryStorage {
    #[tracing::instrument(skip_all)]
    async fn insert_attachment(
        &self,
        attachment: &Attachment,
        activity: &Activity,
    ) -> StorageResult<()> {
        let mut s = self.lock();
        let g = s.group_mut(attachment.group_id)?;
        if !g.expenses.contains_key(&attachment.expense_id) {
            return Err(StorageError::NotFound);
        }
        let list = g.attachments.entry(attachment.expense_id).or_default();
        if list.iter().any(|a| a.id == attachment.id) {
            return Err(StorageError::Conflict("id_taken"));
        }
        list.push(attachment.clone());
        g.activity.push(activity.clone());
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn attachment(
        &self,
        group: GroupId,
        expense: ExpenseId,
        id: AttachmentId,
    ) -> StorageResult<Option<Attachment>> {
        let s = self.lock();
        Ok((s.groups.get(&group))
            .and_then(|g| g.attachments.get(&expense))
            .and_then(|list| list.iter().find(|a| a.id == id))
            .cloned())
    }

    #[tracing::instrument(skip_all)]
    async fn list_attachments(
        &self,
        group: GroupId,
        expense: ExpenseId,
    ) -> StorageResult<Vec<Attachment>> {
        let s = self.lock();
        Ok((s.groups.get(&group))
            .and_then(|g| g.attachments.get(&expense))
            .cloned()
            .unwrap_or_default())
    }

    #[tracing::instrument(skip_all)]
    async fn delete_attachment(
        &self,
        group: GroupId,
        expense: ExpenseId,
        id: AttachmentId,
        activity: &Activity,
    ) -> StorageResult<()> {
        let mut s = self.lock();
        let g = s.group_mut(group)?;
        let list = g
            .attachments
            .get_mut(&expense)
            .ok_or(StorageError::NotFound)?;
        let at = (list.iter().position(|a| a.id == id)).ok_or(StorageError::NotFound)?;
        list.remove(at);
        g.activity.push(activity.clone());
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn known_attachments(
        &self,
        group: GroupId,
        ids: &[AttachmentId],
    ) -> StorageResult<Vec<AttachmentId>> {
        let s = self.lock();
        let g = s.group(group)?;
        Ok((g.attachments.values().flatten())
            .map(|a| a.id)
            .filter(|id| ids.contains(id))
            .collect())
    }
}

#[async_trait]
impl CommentStore for MemoryStorage {
    #[tracing::instrument(skip_all)]
    async fn insert_comment(&self, comment: &Comment, activity: &Activity) -> StorageResult<()> {
        let mut s = self.lock();
        let g = s.group_mut(comment.group_id)?;
        if !g.expenses.contains_key(&comment.expense_id) {
            return Err(StorageError::NotFound);
        }
        g.comments
            .entry(comment.expense_id)
            .or_default()
            .push(comment.clone());
        g.activity.push(activity.clone());
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn comment(
        &self,
        group: GroupId,
        expense: ExpenseId,
        id: CommentId,
    ) -> StorageResult<Option<Comment>> {
        let s = self.lock();
        Ok((s.groups.get(&group))
            .and_then(|g| g.comments.get(&expense))
            .and_then(|list| list.iter().find(|c| c.id == id))
            .cloned())
    }

    #[tracing::instrument(skip_all)]
    async fn list_comments(
        &self,
        group: GroupId,
        expense: ExpenseId,
    ) -> StorageResult<Vec<Comment>> {
        let s = self.lock();
        Ok((s.groups.get(&group))
            .and_then(|g| g.comments.get(&expense))
            .cloned()
            .unwrap_or_default())
    }

    async fn list_group_comments(
        &self,
        group: GroupId,
        after: Option<(OffsetDateTime, CommentId)>,
        limit: u32,
    ) -> StorageResult<Vec<Comment>> {
        let s = self.lock();
        let Some(g) = s.groups.get(&group) else {
            return Ok(Vec::new());
        };
        let mut items: Vec<Comment> = (g.comments.values().flatten())
            .filter(|c| after.is_none_or(|a| (c.created_at, c.id) > a))
            .cloned()
            .collect();
        items.sort_by_key(|c| (c.created_at, c.id));
        items.truncate(limit as usize);
        Ok(items)
    }

    #[tracing::instrument(skip_all)]
    async fn delete_comment(
        &self,
        group: GroupId,
        expense: ExpenseId,
        id: CommentId,
        activity: &Activity,
    ) -> StorageResult<()> {
        let mut s = self.lock();
        let g = s.group_mut(group)?;
        let list = g.comments.get_mut(&expense).ok_or(StorageError::NotFound)?;
        let at = (list.iter().position(|c| c.id == id)).ok_or(StorageError::NotFound)?;
        list.remove(at);
        g.activity.push(activity.clone());
        Ok(())
    }
}

/// A [`BlobStore`] in memory: the default of a [`Ledger`](crate::Ledger), for tests and
/// embedding programs that keep nothing.
pub struct MemoryBlobs {
    objects: Mutex<BTreeMap<String, (Vec<u8>, OffsetDateTime)>>,
    /// Stamps each object's write time (tests of the orphan sweep move it).
    clock: Arc<dyn Clock>,
}

impl Default for MemoryBlobs {
    fn default() -> Self {
        Self::with_clock(Arc::new(SystemClock))
    }
}

impl std::fmt::Debug for MemoryBlobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryBlobs")
    }
}

impl MemoryBlobs {
    /// An empty one.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty one that stamps writes with `clock`.
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        Self {
            objects: Mutex::new(BTreeMap::new()),
            clock,
        }
    }

    fn objects(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, (Vec<u8>, OffsetDateTime)>> {
        // Every operation is one map call: a poisoned lock still holds a consistent map.
        self.objects
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl BlobStore for MemoryBlobs {
    async fn put(&self, key: &str, bytes: Vec<u8>) -> StorageResult<()> {
        let now = self.clock.now();
        self.objects().insert(key.to_string(), (bytes, now));
        Ok(())
    }

    async fn get(&self, key: &str) -> StorageResult<Option<Vec<u8>>> {
        Ok(self.objects().get(key).map(|(bytes, _)| bytes.clone()))
    }

    async fn delete(&self, key: &str) -> StorageResult<()> {
        self.objects().remove(key);
        Ok(())
    }

    async fn delete_prefix(&self, prefix: &str) -> StorageResult<()> {
        self.objects().retain(|key, _| !key.starts_with(prefix));
        Ok(())
    }

    async fn list(&self) -> StorageResult<Vec<BlobInfo>> {
        Ok(self
            .objects()
            .iter()
            .map(|(key, (_, modified))| BlobInfo {
                key: key.clone(),
                modified: *modified,
            })
            .collect())
    }
}
