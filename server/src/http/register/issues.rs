//! The issues themselves: the list, one issue, entering, editing, status, merging, the
//! categories and the briefing of an akim before a meeting.

use crate::http::caller::Caller;
use crate::http::problem::{ApiJson, ApiPath, ApiQuery};
use crate::http::{ApiError, AppState, Problem};
use crate::store::{Change, IssueFilter, IssueOrder, NewIssue, NewSource};
use crate::wire::IssueView;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::Timestamp;
use kezdesu_core::issues::{EscalationLevel, IssueStatus, SourceKind};
use kezdesu_core::{MeetingId, TerritoryId};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::{
    CitizenContact, IssuePage, IssueQuery, MAX_NOTE_CHARS, MAX_TEXT_CHARS, MAX_TITLE_CHARS, check_category,
    clean_text, contact_of, keeps_register, optional_text, paging, receipt_code, receipt_url, refuse_merged,
};

/// The issue list, filtered by territory (with everything below it), status, category, level
/// and overdue, in pages. Public: everyone sees the public list; the commission and admins
/// admins also see issues not yet taken up (`public: false`).
#[utoipa::path(
    get, path = "/api/issues", tag = "issues",
    params(
        IssueQuery,
        ("page" = Option<u32>, Query, minimum = 1, maximum = 4294967295_u32, description = "From 1"),
        ("page_size" = Option<u32>, Query, minimum = 1, maximum = 200, description = "1 to 200; 50 when absent"),
    ),
    responses((status = 200, body = IssuePage), (status = 400, body = Problem), (status = 422, body = Problem))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Option<Caller>,
    ApiQuery(query): ApiQuery<IssueQuery>,
) -> Result<Json<IssuePage>, ApiError> {
    let (page, page_size) = paging(query.page, query.page_size)?;
    if query.format.is_some() {
        return Err(ApiError::invalid(
            "invalid_format",
            "the list is JSON; GET /api/issues/export takes `format`",
        ));
    }
    check_category(&state, query.category.as_deref())?;
    let (issues, total) = state.listed_issues(&query, caller.as_ref(), Some((page, page_size))).await?;
    let keeper = keeps_register(caller.as_ref());
    Ok(Json(IssuePage {
        total,
        items: issues.iter().map(|issue| state.issue_view(issue, keeper)).collect(),
        page,
        page_size,
    }))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct Category {
    pub code: String,
    pub kk: String,
    pub ru: String,
    pub en: String,
}

/// The categories issues are filed under, from the configuration.
#[utoipa::path(get, path = "/api/issues/categories", tag = "issues", responses((status = 200, body = [Category])))]
pub async fn categories(State(state): State<AppState>) -> Json<Vec<Category>> {
    Json(
        state
            .config
            .register
            .categories
            .iter()
            .map(|category| Category {
                code: category.code.clone(),
                kk: category.kk.clone(),
                ru: category.ru.clone(),
                en: category.en.clone(),
            })
            .collect(),
    )
}

/// One issue with its sources, action plan, progress and deadlines.
#[utoipa::path(
    get, path = "/api/issues/{id}", tag = "issues",
    params(("id" = i64, Path, description = "Issue id")),
    responses((status = 200, body = IssueView), (status = 404, body = Problem))
)]
pub async fn show(
    State(state): State<AppState>,
    caller: Option<Caller>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<IssueView>, ApiError> {
    let (issue, manages) = state.readable_issue(id, caller.as_ref()).await?;
    Ok(Json(state.issue_view(&issue, manages)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateIssue {
    #[schema(min_length = 1)]
    pub title: String,
    /// The request in the citizen's words, or the commission's description.
    #[serde(default)]
    pub text: String,
    pub meeting_id: Option<i64>,
    pub territory_id: Option<i64>,
    pub category: Option<String>,
    /// People behind it, e.g. the signatories of a collective request; 1 when absent.
    pub supporters: Option<u32>,
    /// The citizen, kept private.
    pub citizen: Option<CitizenContact>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct CreatedIssue {
    pub issue: IssueView,
    /// Hand this to the citizen: it follows the issue to its resolution.
    pub receipt_code: String,
    pub receipt_url: String,
}

/// Enters a request on a citizen's behalf, e.g. at a personal reception. By the commission or an
/// admin, or by an akim for a meeting they hold; answers with the receipt to hand to the citizen.
#[utoipa::path(
    post, path = "/api/issues", tag = "issues",
    request_body = CreateIssue,
    responses(
        (status = 201, body = CreatedIssue),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<CreateIssue>,
) -> Result<(StatusCode, Json<CreatedIssue>), ApiError> {
    let meeting_akim = match request.meeting_id {
        Some(meeting) => Some(
            state
                .store
                .meeting(MeetingId(meeting))
                .await
                .map_err(|_| {
                    ApiError::invalid("missing_reference", format!("meeting {meeting} does not exist"))
                })?
                .akim,
        ),
        None => None,
    };
    if !caller.principal.may_manage_issue(meeting_akim) {
        return Err(ApiError::Forbidden(
            "the commission and admins enter requests; an akim, for the meetings they hold",
        ));
    }
    let account = caller.staff()?.id;
    let title = clean_text("title", &request.title, MAX_TITLE_CHARS, false)?;
    let text = optional_text("text", Some(&request.text), MAX_TEXT_CHARS)?.unwrap_or_default();
    let supporters = request.supporters.unwrap_or(1);
    if !(1..=kezdesu_core::issues::import::MAX_SUPPORTERS).contains(&supporters) {
        return Err(ApiError::invalid("invalid_field", "supporters must be at least 1"));
    }
    let code = receipt_code();
    let now = Timestamp::now();
    let issue = NewIssue {
        meeting: request.meeting_id.map(MeetingId),
        territory: request.territory_id.map(TerritoryId),
        title,
        description: text.clone(),
        category: check_category(&state, request.category.as_deref())?,
        source: NewSource {
            kind: SourceKind::Commission,
            channel: None,
            external_id: None,
            text,
            supporters: i64::from(supporters),
            received_at: now,
            receipt_code: Some(code.clone()),
            contact: contact_of(request.citizen.as_ref())?,
            created_by: Some(account),
        },
    };
    let id = state.store.create_issue(issue, now).await?;
    let issue = state.store.issue(id).await?;
    tracing::info!(issue = %id, "issue entered by staff");
    Ok((
        StatusCode::CREATED,
        Json(CreatedIssue {
            issue: state.issue_view(&issue, true),
            receipt_url: receipt_url(&code),
            receipt_code: code,
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateIssue {
    #[schema(min_length = 1)]
    pub title: Option<String>,
    pub description: Option<String>,
    /// A category code; an empty string clears it.
    pub category: Option<String>,
    pub territory_id: Option<i64>,
    /// On the akim's briefing list for the meeting.
    pub on_briefing: Option<bool>,
}

/// Edits an issue's wording, category, territory or briefing mark. By the commission, an admin
/// or the akim of the issue's meeting; recorded in the history.
#[utoipa::path(
    patch, path = "/api/issues/{id}", tag = "issues",
    params(("id" = i64, Path, description = "Issue id")),
    request_body = UpdateIssue,
    responses(
        (status = 200, body = IssueView),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<UpdateIssue>,
) -> Result<Json<IssueView>, ApiError> {
    let account = caller.staff()?.id;
    let mut issue = state.managed_issue(&caller, id).await?;
    refuse_merged(&issue)?;
    let mut changed = serde_json::Map::new();
    if let Some(title) = &request.title {
        issue.title = clean_text("title", title, MAX_TITLE_CHARS, false)?;
        issue.title_edited = true;
        changed.insert("title".into(), json!(issue.title));
    }
    if let Some(description) = &request.description {
        issue.description =
            optional_text("description", Some(description), MAX_TEXT_CHARS)?.unwrap_or_default();
        changed.insert("description".into(), json!(issue.description));
    }
    if let Some(category) = &request.category {
        issue.category = check_category(&state, Some(category))?;
        changed.insert("category".into(), json!(issue.category));
    }
    if let Some(territory) = request.territory_id {
        state.store.territory(TerritoryId(territory)).await.map_err(|_| {
            ApiError::invalid("missing_reference", format!("territory {territory} does not exist"))
        })?;
        issue.territory = Some(TerritoryId(territory));
        changed.insert("territory_id".into(), json!(territory));
    }
    if let Some(on_briefing) = request.on_briefing {
        issue.on_briefing = on_briefing;
        changed.insert("on_briefing".into(), json!(on_briefing));
    }
    if changed.is_empty() {
        return Ok(Json(state.issue_view(&issue, true)));
    }
    let change =
        Change { by: account, action: "edited", detail: serde_json::Value::Object(changed).to_string() };
    let issue = state.store.update_issue(&issue, change, Timestamp::now()).await?;
    Ok(Json(state.issue_view(&issue, true)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeStatus {
    pub status: IssueStatus,
    /// Required to reject (the published reason); optional otherwise.
    pub note: Option<String>,
    /// Required to escalate.
    pub level: Option<EscalationLevel>,
}

/// Moves an issue along new → accepted → planned → in progress → resolved, or rejects it
/// (with a published reason) or escalates it (to the oblast or the central level) from any open
/// status. By the commission, an admin or the akim of the issue's meeting.
#[utoipa::path(
    post, path = "/api/issues/{id}/status", tag = "issues",
    params(("id" = i64, Path, description = "Issue id")),
    request_body = ChangeStatus,
    responses(
        (status = 200, body = IssueView),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "The workflow does not allow this change"),
        (status = 422, body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn change_status(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<ChangeStatus>,
) -> Result<Json<IssueView>, ApiError> {
    use kezdesu_core::issues::WorkflowError;
    use kezdesu_core::issues::workflow::check_plan;
    let account = caller.staff()?.id;
    let mut issue = state.managed_issue(&caller, id).await?;
    refuse_merged(&issue)?;
    let note = optional_text("note", request.note.as_deref(), MAX_NOTE_CHARS)?;
    issue
        .status
        .change_to(request.status, note.as_deref(), request.level)
        .and_then(|()| check_plan(request.status, issue.actions.len()))
        .map_err(|error| match error {
            WorkflowError::NotAllowed { .. } => ApiError::conflict("status_not_allowed", error.to_string()),
            WorkflowError::ReasonRequired => ApiError::invalid("reason_required", error.to_string()),
            WorkflowError::LevelRequired => ApiError::invalid("level_required", error.to_string()),
            WorkflowError::PlanRequired => ApiError::conflict("plan_required", error.to_string()),
        })?;
    let now = Timestamp::now();
    let from = issue.status;
    if request.status == IssueStatus::Accepted {
        issue.accepted_at = Some(now);
    }
    if request.status == IssueStatus::Escalated {
        issue.level = request.level;
        issue.escalated_at = Some(now);
    }
    issue.status = request.status;
    issue.status_note = note.clone();
    let detail =
        json!({ "from": from, "to": request.status, "note": note, "level": request.level }).to_string();
    let issue =
        state.store.update_issue(&issue, Change { by: account, action: "status", detail }, now).await?;
    tracing::info!(issue = %issue.id, status = %issue.status, "issue status changed");
    Ok(Json(state.issue_view(&issue, true)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeIssue {
    /// The issue this one is a duplicate of; it keeps both issues' sources and supporters.
    pub into: i64,
}

/// Merges a duplicate into another issue: every source moves there and the supporters add up.
/// The duplicate stays readable, pointing at the issue it joined. By the commission, an admin or
/// the akim of the issues' meeting (who must manage both).
#[utoipa::path(
    post, path = "/api/issues/{id}/merge", tag = "issues",
    params(("id" = i64, Path, description = "The duplicate's id")),
    request_body = MergeIssue,
    responses(
        (status = 200, body = IssueView, description = "The issue merged into"),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn merge(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<MergeIssue>,
) -> Result<Json<IssueView>, ApiError> {
    let account = caller.staff()?.id;
    if id == request.into {
        return Err(ApiError::invalid("merge_into_itself", "an issue cannot be merged into itself"));
    }
    let from = state.managed_issue(&caller, id).await?;
    let into = state.managed_issue(&caller, request.into).await?;
    refuse_merged(&from)?;
    refuse_merged(&into)?;
    if into.status.is_closed() {
        return Err(ApiError::conflict(
            "issue_closed",
            format!("issue {} is {}; merge into an open one", into.id, into.status),
        ));
    }
    let merged = state.store.merge_issues(from.id, into.id, account, Timestamp::now()).await?;
    Ok(Json(state.issue_view(&merged, true)))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct Briefing {
    pub meeting_id: i64,
    /// The issues the commission marked for the akim, most supporters first.
    pub items: Vec<IssueView>,
    /// The whole pool of the meeting by category: issues and supporters.
    pub by_category: Vec<CategoryCount>,
    /// Issues in the pool (not merged), marked or not.
    pub pool_size: u64,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct CategoryCount {
    /// Null for issues without a category.
    pub category: Option<String>,
    pub issues: u64,
    pub supporters: i64,
}

/// The akim's briefing list for a meeting: the issues the commission marked, by priority, and
/// the pool by category. For the meeting's akim, the commission and admins.
#[utoipa::path(
    get, path = "/api/meetings/{id}/briefing", tag = "issues",
    params(("id" = i64, Path, description = "Meeting id")),
    responses(
        (status = 200, body = Briefing),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn briefing(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Briefing>, ApiError> {
    let meeting = state.store.meeting(MeetingId(id)).await?;
    if !caller.principal.may_manage_issue(Some(meeting.akim)) {
        return Err(ApiError::Forbidden("the briefing is for the meeting's akim, the commission and admins"));
    }
    let filter =
        IssueFilter { meeting: Some(meeting.id), order: IssueOrder::Priority, ..IssueFilter::default() };
    let pool = state.store.issues(&filter).await?;
    let mut by_category: std::collections::BTreeMap<Option<String>, (u64, i64)> = Default::default();
    for issue in &pool {
        let entry = by_category.entry(issue.category.clone()).or_default();
        entry.0 += 1;
        entry.1 += issue.supporters;
    }
    Ok(Json(Briefing {
        meeting_id: meeting.id.0,
        items: pool
            .iter()
            .filter(|issue| issue.on_briefing)
            .map(|issue| state.issue_view(issue, true))
            .collect(),
        by_category: by_category
            .into_iter()
            .map(|(category, (issues, supporters))| CategoryCount { category, issues, supporters })
            .collect(),
        pool_size: pool.len() as u64,
    }))
}
