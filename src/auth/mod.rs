//! Who is calling: the request identity read from the `Authorization`
//! header, access tokens, passwords, and API key secrets with their
//! verification and usage counts.

pub mod api_key;
pub mod email;
pub mod jwt;
pub mod key_secret;
pub mod key_usage;
pub mod password;
pub mod throttle;
mod user;

pub use user::User;

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;

use crate::access::Principal;
use crate::error::{AppError, AppResult};

/// The authenticated caller of one request, if any: a person proven by an
/// access token, or an API key (verified by the HTTP layer before the
/// request runs, and over a WebSocket when a subscription starts).
#[derive(Clone, Debug, Default)]
pub struct Identity {
    /// The caller, once known: a person, or a verified key.
    pub principal: Option<Principal>,
    /// An API key secret not yet verified (its checksum is right).
    pub key_secret: Option<String>,
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

    /// Reads `Bearer <accessToken>` or `Bearer atr_…` (an API key, whose
    /// checksum is checked here, before any lookup).
    pub fn from_authorization(value: &str, keys: &jwt::Keys) -> AppResult<Self> {
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or(AppError::Unauthenticated(
                "the Authorization header must be `Bearer <accessToken>` or `Bearer <API key>`",
            ))?
            .trim();
        if key_secret::looks_like_key(token) {
            key_secret::parse(token).ok_or(AppError::Unauthenticated(
                "malformed API key (its checksum does not match)",
            ))?;
            return Ok(Self {
                key_secret: Some(token.to_owned()),
                ..Self::default()
            });
        }
        let claims = keys.verify(token)?;
        Ok(Self {
            principal: Some(Principal::Person {
                user_id: claims.sub,
            }),
            key_secret: None,
            expires_at: Some(claims.exp),
        })
    }
}
