//! The register of problem issues: the public list, the commission's pool and workspace
//! (entries, merging, categories, status, action plans, progress), the public request form,
//! and receipts that let a citizen follow what they raised.
//!
//! Reading is public for issues in the public list (`publicly_listed` in the core). The
//! commission and admins keep the whole register; an akim manages the issues of the meetings
//! they hold (`may_manage_issue`). A citizen's name and contact are answered only by
//! `GET /api/issues/{id}/contacts`, to those who manage the issue.

use super::caller::{Caller, ClientIp};
use super::problem::{ApiJson, ApiPath, ApiQuery};
use super::{ApiError, AppState, Problem};
use crate::store::{
    ActionPlanEntry, Change, Contact, IssueFilter, IssueOrder, NewIssue, NewSource, Receipt, RegisterIssue,
};
use crate::wire::{IssueView, SourceView};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::Timestamp;
use jiff::civil::Date;
use kezdesu_core::issues::register::publicly_listed;
use kezdesu_core::issues::{EscalationLevel, IssueStatus, SourceKind};
use kezdesu_core::{ActionItemId, IssueId, MeetingId, MeetingStatus, TerritoryId};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

pub const MAX_TITLE_CHARS: usize = kezdesu_core::issues::import::MAX_TITLE_CHARS;
pub const MAX_TEXT_CHARS: usize = kezdesu_core::issues::import::MAX_TEXT_CHARS;
const MAX_NAME_CHARS: usize = 200;
const MAX_CONTACT_CHARS: usize = 200;
const MAX_NOTE_CHARS: usize = 2000;
const MAX_PAGE_SIZE: u32 = 200;

/// Whether the caller keeps the whole register (the commission, admins), and so lists every
/// issue, public or not.
pub fn keeps_register(caller: Option<&Caller>) -> bool {
    caller.is_some_and(|caller| caller.principal.may_keep_register())
}

pub fn require_keeper(caller: &Caller) -> Result<(), ApiError> {
    if caller.principal.may_keep_register() {
        Ok(())
    } else {
        Err(ApiError::Forbidden("the commission and admins keep the register"))
    }
}

pub(crate) fn clean_text(
    field: &'static str,
    raw: &str,
    max: usize,
    multiline: bool,
) -> Result<String, ApiError> {
    kezdesu_core::text::clean(raw, max, multiline)
        .map_err(|error| ApiError::invalid("invalid_field", format!("{field} {error}")))
}

fn optional_text(field: &'static str, raw: Option<&str>, max: usize) -> Result<Option<String>, ApiError> {
    match raw.map(str::trim).filter(|text| !text.is_empty()) {
        None => Ok(None),
        Some(text) => clean_text(field, text, max, true).map(Some),
    }
}

fn check_category(state: &AppState, code: Option<&str>) -> Result<Option<String>, ApiError> {
    match code.map(str::trim).filter(|code| !code.is_empty()) {
        None => Ok(None),
        Some(code) if state.config.register.categories.iter().any(|category| category.code == code) => {
            Ok(Some(code.to_owned()))
        }
        Some(code) => Err(ApiError::invalid(
            "unknown_category",
            format!("{code:?} is not a configured category; see GET /api/issues/categories"),
        )),
    }
}

fn parse_date(field: &'static str, text: &str) -> Result<Date, ApiError> {
    text.trim()
        .parse::<Date>()
        .map_err(|_| ApiError::invalid("invalid_date", format!("{field} must be a date, YYYY-MM-DD")))
}

/// A fresh receipt code: a random token, as sign-ins get.
fn receipt_code() -> String {
    crate::auth::new_token()
}

fn receipt_url(code: &str) -> String {
    format!("/receipt.html?code={code}")
}

impl AppState {
    pub(crate) fn today(&self) -> Date {
        self.clock.day(Timestamp::now())
    }

    pub(crate) fn issue_view(&self, issue: &RegisterIssue, full: bool) -> IssueView {
        IssueView::of(issue, &self.rules.issues, self.today(), &self.clock, full)
    }

    /// Whether the caller manages `issue`: changes it and reads it in full, contacts included.
    async fn manages(&self, caller: Option<&Caller>, issue: &RegisterIssue) -> Result<bool, ApiError> {
        let Some(caller) = caller else { return Ok(false) };
        if caller.principal.may_keep_register() {
            return Ok(true);
        }
        let akim = match issue.meeting {
            Some(meeting) => Some(self.store.meeting(meeting).await?.akim),
            None => None,
        };
        Ok(caller.principal.may_manage_issue(akim))
    }

