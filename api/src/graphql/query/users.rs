//! Queries about users, teams and targets.

use crate::graphql::types::timestamp::Timestamp;
use async_graphql::{Context, ID, InputObject, Object, Result};
use chrono::{DateTime, Utc};

use crate::error::ApiResult;
use crate::graphql::context::ContextExt;
use crate::graphql::ids::NodeKind;
use crate::graphql::types::api_key::ApiKey;
use crate::graphql::types::enums::Role;
use crate::graphql::types::filters::{IdFilter, decode_ids, enum_filter};
use crate::graphql::types::{Connection, Target, Team, User};
use crate::service::directory::{self, TargetFilter, UserFilter};
use crate::service::page::{PageRequest, counter};
use crate::service::{api_keys, users};

enum_filter!(RoleFilter, Role, entity::enums::Role, "Matches users with these roles.");

/// Filters for `users`.
#[derive(InputObject, Default)]
pub struct UserFilterInput {
    /// By id.
    pub id: Option<IdFilter>,
    /// By team.
    pub team_id: Option<IdFilter>,
    /// By role.
    pub role: Option<RoleFilter>,
    /// Only active (true) or inactive (false) users.
    pub active: Option<bool>,
    /// Case-insensitive text in name or email.
    pub search: Option<String>,
}

impl UserFilterInput {
    fn to_service(&self) -> ApiResult<UserFilter> {
        Ok(UserFilter {
            ids: decode_ids("where.id", &self.id, NodeKind::User)?,
            team: decode_ids("where.teamId", &self.team_id, NodeKind::Team)?,
            role: self.role.as_ref().map(RoleFilter::to_one_of),
            active: self.active,
            search: self.search.clone(),
        })
    }
}

/// Filters for `targets`.
#[derive(InputObject, Default)]
pub struct TargetFilterInput {
    /// For these users.
    pub user_id: Option<IdFilter>,
    /// For these teams.
    pub team_id: Option<IdFilter>,
    /// Targets whose period overlaps `[from, to)`: start.
    pub from: Option<Timestamp>,
    /// Targets whose period overlaps `[from, to)`: end.
    pub to: Option<Timestamp>,
}

#[derive(Default)]
pub struct UserQuery;

#[Object]
impl UserQuery {
    /// The signed-in user.
    async fn me(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let principal = ctx.principal().await?;
        Ok(users::find_by_id(ctx.db(), principal.user_id).await?.map(User))
    }

    /// The user directory (every signed-in role may read it), by name.
    async fn users(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "where")] filter: Option<UserFilterInput>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<User>> {
        ctx.principal().await?;
        let f = filter.unwrap_or_default().to_service()?;
        let rows = directory::list_users(ctx.db(), &f, &PageRequest { first, after, last, before }).await?;
        Ok(Connection::new(rows, User, counter(ctx.db(), directory::user_query(&f))))
    }

    /// One user, or null.
    async fn user(&self, ctx: &Context<'_>, id: ID) -> Result<Option<User>> {
        let id = crate::graphql::ids::decode("id", &id, NodeKind::User)?;
        Ok(ctx.loaders().await?.users.load_one(id).await?.map(User))
    }

    /// Every API key, newest first (ADMIN).
    async fn api_keys(&self, ctx: &Context<'_>) -> Result<Vec<ApiKey>> {
        Ok(api_keys::list(ctx.principal().await?, ctx.db()).await?.into_iter().map(ApiKey).collect())
    }

    /// Every team, by name.
    async fn teams(&self, ctx: &Context<'_>) -> Result<Vec<Team>> {
        ctx.principal().await?;
        Ok(directory::teams(ctx.db()).await?.into_iter().map(Team).collect())
    }

    /// Revenue targets the caller may see, by period.
    async fn targets(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "where")] filter: Option<TargetFilterInput>,
    ) -> Result<Vec<Target>> {
        let principal = ctx.principal().await?;
        let f = filter.unwrap_or_default();
        let overlapping = match (f.from, f.to) {
            (None, None) => None,
            (from, to) => {
                Some((from.map_or(DateTime::<Utc>::MIN_UTC, |t| t.0), to.map_or(DateTime::<Utc>::MAX_UTC, |t| t.0)))
            }
        };
        let filter = TargetFilter {
            id: None,
            user: decode_ids("where.userId", &f.user_id, NodeKind::User)?,
            team: decode_ids("where.teamId", &f.team_id, NodeKind::Team)?,
            overlapping,
        };
        Ok(directory::targets(principal, ctx.db(), &filter).await?.into_iter().map(Target).collect())
    }
}
