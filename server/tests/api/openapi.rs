//! The committed `openapi.json` is what the code serves; the docs page can authorize.

use crate::helpers::TestApp;

#[tokio::test]
async fn the_committed_spec_is_current() {
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.json"))
            .unwrap_or_default();
    let generated = splitledger_server::openapi_json();
    assert!(
        committed.trim_end() == generated.trim_end(),
        "openapi.json is stale: run `cargo run -p splitledger-server -- openapi > openapi.json`"
    );
}

#[tokio::test]
async fn the_spec_is_served_with_every_path_and_the_security_schemes() {
    let app = TestApp::memory();
    let spec = app.get("/openapi.json").send().await.expect(200);
    let generated: serde_json::Value =
        serde_json::from_str(&splitledger_server::openapi_json()).unwrap_or_default();
    assert_eq!(spec, generated, "served as printed");
    let paths = spec["paths"].as_object().cloned().unwrap_or_default();
    for path in [
        "/auth/signup",
        "/auth/token",
        "/auth/login",
        "/auth/logout",
        "/users/me",
        "/users/me/password",
        "/users/me/balances",
        "/groups",
        "/groups/{group_id}",
        "/groups/{group_id}/members",
        "/groups/{group_id}/members/{user_id}",
        "/groups/{group_id}/invites",
        "/invites/{code}/accept",
        "/groups/{group_id}/expenses",
        "/groups/{group_id}/expenses/{expense_id}",
        "/groups/{group_id}/settlements",
        "/groups/{group_id}/settlements/{settlement_id}",
        "/groups/{group_id}/balances",
        "/groups/{group_id}/debts",
        "/groups/{group_id}/settlement-plan",
        "/groups/{group_id}/summary",
        "/groups/{group_id}/activity",
        "/groups/{group_id}/export",
    ] {
        assert!(paths.contains_key(path), "missing {path}");
    }
    let schemes = &spec["components"]["securitySchemes"];
    assert_eq!(
        schemes["OAuth2Password"]["flows"]["password"]["tokenUrl"],
        "/api/v1/auth/token"
    );
    assert_eq!(schemes["BearerToken"]["scheme"], "bearer");
    assert_eq!(schemes["SessionCookie"]["in"], "cookie");
    let problem =
        &spec["paths"]["/groups/{group_id}/expenses"]["post"]["responses"]["422"]["content"];
    assert!(problem["application/problem+json"].is_object(), "{problem}");
    let docs = app.get("/docs").send().await;
    assert_eq!(docs.status, 200);
    assert!(docs.text.contains("swagger"), "the docs page is Swagger UI");
}

/// The document describes what the server does: fields answered as `null` are nullable,
/// and the limits the server enforces are stated (the contract fuzzer relies on both).
#[tokio::test]
async fn the_spec_states_nulls_and_limits() {
    let spec: serde_json::Value =
        serde_json::from_str(&splitledger_server::openapi_json()).unwrap_or_else(|e| panic!("{e}"));
    let schemas = &spec["components"]["schemas"];
    for (schema, field) in [
        ("GroupBody", "description"),
        ("ExpensePage", "next_cursor"),
        ("ExpenseBody", "category"),
        ("ExpenseBody", "notes"),
        ("ExpenseBody", "payment_method"),
        ("SummaryLineBody", "key"),
        ("UserBody", "default_currency"),
        ("ProfilePatchBody", "default_currency"),
    ] {
        let property = &schemas[schema]["properties"][field];
        assert_eq!(property["nullable"], true, "{schema}.{field}: {property}");
    }
    let on = &schemas["NewExpenseBody"]["properties"]["occurred_on"];
    assert_eq!(
        on["format"], "date",
        "an OpenAPI format, not poem's naive-date: {on}"
    );
    assert!(!splitledger_server::openapi_json().contains("naive-date"));
    let amount = &schemas["NewExpenseBody"]["properties"]["amount"];
    assert_eq!(amount["pattern"], "^[0-9]+(\\.[0-9]+)?$", "no minus sign");
    let currency = &schemas["NewExpenseBody"]["properties"]["currency"];
    assert_eq!(currency["pattern"], "^[A-Za-z]{3}$");
    let hours = &schemas["NewInviteBody"]["properties"]["expires_in_hours"];
    assert_eq!(
        (&hours["minimum"], &hours["maximum"]),
        (&1.0.into(), &720.0.into())
    );
    let params = spec["paths"]["/groups/{group_id}/expenses"]["get"]["parameters"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let limit = params.iter().find(|p| p["name"] == "limit").cloned();
    let limit = limit.unwrap_or_default();
    assert_eq!(
        (&limit["schema"]["minimum"], &limit["schema"]["maximum"]),
        (&1.0.into(), &200.0.into())
    );
}
