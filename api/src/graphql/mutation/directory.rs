//! ADMIN mutations on the directory: users, teams, targets.

use crate::graphql::types::timestamp::Timestamp;
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject};

use super::{optional_id, patch};
use crate::error::ApiError;
use crate::graphql::context::ContextExt;
use crate::graphql::ids::{NodeKind, decode};
use crate::graphql::types::enums::Role;
use crate::graphql::types::{Money, Target, Team, User};
use crate::service::directory::{self, TargetOwner, UserForUpdate};
use crate::service::users::UserForCreate;

/// A new user.
#[derive(InputObject)]
pub struct CreateUserInput {
    /// Login email (unique).
    pub email: String,
    /// Display name.
    pub name: String,
    /// What the user may do (SPEC section 4).
    pub role: Role,
    /// The team the user belongs to; managers see their team's records.
    pub team_id: Option<ID>,
    /// Initial password (≥ 8 characters); omit for users of an external identity provider.
    pub password: Option<String>,
}

/// Changes to a user. A new role, team or password signs the user out everywhere.
#[derive(InputObject)]
pub struct UpdateUserInput {
    /// The user.
    pub id: ID,
    /// The version you read.
    pub version: i32,
    /// Display name.
    pub name: Option<String>,
    /// A new role; ends the user's existing sessions.
    pub role: Option<Role>,
    /// Team; null removes the user from their team.
    pub team_id: MaybeUndefined<ID>,
    /// Inactive users cannot sign in and their tokens stop working.
    pub active: Option<bool>,
    /// New password (≥ 8 characters).
    pub password: Option<String>,
    /// Invalidate every token issued to the user so far.
    #[graphql(default)]
    pub revoke_tokens: bool,
}

/// A new team.
#[derive(InputObject)]
pub struct CreateTeamInput {
    /// The team's name, e.g. "EMEA".
    pub name: String,
}

/// The target of one user or one team for one period; setting it again replaces it.
#[derive(InputObject)]
pub struct SetTargetInput {
    /// For this user (exactly one of userId and teamId).
    pub user_id: Option<ID>,
    /// For this team.
    pub team_id: Option<ID>,
    /// First instant of the period.
    pub period_start: Timestamp,
    /// End of the period (exclusive).
    pub period_end: Timestamp,
    /// Planned won revenue (≥ 0).
    pub amount: Money,
}

/// The user after the change.
#[derive(SimpleObject)]
pub struct UserPayload {
    /// The user.
    pub user: User,
}

/// The created team.
#[derive(SimpleObject)]
pub struct TeamPayload {
    /// The team.
    pub team: Team,
}

/// The target as now set.
#[derive(SimpleObject)]
pub struct TargetPayload {
    /// The target.
    pub target: Target,
}

#[derive(Default)]
pub struct DirectoryMutation;

#[Object]
impl DirectoryMutation {
    /// Creates a user (ADMIN).
    async fn create_user(&self, ctx: &Context<'_>, input: CreateUserInput) -> Result<UserPayload> {
        let data = UserForCreate {
            email: input.email,
            name: input.name,
            role: input.role.into(),
            team_id: optional_id("teamId", input.team_id.as_ref(), NodeKind::Team)?,
            password: input.password,
        };
        Ok(UserPayload { user: User(directory::create_user(ctx.principal().await?, ctx.writer(), data).await?) })
    }

    /// Changes a user (ADMIN).
    async fn update_user(&self, ctx: &Context<'_>, input: UpdateUserInput) -> Result<UserPayload> {
        let id = decode("id", &input.id, NodeKind::User)?;
        let team_id = match patch(input.team_id) {
            Some(Some(team)) => Some(Some(decode("teamId", &team, NodeKind::Team)?)),
            Some(None) => Some(None),
            None => None,
        };
        let data = UserForUpdate {
            version: input.version,
            name: input.name,
            role: input.role.map(Into::into),
            team_id,
            active: input.active,
            password: input.password,
            revoke_tokens: input.revoke_tokens,
        };
        Ok(UserPayload { user: User(directory::update_user(ctx.principal().await?, ctx.writer(), id, data).await?) })
    }

    /// Creates a team (ADMIN).
    async fn create_team(&self, ctx: &Context<'_>, input: CreateTeamInput) -> Result<TeamPayload> {
        Ok(TeamPayload { team: Team(directory::create_team(ctx.principal().await?, ctx.writer(), &input.name).await?) })
    }

    /// Sets a user's or team's target for a period (ADMIN).
    async fn set_target(&self, ctx: &Context<'_>, input: SetTargetInput) -> Result<TargetPayload> {
        let owner = match (&input.user_id, &input.team_id) {
            (Some(user), None) => TargetOwner::User(decode("userId", user, NodeKind::User)?),
            (None, Some(team)) => TargetOwner::Team(decode("teamId", team, NodeKind::Team)?),
            _ => return Err(ApiError::bad_input("userId", "give exactly one of userId and teamId").into()),
        };
        let amount = input.amount.cents("amount")?;
        let target = directory::set_target(
            ctx.principal().await?,
            ctx.writer(),
            owner,
            input.period_start.0,
            input.period_end.0,
            amount,
        )
        .await?;
        Ok(TargetPayload { target: Target(target) })
    }
}
