//! `Pipeline`, `Stage` and `LostReason`: the shape of the sales process.

use crate::graphql::types::timestamp::Timestamp;
use crate::service::columns::Columns;
use async_graphql::{Context, ID, Object, Result};
use entity::{lost_reason, pipeline, stage};

use super::forecast::HistoricalWinRate;
use super::funnel::{Funnel, FunnelMode};
use super::metric_fields;
use super::metrics::{MetricFilterInput, hundredths};
use super::{Connection, Deal, Money};
use crate::graphql::context::ContextExt;
use crate::graphql::ids::{NodeKind, encode};
use crate::graphql::metric_loaders::MetricKey;
use crate::graphql::query::deal_page;
use crate::graphql::query::metrics::funnel_parts;
use crate::service::deals::DealFilter;
use crate::service::filter::OneOf;
use crate::service::metrics::funnel::{FunnelParts, FunnelStep};
use crate::service::page::PageRequest;

/// An ordered sequence of stages deals move through.
pub struct Pipeline(pub pipeline::Model);

/// An ordered sequence of stages deals move through.
#[Object]
impl Pipeline {
    /// This pipeline's funnel (a `filter.pipelineId` of another pipeline is BAD_USER_INPUT).
    async fn funnel(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Narrows the funnel; `period` applies per `mode`.")] filter: Option<MetricFilterInput>,
        #[graphql(desc = "COHORT (the default) or ACTIVITY.")] mode: Option<FunnelMode>,
    ) -> Result<Option<Funnel>> {
        metric_fields::pipeline_funnel(
            &metric_fields::loaders(ctx).await?.metrics.pipeline_funnel,
            self.0.id,
            filter,
            mode,
            funnel_parts(ctx, &[&[]]),
        )
        .await
    }
    /// Global ID.
    pub async fn id(&self) -> ID {
        encode(NodeKind::Pipeline, self.0.id)
    }
    /// The pipeline's name, e.g. "Sales".
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// New deals go here when no pipeline is given.
    async fn is_default(&self) -> bool {
        self.0.is_default
    }
    /// Stages in order.
    async fn stages(&self, ctx: &Context<'_>) -> Result<Vec<Stage>> {
        let stages = ctx.loaders().await?.stages_of_pipeline.load_one(self.0.id).await?.unwrap_or_default();
        Ok(stages.into_iter().map(Stage).collect())
    }
    /// Optimistic-concurrency version.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When the pipeline was created.
    async fn created_at(&self) -> Timestamp {
        Timestamp(self.0.created_at)
    }
}

/// One step of a pipeline.
pub struct Stage(pub stage::Model);

