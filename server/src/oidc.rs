//! OpenID Connect providers: their settings (`--oidc`), discovery (cached, refreshed when
//! stale or when a token names a key the cache lacks), and the two halves of the
//! authorization code flow with PKCE (S256), `state` and `nonce`. ID tokens are checked by the
//! `openidconnect` crate: signature against the provider's published keys, `iss`, `aud`,
//! `exp` and `nonce`. What the verified claims mean (which account, linking, the sign-up
//! policy) is the Ledger's business.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreIdToken, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, SignatureVerificationError, TokenResponse, reqwest,
};
use splitledger_core::Error;
use splitledger_core::ledger::OidcClaims;
use tokio::sync::RwLock;

/// How long discovered metadata (endpoints and keys) is trusted before it is fetched again.
const METADATA_MAX_AGE: Duration = Duration::from_secs(3600);
/// How long a call to a provider may take.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);

/// One provider as configured: `NAME=ISSUER_URL,CLIENT_ID,CLIENT_SECRET`.
#[derive(Clone, PartialEq, Eq)]
pub struct ProviderSetting {
    /// The name in the API's paths (`/auth/oidc/{name}/login`).
    pub name: String,
    /// The issuer URL (discovery is at `ISSUER/.well-known/openid-configuration`).
    pub issuer: String,
    /// The client id registered with the provider.
    pub client_id: String,
    /// The client secret registered with the provider.
    pub client_secret: String,
}

impl std::fmt::Debug for ProviderSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderSetting")
            .field("name", &self.name)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"***")
            .finish()
    }
}

/// Every configured provider, in the order given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Providers(pub Vec<ProviderSetting>);

/// Parses `NAME=ISSUER_URL,CLIENT_ID,CLIENT_SECRET`, several separated by `;`.
pub fn parse_providers(text: &str) -> Result<Providers, String> {
    let mut providers: Vec<ProviderSetting> = Vec::new();
    for entry in text.split(';').map(str::trim).filter(|e| !e.is_empty()) {
        let (name, rest) = entry.split_once('=').ok_or_else(|| {
            format!(
                "`{}`: expected NAME=ISSUER_URL,CLIENT_ID,CLIENT_SECRET",
                redact(entry)
            )
        })?;
        let name = name.trim();
        if name.is_empty()
            || name.len() > 32
            || !name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        {
            return Err(format!(
                "provider name `{name}`: 1 to 32 of a-z, 0-9, `-` and `_`"
            ));
        }
        let parts: Vec<&str> = rest.splitn(3, ',').map(str::trim).collect();
        let [issuer, client_id, client_secret] = parts[..] else {
            return Err(format!(
                "provider `{name}`: expected ISSUER_URL,CLIENT_ID,CLIENT_SECRET"
            ));
        };
        let issuer_url = IssuerUrl::new(issuer.to_string())
            .map_err(|e| format!("provider `{name}`: issuer `{issuer}` is not a URL: {e}"))?;
        if !matches!(issuer_url.url().scheme(), "https" | "http") {
            return Err(format!(
                "provider `{name}`: the issuer must be an http(s) URL"
            ));
        }
        if client_id.is_empty() || client_secret.is_empty() {
            return Err(format!(
                "provider `{name}`: the client id and secret must not be empty"
            ));
        }
        if providers.iter().any(|p| p.name == name) {
            return Err(format!("provider `{name}` is configured twice"));
        }
        providers.push(ProviderSetting {
            name: name.to_string(),
            issuer: issuer.to_string(),
            client_id: client_id.to_string(),
            client_secret: client_secret.to_string(),
        });
    }
    Ok(Providers(providers))
}

/// An entry as it may be shown in an error: the secret (after the last comma) hidden.
fn redact(entry: &str) -> String {
    match entry.rsplit_once(',') {
        Some((head, _)) => format!("{head},***"),
        None => entry.to_string(),
    }
}

