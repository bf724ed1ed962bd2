//! Akims' yearly calendars: revisions drafted, agreed with the maslikhat and submitted, and the
//! validation of each against the rule set (coverage per period and territory, and whether the
//! decree's deadlines were met).
//!
//! Revisions in force (agreed or submitted) are public, like the calendar itself; drafts are
//! read and changed only by the akim's office and admins.

use super::caller::Caller;
use super::problem::{ApiJson, ApiPath};
use super::{ApiError, AppState, Problem};
use crate::store::{Account, CalendarRevision, NewRevision, RevisionFilter, StoreError};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::Timestamp;
use jiff::civil::{Date, Time};
use kezdesu_core::calendar::{PeriodCoverage, PlannedMeeting, Unit, coverage};
use kezdesu_core::yearly::{
    ApprovalError, ApprovalStep, CorrectionError, DeadlineReport, Entry, RevisionState, approve,
    check_entries, check_new_revision, deadline_report,
};
use kezdesu_core::{AccountId, LocalizedText, Principal, Role, TerritoryId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The largest calendar body accepted: `MAX_ENTRIES` entries of a few hundred bytes each.
pub const MAX_CALENDAR_BYTES: usize = 2 * 1024 * 1024;

/// A planned meeting of a calendar.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntryView {
    /// The territory the meeting is held in: the akim's own or one inside it.
    pub territory_id: i64,
    /// `YYYY-MM-DD`, in the calendar's year.
    pub date: String,
    /// The local start time, `HH:MM`, if known.
    #[serde(default)]
    pub time: Option<String>,
    pub place: String,
    /// Where it is streamed: an http(s) address, or empty.
    #[serde(default)]
    pub online_link: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct RevisionView {
    pub id: i64,
    pub akim_account_id: i64,
    pub territory_id: i64,
    pub year: i16,
    /// 1 for the first; each correction adds one.
    pub revision: u32,
    pub state: RevisionState,
    /// Why this correction was made; empty for the first revision.
    pub reason: String,
    /// The day the maslikhat agreed it.
    pub agreed_on: Option<String>,
    pub maslikhat_decision: Option<String>,
    /// The day it was sent to the Government.
    pub submitted_on: Option<String>,
    pub entries: Vec<EntryView>,
    /// Name it in a change, so that two editors do not overwrite each other.
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct YearCalendarView {
    pub akim_account_id: i64,
    pub akim_name: String,
    /// The territory the akim governs now.
    pub territory_id: i64,
    pub territory_name: LocalizedText,
    pub year: i16,
    /// The revision in force: the latest agreed or submitted one.
    pub in_force: Option<u32>,
    /// Oldest first; drafts only for the akim's office and admins.
    pub revisions: Vec<RevisionView>,
    pub deadlines: DeadlineReport,
}

/// A territory short of meetings in one period.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct CoverageGap {
    pub period: kezdesu_core::calendar::Period,
    pub index: u32,
    pub territory_id: i64,
    pub kato: String,
    pub name: LocalizedText,
    pub required: u32,
    pub planned: u32,
}

/// A revision checked against the rule set.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ValidationReport {
    pub revision_id: i64,
    pub revision: u32,
    pub year: i16,
    /// The rule set applied (`id` and `version`).
    pub rule_set: String,
    /// For each period and each territory the akim must cover: meetings required and planned.
    pub periods: Vec<PeriodCoverage>,
    /// Every gap, named.
    pub gaps: Vec<CoverageGap>,
    /// Whether the year's calendar was agreed and submitted in time.
    pub deadlines: DeadlineReport,
}

fn entry_view(entry: &Entry) -> EntryView {
    EntryView {
        territory_id: entry.territory.0,
        date: entry.on.to_string(),
        time: entry.starts_at.map(|time| time.strftime("%H:%M").to_string()),
        place: entry.place.clone(),
        online_link: entry.online_link.clone(),
    }
}

