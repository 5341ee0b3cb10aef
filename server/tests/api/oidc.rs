//! Sign-in with OpenID Connect against a mock provider on a spare port: discovery, JWKS, an
//! authorization endpoint that checks the request and a token endpoint that checks the PKCE
//! verifier and the client's credentials, with ID tokens signed by a test RSA key.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{Duration, Utc};
use openidconnect::core::{
    CoreIdToken, CoreIdTokenClaims, CoreIdTokenFields, CoreJsonWebKeySet, CoreJwsSigningAlgorithm,
    CoreRsaPrivateSigningKey, CoreTokenResponse, CoreTokenType,
};
use openidconnect::url::Url;
use openidconnect::{
    AccessToken, Audience, EmptyAdditionalClaims, EmptyExtraTokenFields, EndUserEmail, EndUserName,
    IssuerUrl, JsonWebKeyId, LocalizedClaim, Nonce, PrivateSigningKey, StandardClaims,
    SubjectIdentifier, reqwest,
};
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::web::{Data, Form, Json, Query};
use poem::{EndpointExt, IntoResponse, Response, Route, Server, get, handler, post};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use splitledger_core::ledger::{NewGroup, NewInvite, SignUp, SignupPolicy};
use splitledger_core::{Ledger, MemoryStorage};
use splitledger_server::oidc::{ProviderSetting, Providers};
use splitledger_server::settings::SignupMode;
use splitledger_server::{Settings, startup::ledger_config};

use crate::helpers::{Reply, TestApp, sqlite_store, test_settings};

const CLIENT_ID: &str = "splitledger-test";
const CLIENT_SECRET: &str = "test-secret";
const PUBLIC_URL: &str = "http://ledger.test";
const SIGNING_KEY: &str = include_str!("oidc_keys/signing.pem");
const IMPOSTOR_KEY: &str = include_str!("oidc_keys/impostor.pem");

/// What the next ID token says, and how it is made.
#[derive(Debug, Clone)]
struct Person {
    subject: String,
    email: Option<String>,
    email_verified: bool,
    name: String,
    audience: String,
    expires_in: Duration,
    nonce: Option<String>,
    impostor: bool,
}

impl Person {
    fn new(subject: &str, email: &str, verified: bool) -> Self {
        Self {
            subject: subject.into(),
            email: Some(email.into()),
            email_verified: verified,
            name: format!("Person {subject}"),
            audience: CLIENT_ID.into(),
            expires_in: Duration::minutes(5),
            nonce: None,
            impostor: false,
        }
    }
}

struct Grant {
    nonce: String,
    challenge: String,
    redirect_uri: String,
}

struct Provider {
    issuer: String,
    person: Mutex<Person>,
    grants: Mutex<HashMap<String, Grant>>,
}

fn key(pem: &str) -> CoreRsaPrivateSigningKey {
    CoreRsaPrivateSigningKey::from_pem(pem, Some(JsonWebKeyId::new("k1".into())))
        .unwrap_or_else(|e| panic!("{e}"))
}

