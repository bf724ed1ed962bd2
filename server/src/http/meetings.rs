//! Meetings: planning, the session timer, and the event stream.

use super::caller::Caller;
use super::problem::{ApiJson, ApiPath, ApiQuery};
use super::{ApiError, AppState, Problem};
use crate::store::{Meeting, MeetingFilter, NewMeeting};
use crate::wire::{MeetingDeadlines, MeetingView, PhaseChangedEvent, ResultsView};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream, StreamExt};
use jiff::{SignedDuration, Timestamp};
use kezdesu_core::meeting::{MAX_TITLE_CHARS, check_planned_minutes};
use kezdesu_core::{
    AccountId, LocalizedText, MeetingId, MeetingKind, MeetingStatus, Phase, Role, TerritoryId,
};
use serde::{Deserialize, Serialize};
use std::convert::Infallible;
use std::time::Duration;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use utoipa::{IntoParams, ToSchema};

/// A meeting may not be planned further back than this: a little slack for slow forms.
const PLANNED_START_SLACK: SignedDuration = SignedDuration::from_mins(5);

#[derive(Serialize, Deserialize, ToSchema)]
pub struct MeetingList {
    pub meetings: Vec<MeetingView>,
}

/// The longest list one request returns.
const MAX_LIST_LIMIT: u32 = 500;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MeetingQuery {
    /// Only meetings with this status.
    pub status: Option<MeetingStatus>,
    /// Only meetings in this territory.
    pub territory_id: Option<i64>,
    /// Only meetings planned to start at or after this instant (RFC 3339 with offset).
    #[param(format = DateTime)]
    pub from: Option<String>,
    /// Only meetings planned to start before this instant (RFC 3339 with offset).
    #[param(format = DateTime)]
    pub to: Option<String>,
    /// At most this many, earliest first: 1 to 500, default 100.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateMeeting {
    pub title: LocalizedText,
    pub territory_id: i64,
    /// The akim who holds the meeting; an akim creating a meeting may leave it out.
    pub akim_account_id: Option<i64>,
    /// RFC 3339 with an offset, e.g. `2026-03-02T10:00:00+05:00`.
    #[schema(format = DateTime)]
    pub planned_start: String,
    pub planned_minutes: i64,
    pub kind: MeetingKind,
    /// Where it is held (the address or hall), as the announcement gives it.
    pub place: Option<String>,
    /// Where else it is streamed: an http(s) address.
    pub online_link: Option<String>,
}

/// Changes to a meeting. Once it has begun only the title, the place and the online link change
/// (a stream link may need fixing mid-meeting); the plan does not.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMeeting {
    pub title: Option<LocalizedText>,
    pub territory_id: Option<i64>,
    pub akim_account_id: Option<i64>,
    #[schema(format = DateTime)]
    pub planned_start: Option<String>,
    pub planned_minutes: Option<i64>,
    pub kind: Option<MeetingKind>,
    /// The place; an empty string clears it.
    pub place: Option<String>,
    /// The online link; an empty string clears it.
    pub online_link: Option<String>,
    /// `cancelled` calls the meeting off; `scheduled` restores a cancelled one.
    pub status: Option<MeetingStatus>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePhase {
    #[schema(value_type = PhaseTarget)]
    pub phase: Phase,
}

/// The phases a meeting can be moved into: never back to `scheduled`. For the document only;
/// the handler reads a [`Phase`] and refuses `scheduled` with 422 `invalid_phase`.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
enum PhaseTarget {
    Presentation,
    Qa,
    Ended,
}

fn parse_instant(field: &str, text: &str) -> Result<Timestamp, ApiError> {
    text.parse::<Timestamp>().map_err(|_| {
        ApiError::invalid(
            "invalid_timestamp",
            format!(
                "{field} must be RFC 3339 with an offset, such as 2026-03-02T10:00:00+05:00; got {text:?}"
            ),
        )
    })
}

fn clean_title(title: &LocalizedText) -> Result<LocalizedText, ApiError> {
    title
        .cleaned(MAX_TITLE_CHARS)
        .map_err(|error| ApiError::invalid("invalid_title", format!("title: {error}")))
}

