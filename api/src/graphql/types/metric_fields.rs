//! Resolvers shared by the metric fields on objects; each goes through a metric DataLoader.

use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, Result};

use super::funnel::{Funnel, FunnelMode};
use super::metrics::MetricFilterInput;
use super::no_show::NoShowStats;
use crate::graphql::context::ContextExt;
use crate::graphql::loaders::Loaders;
use crate::graphql::metric_loaders::{GroupFunnel, MetricKey, ParentNoShow, PipelineFunnel};

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

pub async fn group_funnel(
    loader: &DataLoader<GroupFunnel>,
    id: i64,
    filter: Option<MetricFilterInput>,
    mode: Option<FunnelMode>,
) -> Result<Option<Funnel>> {
    let args = (filter.unwrap_or_default().to_service()?, mode.unwrap_or_default().into());
    Ok(loader.load_one(MetricKey { args, id }).await?.map(|(pipeline, f)| Funnel::single(pipeline, f)))
}

pub async fn pipeline_funnel(
    loader: &DataLoader<PipelineFunnel>,
    pipeline_id: i64,
    filter: Option<MetricFilterInput>,
    mode: Option<FunnelMode>,
) -> Result<Option<Funnel>> {
    let args = (filter.unwrap_or_default().to_service()?, mode.unwrap_or_default().into());
    Ok(loader.load_one(MetricKey { args, id: pipeline_id }).await?.map(|(pipeline, f)| Funnel::single(pipeline, f)))
}
