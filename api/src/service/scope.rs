//! The one place that decides which records a principal may read and write (SPEC section 4).

use entity::enums::Role;
use entity::{target, user};
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter};

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};

/// Whose records a principal may see: everything for ADMIN and ANALYST, the team's records
/// for a MANAGER, own records for a SALES_REP (and for a manager without a team).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerScope {
    All,
    Team(i64),
    Owner(i64),
}

pub fn owner_scope(principal: &Principal) -> OwnerScope {
    match (principal.role, principal.team_id) {
        (Role::Admin | Role::Analyst, _) => OwnerScope::All,
        (Role::Manager, Some(team_id)) => OwnerScope::Team(team_id),
        (Role::Manager, None) | (Role::SalesRep, _) => OwnerScope::Owner(principal.user_id),
    }
}

/// Condition on a record's owner column that keeps only what `principal` may see (see
/// `owner_scope`). Callers AND their own filters with it; it never replaces them.
pub fn owner_condition(principal: &Principal, owner_column: impl ColumnTrait) -> Condition {
    match owner_scope(principal) {
        OwnerScope::All => Condition::all(),
        OwnerScope::Team(team_id) => Condition::all().add(
            owner_column.in_subquery(
                Query::select()
                    .column(user::Column::Id)
                    .from(user::Entity)
                    .and_where(user::Column::TeamId.eq(team_id))
                    .to_owned(),
            ),
        ),
        OwnerScope::Owner(user_id) => Condition::all().add(owner_column.eq(user_id)),
    }
}

/// Whether a record owned by `owner` is in `scope`, decided in memory (for events pushed to
/// a live subscriber): the same rule as `owner_condition`, with a team scope's members
/// given as `team_members`.
pub fn owns(scope: OwnerScope, team_members: &[i64], owner: Option<i64>) -> bool {
    match (scope, owner) {
        (OwnerScope::All, _) => true,
        (OwnerScope::Team(_), Some(o)) => team_members.contains(&o),
        (OwnerScope::Owner(me), Some(o)) => o == me,
        (_, None) => false,
    }
}

/// Condition on `targets` keeping what `principal` may see: a rep their own user targets
/// only; a manager their team's and its members'; ADMIN and ANALYST all.
pub fn target_condition(principal: &Principal) -> Condition {
    let own = target::Column::UserId.eq(principal.user_id);
    match (principal.role, principal.team_id) {
        (Role::Admin | Role::Analyst, _) => Condition::all(),
        // Only their own: a team target's total would count other reps' deals (SPEC 6.6).
        (Role::SalesRep, _) => Condition::all().add(own),
        (Role::Manager, Some(team_id)) => Condition::any()
            .add(target::Column::TeamId.eq(team_id))
            .add(owner_condition(principal, target::Column::UserId)),
        (Role::Manager, None) => Condition::all().add(own),
    }
}

/// Whether `principal` may create or change records (ANALYST is read-only).
pub fn ensure_can_write(principal: &Principal) -> ApiResult<()> {
    match principal.role {
        Role::Analyst => Err(ApiError::Forbidden("this role is read-only".into())),
        _ => Ok(()),
    }
}

/// Administration (users, pipelines, stages, lost reasons, targets, API keys) is ADMIN only.
pub fn ensure_admin(principal: &Principal) -> ApiResult<()> {
    if principal.is_admin() { Ok(()) } else { Err(ApiError::Forbidden("only an ADMIN may do this".into())) }
}

/// Contact email and phone are hidden from ANALYST (a FORBIDDEN error entry, value null).
pub fn ensure_can_read_pii(principal: &Principal) -> ApiResult<()> {
    match principal.role {
        Role::Analyst => Err(ApiError::Forbidden("contact email and phone are hidden from analysts".into())),
        _ => Ok(()),
    }
}

/// Whether `principal` may make `owner_id` the owner of a record: reps only themselves,
/// managers anyone in their team, admins any active user.
pub async fn ensure_can_own(principal: &Principal, db: &impl ConnectionTrait, owner_id: i64) -> ApiResult<()> {
    ensure_can_assign(principal, db, owner_id, "ownerId").await
}

/// Whether `principal` may give `user_id` a record or task (as `ensure_can_own`), naming
/// `field` when that user does not exist or is inactive.
pub async fn ensure_can_assign(
    principal: &Principal,
    db: &impl ConnectionTrait,
    user_id: i64,
    field: &str,
) -> ApiResult<()> {
    ensure_can_write(principal)?;
    if principal.role == Role::SalesRep || (principal.role == Role::Manager && principal.team_id.is_none()) {
        return if user_id == principal.user_id {
            Ok(())
        } else {
            Err(ApiError::Forbidden("you may only own records yourself".into()))
        };
    }
    let assignee = user::Entity::find_by_id(user_id)
        .filter(user::Column::Active.eq(true))
        .one(db)
        .await?
        .ok_or_else(|| ApiError::bad_input(field, "no such active user"))?;
    if principal.role == Role::Manager && assignee.team_id != principal.team_id {
        return Err(ApiError::Forbidden("managers may only assign records within their team".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use entity::contact;
    use sea_orm::{DbBackend, EntityTrait, QueryFilter, QueryTrait};

    fn sql_for(principal: &Principal) -> String {
        contact::Entity::find()
            .filter(owner_condition(principal, contact::Column::OwnerId))
            .build(DbBackend::Postgres)
            .to_string()
            .split_once(" WHERE ")
            .map(|(_, filter)| filter.to_owned())
            .unwrap_or_default()
    }

    fn principal(role: Role, team_id: Option<i64>) -> Principal {
        Principal { user_id: 7, role, team_id, api_key_id: None }
    }

    #[test]
    fn each_role_gets_its_own_scope() {
        assert_eq!(sql_for(&principal(Role::Admin, None)), "TRUE");
        assert_eq!(sql_for(&principal(Role::Analyst, Some(3))), "TRUE");
        let own = r#""contacts"."owner_id" = 7"#;
        assert_eq!(sql_for(&principal(Role::SalesRep, Some(3))), own);
        assert_eq!(
            sql_for(&principal(Role::Manager, Some(3))),
            r#""contacts"."owner_id" IN (SELECT "id" FROM "users" WHERE "users"."team_id" = 3)"#
        );
        // A manager without a team sees only their own records.
        assert_eq!(sql_for(&principal(Role::Manager, None)), own);
    }

    #[test]
    fn analyst_cannot_write_and_only_admin_administers() {
        assert!(ensure_can_write(&principal(Role::Analyst, None)).is_err());
        assert!(ensure_can_write(&principal(Role::SalesRep, None)).is_ok());
        assert!(ensure_admin(&principal(Role::Manager, Some(1))).is_err());
        assert!(ensure_admin(&principal(Role::Admin, None)).is_ok());
    }
}
