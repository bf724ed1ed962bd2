//! The broadcast's HTTP side: WHIP (RFC 9725) for the publisher, WHEP for viewers, and the
//! meeting's stream key.
//!
//! Resources: `POST /api/meetings/{id}/whip` creates the publisher's session at
//! `/api/meetings/{id}/whip/{session}` (PATCH for trickle ICE, DELETE to end it); the same for
//! viewers under `/whep`. The publisher presents the meeting's stream key as a bearer token,
//! as OBS does; viewers need nothing, their session id being their capability.

use super::caller::{Caller, ClientIp};
use super::problem::ApiPath;
use super::{ApiError, AppState, Problem};
use crate::media::signaling::{self, FragmentError, LinkAudience};
use crate::media::{MediaError, SessionAnswer};
use crate::store::StreamKey;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use jiff::Timestamp;
use kezdesu_core::MeetingId;
use kezdesu_core::broadcast::OnAirRefusal;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::time::Duration;
use utoipa::ToSchema;

const SDP: &str = "application/sdp";
const TRICKLE: &str = "application/trickle-ice-sdpfrag";
/// How long a viewer who found nobody on air should wait before asking again.
const RETRY_NOT_ON_AIR: Duration = Duration::from_secs(3);

/// A meeting's stream key, for its akim: the bearer token OBS or the presenter page sends.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct StreamKeyView {
    /// Keep it secret: whoever has it can broadcast as this meeting.
    pub stream_key: String,
    /// The WHIP endpoint to give OBS as its server URL.
    pub whip_url: String,
    /// RFC 3339 with offset.
    pub rotated_at: String,
    /// Whether the server makes an HLS rendition of the broadcast: it is H.264, so a camera
    /// sending H.264 (OBS, or a browser asked to) spares the server an encode.
    pub hls: bool,
}

/// The meeting's stream key, issued on first read. Only its akim and admins.
#[utoipa::path(
    get, path = "/api/meetings/{id}/stream-key", tag = "broadcast",
    params(("id" = i64, Path, description = "Meeting id")),
    responses(
        (status = 200, body = StreamKeyView),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn stream_key(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<StreamKeyView>, ApiError> {
    issue(&state, &caller, &headers, MeetingId(id), false).await
}

/// Rotates the meeting's stream key: the old one stops working for new sessions at once (a
/// publisher already on air stays on). Only its akim and admins.
#[utoipa::path(
    post, path = "/api/meetings/{id}/stream-key", tag = "broadcast",
    params(("id" = i64, Path, description = "Meeting id")),
    responses(
        (status = 200, body = StreamKeyView),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn rotate_stream_key(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<StreamKeyView>, ApiError> {
    issue(&state, &caller, &headers, MeetingId(id), true).await
}

async fn issue(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    id: MeetingId,
    rotate: bool,
) -> Result<Json<StreamKeyView>, ApiError> {
    let meeting = state.store.meeting(id).await?;
    if !caller.principal.may_manage_broadcast(meeting.akim) {
        return Err(ApiError::Forbidden("only the meeting's akim and admins hold its stream key"));
    }
    let Some(account) = caller.principal.account() else {
        return Err(ApiError::Forbidden("only the meeting's akim and admins hold its stream key"));
    };
    let existing = if rotate { None } else { state.store.stream_key(id).await? };
    let key = match existing {
        Some(key) => key,
        None => {
            state.store.issue_stream_key(id, &new_stream_key(), account, rotate, Timestamp::now()).await?
        }
    };
    if rotate {
        tracing::info!(meeting = %id, "stream key rotated");
    }
    Ok(Json(view_key(state, headers, &key)))
}

fn view_key(state: &AppState, headers: &HeaderMap, key: &StreamKey) -> StreamKeyView {
    let host = headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .filter(|host| host.chars().all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c)))
        .map(str::to_owned)
        .unwrap_or_else(|| state.config.server.listen.to_string());
    let scheme = if state.config.auth.secure_cookie { "https" } else { "http" };
    StreamKeyView {
        stream_key: key.key.clone(),
        whip_url: format!("{scheme}://{host}/api/meetings/{}/whip", key.meeting),
        rotated_at: state.clock.format(key.rotated_at),
        hls: state.config.hls.enabled,
    }
}

/// Takes the meeting off air whoever publishes: for the akim or an admin when the stream key
/// leaked (rotate it first, or the same publisher comes back). Every viewer's session ends.
#[utoipa::path(
    delete, path = "/api/meetings/{id}/broadcast", tag = "broadcast",
    params(("id" = i64, Path, description = "Meeting id")),
    responses(
        (status = 200, description = "Taken off air"),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem, description = "No such meeting, or nobody is on air"),
        (status = 503, body = Problem, description = "The node the publisher is connected to could not be reached (several nodes)"),
    ),
    security(("bearer" = []))
)]
pub async fn end_broadcast(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    let meeting = state.store.meeting(MeetingId(id)).await?;
    if !caller.principal.may_manage_broadcast(meeting.akim) {
        return Err(ApiError::Forbidden("only the meeting's akim and admins end its broadcast"));
    }
    if state.media.end_broadcast(meeting.id).await? {
        tracing::info!(meeting = %meeting.id, "broadcast ended by staff");
        Ok(StatusCode::OK)
    } else {
        Err(ApiError::NotFound("broadcast"))
    }
}

