//! The metric root fields (SPEC section 6).

use async_graphql::{Context, Object, Result};

use crate::graphql::context::ContextExt;
use crate::graphql::types::attainment::TargetAttainmentReport;
use crate::graphql::types::data_quality::{DataQuality, DataQualityFilter, DataQualityGroupBy};
use crate::graphql::types::forecast::{Forecast, ForecastBasis, ForecastPeriodicity};
use crate::graphql::types::funnel::{Funnel, FunnelMode};
use crate::graphql::types::lead_economics::{LeadEconomics, LeadEconomicsOverrides, RevenueBasis};
use crate::graphql::types::lost::LostDeals;
use crate::graphql::types::metric_definition::{self, MetricDefinition};
use crate::graphql::types::metrics::{MetricFilterInput, MetricGroupBy};
use crate::graphql::types::no_show::NoShowStats;
use crate::graphql::types::rejection::LeadRejection;
use crate::service::metrics::{
    Grouping, attainment, data_quality, forecast, funnel, lead_economics, lost, no_show, rejection,
};

#[derive(Default)]
pub struct MetricQuery;

#[Object]
impl MetricQuery {
    /// What each metric number means: its formula in words (the field's description), unit,
    /// numerator, denominator, rounding, bands and the records it counts. `metric` narrows
    /// to one metric (`noShowStats`, `funnel`, `forecast`, …, or `Deal` for its computed fields).
    async fn metric_definitions(&self, ctx: &Context<'_>, metric: Option<String>) -> Result<Vec<MetricDefinition>> {
        ctx.principal().await?;
        let index = ctx.data::<std::sync::Arc<crate::graphql::schema_index::SchemaIndex>>()?;
        Ok(metric_definition::definitions(index, metric.as_deref()))
    }

    /// No-show rate of meetings scheduled in the period, with its band and follow-ups;
    /// optionally broken down with `groupBy`.
    async fn no_show_stats(
        &self,
        ctx: &Context<'_>,
        filter: Option<MetricFilterInput>,
        group_by: Option<MetricGroupBy>,
        #[graphql(desc = "A second breakdown inside each group (OWNER then MONTH: owner × month).")] then_by: Option<
            MetricGroupBy,
        >,
    ) -> Result<NoShowStats> {
        let filter = filter.unwrap_or_default().to_service()?;
        let grouping = Grouping::new(group_by.map(Into::into), then_by.map(Into::into))?;
        let grouped =
            ctx.metric(|p, db| async move { no_show::no_show_stats(&p, &db, &filter, grouping).await }).await?;
        Ok(NoShowStats::from_grouped(grouped))
    }

