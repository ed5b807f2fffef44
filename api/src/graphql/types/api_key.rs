//! `ApiKey`: an integration's credential, as an ADMIN sees it (never the key itself).

use crate::graphql::types::timestamp::Timestamp;
use async_graphql::{Context, ID, Object, Result};
use chrono::Utc;
use entity::api_key;

use super::User;
use super::enums::Role;
use crate::graphql::context::ContextExt;
use crate::graphql::ids::{NodeKind, encode};

/// A credential for an integration. The key is shown once, by `createApiKey`; only its
/// first characters (`keyPrefix`) and a hash are kept.
pub struct ApiKey(pub api_key::Model);

/// A credential for an integration. The key is shown once, by `createApiKey`; only its
/// first characters (`keyPrefix`) and a hash are kept.
#[Object]
impl ApiKey {
    /// Global ID.
    pub async fn id(&self) -> ID {
        encode(NodeKind::ApiKey, self.0.id)
    }
    /// What the key is for, e.g. "BI export".
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The role the key acts with.
    async fn role(&self) -> Role {
        self.0.role.into()
    }
    /// The first characters of the key, to recognize it.
    async fn key_prefix(&self) -> &str {
        &self.0.key_prefix
    }
    /// The admin who created it; the key acts on their behalf.
    async fn created_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(id) = self.0.created_by else { return Ok(None) };
        Ok(ctx.loaders().await?.users.load_one(id).await?.map(User))
    }
    /// When it last authenticated a request (to the minute).
    async fn last_used_at(&self) -> Option<Timestamp> {
        self.0.last_used_at.map(Timestamp)
    }
    /// When it stops working, if ever.
    async fn expires_at(&self) -> Option<Timestamp> {
        self.0.expires_at.map(Timestamp)
    }
    /// When it was revoked, if it was.
    async fn revoked_at(&self) -> Option<Timestamp> {
        self.0.revoked_at.map(Timestamp)
    }
    /// Whether it authenticates requests now: neither revoked nor expired.
    async fn active(&self) -> bool {
        self.0.revoked_at.is_none() && self.0.expires_at.is_none_or(|at| at > Utc::now())
    }
    /// When it was created.
    async fn created_at(&self) -> Timestamp {
        Timestamp(self.0.created_at)
    }
}
