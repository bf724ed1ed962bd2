//! Staff accounts, managed by admins.

use super::caller::Caller;
use super::problem::{ApiJson, ApiPath};
use super::{ApiError, AppState, Problem};
use crate::auth::{check_new_password, hash_password};
use crate::store::{AccountChanges, NewAccount};
use crate::wire::AccountView;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use jiff::Timestamp;
use kezdesu_core::text;
use kezdesu_core::{AccountId, Role, TerritoryId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

const MAX_DISPLAY_NAME_CHARS: usize = 100;

#[derive(Serialize, Deserialize, ToSchema)]
pub struct AccountList {
    pub accounts: Vec<AccountView>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAccount {
    /// 3 to 64 characters: lower-case Latin letters, digits, `.`, `-` and `_`.
    #[schema(pattern = "^[a-z0-9._-]{3,64}$")]
    pub login: String,
    #[schema(min_length = 1)]
    pub display_name: String,
    pub role: Role,
    /// 10 to 256 characters.
    #[schema(min_length = 10, max_length = 256)]
    pub password: String,
    /// For an akim: the territory they govern, which sets how far ahead their meetings are
    /// announced and what their calendar covers.
    pub territory_id: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAccount {
    pub display_name: Option<String>,
    pub role: Option<Role>,
    /// A new password; ends every sign-in of the account, except the caller's own when an admin
    /// changes their own.
    #[schema(min_length = 10, max_length = 256)]
    pub password: Option<String>,
    /// Disabling ends every sign-in of the account. An admin cannot disable themselves.
    pub disabled: Option<bool>,
    /// For an akim: the territory they govern.
    pub territory_id: Option<i64>,
}

fn require_admin(caller: &Caller) -> Result<(), ApiError> {
    if caller.principal.may_manage_accounts() {
        Ok(())
    } else {
        Err(ApiError::Forbidden("only admins manage accounts"))
    }
}

fn check_login(login: &str) -> Result<String, ApiError> {
    let valid_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_');
    if (3..=64).contains(&login.len()) && login.chars().all(valid_char) {
        Ok(login.to_owned())
    } else {
        Err(ApiError::invalid(
            "invalid_login",
            "login must be 3 to 64 characters of a-z, 0-9, '.', '-' and '_'",
        ))
    }
}

fn clean_display_name(raw: &str) -> Result<String, ApiError> {
    text::clean(raw, MAX_DISPLAY_NAME_CHARS, false)
        .map_err(|error| ApiError::invalid("invalid_display_name", format!("display_name {error}")))
}

async fn hash_new_password(password: String) -> Result<String, ApiError> {
    check_new_password(&password).map_err(|why| ApiError::invalid("weak_password", why))?;
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|error| ApiError::Internal(format!("hashing: {error}")))?
        .map_err(|error| ApiError::Internal(format!("hashing: {error}")))
}

/// Lists every account.
#[utoipa::path(
    get, path = "/api/accounts", tag = "accounts",
    responses((status = 200, body = AccountList), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = []))
)]
pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<AccountList>, ApiError> {
    require_admin(&caller)?;
    let accounts = state.store.accounts().await?;
    Ok(Json(AccountList { accounts: accounts.iter().map(|a| AccountView::of(a, &state.clock)).collect() }))
}

/// Creates an account.
#[utoipa::path(
    post, path = "/api/accounts", tag = "accounts",
    request_body = CreateAccount,
    responses(
        (status = 201, body = AccountView),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem, description = "The login is taken"),
        (status = 422, body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(request): ApiJson<CreateAccount>,
) -> Result<(StatusCode, Json<AccountView>), ApiError> {
    require_admin(&caller)?;
    let login = check_login(request.login.trim())?;
    let display_name = clean_display_name(&request.display_name)?;
    let password_hash = hash_new_password(request.password).await?;
    let account = state
        .store
        .create_account(
            NewAccount {
                login,
                display_name,
                role: request.role,
                password_hash,
                territory: request.territory_id.map(TerritoryId),
            },
            Timestamp::now(),
        )
        .await?;
    tracing::info!(account = %account.id, role = account.role.as_str(), "account created");
    Ok((StatusCode::CREATED, Json(AccountView::of(&account, &state.clock))))
}

/// Shows one account.
#[utoipa::path(
    get, path = "/api/accounts/{id}", tag = "accounts",
    params(("id" = i64, Path, description = "Account id")),
    responses((status = 200, body = AccountView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = []))
)]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<AccountView>, ApiError> {
    require_admin(&caller)?;
    let account = state.store.account(AccountId(id)).await?;
    Ok(Json(AccountView::of(&account, &state.clock)))
}

/// Changes an account's name, role, password or whether it is disabled.
#[utoipa::path(
    patch, path = "/api/accounts/{id}", tag = "accounts",
    params(("id" = i64, Path, description = "Account id")),
    request_body = UpdateAccount,
    responses(
        (status = 200, body = AccountView),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "It would leave no enabled admin (`last_admin`), or an admin would disable or demote themselves (`own_account`)"),
        (status = 422, body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<UpdateAccount>,
) -> Result<Json<AccountView>, ApiError> {
    require_admin(&caller)?;
    let id = AccountId(id);
    let own_account = caller.account.as_ref().is_some_and(|account| account.id == id);
    // An admin who disabled or demoted themselves would be locked out by their own hand, with
    // their session ended; another admin must do it.
    if own_account && (request.disabled == Some(true) || request.role.is_some_and(|role| role != Role::Admin))
    {
        return Err(ApiError::conflict(
            "own_account",
            "an admin cannot disable or demote their own account; another admin must",
        ));
    }
    let display_name = request.display_name.as_deref().map(clean_display_name).transpose()?;
    let password_hash = match request.password {
        Some(password) => Some(hash_new_password(password).await?),
        None => None,
    };
    let ends_sign_ins = password_hash.is_some() || request.disabled == Some(true) || request.role.is_some();
    let changes = AccountChanges {
        display_name,
        role: request.role,
        password_hash,
        disabled: request.disabled,
        territory: request.territory_id.map(TerritoryId),
    };
    let account = state.store.update_account(id, changes, Timestamp::now()).await?;
    if ends_sign_ins {
        // An admin changing their own password stays signed in where they did it.
        let keep = own_account.then_some(caller.token_hash.as_str());
        state.store.delete_staff_sessions_of(id, keep).await?;
    }
    tracing::info!(account = %id, "account updated");
    Ok(Json(AccountView::of(&account, &state.clock)))
}
