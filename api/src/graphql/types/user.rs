//! `User`: a person who signs in.

use crate::graphql::types::timestamp::Timestamp;
use async_graphql::{Context, ID, Object, Result};
use entity::user;

use crate::service::columns::Columns;

use super::Team;
use super::enums::Role;
use super::funnel::{Funnel, FunnelMode};
use super::metric_fields;
use super::metrics::MetricFilterInput;
use super::no_show::NoShowStats;
use crate::graphql::context::ContextExt;
use crate::graphql::ids::{NodeKind, encode};

/// A person who signs in: a sales rep, manager, analyst or administrator.
pub struct User(pub user::Model);

impl User {
    /// The user columns the fields selected under `field` (of type `User`) read; a field not
    /// named here reads every column.
    pub fn columns_of(field: async_graphql::SelectionField<'_>) -> Columns<user::Column> {
        use user::Column as C;
        super::look_ahead::columns_read(field, |name| {
            Some(match name {
                "__typename" | "id" | "funnel" | "noShowStats" => &[],
                "email" => &[C::Email],
                "name" => &[C::Name],
                "role" => &[C::Role],
                "team" => &[C::TeamId],
                "active" => &[C::Active],
                "version" => &[C::Version],
                "createdAt" => &[C::CreatedAt],
                "updatedAt" => &[C::UpdatedAt],
                _ => return None,
            })
        })
    }
}

/// A person who signs in: a sales rep, manager, analyst or administrator.
#[Object]
impl User {
    /// The user's funnel: their deals in `filter.pipelineId` (or the default pipeline).
    async fn funnel(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Narrows the funnel; `period` applies per `mode`.")] filter: Option<MetricFilterInput>,
        #[graphql(desc = "COHORT (the default) or ACTIVITY.")] mode: Option<FunnelMode>,
    ) -> Result<Option<Funnel>> {
        metric_fields::group_funnel(
            ctx,
            &metric_fields::loaders(ctx).await?.metrics.user_funnel,
            self.0.id,
            filter,
            mode,
        )
        .await
    }
    /// No-show stats of the user's meetings (SPEC 6.1).
    async fn no_show_stats(&self, ctx: &Context<'_>, filter: Option<MetricFilterInput>) -> Result<NoShowStats> {
        metric_fields::user_no_show(ctx, self.0.id, filter).await
    }
    /// Global ID.
    pub async fn id(&self) -> ID {
        encode(NodeKind::User, self.0.id)
    }
    /// Login email (unique).
    async fn email(&self) -> &str {
        &self.0.email
    }
    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// What this user may see and change.
    async fn role(&self) -> Role {
        self.0.role.into()
    }
    /// The user's team.
    async fn team(&self, ctx: &Context<'_>) -> Result<Option<Team>> {
        match self.0.team_id {
            Some(id) => Ok(ctx.loaders().await?.teams.load_one(id).await?.map(Team)),
            None => Ok(None),
        }
    }
    /// Inactive users cannot sign in.
    async fn active(&self) -> bool {
        self.0.active
    }
    /// Optimistic-concurrency version: send it back with `updateUser`.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When the user was created.
    async fn created_at(&self) -> Timestamp {
        Timestamp(self.0.created_at)
    }
    /// When the user was last changed.
    async fn updated_at(&self) -> Timestamp {
        Timestamp(self.0.updated_at)
    }
}
