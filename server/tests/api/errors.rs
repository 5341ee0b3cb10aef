//! Every failure is problem+json; bad input never yields a 5xx.

use serde_json::json;

use crate::helpers::{TestApp, s, test_settings};

#[tokio::test]
async fn unknown_routes_and_methods_are_problems() {
    let app = TestApp::memory();
    app.get("/nope").send().await.problem(404, "not_found");
    app.get("/api/v1/nope")
        .send()
        .await
        .problem(404, "not_found");
    let r = app.delete("/health").send().await;
    assert_eq!(r.header("allow"), Some("GET"));
    r.problem(405, "method_not_allowed");
    let r = app
        .req(poem::http::Method::PUT, "/api/v1/auth/signup")
        .send()
        .await;
    assert_eq!(r.header("allow"), Some("POST"));
    r.problem(405, "method_not_allowed");
    // A templated path: the methods of that route, whatever the ids.
    let r = app
        .req(
            poem::http::Method::PUT,
            &format!("/api/v1/groups/{}", uuid::Uuid::new_v4()),
        )
        .send()
        .await;
    let mut allow: Vec<&str> = r.header("allow").unwrap_or("").split(", ").collect();
    allow.sort_unstable();
    assert_eq!(allow, ["DELETE", "GET", "PATCH"]);
    r.problem(405, "method_not_allowed");
}

#[tokio::test]
async fn malformed_bodies_are_400_problems() {
    let app = TestApp::memory();
    let cases: &[(&str, &str, &str)] = &[
        ("application/json", "{\"email\": ", "malformed_body"),
        ("application/json", "not json", "malformed_body"),
        ("application/json", "[]", "malformed_body"),
        (
            "application/json",
            "{\"email\": {}, \"password\": \"x\", \"display_name\": \"y\"}",
            "malformed_body",
        ),
        (
            "application/json",
            "{\"email\": \"a@b.io\"}",
            "malformed_body",
        ),
    ];
    for (ct, body, code) in cases {
        app.post("/api/v1/auth/signup")
            .raw(ct, *body)
            .send()
            .await
            .problem(400, code);
    }
    app.post("/api/v1/auth/signup")
        .raw("text/plain", "hello")
        .send()
        .await
        .problem(415, "unsupported_media_type");
    app.post("/api/v1/auth/signup")
        .send()
        .await
        .problem(415, "unsupported_media_type");
}

#[tokio::test]
async fn amounts_sent_as_numbers_are_refused_and_nothing_is_written() {
    let app = TestApp::memory();
    let ann = app.user("ann@example.com", "Ann").await;
    let g = app.group(&ann, "Trip").await;
    let p = app
        .post(&format!("/api/v1/groups/{g}/expenses"))
        .token(&ann.token)
        .json(json!({"description": "x", "amount": 12.5, "paid_by": ann.id, "split": {"type": "equal"}}))
        .send()
        .await
        .problem(400, "number_not_allowed");
    assert!(s(&p["detail"]).contains("never JSON numbers"), "{p}");
    let p = app
        .post(&format!("/api/v1/groups/{g}/settlements"))
        .token(&ann.token)
        .json(json!({"from_user": ann.id, "to_user": ann.id, "amount": 1}))
        .send()
        .await;
    p.problem(400, "number_not_allowed");
    let p = app
        .post(&format!("/api/v1/groups/{g}/expenses"))
        .token(&ann.token)
        .json(
            json!({"description": "x", "amount": "10", "paid_by": ann.id,
            "split": {"type": "percent", "shares": [{"user_id": ann.id, "percent": 100}]}}),
        )
        .send()
        .await;
    p.problem(400, "number_not_allowed");
    let list = app
        .get(&format!("/api/v1/groups/{g}/expenses"))
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    assert_eq!(list["items"], json!([]));
}

