//! Accounts, passwords, sessions and login throttling.

use std::time::Duration;

use argon2::password_hash::phc::PasswordHash;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::{Error, Ledger, Result, password, required_text};
use crate::domain::{Email, LoginFailures, Session, TokenDigest, User, UserId, UserRecord};
use crate::error::{Cause, FieldError, ValidationErrors};
use crate::money::Currency;
use crate::storage::Storage;

/// Shortest password accepted (characters).
pub const MIN_PASSWORD: usize = 8;
/// Longest password accepted (characters).
pub const MAX_PASSWORD: usize = 128;

/// The hash of an account without a password (placeholders, OpenID Connect sign-ups): not a
/// PHC string, so it verifies nothing; password logins check the decoy instead, so such an
/// account answers like an unknown email, in the same time.
pub(crate) const NO_PASSWORD: &str = "!";

/// A new account.
#[derive(Clone)]
pub struct SignUp {
    /// Email (trimmed and compared case-insensitively).
    pub email: String,
    /// 8 to 128 characters.
    pub password: String,
    /// Name shown to others.
    pub display_name: String,
    /// A group invite code: needed when the sign-up policy is `invite` (the code is not
    /// used up; accepting it still joins the group).
    pub invite_code: Option<String>,
}

impl std::fmt::Debug for SignUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignUp")
            .field("email", &self.email)
            .field("display_name", &self.display_name)
            .finish()
    }
}

/// Profile changes; absent fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct UpdateProfile {
    /// New display name.
    pub display_name: Option<String>,
    /// New email.
    pub email: Option<String>,
    /// New default currency (`Some(None)` clears it).
    pub default_currency: Option<Option<String>>,
}

/// A password change.
#[derive(Clone)]
pub struct ChangePassword {
    /// The password in use.
    pub current_password: String,
    /// The new one (8 to 128 characters).
    pub new_password: String,
}

impl std::fmt::Debug for ChangePassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChangePassword { .. }")
    }
}

/// A bearer token as the client holds it: 256 random bits, URL-safe base64. Stores only ever
/// see its SHA-256 digest.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(String);

impl SessionToken {
    /// Wraps a token received from a client.
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The token text, to hand to the client.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The digest stores keep.
    pub fn digest(&self) -> TokenDigest {
        TokenDigest(Sha256::digest(self.0.as_bytes()).into())
    }
}

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken(<redacted>)")
    }
}

/// A successful login.
#[derive(Debug, Clone)]
pub struct LoginOutcome {
    /// The new session's token.
    pub token: SessionToken,
    /// When it expires.
    pub expires_at: OffsetDateTime,
    /// Seconds until then.
    pub expires_in: u64,
    /// Who signed in.
    pub user: User,
}

/// URL-safe random text of `bytes` random bytes.
pub(crate) fn random_text(bytes: usize) -> Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf)
        .map_err(|e| Error::Internal(Cause::msg(format!("no randomness: {e}"))))?;
    Ok(URL_SAFE_NO_PAD.encode(buf))
}

fn check_password(field: &str, password: &str, errors: &mut ValidationErrors) {
    let n = password.chars().count();
    if !(MIN_PASSWORD..=MAX_PASSWORD).contains(&n) {
        errors.push(FieldError::new(
            field,
            "password_length",
            format!("{MIN_PASSWORD} to {MAX_PASSWORD} characters"),
        ));
    }
}

/// A real hash of nothing anyone knows, verified against when the email is unknown so that
/// both failures take the same time.
async fn decoy_hash() -> Result<String> {
    static DECOY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    let hash = DECOY
        .get_or_try_init(|| async { password::hash(random_text(24)?).await })
        .await?;
    Ok(hash.clone())
}

fn display_name(value: &str, errors: &mut ValidationErrors) -> String {
    required_text("display_name", value, 100, errors)
}

