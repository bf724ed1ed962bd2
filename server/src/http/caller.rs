//! Who is calling: the bearer token or session cookie, resolved to a principal.
//!
//! Browsers send the HttpOnly cookie; API clients send `Authorization: Bearer <token>`. Either
//! way only the token's hash is looked up, and the token itself is never logged.

use super::{ApiError, AppState, ClientAddress};
use crate::auth::token_hash;
use crate::store::{Account, TokenOwner};
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use axum_extra::extract::CookieJar;
use jiff::Timestamp;
use kezdesu_core::Principal;
use std::net::IpAddr;

/// The cookie that carries a staff sign-in for the web pages.
pub const SESSION_COOKIE: &str = "kezdesu_session";

/// An authenticated caller: staff or a viewer.
pub struct Caller {
    pub principal: Principal,
    /// The staff account, when the caller is staff.
    pub account: Option<Account>,
    /// When the caller's sign-in ends.
    pub expires_at: Timestamp,
    /// The hash of the token used, so that sign-out can end exactly this sign-in.
    pub token_hash: String,
    /// The account's or the viewer's display name.
    pub name: String,
}

impl Caller {
    /// The staff account, or 403 for a viewer.
    pub fn staff(&self) -> Result<&Account, ApiError> {
        self.account.as_ref().ok_or(ApiError::Forbidden("this needs a staff account, not a viewer token"))
    }
}

/// The token from `Authorization: Bearer`, else from the session cookie.
fn presented_token(parts: &Parts) -> Result<Option<String>, ApiError> {
    if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
        let value = value.to_str().map_err(|_| ApiError::Unauthenticated)?;
        // The scheme name is case-insensitive (RFC 9110, section 11.1).
        let (scheme, token) = value.split_once(' ').ok_or(ApiError::Unauthenticated)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(ApiError::Unauthenticated);
        }
        let token = token.trim();
        return if token.is_empty() { Err(ApiError::Unauthenticated) } else { Ok(Some(token.to_owned())) };
    }
    Ok(session_cookie(&parts.headers))
}

/// The sign-in token in the session cookie, if any.
pub fn session_cookie(headers: &axum::http::HeaderMap) -> Option<String> {
    let jar = CookieJar::from_headers(headers);
    jar.get(SESSION_COOKIE).map(|cookie| cookie.value().to_owned()).filter(|token| !token.is_empty())
}

async fn resolve(parts: &Parts, state: &AppState) -> Result<Option<Caller>, ApiError> {
    let Some(token) = presented_token(parts)? else { return Ok(None) };
    token_owner(state, &token).await
}

/// The live owner of `token`, if any.
pub async fn token_owner(state: &AppState, token: &str) -> Result<Option<Caller>, ApiError> {
    let hash = token_hash(token);
    let owner = state.store.token_owner(&hash, Timestamp::now()).await?;
    Ok(owner.map(|owner| match owner {
        TokenOwner::Staff { account, expires_at } => Caller {
            principal: Principal::Staff { account: account.id, role: account.role },
            name: account.display_name.clone(),
            account: Some(account),
            expires_at,
            token_hash: hash,
        },
        TokenOwner::Viewer(viewer) => Caller {
            principal: Principal::Viewer { viewer: viewer.id, meeting: viewer.meeting },
            name: viewer.display_name.clone(),
            account: None,
            expires_at: viewer.expires_at,
            token_hash: hash,
        },
    }))
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
        resolve(parts, state).await?.ok_or(ApiError::Unauthenticated)
    }
}

/// The client's IP address, for per-client rate limits: the peer's own, or, when the peer is a
/// trusted proxy (`server.trusted_proxies`), the nearest untrusted address in
/// `X-Forwarded-For`. Headers from anyone else are ignored, so they cannot be forged.
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<ClientIp, ApiError> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<ClientAddress>>()
            .map(|ConnectInfo(ClientAddress(address))| address.ip())
            .ok_or_else(|| ApiError::Internal("the connection's address is missing".to_owned()))?;
        let trusted = &state.config.server.trusted_proxies;
        if !trusted.contains(&peer) {
            return Ok(ClientIp(peer));
        }
        let forwarded: Vec<IpAddr> = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map_while(|hop| hop.trim().parse().ok())
            .collect();
        // Each proxy appends the address it saw, so the rightmost untrusted hop is the client.
        let client = forwarded.iter().rev().find(|hop| !trusted.contains(hop)).or(forwarded.first());
        Ok(ClientIp(client.copied().unwrap_or(peer)))
    }
}

impl axum::extract::OptionalFromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    /// On public endpoints a caller is optional; a token that names nobody counts as none.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Option<Caller>, ApiError> {
        match resolve(parts, state).await {
            Ok(caller) => Ok(caller),
            Err(ApiError::Unauthenticated) => Ok(None),
            Err(other) => Err(other),
        }
    }
}
