//! A meeting's recording: what there is (its state, the replay's files and where each on-air
//! period lies in them), the files themselves with range requests, and its deletion by an
//! admin. Meetings are public, and so are their recordings.

use super::caller::Caller;
use super::problem::ApiPath;
use super::{ApiError, AppState, Problem};
use crate::store::{Recording, RecordingState, StoreError};
use axum::Json;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use kezdesu_core::MeetingId;
use serde::Serialize;
use tower::ServiceExt;
use tower_http::services::ServeFile;
use utoipa::ToSchema;

/// A meeting's recording.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordingView {
    /// `recording` (on air, or waiting for the meeting's end), `processing` (the replay is
    /// being made), `ready`, `failed` or `deleted`.
    pub state: &'static str,
    /// The replay, one file after another (nearly always one); empty until `ready`.
    pub files: Vec<RecordingFileView>,
    /// Each on-air period: when it was, and where it lies in the replay once that is made.
    pub parts: Vec<RecordingPartView>,
    /// When an admin deleted it.
    pub deleted_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecordingFileView {
    pub number: i64,
    /// Where it is served, with range requests.
    pub url: String,
    pub content_type: String,
    pub bytes: i64,
    pub duration_seconds: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecordingPartView {
    pub number: i64,
    pub started_at: String,
    pub ended_at: Option<String>,
    pub duration_seconds: Option<f64>,
    /// The replay file it is in, and where it starts there.
    pub file: Option<i64>,
    pub offset_seconds: Option<f64>,
}

fn seconds(millis: i64) -> f64 {
    millis as f64 / 1000.0
}

fn view(state: &AppState, recording: &Recording) -> RecordingView {
    let meeting = recording.meeting.0;
    RecordingView {
        state: recording.state.as_str(),
        files: recording
            .files
            .iter()
            .map(|file| RecordingFileView {
                number: file.number,
                url: format!("/api/meetings/{meeting}/recording/{}", file.number),
                content_type: file.content_type.clone(),
                bytes: file.bytes,
                duration_seconds: seconds(file.duration_ms),
            })
            .collect(),
        parts: recording
            .parts
            .iter()
            .map(|part| RecordingPartView {
                number: part.number,
                started_at: state.clock.format(part.started_at),
                ended_at: part.ended_at.map(|at| state.clock.format(at)),
                duration_seconds: part.duration_ms.map(seconds),
                file: part.file_number,
                offset_seconds: part.offset_ms.map(seconds),
            })
            .collect(),
        deleted_at: recording.deleted_at.map(|at| state.clock.format(at)),
    }
}

fn no_recording() -> ApiError {
    ApiError::Absent { code: "no_recording", detail: "this meeting has no recording".to_owned() }
}

/// The meeting's recording, or 404 `no_recording` (the meeting exists and was never on air).
async fn recording_of(state: &AppState, meeting: MeetingId) -> Result<Recording, ApiError> {
    state.store.meeting(meeting).await?;
    state.store.recording(meeting).await?.ok_or_else(no_recording)
}

/// The meeting's recording: its state, the replay's files and where each on-air period lies.
#[utoipa::path(
    get, path = "/api/meetings/{id}/recording", tag = "broadcast",
    params(("id" = i64, Path, description = "Meeting id")),
    responses(
        (status = 200, body = RecordingView),
        (status = 404, description = "No such meeting, or `no_recording`", body = Problem),
    )
)]
pub async fn show(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<RecordingView>, ApiError> {
    let recording = recording_of(&state, MeetingId(id)).await?;
    Ok(Json(view(&state, &recording)))
}

/// A file of the replay, with range requests (206) for seeking.
#[utoipa::path(
    get, path = "/api/meetings/{id}/recording/{number}", tag = "broadcast",
    params(("id" = i64, Path, description = "Meeting id"), ("number" = i64, Path, description = "File number, from 1")),
    responses(
        (status = 200, description = "The whole file", content_type = "video/mp4"),
        (status = 206, description = "The range asked for"),
        (status = 404, description = "`no_recording`, or no such file", body = Problem),
        (status = 409, description = "`recording_not_ready`", body = Problem),
        (status = 410, description = "`recording_deleted`", body = Problem),
        (status = 416, description = "A range outside the file"),
    )
)]
pub async fn file(
    State(state): State<AppState>,
    ApiPath((id, number)): ApiPath<(i64, i64)>,
    request: Request,
) -> Result<Response, ApiError> {
    let recording = recording_of(&state, MeetingId(id)).await?;
    match recording.state {
        RecordingState::Ready => {}
        RecordingState::Deleted => return Err(deleted(&state, &recording)),
        RecordingState::Failed => {
            return Err(ApiError::Absent {
                code: "no_recording",
                detail: "the replay could not be made".to_owned(),
            });
        }
        RecordingState::Recording | RecordingState::Processing => {
            return Err(ApiError::conflict(
                "recording_not_ready",
                "the replay is made when the meeting has ended",
            ));
        }
    }
    let Some(file) = recording.files.iter().find(|file| file.number == number) else {
        return Err(ApiError::NotFound("recording file"));
    };
    // The path comes from the row, never from the request.
    let path = state.recordings.path_of(&file.path);
    let served = ServeFile::new(path)
        .oneshot(request)
        .await
        .map_err(|error| ApiError::Internal(format!("serving a recording: {error}")))?;
    if served.status() == StatusCode::NOT_FOUND {
        return Err(ApiError::Internal(format!("the recording file {} is missing", file.path)));
    }
    let mut response = served.map(Body::new).into_response();
    let headers = response.headers_mut();
    if let Ok(content_type) = HeaderValue::from_str(&file.content_type) {
        headers.insert(header::CONTENT_TYPE, content_type);
    }
    // A replay changes only by being deleted: caches may keep it a while.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    Ok(response)
}

