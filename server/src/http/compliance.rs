//! The compliance dashboard: for each akim and period, how the decree was kept. Public, like
//! the figures it is made of; as JSON or CSV.
//!
//! The figures are the core's `compliance::figures`, from what the store holds: the meetings
//! each akim held (the session timer's record), their announcements and results, and the
//! progress reports on the issues raised at them.

use super::problem::ApiQuery;
use super::register::io::{attach, cell};
use super::{ApiError, AppState, Problem};
use crate::store::{Meeting, MeetingFilter, Territory};
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use kezdesu_core::calendar::{Period, Unit};
use kezdesu_core::compliance::{
    ActedIssue, Announced, ComplianceInput, HeldMeeting, PeriodFigures, Ratio, figures,
};
use kezdesu_core::{AccountId, LocalizedText, MeetingId, Role, SessionTimer, TerritoryId};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ComplianceQuery {
    /// The calendar year, e.g. 2027.
    #[param(minimum = 2000, maximum = 2199)]
    pub year: i16,
    /// `quarter` (default), `half_year` or `year`.
    pub period: Option<Period>,
    /// Only the akims governing this territory or one inside it.
    pub territory_id: Option<i64>,
    /// Only this akim.
    pub akim_account_id: Option<i64>,
    /// `json` (default) or `csv`.
    #[param(pattern = "^(json|csv)$")]
    pub format: Option<String>,
}

/// One akim's figures for the year.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct AkimCompliance {
    pub akim_account_id: i64,
    pub akim_name: String,
    pub territory_id: i64,
    pub territory_kato: String,
    pub territory_name: LocalizedText,
    pub periods: Vec<PeriodFigures>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct ComplianceReport {
    pub year: i16,
    pub period: Period,
    /// The rule set applied (`id` and `version`).
    pub rule_set: String,
    /// The day the figures are counted on: deadlines after it are pending, not missed.
    pub as_of: String,
    pub akims: Vec<AkimCompliance>,
}

/// What the dashboard reads of a meeting.
fn held(state: &AppState, meeting: &Meeting, published: Option<jiff::Timestamp>) -> Option<HeldMeeting> {
    let started = meeting.phases.presentation_started_at.or(meeting.phases.qa_started_at)?;
    if meeting.cancelled_at.is_some() {
        return None;
    }
    let split_kept = SessionTimer::new(meeting.planned_minutes, meeting.presentation_share, meeting.phases)
        .ok()
        .and_then(|timer| timer.compliance())
        .map(|compliance| compliance.split_kept);
    Some(HeldMeeting {
        territory: meeting.territory,
        kind: meeting.kind,
        started_on: state.clock.day(started),
        ended_on: meeting.phases.ended_at.map(|at| state.clock.day(at)),
        announced: match (meeting.announced_at, meeting.announced_late) {
            (None, _) => Announced::Not,
            (Some(_), false) => Announced::OnTime,
            (Some(_), true) => Announced::Late,
        },
        split_kept,
        results_published_on: published.map(|at| state.clock.day(at)),
    })
}

/// The report, from `territories` (the whole tree, read once by the caller).
async fn report(
    state: &AppState,
    query: &ComplianceQuery,
    territories: &[Territory],
) -> Result<ComplianceReport, ApiError> {
    super::yearly::check_year(query.year)?;
    let period = query.period.unwrap_or(Period::Quarter);
    let units: Vec<Unit> = territories.iter().map(crate::store::Territory::unit).collect();
    let within = match query.territory_id {
        Some(root) => {
            // An unknown territory is a 404, not an empty dashboard.
            state.store.territory(TerritoryId(root)).await?;
            Some(super::territories::inside(territories, TerritoryId(root)))
        }
        None => None,
    };
    let akims: Vec<_> = state
        .store
        .accounts()
        .await?
        .into_iter()
        .filter(|account| account.role == Role::Akim)
        .filter(|account| query.akim_account_id.is_none_or(|id| account.id == AccountId(id)))
        .filter_map(|account| {
            let governed = account.territory?;
            let inside = within.as_ref().is_none_or(|within| within.contains(&governed));
            inside.then_some((account, governed))
        })
        .collect();

    let meetings = state
        .store
        .meetings(MeetingFilter { status: None, territory: None, from: None, to: None, limit: u32::MAX })
        .await?;
    let ids: Vec<MeetingId> = meetings.iter().map(|meeting| meeting.id).collect();
    let published: HashMap<MeetingId, jiff::Timestamp> = state
        .store
        .meeting_results_of(&ids)
        .await?
        .into_iter()
        .map(|results| (results.meeting, results.published_at))
        .collect();
    // Each akim's meetings held and issues acted on, in one pass over each.
    let mut held_by: HashMap<AccountId, Vec<HeldMeeting>> = HashMap::new();
    for meeting in &meetings {
        if let Some(held) = held(state, meeting, published.get(&meeting.id).copied()) {
            held_by.entry(meeting.akim).or_default().push(held);
        }
    }
    let akim_of: HashMap<MeetingId, AccountId> =
        meetings.iter().map(|meeting| (meeting.id, meeting.akim)).collect();
    let mut acted_by: HashMap<AccountId, Vec<ActedIssue>> = HashMap::new();
    for issue in state.store.acted_issue_dates().await? {
        let Some(akim) = akim_of.get(&issue.meeting) else { continue };
        acted_by.entry(*akim).or_default().push(ActedIssue {
            accepted_on: state.clock.day(issue.accepted_at),
            closed_on: issue.closed_at.map(|at| state.clock.day(at)),
            progress_on: issue.progress.iter().map(|at| state.clock.day(*at)).collect(),
        });
    }

    let today = state.today();
    let mut report = Vec::with_capacity(akims.len());
    for (akim, governed) in akims {
        let Some(territory) = territories.iter().find(|territory| territory.id == governed) else { continue };
        let held_meetings = held_by.remove(&akim.id).unwrap_or_default();
        let acted = acted_by.remove(&akim.id).unwrap_or_default();
        let input = ComplianceInput {
            calendar: &state.rules.calendar,
            deadlines: &state.rules.issues,
            akim: territory.unit(),
            territories: &units,
            meetings: &held_meetings,
            issues: &acted,
        };
        report.push(AkimCompliance {
            akim_account_id: akim.id.0,
            akim_name: akim.display_name.clone(),
            territory_id: territory.id.0,
            territory_kato: territory.kato.clone(),
            territory_name: territory.name.clone(),
            periods: figures(&input, period, query.year, today),
        });
    }
    Ok(ComplianceReport {
        year: query.year,
        period,
        rule_set: format!("{} v{}", state.rules.id, state.rules.version),
        as_of: today.to_string(),
        akims: report,
    })
}

