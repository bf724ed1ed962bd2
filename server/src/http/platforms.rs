//! Comments from the akimat's social-media accounts: an akim's connected platform accounts,
//! and what each meeting follows on each platform, with its reader's state.
//!
//! Only the akim and admins connect an akim's accounts. A credential is write-only: it is
//! sealed with the server's secret key before it is stored, and shown only as a masked hint;
//! without a secret key configured, nothing is stored (422 `secret_key_missing`). What a
//! meeting follows is set by its akim and admins, and read by them and moderators.

use super::caller::Caller;
use super::problem::{ApiJson, ApiPath};
use super::{ApiError, AppState, Problem};
use crate::store::PlatformCredentialRecord;
use crate::wire::{PlatformAccountList, PlatformAccountView, PlatformFeedList, PlatformFeedView};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::Timestamp;
use kezdesu_core::platforms::{Credential, Follow, PlatformProblem, SocialPlatform};
use kezdesu_core::{AccountId, MeetingId, Role};
use serde::Deserialize;
use utoipa::ToSchema;

/// A platform account's credential. Which fields each platform takes: YouTube `client_id`,
/// `client_secret` and `refresh_token` (an OAuth client of the akimat's Google Cloud project,
/// and a refresh token with the `youtube.force-ssl` scope); Telegram `bot_token`; VK and
/// Facebook `access_token` (a community token; a Page token). Write-only.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialBody {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub refresh_token: Option<String>,
    pub bot_token: Option<String>,
    pub access_token: Option<String>,
}

/// An akim's connected platform accounts (never their credentials).
#[utoipa::path(
    get, path = "/api/accounts/{id}/platforms", tag = "broadcast",
    params(("id" = i64, Path, description = "The akim's account id")),
    responses(
        (status = 200, body = PlatformAccountList),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn list_accounts(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<PlatformAccountList>, ApiError> {
    let akim = akim_account(&state, &caller, AccountId(id)).await?;
    let records = state.store.platform_credentials(akim).await?;
    Ok(Json(PlatformAccountList { platforms: records.iter().map(account_view).collect() }))
}

/// Connects an akim's account on a platform, replacing the credential connected before. The
/// meetings' readers that use it start over with it.
#[utoipa::path(
    put, path = "/api/accounts/{id}/platforms/{platform}", tag = "broadcast",
    params(
        ("id" = i64, Path, description = "The akim's account id"),
        ("platform" = SocialPlatform, Path, description = "youtube, telegram, vk or facebook"),
    ),
    request_body = CredentialBody,
    responses(
        (status = 200, body = PlatformAccountView),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem, description = "A missing or malformed token, or no secret key configured"),
    ),
    security(("bearer" = []))
)]
pub async fn connect_account(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, platform)): ApiPath<(i64, String)>,
    ApiJson(body): ApiJson<CredentialBody>,
) -> Result<Json<PlatformAccountView>, ApiError> {
    let akim = akim_account(&state, &caller, AccountId(id)).await?;
    let platform = platform_of(&platform)?;
    let credential = credential_of(platform, body).map_err(invalid_credential)?;
    credential.check().map_err(invalid_credential)?;
    if !state.sealer.is_configured() {
        return Err(ApiError::invalid(
            "secret_key_missing",
            "this server has no secret key to protect platform tokens with: set KEZDESU_SECRET_KEY (see the README)",
        ));
    }
    let json = serde_json::to_string(&credential).map_err(|error| ApiError::Internal(error.to_string()))?;
    let record = PlatformCredentialRecord {
        account: akim,
        platform,
        credential_sealed: state
            .sealer
            .seal(&json)
            .map_err(|error| ApiError::Internal(format!("sealing a platform credential: {error}")))?,
        hint: credential.hint(),
        connected_at: Timestamp::now(),
    };
    state.store.put_platform_credential(&record).await?;
    tracing::info!(account = %akim, platform = platform.as_str(), "platform account connected");
    if platform == SocialPlatform::Youtube {
        state.store.follow_restreamed_youtube(akim, None, Timestamp::now()).await?;
    }
    state.platforms.feeds_changed();
    Ok(Json(account_view(&record)))
}

