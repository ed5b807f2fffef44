//! The user directory (users and teams, readable by every signed-in role) and its ADMIN
//! changes; revenue targets.

use chrono::{DateTime, Utc};
use entity::enums::Role;
use entity::{target, team, user};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, NotSet, QueryFilter, QueryOrder, QuerySelect, Select, Set,
};

use super::filter::{self, OneOf};
use super::page::{self, KeyKind, Page, PageRequest, SortKey};
use super::scope::{ensure_admin, target_condition};
use super::users::{self, MIN_PASSWORD_LEN, UserForCreate};
use super::validate;
use super::work::{Target, Writer};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};

#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    pub ids: Option<OneOf<i64>>,
    pub team: Option<OneOf<i64>>,
    pub role: Option<OneOf<Role>>,
    pub active: Option<bool>,
    /// Substring of name or email.
    pub search: Option<String>,
}

pub fn user_query(f: &UserFilter) -> Select<user::Entity> {
    let mut cond = Condition::all();
    cond = filter::one_of(cond, user::Column::Id, &f.ids);
    cond = filter::one_of(cond, user::Column::TeamId, &f.team);
    cond = filter::one_of(cond, user::Column::Role, &f.role);
    if let Some(active) = f.active {
        cond = cond.add(user::Column::Active.eq(active));
    }
    let text = [Expr::col((user::Entity, user::Column::Name)), Expr::col((user::Entity, user::Column::Email))];
    cond = filter::search(cond, &text, &f.search);
    user::Entity::find().filter(cond)
}

/// Users by name (then id).
pub async fn list_users(db: &impl ConnectionTrait, f: &UserFilter, page: &PageRequest) -> ApiResult<Page<user::Model>> {
    type M = user::Model;
    let keys = vec![
        SortKey::new(Expr::col((user::Entity, user::Column::Name)), KeyKind::Text, false, |m: &M| {
            m.name.as_str().into()
        }),
        SortKey::new(Expr::col((user::Entity, user::Column::Id)), KeyKind::Int, false, |m: &M| m.id.into()),
    ];
    page::fetch(db, user_query(f), &keys, page).await
}

pub async fn teams(db: &impl ConnectionTrait) -> ApiResult<Vec<team::Model>> {
    Ok(team::Entity::find().order_by_asc(team::Column::Name).all(db).await?)
}

pub async fn teams_by_ids(db: &impl ConnectionTrait, ids: &[i64]) -> ApiResult<Vec<team::Model>> {
    Ok(team::Entity::find().filter(team::Column::Id.is_in(ids.iter().copied())).all(db).await?)
}

/// Members of these teams, by name.
pub async fn members_of(db: &impl ConnectionTrait, team_ids: &[i64]) -> ApiResult<Vec<user::Model>> {
    Ok(user::Entity::find()
        .filter(user::Column::TeamId.is_in(team_ids.iter().copied()))
        .order_by_asc(user::Column::Name)
        .all(db)
        .await?)
}

/// The ids of a team's members.
pub async fn member_ids(db: &impl ConnectionTrait, team_id: i64) -> ApiResult<Vec<i64>> {
    Ok(user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .filter(user::Column::TeamId.eq(team_id))
        .into_tuple()
        .all(db)
        .await?)
}

pub async fn create_user(principal: &Principal, w: &Writer, input: UserForCreate) -> ApiResult<user::Model> {
    ensure_admin(principal)?;
    let mut work = w.begin(principal).await?;
    let created = users::create_user(&mut work, input).await?;
    work.commit().await?;
    Ok(created)
}

#[derive(Debug, Clone, Default)]
pub struct UserForUpdate {
    pub version: i32,
    pub name: Option<String>,
    pub role: Option<Role>,
    pub team_id: Option<Option<i64>>,
    pub active: Option<bool>,
    pub password: Option<String>,
    /// Invalidate every token issued to the user so far.
    pub revoke_tokens: bool,
}

