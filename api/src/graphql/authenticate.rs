//! The one authentication path of HTTP requests and WebSocket `connection_init`: a bearer
//! credential becomes a `Principal` through `service::credentials`, the first time a
//! resolver needs the caller — after the document passed validation, so a query over the
//! limits never costs SQL, the credential lookup included.

use axum::http::StatusCode;

use crate::app::Services;
use crate::auth::{Caller, Principal};
use crate::error::{ApiError, ApiResult};
use crate::graphql::meter::Meter;
use crate::service::budget::Payer;
use crate::service::credentials;

/// The caller's principal, checking its credential once (see `Caller::resolve`) and
/// charging the request's `meter`, when it has one, to the principal's budget. A
/// credential whose user or key row is cached is checked without SQL.
pub async fn resolve<'c>(caller: &'c Caller, services: &Services, meter: Option<&Meter>) -> ApiResult<&'c Principal> {
    caller
        .resolve(|bearer| async move {
            let principal =
                match credentials::authenticate_cached(&services.credential_cache, &services.tokens, &bearer) {
                    Some(principal) => principal,
                    None => {
                        let external = services.external.as_ref();
                        let (db, cache, tokens) = (&services.dbs.primary, &services.credential_cache, &services.tokens);
                        credentials::authenticate(db, cache, tokens, external, &bearer).await?
                    }
                };
            if let Some(meter) = meter {
                meter.charge(&services.budgets, Payer::of(&principal))?;
            }
            Ok(principal)
        })
        .await
}

/// The HTTP status a refused credential ends the request with.
pub fn status_of(refusal: &ApiError) -> StatusCode {
    match refusal {
        ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ApiError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}
