//! Sign-in with OpenID Connect (`/auth/providers`, `/auth/oidc/{provider}/login` and
//! `/callback`). The flow's mechanics live in [`crate::oidc`]; what the verified claims mean
//! (which account, linking, the sign-up policy) in the Ledger; the login under way in the
//! store, so any copy of the server can finish it, once.

use std::borrow::Cow;
use std::sync::Arc;

use poem::http::StatusCode;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{ParseFromParameter, ParseResult, ToJSON, Type};
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde_json::Value;
use splitledger_core::ledger::OidcLoginStart;
use splitledger_core::{Error, Ledger, Storage};

use super::{ApiResult, ApiTags, CookiePolicy};
use crate::oidc::Oidc;
use crate::problem::ApiError;

/// `/auth/providers` and `/auth/oidc/...`: sign-in with OpenID Connect.
#[derive(Debug)]
pub struct OidcApi<S> {
    pub(crate) ledger: Ledger<S>,
    pub(crate) cookies: CookiePolicy,
}

/// A provider people can sign in with.
#[derive(Debug, Clone, Object)]
pub struct ProviderBody {
    /// The name in `/auth/oidc/{provider}/login`.
    pub name: String,
    /// The name to show on the button.
    pub display_name: String,
}

/// On to the provider.
#[derive(Debug, ApiResponse)]
pub enum ToProvider {
    /// To the provider's authorization endpoint (code flow, PKCE S256, `state`, `nonce`).
    #[oai(status = 302)]
    Found(
        /// The provider's authorization URL.
        #[oai(header = "Location")]
        String,
    ),
}

/// Back from the provider, signed in.
#[derive(Debug, ApiResponse)]
pub enum SignedIn {
    /// Signed in: on to `return_to`, with the session cookie.
    #[oai(status = 302)]
    Found(
        /// `return_to` (default `/`).
        #[oai(header = "Location")]
        String,
        /// The session cookie (HttpOnly, SameSite=Lax).
        #[oai(header = "Set-Cookie")]
        String,
    ),
}

/// The longest `return_to` accepted.
const MAX_RETURN_TO: usize = 2048;

/// Where to go after signing in: a path on this server (`/`, then anything but `/` or `\`,
/// so no `//host` or `/\host` that a browser reads as another site), printable ASCII (send
/// anything else percent-encoded). Any string parses; the operation refuses one that is not
/// such a path with 400 `invalid_return_to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnTo(pub String);

impl Type for ReturnTo {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "string_return_to".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            pattern: Some(r"^/(?:[!-.0-\[\]-~][!-\[\]-~]*)?$".to_string()),
            max_length: Some(MAX_RETURN_TO),
            ..MetaSchema::new("string")
        }))
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl ParseFromParameter for ReturnTo {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        Ok(Self(value.to_string()))
    }
}

impl ToJSON for ReturnTo {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.0.clone()))
    }
}

/// Whether `path` is a path on this server, as [`ReturnTo`] says.
pub fn is_local_path(path: &str) -> bool {
    let mut chars = path.chars();
    path.len() <= MAX_RETURN_TO
        && chars.next() == Some('/')
        && !matches!(chars.next(), Some('/' | '\\'))
        && path.chars().all(|c| c.is_ascii_graphic() && c != '\\')
}

#[OpenApi(prefix_path = "/auth", tag = "ApiTags::Auth")]
impl<S: Storage> OidcApi<S> {
    /// The OpenID Connect providers this server signs in with.
    ///
    /// May be empty. Start a sign-in at `/auth/oidc/{name}/login`.
    #[oai(path = "/providers", method = "get")]
    async fn providers(&self, oidc: Data<&Arc<Oidc>>) -> Json<Vec<ProviderBody>> {
        Json(
            oidc.list()
                .into_iter()
                .map(|(name, display_name)| ProviderBody { name, display_name })
                .collect(),
        )
    }

