//! Running one operation over HTTP, as the GraphQL-over-HTTP specification
//! has it: `POST` with a JSON body, or `GET` with the operation in the query
//! string (queries only). A client that accepts
//! `application/graphql-response+json` gets that media type, with 4xx for a
//! request that fails before execution and no `data` entry; one that accepts
//! only `application/json` gets 200 with the errors.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;

use async_graphql::Variables;
use async_graphql::parser::types::OperationType;
use axum::Extension;
use axum::body::Body;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::header::{ACCEPT, ALLOW, CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::body::read_body;
use super::{HttpState, graphiql, idempotency};
use crate::auth::Identity;
use crate::auth::throttle::ClientAddr;
use crate::context::RequestCache;
use crate::document::ensure_codes;
use crate::document::operation;
use crate::error::{AppError, AppResult};
use crate::graphql::LIMITS;

pub const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

/// The media type of the answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Media {
    Json,
    GraphqlResponse,
}

impl Media {
    pub fn of(headers: &HeaderMap) -> Self {
        let accepts = accepted(headers);
        if accepts.iter().any(|t| t == GRAPHQL_RESPONSE) {
            Self::GraphqlResponse
        } else {
            Self::Json
        }
    }

    fn content_type(self) -> HeaderValue {
        match self {
            Self::Json => HeaderValue::from_static("application/json"),
            Self::GraphqlResponse => {
                HeaderValue::from_static("application/graphql-response+json; charset=utf-8")
            }
        }
    }
}

/// The media types a client accepts, lower-case, without parameters.
fn accepted(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|t| t.split(';').next())
        .map(|t| t.trim().to_ascii_lowercase())
        .collect()
}

/// A response with one error and no data, for requests refused before
/// GraphQL execution.
pub fn refusal(media: Media, status: StatusCode, code: &str, message: &str) -> Response {
    let body =
        serde_json::json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, media.content_type());
    response
}

/// A request over its rate limit: RATE_LIMITED with `retryAfter`, and
/// `Retry-After`; 200 under `application/json` (so that clients keep the
/// code), 429 under `application/graphql-response+json`.
fn too_many(media: Media, err: &AppError) -> Response {
    let AppError::TooManyRequests { retry_after } = err else {
        return refusal(media, StatusCode::OK, err.code(), &err.to_string());
    };
    let status = match media {
        Media::Json => StatusCode::OK,
        Media::GraphqlResponse => StatusCode::TOO_MANY_REQUESTS,
    };
    let body = serde_json::json!({ "errors": [{
        "message": err.to_string(),
        "extensions": { "code": err.code(), "retryAfter": retry_after },
    }] });
    let mut response = (status, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, media.content_type());
    headers.insert(RETRY_AFTER, HeaderValue::from(*retry_after));
    response
}

pub(crate) async fn post(
    State(state): State<HttpState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let media = Media::of(&headers);
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    if essence.eq_ignore_ascii_case("multipart/form-data") {
        return multipart(&state, peer, &headers, media, &content_type, body).await;
    }
    let body = match read_body(&headers, media, body, super::MAX_BODY_BYTES).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let is_json = essence.eq_ignore_ascii_case("application/json");
    if !is_json {
        return refusal(
            media,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "BAD_USER_INPUT",
            "send operations as Content-Type: application/json",
        );
    }
    if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return refusal(
            media,
            StatusCode::BAD_REQUEST,
            "BAD_USER_INPUT",
            "batched operations are not accepted; send one operation per request",
        );
    }
    let request: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(_) => {
            return refusal(
                media,
                StatusCode::BAD_REQUEST,
                "BAD_USER_INPUT",
                "the body must be a JSON object with `query`, and optionally `variables`, `operationName` and `extensions`",
            );
        }
    };
    run(&state, peer, &headers, media, request, false).await
}

/// Room for the `operations` and `map` parts and the boundaries of a
/// multipart request, beyond its files.
const MULTIPART_OVERHEAD: usize = 64 << 10;

