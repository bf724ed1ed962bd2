//! Territories: reference data that meetings point at.

use super::caller::Caller;
use super::problem::{ApiJson, ApiPath};
use super::register::io::{ImportFile, csv_table, import_file};
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

/// The columns of a territory import, in the documented order.
pub const TERRITORY_COLUMNS: [&str; 6] = ["kato", "kind", "name_kk", "name_ru", "name_en", "parent_kato"];

#[derive(Serialize, Deserialize, ToSchema)]
pub struct TerritoryImportResult {
    /// Territories added.
    pub created: u32,
    /// Rows whose KATO code was already known; left as they are.
    pub already_present: u32,
}

/// One row of a territory import, for the API document.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TerritoryRowDoc {
    kato: String,
    kind: TerritoryKind,
    name_kk: String,
    name_ru: String,
    name_en: String,
    /// The KATO code of the territory it is part of: known already, or in the same file.
    parent_kato: Option<String>,
}

/// Imports territories (a classifier extract, an oblast's structure) as CSV (`text/csv`, a
/// header row of `kato, kind, name_kk, name_ru, name_en, parent_kato`) or JSON (an array of
/// rows with those fields). All or nothing: any bad row refuses the file with 422
/// `import_rejected` listing every problem of every row. Rows may come in any order; parents are
/// added first. A KATO code already known is left as it is, so importing a file twice adds
/// nothing the second time. By admins.
#[utoipa::path(
    post, path = "/api/territories/import", tag = "territories",
    request_body(content = Vec<TerritoryRowDoc>, content_type = "application/json", description = "Or text/csv with the same columns"),
    responses(
        (status = 200, body = TerritoryImportResult),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 413, body = Problem), (status = 415, body = Problem),
        (status = 422, body = Problem, description = "Bad rows, listed in `errors`; nothing was imported"),
    ),
    security(("bearer" = []))
)]
pub async fn import(
    State(state): State<AppState>,
    caller: Caller,
    headers: axum::http::HeaderMap,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<TerritoryImportResult>, ApiError> {
    use kezdesu_core::territory::{RawTerritoryRow, check_territory_rows};
    if !caller.principal.may_manage_territories() {
        return Err(ApiError::Forbidden("only admins manage territories"));
    }
    let rows: Vec<RawTerritoryRow> = match import_file(&headers, body)? {
        ImportFile::Csv(body) => csv_table(&body, &TERRITORY_COLUMNS)?
            .into_iter()
            .map(|mut cells| RawTerritoryRow {
                kato: cells.remove("kato"),
                kind: cells.remove("kind"),
                name_kk: cells.remove("name_kk"),
                name_ru: cells.remove("name_ru"),
                name_en: cells.remove("name_en"),
                parent_kato: cells.remove("parent_kato"),
            })
            .collect(),
        ImportFile::Json(body) => serde_json::from_slice(&body).map_err(|error| {
            ApiError::InvalidBody(format!(
                "expected an array of rows with the fields {}: {error}",
                TERRITORY_COLUMNS.join(", ")
            ))
        })?,
    };
    let max_rows = state.config.register.import_max_rows;
    if rows.is_empty() || rows.len() > max_rows {
        return Err(ApiError::invalid("too_many_rows", format!("an import holds 1 to {max_rows} rows")));
    }
    let known = state.store.territories().await?.into_iter().map(|territory| territory.kato).collect();
    let import = check_territory_rows(&rows, &known).map_err(ApiError::RowsRejected)?;
    let created = state.store.import_territories(&import.new, Timestamp::now()).await?;
    tracing::info!(created, "territories imported");
    Ok(Json(TerritoryImportResult {
        created,
        already_present: u32::try_from(import.already_present).unwrap_or(u32::MAX),
    }))
}

/// `root` and every territory inside it, from the list of all territories.
pub(crate) fn inside(territories: &[crate::store::Territory], root: TerritoryId) -> Vec<TerritoryId> {
    let parents: Vec<_> = territories.iter().map(|territory| (territory.id, territory.parent)).collect();
    kezdesu_core::territory::with_descendants(&parents, root)
}

impl AppState {
    /// `root` and every territory inside it: what a filter by territory covers.
    pub(crate) async fn territory_and_inside(&self, root: TerritoryId) -> Result<Vec<TerritoryId>, ApiError> {
        Ok(inside(&self.store.territories().await?, root))
    }
}