/// 32 random bytes, URL-safe: fits OBS's stream key field and an HTTP header as is.
fn new_stream_key() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

/// The bearer token of `headers`, or the 401 that asks for the stream key.
fn presented_key(headers: &HeaderMap) -> Result<&str, ApiError> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .ok_or(ApiError::MissingCredential("send the meeting's stream key as `Authorization: Bearer <key>`"))
}

fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// Refuses unless `headers` carry the meeting's current stream key as a bearer token; returns
/// the key's digest.
async fn check_stream_key(
    state: &AppState,
    headers: &HeaderMap,
    meeting: MeetingId,
) -> Result<[u8; 32], ApiError> {
    let presented = digest(presented_key(headers)?);
    // The meeting must exist before anything is said about keys.
    state.store.meeting(meeting).await?;
    let stored = state.store.stream_key(meeting).await?;
    // Comparing digests keeps the comparison's time independent of the key's contents.
    if stored.is_some_and(|stored| digest(&stored.key) == presented) {
        Ok(presented)
    } else {
        Err(ApiError::Forbidden("the stream key is wrong or was rotated"))
    }
}

/// For a publisher's session: the key it was opened with (even if rotated since), or the
/// current one.
async fn check_session_key(
    state: &AppState,
    headers: &HeaderMap,
    meeting: MeetingId,
    session: &str,
) -> Result<(), ApiError> {
    let presented = digest(presented_key(headers)?);
    if state.media.opened_with(meeting, session, &presented) {
        return Ok(());
    }
    check_stream_key(state, headers, meeting).await.map(|_| ())
}

/// The request body as text of `expected` media type, or the problem it is not.
fn body_of(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    expected: &'static str,
) -> Result<String, ApiError> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case(expected) {
        return Err(ApiError::WrongContentType(expected));
    }
    let body = body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::BodyTooLarge,
        _ => ApiError::BadRequest(rejection.body_text()),
    })?;
    String::from_utf8(body.to_vec())
        .map_err(|_| ApiError::BadRequest("the body is not UTF-8 text".to_owned()))
}

