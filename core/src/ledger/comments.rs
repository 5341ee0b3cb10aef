//! Comments on expenses: any member may write one; its author, an admin or the owner may
//! delete it.

use serde_json::Value;

use super::{Error, Ledger, Result, record};
use crate::domain::{Comment, CommentId, ExpenseId, GroupId, UserId};
use crate::error::{FieldError, ValidationErrors};
use crate::storage::{Storage, StorageError};

/// The longest comment, in characters.
const MAX_COMMENT: usize = 2000;

/// Trims a comment and checks it: 1 to 2,000 characters; line breaks and tabs are text,
/// other control characters are not.
pub(super) fn comment_text(text: &str) -> Result<String> {
    let text = text.trim();
    let mut errors = ValidationErrors::default();
    if text.is_empty() {
        errors.push(FieldError::new("text", "required", "must not be empty"));
    } else if text.chars().count() > MAX_COMMENT {
        errors.push(FieldError::new(
            "text",
            "too_long",
            format!("at most {MAX_COMMENT} characters"),
        ));
    } else if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
    {
        errors.push(FieldError::new(
            "text",
            "invalid_text",
            "must not contain control characters",
        ));
    }
    errors.into_result()?;
    Ok(text.to_string())
}

impl<S: Storage> Ledger<S> {
    /// An expense's comments, oldest first (any member).
    #[tracing::instrument(skip_all, fields(%actor, %group, %expense))]
    pub async fn comments(
        &self,
        actor: UserId,
        group: GroupId,
        expense: ExpenseId,
    ) -> Result<Vec<Comment>> {
        self.access(actor, group).await?;
        self.storage
            .expense(group, expense)
            .await?
            .ok_or(Error::NotFound("expense"))?;
        Ok(self.storage.list_comments(group, expense).await?)
    }

    /// Comments on an expense (any member).
    #[tracing::instrument(skip_all, fields(%actor, %group, %expense))]
    pub async fn add_comment(
        &self,
        actor: UserId,
        group: GroupId,
        expense: ExpenseId,
        text: &str,
    ) -> Result<Comment> {
        self.access(actor, group).await?;
        let text = comment_text(text)?;
        let now = self.now();
        let comment = Comment {
            id: CommentId::random(),
            group_id: group,
            expense_id: expense,
            author: actor,
            text,
            created_at: now,
        };
        let activity = record(
            group,
            actor,
            "comment.created",
            comment.id.0,
            now,
            Value::Null,
            comment.snapshot(),
        );
        match self.storage.insert_comment(&comment, &activity).await {
            Ok(()) => Ok(comment),
            Err(StorageError::NotFound) => Err(Error::NotFound("expense")),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes a comment (its author, an admin or the owner).
    #[tracing::instrument(skip_all, fields(%actor, %group, %expense))]
    pub async fn delete_comment(
        &self,
        actor: UserId,
        group: GroupId,
        expense: ExpenseId,
        id: CommentId,
    ) -> Result<()> {
        let (_, role) = self.access(actor, group).await?;
        let comment = self
            .storage
            .comment(group, expense, id)
            .await?
            .ok_or(Error::NotFound("comment"))?;
        if comment.author != actor && !role.manages() {
            return Err(Error::Forbidden(
                "only its author, an admin or the owner may delete this comment",
            ));
        }
        let activity = record(
            group,
            actor,
            "comment.deleted",
            id.0,
            self.now(),
            comment.snapshot(),
            Value::Null,
        );
        match self
            .storage
            .delete_comment(group, expense, id, &activity)
            .await
        {
            Ok(()) => Ok(()),
            Err(StorageError::NotFound) => Err(Error::NotFound("comment")),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comment_text_is_trimmed_and_bounded() {
        assert_eq!(comment_text("  thanks!\n").ok().as_deref(), Some("thanks!"));
        assert_eq!(
            comment_text("line one\nline two").ok().as_deref(),
            Some("line one\nline two")
        );
        assert!(comment_text("   ").is_err());
        assert!(comment_text("bell\u{7}").is_err());
        assert!(comment_text(&"é".repeat(2000)).is_ok());
        assert!(comment_text(&"é".repeat(2001)).is_err());
    }
}
