//! OpenID Connect sign-in and the sign-up policy. The server checks the ID token (signature,
//! `iss`, `aud`, `exp`, `nonce`) with a maintained library; these rules decide what its
//! verified claims mean: which user they sign in, when an existing account is linked, and
//! who may create an account at all.

use sha2::{Digest, Sha256};

use super::auth::NO_PASSWORD;
use super::{Error, Ledger, Result};
use crate::domain::{Email, Identity, PendingLogin, TokenDigest, User, UserId, UserRecord};
use crate::storage::{Storage, StorageError};

/// Who may create an account, for password and OpenID Connect sign-ups alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignupPolicy {
    /// Anyone.
    #[default]
    Open,
    /// Only someone holding a valid group invite code.
    Invite,
    /// Nobody: accounts exist already or not at all (403 `signup_closed`).
    Closed,
}

/// What a verified ID token says about the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcClaims {
    /// `iss`.
    pub issuer: String,
    /// `sub`.
    pub subject: String,
    /// `email`, if the provider shared it.
    pub email: Option<String>,
    /// `email_verified`: whether the provider vouches that the person owns the address.
    pub email_verified: bool,
    /// `name`, if the provider shared it.
    pub name: Option<String>,
}

/// A login about to be sent to the provider.
#[derive(Clone)]
pub struct OidcLoginStart {
    /// The `state` sent to the provider (kept only as its digest).
    pub state: String,
    /// The provider's configured name.
    pub provider: String,
    /// The nonce the ID token must carry.
    pub nonce: String,
    /// The PKCE code verifier.
    pub pkce_verifier: String,
    /// Where to send the person afterwards (a path on this server, checked by the edge).
    pub return_to: String,
    /// The invite code the login was started with.
    pub invite: Option<String>,
}

impl std::fmt::Debug for OidcLoginStart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcLoginStart")
            .field("provider", &self.provider)
            .field("return_to", &self.return_to)
            .finish_non_exhaustive()
    }
}

/// Longest `state` this server ever issues is far shorter; anything longer is not ours.
const MAX_STATE: usize = 256;
/// Longest invite code accepted (issued codes are 22 characters).
const MAX_INVITE: usize = 64;

fn state_digest(state: &str) -> TokenDigest {
    TokenDigest(Sha256::digest(state.as_bytes()).into())
}

/// A name for a new account: the provider's, made printable and bounded, or the address's
/// local part when the provider gave none.
fn display_name_from(name: Option<&str>, email: &Email) -> String {
    let clean: String = name
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    let clean = clean.trim();
    let chosen = if clean.is_empty() {
        email.as_str().split('@').next().unwrap_or("user")
    } else {
        clean
    };
    chosen.chars().take(100).collect()
}

impl<S: Storage> Ledger<S> {
    /// The same ledger (and store) with another sign-up policy.
    pub fn with_signup_policy(mut self, policy: SignupPolicy) -> Self {
        self.config.signup = policy;
        self
    }

    /// Whether the sign-up policy lets a new account be made with this invite code:
    /// `signup_closed`, `invite_required` (no code, or one unknown or expired) otherwise.
    pub(crate) async fn admit_signup(&self, invite: Option<&str>) -> Result<()> {
        match self.config.signup {
            SignupPolicy::Open => Ok(()),
            SignupPolicy::Closed => Err(Error::SignupClosed),
            SignupPolicy::Invite => {
                let Some(code) = invite.filter(|c| {
                    !c.is_empty() && c.len() <= MAX_INVITE && !c.chars().any(char::is_control)
                }) else {
                    return Err(Error::InviteRequired);
                };
                match self.storage.invite(code).await? {
                    Some(i) if i.expires_at > self.now() => Ok(()),
                    _ => Err(Error::InviteRequired),
                }
            }
        }
    }

