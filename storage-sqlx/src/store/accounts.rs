//! Users, sessions, the login throttle, OpenID Connect identities and logins under way (none
//! of them group-scoped).

use async_trait::async_trait;
use time::OffsetDateTime;

use splitledger_core::domain::{
    Email, Identity, LoginFailures, PendingLogin, Session, TokenDigest, User, UserId, UserRecord,
};
use splitledger_core::storage::{AccountStore, StorageResult};

use super::{SqlStore, found};
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
        one::<D, _>(&mut *self.conn().await?, sql::USER_BY_EMAIL, email).await
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
        let args = (user, password_hash, updated_at);
        found(exec::<D>(&mut tx, sql::SET_PASSWORD, args).await?)?;
        exec::<D>(&mut tx, sql::REVOKE_OTHER_SESSIONS, (user, keep)).await?;
        tx.commit().await
    }

    #[tracing::instrument(skip_all, fields(user = %session.user_id))]
    async fn insert_session(&self, session: &Session) -> StorageResult<()> {
        let c = &mut *self.conn().await?;
        exec::<D>(c, sql::INSERT_SESSION, session).await.map(drop)
    }

    #[tracing::instrument(skip_all)]
    async fn session_user(
        &self,
        digest: &TokenDigest,
        now: OffsetDateTime,
    ) -> StorageResult<Option<User>> {
        one::<D, _>(&mut *self.conn().await?, sql::SESSION_USER, (digest, now)).await
    }

    #[tracing::instrument(skip_all)]
    async fn delete_session(&self, digest: &TokenDigest) -> StorageResult<bool> {
        Ok(exec::<D>(&mut *self.conn().await?, sql::DELETE_SESSION, digest).await? > 0)
    }

    #[tracing::instrument(skip_all)]
    async fn login_failures(&self, email: &Email) -> StorageResult<LoginFailures> {
        let row = one::<D, _>(&mut *self.conn().await?, sql::LOGIN_FAILURES, email).await?;
        Ok(row.unwrap_or_default())
    }

    #[tracing::instrument(skip_all, fields(count = failures.count))]
    async fn set_login_failures(
        &self,
        email: &Email,
        failures: &LoginFailures,
    ) -> StorageResult<()> {
        let c = &mut *self.conn().await?;
        match failures.count {
            0 => exec::<D>(c, sql::CLEAR_LOGIN_FAILURES, email).await,
            _ => exec::<D>(c, sql::SET_LOGIN_FAILURES, (email, failures)).await,
        }
        .map(drop)
    }

    #[tracing::instrument(skip_all, fields(count = new.count))]
    async fn swap_login_failures(
        &self,
        email: &Email,
        expected: &LoginFailures,
        new: &LoginFailures,
    ) -> StorageResult<bool> {
        let c = &mut *self.conn().await?;
        let done = match (expected.count, new.count) {
            // From no record to none: true if there still is none.
            (0, 0) => {
                let row: Option<LoginFailures> = one::<D, _>(c, sql::LOGIN_FAILURES, email).await?;
                return Ok(row.is_none());
            }
            // No record yet: the first writer creates it.
            (0, _) => exec::<D>(c, sql::CLAIM_LOGIN_FAILURES, (email, new)).await?,
            (_, 0) => exec::<D>(c, sql::DROP_LOGIN_FAILURES, (email, expected)).await?,
            _ => exec::<D>(c, sql::SWAP_LOGIN_FAILURES, (email, expected, new)).await?,
        };
        Ok(done == 1)
    }

    #[tracing::instrument(skip_all)]
    async fn user_by_identity(&self, issuer: &str, subject: &str) -> StorageResult<Option<User>> {
        one::<D, _>(
            &mut *self.conn().await?,
            sql::IDENTITY_USER,
            (issuer, subject),
        )
        .await
    }

    #[tracing::instrument(skip_all, fields(user = %identity.user_id))]
    async fn insert_identity(&self, identity: &Identity) -> StorageResult<()> {
        let c = &mut *self.conn().await?;
        exec::<D>(c, sql::INSERT_IDENTITY, identity).await.map(drop)
    }

    #[tracing::instrument(skip_all, fields(user = %user.user.id))]
    async fn insert_user_with_identity(
        &self,
        user: &UserRecord,
        identity: &Identity,
    ) -> StorageResult<()> {
        let mut tx = self.write().await?;
        exec::<D>(&mut tx, sql::INSERT_USER, user).await?;
        exec::<D>(&mut tx, sql::INSERT_IDENTITY, identity).await?;
        tx.commit().await
    }

    #[tracing::instrument(skip_all, fields(provider = %login.provider))]
    async fn insert_pending_login(
        &self,
        login: &PendingLogin,
        now: OffsetDateTime,
    ) -> StorageResult<()> {
        let c = &mut *self.conn().await?;
        // Abandoned logins go here, so the table holds at most a few minutes of them.
        exec::<D>(c, sql::FORGET_PENDING_LOGINS, now).await?;
        exec::<D>(c, sql::INSERT_PENDING_LOGIN, login)
            .await
            .map(drop)
    }

    #[tracing::instrument(skip_all)]
    async fn take_pending_login(
        &self,
        state: &TokenDigest,
        now: OffsetDateTime,
    ) -> StorageResult<Option<PendingLogin>> {
        let c = &mut *self.conn().await?;
        let login: Option<PendingLogin> = one::<D, _>(c, sql::TAKE_PENDING_LOGIN, state).await?;
        Ok(login.filter(|l| l.expires_at > now))
    }
}
