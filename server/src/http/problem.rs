//! Errors of the HTTP layer, answered as RFC 9457 `application/problem+json`.
//!
//! Every error has a stable `code` that clients may match on, and [`ApiError::status_code`] is
//! the one place that decides its HTTP status. Internal errors are logged in the request's
//! span and answered with a generic 500 that reveals nothing.
//!
//! The extractors here ([`ApiJson`], [`ApiPath`], [`ApiQuery`]) replace axum's own so that
//! malformed input gets a problem document instead of plain text.

use crate::room::RoomError;
use crate::store::StoreError;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kezdesu_core::issues::import::RowError;
use kezdesu_core::timer::TransitionError;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::time::Duration;
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem document. Its `detail` is in the language the request's
/// `Accept-Language` prefers among kk, ru and en (English otherwise; see `problem_text`); its
/// `title` is the HTTP reason phrase, in English; its `code` is the same in every language.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the problem type: `urn:kezdesu:problem:<code>`.
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// A stable, machine-readable name of the problem.
    pub code: String,
    /// Seconds to wait before trying again, for 429 and some 503s.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u64>,
    /// For a refused import: every problem of every row.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<RowError>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the request body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("the request body does not match the expected shape: {0}")]
    InvalidBody(String),
    #[error("{detail}")]
    Invalid { code: &'static str, detail: String },
    #[error("the request body is larger than the server accepts")]
    BodyTooLarge,
    #[error("the request body must be application/json")]
    UnsupportedMediaType,
    #[error("sign in first: send `Authorization: Bearer <token>` or the session cookie")]
    Unauthenticated,
    #[error("the login or password is wrong")]
    WrongCredentials,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    /// 404 with a code of its own, for a thing that may exist later (a recording).
    #[error("{detail}")]
    Absent { code: &'static str, detail: String },
    /// 410: it existed and was removed for good.
    #[error("{detail}")]
    Gone { code: &'static str, detail: String },
    #[error("no such route")]
    RouteNotFound,
    #[error("this route does not answer that method")]
    MethodNotAllowed,
    #[error("{detail}")]
    Conflict { code: &'static str, detail: String },
    #[error("too many requests; try again in {} s", .0.as_secs().max(1))]
    RateLimited(Duration),
    #[error("the server is shutting down or not ready")]
    Unavailable,
    /// 503 for a reason the client can act on, e.g. nobody broadcasting yet.
    #[error("{detail}")]
    UnavailableNow { code: &'static str, detail: String, retry_after: Option<Duration> },
    /// 401 for a credential other than the sign-in, e.g. a stream key.
    #[error("{0}")]
    MissingCredential(&'static str),
    /// 412: an `If-Match` that names another version.
    #[error("{0}")]
    PreconditionFailed(String),
    /// 415 naming the media type expected.
    #[error("the request body must be {0}")]
    WrongContentType(&'static str),
    #[error("the request took too long")]
    Timeout,
    #[error("internal error")]
    Internal(String),
    /// An import with bad rows: nothing was imported; `errors` lists each problem.
    #[error("{} problems in the rows; nothing was imported", .0.len())]
    RowsRejected(Vec<RowError>),
}

impl ApiError {
    pub fn invalid(code: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError::Invalid { code, detail: detail.into() }
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError::Conflict { code, detail: detail.into() }
    }

    /// The one place that maps an error to its status.
    pub fn status_code(&self) -> StatusCode {
        match self {
            ApiError::MalformedJson(_) | ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::InvalidBody(_) | ApiError::Invalid { .. } | ApiError::RowsRejected(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unauthenticated | ApiError::WrongCredentials => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) | ApiError::RouteNotFound | ApiError::Absent { .. } => {
                StatusCode::NOT_FOUND
            }
            ApiError::Gone { .. } => StatusCode::GONE,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable | ApiError::UnavailableNow { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::MissingCredential(_) => StatusCode::UNAUTHORIZED,
            ApiError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            ApiError::WrongContentType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Timeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable name clients match on.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::MalformedJson(_) => "malformed_json",
            ApiError::BadRequest(_) => "bad_request",
            ApiError::InvalidBody(_) => "invalid_body",
            ApiError::Invalid { code, .. }
            | ApiError::Conflict { code, .. }
            | ApiError::Absent { code, .. }
            | ApiError::Gone { code, .. }
            | ApiError::UnavailableNow { code, .. } => code,
            ApiError::MissingCredential(_) => "unauthenticated",
            ApiError::PreconditionFailed(_) => "precondition_failed",
            ApiError::WrongContentType(_) => "unsupported_media_type",
            ApiError::BodyTooLarge => "body_too_large",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::Unauthenticated => "unauthenticated",
            ApiError::WrongCredentials => "wrong_credentials",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::RouteNotFound => "route_not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::RateLimited(_) => "rate_limited",
            ApiError::Unavailable => "unavailable",
            ApiError::Timeout => "timeout",
            ApiError::Internal(_) => "internal",
            ApiError::RowsRejected(_) => "import_rejected",
        }
    }

    pub fn problem(&self) -> Problem {
        let status = self.status_code();
        let detail = match self {
            // The cause of an internal error is logged, never shown.
            ApiError::Internal(_) => "the server could not answer; the error is logged".to_owned(),
            other => other.to_string(),
        };
        Problem {
            problem_type: format!("urn:kezdesu:problem:{}", self.code()),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail,
            code: self.code().to_owned(),
            retry_after_seconds: match self {
                ApiError::RateLimited(wait) => Some(wait.as_secs().max(1)),
                ApiError::UnavailableNow { retry_after: Some(wait), .. } => Some(wait.as_secs().max(1)),
                _ => None,
            },
            errors: match self {
                ApiError::RowsRejected(errors) => Some(errors.clone()),
                _ => None,
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(cause) = &self {
            tracing::error!(%cause, "internal error");
        }
        problem_response(&self)
    }
}

pub fn problem_response(error: &ApiError) -> Response {
    let problem = error.problem();
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    let mut response = (error.status_code(), body).into_response();
    // The English problem travels with the response, for `problem_text::localize_problems`
    // to say in the caller's language.
    response.extensions_mut().insert(problem.clone());
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    if let Some(seconds) = problem.retry_after_seconds {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    if matches!(error, ApiError::MissingCredential(_) | ApiError::Unauthenticated) {
        headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        match error {
            StoreError::NotFound(what) => ApiError::NotFound(what),
            StoreError::Taken(what) => {
                ApiError::conflict("already_taken", format!("{what} is already taken"))
            }
            StoreError::MissingReference(what) => {
                ApiError::invalid("missing_reference", format!("{what} does not exist"))
            }
            StoreError::LastAdmin => ApiError::conflict("last_admin", "this would leave no enabled admin"),
            StoreError::VersionConflict => {
                ApiError::conflict("edit_conflict", "the record changed while this request ran; try again")
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<RoomError> for ApiError {
    fn from(error: RoomError) -> ApiError {
        match error {
            RoomError::Cancelled => ApiError::conflict("meeting_cancelled", "the meeting was cancelled"),
            RoomError::Transition(transition) => ApiError::conflict(
                match transition {
                    TransitionError::Backwards { .. } => "phase_backwards",
                    TransitionError::EndBeforeStart => "meeting_not_started",
                    TransitionError::Unschedule => "phase_backwards",
                },
                transition.to_string(),
            ),
            RoomError::Store(store) => store.into(),
            RoomError::Inconsistent(inconsistent) => ApiError::Internal(inconsistent.to_string()),
            RoomError::ShuttingDown => ApiError::Unavailable,
            RoomError::CannotOpen(why) => {
                tracing::warn!(%why, "a meeting's room could not be opened");
                ApiError::Unavailable
            }
            RoomError::Unreachable(why) => {
                tracing::warn!(%why, "the meeting's owner node could not be reached");
                ApiError::Unavailable
            }
        }
    }
}

/// `axum::Json`, with rejections answered as problems: 415 without a JSON content type, 413
/// over the body limit, 400 when the body is not JSON at all, and 422 when it is JSON of the
/// wrong shape or types (serde_json calls some of those syntax errors, so the body is checked
/// on its own before blaming its syntax).
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<mime_guess::Mime>().ok())
            .is_some_and(|mime| {
                mime.type_() == "application"
                    && (mime.subtype() == "json" || mime.suffix().is_some_and(|s| s == "json"))
            });
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = axum::body::Bytes::from_request(request, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::BodyTooLarge
            } else {
                ApiError::BadRequest(rejection.body_text())
            }
        })?;
        let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
        match serde_path_to_error::deserialize(&mut deserializer) {
            Ok(value) => {
                deserializer.end().map_err(|error| ApiError::MalformedJson(error.to_string()))?;
                Ok(ApiJson(value))
            }
            Err(error) => {
                // JSON has one kind of number, and JSON Schema calls `3.0` an integer: a client
                // may send a count or an id that way. Only then is the body read a second time.
                if let Some(value) = with_integral_numbers_as_integers(&bytes) {
                    return deserialize_value(value).map(ApiJson);
                }
                let is_json = serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).is_ok();
                let message = located(&error);
                Err(if is_json { ApiError::InvalidBody(message) } else { ApiError::MalformedJson(message) })
            }
        }
    }
}

/// The body as a JSON value with every number that has no fractional part (`3.0`, `-1e3`) made
/// an integer, when it held any such number; `None` otherwise, or when it is not JSON.
fn with_integral_numbers_as_integers(bytes: &[u8]) -> Option<serde_json::Value> {
    fn visit(value: &mut serde_json::Value, changed: &mut bool) {
        match value {
            serde_json::Value::Number(number) if number.is_f64() => {
                let float = number.as_f64().unwrap_or(f64::NAN);
                // Within ±2^53 every integer is exact as an f64, so nothing is rounded into one.
                if float.fract() == 0.0 && float.abs() <= 9_007_199_254_740_992.0 {
                    *value = serde_json::Value::from(float as i64);
                    *changed = true;
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|item| visit(item, changed)),
            serde_json::Value::Object(fields) => fields.values_mut().for_each(|field| visit(field, changed)),
            _ => {}
        }
    }
    let mut value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let mut changed = false;
    visit(&mut value, &mut changed);
    changed.then_some(value)
}

fn deserialize_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|error| ApiError::InvalidBody(located(&error)))
}

/// A deserialization error with the path of the field it is about, e.g. `entries[1].day: …`.
fn located(error: &serde_path_to_error::Error<serde_json::Error>) -> String {
    let path = error.path().to_string();
    let place = if path == "." { String::new() } else { format!("{path}: ") };
    format!("{place}{}", error.inner())
}

/// `axum::extract::Path`, with rejections answered as problems. An id that is not a number
/// names nothing that exists, so it is a 404.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(ApiPath(value)),
            Err(PathRejection::FailedToDeserializePathParams(_)) => Err(ApiError::NotFound("resource")),
            Err(other) => Err(ApiError::BadRequest(other.body_text())),
        }
    }
}

/// `axum::extract::Query`, with rejections answered as problems.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| ApiQuery(value))
            .map_err(|rejection: QueryRejection| ApiError::BadRequest(rejection.body_text()))
    }
}