/// The place of a meeting: plain text up to 300 characters, or empty.
fn check_place(raw: &str) -> Result<String, ApiError> {
    // Blank once cleaned (white space, control or invisible characters only): no place.
    match kezdesu_core::text::clean(raw, 300, false) {
        Err(kezdesu_core::text::TextError::Empty) => Ok(String::new()),
        _ => super::register::clean_text("place", raw, 300, false),
    }
}

/// An online link: an absolute http(s) address, or empty.
fn check_online_link(raw: &str) -> Result<String, ApiError> {
    let link = raw.trim();
    if link.is_empty() || kezdesu_core::yearly::is_web_link(link) {
        Ok(link.to_owned())
    } else {
        Err(ApiError::invalid(
            "invalid_online_link",
            "online_link must be an http(s) address of at most 500 characters",
        ))
    }
}

fn check_minutes(state: &AppState, minutes: i64) -> Result<u32, ApiError> {
    check_planned_minutes(&state.rules.meeting, minutes)
        .map_err(|error| ApiError::invalid("invalid_planned_minutes", error.to_string()))
}

fn check_planned_start(planned_start: Timestamp, now: Timestamp) -> Result<Timestamp, ApiError> {
    if planned_start < now - PLANNED_START_SLACK {
        return Err(ApiError::invalid("planned_start_in_past", "planned_start is in the past"));
    }
    Ok(planned_start)
}

/// The account must exist and be an enabled akim.
async fn check_akim(state: &AppState, id: i64) -> Result<AccountId, ApiError> {
    let account = match state.store.account(AccountId(id)).await {
        Ok(account) => account,
        Err(crate::store::StoreError::NotFound(_)) => {
            return Err(ApiError::invalid("missing_reference", "akim account does not exist"));
        }
        Err(error) => return Err(error.into()),
    };
    if account.role != Role::Akim || account.disabled {
        return Err(ApiError::invalid("not_an_akim", format!("account {id} is not an enabled akim")));
    }
    Ok(account.id)
}

async fn check_territory(state: &AppState, id: i64) -> Result<TerritoryId, ApiError> {
    match state.store.territory(TerritoryId(id)).await {
        Ok(territory) => Ok(territory.id),
        Err(crate::store::StoreError::NotFound(_)) => {
            Err(ApiError::invalid("missing_reference", "territory does not exist"))
        }
        Err(error) => Err(error.into()),
    }
}

fn view(state: &AppState, meeting: &Meeting) -> MeetingView {
    let mut view = MeetingView::of(meeting, Timestamp::now(), &state.clock);
    view.broadcast = Some(state.media.status(meeting.id));
    view.hls = state
        .egress
        .hls(meeting.id)
        .filter(|rendition| rendition.on_air)
        .map(|_| super::hls::playlist_path(meeting.id));
    view
}

/// Lists meetings by planned start. Public.
#[utoipa::path(
    get, path = "/api/meetings", tag = "meetings",
    params(MeetingQuery),
    responses((status = 200, body = MeetingList), (status = 400, body = Problem))
)]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<MeetingQuery>,
) -> Result<Json<MeetingList>, ApiError> {
    let limit = query.limit.unwrap_or(100);
    if !(1..=MAX_LIST_LIMIT).contains(&limit) {
        return Err(ApiError::invalid("invalid_limit", format!("limit must be 1 to {MAX_LIST_LIMIT}")));
    }
    let filter = MeetingFilter {
        status: query.status,
        territory: query.territory_id.map(TerritoryId),
        from: query.from.as_deref().map(|text| parse_instant("from", text)).transpose()?,
        to: query.to.as_deref().map(|text| parse_instant("to", text)).transpose()?,
        limit,
    };
    let meetings = state.store.meetings(filter).await?;
    // Ended meetings show their results deadline too, read in one query for the whole page.
    let ended: Vec<MeetingId> = meetings
        .iter()
        .filter(|meeting| meeting.phases.ended_at.is_some())
        .map(|meeting| meeting.id)
        .collect();
    let results: std::collections::HashMap<MeetingId, crate::store::MeetingResults> = state
        .store
        .meeting_results_of(&ended)
        .await?
        .into_iter()
        .map(|results| (results.meeting, results))
        .collect();
    let views = meetings
        .iter()
        .map(|meeting| {
            let mut view = view(&state, meeting);
            view.deadlines = deadlines(&state, meeting, results.get(&meeting.id));
            view
        })
        .collect();
    Ok(Json(MeetingList { meetings: views }))
}

