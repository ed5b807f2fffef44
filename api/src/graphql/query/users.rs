//! Queries about users.

use async_graphql::{Context, Object, Result};

use crate::graphql::context::ContextExt;
use crate::graphql::types::User;
use crate::service::users;

#[derive(Default)]
pub struct UserQuery;

#[Object]
impl UserQuery {
    /// The signed-in user.
    async fn me(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let principal = ctx.principal()?;
        let found = users::find_by_id(&ctx.services().dbs.primary, principal.user_id).await?;
        Ok(found.map(User))
    }
}
