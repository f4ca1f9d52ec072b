//! The HTTP surface: `/graphql` (POST runs operations; GET runs queries, or
//! serves GraphiQL to a browser), `/graphql/ws`, `/graphiql/…` (its assets), `/healthz`, `/readyz`,
//! `/metrics`, `/exports/{id}` (deliverables); CORS, request ids, tracing.

mod body;
mod exports;
mod graphiql;
pub mod idempotency;
pub mod operation;
pub mod persisted;
pub mod ws;

pub use body::MAX_BODY_BYTES;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, State, WebSocketUpgrade};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use tower_http::LatencyUnit;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::auth::throttle::ClientAddr;
use crate::graphql::{AtriumSchema, build_schema};
use crate::state::AppState;
use persisted::PersistedQueries;

#[derive(Clone)]
pub(crate) struct HttpState {
    app: AppState,
    schema: AtriumSchema,
    /// Queries sent once with their hash, for automatic persisted queries.
    persisted: Arc<PersistedQueries>,
}

/// Bytes of query text kept for automatic persisted queries.
const PERSISTED_QUERY_BYTES: usize = 16 << 20;

pub fn router(app: AppState) -> Router {
    let schema = build_schema(Some(app.clone()));
    let cors = app.config.origins.layer();
    Router::new()
        .route("/graphql", get(operation::get).post(operation::post))
        .route("/graphql/ws", get(websocket))
        .route(graphiql::ASSETS, get(graphiql::asset))
        .route("/exports/{id}", get(exports::download))
        .route("/activity-exports/{token}", get(exports::activity))
        .route("/files/{workspace}/{name}", get(exports::file))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(HttpState {
            app,
            schema,
            persisted: Arc::new(PersistedQueries::new(PERSISTED_QUERY_BYTES)),
        })
        .layer(cors)
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request<_>| {
                    let request_id = req
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default();
                    tracing::info_span!(
                        "request",
                        method = %req.method(),
                        path = %req.uri().path(),
                        request_id = %request_id,
                        operation = tracing::field::Empty,
                        otel.kind = "server",
                    )
                })
                // One line per request: its span (method, path, request id,
                // operation name), status and duration.
                .on_response(
                    DefaultOnResponse::new()
                        .level(Level::INFO)
                        .latency_unit(LatencyUnit::Millis),
                ),
        )
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

fn refuse(status: StatusCode, code: &str, message: &str) -> Response {
    operation::refusal(operation::Media::Json, status, code, message)
}

async fn websocket(
    State(state): State<HttpState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    if !state.app.config.origins.admits_websocket(&headers) {
        return refuse(
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            "this origin may not open a WebSocket here (CORS_ALLOWED_ORIGINS)",
        );
    }
    let Some(protocol) = crate::http::ws::protocol(&headers) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "BAD_USER_INPUT",
            "ask for the graphql-transport-ws or graphql-ws subprotocol",
        );
    };
    // Operations over the socket are limited per client address too.
    let client = peer.map(|Extension(ConnectInfo(peer))| {
        ClientAddr::resolve(peer.ip(), &headers, &state.app.config.trusted_proxies)
    });
    crate::http::ws::upgrade(state.schema, state.app, protocol, client, upgrade).await
}

async fn metrics(State(state): State<HttpState>) -> Response {
    let (feeds, subscribers) = state.app.hub.load();
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.app.metrics.render(feeds, subscribers),
    )
        .into_response()
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<HttpState>) -> Response {
    match state.app.db.ping().await {
        Ok(()) => "ready".into_response(),
        Err(err) => {
            tracing::warn!(error = %err, "database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
        }
    }
}