fn revision_view(state: &AppState, revision: &CalendarRevision) -> RevisionView {
    RevisionView {
        id: revision.id,
        akim_account_id: revision.akim.0,
        territory_id: revision.territory.0,
        year: revision.year,
        revision: revision.revision,
        state: revision.approval.state,
        reason: revision.reason.clone(),
        agreed_on: revision.approval.agreed_on.map(|day| day.to_string()),
        maslikhat_decision: revision.approval.maslikhat_decision.clone(),
        submitted_on: revision.approval.submitted_on.map(|day| day.to_string()),
        entries: revision.entries.iter().map(entry_view).collect(),
        version: revision.version,
        created_at: state.clock.format(revision.created_at),
        updated_at: state.clock.format(revision.updated_at),
    }
}

fn parse_day(field: &str, text: &str) -> Result<Date, ApiError> {
    text.trim()
        .parse()
        .map_err(|_| ApiError::invalid("invalid_date", format!("{field} is a day, YYYY-MM-DD; got {text:?}")))
}

/// A year a calendar or the dashboard may be about.
pub(crate) fn check_year(year: i16) -> Result<i16, ApiError> {
    if (2000..=2199).contains(&year) {
        Ok(year)
    } else {
        Err(ApiError::invalid("invalid_year", "the year must be 2000 to 2199"))
    }
}

/// The akim, who must govern a territory for a calendar to mean anything.
async fn calendar_akim(state: &AppState, id: i64) -> Result<(Account, TerritoryId), ApiError> {
    let akim = match state.store.account(AccountId(id)).await {
        Ok(account) if account.role == Role::Akim => account,
        Ok(_) | Err(StoreError::NotFound(_)) => return Err(ApiError::NotFound("akim")),
        Err(other) => return Err(other.into()),
    };
    let governed = akim.territory.ok_or_else(|| {
        ApiError::conflict("no_territory", "the akim governs no territory yet; an admin sets territory_id")
    })?;
    Ok((akim, governed))
}

/// Reads the planned meetings sent, and checks them all for `year` within `governed`.
async fn entries_from(
    state: &AppState,
    views: Vec<EntryView>,
    year: i16,
    governed: TerritoryId,
) -> Result<Vec<Entry>, ApiError> {
    if views.len() > kezdesu_core::yearly::MAX_ENTRIES {
        return Err(ApiError::invalid(
            "too_many_entries",
            format!("a calendar plans at most {} meetings", kezdesu_core::yearly::MAX_ENTRIES),
        ));
    }
    let mut problems = Vec::new();
    let mut entries = Vec::with_capacity(views.len());
    for (index, view) in views.into_iter().enumerate() {
        let on = parse_day("date", &view.date);
        let starts_at = match view.time.as_deref().map(str::trim).filter(|text| !text.is_empty()) {
            None => Ok(None),
            Some(text) => text.parse::<Time>().map(Some).map_err(|_| ()),
        };
        match (on, starts_at) {
            (Ok(on), Ok(starts_at)) => entries.push(Entry {
                territory: TerritoryId(view.territory_id),
                on,
                starts_at,
                place: view.place,
                online_link: view.online_link,
            }),
            _ => problems.push(format!("entries[{index}]: date is YYYY-MM-DD and time HH:MM")),
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::invalid("invalid_entries", problems.join("; ")));
    }
    let covered = state.territory_and_inside(governed).await?;
    check_entries(entries, year, &covered).map_err(|errors| {
        let detail: Vec<String> = errors.iter().map(ToString::to_string).collect();
        ApiError::invalid("invalid_entries", detail.join("; "))
    })
}

fn may_read(principal: Option<&Principal>, revision: &CalendarRevision) -> bool {
    revision.approval.state.in_force()
        || principal.is_some_and(|principal| principal.may_keep_calendar(revision.akim))
}

async fn deadlines_of(
    state: &AppState,
    akim_territory: TerritoryId,
    revisions: &[CalendarRevision],
    year: i16,
) -> Result<DeadlineReport, ApiError> {
    let kind = state.store.territory(akim_territory).await?.kind;
    let approvals: Vec<_> = revisions.iter().map(|revision| revision.approval.clone()).collect();
    Ok(deadline_report(
        &state.rules.calendar,
        state.rules.calendar.approves_calendar(kind),
        year,
        &approvals,
        state.today(),
    ))
}

