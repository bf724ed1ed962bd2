//! The public issue list as an Open311 GeoReport v2 read API, so that existing civic tools can
//! read it: services are the configured categories, service requests are the public issues.
//!
//! Only reading is offered (no POST): issues enter the register through meetings, requests and
//! the commission. Only the JSON format is served; errors are problem documents like the rest
//! of the API. One deployment is one jurisdiction: a `jurisdiction_id` parameter is ignored.

use super::problem::{ApiPath, ApiQuery};
use super::{ApiError, AppState, Problem};
use crate::store::{IssueFilter, IssueOrder, RegisterIssue};
use axum::Json;
use axum::extract::State;
use jiff::Timestamp;
use kezdesu_core::issues::IssueStatus;
use kezdesu_core::issues::register::publicly_listed;
use kezdesu_core::{IssueId, TerritoryId};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use utoipa::{IntoParams, ToSchema};

/// GeoReport v2 answers at most 1000 requests by default.
const MAX_REQUESTS: usize = 1000;
/// The most ids one `service_request_id` query looks up.
const MAX_IDS: usize = 100;
/// Without dates, GeoReport v2 answers the last 90 days.
const DEFAULT_DAYS: i64 = 90;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LocaleQuery {
    /// `kk`, `ru` (default) or `en`: the language of service names; any other falls back to
    /// `ru`, as GeoReport v2 leaves the locale free.
    pub locale: Option<String>,
}

/// A GeoReport v2 service: a category of issues.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct Service {
    pub service_code: String,
    pub service_name: String,
    pub description: String,
    /// No extra attributes are asked for.
    pub metadata: bool,
    /// `realtime`: the list is the register itself.
    #[serde(rename = "type")]
    pub service_type: String,
    pub keywords: String,
    pub group: String,
}

fn locale_name<'a>(category: &'a crate::config::CategoryConfig, locale: Option<&str>) -> &'a str {
    match locale {
        Some("kk") => &category.kk,
        Some("en") => &category.en,
        _ => &category.ru,
    }
}

/// GeoReport v2 service list: the categories.
#[utoipa::path(
    get, path = "/open311/v2/services.json", tag = "open311",
    params(LocaleQuery),
    responses((status = 200, body = [Service]))
)]
pub async fn services(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<LocaleQuery>,
) -> Json<Vec<Service>> {
    Json(
        state
            .config
            .register
            .categories
            .iter()
            .map(|category| Service {
                service_code: category.code.clone(),
                service_name: locale_name(category, query.locale.as_deref()).to_owned(),
                description: format!("{} / {} / {}", category.kk, category.ru, category.en),
                metadata: false,
                service_type: "realtime".to_owned(),
                keywords: String::new(),
                group: String::new(),
            })
            .collect(),
    )
}

/// A GeoReport v2 service request: a public problem issue.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ServiceRequest {
    pub service_request_id: String,
    /// `open` or `closed`.
    pub status: String,
    pub status_notes: Option<String>,
    pub service_name: Option<String>,
    pub service_code: Option<String>,
    pub description: String,
    /// The executors of the action plan's open items.
    pub agency_responsible: Option<String>,
    pub service_notice: Option<String>,
    pub requested_datetime: String,
    pub updated_datetime: String,
    /// The end of the last deadline of the action plan's open items.
    pub expected_datetime: Option<String>,
    /// The territory's name.
    pub address: Option<String>,
    /// The territory's KATO code.
    pub address_id: Option<String>,
    pub zipcode: Option<String>,
    pub lat: Option<f64>,
    pub long: Option<f64>,
    pub media_url: Option<String>,
}

/// Open while anything is to be done about it here or above; closed once resolved or rejected.
fn open311_status(status: IssueStatus) -> &'static str {
    match status {
        IssueStatus::Resolved | IssueStatus::Rejected => "closed",
        _ => "open",
    }
}

struct Places {
    names: HashMap<TerritoryId, (String, String)>,
}

