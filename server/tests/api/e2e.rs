//! The whole story over a real socket, on PostgreSQL and on SQLite: sign up two people,
//! create a group, add the second, add expenses, read balances and the plan, record the
//! repayment, see the plan empty.

use serde_json::json;
use splitledger_storage_sqlx::PgStorage;
use sqlx::PgPool;

use splitledger_server::Application;

use crate::helpers::{TestApp, s};

async fn story(app: &TestApp) {
    assert_eq!(
        app.get("/health/ready").send().await.expect(200)["status"],
        "ready"
    );
    let ann = app.user("ann@example.com", "Ann").await;
    let bob = app.user("bob@example.com", "Bob").await;
    let g = app.group(&ann, "Lisbon").await;
    app.add(&ann, &g, &bob, "member").await;
    let base = format!("/api/v1/groups/{g}");

    app.expense(&ann, &g, &ann, "90.00").await;
    app.post(&format!("{base}/expenses"))
        .token(&bob.token)
        .header("Idempotency-Key", "museum")
        .json(json!({"description": "Museum", "amount": "30.00", "paid_by": bob.id,
            "split": {"type": "exact", "shares": [{"user_id": ann.id, "amount": "20.00"}, {"user_id": bob.id, "amount": "10.00"}]}}))
        .send()
        .await
        .expect(201);

    let balances = app
        .get(&format!("{base}/balances"))
        .token(&bob.token)
        .send()
        .await
        .expect(200);
    let members = balances["balances"][0]["members"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let net_of = |id: &str| {
        members
            .iter()
            .find(|m| m["user_id"] == id)
            .map(|m| s(&m["net"]))
            .unwrap_or_default()
    };
    // Ann paid 90, owes 45 + 20; Bob paid 30, owes 45 + 10.
    assert_eq!(net_of(&ann.id), "25.00");
    assert_eq!(net_of(&bob.id), "-25.00");

    let plan = app
        .get(&format!("{base}/settlement-plan"))
        .token(&bob.token)
        .send()
        .await
        .expect(200);
    assert_eq!(
        plan,
        json!({"transfers": [{"from": bob.id, "to": ann.id, "amount": "25.00", "currency": "EUR"}], "optimal": true})
    );
    let debts = app
        .get(&format!("{base}/debts"))
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    assert_eq!(debts["debts"], plan["transfers"]);

    app.post(&format!("{base}/settlements"))
        .token(&bob.token)
        .json(json!({"from_user": bob.id, "to_user": ann.id, "amount": "25.00", "occurred_on": "2024-05-04"}))
        .send()
        .await
        .expect(201);
    let plan = app
        .get(&format!("{base}/settlement-plan"))
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    assert_eq!(plan, json!({"transfers": [], "optimal": true}));
    let balances = app
        .get(&format!("{base}/balances"))
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    for m in balances["balances"][0]["members"]
        .as_array()
        .into_iter()
        .flatten()
    {
        assert_eq!(m["net"], "0.00");
    }
    let activity = app
        .get(&format!("{base}/activity"))
        .token(&ann.token)
        .send()
        .await
        .expect(200);
    assert_eq!(activity["items"].as_array().map(Vec::len), Some(5));
    // Errors from the database path are problems too.
    app.get(&format!("{base}/expenses/{}", uuid::Uuid::new_v4()))
        .token(&ann.token)
        .send()
        .await
        .problem(404, "not_found");
    app.post("/api/v1/auth/signup")
        .json(json!({"email": "ann@example.com", "password": "whatever1", "display_name": "Again"}))
        .send()
        .await
        .problem(409, "email_taken");
}

#[sqlx::test(migrator = "splitledger_storage_sqlx::POSTGRES_MIGRATOR")]
async fn the_story_on_postgres_over_a_socket(pool: PgPool) {
    let app = TestApp::spawn(PgStorage::from_pool(pool)).await;
    story(&app).await;
}

#[tokio::test]
async fn the_story_on_sqlite_over_a_socket() {
    let (store, dir) = crate::helpers::sqlite_store().await;
    let app = TestApp::spawn(store).await;
    story(&app).await;
    drop(app);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_application_builds_from_settings_and_stops_on_signal() {
    let dir = std::env::temp_dir().join(format!("splitledger-server-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let mut settings = crate::helpers::test_settings();
    settings.database_url = format!("sqlite://{}", dir.join("fresh.db").display());
    splitledger_server::migrate(&settings)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let app = splitledger_server::Application::build(&settings)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = app.addr();
    assert_ne!(addr.port(), 0);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream
        .write_all(b"GET /health/ready HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut reply = String::new();
    stream
        .read_to_string(&mut reply)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    let _ = stop.send(());
    let outcome = tokio::time::timeout(std::time::Duration::from_secs(10), server).await;
    assert!(
        matches!(outcome, Ok(Ok(Ok(())))),
        "the server did not stop cleanly"
    );
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "still listening"
    );
    assert!(dir.join("fresh.db").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// Reads one HTTP/1.1 response with a `content-length` body from a kept-alive connection.
async fn read_response(stream: &mut tokio::net::TcpStream) -> String {
    use tokio::io::AsyncReadExt;
    let mut raw = Vec::new();
    let mut byte = [0u8; 1];
    while !raw.ends_with(b"\r\n\r\n") {
        let n = stream
            .read(&mut byte)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            n == 1,
            "connection closed early: {}",
            String::from_utf8_lossy(&raw)
        );
        raw.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&raw).to_string();
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().to_string())
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream
        .read_exact(&mut body)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    format!("{head}{}", String::from_utf8_lossy(&body))
}

#[tokio::test]
async fn shutdown_finishes_the_request_in_flight() {
    use tokio::io::AsyncWriteExt;
    let app = Application::with_storage(
        splitledger_core::MemoryStorage::new(),
        &crate::helpers::test_settings(),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let addr = app.addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    // A first request makes sure the connection is accepted and kept alive.
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    stream
        .write_all(b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(read_response(&mut stream).await.starts_with("HTTP/1.1 200"));
    // A sign-up hashes a password (tens of milliseconds); stop while it runs.
    let body = r#"{"email":"ann@example.com","password":"correct horse","display_name":"Ann"}"#;
    let request = format!(
        "POST /api/v1/auth/signup HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let _ = stop.send(());
    let reply = read_response(&mut stream).await;
    assert!(reply.starts_with("HTTP/1.1 201"), "{reply}");
    let outcome = tokio::time::timeout(std::time::Duration::from_secs(10), server).await;
    assert!(
        matches!(outcome, Ok(Ok(Ok(())))),
        "the server did not stop cleanly"
    );
}
