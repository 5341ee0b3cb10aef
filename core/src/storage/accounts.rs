//! Accounts and sessions: users, their sessions, the login throttle, OpenID Connect
//! identities and logins under way.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::StorageResult;
use crate::domain::{
    Email, Identity, LoginFailures, PendingLogin, Session, TokenDigest, User, UserId, UserRecord,
};

/// Users, sessions and failed-login records (none of them group-scoped).
#[async_trait]
pub trait AccountStore: Send + Sync + 'static {
    /// Adds a user; `Conflict("email_taken")` if the email is in use.
    async fn insert_user(&self, user: &UserRecord) -> StorageResult<()>;
    /// A user and their password hash, by email.
    async fn user_by_email(&self, email: &Email) -> StorageResult<Option<UserRecord>>;
    /// A user by id.
    async fn user_by_id(&self, id: UserId) -> StorageResult<Option<User>>;
    /// Several users by id (unknown ids are left out).
    async fn users_by_id(&self, ids: &[UserId]) -> StorageResult<Vec<User>>;
    /// Replaces a user's profile fields (email, display name, default currency,
    /// `updated_at`); `Conflict("email_taken")`, `NotFound`.
    async fn update_user(&self, user: &User) -> StorageResult<()>;
    /// Sets a new password hash and revokes every session of the user except `keep`.
    async fn set_password(
        &self,
        user: UserId,
        password_hash: &str,
        updated_at: OffsetDateTime,
        keep: Option<&TokenDigest>,
    ) -> StorageResult<()>;

    /// Records a new session.
    async fn insert_session(&self, session: &Session) -> StorageResult<()>;
    /// The user of a session that has not expired at `now`.
    async fn session_user(
        &self,
        digest: &TokenDigest,
        now: OffsetDateTime,
    ) -> StorageResult<Option<User>>;
    /// Revokes a session; whether it existed.
    async fn delete_session(&self, digest: &TokenDigest) -> StorageResult<bool>;

    /// Failed logins recorded for an email.
    async fn login_failures(&self, email: &Email) -> StorageResult<LoginFailures>;
    /// Replaces the failed-login record of an email (count 0 clears it).
    async fn set_login_failures(
        &self,
        email: &Email,
        failures: &LoginFailures,
    ) -> StorageResult<()>;
    /// Replaces the failed-login record of an email only if it still equals `expected` (an
    /// absent record equals the default); whether it did. Atomic, so concurrent logins, on
    /// one server or several, each count exactly once.
    async fn swap_login_failures(
        &self,
        email: &Email,
        expected: &LoginFailures,
        new: &LoginFailures,
    ) -> StorageResult<bool>;

    /// The user an identity (issuer, subject) is linked to.
    async fn user_by_identity(&self, issuer: &str, subject: &str) -> StorageResult<Option<User>>;
    /// Links an identity to an existing user; `Conflict("identity_taken")` if the identity is
    /// linked already, `NotFound` if the user does not exist.
    async fn insert_identity(&self, identity: &Identity) -> StorageResult<()>;
    /// Creates a user and links an identity to them in one transaction:
    /// `Conflict("email_taken")` or `Conflict("identity_taken")` write nothing.
    async fn insert_user_with_identity(
        &self,
        user: &UserRecord,
        identity: &Identity,
    ) -> StorageResult<()>;

    /// Records a login under way, and forgets those expired at `now`.
    async fn insert_pending_login(
        &self,
        login: &PendingLogin,
        now: OffsetDateTime,
    ) -> StorageResult<()>;
    /// Takes a login under way: returns it and forgets it, atomically, so a state works once
    /// however many callbacks race for it; `None` if unknown, taken or expired at `now`.
    async fn take_pending_login(
        &self,
        state: &TokenDigest,
        now: OffsetDateTime,
    ) -> StorageResult<Option<PendingLogin>>;
}
