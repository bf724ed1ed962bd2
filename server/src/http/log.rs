//! A meeting's log as the public sees it, in pages: what the replay of an ended meeting folds
//! in step with its recording. The events are the live channel's own public forms, the same
//! bytes its replay from the start sends: a comment hidden during the meeting comes out
//! redacted, never with its text.

use super::problem::{ApiPath, ApiQuery};
use super::{ApiError, AppState, Problem};
use crate::room::live::FramedEvent;
use crate::store::LogReader;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use kezdesu_core::MeetingId;
use serde::Deserialize;
use utoipa::IntoParams;

/// The most events one page holds.
pub const MAX_LOG_PAGE: u32 = 2000;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LogQuery {
    /// Events after this `seq` (default 0: from the start).
    #[param(minimum = 0, maximum = 9223372036854775807_i64)]
    pub after: Option<u64>,
    /// At most this many: 1 to 2000, default 2000.
    #[param(minimum = 1, maximum = 2000)]
    pub limit: Option<u32>,
}

/// A page of the meeting's log in its public form: `{"events": […], "last_seq": N, "more":
/// bool}`; ask again with `after=last_seq` while `more`. Each event has its `seq` and `at`.
#[utoipa::path(
    get, path = "/api/meetings/{id}/log", tag = "live",
    params(("id" = i64, Path, description = "Meeting id"), LogQuery),
    responses(
        (status = 200, description = "`{events, last_seq, more}`; the events as docs/protocol.md describes them", content_type = "application/json"),
        (status = 404, body = Problem),
        (status = 422, description = "`invalid_limit` or `invalid_after`", body = Problem),
    )
)]
pub async fn log(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<LogQuery>,
) -> Result<Response, ApiError> {
    let meeting = state.store.meeting(MeetingId(id)).await?;
    let limit = query.limit.unwrap_or(MAX_LOG_PAGE);
    if !(1..=MAX_LOG_PAGE).contains(&limit) {
        return Err(ApiError::invalid("invalid_limit", format!("limit must be 1 to {MAX_LOG_PAGE}")));
    }
    let after = query.after.unwrap_or(0);
    // The log's seqs are the store's 64-bit signed integers.
    if i64::try_from(after).is_err() {
        return Err(ApiError::invalid("invalid_after", format!("after must be 0 to {}", i64::MAX)));
    }
    // One more than asked for, to know whether there is more.
    let page = state.store.live_events(meeting.id, after, u64::MAX >> 1, limit + 1).await?;
    let more = page.len() > limit as usize;
    let shown = &page[..page.len().min(limit as usize)];
    let last_seq = shown.last().map_or(after, |event| event.seq);
    let mut body = String::with_capacity(64 + shown.iter().map(|event| event.body.len()).sum::<usize>());
    body.push_str(r#"{"events":["#);
    for (index, record) in shown.iter().enumerate() {
        if index > 0 {
            body.push(',');
        }
        body.push_str(FramedEvent::from_record(record).text_for(LogReader::Public));
    }
    body.push_str(&format!(r#"],"last_seq":{last_seq},"more":{more}}}"#));
    // An ended meeting's log no longer changes but for a late moderation: caches may keep it a
    // minute. A meeting under way is read fresh.
    let finished = meeting.phases.ended_at.is_some() || meeting.cancelled_at.is_some();
    let cache = if finished { "public, max-age=60" } else { "no-store" };
    Ok(([(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, cache)], body).into_response())
}
