//! Bearer tokens: the admin token or a tenant-scoped one.

use crate::AppState;
use crate::problem::Problem;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use coexist_core::Actor;

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller(pub Actor);

impl FromRequestParts<AppState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let bearer = bearer(&parts.headers).ok_or_else(Problem::unauthorized)?;
        state
            .directory
            .authenticate(bearer)
            .map(Caller)
            .ok_or_else(Problem::unauthorized)
    }
}

/// A teams user, by a log-in token (`Authorization: Bearer TOKEN`).
#[derive(Debug, Clone)]
pub struct TeamsUser(pub String);

/// The bearer token of a request, if any.
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
}

impl FromRequestParts<AppState> for TeamsUser {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        bearer(&parts.headers)
            .and_then(|token| state.teams.authenticate(token))
            .map(TeamsUser)
            .ok_or_else(Problem::unauthorized)
    }
}