    /// What was left undone, as of now: unlogged meetings, open deals without a next task,
    /// overdue tasks; optionally by owner or team.
    async fn data_quality(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "where")] filter: Option<DataQualityFilter>,
        group_by: Option<DataQualityGroupBy>,
    ) -> Result<DataQuality> {
        let filter = filter.unwrap_or_default().to_service()?;
        let by = group_by.map(Into::into);
        let grouped = ctx.metric(|p, db| async move { data_quality::data_quality(&p, &db, &filter, by).await }).await?;
        Ok(DataQuality::from_grouped(grouped))
    }

    /// Stage-to-stage funnel of a pipeline (`filter.pipelineId`, else the default one);
    /// optionally broken down with `groupBy`.
    async fn funnel(
        &self,
        ctx: &Context<'_>,
        filter: Option<MetricFilterInput>,
        group_by: Option<MetricGroupBy>,
        #[graphql(desc = "A second breakdown inside each group (OWNER then MONTH: owner × month).")] then_by: Option<
            MetricGroupBy,
        >,
        #[graphql(desc = "COHORT (the default) or ACTIVITY.")] mode: Option<FunnelMode>,
    ) -> Result<Funnel> {
        let filter = filter.unwrap_or_default().to_service()?;
        let grouping = Grouping::new(group_by.map(Into::into), then_by.map(Into::into))?;
        let parts = funnel_parts(ctx, &[&[], &["groups"], &["groups", "groups"]]);
        let mode = mode.unwrap_or_default().into();
        let report =
            ctx.metric(|p, db| async move { funnel::funnel(&p, &db, &filter, mode, grouping, parts).await }).await?;
        Ok(Funnel::from_report(report))
    }

    /// Open deals by the month or quarter they are expected to close (`filter.period`
    /// applies to `expectedCloseDate`), weighted by each stage's configured probability or
    /// its historical win rate, with what was won so far and the targets of each period.
    #[allow(clippy::too_many_arguments)]
    async fn forecast(
        &self,
        ctx: &Context<'_>,
        filter: Option<MetricFilterInput>,
        #[graphql(desc = "MONTH (the default) or QUARTER.")] group_by: Option<ForecastPeriodicity>,
        #[graphql(desc = "STAGE_PROBABILITY (the default) or HISTORICAL.")] basis: Option<ForecastBasis>,
        #[graphql(desc = "Closed deals of this many months back make a stage's historical win rate (1–120; 12).")]
        lookback_months: Option<i32>,
        #[graphql(
            desc = "Below this many closed deals, a stage's configured probability is used instead (1–100000; 10)."
        )]
        minimum_sample: Option<i32>,
    ) -> Result<Forecast> {
        let filter = filter.unwrap_or_default().to_service()?;
        let options = forecast::ForecastOptions::new(
            group_by.unwrap_or_default().into(),
            basis.unwrap_or_default().into(),
            lookback_months.unwrap_or(forecast::DEFAULT_LOOKBACK_MONTHS),
            minimum_sample.unwrap_or(forecast::DEFAULT_MINIMUM_SAMPLE),
        )?;
        let report = ctx.metric(|p, db| async move { forecast::forecast(&p, &db, &filter, options).await }).await?;
        Ok(Forecast(report))
    }

    /// Deals lost in the period and what they cost; optionally broken down with `groupBy`
    /// (time groups by `closedAt`).
    async fn lost_deals(
        &self,
        ctx: &Context<'_>,
        filter: Option<MetricFilterInput>,
        group_by: Option<MetricGroupBy>,
    ) -> Result<LostDeals> {
        let filter = filter.unwrap_or_default().to_service()?;
        // Each acquisition cost is a statement of its own: run only those the query selects.
        let levels: [&[&str]; 2] = [&[], &["groups"]];
        let paths: [&[&str]; 4] = [
            &["acquisitionCost"],
            &["byReason", "acquisitionCost"],
            &["byStage", "acquisitionCost"],
            &["byOwner", "acquisitionCost"],
        ];
        let costs: Vec<_> = lost::ALL_COSTS
            .into_iter()
            .zip(paths)
            .filter(|(_, path)| selects_at_any_level(ctx, &levels, path))
            .map(|(dimension, _)| dimension)
            .collect();
        let group_by = group_by.map(Into::into);
        let grouped =
            ctx.metric(|p, db| async move { lost::lost_deals(&p, &db, &filter, group_by, &costs).await }).await?;
        Ok(LostDeals::from_grouped(grouped))
    }

    /// What a lead is worth and what a lost one costs, with optional what-if overrides;
    /// optionally broken down with `groupBy` (time groups: leads by creation, revenue by
    /// closing; basis LIFETIME groups by OWNER, TEAM or SOURCE only).
    async fn lead_economics(
        &self,
        ctx: &Context<'_>,
        filter: Option<MetricFilterInput>,
        group_by: Option<MetricGroupBy>,
        #[graphql(desc = "PERIOD (the default) or LIFETIME.")] basis: Option<RevenueBasis>,
        overrides: Option<LeadEconomicsOverrides>,
    ) -> Result<LeadEconomics> {
        let filter = filter.unwrap_or_default().to_service()?;
        let overrides = overrides.unwrap_or_default().to_service()?;
        let basis = basis.unwrap_or_default().into();
        let group_by = group_by.map(Into::into);
        let grouped = ctx
            .metric(|p, db| async move {
                lead_economics::lead_economics(&p, &db, &filter, basis, &overrides, group_by).await
            })
            .await?;
        Ok(LeadEconomics::from_grouped(grouped))
    }

    /// Leads created in the period that were disqualified, with the money wasted on them;
    /// optionally broken down with `groupBy` (time groups by the lead's creation).
    async fn lead_rejection(
        &self,
        ctx: &Context<'_>,
        filter: Option<MetricFilterInput>,
        group_by: Option<MetricGroupBy>,
    ) -> Result<LeadRejection> {
        let filter = filter.unwrap_or_default().to_service()?;
        // The first-contact test probes each disqualified lead's meetings and deals: only when
        // the total, a group or a breakdown selects it.
        let breakdowns: [&[&str]; 8] = [
            &[],
            &["byReason"],
            &["byOwner"],
            &["bySource"],
            &["groups"],
            &["groups", "byReason"],
            &["groups", "byOwner"],
            &["groups", "bySource"],
        ];
        let after_first_contact = selects_at_any_level(ctx, &breakdowns, &["rejectedAfterFirstContact"]);
        let group_by = group_by.map(Into::into);
        let grouped = ctx
            .metric(
                |p, db| async move { rejection::lead_rejection(&p, &db, &filter, group_by, after_first_contact).await },
            )
            .await?;
        Ok(LeadRejection::from_grouped(grouped))
    }

    /// Every visible target whose period overlaps `filter.period`, with the revenue won
    /// against it; optionally grouped with `groupBy` (not SOURCE).
    async fn target_attainment(
        &self,
        ctx: &Context<'_>,
        filter: Option<MetricFilterInput>,
        group_by: Option<MetricGroupBy>,
    ) -> Result<TargetAttainmentReport> {
        let filter = filter.unwrap_or_default().to_service()?;
        ctx.metric(|p, db| async move {
            let (rows, conversion) = attainment::target_attainment(&p, &db, &filter).await?;
            let groups = match group_by {
                Some(by) => attainment::group_targets(&db, rows.clone(), by.into()).await?,
                None => Vec::new(),
            };
            Ok(TargetAttainmentReport::new(rows, groups, conversion))
        })
        .await
        .map_err(Into::into)
    }
}

/// The parts of a funnel the query selects under any of `levels`: each is a statement of
/// its own (time in stage reads every stage event), run only when asked for.
pub fn funnel_parts(ctx: &Context<'_>, levels: &[&[&str]]) -> funnel::FunnelParts {
    let selects = |field: &str| selects_at_any_level(ctx, levels, &["steps", field]);
    funnel::FunnelParts {
        stays: selects("avgDaysInStage"),
        distribution: selects("medianDaysInStage") || selects("p90DaysInStage"),
        stale: selects("staleOpen"),
    }
}

/// Whether the query selects `path` under any of `levels` (field names below the root field).
fn selects_at_any_level(ctx: &Context<'_>, levels: &[&[&str]], path: &[&str]) -> bool {
    levels.iter().any(|level| level.iter().chain(path).fold(ctx.look_ahead(), |at, field| at.field(field)).exists())
}
