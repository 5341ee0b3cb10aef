//! `/groups/{group_id}/expenses/{expense_id}/comments`.

use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use time::OffsetDateTime;
use uuid::Uuid;

use splitledger_core::Storage;
use splitledger_core::domain::{Comment, CommentId, ExpenseId, GroupId};
use splitledger_core::ledger::Ledger;

use super::models::CommentText;
use super::{ApiResult, ApiTags, NoContent};
use crate::security::Auth;

/// `/groups/{group_id}/expenses/{expense_id}/comments`.
#[derive(Debug)]
pub struct CommentsApi<S> {
    pub(crate) ledger: Ledger<S>,
}

/// A new comment.
#[derive(Debug, Clone, Object)]
pub struct NewCommentBody {
    /// 1 to 2,000 characters once trimmed; line breaks are kept.
    pub text: CommentText,
}

/// A comment.
#[derive(Debug, Clone, Object)]
pub struct CommentBody {
    /// Id.
    pub id: Uuid,
    /// Who wrote it.
    pub author: Uuid,
    /// What they wrote.
    pub text: String,
    /// When.
    pub created_at: OffsetDateTime,
}

impl From<Comment> for CommentBody {
    fn from(c: Comment) -> Self {
        Self {
            id: c.id.0,
            author: c.author.0,
            text: c.text,
            created_at: c.created_at,
        }
    }
}

/// A comment written.
#[derive(Debug, ApiResponse)]
pub enum CommentCreated {
    /// Written.
    #[oai(status = 201)]
    Created(Json<CommentBody>),
}

#[OpenApi(tag = "ApiTags::Comments")]
impl<S: Storage> CommentsApi<S> {
    /// An expense's comments, oldest first (a bare array).
    #[oai(
        path = "/groups/:group_id/expenses/:expense_id/comments",
        method = "get"
    )]
    async fn list(
        &self,
        auth: Auth,
        /// The group's id.
        group_id: Path<Uuid>,
        /// The expense's id.
        expense_id: Path<Uuid>,
    ) -> ApiResult<Json<Vec<CommentBody>>> {
        let list = self
            .ledger
            .comments(auth.user_id(), GroupId(group_id.0), ExpenseId(expense_id.0))
            .await?;
        Ok(Json(list.into_iter().map(Into::into).collect()))
    }

    /// Comment on an expense (any member).
    #[oai(
        path = "/groups/:group_id/expenses/:expense_id/comments",
        method = "post"
    )]
    async fn create(
        &self,
        auth: Auth,
        /// The group's id.
        group_id: Path<Uuid>,
        /// The expense's id.
        expense_id: Path<Uuid>,
        body: Json<NewCommentBody>,
    ) -> ApiResult<CommentCreated> {
        let comment = self
            .ledger
            .add_comment(
                auth.user_id(),
                GroupId(group_id.0),
                ExpenseId(expense_id.0),
                &body.0.text.0,
            )
            .await?;
        Ok(CommentCreated::Created(Json(comment.into())))
    }

    /// Delete a comment (its author, an admin or the owner).
    #[oai(
        path = "/groups/:group_id/expenses/:expense_id/comments/:comment_id",
        method = "delete"
    )]
    async fn delete(
        &self,
        auth: Auth,
        /// The group's id.
        group_id: Path<Uuid>,
        /// The expense's id.
        expense_id: Path<Uuid>,
        /// The comment's id.
        comment_id: Path<Uuid>,
    ) -> ApiResult<NoContent> {
        self.ledger
            .delete_comment(
                auth.user_id(),
                GroupId(group_id.0),
                ExpenseId(expense_id.0),
                CommentId(comment_id.0),
            )
            .await?;
        Ok(NoContent::Done)
    }
}
