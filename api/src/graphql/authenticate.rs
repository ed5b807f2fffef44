//! Authenticates a request's credential after its document passed validation, so that a
//! query over the limits is rejected before any SQL runs (the credential lookup included).

use std::sync::{Arc, OnceLock};

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextValidation};
use async_graphql::{ErrorExtensions, ServerError, ValidationResult};
use axum::http::StatusCode;

use crate::app::Services;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::service::credentials;

/// The bearer credential of a request, checked once validation has passed.
#[derive(Debug)]
pub struct PendingCredential {
    token: String,
    caller: Caller,
    /// The HTTP status the request ends with when the credential is refused.
    failure: OnceLock<StatusCode>,
}

impl PendingCredential {
    pub fn new(token: String, caller: &Caller) -> Arc<Self> {
        Arc::new(Self { token, caller: caller.clone(), failure: OnceLock::new() })
    }

    pub fn failure(&self) -> Option<StatusCode> {
        self.failure.get().copied()
    }
}

/// Installs the check on a schema.
pub struct Authenticate;

impl ExtensionFactory for Authenticate {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(AuthenticateAfterValidation)
    }
}

struct AuthenticateAfterValidation;

#[async_trait::async_trait]
impl Extension for AuthenticateAfterValidation {
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let validated = next.run(ctx).await?;
        let Some(pending) = ctx.data_opt::<Arc<PendingCredential>>() else {
            return Ok(validated);
        };
        let services = ctx.data_unchecked::<Services>();
        let checked = credentials::authenticate(
            &services.dbs.primary,
            &services.credential_cache,
            &services.tokens,
            services.external.as_ref(),
            &pending.token,
        )
        .await;
        match checked {
            Ok(principal) => {
                pending.caller.authenticated(principal);
                Ok(validated)
            }
            Err(err) => {
                let status = match err {
                    ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
                    ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
                    _ => StatusCode::INTERNAL_SERVER_ERROR,
                };
                let _ = pending.failure.set(status);
                Err(vec![err.extend().into_server_error(Default::default())])
            }
        }
    }
}