    /// The issue, for a caller who manages it; 403 otherwise.
    async fn managed_issue(&self, caller: &Caller, id: i64) -> Result<RegisterIssue, ApiError> {
        let issue = self.store.issue(IssueId(id)).await?;
        if self.manages(Some(caller), &issue).await? {
            Ok(issue)
        } else {
            Err(ApiError::Forbidden("the commission, admins and the akim of the issue's meeting manage it"))
        }
    }

    /// The issue and whether the caller manages it, if the caller may read it: managers read
    /// it in full, everyone else only a public issue (404 otherwise, so that unpublished ids are
    /// not confirmed). A merged issue is public when it was itself and the one it joined is.
    async fn readable_issue(
        &self,
        id: i64,
        caller: Option<&Caller>,
    ) -> Result<(RegisterIssue, bool), ApiError> {
        let issue = self.store.issue(IssueId(id)).await?;
        if self.manages(caller, &issue).await? {
            return Ok((issue, true));
        }
        let mut public = publicly_listed(issue.status, issue.raised_live(), false);
        if let Some(into) = issue.merged_into {
            let target = self.store.issue(into).await?;
            public = public && publicly_listed(target.status, target.raised_live(), false);
        }
        if public { Ok((issue, false)) } else { Err(ApiError::NotFound("issue")) }
    }

    /// The issues matching the list filters that the caller may read, in the asked order, and
    /// how many match in all. With `page` (number from 1, size), only that page is read: in SQL,
    /// unless the overdue filter is asked for, which depends on today and is worked out here
    /// over the issues being acted on (the only ones that can be late).
    pub(crate) async fn listed_issues(
        &self,
        query: &IssueQuery,
        caller: Option<&Caller>,
        page: Option<(u32, u32)>,
    ) -> Result<(Vec<RegisterIssue>, u64), ApiError> {
        let mut filter = self.issue_filter(query, caller).await?;
        let skipped = |page: u32, size: u32| u64::from(page.saturating_sub(1)) * u64::from(size);
        let Some(wanted) = query.overdue else {
            let Some((number, size)) = page else {
                let issues = self.store.issues(&filter).await?;
                let total = issues.len() as u64;
                return Ok((issues, total));
            };
            let total = self.store.count_issues(&filter).await?;
            filter.limit = Some(size);
            filter.offset = skipped(number, size);
            return Ok((self.store.issues(&filter).await?, total));
        };
        let matching: Vec<RegisterIssue> = self
            .store
            .issues(&filter)
            .await?
            .into_iter()
            .filter(|issue| self.is_overdue(issue) == wanted)
            .collect();
        let total = matching.len() as u64;
        let issues = match page {
            None => matching,
            Some((number, size)) => matching
                .into_iter()
                .skip(usize::try_from(skipped(number, size)).unwrap_or(usize::MAX))
                .take(size as usize)
                .collect(),
        };
        Ok((issues, total))
    }

    /// Whether something of the issue is late today.
    pub(crate) fn is_overdue(&self, issue: &RegisterIssue) -> bool {
        let dates = crate::wire::issue_dates(issue, &self.clock);
        self.rules.issues.issue_deadlines(&dates, self.today()).overdue
    }

    /// The store filter for the list's query and caller (all but the overdue flag, which
    /// depends on today). Readers who do not keep the register get the public list only.
    pub(crate) async fn issue_filter(
        &self,
        query: &IssueQuery,
        caller: Option<&Caller>,
    ) -> Result<IssueFilter, ApiError> {
        let territories = match query.territory_id {
            None => None,
            Some(root) => Some(self.territory_and_inside(TerritoryId(root)).await?),
        };
        Ok(IssueFilter {
            meeting: query.meeting_id.map(MeetingId),
            territories,
            statuses: query.status.map(|status| vec![status]),
            acting_only: query.overdue == Some(true),
            categories: query.category.clone().map(|category| vec![category]),
            level: query.level,
            public_only: !keeps_register(caller),
            order: query.sort.unwrap_or_default().into(),
            ..IssueFilter::default()
        })
    }
}

#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IssueSort {
    /// Most supporters first.
    #[default]
    Priority,
    Newest,
    Oldest,
    /// Most recently changed first.
    Updated,
}

