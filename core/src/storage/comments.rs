//! Comments on expenses.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::StorageResult;
use crate::domain::{Activity, Comment, CommentId, ExpenseId, GroupId};

/// Comments, per expense.
#[async_trait]
pub trait CommentStore: Send + Sync + 'static {
    /// Adds a comment with its activity entry; `NotFound` if the expense is not (or no
    /// longer) in the group when it commits.
    async fn insert_comment(&self, comment: &Comment, activity: &Activity) -> StorageResult<()>;
    /// A comment on an expense.
    async fn comment(
        &self,
        group: GroupId,
        expense: ExpenseId,
        id: CommentId,
    ) -> StorageResult<Option<Comment>>;
    /// An expense's comments, oldest first (empty for an unknown expense).
    async fn list_comments(
        &self,
        group: GroupId,
        expense: ExpenseId,
    ) -> StorageResult<Vec<Comment>>;
    /// Up to `limit` comments of the whole group, oldest first by `(created_at, id)`,
    /// after `after` (for exports, which read a page at a time).
    async fn list_group_comments(
        &self,
        group: GroupId,
        after: Option<(OffsetDateTime, CommentId)>,
        limit: u32,
    ) -> StorageResult<Vec<Comment>>;
    /// Deletes a comment with its activity entry; `NotFound` if it is gone.
    async fn delete_comment(
        &self,
        group: GroupId,
        expense: ExpenseId,
        id: CommentId,
        activity: &Activity,
    ) -> StorageResult<()>;
}