    /// Sign in with a provider.
    ///
    /// Redirects to the provider (authorization code flow with PKCE S256, `state` and
    /// `nonce`, scopes `openid email profile`); it sends the person back to the callback.
    /// `return_to` (a path on this server, default `/`; 400 `invalid_return_to` otherwise) is
    /// where the callback sends them signed in. `invite`: a group invite code, needed to
    /// create an account when the sign-up policy is `invite`. 404 for an unknown provider,
    /// 401 `oidc_failed` when it cannot be reached.
    #[oai(path = "/oidc/:provider/login", method = "get")]
    async fn login(
        &self,
        oidc: Data<&Arc<Oidc>>,
        /// The provider's name.
        provider: Path<String>,
        /// Where to go once signed in.
        return_to: Query<Option<ReturnTo>>,
        /// A group invite code.
        #[oai(validator(max_length = 64))]
        invite: Query<Option<String>>,
    ) -> ApiResult<ToProvider> {
        if !oidc.has(&provider.0) {
            return Err(Error::NotFound("provider").into());
        }
        let return_to = return_to.0.map_or_else(|| "/".to_string(), |r| r.0);
        if !is_local_path(&return_to) {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_return_to",
                "return_to must be a path on this server, such as /groups",
            ));
        }
        let authorization = oidc.authorize(&provider.0).await?;
        self.ledger
            .start_oidc_login(OidcLoginStart {
                state: authorization.state,
                provider: provider.0,
                nonce: authorization.nonce,
                pkce_verifier: authorization.pkce_verifier,
                return_to,
                invite: invite.0.filter(|i| !i.is_empty()),
            })
            .await?;
        Ok(ToProvider::Found(authorization.url))
    }

    /// The provider's answer.
    ///
    /// Checks `state` (once: a replay is refused), exchanges `code` with the PKCE verifier and
    /// verifies the ID token (signature, `iss`, `aud`, `exp`, `nonce`). The person is found
    /// by (issuer, subject); the first time, an account with the same email is linked only
    /// if the provider verified the email, otherwise an account is made (409 `email_taken` if
    /// the email is in use; 403 `signup_closed` or `invite_required` as the sign-up policy
    /// says). Then on to `return_to` with the session cookie. Any other failure: 401
    /// `oidc_failed`.
    #[oai(path = "/oidc/:provider/callback", method = "get")]
    async fn callback(
        &self,
        oidc: Data<&Arc<Oidc>>,
        /// The provider's name.
        provider: Path<String>,
        /// The authorization code.
        code: Query<Option<String>>,
        /// The `state` sent to the provider.
        state: Query<Option<String>>,
        /// The provider's error, when the person refused or it failed.
        error: Query<Option<String>>,
    ) -> ApiResult<SignedIn> {
        let state = state
            .0
            .ok_or(Error::OidcFailed("the provider's answer has no state"))?;
        // Taken first, so whatever follows, this state never works again.
        let pending = self.ledger.take_oidc_login(&state).await?;
        if pending.provider != provider.0 {
            return Err(Error::OidcFailed("the login was started with another provider").into());
        }
        if let Some(error) = error.0 {
            tracing::info!(provider = %provider.0, %error, "the provider refused the sign-in");
            return Err(Error::OidcFailed("the provider refused the sign-in").into());
        }
        let code = code
            .0
            .filter(|c| !c.is_empty())
            .ok_or(Error::OidcFailed("the provider's answer has no code"))?;
        let claims = oidc
            .finish(&provider.0, code, pending.pkce_verifier, pending.nonce)
            .await?;
        let user = self
            .ledger
            .oidc_sign_in(claims, pending.invite.as_deref())
            .await?;
        let outcome = self.ledger.open_session(user).await?;
        let cookie = self.cookies.set(outcome.token.as_str(), outcome.expires_in);
        Ok(SignedIn::Found(pending.return_to, cookie))
    }
}

#[cfg(test)]
mod tests {
    use super::is_local_path;

    #[test]
    fn only_paths_on_this_server_are_local() {
        for ok in [
            "/",
            "/groups",
            "/groups/1?tab=balances#top",
            "/a//b",
            "/%2F%2Fevil",
        ] {
            assert!(is_local_path(ok), "{ok}");
        }
        for bad in [
            "",
            "groups",
            "//evil.example",
            "/\\evil.example",
            "https://evil.example/",
            "/a b",
            "/a\\b",
            "/\u{e9}",
            "/\n",
        ] {
            assert!(!is_local_path(bad), "{bad:?}");
        }
        assert!(!is_local_path(&format!("/{}", "a".repeat(2048))));
    }
}
