//! Who is calling: a session token sent as `Authorization: Bearer` (also what the OAuth2
//! password flow of the docs page sends) or as the session cookie, resolved by the Ledger.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

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

/// The outcome of this request's token lookup, by token. The bearer and OAuth2 schemes read
/// the same header; without this each would look the token up, and during a database outage
/// each would wait for the pool before answering 503.
#[derive(Debug, Clone, Default)]
pub(crate) struct SessionMemo(Arc<Mutex<Option<(String, Outcome)>>>);

/// A lookup's outcome (the error shared: it is cloned out only when answered).
type Outcome = Result<User, Arc<ApiError>>;

impl SessionMemo {
    fn get(&self, token: &str) -> Option<Outcome> {
        let memo = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        memo.as_ref()
            .filter(|(t, _)| t == token)
            .map(|(_, outcome)| outcome.clone())
    }

    fn set(&self, token: &str, outcome: &Outcome) {
        let mut memo = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        *memo = Some((token.to_string(), outcome.clone()));
    }
}

async fn resolve(req: &Request, token: String, via_cookie: bool) -> poem::Result<Principal> {
    let resolver = req.data::<SessionResolver>().ok_or_else(|| {
        ApiError::from(splitledger_core::Error::Internal(
            splitledger_core::Cause::msg("the session resolver is not installed"),
        ))
    })?;
    let memo = req.extensions().get::<SessionMemo>();
    let outcome = match memo.and_then(|m| m.get(&token)) {
        Some(outcome) => outcome,
        None => {
            let session = SessionToken::new(token.clone());
            let outcome = resolver.0.resolve(&session).await.map_err(Arc::new);
            if let Some(m) = memo {
                m.set(&token, &outcome);
            }
            outcome
        }
    };
    let user = outcome.map_err(|e| ApiError::clone(&e))?;
    let token = SessionToken::new(token);
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use poem::http::StatusCode;

    use super::*;

    /// A resolver whose database is down, counting its lookups.
    #[derive(Default)]
    struct Down(AtomicUsize);

    impl Sessions for Arc<Down> {
        fn resolve<'a>(&'a self, _: &'a SessionToken) -> BoxFuture<'a, Result<User, ApiError>> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Box::pin(async {
                Err(ApiError::from(splitledger_core::Error::Unavailable(
                    splitledger_core::Cause::msg("down"),
                )))
            })
        }
    }

    /// The bearer and OAuth2 schemes both try the Authorization header: the token is looked
    /// up once per request, and both answer the same 503.
    #[tokio::test]
    async fn a_token_is_looked_up_once_per_request() {
        let down = Arc::new(Down::default());
        let mut req = Request::builder().finish();
        req.extensions_mut().insert(SessionMemo::default());
        req.extensions_mut()
            .insert(SessionResolver(Arc::new(down.clone())));
        for _ in 0..2 {
            let bearer = Bearer {
                token: "t0ken".to_string(),
            };
            let error = check_bearer(&req, bearer).await.err();
            let status = error.map(|e| e.status());
            assert_eq!(status, Some(StatusCode::SERVICE_UNAVAILABLE));
        }
        assert_eq!(down.0.load(Ordering::SeqCst), 1);
        // Another token in the same request is its own lookup.
        let other = Bearer {
            token: "other".to_string(),
        };
        assert!(check_bearer(&req, other).await.is_err());
        assert_eq!(down.0.load(Ordering::SeqCst), 2);
    }
}