impl<S: Storage> Ledger<S> {
    /// Creates an account. The password is hashed (argon2id) on a blocking thread, one hash
    /// per core at a time.
    #[tracing::instrument(skip_all)]
    pub async fn sign_up(&self, request: SignUp) -> Result<User> {
        let mut errors = ValidationErrors::default();
        let email = Email::parse(&request.email)
            .map_err(|e| errors.0.extend(e.0))
            .ok();
        let name = display_name(&request.display_name, &mut errors);
        check_password("password", &request.password, &mut errors);
        errors.into_result()?;
        let email = email
            .ok_or_else(|| Error::invalid("email", "invalid_email", "not an email address"))?;
        self.admit_signup(request.invite_code.as_deref()).await?;

        let password = request.password;
        let password_hash = password::hash(password).await?;
        let now = self.now();
        let user = User {
            id: UserId::random(),
            email,
            display_name: name,
            default_currency: None,
            created_at: now,
            updated_at: now,
        };
        self.storage
            .insert_user(&UserRecord {
                user: user.clone(),
                password_hash,
            })
            .await?;
        Ok(user)
    }

    /// Checks an email and password. Unknown email and wrong password give the same error
    /// after the same work; repeated failures for one email are throttled.
    #[tracing::instrument(skip_all)]
    pub async fn authenticate(&self, email: &str, password: &str) -> Result<User> {
        // A malformed email is just another unknown one: same answer, same time.
        let email = Email::parse(email).ok();
        let now = self.now();
        if let Some(email) = &email {
            self.count_attempt(email, now).await?;
        }
        let record = match &email {
            Some(e) => self.storage.user_by_email(e).await?,
            None => None,
        };
        let hash = match &record {
            Some(r) if PasswordHash::new(&r.password_hash).is_ok() => r.password_hash.clone(),
            // Unknown, or an account without a password: the same work, the same refusal.
            _ => decoy_hash().await?,
        };
        let password = password.to_string();
        let valid = password::verify(password, hash).await?;
        match (record, valid) {
            (Some(record), true) => {
                if let Some(email) = &email {
                    self.storage
                        .set_login_failures(email, &LoginFailures::default())
                        .await?;
                }
                Ok(record.user)
            }
            // The attempt was counted as a failure before the check.
            _ => Err(Error::InvalidCredentials),
        }
    }

    /// Counts an attempt as a failure before its password is checked (a success clears the
    /// count), unless the email is throttled. The count is claimed by compare-and-swap, so a
    /// burst of concurrent attempts, on one server or several, gets exactly the free ones
    /// checked: reading the count before the check and writing it after would let every
    /// attempt in flight through.
    async fn count_attempt(&self, email: &Email, now: OffsetDateTime) -> Result<()> {
        // Each lost swap means another attempt was counted, so within `free + 1` rounds the
        // throttle answers; the bound only guards against a store that never swaps.
        for _ in 0..=self.config.free_login_failures.saturating_add(64) {
            let old = self.storage.login_failures(email).await?;
            self.check_throttle(&old, now)?;
            let fresh = old
                .last_at
                .is_none_or(|last| now - last > self.config.throttle_window);
            let new = LoginFailures {
                count: if fresh {
                    1
                } else {
                    old.count.saturating_add(1)
                },
                last_at: Some(now),
            };
            if self.storage.swap_login_failures(email, &old, &new).await? {
                return Ok(());
            }
        }
        Err(Error::Throttled {
            retry_after_secs: 1,
        })
    }

    fn check_throttle(&self, failures: &LoginFailures, now: OffsetDateTime) -> Result<()> {
        let Some(last) = failures.last_at else {
            return Ok(());
        };
        if failures.count < self.config.free_login_failures
            || now - last > self.config.throttle_window
        {
            return Ok(());
        }
        let until = last + self.throttle_delay(failures.count);
        if until > now {
            let wait = (until - now).whole_seconds().max(1);
            return Err(Error::Throttled {
                retry_after_secs: u64::try_from(wait).unwrap_or(1),
            });
        }
        Ok(())
    }

    fn throttle_delay(&self, count: u32) -> Duration {
        let over = count
            .saturating_sub(self.config.free_login_failures)
            .min(20);
        self.config
            .throttle_base
            .saturating_mul(1 << over)
            .min(self.config.throttle_max)
    }

    /// Authenticates and opens a session.
    #[tracing::instrument(skip_all)]
    pub async fn login(&self, email: &str, password: &str) -> Result<LoginOutcome> {
        let user = self.authenticate(email, password).await?;
        self.open_session(user).await
    }

