//! Typed access to what resolvers need from the GraphQL context.

use async_graphql::Context;

use crate::app::Services;
use crate::auth::{Caller, Principal};
use crate::error::{ApiError, ApiResult};

pub trait ContextExt {
    fn services(&self) -> &Services;
    /// The authenticated caller, or UNAUTHENTICATED.
    fn principal(&self) -> ApiResult<&Principal>;
}

impl ContextExt for Context<'_> {
    fn services(&self) -> &Services {
        // Attached by `app::build_state` to every schema that serves requests.
        self.data_unchecked::<Services>()
    }

    fn principal(&self) -> ApiResult<&Principal> {
        self.data_opt::<Caller>()
            .and_then(|c| c.0.as_ref())
            .ok_or_else(|| {
                ApiError::Unauthenticated(
                    "sign in first: send Authorization: Bearer <token>".into(),
                )
            })
    }
}
