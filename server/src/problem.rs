//! Every error as `application/problem+json` (RFC 9457): the Ledger's typed errors, and
//! poem's and poem-openapi's own failures (malformed bodies, unknown routes, ...), mapped in
//! one place so clients see one shape.

use poem::Response;
use poem::error::ResponseError;
use poem::http::{HeaderValue, StatusCode, header};
use poem_openapi::registry::{MetaHeader, MetaMediaType, MetaResponse, MetaResponses, Registry};
use poem_openapi::types::{ToJSON, Type};
use poem_openapi::{ApiResponse, Object};
use splitledger_core::Error as LedgerError;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One refused field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
pub struct FieldProblem {
    /// Where, e.g. `split.shares[1].percent`.
    pub field: String,
    /// A stable machine-readable code, e.g. `amount_too_precise`.
    pub code: String,
    /// What is wrong, for people.
    pub message: String,
}

/// An error, as every failing request answers (`application/problem+json`).
#[derive(Debug, Clone, PartialEq, Eq, Object)]
pub struct Problem {
    /// A URI naming the kind of problem (`about:blank` style, derived from `code`).
    #[oai(rename = "type")]
    pub kind: String,
    /// A short human summary of the kind of problem (the HTTP reason phrase).
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// A stable machine-readable code, e.g. `validation_failed`, `not_found`, `throttled`.
    pub code: String,
    /// What went wrong with this request, for people.
    pub detail: String,
    /// Field errors, for validation failures.
    #[oai(skip_serializing_if_is_none)]
    pub errors: Option<Vec<FieldProblem>>,
}

impl Problem {
    /// A problem with a status, a stable code and a sentence.
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Self {
        Self {
            kind: format!("https://splitledger.invalid/problems/{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            code: code.to_string(),
            detail: detail.into(),
            errors: None,
        }
    }

    /// The problem as an HTTP response.
    pub fn into_http(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = self.to_json_string();
        Response::builder()
            .status(status)
            .content_type(PROBLEM_JSON)
            .body(body)
    }
}

/// `Retry-After` on a 503: a database that restarts is usually back within seconds, and
/// clients that wait a little spare it a thundering herd.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 2;

/// The error of every operation: a Ledger error, or a refusal decided at the edge (e.g. an
/// unsupported OAuth2 grant type). Converted to a problem response; internal details are
/// logged, never sent.
#[derive(Debug, Clone)]
pub struct ApiError {
    problem: Problem,
    retry_after: Option<u64>,
}

impl ApiError {
    /// An edge refusal with its own status and code.
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Self {
        Self {
            problem: Problem::new(status, code, detail),
            retry_after: None,
        }
    }

    /// The problem this error answers with.
    pub fn problem(&self) -> &Problem {
        &self.problem
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.problem.code, self.problem.detail)
    }
}

impl std::error::Error for ApiError {}

impl From<LedgerError> for ApiError {
    fn from(error: LedgerError) -> Self {
        let status =
            StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let detail = match &error {
            LedgerError::Internal(cause) => {
                // The whole chain (e.g. the database's own message under the store's).
                tracing::error!(error.cause = %cause.chain(), "internal error");
                "an unexpected error occurred; it has been logged".to_string()
            }
            LedgerError::Unavailable(cause) => {
                tracing::error!(error.cause = %cause.chain(), "database unavailable");
                "the service is temporarily unavailable; try again shortly".to_string()
            }
            LedgerError::Validation(_) => "the request has invalid fields".to_string(),
            other => other.to_string(),
        };
        let mut problem = Problem::new(status, error.code(), detail);
        if let LedgerError::Validation(errors) = &error {
            problem.errors = Some(
                errors
                    .errors()
                    .iter()
                    .map(|e| FieldProblem {
                        field: e.field.clone(),
                        code: e.code.to_string(),
                        message: e.message.clone(),
                    })
                    .collect(),
            );
        }
        let retry_after = match error {
            LedgerError::Throttled { retry_after_secs } => Some(retry_after_secs),
            LedgerError::Unavailable(_) => Some(UNAVAILABLE_RETRY_AFTER_SECS),
            _ => None,
        };
        Self {
            problem,
            retry_after,
        }
    }
}

