//! `LostDeals`: what lost deals cost (SPEC 6.3), with breakdowns by reason, stage and owner.

use async_graphql::{Context, Object, Result};

use super::exchange_rate::Conversion;
use super::metrics::{MetricGroup, hundredths};
use super::{LostReason, Money, Stage, User};
use crate::graphql::context::ContextExt;
use crate::service::currency;
use crate::service::metrics::arith::{percent, ratio};
use crate::service::metrics::lost::{LostDeals as Report, LostSums};
use crate::service::metrics::{GroupKey, Grouped};

/// Deals LOST with `closedAt` in the period (`filter.pipelineId` narrows to one pipeline).
pub struct LostDeals {
    report: Report,
    group: Option<GroupKey>,
    groups: Vec<LostDeals>,
    conversion: currency::Conversion,
}

impl LostDeals {
    pub fn from_grouped(grouped: Grouped<Report>) -> Self {
        let conversion = grouped.conversion;
        let groups = grouped
            .groups
            .into_iter()
            .map(|(k, report)| Self { report, group: Some(k), groups: Vec::new(), conversion: conversion.clone() })
            .collect();
        Self { report: grouped.total, group: None, groups, conversion }
    }

    fn rows(&self, kind: BreakdownKind) -> Vec<LostBreakdown> {
        let total = self.report.total;
        let row = |key: Option<i64>, sums: LostSums| LostBreakdown { kind, key, sums, total };
        match kind {
            BreakdownKind::Reason => self.report.by_reason.iter().map(|(k, s)| row(*k, *s)).collect(),
            BreakdownKind::Stage => self.report.by_stage.iter().map(|(k, s)| row(Some(*k), *s)).collect(),
            BreakdownKind::Owner => self.report.by_owner.iter().map(|(k, s)| row(Some(*k), *s)).collect(),
        }
    }
}

/// Deals LOST with `closedAt` in the period (`filter.pipelineId` narrows to one pipeline).
#[Object]
impl LostDeals {
    /// The group of this row; null on the total.
    async fn group(&self) -> Option<MetricGroup> {
        self.group.clone().map(MetricGroup)
    }
    /// One row per group when `groupBy` was given (same fields), ordered by group.
    async fn groups(&self) -> &[LostDeals] {
        &self.groups
    }
    /// The currency every amount is in (the base currency) and the rates that converted
    /// deals in other currencies, each at the rate of its close date.
    async fn conversion(&self) -> Conversion {
        Conversion(self.conversion.clone())
    }
    /// Deals lost.
    async fn count(&self) -> i64 {
        self.report.total.count
    }
    /// Σ their amounts: revenue forfeited.
    async fn lost_amount(&self) -> Money {
        Money::from_cents(self.report.total.lost_cents())
    }
    /// Σ amount × probability of the stage each was lost in / 100.
    async fn weighted_lost_amount(&self) -> Money {
        Money::from_cents(self.report.total.weighted_cents())
    }
    /// Σ acquisition cost of their contacts, each contact once: money already spent.
    async fn acquisition_cost(&self) -> Money {
        Money::from_cents(self.report.total.acquisition_cost)
    }
    /// By lost reason.
    async fn by_reason(&self) -> Vec<LostBreakdown> {
        self.rows(BreakdownKind::Reason)
    }
    /// By the stage the deals were lost in.
    async fn by_stage(&self) -> Vec<LostBreakdown> {
        self.rows(BreakdownKind::Stage)
    }
    /// By owner.
    async fn by_owner(&self) -> Vec<LostBreakdown> {
        self.rows(BreakdownKind::Owner)
    }
}

#[derive(Clone, Copy)]
enum BreakdownKind {
    Reason,
    Stage,
    Owner,
}

/// Lost deals of one reason, stage or owner, with their share of the total.
pub struct LostBreakdown {
    kind: BreakdownKind,
    key: Option<i64>,
    sums: LostSums,
    total: LostSums,
}

/// Lost deals of one reason, stage or owner, with their share of the total.
#[Object]
impl LostBreakdown {
    /// The lost reason (in `byReason`).
    async fn reason(&self, ctx: &Context<'_>) -> Result<Option<LostReason>> {
        let (BreakdownKind::Reason, Some(id)) = (self.kind, self.key) else { return Ok(None) };
        Ok(ctx.loaders().await?.lost_reasons.load_one(id).await?.map(LostReason))
    }
    /// The stage (in `byStage`).
    async fn stage(&self, ctx: &Context<'_>) -> Result<Option<Stage>> {
        let (BreakdownKind::Stage, Some(id)) = (self.kind, self.key) else { return Ok(None) };
        Ok(ctx.loaders().await?.stages.load_one(id).await?.map(Stage))
    }
    /// The owner (in `byOwner`).
    async fn owner(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let (BreakdownKind::Owner, Some(id)) = (self.kind, self.key) else { return Ok(None) };
        Ok(ctx.loaders().await?.users.load_one(id).await?.map(User))
    }
    /// Deals lost.
    async fn count(&self) -> i64 {
        self.sums.count
    }
    /// Σ amounts.
    async fn lost_amount(&self) -> Money {
        Money::from_cents(self.sums.lost_cents())
    }
    /// Σ amount × stage probability / 100.
    async fn weighted_lost_amount(&self) -> Money {
        Money::from_cents(self.sums.weighted_cents())
    }
    /// Σ acquisition cost of these deals' contacts, each once.
    async fn acquisition_cost(&self) -> Money {
        Money::from_cents(self.sums.acquisition_cost)
    }
    /// `count / total count × 100`.
    async fn count_share(&self) -> Option<Money> {
        hundredths(percent(self.sums.count, self.total.count))
    }
    /// `lostAmount / total lostAmount × 100`; null when the total is zero.
    async fn amount_share(&self) -> Option<Money> {
        hundredths(ratio(self.sums.lost_amount * 100, self.total.lost_amount))
    }
}
