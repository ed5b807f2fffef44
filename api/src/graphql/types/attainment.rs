//! `TargetAttainment`: won revenue against each target (SPEC 6.6).

use async_graphql::Object;

use super::metrics::hundredths;
use super::{Money, Target};
use crate::service::metrics::attainment::Attainment;

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
        Money::from_cents(self.0.won_amount)
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
