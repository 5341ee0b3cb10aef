//! Prometheus metrics (`GET /metrics`, text format): requests by route template, method and
//! status with a latency histogram, the database pool's use, and entries written by kind.
//!
//! Labels never carry what a request says: the route is the OpenAPI template
//! (`/api/v1/groups/{group_id}/expenses`), a path no template matches is `unmatched`, an
//! unusual method is `OTHER`. So no id, email or token reaches a label, and a scanner
//! probing random paths cannot grow the number of series.
//!
//! Each [`Metrics`] has its own registry (no process-wide recorder), so several apps in one
//! process, as in tests, keep separate counts.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use poem::http::{Method, StatusCode};
use poem::{Endpoint, EndpointExt, IntoResponse, Middleware, Request, Response};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

use crate::problem::problem_from_error;

/// Latency buckets, in seconds: from a cached read (~1 ms) to the pool's 2 s wait and past.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The route label of a path no template matches.
pub const UNMATCHED: &str = "unmatched";

/// A pool's use, read at each scrape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUse {
    /// Connections open (idle or in use).
    pub size: u32,
    /// Connections open and idle.
    pub idle: usize,
    /// The most the pool may open.
    pub max: u32,
}

/// Reads the pool's use (the store is chosen at start; the rest of the server is generic).
pub type PoolProbe = Arc<dyn Fn() -> PoolUse + Send + Sync>;

/// The metrics of one server.
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

struct Inner {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    entries: IntCounterVec,
    pool_size: IntGauge,
    pool_idle: IntGauge,
    pool_max: IntGauge,
    pool: OnceLock<PoolProbe>,
    routes: OnceLock<RouteTemplates>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with splitledger's metrics.
    pub fn new() -> Self {
        let registry = Registry::new();
        // The names and label sets are constants, so registration cannot fail in practice;
        // if it ever did, the metric still counts, it is only left out of `/metrics`.
        let requests = IntCounterVec::new(
            Opts::new(
                "splitledger_http_requests_total",
                "HTTP requests answered, by route template, method and status.",
            ),
            &["route", "method", "status"],
        )
        .unwrap_or_else(|_| unreachable_metric());
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "splitledger_http_request_duration_seconds",
                "Time to answer an HTTP request, by route template and method.",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["route", "method"],
        )
        .unwrap_or_else(|_| unreachable_metric());
        let entries = IntCounterVec::new(
            Opts::new(
                "splitledger_entries_written_total",
                "Ledger entries written through the API (expenses, settlements, conversions), \
                 by kind and operation; a retried request answered from its first outcome \
                 counts again.",
            ),
            &["kind", "operation"],
        )
        .unwrap_or_else(|_| unreachable_metric());
        let gauge = |name: &str, help: &str| {
            IntGauge::new(name, help).unwrap_or_else(|_| unreachable_metric())
        };
        let pool_size = gauge(
            "splitledger_db_pool_connections",
            "Database connections open (idle or in use).",
        );
        let pool_idle = gauge(
            "splitledger_db_pool_idle_connections",
            "Database connections open and idle.",
        );
        let pool_max = gauge(
            "splitledger_db_pool_max_connections",
            "The most database connections the pool may open.",
        );
        for collector in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(entries.clone()),
            Box::new(pool_size.clone()),
            Box::new(pool_idle.clone()),
            Box::new(pool_max.clone()),
        ] {
            if let Err(e) = registry.register(collector) {
                tracing::error!(error = %e, "a metric could not be registered");
            }
        }
        Self(Arc::new(Inner {
            registry,
            requests,
            latency,
            entries,
            pool_size,
            pool_idle,
            pool_max,
            pool: OnceLock::new(),
            routes: OnceLock::new(),
        }))
    }

    /// Reports this pool's use at every scrape (once; later calls are ignored).
    pub fn watch_pool(&self, probe: PoolProbe) {
        let _ = self.0.pool.set(probe);
    }

    /// The route templates requests are counted under (set once, from the OpenAPI
    /// document, when the routes are built).
    pub(crate) fn set_routes(&self, routes: RouteTemplates) {
        let _ = self.0.routes.set(routes);
    }

    /// Counts one answered request.
    pub fn observe(&self, method: &Method, path: &str, status: StatusCode, seconds: f64) {
        let route = self
            .0
            .routes
            .get()
            .and_then(|r| r.template(path))
            .unwrap_or(UNMATCHED);
        let method = method_label(method);
        let code = status.as_u16().to_string();
        self.0
            .requests
            .with_label_values(&[route, method, code.as_str()])
            .inc();
        self.0
            .latency
            .with_label_values(&[route, method])
            .observe(seconds);
        if status.is_success()
            && let Some((kind, operation)) = entry_written(method, route)
        {
            self.0.entries.with_label_values(&[kind, operation]).inc();
        }
    }

    /// Everything, in the Prometheus text format.
    pub fn render(&self) -> String {
        if let Some(probe) = self.0.pool.get() {
            let pool = probe();
            self.0.pool_size.set(i64::from(pool.size));
            self.0
                .pool_idle
                .set(i64::try_from(pool.idle).unwrap_or(i64::MAX));
            self.0.pool_max.set(i64::from(pool.max));
        }
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.0.registry.gather(), &mut out) {
            tracing::error!(error = %e, "metrics could not be encoded");
        }
        String::from_utf8(out).unwrap_or_default()
    }

    /// `GET /metrics`.
    pub fn endpoint(&self) -> impl Endpoint<Output = Response> + use<> {
        let metrics = self.clone();
        poem::get(poem::endpoint::make(move |_| {
            let metrics = metrics.clone();
            async move {
                Response::builder()
                    .content_type(TextEncoder::new().format_type())
                    .body(metrics.render())
            }
        }))
        .map_to_response()
    }
}

