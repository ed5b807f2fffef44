//! Resolvers shared by the metric fields on objects; each goes through a metric DataLoader.

use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, Result};

use super::funnel::{Funnel, FunnelMode};
use super::metrics::MetricFilterInput;
use super::no_show::NoShowStats;
use crate::error::ApiError;
use crate::graphql::context::ContextExt;
use crate::graphql::loaders::Loaders;
use crate::graphql::metric_loaders::{GroupFunnel, MetricKey, ParentNoShow, PipelineFunnel};
use crate::graphql::query::metrics::funnel_parts;
use crate::service::metrics::funnel::FunnelParts;

pub async fn loaders<'a>(ctx: &'a Context<'_>) -> Result<&'a Loaders> {
    Ok(ctx.loaders().await?)
}

pub async fn user_no_show(ctx: &Context<'_>, user_id: i64, filter: Option<MetricFilterInput>) -> Result<NoShowStats> {
    let args = filter.unwrap_or_default().to_service()?;
    let stats =
        loaders(ctx).await?.metrics.user_no_show.load_one(MetricKey { args, id: user_id }).await?.unwrap_or_default();
    Ok(NoShowStats::single(stats))
}

pub async fn parent_no_show(loader: &DataLoader<ParentNoShow>, id: i64) -> Result<NoShowStats> {
    Ok(NoShowStats::single(loader.load_one(id).await?.unwrap_or_default()))
}

/// The funnel of a user or team (`loader`), with the parts the field's selection needs.
pub async fn group_funnel(
    ctx: &Context<'_>,
    loader: &DataLoader<GroupFunnel>,
    id: i64,
    filter: Option<MetricFilterInput>,
    mode: Option<FunnelMode>,
) -> Result<Option<Funnel>> {
    let parts = funnel_parts(ctx, &[&[]]);
    let args = (filter.unwrap_or_default().to_service()?, mode.unwrap_or_default().into(), parts);
    Ok(loader.load_one(MetricKey { args, id }).await?.map(|(pipeline, f)| Funnel::single(pipeline, f)))
}

/// The funnel of pipeline `pipeline_id`, with `parts`. A `filter.pipelineId` naming
/// another pipeline is BAD_USER_INPUT: the pipeline is the field's own.
pub async fn pipeline_funnel(
    loader: &DataLoader<PipelineFunnel>,
    pipeline_id: i64,
    filter: Option<MetricFilterInput>,
    mode: Option<FunnelMode>,
    parts: FunnelParts,
) -> Result<Option<Funnel>> {
    let filter = filter.unwrap_or_default().to_service()?;
    if filter.pipeline_id.is_some_and(|id| id != pipeline_id) {
        let message = "is another pipeline: this funnel is of its own pipeline (leave filter.pipelineId out)";
        return Err(ApiError::bad_input("filter.pipelineId", message).into());
    }
    let args = (filter, mode.unwrap_or_default().into(), parts);
    Ok(loader.load_one(MetricKey { args, id: pipeline_id }).await?.map(|(pipeline, f)| Funnel::single(pipeline, f)))
}