impl From<IssueSort> for IssueOrder {
    fn from(sort: IssueSort) -> IssueOrder {
        match sort {
            IssueSort::Priority => IssueOrder::Priority,
            IssueSort::Newest => IssueOrder::Newest,
            IssueSort::Oldest => IssueOrder::Oldest,
            IssueSort::Updated => IssueOrder::Updated,
        }
    }
}

/// Filters of the issue list (and of its exports).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct IssueQuery {
    /// Issues raised for this meeting.
    pub meeting_id: Option<i64>,
    /// Issues on this territory or any below it.
    pub territory_id: Option<i64>,
    pub status: Option<IssueStatus>,
    pub category: Option<String>,
    /// Escalated to this level.
    pub level: Option<EscalationLevel>,
    /// Only issues with something late (true), or with nothing late (false).
    pub overdue: Option<bool>,
    #[param(inline)]
    pub sort: Option<IssueSort>,
    /// From 1.
    pub page: Option<u32>,
    /// 1 to 200; 50 when absent.
    pub page_size: Option<u32>,
    /// For exports: `json` (default) or `csv`.
    pub format: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct IssuePage {
    pub items: Vec<IssueView>,
    /// Issues matching the filters, over all pages.
    pub total: u64,
    pub page: u32,
    pub page_size: u32,
}

/// Which page `query` asks for: (page from 1, page size).
pub fn paging(page: Option<u32>, page_size: Option<u32>) -> Result<(u32, u32), ApiError> {
    let page = page.unwrap_or(1);
    let size = page_size.unwrap_or(50);
    if page == 0 || !(1..=MAX_PAGE_SIZE).contains(&size) {
        return Err(ApiError::invalid(
            "invalid_paging",
            format!("page starts at 1 and page_size is 1 to {MAX_PAGE_SIZE}"),
        ));
    }
    Ok((page, size))
}

