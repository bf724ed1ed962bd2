//! iCalendar feeds (RFC 5545) of meetings: per territory (with every territory inside it) and
//! per akim. Public, like the meetings themselves.

use super::problem::{ApiPath, ApiQuery};
use super::{ApiError, AppState, Problem};
use crate::ical::{Event, calendar};
use crate::store::{Meeting, MeetingFilter, Territory};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use kezdesu_core::{AccountId, LocalizedText, Role, TerritoryId};
use serde::Deserialize;
use std::collections::HashMap;
use utoipa::IntoParams;

/// A feed shows meetings from this long ago on, and every planned one.
const FEED_PAST: SignedDuration = SignedDuration::from_hours(400 * 24);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FeedQuery {
    /// `kk`, `ru` (default) or `en`: the language of titles and places.
    #[param(pattern = "^(kk|ru|en)$")]
    pub lang: Option<String>,
}

fn pick(text: &LocalizedText, lang: Option<&str>) -> String {
    match lang {
        Some("kk") => text.kk.clone(),
        Some("en") => text.en.clone(),
        _ => text.ru.clone(),
    }
}

fn check_lang(lang: Option<&str>) -> Result<(), ApiError> {
    match lang {
        None | Some("kk" | "ru" | "en") => Ok(()),
        Some(other) => Err(ApiError::invalid("invalid_lang", format!("lang is kk, ru or en, not {other:?}"))),
    }
}

/// The meetings planned from a year ago on, in planned order.
async fn recent_meetings(state: &AppState) -> Result<Vec<Meeting>, ApiError> {
    let from = Timestamp::now().checked_sub(FEED_PAST).ok();
    let filter = MeetingFilter { status: None, territory: None, from, to: None, limit: u32::MAX };
    Ok(state.store.meetings(filter).await?)
}

/// The absolute address of the server as the client called it, for event links.
fn origin(headers: &HeaderMap) -> Option<String> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let plain = host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    plain.then(|| format!("http://{host}"))
}

fn feed(
    name: &str,
    meetings: &[Meeting],
    places: &HashMap<TerritoryId, Territory>,
    lang: Option<&str>,
    origin: Option<&str>,
) -> Response {
    let events: Vec<Event> = meetings
        .iter()
        .map(|meeting| Event {
            // The meeting's id and creation instant: stable for its life, unique across servers
            // in practice.
            uid: format!("meeting-{}-{}@kezdesu", meeting.id, meeting.created_at.as_millisecond()),
            sequence: meeting.version,
            cancelled: meeting.cancelled_at.is_some(),
            start: meeting.planned_start,
            end: meeting.planned_start + SignedDuration::from_mins(i64::from(meeting.planned_minutes)),
            changed: meeting.updated_at,
            summary: pick(&meeting.title, lang),
            // The announced hall or address, then the territory it is in.
            location: [
                meeting.place.clone(),
                places.get(&meeting.territory).map(|place| pick(&place.name, lang)).unwrap_or_default(),
            ]
            .into_iter()
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join(", "),
            description: meeting.online_link.clone(),
            url: origin.map(|origin| format!("{origin}/meetings/{}", meeting.id)),
        })
        .collect();
    let mut response = calendar(name, &events).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/calendar; charset=utf-8"));
    response
}

/// The meetings held on a territory or anywhere inside it, as an iCalendar feed.
#[utoipa::path(
    get, path = "/api/territories/{id}/calendar.ics", tag = "meetings",
    params(("id" = i64, Path, description = "Territory id"), FeedQuery),
    responses(
        (status = 200, content_type = "text/calendar", body = String),
        (status = 404, body = Problem), (status = 422, body = Problem),
    )
)]
pub async fn territory_feed(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<FeedQuery>,
) -> Result<Response, ApiError> {
    let lang = query.lang.as_deref();
    check_lang(lang)?;
    let root = state.store.territory(TerritoryId(id)).await?;
    let territories = state.store.territories().await?;
    let inside = super::territories::inside(&territories, root.id);
    let places: HashMap<TerritoryId, Territory> =
        territories.into_iter().map(|territory| (territory.id, territory)).collect();
    let meetings: Vec<Meeting> = recent_meetings(&state)
        .await?
        .into_iter()
        .filter(|meeting| inside.contains(&meeting.territory))
        .collect();
    Ok(feed(&pick(&root.name, lang), &meetings, &places, lang, origin(&headers).as_deref()))
}

