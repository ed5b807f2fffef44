//! The GraphQL API: schema construction, HTTP handlers, resolvers and GraphQL types.
//!
//! `build_schema()` attaches no data and no limits; `app` adds them for serving, and
//! `export-schema` prints its SDL unchanged.

pub mod batching;
pub mod context;
pub mod graphiql;
pub mod handler;
pub mod ids;
pub mod loaders;
pub mod mutation;
pub mod query;
pub mod shape;
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

#[cfg(test)]
mod tests {
    /// `schema.graphql` is what `crm-api export-schema` prints; re-export it when this fails:
    /// `cargo run -p api -- export-schema > schema.graphql`.
    #[test]
    fn checked_in_schema_matches_the_code() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../schema.graphql");
        let checked_in = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            checked_in == super::sdl(),
            "schema.graphql is stale: run `cargo run -p api -- export-schema > schema.graphql`"
        );
    }
}