    /// Opens a session for a user already authenticated by other means.
    #[tracing::instrument(skip_all)]
    pub async fn open_session(&self, user: User) -> Result<LoginOutcome> {
        let token = SessionToken(random_text(32)?);
        let now = self.now();
        let ttl = self.config.session_ttl;
        let expires_at = now + ttl;
        self.storage
            .insert_session(&Session {
                digest: token.digest(),
                user_id: user.id,
                created_at: now,
                expires_at,
            })
            .await?;
        Ok(LoginOutcome {
            token,
            expires_at,
            expires_in: ttl.as_secs(),
            user,
        })
    }

    /// The user of a live session; `Unauthenticated` for unknown, revoked or expired tokens.
    #[tracing::instrument(skip_all)]
    pub async fn resolve_session(&self, token: &SessionToken) -> Result<User> {
        self.storage
            .session_user(&token.digest(), self.now())
            .await?
            .ok_or(Error::Unauthenticated)
    }

    /// Revokes a session (logout).
    #[tracing::instrument(skip_all)]
    pub async fn logout(&self, token: &SessionToken) -> Result<()> {
        if self.storage.delete_session(&token.digest()).await? {
            Ok(())
        } else {
            Err(Error::Unauthenticated)
        }
    }

    /// The caller's profile.
    #[tracing::instrument(skip_all, fields(%actor))]
    pub async fn me(&self, actor: UserId) -> Result<User> {
        self.storage
            .user_by_id(actor)
            .await?
            .ok_or(Error::NotFound("user"))
    }

    /// Another user as the caller may see them: anyone who shares a group with the caller
    /// (or the caller); everyone else is "not found", so ids reveal nothing.
    #[tracing::instrument(skip_all, fields(%actor, %user))]
    pub async fn user(&self, actor: UserId, user: UserId) -> Result<User> {
        if !self.storage.share_a_group(actor, user).await? {
            return Err(Error::NotFound("user"));
        }
        self.storage
            .user_by_id(user)
            .await?
            .ok_or(Error::NotFound("user"))
    }

    /// Changes profile fields.
    #[tracing::instrument(skip_all, fields(%actor))]
    pub async fn update_profile(&self, actor: UserId, request: UpdateProfile) -> Result<User> {
        let mut user = self.me(actor).await?;
        let mut errors = ValidationErrors::default();
        if let Some(name) = &request.display_name {
            user.display_name = display_name(name, &mut errors);
        }
        if let Some(email) = &request.email {
            match Email::parse(email) {
                Ok(e) => user.email = e,
                Err(e) => errors.0.extend(e.0),
            }
        }
        if let Some(currency) = &request.default_currency {
            user.default_currency = match currency.as_deref() {
                None => None,
                Some(code) => match Currency::parse(code) {
                    Ok(c) => Some(c),
                    Err(e) => {
                        errors.push(e.at("default_currency"));
                        None
                    }
                },
            };
        }
        errors.into_result()?;
        user.updated_at = self.now();
        self.storage.update_user(&user).await?;
        Ok(user)
    }

    /// Changes the password after checking the current one, and revokes every other
    /// session (the one in `keep`, the caller's, stays).
    #[tracing::instrument(skip_all, fields(%actor))]
    pub async fn change_password(
        &self,
        actor: UserId,
        keep: Option<&SessionToken>,
        request: ChangePassword,
    ) -> Result<()> {
        let mut errors = ValidationErrors::default();
        check_password("new_password", &request.new_password, &mut errors);
        errors.into_result()?;
        let user = self.me(actor).await?;
        let record = self
            .storage
            .user_by_email(&user.email)
            .await?
            .ok_or(Error::NotFound("user"))?;
        let (current, hash) = (request.current_password, record.password_hash);
        if !password::verify(current, hash).await? {
            return Err(Error::invalid(
                "current_password",
                "wrong_password",
                "the current password is wrong",
            ));
        }
        let new = request.new_password;
        let new_hash = password::hash(new).await?;
        let digest = keep.map(SessionToken::digest);
        self.storage
            .set_password(actor, &new_hash, self.now(), digest.as_ref())
            .await?;
        Ok(())
    }
}