impl ResponseError for ApiError {
    fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn as_response(&self) -> Response {
        let mut response = self.problem.clone().into_http();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// Statuses an operation may fail with, as documented in the OpenAPI document.
const DOCUMENTED: &[(u16, &str)] = &[
    (
        400,
        "Malformed request: the body or a parameter could not be read.",
    ),
    (401, "Not signed in, or wrong email or password."),
    (
        403,
        "Signed in and a member, but the role does not allow it.",
    ),
    (404, "Unknown, or in a group the caller is not a member of."),
    (
        409,
        "Conflicts with the current state (e.g. duplicate, non-zero balance).",
    ),
    (412, "The expense changed since the version named."),
    (413, "The request body is too large."),
    (415, "The request body has an unsupported content type."),
    (
        422,
        "Invalid fields; `errors` lists them. Nothing was written.",
    ),
    (
        429,
        "Too many failed logins; retry after `Retry-After` seconds.",
    ),
    (500, "Unexpected error (details are logged, never sent)."),
    (503, "The database is unavailable."),
];

impl ApiResponse for ApiError {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: DOCUMENTED
                .iter()
                .map(|&(status, description)| MetaResponse {
                    description,
                    status: Some(status),
                    status_range: None,
                    content: vec![MetaMediaType {
                        content_type: PROBLEM_JSON,
                        schema: Problem::schema_ref(),
                    }],
                    headers: if status == 429 {
                        vec![MetaHeader {
                            name: "Retry-After".to_string(),
                            description: Some("Seconds to wait before trying again.".to_string()),
                            required: true,
                            deprecated: false,
                            schema: u64::schema_ref(),
                        }]
                    } else {
                        Vec::new()
                    },
                })
                .collect(),
        }
    }

    fn register(registry: &mut Registry) {
        Problem::register(registry);
    }
}

/// Turns any error that escaped an endpoint into a problem response: our own errors keep
/// their response; poem's and poem-openapi's failures get a stable code; anything else is
/// logged and answered without details.
pub fn problem_from_error(error: poem::Error) -> Response {
    if let Some(api) = error.downcast_ref::<ApiError>() {
        return api.as_response();
    }
    let status = error.status();
    let (code, detail) = classify(&error, status);
    if status.is_server_error() {
        tracing::error!(error = %error, "unexpected error");
    }
    Problem::new(status, code, detail).into_http()
}

fn classify(error: &poem::Error, status: StatusCode) -> (&'static str, String) {
    use poem_openapi::error::{
        AuthorizationError, ContentTypeError, ParseParamError, ParsePathError,
        ParseRequestPayloadError,
    };
    if let Some(e) = error.downcast_ref::<ParseRequestPayloadError>() {
        if e.reason.contains(crate::api::models::NUMBER_NOT_ALLOWED) {
            return (
                "number_not_allowed",
                format!("the request body could not be read: {}", e.reason),
            );
        }
        return (
            "malformed_body",
            format!("the request body could not be read: {}", e.reason),
        );
    }
    if let Some(e) = error.downcast_ref::<ParseParamError>() {
        return (
            "invalid_parameter",
            format!("parameter `{}` is invalid: {}", e.name, e.reason),
        );
    }
    if let Some(e) = error.downcast_ref::<ParsePathError>() {
        // poem-openapi names path parameters by position (`param0`): say what is wrong.
        return (
            "invalid_parameter",
            format!("a path segment is invalid: {}", e.reason),
        );
    }
    if let Some(e) = error.downcast_ref::<ContentTypeError>() {
        return ("unsupported_media_type", e.to_string());
    }
    if error.is::<AuthorizationError>() {
        return (
            "unauthenticated",
            "sign in: send `Authorization: Bearer TOKEN` or the session cookie".to_string(),
        );
    }
    match status {
        StatusCode::NOT_FOUND => ("not_found", "no such resource".to_string()),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "this method is not allowed on this resource".to_string(),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "payload_too_large",
            "the request body is larger than the server accepts".to_string(),
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported_media_type", error.to_string()),
        StatusCode::UNAUTHORIZED => ("unauthenticated", "not signed in".to_string()),
        s if s.is_server_error() => (
            "internal",
            "an unexpected error occurred; it has been logged".to_string(),
        ),
        StatusCode::BAD_REQUEST => ("bad_request", error.to_string()),
        _ => ("error", error.to_string()),
    }
}