/// The issue list, filtered by territory (with everything below it), status, category, level
/// and overdue, in pages. Public: everyone sees the public list; the commission and admins
/// admins also see issues not yet taken up (`public: false`).
#[utoipa::path(
    get, path = "/api/issues", tag = "issues",
    params(IssueQuery),
    responses((status = 200, body = IssuePage), (status = 400, body = Problem), (status = 422, body = Problem))
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Option<Caller>,
    ApiQuery(query): ApiQuery<IssueQuery>,
) -> Result<Json<IssuePage>, ApiError> {
    let (page, page_size) = paging(query.page, query.page_size)?;
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

/// A citizen on whose behalf a request is entered.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CitizenContact {
    pub name: String,
    /// A phone number or an e-mail address.
    pub contact: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateIssue {
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

fn contact_of(citizen: Option<&CitizenContact>) -> Result<Option<Contact>, ApiError> {
    citizen
        .map(|citizen| {
            Ok(Contact {
                name: clean_text("citizen.name", &citizen.name, MAX_NAME_CHARS, false)?,
                contact: optional_text("citizen.contact", citizen.contact.as_deref(), MAX_CONTACT_CHARS)?,
            })
        })
        .transpose()
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

fn refuse_merged(issue: &RegisterIssue) -> Result<(), ApiError> {
    match issue.merged_into {
        Some(into) => Err(ApiError::conflict(
            "issue_merged",
            format!("this issue was merged into issue {into}; change that one"),
        )),
        None => Ok(()),
    }
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionItemInput {
    pub measure: Option<String>,
    pub executor_organisation: Option<String>,
    pub executor_person: Option<String>,
    /// `YYYY-MM-DD`.
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddProgress {
    /// The day of the report, `YYYY-MM-DD`; today when absent.
    pub reported_on: Option<String>,
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

#[derive(Serialize, Deserialize, ToSchema)]
pub struct HistoryEntryView {
    pub at: String,
    /// The official's display name; null for changes made by the live channel.
    pub by: Option<String>,
    /// `created`, `retitled`, `edited`, `status`, `merged_into`, `merged_from`, `action_added`,
    /// `action_updated` or `progress`.
    pub action: String,
    /// What changed.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

/// Every change of an issue, oldest first: who, when and what. Kept forever. Readable by
/// whoever may read the issue.
#[utoipa::path(
    get, path = "/api/issues/{id}/history", tag = "issues",
    params(("id" = i64, Path, description = "Issue id")),
    responses((status = 200, body = [HistoryEntryView]), (status = 404, body = Problem))
)]
pub async fn history(
    State(state): State<AppState>,
    caller: Option<Caller>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Vec<HistoryEntryView>>, ApiError> {
    let (issue, keeper) = state.readable_issue(id, caller.as_ref()).await?;
    let entries = state.store.issue_history(issue.id).await?;
    Ok(Json(
        entries
            .into_iter()
            .map(|entry| {
                let detail = serde_json::from_str(&entry.detail).unwrap_or(serde_json::Value::Null);
                HistoryEntryView {
                    at: state.clock.format(entry.at),
                    by: entry.by_name,
                    detail: if keeper { detail } else { public_detail(&entry.action, detail) },
                    action: entry.action,
                }
            })
            .collect(),
    ))
}

/// A history entry's detail as the public reads it: earlier wordings of the title and the
/// description are withheld (the commission may have edited a citizen's name out of them), and
/// an edit says which of them changed. The current wording is on the issue itself.
fn public_detail(action: &str, mut detail: serde_json::Value) -> serde_json::Value {
    if let serde_json::Value::Object(fields) = &mut detail {
        let withheld: Vec<&str> =
            ["title", "description"].into_iter().filter(|key| fields.remove(*key).is_some()).collect();
        if !withheld.is_empty() && action != "created" {
            fields.insert("changed".to_owned(), json!(withheld));
        }
    }
    detail
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct SourceContactView {
    pub source_id: i64,
    pub name: String,
    pub contact: Option<String>,
}

/// The names and contacts of the citizens behind an issue's requests and entries. Personal
/// data: for the commission, admins and the akim of the issue's meeting only.
#[utoipa::path(
    get, path = "/api/issues/{id}/contacts", tag = "issues",
    params(("id" = i64, Path, description = "Issue id")),
    responses(
        (status = 200, body = [SourceContactView]),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn contacts(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Vec<SourceContactView>>, ApiError> {
    let issue = state.managed_issue(&caller, id).await?;
    let contacts = state.store.source_contacts(issue.id).await?;
    Ok(Json(
        contacts
            .into_iter()
            .map(|entry| SourceContactView {
                source_id: entry.source,
                name: entry.contact.name,
                contact: entry.contact.contact,
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendRequest {
    /// Your name; never published.
    pub name: String,
    /// A phone number or e-mail for the answer; never published.
    pub contact: Option<String>,
    /// The problem in a line; published once the commission takes it up.
    pub title: String,
    /// The request or proposal; published once the commission takes it up.
    pub text: String,
    pub category: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct RequestReceived {
    pub issue_id: i64,
    /// Keep this: it follows the request to its resolution.
    pub receipt_code: String,
    pub receipt_url: String,
}

/// Sends a request or proposal for a meeting, from its announcement until it starts. Public;
/// rate-limited per client address. The name and contact are never published.
#[utoipa::path(
    post, path = "/api/meetings/{id}/requests", tag = "issues",
    params(("id" = i64, Path, description = "Meeting id")),
    request_body = SendRequest,
    responses(
        (status = 201, body = RequestReceived),
        (status = 404, body = Problem),
        (status = 409, body = Problem, description = "The meeting has started, ended or was cancelled"),
        (status = 422, body = Problem), (status = 429, body = Problem),
    )
)]
pub async fn send_request(
    State(state): State<AppState>,
    ClientIp(address): ClientIp,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<SendRequest>,
) -> Result<(StatusCode, Json<RequestReceived>), ApiError> {
    let meeting = state.store.meeting(MeetingId(id)).await?;
    let now = Timestamp::now();
    if crate::wire::MeetingView::of(&meeting, now, &state.clock).status != MeetingStatus::Scheduled {
        return Err(ApiError::conflict(
            "requests_closed",
            "requests are taken from the announcement until the meeting starts; comment live instead",
        ));
    }
    let contact =
        contact_of(Some(&CitizenContact { name: request.name.clone(), contact: request.contact.clone() }))?;
    let title = clean_text("title", &request.title, MAX_TITLE_CHARS, false)?;
    let text = clean_text("text", &request.text, MAX_TEXT_CHARS, true)?;
    let category = check_category(&state, request.category.as_deref())?;
    // Counted after the checks, so that a citizen fixing a typo is not locked out.
    AppState::check_rate(&state.request_limiter, address).await?;
    let code = receipt_code();
    let issue = NewIssue {
        meeting: Some(meeting.id),
        territory: None,
        title,
        description: text.clone(),
        category,
        source: NewSource {
            kind: SourceKind::Request,
            channel: None,
            external_id: None,
            text,
            supporters: 1,
            received_at: now,
            receipt_code: Some(code.clone()),
            contact,
            created_by: None,
        },
    };
    let id = state.store.create_issue(issue, now).await?;
    tracing::info!(meeting = %meeting.id, issue = %id, "request received");
    Ok((
        StatusCode::CREATED,
        Json(RequestReceived { issue_id: id.0, receipt_url: receipt_url(&code), receipt_code: code }),
    ))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct ViewerReceipt {
    pub receipt_code: String,
    pub receipt_url: String,
}

/// A viewer's receipt: one code that follows every comment of theirs that becomes a question,
/// to its issue and resolution. With the viewer token of this meeting; the same code each time.
#[utoipa::path(
    post, path = "/api/meetings/{id}/receipt", tag = "issues",
    params(("id" = i64, Path, description = "Meeting id")),
    responses(
        (status = 200, body = ViewerReceipt),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn viewer_receipt(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ViewerReceipt>, ApiError> {
    let meeting = state.store.meeting(MeetingId(id)).await?;
    let kezdesu_core::Principal::Viewer { viewer, meeting: of } = caller.principal else {
        return Err(ApiError::Forbidden("a receipt follows a viewer's comments; use the viewer token"));
    };
    if of != meeting.id {
        return Err(ApiError::Forbidden("this viewer token is for another meeting"));
    }
    let code = state.store.viewer_receipt(viewer, meeting.id, &receipt_code(), Timestamp::now()).await?;
    Ok(Json(ViewerReceipt { receipt_url: receipt_url(&code), receipt_code: code }))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct ReceiptView {
    /// `request`, `commission` (entered on your behalf) or `comments` (your live comments).
    pub kind: String,
    pub meeting_id: Option<i64>,
    /// What you sent, for a request or an entry.
    pub submitted: Option<SourceView>,
    /// The issues it is part of, as they stand now.
    pub issues: Vec<IssueView>,
}

/// Follows a receipt: the request (or the viewer's comments) and the issues it became part
/// of, with status, plan and progress. Public to whoever holds the code; carries no name or
/// contact.
#[utoipa::path(
    get, path = "/api/receipts/{code}", tag = "issues",
    params(("code" = String, Path, description = "Receipt code")),
    responses((status = 200, body = ReceiptView), (status = 404, body = Problem))
)]
pub async fn receipt(
    State(state): State<AppState>,
    ApiPath(code): ApiPath<String>,
) -> Result<Json<ReceiptView>, ApiError> {
    if code.len() > 64 {
        return Err(ApiError::NotFound("receipt"));
    }
    let receipt = state.store.receipt(&code).await?.ok_or(ApiError::NotFound("receipt"))?;
    Ok(Json(match receipt {
        Receipt::Source { source, issue } => {
            let view = receipt_issue_view(&state, &state.store.issue(issue).await?);
            let submitted = SourceView {
                id: source.id,
                kind: source.kind,
                meeting_id: source.meeting.map(|meeting| meeting.0),
                question: source.question,
                channel: source.channel,
                external_id: source.external_id,
                supporters: source.supporters,
                received_at: state.clock.format(source.received_at),
                text: Some(source.text),
            };
            ReceiptView {
                kind: source.kind.as_str().to_owned(),
                meeting_id: source.meeting.map(|meeting| meeting.0),
                submitted: Some(submitted),
                issues: vec![view],
            }
        }
        Receipt::Viewer { meeting, issues, .. } => {
            let mut views = Vec::with_capacity(issues.len());
            for id in issues {
                views.push(receipt_issue_view(&state, &state.store.issue(id).await?));
            }
            ReceiptView {
                kind: "comments".to_owned(),
                meeting_id: Some(meeting.0),
                submitted: None,
                issues: views,
            }
        }
    }))
}

/// An issue as a receipt shows it. The issue may hold other citizens' requests merged in; until
/// it is public its wording may be theirs, unchecked, so it is left out: the holder sees their
/// own words (`submitted`), and the issue's status, plan and progress.
fn receipt_issue_view(state: &AppState, issue: &RegisterIssue) -> IssueView {
    let mut view = state.issue_view(issue, false);
    if !view.public {
        view.title.clear();
        view.description.clear();
    }
    view
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
