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
use kezdesu_core::territory::with_descendants;
use kezdesu_core::{AccountId, LocalizedText, Role, TerritoryId};
use serde::Deserialize;
use std::collections::HashMap;
use utoipa::IntoParams;

/// A feed shows meetings from this long ago on, and every planned one.
const FEED_PAST: SignedDuration = SignedDuration::from_hours(400 * 24);

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FeedQuery {
    /// `kk`, `ru` (default) or `en`: the language of titles and places.
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
            location: places.get(&meeting.territory).map(|place| pick(&place.name, lang)).unwrap_or_default(),
            description: String::new(),
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
    let parents: Vec<_> = territories.iter().map(|territory| (territory.id, territory.parent)).collect();
    let inside = with_descendants(&parents, root.id);
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
