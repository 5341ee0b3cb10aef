//! Request-scoped middleware: request ids with a log span, and the body size limit.

use std::time::Instant;

use poem::http::{HeaderValue, StatusCode, header};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};
use tracing::Instrument;

use crate::problem::{ApiError, Problem, problem_from_error};
use crate::security::SessionMemo;

/// The longest request target served (path and query): 8 KiB, as common servers allow. A
/// longer one is 414 problem+json here, well below hyper's own limit (64 KiB), where hyper
/// answers a bare 414 before any of our code runs.
pub const MAX_URI_LEN: usize = 8 * 1024;

/// The request id header.
pub const REQUEST_ID: &str = "x-request-id";

/// The id of the request being served, for the middleware and handlers inside
/// [`RequestId`] (`req.data::<CurrentRequestId>()`).
#[derive(Debug, Clone)]
pub struct CurrentRequestId(pub String);

/// Gives every request an id (the client's `x-request-id` when it is sensible, else a new
/// UUID), runs it in a log span carrying that id, echoes it on the response, logs the
/// outcome, and turns any error that reached this far into a problem response.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestId;

impl<E: Endpoint> Middleware<E> for RequestId {
    type Output = RequestIdEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        RequestIdEndpoint(ep)
    }
}

/// The endpoint of [`RequestId`].
#[derive(Debug)]
pub struct RequestIdEndpoint<E>(E);

fn sensible(id: &str) -> bool {
    (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic())
}

impl<E: Endpoint> Endpoint for RequestIdEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        // Several security schemes may try one token: it is looked up once per request.
        req.extensions_mut().insert(SessionMemo::default());
        let id = req
            .headers()
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .filter(|v| sensible(v))
            .map(str::to_string)
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        req.set_data(CurrentRequestId(id.clone()));
        let span = tracing::info_span!(
            "request",
            request_id = %id,
            method = %req.method(),
            path = %req.uri().path(),
        );
        async move {
            let started = Instant::now();
            let too_long = req.uri().to_string().len() > MAX_URI_LEN;
            let mut response = if too_long {
                Problem::new(
                    StatusCode::URI_TOO_LONG,
                    "uri_too_long",
                    format!("the request target is longer than {MAX_URI_LEN} bytes"),
                )
                .into_http()
            } else {
                match self.0.call(req).await {
                    Ok(r) => r.into_response(),
                    Err(e) => problem_from_error(e),
                }
            };
            if let Ok(value) = HeaderValue::from_str(&id) {
                response.headers_mut().insert(REQUEST_ID, value);
            }
            let status = response.status().as_u16();
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            if response.status().is_server_error() {
                tracing::warn!(status, latency_ms = ms, "request failed");
            } else {
                tracing::info!(status, latency_ms = ms, "request finished");
            }
            Ok(response)
        }
        .instrument(span)
        .await
    }
}

/// Refuses request bodies over a size (413), whether announced by `Content-Length` or
/// streamed.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

impl<E: Endpoint> Middleware<E> for BodyLimit {
    type Output = BodyLimitEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        BodyLimitEndpoint {
            inner: ep,
            max: self.0,
        }
    }
}

/// The endpoint of [`BodyLimit`].
#[derive(Debug)]
pub struct BodyLimitEndpoint<E> {
    inner: E,
    max: usize,
}

fn too_large(max: usize) -> poem::Error {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("the request body is larger than {max} bytes"),
    )
    .into()
}

impl<E: Endpoint> Endpoint for BodyLimitEndpoint<E> {
    type Output = E::Output;

    async fn call(&self, mut req: Request) -> poem::Result<Self::Output> {
        let max = match body_rule(&req, self.max) {
            BodyRule::Streamed => return self.inner.call(req).await,
            BodyRule::Limit(max) => max,
        };
        let announced = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if announced.is_some_and(|n| n > max as u64) {
            return Err(too_large(max));
        }
        let body = req.take_body().into_bytes_limit(max).await;
        match body {
            Ok(bytes) => req.set_body(bytes),
            Err(poem::error::ReadBodyError::PayloadTooLarge) => return Err(too_large(max)),
            Err(e) => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "malformed_body",
                    format!("the request body could not be read: {e}"),
                )
                .into());
            }
        }
        self.inner.call(req).await
    }
}

