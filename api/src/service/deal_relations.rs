//! Deals read together with their current stage and owner in one statement (two primary-key
//! joins), so that a page of deals and the stages and owners it shows cost one round trip.

use entity::{deal, stage, user};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, IntoIden, JoinType, Query, SelectStatement};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, Iterable, QueryFilter, QueryResult, QueryTrait};

use super::{deals, read};
use crate::auth::Principal;
use crate::error::ApiResult;

/// A deal with the stage it is in and the user who owns it.
#[derive(Debug, Clone)]
pub struct DealWithRelations {
    pub deal: deal::Model,
    pub stage: Option<stage::Model>,
    pub owner: Option<user::Model>,
}

/// The visible live deals among `ids`, each with its stage and owner.
pub async fn by_ids(
    principal: &Principal,
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> ApiResult<Vec<DealWithRelations>> {
    let inner = deals::visible(principal)
        .filter(deal::Column::Id.is_in(ids.iter().copied()))
        .filter(deal::Column::DeletedAt.is_null())
        .as_query()
        .to_owned();
    fetch(db, with_relations(inner, &[])).await
}

/// The newest `limit` visible deals of each contact (paginated in SQL by a window function), each
/// with its stage and owner, grouped by contact and newest first.
pub async fn latest_of_contacts(
    principal: &Principal,
    db: &impl ConnectionTrait,
    contact_ids: &[i64],
    limit: u64,
) -> ApiResult<Vec<DealWithRelations>> {
    let cols = (deal::Column::ContactId, deal::Column::DeletedAt);
    let order = "created_at DESC, id DESC";
    let ranked =
        read::latest_per_parent_query(deals::visible(principal), cols, "contact_id", order, contact_ids, limit);
    fetch(db, with_relations(ranked, &["contact_id", "rn"])).await
}

/// `SELECT d.<deal columns>, s.<stage columns>, u.<user columns> FROM (rows) d LEFT JOIN stages s …
/// LEFT JOIN users u …`, each entity's columns in declaration order (what `fetch` decodes by
/// position), ordered by `order` (columns of `rows`).
fn with_relations(rows: SelectStatement, order: &[&'static str]) -> SelectStatement {
    let (d, s, u) = (Alias::new("d"), Alias::new("s"), Alias::new("u"));
    let mut q = Query::select();
    q.from_subquery(rows, d.clone());
    for c in deal::Column::iter() {
        q.column((d.clone(), c));
    }
    for c in stage::Column::iter() {
        q.column((s.clone(), c));
    }
    for c in user::Column::iter() {
        q.column((u.clone(), c));
    }
    q.join_as(
        JoinType::LeftJoin,
        stage::Entity.into_iden(),
        s.clone(),
        Expr::col((s, stage::Column::Id)).equals((d.clone(), deal::Column::StageId)),
    );
    q.join_as(
        JoinType::LeftJoin,
        user::Entity.into_iden(),
        u.clone(),
        Expr::col((u, user::Column::Id)).equals((d.clone(), deal::Column::OwnerId)),
    );
    for column in order {
        q.order_by((d.clone(), Alias::new(*column)), sea_orm::Order::Asc);
    }
    q.to_owned()
}

/// Decodes by position: the rows are many and narrow, and reading a column by name costs a
/// formatted prefix and a search over ~35 column names per value (a fifth of a nested page's
/// server time in a profile).
async fn fetch(db: &impl ConnectionTrait, query: SelectStatement) -> ApiResult<Vec<DealWithRelations>> {
    let rows = db.query_all(&query).await?;
    let stage_at = deal::Column::iter().count();
    let user_at = stage_at + stage::Column::iter().count();
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        // A LEFT JOIN that found nothing leaves every column of its side NULL: no model.
        let stage = match row.try_get_by_index::<Option<i64>>(stage_at)? {
            Some(_) => Some(stage_of(&row, stage_at)?),
            None => None,
        };
        let owner = match row.try_get_by_index::<Option<i64>>(user_at)? {
            Some(_) => Some(user_of(&row, user_at)?),
            None => None,
        };
        out.push(DealWithRelations { deal: deal_of(&row, 0)?, stage, owner });
    }
    Ok(out)
}

/// An entity's columns are selected in declaration order from `base`, so a column's index is
/// the base plus its enum discriminant (checked by the test below).
fn deal_of(row: &QueryResult, base: usize) -> Result<deal::Model, DbErr> {
    use deal::Column as C;
    Ok(deal::Model {
        id: row.try_get_by_index(base + C::Id as usize)?,
        contact_id: row.try_get_by_index(base + C::ContactId as usize)?,
        owner_id: row.try_get_by_index(base + C::OwnerId as usize)?,
        pipeline_id: row.try_get_by_index(base + C::PipelineId as usize)?,
        stage_id: row.try_get_by_index(base + C::StageId as usize)?,
        title: row.try_get_by_index(base + C::Title as usize)?,
        amount: row.try_get_by_index(base + C::Amount as usize)?,
        status: row.try_get_by_index(base + C::Status as usize)?,
        lost_reason_id: row.try_get_by_index(base + C::LostReasonId as usize)?,
        lost_note: row.try_get_by_index(base + C::LostNote as usize)?,
        expected_close_date: row.try_get_by_index(base + C::ExpectedCloseDate as usize)?,
        closed_at: row.try_get_by_index(base + C::ClosedAt as usize)?,
        stage_entered_at: row.try_get_by_index(base + C::StageEnteredAt as usize)?,
        max_stage_position: row.try_get_by_index(base + C::MaxStagePosition as usize)?,
        external_id: row.try_get_by_index(base + C::ExternalId as usize)?,
        version: row.try_get_by_index(base + C::Version as usize)?,
        created_at: row.try_get_by_index(base + C::CreatedAt as usize)?,
        updated_at: row.try_get_by_index(base + C::UpdatedAt as usize)?,
        deleted_at: row.try_get_by_index(base + C::DeletedAt as usize)?,
    })
}

fn stage_of(row: &QueryResult, base: usize) -> Result<stage::Model, DbErr> {
    use stage::Column as C;
    Ok(stage::Model {
        id: row.try_get_by_index(base + C::Id as usize)?,
        pipeline_id: row.try_get_by_index(base + C::PipelineId as usize)?,
        name: row.try_get_by_index(base + C::Name as usize)?,
        position: row.try_get_by_index(base + C::Position as usize)?,
        probability: row.try_get_by_index(base + C::Probability as usize)?,
        stale_after_days: row.try_get_by_index(base + C::StaleAfterDays as usize)?,
        version: row.try_get_by_index(base + C::Version as usize)?,
        created_at: row.try_get_by_index(base + C::CreatedAt as usize)?,
        updated_at: row.try_get_by_index(base + C::UpdatedAt as usize)?,
    })
}

fn user_of(row: &QueryResult, base: usize) -> Result<user::Model, DbErr> {
    use user::Column as C;
    Ok(user::Model {
        id: row.try_get_by_index(base + C::Id as usize)?,
        email: row.try_get_by_index(base + C::Email as usize)?,
        name: row.try_get_by_index(base + C::Name as usize)?,
        role: row.try_get_by_index(base + C::Role as usize)?,
        team_id: row.try_get_by_index(base + C::TeamId as usize)?,
        active: row.try_get_by_index(base + C::Active as usize)?,
        token_version: row.try_get_by_index(base + C::TokenVersion as usize)?,
        version: row.try_get_by_index(base + C::Version as usize)?,
        created_at: row.try_get_by_index(base + C::CreatedAt as usize)?,
        updated_at: row.try_get_by_index(base + C::UpdatedAt as usize)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_iterate_in_discriminant_order() {
        assert!(deal::Column::iter().enumerate().all(|(i, c)| c as usize == i));
        assert!(stage::Column::iter().enumerate().all(|(i, c)| c as usize == i));
        assert!(user::Column::iter().enumerate().all(|(i, c)| c as usize == i));
    }
}
