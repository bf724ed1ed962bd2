//! The web pages: plain HTML, CSS and ES modules from `web/`, compiled into the binary so that
//! one file deploys.
//!
//! Pages get a strict Content-Security-Policy: scripts only from this origin, no inline code,
//! so that text a user typed can never run as script even if a page mishandled it.

use super::{ApiError, AppState};
use crate::wire::MeetingView;
use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jiff::Timestamp;
use kezdesu_core::{MeetingId, MeetingStatus};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "../web"]
struct WebAssets;

const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; media-src 'self' blob:; \
     connect-src 'self'; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; \
     form-action 'self'";

/// Routes of pages whose address carries an id.
pub fn routes() -> Router<AppState> {
    Router::new().route("/", get(|| async { asset("index.html") })).route("/meetings/{id}", get(meeting_page))
}

/// The meeting page, with the meeting described for search engines and calendars as
/// schema.org JSON-LD (`Event`, and a live `BroadcastEvent` while it is under way). A data
/// block is not script, so the policy lets it be; `<` is escaped so that no text can close it.
async fn meeting_page(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let page = asset("meeting.html");
    let Ok(id) = id.parse::<i64>() else { return page };
    let Ok(meeting) = state.store.meeting(MeetingId(id)).await else { return page };
    let place = state.store.territory(meeting.territory).await.ok();
    let view = MeetingView::of(&meeting, Timestamp::now(), &state.clock);
    let json = meeting_json_ld(&view, place.as_ref().map(|place| place.name.ru.as_str()));
    let Some(html) =
        WebAssets::get("meeting.html").and_then(|file| String::from_utf8(file.data.into_owned()).ok())
    else {
        return page;
    };
    let block = format!(
        "<script type=\"application/ld+json\">{}</script>\n</head>",
        json.to_string().replace('<', "\\u003c")
    );
    let (parts, _) = page.into_parts();
    Response::from_parts(parts, axum::body::Body::from(html.replacen("</head>", &block, 1)))
}

/// schema.org's description of a meeting.
pub fn meeting_json_ld(view: &MeetingView, place: Option<&str>) -> serde_json::Value {
    let status = match view.status {
        MeetingStatus::Cancelled => "https://schema.org/EventCancelled",
        _ => "https://schema.org/EventScheduled",
    };
    let mut event = serde_json::json!({
        "@context": "https://schema.org",
        "@type": "Event",
        "name": view.title.ru,
        "alternateName": [view.title.kk, view.title.en],
        "startDate": view.planned_start,
        "eventStatus": status,
        "eventAttendanceMode": "https://schema.org/MixedEventAttendanceMode",
        "isAccessibleForFree": true,
        "location": {
            "@type": "Place",
            "name": place.unwrap_or_default(),
        },
    });
    // The announced hall or address, and where else it is streamed.
    if !view.place.is_empty() {
        event["location"]["address"] = serde_json::Value::String(view.place.clone());
    }
    if !view.online_link.is_empty() {
        event["location"] = serde_json::json!([
            event["location"].clone(),
            {"@type": "VirtualLocation", "url": view.online_link},
        ]);
    }
    if view.status == MeetingStatus::Live {
        event["publication"] = serde_json::json!({
            "@type": "BroadcastEvent",
            "isLiveBroadcast": true,
            "startDate": view.phase_started_at,
        });
    }
    event
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
