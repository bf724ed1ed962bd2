//! A meeting's HLS rendition while it is on air: the playlist and its segments, written by the
//! node the publisher is connected to (`egress::hls`), served with the cache headers a CDN in
//! front needs. Public, like the meeting and its WebRTC stream.
//!
//! Files are looked up in the folder the server chose for the meeting, by a name the request
//! may only pick among the packager's own (`index.m3u8`, or digits and `.ts`).
//!
//! With several nodes the rendition is made where the publisher is (the media origin, as
//! Redis records it); a node without it asks the origin for the same path and answers what the
//! origin answered, its caching included. A forwarded request is marked, and is never
//! forwarded again, whatever a stale record says.

use super::problem::ApiPath;
use super::{ApiError, AppState, Problem};
use crate::egress::hls::{self, HlsRendition};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kezdesu_core::MeetingId;
use std::time::Duration;

/// The playlist's path of a meeting, as pages and players are told it.
pub fn playlist_path(meeting: MeetingId) -> String {
    format!("/api/meetings/{}/hls/{}", meeting.0, hls::PLAYLIST)
}

fn no_hls() -> ApiError {
    ApiError::Absent { code: "no_hls", detail: "this meeting has no HLS rendition now".to_owned() }
}

/// Marks a request one node forwarded to the meeting's origin.
const FORWARDED: &str = "x-kezdesu-hls-forwarded";
/// How long the origin may take to answer a forwarded request.
const ORIGIN_TIMEOUT: Duration = Duration::from_secs(5);
/// What is passed on of the origin's answer besides its status and body.
const PASSED_ON: [header::HeaderName; 3] = [header::CONTENT_TYPE, header::CACHE_CONTROL, header::RETRY_AFTER];

/// Where a meeting's rendition is.
enum Found {
    Here(HlsRendition),
    /// At the origin node: its answer, passed on.
    There(Response),
}

/// The meeting's rendition on this node or its origin's answer; 404 for an unknown meeting,
/// and `no_hls` when no node has it.
async fn find(
    state: &AppState,
    meeting: MeetingId,
    name: &str,
    headers: &HeaderMap,
) -> Result<Found, ApiError> {
    state.store.meeting(meeting).await?;
    if let Some(rendition) = state.egress.hls(meeting) {
        return Ok(Found::Here(rendition));
    }
    match from_origin(state, meeting, name, headers).await? {
        Some(answer) => Ok(Found::There(answer)),
        None => Err(no_hls()),
    }
}

