//! Staff sign-in and sign-out.

use super::caller::ClientIp;
use super::caller::{Caller, SESSION_COOKIE};
use super::problem::ApiJson;
use super::{ApiError, AppState, Problem};
use crate::auth::{DECOY_HASH, new_token, token_hash, verify_password};
use crate::wire::AccountView;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    pub login: String,
    pub password: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct SignedIn {
    /// The bearer token; shown this once. Also set as an HttpOnly cookie for the web pages.
    pub token: String,
    pub expires_at: String,
    pub account: AccountView,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct CurrentSession {
    pub expires_at: String,
    pub account: AccountView,
}

/// Signs a staff member in.
#[utoipa::path(
    post, path = "/api/session", tag = "session",
    request_body = SignIn,
    responses(
        (status = 200, body = SignedIn, description = "Signed in; the token is also set as a cookie"),
        (status = 401, body = Problem, description = "Wrong login or password"),
        (status = 429, body = Problem, description = "Too many attempts from this address"),
    )
)]
pub async fn sign_in(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    jar: CookieJar,
    ApiJson(request): ApiJson<SignIn>,
) -> Result<impl IntoResponse, ApiError> {
    AppState::check_rate(&state.sign_in_limiter, client).await?;
    let account = state.store.account_by_login(request.login.trim()).await?;
    let stored_hash = match &account {
        Some(account) if !account.disabled => account.password_hash.clone(),
        // Verify against a decoy so that unknown and disabled logins take as long to refuse.
        _ => DECOY_HASH.clone(),
    };
    let password = request.password;
    let matches = tokio::task::spawn_blocking(move || verify_password(&password, &stored_hash))
        .await
        .map_err(|error| ApiError::Internal(format!("password check: {error}")))?;
    let account = match account {
        Some(account) if matches && !account.disabled => account,
        _ => return Err(ApiError::WrongCredentials),
    };
    let now = Timestamp::now();
    let expires_at = now + SignedDuration::from_hours(i64::from(state.config.auth.session_hours));
    let token = new_token();
    state.store.create_staff_session(account.id, &token_hash(&token), now, expires_at).await?;
    tracing::info!(account = %account.id, "signed in");
    let cookie = Cookie::build((SESSION_COOKIE, token.clone()))
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.config.auth.secure_cookie)
        .path("/")
        .max_age(time::Duration::hours(i64::from(state.config.auth.session_hours)))
        .build();
    let body = SignedIn {
        token,
        expires_at: state.clock.format(expires_at),
        account: AccountView::of(&account, &state.clock),
    };
    Ok((jar.add(cookie), axum::Json(body)))
}

/// Shows who is signed in.
#[utoipa::path(
    get, path = "/api/session", tag = "session",
    responses(
        (status = 200, body = CurrentSession),
        (status = 401, body = Problem, description = "Not signed in"),
        (status = 403, body = Problem, description = "A viewer token has no staff session"),
    ),
    security(("bearer" = []))
)]
pub async fn current(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<axum::Json<CurrentSession>, ApiError> {
    let account = caller.staff()?;
    Ok(axum::Json(CurrentSession {
        expires_at: state.clock.format(caller.expires_at),
        account: AccountView::of(account, &state.clock),
    }))
}

/// Signs out: ends this sign-in and clears the cookie.
#[utoipa::path(
    delete, path = "/api/session", tag = "session",
    responses((status = 204, description = "Signed out"), (status = 401, body = Problem)),
    security(("bearer" = []))
)]
pub async fn sign_out(
    State(state): State<AppState>,
    jar: CookieJar,
    caller: Caller,
) -> Result<impl IntoResponse, ApiError> {
    caller.staff()?;
    state.store.delete_staff_session(&caller.token_hash).await?;
    let removal = Cookie::build((SESSION_COOKIE, "")).path("/").build();
    Ok((jar.remove(removal), StatusCode::NO_CONTENT))
}
