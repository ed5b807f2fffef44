//! Typed access to what resolvers need from the GraphQL context.

use async_graphql::{Context, ErrorExtensions};
use sea_orm::DatabaseConnection;

use crate::app::Services;
use crate::auth::{Caller, Principal};
use crate::error::{ApiError, ApiResult};
use crate::graphql::loaders::Loaders;
use crate::service::work::Writer;

pub trait ContextExt {
    fn services(&self) -> &Services;
    /// The authenticated caller, or UNAUTHENTICATED.
    fn principal(&self) -> ApiResult<&Principal>;
    /// The request's DataLoaders (authenticated requests only).
    fn loaders(&self) -> ApiResult<&Loaders>;
    /// Records `err` for the current field while the field itself resolves to null
    /// (a nullable field the caller may not read: null plus an error entry).
    fn report(&self, err: ApiError);
    /// Where every write starts its unit of work.
    fn writer(&self) -> &Writer {
        &self.services().writer
    }
    /// The primary database connection.
    fn db(&self) -> &DatabaseConnection {
        &self.services().dbs.primary
    }
    /// The connection metric queries run on: the read replica when one is configured.
    fn metrics_db(&self) -> &DatabaseConnection {
        &self.services().dbs.read
    }
}

impl ContextExt for Context<'_> {
    fn services(&self) -> &Services {
        // Attached by `app::build_state` to every schema that serves requests.
        self.data_unchecked::<Services>()
    }

    fn principal(&self) -> ApiResult<&Principal> {
        self.data_opt::<Caller>().and_then(Caller::principal).ok_or_else(unauthenticated)
    }

    fn loaders(&self) -> ApiResult<&Loaders> {
        self.data_opt::<Loaders>().ok_or_else(unauthenticated)
    }

    fn report(&self, err: ApiError) {
        self.add_error(self.set_error_path(err.extend().into_server_error(self.item.pos)));
    }
}

fn unauthenticated() -> ApiError {
    ApiError::Unauthenticated("sign in first: send Authorization: Bearer <token>".into())
}
