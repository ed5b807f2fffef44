//! Rejections made before GraphQL runs — a body too large, a request too slow — as GraphQL
//! JSON errors with `extensions.code`, like every other rejection (SPEC section 9).

use std::time::Duration;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;

/// A too-large body is read on, and thrown away, up to this many bytes beyond the limit,
/// so that a client that writes its whole body before reading (Python's urllib, curl
/// without `Expect`) receives the 413 instead of a broken pipe. Larger ones are cut off.
const DRAIN_AT_MOST: usize = 64 << 20;
/// …and for at most this long.
const DRAIN_FOR: Duration = Duration::from_secs(10);

/// A GraphQL-shaped error response.
pub fn error(status: StatusCode, code: &str, message: &str) -> Response {
    crate::telemetry::count_errors([code]);
    let body = serde_json::json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    (status, Json(body)).into_response()
}

/// The request body, at most `limit` bytes; a larger one is HTTP 413 (BAD_REQUEST), sent
/// after the rest of the body was read (see `DRAIN_AT_MOST`).
pub async fn read_body(body: Body, declared: Option<usize>, limit: usize) -> Result<Bytes, Response> {
    let too_large = || {
        let message = format!("the request body is larger than {limit} bytes");
        error(StatusCode::PAYLOAD_TOO_LARGE, "BAD_REQUEST", &message)
    };
    if declared.is_some_and(|n| n > limit.saturating_add(DRAIN_AT_MOST)) {
        return Err(too_large());
    }
    let mut stream = body.into_data_stream();
    let mut kept = Vec::with_capacity(declared.unwrap_or(0).min(limit));
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|_| error(StatusCode::BAD_REQUEST, "BAD_REQUEST", "the request body could not be read"))?;
        if kept.len() + chunk.len() > limit {
            drain(stream, kept.len() + chunk.len() - limit).await;
            return Err(too_large());
        }
        kept.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(kept))
}

async fn drain(mut stream: axum::body::BodyDataStream, mut over: usize) {
    let _ = tokio::time::timeout(DRAIN_FOR, async {
        while over <= DRAIN_AT_MOST {
            match stream.next().await {
                Some(Ok(chunk)) => over += chunk.len(),
                _ => break,
            }
        }
    })
    .await;
}

/// Cancels a request that runs longer than `limit` with HTTP 503 and code TIMEOUT.
pub async fn time_limit(limit: Duration, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => {
            let message = format!("the request took longer than {} s and was cancelled", limit.as_secs());
            error(StatusCode::SERVICE_UNAVAILABLE, "TIMEOUT", &message)
        }
    }
}
