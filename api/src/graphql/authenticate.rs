//! The one authentication path of HTTP requests and WebSocket `connection_init`: a bearer
//! credential becomes a `Principal` through `service::credentials`, the first time a
//! resolver needs the caller — after the document passed validation, so a query over the
//! limits never costs SQL, the credential lookup included.

use axum::http::StatusCode;

use crate::app::Services;
use crate::auth::{Caller, Principal};
use crate::error::{ApiError, ApiResult};
use crate::service::credentials;

/// The caller's principal, checking its credential once (see `Caller::resolve`). A
/// credential whose user or key row is cached is checked without SQL.
pub async fn resolve<'c>(caller: &'c Caller, services: &Services) -> ApiResult<&'c Principal> {
    caller
        .resolve(|bearer| async move {
            if let Some(principal) =
                credentials::authenticate_cached(&services.credential_cache, &services.tokens, &bearer)
            {
                return Ok(principal);
            }
            let external = services.external.as_ref();
            credentials::authenticate(
                &services.dbs.primary,
                &services.credential_cache,
                &services.tokens,
                external,
                &bearer,
            )
            .await
        })
        .await
}

/// The HTTP status a refused credential ends the request with.
pub fn status_of(refusal: &ApiError) -> StatusCode {
    match refusal {
        ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}
