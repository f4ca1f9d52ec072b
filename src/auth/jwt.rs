//! Access tokens: HS256 JWTs that say who the caller is and nothing about
//! what they may do (that is read from the database on every request).

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::time::Duration;

use crate::error::{AppError, AppResult};

pub const ISSUER: &str = "atrium";
pub const AUDIENCE: &str = "atrium-api";
/// Clock skew tolerated on `exp` and `nbf`.
const LEEWAY_SECS: u64 = 5;

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
}

pub struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl Keys {
    pub fn new(secret: &str) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        Self {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            validation,
        }
    }

    /// Signs an access token for a user; returns it with its expiry.
    pub fn issue(&self, user_id: &str, ttl: Duration) -> AppResult<(String, DateTime<Utc>)> {
        let now = Utc::now();
        let expires_at = now + ttl;
        let claims = Claims {
            sub: user_id.to_owned(),
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            iat: now.timestamp(),
            nbf: now.timestamp(),
            exp: expires_at.timestamp(),
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(AppError::internal)?;
        Ok((token, expires_at))
    }

    /// Signs other claims (a signed link's) with the same key; they carry
    /// an audience of their own, so no access token passes for one.
    pub fn sign<T: Serialize>(&self, claims: &T) -> AppResult<String> {
        encode(&Header::new(Algorithm::HS256), claims, &self.encoding).map_err(AppError::internal)
    }

    /// The claims of a valid token signed by `sign` for `audience`;
    /// UNAUTHENTICATED for anything else (expired, altered, another audience).
    pub fn verify_for<T: DeserializeOwned>(&self, token: &str, audience: &str) -> AppResult<T> {
        let mut validation = self.validation.clone();
        validation.set_audience(&[audience]);
        decode::<T>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|_| AppError::Unauthenticated("invalid or expired link"))
    }

    /// The claims of a valid token; UNAUTHENTICATED for anything else.
    pub fn verify(&self, token: &str) -> AppResult<Claims> {
        decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|_| AppError::Unauthenticated("invalid or expired access token"))
    }
}
