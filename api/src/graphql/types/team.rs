//! `Team` and `Target`: who sells together, and what they plan to win.

use crate::graphql::types::timestamp::Timestamp;
use async_graphql::{Context, ID, Object, Result};
use entity::{target, team};

use super::funnel::{Funnel, FunnelMode};
use super::metric_fields;
use super::metrics::MetricFilterInput;
use super::{Money, User};
use crate::graphql::context::ContextExt;
use crate::graphql::ids::{NodeKind, encode};

/// A sales team; its members are the users assigned to it.
pub struct Team(pub team::Model);

/// A sales team; its members are the users assigned to it.
#[Object]
impl Team {
    /// The team's funnel: deals owned by its members.
    async fn funnel(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Narrows the funnel; `period` applies per `mode`.")] filter: Option<MetricFilterInput>,
        #[graphql(desc = "COHORT (the default) or ACTIVITY.")] mode: Option<FunnelMode>,
    ) -> Result<Option<Funnel>> {
        metric_fields::group_funnel(
            ctx,
            &metric_fields::loaders(ctx).await?.metrics.team_funnel,
            self.0.id,
            filter,
            mode,
        )
        .await
    }
    /// Global ID.
    pub async fn id(&self) -> ID {
        encode(NodeKind::Team, self.0.id)
    }
    /// The team's name, e.g. "EMEA".
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Members, by name.
    async fn members(&self, ctx: &Context<'_>) -> Result<Vec<User>> {
        let members = ctx.loaders().await?.members_of_team.load_one(self.0.id).await?.unwrap_or_default();
        Ok(members.into_iter().map(User).collect())
    }
    /// Optimistic-concurrency version.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When the team was created.
    async fn created_at(&self) -> Timestamp {
        Timestamp(self.0.created_at)
    }
}

/// Planned won revenue of one user or one team over a half-open period.
pub struct Target(pub target::Model);

/// Planned won revenue of one user or one team over a half-open period.
#[Object]
impl Target {
    /// Global ID.
    pub async fn id(&self) -> ID {
        encode(NodeKind::Target, self.0.id)
    }
    /// The user the target is for (null for a team target).
    async fn user(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        match self.0.user_id {
            Some(id) => Ok(ctx.loaders().await?.users.load_one(id).await?.map(User)),
            None => Ok(None),
        }
    }
    /// The team the target is for (null for a user target).
    async fn team(&self, ctx: &Context<'_>) -> Result<Option<Team>> {
        match self.0.team_id {
            Some(id) => Ok(ctx.loaders().await?.teams.load_one(id).await?.map(Team)),
            None => Ok(None),
        }
    }
    /// First instant of the period.
    async fn period_start(&self) -> Timestamp {
        Timestamp(self.0.period_start)
    }
    /// End of the period (exclusive).
    async fn period_end(&self) -> Timestamp {
        Timestamp(self.0.period_end)
    }
    /// Planned won revenue.
    async fn amount(&self) -> Money {
        Money::from_cents(self.0.amount)
    }
    /// Optimistic-concurrency version.
    async fn version(&self) -> i32 {
        self.0.version
    }
}
