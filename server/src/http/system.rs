//! Health and metrics, for orchestrators and Prometheus.

use super::{ApiError, AppState, Problem};
use crate::store::MeetingFilter;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Serialize, Deserialize, ToSchema)]
pub struct Health {
    pub status: String,
}

/// Answers 200 once the server is ready and its store answers; 503 while it shuts down.
#[utoipa::path(
    get, path = "/healthz", tag = "system",
    responses((status = 200, body = Health), (status = 503, body = Problem))
)]
pub async fn healthz(State(state): State<AppState>) -> Result<axum::Json<Health>, ApiError> {
    if state.shutdown.is_cancelled() {
        return Err(ApiError::Unavailable);
    }
    state.store.ping().await.map_err(|error| {
        tracing::warn!(%error, "health check: store does not answer");
        ApiError::Unavailable
    })?;
    Ok(axum::Json(Health { status: "ok".to_owned() }))
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(
    get, path = "/metrics", tag = "system",
    responses((status = 200, content_type = "text/plain", body = String))
)]
pub async fn metrics(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    // Counted at scrape time from the store, which is the truth even across restarts.
    let live = state.store.meetings(MeetingFilter::live()).await?.len();
    state.metrics.meetings_live.set(i64::try_from(live).unwrap_or(i64::MAX));
    let tasks = tokio::runtime::Handle::current().metrics().num_alive_tasks() + state.rooms.alive_tasks();
    state.metrics.alive_tasks.set(i64::try_from(tasks).unwrap_or(i64::MAX));
    if let Some(bytes) = crate::procfs::resident_bytes(crate::procfs::Process::Current) {
        state.metrics.resident_memory_bytes.set(i64::try_from(bytes).unwrap_or(i64::MAX));
    }
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], state.metrics.render()))
}

/// The rule set in force, as the server read it: the meeting's presentation share, the
/// register's deadlines, and the calendar's coverage, deadlines and lead times. Public, so that
/// anyone can see what the compliance figures are measured against. An administrator changes
/// it with `rules.file` in the configuration and a restart; no release is needed.
#[utoipa::path(
    get, path = "/api/rules", tag = "system",
    responses((status = 200, body = Object, description = "The rule set, with the fields of its TOML file"))
)]
pub async fn rules(State(state): State<AppState>) -> axum::Json<kezdesu_core::RuleSet> {
    axum::Json(state.rules.as_ref().clone())
}
