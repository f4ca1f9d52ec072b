//! Files served over plain GET. `/exports/{id}`: an export's rendered file,
//! to callers who may see its workroom, with the same `Authorization` as
//! the API; each download is counted and audited; HTML is served as an
//! attachment under a policy that runs nothing, so a deliverable never acts
//! on this origin. `/activity-exports/{token}`: the activity log by signed
//! link. `/files/…`: workspace images, public.

use axum::extract::{Path, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{HttpState, refuse};
use crate::access::Principal;
use crate::auth::Identity;
use crate::error::AppError;
use crate::exports::{render, service};

fn status_of(err: &AppError) -> StatusCode {
    match err {
        AppError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        AppError::NotFound(_) => StatusCode::NOT_FOUND,
        AppError::Forbidden(_) | AppError::ForbiddenBecause(_) | AppError::WorkspaceDeleted => {
            StatusCode::FORBIDDEN
        }
        AppError::BadUserInput { .. } => StatusCode::BAD_REQUEST,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn refusal(err: AppError) -> Response {
    if let AppError::Internal(cause) = &err {
        tracing::error!(error = ?cause, "internal error");
    }
    refuse(status_of(&err), err.code(), &err.to_string())
}

async fn caller(state: &HttpState, headers: &HeaderMap) -> Result<Principal, AppError> {
    let identity = Identity::from_headers(headers, &state.app.keys)?;
    if let Some(principal) = identity.principal {
        return Ok(principal);
    }
    match identity.key_secret {
        Some(secret) => crate::auth::api_key::verify(&state.app.db, &state.app.key_usage, &secret)
            .await
            .map(Principal::Key),
        None => Err(AppError::Unauthenticated("sign in first")),
    }
}

pub async fn download(
    State(state): State<HttpState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let principal = match caller(&state, &headers).await {
        Ok(principal) => principal,
        Err(err) => return refusal(err),
    };
    let export = match service::download(&state.app, &principal, &id).await {
        Ok(export) => export,
        Err(err) => return refusal(err),
    };
    let (media, extension) = render::media(export.format);
    let mut response = attachment(
        export.content.into_response(),
        media,
        &format!("export-{}.{extension}", export.id),
    );
    response.headers_mut().insert(
        "content-security-policy",
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; sandbox"),
    );
    response
}

/// A private download: its type, its file name, never sniffed or cached.
fn attachment(mut response: Response, media: &'static str, filename: &str) -> Response {
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(media));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        headers.insert(CONTENT_DISPOSITION, value);
    }
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        "cache-control",
        HeaderValue::from_static("private, no-store"),
    );
    response
}

/// `GET /activity-exports/{token}`: an activity export by its signed link,
/// without the Authorization header. The link's caller must still reach
/// the workspace; the file streams as it is read.
pub async fn activity(State(state): State<HttpState>, Path(token): Path<String>) -> Response {
    use crate::activity::export;
    let claims: export::LinkClaims = match state.app.keys.verify_for(&token, export::AUDIENCE) {
        Ok(claims) => claims,
        Err(_) => return refusal(AppError::NotFound("export")),
    };
    let reader = match export::reader(&state.app.db, &claims).await {
        Ok(reader) => reader,
        Err(err) => return refusal(err),
    };
    let (media, extension) = claims.format.media();
    let body =
        axum::body::Body::from_stream(export::stream(state.app.db.clone(), &reader, &claims));
    attachment(
        body.into_response(),
        media,
        &format!("activity-{}.{extension}", reader.workspace.slug),
    )
}

/// `GET /files/{workspace}/{name}`: a stored workspace image, public under
/// its unguessable name, with its content type and a year's cache (a new
/// upload gets a new name).
pub async fn file(
    State(state): State<HttpState>,
    Path((workspace, name)): Path<(String, String)>,
) -> Response {
    let Some(format) = crate::files::is_key(&workspace, &name) else {
        return refusal(AppError::NotFound("file"));
    };
    let bytes = match state.app.storage.get(&format!("{workspace}/{name}")).await {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return refusal(AppError::NotFound("file")),
        Err(err) => return refusal(err),
    };
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(format.media_type()));
    headers.insert(
        "cache-control",
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    response
}
