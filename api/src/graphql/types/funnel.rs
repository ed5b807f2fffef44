//! `Funnel`: stage-to-stage conversion of one pipeline (SPEC 6.2).

use async_graphql::{Context, Enum, Object, Result};

use super::metrics::{MetricGroup, hundredths};
use super::{Money, Pipeline, Stage};
use crate::graphql::context::ContextExt;
use crate::service::metrics::GroupKey;
use crate::service::metrics::funnel::{self, FunnelReport, FunnelStep as Step};

/// Which deals a funnel counts.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq, Default)]
#[graphql(remote = "crate::service::metrics::funnel::FunnelMode")]
pub enum FunnelMode {
    /// Deals created in the period (`filter.period` applies to `createdAt`; time groups by
    /// creation).
    #[default]
    Cohort,
    /// Deals that entered any stage during the period (time groups by their first move in
    /// the period).
    Activity,
}

/// A pipeline's funnel: each stage (ordered by position) then WON, with the totals.
pub struct Funnel {
    pipeline_id: i64,
    funnel: funnel::Funnel,
    group: Option<GroupKey>,
    groups: Vec<Funnel>,
}

impl Funnel {
    pub fn single(pipeline_id: i64, funnel: funnel::Funnel) -> Self {
        Self { pipeline_id, funnel, group: None, groups: Vec::new() }
    }

    /// The step of stage `stage_id`, if the stage is in this funnel.
    pub fn step_of(&self, stage_id: i64) -> Option<&Step> {
        self.funnel.steps.iter().find(|s| s.stage.as_ref().is_some_and(|st| st.id == stage_id))
    }

    pub fn from_report(mut report: FunnelReport) -> Self {
        let pipeline_id = report.pipeline_id;
        let leaf = |(key, funnel)| Self { pipeline_id, funnel, group: Some(key), groups: Vec::new() };
        let groups = report
            .groups
            .into_iter()
            .map(|(key, funnel)| {
                let inner = report.subgroups.remove(&key).unwrap_or_default();
                Self { pipeline_id, funnel, group: Some(key), groups: inner.into_iter().map(leaf).collect() }
            })
            .collect();
        Self { pipeline_id, funnel: report.total, group: None, groups }
    }
}

/// A pipeline's funnel: each stage (ordered by position) then WON, with the totals.
#[Object]
impl Funnel {
    /// The group of this row; null on the total.
    async fn group(&self) -> Option<MetricGroup> {
        self.group.clone().map(MetricGroup)
    }
    /// One funnel per group when `groupBy` was given (same fields), ordered by group; inside
    /// a group, one per `thenBy` group.
    async fn groups(&self) -> &[Funnel] {
        &self.groups
    }
    /// The pipeline.
    async fn pipeline(&self, ctx: &Context<'_>) -> Result<Option<Pipeline>> {
        Ok(ctx.loaders().await?.pipelines.load_one(self.pipeline_id).await?.map(Pipeline))
    }
    /// The stages in order, then a final WON step.
    async fn steps(&self) -> Vec<FunnelStep> {
        self.funnel.steps.iter().cloned().map(FunnelStep).collect()
    }
    /// The currency every amount is in (the base currency) and the rates that converted
    /// deals in other currencies: closed deals at their close date's, open ones at today's.
    async fn conversion(&self) -> super::exchange_rate::Conversion {
        super::exchange_rate::Conversion(self.funnel.conversion.clone())
    }
    /// Deals counted.
    async fn deals(&self) -> i64 {
        self.funnel.deals
    }
    /// Of which WON.
    async fn won(&self) -> i64 {
        self.funnel.won
    }
    /// Of which LOST.
    async fn lost(&self) -> i64 {
        self.funnel.lost
    }
    /// Of which still OPEN.
    async fn open(&self) -> i64 {
        self.funnel.open
    }
    /// `won / (won + lost) × 100`; null when none is closed.
    async fn win_rate(&self) -> Option<Money> {
        hundredths(self.funnel.win_rate)
    }
    /// Σ amount × probability of the current stage / 100, over open deals.
    async fn weighted_pipeline(&self) -> Money {
        Money::from_cents(self.funnel.weighted_pipeline)
    }
    /// Average days from creation to winning, over WON deals; null without any.
    async fn avg_days_to_win(&self) -> Option<Money> {
        hundredths(self.funnel.avg_days_to_win)
    }
}

/// One step of a funnel: a stage, or the final WON step.
pub struct FunnelStep(Step);

/// One step of a funnel: a stage, or the final WON step.
#[Object]
impl FunnelStep {
    /// The stage; null for the WON step.
    async fn stage(&self) -> Option<Stage> {
        self.0.stage.clone().map(Stage)
    }
    /// The stage's name, or "Won".
    async fn name(&self) -> &str {
        self.0.stage.as_ref().map_or("Won", |s| s.name.as_str())
    }
    /// Whether this is the final WON step.
    async fn is_won(&self) -> bool {
        self.0.stage.is_none()
    }
    /// Deals that reached the step: whose highest stage ever entered is at least this one
    /// (skipping a stage still passes it); every WON deal reached every stage.
    async fn reached(&self) -> i64 {
        self.0.reached
    }
    /// Σ amount of those deals.
    async fn amount(&self) -> Money {
        Money::from_cents(self.0.amount)
    }
    /// `reached / reached of the previous step × 100`; null for the first stage or when the
    /// previous step has none.
    async fn conversion_from_previous(&self) -> Option<Money> {
        hundredths(self.0.conversion_from_previous)
    }
    /// `reached / reached of the first stage × 100`.
    async fn conversion_from_first(&self) -> Option<Money> {
        hundredths(self.0.conversion_from_first)
    }
    /// Deals LOST while in this stage.
    async fn lost_here(&self) -> i64 {
        self.0.lost_here
    }
    /// Average days a deal stayed in the stage (until its next move, its close, or now when
    /// still there); null when none entered it.
    async fn avg_days_in_stage(&self) -> Option<Money> {
        hundredths(self.0.avg_days_in_stage)
    }
    /// Median days a deal stayed in the stage, nearest-rank: of n stays sorted by length
    /// the ⌈n/2⌉-th (the lower middle one of an even count); null when none entered it.
    async fn median_days_in_stage(&self) -> Option<Money> {
        hundredths(self.0.median_days_in_stage)
    }
    /// 90th-percentile days in the stage, nearest-rank (the ⌈0.9·n⌉-th shortest stay); null
    /// when none entered it.
    async fn p90_days_in_stage(&self) -> Option<Money> {
        hundredths(self.0.p90_days_in_stage)
    }
    /// Open deals counted here that are in this stage longer than its `staleAfterDays`
    /// (0 when the stage has none, and for WON).
    async fn stale_open(&self) -> i64 {
        self.0.stale_open
    }
}