/// Plans a meeting. Admins plan any; akims plan their own.
#[utoipa::path(
    post, path = "/api/meetings", tag = "meetings",
    request_body = CreateMeeting,
    responses(
        (status = 201, body = MeetingView),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<CreateMeeting>,
) -> Result<(StatusCode, Json<MeetingView>), ApiError> {
    let account = caller.staff()?;
    if !caller.principal.may_plan_meetings() {
        return Err(ApiError::Forbidden("only admins, and akims for themselves, plan meetings"));
    }
    let akim_id = match (request.akim_account_id, account.role) {
        (Some(id), _) => id,
        (None, Role::Akim) => account.id.0,
        (None, _) => return Err(ApiError::invalid("missing_akim", "akim_account_id is required")),
    };
    if !caller.principal.may_create_meeting(AccountId(akim_id)) {
        return Err(ApiError::Forbidden("only admins, and akims for themselves, plan meetings"));
    }
    let now = Timestamp::now();
    let meeting = NewMeeting {
        title: clean_title(&request.title)?,
        planned_start: check_planned_start(parse_instant("planned_start", &request.planned_start)?, now)?,
        planned_minutes: check_minutes(&state, request.planned_minutes)?,
        kind: request.kind,
        territory: check_territory(&state, request.territory_id).await?,
        akim: check_akim(&state, akim_id).await?,
        presentation_share: state.rules.meeting.presentation_share,
        place: check_place(request.place.as_deref().unwrap_or_default())?,
        online_link: check_online_link(request.online_link.as_deref().unwrap_or_default())?,
    };
    let meeting = state.store.create_meeting(meeting, now).await?;
    tracing::info!(meeting = %meeting.id, "meeting planned");
    Ok((StatusCode::CREATED, Json(view(&state, &meeting))))
}

