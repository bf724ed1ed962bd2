//! Meetings at the population's demand: citizens raise and support a public demand for a
//! meeting on their territory; enough distinct supporters oblige the akim to hold one by a
//! deadline. Supporters' names and contacts are never public.

use super::caller::{Caller, ClientIp};
use super::problem::{ApiJson, ApiPath, ApiQuery};
use super::register::clean_text;
use super::{ApiError, AppState, Problem};
use crate::auth::token_hash;
use crate::store::{Demand, Supporter};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::Timestamp;
use kezdesu_core::demand::{DemandState, contact_identity};
use kezdesu_core::{MeetingId, TerritoryId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

const MAX_TITLE_CHARS: usize = 300;
const MAX_TEXT_CHARS: usize = 4000;
const MAX_NAME_CHARS: usize = 200;

#[derive(Serialize, Deserialize, ToSchema)]
pub struct DemandView {
    pub id: i64,
    pub territory_id: i64,
    pub title: String,
    pub text: String,
    /// Distinct people who support it.
    pub supporters: i64,
    /// How many oblige the akim.
    pub threshold: u32,
    pub state: DemandState,
    /// When the supporters reached the threshold.
    pub reached_at: Option<String>,
    /// The meeting scheduled for it.
    pub meeting_id: Option<i64>,
    pub created_at: String,
}

impl AppState {
    fn demand_view(&self, demand: &Demand) -> DemandView {
        let rules = self.config.demands.rules();
        let supporters = u32::try_from(demand.supporters).unwrap_or(u32::MAX);
        let reached_on = demand.reached_at.map(|at| self.clock.day(at));
        DemandView {
            id: demand.id,
            territory_id: demand.territory.0,
            title: demand.title.clone(),
            text: demand.text.clone(),
            supporters: demand.supporters,
            threshold: rules.supporters_threshold,
            state: rules.state(supporters, reached_on, demand.meeting.is_some(), self.today()),
            reached_at: demand.reached_at.map(|at| self.clock.format(at)),
            meeting_id: demand.meeting.map(|meeting| meeting.0),
            created_at: self.clock.format(demand.created_at),
        }
    }
}

/// A supporter from what they typed: their contact, normalized, is who they are.
fn supporter(name: &str, contact: &str) -> Result<Supporter, ApiError> {
    let name = clean_text("name", name, MAX_NAME_CHARS, false)?;
    let contact = &clean_text("contact", contact, MAX_NAME_CHARS, false)?;
    let identity = contact_identity(contact).ok_or_else(|| {
        ApiError::invalid("invalid_contact", "contact must be a phone number or an e-mail address")
    })?;
    Ok(Supporter { identity_hash: token_hash(&identity), name, contact: contact.trim().to_owned() })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DemandQuery {
    /// Demands on this territory or any inside it.
    pub territory_id: Option<i64>,
}

/// Demands for meetings, newest first, with their supporters and where they stand. Public.
#[utoipa::path(
    get, path = "/api/demands", tag = "meetings",
    params(DemandQuery),
    responses((status = 200, body = [DemandView]), (status = 400, body = Problem))
)]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<DemandQuery>,
) -> Result<Json<Vec<DemandView>>, ApiError> {
    let territories = match query.territory_id {
        None => None,
        Some(root) => Some(state.territory_and_inside(TerritoryId(root)).await?),
    };
    let demands = state.store.demands(territories.as_deref()).await?;
    Ok(Json(demands.iter().map(|demand| state.demand_view(demand)).collect()))
}

