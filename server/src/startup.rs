//! Building and running the server: the route tree, the store chosen from the URL, the
//! listener (port 0 works, for tests) and graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use poem::endpoint::make;
use poem::http::StatusCode;
use poem::listener::{Acceptor, Listener, TcpAcceptor, TcpListener};
use poem::middleware::{CookieJarManager, Cors};
use poem::web::Json;
use poem::{Endpoint, EndpointExt, IntoResponse, Response, Route, Server, get};
use splitledger_core::{Ledger, LedgerConfig, MemoryStorage, Storage};

use crate::api::{self, CookiePolicy};
use crate::metrics::{Metrics, Observe, PoolProbe, RouteTemplates};
use crate::middleware::{AllowedMethods, BodyLimit, RequestId};
use crate::oidc::Oidc;
use crate::problem::{Problem, UNAVAILABLE_RETRY_AFTER_SECS, problem_from_error};
use crate::reporting::Reporting;
use crate::security::SessionResolver;
use crate::settings::Settings;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The database URL names no store this server knows.
    #[error("unsupported database URL `{0}`: use sqlite://FILE, postgres://... or memory:")]
    UnsupportedDatabase(String),
    /// The store could not be opened or migrated.
    #[error("database: {0}")]
    Database(String),
    /// `migrate --to` named a version no migration has.
    #[error("{0}")]
    UnknownMigration(String),
    /// The Sentry DSN is not one.
    #[error("{0}")]
    Sentry(String),
    /// The attachments' store could not be opened.
    #[error("files: {0}")]
    Files(String),
    /// The OpenID Connect settings cannot be used.
    #[error("OpenID Connect: {0}")]
    Oidc(String),
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
}

/// The OpenID Connect providers from the settings, with redirect URIs on the public URL.
pub fn oidc(settings: &Settings) -> Result<Oidc, StartupError> {
    Oidc::new(&settings.oidc, &settings.public_url(), "/api/v1").map_err(StartupError::Oidc)
}

/// How long `/health/ready` waits for the database before answering 503.
const READY_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(500);

/// The Ledger's policies from the settings.
pub fn ledger_config(settings: &Settings) -> LedgerConfig {
    LedgerConfig {
        session_ttl: settings.token_ttl,
        max_upload: u64::try_from(settings.max_upload).unwrap_or(u64::MAX),
        signup: settings.signup.into(),
        ..LedgerConfig::default()
    }
}

/// The whole route tree over a ledger: `/api/v1`, `/openapi.json`, `/docs`, `/redoc`,
/// `/health`, `/health/ready` and `/metrics` (unless `--metrics-bind` serves it apart),
/// with problem responses for every error, request ids, the body limit, CORS and the
/// session cookie.
pub fn routes<S: Storage>(
    ledger: Ledger<S>,
    settings: &Settings,
) -> impl Endpoint<Output = Response> + use<S> {
    routes_with_metrics(ledger, settings, &Metrics::new())
}

/// [`routes`], counting into `metrics`.
pub fn routes_with_metrics<S: Storage>(
    ledger: Ledger<S>,
    settings: &Settings,
    metrics: &Metrics,
) -> impl Endpoint<Output = Response> + use<S> {
    let service = api::service(
        ledger.clone(),
        CookiePolicy {
            secure: settings.cookie_secure,
        },
        "/api/v1",
    );
    let allowed = AllowedMethods::from_spec(
        &service.spec(),
        "/api/v1",
        &[
            ("/openapi.json", "GET"),
            ("/health", "GET"),
            ("/health/ready", "GET"),
            ("/redoc", "GET"),
            ("/metrics", "GET"),
        ],
    );
    metrics.set_routes(RouteTemplates::from_spec(
        &service.spec(),
        "/api/v1",
        &[
            "/openapi.json",
            "/docs/*",
            "/redoc",
            "/health",
            "/health/ready",
            "/metrics",
        ],
    ));
    let metrics_here = settings.metrics_bind.is_none();
    let document = spec_json(&service.spec());
    let spec = make(move |_| {
        let document = document.clone();
        async move {
            Response::builder()
                .content_type("application/json; charset=utf-8")
                .body(document)
        }
    });
    let docs = service.swagger_ui();
    let redoc = service.redoc();
    let ready_ledger = ledger.clone();
    let ready = make(move |_| {
        let ledger = ready_ledger.clone();
        async move {
            // A load balancer's health check wants an answer, not the pool's 2 s wait.
            let ready = tokio::time::timeout(READY_TIMEOUT, ledger.ready()).await;
            match ready.unwrap_or_else(|_| {
                Err(splitledger_core::Error::Unavailable(
                    splitledger_core::Cause::msg("the readiness check timed out"),
                ))
            }) {
                Ok(()) => Json(serde_json::json!({"status": "ready"})).into_response(),
                Err(e) => {
                    tracing::warn!(error = %e, "readiness check failed");
                    let mut response = Problem::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "unavailable",
                        "the database does not answer",
                    )
                    .into_http();
                    response.headers_mut().insert(
                        poem::http::header::RETRY_AFTER,
                        poem::http::HeaderValue::from(UNAVAILABLE_RETRY_AFTER_SECS),
                    );
                    response
                }
            }
        }
    });
    let health = make(|_| async { Json(serde_json::json!({"status": "ok"})) });
    // `Application::with_storage` refuses unusable OpenID Connect settings before this runs.
    let oidc = Arc::new(oidc(settings).unwrap_or_else(|e| {
        tracing::error!(error = %e, "OpenID Connect is off");
        Oidc::none()
    }));
    // Discovery now, so a provider that is down shows in the log at start; a login retries.
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        let oidc = Arc::clone(&oidc);
        runtime.spawn(async move { oidc.discover_all().await });
    }

    let origins: Vec<String> = settings
        .cors_origins
        .iter()
        .map(|o| o.trim().to_string())
        .filter(|o| !o.is_empty())
        .collect();
    let cors_on = !origins.is_empty();
    let cors = if origins.iter().any(|o| o == "*") {
        Cors::new()
    } else {
        Cors::new().allow_origins(origins).allow_credentials(true)
    }
    .expose_header("x-request-id")
    .expose_header("retry-after");

    let mut route = Route::new()
        .nest("/api/v1", service)
        .at("/openapi.json", spec)
        .nest("/docs", docs)
        .nest("/redoc", get(redoc))
        .at("/health", get(health))
        .at("/health/ready", get(ready));
    if metrics_here {
        route = route.at("/metrics", metrics.endpoint());
    }
    route
        .catch_all_error(|e| async move { problem_from_error(e) })
        .with(BodyLimit(settings.body_limit))
        .with_if(cors_on, cors)
        .data(SessionResolver(Arc::new(ledger)))
        .data(oidc)
        .with(CookieJarManager::new())
        .with(allowed)
        .with(Reporting)
        .with(RequestId)
        .with(Observe(metrics.clone()))
        .map_to_response()
}

