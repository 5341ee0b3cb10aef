//! Test harness: the app in-process (poem's TestClient) or on a real socket (127.0.0.1:0),
//! over any store, with helpers that seed data through the public API.

use std::net::SocketAddr;

use poem::endpoint::BoxEndpoint;
use poem::http::Method;
use poem::test::TestClient;
use poem::{EndpointExt, Response};
use serde_json::{Value, json};
use splitledger_core::{Ledger, LedgerConfig, MemoryStorage, Storage};
use splitledger_server::startup::ledger_config;
use splitledger_server::{Application, Settings, routes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// An HTTP answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.text))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn expect(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "body: {}", self.text);
        if self.text.is_empty() {
            Value::Null
        } else {
            self.json()
        }
    }

    /// Asserts a problem+json answer with this status and code.
    #[track_caller]
    pub fn problem(&self, status: u16, code: &str) -> Value {
        assert_eq!(self.status, status, "body: {}", self.text);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "body: {}",
            self.text
        );
        let body = self.json();
        assert_eq!(body["code"], code, "body: {body}");
        assert_eq!(body["status"], status, "body: {body}");
        for key in ["type", "title", "detail"] {
            assert!(body[key].is_string(), "{key} missing: {body}");
        }
        body
    }
}

enum Transport {
    InProcess(TestClient<BoxEndpoint<'static, Response>>),
    Socket(SocketAddr),
}

/// A running app and a way to talk to it.
pub struct TestApp {
    transport: Transport,
}

/// One request.
pub struct Req<'a> {
    app: &'a TestApp,
    method: Method,
    path: String,
    headers: Vec<(String, String)>,
    body: Option<(String, Vec<u8>)>,
}

impl<'a> Req<'a> {
    pub fn token(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn json(self, body: Value) -> Self {
        self.raw("application/json", body.to_string())
    }

    pub fn raw(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some((content_type.to_string(), body.into()));
        self
    }

    pub async fn send(self) -> Reply {
        match &self.app.transport {
            Transport::InProcess(cli) => {
                let mut b = cli.request(self.method.clone(), self.path.clone());
                for (n, v) in &self.headers {
                    b = b.header(n.as_str(), v.as_str());
                }
                if let Some((ct, body)) = self.body {
                    b = b.content_type(ct).body(body);
                }
                let resp = b.send().await.0;
                let status = resp.status().as_u16();
                let headers = resp
                    .headers()
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_string()))
                    .collect();
                let text = resp.into_body().into_string().await.unwrap_or_default();
                Reply {
                    status,
                    headers,
                    text,
                }
            }
            Transport::Socket(addr) => socket_request(*addr, &self).await,
        }
    }
}

/// A bare HTTP/1.1 client: one connection per request, `Connection: close`.
async fn socket_request(addr: SocketAddr, req: &Req<'_>) -> Reply {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    let mut head = format!(
        "{} {} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n",
        req.method, req.path
    );
    for (n, v) in &req.headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    let body = match &req.body {
        Some((ct, body)) => {
            head.push_str(&format!("content-type: {ct}\r\n"));
            body.clone()
        }
        None => Vec::new(),
    };
    head.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(&body);
    stream
        .write_all(&bytes)
        .await
        .unwrap_or_else(|e| panic!("write: {e}"));
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .await
        .unwrap_or_else(|e| panic!("read: {e}"));
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {head}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    let text = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    Reply {
        status,
        headers,
        text,
    }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// Settings for tests: port 0, defaults otherwise. Logs go to the terminal only when
/// `TEST_LOG` is set.
pub fn test_settings() -> Settings {
    if std::env::var_os("TEST_LOG").is_some() {
        splitledger_server::telemetry::init(splitledger_server::LogFormat::Text);
    }
    let mut s = Settings::defaults();
    s.bind = "127.0.0.1:0".to_string();
    // Attachments in memory unless a test names a folder: no test leaves files behind.
    s.database_url = "memory:".to_string();
    s
}

impl TestApp {
    /// The app in-process over a fresh in-memory store.
    pub fn memory() -> Self {
        Self::in_process(MemoryStorage::new(), &test_settings())
    }

    /// The app in-process over a store with these settings.
    pub fn in_process<S: Storage>(storage: S, settings: &Settings) -> Self {
        Self::with_ledger(
            Ledger::with_config(storage, ledger_config(settings)),
            settings,
        )
    }

    /// The app in-process over a ledger with explicit policies.
    pub fn with_ledger<S: Storage>(ledger: Ledger<S>, settings: &Settings) -> Self {
        Self {
            transport: Transport::InProcess(TestClient::new(routes(ledger, settings).boxed())),
        }
    }