/// The name people see for a provider: well-known issuers by their brand, others by the
/// configured name with a capital.
fn display_name(setting: &ProviderSetting) -> String {
    let known = [
        ("https://accounts.google.com", "Google"),
        ("https://login.microsoftonline.com", "Microsoft"),
        ("https://gitlab.com", "GitLab"),
    ];
    if let Some((_, brand)) = known
        .iter()
        .find(|(issuer, _)| setting.issuer.starts_with(issuer))
    {
        return (*brand).to_string();
    }
    let mut chars = setting.name.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

struct Provider {
    setting: ProviderSetting,
    display_name: String,
    redirect: RedirectUrl,
    metadata: RwLock<Option<(Instant, CoreProviderMetadata)>>,
}

/// A login ready to be sent to a provider: where to send the person, and the secrets its
/// callback needs.
#[derive(Debug)]
pub struct Authorization {
    /// The provider's authorization URL with every parameter.
    pub url: String,
    /// The `state` in that URL.
    pub state: String,
    /// The `nonce` in that URL.
    pub nonce: String,
    /// The PKCE verifier whose S256 challenge is in that URL.
    pub pkce_verifier: String,
}

/// The configured providers and an HTTP client that follows no redirects (a provider's
/// answer is used as it is; following redirects would let one point the server anywhere).
pub struct Oidc {
    providers: BTreeMap<String, Provider>,
    order: Vec<String>,
    /// `None` when no provider is configured: nothing is ever fetched then.
    http: Option<reqwest::Client>,
}

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oidc")
            .field("providers", &self.order)
            .finish_non_exhaustive()
    }
}

fn failed(why: &'static str) -> Error {
    Error::OidcFailed(why)
}

impl Oidc {
    /// The providers, with redirect URIs `{public_url}{api_prefix}/auth/oidc/{name}/callback`.
    pub fn new(providers: &Providers, public_url: &str, api_prefix: &str) -> Result<Self, String> {
        let http = if providers.0.is_empty() {
            None
        } else {
            Some(
                reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .timeout(PROVIDER_TIMEOUT)
                    .build()
                    .map_err(|e| format!("cannot build its HTTP client: {e}"))?,
            )
        };
        let base = public_url.trim_end_matches('/');
        let mut map = BTreeMap::new();
        for setting in &providers.0 {
            let redirect = RedirectUrl::new(format!(
                "{base}{api_prefix}/auth/oidc/{}/callback",
                setting.name
            ))
            .map_err(|e| format!("public URL `{public_url}`: {e}"))?;
            map.insert(
                setting.name.clone(),
                Provider {
                    display_name: display_name(setting),
                    setting: setting.clone(),
                    redirect,
                    metadata: RwLock::new(None),
                },
            );
        }
        Ok(Self {
            order: providers.0.iter().map(|p| p.name.clone()).collect(),
            providers: map,
            http,
        })
    }

    /// No providers (the OpenAPI document, tests without sign-in).
    pub fn none() -> Self {
        Self {
            providers: BTreeMap::new(),
            order: Vec::new(),
            http: None,
        }
    }

    /// `(name, display_name)` of every provider, in the configured order.
    pub fn list(&self) -> Vec<(String, String)> {
        self.order
            .iter()
            .filter_map(|n| self.providers.get(n))
            .map(|p| (p.setting.name.clone(), p.display_name.clone()))
            .collect()
    }

    /// Whether a provider of that name is configured.
    pub fn has(&self, name: &str) -> bool {
        self.providers.contains_key(name)
    }

    /// Discovers every provider now, logging which answer; the ones down are tried again at
    /// their next login.
    pub async fn discover_all(&self) {
        for provider in self.providers.values() {
            // Errors are logged inside.
            let _ = self.metadata(provider, true).await;
        }
    }