/// The OpenAPI document, as `splitledger-server openapi` prints it and `/openapi.json`
/// serves it.
pub fn openapi_json() -> String {
    spec_json(
        &api::service(
            Ledger::new(MemoryStorage::new()),
            CookiePolicy { secure: false },
            "/api/v1",
        )
        .spec(),
    )
}

/// poem-openapi's document with the formats OpenAPI defines: it writes `time::Date` as
/// `naive-date`, which no validator knows, so clients and the contract fuzzer took dates
/// for free text; they are RFC 3339 full dates, `date`.
fn spec_json(generated: &str) -> String {
    fn fix(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                if map.get("format").and_then(|f| f.as_str()) == Some("naive-date") {
                    map.insert("format".into(), "date".into());
                }
                map.values_mut().for_each(fix);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(fix),
            _ => {}
        }
    }
    match serde_json::from_str::<serde_json::Value>(generated) {
        Ok(mut document) => {
            fix(&mut document);
            serde_json::to_string_pretty(&document).unwrap_or_else(|_| generated.to_string())
        }
        Err(_) => generated.to_string(),
    }
}

/// A server bound to its address, ready to run.
pub struct Application {
    acceptor: TcpAcceptor,
    endpoint: poem::endpoint::BoxEndpoint<'static, Response>,
    addr: SocketAddr,
    shutdown_timeout: std::time::Duration,
    metrics: Metrics,
    metrics_listener: Option<MetricsListener>,
    _recurring: RecurringTimer,
    // Kept for the server's life: dropping it flushes the events still queued.
    _sentry: Option<sentry::ClientInitGuard>,
}

/// `/metrics` on its own address (`--metrics-bind`).
struct MetricsListener {
    acceptor: TcpAcceptor,
    addr: SocketAddr,
}

