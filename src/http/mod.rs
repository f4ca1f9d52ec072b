//! The HTTP surface: `/graphql` (POST runs operations; GET runs queries, or
//! serves GraphiQL to a browser), `/graphql/ws`, `/graphiql/…` (its assets), `/healthz`, `/readyz`,
//! `/metrics`; CORS, request ids, tracing.

mod body;
mod graphiql;
pub mod idempotency;
pub mod operation;
pub mod origin;
pub mod persisted;

pub use body::MAX_BODY_BYTES;

use std::future::Future;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State, WebSocketUpgrade};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use tokio::net::TcpListener;
use tower_http::LatencyUnit;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::auth::throttle::ClientAddr;
use crate::config::Config;
use crate::graphql::{AtriumSchema, build_schema};
use crate::state::AppState;

#[derive(Clone)]
pub(crate) struct HttpState {
    app: AppState,
    schema: AtriumSchema,
}

pub fn router(app: AppState) -> Router {
    let schema = build_schema(Some(app.clone()));
    let cors = app.config.origins.layer();
    Router::new()
        .route("/graphql", get(operation::get).post(operation::post))
        .route("/graphql/ws", get(websocket))
        .route(graphiql::ASSETS, get(graphiql::asset))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(HttpState { app, schema })
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
    let Some(protocol) = crate::live::ws::protocol(&headers) else {
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
    crate::live::ws::upgrade(state.schema, state.app, protocol, client, upgrade).await
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

/// A server bound to its address with its database migrated, ready to run.
pub struct Server {
    listener: TcpListener,
    state: AppState,
}

impl Server {
    pub async fn build(mut config: Config) -> anyhow::Result<Self> {
        let db = crate::db::connect(&config.database_url, config.db_max_connections).await?;
        crate::db::migrate(&db).await?;
        let listener = TcpListener::bind(&config.bind_addr).await?;
        let addr = listener.local_addr()?;
        if config.public_url.is_none() {
            config.public_url = Some(format!("http://{addr}"));
        }
        Ok(Self {
            listener,
            state: AppState::new(db, config),
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        crate::jobs::spawn(&self.state).map_err(std::io::Error::other)?;
        tracing::info!("listening on http://{}", self.listener.local_addr()?);
        let limits = self.state.config.connections;
        crate::serve::serve(self.listener, router(self.state), limits, shutdown).await
    }
}