/// Changes a user (ADMIN). A new role, team, password or `revoke_tokens` invalidates the
/// user's tokens, so the next request sees the change; deactivation blocks them as well.
/// The unit of work drops every replica's cached credential rows when it commits.
pub async fn update_user(principal: &Principal, w: &Writer, id: i64, input: UserForUpdate) -> ApiResult<user::Model> {
    ensure_admin(principal)?;
    let mut changes = user::ActiveModel { updated_at: Set(super::now()), ..Default::default() };
    let mut revoke = input.revoke_tokens;
    if let Some(name) = &input.name {
        changes.name = Set(validate::required("name", name, 200)?);
    }
    if let Some(role) = input.role {
        changes.role = Set(role);
        revoke = true;
    }
    let mut work = w.begin(principal).await?;
    if let Some(team_id) = input.team_id {
        if let Some(t) = team_id
            && team::Entity::find_by_id(t).one(work.db()).await?.is_none()
        {
            return Err(ApiError::bad_input("teamId", "no such team"));
        }
        changes.team_id = Set(team_id);
        revoke = true;
    }
    if let Some(active) = input.active {
        if !active && id == principal.user_id {
            return Err(ApiError::bad_input("active", "you cannot deactivate yourself"));
        }
        changes.active = Set(active);
    }
    let mut new_hash = None;
    if let Some(password) = &input.password {
        if password.chars().count() < MIN_PASSWORD_LEN {
            return Err(ApiError::bad_input("password", format!("must be at least {MIN_PASSWORD_LEN} characters")));
        }
        new_hash = Some(crate::auth::password::hash(password).await?);
        revoke = true;
    }
    if revoke {
        // A stale read is caught by the version check of the update itself.
        let current = users::find_by_id(work.db(), id).await?.ok_or(ApiError::NotFound("User"))?;
        changes.token_version = Set(current.token_version + 1);
    }
    let target =
        Target::new(id, "User").version(Some(input.version)).unique("email", "a user with this email already exists");
    let updated = work.update::<user::Entity>(target, changes).await?;
    if let Some(hash) = new_hash {
        users::set_password_hash(work.db(), id, hash).await?;
    }
    work.commit().await?;
    Ok(updated)
}

pub async fn create_team(principal: &Principal, w: &Writer, name: &str) -> ApiResult<team::Model> {
    ensure_admin(principal)?;
    let now = super::now();
    let row = team::ActiveModel {
        id: NotSet,
        name: Set(validate::required("name", name, 200)?),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let mut work = w.begin(principal).await?;
    let created = work.insert(row).await?;
    work.commit().await?;
    Ok(created)
}

/// Whose target: one user or one team.
#[derive(Debug, Clone, Copy)]
pub enum TargetOwner {
    User(i64),
    Team(i64),
}

#[derive(Debug, Clone, Default)]
pub struct TargetFilter {
    pub id: Option<i64>,
    pub user: Option<OneOf<i64>>,
    pub team: Option<OneOf<i64>>,
    /// Targets whose own period overlaps `[from, to)`.
    pub overlapping: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

pub async fn targets(
    principal: &Principal,
    db: &impl ConnectionTrait,
    f: &TargetFilter,
) -> ApiResult<Vec<target::Model>> {
    if let Some(id) = f.id {
        return Ok(target::Entity::find_by_id(id).filter(target_condition(principal)).all(db).await?);
    }
    let mut q = target::Entity::find().filter(target_condition(principal));
    let mut cond = Condition::all();
    cond = filter::one_of(cond, target::Column::UserId, &f.user);
    cond = filter::one_of(cond, target::Column::TeamId, &f.team);
    if let Some((from, to)) = f.overlapping {
        cond = cond.add(target::Column::PeriodStart.lt(to)).add(target::Column::PeriodEnd.gt(from));
    }
    q = q.filter(cond);
    Ok(q.order_by_asc(target::Column::PeriodStart).order_by_asc(target::Column::Id).all(db).await?)
}

/// Sets the target of a user or team for exactly `[start, end)` (ADMIN): updates the
/// existing one for that period, or creates it.
pub async fn set_target(
    principal: &Principal,
    w: &Writer,
    owner: TargetOwner,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    amount: i64,
) -> ApiResult<target::Model> {
    ensure_admin(principal)?;
    if end <= start {
        return Err(ApiError::bad_input("periodEnd", "must be after periodStart"));
    }
    let amount = validate::non_negative("amount", amount)?;
    let mut work = w.begin(principal).await?;
    let db = work.db();
    let (user_id, team_id) = match owner {
        TargetOwner::User(id) => {
            users::find_by_id(db, id).await?.ok_or_else(|| ApiError::bad_input("userId", "no such user"))?;
            (Some(id), None)
        }
        TargetOwner::Team(id) => {
            team::Entity::find_by_id(id).one(db).await?.ok_or_else(|| ApiError::bad_input("teamId", "no such team"))?;
            (None, Some(id))
        }
    };
    let existing = target::Entity::find()
        .filter(match owner {
            TargetOwner::User(id) => target::Column::UserId.eq(id),
            TargetOwner::Team(id) => target::Column::TeamId.eq(id),
        })
        .filter(target::Column::PeriodStart.eq(start))
        .filter(target::Column::PeriodEnd.eq(end))
        .one(db)
        .await?;
    let now = super::now();
    let written = match existing {
        Some(t) => {
            let changes = target::ActiveModel { amount: Set(amount), updated_at: Set(now), ..Default::default() };
            work.update::<target::Entity>(Target::new(t.id, "Target"), changes).await?
        }
        None => {
            let row = target::ActiveModel {
                id: NotSet,
                user_id: Set(user_id),
                team_id: Set(team_id),
                period_start: Set(start),
                period_end: Set(end),
                amount: Set(amount),
                version: Set(1),
                created_at: Set(now),
                updated_at: Set(now),
            };
            work.insert(row).await?
        }
    };
    work.commit().await?;
    Ok(written)
}
