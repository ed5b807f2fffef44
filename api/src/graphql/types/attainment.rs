//! `TargetAttainment`: won revenue against each target (SPEC 6.6).

use async_graphql::Object;

use super::metrics::{MetricGroup, hundredths};
use super::{Money, Target};
use crate::service::currency;
use crate::service::metrics::GroupKey;
use crate::service::metrics::attainment::{Attainment, AttainmentSums};

/// One target with what was won against it.
pub struct TargetAttainment(pub Attainment);

/// One target with what was won against it.
#[Object]
impl TargetAttainment {
    /// The target (its user or team, period and amount).
    async fn target(&self) -> Target {
        Target(self.0.target.clone())
    }
    /// The target amount.
    async fn target_amount(&self) -> Money {
        Money::from_cents(self.0.target.amount)
    }
    /// Σ amount of the deals WON by the user (or the team's members) with `closedAt` in
    /// the target's own period, within your scope.
    async fn won_amount(&self) -> Money {
        Money::from_cents(currency::cents(self.0.won_amount))
    }
    /// How many such deals.
    async fn won_count(&self) -> i64 {
        self.0.won_count
    }
    /// `wonAmount / targetAmount × 100`; null for a zero target.
    async fn attainment(&self) -> Option<Money> {
        hundredths(self.0.attainment())
    }
}

/// Targets overlapping the period with what was won against them, their totals, and — with
/// `groupBy` — the same per group (OWNER: user targets by user; TEAM: by the target's team
/// or its user's team; periods: by the start of each target's own period).
pub struct TargetAttainmentReport {
    rows: Vec<Attainment>,
    group: Option<GroupKey>,
    groups: Vec<TargetAttainmentReport>,
    conversion: currency::Conversion,
}

impl TargetAttainmentReport {
    pub fn new(
        rows: Vec<Attainment>,
        groups: Vec<(GroupKey, Vec<Attainment>)>,
        conversion: currency::Conversion,
    ) -> Self {
        let groups = groups
            .into_iter()
            .map(|(k, rows)| Self { rows, group: Some(k), groups: Vec::new(), conversion: conversion.clone() })
            .collect();
        Self { rows, group: None, groups, conversion }
    }

    fn sums(&self) -> AttainmentSums {
        AttainmentSums::of(&self.rows)
    }
}

/// Targets overlapping the period with what was won against them, their totals, and — with
/// `groupBy` — the same per group (OWNER: user targets by user; TEAM: by the target's team
/// or its user's team; periods: by the start of each target's own period).
#[Object]
impl TargetAttainmentReport {
    /// The currency targets and won amounts are in (the base currency) and the rates that
    /// converted won deals in other currencies, each at its close date's.
    async fn conversion(&self) -> super::exchange_rate::Conversion {
        super::exchange_rate::Conversion(self.conversion.clone())
    }
    /// The group of this row; null on the total.
    async fn group(&self) -> Option<MetricGroup> {
        self.group.clone().map(MetricGroup)
    }
    /// One row per group when `groupBy` was given (same fields), ordered by group.
    async fn groups(&self) -> &[TargetAttainmentReport] {
        &self.groups
    }
    /// Each target, by period start.
    async fn targets(&self) -> Vec<TargetAttainment> {
        self.rows.iter().cloned().map(TargetAttainment).collect()
    }
    /// Σ target amounts.
    async fn target_amount(&self) -> Money {
        Money::from_cents(self.sums().target)
    }
    /// Σ won against them (a deal counts once per target it falls under).
    async fn won_amount(&self) -> Money {
        Money::from_cents(currency::cents(self.sums().won_amount))
    }
    /// Σ won deals against them.
    async fn won_count(&self) -> i64 {
        self.sums().won_count
    }
    /// `wonAmount / targetAmount × 100`; null when the targets sum to zero.
    async fn attainment(&self) -> Option<Money> {
        hundredths(self.sums().attainment())
    }
}