    /// The provider's metadata, fetched when absent, stale or `refresh` is asked for.
    async fn metadata(&self, p: &Provider, refresh: bool) -> Result<CoreProviderMetadata, Error> {
        if !refresh
            && let Some((at, metadata)) = &*p.metadata.read().await
            && at.elapsed() < METADATA_MAX_AGE
        {
            return Ok(metadata.clone());
        }
        let issuer = IssuerUrl::new(p.setting.issuer.clone())
            .map_err(|_| failed("the provider's issuer URL is not usable"))?;
        match CoreProviderMetadata::discover_async(issuer, self.http()?).await {
            Ok(metadata) => {
                tracing::info!(
                    provider = %p.setting.name,
                    issuer = %p.setting.issuer,
                    "OpenID Connect provider discovered"
                );
                *p.metadata.write().await = Some((Instant::now(), metadata.clone()));
                Ok(metadata)
            }
            Err(e) => {
                tracing::warn!(
                    provider = %p.setting.name,
                    issuer = %p.setting.issuer,
                    error = %error_chain(&e),
                    "OpenID Connect discovery failed: the provider is down or misconfigured; \
                     sign-in with it answers 401 oidc_failed until it answers"
                );
                Err(failed("the provider cannot be reached"))
            }
        }
    }

    fn http(&self) -> Result<&reqwest::Client, Error> {
        self.http
            .as_ref()
            .ok_or_else(|| failed("no provider is configured"))
    }

    fn provider(&self, name: &str) -> Result<&Provider, Error> {
        self.providers.get(name).ok_or(Error::NotFound("provider"))
    }

    /// Starts a login: the authorization URL (code flow, scopes `openid email profile`, PKCE
    /// S256, fresh `state` and `nonce`) and the secrets to keep for the callback.
    pub async fn authorize(&self, name: &str) -> Result<Authorization, Error> {
        let p = self.provider(name)?;
        let metadata = self.metadata(p, false).await?;
        let client = client(p, metadata);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("email".to_string()))
            .add_scope(Scope::new("profile".to_string()))
            .set_pkce_challenge(challenge)
            .url();
        Ok(Authorization {
            url: url.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    /// Finishes a login: exchanges the code (with the PKCE verifier) and verifies the ID
    /// token; its claims on success. A token signed by a key the cached set lacks gets one
    /// fresh discovery before it is refused (providers rotate their keys).
    pub async fn finish(
        &self,
        name: &str,
        code: String,
        pkce_verifier: String,
        nonce: String,
    ) -> Result<OidcClaims, Error> {
        let p = self.provider(name)?;
        let client = client(p, self.metadata(p, false).await?);
        let response = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|_| failed("the provider has no token endpoint"))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier))
            .request_async(self.http()?)
            .await
            .map_err(|e| {
                tracing::warn!(
                    provider = %p.setting.name,
                    error = %error_chain(&e),
                    "OpenID Connect code exchange failed"
                );
                failed("the provider refused the authorization code")
            })?;
        let id_token = response
            .id_token()
            .ok_or_else(|| failed("the provider sent no ID token"))?
            .clone();
        let nonce = Nonce::new(nonce);
        let verified = match verify(&client, &id_token, &nonce) {
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) => {
                let client = self::client(p, self.metadata(p, true).await?);
                verify(&client, &id_token, &nonce)
            }
            other => other,
        };
        verified.map_err(|e| {
            tracing::warn!(
                provider = %p.setting.name,
                error = %error_chain(&e),
                "OpenID Connect ID token refused"
            );
            failed("the ID token did not verify")
        })
    }
}

/// The client over a provider's metadata: its endpoints, its keys and this server's
/// credentials and redirect URI.
type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

fn client(p: &Provider, metadata: CoreProviderMetadata) -> Client {
    CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(p.setting.client_id.clone()),
        Some(ClientSecret::new(p.setting.client_secret.clone())),
    )
    .set_redirect_uri(p.redirect.clone())
}

/// The token's signature, `iss`, `aud`, `exp` and `nonce`, checked by the library; then what
/// the Ledger needs from its claims.
fn verify(
    client: &Client,
    id_token: &CoreIdToken,
    nonce: &Nonce,
) -> Result<OidcClaims, ClaimsVerificationError> {
    let claims = id_token.claims(&client.id_token_verifier(), nonce)?;
    Ok(OidcClaims {
        issuer: claims.issuer().as_str().to_string(),
        subject: claims.subject().as_str().to_string(),
        email: claims.email().map(|e| e.as_str().to_string()),
        email_verified: claims.email_verified().unwrap_or(false),
        name: claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().to_string()),
    })
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(e) = next {
        text.push_str(": ");
        text.push_str(&e.to_string());
        next = e.source();
    }
    text
}
