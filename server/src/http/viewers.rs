//! Viewer tokens: citizens watch and comment without an account.

use super::caller::ClientIp;
use super::problem::{ApiJson, ApiPath};
use super::{ApiError, AppState, Problem};
use crate::auth::{new_token, token_hash};
use crate::wire::MeetingView;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::{SignedDuration, Timestamp};
use kezdesu_core::{MeetingId, MeetingStatus, text};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

const MAX_VIEWER_NAME_CHARS: usize = 60;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JoinMeeting {
    /// The name shown beside the viewer's comments: 1 to 60 characters.
    #[schema(min_length = 1)]
    pub display_name: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct ViewerToken {
    /// The viewer's bearer token for the live channel; shown this once.
    pub token: String,
    pub viewer_id: i64,
    pub meeting_id: i64,
    pub display_name: String,
    pub expires_at: String,
}

/// Gives an anonymous viewer a token for one meeting.
#[utoipa::path(
    post, path = "/api/meetings/{id}/viewers", tag = "meetings",
    params(("id" = i64, Path, description = "Meeting id")),
    request_body = JoinMeeting,
    responses(
        (status = 201, body = ViewerToken),
        (status = 404, body = Problem),
        (status = 409, body = Problem, description = "The meeting is over or cancelled"),
        (status = 422, body = Problem),
        (status = 429, body = Problem),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<JoinMeeting>,
) -> Result<(StatusCode, Json<ViewerToken>), ApiError> {
    AppState::check_rate(&state.viewer_limiter, client).await?;
    let display_name = text::clean(&request.display_name, MAX_VIEWER_NAME_CHARS, false)
        .map_err(|error| ApiError::invalid("invalid_display_name", format!("display_name {error}")))?;
    let now = Timestamp::now();
    let meeting = state.store.meeting(MeetingId(id)).await?;
    let status = MeetingView::of(&meeting, now, &state.clock).status;
    if matches!(status, MeetingStatus::Ended | MeetingStatus::Cancelled) {
        return Err(ApiError::conflict("meeting_over", "the meeting is over or cancelled"));
    }
    let token = new_token();
    let expires_at = now + SignedDuration::from_hours(i64::from(state.config.auth.viewer_token_hours));
    let viewer =
        state.store.create_viewer(meeting.id, &display_name, &token_hash(&token), now, expires_at).await?;
    Ok((
        StatusCode::CREATED,
        Json(ViewerToken {
            token,
            viewer_id: viewer.id.0,
            meeting_id: viewer.meeting.0,
            display_name: viewer.display_name,
            expires_at: state.clock.format(viewer.expires_at),
        }),
    ))
}