/// Shows a meeting with its phase, deadlines and, once ended, its compliance record. Public.
#[utoipa::path(
    get, path = "/api/meetings/{id}", tag = "meetings",
    params(("id" = i64, Path, description = "Meeting id")),
    responses((status = 200, body = MeetingView), (status = 404, body = Problem))
)]
pub async fn show(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<MeetingView>, ApiError> {
    let meeting = state.store.meeting(MeetingId(id)).await?;
    let results = state.store.meeting_results(meeting.id).await?;
    let mut view = view(&state, &meeting);
    view.deadlines = deadlines(&state, &meeting, results.as_ref());
    view.restream = restream_of(&state, meeting.id);
    view.platforms = platforms_of(&state, meeting.id).await?;
    Ok(Json(view))
}

/// The meeting's platform readers' states, when it follows any platform.
async fn platforms_of(
    state: &AppState,
    meeting: MeetingId,
) -> Result<Option<Vec<crate::wire::PlatformStatus>>, ApiError> {
    Ok(Some(state.platforms.statuses(meeting).await?).filter(|statuses| !statuses.is_empty()))
}

/// The meeting's restream states, when it has been restreamed since the server started.
fn restream_of(state: &AppState, meeting: MeetingId) -> Option<Vec<crate::wire::RestreamStatus>> {
    Some(state.egress.statuses(meeting)).filter(|statuses| !statuses.is_empty())
}

fn deadlines(
    state: &AppState,
    meeting: &Meeting,
    results: Option<&crate::store::MeetingResults>,
) -> Option<MeetingDeadlines> {
    MeetingDeadlines::of(meeting, results, &state.rules.issues, Timestamp::now(), &state.clock)
}

/// The longest results summary, in characters.
const MAX_SUMMARY_CHARS: usize = 20_000;

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishResults {
    /// What the meeting discussed and decided; plain text, line breaks kept.
    #[schema(min_length = 1)]
    pub summary: String,
}

/// A meeting's published results, with the decree's deadline. Public; 404 until published.
#[utoipa::path(
    get, path = "/api/meetings/{id}/results", tag = "meetings",
    params(("id" = i64, Path, description = "Meeting id")),
    responses((status = 200, body = ResultsView), (status = 404, body = Problem))
)]
pub async fn results(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ResultsView>, ApiError> {
    let meeting = state.store.meeting(MeetingId(id)).await?;
    let results = state.store.meeting_results(meeting.id).await?.ok_or(ApiError::NotFound("results"))?;
    results_view(&state, &meeting, &results).await.map(Json)
}

/// The results with the meeting's problem issues from the public list, each with its action
/// plan, most supporters first.
async fn results_view(
    state: &AppState,
    meeting: &Meeting,
    results: &crate::store::MeetingResults,
) -> Result<ResultsView, ApiError> {
    let filter = crate::store::IssueFilter {
        meeting: Some(meeting.id),
        public_only: true,
        order: crate::store::IssueOrder::Priority,
        ..Default::default()
    };
    let issues = state.store.issues(&filter).await?;
    Ok(ResultsView {
        meeting_id: meeting.id.0,
        summary: results.summary.clone(),
        published_at: state.clock.format(results.published_at),
        updated_at: state.clock.format(results.updated_at),
        deadlines: deadlines(state, meeting, Some(results)),
        issues: issues.iter().map(|issue| state.issue_view(issue, false)).collect(),
    })
}

/// Publishes (or edits) a meeting's results once it has ended. The first publication's
/// instant is kept, so the ten-day rule can be checked. By the commission, the meeting's akim
/// or an admin.
#[utoipa::path(
    put, path = "/api/meetings/{id}/results", tag = "meetings",
    params(("id" = i64, Path, description = "Meeting id")),
    request_body = PublishResults,
    responses(
        (status = 200, body = ResultsView),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "The meeting has not ended"),
        (status = 422, body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn publish_results(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<PublishResults>,
) -> Result<Json<ResultsView>, ApiError> {
    let meeting = state.store.meeting(MeetingId(id)).await?;
    if !caller.principal.may_publish_results(meeting.akim) {
        return Err(ApiError::Forbidden("the commission, the meeting's akim and admins publish its results"));
    }
    let account = caller.staff()?.id;
    if meeting.phases.ended_at.is_none() {
        return Err(ApiError::conflict(
            "meeting_not_ended",
            "results are published after the meeting has ended",
        ));
    }
    let summary = kezdesu_core::text::clean(&request.summary, MAX_SUMMARY_CHARS, true)
        .map_err(|error| ApiError::invalid("invalid_summary", format!("summary {error}")))?;
    if summary.is_empty() {
        return Err(ApiError::invalid("invalid_summary", "summary must not be empty"));
    }
    let results =
        state.store.publish_meeting_results(meeting.id, &summary, account, Timestamp::now()).await?;
    tracing::info!(meeting = %meeting.id, "meeting results published");
    results_view(&state, &meeting, &results).await.map(Json)
}

/// Changes a meeting's plan, or cancels it. By an admin or the meeting's akim.
#[utoipa::path(
    patch, path = "/api/meetings/{id}", tag = "meetings",
    params(("id" = i64, Path, description = "Meeting id")),
    request_body = UpdateMeeting,
    responses(
        (status = 200, body = MeetingView),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "The meeting has begun, or was changed meanwhile"),
        (status = 422, body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<UpdateMeeting>,
) -> Result<Json<MeetingView>, ApiError> {
    caller.staff()?;
    let mut meeting = state.store.meeting(MeetingId(id)).await?;
    if !caller.principal.may_edit_meeting(meeting.akim) {
        return Err(ApiError::Forbidden("only admins and the meeting's akim edit a meeting"));
    }
    let now = Timestamp::now();
    let current = view(&state, &meeting);
    let current_start = meeting.planned_start;
    let changes_plan = request.territory_id.is_some()
        || request.akim_account_id.is_some()
        || request.planned_start.is_some()
        || request.planned_minutes.is_some()
        || request.kind.is_some()
        || request.status.is_some();
    if changes_plan && current.phase != Phase::Scheduled {
        return Err(ApiError::conflict(
            "meeting_started",
            "only the title, place and online link can change once the meeting has begun",
        ));
    }
    if let Some(title) = &request.title {
        meeting.title = clean_title(title)?;
    }
    if let Some(id) = request.territory_id {
        meeting.territory = check_territory(&state, id).await?;
    }
    if let Some(id) = request.akim_account_id {
        if !caller.principal.is_admin() {
            return Err(ApiError::Forbidden("only admins hand a meeting to another akim"));
        }
        meeting.akim = check_akim(&state, id).await?;
    }
    if let Some(text) = &request.planned_start {
        meeting.planned_start = check_planned_start(parse_instant("planned_start", text)?, now)?;
    }
    if let Some(minutes) = request.planned_minutes {
        meeting.planned_minutes = check_minutes(&state, minutes)?;
    }
    if let Some(kind) = request.kind {
        meeting.kind = kind;
    }
    if let Some(place) = &request.place {
        meeting.place = check_place(place)?;
    }
    if let Some(link) = &request.online_link {
        meeting.online_link = check_online_link(link)?;
    }
    // An announced meeting moved to another day (or made a calendar one) is announced anew,
    // and the lead time counts again from today.
    let moved = state.clock.day(meeting.planned_start) != state.clock.day(current_start)
        || (request.kind == Some(MeetingKind::Calendar) && current.kind != MeetingKind::Calendar);
    let cancelling = request.status == Some(MeetingStatus::Cancelled);
    if meeting.announced_at.is_some() && moved && !cancelling {
        meeting.announced_late = !check_lead_time(&state, &meeting, now).await?;
        meeting.announced_at = Some(now);
    }
    match request.status {
        None => {}
        Some(MeetingStatus::Cancelled) => meeting.cancelled_at = meeting.cancelled_at.or(Some(now)),
        Some(MeetingStatus::Scheduled) => meeting.cancelled_at = None,
        Some(other) => {
            return Err(ApiError::invalid(
                "invalid_status",
                format!(
                    "status can be set to cancelled or scheduled, not {other:?}; the phase endpoint runs the meeting"
                ),
            ));
        }
    }
    let meeting = state.store.update_meeting(&meeting, now).await?;
    // The room, if open, re-reads the plan and tells the subscribers.
    state.rooms.refresh(meeting.id).await;
    Ok(Json(view(&state, &meeting)))
}

/// Announces a meeting to the population. A calendar meeting must be announced at least the
/// rule set's lead time ahead for its akim's level (14 days for district akims and above, 7 for
/// villages, settlements, rural okrugs and districts in a city), or it is refused with 409
/// `announcement_too_late`; an unscheduled meeting may be announced later, and is marked
/// `announced_late`. Announcing again changes nothing. By an admin or the meeting's akim.
#[utoipa::path(
    post, path = "/api/meetings/{id}/announce", tag = "meetings",
    params(("id" = i64, Path, description = "Meeting id")),
    responses(
        (status = 200, body = MeetingView),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "Too late for a calendar meeting, or the meeting has begun"),
    ),
    security(("bearer" = []))
)]
pub async fn announce(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<MeetingView>, ApiError> {
    let mut meeting = state.store.meeting(MeetingId(id)).await?;
    if !caller.principal.may_edit_meeting(meeting.akim) {
        return Err(ApiError::Forbidden("only admins and the meeting's akim announce a meeting"));
    }
    if meeting.announced_at.is_some() {
        return Ok(Json(view(&state, &meeting)));
    }
    if view(&state, &meeting).status != MeetingStatus::Scheduled {
        return Err(ApiError::conflict("meeting_started", "only a meeting still to come is announced"));
    }
    let now = Timestamp::now();
    meeting.announced_late = !check_lead_time(&state, &meeting, now).await?;
    meeting.announced_at = Some(now);
    let meeting = state.store.update_meeting(&meeting, now).await?;
    state.rooms.refresh(meeting.id).await;
    tracing::info!(meeting = %meeting.id, late = meeting.announced_late, "meeting announced");
    Ok(Json(view(&state, &meeting)))
}

/// Checks that announcing `meeting` on `now`'s day respects the lead time for its akim's level:
/// refused (409 `announcement_too_late`) for a calendar meeting, allowed and flagged for an
/// unscheduled one. Answers whether the announcement is on time.
async fn check_lead_time(state: &AppState, meeting: &Meeting, now: Timestamp) -> Result<bool, ApiError> {
    use kezdesu_core::calendar::AnnouncementError;
    // The akim's level is the territory they govern; an akim without one is taken to govern the
    // meeting's territory.
    let akim = state.store.account(meeting.akim).await?;
    let governed = state.store.territory(akim.territory.unwrap_or(meeting.territory)).await?;
    let check = state
        .rules
        .calendar
        .check_announcement(
            governed.kind,
            meeting.kind,
            state.clock.day(now),
            state.clock.day(meeting.planned_start),
        )
        .map_err(|error| match error {
            AnnouncementError::TooLate { .. } => {
                ApiError::conflict("announcement_too_late", error.to_string())
            }
            AnnouncementError::InThePast => ApiError::conflict("meeting_started", error.to_string()),
        })?;
    Ok(check.on_time)
}

/// Moves the session timer: `presentation`, `qa` or `ended`. There is no way back, and the
/// server itself switches to `qa` once the presentation's share of the planned time is spent.
#[utoipa::path(
    post, path = "/api/meetings/{id}/phase", tag = "meetings",
    params(("id" = i64, Path, description = "Meeting id")),
    request_body = ChangePhase,
    responses(
        (status = 200, body = MeetingView),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "The phase cannot be entered from the current one"),
        (status = 422, body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn change_phase(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<ChangePhase>,
) -> Result<Json<MeetingView>, ApiError> {
    if request.phase == Phase::Scheduled {
        return Err(ApiError::invalid("invalid_phase", "phase must be presentation, qa or ended"));
    }
    let meeting = state.store.meeting(MeetingId(id)).await?;
    if !caller.principal.may_change_phase(meeting.akim) {
        return Err(ApiError::Forbidden(
            "only the meeting's akim, moderators and admins run the session timer",
        ));
    }
    let meeting = state.rooms.enter_phase(meeting.id, request.phase).await?;
    if meeting.phases.ended_at.is_some() {
        state.recordings.meeting_ended();
    }
    Ok(Json(view(&state, &meeting)))
}

/// Server-Sent Events of a meeting: `snapshot` (a `MeetingView`) on connect, then
/// `phase_changed` (a `PhaseChangedEvent`) on every change of phase and `meeting_updated` (a
/// `MeetingView`) when the plan is edited, `broadcast` (a `BroadcastStatus`) when the meeting
/// goes on or off air or its audience changes, and `restream` (a `RestreamStatus`) when a
/// restream destination's state changes. Public; 503 when the server holds its maximum of
/// open streams.
#[utoipa::path(
    get, path = "/api/meetings/{id}/events", tag = "meetings",
    params(("id" = i64, Path, description = "Meeting id")),
    responses(
        (status = 200, content_type = "text/event-stream", body = PhaseChangedEvent),
        (status = 404, body = Problem),
    )
)]
pub async fn events(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    if state.metrics.event_subscribers.get() >= state.config.server.max_event_streams {
        return Err(ApiError::Unavailable);
    }
    // Subscribed before the snapshot is taken, so that no change falls between them.
    let broadcast_changes = state.media.changes();
    let restream_changes = state.egress.changes();
    let platform_changes = state.platforms.changes();
    let subscription = state.rooms.subscribe(MeetingId(id)).await?;
    let mut snapshot = view(&state, &subscription.meeting);
    snapshot.restream = restream_of(&state, subscription.meeting.id);
    snapshot.platforms = platforms_of(&state, subscription.meeting.id).await?;
    let snapshot = serde_json::to_string(&snapshot).map_err(|error| ApiError::Internal(error.to_string()))?;
    let first = stream::once(async move { Ok(Event::default().event("snapshot").data(snapshot)) });
    let changes = BroadcastStream::new(subscription.events).map(|item| {
        Ok(match item {
            Ok(event) => Event::default().event(event.name).data(&*event.json),
            // The client missed events; tell it to fetch the meeting again.
            Err(BroadcastStreamRecvError::Lagged(missed)) => {
                Event::default().event("lagged").data(missed.to_string())
            }
        })
    });
    let meeting = subscription.meeting.id;
    let broadcasts = BroadcastStream::new(broadcast_changes).filter_map(move |change| {
        std::future::ready(match change {
            Ok(change) if change.meeting == meeting => {
                Some(Ok(Event::default().event("broadcast").data(&*change.json)))
            }
            Ok(_) => None,
            Err(BroadcastStreamRecvError::Lagged(missed)) => {
                Some(Ok(Event::default().event("lagged").data(missed.to_string())))
            }
        })
    });
    let restreams = BroadcastStream::new(restream_changes).filter_map(move |change| {
        std::future::ready(match change {
            Ok(change) if change.meeting == meeting => {
                Some(Ok(Event::default().event("restream").data(&*change.json)))
            }
            Ok(_) => None,
            Err(BroadcastStreamRecvError::Lagged(missed)) => {
                Some(Ok(Event::default().event("lagged").data(missed.to_string())))
            }
        })
    });
    let platforms = BroadcastStream::new(platform_changes).filter_map(move |change| {
        std::future::ready(match change {
            Ok(change) if change.meeting == meeting => {
                Some(Ok(Event::default().event("platform").data(&*change.json)))
            }
            Ok(_) => None,
            Err(BroadcastStreamRecvError::Lagged(missed)) => {
                Some(Ok(Event::default().event("lagged").data(missed.to_string())))
            }
        })
    });
    let broadcasts =
        futures_util::stream::select(futures_util::stream::select(broadcasts, restreams), platforms);
    // The stream ends when the room's events end (the room closed): the client reconnects and
    // gets a fresh snapshot. Broadcast changes alone never keep it open.
    let room_ended = stream::once(std::future::ready(None));
    let changes = futures_util::stream::select(changes.map(Some).chain(room_ended), broadcasts.map(Some))
        .take_while(|item| std::future::ready(item.is_some()))
        .filter_map(std::future::ready);
    let subscribers = SubscriberCount::new(&state);
    let shutdown = state.shutdown.clone().cancelled_owned();
    let stream = first.chain(changes).take_until(shutdown).map(move |event| {
        let _held_until_the_stream_ends = &subscribers;
        event
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// Counts an open event stream in the metrics for as long as it lives.
struct SubscriberCount(prometheus_client::metrics::gauge::Gauge);

impl SubscriberCount {
    fn new(state: &AppState) -> SubscriberCount {
        state.metrics.event_subscribers.inc();
        SubscriberCount(state.metrics.event_subscribers.clone())
    }
}

impl Drop for SubscriberCount {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct ModerationLog {
    pub meeting_id: i64,
    /// How many actions of each kind were taken.
    pub by_action: Vec<ActionCount>,
    /// How many comments were hidden for each reason.
    pub hidden_by_reason: Vec<ReasonCount>,
    /// For each platform the meeting's comments came from besides Kezdesu's page: how many
    /// came, and how many were held, hidden or made questions.
    pub by_platform: Vec<PlatformCount>,
    /// Actions by moderators and by automatic rules, counted apart.
    pub by_actor: ActorCounts,
    /// How many times each automatic rule acted.
    pub by_rule: Vec<RuleCount>,
    pub entries: Vec<ModerationLogEntry>,
}

#[derive(Serialize, Deserialize, ToSchema, Default)]
pub struct ActorCounts {
    pub moderators: u64,
    pub rules: u64,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct RuleCount {
    pub rule: String,
    pub count: u64,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct PlatformCount {
    pub platform: kezdesu_core::platforms::SocialPlatform,
    pub comments: u64,
    pub held: u64,
    pub hidden: u64,
    pub promoted: u64,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct ActionCount {
    pub action: String,
    pub count: u64,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct ReasonCount {
    pub reason: String,
    pub count: u64,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct ModerationLogEntry {
    pub at: String,
    /// The moderator's display name: officials act in public. `null` when a rule acted.
    pub moderator: Option<String>,
    /// The automatic rule that acted (its id in `config/moderation/rules.toml`), if one did.
    pub rule: Option<String>,
    pub action: String,
    pub reason: Option<String>,
    /// `comment`, `author`, `question` or `channel`.
    pub target_kind: String,
    pub target_id: Option<i64>,
    /// The text of the comment acted on; shown to admins only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment_text: Option<String>,
}

/// The meeting's moderation log: counts by action and reason, and every action with its
/// moderator, reason, target and time. Public; the text of hidden comments only for admins.
#[utoipa::path(
    get, path = "/api/meetings/{id}/moderation-log", tag = "meetings",
    params(("id" = i64, Path, description = "Meeting id")),
    responses((status = 200, body = ModerationLog), (status = 404, body = Problem))
)]
pub async fn moderation_log(
    State(state): State<AppState>,
    caller: Option<Caller>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ModerationLog>, ApiError> {
    use kezdesu_core::live::{ModerationAction, Target};
    use std::collections::BTreeMap;
    let meeting = state.store.meeting(MeetingId(id)).await?;
    let record = state.rooms.moderation_log(meeting.id).await?;
    let admin = caller.as_ref().is_some_and(|caller| caller.principal.is_admin());
    let mut by_action: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_reason: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_rule: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_actor = ActorCounts::default();
    let entries = record
        .entries
        .iter()
        .map(|entry| {
            let action = wire_name(&entry.action);
            *by_action.entry(action.clone()).or_default() += 1;
            match &entry.rule {
                Some(rule) => {
                    by_actor.rules += 1;
                    *by_rule.entry(rule.clone()).or_default() += 1;
                }
                None => by_actor.moderators += 1,
            }
            if entry.action == ModerationAction::Hide
                && let Some(reason) = &entry.reason
            {
                *by_reason.entry(reason.clone()).or_default() += 1;
            }
            let (target_kind, target_id) = match entry.target {
                Target::Comment(comment) => ("comment", Some(comment.0)),
                Target::Author(viewer) => ("author", Some(viewer.0)),
                Target::Question(question) => ("question", Some(question.0)),
                Target::Channel => ("channel", None),
            };
            let comment_text = match entry.target {
                Target::Comment(comment) if admin => record.hidden_texts.get(&comment).cloned(),
                _ => None,
            };
            ModerationLogEntry {
                at: state.clock.format(entry.at),
                moderator: entry.moderator.as_ref().map(|moderator| moderator.name.clone()),
                rule: entry.rule.clone(),
                action,
                reason: entry.reason.clone(),
                target_kind: target_kind.to_owned(),
                target_id,
                comment_text,
            }
        })
        .collect();
    Ok(Json(ModerationLog {
        meeting_id: meeting.id.0,
        by_action: by_action.into_iter().map(|(action, count)| ActionCount { action, count }).collect(),
        hidden_by_reason: by_reason
            .into_iter()
            .map(|(reason, count)| ReasonCount { reason, count })
            .collect(),
        by_platform: record
            .by_platform
            .into_iter()
            .map(|(platform, counts)| PlatformCount {
                platform,
                comments: counts.comments,
                held: counts.held,
                hidden: counts.hidden,
                promoted: counts.promoted,
            })
            .collect(),
        by_actor,
        by_rule: by_rule.into_iter().map(|(rule, count)| RuleCount { rule, count }).collect(),
        entries,
    }))
}

/// The name of a unit enum value as it goes over the wire (`time_out`).
fn wire_name<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct IssueList {
    pub issues: Vec<IssueView>,
}

/// A question of the meeting, as a problem issue of its issue list.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct IssueView {
    /// The question's number within the meeting.
    pub question: i64,
    pub text: String,
    /// `queued`, `on_air`, `answered`, `dismissed` or `merged`.
    pub state: String,
    /// The answer summary, the dismissal reason, or the question it was merged into.
    pub outcome: Option<String>,
    pub votes: i64,
    pub created_at: String,
    /// Every comment the issue was raised in.
    pub sources: Vec<IssueSourceView>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct IssueSourceView {
    pub comment: i64,
    pub author_name: String,
    pub text: String,
    pub posted_at: String,
    /// Where the comment was written, when on a social-media platform: the platform, its id of
    /// the comment and a link to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<kezdesu_core::platforms::CommentSource>,
}

/// The problem issues raised as questions in the meeting, with their source comments. Public.
#[utoipa::path(
    get, path = "/api/meetings/{id}/issues", tag = "meetings",
    params(("id" = i64, Path, description = "Meeting id")),
    responses((status = 200, body = IssueList), (status = 404, body = Problem))
)]
pub async fn issues(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<IssueList>, ApiError> {
    let meeting = state.store.meeting(MeetingId(id)).await?;
    let issues = state.store.problem_issues(meeting.id).await?;
    let clock = &state.clock;
    Ok(Json(IssueList {
        issues: issues
            .into_iter()
            .map(|issue| IssueView {
                question: issue.question,
                text: issue.text,
                state: issue.state,
                outcome: issue.outcome,
                votes: issue.votes,
                created_at: clock.format(issue.created_at),
                sources: issue
                    .sources
                    .into_iter()
                    .map(|source| IssueSourceView {
                        comment: source.comment,
                        author_name: source.author_name,
                        text: source.text,
                        posted_at: clock.format(source.posted_at),
                        source: source.source.map(|source| source.public()),
                    })
                    .collect(),
            })
            .collect(),
    }))
}
