//! `LeadRejection`: disqualified leads and the money wasted on them (SPEC 6.5).

use async_graphql::{Context, Enum, Object, Result};

use super::metrics::{MetricGroup, hundredths};
use super::{Money, User};
use crate::graphql::context::ContextExt;
use crate::service::metrics::arith::percent;
use crate::service::metrics::rejection::{LeadRejection as Report, RejectionSums};
use crate::service::metrics::{GroupKey, Grouped};

/// Band of a lead rejection rate: ≤ 10 % NORMAL (a normal cost of doing business), ≤ 25 %
/// HIGH, above CRITICAL.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "crate::service::metrics::bands::RejectionBand")]
pub enum RejectionBand {
    /// ≤ 10 %.
    Normal,
    /// ≤ 25 %.
    High,
    /// Above 25 %.
    Critical,
}

/// Leads (contacts) created in the period and how many were disqualified.
pub struct LeadRejection {
    report: Report,
    group: Option<GroupKey>,
    groups: Vec<LeadRejection>,
}

impl LeadRejection {
    pub fn from_grouped(grouped: Grouped<Report>) -> Self {
        let groups =
            grouped.groups.into_iter().map(|(k, report)| Self { report, group: Some(k), groups: Vec::new() }).collect();
        Self { report: grouped.total, group: None, groups }
    }
}

/// Leads (contacts) created in the period and how many were disqualified.
#[Object]
impl LeadRejection {
    /// The group of this row; null on the total.
    async fn group(&self) -> Option<MetricGroup> {
        self.group.clone().map(MetricGroup)
    }
    /// One row per group when `groupBy` was given (same fields), ordered by group.
    async fn groups(&self) -> &[LeadRejection] {
        &self.groups
    }
    /// Leads created in the period.
    async fn leads(&self) -> i64 {
        self.report.total.leads
    }
    /// Of which DISQUALIFIED.
    async fn rejected(&self) -> i64 {
        self.report.total.rejected
    }
    /// `rejected / leads × 100`; null without leads.
    async fn rejection_rate(&self) -> Option<Money> {
        hundredths(self.report.total.rejection_rate())
    }
    /// The band of the (unrounded) rate.
    async fn band(&self) -> Option<RejectionBand> {
        self.report.total.band().map(Into::into)
    }
    /// Rejected with at most one COMPLETED meeting and no deal beyond the first stage:
    /// "dead on arrival".
    async fn rejected_after_first_contact(&self) -> i64 {
        self.report.total.rejected_after_first_contact
    }
    /// Σ acquisition cost of the rejected leads.
    async fn wasted_acquisition_cost(&self) -> Money {
        Money::from_cents(self.report.total.wasted_acquisition_cost)
    }
    /// Rejected leads by disqualify reason.
    async fn by_reason(&self) -> Vec<RejectionBreakdown> {
        let total = self.report.total;
        self.report.by_reason.iter().map(|(r, s)| RejectionBreakdown::new(Key::Reason(r.clone()), *s, total)).collect()
    }
    /// By owner.
    async fn by_owner(&self) -> Vec<RejectionBreakdown> {
        let total = self.report.total;
        self.report.by_owner.iter().map(|(o, s)| RejectionBreakdown::new(Key::Owner(*o), *s, total)).collect()
    }
    /// By lead source.
    async fn by_source(&self) -> Vec<RejectionBreakdown> {
        let total = self.report.total;
        self.report
            .by_source
            .iter()
            .map(|(src, s)| RejectionBreakdown::new(Key::Source(src.clone()), *s, total))
            .collect()
    }
}

enum Key {
    Reason(Option<String>),
    Owner(i64),
    Source(Option<String>),
}

/// Lead rejection of one reason, owner or source.
pub struct RejectionBreakdown {
    key: Key,
    sums: RejectionSums,
    total: RejectionSums,
}

impl RejectionBreakdown {
    fn new(key: Key, sums: RejectionSums, total: RejectionSums) -> Self {
        Self { key, sums, total }
    }
}

/// Lead rejection of one reason, owner or source.
#[Object]
impl RejectionBreakdown {
    /// The disqualify reason (in `byReason`; null for none given).
    async fn reason(&self) -> Option<&str> {
        match &self.key {
            Key::Reason(r) => r.as_deref(),
            _ => None,
        }
    }
    /// The owner (in `byOwner`).
    async fn owner(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Key::Owner(id) = self.key else { return Ok(None) };
        Ok(ctx.loaders().await?.users.load_one(id).await?.map(User))
    }
    /// The lead source (in `bySource`; null for none).
    async fn source(&self) -> Option<&str> {
        match &self.key {
            Key::Source(s) => s.as_deref(),
            _ => None,
        }
    }
    /// Leads (in `byOwner` and `bySource`; the rejected ones in `byReason`).
    async fn leads(&self) -> i64 {
        match self.key {
            Key::Reason(_) => self.sums.rejected,
            _ => self.sums.leads,
        }
    }
    /// Rejected leads.
    async fn rejected(&self) -> i64 {
        self.sums.rejected
    }
    /// `rejected / leads × 100` (in `byOwner` and `bySource`).
    async fn rejection_rate(&self) -> Option<Money> {
        match self.key {
            Key::Reason(_) => None,
            _ => hundredths(self.sums.rejection_rate()),
        }
    }
    /// Share of all rejected leads, in percent.
    async fn share_of_rejected(&self) -> Option<Money> {
        hundredths(percent(self.sums.rejected, self.total.rejected))
    }
    /// Rejected right after the first contact.
    async fn rejected_after_first_contact(&self) -> i64 {
        self.sums.rejected_after_first_contact
    }
    /// Σ acquisition cost of the rejected leads.
    async fn wasted_acquisition_cost(&self) -> Money {
        Money::from_cents(self.sums.wasted_acquisition_cost)
    }
}