#[tokio::test]
async fn bad_parameters_are_400_problems() {
    let app = TestApp::memory();
    let ann = app.user("ann@example.com", "Ann").await;
    let g = app.group(&ann, "Trip").await;
    app.get("/api/v1/groups/not-a-uuid")
        .token(&ann.token)
        .send()
        .await
        .problem(400, "invalid_parameter");
    app.get(&format!("/api/v1/groups/{g}/expenses?from=2024-13-01"))
        .token(&ann.token)
        .send()
        .await
        .problem(400, "invalid_parameter");
    app.get(&format!("/api/v1/groups/{g}/expenses?limit=-1"))
        .token(&ann.token)
        .send()
        .await
        .problem(400, "invalid_parameter");
    app.get(&format!("/api/v1/groups/{g}/expenses?limit=0"))
        .token(&ann.token)
        .send()
        .await
        .problem(422, "validation_failed");
    app.get(&format!("/api/v1/groups/{g}/expenses?cursor=forged"))
        .token(&ann.token)
        .send()
        .await
        .problem(422, "validation_failed");
    app.get(&format!("/api/v1/groups/{g}/summary?by=weekday"))
        .token(&ann.token)
        .send()
        .await
        .problem(400, "invalid_parameter");
}

#[tokio::test]
async fn bodies_over_the_limit_are_413_problems() {
    let mut settings = test_settings();
    settings.body_limit = 1024;
    let app = TestApp::in_process(splitledger_core::MemoryStorage::new(), &settings);
    let big = json!({"email": "a@b.io", "password": "x".repeat(2000), "display_name": "A"});
    app.post("/api/v1/auth/signup")
        .json(big)
        .send()
        .await
        .problem(413, "payload_too_large");
}

#[tokio::test]
async fn request_ids_are_echoed_or_generated() {
    let app = TestApp::memory();
    let r = app
        .get("/health")
        .header("x-request-id", "abc-123")
        .send()
        .await;
    assert_eq!(r.header("x-request-id"), Some("abc-123"));
    let r = app.get("/nope").send().await;
    let id = r.header("x-request-id").unwrap_or_default().to_string();
    assert_eq!(id.len(), 36, "a generated UUID: {id}");
    let r = app.get("/health").send().await;
    assert_ne!(r.header("x-request-id"), Some(id.as_str()));
}

#[tokio::test]
async fn health_and_readiness() {
    let app = TestApp::memory();
    assert_eq!(app.get("/health").send().await.expect(200)["status"], "ok");
    assert_eq!(
        app.get("/health/ready").send().await.expect(200)["status"],
        "ready"
    );
}

#[tokio::test]
async fn cors_answers_allowed_origins_only() {
    let mut settings = test_settings();
    settings.cors_origins = vec!["https://app.example".to_string()];
    let app = TestApp::in_process(splitledger_core::MemoryStorage::new(), &settings);
    let r = app
        .req(poem::http::Method::OPTIONS, "/api/v1/groups")
        .header("origin", "https://app.example")
        .header("access-control-request-method", "GET")
        .send()
        .await;
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    let r = app
        .get("/health")
        .header("origin", "https://evil.example")
        .send()
        .await;
    assert_eq!(r.header("access-control-allow-origin"), None);
}