impl From<MediaError> for ApiError {
    fn from(error: MediaError) -> ApiError {
        let detail = error.to_string();
        match error {
            MediaError::MeetingNotFound => ApiError::NotFound("meeting"),
            MediaError::PublisherPresent => ApiError::conflict("publisher_present", detail),
            MediaError::Closed(OnAirRefusal::TooEarly { .. })
            | MediaError::Closed(OnAirRefusal::Ended)
            | MediaError::Closed(OnAirRefusal::Cancelled) => {
                ApiError::conflict("not_open_for_broadcast", detail)
            }
            MediaError::LiveChannelDown(cause) => {
                tracing::error!(%cause, "refused a publisher: the live comment channel is down");
                ApiError::UnavailableNow {
                    code: "live_channel_down",
                    detail: "the live comment channel of this meeting is not up, and a meeting is not \
                             broadcast without comments; try again shortly"
                        .to_owned(),
                    retry_after: Some(Duration::from_secs(5)),
                }
            }
            MediaError::NotOnAir => {
                ApiError::UnavailableNow { code: "not_on_air", detail, retry_after: Some(RETRY_NOT_ON_AIR) }
            }
            MediaError::TooManyViewers(_) => ApiError::UnavailableNow {
                code: "too_many_viewers",
                detail,
                retry_after: Some(Duration::from_secs(30)),
            },
            MediaError::BadOffer(_) => ApiError::invalid("invalid_sdp", detail),
            MediaError::Unacceptable(_) => ApiError::invalid("unacceptable_offer", detail),
            MediaError::NoSession => ApiError::NotFound("session"),
            MediaError::EtagMismatch => ApiError::PreconditionFailed(detail),
            MediaError::IceRestart => ApiError::invalid("ice_restart_unsupported", detail),
            MediaError::Engine(cause) => ApiError::Internal(cause),
            MediaError::OriginUnreachable(cause) => {
                tracing::warn!(%cause, "the broadcast's origin node could not be reached");
                ApiError::UnavailableNow {
                    code: "origin_unreachable",
                    detail: "the node that receives this broadcast cannot be reached; try again shortly"
                        .to_owned(),
                    retry_after: Some(Duration::from_secs(5)),
                }
            }
            MediaError::ShuttingDown => ApiError::Unavailable,
        }
    }
}

/// 201 Created with the answer, as RFC 9725 §4.2 describes.
fn created(state: &AppState, location: String, answer: SessionAnswer) -> Response {
    let mut response = (StatusCode::CREATED, answer.sdp).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(SDP));
    let values = [(header::LOCATION, location), (header::ETAG, answer.etag)];
    for (name, value) in values {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    headers.insert(HeaderName::from_static("accept-patch"), HeaderValue::from_static(TRICKLE));
    // TURN relays only for somebody with a session, with credentials that expire.
    let config = state.media.config();
    let minted = config.turn_secret.as_deref().map(|secret| {
        signaling::mint_turn_credentials(
            secret,
            Timestamp::now().as_second(),
            config.turn_credential_ttl_seconds,
            "kezdesu",
        )
    });
    add_ice_server_links(state, headers, LinkAudience::Session(minted.as_ref()));
    response
}

fn add_ice_server_links(state: &AppState, headers: &mut HeaderMap, audience: LinkAudience<'_>) {
    for link in signaling::ice_server_links(&state.media.config().ice_servers, audience) {
        // The configuration is checked for characters a header cannot carry.
        if let Ok(value) = HeaderValue::from_str(&link) {
            headers.append(header::LINK, value);
        }
    }
}

/// Answers a CORS preflight or a client asking what the endpoint accepts.
fn options_answer(state: &AppState, accept_post: bool) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    if accept_post {
        headers.insert(HeaderName::from_static("accept-post"), HeaderValue::from_static(SDP));
        headers.insert(header::ALLOW, HeaderValue::from_static("OPTIONS, POST"));
    } else {
        headers.insert(HeaderName::from_static("accept-patch"), HeaderValue::from_static(TRICKLE));
        headers.insert(header::ALLOW, HeaderValue::from_static("OPTIONS, PATCH, DELETE"));
    }
    add_ice_server_links(state, headers, LinkAudience::Anyone);
    response
}