impl Places {
    async fn load(state: &AppState, locale: Option<&str>) -> Result<Places, ApiError> {
        let names = state
            .store
            .territories()
            .await?
            .into_iter()
            .map(|territory| {
                let name = match locale {
                    Some("kk") => territory.name.kk,
                    Some("en") => territory.name.en,
                    _ => territory.name.ru,
                };
                (territory.id, (name, territory.kato))
            })
            .collect();
        Ok(Places { names })
    }
}

fn service_request(
    state: &AppState,
    issue: &RegisterIssue,
    places: &Places,
    locale: Option<&str>,
) -> ServiceRequest {
    let category = issue
        .category
        .as_deref()
        .and_then(|code| state.config.register.categories.iter().find(|category| category.code == code));
    let open_items: Vec<_> = issue.actions.iter().filter(|item| item.plan.done_on.is_none()).collect();
    let mut agencies: Vec<&str> = Vec::new();
    for item in &open_items {
        if !agencies.contains(&item.plan.executor_organisation.as_str()) {
            agencies.push(&item.plan.executor_organisation);
        }
    }
    let expected = open_items
        .iter()
        .map(|item| item.plan.deadline)
        .max()
        .and_then(|deadline| deadline.at(23, 59, 59, 0).to_zoned(state.clock.zone.clone()).ok())
        .map(|end| state.clock.format(end.timestamp()));
    let status_notes = match (issue.status, issue.level, &issue.status_note) {
        (IssueStatus::Escalated, Some(level), note) => Some(match note {
            Some(note) => format!("escalated to the {} level: {note}", level.as_str()),
            None => format!("escalated to the {} level", level.as_str()),
        }),
        (_, _, note) => note.clone(),
    };
    let place = issue.territory.and_then(|territory| places.names.get(&territory));
    ServiceRequest {
        service_request_id: issue.id.0.to_string(),
        status: open311_status(issue.status).to_owned(),
        status_notes,
        service_name: category.map(|category| locale_name(category, locale).to_owned()),
        service_code: category.map(|category| category.code.clone()),
        description: if issue.description.is_empty() {
            issue.title.clone()
        } else {
            format!("{}\n\n{}", issue.title, issue.description)
        },
        agency_responsible: (!agencies.is_empty()).then(|| agencies.join("; ")),
        service_notice: None,
        requested_datetime: state.clock.format(issue.created_at),
        updated_datetime: state.clock.format(issue.updated_at),
        expected_datetime: expected,
        address: place.map(|(name, _)| name.clone()),
        address_id: place.map(|(_, kato)| kato.clone()),
        zipcode: None,
        lat: None,
        long: None,
        media_url: None,
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RequestsQuery {
    /// Comma-separated ids; the other filters are ignored when given.
    pub service_request_id: Option<String>,
    /// Comma-separated category codes.
    pub service_code: Option<String>,
    /// Requested at or after (W3C date-time); 90 days before `end_date` when absent.
    #[param(format = DateTime)]
    pub start_date: Option<String>,
    /// Requested before (W3C date-time); now when absent.
    #[param(format = DateTime)]
    pub end_date: Option<String>,
    /// Comma-separated `open` and `closed` (each trimmed; empty items are skipped).
    #[param(
        pattern = r"^[\t\n\x0B\x0C\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*(?:open|closed)?[\t\n\x0B\x0C\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*(?:,[\t\n\x0B\x0C\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*(?:open|closed)?[\t\n\x0B\x0C\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]*)*$"
    )]
    pub status: Option<String>,
    pub locale: Option<String>,
}

fn parse_datetime(field: &str, text: &str) -> Result<Timestamp, ApiError> {
    text.parse::<Timestamp>().map_err(|_| {
        ApiError::invalid("invalid_date", format!("{field} must be a W3C date-time with an offset"))
    })
}

fn comma_list(text: Option<&str>) -> Option<Vec<String>> {
    text.map(|text| {
        text.split(',').map(|item| item.trim().to_owned()).filter(|item| !item.is_empty()).collect()
    })
}

