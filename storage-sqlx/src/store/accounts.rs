//! Users, sessions and the login throttle (none of them group-scoped).

use async_trait::async_trait;
use time::OffsetDateTime;

use splitledger_core::domain::{
    Email, LoginFailures, Session, TokenDigest, User, UserId, UserRecord,
};
use splitledger_core::storage::{AccountStore, StorageError, StorageResult};

use super::{SqlStore, commit};
use crate::dialect::{Dialect, Stmt};
use crate::rows::{UserRow, convert};
use crate::sql;
use crate::types::DbTime;

#[async_trait]
impl<D: Dialect> AccountStore for SqlStore<D> {
    #[tracing::instrument(skip_all, fields(user = %user.user.id))]
    async fn insert_user(&self, user: &UserRecord) -> StorageResult<()> {
        let u = &user.user;
        Stmt::<D>::new(sql::INSERT_USER)
            .uuid(u.id.0)
            .text(u.email.as_str())
            .text(&u.display_name)
            .bind(u.default_currency.map(|c| c.code()))
            .text(&user.password_hash)
            .bind(DbTime(u.created_at))
            .bind(DbTime(u.updated_at))
            .execute(&mut *self.conn().await?)
            .await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn user_by_email(&self, email: &Email) -> StorageResult<Option<UserRecord>> {
        let row: Option<UserRow> = Stmt::<D>::new(sql::USER_BY_EMAIL)
            .text(email.as_str())
            .optional(&mut *self.conn().await?)
            .await?;
        row.map(UserRow::into_record).transpose()
    }

    #[tracing::instrument(skip_all, fields(user = %id))]
    async fn user_by_id(&self, id: UserId) -> StorageResult<Option<User>> {
        let row: Option<UserRow> = Stmt::<D>::new(sql::USER_BY_ID)
            .uuid(id.0)
            .optional(&mut *self.conn().await?)
            .await?;
        row.map(UserRow::into_user).transpose()
    }

    #[tracing::instrument(skip_all, fields(count = ids.len()))]
    async fn users_by_id(&self, ids: &[UserId]) -> StorageResult<Vec<User>> {
        let raw: Vec<uuid::Uuid> = ids.iter().map(|u| u.0).collect();
        let rows: Vec<UserRow> = Stmt::<D>::new(sql::USERS_BY_ID)
            .ids(&raw)
            .all(&mut *self.conn().await?)
            .await?;
        let users = convert(rows, UserRow::into_user)?;
        // In the order asked for.
        Ok(ids
            .iter()
            .filter_map(|id| users.iter().find(|u| u.id == *id).cloned())
            .collect())
    }

    #[tracing::instrument(skip_all, fields(user = %user.id))]
    async fn update_user(&self, user: &User) -> StorageResult<()> {
        let done = Stmt::<D>::new(sql::UPDATE_USER)
            .uuid(user.id.0)
            .text(user.email.as_str())
            .text(&user.display_name)
            .bind(user.default_currency.map(|c| c.code()))
            .bind(DbTime(user.created_at))
            .bind(DbTime(user.updated_at))
            .execute(&mut *self.conn().await?)
            .await?;
        if done == 0 {
            return Err(StorageError::NotFound);
        }
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(user = %user))]
    async fn set_password(
        &self,
        user: UserId,
        password_hash: &str,
        updated_at: OffsetDateTime,
        keep: Option<&TokenDigest>,
    ) -> StorageResult<()> {
        let mut tx = self.write().await?;
        let done = Stmt::<D>::new(sql::SET_PASSWORD)
            .uuid(user.0)
            .text(password_hash)
            .bind(DbTime(updated_at))
            .execute(&mut tx)
            .await?;
        if done == 0 {
            return Err(StorageError::NotFound);
        }
        Stmt::<D>::new(sql::REVOKE_OTHER_SESSIONS)
            .uuid(user.0)
            .bind(keep.map(|k| k.0.to_vec()))
            .execute(&mut tx)
            .await?;
        commit::<D>(tx).await
    }

    #[tracing::instrument(skip_all, fields(user = %session.user_id))]
    async fn insert_session(&self, session: &Session) -> StorageResult<()> {
        Stmt::<D>::new(sql::INSERT_SESSION)
            .bind(session.digest.0.to_vec())
            .uuid(session.user_id.0)
            .bind(DbTime(session.created_at))
            .bind(DbTime(session.expires_at))
            .execute(&mut *self.conn().await?)
            .await?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn session_user(
        &self,
        digest: &TokenDigest,
        now: OffsetDateTime,
    ) -> StorageResult<Option<User>> {
        let row: Option<UserRow> = Stmt::<D>::new(sql::SESSION_USER)
            .bind(digest.0.to_vec())
            .bind(DbTime(now))
            .optional(&mut *self.conn().await?)
            .await?;
        row.map(UserRow::into_user).transpose()
    }

    #[tracing::instrument(skip_all)]
    async fn delete_session(&self, digest: &TokenDigest) -> StorageResult<bool> {
        let done = Stmt::<D>::new(sql::DELETE_SESSION)
            .bind(digest.0.to_vec())
            .execute(&mut *self.conn().await?)
            .await?;
        Ok(done > 0)
    }

    #[tracing::instrument(skip_all)]
    async fn login_failures(&self, email: &Email) -> StorageResult<LoginFailures> {
        let row: Option<(i64, Option<DbTime>)> = Stmt::<D>::new(sql::LOGIN_FAILURES)
            .text(email.as_str())
            .optional(&mut *self.conn().await?)
            .await?;
        Ok(row.map_or_else(LoginFailures::default, |r| LoginFailures {
            count: u32::try_from(r.0).unwrap_or(u32::MAX),
            last_at: r.1.map(|t| t.0),
        }))
    }

    #[tracing::instrument(skip_all, fields(count = failures.count))]
    async fn set_login_failures(
        &self,
        email: &Email,
        failures: &LoginFailures,
    ) -> StorageResult<()> {
        let stmt = if failures.count == 0 {
            Stmt::<D>::new(sql::CLEAR_LOGIN_FAILURES).text(email.as_str())
        } else {
            Stmt::<D>::new(sql::SET_LOGIN_FAILURES)
                .text(email.as_str())
                .bind(i64::from(failures.count))
                .bind(failures.last_at.map(DbTime))
        };
        stmt.execute(&mut *self.conn().await?).await?;
        Ok(())
    }
}
