//! Restream destinations: where a meeting's broadcast is pushed by RTMP(S), and an akim's
//! defaults, copied to each of their new meetings.
//!
//! Only the meeting's akim and admins manage a meeting's destinations; only the akim and
//! admins an akim's defaults. A stream key is write-only: it is sealed with the server's
//! secret key before it is stored, and shown only masked (`••••f3a9`). Without a secret key
//! configured, nothing is stored (422 `secret_key_missing`) rather than a key kept in clear.

use super::caller::Caller;
use super::problem::{ApiJson, ApiPath};
use super::{ApiError, AppState, Problem};
use crate::store::{Destination, DestinationFields, DestinationOwner};
use crate::wire::{DestinationList, DestinationView};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::Timestamp;
use kezdesu_core::restream::{self, Platform};
use kezdesu_core::{AccountId, MeetingId, Role, text};
use serde::Deserialize;
use utoipa::ToSchema;

const MAX_NAME_CHARS: usize = 100;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDestination {
    pub platform: Platform,
    /// What the akimat calls it, e.g. "Akimat's YouTube channel"; up to 100 characters.
    #[serde(default)]
    pub name: String,
    /// `rtmp://` or `rtmps://` (Facebook and Instagram take RTMPS only), as the platform shows it.
    pub ingest_url: String,
    /// Visible ASCII, up to 256 characters. Write-only: it is never shown again in clear.
    pub stream_key: String,
    /// Whether it goes live with the meeting (default true).
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
}

fn enabled_by_default() -> bool {
    true
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DestinationChange {
    pub platform: Option<Platform>,
    pub name: Option<String>,
    pub ingest_url: Option<String>,
    /// A new stream key, replacing the stored one.
    pub stream_key: Option<String>,
    pub enabled: Option<bool>,
    /// The version read; the change is refused with 409 if the destination changed since.
    pub version: Option<i64>,
}

/// A meeting's restream destinations, with each one's state while the meeting is on air.
#[utoipa::path(
    get, path = "/api/meetings/{id}/destinations", tag = "broadcast",
    params(("id" = i64, Path, description = "Meeting id")),
    responses(
        (status = 200, body = DestinationList),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn list_for_meeting(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<DestinationList>, ApiError> {
    let owner = meeting_owner(&state, &caller, MeetingId(id)).await?;
    list(&state, owner).await
}

/// Adds a restream destination to a meeting. If the meeting is on air, it starts at once.
#[utoipa::path(
    post, path = "/api/meetings/{id}/destinations", tag = "broadcast",
    params(("id" = i64, Path, description = "Meeting id")),
    request_body = NewDestination,
    responses(
        (status = 201, body = DestinationView),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem, description = "A bad URL or key, too many destinations, or no secret key configured"),
    ),
    security(("bearer" = []))
)]
pub async fn add_to_meeting(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<NewDestination>,
) -> Result<(StatusCode, Json<DestinationView>), ApiError> {
    let owner = meeting_owner(&state, &caller, MeetingId(id)).await?;
    add(&state, owner, body).await
}

/// Changes a meeting's restream destination; switching it on or off while on air starts or
/// stops it, and a new URL or key restarts it.
#[utoipa::path(
    patch, path = "/api/meetings/{id}/destinations/{destination}", tag = "broadcast",
    params(("id" = i64, Path, description = "Meeting id"), ("destination" = i64, Path, description = "Destination id")),
    request_body = DestinationChange,
    responses(
        (status = 200, body = DestinationView),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn update_for_meeting(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, destination)): ApiPath<(i64, i64)>,
    ApiJson(body): ApiJson<DestinationChange>,
) -> Result<Json<DestinationView>, ApiError> {
    let owner = meeting_owner(&state, &caller, MeetingId(id)).await?;
    update(&state, owner, destination, body).await
}

