//! The GraphQL API: schema construction, HTTP handlers, resolvers and GraphQL types.
//!
//! `build_schema()` attaches no data and no limits; `app` adds them for serving, and
//! `export-schema` prints its SDL unchanged.

pub mod authenticate;
pub mod batching;
pub mod context;
pub mod cost;
pub mod graphiql;
pub mod handler;
pub mod ids;
pub mod inputs;
pub mod loaders;
pub mod meter;
pub mod metric_loaders;
pub mod mutation;
pub mod persisted;
pub mod query;
pub mod schema_index;
pub mod shape;
pub mod subscription;
pub mod types;
pub mod ws;

use async_graphql::{Schema, SchemaBuilder};

use mutation::MutationRoot;
use query::QueryRoot;
use subscription::SubscriptionRoot;

pub type CrmSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

pub fn build_schema() -> SchemaBuilder<QueryRoot, MutationRoot, SubscriptionRoot> {
    Schema::build(QueryRoot::default(), MutationRoot::default(), SubscriptionRoot)
}

/// The SDL checked in as `schema.graphql`, with each custom scalar's `@specifiedBy`.
pub fn sdl() -> String {
    build_schema().finish().sdl_with_options(async_graphql::SDLExportOptions::new().include_specified_by())
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

    /// Every type, field, argument and enum value of the SDL carries a description.
    #[test]
    fn every_type_and_field_is_described() {
        let sdl = super::sdl();
        let (mut in_description, mut described, mut undocumented) = (false, false, Vec::new());
        for line in sdl.lines().map(str::trim) {
            if line.starts_with("\"\"\"") {
                let closes_on_same_line = line.len() > 3 && line.ends_with("\"\"\"");
                in_description = !in_description && !closes_on_same_line;
                described = true;
                continue;
            }
            if in_description {
                continue;
            }
            if line.starts_with('"') {
                described = true;
                continue;
            }
            let defines_type = ["type ", "input ", "enum ", "interface ", "union "].iter().any(|k| line.starts_with(k));
            let is_member = line.starts_with(|c: char| c.is_ascii_alphabetic())
                && !line.starts_with("query:")
                && !line.starts_with("mutation:")
                && !line.starts_with("subscription:")
                && !line.starts_with("schema")
                && !line.starts_with("directive")
                && !line.starts_with("scalar");
            let is_root = line.starts_with("type Query")
                || line.starts_with("type Mutation")
                || line.starts_with("type Subscription");
            if (defines_type || is_member) && !described && !is_root {
                undocumented.push(line.to_owned());
            }
            described = false;
        }
        assert!(undocumented.is_empty(), "add a doc comment to: {undocumented:#?}");
    }
}