/// An akim's meetings, wherever held, as an iCalendar feed.
#[utoipa::path(
    get, path = "/api/akims/{id}/calendar.ics", tag = "meetings",
    params(("id" = i64, Path, description = "The akim's account id"), FeedQuery),
    responses(
        (status = 200, content_type = "text/calendar", body = String),
        (status = 404, body = Problem), (status = 422, body = Problem),
    )
)]
pub async fn akim_feed(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<FeedQuery>,
) -> Result<Response, ApiError> {
    let lang = query.lang.as_deref();
    check_lang(lang)?;
    // Only akims have feeds; other accounts are not confirmed to exist.
    let akim = state.store.account(AccountId(id)).await.ok().filter(|account| account.role == Role::Akim);
    let akim = akim.ok_or(ApiError::NotFound("akim"))?;
    let places: HashMap<TerritoryId, Territory> =
        state.store.territories().await?.into_iter().map(|territory| (territory.id, territory)).collect();
    let meetings: Vec<Meeting> =
        recent_meetings(&state).await?.into_iter().filter(|meeting| meeting.akim == akim.id).collect();
    Ok(feed(&akim.display_name, &meetings, &places, lang, origin(&headers).as_deref()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CoverageQuery {
    /// The calendar year, e.g. 2027.
    #[param(minimum = 1901, maximum = 2199)]
    pub year: i16,
}

/// How an akim's meetings in a year cover what the rule set asks of their level.
#[derive(serde::Serialize, Deserialize, utoipa::ToSchema)]
pub struct CoverageReport {
    pub akim_account_id: i64,
    /// The territory the akim governs.
    pub territory_id: i64,
    pub year: i16,
    /// The rule set the report applies (`id` and `version`).
    pub rule_set: String,
    /// For each period and each territory to cover: meetings required and planned.
    pub periods: Vec<kezdesu_core::calendar::PeriodCoverage>,
    /// Territory-periods with fewer meetings planned than required.
    pub gaps: u32,
}

/// Checks an akim's calendar meetings of a year (planned or held, not cancelled) against the
/// rule set's coverage for the akim's level: every period, every territory to cover, the gaps
/// named. Public, like the meetings.
#[utoipa::path(
    get, path = "/api/akims/{id}/coverage", tag = "meetings",
    params(("id" = i64, Path, description = "The akim's account id"), CoverageQuery),
    responses(
        (status = 200, body = CoverageReport),
        (status = 400, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "The akim governs no territory yet"),
    )
)]
pub async fn coverage(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<CoverageQuery>,
) -> Result<axum::Json<CoverageReport>, ApiError> {
    use kezdesu_core::MeetingKind;
    use kezdesu_core::calendar::{PlannedMeeting, Unit, coverage};
    if !(1901..=2199).contains(&query.year) {
        return Err(ApiError::invalid("invalid_year", "year must be 1901 to 2199"));
    }
    let akim = state.store.account(AccountId(id)).await.ok().filter(|account| account.role == Role::Akim);
    let akim = akim.ok_or(ApiError::NotFound("akim"))?;
    let governed = akim.territory.ok_or_else(|| {
        ApiError::conflict("no_territory", "the akim governs no territory yet; an admin sets territory_id")
    })?;
    let territories = state.store.territories().await?;
    let units: Vec<Unit> = territories.iter().map(crate::store::Territory::unit).collect();
    let akim_unit =
        units.iter().find(|unit| unit.id == governed).copied().ok_or(ApiError::NotFound("territory"))?;
    let planned: Vec<PlannedMeeting> = state
        .store
        .meetings(MeetingFilter { status: None, territory: None, from: None, to: None, limit: u32::MAX })
        .await?
        .into_iter()
        .filter(|meeting| {
            meeting.akim == akim.id && meeting.cancelled_at.is_none() && meeting.kind == MeetingKind::Calendar
        })
        .map(|meeting| PlannedMeeting {
            territory: meeting.territory,
            on: state.clock.day(meeting.planned_start),
        })
        .collect();
    let periods = coverage(&state.rules.calendar, akim_unit, &units, &planned, query.year);
    let gaps = periods.iter().map(|period| period.gaps().count()).sum::<usize>();
    Ok(axum::Json(CoverageReport {
        akim_account_id: akim.id.0,
        territory_id: governed.0,
        year: query.year,
        rule_set: format!("{} v{}", state.rules.id, state.rules.version),
        periods,
        gaps: u32::try_from(gaps).unwrap_or(u32::MAX),
    }))
}
