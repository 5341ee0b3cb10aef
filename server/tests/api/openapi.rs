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