#[handler]
fn discovery_endpoint(p: Data<&Arc<Provider>>) -> Json<Value> {
    let i = &p.issuer;
    Json(json!({
        "issuer": i,
        "authorization_endpoint": format!("{i}/authorize"),
        "token_endpoint": format!("{i}/token"),
        "jwks_uri": format!("{i}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }))
}

#[handler]
fn jwks_endpoint() -> Json<Value> {
    let set = CoreJsonWebKeySet::new(vec![key(SIGNING_KEY).as_verification_key()]);
    Json(serde_json::to_value(set).unwrap_or_default())
}

/// Checks the request as a provider would, then sends the browser back with a code.
#[handler]
fn authorize_endpoint(p: Data<&Arc<Provider>>, q: Query<HashMap<String, String>>) -> Response {
    let q = q.0;
    let scopes: Vec<&str> = q
        .get("scope")
        .map(|s| s.split(' ').collect())
        .unwrap_or_default();
    let ok = q.get("response_type").map(String::as_str) == Some("code")
        && q.get("client_id").map(String::as_str) == Some(CLIENT_ID)
        && q.get("code_challenge_method").map(String::as_str) == Some("S256")
        && ["openid", "email", "profile"]
            .iter()
            .all(|s| scopes.contains(s));
    let (Some(state), Some(nonce), Some(challenge), Some(redirect_uri), true) = (
        q.get("state"),
        q.get("nonce"),
        q.get("code_challenge"),
        q.get("redirect_uri"),
        ok,
    ) else {
        return poem::http::StatusCode::BAD_REQUEST.into_response();
    };
    let code = format!("code-{}", uuid::Uuid::new_v4());
    p.grants.lock().unwrap_or_else(|e| e.into_inner()).insert(
        code.clone(),
        Grant {
            nonce: nonce.clone(),
            challenge: challenge.clone(),
            redirect_uri: redirect_uri.clone(),
        },
    );
    let mut back = Url::parse(redirect_uri).unwrap_or_else(|e| panic!("{e}"));
    back.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", state);
    Response::builder()
        .status(poem::http::StatusCode::FOUND)
        .header("location", back.as_str())
        .finish()
}

/// The code once, with the right verifier, redirect URI and client credentials.
#[handler]
fn token_endpoint(
    p: Data<&Arc<Provider>>,
    req: &poem::Request,
    form: Form<HashMap<String, String>>,
) -> Response {
    let refuse = || {
        (
            poem::http::StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_grant"})),
        )
            .into_response()
    };
    let basic = format!(
        "Basic {}",
        STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    if req.header("authorization") != Some(basic.as_str()) {
        return refuse();
    }
    let f = form.0;
    let grant = f
        .get("code")
        .and_then(|c| p.grants.lock().unwrap_or_else(|e| e.into_inner()).remove(c));
    let Some(grant) = grant else { return refuse() };
    let verifier = f.get("code_verifier").cloned().unwrap_or_default();
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    if f.get("grant_type").map(String::as_str) != Some("authorization_code")
        || challenge != grant.challenge
        || f.get("redirect_uri") != Some(&grant.redirect_uri)
    {
        return refuse();
    }
    let person = p.person.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let now = Utc::now();
    let mut claims = StandardClaims::new(SubjectIdentifier::new(person.subject.clone()))
        .set_email_verified(Some(person.email_verified))
        .set_name(Some(LocalizedClaim::from(EndUserName::new(
            person.name.clone(),
        ))));
    if let Some(email) = &person.email {
        claims = claims.set_email(Some(EndUserEmail::new(email.clone())));
    }
    let claims = CoreIdTokenClaims::new(
        IssuerUrl::new(p.issuer.clone()).unwrap_or_else(|e| panic!("{e}")),
        vec![Audience::new(person.audience.clone())],
        now + person.expires_in,
        now - Duration::seconds(1),
        claims,
        EmptyAdditionalClaims {},
    )
    .set_nonce(Some(Nonce::new(
        person.nonce.clone().unwrap_or(grant.nonce),
    )));
    let signer = key(if person.impostor {
        IMPOSTOR_KEY
    } else {
        SIGNING_KEY
    });
    let id_token = CoreIdToken::new(
        claims,
        &signer,
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        None,
        None,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let response = CoreTokenResponse::new(
        AccessToken::new("access".into()),
        CoreTokenType::Bearer,
        CoreIdTokenFields::new(Some(id_token), EmptyExtraTokenFields {}),
    );
    Json(serde_json::to_value(response).unwrap_or_default()).into_response()
}

/// A mock provider on a spare port.
struct Mock {
    provider: Arc<Provider>,
}

impl Mock {
    async fn start() -> Self {
        let acceptor = TcpListener::bind("127.0.0.1:0")
            .into_acceptor()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let addr = acceptor
            .local_addr()
            .first()
            .and_then(|a| a.as_socket_addr().copied())
            .unwrap_or_else(|| panic!("no address"));
        let provider = Arc::new(Provider {
            issuer: format!("http://{addr}"),
            person: Mutex::new(Person::new("alice-sub", "alice@example.com", true)),
            grants: Mutex::new(HashMap::new()),
        });
        let app = Route::new()
            .at("/.well-known/openid-configuration", get(discovery_endpoint))
            .at("/jwks", get(jwks_endpoint))
            .at("/authorize", get(authorize_endpoint))
            .at("/token", post(token_endpoint))
            .data(Arc::clone(&provider));
        tokio::spawn(Server::new_with_acceptor(acceptor).run(app));
        Self { provider }
    }

    fn next(&self, person: Person) {
        *self
            .provider
            .person
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = person;
    }

    fn settings(&self) -> Settings {
        let mut s = test_settings();
        s.oidc = Providers(vec![ProviderSetting {
            name: "mock".into(),
            issuer: self.provider.issuer.clone(),
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
        }]);
        s.public_url = Some(PUBLIC_URL.into());
        s
    }
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Starts a login, lets the mock's authorization endpoint answer it, and returns the path
/// (and query) of the callback it sends the browser to.
async fn through_provider(app: &TestApp, query: &str) -> String {
    let start = app
        .get(&format!("/api/v1/auth/oidc/mock/login{query}"))
        .send()
        .await;
    assert_eq!(start.status, 302, "{}", start.text);
    let to_provider = start.header("location").unwrap_or_default().to_string();
    let back = no_redirects()
        .get(&to_provider)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        back.status().as_u16(),
        302,
        "the mock refused {to_provider}"
    );
    let callback = back
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let path = callback
        .strip_prefix(PUBLIC_URL)
        .unwrap_or_else(|| panic!("callback {callback} is not on the public URL"));
    assert!(
        path.starts_with("/api/v1/auth/oidc/mock/callback?"),
        "{path}"
    );
    path.to_string()
}

async fn sign_in(app: &TestApp, query: &str) -> Reply {
    let callback = through_provider(app, query).await;
    app.get(&callback).send().await
}

/// The session token from a successful callback's cookie.
fn session(reply: &Reply) -> String {
    assert_eq!(reply.status, 302, "{}", reply.text);
    let cookie = reply.header("set-cookie").unwrap_or_default();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    cookie
        .split(';')
        .next()
        .and_then(|c| c.split_once('='))
        .map(|(_, v)| v.to_string())
        .unwrap_or_default()
}

async fn me(app: &TestApp, token: &str) -> Value {
    app.get("/api/v1/users/me")
        .token(token)
        .send()
        .await
        .expect(200)
}

#[tokio::test]
async fn sign_in_with_a_provider() {
    let mock = Mock::start().await;
    let app = TestApp::in_process(MemoryStorage::new(), &mock.settings());

    let providers = app.get("/api/v1/auth/providers").send().await.expect(200);
    assert_eq!(providers, json!([{"name": "mock", "display_name": "Mock"}]));
    assert_eq!(
        TestApp::memory()
            .get("/api/v1/auth/providers")
            .send()
            .await
            .expect(200),
        json!([])
    );

    // The redirect asks for the code flow with PKCE S256, a state and a nonce.
    let start = app.get("/api/v1/auth/oidc/mock/login").send().await;
    assert_eq!(start.status, 302);
    let url =
        Url::parse(start.header("location").unwrap_or_default()).unwrap_or_else(|e| panic!("{e}"));
    let q: HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(
        q["redirect_uri"],
        format!("{PUBLIC_URL}/api/v1/auth/oidc/mock/callback")
    );
    assert!(q["state"].len() >= 16 && q["nonce"].len() >= 16);

    let reply = sign_in(&app, "?return_to=%2Fgroups%3Ftab%3D1").await;
    assert_eq!(reply.header("location"), Some("/groups?tab=1"));
    let token = session(&reply);
    let alice = me(&app, &token).await;
    assert_eq!(alice["email"], "alice@example.com");
    assert_eq!(alice["display_name"], "Person alice-sub");

    // The next time, the same account; the default return_to is `/`.
    let again = sign_in(&app, "").await;
    assert_eq!(again.header("location"), Some("/"));
    assert_eq!(me(&app, &session(&again)).await["id"], alice["id"]);

    // An account made by a provider has no password.
    app.post("/api/v1/auth/login")
        .json(json!({"email": "alice@example.com", "password": "!"}))
        .send()
        .await
        .problem(401, "invalid_credentials");
}

#[tokio::test]
async fn verified_emails_link_and_unverified_ones_do_not() {
    let mock = Mock::start().await;
    let app = TestApp::in_process(MemoryStorage::new(), &mock.settings());
    let ann = app.user("ann@example.com", "Ann").await;

    mock.next(Person::new("ann-unverified", "ANN@example.com", false));
    sign_in(&app, "").await.problem(409, "email_taken");

    mock.next(Person::new("ann-sub", "ann@example.com", true));
    let token = session(&sign_in(&app, "").await);
    assert_eq!(me(&app, &token).await["id"], ann.id);
    // Her password still works.
    app.login("ann@example.com", "correct horse").await;

    // Unverified and free: a new account.
    mock.next(Person::new("bob-sub", "bob@example.com", false));
    let bob = me(&app, &session(&sign_in(&app, "").await)).await;
    assert_eq!(bob["email"], "bob@example.com");
    assert_ne!(bob["id"], ann.id);
}

#[tokio::test]
async fn tokens_that_do_not_verify_are_refused() {
    let mock = Mock::start().await;
    let app = TestApp::in_process(MemoryStorage::new(), &mock.settings());
    let cases = [
        Person {
            impostor: true,
            ..Person::new("s", "s@example.com", true)
        },
        Person {
            audience: "someone-else".into(),
            ..Person::new("s", "s@example.com", true)
        },
        Person {
            expires_in: Duration::minutes(-10),
            ..Person::new("s", "s@example.com", true)
        },
        Person {
            nonce: Some("not-the-nonce".into()),
            ..Person::new("s", "s@example.com", true)
        },
    ];
    for person in cases {
        mock.next(person.clone());
        let reply = sign_in(&app, "").await;
        reply.problem(401, "oidc_failed");
        assert!(reply.header("set-cookie").is_none(), "{person:?}");
    }
    // None of them made an account.
    app.post("/api/v1/auth/signup")
        .json(json!({"email": "s@example.com", "password": "long enough", "display_name": "S"}))
        .send()
        .await
        .expect(201);
}

#[tokio::test]
async fn a_state_works_once_and_only_with_its_provider() {
    let mock = Mock::start().await;
    let app = TestApp::in_process(MemoryStorage::new(), &mock.settings());
    let callback = through_provider(&app, "").await;
    session(&app.get(&callback).send().await);
    app.get(&callback).send().await.problem(401, "oidc_failed");

    for bad in [
        "/api/v1/auth/oidc/mock/callback?code=x&state=forged",
        "/api/v1/auth/oidc/mock/callback?code=x",
        "/api/v1/auth/oidc/mock/callback",
    ] {
        app.get(bad).send().await.problem(401, "oidc_failed");
    }
    // A refusal at the provider uses the state up too.
    let callback = through_provider(&app, "").await;
    let state = callback.split("state=").nth(1).unwrap_or_default();
    app.get(&format!(
        "/api/v1/auth/oidc/mock/callback?error=access_denied&state={state}"
    ))
    .send()
    .await
    .problem(401, "oidc_failed");
    app.get(&callback).send().await.problem(401, "oidc_failed");
}

#[tokio::test]
async fn return_to_stays_on_this_server() {
    let mock = Mock::start().await;
    let app = TestApp::in_process(MemoryStorage::new(), &mock.settings());
    for bad in [
        "https%3A%2F%2Fevil.example%2F",
        "%2F%2Fevil.example",
        "%2F%5Cevil.example",
        "groups",
        "",
    ] {
        app.get(&format!("/api/v1/auth/oidc/mock/login?return_to={bad}"))
            .send()
            .await
            .problem(400, "invalid_return_to");
    }
    app.get("/api/v1/auth/oidc/nope/login")
        .send()
        .await
        .problem(404, "not_found");
}

#[tokio::test]
async fn a_provider_that_is_down_fails_the_login() {
    let mut settings = test_settings();
    // A port nothing listens on: bound, then closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"));
    settings.oidc = Providers(vec![ProviderSetting {
        name: "down".into(),
        issuer: format!("http://127.0.0.1:{port}"),
        client_id: CLIENT_ID.into(),
        client_secret: CLIENT_SECRET.into(),
    }]);
    let app = TestApp::in_process(MemoryStorage::new(), &settings);
    app.get("/api/v1/auth/oidc/down/login")
        .send()
        .await
        .problem(401, "oidc_failed");
}

#[tokio::test]
async fn the_signup_policy_applies_to_providers_and_passwords() {
    let mock = Mock::start().await;
    let mut settings = mock.settings();
    settings.signup = SignupMode::Closed;
    let open = Ledger::with_config(MemoryStorage::new(), ledger_config(&test_settings()));
    let owner = open
        .sign_up(SignUp {
            email: "owner@example.com".into(),
            password: "correct horse".into(),
            display_name: "Owner".into(),
            invite_code: None,
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let group = open
        .create_group(
            owner.id,
            NewGroup {
                name: "Flat".into(),
                description: None,
                currency: "EUR".into(),
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let invite = open
        .create_invite(owner.id, group.group.id, NewInvite::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let closed = TestApp::with_ledger(
        open.clone().with_signup_policy(SignupPolicy::Closed),
        &settings,
    );
    mock.next(Person::new("new-sub", "new@example.com", true));
    sign_in(&closed, "").await.problem(403, "signup_closed");
    closed
        .post("/api/v1/auth/signup")
        .json(json!({"email": "new@example.com", "password": "long enough", "display_name": "N"}))
        .send()
        .await
        .problem(403, "signup_closed");
    // An existing account still signs in (and links, its email being verified).
    mock.next(Person::new("owner-sub", "owner@example.com", true));
    session(&sign_in(&closed, "").await);

    settings.signup = SignupMode::Invite;
    let invite_only = TestApp::with_ledger(
        open.clone().with_signup_policy(SignupPolicy::Invite),
        &settings,
    );
    mock.next(Person::new("new-sub", "new@example.com", true));
    sign_in(&invite_only, "")
        .await
        .problem(403, "invite_required");
    sign_in(&invite_only, "?invite=wrong")
        .await
        .problem(403, "invite_required");
    let token = session(&sign_in(&invite_only, &format!("?invite={}", invite.code)).await);
    // The code still joins the group.
    invite_only
        .post(&format!("/api/v1/invites/{}/accept", invite.code))
        .token(&token)
        .send()
        .await
        .expect(200);
    invite_only
        .post("/api/v1/auth/signup")
        .json(json!({"email": "pw@example.com", "password": "long enough", "display_name": "P"}))
        .send()
        .await
        .problem(403, "invite_required");
    invite_only
        .post("/api/v1/auth/signup")
        .json(
            json!({"email": "pw@example.com", "password": "long enough", "display_name": "P",
                     "invite_code": invite.code}),
        )
        .send()
        .await
        .expect(201);
}

#[tokio::test]
async fn a_login_started_on_one_server_finishes_on_another() {
    let mock = Mock::start().await;
    let (store, dir) = sqlite_store().await;
    let ledger = Ledger::with_config(store, ledger_config(&mock.settings()));
    let first = TestApp::with_ledger(ledger.clone(), &mock.settings());
    let second = TestApp::with_ledger(ledger, &mock.settings());
    let callback = through_provider(&first, "?return_to=%2Fwelcome").await;
    let reply = second.get(&callback).send().await;
    assert_eq!(reply.header("location"), Some("/welcome"));
    let token = session(&reply);
    assert_eq!(me(&first, &token).await["email"], "alice@example.com");
    // Used up on every copy.
    first
        .get(&callback)
        .send()
        .await
        .problem(401, "oidc_failed");
    std::fs::remove_dir_all(dir).ok();
}