#[tokio::test]
async fn a_database_outage_is_503_without_details() {
    let (store, dir) = crate::helpers::sqlite_store().await;
    let pool = store.pool().clone();
    let app = TestApp::in_process(store, &test_settings());
    let ann = app.user("ann@example.com", "Ann").await;
    app.get("/health/ready").send().await.expect(200);

    pool.close().await;
    app.get("/health").send().await.expect(200);
    let r = app.get("/health/ready").send().await;
    assert_eq!(r.header("retry-after"), Some("2"), "503 says when to retry");
    let p = r.problem(503, "unavailable");
    assert!(!s(&p["detail"]).to_lowercase().contains("pool"), "{p}");
    let p = app.get("/api/v1/users/me").token(&ann.token).send().await;
    assert_eq!(p.status, 503, "{}", p.text);
    assert_eq!(p.header("retry-after"), Some("2"), "503 says when to retry");
    let body = p.json();
    assert!(
        !s(&body["detail"]).to_lowercase().contains("pool"),
        "{body}"
    );
    let p = app
        .post("/api/v1/auth/signup")
        .json(
            json!({"email": "bob@example.com", "password": "correct horse", "display_name": "Bob"}),
        )
        .send()
        .await;
    assert!(p.status >= 500, "{}", p.text);
    assert!(
        !p.text.to_lowercase().contains("sqlite") && !p.text.to_lowercase().contains("pool"),
        "{}",
        p.text
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Control characters (a NUL above all, which PostgreSQL cannot compare) in query and path
/// text: refused like in bodies, or unknown, on both databases; never a 500.
async fn control_characters_in_queries_and_paths(app: TestApp) {
    let ann = app.user("ann@example.com", "Ann").await;
    let g = app.group(&ann, "Trip").await;
    for (path, field) in [
        ("/api/v1/groups?q=%00".to_string(), "q"),
        ("/api/v1/groups?q=a%01b".to_string(), "q"),
        (
            format!("/api/v1/groups/{g}/expenses?category=%00"),
            "category",
        ),
        (
            format!("/api/v1/groups/{g}/expenses?category=x%1Fy"),
            "category",
        ),
    ] {
        let problem = app
            .get(&path)
            .token(&ann.token)
            .send()
            .await
            .problem(422, "validation_failed");
        assert_eq!(problem["errors"][0]["field"], field, "{path}");
        assert_eq!(problem["errors"][0]["code"], "invalid_text", "{path}");
    }
    for code in ["%00", "abc%00def", "%0A"] {
        app.post(&format!("/api/v1/invites/{code}/accept"))
            .token(&ann.token)
            .send()
            .await
            .problem(404, "not_found");
    }
    // Ordinary filters still answer.
    app.get("/api/v1/groups?q=trip")
        .token(&ann.token)
        .send()
        .await
        .expect(200);
}

#[sqlx::test(migrator = "splitledger_storage_sqlx::POSTGRES_MIGRATOR")]
async fn control_characters_are_refused_on_postgres(pool: sqlx::PgPool) {
    let app = TestApp::spawn(splitledger_storage_sqlx::PgStorage::from_pool(pool)).await;
    control_characters_in_queries_and_paths(app).await;
}

#[tokio::test]
async fn control_characters_are_refused_on_sqlite() {
    let (store, dir) = crate::helpers::sqlite_store().await;
    control_characters_in_queries_and_paths(TestApp::spawn(store).await).await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// Loose input, decided: spaces around an amount or a currency code are refused (the schema
/// says so: what a person sees is what is stored), a lower-case code is read as upper case,
/// and dates before 1900 or after 9999 are refused. Refusals write nothing.
#[tokio::test]
async fn loose_input_is_decided() {
    let app = TestApp::memory();
    let ann = app.user("ann@example.com", "Ann").await;
    let bob = app.user("bob@example.com", "Bob").await;
    let g = app.group(&ann, "Trip").await;
    app.add(&ann, &g, &bob, "member").await;
    let base = format!("/api/v1/groups/{g}");
    let expense = |amount: &str, currency: &str, on: &str| {
        json!({"description": "Taxi", "amount": amount, "currency": currency, "occurred_on": on,
               "paid_by": ann.id, "split": {"type": "equal"}})
    };
    for (body, field, code) in [
        (
            expense(" 12.00", "EUR", "2026-01-02"),
            "amount",
            "invalid_amount",
        ),
        (
            expense("12.00 ", "EUR", "2026-01-02"),
            "amount",
            "invalid_amount",
        ),
        (
            expense("12.00", " EUR", "2026-01-02"),
            "currency",
            "unknown_currency",
        ),
        (
            expense("12.00", "EUR", "0000-01-01"),
            "occurred_on",
            "date_out_of_range",
        ),
        (
            expense("12.00", "EUR", "1899-12-31"),
            "occurred_on",
            "date_out_of_range",
        ),
    ] {
        let p = app
            .post(&format!("{base}/expenses"))
            .token(&ann.token)
            .json(body.clone())
            .send()
            .await
            .problem(422, "validation_failed");
        assert_eq!(
            (&p["errors"][0]["field"], &p["errors"][0]["code"]),
            (&json!(field), &json!(code)),
            "{body}"
        );
    }
    let list = app
        .get(&format!("{base}/expenses"))
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    assert_eq!(list["items"], json!([]), "nothing written");

    let e = app
        .post(&format!("{base}/expenses"))
        .token(&ann.token)
        .json(expense("12.00", "eur", "1900-01-01"))
        .send()
        .await
        .expect(201);
    assert_eq!(
        (&e["currency"], &e["occurred_on"]),
        (&json!("EUR"), &json!("1900-01-01"))
    );
    let p = app
        .patch(&format!("{base}/expenses/{}", s(&e["id"])))
        .token(&ann.token)
        .json(json!({"version": 1, "occurred_on": "0001-01-01"}))
        .send()
        .await
        .problem(422, "validation_failed");
    assert_eq!(p["errors"][0]["code"], "date_out_of_range");
    let p = app
        .post(&format!("{base}/settlements"))
        .token(&bob.token)
        .json(json!({"from_user": bob.id, "to_user": ann.id, "amount": "6.00", "occurred_on": "0000-01-01"}))
        .send()
        .await
        .problem(422, "validation_failed");
    assert_eq!(p["errors"][0]["code"], "date_out_of_range");
}

/// A request target past 8 KiB is a 414 problem, over a real socket (hyper's own limit, with
/// its bare answer, lies far beyond).
#[tokio::test]
async fn a_very_long_uri_is_a_414_problem() {
    let app = TestApp::spawn(splitledger_core::MemoryStorage::new()).await;
    let long = format!("/api/v1/groups?q={}", "a".repeat(9000));
    app.get(&long).send().await.problem(414, "uri_too_long");
    let fine = format!("/api/v1/groups?q={}", "a".repeat(7000));
    app.get(&fine).send().await.problem(401, "unauthenticated");
}

/// Text fields take JSON strings only: a number or a boolean is a malformed body, not its
/// text (found by the contract fuzzer: `{"name": true}` named a group "true").
#[tokio::test]
async fn numbers_and_booleans_are_not_text() {
    let app = TestApp::memory();
    let ann = app.user("ann@example.com", "Ann").await;
    let g = app.group(&ann, "Trip").await;
    for (method, path, body) in [
        (
            poem::http::Method::POST,
            "/api/v1/groups".to_string(),
            json!({"name": true, "currency": "EUR"}),
        ),
        (
            poem::http::Method::POST,
            "/api/v1/groups".to_string(),
            json!({"name": "Trip", "description": 5, "currency": "EUR"}),
        ),
        (
            poem::http::Method::PATCH,
            format!("/api/v1/groups/{g}"),
            json!({"description": false}),
        ),
        (
            poem::http::Method::PATCH,
            "/api/v1/users/me".to_string(),
            json!({"display_name": false}),
        ),
        (
            poem::http::Method::POST,
            format!("/api/v1/groups/{g}/expenses"),
            json!({"description": 12, "amount": "12.00", "paid_by": ann.id, "split": {"type": "equal"}}),
        ),
    ] {
        app.req(method, &path)
            .token(&ann.token)
            .json(body.clone())
            .send()
            .await
            .problem(400, "malformed_body");
    }
    let groups = app
        .get("/api/v1/groups")
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    assert_eq!(
        groups["items"].as_array().map(Vec::len),
        Some(1),
        "nothing written"
    );
    let patched = app
        .patch(&format!("/api/v1/groups/{g}"))
        .token(&ann.token)
        .json(json!({"description": null}))
        .send()
        .await
        .expect(200);
    assert_eq!(patched["description"], json!(null), "null still clears");
}

/// What the OpenAPI document now refuses (openapi.rs) is still refused by the Ledger with its
/// 422 code, never by the parser's 400: the schema states the rules, the Ledger keeps them.
/// Nothing is written.
#[tokio::test]
async fn inputs_the_spec_refuses_keep_their_422_codes() {
    let app = TestApp::memory();
    let ann = app.user("ann@example.com", "Ann").await;
    let bob = app.user("bob@example.com", "Bob").await;
    let g = app.group(&ann, "Trip").await;
    app.add(&ann, &g, &bob, "member").await;
    let expense = |extra: serde_json::Value| {
        let mut body = json!({"description": "Taxi", "amount": "12.00", "paid_by": ann.id,
                              "split": {"type": "equal"}});
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        body
    };
    let shares = |kind: &str, key: &str, value: &str| json!({"split": {"type": kind, "shares": [{"user_id": ann.id, key: value}]}});
    let expenses = format!("/api/v1/groups/{g}/expenses");
    let cases = [
        (
            "/api/v1/auth/signup",
            json!({"email": "cy@example.com", "password": "short", "display_name": "Cy"}),
            "password",
            "password_length",
        ),
        (
            "/api/v1/auth/signup",
            json!({"email": "cy@example.com", "password": "p".repeat(129), "display_name": "Cy"}),
            "password",
            "password_length",
        ),
        (
            "/api/v1/auth/signup",
            json!({"email": "cy@example", "password": "long enough", "display_name": "Cy"}),
            "email",
            "invalid_email",
        ),
        (
            "/api/v1/auth/signup",
            json!({"email": format!("{}@example.com", "c".repeat(243)), "password": "long enough", "display_name": "Cy"}),
            "email",
            "invalid_email",
        ),
        (
            "/api/v1/auth/signup",
            json!({"email": "cy@example.com", "password": "long enough", "display_name": " \t "}),
            "display_name",
            "required",
        ),
        (
            "/api/v1/auth/signup",
            json!({"email": "cy@example.com", "password": "long enough", "display_name": "C\u{7}y"}),
            "display_name",
            "invalid_text",
        ),
        (
            "/api/v1/auth/signup",
            json!({"email": "cy@example.com", "password": "long enough", "display_name": "c".repeat(101)}),
            "display_name",
            "too_long",
        ),
        (
            "/api/v1/groups",
            json!({"name": "", "currency": "EUR"}),
            "name",
            "required",
        ),
        (
            "/api/v1/groups",
            json!({"name": "Trip", "currency": "AAA"}),
            "currency",
            "unknown_currency",
        ),
        (
            "/api/v1/groups",
            json!({"name": "Trip", "currency": "xau"}),
            "currency",
            "unknown_currency",
        ),
        (
            "/api/v1/groups",
            json!({"name": "Trip", "description": "a\u{0}b", "currency": "EUR"}),
            "description",
            "invalid_text",
        ),
        (
            &expenses,
            expense(json!({"description": "\u{85}"})),
            "description",
            "required",
        ),
        (
            &expenses,
            expense(json!({"notes": "a\u{b}b"})),
            "notes",
            "invalid_text",
        ),
        (
            &expenses,
            expense(json!({"amount": "0.00"})),
            "amount",
            "amount_not_positive",
        ),
        (
            &expenses,
            expense(json!({"amount": "1000000000000.01"})),
            "amount",
            "amount_too_large",
        ),
        (
            &expenses,
            expense(json!({"paid_by": null, "payers": []})),
            "payers",
            "required",
        ),
        (
            &expenses,
            expense(json!({"split": {"type": "equal", "members": []}})),
            "split.members",
            "empty_split",
        ),
        (
            &expenses,
            expense(json!({"split": {"type": "exact", "shares": []}})),
            "split.shares",
            "empty_split",
        ),
        (
            &expenses,
            expense(shares("percent", "percent", "100.5")),
            "split.shares[0].percent",
            "invalid_percent",
        ),
        (
            &expenses,
            expense(shares("shares", "weight", "1000000.5")),
            "split.shares[0].weight",
            "invalid_weight",
        ),
        (
            &expenses,
            expense(json!({"metadata": [1, 2]})),
            "metadata",
            "metadata_not_object",
        ),
        (
            &expenses,
            expense(json!({"occurred_on": "1899-12-31"})),
            "occurred_on",
            "date_out_of_range",
        ),
    ];
    for (path, body, field, code) in cases {
        let p = app
            .post(path)
            .token(&ann.token)
            .json(body.clone())
            .send()
            .await
            .problem(422, "validation_failed");
        assert_eq!(
            (&p["errors"][0]["field"], &p["errors"][0]["code"]),
            (&json!(field), &json!(code)),
            "{path} {body}"
        );
    }
    let p = app
        .post(&format!("/api/v1/groups/{g}/members"))
        .token(&ann.token)
        .json(json!({"email": "cy@example", "role": "member"}))
        .send()
        .await
        .problem(422, "validation_failed");
    assert_eq!(p["errors"][0]["code"], "invalid_email");
    let p = app
        .post(&format!("/api/v1/groups/{g}/members"))
        .token(&ann.token)
        .json(json!({"email": bob.email, "role": "owner"}))
        .send()
        .await
        .problem(422, "validation_failed");
    assert_eq!(p["errors"][0]["code"], "invalid_role");
    for key in ["", "a b", &"k".repeat(256)] {
        let p = app
            .post(&expenses)
            .token(&ann.token)
            .header("Idempotency-Key", key)
            .json(expense(json!({})))
            .send()
            .await
            .problem(422, "validation_failed");
        assert_eq!(p["errors"][0]["code"], "invalid_idempotency_key", "{key:?}");
    }
    let p = app
        .get("/api/v1/groups?q=a%7Fb")
        .token(&ann.token)
        .send()
        .await
        .problem(422, "validation_failed");
    assert_eq!(p["errors"][0]["code"], "invalid_text");
    let list = app
        .get(&expenses)
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    assert_eq!(list["items"], json!([]), "nothing written");
    let groups = app
        .get("/api/v1/groups")
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    assert_eq!(
        groups["items"].as_array().map(Vec::len),
        Some(1),
        "nothing written"
    );
}

/// The edges the document's patterns allow are what the Ledger accepts: white space around
/// a name is trimmed before it is counted, blank optional text is none, an email is trimmed,
/// a lower-case currency is read, a zero share may be written `-0`.
#[tokio::test]
async fn inputs_the_spec_allows_at_its_edges_are_accepted() {
    let app = TestApp::memory();
    let ann = app.user("ann@example.com", "Ann").await;
    let padded = format!("\u{3000} {}\t\u{85}", "n".repeat(100));
    let g = app
        .post("/api/v1/groups")
        .token(&ann.token)
        .json(json!({"name": padded, "description": " \n ", "currency": "chf"}))
        .send()
        .await
        .expect(201);
    assert_eq!(
        (&g["name"], &g["description"], &g["currency"]),
        (&json!("n".repeat(100)), &json!(null), &json!("CHF"))
    );
    let g = s(&g["id"]);
    let email = format!("  {}@example.com\n", "c".repeat(242));
    let cy = app
        .post("/api/v1/auth/signup")
        .json(json!({"email": email, "password": "\u{1}".repeat(8), "display_name": "Cy"}))
        .send()
        .await
        .expect(201);
    assert_eq!(
        cy["email"],
        json!(format!("{}@example.com", "c".repeat(242)))
    );
    let bob = app.user("bob@example.com", "Bob").await;
    app.add(&ann, &g, &bob, "member").await;
    let e = app
        .post(&format!("/api/v1/groups/{g}/expenses"))
        .token(&ann.token)
        .header("Idempotency-Key", &"~".repeat(255))
        .json(json!({"description": "Taxi", "amount": "1000000000000.000", "paid_by": ann.id,
                     "notes": "line one\n\tline two", "occurred_on": "1900-01-01",
                     "split": {"type": "exact", "shares": [{"user_id": ann.id, "amount": "1000000000000"},
                                                           {"user_id": bob.id, "amount": "-0.00"}]}}))
        .send()
        .await
        .expect(201);
    assert_eq!(e["amount"], "1000000000000.00");
    app.post(&format!("/api/v1/groups/{g}/expenses"))
        .token(&ann.token)
        .json(json!({"description": "Tea", "amount": "1", "paid_by": ann.id,
                     "split": {"type": "percent", "shares": [{"user_id": ann.id, "percent": "100.000"},
                                                             {"user_id": bob.id, "percent": "0"}]}}))
        .send()
        .await
        .expect(201);
}