fn deleted(state: &AppState, recording: &Recording) -> ApiError {
    let when = recording.deleted_at.map(|at| state.clock.format(at)).unwrap_or_default();
    ApiError::Gone { code: "recording_deleted", detail: format!("the recording was deleted on {when}") }
}

/// Deletes the meeting's recording (admins only): its files go, and the record of the
/// deletion (who, when) stays and is shown on the meeting's page.
#[utoipa::path(
    delete, path = "/api/meetings/{id}/recording", tag = "broadcast",
    params(("id" = i64, Path, description = "Meeting id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, description = "No such meeting, or `no_recording`", body = Problem),
        (status = 409, description = "`recording_in_progress`: still recorded or being made", body = Problem),
        (status = 410, description = "`recording_deleted`: deleted already", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    if !caller.principal.may_delete_recordings() {
        return Err(ApiError::Forbidden("only admins delete recordings"));
    }
    let meeting = MeetingId(id);
    let recording = recording_of(&state, meeting).await?;
    match recording.state {
        RecordingState::Ready | RecordingState::Failed => {}
        RecordingState::Deleted => return Err(deleted(&state, &recording)),
        RecordingState::Recording | RecordingState::Processing => {
            return Err(ApiError::conflict(
                "recording_in_progress",
                "the recording is still being made; delete it once the meeting has ended and its replay is ready",
            ));
        }
    }
    let by = caller.principal.account().ok_or(ApiError::Forbidden("only admins delete recordings"))?;
    state
        .recordings
        .delete_files(meeting)
        .await
        .map_err(|error| ApiError::Internal(format!("deleting the recording's files: {error}")))?;
    match state.store.mark_recording_deleted(meeting, recording.version, by, Timestamp::now()).await {
        Ok(()) => {}
        Err(StoreError::VersionConflict) => {
            return Err(ApiError::conflict(
                "version_conflict",
                "the recording changed meanwhile; read it again",
            ));
        }
        Err(error) => return Err(error.into()),
    }
    tracing::info!(%meeting, account = by.0, "recording deleted");
    Ok(StatusCode::NO_CONTENT)
}
