//! Territories: reference data that meetings point at.

use super::caller::Caller;
use super::problem::{ApiJson, ApiPath};
use super::{ApiError, AppState, Problem};
use crate::store::NewTerritory;
use crate::wire::TerritoryView;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::Timestamp;
use kezdesu_core::meeting::MAX_TITLE_CHARS;
use kezdesu_core::territory::check_kato;
use kezdesu_core::{LocalizedText, TerritoryId, TerritoryKind};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Serialize, Deserialize, ToSchema)]
pub struct TerritoryList {
    pub territories: Vec<TerritoryView>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTerritory {
    /// Nine digits.
    pub kato: String,
    pub kind: TerritoryKind,
    pub name: LocalizedText,
    pub parent_id: Option<i64>,
}

/// Lists every territory, ordered by KATO code. Public.
#[utoipa::path(get, path = "/api/territories", tag = "territories", responses((status = 200, body = TerritoryList)))]
pub async fn list(State(state): State<AppState>) -> Result<Json<TerritoryList>, ApiError> {
    let territories = state.store.territories().await?;
    Ok(Json(TerritoryList { territories: territories.iter().map(TerritoryView::from).collect() }))
}

/// Creates a territory.
#[utoipa::path(
    post, path = "/api/territories", tag = "territories",
    request_body = CreateTerritory,
    responses(
        (status = 201, body = TerritoryView),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem, description = "The KATO code is taken"),
        (status = 422, body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<CreateTerritory>,
) -> Result<(StatusCode, Json<TerritoryView>), ApiError> {
    if !caller.principal.may_manage_territories() {
        return Err(ApiError::Forbidden("only admins manage territories"));
    }
    let kato =
        check_kato(&request.kato).map_err(|error| ApiError::invalid("invalid_kato", error.to_string()))?;
    let name = request
        .name
        .cleaned(MAX_TITLE_CHARS)
        .map_err(|error| ApiError::invalid("invalid_name", format!("name: {error}")))?;
    let territory = NewTerritory {
        kato: kato.to_owned(),
        kind: request.kind,
        name,
        parent: request.parent_id.map(TerritoryId),
    };
    let territory = state.store.create_territory(territory, Timestamp::now()).await?;
    Ok((StatusCode::CREATED, Json(TerritoryView::from(&territory))))
}

/// Shows one territory. Public.
#[utoipa::path(
    get, path = "/api/territories/{id}", tag = "territories",
    params(("id" = i64, Path, description = "Territory id")),
    responses((status = 200, body = TerritoryView), (status = 404, body = Problem))
)]
pub async fn show(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<TerritoryView>, ApiError> {
    let territory = state.store.territory(TerritoryId(id)).await?;
    Ok(Json(TerritoryView::from(&territory)))
}
