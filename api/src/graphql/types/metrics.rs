//! Metric inputs and outputs shared by every metric: the filter, `groupBy`, and the group
//! a row belongs to.

use crate::graphql::types::date::Date;
use crate::graphql::types::timestamp::Timestamp;
use async_graphql::{Context, Enum, ID, InputObject, Object, Result};

use super::{Company, Team, User};
use crate::error::ApiResult;
use crate::graphql::context::ContextExt;
use crate::graphql::ids::{NodeKind, decode};
use crate::graphql::types::Money;
use crate::service::metrics::{GroupKey, MetricFilter, Period};

/// A half-open period: from `from` (included) to `to` (excluded), UTC.
#[derive(InputObject)]
pub struct PeriodInput {
    /// Start, included.
    pub from: Timestamp,
    /// End, excluded.
    pub to: Timestamp,
}

/// Narrows a metric. Always combined with the caller's scope: a rep's metrics count only
/// their own records, a manager's their team's.
#[derive(InputObject, Default)]
pub struct MetricFilterInput {
    /// The period (what it applies to is given per metric); all time when omitted.
    pub period: Option<PeriodInput>,
    /// Only records owned by these users.
    pub owner_ids: Option<Vec<ID>>,
    /// Only records owned by members of these teams.
    pub team_ids: Option<Vec<ID>>,
    /// The pipeline (funnel); the default pipeline when omitted.
    pub pipeline_id: Option<ID>,
    /// Only contacts (and their deals and meetings) with this lead source.
    pub source: Option<String>,
}

impl MetricFilterInput {
    pub fn to_service(&self) -> ApiResult<MetricFilter> {
        let ids = |field: &str, ids: &Option<Vec<ID>>, kind| {
            ids.as_ref()
                .map(|list| list.iter().map(|id| decode(field, id, kind)).collect::<ApiResult<Vec<_>>>())
                .transpose()
        };
        Ok(MetricFilter {
            period: self.period.as_ref().map(|p| Period::new("filter.period", p.from.0, p.to.0)).transpose()?,
            owner_ids: ids("filter.ownerIds", &self.owner_ids, NodeKind::User)?,
            team_ids: ids("filter.teamIds", &self.team_ids, NodeKind::Team)?,
            pipeline_id: self
                .pipeline_id
                .as_ref()
                .map(|id| decode("filter.pipelineId", id, NodeKind::Pipeline))
                .transpose()?,
            source: self.source.clone(),
        })
    }
}

/// How to break a metric down. Periods bucket in UTC; weeks start on Monday.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "crate::service::metrics::GroupBy")]
pub enum MetricGroupBy {
    /// By the record's owner.
    Owner,
    /// By the owner's team.
    Team,
    /// By the contact's lead source.
    Source,
    /// By the deal's company (funnel and lostDeals; deals without a company are one group).
    Company,
    /// By ISO week (Monday to Sunday).
    Week,
    /// By calendar month.
    Month,
    /// By calendar quarter.
    Quarter,
    /// By half-year (January–June, July–December).
    HalfYear,
    /// By calendar year.
    Year,
}

/// The group a metric row belongs to; exactly the field matching `by` is set.
pub struct MetricGroup(pub GroupKey);

/// The group a metric row belongs to; exactly the field matching `by` is set.
#[Object]
impl MetricGroup {
    /// What the rows are grouped by.
    async fn by(&self) -> MetricGroupBy {
        match &self.0 {
            GroupKey::Owner(_) => MetricGroupBy::Owner,
            GroupKey::Team(_) => MetricGroupBy::Team,
            GroupKey::Source(_) => MetricGroupBy::Source,
            GroupKey::Company(_) => MetricGroupBy::Company,
            GroupKey::Period(by, _) => (*by).into(),
        }
    }
    /// The owner (OWNER).
    async fn owner(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let GroupKey::Owner(id) = self.0 else { return Ok(None) };
        Ok(ctx.loaders().await?.users.load_one(id).await?.map(User))
    }
    /// The team (TEAM); null for owners without a team.
    async fn team(&self, ctx: &Context<'_>) -> Result<Option<Team>> {
        let GroupKey::Team(Some(id)) = self.0 else { return Ok(None) };
        Ok(ctx.loaders().await?.teams.load_one(id).await?.map(Team))
    }
    /// The lead source (SOURCE); null for contacts without one.
    async fn source(&self) -> Option<&str> {
        match &self.0 {
            GroupKey::Source(source) => source.as_deref(),
            _ => None,
        }
    }
    /// The company (COMPANY); null for deals without one, and for a company you may not see
    /// (its deals in your scope still count).
    async fn company(&self, ctx: &Context<'_>) -> Result<Option<Company>> {
        let GroupKey::Company(Some(id)) = self.0 else { return Ok(None) };
        Ok(ctx.loaders().await?.companies.load_one(id).await?.map(Company))
    }
    /// First day of the period (WEEK … YEAR), UTC.
    async fn period_start(&self) -> Option<Date> {
        match &self.0 {
            GroupKey::Period(_, start) => Some(Date(*start)),
            _ => None,
        }
    }
}

/// A percentage or other two-decimal number as a `Decimal`, from hundredths.
pub fn hundredths(value: Option<i64>) -> Option<Money> {
    value.map(Money::from_cents)
}
