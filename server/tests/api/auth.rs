//! Sign-up, tokens, cookies, logout, password changes and throttling.

use serde_json::json;
use splitledger_core::{Ledger, MemoryStorage};

use crate::helpers::{TestApp, s, strict_login_config, test_settings};

#[tokio::test]
async fn sign_up_login_and_profile() {
    let app = TestApp::memory();
    let u = app
        .post("/api/v1/auth/signup")
        .json(json!({"email": " Ann@Example.com ", "password": "correct horse", "display_name": "Ann"}))
        .send()
        .await
        .expect(201);
    assert_eq!(u["email"], "ann@example.com");
    assert!(u.get("password").is_none());
    app.post("/api/v1/auth/signup")
        .json(json!({"email": "ann@example.com", "password": "another one", "display_name": "A"}))
        .send()
        .await
        .problem(409, "email_taken");

    let login = app
        .post("/api/v1/auth/login")
        .json(json!({"email": "ANN@example.com", "password": "correct horse"}))
        .send()
        .await;
    let body = login.expect(200);
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["user"]["id"], u["id"]);
    assert!(body["expires_in"].as_u64().unwrap_or(0) > 0);
    let cookie = login.header("set-cookie").unwrap_or_default().to_string();
    assert!(cookie.starts_with("splitledger_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "{cookie}");
    let token = s(&body["access_token"]);

    let me = app
        .get("/api/v1/users/me")
        .token(&token)
        .send()
        .await
        .expect(200);
    assert_eq!(me["id"], u["id"]);
    let session = cookie.split(';').next().unwrap_or_default().to_string();
    let me = app
        .get("/api/v1/users/me")
        .header("cookie", &session)
        .send()
        .await
        .expect(200);
    assert_eq!(me["display_name"], "Ann");

    let me = app
        .patch("/api/v1/users/me")
        .token(&token)
        .json(json!({"display_name": "Annie", "default_currency": "chf"}))
        .send()
        .await
        .expect(200);
    assert_eq!(me["display_name"], "Annie");
    assert_eq!(me["default_currency"], "CHF");
    let me = app
        .patch("/api/v1/users/me")
        .token(&token)
        .json(json!({"default_currency": null}))
        .send()
        .await
        .expect(200);
    assert_eq!(me["default_currency"], serde_json::Value::Null);
    assert_eq!(me["display_name"], "Annie");
    let p = app
        .patch("/api/v1/users/me")
        .token(&token)
        .json(json!({"display_name": " ", "default_currency": "XYZ"}))
        .send()
        .await
        .problem(422, "validation_failed");
    let fields: Vec<_> = p["errors"]
        .as_array()
        .map(|a| a.iter().map(|e| s(&e["field"])).collect())
        .unwrap_or_default();
    assert_eq!(fields, ["display_name", "default_currency"]);
    let me = app
        .get("/api/v1/users/me")
        .token(&token)
        .send()
        .await
        .expect(200);
    assert_eq!(me["display_name"], "Annie");

    let mine = app
        .get("/api/v1/users/me/balances")
        .token(&token)
        .send()
        .await
        .expect(200);
    assert_eq!(mine, json!({"groups": [], "totals": []}));
}

#[tokio::test]
async fn the_docs_authorize_button_request_gets_a_token() {
    // What Swagger UI's OAuth2 password flow posts: the form with a scope and a client id,
    // and an `Authorization: Basic` header for the (empty) client secret.
    let app = TestApp::memory();
    app.user("ann@example.com", "Ann").await;
    let body = app
        .post("/api/v1/auth/token")
        .header("authorization", "Basic c3dhZ2dlcjo=")
        .header("accept", "application/json, text/plain, */*")
        .raw(
            "application/x-www-form-urlencoded",
            "grant_type=password&username=ann%40example.com&password=correct%20horse&scope=ledger&client_id=swagger",
        )
        .send()
        .await
        .expect(200);
    assert_eq!(body["token_type"], "bearer");
    let token = s(&body["access_token"]);
    app.get("/api/v1/users/me")
        .token(&token)
        .send()
        .await
        .expect(200);
}

#[tokio::test]
async fn secure_cookies_when_configured() {
    let mut settings = test_settings();
    settings.cookie_secure = true;
    let app = TestApp::in_process(MemoryStorage::new(), &settings);
    app.user("ann@example.com", "Ann").await;
    let r = app
        .post("/api/v1/auth/login")
        .json(json!({"email": "ann@example.com", "password": "correct horse"}))
        .send()
        .await;
    r.expect(200);
    assert!(
        r.header("set-cookie")
            .is_some_and(|c| c.contains("; Secure"))
    );
}

#[tokio::test]
async fn wrong_credentials_look_alike_and_no_token_is_401() {
    let app = TestApp::memory();
    app.user("ann@example.com", "Ann").await;
    let a = app
        .post("/api/v1/auth/login")
        .json(json!({"email": "ann@example.com", "password": "wrong password"}))
        .send()
        .await
        .problem(401, "invalid_credentials");
    let b = app
        .post("/api/v1/auth/login")
        .json(json!({"email": "nobody@example.com", "password": "wrong password"}))
        .send()
        .await
        .problem(401, "invalid_credentials");
    assert_eq!(a, b);
    app.post("/api/v1/auth/token")
        .raw(
            "application/x-www-form-urlencoded",
            "grant_type=client_credentials&username=a&password=b",
        )
        .send()
        .await
        .problem(400, "unsupported_grant_type");
    app.get("/api/v1/users/me")
        .send()
        .await
        .problem(401, "unauthenticated");
    app.get("/api/v1/users/me")
        .token("not-a-token")
        .send()
        .await
        .problem(401, "unauthenticated");
    app.get("/api/v1/groups")
        .header("cookie", "splitledger_session=forged")
        .send()
        .await
        .problem(401, "unauthenticated");
}

#[tokio::test]
async fn logout_revokes_the_token_and_the_cookie_used() {
    let app = TestApp::memory();
    let ann = app.user("ann@example.com", "Ann").await;
    let other = app.login("ann@example.com", "correct horse").await;
    app.post("/api/v1/auth/logout")
        .token(&ann.token)
        .send()
        .await
        .expect(204);
    app.get("/api/v1/users/me")
        .token(&ann.token)
        .send()
        .await
        .problem(401, "unauthenticated");
    app.get("/api/v1/users/me")
        .token(&other)
        .send()
        .await
        .expect(200);

    let login = app
        .post("/api/v1/auth/login")
        .json(json!({"email": "ann@example.com", "password": "correct horse"}))
        .send()
        .await;
    login.expect(200);
    let cookie = login
        .header("set-cookie")
        .and_then(|c| c.split(';').next())
        .unwrap_or_default()
        .to_string();
    let out = app
        .post("/api/v1/auth/logout")
        .header("cookie", &cookie)
        .send()
        .await;
    out.expect(204);
    assert!(
        out.header("set-cookie")
            .is_some_and(|c| c.contains("Max-Age=0"))
    );
    app.get("/api/v1/users/me")
        .header("cookie", &cookie)
        .send()
        .await
        .problem(401, "unauthenticated");
    app.post("/api/v1/auth/logout")
        .send()
        .await
        .problem(401, "unauthenticated");
}

#[tokio::test]
async fn a_password_change_revokes_the_other_sessions() {
    let app = TestApp::memory();
    let ann = app.user("ann@example.com", "Ann").await;
    let other = app.login("ann@example.com", "correct horse").await;
    app.post("/api/v1/users/me/password")
        .token(&ann.token)
        .json(json!({"current_password": "wrong guess", "new_password": "battery staple"}))
        .send()
        .await
        .problem(422, "validation_failed");
    app.get("/api/v1/users/me")
        .token(&other)
        .send()
        .await
        .expect(200);
    app.post("/api/v1/users/me/password")
        .token(&ann.token)
        .json(json!({"current_password": "correct horse", "new_password": "battery staple"}))
        .send()
        .await
        .expect(204);
    app.get("/api/v1/users/me")
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    app.get("/api/v1/users/me")
        .token(&other)
        .send()
        .await
        .problem(401, "unauthenticated");
    app.login("ann@example.com", "battery staple").await;
}

#[tokio::test]
async fn repeated_failures_are_throttled_with_retry_after() {
    let ledger = Ledger::with_config(MemoryStorage::new(), strict_login_config());
    let app = TestApp::with_ledger(ledger, &test_settings());
    app.user("ann@example.com", "Ann").await;
    let attempt = || {
        app.post("/api/v1/auth/login")
            .json(json!({"email": "ann@example.com", "password": "wrong password"}))
            .send()
    };
    attempt().await.problem(401, "invalid_credentials");
    attempt().await.problem(401, "invalid_credentials");
    let r = attempt().await;
    r.problem(429, "throttled");
    let wait: u64 = r
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!(wait >= 1, "Retry-After: {:?}", r.header("retry-after"));
    // Even the right password waits until then.
    app.post("/api/v1/auth/token")
        .raw(
            "application/x-www-form-urlencoded",
            "grant_type=password&username=ann%40example.com&password=correct+horse",
        )
        .send()
        .await
        .problem(429, "throttled");
}

/// 40 concurrent wrong passwords for one email over a real socket: exactly the 5 free
/// failures are checked (401), every other attempt is 429 with `Retry-After`.
async fn login_burst(app: TestApp) {
    app.user("ann@example.com", "Ann").await;
    let app = std::sync::Arc::new(app);
    let mut burst = tokio::task::JoinSet::new();
    for _ in 0..40 {
        let app = app.clone();
        burst.spawn(async move {
            let r = app
                .post("/api/v1/auth/login")
                .json(json!({"email": "ann@example.com", "password": "wrong password"}))
                .send()
                .await;
            let retry_after = r.header("retry-after").is_some();
            (r.status, retry_after)
        });
    }
    let mut answers = std::collections::BTreeMap::new();
    while let Some(answer) = burst.join_next().await {
        let (status, retry_after) = answer.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(retry_after, status == 429, "Retry-After exactly on 429");
        *answers.entry(status).or_insert(0) += 1;
    }
    assert_eq!(answers, [(401, 5), (429, 35)].into_iter().collect());
}

#[sqlx::test(migrator = "splitledger_storage_sqlx::POSTGRES_MIGRATOR")]
async fn a_login_burst_gets_five_guesses_on_postgres(pool: sqlx::PgPool) {
    login_burst(TestApp::spawn(splitledger_storage_sqlx::PgStorage::from_pool(pool)).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_login_burst_gets_five_guesses_on_sqlite() {
    let (store, dir) = crate::helpers::sqlite_store().await;
    login_burst(TestApp::spawn(store).await).await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// `GET /users/{id}`: `{id, display_name}` for co-members (never the email), 404 for
/// everyone else; `/users/me` still answers the caller's own profile.
#[tokio::test]
async fn people_see_co_members_only() {
    let app = TestApp::memory();
    let ann = app.user("ann@example.com", "Ann").await;
    let bob = app.user("bob@example.com", "Bob").await;
    let cid = app.user("cid@example.com", "Cid").await;
    let g = app.group(&ann, "Trip").await;
    app.add(&ann, &g, &bob, "member").await;
    let seen = app
        .get(&format!("/api/v1/users/{}", bob.id))
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    assert_eq!(seen, json!({"id": bob.id, "display_name": "Bob"}));
    for (who, whom) in [(&cid, &ann), (&ann, &cid)] {
        app.get(&format!("/api/v1/users/{}", whom.id))
            .token(&who.token)
            .send()
            .await
            .problem(404, "not_found");
    }
    app.get(&format!("/api/v1/users/{}", bob.id))
        .send()
        .await
        .problem(401, "unauthenticated");
    let me = app
        .get("/api/v1/users/me")
        .token(&cid.token)
        .send()
        .await
        .expect(200);
    assert_eq!(me["email"], "cid@example.com");
}
