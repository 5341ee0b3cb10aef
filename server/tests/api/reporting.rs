//! Sentry: 5xx answers and panics reach a local endpoint that plays Sentry (it receives the
//! envelopes over HTTP), each tagged with its request id; 4xx answers never do.
//!
//! The Sentry client is process-wide, so these tests rely on nextest running each test in
//! its own process (the project's runner).

use std::net::SocketAddr;
use std::time::Duration;

use poem::endpoint::make;
use poem::test::TestClient;
use poem::{EndpointExt, Route};
use splitledger_server::middleware::RequestId;
use splitledger_server::reporting::{self, Reporting};
use splitledger_storage_sqlx::PgStorage;
use sqlx::PgPool;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

use crate::helpers::{TestApp, test_settings};

/// A local HTTP endpoint that accepts whatever is posted and hands over each body.
async fn fake_sentry() -> (SocketAddr, mpsc::UnboundedReceiver<String>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut stream = BufReader::new(stream);
                // Keep-alive: several requests may come on one connection.
                loop {
                    let mut length = 0usize;
                    let mut line = String::new();
                    let mut started = false;
                    loop {
                        line.clear();
                        match stream.read_line(&mut line).await {
                            Ok(0) | Err(_) => return,
                            Ok(_) => {}
                        }
                        if line.trim().is_empty() {
                            if started {
                                break;
                            }
                            continue;
                        }
                        started = true;
                        if let Some((name, value)) = line.split_once(':')
                            && name.eq_ignore_ascii_case("content-length")
                        {
                            length = value.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; length];
                    if stream.read_exact(&mut body).await.is_err() {
                        return;
                    }
                    let _ = tx.send(String::from_utf8_lossy(&body).to_string());
                    let ok = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";
                    if stream.get_mut().write_all(ok.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (addr, rx)
}

fn dsn(addr: SocketAddr) -> String {
    format!("http://public@{addr}/42")
}

/// The next envelope that mentions `needle`, within a few seconds; the others seen before it.
async fn envelope_with(
    rx: &mut mpsc::UnboundedReceiver<String>,
    needle: &str,
) -> (String, Vec<String>) {
    let mut others = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
            Ok(Some(body)) if body.contains(needle) => return (body, others),
            Ok(Some(body)) => others.push(body),
            _ => panic!("no envelope mentions {needle}; seen: {others:#?}"),
        }
    }
}

/// A server over a PostgreSQL store whose pool is closed: calls that need the database
/// answer 503, a real 5xx through the real router.
async fn app_without_database(pool: PgPool, sentry: SocketAddr) -> TestApp {
    let mut settings = test_settings();
    settings.sentry_dsn = Some(dsn(sentry));
    let storage = PgStorage::from_pool(pool.clone());
    pool.close().await;
    TestApp::spawn_with(storage, &settings).await.0
}

#[sqlx::test]
async fn a_5xx_answer_is_reported_with_its_request_id(pool: PgPool) {
    let (sentry, mut envelopes) = fake_sentry().await;
    let app = app_without_database(pool, sentry).await;
    let reply = app
        .post("/api/v1/auth/login")
        .header("x-request-id", "req-5xx-0001")
        .json(serde_json::json!({"email": "ann@example.com", "password": "correct horse"}))
        .send()
        .await;
    reply.problem(503, "unavailable");
    let (envelope, _) = envelope_with(&mut envelopes, "req-5xx-0001").await;
    assert!(
        envelope.contains(r#""request_id":"req-5xx-0001""#),
        "{envelope}"
    );
    assert!(envelope.contains("unavailable"), "{envelope}");
    assert!(envelope.contains("/api/v1/auth/login"), "{envelope}");
    assert!(
        !envelope.contains("correct horse"),
        "no request body: {envelope}"
    );
}

#[sqlx::test]
async fn a_4xx_answer_is_never_reported(pool: PgPool) {
    let (sentry, mut envelopes) = fake_sentry().await;
    let app = app_without_database(pool, sentry).await;
    app.get("/api/v1/nowhere")
        .header("x-request-id", "req-4xx-0001")
        .send()
        .await
        .problem(404, "not_found");
    app.post("/api/v1/auth/login")
        .header("x-request-id", "req-4xx-0002")
        .raw("application/json", "{not json")
        .send()
        .await;
    // A 5xx after them: once its envelope is in, anything sent before it is in too.
    app.post("/api/v1/auth/signup")
        .header("x-request-id", "req-5xx-0002")
        .json(
            serde_json::json!({"email": "a@example.com", "password": "correct horse",
            "display_name": "A"}),
        )
        .send()
        .await
        .problem(503, "unavailable");
    let (_, before) = envelope_with(&mut envelopes, "req-5xx-0002").await;
    for envelope in before {
        assert!(
            !envelope.contains("req-4xx-"),
            "a 4xx was reported: {envelope}"
        );
    }
}

#[tokio::test]
async fn a_panic_is_answered_500_and_reported_with_its_request_id() {
    let (sentry, mut envelopes) = fake_sentry().await;
    let _guard = reporting::init(&dsn(sentry)).unwrap_or_else(|e| panic!("{e}"));
    let app = Route::new()
        .at(
            "/boom",
            make(|_| async {
                if std::hint::black_box(true) {
                    panic!("the handler blew up");
                }
                "unreachable"
            }),
        )
        .with(Reporting)
        .with(RequestId);
    let cli = TestClient::new(app);
    let response = cli
        .get("/boom")
        .header("x-request-id", "req-panic-0001")
        .send()
        .await;
    response.assert_status(poem::http::StatusCode::INTERNAL_SERVER_ERROR);
    response.assert_header("x-request-id", "req-panic-0001");
    response.assert_content_type("application/problem+json");
    let (envelope, _) = envelope_with(&mut envelopes, "req-panic-0001").await;
    assert!(envelope.contains("the handler blew up"), "{envelope}");
    assert!(
        envelope.contains(r#""request_id":"req-panic-0001""#),
        "{envelope}"
    );
}

#[tokio::test]
async fn an_invalid_dsn_stops_the_start() {
    let mut settings = test_settings();
    settings.sentry_dsn = Some("not a dsn".to_string());
    let error = splitledger_server::Application::with_storage(
        splitledger_core::MemoryStorage::new(),
        &settings,
    )
    .await
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(error.contains("invalid Sentry DSN"), "{error}");
}
