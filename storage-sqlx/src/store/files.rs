//! Receipts' metadata and comments: one statement each. Inserts name an expense that must
//! exist when they commit; the foreign key to it refuses them otherwise (`NotFound`), and
//! deleting the expense (or its group) deletes its rows with it.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use splitledger_core::domain::{
    Activity, Attachment, AttachmentId, Comment, CommentId, ExpenseId, GroupId,
};
use splitledger_core::storage::{CommentStore, FileStore, StorageResult};

use super::{SqlStore, finish, found, group_rows};
use crate::dialect::{Dialect, Ids, all, exec, one};
use crate::sql;

#[async_trait]
impl<D: Dialect> FileStore for SqlStore<D> {
    #[tracing::instrument(skip_all, fields(group = %attachment.group_id))]
    async fn insert_attachment(
        &self,
        attachment: &Attachment,
        activity: &Activity,
    ) -> StorageResult<()> {
        let mut tx = self.write().await?;
        exec::<D>(&mut tx, sql::INSERT_ATTACHMENT, attachment).await?;
        finish::<D>(tx, activity, None).await
    }

    #[tracing::instrument(skip_all, fields(group = %group))]
    async fn attachment(
        &self,
        group: GroupId,
        expense: ExpenseId,
        id: AttachmentId,
    ) -> StorageResult<Option<Attachment>> {
        let c = &mut *self.conn().await?;
        one::<D, _>(c, sql::ATTACHMENT, (group, expense, id)).await
    }

    #[tracing::instrument(skip_all, fields(group = %group))]
    async fn list_attachments(
        &self,
        group: GroupId,
        expense: ExpenseId,
    ) -> StorageResult<Vec<Attachment>> {
        all::<D, _>(&mut *self.conn().await?, sql::ATTACHMENTS, (group, expense)).await
    }

    #[tracing::instrument(skip_all, fields(group = %group))]
    async fn delete_attachment(
        &self,
        group: GroupId,
        expense: ExpenseId,
        id: AttachmentId,
        activity: &Activity,
    ) -> StorageResult<()> {
        let mut tx = self.write().await?;
        found(exec::<D>(&mut tx, sql::DELETE_ATTACHMENT, (group, expense, id)).await?)?;
        finish::<D>(tx, activity, None).await
    }

    #[tracing::instrument(skip_all, fields(group = %group, ids = ids.len()))]
    async fn known_attachments(
        &self,
        group: GroupId,
        ids: &[AttachmentId],
    ) -> StorageResult<Vec<AttachmentId>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<Uuid> = ids.iter().map(|id| id.0).collect();
        let c = &mut *self.conn().await?;
        all::<D, _>(c, sql::KNOWN_ATTACHMENTS, (group, Ids(&ids))).await
    }
}

#[async_trait]
impl<D: Dialect> CommentStore for SqlStore<D> {
    #[tracing::instrument(skip_all, fields(group = %comment.group_id))]
    async fn insert_comment(&self, comment: &Comment, activity: &Activity) -> StorageResult<()> {
        let mut tx = self.write().await?;
        exec::<D>(&mut tx, sql::INSERT_COMMENT, comment).await?;
        finish::<D>(tx, activity, None).await
    }

    #[tracing::instrument(skip_all, fields(group = %group))]
    async fn comment(
        &self,
        group: GroupId,
        expense: ExpenseId,
        id: CommentId,
    ) -> StorageResult<Option<Comment>> {
        one::<D, _>(&mut *self.conn().await?, sql::COMMENT, (group, expense, id)).await
    }

    #[tracing::instrument(skip_all, fields(group = %group))]
    async fn list_comments(
        &self,
        group: GroupId,
        expense: ExpenseId,
    ) -> StorageResult<Vec<Comment>> {
        all::<D, _>(&mut *self.conn().await?, sql::COMMENTS, (group, expense)).await
    }

    #[tracing::instrument(skip_all, fields(group = %group, limit))]
    async fn list_group_comments(
        &self,
        group: GroupId,
        after: Option<(OffsetDateTime, CommentId)>,
        limit: u32,
    ) -> StorageResult<Vec<Comment>> {
        let rest = (after.map(|a| a.0), after.map(|a| a.1), limit);
        group_rows::<D, _>(&mut *self.conn().await?, sql::GROUP_COMMENTS, group, rest).await
    }

    #[tracing::instrument(skip_all, fields(group = %group))]
    async fn delete_comment(
        &self,
        group: GroupId,
        expense: ExpenseId,
        id: CommentId,
        activity: &Activity,
    ) -> StorageResult<()> {
        let mut tx = self.write().await?;
        found(exec::<D>(&mut tx, sql::DELETE_COMMENT, (group, expense, id)).await?)?;
        finish::<D>(tx, activity, None).await
    }
}