    /// Remembers a login sent to a provider until its callback (or its expiry), in the
    /// store, so whichever copy of the server receives the callback can finish it.
    #[tracing::instrument(skip_all, fields(provider = %start.provider))]
    pub async fn start_oidc_login(&self, start: OidcLoginStart) -> Result<()> {
        if let Some(invite) = &start.invite
            && (invite.len() > MAX_INVITE || invite.chars().any(char::is_control))
        {
            return Err(Error::invalid(
                "invite",
                "invalid_invite",
                "not an invite code",
            ));
        }
        let now = self.now();
        let login = PendingLogin {
            state: state_digest(&start.state),
            provider: start.provider,
            nonce: start.nonce,
            pkce_verifier: start.pkce_verifier,
            return_to: start.return_to,
            invite: start.invite,
            expires_at: now + self.config.oidc_login_ttl,
        };
        self.storage.insert_pending_login(&login, now).await?;
        Ok(())
    }

    /// Takes the login a callback's `state` names: once only (a replayed state is refused),
    /// and only before it expires.
    #[tracing::instrument(skip_all)]
    pub async fn take_oidc_login(&self, state: &str) -> Result<PendingLogin> {
        const UNKNOWN: Error =
            Error::OidcFailed("the login is unknown, expired or finished already");
        if state.is_empty() || state.len() > MAX_STATE {
            return Err(UNKNOWN);
        }
        self.storage
            .take_pending_login(&state_digest(state), self.now())
            .await?
            .ok_or(UNKNOWN)
    }

    /// The user a verified ID token signs in. Found by (issuer, subject); the first time,
    /// an account with the same email is linked only when the provider says the email is
    /// verified; otherwise a new account is made (if the sign-up policy admits it with
    /// `invite`), and an email already taken is refused (409 `email_taken`).
    #[tracing::instrument(skip_all)]
    pub async fn oidc_sign_in(&self, claims: OidcClaims, invite: Option<&str>) -> Result<User> {
        if let Some(user) = self
            .storage
            .user_by_identity(&claims.issuer, &claims.subject)
            .await?
        {
            return Ok(user);
        }
        let email = claims
            .email
            .as_deref()
            .and_then(|e| Email::parse(e).ok())
            .ok_or(Error::OidcFailed(
                "the provider gave no usable email address",
            ))?;
        let now = self.now();
        if claims.email_verified
            && let Some(record) = self.storage.user_by_email(&email).await?
        {
            let identity = Identity {
                issuer: claims.issuer.clone(),
                subject: claims.subject.clone(),
                user_id: record.user.id,
                created_at: now,
            };
            return match self.storage.insert_identity(&identity).await {
                Ok(()) => Ok(record.user),
                Err(StorageError::Conflict("identity_taken")) => self.linked_user(&claims).await,
                Err(e) => Err(e.into()),
            };
        }
        self.admit_signup(invite).await?;
        let user = User {
            id: UserId::random(),
            display_name: display_name_from(claims.name.as_deref(), &email),
            email,
            default_currency: None,
            created_at: now,
            updated_at: now,
        };
        let identity = Identity {
            issuer: claims.issuer.clone(),
            subject: claims.subject.clone(),
            user_id: user.id,
            created_at: now,
        };
        let record = UserRecord {
            user: user.clone(),
            password_hash: NO_PASSWORD.to_string(),
        };
        match self
            .storage
            .insert_user_with_identity(&record, &identity)
            .await
        {
            Ok(()) => Ok(user),
            // The same person's first login, finished a moment earlier by another request:
            // depending on which row's uniqueness the database checks first, that shows as
            // the identity or as the email being taken.
            Err(StorageError::Conflict("identity_taken")) => self.linked_user(&claims).await,
            Err(StorageError::Conflict("email_taken")) => {
                match self
                    .storage
                    .user_by_identity(&claims.issuer, &claims.subject)
                    .await?
                {
                    Some(user) => Ok(user),
                    None => Err(StorageError::Conflict("email_taken").into()),
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn linked_user(&self, claims: &OidcClaims) -> Result<User> {
        self.storage
            .user_by_identity(&claims.issuer, &claims.subject)
            .await?
            .ok_or(Error::OidcFailed(
                "the account linked to this identity is gone",
            ))
    }
}