/// A GraphQL multipart request (uploads). It must carry a header a
/// cross-site form cannot send, so that no page can post one for a user.
async fn multipart(
    state: &HttpState,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: &HeaderMap,
    media: Media,
    content_type: &str,
    body: Body,
) -> Response {
    let preflighted = ["apollo-require-preflight", "x-apollo-operation-name"]
        .iter()
        .any(|name| headers.get(*name).is_some_and(|v| !v.is_empty()));
    if !preflighted {
        return refusal(
            media,
            StatusCode::BAD_REQUEST,
            "BAD_USER_INPUT",
            "multipart requests must send the header apollo-require-preflight: true (or x-apollo-operation-name)",
        );
    }
    let limit = state.app.config.upload_max_bytes;
    let body = match read_body(
        headers,
        media,
        body,
        limit.saturating_add(MULTIPART_OVERHEAD),
    )
    .await
    {
        Ok(body) => body,
        Err(response) => return response,
    };
    // Each file within the limit; the whole body within it and the overhead.
    let options = async_graphql::http::MultipartOptions::default().max_file_size(limit);
    let request =
        match async_graphql::http::receive_batch_body(Some(content_type), &body[..], options).await
        {
            Ok(async_graphql::BatchRequest::Single(request)) => request,
            Ok(async_graphql::BatchRequest::Batch(_)) => {
                return refusal(
                    media,
                    StatusCode::BAD_REQUEST,
                    "BAD_USER_INPUT",
                    "batched operations are not accepted; send one operation per request",
                );
            }
            Err(async_graphql::ParseRequestError::PayloadTooLarge) => {
                return refusal(
                    media,
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "PAYLOAD_TOO_LARGE",
                    &format!("an upload has at most {limit} bytes"),
                );
            }
            Err(err) => {
                return refusal(
                    media,
                    StatusCode::BAD_REQUEST,
                    "BAD_USER_INPUT",
                    &format!("not a GraphQL multipart request: {err}"),
                );
            }
        };
    let operation_bytes = request.query.len()
        + serde_json::to_string(&request.variables).map_or(usize::MAX, |v| v.len());
    if operation_bytes > super::MAX_BODY_BYTES {
        return refusal(
            media,
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            &format!(
                "the operation of a multipart request has at most {} bytes, like a JSON body",
                super::MAX_BODY_BYTES
            ),
        );
    }
    run(state, peer, headers, media, request, false).await
}

pub(crate) async fn get(
    State(state): State<HttpState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let params: HashMap<String, String> = raw
        .as_deref()
        .map(|raw| serde_urlencoded::from_str(raw).unwrap_or_default())
        .unwrap_or_default();
    let wants_page = accepted(&headers).iter().any(|t| t == "text/html");
    if wants_page && !params.contains_key("query") && !params.contains_key("extensions") {
        return graphiql::page();
    }
    let media = Media::of(&headers);
    let json = |name: &'static str| match params.get(name) {
        None => Ok(None),
        Some(text) => serde_json::from_str::<serde_json::Value>(text)
            .map(Some)
            .map_err(|_| name),
    };
    let (variables, extensions) = match (json("variables"), json("extensions")) {
        (Ok(v), Ok(e)) => (v, e),
        (Err(name), _) | (_, Err(name)) => {
            return refusal(
                media,
                StatusCode::BAD_REQUEST,
                "BAD_USER_INPUT",
                &format!("`{name}` must be JSON"),
            );
        }
    };
    let mut request = async_graphql::Request::new(params.get("query").cloned().unwrap_or_default());
    request.operation_name = params.get("operationName").cloned();
    if let Some(variables) = variables {
        request.variables = Variables::from_json(variables);
    }
    if let Some(serde_json::Value::Object(extensions)) = extensions {
        for (key, value) in extensions {
            if let Ok(value) = async_graphql::Value::from_json(value) {
                request.extensions.insert(key, value);
            }
        }
    }
    run(&state, peer, &headers, media, request, true).await
}

/// Whether the operation a request selects is a query (GET runs nothing
/// else). A document that does not parse is left to the executor to refuse.
fn is_query(request: &async_graphql::Request) -> bool {
    let Ok(document) = async_graphql::parser::parse_query(&request.query) else {
        return true;
    };
    operation(&document, request.operation_name.as_deref())
        .is_none_or(|(ty, _)| ty == OperationType::Query)
}