/// Removes a meeting's restream destination, stopping it if it is on air.
#[utoipa::path(
    delete, path = "/api/meetings/{id}/destinations/{destination}", tag = "broadcast",
    params(("id" = i64, Path, description = "Meeting id"), ("destination" = i64, Path, description = "Destination id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn remove_from_meeting(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, destination)): ApiPath<(i64, i64)>,
) -> Result<StatusCode, ApiError> {
    let owner = meeting_owner(&state, &caller, MeetingId(id)).await?;
    remove(&state, owner, destination).await
}

/// An akim's default restream destinations, copied to each meeting created for them.
#[utoipa::path(
    get, path = "/api/accounts/{id}/destinations", tag = "broadcast",
    params(("id" = i64, Path, description = "The akim's account id")),
    responses(
        (status = 200, body = DestinationList),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn list_defaults(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<DestinationList>, ApiError> {
    let owner = akim_owner(&state, &caller, AccountId(id)).await?;
    list(&state, owner).await
}

/// Adds a default restream destination to an akim's account (not to meetings already created).
#[utoipa::path(
    post, path = "/api/accounts/{id}/destinations", tag = "broadcast",
    params(("id" = i64, Path, description = "The akim's account id")),
    request_body = NewDestination,
    responses(
        (status = 201, body = DestinationView),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn add_default(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<NewDestination>,
) -> Result<(StatusCode, Json<DestinationView>), ApiError> {
    let owner = akim_owner(&state, &caller, AccountId(id)).await?;
    add(&state, owner, body).await
}

/// Changes one of an akim's default destinations (meetings already created keep their copy).
#[utoipa::path(
    patch, path = "/api/accounts/{id}/destinations/{destination}", tag = "broadcast",
    params(("id" = i64, Path, description = "The akim's account id"), ("destination" = i64, Path, description = "Destination id")),
    request_body = DestinationChange,
    responses(
        (status = 200, body = DestinationView),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn update_default(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, destination)): ApiPath<(i64, i64)>,
    ApiJson(body): ApiJson<DestinationChange>,
) -> Result<Json<DestinationView>, ApiError> {
    let owner = akim_owner(&state, &caller, AccountId(id)).await?;
    update(&state, owner, destination, body).await
}

/// Removes one of an akim's default destinations.
#[utoipa::path(
    delete, path = "/api/accounts/{id}/destinations/{destination}", tag = "broadcast",
    params(("id" = i64, Path, description = "The akim's account id"), ("destination" = i64, Path, description = "Destination id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn remove_default(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, destination)): ApiPath<(i64, i64)>,
) -> Result<StatusCode, ApiError> {
    let owner = akim_owner(&state, &caller, AccountId(id)).await?;
    remove(&state, owner, destination).await
}

/// The meeting's destinations, if the caller may manage its broadcast.
async fn meeting_owner(
    state: &AppState,
    caller: &Caller,
    id: MeetingId,
) -> Result<DestinationOwner, ApiError> {
    let meeting = state.store.meeting(id).await?;
    if !caller.principal.may_manage_broadcast(meeting.akim) {
        return Err(ApiError::Forbidden("only the meeting's akim and admins manage where it is restreamed"));
    }
    Ok(DestinationOwner::Meeting(id))
}

/// The akim's defaults, if the caller is that akim or an admin.
async fn akim_owner(state: &AppState, caller: &Caller, id: AccountId) -> Result<DestinationOwner, ApiError> {
    if !caller.principal.may_create_meeting(id) {
        return Err(ApiError::Forbidden("only the akim and admins manage an akim's default destinations"));
    }
    let account = state.store.account(id).await?;
    if account.role != Role::Akim {
        // The path names no akim, so there is nothing at it: 404, as for an account that is not.
        return Err(ApiError::Absent {
            code: "not_an_akim",
            detail: "default destinations belong to akims' accounts".to_owned(),
        });
    }
    Ok(DestinationOwner::Account(id))
}

async fn list(state: &AppState, owner: DestinationOwner) -> Result<Json<DestinationList>, ApiError> {
    let destinations = state.store.destinations(owner).await?;
    Ok(Json(DestinationList { destinations: destinations.iter().map(|d| view(state, d)).collect() }))
}

async fn add(
    state: &AppState,
    owner: DestinationOwner,
    body: NewDestination,
) -> Result<(StatusCode, Json<DestinationView>), ApiError> {
    let max = state.config.egress.max_destinations;
    let fields = DestinationFields {
        platform: body.platform,
        name: clean_name(&body.name)?,
        ingest_url: checked_url(body.platform, &body.ingest_url)?,
        stream_key_sealed: String::new(),
        key_hint: String::new(),
        enabled: body.enabled,
    };
    let fields = with_key(state, fields, &body.stream_key)?;
    let added = state.store.add_destination(owner, &fields, max, Timestamp::now()).await?;
    let destination = added.ok_or_else(|| {
        ApiError::invalid("too_many_destinations", format!("at most {max} restream destinations are allowed"))
    })?;
    tracing::info!(
        destination = destination.id,
        platform = destination.platform.as_str(),
        "restream destination added"
    );
    changed(state, owner);
    follow_youtube_chat(state, owner, destination.platform).await?;
    Ok((StatusCode::CREATED, Json(view(state, &destination))))
}

async fn update(
    state: &AppState,
    owner: DestinationOwner,
    id: i64,
    change: DestinationChange,
) -> Result<Json<DestinationView>, ApiError> {
    let current = owned(state, owner, id).await?;
    let version = change.version.unwrap_or(current.version);
    let mut fields = current.fields();
    if let Some(platform) = change.platform {
        fields.platform = platform;
    }
    if let Some(name) = &change.name {
        fields.name = clean_name(name)?;
    }
    // A new platform must suit the URL too (Facebook's RTMPS rule), so the URL is checked again.
    fields.ingest_url =
        checked_url(fields.platform, change.ingest_url.as_deref().unwrap_or(&fields.ingest_url))?;
    if let Some(enabled) = change.enabled {
        fields.enabled = enabled;
    }
    if let Some(key) = &change.stream_key {
        fields = with_key(state, fields, key)?;
    }
    let updated = state.store.update_destination(id, version, &fields, Timestamp::now()).await?;
    changed(state, owner);
    follow_youtube_chat(state, owner, updated.platform).await?;
    Ok(Json(view(state, &updated)))
}

async fn remove(state: &AppState, owner: DestinationOwner, id: i64) -> Result<StatusCode, ApiError> {
    owned(state, owner, id).await?;
    state.store.delete_destination(id).await?;
    changed(state, owner);
    Ok(StatusCode::NO_CONTENT)
}

/// The destination `id`, if it is `owner`'s (another owner's is not found, not forbidden).
async fn owned(state: &AppState, owner: DestinationOwner, id: i64) -> Result<Destination, ApiError> {
    let destination = state.store.destination(id).await?;
    if destination.owner != owner {
        return Err(ApiError::NotFound("destination"));
    }
    Ok(destination)
}

/// A meeting on air picks up the change of its destinations at once.
fn changed(state: &AppState, owner: DestinationOwner) {
    if let DestinationOwner::Meeting(meeting) = owner {
        state.egress.destinations_changed(meeting);
    }
}

/// A meeting restreamed to YouTube follows that broadcast's chat by itself, once its akim has
/// a YouTube account connected (see `Store::follow_restreamed_youtube`).
async fn follow_youtube_chat(
    state: &AppState,
    owner: DestinationOwner,
    platform: Platform,
) -> Result<(), ApiError> {
    if let (DestinationOwner::Meeting(meeting), Platform::Youtube) = (owner, platform) {
        let akim = state.store.meeting(meeting).await?.akim;
        if state.store.follow_restreamed_youtube(akim, Some(meeting), Timestamp::now()).await? > 0 {
            state.platforms.feeds_changed();
        }
    }
    Ok(())
}

fn clean_name(name: &str) -> Result<String, ApiError> {
    // A name is optional: the platform names the destination well enough. Blank once cleaned
    // (white space, control or invisible characters only) is no name.
    match text::clean(name, MAX_NAME_CHARS, false) {
        Ok(name) => Ok(name),
        Err(text::TextError::Empty) => Ok(String::new()),
        Err(error) => Err(ApiError::invalid("invalid_name", format!("name: {error}"))),
    }
}

fn checked_url(platform: Platform, url: &str) -> Result<String, ApiError> {
    let parsed = restream::parse_ingest_url(platform, url.trim())
        .map_err(|problem| ApiError::invalid("invalid_ingest_url", problem.to_string()))?;
    Ok(parsed.url)
}

/// `fields` with `key` sealed, after checking it.
fn with_key(
    state: &AppState,
    mut fields: DestinationFields,
    key: &str,
) -> Result<DestinationFields, ApiError> {
    restream::check_stream_key(key)
        .map_err(|problem| ApiError::invalid("invalid_stream_key", problem.to_string()))?;
    if !state.sealer.is_configured() {
        return Err(ApiError::invalid(
            "secret_key_missing",
            "this server has no secret key to protect stream keys with: set KEZDESU_SECRET_KEY (see the README)",
        ));
    }
    fields.stream_key_sealed = state
        .sealer
        .seal(key)
        .map_err(|error| ApiError::Internal(format!("sealing a stream key: {error}")))?;
    fields.key_hint = restream::masked_key(key);
    Ok(fields)
}

fn view(state: &AppState, destination: &Destination) -> DestinationView {
    let status = match destination.owner {
        DestinationOwner::Meeting(meeting) => state.egress.status(meeting, destination.id),
        DestinationOwner::Account(_) => None,
    };
    DestinationView {
        id: destination.id,
        platform: destination.platform,
        name: destination.name.clone(),
        ingest_url: destination.ingest_url.clone(),
        stream_key: destination.key_hint.clone(),
        enabled: destination.enabled,
        version: destination.version,
        status,
    }
}