/// The origin's answer for `name`, when another node is the meeting's media origin and this
/// request was not forwarded already; `None` otherwise.
async fn from_origin(
    state: &AppState,
    meeting: MeetingId,
    name: &str,
    headers: &HeaderMap,
) -> Result<Option<Response>, ApiError> {
    let Some(cluster) = state.cluster.as_ref() else { return Ok(None) };
    if headers.contains_key(FORWARDED) {
        return Ok(None);
    }
    let unreachable = |why: String| {
        tracing::warn!(%meeting, %why, "the HLS origin could not be asked");
        ApiError::UnavailableNow {
            code: "hls_origin_unreachable",
            detail: "the node making this meeting's HLS cannot be reached now".to_owned(),
            retry_after: Some(Duration::from_secs(1)),
        }
    };
    let origin = cluster.media_origin(meeting).await.map_err(|error| unreachable(error.to_string()))?;
    let Some(origin) = origin.filter(|origin| origin.node != cluster.node()) else { return Ok(None) };
    let url = format!("{}/api/meetings/{}/hls/{name}", origin.url.trim_end_matches('/'), meeting.0);
    let answer = state
        .http_client
        .get(&url)
        .header(FORWARDED, "1")
        .timeout(ORIGIN_TIMEOUT)
        .send()
        .await
        .map_err(|error| unreachable(error.to_string()))?;
    let status = StatusCode::from_u16(answer.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let passed: Vec<(header::HeaderName, HeaderValue)> = PASSED_ON
        .into_iter()
        .filter_map(|name| {
            let value = answer.headers().get(name.as_str())?;
            Some((name, HeaderValue::from_bytes(value.as_bytes()).ok()?))
        })
        .collect();
    let body = answer.bytes().await.map_err(|error| unreachable(error.to_string()))?;
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    for (name, value) in passed {
        headers.insert(name, value);
    }
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    Ok(Some(response))
}

/// A file of the rendition with its type and caching; the cross-origin header lets a player
/// on another origin (a CDN's page, an embed) read it.
fn served(body: Vec<u8>, content_type: &'static str, cache_control: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache_control));
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    response
}

/// A problem answer that says so to any origin too: a player elsewhere must see the 503 to
/// retry, and a CDN must not keep it.
fn refused(error: ApiError) -> Response {
    let mut response = error.into_response();
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The playlist of the meeting's HLS rendition, rewritten with every segment.
#[utoipa::path(
    get, path = "/api/meetings/{id}/hls/index.m3u8", tag = "broadcast",
    params(("id" = i64, Path, description = "Meeting id")),
    responses(
        (status = 200, description = "The live playlist (`Cache-Control: public, max-age=1`)", content_type = "application/vnd.apple.mpegurl"),
        (status = 404, description = "No such meeting, or `no_hls`: not on air", body = Problem),
        (status = 503, description = "`hls_starting`: on air, the first segment is being made; or `hls_origin_unreachable` (`Retry-After`)", body = Problem),
    )
)]
pub async fn playlist(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    headers: HeaderMap,
) -> Response {
    let rendition = match find(&state, MeetingId(id), hls::PLAYLIST, &headers).await {
        Ok(Found::Here(rendition)) => rendition,
        Ok(Found::There(answer)) => return answer,
        Err(error) => return refused(error),
    };
    match tokio::fs::read(rendition.folder.join(hls::PLAYLIST)).await {
        Ok(body) => served(body, "application/vnd.apple.mpegurl", "public, max-age=1"),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => refused(if rendition.on_air {
            ApiError::UnavailableNow {
                code: "hls_starting",
                detail: "the broadcast's first HLS segment is being made".to_owned(),
                retry_after: Some(Duration::from_secs(1)),
            }
        } else {
            no_hls()
        }),
        Err(error) => refused(ApiError::Internal(format!("reading an HLS playlist: {error}"))),
    }
}

/// A segment of the meeting's HLS rendition (MPEG-TS, H.264 and AAC). Its name is never used
/// again, so it may be cached for a day.
#[utoipa::path(
    get, path = "/api/meetings/{id}/hls/{segment}", tag = "broadcast",
    params(
        ("id" = i64, Path, description = "Meeting id"),
        ("segment" = String, Path, description = "A segment's name from the playlist: digits, then `.ts`"),
    ),
    responses(
        (status = 200, description = "The segment (`Cache-Control: public, max-age=86400, immutable`)", content_type = "video/mp2t"),
        (status = 404, description = "No such meeting, `no_hls`, or `no_segment` (gone from the playlist, or not a segment's name)", body = Problem),
    )
)]
pub async fn segment(
    State(state): State<AppState>,
    ApiPath((id, segment)): ApiPath<(i64, String)>,
    headers: HeaderMap,
) -> Response {
    let no_segment =
        || ApiError::Absent { code: "no_segment", detail: "no such segment in the HLS rendition".to_owned() };
    if !hls::is_segment_name(&segment) {
        return refused(no_segment());
    }
    let rendition = match find(&state, MeetingId(id), &segment, &headers).await {
        Ok(Found::Here(rendition)) => rendition,
        Ok(Found::There(answer)) => return answer,
        Err(error) => return refused(error),
    };
    match tokio::fs::read(rendition.folder.join(&segment)).await {
        Ok(body) => served(body, "video/mp2t", "public, max-age=86400, immutable"),
        // Deleted from the playlist's window already, or never written.
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => refused(no_segment()),
        Err(error) => refused(ApiError::Internal(format!("reading an HLS segment: {error}"))),
    }
}