    /// The app on a real socket (127.0.0.1, a free port) over `storage`; it serves until
    /// the test's runtime ends.
    pub async fn spawn<S: Storage>(storage: S) -> Self {
        Self::spawn_with(storage, &test_settings()).await.0
    }

    /// The app on a real socket with these settings (port 0 for `bind` and
    /// `metrics_bind`); it serves until the test's runtime ends. Also where `/metrics` is
    /// served apart, when it is.
    pub async fn spawn_with<S: Storage>(
        storage: S,
        settings: &Settings,
    ) -> (Self, Option<SocketAddr>) {
        let app = Application::with_storage(storage, settings)
            .await
            .unwrap_or_else(|e| panic!("build: {e}"));
        Self::run(app)
    }

    /// Serves a built application on its socket; also its `/metrics` address when apart.
    pub fn run(app: Application) -> (Self, Option<SocketAddr>) {
        let (addr, metrics) = (app.addr(), app.metrics_addr());
        tokio::spawn(app.run_until_stopped());
        (Self::at(addr), metrics)
    }

    /// Talks to a server already listening at `addr`.
    pub fn at(addr: SocketAddr) -> Self {
        Self {
            transport: Transport::Socket(addr),
        }
    }

    pub fn req(&self, method: Method, path: &str) -> Req<'_> {
        Req {
            app: self,
            method,
            path: path.to_string(),
            headers: Vec::new(),
            body: None,
        }
    }

    pub fn get(&self, path: &str) -> Req<'_> {
        self.req(Method::GET, path)
    }
    pub fn post(&self, path: &str) -> Req<'_> {
        self.req(Method::POST, path)
    }
    pub fn patch(&self, path: &str) -> Req<'_> {
        self.req(Method::PATCH, path)
    }
    pub fn delete(&self, path: &str) -> Req<'_> {
        self.req(Method::DELETE, path)
    }

    /// Signs up and logs in; the user's id and a bearer token.
    pub async fn user(&self, email: &str, name: &str) -> User {
        let user = self
            .post("/api/v1/auth/signup")
            .json(json!({"email": email, "password": "correct horse", "display_name": name}))
            .send()
            .await
            .expect(201);
        let token = self.login(email, "correct horse").await;
        User {
            id: s(&user["id"]),
            token,
            email: email.to_string(),
        }
    }

    /// A bearer token for this account.
    pub async fn login(&self, email: &str, password: &str) -> String {
        let body = self
            .post("/api/v1/auth/token")
            .raw(
                "application/x-www-form-urlencoded",
                format!("grant_type=password&username={email}&password={password}")
                    .replace(' ', "+"),
            )
            .send()
            .await
            .expect(200);
        s(&body["access_token"])
    }

    /// A group owned by `owner`; its id.
    pub async fn group(&self, owner: &User, name: &str) -> String {
        let g = self
            .post("/api/v1/groups")
            .token(&owner.token)
            .json(json!({"name": name, "currency": "EUR"}))
            .send()
            .await
            .expect(201);
        s(&g["id"])
    }

    /// Adds `who` to the group with a role.
    pub async fn add(&self, by: &User, group: &str, who: &User, role: &str) {
        self.post(&format!("/api/v1/groups/{group}/members"))
            .token(&by.token)
            .json(json!({"email": who.email, "role": role}))
            .send()
            .await
            .expect(201);
    }

    /// An expense paid by `payer`, split equally among everyone; its JSON.
    pub async fn expense(&self, by: &User, group: &str, payer: &User, amount: &str) -> Value {
        self.post(&format!("/api/v1/groups/{group}/expenses"))
            .token(&by.token)
            .json(json!({
                "description": "dinner",
                "amount": amount,
                "paid_by": payer.id,
                "split": {"type": "equal"},
            }))
            .send()
            .await
            .expect(201)
    }
}

/// A signed-in test user.
#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub token: String,
    pub email: String,
}

/// A JSON string's text.
pub fn s(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("not a string: {v}"))
        .to_string()
}

/// A migrated SQLite store in a fresh temporary folder (removed by the caller).
pub async fn sqlite_store() -> (splitledger_storage_sqlx::SqliteStorage, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("splitledger-server-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let url = format!("sqlite://{}", dir.join("ledger.db").display());
    let store = splitledger_storage_sqlx::SqliteStorage::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    store.migrate().await.unwrap_or_else(|e| panic!("{e}"));
    (store, dir)
}

/// Throttling after two failures, for the 429 test.
pub fn strict_login_config() -> LedgerConfig {
    LedgerConfig {
        free_login_failures: 2,
        ..LedgerConfig::default()
    }
}
