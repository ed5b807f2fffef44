//! Queries over pipelines, stages and lost reasons (readable by every signed-in role).

use async_graphql::{Context, ID, Object, Result};

use crate::graphql::context::ContextExt;
use crate::graphql::ids::{NodeKind, decode};
use crate::graphql::types::{LostReason, Pipeline};
use crate::service::pipelines;

#[derive(Default)]
pub struct PipelineQuery;

#[Object]
impl PipelineQuery {
    /// Every pipeline, the default first.
    async fn pipelines(&self, ctx: &Context<'_>) -> Result<Vec<Pipeline>> {
        ctx.principal().await?;
        Ok(pipelines::list(ctx.db()).await?.into_iter().map(Pipeline).collect())
    }

    /// One pipeline, or null.
    async fn pipeline(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Pipeline>> {
        let id = decode("id", &id, NodeKind::Pipeline)?;
        Ok(ctx.loaders().await?.pipelines.load_one(id).await?.map(Pipeline))
    }

    /// Reasons deals are lost, by name; inactive ones only when asked.
    async fn lost_reasons(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] include_inactive: bool,
    ) -> Result<Vec<LostReason>> {
        ctx.principal().await?;
        Ok(pipelines::lost_reasons(ctx.db(), include_inactive).await?.into_iter().map(LostReason).collect())
    }
}
