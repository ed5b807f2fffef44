//! The root `Query`, merged from one object per domain.

mod contacts;
mod node;
mod users;

use async_graphql::MergedObject;

/// Everything that can be read.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(users::UserQuery, node::NodeQuery, contacts::ContactQuery);
