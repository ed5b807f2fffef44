//! The one place that decides which records a principal may read and write (SPEC section 4).

use entity::enums::Role;
use entity::user;
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, Condition};

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};

/// Condition on a record's owner column that keeps only what `principal` may see:
/// everything for ADMIN and ANALYST, the team's records for a MANAGER, own records for a
/// SALES_REP. Callers AND their own filters with it; it never replaces them.
pub fn owner_condition(principal: &Principal, owner_column: impl ColumnTrait) -> Condition {
    match (principal.role, principal.team_id) {
        (Role::Admin | Role::Analyst, _) => Condition::all(),
        (Role::Manager, Some(team_id)) => Condition::all().add(
            owner_column.in_subquery(
                Query::select()
                    .column(user::Column::Id)
                    .from(user::Entity)
                    .and_where(user::Column::TeamId.eq(team_id))
                    .to_owned(),
            ),
        ),
        (Role::Manager, None) | (Role::SalesRep, _) => {
            Condition::all().add(owner_column.eq(principal.user_id))
        }
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
    if principal.is_admin() {
        Ok(())
    } else {
        Err(ApiError::Forbidden("only an ADMIN may do this".into()))
    }
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
        Principal {
            user_id: 7,
            role,
            team_id,
        }
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
