//! Progress reports on an issue being acted on.

use crate::http::caller::Caller;
use crate::http::problem::{ApiJson, ApiPath};
use crate::http::{ApiError, AppState, Problem};
use crate::store::Change;
use crate::wire::IssueView;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use super::{MAX_TEXT_CHARS, clean_text, parse_date, refuse_merged};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddProgress {
    /// The day of the report, `YYYY-MM-DD`; today when absent.
    #[schema(format = Date)]
    pub reported_on: Option<String>,
    #[schema(min_length = 1)]
    pub text: String,
}

/// Publishes a progress update on an issue. It counts for the earliest quarter whose report is
/// still due that day (a report on 20 January covers the fourth quarter). By the commission, an
/// admin or the akim of the issue's meeting.
#[utoipa::path(
    post, path = "/api/issues/{id}/progress", tag = "issues",
    params(("id" = i64, Path, description = "Issue id")),
    request_body = AddProgress,
    responses(
        (status = 201, body = IssueView),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn add_progress(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<AddProgress>,
) -> Result<(StatusCode, Json<IssueView>), ApiError> {
    let account = caller.staff()?.id;
    let issue = state.managed_issue(&caller, id).await?;
    refuse_merged(&issue)?;
    if !issue.status.takes_progress() {
        return Err(ApiError::conflict(
            "issue_not_open",
            format!("the issue is {}; progress is reported on issues taken up", issue.status),
        ));
    }
    let today = state.today();
    let reported_on = match &request.reported_on {
        Some(text) => parse_date("reported_on", text)?,
        None => today,
    };
    if reported_on > today {
        return Err(ApiError::invalid("invalid_date", "reported_on cannot be in the future"));
    }
    let text = clean_text("text", &request.text, MAX_TEXT_CHARS, true)?;
    // Reports count for deadlines by the day they are published, not the date they carry.
    let quarter = state.rules.issues.quarter_reported_on(today);
    let detail =
        json!({ "reported_on": reported_on.to_string(), "quarter": quarter.to_string(), "text": text })
            .to_string();
    let change = Change { by: account, action: "progress", detail };
    state.store.add_progress(issue.id, reported_on, &text, change, Timestamp::now()).await?;
    let issue = state.store.issue(issue.id).await?;
    Ok((StatusCode::CREATED, Json(state.issue_view(&issue, true))))
}
