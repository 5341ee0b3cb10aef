//! Who is calling: a session token sent as `Authorization: Bearer` (also what the OAuth2
//! password flow of the docs page sends) or as the session cookie, resolved by the Ledger.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use poem::Request;
use poem_openapi::auth::{ApiKey, Bearer};
use poem_openapi::{OAuthScopes, SecurityScheme};
use splitledger_core::domain::User;
use splitledger_core::ledger::SessionToken;
use splitledger_core::{Ledger, Storage};

use crate::problem::ApiError;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "splitledger_session";

/// A signed-in caller: the user and the token that proved it.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The user.
    pub user: User,
    /// The token used (to revoke it on logout, to keep it on a password change).
    pub token: SessionToken,
    /// Whether the token came in the cookie (logout then clears the cookie).
    pub via_cookie: bool,
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Resolves session tokens; the security checkers reach the Ledger through this object so
/// that they need not know the store's type.
pub(crate) trait Sessions: Send + Sync + 'static {
    fn resolve<'a>(&'a self, token: &'a SessionToken) -> BoxFuture<'a, Result<User, ApiError>>;
}

impl<S: Storage> Sessions for Ledger<S> {
    fn resolve<'a>(&'a self, token: &'a SessionToken) -> BoxFuture<'a, Result<User, ApiError>> {
        Box::pin(async move { Ok(self.resolve_session(token).await?) })
    }
}

/// The resolver as request data.
#[derive(Clone)]
pub(crate) struct SessionResolver(pub(crate) Arc<dyn Sessions>);

async fn resolve(req: &Request, token: String, via_cookie: bool) -> poem::Result<Principal> {
    let resolver = req.data::<SessionResolver>().ok_or_else(|| {
        ApiError::from(splitledger_core::Error::Internal(
            splitledger_core::Cause::msg("the session resolver is not installed"),
        ))
    })?;
    let token = SessionToken::new(token);
    let user = resolver.0.resolve(&token).await?;
    Ok(Principal {
        user,
        token,
        via_cookie,
    })
}

async fn check_bearer(req: &Request, bearer: Bearer) -> poem::Result<Principal> {
    resolve(req, bearer.token, false).await
}

async fn check_cookie(req: &Request, key: ApiKey) -> poem::Result<Principal> {
    resolve(req, key.key, true).await
}

/// The OAuth2 scopes (one: a session may do everything its account may).
#[derive(Debug, OAuthScopes)]
#[oai(rename_all = "lowercase")]
pub enum Scopes {
    /// Everything the account may do.
    Ledger,
}

/// OAuth2 password flow: the docs page's Authorize button posts the email and password to
/// `/api/v1/auth/token` and then sends the token as a bearer token.
#[derive(Debug, SecurityScheme)]
#[oai(
    ty = "oauth2",
    flows(password(token_url = "/api/v1/auth/token", scopes = "Scopes")),
    checker = "check_bearer"
)]
pub struct OAuth2Password(Principal);

/// A session token from `/auth/token` or `/auth/login`, as `Authorization: Bearer TOKEN`.
#[derive(Debug, SecurityScheme)]
#[oai(ty = "bearer", checker = "check_bearer")]
pub struct BearerToken(Principal);

/// The HttpOnly session cookie set by `/auth/login`.
#[derive(Debug, SecurityScheme)]
#[oai(
    ty = "api_key",
    key_name = "splitledger_session",
    key_in = "cookie",
    checker = "check_cookie"
)]
pub struct SessionCookie(Principal);

/// Any of the ways to be signed in; without one, 401.
///
/// Tried in this order, and the last failure is the answer: the cookie first (no lookup when
/// absent), then the bearer token, so that a bearer token met by a database outage answers
/// 503 rather than a misleading 401.
#[derive(Debug, SecurityScheme)]
pub enum Auth {
    /// Session cookie.
    Cookie(SessionCookie),
    /// Bearer token.
    Bearer(BearerToken),
    /// OAuth2 password flow (bearer token).
    OAuth2(OAuth2Password),
}

impl Auth {
    /// The caller.
    pub fn principal(&self) -> &Principal {
        match self {
            Self::OAuth2(OAuth2Password(p))
            | Self::Bearer(BearerToken(p))
            | Self::Cookie(SessionCookie(p)) => p,
        }
    }

    /// The caller's user id.
    pub fn user_id(&self) -> splitledger_core::domain::UserId {
        self.principal().user.id
    }
}