/// An akim's calendar for a year: every revision, the one in force, and whether the decree's
/// deadlines (agreed by 15 January, submitted by 20 January, in the shipped rules) were met.
/// Public for revisions in force; drafts for the akim's office and admins.
#[utoipa::path(
    get, path = "/api/akims/{id}/calendars/{year}", tag = "calendars",
    params(("id" = i64, Path, description = "The akim's account id"), ("year" = i16, Path, description = "The year", minimum = 2000, maximum = 2199)),
    responses(
        (status = 200, body = YearCalendarView),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem),
    )
)]
pub async fn year(
    State(state): State<AppState>,
    caller: Option<Caller>,
    ApiPath((id, year)): ApiPath<(i64, i16)>,
) -> Result<Json<YearCalendarView>, ApiError> {
    let year = check_year(year)?;
    let (akim, governed) = calendar_akim(&state, id).await?;
    let revisions = state.store.revisions(RevisionFilter { akim: Some(akim.id), year: Some(year) }).await?;
    // The year's level is the territory its calendar was made for, once there is one.
    let level_of = revisions.first().map_or(governed, |first| first.territory);
    let deadlines = deadlines_of(&state, level_of, &revisions, year).await?;
    let principal = caller.map(|caller| caller.principal);
    let in_force = revisions
        .iter()
        .filter(|revision| revision.approval.state.in_force())
        .map(|revision| revision.revision)
        .max();
    let territory = state.store.territory(governed).await?;
    Ok(Json(YearCalendarView {
        akim_account_id: akim.id.0,
        akim_name: akim.display_name.clone(),
        territory_id: territory.id.0,
        territory_name: territory.name,
        year,
        in_force,
        revisions: revisions
            .iter()
            .filter(|revision| may_read(principal.as_ref(), revision))
            .map(|revision| revision_view(&state, revision))
            .collect(),
        deadlines,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartRevision {
    /// The revision number last seen (none for the year's first): a correction started by
    /// somebody else meanwhile makes this one fail with 409 `edit_conflict`.
    pub after: Option<u32>,
    /// Why the calendar is corrected; required for a correction.
    #[serde(default)]
    pub reason: String,
    /// The planned meetings of the year's first revision. A correction starts from the
    /// meetings of the revision before it.
    #[serde(default)]
    pub entries: Vec<EntryView>,
}

/// Starts a revision of an akim's calendar as a draft: the year's first, or a correction of
/// the one before (which must have been agreed: 409 `draft_open` otherwise). By the akim or an
/// admin.
#[utoipa::path(
    post, path = "/api/akims/{id}/calendars/{year}/revisions", tag = "calendars",
    params(("id" = i64, Path, description = "The akim's account id"), ("year" = i16, Path, description = "The year", minimum = 2000, maximum = 2199)),
    request_body = StartRevision,
    responses(
        (status = 201, body = RevisionView),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn start(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, year)): ApiPath<(i64, i16)>,
    ApiJson(request): ApiJson<StartRevision>,
) -> Result<(StatusCode, Json<RevisionView>), ApiError> {
    let account = caller.staff()?;
    let year = check_year(year)?;
    let (akim, governed) = calendar_akim(&state, id).await?;
    if !caller.principal.may_keep_calendar(akim.id) {
        return Err(ApiError::Forbidden("only the akim and admins keep the akim's calendar"));
    }
    let revisions = state.store.revisions(RevisionFilter { akim: Some(akim.id), year: Some(year) }).await?;
    let latest = revisions.last().map(|revision| (revision.revision, revision.approval.state));
    let reason = check_new_revision(latest, &request.reason).map_err(|error| match error {
        CorrectionError::DraftOpen(_) => ApiError::conflict("draft_open", error.to_string()),
        CorrectionError::Reason => ApiError::invalid("reason_required", error.to_string()),
    })?;
    let entries = match latest {
        None => entries_from(&state, request.entries, year, governed).await?,
        Some(_) if !request.entries.is_empty() => {
            return Err(ApiError::invalid(
                "entries_in_correction",
                "a correction starts from the previous revision's meetings; change them with PUT …/entries",
            ));
        }
        Some(_) => Vec::new(),
    };
    let new = NewRevision {
        akim: akim.id,
        // A correction plans for the territory the year's calendar was made for.
        territory: revisions.last().map_or(governed, |latest| latest.territory),
        year,
        after: request.after,
        reason,
        entries,
        created_by: account.id,
    };
    let revision = state.store.create_revision(new, Timestamp::now()).await?;
    tracing::info!(akim = %akim.id, year, revision = revision.revision, "calendar revision started");
    Ok((StatusCode::CREATED, Json(revision_view(&state, &revision))))
}

/// A revision, for those who may read it.
async fn readable_revision(
    state: &AppState,
    principal: Option<&Principal>,
    id: i64,
) -> Result<CalendarRevision, ApiError> {
    let revision = state.store.revision(id).await?;
    if may_read(principal, &revision) { Ok(revision) } else { Err(ApiError::NotFound("calendar revision")) }
}

/// One revision. Drafts only for the akim's office and admins.
#[utoipa::path(
    get, path = "/api/calendar-revisions/{id}", tag = "calendars",
    params(("id" = i64, Path, description = "Revision id")),
    responses((status = 200, body = RevisionView), (status = 404, body = Problem))
)]
pub async fn show(
    State(state): State<AppState>,
    caller: Option<Caller>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<RevisionView>, ApiError> {
    let principal = caller.map(|caller| caller.principal);
    Ok(Json(revision_view(&state, &readable_revision(&state, principal.as_ref(), id).await?)))
}

/// A revision the caller keeps.
async fn kept_revision(state: &AppState, caller: &Caller, id: i64) -> Result<CalendarRevision, ApiError> {
    caller.staff()?;
    let revision = readable_revision(state, Some(&caller.principal), id).await?;
    if !caller.principal.may_keep_calendar(revision.akim) {
        return Err(ApiError::Forbidden("only the akim and admins keep the akim's calendar"));
    }
    Ok(revision)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplaceEntries {
    /// The version read; a change made meanwhile makes this one fail with 409 `edit_conflict`.
    pub version: i64,
    pub entries: Vec<EntryView>,
}

/// Replaces the planned meetings of a draft; an agreed revision is frozen (409
/// `revision_frozen`), and is corrected by a new revision.
#[utoipa::path(
    put, path = "/api/calendar-revisions/{id}/entries", tag = "calendars",
    params(("id" = i64, Path, description = "Revision id")),
    request_body = ReplaceEntries,
    responses(
        (status = 200, body = RevisionView),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn replace_entries(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<ReplaceEntries>,
) -> Result<Json<RevisionView>, ApiError> {
    let revision = kept_revision(&state, &caller, id).await?;
    if revision.approval.state != RevisionState::Draft {
        return Err(ApiError::conflict(
            "revision_frozen",
            "an agreed revision does not change; start a correction (a new revision) instead",
        ));
    }
    let entries = entries_from(&state, request.entries, revision.year, revision.territory).await?;
    let saved = state
        .store
        .replace_calendar_entries(revision.id, request.version, &entries, Timestamp::now())
        .await?;
    Ok(Json(revision_view(&state, &saved)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgreeRevision {
    /// The version read.
    pub version: i64,
    /// The day of the maslikhat's decision, `YYYY-MM-DD`.
    #[schema(format = Date)]
    pub agreed_on: String,
    /// The decision's number.
    pub maslikhat_decision: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitRevision {
    /// The version read.
    pub version: i64,
    /// The day it was sent to the Government, `YYYY-MM-DD`; today if left out.
    #[schema(format = Date)]
    pub submitted_on: Option<String>,
}

async fn take_step(
    state: &AppState,
    revision: CalendarRevision,
    version: i64,
    step: ApprovalStep,
) -> Result<Json<RevisionView>, ApiError> {
    // A correction is agreed no earlier than the revision before it.
    let previous_agreement = state
        .store
        .revisions(RevisionFilter { akim: Some(revision.akim), year: Some(revision.year) })
        .await?
        .iter()
        .filter(|earlier| earlier.revision < revision.revision)
        .filter_map(|earlier| earlier.approval.agreed_on)
        .max();
    let approval = approve(&revision.approval, step, revision.year, previous_agreement, state.today())
        .map_err(|error| match error {
            ApprovalError::NotDraft(_) => ApiError::conflict("not_a_draft", error.to_string()),
            ApprovalError::NotAgreed(_) => ApiError::conflict("not_agreed", error.to_string()),
            ApprovalError::Decision => ApiError::invalid("invalid_decision", error.to_string()),
            ApprovalError::InTheFuture(_)
            | ApprovalError::BeforeAgreement { .. }
            | ApprovalError::BeforePreviousAgreement { .. }
            | ApprovalError::OutsideYear => ApiError::invalid("invalid_date", error.to_string()),
        })?;
    let saved = state.store.set_calendar_approval(revision.id, version, &approval, Timestamp::now()).await?;
    tracing::info!(revision = saved.id, state = saved.approval.state.as_str(), "calendar revision approved");
    Ok(Json(revision_view(state, &saved)))
}

/// Records the maslikhat's agreement of a draft: the day and the decision's number. The
/// revision is then in force and frozen.
#[utoipa::path(
    post, path = "/api/calendar-revisions/{id}/agree", tag = "calendars",
    params(("id" = i64, Path, description = "Revision id")),
    request_body = AgreeRevision,
    responses(
        (status = 200, body = RevisionView),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn agree(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<AgreeRevision>,
) -> Result<Json<RevisionView>, ApiError> {
    let revision = kept_revision(&state, &caller, id).await?;
    let step = ApprovalStep::Agree {
        on: parse_day("agreed_on", &request.agreed_on)?,
        decision: request.maslikhat_decision,
    };
    take_step(&state, revision, request.version, step).await
}

/// Records that an agreed revision was sent to the Government.
#[utoipa::path(
    post, path = "/api/calendar-revisions/{id}/submit", tag = "calendars",
    params(("id" = i64, Path, description = "Revision id")),
    request_body = SubmitRevision,
    responses(
        (status = 200, body = RevisionView),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn submit(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<SubmitRevision>,
) -> Result<Json<RevisionView>, ApiError> {
    let revision = kept_revision(&state, &caller, id).await?;
    let on = match request.submitted_on.as_deref() {
        Some(text) => parse_day("submitted_on", text)?,
        None => state.today(),
    };
    take_step(&state, revision, request.version, ApprovalStep::Submit { on }).await
}

/// Checks a revision against the rule set for its akim's level: for every period and every
/// territory to cover, the meetings required and planned, with every gap named; and whether the
/// year's calendar met its deadlines.
#[utoipa::path(
    get, path = "/api/calendar-revisions/{id}/validation", tag = "calendars",
    params(("id" = i64, Path, description = "Revision id")),
    responses((status = 200, body = ValidationReport), (status = 404, body = Problem))
)]
pub async fn validation(
    State(state): State<AppState>,
    caller: Option<Caller>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ValidationReport>, ApiError> {
    let principal = caller.map(|caller| caller.principal);
    let revision = readable_revision(&state, principal.as_ref(), id).await?;
    let territories = state.store.territories().await?;
    let units: Vec<Unit> = territories.iter().map(crate::store::Territory::unit).collect();
    let akim_unit = units
        .iter()
        .find(|unit| unit.id == revision.territory)
        .copied()
        .ok_or(ApiError::NotFound("territory"))?;
    let planned: Vec<PlannedMeeting> = revision
        .entries
        .iter()
        .map(|entry| PlannedMeeting { territory: entry.territory, on: entry.on })
        .collect();
    let periods = coverage(&state.rules.calendar, akim_unit, &units, &planned, revision.year);
    let gaps = periods
        .iter()
        .flat_map(|period| period.gaps().map(move |unit| (period, unit)))
        .filter_map(|(period, unit)| {
            let territory = territories.iter().find(|territory| territory.id == unit.territory)?;
            Some(CoverageGap {
                period: period.period,
                index: period.index,
                territory_id: territory.id.0,
                kato: territory.kato.clone(),
                name: territory.name.clone(),
                required: unit.required,
                planned: unit.planned,
            })
        })
        .collect();
    let year_revisions = state
        .store
        .revisions(RevisionFilter { akim: Some(revision.akim), year: Some(revision.year) })
        .await?;
    let deadlines = deadlines_of(&state, revision.territory, &year_revisions, revision.year).await?;
    Ok(Json(ValidationReport {
        revision_id: revision.id,
        revision: revision.revision,
        year: revision.year,
        rule_set: format!("{} v{}", state.rules.id, state.rules.version),
        periods,
        gaps,
        deadlines,
    }))
}
