//! An issue's action plan: its items, each with what is to be done, by whom and by when.

use crate::http::caller::Caller;
use crate::http::problem::{ApiJson, ApiPath};
use crate::http::{ApiError, AppState, Problem};
use crate::store::{ActionPlanEntry, Change, RegisterIssue};
use crate::wire::IssueView;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::Timestamp;
use jiff::civil::Date;
use kezdesu_core::ActionItemId;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::{MAX_TITLE_CHARS, clean_text, parse_date, refuse_merged};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionItemInput {
    pub measure: Option<String>,
    pub executor_organisation: Option<String>,
    pub executor_person: Option<String>,
    /// `YYYY-MM-DD`.
    #[schema(format = Date)]
    pub deadline: Option<String>,
    pub financing_needed: Option<bool>,
    /// Whole tenge; needs `financing_needed`.
    pub financing_amount: Option<i64>,
    /// The maslikhat session that considers the financing, `YYYY-MM-DD`.
    pub maslikhat_session_on: Option<String>,
    /// When it was carried out, `YYYY-MM-DD`; `""` reopens it.
    pub done_on: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct ActionItemCreated {
    pub id: i64,
    pub issue: IssueView,
}

/// Applies `input` over `current` (or over nothing, for a new item) and checks the result.
fn plan_entry(
    current: Option<&ActionPlanEntry>,
    input: &ActionItemInput,
) -> Result<ActionPlanEntry, ApiError> {
    let text =
        |field: &'static str, given: &Option<String>, now: Option<&String>| -> Result<String, ApiError> {
            match (given, now) {
                (Some(text), _) => clean_text(field, text, MAX_TITLE_CHARS * 2, false),
                (None, Some(text)) => Ok(text.clone()),
                (None, None) => Err(ApiError::invalid("invalid_field", format!("{field} is required"))),
            }
        };
    let optional_date = |field: &'static str, given: &Option<String>, now: Option<Date>| match given {
        None => Ok(now),
        Some(text) if text.trim().is_empty() => Ok(None),
        Some(text) => parse_date(field, text).map(Some),
    };
    let deadline = match (&input.deadline, current) {
        (Some(text), _) => parse_date("deadline", text)?,
        (None, Some(current)) => current.deadline,
        (None, None) => return Err(ApiError::invalid("invalid_field", "deadline is required")),
    };
    let financing_needed =
        input.financing_needed.or(current.map(|current| current.financing_needed)).unwrap_or(false);
    let financing_amount = match input.financing_amount {
        Some(amount) if amount < 0 => {
            return Err(ApiError::invalid("invalid_field", "financing_amount must not be negative"));
        }
        Some(amount) => Some(amount),
        // Financing no longer needed clears what was said about it.
        None if input.financing_needed == Some(false) => None,
        None => current.and_then(|current| current.financing_amount),
    };
    let maslikhat_session_on = optional_date(
        "maslikhat_session_on",
        &input.maslikhat_session_on,
        current.and_then(|c| c.maslikhat_session_on).filter(|_| input.financing_needed != Some(false)),
    )?;
    if !financing_needed && (financing_amount.is_some() || maslikhat_session_on.is_some()) {
        return Err(ApiError::invalid(
            "invalid_field",
            "financing_amount and maslikhat_session_on apply only when financing_needed is true",
        ));
    }
    Ok(ActionPlanEntry {
        measure: text("measure", &input.measure, current.map(|c| &c.measure))?,
        executor_organisation: text(
            "executor_organisation",
            &input.executor_organisation,
            current.map(|c| &c.executor_organisation),
        )?,
        executor_person: text(
            "executor_person",
            &input.executor_person,
            current.map(|c| &c.executor_person),
        )?,
        deadline,
        financing_needed,
        financing_amount,
        maslikhat_session_on,
        done_on: optional_date("done_on", &input.done_on, current.and_then(|c| c.done_on))?,
    })
}

fn plan_detail(item: Option<ActionItemId>, entry: &ActionPlanEntry) -> String {
    json!({
        "item": item.map(|item| item.0),
        "measure": entry.measure,
        "executor_organisation": entry.executor_organisation,
        "executor_person": entry.executor_person,
        "deadline": entry.deadline.to_string(),
        "financing_needed": entry.financing_needed,
        "financing_amount": entry.financing_amount,
        "maslikhat_session_on": entry.maslikhat_session_on.map(|date| date.to_string()),
        "done_on": entry.done_on.map(|date| date.to_string()),
    })
    .to_string()
}

/// An issue is planned and acted on once the commission has taken it up, until it closes.
fn refuse_unless_acting(issue: &RegisterIssue) -> Result<(), ApiError> {
    refuse_merged(issue)?;
    if issue.status.is_acting() {
        Ok(())
    } else {
        Err(ApiError::conflict(
            "issue_not_open",
            format!(
                "the issue is {}; plans and progress are for accepted, planned or in-progress issues",
                issue.status
            ),
        ))
    }
}

/// Adds an item to an issue's action plan: the measure, the executor (organisation and
/// person), the deadline and financing. By the commission, an admin or the akim of the issue's
/// meeting.
#[utoipa::path(
    post, path = "/api/issues/{id}/actions", tag = "issues",
    params(("id" = i64, Path, description = "Issue id")),
    request_body = ActionItemInput,
    responses(
        (status = 201, body = ActionItemCreated),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn add_action(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<ActionItemInput>,
) -> Result<(StatusCode, Json<ActionItemCreated>), ApiError> {
    let account = caller.staff()?.id;
    let issue = state.managed_issue(&caller, id).await?;
    refuse_unless_acting(&issue)?;
    let entry = plan_entry(None, &request)?;
    let change = Change { by: account, action: "action_added", detail: plan_detail(None, &entry) };
    let item = state.store.add_action_item(issue.id, &entry, change, Timestamp::now()).await?;
    let issue = state.store.issue(issue.id).await?;
    Ok((
        StatusCode::CREATED,
        Json(ActionItemCreated { id: item.id.0, issue: state.issue_view(&issue, true) }),
    ))
}

/// Changes an action-plan item: any field, e.g. `done_on` when it is carried out.
#[utoipa::path(
    patch, path = "/api/issues/{id}/actions/{item}", tag = "issues",
    params(("id" = i64, Path, description = "Issue id"), ("item" = i64, Path, description = "Action item id")),
    request_body = ActionItemInput,
    responses(
        (status = 200, body = IssueView),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn update_action(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, item)): ApiPath<(i64, i64)>,
    ApiJson(request): ApiJson<ActionItemInput>,
) -> Result<Json<IssueView>, ApiError> {
    let account = caller.staff()?.id;
    let issue = state.managed_issue(&caller, id).await?;
    refuse_unless_acting(&issue)?;
    let current =
        issue.actions.iter().find(|action| action.id.0 == item).ok_or(ApiError::NotFound("action item"))?;
    let entry = plan_entry(Some(&current.plan), &request)?;
    let change =
        Change { by: account, action: "action_updated", detail: plan_detail(Some(current.id), &entry) };
    state.store.update_action_item(current.id, &entry, change, Timestamp::now()).await?;
    let issue = state.store.issue(issue.id).await?;
    Ok(Json(state.issue_view(&issue, true)))
}