/// Disconnects an akim's account on a platform; the meetings' readers that used it stop.
#[utoipa::path(
    delete, path = "/api/accounts/{id}/platforms/{platform}", tag = "broadcast",
    params(
        ("id" = i64, Path, description = "The akim's account id"),
        ("platform" = SocialPlatform, Path, description = "youtube, telegram, vk or facebook"),
    ),
    responses(
        (status = 204, description = "Disconnected"),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn disconnect_account(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, platform)): ApiPath<(i64, String)>,
) -> Result<StatusCode, ApiError> {
    let akim = akim_account(&state, &caller, AccountId(id)).await?;
    let platform = platform_of(&platform)?;
    state.store.delete_platform_credential(akim, platform).await?;
    tracing::info!(account = %akim, platform = platform.as_str(), "platform account disconnected");
    state.platforms.feeds_changed();
    Ok(StatusCode::NO_CONTENT)
}

/// What a meeting follows on each platform, with each reader's state and its last moderation
/// actions sent back.
#[utoipa::path(
    get, path = "/api/meetings/{id}/platforms", tag = "broadcast",
    params(("id" = i64, Path, description = "Meeting id")),
    responses(
        (status = 200, body = PlatformFeedList),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn list_feeds(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<PlatformFeedList>, ApiError> {
    let meeting = MeetingId(id);
    let akim = state.store.meeting(meeting).await?.akim;
    // Moderators see the readers: their console shows what was sent back.
    if !caller.principal.may_change_phase(akim) {
        return Err(ApiError::Forbidden(
            "only the meeting's akim, moderators and admins see its platform feeds",
        ));
    }
    Ok(Json(feed_list(&state, meeting, akim).await?))
}

/// Follows a platform's comments in a meeting (the body is what to follow, without
/// `platform`); the same platform again replaces what is followed there.
#[utoipa::path(
    put, path = "/api/meetings/{id}/platforms/{platform}", tag = "broadcast",
    params(
        ("id" = i64, Path, description = "Meeting id"),
        ("platform" = SocialPlatform, Path, description = "youtube, telegram, vk or facebook"),
    ),
    request_body(content = Follow, description = "youtube {live_chat_id?, video_id?}; telegram {chat_id, post_id}; vk {owner_id, video_id | post_id}; facebook {live_video_id}"),
    responses(
        (status = 200, body = PlatformFeedView),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn follow(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, platform)): ApiPath<(i64, String)>,
    ApiJson(mut body): ApiJson<serde_json::Map<String, serde_json::Value>>,
) -> Result<Json<PlatformFeedView>, ApiError> {
    let meeting = MeetingId(id);
    let akim = managed_meeting(&state, &caller, meeting).await?;
    let platform = platform_of(&platform)?;
    if body.contains_key("platform") {
        return Err(ApiError::invalid("invalid_follow", "the platform is named by the path, not the body"));
    }
    body.insert("platform".to_owned(), platform.as_str().into());
    let follow: Follow = serde_json::from_value(serde_json::Value::Object(body))
        .map_err(|error| ApiError::invalid("invalid_follow", error.to_string()))?;
    follow.check().map_err(|problem| ApiError::invalid("invalid_follow", problem.to_string()))?;
    state.store.put_meeting_platform(meeting, &follow, Timestamp::now()).await?;
    state.platforms.feeds_changed();
    let list = feed_list(&state, meeting, akim).await?;
    list.platforms
        .into_iter()
        .find(|feed| feed.platform == platform)
        .map(Json)
        .ok_or(ApiError::NotFound("meeting platform"))
}

/// Stops following a platform's comments in a meeting; the comments already taken stay.
#[utoipa::path(
    delete, path = "/api/meetings/{id}/platforms/{platform}", tag = "broadcast",
    params(
        ("id" = i64, Path, description = "Meeting id"),
        ("platform" = SocialPlatform, Path, description = "youtube, telegram, vk or facebook"),
    ),
    responses(
        (status = 204, description = "No longer followed"),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn unfollow(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, platform)): ApiPath<(i64, String)>,
) -> Result<StatusCode, ApiError> {
    let meeting = MeetingId(id);
    managed_meeting(&state, &caller, meeting).await?;
    let platform = platform_of(&platform)?;
    state.store.delete_meeting_platform(meeting, platform).await?;
    state.platforms.feeds_changed();
    Ok(StatusCode::NO_CONTENT)
}