async fn bind(addr: &str) -> Result<(TcpAcceptor, SocketAddr), StartupError> {
    let bind_error = |source| StartupError::Bind {
        addr: addr.to_string(),
        source,
    };
    let acceptor = TcpListener::bind(addr.to_string())
        .into_acceptor()
        .await
        .map_err(bind_error)?;
    let local = acceptor
        .local_addr()
        .first()
        .and_then(|a| a.as_socket_addr().copied())
        .ok_or_else(|| bind_error(std::io::Error::other("no local address")))?;
    Ok((acceptor, local))
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Application {
    /// Opens the store named by `settings.database_url` (migrating it) and binds the
    /// listener.
    pub async fn build(settings: &Settings) -> Result<Self, StartupError> {
        let url = settings.database_url.as_str();
        if url == "memory:" || url == "memory://" {
            tracing::warn!("using the in-memory store: nothing will be kept");
            return Self::with_storage(MemoryStorage::new(), settings).await;
        }
        crate::stores::open_and_build(settings).await
    }

    /// Binds the listener over a ready store (tests use this with the in-memory store).
    pub async fn with_storage<S: Storage>(
        storage: S,
        settings: &Settings,
    ) -> Result<Self, StartupError> {
        Self::with_storage_and_pool(storage, settings, None).await
    }

    /// [`with_storage`](Self::with_storage), reporting the store's connection pool in
    /// `/metrics` when `pool` reads it. Starts the Sentry client when a DSN is set and
    /// binds `--metrics-bind` when set.
    pub async fn with_storage_and_pool<S: Storage>(
        storage: S,
        settings: &Settings,
        pool: Option<PoolProbe>,
    ) -> Result<Self, StartupError> {
        let sentry = match settings.sentry_dsn.as_deref() {
            Some(dsn) => Some(crate::reporting::init(dsn).map_err(StartupError::Sentry)?),
            None => None,
        };
        oidc(settings)?;
        if !settings.oidc.0.is_empty() && settings.public_url.is_none() {
            tracing::warn!(
                public_url = %settings.public_url(),
                "no --public-url: OpenID Connect redirect URIs use the bind address"
            );
        }
        let metrics = Metrics::new();
        if let Some(probe) = pool {
            metrics.watch_pool(probe);
        }
        let ledger = Ledger::with_config(storage, ledger_config(settings))
            .with_blobs(crate::files::open(settings)?);
        crate::files::spawn_sweeper(ledger.clone());
        let recurring = RecurringTimer::start(ledger.clone());
        let endpoint = routes_with_metrics(ledger, settings, &metrics).boxed();
        let (acceptor, addr) = bind(&settings.bind).await?;
        let metrics_listener = match settings.metrics_bind.as_deref() {
            Some(at) => {
                let (acceptor, addr) = bind(at).await?;
                Some(MetricsListener { acceptor, addr })
            }
            None => None,
        };
        Ok(Self {
            acceptor,
            endpoint,
            addr,
            shutdown_timeout: settings.shutdown_timeout,
            metrics,
            metrics_listener,
            _sentry: sentry,
            _recurring: recurring,
        })
    }

    /// Where `/metrics` is served apart, when `--metrics-bind` is set (the real port when
    /// bound to port 0).
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener.as_ref().map(|m| m.addr)
    }

    /// The address it listens on (the real port when bound to port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Serves until SIGTERM or Ctrl-C, then finishes the requests in flight.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `signal` completes, then finishes the requests in flight (up to the
    /// shutdown timeout).
    pub async fn run_until(self, signal: impl Future<Output = ()>) -> std::io::Result<()> {
        tracing::info!(addr = %self.addr, "listening");
        let timeout = Some(self.shutdown_timeout);
        let main = Server::new_with_acceptor(self.acceptor);
        let Some(listener) = self.metrics_listener else {
            return main
                .run_with_graceful_shutdown(self.endpoint, signal, timeout)
                .await;
        };
        tracing::info!(addr = %listener.addr, "serving /metrics");
        let scrape = Route::new()
            .at("/metrics", self.metrics.endpoint())
            .catch_all_error(|e| async move { problem_from_error(e) });
        // One signal stops both servers.
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let wait = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
            let _ = stopped.wait_for(|s| *s).await;
        };
        let main = main.run_with_graceful_shutdown(self.endpoint, wait(stopped.clone()), timeout);
        let scrape = Server::new_with_acceptor(listener.acceptor).run_with_graceful_shutdown(
            scrape,
            wait(stopped),
            timeout,
        );
        let signal = async move {
            signal.await;
            let _ = stop.send(true);
        };
        let ((), main, scrape) = tokio::join!(signal, main, scrape);
        main.and(scrape)
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C: shutting down"),
        () = term => tracing::info!("SIGTERM: shutting down"),
    }
}

/// How often each server makes the recurring occurrences that have come due. Reads of a
/// group make its own before answering, so the timer only keeps groups nobody reads (and
/// the balances across groups of `/users/me/balances`) current; a minute is plenty.
const RECURRING_PERIOD: std::time::Duration = std::time::Duration::from_secs(60);
/// Series looked at per batch; a tick runs batches until fewer come back.
const RECURRING_BATCH: u32 = 100;
/// Batches per tick at most, so one tick's work is bounded.
const RECURRING_BATCHES: u32 = 10;

/// The task that makes due recurring occurrences in every group, stopped with the server.
/// Every server runs one: the store makes each occurrence exactly once however many race.
struct RecurringTimer(tokio::task::JoinHandle<()>);

impl RecurringTimer {
    fn start<S: Storage>(ledger: Ledger<S>) -> Self {
        Self(tokio::spawn(async move {
            let mut ticks = tokio::time::interval(RECURRING_PERIOD);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                // The first tick is immediate: catch-up after downtime starts at once.
                ticks.tick().await;
                for _ in 0..RECURRING_BATCHES {
                    match ledger.make_due_occurrences(RECURRING_BATCH).await {
                        Ok(n) if n < RECURRING_BATCH as usize => break,
                        Ok(_) => {}
                        Err(error) => {
                            tracing::warn!(%error, "recurring occurrences not made this round");
                            break;
                        }
                    }
                }
            }
        }))
    }
}

impl Drop for RecurringTimer {
    fn drop(&mut self) {
        self.0.abort();
    }
}
