//! Typed access to what resolvers need from the GraphQL context.

use async_graphql::{Context, ErrorExtensions};
use sea_orm::DatabaseConnection;

use crate::app::Services;
use crate::auth::{Caller, Principal};
use crate::error::{ApiError, ApiResult};
use crate::graphql::loaders::Loaders;
use crate::graphql::meter::Meter;
use crate::service::work::Writer;

pub trait ContextExt {
    fn services(&self) -> &Services;
    /// The authenticated caller, or UNAUTHENTICATED; checks the request's credential the
    /// first time it is asked (see `Caller`).
    fn principal(&self) -> impl std::future::Future<Output = ApiResult<&Principal>> + Send;
    /// The caller when a resolver above already authenticated it (nested fields), else
    /// UNAUTHENTICATED.
    fn signed_in(&self) -> ApiResult<&Principal>;
    /// The request's DataLoaders, once the caller is authenticated (they read with its scope).
    fn loaders(&self) -> impl std::future::Future<Output = ApiResult<&Loaders>> + Send;
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
    /// Runs a metric query in the caller's turn (`service::heavy`), on a lane's connection
    /// to the metrics database (the read replica when one is configured).
    fn metric<T, F, Fut>(&self, query: F) -> impl std::future::Future<Output = ApiResult<T>> + Send
    where
        T: Send,
        F: FnOnce(Principal, DatabaseConnection) -> Fut + Send,
        Fut: std::future::Future<Output = ApiResult<T>> + Send;
}

impl ContextExt for Context<'_> {
    fn services(&self) -> &Services {
        // Attached by `app::build_state` to every schema that serves requests.
        self.data_unchecked::<Services>()
    }

    async fn principal(&self) -> ApiResult<&Principal> {
        let caller = self.data_opt::<Caller>().ok_or_else(unauthenticated)?;
        if let Some(principal) = caller.principal() {
            return Ok(principal);
        }
        // Boxed: every resolver that asks for the caller awaits this future, and unboxed its
        // state (the credential lookup's SQL and identity-provider calls, kilobytes) would be
        // part of each such field's future — allocated and copied for every field resolved.
        let meter = self.data_opt::<std::sync::Arc<Meter>>().map(|m| &**m);
        Box::pin(crate::graphql::authenticate::resolve(caller, self.services(), meter)).await
    }

    async fn metric<T, F, Fut>(&self, query: F) -> ApiResult<T>
    where
        T: Send,
        F: FnOnce(Principal, DatabaseConnection) -> Fut + Send,
        Fut: std::future::Future<Output = ApiResult<T>> + Send,
    {
        self.services().heavy.run_as(self.principal().await?, query).await
    }

    fn signed_in(&self) -> ApiResult<&Principal> {
        self.data_opt::<Caller>().and_then(Caller::principal).ok_or_else(unauthenticated)
    }

    async fn loaders(&self) -> ApiResult<&Loaders> {
        self.principal().await?;
        self.data_opt::<Loaders>().ok_or_else(unauthenticated)
    }

    fn report(&self, err: ApiError) {
        self.add_error(self.set_error_path(err.extend().into_server_error(self.item.pos)));
    }
}

fn unauthenticated() -> ApiError {
    ApiError::Unauthenticated("sign in first: send Authorization: Bearer <token>".into())
}
