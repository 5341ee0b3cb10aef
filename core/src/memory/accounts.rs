use async_trait::async_trait;
use time::OffsetDateTime;

use super::MemoryStorage;
use crate::domain::{
    Email, Identity, LoginFailures, PendingLogin, Session, TokenDigest, User, UserId, UserRecord,
};
use crate::storage::{AccountStore, StorageError, StorageResult};

#[async_trait]
impl AccountStore for MemoryStorage {
    #[tracing::instrument(skip_all)]
    async fn insert_user(&self, user: &UserRecord) -> StorageResult<()> {
        let mut s = self.lock();
        if s.emails.contains_key(&user.user.email) {
            return Err(StorageError::Conflict("email_taken"));
        }
        s.emails.insert(user.user.email.clone(), user.user.id);
        s.users.insert(user.user.id, user.clone());
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn user_by_email(&self, email: &Email) -> StorageResult<Option<UserRecord>> {
        let s = self.lock();
        Ok(s.emails.get(email).and_then(|id| s.users.get(id)).cloned())
    }

    #[tracing::instrument(skip_all)]
    async fn user_by_id(&self, id: UserId) -> StorageResult<Option<User>> {
        Ok(self.lock().users.get(&id).map(|r| r.user.clone()))
    }

    #[tracing::instrument(skip_all)]
    async fn users_by_id(&self, ids: &[UserId]) -> StorageResult<Vec<User>> {
        let s = self.lock();
        Ok(ids
            .iter()
            .filter_map(|id| s.users.get(id))
            .map(|r| r.user.clone())
            .collect())
    }

    #[tracing::instrument(skip_all)]
    async fn update_user(&self, user: &User) -> StorageResult<()> {
        let mut s = self.lock();
        let old_email = s
            .users
            .get(&user.id)
            .ok_or(StorageError::NotFound)?
            .user
            .email
            .clone();
        if old_email != user.email {
            if s.emails.contains_key(&user.email) {
                return Err(StorageError::Conflict("email_taken"));
            }
            s.emails.remove(&old_email);
            s.emails.insert(user.email.clone(), user.id);
        }
        if let Some(record) = s.users.get_mut(&user.id) {
            record.user = user.clone();
        }
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn set_password(
        &self,
        user: UserId,
        password_hash: &str,
        updated_at: OffsetDateTime,
        keep: Option<&TokenDigest>,
    ) -> StorageResult<()> {
        let mut s = self.lock();
        let record = s.users.get_mut(&user).ok_or(StorageError::NotFound)?;
        record.password_hash = password_hash.to_string();
        record.user.updated_at = updated_at;
        s.sessions.retain(|digest, session| {
            session.user_id != user || keep.is_some_and(|k| k.0 == *digest)
        });
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn insert_session(&self, session: &Session) -> StorageResult<()> {
        let mut s = self.lock();
        // Like a foreign key: sessions and groups belong to existing users.
        if !s.users.contains_key(&session.user_id) {
            return Err(StorageError::NotFound);
        }
        s.sessions.insert(session.digest.0, session.clone());
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn session_user(
        &self,
        digest: &TokenDigest,
        now: OffsetDateTime,
    ) -> StorageResult<Option<User>> {
        let s = self.lock();
        Ok(s.sessions
            .get(&digest.0)
            .filter(|session| session.expires_at > now)
            .and_then(|session| s.users.get(&session.user_id))
            .map(|r| r.user.clone()))
    }

    #[tracing::instrument(skip_all)]
    async fn delete_session(&self, digest: &TokenDigest) -> StorageResult<bool> {
        Ok(self.lock().sessions.remove(&digest.0).is_some())
    }

    #[tracing::instrument(skip_all)]
    async fn login_failures(&self, email: &Email) -> StorageResult<LoginFailures> {
        Ok(self
            .lock()
            .login_failures
            .get(email)
            .copied()
            .unwrap_or_default())
    }

    #[tracing::instrument(skip_all)]
    async fn set_login_failures(
        &self,
        email: &Email,
        failures: &LoginFailures,
    ) -> StorageResult<()> {
        let mut s = self.lock();
        if failures.count == 0 {
            s.login_failures.remove(email);
        } else {
            s.login_failures.insert(email.clone(), *failures);
        }
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn swap_login_failures(
        &self,
        email: &Email,
        expected: &LoginFailures,
        new: &LoginFailures,
    ) -> StorageResult<bool> {
        let mut s = self.lock();
        let current = s.login_failures.get(email).copied().unwrap_or_default();
        if current != *expected {
            return Ok(false);
        }
        if new.count == 0 {
            s.login_failures.remove(email);
        } else {
            s.login_failures.insert(email.clone(), *new);
        }
        Ok(true)
    }

    #[tracing::instrument(skip_all)]
    async fn user_by_identity(&self, issuer: &str, subject: &str) -> StorageResult<Option<User>> {
        let s = self.lock();
        let key = (issuer.to_string(), subject.to_string());
        Ok(s.identities
            .get(&key)
            .and_then(|i| s.users.get(&i.user_id))
            .map(|r| r.user.clone()))
    }

    #[tracing::instrument(skip_all)]
    async fn insert_identity(&self, identity: &Identity) -> StorageResult<()> {
        let mut s = self.lock();
        let key = (identity.issuer.clone(), identity.subject.clone());
        if s.identities.contains_key(&key) {
            return Err(StorageError::Conflict("identity_taken"));
        }
        if !s.users.contains_key(&identity.user_id) {
            return Err(StorageError::NotFound);
        }
        s.identities.insert(key, identity.clone());
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn insert_user_with_identity(
        &self,
        user: &UserRecord,
        identity: &Identity,
    ) -> StorageResult<()> {
        let mut s = self.lock();
        let key = (identity.issuer.clone(), identity.subject.clone());
        if s.emails.contains_key(&user.user.email) {
            return Err(StorageError::Conflict("email_taken"));
        }
        if s.identities.contains_key(&key) {
            return Err(StorageError::Conflict("identity_taken"));
        }
        s.emails.insert(user.user.email.clone(), user.user.id);
        s.users.insert(user.user.id, user.clone());
        s.identities.insert(key, identity.clone());
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn insert_pending_login(
        &self,
        login: &PendingLogin,
        now: OffsetDateTime,
    ) -> StorageResult<()> {
        let mut s = self.lock();
        s.pending_logins.retain(|_, l| l.expires_at > now);
        s.pending_logins.insert(login.state.0, login.clone());
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn take_pending_login(
        &self,
        state: &TokenDigest,
        now: OffsetDateTime,
    ) -> StorageResult<Option<PendingLogin>> {
        let mut s = self.lock();
        Ok(s.pending_logins
            .remove(&state.0)
            .filter(|l| l.expires_at > now))
    }
}
