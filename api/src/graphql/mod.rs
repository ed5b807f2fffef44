//! The GraphQL API: schema construction, HTTP handlers, resolvers and GraphQL types.
//!
//! `build_schema()` attaches no data and no limits; `app` adds them for serving, and
//! `export-schema` prints its SDL unchanged.

pub mod context;
pub mod graphiql;
pub mod handler;
pub mod ids;
pub mod mutation;
pub mod query;
pub mod types;

use async_graphql::{EmptySubscription, Schema, SchemaBuilder};

use mutation::MutationRoot;
use query::QueryRoot;

pub type CrmSchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

pub fn build_schema() -> SchemaBuilder<QueryRoot, MutationRoot, EmptySubscription> {
    Schema::build(QueryRoot::default(), MutationRoot::default(), EmptySubscription)
}

/// The SDL checked in as `schema.graphql`.
pub fn sdl() -> String {
    build_schema().finish().sdl()
}
