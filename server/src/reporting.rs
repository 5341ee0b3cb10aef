//! Error reporting to Sentry (`--sentry-dsn`): every 5xx answer and every panic becomes an
//! event tagged with the request id, so an operator can go from an alert to the request's
//! log lines. With no DSN nothing is sent (no client exists); panics in a request are still
//! caught and answered 500 problem+json instead of dropping the connection.
//!
//! Each request runs with its own hub (a child of the main one) whose scope carries the
//! request id; the hub is bound around every poll of the request, so the panic integration,
//! which reports on the hub current when the panic happens, tags panics too.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use poem::http::StatusCode;
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};
use sentry::protocol::{Event, Level};
use sentry::{Hub, SentryFutureExt};

use crate::middleware::CurrentRequestId;
use crate::problem::{Problem, problem_from_error};

/// Starts the Sentry client for `dsn`; events are sent until the guard is dropped (which
/// waits briefly for those still queued). The transport is ureq over rustls with bundled
/// root certificates, so it works in a minimal container.
pub fn init(dsn: &str) -> Result<sentry::ClientInitGuard, String> {
    let dsn: sentry::types::Dsn = dsn
        .parse()
        .map_err(|e| format!("invalid Sentry DSN: {e}"))?;
    let mut options = sentry::ClientOptions::default();
    options.dsn = Some(dsn);
    options.release = sentry::release_name!();
    // Never the client's address, cookies or headers: tokens travel in them.
    options.send_default_pii = false;
    let guard = sentry::init(options);
    tracing::info!("errors and panics are reported to Sentry");
    Ok(guard)
}

/// Catches panics (answering 500) and reports 5xx answers and panics to Sentry when a
/// client is running. Must run inside [`RequestId`](crate::middleware::RequestId).
#[derive(Debug, Clone, Copy, Default)]
pub struct Reporting;

impl<E: Endpoint> Middleware<E> for Reporting {
    type Output = ReportingEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        ReportingEndpoint(ep)
    }
}

/// The endpoint of [`Reporting`].
#[derive(Debug)]
pub struct ReportingEndpoint<E>(E);

fn panic_text(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic without a message")
}

impl<E: Endpoint> Endpoint for ReportingEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let request_id = req
            .data::<CurrentRequestId>()
            .map(|r| r.0.clone())
            .unwrap_or_default();
        let method = req.method().to_string();
        let path = req.uri().path().to_string();
        // The main hub, not this thread's: a worker thread's hub may predate the client.
        let hub = Arc::new(Hub::new_from_top(Hub::main()));
        let reporting = hub.client().is_some_and(|c| c.is_enabled());
        if reporting {
            hub.configure_scope(|scope| {
                scope.set_tag("request_id", &request_id);
                scope.set_tag("http.method", &method);
                // The path, not the query: queries may carry cursors and filters.
                scope.set_extra("http.path", path.clone().into());
            });
        }
        let outcome = AssertUnwindSafe(self.0.call(req).bind_hub(hub.clone()))
            .catch_unwind()
            .await;
        let response = match outcome {
            Ok(Ok(r)) => r.into_response(),
            Ok(Err(e)) => problem_from_error(e),
            Err(panic) => {
                // The panic integration has already reported it, tagged by this hub's scope.
                tracing::error!(panic = panic_text(&*panic), "the request panicked");
                return Ok(Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "an unexpected error occurred; it has been logged",
                )
                .into_http());
            }
        };
        if reporting && response.status().is_server_error() {
            return Ok(report(&hub, &method, &path, response).await);
        }
        Ok(response)
    }
}

/// Sends an event for a 5xx answer (its problem code and detail as the message) and gives
/// the answer back unchanged.
async fn report(hub: &Hub, method: &str, path: &str, response: Response) -> Response {
    let (parts, body) = response.into_parts();
    // Problem bodies are small; the bytes are put back as they were.
    let bytes = body.into_bytes().await.unwrap_or_default();
    let problem: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let code = problem["code"].as_str().unwrap_or("internal");
    let detail = problem["detail"].as_str().unwrap_or("");
    hub.capture_event(Event {
        message: Some(format!(
            "{} {code} answering {method} {path}: {detail}",
            parts.status.as_u16()
        )),
        level: if parts.status == StatusCode::SERVICE_UNAVAILABLE {
            Level::Warning
        } else {
            Level::Error
        },
        tags: [
            (
                "http.status_code".to_string(),
                parts.status.as_u16().to_string(),
            ),
            ("problem.code".to_string(), code.to_string()),
        ]
        .into_iter()
        .collect(),
        ..Event::default()
    });
    Response::from_parts(parts, bytes.into())
}