/// One demand. Public.
#[utoipa::path(
    get, path = "/api/demands/{id}", tag = "meetings",
    params(("id" = i64, Path, description = "Demand id")),
    responses((status = 200, body = DemandView), (status = 404, body = Problem))
)]
pub async fn show(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<DemandView>, ApiError> {
    Ok(Json(state.demand_view(&state.store.demand(id).await?)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RaiseDemand {
    pub territory_id: i64,
    #[schema(min_length = 1)]
    pub title: String,
    #[schema(min_length = 1)]
    pub text: String,
    /// Yours; never published.
    #[schema(min_length = 1)]
    pub name: String,
    /// A phone number or e-mail address; never published, and how supporters are told apart.
    #[schema(min_length = 1)]
    pub contact: String,
}

/// Raises a public demand for a meeting on a territory, supported by whoever raises it.
/// Public; rate-limited per client address.
#[utoipa::path(
    post, path = "/api/demands", tag = "meetings",
    request_body = RaiseDemand,
    responses((status = 201, body = DemandView), (status = 422, body = Problem), (status = 429, body = Problem))
)]
pub async fn raise(
    State(state): State<AppState>,
    ClientIp(address): ClientIp,
    ApiJson(request): ApiJson<RaiseDemand>,
) -> Result<(StatusCode, Json<DemandView>), ApiError> {
    let title = clean_text("title", &request.title, MAX_TITLE_CHARS, false)?;
    let text = clean_text("text", &request.text, MAX_TEXT_CHARS, true)?;
    let first = supporter(&request.name, &request.contact)?;
    let territory = state
        .store
        .territory(TerritoryId(request.territory_id))
        .await
        .map_err(|_| ApiError::invalid("missing_reference", "the territory does not exist"))?;
    AppState::check_rate(&state.request_limiter, address).await?;
    let rules = state.config.demands.rules();
    let reached = move |count: u32| rules.reached(count);
    let demand =
        state.store.create_demand(territory.id, &title, &text, &first, &reached, Timestamp::now()).await?;
    tracing::info!(demand = demand.id, "meeting demanded");
    Ok((StatusCode::CREATED, Json(state.demand_view(&demand))))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SupportDemand {
    #[schema(min_length = 1)]
    pub name: String,
    /// A phone number or e-mail address: each supports a demand once.
    #[schema(min_length = 1)]
    pub contact: String,
}

/// Supports a demand. Each contact counts once (409 `already_supported`). When the supporters
/// reach `demands.supporters_threshold`, the akim owes a meeting within
/// `demands.hold_within_days`. Public; rate-limited per client address.
#[utoipa::path(
    post, path = "/api/demands/{id}/support", tag = "meetings",
    params(("id" = i64, Path, description = "Demand id")),
    request_body = SupportDemand,
    responses(
        (status = 200, body = DemandView), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem), (status = 429, body = Problem),
    )
)]
pub async fn support(
    State(state): State<AppState>,
    ClientIp(address): ClientIp,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<SupportDemand>,
) -> Result<Json<DemandView>, ApiError> {
    let supporter = supporter(&request.name, &request.contact)?;
    let demand = state.store.demand(id).await?;
    AppState::check_rate(&state.request_limiter, address).await?;
    let rules = state.config.demands.rules();
    let reached = move |count: u32| rules.reached(count);
    let demand =
        state.store.support_demand(demand.id, &supporter, &reached, Timestamp::now()).await.map_err(
            |error| match error {
                crate::store::StoreError::Taken(_) => {
                    ApiError::conflict("already_supported", "this contact already supports the demand")
                }
                other => other.into(),
            },
        )?;
    Ok(Json(state.demand_view(&demand)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeetDemand {
    /// The meeting scheduled for the demand, on its territory or inside it.
    pub meeting_id: i64,
}

/// Records the meeting scheduled for a demand, which meets the obligation: one on the demand's
/// territory (or inside it), planned after the demand was raised, not cancelled. By an admin or
/// the meeting's akim.
#[utoipa::path(
    post, path = "/api/demands/{id}/meeting", tag = "meetings",
    params(("id" = i64, Path, description = "Demand id")),
    request_body = MeetDemand,
    responses(
        (status = 200, body = DemandView),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn meet(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<MeetDemand>,
) -> Result<Json<DemandView>, ApiError> {
    let demand = state.store.demand(id).await?;
    let meeting = state
        .store
        .meeting(MeetingId(request.meeting_id))
        .await
        .map_err(|_| ApiError::invalid("missing_reference", "the meeting does not exist"))?;
    if !caller.principal.may_edit_meeting(meeting.akim) {
        return Err(ApiError::Forbidden("admins and the meeting's akim answer a demand with it"));
    }
    if meeting.cancelled_at.is_some() || meeting.planned_start < demand.created_at {
        return Err(ApiError::invalid(
            "meeting_does_not_answer",
            "a demand is answered by a meeting planned after it was raised, and not cancelled",
        ));
    }
    if !state.territory_and_inside(demand.territory).await?.contains(&meeting.territory) {
        return Err(ApiError::invalid(
            "meeting_elsewhere",
            "the meeting must be held on the demand's territory or inside it",
        ));
    }
    let demand = state.store.meet_demand(demand.id, meeting.id, Timestamp::now()).await?;
    Ok(Json(state.demand_view(&demand)))
}