/// CORS for WHIP and WHEP: OBS does not care, but a publisher or player on another origin
/// (an official site embedding the stream) must be able to call them. No cookies are involved:
/// the publisher's credential is its bearer key, a viewer's its session URL.
pub async fn cors(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        (header::ACCESS_CONTROL_ALLOW_METHODS, "OPTIONS, POST, PATCH, DELETE"),
        (header::ACCESS_CONTROL_ALLOW_HEADERS, "Authorization, Content-Type, If-Match"),
        (
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            "Location, ETag, Link, Accept-Patch, Accept-Post, Retry-After",
        ),
        (header::ACCESS_CONTROL_MAX_AGE, "86400"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// What the WHIP endpoint accepts (RFC 9725 §4.2), and the CORS preflight.
#[utoipa::path(
    options, path = "/api/meetings/{id}/whip", tag = "broadcast",
    params(("id" = i64, Path, description = "Meeting id")),
    responses((status = 204, description = "Accept-Post: application/sdp; Link: ICE servers"))
)]
pub async fn whip_options(State(state): State<AppState>, ApiPath(_id): ApiPath<i64>) -> Response {
    options_answer(&state, true)
}

/// Puts the meeting on air (WHIP, RFC 9725): the body is the publisher's SDP offer, the bearer
/// token the meeting's stream key. Answers 201 with the SDP answer and the session's
/// `Location`. One publisher at a time; only while the meeting is live or within
/// `media.publish_window_minutes` of its start; never without the live comment channel.
#[utoipa::path(
    post, path = "/api/meetings/{id}/whip", tag = "broadcast",
    params(("id" = i64, Path, description = "Meeting id")),
    request_body(content = String, content_type = "application/sdp"),
    responses(
        (status = 201, content_type = "application/sdp", body = String,
         description = "The SDP answer; Location names the session"),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem),
        (status = 409, body = Problem, description = "publisher_present or not_open_for_broadcast"),
        (status = 415, body = Problem), (status = 422, body = Problem),
        (status = 503, body = Problem, description = "live_channel_down"),
    ),
    security(("bearer" = []))
)]
pub async fn whip_publish(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<i64>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let meeting = MeetingId(id);
    let key_digest = check_stream_key(&state, &headers, meeting).await?;
    let offer = body_of(&headers, body, SDP)?;
    let answer = state.media.publish(meeting, offer, key_digest, Timestamp::now()).await?;
    let location = format!("/api/meetings/{id}/whip/{}", answer.session);
    Ok(created(&state, location, answer))
}

/// What a WHIP session accepts, and the CORS preflight.
#[utoipa::path(
    options, path = "/api/meetings/{id}/whip/{session}", tag = "broadcast",
    params(("id" = i64, Path, description = "Meeting id"), ("session" = String, Path, description = "Session id")),
    responses((status = 204, description = "Accept-Patch: application/trickle-ice-sdpfrag"))
)]
pub async fn whip_session_options(
    State(state): State<AppState>,
    ApiPath(_path): ApiPath<(i64, String)>,
) -> Response {
    options_answer(&state, false)
}