const CSV_COLUMNS: [&str; 31] = [
    "akim_account_id",
    "akim_name",
    "territory_kato",
    "territory_name",
    "period",
    "index",
    "first_day",
    "last_day",
    "meetings_held",
    "coverage_done",
    "coverage_owed",
    "coverage_percent",
    "coverage_gaps",
    "announcements_on_time",
    "announcements_owed",
    "announcements_percent",
    "unscheduled",
    "unscheduled_announced_late",
    "split_kept",
    "split_owed",
    "split_percent",
    "results_on_time",
    "results_owed",
    "results_percent",
    "results_pending",
    "progress_on_time",
    "progress_owed",
    "progress_percent",
    "progress_pending",
    "year",
    "rule_set",
];

fn csv_file(report: &ComplianceReport, kato_of: &HashMap<TerritoryId, String>) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let _ = writer.write_record(CSV_COLUMNS);
    let ratio = |ratio: &Ratio| {
        [
            ratio.done.to_string(),
            ratio.owed.to_string(),
            ratio.percent.map(|percent| format!("{percent:.1}")).unwrap_or_default(),
        ]
    };
    for akim in &report.akims {
        for figures in &akim.periods {
            let gaps: Vec<String> = figures
                .coverage_gaps
                .iter()
                .filter_map(|territory| kato_of.get(territory).cloned())
                .collect();
            let mut record = vec![
                akim.akim_account_id.to_string(),
                cell(&akim.akim_name),
                akim.territory_kato.clone(),
                cell(&akim.territory_name.ru),
                figures.period.to_string(),
                figures.index.to_string(),
                figures.first_day.to_string(),
                figures.last_day.to_string(),
                figures.meetings_held.to_string(),
            ];
            record.extend(ratio(&figures.coverage));
            record.push(gaps.join(" "));
            record.extend(ratio(&figures.announcements_on_time));
            record.push(figures.unscheduled.to_string());
            record.push(figures.unscheduled_announced_late.to_string());
            record.extend(ratio(&figures.split_kept));
            record.extend(ratio(&figures.results_on_time));
            record.push(figures.results_pending.to_string());
            record.extend(ratio(&figures.progress_on_time));
            record.push(figures.progress_pending.to_string());
            record.push(report.year.to_string());
            record.push(report.rule_set.clone());
            let _ = writer.write_record(&record);
        }
    }
    writer.into_inner().unwrap_or_default()
}

/// For each akim governing a territory and each period of the year begun so far: coverage %,
/// calendar meetings announced on time, the time split kept (from the session timer), results
/// published within the deadline, and quarterly progress on time. Public. `format=csv` answers
/// one row per akim and period.
#[utoipa::path(
    get, path = "/api/compliance", tag = "compliance",
    params(ComplianceQuery),
    responses(
        (status = 200, description = "JSON, or text/csv with format=csv", content((ComplianceReport = "application/json"), (String = "text/csv"))),
        (status = 400, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem),
    )
)]
pub async fn dashboard(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ComplianceQuery>,
) -> Result<Response, ApiError> {
    let csv = match query.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::invalid("invalid_format", format!("format is json or csv, not {other:?}")));
        }
    };
    let territories = state.store.territories().await?;
    let report = report(&state, &query, &territories).await?;
    if !csv {
        return Ok(axum::Json(report).into_response());
    }
    let kato_of: HashMap<TerritoryId, String> =
        territories.into_iter().map(|territory| (territory.id, territory.kato)).collect();
    let mut response = csv_file(&report, &kato_of).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    attach(&mut response, &format!("compliance-{}-{}.csv", report.year, report.period));
    Ok(response)
}