#[cold]
fn unreachable_metric<T>() -> T {
    // Only a name or label set that Prometheus rejects gets here: they are constants above,
    // and the unit tests render them.
    panic!("a metric definition is invalid")
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// The entry kind and operation a successful request wrote, from its route template:
/// `POST …/expenses` creates an expense, `PATCH …/expenses/{expense_id}` changes one,
/// `DELETE` on it deletes one; likewise settlements and conversions.
fn entry_written(method: &str, route: &str) -> Option<(&'static str, &'static str)> {
    let mut parts = route.rsplit('/');
    let last = parts.next()?;
    let (collection, on_item) = if last.starts_with('{') {
        (parts.next()?, true)
    } else {
        (last, false)
    };
    if !route.starts_with("/api/v1/groups/{group_id}/") {
        return None;
    }
    let kind = match collection {
        "expenses" => "expense",
        "settlements" => "settlement",
        "conversions" => "conversion",
        _ => return None,
    };
    let operation = match (method, on_item) {
        ("POST", false) => "create",
        ("PATCH" | "PUT", true) => "update",
        ("DELETE", true) => "delete",
        _ => return None,
    };
    Some((kind, operation))
}

/// The route templates of the server, to name a request's route without its ids.
#[derive(Debug, Clone)]
pub(crate) struct RouteTemplates(Vec<(Vec<String>, String)>);

impl RouteTemplates {
    /// The paths of the OpenAPI document of the API nested at `prefix`, plus `extra`
    /// templates (`/docs/*` matches `/docs` and everything under it).
    pub(crate) fn from_spec(spec: &str, prefix: &str, extra: &[&str]) -> Self {
        let spec: serde_json::Value = serde_json::from_str(spec).unwrap_or_default();
        let mut templates: Vec<String> = spec["paths"]
            .as_object()
            .map(|paths| paths.keys().map(|p| format!("{prefix}{p}")).collect())
            .unwrap_or_default();
        templates.extend(extra.iter().map(|p| (*p).to_string()));
        Self(
            templates
                .into_iter()
                .map(|t| (segments(&t), t.trim_end_matches("/*").to_string()))
                .collect(),
        )
    }

    /// The template `path` matches; where several do (`/users/me`, `/users/{user_id}`),
    /// the one with the most literal segments, as the router chooses.
    pub(crate) fn template(&self, path: &str) -> Option<&str> {
        let parts = segments(path);
        self.0
            .iter()
            .filter_map(|(template, name)| {
                let rest = template.last().is_some_and(|t| t == "*");
                let fixed = if rest {
                    &template[..template.len() - 1]
                } else {
                    &template[..]
                };
                let fits = if rest {
                    parts.len() >= fixed.len()
                } else {
                    parts.len() == fixed.len()
                };
                let mut literal = 0;
                for (t, p) in fixed.iter().zip(&parts) {
                    if t.starts_with('{') {
                        continue;
                    }
                    if t != p {
                        return None;
                    }
                    literal += 1;
                }
                fits.then_some((literal, name.as_str()))
            })
            .max_by_key(|(literal, _)| *literal)
            .map(|(_, name)| name)
    }
}

fn segments(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Counts every request: its route template, method, final status and latency.
#[derive(Debug, Clone)]
pub struct Observe(pub Metrics);

impl<E: Endpoint> Middleware<E> for Observe {
    type Output = ObserveEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        ObserveEndpoint {
            inner: ep,
            metrics: self.0.clone(),
        }
    }
}

/// The endpoint of [`Observe`].
#[derive(Debug)]
pub struct ObserveEndpoint<E> {
    inner: E,
    metrics: Metrics,
}

impl<E: Endpoint> Endpoint for ObserveEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let started = Instant::now();
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let response = match self.inner.call(req).await {
            Ok(r) => r.into_response(),
            Err(e) => problem_from_error(e),
        };
        self.metrics.observe(
            &method,
            &path,
            response.status(),
            started.elapsed().as_secs_f64(),
        );
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn templates() -> RouteTemplates {
        let spec = serde_json::json!({"paths": {
            "/users/me": {}, "/users/{user_id}": {}, "/groups/{group_id}/expenses": {},
            "/groups/{group_id}/expenses/{expense_id}": {},
        }})
        .to_string();
        RouteTemplates::from_spec(&spec, "/api/v1", &["/metrics", "/docs/*"])
    }

    #[test]
    fn paths_are_named_by_their_template() {
        let t = templates();
        assert_eq!(t.template("/api/v1/users/me"), Some("/api/v1/users/me"));
        assert_eq!(
            t.template("/api/v1/users/6f1c"),
            Some("/api/v1/users/{user_id}")
        );
        assert_eq!(
            t.template("/api/v1/groups/abc/expenses/def"),
            Some("/api/v1/groups/{group_id}/expenses/{expense_id}")
        );
        assert_eq!(t.template("/docs"), Some("/docs"));
        assert_eq!(t.template("/docs/oauth-receiver.html"), Some("/docs"));
        assert_eq!(t.template("/api/v1/nope/secret@example.com"), None);
        assert_eq!(t.template("/api/v1/groups/abc"), None);
    }

    #[test]
    fn entry_writes_are_told_by_route_and_method() {
        let e = "/api/v1/groups/{group_id}/expenses";
        assert_eq!(entry_written("POST", e), Some(("expense", "create")));
        assert_eq!(entry_written("GET", e), None);
        let one = "/api/v1/groups/{group_id}/settlements/{settlement_id}";
        assert_eq!(entry_written("DELETE", one), Some(("settlement", "delete")));
        assert_eq!(entry_written("POST", one), None);
        assert_eq!(
            entry_written("PATCH", "/api/v1/groups/{group_id}/expenses/{expense_id}"),
            Some(("expense", "update"))
        );
        assert_eq!(
            entry_written("POST", "/api/v1/groups/{group_id}/members"),
            None
        );
    }

    #[test]
    fn every_metric_renders() {
        let m = Metrics::new();
        m.set_routes(templates());
        m.watch_pool(Arc::new(|| PoolUse {
            size: 3,
            idle: 2,
            max: 16,
        }));
        m.observe(
            &Method::POST,
            "/api/v1/groups/g1/expenses",
            StatusCode::CREATED,
            0.01,
        );
        m.observe(
            &Method::from_bytes(b"BREW").unwrap_or(Method::GET),
            "/x",
            StatusCode::NOT_FOUND,
            0.0,
        );
        let text = m.render();
        for line in [
            r#"splitledger_http_requests_total{method="POST",route="/api/v1/groups/{group_id}/expenses",status="201"} 1"#,
            r#"splitledger_http_requests_total{method="OTHER",route="unmatched",status="404"} 1"#,
            r#"splitledger_entries_written_total{kind="expense",operation="create"} 1"#,
            "splitledger_db_pool_connections 3",
            "splitledger_db_pool_idle_connections 2",
            "splitledger_db_pool_max_connections 16",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
        assert!(text.contains("splitledger_http_request_duration_seconds_bucket{method=\"POST\",route=\"/api/v1/groups/{group_id}/expenses\",le=\"0.025\"} 1"), "{text}");
    }
}
