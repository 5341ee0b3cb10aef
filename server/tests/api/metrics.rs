//! `/metrics` (Prometheus text): requests by route template, method and status with a
//! latency histogram, entries written, the pool's use on a real PostgreSQL store; served
//! apart on `--metrics-bind`; never an id, email or token in a label. And `/redoc`.

use splitledger_core::MemoryStorage;
use splitledger_server::Application;
use sqlx::PgPool;

use crate::helpers::{TestApp, test_settings};

/// The value of the sample written exactly as `series` (name and labels).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

async fn scrape(app: &TestApp) -> String {
    let reply = app.get("/metrics").send().await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; version=0.0.4")
    );
    reply.text
}

#[tokio::test]
async fn requests_are_counted_by_route_template_method_and_status() {
    let app = TestApp::memory();
    let ann = app.user("ann@example.com", "Ann").await;
    let group = app.group(&ann, "Lisbon").await;
    let expense = app.expense(&ann, &group, &ann, "30.00").await;
    let expense_id = expense["id"].as_str().unwrap_or_default().to_string();
    app.get(&format!("/api/v1/groups/{group}/expenses/{expense_id}"))
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    app.delete(&format!("/api/v1/groups/{group}/expenses/{expense_id}"))
        .token(&ann.token)
        .send()
        .await
        .expect(204);
    // Not found, with an email and a token in the path: counted, but under `unmatched`.
    let probe = format!("/api/v1/lookup/{}/{}", ann.email, ann.token);
    app.get(&probe).send().await.problem(404, "not_found");
    app.get("/api/v1/users/me")
        .send()
        .await
        .problem(401, "unauthenticated");

    let text = scrape(&app).await;
    let count = |labels: &str| {
        sample(
            &text,
            &format!("splitledger_http_requests_total{{{labels}}}"),
        )
    };
    assert_eq!(
        count(r#"method="POST",route="/api/v1/groups/{group_id}/expenses",status="201""#),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        count(
            r#"method="DELETE",route="/api/v1/groups/{group_id}/expenses/{expense_id}",status="204""#
        ),
        Some(1.0)
    );
    assert_eq!(
        count(r#"method="POST",route="/api/v1/auth/signup",status="201""#),
        Some(1.0)
    );
    assert_eq!(
        count(r#"method="GET",route="/api/v1/users/me",status="401""#),
        Some(1.0),
        "the literal template wins over /users/{{user_id}}"
    );
    assert_eq!(
        count(r#"method="GET",route="unmatched",status="404""#),
        Some(1.0)
    );
    let histogram = r#"splitledger_http_request_duration_seconds_count{method="GET",route="/api/v1/groups/{group_id}/expenses/{expense_id}"}"#;
    assert_eq!(sample(&text, histogram), Some(1.0), "{text}");
    assert!(text.contains("splitledger_http_request_duration_seconds_bucket{method=\"GET\",route=\"/api/v1/groups/{group_id}/expenses/{expense_id}\",le=\"+Inf\"} 1"));
    let written = |labels: &str| {
        sample(
            &text,
            &format!("splitledger_entries_written_total{{{labels}}}"),
        )
    };
    assert_eq!(written(r#"kind="expense",operation="create""#), Some(1.0));
    assert_eq!(written(r#"kind="expense",operation="delete""#), Some(1.0));
    assert_eq!(written(r#"kind="settlement",operation="create""#), None);

    for secret in [&ann.id, &ann.email, &ann.token, &group, &expense_id] {
        assert!(
            !text.contains(secret.as_str()),
            "{secret} leaked into\n{text}"
        );
    }
    assert!(!text.contains("lookup"), "a raw path leaked into\n{text}");
}

#[tokio::test]
async fn failed_writes_are_not_counted_as_entries() {
    let app = TestApp::memory();
    let ann = app.user("ann@example.com", "Ann").await;
    let group = app.group(&ann, "Lisbon").await;
    app.post(&format!("/api/v1/groups/{group}/expenses"))
        .token(&ann.token)
        .json(
            serde_json::json!({"description": "x", "amount": "1.005", "paid_by": ann.id,
            "split": {"type": "equal"}}),
        )
        .send()
        .await
        .problem(422, "validation_failed");
    let text = scrape(&app).await;
    assert!(
        !text.contains("splitledger_entries_written_total{"),
        "{text}"
    );
    assert!(text.contains(
        r#"splitledger_http_requests_total{method="POST",route="/api/v1/groups/{group_id}/expenses",status="422"} 1"#
    ));
}

#[tokio::test]
async fn metrics_move_to_their_own_address_when_asked() {
    let mut settings = test_settings();
    settings.metrics_bind = Some("127.0.0.1:0".to_string());
    let (app, metrics_addr) = TestApp::spawn_with(MemoryStorage::new(), &settings).await;
    let metrics_addr = metrics_addr.unwrap_or_else(|| panic!("no metrics address"));
    app.get("/health").send().await.expect(200);
    app.get("/metrics").send().await.problem(404, "not_found");

    let scraper = TestApp::at(metrics_addr);
    let text = scrape(&scraper).await;
    assert_eq!(
        sample(
            &text,
            r#"splitledger_http_requests_total{method="GET",route="/health",status="200"}"#
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"splitledger_http_requests_total{method="GET",route="/metrics",status="404"}"#
        ),
        Some(1.0)
    );
    scraper
        .get("/api/v1/users/me")
        .send()
        .await
        .problem(404, "not_found");
}

#[sqlx::test(migrations = false)]
async fn the_pool_use_of_a_postgres_store_is_reported(pool: PgPool) {
    // Through `Application::build`, as the binary starts: the store opened from its URL.
    let database = pool
        .connect_options()
        .get_database()
        .unwrap_or_else(|| panic!("a test database"))
        .to_string();
    let base = std::env::var("DATABASE_URL").unwrap_or_else(|e| panic!("DATABASE_URL: {e}"));
    let (server, _) = base.rsplit_once('/').unwrap_or_else(|| panic!("{base}"));
    let mut settings = test_settings();
    settings.database_url = format!("{server}/{database}");
    let app = Application::build(&settings)
        .await
        .unwrap_or_else(|e| panic!("build: {e}"));
    let (app, _) = TestApp::run(app);
    app.user("ann@example.com", "Ann").await;
    let text = scrape(&app).await;
    let open = sample(&text, "splitledger_db_pool_connections").unwrap_or(-1.0);
    let idle = sample(&text, "splitledger_db_pool_idle_connections").unwrap_or(-1.0);
    assert!(open >= 1.0, "{text}");
    assert!((0.0..=open).contains(&idle), "{text}");
    assert_eq!(
        sample(&text, "splitledger_db_pool_max_connections"),
        Some(16.0)
    );
}

#[tokio::test]
async fn an_in_memory_store_reports_no_pool() {
    let app = TestApp::memory();
    let text = scrape(&app).await;
    assert_eq!(
        sample(&text, "splitledger_db_pool_connections"),
        Some(0.0),
        "{text}"
    );
}

#[tokio::test]
async fn redoc_is_served_beside_swagger_ui() {
    let app = TestApp::memory();
    let redoc = app.get("/redoc").send().await;
    assert_eq!(redoc.status, 200);
    assert!(
        redoc
            .header("content-type")
            .is_some_and(|c| c.starts_with("text/html")),
        "{:?}",
        redoc.headers
    );
    assert!(
        redoc.text.to_lowercase().contains("redoc"),
        "{}",
        redoc.text
    );
    assert!(
        redoc.text.contains("splitledger"),
        "the document is embedded"
    );
    assert_eq!(app.get("/docs").send().await.status, 200);
    let wrong = app.post("/redoc").send().await;
    wrong.problem(405, "method_not_allowed");
    assert_eq!(wrong.header("allow"), Some("GET"));
}
