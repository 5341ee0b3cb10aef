//! Accounts and sessions (`/auth`), and the caller's own profile (`/users/me`).

use poem::http::StatusCode;
use poem_openapi::param::Path;
use poem_openapi::payload::{Form, Json};
use poem_openapi::{ApiResponse, OpenApi};
use splitledger_core::domain::UserId;
use splitledger_core::ledger::{ChangePassword, SignUp, UpdateProfile};
use splitledger_core::{Ledger, Storage};
use uuid::Uuid;

use super::models::{
    LoginBody, MyBalancesBody, PasswordBody, PersonBody, ProfilePatchBody, SessionBody, SignUpBody,
    TokenBody, TokenForm, UserBody, maybe,
};
use super::{ApiResult, ApiTags, CookiePolicy, NoContent};
use crate::problem::ApiError;
use crate::security::Auth;

/// `/auth`: sign up, sign in (token or cookie), sign out.
#[derive(Debug)]
pub struct AuthApi<S> {
    pub(crate) ledger: Ledger<S>,
    pub(crate) cookies: CookiePolicy,
}

/// A new account.
#[derive(Debug, ApiResponse)]
pub enum SignedUp {
    /// The account was created; sign in next.
    #[oai(status = 201)]
    Created(Json<UserBody>),
}

/// A new session.
#[derive(Debug, ApiResponse)]
pub enum LoggedIn {
    /// Signed in; the token is in the body and in the HttpOnly session cookie.
    #[oai(status = 200)]
    Ok(
        Json<SessionBody>,
        /// The session cookie (HttpOnly, SameSite=Lax).
        #[oai(header = "Set-Cookie")]
        String,
    ),
}

/// A signed-out session.
#[derive(Debug, ApiResponse)]
pub enum LoggedOut {
    /// The token or cookie used is revoked (and the cookie cleared).
    #[oai(status = 204)]
    Done(
        /// Clears the session cookie when it was used.
        #[oai(header = "Set-Cookie")]
        Option<String>,
    ),
}

#[OpenApi(prefix_path = "/auth", tag = "ApiTags::Auth")]
impl<S: Storage> AuthApi<S> {
    /// Create an account.
    ///
    /// Passwords are 8 to 128 characters; emails are unique, compared case-insensitively
    /// (409 `email_taken`).
    #[oai(path = "/signup", method = "post")]
    async fn signup(&self, body: Json<SignUpBody>) -> ApiResult<SignedUp> {
        let b = body.0;
        let user = self
            .ledger
            .sign_up(SignUp {
                email: b.email.into(),
                password: b.password.into(),
                display_name: b.display_name.into(),
                invite_code: b.invite_code.map(String::from),
            })
            .await?;
        Ok(SignedUp::Created(Json(user.into())))
    }

    /// Get a token (OAuth2 password grant).
    ///
    /// Form-encoded `grant_type=password&username=EMAIL&password=...`, as OAuth2 requires;
    /// this is what the docs page's Authorize button calls. Unknown email and wrong password
    /// answer the same (401); repeated failures for one email answer 429 with `Retry-After`.
    #[oai(path = "/token", method = "post")]
    async fn token(&self, form: Form<TokenForm>) -> ApiResult<Json<TokenBody>> {
        let f = form.0;
        if f.grant_type != "password" {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "only grant_type=password is supported",
            ));
        }
        let outcome = self.ledger.login(&f.username, &f.password).await?;
        Ok(Json(TokenBody {
            access_token: outcome.token.as_str().to_string(),
            token_type: "bearer".to_string(),
            expires_in: outcome.expires_in,
        }))
    }

    /// Sign in.
    ///
    /// Answers the token and the user, and sets the HttpOnly session cookie. Unknown email
    /// and wrong password answer the same (401); repeated failures for one email answer 429
    /// with `Retry-After`.
    #[oai(path = "/login", method = "post")]
    async fn login(&self, body: Json<LoginBody>) -> ApiResult<LoggedIn> {
        let outcome = self.ledger.login(&body.0.email, &body.0.password).await?;
        let cookie = self.cookies.set(outcome.token.as_str(), outcome.expires_in);
        Ok(LoggedIn::Ok(
            Json(SessionBody {
                access_token: outcome.token.as_str().to_string(),
                token_type: "bearer".to_string(),
                expires_in: outcome.expires_in,
                expires_at: outcome.expires_at,
                user: outcome.user.into(),
            }),
            cookie,
        ))
    }

    /// Sign out.
    ///
    /// Revokes the token or cookie this request was made with.
    #[oai(path = "/logout", method = "post")]
    async fn logout(&self, auth: Auth) -> ApiResult<LoggedOut> {
        let principal = auth.principal();
        self.ledger.logout(&principal.token).await?;
        Ok(LoggedOut::Done(
            principal.via_cookie.then(|| self.cookies.clear()),
        ))
    }
}