/// One step of a pipeline.
#[Object]
impl Stage {
    /// `reached(this stage) / reached(previous stage) × 100` in this pipeline's funnel; null
    /// for the first stage or when the previous stage was reached by no deal.
    async fn conversion_from_previous(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Narrows the funnel; `period` applies per `mode`.")] filter: Option<MetricFilterInput>,
        #[graphql(desc = "COHORT (the default) or ACTIVITY.")] mode: Option<FunnelMode>,
    ) -> Result<Option<Money>> {
        self.number(ctx, filter, mode, FunnelParts::default(), |s| s.conversion_from_previous).await
    }
    /// Average days a deal stayed in this stage in this pipeline's funnel (see
    /// `FunnelStep.avgDaysInStage`).
    async fn avg_days_in_stage(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Narrows the funnel; `period` applies per `mode`.")] filter: Option<MetricFilterInput>,
        #[graphql(desc = "COHORT (the default) or ACTIVITY.")] mode: Option<FunnelMode>,
    ) -> Result<Option<Money>> {
        let parts = FunnelParts { stays: true, ..Default::default() };
        self.number(ctx, filter, mode, parts, |s| s.avg_days_in_stage).await
    }
    /// Median days in this stage, nearest-rank (see `FunnelStep.medianDaysInStage`).
    async fn median_days_in_stage(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Narrows the funnel; `period` applies per `mode`.")] filter: Option<MetricFilterInput>,
        #[graphql(desc = "COHORT (the default) or ACTIVITY.")] mode: Option<FunnelMode>,
    ) -> Result<Option<Money>> {
        let parts = FunnelParts { distribution: true, ..Default::default() };
        self.number(ctx, filter, mode, parts, |s| s.median_days_in_stage).await
    }
    /// 90th-percentile days in this stage, nearest-rank (see `FunnelStep.p90DaysInStage`).
    async fn p90_days_in_stage(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Narrows the funnel; `period` applies per `mode`.")] filter: Option<MetricFilterInput>,
        #[graphql(desc = "COHORT (the default) or ACTIVITY.")] mode: Option<FunnelMode>,
    ) -> Result<Option<Money>> {
        let parts = FunnelParts { distribution: true, ..Default::default() };
        self.number(ctx, filter, mode, parts, |s| s.p90_days_in_stage).await
    }
    /// This stage's record over the deals you may see: of those that entered it and
    /// closed within the last `lookbackMonths`, the share WON; `forecast(basis: HISTORICAL)`
    /// uses it unless the sample is below `minimumSample`.
    async fn historical_win_rate(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Closed deals of this many months back count (1–120; 12).")] lookback_months: Option<i32>,
        #[graphql(desc = "Below this many closed deals the configured probability is used (1–100000; 10).")]
        minimum_sample: Option<i32>,
    ) -> Result<HistoricalWinRate> {
        use crate::service::metrics::forecast::{self, ForecastBasis, ForecastOptions, StageRate};
        let options = ForecastOptions::new(
            crate::service::metrics::GroupBy::Month,
            ForecastBasis::Historical,
            lookback_months.unwrap_or(forecast::DEFAULT_LOOKBACK_MONTHS),
            minimum_sample.unwrap_or(forecast::DEFAULT_MINIMUM_SAMPLE),
        )?;
        let key = MetricKey { args: (options.lookback_months, options.minimum_sample), id: self.0.id };
        let found = metric_fields::loaders(ctx).await?.metrics.stage_win_rate.load_one(key).await?;
        let rate = found.unwrap_or(StageRate {
            stage: self.0.clone(),
            won: 0,
            sample: 0,
            minimum_sample: options.minimum_sample,
        });
        Ok(HistoricalWinRate { rate, basis: ForecastBasis::Historical })
    }
    /// An open deal in this stage longer than this many days is stale (`Deal.isStale`,
    /// `staleDeals`); null: never. Set by ADMIN (`updateStage`).
    async fn stale_after_days(&self) -> Option<i32> {
        self.0.stale_after_days
    }
    /// Global ID.
    pub async fn id(&self) -> ID {
        encode(NodeKind::Stage, self.0.id)
    }
    /// The stage's name, e.g. "Demo Scheduled".
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// 1-based place in the pipeline (unique within it).
    async fn position(&self) -> i32 {
        self.0.position
    }
    /// Chance (0–100) that a deal in this stage is won; weights the pipeline value.
    async fn probability(&self) -> i32 {
        self.0.probability
    }
    /// Deals currently in this stage that the caller may see, newest first.
    async fn deals(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<Deal>> {
        let filter = DealFilter { stage: Some(OneOf { eq: Some(self.0.id), any: None }), ..Default::default() };
        // Boxed, so that every other field of a stage does not carry this page read's state.
        Box::pin(deal_page(ctx, filter, &[], PageRequest { first, after, last, before })).await
    }
    /// The pipeline this stage belongs to.
    async fn pipeline(&self, ctx: &Context<'_>) -> Result<Pipeline> {
        let found = ctx.loaders().await?.pipelines.load_one(self.0.pipeline_id).await?;
        Ok(Pipeline(super::always(found, "the stage's pipeline")?))
    }
    /// Optimistic-concurrency version.
    async fn version(&self) -> i32 {
        self.0.version
    }
}

impl Stage {
    /// The stage columns the fields selected under `field` (of type `Stage`) read; a field
    /// not named here reads every column.
    pub fn columns_of(field: async_graphql::SelectionField<'_>) -> Columns<stage::Column> {
        use stage::Column as C;
        super::look_ahead::columns_read(field, |name| {
            Some(match name {
                "__typename" | "id" | "deals" => &[],
                "name" => &[C::Name],
                "position" => &[C::Position],
                "probability" => &[C::Probability],
                "staleAfterDays" => &[C::StaleAfterDays],
                "pipeline" => &[C::PipelineId],
                "version" => &[C::Version],
                _ => return None,
            })
        })
    }

    /// A number (in hundredths) of this stage's step in its pipeline's funnel, computed with
    /// `parts` (one funnel serves every stage field of the pipeline: the loader merges their
    /// parts).
    async fn number(
        &self,
        ctx: &Context<'_>,
        filter: Option<MetricFilterInput>,
        mode: Option<FunnelMode>,
        parts: FunnelParts,
        pick: fn(&FunnelStep) -> Option<i64>,
    ) -> Result<Option<Money>> {
        let loader = &metric_fields::loaders(ctx).await?.metrics.pipeline_funnel;
        let funnel = metric_fields::pipeline_funnel(loader, self.0.pipeline_id, filter, mode, parts).await?;
        Ok(funnel.and_then(|f| f.step_of(self.0.id).and_then(|s| hundredths(pick(s)))))
    }
}

/// Why a deal was lost.
pub struct LostReason(pub lost_reason::Model);

/// Why a deal was lost.
#[Object]
impl LostReason {
    /// Global ID.
    pub async fn id(&self) -> ID {
        encode(NodeKind::LostReason, self.0.id)
    }
    /// The reason as reps pick it, e.g. "Price too high".
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Inactive reasons stay on old deals but cannot be chosen.
    async fn active(&self) -> bool {
        self.0.active
    }
    /// Optimistic-concurrency version.
    async fn version(&self) -> i32 {
        self.0.version
    }
}