/// How a request's body is bounded before its handler sees it.
enum BodyRule {
    /// Read whole, refused past this many bytes.
    Limit(usize),
    /// Passed through unread: the handler streams it and counts it against its own limit.
    Streamed,
}

/// The body rule of a request's route; `default` is `--body-limit`.
fn body_rule(req: &Request, default: usize) -> BodyRule {
    if req.method() != poem::http::Method::POST {
        return BodyRule::Limit(default);
    }
    let path = req.uri().path().trim_end_matches('/');
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        // An attachment upload counts its file against `--max-upload` while streaming it.
        ["", "api", "v1", "groups", _, "expenses", _, "attachments"] => BodyRule::Streamed,
        // An import carries another tool's whole history (50,000 rows are a few MiB): its
        // file has its own bound, plus room for the multipart envelope and the mapping.
        ["", "api", "v1", "groups", _, "import"] => {
            BodyRule::Limit(default.max(crate::api::imports::MAX_IMPORT_BYTES + 1024 * 1024))
        }
        _ => BodyRule::Limit(default),
    }
}

/// The methods each route answers, for the `Allow` header of a 405: path templates as the
/// OpenAPI document writes them (`/api/v1/groups/{group_id}`), with their methods.
#[derive(Debug, Clone)]
pub struct AllowedMethods(std::sync::Arc<Vec<(Vec<String>, String)>>);

impl AllowedMethods {
    /// From the OpenAPI document of the API nested at `prefix`, plus `extra` routes.
    pub fn from_spec(spec: &str, prefix: &str, extra: &[(&str, &str)]) -> Self {
        let spec: serde_json::Value = serde_json::from_str(spec).unwrap_or_default();
        let mut routes: Vec<(Vec<String>, String)> = Vec::new();
        if let Some(paths) = spec["paths"].as_object() {
            for (path, ops) in paths {
                let methods: Vec<String> = ops
                    .as_object()
                    .map(|o| o.keys().map(|m| m.to_ascii_uppercase()).collect())
                    .unwrap_or_default();
                routes.push((segments(&format!("{prefix}{path}")), methods.join(", ")));
            }
        }
        for (path, methods) in extra {
            routes.push((segments(path), (*methods).to_string()));
        }
        Self(std::sync::Arc::new(routes))
    }

    /// The methods of the route `path` matches, if any.
    fn of(&self, path: &str) -> Option<&str> {
        let parts = segments(path);
        self.0
            .iter()
            .find(|(template, _)| {
                template.len() == parts.len()
                    && template
                        .iter()
                        .zip(&parts)
                        .all(|(t, p)| t.starts_with('{') || t == p)
            })
            .map(|(_, methods)| methods.as_str())
    }
}

fn segments(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

impl<E: Endpoint> Middleware<E> for AllowedMethods {
    type Output = AllowedMethodsEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        AllowedMethodsEndpoint {
            inner: ep,
            allowed: self.clone(),
        }
    }
}

/// The endpoint of [`AllowedMethods`]: adds `Allow` to every 405 (RFC 9110 requires it).
#[derive(Debug)]
pub struct AllowedMethodsEndpoint<E> {
    inner: E,
    allowed: AllowedMethods,
}

impl<E: Endpoint> Endpoint for AllowedMethodsEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> poem::Result<Response> {
        let path = req.uri().path().to_string();
        let mut response = match self.inner.call(req).await {
            Ok(r) => r.into_response(),
            Err(e) => problem_from_error(e),
        };
        if response.status() == StatusCode::METHOD_NOT_ALLOWED
            && let Some(methods) = self.allowed.of(&path)
            && let Ok(value) = HeaderValue::from_str(methods)
        {
            response.headers_mut().insert(header::ALLOW, value);
        }
        Ok(response)
    }
}
