//! `node(id:)`: any object by its global ID, under the same scope as every other read.

use async_graphql::{Context, ID, Object, Result};

use crate::graphql::context::ContextExt;
use crate::graphql::ids::{NodeKind, decode_any};
use crate::graphql::types::node::Node;
use crate::graphql::types::{Contact, User};

#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// The object with this global ID, or null when it does not exist or is not visible.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Node>> {
        let (kind, id) = decode_any("id", &id)?;
        let loaders = ctx.loaders()?;
        Ok(match kind {
            NodeKind::User => loaders.users.load_one(id).await?.map(|m| Node::User(User(m))),
            NodeKind::Contact => loaders.contacts.load_one(id).await?.map(|m| Node::Contact(Contact(m))),
            _ => None,
        })
    }
}
