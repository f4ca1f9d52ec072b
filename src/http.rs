//! The HTTP surface: `/graphql` (POST runs operations, GET serves GraphiQL),
//! `/healthz`, `/readyz`; request ids, tracing, and limits on what a request
//! may carry.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;

use async_graphql::http::GraphiQLSource;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::WebSocketUpgrade;
use axum::extract::{ConnectInfo, State};
use axum::http::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, Request, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use futures_util::StreamExt;
use serde_json::json;
use tokio::net::TcpListener;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::auth::Identity;
use crate::auth::throttle::ClientAddr;
use crate::config::Config;
use crate::error::ensure_codes;
use crate::graphql::{AtriumSchema, RequestCache, build_schema};
use crate::state::AppState;

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 1 << 20;

#[derive(Clone)]
struct HttpState {
    app: AppState,
    schema: AtriumSchema,
}

pub fn router(app: AppState) -> Router {
    let schema = build_schema(Some(app.clone()));
    Router::new()
        .route("/graphql", get(graphiql).post(graphql))
        .route("/graphql/ws", get(websocket))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(HttpState { app, schema })
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
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
                )
            }),
        )
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// A response with one error and no data, for requests refused before
/// GraphQL execution.
fn refuse(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    (status, Json(body)).into_response()
}

async fn graphql(
    State(state): State<HttpState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let body = match read_body(&headers, body).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let is_json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "BAD_USER_INPUT",
            "send operations as Content-Type: application/json",
        );
    }
    if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return refuse(
            StatusCode::BAD_REQUEST,
            "BAD_USER_INPUT",
            "batched operations are not accepted; send one operation per request",
        );
    }
    let request: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(_) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "BAD_USER_INPUT",
                "the body must be a JSON object with `query`, and optionally `variables` and `operationName`",
            );
        }
    };
    let identity = match Identity::from_headers(&headers, &state.app.keys) {
        Ok(identity) => identity,
        Err(err) => return refuse(StatusCode::OK, err.code(), &err.to_string()),
    };
    let mut request = request.data(identity).data(RequestCache::default());
    if let Some(Extension(ConnectInfo(peer))) = peer {
        let client = ClientAddr::resolve(peer.ip(), &headers, &state.app.config.trusted_proxies);
        request = request.data(client);
    }
    let mut response = state.schema.execute(request).await;
    // Whatever the request wrote is now committed: let subscribers see it.
    state.app.hub.poke();
    ensure_codes(&mut response);
    let metrics = &state.app.metrics;
    metrics.graphql_requests.fetch_add(1, Ordering::Relaxed);
    if !response.errors.is_empty() {
        metrics.graphql_errors.fetch_add(1, Ordering::Relaxed);
    }
    Json(response).into_response()
}

/// Largest body read and thrown away after a refusal, so that the client,
/// still sending, can read the 413 instead of a reset connection.
const DRAIN_BYTES: usize = 16 << 20;
const DRAIN_TIME: Duration = Duration::from_secs(5);

/// The request body, or a 413 once a body past `MAX_BODY_BYTES` has been
/// read to its end (up to `DRAIN_BYTES`).
async fn read_body(headers: &HeaderMap, body: Body) -> Result<Bytes, Response> {
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let too_large = || {
        let mut response = refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            &format!("a request body has at most {MAX_BODY_BYTES} bytes"),
        );
        response
            .headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
        response
    };
    if declared.is_some_and(|n| n > DRAIN_BYTES) {
        return Err(too_large());
    }
    let mut stream = body.into_data_stream();
    let mut collected = Vec::with_capacity(declared.unwrap_or(0).min(MAX_BODY_BYTES));
    let mut seen = 0usize;
    let read = tokio::time::timeout(DRAIN_TIME, async {
        while let Some(chunk) = stream.next().await {
            let Ok(chunk) = chunk else { return false };
            seen += chunk.len();
            if seen <= MAX_BODY_BYTES {
                collected.extend_from_slice(&chunk);
            } else if seen > DRAIN_BYTES {
                break;
            }
        }
        true
    })
    .await;
    if seen > MAX_BODY_BYTES {
        return Err(too_large());
    }
    match read {
        Ok(true) => Ok(Bytes::from(collected)),
        _ => Err(refuse(
            StatusCode::BAD_REQUEST,
            "BAD_USER_INPUT",
            "the request body could not be read",
        )),
    }
}

async fn websocket(
    State(state): State<HttpState>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let Some(protocol) = crate::live::ws::protocol(&headers) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "BAD_USER_INPUT",
            "ask for the graphql-transport-ws or graphql-ws subprotocol",
        );
    };
    crate::live::ws::upgrade(state.schema, state.app, protocol, upgrade).await
}

async fn graphiql() -> Html<String> {
    Html(
        GraphiQLSource::build()
            .endpoint("/graphql")
            .subscription_endpoint("/graphql/ws")
            .title("Atrium")
            .finish(),
    )
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
