//! Request-scoped middleware: request ids with a log span, and the body size limit.

use std::time::Instant;

use poem::http::{HeaderValue, StatusCode, header};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response};
use tracing::Instrument;

use crate::problem::{ApiError, problem_from_error};
use crate::security::SessionMemo;

/// The request id header.
pub const REQUEST_ID: &str = "x-request-id";

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
        let span = tracing::info_span!(
            "request",
            request_id = %id,
            method = %req.method(),
            path = %req.uri().path(),
        );
        async move {
            let started = Instant::now();
            let mut response = match self.0.call(req).await {
                Ok(r) => r.into_response(),
                Err(e) => problem_from_error(e),
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
        let announced = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if announced.is_some_and(|n| n > self.max as u64) {
            return Err(too_large(self.max));
        }
        let body = req.take_body().into_bytes_limit(self.max).await;
        match body {
            Ok(bytes) => req.set_body(bytes),
            Err(poem::error::ReadBodyError::PayloadTooLarge) => return Err(too_large(self.max)),
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
