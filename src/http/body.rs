//! Reading a request body within its limit. A body past the limit is read
//! to its end (up to a bound) before the 413 goes out: a server that answers
//! and closes while the client is still sending makes the client's kernel
//! see a reset, and the client never reads the answer.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::header::{CONNECTION, CONTENT_LENGTH};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use futures_util::StreamExt;

use super::operation::{Media, refusal};

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// Largest body read and thrown away after a refusal, so that the client,
/// still sending, can read the 413 instead of a reset connection.
const DRAIN_BYTES: usize = 16 << 20;
const DRAIN_TIME: Duration = Duration::from_secs(5);

/// The request body, or a 413 once a body past `limit` (`MAX_BODY_BYTES`
/// for JSON) has been read to its end (up to `DRAIN_BYTES` past the limit).
pub async fn read_body(
    headers: &HeaderMap,
    media: Media,
    body: Body,
    limit: usize,
) -> Result<Bytes, Response> {
    let drain = limit.saturating_add(DRAIN_BYTES);
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let too_large = || {
        let mut response = refusal(
            media,
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            &format!("a request body has at most {limit} bytes"),
        );
        response
            .headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
        response
    };
    if declared.is_some_and(|n| n > drain) {
        return Err(too_large());
    }
    let mut stream = body.into_data_stream();
    let mut collected = Vec::with_capacity(declared.unwrap_or(0).min(limit));
    let mut seen = 0usize;
    let read = tokio::time::timeout(DRAIN_TIME, async {
        while let Some(chunk) = stream.next().await {
            let Ok(chunk) = chunk else { return false };
            seen += chunk.len();
            if seen <= limit {
                collected.extend_from_slice(&chunk);
            } else if seen > drain {
                break;
            }
        }
        true
    })
    .await;
    if seen > limit {
        return Err(too_large());
    }
    match read {
        Ok(true) => Ok(Bytes::from(collected)),
        _ => Err(refusal(
            media,
            StatusCode::BAD_REQUEST,
            "BAD_USER_INPUT",
            "the request body could not be read",
        )),
    }
}