async fn run(
    state: &HttpState,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: &HeaderMap,
    media: Media,
    mut request: async_graphql::Request,
    by_get: bool,
) -> Response {
    if let Err(err) = state.persisted.resolve(&mut request) {
        let status = match (&err, media) {
            (AppError::PersistedQueryNotFound, _) | (_, Media::Json) => StatusCode::OK,
            (_, Media::GraphqlResponse) => StatusCode::BAD_REQUEST,
        };
        return refusal(media, status, err.code(), &err.to_string());
    }
    if request.query.is_empty() && media == Media::GraphqlResponse {
        return refusal(
            media,
            StatusCode::BAD_REQUEST,
            "BAD_USER_INPUT",
            "the request has no `query`",
        );
    }
    if by_get && !is_query(&request) {
        let mut response = refusal(
            media,
            StatusCode::METHOD_NOT_ALLOWED,
            "BAD_USER_INPUT",
            "only queries run by GET; send mutations by POST",
        );
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    let started = std::time::Instant::now();
    if let Some(name) = &request.operation_name {
        let name: String = name.chars().take(100).collect();
        tracing::Span::current().record("operation", name.as_str());
    }
    let client = peer.map(|Extension(ConnectInfo(peer))| {
        ClientAddr::resolve(peer.ip(), headers, &state.app.config.trusted_proxies)
    });
    let address = client.as_ref().map(|c| c.0.to_string());
    // An address past its limit gets no more lookups of presented keys.
    if let Some(retry_after) = state.app.limits.address_full(address.as_deref())
        && headers.contains_key(axum::http::header::AUTHORIZATION)
    {
        return too_many(media, &AppError::TooManyRequests { retry_after });
    }
    let identity = match identify(state, headers).await {
        Ok(identity) => identity,
        Err(err) => {
            state.app.limits.failed(address.as_deref());
            let status = match (media, &err) {
                (Media::Json, _) => StatusCode::OK,
                (Media::GraphqlResponse, AppError::Unauthenticated(_)) => StatusCode::UNAUTHORIZED,
                (Media::GraphqlResponse, _) => StatusCode::INTERNAL_SERVER_ERROR,
            };
            return refusal(media, status, err.code(), &err.to_string());
        }
    };
    if let Err(err) = state
        .app
        .limits
        .admit(identity.principal.as_ref(), address.as_deref())
    {
        return too_many(media, &err);
    }
    let key = match idempotency::key_of(headers) {
        Ok(Some(key)) if !by_get => Some(key),
        Ok(_) => None,
        Err(err) => return refusal(media, request_error(media), err.code(), &err.to_string()),
    };
    let claimed = match key {
        Some(key) => match claim(state, &identity, &request, key).await {
            Ok(Some(Claimed::Replay(response))) => return response,
            Ok(Some(Claimed::Run(owner, key, token))) => Some((owner, key, token)),
            Ok(None) => None,
            Err(err) => return refusal(media, request_error(media), err.code(), &err.to_string()),
        },
        None => None,
    };
    let Some((owner, key, token)) = claimed else {
        return execute(state, request, identity, client, media, started).await;
    };
    // Run to the end and record the outcome even if the client goes away,
    // so that a retry finds it.
    let state = state.clone();
    let task = tokio::spawn(async move {
        let response = execute(&state, request, identity, client, media, started).await;
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX)
            .await
            .unwrap_or_default();
        let kept = match idempotency::completed(&bytes) {
            true => {
                let media = parts
                    .headers
                    .get(CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("application/json");
                idempotency::finish(
                    &state.app.db,
                    &owner,
                    &key,
                    &token,
                    parts.status,
                    media,
                    &bytes,
                )
                .await
            }
            false => idempotency::release(&state.app.db, &owner, &key, &token).await,
        };
        if let Err(err) = kept {
            tracing::warn!(error = %err, "an idempotent response could not be stored");
        }
        Response::from_parts(parts, Body::from(bytes))
    });
    match task.await {
        Ok(response) => response,
        Err(err) => {
            tracing::error!(error = %err, "an idempotent request failed");
            refusal(
                media,
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL",
                "internal error",
            )
        }
    }
}

/// 400 under `application/graphql-response+json`, 200 under JSON.
fn request_error(media: Media) -> StatusCode {
    match media {
        Media::Json => StatusCode::OK,
        Media::GraphqlResponse => StatusCode::BAD_REQUEST,
    }
}

enum Claimed {
    /// Owner, key and the claim's token.
    Run(String, String, String),
    Replay(Response),
}

/// For a mutation sent with an `Idempotency-Key`: claims the key, or finds
/// the response to replay. None when the key does not apply (a query).
async fn claim(
    state: &HttpState,
    identity: &Identity,
    request: &async_graphql::Request,
    key: String,
) -> AppResult<Option<Claimed>> {
    if !idempotency::applies(&request.query, request.operation_name.as_deref())? {
        return Ok(None);
    }
    let owner = idempotency::owner(identity.principal.as_ref())?;
    let hash = idempotency::request_hash(request);
    Ok(Some(
        match idempotency::claim(&state.app.db, &owner, &key, &hash).await? {
            idempotency::Claim::Run(token) => Claimed::Run(owner, key, token),
            idempotency::Claim::Replay(response) => Claimed::Replay(response),
        },
    ))
}

/// Runs a request that passed every check, and answers it.
#[allow(clippy::too_many_arguments)]
async fn execute(
    state: &HttpState,
    request: async_graphql::Request,
    identity: Identity,
    client: Option<ClientAddr>,
    media: Media,
    started: std::time::Instant,
) -> Response {
    let mut request = request.data(identity).data(RequestCache::default());
    if let Some(client) = client {
        request = request.data(client);
    }
    let (mut response, chosen) = match LIMITS.admit(&mut request) {
        Ok(checked) => {
            let mut response = state.schema.execute(request).await;
            checked.order(&mut response);
            (response, checked.operation())
        }
        Err(err) => (async_graphql::Response::from_errors(vec![err]), None),
    };
    // Whatever the request wrote is now committed: let subscribers see it.
    state.app.hub.poke();
    ensure_codes(&mut response);
    let metrics = &state.app.metrics;
    metrics.graphql_requests.fetch_add(1, Ordering::Relaxed);
    if !response.errors.is_empty() {
        metrics.graphql_errors.fetch_add(1, Ordering::Relaxed);
    }
    let (ty, name) = match &chosen {
        Some((OperationType::Query, name)) => ("query", name.as_deref()),
        Some((OperationType::Mutation, name)) => ("mutation", name.as_deref()),
        Some((OperationType::Subscription, name)) => ("subscription", name.as_deref()),
        None => ("none", None),
    };
    let span_name = match name {
        Some(name) => format!("{ty} {}", crate::text::prefix_within(name, 100)),
        None => ty.to_owned(),
    };
    crate::telemetry::name_current_span(span_name);
    metrics.observe_request(ty, name, started.elapsed());
    answer(media, response)
}

/// The caller of a request: an access token read, or an API key verified
/// before anything runs.
async fn identify(state: &HttpState, headers: &HeaderMap) -> Result<Identity, AppError> {
    let mut identity = Identity::from_headers(headers, &state.app.keys)?;
    if let Some(secret) = identity.key_secret.take() {
        let grant =
            crate::auth::api_key::verify(&state.app.db, &state.app.key_usage, &secret).await?;
        identity.principal = Some(crate::access::Principal::Key(grant));
    }
    Ok(identity)
}

/// The HTTP answer for an executed (or refused) request.
fn answer(media: Media, response: async_graphql::Response) -> Response {
    // Refused before execution: no data, and no error on a field.
    let request_error = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    let (status, body) = match media {
        Media::GraphqlResponse if request_error => (
            StatusCode::BAD_REQUEST,
            serde_json::to_string(&serde_json::json!({ "errors": response.errors })),
        ),
        _ => (StatusCode::OK, serde_json::to_string(&response)),
    };
    match body {
        Ok(body) => {
            let mut http = (status, body).into_response();
            http.headers_mut()
                .insert(CONTENT_TYPE, media.content_type());
            http
        }
        Err(err) => {
            tracing::error!(error = %err, "a response could not be serialised");
            refusal(
                media,
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL",
                "internal error",
            )
        }
    }
}