/// GeoReport v2 service requests: the public issues, newest first, at most 1000.
#[utoipa::path(
    get, path = "/open311/v2/requests.json", tag = "open311",
    params(RequestsQuery),
    responses((status = 200, body = [ServiceRequest]), (status = 400, body = Problem), (status = 422, body = Problem))
)]
pub async fn requests(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<RequestsQuery>,
) -> Result<Json<Vec<ServiceRequest>>, ApiError> {
    let locale = query.locale.as_deref();
    let places = Places::load(&state, locale).await?;
    let public = |issue: &RegisterIssue| publicly_listed(issue.status, issue.raised_live(), false);
    let end = match &query.end_date {
        Some(text) => parse_datetime("end_date", text)?,
        None => Timestamp::now(),
    };
    let start = match &query.start_date {
        Some(text) => parse_datetime("start_date", text)?,
        None => end
            .checked_sub(jiff::SignedDuration::from_hours(DEFAULT_DAYS * 24))
            .map_err(|_| ApiError::invalid("invalid_date", "end_date is too early"))?,
    };
    let statuses = comma_list(query.status.as_deref());
    if let Some(statuses) = &statuses
        && let Some(bad) = statuses.iter().find(|status| !matches!(status.as_str(), "open" | "closed"))
    {
        return Err(ApiError::invalid("invalid_status", format!("status is open or closed, not {bad:?}")));
    }
    // The other filters are ignored when ids are given, but still checked above: a malformed
    // query is refused whatever else it asks.
    if let Some(ids) = comma_list(query.service_request_id.as_deref()) {
        let mut found = Vec::new();
        for id in ids.iter().take(MAX_IDS) {
            let Ok(id) = id.parse::<i64>() else { continue };
            if let Ok(issue) = state.store.issue(IssueId(id)).await
                && issue.merged_into.is_none()
                && public(&issue)
            {
                found.push(service_request(&state, &issue, &places, locale));
            }
        }
        return Ok(Json(found));
    }
    let filter = IssueFilter {
        public_only: true,
        raised_from: Some(start),
        raised_before: Some(end),
        categories: comma_list(query.service_code.as_deref()),
        statuses: statuses.map(|wanted| {
            IssueStatus::ALL
                .into_iter()
                .filter(|status| {
                    wanted.iter().any(|open_or_closed| open_or_closed == open311_status(*status))
                })
                .collect()
        }),
        order: IssueOrder::Newest,
        limit: Some(MAX_REQUESTS as u32),
        ..IssueFilter::default()
    };
    let issues = state.store.issues(&filter).await?;
    Ok(Json(issues.iter().map(|issue| service_request(&state, issue, &places, locale)).collect()))
}

/// GeoReport v2 one service request, as a one-element array: `/open311/v2/requests/{id}.json`.
#[utoipa::path(
    get, path = "/open311/v2/requests/{file}", tag = "open311",
    params(("file" = String, Path, description = "`{id}.json`"), LocaleQuery),
    responses((status = 200, body = [ServiceRequest]), (status = 404, body = Problem))
)]
pub async fn request(
    State(state): State<AppState>,
    ApiPath(file): ApiPath<String>,
    ApiQuery(query): ApiQuery<LocaleQuery>,
) -> Result<Json<Vec<ServiceRequest>>, ApiError> {
    let id = file
        .strip_suffix(".json")
        .and_then(|id| id.parse::<i64>().ok())
        .ok_or(ApiError::NotFound("service request (only {id}.json is served)"))?;
    let issue = state.store.issue(IssueId(id)).await.map_err(|_| ApiError::NotFound("service request"))?;
    if issue.merged_into.is_some() || !publicly_listed(issue.status, issue.raised_live(), false) {
        return Err(ApiError::NotFound("service request"));
    }
    let locale = query.locale.as_deref();
    let places = Places::load(&state, locale).await?;
    Ok(Json(vec![service_request(&state, &issue, &places, locale)]))
}