/// `/users/me`: the caller's profile, password and balances.
#[derive(Debug)]
pub struct UsersApi<S> {
    pub(crate) ledger: Ledger<S>,
}

#[OpenApi(prefix_path = "/users/me", tag = "ApiTags::Users")]
impl<S: Storage> UsersApi<S> {
    /// The caller's profile.
    #[oai(path = "/", method = "get")]
    async fn me(&self, auth: Auth) -> ApiResult<Json<UserBody>> {
        Ok(Json(self.ledger.me(auth.user_id()).await?.into()))
    }

    /// Change the caller's profile.
    ///
    /// Absent fields stay as they are; `default_currency: null` clears it.
    #[oai(path = "/", method = "patch")]
    async fn update(&self, auth: Auth, body: Json<ProfilePatchBody>) -> ApiResult<Json<UserBody>> {
        let b = body.0;
        let user = self
            .ledger
            .update_profile(
                auth.user_id(),
                UpdateProfile {
                    display_name: b.display_name.map(String::from),
                    email: b.email.map(String::from),
                    default_currency: maybe(b.default_currency),
                },
            )
            .await?;
        Ok(Json(user.into()))
    }

    /// Change the caller's password.
    ///
    /// Needs the current password (422 `validation_failed` with `wrong_password` if wrong).
    /// Every other session of the caller is revoked; the one used here stays.
    #[oai(path = "/password", method = "post")]
    async fn change_password(&self, auth: Auth, body: Json<PasswordBody>) -> ApiResult<NoContent> {
        let principal = auth.principal();
        self.ledger
            .change_password(
                principal.user.id,
                Some(&principal.token),
                ChangePassword {
                    current_password: body.0.current_password,
                    new_password: body.0.new_password.into(),
                },
            )
            .await?;
        Ok(NoContent::Done)
    }

    /// What the caller owes and is owed.
    ///
    /// Non-zero nets per group and currency, and totals per currency over every group.
    #[oai(path = "/balances", method = "get")]
    async fn balances(&self, auth: Auth) -> ApiResult<Json<MyBalancesBody>> {
        Ok(Json(self.ledger.my_balances(auth.user_id()).await?.into()))
    }
}

/// `/users/{user_id}`: other people, as far as the caller shares a group with them.
#[derive(Debug)]
pub struct PeopleApi<S> {
    pub(crate) ledger: Ledger<S>,
}

#[OpenApi(prefix_path = "/users", tag = "ApiTags::Users")]
impl<S: Storage> PeopleApi<S> {
    /// Someone's public profile: for anyone who shares a group with the caller (and the
    /// caller); 404 for everyone else.
    #[oai(path = "/:user_id", method = "get")]
    async fn person(
        &self,
        auth: Auth,
        /// The user's id.
        user_id: Path<Uuid>,
    ) -> ApiResult<Json<PersonBody>> {
        let user = self.ledger.user(auth.user_id(), UserId(user_id.0)).await?;
        Ok(Json(PersonBody {
            id: user.id.0,
            display_name: user.display_name,
        }))
    }
}
