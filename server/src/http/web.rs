//! The web pages: plain HTML, CSS and ES modules from `web/`, compiled into the binary so that
//! one file deploys.
//!
//! Pages get a strict Content-Security-Policy: scripts only from this origin, no inline code,
//! so that text a user typed can never run as script even if a page mishandled it.

use super::{ApiError, AppState};
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "../web"]
struct WebAssets;

const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; media-src 'self' blob:; \
     connect-src 'self'; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; \
     form-action 'self'";

/// Routes of pages whose address carries an id.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { asset("index.html") }))
        .route("/meetings/{id}", get(|| async { asset("meeting.html") }))
}

/// Any other path: a file from `web/`, or a 404 problem.
pub async fn fallback(request: Request) -> Response {
    let path = request.uri().path().trim_start_matches('/');
    if path.starts_with("api/") || path.contains("..") {
        return ApiError::RouteNotFound.into_response();
    }
    asset(path)
}

fn asset(path: &str) -> Response {
    let Some(file) = WebAssets::get(path) else {
        return ApiError::RouteNotFound.into_response();
    };
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    let mut response = (StatusCode::OK, file.data.into_owned()).into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(mime.essence_str()) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    // Pages and modules change with every release and are small: always revalidate.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if path.ends_with(".html") {
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    }
    response
}