async fn feed_list(
    state: &AppState,
    meeting: MeetingId,
    akim: AccountId,
) -> Result<PlatformFeedList, ApiError> {
    let feeds = state.store.meeting_platforms(meeting).await?;
    let connected = state.store.platform_credentials(akim).await?;
    let statuses = state.platforms.statuses(meeting).await?;
    Ok(PlatformFeedList {
        platforms: feeds
            .into_iter()
            .zip(statuses)
            .map(|(feed, status)| PlatformFeedView {
                platform: feed.platform(),
                connected: connected.iter().any(|record| record.platform == feed.platform()),
                follow: feed.follow,
                status,
            })
            .collect(),
    })
}

async fn managed_meeting(
    state: &AppState,
    caller: &Caller,
    meeting: MeetingId,
) -> Result<AccountId, ApiError> {
    let akim = state.store.meeting(meeting).await?.akim;
    if !caller.principal.may_manage_broadcast(akim) {
        return Err(ApiError::Forbidden(
            "only the meeting's akim and admins choose the platforms it follows",
        ));
    }
    Ok(akim)
}

async fn akim_account(state: &AppState, caller: &Caller, id: AccountId) -> Result<AccountId, ApiError> {
    if !caller.principal.may_create_meeting(id) {
        return Err(ApiError::Forbidden("only the akim and admins connect an akim's platform accounts"));
    }
    let account = state.store.account(id).await?;
    if account.role != Role::Akim {
        // The path names no akim, so there is nothing at it: 404, as for an account that is not.
        return Err(ApiError::Absent {
            code: "not_an_akim",
            detail: "platform accounts belong to akims' accounts".to_owned(),
        });
    }
    Ok(id)
}

/// The platform the path names. Another name names nothing: 404, as an id that is not a number.
fn platform_of(text: &str) -> Result<SocialPlatform, ApiError> {
    SocialPlatform::parse(text).ok_or_else(|| ApiError::Absent {
        code: "unknown_platform",
        detail: "the platform must be youtube, telegram, vk or facebook".to_owned(),
    })
}

fn invalid_credential(problem: PlatformProblem) -> ApiError {
    ApiError::invalid("invalid_credential", problem.to_string())
}

/// The platform's credential from the fields it takes; any other field is a mistake.
fn credential_of(platform: SocialPlatform, body: CredentialBody) -> Result<Credential, PlatformProblem> {
    let name = platform.as_str();
    let fields = [
        ("client_id", &body.client_id),
        ("client_secret", &body.client_secret),
        ("refresh_token", &body.refresh_token),
        ("bot_token", &body.bot_token),
        ("access_token", &body.access_token),
    ];
    let takes: &[&str] = match platform {
        SocialPlatform::Youtube => &["client_id", "client_secret", "refresh_token"],
        SocialPlatform::Telegram => &["bot_token"],
        SocialPlatform::Vk | SocialPlatform::Facebook => &["access_token"],
    };
    for (field, value) in fields {
        if value.is_some() && !takes.contains(&field) {
            return Err(PlatformProblem::NotUsed(field, name));
        }
    }
    let required = |field: &'static str, value: Option<String>| {
        value.map(|value| value.trim().to_owned()).ok_or(PlatformProblem::Required(field, name))
    };
    Ok(match platform {
        SocialPlatform::Youtube => Credential::Youtube {
            client_id: required("client_id", body.client_id)?,
            client_secret: required("client_secret", body.client_secret)?,
            refresh_token: required("refresh_token", body.refresh_token)?,
        },
        SocialPlatform::Telegram => {
            Credential::Telegram { bot_token: required("bot_token", body.bot_token)? }
        }
        SocialPlatform::Vk => Credential::Vk { access_token: required("access_token", body.access_token)? },
        SocialPlatform::Facebook => {
            Credential::Facebook { access_token: required("access_token", body.access_token)? }
        }
    })
}

fn account_view(record: &PlatformCredentialRecord) -> PlatformAccountView {
    PlatformAccountView {
        platform: record.platform,
        hint: record.hint.clone(),
        connected_at: record.connected_at.to_string(),
    }
}
