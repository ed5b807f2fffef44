//! `createApiKey` and `revokeApiKey` (ADMIN).

use crate::graphql::types::timestamp::Timestamp;
use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};

use crate::graphql::context::ContextExt;
use crate::graphql::ids::{NodeKind, decode};
use crate::graphql::types::api_key::ApiKey;
use crate::graphql::types::enums::Role;
use crate::service::api_keys::{self, ApiKeyForCreate};

/// A new API key.
#[derive(InputObject)]
pub struct CreateApiKeyInput {
    /// What it is for (≤ 200 characters).
    pub name: String,
    /// ANALYST (the default: reads everything but contact email and phone, writes nothing)
    /// or ADMIN.
    pub role: Option<Role>,
    /// When it stops working; never when omitted.
    pub expires_at: Option<Timestamp>,
}

/// The new key. `key` is shown only here: store it now.
#[derive(SimpleObject)]
pub struct CreateApiKeyPayload {
    /// The key's record.
    pub api_key: ApiKey,
    /// The key itself, `crm_…`; send it as `Authorization: Bearer <key>`.
    pub key: String,
}

/// A key to revoke.
#[derive(InputObject)]
pub struct RevokeApiKeyInput {
    /// The key.
    pub id: ID,
}

/// The revoked key.
#[derive(SimpleObject)]
pub struct RevokeApiKeyPayload {
    /// The key, with `revokedAt` set.
    pub api_key: ApiKey,
}

#[derive(Default)]
pub struct ApiKeyMutation;

#[Object]
impl ApiKeyMutation {
    /// Creates an API key for an integration (ADMIN).
    async fn create_api_key(&self, ctx: &Context<'_>, input: CreateApiKeyInput) -> Result<CreateApiKeyPayload> {
        let data = ApiKeyForCreate {
            name: input.name,
            role: input.role.map(Into::into),
            expires_at: input.expires_at.map(Into::into),
        };
        let (api_key, key) = api_keys::create(ctx.principal().await?, ctx.writer(), data).await?;
        Ok(CreateApiKeyPayload { api_key: ApiKey(api_key), key })
    }

    /// Revokes an API key at once (ADMIN); requests with it are UNAUTHENTICATED from now on.
    async fn revoke_api_key(&self, ctx: &Context<'_>, input: RevokeApiKeyInput) -> Result<RevokeApiKeyPayload> {
        let id = decode("input.id", &input.id, NodeKind::ApiKey)?;
        Ok(RevokeApiKeyPayload { api_key: ApiKey(api_keys::revoke(ctx.principal().await?, ctx.writer(), id).await?) })
    }
}
