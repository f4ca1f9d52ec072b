//! Who is calling: accounts, passwords, access and refresh tokens, and the
//! request identity read from the `Authorization` header.

pub mod email;
mod graphql;
pub mod jwt;
pub mod password;
pub mod service;
pub mod throttle;
pub mod tokens;

pub use graphql::{AuthMutation, AuthPayload, AuthQuery, User};

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;

use crate::error::{AppError, AppResult};

/// The authenticated caller of one request, if any.
#[derive(Clone, Debug, Default)]
pub struct Identity {
    pub user_id: Option<String>,
    /// When the access token stops being valid (seconds since the epoch);
    /// open subscriptions end then.
    pub expires_at: Option<i64>,
}

impl Identity {
    /// Reads a bearer token. No header is an anonymous caller; a header that
    /// is malformed or carries an invalid token is an error, never anonymous.
    pub fn from_headers(headers: &HeaderMap, keys: &jwt::Keys) -> AppResult<Self> {
        let Some(value) = headers.get(AUTHORIZATION) else {
            return Ok(Self::default());
        };
        let value = value
            .to_str()
            .map_err(|_| AppError::Unauthenticated("malformed Authorization header"))?;
        Self::from_authorization(value, keys)
    }

    /// Reads `Bearer <token>`.
    pub fn from_authorization(value: &str, keys: &jwt::Keys) -> AppResult<Self> {
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or(AppError::Unauthenticated(
                "the Authorization header must be `Bearer <accessToken>`",
            ))?;
        let claims = keys.verify(token.trim())?;
        Ok(Self {
            user_id: Some(claims.sub),
            expires_at: Some(claims.exp),
        })
    }
}
