//! Users, sessions and the login throttle (none of them group-scoped).

use async_trait::async_trait;
use time::OffsetDateTime;

use splitledger_core::domain::{
    Email, LoginFailures, Session, TokenDigest, User, UserId, UserRecord,
};
use splitledger_core::storage::{AccountStore, StorageResult};

use super::{SqlStore, commit, found};
use crate::dialect::{Dialect, Ids, all, exec, one};
use crate::sql;

#[async_trait]
impl<D: Dialect> AccountStore for SqlStore<D> {
    #[tracing::instrument(skip_all, fields(user = %user.user.id))]
    async fn insert_user(&self, user: &UserRecord) -> StorageResult<()> {
        let c = &mut *self.conn().await?;
        exec::<D>(c, sql::INSERT_USER, user).await.map(drop)
    }

    #[tracing::instrument(skip_all)]
    async fn user_by_email(&self, email: &Email) -> StorageResult<Option<UserRecord>> {
        one::<D, _>(&mut *self.conn().await?, sql::USER_BY_EMAIL, email.as_str()).await
    }

    #[tracing::instrument(skip_all, fields(user = %id))]
    async fn user_by_id(&self, id: UserId) -> StorageResult<Option<User>> {
        one::<D, _>(&mut *self.conn().await?, sql::USER_BY_ID, id).await
    }

    #[tracing::instrument(skip_all, fields(count = ids.len()))]
    async fn users_by_id(&self, ids: &[UserId]) -> StorageResult<Vec<User>> {
        let raw: Vec<uuid::Uuid> = ids.iter().map(|u| u.0).collect();
        let users: Vec<User> =
            all::<D, _>(&mut *self.conn().await?, sql::USERS_BY_ID, Ids(&raw)).await?;
        // In the order asked for.
        Ok(ids
            .iter()
            .filter_map(|id| users.iter().find(|u| u.id == *id).cloned())
            .collect())
    }

    #[tracing::instrument(skip_all, fields(user = %user.id))]
    async fn update_user(&self, user: &User) -> StorageResult<()> {
        found(exec::<D>(&mut *self.conn().await?, sql::UPDATE_USER, user).await?)
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
        found(
            exec::<D>(
                &mut tx,
                sql::SET_PASSWORD,
                (user, password_hash, updated_at),
            )
            .await?,
        )?;
        let keep = keep.map(|k| k.0.to_vec());
        exec::<D>(&mut tx, sql::REVOKE_OTHER_SESSIONS, (user, keep)).await?;
        commit::<D>(tx).await
    }

    #[tracing::instrument(skip_all, fields(user = %session.user_id))]
    async fn insert_session(&self, session: &Session) -> StorageResult<()> {
        let s = session;
        let args = (s.digest.0.to_vec(), s.user_id, s.created_at, s.expires_at);
        exec::<D>(&mut *self.conn().await?, sql::INSERT_SESSION, args)
            .await
            .map(drop)
    }

    #[tracing::instrument(skip_all)]
    async fn session_user(
        &self,
        digest: &TokenDigest,
        now: OffsetDateTime,
    ) -> StorageResult<Option<User>> {
        let args = (digest.0.to_vec(), now);
        one::<D, _>(&mut *self.conn().await?, sql::SESSION_USER, args).await
    }

    #[tracing::instrument(skip_all)]
    async fn delete_session(&self, digest: &TokenDigest) -> StorageResult<bool> {
        let c = &mut *self.conn().await?;
        Ok(exec::<D>(c, sql::DELETE_SESSION, digest.0.to_vec()).await? > 0)
    }

    #[tracing::instrument(skip_all)]
    async fn login_failures(&self, email: &Email) -> StorageResult<LoginFailures> {
        let c = &mut *self.conn().await?;
        let row = one::<D, _>(c, sql::LOGIN_FAILURES, email.as_str()).await?;
        Ok(row.unwrap_or_default())
    }

    #[tracing::instrument(skip_all, fields(count = failures.count))]
    async fn set_login_failures(
        &self,
        email: &Email,
        failures: &LoginFailures,
    ) -> StorageResult<()> {
        let c = &mut *self.conn().await?;
        let email = email.as_str();
        if failures.count == 0 {
            exec::<D>(c, sql::CLEAR_LOGIN_FAILURES, email).await?;
        } else {
            let args = (email, i64::from(failures.count), failures.last_at);
            exec::<D>(c, sql::SET_LOGIN_FAILURES, args).await?;
        }
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(count = new.count))]
    async fn swap_login_failures(
        &self,
        email: &Email,
        expected: &LoginFailures,
        new: &LoginFailures,
    ) -> StorageResult<bool> {
        let c = &mut *self.conn().await?;
        let (email, count) = (email.as_str(), i64::from(new.count));
        let was = (i64::from(expected.count), expected.last_at);
        let done = match (expected.count, new.count) {
            // From no record to none: true if there still is none.
            (0, 0) => {
                return Ok(one::<D, LoginFailures>(c, sql::LOGIN_FAILURES, email)
                    .await?
                    .is_none());
            }
            // No record yet: the first writer creates it.
            (0, _) => exec::<D>(c, sql::CLAIM_LOGIN_FAILURES, (email, count, new.last_at)).await?,
            (_, 0) => exec::<D>(c, sql::DROP_LOGIN_FAILURES, (email, was)).await?,
            _ => {
                exec::<D>(
                    c,
                    sql::SWAP_LOGIN_FAILURES,
                    (email, was, count, new.last_at),
                )
                .await?
            }
        };
        Ok(done == 1)
    }
}
