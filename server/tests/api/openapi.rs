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
    assert!(
        !outside_classes(&pattern(amount)).contains('-'),
        "no minus sign: {amount}"
    );
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

/// The property `field` of component `schema`, or of the component a `$ref` (possibly in an
/// `allOf`) names.
fn property(spec: &serde_json::Value, schema: &str, field: &str) -> serde_json::Value {
    let schemas = &spec["components"]["schemas"];
    let property = &schemas[schema]["properties"][field];
    let reference = property["$ref"]
        .as_str()
        .or_else(|| property["allOf"][0]["$ref"].as_str());
    match reference.and_then(|r| r.rsplit('/').next()) {
        Some(name) => schemas[name].clone(),
        None => property.clone(),
    }
}

fn pattern(value: &serde_json::Value) -> String {
    value["pattern"]
        .as_str()
        .unwrap_or_else(|| panic!("no pattern: {value}"))
        .to_string()
}

/// Every rule of the Ledger's input validation that JSON Schema can state is in the served
/// document, so that a client (and the contract fuzzer) knows a request is valid before
/// sending it. The values each rule refuses keep their 422 codes (errors.rs).
#[tokio::test]
async fn the_spec_states_the_ledgers_input_rules() {
    let app = TestApp::memory();
    let spec = app.get("/openapi.json").send().await.expect(200);

    // Required text: not blank once trimmed, 1 to MAX characters between the trimmed white
    // space, no control character.
    for (schema, field, max) in [
        ("SignUpBody", "display_name", 100),
        ("ProfilePatchBody", "display_name", 100),
        ("NewGroupBody", "name", 100),
        ("GroupPatchBody", "name", 100),
        ("NewExpenseBody", "description", 200),
        ("ExpensePatchBody", "description", 200),
    ] {
        let p = pattern(&property(&spec, schema, field));
        assert!(
            p.contains(&format!(
                "[^\\u0000-\\u001f\\u007f-\\u009f]{{0,{}}}",
                max - 2
            )),
            "{schema}.{field}: {p}"
        );
        assert!(
            p.contains("\\u3000]*$"),
            "trailing white space is trimmed: {p}"
        );
    }
    // Optional text: blank is none; tabs and line breaks are the only control characters.
    for (schema, field, max) in [
        ("NewGroupBody", "description", 1000),
        ("GroupPatchBody", "description", 1000),
        ("NewExpenseBody", "category", 50),
        ("NewExpenseBody", "payment_method", 50),
        ("NewExpenseBody", "notes", 2000),
        ("ExpensePatchBody", "category", 50),
        ("ExpensePatchBody", "payment_method", 50),
        ("ExpensePatchBody", "notes", 2000),
        ("NewSettlementBody", "note", 500),
    ] {
        let p = pattern(&property(&spec, schema, field));
        assert!(
            p.contains(&format!(
                "[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]{{0,{}}}",
                max - 2
            )),
            "{schema}.{field}: {p}"
        );
        assert!(p.ends_with(")?$"), "blank is allowed: {p}");
    }
    // Passwords: 8 to 128 characters; emails: Email::parse's shape, never `format: email`.
    for (schema, field) in [("SignUpBody", "password"), ("PasswordBody", "new_password")] {
        let password = property(&spec, schema, field);
        assert_eq!(
            (&password["minLength"], &password["maxLength"]),
            (&8.into(), &128.into()),
            "{schema}.{field}: {password}"
        );
    }
    for (schema, field) in [
        ("SignUpBody", "email"),
        ("ProfilePatchBody", "email"),
        ("AddMemberBody", "email"),
    ] {
        let email = property(&spec, schema, field);
        let p = pattern(&email);
        assert!(p.contains("{255})"), "at most 254 characters: {p}");
        assert!(p.contains("@]+@"), "one @: {p}");
        assert!(email.get("format").is_none(), "{schema}.{field}: {email}");
    }
    for (schema, field) in [("LoginBody", "email"), ("PasswordBody", "current_password")] {
        let free = property(&spec, schema, field);
        assert!(
            free.get("pattern").is_none() && free.get("minLength").is_none(),
            "{free}"
        );
    }
    // Currencies: exactly the codes Currency::parse accepts, in either case.
    for (schema, field) in [
        ("NewGroupBody", "currency"),
        ("GroupPatchBody", "currency"),
        ("ProfilePatchBody", "default_currency"),
        ("NewExpenseBody", "currency"),
        ("ExpensePatchBody", "currency"),
        ("NewSettlementBody", "currency"),
    ] {
        assert_eq!(
            property(&spec, schema, field)["pattern"],
            spec["components"]["schemas"]["CurrencyCode"]["pattern"],
            "{schema}.{field}"
        );
    }
    let stated = currency_codes(&pattern(&spec["components"]["schemas"]["CurrencyCode"]));
    let letters = || b'A'..=b'Z';
    let accepted: Vec<String> = letters()
        .flat_map(|a| letters().flat_map(move |b| letters().map(move |c| [a, b, c])))
        .filter_map(|code| String::from_utf8(code.to_vec()).ok())
        .filter(|code| splitledger_core::Currency::parse(code).is_ok())
        .collect();
    assert_eq!(stated, accepted);
    assert!(stated.contains(&"EUR".to_string()) && !stated.contains(&"XAU".to_string()));
    // Amounts: positive and at most 10^12; exact shares from zero; percentages and weights
    // in their ranges with their decimals.
    for (schema, field) in [
        ("NewExpenseBody", "amount"),
        ("ExpensePatchBody", "amount"),
        ("AmountEntryBody", "amount"),
        ("NewSettlementBody", "amount"),
    ] {
        let p = pattern(&property(&spec, schema, field));
        assert!(
            p.contains("0*1000000000000(?:\\.0+)?"),
            "{schema}.{field}: {p}"
        );
        assert!(!outside_classes(&p).contains('-'), "{schema}.{field}: {p}");
    }
    let share = pattern(&property(&spec, "ExactShareBody", "amount"));
    assert!(share.contains("-?0+(?:\\.0+)?"), "zero is a share: {share}");
    let percent = pattern(&property(&spec, "PercentShareBody", "percent"));
    assert!(percent.contains("0*100(?:\\.0+)?"), "{percent}");
    let weight = pattern(&property(&spec, "WeightShareBody", "weight"));
    assert!(
        weight.contains("[0-9]{1,6}0*)?|0*1000000(?:\\.0+)?"),
        "{weight}"
    );
    // Dates entries happened on: the years 1900 to 9999.
    for (schema, field) in [
        ("NewExpenseBody", "occurred_on"),
        ("ExpensePatchBody", "occurred_on"),
        ("NewSettlementBody", "occurred_on"),
    ] {
        let date = property(&spec, schema, field);
        assert_eq!(
            (&date["format"], &date["pattern"]),
            (&"date".into(), &"^(?:19|[2-9][0-9])[0-9]{2}-".into()),
            "{schema}.{field}"
        );
    }
    // Lists that must name someone, metadata that must be an object.
    for (schema, field) in [
        ("NewExpenseBody", "payers"),
        ("ExpensePatchBody", "payers"),
        ("EqualSplit", "members"),
        ("ExactSplit", "shares"),
        ("PercentSplit", "shares"),
        ("SharesSplit", "shares"),
    ] {
        let list = property(&spec, schema, field);
        assert_eq!(list["minItems"], 1, "{schema}.{field}: {list}");
    }
    for schema in ["NewExpenseBody", "ExpensePatchBody"] {
        assert_eq!(property(&spec, schema, "metadata")["type"], "object");
    }
    // A member is added as admin or member: ownership is transferred, not given.
    let role = property(&spec, "AddMemberBody", "role");
    assert_eq!(role["enum"], serde_json::json!(["admin", "member"]));
    let change = property(&spec, "RoleBody", "role");
    assert_eq!(
        change["enum"],
        serde_json::json!(["owner", "admin", "member"])
    );
    // Query text without control characters, and the Idempotency-Key header's shape.
    for (path, method, name, expected) in [
        (
            "/groups",
            "get",
            "q",
            "^[^\\u0000-\\u001f\\u007f-\\u009f]*$",
        ),
        (
            "/groups/{group_id}/expenses",
            "get",
            "category",
            "^[^\\u0000-\\u001f\\u007f-\\u009f]*$",
        ),
        (
            "/groups/{group_id}/expenses",
            "post",
            "Idempotency-Key",
            "^[!-~]{1,255}$",
        ),
        (
            "/groups/{group_id}/settlements",
            "post",
            "Idempotency-Key",
            "^[!-~]{1,255}$",
        ),
    ] {
        let params = spec["paths"][path][method]["parameters"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let param = params.iter().find(|p| p["name"] == name).cloned();
        let param = param.unwrap_or_else(|| panic!("{method} {path}: no {name}"));
        assert_eq!(
            param["schema"]["pattern"], expected,
            "{method} {path} {name}"
        );
    }
}

/// The codes a currency pattern (`^(?:[Aa](?:[Ee][Dd]|...)|...)$`) spells, upper-cased; every
/// letter must be a class of both its cases.
fn currency_codes(pattern: &str) -> Vec<String> {
    let body = pattern
        .strip_prefix("^(?:")
        .and_then(|p| p.strip_suffix(")$"))
        .unwrap_or_else(|| panic!("not a list of codes: {pattern}"));
    let class = |text: &str| -> char {
        let chars: Vec<char> = text.chars().collect();
        assert!(
            chars.len() == 4
                && chars[1].to_ascii_lowercase() == chars[2]
                && chars[1].is_ascii_uppercase(),
            "not an either-case letter: {text}"
        );
        chars[1]
    };
    let mut codes = Vec::new();
    for group in body.split(")|") {
        let (first, rest) = group
            .split_once("(?:")
            .unwrap_or_else(|| panic!("not a group: {group}"));
        let first = class(first);
        for tail in rest.trim_end_matches(')').split('|') {
            let (second, third) = tail.split_at(4);
            codes.push(format!("{first}{}{}", class(second), class(third)));
        }
    }
    codes
}

/// A pattern without its character classes (`[0-9]`), whose ranges are no minus signs.
fn outside_classes(pattern: &str) -> String {
    let mut in_class = false;
    pattern
        .chars()
        .filter(|&c| {
            match c {
                '[' => in_class = true,
                ']' => {
                    in_class = false;
                    return false;
                }
                _ => {}
            }
            !in_class
        })
        .collect()
}