/// Trickle ICE for the publisher's session (RFC 9725 §4.3): candidates are added; an ICE
/// restart is refused with 422.
#[utoipa::path(
    patch, path = "/api/meetings/{id}/whip/{session}", tag = "broadcast",
    params(("id" = i64, Path, description = "Meeting id"), ("session" = String, Path, description = "Session id")),
    request_body(content = String, content_type = "application/trickle-ice-sdpfrag"),
    responses(
        (status = 204, description = "Applied"),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn whip_patch(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath((id, session)): ApiPath<(i64, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, ApiError> {
    check_session_key(&state, &headers, MeetingId(id), &session).await?;
    patch(&state, &headers, MeetingId(id), true, &session, body).await
}

/// Takes the publisher off air (RFC 9725 §4.2); every viewer's session ends with it.
#[utoipa::path(
    delete, path = "/api/meetings/{id}/whip/{session}", tag = "broadcast",
    params(("id" = i64, Path, description = "Meeting id"), ("session" = String, Path, description = "Session id")),
    responses(
        (status = 200, description = "Ended"),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn whip_delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath((id, session)): ApiPath<(i64, String)>,
) -> Result<StatusCode, ApiError> {
    check_session_key(&state, &headers, MeetingId(id), &session).await?;
    state.media.end_publisher(MeetingId(id), &session)?;
    Ok(StatusCode::OK)
}

/// What the WHEP endpoint accepts, and the CORS preflight.
#[utoipa::path(
    options, path = "/api/meetings/{id}/whep", tag = "broadcast",
    params(("id" = i64, Path, description = "Meeting id")),
    responses((status = 204, description = "Accept-Post: application/sdp; Link: ICE servers"))
)]
pub async fn whep_options(State(state): State<AppState>, ApiPath(_id): ApiPath<i64>) -> Response {
    options_answer(&state, true)
}

/// Watches the meeting (WHEP): the body is the viewer's SDP offer (receive-only audio and
/// video). Public. 503 `not_on_air` (with Retry-After) while nobody broadcasts.
#[utoipa::path(
    post, path = "/api/meetings/{id}/whep", tag = "broadcast",
    params(("id" = i64, Path, description = "Meeting id")),
    request_body(content = String, content_type = "application/sdp"),
    responses(
        (status = 201, content_type = "application/sdp", body = String,
         description = "The SDP answer; Location names the session"),
        (status = 400, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem),
        (status = 429, body = Problem),
        (status = 503, body = Problem, description = "not_on_air or too_many_viewers"),
    )
)]
pub async fn whep_play(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    ApiPath(id): ApiPath<i64>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let offer = body_of(&headers, body, SDP)?;
    AppState::check_rate(&state.whep_limiter, client).await?;
    let answer = state.media.play(MeetingId(id), offer).await?;
    let location = format!("/api/meetings/{id}/whep/{}", answer.session);
    Ok(created(&state, location, answer))
}

/// What a WHEP session accepts, and the CORS preflight.
#[utoipa::path(
    options, path = "/api/meetings/{id}/whep/{session}", tag = "broadcast",
    params(("id" = i64, Path, description = "Meeting id"), ("session" = String, Path, description = "Session id")),
    responses((status = 204, description = "Accept-Patch: application/trickle-ice-sdpfrag"))
)]
pub async fn whep_session_options(
    State(state): State<AppState>,
    ApiPath(_path): ApiPath<(i64, String)>,
) -> Response {
    options_answer(&state, false)
}

/// Trickle ICE for a viewer's session.
#[utoipa::path(
    patch, path = "/api/meetings/{id}/whep/{session}", tag = "broadcast",
    params(("id" = i64, Path, description = "Meeting id"), ("session" = String, Path, description = "Session id")),
    request_body(content = String, content_type = "application/trickle-ice-sdpfrag"),
    responses(
        (status = 204, description = "Applied"),
        (status = 400, body = Problem), (status = 404, body = Problem), (status = 415, body = Problem),
        (status = 422, body = Problem),
    )
)]
pub async fn whep_patch(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath((id, session)): ApiPath<(i64, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, ApiError> {
    patch(&state, &headers, MeetingId(id), false, &session, body).await
}

/// Ends a viewing session.
#[utoipa::path(
    delete, path = "/api/meetings/{id}/whep/{session}", tag = "broadcast",
    params(("id" = i64, Path, description = "Meeting id"), ("session" = String, Path, description = "Session id")),
    responses((status = 200, description = "Ended"), (status = 404, body = Problem))
)]
pub async fn whep_delete(
    State(state): State<AppState>,
    ApiPath((id, session)): ApiPath<(i64, String)>,
) -> Result<StatusCode, ApiError> {
    state.media.end_viewer(MeetingId(id), &session)?;
    Ok(StatusCode::OK)
}

async fn patch(
    state: &AppState,
    headers: &HeaderMap,
    meeting: MeetingId,
    publisher: bool,
    session: &str,
    body: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, ApiError> {
    let text = body_of(headers, body, TRICKLE)?;
    let fragment = signaling::parse_trickle_fragment(&text).map_err(|error: FragmentError| {
        ApiError::BadRequest(format!("not a trickle ICE fragment: {error}"))
    })?;
    let if_match = headers.get(header::IF_MATCH).and_then(|value| value.to_str().ok());
    state.media.trickle(meeting, publisher, session, &fragment, if_match).await?;
    Ok(StatusCode::NO_CONTENT)
}
