//! Which web pages may call the API: CORS for HTTP, and the same list for
//! the WebSocket's `Origin` (which browsers send and CORS does not cover).

use std::time::Duration;

use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, HOST, ORIGIN};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// The origins allowed to call the API from a browser.
#[derive(Clone, Debug, Default)]
pub struct Origins {
    /// Exact origins (`https://app.example.com`); `*` allows any.
    pub allowed: Vec<String>,
    /// Whether browsers may send cookies and credentials along.
    pub credentials: bool,
}

impl Origins {
    /// Reads `CORS_ALLOWED_ORIGINS`: comma-separated exact origins, or `*`.
    pub fn parse(list: &str, credentials: bool) -> anyhow::Result<Self> {
        let allowed: Vec<String> = list
            .split(',')
            .map(|o| o.trim().trim_end_matches('/').to_owned())
            .filter(|o| !o.is_empty())
            .collect();
        for origin in &allowed {
            if origin != "*" && !(origin.starts_with("http://") || origin.starts_with("https://")) {
                anyhow::bail!(
                    "CORS_ALLOWED_ORIGINS: `{origin}` is not an origin such as https://app.example.com"
                );
            }
        }
        if credentials && allowed.iter().any(|o| o == "*") {
            anyhow::bail!("CORS_ALLOWED_ORIGINS `*` cannot go with CORS_ALLOW_CREDENTIALS");
        }
        Ok(Self {
            allowed,
            credentials,
        })
    }

    fn any(&self) -> bool {
        self.allowed.iter().any(|o| o == "*")
    }

    /// The CORS layer answering preflights and decorating responses.
    pub fn layer(&self) -> CorsLayer {
        let origins = if self.any() {
            AllowOrigin::any()
        } else {
            AllowOrigin::list(
                self.allowed
                    .iter()
                    .filter_map(|o| HeaderValue::from_str(o).ok()),
            )
        };
        CorsLayer::new()
            .allow_origin(origins)
            .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
            .allow_headers([
                AUTHORIZATION,
                CONTENT_TYPE,
                HeaderName::from_static("apollo-require-preflight"),
                HeaderName::from_static("x-apollo-operation-name"),
                HeaderName::from_static("idempotency-key"),
                HeaderName::from_static("x-request-id"),
            ])
            .expose_headers([
                HeaderName::from_static("x-request-id"),
                HeaderName::from_static("retry-after"),
                HeaderName::from_static("idempotent-replayed"),
            ])
            .allow_credentials(self.credentials)
            .max_age(Duration::from_secs(600))
    }

    /// Whether a WebSocket handshake may go on: no `Origin` (not a
    /// browser), the server's own origin, or one on the list.
    pub fn admits_websocket(&self, headers: &HeaderMap) -> bool {
        let Some(origin) = headers.get(ORIGIN).and_then(|v| v.to_str().ok()) else {
            return true;
        };
        let origin = origin.trim_end_matches('/');
        let same_origin = headers
            .get(HOST)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|host| {
                origin
                    .split_once("://")
                    .is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(host))
            });
        same_origin || self.any() || self.allowed.iter().any(|o| o.eq_ignore_ascii_case(origin))
    }
}
