//! `login`: exchanges an email and password for a session token.

use crate::graphql::types::timestamp::Timestamp;
use async_graphql::{Context, InputObject, Object, Result, SimpleObject};

use crate::graphql::context::ContextExt;
use crate::graphql::types::User;
use crate::service::users;

/// Credentials for `login`.
#[derive(InputObject)]
pub struct LoginInput {
    /// Login email.
    pub email: String,
    /// The user's password.
    pub password: String,
}

/// A session token and who it belongs to.
#[derive(SimpleObject)]
pub struct LoginPayload {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    /// When the token stops being accepted.
    pub expires_at: Timestamp,
    /// The signed-in user.
    pub user: User,
}

#[derive(Default)]
pub struct AuthMutation;

#[Object]
impl AuthMutation {
    /// Signs in with email and password. The only operation open to anonymous callers.
    async fn login(&self, ctx: &Context<'_>, input: LoginInput) -> Result<LoginPayload> {
        let services = ctx.services();
        let address = ctx.data_opt::<crate::graphql::handler::ClientAddress>().and_then(|a| a.0);
        services.login_throttle.attempt(&input.email, address)?;
        let (token, expires_at, user) =
            users::login(&services.dbs.primary, &services.tokens, &input.email, &input.password).await?;
        Ok(LoginPayload { token, expires_at: expires_at.into(), user: User(user) })
    }
}
